"""The berth CLI on its own and against a real berthd: help, flag errors, the message when
no daemon listens, version and info."""

import os
import subprocess

import pytest

from conftest import require_binary
from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


@pytest.fixture
def berth_bin(build_dir):
    return require_binary(build_dir / "berth")


def run_bin(binary, *args, env=None):
    e = dict(os.environ)
    e.pop("BERTH_HOST", None)
    e.update(env or {})
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=30, env=e)


def test_help_lists_commands(berth_bin):
    res = run_bin(berth_bin, "--help")
    assert res.returncode == 0
    for cmd in ("run", "ps", "images", "exec", "logs", "events", "inspect", "rmi"):
        assert f"  {cmd} " in res.stdout


@pytest.mark.parametrize("cmd", ["run", "ps", "exec", "logs", "images", "inspect", "rm", "start",
                                 "stop", "kill", "events", "version", "info", "load", "save"])
def test_every_command_has_help(berth_bin, cmd):
    res = run_bin(berth_bin, cmd, "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"Usage:  berth {cmd}")


def test_group_commands_have_help(berth_bin):
    res = run_bin(berth_bin, "image", "ls", "--help")
    assert res.returncode == 0 and res.stdout.startswith("Usage:  berth images")


def test_unknown_flag_is_a_usage_error(berth_bin):
    res = run_bin(berth_bin, "ps", "--bogus")
    assert res.returncode == 125
    assert res.stderr == "unknown flag: --bogus\nSee 'berth ps --help'.\n"


def test_unknown_command(berth_bin):
    res = run_bin(berth_bin, "frobnicate")
    assert res.returncode == 1
    assert "unknown command: berth frobnicate" in res.stderr


def test_missing_arguments(berth_bin):
    res = run_bin(berth_bin, "start")
    assert res.returncode == 1
    assert '"berth start" requires at least 1 argument.' in res.stderr


def test_no_daemon_names_the_socket(berth_bin, tmp_path):
    sock = tmp_path / "nobody-listens.sock"
    for args in (["-H", f"unix://{sock}", "ps"], ["-H", f"unix://{sock}", "run", "busybox"]):
        res = run_bin(berth_bin, *args)
        assert res.returncode in (1, 125), res
        assert f"Cannot connect to the berth daemon at unix://{sock}. Is berthd running?" in res.stderr
        assert res.stdout == ""


def test_berth_host_env_is_used(berth_bin, tmp_path):
    sock = tmp_path / "env.sock"
    res = run_bin(berth_bin, "ps", env={"BERTH_HOST": f"unix://{sock}"})
    assert res.returncode == 1
    assert f"unix://{sock}" in res.stderr


def test_version_and_info(berth):
    res = berth("version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Client:\n Version:")
    assert "Server:" in res.stdout and "API version:" in res.stdout
    res = berth("version", "--format", "{{.Server.ApiVersion}}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith("1.")
    res = berth("info")
    assert res.returncode == 0, res.stderr
    assert " Containers: 0\n" in res.stdout
    res = berth("info", "--format", "{{.Containers}} {{.OSType}}")
    assert res.stdout == "0 linux\n"
