"""commit, diff and export with the berth CLI: -m/-a/-c reach the image, the container is
paused during a commit unless --pause=false (seen in the daemon's events), diff lists the
writable layer's changes and export streams the whole filesystem."""

import io
import json
import subprocess
import tarfile
import time

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


def ok(res):
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr)
    return res.stdout


def events(berth, since, until, name):
    out = ok(berth("events", "--since", str(since), "--until", str(until), "--format",
                   "{{json .}}", "--filter", f"container={name}"))
    return [json.loads(line)["Action"] for line in out.splitlines()]


def test_commit_message_author_change_and_pause(berth, busybox_image):
    ok(berth("run", "-d", "--name", "live", busybox_image, "sh", "-c",
             "echo data > /made && sleep 300"))
    ok(berth("exec", "live", "test", "-f", "/made"))
    since = int(time.time()) - 1
    img = ok(berth("commit", "-m", "a message", "-a", "Someone <s@example.com>",
                   "-c", "ENV COMMITTED=yes", "live", "snap:one")).strip()
    assert img.startswith("sha256:")
    ok(berth("commit", "--pause=false", "live", "snap:two"))
    until = int(time.time()) + 1
    acts = events(berth, since, until, "live")
    # the first commit paused and unpaused the container; the second did not
    assert acts.count("pause") == 1 and acts.count("unpause") == 1
    assert acts.count("commit") == 2
    assert acts.index("pause") < acts.index("commit") < acts.index("unpause")
    info = json.loads(ok(berth("image", "inspect", "snap:one")))[0]
    assert info["Id"] == img
    assert info["Comment"] == "a message"
    assert info["Author"] == "Someone <s@example.com>"
    assert "COMMITTED=yes" in info["Config"]["Env"]
    assert ok(berth("run", "--rm", "snap:one", "cat", "/made")) == "data\n"
    assert ok(berth("inspect", "-f", "{{.State.Status}}", "live")) == "running\n"
    res = berth("commit", "nosuch", "x:y")
    assert res.returncode == 1 and "No such container" in res.stderr


def test_diff_and_export(berth, berthd, build_dir, busybox_image, tmp_path):
    ok(berth("run", "--name", "changed", busybox_image, "sh", "-c",
             "mkdir /newdir && echo x > /newdir/f && rm /etc/group && echo y >> /etc/passwd"))
    lines = ok(berth("diff", "changed")).splitlines()
    assert "A /newdir" in lines and "A /newdir/f" in lines
    assert "D /etc/group" in lines and "C /etc/passwd" in lines and "C /etc" in lines
    ok(berth("export", "-o", tmp_path / "fs.tar", "changed"))
    names = tarfile.open(tmp_path / "fs.tar").getnames()
    assert "newdir/f" in names and "bin/busybox" in names and "etc/group" not in names
    res = subprocess.run([str(build_dir / "berth"), "-H", berthd.host, "export", "changed"],
                         capture_output=True, timeout=60)
    assert res.returncode == 0
    t = tarfile.open(fileobj=io.BytesIO(res.stdout))
    assert t.extractfile("etc/passwd").read().endswith(b"y\n")
    assert berth("diff", "nosuch").returncode == 1
