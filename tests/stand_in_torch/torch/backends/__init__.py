from . import mps

__all__ = ["mps"]
