"""The real docker CLI (/usr/local/bin/docker) pushes to and pulls from berth-registry through
berthd, on 127.0.0.1 only: anonymously, and with htpasswd Basic auth after `docker login`."""

import re
import subprocess

import pytest

from conftest import require_tool
from daemon_util import berthd  # noqa: F401  (fixtures)
from docker_util import docker, nothing_left  # noqa: F401  (fixtures)
from registry_server_util import MT_DOCKER_MANIFEST, MT_MANIFEST, Registry, sha256

ALICE = ("alice", "alice-secret")
ACCESS = [{"repository": "alice/*", "users": {"alice": "*"}}]


def ok(res):
    assert res.returncode == 0, f"rc={res.returncode}\nstdout={res.stdout}\nstderr={res.stderr}"
    return res.stdout


@pytest.fixture
def open_reg(berth_binary, tmp_path):
    r = Registry(berth_binary("berth-registry"), tmp_path / "open")
    yield r
    r.stop()


@pytest.fixture
def auth_reg(berth_binary, tmp_path):
    tool = require_tool("htpasswd")
    f = tmp_path / "htpasswd"
    subprocess.run([tool, "-Bbc", str(f), *ALICE], check=True, capture_output=True, timeout=60)
    cfg = {"auth": {"htpasswd": str(f), "realm": "berth-test"}, "access": ACCESS}
    r = Registry(berth_binary("berth-registry"), tmp_path / "auth", config=cfg)
    yield r
    r.stop()


def stored_digest(reg, repo, tag, auth=None):
    r = reg.request("GET", f"/v2/{repo}/manifests/{tag}", auth=auth,
                    headers={"Accept": f"{MT_MANIFEST}, {MT_DOCKER_MANIFEST}"})
    assert r.status == 200, (r.status, r.body)
    assert r.header("Docker-Content-Digest") == sha256(r.body)
    return sha256(r.body)


def push_pull_run(docker, reg, target, repo, auth=None):
    out = ok(docker("push", target))
    m = re.search(r"1: digest: (sha256:[0-9a-f]{64})", out)
    assert m, out
    assert stored_digest(reg, repo, "1", auth) == m.group(1)
    ok(docker("rmi", target, "busybox:latest"))
    out = ok(docker("pull", target))
    assert f"Digest: {m.group(1)}" in out, out
    assert ok(docker("run", "--rm", target, "echo", "from-berth-registry")).strip() == \
        "from-berth-registry"
    digests = ok(docker("image", "inspect", "--format", "{{json .RepoDigests}}", target))
    assert f"{reg.addr}/{repo}@{m.group(1)}" in digests, digests


def test_docker_cli_push_pull_anonymous(docker, busybox_docker_archive, open_reg):
    ok(docker("load", "-i", str(busybox_docker_archive)))
    target = f"{open_reg.addr}/dk/busybox:1"
    ok(docker("tag", "busybox:latest", target))
    push_pull_run(docker, open_reg, target, "dk/busybox")


def test_docker_cli_login_push_pull_with_htpasswd(docker, busybox_docker_archive, auth_reg):
    ok(docker("load", "-i", str(busybox_docker_archive)))
    target = f"{auth_reg.addr}/alice/busybox:1"
    ok(docker("tag", "busybox:latest", target))
    # nothing gets in without credentials, nor with a wrong password
    res = docker("push", target)
    assert res.returncode != 0, res.stdout
    assert auth_reg.request("GET", "/v2/alice/busybox/tags/list", auth=ALICE).status == 404
    res = docker("login", "-u", ALICE[0], "--password-stdin", auth_reg.addr, input="wrong\n")
    assert res.returncode != 0, res.stdout
    out = ok(docker("login", "-u", ALICE[0], "--password-stdin", auth_reg.addr,
                    input=ALICE[1] + "\n"))
    assert "Login Succeeded" in out
    push_pull_run(docker, auth_reg, target, "alice/busybox", auth=ALICE)
    ok(docker("logout", auth_reg.addr))
    ok(docker("rmi", target))
    res = docker("pull", target)
    assert res.returncode != 0, res.stdout
    assert "denied" in res.stderr or "unauthorized" in res.stderr.lower(), res.stderr
