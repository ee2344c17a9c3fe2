"""What `envgen lock` costs for a 3-platform CPU profile, against raw uv doing a third of the work.

Baseline, measured in the same run: one `uv pip compile --generate-hashes` for ONE platform of
the same requirements from the same loopback indexes (what a hand-written lock script would
run per platform). envgen locks three platforms (pip side with uv, conda side with the
embedded rattler solver on a tiny local channel is left out: --no-conda), cold (empty uv cache)
and again with unchanged inputs (the fast path). Not a test.

    python bench/lock.py [--runs 3]
"""

from __future__ import annotations

import argparse
import http.server
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.pypi_index import LocalIndexes, populate_torch

PROFILE = (
    'python: "3.11"\naccelerator: cpu\n'
    'pytorch: {version: "2.4.1", packages: [torch, torchvision]}\n'
    "platforms: [linux-64, osx-arm64, win-64]\npip: [tqdm]\n"
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def isolated_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_CACHE_DIR=str(cache))
    return env


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import uv

    uv_bin = uv.find_uv_bin()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "indexes"
        root.mkdir()
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_Quiet, directory=str(root))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        indexes = LocalIndexes(root, f"http://127.0.0.1:{server.server_address[1]}")
        populate_torch(indexes, {"cpu": ("linux-64", "osx-arm64", "win-64")})

        baseline, cold, unchanged = [], [], []
        for run in range(args.runs):
            project = tmp / f"project-{run}"
            (project / "profiles").mkdir(parents=True)
            (project / "pyproject.toml").write_text(indexes.mirror_toml())
            (project / "profiles" / "cpu3.yaml").write_text(PROFILE)
            reqs = project / "in.txt"
            reqs.write_text("torch==2.4.1+cpu\ntorchvision==0.19.1+cpu\ntqdm\n")
            env = isolated_env(tmp / f"cache-{run}")
            baseline.append(
                timed(
                    [
                        uv_bin,
                        "pip",
                        "compile",
                        "--no-config",
                        "--generate-hashes",
                        "--quiet",
                        "--python-version",
                        "3.11",
                        "--python-platform",
                        "x86_64-manylinux_2_28",
                        "--index-url",
                        indexes.pytorch_url("cpu"),
                        "--extra-index-url",
                        indexes.pypi_url,
                        "--index-strategy",
                        "first-index",
                        str(reqs),
                        "-o",
                        str(project / "out.txt"),
                    ],
                    env,
                    project,
                )
            )
            envgen = [sys.executable, "-m", "envgen", "lock", "cpu3", "--no-conda"]
            env = isolated_env(tmp / f"cache-envgen-{run}")
            cold.append(timed(envgen, env, project))
            unchanged.append(timed(envgen, env, project))
        server.shutdown()

    base = statistics.median(baseline)
    print(f"runs: {args.runs} (median wall time; loopback indexes, tiny wheels)")
    print(f"{'baseline: uv pip compile, 1 platform, cold cache':54} {base:6.2f} s  1.00x")
    for label, values in (
        ("envgen lock, 3 platforms, cold cache", cold),
        ("envgen lock, unchanged inputs", unchanged),
    ):
        median = statistics.median(values)
        print(f"{label:54} {median:6.2f} s  {median / base:4.2f}x")


if __name__ == "__main__":
    main()
