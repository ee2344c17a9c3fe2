"""torch.cuda of a machine without an NVIDIA (or AMD) GPU: nothing is available."""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def get_device_name(index: int = 0) -> str:
    raise RuntimeError("No CUDA GPUs are available")


def get_device_properties(index: int = 0) -> object:
    raise RuntimeError("No CUDA GPUs are available")


def get_device_capability(index: int = 0) -> tuple[int, int]:
    raise RuntimeError("No CUDA GPUs are available")
