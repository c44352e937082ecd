# Helpers for the OCI runtime CLI tests (test_runtime_*.py): run the runtime under test through
# its runc-compatible CLI, read its state, and check that a test left no container, cgroup or mount.
# The runtime is conftest's `runtime` fixture: <BERTH_BUILD>/berth-runc, or RUNTIME=runc|crun|PATH
# to check the tests themselves against another runtime, e.g.
#   RUNTIME=$(command -v runc) /usr/bin/python3 -m pytest -q tests/integration/test_runtime_*.py
import contextlib
import json
import os
import socket
import subprocess
import time
import uuid

import pytest

CGROUP_ROOT = "/sys/fs/cgroup"
# Every container id made here starts with this, so leftovers are easy to spot on the host.
ID_PREFIX = "brt"

# The capability numbers of linux/capability.h, for computing CapEff masks.
CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


def cap_mask(names):
    """The /proc/<pid>/status Cap* value (an int) for a list of CAP_ names."""
    mask = 0
    for n in names:
        mask |= 1 << CAPS.index(n)
    return mask


def unique_id(tag="c"):
    """A fresh container id, valid for runc ([a-zA-Z0-9_+-][a-zA-Z0-9_+.-]*)."""
    return f"{ID_PREFIX}-{tag}-{uuid.uuid4().hex[:10]}"


class Result:
    """What one runtime invocation did: its exit code and what it wrote."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def __repr__(self):
        return (f"<{' '.join(self.argv)} -> rc={self.returncode}\n"
                f"stdout={self.stdout!r}\nstderr={self.stderr!r}>")


class Runtime:
    """One runtime binary with its own --root; remembers the ids it was asked about, so that
    teardown can force-delete them and check that nothing named after them stayed behind."""

    def __init__(self, binary, root, workdir):
        self.binary = str(binary)
        self.root = str(root)
        self.workdir = str(workdir)
        self.ids = set()
        self.bundles = set()
        self._n = 0

    def argv(self, *args, global_args=()):
        return [self.binary, "--root", self.root, *global_args, *[str(a) for a in args]]

    def __call__(self, *args, global_args=(), input=None, timeout=60, cwd=None, env=None,
                 stdio_files=False):
        """Run `<runtime> --root R [global_args] args...`.

        With stdio_files=True the runtime's stdout/stderr are regular files instead of pipes.
        Use that for create/run -d/exec -d: the container inherits them and may outlive the
        runtime, and a pipe would then keep us waiting for EOF."""
        argv = self.argv(*args, global_args=global_args)
        if not stdio_files:
            p = subprocess.run(argv, input=input, capture_output=True, text=True,
                               timeout=timeout, cwd=cwd, env=env,
                               stdin=None if input is not None else subprocess.DEVNULL)
            return Result(argv, p.returncode, p.stdout, p.stderr)
        self._n += 1
        out = os.path.join(self.workdir, f"out.{self._n}")
        err = os.path.join(self.workdir, f"err.{self._n}")
        with open(out, "w") as fo, open(err, "w") as fe:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                               timeout=timeout, cwd=cwd, env=env)
        with open(out) as fo, open(err) as fe:
            return Result(argv, p.returncode, fo.read(), fe.read())

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == 0, f"expected success: {r!r}"
        return r

    def fails(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode != 0, f"expected failure: {r!r}"
        return r

    def create(self, cid, bundle, *extra, **kw):
        self.ids.add(cid)
        self.bundles.add(str(bundle))
        kw.setdefault("stdio_files", True)
        return self("create", "--bundle", bundle, *extra, cid, **kw)

    def run(self, cid, bundle, *extra, **kw):
        self.ids.add(cid)
        self.bundles.add(str(bundle))
        return self("run", "--bundle", bundle, *extra, cid, **kw)

    def state(self, cid):
        r = self.ok("state", cid)
        return json.loads(r.stdout)

    def status(self, cid):
        return self.state(cid)["status"]

    def wait_status(self, cid, want, timeout=20):
        """Poll `state` until status is `want` (no timing assertion: the bound is a safety net)."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st["status"] == want:
                return st
            time.sleep(0.05)
        raise AssertionError(f"{cid}: status {st and st['status']!r}, want {want!r}")

    def delete_force(self, cid):
        return self("delete", "--force", cid)


def cgroup_dirs_named(name):
    """Every cgroup directory (any hierarchy) whose basename contains `name`."""
    found = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        for d in dirs:
            if name in d:
                found.append(os.path.join(top, d))
    return found


def mountinfo_lines(containing, path="/proc/self/mountinfo"):
    with open(path) as f:
        return [l for l in f if containing in l]


def container_cgroup(pid, controller):
    """The cgroup path of `pid` for a v1 controller (or the v2 path with controller '')."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctls, path = line.rstrip("\n").split(":", 2)
            if controller in ctls.split(","):
                return path
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def cgroup_v2():
    """True on a pure cgroup v2 host (not this hybrid one, where v1 controllers rule)."""
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def cgroup_file(pid, v1, v2):
    """Path of a cgroup control file of `pid`'s cgroup: v1 is "controller/file"
    (e.g. "memory/memory.limit_in_bytes"), v2 the file name in the unified tree."""
    if cgroup_v2():
        return os.path.join(CGROUP_ROOT + container_cgroup(pid, ""), v2)
    ctl, name = v1.split("/")
    return os.path.join(CGROUP_ROOT, ctl + container_cgroup(pid, ctl), name)


def proc_status(pid):
    """/proc/<pid>/status as a dict."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pid_gone(pid):
    """True once `pid` has exited (no such process, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v is not None and v is not False:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def wait_file(path, containing="", timeout=20):
    """Wait until file `path` exists and holds `containing`; returns its text."""
    def check():
        try:
            with open(path) as f:
                t = f.read()
        except FileNotFoundError:
            return None
        return t if containing in t else None
    return wait_for(check, timeout, f"{path} to contain {containing!r}")


def add_bind(cfg, source, destination, readonly=False):
    """Bind-mount host dir `source` at `destination` in the container config."""
    cfg.setdefault("mounts", []).append({
        "destination": destination, "type": "bind", "source": str(source),
        "options": ["rbind", "ro" if readonly else "rw"]})


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


@contextlib.contextmanager
def unix_listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
        s.listen(1)
        yield s
    finally:
        s.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def check_nothing_left(rt, extra_names=()):
    """Assert the runtime left nothing behind for any id it saw: no state dir under --root,
    no cgroup named after the id, no mount naming the id."""
    problems = []
    for cid in sorted(rt.ids) + list(extra_names):
        if os.path.exists(os.path.join(rt.root, cid)):
            problems.append(f"state dir {rt.root}/{cid}")
        for d in cgroup_dirs_named(cid):
            problems.append(f"cgroup {d}")
        for l in mountinfo_lines(cid):
            problems.append(f"mount {l.strip()}")
    for b in sorted(rt.bundles):
        for l in mountinfo_lines(b):
            problems.append(f"mount {l.strip()}")
    return problems


@pytest.fixture
def rt(runtime, runtime_root, tmp_path):
    """The runtime under test on this test's own --root. At teardown every container this
    test touched is force-deleted, then the test fails if a state dir, cgroup or mount named
    after one of them remains."""
    wd = tmp_path / "rt-io"
    wd.mkdir()
    r = Runtime(runtime, runtime_root, wd)
    yield r
    for cid in sorted(r.ids):
        r.delete_force(cid)
    problems = check_nothing_left(r)
    # Remove what we can so one failure does not spill into the next tests.
    for p in sorted(problems, reverse=True):
        if p.startswith("cgroup "):
            with contextlib.suppress(OSError):
                os.rmdir(p.split(" ", 1)[1])
    assert not problems, "left behind: " + "; ".join(problems)
