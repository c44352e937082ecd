#!/usr/bin/python3
"""Turns bench/run/run.sh's raw results (two hyperfine JSON files, RSS samples) into the
"## run" section of docs/benchmarks.md, replacing the previous one. The analysis notes
(where the time and memory go) live in the "### where the time goes" subsection, kept
from the previous file when present (it is written by hand after profiling)."""

import argparse
import datetime
import json
import os
import platform
import re
import sys

GOAL_RUN_SPEEDUP = 10.0
GOAL_BERTHD_MIB = 8.0
GOAL_SHIM_MIB = 1.0
GOAL_PS_MS = 20.0


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return (f"Debian {debian}, Linux {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
            f"{mem_kib / 1024 / 1024:.1f} GiB RAM; load average {os.getloadavg()[0]:.2f} at the end "
            "(a shared machine: other engineers' tests ran at the same time; compare ratios "
            "within one run, not across runs)")


def ms(s):
    return f"{s * 1000:.1f} ms"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def met(ok):
    return "**met**" if ok else "**missed**"


def timing_table(results, base):
    median = {r["command"]: r["median"] for r in results}
    out = [f"| command | median | mean ± σ | min | max | median ÷ {base} |", "|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['command']} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} "
                   f"| {ms(r['min'])} | {ms(r['max'])} | {r['median'] / median[base]:.3f} |")
    return out, median


def section(a, notes):
    run = json.load(open(a.run))["results"]
    ps = json.load(open(a.ps))["results"]
    mem = {}
    for line in open(a.mem):
        k, v = line.split()
        mem[k] = int(v)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    run_tab, run_med = timing_table(run, "docker run (dockerd)")
    ps_tab, ps_med = timing_table(ps, "docker ps -a (dockerd)")
    speedup = run_med["docker run (dockerd)"] / run_med["berth run (berthd)"]
    speedup_cli = run_med["docker run (dockerd)"] / run_med["docker run (berthd)"]
    peer_idle = mem["dockerd_idle"] + mem["containerd_idle"]
    ps_berth = ps_med["berth ps -a (berthd)"] * 1000

    out = [
        "## run",
        "",
        "`run --rm busybox true` end to end (create, start, attach, wait, remove), berth against",
        "Debian's docker.io on the same machine at the same moment, plus memory and `ps -a`.",
        "",
        f"- date: {now}",
        f"- machine: {machine()}",
        f"- versions: {'; '.join(a.version)}",
        f"- command: `{a.command}`",
        "- berthd: `berthd --data-root D --exec-root E -H unix://E/berth.sock --bridge none` (own "
        "roots, otherwise defaults)",
        "- dockerd: `dockerd --data-root … --exec-root … -H unix://… --containerd <own containerd> "
        "--bridge none --iptables=false --ip-forward=false --storage-driver overlay2`; containerd 1.6 on "
        "its own root/state/socket with the CRI plugin disabled; runc as the runtime. Both engines got the "
        "same busybox image (tests/fixtures/busybox.py docker-archive, `load -i`).",
        "- network: both daemons run with `--bridge none`: their containers get no bridge network "
        "(loopback only), so neither pays for veth/bridge/NAT here (bench/network measures that).",
        f"- wall time: hyperfine `-N` (no shell), {len(run[0]['times'])} runs each after warm-up; the "
        "same docker CLI binary talks to both daemons.",
        "- memory: `ps -o rss` (KiB → MiB) of the daemon processes; PSS from /proc/PID/smaps_rollup "
        "where given (RSS counts shared library pages in full, PSS splits them).",
        "",
        "### run --rm busybox true",
        "",
    ] + run_tab + [
        "",
        f"berth run is **{speedup:.1f}×** faster than docker run on dockerd (goal ≥ {GOAL_RUN_SPEEDUP:.0f}×: "
        f"{met(speedup >= GOAL_RUN_SPEEDUP)}); the docker CLI against berthd is {speedup_cli:.1f}× faster "
        "than against dockerd.",
        "",
        "### memory",
        "",
        "| what | RSS | goal / peer |",
        "|---|---|---|",
        f"| berthd idle, just started | {mib(mem['berthd_start'])} | goal < {GOAL_BERTHD_MIB:.0f} MiB: "
        f"{met(mem['berthd_start'] / 1024 < GOAL_BERTHD_MIB)} |",
        f"| berthd just after the image load | {mib(mem['berthd_loaded'])} | |",
        f"| berthd idle, image loaded 12 s before (libarchive unloaded) | "
        f"{mib(mem['berthd_loaded_idle'])} | goal < {GOAL_BERTHD_MIB:.0f} MiB: "
        f"{met(mem['berthd_loaded_idle'] / 1024 < GOAL_BERTHD_MIB)} |",
        f"| berthd after the {3 * (len(run[0]['times']))}+ timed runs | {mib(mem['berthd_after_runs'])} "
        f"| goal < {GOAL_BERTHD_MIB:.0f} MiB: {met(mem['berthd_after_runs'] / 1024 < GOAL_BERTHD_MIB)} |",
        f"| berthd, one container running (PSS) | {mib(mem['berthd_one_running'])} "
        f"({mib(mem['berthd_pss'])}) | |",
        f"| berthd with {a.ps_count} created containers | {mib(mem['berthd_with_created'])} | |",
        f"| one berth-shim, `sleep` running (PSS) | {mib(mem['berth_shim'])} ({mib(mem['berth_shim_pss'])}) "
        f"| goal < {GOAL_SHIM_MIB:.0f} MiB: {met(mem['berth_shim'] / 1024 < GOAL_SHIM_MIB)} |",
        f"| dockerd + containerd idle, image loaded | {mib(peer_idle)} "
        f"(dockerd {mib(mem['dockerd_idle'])}, containerd {mib(mem['containerd_idle'])}) "
        f"| berthd ÷ peers: {mem['berthd_loaded_idle'] / peer_idle:.3f} |",
        f"| dockerd + containerd after the timed runs | "
        f"{mib(mem['dockerd_after_runs'] + mem['containerd_after_runs'])} | |",
        f"| dockerd + containerd PSS, one container running | "
        f"{mib(mem['dockerd_pss'] + mem['containerd_pss'])} | |",
        f"| dockerd with {a.ps_count} created containers | {mib(mem['dockerd_with_created'])} | |",
        f"| one containerd-shim-runc-v2, `sleep` running (PSS) | {mib(mem['containerd_shim'])} "
        f"({mib(mem['containerd_shim_pss'])}) | berth-shim ÷ containerd-shim: "
        f"{mem['berth_shim'] / mem['containerd_shim']:.3f} |",
        "",
        f"### ps -a with {a.ps_count} created containers",
        "",
        f"{a.ps_count} containers created (`create --name pN busybox true`, not started) on each engine; "
        "timed once berthd, dockerd and containerd have used no CPU for 2 s (dockerd keeps working "
        "after the creates).",
        "",
    ] + ps_tab + [
        "",
        f"`berth ps -a` takes {ps_berth:.1f} ms (goal < {GOAL_PS_MS:.0f} ms: {met(ps_berth < GOAL_PS_MS)}).",
        "",
    ]
    if notes:
        out += [notes.rstrip("\n"), ""]
    return "\n".join(out)


NOTES = re.compile(r"^### where the time goes\n.*?(?=^## |\Z)", re.S | re.M)
SECTION = re.compile(r"^## run\n.*?(?=^## |\Z)", re.S | re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--ps", required=True)
    ap.add_argument("--mem", required=True)
    ap.add_argument("--ps-count", type=int, default=1000)
    ap.add_argument("--command", default="bench/run/run.sh")
    ap.add_argument("--bsock", default="")
    ap.add_argument("--dsock", default="")
    ap.add_argument("--version", action="append", default=[])
    ap.add_argument("--write")
    a = ap.parse_args()
    old = open(a.write).read() if a.write and os.path.exists(a.write) else ""
    m = SECTION.search(old)
    n = NOTES.search(m.group(0)) if m else None
    text = section(a, n.group(0) if n else "")
    print(text)
    if a.write:
        if m:
            new = SECTION.sub(lambda _: text + "\n", old, count=1)
        else:
            new = (old or "# Benchmarks\n\nWritten by the scripts in bench/ (see bench/README.md).\n")
            new = new.rstrip("\n") + "\n\n" + text
        with open(a.write + ".tmp", "w") as f:
            f.write(new)
        os.replace(a.write + ".tmp", a.write)
        print(f"report.py: wrote the run section of {a.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
