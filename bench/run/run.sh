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
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need_built "$build" berthd berth berth-shim
bench_need_tools hyperfine /usr/bin/python3 skopeo
bench_install_docker_io
docker=$(command -v docker) # the same docker CLI talks to both daemons

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

cleanup() {
	set +e
	bench_remove_containers "$bpid" "${berth[@]}"
	stop_pid "$bpid"
	bench_remove_containers "$dpid" "${ddocker[@]}"
	stop_pid "$dpid"
	stop_pid "$cpid"
	bench_cleanup_tmp
}
trap cleanup EXIT

rss_kib() { ps -o rss= -p "$1" | tr -d ' '; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# the shim whose command line names container id $1 (its own pid, not its children's)
shim_pid() { pgrep -o -f -- "$2.*$1" ; }

record() { echo "$1 $2" >>"$out/mem"; } # key value-kib

log "busybox image archive (tests/fixtures/busybox.py)"
python3 tests/fixtures/busybox.py docker-archive "$tmp/busybox.tar" >/dev/null

# ---- berthd ----
# --bridge none: like the peer dockerd below, no default bridge (loopback-only containers)
bench_start_berthd "$build/berthd" "$B" --bridge none
sleep 1
record berthd_start "$(rss_kib $bpid)"
"${berth[@]}" load -i "$tmp/busybox.tar" >/dev/null
sleep 0.5
record berthd_loaded "$(rss_kib $bpid)"
sleep 12 # berthd unloads libarchive 10 s after the last archive closed
record berthd_loaded_idle "$(rss_kib $bpid)"

# ---- containerd + dockerd ----
bench_start_containerd "$C"
bench_start_dockerd "$D" "$csock" \
	--bridge none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
	--userland-proxy=false
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

# dockerd and containerd keep working for a while after a thousand creates: time ps only
# once every daemon has been idle for 2 s (at most 60 s), so no engine's backlog lands in
# another's samples
cpu_ticks() { # pid...: their user+system clock ticks so far
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
	echo $t
}
quiet=0 prev=$(cpu_ticks $bpid $dpid $cpid)
for _ in $(seq 60); do
	sleep 1
	now=$(cpu_ticks $bpid $dpid $cpid)
	if ((now - prev <= 1)); then quiet=$((quiet + 1)); else quiet=0; fi
	prev=$now
	((quiet >= 2)) && break
done
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
