#!/usr/bin/python3
"""Registry blob GET benchmark: requests/s and MB/s of berth-registry against Debian's
docker-registry (distribution 2.8) on the same machine, side by side in one run, with wrk
over keep-alive connections on 127.0.0.1, for a small (4 KiB) and a large (64 MiB) blob.
Writes the "## registry: blob GET" section of docs/benchmarks.md (see bench/README.md).

    bench/registry/blob_get.py [--duration S] [--rounds N] [--build DIR] [--work DIR] [--no-write]
"""

import argparse
import hashlib
import http.client
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SECTION = "## registry: blob GET"


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


UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def wrk(url, threads, conns, duration):
    p = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "60s", url], capture_output=True, text=True, check=True)
    out = p.stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors against {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    bps = float(m.group(1)) * UNITS[m.group(2)]
    return rps, bps / 1e6


def machine():
    cpus = os.cpu_count()
    try:
        osname = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME=")][0]
    except (OSError, IndexError):
        osname = platform.system()
    return f"{osname}, Linux {platform.release()}, {cpus} CPUs; load average {os.getloadavg()[0]:.2f} at the end (a shared machine is noisy: compare ratios within one run)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--work", default="/var/tmp/berth-bench-registry")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    for tool in ("wrk", "docker-registry"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (scripts/install-deps.sh)")
    berth = Path(a.build) / "berth-registry"
    if not os.access(berth, os.X_OK):
        raise SystemExit(f"{berth} is not built (make build)")
    load_start = os.getloadavg()[0]
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    dport = free_port()
    (work / "distribution.yml").write_text(
        f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {work}/distribution\n"
        f"http:\n  addr: 127.0.0.1:{dport}\n"
    )
    procs = []
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
        wait_ping(dport)
        wait_ping(bport)
        small = os.urandom(4096)
        large = os.urandom(64 * 1024 * 1024)
        blobs = {}
        for label, port in (("berth-registry", bport), ("distribution 2.8", dport)):
            blobs[label] = (port, push_blob(port, "bench/blob", small), push_blob(port, "bench/blob", large))
        rows = []
        for size_label, idx, conns in (("4 KiB", 1, 32), ("64 MiB", 2, 4)):
            samples = {label: [] for label in blobs}
            for label in blobs:  # warm-up
                port, *digests = blobs[label]
                wrk(f"http://127.0.0.1:{port}/v2/bench/blob/blobs/{digests[idx - 1]}", 2, conns, 2)
            # rounds alternate between the registries, so a burst of load from elsewhere on
            # the machine falls on both; each cell is the median round
            for rnd in range(a.rounds):
                for label in blobs:
                    port, *digests = blobs[label]
                    url = f"http://127.0.0.1:{port}/v2/bench/blob/blobs/{digests[idx - 1]}"
                    rps, mbps = wrk(url, 2, conns, a.duration)
                    samples[label].append((rps, mbps))
                    print(f"{size_label:7} {label:18} round {rnd + 1}: {rps:12.1f} req/s {mbps:10.1f} MB/s", flush=True)
            for label in blobs:
                rps = statistics.median(x[0] for x in samples[label])
                mbps = statistics.median(x[1] for x in samples[label])
                rows.append((size_label, label, conns, rps, mbps))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=60)
        shutil.rmtree(work / "distribution", ignore_errors=True)
        shutil.rmtree(work / "berth", ignore_errors=True)

    dver = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True).stdout.strip()
    wver = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0].strip()
    base = {r[0]: r for r in rows if r[1] == "distribution 2.8"}
    table = ["| blob | registry | connections | requests/s | MB/s | requests/s ÷ distribution | MB/s ÷ distribution |", "|---|---|---|---|---|---|---|"]
    for size_label, label, conns, rps, mbps in rows:
        table.append(f"| {size_label} | {label} | {conns} | {rps:,.1f} | {mbps:,.1f} | {rps / base[size_label][3]:.2f}× | {mbps / base[size_label][4]:.2f}× |")
    text = f"""{SECTION}

GET of one blob over and over, keep-alive, on 127.0.0.1: berth-registry against Debian's
docker-registry (distribution) serving the same bytes from its filesystem storage, one after
the other in one run. wrk and the servers share the machine's CPUs.

- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- machine: {machine()}; load average {load_start:.2f} at the start (other engineers' builds and tests share the 2 CPUs)
- peers: {dver}; {wver}
- command: `bench/registry/blob_get.py --duration {a.duration} --rounds {a.rounds}`; each cell is the median of {a.rounds} rounds of `wrk -t2 -c<connections> -d{a.duration}s --timeout 60s` against `/v2/bench/blob/blobs/<digest>`, the rounds alternating between the two registries, after a 2 s warm-up of each
- berth-registry writes its access log (one line per request, to a file); distribution's access log is disabled and its log level is `error`
- goals (issue #7): small blobs at least 10× distribution's requests/s, large blobs at least 2× its MB/s

{chr(10).join(table)}
"""
    print(text)
    if not a.no_write:
        path = REPO / "docs" / "benchmarks.md"
        doc = path.read_text() if path.exists() else "# Benchmarks\n"
        pat = re.compile(r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
        doc = pat.sub(lambda _: text + "\n", doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + text
        path.write_text(doc.rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
