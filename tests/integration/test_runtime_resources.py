# Cgroup resources through the runtime: limits written to the container's cgroup, a memory
# limit that OOM-kills, a pids limit that stops a fork loop, pause/resume with the freezer,
# and `update` changing limits of a running container. Works on cgroup v1 (this host) and v2.
import json
import os

import pytest

from runtime_util import (add_bind, cgroup_file, cgroup_v2, proc_status, rt,  # noqa: F401
                          unique_id, wait_file, wait_for)

MiB = 1024 * 1024


def start_sleeper(rt, make_bundle, resources=None, tag="res", mutate=None, cid=None):
    def m(c):
        if resources:
            c["linux"]["resources"].update(resources)
        if mutate:
            mutate(c)
    cid = cid or unique_id(tag)
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=m))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    return cid, rt.wait_status(cid, "running")["pid"]


def read_cg(pid, v1, v2):
    with open(cgroup_file(pid, v1, v2)) as f:
        return f.read().strip()


def test_limits_written_to_cgroup(rt, make_bundle):
    res = {
        "memory": {"limit": 48 * MiB, "reservation": 24 * MiB},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 42},
    }
    cid, pid = start_sleeper(rt, make_bundle, res)
    assert int(read_cg(pid, "memory/memory.limit_in_bytes", "memory.max")) == 48 * MiB
    assert int(read_cg(pid, "memory/memory.soft_limit_in_bytes", "memory.low")) == 24 * MiB
    assert read_cg(pid, "pids/pids.max", "pids.max") == "42"
    assert read_cg(pid, "cpuset/cpuset.cpus", "cpuset.cpus") == "0"
    if cgroup_v2():
        assert read_cg(pid, "", "cpu.max") == "50000 100000"
    else:
        assert read_cg(pid, "cpu/cpu.shares", "") == "512"
        assert read_cg(pid, "cpu/cpu.cfs_quota_us", "") == "50000"
        assert read_cg(pid, "cpu/cpu.cfs_period_us", "") == "100000"
    # the init is in the same cgroup in every hierarchy the runtime manages, and it is a
    # cgroup of its own (not the runtime caller's)
    with open("/proc/self/cgroup") as f:
        mine = f.read()
    with open(f"/proc/{pid}/cgroup") as f:
        theirs = f.read()
    assert theirs != mine


def test_memory_limit_oom_kills(rt, make_bundle):
    # $(...) makes the shell hold the whole 64 MiB string: a real allocation in busybox sh.
    alloc = 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived ${#x}'

    def limit(c):
        c["linux"]["resources"]["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    r = rt.run(unique_id("oom"), make_bundle(args=["sh", "-c", alloc], mutate=limit))
    assert r.returncode == 137, r
    assert "survived" not in r.stdout


def test_allocator_survives_without_limit(rt, make_bundle):
    # The control for the OOM test: the same allocation fits when there is no limit.
    alloc = 'x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived ${#x}'
    r = rt.run(unique_id("nooom"), make_bundle(args=["sh", "-c", alloc]))
    assert r.returncode == 0, r
    assert r.stdout.strip() == "survived 67108864"


def test_pids_limit_stops_fork_loop(rt, make_bundle):
    script = ("for i in $(seq 20); do sleep 100 & done; "
              "echo forked $(ls -d /proc/[0-9]* | wc -l); kill $(jobs -p) 2>/dev/null; exit 0")

    def limit(c):
        c["linux"]["resources"]["pids"] = {"limit": 10}
    r = rt.run(unique_id("pids"), make_bundle(args=["sh", "-c", script], mutate=limit))
    assert "can't fork" in r.stderr, r


def test_pids_unlimited_control(rt, make_bundle):
    script = "for i in $(seq 20); do sleep 100 & done; echo ok"
    r = rt.run(unique_id("pidsok"), make_bundle(args=["sh", "-c", script]))
    assert r.returncode == 0, r
    assert "can't fork" not in r.stderr
    assert r.stdout.strip() == "ok"


def test_pause_resume(rt, make_bundle, tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    cid, pid = start_sleeper(rt, make_bundle, tag="pause")

    rt.ok("pause", cid)
    assert rt.status(cid) == "paused"
    if cgroup_v2():
        assert read_cg(pid, "", "cgroup.freeze") == "1"
    else:
        wait_for(lambda: read_cg(pid, "freezer/freezer.state", "") == "FROZEN" or None,
                 what="freezer FROZEN")
    # a frozen task sleeps uninterruptibly (TASK_FROZEN shows as D)
    assert proc_status(pid)["State"].startswith("D"), proc_status(pid)["State"]
    # exec into a paused container is refused
    assert rt("exec", cid, "true").returncode != 0
    # pausing twice is an error; resume of a running container is an error
    assert rt("pause", cid).returncode != 0

    rt.ok("resume", cid)
    assert rt.status(cid) == "running"
    if cgroup_v2():
        assert read_cg(pid, "", "cgroup.freeze") == "0"
    else:
        assert read_cg(pid, "freezer/freezer.state", "") == "THAWED"
    assert proc_status(pid)["State"].startswith("S")
    assert rt("resume", cid).returncode != 0


def test_paused_process_makes_no_progress_until_resumed(rt, make_bundle, tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    # The counter writes a new value each turn; while frozen the value is fixed, and after
    # resume it moves on. We compare values before/after, never durations.
    script = "i=0; while true; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; sleep 0.02; done"
    cid = unique_id("frz")
    r = rt.create(cid, make_bundle(args=["sh", "-c", script],
                                   mutate=lambda c: add_bind(c, out, "/out")))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    wait_file(out / "n", "2")
    rt.ok("pause", cid)
    frozen_value = (out / "n").read_text()
    # every process of the container is frozen: their state is D
    pid = rt.state(cid)["pid"]
    assert proc_status(pid)["State"].startswith("D")
    rt.ok("resume", cid)
    wait_for(lambda: (out / "n").read_text() not in ("", frozen_value) or None,
             what="counter to move after resume")


def test_update_resources_file(rt, make_bundle, tmp_path):
    cid, pid = start_sleeper(rt, make_bundle, {"memory": {"limit": 32 * MiB}}, tag="upd")
    assert int(read_cg(pid, "memory/memory.limit_in_bytes", "memory.max")) == 32 * MiB
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 64 * MiB}, "pids": {"limit": 33}}))
    rt.ok("update", "--resources", f, cid)
    assert int(read_cg(pid, "memory/memory.limit_in_bytes", "memory.max")) == 64 * MiB
    assert read_cg(pid, "pids/pids.max", "pids.max") == "33"
    assert rt.status(cid) == "running"


def test_update_resources_stdin(rt, make_bundle):
    # containerd's shim passes the LinuxResources JSON on stdin: --resources=-
    cid, pid = start_sleeper(rt, make_bundle, {"pids": {"limit": 50}}, tag="updin")
    r = rt("update", "--resources=-", cid, input=json.dumps({"pids": {"limit": 25}}))
    assert r.returncode == 0, r
    assert read_cg(pid, "pids/pids.max", "pids.max") == "25"


def test_update_flags(rt, make_bundle):
    cid, pid = start_sleeper(rt, make_bundle, {"memory": {"limit": 32 * MiB}}, tag="updf")
    rt.ok("update", "--memory", str(40 * MiB), "--pids-limit", "17", cid)
    assert int(read_cg(pid, "memory/memory.limit_in_bytes", "memory.max")) == 40 * MiB
    assert read_cg(pid, "pids/pids.max", "pids.max") == "17"


def test_update_unknown_container(rt, tmp_path):
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"pids": {"limit": 33}}))
    r = rt("update", "--resources", f, unique_id("nope"))
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_cgroups_path_from_config(rt, make_bundle):
    cid = unique_id("cgp")
    _, pid = start_sleeper(rt, make_bundle, cid=cid,
                           mutate=lambda c: c["linux"].update(cgroupsPath=f"/{cid}"))
    # the named path is the container's cgroup in every hierarchy
    if cgroup_v2():
        assert open(f"/proc/{pid}/cgroup").read().strip().endswith(f"/{cid}")
    else:
        for ctl in ("memory", "pids", "cpu", "freezer", "devices"):
            p = [l for l in open(f"/proc/{pid}/cgroup") if f":{ctl}:" in l or f",{ctl}:" in l
                 or f":{ctl}," in l]
            assert p and p[0].rstrip().endswith(f"/{cid}"), (ctl, p)
        assert os.path.isdir(f"/sys/fs/cgroup/pids/{cid}")
    rt.ok("delete", "-f", cid)
    assert not os.path.exists(f"/sys/fs/cgroup/pids/{cid}")
    assert not os.path.exists(f"/sys/fs/cgroup/memory/{cid}")
