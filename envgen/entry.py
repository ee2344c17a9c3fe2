"""The ``envgen`` process: the console script and ``python -m envgen`` start here.

Python's cyclic garbage collector runs every few hundred allocations; while a command imports
click, Jinja, PyYAML and envgen's modules it ran about 48 times in a render, 6-7 ms of a 120 ms
start, walking objects that live as long as the process anyway (modules, classes, functions).
So it is paused before the first import and resumed, with everything imported so far frozen
out of its sight, once the command's module is loaded (``cli.resume_collector``): the command
itself runs with the collector on. Nothing here is imported by a library caller of envgen.
"""

import gc


def main() -> None:
    gc.disable()
    from .cli import main as run

    run(collector_paused=True)
