#!/usr/bin/python3
"""Turns bench/runtime/run.sh's raw results (hyperfine JSON, GNU time RSS samples) into
the "## runtime" section of docs/benchmarks.md, replacing the previous one."""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys


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
    return (
        f"Debian {debian}, Linux {platform.release()}, {cpu}, {os.cpu_count()} CPUs, "
        f"{mem_kib / 1024 / 1024:.1f} GiB RAM; load average {os.getloadavg()[0]:.2f} at the end"
        " (a shared machine is noisy: compare ratios within one run, not across runs)"
    )


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def section(a):
    with open(a.hyperfine) as f:
        results = json.load(f)["results"]
    rss = {}
    with open(a.rss) as f:
        for line in f:
            name, kib = line.split()
            rss.setdefault(name, []).append(int(kib))
    median = {r["command"]: r["median"] for r in results}

    def ratio(name, base):
        return f"{median[name] / median[base]:.2f}" if base in median else "–"

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "## runtime",
        "",
        "`run` of a busybox bundle whose process is `true`: create, start, wait and delete",
        "one container, measured end to end. Same bundle for every runtime, each with its own",
        "`--root`; side by side in one hyperfine run.",
        "",
        f"- date: {now}",
        f"- machine: {machine()}",
        f"- runtimes: {'; '.join(a.version)}",
        f"- cgroups: {a.cgroup_note}",
        f"- command: `{a.command}`; each sample is `{a.bundle_cmd}`",
        f"- wall time: hyperfine, {len(results[0]['times'])} runs each after warm-up; peak RSS: GNU time `%M`"
        f" (runtime process and the children it waited for), median of {len(next(iter(rss.values())))} runs",
        "",
        "| runtime | median | mean ± σ | min | max | median ÷ crun | median ÷ runc | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        name = r["command"]
        peak = statistics.median(rss[name]) / 1024 if name in rss else None
        out.append(
            f"| {name} | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'] or 0)} | {ms(r['min'])} "
            f"| {ms(r['max'])} | {ratio(name, 'crun')} | {ratio(name, 'runc')} "
            f"| {f'{peak:.1f} MiB' if peak is not None else '–'} |"
        )
    if "berth-runc" not in median:
        out += ["", "berth-runc was not built when this ran; only the peers were measured."]
    return "\n".join(out) + "\n"


def replace_section(path, text):
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\nWritten by the scripts in bench/ (see bench/README.md).\n"
    # the section runs from its heading to the next level-2 heading or the end
    pattern = re.compile(r"^## runtime\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda m: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    with open(path + ".tmp", "w") as f:
        f.write(new)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyperfine", required=True)
    ap.add_argument("--rss", required=True)
    ap.add_argument("--cgroup-note", default="")
    ap.add_argument("--command", default="bench/runtime/run.sh")
    ap.add_argument("--bundle-cmd", default="")
    ap.add_argument("--version", action="append", default=[])
    ap.add_argument("--write")
    a = ap.parse_args()
    text = section(a)
    print(text)
    if a.write:
        replace_section(a.write, text)
        print(f"report.py: wrote the runtime section of {a.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
