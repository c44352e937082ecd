#!/usr/bin/env bash
# Benchmark: `berth run --rm busybox true` against berthd, side by side in one hyperfine
# run with `docker run --rm busybox true` against a real dockerd (Debian's docker.io:
# dockerd 20.10 + containerd 1.6 + runc) and the docker CLI against berthd; idle and
# per-container memory of both engines; `ps -a` with 1000 created containers. Results go
# to the "## run" section of docs/benchmarks.md.
#
# Usage: bench/run/run.sh [--build DIR] [--runs N] [--warmup N] [--ps-count N]
#                         [--no-write] [--keep-going]
#   --build DIR     where berthd, berth and berth-shim are (default $BERTH_BUILD or ./build)
#   --ps-count N    containers created for the ps timing (default 1000)
#   --no-write      print the report, leave docs/benchmarks.md alone
# Everything runs on its own roots and sockets under /tmp/berth-bench-run.*; dockerd
# gets --bridge=none --iptables=false --ip-forward=false so the host network is not
# touched. All daemons, containers, mounts and dirs are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

build=${BERTH_BUILD:-build}
runs=30
warmup=3
ps_count=1000
write=1
while (($#)); do
	case $1 in
	--build) build=$2; shift ;;
	--runs) runs=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--ps-count) ps_count=$2; shift ;;
	--no-write) write=0 ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
build=$(realpath "$build")
for b in berthd berth berth-shim; do
	[[ -x "$build/$b" ]] || { echo "run.sh: $build/$b is not built (make build)" >&2; exit 1; }
done
for tool in hyperfine /usr/bin/python3 skopeo; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool missing: run scripts/install-deps.sh" >&2; exit 1; }
done
if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
	# the peer: Debian's docker.io (policy-rc.d or no init keeps it from starting its own)
	echo "run.sh: installing Debian's docker.io for the peer dockerd" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io containerd runc >&2
fi
docker=$(command -v docker) # the same docker CLI talks to both daemons

log() { echo "run.sh: $*" >&2; }

tmp=$(mktemp -d /tmp/berth-bench-run.XXXXXX)
out=$tmp/out
mkdir -p "$out"
B=$tmp/b # berthd
C=$tmp/c # containerd
D=$tmp/d # dockerd
bsock=$B/exec/berth.sock
csock=$C/containerd.sock
dsock=$D/docker.sock
berth=("$build/berth" -H "unix://$bsock")
bdocker=("$docker" -H "unix://$bsock")
ddocker=("$docker" -H "unix://$dsock")
bpid= cpid= dpid=

# host paths dockerd/containerd create outside their roots; removed at exit if new
host_paths=(/etc/docker/key.json /run/docker /run/containerd /var/run/docker.pid)
declare -A existed=()
for p in "${host_paths[@]}"; do [[ -e $p ]] && existed[$p]=1; done

stop_pid() { # pid: SIGTERM, wait up to 20 s, then SIGKILL
	local pid=$1 i
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	set +e
	if [[ -n "$bpid" ]] && kill -0 "$bpid" 2>/dev/null; then
		ids=$("${berth[@]}" ps -aq --no-trunc 2>/dev/null)
		[[ -n "$ids" ]] && xargs -n 100 timeout 60 "${berth[@]}" rm -f <<<"$ids" >/dev/null 2>&1
	fi
	stop_pid "$bpid"
	if [[ -n "$dpid" ]] && kill -0 "$dpid" 2>/dev/null; then
		ids=$("${ddocker[@]}" ps -aq 2>/dev/null)
		[[ -n "$ids" ]] && xargs -n 100 timeout 60 "${ddocker[@]}" rm -f <<<"$ids" >/dev/null 2>&1
	fi
	stop_pid "$dpid"
	stop_pid "$cpid"
	# shims outlive their daemons by design; ours carry our roots in their command line
	for pid in $(pgrep -f -- "$tmp/" || true); do
		[[ $pid != "$$" ]] && kill -KILL "$pid" 2>/dev/null
	done
	sleep 0.2
	awk -v p="$tmp/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	for p in "${host_paths[@]}"; do
		[[ -n "${existed[$p]:-}" || ! -e $p ]] && continue
		if [[ -d $p ]]; then
			find "$p" -depth -type d -empty -delete 2>/dev/null
		else
			rm -f "$p"
		fi
	done
	[[ -d /etc/docker && -z "${existed[/etc/docker/key.json]:-}" ]] && rm -f /etc/docker/key.json
	rm -rf "$tmp"
}
trap cleanup EXIT

wait_sock() { # path pid name
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -S $1 ]] && return 0
		kill -0 "$2" 2>/dev/null || { log "$3 exited early; its log:"; tail -20 "$tmp/$3.log" >&2; exit 1; }
		sleep 0.1
	done
	log "$3 did not create $1"
	exit 1
}
rss_kib() { ps -o rss= -p "$1" | tr -d ' '; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# the shim whose command line names container id $1 (its own pid, not its children's)
shim_pid() { pgrep -o -f -- "$2.*$1" ; }

record() { echo "$1 $2" >>"$out/mem"; } # key value-kib

log "busybox image archive (tests/fixtures/busybox.py)"
python3 tests/fixtures/busybox.py docker-archive "$tmp/busybox.tar" >/dev/null

# ---- berthd ----
mkdir -p "$B/data" "$B/exec"
# --bridge none: like the peer dockerd below, no default bridge (loopback-only containers)
"$build/berthd" --data-root "$B/data" --exec-root "$B/exec" -H "unix://$bsock" --bridge none \
	>"$tmp/berthd.log" 2>&1 &
bpid=$!
wait_sock "$bsock" "$bpid" berthd
sleep 1
record berthd_start "$(rss_kib $bpid)"
"${berth[@]}" load -i "$tmp/busybox.tar" >/dev/null
sleep 0.5
record berthd_loaded "$(rss_kib $bpid)"

# ---- containerd + dockerd ----
mkdir -p "$C/root" "$C/state" "$D/data" "$D/exec"
cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$csock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = "$C/debug.sock"
EOF
containerd --config "$C/config.toml" >"$tmp/containerd.log" 2>&1 &
cpid=$!
wait_sock "$csock" "$cpid" containerd
echo '{}' >"$D/daemon.json"
dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
	-H "unix://$dsock" --pidfile "$D/docker.pid" --containerd "$csock" \
	--bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
	--userland-proxy=false --storage-driver overlay2 >"$tmp/dockerd.log" 2>&1 &
dpid=$!
wait_sock "$dsock" "$dpid" dockerd
for ((i = 0; i < 100; i++)); do "${ddocker[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${ddocker[@]}" load -i "$tmp/busybox.tar" >/dev/null
sleep 1
record dockerd_idle "$(rss_kib $dpid)"
record containerd_idle "$(rss_kib $cpid)"

# sanity: each command works once before it is timed
"${berth[@]}" run --rm busybox true
"${bdocker[@]}" run --rm busybox true
"${ddocker[@]}" run --rm busybox true 2>/dev/null

log "hyperfine: run --rm busybox true ($runs runs each)"
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/run.json" \
	-n "berth run (berthd)" "${berth[*]} run --rm busybox true" \
	-n "docker run (berthd)" "${bdocker[*]} run --rm busybox true" \
	-n "docker run (dockerd)" "${ddocker[*]} run --rm busybox true" >&2

sleep 1
record berthd_after_runs "$(rss_kib $bpid)"
record dockerd_after_runs "$(rss_kib $dpid)"
record containerd_after_runs "$(rss_kib $cpid)"

# one running container on each engine: its shim's memory
bcid=$("${berth[@]}" run -d busybox sleep 3600)
dcid=$("${ddocker[@]}" run -d busybox sleep 3600)
sleep 1
sp=$(shim_pid "$bcid" berth-shim)
record berth_shim "$(rss_kib "$sp")"
record berth_shim_pss "$(pss_kib "$sp")"
record berth_shim_procs "$(pgrep -c -f -- "berth-shim.*$bcid" || true)"
dp=$(shim_pid "$dcid" containerd-shim)
record containerd_shim "$(rss_kib "$dp")"
record containerd_shim_pss "$(pss_kib "$dp")"
record berthd_one_running "$(rss_kib $bpid)"
record berthd_pss "$(pss_kib $bpid)"
record dockerd_pss "$(pss_kib $dpid)"
record containerd_pss "$(pss_kib $cpid)"
"${berth[@]}" rm -f "$bcid" >/dev/null
"${ddocker[@]}" rm -f "$dcid" >/dev/null

log "creating $ps_count containers on each engine for ps"
seq "$ps_count" | xargs -P 4 -I{} "${berth[@]}" create --name p{} busybox true >/dev/null
# (dockerd warns on stderr at each create that IPv4 forwarding is off: by design here)
seq "$ps_count" | xargs -P 4 -I{} "${ddocker[@]}" create --name p{} busybox true >/dev/null 2>&1
n=$("${berth[@]}" ps -aq | wc -l)
[[ $n -ge $ps_count ]] || { log "berthd lists $n containers, wanted $ps_count"; exit 1; }
n=$("${ddocker[@]}" ps -aq | wc -l)
[[ $n -ge $ps_count ]] || { log "dockerd lists $n containers, wanted $ps_count"; exit 1; }
sleep 1
record berthd_with_created "$(rss_kib $bpid)"
record dockerd_with_created "$(rss_kib $dpid)"

log "hyperfine: ps -a with $ps_count containers"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$out/ps.json" \
	-n "berth ps -a (berthd)" "${berth[*]} ps -a" \
	-n "docker ps -a (berthd)" "${bdocker[*]} ps -a" \
	-n "docker ps -a (dockerd)" "${ddocker[*]} ps -a" >&2

versions=(
	"berth=$(git -C "$repo" describe --always --dirty)"
	"docker CLI=$("$docker" version --format '{{.Client.Version}}' 2>/dev/null)"
	"dockerd=$(dockerd --version | sed 's/^Docker version //')"
	"containerd=$(containerd --version | awk '{print $3}')"
	"runc=$(runc --version | awk 'NR==1 {print $3}')"
)
args=(--run "$out/run.json" --ps "$out/ps.json" --mem "$out/mem" --ps-count "$ps_count"
	--command "bench/run/run.sh --runs $runs --warmup $warmup --ps-count $ps_count"
	--bsock "$bsock" --dsock "$dsock")
for v in "${versions[@]}"; do args+=(--version "$v"); done
((write)) && args+=(--write "$repo/docs/benchmarks.md")
/usr/bin/python3 bench/run/report.py "${args[@]}"
