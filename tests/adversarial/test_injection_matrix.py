"""Every vector x every line separator x every output format: refused with exit 2, nothing written.

The vectors are the ways a value reaches a generated file (see injection.py). Validation at the
boundary refuses them all; a second test bypasses that boundary and feeds the renderer directly,
so the renderer's own check is proven too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.errors import EnvgenError
from envgen.filters import double_quoted
from envgen.project import Project
from tests.adversarial.injection import EVIL, FORMATS, SEPARATORS, VECTORS
from tests.helpers import run_cli

BASE = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'


def _setup(root: Path, vector: str, value: str) -> tuple[str, list[str]]:
    """Write the attack into the project; (profile name, extra CLI args)."""
    where, _ = VECTORS[vector]
    profiles = root / "profiles"
    profiles.mkdir(exist_ok=True)
    name, extra, body = "p", [], BASE
    quoted = json.dumps(value)  # a JSON string is a YAML double-quoted scalar
    if where in ("pip", "conda", "channels"):
        body += f"{where}: [{quoted}]\n"
    elif where in ("description", "name", "pytorch", "extends"):
        if where == "pytorch":
            body = body.replace('pytorch: "2.4.1"\n', "")
        body += f"{where}: {quoted}\n"
        if where == "extends":
            (profiles / "base.yaml").write_text(BASE)
    elif where == "variables.key":
        body += f"variables: {{{quoted}: x}}\n"
    elif where == "variables.value":
        body += f"variables: {{FOO: {quoted}}}\n"
    elif where == "mirror":
        with (root / "pyproject.toml").open("a") as fh:
            public = '"https://download.pytorch.org/whl"'
            fh.write(f"[tool.envgen.mirrors]\n{public} = {double_quoted(value)}\n")
    elif where == "--mirror":
        extra = ["--mirror", f"https://download.pytorch.org/whl={value}"]
    elif where == "file-name":
        name = value
    (profiles / f"{name}.yaml").write_text(body, encoding="utf-8")
    return name, extra


def _render_args(vector: str, name: str, fmt: str, extra: list[str]) -> list[str]:
    if VECTORS[vector][0] == "--mirror":  # render has no --mirror; lock and create do
        return ["lock", name, *extra]
    target = ["--all"] if VECTORS[vector][0] == "file-name" else [name]
    return ["render", *target, "-f", fmt]


@pytest.mark.parametrize("sep", list(SEPARATORS))
@pytest.mark.parametrize("vector", list(VECTORS))
def test_every_vector_is_refused_in_every_format(
    project_dir: Path, capsys: pytest.CaptureFixture[str], vector: str, sep: str
) -> None:
    value = VECTORS[vector][1].format(sep=SEPARATORS[sep])
    name, extra = _setup(project_dir, vector, value)
    for fmt in FORMATS:
        result = run_cli(capsys, *_render_args(vector, name, fmt, extra))
        assert result.code == 2, (fmt, result.out, result.err)
        message = result.err.strip()
        assert message.startswith("error: ") and "Traceback" not in message
        assert "\n" not in message and "\r" not in message, "one paragraph, no injected line"
        # refused for the separator (named, or the value shown escaped), not by accident
        assert "(U+" in message or "\\" in message, message
        assert "evil.example" not in result.out
        assert not (project_dir / "envs").exists(), "nothing half-written"


def test_the_same_values_without_a_separator_render_as_one_line(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: with a space instead of a separator, the marker value stays inside its line."""
    value = VECTORS["pip-marker"][1].format(sep=" ")
    _setup(project_dir, "pip-marker", value)
    result = run_cli(capsys, "render", "p", "-f", "requirements.txt")
    assert result.code == 0, result.err
    lines = (project_dir / "envs" / "p" / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if line.startswith("--trusted-host")] == []
    assert value in lines


@pytest.mark.parametrize("sep", list(SEPARATORS))
@pytest.mark.parametrize("field", ["description", "pip", "conda", "channels", "variables"])
def test_the_renderer_refuses_what_slipped_past_validation(
    project_dir: Path, field: str, sep: str
) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "p.yaml").write_text(BASE + "pip: [requests]\nconda: [numpy]\n")
    project = Project.open()
    resolved = project.resolve("p")
    env = resolved.env
    bad = "x" + SEPARATORS[sep] + EVIL
    changed = {
        "description": {"description": bad},
        "pip": {"pip": (*env.pip, "requests" + SEPARATORS[sep] + EVIL)},
        "conda": {"conda": (*env.conda, bad)},
        "channels": {"channels": (*env.channels, bad)},
        "variables": {"variables": {"FOO": bad}},
    }[field]
    assert set(changed) <= set(env._fields)
    poisoned = resolved._replace(env=env._replace(**changed))
    for fmt in FORMATS:
        with pytest.raises(EnvgenError, match="cannot be written into a generated file"):
            project.render(poisoned, [fmt])
