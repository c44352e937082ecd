"""berthd --userns-remap, as dockerd's: containers run in a user namespace whose root is a
host user's subordinate range. Inside, id is 0 and image files are root's; from the host the
process runs as the mapped uid, what it writes to a volume or its layer is owned by that uid;
--userns=host opts out; privileged and host namespaces are refused; runc works too.

Each test adds a system user of its own with a range in /etc/subuid and /etc/subgid and
removes both at the end (the files are left as they were found). The daemon's root is under
a /tmp directory others may traverse (0711): the remapped root must reach its rootfs there,
as with dockerd, whose /var/lib/docker is 0711."""

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import require_binary
from daemon_util import Daemon, _kill_leftovers, _remove_cgroups, _unmount_under

SUBFILES = ("/etc/subuid", "/etc/subgid")
SIZE = 65536


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _restore_subfiles(saved, name):
    for path, text in saved.items():
        now = _read(path)
        if now is None:
            continue
        kept = "".join(line for line in now.splitlines(keepends=True)
                       if not line.startswith(name + ":"))
        if text is not None and kept != text:
            kept = text
        with open(path, "w") as f:
            f.write(kept)


def _free_start():
    """A range start no line of /etc/subuid or /etc/subgid overlaps (above 1,000,000)."""
    end = 1_000_000
    for path in SUBFILES:
        for line in (_read(path) or "").splitlines():
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                end = max(end, int(parts[1]) + int(parts[2]))
    return end + SIZE * int(uuid.uuid4().int % 64)


@pytest.fixture
def remap_user():
    """(name, start): a system user of this test with SIZE ids from start in both files."""
    saved = {p: _read(p) for p in SUBFILES}
    name = "bu" + uuid.uuid4().hex[:10]
    subprocess.run(["useradd", "--system", "-M", "-s", "/bin/false", name], check=True,
                   capture_output=True)
    start = _free_start()
    try:
        for path in SUBFILES:
            with open(path, "a") as f:
                f.write(f"{name}:{start}:{SIZE}\n")
        yield name, start
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        _restore_subfiles(saved, name)


class RemapDaemon:
    def __init__(self, build_dir, remap, runtimes=None):
        self.base = Path(tempfile.mkdtemp(prefix="bns-", dir="/tmp"))
        os.chmod(self.base, 0o711)
        config = {"userns-remap": remap}
        if runtimes:
            config["runtimes"] = runtimes
        self.binary = require_binary(build_dir / "berth")
        self.d = Daemon(require_binary(build_dir / "berthd"), self.base, config=config)

    def berth(self, *args, timeout=60):
        return subprocess.run([self.binary, "-H", self.d.host] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=timeout)

    def inspect(self, ref):
        res = self.berth("inspect", ref)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)[0]

    def close(self):
        try:
            if self.d.proc.poll() is None:
                ids = self.berth("ps", "-aq", "--no-trunc").stdout.split()
                if ids:
                    self.berth("rm", "-f", "-v", *ids)
        finally:
            self.d.stop()
            _kill_leftovers(self.d.exec_root)
            _remove_cgroups(self.d.exec_root)
            for root in (self.d.exec_root, self.base):
                _unmount_under(root)
                shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def remapd(build_dir, remap_user, busybox_docker_archive):
    runtimes = {n: {"path": shutil.which(n)} for n in ("runc", "crun") if shutil.which(n)}
    runtimes["berth-runc"] = {"path": require_binary(build_dir / "berth-runc")}
    rd = RemapDaemon(build_dir, remap_user[0], runtimes)
    try:
        res = rd.berth("load", "-i", busybox_docker_archive)
        assert res.returncode == 0, res.stderr + rd.d.logs()
        rd.start = remap_user[1]
        rd.runtimes = runtimes
        yield rd
    finally:
        rd.close()


def status_ids(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def run_detached(rd, *args):
    res = rd.berth("run", "-d", *args, "busybox:latest", "sleep", "300")
    assert res.returncode == 0, res.stderr + rd.d.logs()
    cid = res.stdout.strip()
    pid = rd.inspect(cid)["State"]["Pid"]
    assert pid > 0
    return cid, pid


def test_root_inside_is_the_mapped_uid_outside(remapd):
    cid, pid = run_detached(remapd)
    res = remapd.berth("exec", cid, "sh", "-c",
                       "id -u; id -g; stat -c '%u %g' /bin/busybox /etc; "
                       "echo new > /made-here && stat -c '%u' /made-here; "
                       "echo more >> /etc/passwd && stat -c '%u' /etc/passwd")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:6] == ["0", "0", "0 0", "0 0", "0", "0"], res.stdout
    # From the host: the process and its user namespace
    assert status_ids(pid, "Uid") == [remapd.start] * 4
    assert status_ids(pid, "Gid") == [remapd.start] * 4
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", str(remapd.start), str(SIZE)]
    # What it wrote to its own layer (a new file, a copied-up one) is the mapped uid's
    state = remapd.d.data_root / f"{remapd.start}.{remapd.start}"
    upper = state / "layers" / f"ctr-{cid}" / "diff"
    assert (upper / "made-here").stat().st_uid == remapd.start
    assert (upper / "etc" / "passwd").stat().st_uid == remapd.start
    # while the image's own layer stays root's on disk (shown through an idmapped mount)
    lowers = [p for p in (state / "layers").iterdir() if p.name not in ("l", f"ctr-{cid}")]
    assert lowers and all((p / "diff" / "bin" / "busybox").stat().st_uid == 0
                          for p in lowers if (p / "diff" / "bin" / "busybox").exists())


def test_new_working_directory_is_the_containers_roots(remapd):
    """-w to a directory the image lacks: made by the daemon, owned by the mapped root (so
    root inside may write there), as dockerd makes it."""
    res = remapd.berth("run", "--rm", "-w", "/made/by/daemon", "busybox:latest", "sh", "-c",
                       "stat -c '%u' .; touch f && echo wrote")
    assert (res.returncode, res.stdout) == (0, "0\nwrote\n"), res.stderr


def test_cp_shows_and_stores_the_containers_ids(remapd, tmp_path):
    """cp to and from a remapped container speaks the container's ids, as dockerd's archiver
    with its id mapping: what goes in is root's inside (the mapped uid on disk), what comes
    out is root's in the tar, running or stopped."""
    import tarfile
    cid, _ = run_detached(remapd)
    assert remapd.berth("exec", cid, "sh", "-c", "echo c > /made").returncode == 0
    src = tmp_path / "in.txt"
    src.write_text("host\n")
    res = remapd.berth("cp", str(src), f"{cid}:/copied.txt")
    assert res.returncode == 0, res.stderr
    res = remapd.berth("exec", cid, "stat", "-c", "%u %g", "/copied.txt")
    assert res.stdout == "0 0\n", res.stdout + res.stderr
    upper = (remapd.d.data_root / f"{remapd.start}.{remapd.start}" / "layers" / f"ctr-{cid}" /
             "diff")
    assert (upper / "copied.txt").stat().st_uid == remapd.start
    for stop in (False, True):
        if stop:
            assert remapd.berth("stop", "-t", "1", cid).returncode == 0
        for path in ("/made", "/bin/busybox", "/copied.txt"):
            out = tmp_path / f"out-{stop}.tar"
            res = subprocess.run([remapd.binary, "-H", remapd.d.host, "cp", f"{cid}:{path}", "-"],
                                 capture_output=True, timeout=60)
            assert res.returncode == 0, res.stderr
            out.write_bytes(res.stdout)
            with tarfile.open(out) as t:
                m = t.getmembers()[0]
                assert (m.uid, m.gid) == (0, 0), (stop, path, m.uid, m.gid)


def test_commit_and_export_write_the_containers_ids(remapd, tmp_path):
    """What a remapped container wrote is stored with the mapped uid, but an image committed
    from it (and its export) carry the container's ids, as dockerd's: the committed file is
    root's even for a container outside the user namespace."""
    import tarfile
    cid, _ = run_detached(remapd)
    res = remapd.berth("exec", cid, "sh", "-c", "echo c > /made && chown 7:8 /etc/group")
    assert res.returncode == 0, res.stderr
    assert remapd.berth("commit", cid, "remapped:1").returncode == 0
    res = remapd.berth("run", "--rm", "--userns=host", "remapped:1", "stat", "-c", "%u %g",
                       "/made", "/etc/group")
    assert (res.returncode, res.stdout) == (0, "0 0\n7 8\n"), res.stderr
    for stop in (False, True):
        if stop:
            assert remapd.berth("stop", "-t", "1", cid).returncode == 0
        out = tmp_path / f"export-{stop}.tar"
        assert remapd.berth("export", "-o", str(out), cid).returncode == 0
        with tarfile.open(out) as t:
            ids = {m.name.lstrip("./"): (m.uid, m.gid) for m in t.getmembers()}
        assert ids["made"] == (0, 0) and ids["etc/group"] == (7, 8)
        assert ids["bin/busybox"] == (0, 0), stop


def test_volume_files_belong_to_the_mapped_uid(remapd):
    res = remapd.berth("run", "--rm", "-v", "vdata:/data", "-v", "vetc:/etc", "busybox:latest",
                       "sh", "-c", "echo x > /data/f && stat -c '%u' /data/f /etc/group")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["0", "0"]
    for vol, name in (("vdata", "f"), ("vetc", "group")):
        mp = Path(json.loads(remapd.berth("volume", "inspect", vol).stdout)[0]["Mountpoint"])
        assert mp.stat().st_uid == remapd.start
        assert (mp / name).stat().st_uid == remapd.start
        assert (mp / name).stat().st_gid == remapd.start


def test_bind_mounts_keep_host_owners(remapd):
    """As with dockerd: a bind mount is not remapped. A root-owned host directory is
    nobody's inside and the container's root may not write it; one owned by the mapped
    uid is root's inside, and what is written there is the mapped uid's on the host."""
    shut = remapd.base / "rootowned"
    shut.mkdir()
    (shut / "f").write_text("host\n")
    ours = remapd.base / "mapped"
    ours.mkdir()
    os.chown(ours, remapd.start, remapd.start)
    res = remapd.berth("run", "--rm", "-v", f"{shut}:/shut", "-v", f"{ours}:/ours",
                       "busybox:latest", "sh", "-c",
                       "stat -c '%u' /shut/f /ours; echo no > /shut/g; echo yes > /ours/g")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["65534", "0"]
    assert "Permission denied" in res.stderr
    assert not (shut / "g").exists()
    assert (ours / "g").stat().st_uid == remapd.start


def test_userns_host_opts_out(remapd):
    cid, pid = run_detached(remapd, "--userns=host")
    assert status_ids(pid, "Uid")[0] == 0
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "0", "4294967295"]
    assert remapd.inspect(cid)["HostConfig"]["UsernsMode"] == "host"
    cid2, _ = run_detached(remapd)
    assert remapd.inspect(cid2)["HostConfig"]["UsernsMode"] == ""


def test_refused_combinations_leave_nothing(remapd):
    cases = [
        (["--privileged"], "privileged mode is incompatible with user namespaces"),
        (["--net=host"], "cannot share the host's network namespace"),
        (["--userns=bogus"], "invalid UsernsMode: bogus"),
    ]
    for args, msg in cases:
        res = remapd.berth("run", "--rm", *args, "busybox:latest", "true")
        assert res.returncode == 125 and msg in res.stderr, (args, res.stderr)
    assert remapd.berth("ps", "-aq").stdout.strip() == ""
    res = remapd.berth("run", "--rm", "--privileged", "--userns=host", "busybox:latest", "sh",
                       "-c", "cat /proc/self/uid_map")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["0", "0", "4294967295"]


def test_info_shows_remap(remapd):
    res = remapd.berth("info", "--format", "{{json .}}")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["DockerRootDir"] == str(remapd.d.data_root / f"{remapd.start}.{remapd.start}")
    assert "name=userns" in info["SecurityOptions"]
    docker = shutil.which("docker")
    if docker:
        res = subprocess.run([docker, "-H", remapd.d.host, "info"], capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert "userns" in res.stdout


@pytest.mark.parametrize("runtime", ["runc", "crun", "berth-runc"])
def test_external_runtime_is_remapped(remapd, runtime):
    if runtime not in remapd.runtimes:
        pytest.skip(f"{runtime} not installed")
    if runtime == "crun":
        with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
            if f.read().split():
                pytest.skip("crun 1.8 refuses hybrid cgroups while cgroup2 holds a controller")
    res = remapd.berth("run", "--rm", "--runtime", runtime, "busybox:latest", "sh", "-c",
                       "id -u; stat -c '%u' /bin/busybox; touch /x && stat -c '%u' /x")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["0", "0", "0"]
    cid, pid = run_detached(remapd, "--runtime", runtime)
    assert status_ids(pid, "Uid")[0] == remapd.start


def test_remapped_container_survives_a_daemon_restart(remapd):
    cid, pid = run_detached(remapd)
    remapd.d.stop()
    remapd.d.log = open(remapd.base / "berthd.log", "a+")
    remapd.d.restart()
    assert remapd.inspect(cid)["State"]["Pid"] == pid
    res = remapd.berth("exec", cid, "id", "-u")
    assert (res.returncode, res.stdout) == (0, "0\n"), res.stderr
    # a new container after the restart gets the (re-made) idmapped view of the layers
    res = remapd.berth("run", "--rm", "busybox:latest", "stat", "-c", "%u", "/bin/busybox")
    assert (res.returncode, res.stdout) == (0, "0\n"), res.stderr


def test_default_makes_the_dockremap_user(build_dir, busybox_docker_archive):
    try:
        pwd.getpwnam("dockremap")
        pytest.skip("a dockremap user exists already: this test would not remove it")
    except KeyError:
        pass
    saved = {p: _read(p) for p in SUBFILES}
    rd = None
    try:
        rd = RemapDaemon(build_dir, "default")
        pw = pwd.getpwnam("dockremap")
        assert pw.pw_shell == "/bin/false"
        line = [x for x in _read("/etc/subuid").splitlines() if x.startswith("dockremap:")]
        assert len(line) == 1
        start = int(line[0].split(":")[1])
        assert int(line[0].split(":")[2]) == SIZE
        assert any(x.startswith("dockremap:") for x in _read("/etc/subgid").splitlines())
        assert rd.berth("load", "-i", busybox_docker_archive).returncode == 0
        res = rd.berth("run", "-d", "busybox:latest", "sleep", "300")
        assert res.returncode == 0, res.stderr
        pid = rd.inspect(res.stdout.strip())["State"]["Pid"]
        assert status_ids(pid, "Uid")[0] == start
    finally:
        if rd:
            rd.close()
        subprocess.run(["userdel", "dockremap"], capture_output=True)
        _restore_subfiles(saved, "dockremap")


def test_remap_to_a_user_without_ranges_or_unknown_is_refused(build_dir, tmp_path):
    """berthd refuses to start, with one clear line, for an unknown user and for one that
    has no subordinate ranges (dockerd's message); nothing is made under the data root."""
    name = "bu" + uuid.uuid4().hex[:10]
    subprocess.run(["useradd", "--system", "-M", "-s", "/bin/false", name], check=True,
                   capture_output=True)
    (tmp_path / "none.json").write_text("{}")
    try:
        for remap, msg in ((name, f'no subuid ranges found for user "{name}"'),
                           ("no-such-user-berth", "no such user: no-such-user-berth")):
            data = tmp_path / "data"
            res = subprocess.run([require_binary(build_dir / "berthd"), "--data-root", str(data),
                                  "--exec-root", str(tmp_path / "run"), "-H",
                                  f"unix://{tmp_path}/s.sock", "--config-file",
                                  str(tmp_path / "none.json"), "--userns-remap", remap],
                                 capture_output=True, text=True, timeout=60)
            assert res.returncode == 1 and msg in res.stderr, res.stderr
            assert not data.exists()
    finally:
        subprocess.run(["userdel", name], capture_output=True)
