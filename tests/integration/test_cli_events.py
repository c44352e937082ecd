"""berth events against a real berthd: replay with --since/--until, filters and --format."""

import json
import time

from daemon_util import berth, berthd, busybox_image  # noqa: F401  (fixtures)


def test_events_replay_with_filters_and_format(berth, busybox_image):
    start = int(time.time()) - 1
    res = berth("run", "--name", "ev", busybox_image, "true")
    assert res.returncode == 0, res.stderr
    until = str(int(time.time()) + 1)
    res = berth("events", "--since", str(start), "--until", until)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    actions = [l.split()[2] for l in lines if l.split()[1] == "container"]
    assert actions.index("create") < actions.index("start") < actions.index("die")
    die = [l for l in lines if " container die " in l][0]
    assert "exitCode=0" in die and "name=ev" in die and die.endswith(")")
    res = berth("events", "--since", str(start), "--until", until, "-f", "event=die",
                "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert res.stdout == "die ev\n"
    res = berth("events", "--since", str(start), "--until", until, "-f", "type=container",
                "--format", "json")
    assert all(json.loads(l)["Type"] == "container" for l in res.stdout.splitlines())
