"""`envgen create` from a hashed CPU lock against raw uv typed by hand on the same lock.

Raw uv, what a user would type instead: `uv venv --seed --python PY ENV`, then
`uv pip sync --require-hashes --python ENV/bin/python` of the very lock file envgen wrote,
from the same loopback indexes (bench/_torch_index.py: the real torch CPU wheel where this
machine has one, else the stand-in). envgen: `envgen create cpu --python PY --prefix ENV` of
that locked profile. Warm caches, one per case, filled by a first run that is not counted;
cases alternated (A B, then B A), medians, and the ratio run by run. Not a test.

    python bench/create_uv.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, median, ratio, run
from bench._torch_index import TorchIndex, torch_index

BASELINE = "uv venv --seed + uv pip sync --require-hashes"
ENVGEN = "envgen create cpu (hashed lock)"


def _envgen(served: TorchIndex, prefix: Path) -> list[list[str]]:
    create = [*envgen_command(), "create", "cpu", "--python", str(served.python)]
    return [[*create, "--prefix", str(prefix)]]


def _raw(served: TorchIndex, lock: Path, prefix: Path) -> list[list[str]]:
    from uv import find_uv_bin

    uv = str(find_uv_bin())
    sync = [uv, "pip", "sync", "--require-hashes", "--quiet", *served.index_options()[:4]]
    return [
        [uv, "venv", "--seed", "--quiet", "--python", str(served.python), str(prefix)],
        [*sync, "--python", str(prefix / "bin" / "python"), str(lock)],
    ]


def measure(runs: int = 9) -> dict[str, Any]:
    seconds: dict[str, list[float]] = {BASELINE: [], ENVGEN: []}
    with (
        tempfile.TemporaryDirectory(prefix="envgen-bench-create-uv-") as tmp_name,
        torch_index(Path(tmp_name)) as served,
    ):
        tmp = Path(tmp_name)
        project = served.project
        run([*envgen_command(), "lock", "cpu", "--no-conda"], cwd=project, env=isolated(tmp / "l"))
        (lock,) = (project / "envs" / "cpu").glob("requirements-linux-64.lock.txt")
        # Finished environments go to a trash folder deleted after the last timing: deleting
        # a gigabyte on a filesystem mounted with online discard slows whatever runs next.
        trash = tmp / "trash"
        trash.mkdir()
        for n in range(-1, runs):  # run -1 fills each case's cache and is not counted
            order = [BASELINE, ENVGEN] if n % 2 == 0 else [ENVGEN, BASELINE]
            for case in order:
                env = isolated(tmp / f"cache-{case[:6]}")
                prefix = tmp / "envs" / f"{case[:6]}-{n}"
                steps = _raw(served, lock, prefix) if case == BASELINE else _envgen(served, prefix)
                os.sync()  # the last case wrote an environment: not inside this timing
                took = sum(run(step, cwd=project, env=env).seconds for step in steps)
                if n >= 0:
                    seconds[case].append(took)
                prefix.rename(trash / prefix.name)
        torch = served.torch
    os.sync()
    base = median(seconds[BASELINE])
    rows = [
        {
            "case": case,
            "seconds": round(median(values), 3),
            "runs": [round(v, 3) for v in values],
            "ratio": ratio(median(values), base),
        }
        for case, values in seconds.items()
    ]
    pairs = sorted(e / b for e, b in zip(seconds[ENVGEN], seconds[BASELINE], strict=True))
    spread = [round(pairs[0], 3), round(pairs[-1], 3)] if pairs else []
    return {"torch": torch, "runs": runs, "pair_ratio_range": spread, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    result = measure(args.runs)
    print(f"create from a hashed lock, {result['torch']}, warm caches, median of {args.runs}")
    for row in result["rows"]:
        print(f"  {row['case']:50} {row['seconds']:7.3f} s  {row['ratio']:5.2f}x")
    print(f"  envgen / raw uv, run by run: {result['pair_ratio_range']}")


if __name__ == "__main__":
    main()
