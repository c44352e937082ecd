"""Tests of the busybox fixtures themselves, checked with real peers: Debian's runc runs
the bundle, skopeo and umoci read the OCI layout, skopeo reads the docker archive."""

import filecmp
import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

import busybox
from conftest import REPO, require_binary, require_tool


def run_with_runc(bundle, tmp_path):
    """`runc run` the bundle with its own --root; the container is deleted afterwards."""
    runc = require_tool("runc")
    root = tmp_path / "runc-root"
    cid = f"fixture-{uuid.uuid4().hex[:8]}"
    try:
        return subprocess.run(
            [runc, "--root", str(root), "run", "--bundle", str(bundle), cid], capture_output=True, text=True, timeout=60
        )
    finally:
        subprocess.run([runc, "--root", str(root), "delete", "--force", cid], capture_output=True)


def test_rootfs_has_every_applet(busybox_rootfs):
    applets = busybox.busybox_applets()
    assert "bin/sh" in applets and len(applets) > 100
    bb = busybox_rootfs / "bin/busybox"
    assert bb.is_file() and not bb.is_symlink()
    assert filecmp.cmp(bb, busybox.BUSYBOX, shallow=False)
    assert os.stat(bb).st_mode & 0o111
    for applet in applets:
        if applet == "bin/busybox":
            continue
        link = busybox_rootfs / applet
        assert link.is_symlink(), applet
        target = os.readlink(link)
        assert not os.path.isabs(target), f"{applet} -> {target}: must be relative to work in any root"
        assert (link.parent / target).resolve() == bb.resolve(), applet


def test_rootfs_files_and_modes(busybox_rootfs):
    passwd = (busybox_rootfs / "etc/passwd").read_text()
    users = {line.split(":")[0]: line.split(":")[2] for line in passwd.splitlines()}
    assert users == {"root": "0", "nobody": "65534", "user": "1000"}
    groups = (busybox_rootfs / "etc/group").read_text()
    assert "root:x:0:" in groups and "user:x:1000:" in groups
    assert stat.S_IMODE(os.stat(busybox_rootfs / "tmp").st_mode) == 0o1777
    for d in ("root", "proc", "sys", "dev"):
        assert (busybox_rootfs / d).is_dir(), d
    assert os.listdir(busybox_rootfs / "proc") == [] and os.listdir(busybox_rootfs / "dev") == []


def test_default_spec_equals_runc_spec(tmp_path):
    runc = require_tool("runc")
    subprocess.run([runc, "spec"], cwd=tmp_path, check=True)
    theirs = json.loads((tmp_path / "config.json").read_text())
    assert busybox.default_spec(terminal=True) == theirs
    ours = busybox.default_spec(args=["true"])
    assert ours["process"]["terminal"] is False and ours["process"]["args"] == ["true"]


def test_bundle_runs_under_runc(make_bundle, tmp_path):
    bundle = make_bundle(args=["sh", "-c", "echo hello from $(hostname); echo pid $$; exit 3"])
    assert (bundle / "rootfs/bin/busybox").is_file()
    res = run_with_runc(bundle, tmp_path)
    assert res.returncode == 3, res.stderr
    assert res.stdout.splitlines() == ["hello from runc", "pid 1"]


def test_make_bundle_mutate_and_private_rootfs(make_bundle, busybox_rootfs, tmp_path):
    def mutate(spec):
        spec["hostname"] = "mutated"
        spec["root"]["readonly"] = False

    bundle = make_bundle(args=["sh", "-c", "hostname; echo written > /etc/motd"], mutate=mutate)
    res = run_with_runc(bundle, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "mutated"
    assert (bundle / "rootfs/etc/motd").read_text() == "written\n"
    assert not (busybox_rootfs / "etc/motd").exists(), "a bundle must not write into the shared rootfs"


def test_oci_layout_is_reproducible(tmp_path):
    a = busybox.make_oci_layout(str(tmp_path / "a"))
    b = busybox.make_oci_layout(str(tmp_path / "b"))
    assert a == b


def test_oci_layout_skopeo_inspect(busybox_oci):
    skopeo = require_tool("skopeo")
    res = subprocess.run([skopeo, "inspect", f"oci:{busybox_oci}:latest"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    index = json.loads((busybox_oci / "index.json").read_text())
    assert info["Digest"] == index["manifests"][0]["digest"]
    assert info["Os"] == "linux" and info["Architecture"] == busybox._oci_arch()
    assert len(info["Layers"]) == 1
    res = subprocess.run([skopeo, "inspect", "--config", f"oci:{busybox_oci}:latest"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    config = json.loads(res.stdout)
    assert config["config"]["Cmd"] == ["sh"]
    assert config["rootfs"]["type"] == "layers" and len(config["rootfs"]["diff_ids"]) == 1
    assert config["history"]


def test_oci_layout_umoci_unpack(busybox_oci, tmp_path):
    umoci = require_tool("umoci")
    dest = tmp_path / "unpacked"
    res = subprocess.run([umoci, "unpack", "--image", f"{busybox_oci}:latest", str(dest)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rootfs = dest / "rootfs"
    assert filecmp.cmp(rootfs / "bin/busybox", busybox.BUSYBOX, shallow=False)
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert os.readlink(rootfs / "usr/bin/env") == "../../bin/busybox"
    assert stat.S_IMODE(os.stat(rootfs / "tmp").st_mode) == 0o1777
    assert "user:x:1000:1000" in (rootfs / "etc/passwd").read_text()
    config = json.loads((dest / "config.json").read_text())
    assert config["process"]["args"] == ["sh"]


def test_docker_archive(busybox_docker_archive):
    with tarfile.open(busybox_docker_archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        # skopeo writes the fully qualified name; `docker load` reads it as busybox:latest
        assert manifest[0]["RepoTags"] == ["docker.io/library/busybox:latest"]
        assert len(manifest[0]["Layers"]) == 1
        config = json.load(tar.extractfile(manifest[0]["Config"]))
        assert config["config"]["Cmd"] == ["sh"]
    skopeo = require_tool("skopeo")
    res = subprocess.run([skopeo, "inspect", f"docker-archive:{busybox_docker_archive}"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["Os"] == "linux" and len(info["Layers"]) == 1


def test_cli_writes_bundle(tmp_path):
    script = REPO / "tests/fixtures/busybox.py"
    res = subprocess.run(
        [sys.executable, str(script), "bundle", str(tmp_path / "b"), "--", "echo", "hi"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    spec = json.loads((tmp_path / "b/config.json").read_text())
    assert spec["process"]["args"] == ["echo", "hi"]
    assert (tmp_path / "b/rootfs/bin/sh").is_symlink()
    res = subprocess.run([sys.executable, str(script), "rootfs", str(tmp_path / "b")], capture_output=True, text=True)
    assert res.returncode == 1 and "not empty" in res.stderr


def test_missing_binary_fails_unless_allowed(tmp_path, monkeypatch):
    missing = tmp_path / "berth-nothing"
    monkeypatch.delenv("BERTH_ALLOW_MISSING", raising=False)
    with pytest.raises(pytest.fail.Exception):
        require_binary(missing)
    monkeypatch.setenv("BERTH_ALLOW_MISSING", "1")
    with pytest.raises(pytest.skip.Exception):
        require_binary(missing)
    present = Path(busybox.BUSYBOX)
    assert require_binary(present) == str(present)
