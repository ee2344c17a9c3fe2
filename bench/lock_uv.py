"""`envgen lock` (pip side, one platform) against raw `uv pip compile --generate-hashes`.

Same requirements, same loopback indexes (bench/_torch_index.py: torch 2.13.0+cpu, real where
this machine has it), one platform (linux-64). Two cases, each against raw uv as a user types
it (no --python: uv finds an interpreter itself), with its output file from the run before:

- inputs changed: every run the profile's pip list switches between two packages (both
  already in torch's closure), and the raw uv's requirements file with it, so envgen really
  solves each time;
- `lock --upgrade` against `uv pip compile --upgrade`, on the lock the run before wrote.

Each side has its own uv cache, filled by a first run that is not counted; cases alternate
(A B, then B A); medians, and the ratio run by run. A row with raw uv given `--python` (spared
its interpreter search, as envgen spares it) is context. Not a test.

    python bench/lock_uv.py [--runs 11] [--upgrade-runs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, median, ratio, run
from bench._torch_index import TorchIndex, torch_index
from tests.torch_local import TORCH

RAW = "uv pip compile --generate-hashes"
LOCK = "envgen lock cpu --no-conda, inputs changed"
RAW_GIVEN = f"{RAW}, --python given"
UPGRADE = "envgen lock cpu --no-conda --upgrade"
RAW_UPGRADE = f"{RAW} --upgrade"
EXTRA = ("sympy", "networkx")  # in torch's closure: the solve changes, the downloads do not


def _raw(served: TorchIndex, *extra: str) -> list[str]:
    from uv import find_uv_bin

    command = [str(find_uv_bin()), "pip", "compile", "--generate-hashes", "--quiet"]
    command += ["--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"]
    return [*command, *served.index_options(), "in.txt", "-o", "out.txt", *extra]


def _alternate(
    runs: int, cases: dict[str, Callable[[int], float]], seconds: dict[str, list[float]]
) -> None:
    """Run -1 of every case fills its cache and is not counted; then A B, B A, ..."""
    names = list(cases)
    for n in range(-1, runs):
        for name in names if n % 2 == 0 else names[::-1]:
            took = cases[name](n)
            if n >= 0:
                seconds.setdefault(name, []).append(took)


def measure(runs: int = 11, upgrade_runs: int = 5) -> dict[str, Any]:
    seconds: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="envgen-bench-lock-uv-") as tmp_name,
        torch_index(Path(tmp_name)) as served,
    ):
        tmp = Path(tmp_name)
        project = served.project
        envgen = [*envgen_command(), "lock", "cpu", "--no-conda"]

        def inputs(n: int) -> None:
            """Run n's requirements, envgen's and raw uv's alike."""
            package = EXTRA[n % 2]
            served.write_profile((package,))
            (project / "in.txt").write_text(f"torch=={TORCH}+cpu\n{package}\n")

        def timed(command: list[str], cache: str, n: int) -> float:
            inputs(n)
            return run(command, cwd=project, env=isolated(tmp / cache)).seconds

        _alternate(
            runs,
            {
                RAW: lambda n: timed(_raw(served), "raw", n),
                LOCK: lambda n: timed(envgen, "envgen", n),
                RAW_GIVEN: lambda n: timed(_raw(served, "--python", sys.executable), "given", n),
            },
            seconds,
        )
        inputs(0)  # the same inputs from here on: --upgrade re-solves them
        _alternate(
            upgrade_runs,
            {
                RAW_UPGRADE: lambda n: timed(_raw(served, "--upgrade"), "raw", 0),
                UPGRADE: lambda n: timed([*envgen, "--upgrade"], "envgen", 0),
            },
            seconds,
        )
        torch = served.torch
    rows = []
    for case, values in seconds.items():
        base = RAW_UPGRADE if case in (UPGRADE, RAW_UPGRADE) else RAW
        pairs = sorted(v / b for v, b in zip(values, seconds[base], strict=True))
        rows.append(
            {
                "case": case,
                "baseline": base,
                "seconds": round(median(values), 3),
                "runs": [round(v, 3) for v in values],
                "ratio": ratio(median(values), median(seconds[base])),
                "pair_ratio_range": [round(pairs[0], 3), round(pairs[-1], 3)],
            }
        )
    return {"torch": torch, "runs": runs, "upgrade_runs": upgrade_runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--upgrade-runs", type=int, default=5)
    args = parser.parse_args()
    result = measure(args.runs, args.upgrade_runs)
    print(f"lock, one platform, {result['torch']}, loopback indexes, medians")
    for row in result["rows"]:
        print(
            f"  {row['case']:48} {row['seconds']:6.3f} s  {row['ratio']:5.2f}x of "
            f"{row['baseline']} (run by run {row['pair_ratio_range']})"
        )


if __name__ == "__main__":
    main()
