"""Helpers for the network suites: a berthd with its own bridge and /24 (the module sets
BERTHD_NETWORK = True), and a check, run after that daemon stopped, that nothing of the
test is left on the machine: no bridge, veth, nft table or network namespace.

Fixtures: net_clean (request it before berthd), netd (the berthd, registered for the check).
"""

import json
import os
import subprocess
import time

import pytest

from daemon_util import DEADLINE, berthd  # noqa: F401  (fixture)


def links():
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                         check=True).stdout
    return {l["ifname"] for l in json.loads(out)}


def nft_tables():
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.startswith("table")}


def nsfs_mounts_under(path):
    prefix = str(path).rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(prefix)
                and " nsfs " in l]


@pytest.fixture
def net_clean():
    """Torn down after berthd (set up before it): asserts the test left nothing."""
    before = links()
    daemons = []
    yield daemons
    after = links()
    new = {l for l in after - before if l.startswith(("vb", "br-", "bt"))}
    for d in daemons:
        assert d.bridge not in after, f"bridge {d.bridge} left behind"
        assert f"berth_{d.bridge}" not in nft_tables(), f"nft table berth_{d.bridge} left"
        assert not nsfs_mounts_under(d.exec_root), "network namespace mounts left"
    assert not new, f"links left behind: {sorted(new)}"


@pytest.fixture
def netd(net_clean, berthd):
    net_clean.append(berthd)
    return berthd


def until(pred, what, deadline=DEADLINE):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def curl(url, timeout=5):
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout), url], capture_output=True,
                          text=True)


HTTPD = "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www"
