"""What `envgen verify` costs over the bare minimum: `python -c "import torch"` in the same env.

Builds a throw-away venv with the local torch CPU wheel (pip's find-links directory, the
configured local index for its dependencies, via uv) unless --prefix names an existing one, then
times both in the same run, so the printed ratio means something anywhere. Not a test.

    python bench/verify.py [--runs 5] [--prefix ENV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TORCH = "2.13.0"
PROFILE = f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\n'


def median_seconds(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd[:6])}... failed:\n{proc.stdout}{proc.stderr}")
    return statistics.median(times)


def pip_config(key: str) -> list[str]:
    cmd = [sys.executable, "-m", "pip", "config", "get", key]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.split()


def build_env(where: Path) -> Path:
    wheels = [w for d in pip_config("global.find-links") for w in Path(d).glob("torch-*.whl")]
    wheels = [w for w in wheels if w.name.startswith(f"torch-{TORCH}+cpu-cp311")]
    if not wheels:
        sys.exit(f"no torch-{TORCH}+cpu cp311 wheel in pip's find-links; pass --prefix")
    python = next(Path("/root/.pyenv/versions").glob("3.11.*/bin/python3.11"), None)
    prefix = where / "env"
    subprocess.run([str(python or sys.executable), "-m", "venv", str(prefix)], check=True)
    indexes = pip_config("global.extra-index-url") + pip_config("global.index-url")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    cmd = [uv, "pip", "install", "-q", "--python", str(prefix / "bin" / "python")]
    cmd += ["--index-url", indexes[0], "--find-links", str(wheels[0].parent)]
    cmd += [f"torch=={TORCH}+cpu"]
    env = {**os.environ, "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(where / "uv-cache")}
    subprocess.run(cmd, check=True, env=env)
    return prefix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prefix", type=Path, help="an existing env holding torch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        (root / "profiles").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
        (root / "profiles" / "cpu.yaml").write_text(PROFILE)
        prefix = (args.prefix or build_env(Path(tmp))).absolute()
        python = str(prefix / "bin" / "python")
        envgen = [sys.executable, "-m", "envgen"]
        cases = {
            "baseline: python -c 'import torch'": [python, "-c", "import torch"],
            "env python -c pass": [python, "-c", "pass"],
            "envgen verify cpu --python ENV/bin/python": [
                *envgen,
                "verify",
                "cpu",
                "--python",
                python,
            ],
            "envgen verify cpu --python ... --json": [
                *envgen,
                "verify",
                "cpu",
                "--python",
                python,
                "--json",
            ],
        }
        median_seconds(cases["baseline: python -c 'import torch'"], root, 1)  # warm the cache
        print(f"runs per case: {args.runs} (median wall time), env: {prefix}")
        baseline = 0.0
        for label, cmd in cases.items():
            seconds = median_seconds(cmd, root, args.runs)
            baseline = baseline or seconds
            print(f"{label:46} {seconds * 1000:8.1f} ms  {seconds / baseline:5.2f}x")


if __name__ == "__main__":
    main()
