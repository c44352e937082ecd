"""HTTPS registries: berthd trusts a registry's CA and presents a client certificate from
its certs.d directory (registry-certs-dir/HOST:PORT/{ca.crt,client.cert,client.key}), and
refuses a registry whose certificate its CA did not sign."""

import re
import shutil
import subprocess

import pytest

from conftest import require_tool
from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)
from registry_util import Registry
from test_registry_client import cli, image_ids, ok  # noqa: F401


def openssl(*args, cwd):
    subprocess.run([require_tool("openssl")] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)


def make_cert(d, ca, name, ext):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout",
            f"{name}.key", "-out", f"{name}.csr", cwd=d)
    (d / f"{name}.ext").write_text(ext + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=d)


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "ca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    make_cert(d, "ca", "client", "extendedKeyUsage=clientAuth")
    return d


@pytest.fixture
def tls_registry(tmp_path, pki):
    r = Registry(tmp_path / "tls-registry", tls={"cert": pki / "server.crt",
                                                 "key": pki / "server.key",
                                                 "clientca": pki / "ca.crt"})
    yield r
    r.stop()


def _certs_config(request):
    reg = request.getfixturevalue("tls_registry")
    pki = request.getfixturevalue("pki")
    certs = pki.parent / "certs.d"
    host = certs / reg.host
    host.mkdir(parents=True)
    shutil.copy(pki / "ca.crt", host / "ca.crt")
    shutil.copy(pki / "client.crt", host / "client.cert")
    shutil.copy(pki / "client.key", host / "client.key")
    return {"registry-certs-dir": str(certs)}


@pytest.mark.berthd_config.with_args(_certs_config)
def test_https_registry_with_ca_and_client_certificate(cli, busybox_image, tls_registry, pki):
    target = f"{tls_registry.host}/tls/busybox:1"
    ok(cli("tag", busybox_image, target))
    out = ok(cli("push", target))
    digest = re.search(r"1: digest: (sha256:[0-9a-f]{64})", out).group(1)
    image_id = ok(cli("image", "inspect", "--format", "{{.Id}}", target)).strip()
    ok(cli("rmi", target, busybox_image))
    out = ok(cli("pull", target))
    assert f"Digest: {digest}" in out
    assert image_ids(cli) == [image_id]

    certs = pki.parent / "certs.d" / tls_registry.host
    # without the client certificate the registry refuses the TLS handshake
    (certs / "client.cert").unlink()
    (certs / "client.key").unlink()
    ok(cli("rmi", target))
    res = cli("pull", target)
    assert res.returncode != 0
    assert image_ids(cli) == []
    # a CA that did not sign the registry's certificate: refused
    shutil.copy(pki / "otherca.crt", certs / "ca.crt")
    shutil.copy(pki / "client.crt", certs / "client.cert")
    shutil.copy(pki / "client.key", certs / "client.key")
    res = cli("pull", target)
    assert res.returncode != 0
    assert "certificate" in res.stderr.lower() or "ssl" in res.stderr.lower(), res.stderr
    assert image_ids(cli) == []
