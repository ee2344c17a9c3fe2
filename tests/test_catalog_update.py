"""``envgen catalog update`` against loopback copies of PyTorch's index, PyPI and conda-forge."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from envgen.catalog import load_catalog
from envgen.catalog_update.conda_forge import collect
from envgen.catalog_update.errors import UpdateError
from envgen.catalog_update.pypi_json import cuda_variant
from envgen.catalog_update.pytorch_index import platforms_of, torch_pin
from envgen.catalog_update.triton import served_versions, triton_pin
from envgen.catalog_update.update import UpdateOptions, update_catalog
from envgen.catalog_update.writer import dump_catalog, header_of, scalar
from envgen.errors import EnvgenError
from envgen.paths import CATALOG_FILE
from envgen.project import Project
from envgen.targets import PLATFORMS
from tests.fixtures.catalog_indexes import CatalogServer, publish_catalog, publish_release
from tests.helpers import run_cli

# The date an update stamps is passed in (--date, or UpdateOptions.today), never read off the
# calendar, so each test means the same on any day.
STAMP = "2026-11-25"
NEW_RELEASE: dict[str, Any] = {
    "torch": "2.16.0",
    "torchvision": "0.31.0",
    "torchaudio": None,
    "python": ["3.11", "3.12", "3.13", "3.14", "3.15"],
    # no cu132, which 2.15.0 has: a release missing a variant; cu134 is a variant never seen
    "variants": {
        "cpu": ["linux-64", "linux-aarch64", "osx-arm64", "win-64"],
        "cu130": ["linux-64", "win-64"],
        "cu134": ["linux-64", "linux-aarch64", "win-64"],
    },
    "pypi_linux": "cu134",
    "free_threaded": ["3.14", "3.15"],  # served as cp314t/cp315t wheels; not a catalog key
    # what torch's metadata pins per variant (not a catalog key): cu134's pin has no wheel
    "triton": {
        "cu130": ("pytorch-triton", "3.7.0+git1a2b3c4d", True),
        "cu134": ("triton", "3.7.0", False),
    },
}


@pytest.fixture
def shipped() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    target = tmp_path / "pytorch.yaml"
    target.write_bytes(CATALOG_FILE.read_bytes())
    return target


def _options(server: CatalogServer, **kw: Any) -> UpdateOptions:
    return UpdateOptions(today=STAMP, mirrors=server.mirrors(), timeout=5, retries=0, **kw)


def _mixed_forms(server: CatalogServer) -> None:
    """CUDA pages answer in HTML only (PEP 503), the rest in JSON (PEP 691)."""
    server.html_only = {path for path in server.pages if path.startswith("/whl/cu")}


def test_update_over_a_copy_of_the_shipped_catalog_reproduces_it(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path
) -> None:
    publish_catalog(catalog_server, shipped)
    _mixed_forms(catalog_server)
    before = catalog_copy.read_bytes()

    result = update_catalog(_options(catalog_server), catalog_copy)

    assert result.summary.added == [] and result.summary.changed == [], result.summary.render()
    assert not result.written and catalog_copy.read_bytes() == before
    assert "no changes" in result.summary.render()
    # 2.15.0's torchvision pins torch>=, not ==: kept as recorded, and said so
    assert any(k.startswith("torch 2.15.0: torchvision 0.29.2") for k in result.summary.kept)
    # PEP 658 files where the index offers them; PyPI's JSON API offers none, so the torch
    # wheel's METADATA comes out of the wheel by range requests, never the whole wheel
    assert any(p.endswith(".metadata") for p in catalog_server.requests)
    wheels = [p for p in catalog_server.requests if p.endswith(".whl")]
    assert wheels and set(wheels) <= {p for p, _ in catalog_server.ranges_asked}
    assert "torch 2.7.1: Python, variants, osx-64 wheels no [page]; torchvision 0.22.1, " in (
        result.summary.render()
    )


def test_update_restores_removed_releases_with_the_same_facts(
    catalog_server: CatalogServer, shipped: dict[str, Any], tmp_path: Path
) -> None:
    publish_catalog(catalog_server, shipped)
    _mixed_forms(catalog_server)
    trimmed = copy.deepcopy(shipped)
    removed = [e for e in trimmed["releases"] if e["torch"] in ("2.13.0", "2.14.0", "2.14.1")]
    trimmed["releases"] = [e for e in trimmed["releases"] if e not in removed]
    target = tmp_path / "pytorch.yaml"
    header = header_of(CATALOG_FILE.read_text(encoding="utf-8"))
    target.write_text(dump_catalog(trimmed, header), encoding="utf-8")

    # rocm7.14 appears only in the removed releases: a variant name the catalog does not know
    # has to be named, since an index lists no variants
    result = update_catalog(_options(catalog_server, extra_variants=("rocm7.14",)), target)

    assert result.written
    assert [line.split(":")[0] for line in result.summary.added] == [
        "torch 2.13.0",
        "torch 2.14.0",
        "torch 2.14.1",
    ]
    text = target.read_text(encoding="utf-8")
    assert text.startswith(header)
    data = yaml.safe_load(text)
    by_version = {e["torch"]: e for e in data["releases"]}
    for entry in removed:
        again = by_version[entry["torch"]]
        assert {k: v for k, v in again.items() if k != "sources"} == {
            k: v for k, v in entry.items() if k != "sources"
        }
        assert again["sources"] == [f"pytorch-index-{STAMP}", f"pypi-json-{STAMP}"]
    assert data["sources"][f"pytorch-index-{STAMP}"] == {
        "title": data["sources"][f"pytorch-index-{STAMP}"]["title"],
        "url": "https://download.pytorch.org/whl",  # the public index, not the mirror read
        "read": STAMP,
    }
    assert [r.torch for r in load_catalog(target).releases] == [
        e["torch"] for e in shipped["releases"]
    ]
    # a second run finds nothing to do and leaves the bytes alone
    again_result = update_catalog(_options(catalog_server, extra_variants=("rocm7.14",)), target)
    assert not again_result.written and target.read_text(encoding="utf-8") == text


def _resolve_all(project: Project, catalog_path: Path) -> dict[str, Any]:
    project._catalog = load_catalog(catalog_path)
    results: dict[str, Any] = {}
    for name in project.registry.names():
        try:
            results[name] = project.resolve(name).env
        except EnvgenError as exc:
            results[name] = type(exc).__name__
    return results


def test_new_release_resolves_and_old_profiles_resolve_as_before(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish_catalog(catalog_server, shipped)
    publish_release(catalog_server, NEW_RELEASE)
    # conda-forge gains builds of a pytorch it had not built (2.5.0); the others stay as recorded
    abi = "python_abi 3.12.* *_cp312"
    linux = {
        f"pytorch-2.5.0-{build}.conda": {
            "name": "pytorch",
            "version": "2.5.0",
            "build": build,
            "depends": [abi],
        }
        for build in ("cuda126_generic_py312_h0", "cuda128_mkl_py312_h1", "cpu_mkl_py312_h2")
    }
    # companions: torchvision pins its pytorch by a range, torchaudio by libtorch; torchvision
    # 0.20.0 lacks the CUDA 12.8 build, and an older torchvision pins an older pytorch
    for name, version, build, depends in (
        ("torchvision", "0.20.0", "cuda126_py312_h0", "pytorch >=2.5.0,<2.6.0a0"),
        ("torchvision", "0.20.0", "cpu_py312_h0", "pytorch >=2.5.0,<2.6.0a0"),
        ("torchvision", "0.19.0", "h0", "pytorch 2.4.0 cuda*"),
        ("torchaudio", "2.5.0", "h1", "libtorch 2.5.0.*"),
        ("torchaudio", "2.5.0", "h2", "cuda-version >=12.8,<13"),  # pins no pytorch: skipped
    ):
        linux[f"{name}-{version}-{build}.conda"] = {
            "name": name,
            "version": version,
            "build": build,
            "depends": [depends, "python >=3.12"],
        }
    catalog_server.add_repodata("linux-64", linux)
    catalog_server.add_repodata(
        "osx-arm64",
        {
            "p": {
                "name": "pytorch",
                "version": "2.5.0",
                "build": "cpu_generic_py312_h3",
                "depends": [abi],
            }
        },
    )
    result = run_cli(
        capsys,
        *["catalog", "update", "--catalog", str(catalog_copy), "--variant", "cu134"],
        *["--date", STAMP],
        *catalog_server.mirror_args(),
    )
    assert result.code == 0, result.err
    assert "torch 2.16.0: torchvision 0.31.0" in result.out
    assert "PyPI Linux build cu134; free-threaded 3.14t, 3.15t; triton: none (cpu); " in result.out
    assert (
        "triton: none (cpu); pytorch-triton 3.7.0+git1a2b3c4d (cu130); "
        "triton 3.7.0 not on its variant's index (cu134)\n" in result.out
    )
    assert (
        "torch 2.16.0+cu134 pins triton==3.7.0, which the cu134 index does not serve" in result.out
    )
    # only the new release's torch metadata is read, and only the pinned triton pages
    torch_metadata = [
        p for p in catalog_server.requests if p.startswith("/whl/") and "/torch-" in p
    ]
    assert torch_metadata and all("torch-2.16.0" in p for p in torch_metadata)
    assert "/whl/cu130/pytorch-triton/" in catalog_server.requests
    assert not any(p.endswith("/pytorch-triton-rocm/") for p in catalog_server.requests)
    assert (
        "pytorch 2.5.0: CUDA 12.6, CUDA 12.8, CPU; linux-64, osx-arm64; torchvision 0.20.0; "
        "torchaudio 2.5.0 (new)" in result.out
    )
    assert (
        "conda-forge torchvision 0.20.0 (for pytorch 2.5.0) has no build for CUDA 12.8, osx-arm64"
        in result.out
    )
    assert "conda-forge pytorch 2.7.1: its builds [repodata]" in result.out  # as recorded
    written = yaml.safe_load(catalog_copy.read_text(encoding="utf-8"))
    assert written["conda_forge"]["2.5.0"] == {
        "cuda": ["12.6", "12.8"],
        "cpu": True,
        "platforms": ["linux-64", "osx-arm64"],
        "cuda_platforms": {"12.6": ["linux-64"], "12.8": ["linux-64"]},
        "cpu_platforms": ["linux-64", "osx-arm64"],
        "python": ["3.12"],
        "torchvision": "0.20.0",
        "torchaudio": "2.5.0",
        "sources": [f"conda-forge-repodata-{STAMP}"],
    }
    assert written["conda_forge"]["2.7.1"] == shipped["conda_forge"]["2.7.1"]
    assert load_catalog(catalog_copy).conda_forge["2.5.0"].cuda == ("12.6", "12.8")

    project = Project.open()
    before = _resolve_all(project, CATALOG_FILE)
    after = _resolve_all(project, catalog_copy)
    assert set(before) == set(after)
    for name, env in before.items():
        if after[name] != env:  # only a newer torch may differ: the new release, where it fits
            assert after[name].torch == "2.16.0", name
    assert after["cpu"].torch == "2.16.0"
    assert after["gpu-conda"] == before["gpu-conda"]

    profiles = project_dir / "profiles"
    profiles.mkdir()
    (profiles / "new.yaml").write_text(
        'python: "3.12"\naccelerator: cuda\ncuda: "13.4"\npytorch: "2.16.0"\n'
    )
    (profiles / "conda-old.yaml").write_text(
        'python: "3.12"\naccelerator: cuda\ncuda: "12.6"\nsource: conda\npytorch: "2.2.0"\n'
    )
    project = Project.open()
    project._catalog = load_catalog(catalog_copy)
    env = project.resolve("new").env
    assert env.index_url == "https://download.pytorch.org/whl/cu134"
    assert env.companions == {"torch": "2.16.0", "torchvision": "0.31.0"}
    with pytest.raises(EnvgenError, match=r"conda-forge has no pytorch 2\.2\.0 recorded"):
        project.resolve("conda-old")
    project._catalog = load_catalog(CATALOG_FILE)
    with pytest.raises(EnvgenError):
        project.resolve("new")


def test_a_malformed_page_is_an_error_naming_it_and_changes_nothing(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish_catalog(catalog_server, shipped)
    publish_release(catalog_server, NEW_RELEASE)
    catalog_server.broken = {"/whl/cu126/torch/"}
    before = catalog_copy.read_bytes()

    result = run_cli(
        capsys, "catalog", "update", "--catalog", str(catalog_copy), *catalog_server.mirror_args()
    )

    assert result.code == 2, result.err
    assert f"{catalog_server.url}/whl/cu126/torch/ is not a valid simple-index page" in result.err
    assert "Traceback" not in result.err and "catalog was not changed" in result.err
    assert catalog_copy.read_bytes() == before
    assert not list(catalog_copy.parent.glob(".pytorch.yaml.*"))


def test_dry_run_prints_the_summary_and_writes_nothing(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    publish_catalog(catalog_server, shipped)
    publish_release(catalog_server, NEW_RELEASE)
    before = catalog_copy.read_bytes()
    result = run_cli(
        capsys,
        *["catalog", "update", "--dry-run", "--since", "2.15", "--catalog", str(catalog_copy)],
        *catalog_server.mirror_args(),
    )
    assert result.code == 0, result.err
    assert "## New releases\n- torch 2.16.0" in result.out
    # cu134 was not asked for with --variant: its pages are not read
    assert "variants cpu, cu130; PyPI Linux build cu134" in result.out
    assert catalog_copy.read_bytes() == before
    # --since: nothing older than 2.15 is looked up on PyPI
    pypi = [p for p in catalog_server.requests if p.startswith("/pypi/pypi/")]
    assert sorted(pypi) == ["/pypi/pypi/torch/2.15.0/json", "/pypi/pypi/torch/2.16.0/json"]


def test_since_leaves_older_releases_alone(
    catalog_server: CatalogServer, shipped: dict[str, Any], catalog_copy: Path
) -> None:
    changed = copy.deepcopy(shipped)
    old = next(e for e in changed["releases"] if e["torch"] == "2.0.0")
    old["python"] = ["3.8", "3.9"]  # the index now says something else about an old release
    new = next(e for e in changed["releases"] if e["torch"] == "2.14.0")
    new["variants"] = {k: v for k, v in new["variants"].items() if k != "xpu"}
    publish_catalog(catalog_server, changed)
    result = update_catalog(
        _options(catalog_server, since=Version("2.14")),
        catalog_copy,
    )
    assert result.summary.changed == ["torch 2.14.0: variants dropped xpu"]
    data = yaml.safe_load(catalog_copy.read_text(encoding="utf-8"))
    entry = next(e for e in data["releases"] if e["torch"] == "2.14.0")
    assert "xpu" not in entry["variants"] and entry["sources"][-1] == f"pytorch-index-{STAMP}"
    assert next(e for e in data["releases"] if e["torch"] == "2.0.0")["python"] == [
        "3.8",
        "3.9",
        "3.10",
        "3.11",
    ]


def _refused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_index_is_named_at_once_and_never_retried(
    catalog_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DNS failures and refused connections do not change on a retry: one attempt per host,
    then every other page of that host fails without a try, and the error says what still
    works (--only pypi)."""
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kw: Any) -> Any:
        lookups.append(host)
        if host == "mirror.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    before = catalog_copy.read_bytes()
    for mirror, expected in (
        ("http://mirror.invalid/whl", "the name mirror.invalid does not resolve"),
        (f"http://127.0.0.1:{_refused_port()}/whl", "refuses connections"),
    ):
        lookups.clear()
        result = run_cli(
            capsys,
            *["catalog", "update", "--catalog", str(catalog_copy), "--date", STAMP],
            *["--mirror", f"https://download.pytorch.org/whl={mirror}"],
        )
        assert result.code == 2 and expected in result.err, result.err
        assert f"cannot reach {mirror}/" in result.err and "--only pypi" in result.err
        assert "Traceback" not in result.err and "tries" not in result.err  # not retried
        if "invalid" in mirror:
            assert lookups.count("mirror.invalid") == 1, lookups
    assert catalog_copy.read_bytes() == before


def test_conda_forge_facts_of_every_subdir_read_back_and_old_entries_gain_them(
    catalog_server: CatalogServer, shipped: dict[str, Any], tmp_path: Path
) -> None:
    """A catalog whose conda_forge section has the current shape (builds per subdir, Pythons,
    companions) is read back unchanged; an entry in the old shape (cuda and cpu only) still
    loads, and an update adds what the repodata says about it, saying what it was."""
    sources = {"conda-forge-repodata-2026-01-01": {"title": "t", "url": "u", "read": "x"}}
    data = {**shipped, "sources": {**shipped["sources"], **sources}}
    data["conda_forge"] = {
        "2.6.0": {"cuda": ["12.6"], "cpu": True, "sources": [*sources]},  # old shape
        "2.7.1": {
            "cuda": ["12.6", "12.8"],
            "cpu": True,
            "platforms": ["linux-64", "linux-aarch64", "osx-arm64", "win-64"],
            "cuda_platforms": {"12.6": ["linux-64", "linux-aarch64", "win-64"], "12.8": ["win-64"]},
            "cpu_platforms": ["linux-64", "linux-aarch64", "osx-arm64", "win-64"],
            "python": ["3.11", "3.12"],
            "torchvision": "0.22.1",
            "torchaudio": "2.7.1",
            "sources": [*sources],
        },
    }
    target = tmp_path / "pytorch.yaml"
    target.write_text(dump_catalog(data), encoding="utf-8")
    loaded = load_catalog(target).conda_forge
    assert loaded["2.6.0"].cuda == ("12.6",) and loaded["2.7.1"].cuda == ("12.6", "12.8")
    assert loaded["2.6.0"].cuda_platforms == {"12.6": tuple(PLATFORMS)}  # older shape
    publish_catalog(catalog_server, data)

    result = update_catalog(_options(catalog_server), target)

    assert result.summary.conda == [
        "pytorch 2.6.0: CUDA 12.6, CPU; linux-64 (was {cuda: [12.6], cpu: True})"
    ]
    assert all(f"/conda-forge/{s}/repodata.json" in catalog_server.requests for s in PLATFORMS)
    after = yaml.safe_load(target.read_text(encoding="utf-8"))["conda_forge"]
    assert after["2.7.1"] == data["conda_forge"]["2.7.1"]
    assert after["2.6.0"]["platforms"] == ["linux-64"]
    assert after["2.6.0"]["cuda_platforms"] == {"12.6": ["linux-64"]}
    assert after["2.6.0"]["sources"] == [*sources, f"conda-forge-repodata-{STAMP}"]
    assert load_catalog(target).conda_forge["2.6.0"].python == ("3.12",)
    again = update_catalog(_options(catalog_server), target)
    assert not again.summary.has_changes and not again.written


def test_the_writer_round_trips_the_shipped_catalog(shipped: dict[str, Any]) -> None:
    text = dump_catalog(shipped, header_of(CATALOG_FILE.read_text(encoding="utf-8")))
    assert yaml.safe_load(text) == shipped
    assert dump_catalog(yaml.safe_load(text)) == dump_catalog(shipped)
    assert (
        scalar("a\nb: c") == '"a\\nb: c"'
        and scalar("yes") == '"yes"'
        and scalar("cu118") == "cu118"
    )


def test_readers_parse_what_the_indexes_publish() -> None:
    assert platforms_of("manylinux_2_28_aarch64") == {"linux-aarch64"}
    assert platforms_of("macosx_11_0_universal2") == {"osx-64", "osx-arm64"}
    assert platforms_of("macosx_10_9_x86_64") == {"osx-64"}
    assert platforms_of("win32") == set()
    assert torch_pin("Name: torchvision\nRequires-Dist: torch==2.7.1+cu118\n\n") == "2.7.1"
    assert torch_pin("Name: torchvision\nRequires-Dist: torch>=2.14.0\n\n") is None
    rocm = 'Requires-Dist: pytorch-triton-rocm==3.3.1+gitabc; platform_system == "Linux"\n'
    assert triton_pin("Name: torch\nRequires-Dist: filelock\n" + rocm) == (
        "pytorch-triton-rocm",
        "3.3.1+gitabc",
    )
    assert triton_pin("Name: torch\nRequires-Dist: Triton==3.3.0\n") == ("triton", "3.3.0")
    assert triton_pin("Name: torch\nRequires-Dist: triton>=3.0\n") is None
    assert served_versions(
        ["pytorch_triton_xpu-3.4.0-cp312-cp312-win_amd64.whl", "triton-3.3.0.tar.gz", "x.whl"]
    ) == {"3.4.0"}
    assert cuda_variant(['nvidia-cuda-runtime-cu11 (==11.7.99) ; platform_system == "Linux"']) == (
        "cu117"
    )
    assert cuda_variant(["cuda-toolkit[cudart,cublas]==13.0.2", "numpy"]) == "cu130"
    assert cuda_variant(["filelock", "sympy>=1.13.3"]) is None
    builds = collect(
        {
            "packages.conda": {
                "a": {"name": "pytorch", "version": "2.7.1", "build": "cuda118_py312h1"},
                "b": {
                    "name": "pytorch",
                    "version": "2.7.1",
                    "build": "h3",
                    "depends": ["cuda-version >=12.9,<13"],
                },
                "c": {"name": "pytorch", "version": "2.5.0", "build": "cpu_generic_h0"},
                "d": {"name": "torchvision", "version": "0.22.1", "build": "cuda126_h0"},
                "e": {
                    "name": "torchvision",
                    "version": "0.22.0",
                    "build": "cuda118_h0",
                    "depends": ["pytorch 2.7.1.*"],
                },
                "f": {
                    "name": "torchaudio",
                    "version": "2.5.0",
                    "build": "cpu_h0",
                    "depends": ["libtorch ==2.5.0"],
                },
            }
        },
        None,
        "linux-64",
    )
    assert builds["2.7.1"].cuda == {"11.8", "12.9"} and not builds["2.7.1"].cpu
    assert builds["2.7.1"].subdirs == {"linux-64"}
    assert builds["2.7.1"].companion("torchvision") == "0.22.0"  # 0.22.1 pins no pytorch
    assert builds["2.7.1"].companions["torchvision"]["0.22.0"].cuda == {"11.8"}
    assert builds["2.5.0"].companion("torchaudio") == "2.5.0"
    assert builds["2.5.0"].companion("torchvision") is None
    assert builds["2.5.0"].cpu and set(builds) == {"2.7.1", "2.5.0"}


def test_a_503_is_retried_and_mirror_credentials_stay_out_of_messages(
    catalog_server: CatalogServer,
    shipped: dict[str, Any],
    catalog_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish_catalog(catalog_server, shipped)
    catalog_server.fail_once = {"/whl/cpu/torch/", "/pypi/pypi/torch/2.7.1/json"}
    result = update_catalog(
        UpdateOptions(today=STAMP, mirrors=catalog_server.mirrors(), timeout=5, retries=1),
        catalog_copy,
    )
    assert not result.summary.has_changes
    assert catalog_server.requests.count("/whl/cpu/torch/") == 2

    monkeypatch.setenv("MIRROR_TOKEN", "s3cret")
    host = catalog_server.url.removeprefix("http://")
    mirrors = {**catalog_server.mirrors()}
    mirrors["https://download.pytorch.org/whl"] = f"http://ci:${{MIRROR_TOKEN}}@{host}/whl"
    catalog_server.broken = {"/whl/cu118/torch/"}
    with pytest.raises(UpdateError) as info:
        update_catalog(UpdateOptions(today=STAMP, mirrors=mirrors, timeout=5), catalog_copy)
    assert f"http://{host}/whl/cu118/torch/" in str(info.value)
    assert "s3cret" not in str(info.value) and "MIRROR_TOKEN" not in str(info.value)
    assert (
        "Basic Y2k6czNjcmV0" in catalog_server.authorization
    )  # ci:s3cret, expanded for the request


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "two"], "key '--since'"),
        (["--variant", "cuda13"], "key '--variant'"),
        (["--date", "25/11/2026"], "key '--date'"),
    ],
)
def test_bad_options_are_input_errors(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    before = catalog_copy.read_bytes()
    result = run_cli(capsys, "catalog", "update", "--catalog", str(catalog_copy), *args)
    assert result.code == 2 and expected in result.err and "Fix:" in result.err
    assert catalog_copy.read_bytes() == before


@pytest.mark.parametrize(
    ("stamp", "epoch", "expected"),
    [
        (None, "1700000000", "2023-11-14"),  # SOURCE_DATE_EPOCH, read in UTC
        ("2020-02-29", "1700000000", "2020-02-29"),  # --date wins
    ],
)
def test_the_stamped_date_comes_from_the_caller(
    monkeypatch: pytest.MonkeyPatch, stamp: str | None, epoch: str, expected: str
) -> None:
    from envgen.commands.catalog import source_date

    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert source_date(stamp) == expected
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(EnvgenError, match="SOURCE_DATE_EPOCH"):
        source_date(None)


def test_an_installed_envgen_refuses_to_rewrite_its_own_catalog(
    project_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from envgen.commands import catalog as command

    monkeypatch.setattr(command, "in_source_checkout", lambda: False)
    before = CATALOG_FILE.read_bytes()
    result = run_cli(capsys, "catalog", "update")
    assert result.code == 2 and "belongs to an installed envgen" in result.err
    assert 'catalog = "catalog/pytorch.yaml"' in result.err
    assert CATALOG_FILE.read_bytes() == before
