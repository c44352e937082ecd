"""Registries for the registry-client tests, on 127.0.0.1 only.

  Registry   Debian's docker-registry (distribution 2.8), started per test with its own
             config YAML, a free port and filesystem storage in a temp dir; optionally
             behind htpasswd (bcrypt, `htpasswd -Bbn`).
  Proxy      a small HTTP front for a Registry: logs every request, can cut a blob
             download after N bytes (for retries and Range resume), and can require the
             Bearer token flow (its own /token endpoint, anonymous or with Basic credentials).
  push_image a minimal OCI push over HTTP (POST/PUT blobs, PUT manifest), for images the
             tests build themselves (several layers, manifest lists).
Fixtures: registry, auth_registry (USER / PASSWORD).
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import socket
import subprocess
import tarfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import require_tool

DEADLINE = 30
USER = "tester"
PASSWORD = "s3cret-pw"

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, base, htpasswd=False, tls=None):
        """tls: {"cert": path, "key": path, "clientca": path or None} serves HTTPS."""
        binary = require_tool("docker-registry")
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.storage = self.base / "storage"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        cfg = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
        ]
        self.tls = tls
        if tls:
            cfg += ["  tls:", f"    certificate: {tls['cert']}", f"    key: {tls['key']}"]
            if tls.get("clientca"):
                cfg += ["    clientcas:", f"      - {tls['clientca']}"]
        self.auth = None
        if htpasswd:
            require_tool("htpasswd")
            line = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True,
                                  text=True, check=True).stdout.strip()
            (self.base / "htpasswd").write_text(line + "\n")
            cfg += ["auth:", "  htpasswd:", "    realm: berth-test",
                    f"    path: {self.base / 'htpasswd'}"]
            self.auth = (USER, PASSWORD)
        (self.base / "config.yml").write_text("\n".join(cfg) + "\n")
        self.log = open(self.base / "registry.log", "w+")
        self.proc = subprocess.Popen([binary, "serve", str(self.base / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"docker-registry exited: {self.logs()}")
            if tls:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                    return
                except OSError:
                    pass
            else:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    c.request("GET", "/v2/")
                    st = c.getresponse().status
                    c.close()
                    if st in (200, 401):
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"docker-registry did not listen on {self.host}: {self.logs()}")

    def logs(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def headers(self):
        if not self.auth:
            return {}
        tok = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        return {"Authorization": "Basic " + tok}

    def request(self, method, path, body=None, headers=None):
        h = dict(self.headers())
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=DEADLINE)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def manifest(self, repo, ref, accept=None):
        """(digest, body bytes, content type) of a stored manifest."""
        acc = accept or ", ".join([MT_OCI_MANIFEST, MT_OCI_INDEX,
                                   "application/vnd.docker.distribution.manifest.v2+json",
                                   "application/vnd.docker.distribution.manifest.list.v2+json"])
        st, h, body = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": acc})
        assert st == 200, (st, body)
        return sha256(body), body, h.get("Content-Type")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def registry(tmp_path):
    r = Registry(tmp_path / "registry")
    yield r
    r.stop()


@pytest.fixture
def auth_registry(tmp_path):
    r = Registry(tmp_path / "auth-registry", htpasswd=True)
    yield r
    r.stop()


# --- pushing images built by the tests ---

def put_blob(reg, repo, data):
    digest = sha256(data)
    st, h, body = reg.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert st == 202, (st, body)
    loc = h["Location"]
    if loc.startswith("http"):
        loc = "/" + loc.split("/", 3)[3]
    sep = "&" if "?" in loc else "?"
    st, h, body = reg.request("PUT", f"{loc}{sep}digest={digest}", body=data,
                              headers={"Content-Type": "application/octet-stream"})
    assert st == 201, (st, body)
    return digest


def put_manifest(reg, repo, ref, manifest, media_type):
    body = json.dumps(manifest).encode() if not isinstance(manifest, bytes) else manifest
    st, h, resp = reg.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                              headers={"Content-Type": media_type})
    assert st == 201, (st, resp)
    return sha256(body), len(body)


def layer_tar(files):
    """A layer tar: {name: bytes} as regular files (mode 0644, mtime 0)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, mtime=0)


def zstd(data):
    return subprocess.run([require_tool("zstd"), "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout


def push_image(reg, repo, tag, layer_tars, arch="amd64", compress=True, labels=None):
    """Pushes an OCI image of the given uncompressed layer tars (compress: True/"gzip",
    "zstd" or False); returns (manifest digest, manifest bytes, config digest, [layer blob
    digests])."""
    if compress == "zstd":
        blobs, mt = [zstd(t) for t in layer_tars], MT_LAYER_ZSTD
    elif compress:
        blobs, mt = [gz(t) for t in layer_tars], MT_LAYER_GZIP
    else:
        blobs, mt = list(layer_tars), MT_LAYER_TAR
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": labels or {}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layer_tars]},
        "history": [{"created_by": "test"} for _ in layer_tars],
    }
    cbytes = json.dumps(config).encode()
    cdigest = put_blob(reg, repo, cbytes)
    ldigests = [put_blob(reg, repo, b) for b in blobs]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": cdigest, "size": len(cbytes)},
        "layers": [{"mediaType": mt, "digest": d, "size": len(b)}
                   for d, b in zip(ldigests, blobs)],
    }
    mbytes = json.dumps(manifest).encode()
    mdigest, _ = put_manifest(reg, repo, tag, mbytes, MT_OCI_MANIFEST)
    return mdigest, mbytes, cdigest, ldigests


def rootfs_tar(rootfs):
    """The busybox rootfs as one uncompressed layer tar (deterministic order, mtime 0)."""
    buf = io.BytesIO()
    root = Path(rootfs)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for p in sorted(root.rglob("*")):
            ti = t.gettarinfo(str(p), arcname=str(p.relative_to(root)))
            ti.mtime = 0
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            if ti.isreg():
                with open(p, "rb") as f:
                    t.addfile(ti, f)
            else:
                t.addfile(ti)
    return buf.getvalue()


# --- a proxy in front of a registry ---

class Proxy:
    """HTTP front for `upstream` (a Registry) on its own port.

    cut: {digest: bytes} - a GET of that blob is cut after that many bytes, `cut_times` times
         (then served whole); a GET with a Range header is forwarded as is, or dropped
         without an answer when refuse_range is set.
    token: when set, every /v2/ request needs "Bearer <token>" obtained from /token (with Basic
         credentials `token_creds` when given, anonymously otherwise).
    requests: [(method, path, range header, authorization header)] as received.
    """

    def __init__(self, upstream, token=None, token_creds=None):
        self.upstream = upstream
        self.cut = {}
        self.cut_times = 1
        self.cuts_done = {}
        self.refuse_range = False
        # blob GETs in flight: counted; with hold=n a GET of a blob in hold_digests waits
        # until n are in flight together (or DEADLINE passes), which makes concurrency
        # observable without timing
        self.hold = 0
        self.hold_digests = set()
        # blob GET/HEAD answered with a 307 to this origin ("http://host:port"), as a
        # registry with its blobs in other storage does
        self.redirect_blobs_to = None
        # GETs of these blobs wait until `release` is set (or DEADLINE passes)
        self.stall = set()
        self.release = threading.Event()
        self.inflight = 0
        self.max_inflight = 0
        # blob uploads (PATCH/PUT under /blobs/uploads/) in flight, counted the same way;
        # with hold_uploads=n each waits until n are in flight together (or DEADLINE passes);
        # once that was seen, the rest (the last layers, the config) go through
        self.hold_uploads = 0
        self.uploads_inflight = 0
        self.max_uploads_inflight = 0
        self.cond = threading.Condition()
        self.token = token
        self.token_creds = token_creds
        self.requests = []
        self.completed = []  # paths of requests answered, in order
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                proxy._handle(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _send(self, h, status, body=b"", headers=None):
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().strip(), 16)
                if size == 0:
                    h.rfile.readline()
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            body = b"".join(chunks)
        with self.lock:
            self.requests.append((h.command, h.path, h.headers.get("Range"),
                                  h.headers.get("Authorization")))
        if self.token:
            if h.path.startswith("/token"):
                if self.token_creds:
                    want = "Basic " + base64.b64encode(
                        f"{self.token_creds[0]}:{self.token_creds[1]}".encode()).decode()
                    if h.headers.get("Authorization") != want:
                        return self._send(h, 401, b'{"details":"bad credentials"}',
                                          {"Content-Type": "application/json"})
                return self._send(h, 200, json.dumps({"token": self.token,
                                                      "expires_in": 300}).encode(),
                                  {"Content-Type": "application/json"})
            if h.headers.get("Authorization") != "Bearer " + self.token:
                scope = ""
                parts = h.path.split("/")
                if len(parts) > 3 and parts[1] == "v2":
                    name = "/".join(parts[2:-2])
                    scope = f',scope="repository:{name}:pull"'
                chal = (f'Bearer realm="http://{self.host}/token",service="berth-test"{scope}')
                return self._send(h, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                  {"WWW-Authenticate": chal, "Content-Type": "application/json"})
        digest = h.path.rsplit("/", 1)[-1]
        if (self.redirect_blobs_to and h.command in ("GET", "HEAD")
                and "/blobs/sha256:" in h.path):
            return self._send(h, 307, b"", {"Location": self.redirect_blobs_to + h.path})
        if (self.refuse_range and h.command == "GET" and "/blobs/" in h.path
                and digest in self.cut and h.headers.get("Range")):
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        blob_get = h.command == "GET" and "/blobs/sha256:" in h.path
        if blob_get:
            with self.cond:
                self.inflight += 1
                self.max_inflight = max(self.max_inflight, self.inflight)
                self.cond.notify_all()
                if self.hold and digest in self.hold_digests:
                    self.cond.wait_for(lambda: self.inflight >= self.hold, timeout=DEADLINE)
        upload = h.command in ("PATCH", "PUT") and "/blobs/uploads/" in h.path
        if upload:
            with self.cond:
                self.uploads_inflight += 1
                self.max_uploads_inflight = max(self.max_uploads_inflight,
                                                self.uploads_inflight)
                self.cond.notify_all()
                if self.hold_uploads:
                    self.cond.wait_for(
                        lambda: self.max_uploads_inflight >= self.hold_uploads,
                        timeout=DEADLINE)
        if h.command == "GET" and digest in self.stall:
            self.release.wait(timeout=DEADLINE)
        try:
            self._forward(h, body, digest)
        finally:
            with self.lock:
                self.completed.append(h.path)
            if blob_get or upload:
                with self.cond:
                    if blob_get:
                        self.inflight -= 1
                    else:
                        self.uploads_inflight -= 1

    def _forward(self, h, body, digest):
        headers = {k: v for k, v in h.headers.items()
                   if k.lower() not in ("host", "authorization", "content-length",
                                        "transfer-encoding", "connection")}
        headers.update(self.upstream.headers())
        c = http.client.HTTPConnection("127.0.0.1", self.upstream.port, timeout=DEADLINE)
        c.request(h.command, h.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read() if h.command != "HEAD" else b""
        c.close()
        out = {k: v for k, v in r.getheaders()
               if k.lower() not in ("content-length", "transfer-encoding", "connection")}
        if "Location" in out and out["Location"].startswith("http://" + self.upstream.host):
            out["Location"] = out["Location"].replace(self.upstream.host, self.host)
        if (h.command == "GET" and "/blobs/" in h.path and digest in self.cut
                and not h.headers.get("Range") and r.status == 200):
            with self.lock:
                n = self.cuts_done.get(digest, 0)
                cutting = n < self.cut_times
                self.cuts_done[digest] = n + 1
            if cutting:
                # announce the whole blob, send part of it, then drop the connection
                h.send_response(200)
                for k, v in out.items():
                    h.send_header(k, v)
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(data[: self.cut[digest]])
                h.wfile.flush()
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
        self._send(h, r.status, data, out)
