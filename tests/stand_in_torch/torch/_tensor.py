"""Two-dimensional float tensors on the CPU, in plain Python: enough for verify's matmul."""

# The stand-in runs under whatever Python an environment has (3.8 too): zip() has no strict=.
# ruff: noqa: B905

from __future__ import annotations

import math
import random
from collections.abc import Sequence

float32 = "float32"


class Generator:
    def __init__(self) -> None:
        self._random = random.Random(0)

    def manual_seed(self, seed: int) -> Generator:
        self._random.seed(seed)
        return self

    def gauss(self) -> float:
        return self._random.gauss(0.0, 1.0)


class Tensor:
    def __init__(self, rows: Sequence[Sequence[float]], device: str = "cpu") -> None:
        self._rows = [[float(x) for x in row] for row in rows]
        self.device = device

    def tolist(self) -> list[list[float]]:
        return [list(row) for row in self._rows]

    def to(self, device: str) -> Tensor:
        if device != "cpu":
            raise RuntimeError(f"the stand-in torch has no {device} device")
        return Tensor(self._rows)

    def __matmul__(self, other: Tensor) -> Tensor:
        cols = list(zip(*other._rows))
        return Tensor(
            [[math.fsum(x * y for x, y in zip(row, col)) for col in cols] for row in self._rows]
        )

    def __sub__(self, other: Tensor) -> Tensor:
        return Tensor([[x - y for x, y in zip(a, b)] for a, b in zip(self._rows, other._rows)])

    def abs(self) -> Tensor:
        return Tensor([[abs(x) for x in row] for row in self._rows])

    def max(self) -> Tensor:
        return Tensor([[max(x for row in self._rows for x in row)]])

    def __float__(self) -> float:
        (value,) = [x for row in self._rows for x in row]
        return value


def randn(rows: int, cols: int, *, generator: Generator, dtype: str = float32) -> Tensor:
    return Tensor([[generator.gauss() for _ in range(cols)] for _ in range(rows)])


def tensor(data: Sequence[Sequence[float]], dtype: str = float32) -> Tensor:
    return Tensor(data)


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    pairs = zip(a.tolist(), b.tolist())
    return all(abs(x - y) <= atol + rtol * abs(y) for ra, rb in pairs for x, y in zip(ra, rb))
