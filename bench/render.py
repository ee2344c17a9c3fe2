"""Start-up and render speed: `envgen render gpu-cu118` against importing its dependencies.

The baseline (a bare `python -c "import yaml, jinja2, click"`) is measured in the same run on
the same machine, so the printed ratio means something anywhere. Not a test: a number to watch.

    python bench/render.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def median_seconds(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    python = sys.executable
    envgen = [python, "-m", "envgen"]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        baseline = median_seconds([python, "-c", "import yaml, jinja2, click"], cwd, args.runs)
        bare = median_seconds([python, "-c", "pass"], cwd, args.runs)
        cases = {
            "envgen --help": [*envgen, "--help"],
            "envgen render gpu-cu118 (first, then unchanged)": [*envgen, "render", "gpu-cu118"],
            "envgen render gpu-cu118 --stdout": [*envgen, "render", "gpu-cu118", "--stdout"],
            "envgen check gpu-cu118": [*envgen, "check", "gpu-cu118"],
        }
        print(f"runs per case: {args.runs} (median wall time)")
        print(f"{'python -c pass':52} {bare * 1000:7.1f} ms")
        label = "baseline: python -c import yaml, jinja2, click"
        print(f"{label:52} {baseline * 1000:7.1f} ms  1.00x")
        for label, cmd in cases.items():
            seconds = median_seconds(cmd, cwd, args.runs)
            print(f"{label:52} {seconds * 1000:7.1f} ms  {seconds / baseline:4.2f}x")


if __name__ == "__main__":
    main()
