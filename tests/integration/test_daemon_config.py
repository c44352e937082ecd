"""daemon.json: a key berthd does not know stops it with dockerd's message naming the keys,
and nothing is started (no socket)."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import require_binary
from daemon_util import DEADLINE


def test_unknown_daemon_json_keys_refused(build_dir, tmp_path):
    binary = require_binary(build_dir / "berthd")
    exec_root = Path(tempfile.mkdtemp(prefix="bx-", dir="/tmp"))
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({"debug": True, "no-such-key": 1, "bogus": "x"}))
    try:
        r = subprocess.run([binary, "--config-file", str(conf), "--data-root",
                            str(tmp_path / "data"), "--exec-root", str(exec_root), "-H",
                            "unix://" + str(exec_root / "berth.sock"), "--bridge", "none"],
                           capture_output=True, text=True, timeout=DEADLINE)
        assert r.returncode != 0
        assert ("the following directives don't match any configuration option: "
                "no-such-key, bogus") in r.stderr
        assert not (exec_root / "berth.sock").exists()
    finally:
        shutil.rmtree(exec_root, ignore_errors=True)
