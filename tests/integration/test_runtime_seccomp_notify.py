# SCMP_ACT_NOTIFY: the runtime hands the seccomp listener fd, with the container state, to
# the process listening on linux.seccomp.listenerPath (the runtime spec's protocol), and
# that listener decides the outcome of the trapped syscall.
import array
import errno
import fcntl
import json
import os
import select
import socket
import struct
import threading

from runtime_util import rt, unique_id  # noqa: F401

# linux/seccomp.h: struct seccomp_notif is 80 bytes, seccomp_notif_resp 24.
NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)
NR_MKDIR = 83  # x86_64
NR_MKDIRAT = 258


def serve_one(listener, got, answered):
    """Accept the runtime's message, then answer one trapped mkdir with EPERM."""
    conn, _ = listener.accept()
    with conn:
        fds = array.array("i")
        msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_LEN(fds.itemsize))
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(data[: fds.itemsize])
        got["msg"] = json.loads(msg)
        got["fd"] = fds[0]
    fd = got["fd"]
    r, _, _ = select.select([fd], [], [], 20)
    assert r, "no notification arrived"
    notif = bytearray(80)
    fcntl.ioctl(fd, NOTIF_RECV, notif)
    nid, pid, flags, nr = struct.unpack_from("<QIIi", notif)
    got["nr"] = nr
    resp = struct.pack("<QqiI", nid, 0, -errno.EPERM, 0)
    fcntl.ioctl(fd, NOTIF_SEND, bytearray(resp))
    answered.set()


def test_notify_listener_gets_fd_and_decides(rt, make_bundle, tmp_path):
    sock_path = str(tmp_path / "listener.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)

    def mutate(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock_path,
            "listenerMetadata": "berth-test",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
        }

    bundle = make_bundle(args=["sh", "-c", "mkdir /tmp/x; echo rc=$?"], mutate=mutate)
    got, answered = {}, threading.Event()
    server = threading.Thread(target=serve_one, args=(listener, got, answered), daemon=True)
    server.start()
    cid = unique_id("ntf")
    res = rt.run(cid, bundle, timeout=60)
    server.join(timeout=30)
    listener.close()
    if "fd" in got:
        os.close(got["fd"])
    assert answered.is_set(), res
    assert got["msg"]["fds"] == ["seccompFd"]
    assert got["msg"]["metadata"] == "berth-test"
    assert got["msg"]["state"]["id"] == cid and got["msg"]["pid"] > 0
    assert got["nr"] in (NR_MKDIR, NR_MKDIRAT)
    # the listener's verdict (EPERM) is what the container's mkdir saw
    assert "Operation not permitted" in res.stderr + res.stdout, res
    assert "rc=1" in res.stdout, res


def test_notify_without_listener_path_is_refused(rt, make_bundle):
    def mutate(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}],
        }

    res = rt.run(unique_id("ntf"), make_bundle(args=["true"], mutate=mutate))
    assert res.returncode != 0
    assert "listenerPath" in res.stderr, res
