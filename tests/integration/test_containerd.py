# A real client drives the runtime under test: Debian's containerd (its own root, state dir,
# socket and namespace) runs the busybox fixture image through the runc shim with
# --runc-binary set to the runtime, and ctr gets the container's output and exit code.
import os
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from runtime_util import cgroup_dirs_named, mountinfo_lines, pid_gone, wait_for

from conftest import require_tool

IMAGE = "docker.io/library/busybox:latest"

CONFIG = """version = 2
root = "{root}"
state = "{state}"
# Only what `ctr run` needs: no CRI, no snapshotters this host cannot use, nothing under /opt.
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
"""


def _descendants(pid):
    """Pids of all live descendants of pid (read from /proc, no ps needed)."""
    children = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _shims_of(namespace):
    """Pids of containerd-shim processes serving our namespace (they re-parent away from
    containerd, so they are found by their -namespace argument)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and namespace.encode() in argv:
            pids.append(int(p))
    return pids


class Containerd:
    def __init__(self, base, runtime):
        self.base = base
        self.root = base / "root"
        self.state = base / "state"
        self.runc_root = base / "runc"
        self.sock = base / "c.sock"
        self.log = base / "containerd.log"
        self.namespace = "berth-test-" + uuid.uuid4().hex[:8]
        self.calls = base / "runtime-calls.log"
        self.ctr_bin = require_tool("ctr")
        # A wrapper that records each call, so the test can see the runtime really was used.
        self.wrapper = base / "runtime-wrapper"
        self.wrapper.write_text(f'#!/bin/sh\necho "$*" >> {self.calls}\nexec {runtime} "$@"\n')
        self.wrapper.chmod(0o755)
        self.proc = None
        # ctr and the shim make /run/containerd/{fifo,s}; remove them after if we made them
        self.made_run_dir = not os.path.exists("/run/containerd")

    def start(self):
        for d in (self.root, self.state, self.runc_root):
            d.mkdir()
        cfg = self.base / "config.toml"
        cfg.write_text(CONFIG.format(root=self.root, state=self.state, sock=self.sock))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [require_tool("containerd"), "--config", str(cfg)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or
                 (self.sock.exists() and self.ctr("version").returncode == 0) or None,
                 timeout=30, what="containerd to answer")
        assert self.proc.poll() is None, f"containerd died:\n{self.log.read_text()}"

    def ctr(self, *args, timeout=60, check=False):
        p = subprocess.run([self.ctr_bin, "-a", str(self.sock), "-n", self.namespace,
                            *[str(a) for a in args]],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check:
            assert p.returncode == 0, f"ctr {args}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def run_args(self):
        return ["--runc-binary", str(self.wrapper), "--runc-root", str(self.runc_root)]

    def stop(self):
        shims = _shims_of(self.namespace)
        if self.proc and self.proc.poll() is None:
            shims += _descendants(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # shims (and their containers) outlive containerd by design; they are ours to end
        for pid in shims:
            for child in _descendants(pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in shims:
            wait_for(lambda: pid_gone(pid), what=f"shim {pid} to exit")
        # snapshot mounts, shm, rootfs mounts under our dirs: innermost first
        lines = mountinfo_lines(str(self.base))
        for mp in sorted((l.split()[4] for l in lines), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        # cgroups ctr made for our namespace (<ns>/<id> in each hierarchy)
        for d in sorted(cgroup_dirs_named(self.namespace), key=len, reverse=True):
            for sub, _, _ in sorted(os.walk(d), key=lambda t: len(t[0]), reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.base)], check=False)
        if self.made_run_dir:
            for d in ("/run/containerd/fifo", "/run/containerd/s", "/run/containerd"):
                try:
                    os.rmdir(d)  # only when empty: never someone else's files
                except OSError:
                    pass


@pytest.fixture
def containerd(runtime, busybox_docker_archive):
    # Short base path: unix socket paths must fit in 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="berth-ctrd."))
    c = Containerd(base, runtime)
    try:
        c.start()
        c.ctr("images", "import", busybox_docker_archive, timeout=120, check=True)
        yield c
    finally:
        c.stop()
    assert not mountinfo_lines(str(base)), "mounts left under the containerd dirs"
    assert not cgroup_dirs_named(c.namespace), "cgroups left for the containerd namespace"
    assert not os.path.exists(base)


def test_ctr_run_output_and_exit_code(containerd):
    cid = "brt-ctr-" + uuid.uuid4().hex[:8]
    p = containerd.ctr("run", "--rm", *containerd.run_args(), IMAGE, cid,
                       "sh", "-c", "echo hi; exit 7")
    assert p.stdout == "hi\n", p
    assert p.returncode == 7, p
    calls = [l.split() for l in containerd.calls.read_text().splitlines()]
    verbs = [next(a for a in c if a in ("create", "start", "delete", "kill", "state"))
             for c in calls if any(a in ("create", "start", "delete", "kill", "state") for a in c)]
    assert "create" in verbs and "start" in verbs and "delete" in verbs, calls
    # the task and container are gone (--rm)
    assert cid not in containerd.ctr("containers", "list", "-q", check=True).stdout.split()


def test_ctr_detached_exec_kill(containerd):
    cid = "brt-ctr-" + uuid.uuid4().hex[:8]
    containerd.ctr("run", "-d", "--null-io", *containerd.run_args(), IMAGE, cid,
                   "sleep", "1000", check=True)
    tasks = containerd.ctr("tasks", "list", check=True).stdout
    row = [l.split() for l in tasks.splitlines() if l.startswith(cid)]
    assert row and row[0][2] == "RUNNING", tasks
    init_pid = int(row[0][1])

    # exec goes through `runtime exec --process F --detach --pid-file P`
    p = containerd.ctr("tasks", "exec", "--exec-id", "e1", cid,
                       "sh", "-c", "echo exec-ok $(hostname); exit 4")
    assert p.returncode == 4, p
    assert p.stdout.split()[0] == "exec-ok", p

    # ps comes from the container's cgroup / `runtime ps`
    ps = containerd.ctr("tasks", "ps", cid, check=True).stdout
    assert str(init_pid) in ps.split()

    containerd.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=True)
    wait_for(lambda: "STOPPED" in containerd.ctr("tasks", "list").stdout or None,
             what="task to stop")
    containerd.ctr("tasks", "delete", cid, check=True)
    containerd.ctr("containers", "delete", cid, check=True)
    assert pid_gone(init_pid)
    verbs = containerd.calls.read_text()
    assert " exec " in verbs and " kill " in verbs
