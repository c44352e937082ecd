"""`docker run` (the real docker CLI 28) against berthd: attached, -d, -i, -t under a real
pty, --rm, --name, -e/--env-file, -w, -u, --entrypoint, -l, --hostname, --init; the exit
codes docker gives (the container's own, 125, 126, 127); bad input leaves nothing behind."""

import json
import os
import pty
import select
import time

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)
from docker_util import docker, dimage, nothing_left, leftovers, ok, wait_until  # noqa: F401  (fixtures)


def inspect(docker, name):
    return json.loads(ok(docker("inspect", name)))[0]


def names(docker):
    return sorted(ok(docker("ps", "-a", "--format", "{{.Names}}")).split())


def test_run_attached_output_streams_and_exit_code(docker, dimage):
    res = docker("run", "--name", "att", dimage, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert res.returncode == 3
    assert res.stdout == "out\n"
    assert res.stderr == "err\n"
    c = inspect(docker, "att")
    assert c["State"]["Status"] == "exited"
    assert c["State"]["ExitCode"] == 3
    assert c["Name"] == "/att"
    assert len(c["Id"]) == 64


def test_run_detached_prints_the_id_and_keeps_running(docker, dimage):
    res = docker("run", "-d", "--name", "bg", dimage, "sleep", "60")
    cid = ok(res).strip()
    assert len(cid) == 64 and all(ch in "0123456789abcdef" for ch in cid)
    c = inspect(docker, "bg")
    assert c["Id"] == cid
    assert c["State"]["Running"] is True and c["State"]["Pid"] > 0
    assert ok(docker("ps", "-q", "--no-trunc")).split() == [cid]
    ok(docker("stop", "-t", "0", "bg"))
    assert inspect(docker, "bg")["State"]["Status"] == "exited"


def test_run_rm_removes_the_container_attached_and_detached(docker, dimage, berthd):
    res = docker("run", "--rm", "--name", "gone", dimage, "sh", "-c", "echo bye; exit 4")
    assert res.returncode == 4
    assert res.stdout == "bye\n"
    assert names(docker) == []
    cid = ok(docker("run", "-d", "--rm", "--name", "gone2", dimage, "sh", "-c", "exit 0")).strip()
    wait_until(lambda: "gone2" not in names(docker), "the --rm container to go")
    res = docker("inspect", "gone2")
    assert res.returncode == 1
    assert "No such object: gone2" in res.stderr
    assert leftovers(berthd, cid) == {"shims": [], "mounts": [], "cgroups": []}


def test_run_interactive_stdin_is_piped_and_closed(docker, dimage):
    res = docker("run", "-i", "--rm", dimage, "sh", "-c", "tr a-z A-Z; echo done",
                 input="hello stdin\nsecond\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "HELLO STDIN\nSECOND\ndone\n"


def test_run_without_i_gives_no_stdin(docker, dimage):
    res = docker("run", "--rm", dimage, "sh", "-c", "cat; echo rc=$?", input="ignored\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "rc=0\n"


def test_run_env_envfile_workdir_user_hostname(docker, dimage, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# a comment\nFROM_FILE=1\nSPACED=a b\n")
    res = docker("run", "--rm", "-e", "A=B", "-e", "EMPTY=", "--env-file", envf, "-w", "/tmp/new/dir",
                 "-u", "1000:1000", "--hostname", "box", dimage, "sh", "-c",
                 'echo "$A|$EMPTY|$FROM_FILE|$SPACED|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOME"')
    assert res.returncode == 0, res.stderr
    # HOME comes from the image's passwd entry for uid 1000, as runc does
    assert res.stdout == "B||1|a b|/tmp/new/dir|1000:1000|box|/home/user\n"


def test_run_env_passthrough_from_the_cli(docker, dimage):
    res = docker("run", "--rm", "-e", "PASSED", "-e", "UNSET_HERE", dimage, "sh", "-c",
                 'echo "$PASSED|${UNSET_HERE-unset}"', env={"PASSED": "yes"})
    assert res.returncode == 0, res.stderr
    assert res.stdout == "yes|unset\n"


def test_run_user_by_name_resolves_from_the_image(docker, dimage):
    res = docker("run", "--rm", "-u", "user", dimage, "sh", "-c", 'echo "$(id -un) $(id -u) $HOME"')
    assert res.returncode == 0, res.stderr
    assert res.stdout == "user 1000 /home/user\n"


def test_run_entrypoint_and_labels(docker, dimage):
    res = docker("run", "--name", "ep", "-l", "team=blue", "-l", "empty", "--entrypoint", "echo",
                 dimage, "via", "entrypoint")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "via entrypoint\n"
    c = inspect(docker, "ep")
    assert c["Path"] == "echo" and c["Args"] == ["via", "entrypoint"]
    assert c["Config"]["Entrypoint"] == ["echo"]
    assert c["Config"]["Labels"] == {"team": "blue", "empty": ""}
    # --entrypoint "" clears the image's entrypoint; the command runs as given
    res = docker("run", "--rm", "--entrypoint", "", dimage, "echo", "plain")
    assert res.stdout == "plain\n"


def test_run_init_is_pid_1_and_reaps(docker, dimage):
    res = docker("run", "--rm", "--init", dimage, "sh", "-c",
                 "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo")
    assert res.returncode == 0, res.stderr
    pid, cmdline = res.stdout.splitlines()
    assert pid != "1"  # the shell is not pid 1: the init is
    assert "sh -c" not in cmdline.split(" ", 1)[0]
    res = docker("run", "--rm", dimage, "sh", "-c", "echo $$")
    assert res.stdout == "1\n"


def test_run_init_forwards_stop_signal(docker, dimage):
    ok(docker("run", "-d", "--init", "--name", "inited", dimage, "sh", "-c",
              "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done"))
    wait_until(lambda: "ready" in ok(docker("logs", "inited")), "the trap to be set")
    ok(docker("stop", "-t", "20", "inited"))
    assert inspect(docker, "inited")["State"]["ExitCode"] == 42


def _run_in_pty(argv, env, keys=b"", deadline=DEADLINE):
    """Run argv with a real pty as its terminal (40x120): send keys once it printed something,
    then collect output until it exits. Returns (exit code, output bytes)."""
    import fcntl
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    sent = not keys
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"READY" in out:
            os.write(fd, keys)
            sent = True
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_run_it_under_a_real_pty(docker, dimage):
    argv = [docker.binary, "run", "-it", "--name", "tty", dimage, "sh", "-c",
            "tty; stty size; echo READY; read line; echo got:$line; exit 9"]
    code, out = _run_in_pty(argv, docker.env, keys=b"typed\r")
    text = out.decode(errors="replace")
    assert code == 9, text
    assert "/dev/pts/0" in text
    assert "40 120" in text
    assert "got:typed" in text
    c = inspect(docker, "tty")
    assert c["Config"]["Tty"] is True and c["Config"]["OpenStdin"] is True


def test_run_it_detach_keys_leave_it_running(docker, dimage):
    argv = [docker.binary, "run", "-it", "--name", "det", dimage, "sh", "-c",
            "echo READY; while true; do sleep 1; done"]
    code, out = _run_in_pty(argv, docker.env, keys=b"\x10\x11")
    assert code == 0, out
    assert inspect(docker, "det")["State"]["Running"] is True
    ok(docker("rm", "-f", "det"))


def test_run_t_without_i_reads_no_input(docker, dimage):
    argv = [docker.binary, "run", "-t", "--rm", dimage, "sh", "-c", "test -t 1 && echo is-a-tty"]
    code, out = _run_in_pty(argv, docker.env)
    assert code == 0
    assert b"is-a-tty" in out


# --- exit codes ---------------------------------------------------------------------------


def test_exit_code_of_a_signal_killed_container(docker, dimage):
    # under --init the shell is not pid 1, so SIGKILL from inside reaches it: 128+9
    res = docker("run", "--rm", "--init", dimage, "sh", "-c", "kill -9 $$")
    assert res.returncode == 137
    ok(docker("run", "-d", "--name", "victim", dimage, "sleep", "60"))
    ok(docker("kill", "victim"))
    assert ok(docker("wait", "victim")) == "137\n"


def test_command_not_found_is_127_and_leaves_no_runtime_state(docker, dimage, berthd):
    res = docker("run", "--name", "nf", dimage, "no-such-command")
    assert res.returncode == 127, res.stderr
    assert 'exec: "no-such-command": executable file not found in $PATH' in res.stderr
    c = inspect(docker, "nf")
    # as docker does, the record stays (Created, with the error), but nothing runs or is mounted
    assert c["State"]["Status"] == "created"
    assert c["State"]["Running"] is False
    assert "executable file not found" in c["State"]["Error"]
    assert leftovers(berthd, c["Id"]) == {"shims": [], "mounts": [], "cgroups": []}
    ok(docker("rm", "nf"))
    # with --rm nothing at all is left
    res = docker("run", "--rm", "--name", "nf2", dimage, "/no/such/binary")
    assert res.returncode == 127, res.stderr
    assert "no such file or directory" in res.stderr
    assert names(docker) == []
    assert berthd_mounts_clean(berthd)


def berthd_mounts_clean(berthd):
    from docker_util import mounts_of
    return mounts_of(berthd) == []


def test_not_executable_is_126(docker, dimage):
    res = docker("run", "--rm", dimage, "/etc/passwd")
    assert res.returncode == 126, res.stderr
    assert "permission denied" in res.stderr
    res = docker("run", "--rm", dimage, "/etc")
    assert res.returncode == 126, res.stderr
    assert names(docker) == []


def test_daemon_error_is_125(docker, dimage):
    ok(docker("create", "--name", "taken", dimage))
    res = docker("run", "--name", "taken", dimage, "true")
    assert res.returncode == 125
    cid = inspect(docker, "taken")["Id"]
    assert (f'Conflict. The container name "/taken" is already in use by container "{cid}". '
            "You have to remove (or rename) that container to be able to reuse that name.") in res.stderr
    assert names(docker) == ["taken"]


# --- bad input ----------------------------------------------------------------------------


def test_unknown_image_fails_locally_without_a_pull(docker, dimage, berthd):
    res = docker("run", "--rm", "nosuchimage:1")
    assert res.returncode == 125
    assert "Unable to find image 'nosuchimage:1' locally" in res.stderr
    assert "pull access denied for" in res.stderr
    assert "nosuchimage" in res.stderr
    assert names(docker) == []
    res = docker("create", "nosuchimage")
    assert res.returncode == 1
    assert names(docker) == []
    res = docker("pull", "nosuchimage")
    assert res.returncode == 1
    assert "pull access denied" in res.stderr
    assert ok(docker("images", "-q")).split() != []  # busybox only
    assert "nosuchimage" not in ok(docker("images"))


def test_bad_flag_is_125_and_creates_nothing(docker, dimage):
    res = docker("run", "--no-such-flag", dimage, "true")
    assert res.returncode == 125
    assert "unknown flag: --no-such-flag" in res.stderr
    res = docker("run", "--memory", "lots", dimage, "true")
    assert res.returncode == 125
    assert "invalid argument" in res.stderr
    assert names(docker) == []


def test_invalid_env_is_refused_and_creates_nothing(docker, dimage, tmp_path):
    res = docker("run", "--rm", "-e", "=novalue", dimage, "true")
    assert res.returncode == 125
    assert "invalid argument" in res.stderr or "invalid environment variable" in res.stderr
    missing = tmp_path / "missing.env"
    res = docker("run", "--rm", "--env-file", missing, dimage, "true")
    assert res.returncode == 125
    assert "no such file or directory" in res.stderr
    assert names(docker) == []


def test_invalid_env_through_the_api_is_400(docker, dimage, berthd):
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(berthd.sock)

    conn = Conn("localhost")
    conn.request("POST", "/v1.50/containers/create", json.dumps({"Image": dimage, "Env": ["=x"]}),
                 {"Content-Type": "application/json"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 400, body
    assert "invalid environment variable" in body["message"]
    assert names(docker) == []


def test_conflicting_name_leaves_only_the_first(docker, dimage, berthd):
    first = ok(docker("run", "-d", "--name", "dup", dimage, "sleep", "60")).strip()
    res = docker("run", "-d", "--name", "dup", dimage, "sleep", "60")
    assert res.returncode == 125
    assert f'The container name "/dup" is already in use by container "{first}"' in res.stderr
    assert ok(docker("ps", "-aq", "--no-trunc")).split() == [first]
    res = docker("rename", "dup", "dup")
    assert res.returncode == 1
    ok(docker("rm", "-f", "dup"))
    assert mounts_clean_after(berthd, first)


def mounts_clean_after(berthd, cid):
    return leftovers(berthd, cid) == {"shims": [], "mounts": [], "cgroups": []}


def test_invalid_name_is_refused(docker, dimage):
    res = docker("create", "--name", "bad/name", dimage)
    assert res.returncode == 1
    assert "Invalid container name (bad/name)" in res.stderr
    assert names(docker) == []
