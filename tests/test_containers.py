"""Dockerfile and devcontainer.json outputs, read back by a Dockerfile parser (PyPI's
dockerfile-parse) and a JSON-with-comments reader, and checked against the profile."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

import envgen
from envgen.project import Project
from tests.helpers import run_cli, snapshot, write_profile

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
    # the lock's own index lines give way to the index build arguments (mirrors)
    install = next(r for r in runs if "pip install --require-hashes" in r)
    assert f"grep -v -e '^--index-url ' -e '^--extra-index-url ' /tmp/envgen/{lock}" in install
    assert '--index-url "$PYPI_INDEX"' in install
    assert '--extra-index-url "$PYTORCH_INDEX"' in install
    assert parser.args["PYTORCH_INDEX"] == env.index_url
    assert parser.args["PYPI_INDEX"] == "https://pypi.org/simple"
    check = next(r for r in runs if "envgen verify" in r)
    assert check.startswith("--mount=type=bind")
    assert f"envgen verify box --python {venv}/bin/python --json" in check
    assert "--expect-gpu" not in check  # no GPU at build time: device checks skip
    # envgen itself: this release, by its own distribution name, from the same index
    assert parser.args["ENVGEN_SPEC"] == f"torch-envgen=={envgen.__version__}"
    assert 'pip install --index-url "$PYPI_INDEX" "$ENVGEN_SPEC"' in check
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


def _write(project_dir: Path, text: str) -> None:
    write_profile(project_dir, "box", "extends: cpu\nplatforms: [linux-64]\n" + text + OUTPUTS)


def _paths_point_at(project_dir: Path, directory: Path) -> None:
    """The Dockerfile's ENVGEN_DIR and build comment and devcontainer.json's context and
    ENVGEN_DIR, read back, lead from the project root to ``directory`` and back."""
    text = (directory / "Dockerfile").read_text()
    parser = _dockerfile(text, directory)
    relative = directory.relative_to(project_dir).as_posix()
    assert parser.args["ENVGEN_DIR"] == relative
    assert f"#   docker build -f {relative}/Dockerfile .\n" in text
    doc = _jsonc((directory / "devcontainer.json").read_text())
    assert (directory / doc["build"]["context"]).resolve() == project_dir.resolve()
    assert doc["build"]["args"]["ENVGEN_DIR"] == relative
    assert (project_dir / relative / "Dockerfile").is_file()


@pytest.mark.parametrize(
    ("setting", "args", "where"),
    [
        ('output = "build/docker/{profile}"', [], "build/docker/box"),
        (None, ["-o", "images/box-files"], "images/box-files"),
        ('output = "envs/{profile}"', ["-o", "."], "."),
    ],
)
def test_output_setting_and_option_move_the_paths_with_the_files(
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
    setting: str | None,
    args: list[str],
    where: str,
) -> None:
    if setting:
        with (project_dir / "pyproject.toml").open("a") as fh:
            fh.write(f"\n[tool.envgen]\n{setting}\n")
    _write(project_dir, "")
    result = run_cli(capsys, "render", "box", *args)
    assert result.code == 0, result.err
    _paths_point_at(project_dir, (project_dir / where).resolve())


def test_a_dockerfile_outside_the_project_is_refused(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project_dir, "")
    before = snapshot(tmp_path)
    result = run_cli(capsys, "render", "box", "-o", str(tmp_path / "elsewhere"))
    assert result.code == 2 and "must be written inside the project" in result.err
    assert "Fix:" in result.err and "Traceback" not in result.err
    assert snapshot(tmp_path) == before


def test_conda_packages_are_refused_not_dropped(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The image installs the hashed pip lock only: a profile's conda packages would be missing,
    so the Dockerfile is refused (a project template may install them instead)."""
    _write(project_dir, "conda: [ffmpeg, 'libsndfile>=1.2']\n")
    result = run_cli(capsys, "render", "box")
    assert result.code == 2
    assert "profiles/box.yaml: key 'conda':" in result.err
    assert "(ffmpeg, libsndfile>=1.2) would be missing from the image" in result.err
    assert "Fix:" in result.err
    assert not (project_dir / "envs").exists()
    # a project template that installs them (here: says so) is the user's call
    templates = project_dir / "templates"
    templates.mkdir()
    builtin = (Path(envgen.__file__).parent.parent / "templates" / "Dockerfile.j2").read_text()
    own = builtin.replace("{% set _ = env | docker_pip_only %}\n", "")
    (templates / "Dockerfile.j2").write_text(own)
    assert run_cli(capsys, "render", "box").code == 0


def test_render_warns_and_check_fails_while_the_lock_is_missing(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project_dir, "")
    result = run_cli(capsys, "render", "box")
    assert result.code == 0
    lock = "envs/box/requirements-linux-64.lock.txt"
    assert (
        f"warning: envs/box/Dockerfile copies {lock}, which does not exist yet: "
        "run 'envgen lock box' before building the image" in result.err
    )
    checked = run_cli(capsys, "check")
    assert checked.code == 1
    assert f"FAIL     {lock}: missing; the Dockerfile copies it (run 'envgen lock box')" in (
        checked.out
    )
    assert "Run 'envgen lock box'" in checked.err
    # a profile without a Dockerfile is not nagged about locks it never made
    write_profile(project_dir, "plain", "extends: cpu\n")
    assert run_cli(capsys, "render", "plain").code == 0
    assert run_cli(capsys, "check", "plain").code == 0


def test_an_envgen_upgrade_changes_only_the_dockerfile_and_says_why(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Dockerfile installs the envgen that rendered it (torch-envgen==VERSION), so an
    upgrade changes it, and check names envgen's version as the reason; the other files, which
    name no version, stay current."""
    _write(project_dir, "")
    assert run_cli(capsys, "render", "box").code == 0
    monkeypatch.setattr(envgen, "__version__", "99.0.0")
    checked = run_cli(capsys, "check", "box", "-q")
    assert checked.code == 1
    assert (
        "FAIL     envs/box/Dockerfile: stale: envgen's version (the file installs the envgen "
        "that renders it) changed since it was rendered" in checked.out
    )
    assert "devcontainer.json" not in checked.out
    assert run_cli(capsys, "render", "box").code == 0
    assert (
        "ARG ENVGEN_SPEC=torch-envgen==99.0.0\n"
        in (project_dir / "envs" / "box" / "Dockerfile").read_text()
    )
