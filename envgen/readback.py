"""Reading a rendered file back as its consumer would, right after rendering.

One function per parser that ``formats`` names; each returns why the text cannot be read (one
line, never the text itself), or None. Imported only when a file is rendered.
"""

import json
import re


def yaml(text: str) -> str | None:
    import yaml as pyyaml

    try:  # libyaml's loader when PyYAML has it: the same verdict, faster
        pyyaml.load(text, Loader=getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader))  # noqa: S506
    except pyyaml.YAMLError as exc:
        return str(exc).splitlines()[0]
    return None


def toml(text: str) -> str | None:
    from .config import _toml_loads

    try:
        _toml_loads(text)
    except ValueError as exc:  # TOMLDecodeError
        return str(exc).splitlines()[0]
    return None


def jsonc(text: str) -> str | None:
    """JSON with comments, as devcontainer.json and VS Code read it: ``//`` and ``/* */``
    comments and trailing commas are allowed, everything else is JSON."""
    try:
        json.loads(_strip_jsonc(text))
    except ValueError as exc:
        return str(exc).splitlines()[0]
    return None


def _strip_jsonc(text: str) -> str:
    """``text`` with its comments blanked and its trailing commas removed, positions kept (an
    error's line and column still point into the rendered file)."""
    out: list[str] = []
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = size if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = size if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif char == "," and re.match(r"\s*[\]}]", _rest(text, i + 1)):
            out.append(" ")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _rest(text: str, start: int) -> str:
    """What follows ``start`` with comments skipped (for a trailing comma before them)."""
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", text[start : start + 4096], flags=re.S)


# Every instruction the Dockerfile reference defines (MAINTAINER is deprecated, still read).
_INSTRUCTIONS = frozenset(
    (
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    )
)
_HEREDOC = r"<<(-?)[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?"  # compiled on first use


def dockerfile(text: str) -> str | None:
    """Each logical line (backslash continuations joined, heredocs skipped) starts with an
    instruction, and there is a FROM; what BuildKit would refuse before running anything."""
    lines = text.splitlines()
    escape = "\\"
    seen_from = False
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        stripped = line.strip()
        directive = re.fullmatch(r"#\s*escape\s*=\s*(\S)\s*", stripped)
        if directive and not seen_from:
            escape = directive.group(1)
            continue
        if not stripped or stripped.startswith("#"):
            continue
        start = number
        logical = stripped
        while logical.endswith(escape) and number < len(lines):
            following = lines[number].strip()
            number += 1
            if following.startswith("#"):
                continue  # a comment inside a continued instruction
            logical = logical[: -len(escape)] + " " + following
        word = logical.split(None, 1)[0].upper()
        if word not in _INSTRUCTIONS:
            return f"line {start} does not start with an instruction"
        seen_from = seen_from or word == "FROM"
        for dash, end in re.findall(_HEREDOC, logical if word in ("RUN", "COPY", "ADD") else ""):
            while number < len(lines):
                body = lines[number]
                number += 1
                if (body.lstrip("\t") if dash else body) == end:
                    break
            else:
                return f"the heredoc from line {start} is not closed"
    if not seen_from:
        return "it has no FROM instruction"
    return None
