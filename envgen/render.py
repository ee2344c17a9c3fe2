"""Rendering: a ``ResolvedEnv`` through Jinja templates into the text of each generated file.

Templates decide layout; Python decides values. Templates get a plain, resolved context and
quote through the filters defined here, so no value can break out of its YAML or text line.
"""

# No `from __future__ import annotations`: NamedTuple makes each string annotation a
# ForwardRef, compiling it, at start-up; real annotations cost ~2 ms less (issue 12).
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from .digest import CONTENT_PLACEHOLDER, digests, part_texts, seal
from .errors import TemplateError
from .filters import FILTERS
from .resolve import ResolvedEnv
from .textcheck import why_unsafe

if TYPE_CHECKING:
    import jinja2

TEMPLATE_SUFFIX = ".j2"


class RenderedFile(NamedTuple):
    """One generated file's text (a NamedTuple: a dataclass costs start-up time, issue 12)."""

    profile: str
    name: str  # file name, e.g. requirements.txt
    content: str
    inputs_digest: str
    # equal digests mean equal parts, so comparing them too changes no comparison's answer
    input_parts: Mapping[str, Any] = MappingProxyType({})


class TemplateSet:
    """The project's templates first, then the built-ins; one strict Jinja environment."""

    def __init__(self, directories: Sequence[Path]) -> None:
        import jinja2

        from .cache import template_bytecode_cache

        self.directories = [d for d in directories if d.is_dir()]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.directories]),
            # compiled templates are cached by path and mtime: a second run skips compilation
            bytecode_cache=template_bytecode_cache(),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,  # noqa: S701 - we write YAML and text, never HTML
        )
        self.env.filters.update(FILTERS)
        # What get() found, by output: render --all asks for the same few templates once per
        # profile, and each ask read the file and stat-ed it for Jinja's cache again.
        self._found: dict[str, tuple[jinja2.Template, str, str]] = {}

    def available(self) -> list[str]:
        names = set()
        for directory in self.directories:
            names |= {
                p.name[: -len(TEMPLATE_SUFFIX)] for p in directory.glob("*" + TEMPLATE_SUFFIX)
            }
        return sorted(names)

    def source(self, output: str) -> tuple[str, str]:
        """(template text, path) of the template for ``output``, the project's when it has one."""
        import re

        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", output):  # '../x', '/etc/x'
            raise TemplateError(
                f"{output!r} is not a template name (a plain file name, no paths)",
                key="outputs",
                fix="use one of " + ", ".join(self.available()),
            )
        for directory in self.directories:
            path = directory / (output + TEMPLATE_SUFFIX)
            if path.is_file():
                return path.read_text(encoding="utf-8"), str(path)
        raise TemplateError(
            f"no template for output '{output}'; available: {', '.join(self.available())}",
            key="outputs",
            fix="use one of the available outputs, or add templates/" + output + TEMPLATE_SUFFIX,
        )

    def get(self, output: str) -> "tuple[jinja2.Template, str, str]":
        """The compiled template for ``output`` with its text and path, the file read once."""
        import jinja2

        found = self._found.get(output)
        if found is not None:
            return found
        text, path = self.source(output)
        try:
            found = self._found[output] = (
                self.env.get_template(output + TEMPLATE_SUFFIX),
                text,
                path,
            )
            return found
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"template syntax error: {exc.message}",
                file=path,
                line=exc.lineno,
                fix="correct the Jinja syntax",
            ) from None


def header_lines(
    env: ResolvedEnv,
    output: str,
    chain: Sequence[str],
    regenerate: str | None = None,
    notes: Sequence[str] = (),
) -> list[str]:
    """The comment block every generated file starts with (without comment markers).

    No envgen version: a header that changed with every release would make every committed
    file stale on upgrade. ``regenerate`` is the command that writes this file where it is
    (``-o DIR`` included); ``notes`` are warnings the file must carry (an unverified release).
    """
    parents = f" (extends {', '.join(chain[:-1])})" if len(chain) > 1 else ""
    return [
        f"Generated by envgen from profile '{env.name}'{parents}.",
        "DO NOT EDIT: changes are overwritten; edit the profile instead.",
        f"Regenerate with: {regenerate or 'envgen render ' + env.name}",
        *notes,
    ]


def template_context(
    env: ResolvedEnv,
    header: list[str],
    digest: str,
    parts: str = "",
    site: Mapping[str, Any] = MappingProxyType({}),
) -> dict[str, Any]:
    """What a template sees: the resolved ``env``, the header, and ``site`` (where the file is
    written and which envgen writes it, see ``Project.site_context``) as top-level names."""
    data = env.as_dict()
    data["variant"] = data["variant"] | {"label": env.variant.label}
    data["build_label"] = env.build_label
    data["pip_requirements"] = list(env.pip_requirements)
    return {
        **site,
        "env": data,
        "header": header,
        "inputs_digest": digest,
        "inputs_parts": parts,
        "content_digest": CONTENT_PLACEHOLDER,
    }


def render_env(
    env: ResolvedEnv,
    templates: TemplateSet,
    input_parts: Mapping[str, Any],
    chain: Sequence[str],
    outputs: Sequence[str] | None = None,
    regenerate: str | None = None,
    notes: Sequence[str] = (),
    site: Mapping[str, Any] = MappingProxyType({}),
) -> list[RenderedFile]:
    """Render every output of ``env``; errors name the template and its line.

    A ``site`` value is an input of exactly the templates that name it (the Dockerfile pins the
    envgen that renders it; most files mention neither envgen's version nor their directory),
    so a change shows up as that part, and only in those files.
    """
    import jinja2

    _refuse_line_breaks(env.as_dict(), "")
    _refuse_line_breaks(dict(site), "")
    files = []
    shared = part_texts(input_parts)
    for output in outputs or env.outputs:
        template, text, path = templates.get(output)
        used = {name: value for name, value in site.items() if name in text}
        parts = {**input_parts, "template": text, "output": output, **used}
        own = part_texts({"template": text, "output": output, **used})
        digest, line = digests({**shared, **own})
        header = header_lines(env, output, chain, regenerate, notes)
        try:
            context = template_context(env, header, digest, line, site)
            body = template.render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(
                f"template failed: {exc}",
                file=path,
                line=_template_line(exc),
                fix="fix the template, or remove the project's copy to use the built-in",
            ) from None
        body = body.replace("\r\n", "\n")
        body = body.rstrip("\n") + "\n"
        if CONTENT_PLACEHOLDER not in body:
            raise TemplateError(
                "the template does not write the header (envgen-content-sha256)",
                file=path,
                fix="start it with the header block of the built-in template",
            )
        _check_parses(output, body, path)
        files.append(RenderedFile(env.name, output, seal(body), digest, parts))
    return files


def _refuse_line_breaks(value: Any, where: str) -> None:
    """Second line of defence behind profile validation: no value may start a line of its own.

    Templates write some values bare (requirements.txt lines, YAML keys, comment headers), so
    a value holding any line separator could add a line that pip, conda or pixi would act on.
    """
    if isinstance(value, str):
        bad = why_unsafe(value)
        if bad:
            raise TemplateError(
                f"a value cannot be written into a generated file: {bad}",
                key=where or None,
                fix="correct the profile (or the mirror) this value comes from",
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_line_breaks(str(key), f"{where}.{key}" if where else str(key))
            _refuse_line_breaks(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _refuse_line_breaks(item, f"{where}[{index}]")


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(TEMPLATE_SUFFIX):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _check_parses(output: str, text: str, path: str) -> None:
    """A generated file that its consumer cannot read is a template bug: stop before writing."""
    if output.endswith((".yml", ".yaml")):
        import yaml

        try:  # libyaml's loader when PyYAML has it: the same verdict, faster
            yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
        except yaml.YAMLError as exc:
            raise TemplateError(
                f"the template produced invalid YAML ({str(exc).splitlines()[0]})",
                file=path,
                fix="quote values with the yaml_str filter",
            ) from None
