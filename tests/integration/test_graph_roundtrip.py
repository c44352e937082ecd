"""Round trips: load -> save -> load gives the same image ID and diff IDs, in every format;
skopeo and umoci read what berth saves (and the rootfs they unpack matches berth's)."""

import hashlib
import json
import shutil
import subprocess
import tarfile

import pytest

from graph_fixtures import (
    TarBuilder,
    UmociImage,
    append_layer,
    diff_snapshots,
    graph_json,
    image_rootfs_snapshot,
    make_busybox_rootfs,
    run,
    run_graph,
    skopeo_copy,
    snapshot,
    write_oci_layout,
)


@pytest.fixture(scope="module")
def source_image(tmp_path_factory):
    """busybox (umoci) + a hand-made layer with a whiteout and an opaque dir, gzip."""
    work = tmp_path_factory.mktemp("rt")
    img = UmociImage(work / "img")

    def fill(rootfs):
        src = work / "bb"
        make_busybox_rootfs(src)
        for p in src.iterdir():
            shutil.move(str(p), rootfs / p.name)
        (rootfs / "opq").mkdir()
        (rootfs / "opq" / "old").write_text("old")

    img.layer(fill).config("--config.cmd", "sh")
    append_layer(img.layout, "latest",
                 TarBuilder().whiteout("etc/group").dir("opq").opaque("opq").file("opq/new", "new").bytes())
    return img


def ids_of(root, ref):
    i = graph_json(root, "inspect", ref)
    return i["Id"], i["RootFS"]["Layers"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "oci"])
def test_load_save_load_same_ids(tmp_path, source_image, fmt):
    r1 = tmp_path / "r1"
    graph_json(r1, "load", "--name", "rt", source_image.layout)
    run_graph(r1, "tag", "rt:latest", "example.com/team/rt:v2")
    id1, diffs1 = ids_of(r1, "rt:latest")
    out = tmp_path / ("saved" if fmt == "oci" else "saved.tar")
    run_graph(r1, "save", "--format", fmt, "-o", out, "rt:latest", "example.com/team/rt:v2")
    r2 = tmp_path / "r2"
    loaded = graph_json(r2, "load", out)
    assert sorted(t for x in loaded for t in x["RepoTags"]) == ["example.com/team/rt:v2", "rt:latest"]
    id2, diffs2 = ids_of(r2, "rt:latest")
    assert (id2, diffs2) == (id1, diffs1)
    assert ids_of(r2, "example.com/team/rt:v2")[0] == id1
    assert diff_snapshots(image_rootfs_snapshot(r1, "rt:latest"), image_rootfs_snapshot(r2, "rt:latest")) == []
    # and once more, from what the second store saves
    out2 = tmp_path / ("saved2" if fmt == "oci" else "saved2.tar")
    run_graph(r2, "save", "--format", fmt, "-o", out2, "rt:latest")
    r3 = tmp_path / "r3"
    graph_json(r3, "load", out2)
    assert ids_of(r3, "rt:latest") == (id1, diffs1)


def test_docker_archive_layout(tmp_path, source_image):
    """What `docker save` writes: manifest.json, repositories, <id>.json, <diffid>/layer.tar."""
    r1 = tmp_path / "r1"
    graph_json(r1, "load", "--name", "rt", source_image.layout)
    image_id, diffs = ids_of(r1, "rt")
    out = tmp_path / "saved.tar"
    run_graph(r1, "save", "-o", out, "rt")
    with tarfile.open(out) as t:
        names = set(t.getnames())
        manifest = json.load(t.extractfile("manifest.json"))
        repos = json.load(t.extractfile("repositories"))
        for d in diffs:
            data = t.extractfile(f"{d[7:]}/layer.tar").read()
            assert "sha256:" + hashlib.sha256(data).hexdigest() == d
    assert manifest == [{"Config": f"{image_id[7:]}.json", "RepoTags": ["rt:latest"],
                         "Layers": [f"{d[7:]}/layer.tar" for d in diffs]}]
    assert repos == {"rt": {"latest": image_id[7:]}}
    assert f"{image_id[7:]}.json" in names


@pytest.mark.parametrize("fmt,transport", [("docker-archive", "docker-archive"), ("oci-archive", "oci-archive"),
                                           ("oci", "oci")])
def test_skopeo_and_umoci_read_berth_output(tmp_path, source_image, fmt, transport):
    r1 = tmp_path / "r1"
    graph_json(r1, "load", "--name", "rt", source_image.layout)
    image_id, diffs = ids_of(r1, "rt")
    out = tmp_path / ("saved" if fmt == "oci" else "saved.tar")
    run_graph(r1, "save", "--format", fmt, "-o", out, "rt:latest")
    src = f"{transport}:{out}" + (":latest" if fmt == "oci" else "")
    info = json.loads(run("skopeo", "inspect", "--config", src))
    assert info["rootfs"]["diff_ids"] == diffs
    # skopeo copies it to an OCI layout, umoci unpacks that: same files as berth's rootfs
    layout = tmp_path / "copy"
    skopeo_copy(src, f"oci:{layout}:latest")
    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--image", f"{layout}:latest", bundle)
    theirs = snapshot(bundle / "rootfs")
    ours = image_rootfs_snapshot(r1, "rt:latest")
    assert "etc/group" not in ours and "opq/old" not in ours and "opq/new" in ours
    assert diff_snapshots(theirs, ours) == []
    # skopeo's copy loads back with the same layers (and, OCI to OCI, the same config bytes;
    # from docker-archive skopeo re-encodes the config while converting it to OCI)
    r2 = tmp_path / "r2"
    loaded = graph_json(r2, "load", "--name", "back", layout)
    assert ids_of(r2, loaded[0]["Id"])[1] == diffs
    if fmt != "docker-archive":
        assert loaded[0]["Id"] == image_id


def test_save_several_images_and_tags(tmp_path):
    """One archive, two images (sharing a base layer, written once), three names."""
    base = TarBuilder().file("base", "b").bytes()
    a, b = tmp_path / "a", tmp_path / "b"
    write_oci_layout(a, [base, TarBuilder().file("a", "a").bytes()], tag="1")
    write_oci_layout(b, [base, TarBuilder().file("b", "b").bytes()], tag="1")
    r1 = tmp_path / "r1"
    graph_json(r1, "load", "--name", "one", a)
    graph_json(r1, "load", "--name", "two", b)
    run_graph(r1, "tag", "one:1", "one:alias")
    out = tmp_path / "multi.tar"
    run_graph(r1, "save", "-o", out, "one", "two:1")
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        layer_tars = [n for n in t.getnames() if n.endswith("/layer.tar")]
    assert len(manifest) == 2 and len(layer_tars) == 3
    assert sorted(manifest[0]["RepoTags"]) == ["one:1", "one:alias"]
    assert manifest[1]["RepoTags"] == ["two:1"]
    r2 = tmp_path / "r2"
    loaded = graph_json(r2, "load", out)
    assert sorted(t for x in loaded for t in x["RepoTags"]) == ["one:1", "one:alias", "two:1"]
    images = graph_json(r2, "images")
    assert len(images) == 2
    assert len([d for d in (r2 / "layers").iterdir() if d.name != "l"]) == 3
