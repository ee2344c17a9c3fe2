"""The ``envgen`` command line: a table of contents over ``envgen.commands``.

Each command module is imported only when that command runs, so ``envgen --help`` and a
plain ``render`` never pay for conda-lock, rattler or uv.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from . import __version__
from .errors import EnvgenError

# command name -> (module in envgen.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": (
        "render",
        "Write environment.yml, requirements.txt and conda-lock-spec.yml.",
    ),
    "check": (
        "check",
        "Exit 1 when a generated file is stale, missing or orphaned.",
    ),
    "list": ("list_", "List the profiles this project can use, and where each comes from."),
    "show": ("show", "Show a fully resolved profile: every version, index URL and origin."),
    "schema": ("schema", "Print the JSON Schema of profile files (for editors and CI)."),
    "lock": ("lock", "Lock a profile: hashed pip locks and conda-lock.yml, for each platform."),
    "create": ("create", "Create the environment with the interpreter the profile asks for."),
    "verify": ("verify", "Prove from inside an environment that it is what the profile says."),
    "run": ("run", "Run a command inside a profile's environment, activated."),
    "doctor": ("doctor", "Inspect this machine and recommend the profile that fits it."),
    "init": ("init", "Set up profiles/ for this repository, fitted to this machine."),
    "matrix": ("matrix", "Print the CI matrix (profiles x platforms x runners) for GitHub/GitLab."),
    "catalog": ("catalog", "Refresh the PyTorch catalog from the indexes (catalog update)."),
}


def _available(name: str) -> bool:
    """A command whose module is not written yet stays out of --help rather than crashing."""
    return importlib.util.find_spec(f"envgen.commands.{COMMANDS[name][0]}") is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module = importlib.import_module(f"envgen.commands.{COMMANDS[cmd_name][0]}")
        resume_collector()
        command: click.Command = module.command
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """A mistyped command name gets the nearest real one, as git does ('rendr' -> render)."""
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib  # only on the error path: keeps start-up fast

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            known = ", ".join(self.list_commands(ctx))
            ctx.fail(f"No such command '{name}'.{hint} Commands: {known}.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, text) for name, (_, text) in COMMANDS.items() if _available(name)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envgen")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
def cli(debug: bool) -> None:
    """Turn one small profile into every environment file a PyTorch project needs."""


def _wants_json(args: list[str]) -> bool:
    """``--json`` among envgen's own arguments (not those ``run`` passes on after ``--``)."""
    own = args[: args.index("--")] if "--" in args else args
    return "--json" in own


def json_error(code: int, kind: str, message: str, error: EnvgenError | None = None) -> str:
    """The error object a ``--json`` caller gets on stdout instead of nothing."""
    import json

    body: dict[str, Any] = {"code": code, "type": kind, "message": message}
    if error is not None:
        body["message"] = error.message
        for key in ("file", "line", "key", "fix"):
            value = getattr(error, key)
            if value is not None:
                body[key] = value
    return json.dumps({"error": body}, indent=2)


def color_setting(environ: Mapping[str, str]) -> bool | None:
    """False when NO_COLOR is set to anything non-empty (no-color.org); else click decides
    (colour on a terminal, none in a pipe or file)."""
    return False if environ.get("NO_COLOR") else None


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` is accepted anywhere before a ``--`` (``envgen render x --debug`` too), and
    handed to the group, where click expects it; after ``--`` it belongs to the user's command."""
    end = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:end] if a != "--debug"]
    if len(head) == end:
        return args, False
    return ["--debug", *head, *args[end:]], True


_paused = False  # the collector was paused for the imports by envgen.entry


def resume_collector() -> None:
    """Turn the collector back on once the command's module and what it imports are loaded,
    those objects frozen first (they live until exit): see ``envgen.entry``."""
    global _paused
    if _paused:
        _paused = False
        import gc

        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None, *, collector_paused: bool = False) -> None:
    """The ``envgen`` command. Run as the process itself (``argv`` None), it ends without the
    interpreter's final garbage collection: see ``_exit_quickly``. ``collector_paused``: the
    process started with the collector off (``envgen.entry``); it is on again before the
    command runs, or at the latest when this returns."""
    global _paused
    _paused = collector_paused
    try:
        _main(argv)
    except SystemExit:
        if argv is None:
            _quiet_interrupts()
            _exit_quickly()
        raise
    except KeyboardInterrupt:  # another Ctrl-C while the first one was being reported
        if argv is None:
            _quiet_interrupts()
        sys.exit(130)
    finally:
        resume_collector()


def _quiet_interrupts() -> None:
    """From here on a Ctrl-C ends the process at once, as SIGINT does by default, instead of
    raising KeyboardInterrupt inside the interpreter's shutdown (joining worker threads,
    removing temporary folders), where it would print a traceback. What it leaves half-done
    is named with our pid and swept by a later run (``leftovers``). Only when envgen is the
    process: a caller's own handler stays as it was."""
    # The C module the interpreter loaded at start: ``signal`` would wrap it in enums first.
    import _signal  # type: ignore[import-not-found]  # no stub: it is signal.py's C half

    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)


def _exit_quickly() -> None:
    """Move every object to the collector's permanent generation before the process exits.

    At exit CPython runs one last full collection over every object the run created (the
    parsed catalog, YAML nodes, compiled templates): about 10 ms of a render and 17 ms of a
    lock, for memory the OS takes back anyway. Frozen objects are skipped by it. Nothing is
    lost: files are closed and temporary folders removed explicitly (``with`` blocks, and
    tempfile's atexit finalizers, which still run); module globals are still released by
    reference counting. Only unreachable cycles skip their finalizers, which envgen does not
    rely on. Never done when ``main`` is called with ``argv`` (tests, embedding): freezing the
    caller's objects would keep them alive for its whole life.
    """
    import gc

    gc.freeze()


def _main(argv: list[str] | None) -> None:
    args, flagged = _take_debug(list(sys.argv[1:] if argv is None else argv))
    debug = flagged or bool(os.environ.get("ENVGEN_DEBUG"))
    as_json = _wants_json(args)
    try:
        result: Any = cli.main(
            args=args,
            prog_name="envgen",
            standalone_mode=False,
            color=color_setting(os.environ),
        )
    except click.exceptions.Abort as exc:  # click's form of a Ctrl-C (or EOF at a prompt)
        if argv is None:
            _quiet_interrupts()
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        click.echo("Interrupted." if interrupted else "Aborted.", err=True)
        if as_json:
            kind = "Interrupted" if interrupted else "Aborted"
            click.echo(json_error(130, kind, kind.lower()))
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        if as_json:
            click.echo(json_error(exc.exit_code, "UsageError", exc.format_message()))
        sys.exit(exc.exit_code)
    except EnvgenError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        if as_json:
            click.echo(json_error(exc.exit_code, type(exc).__name__, exc.render(), exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        if argv is None:
            _quiet_interrupts()
        click.echo("Interrupted.", err=True)
        if as_json:
            click.echo(json_error(130, "Interrupted", "interrupted"))
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        message = (
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in envgen; "
            "re-run with --debug for the traceback and report it."
        )
        click.echo(message, err=True)
        if as_json:
            click.echo(json_error(123, "InternalError", message))
        sys.exit(123)
    sys.exit(result if isinstance(result, int) else 0)
