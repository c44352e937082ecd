# shellcheck shell=bash
# shellcheck disable=SC2154 # $tmp, bpid, cpid, dpid: the sourcing script's
# Shared by the bench scripts (sourced, after `set -euo pipefail`): checks for tools and
# builds, stopping and waiting for daemons, berthd and the peer containerd + dockerd on roots
# of their own, and putting the machine back as it was at exit.
#
# The sourcing script sets $tmp (its temp dir: every root, socket and log lives under it)
# before it starts anything, and calls bench_cleanup_tmp last in its EXIT trap. Daemon logs go
# to $tmp/<name>.log. bench_start_* set the globals bpid, cpid and dpid, so that the trap can
# stop whatever did start even when a later step fails.

log() { echo "${0##*/}: $*" >&2; }

bench_need_tools() { # tool...: each on PATH, or exit naming the install script
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { log "$tool missing: run scripts/install-deps.sh"; exit 1; }
	done
}

bench_need_built() { # dir binary...: each built in dir, or exit
	local dir=$1 b
	shift
	for b in "$@"; do
		[[ -x "$dir/$b" ]] || { log "$dir/$b is not built (make build)"; exit 1; }
	done
}

# The peer: Debian's docker.io (dockerd 20.10, containerd 1.6, runc), installed when dockerd
# or containerd is missing. Its packaged services must not start: the benches start their
# own on their own roots. policy-rc.d exit 101 is Debian's switch for that; a policy the
# machine already has is left alone, one written here is removed after the install.
bench_install_docker_io() {
	command -v dockerd >/dev/null && command -v containerd >/dev/null && return 0
	log "installing Debian's docker.io for the peer dockerd"
	local policy=/usr/sbin/policy-rc.d wrote=0 rc=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && wrote=1
	fi
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends docker.io containerd runc; } >&2 || rc=$?
	((wrote)) && rm -f "$policy"
	return "$rc"
}

# Paths dockerd and containerd create outside their roots. Which of them exist is noted when
# this file is sourced (before any daemon starts); bench_cleanup_tmp removes the new ones.
bench_host_paths=(/etc/docker/key.json /run/docker /run/containerd /var/run/docker.pid)
declare -A bench_host_existed=()
for p in "${bench_host_paths[@]}"; do [[ -e $p ]] && bench_host_existed[$p]=1; done
unset p

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

wait_sock() { # path pid name: wait for the socket; exit with the log's tail if pid dies
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -S $1 ]] && return 0
		kill -0 "$2" 2>/dev/null || { log "$3 exited early; its log:"; tail -20 "$tmp/$3.log" >&2; exit 1; }
		sleep 0.1
	done
	log "$3 did not create $1"
	exit 1
}

# berthd with its data root, exec root and socket ($dir/exec/berth.sock) under dir; sets bpid.
bench_start_berthd() { # berthd-binary dir [berthd flags...]
	local berthd=$1 dir=$2
	shift 2
	mkdir -p "$dir/data" "$dir/exec"
	"$berthd" --data-root "$dir/data" --exec-root "$dir/exec" -H "unix://$dir/exec/berth.sock" "$@" \
		>"$tmp/berthd.log" 2>&1 &
	bpid=$!
	wait_sock "$dir/exec/berth.sock" "$bpid" berthd
}

# containerd with its root, state and sockets (grpc: $dir/containerd.sock) under dir, the CRI
# plugin off; sets cpid.
bench_start_containerd() { # dir
	local dir=$1
	mkdir -p "$dir/root" "$dir/state"
	cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
EOF
	containerd --config "$dir/config.toml" >"$tmp/containerd.log" 2>&1 &
	cpid=$!
	wait_sock "$dir/containerd.sock" "$cpid" containerd
}

# dockerd with its config, data root, exec root, pidfile and socket ($dir/docker.sock) under
# dir, on the containerd at csock, overlay2; the network flags are the caller's. Sets dpid and
# returns once the API answers.
bench_start_dockerd() { # dir csock [dockerd flags...]
	local dir=$1 csock=$2 i
	shift 2
	mkdir -p "$dir/data" "$dir/exec"
	echo '{}' >"$dir/daemon.json"
	dockerd --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
		-H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" --containerd "$csock" \
		--storage-driver overlay2 "$@" >"$tmp/dockerd.log" 2>&1 &
	dpid=$!
	wait_sock "$dir/docker.sock" "$dpid" dockerd
	for ((i = 0; i < 100; i++)); do
		docker -H "unix://$dir/docker.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
}

# Removes every container a docker-compatible CLI lists, while its daemon (pid) runs.
bench_remove_containers() { # pid cli...
	local pid=$1 ids
	shift
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
	ids=$("$@" ps -aq --no-trunc 2>/dev/null) || true
	[[ -n "$ids" ]] && xargs -n 100 timeout 60 "$@" rm -f <<<"$ids" >/dev/null 2>&1
	return 0
}

# The end of every EXIT trap, once the daemons are stopped: processes that still name $tmp
# (shims outlive their daemons by design), mounts under $tmp, the host paths that are new,
# and $tmp itself.
bench_cleanup_tmp() {
	local pid p
	for pid in $(pgrep -f -- "$tmp/" || true); do
		[[ $pid != "$$" ]] && kill -KILL "$pid" 2>/dev/null
	done
	sleep 0.2
	awk -v p="$tmp/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
	for p in "${bench_host_paths[@]}"; do
		[[ -n "${bench_host_existed[$p]:-}" || ! -e $p ]] && continue
		if [[ -d $p ]]; then
			find "$p" -depth -type d -empty -delete 2>/dev/null
		else
			rm -f "$p"
		fi
	done
	rm -rf "$tmp"
}
