#!/usr/bin/python3
"""Builds the graph benchmark image from directories of this machine: gzip layer tars (what
`tar -xzf` is timed on), an OCI image layout of those same blobs, and an oci-archive tar of
the layout. Usage: make_image.py OUTDIR. Standard library and GNU tar/gzip only."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

# (source directory, path inside the image); about 200 MB of files in four layers
LAYERS = [
    ("/usr/include", "usr/include"),
    ("/usr/lib/python3", "usr/lib/python3"),
    ("/usr/share/perl", "usr/share/perl"),
]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def diff_id(gz_path):
    h = hashlib.sha256()
    p = subprocess.Popen(["gzip", "-dc", gz_path], stdout=subprocess.PIPE)
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        h.update(chunk)
    if p.wait() != 0:
        raise SystemExit(f"gzip -dc {gz_path} failed")
    return "sha256:" + h.hexdigest()


def make_layer(out, src, dest):
    """tar of src placed at dest (with its parent directories), gzip -6."""
    with tempfile.TemporaryDirectory(dir=os.path.dirname(out)) as stage:
        parent = os.path.join(stage, os.path.dirname(dest))
        os.makedirs(parent)
        os.symlink(src, os.path.join(stage, dest))
        subprocess.run(f"tar --sort=name --numeric-owner -C {stage} -chf - {dest.split('/')[0]} | gzip -6 > {out}",
                       shell=True, check=True)


def make_top_layer(out):
    """The last layer deletes one directory (a whiteout) and makes another opaque."""
    import io
    raw = out + ".raw"
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in (("usr/include/.wh.linux", b""), ("usr/share/perl/.wh..wh..opq", b""),
                           ("etc/bench-release", b"graph bench\n")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    subprocess.run(f"gzip -6 -c {raw} > {out}", shell=True, check=True)
    os.unlink(raw)


def main():
    out = os.path.abspath(sys.argv[1])
    layers_dir = os.path.join(out, "layers")
    oci = os.path.join(out, "oci")
    blobs = os.path.join(oci, "blobs", "sha256")
    os.makedirs(layers_dir, exist_ok=True)
    os.makedirs(blobs, exist_ok=True)
    paths = []
    for i, (src, dest) in enumerate(LAYERS):
        p = os.path.join(layers_dir, f"layer{i}.tar.gz")
        make_layer(p, src, dest)
        paths.append(p)
    p = os.path.join(layers_dir, f"layer{len(LAYERS)}.tar.gz")
    make_top_layer(p)
    paths.append(p)
    descs, diff_ids = [], []
    for p in paths:
        d = sha256_file(p)
        shutil.copyfile(p, os.path.join(blobs, d[7:]))
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                      "size": os.path.getsize(p)})
        diff_ids.append(diff_id(p))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(paths))],
    }).encode()
    cd = "sha256:" + hashlib.sha256(config).hexdigest()
    open(os.path.join(blobs, cd[7:]), "wb").write(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
        "layers": descs,
    }).encode()
    md = "sha256:" + hashlib.sha256(manifest).hexdigest()
    open(os.path.join(blobs, md[7:]), "wb").write(manifest)
    open(os.path.join(oci, "oci-layout"), "w").write('{"imageLayoutVersion": "1.0.0"}')
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "bench:latest"}}]},
        open(os.path.join(oci, "index.json"), "w"))
    subprocess.run(["tar", "-C", oci, "-cf", os.path.join(out, "image.oci.tar"), "."], check=True)
    raw = sum(int(subprocess.run(f"gzip -dc {p} | wc -c", shell=True, capture_output=True, text=True,
                                 check=True).stdout) for p in paths)
    gz = sum(os.path.getsize(p) for p in paths)
    json.dump({"layers": len(paths), "tar_bytes": raw, "gzip_bytes": gz,
               "sources": [s for s, _ in LAYERS]}, open(os.path.join(out, "image.json"), "w"))
    print(f"{len(paths)} layers, {raw / 1e6:.0f} MB of tar, {gz / 1e6:.0f} MB gzip")


if __name__ == "__main__":
    main()
