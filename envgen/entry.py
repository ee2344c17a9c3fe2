"""The ``envgen`` process: the console script and ``python -m envgen`` start here.

Python's cyclic garbage collector runs every few hundred allocations; while a command imports
click, PyYAML and envgen's modules it ran about 48 times in a render, 6-7 ms of a 120 ms start,
walking objects that live as long as the process anyway (modules, classes, functions). So it
is paused before the first import and resumed, with everything imported so far frozen out of
its sight, once the command's module is loaded (``cli.resume_collector``): the command itself
runs with the collector on. Nothing here is imported by a library caller of envgen.
"""

import gc
import sys


def main() -> None:
    gc.disable()
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        # Ctrl-C before the command line is loaded: the same line and code as at any later
        # moment (envgen.cli), not a traceback through the import system.
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    run(collector_paused=True)
