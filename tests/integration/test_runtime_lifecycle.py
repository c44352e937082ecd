# The container lifecycle through the runc CLI: create, state, start, stopped, delete, list,
# and the errors containerd and podman depend on (unknown id, duplicate id, bad id).
import json
import os

import pytest

from runtime_util import (add_bind, pid_alive, pid_gone, rt, unique_id, wait_file,  # noqa: F401
                          wait_for)

# Blocks until the test creates /out/go, so the test decides when the process exits.
WAIT_FOR_GO = "touch /out/started; while [ ! -e /out/go ]; do sleep 0.05; done; exit 0"


@pytest.fixture
def shared(tmp_path):
    d = tmp_path / "shared"
    d.mkdir()
    return d


def gated_bundle(make_bundle, shared, script=WAIT_FOR_GO):
    return make_bundle(args=["sh", "-c", script], mutate=lambda c: add_bind(c, shared, "/out"))


def test_create_state_pidfile_start_stop_delete(rt, make_bundle, shared, tmp_path):
    bundle = gated_bundle(make_bundle, shared)
    cid = unique_id("life")
    piddir = tmp_path / "pids"
    piddir.mkdir()
    pidfile = piddir / "init.pid"

    rt.ok("create", "--bundle", bundle, "--pid-file", pidfile, cid, stdio_files=True)
    rt.ids.add(cid)
    st = rt.state(cid)
    for key in ("ociVersion", "id", "status", "pid", "bundle", "rootfs", "created"):
        assert key in st, f"state lacks {key}: {st}"
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert pid_alive(st["pid"])
    assert os.path.isabs(st["bundle"])
    assert os.path.samefile(st["bundle"], bundle)
    assert os.path.samefile(st["rootfs"], bundle / "rootfs")
    assert st["created"].endswith("Z") and "T" in st["created"]
    # containerd's go-runc parses the pid file with Atoi and no trimming: digits only.
    assert pidfile.read_text() == str(st["pid"])
    # Written by rename: no temporary file is left beside it.
    assert sorted(os.listdir(piddir)) == ["init.pid"]
    # Created means set up but not started: the user's program has not run.
    assert not (shared / "started").exists()

    rt.ok("start", cid)
    wait_file(shared / "started")
    st = rt.state(cid)
    assert st["status"] == "running"
    # start consumes the exec fifo; a second start is an error.
    rt.fails("start", cid)

    (shared / "go").touch()
    st = rt.wait_status(cid, "stopped")
    assert st["pid"] == 0
    assert st["id"] == cid

    rt.ok("delete", cid)
    r = rt.fails("state", cid)
    assert "does not exist" in r.stderr
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_delete_running_needs_force(rt, make_bundle):
    bundle = make_bundle(args=["sleep", "1000"])
    cid = unique_id("del")
    rt.create(cid, bundle)
    rt.ok("start", cid)
    pid = rt.wait_status(cid, "running")["pid"]

    r = rt.fails("delete", cid)
    assert r.stderr.strip(), "a refused delete says why"
    assert rt.status(cid) == "running"
    assert pid_alive(pid)

    rt.ok("delete", "-f", cid)
    assert "does not exist" in rt.fails("state", cid).stderr
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_delete_created_container(rt, make_bundle):
    bundle = make_bundle(args=["sleep", "1000"])
    cid = unique_id("delc")
    rt.create(cid, bundle)
    pid = rt.state(cid)["pid"]
    rt.ok("delete", cid)
    assert "does not exist" in rt.fails("state", cid).stderr
    # the init that waited for start is gone (or a zombie left to whoever reaps orphans)
    wait_for(lambda: pid_gone(pid), what=f"pid {pid} to exit")


def test_delete_force_unknown_id_succeeds(rt):
    r = rt("delete", "--force", unique_id("nope"))
    assert r.returncode == 0, r


def test_delete_unknown_id_fails(rt):
    r = rt.fails("delete", unique_id("nope"))
    assert "does not exist" in r.stderr


def test_state_unknown_id(rt):
    r = rt.fails("state", unique_id("nope"))
    assert "does not exist" in r.stderr
    assert r.stdout.strip() == ""


def test_duplicate_id_refused_first_intact(rt, make_bundle):
    b1 = make_bundle(args=["sleep", "1000"])
    b2 = make_bundle(args=["sleep", "1000"])
    cid = unique_id("dup")
    rt.create(cid, b1)
    first = rt.state(cid)

    r = rt.create(cid, b2)
    assert r.returncode != 0, r
    assert r.stderr.strip()
    again = rt.state(cid)
    assert again["pid"] == first["pid"]
    assert again["status"] == "created"
    assert os.path.samefile(again["bundle"], b1)
    assert pid_alive(first["pid"])
    # and it still starts
    rt.ok("start", cid)
    assert rt.wait_status(cid, "running")["pid"] == first["pid"]


def test_list_table_and_json(rt, make_bundle):
    ids = [unique_id("ls"), unique_id("ls")]
    for cid in ids:
        rt.create(cid, make_bundle(args=["sleep", "1000"]))
    rt.ok("start", ids[1])
    rt.wait_status(ids[1], "running")

    table = rt.ok("list").stdout.splitlines()
    assert table[0].split()[:2] == ["ID", "PID"]
    rows = {l.split()[0]: l.split() for l in table[1:] if l.strip()}
    assert set(rows) == set(ids)
    assert "created" in rows[ids[0]] and "running" in rows[ids[1]]

    lst = json.loads(rt.ok("list", "-f", "json").stdout)
    byid = {c["id"]: c for c in lst}
    assert set(byid) == set(ids)
    assert byid[ids[0]]["status"] == "created"
    assert byid[ids[1]]["status"] == "running"
    assert byid[ids[1]]["pid"] == rt.state(ids[1])["pid"]

    q = rt.ok("list", "-q").stdout.split()
    assert sorted(q) == sorted(ids)


def test_list_empty_root(rt):
    # runc prints null, crun []: either is an empty list to go-runc
    assert json.loads(rt.ok("list", "--format", "json").stdout) in (None, [])


@pytest.mark.parametrize("bad", ["bad/id", "bad id", "bad$id", "..", "a:b"])
def test_invalid_id_refused(rt, make_bundle, bad):
    bundle = make_bundle(args=["true"])
    r = rt("create", "--bundle", bundle, bad, stdio_files=True)
    assert r.returncode != 0, r
    assert r.stderr.strip()
    assert os.listdir(rt.root) == []
