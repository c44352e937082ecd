#!/usr/bin/python3
"""Turns bench/network/run.sh's raw results (one "name requests-per-second" line per ab
round) into the "## network" section of docs/benchmarks.md, replacing the previous one."""

import argparse
import datetime
import os
import platform
import re
import statistics
import sys

GOAL_PUBLISHED_VS_DIRECT = 0.90  # the published path within 10% of the direct one

LABELS = {
    "berth-published": "berth, published port on 127.0.0.1 (nftables DNAT)",
    "berth-direct": "berth, straight to the container's address",
    "docker-published": "dockerd, published port on 127.0.0.1 (its defaults: docker-proxy)",
}


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"Linux {platform.release()}, {cpu}, {os.cpu_count()} CPUs; load average "
            f"{os.getloadavg()[0]:.2f} at the end (a shared machine: compare ratios within one "
            "run, not across runs)")


SECTION = re.compile(r"^## network\n.*?(?=^## |\Z)", re.S | re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--requests", type=int)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--command", default="bench/network/run.sh")
    ap.add_argument("--version", action="append", default=[])
    ap.add_argument("--write")
    a = ap.parse_args()
    runs = {}
    for line in open(a.results):
        name, _, v = line.strip().partition(" ")
        if v:
            runs.setdefault(name, []).append(float(v))
    med = {k: statistics.median(v) for k, v in runs.items()}
    direct = med.get("berth-direct")
    lines = ["## network", "",
             f"Written by `{a.command}` on {datetime.date.today().isoformat()}. {machine()}.",
             "Versions: " + ", ".join(a.version) + ".", "",
             f"`ab -n {a.requests} -c {a.concurrency}` against a busybox httpd serving 1 KiB; busybox "
             "httpd closes each connection, so every request is a new TCP connection and "
             "requests/s is the connection setup rate too. Rounds alternate between the paths; "
             "the median of the rounds is shown.", "",
             "| path | requests/s (median) | rounds | vs direct |", "|---|---|---|---|"]
    for k in ("berth-published", "berth-direct", "docker-published"):
        if k in med:
            ratio = f"{med[k] / direct:.2f}" if direct else "-"
            lines.append(f"| {LABELS[k]} | {med[k]:.0f} | "
                         f"{', '.join(f'{x:.0f}' for x in runs[k])} | {ratio} |")
    lines.append("")
    spread = max((max(v) / min(v) for v in runs.values() if min(v) > 0), default=1.0)
    if spread > 1.5:
        lines.append(f"Rounds of one path differ by up to {spread:.1f}x in this run (other work "
                     "on the machine): the ratios below are within that noise, not a measured "
                     "difference between the paths.")
        lines.append("")
    noisy = spread > 1.5

    def verdict(ok):
        return "not decided by this run (noise)" if noisy else ("met" if ok else "not met")
    if direct and "berth-published" in med:
        r = med["berth-published"] / direct
        lines.append(f"Goal: published within 10% of direct: {r:.2f} of direct, "
                     f"{verdict(r >= GOAL_PUBLISHED_VS_DIRECT)}.")
    if "docker-published" in med and "berth-published" in med:
        r = med["berth-published"] / med["docker-published"]
        lines.append(f"Goal: faster than Docker's published port: {r:.2f}x, {verdict(r > 1)}.")
    else:
        lines.append("Docker's published port: not measured in this run (`--with-docker`).")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write:
        old = open(a.write).read() if os.path.exists(a.write) else "# Benchmarks\n"
        new = SECTION.sub(lambda _: text + "\n", old, count=1) if SECTION.search(old) \
            else old.rstrip("\n") + "\n\n" + text
        with open(a.write + ".tmp", "w") as f:
            f.write(new)
        os.replace(a.write + ".tmp", a.write)
        print(f"report.py: wrote the network section of {a.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
