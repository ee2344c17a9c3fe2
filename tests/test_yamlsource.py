"""The YAML loader composes with libyaml when it can and in Python when it must: both ways give
the same values, key lines and number texts, and every refusal keeps its words and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envgen import yamlsource
from envgen.errors import EnvgenError, ProfileError
from envgen.paths import CATALOG_FILE, builtin_profiles
from envgen.yamlsource import MAX_ALIASES, load_text, load_yaml

pytestmark = pytest.mark.skipif(
    not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml"
)

ANCHORS = """\
defaults: &defaults
  python: 3.10
  channels: [conda-forge, &ch nvidia]
profile:
  <<: *defaults
  description: "two\\tthings"
  extra: [*ch, *ch]
  when: 2024-01-02
  size: 0x1f
  flag: yes
  nothing: ~
"""


def _documents() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(builtin_profiles().glob("*.yaml"))]
    texts.append(CATALOG_FILE.read_text(encoding="utf-8"))
    return [*texts, ANCHORS, "", "# only a comment\n", "[1, 2]\n", "just text\n"]


def _python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(yaml, "CSafeLoader")


def _load(path: Path) -> tuple[object, dict[str, int], dict[str, str]]:
    document = load_yaml(path)
    return document.data, dict(document.lines), dict(document.raw)


@pytest.mark.parametrize("index", range(len(_documents())))
def test_libyaml_and_python_give_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(_documents()[index], encoding="utf-8")
    fast = _load(path)
    _python_only(monkeypatch)
    assert _load(path) == fast


def test_the_fast_way_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without this the equality above could compare the Python composer with itself.
    def refuse(*args: object) -> None:
        raise AssertionError("composed in Python")

    monkeypatch.setattr(yamlsource._BoundedLoader, "get_single_node", refuse)
    assert load_text(ANCHORS, "doc.yaml")["profile"]["extra"] == ["nvidia", "nvidia"]


@pytest.mark.parametrize("count", [0, 1, 7, MAX_ALIASES, MAX_ALIASES + 1])
def test_aliases_are_counted_as_the_python_composer_counts_them(count: int) -> None:
    text = "x: &x [a]\nr: &r {k: v}\n" + "".join(
        f"y{i}: {'*x' if i % 2 else '*r'}\n" for i in range(count)
    )
    node = yamlsource._compose_with(yaml.CSafeLoader, text)
    assert node is not None
    assert yamlsource._aliases(node) == count


def test_a_self_referring_anchor_counts_once() -> None:
    node = yamlsource._compose_with(yaml.CSafeLoader, "&a [x, *a]\n")
    assert node is not None
    assert yamlsource._aliases(node) == 1


BAD = {
    "too many aliases": "x: &x a\n" + "".join(f"y{i}: *x\n" for i in range(150)),
    "syntax": "python: '3.11'\nchannels: [a, b\naccelerator: cpu\n",
    "mapping value": "python: 3.11: x\n",
    "tab": "python:\n\t- x\n",
    "control character": "python: '3.11'\ndescription: a\x07b\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "undefined alias": "a: *nowhere\n",
    "alias before its anchor": "a: *x\nb: &x 1\n",
}


@pytest.mark.parametrize("name", BAD)
def test_refusals_keep_the_python_composers_words_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD[name], encoding="utf-8")
    with pytest.raises(ProfileError) as fast:
        load_yaml(path)
    with pytest.raises(EnvgenError) as fast_text:
        load_text(BAD[name], "bad.yaml")
    _python_only(monkeypatch)
    with pytest.raises(ProfileError) as slow:
        load_yaml(path)
    with pytest.raises(EnvgenError) as slow_text:
        load_text(BAD[name], "bad.yaml")
    assert fast.value.render() == slow.value.render()
    assert fast_text.value.render() == slow_text.value.render()
    if name == "too many aliases":
        assert f"more than {MAX_ALIASES} aliases" in fast.value.render()
