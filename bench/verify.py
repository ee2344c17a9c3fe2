"""What `envgen verify` costs over the bare minimum: `python -c "import torch"` in the same env.

Builds a throw-away venv with the local torch CPU wheel (pip's find-links directory, the
configured local index for its dependencies, via uv) unless --prefix names an existing one, then
times both in the same run, interleaved, so the printed ratio means something anywhere. Not a
test.

    python bench/verify.py [--runs 5] [--prefix ENV]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, python_for, ratio_rows, run
from tests.torch_local import TORCH, pip_config

PROFILE = f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\n'
BASELINE = "python -c 'import torch'"


def build_env(where: Path) -> Path | str:
    wheels = [w for d in pip_config("global.find-links") for w in Path(d).glob("torch-*.whl")]
    wheels = [w for w in wheels if w.name.startswith(f"torch-{TORCH}+cpu-cp311")]
    if not wheels:
        return f"no torch-{TORCH}+cpu cp311 wheel in pip's find-links; pass --prefix"
    python = python_for("3.11")
    prefix = where / "env"
    subprocess.run([str(python or sys.executable), "-m", "venv", str(prefix)], check=True)
    indexes = pip_config("global.extra-index-url") + pip_config("global.index-url")
    from uv import find_uv_bin

    cmd = [str(find_uv_bin()), "pip", "install", "-q", "--python", str(prefix / "bin" / "python")]
    cmd += ["--index-url", indexes[0], "--find-links", str(wheels[0].parent)]
    cmd += [f"torch=={TORCH}+cpu"]
    subprocess.run(cmd, check=True, env=isolated(where / "cache"))
    return prefix


def measure(runs: int = 5, prefix: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="envgen-bench-verify-") as tmp:
        root = Path(tmp) / "project"
        (root / "profiles").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
        (root / "profiles" / "cpu.yaml").write_text(PROFILE)
        built = prefix or build_env(Path(tmp))
        if isinstance(built, str):
            return {"skipped": built}
        python = str(built.absolute() / "bin" / "python")
        verify = [*envgen_command(), "verify", "cpu", "--python", python]
        cases = {
            BASELINE: [python, "-c", "import torch"],
            "env python -c pass": [python, "-c", "pass"],
            "envgen verify cpu --python ENV/bin/python": verify,
            "envgen verify cpu --python ENV/bin/python --json": [*verify, "--json"],
        }
        env = isolated(Path(tmp) / "cache")
        run(cases[BASELINE], cwd=root, env=env)  # warm the page cache and the bytecode
        seconds: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(runs):  # interleaved: a busy moment hits every case alike
            for label, cmd in cases.items():
                seconds[label].append(run(cmd, cwd=root, env=env).seconds)
    rows = ratio_rows(seconds, BASELINE)
    return {"runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prefix", type=Path, help="an existing env holding torch")
    args = parser.parse_args()
    result = measure(args.runs, args.prefix)
    if "skipped" in result:
        sys.exit(result["skipped"])
    print(f"runs per case: {args.runs} (median wall time)")
    for row in result["rows"]:
        print(f"  {row['case']:50} {row['seconds'] * 1000:8.1f} ms  {row['ratio']:5.2f}x")


if __name__ == "__main__":
    main()
