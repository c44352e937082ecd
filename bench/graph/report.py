#!/usr/bin/python3
"""Turns the graph bench's hyperfine JSON into the "## graph" section of docs/benchmarks.md
(printed; with --write FILE the section in FILE is replaced, or appended if missing)."""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess


def fmt(s):
    return f"{s:.2f} s"


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    distro = "Linux"
    try:
        distro = "Debian " + open("/etc/debian_version").read().strip()
    except OSError:
        pass
    fs = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", "/var/tmp"], capture_output=True, text=True).stdout.strip()
    return (f"{distro}, Linux {platform.release()}, {cpu}, {os.cpu_count()} CPUs, {mem:.1f} GiB RAM, "
            f"work dir on {fs or '?'}; load average {os.getloadavg()[0]:.2f} at the end "
            "(a shared machine is noisy: compare ratios within one run)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("result")
    ap.add_argument("image")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--write")
    a = ap.parse_args()
    res = json.load(open(a.result))["results"]
    img = json.load(open(a.image))
    by = {r["command"]: r for r in res}
    tar = by["tar -xzf"]["median"]
    tarsync = by["tar -xzf + sync"]["median"]
    rows = []
    for r in res:
        rows.append(f"| {r['command']} | {fmt(r['median'])} | {fmt(r['mean'])} ± {fmt(r['stddev'] or 0)} | "
                    f"{fmt(r['min'])} | {fmt(r['max'])} | {r['median'] / tar:.2f} | {r['median'] / tarsync:.2f} |")
    versions = []
    for cmd in (["skopeo", "--version"], ["umoci", "--version"], ["tar", "--version"]):
        out = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()
        versions.append(out[0] if out else cmd[0])
    text = f"""## graph

Loading a multi-layer gzip image: berth's `load` against `tar -xzf` of the same layer blobs
(one directory per layer, in sequence) and against `skopeo copy` of the oci-archive to an OCI
layout plus `umoci unpack`. Side by side in one hyperfine run; every sample starts from empty
output directories after a `sync`.

- date: {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M')} UTC
- machine: {machine()}
- image: {img['layers']} gzip layers ({', '.join(img['sources'])}, and a small layer with a whiteout and an opaque dir): {img['tar_bytes'] / 1e6:.0f} MB of tar, {img['gzip_bytes'] / 1e6:.0f} MB compressed; built by `bench/graph/make_image.py`
- tools: {'; '.join(versions)}
- command: `bench/graph/run.sh --runs {a.runs} --warmup {a.warmup}`; berth is `berth-graph --root <fresh dir> load <image>` (overlay2, default threads = CPUs)
- what berth does beyond tar: checks every blob digest and diff ID while unpacking, stores the compressed blobs in its content store (fsync + rename), `syncfs` before the database commit, and records the image in SQLite. "tar -xzf + sync" is tar with the data made durable too.

| command | median | mean ± σ | min | max | ÷ tar -xzf | ÷ tar + sync |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n"
    print(text)
    if a.write:
        doc = open(a.write).read() if os.path.exists(a.write) else "# Benchmarks\n"
        pat = re.compile(r"^## graph\n.*?(?=^## |\Z)", re.S | re.M)
        if pat.search(doc):
            doc = pat.sub(lambda m: text + "\n", doc)
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        open(a.write, "w").write(doc.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
