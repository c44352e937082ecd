"""Container storage with the berth CLI against a real berthd: named volumes (data survives
the container, copy-up of image content with modes and owners), anonymous volumes (image
VOLUME and -v /path, removed by rm -v), binds (-v creates a missing source, --mount refuses
it, :ro is read-only), tmpfs, --read-only, --volumes-from, and the volume commands (create,
ls with filters, inspect, rm refused while in use, prune). Each test checks that nothing it
mounted is left in /proc/self/mountinfo."""

import json
import os
import stat
from pathlib import Path

import pytest

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


def ok(res):
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res.stdout


def mounts_under(path):
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


@pytest.fixture
def clean(berthd, berth):
    """After the test: remove every container and volume through the API, then no mount
    may remain below the daemon's roots."""
    yield
    ids = berth("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        berth("rm", "-f", "-v", *ids)
    for name in berth("volume", "ls", "-q").stdout.split():
        berth("volume", "rm", "-f", name)
    assert mounts_under(berthd.data_root) == []
    assert mounts_under(berthd.exec_root) == []


def inspect(berth, what, kind="container"):
    return json.loads(ok(berth(kind, "inspect", what)))[0]


def test_named_volume_outlives_its_container(berth, busybox_image, berthd, clean):
    ok(berth("run", "--name", "writer", "-v", "data1:/data", busybox_image,
             "sh", "-c", "echo kept > /data/f"))
    mounts = inspect(berth, "writer")["Mounts"]
    assert len(mounts) == 1
    m = mounts[0]
    assert m["Type"] == "volume" and m["Name"] == "data1" and m["Destination"] == "/data"
    assert m["RW"] is True and m["Driver"] == "local"
    assert m["Source"] == str(berthd.data_root / "volumes" / "data1" / "_data")
    ok(berth("rm", "-v", "writer"))
    vol = inspect(berth, "data1", "volume")
    assert vol["Name"] == "data1" and vol["Driver"] == "local" and vol["Scope"] == "local"
    assert (berthd.data_root / "volumes" / "data1" / "_data" / "f").read_text() == "kept\n"
    out = ok(berth("run", "--rm", "-v", "data1:/again", busybox_image, "cat", "/again/f"))
    assert out == "kept\n"


def test_volume_in_use_cannot_be_removed(berth, busybox_image, clean):
    ok(berth("create", "--name", "user", "-v", "busy:/b", busybox_image, "true"))
    res = berth("volume", "rm", "busy")
    assert res.returncode == 1
    assert "volume is in use" in res.stderr
    res = berth("volume", "rm", "-f", "busy")
    assert res.returncode == 1 and "volume is in use" in res.stderr
    assert inspect(berth, "busy", "volume")["Name"] == "busy"
    ok(berth("rm", "user"))
    assert ok(berth("volume", "rm", "busy")) == "busy\n"
    res = berth("volume", "inspect", "busy")
    assert res.returncode == 1 and "No such volume" in res.stderr


def test_copy_up_keeps_modes_and_owners(berth, busybox_image, berthd, clean):
    # An image with content at /data (owned by 1000:1000, odd modes) and a VOLUME there.
    ok(berth("run", "--name", "src", busybox_image, "sh", "-c",
             "mkdir -p /data/sub && echo img > /data/f && chown 1000:2000 /data/f && "
             "chmod 0640 /data/f && chmod 0711 /data/sub && chown 7:8 /data && "
             "ln -s f /data/link"))
    from docker_util import DOCKER, docker_env
    env = docker_env(berthd, berthd.base / "dockercfg")
    import subprocess
    res = subprocess.run([DOCKER, "commit", "--change", "VOLUME /data", "src", "volimg:1"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    # a named volume, first mount: the image's /data is copied in
    ok(berth("run", "--rm", "-v", "cu:/data", "volimg:1", "true"))
    data = berthd.data_root / "volumes" / "cu" / "_data"
    st = os.lstat(data / "f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 2000, 0o640)
    assert stat.S_IMODE(os.lstat(data / "sub").st_mode) == 0o711
    assert os.readlink(data / "link") == "f"
    assert (os.lstat(data).st_uid, os.lstat(data).st_gid) == (7, 8)
    assert (data / "f").read_text() == "img\n"
    # not copied again into a volume that has content
    (data / "f").write_text("changed\n")
    out = ok(berth("run", "--rm", "-v", "cu:/data", "volimg:1", "cat", "/data/f"))
    assert out == "changed\n"
    # nocopy: an empty volume stays empty
    out = ok(berth("run", "--rm", "-v", "nc:/data:nocopy", "volimg:1", "ls", "-A", "/data"))
    assert out == ""
    # the image's VOLUME gets an anonymous volume with the content; rm -v removes it
    ok(berth("run", "--name", "anon", "volimg:1", "cat", "/data/f"))
    m = inspect(berth, "anon")["Mounts"]
    assert len(m) == 1 and m[0]["Type"] == "volume" and len(m[0]["Name"]) == 64
    anon = m[0]["Name"]
    assert inspect(berth, anon, "volume")["Labels"] == {"com.docker.volume.anonymous": ""}
    assert ok(berth("logs", "anon")) == "img\n"
    ok(berth("rm", "-v", "anon"))
    assert berth("volume", "inspect", anon).returncode == 1
    assert not (berthd.data_root / "volumes" / anon).exists()


def test_rm_v_keeps_named_volumes_and_plain_rm_keeps_anonymous(berth, busybox_image, clean):
    ok(berth("create", "--name", "c1", "-v", "keepme:/k", "-v", "/anon1", busybox_image, "true"))
    anon = [m["Name"] for m in inspect(berth, "c1")["Mounts"] if m["Destination"] == "/anon1"][0]
    ok(berth("rm", "-v", "c1"))
    assert inspect(berth, "keepme", "volume")["Name"] == "keepme"
    assert berth("volume", "inspect", anon).returncode == 1
    ok(berth("create", "--name", "c2", "-v", "/anon2", busybox_image, "true"))
    anon2 = inspect(berth, "c2")["Mounts"][0]["Name"]
    ok(berth("rm", "c2"))
    assert inspect(berth, anon2, "volume")["Name"] == anon2
    # --rm removes anonymous volumes too
    ok(berth("run", "--rm", "--name", "c3", "-v", "/anon3", busybox_image, "true"))
    names = ok(berth("volume", "ls", "-q")).split()
    assert sorted(names) == sorted(["keepme", anon2])


def test_bind_read_only_and_missing_sources(berth, busybox_image, tmp_path, clean):
    host = tmp_path / "hostdir"
    host.mkdir()
    (host / "in").write_text("from host\n")
    res = berth("run", "--rm", "-v", f"{host}:/h:ro", busybox_image, "sh", "-c",
                "cat /h/in; echo x > /h/new")
    assert res.returncode != 0
    assert res.stdout == "from host\n"
    assert "Read-only file system" in res.stderr
    assert not (host / "new").exists()
    ok(berth("run", "--rm", "-v", f"{host}:/h", busybox_image, "sh", "-c", "echo w > /h/new"))
    assert (host / "new").read_text() == "w\n"
    # a single file bound read-only
    ok(berth("run", "--rm", "-v", f"{host}/in:/etc/motd:ro", busybox_image, "cat", "/etc/motd"))
    res = berth("run", "--rm", "-v", f"{host}/in:/etc/motd:ro", busybox_image, "sh", "-c",
                "echo no > /etc/motd")
    assert res.returncode != 0 and (host / "in").read_text() == "from host\n"
    # -v creates a missing host directory
    missing = tmp_path / "made" / "by" / "v"
    ok(berth("run", "--rm", "-v", f"{missing}:/m", busybox_image, "touch", "/m/x"))
    assert (missing / "x").exists()
    # --mount refuses it, and nothing is created
    absent = tmp_path / "absent"
    res = berth("run", "--name", "nope", "--mount", f"type=bind,source={absent},target=/m",
                busybox_image, "true")
    assert res.returncode == 125
    assert "bind source path does not exist" in res.stderr
    assert not absent.exists()
    assert berth("inspect", "nope").returncode == 1
    # --mount bind, readonly
    ok(berth("run", "--name", "mb", "--mount",
             f"type=bind,source={host},target=/h,readonly,bind-propagation=rslave",
             busybox_image, "cat", "/h/in"))
    m = inspect(berth, "mb")["Mounts"][0]
    assert m == {"Type": "bind", "Source": str(host), "Destination": "/h", "Mode": "",
                 "RW": False, "Propagation": "rslave"}
    assert inspect(berth, "mb")["HostConfig"]["Mounts"][0]["Type"] == "bind"


def test_tmpfs_and_read_only_root(berth, busybox_image, clean):
    res = berth("run", "--rm", "--read-only", busybox_image, "touch", "/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    out = ok(berth("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=1777",
                   busybox_image, "sh", "-c",
                   "echo ok > /scratch/f && cat /scratch/f && stat -c %a /scratch && "
                   "grep ' /scratch ' /proc/mounts"))
    lines = out.splitlines()
    assert lines[0] == "ok" and lines[1] == "1777"
    assert "tmpfs" in lines[2] and "size=1024k" in lines[2] and "noexec" in lines[2]
    out = ok(berth("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=700",
                   busybox_image, "sh", "-c", "stat -c %a /t && grep ' /t ' /proc/mounts"))
    lines = out.splitlines()
    assert lines[0] == "700" and "size=2048k" in lines[1]


def test_volumes_from(berth, busybox_image, tmp_path, clean):
    host = tmp_path / "b"
    host.mkdir()
    ok(berth("run", "--name", "donor", "-v", "shared:/s", "-v", f"{host}:/b", busybox_image,
             "sh", "-c", "echo shared > /s/f"))
    out = ok(berth("run", "--rm", "--volumes-from", "donor", busybox_image, "sh", "-c",
                   "cat /s/f && echo more > /b/g"))
    assert out == "shared\n"
    assert (host / "g").read_text() == "more\n"
    res = berth("run", "--rm", "--volumes-from", "donor:ro", busybox_image, "touch", "/s/x")
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    res = berth("run", "--rm", "--volumes-from", "nosuch", busybox_image, "true")
    assert res.returncode == 125 and "No such container" in res.stderr


def test_volume_commands(berth, busybox_image, berthd, clean):
    assert ok(berth("volume", "create", "--label", "team=a", "--label", "x", "v1")) == "v1\n"
    ok(berth("volume", "create", "v2"))
    name = ok(berth("volume", "create")).strip()
    assert len(name) == 64
    vol = inspect(berth, "v1", "volume")
    assert vol["Labels"] == {"team": "a", "x": ""}
    assert vol["Mountpoint"] == str(berthd.data_root / "volumes" / "v1" / "_data")
    assert set(vol) >= {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    assert ok(berth("volume", "inspect", "-f", "{{.Driver}} {{.Name}}", "v1")) == "local v1\n"
    out = ok(berth("volume", "ls"))
    assert out.splitlines()[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(ok(berth("volume", "ls", "-q", "-f", "label=team=a")).split()) == ["v1"]
    assert sorted(ok(berth("volume", "ls", "-q", "-f", "name=v")).split()) == ["v1", "v2"]
    assert "v2" in ok(berth("volume", "ls", "-q", "-f", "driver=local"))
    ok(berth("create", "--name", "holder", "-v", "v2:/x", busybox_image, "true"))
    dangling = ok(berth("volume", "ls", "-q", "-f", "dangling=true")).split()
    assert "v2" not in dangling and "v1" in dangling
    assert ok(berth("volume", "ls", "-q", "-f", "dangling=false")).split() == ["v2"]
    res = berth("volume", "ls", "-f", "bogus=1")
    assert res.returncode == 1 and "invalid filter" in res.stderr
    res = berth("volume", "create", "bad/name")
    assert res.returncode == 1 and "invalid characters" in res.stderr
    res = berth("volume", "create", "-o", "nonsense=1", "v3")
    assert res.returncode == 1 and berth("volume", "inspect", "v3").returncode == 1
    # prune: anonymous unused ones by default, all unused with -a (v2 is in use)
    out = ok(berth("volume", "prune", "-f"))
    assert name in out and "v1" not in out
    out = ok(berth("volume", "prune", "-f", "-a", "--filter", "label=team"))
    assert "v1" in out
    assert sorted(ok(berth("volume", "ls", "-q")).split()) == ["v2"]
    assert berth("volume", "rm", "nosuch").returncode == 1
    ok(berth("volume", "rm", "-f", "nosuch"))
    assert "Manage volumes" in ok(berth("volume", "--help"))
    assert "Usage:  berth volume create" in ok(berth("volume", "create", "--help"))


def test_local_volume_with_tmpfs_options(berth, busybox_image, berthd, clean):
    ok(berth("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m",
             "tv"))
    data = str(berthd.data_root / "volumes" / "tv" / "_data")
    assert data not in mounts_under(berthd.data_root)
    out = ok(berth("run", "--rm", "-v", "tv:/t", busybox_image, "sh", "-c",
                   "echo hi > /t/f; grep ' /t ' /proc/mounts"))
    assert "tmpfs" in out and "size=1024k" in out
    # mounted while a container uses it, unmounted when the last one stops
    assert data not in mounts_under(berthd.data_root)
    ok(berth("run", "-d", "--name", "t1", "-v", "tv:/t", busybox_image, "sleep", "300"))
    ok(berth("run", "-d", "--name", "t2", "-v", "tv:/t", busybox_image, "sleep", "300"))
    assert data in mounts_under(berthd.data_root)
    ok(berth("exec", "t1", "sh", "-c", "echo shared > /t/f"))
    assert ok(berth("exec", "t2", "cat", "/t/f")) == "shared\n"
    ok(berth("kill", "t1"))
    ok(berth("wait", "t1"))
    assert data in mounts_under(berthd.data_root)
    ok(berth("kill", "t2"))
    ok(berth("wait", "t2"))
    assert data not in mounts_under(berthd.data_root)
    ok(berth("rm", "t1", "t2"))
    ok(berth("volume", "rm", "tv"))
    assert data not in mounts_under(berthd.data_root)


@pytest.mark.parametrize("args, message", [
    (["-v", "named:relative"], "mount path must be absolute"),
    (["-v", "bad@name:/x"], "includes invalid characters"),
    (["-v", "one:/x", "-v", "two:/x"], "Duplicate mount point: /x"),
    (["-v", "/tmp:/x:bogus"], "invalid mode"),
    (["--mount", "type=tmpfs,source=foo,target=/t"], "must not be specified"),
    (["--mount", "type=weird,target=/t"], "mount type unknown"),
    (["--mount", "type=bind,source=relative,target=/t"], "must be absolute"),
    (["--mount", "type=volume,source=v,target=/t,volume-driver=nosuch"], "not found"),
    (["--volumes-from", "nosuchcontainer"], "No such container"),
])
def test_bad_mount_specs_change_nothing(berth, busybox_image, berthd, clean, args, message):
    res = berth("create", "--name", "bad", *args, busybox_image, "true")
    assert res.returncode == 125, res.stdout
    assert message in res.stderr
    assert berth("inspect", "bad").returncode == 1
    assert ok(berth("volume", "ls", "-q")) == ""
    assert list((berthd.data_root / "volumes").glob("*")) == [] \
        if (berthd.data_root / "volumes").exists() else True


def test_ps_filter_by_volume(berth, busybox_image, clean):
    ok(berth("create", "--name", "withvol", "-v", "fv:/data", busybox_image, "true"))
    ok(berth("create", "--name", "without", busybox_image, "true"))
    assert ok(berth("ps", "-a", "--filter", "volume=fv", "--format", "{{.Names}}")) == "withvol\n"
    assert ok(berth("ps", "-a", "--filter", "volume=/data", "--format", "{{.Names}}")) == \
        "withvol\n"
    out = ok(berth("ps", "-a", "--filter", "name=withvol", "--format", "{{.Mounts}}"))
    assert out == "fv\n"


def test_local_volume_bound_to_a_host_directory(berth, busybox_image, berthd, tmp_path, clean):
    host = tmp_path / "dev"
    host.mkdir()
    ok(berth("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={host}", "bv"))
    ok(berth("run", "--rm", "-v", "bv:/b", busybox_image, "sh", "-c", "echo via-volume > /b/f"))
    assert (host / "f").read_text() == "via-volume\n"
    vol = inspect(berth, "bv", "volume")
    assert vol["Options"] == {"type": "none", "o": "bind", "device": str(host)}
    ok(berth("volume", "rm", "bv"))
    assert (host / "f").exists()  # removing the volume leaves the bound directory alone
    assert mounts_under(berthd.data_root) == []


def test_mount_volume_nocopy_and_labels(berth, busybox_image, berthd, clean):
    ok(berth("run", "--rm", "--mount",
             "type=volume,source=mv,target=/etc,volume-nocopy,volume-label=k=v",
             busybox_image, "true"))
    # the image's /etc was not copied in (the per-container /etc files are bind mount points)
    names = sorted(p.name for p in (berthd.data_root / "volumes" / "mv" / "_data").iterdir())
    assert "passwd" not in names and "group" not in names
    assert inspect(berth, "mv", "volume")["Labels"] == {"k": "v"}
    ok(berth("run", "--rm", "--mount", "type=volume,source=mv2,target=/etc", busybox_image,
             "true"))
    assert (berthd.data_root / "volumes" / "mv2" / "_data" / "passwd").exists()


def test_volume_events_and_shutdown_unmounts(berth, busybox_image, berthd):
    import time
    since = int(time.time()) - 1
    ok(berth("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "evv"))
    ok(berth("run", "--rm", "-v", "evv:/e", busybox_image, "true"))
    ok(berth("volume", "rm", "evv"))
    out = ok(berth("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}"))
    assert out.splitlines() == ["create evv", "mount evv", "unmount evv", "destroy evv"]
    # a volume mounted at first use is unmounted when the daemon stops (its container
    # running on: live restore)
    ok(berth("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "kept"))
    ok(berth("run", "-d", "-v", "kept:/k", busybox_image, "sleep", "300"))
    data = str(berthd.data_root / "volumes" / "kept" / "_data")
    assert data in mounts_under(berthd.data_root)
    berthd.stop()
    assert data not in mounts_under(berthd.data_root)


def test_copy_up_keeps_hard_links_and_xattrs(berth, busybox_image, berthd, clean):
    """The content copied into an empty volume keeps hard links (one inode, two names) and
    extended attributes (user.*), as dockerd's copy (continuity's CopyDir). The content is
    put in the container's own layer before its first start, so the copy-up reads it through
    the container's rootfs as it reads an image's."""
    cid = ok(berth("create", "-v", "hl:/data", busybox_image, "true")).strip()
    upper = berthd.data_root / "layers" / f"ctr-{cid}" / "diff"
    data = upper / "data"
    data.mkdir(parents=True)
    (data / "a").write_text("linked\n")
    os.link(data / "a", data / "b")
    (data / "sub").mkdir()
    os.link(data / "a", data / "sub" / "c")
    (data / "x").write_text("attrs\n")
    os.setxattr(data / "x", "user.berth.test", b"value-1")
    os.setxattr(data / "sub", "user.berth.dir", b"d")
    ok(berth("start", "-a", cid))
    vol = Path(inspect(berth, "hl", "volume")["Mountpoint"])
    ino = {os.lstat(vol / p).st_ino for p in ("a", "b", "sub/c")}
    assert len(ino) == 1 and os.lstat(vol / "a").st_nlink == 3
    assert (vol / "b").read_text() == "linked\n"
    assert os.getxattr(vol / "x", "user.berth.test") == b"value-1"
    assert os.getxattr(vol / "sub", "user.berth.dir") == b"d"
    assert (vol / "x").read_text() == "attrs\n"
