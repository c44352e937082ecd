"""The API server (src/server) over a real Unix socket, driven by curl, Python's
http.client, raw sockets, docker-py and the real docker CLI. The daemon is
tests/unit/test-server-daemon: the real server and engine with test jobs (echo, status,
failure, streams, a wait that blocks until released, a hijack echo) registered."""

import grp
import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from conftest import require_binary

DEADLINE = 20  # seconds: only to turn a hang into a failure, never a timing assertion


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=DEADLINE):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Daemon:
    def __init__(self, binary, tmp, env=None):
        self.dir = Path(tmp)
        self.sock = str(self.dir / "api.sock")
        self.spool = self.dir / "spool"
        self.spool.mkdir()
        self.log = self.dir / "daemon.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([binary, self.sock, str(self.spool)],
                                         stdout=subprocess.PIPE, stderr=log, text=True,
                                         env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError(f"daemon did not start: {line!r} {self.log.read_text()}")

    def conn(self):
        return UnixHTTPConnection(self.sock)

    def request(self, method, path, body=None, headers=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        return status, hdrs, (json.loads(data) if data else None)

    def state(self):
        return self.json("GET", "/test/state")[2]

    def wait_state(self, key, at_least):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.state()[key] >= at_least:
                return
            time.sleep(0.05)
        raise AssertionError(f"{key} never reached {at_least}: {self.state()}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=DEADLINE)
        self.proc.stdout.close()
        # under `make asan` the sanitizers report here (leaks also make rc non-zero)
        log = self.log.read_text()
        assert "runtime error" not in log and "Sanitizer" not in log, log
        return rc


@pytest.fixture
def daemon(build_dir, tmp_path):
    binary = require_binary(build_dir / "tests" / "unit" / "test-server-daemon")
    d = Daemon(binary, tmp_path)
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0
    assert not os.path.exists(d.sock), "socket left behind"
    assert list(d.spool.iterdir()) == [], "spooled bodies left behind"


STD_HEADERS = {"Api-Version": "1.50", "Ostype": "linux", "Docker-Experimental": "false"}


def assert_std_headers(hdrs):
    for k, v in STD_HEADERS.items():
        assert hdrs.get(k) == v, (k, hdrs)
    assert hdrs["Server"].startswith("Docker/") and hdrs["Server"].endswith(" (linux)")


def raw_request(sock_path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(DEADLINE)
    s.connect(sock_path)
    s.sendall(data)
    return s


def read_head(s):
    """Read up to the end of the response head; returns (head text, bytes after it)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, f"EOF inside the response head: {buf!r}"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode(), rest


def read_to_eof(s, rest=b""):
    buf = rest
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk


# ---- ping and version ----

def test_ping_get_and_head(daemon):
    for path in ("/_ping", "/v1.50/_ping", "/v1.24/_ping"):
        status, hdrs, body = daemon.request("GET", path)
        assert (status, body) == (200, b"OK")
        assert_std_headers(hdrs)
        assert hdrs["Builder-Version"] == "1"
        assert hdrs["Swarm"] == "inactive"
        assert hdrs["Cache-Control"] == "no-cache, no-store, must-revalidate"
        assert hdrs["Pragma"] == "no-cache"
    status, hdrs, body = daemon.request("HEAD", "/_ping")
    assert (status, body) == (200, b"")
    assert_std_headers(hdrs)
    assert hdrs["Builder-Version"] == "1"


def test_version(daemon):
    for path in ("/version", "/v1.50/version", "/v1.41/version"):
        status, hdrs, v = daemon.json("GET", path)
        assert status == 200
        assert hdrs["Content-Type"] == "application/json"
        assert v["ApiVersion"] == "1.50" and v["MinAPIVersion"] == "1.24"
        assert v["Os"] == "linux" and v["Arch"] and v["KernelVersion"] == os.uname().release
        engine = [c for c in v["Components"] if c["Name"] == "Engine"][0]
        assert engine["Version"] == v["Version"] and v["Version"]
        assert engine["Details"]["ApiVersion"] == "1.50"


def test_api_version_bounds(daemon):
    status, hdrs, body = daemon.json("GET", "/v1.23/version")
    assert status == 400
    assert_std_headers(hdrs)
    assert body["message"] == ("client version 1.23 is too old. Minimum supported API version "
                               "is 1.24, please upgrade your client to a newer version")
    status, _, body = daemon.json("GET", "/v1.51/_ping")
    assert status == 400
    assert body["message"] == "client version 1.51 is too new. Maximum supported API version is 1.50"
    status, _, body = daemon.json("GET", "/v1.24/test/echo")
    assert status == 200 and body["api_version"] == "1.24"
    status, _, body = daemon.json("GET", "/test/echo")
    assert status == 200 and body["api_version"] == "1.50"


# ---- routing, errors, status codes ----

def test_unknown_path_is_404_page_not_found(daemon):
    for method, path in (("GET", "/nope"), ("GET", "/v1.50/containers/abc/nope"),
                         ("POST", "/v1.50/containers/json"), ("GET", "/v1.50")):
        status, hdrs, body = daemon.request(method, path)
        assert status == 404, path
        assert hdrs["Content-Type"] == "application/json"
        assert_std_headers(hdrs)
        assert json.loads(body) == {"message": "page not found"}


def test_unregistered_job_is_501(daemon):
    status, hdrs, body = daemon.json("GET", "/v1.50/containers/json?all=1")
    assert status == 501
    assert_std_headers(hdrs)
    assert body == {"message": "not implemented: container.list"}
    status, _, body = daemon.json("POST", "/v1.50/networks/create", body=b"{}")
    assert (status, body) == (501, {"message": "not implemented: network.create"})


def test_job_status_codes(daemon):
    status, hdrs, body = daemon.request("GET", "/test/status?status=204")
    assert (status, body) == (204, b"")
    assert "Content-Type" not in hdrs
    assert_std_headers(hdrs)
    status, hdrs, body = daemon.json("GET", "/test/status?status=201")
    assert (status, body) == (201, {"status": "set"})
    status, hdrs, body = daemon.json("GET", "/test/status?status=x")
    assert status == 400 and "status" in body["message"]


def test_job_failures(daemon):
    status, hdrs, body = daemon.json("POST", "/v1.50/test/fail?what=name+web")
    assert (status, body) == (409, {"message": "conflict: name web"})
    assert hdrs["Content-Type"] == "application/json"
    status, _, body = daemon.json("POST", "/v1.50/test/fail?errno=ENOENT")
    assert (status, body) == (404, {"message": "open /nonexistent: No such file or directory"})


def test_query_parsing(daemon):
    q = ("x=1+2&x=%2Fa%20b&force=True&t=a%3A1&t=b&empty&"
         "filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D")
    status, _, body = daemon.json("GET", "/v1.50/test/echo/abc?" + q)
    assert status == 200
    assert body["path"] == {"id": "abc"}
    assert body["query"]["x"] == ["1 2", "/a b"]
    assert body["query"]["empty"] == ""
    assert body["force"] is True
    assert body["t"] == ["a:1", "b"]
    assert body["filters"] == {"name": ["web"]}
    status, _, body = daemon.json("GET", "/test/echo?filters=%7B%22name%22%3A%5B%22db%22%5D%7D")
    assert body["filters"] == {"name": ["db"]}
    status, _, body = daemon.json("GET", "/test/echo?force=False")
    assert body["force"] is False
    status, _, body = daemon.json("GET", "/test/echo?x=%ff")
    assert status == 400 and "UTF-8" in body["message"]


def test_job_response_headers(daemon):
    status, hdrs, _ = daemon.request("GET", "/test/echo?hdr=abc")
    assert status == 200 and hdrs["X-Test-Header"] == "abc"
    assert_std_headers(hdrs)


def test_image_names_with_slashes_and_colons(daemon):
    status, _, body = daemon.json("GET", "/v1.50/images/localhost:5000/a/b:1/json")
    assert (status, body["job"], body["path"]) == (200, "image.inspect",
                                                   {"name": "localhost:5000/a/b:1"})
    status, _, body = daemon.json("GET", "/v1.50/images/sha256:" + "a" * 64 + "/json")
    assert body["path"] == {"name": "sha256:" + "a" * 64}
    status, _, body = daemon.json("DELETE", "/v1.50/images/docker.io/library/busybox:latest?force=1")
    assert (body["job"], body["path"], body["force"]) == (
        "image.delete", {"name": "docker.io/library/busybox:latest"}, True)
    status, _, body = daemon.json("GET", "/v1.50/containers/web/json")
    assert (body["job"], body["path"]) == ("container.inspect", {"id": "web"})


# ---- request bodies ----

def test_json_bodies(daemon):
    status, _, body = daemon.json("POST", "/test/echo", body=b'{"Image":"busybox","Cmd":["sh"]}',
                                  headers={"Content-Type": "application/json"})
    assert status == 200 and body["body"] == {"Image": "busybox", "Cmd": ["sh"]}
    status, _, body = daemon.json("POST", "/test/echo", body=b"")
    assert status == 200 and body["body"] is None
    status, hdrs, body = daemon.json("POST", "/v1.50/test/echo", body=b'{"Image": bad}')
    assert status == 400
    assert hdrs["Content-Type"] == "application/json"
    assert body["message"].startswith("invalid JSON in request body")


def test_chunked_json_body_is_dechunked(daemon):
    c = daemon.conn()
    c.request("POST", "/test/echo", body=iter([b'{"A":', b'"x", ', b'"B": [1, 2]}']),
              encode_chunked=True)
    r = c.getresponse()
    assert r.status == 200
    assert json.loads(r.read())["body"] == {"A": "x", "B": [1, 2]}
    c.close()


def test_oversized_bodies_are_413(daemon):
    big = b'{"a":"' + b"x" * (1 << 20) + b'"}'  # over the test daemon's 1 MiB bound
    status, hdrs, body = daemon.json("POST", "/test/echo", body=big)
    assert status == 413 and body["message"].startswith("request body too large")
    assert_std_headers(hdrs)
    c = daemon.conn()
    c.request("POST", "/test/echo", body=iter([big[i:i + 65536] for i in range(0, len(big), 65536)]),
              encode_chunked=True)
    r = c.getresponse()
    assert r.status == 413
    assert json.loads(r.read())["message"].startswith("request body too large")
    # the chunked body was drained, so the connection still serves requests
    c.request("GET", "/_ping")
    assert c.getresponse().read() == b"OK"
    c.close()


def test_streamed_bodies_are_spooled(daemon):
    payload = b"tar-ish \x00 bytes " * 50000  # ~850 KiB: spooling is not bounded by max_body
    c = daemon.conn()
    c.request("PUT", "/v1.50/test/spool", body=iter([payload[:100000], payload[100000:]]),
              encode_chunked=True)
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 200
    assert body["body_file_size"] == len(payload)
    assert body["body_file_content"].encode("latin-1") == payload
    assert body["body_file"].startswith(str(daemon.spool) + "/")
    assert not os.path.exists(body["body_file"]), "spool file removed after the job"
    c.close()
    # import (fromSrc=-) spools; a pull (fromImage) takes a JSON body
    status, _, body = daemon.json("POST", "/v1.50/images/create?fromSrc=-&repo=x%3A1", body=b"TAR")
    assert body["body_file_content"] == "TAR" and body["body"] is None
    status, _, body = daemon.json("POST", "/v1.50/images/create?fromImage=busybox&tag=latest")
    assert "body_file" not in body and body["query"]["fromImage"] == "busybox"
    status, _, body = daemon.json("PUT", "/v1.50/containers/web/archive?path=%2Ftmp", body=b"T")
    assert (body["job"], body["body_file_content"]) == ("container.archive.put", "T")


# ---- connections ----

def test_keep_alive_many_requests_on_one_connection(daemon):
    c = daemon.conn()
    c.connect()
    first = c.sock
    for method, path, expect in (("GET", "/_ping", 200), ("GET", "/v1.50/version", 200),
                                 ("GET", "/nope", 404), ("POST", "/test/echo", 200),
                                 ("POST", "/v1.50/test/fail", 409),
                                 ("GET", "/v1.50/test/stream?n=2", 200),
                                 ("GET", "/test/status?status=204", 204),
                                 ("HEAD", "/_ping", 200), ("GET", "/v1.50/containers/json", 501)):
        body = b"{bad" if path == "/test/echo" else None
        c.request(method, path, body=body)
        r = c.getresponse()
        r.read()
        assert r.status == (400 if body else expect), path
        assert_std_headers(dict(r.getheaders()))
        assert r.getheader("Connection", "").lower() != "close"
        assert c.sock is first, f"connection not kept alive after {path}"
    c.close()


def test_stream_is_chunked(daemon):
    c = daemon.conn()
    c.request("GET", "/v1.50/test/stream?n=5")
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert r.getheader("Content-Type") == "application/json"
    assert r.getheader("X-Docker-Container-Path-Stat") == "eyJuYW1lIjoieCJ9"
    assert_std_headers(dict(r.getheaders()))
    lines = r.read().decode().splitlines()
    assert [json.loads(l) for l in lines] == [{"n": i} for i in range(5)]
    c.close()


def test_wait_headers_are_flushed_before_the_body(daemon):
    """docker run: the wait response's headers must arrive while the job still blocks,
    or the CLI never sends start (docker-api.md §3.1)."""
    before = daemon.state()["released"]
    waiter = daemon.conn()
    waiter.request("POST", "/v1.50/test/wait?condition=next-exit")
    r = waiter.getresponse()  # would time out (and fail) if headers waited for the body
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert daemon.state()["released"] == before, "headers came only after the release"
    status, _, _ = daemon.request("POST", "/test/release")
    assert status == 204
    assert json.loads(r.read()) == {"StatusCode": 0}
    waiter.close()


def test_stream_writes_reach_the_client_as_they_happen(daemon):
    """events, logs -f: each write goes out at once, not when the job ends."""
    before = daemon.state()["released"]
    c = daemon.conn()
    c.request("POST", "/v1.50/test/wait?first=1")
    r = c.getresponse()
    assert json.loads(r.readline()) == {"first": True}
    assert daemon.state()["released"] == before, "the first line came only after the release"
    daemon.request("POST", "/test/release")
    assert json.loads(r.readline()) == {"StatusCode": 0}
    assert r.read() == b""
    c.close()


def test_stream_job_sees_client_gone(daemon):
    before = daemon.state()
    c = daemon.conn()
    c.request("GET", "/test/endless")
    r = c.getresponse()
    assert r.status == 200
    assert r.read1(100).startswith(b"line 0")
    c.sock.close()
    c.close()
    daemon.wait_state("endless_epipe", before["endless_epipe"] + 1)
    # a blocked stream job (wait) notices too, without writing: its fd polls POLLERR
    c = daemon.conn()
    c.request("POST", "/test/wait")
    assert c.getresponse().status == 200
    c.sock.close()
    c.close()
    daemon.wait_state("wait_client_gone", before["wait_client_gone"] + 1)


# ---- hijack ----

HIJACK = (b"POST /v1.50/test/hijack HTTP/1.1\r\nHost: api.moby.localhost\r\n"
          b"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\n"
          b"Content-Length: 0\r\n\r\n")


def check_101(head):
    lines = head.split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101 "), head
    h = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    assert h["upgrade"] == "tcp"
    assert h["connection"].lower() == "upgrade"
    assert h["content-type"] == "application/vnd.docker.raw-stream"
    assert h["api-version"] == "1.50"


def test_hijack_echo_and_half_close(daemon):
    before = daemon.state()["hijack_eof"]
    s = raw_request(daemon.sock, HIJACK)
    head, rest = read_head(s)
    check_101(head)
    s.sendall(b"hello stdin")
    got = rest
    while len(got) < len(b"hello stdin"):
        got += s.recv(4096)
    assert got == b"hello stdin"
    s.shutdown(socket.SHUT_WR)  # half-close: stdin ends, output continues
    assert read_to_eof(s) == b"EOF-MARKER\n"
    s.close()
    assert daemon.state()["hijack_eof"] == before + 1


def test_hijack_bytes_sent_with_the_request_reach_the_job(daemon):
    s = raw_request(daemon.sock, HIJACK + b"early stdin|")
    head, rest = read_head(s)
    check_101(head)
    s.sendall(b"later")
    got = rest
    while len(got) < len(b"early stdin|later"):
        got += s.recv(4096)
    assert got == b"early stdin|later"
    s.shutdown(socket.SHUT_WR)
    assert read_to_eof(s) == b"EOF-MARKER\n"
    s.close()


def test_hijack_after_json_body(daemon):
    """exec start: a JSON body with Content-Length, then stdin right behind it."""
    body = b'{"Detach":false,"Tty":false}'
    req = (b"POST /v1.50/exec/abc/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
           b"Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: "
           + str(len(body)).encode() + b"\r\n\r\n" + body + b"stdin!")
    s = raw_request(daemon.sock, req)
    head, rest = read_head(s)
    check_101(head)
    s.shutdown(socket.SHUT_WR)
    assert read_to_eof(s, rest) == b"stdin!EOF-MARKER\n"
    s.close()


def test_hijack_job_failing_first_gets_json_error(daemon):
    body = b'{"fail":true}'
    status, hdrs, out = daemon.json("POST", "/v1.50/exec/abc/start", body=body,
                                    headers={"Connection": "Upgrade", "Upgrade": "tcp",
                                             "Content-Type": "application/json"})
    assert (status, out) == (404, {"message": "No such exec instance: test"})
    assert_std_headers(hdrs)
    # without an Upgrade header the job cannot hijack and answers an error
    status, _, out = daemon.json("POST", "/v1.50/test/hijack")
    assert status == 400 and "upgrade" in out["message"]


# ---- real clients ----

def test_curl(daemon, tmp_path):
    curl = shutil.which("curl")
    if not curl:
        pytest.fail("curl not found: run scripts/install-deps.sh")
    out = subprocess.run([curl, "-sS", "-i", "--unix-socket", daemon.sock,
                          "http://localhost/v1.50/containers/json"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("HTTP/1.1 501")
    assert "\nContent-Type: application/json\n" in out  # exactly, no charset
    assert out.rstrip().endswith('{"message":"not implemented: container.list"}')
    # chunked upload from curl, de-chunked by the server
    out = subprocess.run([curl, "-sS", "--unix-socket", daemon.sock, "-H",
                          "Transfer-Encoding: chunked", "-H", "Content-Type: application/json",
                          "--data-binary", '{"Cmd":["echo","hi"]}',
                          "http://localhost/v1.50/test/echo"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["body"] == {"Cmd": ["echo", "hi"]}
    # curl asks "Expect: 100-continue" for big bodies: an oversized JSON body is refused
    # before it is sent, a spooled one gets its 100 and goes through
    big = tmp_path / "big"
    big.write_bytes(b"a" * 2000000)
    out = subprocess.run([curl, "-sS", "-v", "--unix-socket", daemon.sock, "--data-binary",
                          "@" + str(big), "http://localhost/test/echo"],
                         capture_output=True, text=True, check=True)
    assert "Expect: 100-continue" in out.stderr
    assert json.loads(out.stdout)["message"].startswith("request body too large")
    out = subprocess.run([curl, "-sS", "--unix-socket", daemon.sock, "-T", str(big),
                          "http://localhost/test/spool"], capture_output=True, check=True)
    assert json.loads(out.stdout)["body_file_size"] == 2000000
    # several URLs in one curl run share one connection
    out = subprocess.run([curl, "-sS", "-v", "--unix-socket", daemon.sock,
                          "http://localhost/_ping", "http://localhost/v1.50/_ping",
                          "http://localhost/version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("OKOK{")
    assert "Re-using existing connection" in out.stderr


def docker_cli():
    path = shutil.which("docker") or "/usr/local/bin/docker"
    if not os.access(path, os.X_OK):
        pytest.fail("docker CLI not found: run scripts/install-deps.sh")
    return path


def docker_env(daemon, tmp_path):
    env = dict(os.environ, DOCKER_HOST="unix://" + daemon.sock, DOCKER_BUILDKIT="0",
               DOCKER_CONFIG=str(tmp_path / "docker-config"))
    env.pop("DOCKER_API_VERSION", None)
    env.pop("DOCKER_CONTEXT", None)
    return env


def test_docker_cli_version_and_not_implemented(daemon, tmp_path):
    docker = docker_cli()
    env = docker_env(daemon, tmp_path)
    v = subprocess.run([docker, "version", "--format", "{{json .Server}}"], env=env,
                       capture_output=True, text=True, timeout=DEADLINE)
    assert v.returncode == 0, v.stderr
    server = json.loads(v.stdout)
    assert server["ApiVersion"] == "1.50" and server["MinAPIVersion"] == "1.24"
    _, _, ours = daemon.json("GET", "/version")
    assert server["Version"] == ours["Version"]
    v = subprocess.run([docker, "version"], env=env, capture_output=True, text=True,
                       timeout=DEADLINE)
    assert v.returncode == 0
    assert "API version:      1.50 (minimum version 1.24)" in v.stdout
    ps = subprocess.run([docker, "ps"], env=env, capture_output=True, text=True, timeout=DEADLINE)
    assert ps.returncode == 1
    assert ps.stderr.strip() == "Error response from daemon: not implemented: container.list"
    insp = subprocess.run([docker, "image", "inspect", "localhost:5000/a/b:1"], env=env,
                          capture_output=True, text=True, timeout=DEADLINE)
    assert insp.returncode == 0, insp.stderr
    assert json.loads(insp.stdout)[0]["path"] == {"name": "localhost:5000/a/b:1"}


@pytest.fixture
def exec_daemon(build_dir, tmp_path):
    """The test daemon with exec.create/start/inspect and container.wait jobs shaped like
    the real ones, for the docker CLI's exec and wait flows."""
    binary = require_binary(build_dir / "tests" / "unit" / "test-server-daemon")
    d = Daemon(binary, tmp_path, env={"TEST_DOCKER_EXEC": "1"})
    yield d
    if d.proc.poll() is None:
        assert d.stop() == 0


def test_docker_cli_exec_hijack_and_wait(exec_daemon, tmp_path):
    """docker exec -i: 101 hijack, stdin through the socket, the CLI's half-close when
    stdin ends, output in stdcopy frames until the server closes, then exec inspect."""
    docker = docker_cli()
    env = docker_env(exec_daemon, tmp_path)
    r = subprocess.run([docker, "exec", "-i", "c1", "cat"], input="hello\nworld\n", env=env,
                       capture_output=True, text=True, timeout=DEADLINE)
    assert r.stdout == "hello\nworld\nEOF-MARKER\n", r.stderr
    assert r.returncode == 3  # ExitCode from exec inspect
    # non-interactive: the CLI half-closes right after the handshake; output still flows
    r = subprocess.run([docker, "exec", "c1", "true"], env=env, capture_output=True, text=True,
                       timeout=DEADLINE, stdin=subprocess.DEVNULL)
    assert (r.stdout, r.returncode) == ("no-stdin\n", 3), r.stderr
    r = subprocess.run([docker, "wait", "c1"], env=env, capture_output=True, text=True,
                       timeout=DEADLINE)
    assert (r.stdout, r.returncode) == ("7\n", 0), r.stderr


def test_docker_py_exec_run(exec_daemon):
    """docker-py never half-closes: it reads the hijacked socket until the server closes."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url="unix://" + exec_daemon.sock, version="auto")
    try:
        c = client.containers.get("c1")
        res = c.exec_run("echo hi")
        assert res.output == b"no-stdin\n"
        assert res.exit_code == 3
    finally:
        client.close()


def test_socket_mode_stale_socket_and_second_server(daemon, build_dir, tmp_path):
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    try:
        assert st.st_gid == grp.getgrnam("berth").gr_gid
    except KeyError:
        pass  # no berth group on this machine: the socket keeps its creator's group
    binary = require_binary(build_dir / "tests" / "unit" / "test-server-daemon")
    # a second server on a live socket refuses and leaves it alone
    r = subprocess.run([binary, daemon.sock, str(tmp_path)], capture_output=True, text=True,
                       timeout=DEADLINE)
    assert r.returncode == 1 and "another daemon is listening on" in r.stderr
    assert daemon.request("GET", "/_ping")[2] == b"OK"
    # a stale socket (nobody listening) is replaced
    stale = tmp_path / "stale"
    stale.mkdir()
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale / "api.sock"))
    s.close()
    d2 = Daemon(binary, stale)
    assert d2.request("GET", "/_ping")[2] == b"OK"
    assert d2.stop() == 0
    # a path that is not a socket is refused, not removed
    (tmp_path / "file.sock").write_text("x")
    r = subprocess.run([binary, str(tmp_path / "file.sock"), str(tmp_path)], capture_output=True,
                       text=True, timeout=DEADLINE)
    assert r.returncode == 1 and "is not a socket" in r.stderr
    assert (tmp_path / "file.sock").read_text() == "x"


def test_docker_py(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url="unix://" + daemon.sock, version="auto")
    try:
        assert client.api.api_version == "1.50"
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.50"
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.list()
        assert e.value.status_code == 501
        assert "not implemented: container.list" in str(e.value)
    finally:
        client.close()


# ---- shutdown ----

def test_stop_cancels_streams_and_hijacks(daemon):
    waiter = daemon.conn()
    waiter.request("POST", "/v1.50/test/wait")
    assert waiter.getresponse().status == 200
    s = raw_request(daemon.sock, HIJACK)
    head, _ = read_head(s)
    check_101(head)
    idle = daemon.conn()
    idle.request("GET", "/_ping")
    idle.getresponse().read()
    assert daemon.stop() == 0  # returns only once every job has ended
    # the hijacked connection was shut down under the job (it read EOF, its writes failed)
    assert read_to_eof(s) == b""
    s.close()
    waiter.close()
    idle.close()
    assert not os.path.exists(daemon.sock)
