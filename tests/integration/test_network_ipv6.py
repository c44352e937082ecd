"""Dual-stack user networks (`network create --ipv6 --subnet 10.x.y.0/24 --subnet fd…::/64`)
with berth's CLI and the real docker CLI: the bridge holds the IPv6 gateway, containers get
an IPv6 address and default route and reach each other and the host over IPv6, inspect shows
Docker's IPv6 fields, the embedded resolver answers AAAA, /etc/hosts has the IPv6 address,
bad input is refused with nothing made, and the ip6 nft table goes with the last IPv6
network. All traffic stays on the test's own bridge."""

import json
import random
import subprocess
import uuid

from daemon_util import berth, berthd, busybox_image, free_subnet24  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left, ok  # noqa: F401  (fixtures)
from net_util import HTTPD, curl, links, net_clean, netd, nft_tables, until  # noqa: F401

BERTHD_NETWORK = True


def run_ok(cli, *args):
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ula():
    """A random unique-local /64 prefix, as the kernel and inet_ntop write it (no leading
    zeros in a group, no zero group)."""
    return "fd%02x:%x:%x:%x" % (random.randrange(256), random.randrange(1, 65536),
                                random.randrange(1, 65536), random.randrange(1, 65536))


def nft_families(table):
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                         check=True).stdout
    return {l.split()[1] for l in out.splitlines() if l.startswith("table") and
            l.split()[-1] == table}


def test_dual_stack_network(netd, berth, busybox_image):
    a, p6 = free_subnet24(), ula()
    brname = "b6" + uuid.uuid4().hex[:10]
    nid = run_ok(berth, "network", "create", "--ipv6", "--subnet", a + ".0/24", "--subnet",
                 p6 + "::/64", "-o", "com.docker.network.bridge.name=" + brname, "six")
    net = json.loads(run_ok(berth, "network", "inspect", "six"))[0]
    assert net["EnableIPv6"] is True
    assert net["IPAM"]["Config"] == [{"Subnet": a + ".0/24", "Gateway": a + ".1"},
                                     {"Subnet": p6 + "::/64", "Gateway": p6 + "::1"}]
    out = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", brname], capture_output=True,
                         text=True, check=True).stdout
    assert f"{p6}::1/64" in out
    assert "ip6" in nft_families(f"berth_{netd.bridge}")

    cid = run_ok(berth, "run", "-d", "--name", "srv6", "--network", "six", busybox_image, "sh",
                 "-c", HTTPD)
    ep = json.loads(run_ok(berth, "inspect", "srv6"))[0]["NetworkSettings"]["Networks"]["six"]
    assert ep["IPAddress"] == a + ".2"
    assert ep["GlobalIPv6Address"] == p6 + "::2"
    assert ep["GlobalIPv6PrefixLen"] == 64 and ep["IPv6Gateway"] == p6 + "::1"
    net = json.loads(run_ok(berth, "network", "inspect", nid))[0]
    assert net["Containers"][cid]["IPv6Address"] == p6 + "::2/64"
    out = run_ok(berth, "exec", "srv6", "ip", "-6", "route")
    assert f"default via {p6}::1" in out
    # another container reaches it over IPv6, and so does the host through the bridge
    out = run_ok(berth, "run", "--rm", "--network", "six", busybox_image, "sh", "-c",
                 f"ip -6 -o addr show dev eth0; ping -6 -c 1 -W 5 {p6}::2")
    assert f"{p6}::3/64" in out and "1 packets received" in out
    # the embedded resolver answers AAAA with it (and A as before); /etc/hosts has both
    out = run_ok(berth, "run", "--rm", "--network", "six", busybox_image, "sh", "-c",
                 "nslookup -type=aaaa srv6 127.0.0.11; nslookup -type=a srv6 127.0.0.11")
    assert f"Address: {p6}::2" in out and f"Address: {a}.2" in out, out
    hosts = run_ok(berth, "exec", "srv6", "cat", "/etc/hosts")
    assert f"{a}.2\t{cid[:12]}" in hosts and f"{p6}::2\t{cid[:12]}" in hosts, hosts
    body = until(lambda: curl(f"http://[{p6}::2]/").stdout, "httpd over IPv6")
    assert body.strip() == "hello-" + cid[:12]
    # stopped: no IPv6 fields left; started again: the same address
    run_ok(berth, "stop", "-t", "1", "srv6")
    ep = json.loads(run_ok(berth, "inspect", "srv6"))[0]["NetworkSettings"]["Networks"]["six"]
    assert ep["GlobalIPv6Address"] == ""
    run_ok(berth, "rm", "srv6")
    run_ok(berth, "network", "rm", "six")
    assert brname not in links()
    # no IPv6 network left: no ip6 table either
    assert "ip6" not in nft_families(f"berth_{netd.bridge}")


def test_ipv6_bad_input_makes_nothing(netd, berth):
    a, b, p6 = free_subnet24(), free_subnet24(), ula()
    before = links()
    nets = run_ok(berth, "network", "ls", "-q")
    cases = [
        (["--ipv6", "--subnet", a + ".0/24"], "IPv6 --subnet"),
        (["--subnet", a + ".0/24", "--subnet", p6 + "::/64"], "--ipv6"),
        (["--ipv6", "--subnet", p6 + "::/112"], "between /16 and /96"),
        (["--ipv6", "--subnet", "fd00:zz::/64"], "invalid IPv6 CIDR"),
        (["--ipv6", "--subnet", p6 + "::/64", "--subnet", p6 + ":1::/64"], "more than one"),
    ]
    for args, text in cases:
        r = berth("network", "create", *args, "bad6")
        assert r.returncode != 0 and text in r.stderr, (args, r.stderr)
    assert links() == before and run_ok(berth, "network", "ls", "-q") == nets
    run_ok(berth, "network", "create", "--ipv6", "--subnet", p6 + "::/64", "--subnet",
           a + ".0/24", "first6")
    r = berth("network", "create", "--ipv6", "--subnet", p6 + ":0:0:1::/80", "--subnet",
              b + ".0/24", "second6")
    assert r.returncode != 0 and "overlaps" in r.stderr, r.stderr
    run_ok(berth, "network", "rm", "first6")
    assert links() == before


def test_ipv6_with_docker_cli(net_clean, nothing_left, netd, docker, dimage):
    a, p6 = free_subnet24(), ula()
    ok(docker("network", "create", "--ipv6", "--subnet", a + ".0/24", "--subnet", p6 + "::/64",
              "d6"))
    ok(docker("run", "-d", "--name", "c6", "--network", "d6", dimage, "sleep", "600"))
    addr = ok(docker("inspect", "-f", "{{.NetworkSettings.Networks.d6.GlobalIPv6Address}}",
                     "c6")).strip()
    assert addr == p6 + "::2"
    out = ok(docker("run", "--rm", "--network", "d6", dimage, "ping", "-6", "-c", "1", "-W", "5",
                    addr))
    assert "1 packets received" in out
    ok(docker("rm", "-f", "c6"))
    ok(docker("network", "rm", "d6"))
