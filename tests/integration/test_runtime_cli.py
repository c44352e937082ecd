# The rest of the runc CLI callers rely on: ps --format json, run --detach, spec, features,
# --version, and --log/--log-format json (the log file containerd and podman parse on errors).
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess

import pytest

from runtime_util import cgroup_dirs_named, pid_alive, rt, unique_id  # noqa: F401


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


def test_run_foreground_forwards_signals(rt, make_bundle):
    # `run` stays the parent: a signal to it reaches the container, whose exit code it returns
    script = ('trap "echo got-term; exit 9" TERM; echo ready; '
              "while true; do sleep 0.05; done")
    cid = unique_id("fwd")
    b = make_bundle(args=["sh", "-c", script])
    rt.ids.add(cid)
    p = subprocess.Popen(rt.argv("run", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == "got-term\n", (out, err)
    assert p.returncode == 9, (p.returncode, err)


def test_listen_fds_passed(rt, make_bundle, tmp_path):
    # systemd socket activation: LISTEN_FDS=N hands fds 3..3+N-1 to the container
    f = tmp_path / "activation"
    f.write_text("socket-activated\n")
    cid = unique_id("listen")
    b = make_bundle(args=["sh", "-c", 'echo "$LISTEN_FDS $LISTEN_PID"; cat <&3'])
    rt.ids.add(cid)
    argv = " ".join(shlex.quote(a) for a in rt.argv("run", "--bundle", str(b), cid))
    # LISTEN_PID must name the runtime itself: exec keeps the shell's pid
    p = subprocess.run(["/bin/sh", "-c", f"export LISTEN_PID=$$ LISTEN_FDS=1; exec {argv} 3<{f}"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p
    assert p.stdout.splitlines() == ["1 1", "socket-activated"]


def test_debug_flag_accepted(rt, make_bundle):
    r = rt.run(unique_id("dbg"), make_bundle(args=["echo", "hi"]), global_args=("--debug",))
    assert r.returncode == 0, r
    assert r.stdout == "hi\n"


def test_no_new_keyring_accepted(rt, make_bundle):
    r = rt.run(unique_id("keyring"), make_bundle(args=["echo", "hi"]), "--no-new-keyring")
    assert r.returncode == 0, r
    assert r.stdout == "hi\n"


def test_cgroup_manager_cgroupfs(rt, make_bundle):
    # crun's flag, which podman passes; runc 1.1 does not know it and fails this
    r = rt.run(unique_id("cgfs"), make_bundle(args=["echo", "hi"]),
               global_args=("--cgroup-manager", "cgroupfs"))
    assert r.returncode == 0, r
    assert r.stdout == "hi\n"


def test_cgroup_manager_disabled(rt, make_bundle):
    # podman --cgroups=disabled: no cgroup is made, the process stays in the caller's
    # runc 1.1 does not know the flag and fails this
    cid = unique_id("nocg")
    r = rt.create(cid, make_bundle(args=["sleep", "1000"]),
                  global_args=("--cgroup-manager", "disabled"))
    assert r.returncode == 0, r
    pid = rt.state(cid)["pid"]
    assert cgroup_dirs_named(cid) == []
    with open("/proc/self/cgroup") as mine, open(f"/proc/{pid}/cgroup") as theirs:
        assert mine.read() == theirs.read()


def test_systemd_cgroup_works_or_says_why(rt, make_bundle):
    # no systemd on this host: either it works, or one clear line and nothing left
    cid = unique_id("sd")

    def mutate(c):
        c["linux"]["cgroupsPath"] = f"system.slice:berth:{cid}"
    r = rt.run(cid, make_bundle(args=["echo", "hi"], mutate=mutate),
               global_args=("--systemd-cgroup",))
    if r.returncode == 0:
        assert r.stdout == "hi\n"
    else:
        assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r
        assert not os.path.exists(os.path.join(rt.root, cid))
        assert cgroup_dirs_named(cid) == []
