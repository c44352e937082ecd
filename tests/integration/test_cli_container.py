"""berth container commands against a real berthd: run (attached, -d, -i, -it under a pty,
--rm), create/start/stop/kill/restart/rm, ps tables and --format, logs, exec, wait, pause,
rename, top, inspect and the exit codes docker gives."""

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import require_binary
from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)


def cid_of(res):
    assert res.returncode == 0, res.stderr
    cid = res.stdout.strip()
    assert len(cid) == 64 and all(c in "0123456789abcdef" for c in cid), res.stdout
    return cid


def state(berth, name):
    res = berth("inspect", "--format", "{{.State.Status}}", name)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def wait_for_state(berth, name, want):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if state(berth, name) == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {want}: {state(berth, name)}")


def test_run_prints_output_and_returns_exit_code(berth, busybox_image):
    res = berth("run", "--name", "hello", busybox_image, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert res.returncode == 3
    assert res.stdout == "out\n"
    assert res.stderr == "err\n"
    assert state(berth, "hello") == "exited"
    res = berth("inspect", "--format", "{{.State.ExitCode}}", "hello")
    assert res.stdout == "3\n"


def test_run_rm_removes_the_container(berth, busybox_image):
    res = berth("run", "--rm", "--name", "gone", busybox_image, "echo", "bye")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "bye\n"
    res = berth("ps", "-a", "-q", "--filter", "name=gone")
    assert res.returncode == 0 and res.stdout == ""
    res = berth("container", "inspect", "gone")
    assert res.returncode == 1
    assert res.stdout == "[]\n"
    assert res.stderr == "Error: No such container: gone\n"


def test_run_interactive_stdin(berth, busybox_image):
    res = berth("run", "-i", "--rm", busybox_image, "sh", "-c", "tr a-z A-Z; echo done",
                input="hello stdin\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "HELLO STDIN\ndone\n"


def test_run_env_workdir_user_hostname_entrypoint(berth, busybox_image, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# comment\nFROM_FILE=1\n")
    res = berth("run", "--rm", "-e", "A=B", "--env-file", envf, "-w", "/tmp", "-u", "1000:1000",
                "--hostname", "box", busybox_image,
                "sh", "-c", "echo $A $FROM_FILE $(pwd) $(id -u):$(id -g) $(hostname)")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "B 1 /tmp 1000:1000 box\n"
    res = berth("run", "--rm", "--entrypoint", "echo", busybox_image, "via", "entrypoint")
    assert res.stdout == "via entrypoint\n"


def test_run_detached_ps_logs_stop_rm(berth, busybox_image):
    cid = cid_of(berth("run", "-d", "--name", "web", "-l", "tier=front", busybox_image,
                       "sh", "-c", "echo started; exec sleep 1000"))
    res = berth("ps")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    row = [l for l in lines[1:] if l.startswith(cid[:12])]
    assert len(row) == 1 and row[0].endswith(" web")
    assert "busybox" in row[0] and " Up " in row[0]
    assert '"sh -c \'echo started…"' in row[0]  # 19 runes + … (docker/cli Ellipsis)
    res = berth("ps", "-q")
    assert res.stdout == cid[:12] + "\n"
    res = berth("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.State}} {{.Label \"tier\"}}")
    assert res.stdout == f"{cid} web running front\n"
    res = berth("ps", "--format", "json")
    row = json.loads(res.stdout.splitlines()[0])
    assert row["Names"] == "web" and row["State"] == "running" and row["Labels"] == "tier=front"
    res = berth("ps", "--format", "table {{.Names}}\t{{.State}}")
    assert res.stdout == "NAMES     STATE\nweb       running\n"
    end = time.monotonic() + DEADLINE
    while "started" not in berth("logs", "web").stdout and time.monotonic() < end:
        time.sleep(0.05)
    assert berth("logs", "web").stdout == "started\n"
    res = berth("stop", "-t", "1", "web")
    assert res.returncode == 0 and res.stdout == "web\n"
    assert state(berth, "web") == "exited"
    assert berth("ps", "-q").stdout == ""
    res = berth("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}} {{.Status}}")
    assert res.stdout.startswith("web Exited (")
    res = berth("rm", "web")
    assert res.returncode == 0 and res.stdout == "web\n"
    assert berth("ps", "-aq").stdout == ""


def test_create_start_attach_wait(berth, busybox_image):
    cid = cid_of(berth("create", "--name", "c1", busybox_image, "sh", "-c", "echo from-c1; exit 4"))
    assert state(berth, "c1") == "created"
    res = berth("ps", "-a", "--format", "{{.Status}}")
    assert res.stdout == "Created\n"
    res = berth("start", "-a", "c1")
    assert res.returncode == 4
    assert res.stdout == "from-c1\n"
    res = berth("wait", cid)
    assert res.returncode == 0 and res.stdout == "4\n"
    res = berth("start", "c1")
    assert res.returncode == 0 and res.stdout == "c1\n"
    res = berth("wait", "c1")
    assert res.stdout == "4\n"


def test_kill_restart_pause_rename_top(berth, busybox_image):
    cid_of(berth("run", "-d", "--name", "kk", busybox_image, "sleep", "1000"))
    res = berth("top", "kk")
    assert res.returncode == 0, res.stderr
    assert "PID" in res.stdout.splitlines()[0] and "sleep 1000" in res.stdout
    res = berth("pause", "kk")
    assert res.returncode == 0 and res.stdout == "kk\n"
    assert state(berth, "kk") == "paused"
    assert "(Paused)" in berth("ps", "--format", "{{.Status}}").stdout
    res = berth("unpause", "kk")
    assert res.returncode == 0
    assert state(berth, "kk") == "running"
    res = berth("rename", "kk", "k2")
    assert res.returncode == 0 and res.stdout == ""
    assert berth("ps", "--format", "{{.Names}}").stdout == "k2\n"
    pid1 = berth("inspect", "--format", "{{.State.Pid}}", "k2").stdout
    res = berth("restart", "-t", "1", "k2")
    assert res.returncode == 0 and res.stdout == "k2\n"
    assert state(berth, "k2") == "running"
    assert berth("inspect", "--format", "{{.State.Pid}}", "k2").stdout != pid1
    res = berth("kill", "-s", "KILL", "k2")
    assert res.returncode == 0 and res.stdout == "k2\n"
    wait_for_state(berth, "k2", "exited")
    assert berth("inspect", "--format", "{{.State.ExitCode}}", "k2").stdout == "137\n"
    res = berth("kill", "k2")
    assert res.returncode == 1
    assert res.stderr.startswith("Error response from daemon: ")
    assert "is not running" in res.stderr


def test_logs_follow_tail_timestamps(berth, busybox_image):
    cid_of(berth("run", "-d", "--name", "lg", busybox_image,
                  "sh", "-c", "for i in 1 2 3; do echo line$i; done; echo oops >&2; sleep 1"))
    # -f ends when the container stops
    res = berth("logs", "-f", "lg", timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "line1\nline2\nline3\n"
    assert res.stderr == "oops\n"
    res = berth("logs", "--tail", "1", "lg")
    assert res.stdout == "" and res.stderr == "oops\n"
    res = berth("logs", "-t", "--tail", "2", "lg")
    out = res.stdout.splitlines()
    assert len(out) == 1 and out[0].endswith(" line3") and out[0][4] == "-" and "T" in out[0]


def test_log_file_is_dockers_json_lines(berth, busybox_image):
    # quotes, tabs, HTML characters, UTF-8 and a byte that is not UTF-8 (Docker writes U+FFFD)
    script = r"""printf 'q"uo\\te\t<&>\n'; printf 'gr\303\274\303\237e \377 end\n' >&2; printf 'no newline'"""
    cid = cid_of(berth("run", "-d", busybox_image, "sh", "-c", script))
    assert berth("wait", cid, timeout=DEADLINE).stdout == "0\n"
    path = berth("inspect", "--format", "{{.LogPath}}", cid).stdout.strip()
    with open(path, "rb") as f:
        raw = f.read()
    assert b"\\u003c\\u0026\\u003e" in raw  # as dockerd's encoder writes them
    entries = [json.loads(line) for line in raw.splitlines()]
    assert [(e["stream"], e["log"]) for e in entries] == [
        ("stdout", 'q"uo\\te\t<&>\n'),
        ("stderr", "gr\u00fc\u00dfe \ufffd end\n"),
        ("stdout", "no newline"),
    ]
    for e in entries:
        assert len(e["time"]) == 30 and e["time"].endswith("Z") and e["time"][10] == "T", e["time"]


def test_exec(berth, busybox_image):
    cid_of(berth("run", "-d", "--name", "ex", busybox_image, "sleep", "1000"))
    res = berth("exec", "ex", "sh", "-c", "echo hi; echo there >&2; exit 7")
    assert res.returncode == 7
    assert res.stdout == "hi\n" and res.stderr == "there\n"
    res = berth("exec", "-e", "X=1", "-w", "/tmp", "-u", "1000", "ex", "sh", "-c",
                "echo $X $(pwd) $(id -u)")
    assert res.stdout == "1 /tmp 1000\n"
    res = berth("exec", "-i", "ex", "cat", input="piped\n")
    assert res.returncode == 0 and res.stdout == "piped\n"
    res = berth("exec", "-d", "ex", "sh", "-c", "echo bg > /tmp/bg")
    assert res.returncode == 0 and res.stdout == ""
    end = time.monotonic() + DEADLINE
    while berth("exec", "ex", "cat", "/tmp/bg").stdout != "bg\n" and time.monotonic() < end:
        time.sleep(0.05)
    assert berth("exec", "ex", "cat", "/tmp/bg").stdout == "bg\n"


def test_exit_codes_for_daemon_errors(berthd, berth, busybox_image):
    res = berth("run", "--rm", busybox_image, "/no/such/binary")
    assert res.returncode == 127, res
    # without --rm too, a run that could not start leaves no container behind
    res = berth("run", "--name", "never-ran", busybox_image, "/no/such/binary")
    assert res.returncode == 127, res
    assert "no such file or directory" in res.stderr
    assert berth("ps", "-aq", "--filter", "name=never-ran").stdout == ""
    # create + start keeps the container, as Docker does
    cid = cid_of(berth("create", "--name", "kept-created", busybox_image, "/no/such/binary"))
    assert berth("start", "kept-created").returncode != 0
    assert berth("ps", "-aq", "--no-trunc", "--filter", "name=kept-created").stdout.split() == [cid]
    # and no failed start left a shim or a mounted rootfs (a shim whose start failed exits
    # on its own after the error was answered: waited for, not raced)
    with open("/proc/self/mountinfo") as f:
        assert str(berthd.data_root) not in f.read()

    def daemon_processes():
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if str(berthd.exec_root).encode() in f.read() and pid != str(berthd.proc.pid):
                        found.append(pid)
            except FileNotFoundError:
                pass
        return found

    end = time.monotonic() + DEADLINE
    while daemon_processes() and time.monotonic() < end:
        time.sleep(0.1)
    assert daemon_processes() == [], "processes of this daemon still run"
    res = berth("run", "--rm", busybox_image, "/etc")
    assert res.returncode == 126, res
    res = berth("run", "nosuchimage:never")
    assert res.returncode == 125
    assert "Error response from daemon:" in res.stderr
    cid_of(berth("create", "--name", "dup", busybox_image))
    res = berth("create", "--name", "dup", busybox_image)
    assert res.returncode == 125
    assert 'The container name "/dup" is already in use' in res.stderr
    res = berth("run", "--restart", "always", "--rm", busybox_image)
    assert res.returncode == 125 and "Conflicting options" in res.stderr
    res = berth("rm", "nosuch")
    assert res.returncode == 1
    assert res.stderr == "Error response from daemon: No such container: nosuch\n"
    res = berth("rm", "-f", "nosuch")
    assert res.returncode == 0
    res = berth("start", "nosuch")
    assert res.returncode == 1
    assert res.stderr.endswith("Error: failed to start containers: nosuch\n")
    # nothing was left behind by the failed runs
    assert berth("ps", "-aq", "--filter", "name=dup").stdout.count("\n") == 1


def test_ps_newest_first_after_removals_and_a_restart(berth, berthd, busybox_image):
    names = [f"order{i}" for i in range(6)]
    for n in names:
        cid_of(berth("create", "--name", n, busybox_image, "true"))
    for gone in ("order0", "order3"):  # the oldest and one in the middle
        assert berth("rm", gone).returncode == 0
    cid_of(berth("create", "--name", "order6", busybox_image, "true"))
    want = ["order6", "order5", "order4", "order2", "order1"]

    def listed():
        res = berth("ps", "-a", "--format", "{{.Names}}")
        assert res.returncode == 0, res.stderr
        return res.stdout.split()

    assert listed() == want
    assert berth("ps", "-a", "-n", "2", "--format", "{{.Names}}").stdout.split() == want[:2]
    # the daemon reads them back from its database in another order and sorts them again
    berthd.proc.terminate()
    berthd.proc.wait(timeout=60)
    berthd.restart()
    assert listed() == want
    assert berth("ps", "-a", "-l", "--format", "{{.Names}}").stdout.split() == want[:1]


def test_inspect_default_is_an_indented_array(berth, busybox_image):
    cid = cid_of(berth("create", "--name", "ins", busybox_image))
    res = berth("inspect", "ins")
    assert res.returncode == 0
    assert res.stdout.startswith("[\n    {\n        \"Id\": ")
    data = json.loads(res.stdout)
    assert data[0]["Id"] == cid and data[0]["Name"] == "/ins"
    res = berth("container", "inspect", "--format", "{{json .Config.Cmd}}", "ins")
    assert res.stdout == '["sh"]\n'
    res = berth("inspect", "ins", "nosuch")
    assert res.returncode == 1
    assert json.loads(res.stdout)[0]["Id"] == cid
    assert "No such object: nosuch" in res.stderr


def _pty_run(binary, args, keys, deadline=DEADLINE):
    """Run berth under a 40x120 pty, type keys once it prints, collect output and exit code."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary] + args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    sent = False
    end = time.monotonic() + deadline
    status = None
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b""
            if not d:
                break
            out += d
            if not sent and b"#" in out:  # the shell prompt
                os.write(fd, keys)
                sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_run_it_under_a_pty(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    code, out = _pty_run(binary, ["-H", berthd.host, "run", "-it", "--name", "tty", busybox_image,
                                  "sh"], b"stty size; exit 5\r")
    assert code == 5, out
    assert b"40 120" in out
    res = berth("inspect", "--format", "{{.Config.Tty}} {{.State.ExitCode}}", "tty")
    assert res.stdout == "true 5\n"


def test_window_size_changes_are_forwarded(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "-H", berthd.host, "run", "-it", "--rm", busybox_image, "sh"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    end = time.monotonic() + DEADLINE
    resized = ok = False
    try:
        while time.monotonic() < end and b"50 100" not in out:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                out += os.read(fd, 4096)
            if not resized and b"#" in out:
                # the kernel sends SIGWINCH to berth, which posts /resize
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 100, 0, 0))
                resized = True
            if resized:
                os.write(fd, b"stty size\r")  # until the container sees the new size
        ok = b"50 100" in out
        if ok:
            os.write(fd, b"exit 0\r")
    finally:
        if not ok:
            os.kill(pid, 9)  # never leave the test hanging on a berth that did not resize
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert ok, out
    assert os.waitstatus_to_exitcode(status) == 0


def test_detach_keys_leave_the_container_running(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    code, out = _pty_run(binary, ["-H", berthd.host, "run", "-it", "--name", "det", busybox_image,
                                  "sh"], b"\x10\x11")
    assert code == 0, out
    assert state(berth, "det") == "running"
    res = berth("exec", "det", "echo", "still here")
    assert res.stdout == "still here\n"


def test_custom_detach_keys(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    # ctrl-p alone goes through to the shell; ctrl-x then x detaches
    code, out = _pty_run(binary, ["-H", berthd.host, "run", "-it", "--detach-keys", "ctrl-x,x",
                                  "--name", "cdk", busybox_image, "sh"], b"\x10\x18x")
    assert code == 0, out
    assert state(berth, "cdk") == "running"
    res = berth("run", "--detach-keys", "ctrl-", busybox_image, "true")
    assert res.returncode == 125 and "Invalid detach keys (ctrl-) provided" in res.stderr


def test_exec_it_under_a_pty(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    cid_of(berth("run", "-d", "--name", "ext", busybox_image, "sleep", "1000"))
    code, out = _pty_run(binary, ["-H", berthd.host, "exec", "-it", "ext", "sh"],
                         b"tty; exit 9\r")
    assert code == 9, out
    assert b"/dev/pts/" in out


def test_signals_are_forwarded_without_tty(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    p = subprocess.Popen([binary, "-H", berthd.host, "run", "--name", "sig", busybox_image,
                          "sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; "
                          "while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(15)
    out, err = p.communicate(timeout=DEADLINE)
    assert p.returncode == 42, err
    assert out == "got-term\n"


def test_tty_output_is_raw(berth, berthd, busybox_image, build_dir):
    # -t without -i: no terminal needed on our side; the pty's bytes come through unframed
    # (bytes, not text: text mode would turn the pty's \r\n into \n)
    binary = require_binary(build_dir / "berth")
    res = subprocess.run([binary, "-H", berthd.host, "run", "-t", "--name", "rawtty", busybox_image,
                          "sh", "-c", "echo out; echo err >&2"], capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"out\r\nerr\r\n"
    assert res.stderr == b""
    res = subprocess.run([binary, "-H", berthd.host, "logs", "rawtty"], capture_output=True,
                         timeout=DEADLINE)
    assert res.stdout == b"out\r\nerr\r\n"
    res = berth("run", "-it", busybox_image, "true")
    assert res.returncode == 1
    assert res.stderr == "the input device is not a TTY\n"


def test_attach_streams_until_the_container_stops(berth, berthd, busybox_image, build_dir):
    binary = require_binary(build_dir / "berth")
    cid_of(berth("run", "-d", "--name", "ticker", busybox_image,
                 "sh", "-c", "trap 'exit 7' TERM; while true; do echo tick; sleep 0.1; done"))
    p = subprocess.Popen([binary, "-H", berthd.host, "attach", "--no-stdin", "ticker"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "tick\n"  # live output reaches the attached client
        res = berth("stop", "ticker")
        assert res.returncode == 0, res.stderr
        p.stdout.read()
        assert p.wait(timeout=DEADLINE) == 7  # the exit code comes from wait
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = berth("attach", "ticker")
    assert res.returncode == 1
    assert res.stderr == "You cannot attach to a stopped container, start it first\n"


def test_start_attach_interactive(berth, busybox_image):
    cid_of(berth("create", "-i", "--name", "cat", busybox_image, "sh", "-c", "tr a-z A-Z; exit 2"))
    res = berth("start", "-a", "-i", "cat", input="shout\n")
    assert res.returncode == 2, res.stderr
    assert res.stdout == "SHOUT\n"
