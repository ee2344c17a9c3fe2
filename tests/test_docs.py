"""The README and the docs/ site against what envgen really does, so that neither can drift.

The README's example shows what envgen renders (byte for byte), its Quick start names the files
render writes, the profile-key reference in docs/profiles.md is generated from ``profile.KEYS``,
the settings page names every ``[tool.envgen]`` key, and the README's links reach real pages and
headings. ``pytest tests/test_docs.py --update-goldens`` rewrites the generated parts (the
README's example output, the key table); review the diff. The site itself is built by .ci/run
(``mkdocs build --strict``), apart from this run.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from envgen import config
from envgen.profile import KEYS
from tests.conftest import REPO_ROOT
from tests.helpers import run_cli

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PROFILES_PAGE = DOCS / "profiles.md"
KEYS_START = "<!-- profile-keys: generated from envgen/profile.py KEYS; "
KEYS_END = "<!-- end of profile-keys -->"
README_BUDGET = 10 * 1024  # the README is a front page; the rest lives in docs/
# How a child's value combines with its parents' (profile.Key.merge), in the reference's words.
MERGE_WORDS = {
    "replace": "replaced",
    "extend": "extended (same package: the child's entry)",
    "update": "merged key by key",
    "own": "not inherited",
    "add": "'+NAME' items added to the parent's, a plain list replaced",
}


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def fenced_block(text: str, first_line: str) -> tuple[int, int]:
    """The span of the body of the fenced block whose first line is ``first_line``."""
    match = re.search(r"^```[^\n]*\n(" + re.escape(first_line) + r"\n.*?)^```$", text, re.M | re.S)
    assert match, f"no fenced block starting with {first_line!r}"
    return match.span(1)


def block_after(text: str, marker: str) -> tuple[int, int]:
    """The span of the body of the first fenced block after ``marker``."""
    start = text.index(marker)
    match = re.compile(r"^```[^\n]*\n(.*?)^```$", re.M | re.S).search(text, start)
    assert match, f"no fenced block after {marker!r}"
    return match.span(1)


def key_table() -> str:
    """The profile-key reference as docs/profiles.md shows it, from KEYS alone."""
    rows = ["| key | meaning | with `extends` |", "| --- | --- | --- |"]
    for name, key in KEYS.items():
        doc = " ".join(key.doc.split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {doc} | {MERGE_WORDS[key.merge]} |")
    return "\n".join(rows) + "\n"


# -- the README's example is real ----------------------------------------------------------


def test_readme_example_is_what_envgen_renders(
    capsys: pytest.CaptureFixture[str], project_dir: Path, update_goldens: bool
) -> None:
    readme = README.read_text(encoding="utf-8")
    start, end = fenced_block(readme, "# profiles/train.yaml")
    (project_dir / "profiles").mkdir()
    (project_dir / "profiles" / "train.yaml").write_text(readme[start:end], encoding="utf-8")

    result = run_cli(capsys, "render", "train")
    assert result.code == 0, result.err
    console = "$ envgen render train\n" + result.out
    rendered = (project_dir / "envs" / "train" / "requirements.txt").read_text(encoding="utf-8")

    shown = [
        (fenced_block(readme, "$ envgen render train"), console),
        (block_after(readme, "This is `envs/train/requirements.txt`"), rendered),
    ]
    if update_goldens:
        for (s, e), real in sorted(shown, reverse=True):
            readme = readme[:s] + real + readme[e:]
        README.write_text(readme, encoding="utf-8")
        return
    for (s, e), real in shown:
        assert readme[s:e] == real, "README example differs: run 'pytest --update-goldens'"


def test_readme_quick_start_names_the_files_render_writes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    readme = README.read_text(encoding="utf-8")
    match = re.search(r"# 1\. .*\(writes envs/gpu-cu118/\{([^}]*)\}\)\n(.*)\n", readme)
    assert match, "the Quick start's first command lost its comment"
    named = set(match.group(1).split(","))
    assert "envgen render gpu-cu118" in match.group(2)
    result = run_cli(capsys, "render", "gpu-cu118", "-o", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert named == {p.name for p in (tmp_path / "out").iterdir()}


def test_readme_stays_a_front_page() -> None:
    size = len(README.read_bytes())
    assert size <= README_BUDGET, f"README.md is {size} bytes: move detail into docs/"


# -- the reference follows the code ----------------------------------------------------------


def test_profile_key_reference_is_generated_from_keys(update_goldens: bool) -> None:
    page = PROFILES_PAGE.read_text(encoding="utf-8")
    start = page.index("\n", page.index(KEYS_START)) + 1
    end = page.index(KEYS_END)
    if update_goldens:
        PROFILES_PAGE.write_text(page[:start] + key_table() + page[end:], encoding="utf-8")
        return
    assert page[start:end] == key_table(), (
        "docs/profiles.md's key table differs from envgen/profile.py KEYS: "
        "run 'pytest tests/test_docs.py --update-goldens' and review the diff"
    )


def test_a_new_key_without_documentation_fails_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard above is not vacuous: a key added to KEYS changes the expected table."""
    page = PROFILES_PAGE.read_text(encoding="utf-8")
    monkeypatch.setitem(KEYS, "newkey", KEYS["description"]._replace(doc="Something new."))
    assert key_table() not in page


def test_settings_page_names_every_setting() -> None:
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", page, re.M))
    assert documented == set(config._KNOWN)


# -- links -------------------------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_slug_matches_mkdocs_for_code_and_punctuation() -> None:
    assert slug("uv: the torch part of `pyproject.toml`") == "uv-the-torch-part-of-pyprojecttoml"
    assert slug("Create, verify and run") == "create-verify-and-run"


def test_readme_links_reach_pages_and_headings() -> None:
    readme = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 10, local
    for link in local:
        target, _, anchor = link.partition("#")
        path = REPO_ROOT / target
        assert path.is_file(), f"README links to missing {target}"
        if anchor:
            assert anchor in anchors(path), f"README links to missing heading {link}"
