"""Bad input: every error is one paragraph naming file, key and fix, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli, snapshot, write_profile


def assert_refused(capsys, root: Path, args: list[str], *fragments: str) -> str:
    before = snapshot(root)
    result = run_cli(capsys, *args)
    assert result.code == 2, result
    assert "Traceback" not in result.err
    message = result.err.strip()
    assert message.startswith("error: "), message
    assert "\n" not in message, "the error must be one paragraph"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert snapshot(root) == before, "nothing may be written on error"
    return message


def test_malformed_yaml_reports_file_and_line(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "bad", 'python: "3.11"\naccelerator: [cpu\n')
    assert_refused(
        capsys, project_dir, ["render", "bad"], "profiles/bad.yaml, line 3", "malformed YAML"
    )


def test_unknown_key_suggests_the_right_one(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "typo", 'python: "3.11"\naccelerater: cuda\n')
    assert_refused(
        capsys,
        project_dir,
        ["render", "typo"],
        "profiles/typo.yaml, line 2",
        "key 'accelerater'",
        "did you mean 'accelerator'?",
        "Fix: rename it to 'accelerator'",
    )


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("python: [3]\n", ["key 'python'", "not a valid python value", '"3.11"']),
        ('python: "3.11"\naccelerator: gpu\n', ["key 'accelerator'", "'gpu' is not one of"]),
        ('python: "3.11"\npip: numpy\nconda: {a: 1}\n', ["key 'conda'", "expected a list"]),
        ('python: "3.11"\nplatforms: [linux64]\n', ["platforms[0]", "did you mean 'linux-64'"]),
        ('python: "3.11"\nvariables: {1BAD: x}\n', ["variables.1BAD", "environment variable"]),
    ],
)
def test_wrong_types_are_refused(
    capsys, project_dir: Path, body: str, fragments: list[str]
) -> None:
    write_profile(project_dir, "p", body)
    assert_refused(capsys, project_dir, ["render", "p"], "profiles/p.yaml", *fragments)


def test_yaml_float_python_keeps_its_text(capsys, project_dir: Path) -> None:
    """``python: 3.10`` is the float 3.1 to YAML; envgen must read it as the user wrote it."""
    write_profile(project_dir, "p", "python: 3.10\naccelerator: cpu\npytorch: '2.4.1'\n")
    result = run_cli(capsys, "render", "p", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    assert "- python=3.10\n" in result.out


def test_unknown_profile_lists_known_ones(capsys, project_dir: Path) -> None:
    message = assert_refused(capsys, project_dir, ["render", "gpu_cu118"], "unknown profile")
    assert "did you mean 'gpu-cu118'?" in message
    assert "gpu-cu118" in message and "cpu" in message


@pytest.mark.parametrize(
    ("key", "spec", "why"),
    [
        ("pip", "numpy\n--index-url https://evil.example/simple", "newline"),
        ("pip", "--extra-index-url https://evil.example/simple", "pip options are not allowed"),
        ("pip", "requests ==", "not a PEP 508 requirement"),
        ("pip", "numpy # pinned", "'#' would start a comment"),
        ("conda", "numpy; rm -rf /", "characters a conda match spec cannot"),
        ("conda", "numpy=1.2=py3*=extra", "expected name=version"),
        ("conda", "'quoted'", "characters a conda match spec cannot"),
    ],
)
def test_bad_package_specs_are_refused(
    capsys, project_dir: Path, key: str, spec: str, why: str
) -> None:
    import json

    write_profile(project_dir, "p", f'python: "3.11"\n{key}:\n  - {json.dumps(spec)}\n')
    assert_refused(capsys, project_dir, ["render", "p"], f"key '{key}[0]'", why)


def test_torch_family_in_pip_list_is_refused(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.11"\npip: ["torch==2.4.1"]\n')
    assert_refused(capsys, project_dir, ["render", "p"], "'torch' is managed by envgen")


def test_stale_cudatoolkit_recipe_is_refused(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.11"\nconda: ["cudatoolkit=11.8"]\n')
    assert_refused(capsys, project_dir, ["render", "p"], "cudatoolkit is the stale")


def test_extends_cycle_is_refused(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "a", 'extends: b\npython: "3.11"\n')
    write_profile(project_dir, "b", "extends: a\n")
    assert_refused(
        capsys, project_dir, ["render", "a"], "cycle", "project:a -> project:b -> project:a"
    )


def test_self_override_needs_builtin_prefix(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "cpu", "extends: cpu\n")
    assert_refused(capsys, project_dir, ["render", "cpu"], "cycle", "builtin:cpu")
    write_profile(project_dir, "cpu", 'extends: "builtin:cpu"\npython: "3.12"\n')
    result = run_cli(capsys, "render", "cpu", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    assert "- python=3.12\n" in result.out


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            'python: "3.10"\naccelerator: cuda\ncuda: "12.1"\npytorch: "2.0.1"\n',
            [
                "torch 2.0.1 was published for CUDA 11.7 and 11.8",
                "CUDA 12.1 builds start with torch 2.1.0",
            ],
        ),
        (
            'python: "3.13"\naccelerator: cpu\npytorch: "2.4"\n',
            [
                "has wheels for Python 3.8 to 3.12, not 3.13",
                "Python 3.13 wheels start with torch 2.5",
            ],
        ),
        (
            'python: "3.11"\naccelerator: rocm\nplatforms: [linux-64, win-64]\n',
            ["ROCm cannot target win-64", "only for Linux"],
        ),
        (
            'python: "3.11"\naccelerator: cuda\nplatforms: [osx-arm64]\n',
            ["CUDA cannot target osx-arm64", "no CUDA builds for macOS"],
        ),
        (
            'python: "3.11"\naccelerator: cuda\ncuda: "11.8"\npytorch: "2.8.0"\n',
            ["CUDA 11.8 builds end with torch 2.7.1"],
        ),
        ('python: "3.11"\npytorch: "9.9"\n', ["no torch release matches '9.9'"]),
        ('python: "3.11"\ncuda: "11.8"\n', ["'cuda' is set but the accelerator is 'cpu'"]),
    ],
)
def test_impossible_combinations_name_what_exists(
    capsys, project_dir: Path, body: str, fragments: list[str]
) -> None:
    write_profile(project_dir, "p", body)
    assert_refused(capsys, project_dir, ["render", "p"], "profiles/p.yaml", *fragments)


def test_template_error_names_template_and_line(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.11"\npytorch: "2.4.1"\n')
    templates = project_dir / "templates"
    templates.mkdir()
    (templates / "requirements.txt.j2").write_text(
        "# {{ content_digest }}\n\n{{ env.no_such_value }}\n"
    )
    assert_refused(
        capsys,
        project_dir,
        ["render", "p"],
        "templates/requirements.txt.j2, line 3",
        "no_such_value",
    )


def test_several_profiles_render_all_or_nothing(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "good", 'python: "3.11"\npytorch: "2.4.1"\n')
    write_profile(project_dir, "worse", 'python: "3.11"\npytorch: "2.4.1"\npip: ["bad spec !"]\n')
    assert_refused(capsys, project_dir, ["render", "good", "worse"], "profiles/worse.yaml")
    assert not (project_dir / "envs").exists()


def test_bad_pyproject_setting(capsys, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text('[tool.envgen]\nprofile = "p"\n')
    assert_refused(capsys, project_dir, ["list"], "pyproject.toml", "tool.envgen.profile")


def test_credentials_in_mirrors_are_refused(capsys, project_dir: Path) -> None:
    (project_dir / "pyproject.toml").write_text(
        '[tool.envgen.mirrors]\n"https://download.pytorch.org/whl" = '
        '"https://bob:hunter2@mirror.example/whl"\n'
    )
    write_profile(project_dir, "p", 'python: "3.11"\npytorch: "2.4.1"\n')
    message = assert_refused(capsys, project_dir, ["render", "p"], "carries a credential")
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("outputs", "../../escape.txt", "is not a template name"),
        ("outputs", ".hidden", "is not a template name"),
        ("channels", "conda-forge\n  - evil", "a newline"),
        ("channels", "conda forge", "is not a channel name"),
        ("channels", "https://x.example/c#frag", "which a URL cannot hold"),
    ],
)
def test_values_that_become_paths_or_lines_are_checked(
    capsys, project_dir: Path, key: str, value: str, why: str
) -> None:
    import json

    write_profile(project_dir, "p", f'python: "3.11"\n{key}: [{json.dumps(value)}]\n')
    assert_refused(capsys, project_dir, ["render", "p"], "profiles/p.yaml", why)


def test_channel_urls_are_accepted(capsys, project_dir: Path) -> None:
    write_profile(
        project_dir, "p", 'python: "3.11"\nchannels: [conda-forge, "file:///srv/channel"]\n'
    )
    result = run_cli(capsys, "render", "p", "--stdout", "-f", "environment.yml")
    assert result.code == 0, result.err
    assert "  - file:///srv/channel\n" in result.out


# --- messages a newcomer meets (issue 11) -------------------------------------------------


def test_cudatoolkit_with_pip_torch_says_the_wheels_bundle_cuda(capsys, project_dir: Path) -> None:
    """The fix a pip-source user needs first is "remove it"; source: conda comes second."""
    write_profile(project_dir, "p", 'python: "3.11"\naccelerator: cuda\nconda: ["cudatoolkit"]\n')
    message = assert_refused(capsys, project_dir, ["render", "p"], "Fix: remove it")
    assert message.index("wheels bundle the CUDA") < message.index("source: conda")


def test_cudatoolkit_with_conda_torch_points_at_cuda_version(capsys, project_dir: Path) -> None:
    write_profile(
        project_dir,
        "p",
        'python: "3.11"\naccelerator: cuda\nsource: conda\nconda: ["cudatoolkit"]\n',
    )
    message = assert_refused(capsys, project_dir, ["render", "p"], "cuda-version")
    assert "wheels bundle" not in message


@pytest.mark.parametrize(
    ("version", "nearest"),
    [("9.9", "(nearest: 2.15.0)"), ("1.0", "(nearest: 1.13.0)"), ("2.6.7", "(nearest: 2.6.0)")],
)
def test_unknown_torch_version_suggests_the_nearest(
    capsys, project_dir: Path, version: str, nearest: str
) -> None:
    """Beyond the catalog the nearest release is the newest, not three of some other minor."""
    from envgen.catalog import load_catalog

    newest = load_catalog().releases[-1].torch
    nearest = nearest.replace("2.15.0", newest)
    write_profile(project_dir, "p", f'python: "3.11"\npytorch: "{version}"\n')
    assert_refused(capsys, project_dir, ["render", "p"], nearest)


def test_gpu_accelerator_suggests_cuda(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'python: "3.11"\naccelerator: gpu\n')
    message = assert_refused(capsys, project_dir, ["render", "p"], "did you mean 'cuda'?")
    assert "xpu'?" not in message


def test_question_is_not_followed_by_a_stray_period(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", 'pyhton: "3.11"\n')
    message = assert_refused(capsys, project_dir, ["render", "p"], "did you mean 'python'? Fix:")
    assert "?." not in message


def test_python_31_asks_whether_310_was_meant(capsys, project_dir: Path) -> None:
    write_profile(project_dir, "p", "python: 3.1\n")
    assert_refused(
        capsys, project_dir, ["render", "p"], "key 'python'", 'did you mean "3.10"?', "quote it"
    )


@pytest.mark.parametrize("body", ["", "# only a comment\n", "\n\n"])
def test_empty_profile_file_is_called_empty(capsys, project_dir: Path, body: str) -> None:
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "p.yaml").write_text(body)
    assert_refused(capsys, project_dir, ["render", "p"], "profiles/p.yaml", "file is empty")


@pytest.mark.parametrize(
    ("profile", "key", "fix"),
    [
        # no wheels for the Python: each kind of misfit has its own fix
        ('python: "3.7"\npytorch: "2.4.1"\n', "pytorch", "change 'python' or 'pytorch'"),
        (
            'python: "3.11"\npytorch: "2.4.1"\nplatforms: [osx-64]\n',
            "pytorch",
            "drop the platforms that have no wheels",
        ),
        (
            'python: "3.11"\naccelerator: cuda\ncuda: "12.9"\npytorch: "2.4.1"\n',
            "pytorch",
            "change 'pytorch' or the accelerator version to a published pair",
        ),
    ],
)
def test_why_no_release_fits_picks_its_fix_by_kind(
    project_dir: Path, capsys: pytest.CaptureFixture[str], profile: str, key: str, fix: str
) -> None:
    """The fix follows from what did not fit (the build, the Python, the platforms), a kind
    the check returns with its message: never from searching the message's own words."""
    write_profile(project_dir, "p", profile)
    result = run_cli(capsys, "show", "p", "--json")
    error = json.loads(result.out)["error"]
    assert (error["key"], error["type"]) == (key, "ProfileError")
    assert error["fix"].startswith(fix), error
