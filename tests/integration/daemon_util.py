"""A real berthd for CLI tests: started on its own data root, exec root and socket, with
busybox:latest loaded through `berth load`; everything it made is removed at teardown.

Fixtures (import them into a test module: `from daemon_util import berthd, berth, ...`):
  berthd        -> Daemon (sock path, data/exec roots); the daemon is stopped at teardown.
                   No default bridge (-b none) unless the module sets BERTHD_NETWORK = True
  berth         -> run(*args, input=None, timeout=60, env=None) -> CompletedProcess of the
                   berth CLI against that daemon (-H unix://SOCK), text mode, never raising
  busybox_image -> "busybox:latest", loaded into the daemon (once per test)
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import require_binary

DEADLINE = 30  # seconds: turns a hang into a failure; never a timing assertion


# Every test daemon contacts registries on loopback only ("registry-loopback-only"): an
# unknown image (and the docker CLI's auto-pull on "No such image") fails here at once
# instead of going to docker.io.
SAFE_CONFIG = {"registry-loopback-only": True}


def free_subnet24():
    """A 10.x.y.0/24 that no route of this machine overlaps, for a test daemon's bridge."""
    taken = []
    with open("/proc/net/route") as f:
        next(f)
        for line in f:
            fields = line.split()
            dst, mask = int(fields[1], 16), int(fields[7], 16)
            if mask:
                taken.append((socket.ntohl(dst), socket.ntohl(mask)))
    rnd = random.SystemRandom()
    while True:
        net = (10 << 24) | (rnd.randrange(200, 255) << 16) | (rnd.randrange(0, 256) << 8)
        if all((net & m) != (d & m) and (net & 0xFFFFFF00) != (d & 0xFFFFFF00)
               for d, m in taken):
            return f"10.{(net >> 16) & 255}.{(net >> 8) & 255}"


class Daemon:
    """network=False: no default bridge (-b none), containers in bridge mode get loopback
    only, as most suites need; network=True: a bridge and /24 of this daemon's own
    (self.bridge, self.subnet_prefix "10.x.y"), so suites never share one."""

    def __init__(self, binary, base, network=False, net_args=None, config=None):
        self.binary = binary
        if net_args is not None:  # the caller's own network settings (self.bridge unset)
            self.bridge = None
            self.net_args = list(net_args)
        elif network:
            self.bridge = "bt" + uuid.uuid4().hex[:10]
            self.subnet_prefix = free_subnet24()
            self.net_args = ["--bridge", self.bridge, "--bip", self.subnet_prefix + ".1/24"]
        else:
            self.bridge = None
            self.net_args = ["--bridge", "none"]
        self.base = Path(base)
        self.data_root = self.base / "data"
        # Unix socket paths are limited to 108 bytes: keep the exec root (API and shim
        # sockets) short instead of under pytest's long tmp_path.
        self.exec_root = Path(tempfile.mkdtemp(prefix="bx-", dir="/tmp"))
        self.sock = str(self.exec_root / "berth.sock")
        self.data_root.mkdir(parents=True)
        self.config_file = self.base / "daemon.json"
        self.config_file.write_text(json.dumps({**SAFE_CONFIG, **(config or {})}))
        self.log = open(self.base / "berthd.log", "w+")
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def argv(self):
        """The command line of this daemon (the same roots, socket, configuration and
        network settings for a restart)."""
        return [self.binary, "--data-root", str(self.data_root), "--exec-root",
                str(self.exec_root), "-H", "unix://" + self.sock, "--config-file",
                str(self.config_file)] + self.net_args

    def restart(self):
        """Start a new berthd in place of one that was killed or stopped."""
        self.log.write("---- restart ----\n")
        self.log.flush()
        self.proc = subprocess.Popen(self.argv(), stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def host(self):
        return "unix://" + self.sock

    def _wait_ready(self):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"berthd exited with {self.proc.returncode}: {self.logs()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"berthd did not listen on {self.sock}: {self.logs()}")

    def logs(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _kill_leftovers(exec_root):
    """SIGKILL processes this daemon left (shims name their bundle under our exec root),
    for when removing the containers through the API failed."""
    needle = str(exec_root).encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle in f.read():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def _remove_cgroups(exec_root):
    """Remove the cgroups of this daemon's containers whose shims _kill_leftovers ended (a
    killed shim cannot delete its container's cgroups), killing what still runs in them: one
    directory per hierarchy, named after the container, under berth/."""
    ids = set()
    for sub in ("runtime", "containers"):
        try:
            ids.update(n for n in os.listdir(os.path.join(exec_root, sub)) if len(n) == 64)
        except OSError:
            pass
    if not ids:
        return
    # the containers' own processes first: a test that stopped its daemon under live restore
    # leaves them running (a killed shim does not take its container with it), and a cgroup
    # with a process in it cannot go
    for hier in os.listdir("/sys/fs/cgroup"):
        for cid in ids:
            try:
                with open(os.path.join("/sys/fs/cgroup", hier, "berth", cid, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except (OSError, ValueError):
                continue
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for hier in os.listdir("/sys/fs/cgroup"):
        for cid in ids:
            path = os.path.join("/sys/fs/cgroup", hier, "berth", cid)
            for _ in range(250):  # a just-killed cgroup may still be emptying
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _unmount_under(path):
    """Unmount anything still mounted below path (deepest first), so rmtree can work."""
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for mp in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


@pytest.fixture
def berthd(build_dir, tmp_path, request):
    """A test may add daemon.json keys with @pytest.mark.berthd_config(dict or fn(request)
    -> dict); the loopback-only registry setting stays whatever they are. A module that sets
    BERTHD_NETWORK = True gets a daemon with a bridge of its own."""
    berth_bin = require_binary(build_dir / "berth")
    daemon_bin = require_binary(build_dir / "berthd")
    marker = request.node.get_closest_marker("berthd_config")
    config = None
    if marker:
        config = marker.args[0](request) if callable(marker.args[0]) else marker.args[0]
        config = {**config, **SAFE_CONFIG}
    d = Daemon(daemon_bin, tmp_path / "berthd",
               network=getattr(request.module, "BERTHD_NETWORK", False), config=config)
    yield d
    # containers first: live restore keeps them running past the daemon otherwise
    try:
        if d.proc.poll() is None:
            ids = subprocess.run([berth_bin, "-H", d.host, "ps", "-aq", "--no-trunc"],
                                 capture_output=True, text=True, timeout=DEADLINE).stdout.split()
            if ids:
                subprocess.run([berth_bin, "-H", d.host, "rm", "-f"] + ids, capture_output=True,
                               timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pass
    d.stop()
    _kill_leftovers(d.exec_root)
    _remove_cgroups(d.exec_root)
    for root in (d.exec_root, d.base):
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def berth(build_dir, berthd):
    binary = require_binary(build_dir / "berth")

    def run(*args, input=None, timeout=60, env=None):
        full_env = dict(os.environ)
        full_env.pop("BERTH_HOST", None)
        full_env.update(env or {})
        return subprocess.run([binary, "-H", berthd.host] + [str(a) for a in args],
                              capture_output=True, text=True, input=input, timeout=timeout,
                              env=full_env)

    return run


@pytest.fixture
def busybox_image(berth, busybox_docker_archive):
    res = berth("load", "-i", busybox_docker_archive)
    assert res.returncode == 0, res.stderr
    assert "busybox:latest" in res.stdout
    return "busybox:latest"
