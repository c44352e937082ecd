"""Execution drivers: the same container scenario with the native driver and with the OCI
runtimes named in daemon.json (runc, Debian's crun, our berth-runc), chosen per container
with --runtime and shown as HostConfig.Runtime: output, exit code, exec, a tty, limits in the
cgroup, update, top, stats, pause, stop, an OOM kill, and nothing left in the runtime's state."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import require_binary
from daemon_util import Daemon, _kill_leftovers, _remove_cgroups, _unmount_under

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
UNIFIED = "/sys/fs/cgroup/unified/cgroup.controllers"


@pytest.fixture
def crun_ready():
    """crun 1.8 refuses hybrid mode while cgroup2 holds a controller: move hugetlb to a v1
    hierarchy for the test (and back after), as /work/shared/TESTING.md describes."""
    mounted = False
    try:
        with open(UNIFIED) as f:
            busy = "hugetlb" in f.read().split()
    except OSError:
        busy = False
    if busy:
        os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
        res = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup",
                              "/sys/fs/cgroup/hugetlb"], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        mounted = True
    yield
    if mounted:
        subprocess.run(["umount", "/sys/fs/cgroup/hugetlb"], capture_output=True)
        try:
            os.rmdir("/sys/fs/cgroup/hugetlb")
        except OSError:
            pass


@pytest.fixture
def rt_daemon(build_dir, tmp_path, busybox_docker_archive):
    runtimes = {"berth-runc": {"path": str(build_dir / "berth-runc")}}
    for name in ("runc", "crun"):
        path = shutil.which(name)
        if path:
            runtimes[name] = {"path": path}
    d = Daemon(require_binary(build_dir / "berthd"), tmp_path / "berthd",
               config={"runtimes": runtimes})
    binary = require_binary(build_dir / "berth")

    def berth(*args, input=None, timeout=60):
        return subprocess.run([binary, "-H", d.host] + [str(a) for a in args],
                              capture_output=True, text=True, input=input, timeout=timeout)

    assert berth("load", "-i", busybox_docker_archive).returncode == 0
    d.berth = berth
    d.runtimes = runtimes
    yield d
    ids = berth("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        berth("rm", "-f", *ids)
    d.stop()
    _kill_leftovers(d.exec_root)
    _remove_cgroups(d.exec_root)
    for root in (d.exec_root, d.base):
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


def cgfile(cid, controller, name):
    path = (f"/sys/fs/cgroup/berth/{cid}/{name}" if V2
            else f"/sys/fs/cgroup/{controller}/berth/{cid}/{name}")
    with open(path) as f:
        return f.read().strip()


def inspect(berth, name):
    res = berth("inspect", name)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)[0]


@pytest.mark.parametrize("runtime", ["native", "runc", "crun", "berth-runc"])
def test_same_scenario_on_every_runtime(rt_daemon, crun_ready, runtime):
    berth = rt_daemon.berth
    if runtime != "native" and runtime not in rt_daemon.runtimes:
        pytest.fail(f"{runtime} not installed: run scripts/install-deps.sh")
    rt = ["--runtime", runtime]
    # output and exit code
    res = berth("run", "--rm", *rt, "busybox:latest", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (res.returncode, res.stdout, res.stderr) == (3, "out\n", "err\n")
    # a detached container with limits: inspect, exec, tty exec, top, stats, update, pause
    cid = berth("run", "-d", "--name", "ctr", *rt, "-m", "32m", "--pids-limit", "20",
                "busybox:latest", "sleep", "300").stdout.strip()
    d = inspect(berth, "ctr")
    assert d["HostConfig"]["Runtime"] == runtime
    assert d["State"]["Running"]
    res = berth("exec", "-e", "X=1", "-w", "/tmp", "ctr", "sh", "-c", "echo $X $(pwd)")
    assert res.stdout == "1 /tmp\n", res.stderr
    res = berth("exec", "ctr", "sh", "-c", "exit 7")
    assert res.returncode == 7
    if not V2:
        assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(32 << 20)
        assert cgfile(cid, "pids", "pids.max") == "20"
    top = berth("top", "ctr")
    assert top.returncode == 0, top.stderr
    assert "sleep 300" in top.stdout
    stats = berth("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "ctr")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.split()[3:] == ["32MiB", "1"], stats.stdout
    assert berth("update", "-m", "48m", "ctr").returncode == 0
    if not V2:
        assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(48 << 20)
    assert berth("pause", "ctr").returncode == 0
    assert inspect(berth, "ctr")["State"]["Status"] == "paused"
    assert berth("unpause", "ctr").returncode == 0
    assert berth("stop", "-t", "1", "ctr").returncode == 0
    st = inspect(berth, "ctr")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137
    # an OOM kill is reported whichever runtime ran the process
    res = berth("run", "--name", "oo", *rt, "-m", "8m", "--memory-swap", "8m", "busybox:latest",
                "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a)")
    assert res.returncode == 137
    assert inspect(berth, "oo")["State"]["OOMKilled"] is True
    assert berth("rm", "-f", "ctr", "oo").returncode == 0
    # nothing left in the runtime's own state
    if runtime in ("runc", "crun"):
        root = rt_daemon.exec_root / "runtimes" / runtime
        listed = subprocess.run([rt_daemon.runtimes[runtime]["path"], "--root", str(root),
                                 "list", "-q"], capture_output=True, text=True)
        assert listed.stdout.strip() == "", listed.stdout


def test_tty_with_an_external_runtime(rt_daemon):
    if "runc" not in rt_daemon.runtimes:
        pytest.fail("runc not installed: run scripts/install-deps.sh")
    berth = rt_daemon.berth
    cid = berth("run", "-d", "-t", "--runtime", "runc", "--name", "tt", "busybox:latest",
                "sh").stdout.strip()
    assert cid
    res = berth("exec", "-t", "tt", "tty")
    assert res.stdout.strip().startswith("/dev/pts/"), (res.stdout, res.stderr)
    res = berth("exec", "tt", "tty")
    assert res.stdout.strip() == "not a tty"


def test_unknown_runtime_creates_nothing(rt_daemon):
    berth = rt_daemon.berth
    res = berth("run", "-d", "--runtime", "nope", "busybox:latest", "true")
    assert res.returncode == 125
    assert "unknown or invalid runtime name: nope" in res.stderr
    assert berth("ps", "-aq").stdout == ""
    info = json.loads(berth("info", "--format", "{{json .Runtimes}}").stdout)
    assert {"native", "runc", "berth-runc"} <= set(info)


def _restart_daemon(d):
    d.stop()
    d.log = open(d.base / "berthd.log", "a+")
    d.restart()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_external_runtime_container_survives_a_daemon_restart(rt_daemon, crun_ready, runtime):
    """Live restore with an OCI runtime: the container and its shim outlive berthd, the new
    berthd reconnects (exec, stop), and nothing is left in the runtime's state."""
    if runtime not in rt_daemon.runtimes:
        pytest.fail(f"{runtime} not installed: run scripts/install-deps.sh")
    berth = rt_daemon.berth
    res = berth("run", "-d", "--name", "lr", "--runtime", runtime, "busybox:latest", "sleep",
                "300")
    assert res.returncode == 0, res.stderr
    pid = inspect(berth, "lr")["State"]["Pid"]
    _restart_daemon(rt_daemon)
    st = inspect(berth, "lr")["State"]
    assert st["Running"] and st["Pid"] == pid and _alive(pid)
    res = berth("exec", "lr", "echo", "back")
    assert (res.returncode, res.stdout) == (0, "back\n"), res.stderr
    assert berth("stop", "-t", "1", "lr").returncode == 0
    assert not _alive(pid)
    assert berth("rm", "lr").returncode == 0
    root = rt_daemon.exec_root / "runtimes" / runtime
    listed = subprocess.run([rt_daemon.runtimes[runtime]["path"], "--root", str(root), "list",
                             "-q"], capture_output=True, text=True)
    assert listed.stdout.strip() == "", listed.stdout


def test_shim_that_died_while_the_daemon_was_away_gets_runtime_delete(rt_daemon):
    """A runc container whose shim was killed while berthd was down: the new berthd runs
    `runc delete --force` for it (its process ends, runc forgets it), marks it exited, and
    it can be started again under the same ID."""
    if "runc" not in rt_daemon.runtimes:
        pytest.fail("runc not installed: run scripts/install-deps.sh")
    from docker_util import shims_of
    berth = rt_daemon.berth
    cid = berth("run", "-d", "--name", "orphan", "--runtime", "runc", "busybox:latest",
                "sleep", "300").stdout.strip()
    assert cid
    pid = inspect(berth, "orphan")["State"]["Pid"]
    shims = shims_of(cid)
    assert len(shims) == 1
    rt_daemon.stop()
    os.kill(shims[0], 9)
    root = rt_daemon.exec_root / "runtimes" / "runc"
    runc = rt_daemon.runtimes["runc"]["path"]

    def listed():
        return subprocess.run([runc, "--root", str(root), "list", "-q"], capture_output=True,
                              text=True).stdout.split()

    assert cid in listed() and _alive(pid)  # runc still knows it, its process still runs
    rt_daemon.log = open(rt_daemon.base / "berthd.log", "a+")
    rt_daemon.restart()
    st = inspect(berth, "orphan")["State"]
    assert st["Status"] == "exited" and not st["Running"]
    assert cid not in listed()
    assert not _alive(pid)
    res = berth("start", "orphan")
    assert res.returncode == 0, res.stderr
    assert inspect(berth, "orphan")["State"]["Running"]
    assert berth("rm", "-f", "orphan").returncode == 0
