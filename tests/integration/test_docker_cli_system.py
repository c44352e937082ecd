"""The real docker CLI 28 against berthd: version, info, events (filters, --since/--until,
following live), and the image commands: images/image ls, inspect, history, rm, tag, load,
save, import, prune."""

import io
import json
import subprocess
import tarfile
import time

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)
from docker_util import docker, dimage, nothing_left, ok, wait_until  # noqa: F401  (fixtures)


def test_version_negotiates_the_latest_api(docker):
    out = ok(docker("version", "--format", "{{json .}}"))
    v = json.loads(out)
    assert v["Server"]["ApiVersion"] == "1.50"
    assert v["Server"]["MinAPIVersion"] == "1.24"
    assert v["Server"]["Os"] == "linux"
    assert v["Client"]["ApiVersion"] == "1.50"
    text = ok(docker("version"))
    assert "Server:" in text and "downgraded" not in text


def test_info_counts_containers_and_images(docker, dimage):
    ok(docker("run", "-d", "--name", "i1", dimage, "sleep", "60"))
    ok(docker("create", "--name", "i2", dimage))
    ok(docker("run", "-d", "--name", "i3", dimage, "sleep", "60"))
    ok(docker("pause", "i3"))
    info = json.loads(ok(docker("info", "--format", "{{json .}}")))
    assert info["Containers"] == 3
    assert info["ContainersRunning"] == 1
    assert info["ContainersPaused"] == 1
    assert info["ContainersStopped"] == 1
    assert info["Images"] == 1
    assert info["OSType"] == "linux"
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    res = docker("info")
    assert res.returncode == 0, res.stderr
    assert "Containers: 3" in res.stdout
    assert "Swarm: inactive" in res.stdout
    ok(docker("unpause", "i3"))


def now_arg():
    """This instant as the CLI's <sec>.<nanos> form: `--until 0s` would be cut to whole
    seconds by the CLI and miss what happened during the current second."""
    t = time.time_ns()
    return f"{t // 10**9}.{t % 10**9:09d}"


def events(docker, *args):
    """Past events as dicts: --since 0 --until <now> replays and ends."""
    out = ok(docker("events", "--since", "0", "--until", now_arg(), "--format", "{{json .}}",
                    *args))
    return [json.loads(ln) for ln in out.splitlines()]


def test_events_replay_with_filters(docker, dimage):
    ok(docker("run", "--name", "ev1", "-l", "team=red", dimage, "true"))
    ok(docker("run", "-d", "--name", "ev2", dimage, "sleep", "60"))
    ok(docker("kill", "ev2"))
    ok(docker("rm", "ev1"))
    acts = [e["Action"] for e in events(docker, "-f", "container=ev1")]
    for want in ("create", "attach", "start", "die", "destroy"):
        assert want in acts, acts
    assert acts.index("create") < acts.index("start") < acts.index("die") < acts.index("destroy")
    die = [e for e in events(docker, "-f", "container=ev1", "-f", "event=die")]
    assert len(die) == 1
    assert die[0]["Actor"]["Attributes"]["exitCode"] == "0"
    assert die[0]["Actor"]["Attributes"]["name"] == "ev1"
    assert die[0]["Actor"]["Attributes"]["team"] == "red"
    assert die[0]["Type"] == "container" and die[0]["status"] == "die"
    assert die[0]["from"] == dimage or die[0]["from"] == "busybox"
    kill = events(docker, "-f", "container=ev2", "-f", "event=kill")
    assert kill and kill[0]["Actor"]["Attributes"]["signal"] == "9"
    by_label = {e["Actor"]["Attributes"]["name"] for e in events(docker, "-f", "label=team=red")}
    assert by_label == {"ev1"}
    types = {e["Type"] for e in events(docker, "-f", "type=image")}
    assert types == {"image"}
    assert "load" in [e["Action"] for e in events(docker, "-f", "type=image")]
    assert events(docker, "-f", "container=nosuch") == []
    # two values of one key are OR-ed
    both = {e["Action"] for e in events(docker, "-f", "container=ev2", "-f", "event=start",
                                        "-f", "event=die")}
    assert both == {"start", "die"}


def test_events_since_until_window(docker, dimage):
    ok(docker("run", "--name", "w1", dimage, "true"))
    all_events = events(docker, "-f", "container=w1")
    start = [e for e in all_events if e["Action"] == "start"][0]
    t = start["timeNano"]
    since = f"{t // 10**9}.{t % 10**9:09d}"
    after = events(docker, "-f", "container=w1", "--since", since)
    # --since is inclusive of the start event and drops the earlier create/attach
    acts = [e["Action"] for e in after]
    assert "start" in acts and "create" not in acts
    before = ok(docker("events", "--since", "0", "--until", since, "--format", "{{.Action}}",
                       "-f", "container=w1")).split()
    assert "create" in before and "die" not in before
    # a window entirely in the future ends at once with nothing
    # (until in the past with since in the future is empty)
    future = ok(docker("events", "--since", "2099-01-01T00:00:00", "--until", now_arg()))
    assert future == ""


def test_events_follow_live(docker, dimage):
    p = subprocess.Popen([docker.binary, "events", "-f", "container=live", "-f", "event=start",
                          "--format", "{{.Action}} {{.Actor.Attributes.name}}"], env=docker.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the subscription may not be in place before the CLI printed nothing; create events
        # until one is seen (each start is a distinct, real event)
        ok(docker("create", "--name", "live", dimage, "true"))
        ok(docker("start", "live"))
        import select
        line = ""
        end = __import__("time").monotonic() + DEADLINE
        while not line and __import__("time").monotonic() < end:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                line = p.stdout.readline()
            else:
                ok(docker("start", "live"))
        assert line == "start live\n"
    finally:
        p.terminate()
        p.wait(DEADLINE)


def test_images_ls_inspect_history(docker, dimage):
    table = ok(docker("images")).splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:2] == ["busybox", "latest"]
    assert ok(docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")) == "busybox:latest\n"
    ids = ok(docker("images", "-q")).split()
    assert len(ids) == 1 and len(ids[0]) == 12
    full = ok(docker("images", "-q", "--no-trunc")).strip()
    assert full.startswith("sha256:") and full[7:19] == ids[0]
    img = json.loads(ok(docker("image", "inspect", dimage)))[0]
    assert img["Id"] == full
    assert img["RepoTags"] == ["busybox:latest"]
    assert img["Os"] == "linux"
    assert img["RootFS"]["Type"] == "layers" and len(img["RootFS"]["Layers"]) >= 1
    assert img["Config"]["Cmd"] == ["sh"] or img["Config"]["Cmd"]
    # by short id and by the fully qualified name
    assert json.loads(ok(docker("image", "inspect", ids[0])))[0]["Id"] == full
    assert json.loads(ok(docker("image", "inspect", "docker.io/library/busybox:latest")))[0]["Id"] == full
    res = docker("image", "inspect", "nosuch:1")
    assert res.returncode == 1 and "No such image: nosuch:1" in res.stderr
    hist = ok(docker("history", dimage)).splitlines()
    assert hist[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert len(hist) >= 2
    hist_json = [json.loads(ln) for ln in ok(docker("history", "--no-trunc", "--format", "{{json .}}",
                                                   dimage)).splitlines()]
    assert hist_json[0]["ID"] == full
    assert docker("history", "nosuch").returncode == 1


def test_tag_and_rmi(docker, dimage):
    ok(docker("tag", dimage, "mine:1"))
    ok(docker("image", "tag", "mine:1", "localhost:5000/team/mine:2"))
    tags = set(ok(docker("images", "--format", "{{.Repository}}:{{.Tag}}")).split())
    assert tags == {"busybox:latest", "mine:1", "localhost:5000/team/mine:2"}
    # filter by reference
    assert ok(docker("images", "--format", "{{.Tag}}", "mine")) == "1\n"
    res = docker("tag", "nosuch", "x:1")
    assert res.returncode == 1 and "No such image: nosuch" in res.stderr
    res = docker("tag", dimage, "Bad:Name")
    assert res.returncode != 0
    # an image referenced by several repositories needs -f when removed by id
    iid = ok(docker("images", "-q", dimage)).strip()
    res = docker("rmi", iid)
    assert res.returncode == 1
    assert "image is referenced in multiple repositories" in res.stderr
    assert ok(docker("rmi", "mine:1")) == "Untagged: mine:1\n"
    assert ok(docker("rmi", "localhost:5000/team/mine:2")) == "Untagged: localhost:5000/team/mine:2\n"
    # in use by a container: refused, forced untags only
    cid = ok(docker("create", "--name", "user", dimage)).strip()
    res = docker("rmi", dimage)
    assert res.returncode == 1
    assert (f'conflict: unable to remove repository reference "{dimage}" (must force) - '
            f"container {cid[:12]} is using its referenced image {iid}") in res.stderr
    res = docker("rmi", iid)
    assert res.returncode == 1
    assert (f"conflict: unable to delete {iid} (must be forced) - image is being used by "
            f"stopped container {cid[:12]}") in res.stderr
    ok(docker("rm", "user"))
    out = ok(docker("rmi", dimage))
    assert out.startswith("Untagged: busybox:latest\nDeleted: sha256:")
    assert ok(docker("images", "-q")) == ""
    res = docker("rmi", dimage)
    assert res.returncode == 1 and "No such image: busybox:latest" in res.stderr


def test_rmi_of_an_image_a_running_container_uses(docker, dimage):
    ok(docker("run", "-d", "--name", "busy", dimage, "sleep", "60"))
    res = docker("rmi", "-f", dimage)
    # moby: the tag may go with -f, the image stays while a running container uses it
    iid = json.loads(ok(docker("inspect", "busy")))[0]["Image"]
    assert docker("image", "inspect", iid).returncode == 0, res.stderr
    ok(docker("rm", "-f", "busy"))


def test_save_and_load_round_trip(docker, dimage, tmp_path):
    ok(docker("tag", dimage, "saved:v1"))
    out = tmp_path / "saved.tar"
    ok(docker("save", "-o", out, "saved:v1"))
    with tarfile.open(out) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["saved:v1"]
    assert manifest[0]["Config"] in names
    ok(docker("rmi", "saved:v1"))
    assert ok(docker("load", "-i", out)) == "Loaded image: saved:v1\n"
    assert "saved:v1" in ok(docker("images", "--format", "{{.Repository}}:{{.Tag}}")).split()
    # save to stdout and load from stdin
    data = subprocess.run([docker.binary, "save", dimage], env=docker.env, capture_output=True,
                          timeout=DEADLINE).stdout
    assert tarfile.open(fileobj=io.BytesIO(data)).getmember("manifest.json")
    ok(docker("rmi", "saved:v1"))
    ok(docker("rmi", dimage))
    res = subprocess.run([docker.binary, "load"], env=docker.env, input=data, capture_output=True,
                         timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"Loaded image: busybox:latest\n"
    res = docker("save", "nosuch:1")
    assert res.returncode == 1


def test_load_of_garbage_fails_cleanly(docker, dimage, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"this is not a tar archive" * 100)
    res = docker("load", "-i", bad)
    assert res.returncode == 1
    assert ok(docker("images", "--format", "{{.Repository}}")) == "busybox\n"


def _rootfs_tar(path):
    """A tiny rootfs tar: /hello (a text file) and /bin/sh, /bin/cat from the host's busybox."""
    with tarfile.open(path, "w") as tf:
        data = b"imported\n"
        ti = tarfile.TarInfo("hello")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("bin")
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
        tf.addfile(ti)
        tf.add("/bin/busybox", "bin/busybox")
        for applet in ("sh", "cat"):
            ti = tarfile.TarInfo(f"bin/{applet}")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            tf.addfile(ti)


def test_import_runs_and_keeps_changes(docker, dimage, tmp_path):
    tar = tmp_path / "rootfs.tar"
    _rootfs_tar(tar)
    res = docker("import", "-c", "CMD [\"/bin/cat\", \"/hello\"]", "-c", "ENV GREETING=hi",
                 "-m", "from a tar", tar, "imported:1")
    assert res.returncode == 0, res.stderr
    iid = res.stdout.strip()
    assert iid.startswith("sha256:")
    img = json.loads(ok(docker("image", "inspect", "imported:1")))[0]
    assert img["Id"] == iid
    assert img["Config"]["Cmd"] == ["/bin/cat", "/hello"]
    assert "GREETING=hi" in img["Config"]["Env"]
    assert img["Comment"] == "from a tar"
    res = docker("run", "--rm", "imported:1")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "imported\n"
    # from stdin
    res = subprocess.run([docker.binary, "import", "-", "fromstdin:1"], env=docker.env,
                         input=tar.read_bytes(), capture_output=True, timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    assert ok(docker("run", "--rm", "fromstdin:1", "/bin/cat", "/hello")) == "imported\n"
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"\x00" * 10 + b"garbage")
    assert docker("import", bad, "bad:1").returncode == 1
    assert "bad" not in ok(docker("images", "--format", "{{.Repository}}")).split()


def test_image_prune(docker, dimage, tmp_path):
    tar = tmp_path / "rootfs.tar"
    _rootfs_tar(tar)
    ok(docker("import", tar, "dangling:1"))
    ok(docker("import", tar, "other:1"))
    # retagging other:1's name onto busybox leaves nothing dangling; untag to make one dangling
    dangling_id = ok(docker("images", "-q", "--no-trunc", "dangling:1")).strip()
    ok(docker("tag", dimage, "dangling:1"))  # moves the tag: the imported image is now untagged
    listing = ok(docker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}"))
    assert f"{dangling_id} <none>" in listing
    assert ok(docker("images", "-q", "--no-trunc", "-f", "dangling=true")).split() == [dangling_id]
    out = ok(docker("image", "prune", "-f"))
    assert f"deleted: {dangling_id}" in out
    assert "Total reclaimed space" in out
    assert docker("image", "inspect", dangling_id).returncode == 1
    # -a removes what no container uses, keeps what one does
    ok(docker("create", "--name", "keeper", "other:1", "/bin/sh"))
    out = ok(docker("image", "prune", "-a", "-f"))
    assert "untagged: busybox:latest" in out
    left = ok(docker("images", "--format", "{{.Repository}}:{{.Tag}}")).split()
    assert left == ["other:1"]
    ok(docker("rm", "keeper"))
