"""berth-registry's auth and TLS: htpasswd (bcrypt) Basic, per-repository permissions,
its own Bearer token endpoint, skopeo with credentials, and HTTPS with a self-signed
certificate made by openssl in the test."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import require_tool  # noqa: E402
from registry_server_util import Registry, sha256  # noqa: E402

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-secret")

ACCESS = [
    {"repository": "public/*", "anonymous": "pull", "authenticated": "pull", "users": {"alice": "pull,push"}},
    {"repository": "alice/*", "users": {"alice": "*"}},
    {"repository": "shared/*", "users": {"alice": "pull,push", "bob": "pull"}},
]


@pytest.fixture
def htpasswd(tmp_path):
    tool = require_tool("htpasswd")
    f = tmp_path / "htpasswd"
    subprocess.run([tool, "-Bbc", str(f), *ALICE], check=True, capture_output=True, timeout=60)
    subprocess.run([tool, "-Bb", str(f), *BOB], check=True, capture_output=True, timeout=60)
    return f


@pytest.fixture
def basic_reg(berth_binary, tmp_path, htpasswd):
    cfg = {"auth": {"htpasswd": str(htpasswd), "realm": "test-realm"}, "access": ACCESS}
    r = Registry(berth_binary("berth-registry"), tmp_path, config=cfg)
    yield r
    r.stop()


@pytest.fixture
def token_reg(berth_binary, tmp_path, htpasswd):
    cfg = {"auth": {"htpasswd": str(htpasswd), "token": {"realm": "/token", "service": "berth-test"}}, "access": ACCESS}
    r = Registry(berth_binary("berth-registry"), tmp_path, config=cfg)
    yield r
    r.stop()


def test_basic_challenge_and_passwords(basic_reg):
    reg = basic_reg
    r = reg.request("GET", "/v2/")
    assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"]
    assert r.header("WWW-Authenticate") == 'Basic realm="test-realm"'
    assert reg.request("GET", "/v2/", auth=ALICE).status == 200
    assert reg.request("GET", "/v2/", auth=BOB).status == 200
    for bad in (("alice", "wrong"), ("nobody", "alice-secret"), ("alice", "")):
        r = reg.request("GET", "/v2/", auth=bad)
        assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"], bad
    r = reg.request("GET", "/v2/", headers={"Authorization": "Basic !!!notbase64"})
    assert r.status == 401


def test_wrong_password_push_stores_nothing(basic_reg):
    reg = basic_reg
    data = b"secret layer"
    r = reg.request("POST", f"/v2/alice/img/blobs/uploads/?digest={sha256(data)}", body=data, auth=("alice", "nope"))
    assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"]
    assert reg.blob_files() == set()
    assert not (reg.root / "repos" / "alice").exists()
    assert reg.alive() and reg.request("GET", "/v2/", auth=ALICE).status == 200


def test_per_repository_permissions(basic_reg):
    reg = basic_reg
    digest, _, blobs = reg.push_image("alice/img", "v1", auth=ALICE)
    # bob and anonymous cannot read alice's repository
    r = reg.request("GET", "/v2/alice/img/manifests/v1", auth=BOB)
    assert r.status == 403 and r.error_codes() == ["DENIED"]
    r = reg.request("GET", "/v2/alice/img/manifests/v1")
    assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"]
    assert reg.request("GET", f"/v2/alice/img/blobs/{blobs[1]}").status == 401
    assert reg.request("GET", "/v2/alice/img/tags/list", auth=BOB).status == 403
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=ALICE).status == 200
    # shared: bob may pull, not push
    reg.push_image("shared/x", "v1", auth=ALICE)
    assert reg.request("GET", "/v2/shared/x/manifests/v1", auth=BOB).status == 200
    before = reg.blob_files()
    r = reg.request("POST", f"/v2/shared/x/blobs/uploads/?digest={sha256(b'bob')}", body=b"bob", auth=BOB)
    assert r.status == 403 and r.error_codes() == ["DENIED"]
    assert reg.request("DELETE", "/v2/shared/x/manifests/v1", auth=BOB).status == 403
    assert reg.blob_files() == before
    # public: anyone pulls, only alice pushes
    reg.push_image("public/p", "v1", auth=ALICE)
    assert reg.request("GET", "/v2/public/p/manifests/v1").status == 200
    assert reg.request("POST", "/v2/public/p/blobs/uploads/").status == 401
    assert reg.request("POST", "/v2/public/p/blobs/uploads/", auth=BOB).status == 403
    # cross-repository mount from a repository bob cannot read gives him no blob
    r = reg.request("POST", f"/v2/bob/own/blobs/uploads/?mount={blobs[1]}&from=alice/img", auth=BOB)
    assert r.status == 202
    assert reg.request("GET", f"/v2/bob/own/blobs/{blobs[1]}", auth=BOB).status == 404
    # the catalog lists only what the caller may pull
    assert reg.request("GET", "/v2/_catalog").status == 401
    cat = reg.request("GET", "/v2/_catalog", auth=BOB).json()["repositories"]
    assert "alice/img" not in cat and "shared/x" in cat and "public/p" in cat
    assert "alice/img" in reg.request("GET", "/v2/_catalog", auth=ALICE).json()["repositories"]


def test_htpasswd_reloaded_when_changed(basic_reg, htpasswd):
    reg = basic_reg
    assert reg.request("GET", "/v2/", auth=("carol", "carol-secret")).status == 401
    subprocess.run(["htpasswd", "-Bb", str(htpasswd), "carol", "carol-secret"], check=True, capture_output=True, timeout=60)
    assert reg.request("GET", "/v2/", auth=("carol", "carol-secret")).status == 200


def get_token(reg, scopes, auth=None):
    q = "&".join(f"scope={s}" for s in scopes)
    r = reg.request("GET", f"/token?service=berth-test&{q}", auth=auth)
    assert r.status == 200, r.body
    j = r.json()
    assert j["token"] == j["access_token"] and j["expires_in"] > 0
    return j["token"]


def test_token_flow(token_reg):
    reg = token_reg
    r = reg.request("GET", "/v2/")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == f'Bearer realm="http://{reg.addr}/token",service="berth-test"'
    r = reg.request("POST", "/v2/alice/img/blobs/uploads/")
    assert r.status == 401
    assert r.header("WWW-Authenticate").endswith(',scope="repository:alice/img:pull,push"')
    # a Host that would break out of the quoted realm is not echoed
    r = reg.request("GET", "/v2/", headers={"Host": 'evil",x="y'})
    assert r.status == 401 and "evil" not in r.header("WWW-Authenticate")
    tok = get_token(reg, ["repository:alice/img:pull,push"], auth=ALICE)
    assert reg.request("GET", "/v2/", auth=tok).status == 200
    digest, _, _ = reg.push_image("alice/img", "v1", auth=tok)
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=tok).status == 200
    # a token grants only the scopes asked for and allowed
    other = get_token(reg, ["repository:shared/x:pull"], auth=ALICE)
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=other).status == 401
    bob_tok = get_token(reg, ["repository:alice/img:pull,push"], auth=BOB)
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=bob_tok).status == 401
    anon = get_token(reg, ["repository:alice/img:pull"])
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=anon).status == 401
    # a forged or altered token is refused
    payload, sig = tok.split(".")
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=payload + "." + sig[::-1]).status == 401
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth="garbage").status == 401
    # Basic credentials still work next to tokens
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=ALICE).status == 200
    assert reg.request("GET", "/v2/alice/img/manifests/v1", auth=BOB).status == 403
    # wrong password at the token endpoint
    assert reg.request("GET", "/token?scope=repository:alice/img:pull", auth=("alice", "bad")).status == 401


def test_skopeo_with_credentials(token_reg, busybox_oci, tmp_path):
    skopeo = require_tool("skopeo")
    reg = token_reg
    src = f"oci:{busybox_oci}:latest"
    dest = f"docker://{reg.addr}/alice/busybox:latest"
    p = subprocess.run([skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "bob:bob-secret", src, dest], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0
    subprocess.run([skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "alice:alice-secret", src, dest], check=True, capture_output=True, timeout=300)
    out = tmp_path / "out"
    subprocess.run([skopeo, "copy", "--src-tls-verify=false", "--src-creds", "alice:alice-secret", dest, f"oci:{out}:x"], check=True, capture_output=True, timeout=300)
    want = json.loads((busybox_oci / "index.json").read_text())["manifests"][0]["digest"]
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == want


def test_tls(berth_binary, tmp_path, busybox_oci):
    openssl = require_tool("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=120,
    )
    reg = Registry(berth_binary("berth-registry"), tmp_path, config={"tls": {"cert": str(cert), "key": str(key)}}, tls_ca=cert)
    try:
        assert "(https)" in reg.log_path.read_text()
        assert reg.request("GET", "/v2/").status == 200
        d = reg.push_blob("tls/x", b"over tls")
        assert reg.request("GET", f"/v2/tls/x/blobs/{d}").body == b"over tls"
        # plain HTTP to the TLS port gets no registry answer
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=60)
        try:
            conn.request("GET", "/v2/")
            status = conn.getresponse().status
        except (http.client.HTTPException, OSError):
            status = None
        finally:
            conn.close()
        assert status != 200
        # skopeo verifies the certificate through a cert dir holding the CA
        skopeo = require_tool("skopeo")
        certdir = tmp_path / "certs"
        certdir.mkdir()
        (certdir / "ca.crt").write_bytes(cert.read_bytes())
        subprocess.run([skopeo, "copy", "--dest-cert-dir", str(certdir), f"oci:{busybox_oci}:latest", f"docker://{reg.addr}/tls/busybox:latest"], check=True, capture_output=True, timeout=300)
        want = json.loads((busybox_oci / "index.json").read_text())["manifests"][0]["digest"]
        assert reg.request("HEAD", "/v2/tls/busybox/manifests/latest").header("Docker-Content-Digest") == want
        assert reg.alive()
    finally:
        reg.stop()
