# The rest of the runc CLI callers rely on: ps --format json, run --detach, spec, features,
# --version, and --log/--log-format json (the log file containerd and podman parse on errors).
import datetime
import json
import os
import re
import shutil

import pytest

from runtime_util import pid_alive, rt, unique_id  # noqa: F401


def test_ps_json_lists_init(rt, make_bundle):
    cid = unique_id("ps")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    pid = rt.wait_status(cid, "running")["pid"]
    pids = json.loads(rt.ok("ps", "--format", "json", cid).stdout)
    assert pids == [pid]
    assert json.loads(rt.ok("ps", "-f", "json", cid).stdout) == [pid]


def test_ps_unknown_container(rt):
    r = rt("ps", "--format", "json", unique_id("nope"))
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_run_detach(rt, make_bundle):
    cid = unique_id("rund")
    r = rt.run(cid, make_bundle(args=["sleep", "1000"]), "--detach", stdio_files=True)
    assert r.returncode == 0, r
    st = rt.state(cid)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])


def test_run_detach_pid_file(rt, make_bundle, tmp_path):
    cid = unique_id("rundp")
    pidfile = tmp_path / "run.pid"
    r = rt.run(cid, make_bundle(args=["sleep", "1000"]), "-d", "--pid-file", pidfile,
               stdio_files=True)
    assert r.returncode == 0, r
    assert pidfile.read_text() == str(rt.state(cid)["pid"])


def test_spec_writes_default_config(rt, tmp_path, busybox_rootfs):
    d = tmp_path / "specdir"
    d.mkdir()
    rt.ok("spec", cwd=d)
    assert os.listdir(d) == ["config.json"]
    spec = json.loads((d / "config.json").read_text())
    assert spec["process"]["args"] == ["sh"]
    assert spec["root"]["path"] == "rootfs"
    assert re.match(r"^1\.\d+\.\d+", spec["ociVersion"])
    assert {n["type"] for n in spec["linux"]["namespaces"]} >= {"pid", "mount", "network",
                                                               "ipc", "uts"}
    assert spec["process"]["noNewPrivileges"] is True
    assert "/proc/kcore" in spec["linux"]["maskedPaths"]
    assert "/proc/sys" in spec["linux"]["readonlyPaths"]
    # never overwrites
    r = rt("spec", cwd=d)
    assert r.returncode != 0
    assert json.loads((d / "config.json").read_text()) == spec

    # and the default runs as is (with output through pipes instead of a terminal)
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sh", "-c", "echo from-spec; hostname"]
    (d / "config.json").write_text(json.dumps(spec))
    shutil.copytree(busybox_rootfs, d / "rootfs", symlinks=True)
    r = rt.run(unique_id("spec"), d)
    assert r.returncode == 0, r
    assert r.stdout.split() == ["from-spec", spec["hostname"]]


def test_spec_bundle_flag(rt, tmp_path):
    d = tmp_path / "specb"
    d.mkdir()
    rt.ok("spec", "--bundle", d)
    assert json.loads((d / "config.json").read_text())["process"]["args"] == ["sh"]


def test_features(rt):
    f = json.loads(rt.ok("features").stdout)
    assert re.match(r"^1\.0\.\d+", f["ociVersionMin"])
    assert re.match(r"^1\.\d+\.\d+", f["ociVersionMax"])
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer",
                               "startContainer", "poststart", "poststop"}
    lx = f["linux"]
    assert set(lx["namespaces"]) >= {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}
    assert "CAP_SYS_ADMIN" in lx["capabilities"]
    assert lx["seccomp"]["enabled"] is True
    assert "SCMP_ACT_ERRNO" in lx["seccomp"]["actions"]
    assert lx["cgroup"]["v1"] is True


def test_version(rt):
    r = rt.ok("--version")
    lines = r.stdout.splitlines()
    assert re.match(r"^\S+ version \S+", lines[0]), lines
    assert any(re.match(r"^spec: 1\.\d+\.\d+", l) for l in lines), lines


def parse_log(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def test_log_json_on_error(rt, tmp_path):
    log = tmp_path / "log.json"
    fmt = ("--log", log, "--log-format", "json")
    for _ in range(2):
        r = rt("state", unique_id("nope"), global_args=fmt)
        assert r.returncode != 0
    entries = parse_log(log)
    errors = [e for e in entries if e.get("level") == "error"]
    assert len(errors) == 2, entries  # appended, never truncated
    for e in errors:
        assert "does not exist" in e["msg"]
        t = e["time"].replace("Z", "+00:00")
        t = re.sub(r"(\.\d{6})\d+", r"\1", t)  # Python takes at most microseconds
        datetime.datetime.fromisoformat(t)


def test_log_json_create_failure(rt, make_bundle, tmp_path):
    # how containerd learns why create failed: the last "error" msg of the log file
    log = tmp_path / "log.json"
    b = make_bundle(args=["/no/such/program"])
    cid = unique_id("logc")
    r = rt("create", "--bundle", b, cid, global_args=("--log", log, "--log-format", "json"),
           stdio_files=True)
    rt.ids.add(cid)
    assert r.returncode != 0
    errors = [e for e in parse_log(log) if e.get("level") == "error"]
    assert errors, parse_log(log)
    assert "/no/such/program" in errors[-1]["msg"] or "no such file" in errors[-1]["msg"].lower()


def test_unknown_command(rt):
    r = rt("no-such-command")
    assert r.returncode != 0
    assert r.stderr.strip()
