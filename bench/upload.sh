#!/usr/bin/env bash
# bench/upload.sh: how fast, and in how much memory, `convoywatch serve` takes a video upload
# (POST /api/v1/submissions, multipart), next to its peers on the same file and the same disk:
#   openssl dgst -sha256 FILE                the hash alone
#   dd if=FILE of=OUT bs=1M conv=fsync       a durable write alone
#   nginx, PUT with the dav module            another HTTP server receiving the body to disk
# Then the server's resident memory during one 2 GiB upload (VmRSS every 50 ms), and 8
# concurrent 500 MB uploads whose stored files are checked against the uploaded bytes.
#
#   bench/upload.sh [--markdown FILE]     prints a table; FILE gets the Markdown block that
#                                         bench/run puts into bench/README.md
# Environment: RUNS (5) timed runs per runner; BIG_MIB (2048) size of the big file;
#              CONC (8) and CONC_BYTES (500000000) for the concurrent uploads;
#              CW_BENCH_DIR (/var/tmp) where the files, the media store and nginx's body go:
#              one file system, so dd, nginx and the server write to the same disk;
#              CW_BIN a prebuilt convoywatch (else the Release build is brought up to date).
# Needs root (apt-get for nginx when it is missing, drop_caches). Installs nginx with
# `apt-get install -y --no-install-recommends nginx` when it is not there; nothing else.
# Starts its own PostgreSQL cluster, server and nginx on free loopback ports and removes
# everything it started or wrote on exit. Takes a few minutes; not part of scripts/test or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
BIG_MIB="${BIG_MIB:-2048}"
CONC="${CONC:-8}"
CONC_BYTES="${CONC_BYTES:-500000000}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"
HEADER_BYTES=4096 # the real MP4 bytes at the start of every file; the server sniffs these

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $BIG_MIB =~ ^[1-9][0-9]*$ ]] || die "BIG_MIB must be a positive integer"
[[ $CONC =~ ^[1-9][0-9]*$ ]] || die "CONC must be a positive integer"
[[ $CONC_BYTES =~ ^[1-9][0-9]*$ ]] || die "CONC_BYTES must be a positive integer"
((CONC_BYTES > HEADER_BYTES + 64)) || die "CONC_BYTES must be larger than $((HEADER_BYTES + 64))"
BIG_BYTES=$((BIG_MIB * 1024 * 1024))

# ---- clean-up of everything this script starts or writes -----------------------------------
WORK=""
PG_DIR=""
SERVER_PID=""
NGINX_PID=""
SAMPLER_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [[ -n $NGINX_PID ]]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null # graceful: the master takes its worker with it
    wait "$NGINX_PID" 2>/dev/null
  fi
  if [[ -n $PG_DIR ]]; then
    CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" stop >/dev/null 2>&1
    rm -rf -- "$PG_DIR"
  fi
  [[ -n $WORK ]] && rm -rf -- "$WORK"
  [[ -n $POLICY_RC ]] && rm -f -- "$POLICY_RC"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

# ---- tools ---------------------------------------------------------------------------------
for tool in openssl curl ffmpeg python3 dd; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
ensure_nginx # lib.sh: installs the nginx package when it is missing
"$NGINX" -V 2>&1 | grep -q -- '--with-http_dav_module' || die "$NGINX has no dav module (nginx-light?); install the nginx package"

bench_convoywatch

# ---- page cache ----------------------------------------------------------------------------
COLD=0
if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
  COLD=1
else
  log "cannot drop the page cache; every runner reads the file hot from the page cache"
fi
settle() { # before every timed run: dirty pages out, and the cache dropped where we may
  sync
  if ((COLD)); then echo 3 >/proc/sys/vm/drop_caches; fi
}

# ---- work folder, on one file system -------------------------------------------------------
mkdir -p -- "$BENCH_DIR"
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-upload.XXXXXX")"
need_kib=$(((BIG_BYTES * 4 + CONC * CONC_BYTES * 2) / 1024 + 1024 * 1024))
free_kib="$(df -Pk -- "$WORK" | awk 'NR == 2 { print $4 }')"
((free_kib > need_kib)) || die "$WORK needs $((need_kib / 1024 / 1024)) GiB free, has $((free_kib / 1024 / 1024)) GiB"
MEDIA="$WORK/media"
mkdir -p "$MEDIA" "$WORK/nginx/root/put" "$WORK/nginx/body" "$WORK/conc"

now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }

# ---- PostgreSQL, the server, nginx ---------------------------------------------------------
PG_DIR="$(mktemp -d /tmp/cw-bench-pg.XXXXXX)"
CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" start >/dev/null 2>&1 || die "the private PostgreSQL did not start"
DB_URL="$(CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" url)"
# Migrated by the owner, which creates the application role the servers run as (APP_DB_URL).
bench_migrate "$PG_DIR"
TOKEN="$(CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" user add --create-org --name bench --org bench --role contributor)"
[[ $TOKEN == cw_* ]] || die "convoywatch user add printed no token"

# Workers off: this measures taking the upload, not analysing it afterwards.
CONVOYWATCH_DATABASE_URL="$APP_DB_URL" \
  CONVOYWATCH_STORAGE_ROOT="$MEDIA" \
  CONVOYWATCH_SERVER_LISTEN=127.0.0.1:0 \
  CONVOYWATCH_SERVER_MAX_UPLOAD_BYTES=8589934592 \
  CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 \
  CONVOYWATCH_PIPELINE_WORKERS=0 \
  CONVOYWATCH_LOG_LEVEL=warn \
  "$BIN" serve --port-file "$WORK/server.port" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  [[ -s $WORK/server.port ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "convoywatch serve exited"; }
  sleep 0.1
done
SERVER_PORT="$(<"$WORK/server.port")"
curl -fsS -o /dev/null "http://127.0.0.1:$SERVER_PORT/healthz" || die "the server does not answer /healthz"
SUBMIT_URL="http://127.0.0.1:$SERVER_PORT/api/v1/submissions"

NGINX_PORT="$(free_port)"
cat >"$WORK/nginx/nginx.conf" <<EOF
# bench/upload.sh: a throwaway nginx that stores a PUT body as a file (dav module).
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /put/ {
      root $WORK/nginx/root;
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
      client_body_buffer_size 1m;
    }
  }
}
EOF
"$NGINX" -t -q -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" || die "nginx rejects its configuration"
"$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx/error.log" >&2; die "nginx exited"; }
  sleep 0.1
done
PUT_URL="http://127.0.0.1:$NGINX_PORT/put/big.mp4"

# ---- the files -----------------------------------------------------------------------------
log "making the files ($BIG_MIB MiB, and $CONC x $CONC_BYTES bytes)"
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=duration=1:size=320x240 -c:v libx264 "$WORK/head.mp4"
(($(stat -c %s "$WORK/head.mp4") >= HEADER_BYTES)) || die "ffmpeg made an MP4 shorter than $HEADER_BYTES bytes"
head -c "$HEADER_BYTES" "$WORK/head.mp4" >"$WORK/header"
BIG="$WORK/big.mp4"
{ cat "$WORK/header"; openssl rand $((BIG_BYTES - HEADER_BYTES)); } >"$BIG"
for ((i = 1; i <= CONC; i++)); do
  { cat "$WORK/header"; openssl rand $((CONC_BYTES - HEADER_BYTES)); } >"$WORK/conc/$i.mp4"
done

# vary FILE: new random bytes right after the MP4 header, so every upload is new to the store.
vary() {
  openssl rand 64 | dd of="$1" bs=64 seek=$((HEADER_BYTES / 64)) count=1 conv=notrunc status=none
}
# Keep the disk from filling: the server's stored originals go after each run.
clear_store() {
  rm -rf -- "$MEDIA/sha256"
  find "$MEDIA/tmp" -type f -delete 2>/dev/null || true
}

# upload FILE RESPONSE: prints "code seconds".
upload() {
  curl -sS -o "$2" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" \
    -F 'metadata={"platform":"other"};type=application/json' -F "file=@$1" "$SUBMIT_URL"
}
json_sha256() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["media"]["sha256"])' "$1"; }

# ---- 1. memory during one big upload (first, so VmHWM is about uploads only) ---------------
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
# write(2) calls of the server (syscw in /proc/PID/io): with the bytes, the size of the pieces
# in which the body reaches the media store.
syscw() { awk '/^syscw:/ { print $2 }' "/proc/$SERVER_PID/io"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
log "memory: one $BIG_MIB MiB upload, VmRSS every 50 ms"
vary "$BIG"
settle
RSS_START="$(rss_kib)"
HWM_START="$(hwm_kib)"
SYSCW_START="$(syscw)"
(
  while :; do
    while read -r key value _; do
      [[ $key == VmRSS: ]] && printf '%s\n' "$value"
    done <"/proc/$SERVER_PID/status"
    sleep 0.05
  done
) >"$WORK/rss.samples" &
SAMPLER_PID=$!
read -r code MEM_SECONDS < <(upload "$BIG" "$WORK/resp.json")
kill "$SAMPLER_PID"
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
[[ $code == 201 ]] || { cat "$WORK/resp.json" >&2; die "the memory-run upload answered $code, not 201"; }
RSS_END="$(rss_kib)"
HWM_END="$(hwm_kib)"
WRITES=$(($(syscw) - SYSCW_START))
WRITE_AVG="$(awk -v b="$BIG_BYTES" -v n="$WRITES" 'BEGIN { printf "%.0f", (n > 0) ? b / n : 0 }')"
RSS_SAMPLES="$(wc -l <"$WORK/rss.samples")"
RSS_PEAK="$(sort -n "$WORK/rss.samples" | tail -n 1)"
((RSS_PEAK >= RSS_START)) || RSS_PEAK=$RSS_START
clear_store

# ---- 2. the four runners, alternating ------------------------------------------------------
RUNNERS=(openssl dd upload nginx)
declare -A TIMES=()
run_one() {
  local runner="$1" t0 t1 code secs
  vary "$BIG"
  settle
  case "$runner" in
    openssl)
      t0="$(now)"
      openssl dgst -sha256 "$BIG" >/dev/null
      t1="$(now)"
      secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
      ;;
    dd)
      t0="$(now)"
      dd if="$BIG" of="$WORK/dd.out" bs=1M conv=fsync status=none
      t1="$(now)"
      secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
      rm -f -- "$WORK/dd.out"
      ;;
    upload)
      read -r code secs < <(upload "$BIG" "$WORK/resp.json")
      [[ $code == 201 ]] || { cat "$WORK/resp.json" >&2; die "upload answered $code, not 201"; }
      clear_store
      ;;
    nginx)
      read -r code secs < <(curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -T "$BIG" "$PUT_URL")
      [[ $code == 201 || $code == 204 ]] || die "nginx PUT answered $code"
      [[ $(stat -c %s "$WORK/nginx/root/put/big.mp4") == "$BIG_BYTES" ]] || die "nginx stored a file of the wrong size"
      rm -f -- "$WORK/nginx/root/put/big.mp4"
      ;;
  esac
  TIMES[$runner]+="$secs "
  log "  $runner: $secs s"
}
for ((r = 0; r < RUNS; r++)); do
  log "round $((r + 1)) of $RUNS"
  for ((k = 0; k < ${#RUNNERS[@]}; k++)); do # each round starts with the next runner
    run_one "${RUNNERS[$(((r + k) % ${#RUNNERS[@]}))]}"
  done
done

declare -A MED=() MIN=() MAX=()
for runner in "${RUNNERS[@]}"; do
  read -r "MED[$runner]" "MIN[$runner]" "MAX[$runner]" < <(stats "${TIMES[$runner]}")
done
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
SLOWER_PEER="$(awk -v a="${MED[openssl]}" -v b="${MED[dd]}" 'BEGIN { print (a >= b) ? "openssl" : "dd" }')"
R_PEER="$(ratio "${MED[upload]}" "${MED[$SLOWER_PEER]}")"
R_NGINX="$(ratio "${MED[upload]}" "${MED[nginx]}")"

# ---- 3. concurrent uploads ----------------------------------------------------------------
log "concurrent: $CONC x $CONC_BYTES bytes"
declare -a EXPECT=()
for ((i = 1; i <= CONC; i++)); do
  EXPECT[i]="$(openssl dgst -sha256 -r "$WORK/conc/$i.mp4" | cut -d' ' -f1)"
done
settle
t0="$(now)"
CURL_PIDS=()
for ((i = 1; i <= CONC; i++)); do
  upload "$WORK/conc/$i.mp4" "$WORK/conc/$i.json" >"$WORK/conc/$i.result" 2>&1 &
  CURL_PIDS+=($!)
done
wait_failed=0
for pid in "${CURL_PIDS[@]}"; do
  wait "$pid" || wait_failed=1
done
t1="$(now)"
CONC_SECONDS="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
CONC_201=0
CONC_MATCH=0
CONC_TIMES=""
for ((i = 1; i <= CONC; i++)); do
  read -r code secs <"$WORK/conc/$i.result" || true
  CONC_TIMES+="${secs:-0} "
  [[ $code == 201 ]] || { log "concurrent upload $i answered '$code'"; continue; }
  CONC_201=$((CONC_201 + 1))
  got="$(json_sha256 "$WORK/conc/$i.json")"
  stored="$MEDIA/sha256/${got:0:2}/${got:2:2}/$got"
  if [[ $got == "${EXPECT[i]}" && -f $stored ]] &&
    [[ "$(openssl dgst -sha256 -r "$stored" | cut -d' ' -f1)" == "${EXPECT[i]}" ]]; then
    CONC_MATCH=$((CONC_MATCH + 1))
  else
    log "concurrent upload $i: stored file does not hash to ${EXPECT[i]}"
  fi
done
((wait_failed == 0)) || log "a concurrent curl failed"
read -r CONC_MED CONC_MIN CONC_MAX < <(stats "$CONC_TIMES")
CONC_TEMP_LEFT="$(find "$MEDIA/tmp" -type f 2>/dev/null | wc -l)"
CONC_AGG="$(mbps $((CONC * CONC_BYTES)) "$CONC_SECONDS")"
clear_store

LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report --------------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
GROWTH_KIB=$((RSS_PEAK - RSS_START))
goal() { awk -v v="$1" -v g="$2" 'BEGIN { print (v <= g) ? "met" : "NOT met" }'; }
MEM_GOAL="$(goal "$GROWTH_KIB" $((64 * 1024)))"
PEER_GOAL="$(goal "$R_PEER" 1.3)"
# shellcheck source=/dev/null
. /etc/os-release
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
MEM_GIB="$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)"
FS="$(df -PT -- "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
MACHINE="$PRETTY_NAME, $(nproc) cores ($CPU), $MEM_GIB GiB, $FS"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  COMMIT+=" with uncommitted changes"
fi
if ((COLD)); then
  CACHE="The page cache was dropped before every timed run (\`sync; echo 3 > /proc/sys/vm/drop_caches\`), so every runner read the file from disk"
else
  CACHE="The page cache could not be dropped: the file was hot in the page cache for all runners alike"
fi
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
# shellcheck disable=SC2016 # the backquotes are Markdown
declare -A NAMES=([openssl]='`openssl dgst -sha256 FILE`' [dd]='`dd if=FILE of=OUT bs=1M conv=fsync`'
  [upload]='convoywatch: `curl -F file=@FILE` to `POST /api/v1/submissions` (201)'
  [nginx]="nginx $NGINX_VERSION"' dav `PUT`: `curl -T FILE` (201)')

report() {
  echo "Command: \`bench/upload.sh\` (all of it, with \`bench/run\`), $(date -u +%Y-%m-%d), commit $COMMIT."
  echo
  echo "Machine: $MACHINE. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo
  echo "One $BIG_MIB MiB file ($BIG_BYTES bytes: a real MP4 header, then random bytes), $RUNS runs of"
  echo "each runner, alternating (each round starts with the next runner), new bytes after the header"
  echo "before every run. $CACHE. Time: wall clock for openssl and"
  echo "dd, curl's \`time_total\` for the uploads. MB = 10^6 bytes."
  echo
  echo "| runner | median s | min s | max s | median MB/s |"
  echo "|---|---|---|---|---|"
  for runner in "${RUNNERS[@]}"; do
    echo "| ${NAMES[$runner]} | ${MED[$runner]} | ${MIN[$runner]} | ${MAX[$runner]} | $(mbps "$BIG_BYTES" "${MED[$runner]}") |"
  done
  echo
  echo "- upload / max(openssl, dd) = ${MED[upload]} / ${MED[$SLOWER_PEER]} = **$R_PEER** (goal ≤ 1.3: $PEER_GOAL)"
  echo "- upload / nginx = ${MED[upload]} / ${MED[nginx]} = **$R_NGINX** (nginx does not fsync the body; the server does)"
  echo "- server memory (VmRSS, $RSS_SAMPLES samples every 50 ms during one $BIG_MIB MiB upload of ${MEM_SECONDS} s):"
  echo "  start $(mib "$RSS_START") MiB, peak $(mib "$RSS_PEAK") MiB, growth **$(mib "$GROWTH_KIB") MiB** (goal < 64 MiB: $MEM_GOAL);"
  echo "  after it $(mib "$RSS_END") MiB; VmHWM $(mib "$HWM_START") → $(mib "$HWM_END") MiB. The server made $WRITES"
  echo "  \`write\` calls for that upload (syscw in /proc/PID/io): **$WRITE_AVG bytes** each on average"
  echo "- $CONC concurrent uploads of $CONC_BYTES bytes, different bytes each: $CONC_201/$CONC answered 201,"
  echo "  $CONC_MATCH/$CONC stored files hash (SHA-256 of the stored file) to the uploaded file's hash;"
  echo "  total **$CONC_SECONDS s**, aggregate **$CONC_AGG MB/s** (each upload $CONC_MIN–$CONC_MAX s, median $CONC_MED s);"
  echo "  temp files left in the store: $CONC_TEMP_LEFT"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
if ((CONC_201 != CONC || CONC_MATCH != CONC)); then
  die "the concurrent uploads were not all stored correctly"
fi
