"""``envgen list``: every profile the project can use, and where each one comes from."""

from __future__ import annotations

import json

import click

from ..project import Project


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> int:
    """List profiles: the project's own first in precedence, then the built-ins."""
    project = Project.open()
    rows = []
    for source in project.registry.all():
        layer = project.registry.load_layer(source)
        origin = source.origin + (" (overrides built-in)" if source.overrides_builtin else "")
        if layer.values.get("abstract"):
            origin += ", abstract"
        rows.append(
            {
                "name": source.name,
                "origin": origin,
                "path": project.display(source.path),
                "description": layer.values.get("description", ""),
                "extends": list(layer.extends),
                "abstract": bool(layer.values.get("abstract", False)),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    owidth = max((len(r["origin"]) for r in rows), default=6)
    for row in rows:
        click.echo(f"{row['name']:<{width}}  {row['origin']:<{owidth}}  {row['description']}")
    return 0
