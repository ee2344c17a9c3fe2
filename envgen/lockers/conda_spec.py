"""conda-lock's ``content_hash`` for the rendered ``conda-lock-spec.yml``, by conda-lock's own code.

``conda-lock lock --check-input-hash -f conda-lock-spec.yml`` re-solves unless the lock's hash
is the one conda-lock computes for that spec, so envgen hashes the spec through conda-lock's
parser and hash function rather than imitating them.
"""

from __future__ import annotations

import json

from ..formats import lock_inputs
from ..leftovers import temporary_directory

# the rendered output the conda lock is made from
SPEC_OUTPUT = next(iter(lock_inputs()))


def content_hashes(spec_text: str, cuda: str | None) -> dict[str, str]:
    """Per-platform hashes, as ``conda-lock lock -f SPEC --with-cuda CUDA`` (``--without-cuda``
    when ``cuda`` is None) computes them.

    conda-lock maps the ``pip`` conda package's PyPI name through a downloaded PyPI->conda
    table; a one-entry local table gives the same answer offline. The virtual packages are
    part of the hash: conda-lock passes its ``FakeRepoData`` itself, not what ``with repo as
    x`` binds (its ``__enter__`` returns None, and None hashes as "no virtual packages").
    """
    from conda_lock.content_hash import compute_content_hashes
    from conda_lock.src_parser import make_lock_spec
    from conda_lock.virtual_package import default_virtual_package_repodata

    with temporary_directory("envgen-spec-") as work:
        spec = work / SPEC_OUTPUT
        spec.write_text(spec_text, encoding="utf-8")
        mapping = work / "pypi-to-conda.json"
        mapping.write_text(
            json.dumps({"pip": {"conda_name": "pip", "conda_forge": "pip", "pypi_name": "pip"}}),
            encoding="utf-8",
        )
        lock_spec = make_lock_spec(src_files=[spec], mapping_url=str(mapping))
        repo = default_virtual_package_repodata(cuda_version=cuda or "")
        return dict(compute_content_hashes(lock_spec, repo))
