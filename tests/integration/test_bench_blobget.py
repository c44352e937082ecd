"""bench/registry/blobget.c, the blob GET load client that discards bodies in the kernel
(recv MSG_TRUNC): against a real berth-registry it counts only complete bodies, and what it
counts matches the server's access log and the kernel's byte count; a 404, a chunked reply,
a short body and corrupted bytes (under --verify) are errors with a nonzero exit. The
client is built with cc as bench/registry/blob_get.py builds it."""

import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_server_util import Registry  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def blobget(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("blob_get", REPO / "bench" / "registry" / "blob_get.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.build_blobget(tmp_path_factory.mktemp("blobget"))


@pytest.fixture
def reg(berth_binary, tmp_path):
    r = Registry(berth_binary("berth-registry"), tmp_path / "reg")
    yield r
    r.stop()


def run(blobget, port, path, *args, timeout=120):
    p = subprocess.run([str(blobget), *args, str(port), path], capture_output=True, text=True, timeout=timeout)
    lines = p.stdout.strip().splitlines()
    res = json.loads(lines[-1]) if lines else None
    return p.returncode, res, p.stderr


def served_200(reg, path):
    return len(re.findall(re.escape(f'"GET {path}" 200 '), reg.log_path.read_text()))


def wait_served(reg, path, n, timeout=60):
    """The server writes a request's log line when it ends, which may be just after the
    client has its answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and served_200(reg, path) < n:
        time.sleep(0.05)
    return served_200(reg, path)


@pytest.mark.parametrize(
    "size,args",
    [
        (8 * 1024 * 1024 + 3, ["-c", "4"]),  # larger than any socket buffer, odd length
        (4096, ["-c", "8", "-t", "2"]),  # whole responses often in one recv
        (1, ["-c", "1"]),
    ],
)
def test_counts_complete_bodies(blobget, reg, size, args):
    data = bytes((i * 7 + 3) % 251 for i in range(size))
    path = f"/v2/bench/blob/blobs/{reg.push_blob('bench/blob', data)}"
    rc, res, err = run(blobget, reg.port, path, "-d", "1", *args)
    assert rc == 0, (res, err)
    assert res["mode"] == "discard"
    assert res["errors"] == 0 and res["first_error"] == ""
    assert res["requests"] > 0
    assert res["bytes"] == res["requests"] * size
    # every counted response is one the server finished with a 200; at most one per
    # connection was still in flight when the client stopped
    conns = int(args[args.index("-c") + 1])
    served = wait_served(reg, path, res["requests"])
    assert res["requests"] <= served <= res["requests"] + conns
    # the bytes were taken out of the sockets (discarded, not left queued): the kernel's
    # own count covers the counted bodies, and what the client took plus what is queued
    # accounts for all of it (blobget checks this per connection and fails otherwise)
    assert res["client_bytes_taken"] >= res["bytes"] + res["inflight_bytes"]
    assert res["kernel_bytes_received"] >= res["client_bytes_taken"]
    assert res["kernel_bytes_received"] <= res["client_bytes_taken"] + res["kernel_bytes_unread"]


def test_verify_checks_the_bytes(blobget, reg):
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4
    digest = reg.push_blob("bench/blob", data)
    path = f"/v2/bench/blob/blobs/{digest}"
    rc, res, err = run(blobget, reg.port, path, "--verify", "-n", "5", "-c", "2", "-d", "60")
    assert rc == 0, (res, err)
    assert res["mode"] == "verify" and res["requests"] == 5 and res["errors"] == 0
    assert res["bytes"] == 5 * len(data)

    # the same size, other bytes: discarding cannot tell, --verify must
    blob = reg.root / "blobs" / "sha256" / digest.split(":")[1]
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.write_bytes(bytes(raw))
    rc, res, err = run(blobget, reg.port, path, "--verify", "-c", "1", "-d", "1")
    assert rc == 1
    assert res["errors"] > 0 and res["requests"] == 0
    assert "sha256 differs" in res["first_error"] and "sha256 differs" in err


def test_404_is_an_error(blobget, reg):
    path = "/v2/bench/blob/blobs/sha256:" + "0" * 64
    rc, res, err = run(blobget, reg.port, path, "-d", "1", "-c", "2")
    assert rc == 1
    assert res["requests"] == 0 and res["bytes"] == 0
    assert res["errors"] > 0 and res["first_error"] == "HTTP 404"
    assert "errors" in err


class OneShotServer:
    """A loopback server that answers every request on a connection with one canned
    reply (then, if close is set, closes): for replies no registry sends."""

    def __init__(self, reply, close):
        self.reply, self.close = reply, close
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.done = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        with c:
            buf = b""
            try:
                while not self.done:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                    while b"\r\n\r\n" in buf:
                        _, buf = buf.split(b"\r\n\r\n", 1)
                        c.sendall(self.reply)
                        if self.close:
                            return
            except OSError:
                return

    def stop(self):
        self.done = True
        # shutdown wakes the accept() blocked in serve(); close alone does not
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=60)


@pytest.mark.parametrize(
    "reply,close,expect",
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", False, "chunked"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50, True, "body bytes missing"),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nxyz", True, "without Content-Length"),
        # bytes past the body: seen in the same read, or then as a bad status line
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", False, ("past Content-Length", "bad status line")),
    ],
)
def test_bad_replies_are_errors(blobget, reply, close, expect):
    srv = OneShotServer(reply, close)
    try:
        rc, res, err = run(blobget, srv.port, "/blob", "-d", "1", "-c", "1")
    finally:
        srv.stop()
    assert rc == 1, (res, err)
    assert res["requests"] == 0 and res["errors"] > 0
    expect = (expect,) if isinstance(expect, str) else expect
    assert any(e in res["first_error"] for e in expect), res


def test_help_and_bad_usage(blobget):
    p = subprocess.run([str(blobget), "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Usage: blobget" in p.stdout and "MSG_TRUNC" in p.stdout
    p = subprocess.run([str(blobget), "80"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "Usage: blobget" in p.stderr
    p = subprocess.run([str(blobget), "--verify", "80", "/v2/x/blobs/nodigest"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "digest" in p.stderr


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    ],
)
def test_server_closing_after_each_reply_is_not_an_error(blobget, reply):
    """A reply that announces the close is complete; blobget reconnects, and its kernel
    byte check allows for the FIN."""
    srv = OneShotServer(reply, True)
    try:
        rc, res, err = run(blobget, srv.port, "/blob", "-d", "1", "-c", "2")
    finally:
        srv.stop()
    assert rc == 0, (res, err)
    assert res["errors"] == 0 and res["requests"] > 0 and res["bytes"] == 3 * res["requests"]


def test_refused_connections_are_errors(blobget):
    with socket.socket() as s:  # a port nothing listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        rc, res, err = run(blobget, port, "/blob", "-d", "0.5", "-c", "2")
    assert rc == 1
    assert res["requests"] == 0 and res["errors"] > 0
    assert "Connection refused" in res["first_error"], res
