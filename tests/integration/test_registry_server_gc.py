"""berth-registry gc: marks from manifests in every repository, sweeps unreferenced blobs
(and their repository links), keeps blobs younger than the grace period and open uploads,
and runs safely next to a serving registry."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_server_util import Registry, image_manifest, sha256  # noqa: E402


@pytest.fixture
def binary(berth_binary):
    return berth_binary("berth-registry")


@pytest.fixture
def reg(binary, tmp_path):
    r = Registry(binary, tmp_path)
    yield r
    r.stop()


def gc(binary, root, *args):
    p = subprocess.run([binary, "gc", "--root", str(root), *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p.stdout


def age(reg, digests, seconds=7200):
    """Make blobs look old, as if pushed `seconds` ago."""
    t = time.time() - seconds
    for d in digests:
        alg, hexd = d.split(":")
        os.utime(reg.root / "blobs" / alg / hexd, (t, t))


def test_gc_removes_only_unreferenced(reg, binary):
    a_digest, a_body, (a_cfg, shared_layer) = reg.push_image("lib/a", "v1", layer=b"shared layer")
    b_digest, _, (b_cfg, _) = reg.push_image("lib/b", "v1", layer=b"shared layer", config=b'{"b":1}')
    stray = reg.push_blob("lib/a", b"stray blob no manifest uses")
    # an index keeps the manifests it lists
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": a_digest, "size": len(a_body)}]}
    idx_body = json.dumps(idx).encode()
    reg.push_manifest("lib/a", "index", idx_body, media_type="application/vnd.oci.image.index.v1+json")
    # delete lib/b's manifest: its config is referenced by nothing now, its layer still by lib/a
    assert reg.request("DELETE", f"/v2/lib/b/manifests/{b_digest}").status == 202
    everything = reg.blob_files()
    age(reg, everything)

    dry = gc(binary, reg.root, "--dry-run")
    assert "blobs removed: 3" in dry, dry
    assert reg.blob_files() == everything

    out = gc(binary, reg.root)
    assert "blobs removed: 3" in out, out
    assert reg.blob_files() == everything - {b_cfg, b_digest, stray}
    # what is referenced still serves, end to end
    assert reg.request("GET", "/v2/lib/a/manifests/v1").body == a_body
    assert reg.request("GET", "/v2/lib/a/manifests/index").body == idx_body
    for d in (a_cfg, shared_layer):
        assert sha256(reg.request("GET", f"/v2/lib/a/blobs/{d}").body) == d
    assert sha256(reg.request("GET", f"/v2/lib/b/blobs/{shared_layer}").body) == shared_layer
    # what was swept is gone from the repositories too, not only from the store
    assert reg.request("HEAD", f"/v2/lib/b/blobs/{b_cfg}").status == 404
    assert reg.request("HEAD", f"/v2/lib/a/blobs/{stray}").status == 404
    # and can be pushed again
    assert reg.push_blob("lib/a", b"stray blob no manifest uses") == stray


def test_gc_keeps_young_blobs_and_open_uploads(reg, binary):
    young = reg.push_blob("lib/y", b"pushed a moment ago, manifest still to come")
    loc = reg.request("POST", "/v2/lib/y/blobs/uploads/").header("Location")
    assert reg.request("PATCH", loc, body=b"half", headers={"Content-Range": "0-3"}).status == 202
    out = gc(binary, reg.root)  # default grace: one hour
    assert "blobs removed: 0" in out and "uploads removed: 0" in out
    assert young in reg.blob_files()
    assert reg.request("GET", f"/v2/lib/y/blobs/{young}").status == 200
    # the upload goes on after the collection
    data = b"half and the rest"
    assert reg.request("PUT", f"{loc}?digest={sha256(data)}", body=data[4:], headers={"Content-Range": f"4-{len(data) - 1}"}).status == 201
    assert reg.request("GET", f"/v2/lib/y/blobs/{sha256(data)}").body == data
    # an upload idle past the upload grace is collected
    loc = reg.request("POST", "/v2/lib/y/blobs/uploads/").header("Location")
    reg.request("PATCH", loc, body=b"abandoned")
    t = time.time() - 7200
    for p in (reg.root / "repos/lib/y/_uploads").rglob("*"):
        os.utime(p, (t, t))
    out = gc(binary, reg.root, "--upload-grace", "3600")
    assert "uploads removed: 1" in out, out
    assert reg.upload_dirs("lib/y") == []
    assert reg.request("GET", loc).status == 404


def test_gc_while_pushing(reg, binary):
    """Collections run over and over while 8 clients push images: every image is whole."""
    stop = threading.Event()
    gc_runs = []

    def collect():
        while not stop.is_set():
            gc_runs.append(gc(binary, reg.root))

    results = {}

    def push(i):
        try:
            results[i] = reg.push_image(f"busy/r{i}", "v1", layer=f"layer {i}".encode() * 1000)
        except Exception as e:
            results[i] = e

    collector = threading.Thread(target=collect)
    collector.start()
    pushers = [threading.Thread(target=push, args=(i,)) for i in range(8)]
    for t in pushers:
        t.start()
    for t in pushers:
        t.join(timeout=600)
    stop.set()
    collector.join(timeout=600)
    assert gc_runs
    for i in range(8):
        assert not isinstance(results[i], Exception), results[i]
        digest, body, blobs = results[i]
        assert reg.request("GET", f"/v2/busy/r{i}/manifests/v1").body == body
        for b in blobs:
            assert sha256(reg.request("GET", f"/v2/busy/r{i}/blobs/{b}").body) == b
    # and once the pushes are done, a collection with no grace keeps all of it
    gc(binary, reg.root, "--grace", "0")
    for i in range(8):
        for b in results[i][2]:
            assert reg.request("HEAD", f"/v2/busy/r{i}/blobs/{b}").status == 200


def test_gc_help_and_errors(binary, tmp_path):
    p = subprocess.run([binary, "gc"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--root is required" in p.stderr
    p = subprocess.run([binary, "gc", "--root", str(tmp_path / "r"), "--grace", "soon"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2


def test_gc_removes_stale_temp_files(reg, binary):
    """A writer killed between create and rename leaves a temp file next to its target
    (.<name>.tmp.XXXXXX, or .tmp-XXXXXX from earlier versions): gc removes the stale ones and
    leaves a fresh one (a write in progress) and a tag merely named like one alone."""
    reg.push_image("lib/t", "v1")
    stale = [reg.root / "blobs/sha256/.tmp-AAAAAA", reg.root / "repos/lib/t/_manifests/tags/.tmp-BBBBBB",
             reg.root / "repos/lib/t/_manifests/tags/.v1.tmp.DDDDDD"]
    fresh = reg.root / "blobs/sha256/.tmp-CCCCCC"
    t = time.time() - 7200
    for p in stale:
        p.write_bytes(b"half written")
        os.utime(p, (t, t))
    fresh.write_bytes(b"being written")
    out = gc(binary, reg.root)
    assert "temp files removed: 3" in out, out
    assert not any(p.exists() for p in stale) and fresh.exists()
    assert reg.request("GET", "/v2/lib/t/tags/list").json()["tags"] == ["v1"]
