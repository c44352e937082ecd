# OCI hooks: prestart, createRuntime, createContainer, startContainer, poststart and poststop
# run in order, each with the container's state JSON on stdin; a failing hook makes its
# command fail and leaves no container behind.
import json
import os

import pytest

from runtime_util import (add_bind, cgroup_dirs_named, pid_gone, rt, unique_id,  # noqa: F401
                          wait_for)

HOST_HOOKS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def recorder(outdir, name, sh="/bin/sh"):
    """A hook that saves its stdin to <outdir>/<name>.json, its env and argv, and appends
    its name to <outdir>/order."""
    return {
        "path": sh,
        "args": ["sh", "-c",
                 f'cat > {outdir}/{name}.json; echo "$HOOKVAR" > {outdir}/{name}.env; '
                 f'echo "$0 $1" > {outdir}/{name}.argv; echo {name} >> {outdir}/order',
                 "hook-argv0", name],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", f"HOOKVAR=var-{name}"],
    }


@pytest.fixture
def shared(tmp_path):
    d = tmp_path / "shared"
    d.mkdir()
    return d


def test_all_hooks_run_in_order_with_state(rt, make_bundle, shared):
    cid = unique_id("hooks")

    def mutate(c):
        add_bind(c, shared, "/out")
        c["hooks"] = {name: [recorder(shared, name)] for name in HOST_HOOKS}
        # startContainer runs in the container: its path and files are the container's
        c["hooks"]["startContainer"] = [recorder("/out", "startContainer", sh="/bin/sh")]
    bundle = make_bundle(args=["true"], mutate=mutate)

    r = rt.create(cid, bundle)
    assert r.returncode == 0, r
    pid = rt.state(cid)["pid"]
    assert (shared / "order").read_text().split() == ["prestart", "createRuntime",
                                                      "createContainer"]
    rt.ok("start", cid)
    rt.wait_status(cid, "stopped")
    # runc 1.1 runs poststart already in create (fixed in runc 1.2); the spec says after start
    assert (shared / "order").read_text().split() == [
        "prestart", "createRuntime", "createContainer", "startContainer", "poststart"]
    rt.ok("delete", cid)
    order = (shared / "order").read_text().split()
    assert order == ["prestart", "createRuntime", "createContainer", "startContainer",
                     "poststart", "poststop"]

    for name in order:
        st = json.loads((shared / f"{name}.json").read_text())
        assert st["id"] == cid, (name, st)
        assert os.path.samefile(st["bundle"], bundle), (name, st)
        assert st["ociVersion"], (name, st)
        assert (shared / f"{name}.env").read_text() == f"var-{name}\n"
        assert (shared / f"{name}.argv").read_text() == f"hook-argv0 {name}\n"
        if name in ("createContainer", "startContainer"):
            # run in the container's namespaces: runc reports the pid there (1)
            assert st["pid"] in (pid, 1), (name, st)
        elif name != "poststop":
            assert st["pid"] == pid, (name, st)
    statuses = {n: json.loads((shared / f"{n}.json").read_text())["status"] for n in order}
    # runtime-spec: creating while the container is being made, created once it is,
    # running after start, stopped after it ended
    assert statuses["prestart"] in ("creating", "created")
    assert statuses["createRuntime"] in ("creating", "created")
    assert statuses["createContainer"] in ("creating", "created")
    assert statuses["poststop"] == "stopped"


def test_poststart_sees_running(rt, make_bundle, shared):
    cid = unique_id("hookrun")

    def mutate(c):
        c["hooks"] = {"poststart": [recorder(shared, "poststart")]}
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate))
    assert r.returncode == 0, r
    # runc 1.1 fails here: it runs poststart in create (fixed in runc 1.2)
    assert not (shared / "poststart.json").exists()
    rt.ok("start", cid)
    st = json.loads((shared / "poststart.json").read_text())
    assert st["status"] == "running"
    assert st["pid"] == rt.state(cid)["pid"]


def test_poststop_runs_on_force_delete(rt, make_bundle, shared):
    cid = unique_id("hookstop")

    def mutate(c):
        c["hooks"] = {"poststop": [recorder(shared, "poststop")]}
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate))
    assert r.returncode == 0, r
    rt.ok("start", cid)
    rt.ok("delete", "--force", cid)
    st = json.loads((shared / "poststop.json").read_text())
    assert st["id"] == cid


@pytest.mark.parametrize("hook", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_leaves_nothing(rt, make_bundle, shared, hook):
    cid = unique_id("hookfail")

    def mutate(c):
        c["hooks"] = {hook: [{"path": "/bin/sh",
                              "args": ["sh", "-c", f"cat > {shared}/state.json; "
                                       "echo hook-says-no >&2; exit 3"]}]}
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate))
    assert r.returncode != 0, r
    assert r.stderr.strip()
    # the hook did run (with a live init), and that init is gone now
    pid = json.loads((shared / "state.json").read_text())["pid"]
    assert pid > 0
    if hook != "createContainer":  # in the container's pid namespace runc reports pid 1
        wait_for(lambda: pid_gone(pid), what=f"init {pid} to be gone")
    assert not os.path.exists(os.path.join(rt.root, cid))
    assert cgroup_dirs_named(cid) == []
    assert "does not exist" in rt("state", cid).stderr


def test_missing_hook_binary_fails_create(rt, make_bundle):
    cid = unique_id("hookmiss")

    def mutate(c):
        c["hooks"] = {"prestart": [{"path": "/no/such/hook"}]}
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate))
    assert r.returncode != 0, r
    assert not os.path.exists(os.path.join(rt.root, cid))


def test_hook_timeout(rt, make_bundle):
    cid = unique_id("hooktmo")

    def mutate(c):
        c["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "60"],
                                    "timeout": 1}]}
    r = rt.create(cid, make_bundle(args=["sleep", "1000"], mutate=mutate))
    assert r.returncode != 0, r
    assert not os.path.exists(os.path.join(rt.root, cid))
