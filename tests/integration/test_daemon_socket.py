"""berthd's API socket: mode 0660 and the group given with -G (by name, read from
/etc/group, or by number); an unknown group refuses to start."""

import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import require_binary
from daemon_util import DEADLINE


def start(build_dir, tmp_path, *extra):
    binary = require_binary(build_dir / "berthd")
    exec_root = Path(tempfile.mkdtemp(prefix="bx-", dir="/tmp"))
    data_root = tmp_path / "data"
    data_root.mkdir(exist_ok=True)
    return exec_root, subprocess.Popen(
        [binary, "--data-root", str(data_root), "--exec-root", str(exec_root),
         "-H", "unix://" + str(exec_root / "berth.sock"), "--bridge", "none", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def socket_gid_with(build_dir, tmp_path, group):
    exec_root, proc = start(build_dir, tmp_path, "-G", group)
    sock = exec_root / "berth.sock"
    try:
        end = time.monotonic() + DEADLINE
        while not listening(sock):  # it listens only once mode and group are set
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < end, "berthd did not listen on its socket"
            time.sleep(0.05)
        st = os.stat(sock)
        assert stat.S_IMODE(st.st_mode) == 0o660
        return st.st_gid
    finally:
        proc.terminate()
        proc.wait(timeout=DEADLINE)
        shutil.rmtree(exec_root, ignore_errors=True)


def test_socket_group_by_name_and_number(build_dir, tmp_path):
    name = next(g.gr_name for g in grp.getgrall() if g.gr_gid != 0)
    assert socket_gid_with(build_dir, tmp_path, name) == grp.getgrnam(name).gr_gid
    assert socket_gid_with(build_dir, tmp_path, "4242") == 4242


def test_unknown_socket_group_refuses_to_start(build_dir, tmp_path):
    exec_root, proc = start(build_dir, tmp_path, "-G", "no-such-group-berth")
    try:
        out, _ = proc.communicate(timeout=DEADLINE)
        assert proc.returncode != 0
        assert "group no-such-group-berth not found" in out
        assert not (exec_root / "berth.sock").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(exec_root, ignore_errors=True)
