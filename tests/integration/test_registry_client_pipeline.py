"""Pipelined transfers. A pull unpacks each layer as soon as its download is verified, while
later layers are still downloading: seen in the progress stream while the proxy holds one blob
back (overlay2 unpacks layers in any order; vfs, each layer a copy of its parent, in order).
A push uploads layers in parallel (max-concurrent-uploads), the manifest after all of them."""

import json
import os
import re
import subprocess

import pytest

from conftest import require_binary
from daemon_util import DEADLINE, berth, berthd  # noqa: F401  (fixtures)
from registry_util import (MT_LAYER_GZIP, MT_OCI_CONFIG, MT_OCI_MANIFEST, Proxy,  # noqa: F401
                           Registry, gz, layer_tar, push_image, put_blob, put_manifest,
                           registry, sha256)


def _layers(n):
    return [layer_tar({f"f{i}.bin": os.urandom(200_000)}) for i in range(n)]


def short(digest):
    return digest.split(":")[1][:12]


def pull_watching(build_dir, berthd, proxy, held_blob, ref, release_when, expect_ok=True):
    """Runs `berth pull ref`, reading its progress lines. Each line is kept with whether the
    held blob had not been served yet when it arrived; the blob is released once
    release_when(lines) holds (or, failing that, by the proxy after DEADLINE)."""
    p = subprocess.Popen([require_binary(build_dir / "berth"), "-H", berthd.host, "pull", ref],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in p.stdout:
            with proxy.lock:
                held = not any(held_blob in p for p in proxy.completed)
            seen.append((line.rstrip("\n"), held))
            if held and release_when([t for (t, _) in seen]):
                proxy.release.set()
        p.wait(timeout=DEADLINE)
        err = p.stderr.read()
    finally:
        proxy.release.set()
        if p.poll() is None:
            p.kill()
            p.wait()
    if expect_ok:
        assert p.returncode == 0, f"{seen}\n{err}"
        return seen
    assert p.returncode != 0, seen
    return seen, err


def index_of(seen, text):
    for i, (t, _) in enumerate(seen):
        if t == text:
            return i
    raise AssertionError(f"{text!r} not in {[t for (t, _) in seen]}")


def held_at(seen, text):
    return seen[index_of(seen, text)][1]


def test_early_layers_unpack_while_a_later_one_downloads(build_dir, berth, berthd, registry):
    _pipeline_last_held(build_dir, berth, berthd, registry)


@pytest.mark.berthd_config({"storage-driver": "vfs"})
def test_early_layers_unpack_while_a_later_one_downloads_vfs(build_dir, berth, berthd, registry):
    _pipeline_last_held(build_dir, berth, berthd, registry)


def _pipeline_last_held(build_dir, berth, berthd, registry):
    _, _, cfg, blobs = push_image(registry, "pipe/last", "1", _layers(3))
    proxy = Proxy(registry)
    try:
        proxy.stall = {blobs[2]}
        want = [f"{short(b)}: Pull complete" for b in blobs[:2]]
        seen = pull_watching(build_dir, berthd, proxy, blobs[2],
                             f"{proxy.host}/pipe/last:1",
                             lambda lines: all(w in lines for w in want))
        # both early layers were extracted and complete while the last one was held back
        for w in want:
            assert held_at(seen, w), seen
        assert held_at(seen, f"{short(blobs[0])}: Extracting"), seen
        last = index_of(seen, f"{short(blobs[2])}: Pull complete")
        assert not seen[last][1]
        assert index_of(seen, f"{short(blobs[2])}: Download complete") < last
        out = berth("image", "inspect", "--format", "{{.Id}}", f"{proxy.host}/pipe/last:1")
        assert out.returncode == 0 and out.stdout.strip() == cfg, out
    finally:
        proxy.stop()


def test_overlay2_unpacks_later_layers_before_an_earlier_one_arrives(build_dir, berth, berthd,
                                                                     registry):
    _, _, cfg, blobs = push_image(registry, "pipe/first", "1", _layers(3))
    proxy = Proxy(registry)
    try:
        proxy.stall = {blobs[0]}
        want = [f"{short(b)}: Pull complete" for b in blobs[1:]]
        seen = pull_watching(build_dir, berthd, proxy, blobs[0],
                             f"{proxy.host}/pipe/first:1",
                             lambda lines: all(w in lines for w in want))
        for w in want:
            assert held_at(seen, w), seen
        assert not held_at(seen, f"{short(blobs[0])}: Pull complete"), seen
        out = berth("image", "inspect", "--format", "{{.Id}}", f"{proxy.host}/pipe/first:1")
        assert out.returncode == 0 and out.stdout.strip() == cfg, out
    finally:
        proxy.stop()


@pytest.mark.berthd_config({"storage-driver": "vfs"})
def test_vfs_unpacks_in_order_when_an_earlier_layer_is_late(build_dir, berth, berthd, registry):
    _, _, cfg, blobs = push_image(registry, "pipe/vfs", "1", _layers(3))
    proxy = Proxy(registry)
    try:
        proxy.stall = {blobs[0]}
        # release the first layer once both later ones are downloaded
        want = [f"{short(b)}: Download complete" for b in blobs[1:]]
        seen = pull_watching(build_dir, berthd, proxy, blobs[0],
                             f"{proxy.host}/pipe/vfs:1",
                             lambda lines: all(w in lines for w in want))
        for w in want:
            assert held_at(seen, w), seen
        first_done = index_of(seen, f"{short(blobs[0])}: Pull complete")
        for b in blobs[1:]:
            assert index_of(seen, f"{short(b)}: Extracting") > first_done, seen
        assert index_of(seen, f"{short(blobs[1])}: Pull complete") < \
            index_of(seen, f"{short(blobs[2])}: Extracting"), seen
        out = berth("image", "inspect", "--format", "{{.Id}}", f"{proxy.host}/pipe/vfs:1")
        assert out.returncode == 0 and out.stdout.strip() == cfg, out
        assert re.search(r"Digest: sha256:[0-9a-f]{64}", "\n".join(t for (t, _) in seen))
    finally:
        proxy.stop()


def _push_through_proxy(berth, registry, tmp_path, hold):
    """Pulls a 6-layer image from `registry`, pushes it to a second registry through a proxy
    that holds each upload until `hold` are in flight; returns the proxy's requests and its
    highest count of uploads in flight."""
    push_image(registry, "up/src", "1", _layers(6))
    src = f"{registry.host}/up/src:1"
    assert berth("pull", src).returncode == 0
    dest = Registry(tmp_path / "dest")
    proxy = Proxy(dest)
    try:
        proxy.hold_uploads = hold
        target = f"{proxy.host}/up/dest:1"
        assert berth("tag", src, target).returncode == 0
        res = berth("push", target)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "1: digest: sha256:" in res.stdout, res.stdout
        # what arrived is the image: pulled back by digest it has the same ID
        got = berth("image", "inspect", "--format", "{{.Id}}", src).stdout.strip()
        assert berth("rmi", target, src).returncode == 0
        res = berth("pull", target)
        assert res.returncode == 0, res.stdout + res.stderr
        assert berth("image", "inspect", "--format", "{{.Id}}",
                     target).stdout.strip() == got
        return list(proxy.requests), proxy.max_uploads_inflight
    finally:
        proxy.stop()
        dest.stop()


def _manifest_after_all_uploads(requests):
    methods = [(m, p) for (m, p, _, _) in requests]
    put_manifest = [i for i, (m, p) in enumerate(methods) if m == "PUT" and "/manifests/" in p]
    uploads = [i for i, (m, p) in enumerate(methods)
               if m in ("PUT", "PATCH") and "/blobs/uploads/" in p]
    assert put_manifest and len(uploads) == 7, methods  # 6 layers + config
    assert put_manifest[0] > max(uploads), methods


def test_push_uploads_five_layers_at_a_time(berth, registry, tmp_path):
    requests, most = _push_through_proxy(berth, registry, tmp_path, hold=5)
    assert most == 5
    _manifest_after_all_uploads(requests)


@pytest.mark.berthd_config({"max-concurrent-uploads": 2})
def test_max_concurrent_uploads_is_honoured(berth, registry, tmp_path):
    requests, most = _push_through_proxy(berth, registry, tmp_path, hold=2)
    assert most == 2
    _manifest_after_all_uploads(requests)


def test_layer_that_contradicts_the_config_leaves_nothing(build_dir, berth, berthd, registry):
    """Both blobs match their digests, but the second layer's tar is not the diff ID the
    config names: the first layer, already unpacked, is removed again, and neither blob
    stays in the store."""
    tars = [layer_tar({"a.txt": b"first\n"}), layer_tar({"b.txt": b"second\n"})]
    blobs = [gz(t) for t in tars]
    digests = [put_blob(registry, "pipe/bad", b) for b in blobs]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers",
                                    "diff_ids": [sha256(tars[0]), sha256(b"not the tar")]}
                         }).encode()
    cdigest = put_blob(registry, "pipe/bad", config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                           "config": {"mediaType": MT_OCI_CONFIG, "digest": cdigest,
                                      "size": len(config)},
                           "layers": [{"mediaType": MT_LAYER_GZIP, "digest": d, "size": len(b)}
                                      for d, b in zip(digests, blobs)]}).encode()
    put_manifest(registry, "pipe/bad", "1", manifest, MT_OCI_MANIFEST)
    proxy = Proxy(registry)
    try:
        # the bad layer is held back until the first one is complete
        proxy.stall = {digests[1]}
        first = f"{short(digests[0])}: Pull complete"
        seen, err = pull_watching(build_dir, berthd, proxy, digests[1],
                                  f"{proxy.host}/pipe/bad:1", lambda lines: first in lines,
                                  expect_ok=False)
    finally:
        proxy.stop()
    assert "diff ID mismatch" in err, err
    assert held_at(seen, first), seen
    assert berth("images", "-q").stdout == ""
    store = berthd.data_root / "blobs" / "sha256"
    left = sorted(p.name for p in store.iterdir()) if store.is_dir() else []
    assert not [d for d in digests + [cdigest] if d.split(":")[1] in left], left
    layers = berthd.data_root / "layers"
    dirs = [p.name for p in layers.iterdir() if p.name != "l"] if layers.is_dir() else []
    assert dirs == [], dirs
