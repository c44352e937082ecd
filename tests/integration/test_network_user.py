"""User-defined bridge networks with berth's CLI: name, alias and short-ID resolution by
the embedded resolver (127.0.0.11), isolation between networks, --internal, connect and
disconnect on a running container, bad input refused with nothing half-made, a "remote
host" (a network namespace joined by a veth) reaching a published port, and a berthd
killed with SIGKILL and restarted: published ports, names and addresses still right."""

import json
import signal
import subprocess
import uuid

from daemon_util import berth, berthd, busybox_image, free_subnet24  # noqa: F401  (fixtures)
from net_util import HTTPD, curl, links, net_clean, netd, until  # noqa: F401

BERTHD_NETWORK = True


def run_ok(berth, *args):
    r = berth(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def http_by_nc(target):
    """A shell line fetching / from target:80 with busybox nc, retried while the server
    comes up."""
    return (f"for i in $(seq 50); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {target} 80 "
            f"&& exit 0; sleep 0.2; done; exit 1")


def inspect(berth, name):
    return json.loads(run_ok(berth, "inspect", name))[0]


def test_names_aliases_and_isolation(netd, berth, busybox_image):
    a, b = free_subnet24(), free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "neta")
    run_ok(berth, "network", "create", "--subnet", b + ".0/24", "netb")
    cid = run_ok(berth, "run", "-d", "--name", "srv", "--network", "neta", "--network-alias",
                 "web", busybox_image, "sh", "-c", HTTPD)
    ip = inspect(berth, "srv")["NetworkSettings"]["Networks"]["neta"]["IPAddress"]
    assert ip == a + ".2"
    # by name, by alias, by short ID: the resolver answers, and the server answers
    for target in ("srv", "web", cid[:12]):
        out = run_ok(berth, "run", "--rm", "--network", "neta", busybox_image, "sh", "-c",
                     f"nslookup {target} 127.0.0.11 && " + http_by_nc(target))
        assert f"Address: {ip}" in out
        assert "hello-" + cid[:12] in out
    out = run_ok(berth, "run", "--rm", "--network", "neta", busybox_image, "cat",
                 "/etc/resolv.conf")
    assert out.splitlines()[0] == "nameserver 127.0.0.11"
    # another network: no name, no route to the address
    r = berth("run", "--rm", "--network", "netb", busybox_image, "nslookup", "srv")
    assert r.returncode != 0
    r = berth("run", "--rm", "--network", "netb", busybox_image, "sh", "-c",
              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80")
    assert "hello-" not in r.stdout
    # nor from the default bridge
    r = berth("run", "--rm", busybox_image, "sh", "-c",
              f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80")
    assert "hello-" not in r.stdout
    # a renamed container answers to its new name
    run_ok(berth, "rename", "srv", "srv2")
    out = run_ok(berth, "run", "--rm", "--network", "neta", busybox_image, "nslookup", "srv2")
    assert f"Address: {ip}" in out
    run_ok(berth, "rename", "srv2", "srv")
    net = json.loads(run_ok(berth, "network", "inspect", "neta"))[0]
    assert net["Containers"][cid]["Name"] == "srv"
    assert net["Containers"][cid]["IPv4Address"] == ip + "/24"
    r = berth("network", "rm", "neta")
    assert r.returncode != 0 and "active endpoints" in r.stderr
    run_ok(berth, "rm", "-f", "srv")
    run_ok(berth, "network", "rm", "neta", "netb")
    assert "neta" not in run_ok(berth, "network", "ls")


def test_connect_and_disconnect_running_container(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "--label", "team=net", "conn")
    run_ok(berth, "run", "-d", "--name", "srv", busybox_image, "sh", "-c", HTTPD)
    run_ok(berth, "network", "connect", "--alias", "api", "--ip", a + ".50", "conn", "srv")
    out = run_ok(berth, "exec", "srv", "ip", "-o", "-4", "addr")
    assert f"eth1    inet {a}.50/24" in " ".join(out.split("  ")) or f"{a}.50/24" in out
    out = run_ok(berth, "run", "--rm", "--network", "conn", busybox_image, "sh", "-c",
                 "nslookup api && " + http_by_nc("api"))
    assert f"Address: {a}.50" in out and "hello-" in out
    nets = inspect(berth, "srv")["NetworkSettings"]["Networks"]
    assert nets["conn"]["IPAddress"] == a + ".50" and nets["conn"]["Aliases"] == ["api"]
    assert run_ok(berth, "network", "ls", "-q", "--filter", "label=team=net") != ""
    run_ok(berth, "network", "disconnect", "conn", "srv")
    out = run_ok(berth, "exec", "srv", "ip", "-o", "link")
    assert "eth1" not in out
    assert "conn" not in inspect(berth, "srv")["NetworkSettings"]["Networks"]
    # its address is free again
    run_ok(berth, "run", "-d", "--name", "again", "--network", "conn", "--ip", a + ".50",
           busybox_image, "sleep", "60")


def test_internal_network_has_no_way_out(netd, berth, busybox_image):
    a = free_subnet24()
    brname = "bi" + uuid.uuid4().hex[:10]
    run_ok(berth, "network", "create", "--internal", "--subnet", a + ".0/24", "-o",
           "com.docker.network.bridge.name=" + brname, "inner")
    assert brname in links()
    run_ok(berth, "run", "-d", "--name", "peer", "--network", "inner", busybox_image, "sh", "-c",
           HTTPD)
    out = run_ok(berth, "run", "--rm", "--network", "inner", busybox_image, "sh", "-c",
                 "ip route; " + http_by_nc("peer"))
    assert "default" not in out
    assert "hello-" in out
    # the default bridge's gateway (an address of the host) is not reachable
    r = berth("run", "--rm", "--network", "inner", busybox_image, "ping", "-c", "1", "-W", "2",
              netd.subnet_prefix + ".1")
    assert r.returncode != 0
    run_ok(berth, "rm", "-f", "peer")
    run_ok(berth, "network", "rm", "inner")
    assert brname not in links()


def bad(berth, *args, text):
    r = berth(*args)
    assert r.returncode != 0, r.stdout
    assert text in r.stderr, r.stderr


def test_bad_input_is_refused_and_leaves_nothing(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "good")
    before_links = links()
    before_nets = run_ok(berth, "network", "ls", "-q")
    bad(berth, "network", "create", "--subnet", a + ".128/25", "over", text="overlaps")
    bad(berth, "network", "create", "--subnet", "10.253.7.0/24", "--gateway", "10.9.9.1", "gw",
        text="invalid gateway")
    bad(berth, "network", "create", "--subnet", "10.253.7.0/24", "--ip-range", "10.254.0.0/28",
        "rg", text="not within subnet")
    bad(berth, "network", "create", "--subnet", "10.253.7.0/33", "cidr", text="invalid CIDR")
    bad(berth, "network", "create", "--subnet", free_subnet24() + ".0/24", "good",
        text="already exists")
    bad(berth, "network", "create", "-d", "overlay", "drv", text="not found")
    bad(berth, "run", "--rm", "--network", "good", "--ip", "10.99.0.5", busybox_image, "true",
        text="no configured subnet")
    bad(berth, "run", "--rm", "--network", "nosuchnet", busybox_image, "true", text="not found")
    bad(berth, "run", "--rm", "--ip", netd.subnet_prefix + ".9", busybox_image, "true",
        text="user defined networks only")
    run_ok(berth, "run", "-d", "--name", "holder", "--network", "good", "--ip", a + ".9",
           busybox_image, "sleep", "60")
    run_ok(berth, "create", "--name", "taken", "--network", "good", "--ip", a + ".9",
           busybox_image, "sleep", "60")
    bad(berth, "start", "taken", text="Address already in use")
    assert inspect(berth, "taken")["State"]["Running"] is False
    bad(berth, "network", "rm", "good", text="active endpoints")
    bad(berth, "network", "rm", "bridge", text="pre-defined")
    assert run_ok(berth, "network", "ls", "-q") == before_nets
    assert links() - before_links <= {l for l in links() if l.startswith("vb")}
    # the failed start gave its address back: .2 is the next one handed out
    run_ok(berth, "run", "-d", "--name", "next", "--network", "good", busybox_image, "sleep", "60")
    assert inspect(berth, "next")["NetworkSettings"]["Networks"]["good"]["IPAddress"] == a + ".2"


def test_remote_host_reaches_published_port(netd, berth, busybox_image):
    """A second network namespace stands for another machine: joined to the host by a veth,
    it fetches the published port at the host's address on that link (prerouting DNAT)."""
    p = free_subnet24()
    tag = uuid.uuid4().hex[:8]
    ns, host_if, peer_if = f"rh{tag}", f"vh{tag}", f"vp{tag}"
    run_ok(berth, "run", "-d", "--name", "web", "-p", "18481:80", busybox_image, "sh", "-c",
           HTTPD)
    cmds = [["ip", "netns", "add", ns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if],
            ["ip", "link", "set", peer_if, "netns", ns],
            ["ip", "addr", "add", p + ".1/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "-n", ns, "addr", "add", p + ".2/30", "dev", peer_if],
            ["ip", "-n", ns, "link", "set", peer_if, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"]]
    try:
        for c in cmds:
            subprocess.run(c, check=True, capture_output=True)

        def fetch():
            r = subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "3",
                                f"http://{p}.1:18481/"], capture_output=True, text=True)
            return r.stdout if r.returncode == 0 else None
        assert until(fetch, "the published port from the remote namespace").startswith("hello-")
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_sigkill_restart_keeps_ports_names_and_addresses(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "keep")
    run_ok(berth, "run", "-d", "--name", "web", "-p", "127.0.0.1:18482:80", busybox_image, "sh",
           "-c", HTTPD)
    run_ok(berth, "run", "-d", "--name", "named", "--network", "keep", "--network-alias", "db",
           busybox_image, "sleep", "600")
    until(lambda: curl("http://127.0.0.1:18482/").returncode == 0, "httpd before the restart")
    web_ip = inspect(berth, "web")["NetworkSettings"]["IPAddress"]
    named_ip = inspect(berth, "named")["NetworkSettings"]["Networks"]["keep"]["IPAddress"]
    netd.proc.send_signal(signal.SIGKILL)
    netd.proc.wait()
    # the container still answers with no daemon at all
    assert curl("http://127.0.0.1:18482/").stdout.startswith("hello-")
    netd.restart()
    assert curl("http://127.0.0.1:18482/").stdout.startswith("hello-")
    assert run_ok(berth, "port", "web") == "80/tcp -> 127.0.0.1:18482"
    # the port is still held: a second container cannot take it
    r = berth("run", "-d", "--name", "thief", "-p", "127.0.0.1:18482:80", busybox_image, "true")
    assert r.returncode != 0 and "already allocated" in r.stderr
    # the resolver serves the running container again
    out = run_ok(berth, "run", "--rm", "--network", "keep", busybox_image, "nslookup", "db")
    assert f"Address: {named_ip}" in out
    # no address handed out twice
    run_ok(berth, "run", "-d", "--name", "second", busybox_image, "sleep", "60")
    run_ok(berth, "run", "-d", "--name", "second2", "--network", "keep", busybox_image, "sleep",
           "60")
    assert inspect(berth, "second")["NetworkSettings"]["IPAddress"] not in (web_ip,)
    assert inspect(berth, "second2")["NetworkSettings"]["Networks"]["keep"]["IPAddress"] != named_ip


def test_connect_created_container_attaches_at_start(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "later")
    run_ok(berth, "create", "--name", "c1", busybox_image, "sleep", "60")
    run_ok(berth, "network", "connect", "--ip", a + ".20", "later", "c1")
    r = berth("network", "connect", "later", "c1")
    assert r.returncode != 0 and "already exists" in r.stderr
    run_ok(berth, "start", "c1")
    out = run_ok(berth, "exec", "c1", "ip", "-o", "-4", "addr")
    assert f"{a}.20/24" in out and f"{netd.subnet_prefix}." in out
    # the default route stays with the first network (eth0)
    assert f"default via {netd.subnet_prefix}.1 dev eth0" in run_ok(berth, "exec", "c1", "ip",
                                                                    "route")
    # stop and start again: the same addresses come back, the namespace is new
    run_ok(berth, "stop", "-t", "1", "c1")
    run_ok(berth, "start", "c1")
    assert f"{a}.20/24" in run_ok(berth, "exec", "c1", "ip", "-o", "-4", "addr")
