"""A stand-in torch for envgen's tests: build facts, device queries and a tiny CPU tensor.

It answers what envgen's verify probe asks (``torch.version``, ``torch.cuda``, ``torch.xpu``,
``torch.backends.mps``, a seeded ``randn``, ``@``, ``allclose``), computing the product for
real in plain Python, so a broken stand-in fails verify the way a broken torch would.
"""

from . import backends, cuda, version, xpu
from ._tensor import Generator, Tensor, allclose, float32, randn, tensor

__version__ = version.__version__
__all__ = [
    "Generator",
    "Tensor",
    "allclose",
    "backends",
    "cuda",
    "float32",
    "randn",
    "tensor",
    "version",
    "xpu",
]
