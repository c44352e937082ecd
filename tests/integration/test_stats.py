"""top, stats, container prune, system df and system prune through berth, the docker CLI
and docker-py: the figures come from the container's own cgroup (its memory limit, its pids),
the JSON has Docker's shape, prune removes only stopped containers."""

import json
import os

import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left, ok, wait_until  # noqa: F401


def run_d(berth, *args):
    res = berth("run", "-d", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def api(berthd, path, method="GET"):
    dockerpy = pytest.importorskip("docker")
    client = dockerpy.APIClient(base_url=berthd.host, timeout=DEADLINE)
    try:
        return client._result(client._get(client._url(path)), json=True) if method == "GET" \
            else client._result(client._post(client._url(path)), json=True)
    finally:
        client.close()


def test_stats_json_shape_and_figures(berth, berthd, busybox_image):
    cid = run_d(berth, "--name", "s1", "-m", "48m", "--pids-limit", "33", busybox_image, "sh",
                "-c", "sleep 300 & sleep 300 & wait")
    wait_until(lambda: "sleep" in berth("top", "s1").stdout, "the sleepers")
    s = api(berthd, f"/containers/{cid}/stats?stream=false")
    assert s["id"] == cid and s["name"] == "/s1"
    assert s["memory_stats"]["limit"] == 48 << 20
    assert s["memory_stats"]["usage"] > 0
    assert s["pids_stats"] == {"current": 3, "limit": 33}
    cpu = s["cpu_stats"]
    assert cpu["online_cpus"] == os.cpu_count()
    assert cpu["system_cpu_usage"] > 0 and cpu["cpu_usage"]["total_usage"] > 0
    # a second sample a second later: precpu_stats is the first
    assert s["precpu_stats"]["system_cpu_usage"] > 0
    assert s["precpu_stats"]["system_cpu_usage"] <= cpu["system_cpu_usage"]
    assert s["preread"] != "0001-01-01T00:00:00Z"
    assert isinstance(s["networks"], dict)
    assert {"io_service_bytes_recursive"} <= set(s["blkio_stats"])
    one = api(berthd, f"/containers/{cid}/stats?stream=false&one-shot=true")
    assert one["preread"] == "0001-01-01T00:00:00Z"
    # a stopped container: zeros
    berth("run", "--name", "s2", busybox_image, "true")
    z = api(berthd, "/containers/s2/stats?stream=false")
    assert z["read"] == "0001-01-01T00:00:00Z" and z["name"] == "/s2"


def test_stats_stream_docker_py(nothing_left, berthd, berth, busybox_image):
    dockerpy = pytest.importorskip("docker")
    run_d(berth, "--name", "s3", "-m", "40m", busybox_image, "sleep", "300")
    client = dockerpy.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    try:
        c = client.containers.get("s3")
        stream = c.stats(stream=True, decode=True)
        first, second = next(stream), next(stream)
        stream.close()
        assert first["memory_stats"]["limit"] == 40 << 20
        assert second["precpu_stats"]["cpu_usage"]["total_usage"] == \
            first["cpu_stats"]["cpu_usage"]["total_usage"]
        assert second["read"] > first["read"]
    finally:
        client.close()


def test_berth_stats_table(berth, busybox_image):
    run_d(berth, "--name", "t1", "-m", "64m", busybox_image, "sh", "-c",
          "sleep 300 & sleep 300 & wait")
    berth("run", "--name", "t2", busybox_image, "true")
    wait_until(lambda: len(berth("top", "t1").stdout.splitlines()) == 4, "the sleepers")
    res = berth("stats", "--no-stream")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/",
                                "LIMIT", "MEM", "%", "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    assert len(lines) == 2  # t2 is not running
    cols = lines[1].split()
    assert cols[1] == "t1"
    assert cols[5] == "64MiB"  # MEM USAGE / LIMIT: usage / 64MiB
    assert cols[-1] == "3"
    res = berth("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.PIDs}} {{.MemPerc}}")
    assert sorted(res.stdout.splitlines())[1] == "t2 0 0.00%"


def test_top_with_ps_options(berth, busybox_image):
    run_d(berth, "--name", "tp", busybox_image, "sh", "-c", "sleep 301 & sleep 302 & wait")
    wait_until(lambda: "sleep 302" in berth("top", "tp").stdout, "the sleepers")
    res = berth("top", "tp", "-o", "pid,args")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    args = sorted(" ".join(line.split()[1:]) for line in lines[1:])
    assert args == ["sh -c sleep 301 & sleep 302 & wait", "sleep 301", "sleep 302"]
    # only the container's processes: every pid is in its cgroup
    res = berth("top", "nope")
    assert res.returncode == 1


def test_container_prune_and_system_df(berth, busybox_image):
    run_d(berth, "--name", "keep", busybox_image, "sleep", "300")
    berth("run", "--name", "gone1", busybox_image, "true")
    berth("create", "--name", "gone2", "--label", "x=1", busybox_image, "true")
    df = berth("system", "df")
    assert df.returncode == 0, df.stderr
    rows = {line.split()[0]: line.split() for line in df.stdout.splitlines()[1:]}
    assert rows["Images"][1:3] == ["1", "1"]
    assert rows["Containers"][1:3] == ["3", "1"]
    # a label filter keeps the unlabelled one
    res = berth("container", "prune", "-f", "--filter", "label=x=1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Deleted Containers:\n")
    names = berth("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == ["gone1", "keep"]
    res = berth("container", "prune", "-f")
    assert berth("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["keep"]
    assert res.stdout.endswith("Total reclaimed space: 0B\n")
    # system prune -a -f: the running container and its image stay
    res = berth("system", "prune", "-a", "-f")
    assert res.returncode == 0, res.stderr
    assert berth("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["keep"]
    assert "busybox" in berth("images").stdout


def test_docker_cli_stats_top_prune_df(docker, dimage):
    ok(docker("run", "-d", "--name", "ds", "-m", "32m", dimage, "sleep", "300"))
    ok(docker("run", "--name", "dgone", dimage, "true"))
    out = ok(docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}"))
    name, usage, slash, limit, pids = out.split()
    assert (name, slash, limit, pids) == ("ds", "/", "32MiB", "1")
    top = ok(docker("top", "ds"))
    assert "sleep 300" in top
    df = ok(docker("system", "df"))
    assert df.splitlines()[0].split()[:3] == ["TYPE", "TOTAL", "ACTIVE"]
    out = ok(docker("container", "prune", "-f"))
    assert "Total reclaimed space" in out
    assert ok(docker("ps", "-a", "--format", "{{.Names}}")).split() == ["ds"]
    # (docker system prune also needs networks/prune and build/prune: not berth's yet)
