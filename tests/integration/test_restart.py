"""Restart policies: on-failure:N restarts exactly N times, always keeps a container
running (also across a berthd restart), a user's stop is final, unless-stopped stays stopped
after a daemon restart, and RestartCount, restart events and the docker CLI agree."""

import json
import os
import signal
import time

import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401
from docker_util import dimage, docker, nothing_left, ok, wait_until  # noqa: F401


def inspect(berth, name):
    res = berth("inspect", name)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)[0]


def test_on_failure_restarts_exactly_n_times(berth, busybox_image):
    res = berth("run", "-d", "--name", "of3", "--restart", "on-failure:3", busybox_image, "sh",
                "-c", "exit 3")
    assert res.returncode == 0, res.stderr

    def settled():
        d = inspect(berth, "of3")
        return d if d["State"]["Status"] == "exited" and d["RestartCount"] == 3 else None

    d = wait_until(settled, "on-failure:3 to give up")
    assert d["State"]["ExitCode"] == 3
    assert d["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    events = berth("events", "--since", "0", "--until", str(int(time.time()) + 2), "--filter",
                   "container=of3", "--format", "{{.Action}}").stdout.split()
    # one first start and three restarts, each ending in a die
    assert events.count("start") == 4, events
    assert events.count("die") == 4, events
    assert events.count("restart") == 3, events
    # it stays exited: still 3 a moment later (the fourth exit ended the policy)
    assert inspect(berth, "of3")["RestartCount"] == 3


def test_on_failure_does_not_restart_a_success(berth, busybox_image):
    berth("run", "-d", "--name", "ok0", "--restart", "on-failure", busybox_image, "true")
    wait_until(lambda: inspect(berth, "ok0")["State"]["Status"] == "exited", "exit")
    assert berth("wait", "ok0").stdout.strip() == "0"
    assert inspect(berth, "ok0")["RestartCount"] == 0


def test_always_restarts_and_stop_is_final(berth, busybox_image):
    berth("run", "-d", "--name", "al", "--restart", "always", busybox_image, "sh", "-c",
          "sleep 0.2; exit 0")
    wait_until(lambda: inspect(berth, "al")["RestartCount"] >= 2, "two restarts")
    res = berth("stop", "-t", "1", "al")
    assert res.returncode == 0, res.stderr
    d = inspect(berth, "al")
    assert d["State"]["Status"] == "exited"
    count = d["RestartCount"]
    # stays stopped: the stop cancelled any pending restart
    ps = berth("ps", "-a", "--filter", "name=al", "--format", "{{.Status}}").stdout
    assert ps.startswith("Exited"), ps
    assert inspect(berth, "al")["RestartCount"] == count
    # a user start resets the count
    assert berth("start", "al").returncode == 0
    assert inspect(berth, "al")["RestartCount"] == 0
    berth("rm", "-f", "al")


def _pid_gone(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True


def test_policies_across_a_daemon_restart(berth, berthd, busybox_image):
    berth("run", "-d", "--name", "al", "--restart", "always", busybox_image, "sleep", "300")
    berth("run", "-d", "--name", "us", "--restart", "unless-stopped", busybox_image, "sleep",
          "300")
    berth("run", "-d", "--name", "no", busybox_image, "sleep", "300")
    assert berth("stop", "-t", "0", "us").returncode == 0
    pid_al = inspect(berth, "al")["State"]["Pid"]
    pid_no = inspect(berth, "no")["State"]["Pid"]
    # berthd goes away; both containers die while it is away
    berthd.proc.send_signal(signal.SIGTERM)
    berthd.proc.wait(timeout=DEADLINE)
    os.kill(pid_al, signal.SIGKILL)
    os.kill(pid_no, signal.SIGKILL)
    wait_until(lambda: _pid_gone(pid_al) and _pid_gone(pid_no), "the containers to die")
    # the same roots, socket and configuration: a restart, not a new daemon
    berthd.restart()
    d = wait_until(lambda: (lambda x: x if x["State"]["Running"] else None)(inspect(berth, "al")),
                   "always to run again")
    assert d["State"]["Pid"] != pid_al
    assert inspect(berth, "us")["State"]["Status"] == "exited"
    no = inspect(berth, "no")["State"]
    assert no["Status"] == "exited" and not no["Running"]


def test_docker_cli_restart_policy(docker, dimage):
    ok(docker("run", "-d", "--name", "dof", "--restart", "on-failure:2", dimage, "sh", "-c",
              "exit 1"))
    wait_until(lambda: ok(docker("inspect", "-f", "{{.State.Status}} {{.RestartCount}}",
                                 "dof")).strip() == "exited 2", "on-failure:2 to give up")
    res = docker("run", "--rm", "--restart", "always", dimage, "true")
    assert res.returncode != 0
    res = docker("run", "-d", "--restart", "bogus", dimage, "true")
    assert res.returncode == 125
    assert docker("ps", "-aq", "--filter", "name=dof").stdout.strip()


def test_attached_run_with_a_restart_policy_ends_at_the_first_exit(berth, busybox_image,
                                                                   docker, dimage):
    """The docker CLI's run waits for the "next-exit" condition (waitExitOrRemoved): with a
    restart policy it returns the first run's exit code and output, while the daemon goes on
    restarting the container. berth run does the same."""
    res = berth("run", "--name", "att", "--restart", "on-failure:2", busybox_image, "sh", "-c",
                "echo run; exit 3")
    assert (res.returncode, res.stdout) == (3, "run\n"), res.stderr

    def settled(name, count):
        d = inspect(berth, name)
        return d if d["State"]["Status"] == "exited" and d["RestartCount"] == count else None

    d = wait_until(lambda: settled("att", 2), "the restarts to go on after the CLI returned")
    assert d["State"]["ExitCode"] == 3
    assert berth("logs", "att").stdout == "run\n" * 3
    res = docker("run", "--name", "datt", "--restart", "on-failure:2", dimage, "sh", "-c",
                 "echo run; exit 4")
    assert (res.returncode, res.stdout) == (4, "run\n"), res.stderr
    wait_until(lambda: settled("datt", 2), "the docker CLI's container to be restarted twice")
