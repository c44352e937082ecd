"""Image operations with Docker's semantics: references and short IDs, tag, untag/delete
(and their conflicts), prune, list sizes, history, import with --change, and the writable
layer of a container: mount, changes, diff, export, commit (overlay2 and vfs)."""

import io
import json
import os
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from graph_fixtures import (
    Mounted,
    TarBuilder,
    graph_json,
    run_graph,
    store_state,
    write_oci_layout,
)

DRIVERS = ["overlay2", "vfs"]


def load_simple(root, tmp_path, name, files, tag="latest", driver=None, base=None):
    tb = TarBuilder()
    for n, d in files.items():
        tb.file(n, d)
    layers = ([base] if base else []) + [tb.bytes()]
    layout = tmp_path / f"layout-{name}-{tag}"
    write_oci_layout(layout, layers, tag=tag)
    return graph_json(root, "load", "--name", name, layout, driver=driver)[0]["Id"]


def test_reference_forms_and_short_ids(tmp_path):
    root = tmp_path / "root"
    image_id = load_simple(root, tmp_path, "busybox", {"a": "1"})
    run_graph(root, "tag", "busybox", "localhost:5000/team/app:1.0")
    for ref in ("busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest",
                "index.docker.io/library/busybox", image_id, image_id[7:], image_id[7:19], image_id[:15],
                "localhost:5000/team/app:1.0"):
        assert run_graph(root, "resolve", ref).stdout.strip() == image_id, ref
    res = run_graph(root, "resolve", "nosuch", check=False)
    assert res.returncode == 1 and res.stderr.strip() == "berth-graph: No such image: nosuch"
    res = run_graph(root, "resolve", "BusyBox", check=False)
    assert res.returncode == 1 and "must be lowercase" in res.stderr
    # an ambiguous prefix is refused; a longer one picks one image
    ids = {image_id}
    for i in range(40):
        ids.add(load_simple(root, tmp_path, f"img{i}", {"f": str(i)}))
    by_first = {}
    for i in ids:
        by_first.setdefault(i[7], []).append(i)
    clash = next(v for v in by_first.values() if len(v) > 1)
    res = run_graph(root, "resolve", clash[0][7], check=False)
    assert res.returncode == 1 and "multiple IDs found" in res.stderr


def test_tag_untag_delete_semantics(tmp_path):
    root = tmp_path / "root"
    image_id = load_simple(root, tmp_path, "app", {"a": "1"})
    run_graph(root, "tag", "app", "app:v2")
    run_graph(root, "tag", "app", "other/app:x")
    res = run_graph(root, "tag", "app", "app@sha256:" + "0" * 64, check=False)
    assert res.returncode == 1
    # by name: untag only while other names remain
    out = graph_json(root, "rmi", "app:v2")
    assert out == [{"Untagged": "app:v2"}]
    # by ID with names in two repositories: refused without force
    res = run_graph(root, "rmi", image_id[7:19], check=False)
    assert res.returncode == 1
    assert f"conflict: unable to delete {image_id[7:19]} (must be forced) - image is referenced in multiple " \
           "repositories" in res.stderr
    # a container holds it: other names go, the last one only when forced (moby would
    # otherwise leave the container's image dangling)
    run_graph(root, "rw-create", "c1", "app")
    out = graph_json(root, "rmi", "other/app:x")
    assert out == [{"Untagged": "other/app:x"}]
    res = run_graph(root, "rmi", "app", check=False)
    assert res.returncode == 1
    assert 'conflict: unable to remove repository reference "app" (must force) - container c1 ' \
           f"is using its referenced image {image_id[7:19]}" in res.stderr
    assert graph_json(root, "images", "-a")[0]["Id"] == image_id
    # by ID while a stopped container uses it: must be forced
    res = run_graph(root, "rmi", image_id, check=False)
    assert res.returncode == 1 and "image is being used by stopped container c1" in res.stderr
    # forced by name: untagged, then deleted as moby does
    out = graph_json(root, "rmi", "-f", "app")
    assert out == [{"Untagged": "app:latest"}, {"Deleted": image_id}]
    # the container's layers outlive the image; removing the container frees them
    with_layer = [p.name for p in (root / "layers").iterdir() if p.name not in ("l", "c1")]
    assert len(with_layer) == 1
    run_graph(root, "rw-remove", "c1")
    assert store_state(root) == {"images": [], "layers": [], "links": [], "blobs": [], "tmp": []}


def test_delete_last_tag_deletes_image_and_layers(tmp_path):
    root = tmp_path / "root"
    base = TarBuilder().file("base", "b").bytes()
    id1 = load_simple(root, tmp_path, "one", {"one": "1"}, base=base)
    id2 = load_simple(root, tmp_path, "two", {"two": "2"}, base=base)
    out = graph_json(root, "rmi", "one")
    assert out[0] == {"Untagged": "one:latest"} and out[1] == {"Deleted": id1}
    assert len(out) == 3  # and its own top layer (the shared base stays)
    assert len(store_state(root)["layers"]) == 2
    out = graph_json(root, "rmi", "two")
    assert [list(x)[0] for x in out] == ["Untagged", "Deleted", "Deleted", "Deleted"]
    assert out[1] == {"Deleted": id2}
    assert store_state(root) == {"images": [], "layers": [], "links": [], "blobs": [], "tmp": []}


def test_prune_dangling(tmp_path):
    root = tmp_path / "root"
    old = load_simple(root, tmp_path, "app", {"v": "1"})
    new = load_simple(root, tmp_path, "app", {"v": "2"}, tag="latest")  # takes the tag
    kept = load_simple(root, tmp_path, "keep", {"k": "1"})
    images = {i["Id"]: i for i in graph_json(root, "images")}
    assert images[old]["RepoTags"] == [] and images[new]["RepoTags"] == ["app:latest"]
    assert images[new]["Size"] == 1 and images[kept]["Size"] == 1
    out = graph_json(root, "prune")
    assert {"Deleted": old} in out["ImagesDeleted"]
    assert out["SpaceReclaimed"] == 1
    assert {i["Id"] for i in graph_json(root, "images")} == {new, kept}
    assert graph_json(root, "prune")["ImagesDeleted"] == []


def test_import_with_changes_and_history(tmp_path):
    root = tmp_path / "root"
    tarball = tmp_path / "rootfs.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        for name, data in (("bin/tool", b"#!/bin/sh\n"), ("etc/conf", b"x=1\n")):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o755
            t.addfile(ti, io.BytesIO(data))
    changes = ["CMD [\"/bin/tool\", \"run\"]", "ENTRYPOINT /bin/sh", "ENV A=1 B=\"two words\"", "ENV C 3",
               "WORKDIR /srv", "WORKDIR data", "USER nobody", "EXPOSE 80 53/udp", "LABEL a=b \"c d\"=e"]
    args = ["import"]
    for c in changes:
        args += ["-c", c]
    image_id = run_graph(root, *args, "-m", "imported", tarball, "imp:1").stdout.strip()
    i = graph_json(root, "inspect", "imp:1")
    assert i["Id"] == image_id and i["RepoTags"] == ["imp:1"]
    c = i["Config"]
    assert c["Cmd"] == ["/bin/tool", "run"]
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh"]
    assert c["Env"] == ["A=1", "B=two words", "C=3"]
    assert c["WorkingDir"] == "/srv/data" and c["User"] == "nobody"
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Labels"] == {"a": "b", "c d": "e"}
    assert i["Comment"] == "imported" and len(i["RootFS"]["Layers"]) == 1
    h = graph_json(root, "history", "imp:1")
    assert len(h) == 1 and h[0]["Id"] == image_id and h[0]["Comment"] == "Imported from -"
    assert h[0]["Size"] == len(b"#!/bin/sh\n") + len(b"x=1\n") and h[0]["Tags"] == ["imp:1"]
    with Mounted(root, "imp:1") as rootfs:
        assert (rootfs / "bin" / "tool").read_bytes() == b"#!/bin/sh\n"
    res = run_graph(root, "import", "-c", "FROM scratch", tarball, check=False)
    assert res.returncode == 1 and "FROM is not one of" in res.stderr
    # a broken tarball: nothing registered
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(tarball.read_bytes()[:-30])
    before = store_state(root)
    assert run_graph(root, "import", bad, check=False).returncode == 1
    assert store_state(root) == before


@pytest.mark.parametrize("driver", DRIVERS)
def test_container_layer_changes_diff_export_commit(tmp_path, driver):
    root = tmp_path / "root"
    base = (TarBuilder().dir("etc").file("etc/passwd", "root\n").file("etc/hosts", "h\n")
            .dir("data").file("data/a", "a").file("data/b", "b").dir("keep").file("keep/x", "x").bytes())
    layout = tmp_path / "layout"
    write_oci_layout(layout, [base], tag="1")
    base_id = graph_json(root, "load", "--name", "base", layout, driver=driver)[0]["Id"]
    run_graph(root, "rw-create", "ctr", "base:1", driver=driver)
    rootfs = Path(run_graph(root, "mount", "ctr", driver=driver).stdout.strip())
    try:
        (rootfs / "etc" / "passwd").write_text("root\nuser\n")
        (rootfs / "etc" / "hosts").unlink()
        (rootfs / "new").mkdir()
        (rootfs / "new" / "file").write_text("n")
        subprocess.run(["rm", "-rf", str(rootfs / "data")], check=True)
        (rootfs / "data").mkdir()
        (rootfs / "data" / "c").write_text("c")
        changes = {c["Path"]: c["Kind"] for c in graph_json(root, "changes", "ctr", driver=driver)}
        assert changes["/etc/passwd"] == 0 and changes["/etc/hosts"] == 2
        assert changes["/new"] == 1 and changes["/new/file"] == 1 and changes["/data/c"] == 1
        assert "/keep" not in changes and "/keep/x" not in changes
        diff = tmp_path / "diff.tar"
        run_graph(root, "diff", "ctr", diff, driver=driver)
        with tarfile.open(diff) as t:
            names = set(t.getnames())
        assert {"etc/passwd", "etc/.wh.hosts", "new/file", "data/c"} <= names
        assert "keep/x" not in names and "etc/hosts" not in names
        # data was removed and recreated: its old children must not come back
        assert "data/.wh..wh..opq" in names or {"data/.wh.a", "data/.wh.b"} <= names
        export = tmp_path / "export.tar"
        run_graph(root, "export", "ctr", export, driver=driver)
        with tarfile.open(export) as t:
            exported = {m.name: m for m in t.getmembers()}
            assert t.extractfile("etc/passwd").read() == b"root\nuser\n"
        assert set(exported) == {"etc", "etc/passwd", "data", "data/c", "keep", "keep/x", "new", "new/file"}
        # the rootfs stays mounted for the container after export
        assert (rootfs / "new" / "file").read_text() == "n"
        new_id = run_graph(root, "commit", "-c", "CMD [\"/bin/true\"]", "-m", "snap", "ctr", "snap:1",
                           driver=driver).stdout.strip()
    finally:
        run_graph(root, "umount", "ctr", driver=driver)
    i = graph_json(root, "inspect", "snap:1", driver=driver)
    assert i["Id"] == new_id and i["Parent"] == base_id and len(i["RootFS"]["Layers"]) == 2
    assert i["Config"]["Cmd"] == ["/bin/true"] and i["Comment"] == "snap"
    h = graph_json(root, "history", "snap:1", driver=driver)
    assert [x["Id"] for x in h] == [new_id, base_id]
    with Mounted(root, "snap:1", name="check", driver=driver) as r2:
        got = sorted(str(p.relative_to(r2)) for p in r2.rglob("*"))
        assert got == ["data", "data/c", "etc", "etc/passwd", "keep", "keep/x", "new", "new/file"]
        assert (r2 / "etc" / "passwd").read_text() == "root\nuser\n"
    # the parent cannot go while its child exists
    res = run_graph(root, "rmi", "-f", base_id, driver=driver, check=False)
    assert res.returncode == 1 and "image has dependent child images" in res.stderr
    run_graph(root, "rw-remove", "ctr", driver=driver)
    # deleting the child prunes the untagged parent chain only if untagged: base:1 stays
    out = graph_json(root, "rmi", "snap:1", driver=driver)
    assert {"Deleted": new_id} in out and {"Deleted": base_id} not in out
    assert [x["Id"] for x in graph_json(root, "images", driver=driver)] == [base_id]


def test_long_layer_chain_mounts(tmp_path):
    """Short link names keep the lowerdir option of a 100-layer chain under a page."""
    layers = [TarBuilder().file(f"f{i:03d}", str(i)).bytes() for i in range(100)]
    layout = tmp_path / "layout"
    write_oci_layout(layout, layers, tag="deep", compression=None)
    root = tmp_path / ("r" * 60)  # a long data root path must not matter
    graph_json(root, "load", "--name", "deep", layout, driver="overlay2")
    with Mounted(root, "deep:deep") as rootfs:
        assert sorted(p.name for p in rootfs.iterdir()) == [f"f{i:03d}" for i in range(100)]
        assert (rootfs / "f042").read_text() == "42"


def test_driver_is_fixed_per_data_root_and_db_is_wal(tmp_path):
    root = tmp_path / "root"
    load_simple(root, tmp_path, "a", {"a": "1"}, driver="vfs")
    res = run_graph(root, "images", driver="overlay2", check=False)
    assert res.returncode == 1 and "uses graphdriver vfs" in res.stderr
    # without --driver the data root's own driver is used
    assert graph_json(root, "inspect", "a")["GraphDriver"]["Name"] == "vfs"
    db = sqlite3.connect(root / "berth.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
