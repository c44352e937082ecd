# The container's filesystem and descriptors: the config's mounts (bind ro/rw, tmpfs), /dev
# with the default devices and links, --no-pivot, mount targets that are symlinks staying in
# the rootfs, and no host fd or cwd reaching the container (only --preserve-fds ones).
import os
import subprocess
import uuid

import pytest

from runtime_util import add_bind, mountinfo_lines, rt, unique_id  # noqa: F401


def run_in(rt, make_bundle, script, mutate=None, extra=(), **kw):
    bundle = make_bundle(args=["sh", "-c", script], mutate=mutate)
    return rt.run(unique_id("rootfs"), bundle, *extra, **kw)


def test_bind_mounts_ro_and_rw(rt, make_bundle, tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    ro.mkdir()
    rw.mkdir()
    (ro / "in").write_text("from-host\n")

    def mutate(c):
        add_bind(c, ro, "/data/ro", readonly=True)
        add_bind(c, rw, "/data/rw")
    r = run_in(rt, make_bundle, "cat /data/ro/in; echo x > /data/ro/new; echo w > /data/rw/out",
               mutate=mutate)
    assert r.stdout == "from-host\n", r
    assert "Read-only file system" in r.stderr
    assert not (ro / "new").exists()
    assert (rw / "out").read_text() == "w\n"


def test_tmpfs_mount_with_options(rt, make_bundle):
    def mutate(c):
        c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev", "size=2m", "mode=1770"]})
    r = run_in(rt, make_bundle, "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch",
               mutate=mutate)
    assert r.returncode == 0, r
    line, mode = r.stdout.splitlines()
    assert " - tmpfs " in line and "nosuid" in line and "nodev" in line
    assert "size=2048k" in line
    assert mode == "1770"


def test_default_devices(rt, make_bundle):
    script = ("for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done;"
              " for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done;"
              " echo hello > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c")
    r = run_in(rt, make_bundle, script)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    devs = {l.split()[0]: l.split()[-1] for l in lines[:6]}
    assert devs == {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
                    "/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    assert all("character special file" in l for l in lines[:6])
    links = dict(l.split(" ", 1) for l in lines[6:11])
    assert links["fd"] == "/proc/self/fd"
    assert links["stdin"] == "/proc/self/fd/0"
    assert links["stdout"] == "/proc/self/fd/1"
    assert links["stderr"] == "/proc/self/fd/2"
    assert links["ptmx"] in ("pts/ptmx", "/dev/pts/ptmx")
    assert lines[11:] == ["null-ok", "4"]


def test_device_cgroup_denies_mknod_use(rt, make_bundle):
    # the spec's devices rule denies all but the defaults: a new node can't be opened
    def mutate(c):
        c["process"]["capabilities"] = {k: ["CAP_MKNOD"] for k in
                                        ("bounding", "effective", "permitted")}
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"})
    r = run_in(rt, make_bundle, "mknod /tmp/sda b 8 0 && head -c1 /tmp/sda; echo rc=$?",
               mutate=mutate)
    assert "rc=1" in r.stdout, r
    assert "Operation not permitted" in r.stderr


# runc 1.1 ignores domainname (it came in runc 1.2) and fails this.
def test_domainname(rt, make_bundle):
    r = run_in(rt, make_bundle, "cat /proc/sys/kernel/domainname",
               mutate=lambda c: c.update(domainname="berth.example"))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "berth.example"


def test_no_pivot(rt, make_bundle):
    r = run_in(rt, make_bundle, "echo $$; ls /", extra=("--no-pivot",))
    assert r.returncode == 0, r
    out = r.stdout.split()
    assert out[0] == "1" and "bin" in out and "proc" in out


def symlinked_mount_bundle(make_bundle, link_target):
    def mutate(c):
        c["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m"]})
    b = make_bundle(args=["sh", "-c", "echo inside > /evil/file; cat /evil/file"],
                    mutate=mutate)
    os.symlink(str(link_target), b / "rootfs" / "evil")
    return b


def test_symlink_mount_target_never_reaches_host(rt, make_bundle, tmp_path):
    # /evil in the rootfs points at a host directory; mounting on it must not reach the host
    # (CVE-2021-30465 family). Whether the run then succeeds is the next test's business.
    host_dir = tmp_path / "host-target"
    host_dir.mkdir()
    b = symlinked_mount_bundle(make_bundle, host_dir)
    r = rt.run(unique_id("symlink"), b)
    assert not (host_dir / "file").exists(), r
    assert os.listdir(host_dir) == []
    assert not mountinfo_lines(str(host_dir))
    if r.returncode != 0:
        assert r.stderr.strip()


def test_symlink_mount_target_created_inside_rootfs(rt, make_bundle, tmp_path):
    # runc resolves the link as if the rootfs were / and creates what is missing there, then
    # mounts: images with absolute links to paths they lack (resolv.conf -> /run/...) run.
    host_dir = tmp_path / "host-target2"
    b = symlinked_mount_bundle(make_bundle, host_dir)
    r = rt.run(unique_id("symlink"), b)
    assert not host_dir.exists()
    assert r.returncode == 0, r
    assert r.stdout.strip() == "inside"
    assert (b / "rootfs" / str(host_dir).lstrip("/")).is_dir()


def test_no_host_fd_leaks(rt, make_bundle, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("host-secret")
    fd = os.open(secret, os.O_RDONLY)  # inheritable only through pass_fds below
    try:
        b = make_bundle(args=["sh", "-c", "ls /proc/self/fd; readlink /proc/1/cwd"])
        argv = rt.argv("run", "--bundle", b, unique_id("fds"))
        rt.ids.add(argv[-1])
        p = subprocess.run(argv, capture_output=True, text=True, pass_fds=(fd,),
                           stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=60)
    finally:
        os.close(fd)
    assert p.returncode == 0, p
    lines = p.stdout.split()
    # 0,1,2 and ls's own directory fd; nothing from the host
    fds = sorted(int(x) for x in lines[:-1])
    assert fds[:3] == [0, 1, 2] and len(fds) <= 4, p.stdout
    assert lines[-1] == "/"


def test_preserve_fds(rt, make_bundle, tmp_path):
    f = tmp_path / "passed"
    f.write_text("through-fd-3\n")
    fd = os.open(f, os.O_RDONLY)
    try:
        b = make_bundle(args=["sh", "-c", "cat <&3"])
        argv = rt.argv("run", "--preserve-fds", "1", "--bundle", b, unique_id("pfd"))
        rt.ids.add(argv[-1])
        # the child gets the file as its fd 3 (dup2 runs in the child, before exec)
        p = subprocess.run(argv, capture_output=True, text=True, pass_fds=(3, fd),
                           preexec_fn=lambda: os.dup2(fd, 3), stdin=subprocess.DEVNULL,
                           timeout=60)
    finally:
        os.close(fd)
    assert p.returncode == 0, p
    assert p.stdout == "through-fd-3\n"


def test_oom_score_adj(rt, make_bundle):
    r = run_in(rt, make_bundle, "cat /proc/self/oom_score_adj",
               mutate=lambda c: c["process"].update(oomScoreAdj=432))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "432"


def test_cgroup_namespace(rt, make_bundle):
    def mutate(c):
        c["linux"]["namespaces"].append({"type": "cgroup"})
    r = run_in(rt, make_bundle, "cat /proc/self/cgroup", mutate=mutate)
    assert r.returncode == 0, r
    # inside its own cgroup namespace the container's cgroups are the roots
    for line in r.stdout.splitlines():
        assert line.split(":", 2)[2] == "/", r.stdout
