"""Property: random and mutated profiles (and file names) end in valid output or in exit 2 with a
one-paragraph message, never a traceback, an exit 123, a hang or a half-written file.

``ENVGEN_FUZZ_EXAMPLES`` raises the example count for the dedicated run (see docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from envgen.cli import main
from tests.adversarial.conftest import count
from tests.adversarial.injection import FORMATS, SEPARATORS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = count("ENVGEN_FUZZ_EXAMPLES", 60)
DOCKERFILE_INSTRUCTIONS = {"ARG", "FROM", "ENV", "RUN", "COPY", "WORKDIR", "CMD", "COMMENT"}
TRICKY = [
    "\n",
    "\u2028",
    "\x85",
    "\v",
    "#",
    " --trusted-host x",
    "'",
    '"',
    "${X}",
    "../",
    "*a",
    " @ http://[::1/x",
]

text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["3.11", "3.12", "cpu", "cuda", "2.4.1", "conda-forge", "numpy", "pip"]),
    st.builds(
        lambda a, b, c: a + b + c, st.text(max_size=5), st.sampled_from(TRICKY), st.text(max_size=5)
    ),
)
scalar = st.one_of(text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
KEYS = [
    "description",
    "extends",
    "name",
    "python",
    "accelerator",
    "cuda",
    "rocm",
    "pytorch",
    "source",
    "channels",
    "conda",
    "pip",
    "platforms",
    "variables",
    "outputs",
]
GOOD = {
    "python": st.sampled_from(["3.10", "3.11", "3.12", "3.11.7"]),
    "accelerator": st.sampled_from(["cpu", "cuda", "rocm", "xpu", "mps"]),
    "pytorch": st.sampled_from(["2.4.1", "2.4", ">=2.3,<2.6", "2.5.1"]),
    "pip": st.lists(
        st.sampled_from(["requests", "tqdm>=4", 'rich; python_version >= "3.8"']),
        max_size=2,
        unique=True,
    ),
    "conda": st.lists(
        st.sampled_from(["numpy", "scipy>=1.10", "pandas=2.2"]), max_size=2, unique=True
    ),
    "variables": st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True), st.text(max_size=8), max_size=2
    ),
    "platforms": st.lists(
        st.sampled_from(["linux-64", "osx-arm64", "win-64"]), min_size=1, max_size=2, unique=True
    ),
}
random_profiles = st.fixed_dictionaries(
    {}, optional={k: (st.one_of(GOOD[k], value) if k in GOOD else value) for k in KEYS}
)
# Mostly valid profiles, so that the "valid output" side of the property is exercised too.
likely_profiles = st.fixed_dictionaries(
    {
        "python": GOOD["python"],
        "accelerator": st.just("cpu"),
        "pytorch": st.sampled_from(["2.4.1", "2.5.1"]),
        "platforms": GOOD["platforms"],
    },
    optional={
        "pip": GOOD["pip"],
        "conda": GOOD["conda"],
        "variables": GOOD["variables"],
        "description": st.text(max_size=30),
        "source": st.sampled_from(["pip", "conda"]),
        "channels": st.lists(st.sampled_from(["conda-forge", "https://c.example/ch"]), max_size=1),
    },
)
profiles = st.one_of(likely_profiles, random_profiles)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A profile as YAML, sometimes mutated at the character level afterwards."""
    body = yaml.safe_dump(draw(profiles), allow_unicode=True)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(body)))
        body = (
            body[:cut]
            + draw(st.sampled_from([*TRICKY, "!tag ", "<<: *a\n", "&a ", ":"]))
            + body[cut:]
        )
    return body


names = st.one_of(
    st.sampled_from(["p", "gpu", "my-env"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["p", "x"]), st.text(max_size=6)),
    st.sampled_from([f"p{s}--trusted-host=evil" for s in SEPARATORS.values()]),
)


def _run(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


def _check_output(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # No hidden line breaks: every consumer splits this file into the same lines.
    assert text.splitlines() == text.split("\n")[:-1], path
    if path.name.endswith(".yml"):
        yaml.safe_load(text)
    elif path.name.endswith(".toml"):
        tomllib.loads(text)
    elif path.name.endswith(".json"):  # devcontainer.json: JSON after its // comment lines
        json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))
    elif path.name == "Dockerfile":
        parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
        assert {i["instruction"] for i in parser.structure} <= DOCKERFILE_INSTRUCTIONS, text
    else:
        for line in text.splitlines():
            option = line.split()[0] if line.strip() else ""
            assert not option.startswith("-") or option in ("--index-url", "--extra-index-url")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=documents(), name=names, fmt=st.sampled_from(FORMATS))
def test_any_profile_renders_or_is_refused_cleanly(document: str, name: str, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text('[project]\nname = "fuzz"\nversion = "0"\n')
        (root / "profiles").mkdir()
        try:
            (root / "profiles" / f"{name}.yaml").write_text(document, encoding="utf-8")
        except (OSError, ValueError):
            return  # a name the file system cannot hold (NUL, '/', too long)
        code, _out, err = _run(root, "render", name, "-f", fmt)
        assert code in (0, 2), err
        event("rendered" if code == 0 else "refused (exit 2)")
        if code == 2:
            message = err.strip()
            assert message.startswith("error: ") and "\n" not in message, err
            assert "Traceback" not in err and "bug in envgen" not in err
            assert not (root / "envs").exists() or not any((root / "envs").rglob("*.*"))
        else:
            written = list((root / "envs").rglob("*"))
            for path in written:
                if path.is_file():
                    assert not path.name.endswith(".tmp")
                    _check_output(path)
