# Terminals: with process.terminal the runtime makes a pty inside the container and sends its
# master over --console-socket (one SCM_RIGHTS message, as containerd and conmon receive it);
# the container's stdio is the pty slave, and the test talks to it through the master.
import os
import re
import select
import socket
import threading

import pytest

from runtime_util import rt, unique_id, unix_listener  # noqa: F401


class MasterReceiver(threading.Thread):
    """Accepts one connection on a listening unix socket and receives one fd."""

    def __init__(self, listener):
        super().__init__(daemon=True)
        self.listener = listener
        self.fds, self.data, self.error = [], b"", None

    def run(self):
        try:
            self.listener.settimeout(30)
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(30)
                self.data, self.fds, _, _ = socket.recv_fds(conn, 4096, 4)
        except Exception as e:  # reported by the test
            self.error = e


def read_until(fd, pattern, timeout=20):
    """Read from the pty master until `pattern` (regex) matches what was read."""
    buf = b""
    while not re.search(pattern, buf.decode(errors="replace")):
        r, _, _ = select.select([fd], [], [], timeout)
        assert r, f"no output matching {pattern!r}; got {buf!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the slave side is closed
            break
        if not chunk:
            break
        buf += chunk
    text = buf.decode(errors="replace")
    assert re.search(pattern, text), f"{pattern!r} not in {text!r}"
    return text


def receive_master(listener):
    rx = MasterReceiver(listener)
    rx.start()
    return rx


def got_one_master(rx):
    rx.join(30)
    assert not rx.is_alive(), "runtime never sent the pty master"
    assert rx.error is None, rx.error
    assert len(rx.fds) == 1, rx.fds
    assert len(rx.data) >= 1
    fd = rx.fds[0]
    assert os.isatty(fd)
    return fd


SCRIPT = "tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; read line; echo got:$line"


def test_console_socket_create_start(rt, make_bundle, tmp_path):
    sock = tmp_path / "console.sock"
    cid = unique_id("tty")
    b = make_bundle(args=["sh", "-c", SCRIPT], terminal=True)
    with unix_listener(sock) as listener:
        rx = receive_master(listener)
        r = rt.create(cid, b, "--console-socket", sock)
        assert r.returncode == 0, r
        fd = got_one_master(rx)
    try:
        assert rt.status(cid) == "created"
        rt.ok("start", cid)
        text = read_until(fd, r"is-a-tty")
        assert re.search(r"^/dev/(pts/\d+|console)\r?$", text, re.M), text
        os.write(fd, b"hello-from-test\n")
        read_until(fd, r"got:hello-from-test")
        rt.wait_status(cid, "stopped")
    finally:
        os.close(fd)


def test_terminal_requires_console_socket(rt, make_bundle):
    # create detaches: without a socket there is nobody to hand the master to
    cid = unique_id("nosock")
    r = rt.create(cid, make_bundle(args=["true"], terminal=True))
    assert r.returncode != 0, r
    assert r.stderr.strip()
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_exec_tty_console_socket(rt, make_bundle, tmp_path):
    cid = unique_id("exectty")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    rt.wait_status(cid, "running")
    sock = tmp_path / "exec-console.sock"
    with unix_listener(sock) as listener:
        rx = receive_master(listener)
        r = rt("exec", "--tty", "--detach", "--console-socket", sock, cid,
               "sh", "-c", "[ -t 0 ] && echo exec-tty; read x; echo exec-got:$x", stdio_files=True)
        assert r.returncode == 0, r
        fd = got_one_master(rx)
    try:
        read_until(fd, r"exec-tty")
        os.write(fd, b"ping\n")
        read_until(fd, r"exec-got:ping")
    finally:
        os.close(fd)
