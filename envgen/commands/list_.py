"""``envgen list``: every profile the project can use, and where each one comes from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import EnvgenError
from ..profile import ProfileLayer
from ..project import Project
from ..textcheck import escape_unsafe


def profile_rows(project: Project) -> list[dict[str, Any]]:
    """One row per profile, the project's own first; a profile that fails to load is listed
    with its error rather than hiding every other profile (the description is the merged one,
    as ``show`` prints it). ``all`` says whether ``--all`` selects it."""
    rows = []
    layers: dict[Path, ProfileLayer] = {}  # each file read once, however many extend it
    registry = project.registry
    own_first = sorted(registry.all(), key=lambda s: s.origin != "project")
    for source in own_first:
        origin = source.origin + (" (overrides built-in)" if source.overrides_builtin else "")
        row: dict[str, Any] = {
            "name": source.name,
            "origin": origin,
            "path": project.display(source.path),
            "description": "",
            "extends": [],
            "abstract": False,
            "all": False,
            "error": None,
        }
        try:
            merged = project.registry.load(source.name, layers)
        except EnvgenError as exc:
            row["error"] = exc.render()
        else:
            # abstract is the file's own word, never inherited: read it from the layer
            abstract = bool(merged.layer.values.get("abstract", False))
            row["origin"] += ", abstract" if abstract else ""
            row["description"] = merged.values.get("description", "")
            row["extends"] = list(merged.layer.extends)
            row["abstract"] = abstract
            # --all: the project's own profiles; the built-ins only in a project with none
            row["all"] = not abstract and (source.origin == "project" or not registry.project)
        rows.append(row)
    return rows


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> int:
    """List profiles: the project's own first (what --all means), then the built-ins.

    Exits 1 when a profile cannot be loaded (it is listed with its error)."""
    project = Project.open()
    rows = profile_rows(project)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 1 if any(row["error"] for row in rows) else 0
    width = max((len(escape_unsafe(r["name"])) for r in rows), default=4)
    owidth = max((len(r["origin"]) for r in rows), default=6)
    where = escape_unsafe(project.display(project.registry.profiles_dir)) + "/"
    own = [r for r in rows if r["origin"].startswith("project")]
    builtin = [r for r in rows if not r["origin"].startswith("project")]
    example = next((r["name"] for r in builtin if r["name"] == "cpu"), "NAME")
    groups = [
        (f"This project's profiles ({where}): what --all, or no profile named, means", own),
        (
            f"Built-in profiles: used by name, e.g. 'envgen render {example}'"
            if own
            else f"Built-in profiles: this project has none of its own in {where}, so --all "
            "means these",
            builtin,
        ),
    ]
    shown = [(title, group) for title, group in groups if group]
    for index, (title, group) in enumerate(shown):
        click.echo(("\n" if index else "") + title)
        for row in group:
            # File names are whatever the file system holds: an escape sequence would drive the
            # terminal and a newline fake a row, so every field is escaped as errors are.
            text = f"BROKEN: {row['error']}" if row["error"] else row["description"]
            name, origin, text = (escape_unsafe(str(f)) for f in (row["name"], row["origin"], text))
            click.echo(f"{name:<{width}}  {origin:<{owidth}}  {text}".rstrip())
    return 1 if any(row["error"] for row in rows) else 0
