# What the container process sees when the runtime runs it (`run`, foreground): exit code, pid 1,
# hostname, /proc, mounts, capabilities, seccomp, rootfs and path protections, env/cwd/user,
# rlimits, no_new_privileges, umask, sysctls, user namespaces, and joining a namespace by path.
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import busybox  # tests/fixtures/busybox.py, on sys.path through conftest
import pytest

from runtime_util import (add_bind, cap_mask, pid_alive, proc_status, rt,  # noqa: F401
                          unique_id)


def run_in(rt, make_bundle, script, mutate=None, cid_tag="proc"):
    """Run `sh -c script` in a fresh busybox bundle with `run` in the foreground."""
    bundle = make_bundle(args=["sh", "-c", script], mutate=mutate)
    return rt.run(unique_id(cid_tag), bundle)


def tmpfs_at(cfg, dest):
    cfg.setdefault("mounts", []).append(
        {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["rw", "mode=1777"]})


def test_exit_code_propagates(rt, make_bundle):
    r = run_in(rt, make_bundle, "echo out; echo err >&2; exit 3")
    assert r.returncode == 3, r
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"


def test_exit_zero(rt, make_bundle):
    r = run_in(rt, make_bundle, "echo done")
    assert r.returncode == 0, r
    assert r.stdout == "done\n"


def test_pid_1(rt, make_bundle):
    r = run_in(rt, make_bundle, "echo $$")
    assert r.returncode == 0, r
    assert r.stdout.strip() == "1"


def test_hostname(rt, make_bundle):
    name = "bh-" + uuid.uuid4().hex[:8]
    r = run_in(rt, make_bundle, "hostname; cat /proc/sys/kernel/hostname",
               mutate=lambda c: c.update(hostname=name))
    assert r.returncode == 0, r
    assert r.stdout.split() == [name, name]
    assert os.uname().nodename != name


def test_proc_shows_only_container_processes(rt, make_bundle):
    # Only builtins, so the shell (pid 1) is the only process there is.
    r = run_in(rt, make_bundle, "for p in /proc/[0-9]*; do echo ${p#/proc/}; done")
    assert r.returncode == 0, r
    assert r.stdout.split() == ["1"]


def test_host_mounts_not_visible(rt, make_bundle, tmp_path):
    # A mount that exists only on the host, made by the test itself.
    mark = "hostonly-" + uuid.uuid4().hex[:8]
    mnt = tmp_path / mark
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", mark, str(mnt)], check=True)
    try:
        r = run_in(rt, make_bundle, "cat /proc/self/mountinfo")
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    assert r.returncode == 0, r
    assert mark not in r.stdout
    fields = [l.split() for l in r.stdout.splitlines()]
    mountpoints = {f[4] for f in fields}
    assert "/" in mountpoints and "/proc" in mountpoints
    # nothing of the host's tree is reachable: no path outside what the config mounts
    assert not any(p.startswith(str(tmp_path)) for p in mountpoints), r.stdout


CAP_SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


@pytest.mark.parametrize("caps", [
    ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
    ["CAP_NET_BIND_SERVICE"],
    [],
])
def test_capeff_matches_config(rt, make_bundle, caps):
    def mutate(c):
        c["process"]["capabilities"] = {
            "bounding": caps, "effective": caps, "permitted": caps,
            "inheritable": [], "ambient": []}
    r = run_in(rt, make_bundle, "grep ^Cap /proc/self/status", mutate=mutate)
    assert r.returncode == 0, r
    got = dict(l.split(":\t") for l in r.stdout.splitlines())
    want = cap_mask(caps)
    assert int(got["CapEff"], 16) == want, r.stdout
    assert int(got["CapPrm"], 16) == want
    assert int(got["CapBnd"], 16) == want
    assert int(got["CapInh"], 16) == 0
    assert int(got["CapAmb"], 16) == 0


def test_ambient_caps_for_non_root_user(rt, make_bundle):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]

    def mutate(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["process"]["capabilities"] = {s: caps for s in CAP_SETS}
    r = run_in(rt, make_bundle, "grep ^Cap /proc/self/status", mutate=mutate)
    assert r.returncode == 0, r
    got = dict(l.split(":\t") for l in r.stdout.splitlines())
    for k in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
        assert int(got[k], 16) == cap_mask(caps), (k, r.stdout)


def seccomp_deny(names, errno_ret=None):
    rule = {"names": names, "action": "SCMP_ACT_ERRNO"}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret

    def mutate(c):
        tmpfs_at(c, "/tmp")
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [rule]}
    return mutate


@pytest.mark.parametrize("errno_ret", [None, 1])
def test_seccomp_errno_denies_mkdir(rt, make_bundle, errno_ret):
    # errnoRet absent means EPERM (runtime-spec); 1 is EPERM spelled out.
    r = run_in(rt, make_bundle,
               "touch /tmp/f && echo touched; mkdir /tmp/x; echo rc=$?; [ -d /tmp/x ] || echo nodir",
               mutate=seccomp_deny(["mkdir", "mkdirat"], errno_ret))
    assert r.returncode == 0, r
    assert "touched" in r.stdout  # other syscalls still work
    assert "rc=1" in r.stdout and "nodir" in r.stdout
    assert "Operation not permitted" in r.stderr


def test_seccomp_errno_value(rt, make_bundle):
    # errnoRet 28 is ENOSPC: the number reaches the caller as is.
    r = run_in(rt, make_bundle, "mkdir /tmp/x",
               mutate=seccomp_deny(["mkdir", "mkdirat"], 28))
    assert r.returncode != 0, r
    assert "No space left on device" in r.stderr


def test_seccomp_without_rule_allows(rt, make_bundle):
    r = run_in(rt, make_bundle, "mkdir /tmp/x && echo made",
               mutate=seccomp_deny(["chroot"]))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "made"


def test_readonly_rootfs(rt, make_bundle):
    r = run_in(rt, make_bundle, "touch /x",
               mutate=lambda c: c["root"].update(readonly=True))
    assert r.returncode != 0, r
    assert "Read-only file system" in r.stderr


def test_writable_rootfs(rt, make_bundle):
    b = make_bundle(args=["sh", "-c", "touch /x && echo ok"],
                    mutate=lambda c: c["root"].update(readonly=False))
    r = rt.run(unique_id("rw"), b)
    assert r.returncode == 0, r
    assert (b / "rootfs" / "x").exists()


def test_masked_and_readonly_paths(rt, make_bundle):
    def mutate(c):
        c["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/keys", "/sys/firmware"]
        c["linux"]["readonlyPaths"] = ["/proc/sys"]
    r = run_in(rt, make_bundle,
               "echo kcore=$(cat /proc/kcore | wc -c); echo fw=$(ls -A /sys/firmware | wc -l);"
               " echo 1 > /proc/sys/net/ipv4/ip_forward; echo w=$?", mutate=mutate)
    assert "kcore=0" in r.stdout, r
    assert "fw=0" in r.stdout, r
    assert "w=1" in r.stdout, r
    assert "Read-only file system" in r.stderr


def test_env_cwd_user(rt, make_bundle):
    def mutate(c):
        c["process"]["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY="]
        c["process"]["cwd"] = "/var/lib/work"
        c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [1002, 1003]}
    r = run_in(rt, make_bundle,
               'echo "FOO=$FOO"; echo "EMPTY=${EMPTY-unset}"; pwd; '
               "grep -E '^(Uid|Gid|Groups):' /proc/self/status", mutate=mutate)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "FOO=bar baz"
    assert lines[1] == "EMPTY="
    assert lines[2] == "/var/lib/work"
    st = {l.split(":")[0]: l.split(":", 1)[1].split() for l in lines[3:]}
    assert st["Uid"] == ["1000"] * 4
    assert st["Gid"] == ["1001"] * 4
    assert sorted(st["Groups"]) == ["1002", "1003"]


def test_env_only_from_config(rt, make_bundle):
    os.environ["BERTH_TEST_LEAK"] = "1"
    try:
        r = run_in(rt, make_bundle, "env",
                   mutate=lambda c: c["process"].update(env=["PATH=/bin", "A=1"]))
    finally:
        del os.environ["BERTH_TEST_LEAK"]
    assert r.returncode == 0, r
    names = {l.split("=", 1)[0] for l in r.stdout.splitlines()}
    assert "A" in names and "BERTH_TEST_LEAK" not in names


def test_rlimits(rt, make_bundle):
    def mutate(c):
        c["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
            {"type": "RLIMIT_NPROC", "soft": 77, "hard": 88}]
    r = run_in(rt, make_bundle, "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu", mutate=mutate)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["123", "456", "77", "88"]


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt, make_bundle, nnp):
    r = run_in(rt, make_bundle, "grep NoNewPrivs /proc/self/status",
               mutate=lambda c: c["process"].update(noNewPrivileges=nnp))
    assert r.returncode == 0, r
    assert r.stdout.split() == ["NoNewPrivs:", "1" if nnp else "0"]


def test_umask(rt, make_bundle):
    r = run_in(rt, make_bundle, "umask",
               mutate=lambda c: c["process"]["user"].update(umask=0o027))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "0027"


def test_sysctl_in_new_netns(rt, make_bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read()

    def mutate(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
        ns = [n["type"] for n in c["linux"]["namespaces"]]
        assert "network" in ns and "ipc" in ns
    r = run_in(rt, make_bundle,
               "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", mutate=mutate)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["1", "1234"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_before


def userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # cgroup v1 filesystems cannot be mounted from a user namespace without cgroupns.
    c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]


@pytest.fixture
def userns_bundle(rt, busybox_rootfs):  # rt: containers go before their bundles
    """Like make_bundle, but in a directory of its own that the mapped host uid 100000 can
    traverse (pytest's base temp dir is 0700, which the container's root could not pass)."""
    base = tempfile.mkdtemp(prefix="berth-userns.")
    os.chmod(base, 0o711)
    n = [0]

    def make(args=None, mutate=None):
        n[0] += 1
        dest = os.path.join(base, f"bundle-{n[0]}")
        busybox.make_bundle(dest, args=args, mutate=mutate, rootfs=str(busybox_rootfs))
        return Path(dest)
    yield make
    shutil.rmtree(base)


def test_user_namespace_mapping(rt, userns_bundle):
    b = userns_bundle(args=["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map"],
                      mutate=userns)
    r = rt.run(unique_id("userns"), b)
    assert r.returncode == 0, r
    out = r.stdout.split()
    assert out[:2] == ["0", "0"]
    assert out[2:] == ["0", "100000", "65536", "0", "100000", "65536"]


def test_user_namespace_host_view(rt, userns_bundle):
    b = userns_bundle(args=["sleep", "1000"], mutate=userns)
    cid = unique_id("usernsh")
    r = rt.create(cid, b)
    assert r.returncode == 0, r
    rt.ok("start", cid)
    pid = rt.wait_status(cid, "running")["pid"]
    st = proc_status(pid)
    assert st["Uid"].split() == ["100000"] * 4
    assert st["Gid"].split() == ["100000"] * 4
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "100000", "65536"]
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")


@pytest.fixture
def netns_with_veth():
    name = "berth-test-" + uuid.uuid4().hex[:8]
    ifname = "bv" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", ifname, "type", "veth",
                        "peer", "name", ifname + "p"], check=True)
        subprocess.run(["ip", "-n", name, "addr", "add", "10.213.7.1/24", "dev", ifname],
                       check=True)
        yield name, ifname
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)
    assert not os.path.exists(f"/run/netns/{name}")


def test_join_netns_by_path(rt, make_bundle, netns_with_veth):
    name, ifname = netns_with_veth

    def mutate(c):
        c["linux"]["namespaces"] = [
            n for n in c["linux"]["namespaces"] if n["type"] != "network"] + [
            {"type": "network", "path": f"/run/netns/{name}"}]
    r = run_in(rt, make_bundle, "ip addr", mutate=mutate)
    assert r.returncode == 0, r
    assert ifname in r.stdout
    assert "10.213.7.1/24" in r.stdout


def test_join_netns_by_path_running(rt, make_bundle, netns_with_veth):
    name, _ = netns_with_veth

    def mutate(c):
        c["linux"]["namespaces"] = [
            n for n in c["linux"]["namespaces"] if n["type"] != "network"] + [
            {"type": "network", "path": f"/run/netns/{name}"}]
    cid = unique_id("netns")
    assert rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate)).returncode == 0
    pid = rt.state(cid)["pid"]
    assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{name}").st_ino
    # the other namespaces are still new ones
    assert os.readlink(f"/proc/{pid}/ns/uts") != os.readlink("/proc/self/ns/uts")
