"""``envgen show``: the fully resolved profile, with where every value came from."""

from __future__ import annotations

import json
from typing import Any

import click

from ..project import Project


def describe(project: Project, name: str) -> dict[str, Any]:
    resolved = project.resolve(name)
    env = resolved.env
    data = env.as_dict()
    data["variant"] = {
        "name": env.variant.name,
        "kind": env.variant.kind,
        "label": env.variant.label,
    }
    data["pins"] = [p.requirement for p in env.pins]
    data["pip_requirements"] = list(env.pip_requirements)
    data["chain"] = [
        {"name": layer.name, "origin": layer.origin, "path": project.display(layer.path)}
        for layer in resolved.profile.chain
    ]
    origin = project.catalog.origin(env.torch)
    if env.source == "conda":  # the conda-forge builds may come from another catalog file
        conda = project.catalog.origin(f"conda:{env.torch}")
        if conda != origin:
            origin = f"{origin}; conda-forge builds: {conda}"
    data["catalog"] = origin if origin == "built-in" else f"{origin} (project overlay)"
    keys = list(env.catalog_sources)
    builds = project.catalog.conda_forge.get(env.torch) if env.source == "conda" else None
    if builds is not None:
        from ..project import conda_facts

        data["conda_forge"] = conda_facts(builds)
        keys += [k for k in builds.sources if k not in keys]
    data["catalog_sources"] = {key: dict(project.catalog.sources[key]) for key in keys}
    return data


@click.command("show")
@click.argument("name", metavar="PROFILE")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(name: str, as_json: bool) -> int:
    """Show PROFILE fully resolved."""
    from ._common import resolve_name

    project = Project.open()
    data = describe(project, resolve_name(project, name))
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return 0
    prov = data["provenance"]
    chain = " <- ".join(
        f"{c['name']} ({c['path'] if c['origin'] == 'project' else 'built-in'})"
        for c in reversed(data["chain"])
    )
    lines = [
        f"profile      {data['name']}   {data['description']}".rstrip(),
        f"chain        {chain}",
        f"python       {data['python']}" + _from(prov, "python"),
        f"accelerator  {data['accelerator']} ({data['variant']['label']})"
        + _from(prov, "accelerator"),
        f"torch        {data['torch']}" + _from(prov, "pytorch"),
        "packages     " + ", ".join(f"{k} {v}" for k, v in data["companions"].items()),
    ]
    for package, why in data["omitted"].items():
        lines.append(f"not included {package}: {why}")
    lines += [
        f"source       {data['source']}" + _from(prov, "source"),
        f"index        {_index(data)}",
    ]
    for url in data["extra_index_urls"]:
        lines.append(f"extra index  {url}")
    lines.append("platforms    " + ", ".join(data["platforms"]) + _from(prov, "platforms"))
    lines.append("channels     " + ", ".join(data["channels"]) + _from(prov, "channels"))
    lines.append("conda        " + ", ".join(data["conda"]) + _from(prov, "conda"))
    if data.get("conda_forge"):
        lines.append("conda-forge  " + conda_forge_line(data))
    lines.append("pip          " + ("\n             ".join(data["pip_requirements"]) or "-"))
    for key, value in data["variables"].items():
        lines.append(f"variable     {key}={value}" + _from(prov, "variables"))
    lines.append("outputs      " + ", ".join(data["outputs"]))
    lines.append("facts from   " + ("\n             ".join(fact_urls(data)) or "-"))
    lines.append(f"catalog      {data['catalog']}")
    click.echo("\n".join(lines))
    return 0


def _from(provenance: dict[str, str], key: str) -> str:
    origin = provenance.get(key)
    return f"   (from {origin})" if origin else "   (default)"


def _index(data: dict[str, Any]) -> str:
    """Where pip takes torch from; a conda-sourced torch never touches a pip index."""
    if data["source"] == "conda":
        return "PyPI, for the profile's pip packages" if data["pip"] else "- (torch from conda)"
    return data["index_url"] or "PyPI (default index)"


def conda_forge_line(data: dict[str, Any]) -> str:
    """The conda-forge builds a ``source: conda`` profile resolved against, and whether they
    were recorded (from the feedstocks' history) or observed (read from repodata)."""
    facts = data["conda_forge"]
    cuda = facts["cuda_platforms"]
    parts = [f"pytorch {facts['torch']}"]
    if cuda:
        versions = sorted(cuda, key=lambda v: tuple(int(p) for p in v.split(".")))
        parts.append("CUDA " + ", ".join(f"{v} ({', '.join(cuda[v])})" for v in versions))
    if facts["cpu_platforms"]:
        parts.append(f"CPU ({', '.join(facts['cpu_platforms'])})")
    if facts["python"]:
        parts.append(f"Python {facts['python'][0]} to {facts['python'][-1]}")
    companions = [f"{p} {facts[p]}" for p in ("torchvision", "torchaudio") if facts.get(p)]
    if companions:
        parts.append(", ".join(companions))
    sources = data["catalog_sources"]
    how = [
        f"{key} ({'observed ' + sources[key]['read'] if sources[key].get('read') else 'recorded'})"
        for key in facts["sources"]
        if key in sources
    ]
    return "; ".join(parts) + ("\n             from " + ", ".join(how) if how else "")


def fact_urls(data: dict[str, Any]) -> list[str]:
    """The catalog's citations for this release, each page once; a search page proves nothing
    on its own, so it is left out of the list (``--json`` keeps every source)."""
    seen: dict[str, str] = {}
    for source in data["catalog_sources"].values():
        url = source["url"]
        if "/search?" in url or "/search/" in url:
            continue
        seen.setdefault(url.rstrip("/"), url)
    return list(seen.values())
