"""Networking with berth's own CLI: a busybox httpd published on the host and fetched with
curl on 127.0.0.1, UDP through a published port, --network none/host, port ranges and
random ports, `berth port`, inspect's NetworkSettings, and a port in use refused. Each
test runs its own berthd with its own bridge and subnet and leaves nothing behind."""

import json
import socket
import subprocess

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)
from net_util import HTTPD, curl, net_clean, netd, until  # noqa: F401

BERTHD_NETWORK = True


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_ok(berth, *args):
    r = berth(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_published_httpd_answers_on_loopback(netd, berth, busybox_image):
    port = free_port()
    cid = run_ok(berth, "run", "-d", "--name", "web", "-p", f"{port}:80", busybox_image,
                 "sh", "-c", HTTPD)
    r = until(lambda: (lambda c: c if c.returncode == 0 else None)(
        curl(f"http://127.0.0.1:{port}/")), "httpd through the published port")
    assert r.stdout.strip() == "hello-" + cid[:12]
    info = json.loads(run_ok(berth, "inspect", "web"))[0]
    ns = info["NetworkSettings"]
    assert ns["Ports"]["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": str(port)}]
    assert ns["IPAddress"].startswith(netd.subnet_prefix + ".")
    assert ns["Gateway"] == netd.subnet_prefix + ".1"
    assert ns["Networks"]["bridge"]["IPAddress"] == ns["IPAddress"]
    assert ns["MacAddress"].startswith("02:42:")
    # the container's own address answers too (the direct path)
    assert curl(f"http://{ns['IPAddress']}/").stdout.strip() == "hello-" + cid[:12]
    assert run_ok(berth, "port", "web") == f"80/tcp -> 0.0.0.0:{port}"
    assert f"0.0.0.0:{port}->80/tcp" in run_ok(berth, "ps", "--format", "{{.Ports}}")
    # hairpin: the container reaches its own published port through a host address
    out = run_ok(berth, "exec", "web", "sh", "-c",
                 f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {netd.subnet_prefix}.1 {port}")
    assert "hello-" + cid[:12] in out
    # inside: eth0 with that address and the default route through the gateway
    out = run_ok(berth, "exec", "web", "ip", "route")
    assert f"default via {netd.subnet_prefix}.1 dev eth0" in out
    run_ok(berth, "rm", "-f", "web")
    assert curl(f"http://127.0.0.1:{port}/", timeout=2).returncode != 0


UDP_ECHO = r"""
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
int main(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5353)};
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) return 1;
  for (;;) {
    char buf[512], out[600];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    if (n < 0) return 1;
    int m = snprintf(out, sizeof(out), "echo:%.*s", (int)n, buf);
    sendto(fd, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
  }
}
"""


def udp_echo_image(berth, tmp_path):
    """An image holding one static UDP echo server (busybox has no UDP server applet)."""
    src = tmp_path / "udpecho.c"
    src.write_text(UDP_ECHO)
    root = tmp_path / "udproot"
    root.mkdir()
    subprocess.run(["cc", "-static", "-O2", "-o", str(root / "udpecho"), str(src)], check=True)
    tar = tmp_path / "udpecho.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "udpecho"], check=True)
    run_ok(berth, "import", "-c", 'CMD ["/udpecho"]', str(tar), "udpecho:test")
    return "udpecho:test"


def test_udp_through_published_port(netd, berth, busybox_image, tmp_path):
    image = udp_echo_image(berth, tmp_path)
    port = free_port(socket.SOCK_DGRAM)
    run_ok(berth, "run", "-d", "--name", "udp", "-p", f"127.0.0.1:{port}:5353/udp", image)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        def round_trip():
            s.sendto(b"ping-udp", ("127.0.0.1", port))
            try:
                return s.recvfrom(600)[0]
            except socket.timeout:
                return None
        assert until(round_trip, "an answer through the published UDP port") == b"echo:ping-udp"
    finally:
        s.close()


def test_random_and_range_ports(netd, berth, busybox_image):
    run_ok(berth, "run", "-d", "--name", "rnd", "-p", "80", "-p", "127.0.0.1::81",
           busybox_image, "sh", "-c", HTTPD)
    out = run_ok(berth, "port", "rnd", "80/tcp")
    host_port = int(out.split(":")[-1])
    assert host_port > 0
    until(lambda: curl(f"http://127.0.0.1:{host_port}/").returncode == 0, "random port")
    info = json.loads(run_ok(berth, "inspect", "rnd"))[0]["NetworkSettings"]["Ports"]
    assert info["81/tcp"][0]["HostIp"] == "127.0.0.1"
    lo = free_port()
    run_ok(berth, "run", "-d", "--name", "range", "-p", f"{lo}-{lo + 5}:80", busybox_image,
           "sh", "-c", HTTPD)
    p = int(run_ok(berth, "port", "range", "80").split(":")[-1])
    assert lo <= p <= lo + 5


def test_port_in_use_is_refused_and_leaves_nothing(netd, berth, busybox_image):
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        run_ok(berth, "create", "--name", "busy", "-p", f"{port}:80", busybox_image, "sleep", "30")
        r = berth("start", "busy")
        assert r.returncode != 0
        assert "port is already allocated" in r.stderr or "address already in use" in r.stderr.lower()
        st = json.loads(run_ok(berth, "inspect", "busy"))[0]["State"]
        assert st["Running"] is False
        # its address went back: the next container gets .2, the first host address
        run_ok(berth, "run", "-d", "--name", "next", busybox_image, "sleep", "30")
        ip = json.loads(run_ok(berth, "inspect", "next"))[0]["NetworkSettings"]["IPAddress"]
        assert ip == netd.subnet_prefix + ".2"
    finally:
        s.close()
    nft = subprocess.run(["nft", "list", "table", "ip", f"berth_{netd.bridge}"],
                         capture_output=True, text=True).stdout
    assert f"dport {port}" not in nft


def test_network_none_has_only_loopback(netd, berth, busybox_image):
    out = run_ok(berth, "run", "--rm", "--network", "none", busybox_image, "ip", "-o", "link")
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    assert names == ["lo"]


def test_network_host_sees_host_interfaces(netd, berth, busybox_image):
    out = run_ok(berth, "run", "--rm", "--network", "host", busybox_image, "ip", "-o", "link")
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
    assert netd.bridge in names
    host = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "eth0" not in host or "eth0" in names


def test_container_network_mode_shares_namespace(netd, berth, busybox_image):
    run_ok(berth, "run", "-d", "--name", "web", busybox_image, "sh", "-c", HTTPD)
    # a second container in web's namespace reaches its httpd on localhost
    out = run_ok(berth, "run", "--rm", "--network", "container:web", busybox_image, "sh", "-c",
                 "for i in $(seq 50); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80 "
                 "&& break; sleep 0.2; done")
    assert "hello-" in out


def test_dns_hosts_and_resolv_options(netd, berth, busybox_image):
    out = run_ok(berth, "run", "--rm", "--hostname", "box1", "--add-host", "db:10.9.9.9",
                 "--add-host", "gw:host-gateway", "--dns", "10.1.1.1", "--dns-search",
                 "example.test", "--dns-option", "ndots:2", busybox_image, "sh", "-c",
                 "cat /etc/hosts /etc/resolv.conf; hostname")
    assert "10.9.9.9\tdb" in out
    assert f"{netd.subnet_prefix}.1\tgw" in out
    assert "nameserver 10.1.1.1" in out
    assert "search example.test" in out
    assert "options ndots:2" in out
    assert out.splitlines()[-1] == "box1"
    assert "\tbox1" in out


def test_mac_address_and_inspect_shape(netd, berth, busybox_image):
    run_ok(berth, "run", "-d", "--name", "mac", "--mac-address", "02:42:aa:bb:cc:dd",
           busybox_image, "sleep", "60")
    out = run_ok(berth, "exec", "mac", "cat", "/sys/class/net/eth0/address")
    assert out == "02:42:aa:bb:cc:dd"
    ns = json.loads(run_ok(berth, "inspect", "mac"))[0]["NetworkSettings"]
    assert ns["MacAddress"] == "02:42:aa:bb:cc:dd"
    assert ns["SandboxKey"].endswith("/netns/" + json.loads(run_ok(berth, "inspect", "mac"))[0]["Id"])
    ep = ns["Networks"]["bridge"]
    for key in ("IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway",
                "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address", "MacAddress"):
        assert key in ep
    assert ep["IPPrefixLen"] == 24
    net = json.loads(run_ok(berth, "network", "inspect", "bridge"))[0]
    assert net["Id"] == ep["NetworkID"]
    assert net["Options"]["com.docker.network.bridge.name"] == netd.bridge
    assert net["IPAM"]["Config"] == [{"Subnet": netd.subnet_prefix + ".0/24",
                                      "Gateway": netd.subnet_prefix + ".1"}]
    # stopped: the network stays listed, without an address; the namespace is gone
    run_ok(berth, "stop", "-t", "1", "mac")
    ns = json.loads(run_ok(berth, "inspect", "mac"))[0]["NetworkSettings"]
    assert ns["Networks"]["bridge"]["IPAddress"] == "" and ns["Ports"] == {}
    assert not list((netd.exec_root / "netns").glob("*"))


def test_daemon_json_bridge_and_address_pools(build_dir, tmp_path, net_clean, busybox_docker_archive):
    """daemon.json's bridge and default-address-pools: the default bridge takes the pool's
    first subnet, a network created without --subnet the next one."""
    import uuid
    from daemon_util import Daemon, free_subnet24
    pool = free_subnet24()
    bridge = "bj" + uuid.uuid4().hex[:10]
    cfg = tmp_path / "daemon.json"
    cfg.write_text(json.dumps({"bridge": bridge, "mtu": 1450, "default-address-pools": [
        {"base": pool + ".0/24", "size": 26}]}))
    d = Daemon(str(build_dir / "berthd"), tmp_path / "d", net_args=["--config-file", str(cfg)])
    d.bridge = bridge
    net_clean.append(d)
    cli = [str(build_dir / "berth"), "-H", d.host]
    try:
        def b(*args):
            r = subprocess.run(cli + list(args), capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            return r.stdout.strip()
        net = json.loads(b("network", "inspect", "bridge"))[0]
        assert net["IPAM"]["Config"][0]["Subnet"] == pool + ".0/26"
        assert net["Options"]["com.docker.network.bridge.name"] == bridge
        b("network", "create", "-o", "com.docker.network.driver.mtu=1400", "auto")
        net = json.loads(b("network", "inspect", "auto"))[0]
        assert net["IPAM"]["Config"][0] == {"Subnet": pool + ".64/26", "Gateway": pool + ".65"}
        b("load", "-i", busybox_docker_archive)
        out = b("run", "--rm", "--network", "auto", "busybox", "ip", "-o", "-4", "addr")
        assert pool + ".66/26" in out
        # MTU: the network's option, and daemon.json's for the default bridge
        assert b("run", "--rm", "--network", "auto", "busybox", "cat",
                 "/sys/class/net/eth0/mtu") == "1400"
        assert b("run", "--rm", "busybox", "cat", "/sys/class/net/eth0/mtu") == "1450"
        b("network", "rm", "auto")
    finally:
        d.stop()
        import shutil
        shutil.rmtree(d.exec_root, ignore_errors=True)
