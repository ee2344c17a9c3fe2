"""Dockerfile and devcontainer.json outputs, read back by a Dockerfile parser (PyPI's
dockerfile-parse) and a JSON-with-comments reader, and checked against the profile."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

from envgen.project import Project
from tests.helpers import run_cli, write_profile

OUTPUTS = "outputs: [Dockerfile, devcontainer.json]\n"


def _render(project_dir: Path, text: str) -> tuple[Any, dict[str, str]]:
    write_profile(project_dir, "box", text + OUTPUTS)
    project = Project.open()
    resolved = project.resolve("box")
    return resolved.env, {f.name: f.content for f in project.render(resolved)}


def _dockerfile(text: str, tmp_path: Path) -> DockerfileParser:
    parser = DockerfileParser(path=str(tmp_path / "Dockerfile"))
    parser.content = text
    return parser


def _jsonc(text: str) -> dict[str, Any]:
    """devcontainer.json is JSON with comments; ours are whole-line // comments."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    data: dict[str, Any] = json.loads(body)
    return data


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


@pytest.mark.parametrize("base", ["gpu-cu128", "cpu", "rocm", "xpu", "gpu-cu118"])
def test_dockerfile_means_the_profile(project_dir: Path, tmp_path: Path, base: str) -> None:
    env, files = _render(
        project_dir, f"extends: {base}\nvariables: {{TOKEN_HINT: 'a $HOME \"q\" \\\\ b'}}\n"
    )
    parser = _dockerfile(files["Dockerfile"], tmp_path)
    linux = next(p for p in env.platforms if p.startswith("linux"))
    lock = f"requirements-{linux}.lock.txt"
    (from_,) = _instructions(parser, "FROM")
    docker_platform = {"linux-64": "linux/amd64", "linux-aarch64": "linux/arm64"}[linux]
    assert from_ == f"--platform={docker_platform} python:{env.python}-slim"
    assert parser.baseimage == f"python:{env.python}-slim"
    # the profile's variables reach the image exactly, nothing expanded
    # dockerfile-parse strips the quotes and unescapes \"; Docker's lexer also unescapes \$ and
    # \\ inside double quotes (so $HOME is not expanded)
    value = re.sub(r"\\([$\\])", r"\1", parser.envs["TOKEN_HINT"])
    assert value == env.variables["TOKEN_HINT"] == 'a $HOME "q" \\\\ b'
    # the image's own venv: made by the image, first on its PATH, and the one verified
    venv = parser.envs["VIRTUAL_ENV"]
    assert venv.startswith("/") and parser.envs["PATH"].startswith(f"{venv}/bin:")
    assert f"python -m venv {venv}" in _instructions(parser, "RUN")
    (copy,) = _instructions(parser, "COPY")
    assert copy == f"${{ENVGEN_DIR}}/{lock} /tmp/envgen/{lock}"
    runs = _instructions(parser, "RUN")
    install = next(r for r in runs if "pip install --require-hashes" in r)
    assert f"-r /tmp/envgen/{lock}" in install
    check = next(r for r in runs if "envgen verify" in r)
    assert check.startswith("--mount=type=bind")
    assert f"envgen verify box --python {venv}/bin/python --json" in check
    assert "--expect-gpu" not in check  # no GPU at build time: device checks skip
    assert json.loads(_instructions(parser, "CMD")[0]) == ["python"]
    assert parser.args["ENVGEN_DIR"] == "envs/box"


@pytest.mark.parametrize(
    ("base", "run_args", "gpu"),
    [
        ("gpu-cu128", ["--gpus", "all"], True),
        ("cpu", None, None),
        ("rocm", ["--device=/dev/kfd", "--device=/dev/dri"], None),
        ("xpu", ["--device=/dev/dri"], None),
    ],
)
def test_devcontainer_points_at_the_dockerfile_with_gpu_access(
    project_dir: Path, tmp_path: Path, base: str, run_args: list[str] | None, gpu: bool | None
) -> None:
    _, files = _render(project_dir, f"extends: {base}\n")
    doc = _jsonc(files["devcontainer.json"])
    assert doc["build"] == {
        "dockerfile": "Dockerfile",
        "context": "../..",
        "args": {"ENVGEN_DIR": "envs/box"},
    }
    if run_args is None:
        assert "runArgs" not in doc
    else:
        assert doc["runArgs"][: len(run_args)] == run_args
    assert doc.get("hostRequirements", {}).get("gpu") == gpu
    venv = _dockerfile(files["Dockerfile"], tmp_path).envs["VIRTUAL_ENV"]  # the image's venv
    interpreter = doc["customizations"]["vscode"]["settings"]["python.defaultInterpreterPath"]
    assert interpreter == f"{venv}/bin/python"
    assert re.search(r"envgen-content-sha256: [0-9a-f]{64}", files["devcontainer.json"])


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("mps", "needs a Linux platform"),
        ("gpu-conda", "'source: conda' profiles are not supported yet"),
    ],
)
def test_profiles_a_container_cannot_hold_are_refused(
    capsys: pytest.CaptureFixture[str], project_dir: Path, base: str, message: str
) -> None:
    write_profile(project_dir, "box", f"extends: {base}\n{OUTPUTS}")
    result = run_cli(capsys, "render", "box")
    assert result.code == 2 and message in result.err and "Fix:" in result.err
    assert not (project_dir / "envs").exists()


def test_the_first_linux_platform_is_the_image_platform(project_dir: Path, tmp_path: Path) -> None:
    _, files = _render(project_dir, "extends: cpu\nplatforms: [osx-arm64, linux-aarch64]\n")
    parser = _dockerfile(files["Dockerfile"], tmp_path)
    assert _instructions(parser, "FROM")[0].startswith("--platform=linux/arm64 ")
    assert "requirements-linux-aarch64.lock.txt" in _instructions(parser, "COPY")[0]
