# `kill`: signals by name, by name without SIG, and by number reach the container's init;
# --all signals every process of the container; killing a stopped container is an error.
import json
import os

import pytest

from runtime_util import add_bind, pid_gone, rt, unique_id, wait_file, wait_for  # noqa: F401

TRAPPER = ('trap "echo USR1 >> /out/sig" USR1; trap "echo TERM >> /out/sig" TERM; '
           'trap "echo HUP >> /out/sig" HUP; '
           'echo ready > /out/ready; while true; do sleep 0.05; done')


@pytest.fixture
def shared(tmp_path):
    d = tmp_path / "shared"
    d.mkdir()
    return d


def start(rt, make_bundle, shared, script, tag="kill"):
    cid = unique_id(tag)
    r = rt.create(cid, make_bundle(args=["sh", "-c", script],
                                   mutate=lambda c: add_bind(c, shared, "/out")))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    wait_file(shared / "ready", "\n")
    return cid


def signals_seen(shared):
    try:
        return (shared / "sig").read_text().split()
    except FileNotFoundError:
        return []


def test_kill_delivers_signals(rt, make_bundle, shared):
    cid = start(rt, make_bundle, shared, TRAPPER)
    expected = []
    for spec, name in (("SIGUSR1", "USR1"), ("TERM", "TERM"), ("15", "TERM"),
                       ("HUP", "HUP"), ("10", "USR1")):
        rt.ok("kill", cid, spec)
        expected.append(name)
        wait_for(lambda: signals_seen(shared) == expected or None,
                 what=f"{expected} in the trap log (have {signals_seen(shared)})")
    # no signal argument means SIGTERM
    rt.ok("kill", cid)
    expected.append("TERM")
    wait_for(lambda: signals_seen(shared) == expected or None, what="default SIGTERM")
    assert rt.status(cid) == "running"

    rt.ok("kill", cid, "KILL")
    st = rt.wait_status(cid, "stopped")
    assert st["pid"] == 0


def test_kill_all(rt, make_bundle, shared):
    cid = start(rt, make_bundle, shared,
                "sleep 1000 & sleep 1000 & echo ready > /out/ready; wait")
    init = rt.state(cid)["pid"]
    pids = wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(
        json.loads(rt.ok("ps", "--format", "json", cid).stdout)), what="3 processes")
    assert init in pids
    rt.ok("kill", "--all", cid, "KILL")
    rt.wait_status(cid, "stopped")
    for p in pids:
        wait_for(lambda: pid_gone(p), what=f"pid {p} to die")


def test_kill_created_container(rt, make_bundle):
    cid = unique_id("killc")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]))
    assert r.returncode == 0, r
    rt.ok("kill", cid, "KILL")
    rt.wait_status(cid, "stopped")


def test_kill_stopped_container_fails(rt, make_bundle):
    cid = unique_id("kills")
    r = rt.create(cid, make_bundle(args=["true"]))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    r = rt("kill", cid, "TERM")
    assert r.returncode != 0, r
    # containerd's shim maps "container not running" to NotFound
    assert "not running" in r.stderr, r.stderr


def test_kill_unknown_container(rt):
    r = rt("kill", unique_id("nope"), "TERM")
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_kill_bad_signal(rt, make_bundle, shared):
    cid = start(rt, make_bundle, shared, TRAPPER, tag="killbad")
    for bad in ("SIGNOPE", "NOPE", "999"):
        r = rt("kill", cid, bad)
        assert r.returncode != 0, r
        assert r.stderr.strip()
    assert rt.status(cid) == "running"
    assert signals_seen(shared) == []
