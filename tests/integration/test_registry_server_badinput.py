"""Bad input to berth-registry: each gets the spec's error code, nothing is stored, and the
server keeps serving (digest mismatch, bad manifest, missing blobs, out-of-order
Content-Range, unknown upload id, `..` in a name, oversized bodies)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_server_util import MT_INDEX, MT_MANIFEST, Registry, image_manifest, sha256  # noqa: E402


@pytest.fixture
def reg(berth_binary, tmp_path):
    r = Registry(berth_binary("berth-registry"), tmp_path, config={"limits": {"manifest_bytes": 2048, "upload_bytes": 8192}})
    yield r
    r.stop()


def still_serving(reg):
    assert reg.alive()
    assert reg.request("GET", "/v2/").status == 200
    # and still stores good content
    d = reg.push_blob("ok/repo", b"still fine")
    assert reg.request("GET", f"/v2/ok/repo/blobs/{d}").body == b"still fine"


def test_digest_mismatch_monolithic(reg):
    data = b"the real content"
    claimed = sha256(b"something else")
    before = reg.blob_files()
    r = reg.request("POST", f"/v2/lib/a/blobs/uploads/?digest={claimed}", body=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert reg.blob_files() == before
    assert reg.upload_dirs("lib/a") == []
    assert reg.request("HEAD", f"/v2/lib/a/blobs/{claimed}").status == 404
    assert reg.request("HEAD", f"/v2/lib/a/blobs/{sha256(data)}").status == 404
    still_serving(reg)


def test_digest_mismatch_session_put(reg):
    loc = reg.request("POST", "/v2/lib/b/blobs/uploads/").header("Location")
    assert reg.request("PATCH", loc, body=b"chunk one", headers={"Content-Range": "0-8"}).status == 202
    before = reg.blob_files()
    r = reg.request("PUT", f"{loc}?digest={sha256(b'not it')}")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert reg.blob_files() == before
    # the failed upload is gone
    assert reg.upload_dirs("lib/b") == []
    # a malformed or missing digest on PUT is refused before anything is written
    loc = reg.request("POST", "/v2/lib/b/blobs/uploads/").header("Location")
    r = reg.request("PUT", f"{loc}?digest=sha256:xyz", body=b"data")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    r = reg.request("PUT", loc, body=b"data")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert reg.request("GET", loc).header("Range") == "0-0"
    assert reg.blob_files() == before
    still_serving(reg)


def test_bad_manifests(reg):
    cd = reg.push_blob("lib/m", b"{}")
    before = reg.blob_files()
    good = image_manifest(cd, 2, [])
    cases = [
        (b"this is not json", MT_MANIFEST),
        (b"[1,2,3]", MT_MANIFEST),
        (json.dumps({**good, "schemaVersion": 1}).encode(), MT_MANIFEST),
        (json.dumps(good).encode(), MT_INDEX),  # mediaType contradicts Content-Type
        (json.dumps({**good, "config": {"digest": "sha256:nothex", "size": 2}}).encode(), MT_MANIFEST),
        (json.dumps({**good, "mediaType": "application/x-unknown"}).encode(), "application/x-unknown"),
    ]
    for body, ct in cases:
        r = reg.request("PUT", "/v2/lib/m/manifests/bad", body=body, headers={"Content-Type": ct})
        assert r.status == 400, body
        assert r.error_codes() == ["MANIFEST_INVALID"], (body, r.body)
    # pushed by a digest it does not have
    body = json.dumps(good).encode()
    r = reg.request("PUT", f"/v2/lib/m/manifests/{sha256(b'other')}", body=body, headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert reg.blob_files() == before
    assert reg.request("GET", "/v2/lib/m/manifests/bad").status == 404
    assert reg.request("GET", "/v2/lib/m/tags/list").json()["tags"] == []
    still_serving(reg)


def test_manifest_with_missing_blobs(reg):
    cd = reg.push_blob("lib/mb", b"{}")
    before = reg.blob_files()
    missing = sha256(b"layer never pushed")
    m = json.dumps(image_manifest(cd, 2, [(missing, 18)])).encode()
    r = reg.request("PUT", "/v2/lib/mb/manifests/v1", body=m, headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400 and r.error_codes() == ["MANIFEST_BLOB_UNKNOWN"]
    # a config that exists only in another repository does not count either
    other_cfg = reg.push_blob("lib/elsewhere", b'{"a":1}')
    before = reg.blob_files()
    m = json.dumps(image_manifest(other_cfg, 7, [])).encode()
    r = reg.request("PUT", "/v2/lib/mb/manifests/v1", body=m, headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400 and r.error_codes() == ["MANIFEST_BLOB_UNKNOWN"]
    # an index naming a manifest the repository does not have
    idx = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [{"mediaType": MT_MANIFEST, "digest": sha256(b"no manifest"), "size": 3}]}
    r = reg.request("PUT", "/v2/lib/mb/manifests/v1", body=json.dumps(idx).encode(), headers={"Content-Type": MT_INDEX})
    assert r.status == 400 and r.error_codes() == ["MANIFEST_BLOB_UNKNOWN"]
    assert reg.blob_files() == before
    assert reg.request("GET", "/v2/lib/mb/manifests/v1").status == 404
    assert not (reg.root / "repos/lib/mb/_manifests").exists()
    still_serving(reg)


def test_content_range_out_of_order(reg):
    loc = reg.request("POST", "/v2/lib/cr/blobs/uploads/").header("Location")
    # the first chunk must start at 0
    r = reg.request("PATCH", loc, body=b"12345", headers={"Content-Range": "5-9"})
    assert r.status == 416
    assert reg.request("GET", loc).header("Range") == "0-0"
    assert reg.request("PATCH", loc, body=b"12345", headers={"Content-Range": "0-4"}).status == 202
    # a gap, an overlap, a range that does not parse
    for rng in ("10-14", "3-7", "0-4", "garbage"):
        r = reg.request("PATCH", loc, body=b"abcde", headers={"Content-Range": rng})
        assert r.status == 416, rng
        assert r.error_codes() == ["BLOB_UPLOAD_INVALID"]
        assert r.header("Range") == "0-4"
    # Content-Length that does not match the range
    r = reg.request("PATCH", loc, body=b"abc", headers={"Content-Range": "5-9"})
    assert r.status == 400 and r.error_codes() == ["SIZE_INVALID"]
    # a chunked body (no Content-Length) longer than its Content-Range is undone
    conn = reg.connection()
    conn.putrequest("PATCH", loc)
    conn.putheader("Content-Range", "5-9")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"8\r\nabcdefgh\r\n0\r\n\r\n")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 400 and json.loads(body)["errors"][0]["code"] == "SIZE_INVALID"
    status = reg.request("GET", loc)
    assert status.status == 204 and status.header("Range") == "0-4"
    upload = reg.root / "repos/lib/cr/_uploads" / loc.rsplit("/", 1)[1] / "data"
    assert upload.read_bytes() == b"12345"
    still_serving(reg)


def test_aborted_patch_keeps_nothing(berth_binary, tmp_path):
    """A client that goes away mid-body: the upload keeps only what it had before."""
    import time

    reg = Registry(berth_binary("berth-registry"), tmp_path)  # no size limits here
    try:
        aborted_patch(reg)
    finally:
        reg.stop()


def aborted_patch(reg):
    import time

    loc = reg.request("POST", "/v2/lib/ab/blobs/uploads/").header("Location")
    assert reg.request("PATCH", loc, body=b"first").status == 202
    conn = reg.connection()
    conn.putrequest("PATCH", loc)
    conn.putheader("Content-Length", "1000000")
    conn.endheaders()
    conn.send(b"y" * 400000)  # more than the server buffers before handing data on
    data = reg.root / "repos/lib/ab/_uploads" / loc.rsplit("/", 1)[1] / "data"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and data.stat().st_size <= 5:
        time.sleep(0.05)
    assert data.stat().st_size > 5  # the server has written part of the body
    conn.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and data.stat().st_size != 5:
        time.sleep(0.05)
    assert data.read_bytes() == b"first"
    assert reg.request("GET", loc).header("Range") == "0-4"
    still_serving(reg)


def test_unknown_upload_id(reg):
    reg.request("POST", "/v2/lib/u/blobs/uploads/")
    for uid in ("0123456789abcdef0123456789abcdef", "not-an-id", "..", "%2e%2e"):
        for method, extra in (("PATCH", "",), ("PUT", f"?digest={sha256(b'x')}"), ("GET", ""), ("DELETE", "")):
            r = reg.request(method, f"/v2/lib/u/blobs/uploads/{uid}{extra}", body=b"x" if method in ("PATCH", "PUT") else None)
            assert r.status == 404, (method, uid, r.status)
            assert r.error_codes() == ["BLOB_UPLOAD_UNKNOWN"]
    # an upload of one repository is unknown in another
    loc = reg.request("POST", "/v2/lib/u/blobs/uploads/").header("Location")
    other = loc.replace("/lib/u/", "/lib/v/")
    assert reg.request("PATCH", other, body=b"x").status == 404
    assert reg.blob_files() == set()
    still_serving(reg)


@pytest.mark.parametrize(
    "path",
    [
        "/v2/../../etc/blobs/uploads/",
        "/v2/lib/../../x/blobs/uploads/",
        "/v2/lib/%2e%2e/%2e%2e/x/blobs/uploads/",
        "/v2/..%2fescape/blobs/uploads/",
        "/v2/Upper/blobs/uploads/",
        "/v2/a//b/blobs/uploads/",
        "/v2/_hidden/blobs/uploads/",
    ],
)
def test_dotdot_and_invalid_names(reg, path):
    parent_before = sorted(p.name for p in reg.root.parent.iterdir())
    r = reg.request("POST", path)
    assert r.status == 400 and r.error_codes() == ["NAME_INVALID"], (path, r.status, r.body)
    r = reg.request("PUT", path.replace("/blobs/uploads/", "/manifests/latest"), body=b"{}", headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400 and r.error_codes() == ["NAME_INVALID"]
    assert sorted(p.name for p in reg.root.parent.iterdir()) == parent_before
    assert list((reg.root / "repos").iterdir()) == []
    still_serving(reg)


def test_oversized_bodies(reg):
    before = reg.blob_files()
    big = b"x" * 9000  # limit 8192
    r = reg.request("POST", f"/v2/lib/big/blobs/uploads/?digest={sha256(big)}", body=big)
    assert r.status == 413 and r.error_codes() == ["SIZE_INVALID"]
    assert reg.blob_files() == before and reg.upload_dirs("lib/big") == []
    # in chunks: the one that passes the limit is refused, the upload keeps what it had
    loc = reg.request("POST", "/v2/lib/big/blobs/uploads/").header("Location")
    assert reg.request("PATCH", loc, body=b"y" * 8000, headers={"Content-Range": "0-7999"}).status == 202
    r = reg.request("PATCH", loc, body=b"y" * 1000, headers={"Content-Range": "8000-8999"})
    assert r.status == 413 and r.error_codes() == ["SIZE_INVALID"]
    assert reg.request("GET", loc).header("Range") == "0-7999"
    # streamed with no Content-Length: cut off when it passes the limit
    loc = reg.request("POST", "/v2/lib/big/blobs/uploads/").header("Location")
    conn = reg.connection()
    conn.putrequest("PATCH", loc)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(3):
            conn.send(b"%x\r\n%s\r\n" % (4000, b"z" * 4000))
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close as soon as it has answered
    finally:
        conn.close()
    assert reg.blob_files() == before
    # the refused body left nothing in the upload
    assert reg.request("GET", loc).header("Range") == "0-0"
    # manifests: limit 2048
    cd = reg.push_blob("lib/big", b"{}")
    m = image_manifest(cd, 2, [], extra={"annotations": {"pad": "p" * 3000}})
    r = reg.request("PUT", "/v2/lib/big/manifests/v1", body=json.dumps(m).encode(), headers={"Content-Type": MT_MANIFEST})
    assert r.status == 413
    assert reg.request("GET", "/v2/lib/big/manifests/v1").status == 404
    still_serving(reg)


def test_bad_digests_and_tags(reg):
    for path in ("/v2/lib/a/blobs/sha256:totallywrong", "/v2/lib/a/blobs/md5:abc", "/v2/lib/a/referrers/nope"):
        r = reg.request("GET", path)
        assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"], path
    r = reg.request("GET", "/v2/lib/a/manifests/sha256:totallywrong")
    assert r.status in (400, 404) and r.error_codes()[0] in ("DIGEST_INVALID", "MANIFEST_UNKNOWN")
    r = reg.request("PUT", "/v2/lib/a/manifests/-badtag", body=b"{}", headers={"Content-Type": MT_MANIFEST})
    assert r.status == 400
    r = reg.request("GET", "/v2/lib/a/tags/list?n=-1")
    assert r.status in (400, 404)
    r = reg.request("PUT", "/v2/lib/a/blobs/" + sha256(b"x"))
    assert r.status == 405 and r.error_codes() == ["UNSUPPORTED"]
    still_serving(reg)


def test_too_many_requests(berth_binary, tmp_path):
    """With limits.requests = 1, a second request while one is being served gets 429
    TOOMANYREQUESTS with Retry-After; once the first ends, requests are served again."""
    import time

    reg = Registry(berth_binary("berth-registry"), tmp_path, config={"limits": {"requests": 1}})
    try:
        # A request counts until the server has finished with it, a moment after its client
        # has the answer: the next one can still be refused (that is what Retry-After is
        # for). So the slow PATCH is tried again when it was the one refused.
        for _ in range(10):
            # the previous round's request may still count for a moment: its POST can be
            # refused too (then it has no Location), so it is asked again
            deadline = time.monotonic() + 60
            start = reg.request("POST", "/v2/lib/slow/blobs/uploads/")
            while start.status == 429 and time.monotonic() < deadline:
                time.sleep(0.05)
                start = reg.request("POST", "/v2/lib/slow/blobs/uploads/")
            assert start.status == 202, (start.status, start.body)
            loc = start.header("Location")
            conn = reg.connection()
            conn.putrequest("PATCH", loc)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            conn.send(b"5\r\nhello\r\n")  # the body is not finished: the request stays open
            deadline = time.monotonic() + 60
            r = None
            while time.monotonic() < deadline:
                r = reg.request("GET", "/v2/")
                if r.status == 429:
                    break
                time.sleep(0.05)
            assert r.status == 429 and r.error_codes() == ["TOOMANYREQUESTS"]
            assert r.header("Retry-After") == "1"
            conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status != 429:
                break
        assert resp.status == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and r.status != 200:
            r = reg.request("GET", "/v2/")
            time.sleep(0.05)
        assert r.status == 200
        assert reg.request("GET", loc).header("Range") == "0-4"
    finally:
        reg.stop()
