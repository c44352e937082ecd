"""berth image commands against a real berthd: load, images table and --format, image
inspect, tag, history, save/load round trip, import, rmi and prune."""

import json
import subprocess
import tarfile
import time

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


def test_images_table_and_formats(berth, busybox_image):
    res = berth("images")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    row = lines[1].split()
    assert row[0] == "busybox" and row[1] == "latest" and len(row[2]) == 12
    iid = berth("image", "inspect", "--format", "{{.Id}}", busybox_image).stdout.strip()
    assert iid.startswith("sha256:") and row[2] == iid[7:19]
    assert berth("images", "-q").stdout == iid[7:19] + "\n"
    assert berth("images", "--no-trunc", "-q").stdout == iid + "\n"
    res = berth("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    assert res.stdout == "busybox:latest\n"
    res = berth("images", "--format", "json")
    j = json.loads(res.stdout)
    assert j["Repository"] == "busybox" and j["ID"] == iid[7:19]
    res = berth("images", "busybox")
    assert len(res.stdout.splitlines()) == 2
    res = berth("images", "nosuchrepo")
    assert len(res.stdout.splitlines()) == 1


def test_image_inspect_and_history(berth, busybox_image):
    res = berth("image", "inspect", busybox_image)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data[0]["RepoTags"] == ["busybox:latest"]
    assert res.stdout.startswith("[\n    {\n")
    res = berth("image", "inspect", "nosuch:1")
    assert res.returncode == 1 and "No such image: nosuch:1" in res.stderr
    res = berth("history", busybox_image)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE",
                                                  "COMMENT"]


def test_tag_and_rmi(berth, busybox_image):
    res = berth("tag", busybox_image, "mine/box:1")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    res = berth("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert sorted(res.stdout.split()) == ["busybox:latest", "mine/box:1"]
    res = berth("rmi", "mine/box:1")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "Untagged: mine/box:1\n"
    res = berth("rmi", "nosuch:1")
    assert res.returncode == 1
    assert res.stderr == "Error response from daemon: No such image: nosuch:1\n"
    res = berth("rmi", busybox_image)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Untagged: busybox:latest\n") and "Deleted: sha256:" in res.stdout
    assert berth("images", "-q").stdout == ""


def test_rmi_of_image_in_use_fails(berth, busybox_image):
    assert berth("create", "--name", "user", busybox_image).returncode == 0
    res = berth("rmi", busybox_image)
    assert res.returncode == 1
    assert "Error response from daemon: " in res.stderr


def test_save_load_round_trip(berth, busybox_image, tmp_path):
    out = tmp_path / "saved.tar"
    res = berth("save", "-o", out, busybox_image)
    assert res.returncode == 0, res.stderr
    with tarfile.open(out) as t:
        names = t.getnames()
    assert "manifest.json" in names
    assert berth("rmi", busybox_image).returncode == 0
    res = berth("load", "-i", out)
    assert res.returncode == 0, res.stderr
    assert "Loaded image: busybox:latest" in res.stdout
    res = berth("load", "-i", tmp_path / "missing.tar")
    assert res.returncode == 1 and "missing.tar" in res.stderr


def test_save_to_stdout(berth, busybox_image, build_dir, berthd, tmp_path):
    out = tmp_path / "stdout.tar"
    with open(out, "wb") as f:
        p = subprocess.run([str(build_dir / "berth"), "-H", berthd.host, "save", busybox_image],
                           stdout=f, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr
    assert tarfile.is_tarfile(out)


def libarchive_mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libarchive.so" in f.read()


def test_libarchive_unloaded_when_idle_and_loaded_again(berth, berthd, busybox_image, tmp_path):
    # busybox_image was loaded through libarchive; berthd lets it go 10 s after the last
    # archive closed, and the next save loads it again
    deadline = time.monotonic() + 60
    while libarchive_mapped(berthd.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not libarchive_mapped(berthd.proc.pid)
    out = tmp_path / "after.tar"
    res = berth("save", "-o", out, busybox_image)
    assert res.returncode == 0, res.stderr
    with tarfile.open(out) as t:
        assert "manifest.json" in t.getnames()
    assert berth("rmi", busybox_image).returncode == 0
    res = berth("load", "-i", out)
    assert res.returncode == 0 and "Loaded image: busybox:latest" in res.stdout, res.stderr


def test_import(berth, berthd, tmp_path, busybox_rootfs):
    tarball = tmp_path / "rootfs.tar"
    with tarfile.open(tarball, "w") as t:
        t.add(busybox_rootfs, arcname=".")
    res = berth("import", tarball, "imported:1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("sha256:")
    res = berth("run", "--rm", "imported:1", "/bin/echo", "imported works")
    assert res.stdout == "imported works\n"


def test_prune_dangling(berth, busybox_image):
    res = berth("image", "prune", "-f")
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith("Total reclaimed space: 0B\n")
    assert "busybox" in berth("images").stdout
