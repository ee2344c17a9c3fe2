"""What `envgen create` costs against the manual recipe it replaces, for the real CPU torch.

The manual recipe: `python3.11 -m venv ENV && ENV/bin/python -m pip install torch==2.13.0+cpu
--index-url <the same local index>`. envgen: `envgen create` of a locked CPU profile (hashes
checked), with pip and with uv. Cold = empty installer cache, warm = the cache a previous run
filled. Everything is served from one loopback index (torch from pip's find-links directory, its
dependencies from the local simple index), timed in this run, so ratios compare like with like.
Not a test.

    python bench/create_cpu.py [--runs 1]
"""

from __future__ import annotations

import argparse
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.torch_local import TORCH, dependency_closure, torch_wheel

PROFILE = (
    f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\nplatforms: [linux-64]\n'
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: Path) -> str:
    handler = partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:8])} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    wheel = torch_wheel()
    deps = dependency_closure(wheel) if wheel else "no torch wheel"
    if wheel is None or isinstance(deps, str):
        sys.exit(f"cannot build the local index: {deps}")
    python = next(Path("/root/.pyenv/versions").glob("3.11.*/bin/python3.11"), None)
    python = python or Path(sys.executable)
    with tempfile.TemporaryDirectory(prefix="envgen-bench-") as tmp_name:
        tmp = Path(tmp_name)
        indexes = LocalIndexes(tmp / "indexes")
        for index in ("whl/cpu", PYPI_INDEX):
            (indexes.root / index).mkdir(parents=True)
        for path in (wheel, *deps):
            indexes.add_file("whl/cpu", path)
            if path != wheel:
                indexes.add_file(PYPI_INDEX, path)
        indexes.publish()
        indexes.base_url = serve(indexes.root)
        project = tmp / "project"
        (project / "profiles").mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n' + indexes.mirror_toml()
        )
        (project / "profiles" / "cpu.yaml").write_text(PROFILE)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
        envgen = [sys.executable, "-m", "envgen"]
        subprocess.run([*envgen, "lock", "cpu", "--no-conda"], cwd=project, env=base, check=True)
        index = indexes.pytorch_url("cpu")
        results: dict[str, list[float]] = {}
        for run in range(args.runs):
            for temperature in ("cold", "warm"):
                for case in ("manual pip", "envgen create (pip)", "envgen create (uv)"):
                    cache = tmp / f"cache-{case.split()[-1]}-{run}"
                    if temperature == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    env = {
                        **base,
                        "PIP_CONFIG_FILE": os.devnull,
                        "PIP_CACHE_DIR": str(cache),
                        "UV_CACHE_DIR": str(cache),
                    }
                    prefix = tmp / "envs" / f"{case.split()[-1]}-{temperature}-{run}"
                    if case == "manual pip":
                        seconds = timed([str(python), "-m", "venv", str(prefix)], env, project)
                        seconds += timed(
                            [
                                str(prefix / "bin/python"),
                                "-m",
                                "pip",
                                "install",
                                "-q",
                                "--index-url",
                                index,
                                f"torch=={TORCH}+cpu",
                            ],
                            env,
                            project,
                        )
                    else:
                        installer = "uv" if "uv" in case else "pip"
                        seconds = timed(
                            [
                                *envgen,
                                "create",
                                "cpu",
                                "--python",
                                str(python),
                                "--prefix",
                                str(prefix),
                                "--installer",
                                installer,
                            ],
                            env,
                            project,
                        )
                    results.setdefault(f"{case}, {temperature} cache", []).append(seconds)
                    shutil.rmtree(prefix)
    print(f"create of torch {TORCH}+cpu (Python 3.11, local loopback index), median of {args.runs}")
    for temperature in ("cold", "warm"):
        baseline = statistics.median(results[f"manual pip, {temperature} cache"])
        for case in ("manual pip", "envgen create (pip)", "envgen create (uv)"):
            value = statistics.median(results[f"{case}, {temperature} cache"])
            label = f"{case}, {temperature} cache"
            print(f"  {label:36} {value:7.1f} s  {value / baseline:5.2f}x")


if __name__ == "__main__":
    main()
