#!/usr/bin/env bash
# Benchmark: `run` of a busybox bundle running `true` with berth-runc, crun and runc,
# side by side in one hyperfine run (wall time), plus peak RSS from GNU time; results
# go to the "## runtime" section of docs/benchmarks.md.
#
# Usage: bench/runtime/run.sh [--build DIR] [--runs N] [--warmup N] [--rss-runs N]
#                             [--without-berth] [--no-write]
#   --build DIR       where berth-runc is (default $BERTH_BUILD or ./build)
#   --without-berth   bench crun and runc only (also what happens, with a notice,
#                     when berth-runc is not built)
#   --no-write        print the report, leave docs/benchmarks.md alone
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

build=${BERTH_BUILD:-build}
runs=50
warmup=5
rss_runs=9
with_berth=1
write=1
while (($#)); do
	case $1 in
	--build) build=$2; shift ;;
	--runs) runs=$2; shift ;;
	--warmup) warmup=$2; shift ;;
	--rss-runs) rss_runs=$2; shift ;;
	--without-berth) with_berth=0 ;;
	--no-write) write=0 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_need_tools hyperfine /usr/bin/time /usr/bin/python3

names=() bins=()
if ((with_berth)); then
	if [[ -x "$build/berth-runc" ]]; then
		names+=(berth-runc) bins+=("$(realpath "$build/berth-runc")")
	else
		echo "run.sh: NOTE: $build/berth-runc is not built; benchmarking the other runtimes only" >&2
	fi
fi
for rt in crun runc; do
	if path=$(command -v "$rt"); then
		names+=("$rt") bins+=("$path")
	else
		echo "run.sh: NOTE: $rt not found; skipping it" >&2
	fi
done
((${#names[@]} > 0)) || { echo "run.sh: no runtime to benchmark" >&2; exit 1; }

tmp=$(mktemp -d /tmp/berth-bench-runtime.XXXXXX)
hugetlb_mounted=0
cleanup() {
	for i in "${!names[@]}"; do
		root="$tmp/root-${names[$i]}"
		[[ -d "$root" ]] || continue
		for c in "$root"/*/; do
			[[ -d "$c" ]] && "${bins[$i]}" --root "$root" delete --force "$(basename "$c")" >/dev/null 2>&1
		done
	done
	rm -rf "$tmp"
	if ((hugetlb_mounted)); then
		# give hugetlb back to cgroup2, as the machine had it
		umount /sys/fs/cgroup/hugetlb && rmdir /sys/fs/cgroup/hugetlb &&
			echo "run.sh: restored: hugetlb is back on cgroup2 (/sys/fs/cgroup/unified)" >&2
	fi
}
trap cleanup EXIT

# crun 1.8 refuses hybrid cgroups while cgroup2 holds any controller (TESTING.md); the
# documented fix is to move hugetlb to a v1 hierarchy for the duration of the bench.
cgroup_note="cgroup layout unchanged"
unified=/sys/fs/cgroup/unified
v2_controllers=""
[[ -r $unified/cgroup.controllers ]] && v2_controllers=$(cat $unified/cgroup.controllers)
if [[ " ${names[*]} " == *" crun "* && -n "$v2_controllers" ]]; then
	if [[ "$v2_controllers" == hugetlb ]] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
		echo "run.sh: crun 1.8 refuses hybrid cgroups with hugetlb on cgroup2; running:" >&2
		echo "  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb" >&2
		mkdir -p /sys/fs/cgroup/hugetlb
		# The kernel answers EBUSY while cgroup2 has child cgroups using hugetlb (other
		# containers running) or a just-unmounted hugetlb hierarchy is still being torn
		# down: retry for a while.
		for ((try = 0; try < 20; try++)); do
			mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null && { hugetlb_mounted=1; break; }
			sleep 1
		done
		if ((hugetlb_mounted)); then
			cgroup_note="hugetlb moved from cgroup2 to a v1 hierarchy for the run (crun 1.8 refuses hybrid mode otherwise), restored afterwards"
		else
			rmdir /sys/fs/cgroup/hugetlb
			echo "run.sh: NOTE: could not move hugetlb to v1 (busy: other cgroups use it); skipping crun" >&2
			for i in "${!names[@]}"; do
				[[ ${names[$i]} == crun ]] && unset 'names[i]' 'bins[i]'
			done
			names=("${names[@]}") bins=("${bins[@]}")
			cgroup_note="unchanged; crun skipped: hugetlb could not be moved off cgroup2 (busy)"
		fi
	else
		echo "run.sh: NOTE: cgroup2 holds controllers ($v2_controllers); crun may refuse to run" >&2
	fi
fi

bundle="$tmp/bundle"
/usr/bin/python3 tests/fixtures/busybox.py bundle "$bundle" -- true

# One shell per run: $$ gives each container a fresh id; hyperfine subtracts the
# shell's own start-up time from every measurement.
cmds=()
for i in "${!names[@]}"; do
	mkdir -p "$tmp/root-${names[$i]}"
	cmds+=(-n "${names[$i]}" "${bins[$i]} --root $tmp/root-${names[$i]} run --bundle $bundle b\$\$")
done
hyperfine --style basic --warmup "$warmup" --runs "$runs" \
	--export-json "$tmp/hyperfine.json" --export-markdown "$tmp/hyperfine.md" "${cmds[@]}"

# Peak RSS: GNU time's %M (max RSS in KiB of the runtime and the children it waited
# for), median of several runs.
: >"$tmp/rss.txt"
for i in "${!names[@]}"; do
	for ((r = 0; r < rss_runs; r++)); do
		/usr/bin/time -o "$tmp/rss.one" -f %M "${bins[$i]}" --root "$tmp/root-${names[$i]}" \
			run --bundle "$bundle" "rss-$r-$$"
		echo "${names[$i]} $(tail -n1 "$tmp/rss.one")" >>"$tmp/rss.txt"
	done
done

versions=()
for i in "${!names[@]}"; do
	versions+=("${names[$i]}=$("${bins[$i]}" --version 2>/dev/null | head -n1)")
done

args=(--hyperfine "$tmp/hyperfine.json" --rss "$tmp/rss.txt" --cgroup-note "$cgroup_note"
	--command "bench/runtime/run.sh --runs $runs --warmup $warmup --rss-runs $rss_runs"
	--bundle-cmd "<runtime> --root <dir per runtime> run --bundle <busybox bundle, args [true]> b\$\$")
for v in "${versions[@]}"; do args+=(--version "$v"); done
((write)) && args+=(--write "$repo/docs/benchmarks.md")
/usr/bin/python3 bench/runtime/report.py "${args[@]}"
