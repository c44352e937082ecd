#!/bin/bash
# Graph benchmark: loading a ~200 MB multi-layer gzip image with berth, against `tar -xzf` of
# the same layer blobs and against skopeo copy + umoci unpack, side by side in one hyperfine
# run. Writes the "## graph" section of docs/benchmarks.md (see bench/README.md).
#
#   bench/graph/run.sh [--runs N] [--warmup N] [--build DIR] [--work DIR] [--no-write]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNS=5
WARMUP=1
BUILD=$REPO/build
WORK=/var/tmp/berth-bench-graph
WRITE=1
PY=/usr/bin/python3

while [ $# -gt 0 ]; do
  case "$1" in
  --runs) RUNS=$2; shift 2 ;;
  --warmup) WARMUP=$2; shift 2 ;;
  --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
  --work) WORK=$2; shift 2 ;;
  --no-write) WRITE=0; shift ;;
  *) echo "usage: $0 [--runs N] [--warmup N] [--build DIR] [--work DIR] [--no-write]" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
bench_need_tools hyperfine skopeo umoci tar gzip
bench_need_built "$BUILD" berth-graph
GRAPH=$BUILD/berth-graph

IMG=$WORK/image
if [ ! -f "$IMG/image.json" ]; then
  rm -rf "$IMG"
  mkdir -p "$IMG"
  $PY "$HERE/make_image.py" "$IMG"
fi
OUT=$WORK/out
mkdir -p "$OUT"
LAYERS=$(ls "$IMG"/layers/*.tar.gz | sort | tr '\n' ' ')

# Each sample starts from empty output directories and no dirty page cache to flush.
PREPARE="rm -rf $OUT/tar $OUT/tarsync $OUT/berth-oci $OUT/berth-archive $OUT/berth-serial $OUT/skopeo; sync"
TAR="i=0; for f in $LAYERS; do mkdir -p $OUT/tar/\$i && tar -xzf \$f -C $OUT/tar/\$i; i=\$((i+1)); done"
TARSYNC="i=0; for f in $LAYERS; do mkdir -p $OUT/tarsync/\$i && tar -xzf \$f -C $OUT/tarsync/\$i; i=\$((i+1)); done; sync -f $OUT/tarsync"
BERTH_OCI="$GRAPH --root $OUT/berth-oci load $IMG/oci >/dev/null"
BERTH_ARCHIVE="$GRAPH --root $OUT/berth-archive load $IMG/image.oci.tar >/dev/null"
BERTH_SERIAL="$GRAPH --root $OUT/berth-serial --threads 1 load $IMG/oci >/dev/null"
SKOPEO="mkdir -p $OUT/skopeo && skopeo --insecure-policy copy --quiet oci-archive:$IMG/image.oci.tar oci:$OUT/skopeo/oci:bench && umoci unpack --image $OUT/skopeo/oci:bench $OUT/skopeo/bundle >/dev/null 2>&1"

hyperfine --runs "$RUNS" --warmup "$WARMUP" --prepare "$PREPARE" --export-json "$WORK/result.json" \
  -n "tar -xzf" "$TAR" \
  -n "tar -xzf + sync" "$TARSYNC" \
  -n "berth load (OCI layout)" "$BERTH_OCI" \
  -n "berth load (oci-archive)" "$BERTH_ARCHIVE" \
  -n "berth load, 1 thread" "$BERTH_SERIAL" \
  -n "skopeo copy + umoci unpack" "$SKOPEO"

eval "$PREPARE"
ARGS=("$WORK/result.json" "$IMG/image.json" --runs "$RUNS" --warmup "$WARMUP")
[ $WRITE = 1 ] && ARGS+=(--write "$REPO/docs/benchmarks.md")
$PY "$HERE/report.py" "${ARGS[@]}"
