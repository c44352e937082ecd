"""docker-py 5 (Debian's python3-docker, in this same interpreter) against berthd:
containers.run (attached and detached), logs, wait, exec_run, stop/kill/remove, list with
filters, images load/list/get/remove/tag, events with until, attach sockets, and errors mapped
to docker.errors.NotFound / ImageNotFound / APIError / ContainerError."""

import time

import pytest

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)
from docker_util import nothing_left  # noqa: F401  (fixture)

docker = pytest.importorskip("docker")


@pytest.fixture
def client(nothing_left, berthd):
    c = docker.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    yield c
    c.close()


@pytest.fixture
def image(client, busybox_docker_archive):
    with open(busybox_docker_archive, "rb") as f:
        loaded = client.images.load(f.read())
    assert [i.tags for i in loaded] == [["busybox:latest"]]
    return "busybox:latest"


def wait_until(pred, what):
    end = time.monotonic() + DEADLINE
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_version_and_ping(client):
    assert client.ping() is True
    v = client.version()
    assert v["ApiVersion"] == "1.50"
    assert client.api.api_version == "1.50"
    info = client.info()
    assert info["OSType"] == "linux"


def test_run_attached_returns_output(client, image):
    out = client.containers.run(image, ["sh", "-c", "echo hello; echo err >&2"], remove=True)
    assert out == b"hello\n"
    out = client.containers.run(image, ["sh", "-c", "echo a; echo b >&2"], stderr=True,
                                stdout=False, remove=True)
    assert out == b"b\n"
    assert client.containers.list(all=True) == []


def test_run_nonzero_exit_raises_container_error(client, image):
    with pytest.raises(docker.errors.ContainerError) as ei:
        client.containers.run(image, ["sh", "-c", "echo bad >&2; exit 3"], name="failing")
    assert ei.value.exit_status == 3
    assert b"bad" in ei.value.stderr
    c = client.containers.get("failing")
    assert c.status == "exited"
    assert c.attrs["State"]["ExitCode"] == 3
    c.remove()


def test_run_detached_logs_wait(client, image):
    c = client.containers.run(image, ["sh", "-c", "echo one; echo two >&2; sleep 0.2; exit 4"],
                              detach=True, name="det", labels={"app": "x"},
                              environment={"E": "1"}, working_dir="/tmp", user="1000")
    assert c.name == "det"
    assert c.labels == {"app": "x"}
    assert c.wait(timeout=DEADLINE) == {"StatusCode": 4}
    assert c.logs() == b"one\ntwo\n"
    assert c.logs(stderr=False) == b"one\n"
    assert c.logs(stdout=False) == b"two\n"
    assert c.logs(tail=1) in (b"one\n", b"two\n")
    stamped = c.logs(timestamps=True, stderr=False).decode()
    assert stamped.endswith(" one\n") and stamped[:4].isdigit()
    c.reload()
    assert c.status == "exited"
    assert "E=1" in c.attrs["Config"]["Env"]
    assert c.attrs["Config"]["WorkingDir"] == "/tmp"
    assert c.attrs["Config"]["User"] == "1000"
    c.remove()


def test_logs_stream_follows_until_exit(client, image):
    c = client.containers.run(image, ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"],
                              detach=True)
    lines = b"".join(c.logs(stream=True, follow=True))
    assert lines == b"1\n2\n3\n"
    c.remove()


def test_exec_run(client, image):
    c = client.containers.run(image, ["sleep", "60"], detach=True, name="ex")
    res = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 5"])
    assert res.exit_code == 5
    assert res.output == b"out\nerr\n"
    res = c.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert res.exit_code == 0
    assert res.output == (b"out\n", b"err\n")
    res = c.exec_run("id -u", user="1000", environment={"X": "y"}, workdir="/tmp")
    assert res.output == b"1000\n"
    res = c.exec_run(["sh", "-c", "echo $X $(pwd)"], environment={"X": "y"}, workdir="/tmp")
    assert res.output == b"y /tmp\n"
    res = c.exec_run("no-such-binary")
    assert res.exit_code in (126, 127)
    res = c.exec_run(["sh", "-c", "exit 9"], stream=False)
    assert res.exit_code == 9
    c.kill()
    c.wait(timeout=DEADLINE)
    with pytest.raises(docker.errors.APIError) as ei:
        c.exec_run("true")
    assert ei.value.status_code == 409
    c.remove()


def test_stop_kill_remove(client, image):
    c = client.containers.run(
        image, ["sh", "-c", "trap 'exit 11' TERM; echo ready; while true; do sleep 0.1; done"],
        detach=True)
    # stop only once the trap is set: a TERM before it would kill sh outright
    end = time.monotonic() + DEADLINE
    while b"ready" not in c.logs() and time.monotonic() < end:
        time.sleep(0.05)
    c.stop(timeout=30)
    c.reload()
    assert c.attrs["State"]["ExitCode"] == 11
    c.start()
    c.reload()
    assert c.status == "running"
    c.kill(signal="SIGKILL")
    assert c.wait(timeout=DEADLINE)["StatusCode"] == 137
    c2 = client.containers.run(image, ["sleep", "60"], detach=True)
    with pytest.raises(docker.errors.APIError) as ei:
        c2.remove()
    assert ei.value.status_code == 409
    c2.remove(force=True)
    c.remove(v=True)
    assert client.containers.list(all=True) == []
    with pytest.raises(docker.errors.NotFound):
        c.reload()


def test_pause_unpause_rename_restart(client, image):
    c = client.containers.run(image, ["sleep", "60"], detach=True, name="pp")
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.rename("pp2")
    c.reload()
    assert c.name == "pp2"
    pid = c.attrs["State"]["Pid"]
    c.restart(timeout=0)
    c.reload()
    assert c.status == "running" and c.attrs["State"]["Pid"] != pid
    c.remove(force=True)


def test_list_with_filters(client, image):
    a = client.containers.run(image, ["sleep", "60"], detach=True, name="la", labels={"t": "1"})
    b = client.containers.create(image, ["true"], name="lb", labels={"t": "2"})
    cc = client.containers.run(image, ["sh", "-c", "exit 3"], detach=True, name="lc")
    cc.wait(timeout=DEADLINE)
    names = lambda cs: sorted(x.name for x in cs)  # noqa: E731
    assert names(client.containers.list()) == ["la"]
    assert names(client.containers.list(all=True)) == ["la", "lb", "lc"]
    assert names(client.containers.list(all=True, filters={"status": "created"})) == ["lb"]
    assert names(client.containers.list(all=True, filters={"status": ["exited", "running"]})) == \
        ["la", "lc"]
    assert names(client.containers.list(all=True, filters={"label": "t=2"})) == ["lb"]
    assert names(client.containers.list(all=True, filters={"label": "t"})) == ["la", "lb"]
    assert names(client.containers.list(all=True, filters={"name": "lc"})) == ["lc"]
    assert names(client.containers.list(all=True, filters={"id": a.id[:12]})) == ["la"]
    assert names(client.containers.list(all=True, filters={"exited": 3})) == ["lc"]
    assert names(client.containers.list(all=True, filters={"ancestor": "busybox"})) == \
        ["la", "lb", "lc"]
    assert names(client.containers.list(all=True, limit=1)) == ["lc"]
    assert names(client.containers.list(all=True, since=b.id)) == ["lc"]
    assert names(client.containers.list(all=True, before=b.id)) == ["la"]
    assert names(client.containers.list(all=True, filters={"since": "la"})) == ["lb", "lc"]
    for x in (a, b, cc):
        x.remove(force=True)


def test_images_list_get_tag_remove(client, image):
    imgs = client.images.list()
    assert [i.tags for i in imgs] == [["busybox:latest"]]
    img = client.images.get(image)
    assert img.id.startswith("sha256:")
    assert client.images.get(img.id[7:19]).id == img.id
    assert img.tag("mine", "v1") is True
    assert sorted(client.images.get(img.id).tags) == ["busybox:latest", "mine:v1"]
    # filtered by reference (docker-py then re-reads each image whole, with all its tags)
    assert [i.id for i in client.images.list(name="mine")] == [img.id]
    assert client.images.list(name="nosuch") == []
    assert img.history()[0]["Id"] == img.id
    client.images.remove("mine:v1")
    assert client.images.get(img.id).tags == ["busybox:latest"]
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nosuch:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.remove("nosuch:1")
    data = b"".join(img.save())
    client.images.remove(image)
    assert client.images.list() == []
    loaded = client.images.load(data)
    assert loaded[0].id == img.id


def test_unknown_image_is_image_not_found_without_a_pull(client, image):
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("nosuchimage:1")
    # run() tries a pull on 404; the daemon answers it locally, and docker-py gives up
    with pytest.raises((docker.errors.ImageNotFound, docker.errors.NotFound)):
        client.containers.run("nosuchimage:1", "true")
    with pytest.raises((docker.errors.ImageNotFound, docker.errors.NotFound)):
        client.images.pull("nosuchimage", tag="1")
    assert client.containers.list(all=True) == []


def test_errors_map_to_docker_py_exceptions(client, image):
    with pytest.raises(docker.errors.NotFound) as ei:
        client.containers.get("nosuch")
    assert "No such container: nosuch" in str(ei.value)
    client.containers.create(image, name="dupe")
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.create(image, name="dupe")
    assert ei.value.status_code == 409
    assert "is already in use" in ei.value.explanation
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.create(image, name="bad/name")
    assert ei.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as ei:
        client.containers.create(image, environment=["=x"])
    assert ei.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as ei:
        client.api.kill("dupe")
    assert ei.value.status_code == 409
    # a command that does not exist: start fails, the container stays Created
    c = client.containers.create(image, ["no-such-cmd"], name="nocmd")
    with pytest.raises(docker.errors.APIError) as ei:
        c.start()
    assert "executable file not found" in ei.value.explanation
    c.reload()
    assert c.status == "created"
    assert sorted(x.name for x in client.containers.list(all=True)) == ["dupe", "nocmd"]
    client.containers.get("dupe").remove()
    c.remove()


def test_events_with_until(client, image):
    since = time.time()
    c = client.containers.run(image, ["true"], detach=True, name="evt")
    c.wait(timeout=DEADLINE)
    c.remove()
    until = time.time() + 0.5
    evs = list(client.events(since=since, until=until, decode=True,
                             filters={"container": "evt"}))
    actions = [e["Action"] for e in evs]
    assert actions[0] == "create"
    assert "start" in actions and "die" in actions and actions[-1] == "destroy"
    assert all(e["Actor"]["Attributes"]["name"] == "evt" for e in evs)
    assert all(e["id"] == c.id for e in evs)
    typed = list(client.events(since=since, until=until, decode=True,
                               filters={"type": "container", "event": "die"}))
    assert len(typed) == 1 and typed[0]["Actor"]["Attributes"]["exitCode"] == "0"


def test_attach_socket(client, image):
    c = client.containers.create(image, ["sh", "-c", "read x; echo got-$x; exit 2"],
                                 stdin_open=True, name="as")
    sock = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stderr": 1,
                                                  "stream": 1})
    raw = sock._sock
    c.start()
    raw.sendall(b"hi\n")
    data = b""
    raw.settimeout(DEADLINE)
    while True:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    # stdcopy frame: stream 1 (stdout), big-endian length, payload
    assert data[:1] == b"\x01"
    assert data[8:] == b"got-hi\n"
    assert c.wait(timeout=DEADLINE)["StatusCode"] == 2
    c.remove()
