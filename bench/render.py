"""Start-up and render speed: `envgen render gpu-cu118` against importing its dependencies.

The baseline (a bare `python -c "import yaml, jinja2, click"`) is measured in the same run on
the same machine, so the printed ratio means something anywhere; CPU time (user + system) is
shown too, steadier than wall time on a shared machine. Import times (PYTHONPROFILEIMPORTTIME,
what `python -X importtime` prints) show where the start-up goes: the modules envgen imports
beyond the baseline's. envgen runs as users run it, through its console script. Not a test.

    python bench/render.py [--runs 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import Run, envgen_command, isolated, median, ratio, run

BASELINE = "python -c 'import yaml, jinja2, click'"


def importtime(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict[str, int]:
    """Self import time in µs of every module ``cmd`` imports (PYTHONPROFILEIMPORTTIME)."""
    done = subprocess.run(
        cmd, cwd=cwd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True
    )
    found = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            own, _, name = line[len("import time:") :].split("|")
            found[name.strip()] = int(own)
    return found


def import_report(
    cmd: list[str], base: list[str], cwd: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Import time of ``cmd`` against ``base`` (medians of 5), and what ``cmd`` adds to it."""
    samples: dict[str, list[dict[str, int]]] = {"cmd": [], "base": []}
    for _ in range(5):
        samples["cmd"].append(importtime(cmd, cwd, env))
        samples["base"].append(importtime(base, cwd, env))
    totals = {k: median([sum(s.values()) for s in v]) / 1000 for k, v in samples.items()}
    extra: dict[str, float] = {}
    for name in samples["cmd"][0]:
        if name not in samples["base"][0]:
            extra[name] = median([s.get(name, 0) for s in samples["cmd"]]) / 1000
    slowest = sorted(extra.items(), key=lambda item: -item[1])[:15]
    return {
        "total_ms": round(totals["cmd"], 1),
        "baseline_total_ms": round(totals["base"], 1),
        "added_modules": len(extra),
        "added_ms": round(sum(extra.values()), 1),
        "slowest_added_ms": [[name, round(ms, 2)] for name, ms in slowest],
    }


def measure(runs: int = 10) -> dict[str, Any]:
    python = sys.executable
    envgen = envgen_command()
    cases = {
        BASELINE: [python, "-c", "import yaml, jinja2, click"],
        "python -c pass": [python, "-c", "pass"],
        "envgen --help": [*envgen, "--help"],
        "envgen render gpu-cu118 (unchanged)": [*envgen, "render", "gpu-cu118"],
        "envgen render gpu-cu118 --stdout": [*envgen, "render", "gpu-cu118", "--stdout"],
        "envgen check gpu-cu118": [*envgen, "check", "gpu-cu118"],
    }
    with tempfile.TemporaryDirectory(prefix="envgen-bench-render-") as tmp:
        cwd = Path(tmp)
        (cwd / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
        env = isolated(cwd / "cache")
        run(cases["envgen render gpu-cu118 (unchanged)"], cwd=cwd, env=env)  # first render
        results: dict[str, list[Run]] = {label: [] for label in cases}
        for _ in range(runs):  # interleaved, so a busy moment hits every case alike
            for label, cmd in cases.items():
                results[label].append(run(cmd, cwd=cwd, env=env))
        imports = import_report(
            cases["envgen render gpu-cu118 (unchanged)"], cases[BASELINE], cwd, env
        )
    base = median([r.seconds for r in results[BASELINE]])
    base_cpu = median([r.cpu_seconds for r in results[BASELINE]])
    rows = []
    for label, values in results.items():
        wall = median([r.seconds for r in values])
        cpu = median([r.cpu_seconds for r in values])
        rows.append(
            {
                "case": label,
                "seconds": round(wall, 4),
                "ratio": ratio(wall, base),
                "cpu_seconds": round(cpu, 4),
                "cpu_ratio": ratio(cpu, base_cpu),
                "runs": [round(r.seconds, 4) for r in values],
            }
        )
    return {"runs": runs, "rows": rows, "imports": imports}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    result = measure(args.runs)
    print(f"runs per case: {args.runs} (median wall time)")
    for row in result["rows"]:
        print(
            f"  {row['case']:44} {row['seconds'] * 1000:7.1f} ms  {row['ratio']:5.2f}x   "
            f"CPU {row['cpu_seconds'] * 1000:7.1f} ms  {row['cpu_ratio']:5.2f}x"
        )
    imports = result["imports"]
    print(
        f"import time: envgen render {imports['total_ms']} ms, baseline "
        f"{imports['baseline_total_ms']} ms; {imports['added_modules']} modules added "
        f"{imports['added_ms']} ms, the slowest:"
    )
    for name, ms in imports["slowest_added_ms"]:
        print(f"  {ms:7.2f} ms  {name}")


if __name__ == "__main__":
    main()
