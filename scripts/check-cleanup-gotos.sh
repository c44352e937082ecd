#!/usr/bin/env bash
# A goto that jumps over a _cleanup_ declaration runs the cleanup on an uninitialized
# variable at the label (a crash the compiler does not report by default). gcc's
# -Wjump-misses-init finds such jumps; this keeps only those that skip a cleanup variable.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r file line _; do
	src=$(sed -n "${line}p" "$file")
	case "$src" in
	*_cleanup_* | *json_auto_t*)
		echo "$file:$line: a goto jumps over this cleanup variable: $src" >&2
		status=1
		;;
	esac
done < <(for f in $(git ls-files 'src/*.c'); do
	gcc -fsyntax-only -D_GNU_SOURCE -DBERTH_VERSION='"check"' -Wjump-misses-init -Isrc "$f" 2>&1 |
		grep "note: .* declared here" || true
done)
exit $status
