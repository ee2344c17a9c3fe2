"""What `envgen lock` costs for a 3-platform CPU profile, against raw uv doing a third of the work.

Baseline, measured in the same run: one `uv pip compile --generate-hashes` for ONE platform of
the same requirements from the same loopback indexes (what a hand-written lock script would
run per platform), as typed, and once more with `--python` given (no interpreter discovery: the
fastest raw uv can be). envgen locks three platforms (pip side only, --no-conda), cold (empty uv
cache) and again with unchanged inputs (the fast path). Not a test.

    python bench/lock.py [--runs 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, ratio_rows, run, serve
from tests.fixtures.pypi_index import LocalIndexes, populate_torch

PROFILE = (
    'python: "3.11"\naccelerator: cpu\n'
    'pytorch: {version: "2.4.1", packages: [torch, torchvision]}\n'
    "platforms: [linux-64, osx-arm64, win-64]\npip: [tqdm]\n"
)
BASELINE = "uv pip compile --generate-hashes, 1 platform"
CASES = (
    f"{BASELINE}, --python given",
    "envgen lock, 3 platforms, cold cache",
    "envgen lock, unchanged inputs",
)


def measure(runs: int = 7) -> dict[str, Any]:
    from uv import find_uv_bin

    uv_bin = str(find_uv_bin())
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="envgen-bench-lock-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "indexes"
        root.mkdir()
        url, server = serve(root)
        indexes = LocalIndexes(root, url)
        populate_torch(indexes, {"cpu": ("linux-64", "osx-arm64", "win-64")})
        for n in range(runs):
            project = tmp / f"project-{n}"
            (project / "profiles").mkdir(parents=True)
            (project / "pyproject.toml").write_text(indexes.mirror_toml())
            (project / "profiles" / "cpu3.yaml").write_text(PROFILE)
            (project / "in.txt").write_text("torch==2.4.1+cpu\ntorchvision==0.19.1+cpu\ntqdm\n")
            raw = [uv_bin, "pip", "compile", "--no-config", "--generate-hashes", "--quiet"]
            raw += ["--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"]
            raw += ["--index-url", indexes.pytorch_url("cpu"), "--extra-index-url"]
            raw += [indexes.pypi_url, "--index-strategy", "first-index", "in.txt", "-o", "out.txt"]
            for label, cmd in (
                (BASELINE, raw),
                (f"{BASELINE}, --python given", [*raw, "--python", sys.executable]),
            ):
                env = isolated(tmp / f"cache-{label[-5:]}-{n}")
                seconds.setdefault(label, []).append(run(cmd, cwd=project, env=env).seconds)
            envgen = [*envgen_command(), "lock", "cpu3", "--no-conda"]
            env = isolated(tmp / f"cache-envgen-{n}")
            seconds.setdefault(CASES[1], []).append(run(envgen, cwd=project, env=env).seconds)
            seconds.setdefault(CASES[2], []).append(run(envgen, cwd=project, env=env).seconds)
        server.shutdown()
    rows = ratio_rows(seconds, BASELINE)
    return {"runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    result = measure(args.runs)
    print(f"runs: {args.runs} (median wall time; loopback indexes, tiny wheels)")
    for row in result["rows"]:
        print(f"  {row['case']:58} {row['seconds']:6.2f} s  {row['ratio']:5.2f}x")


if __name__ == "__main__":
    main()
