"""torch.backends.mps of a build for Linux: not built, not available."""


def is_built() -> bool:
    return False


def is_available() -> bool:
    return False
