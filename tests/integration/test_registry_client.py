"""berth's registry client against real peers on 127.0.0.1: Debian's docker-registry
(distribution 2.8), skopeo, the docker CLI and docker-py through berthd. Pull and push with
digests compared end to end, manifest lists, corrupted and interrupted downloads, Range
resume, chunked uploads, mirrors, and the loopback-only guard of test daemons."""

import json
import os
import re
import subprocess

import pytest

from conftest import require_tool
from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from registry_util import (Proxy, layer_tar, push_image, registry,  # noqa: F401
                           rootfs_tar, sha256)


@pytest.fixture
def cli(berth, tmp_path):
    """berth with its own credentials dir and an empty Docker config (nothing of the host's)."""
    (tmp_path / "berth-config").mkdir()
    (tmp_path / "docker-config").mkdir()
    env = {"BERTH_CONFIG": str(tmp_path / "berth-config"),
           "DOCKER_CONFIG": str(tmp_path / "docker-config")}

    def run(*args, **kw):
        e = dict(env)
        e.update(kw.pop("env", {}) or {})
        return berth(*args, env=e, **kw)

    run.env = env
    return run


def ok(res):
    assert res.returncode == 0, f"rc={res.returncode}\nstdout={res.stdout}\nstderr={res.stderr}"
    return res.stdout


def image_ids(cli):
    return sorted(set(ok(cli("images", "-q", "--no-trunc")).split()))


def repo_digests(cli, ref):
    return json.loads(ok(cli("image", "inspect", "--format", "{{json .RepoDigests}}", ref)))


def test_push_then_pull_back_identical_digests(cli, busybox_image, registry):
    target = f"{registry.host}/berth/busybox:v1"
    image_id = ok(cli("image", "inspect", "--format", "{{.Id}}", busybox_image)).strip()
    ok(cli("tag", busybox_image, target))
    out = ok(cli("push", target))
    m = re.search(r"v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)", out)
    assert m, out
    digest = m.group(1)
    # the registry holds exactly that manifest, and it names our config
    reg_digest, body, _ = registry.manifest("berth/busybox", "v1")
    assert reg_digest == digest
    assert json.loads(body)["config"]["digest"] == image_id
    assert f"{registry.host}/berth/busybox@{digest}" in repo_digests(cli, target)

    ok(cli("rmi", target, busybox_image))
    assert image_ids(cli) == []
    out = ok(cli("pull", target))
    assert f"Digest: {digest}" in out, out
    assert "Pull complete" in out, out
    assert ok(cli("image", "inspect", "--format", "{{.Id}}", target)).strip() == image_id
    assert f"{registry.host}/berth/busybox@{digest}" in repo_digests(cli, target)
    assert ok(cli("run", "--rm", target, "echo", "pulled-ok")).strip() == "pulled-ok"
    # pulling again transfers nothing and says so
    out = ok(cli("pull", target))
    assert "Image is up to date" in out, out
    # a pull by digest gives the same image
    ok(cli("rmi", target))
    ok(cli("pull", f"{registry.host}/berth/busybox@{digest}"))
    assert image_ids(cli) == [image_id]


def test_pull_of_what_skopeo_pushed_runs(cli, registry, busybox_oci):
    skopeo = require_tool("skopeo")
    res = subprocess.run([skopeo, "copy", "--dest-tls-verify=false", f"oci:{busybox_oci}:latest",
                          f"docker://{registry.host}/sk/busybox:1"],
                         capture_output=True, text=True, timeout=DEADLINE * 4)
    assert res.returncode == 0, res.stderr
    insp = json.loads(subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", f"docker://{registry.host}/sk/busybox:1"],
        capture_output=True, text=True, timeout=DEADLINE, check=True).stdout)
    out = ok(cli("pull", f"{registry.host}/sk/busybox:1"))
    assert f"Digest: {insp['Digest']}" in out, out
    assert f"{registry.host}/sk/busybox@{insp['Digest']}" in repo_digests(
        cli, f"{registry.host}/sk/busybox:1")
    layers = json.loads(ok(cli("image", "inspect", "--format", "{{json .RootFS.Layers}}",
                               f"{registry.host}/sk/busybox:1")))
    raw = json.loads(subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", "--config",
         f"docker://{registry.host}/sk/busybox:1"],
        capture_output=True, text=True, timeout=DEADLINE, check=True).stdout)
    assert layers == raw["rootfs"]["diff_ids"]
    out = ok(cli("run", "--rm", f"{registry.host}/sk/busybox:1", "sh", "-c", "echo from-skopeo"))
    assert out.strip() == "from-skopeo"


def test_skopeo_reads_what_berth_pushed(cli, busybox_image, registry, tmp_path):
    skopeo = require_tool("skopeo")
    target = f"{registry.host}/berth/out:2"
    ok(cli("tag", busybox_image, target))
    out = ok(cli("push", target))
    digest = re.search(r"2: digest: (sha256:[0-9a-f]{64})", out).group(1)
    insp = json.loads(subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", f"docker://{target}"],
        capture_output=True, text=True, timeout=DEADLINE, check=True).stdout)
    assert insp["Digest"] == digest
    # skopeo copies it out whole: every blob verified by skopeo, the manifest byte-identical
    dest = tmp_path / "copied"
    res = subprocess.run([skopeo, "copy", "--preserve-digests", "--src-tls-verify=false",
                          f"docker://{target}",
                          f"oci:{dest}:x"], capture_output=True, text=True, timeout=DEADLINE * 4)
    assert res.returncode == 0, res.stderr
    index = json.loads((dest / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    mbytes = (dest / "blobs/sha256" / digest.split(":")[1]).read_bytes()
    assert sha256(mbytes) == digest


def test_pull_picks_platform_from_an_index(cli, registry, busybox_rootfs):
    tar = rootfs_tar(busybox_rootfs)
    amd, amd_bytes, amd_cfg, _ = push_image(registry, "multi/img", "amd64-only", [tar],
                                            arch="amd64", labels={"arch": "amd64"})
    arm, arm_bytes, arm_cfg, _ = push_image(registry, "multi/img", "arm64-only", [tar],
                                            arch="arm64", labels={"arch": "arm64"})
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm,
             "size": len(arm_bytes), "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd,
             "size": len(amd_bytes), "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }
    from registry_util import put_manifest
    idx_digest, _ = put_manifest(registry, "multi/img", "latest", index,
                                 "application/vnd.oci.image.index.v1+json")
    name = f"{registry.host}/multi/img"
    out = ok(cli("pull", name))
    assert f"Digest: {idx_digest}" in out, out
    assert ok(cli("image", "inspect", "--format", "{{.Id}}", name)).strip() == amd_cfg
    assert ok(cli("image", "inspect", "--format", "{{.Architecture}}", name)).strip() == "amd64"
    ok(cli("pull", "--platform", "linux/arm64", name))
    assert ok(cli("image", "inspect", "--format", "{{.Id}}", name)).strip() == arm_cfg
    res = cli("pull", "--platform", "linux/s390x", name)
    assert res.returncode != 0
    assert "no matching manifest for linux/s390x" in res.stderr, res.stderr


def test_corrupted_blob_is_refused_and_leaves_no_image(cli, registry, berthd):
    layer = layer_tar({"hello.txt": b"hello from a layer\n" * 1000})
    mdigest, _, _, (ldigest,) = push_image(registry, "bad/img", "1", [layer])
    path = registry.blob_path(ldigest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different content
    path.write_bytes(bytes(data))
    res = cli("pull", f"{registry.host}/bad/img:1")
    assert res.returncode != 0
    assert "verification failed" in res.stderr or "digest" in res.stderr, res.stderr
    assert image_ids(cli) == []
    # nothing of it entered the content store
    blobs = berthd.data_root / "blobs" / "sha256"
    assert not (blobs / ldigest.split(":")[1]).exists()
    assert not (blobs / mdigest.split(":")[1]).exists()


def test_interrupted_pull_leaves_no_image_and_reuses_verified_layers(cli, registry,
                                                                    busybox_rootfs):
    base = rootfs_tar(busybox_rootfs)
    extra = layer_tar({"extra.txt": os.urandom(300_000)})
    _, _, cfg, (base_blob, extra_blob) = push_image(registry, "two/layers", "1", [base, extra],
                                                    compress=False)
    proxy = Proxy(registry)
    try:
        # every whole download of the second layer breaks; resuming is refused (no Range
        # answered by cutting too): the pull fails
        proxy.cut = {extra_blob: 1000}
        proxy.cut_times = 100
        proxy_range_refused(proxy)
        res = cli("pull", f"{proxy.host}/two/layers:1")
        assert res.returncode != 0, res.stdout
        assert image_ids(cli) == []
        # the complete first layer was kept (verified) and is not downloaded again
        proxy.cut = {}
        proxy.refuse_range = False
        proxy.requests.clear()
        out = ok(cli("pull", f"{proxy.host}/two/layers:1"))
        fetched = [p for (m, p, _, _) in proxy.requests if m == "GET" and "/blobs/" in p]
        assert not any(base_blob in p for p in fetched), fetched
        assert any(extra_blob in p for p in fetched), fetched
        assert ok(cli("image", "inspect", "--format", "{{.Id}}",
                      f"{proxy.host}/two/layers:1")).strip() == cfg
        assert "Pull complete" in out
        out = ok(cli("run", "--rm", f"{proxy.host}/two/layers:1", "sh", "-c",
                     "wc -c < /extra.txt"))
        assert out.strip() == "300000"
    finally:
        proxy.stop()


def proxy_range_refused(proxy):
    """Make the proxy cut resumed (Range) downloads of cut blobs as well."""
    proxy.refuse_range = True


def test_broken_download_resumes_with_range(cli, registry):
    blob_tar = layer_tar({"big.bin": os.urandom(2_000_000)})
    _, _, cfg, (ldigest,) = push_image(registry, "resume/img", "1", [blob_tar], compress=False)
    proxy = Proxy(registry)
    try:
        proxy.cut = {ldigest: 700_000}
        proxy.cut_times = 1
        ok(cli("pull", f"{proxy.host}/resume/img:1"))
        gets = [(p, rng) for (m, p, rng, _) in proxy.requests if m == "GET" and ldigest in p]
        assert len(gets) == 2, gets
        assert gets[0][1] is None
        assert gets[1][1] is not None and re.match(r"bytes=\d+-$", gets[1][1]), gets
        assert int(gets[1][1][6:-1]) > 0
        assert ok(cli("image", "inspect", "--format", "{{.Id}}",
                      f"{proxy.host}/resume/img:1")).strip() == cfg
    finally:
        proxy.stop()


@pytest.mark.berthd_config({"registry-upload-chunk-size": 300_000})
def test_chunked_push_round_trips(cli, busybox_image, registry):
    target = f"{registry.host}/chunked/busybox:c"
    ok(cli("tag", busybox_image, target))
    out = ok(cli("push", target))
    digest = re.search(r"c: digest: (sha256:[0-9a-f]{64})", out).group(1)
    assert registry.manifest("chunked/busybox", "c")[0] == digest
    image_id = ok(cli("image", "inspect", "--format", "{{.Id}}", target)).strip()
    ok(cli("rmi", target, busybox_image))
    ok(cli("pull", target))
    assert ok(cli("image", "inspect", "--format", "{{.Id}}", target)).strip() == image_id


def test_push_skips_blobs_the_registry_has(cli, busybox_image, registry):
    ok(cli("tag", busybox_image, f"{registry.host}/a/one:1"))
    ok(cli("tag", busybox_image, f"{registry.host}/a/one:2"))
    ok(cli("push", f"{registry.host}/a/one:1"))
    out = ok(cli("push", f"{registry.host}/a/one:2"))
    assert "Layer already exists" in out, out
    # no tag: all tags of the repository
    res = cli("push", "--all-tags", f"{registry.host}/a/one")
    ok(res)
    assert "1: digest:" in res.stdout and "2: digest:" in res.stdout, res.stdout


def test_unknown_images_fail_locally(cli, berthd):
    for ref in ("no-such-image-here", "library/x:1", "example.com/a/b:c", "10.0.0.1:5000/x"):
        res = cli("pull", ref, timeout=DEADLINE)
        assert res.returncode != 0
        assert "registry-loopback-only" in res.stderr, res.stderr
    res = cli("run", "--rm", "no-such-image-here", "true", timeout=DEADLINE)
    assert res.returncode != 0
    assert "registry-loopback-only" in res.stderr, res.stderr
    assert image_ids(cli) == []


def test_pull_of_missing_tag_is_not_found(cli, registry):
    res = cli("pull", f"{registry.host}/nothing/here:1")
    assert res.returncode != 0
    assert "not found" in res.stderr or "manifest unknown" in res.stderr, res.stderr


def test_push_gzips_plain_layers_deterministically(cli, busybox_image, registry):
    import gzip
    import hashlib
    target = f"{registry.host}/gz/busybox:1"
    ok(cli("tag", busybox_image, target))
    out = ok(cli("push", target))
    digest = re.search(r"1: digest: (sha256:[0-9a-f]{64})", out).group(1)
    _, body, _ = registry.manifest("gz/busybox", "1")
    m = json.loads(body)
    layer = m["layers"][0]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    blob = registry.blob_path(layer["digest"]).read_bytes()
    assert blob[:2] == b"\x1f\x8b"
    diff_ids = json.loads(ok(cli("image", "inspect", "--format", "{{json .RootFS.Layers}}",
                                 target)))
    assert "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest() == diff_ids[0]
    # the same image pushed to another repository gives the same manifest (same gzip bytes)
    other = f"{registry.host}/gz/again:2"
    ok(cli("tag", busybox_image, other))
    out = ok(cli("push", other))
    assert re.search(r"2: digest: (sha256:[0-9a-f]{64})", out).group(1) == digest


def test_push_mounts_blobs_from_another_repository(cli, busybox_image, registry):
    ok(cli("tag", busybox_image, f"{registry.host}/mnt/src:1"))
    ok(cli("push", f"{registry.host}/mnt/src:1"))
    ok(cli("tag", busybox_image, f"{registry.host}/mnt/dst:1"))
    out = ok(cli("push", f"{registry.host}/mnt/dst:1"))
    assert "Mounted from mnt/src" in out, out
    d1 = registry.manifest("mnt/src", "1")[0]
    assert registry.manifest("mnt/dst", "1")[0] == d1


def _layers(n):
    return [layer_tar({f"f{i}.bin": os.urandom(50_000)}) for i in range(n)]


def test_layers_download_three_at_a_time(cli, registry):
    _, _, cfg, blobs = push_image(registry, "par/img", "1", _layers(6))
    proxy = Proxy(registry)
    try:
        proxy.hold = 3  # each layer GET waits until three are in flight together
        proxy.hold_digests = set(blobs)
        ok(cli("pull", f"{proxy.host}/par/img:1"))
        assert proxy.max_inflight == 3
        assert ok(cli("image", "inspect", "--format", "{{.Id}}",
                      f"{proxy.host}/par/img:1")).strip() == cfg
    finally:
        proxy.stop()


@pytest.mark.berthd_config({"max-concurrent-downloads": 1})
def test_max_concurrent_downloads_is_honoured(cli, registry):
    push_image(registry, "ser/img", "1", _layers(4))
    proxy = Proxy(registry)
    try:
        ok(cli("pull", f"{proxy.host}/ser/img:1"))
        gets = [p for (m, p, _, _) in proxy.requests if m == "GET" and "/blobs/" in p]
        assert len(gets) == 5  # config + 4 layers
        assert proxy.max_inflight == 1
    finally:
        proxy.stop()


def test_berthd_killed_mid_pull_leaves_no_image(cli, registry, berthd, build_dir):
    import signal
    import time

    from conftest import require_binary
    _, _, cfg, (first, second) = push_image(registry, "kill/img", "1", _layers(2))
    proxy = Proxy(registry)
    binary = require_binary(build_dir / "berth")
    try:
        proxy.stall = {second}
        p = subprocess.Popen([binary, "-H", berthd.host, "pull", f"{proxy.host}/kill/img:1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and not any(second in path for (_, path, _, _) in
                                                 proxy.requests):
            time.sleep(0.05)
        assert any(second in path for (_, path, _, _) in proxy.requests)
        berthd.proc.send_signal(signal.SIGKILL)
        berthd.proc.wait()
        p.communicate(timeout=DEADLINE)
        assert p.returncode != 0
        proxy.release.set()
        berthd.log.write("---- restart ----\n")
        berthd.log.flush()
        berthd.proc = subprocess.Popen(
            [require_binary(build_dir / "berthd"), "--data-root", str(berthd.data_root),
             "--exec-root", str(berthd.exec_root), "-H", "unix://" + berthd.sock,
             "--config-file", str(berthd.config_file)],
            stdout=berthd.log, stderr=subprocess.STDOUT)
        berthd._wait_ready()
        assert image_ids(cli) == []
        assert list((berthd.data_root / "tmp").glob("*")) == []
        proxy.stall = set()
        ok(cli("pull", f"{proxy.host}/kill/img:1"))
        assert image_ids(cli) == [cfg]
    finally:
        proxy.release.set()
        proxy.stop()


@pytest.mark.parametrize("compression", ["gzip", "zstd", False])
def test_pull_layers_of_each_compression(cli, registry, busybox_rootfs, compression):
    base = rootfs_tar(busybox_rootfs)
    extra = layer_tar({"etc/flavour": f"{compression}\n".encode()})
    mdigest, _, cfg, _ = push_image(registry, "comp/img", "1", [base, extra],
                                    compress=compression)
    ref = f"{registry.host}/comp/img:1"
    out = ok(cli("pull", ref))
    assert f"Digest: {mdigest}" in out
    assert image_ids(cli) == [cfg]
    assert ok(cli("run", "--rm", ref, "cat", "/etc/flavour")).strip() == str(compression)
    # what berth pushes back is byte-identical to what it pulled (the stored manifest)
    ok(cli("tag", ref, f"{registry.host}/comp/back:1"))
    out = ok(cli("push", f"{registry.host}/comp/back:1"))
    assert f"1: digest: {mdigest}" in out, out


def test_berth_run_and_create_pull_a_missing_image(cli, busybox_image, registry):
    target = f"{registry.host}/auto/run:1"
    ok(cli("tag", busybox_image, target))
    ok(cli("push", target))
    ok(cli("rmi", target, busybox_image))
    res = cli("run", "--rm", target, "echo", "auto-pulled")
    assert ok(res).strip() == "auto-pulled"
    assert f"Unable to find image '{target}' locally" in res.stderr, res.stderr
    ok(cli("rmi", target))
    res = cli("create", "--name", "made", target, "true")
    ok(res)
    assert "Pull complete" in res.stderr, res.stderr
    ok(cli("rm", "made"))


def test_progress_redraws_layer_lines_on_a_terminal(cli, registry, build_dir, berthd):
    import shutil
    script = shutil.which("script")
    if not script:
        pytest.skip("script (util-linux) not installed")
    push_image(registry, "tty/img", "1", _layers(2))
    cmd = f"{build_dir / 'berth'} -H {berthd.host} pull {registry.host}/tty/img:1"
    res = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True,
                         timeout=DEADLINE, env={**os.environ, **cli.env})
    assert res.returncode == 0, res.stdout + res.stderr
    # a layer's line is rewritten in place: cursor up, carriage return, clear line
    assert re.search(rb"\x1b\[\d+A\r\x1b\[2K[0-9a-f]{12}: Pull complete", res.stdout), res.stdout
    assert b"Digest: sha256:" in res.stdout
    # not a terminal: plain lines, no escape sequences
    out = ok(cli("pull", f"{registry.host}/tty/img:1"))
    assert "\x1b[" not in out


def test_blob_redirects_are_followed_without_our_credentials(cli, registry):
    _, _, cfg, _ = push_image(registry, "redir/img", "1", _layers(2))
    front = Proxy(registry, token="front-token")
    storage = Proxy(registry)
    try:
        front.redirect_blobs_to = f"http://{storage.host}"
        ok(cli("pull", f"{front.host}/redir/img:1"))
        assert image_ids(cli) == [cfg]
        fetched = [(p, a) for (m, p, _, a) in storage.requests if m == "GET"]
        assert len(fetched) == 3, fetched  # config + 2 layers, all from the storage side
        assert all(a is None for (_, a) in fetched), fetched  # the token stayed at the front
        # a redirect off this machine is refused before any name lookup
        ok(cli("rmi", f"{front.host}/redir/img:1"))
        front.redirect_blobs_to = "http://blobs.example.invalid"
        res = cli("pull", f"{front.host}/redir/img:1")
        assert res.returncode != 0
        assert "registry-loopback-only" in res.stderr, res.stderr
        assert image_ids(cli) == []
    finally:
        front.stop()
        storage.stop()
