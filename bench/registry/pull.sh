#!/usr/bin/env bash
# Benchmark: pulling a multi-layer image from Debian's docker-registry (distribution 2.8) on
# 127.0.0.1, side by side in one hyperfine run: `berth pull` against berthd, `docker pull`
# against berthd, `docker pull` against a dockerd of the bench's own (Debian's docker.io:
# dockerd 20.10 + containerd 1.6), and `skopeo copy` of the image into a directory (no
# unpack). The image is removed before every run, so each pull downloads, verifies and
# unpacks every layer. Writes the "## registry: pull" section of docs/benchmarks.md.
#
# Usage: bench/registry/pull.sh [--build DIR] [--runs N] [--warmup N] [--layers N]
#                               [--layer-mb M] [--no-write]
#   --build DIR    where berthd, berth and berth-shim are (default $BERTH_BUILD or ./build)
#   --layers N     layers of the image (default 5)
#   --layer-mb M   MB of content per layer, half random, half text (default 10)
#   --no-write     print the report, leave docs/benchmarks.md alone
# Everything runs on its own roots, ports and sockets under /tmp/berth-bench-pull.*; dockerd
# gets --bridge none --iptables=false --ip-forward=false so the host network is not touched.
# All daemons and dirs are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

build=${BERTH_BUILD:-build}
runs=10
warmup=1
layers=5
layer_mb=10
write=1
while (($#)); do
	case $1 in
	--build) build=$2; shift ;;
	--runs) runs=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--layers) layers=$2; shift ;;
	--layer-mb) layer_mb=$2; shift ;;
	--no-write) write=0 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "pull.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
build=$(realpath "$build")
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need_built "$build" berthd berth berth-shim
bench_need_tools hyperfine /usr/bin/python3 docker-registry skopeo
bench_install_docker_io
docker=$(command -v docker) # the same docker CLI talks to both daemons

tmp=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
out=$tmp/out
mkdir -p "$out"
R=$tmp/r # docker-registry
B=$tmp/b # berthd
C=$tmp/c # containerd
D=$tmp/d # dockerd
bsock=$B/exec/berth.sock
csock=$C/containerd.sock
dsock=$D/docker.sock
berth=("$build/berth" -H "unix://$bsock")
bdocker=("$docker" -H "unix://$bsock")
ddocker=("$docker" -H "unix://$dsock")
rpid= bpid= cpid= dpid=

cleanup() {
	set +e
	stop_pid "$bpid"
	stop_pid "$dpid"
	stop_pid "$cpid"
	stop_pid "$rpid"
	bench_cleanup_tmp
}
trap cleanup EXIT

# ---- the registry and the image ----
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$R/storage"
cat >"$R/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $R/storage
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$R/config.yml" >"$tmp/registry.log" 2>&1 &
rpid=$!
for ((i = 0; i < 300; i++)); do
	/usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/')" 2>/dev/null && break
	kill -0 "$rpid" 2>/dev/null || { log "docker-registry exited:"; cat "$tmp/registry.log" >&2; exit 1; }
	sleep 0.1
done
image=127.0.0.1:$port/bench/pull:1
log "pushing $image: $layers layers of $layer_mb MB (gzip)"
/usr/bin/python3 - "$port" "$layers" "$layer_mb" >"$out/image" <<'EOF'
# A Docker schema 2 image of N gzip layers, each one file: half random bytes (incompressible),
# half text (compressible), pushed with POST + PUT.
import gzip, hashlib, http.client, io, json, os, random, sys, tarfile

port, n, mb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def req(method, path, body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return r


def put_blob(data):
    d = sha(data)
    loc = req("POST", "/v2/bench/pull/blobs/uploads/").getheader("Location")
    loc = "/" + loc.split("/", 3)[3] if loc.startswith("http") else loc
    req("PUT", f"{loc}{'&' if '?' in loc else '?'}digest={d}", data,
        {"Content-Type": "application/octet-stream"})
    return d


rnd = random.Random(7)
words = [b"alpha", b"bravo", b"charlie", b"delta", b"echo", b"foxtrot", b"golf", b"hotel"]
diff_ids, descs, total = [], [], 0
for i in range(n):
    half = mb * 1000 * 1000 // 2
    content = os.urandom(half) + b" ".join(rnd.choice(words) for _ in range(half // 6))[:half]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo(f"layer{i}/data.bin")
        ti.size = len(content)
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(content))
    tar = buf.getvalue()
    blob = gzip.compress(tar, compresslevel=6, mtime=0)
    diff_ids.append(sha(tar))
    descs.append({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                  "digest": put_blob(blob), "size": len(blob)})
    total += len(blob)
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "config": {"Cmd": ["/bin/sh"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "history": [{"created_by": "bench"} for _ in range(n)]}).encode()
manifest = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "digest": put_blob(config), "size": len(config)},
                       "layers": descs}).encode()
req("PUT", "/v2/bench/pull/manifests/1", manifest,
    {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
print(f"{n} layers, {total / 1e6:.1f} MB compressed, {n * mb} MB unpacked")
EOF
log "image: $(cat "$out/image")"

# ---- berthd ----
mkdir -p "$B"
echo '{"registry-loopback-only": true}' >"$B/daemon.json"
bench_start_berthd "$build/berthd" "$B" --bridge none --config-file "$B/daemon.json"

# ---- containerd + dockerd ----
bench_start_containerd "$C"
bench_start_dockerd "$D" "$csock" \
	--bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
	--userland-proxy=false

# sanity: each pull works once, and removing the image leaves nothing to reuse (no blob,
# no layer), so every timed run downloads everything again
"${berth[@]}" pull -q "$image" >/dev/null
"${berth[@]}" rmi "$image" >/dev/null
left=$(find "$B/data/blobs" -type f | wc -l)
[[ $left -eq 0 ]] || { log "berthd kept $left blobs after rmi: runs would not download"; exit 1; }
"${ddocker[@]}" pull -q "$image" >/dev/null
"${ddocker[@]}" rmi "$image" >/dev/null

log "hyperfine: pull $image ($runs runs each, the image removed before each)"
hyperfine --warmup "$warmup" --runs "$runs" --export-json "$out/pull.json" \
	--export-markdown "$out/pull.md" \
	-n "berth pull (berthd)" --prepare "${berth[*]} rmi $image >/dev/null 2>&1 || true" \
	"${berth[*]} pull -q $image" \
	-n "docker pull (berthd)" --prepare "${bdocker[*]} rmi $image >/dev/null 2>&1 || true" \
	"${bdocker[*]} pull -q $image" \
	-n "docker pull (dockerd)" --prepare "${ddocker[*]} rmi $image >/dev/null 2>&1 || true" \
	"${ddocker[*]} pull -q $image" \
	-n "skopeo copy (to a dir, no unpack)" --prepare "rm -rf $tmp/skopeo" \
	"skopeo copy -q --src-tls-verify=false docker://$image dir:$tmp/skopeo" >&2

/usr/bin/python3 - "$out/pull.json" "$(cat "$out/image")" "$runs" "$warmup" "$layers" "$layer_mb" \
	"$(git -C "$repo" describe --always --dirty)" "$("$docker" version --format '{{.Client.Version}}' 2>/dev/null)" \
	"$(dockerd --version | sed 's/^Docker version //')" "$(docker-registry --version 2>&1 | head -1)" \
	"$write" "$repo/docs/benchmarks.md" <<'EOF'
import json, os, platform, re, statistics, sys, time
(res, image, runs, warmup, layers, mb, bver, cli, dver, rver, write, doc) = sys.argv[1:]
SECTION = "## registry: pull"
results = json.load(open(res))["results"]
base = next(r for r in results if r["command"] == "docker pull (dockerd)")
rows = ["| command | median | mean ± σ | min | max | median ÷ dockerd |", "|---|---|---|---|---|---|"]
for r in results:
    rows.append(f"| {r['command']} | {r['median']:.3f} s | {r['mean']:.3f} ± {r['stddev'] or 0:.3f} s "
                f"| {r['min']:.3f} s | {r['max']:.3f} s | {r['median'] / base['median']:.2f}× |")
try:
    osname = [l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME=")][0]
except (OSError, IndexError):
    osname = "Linux"
berth = next(r for r in results if r["command"] == "berth pull (berthd)")
skopeo = next(r for r in results if r["command"].startswith("skopeo copy"))
goal = ("met" if berth["median"] <= skopeo["median"] else "missed")
text = f"""{SECTION}

Pulling one multi-layer image from Debian's docker-registry on 127.0.0.1 (plain HTTP), the
image removed before every run (hyperfine `--prepare`), so each pull downloads, verifies and
unpacks every layer: berth's CLI and the docker CLI against berthd, the docker CLI against
a dockerd of the bench's own (`--bridge none`, overlay2, its own data root), and skopeo
copying the image into a directory.

- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
- machine: {osname}, Linux {platform.release()}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the end
- image: {image} (each layer one file, half random bytes, half text)
- versions: berth {bver}; docker CLI {cli}; dockerd {dver}; {rver}
- command: `bench/registry/pull.sh --runs {runs} --warmup {warmup} --layers {layers} --layer-mb {mb}`

{chr(10).join(rows)}

skopeo copies the same image into a directory (blobs verified and written, nothing
unpacked). Goal (issue #7): berth's pull, unpack included, no slower than skopeo's copy
alone: berth {berth['median']:.3f} s against skopeo {skopeo['median']:.3f} s
({berth['median'] / skopeo['median']:.2f}×): **{goal}**.
"""
print(text)
if write == "1":
    d = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    pat = re.compile(r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    d = pat.sub(lambda _: text + "\n", d) if pat.search(d) else d.rstrip("\n") + "\n\n" + text
    open(doc, "w").write(d.rstrip("\n") + "\n")
EOF
