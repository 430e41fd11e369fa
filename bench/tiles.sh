#!/usr/bin/env bash
# bench/tiles.sh: vector tiles of `convoywatch serve` (Release) over ROWS observations near the
# Russia–Ukraine border, against the floor and a static file server, side by side in one run:
#   tiles   observations z6 (6/38/21: every row), z10 (10/616/344: Belgorod) and z14
#           (14/9857/5513: Belgorod's centre); countries, oblasts, border and places at 6/38/21
#   floor   the bare ST_AsMVT SQL of the same tile in psql: the server's own SQL, read from
#           store/observations.cpp and store/map.cpp, prepared with the parameters the server
#           passes (plan_cache_mode = force_custom_plan, as the server's unnamed statements are
#           planned; jit off for the observations, as Observations::tile sets it), timed with
#           psql's \timing after one untimed execution per session; the script checks that it
#           returns the server's bytes
#   cold    a server with tile_cache_mb = 0: every request builds the tile in PostgreSQL
#   warm    a server with the shipped tile cache (64 MB), the tile requested before
#   nginx   the warm tile's bytes as a static file at the same path, same Content-Type
# Latency: in each of RUNS rounds (runners in turn, each round starting with the next) PER_ROUND
# requests per runner and tile on one keep-alive connection (curl's time_total; one untimed
# request first) and PER_ROUND executions in one psql session. Throughput: `wrk -t2 -c64
# -dDURATION` of each tile, warm server against nginx, WRK_RUNS runs each, alternating.
# Reported: median (min–max) ms, the ratios cold/floor and warm/nginx requests/s, tile sizes,
# and the EXPLAIN (ANALYZE, BUFFERS) of the z6 tile's SQL. Goals (issue 19): cold within 1.3× of
# the floor; warm ≥ 0.5× nginx's requests/s; the z6 observations tile over ROWS = 10 M under
# 100 ms cold and under 50 KB.
#
#   bench/tiles.sh [--markdown FILE]     prints the block; FILE gets the Markdown block that
#                                        bench/run puts into bench/README.md
# Environment: ROWS (10000000) observations; RUNS (5) rounds; PER_ROUND (3); DURATION (5s) and
#              WRK_RUNS (3) of wrk; CW_BENCH_DIR (/var/tmp) where the cluster and the files go;
#              CW_BIN a prebuilt convoywatch (else the Release build is brought up to date).
# Setup, not measured: the rows are written by one INSERT … SELECT generate_series in psql
# (the cluster with CW_PG_FAST=1: fsync off), with the table's user triggers (rollups, events,
# change feed; tiles read none of them) disabled and its secondary indexes dropped, then made
# again from their own definitions, and VACUUM (ANALYZE). 75 % of the points around ten towns
# (Belgorod, Kursk, Voronezh, Valuyki, Shebekino, Graivoron, Sudzha, Stary Oskol, Kharkiv, Sumy;
# normal, σ 0.25°), 25 % uniform over 33.8–39.35° E, 49–52.45° N, all inside tile 6/38/21;
# observed 2022-01-01 … 2022-04-30; 80 % unverified, 4 % rejected (not drawn); derived columns
# (country, oblast, nearest place, distance and bearing to the border) from
# observation_derived() of the centre of each point's 0.25° cell. 10 M rows take about 10
# minutes and 4 GB under CW_BENCH_DIR on 2 shared cores.
# The servers run with their shipped settings except: rate limit off, pipeline workers 0, the
# report scheduler off, log level warn. Needs root (the private cluster and nginx, installed
# when missing as bench/http.sh does), wrk, python3, curl. Removes everything it started or
# wrote on exit, INT and TERM included. Not part of scripts/test or CI.
set -euo pipefail

ROWS="${ROWS:-10000000}"
RUNS="${RUNS:-5}"
PER_ROUND="${PER_ROUND:-3}"
DURATION="${DURATION:-5s}"
WRK_RUNS="${WRK_RUNS:-3}"
CONNECTIONS=64
THREADS=2
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"
bench_traps

for v in ROWS RUNS PER_ROUND WRK_RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "DURATION must be like 5s, 1m or 5"

LOAD_START="$(loadavg)"
log "load average at start: $LOAD_START"

for tool in curl python3 wrk; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
ensure_nginx
bench_convoywatch

bench_workdir tiles "$ROWS"

# ---- the cluster and the rows (setup) ------------------------------------------------------
export CW_PG_FAST=1
bench_pg_start "$BENCH_DIR"
TOKEN="$(bench_user bench contributor)"
read -r USER_ID ORG_ID < <(bench_psql -At -F' ' -c "SELECT id, org_id FROM users WHERE name = 'bench'")
PG_VERSION="$(bench_psql -At -c 'SHOW server_version' | cut -d' ' -f1)"
POSTGIS_VERSION="$(bench_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")"

bench_fill_observations "$ROWS" "$USER_ID" "$ORG_ID"

# ---- the servers ---------------------------------------------------------------------------
SETTINGS=(CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 CONVOYWATCH_PIPELINE_WORKERS=0)
bench_server "$WORK/cold" "${SETTINGS[@]}" CONVOYWATCH_SERVER_TILE_CACHE_MB=0
COLD_PORT=$SERVER_PORT COLD_PID=$SERVER_PID
bench_server "$WORK/warm" "${SETTINGS[@]}"
WARM_PORT=$SERVER_PORT WARM_PID=$SERVER_PID
AUTH="Authorization: Bearer $TOKEN"

# ---- the tiles and their floor SQL ---------------------------------------------------------
TILES=(obs6 obs10 obs14 countries oblasts border places)
declare -A TPATH=([obs6]=observations/6/38/21 [obs10]=observations/10/616/344
  [obs14]=observations/14/9857/5513 [countries]=countries/6/38/21 [oblasts]=oblasts/6/38/21
  [border]=border/6/38/21 [places]=places/6/38/21)
declare -A SQL=() ARGS=() BYTES=()
FILTERS="$(bench_sql_literal store/observations.cpp kFilters)"
SQL_POINTS="$(bench_sql_literal store/observations.cpp kTilePoints)$FILTERS$(bench_sql_literal store/observations.cpp kTilePointsEnd)"
SQL_CELLS="$(bench_sql_literal store/observations.cpp kTileCells)$FILTERS$(bench_sql_literal store/observations.cpp kTileCellsEnd)"
POINT_ZOOM="$(sed -n 's/.*kObservationPointZoom = \([0-9]*\);.*/\1/p' "$BENCH_ROOT/store/observations.hpp")"
MAX_POINTS="$(sed -n "s/.*kMaxTilePoints = \([0-9']*\);.*/\1/p" "$BENCH_ROOT/store/observations.hpp" | tr -d "'")"
KBOUNDS="$(awk '/constexpr const char\* kBounds =/ { f = 1; next } f { sub(/^ *"/, ""); sub(/";$/, ""); print; exit }' "$BENCH_ROOT/store/map.cpp")"
# shellcheck disable=SC2016 # $18 is the SQL parameter
if ! grep -qF 'LIMIT $18)' <<<"$SQL_POINTS" || ! grep -qF 'GROUP BY 1, 2 LIMIT $18' <<<"$SQL_CELLS" ||
  [[ -z $POINT_ZOOM || -z $MAX_POINTS || $KBOUNDS != ST_Transform* ]]; then
  die "could not read the tile SQL from store/observations.cpp and store/map.cpp"
fi
# the populations of places by zoom (store/map.cpp min_place_population): z6 shows ≥ 100000
PLACES_Z6_MIN=100000
for t in "${TILES[@]}"; do
  IFS=/ read -r layer z x y <<<"${TPATH[$t]}"
  if [[ $layer == observations ]]; then
    # the buffered bounds of server/handlers_map.cpp (the list's bbox filter, $2..$5)
    bounds="$(python3 -c '
import math, sys
z, x, y = map(int, sys.argv[1:])
n = 2.0 ** z
lat = lambda r: math.atan(math.sinh(math.pi * (1 - 2 * r / n))) * 180 / math.pi
w, e, no, s = x / n * 360 - 180, (x + 1) / n * 360 - 180, lat(y), lat(y + 1)
mx, my = (e - w) * 64 / 4096, (no - s) * 64 / 4096
print(", ".join(repr(v) for v in (max(-180, w - mx), max(-90, s - my), min(180, e + mx), min(90, no + my))))' "$z" "$x" "$y")"
    SQL[$t]="$( ((z >= POINT_ZOOM)) && echo "$SQL_POINTS" || echo "$SQL_CELLS")"
    ARGS[$t]="0, $bounds, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, $z, $x, $y, $ORG_ID, $MAX_POINTS"
  else
    SQL[$t]="$(bench_sql_literal store/map.cpp "${layer}_sql")"
    SQL[$t]="${SQL[$t]//\{\}/$KBOUNDS}"
    ARGS[$t]="$z, $x, $y"
    [[ $layer == places ]] && ARGS[$t]+=", $PLACES_Z6_MIN"
  fi
  [[ ${SQL[$t]} == *ST_AsMVT\(* ]] || die "no SQL for the $layer tile"
done

# The server's bytes, the floor's bytes (md5) and nginx's files.
mkdir -p "$WORK/nginx/root"
for t in "${TILES[@]}"; do
  f="$WORK/nginx/root/api/v1/tiles/${TPATH[$t]}.mvt"
  mkdir -p "$(dirname "$f")"
  code="$(curl -sS -H "$AUTH" -D "$WORK/$t.headers" -o "$f" -w '%{http_code}' "http://127.0.0.1:$WARM_PORT/api/v1/tiles/${TPATH[$t]}.mvt")"
  [[ $code == 200 ]] || die "GET /api/v1/tiles/${TPATH[$t]}.mvt answered $code"
  BYTES[$t]="$(stat -c %s "$f")"
  [[ ${BYTES[$t]} -gt 0 ]] || die "the ${TPATH[$t]} tile is empty"
  cmp -s "$f" <(curl -sS -H "$AUTH" "http://127.0.0.1:$COLD_PORT/api/v1/tiles/${TPATH[$t]}.mvt") ||
    log "note: the cache-less server answers other bytes for ${TPATH[$t]}"
  floor_md5="$(printf '%s\n' "PREPARE c AS SELECT md5(coalesce(t, ''::bytea)) FROM (${SQL[$t]}) s(t);" \
    "EXECUTE c(${ARGS[$t]});" | bench_psql -At)"
  [[ $floor_md5 == "$(md5sum <"$f" | cut -d' ' -f1)" ]] || die "the floor SQL of ${TPATH[$t]} does not return the server's bytes"
  log "${TPATH[$t]}: ${BYTES[$t]} bytes, the floor SQL returns the same bytes"
done
CTYPE="$(awk -F': ' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$WORK/obs6.headers")"
[[ -n $CTYPE ]] || die "the tile has no Content-Type"
bench_nginx "$WORK/nginx" "    location /api/v1/tiles/ { default_type \"$CTYPE\"; }"
for t in "${TILES[@]}"; do
  path="/api/v1/tiles/${TPATH[$t]}.mvt"
  ct="$(curl -sS -o "$WORK/check.body" -w '%{content_type}' "http://127.0.0.1:$NGINX_PORT$path")"
  cmp -s "$WORK/check.body" "$WORK/nginx/root$path" || die "nginx answers other bytes for $path"
  [[ $ct == "$CTYPE" ]] || die "nginx answers Content-Type '$ct' for $path, the server '$CTYPE'"
done

# ---- latency: floor, cold, warm, nginx -----------------------------------------------------
# times_http PORT TILE: PER_ROUND requests after one untimed on one connection; ms, one a line.
times_http() {
  local url="http://127.0.0.1:$1/api/v1/tiles/${TPATH[$2]}.mvt" args=() i out
  for ((i = 0; i <= PER_ROUND; i++)); do args+=(-o /dev/null "$url"); done
  out="$(curl -sS -H "$AUTH" -w '%{http_code} %{time_total}\n' "${args[@]}")"
  awk 'NR == 1 { next } $1 != 200 { print "bad " $1; exit 1 } { printf "%.3f\n", $2 * 1000 }' <<<"$out" ||
    die "GET ${TPATH[$2]} on port $1 failed: $out"
}
# times_floor TILE: PER_ROUND executions of the floor SQL after one untimed, in one session.
times_floor() {
  {
    echo "SET plan_cache_mode = force_custom_plan;"
    [[ $1 == obs* ]] && echo "SET jit = off;" # as Observations::tile runs it
    echo "PREPARE q AS ${SQL[$1]};"
    echo '\o /dev/null'
    echo "EXECUTE q(${ARGS[$1]});"
    printf '%s\n' '\timing on'
    for ((i = 0; i < PER_ROUND; i++)); do echo "EXECUTE q(${ARGS[$1]});"; done
  } | bench_psql -At | awk '/^Time: / { print $2 }'
}
RUNNERS=(floor cold warm nginx)
declare -A MS=()
LOAD_LAT="$(loadavg)"
for t in "${TILES[@]}"; do
  for ((r = 0; r < RUNS; r++)); do
    for ((k = 0; k < ${#RUNNERS[@]}; k++)); do
      runner="${RUNNERS[$(((r + k) % ${#RUNNERS[@]}))]}"
      case $runner in
        floor) v="$(times_floor "$t")" ;;
        cold) v="$(times_http "$COLD_PORT" "$t")" ;;
        warm) v="$(times_http "$WARM_PORT" "$t")" ;;
        nginx) v="$(times_http "$NGINX_PORT" "$t")" ;;
      esac
      [[ $(wc -l <<<"$v") == "$PER_ROUND" ]] || die "$runner $t: expected $PER_ROUND timings, got: $v"
      MS[$runner/$t]+="$(tr '\n' ' ' <<<"$v")"
    done
  done
  log "${TPATH[$t]}: floor $(stats "${MS[floor/$t]}" | cut -d' ' -f1) ms, cold $(stats "${MS[cold/$t]}" | cut -d' ' -f1) ms, warm $(stats "${MS[warm/$t]}" | cut -d' ' -f1) ms, nginx $(stats "${MS[nginx/$t]}" | cut -d' ' -f1) ms"
done

# ---- throughput: warm server against nginx -------------------------------------------------
wrk_run() { # PORT TILE DURATION OUT
  bench_spawn wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency -H "$AUTH" \
    "http://127.0.0.1:$1/api/v1/tiles/${TPATH[$2]}.mvt" >"$4" 2>&1
  bench_wait "$BENCH_LAST" || { cat "$4" >&2; die "wrk failed ($2 on port $1)"; }
}
declare -A RPS=()
BAD_TOTAL=0
LOAD_WRK="$(loadavg)"
for t in "${TILES[@]}"; do
  wrk_run "$WARM_PORT" "$t" 2s "$WORK/warm-up.out"
  wrk_run "$NGINX_PORT" "$t" 2s "$WORK/warm-up.out"
  for ((r = 0; r < WRK_RUNS; r++)); do
    for ((k = 0; k < 2; k++)); do
      if (((r + k) % 2 == 0)); then runner=warm port=$WARM_PORT; else runner=nginx port=$NGINX_PORT; fi
      wrk_run "$port" "$t" "$DURATION" "$WORK/wrk.out"
      read -r rps _ _ n bad err < <(bench_parse_wrk "$WORK/wrk.out")
      # No answer at all is a failure, not a figure: say what the server said.
      if ((n == 0)); then
        cat "$WORK/wrk.out" >&2
        [[ $runner == warm ]] && tail -n 40 "$WORK/warm/server.log" >&2
        die "$runner answered no request for ${TPATH[$t]} in $DURATION"
      fi
      RPS[$runner/$t]+="$rps "
      BAD_TOTAL=$((BAD_TOTAL + bad + err))
    done
  done
  log "${TPATH[$t]}: warm $(stats "${RPS[warm/$t]}" | cut -d' ' -f1) req/s, nginx $(stats "${RPS[nginx/$t]}" | cut -d' ' -f1) req/s"
done
if ! bench_alive "$COLD_PID" || ! bench_alive "$WARM_PID"; then die "a server died during the runs"; fi

# ---- where the z6 tile's time goes ---------------------------------------------------------
PLAN="$({
  echo "SET plan_cache_mode = force_custom_plan;"
  echo "SET jit = off;"
  echo "PREPARE q AS ${SQL[obs6]};"
  echo '\o /dev/null'
  echo "EXECUTE q(${ARGS[obs6]});"
  echo '\o'
  echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE q(${ARGS[obs6]});"
} | bench_psql -At)"
IN_Z6="$(bench_psql -At -c "SELECT count(*) FROM observations WHERE location && ST_MakeEnvelope($(cut -d, -f2-5 <<<"${ARGS[obs6]}"), 4326) AND status <> 'rejected'")"
LOAD_END="$(loadavg)"

# ---- report --------------------------------------------------------------------------------
declare -A MED=() LO=() HI=()
for key in "${!MS[@]}"; do read -r "MED[$key]" "LO[$key]" "HI[$key]" < <(stats "${MS[$key]}"); done
for key in "${!RPS[@]}"; do read -r "MED[rps/$key]" "LO[rps/$key]" "HI[rps/$key]" < <(stats "${RPS[$key]}"); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cell() { echo "**$(fmt "${MED[$1]}" "$2")** ($(fmt "${LO[$1]}" "$2")–$(fmt "${HI[$1]}" "$2"))"; }
declare -A LABEL=([obs6]='observations 6/38/21' [obs10]='observations 10/616/344'
  [obs14]='observations 14/9857/5513' [countries]='countries 6/38/21' [oblasts]='oblasts 6/38/21'
  [border]='border 6/38/21' [places]='places 6/38/21')
MISSED_COLD=() MISSED_WARM=()
for t in "${TILES[@]}"; do
  awk -v a="${MED[cold/$t]}" -v b="${MED[floor/$t]}" 'BEGIN { exit !(a / b <= 1.3) }' || MISSED_COLD+=("${LABEL[$t]}")
  awk -v a="${MED[rps/warm/$t]}" -v b="${MED[rps/nginx/$t]}" 'BEGIN { exit !(a / b >= 0.5) }' || MISSED_WARM+=("${LABEL[$t]}")
done
G_Z6_MS="$(awk -v v="${MED[cold/obs6]}" 'BEGIN { print (v < 100) ? "met" : "NOT met" }')"
G_Z6_KB="$( ((BYTES[obs6] < 50 * 1024)) && echo met || echo "NOT met")"
NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
WRK_VERSION="$( (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }')"
list_or_none() { if (($#)); then local IFS=';'; echo "NOT met for: ${*//;/; }"; else echo "met for every tile"; fi; }

report() {
  echo "Command: \`${BENCH_ENV:-}bench/tiles.sh\` (with \`bench/run tiles\`), $(date -u +%Y-%m-%d), commit $(bench_commit)."
  echo
  echo "Machine: $(bench_machine); PostgreSQL $PG_VERSION, PostGIS $POSTGIS_VERSION (shipped settings of \`scripts/pg\`), wrk $WRK_VERSION, nginx $NGINX_VERSION."
  echo "The cores are shared with other work (everything under \`nice -n 19\`). Load average (1/5/15 min): at the start $LOAD_START;"
  echo "at the setup $LOAD_FILL; at the latency runs $LOAD_LAT; at the wrk runs $LOAD_WRK; at the end $LOAD_END."
  echo
  echo "**Setup (not measured):** $ROWS observations by one \`INSERT … SELECT generate_series\` in psql (user triggers"
  echo "off, secondary indexes dropped and made again, \`VACUUM (ANALYZE)\`): $FILL_S s, $TABLE_SIZE. All of them lie in tile"
  echo "6/38/21 ($IN_Z6 not rejected, which the tile draws); 10/616/344 is Belgorod and its surroundings, 14/9857/5513 its centre."
  echo
  echo "**Latency**, ms, median (min–max) of $((RUNS * PER_ROUND)) requests ($RUNS rounds of $PER_ROUND, runners in turn). *floor*: the"
  echo "server's SQL of the tile in psql (psql timing, prepared, custom plans, after one untimed execution;"
  echo "it returns the server's bytes, checked). *cold*: a server with \`tile_cache_mb = 0\` (every request"
  echo "builds the tile; PostgreSQL's own buffers are as warm as the floor's). *warm*: the shipped tile"
  echo "cache, the tile requested before. *nginx*: the same bytes as a static file. curl on one keep-alive connection."
  echo
  echo "| tile | bytes | floor (psql) | cold | cold / floor | warm | nginx |"
  echo "|---|---|---|---|---|---|---|"
  for t in "${TILES[@]}"; do
    echo "| ${LABEL[$t]} | ${BYTES[$t]} | $(cell "floor/$t" 2) | $(cell "cold/$t" 2) | **$(ratio "${MED[cold/$t]}" "${MED[floor/$t]}")×** | $(cell "warm/$t" 2) | $(cell "nginx/$t" 2) |"
  done
  echo
  echo "**Throughput, warm:** \`wrk -t$THREADS -c$CONNECTIONS -d$DURATION\`, requests/s, median (min–max) of $WRK_RUNS runs per runner"
  echo "and tile, alternating, after 2 s of warm-up each."
  echo
  echo "| tile | convoywatch (cached) | nginx (static file) | server / nginx |"
  echo "|---|---|---|---|"
  for t in "${TILES[@]}"; do
    echo "| ${LABEL[$t]} | $(cell "rps/warm/$t" 0) | $(cell "rps/nginx/$t" 0) | **$(ratio "${MED[rps/warm/$t]}" "${MED[rps/nginx/$t]}")×** |"
  done
  echo
  echo "Goals (issue 19):"
  echo "- cold within 1.3× of the floor: $(list_or_none "${MISSED_COLD[@]}")"
  echo "- warm ≥ 0.5× nginx's requests/s: $(list_or_none "${MISSED_WARM[@]}")"
  echo "- the z6 observations tile over $ROWS rows under 100 ms cold: **$(fmt "${MED[cold/obs6]}" 1) ms**, $G_Z6_MS; under 50 KB: **${BYTES[obs6]} bytes**, $G_Z6_KB"
  echo "- requests that were not 2xx, or socket errors, in the wrk runs: $BAD_TOTAL"
  echo
  echo "<details><summary>EXPLAIN (ANALYZE, BUFFERS) of the z6 observations tile (the floor's SQL)</summary>"
  echo
  echo '```'
  echo "$PLAN"
  echo '```'
  echo "</details>"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
((BAD_TOTAL == 0)) || die "some requests failed (non-2xx or socket errors)"
