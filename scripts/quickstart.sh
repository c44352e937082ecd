#!/usr/bin/env bash
# Quick start: starts berthd on a scratch data root and socket, loads the busybox image made
# from Debian's busybox-static, runs a container with the berth CLI (and, when present, the
# docker CLI against the same daemon), then stops everything and cleans up.
# Usage: scripts/quickstart.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=$(realpath "${1:-build}")
for bin in berthd berth berth-shim berth-runc; do
	[[ -x "$build_dir/$bin" ]] || { echo "quickstart: $build_dir/$bin not found: run 'make build'" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
sock="$tmp/exec/berth.sock"
daemon_pid=
cleanup() {
	if [[ -n "$daemon_pid" ]]; then
		"$build_dir/berth" -H "unix://$sock" rm -f quickstart >/dev/null 2>&1 || true
		kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
	fi
	grep -o "$tmp[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "+ berthd --data-root $tmp/data --exec-root $tmp/exec -H unix://$sock"
"$build_dir/berthd" --data-root "$tmp/data" --exec-root "$tmp/exec" -H "unix://$sock" \
	>"$tmp/berthd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.05; done
[[ -S "$sock" ]] || { echo "quickstart: berthd did not start:" >&2; cat "$tmp/berthd.log" >&2; exit 1; }

berth() { echo "+ berth $*"; "$build_dir/berth" -H "unix://$sock" "$@"; }
/usr/bin/python3 tests/fixtures/busybox.py docker-archive "$tmp/busybox.tar" >/dev/null
berth load -i "$tmp/busybox.tar"
# shellcheck disable=SC2016  # expanded inside the container, not here
berth run --rm --name quickstart --hostname berth-quickstart busybox \
	sh -c 'echo "hello from a berth container: hostname $(hostname), pid $$, $(uname -sr)"'
berth images
if command -v docker >/dev/null; then
	echo "+ DOCKER_HOST=unix://$sock docker run --rm busybox echo hello from the docker CLI"
	DOCKER_HOST="unix://$sock" DOCKER_CONFIG="$tmp/docker-config" docker run --rm busybox echo hello from the docker CLI
fi
