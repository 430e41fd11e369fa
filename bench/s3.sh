#!/usr/bin/env bash
# bench/s3.sh: how fast the project's S3 client (store/s3_client.hpp, through cw_s3_bench in
# bench/s3_bench.cpp) moves a 2 GiB file into and out of a Ceph RADOS Gateway, next to s3cmd
# moving the same file to and from the same gateway in the same run:
#   upload    cw_s3_bench put (one streamed PUT), cw_s3_bench multipart (parts of PART_MIB MiB
#             from one buffer, SHA-256 on the way, as the evidence store's uploads will be), and
#             `s3cmd put` (multipart in 15 MiB parts, its default)
#   download  cw_s3_bench get (one streamed GET), cw_s3_bench ranges (ranged GETs of RANGE_MIB
#             MiB, with If-Match), and `s3cmd get`
# Every download is compared with the file (cmp); the bench program's peak memory (VmHWM) and
# the daemons' resident memory after the runs are reported too.
#
#   bench/s3.sh [--markdown FILE]     prints the block; FILE gets the Markdown block that
#                                     bench/run puts into bench/README.md
# Environment: RUNS (3) timed runs per runner, alternating; BIG_MIB (2048) size of the file;
#              PART_MIB (16) multipart part size; RANGE_MIB (256) size of each ranged GET;
#              CW_BENCH_DIR (/var/tmp) where the file, the downloads and the store's folder go;
#              CW_BUILD_DIR (build/release) the Release build brought up to date for cw_s3_bench.
# Starts its own object store (scripts/objectstore, an in-memory OSD of BIG_MIB * 2 + 1024 MiB:
# every object is deleted after its run and its data collected at once) on free loopback ports
# and removes it on exit. The OSD holds about twice what it stores in memory, so this needs
# about 3 * BIG_MIB of free memory and 3 * BIG_MIB of disk in CW_BENCH_DIR. Takes about 5
# minutes; not part of scripts/test or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
BIG_MIB="${BIG_MIB:-2048}"
PART_MIB="${PART_MIB:-16}"
RANGE_MIB="${RANGE_MIB:-256}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $BIG_MIB =~ ^[1-9][0-9]*$ ]] || die "BIG_MIB must be a positive integer"
if [[ ! $PART_MIB =~ ^[1-9][0-9]*$ ]] || ((PART_MIB < 5)); then
  die "PART_MIB must be an integer of at least 5 (S3's smallest part)"
fi
[[ $RANGE_MIB =~ ^[1-9][0-9]*$ ]] || die "RANGE_MIB must be a positive integer"
command -v s3cmd >/dev/null || die "s3cmd is missing (scripts/setup)"

bench_traps
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-s3.XXXXXX")"
BENCH_TMP+=("$WORK")
OS_DIR="$WORK/objectstore"

objectstore() {
  CW_OBJECTSTORE_DIR="$OS_DIR" CW_OBJECTSTORE_SIZE_MB=$((BIG_MIB * 2 + 1024)) "$ROOT/scripts/objectstore" "$@"
}
# shellcheck disable=SC2317 # called by bench_exit
bench_cleanup_hook() {
  [[ -d $OS_DIR ]] && objectstore stop >/dev/null 2>&1
}

bench_build cw_s3_bench
BIN="$BUILD/bench/cw_s3_bench"
[[ -x $BIN ]] || die "no cw_s3_bench at $BIN"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

start_ms="$(date +%s%3N)"
objectstore start 2>"$WORK/start.log" || { cat "$WORK/start.log" >&2; die "the object store did not start"; }
START_S="$(awk -v ms=$(($(date +%s%3N) - start_ms)) 'BEGIN { printf "%.1f", ms / 1000 }')"
eval "$(objectstore env)"
S3CMD_CFG="$OS_DIR/s3cmd.cfg"
BUCKET="$CONVOYWATCH_STORAGE_S3_BUCKET"
log "object store up in $START_S s at $CONVOYWATCH_STORAGE_S3_ENDPOINT"

FILE="$WORK/big.bin"
log "writing $BIG_MIB MiB of random bytes to $FILE"
# AES-CTR of zeros: random-looking bytes at hundreds of MB/s (head ends openssl with SIGPIPE).
{ openssl enc -aes-128-ctr -pass pass:convoywatch-bench -nosalt -pbkdf2 </dev/zero 2>/dev/null || true; } |
  head -c $((BIG_MIB * 1024 * 1024)) >"$FILE"
[[ $(stat -c %s "$FILE") == $((BIG_MIB * 1024 * 1024)) ]] || die "could not write $FILE"
MD5="$(md5sum "$FILE" | cut -d' ' -f1)"
SHA="$(sha256sum "$FILE" | cut -d' ' -f1)"

s3() { s3cmd -c "$S3CMD_CFG" --no-progress "$@"; }
# delete KEY: deletes the object and has the gateway collect its data now rather than later.
delete() {
  s3 del "s3://$BUCKET/$1" >/dev/null
  radosgw-admin -c "$OS_DIR/ceph.conf" -n client.admin gc process --include-all >/dev/null 2>&1 ||
    die "radosgw-admin gc process failed"
}
# now_s: a monotonic-enough wall clock in seconds with milliseconds.
now_s() { date +%s.%N; }

# Timed runners; each prints its seconds. Uploads leave the object at KEY; downloads write OUT.
run_put() { "$BIN" put "$FILE" "$1" >"$WORK/out.txt" || die "cw_s3_bench put failed"; field seconds; }
run_multipart() {
  "$BIN" multipart "$FILE" "$1" "$PART_MIB" >"$WORK/out.txt" || die "cw_s3_bench multipart failed"
  [[ "$(field sha256)" == "$SHA" ]] || die "cw_s3_bench multipart hashed other bytes"
  field seconds
}
run_s3cmd_put() {
  local t0 t1
  t0="$(now_s)"
  s3 put "$FILE" "s3://$BUCKET/$1" >/dev/null || die "s3cmd put failed"
  t1="$(now_s)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
run_get() { "$BIN" get "$1" "$2" >"$WORK/out.txt" || die "cw_s3_bench get failed"; field seconds; }
run_ranges() {
  "$BIN" ranges "$1" "$2" "$RANGE_MIB" >"$WORK/out.txt" || die "cw_s3_bench ranges failed"
  field seconds
}
run_s3cmd_get() {
  local t0 t1
  t0="$(now_s)"
  s3 get --force "s3://$BUCKET/$1" "$2" >/dev/null || die "s3cmd get failed"
  t1="$(now_s)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
# field NAME: the value after NAME in cw_s3_bench's last output line.
field() { awk -v n="$1" '{ for (i = 1; i < NF; i++) if ($i == n) print $(i + 1) }' "$WORK/out.txt"; }

declare -A TIMES HWM
UPLOADS=(put multipart s3cmd_put)
DOWNLOADS=(get ranges s3cmd_get)
for ((run = 0; run < RUNS; run++)); do
  log "run $((run + 1)) of $RUNS"
  n=${#UPLOADS[@]}
  for ((i = 0; i < n; i++)); do
    runner="${UPLOADS[(i + run) % n]}"
    key="bench/$runner-$run"
    t="$(run_"$runner" "$key")"
    TIMES[$runner]+="$t "
    [[ $runner != s3cmd_put ]] && HWM[$runner]="$(field vmhwm_kib)"
    # What landed: the size for every runner, the ETag of the single PUT (the file's MD5).
    info="$(s3 info "s3://$BUCKET/$key")"
    grep -Eq "File size: +$((BIG_MIB * 1024 * 1024))$" <<<"$info" || die "$runner: the object has another size"
    if [[ $runner == put ]]; then
      grep -Eq "MD5 sum: +$MD5$" <<<"$info" || die "put: the object's ETag is not the file's MD5"
    fi
    if [[ $runner == multipart ]]; then
      ETAG_MULTIPART="$(field etag)"
    fi
    delete "$key"
  done
  # Downloads read one object that s3cmd put in this run.
  s3 put "$FILE" "s3://$BUCKET/bench/source" >/dev/null || die "s3cmd put failed"
  n=${#DOWNLOADS[@]}
  for ((i = 0; i < n; i++)); do
    runner="${DOWNLOADS[(i + run) % n]}"
    out="$WORK/down.bin"
    t="$(run_"$runner" bench/source "$out")"
    TIMES[$runner]+="$t "
    [[ $runner != s3cmd_get ]] && HWM[$runner]="$(field vmhwm_kib)"
    cmp -s "$FILE" "$out" || die "$runner downloaded other bytes"
    rm -f -- "$out"
  done
  delete bench/source
done

rss_mib() {
  local pid
  pid="$(cat "$OS_DIR/run/$1.pid")"
  awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"
}
RSS_MON="$(rss_mib mon.a)"
RSS_OSD="$(rss_mib osd.0)"
RSS_RGW="$(rss_mib client.rgw.a)"
stop_ms="$(date +%s%3N)"
objectstore stop 2>/dev/null
STOP_S="$(awk -v ms=$(($(date +%s%3N) - stop_ms)) 'BEGIN { printf "%.1f", ms / 1000 }')"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
CEPH_VERSION="$(ceph --version | awk '{ print $3 }')"
S3CMD_VERSION="$(s3cmd --version | awk '{ print $3 }')"
BYTES=$((BIG_MIB * 1024 * 1024))

median() { stats "$1" | cut -d' ' -f1; }
row() { # row LABEL RUNNER
  local s med min max
  s="$(stats "${TIMES[$2]}")"
  read -r med min max <<<"$s"
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$med" "$min" "$max" \
    "$(awk -v b="$BYTES" -v t="$med" 'BEGIN { printf "%.0f", b / 1048576 / t }')"
}
ratio() { awk -v a="$(median "${TIMES[$1]}")" -v b="$(median "${TIMES[$2]}")" 'BEGIN { printf "%.2f", a / b }'; }

report() {
  echo "Command: \`bench/s3.sh\` (with \`bench/run\`), $(date -u +%Y-%m-%d), commit $(bench_commit)."
  echo
  echo "Machine: $(bench_machine). Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo
  echo "Ceph $CEPH_VERSION RADOS Gateway (beast) on a single-node cluster from \`scripts/objectstore\` (one"
  echo "monitor, one OSD on memstore, no manager), plain HTTP on 127.0.0.1; s3cmd $S3CMD_VERSION to the same"
  echo "gateway. One $BIG_MIB MiB file of random bytes, from the page cache; $RUNS runs of each runner,"
  echo "alternating; every object checked after its upload (size with \`s3cmd info\`, and the"
  echo "single PUT's ETag against the file's MD5) and deleted; every download compared with the file."
  echo "MiB/s = 2^20 bytes per second of the median."
  echo
  echo "| runner | median s | min s | max s | MiB/s |"
  echo "|---|---|---|---|---|"
  row "S3 client: one streamed PUT (\`put_file\`)" put
  row "S3 client: multipart, $PART_MIB MiB parts, SHA-256 on the way" multipart
  row "\`s3cmd put\` (multipart, 15 MiB parts)" s3cmd_put
  row "S3 client: one streamed GET (\`get_object\`)" get
  row "S3 client: ranged GETs of $RANGE_MIB MiB with If-Match" ranges
  row "\`s3cmd get\`" s3cmd_get
  echo
  echo "- upload / s3cmd put: single PUT **$(ratio put s3cmd_put)**, multipart **$(ratio multipart s3cmd_put)** (goal ≤ 1.3)"
  echo "- download / s3cmd get: single GET **$(ratio get s3cmd_get)**, ranged GETs **$(ratio ranges s3cmd_get)**"
  echo "- multipart ETag $ETAG_MULTIPART ($((BYTES / (PART_MIB * 1048576) + (BYTES % (PART_MIB * 1048576) > 0))) parts)"
  echo "- peak memory of the bench program (VmHWM): put $((HWM[put] / 1024)) MiB, multipart $((HWM[multipart] / 1024)) MiB,"
  echo "  get $((HWM[get] / 1024)) MiB, ranges $((HWM[ranges] / 1024)) MiB"
  echo "- the store: start ${START_S} s, stop ${STOP_S} s; resident memory after the runs: mon $RSS_MON MiB,"
  echo "  OSD $RSS_OSD MiB, radosgw $RSS_RGW MiB"
}

report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
