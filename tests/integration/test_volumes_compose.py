"""Debian's docker-compose (a real client on docker-py) against berthd: a two-service
project sharing a named volume; ps, logs, exec, down keeping the volume, down -v removing it."""

import json
import os
import shutil
import subprocess

import pytest

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)
from docker_util import dimage, docker, mounts_of, nothing_left, wait_until  # noqa: F401

COMPOSE = """\
version: "3.7"
services:
  writer:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "echo from-writer > /shared/note; echo writer-ready; sleep 300"]
    volumes:
      - shared:/shared
  reader:
    image: busybox:latest
    network_mode: none
    command: ["sh", "-c", "sleep 300"]
    volumes:
      - shared:/data:ro
volumes:
  shared:
    labels:
      purpose: test
"""


@pytest.fixture
def compose(docker, tmp_path):
    binary = shutil.which("docker-compose")
    if not binary:
        pytest.skip("docker-compose is not installed")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "docker-compose.yml").write_text(COMPOSE)

    def run(*args, timeout=120):
        env = dict(docker.env)
        env["COMPOSE_INTERACTIVE_NO_CLI"] = "1"
        return subprocess.run([binary, "-p", "vproj", *args], cwd=tmp_path / "proj", env=env,
                              capture_output=True, text=True, timeout=timeout)

    yield run
    run("down", "-v", "--timeout", "1")


def ok(res):
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def test_compose_two_services_with_a_named_volume(compose, docker, dimage, berthd):
    ok(compose("up", "-d"))
    vol = json.loads(ok(docker("volume", "inspect", "vproj_shared")))[0]
    assert vol["Labels"]["purpose"] == "test"
    assert vol["Labels"]["com.docker.compose.project"] == "vproj"
    wait_until(lambda: "writer-ready" in compose("logs", "writer").stdout, "writer log")
    out = ok(compose("ps"))
    assert "vproj_writer_1" in out and "vproj_reader_1" in out and out.count("Up") == 2
    out = ok(compose("exec", "-T", "reader", "cat", "/data/note"))
    assert out == "from-writer\n"
    res = compose("exec", "-T", "reader", "touch", "/data/x")
    assert res.returncode != 0
    ok(compose("down", "--timeout", "1"))
    assert ok(docker("ps", "-aq")) == ""
    assert ok(docker("volume", "ls", "-q")) == "vproj_shared\n"
    ok(compose("up", "-d"))
    out = ok(compose("exec", "-T", "reader", "cat", "/data/note"))
    assert out == "from-writer\n"
    ok(compose("down", "-v", "--timeout", "1"))
    assert ok(docker("volume", "ls", "-q")) == ""
    assert mounts_of(berthd) == []
