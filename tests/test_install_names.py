"""Every install command envgen writes or documents installs envgen by its own name.

"envgen" (and "envgen-cli") on the public index are unrelated projects, so ``pip install
envgen`` installs somebody else's code. envgen is published as torch-envgen; each generated file
and doc that installs it names ``torch-envgen==VERSION`` (the envgen that wrote it), or a path or
URL the user sets. This scans the rendered output of every built-in template for every built-in
profile, the CI matrix envgen prints, and the docs, for pip / uv / pipx install commands.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

import envgen
from envgen.errors import EnvgenError
from envgen.paths import builtin_profiles, builtin_templates
from envgen.project import Project
from tests.conftest import REPO_ROOT
from tests.helpers import run_cli

OWN = f"{envgen.DISTRIBUTION}=={envgen.__version__}"
# Docs may show what a plain install of PyTorch's own packages does; they are not envgen.
DOC_NAMES = {"torch", "torchvision", "torchaudio"}
# A line that warns against the wrong name says so in one of these words.
WARNING = re.compile(r"unrelated|something else|someone else|another project", re.IGNORECASE)
_INSTALL = re.compile(
    r"(?:^|(?<=[\s`'\"(;&|{-]))"
    r"(?:(?:\S*/)?(?:python[\d.]*|py)(?:\s+-[\d.]+)?\s+-m\s+pip|(?:\S*/)?pip[\d.]*|uv\s+pip|"
    r"uv\s+tool|pipx|uv)\s+install\s+(?P<args>.*)"
)
_END = re.compile(r"`|&&|\|\||;|\s#|\s\||\}")  # where the command's arguments end
# Options followed by a value that is not a requirement.
_VALUED = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "--python", "-p", "--prefix", "--target", "-t",
    "--index", "--default-index", "--cache-dir", "--cert", "--with", "--from", "--root",
    "--index-strategy", "--python-platform", "--python-version", "--progress-bar",
    "--platform", "--only-binary", "--no-binary", "--upgrade-strategy", "--report", "-C",
    "--config-settings",
}  # fmt: skip


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with shell/Dockerfile backslash continuations joined."""
    yield from re.sub(r"\\\n\s*", " ", text).splitlines()


def _with_arg_defaults(text: str) -> str:
    """A Dockerfile's ``$NAME`` replaced by its ``ARG NAME=default``: what a plain build runs."""
    for name, value in re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE):
        text = re.sub(rf'"?\$(?:\{{{name}\}}|{name}\b)"?', lambda _m, v=value: v, text)
    return text


def _is_location(token: str) -> bool:
    """A path, URL or placeholder: whatever the user points it at, not a name on an index."""
    return (
        token.startswith((".", "/", "~", "$", "<", "…", "git+"))
        or "://" in token
        or "/" in token
        or token.endswith((".whl", ".tar.gz", ".zip"))
    )


def _file_project(token: str) -> str | None:
    """The distribution a wheel or sdist file name says it is."""
    name = token.rsplit("/", 1)[-1]
    try:
        if name.endswith(".whl"):
            return parse_wheel_filename(name)[0]
        if name.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(name)[0]
    except ValueError:
        return None
    return None


def install_problems(text: str, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """What in ``text`` installs a name other than envgen's own (``allowed``: other names a
    doc may show), one line each."""
    problems = []
    for line in _logical_lines(_with_arg_defaults(text)):
        if WARNING.search(line):
            continue
        for found in _INSTALL.finditer(line):
            args = _END.split(found["args"], maxsplit=1)[0]
            try:
                tokens = shlex.split(args)
            except ValueError:
                tokens = args.split()
            skip = False
            for token in tokens:
                if skip or token.startswith("-"):
                    skip = not skip and token in _VALUED
                    continue
                project = _file_project(token)
                if project is not None:
                    if "envgen" in project and project != canonicalize_name(envgen.DISTRIBUTION):
                        problems.append(f"{token!r} is a file of another project ({line.strip()})")
                    continue
                if _is_location(token):
                    continue
                try:
                    req = Requirement(token)
                except InvalidRequirement:
                    continue  # prose after the command (e.g. "installs …")
                name = canonicalize_name(req.name)
                if str(req) == OWN or (name in allowed and "envgen" not in name):
                    continue
                problems.append(f"installs {token!r}, not {OWN} ({line.strip()})")
    return problems


@pytest.mark.parametrize(
    "text",
    [
        "python -m pip install envgen",
        "- run: python3 -m pip install envgen-cli",
        "before_script: ['${ENVGEN_INSTALL:-python3 -m pip install envgen}']",
        'ARG ENVGEN_SPEC=envgen\nRUN /tmp/tool/bin/python -m pip install \\\n    "$ENVGEN_SPEC"',
        "uv tool install envgen-0.1.0-py3-none-any.whl   # a built wheel",
        "pipx install torch-envgen",  # not pinned: any later release could answer
        f"uv pip install --python /x/bin/python {OWN} torch",  # torch: not in a generated file
        "`pip install --upgrade envgen`",
    ],
)
def test_the_scan_catches_an_install_of_another_name(text: str) -> None:
    assert install_problems(text), text


@pytest.mark.parametrize(
    "text",
    [
        f"python -m pip install {OWN}",
        f'eval "${{ENVGEN_INSTALL:-python -m pip install {OWN}}}"',
        f'ARG ENVGEN_SPEC={OWN}\nRUN python -m pip install -i "$PYPI_INDEX" "$ENVGEN_SPEC"',
        "python -m pip install --require-hashes -r requirements-linux-64.lock.txt",
        "uv tool install torch_envgen-0.1.0-py3-none-any.whl",
        "python3 -m venv .venv && .venv/bin/python -m pip install -e '.[dev]'",
        "uv tool install git+https://example.org/envgen.git",
        "The name `envgen` belongs to an unrelated project: `pip install envgen` is wrong.",
    ],
)
def test_the_scan_accepts_envgen_by_its_own_name_or_a_location(text: str) -> None:
    assert install_problems(text) == []


def _rendered_texts(project: Project) -> Iterator[tuple[str, str]]:
    outputs = sorted(p.name.removesuffix(".j2") for p in builtin_templates().glob("*.j2"))
    for name in sorted(p.stem for p in builtin_profiles().glob("*.yaml")):
        if name == "base":
            continue
        resolved = project.resolve(name)
        for output in outputs:
            try:
                (rendered,) = project.render(resolved, [output])
            except EnvgenError:
                continue  # a file this profile cannot have (a Dockerfile for mps)
            yield f"{name}/{output}", rendered.content


def test_no_generated_file_installs_another_name(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Project.open()
    texts = dict(_rendered_texts(project))
    assert {"cpu/Dockerfile", "gpu-cu128/Dockerfile", "cpu/requirements.txt"} <= set(texts)
    for fmt in ("gitlab", "github"):
        result = run_cli(capsys, "matrix", "--all", "--format", fmt)
        assert result.code == 0, result.err
        texts[f"matrix --format {fmt}"] = result.out
    assert OWN in texts["cpu/Dockerfile"] and OWN in texts["matrix --format gitlab"]
    problems = [f"{where}: {p}" for where, text in texts.items() for p in install_problems(text)]
    assert problems == []


def _docs() -> list[Path]:
    docs = REPO_ROOT / "docs"
    found = [REPO_ROOT / "README.md", REPO_ROOT / ".pre-commit-hooks.yaml"]
    for pattern in ("*.md", "*.yml", "*.yaml"):
        found += sorted(docs.rglob(pattern))
    return [p for p in found if p.is_file()]


def test_no_doc_installs_another_name() -> None:
    docs = _docs()
    assert REPO_ROOT / "docs" / "ci" / "github-actions.yml" in docs
    problems = [
        f"{path.relative_to(REPO_ROOT)}: {problem}"
        for path in docs
        for problem in install_problems(path.read_text(encoding="utf-8"), DOC_NAMES)
    ]
    assert problems == []
    # the CI examples install envgen, pinned: the scan is not vacuous
    for example in ("github-actions.yml", "gitlab-ci.yml"):
        assert f"pip install {OWN}" in (REPO_ROOT / "docs" / "ci" / example).read_text()
