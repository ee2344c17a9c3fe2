"""Rendering: golden files for every built-in profile, and what the rendered files mean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from envgen.paths import builtin_profiles
from envgen.project import Project
from tests.helpers import run_cli, write_profile
from tests.reqparse import marker_env, parse_requirements_text, pip_parse

GOLDENS = Path(__file__).parent / "goldens"
BUILTINS = sorted(p.stem for p in builtin_profiles().glob("*.yaml"))
EXTRA_OUTPUTS = ("pixi.toml", "Dockerfile", "devcontainer.json")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_matches_golden(
    capsys, project_dir: Path, name: str, update_goldens: bool
) -> None:
    result = run_cli(capsys, "render", name)
    assert result.code == 0, result.err
    # The outputs a profile adds with '+NAME' too, each where the profile can have it (a
    # container needs a Linux platform and pip wheels): every template's bytes are pinned.
    for extra in EXTRA_OUTPUTS:
        run_cli(capsys, "render", name, "-f", extra)
    out_dir = project_dir / "envs" / name
    rendered = {p.name: p.read_text() for p in sorted(out_dir.iterdir())}
    golden_dir = GOLDENS / name
    if update_goldens:
        golden_dir.mkdir(parents=True, exist_ok=True)
        for old in golden_dir.iterdir():
            old.unlink()
        for file_name, text in rendered.items():
            (golden_dir / file_name).write_text(text)
    expected = {p.name: p.read_text() for p in sorted(golden_dir.iterdir())}
    assert rendered == expected, f"run 'pytest --update-goldens' and review the diff ({name})"


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_files_mean_what_the_profile_says(project_dir: Path, name: str) -> None:
    project = Project.open()
    resolved = project.resolve(name)
    env = resolved.env
    files = {f.name: f.content for f in project.render(resolved)}

    doc = yaml.safe_load(files["environment.yml"])
    assert doc["name"] == env.env_name
    assert doc["channels"] == list(env.channels)
    deps = doc["dependencies"]
    assert f"python={env.python}" in deps
    for stale in ("cudatoolkit", "pytorch-cuda", "cpuonly"):
        assert not any(str(d).startswith(stale) for d in deps)
    assert "pytorch" not in doc["channels"]
    pip_section = next((d["pip"] for d in deps if isinstance(d, dict)), [])

    if env.source == "conda":
        assert "requirements.txt" not in files
        assert f"pytorch={env.torch}=" + ("cuda*" if env.accelerator == "cuda" else "cpu*") in deps
        if env.accelerator == "cuda":
            assert f"cuda-version={env.variant.version}" in deps
        assert not any(str(p).startswith("--index-url") for p in pip_section)
        return

    reqs = parse_requirements_text(files["requirements.txt"])
    # the pip section of environment.yml is a requirements file for conda's pip run: same meaning
    yml_reqs = parse_requirements_text("\n".join(pip_section))
    assert yml_reqs == reqs
    if env.accelerator == "mps":
        assert reqs.index_url is None  # PyPI's macOS wheels are the MPS build
    else:
        assert reqs.index_url == f"https://download.pytorch.org/whl/{env.variant.name}"
    for platform in env.platforms:
        pins = reqs.pins_for(marker_env(platform, env.python_minor))
        assert set(pins) == set(env.packages), platform
        assert pins["torch"].split("+")[0] == env.torch
        for name_, version in pins.items():
            public, _, local = version.partition("+")
            assert public == env.companions[name_]
            if local:
                assert local == env.variant.name  # a tag can only match the intended build


def test_requirements_parse_with_pips_own_parser(project_dir: Path) -> None:
    write_profile(
        project_dir,
        "extra",
        """
        python: "3.11"
        accelerator: cuda
        cuda: "11.8"
        pytorch: "2.4.1"
        pip: ["numpy>=1.26", "requests[socks]>=2.31; python_version < '3.13'"]
        conda: ["git", "ffmpeg >=6"]
        variables: {PYTORCH_CUDA_ALLOC_CONF: "expandable_segments:True", OMP_NUM_THREADS: 4}
        """,
    )
    project = Project.open()
    files = {f.name: f.content for f in project.render(project.resolve("extra"))}
    path = project_dir / "requirements.txt"
    path.write_text(files["requirements.txt"])
    assert pip_parse(path) == [
        "torch==2.4.1+cu118",
        "torchvision==0.19.1+cu118",
        "torchaudio==2.4.1+cu118",
        "numpy>=1.26",
        "requests[socks]>=2.31; python_version < '3.13'",
    ]
    reqs = parse_requirements_text(files["requirements.txt"])
    # the PyTorch index as an extra: uv searches extras first (tests/test_requirements_consumers)
    assert reqs.index_url == "https://pypi.org/simple"
    assert reqs.extra_index_urls == ["https://download.pytorch.org/whl/cu118"]
    doc = yaml.safe_load(files["environment.yml"])
    assert doc["dependencies"][:4] == ["python=3.11", "pip", "git", "ffmpeg >=6"]
    assert doc["variables"] == {
        "OMP_NUM_THREADS": "4",
        "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
    }
    assert doc["dependencies"][-1]["pip"][:2] == [
        "--index-url https://download.pytorch.org/whl/cu118",
        "--extra-index-url https://pypi.org/simple",
    ]


def test_extends_merges_packages_and_records_provenance(project_dir: Path) -> None:
    write_profile(
        project_dir,
        "team",
        """
        python: "3.12"
        pip: ["numpy>=1.26", "rich"]
        variables: {A: "1"}
        """,
    )
    write_profile(
        project_dir,
        "mine",
        """
        extends: team
        accelerator: cuda
        cuda: cu124
        pytorch: {version: "2.4", packages: [torch]}
        pip: ["numpy==2.0.1"]
        variables: {B: "2"}
        """,
    )
    resolved = Project.open().resolve("mine")
    env = resolved.env
    assert env.torch == "2.4.1" and env.packages == ("torch",)
    assert env.pip == ("rich", "numpy==2.0.1")  # the child's numpy replaces the parent's
    assert env.variables == {"A": "1", "B": "2"}
    assert env.provenance["python"] == "team"
    assert env.provenance["pip"] == "team+mine"
    assert env.provenance["accelerator"] == "mine"


def test_render_is_deterministic_and_does_not_touch_unchanged_files(
    capsys, project_dir: Path
) -> None:
    assert run_cli(capsys, "render", "cpu").code == 0
    out = project_dir / "envs" / "cpu"
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    past = 1_000_000_000
    for p in out.iterdir():
        os.utime(p, (past, past))
    result = run_cli(capsys, "render", "cpu")
    assert result.code == 0
    assert "unchanged" in result.out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert all(p.stat().st_mtime == past for p in out.iterdir())
    assert all(b"\r\n" not in data for data in first.values())


def test_check_passes_after_render_and_fails_after_hand_edit(capsys, project_dir: Path) -> None:
    assert run_cli(capsys, "render", "gpu-cu118").code == 0
    assert run_cli(capsys, "check", "gpu-cu118").code == 0
    assert run_cli(capsys, "check").code == 0  # default: every rendered profile

    req = project_dir / "envs" / "gpu-cu118" / "requirements.txt"
    req.write_text(req.read_text().replace("+cu118", "+cu121", 1))
    result = run_cli(capsys, "check", "gpu-cu118")
    assert result.code == 1
    assert "edited by hand" in result.out
    assert "-torch==2.7.1+cu121" in result.out and "+torch==2.7.1+cu118" in result.out

    refused = run_cli(capsys, "render", "gpu-cu118")
    assert refused.code == 2 and "refusing to overwrite" in refused.err
    assert "+cu121" in req.read_text()
    assert run_cli(capsys, "render", "gpu-cu118", "--force").code == 0
    assert run_cli(capsys, "check", "gpu-cu118").code == 0


def test_check_reports_stale_files_after_profile_change(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.11"\npytorch: "2.4.1"\n')
    assert run_cli(capsys, "render", "p").code == 0
    write_profile(project_dir, "p", 'python: "3.12"\npytorch: "2.4.1"\n')
    result = run_cli(capsys, "check", "p")
    assert result.code == 1
    assert "stale" in result.out and "-  - python=3.11" in result.out
    # a stale (not hand-edited) file is simply re-rendered
    assert run_cli(capsys, "render", "p").code == 0
    assert run_cli(capsys, "check", "p").code == 0


def test_check_on_missing_files(capsys, project_dir: Path) -> None:
    result = run_cli(capsys, "check", "cpu")
    assert result.code == 1 and "missing" in result.out


def test_render_refuses_to_overwrite_a_foreign_file(capsys, project_dir: Path) -> None:
    target = project_dir / "envs" / "cpu" / "requirements.txt"
    target.parent.mkdir(parents=True)
    target.write_text("torch\n")
    result = run_cli(capsys, "render", "cpu")
    assert result.code == 2 and "not written by envgen" in result.err
    assert target.read_text() == "torch\n"
    assert not (target.parent / "environment.yml").exists()


def test_output_options(capsys, project_dir: Path) -> None:
    assert run_cli(capsys, "render", "cpu", "-o", "out").code == 0
    assert (project_dir / "out" / "requirements.txt").is_file()
    assert run_cli(capsys, "render", "cpu", "mps", "-o", "many").code == 0
    assert (project_dir / "many" / "mps" / "requirements.txt").is_file()
    (project_dir / "pyproject.toml").write_text('[tool.envgen]\noutput = "env/{profile}-files"\n')
    assert run_cli(capsys, "render", "xpu").code == 0
    assert (project_dir / "env" / "xpu-files" / "environment.yml").is_file()
    result = run_cli(capsys, "render", "xpu", "--stdout", "-f", "requirements.txt")
    assert result.out.startswith("# Generated by envgen") and "--index-url" in result.out


def test_render_all(capsys, project_dir: Path) -> None:
    result = run_cli(capsys, "render", "--all")
    assert result.code == 0, result.err
    # 'base' exists only to be extended (abstract: true): --all skips it.
    assert sorted(p.name for p in (project_dir / "envs").iterdir()) == [
        n for n in BUILTINS if n != "base"
    ]
    assert run_cli(capsys, "check", "--all").code == 0
    listed = run_cli(capsys, "list")
    assert any(line.startswith("base") and "abstract" in line for line in listed.out.splitlines())
    assert run_cli(capsys, "render", "base").code == 0  # naming it still works


def test_project_template_overrides_builtin(capsys, project_dir: Path) -> None:
    (project_dir / "templates").mkdir()
    (project_dir / "templates" / "requirements.txt.j2").write_text(
        "# envgen-content-sha256: {{ content_digest }}\n"
        "--index-url {{ env.index_url }}\n"
        "{% for r in env.pip_requirements %}{{ r }}\n{% endfor %}"
    )
    result = run_cli(capsys, "render", "gpu-cu118", "--stdout", "-f", "requirements.txt")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [
        "--index-url https://download.pytorch.org/whl/cu118",
        "torch==2.7.1+cu118",
        "torchvision==0.22.1+cu118",
        "torchaudio==2.7.1+cu118",
    ]


def test_mirrors_rewrite_indexes_and_channels(capsys, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text(
        "[tool.envgen.mirrors]\n"
        '"https://download.pytorch.org/whl" = "https://mirror.corp/pytorch"\n'
        '"conda-forge" = "https://mirror.corp/conda/conda-forge"\n'
        '"https://pypi.org/simple" = "https://user:${PYPI_TOKEN}@mirror.corp/pypi/simple"\n'
    )
    write_profile(project_dir, "p", 'python: "3.11"\npytorch: "2.4.1"\npip: [numpy]\n')
    result = run_cli(capsys, "render", "p", "--stdout")
    assert result.code == 0, result.err
    assert "\n--extra-index-url https://mirror.corp/pytorch/cpu\n" in result.out
    assert "\n--index-url https://user:${PYPI_TOKEN}@mirror.corp/pypi/simple\n" in result.out
    assert "  - https://mirror.corp/conda/conda-forge\n" in result.out


def test_pixi_manifest_means_the_same_environment(project_dir: Path) -> None:
    import tomllib

    write_profile(
        project_dir,
        "px",
        """
        extends: gpu-cu118
        pip: ["numpy>=1.26", "requests[socks]>=2"]
        conda: ["ffmpeg >=6", "conda-forge::git", "pytest=8"]
        variables: {OMP_NUM_THREADS: "4"}
        outputs: [environment.yml, requirements.txt, pixi.toml]
        """,
    )
    project = Project.open()
    resolved = project.resolve("px")
    files = {f.name: f.content for f in project.render(resolved)}
    doc = tomllib.loads(files["pixi.toml"])
    assert doc["workspace"] == {
        "name": "px",
        "channels": ["conda-forge"],
        "platforms": [
            {"platform": "linux-64", "cuda": "11.8"},
            {"platform": "win-64", "cuda": "11.8"},
        ],
    }
    assert "system-requirements" not in doc  # deprecated in pixi >= 0.71
    assert doc["dependencies"] == {
        "python": "3.11.*",
        "ffmpeg": ">=6",
        "git": {"version": "*", "channel": "conda-forge"},
        "pytest": "8.*",
    }
    index = "https://download.pytorch.org/whl/cu118"
    assert doc["pypi-dependencies"] == {
        "torch": {"version": "==2.7.1", "index": index},
        "torchvision": {"version": "==0.22.1", "index": index},
        "torchaudio": {"version": "==2.7.1", "index": index},
        "numpy": ">=1.26",
        "requests": {"version": ">=2", "extras": ["socks"]},
    }
    assert doc["activation"] == {"env": {"OMP_NUM_THREADS": "4"}}


def test_pixi_manifest_for_conda_forge_torch(capsys, project_dir: Path) -> None:
    import tomllib

    write_profile(project_dir, "p", "extends: gpu-conda\noutputs: [pixi.toml]\n")
    result = run_cli(capsys, "render", "p", "--stdout")
    assert result.code == 0, result.err
    deps = tomllib.loads(result.out)["dependencies"]
    assert deps["pytorch"] == {"version": "==2.7.1", "build": "cuda*"}
    assert deps["cuda-version"] == "12.6.*"
    assert "pypi-dependencies" not in tomllib.loads(result.out)


def test_pixi_refuses_markers_it_cannot_express(capsys, project_dir: Path) -> None:
    write_profile(
        project_dir,
        "p",
        """python: "3.11"\npip: ["rich; sys_platform == 'linux'"]\noutputs: [pixi.toml]\n""",
    )
    result = run_cli(capsys, "render", "p")
    assert result.code == 2 and "cannot express the environment marker" in result.err
    assert not (project_dir / "envs").exists()
