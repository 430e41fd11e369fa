#!/usr/bin/env bash
# bench/events.sh: live events (GET /api/v1/events, Server-Sent Events) on `convoywatch serve`
# (Release): IDLE streams of one organisation that is sent nothing, then ACTIVE streams of
# another while EVENTS changes are made (a submission private to the active organisation every
# INTERVAL_MS ms). The client is cw_events_client (bench/events_client.cpp). Reported: the
# server's resident memory per open stream (idle, and with all open), the latency from the end
# of each POST to its event on every active stream (p50, p99, max), and that no event was lost
# on an active stream or sent to an idle one (each failing the script, exit 1).
#
#   bench/events.sh [--markdown FILE]   prints the block; FILE gets the Markdown block that
#                                       bench/run puts into bench/README.md
# Environment: IDLE (500), ACTIVE (50), EVENTS (200), INTERVAL_MS (50); CW_BENCH_DIR (/var/tmp)
#              where the cluster and the media store go; CW_BIN and CW_EVENTS_CLIENT prebuilt
#              programs (else the Release build is brought up to date).
# The server's settings are the shipped ones except: the rate limit off (550 streams open at
# once from few tokens), max_event_streams_per_token raised to hold them, the report scheduler
# off. Not part of scripts/test or CI.
set -euo pipefail

IDLE="${IDLE:-500}"
ACTIVE="${ACTIVE:-50}"
EVENTS="${EVENTS:-200}"
INTERVAL_MS="${INTERVAL_MS:-50}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"
bench_traps

for v in IDLE ACTIVE EVENTS INTERVAL_MS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z ${CW_BIN:-} || -z ${CW_EVENTS_CLIENT:-} ]]; then
  bench_build convoywatch cw_events_client
fi
BIN="${CW_BIN:-$BUILD/app/convoywatch}"
CLIENT="${CW_EVENTS_CLIENT:-$BUILD/bench/cw_events_client}"
[[ -x $BIN ]] || die "no convoywatch binary at $BIN"
[[ -x $CLIENT ]] || die "no cw_events_client binary at $CLIENT"

mkdir -p -- "$BENCH_DIR"
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-events.XXXXXX")"
BENCH_TMP+=("$WORK")
bench_pg_start "$BENCH_DIR"
user() { # NAME ORG: a contributor's token
  CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" user add --create-org --name "$1" \
    --org "$2" --role contributor
}
for i in 1 2 3 4; do user "idle-$i" "bench-idle"; done >"$WORK/idle.tokens"
for i in 1 2; do user "active-$i" "bench-active"; done >"$WORK/active.tokens"
bench_server "$WORK" CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 \
  CONVOYWATCH_SERVER_MAX_EVENT_STREAMS_PER_TOKEN=1000 CONVOYWATCH_PIPELINE_WORKERS=0

log "$IDLE idle and $ACTIVE active streams, $EVENTS events every $INTERVAL_MS ms"
rc=0
"$CLIENT" --port "$SERVER_PORT" --pid "$SERVER_PID" --idle-tokens "$WORK/idle.tokens" \
  --active-tokens "$WORK/active.tokens" --idle "$IDLE" --active "$ACTIVE" --events "$EVENTS" \
  --interval-ms "$INTERVAL_MS" --out "$WORK/result.json" >/dev/null || rc=$?
[[ -s $WORK/result.json ]] || die "cw_events_client wrote no result"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK/result.json" "$(bench_machine)" "$(bench_commit)" "$LOAD_START" "$LOAD_END" \
  >"$WORK/block.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
machine, commit, load_start, load_end = sys.argv[2:6]
l, m = r["latency_ms"], r["rss_kib"]
ok = r["missing"] == 0 and r["idle_received"] == 0 and r["stream_errors"] == 0
print(f"""### Live events (bench/events.sh)

{machine}; commit {commit}; load average {load_start} at the start, {load_end} at the end.
{r['idle_streams']} idle streams (an organisation sent nothing), then {r['active_streams']} active
ones receiving {r['events']} events, one every {r['interval_ms']} ms (each a submission private to
the active organisation, POST /api/v1/submissions).

| measure | figure |
|---|---|
| server RSS before / {r['idle_streams']} idle open / all open / peak / after | {m['before']/1024:.1f} / {m['idle_open']/1024:.1f} / {m['all_open']/1024:.1f} / {m['peak']/1024:.1f} / {m['after']/1024:.1f} MiB |
| memory per idle stream | **{r['kib_per_idle_stream']:.1f} KiB** |
| memory per stream, all open | {r['kib_per_stream_all']:.1f} KiB |
| latency POST answered → event on a stream, p50 / **p99** / max ({l['n']} deliveries) | {l['p50']:.1f} / **{l['p99']:.1f}** / {l['max']:.1f} ms |
| events lost on active streams / sent to idle ones / stream errors | {r['missing']} / {r['idle_received']} / {r['stream_errors']} {'(met)' if ok else '**FAILED** ' + r['first_error']} |
""")
PY
cat "$WORK/block.md"
[[ -n $MARKDOWN ]] && cp "$WORK/block.md" "$MARKDOWN"
exit "$rc"
