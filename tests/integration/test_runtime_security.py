# Runtime escapes that must stay closed, checked by their observable effects:
# CVE-2019-5736 (the runtime binary reached through the container init's /proc/<pid>/exe must
# not be writable) and CVE-2024-21626 (no host fd or host cwd in the container or an exec).
import errno
import os
import shutil

import pytest

from runtime_util import Runtime, rt, unique_id  # noqa: F401


@pytest.fixture
def rt_copy(runtime, runtime_root, tmp_path):
    """The runtime under test, run from a private copy of its binary: if the binary were
    writable through /proc/<pid>/exe, only this copy could be damaged."""
    copy = tmp_path / "runtime-copy"
    shutil.copy2(runtime, copy)
    wd = tmp_path / "rt-copy-io"
    wd.mkdir()
    r = Runtime(copy, runtime_root, wd)
    yield r, copy
    for cid in sorted(r.ids):
        r.delete_force(cid)


def test_runtime_binary_not_writable_through_init_exe(rt_copy, make_bundle):
    rt, copy = rt_copy
    before = copy.read_bytes()
    cid = unique_id("exe")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]))
    assert r.returncode == 0, r
    pid = rt.state(cid)["pid"]
    # What a process in the container could grab while the runtime's init runs in there
    fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
    try:
        rt.ok("start", cid)
        rt.wait_status(cid, "running")
        # The init now runs `sleep`; nothing executes the copy, so if fd is that file,
        # reopening it for writing works and the attack succeeds.
        try:
            wfd = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)
        except OSError as e:
            assert e.errno in (errno.EPERM, errno.EROFS, errno.EACCES, errno.ETXTBSY), e
        else:
            try:
                size = os.fstat(wfd).st_size
                with pytest.raises(OSError):
                    os.pwrite(wfd, b"\0", size)  # past the end: changes no existing byte
            finally:
                os.close(wfd)
    finally:
        os.close(fd)
    assert copy.read_bytes() == before
    rt.ok("delete", "--force", cid)


def test_exec_gets_no_host_fds(rt, make_bundle):
    cid = unique_id("execfd")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    r = rt("exec", cid, "sh", "-c", "ls /proc/self/fd; readlink /proc/self/cwd; "
           "for f in /proc/self/fd/*; do readlink $f; done; true")
    assert r.returncode == 0, r
    lines = r.stdout.split()
    fds = [int(x) for x in lines if x.isdigit()]
    assert sorted(fds)[:3] == [0, 1, 2] and len(fds) <= 4, r.stdout
    assert "/" in lines
    # no descriptor names a host directory (cgroupfs, the runtime's root, the bundle)
    for target in lines:
        assert not target.startswith(("/sys/fs/cgroup", "/tmp/pytest", "/run/")), r.stdout


@pytest.mark.parametrize("fdnum", [3, 4, 5, 6, 7, 8, 9])
def test_cwd_through_proc_fd_does_not_escape(rt, make_bundle, fdnum):
    # CVE-2024-21626: cwd /proc/self/fd/N once reached a host directory through a leaked fd
    cid = unique_id("cwdfd")
    b = make_bundle(args=["sh", "-c", "readlink /proc/self/cwd; ls .."],
                    mutate=lambda c: c["process"].update(cwd=f"/proc/self/fd/{fdnum}"))
    r = rt.run(cid, b)
    if r.returncode == 0:
        cwd = r.stdout.split()[0]
        assert "unreachable" not in cwd, r.stdout
        assert not cwd.startswith(("/sys", "/tmp", "/run", "/work")), r.stdout
    else:
        assert r.stderr.strip()
