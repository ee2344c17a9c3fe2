"""Every benchmark in one run: the targets, bench/results/latest.json and latest.md.

Runs create (real torch CPU wheel, against the manual venv + pip recipe and against raw uv on
the same lock), lock (three platforms; one platform and --upgrade against raw uv), start-up/
render, scale (render/check --all over generated profiles, with a PNG plot), a 300-long extends
chain and verify, each against a baseline timed in the same run, and checks each target. Meant
to finish in about 10 minutes on a 2-core machine. Not a test: a shared, busy machine moves the
numbers; run it again when it is quiet.

    python bench/run.py [--quick] [--create-runs 3] [--only create create-uv lock lock-uv ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import chain, create_cpu, create_uv, lock, lock_uv, render, scale, verify

# The light, disk-bound cases first: create writes and deletes gigabytes of torch, and on a
# filesystem mounted with online discard that keeps the disk busy well after os.sync(), which
# showed as system time in scale's 3,000 small writes (1.34x one run, 0.52-0.76x alone).
SECTIONS = ("render", "scale", "chain", "lock", "lock-uv", "create", "create-uv", "verify")


def machine() -> dict[str, Any]:
    """What the numbers were measured on (a ratio travels; seconds describe this box)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "uv": _uv_version(),
    }


def _uv_version() -> str:
    from uv import find_uv_bin

    done = subprocess.run([str(find_uv_bin()), "--version"], capture_output=True, text=True)
    return done.stdout.strip()


def _row(section: dict[str, Any], case: str, cache: str | None = None) -> dict[str, Any] | None:
    for row in section.get("rows", []):
        if row.get("case") == case and (cache is None or row.get("cache") == cache):
            found: dict[str, Any] = row
            return found
    return None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each issue-12 target: what was measured, against what, and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(
        name: str,
        value: float | None,
        limit: float | None,
        baseline: str,
        note: str = "",
        unit: str = "×",
    ) -> None:
        """``limit`` None: shown for context, not one of the issue's targets. ``unit``: × for a
        ratio to the baseline, s for seconds (an absolute target)."""
        met = None if limit is None else value is not None and value <= limit
        entry = {"target": name, "ratio": value, "limit": limit, "baseline": baseline, "met": met}
        entry = {**entry, "unit": unit} if unit != "×" else entry
        out.append({**entry, "note": note} if note else entry)

    create = results.get("create", {})
    if "rows" in create:
        manual = "python -m venv + pip install torch, same cache state"
        for cache, limit in (("warm", 0.05), ("cold", 0.30), ("warm, offline", 0.05)):
            row = _row(create, "envgen create (uv)", cache)
            add(f"create, {cache} cache", row and row["ratio"], limit, manual)
    raw_create = results.get("create-uv", {})
    if "rows" in raw_create:
        row = _row(raw_create, create_uv.ENVGEN)
        spread = raw_create.get("pair_ratio_range")
        add(
            "create from a hashed lock, warm cache",
            row and row["ratio"],
            1.10,
            create_uv.BASELINE + ", same lock and cache state",
            f"{raw_create['torch']}; run by run {spread}" if spread else raw_create["torch"],
        )
    raw_lock = results.get("lock-uv", {})
    if "rows" in raw_lock:
        for case, limit, label in (
            (lock_uv.LOCK, 1.15, "lock, pip side, 1 platform, inputs changed"),
            (lock_uv.UPGRADE, 1.15, "lock --upgrade, pip side, 1 platform"),
            (lock_uv.RAW_GIVEN, None, "raw uv spared its interpreter search"),
        ):
            row = _row(raw_lock, case)
            if row is None:
                continue
            if limit is None:
                mine = _row(raw_lock, lock_uv.LOCK)
                fair = round(mine["seconds"] / row["seconds"], 3) if mine else None
                note = "context: envgen lock against uv given --python, as envgen runs it"
                add("lock, against raw uv with --python given", fair, None, case, note)
                continue
            note = f"run by run {row['pair_ratio_range']}"
            add(label, row["ratio"], limit, row["baseline"] + " (as typed)", note)
    lock_rows = results.get("lock", {})
    if "rows" in lock_rows:
        row = _row(lock_rows, "envgen lock, 3 platforms, cold cache")
        add("lock, pip side, 3 platforms", row and row["ratio"], 1.5, lock.BASELINE + " (as typed)")
        given = _row(lock_rows, f"{lock.BASELINE}, --python given")
        if row and given:
            fair = round(row["seconds"] / given["seconds"], 3)
            add(
                "lock, against raw uv with --python given",
                fair,
                None,
                lock.BASELINE + ", --python given",
                "context: raw uv spared its interpreter search, as envgen spares it",
            )
    start = results.get("render", {})
    if "rows" in start:
        row = _row(start, "envgen render gpu-cu118 (unchanged)")
        add("CLI start: render gpu-cu118", row and row["ratio"], 1.15, render.BASELINE)
        if row and "cpu_ratio" in row:
            add(
                "CLI start: render gpu-cu118, CPU time",
                row["cpu_ratio"],
                None,
                render.BASELINE + ", CPU time",
                "context: user + system time, which a busy machine disturbs less",
            )
    grown = results.get("scale", {})
    if "rows" in grown:
        for command in ("render --all", "check --all"):
            rows = sorted(
                (r for r in grown["rows"] if r["command"] == command), key=lambda r: r["profiles"]
            )
            if len(rows) >= 2:
                # CPU time: wall time on a shared machine measures the neighbours as well.
                flat = round(rows[-1]["cpu_ms_per_profile"] / rows[-2]["cpu_ms_per_profile"], 3)
                add(
                    f"scale, {command}: CPU time per profile",
                    flat,
                    1.2,
                    f"CPU ms/profile at {rows[-2]['profiles']} profiles",
                    f"at {rows[-1]['profiles']} profiles",
                )
                memory = round(rows[-1]["max_rss_mb"] / rows[0]["max_rss_mb"], 3)
                add(
                    f"scale, {command}: peak memory",
                    memory,
                    2.0,
                    f"peak RSS at {rows[0]['profiles']} profile(s)",
                    f"at {rows[-1]['profiles']} profiles",
                )
    chained = results.get("chain", {})
    if "rows" in chained:
        for command, limit in (("render --all", 3.0), ("check --all", None), ("list", None)):
            row = next((r for r in chained["rows"] if r["command"] == f"envgen {command}"), None)
            if row is not None:
                add(
                    f"{command}, {chained['length']} profiles in one extends chain",
                    row["seconds"],
                    limit,
                    "absolute wall time",
                    f"CPU {row['cpu_seconds']} s; runs {row['runs']}",
                    unit="s",
                )
    checked = results.get("verify", {})
    if "rows" in checked:
        row = _row(checked, "envgen verify cpu --python ENV/bin/python")
        add("verify", row and row["ratio"], 1.15, verify.BASELINE + " in the same environment")
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"Measured {report['finished']} on {m['cpu']} ({m['cores']} cores), {m['system']}, "
        f"Python {m['python']}, {m['uv']}; load average at start "
        f"{', '.join(map(str, m['load_average_at_start']))}, at the end "
        f"{', '.join(map(str, m.get('load_average_at_end', ['?'])))}; bench/run.py took "
        f"{report['seconds']:.0f} s.",
        "",
        "| target | measured | limit | baseline (same run) | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for t in report["targets"]:
        unit = t.get("unit", "×")
        shown = " s" if unit == "s" else unit
        value = "n/a" if t["ratio"] is None else f"{t['ratio']:.2f}{shown}"
        note = f" ({t['note']})" if t.get("note") else ""
        limit = "—" if t["limit"] is None else f"≤ {t['limit']}{shown}"
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['target']}{note} | {value} | {limit} | {t['baseline']} | {met} |")
    for name in SECTIONS:
        section = report["results"].get(name)
        if not section:
            continue
        lines += ["", f"### {name}", ""]
        if "skipped" in section:
            lines.append(f"skipped: {section['skipped']}")
            continue
        if section.get("note"):
            lines += [f"Note: {section['note']}.", ""]
        rows = section["rows"]
        keys = [k for k in rows[0] if k != "runs"]
        lines.append("| " + " | ".join(keys) + " |")
        lines.append("| " + " | ".join("---" for _ in keys) + " |")
        lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="one run per case (a smoke test)")
    parser.add_argument(
        "--create-runs", type=int, default=3, help="runs of the create section (the longest)"
    )
    parser.add_argument(
        "--manual-runs",
        type=int,
        default=3,
        help="of those, runs that also time the manual venv + pip recipe (half a minute or more"
        " each; its cold runs vary with the disk as much as envgen's do, so as many as envgen's)",
    )
    parser.add_argument(
        "--raw-runs",
        type=int,
        default=9,
        help="runs of create from a lock against raw uv (lock against raw uv: two more)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--rewrite", action="store_true", help="recompute targets and latest.md from latest.json"
    )
    args = parser.parse_args()
    if args.rewrite:
        report = json.loads((args.out / "latest.json").read_text(encoding="utf-8"))
        report["targets"] = targets(report["results"])
        (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (args.out / "latest.md").write_text(markdown(report), encoding="utf-8")
        return
    runs = 1 if args.quick else None
    started = time.perf_counter()
    report: dict[str, Any] = {"machine": machine(), "results": {}}
    shared = Path(tempfile.mkdtemp(prefix="envgen-bench-run-"))
    env = shared / "torch-env"  # built by the create section, reused by verify
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "create": lambda: create_cpu.measure(
            runs or args.create_runs, keep=env, manual_runs=args.manual_runs
        ),
        "create-uv": lambda: create_uv.measure(runs or args.raw_runs),
        "lock": lambda: lock.measure(runs or 7),
        "lock-uv": lambda: lock_uv.measure(runs or args.raw_runs + 2, runs or 5),
        "chain": lambda: chain.measure(300, runs or 3),
        "render": lambda: render.measure(runs or 10),
        "scale": lambda: scale.measure((1, 10, 100) if args.quick else (1, 10, 100, 1000)),
        "verify": lambda: verify.measure(runs or 9, env if env.is_dir() else None),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        # Each section on a settled disk: the one before may have left writes in flight (scale
        # writes thousands of files), which slowed the next section's uv cache writes.
        os.sync()
        began = time.perf_counter()
        print(f"[{time.perf_counter() - started:5.0f} s] {name}…", file=sys.stderr, flush=True)
        report["results"][name] = {**steps[name](), "seconds": 0.0}
        report["results"][name]["seconds"] = round(time.perf_counter() - began, 1)
        if name == "scale":
            why = scale.plot(report["results"][name], args.out / "scale.png")
            report["results"][name]["plot"] = why or "scale.png"
    shutil.rmtree(shared, ignore_errors=True)
    report["targets"] = targets(report["results"])
    report["machine"]["load_average_at_end"] = machine()["load_average_at_start"]
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (args.out / "latest.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown(report)
    (args.out / "latest.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
