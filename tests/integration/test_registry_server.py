"""berth-registry against the OCI Distribution v1.1 endpoints end-1 … end-13 (plain HTTP on
127.0.0.1), the catalog, skopeo copying an image in and out, and many concurrent pushes.
Each test has its own storage root and its own server."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import require_tool  # noqa: E402
from registry_server_util import (  # noqa: E402
    MT_DOCKER_LIST,
    MT_DOCKER_MANIFEST,
    MT_INDEX,
    MT_MANIFEST,
    Registry,
    image_manifest,
    sha256,
)


@pytest.fixture
def registry_binary(berth_binary):
    return berth_binary("berth-registry")


@pytest.fixture
def reg(registry_binary, tmp_path):
    r = Registry(registry_binary, tmp_path)
    yield r
    r.stop()


def test_help_on_every_command(registry_binary):
    for args in (["--help"], ["serve", "--help"], ["gc", "--help"]):
        p = subprocess.run([registry_binary, *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "Usage: berth-registry" in p.stdout
    p = subprocess.run([registry_binary, "frobnicate"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "unknown command" in p.stderr


def test_end1_base(reg):
    r = reg.request("GET", "/v2/")
    assert r.status == 200
    assert r.header("Docker-Distribution-API-Version") == "registry/2.0"
    # one access log line per request
    assert reg.wait_log('"GET /v2/" 200')


def test_end2_blob_get_head_range(reg):
    data = bytes(range(256)) * 8  # 2048 bytes
    d = reg.push_blob("lib/a", data)
    assert d in reg.blob_files()
    r = reg.request("GET", f"/v2/lib/a/blobs/{d}")
    assert r.status == 200 and r.body == data
    assert r.header("Docker-Content-Digest") == d
    r = reg.request("HEAD", f"/v2/lib/a/blobs/{d}")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Length") == str(len(data))
    assert r.header("Docker-Content-Digest") == d
    r = reg.request("GET", f"/v2/lib/a/blobs/{d}", headers={"Range": "bytes=500-1499"})
    assert r.status == 206 and r.body == data[500:1500]
    assert r.header("Content-Range") == "bytes 500-1499/2048"
    r = reg.request("GET", f"/v2/lib/a/blobs/{d}", headers={"Range": "bytes=-500"})
    assert r.status == 206 and r.body == data[-500:]
    r = reg.request("GET", f"/v2/lib/a/blobs/{d}", headers={"Range": "bytes=2000-5000"})
    assert r.status == 206 and r.body == data[2000:]
    r = reg.request("GET", f"/v2/lib/a/blobs/{d}", headers={"Range": "bytes=5000-10000"})
    assert r.status == 416
    # a blob is visible only in the repositories it was pushed or mounted into
    assert reg.request("GET", f"/v2/lib/other/blobs/{d}").status == 404
    missing = sha256(b"never pushed")
    r = reg.request("GET", f"/v2/lib/a/blobs/{missing}")
    assert r.status == 404 and r.error_codes() == ["BLOB_UNKNOWN"]
    assert reg.request("HEAD", f"/v2/lib/a/blobs/{missing}").status == 404


def test_large_blobs_served_from_their_mapping(reg):
    # blobs of 1 MiB and more are sent from a mapping of the file, cached per inode (16 kept):
    # whole, ranged, HEAD, concurrent, more blobs than the cache holds, and deleted
    blobs = [os.urandom((1 << 20) + 4099 * i) for i in range(18)]
    digests = [reg.push_blob("lib/big", data) for data in blobs]
    for _ in range(2):  # the second round mostly from mappings made by the first
        for d, data in zip(digests, blobs):
            r = reg.request("GET", f"/v2/lib/big/blobs/{d}")
            assert r.status == 200 and r.body == data
    d, data = digests[5], blobs[5]
    size = len(data)
    r = reg.request("GET", f"/v2/lib/big/blobs/{d}", headers={"Range": f"bytes=4097-{size - 3}"})
    assert r.status == 206 and r.body == data[4097:size - 2]
    assert r.header("Content-Range") == f"bytes 4097-{size - 3}/{size}"
    r = reg.request("GET", f"/v2/lib/big/blobs/{d}", headers={"Range": "bytes=-1000"})
    assert r.status == 206 and r.body == data[-1000:]
    r = reg.request("HEAD", f"/v2/lib/big/blobs/{d}")
    assert r.status == 200 and r.body == b"" and r.header("Content-Length") == str(size)
    bodies = []

    def get(i):
        bodies.append(reg.request("GET", f"/v2/lib/big/blobs/{digests[i % 3]}").body == blobs[i % 3])

    threads = [threading.Thread(target=get, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert bodies == [True] * 12
    # deleted while its mapping may still be cached: gone for every client
    assert reg.request("DELETE", f"/v2/lib/big/blobs/{d}").status == 202
    assert reg.request("GET", f"/v2/lib/big/blobs/{d}").status == 404
    assert reg.request("GET", f"/v2/lib/big/blobs/{digests[6]}").body == blobs[6]


def test_end3_end7_manifest_put_get_head(reg):
    digest, body, _ = reg.push_image("lib/img", "v1")
    for ref in ("v1", digest):
        r = reg.request("GET", f"/v2/lib/img/manifests/{ref}", headers={"Accept": MT_MANIFEST})
        assert r.status == 200 and r.body == body  # byte-exact
        assert r.header("Content-Type") == MT_MANIFEST
        assert r.header("Docker-Content-Digest") == digest
        h = reg.request("HEAD", f"/v2/lib/img/manifests/{ref}")
        assert h.status == 200 and h.body == b"" and h.header("Content-Length") == str(len(body))
        assert h.header("Docker-Content-Digest") == digest
    r = reg.request("GET", "/v2/lib/img/manifests/nope")
    assert r.status == 404 and r.error_codes() == ["MANIFEST_UNKNOWN"]
    assert reg.request("HEAD", "/v2/lib/img/manifests/nope").status == 404
    # PUT by digest, and a manifest with no layers
    cd = reg.push_blob("lib/img", b"{}")
    m = json.dumps(image_manifest(cd, 2, [])).encode()
    r = reg.push_manifest("lib/img", sha256(m), m)
    assert r.header("Location") == f"/v2/lib/img/manifests/{sha256(m)}"
    assert reg.request("GET", f"/v2/lib/img/manifests/{sha256(m)}").body == m


def test_manifest_types_index_and_docker(reg):
    """OCI index, Docker schema 2 and Docker manifest list are accepted; GET echoes the
    media type pushed."""
    cd = reg.push_blob("lib/multi", b'{"os":"linux"}')
    ld = reg.push_blob("lib/multi", b"layer")
    dm = image_manifest(cd, 14, [(ld, 5)], media_type=MT_DOCKER_MANIFEST)
    dm["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    dm_body = json.dumps(dm).encode()
    reg.push_manifest("lib/multi", "docker", dm_body, media_type=MT_DOCKER_MANIFEST)
    om_body = json.dumps(image_manifest(cd, 14, [(ld, 5)])).encode()
    reg.push_manifest("lib/multi", "oci", om_body)
    for mt, tag in ((MT_INDEX, "index"), (MT_DOCKER_LIST, "list")):
        idx = {
            "schemaVersion": 2,
            "mediaType": mt,
            "manifests": [
                {"mediaType": MT_DOCKER_MANIFEST, "digest": sha256(dm_body), "size": len(dm_body), "platform": {"architecture": "amd64", "os": "linux"}},
                {"mediaType": MT_MANIFEST, "digest": sha256(om_body), "size": len(om_body), "platform": {"architecture": "arm64", "os": "linux"}},
            ],
        }
        reg.push_manifest("lib/multi", tag, idx, media_type=mt)
        r = reg.request("GET", f"/v2/lib/multi/manifests/{tag}")
        assert r.status == 200 and r.header("Content-Type") == mt
    r = reg.request("GET", "/v2/lib/multi/manifests/docker")
    assert r.header("Content-Type") == MT_DOCKER_MANIFEST and r.body == dm_body


def test_end4a_end6_post_then_put(reg):
    data = b"monolithic after a session" * 100
    r = reg.request("POST", "/v2/lib/p/blobs/uploads/")
    assert r.status == 202
    loc = r.header("Location")
    assert loc.startswith("/v2/lib/p/blobs/uploads/") and r.header("Docker-Upload-UUID")
    r = reg.request("PUT", f"{loc}?digest={sha256(data)}", body=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 201
    assert r.header("Location") == f"/v2/lib/p/blobs/{sha256(data)}"
    assert r.header("Docker-Content-Digest") == sha256(data)
    assert reg.request("GET", f"/v2/lib/p/blobs/{sha256(data)}").body == data
    assert reg.upload_dirs("lib/p") == []


def test_sha512_blobs(reg):
    import hashlib

    data = b"a blob named by sha512"
    d = "sha512:" + hashlib.sha512(data).hexdigest()
    r = reg.request("POST", f"/v2/lib/s512/blobs/uploads/?digest={d}", body=data)
    assert r.status == 201 and r.header("Docker-Content-Digest") == d
    r = reg.request("GET", f"/v2/lib/s512/blobs/{d}")
    assert r.status == 200 and r.body == data
    bad = "sha512:" + hashlib.sha512(b"other").hexdigest()
    r = reg.request("POST", f"/v2/lib/s512/blobs/uploads/?digest={bad}", body=data)
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert d in reg.blob_files() and bad not in reg.blob_files()


def test_end4b_monolithic_post(reg):
    data = b"single post"
    r = reg.request("POST", f"/v2/lib/m/blobs/uploads/?digest={sha256(data)}", body=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 201 and r.header("Location") == f"/v2/lib/m/blobs/{sha256(data)}"
    assert reg.request("GET", f"/v2/lib/m/blobs/{sha256(data)}").body == data


def test_end5_end13_chunked_upload(reg):
    data = bytes(i % 251 for i in range(3000))
    r = reg.request("POST", "/v2/lib/c/blobs/uploads/", headers={"Content-Length": "0"})
    loc = r.header("Location")
    r = reg.request("PATCH", loc, body=data[:1000], headers={"Content-Type": "application/octet-stream", "Content-Range": "0-999"})
    assert r.status == 202 and r.header("Range") == "0-999"
    loc = r.header("Location")
    # status of the session
    r = reg.request("GET", loc)
    assert r.status == 204 and r.header("Range") == "0-999" and r.header("Location") == loc
    # the same chunk again is out of order
    r = reg.request("PATCH", loc, body=data[:1000], headers={"Content-Range": "0-999"})
    assert r.status == 416
    r = reg.request("PATCH", loc, body=data[1000:2000], headers={"Content-Range": "1000-1999"})
    assert r.status == 202 and r.header("Range") == "0-1999"
    # streamed: a PATCH without Content-Range appends (docker push does this)
    r = reg.request("PATCH", loc, body=data[2000:2500])
    assert r.status == 202 and r.header("Range") == "0-2499"
    # the last chunk travels with the PUT
    r = reg.request("PUT", f"{loc}?digest={sha256(data)}", body=data[2500:], headers={"Content-Range": "2500-2999"})
    assert r.status == 201, r.body
    assert reg.request("GET", f"/v2/lib/c/blobs/{sha256(data)}").body == data
    assert reg.request("GET", loc).status == 404


def test_streamed_chunked_transfer_encoding(reg):
    """A PATCH whose body comes with Transfer-Encoding: chunked, as docker push sends it."""
    data = b"x" * 100000
    r = reg.request("POST", "/v2/lib/s/blobs/uploads/")
    loc = r.header("Location")
    conn = reg.connection()
    conn.putrequest("PATCH", loc)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for i in range(0, len(data), 30000):
        chunk = data[i : i + 30000]
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 202
    r = reg.request("PUT", f"{loc}?digest={sha256(data)}")
    assert r.status == 201
    assert reg.request("GET", f"/v2/lib/s/blobs/{sha256(data)}").body == data


def test_upload_cancel(reg):
    r = reg.request("POST", "/v2/lib/x/blobs/uploads/")
    loc = r.header("Location")
    reg.request("PATCH", loc, body=b"abc")
    assert len(reg.upload_dirs("lib/x")) == 1
    assert reg.request("DELETE", loc).status == 204
    assert reg.upload_dirs("lib/x") == []
    r = reg.request("GET", loc)
    assert r.status == 404 and r.error_codes() == ["BLOB_UPLOAD_UNKNOWN"]


def test_end8_tags_list_pagination(reg):
    _, body, _ = reg.push_image("lib/t", "a")
    for tag in ("d", "b", "c", "e"):
        reg.push_manifest("lib/t", tag, body)
    r = reg.request("GET", "/v2/lib/t/tags/list")
    assert r.status == 200 and r.json() == {"name": "lib/t", "tags": ["a", "b", "c", "d", "e"]}
    assert r.header("Link") is None
    r = reg.request("GET", "/v2/lib/t/tags/list?n=2")
    assert r.json()["tags"] == ["a", "b"]
    assert r.header("Link") == '</v2/lib/t/tags/list?n=2&last=b>; rel="next"'
    r = reg.request("GET", "/v2/lib/t/tags/list?n=2&last=b")
    assert r.json()["tags"] == ["c", "d"]
    r = reg.request("GET", "/v2/lib/t/tags/list?n=2&last=d")
    assert r.json()["tags"] == ["e"] and r.header("Link") is None
    r = reg.request("GET", "/v2/lib/t/tags/list?n=0")
    assert r.json()["tags"] == [] and r.header("Link") is None
    r = reg.request("GET", "/v2/lib/none/tags/list")
    assert r.status == 404 and r.error_codes() == ["NAME_UNKNOWN"]


def test_catalog_pagination(reg):
    for name in ("zeta", "alpha/one", "alpha/two", "mid"):
        reg.push_blob(name, b"x")
    r = reg.request("GET", "/v2/_catalog")
    assert r.json() == {"repositories": ["alpha/one", "alpha/two", "mid", "zeta"]}
    r = reg.request("GET", "/v2/_catalog?n=3")
    assert r.json()["repositories"] == ["alpha/one", "alpha/two", "mid"]
    assert r.header("Link") == '</v2/_catalog?n=3&last=mid>; rel="next"'
    r = reg.request("GET", "/v2/_catalog?n=3&last=mid")
    assert r.json()["repositories"] == ["zeta"]


def test_end9_delete_manifest(reg):
    digest, _, _ = reg.push_image("lib/d", "one")
    reg.push_manifest("lib/d", "two", reg.request("GET", f"/v2/lib/d/manifests/{digest}").body)
    assert reg.request("DELETE", "/v2/lib/d/manifests/one").status == 202
    assert reg.request("GET", "/v2/lib/d/manifests/one").status == 404
    assert reg.request("GET", "/v2/lib/d/manifests/two").status == 200
    # by digest: the manifest and every tag on it
    assert reg.request("DELETE", f"/v2/lib/d/manifests/{digest}").status == 202
    assert reg.request("GET", f"/v2/lib/d/manifests/{digest}").status == 404
    assert reg.request("GET", "/v2/lib/d/manifests/two").status == 404
    assert reg.request("GET", "/v2/lib/d/tags/list").json()["tags"] == []
    r = reg.request("DELETE", f"/v2/lib/d/manifests/{digest}")
    assert r.status == 404 and r.error_codes() == ["MANIFEST_UNKNOWN"]


def test_end10_delete_blob(reg):
    d = reg.push_blob("lib/b", b"to delete")
    assert reg.request("DELETE", f"/v2/lib/b/blobs/{d}").status == 202
    assert reg.request("GET", f"/v2/lib/b/blobs/{d}").status == 404
    r = reg.request("DELETE", f"/v2/lib/b/blobs/{d}")
    assert r.status == 404 and r.error_codes() == ["BLOB_UNKNOWN"]


def test_end11_cross_repo_mount(reg):
    d = reg.push_blob("lib/src", b"shared layer")
    r = reg.request("POST", f"/v2/lib/dst/blobs/uploads/?mount={d}&from=lib/src")
    assert r.status == 201
    assert r.header("Location") == f"/v2/lib/dst/blobs/{d}"
    assert reg.request("GET", f"/v2/lib/dst/blobs/{d}").body == b"shared layer"
    # a blob the source does not have: an ordinary upload session instead
    missing = sha256(b"nowhere")
    r = reg.request("POST", f"/v2/lib/dst/blobs/uploads/?mount={missing}&from=lib/src")
    assert r.status == 202 and "/blobs/uploads/" in r.header("Location")
    # without from: a session too
    r = reg.request("POST", f"/v2/lib/dst2/blobs/uploads/?mount={d}")
    assert r.status == 202
    assert reg.request("GET", f"/v2/lib/dst2/blobs/{d}").status == 404


def test_end12_referrers(reg):
    subject_digest, subject_body, _ = reg.push_image("lib/r", "v1")
    empty = reg.push_blob("lib/r", b"{}")
    subject = {"mediaType": MT_MANIFEST, "digest": subject_digest, "size": len(subject_body)}
    refs = []
    for i, at in enumerate(["application/vnd.example.sbom", "application/vnd.example.sig", "application/vnd.example.sbom"]):
        m = image_manifest(empty, 2, [], extra={"artifactType": at, "subject": subject, "annotations": {"n": str(i)}})
        m["config"]["mediaType"] = "application/vnd.oci.empty.v1+json"
        body = json.dumps(m).encode()
        r = reg.push_manifest("lib/r", sha256(body), body)
        assert r.header("OCI-Subject") == subject_digest
        refs.append(sha256(body))
    r = reg.request("GET", f"/v2/lib/r/referrers/{subject_digest}")
    assert r.status == 200 and r.header("Content-Type") == MT_INDEX
    idx = r.json()
    assert idx["mediaType"] == MT_INDEX and idx["schemaVersion"] == 2
    assert sorted(d["digest"] for d in idx["manifests"]) == sorted(refs)
    assert all("annotations" in d and d["artifactType"].startswith("application/vnd.example") for d in idx["manifests"])
    r = reg.request("GET", f"/v2/lib/r/referrers/{subject_digest}?artifactType=application/vnd.example.sbom")
    assert r.header("OCI-Filters-Applied") == "artifactType"
    assert len(r.json()["manifests"]) == 2
    # unknown subject: 200 with an empty index, never 404
    r = reg.request("GET", f"/v2/lib/r/referrers/{sha256(b'unknown')}")
    assert r.status == 200 and r.json()["manifests"] == []
    # a referrer whose subject does not exist (yet) is accepted and listed
    ghost = sha256(b"ghost subject")
    m = image_manifest(empty, 2, [], extra={"artifactType": "application/vnd.example.x", "subject": {"mediaType": MT_MANIFEST, "digest": ghost, "size": 1}})
    body = json.dumps(m).encode()
    reg.push_manifest("lib/r", sha256(body), body)
    assert [d["digest"] for d in reg.request("GET", f"/v2/lib/r/referrers/{ghost}").json()["manifests"]] == [sha256(body)]
    # deleting a referrer takes it out of the list
    assert reg.request("DELETE", f"/v2/lib/r/manifests/{refs[0]}").status == 202
    assert len(reg.request("GET", f"/v2/lib/r/referrers/{subject_digest}").json()["manifests"]) == 2
    r = reg.request("GET", "/v2/lib/r/referrers/sha256:bad")
    assert r.status == 400


def test_skopeo_round_trip(reg, busybox_oci, tmp_path):
    skopeo = require_tool("skopeo")
    src_index = json.loads((busybox_oci / "index.json").read_text())
    src_digest = src_index["manifests"][0]["digest"]
    subprocess.run(
        [skopeo, "copy", "--dest-tls-verify=false", f"oci:{busybox_oci}:latest", f"docker://{reg.addr}/library/busybox:latest"],
        check=True, capture_output=True, timeout=300,
    )
    r = reg.request("HEAD", "/v2/library/busybox/manifests/latest")
    assert r.header("Docker-Content-Digest") == src_digest
    out = tmp_path / "out"
    subprocess.run(
        [skopeo, "copy", "--src-tls-verify=false", f"docker://{reg.addr}/library/busybox:latest", f"oci:{out}:copy"],
        check=True, capture_output=True, timeout=300,
    )
    out_index = json.loads((out / "index.json").read_text())
    assert out_index["manifests"][0]["digest"] == src_digest
    manifest = json.loads((busybox_oci / "blobs" / "sha256" / src_digest.split(":")[1]).read_bytes())
    for desc in [manifest["config"], *manifest["layers"]]:
        hexd = desc["digest"].split(":")[1]
        assert (out / "blobs" / "sha256" / hexd).read_bytes() == (busybox_oci / "blobs" / "sha256" / hexd).read_bytes()
    # skopeo inspect reads it back through the API too
    p = subprocess.run([skopeo, "inspect", "--tls-verify=false", f"docker://{reg.addr}/library/busybox:latest"], check=True, capture_output=True, text=True, timeout=300)
    assert json.loads(p.stdout)["Digest"] == src_digest


def test_concurrent_pushes(reg):
    """20 clients push 20 repositories at once; every image is then complete."""
    results = {}

    def push(i):
        try:
            layer = (f"layer {i} ".encode()) * (5000 + i)
            results[i] = reg.push_image(f"par/repo{i}", "latest", layer=layer)
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=push, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for i in range(20):
        assert not isinstance(results[i], Exception), results[i]
        digest, body, blobs = results[i]
        r = reg.request("GET", f"/v2/par/repo{i}/manifests/latest")
        assert r.status == 200 and r.body == body
        for b in blobs:
            assert sha256(reg.request("GET", f"/v2/par/repo{i}/blobs/{b}").body) == b
    assert len(reg.request("GET", "/v2/_catalog").json()["repositories"]) == 20


def test_skopeo_docker_schema2_and_distribution_peer(reg, busybox_oci, tmp_path):
    """skopeo converts to Docker schema 2 on the way in; and an image moves between Debian's
    docker-registry (distribution 2.8) and berth-registry with its digest unchanged."""
    import socket
    import time

    skopeo = require_tool("skopeo")
    dreg = require_tool("docker-registry")
    digestfile = tmp_path / "digest"
    subprocess.run(
        [skopeo, "copy", "--format", "v2s2", "--digestfile", str(digestfile), "--dest-tls-verify=false",
         f"oci:{busybox_oci}:latest", f"docker://{reg.addr}/lib/docker2:latest"],
        check=True, capture_output=True, timeout=300,
    )
    r = reg.request("GET", "/v2/lib/docker2/manifests/latest")
    assert r.header("Content-Type") == MT_DOCKER_MANIFEST
    assert sha256(r.body) == digestfile.read_text().strip() == r.header("Docker-Content-Digest")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dport = s.getsockname()[1]
    cfg = tmp_path / "distribution.yml"
    cfg.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path}/distribution\n"
        f"http:\n  addr: 127.0.0.1:{dport}\n"
    )
    with open(tmp_path / "distribution.log", "w") as log:
        dist = subprocess.Popen([dreg, "serve", str(cfg)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            p = subprocess.run([skopeo, "copy", "--dest-tls-verify=false", f"oci:{busybox_oci}:latest", f"docker://127.0.0.1:{dport}/peer/busybox:v1"], capture_output=True, timeout=300)
            if p.returncode == 0:
                break
            time.sleep(0.2)
        assert p.returncode == 0, p.stderr
        subprocess.run(
            [skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", f"docker://127.0.0.1:{dport}/peer/busybox:v1", f"docker://{reg.addr}/peer/busybox:v1"],
            check=True, capture_output=True, timeout=300,
        )
        subprocess.run(
            [skopeo, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", f"docker://{reg.addr}/peer/busybox:v1", f"docker://127.0.0.1:{dport}/peer/back:v1"],
            check=True, capture_output=True, timeout=300,
        )
    finally:
        dist.terminate()
        dist.wait(timeout=60)
    want = json.loads((busybox_oci / "index.json").read_text())["manifests"][0]["digest"]
    assert reg.request("HEAD", "/v2/peer/busybox/manifests/v1").header("Docker-Content-Digest") == want
    back = tmp_path / "distribution/docker/registry/v2/repositories/peer/back/_manifests/tags/v1/current/link"
    assert back.read_text().strip() == want


@pytest.mark.parametrize(
    "config,expect",
    [
        ("{not json", "config"),
        ('{"access": [{"repository": "x", "anonymous": "fly"}]}', "access[0]"),
        ('{"auth": {"htpasswd": "/nonexistent/htpasswd"}}', "/nonexistent/htpasswd"),
        ('{"tls": {"cert": "/nonexistent/cert.pem"}}', "tls"),
        ('{"limits": {"upload_bytes": -1}}', "limits"),
        ('{"addr": "127.0.0.1:notaport"}', "port"),
    ],
)
def test_bad_config_is_one_clear_error(registry_binary, tmp_path, config, expect):
    cfg = tmp_path / "config.json"
    cfg.write_text(config)
    p = subprocess.run([registry_binary, "serve", "--config", str(cfg), "--root", str(tmp_path / "root")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("berth-registry: ") and expect in lines[0], p.stderr


def test_killed_mid_upload_restarts_consistent(registry_binary, tmp_path):
    """SIGKILL while a blob streams in: after a restart on the same root the finished image
    is whole, the half blob is not in the store, and its upload can be cancelled."""
    import signal
    import time

    reg = Registry(registry_binary, tmp_path)
    digest, body, blobs = reg.push_image("lib/k", "v1")
    loc = reg.request("POST", "/v2/lib/k/blobs/uploads/").header("Location")
    conn = reg.connection()
    conn.putrequest("PATCH", loc)
    conn.putheader("Content-Length", "10000000")
    conn.endheaders()
    conn.send(b"h" * 1000000)
    data = reg.root / "repos/lib/k/_uploads" / loc.rsplit("/", 1)[1] / "data"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and data.stat().st_size == 0:
        time.sleep(0.05)
    reg.proc.send_signal(signal.SIGKILL)
    reg.proc.wait(timeout=60)
    conn.close()
    reg.stop()
    before = reg.blob_files()

    reg2 = Registry(registry_binary, tmp_path / "again", root=reg.root)
    try:
        assert reg2.blob_files() == before == set(blobs) | {digest}
        assert reg2.request("GET", "/v2/lib/k/manifests/v1").body == body
        for b in blobs:
            assert sha256(reg2.request("GET", f"/v2/lib/k/blobs/{b}").body) == b
        assert reg2.request("DELETE", loc).status == 204
        assert reg2.upload_dirs("lib/k") == []
    finally:
        reg2.stop()
