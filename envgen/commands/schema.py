"""``envgen schema``: the JSON Schema of profile files, for editors and CI validators."""

from __future__ import annotations

import json

import click

from ..profile import json_schema


@click.command("schema")
def command() -> int:
    """Print the profile JSON Schema (draft 2020-12)."""
    click.echo(json.dumps(json_schema(), indent=2))
    return 0
