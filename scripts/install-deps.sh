#!/usr/bin/env bash
# Installs every Debian package berth needs to build, test and benchmark, on a fresh
# Debian 12 machine as root. Idempotent: when all are installed it touches nothing.
#
# Parts that need more packages list them in scripts/packages/<part>.txt, one name a
# line, '#' starts a comment; this script installs those too.
#
# --check: only list what is missing (exit 1 if anything is), install nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

build_pkgs=(
	meson ninja-build pkg-config gcc libc6-dev make git
	libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libarchive-dev libssl-dev nettle-dev
	libsqlite3-dev libseccomp-dev libcap-dev libnftables-dev libnl-route-3-dev
	libmnl-dev libzstd-dev
	clang-format clang-tidy cppcheck
)
# Real peers and tools the tests and benchmarks drive. python3 is Debian's own
# /usr/bin/python3, which is the one that sees python3-pytest and python3-docker.
test_pkgs=(
	python3 python3-pytest python3-docker docker-compose
	busybox-static crun runc containerd skopeo umoci
	iproute2 nftables hyperfine time ca-certificates
	docker-registry apache2-utils procps util-linux curl file gdb strace
)

pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}")
shopt -s nullglob
for list in scripts/packages/*.txt; do
	while read -r name _; do
		[[ -z "$name" || "$name" == \#* ]] && continue
		pkgs+=("$name")
	done < <(sed 's/#.*//' "$list")
done

# A docker CLI for the tests that drive berthd with the real client. Debian's docker.io
# brings one (20.10, which negotiates the API version down); a newer CLI already at
# /usr/local/bin/docker is kept and docker.io is not installed over it.
if ! command -v docker >/dev/null 2>&1 && [[ ! -x /usr/local/bin/docker ]]; then
	pkgs+=(docker.io)
fi

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#pkgs[@]} packages are installed"
	exit 0
fi

if ((check_only)); then
	echo "install-deps: missing: ${missing[*]}"
	exit 1
fi

if ((EUID != 0)); then
	echo "install-deps: run as root to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packaged services (containerd, dockerd, docker-registry) must not start at install:
# tests start their own instances on their own sockets and ports. policy-rc.d exit 101
# is Debian's switch for that; a policy the machine already has is left alone.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
