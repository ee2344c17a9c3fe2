"""Profile validation: every key of one profile file checked and its value normalised.

The first step of the pipeline's first stage: a file's YAML (``yamlsource``) becomes a
``ProfileLayer`` here, or a one-paragraph error naming the file, the line, the key and a fix.
Which keys exist, and how layers merge, is ``profile``'s table.
"""

# Real annotations and NamedTuples, not dataclasses: start-up time (docs/CONTRIBUTING.md).
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .errors import ProfileError
from .profile import (
    CHANNEL_PATTERN,
    KEYS,
    OUTPUT_PATTERN,
    PROFILE_NAME,
    SOURCES,
    TORCH_PACKAGES,
    Origin,
    ProfileLayer,
)
from .specs import (
    check_conda_spec,
    check_pip_requirement,
    conda_spec_name,
    pip_requirement_name,
    pip_suggestion,
)
from .targets import ACCELERATORS, PLATFORMS, accelerator_words
from .textcheck import why_unsafe
from .yamlsource import YamlDocument


def validate_layer(name: str, origin: Origin, document: YamlDocument, shown: str) -> ProfileLayer:
    """Check every key of one profile file and normalise its values (strings, lists)."""
    if not PROFILE_NAME.fullmatch(name):
        raise ProfileError(
            f"the profile name {name!r} (from the file name) may only hold letters, digits and "
            "'_', '.', '+', '-': it is written into generated files and commands",
            file=shown,
            fix="rename the file, e.g. to "
            + (re.sub(r"[^A-Za-z0-9_.+-]+", "-", name).strip("-.") or "my-profile")
            + ".yaml",
        )
    data = document.data
    if data is None:
        raise ProfileError(
            "the profile file is empty",
            file=shown,
            fix="add keys such as 'python: \"3.11\"' and 'accelerator: cpu' (or 'extends: base'), "
            "or delete the file",
        )
    if not isinstance(data, dict):
        raise ProfileError(
            "a profile must be a YAML mapping of keys to values",
            file=shown,
            line=1,
            fix="start the file with keys such as 'python: \"3.11\"' and 'accelerator: cpu'",
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in KEYS:
            import difflib  # only on the error/diff path: keeps start-up fast

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else ""
            raise ProfileError(
                f"unknown key{' — ' + hint if hint else ''}",
                file=shown,
                key=key,
                line=document.line_of(key),
                fix=(f"rename it to '{close[0]}'" if close else "remove it")
                + "; known keys: "
                + ", ".join(KEYS),
            )
        checker: Callable[[_Ctx, Any], Any] = _CHECKS.get(key, _check_string)
        values[key] = checker(_Ctx(document, shown, key), value)
    return ProfileLayer(
        name=name, origin=origin, path=document.path, values=values, document=document
    )


class _Ctx(NamedTuple):
    document: YamlDocument
    shown: str
    key: str

    def fail(self, message: str, fix: str, key: str | None = None) -> ProfileError:
        path = key or self.key
        return ProfileError(
            message, file=self.shown, key=path, line=self.document.line_of(path), fix=fix
        )

    def text(self, value: Any, key: str | None = None) -> str | None:
        """The value as the user typed it, when YAML read a number (3.10 → '3.10')."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int | float):
            return self.document.raw.get(key or self.key, str(value))
        return None


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", type(None): "empty"}.get(
        type(value), type(value).__name__
    )


def _check_string(ctx: _Ctx, value: Any) -> str:
    if not isinstance(value, str):
        raise ctx.fail(f"expected a string, found {_type_name(value)}", "write a quoted string")
    bad = why_unsafe(value)
    if bad:
        raise ctx.fail(f"the value cannot be used: {bad}", "write it on one line")
    return value


def _check_pattern(pattern: str, example: str) -> Callable[[_Ctx, Any], str]:
    # compiled on first use (re caches it), not at import: most profiles set few of these keys

    def check(ctx: _Ctx, value: Any) -> str:
        text = ctx.text(value)
        if text is None or why_unsafe(text) or not re.fullmatch(pattern, text.strip()):
            raise ctx.fail(
                f"'{value}' is not a valid {ctx.key} value",
                f"write it like {example} (quoted, so YAML keeps it a string)",
            )
        return text.strip()

    return check


def _check_enum(
    known: tuple[str, ...] | Mapping[str, object],
    meant: Callable[[], Mapping[str, str]] | None = None,
) -> Callable[[_Ctx, Any], str]:
    """One of ``known`` (a table is read when a value is checked, so a record added to it
    counts); ``meant`` says what people write for one of them."""

    def check(ctx: _Ctx, value: Any) -> str:
        choices = tuple(known)
        if not isinstance(value, str) or value not in choices:
            import difflib  # only on the error/diff path: keeps start-up fast

            guess = (meant() if meant else {}).get(str(value).strip().lower())
            close = [guess] if guess else difflib.get_close_matches(str(value), choices, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise ctx.fail(
                f"'{value}' is not one of {', '.join(choices)}{hint}",
                f"use one of {', '.join(choices)}",
            )
        return value

    return check


_check_python_text = _check_pattern(r"^3\.\d+(\.\d+)?$", '"3.11" or "3.11.7"')


def _check_python(ctx: _Ctx, value: Any) -> str:
    text = _check_python_text(ctx, value)
    if text == "3.1":  # what YAML makes of an unquoted 3.10 once the text is gone
        raise ctx.fail(
            'Python 3.1 is too old for any torch release — did you mean "3.10"?',
            'quote it: python: "3.10" (unquoted, YAML reads 3.10 as the number 3.1)',
        )
    return text


def _check_string_list(ctx: _Ctx, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ctx.fail(
            f"expected a list of strings, found {_type_name(value)}", "write a YAML list"
        )
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ctx.fail(
                f"item {index + 1} is {_type_name(item)}, not a string",
                "quote the item",
                key=f"{ctx.key}[{index}]",
            )
        bad = why_unsafe(item)
        if bad:  # said without the item: it may be a URL with a credential in it
            raise ctx.fail(
                f"item {index + 1} cannot be used: {bad}",
                "write each item on one line, without control characters",
                key=f"{ctx.key}[{index}]",
            )
        out.append(item.strip())
    return out


def _check_each(pattern: str, what: str) -> Callable[[_Ctx, Any], list[str]]:
    """A list whose every item must match ``pattern`` (it ends up in a file or a path)."""

    def check(ctx: _Ctx, value: Any) -> list[str]:
        items = _check_string_list(ctx, value)
        for index, item in enumerate(items):
            if not re.fullmatch(pattern, item):
                raise ctx.fail(
                    f"{item!r} is not {what}", f"write {what}", key=f"{ctx.key}[{index}]"
                )
        return items

    return check


def _check_channels(ctx: _Ctx, value: Any) -> list[str]:
    """Names, or URLs parsed and re-serialised; a credential is refused without echoing it."""
    from .mirrors import check_url

    items = _check_string_list(ctx, value)
    out = []
    for index, item in enumerate(items):
        key = f"{ctx.key}[{index}]"
        if "://" in item:
            url = check_url(item, key, file=ctx.shown)
            if not re.fullmatch(CHANNEL_PATTERN, url):
                raise ctx.fail("the channel URL is not usable", "write an http(s) or file URL", key)
            out.append(url)
        elif re.fullmatch(CHANNEL_PATTERN, item):
            out.append(item)
        else:
            raise ctx.fail(
                f"{item!r} is not a channel name (conda-forge) or a channel URL",
                "write a channel name like conda-forge, or its URL",
                key=key,
            )
    return out


def _check_pip_urls(ctx: _Ctx, items: list[str]) -> None:
    """A direct reference (``name @ https://…``) is refused, naming a credential first.

    envgen locks every pip package by name, version and hash from an index; a file at a URL
    has neither a version to pin nor an index to check its hash against, so uv's two answers
    for it never agree ("uv gave inconsistent results"). Said before anything is rendered,
    with what to do instead.
    """
    for index, item in enumerate(items):
        if "@" in item:
            # Only here: packaging's requirement parser costs more to import than most runs take.
            from packaging.requirements import InvalidRequirement, Requirement

            from .mirrors import check_credentials

            try:
                url = Requirement(item).url
            except InvalidRequirement:
                continue  # reported, with its reason, by the item's own check
            if not url:
                continue
            key = f"{ctx.key}[{index}]"
            check_credentials(url, key, file=ctx.shown)
            from .mirrors import check_dollars, redact

            if "$" in url:
                check_dollars(url, key, file=ctx.shown)

            raise ctx.fail(
                f"item {index + 1} is a direct reference to {redact(url)}: envgen cannot lock it "
                "(a file at a URL has no version to pin and no index to check its hash against)",
                "publish the package to an index (a [tool.envgen.mirrors] mirror of PyPI, or "
                "your own) and list it by name and version",
                key=key,
            )


def _check_extends(ctx: _Ctx, value: Any) -> str | list[str]:
    items = _check_string_list(ctx, value)
    return items[0] if isinstance(value, str) else items


def _check_package_list(
    check: Callable[[str], str | None], name_of: Callable[[str], str], kind: str, example: str
) -> Callable[[_Ctx, Any], list[str]]:
    def run(ctx: _Ctx, value: Any) -> list[str]:
        items = _check_string_list(ctx, value)
        if kind == "pip requirement":
            _check_pip_urls(ctx, items)
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            why = check(item)
            if why:
                meant = pip_suggestion(item) if kind == "pip requirement" else None
                raise ctx.fail(
                    f"{item!r} is not a valid {kind}: {why}",
                    f"write '{meant}'" if meant else f"write one package per item, like {example}",
                    key=f"{ctx.key}[{index}]",
                )
            pkg = name_of(item)
            if pkg in seen:
                raise ctx.fail(
                    f"'{pkg}' is listed twice (items {seen[pkg] + 1} and {index + 1})",
                    "keep one entry per package",
                    key=f"{ctx.key}[{index}]",
                )
            seen[pkg] = index
        return items

    return run


def _check_outputs(ctx: _Ctx, value: Any) -> list[str]:
    """Output names become file names next to each other: no paths, no hidden files. Either
    every item adds to the defaults ('+pixi.toml') or none does (the list replaces them)."""
    items = _check_each(OUTPUT_PATTERN, "a template name like requirements.txt (or +pixi.toml)")(
        ctx, value
    )
    added = [item for item in items if item.startswith("+")]
    if added and len(added) != len(items):
        plain = [item for item in items if not item.startswith("+")]
        raise ctx.fail(
            f"the list mixes additions ({', '.join(added)}) with plain names "
            f"({', '.join(plain)}): '+NAME' adds to the default outputs, a plain list replaces "
            "them",
            "write every item with '+' to add to the defaults (outputs: [+pixi.toml]), or none "
            "to list every output yourself",
        )
    return list(dict.fromkeys(items))


def _check_platforms(ctx: _Ctx, value: Any) -> list[str]:
    items = _check_string_list(ctx, value)
    enum = _check_enum(PLATFORMS)
    for index, item in enumerate(items):
        enum(_Ctx(ctx.document, ctx.shown, f"{ctx.key}[{index}]"), item)
    if not items:
        raise ctx.fail("the list is empty", f"name at least one of {', '.join(PLATFORMS)}")
    return list(dict.fromkeys(items))


def _check_variables(ctx: _Ctx, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ctx.fail(f"expected a mapping, found {_type_name(value)}", "write NAME: value pairs")
    out = {}
    for name, raw in value.items():
        key = f"{ctx.key}.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ctx.fail(
                f"{name!r} is not a valid environment variable name",
                "use letters, digits and '_' and start with a letter",
                key=key,
            )
        text = ctx.text(raw, key)
        if isinstance(raw, bool):
            text = "1" if raw else "0"
        if text is None:
            raise ctx.fail(
                f"expected a string, found {_type_name(raw)}", "quote the value", key=key
            )
        bad = why_unsafe(text)
        if bad:
            raise ctx.fail(f"the value cannot be used: {bad}", "put it on one line", key=key)
        out[name] = text
    return out


def _check_pytorch(ctx: _Ctx, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        text = ctx.text(value)
        if text is None:
            raise ctx.fail(
                f"expected a version string or a mapping, found {_type_name(value)}",
                'write pytorch: "2.4.1" or pytorch: {version: "2.4.1", packages: [torch]}',
            )
        value = {"version": text}
    out: dict[str, Any] = {}
    for key, item in value.items():
        sub = f"{ctx.key}.{key}"
        if key == "version":
            text = ctx.text(item, sub)
            if text is None or not text.strip():
                raise ctx.fail("expected a version string", 'write version: "2.4.1"', key=sub)
            bad = why_unsafe(text)
            if bad:
                raise ctx.fail(f"the version cannot be used: {bad}", 'write version: "2.4.1"', sub)
            out["version"] = text.strip()
        elif key == "packages":
            names = _check_string_list(_Ctx(ctx.document, ctx.shown, sub), item)
            for index, pkg in enumerate(names):
                _check_enum(TORCH_PACKAGES)(_Ctx(ctx.document, ctx.shown, f"{sub}[{index}]"), pkg)
            if "torch" not in names:
                raise ctx.fail("packages must include torch", "add torch to the list", key=sub)
            out["packages"] = [p for p in TORCH_PACKAGES if p in names]
        else:
            import difflib  # only on the error/diff path: keeps start-up fast

            close = difflib.get_close_matches(key, ("version", "packages"), n=1)
            raise ctx.fail(
                "unknown key" + (f" — did you mean '{close[0]}'?" if close else ""),
                "use 'version' and 'packages'",
                key=sub,
            )
    return out


def _check_bool(ctx: _Ctx, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ctx.fail(f"expected true or false, found {_type_name(value)}", "write true or false")
    return value


_CHECKS: dict[str, Callable[[_Ctx, Any], Any]] = {
    "abstract": _check_bool,
    "extends": _check_extends,
    "name": _check_pattern(r"^[A-Za-z0-9_.-]+$", '"my-env"'),
    "python": _check_python,
    "accelerator": _check_enum(ACCELERATORS, accelerator_words),
    "cuda": _check_pattern(r"^(cu\d{2,3}|\d+\.\d+)$", '"12.4" or "cu124"'),
    "rocm": _check_pattern(r"^(rocm)?\d+\.\d+(\.\d+)?$", '"6.2" or "rocm6.2.4"'),
    "pytorch": _check_pytorch,
    "source": _check_enum(SOURCES),
    "channels": _check_channels,
    "conda": _check_package_list(
        check_conda_spec, conda_spec_name, "conda match spec", "'numpy>=1.26'"
    ),
    "pip": _check_package_list(
        check_pip_requirement, pip_requirement_name, "pip requirement", "'requests>=2.31'"
    ),
    "platforms": _check_platforms,
    "variables": _check_variables,
    "outputs": _check_outputs,
}
