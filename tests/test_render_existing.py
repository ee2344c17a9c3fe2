"""``envgen render --existing``: re-render the profiles a project has already rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli, write_profile


def test_render_existing_re_renders_only_profiles_already_rendered(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the envgen-render pre-commit hook runs (the hook itself: test_precommit_hooks)."""
    assert run_cli(capsys, "render", "--existing").out.startswith("nothing to render")
    write_profile(project_dir, "mine", "extends: cpu\npip: [rich]\n")
    assert run_cli(capsys, "render", "mine").code == 0
    write_profile(project_dir, "mine", "extends: cpu\npip: [rich, tqdm]\n")
    result = run_cli(capsys, "render", "--existing")
    assert result.code == 0, result.err
    assert "updated   envs/mine/requirements.txt" in result.out
    assert sorted(p.name for p in (project_dir / "envs").iterdir()) == ["mine"]
    assert "tqdm" in (project_dir / "envs" / "mine" / "requirements.txt").read_text()
    assert run_cli(capsys, "render", "--existing", "cpu").code == 2
