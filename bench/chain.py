"""A long `extends` chain: 300 profiles, each extending the one before (the first a built-in).

`render --all`, `check --all` (everything current) and `list` of that project, timed as whole
processes, medians of a few runs. Each profile adds its own pip package, so the last one's
files list 300 packages: the work grows with the chain (300 x 150 layers on average) unless
each profile file is parsed and merged once. The target is an absolute one (render --all within
3 s on a 2-core machine); CPU time is shown too, steadier on a shared one. Not a test.

    python bench/chain.py [--length 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, median, run

COMMANDS = (("render", "--all"), ("check", "--all"), ("list",))


def write_chain(root: Path, length: int) -> None:
    (root / "profiles").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "chain"\nversion = "0"\n')
    for i in range(length):
        parent = '"builtin:cpu"' if i == 0 else f"c{i - 1:03d}"
        (root / "profiles" / f"c{i:03d}.yaml").write_text(
            f'extends: {parent}\ndescription: link {i}\npip: ["package-{i}>=1"]\n'
        )


def measure(length: int = 300, runs: int = 3) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="envgen-bench-chain-") as tmp:
        root = Path(tmp) / "project"
        write_chain(root, length)
        env = isolated(Path(tmp) / "cache")
        envgen = envgen_command()
        run([*envgen, "list"], cwd=root, env=env)  # envgen's own cache, as users have it
        done: dict[str, list[tuple[float, float]]] = {}
        for n in range(runs):
            for command in COMMANDS if n % 2 == 0 else COMMANDS[::-1]:
                if command[0] == "check" and not (root / "envs").is_dir():
                    run([*envgen, "render", "--all"], cwd=root, env=env)
                took = run([*envgen, *command], cwd=root, env=env)
                done.setdefault(" ".join(command), []).append((took.seconds, took.cpu_seconds))
        rendered = sum(1 for _ in (root / "envs").iterdir())
    for command, values in done.items():
        rows.append(
            {
                "command": f"envgen {command}",
                "profiles": length,
                "seconds": round(median([s for s, _ in values]), 3),
                "cpu_seconds": round(median([c for _, c in values]), 3),
                "runs": [round(s, 3) for s, _ in values],
            }
        )
    return {"length": length, "rendered": rendered, "runs": runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.length, args.runs)
    print(f"{args.length} profiles in one extends chain, median of {args.runs}")
    for row in result["rows"]:
        print(f"  {row['command']:22} {row['seconds']:7.2f} s  (CPU {row['cpu_seconds']:.2f} s)")


if __name__ == "__main__":
    main()
