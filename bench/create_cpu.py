"""What `envgen create` costs against the manual recipe it replaces, for the real CPU torch.

The manual recipe: `python3.11 -m venv ENV && ENV/bin/python -m pip install torch==2.13.0+cpu
--index-url <the same local index>`. envgen: `envgen create` of a locked CPU profile (hashes
checked), with uv (the default) and, with --pip, with pip. Cold = empty installer cache, warm =
the cache a previous run filled. Everything is served from one loopback index (torch from pip's
find-links directory, its dependencies from the local simple index), timed in this run, so
ratios compare like with like. The warm uv case also runs with UV_OFFLINE=1 (no network at all).
Not a test.

    python bench/create_cpu.py [--runs 3] [--pip]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import envgen_command, isolated, median, python_for, ratio, run, serve
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes
from tests.torch_local import TORCH, dependency_closure, torch_wheel

PROFILE = (
    f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\nplatforms: [linux-64]\n'
)
MANUAL = "manual: python -m venv + pip install torch"


def python311() -> Path:
    return python_for("3.11")


def measure(
    runs: int = 3,
    with_pip: bool = False,
    keep: Path | None = None,
    manual_runs: int | None = None,
) -> dict[str, Any]:
    """Median seconds per case and temperature, and each one's ratio to the manual recipe.

    ``keep``: where the last warm uv-made environment is built and left (bench/verify.py
    reuses it instead of building another torch environment). ``manual_runs``: how many of
    the ``runs`` also time the manual recipe (all when None); it takes 20 s to over two minutes
    a run, against seconds for envgen, so fewer of them is what lets bench/run.py finish.
    """
    manual_runs = runs if manual_runs is None else max(1, min(manual_runs, runs))
    wheel = torch_wheel()
    deps = dependency_closure(wheel) if wheel else "no torch wheel in pip's find-links"
    if wheel is None or isinstance(deps, str):
        return {"skipped": f"cannot build the local index: {deps}"}
    python = python311()
    cases = [MANUAL, "envgen create (uv)"] + (["envgen create (pip)"] if with_pip else [])
    with tempfile.TemporaryDirectory(prefix="envgen-bench-create-") as tmp_name:
        tmp = Path(tmp_name)
        indexes = LocalIndexes(tmp / "indexes")
        for index in ("whl/cpu", PYPI_INDEX):
            (indexes.root / index).mkdir(parents=True)
        for path in (wheel, *deps):
            indexes.add_file("whl/cpu", path)
            if path != wheel:
                indexes.add_file(PYPI_INDEX, path)
        indexes.publish()
        indexes.base_url, server = serve(indexes.root)
        project = tmp / "project"
        (project / "profiles").mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n' + indexes.mirror_toml()
        )
        (project / "profiles" / "cpu.yaml").write_text(PROFILE)
        envgen = [*envgen_command()]
        run([*envgen, "lock", "cpu", "--no-conda"], cwd=project, env=isolated(tmp / "c-lock"))
        index = indexes.pytorch_url("cpu")
        seconds: dict[str, list[float]] = {}
        # Finished environments and caches are moved here and deleted after the last timing:
        # deleting a gigabyte makes a filesystem mounted with online discard (as on the VMs
        # this ran on) slow for seconds afterwards, and that lands in whichever case is next.
        trash = tmp / "trash"
        trash.mkdir()
        for n in range(runs):
            for temperature in ("cold", "warm", "warm, offline"):
                for case in cases:
                    if temperature == "warm, offline" and case != "envgen create (uv)":
                        continue
                    if case == MANUAL and n >= manual_runs:
                        continue
                    cache = tmp / f"cache-{cases.index(case)}-{n}"
                    if temperature == "cold" and cache.exists():
                        cache.rename(trash / f"{cache.name}-{len(seconds)}")
                    # The last case wrote about a gigabyte: let the disk catch up now, not
                    # inside the next timing (each case, baseline and envgen alike).
                    os.sync()
                    env = isolated(cache)
                    if temperature == "warm, offline":
                        env["UV_OFFLINE"] = "1"
                    prefix = tmp / "envs" / f"{cases.index(case)}-{n}"
                    kept = keep and n == runs - 1 and (case, temperature) == (cases[1], "warm")
                    prefix = keep if kept and keep else prefix
                    if case == MANUAL:
                        took = run([str(python), "-m", "venv", str(prefix)], cwd=project, env=env)
                        pip = [str(prefix / "bin/python"), "-m", "pip", "install", "-q"]
                        pip += ["--index-url", index, f"torch=={TORCH}+cpu"]
                        total = took.seconds + run(pip, cwd=project, env=env).seconds
                    else:
                        installer = "uv" if "uv" in case else "pip"
                        cmd = [*envgen, "create", "cpu", "--python", str(python)]
                        cmd += ["--prefix", str(prefix), "--installer", installer]
                        total = run(cmd, cwd=project, env=env).seconds
                        verify = [*envgen, "verify", "cpu", "--prefix", str(prefix)]
                        run(verify, cwd=project, env=env)  # complete: every check passes
                    seconds.setdefault(f"{case}|{temperature}", []).append(total)
                    if not kept:  # deleted with the rest at the end: see "trash" above
                        prefix.rename(trash / f"{prefix.name}-{temperature}")
        server.shutdown()
    os.sync()  # the trash is gone: settle the disk before whatever is timed next
    rows = []
    for key, values in seconds.items():
        case, temperature = key.split("|")
        base = median(seconds[f"{MANUAL}|{temperature.split(',')[0]}"])
        rows.append(
            {
                "case": case,
                "cache": temperature,
                "seconds": round(median(values), 3),
                "runs": [round(v, 3) for v in values],
                "ratio": ratio(median(values), base),
            }
        )
    found: dict[str, Any] = {"torch": f"{TORCH}+cpu", "python": python.name, "runs": runs}
    if manual_runs < runs:
        found["note"] = (
            f"the manual recipe ran {manual_runs} of {runs} times per cache state: each of its"
            " runs takes minutes under load, and its own spread is small beside the targets'"
            " margins (0.05x, 0.30x)"
        )
    return {**found, "manual_runs": manual_runs, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pip", action="store_true", help="also time envgen create --installer pip"
    )
    args = parser.parse_args()
    result = measure(args.runs, args.pip)
    if "skipped" in result:
        sys.exit(result["skipped"])
    print(f"create of torch {result['torch']} (local loopback index), median of {args.runs}")
    for row in result["rows"]:
        label = f"{row['case']}, {row['cache']} cache"
        print(f"  {label:56} {row['seconds']:7.2f} s  {row['ratio']:5.2f}x")


if __name__ == "__main__":
    main()
