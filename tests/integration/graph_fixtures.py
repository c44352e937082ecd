"""Helpers for the graph tests (test_graph_*.py): the berth-graph driver, busybox images built
with umoci and converted with skopeo, OCI layouts written by hand for layers that the tools
cannot make (opaque dirs, devices, malicious entries), and rootfs snapshots for exact
comparisons. Standard library only (Debian's /usr/bin/python3)."""

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "/bin/busybox"


def build_dir():
    return Path(os.environ.get("BERTH_BUILD", REPO / "build")).resolve()


def graph_bin():
    for p in (build_dir() / "berth-graph", build_dir() / "src" / "graph" / "berth-graph"):
        if p.is_file():
            return str(p)
    raise FileNotFoundError("berth-graph is not built (make build)")


def run_graph(root, *args, driver=None, check=True, input=None, timeout=600):
    """Runs `berth-graph --root ROOT [--driver D] ARGS`; returns the CompletedProcess."""
    cmd = [graph_bin(), "--root", str(root)]
    if driver:
        cmd += ["--driver", driver]
    cmd += [str(a) for a in args]
    res = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr}")
    return res


def graph_json(root, *args, driver=None):
    return json.loads(run_graph(root, *args, driver=driver).stdout)


def run(*cmd, cwd=None):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed: {res.stderr}")
    return res.stdout


# --- busybox rootfs ---------------------------------------------------------------------

def make_busybox_rootfs(dest):
    """A rootfs with /bin/busybox (Debian's busybox-static) and a symlink per applet in /bin,
    skipping `busybox` itself (linking it over the binary would make a loop)."""
    dest = Path(dest)
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox" and not (dest / "bin" / a).exists():
            os.symlink("busybox", dest / "bin" / a)
    for d in ("etc", "tmp", "root", "dev", "proc", "sys"):
        (dest / d).mkdir(exist_ok=True)
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")
    os.chmod(dest / "tmp", 0o1777)
    return dest


# --- umoci-built images ---------------------------------------------------------------------

class UmociImage:
    """An OCI layout built layer by layer with umoci: each step unpacks the current tag,
    lets a function edit the rootfs, and repacks (umoci writes the layer, whiteouts included).
    self.rootfs always holds the expected filesystem of the current tag."""

    def __init__(self, workdir, tag="latest"):
        self.work = Path(workdir)
        self.layout = self.work / "layout"
        self.tag = tag
        self.work.mkdir(parents=True, exist_ok=True)
        run("umoci", "init", "--layout", self.layout)
        run("umoci", "new", "--image", f"{self.layout}:{tag}")
        self.steps = 0
        self.bundle = None

    @property
    def ref(self):
        return f"{self.layout}:{self.tag}"

    @property
    def rootfs(self):
        return self.bundle / "rootfs"

    def layer(self, edit):
        bundle = self.work / f"bundle{self.steps}"
        self.steps += 1
        run("umoci", "unpack", "--image", self.ref, bundle)
        edit(bundle / "rootfs")
        run("umoci", "repack", "--image", self.ref, bundle)
        self.bundle = bundle
        return self

    def config(self, *args):
        run("umoci", "config", "--image", self.ref, *args)
        return self


def skopeo_copy(src, dst):
    run("skopeo", "--insecure-policy", "copy", "--quiet", src, dst)


# --- hand-written OCI layouts ---------------------------------------------------------------------

MT_LAYER = {
    None: "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compress(data, how):
    if how is None:
        return data
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    raise ValueError(how)


class TarBuilder:
    """Layer tars with exact control of every header (names, owners, links, devices, pax)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, type_, mode, uid=0, gid=0, mtime=1700000000, **kw):
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.mtime = mtime
        for k, v in kw.items():
            setattr(ti, k, v)
        return ti

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))
        return self

    def file(self, name, data=b"", mode=0o644, **kw):
        if isinstance(data, str):
            data = data.encode()
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))
        return self

    def symlink(self, name, target, **kw):
        self.tar.addfile(self._info(name, tarfile.SYMTYPE, 0o777, linkname=target, **kw))
        return self

    def hardlink(self, name, target, **kw):
        self.tar.addfile(self._info(name, tarfile.LNKTYPE, 0o644, linkname=target, **kw))
        return self

    def chardev(self, name, major, minor, mode=0o666, **kw):
        self.tar.addfile(self._info(name, tarfile.CHRTYPE, mode, devmajor=major, devminor=minor, **kw))
        return self

    def fifo(self, name, mode=0o644, **kw):
        self.tar.addfile(self._info(name, tarfile.FIFOTYPE, mode, **kw))
        return self

    def whiteout(self, path):
        d, _, base = path.rpartition("/")
        return self.file((d + "/" if d else "") + ".wh." + base, b"", mode=0o644)

    def opaque(self, dirpath):
        return self.file(dirpath.rstrip("/") + "/.wh..wh..opq", b"")

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def write_oci_layout(dest, layers, tag="latest", compression="gzip", config_extra=None,
                     layer_media_types=None, corrupt=None):
    """An OCI layout at dest with one image made of the given layer tars (bytes).
    corrupt: None, or one of "digest" (a layer blob altered after hashing), "missing-blob",
    "bad-config" (config is not JSON), "diff-id" (a wrong diff ID in the config).
    Returns (config digest, list of diff IDs)."""
    dest = Path(dest)
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data):
        d = sha256(data)
        (blobs / d[7:]).write_bytes(data)
        return d

    descs, diff_ids = [], []
    for i, raw in enumerate(layers):
        comp = compress(raw, compression)
        mt = (layer_media_types or {}).get(i, MT_LAYER[compression])
        d = put(comp)
        descs.append({"mediaType": mt, "digest": d, "size": len(comp)})
        diff_ids.append(sha256(raw))
    if corrupt == "diff-id":
        diff_ids[-1] = sha256(b"something else")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config.update(config_extra or {})
    cbytes = json.dumps(config).encode() if corrupt != "bad-config" else b'{"rootfs": {"type": '
    cd = put(cbytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cbytes)},
        "layers": descs,
    }
    mbytes = json.dumps(manifest).encode()
    md = put(mbytes)
    if corrupt == "digest":
        p = blobs / descs[-1]["digest"][7:]
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0xFF
        p.write_bytes(bytes(data))
    if corrupt == "missing-blob":
        (blobs / descs[-1]["digest"][7:]).unlink()
    (dest / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md,
            "size": len(mbytes),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    }
    (dest / "index.json").write_text(json.dumps(index))
    return cd, diff_ids


def append_layer(layout, tag, raw, compression="gzip"):
    """Adds a hand-made layer on top of image `tag` of an existing OCI layout (as a new
    manifest and config), e.g. an opaque-dir layer on a umoci-built image."""
    layout = Path(layout)
    blobs = layout / "blobs" / "sha256"
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = json.loads((blobs / desc["digest"][7:]).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"][7:]).read_bytes())
    comp = compress(raw, compression)
    ld = sha256(comp)
    (blobs / ld[7:]).write_bytes(comp)
    manifest["layers"].append({"mediaType": MT_LAYER[compression], "digest": ld, "size": len(comp)})
    config["rootfs"]["diff_ids"].append(sha256(raw))
    config.setdefault("history", []).append({"created": "2024-01-01T00:00:00Z", "created_by": "hand-made layer"})
    cbytes = json.dumps(config).encode()
    cd = sha256(cbytes)
    (blobs / cd[7:]).write_bytes(cbytes)
    manifest["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": cd, "size": len(cbytes)}
    mbytes = json.dumps(manifest).encode()
    md = sha256(mbytes)
    (blobs / md[7:]).write_bytes(mbytes)
    desc["digest"], desc["size"] = md, len(mbytes)
    (layout / "index.json").write_text(json.dumps(index))
    return cd


# --- rootfs snapshots ---------------------------------------------------------------------

def snapshot(root, with_times=True):
    """{relative path: description} of every entry below root (the root itself excluded):
    type, permission bits, owner, and content hash / link target / device number; regular
    files and symlinks also carry their mtime (directory mtimes change with their content,
    so they are left out)."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = os.lstat(p)
            desc = {"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISDIR(st.st_mode):
                desc["type"] = "dir"
            elif stat.S_ISLNK(st.st_mode):
                desc["type"] = "symlink"
                desc["target"] = os.readlink(p)
                desc.pop("mode")
            elif stat.S_ISREG(st.st_mode):
                desc["type"] = "file"
                desc["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISCHR(st.st_mode):
                desc["type"] = f"char {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            elif stat.S_ISBLK(st.st_mode):
                desc["type"] = f"block {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            elif stat.S_ISFIFO(st.st_mode):
                desc["type"] = "fifo"
            else:
                desc["type"] = "other"
            if with_times and not stat.S_ISDIR(st.st_mode):
                desc["mtime"] = round(st.st_mtime)  # Go tar writers round to the second
            out[rel] = desc
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return out


def diff_snapshots(a, b):
    """A readable list of differences (empty when equal)."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in a:
            lines.append(f"+ {k} {b[k]}")
        elif k not in b:
            lines.append(f"- {k} {a[k]}")
        elif a[k] != b[k]:
            lines.append(f"~ {k} {a[k]} != {b[k]}")
    return lines


class Mounted:
    """Context manager: a writable layer on an image, mounted; yields the rootfs path and
    unmounts and removes the layer afterwards."""

    def __init__(self, root, image, name="snap", driver=None):
        self.root, self.image, self.name, self.driver = root, image, name, driver

    def __enter__(self):
        run_graph(self.root, "rw-create", self.name, self.image, driver=self.driver)
        self.path = Path(run_graph(self.root, "mount", self.name, driver=self.driver).stdout.strip())
        return self.path

    def __exit__(self, *exc):
        run_graph(self.root, "umount", self.name, driver=self.driver)
        run_graph(self.root, "rw-remove", self.name, driver=self.driver)


def image_rootfs_snapshot(root, image, driver=None, with_times=True):
    with Mounted(root, image, driver=driver) as path:
        return snapshot(path, with_times=with_times)


def store_state(root):
    """What a data root holds, for 'nothing registered, nothing left' checks."""
    root = Path(root)
    layers = root / "layers"
    return {
        "images": json.loads(run_graph(root, "images", "-a").stdout),
        "layers": sorted(p.name for p in layers.iterdir() if p.name != "l") if layers.exists() else [],
        "links": sorted(p.name for p in (layers / "l").iterdir()) if (layers / "l").exists() else [],
        "blobs": sorted(p.name for p in (root / "blobs" / "sha256").iterdir()),
        "tmp": sorted(p.name for p in (root / "tmp").iterdir()),
    }


def tree_fingerprint(path):
    """Names, types, sizes and mtimes of everything below path (to prove nothing changed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames + ["."]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink)
    return out


def wait_for(pred, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False
