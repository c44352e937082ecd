"""Live restore: containers outlive a berthd killed with SIGKILL. A new berthd on the same
roots reconnects to every shim: the 20 running containers can still be exec'd into,
attached to, logged and stopped; one that exited while no daemon ran shows its real exit
code; and a second berthd on a data root in use refuses to start, naming that root.
Driven with the real docker CLI (DOCKER_HOST=unix://…)."""

import os
import select
import signal
import subprocess
import time

from conftest import require_binary, require_tool
from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)

RUNNING = 20
# TERM ends the loop with 7, so a clean stop after the restart is visible in the exit code
LOOP = 'trap "exit 7" TERM; while :; do echo tick; sleep 0.5 & wait $!; done'
# blocks until the test creates /tmp/go inside the container, then exits 42
WAITER = "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 42"


def docker_env(daemon):
    env = dict(os.environ)
    env["DOCKER_HOST"] = daemon.host
    for k in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(k, None)
    return env


def until(pred, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def restart(daemon, binary):
    """Start a new berthd on the fixture's roots and socket, in place of the killed one."""
    daemon.restart()


def test_containers_survive_sigkill_of_berthd(build_dir, berthd, busybox_image):
    docker_bin = require_tool("docker")
    daemon_bin = require_binary(build_dir / "berthd")
    env = docker_env(berthd)

    def docker(*args, timeout=DEADLINE):
        return subprocess.run([docker_bin] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=timeout, env=env)

    def inspect(name, fmt):
        res = docker("inspect", "--format", fmt, name)
        assert res.returncode == 0, res.stderr
        return res.stdout.strip()

    names = [f"live{i}" for i in range(RUNNING)]
    for n in names:
        res = docker("run", "-d", "--name", n, busybox_image, "sh", "-c", LOOP)
        assert res.returncode == 0, res.stderr
    res = docker("run", "-d", "--name", "waiter", busybox_image, "sh", "-c", WAITER)
    assert res.returncode == 0, res.stderr
    pids = {n: int(inspect(n, "{{.State.Pid}}")) for n in names + ["waiter"]}
    assert all(p > 0 and pid_alive(p) for p in pids.values()), pids
    until(lambda: all("tick" in docker("logs", n).stdout for n in names), "first ticks")

    # the daemon dies without any chance to clean up
    berthd.proc.send_signal(signal.SIGKILL)
    berthd.proc.wait(timeout=DEADLINE)

    # while no daemon runs: the waiter exits 42, the others keep running
    waiter_pid = pids["waiter"]
    with open(f"/proc/{waiter_pid}/root/tmp/go", "w"):
        pass
    until(lambda: not pid_alive(waiter_pid), "the waiter to exit while berthd is down")
    assert all(pid_alive(pids[n]) for n in names)

    restart(berthd, daemon_bin)

    # the exit code the container really had, not a guess such as 137 or 255
    until(lambda: inspect("waiter", "{{.State.Status}}") == "exited", "waiter marked exited")
    assert inspect("waiter", "{{.State.ExitCode}}") == "42"
    res = docker("ps", "-a", "--filter", "name=waiter", "--format", "{{.Status}}")
    assert res.returncode == 0 and res.stdout.startswith("Exited (42)"), res.stdout + res.stderr

    # all 20 are still the same running processes
    res = docker("ps", "--format", "{{.Names}}")
    assert res.returncode == 0, res.stderr
    assert sorted(res.stdout.split()) == sorted(names)
    for n in names:
        assert inspect(n, "{{.State.Status}}") == "running"
        assert int(inspect(n, "{{.State.Pid}}")) == pids[n]

    # exec into each one through the new daemon and its reconnected shim
    for n in names:
        res = docker("exec", n, "echo", f"alive-{n}")
        assert res.returncode == 0, f"{n}: {res.stderr}"
        assert res.stdout == f"alive-{n}\n"

    # logs: written before the kill and after the restart (the shim kept writing)
    before = {n: docker("logs", n).stdout.count("tick") for n in names}
    until(lambda: all(docker("logs", n).stdout.count("tick") > before[n] for n in names),
          "new log lines after the restart")

    # attach: live output arrives through the new daemon
    for n in names[:3]:
        proc = subprocess.Popen([docker_bin, "attach", "--no-stdin", "--sig-proxy=false", n],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
            assert ready, f"no output from docker attach {n}"
            assert proc.stdout.readline() == b"tick\n"
        finally:
            proc.kill()
            proc.wait()
        assert inspect(n, "{{.State.Status}}") == "running"

    # stop: SIGTERM reaches each container (exit 7 from its trap)
    res = docker("stop", "-t", "10", *names, timeout=DEADLINE * 4)
    assert res.returncode == 0, res.stderr
    for n in names:
        assert inspect(n, "{{.State.Status}}") == "exited"
        assert inspect(n, "{{.State.ExitCode}}") == "7", n
        assert not pid_alive(pids[n])


def test_second_berthd_on_same_data_root_refuses(build_dir, berthd, tmp_path):
    daemon_bin = require_binary(build_dir / "berthd")
    other_exec = tmp_path / "other-exec"
    other_exec.mkdir()
    res = subprocess.run(
        [daemon_bin, "--data-root", str(berthd.data_root), "--exec-root", str(other_exec),
         "-H", "unix://" + str(other_exec / "other.sock")],
        capture_output=True, text=True, timeout=DEADLINE)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert str(berthd.data_root) in out, out
    assert "already" in out or "in use" in out, out
    assert not (other_exec / "other.sock").exists()
    # the first daemon is untouched and still serves
    assert berthd.proc.poll() is None
    s = subprocess.run([require_binary(build_dir / "berth"), "-H", berthd.host, "version"],
                       capture_output=True, text=True, timeout=DEADLINE)
    assert s.returncode == 0, s.stderr
