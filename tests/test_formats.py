"""The formats registry: every output has a template and a reader, and what a reader refuses
stops the render before anything is written.

The readers are held to the real consumers' parsers (PyYAML, tomllib, json, dockerfile-parse)
on every golden file, and on broken files written by a project's own templates.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from envgen import formats, readback
from envgen.paths import builtin_templates
from tests.helpers import run_cli, snapshot, write_profile

GOLDENS = Path(__file__).parent / "goldens"
PROFILE = 'python: "3.11"\npytorch: "2.4.1"\nplatforms: [linux-64]\n'


def test_every_output_has_a_built_in_template_and_every_template_a_record() -> None:
    templates = {p.name.removesuffix(".j2") for p in builtin_templates().glob("*.j2")}
    assert templates == set(formats.OUTPUTS)


def test_defaults_and_lock_names() -> None:
    assert formats.default_outputs("pip") == (
        "environment.yml",
        "requirements.txt",
        "conda-lock-spec.yml",
    )
    assert formats.default_outputs("conda") == ("environment.yml", "conda-lock-spec.yml")
    assert formats.lock_inputs() == ("conda-lock-spec.yml",)
    assert formats.pip_lock_platform(formats.pip_lock_name("win-64")) == "win-64"
    assert formats.pip_lock_platform("requirements.txt") is None
    assert formats.lock_names(("linux-64",), pip=False) == {"conda-lock.yml", "pylock.toml"}


@pytest.mark.parametrize("path", sorted(p for p in GOLDENS.rglob("*") if p.is_file()), ids=str)
def test_every_golden_reads_back(path: Path) -> None:
    parser = formats.parser_of(path.name)
    assert parser == formats.OUTPUTS[path.name].parser
    text = path.read_text()
    if parser != "none":
        assert getattr(readback, parser)(text) is None
    if parser == "dockerfile":  # the same instructions as dockerfile-parse reads
        parsed = DockerfileParser(fileobj=io.BytesIO(text.encode())).structure
        ours = [line.split(None, 1)[0] for line in _logical_lines(text)]
        assert ours == [i["instruction"] for i in parsed if i["instruction"] != "COMMENT"]


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    joined = ""
    for line in text.splitlines():
        if not joined and (not line.strip() or line.lstrip().startswith("#")):
            continue
        joined += line.rstrip("\\") + " "
        if not line.endswith("\\"):
            out.append(joined.strip())
            joined = ""
    return out


@pytest.mark.parametrize(
    ("output", "body", "said"),
    [
        ("pixi.toml", '[project]\nname = "unterminated\n', "invalid TOML"),
        ("devcontainer.json", '{"name": "x",, }\n', "invalid JSON"),
        ("Dockerfile", "FROM python:3.11-slim\nRUN true\nthis is no instruction\n", "Dockerfile"),
        ("Dockerfile", "RUN true\n", "no FROM"),
        ("environment.yml", "name: [unclosed\n", "invalid YAML"),
    ],
)
def test_a_project_template_that_writes_an_unreadable_file_writes_nothing(
    project_dir: Path, capsys: pytest.CaptureFixture[str], output: str, body: str, said: str
) -> None:
    """pixi.toml, devcontainer.json and Dockerfile are read back like the YAML outputs always
    were: a template that breaks its format fails the render, before any file is written."""
    write_profile(project_dir, "p", PROFILE)
    templates = project_dir / "templates"
    templates.mkdir()
    comment = "//" if output.endswith(".json") else "#"
    header = f"{comment} envgen-content-sha256: {{{{ content_digest }}}}\n"
    (templates / f"{output}.j2").write_text(header + body)
    before = snapshot(project_dir)
    result = run_cli(capsys, "render", "p", "-f", output)
    assert result.code == 2, result.err
    assert said in result.err and "Traceback" not in result.err
    assert f"templates/{output}.j2" in result.err
    assert snapshot(project_dir) == before


def test_json_with_comments_and_trailing_commas_reads_as_vs_code_reads_it() -> None:
    text = '// head\n{\n  "a": [1, 2,], /* note */\n  "b": "// not a comment",\n}\n'
    assert readback.jsonc(text) is None
    assert readback.jsonc('{"a": 1 "b": 2}') is not None


def test_dockerfile_heredocs_continuations_and_the_escape_directive() -> None:
    text = (
        "# escape=`\nARG BASE=python\nFROM ${BASE}\nRUN echo a `\n    && echo b\n"
        'RUN <<EOF\nnot an instruction\nEOF\nCMD ["python"]\n'
    )
    assert readback.dockerfile(text) is None
    assert "not closed" in str(readback.dockerfile("FROM x\nRUN <<EOF\necho\n"))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_the_toml_reader_is_the_standard_one() -> None:
    import tomllib

    bad = 'a = "x\n'
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(bad)
    assert readback.toml(bad) is not None
