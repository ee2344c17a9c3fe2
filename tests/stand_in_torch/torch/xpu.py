"""torch.xpu of a machine without an Intel GPU."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0
