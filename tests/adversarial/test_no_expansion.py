"""Environment variables in values a pull request can change are never expanded or sent.

A profile channel ``http://host/$SECRET/ch`` once made ``envgen lock`` request the expanded URL
(and print it); a pip direct reference with ``${SECRET}`` went into requirements.txt for uv to
expand. Now every '$' outside the credential position of a mirror URL is refused (exit 2)
before anything runs: the server in each test must see no request at all, and no output holds
the secret's value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.http_servers import RecordingServer
from tests.helpers import run_cli, snapshot, write_profile

SECRET = "hunter2-not-for-you"
CPU = 'python: "3.11"\naccelerator: cpu\npytorch: "2.4.1"\nplatforms: [linux-64]\n'


@pytest.fixture
def server(
    http_servers: Callable[..., RecordingServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RecordingServer:
    monkeypatch.setenv("SECRET", SECRET)
    (tmp_path / "served").mkdir()
    return http_servers(tmp_path / "served")


def _refused(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    before = snapshot(root)
    result = run_cli(capsys, *args)
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err and "bug in envgen" not in result.err
    assert SECRET not in result.out + result.err
    assert snapshot(root) == before
    return result.err


PROFILE_VALUES = [
    ("channels", "{url}/chan/$SECRET/conda-forge"),
    ("channels", "{url}/chan/${{SECRET}}/conda-forge"),
    ("channels", "{url}/chan?token=${{SECRET}}"),
    ("channels", "http://ci:${{SECRET}}@{host}/chan"),
    ("pip", "demo @ {url}/${{SECRET}}/demo-1.0-py3-none-any.whl"),
    ("pip", "demo @ {url}/files/demo-1.0-py3-none-any.whl?x=$SECRET"),
    ("pip", 'demo; platform_release == "${{SECRET}}"'),
]


# lock is what used to send the expanded URL; render validates the same way
@pytest.mark.parametrize(
    ("key", "template", "command"),
    [(*value, "lock") for value in PROFILE_VALUES]
    + [(*value, "render") for value in PROFILE_VALUES[::3]],
)
def test_a_dollar_in_a_profile_value_is_refused_and_nothing_is_sent(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    server: RecordingServer,
    key: str,
    template: str,
    command: str,
) -> None:
    value = template.format(url=server.url, host=server.url.removeprefix("http://"))
    write_profile(project_dir, "p", CPU + f"{key}: ['{value}']\n")
    message = _refused(capsys, project_dir, command, "p")
    assert "profiles/p.yaml" in message and "'$'" in message
    assert server.requests == []


@pytest.mark.parametrize(
    "mirror",
    [
        "{url}/$SECRET/whl",
        "{url}/whl/${{SECRET}}",
        "{url}/whl?mirror=${{SECRET}}",
        "http://ci:$SECRET@{host}/whl",
        "http://ci:pre${{SECRET}}@{host}/whl",
        "{url}/whl#${{SECRET}}",
    ],
)
def test_a_dollar_outside_a_mirrors_credential_is_refused(
    project_dir: Path, capsys: pytest.CaptureFixture[str], server: RecordingServer, mirror: str
) -> None:
    url = mirror.format(url=server.url, host=server.url.removeprefix("http://"))
    write_profile(project_dir, "p", CPU)
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write(f'[tool.envgen.mirrors]\n"https://download.pytorch.org/whl" = "{url}"\n')
    for command in ("render", "lock", "show"):
        message = _refused(capsys, project_dir, command, "p")
        assert "pyproject.toml" in message and "tool.envgen.mirrors" in message
    assert server.requests == []


def test_a_dollar_in_a_mirror_given_on_the_command_line_is_refused(
    project_dir: Path, capsys: pytest.CaptureFixture[str], server: RecordingServer
) -> None:
    write_profile(project_dir, "p", CPU)
    for mirror in (f"{server.url}/${{SECRET}}/simple", f"{server.url}/simple?u=$SECRET"):
        _refused(capsys, project_dir, "lock", "p", "--mirror", f"https://pypi.org/simple={mirror}")
        public = f"https://pypi.org/${{SECRET}}={server.url}/simple"
        _refused(capsys, project_dir, "lock", "p", "--mirror", public)
    assert server.requests == []


def test_the_overlays_index_base_cannot_expand_a_variable(
    project_dir: Path, capsys: pytest.CaptureFixture[str], server: RecordingServer
) -> None:
    write_profile(project_dir, "p", CPU)
    (project_dir / "catalog.yaml").write_text(f"index_base: {server.url}/${{SECRET}}/whl\n")
    with (project_dir / "pyproject.toml").open("a") as fh:
        fh.write('[tool.envgen]\ncatalog = "catalog.yaml"\n')
    for command in ("render", "lock"):
        message = _refused(capsys, project_dir, command, "p")
        assert "catalog.yaml" in message and "index_base" in message
    assert server.requests == []


def test_a_credential_placeholder_is_still_expanded_for_the_mirror_only() -> None:
    """The one documented place: the whole password or secret query value of a mirror URL."""
    from envgen.mirrors import Mirrors, expand_credentials

    mirrors = Mirrors.from_mapping(
        {
            "https://download.pytorch.org/whl": "https://ci:${SECRET}@m.example/whl",
            "https://pypi.org/simple": "https://m.example/simple?token=${SECRET}",
        }
    )
    environ = {"SECRET": "a b/c@d"}
    urls = [mirror for _, mirror in mirrors.rules]
    assert sorted(expand_credentials(u, environ) for u in urls) == [
        "https://ci:a%20b%2Fc%40d@m.example/whl",
        "https://m.example/simple?token=a%20b%2Fc%40d",
    ]
    # nothing outside those positions is ever expanded, even when handed such a URL
    assert expand_credentials("https://m.example/${SECRET}/x", environ).count("${SECRET}") == 1
