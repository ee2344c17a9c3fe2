"""``envgen doctor``: inspect this machine and recommend the profile that fits it."""

from __future__ import annotations

import json

import click

from ..project import Project


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> int:
    """Report OS, Pythons (and which one pip really installs into), GPUs and drivers, tools,
    and the best matching profile with the next command. Always exits 0: a probe that fails
    is reported as unknown, with its reason."""
    from ..doctor.recommend import recommend
    from ..doctor.report import gather, to_json, to_text

    project = Project.open()
    facts = gather()
    rec = recommend(project, facts)
    if as_json:
        click.echo(json.dumps(to_json(facts, rec), indent=2, sort_keys=True, default=str))
    else:
        click.echo(to_text(facts, rec))
    return 0
