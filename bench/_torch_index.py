"""A loopback index of the CPU torch wheel and a project that locks it, for the raw-uv benches.

torch is the real 2.13.0+cpu wheel from pip's find-links directory, with its dependencies from
the local simple index, when this machine has them; else the suite's stand-in wheel (the same
flows on a smaller install). PyTorch's index (``whl/cpu``) serves torch and its dependencies,
PyPI serves the dependencies and what ``uv venv --seed`` installs; both are served over HTTP from
127.0.0.1 with PyPI's caching headers (bench/_common.py). The project's profile ``cpu`` names
them through ``[tool.envgen.mirrors]``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from packaging.utils import parse_wheel_filename

from bench._common import python_for, serve
from tests.fixtures.pypi_index import PYPI_INDEX, LocalIndexes, build_wheel
from tests.torch_local import TORCH, _candidates, _local_indexes, dependency_closure, torch_wheel

PROFILE = (
    f'python: "3.11"\npytorch: {{version: "{TORCH}", packages: [torch]}}\nplatforms: [linux-64]\n'
)
SEEDS = ("pip", "setuptools", "wheel")  # what `uv venv --seed` installs (Python < 3.12)


class TorchIndex:
    """The served indexes, the project and the interpreter the benches use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        indexes = LocalIndexes(root / "indexes")
        for index in ("whl/cpu", PYPI_INDEX):
            (indexes.root / index).mkdir(parents=True)
        self.torch, files = _torch_files(root / "built")
        for path in files:
            indexes.add_file("whl/cpu", path)
            if path != files[0]:
                indexes.add_file(PYPI_INDEX, path)
        for path in _seed_wheels(root / "built"):
            indexes.add_file(PYPI_INDEX, path)
        indexes.publish()
        indexes.base_url, self.server = serve(indexes.root)
        self.indexes = indexes
        self.project = root / "project"
        (self.project / "profiles").mkdir(parents=True)
        (self.project / "pyproject.toml").write_text(
            '[project]\nname = "bench"\nversion = "0"\n\n' + indexes.mirror_toml()
        )
        self.write_profile()
        self.python = python_for("3.11")

    def write_profile(self, pip: tuple[str, ...] = ()) -> None:
        extra = f"pip: [{', '.join(pip)}]\n" if pip else ""
        (self.project / "profiles" / "cpu.yaml").write_text(PROFILE + extra)

    def index_options(self) -> list[str]:
        """The same indexes as envgen uses, as a user types them for uv: PyTorch's first."""
        return [
            "--index-url",
            self.indexes.pytorch_url("cpu"),
            "--extra-index-url",
            self.indexes.pypi_url,
            "--index-strategy",
            "first-index",
        ]


def _torch_files(where: Path) -> tuple[str, list[Path]]:
    """(what torch is, [torch wheel, *its dependencies]): real when found, else the stand-in."""
    wheel = torch_wheel()
    deps = dependency_closure(wheel) if wheel else "no torch wheel in pip's find-links"
    if wheel is not None and not isinstance(deps, str):
        return f"real torch {TORCH}+cpu", [wheel, *deps]
    from tests.fixtures.stand_in_torch import FILELOCK, build_stand_in_torch

    stand_in = build_stand_in_torch(where)
    filelock = build_wheel(where, "filelock", FILELOCK)
    return f"stand-in torch {TORCH}+cpu ({deps})", [stand_in, filelock]


def _seed_wheels(where: Path) -> list[Path]:
    """pip, setuptools and wheel for `uv venv --seed`: from the local simple index when it has
    them, else small stand-ins built here (uv only needs installable wheels of those names)."""
    roots = _local_indexes()
    found = []
    for name in SEEDS:
        wheels = _candidates(name, roots)
        newest = max(wheels, key=lambda w: parse_wheel_filename(w.name)[1], default=None)
        found.append(newest or build_wheel(where, name, "99.0"))
    return found


@contextmanager
def torch_index(root: Path) -> Iterator[TorchIndex]:
    served = TorchIndex(root)
    try:
        yield served
    finally:
        served.server.shutdown()
