# Bad input: a config the runtime cannot or must not run gets one clear error line on stderr,
# a non-zero exit, and leaves nothing behind (no state dir, no cgroup, no mount, no process),
# whether it is caught while parsing or only half way through setting the container up.
import json
import os

import pytest

from runtime_util import check_nothing_left, rt, unique_id  # noqa: F401


def error_line(r):
    """The single line a user sees; runc/logrus and crun both print one line per error."""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one error line, got {r.stderr!r}"
    return lines[0]


def create_fails(rt, bundle, *extra, cid=None):
    cid = cid or unique_id("bad")
    r = rt.create(cid, bundle, *extra)
    assert r.returncode != 0, r
    line = error_line(r)
    # checked right away, before the fixture's delete --force could tidy up
    left = check_nothing_left(rt)
    assert not left, f"left behind: {left}"
    assert "does not exist" in rt("state", cid).stderr
    return line


def set_path(c, keys, value):
    for k in keys[:-1]:
        c = c.setdefault(k, {})
    c[keys[-1]] = value


def test_malformed_json(rt, make_bundle):
    b = make_bundle(args=["true"])
    (b / "config.json").write_text('{"ociVersion": "1.0.2", "process": {"args": ["true"')
    create_fails(rt, b)


def test_wrong_type(rt, make_bundle):
    b = make_bundle(args=["true"], mutate=lambda c: c["process"].update(args="true"))
    create_fails(rt, b)


def test_missing_config(rt, make_bundle):
    b = make_bundle(args=["true"])
    os.unlink(b / "config.json")
    create_fails(rt, b)


def test_missing_bundle(rt, tmp_path):
    create_fails(rt, tmp_path / "no-such-bundle")


def test_missing_rootfs(rt, make_bundle):
    b = make_bundle(args=["true"], mutate=lambda c: c["root"].update(path="no-such-rootfs"))
    line = create_fails(rt, b)
    assert "no-such-rootfs" in line or "rootfs" in line.lower(), line


# runc 1.1 only warns ("ignoring unknown or unavailable capabilities") and runs; the issue
# asks for an error, so runc fails these.
@pytest.mark.parametrize("capset", ["bounding", "effective"])
def test_unknown_capability(rt, make_bundle, capset):
    def mutate(c):
        c["process"]["capabilities"][capset].append("CAP_NO_SUCH_THING")
    line = create_fails(rt, make_bundle(args=["true"], mutate=mutate))
    assert "CAP_NO_SUCH_THING" in line, line


def seccomp(action="SCMP_ACT_ERRNO", name="mkdir"):
    def mutate(c):
        c["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": [name], "action": action}]}
    return mutate


def test_unknown_seccomp_action(rt, make_bundle):
    line = create_fails(rt, make_bundle(args=["true"], mutate=seccomp(action="SCMP_ACT_NOPE")))
    assert "SCMP_ACT_NOPE" in line, line


def test_unknown_syscall_name(rt, make_bundle):
    # The issue asks for an error here. runc 1.1 ignores unknown syscall names (so that
    # profiles listing newer syscalls still load) and fails this test.
    line = create_fails(rt, make_bundle(args=["true"], mutate=seccomp(name="no_such_syscall")))
    assert "no_such_syscall" in line, line


def test_unknown_namespace_type(rt, make_bundle):
    def mutate(c):
        c["linux"]["namespaces"].append({"type": "nonsense"})
    create_fails(rt, make_bundle(args=["true"], mutate=mutate))


def test_namespace_path_missing(rt, make_bundle, tmp_path):
    missing = tmp_path / "no-such-netns"

    def mutate(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                    if n["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": str(missing)})
    create_fails(rt, make_bundle(args=["true"], mutate=mutate))


def test_bad_mount_type_fails_late_and_cleans_up(rt, make_bundle):
    # caught only inside the new mount namespace, after cgroups and namespaces exist
    def mutate(c):
        c["linux"]["resources"]["pids"] = {"limit": 100}
        c["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "x"})
    create_fails(rt, make_bundle(args=["true"], mutate=mutate))


def test_missing_program_fails_and_cleans_up(rt, make_bundle):
    def mutate(c):
        c["linux"]["resources"]["pids"] = {"limit": 100}
    line = create_fails(rt, make_bundle(args=["/no/such/program"], mutate=mutate))
    assert "/no/such/program" in line, line


def test_duplicate_id_leaves_first_and_nothing_else(rt, make_bundle):
    cid = unique_id("dup")
    b1 = make_bundle(args=["sleep", "1000"])
    assert rt.create(cid, b1).returncode == 0
    first = rt.state(cid)
    b2 = make_bundle(args=["sleep", "1000"])
    r = rt.create(cid, b2)
    assert r.returncode != 0, r
    error_line(r)
    assert rt.state(cid)["pid"] == first["pid"]
    assert os.path.samefile(rt.state(cid)["bundle"], b1)
    assert [d for d in os.listdir(rt.root)] == [cid]
    with open("/proc/self/mountinfo") as f:
        assert str(b2) not in f.read()


def test_run_with_bad_config_fails_too(rt, make_bundle):
    cid = unique_id("badrun")
    r = rt.run(cid, make_bundle(args=["true"], mutate=seccomp(action="SCMP_ACT_NOPE")))
    assert r.returncode != 0
    error_line(r)
    assert not check_nothing_left(rt)
