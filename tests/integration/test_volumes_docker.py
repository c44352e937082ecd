"""Volumes and mounts through real clients against berthd: the docker CLI 28 (volume
create/ls/inspect/rm/prune, run -v/--mount/--tmpfs/--read-only, inspect's Mounts) and
docker-py (volumes collection, containers.run with volumes= and mounts=)."""

import json
import os
import subprocess
import time

import docker as dockerpy
import pytest
from docker.types import Mount

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)
from docker_util import dimage, docker, mounts_of, nothing_left, ok  # noqa: F401  (fixtures)


def test_docker_cli_named_volume_survives_removal(docker, dimage, berthd):
    ok(docker("volume", "create", "--label", "k=v", "dv"))
    ok(docker("run", "--name", "wr", "-v", "dv:/data", dimage, "sh", "-c", "echo 42 > /data/n"))
    mounts = json.loads(ok(docker("inspect", "-f", "{{json .Mounts}}", "wr")))
    assert mounts[0]["Type"] == "volume" and mounts[0]["Name"] == "dv"
    binds = json.loads(ok(docker("inspect", "-f", "{{json .HostConfig.Binds}}", "wr")))
    assert binds == ["dv:/data"]
    ok(docker("rm", "-v", "wr"))
    assert ok(docker("run", "--rm", "-v", "dv:/d", dimage, "cat", "/d/n")) == "42\n"
    assert ok(docker("volume", "ls", "-q", "--filter", "label=k=v")) == "dv\n"
    vol = json.loads(ok(docker("volume", "inspect", "dv")))[0]
    assert vol["Labels"] == {"k": "v"} and vol["Driver"] == "local"
    res = docker("volume", "rm", "nosuch")
    assert res.returncode == 1 and "no such volume" in res.stderr
    ok(docker("create", "--name", "holder", "-v", "dv:/d", dimage, "true"))
    res = docker("volume", "rm", "dv")
    assert res.returncode == 1 and "volume is in use" in res.stderr
    ok(docker("rm", "holder"))
    assert ok(docker("volume", "rm", "dv")) == "dv\n"
    assert ok(docker("volume", "ls", "-q")) == ""
    assert mounts_of(berthd) == []


def test_docker_cli_read_only_bind_and_mount_errors(docker, dimage, tmp_path):
    host = tmp_path / "h"
    host.mkdir()
    res = docker("run", "--rm", "-v", f"{host}:/h:ro", dimage, "touch", "/h/x")
    assert res.returncode == 1 and "Read-only file system" in res.stderr
    assert not (host / "x").exists()
    res = docker("run", "--rm", "--mount", f"type=bind,src={tmp_path}/none,dst=/n", dimage, "true")
    assert res.returncode == 125 and "bind source path does not exist" in res.stderr
    assert not (tmp_path / "none").exists()
    res = docker("run", "--rm", "--read-only", "--tmpfs", "/w", dimage, "sh", "-c",
                 "touch /w/ok && touch /nope")
    assert res.returncode == 1 and "Read-only file system" in res.stderr
    out = ok(docker("run", "--rm", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", dimage,
                    "grep", " /t ", "/proc/mounts"))
    assert "size=1024k" in out


def test_docker_cli_volume_prune(docker, dimage):
    ok(docker("volume", "create", "named"))
    ok(docker("create", "--name", "anonuser", "-v", "/anon", dimage, "true"))
    anon = json.loads(ok(docker("inspect", "-f", "{{json .Mounts}}", "anonuser")))[0]["Name"]
    ok(docker("rm", "anonuser"))
    out = ok(docker("volume", "prune", "-f"))
    assert anon in out and "named" not in out
    out = ok(docker("volume", "prune", "-af"))
    assert "named" in out
    assert ok(docker("volume", "ls", "-q")) == ""


@pytest.fixture
def client(nothing_left, berthd):
    c = dockerpy.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    yield c
    for ctr in c.containers.list(all=True):
        ctr.remove(force=True, v=True)
    for v in c.volumes.list():
        v.remove(force=True)
    c.close()
    assert mounts_of(berthd) == []


@pytest.fixture
def pyimage(client, busybox_docker_archive):
    with open(busybox_docker_archive, "rb") as f:
        client.images.load(f.read())
    return "busybox:latest"


def test_dockerpy_volumes(client, pyimage, tmp_path):
    v = client.volumes.create("pyvol", labels={"a": "b"})
    assert v.name == "pyvol" and v.attrs["Labels"] == {"a": "b"}
    out = client.containers.run(pyimage, ["sh", "-c", "echo py > /v/f; cat /v/f"],
                                volumes={"pyvol": {"bind": "/v", "mode": "rw"}}, remove=True)
    assert out == b"py\n"
    out = client.containers.run(pyimage, ["cat", "/v/f"],
                                mounts=[Mount("/v", "pyvol", type="volume", read_only=True)],
                                remove=True)
    assert out == b"py\n"
    host = tmp_path / "b"
    host.mkdir()
    with pytest.raises(dockerpy.errors.ContainerError):
        client.containers.run(pyimage, ["touch", "/b/x"],
                              volumes={str(host): {"bind": "/b", "mode": "ro"}}, remove=True)
    assert not (host / "x").exists()
    assert [x.name for x in client.volumes.list(filters={"label": "a=b"})] == ["pyvol"]
    with pytest.raises(dockerpy.errors.NotFound):
        client.volumes.get("nosuch")
    c = client.containers.create(pyimage, "true", volumes={"pyvol": {"bind": "/v"}})
    with pytest.raises(dockerpy.errors.APIError) as e:
        client.volumes.get("pyvol").remove()
    assert e.value.status_code == 409
    c.remove()
    client.volumes.get("pyvol").remove()
    assert client.volumes.list() == []
    r = client.volumes.prune()
    assert r["VolumesDeleted"] in (None, [])


def test_docker_cli_system_df_counts_volumes_and_system_prune_works(docker, dimage, berthd):
    """system df: volumes with their size (a hard link counted once) and the containers that
    use them (LINKS); system prune -f runs to the end (it calls POST /build/prune last)."""
    ok(docker("run", "-d", "--name", "user", "-v", "dfv:/d", dimage, "sh", "-c",
              "head -c 300000 /dev/zero > /d/a && ln /d/a /d/b && echo done > /d/ready && "
              "sleep 300"))
    ok(docker("volume", "create", "idle"))
    mp = json.loads(ok(docker("volume", "inspect", "dfv")))[0]["Mountpoint"]
    end = time.monotonic() + DEADLINE
    while not os.path.exists(os.path.join(mp, "ready")):
        assert time.monotonic() < end, "the container did not write its volume"
        time.sleep(0.05)
    # the API's answer, as the CLI gets it
    res = subprocess.run(["curl", "-s", "--unix-socket", berthd.sock, "http://x/system/df"],
                         capture_output=True, text=True, timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    vols = {v["Name"]: v["UsageData"] for v in json.loads(res.stdout)["Volumes"]}
    assert vols["dfv"] == {"Size": 300000 + len("done\n"), "RefCount": 1}
    assert vols["idle"] == {"Size": 0, "RefCount": 0}
    out = ok(docker("system", "df", "-v"))
    lines = out[out.index("VOLUME NAME"):].splitlines()
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:] if ln.strip()}
    assert rows["dfv"][0] == "1" and rows["idle"] == ["0", "0B"]
    summary = ok(docker("system", "df"))
    vol_line = [ln for ln in summary.splitlines() if ln.startswith("Local Volumes")][0]
    assert vol_line.split()[2:4] == ["2", "1"]
    # system prune: stopped containers go, the running one and volumes stay; no error
    ok(docker("create", "--name", "stopped", dimage, "true"))
    res = docker("system", "prune", "-f")
    assert res.returncode == 0, res.stderr
    assert "Total reclaimed space" in res.stdout
    names = ok(docker("ps", "-a", "--format", "{{.Names}}")).split()
    assert names == ["user"]
    ok(docker("rm", "-f", "user"))
    ok(docker("volume", "rm", "dfv", "idle"))
