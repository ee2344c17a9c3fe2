"""Which triton build each new torch release pins, per variant, and whether the index serves it.

torch's wheels pin their compiler backend exactly (``triton``, ``pytorch-triton``,
``pytorch-triton-rocm``, ``pytorch-triton-xpu``, by variant and release) in ``Requires-Dist``.
The catalog keeps no triton field (nothing in envgen reads one: pip follows the pin), but a pin
the variant's index does not serve breaks every install of that build, so the change summary a
maintainer reviews says what each new release pins and flags a pin with no wheel behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PACKAGES = ("triton", "pytorch-triton", "pytorch-triton-rocm", "pytorch-triton-xpu")


@dataclass(frozen=True)
class TritonPin:
    package: str
    version: str
    served: bool  # the variant's index page for ``package`` lists a wheel of ``version``


def triton_pin(metadata: str) -> tuple[str, str] | None:
    """(package, version) of the triton build a torch METADATA pins with ``==``, if any."""
    for line in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(requirement.name)
        specs = list(requirement.specifier)
        if name in PACKAGES and len(specs) == 1 and specs[0].operator in ("==", "==="):
            return name, specs[0].version
    return None


def served_versions(filenames: Iterable[str]) -> set[str]:
    """Public versions a triton page has wheels of (``pytorch_triton-3.6.0+git…-cp312-…``)."""
    versions = set()
    for filename in filenames:
        if not filename.endswith(".whl"):
            continue
        parts = filename.split("-")
        if len(parts) < 5:
            continue
        try:
            versions.add(str(Version(parts[1])))
        except InvalidVersion:
            continue
    return versions


def describe(pins: Mapping[str, TritonPin | None]) -> str:
    """``pytorch-triton 3.6.0 (cu130, cu134); cpu none`` for one release's variants."""
    groups: dict[str, list[str]] = {}
    for variant, pin in pins.items():
        key = "none" if pin is None else f"{pin.package} {pin.version}"
        if pin is not None and not pin.served:
            key += " not on its variant's index"
        groups.setdefault(key, []).append(variant)
    return "; ".join(f"{key} ({', '.join(variants)})" for key, variants in groups.items())
