"""`pull --all-tags`: every tag of a repository on Debian's docker-registry (127.0.0.1),
through `berth pull -a` and through the docker CLI's `docker pull -a` (which sends fromImage
without a tag parameter)."""

import json

import pytest  # noqa: F401

from daemon_util import berth, berthd  # noqa: F401  (fixtures)
from docker_util import docker, nothing_left  # noqa: F401  (fixtures)
from registry_util import layer_tar, push_image, registry  # noqa: F401


def ok(res):
    assert res.returncode == 0, f"rc={res.returncode}\nstdout={res.stdout}\nstderr={res.stderr}"
    return res.stdout


def three_tags(registry, repo):
    """Tags a, b (images A and B) and c (image A again); returns {tag: config digest}."""
    _, _, cfg_a, _ = push_image(registry, repo, "a", [layer_tar({"who": b"A\n"})])
    _, _, cfg_b, _ = push_image(registry, repo, "b", [layer_tar({"who": b"B\n"})])
    _, _, cfg_c, _ = push_image(registry, repo, "c", [layer_tar({"who": b"A\n"})])
    assert cfg_a == cfg_c
    return {"a": cfg_a, "b": cfg_b, "c": cfg_c}


def tagged(berth, name):
    out = ok(berth("images", "--no-trunc", "--format", "{{json .}}", name))
    rows = [json.loads(line) for line in out.splitlines()]
    return {r["Tag"]: r["ID"] for r in rows}


def test_berth_pull_all_tags(berth, registry):
    want = three_tags(registry, "all/tags")
    name = f"{registry.host}/all/tags"
    out = ok(berth("pull", "-a", name))
    assert "Using default tag" not in out
    assert out.strip().splitlines()[-1] == name
    assert f"Status: Downloaded newer image for {name}" in out, out
    assert tagged(berth, name) == want
    # again: nothing new
    out = ok(berth("pull", "--all-tags", name))
    assert f"Status: Image is up to date for {name}" in out, out
    # a tag and -a together are refused before anything is asked of the daemon
    res = berth("pull", "-a", f"{name}:a")
    assert res.returncode != 0
    assert "tag can't be used with --all-tags/-a" in res.stderr, res.stderr
    # an unknown repository fails, and nothing is pulled
    res = berth("pull", "-a", f"{registry.host}/no/such")
    assert res.returncode != 0
    assert tagged(berth, f"{registry.host}/no/such") == {}


def test_docker_cli_pull_all_tags(docker, berth, registry):
    want = three_tags(registry, "dk/all")
    name = f"{registry.host}/dk/all"
    out = ok(docker("pull", "-a", name))
    assert "Using default tag" not in out
    assert tagged(berth, name) == want
    # without -a the docker CLI pulls one tag only (it sends tag=latest): here "b"
    ok(docker("rmi", f"{name}:a", f"{name}:b", f"{name}:c"))
    ok(docker("pull", f"{name}:b"))
    assert tagged(berth, name) == {"b": want["b"]}
