"""Health checks: a passing probe turns the container healthy, a failing one unhealthy
after its retries, a hanging one is killed at its timeout; State.Health in inspect, the
status in ps, health_status events; HEALTHCHECK from the image config and --no-healthcheck;
the docker CLI and docker-py see the same."""

import json
import time

import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from docker_util import dimage, docker, nothing_left, ok, wait_until  # noqa: F401


def health(berth, name):
    res = berth("inspect", "-f", "{{json .State.Health}}", name)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def status_is(berth, name, want):
    h = health(berth, name)
    return h if h and h["Status"] == want else None


def test_passing_probe_turns_healthy(berth, busybox_image):
    berth("run", "-d", "--name", "h1", "--health-cmd", "echo probing; true", "--health-interval",
          "200ms", busybox_image, "sleep", "300")
    h = wait_until(lambda: status_is(berth, "h1", "healthy"), "healthy")
    assert h["FailingStreak"] == 0
    assert h["Log"][-1]["ExitCode"] == 0
    assert h["Log"][-1]["Output"] == "probing\n"
    ps = berth("ps", "--filter", "name=h1", "--format", "{{.Status}}").stdout
    assert ps.strip().endswith("(healthy)"), ps
    cfg = json.loads(berth("inspect", "-f", "{{json .Config.Healthcheck}}", "h1").stdout)
    assert cfg["Test"] == ["CMD-SHELL", "echo probing; true"]
    assert cfg["Interval"] == 200000000


def test_failing_probe_turns_unhealthy_after_retries(berth, busybox_image):
    berth("run", "-d", "--name", "h2", "--health-cmd", "echo bad >&2; exit 1",
          "--health-interval", "200ms", "--health-retries", "3", busybox_image, "sleep", "300")
    h = wait_until(lambda: status_is(berth, "h2", "unhealthy"), "unhealthy")
    assert h["FailingStreak"] >= 3
    assert all(entry["ExitCode"] == 1 and entry["Output"] == "bad\n" for entry in h["Log"])
    # only the last 5 results are kept
    wait_until(lambda: health(berth, "h2")["FailingStreak"] >= 7, "more probes")
    assert len(health(berth, "h2")["Log"]) == 5
    events = berth("events", "--since", "0", "--until", str(int(time.time()) + 2), "--filter",
                   "container=h2", "--format", "{{.Action}}").stdout.splitlines()
    assert "health_status: unhealthy" in events
    assert "health_status: healthy" not in events
    assert berth("ps", "--filter", "name=h2", "--format",
                 "{{.Status}}").stdout.strip().endswith("(unhealthy)")


def test_hanging_probe_is_killed_at_timeout(berth, busybox_image):
    berth("run", "-d", "--name", "h3", "--health-cmd", "sleep 1000", "--health-interval",
          "200ms", "--health-timeout", "300ms", "--health-retries", "2", busybox_image, "sleep",
          "300")
    h = wait_until(lambda: status_is(berth, "h3", "unhealthy"), "unhealthy")
    assert h["Log"][0]["ExitCode"] == -1
    assert h["Log"][0]["Output"] == "Health check exceeded timeout (300ms)"
    # the killed probes do not pile up in the container
    ps = berth("exec", "h3", "ps", "-o", "args")
    assert ps.stdout.count("sleep 1000") <= 1, ps.stdout


def test_start_period_does_not_count_failures(berth, busybox_image):
    berth("run", "-d", "--name", "h4", "--health-cmd", "exit 1", "--health-interval", "100ms",
          "--health-retries", "1", "--health-start-period", "1h", busybox_image, "sleep", "300")
    wait_until(lambda: len(health(berth, "h4")["Log"]) >= 3, "three probes")
    h = health(berth, "h4")
    assert h["Status"] == "starting"
    assert h["FailingStreak"] == 0
    assert berth("ps", "--filter", "name=h4", "--format",
                 "{{.Status}}").stdout.strip().endswith("(health: starting)")


def test_no_healthcheck_and_conflicts(berth, busybox_image):
    res = berth("run", "-d", "--name", "h5", "--no-healthcheck", busybox_image, "sleep", "300")
    assert res.returncode == 0, res.stderr
    assert health(berth, "h5") is None
    res = berth("run", "-d", "--no-healthcheck", "--health-cmd", "true", busybox_image, "true")
    assert res.returncode == 125
    assert "--no-healthcheck conflicts with --health-* options" in res.stderr
    res = berth("run", "-d", "--health-retries", "-1", busybox_image, "true")
    assert res.returncode == 125
    assert berth("ps", "-aq").stdout.split() == [berth("inspect", "-f", "{{.Id}}", "h5")
                                                 .stdout.strip()[:12]]


def test_docker_cli_and_dockerpy_health(docker, dimage, berthd):
    ok(docker("run", "-d", "--name", "dh", "--health-cmd", "exit 0", "--health-interval", "200ms",
              dimage, "sleep", "300"))
    wait_until(lambda: ok(docker("inspect", "-f", "{{.State.Health.Status}}", "dh")).strip()
               == "healthy", "healthy through docker")
    assert "(healthy)" in ok(docker("ps", "--filter", "name=dh", "--format", "{{.Status}}"))
    dockerpy = pytest.importorskip("docker")
    client = dockerpy.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    try:
        c = client.containers.run(dimage, ["sleep", "300"], detach=True, healthcheck={
            "test": ["CMD", "false"], "interval": 200000000, "retries": 2})
        wait_until(lambda: (c.reload() or c.attrs["State"]["Health"]["Status"]) == "unhealthy",
                   "unhealthy through docker-py")
        c.remove(force=True)
    finally:
        client.close()


def _archive_with_healthcheck(src, dest, healthcheck, tag):
    """A copy of a docker-archive with Healthcheck set in its image config (renamed to its
    new digest) and tagged `tag`."""
    import hashlib
    import io
    import tarfile
    with tarfile.open(src) as tin, tarfile.open(dest, "w") as tout:
        manifest = json.load(tin.extractfile("manifest.json"))
        old = manifest[0]["Config"]
        config = json.load(tin.extractfile(old))
        config["config"]["Healthcheck"] = healthcheck
        blob = json.dumps(config, separators=(",", ":")).encode()
        new = hashlib.sha256(blob).hexdigest() + ".json"
        manifest[0]["Config"] = new
        manifest[0]["RepoTags"] = [tag]
        for m in tin.getmembers():
            if m.name in (old, "manifest.json", "repositories"):
                continue
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        for name, data in ((new, blob), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_healthcheck_from_the_image(berth, busybox_docker_archive, tmp_path):
    archive = tmp_path / "hc.tar"
    _archive_with_healthcheck(busybox_docker_archive, archive, {
        "Test": ["CMD-SHELL", "exit 1"], "Interval": 200000000, "Retries": 1}, "hc:latest")
    res = berth("load", "-i", archive)
    assert res.returncode == 0, res.stderr
    berth("run", "-d", "--name", "img", "hc:latest", "sleep", "300")
    h = wait_until(lambda: status_is(berth, "img", "unhealthy"), "the image's check to fail")
    assert h["Log"][-1]["ExitCode"] == 1
    # --health-cmd replaces the image's test, its interval stays
    berth("run", "-d", "--name", "img2", "--health-cmd", "true", "hc:latest", "sleep", "300")
    wait_until(lambda: status_is(berth, "img2", "healthy"), "healthy with the user's test")
    cfg = json.loads(berth("inspect", "-f", "{{json .Config.Healthcheck}}", "img2").stdout)
    assert cfg["Test"] == ["CMD-SHELL", "true"] and cfg["Interval"] == 200000000
    # --no-healthcheck disables it
    berth("run", "-d", "--name", "img3", "--no-healthcheck", "hc:latest", "sleep", "300")
    assert health(berth, "img3") is None


def test_probes_are_execs_in_events(berth, busybox_image, docker, dimage):
    """As dockerd: each probe shows as exec_create, exec_start and exec_die of one execID
    (with its exit code), before the health_status it leads to."""
    berth("run", "-d", "--name", "h9", "--health-cmd", "exit 0", "--health-interval", "200ms",
          busybox_image, "sleep", "300")
    wait_until(lambda: status_is(berth, "h9", "healthy"), "healthy")
    res = berth("events", "--since", "0", "--until", str(int(time.time()) + 2), "--filter",
                "container=h9", "--format", "{{json .}}")
    assert res.returncode == 0, res.stderr
    evs = [json.loads(line) for line in res.stdout.splitlines()]
    actions = [ev["Action"] for ev in evs]
    create = actions.index("exec_create: /bin/sh -c exit 0")
    xid = evs[create]["Actor"]["Attributes"]["execID"]
    mine = [ev for ev in evs if ev["Actor"]["Attributes"].get("execID") == xid]
    assert [ev["Action"] for ev in mine] == [
        "exec_create: /bin/sh -c exit 0", "exec_start: /bin/sh -c exit 0", "exec_die"]
    assert mine[-1]["Actor"]["Attributes"]["exitCode"] == "0"
    assert actions.index("health_status: healthy") > create
    # the docker CLI shows them too
    out = ok(docker("events", "--since", "0", "--until", str(int(time.time()) + 2), "--filter",
                    "container=h9", "--filter", "event=exec_die", "--format", "{{.Action}}"))
    assert out.splitlines() and set(out.splitlines()) == {"exec_die"}
