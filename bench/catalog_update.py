"""How a full `envgen catalog update` grows with the number of releases, against loopback servers.

Publishes N synthetic torch releases x M variants (5 Pythons each, PyTorch's platforms per variant,
torchvision/torchaudio metadata, PyPI JSON, conda repodata of every subdir) on 127.0.0.1, then
times a full update from an empty catalog (every release new) and a repeat run (nothing changes),
for several N in the same run. Prints times and ratios to the smallest N; not a test.

    python bench/catalog_update.py [--sizes 10,20,40,80] [--runs 3] [--html]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envgen.catalog_update.update import UpdateOptions, update_catalog
from envgen.catalog_update.writer import dump_catalog
from tests.fixtures.catalog_indexes import (
    CatalogServer,
    make_httpd,
    publish_catalog,
)

VARIANTS = {
    "cpu": ["linux-64", "linux-aarch64", "osx-arm64", "win-64"],
    "cu126": ["linux-64", "linux-aarch64", "win-64"],
    "cu128": ["linux-64", "win-64"],
    "cu130": ["linux-64", "linux-aarch64", "win-64"],
    "rocm7.2": ["linux-64"],
    "xpu": ["linux-64", "win-64"],
}
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]


def synthetic(n: int, variants: dict[str, list[str]]) -> dict[str, object]:
    releases = []
    for i in range(n):
        minor, patch = divmod(i, 3)
        releases.append(
            {
                "torch": f"3.{minor}.{patch}",
                "torchvision": f"0.{40 + minor}.{patch}",
                "torchaudio": f"3.{minor}.{patch}",
                "python": PYTHONS,
                "variants": variants,
                "pypi_linux": "cu128",
            }
        )
    conda = {
        r["torch"]: {
            "cuda": ["12.6", "12.8"],
            "cpu": True,
            "platforms": ["linux-64", "linux-aarch64", "osx-arm64", "win-64"],
            "torchvision": r.get("torchvision"),
            "torchaudio": r.get("torchaudio"),
        }
        for r in releases
    }
    return {"releases": releases, "conda_forge": conda}


def one_size(n: int, m: int, runs: int, html: bool) -> tuple[float, float, int]:
    variants = dict(list(VARIANTS.items())[:m])
    server = CatalogServer()
    httpd = make_httpd(server)
    publish_catalog(server, synthetic(n, variants))
    if html:
        server.html_only = set(server.pages)
    # The server runs in its own process, so it does not share envgen's interpreter lock.
    child = multiprocessing.get_context("fork").Process(target=httpd.serve_forever, daemon=True)
    child.start()
    httpd.server_close()  # the child holds its own copy of the listening socket
    cold, warm, requests = [], [], 0
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(child.terminate)
        target = Path(tmp) / "pytorch.yaml"
        empty = {"schema": 1, "index_base": "https://download.pytorch.org/whl", "sources": {}}
        options = UpdateOptions(
            today="2026-11-25", mirrors=server.mirrors(), extra_variants=tuple(variants)
        )
        for _ in range(runs):
            target.write_text(dump_catalog({**empty, "releases": []}))
            start = time.perf_counter()
            result = update_catalog(options, target)
            cold.append(time.perf_counter() - start)
            assert result.written and len(result.summary.added) == n, result.summary.render()
            requests = result.requests
            start = time.perf_counter()
            again = update_catalog(options, target)
            warm.append(time.perf_counter() - start)
            assert not again.written
    return statistics.median(cold), statistics.median(warm), requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,20,40,80")
    parser.add_argument("--variants", type=int, default=len(VARIANTS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--html", action="store_true", help="serve PEP 503 HTML pages only")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    form = "HTML (PEP 503)" if args.html else "JSON (PEP 691)"
    print(f"catalog update, {args.variants} variants, {len(PYTHONS)} Pythons, {form} pages")
    print(f"{'N':>5} {'requests':>9} {'full s':>8} {'ratio':>6} {'repeat s':>9} {'ms/release':>11}")
    base = None
    for n in sizes:
        cold, warm, requests = one_size(n, args.variants, args.runs, args.html)
        base = base or cold
        print(
            f"{n:>5} {requests:>9} {cold:>8.3f} {cold / base:>6.2f} {warm:>9.3f} "
            f"{1000 * cold / n:>11.1f}"
        )


if __name__ == "__main__":
    main()
