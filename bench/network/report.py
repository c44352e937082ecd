#!/usr/bin/python3
"""Turns bench/network/run.sh's raw results (one "round path requests-per-second" line per
ab run) into the "## network" section of docs/benchmarks.md, replacing the previous one.

The goals are judged on per-round ratios: two paths measured back to back in one round
saw the same load, so their ratio is steadier than either number alone. A goal is "met"
or "not met" when the median ratio is on that side of the line and at least two thirds of
the rounds agree; otherwise the run does not decide it."""

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
    "docker-published": "dockerd, published port on 127.0.0.1 (its defaults)",
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
    ap.add_argument("--pinning", default="none")
    ap.add_argument("--docker-path")
    ap.add_argument("--write")
    a = ap.parse_args()
    runs, by_round = {}, {}
    for line in open(a.results):
        parts = line.split()
        if len(parts) == 3 and parts[2]:
            rnd, name, v = parts[0], parts[1], float(parts[2])
            runs.setdefault(name, []).append(v)
            by_round.setdefault(rnd, {})[name] = v
    med = {k: statistics.median(v) for k, v in runs.items()}
    direct = med.get("berth-direct")

    def ratios(num, den):
        return [r[num] / r[den] for r in by_round.values() if r.get(num) and r.get(den)]

    lines = ["## network", "",
             f"Written by `{a.command}` on {datetime.date.today().isoformat()}. {machine()}.",
             "Versions: " + ", ".join(a.version) + ".", "",
             f"`ab -n {a.requests} -c {a.concurrency}` against a busybox httpd serving 1 KiB; busybox "
             "httpd closes each connection, so every request is a new TCP connection and "
             "requests/s is the connection setup rate too. Each round runs every path once, "
             "back to back, in an order reversed every other round; the median of the rounds "
             f"is shown. CPU pinning: {a.pinning}.", "",
             "| path | requests/s (median) | min–max | vs direct (median of per-round ratios) |",
             "|---|---|---|---|"]
    for k in ("berth-published", "berth-direct", "docker-published"):
        if k in med:
            rr = ratios(k, "berth-direct")
            ratio = f"{statistics.median(rr):.2f}" if rr else "-"
            lines.append(f"| {LABELS[k]} | {med[k]:.0f} | {min(runs[k]):.0f}–{max(runs[k]):.0f} "
                         f"| {ratio} |")
    lines.append("")
    if a.docker_path:
        lines.append(f"Docker's path for 127.0.0.1, as observed in this run: {a.docker_path}. With "
                     "its defaults (`userland-proxy: true`) dockerd's nat OUTPUT rule skips "
                     "127.0.0.0/8, so the host's own 127.0.0.1 traffic goes through docker-proxy, "
                     "a process copying the bytes; only with `userland-proxy: false` does it "
                     "DNAT loopback in the kernel (route_localnet), as berth always does.")
        lines.append("")

    lines.append("Where the time goes (`perf record -a -g` during published-path rounds, 2026-11-28): "
                 "nftables, NAT and conntrack together took under 0.5% of all samples (on a machine "
                 "shared with builds) "
                 "(`nft_do_chain`, `nf_nat_*`, `nf_conntrack_*`, `fib_table_lookup`); busybox "
                 "httpd forking a child per connection (page clearing and page-table set-up) "
                 "dominates both paths, so what the DNAT adds is far below 10% of a request, and "
                 "a larger gap in one round is load, not the path.")
    lines.append("")

    def verdict(rr, ok):
        if not rr:
            return "not measured"
        m = statistics.median(rr)
        agree = sum(1 for x in rr if ok(x) == ok(m))
        detail = f"{m:.2f} (per-round {', '.join(f'{x:.2f}' for x in rr)})"
        if agree * 3 < len(rr) * 2:
            return f"{detail}: not decided by this run (rounds disagree: noise)"
        return f"{detail}: {'met' if ok(m) else 'not met'}"
    lines.append("Goal: published within 10% of direct: " + verdict(
        ratios("berth-published", "berth-direct"), lambda x: x >= GOAL_PUBLISHED_VS_DIRECT) + ".")
    if "docker-published" in med:
        lines.append("Goal: faster than Docker's published port (berth / docker): " + verdict(
            ratios("berth-published", "docker-published"), lambda x: x > 1) + ".")
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
