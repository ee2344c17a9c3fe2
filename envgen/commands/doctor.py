"""``envgen doctor``: inspect this machine and recommend the profile that fits it."""

from __future__ import annotations

import json

import click


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds each probe (nvidia-smi, rocminfo, pip …) may take before it counts as unknown.",
)
def command(as_json: bool, timeout: float) -> int:
    """Report OS, Pythons (and which one pip really installs into), GPUs and drivers, tools,
    and the best matching profile with the next command. Always exits 0: a probe that fails
    is reported as unknown, with its reason."""
    from ..doctor.context import Context
    from ..doctor.recommend import Recommendation, recommend
    from ..doctor.report import gather, to_json, to_text
    from ..errors import EnvgenError
    from ..project import Project

    facts = gather(Context(timeout=timeout))
    try:
        rec = recommend(Project.open(), facts)
    except EnvgenError as exc:
        # A broken project (bad pyproject, bad profile chain) must not hide the machine report.
        rec = Recommendation(None, f"the project's profiles cannot be read: {exc}")
    if as_json:
        click.echo(json.dumps(to_json(facts, rec), indent=2, sort_keys=True, default=str))
    else:
        click.echo(to_text(facts, rec))
    return 0
