#!/usr/bin/env bash
# bench/match.sh: the matching core's speed, with cw_match_bench (bench/match_bench.cpp):
#   PDQ hashes per second on one core, 1080p and 720p frames (opencv-doc photographs scaled
#   beforehand, decoded BGR in memory; includes PDQ's BGR -> luminance step, not decoding/scaling);
#   HashIndex query latency at distance 31 over 1 M and 10 M stored hashes (random, with planted
#   neighbours), against a linear scan of the same data, and the index's memory.
# Each index size runs in its own process, so its memory figures are its own.
#
#   bench/match.sh [--markdown FILE]     prints the block; FILE gets the Markdown block that
#                                        bench/run puts into bench/README.md
# Environment: RUNS (5) timed runs (hash) and query rounds (index); HASH_SECONDS (2) per hash run;
#              SIZES ("1000000 10000000"); QUERIES (2000) index queries per round; SCAN_QUERIES
#              (20) linear scans per round; CW_BUILD_DIR (build/release) the Release build that is
#              brought up to date, or CW_MATCH_BENCH a prebuilt cw_match_bench.
# Needs opencv-doc (scripts/setup) and about 1.5 GB of free memory; no root, no database.
# Takes about 2 minutes; not part of scripts/test or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
HASH_SECONDS="${HASH_SECONDS:-2}"
SIZES="${SIZES:-1000000 10000000}"
QUERIES="${QUERIES:-2000}"
SCAN_QUERIES="${SCAN_QUERIES:-20}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $QUERIES =~ ^[1-9][0-9]+$ ]] || die "QUERIES must be an integer of at least 10"
[[ $SCAN_QUERIES =~ ^[1-9][0-9]*$ ]] || die "SCAN_QUERIES must be a positive integer"
for n in $SIZES; do [[ $n =~ ^[1-9][0-9]{3,}$ ]] || die "SIZES must be integers of at least 1000"; done

TMP="$(mktemp -d)"
trap 'rm -rf -- "$TMP"' EXIT

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

if [[ -n ${CW_MATCH_BENCH:-} ]]; then
  BIN="$CW_MATCH_BENCH"
else
  BUILD="${CW_BUILD_DIR:-$ROOT/build/release}"
  log "bringing the Release build in $BUILD up to date (cw_match_bench)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCW_TESTS=OFF >/dev/null
  fi
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD/CMakeCache.txt" ||
    die "$BUILD is not a Release build"
  build_log="$(mktemp)"
  cmake --build "$BUILD" -j2 --target cw_match_bench >"$build_log" 2>&1 ||
    { tail -n 40 "$build_log" >&2; rm -f -- "$build_log"; die "the Release build failed"; }
  rm -f -- "$build_log"
  BIN="$BUILD/bench/cw_match_bench"
fi
[[ -x $BIN ]] || die "no cw_match_bench at $BIN"

log "hashing: $RUNS runs of ${HASH_SECONDS} s per size"
"$BIN" --only hash --rounds "$RUNS" --hash-seconds "$HASH_SECONDS" >"$TMP/hash.txt" ||
  die "cw_match_bench --only hash failed"
for n in $SIZES; do
  log "index: $n hashes, $RUNS rounds of $QUERIES queries and $SCAN_QUERIES linear scans"
  "$BIN" --only index --sizes "$n" --rounds "$RUNS" --queries "$QUERIES" \
    --scan-queries "$SCAN_QUERIES" >"$TMP/index-$n.txt" || die "cw_match_bench --only index ($n) failed"
done

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# field FILE PATTERN NAME: the values of "NAME value" on the lines of FILE matching PATTERN.
field() {
  awk -v pat="$2" -v name="$3" '$0 ~ pat { for (i = 1; i < NF; i++) if ($i == name) print $(i + 1) }' "$1"
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
PICTURES="$(field "$TMP/hash.txt" '^hash pictures' pictures)"

report() {
  echo "Command: \`bench/match.sh\` (with \`bench/run\`), $(date -u +%Y-%m-%d), commit $COMMIT."
  echo
  echo "Machine: $MACHINE. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo "The 2 cores are shared with other work (see the load averages). Every figure is a median of"
  echo "$RUNS runs with (min–max)."
  echo
  echo "PDQ hashing, one thread: $PICTURES opencv-doc photographs scaled to the frame size beforehand,"
  echo "decoded BGR in memory, \`pdq_hash(frame, PdqScale::kNative)\` (the time includes PDQ's own"
  echo "BGR → luminance conversion and filtering; not decoding, not scaling); each run ${HASH_SECONDS} s."
  echo
  echo "| frames | hashes/s (wall clock) | hashes per CPU-second of the thread |"
  echo "|---|---|---|"
  for size in 1080p 720p; do
    echo "| $size | $(triple "$(field "$TMP/hash.txt" "^hash $size run" per_s | stats)" 1) |" \
      "$(triple "$(field "$TMP/hash.txt" "^hash $size run" per_cpu_s | stats)" 1) |"
  done
  echo
  echo "Index queries at distance 31 (\`HashIndex::query\`) against \`HashIndex::linear_scan\` of the"
  echo "same data. Stored: random hashes in media of 1000 frames, 1 in 1000 with 8 neighbours at"
  echo "distances 1–31 and 2 decoys at 32–40; queries: half such hashes (9 hits), half fresh random"
  echo "(none). Per round $QUERIES index queries and $SCAN_QUERIES linear scans (whose answers are checked"
  echo "against the index's); median and p99 per round, then the median of the $RUNS rounds (min–max)."
  echo "Wall clock, and for the p99 also the thread's CPU time, which leaves out the time slices"
  echo "other processes got: on a busy machine the wall-clock tail is theirs as much as the index's."
  echo "Memory: the index's arrays after loading (\`memory_bytes()\`) and the process's VmRSS growth"
  echo "while loading; peak VmHWM of the whole process."
  echo
  echo "| stored hashes | index median µs | index p99 µs | index p99 µs, CPU time | linear scan median ms | scan / index (medians) | load s | memory MiB | bytes per hash | VmHWM MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for n in $SIZES; do
    local f="$TMP/index-$n.txt" med scan
    med="$(field "$f" "^index $n round" mih_median_us | stats)"
    scan="$(field "$f" "^index $n round" scan_median_us | stats)"
    local ratio
    ratio="$(awk -v s="${scan%% *}" -v m="${med%% *}" 'BEGIN { printf "%.0f", s / m }')"
    local bytes entries
    bytes="$(field "$f" "^index $n build" memory_bytes)"
    entries="$(field "$f" "^index $n build" entries)"
    local scan_ms
    scan_ms="$(awk '{ printf "%.2f %.2f %.2f\n", $1 / 1000, $2 / 1000, $3 / 1000 }' <<<"$scan")"
    echo "| $(awk -v n="$n" 'BEGIN { printf "%g M", n / 1e6 }') | $(triple "$med" 0) |" \
      "$(triple "$(field "$f" "^index $n round" mih_p99_us | stats)" 0) |" \
      "$(triple "$(field "$f" "^index $n round" mih_cpu_p99_us | stats)" 0) | $(triple "$scan_ms" 1) |" \
      "**${ratio}×** | $(fmt "$(field "$f" "^index $n build" build_s)" 1) |" \
      "$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1048576 }') (RSS +$(awk -v k="$(field "$f" "^index $n build" rss_growth_kib)" 'BEGIN { printf "%.0f", k / 1024 }')) |" \
      "$(awk -v b="$bytes" -v e="$entries" 'BEGIN { printf "%.0f", b / e }') |" \
      "$(awk -v k="$(field "$f" "^index $n build" hwm_kib)" 'BEGIN { printf "%.0f", k / 1024 }') |"
  done
  local n_max med_max
  n_max="${SIZES##* }"
  med_max="$(field "$TMP/index-$n_max.txt" "^index $n_max round" mih_median_us | stats)"
  local p99_max cpu_max
  p99_max="$(field "$TMP/index-$n_max.txt" "^index $n_max round" mih_p99_us | stats)"
  cpu_max="$(field "$TMP/index-$n_max.txt" "^index $n_max round" mih_cpu_p99_us | stats)"
  echo
  echo "Goal (the issue): a frame query over 10 M stored hashes in under 5 ms. With" \
    "$(awk -v n="$n_max" 'BEGIN { printf "%g M", n / 1e6 }') stored:" \
    "median $(fmt "${med_max%% *}" 0) µs, p99 $(fmt "${p99_max%% *}" 0) µs wall clock" \
    "($(fmt "${cpu_max%% *}" 0) µs CPU time): judged on the wall-clock p99," \
    "**$(awk -v p="${p99_max%% *}" 'BEGIN { print (p < 5000) ? "met" : "NOT met" }')**."
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
