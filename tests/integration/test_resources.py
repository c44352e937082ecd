"""Resource limits and security options through berth, the real docker CLI and docker-py:
the limits land in the container's own cgroup files (cgroup v1 here, v2 where mounted),
an over-allocating container is OOM-killed and reported, a fork loop stops at the pids
limit, `update` changes a running container's limits, and bad input creates nothing."""

import json
import os
import subprocess
import time

import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left, ok, wait_until  # noqa: F401

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgfile(cid, controller, name):
    """Read a container's cgroup file: v1 /sys/fs/cgroup/<controller>/berth/<id>/<name>,
    v2 /sys/fs/cgroup/berth/<id>/<name>."""
    path = (f"/sys/fs/cgroup/berth/{cid}/{name}" if V2
            else f"/sys/fs/cgroup/{controller}/berth/{cid}/{name}")
    with open(path) as f:
        return f.read().strip()


def inspect(berth, name):
    res = berth("inspect", name)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)[0]


def run_d(berth, *args):
    res = berth("run", "-d", *args)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.mark.skipif(V2, reason="v1 file names")
def test_limits_land_in_the_cgroup(berth, busybox_image):
    cid = run_d(berth, "--name", "lim", "-m", "32m", "--memory-reservation", "16m",
                "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0",
                "--pids-limit", "20", busybox_image, "sleep", "300")
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(32 << 20)
    assert cgfile(cid, "memory", "memory.soft_limit_in_bytes") == str(16 << 20)
    # --cpus 0.5: half of the default 100 ms period
    assert cgfile(cid, "cpu", "cpu.cfs_period_us") == "100000"
    assert cgfile(cid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgfile(cid, "cpu", "cpu.shares") == "512"
    assert cgfile(cid, "cpuset", "cpuset.cpus") == "0"
    assert cgfile(cid, "pids", "pids.max") == "20"
    hc = inspect(berth, "lim")["HostConfig"]
    assert hc["Memory"] == 32 << 20
    assert hc["NanoCpus"] == 500000000
    assert hc["PidsLimit"] == 20
    # Docker's default swap: as much as the memory again
    if os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        assert hc["MemorySwap"] == 64 << 20
        assert cgfile(cid, "memory", "memory.memsw.limit_in_bytes") == str(64 << 20)


@pytest.mark.skipif(V2, reason="v1 file names")
def test_cpu_quota_and_period(berth, busybox_image):
    cid = run_d(berth, "--cpu-period", "50000", "--cpu-quota", "25000", busybox_image,
                "sleep", "300")
    assert cgfile(cid, "cpu", "cpu.cfs_period_us") == "50000"
    assert cgfile(cid, "cpu", "cpu.cfs_quota_us") == "25000"


def test_oom_kill_reported(berth, busybox_image):
    res = berth("run", "--name", "oom", "-m", "8m", "--memory-swap", "8m", busybox_image, "sh",
                "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived")
    assert res.returncode == 137, (res.returncode, res.stdout, res.stderr)
    assert "survived" not in res.stdout
    st = inspect(berth, "oom")["State"]
    assert st["OOMKilled"] is True
    assert st["ExitCode"] == 137
    events = berth("events", "--since", "0", "--until", str(int(time.time()) + 2), "--filter",
                   "container=oom", "--format", "{{.Action}}")
    assert events.returncode == 0, events.stderr
    actions = events.stdout.split()
    assert "oom" in actions and "die" in actions
    assert actions.index("oom") < actions.index("die")


def test_fork_loop_stops_at_pids_limit(berth, busybox_image):
    # An inner shell forks sleepers until the kernel refuses; the outer one then stays.
    cid = run_d(berth, "--name", "forks", "--pids-limit", "10", busybox_image, "sh", "-c",
                'sh -c "for i in \\$(seq 30); do sleep 300 & done"; echo loop-ended; '
                "exec sleep 300")
    assert cgfile(cid, "pids", "pids.max") == "10"
    wait_until(lambda: "loop-ended" in berth("logs", "forks").stdout, "the fork loop to end")
    logs = berth("logs", "forks")
    assert "can't fork" in logs.stderr, (logs.stdout, logs.stderr)
    current = int(cgfile(cid, "pids", "pids.current"))
    assert 2 <= current <= 10, current
    assert inspect(berth, "forks")["HostConfig"]["PidsLimit"] == 10


@pytest.mark.skipif(V2, reason="v1 file names")
def test_update_running_container(berth, busybox_image):
    cid = run_d(berth, "--name", "upd", "-m", "32m", busybox_image, "sleep", "300")
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(32 << 20)
    res = berth("update", "-m", "48m", "--pids-limit", "30", "--cpus", "0.25", "upd")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "upd\n"
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(48 << 20)
    assert cgfile(cid, "pids", "pids.max") == "30"
    assert cgfile(cid, "cpu", "cpu.cfs_quota_us") == "25000"
    hc = inspect(berth, "upd")["HostConfig"]
    assert (hc["Memory"], hc["PidsLimit"], hc["NanoCpus"]) == (48 << 20, 30, 250000000)
    # below the minimum: refused, nothing changed
    res = berth("update", "-m", "2m", "upd")
    assert res.returncode == 1
    assert "Minimum memory limit allowed is 6MB" in res.stderr
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(48 << 20)
    # persisted: a restart of the container applies the updated limit
    assert berth("restart", "-t", "0", "upd").returncode == 0
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(48 << 20)
    # the restart policy too
    assert berth("update", "--restart", "on-failure:2", "upd").returncode == 0
    assert inspect(berth, "upd")["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 2}


BAD = [
    (["-m", "3m"], "Minimum memory limit allowed is 6MB"),
    (["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB"),
    (["-m", "10m", "--memory-reservation", "20m"],
     "Minimum memory limit can not be less than memory reservation limit"),
    (["-m", "20m", "--memory-swap", "10m"],
     "Minimum memoryswap limit should be larger than memory limit"),
    (["--cpus", "64"], "Range of CPUs is from 0.01 to"),
    (["--cpus", "1", "--cpu-quota", "20000"], "Nano CPUs and CPU Quota cannot both be set"),
    (["--cpu-period", "10"], "CPU cfs period can not be less than 1ms"),
    (["--cpuset-cpus", "63"], "Requested CPUs are not available"),
    (["--cpuset-cpus", "a-b"], "Invalid value a-b for cpuset cpus"),
    (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
    (["--cap-add", "NOPE"], 'invalid CapAdd: unknown capability: "CAP_NOPE"'),
    (["--cap-drop", "NOPE"], 'invalid CapDrop: unknown capability: "CAP_NOPE"'),
    (["--security-opt", "bogus=1"], 'invalid --security-opt 2: "bogus=1"'),
    (["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname=x' is not allowed"),
    (["--device", "/dev/does-not-exist"], "error gathering device information"),
    (["--ulimit", "bogus=1"], "invalid ulimit type: bogus"),
    (["--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000"],
     "cpu real-time runtime cannot be higher than cpu real-time period"),
    (["--restart", "always", "--health-interval", "100us", "--health-cmd", "true"],
     "Interval in Healthcheck cannot be less than 1ms"),
]


@pytest.mark.parametrize("flags,message", BAD, ids=[" ".join(f) for f, _ in BAD])
def test_bad_input_creates_nothing(berth, berthd, busybox_image, flags, message):
    layers_before = sorted(os.listdir(berthd.data_root))
    res = berth("run", "-d", "--name", "bad", *flags, busybox_image, "true")
    assert res.returncode == 125, (res.returncode, res.stderr)
    assert message in res.stderr, res.stderr
    assert berth("ps", "-aq").stdout == ""
    assert berth("inspect", "bad").returncode != 0
    assert sorted(os.listdir(berthd.data_root)) == layers_before
    containers = berthd.data_root / "containers"
    assert not containers.exists() or os.listdir(containers) == []


def test_security_options(berth, busybox_image, tmp_path):
    out = berth("run", "--rm", "--security-opt", "no-new-privileges", busybox_image, "grep",
                "NoNewPrivs", "/proc/self/status")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["NoNewPrivs:", "1"]
    # CAP_NET_ADMIN is bit 12: nothing but it after dropping ALL
    out = berth("run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", busybox_image,
                "grep", "CapEff", "/proc/self/status")
    assert out.stdout.split() == ["CapEff:", "0000000000001000"], out.stderr
    # a seccomp profile file refusing mkdir
    prof = tmp_path / "prof.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    out = berth("run", "--rm", "--security-opt", f"seccomp={prof}", busybox_image, "mkdir", "/x")
    assert out.returncode == 1
    assert "Operation not permitted" in out.stderr
    out = berth("run", "--rm", "--security-opt", "seccomp=unconfined", busybox_image, "mkdir",
                "/x")
    assert out.returncode == 0, out.stderr
    # ulimits, shm size, sysctl, group-add, device
    out = berth("run", "--rm", "--ulimit", "nofile=100:200", "--shm-size", "10m", "--sysctl",
                "net.ipv4.ip_forward=1", "--group-add", "123", "--device",
                "/dev/null:/dev/mynull", busybox_image, "sh", "-c",
                "ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1; "
                "cat /proc/sys/net/ipv4/ip_forward; id -G; echo x > /dev/mynull && echo devok")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "100" and lines[1] == "200"
    assert lines[2].split()[1] == "10240"
    assert lines[3] == "1"
    assert "123" in lines[4].split()
    assert lines[5] == "devok"


def test_privileged_gets_the_daemons_capabilities(berth, busybox_image):
    out = berth("run", "--rm", "--privileged", busybox_image, "grep", "CapEff",
                "/proc/self/status")
    assert out.returncode == 0, out.stderr
    with open("/proc/self/status") as f:
        mine = [line.split()[1] for line in f if line.startswith("CapBnd")][0]
    assert out.stdout.split()[1] == mine


@pytest.mark.skipif(V2, reason="v1 file names")
def test_docker_cli_limits_and_update(docker, dimage):
    cid = ok(docker("run", "-d", "--name", "dk", "-m", "64m", "--cpus", "0.5", "--pids-limit",
                    "50", dimage, "sleep", "300")).strip()
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cgfile(cid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgfile(cid, "pids", "pids.max") == "50"
    ok(docker("update", "--memory", "96m", "--memory-swap", "200m", "dk"))
    assert cgfile(cid, "memory", "memory.limit_in_bytes") == str(96 << 20)
    assert cgfile(cid, "memory", "memory.memsw.limit_in_bytes") == str(200 << 20)
    res = docker("run", "--rm", "-m", "1m", dimage, "true")
    assert res.returncode == 125
    assert "Minimum memory limit allowed is 6MB" in res.stderr
    res = docker("run", "--rm", "--cap-add", "BOGUS", dimage, "true")
    assert res.returncode == 125
    assert "unknown capability" in res.stderr
    # the OOM kill through docker: exit 137 and OOMKilled
    res = docker("run", "--name", "doom", "-m", "8m", "--memory-swap", "8m", dimage, "sh", "-c",
                 "x=$(head -c 100000000 /dev/zero | tr '\\0' a)")
    assert res.returncode == 137
    assert ok(docker("inspect", "-f", "{{.State.OOMKilled}}", "doom")).strip() == "true"


@pytest.mark.skipif(V2, reason="v1 file names")
def test_dockerpy_limits_and_update(nothing_left, berthd, busybox_docker_archive):
    dockerpy = pytest.importorskip("docker")
    client = dockerpy.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    try:
        with open(busybox_docker_archive, "rb") as f:
            client.images.load(f.read())
        c = client.containers.run("busybox:latest", ["sleep", "300"], detach=True,
                                  mem_limit="40m", nano_cpus=300000000, pids_limit=15)
        assert cgfile(c.id, "memory", "memory.limit_in_bytes") == str(40 << 20)
        assert cgfile(c.id, "cpu", "cpu.cfs_quota_us") == "30000"
        assert cgfile(c.id, "pids", "pids.max") == "15"
        c.update(mem_limit="80m", memswap_limit="160m")
        assert cgfile(c.id, "memory", "memory.limit_in_bytes") == str(80 << 20)
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 80 << 20
        with pytest.raises(dockerpy.errors.APIError) as exc:
            client.containers.create("busybox:latest", ["true"], mem_limit="2m")
        assert "Minimum memory limit allowed is 6MB" in str(exc.value)
        assert exc.value.status_code == 400
        c.remove(force=True)
    finally:
        client.close()


def test_exec_options_and_errors(berth, busybox_image, docker, dimage):
    run_d(berth, "--name", "ex", busybox_image, "sleep", "300")
    assert berth("exec", "-u", "nobody", "ex", "id", "-u").stdout == "65534\n"
    assert berth("exec", "-u", "1234:5678", "ex", "id").stdout == "uid=1234 gid=5678\n"
    assert berth("exec", "-e", "A=1", "-w", "/tmp", "ex", "sh", "-c", "echo $A $PWD").stdout == \
        "1 /tmp\n"
    assert berth("exec", "-d", "ex", "sh", "-c", "echo bg > /tmp/bg").returncode == 0
    wait_until(lambda: berth("exec", "ex", "cat", "/tmp/bg").stdout == "bg\n", "the detached exec")
    with open("/proc/self/status") as f:
        bnd = [line.split()[1] for line in f if line.startswith("CapBnd")][0]
    priv = berth("exec", "--privileged", "ex", "grep", "CapEff", "/proc/self/status")
    assert priv.stdout.split()[1] == bnd
    plain = berth("exec", "ex", "grep", "CapEff", "/proc/self/status")
    assert plain.stdout.split()[1] != bnd
    # errors: a clear line and Docker's exit codes, from berth and from the docker CLI
    res = berth("exec", "-w", "/nonexistent", "ex", "pwd")
    assert res.returncode == 126
    assert "OCI runtime exec failed" in res.stdout + res.stderr
    assert "Unrecognized input header" not in res.stdout + res.stderr
    res = berth("exec", "ex", "no-such-command")
    assert res.returncode == 127
    assert "executable file not found" in res.stdout + res.stderr
    ok(docker("run", "-d", "--name", "dex", dimage, "sleep", "300"))
    res = docker("exec", "-w", "/nonexistent", "dex", "pwd")
    assert res.returncode == 126
    assert "OCI runtime exec failed" in res.stdout + res.stderr
    assert "Unrecognized input header" not in res.stdout + res.stderr


@pytest.mark.skipif(V2, reason="v1 file names")
def test_oom_kill_disable_and_blkio_weight(berth, busybox_image):
    cid = run_d(berth, "--oom-kill-disable", "-m", "32m", "--memory-swap", "-1", busybox_image,
                "sleep", "300")
    assert "oom_kill_disable 1" in cgfile(cid, "memory", "memory.oom_control").splitlines()
    hc = json.loads(berth("inspect", cid).stdout)[0]["HostConfig"]
    assert hc["OomKillDisable"] is True and hc["MemorySwap"] == -1
    if os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        # -1: no swap limit at all
        assert int(cgfile(cid, "memory", "memory.memsw.limit_in_bytes")) > 1 << 40
    if os.path.exists("/sys/fs/cgroup/blkio/blkio.weight"):
        cid = run_d(berth, "--blkio-weight", "300", busybox_image, "sleep", "300")
        assert cgfile(cid, "blkio", "blkio.weight") == "300"


RT_PARENT = "/sys/fs/cgroup/cpu/berth/cpu.rt_runtime_us"
RT_ROOT = "/sys/fs/cgroup/cpu/cpu.rt_runtime_us"


def _write_rt_parent(value):
    try:
        with open(RT_PARENT, "w") as f:
            f.write(str(value))
        return True
    except OSError:  # a removed container's cgroup may hold its budget a moment longer
        return False


@pytest.mark.skipif(V2 or not os.path.exists(RT_ROOT), reason="cgroup v1 real-time files")
@pytest.mark.berthd_config({"cpu-rt-runtime": 100000})
def test_cpu_rt_runtime_within_the_daemons_budget(berth, busybox_image):
    """berthd --cpu-rt-runtime gives the containers' parent cgroup a real-time budget (as
    dockerd's): a container's --cpu-rt-runtime then lands in its cgroup, and update changes
    it. The parent's budget goes back to what it was at the end."""
    with open(RT_ROOT) as f:
        assert int(f.read()) >= 100000, "the host's root cgroup has no real-time budget"
    try:
        with open(RT_PARENT) as f:
            before = int(f.read())
    except OSError:
        before = 0
    try:
        cid = run_d(berth, "--cpu-rt-runtime", "40000", "--cpu-rt-period", "1000000",
                    busybox_image, "sleep", "300")
        assert cgfile(cid, "cpu", "cpu.rt_runtime_us") == "40000"
        assert cgfile(cid, "cpu", "cpu.rt_period_us") == "1000000"
        with open(RT_PARENT) as f:
            assert int(f.read()) == 100000
        hc = inspect(berth, cid)["HostConfig"]
        assert (hc["CpuRealtimeRuntime"], hc["CpuRealtimePeriod"]) == (40000, 1000000)
        assert berth("update", "--cpu-rt-runtime", "60000", cid).returncode == 0
        assert cgfile(cid, "cpu", "cpu.rt_runtime_us") == "60000"
        assert inspect(berth, cid)["HostConfig"]["CpuRealtimeRuntime"] == 60000
        # more than the parent's budget: the kernel refuses, the start fails clearly
        res = berth("run", "--rm", "--cpu-rt-runtime", "200000", busybox_image, "true")
        assert res.returncode != 0
        assert "cpu.rt_runtime_us" in res.stderr and "Invalid argument" in res.stderr
        assert berth("rm", "-f", cid).returncode == 0
    finally:
        wait_until(lambda: _write_rt_parent(before), "the parent's real-time budget restored")


@pytest.mark.skipif(V2 or not os.path.exists(RT_ROOT), reason="cgroup v1 real-time files")
def test_cpu_rt_runtime_without_a_daemon_budget_fails_to_start(berth, busybox_image):
    try:
        with open(RT_PARENT) as f:
            if int(f.read()) != 0:
                pytest.skip("another daemon gave the parent cgroup a real-time budget")
    except OSError:
        pass
    assert berth("create", "--name", "rt", "--cpu-rt-runtime", "40000", busybox_image,
                 "true").returncode == 0
    res = berth("start", "rt")
    assert res.returncode != 0
    assert "cpu.rt_runtime_us" in res.stderr and "Invalid argument" in res.stderr
    st = inspect(berth, "rt")["State"]
    assert st["Running"] is False and "cpu.rt_runtime_us" in st["Error"]


def test_create_warnings(berth, busybox_image, docker, dimage):
    """dockerd's create-time Warnings, which the clients print as "WARNING: ..."."""
    oom = ("WARNING: OOM killer is disabled for the container, but no memory limit is set, "
           "this can result in the system running out of resources.")
    res = berth("create", "--oom-kill-disable", busybox_image, "true")
    assert res.returncode == 0, res.stderr
    assert oom in res.stderr
    res = docker("create", "--oom-kill-disable", dimage, "true")
    assert res.returncode == 0, res.stderr
    assert oom in res.stderr
    res = berth("create", "--oom-kill-disable", "-m", "32m", busybox_image, "true")
    assert res.returncode == 0 and "WARNING" not in res.stderr, res.stderr
    res = berth("create", "--net", "host", "-p", "8080:80", busybox_image, "true")
    assert res.returncode == 0, res.stderr
    assert "WARNING: Published ports are discarded when using host network mode" in res.stderr
