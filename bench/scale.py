"""How `render --all` and `check --all` scale: 1, 10, 100, 1000 generated profiles.

Each project holds N generated profiles (cycling through CPU, CUDA and ROCm parents, each with
its own pip package) plus the built-in ones, which ``--all`` takes too. They are rendered once
(`render --all`, two files each) and then checked (`check --all`, all current). Time per
profile should stay flat and peak memory bounded as N grows; a PNG plot goes to bench/results/
when matplotlib is installed (the `bench` extra). Not a test.

    python bench/scale.py [--counts 1 10 100 1000] [--plot bench/results/scale.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, peak_rss_mb, run

PARENTS = ("cpu", "gpu-cu118", "gpu-cu126", "gpu-cu128", "rocm")


def write_project(root: Path, count: int) -> None:
    (root / "profiles").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "scale"\nversion = "0"\n')
    for i in range(count):
        parent = PARENTS[i % len(PARENTS)]
        (root / "profiles" / f"p{i:04d}.yaml").write_text(
            f'extends: "builtin:{parent}"\ndescription: generated {i}\n'
            f'pip: ["package-{i}>=1.{i % 7}"]\n'
        )


def measure(counts: tuple[int, ...] = (1, 10, 100, 1000)) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="envgen-bench-scale-") as tmp:
        env = isolated(Path(tmp) / "cache")
        envgen = envgen_command()
        run([*envgen, "list"], cwd=Path(tmp), env=env)  # envgen's own cache, as users have it
        for count in counts:
            root = Path(tmp) / f"n{count}"
            write_project(root, count)
            # The profiles just written are still dirty pages: written back while render runs,
            # they showed as its system time (1000 profiles: 1.7-4.7 s of sys, run to run).
            os.sync()
            for command in ("render", "check"):
                done = run([*envgen, command, "--all"], cwd=root, env=env)
                # --all includes the built-in profiles too: count what was really rendered.
                rendered = sum(1 for _ in (root / "envs").iterdir())
                rows.append(
                    {
                        "command": f"{command} --all",
                        "profiles": count,
                        "rendered": rendered,
                        "seconds": round(done.seconds, 3),
                        "ms_per_profile": round(done.seconds * 1000 / rendered, 2),
                        "cpu_ms_per_profile": round(done.cpu_seconds * 1000 / rendered, 2),
                        "max_rss_mb": round(
                            peak_rss_mb([*envgen, command, "--all"], cwd=root, env=env), 1
                        ),
                    }
                )
    return {"rows": rows}


def plot(result: dict[str, Any], path: Path) -> str | None:
    """Write the PNG; None when done, else why not (matplotlib missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for command in ("render --all", "check --all"):
        rows = [r for r in result["rows"] if r["command"] == command]
        counts = [r["profiles"] for r in rows]
        left.plot(counts, [r["ms_per_profile"] for r in rows], marker="o", label=f"{command}, wall")
        left.plot(
            counts, [r["cpu_ms_per_profile"] for r in rows], marker="x", label=f"{command}, CPU"
        )
        right.plot(counts, [r["max_rss_mb"] for r in rows], marker="o", label=command)
    for axis, label in ((left, "ms per profile"), (right, "peak RSS (MB)")):
        axis.set_xscale("log")
        axis.set_xlabel("profiles in the project")
        axis.set_ylabel(label)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.suptitle("envgen render/check --all: time per profile and peak memory")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--plot", type=Path, help="write a PNG plot here")
    args = parser.parse_args()
    result = measure(tuple(args.counts))
    for row in result["rows"]:
        print(
            f"  {row['command']:14} {row['profiles']:5} (+built-ins: {row['rendered']:5}) profiles"
            f"  {row['seconds']:7.2f} s  "
            f"{row['ms_per_profile']:7.2f} ms/profile (CPU {row['cpu_ms_per_profile']:6.2f})  "
            f"{row['max_rss_mb']:6.1f} MB"
        )
    if args.plot:
        print(plot(result, args.plot) or f"plot: {args.plot}")


if __name__ == "__main__":
    main()
