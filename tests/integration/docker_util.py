"""The real docker CLI (/usr/local/bin/docker) against a berthd started by the test.

Fixtures (import them into a test module: `from docker_util import docker, dimage, ...`):
  docker -> run(*args, input=None, timeout=60, env=None) -> CompletedProcess of the docker
            CLI with DOCKER_HOST=unix://SOCK, DOCKER_BUILDKIT=0 and DOCKER_CONFIG in a temp
            dir (nothing of the host's docker config is read); text mode, never raising
  dimage -> "busybox:latest", loaded into the test's berthd with `docker load -i`
Helpers: wait_until(pred, what), leftovers(berthd, cid) (mounts, shims, cgroups of a container).
"""

import os
import subprocess
import time

import pytest

from conftest import require_tool
from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)

DOCKER = "/usr/local/bin/docker"


def docker_env(berthd, config_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_HOST=berthd.host, DOCKER_BUILDKIT="0", DOCKER_CONFIG=str(config_dir),
               DOCKER_CLI_HINTS="false")
    return env


def _shims_under(path):
    """pids of berth-shim processes whose command line names something below path."""
    needle = str(path).encode()
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"berth-shim") and any(needle in a for a in argv):
            out.append(int(pid))
    return out


@pytest.fixture
def nothing_left(tmp_path):
    """Set up before berthd, so it is torn down after it: once the daemon stopped and its
    fixture removed every container, no shim of this test may still run."""
    yield
    end = time.monotonic() + DEADLINE
    while _shims_under(tmp_path) and time.monotonic() < end:
        time.sleep(0.05)
    shims = _shims_under(tmp_path)
    for pid in shims:  # ours (this test's paths): do not let them outlive the failure
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert shims == [], f"shims left running after the test: {shims}"


@pytest.fixture
def docker(nothing_left, berthd, tmp_path):
    binary = require_tool(DOCKER)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    base_env = docker_env(berthd, config_dir)

    def run(*args, input=None, timeout=60, env=None):
        full_env = dict(base_env)
        full_env.update(env or {})
        return subprocess.run([binary] + [str(a) for a in args], capture_output=True, text=True,
                              input=input, timeout=timeout, env=full_env)

    run.env = base_env
    run.binary = binary
    yield run
    # every container the test left goes through the daemon; then nothing of them stays mounted
    if berthd.proc.poll() is None:
        ids = run("ps", "-aq", "--no-trunc").stdout.split()
        if ids:
            run("rm", "-f", *ids)
        assert run("ps", "-aq").stdout == ""
        assert mounts_of(berthd) == [], f"mounts left after removing every container: {mounts_of(berthd)}"


@pytest.fixture
def dimage(docker, busybox_docker_archive):
    res = docker("load", "-i", busybox_docker_archive)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Loaded image: busybox:latest\n"
    return "busybox:latest"


def wait_until(pred, what, deadline=DEADLINE):
    """Poll pred() until it returns a true value (returned); fail after the deadline."""
    end = time.monotonic() + deadline
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"
    return res.stdout


def shims_of(cid):
    """pids of berth-shim processes serving container cid."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"berth-shim") and cid.encode() in argv:
            out.append(int(pid))
    return out


def mounts_of(berthd, cid=None):
    """Mount points below the daemon's data/exec roots (those of cid only, if given)."""
    roots = (str(berthd.data_root) + "/", str(berthd.exec_root) + "/")
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(roots) and (cid is None or cid in p)]


def cgroups_of(cid):
    """Cgroup dirs named after cid in any mounted hierarchy."""
    found = []
    base = "/sys/fs/cgroup"
    for ctrl in os.listdir(base):
        p = os.path.join(base, ctrl, "berth", cid)
        if os.path.isdir(p):
            found.append(p)
    return found


def leftovers(berthd, cid):
    """Everything still held for container cid: shims, mounts, cgroups (empty lists = clean)."""
    return {"shims": shims_of(cid), "mounts": mounts_of(berthd, cid), "cgroups": cgroups_of(cid)}
