#!/usr/bin/python3
"""Registry blob GET benchmark: requests/s and MB/s of berth-registry against Debian's
docker-registry (distribution 2.8) on the same machine, side by side in one run, over
keep-alive connections on 127.0.0.1, for a small (4 KiB) and a large (64 MiB) blob, with two
clients: wrk, and blobget (bench/registry/blobget.c), which discards bodies in the kernel so
that the client is not what limits a large blob. The CPU time of the client, the registry
and the rest of the machine is recorded for every round. Writes the "## registry: blob GET"
section of docs/benchmarks.md (see bench/README.md).

    bench/registry/blob_get.py [--duration S] [--rounds N] [--build DIR] [--work DIR] [--no-write]
"""

import argparse
import hashlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SECTION = "## registry: blob GET"
BERTH = "berth-registry"
DIST = "distribution 2.8"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/v2/")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"registry on port {port} did not answer")


def push_blob(port, name, data):
    """POST a session then PUT the whole blob with ?digest= (what both registries take)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", f"/v2/{name}/blobs/uploads/", headers={"Content-Length": "0"})
    r = c.getresponse()
    r.read()
    loc = r.getheader("Location")
    assert r.status == 202, r.status
    loc = re.sub(r"^https?://[^/]+", "", loc)
    sep = "&" if "?" in loc else "?"
    c.request("PUT", f"{loc}{sep}digest={digest}", body=data, headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse()
    body = r.read()
    assert r.status == 201, (r.status, body)
    c.close()
    return digest


def build_blobget(work):
    """cc -O2 the discard client into the work dir (a bench tool, not an installed binary)."""
    out = work / "blobget"
    cc = shutil.which("cc") or shutil.which("gcc") or "cc"
    cmd = [cc, "-O2", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", str(out), str(HERE / "blobget.c"), "-lcrypto", "-lpthread"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"building blobget failed: {' '.join(cmd)}\n{p.stderr}")
    return out


def proc_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def machine_busy_ticks():
    """All CPUs' non-idle time from /proc/stat (idle and iowait left out), in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # user nice system idle iowait irq softirq steal


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measured(server_pid, run):
    """Run one client (run() returns (requests/s, MB/s)) and take the CPU used meanwhile:
    the client (a waited-for child: RUSAGE_CHILDREN), the registry (/proc/PID/stat) and
    the whole machine (/proc/stat); each as % of one CPU over the round's wall time. Time
    the kernel spends in softirq (loopback TCP's receive path) is charged by the tick to
    the process it interrupted, so it lands in client or registry, not in the rest."""
    c0, s0, m0, t0 = children_cpu(), proc_ticks(server_pid), machine_busy_ticks(), time.monotonic()
    rps, mbps = run()
    c1, s1, m1, t1 = children_cpu(), proc_ticks(server_pid), machine_busy_ticks(), time.monotonic()
    wall = t1 - t0
    client = 100 * (c1 - c0) / wall
    server = 100 * (s1 - s0) / TICK / wall
    machine = 100 * (m1 - m0) / TICK / wall
    return {"rps": rps, "mbps": mbps, "client_cpu": client, "server_cpu": server, "rest_cpu": max(0.0, machine - client - server), "machine_cpu": machine}


UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def wrk(port, path, conns, duration):
    url = f"http://127.0.0.1:{port}{path}"
    p = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "60s", url], capture_output=True, text=True, check=True)
    out = p.stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors against {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    bps = float(m.group(1)) * UNITS[m.group(2)]
    return rps, bps / 1e6


def blobget(binary, port, path, conns, duration, extra=()):
    p = subprocess.run([str(binary), "-c", str(conns), "-d", str(duration), *extra, str(port), path], capture_output=True, text=True)
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SystemExit(f"blobget gave no result against port {port}: rc {p.returncode}\n{p.stdout}{p.stderr}")
    if p.returncode != 0 or res["errors"]:
        raise SystemExit(f"blobget saw errors against port {port} {path}: {p.stdout}{p.stderr}")
    return res


# blobget's threads per blob size: for 4 KiB the client's work is per request (parse,
# syscalls), so it gets both CPUs as wrk -t2 does; for 64 MiB one epoll thread did as well
# as two or better in trials (the discard costs little; a second thread only competes with
# the server for the CPUs)
BLOBGET_THREADS = {"4 KiB": 2, "64 MiB": 1}


def run_client(client, binary, size, port, path, conns, duration):
    if client == "wrk":
        return wrk(port, path, conns, duration)
    r = blobget(binary, port, path, conns, duration, ("-t", str(BLOBGET_THREADS[size])))
    return r["requests_per_s"], r["mb_per_s"]


def machine():
    cpus = os.cpu_count()
    try:
        osname = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME=")][0]
    except (OSError, IndexError):
        osname = platform.system()
    return f"{osname}, Linux {platform.release()}, {cpus} CPUs; load average {os.getloadavg()[0]:.2f} at the end (a shared machine is noisy: compare ratios within one run)"


def pct(x):
    return f"{x:.0f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds per round and client (default 5)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per blob size and client (default 5)")
    ap.add_argument("--build", default=str(REPO / "build"), help="meson build dir with berth-registry")
    ap.add_argument("--work", default="/var/tmp/berth-bench-registry", help="scratch dir (emptied first)")
    ap.add_argument("--no-write", action="store_true", help="print the section, do not write docs/benchmarks.md")
    a = ap.parse_args()
    for tool in ("wrk", "docker-registry", "gcc"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (scripts/install-deps.sh)")
    berth = Path(a.build) / "berth-registry"
    if not os.access(berth, os.X_OK):
        raise SystemExit(f"{berth} is not built (make build)")
    load_start = os.getloadavg()[0]
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    client_bin = build_blobget(work)

    dport = free_port()
    (work / "distribution.yml").write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work}/distribution\n"
        f"http:\n  addr: 127.0.0.1:{dport}\n"
    )
    procs = []
    rounds = []  # one dict per (size, client, registry, round)
    verified = []
    try:
        dlog = open(work / "distribution.log", "w")
        procs.append(subprocess.Popen(["docker-registry", "serve", str(work / "distribution.yml")], stdout=dlog, stderr=dlog))
        blog = open(work / "berth-registry.log", "w")
        procs.append(subprocess.Popen([str(berth), "serve", "--addr", "127.0.0.1:0", "--root", str(work / "berth")], stdout=blog, stderr=blog))
        bport = None
        deadline = time.monotonic() + 60
        while not bport and time.monotonic() < deadline:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", (work / "berth-registry.log").read_text())
            bport = int(m.group(1)) if m else None
            time.sleep(0.05)
        if not bport:
            raise SystemExit("berth-registry did not start: " + (work / "berth-registry.log").read_text())
        wait_ping(dport)
        wait_ping(bport)
        small = os.urandom(4096)
        large = os.urandom(64 * 1024 * 1024)
        regs = {}  # label -> (port, pid, {size label: path})
        for label, port, proc in ((BERTH, bport, procs[1]), (DIST, dport, procs[0])):
            paths = {size: f"/v2/bench/blob/blobs/{push_blob(port, 'bench/blob', data)}" for size, data in (("4 KiB", small), ("64 MiB", large))}
            regs[label] = (port, proc.pid, paths)
        # the sanity check: each registry sends the right bytes (bodies read and hashed)
        for label, (port, _, paths) in regs.items():
            for size, n in (("4 KiB", 200), ("64 MiB", 4)):
                res = blobget(client_bin, port, paths[size], 2, 120, ("--verify", "-n", str(n)))
                verified.append(f"{label} {res['requests']} × {size}")
        plan = (("4 KiB", 32, ("wrk", "blobget")), ("64 MiB", 4, ("wrk", "blobget")))
        for size, conns, clients in plan:
            for label, (port, pid, paths) in regs.items():  # warm-up
                for cl in clients:
                    run_client(cl, client_bin, size, port, paths[size], conns, 2)
            # rounds alternate between the registries (the order flips every round, and so
            # does the clients' order), so a burst of load from elsewhere on the machine
            # falls on both; each cell is the median round
            for rnd in range(a.rounds):
                order = list(regs) if rnd % 2 == 0 else list(reversed(regs))
                corder = list(clients) if rnd % 2 == 0 else list(reversed(clients))
                for label in order:
                    port, pid, paths = regs[label]
                    for cl in corder:
                        r = measured(pid, lambda: run_client(cl, client_bin, size, port, paths[size], conns, a.duration))
                        r.update(size=size, client=cl, registry=label, conns=conns, round=rnd)
                        rounds.append(r)
                        print(
                            f"{size:7} {cl:8} {label:17} round {rnd + 1}: {r['rps']:11.1f} req/s {r['mbps']:9.1f} MB/s"
                            f"  CPU client {r['client_cpu']:4.0f}% registry {r['server_cpu']:4.0f}% rest {r['rest_cpu']:4.0f}%",
                            flush=True,
                        )
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=60)
        shutil.rmtree(work / "distribution", ignore_errors=True)
        shutil.rmtree(work / "berth", ignore_errors=True)

    text = report(a, rounds, verified, load_start)
    print(text)
    if not a.no_write:
        path = REPO / "docs" / "benchmarks.md"
        doc = path.read_text() if path.exists() else "# Benchmarks\n"
        pat = re.compile(r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
        doc = pat.sub(lambda _: text + "\n", doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + text
        path.write_text(doc.rstrip("\n") + "\n")
    return 0


def report(a, rounds, verified, load_start):
    dver = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True).stdout.strip()
    wver = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()

    def cell(size, client, reg):
        rs = [r for r in rounds if (r["size"], r["client"], r["registry"]) == (size, client, reg)]
        return {k: statistics.median(r[k] for r in rs) for k in ("rps", "mbps", "client_cpu", "server_cpu", "rest_cpu", "machine_cpu")} | {"conns": rs[0]["conns"], "n": rs}

    def round_ratios(size, client, key):
        b = sorted((r for r in rounds if (r["size"], r["client"], r["registry"]) == (size, client, BERTH)), key=lambda r: r["round"])
        d = sorted((r for r in rounds if (r["size"], r["client"], r["registry"]) == (size, client, DIST)), key=lambda r: r["round"])
        return [x[key] / y[key] for x, y in zip(b, d)]

    keys = []
    for r in rounds:
        k = (r["size"], r["client"])
        if k not in keys:
            keys.append(k)
    table = [
        "| blob | client | registry | connections | requests/s | MB/s | requests/s ÷ distribution | MB/s ÷ distribution | CPU: client | CPU: registry | CPU: rest of machine | MB per registry CPU-second |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    cells = {}
    for size, client in keys:
        base = cell(size, client, DIST)
        for reg in (BERTH, DIST):
            c = cell(size, client, reg)
            cells[(size, client, reg)] = c
            eff = c["mbps"] / (c["server_cpu"] / 100) if c["server_cpu"] > 0 else float("nan")
            table.append(
                f"| {size} | {client} | {reg} | {c['conns']} | {c['rps']:,.1f} | {c['mbps']:,.1f} | {c['rps'] / base['rps']:.2f}× | {c['mbps'] / base['mbps']:.2f}× "
                f"| {pct(c['client_cpu'])} | {pct(c['server_cpu'])} | {pct(c['rest_cpu'])} | {eff:,.{0 if eff >= 100 else 1}f} |"
            )

    ncpu = os.cpu_count()
    small = cells[("4 KiB", "wrk", BERTH)]["rps"] / cells[("4 KiB", "wrk", DIST)]["rps"]
    large = cells[("64 MiB", "blobget", BERTH)]["mbps"] / cells[("64 MiB", "blobget", DIST)]["mbps"]
    large_rounds = round_ratios("64 MiB", "blobget", "mbps")
    large_wrk = cells[("64 MiB", "wrk", BERTH)]["mbps"] / cells[("64 MiB", "wrk", DIST)]["mbps"]
    met = lambda ok: "**met**" if ok else "**missed**"

    def cpu_sentence(client):
        parts = []
        for reg in (BERTH, DIST):
            c = cells[("64 MiB", client, reg)]
            parts.append(f"in {reg}'s rounds {client} used {pct(c['client_cpu'])}, {reg} {pct(c['server_cpu'])} and the rest of the machine {pct(c['rest_cpu'])}")
        return "; ".join(parts)

    b, d = cells[("64 MiB", "blobget", BERTH)], cells[("64 MiB", "blobget", DIST)]
    beff, deff = b["mbps"] / (b["server_cpu"] / 100), d["mbps"] / (d["server_cpu"] / 100)
    per_gb = lambda cl: statistics.median(r["client_cpu"] / (r["mbps"] / 1000) for r in rounds if (r["size"], r["client"]) == ("64 MiB", cl))
    wrk_per_gb, bg_per_gb = per_gb("wrk"), per_gb("blobget")
    bg_threads = ", ".join(f"{n} thread{'s' if n > 1 else ''} for {sz}" for sz, n in BLOBGET_THREADS.items())
    goals = (
        f"Small blobs (wrk): {small:.2f}× distribution's requests/s (goal 10×: {met(small >= 10)}). "
        f"Large blobs, judged on blobget: {large:.2f}× distribution's MB/s (goal 2×: {met(large >= 2)}); "
        f"per-round ratios {', '.join(f'{x:.2f}' for x in large_rounds)}. "
        f"With wrk the same blob gives {large_wrk:.2f}×, the client-bound reference."
    )
    cpu = (
        f"Where the CPU went in the 64 MiB rounds (medians): with blobget, {cpu_sentence('blobget')}; "
        f"with wrk, {cpu_sentence('wrk')}. "
        f"The whole machine was busy {pct(b['machine_cpu'])} of {pct(100 * ncpu)} in berth-registry's blobget rounds "
        f"and {pct(d['machine_cpu'])} in distribution's. "
        f"Per CPU-second of its own, berth-registry served {beff:,.0f} MB and distribution {deff:,.0f} MB ({beff / deff:.2f}×); "
        f"per CPU-second of the whole machine, {b['mbps'] / (b['machine_cpu'] / 100):,.0f} MB and "
        f"{d['mbps'] / (d['machine_cpu'] / 100):,.0f} MB "
        f"({(b['mbps'] / b['machine_cpu']) / (d['mbps'] / d['machine_cpu']):.2f}×). "
        "When the sender outpaces the loopback's receive path, the kernel finishes that TCP work in its "
        "softirq threads (ksoftirqd), which this table counts as the rest of the machine."
    )
    goals, cpu = textwrap.fill(goals, 92), textwrap.fill(cpu, 92)
    text = f"""{SECTION}

GET of one blob over and over, keep-alive, on 127.0.0.1: berth-registry against Debian's
docker-registry (distribution) serving the same bytes from its filesystem storage, one after
the other in one run. The clients and the servers share the machine's {ncpu} CPUs. Two clients:

- **wrk** (`wrk -t2 -c<connections>`) reads every response into user memory, 8 KiB per
  read(); in this run it used {wrk_per_gb:.0f}% of a CPU per GB/s of 64 MiB bodies received
  (blobget {bg_per_gb:.0f}%), so its rows measure the client as much as the server: they are
  kept as the client-bound reference.
- **blobget** (`bench/registry/blobget.c`: epoll, `-c<connections>`, {bg_threads})
  parses the status line and headers (200 and Content-Length required, chunked refused) and discards
  the body in the kernel with `recv(fd, NULL, len, MSG_TRUNC)`, so no body byte is copied to
  user memory; it counts only complete responses whose body length equals Content-Length
  (bodies still in flight at the end are not counted), and checks on every connection that
  the kernel's count of bytes received (TCP_INFO) equals what it discarded or read plus what
  is still queued. Any error fails the bench. Its rows measure the servers.

- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- machine: {machine()}; load average {load_start:.2f} at the start
- peers: {dver}; {wver}
- command: `bench/registry/blob_get.py --duration {a.duration} --rounds {a.rounds}`; each cell is the median of {a.rounds} rounds of {a.duration} s against `/v2/bench/blob/blobs/<digest>`, after a 2 s warm-up of each client on each registry; the rounds alternate between the two registries and between the clients (the order flips every round)
- bytes checked: before the timed rounds `blobget --verify` read and SHA-256-checked {', '.join(verified)} bodies: all matched their digest
- CPU columns: % of one CPU over the round (the machine has {100 * ncpu}%), from the client's rusage, the registry's /proc/PID/stat and /proc/stat for the whole machine; "rest" is everything else that ran meanwhile (other engineers' builds and tests, the kernel's own threads). On loopback the kernel's TCP work for a transfer (sending, the loopback receive path, the ACKs that let more be sent) runs in whichever process's context sets it off and is charged to that process, so a slow reader such as wrk is charged part of the server's sending: the split between client and registry is approximate, their sum is not
- berth-registry writes its access log (one line per request, to a file); distribution's access log is disabled and its log level is `error`
- goals (issue #7): small blobs at least 10× distribution's requests/s, large blobs at least 2× its MB/s

{chr(10).join(table)}

{goals}

{cpu}
"""
    return text


if __name__ == "__main__":
    sys.exit(main())
