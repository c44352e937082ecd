"""Registry credentials: htpasswd (Basic) on docker-registry 2.8 and the Bearer token flow
(a proxy with its own /token endpoint), through `berth login/push/pull/logout` and the docker
CLI against berthd; a registry mirror for docker.io names."""

import base64
import json
import re

import pytest

from daemon_util import DEADLINE, berth, berthd, busybox_image  # noqa: F401  (fixtures)
from docker_util import docker, nothing_left  # noqa: F401  (fixtures)
from registry_util import (PASSWORD, USER, Proxy, Registry, auth_registry,  # noqa: F401
                           registry)
from test_registry_client import cli, image_ids, ok  # noqa: F401


def test_htpasswd_registry_needs_login(cli, busybox_image, auth_registry, tmp_path):
    target = f"{auth_registry.host}/private/busybox:1"
    ok(cli("tag", busybox_image, target))
    res = cli("push", target)
    assert res.returncode != 0
    assert "unauthorized" in (res.stdout + res.stderr).lower(), res.stdout + res.stderr

    res = cli("login", "-u", USER, "--password-stdin", auth_registry.host, input="wrong\n")
    assert res.returncode != 0
    assert "unauthorized" in res.stderr.lower(), res.stderr
    assert not (tmp_path / "berth-config" / "config.json").exists()

    out = ok(cli("login", "-u", USER, "--password-stdin", auth_registry.host,
                 input=PASSWORD + "\n"))
    assert "Login Succeeded" in out
    stored = json.loads((tmp_path / "berth-config" / "config.json").read_text())
    auth = stored["auths"][auth_registry.host]["auth"]
    assert base64.b64decode(auth).decode() == f"{USER}:{PASSWORD}"

    out = ok(cli("push", target))
    digest = re.search(r"1: digest: (sha256:[0-9a-f]{64})", out).group(1)
    assert auth_registry.manifest("private/busybox", "1")[0] == digest
    image_id = ok(cli("image", "inspect", "--format", "{{.Id}}", target)).strip()
    ok(cli("rmi", target, busybox_image))
    ok(cli("pull", target))
    assert image_ids(cli) == [image_id]

    out = ok(cli("logout", auth_registry.host))
    assert "Removing login credentials" in out
    ok(cli("rmi", target))
    res = cli("pull", target)
    assert res.returncode != 0
    assert image_ids(cli) == []


def test_credentials_from_docker_config_are_used(cli, busybox_image, auth_registry, tmp_path):
    """A `docker login` (Docker's config.json) is honoured by berth as well."""
    tok = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "docker-config" / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": tok}}}))
    target = f"{auth_registry.host}/fromdocker/busybox:1"
    ok(cli("tag", busybox_image, target))
    ok(cli("push", target))


def test_bearer_token_flow_anonymous_and_with_credentials(cli, busybox_image, registry):
    anon = Proxy(registry, token="anon-token")
    creds = Proxy(registry, token="user-token", token_creds=(USER, PASSWORD))
    try:
        # anonymous: the token endpoint hands out a token without credentials
        target = f"{anon.host}/tok/busybox:1"
        ok(cli("tag", busybox_image, target))
        ok(cli("push", target))
        assert any(p.startswith("/token") and a is None for (_, p, _, a) in anon.requests)
        assert any(a == "Bearer anon-token" for (_, p, _, a) in anon.requests
                   if p.startswith("/v2/tok/"))
        ok(cli("rmi", target))

        # credentials: refused until logged in; then the token request carries them
        target2 = f"{creds.host}/tok/busybox:1"
        res = cli("pull", target2)
        assert res.returncode != 0
        res = cli("login", "-u", USER, "-p", "nope", creds.host)
        assert res.returncode != 0
        ok(cli("login", "-u", USER, "-p", PASSWORD, creds.host))
        ok(cli("pull", target2))
        basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        assert any(p.startswith("/token") and a == basic for (_, p, _, a) in creds.requests)
        scopes = [p for (_, p, _, _) in creds.requests if p.startswith("/token")]
        assert any("scope=repository%3Atok%2Fbusybox%3Apull" in p for p in scopes), scopes
    finally:
        anon.stop()
        creds.stop()


def test_docker_cli_login_push_pull(docker, busybox_docker_archive, auth_registry):
    ok(docker("load", "-i", str(busybox_docker_archive)))
    target = f"{auth_registry.host}/dockercli/busybox:7"
    ok(docker("tag", "busybox:latest", target))
    res = docker("login", "-u", USER, "--password-stdin", auth_registry.host, input="bad\n")
    assert res.returncode != 0
    out = ok(docker("login", "-u", USER, "--password-stdin", auth_registry.host,
                    input=PASSWORD + "\n"))
    assert "Login Succeeded" in out
    out = ok(docker("push", target))
    m = re.search(r"7: digest: (sha256:[0-9a-f]{64}) size: \d+", out)
    assert m, out
    assert auth_registry.manifest("dockercli/busybox", "7")[0] == m.group(1)
    ok(docker("rmi", target, "busybox:latest"))
    out = ok(docker("pull", target))
    assert f"Digest: {m.group(1)}" in out, out
    out = ok(docker("run", "--rm", target, "echo", "docker-cli-pulled"))
    assert out.strip() == "docker-cli-pulled"
    ok(docker("logout", auth_registry.host))


def test_docker_cli_run_pulls_a_missing_image(docker, busybox_docker_archive, registry):
    ok(docker("load", "-i", str(busybox_docker_archive)))
    target = f"{registry.host}/auto/busybox:1"
    ok(docker("tag", "busybox:latest", target))
    ok(docker("push", target))
    ok(docker("rmi", target, "busybox:latest"))
    res = docker("run", "--rm", target, "echo", "auto-pulled")
    ok(res)
    assert res.stdout.strip() == "auto-pulled"
    assert "Unable to find image" in res.stderr
    # an unknown docker.io name fails here, at once, without leaving the machine
    res = docker("run", "--rm", "berth-no-such-image", "true", timeout=DEADLINE)
    assert res.returncode != 0
    assert "registry-loopback-only" in res.stderr, res.stderr


def test_dockerpy_pull(berthd, busybox_image, berth, registry):
    import docker as dockerpy
    target = f"{registry.host}/py/busybox"
    ok(berth("tag", busybox_image, target + ":3"))
    ok(berth("push", target + ":3"))
    ok(berth("rmi", target + ":3", busybox_image))
    client = dockerpy.DockerClient(base_url=berthd.host, timeout=DEADLINE)
    try:
        img = client.images.pull(target, tag="3")
        assert target + ":3" in img.tags
        digest = registry.manifest("py/busybox", "3")[0]
        assert f"{target}@{digest}" in img.attrs["RepoDigests"]
        lines = list(client.api.pull(target, tag="3", stream=True, decode=True))
        assert any("Image is up to date" in (m.get("status") or "") for m in lines), lines
    finally:
        client.close()


def _mirror_config(request):
    reg = request.getfixturevalue("registry")
    return {"registry-mirrors": [f"http://{reg.host}"]}


@pytest.mark.berthd_config.with_args(_mirror_config)
def test_docker_io_names_come_from_a_mirror(registry, cli, busybox_image):
    # the mirror holds library/mirrored:1 (pushed there under its own name)
    ok(cli("tag", busybox_image, f"{registry.host}/library/mirrored:1"))
    ok(cli("push", f"{registry.host}/library/mirrored:1"))
    image_id = ok(cli("image", "inspect", "--format", "{{.Id}}", busybox_image)).strip()
    ok(cli("rmi", f"{registry.host}/library/mirrored:1", busybox_image))
    out = ok(cli("pull", "mirrored:1"))
    assert "Pulling from library/mirrored" in out, out
    assert ok(cli("image", "inspect", "--format", "{{.Id}}", "mirrored:1")).strip() == image_id
    # a name the mirror lacks still fails locally
    res = cli("pull", "not-on-the-mirror")
    assert res.returncode != 0
    # pushing to docker.io never uses the mirror and is refused
    res = cli("push", "mirrored:1")
    assert res.returncode != 0
    assert "registry-loopback-only" in (res.stdout + res.stderr)
