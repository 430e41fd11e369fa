#!/usr/bin/env bash
# bench/http.sh: HTTP throughput and latency of `convoywatch serve` (Release) against nginx
# serving the same bytes as a static file, side by side in one run, with wrk:
#   wrk -t2 -c64 -dDURATION --latency http://127.0.0.1:PORT/healthz
#   wrk -t2 -c64 -dDURATION --latency -H 'Authorization: Bearer …' \
#       'http://127.0.0.1:PORT/api/v1/observations?limit=20'
# The list is warm: SEED_ROWS observations are imported first (POST /api/v1/observations/import)
# and the route is requested before the timed runs. nginx gets each route's exact response body
# (fetched from the server with curl) as a file at the same path, with the same Content-Type.
# Runs alternate (each round starts with the next runner); per runner and route: requests/s and
# wrk's p50/p99 latency as the median of RUNS runs with min and max, and the ratio
# server/nginx. Goals (the issue "Proving it"): /healthz ≥ 0.5× nginx's requests/s; the list's
# p99 under 20 ms.
#
#   bench/http.sh [--markdown FILE]     prints the block; FILE gets the Markdown block that
#                                       bench/run puts into bench/README.md
# Environment: RUNS (5) timed runs per runner and route; DURATION (15s) of each wrk run;
#              CONNECTIONS (64) and THREADS (2) of wrk; SEED_ROWS (5000) observations;
#              CW_BENCH_DIR (/var/tmp) where the cluster and the files go;
#              CW_BIN a prebuilt convoywatch (else the Release build is brought up to date);
#              READ_CACHE_MB (64, the shipped value) the server's [server] read_cache_mb: 0
#              measures the list without its cache (every request asks PostgreSQL).
# The server runs with its shipped settings except: rate limit off (wrk would measure 429s),
# pipeline workers 0 and the report scheduler off (nothing else runs), log level warn (nginx's
# access log is off too). nginx: worker_processes auto, access_log off, keepalive_requests
# 1000000 (the server does not close a keep-alive connection after a number of requests).
# Needs wrk (scripts/packages.txt, stage test) and root or the postgres setup of scripts/pg;
# installs nginx when missing, as bench/upload.sh does. Takes about 2 × 2 × RUNS × DURATION
# plus a minute. Removes everything it started or wrote on exit, INT and TERM included.
# Not part of scripts/test or CI.
set -euo pipefail

RUNS="${RUNS:-5}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
SEED_ROWS="${SEED_ROWS:-5000}"
READ_CACHE_MB="${READ_CACHE_MB:-64}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"
bench_traps

for v in RUNS CONNECTIONS THREADS SEED_ROWS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $READ_CACHE_MB =~ ^[0-9]+$ ]] || die "READ_CACHE_MB must be a whole number"
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "DURATION must be like 15s, 2m or 15"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

# ---- tools ---------------------------------------------------------------------------------
for tool in curl python3 wrk; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
ensure_nginx
bench_convoywatch

mkdir -p -- "$BENCH_DIR"
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-http.XXXXXX")"
BENCH_TMP+=("$WORK")

# ---- PostgreSQL, the server, the seed ------------------------------------------------------
bench_pg_start "$BENCH_DIR"
TOKEN="$(bench_user bench contributor)"
bench_server "$WORK" CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 CONVOYWATCH_PIPELINE_WORKERS=0 \
  CONVOYWATCH_SERVER_READ_CACHE_MB="$READ_CACHE_MB"
log "seeding $SEED_ROWS observations"
read -r SEED_FIRST SEED_LAST < <(bench_seed_observations "$SEED_ROWS" "$TOKEN")
bench_psql -c 'VACUUM (ANALYZE) observations'
log "observations $SEED_FIRST … $SEED_LAST"

# ---- the routes, and nginx with their bytes ------------------------------------------------
ROUTES=(healthz list)
declare -A PATHQ=([healthz]=/healthz [list]='/api/v1/observations?limit=20')
declare -A AUTH=([healthz]="" [list]="Authorization: Bearer $TOKEN")
declare -A CTYPE=() BYTES=()
mkdir -p "$WORK/nginx/root/api/v1" "$WORK/nginx/tmp"
for route in "${ROUTES[@]}"; do
  path="${PATHQ[$route]%%\?*}"
  args=(-sS -D "$WORK/$route.headers" -o "$WORK/nginx/root$path" -w '%{http_code}')
  [[ -n ${AUTH[$route]} ]] && args+=(-H "${AUTH[$route]}")
  code="$(curl "${args[@]}" "http://127.0.0.1:$SERVER_PORT${PATHQ[$route]}")"
  [[ $code == 200 ]] || die "GET ${PATHQ[$route]} answered $code"
  CTYPE[$route]="$(awk -F': ' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$WORK/$route.headers")"
  BYTES[$route]="$(stat -c %s "$WORK/nginx/root$path")"
  [[ -n ${CTYPE[$route]} ]] || die "GET ${PATHQ[$route]} has no Content-Type"
  log "$route: ${BYTES[$route]} bytes, ${CTYPE[$route]}"
done
LIST_ITEMS="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/nginx/root/api/v1/observations")"
[[ $LIST_ITEMS == 20 ]] || die "the list returned $LIST_ITEMS items, not 20"

bench_nginx "$WORK/nginx" "    location = /healthz { default_type \"${CTYPE[healthz]}\"; }
    location = /api/v1/observations { default_type \"${CTYPE[list]}\"; }"
# nginx must answer the same bytes with the same Content-Type.
for route in "${ROUTES[@]}"; do
  path="${PATHQ[$route]%%\?*}"
  ct="$(curl -sS -o "$WORK/check.body" -w '%{content_type}' "http://127.0.0.1:$NGINX_PORT${PATHQ[$route]}")"
  cmp -s "$WORK/check.body" "$WORK/nginx/root$path" || die "nginx answers other bytes for $route"
  [[ $ct == "${CTYPE[$route]}" ]] || die "nginx answers Content-Type '$ct' for $route, the server '${CTYPE[$route]}'"
done

# ---- wrk -----------------------------------------------------------------------------------
# wrk_run RUNNER ROUTE DURATION OUT: one wrk run; its output in OUT.
wrk_run() {
  local runner="$1" route="$2" duration="$3" out="$4" port args=()
  port=$([[ $runner == server ]] && echo "$SERVER_PORT" || echo "$NGINX_PORT")
  args=(-t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency)
  [[ -n ${AUTH[$route]} ]] && args+=(-H "${AUTH[$route]}")
  bench_spawn wrk "${args[@]}" "http://127.0.0.1:$port${PATHQ[$route]}" >"$out" 2>&1
  bench_wait "$BENCH_LAST" || { cat "$out" >&2; die "wrk failed ($runner, $route)"; }
}

RUNNERS=(server nginx)
declare -A RPS=() P50=() P99=() REQS=() BAD=()
log "warm-up: 2 s of wrk per runner and route"
for route in "${ROUTES[@]}"; do
  for runner in "${RUNNERS[@]}"; do
    wrk_run "$runner" "$route" 2s "$WORK/warm.out"
  done
done
for route in "${ROUTES[@]}"; do
  for ((r = 0; r < RUNS; r++)); do
    log "$route: round $((r + 1)) of $RUNS"
    for ((k = 0; k < ${#RUNNERS[@]}; k++)); do # each round starts with the next runner
      runner="${RUNNERS[$(((r + k) % ${#RUNNERS[@]}))]}"
      out="$WORK/wrk.$route.$runner.$r"
      wrk_run "$runner" "$route" "$DURATION" "$out"
      read -r rps p50 p99 n bad err < <(bench_parse_wrk "$out")
      key="$runner/$route"
      RPS[$key]+="$rps "
      P50[$key]+="$p50 "
      P99[$key]+="$p99 "
      REQS[$key]=$((${REQS[$key]:-0} + n))
      BAD[$key]=$((${BAD[$key]:-0} + bad + err))
      log "  $runner: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $bad, socket errors $err"
    done
  done
done
bench_alive "$SERVER_PID" || die "the server died during the runs"
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report --------------------------------------------------------------------------------
declare -A MED=() LO=() HI=()
for key in "${!RPS[@]}"; do
  read -r "MED[rps/$key]" "LO[rps/$key]" "HI[rps/$key]" < <(stats "${RPS[$key]}")
  read -r "MED[p50/$key]" "LO[p50/$key]" "HI[p50/$key]" < <(stats "${P50[$key]}")
  read -r "MED[p99/$key]" "LO[p99/$key]" "HI[p99/$key]" < <(stats "${P99[$key]}")
done
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
cell() { # KIND KEY DECIMALS: "**median** (min–max)"
  echo "**$(fmt "${MED[$1/$2]}" "$3")** ($(fmt "${LO[$1/$2]}" "$3")–$(fmt "${HI[$1/$2]}" "$3"))"
}
R_HEALTH="$(ratio "${MED[rps/server/healthz]}" "${MED[rps/nginx/healthz]}")"
R_LIST="$(ratio "${MED[rps/server/list]}" "${MED[rps/nginx/list]}")"
# judged on the unrounded ratio (0.496 is printed as 0.50 but does not meet ≥ 0.5)
G_HEALTH="$(awk -v a="${MED[rps/server/healthz]}" -v b="${MED[rps/nginx/healthz]}" 'BEGIN { print (a / b >= 0.5) ? "met" : "NOT met" }')"
G_LIST="$(awk -v p="${MED[p99/server/list]}" 'BEGIN { print (p < 20) ? "met" : "NOT met" }')"
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
WRK_VERSION="$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')"
# shellcheck disable=SC2016 # the backquotes are Markdown
declare -A LABEL=([healthz]='`GET /healthz`' [list]='`GET /api/v1/observations?limit=20`')
BAD_TOTAL=0
for key in "${!BAD[@]}"; do BAD_TOTAL=$((BAD_TOTAL + BAD[$key])); done

report() {
  echo "Command: \`bench/http.sh\` (with \`bench/run http\`), $(date -u +%Y-%m-%d), commit $(bench_commit)."
  echo
  echo "Machine: $(bench_machine). The cores are shared with other work and with wrk itself. Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END."
  echo "wrk $WRK_VERSION, nginx $NGINX_VERSION."
  echo
  echo "\`wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency\` on loopback; $RUNS runs per runner and route,"
  echo "alternating (each round starts with the next runner), after 2 s of warm-up each. nginx serves the"
  echo "server's response body as a static file (${BYTES[healthz]} and ${BYTES[list]} bytes, same Content-Type). The"
  echo "list: $SEED_ROWS imported observations, the list's first page of 20, with a token; the server's"
  echo "read_cache_mb = $READ_CACHE_MB ($([[ $READ_CACHE_MB == 0 ]] && echo "no cache: every request asks PostgreSQL" || echo "the page and the token are answered from memory while nothing changes")). Median (min–max)."
  echo
  echo "| route | runner | requests/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|"
  for route in "${ROUTES[@]}"; do
    for runner in "${RUNNERS[@]}"; do
      name=$([[ $runner == server ]] && echo convoywatch || echo "nginx (static file)")
      echo "| ${LABEL[$route]} | $name | $(cell rps "$runner/$route" 0) | $(cell p50 "$runner/$route" 2) | $(cell p99 "$runner/$route" 2) |"
    done
  done
  echo
  echo "- \`/healthz\`: server / nginx = $(fmt "${MED[rps/server/healthz]}" 0) / $(fmt "${MED[rps/nginx/healthz]}" 0) = **$R_HEALTH×** requests/s (goal ≥ 0.5×: $G_HEALTH)"
  echo "- list: server / nginx = $(fmt "${MED[rps/server/list]}" 0) / $(fmt "${MED[rps/nginx/list]}" 0) = **$R_LIST×** requests/s;"
  echo "  p99 **$(fmt "${MED[p99/server/list]}" 2) ms** (median of the runs; goal < 20 ms: $G_LIST)"
  echo "- requests that were not 2xx, or socket errors, over all runs: $BAD_TOTAL"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
((BAD_TOTAL == 0)) || die "some requests failed (non-2xx or socket errors)"
