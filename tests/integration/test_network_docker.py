"""Networking through the real docker CLI 28 and docker-py 5 against berthd: published
ports fetched with curl on 127.0.0.1, -P with EXPOSE, `docker port`, user networks
(create/ls/inspect/connect/disconnect/rm/prune) with name resolution between containers,
and Docker's JSON shapes in inspect. Nothing is left behind (net_clean)."""

import json
import socket

import pytest

from daemon_util import DEADLINE, berthd, free_subnet24  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left, ok  # noqa: F401  (fixtures)
from net_util import HTTPD, curl, net_clean, netd, until  # noqa: F401

BERTHD_NETWORK = True

dockerpy = pytest.importorskip("docker")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetched(url):
    r = curl(url)
    return r.stdout if r.returncode == 0 else None


def test_docker_cli_publish_and_port(net_clean, nothing_left, netd, docker, dimage):
    port = free_port()
    cid = ok(docker("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", "--expose", "81",
                    "-P", dimage, "sh", "-c", HTTPD))
    assert until(lambda: fetched(f"http://127.0.0.1:{port}/"), "httpd").strip() == \
        "hello-" + cid[:12]
    out = ok(docker("port", "web"))
    assert f"80/tcp -> 127.0.0.1:{port}" in out
    assert "81/tcp -> 0.0.0.0:" in out
    info = json.loads(ok(docker("inspect", "web")))[0]["NetworkSettings"]
    assert info["Networks"]["bridge"]["Gateway"] == netd.subnet_prefix + ".1"
    assert info["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert ok(docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web")).startswith(
        netd.subnet_prefix + ".")


def test_docker_cli_user_network(net_clean, nothing_left, netd, docker, dimage):
    a = free_subnet24()
    ok(docker("network", "create", "--subnet", a + ".0/24", "--gateway", a + ".254",
              "--label", "k=v", "app"))
    ls = ok(docker("network", "ls", "--format", "{{.Name}} {{.Driver}}"))
    assert "app bridge" in ls and "bridge bridge" in ls and "host host" in ls
    net = json.loads(ok(docker("network", "inspect", "app")))[0]
    assert net["IPAM"]["Config"] == [{"Subnet": a + ".0/24", "Gateway": a + ".254"}]
    assert net["Labels"] == {"k": "v"}
    ok(docker("run", "-d", "--name", "db", "--network", "app", "--network-alias", "database",
              dimage, "sh", "-c", HTTPD))
    out = ok(docker("run", "--rm", "--network", "app", dimage, "sh", "-c",
                    "for i in $(seq 50); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
                    "nc -w 2 database 80 && exit 0; sleep 0.2; done; exit 1"))
    assert "hello-" in out
    ok(docker("run", "-d", "--name", "late", dimage, "sleep", "60"))
    ok(docker("network", "connect", "--alias", "late-alias", "app", "late"))
    out = ok(docker("exec", "db", "nslookup", "late-alias"))
    assert f"Address: {a}." in out
    ok(docker("network", "disconnect", "app", "late"))
    r = docker("network", "rm", "app")
    assert r.returncode != 0 and "active endpoints" in r.stderr
    ok(docker("rm", "-f", "db", "late"))
    out = ok(docker("network", "prune", "-f"))
    assert "app" in out
    assert "app" not in ok(docker("network", "ls"))


def test_dockerpy_ports_and_networks(net_clean, nothing_left, netd, busybox_docker_archive):
    client = dockerpy.DockerClient(base_url=netd.host, timeout=DEADLINE)
    try:
        with open(busybox_docker_archive, "rb") as f:
            client.images.load(f.read())
        a = free_subnet24()
        ipam = dockerpy.types.IPAMConfig(pool_configs=[dockerpy.types.IPAMPool(subnet=a + ".0/24")])
        net = client.networks.create("pynet", driver="bridge", ipam=ipam)
        assert net.attrs["IPAM"]["Config"][0]["Subnet"] == a + ".0/24"
        port = free_port()
        web = client.containers.run("busybox:latest", ["sh", "-c", HTTPD], detach=True,
                                    name="pyweb", ports={"80/tcp": ("127.0.0.1", port)})
        assert until(lambda: fetched(f"http://127.0.0.1:{port}/"), "httpd").startswith("hello-")
        web.reload()
        assert web.ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        net.connect(web, aliases=["pyalias"], ipv4_address=a + ".77")
        net.reload()
        assert [c.name for c in net.containers] == ["pyweb"]
        out = client.containers.run("busybox:latest", ["nslookup", "pyalias"], network="pynet",
                                    remove=True)
        assert f"Address: {a}.77".encode() in out
        with pytest.raises(dockerpy.errors.APIError) as e:
            client.networks.create("pynet2", ipam=ipam)
        assert "overlaps" in str(e.value)
        with pytest.raises(dockerpy.errors.NotFound):
            client.networks.get("nosuch")
        net.disconnect(web)
        web.remove(force=True)
        net.remove()
        assert "pynet" not in [n.name for n in client.networks.list()]
    finally:
        for c in client.containers.list(all=True):
            c.remove(force=True)
        client.networks.prune()
        client.close()
