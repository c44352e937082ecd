"""A daemon without bridges (-b none, as every test daemon outside the network suites)
touches no nftables at all: no table of its own exists while it runs, and a container in
bridge mode still gets loopback only."""

import subprocess

from daemon_util import berth, berthd, busybox_image, free_subnet24  # noqa: F401  (fixtures)


def fnv1a32(text):
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def test_no_bridge_no_nftables_table(berthd, berth, busybox_image):
    table = "berth_%08x" % fnv1a32(str(berthd.data_root))  # the name it would use
    res = berth("run", "--rm", busybox_image, "cat", "/proc/net/dev")
    assert res.returncode == 0, res.stderr
    ifaces = [line.split(":")[0].strip() for line in res.stdout.splitlines()[2:]]
    assert ifaces == ["lo"]
    assert f"table ip {table}\n" not in nft_tables()
    assert not (berthd.exec_root / "nat-table").exists()
    # a user network is what makes the table (under the name computed above); removing
    # the last one removes it again
    res = berth("network", "create", "--subnet", free_subnet24() + ".0/24", "-o",
                "com.docker.network.bridge.name=btnone" + table[-6:], "nonet")
    assert res.returncode == 0, res.stderr
    assert f"table ip {table}\n" in nft_tables()
    assert berth("network", "rm", "nonet").returncode == 0
    assert f"table ip {table}\n" not in nft_tables()


def nft_tables():
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                          check=True).stdout
