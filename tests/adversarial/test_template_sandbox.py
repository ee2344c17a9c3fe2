"""Templates are data: a project template that reaches for Python (the way from ``cycler`` to
``os.popen``) ran commands during render and check. Now every such template is exit 2 naming
the template and its line, runs nothing and writes nothing; generated files land only inside
the project unless ``-o`` on the command line says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envgen.paths import builtin_templates
from tests.helpers import run_cli, snapshot, write_profile

CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'

ESCAPES = {
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "joiner-globals": "{{ joiner.__init__.__globals__['os'].system('touch PWNED') }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('touch PWNED') }}",
    "str-subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "context-dict": "{{ env.__class__.__init__ }}",
    "self-reference": "{{ self._TemplateReference__context.cycler }}",
    "loop-subclasses": "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "namespace-dunder": "{% set ns = namespace() %}{{ ns.__init__.__globals__ }}",
    "list-mutation": "{{ env.pip_requirements.append('evil') }}",
    "dict-mutation": "{{ env.variables.update({'X': '1'}) }}",
    "attr-filter": "{{ env|attr('__class__') }}",
    "format-filter": "{{ '%s'|format(env) }}",
    "percent-format": "{{ '%s-%s' % (env.python, env.torch) }}",
    "huge-repeat": "{{ 'x' * 10**9 }}",
    "huge-power": "{{ 7 ** 123456789 }}",
    "huge-join": "{{ range(100000)|join('y' * 1000000) }}",
    "huge-indent": "{{ header|join('\\n')|indent(10**8) }}",
    "division": "{{ 1 / 0 }}",
    "recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
}


@pytest.fixture
def project(project_dir: Path) -> Path:
    write_profile(project_dir, "p", CPU)
    (project_dir / "templates").mkdir()
    return project_dir


# check (the CI job on pull requests) renders through the same code: a few cases there suffice
CASES = [(name, "render") for name in sorted(ESCAPES)] + [
    (name, "check") for name in ("cycler-globals", "list-mutation", "huge-repeat")
]


@pytest.mark.parametrize(("name", "command"), CASES)
def test_a_template_that_reaches_out_is_exit_2_and_runs_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], name: str, command: str
) -> None:
    template = project / "templates" / "requirements.txt.j2"
    text = (builtin_templates() / "requirements.txt.j2").read_text()
    template.write_text(text + ESCAPES[name] + "\n")
    line = text.count("\n") + 1
    before = snapshot(project)
    result = run_cli(capsys, command, "p")
    assert result.code == 2, (name, result.code, result.err)
    assert "Traceback" not in result.err and "bug in envgen" not in result.err
    assert f"templates/requirements.txt.j2, line {line}" in result.err, result.err
    assert snapshot(project) == before
    assert not (project / "PWNED").exists()


def test_the_built_in_templates_render_in_the_sandbox(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    formats = [p.name.removesuffix(".j2") for p in builtin_templates().glob("*.j2")]
    write_profile(project, "p", CPU + f"outputs: {sorted(formats)}\n")
    result = run_cli(capsys, "render", "p", "--stdout")
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("output", "../outside/{profile}"),
        ("output", "{parent}/outside/{profile}"),
        ("templates", "../outside"),
        ("profiles", "../outside"),
        ("catalog", "../outside.yaml"),
    ],
)
def test_settings_cannot_point_outside_the_project(
    project: Path, capsys: pytest.CaptureFixture[str], setting: str, value: str
) -> None:
    outside = project.parent / "outside"
    outside.mkdir()
    (project.parent / "outside.yaml").write_text("releases: []\n")
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(f'[tool.envgen]\n{setting} = "{value.replace("{parent}", str(project.parent))}"\n')
    before = snapshot(project)
    result = run_cli(capsys, "render", "p")
    assert result.code == 2, result.err
    assert "leads outside the project" in result.err and f"tool.envgen.{setting}" in result.err
    assert snapshot(project) == before and list(outside.iterdir()) == []


@pytest.mark.parametrize("link", ["envs", "envs/p"])
def test_an_output_directory_linked_out_of_the_project_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(elsewhere)
    for command in ("render", "check", "lock"):
        result = run_cli(capsys, command, "p")
        assert result.code == 2, (command, result.err)
        assert "leads outside the project" in result.err
    assert list(elsewhere.iterdir()) == []


def test_the_command_line_may_still_write_elsewhere(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = project.parent / "elsewhere"
    result = run_cli(capsys, "render", "p", "-o", str(elsewhere))
    assert result.code == 0, result.err
    assert (elsewhere / "requirements.txt").is_file()
