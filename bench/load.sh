#!/usr/bin/env bash
# bench/load.sh: a mixed load on `convoywatch serve` (Release): CLIENTS concurrent clients for
# SECONDS seconds, each sending, one after another without pauses, a mix of (per cent)
#   5  POST /api/v1/submissions                     upload of a small real clip (an MP4 cut
#                                                   from opencv-doc's vtest.avi; every upload
#                                                   distinct bytes)
#   25 POST /api/v1/observations                    a new observation (contributors)
#   10 POST /api/v1/observations/{id}/verification  a verdict (analysts; two-person rule kept)
#   35 GET  /api/v1/observations?limit=20…          list pages (plain, bbox + week, oblast)
#   15 GET  /api/v1/aggregates/observations…        a month by day by oblast and movement,
#                                                   weeks by oblast
#   10 GET  /api/v1/observations/{id}               one observation
# over SEED_ROWS imported observations. The client is cw_load_client (bench/load_client.cpp).
# The server runs its usual pipeline worker, so the uploads are analysed in the background
# while the load runs (not awaited). Checks, each failing the script (exit 1):
#   - no 5xx and no transport error (reset, timeout) on any route
#   - no lost write: every id answered 201 is found afterwards by GET, and the tables hold
#     exactly the seed plus the 201s (observations, submissions) and one verdict per 200
#     verification
#   - the server still runs at the end
# Reported: counts per route and status, p50/p99/max latency per route, the server's resident
# memory (VmRSS) at the start, the peak (sampled every 0.5 s) and the end, and its open files.
#
#   bench/load.sh [--markdown FILE]     prints the block; FILE gets the Markdown block that
#                                       bench/run puts into bench/README.md
# Environment: CLIENTS (64); SECONDS (60); SEED_ROWS (5000); CONTRIBUTORS (8) and ANALYSTS (4)
#              users the clients share; CW_BENCH_DIR (/var/tmp) where the cluster, the clips and
#              the media store go; CW_BIN and CW_LOAD_CLIENT prebuilt programs (else the Release
#              build is brought up to date).
# The server's settings are the shipped ones except: the rate limit off (64 clients without
# pauses would be measured as 429s) and the report scheduler off. Needs ffmpeg, opencv-doc,
# python3, curl and root or the postgres setup of scripts/pg. Takes SECONDS plus a minute or
# two. Removes everything it started or wrote on exit, INT and TERM included. Not part of
# scripts/test or CI.
set -euo pipefail

CLIENTS="${CLIENTS:-64}"
# bash's own SECONDS counts the seconds since the shell started: read the environment's value.
SECONDS_="$(printenv SECONDS || echo 60)"
SEED_ROWS="${SEED_ROWS:-5000}"
CONTRIBUTORS="${CONTRIBUTORS:-8}"
ANALYSTS="${ANALYSTS:-4}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"
VIDEO=/usr/share/doc/opencv-doc/examples/data/vtest.avi
CLIPS=8

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"
bench_traps

for v in CLIENTS SECONDS_ SEED_ROWS CONTRIBUTORS ANALYSTS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v%_} must be a positive integer"
done

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

# ---- tools ---------------------------------------------------------------------------------
for tool in curl python3 ffmpeg; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
[[ -f $VIDEO ]] || die "$VIDEO is missing (opencv-doc); run scripts/setup"
if [[ -z ${CW_BIN:-} || -z ${CW_LOAD_CLIENT:-} ]]; then
  bench_build convoywatch cw_load_client
fi
BIN="${CW_BIN:-$BUILD/app/convoywatch}"
CLIENT="${CW_LOAD_CLIENT:-$BUILD/bench/cw_load_client}"
[[ -x $BIN ]] || die "no convoywatch binary at $BIN"
[[ -x $CLIENT ]] || die "no cw_load_client binary at $CLIENT"

mkdir -p -- "$BENCH_DIR"
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-load.XXXXXX")"
BENCH_TMP+=("$WORK")

# ---- the clips: 6 s of vtest.avi from different offsets, H.264 in MP4 ----------------------
log "cutting $CLIPS clips from $VIDEO"
mkdir -p "$WORK/clips"
for ((i = 0; i < CLIPS; i++)); do
  ffmpeg -nostdin -loglevel error -y -ss $((i * 9)) -t 6 -i "$VIDEO" -an -c:v libx264 \
    -preset veryfast -crf 23 -pix_fmt yuv420p -movflags +faststart "$WORK/clips/clip$i.mp4"
done
read -r CLIP_MIN CLIP_MAX < <(stat -c %s "$WORK"/clips/*.mp4 | sort -n | awk 'NR == 1 { a = $1 } { b = $1 } END { print a, b }')

# ---- PostgreSQL, users, the server, the seed -----------------------------------------------
bench_pg_start "$BENCH_DIR"
SEED_TOKEN="$(bench_user seed contributor)"
: >"$WORK/tokens"
for ((i = 1; i <= CONTRIBUTORS; i++)); do
  echo "contributor $(bench_user "load-contributor-$i" contributor)" >>"$WORK/tokens"
done
for ((i = 1; i <= ANALYSTS; i++)); do
  echo "analyst $(bench_user "load-analyst-$i" analyst)" >>"$WORK/tokens"
done
bench_server "$WORK" CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 CONVOYWATCH_LOG_LEVEL=info
log "seeding $SEED_ROWS observations"
read -r SEED_FIRST SEED_LAST < <(bench_seed_observations "$SEED_ROWS" "$SEED_TOKEN")
bench_psql -c 'VACUUM (ANALYZE) observations'
# Workers, pool and threads as the server runs them (config show prints the effective values).
SETTINGS="$(CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 \
  "$BIN" config show 2>/dev/null | awk -F' *= *' '
    /^\[/ { section = $0; gsub(/[][]/, "", section) }
    (section "." $1) ~ /^(server\.io_threads|database\.pool_size|pipeline\.workers|server\.rate_limit_per_minute)$/ {
      printf "%s%s.%s = %s", sep, section, $1, $2; sep = ", " }')"

# ---- the server's memory and files ---------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
fds() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SERVER_PID/status"; }
sample_rss() {
  while :; do
    awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || exit 0
    sleep 0.5
  done
}
RSS_START="$(rss_kib)"
FDS_START="$(fds)"
THREADS_START="$(threads)"
bench_spawn sample_rss >"$WORK/rss.samples"
SAMPLER_PID=$BENCH_LAST

# ---- the load ------------------------------------------------------------------------------
log "load: $CLIENTS clients for $SECONDS_ s"
bench_spawn "$CLIENT" --port "$SERVER_PORT" --clients "$CLIENTS" --seconds "$SECONDS_" \
  --tokens "$WORK/tokens" --clips "$WORK/clips" --seed-ids "$SEED_FIRST-$SEED_LAST" \
  --out "$WORK/result.json"
bench_wait "$BENCH_LAST" || die "cw_load_client failed"
bench_stop "$SAMPLER_PID"
SERVER_ALIVE=1
bench_alive "$SERVER_PID" || SERVER_ALIVE=0
if ((SERVER_ALIVE)); then
  RSS_END="$(rss_kib)"
  FDS_END="$(fds)"
  THREADS_END="$(threads)"
  sleep 5
  RSS_IDLE="$(rss_kib)"
else
  RSS_END=0 FDS_END=0 THREADS_END=0 RSS_IDLE=0
  tail -n 40 "$WORK/server.log" >&2
fi
RSS_PEAK="$(sort -n "$WORK/rss.samples" | tail -n 1)"
RSS_SAMPLES="$(wc -l <"$WORK/rss.samples")"

# ---- what the database holds ---------------------------------------------------------------
read -r DB_OBS DB_SUBS DB_VERDICTS < <(bench_psql -At -F' ' -c \
  'SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM submissions), (SELECT count(*) FROM observation_verdicts)')
JOBS="$(bench_psql -At -c "SELECT coalesce(string_agg(state || ' ' || n, ', ' ORDER BY state), 'none') FROM (SELECT state, count(*) n FROM jobs GROUP BY state) s")"
LOG_ERRORS="$(grep -ciE '\b(error|critical)\b' "$WORK/server.log" || true)"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report --------------------------------------------------------------------------------
# The JSON of cw_load_client and the database's counts give the table and the checks.
python3 - "$WORK/result.json" "$SEED_ROWS" "$DB_OBS" "$DB_SUBS" "$DB_VERDICTS" >"$WORK/summary" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
seed, db_obs, db_subs, db_verdicts = map(int, sys.argv[2:6])
rows, fivexx, transport, notes = [], 0, 0, []
by = {x["route"]: x for x in r["routes"]}
for x in r["routes"]:
    st = ", ".join(f"{k}: {v}" for k, v in sorted(x["statuses"].items()))
    if x["transport_errors"]:
        st += f", transport errors: {x['transport_errors']}"
    fivexx += sum(v for k, v in x["statuses"].items() if k.startswith("5"))
    transport += x["transport_errors"]
    if x["first_error"]:
        notes.append(f"{x['route']}: first error: {x['first_error'][:200]}")
    rows.append(f"| `{x['route']}` | {x['count']} | {st} | {x['p50_ms']:.1f} | **{x['p99_ms']:.1f}** | {x['max_ms']:.0f} |")
rb = r["readback"]
verify_200 = by["POST /api/v1/observations/{id}/verification"]["statuses"].get("200", 0)
obs_201 = by["POST /api/v1/observations"]["statuses"].get("201", 0)
sub_201 = by["POST /api/v1/submissions"]["statuses"].get("201", 0)
lost = rb["observations_missing"] + rb["submissions_missing"]
tables_ok = (db_obs == seed + obs_201 and db_subs == sub_201 and db_verdicts == verify_200
             and rb["observations_created"] == obs_201 and rb["submissions_created"] == sub_201)
print("REQUESTS", r["requests"])
print("RATE", f"{r['requests'] / r['elapsed_s']:.0f}")
print("ELAPSED", f"{r['elapsed_s']:.1f}")
print("FIVEXX", fivexx)
print("TRANSPORT", transport)
print("LOST", lost)
print("TABLES_OK", 1 if tables_ok else 0)
print("OBS_201", obs_201)
print("SUB_201", sub_201)
print("VERIFY_200", verify_200)
print("READBACK_S", f"{rb['seconds']:.1f}")
print("MISSING", json.dumps(rb["missing_examples"]) + (" " + rb["first_error"][:200] if rb["first_error"] else ""))
for row in rows:
    print("ROW", row)
for n in notes:
    print("NOTE", n)
PY
val() { awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' "$WORK/summary"; }
FIVEXX="$(val FIVEXX)"
TRANSPORT="$(val TRANSPORT)"
LOST="$(val LOST)"
TABLES_OK="$(val TABLES_OK)"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ok() { (($1)) && echo "met" || echo "**FAILED**"; }
C_5XX="$(ok $((FIVEXX == 0 && TRANSPORT == 0)))"
C_LOST="$(ok $((LOST == 0 && TABLES_OK == 1)))"
C_ALIVE="$(ok "$SERVER_ALIVE")"

report() {
  echo "Command: \`bench/load.sh\` (with \`bench/run load\`), $(date -u +%Y-%m-%d), commit $(bench_commit)."
  echo
  echo "Machine: $(bench_machine). The cores are shared with other work and with the load client itself. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo
  echo "$CLIENTS clients (\`cw_load_client\`, one thread and one keep-alive connection each, no pauses) for"
  echo "$SECONDS_ s ($(val ELAPSED) s with the requests in flight at the end) over $SEED_ROWS imported observations;"
  echo "$CONTRIBUTORS contributors and $ANALYSTS analysts share the clients. Uploads: $CLIPS clips of 6 s cut from"
  echo "opencv-doc's \`vtest.avi\` (H.264 768×576, $CLIP_MIN–$CLIP_MAX bytes), each upload made distinct by an MP4"
  echo "\`free\` box with a unique tag. Server: $SETTINGS (the shipped settings but for the rate limit); the"
  echo "pipeline worker analyses the uploads while the load runs. Latency: from writing the request to"
  echo "having read the whole response, in ms."
  echo
  echo "| route | requests | statuses | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|---|"
  awk '$1 == "ROW" { sub(/^ROW /, ""); print }' "$WORK/summary"
  echo
  echo "- $(val REQUESTS) requests, **$(val RATE) requests/s** in all"
  echo "- no 5xx and no transport error: $C_5XX (5xx: $FIVEXX, transport errors: $TRANSPORT)"
  echo "- no lost write: $C_LOST ($(val OBS_201) observations and $(val SUB_201) submissions answered 201, every one read back"
  echo "  by GET in $(val READBACK_S) s, missing: $LOST; the tables hold $DB_OBS observations = $SEED_ROWS + $(val OBS_201),"
  echo "  $DB_SUBS submissions, $DB_VERDICTS verdicts for $(val VERIFY_200) verifications answered 200)"
  echo "- server memory (VmRSS): start $(mib "$RSS_START") MiB, peak $(mib "$RSS_PEAK") MiB ($RSS_SAMPLES samples every 0.5 s),"
  echo "  end $(mib "$RSS_END") MiB, 5 s later $(mib "$RSS_IDLE") MiB; open files $FDS_START → $FDS_END, threads $THREADS_START → $THREADS_END"
  echo "- server still running at the end: $C_ALIVE; lines with \"error\" or \"critical\" in its log: $LOG_ERRORS"
  echo "- pipeline jobs at the end: $JOBS"
  awk '$1 == "NOTE" { sub(/^NOTE /, ""); print "- " $0 }' "$WORK/summary"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
if [[ $C_5XX != met || $C_LOST != met || $C_ALIVE != met ]]; then
  log "missing ids (first 10) and the first read-back error: $(val MISSING)"
  die "a check failed"
fi
