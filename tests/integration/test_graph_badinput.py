"""Bad input: malicious layer tars (path traversal, absolute names, symlink and hard link
escapes, whiteouts of ..) and broken images (truncated or corrupt layers, digest mismatch,
missing blob, bad config, unknown media type). Each gives one clear error, registers
nothing, leaves the temp area empty, and touches nothing outside the data root. Also: a load
killed midway leaves a store that the next start brings back to a consistent state."""

import gzip
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from graph_fixtures import (
    Mounted,
    TarBuilder,
    graph_bin,
    graph_json,
    run_graph,
    store_state,
    tree_fingerprint,
    write_oci_layout,
)

DRIVERS = ["overlay2", "vfs"]


@pytest.fixture
def sentinel(tmp_path):
    """A directory outside the data root that attacks aim at, with a file to overwrite."""
    d = tmp_path / "outside"
    d.mkdir()
    (d / "victim").write_text("original\n")
    return d


def empty_state(root):
    s = store_state(root)
    return s["images"] == [] and s["layers"] == [] and s["links"] == [] and s["blobs"] == [] and s["tmp"] == []


def attack_layers(sentinel):
    """name -> (layer tar, error substring). All must be rejected."""
    s = str(sentinel)
    depth = "../" * 20
    return {
        "dotdot": (TarBuilder().file("../../../../escape", "x").bytes(), "escapes the layer root"),
        "dotdot-inside": (TarBuilder().dir("a").file("a/../../escape", "x").bytes(), "escapes the layer root"),
        "dotdot-to-sentinel": (TarBuilder().file(depth + s.lstrip("/") + "/victim", "pwned").bytes(),
                               "escapes the layer root"),
        "absolute": (TarBuilder().file(s + "/victim", "pwned").bytes(), "absolute path"),
        "hardlink-absolute": (TarBuilder().hardlink("stolen", s + "/victim").bytes(), "absolute path"),
        "hardlink-dotdot": (TarBuilder().hardlink("stolen", depth + s.lstrip("/") + "/victim").bytes(),
                            "escapes the layer root"),
        "hardlink-through-symlink": (TarBuilder().symlink("out", s).hardlink("stolen", "out/victim").bytes(),
                                     "hard link"),
        "whiteout-dotdot": (TarBuilder().dir("a").file("a/.wh..", "").bytes(), "invalid whiteout"),
        "whiteout-dotdotdot": (TarBuilder().dir("a").file("a/.wh...", "").bytes(), "invalid whiteout"),
        "whiteout-empty": (TarBuilder().file(".wh.", "").bytes(), "invalid whiteout"),
    }


@pytest.mark.parametrize("driver", DRIVERS)
def test_malicious_layers_rejected(tmp_path, sentinel, driver):
    before = tree_fingerprint(sentinel)
    passwd_before = os.stat("/etc/passwd")
    for name, (layer, msg) in attack_layers(sentinel).items():
        layout = tmp_path / f"layout-{name}"
        write_oci_layout(layout, [layer], tag="evil")
        root = tmp_path / f"root-{name}"
        res = run_graph(root, "load", "--name", "evil", layout, driver=driver, check=False)
        assert res.returncode == 1, f"{name}: accepted"
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0], f"{name}: {res.stderr}"
        assert empty_state(root), f"{name}: {store_state(root)}"
    assert tree_fingerprint(sentinel) == before
    assert (sentinel / "victim").read_text() == "original\n"
    after = os.stat("/etc/passwd")
    assert (after.st_nlink, after.st_mtime_ns) == (passwd_before.st_nlink, passwd_before.st_mtime_ns)
    assert not Path("/escape").exists() and not (tmp_path / "escape").exists()


@pytest.mark.parametrize("driver", DRIVERS)
def test_symlink_escapes_are_confined(tmp_path, sentinel, driver):
    """Writes through symlinks that point outside land inside the layer instead: absolute and
    relative links, a whiteout through a link, and a link planted by a lower layer."""
    s = str(sentinel)
    lower = TarBuilder().symlink("planted", s).bytes()
    upper = (TarBuilder()
             .symlink("abs", s)
             .file("abs/victim", "pwned-abs")
             .symlink("rel", "../../../../../../../../../../" + s.lstrip("/"))
             .file("rel/new", "pwned-rel")
             .file("abs/.wh.victim", "")
             .dir("planted")  # replaces the lower symlink with a directory inside the layer
             .file("planted/victim", "inside")
             .bytes())
    before = tree_fingerprint(sentinel)
    layout = tmp_path / "layout"
    write_oci_layout(layout, [lower, upper], tag="confined")
    root = tmp_path / "root"
    graph_json(root, "load", "--name", "confined", layout, driver=driver)
    assert tree_fingerprint(sentinel) == before
    assert (sentinel / "victim").read_text() == "original\n"
    assert not (sentinel / "new").exists()
    with Mounted(root, "confined:confined", driver=driver) as rootfs:
        # the writes were resolved inside the image: <rootfs>/<sentinel path>/...
        inside = rootfs / s.lstrip("/")
        assert (inside / "new").read_text() == "pwned-rel"
        assert not (inside / "victim").exists()  # written, then whited out, inside
        assert (rootfs / "planted" / "victim").read_text() == "inside"
    assert tree_fingerprint(sentinel) == before


def gz(data):
    return gzip.compress(data, mtime=0)


def good_layer():
    return TarBuilder().dir("etc").file("etc/hostname", "box\n").file("big", os.urandom(200000)).bytes()


def broken_images(tmp_path):
    """name -> (path to load, error substring)."""
    out = {}
    layer = good_layer()

    def layout(name, **kw):
        d = tmp_path / f"bad-{name}"
        write_oci_layout(d, [good_layer(), layer], tag="bad", **kw)
        return d

    out["digest-mismatch"] = (layout("digest", corrupt="digest"), "digest")
    out["missing-blob"] = (layout("missing", corrupt="missing-blob"), "which the image lacks")
    out["bad-config"] = (layout("config", corrupt="bad-config"), "image config")
    out["wrong-diff-id"] = (layout("diffid", corrupt="diff-id"), "diff ID mismatch")
    out["unknown-media-type"] = (layout("mt", layer_media_types={1: "application/x-weird"}),
                                 "unknown layer media type")
    # a truncated gzip layer whose manifest digest matches (so only the content is wrong)
    d = tmp_path / "bad-truncated"
    write_oci_layout(d, [good_layer(), layer], tag="bad")
    idx = json.loads((d / "index.json").read_text())
    blobs = d / "blobs" / "sha256"
    man = json.loads((blobs / idx["manifests"][0]["digest"][7:]).read_bytes())
    truncated = gz(layer)[: len(gz(layer)) // 2]
    td = "sha256:" + hashlib.sha256(truncated).hexdigest()
    (blobs / td[7:]).write_bytes(truncated)
    man["layers"][1] = {"mediaType": man["layers"][1]["mediaType"], "digest": td, "size": len(truncated)}
    mb = json.dumps(man).encode()
    md = "sha256:" + hashlib.sha256(mb).hexdigest()
    (blobs / md[7:]).write_bytes(mb)
    idx["manifests"][0].update(digest=md, size=len(mb))
    (d / "index.json").write_text(json.dumps(idx))
    out["truncated-gzip"] = (d, "layer 1")
    # a docker-archive whose layer tar is cut in the middle of a file
    da = tmp_path / "bad-truncated-tar.tar"
    raw = layer[: len(layer) // 2]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    with tarfile.open(da, "w") as t:
        for name, data in (("layer.tar", raw), ("config.json", config),
                           ("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["bad:latest"],
                                                          "Layers": ["layer.tar"]}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    out["truncated-tar"] = (da, "runcated")
    # an archive that is not an image at all, and one cut short
    junk = tmp_path / "junk.tar"
    with tarfile.open(junk, "w") as t:
        ti = tarfile.TarInfo("hello.txt")
        t.addfile(ti)
    out["not-an-image"] = (junk, "neither manifest.json nor index.json")
    # names in the archive that are not regular files: a FIFO as manifest.json must not hang
    fifo = tmp_path / "fifo.tar"
    with tarfile.open(fifo, "w") as t:
        ti = tarfile.TarInfo("manifest.json")
        ti.type = tarfile.FIFOTYPE
        t.addfile(ti)
    out["fifo-manifest"] = (fifo, "not a regular file")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(da.read_bytes()[:700])
    out["cut-archive"] = (cut, "unpack archive")
    return out


@pytest.mark.parametrize("driver", DRIVERS)
def test_broken_images_rejected(tmp_path, driver):
    for name, (path, msg) in broken_images(tmp_path).items():
        root = tmp_path / f"root-{name}"
        args = ["load", "--name", "bad", path] if path.is_dir() else ["load", path]
        res = run_graph(root, *args, driver=driver, check=False)
        assert res.returncode == 1, f"{name}: accepted"
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and msg in lines[0], f"{name}: {res.stderr}"
        assert empty_state(root), f"{name}: {store_state(root)}"


def test_failed_load_keeps_existing_images(tmp_path):
    """A bad image next to good ones: the store keeps what it had, gains nothing."""
    root = tmp_path / "root"
    good = tmp_path / "good"
    write_oci_layout(good, [good_layer()], tag="v1")
    graph_json(root, "load", "--name", "good", good)
    before = store_state(root)
    bad = tmp_path / "bad"
    write_oci_layout(bad, [good_layer(), TarBuilder().file("x", "y").bytes()], tag="v1", corrupt="digest")
    res = run_graph(root, "load", "--name", "bad", bad, check=False)
    assert res.returncode == 1
    assert store_state(root) == before


def test_recovery_removes_leftovers(tmp_path):
    """Leftovers of a crash (temp files, an unregistered layer dir and link, an orphan blob)
    are removed when the store is opened; registered content stays."""
    root = tmp_path / "root"
    good = tmp_path / "good"
    write_oci_layout(good, [good_layer()], tag="v1")
    graph_json(root, "load", "--name", "good", good)
    before = store_state(root)
    (root / "tmp" / "load-abc").mkdir()
    (root / "tmp" / "load-abc" / "half").write_bytes(b"x" * 100)
    (root / "tmp" / "blob-XYZ").write_bytes(b"partial")
    stray = root / "layers" / ("ab" * 32)
    (stray / "diff").mkdir(parents=True)
    (stray / "diff" / "file").write_text("stray")
    os.symlink(f"../{'ab' * 32}/diff", root / "layers" / "l" / "STRAYLINKSTRAYLINKSTRAYLIN")
    orphan = root / "blobs" / "sha256" / ("cd" * 32)
    orphan.write_bytes(b"orphan")
    after = store_state(root)  # opening the store ran recovery
    assert after == before
    assert not stray.exists() and not orphan.exists()


def test_killed_load_leaves_consistent_store(tmp_path):
    """SIGKILL during a load, at whatever point it has reached: the next open finds either
    the whole image or nothing, with no stray files, and the load can then be redone."""
    layers = [TarBuilder().file(f"l{i}/data", os.urandom(6 << 20)).file(f"l{i}/more", os.urandom(2 << 20)).bytes()
              for i in range(6)]
    layout = tmp_path / "big"
    write_oci_layout(layout, layers, tag="v1", compression=None)
    for delay in (0.05, 0.2, 0.5):
        root = tmp_path / f"root-{delay}"
        p = subprocess.Popen([graph_bin(), "--root", str(root), "load", "--name", "big", str(layout)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        state = store_state(root)
        assert state["tmp"] == []
        db = sqlite3.connect(root / "berth.db")
        rows = {r[0][7:] for r in db.execute("SELECT chain_id FROM layers")}
        referenced = {r[0][7:] for r in db.execute("SELECT blob FROM layers")}
        for image_id, manifest in db.execute("SELECT id, manifest FROM images"):
            referenced |= {image_id[7:]} | ({manifest[7:]} if manifest else set())
        db.close()
        assert set(state["layers"]) == rows
        assert set(state["blobs"]) == referenced
        loaded = graph_json(root, "load", "--name", "big", layout)
        with Mounted(root, loaded[0]["Id"]) as rootfs:
            assert (rootfs / "l5" / "data").stat().st_size == 6 << 20
