"""Loading images made by real, independent tools (umoci builds the layers, skopeo converts
between oci:, oci-archive: and docker-archive:) and checking that the rootfs berth builds from
them has exactly the expected files, on overlay2 and vfs."""

import os
import sqlite3
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from graph_fixtures import (
    Mounted,
    TarBuilder,
    UmociImage,
    append_layer,
    diff_snapshots,
    graph_bin,
    graph_json,
    image_rootfs_snapshot,
    make_busybox_rootfs,
    run_graph,
    skopeo_copy,
    snapshot,
    store_state,
    write_oci_layout,
)

DRIVERS = ["overlay2", "vfs"]


@pytest.fixture(scope="module")
def busybox_image(tmp_path_factory):
    """busybox built by umoci: one layer with the busybox rootfs, Cmd sh."""
    work = tmp_path_factory.mktemp("umoci-busybox")
    img = UmociImage(work / "img")

    def fill(rootfs):
        tmp = work / "rootfs-src"
        make_busybox_rootfs(tmp)
        for p in tmp.iterdir():
            shutil.move(str(p), rootfs / p.name)

    img.layer(fill).config("--config.cmd", "sh")
    return img


@pytest.fixture(scope="module")
def multilayer_image(tmp_path_factory, busybox_image):
    """Four layers: busybox, then umoci layers that add, change and delete files (umoci
    writes .wh. whiteouts for the deletions), then a hand-made layer with an opaque dir."""
    work = tmp_path_factory.mktemp("umoci-multi")
    img = UmociImage(work / "img")

    def base(rootfs):
        for p in busybox_image.rootfs.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.copytree(p, rootfs / p.name, symlinks=True)
            else:
                shutil.copy2(p, rootfs / p.name, follow_symlinks=False)

    def add(rootfs):
        (rootfs / "app").mkdir()
        (rootfs / "app" / "keep.txt").write_text("keep\n")
        (rootfs / "app" / "gone.txt").write_text("to be deleted\n")
        (rootfs / "app" / "old").mkdir()
        (rootfs / "app" / "old" / "a").write_text("a\n")
        (rootfs / "app" / "old" / "b").write_text("b\n")
        (rootfs / "etc" / "motd").write_text("hello\n")
        os.symlink("keep.txt", rootfs / "app" / "link")
        os.chmod(rootfs / "app" / "keep.txt", 0o600)

    def change(rootfs):
        (rootfs / "app" / "gone.txt").unlink()
        (rootfs / "etc" / "motd").write_text("changed\n")
        (rootfs / "bin" / "vi").unlink()
        (rootfs / "app" / "new.txt").write_text("new\n")

    img.layer(base).layer(add).layer(change).config("--config.env", "FOO=bar")
    # an opaque dir: app/old loses a and b, gains c (the tools do not emit opaque markers)
    layer = TarBuilder().dir("app/old", mode=0o750).opaque("app/old").file("app/old/c", "c\n").bytes()
    append_layer(img.layout, img.tag, layer)
    expected = work / "expected"
    shutil.copytree(img.rootfs, expected, symlinks=True)
    shutil.rmtree(expected / "app" / "old")
    (expected / "app" / "old").mkdir()
    os.chmod(expected / "app" / "old", 0o750)
    (expected / "app" / "old" / "c").write_text("c\n")
    os.utime(expected / "app" / "old" / "c", (1700000000, 1700000000))
    return img, expected


def converted(tmp_path, layout_ref, name="busybox:latest"):
    """The image as skopeo writes it in each transport."""
    d = tmp_path / "conv"
    d.mkdir(exist_ok=True)
    out = {"oci-dir": None, "docker-archive": d / "docker.tar", "oci-archive": d / "oci.tar"}
    skopeo_copy(f"oci:{layout_ref}", f"docker-archive:{out['docker-archive']}:{name}")
    skopeo_copy(f"oci:{layout_ref}", f"oci-archive:{out['oci-archive']}:{name}")
    skopeo_copy(f"oci:{layout_ref}", f"oci:{d / 'ocidir'}:{name.split(':')[1]}")
    out["oci-dir"] = d / "ocidir"
    return out


@pytest.mark.parametrize("driver", DRIVERS)
def test_busybox_from_every_transport(tmp_path, busybox_image, driver):
    files = converted(tmp_path, busybox_image.ref)
    expected = snapshot(busybox_image.rootfs)
    ids = {}
    for kind, path in files.items():
        root = tmp_path / f"root-{kind}"
        args = ["load"] + (["--name", "busybox"] if kind == "oci-dir" else []) + [path]
        loaded = graph_json(root, *args, driver=driver)
        assert len(loaded) == 1
        assert loaded[0]["RepoTags"] == ["busybox:latest"], kind
        ids[kind] = loaded[0]["Id"]
        got = image_rootfs_snapshot(root, "busybox", driver=driver)
        assert diff_snapshots(expected, got) == [], kind
        inspect = graph_json(root, "inspect", "busybox", driver=driver)
        assert inspect["Config"]["Cmd"] == ["sh"]
        assert inspect["GraphDriver"]["Name"] == driver
        assert inspect["Id"] == ids[kind]
        assert store_state(root)["tmp"] == []
    # the config is carried unchanged through every transport: one image ID
    assert len(set(ids.values())) == 1, ids


@pytest.mark.parametrize("driver", DRIVERS)
def test_multilayer_whiteouts_and_opaque(tmp_path, multilayer_image, driver):
    img, expected_dir = multilayer_image
    files = converted(tmp_path, img.ref, name="multi:v1")
    expected = snapshot(expected_dir)
    assert "app/gone.txt" not in expected and "bin/vi" not in expected
    assert "app/old/a" not in expected and "app/old/c" in expected
    for kind, path in files.items():
        root = tmp_path / f"root-{kind}"
        args = ["load"] + (["--name", "multi"] if kind == "oci-dir" else []) + [path]
        loaded = graph_json(root, *args, driver=driver)
        assert loaded[0]["RepoTags"] == ["multi:v1"], kind
        got = image_rootfs_snapshot(root, "multi:v1", driver=driver)
        assert diff_snapshots(expected, got) == [], kind
        inspect = graph_json(root, "inspect", "multi:v1", driver=driver)
        assert len(inspect["RootFS"]["Layers"]) == 4
        assert "FOO=bar" in inspect["Config"]["Env"]


def test_overlay_layers_hold_whiteout_devices_and_opaque_xattr(tmp_path, multilayer_image):
    img, _ = multilayer_image
    root = tmp_path / "root"
    graph_json(root, "load", "--name", "multi", img.layout, driver="overlay2")
    inspect = graph_json(root, "inspect", "multi:latest")
    layers_dir = root / "layers"
    # find the layer that deleted app/gone.txt: it holds a 0/0 char device
    found_wh = found_opq = False
    for d in layers_dir.iterdir():
        if d.name == "l":
            continue
        wh = d / "diff" / "app" / "gone.txt"
        if os.path.lexists(wh) and stat.S_ISCHR(os.lstat(wh).st_mode):
            assert os.lstat(wh).st_rdev == os.makedev(0, 0)
            assert not os.path.lexists(d / "diff" / "app" / ".wh.gone.txt")
            found_wh = True
        old = d / "diff" / "app" / "old"
        if old.is_dir() and (old / "c").exists():
            assert os.getxattr(old, "trusted.overlay.opaque") == b"y"
            assert not (old / ".wh..wh..opq").exists()
            found_opq = True
    assert found_wh and found_opq
    assert len([d for d in layers_dir.iterdir() if d.name != "l"]) == len(inspect["RootFS"]["Layers"])


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_metadata_preserved(tmp_path, driver, compression):
    """Owners, modes (setuid), times, xattrs, devices, fifos and hard links survive."""
    layer = (TarBuilder()
             .dir("d", mode=0o710, uid=1000, gid=1001, mtime=1600000000)
             .file("d/suid", "x", mode=0o4755, uid=0, gid=0, mtime=1500000000)
             .file("d/owned", "owned", mode=0o640, uid=1234, gid=5678, mtime=1400000000,
                   pax_headers={"SCHILY.xattr.user.note": "hello", "SCHILY.xattr.trusted.evil": "1"})
             .hardlink("d/owned-link", "d/owned")
             .chardev("d/null", 1, 3)
             .fifo("d/pipe", mode=0o600)
             .symlink("d/abs", "/etc/passwd", mtime=1300000000)
             .file("implicit/parent/file", "p")
             .bytes())
    layout = tmp_path / "layout"
    write_oci_layout(layout, [layer], tag="meta", compression=compression)
    root = tmp_path / "root"
    graph_json(root, "load", "--name", "meta", layout, driver=driver)
    with Mounted(root, "meta:meta", driver=driver) as rootfs:
        d = rootfs / "d"
        st = os.lstat(d)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o710, 1000, 1001, 1600000000)
        st = os.lstat(d / "suid")
        assert stat.S_IMODE(st.st_mode) == 0o4755 and int(st.st_mtime) == 1500000000
        st = os.lstat(d / "owned")
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o640, 1234, 5678, 1400000000)
        assert os.getxattr(d / "owned", "user.note") == b"hello"
        assert "trusted.evil" not in os.listxattr(d / "owned")
        assert st.st_nlink == 2 and os.lstat(d / "owned-link").st_ino == st.st_ino
        st = os.lstat(d / "null")
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
        assert stat.S_ISFIFO(os.lstat(d / "pipe").st_mode)
        assert os.readlink(d / "abs") == "/etc/passwd"
        assert int(os.lstat(d / "abs").st_mtime) == 1300000000
        assert (rootfs / "implicit" / "parent" / "file").read_text() == "p"


def test_shared_layers_unpacked_once(tmp_path, busybox_image):
    """Two images on the same base share its layer: one directory, refcount 2, and deleting
    one image keeps the layer for the other."""
    root = tmp_path / "root"
    graph_json(root, "load", "--name", "busybox", busybox_image.layout)
    base_layer = graph_json(root, "inspect", "busybox")["RootFS"]["Layers"][0]
    extra = TarBuilder().file("extra.txt", "extra").bytes()
    layout2 = tmp_path / "layout2"
    skopeo_copy(f"oci:{busybox_image.ref}", f"oci:{layout2}:latest")
    append_layer(layout2, "latest", extra)
    loaded = graph_json(root, "load", "--name", "derived", layout2)
    inspect2 = graph_json(root, "inspect", loaded[0]["Id"])
    assert inspect2["RootFS"]["Layers"][0] == base_layer
    layer_dirs = [d for d in (root / "layers").iterdir() if d.name != "l"]
    assert len(layer_dirs) == 2
    db = sqlite3.connect(root / "berth.db")
    refs = dict(db.execute("SELECT diff_id, refs FROM layers").fetchall())
    db.close()
    assert refs[base_layer] == 2
    run_graph(root, "rmi", "busybox")
    with Mounted(root, "derived") as rootfs:
        assert (rootfs / "extra.txt").read_text() == "extra"
        assert (rootfs / "bin" / "busybox").is_file()
    assert len([d for d in (root / "layers").iterdir() if d.name != "l"]) == 2


def test_parallel_and_serial_unpack_agree(tmp_path, multilayer_image):
    img, expected_dir = multilayer_image
    expected = snapshot(expected_dir)
    for threads in ("1", "4"):
        root = tmp_path / f"root{threads}"
        res = subprocess.run([graph_bin(), "--root", str(root), "--threads", threads, "load", "--name", "multi",
                              str(img.layout)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        got = image_rootfs_snapshot(root, "multi:latest")
        assert diff_snapshots(expected, got) == []
