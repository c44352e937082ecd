#!/usr/bin/env bash
# Quick start: runs one busybox container with the berth-runc just built, then cleans up.
# Usage: scripts/quickstart.sh BUILD_DIR   (RUNTIME=/path/to/runtime to use another one)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
runtime=${RUNTIME:-$build_dir/berth-runc}
if [[ "$runtime" != */* ]]; then
	runtime=$(command -v "$runtime") || { echo "quickstart: $RUNTIME not found on PATH" >&2; exit 1; }
fi
if [[ ! -x "$runtime" ]]; then
	echo "quickstart: $runtime not found: build it with 'make build'" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
id=quickstart-$$
cleanup() {
	"$runtime" --root "$tmp/root" delete --force "$id" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck disable=SC2016  # expanded inside the container, not here
/usr/bin/python3 tests/fixtures/busybox.py bundle "$tmp/bundle" --hostname berth-quickstart -- \
	sh -c 'echo "hello from a berth container: hostname $(hostname), pid $$, $(uname -sr)"'
echo "+ $runtime --root $tmp/root run --bundle $tmp/bundle $id"
"$runtime" --root "$tmp/root" run --bundle "$tmp/bundle" "$id"
