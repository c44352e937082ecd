"""Shared pytest fixtures for berth's integration tests: the build dir, berth binaries,
busybox rootfs and bundles (tests/fixtures/busybox.py), and a per-test runtime --root
that is cleaned of containers at teardown.

Binaries: a missing berth binary fails the test, unless BERTH_ALLOW_MISSING=1, which
turns that into a skip (for working on one part while another is not built yet).
RUNTIME=runc (or crun, or a path) runs the runtime tests against another OCI runtime.
"""

import itertools
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

import busybox  # noqa: E402  (tests/fixtures/busybox.py)


def _allow_missing():
    return os.environ.get("BERTH_ALLOW_MISSING") == "1"


def require_binary(path):
    """Return path as a str if it is an executable file; otherwise fail the test, or skip
    it when BERTH_ALLOW_MISSING=1."""
    path = Path(path)
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    msg = f"{path} is missing (build it with `make build`)"
    if _allow_missing():
        pytest.skip(msg + "; skipped because BERTH_ALLOW_MISSING=1")
    pytest.fail(msg + "; set BERTH_ALLOW_MISSING=1 to skip instead", pytrace=False)


def require_tool(name):
    """A system tool from scripts/install-deps.sh, e.g. runc, skopeo: fail when missing."""
    found = shutil.which(name) or (name if os.path.isabs(name) and os.access(name, os.X_OK) else None)
    if not found:
        pytest.fail(f"{name} not found on PATH: run scripts/install-deps.sh", pytrace=False)
    return found


@pytest.fixture(scope="session")
def build_dir():
    """The meson build dir: $BERTH_BUILD (the Makefile sets it), default ./build."""
    return Path(os.environ.get("BERTH_BUILD", REPO / "build")).resolve()


@pytest.fixture(scope="session")
def berth_binary(build_dir):
    """berth_binary("berth-runc") -> path of that binary in the build dir (or fail/skip)."""

    def get(name):
        return require_binary(build_dir / name)

    return get


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    """A busybox rootfs made once per session. Read-only by convention: tests that write
    into a rootfs get their own copy through make_bundle."""
    return Path(busybox.make_rootfs(str(tmp_path_factory.mktemp("busybox") / "rootfs")))


@pytest.fixture(scope="session")
def busybox_oci(tmp_path_factory, busybox_rootfs):
    """An OCI image layout of the busybox rootfs, tag 'latest', made once per session."""
    d = tmp_path_factory.mktemp("busybox-oci") / "oci"
    busybox.make_oci_layout(str(d), rootfs=str(busybox_rootfs))
    return d


@pytest.fixture(scope="session")
def busybox_docker_archive(tmp_path_factory, busybox_oci):
    """A docker-archive tar (busybox:latest) converted from busybox_oci by skopeo."""
    require_tool("skopeo")
    f = tmp_path_factory.mktemp("busybox-archive") / "busybox.tar"
    busybox.make_docker_archive(str(f), oci_dir=str(busybox_oci))
    return f


@pytest.fixture
def make_bundle(tmp_path, busybox_rootfs):
    """make_bundle(args=[...], mutate=fn, terminal=False) -> Path of a fresh bundle dir
    with a private copy of the busybox rootfs and a config.json equal to `runc spec`'s
    (terminal false). mutate(spec) edits the spec dict in place or returns a new one."""
    counter = itertools.count()

    def make(args=None, mutate=None, terminal=False):
        dest = tmp_path / f"bundle-{next(counter)}"
        busybox.make_bundle(str(dest), args=args, terminal=terminal, mutate=mutate, rootfs=str(busybox_rootfs))
        return dest

    return make


@pytest.fixture
def runtime(build_dir):
    """Path of the OCI runtime under test: berth-runc from the build dir, or $RUNTIME
    (a name on PATH such as runc or crun, or a path) for differential runs."""
    override = os.environ.get("RUNTIME")
    if override:
        return require_tool(override) if "/" not in override else require_binary(override)
    return require_binary(build_dir / "berth-runc")


def _containers_in(root):
    """Container ids with state under a runtime root (runc, crun and berth-runc all keep
    one directory per container there)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir())


@pytest.fixture
def runtime_root(tmp_path, runtime):
    """A fresh --root dir for this test. At teardown any container left in it is deleted
    with `<runtime> --root R delete --force ID` and the dir is removed."""
    root = tmp_path / "runtime-root"
    root.mkdir()
    yield root
    for cid in _containers_in(root):
        subprocess.run([runtime, "--root", str(root), "delete", "--force", cid], capture_output=True, timeout=60)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def container_id(request):
    """A container id unique to this test run, e.g. t-test_hostname-1a2b3c4d."""
    name = "".join(c if c.isalnum() or c in "_-" else "-" for c in request.node.name)[:40]
    return f"t-{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run_runtime(runtime, runtime_root):
    """run_runtime("run", "--bundle", b, cid, timeout=60, input=None) -> CompletedProcess
    of `<runtime> --root <runtime_root> ...`, text mode, output captured, never raises on
    a non-zero exit (tests assert on returncode themselves)."""

    def run(*args, timeout=60, input=None, cwd=None):
        cmd = [runtime, "--root", str(runtime_root)] + [str(a) for a in args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input, cwd=cwd)

    return run


def read_state(run_runtime, cid):
    """The OCI state JSON of a container via `state ID`, as a dict (asserts success)."""
    res = run_runtime("state", cid)
    assert res.returncode == 0, f"state {cid}: {res.stderr}"
    return json.loads(res.stdout)


def pytest_configure(config):
    config.addinivalue_line("markers", "berthd_config(cfg): extra daemon.json keys for the test's berthd")
