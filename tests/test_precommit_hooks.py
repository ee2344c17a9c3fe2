"""The repository's .pre-commit-hooks.yaml, run for real by pre-commit (from PyPI).

pre-commit installs envgen from a snapshot of this repository into its own hook environment,
as it does for a user (virtualenv, then ``pip install`` of the snapshot, building envgen's wheel
with hatchling in an isolated build environment), with pip pointed at a wheelhouse repacked from
the test environment's own distributions (``tests/fixtures/wheelhouse.py``): no index, no
network, nothing of this machine's pip configuration, and a third of the time. It then runs the
hooks in a temporary git repository that commits rendered files: first through ``pre-commit
try-repo``, then through docs/team.md's copy-paste ``.pre-commit-config.yaml`` (try-repo
installs afresh on every call; a config is installed once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

PROFILE = 'extends: cpu\npython: "3.11"\npip: [rich]\n'


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def hooks_repo(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A one-commit copy of this repository (tracked and new files), and pre-commit's env.

    A clean commit keeps one revision for every try-repo call, so the hook environment is
    installed once; everything pre-commit and pip write goes under the temporary directory.
    """
    base = tmp_path_factory.mktemp("precommit")
    repo = base / "envgen"
    listed = _git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "snapshot")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_"))},
        "PRE_COMMIT_HOME": str(base / "pre-commit-home"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_CACHE_DIR": str(base / "pip-cache"),
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",  # virtualenv's background seed-wheel download
        "XDG_CACHE_HOME": str(base / "xdg-cache"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env.pop("ENVGEN_DEBUG", None)
    yield repo, env


def _pre_commit(
    hooks: tuple[Path, dict[str, str]], project: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    _, env = hooks
    command = [sys.executable, "-m", "pre_commit", *args, "--all-files"]
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=900
    )


def _config(repo: Path, rev: str) -> str:
    """docs/team.md's .pre-commit-config.yaml, pointed at the snapshot instead of GitHub."""
    page = (REPO_ROOT / "docs" / "team.md").read_text()
    start = page.index("# .pre-commit-config.yaml")
    block = page[start : page.index("```", start)]
    config = yaml.safe_load(block)
    (entry,) = config["repos"]
    assert {h["id"] for h in entry["hooks"]} == {"envgen-check", "envgen-render"}
    entry.update(repo=str(repo), rev=rev)
    return yaml.safe_dump(config)


def _envgen(project: Path, *args: str) -> None:
    env = {**os.environ, "ENVGEN_NO_CACHE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "envgen", *args], cwd=project, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr


def test_the_hooks_file_declares_check_and_render() -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"envgen-check", "envgen-render"}
    assert by_id["envgen-check"]["entry"] == "envgen check"
    assert "--force" not in by_id["envgen-render"]["entry"]
    assert all(h["language"] == "python" and h["pass_filenames"] is False for h in hooks)


def test_check_hook_passes_then_fails_after_a_hand_edit_and_render_hook_repairs_staleness(
    hooks_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project = tmp_path / "team"
    (project / "profiles").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "team"\nversion = "0"\n')
    (project / "profiles" / "train.yaml").write_text(PROFILE)
    repo = hooks_repo[0]
    rev = _git(repo, "rev-parse", "HEAD").strip()
    (project / ".pre-commit-config.yaml").write_text(_config(repo, rev))
    _envgen(project, "render", "train")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "rendered")
    requirements = project / "envs" / "train" / "requirements.txt"

    tried = _pre_commit(hooks_repo, project, "try-repo", str(repo), "envgen-check")
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert "envgen check" in tried.stdout and "Passed" in tried.stdout

    passed = _pre_commit(hooks_repo, project, "run")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "envgen check" in passed.stdout and "envgen render" in passed.stdout

    # a hand edit: check fails, and render refuses to touch it without --force
    edited = requirements.read_text().replace("rich", "rich==13.0")
    requirements.write_text(edited)
    failed = _pre_commit(hooks_repo, project, "run", "envgen-check")
    assert failed.returncode == 1
    assert "edited by hand" in failed.stdout
    refused = _pre_commit(hooks_repo, project, "run", "envgen-render")
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stdout
    assert requirements.read_text() == edited
    _git(project, "checkout", "--", ".")

    # a stale file (the profile changed): check fails, the render hook rewrites it
    (project / "profiles" / "train.yaml").write_text(PROFILE.replace("[rich]", "[rich, tqdm]"))
    assert _pre_commit(hooks_repo, project, "run", "envgen-check").returncode == 1
    rewritten = _pre_commit(hooks_repo, project, "run", "envgen-render")
    assert rewritten.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in rewritten.stdout
    assert "tqdm" in requirements.read_text()
    again = _pre_commit(hooks_repo, project, "run", "envgen-check")
    assert again.returncode == 0, again.stdout
