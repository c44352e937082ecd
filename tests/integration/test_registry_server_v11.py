"""berth-registry details of distribution-spec v1.1 and of distribution's behaviour: Accept
negotiation on manifest GET/HEAD (a client that does not take the stored type gets
MANIFEST_UNKNOWN, as distribution answers), PUT by digest with ?tag=, and the
OCI-Chunk-Min-Length hint when an upload starts (which berthd's chunked pushes honour)."""

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daemon_util import berth, berthd, busybox_image  # noqa: E402,F401  (fixtures)
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
def reg(berth_binary, tmp_path):
    r = Registry(berth_binary("berth-registry"), tmp_path)
    yield r
    r.stop()


def raw(reg, method, path, body=None, headers=()):
    """A request with headers as (name, value) pairs (a name may repeat) whose response
    headers are all kept too: (status, [(name, value)], body)."""
    conn = reg.connection()
    try:
        conn.putrequest(method, path)
        for k, v in headers:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def test_manifest_get_honours_accept(reg):
    oci_digest, oci_body, (cd, ld) = reg.push_image("neg/img", "oci")
    docker_m = image_manifest(cd, 1, [(ld, 1)], media_type=MT_DOCKER_MANIFEST)
    docker_body = json.dumps(docker_m).encode()
    reg.push_manifest("neg/img", "docker", docker_body, media_type=MT_DOCKER_MANIFEST)
    index = {"schemaVersion": 2, "mediaType": MT_INDEX,
             "manifests": [{"mediaType": MT_MANIFEST, "digest": oci_digest,
                            "size": len(oci_body),
                            "platform": {"architecture": "amd64", "os": "linux"}}]}
    index_body = json.dumps(index).encode()
    reg.push_manifest("neg/img", "index", index_body, media_type=MT_INDEX)

    cases = [("oci", MT_MANIFEST, oci_body), ("docker", MT_DOCKER_MANIFEST, docker_body),
             ("index", MT_INDEX, index_body)]
    for tag, mt, body in cases:
        # the stored type itself, in a list with others and parameters, or a wildcard
        for accept in (mt, f"text/plain, {mt};q=0.9", "application/*", "*/*"):
            r = reg.request("GET", f"/v2/neg/img/manifests/{tag}", headers={"Accept": accept})
            assert r.status == 200, (tag, accept, r.status, r.body)
            assert r.header("Content-Type") == mt and r.body == body
        # no Accept at all: served as stored
        r = reg.request("GET", f"/v2/neg/img/manifests/{tag}")
        assert r.status == 200 and r.body == body
        # an Accept that lists only other types: unknown, by tag and by digest, GET and HEAD
        others = ", ".join(t for t in (MT_MANIFEST, MT_DOCKER_MANIFEST, MT_INDEX, MT_DOCKER_LIST)
                           if t != mt)
        for ref in (tag, sha256(body)):
            r = reg.request("GET", f"/v2/neg/img/manifests/{ref}", headers={"Accept": others})
            assert r.status == 404, (tag, r.status, r.body)
            assert r.error_codes() == ["MANIFEST_UNKNOWN"]
            r = reg.request("HEAD", f"/v2/neg/img/manifests/{ref}", headers={"Accept": others})
            assert r.status == 404
    # a second Accept header line counts too
    status, _, body = raw(reg, "GET", "/v2/neg/img/manifests/docker",
                          headers=[("Accept", MT_MANIFEST), ("Accept", MT_DOCKER_MANIFEST)])
    assert status == 200 and body == docker_body


def test_manifest_put_by_digest_with_tags(reg):
    _, _, (cd, ld) = reg.push_image("tagq/img", "first")
    m = image_manifest(cd, 1, [(ld, 1)], extra={"annotations": {"v": "2"}})
    body = json.dumps(m).encode()
    digest = sha256(body)
    status, headers, resp = raw(reg, "PUT", f"/v2/tagq/img/manifests/{digest}?tag=a&tag=b.2",
                                body=body, headers=[("Content-Type", MT_MANIFEST)])
    assert status == 201, resp
    assert sorted(v for (k, v) in headers if k.lower() == "oci-tag") == ["a", "b.2"]
    for tag in ("a", "b.2"):
        r = reg.request("GET", f"/v2/tagq/img/manifests/{tag}", headers={"Accept": MT_MANIFEST})
        assert r.status == 200 and r.body == body
        assert r.header("Docker-Content-Digest") == digest
    tags = reg.request("GET", "/v2/tagq/img/tags/list").json()["tags"]
    assert sorted(tags) == ["a", "b.2", "first"]
    # without ?tag the manifest is stored untagged, and no OCI-Tag comes back
    m2 = image_manifest(cd, 1, [(ld, 1)], extra={"annotations": {"v": "3"}})
    body2 = json.dumps(m2).encode()
    status, headers, _ = raw(reg, "PUT", f"/v2/tagq/img/manifests/{sha256(body2)}", body=body2,
                             headers=[("Content-Type", MT_MANIFEST)])
    assert status == 201 and not [k for (k, _) in headers if k.lower() == "oci-tag"]
    assert sorted(reg.request("GET", "/v2/tagq/img/tags/list").json()["tags"]) == \
        ["a", "b.2", "first"]
    # a bad tag refuses the whole request: nothing stored, no tag moved
    m3 = image_manifest(cd, 1, [(ld, 1)], extra={"annotations": {"v": "4"}})
    body3 = json.dumps(m3).encode()
    r = reg.request("PUT", f"/v2/tagq/img/manifests/{sha256(body3)}?tag=ok&tag=-bad",
                    body=body3, headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400 and r.error_codes() == ["MANIFEST_INVALID"]
    assert reg.request("GET", f"/v2/tagq/img/manifests/{sha256(body3)}").status == 404
    assert reg.request("GET", "/v2/tagq/img/manifests/ok").status == 404
    # more tags than the server takes in one request: 414, nothing stored
    many = "&".join(f"tag=t{i}" for i in range(17))
    r = reg.request("PUT", f"/v2/tagq/img/manifests/{sha256(body3)}?{many}", body=body3,
                    headers={"Content-Type": MT_MANIFEST})
    assert r.status == 414
    assert reg.request("GET", f"/v2/tagq/img/manifests/{sha256(body3)}").status == 404


def test_chunk_min_length_is_advertised_when_configured(berth_binary, tmp_path, reg):
    r = reg.request("POST", "/v2/chunk/img/blobs/uploads/")
    assert r.status == 202 and r.header("OCI-Chunk-Min-Length") is None
    cfg = {"limits": {"chunk_min_bytes": 65536}}
    other = Registry(berth_binary("berth-registry"), tmp_path / "min", config=cfg)
    try:
        r = other.request("POST", "/v2/chunk/img/blobs/uploads/")
        assert r.status == 202
        assert r.header("OCI-Chunk-Min-Length") == "65536"
        # a hint only: a smaller single chunk still completes the upload
        data = b"x" * 1000
        loc = r.header("Location")
        r = other.request("PATCH", loc, body=data,
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Range": f"0-{len(data) - 1}"})
        assert r.status == 202
        r = other.request("PUT", f"{r.header('Location')}?digest={sha256(data)}")
        assert r.status == 201
        assert other.request("GET", f"/v2/chunk/img/blobs/{sha256(data)}").body == data
    finally:
        other.stop()


@pytest.mark.berthd_config({"registry-upload-chunk-size": 65536})
def test_chunked_push_honours_chunk_min_length(berth_binary, tmp_path, berth, busybox_image):
    cfg = {"limits": {"chunk_min_bytes": 300000}}
    reg = Registry(berth_binary("berth-registry"), tmp_path / "min", config=cfg)
    try:
        target = f"{reg.addr}/chunks/busybox:1"
        assert berth("tag", busybox_image, target).returncode == 0
        res = berth("push", target)
        assert res.returncode == 0, res.stdout + res.stderr
        log = reg.log_path.read_text()
        # one line per PATCH: "... \"PATCH /v2/chunks/busybox/blobs/uploads/<id>\" 202 <body> ..."
        patches = re.findall(r'"PATCH (/v2/chunks/busybox/blobs/uploads/\S+)" 202 (\d+) ', log)
        assert patches, log
        by_upload = {}
        for url, size in patches:
            by_upload.setdefault(url.split("?")[0], []).append(int(size))
        # every chunk but an upload's last is at least the registry's minimum, above the
        # daemon's own 64 KiB; and some upload was large enough to need several
        assert any(len(v) > 1 for v in by_upload.values()), by_upload
        for sizes in by_upload.values():
            assert all(n >= 300000 for n in sizes[:-1]), by_upload
    finally:
        reg.stop()
