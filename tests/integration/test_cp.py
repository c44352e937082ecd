"""cp between containers and the host with the berth CLI, the docker CLI and docker-py:
a tree with modes, owners and symlinks both ways (running and stopped containers, a
volume of a stopped container), tar on stdin/stdout, -a, and no way out of the container
through a symlink in either direction. Also docker diff/export on the same daemon."""

import io
import os
import stat
import subprocess
import tarfile

import docker as dockerpy
import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from docker_util import dimage, docker, mounts_of, nothing_left  # noqa: F401  (fixtures)

TREE = ("mkdir -p /tree/sub && echo one > /tree/f && echo two > /tree/sub/g && "
        "ln -s f /tree/link && ln -s /etc/passwd /tree/abs && "
        "chown 1000:2000 /tree/f && chmod 0604 /tree/f && chown 5:6 /tree/sub && "
        "chmod 0750 /tree/sub && chmod 4755 /tree/sub/g && mkfifo /tree/fifo")


def ok(res):
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res.stdout


def meta(p):
    st = os.lstat(p)
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def check_local_tree(root, owners=True):
    assert (root / "f").read_text() == "one\n"
    assert (root / "sub" / "g").read_text() == "two\n"
    if owners:
        assert meta(root / "f") == (stat.S_IFREG, 0o604, 1000, 2000)
        assert meta(root / "sub") == (stat.S_IFDIR, 0o750, 5, 6)
    else:  # docker's cp out leaves files to the user running it
        assert meta(root / "f") == (stat.S_IFREG, 0o604, 0, 0)
        assert meta(root / "sub") == (stat.S_IFDIR, 0o750, 0, 0)
    assert meta(root / "sub" / "g")[1] == 0o4755
    assert os.readlink(root / "link") == "f"
    assert os.readlink(root / "abs") == "/etc/passwd"
    assert stat.S_ISFIFO(os.lstat(root / "fifo").st_mode)


def remote_meta(berth, ctr, *paths):
    out = ok(berth("exec", ctr, "stat", "-c", "%F|%a|%u|%g|%N", *paths))
    return out.splitlines()


def test_cp_tree_round_trip_with_modes_owners_symlinks(berth, busybox_image, tmp_path):
    ok(berth("run", "--name", "origin", busybox_image, "sh", "-c", TREE))
    # out of a stopped container into a new local name; -a keeps the owners
    ok(berth("cp", "-a", "origin:/tree", tmp_path / "out"))
    check_local_tree(tmp_path / "out")
    # into an existing local directory: it lands below it (owned by us without -a)
    (tmp_path / "into").mkdir()
    ok(berth("cp", "origin:/tree", tmp_path / "into"))
    check_local_tree(tmp_path / "into" / "tree", owners=False)
    # contents only with "/."
    (tmp_path / "contents").mkdir()
    ok(berth("cp", "-a", "origin:/tree/.", tmp_path / "contents"))
    check_local_tree(tmp_path / "contents")
    # back into a running container, under a new name and into a directory
    ok(berth("run", "-d", "--name", "target", busybox_image, "sleep", "300"))
    ok(berth("cp", tmp_path / "out", "target:/copied"))
    ok(berth("cp", tmp_path / "out", "target:/tmp"))
    for base in ("/copied", "/tmp/out"):
        lines = remote_meta(berth, "target", f"{base}/f", f"{base}/sub", f"{base}/sub/g",
                            f"{base}/link", f"{base}/fifo")
        assert lines[0].startswith("regular file|604|1000|2000")
        assert lines[1].startswith("directory|750|5|6")
        assert lines[2].split("|")[1] == "4755"
        assert lines[3].startswith("symbolic link|777") and "-> 'f'" in lines[3]
        assert lines[4].startswith("fifo")
    assert ok(berth("exec", "target", "cat", "/copied/sub/g")) == "two\n"
    # a single file onto a new name, and over an existing file
    (tmp_path / "one.txt").write_text("single\n")
    ok(berth("cp", tmp_path / "one.txt", "target:/tmp/renamed.txt"))
    ok(berth("cp", tmp_path / "one.txt", "target:/copied/f"))
    assert ok(berth("exec", "target", "cat", "/tmp/renamed.txt", "/copied/f")) == "single\nsingle\n"
    # -a: owned by the container's user (root here) whatever the local owner
    os.chown(tmp_path / "one.txt", 4321, 4321)
    ok(berth("cp", tmp_path / "one.txt", "target:/tmp/plain.txt"))
    ok(berth("cp", "-a", tmp_path / "one.txt", "target:/tmp/archived.txt"))
    assert remote_meta(berth, "target", "/tmp/plain.txt")[0].split("|")[2:4] == ["4321", "4321"]
    assert remote_meta(berth, "target", "/tmp/archived.txt")[0].split("|")[2:4] == ["0", "0"]
    ok(berth("rm", "-f", "target", "origin"))


def test_cp_stdin_stdout_and_errors(berth, berthd, build_dir, busybox_image, tmp_path):
    ok(berth("run", "--name", "tc", busybox_image, "sh", "-c", "echo hi > /hello"))

    def raw(*args, input=None):
        return subprocess.run([str(build_dir / "berth"), "-H", berthd.host] + list(args),
                              input=input, capture_output=True, timeout=60)

    res = raw("cp", "tc:/hello", "-")
    assert res.returncode == 0, res.stderr
    tf = tarfile.open(fileobj=io.BytesIO(res.stdout))
    assert tf.getnames() == ["hello"]
    assert tf.extractfile("hello").read() == b"hi\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"from stdin\n"
        d = tarfile.TarInfo("in")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        t.addfile(d)
        info = tarfile.TarInfo("in/stdin.txt")
        info.size, info.mode, info.uid, info.gid = len(data), 0o640, 33, 44
        t.addfile(info, io.BytesIO(data))
    res = raw("cp", "-", "tc:/", input=buf.getvalue())
    assert res.returncode == 0, res.stderr
    ok(berth("cp", "-a", "tc:/in/stdin.txt", tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "from stdin\n"
    assert meta(tmp_path / "back.txt")[1:] == (0o640, 33, 44)
    res = berth("cp", "tc:/nope", tmp_path / "x")
    assert res.returncode == 1 and "Could not find the file /nope" in res.stderr
    res = berth("cp", "nosuchctr:/hello", tmp_path / "x")
    assert res.returncode == 1 and "No such container" in res.stderr
    res = berth("cp", tmp_path / "missing", "tc:/")
    assert res.returncode == 1
    assert not (tmp_path / "x").exists()


def test_cp_never_leaves_the_container(berth, berthd, busybox_image, tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_text("host only\n")
    # symlinks inside the container that point at the host directory, absolute and relative
    ok(berth("run", "--name", "esc", busybox_image, "sh", "-c",
             f"ln -s {secret} /abs && ln -s ../../../../../../..{secret} /rel && mkdir -p {secret}"))
    for link in ("/abs", "/rel"):
        res = berth("cp", f"esc:{link}/key", tmp_path / "got")
        assert res.returncode == 1, res.stdout
        assert not (tmp_path / "got").exists()
        (tmp_path / "plant").write_text("planted\n")
        # the link resolves inside the container: the copy lands there, never on the host
        ok(berth("cp", tmp_path / "plant", f"esc:{link}/"))
        assert not (secret / "plant").exists()
    assert sorted(os.listdir(secret)) == ["key"]
    ok(berth("cp", f"esc:{secret}/plant", tmp_path / "inside"))
    assert (tmp_path / "inside").read_text() == "planted\n"
    # a tar with ../ entries is refused
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../../../../../../../" + str(tmp_path / "evil").lstrip("/"))
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    c = dockerpy.APIClient(base_url=berthd.host, timeout=DEADLINE)
    with pytest.raises(dockerpy.errors.APIError):
        c.put_archive("esc", "/tmp", buf.getvalue())
    assert not (tmp_path / "evil").exists()


def test_cp_from_a_volume_of_a_stopped_container(berth, busybox_image, tmp_path, berthd):
    ok(berth("run", "--name", "vc", "-v", "cpvol:/data", busybox_image, "sh", "-c",
             "echo in-volume > /data/v"))
    ok(berth("cp", "vc:/data/v", tmp_path / "v"))
    assert (tmp_path / "v").read_text() == "in-volume\n"
    (tmp_path / "w").write_text("written\n")
    ok(berth("cp", tmp_path / "w", "vc:/data/w"))
    assert (berthd.data_root / "volumes" / "cpvol" / "_data" / "w").read_text() == "written\n"
    ok(berth("rm", "vc"))
    ok(berth("volume", "rm", "cpvol"))
    assert mounts_of(berthd) == []


def test_docker_cli_cp_diff_export(docker, dimage, tmp_path):
    out = docker("run", "--name", "dc", dimage, "sh", "-c", TREE + " && rm /etc/group")
    assert out.returncode == 0, out.stderr
    res = docker("cp", "dc:/tree", str(tmp_path / "t"))
    assert res.returncode == 0, res.stderr
    check_local_tree(tmp_path / "t", owners=False)
    # docker's cp in keeps the local owners
    os.chown(tmp_path / "t" / "f", 1000, 2000)
    os.chown(tmp_path / "t" / "sub", 5, 6)
    res = docker("cp", str(tmp_path / "t"), "dc:/back")
    assert res.returncode == 0, res.stderr
    res = subprocess.run([docker.binary, "cp", "dc:/back", "-"], env=docker.env,
                         capture_output=True, timeout=60)
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(res.stdout))}
    assert (members["back/f"].uid, members["back/f"].gid, members["back/f"].mode) == (1000, 2000, 0o604)
    assert (members["back/sub"].uid, members["back/sub"].mode) == (5, 0o750)
    assert members["back/link"].issym() and members["back/link"].linkname == "f"
    res = docker("cp", "dc:/back", str(tmp_path / "t2"))
    assert res.returncode == 0, res.stderr
    check_local_tree(tmp_path / "t2", owners=False)
    diff = docker("diff", "dc")
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    assert "A /tree" in lines and "D /etc/group" in lines and "A /back/sub/g" in lines
    res = subprocess.run([docker.binary, "export", "dc"], env=docker.env, capture_output=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    names = tarfile.open(fileobj=io.BytesIO(res.stdout)).getnames()
    assert "tree/sub/g" in names and "bin/busybox" in names and "etc/group" not in names


def test_dockerpy_archive(docker, dimage, berthd):
    c = dockerpy.APIClient(base_url=berthd.host, timeout=DEADLINE)
    cid = c.create_container(dimage, ["sh", "-c", TREE])["Id"]
    c.start(cid)
    assert c.wait(cid)["StatusCode"] == 0
    stream, st = c.get_archive(cid, "/tree/f")
    assert st["name"] == "f" and st["size"] == 4 and st["mode"] == 0o604
    data = b"".join(stream)
    t = tarfile.open(fileobj=io.BytesIO(data))
    m = t.getmember("f")
    assert (m.uid, m.gid, m.mode) == (1000, 2000, 0o604)
    _, st = c.get_archive(cid, "/tree/link")
    assert st["mode"] & (1 << 27) and st["linkTarget"] == "/tree/f"
    _, st = c.get_archive(cid, "/tree/sub")
    assert st["mode"] & (1 << 31) and st["mode"] & 0o777 == 0o750
    with pytest.raises(dockerpy.errors.NotFound):
        c.get_archive(cid, "/nope")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tw:
        info = tarfile.TarInfo("new.txt")
        info.size, info.uid, info.gid, info.mode = 3, 7, 8, 0o600
        tw.addfile(info, io.BytesIO(b"abc"))
    assert c.put_archive(cid, "/tree", buf.getvalue())
    stream, st = c.get_archive(cid, "/tree/new.txt")
    m = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).getmember("new.txt")
    assert (m.uid, m.gid, m.mode, m.size) == (7, 8, 0o600, 3)
    with pytest.raises(dockerpy.errors.APIError):
        c.put_archive(cid, "/tree/f", buf.getvalue())  # not a directory
    c.remove_container(cid)
    c.close()


def test_cp_into_read_only_root(berth, busybox_image, tmp_path):
    (tmp_path / "f").write_text("x\n")
    ok(berth("create", "--name", "ro", "--read-only", "-v", "rovol:/data", busybox_image,
             "sleep", "300"))
    for state in ("stopped", "running"):
        res = berth("cp", tmp_path / "f", "ro:/f")
        assert res.returncode == 1 and "read-only" in res.stderr, (state, res.stderr)
        ok(berth("cp", tmp_path / "f", f"ro:/data/{state}"))  # a volume stays writable
        ok(berth("start", "ro"))
    assert ok(berth("exec", "ro", "ls", "/data")).split() == ["running", "stopped"]
    ok(berth("rm", "-f", "ro"))
    ok(berth("volume", "rm", "rovol"))
