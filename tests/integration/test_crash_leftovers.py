"""What a crash of berthd in the middle of creating a container leaves behind is swept at
the next start: creation writes the writable layer and the container's directory before
its record, so a crash between the two leaves a layer that nothing owns, and that layer
would keep its image from being removed forever. The crash is reproduced by deleting the
record from the database while berthd is stopped (the state a kill between the two steps
leaves)."""

import sqlite3
import subprocess

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


def start_again(daemon, binary):
    daemon.restart()


def test_layer_and_directory_without_record_are_swept(build_dir, berthd, berth, busybox_image):
    kept = berth("create", "--name", "kept", busybox_image, "true")
    assert kept.returncode == 0, kept.stderr
    lost = berth("create", busybox_image, "true")
    assert lost.returncode == 0, lost.stderr
    kept_id, lost_id = kept.stdout.strip(), lost.stdout.strip()
    layers = berthd.data_root / "layers"
    assert (layers / f"ctr-{lost_id}").is_dir()
    assert (berthd.data_root / "containers" / lost_id).is_dir()

    berthd.stop()
    db = sqlite3.connect(berthd.data_root / "berth.db")
    with db:
        db.execute("DELETE FROM containers WHERE id = ?", (lost_id,))
    db.close()
    berthd.log = open(berthd.base / "berthd.log", "a+")
    start_again(berthd, build_dir / "berthd")

    assert not (layers / f"ctr-{lost_id}").exists(), "the orphan writable layer stayed"
    assert not (berthd.data_root / "containers" / lost_id).exists()
    # the container that has its record keeps everything
    assert (layers / f"ctr-{kept_id}").is_dir()
    assert (berthd.data_root / "containers" / kept_id).is_dir()
    ps = berth("ps", "-aq", "--no-trunc")
    assert ps.stdout.split() == [kept_id]
    # the orphan no longer holds the image: once "kept" is gone, rmi works
    assert berth("rm", "kept").returncode == 0
    rmi = berth("rmi", busybox_image)
    assert rmi.returncode == 0, rmi.stderr
