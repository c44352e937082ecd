"""Helpers for berth-registry's tests: start a server on 127.0.0.1 with a free port of its
own choosing (--addr 127.0.0.1:0, the port read from its first log line), plain HTTP(S)
requests through http.client, and small push helpers. Standard library only."""

import base64
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import time
from pathlib import Path

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def error_codes(self):
        return [e["code"] for e in self.json()["errors"]]


class Registry:
    """A running berth-registry. stop() ends it (the fixture does)."""

    def __init__(self, binary, workdir, root=None, config=None, tls_ca=None, extra_args=()):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root = Path(root) if root else self.workdir / "root"
        self.log_path = self.workdir / "registry.log"
        args = [binary, "serve", "--addr", "127.0.0.1:0", "--root", str(self.root)]
        if config is not None:
            cfg_path = self.workdir / "config.json"
            cfg_path.write_text(json.dumps(config))
            args += ["--config", str(cfg_path)]
        args += list(extra_args)
        self.tls_ca = tls_ca
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        self.port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            for line in text.splitlines():
                if "listening on 127.0.0.1:" in line:
                    self.port = int(line.split("127.0.0.1:")[1].split()[0])
            if self.port:
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"berth-registry exited: {text}")
            time.sleep(0.05)
        if not self.port:
            self.stop()
            raise RuntimeError("berth-registry did not start: " + self.log_path.read_text())
        self.addr = f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def wait_log(self, text, timeout=60):
        """True once text appears in the log (a request's line is written when it ends,
        which may be just after the client has its answer)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text():
                return True
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc.poll() is None

    def connection(self):
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=str(self.tls_ca))
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=120, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(self, method, path, body=None, headers=None, auth=None):
        headers = dict(headers or {})
        if auth is not None:
            if isinstance(auth, tuple):
                token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                headers["Authorization"] = "Basic " + token
            else:
                headers["Authorization"] = "Bearer " + auth
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, hdrs, data)
        finally:
            conn.close()

    # push helpers (assert on success: tests of failures call request() themselves)
    def push_blob(self, name, data, auth=None):
        digest = sha256(data)
        r = self.request(
            "POST",
            f"/v2/{name}/blobs/uploads/?digest={digest}",
            body=data,
            headers={"Content-Type": "application/octet-stream"},
            auth=auth,
        )
        assert r.status == 201, (r.status, r.body)
        return digest

    def push_manifest(self, name, ref, manifest, media_type=MT_MANIFEST, auth=None):
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
        r = self.request("PUT", f"/v2/{name}/manifests/{ref}", body=body, headers={"Content-Type": media_type}, auth=auth)
        assert r.status == 201, (r.status, r.body)
        return r

    def push_image(self, name, tag, layer=b"layer-bytes", config=None, auth=None):
        """A one-layer OCI image; returns (manifest digest, manifest bytes, [config, layer] digests)."""
        config = config or json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        cd = self.push_blob(name, config, auth=auth)
        ld = self.push_blob(name, layer, auth=auth)
        manifest = image_manifest(cd, len(config), [(ld, len(layer))])
        body = json.dumps(manifest).encode()
        r = self.push_manifest(name, tag, body, auth=auth)
        assert r.header("Docker-Content-Digest") == sha256(body)
        return sha256(body), body, [cd, ld]

    # what is stored
    def blob_files(self):
        out = set()
        for alg in ("sha256", "sha512"):
            d = self.root / "blobs" / alg
            if d.is_dir():
                out |= {f"{alg}:{p.name}" for p in d.iterdir() if not p.name.startswith(".")}
        return out

    def upload_dirs(self, name):
        d = self.root / "repos" / name / "_uploads"
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def image_manifest(config_digest, config_size, layers, media_type=MT_MANIFEST, extra=None):
    m = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": MT_LAYER, "digest": d, "size": s} for d, s in layers],
    }
    m.update(extra or {})
    return m
