#!/usr/bin/env bash
# Benchmark: requests per second to a busybox httpd in a container, through a published
# port on 127.0.0.1 (berth's nftables DNAT) and straight to the container's address, side
# by side in one run (ab); with --with-docker also through a real dockerd's published port
# (its defaults: for 127.0.0.1 that is docker-proxy, its userland proxy, because its
# iptables OUTPUT rule skips 127.0.0.0/8). busybox httpd closes every connection, so each
# request is a new TCP connection: requests/s is also the connection setup rate. Results
# go to the "## network" section of docs/benchmarks.md.
#
# Robust on a shared 2-core machine: many short rounds, the paths interleaved within each
# round and their order reversed every other round (A B C, C B A, ...) so drifting load
# hits every path alike; the client (ab) is pinned to one CPU and the server side (the
# httpd processes, and docker-proxy) to the other, so the client cannot starve the server;
# the report shows medians and the per-round ratios of paths measured side by side.
#
# Usage: bench/network/run.sh [--build DIR] [--requests N] [--concurrency C] [--rounds R]
#                             [--with-docker] [--no-write]
# (defaults: 3000 requests, concurrency 16, 15 rounds)
# berthd runs on its own roots, bridge (bnbench0) and subnet; everything is removed at exit.
# --with-docker starts Debian's dockerd 20.10 on its own roots with --ip-forward=false (so it
# leaves the FORWARD policy alone); it adds its DOCKER chains to the host's iptables, which
# are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
build=${BERTH_BUILD:-build}
requests=3000
conc=16
rounds=15
docker_peer=0
write=1
while (($#)); do
	case $1 in
	--build) build=$2; shift ;;
	--requests) requests=$2; shift ;;
	--concurrency) conc=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--with-docker) docker_peer=1 ;;
	--no-write) write=0 ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
build=$(realpath "$build")
command -v ab >/dev/null || { echo "run.sh: ab missing (apache2-utils)" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

tmp=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
B=$tmp/b C=$tmp/c D=$tmp/d
bsock=$B/exec/berth.sock dsock=$D/docker.sock csock=$C/containerd.sock
berth=("$build/berth" -H "unix://$bsock")
bpid= cpid= dpid=
# iptables-nft tables dockerd makes: removed at exit if they were not there before
tables_before=$(nft list tables 2>/dev/null || true)
cleanup() {
	set +e
	bench_remove_containers "$bpid" "${berth[@]}"
	stop_pid "$bpid"
	bench_remove_containers "$dpid" docker -H "unix://$dsock"
	stop_pid "$dpid"
	stop_pid "$cpid"
	if ((docker_peer)); then
		ip link del bndock0 2>/dev/null
		for t in nat filter; do
			for ch in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
				iptables -t $t -S 2>/dev/null | grep -- "-j $ch" | sed 's/^-A/-D/' |
					while read -r rule; do eval iptables -t $t $rule; done
				iptables -t $t -F $ch 2>/dev/null; iptables -t $t -X $ch 2>/dev/null
			done
		done
		for t in nat filter; do
			iptables -t $t -S | grep -e bndock0 -e 10.233.77 | sed 's/^-A/-D/' |
				while read -r rule; do eval iptables -t $t $rule; done
			if ! grep -qx "table ip $t" <<<"$tables_before" && ! iptables -t $t -S | grep -q '^-A'; then
				nft delete table ip $t 2>/dev/null
			fi
		done
	fi
	bench_cleanup_tmp
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Two CPUs or more: the client on the last CPU, the server side on CPU 0.
ncpu=$(nproc)
client_cpu=$((ncpu - 1)) server_cpu=0
client=()
((ncpu > 1)) && client=(taskset -c "$client_cpu")
# pin a process and every thread of it (httpd's children per connection inherit it)
pin_server() {
	local pid
	((ncpu > 1)) || return 0
	for pid in "$@"; do taskset -a -p -c "$server_cpu" "$pid" >/dev/null; done
}
# ab's "Requests per second" for url (one round)
rps() { "${client[@]}" ab -q -n "$requests" -c "$conc" "$1" 2>/dev/null | awk '/^Requests per second/ {print $4}'; }
httpd='mkdir -p /www && head -c 1024 /dev/zero | tr "\0" x > /www/index.html && exec httpd -f -p 80 -h /www'

python3 tests/fixtures/busybox.py docker-archive "$tmp/busybox.tar" >/dev/null
bench_start_berthd "$build/berthd" "$B" --bridge bnbench0 --bip 10.231.77.1/24
"${berth[@]}" load -i "$tmp/busybox.tar" >/dev/null
bport=$(free_port)
"${berth[@]}" run -d --name web -p "127.0.0.1:$bport:80" busybox sh -c "$httpd" >/dev/null
cip=$("${berth[@]}" inspect -f '{{.NetworkSettings.IPAddress}}' web)
pin_server "$("${berth[@]}" inspect -f '{{.State.Pid}}' web)"
for ((i = 0; i < 100; i++)); do curl -sf "http://127.0.0.1:$bport/" >/dev/null && break; sleep 0.1; done

dport=
if ((docker_peer)); then
	command -v dockerd >/dev/null || { log "--with-docker: dockerd not installed (apt-get install docker.io)"; exit 1; }
	bench_start_containerd "$C"
	ip link add bndock0 type bridge && ip addr add 10.233.77.1/24 dev bndock0 && ip link set bndock0 up
	bench_start_dockerd "$D" "$csock" --bridge bndock0 --ip-forward=false
	docker -H "unix://$dsock" load -i "$tmp/busybox.tar" >/dev/null
	dport=$(free_port)
	docker -H "unix://$dsock" run -d --name web -p "127.0.0.1:$dport:80" busybox sh -c "$httpd" >/dev/null
	for ((i = 0; i < 100; i++)); do curl -sf "http://127.0.0.1:$dport/" >/dev/null && break; sleep 0.1; done
	pin_server "$(docker -H "unix://$dsock" inspect -f '{{.State.Pid}}' web)"
	# Which path Docker's published port takes for 127.0.0.1 with its defaults: its proxy
	# process for the port, and whether its nat OUTPUT rule leaves loopback to that proxy.
	proxy_pids=$(pgrep -f -- "docker-proxy .*-host-port $dport( |\$)" || true)
	# shellcheck disable=SC2086
	[[ -n "$proxy_pids" ]] && pin_server $proxy_pids
	docker_path="docker-proxy for 127.0.0.1: $([[ -n "$proxy_pids" ]] && echo running || echo absent)"
	docker_path+="; nat OUTPUT: $(iptables -t nat -S OUTPUT | grep -- '-j DOCKER' | sed 's/^-A OUTPUT //' | head -1)"
	log "docker path: $docker_path"
fi

: >"$tmp/results"
declare -A url=([berth-published]="http://127.0.0.1:$bport/" [berth-direct]="http://$cip/")
paths=(berth-published berth-direct)
[[ -n "$dport" ]] && url[docker-published]="http://127.0.0.1:$dport/" && paths+=(docker-published)
for ((r = 1; r <= rounds; r++)); do
	order=("${paths[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((j = ${#paths[@]} - 1; j >= 0; j--)); do order+=("${paths[j]}"); done
	fi
	log "round $r/$rounds: ${order[*]} ($requests requests each, concurrency $conc)"
	for p in "${order[@]}"; do echo "$r $p $(rps "${url[$p]}")" >>"$tmp/results"; done
done
args=(--results "$tmp/results" --requests "$requests" --concurrency "$conc"
	--command "bench/network/run.sh --requests $requests --concurrency $conc --rounds $rounds$( ((docker_peer)) && echo ' --with-docker')"
	--version "berth=$(git -C "$repo" describe --always --dirty)"
	--version "ab=$(ab -V | awk 'NR==1 {print $5}')"
	--pinning "$( ((ncpu > 1)) && echo "client (ab) on CPU $client_cpu, server side on CPU $server_cpu" || echo "none (1 CPU)")")
[[ -n "${docker_path:-}" ]] && args+=(--docker-path "$docker_path")
((docker_peer)) && args+=(--version "dockerd=$(dockerd --version | sed 's/^Docker version //')")
((write)) && args+=(--write "$repo/docs/benchmarks.md")
/usr/bin/python3 bench/network/report.py "${args[@]}"
