#!/usr/bin/env bash
# bench/imagery.sh: imagery comparison speed, with cw_imagery_bench (bench/imagery_bench.cpp):
#   registration (AKAZE on copies of at most 1600 px, MAGSAC++, ECC) of two 4000×4000 images,
#   change detection on that pair at full resolution, and frame-to-imagery matching with affine
#   view simulation (aero1.jpg against aero3.jpg, 46 simulated views), seconds per frame.
# The 4000×4000 `before` is a 4×4 mosaic of 16 different opencv-doc photographs scaled to
# 1000×1000 each; `after` is it warped by a known homography, re-lit, with noise and 200 planted
# dark "vehicles" (see imagery_bench.cpp). Images are built in memory, untimed.
#
#   bench/imagery.sh [--markdown FILE]   prints the block; FILE gets the Markdown block that
#                                        bench/run puts into bench/README.md
# Environment: RUNS (5) timed runs; CW_BUILD_DIR (build/release) the Release build that is
#              brought up to date, or CW_IMAGERY_BENCH a prebuilt cw_imagery_bench.
# Needs opencv-doc (scripts/setup) and about 1 GB of free memory; no root, no database.
# Takes about 2 minutes; not part of scripts/test or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"

TMP="$(mktemp -d)"
trap 'rm -rf -- "$TMP"' EXIT

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

if [[ -n ${CW_IMAGERY_BENCH:-} ]]; then
  BIN="$CW_IMAGERY_BENCH"
else
  BUILD="${CW_BUILD_DIR:-$ROOT/build/release}"
  log "bringing the Release build in $BUILD up to date (cw_imagery_bench)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCW_TESTS=OFF >/dev/null
  fi
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" ||
    die "$BUILD is not a Release build"
  build_log="$(mktemp)"
  cmake --build "$BUILD" -j2 --target cw_imagery_bench >"$build_log" 2>&1 ||
    { tail -n 40 "$build_log" >&2; rm -f -- "$build_log"; die "the Release build failed"; }
  rm -f -- "$build_log"
  BIN="$BUILD/bench/cw_imagery_bench"
fi
[[ -x $BIN ]] || die "no cw_imagery_bench at $BIN"

log "$RUNS runs of registration, change detection and frame matching"
"$BIN" --runs "$RUNS" >"$TMP/runs.txt" || die "cw_imagery_bench failed"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# field PATTERN NAME: the values of "NAME value" on the lines matching PATTERN.
field() {
  awk -v pat="$1" -v name="$2" '$0 ~ pat { for (i = 1; i < NF; i++) if ($i == name) print $(i + 1) }' "$TMP/runs.txt"
}
# stats: values on stdin -> "median min max" (the mean of the middle two for an even count).
stats() {
  sort -g | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%s %s %s\n", m, v[1], v[NR] }'
}
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }
triple() { # "median min max" with d decimals -> "median (min–max)"
  local med min max
  read -r med min max <<<"$1"
  echo "**$(fmt "$med" "$2")** ($(fmt "$min" "$2")–$(fmt "$max" "$2"))"
}

# shellcheck source=/dev/null
. /etc/os-release
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
MEM_GIB="$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)"
MACHINE="$PRETTY_NAME, $(nproc) cores ($CPU), $MEM_GIB GiB"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  COMMIT+=" with uncommitted changes"
fi

report() {
  local reg change frame total
  reg="$(field '^register run' seconds | stats)"
  change="$(field '^change run' seconds | stats)"
  frame="$(field '^frame run' seconds | stats)"
  total="$(paste <(field '^register run' seconds) <(field '^change run' seconds) |
    awk '{ print $1 + $2 }' | stats)"
  echo "Command: \`bench/imagery.sh\` (with \`bench/run\`), $(date -u +%Y-%m-%d), commit $COMMIT."
  echo
  echo "Machine: $MACHINE. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo "The 2 cores are shared with other work, so the figures are noisy. Every figure is a median"
  echo "of $RUNS runs with (min–max); wall clock, OpenCV using both cores."
  echo
  echo "| step | seconds | result (last run) |"
  echo "|---|---|---|"
  echo "| registration of two 4000×4000 images | $(triple "$reg" 2) |" \
    "$(field '^register run' inliers | tail -n 1) inliers, residual $(fmt "$(field '^register run' residual | tail -n 1)" 2) px |"
  echo "| change detection on the registered pair | $(triple "$change" 2) |" \
    "$(field '^change run' found | tail -n 1) of 200 planted vehicles found, $(field '^change run' blobs | tail -n 1) blobs |"
  echo "| registration + change detection | $(triple "$total" 2) | |"
  echo "| frame-to-imagery matching, 640×480 frame, $(field '^frame run' views | tail -n 1) simulated views | $(triple "$frame" 2) per frame |" \
    "$(field '^frame run' inliers | tail -n 1) inliers |"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
