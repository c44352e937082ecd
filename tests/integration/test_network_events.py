"""Network events, prune filters, resolv.conf on connect and names after rename, with
berth's CLI and the real docker CLI: Docker's network connect/disconnect events when a
container starts, stops, connects and disconnects, create/destroy; `network prune` with
until/label/label! filters; a default-bridge container connected to a user network gets
127.0.0.11 in its resolv.conf; `network inspect` shows a renamed container's new name."""

import json
import time

from daemon_util import berth, berthd, busybox_image, free_subnet24  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left  # noqa: F401  (fixtures)
from net_util import HTTPD, net_clean, netd, until  # noqa: F401

BERTHD_NETWORK = True


def run_ok(berth, *args):
    r = berth(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def network_events(cli, since):
    """(action, network name, container id) of the network events since `since`."""
    out = run_ok(cli, "events", "--since", str(since), "--until", str(int(time.time()) + 1),
                 "-f", "type=network", "--format", "json")
    evs = [json.loads(l) for l in out.splitlines()]
    return [(e["Action"], e["Actor"]["Attributes"].get("name"),
             e["Actor"]["Attributes"].get("container")) for e in evs]


def test_network_events_on_lifecycle_and_connect(netd, berth, busybox_image):
    since = int(time.time()) - 1
    a = free_subnet24()
    nid = run_ok(berth, "network", "create", "--subnet", a + ".0/24", "evnet")
    cid = run_ok(berth, "run", "-d", "--name", "evc", busybox_image, "sleep", "600")
    run_ok(berth, "network", "connect", "evnet", "evc")
    run_ok(berth, "network", "disconnect", "evnet", "evc")
    run_ok(berth, "stop", "-t", "1", "evc")
    run_ok(berth, "rm", "evc")
    run_ok(berth, "network", "rm", "evnet")
    evs = network_events(berth, since)
    assert evs == [("create", "evnet", None),
                   ("connect", "bridge", cid),
                   ("connect", "evnet", cid),
                   ("disconnect", "evnet", cid),
                   ("disconnect", "bridge", cid),
                   ("destroy", "evnet", None)], evs
    # the network's ID is the actor
    out = run_ok(berth, "events", "--since", str(since), "--until", str(int(time.time()) + 1),
                 "-f", "type=network", "-f", "event=create", "--format", "{{.Actor.ID}}")
    assert out == nid


def test_network_events_with_docker_cli(net_clean, nothing_left, netd, docker, dimage):
    since = int(time.time()) - 1
    cid = run_ok(docker, "run", "-d", "--name", "evd", dimage, "sleep", "600")
    run_ok(docker, "rm", "-f", "evd")
    out = run_ok(docker, "events", "--since", str(since), "--until", str(int(time.time()) + 1),
                 "--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}} "
                 "{{.Actor.Attributes.container}} {{.Actor.Attributes.type}}")
    # (the previous test's last events may fall in the same second: only this container's)
    mine = [l for l in out.splitlines() if cid in l]
    assert mine == [f"connect bridge {cid} bridge", f"disconnect bridge {cid} bridge"], out


def network_names(berth):
    return set(run_ok(berth, "network", "ls", "--format", "{{.Name}}").split())


def test_prune_until_and_label_filters(netd, berth):
    a, b, c = free_subnet24(), free_subnet24(), free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "--label", "keep=yes", "pold")
    run_ok(berth, "network", "create", "--subnet", b + ".0/24", "--label", "tier=x", "pold2")
    # networks made after this instant are younger than "until"
    cut = json.loads(run_ok(berth, "network", "inspect", "pold2"))[0]["Created"]
    until(lambda: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) > cut[:19], "a new second")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    until(lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) > stamp, "a new second")
    run_ok(berth, "network", "create", "--subnet", c + ".0/24", "pnew")
    # bad filters are refused and remove nothing
    r = berth("network", "prune", "-f", "--filter", "until=yesterday")
    assert r.returncode != 0 and "until" in r.stderr, r.stderr
    r = berth("network", "prune", "-f", "--filter", "name=pold")
    assert r.returncode != 0 and "invalid filter" in r.stderr, r.stderr
    assert {"pold", "pold2", "pnew"} <= network_names(berth)
    # an hour ago: none of them is that old
    run_ok(berth, "network", "prune", "-f", "--filter", "until=1h")
    assert {"pold", "pold2", "pnew"} <= network_names(berth)
    # until the stamp, and not labelled keep: only pold2 goes
    out = run_ok(berth, "network", "prune", "-f", "--filter", "until=" + stamp,
                 "--filter", "label!=keep")
    assert "pold2" in out
    assert {"pold", "pnew"} <= network_names(berth) and "pold2" not in network_names(berth)
    # a label filter, with a Unix time for until (now + 10 s: all are older)
    run_ok(berth, "network", "prune", "-f", "--filter", "label=keep=yes",
           "--filter", f"until={int(time.time()) + 10}")
    assert "pold" not in network_names(berth) and "pnew" in network_names(berth)
    run_ok(berth, "network", "prune", "-f", "--filter", "until=0s")
    assert "pnew" not in network_names(berth)


def test_resolv_conf_turns_to_embedded_resolver_on_connect(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "rsv")
    run_ok(berth, "run", "-d", "--name", "peer", "--network", "rsv", busybox_image, "sh", "-c",
           HTTPD)
    run_ok(berth, "run", "-d", "--name", "dflt", busybox_image, "sleep", "600")
    before = run_ok(berth, "exec", "dflt", "cat", "/etc/resolv.conf")
    assert "127.0.0.11" not in before
    run_ok(berth, "network", "connect", "rsv", "dflt")
    after = run_ok(berth, "exec", "dflt", "cat", "/etc/resolv.conf")
    assert after.splitlines()[0] == "nameserver 127.0.0.11", after
    # and the resolver behind it answers the user network's names
    out = run_ok(berth, "exec", "dflt", "nslookup", "peer")
    peer_ip = json.loads(run_ok(berth, "inspect", "peer"))[0]["NetworkSettings"]["Networks"][
        "rsv"]["IPAddress"]
    assert f"Address: {peer_ip}" in out
    run_ok(berth, "rm", "-f", "dflt", "peer")
    run_ok(berth, "network", "rm", "rsv")


def test_network_inspect_shows_new_name_after_rename(netd, berth, busybox_image):
    a = free_subnet24()
    run_ok(berth, "network", "create", "--subnet", a + ".0/24", "ren")
    cid = run_ok(berth, "run", "-d", "--name", "before", "--network", "ren", busybox_image,
                 "sleep", "600")
    net = json.loads(run_ok(berth, "network", "inspect", "ren"))[0]
    assert net["Containers"][cid]["Name"] == "before"
    run_ok(berth, "rename", "before", "after")
    net = json.loads(run_ok(berth, "network", "inspect", "ren"))[0]
    assert net["Containers"][cid]["Name"] == "after"
    run_ok(berth, "rm", "-f", "after")
    run_ok(berth, "network", "rm", "ren")
