"""``envgen verify``: run the activation test and show each check (a table, or JSON for CI)."""

from __future__ import annotations

import json
from pathlib import Path

import click

_STYLE = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "skip": ("SKIP", "yellow")}


@click.command("verify")
@click.argument("name", metavar="PROFILE")
@click.option(
    "--prefix",
    type=click.Path(path_type=Path, file_okay=False),
    help="The environment's directory (default: .envgen/envs/PROFILE).",
)
@click.option(
    "--python",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Audit this interpreter instead (an environment envgen did not create).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report, for CI.")
@click.option(
    "--expect-gpu", is_flag=True, help="Fail, rather than skip, device checks without a GPU."
)
def command(
    name: str, prefix: Path | None, python: Path | None, as_json: bool, expect_gpu: bool
) -> int:
    """Prove from inside PROFILE's activated environment that it is what the profile says.

    Exit 0 when no check failed, 1 when one did.
    """
    from ..project import Project
    from ..verify import verify_env
    from ._common import resolve_name

    project = Project.open()
    name = resolve_name(project, name)
    report = verify_env(project, name, prefix=prefix, python=python, expect_gpu=expect_gpu)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
        return 0 if report.ok else 1
    click.echo(f"envgen verify {name}: {report.prefix} ({report.activation})")
    width = max(len(c.name) for c in report.checks)
    for check in report.checks:
        label, colour = _STYLE[check.status]
        click.echo(f"  {click.style(label, fg=colour)}  {check.name:<{width}}  {check.detail}")
    summary = ", ".join(
        f"{report.count(s)} {w}"
        for s, w in (("pass", "passed"), ("fail", "failed"), ("skip", "skipped"))
    )
    click.echo(summary + ("" if report.ok else " — the environment is not what the profile says"))
    return 0 if report.ok else 1
