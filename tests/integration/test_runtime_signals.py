# The container's process starts with default signal handling and an empty signal mask,
# whatever the caller had: an ignored or blocked signal inherited from a daemon would
# survive execve (berthd blocks SIGTERM for its own signal loop; shells ignore SIGHUP in
# background jobs), and a shell cannot even trap a signal that was ignored at its start.
import signal
import subprocess

from runtime_util import proc_status, rt, unique_id  # noqa: F401


def ignore_and_block():
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})


def test_process_gets_default_signals(rt, make_bundle):
    bundle = make_bundle(args=["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])
    cid = unique_id("sig")
    rt.ids.add(cid)
    p = subprocess.run(rt.argv("run", "--bundle", bundle, cid), capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL, preexec_fn=ignore_and_block)
    assert p.returncode == 0, p.stderr
    fields = dict(line.split(":\t") for line in p.stdout.splitlines())
    assert int(fields["SigIgn"], 16) == 0, p.stdout
    assert int(fields["SigBlk"], 16) == 0, p.stdout


def test_trap_works_when_the_caller_ignored_the_signal(rt, make_bundle):
    # create + start from a caller that ignores SIGHUP: the container's trap still runs
    bundle = make_bundle(args=["sh", "-c", "trap 'echo got-hup; exit 9' HUP; echo ready; "
                                           "while true; do sleep 0.1; done"])
    cid = unique_id("sig")
    rt.ids.add(cid)
    subprocess.run(rt.argv("create", "--bundle", bundle, cid), check=True, timeout=60,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, preexec_fn=ignore_and_block)
    rt.ok("start", cid)
    pid = rt.state(cid)["pid"]
    assert int(proc_status(pid)["SigIgn"], 16) & (1 << (signal.SIGHUP - 1)) == 0
    rt.ok("kill", cid, "HUP")
    rt.wait_status(cid, "stopped")
