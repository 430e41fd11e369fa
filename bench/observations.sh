#!/usr/bin/env bash
# bench/observations.sh: the observation store against a real `convoywatch serve` (Release) on a
# private PostgreSQL 15 + PostGIS cluster with the reference geodata (data/geodata) loaded:
#   1. bulk import: POST /api/v1/observations/import of a generated CSV (SMALL_ROWS rows RUNS
#      times, BIG_ROWS rows once), next to the peer `psql \copy` of the same rows into a plain
#      table with typed columns; the server's memory during the big import; the same big import
#      once against a server with the default statement timeout; the cost of
#      observation_derived() per row by distance to the border; the floors under any import into
#      the table: the imported rows with their derived values stored again without the
#      derivation, by \copy into a table with the observations' indexes and by INSERT … SELECT
#      into observations itself (indexes, foreign keys, rollup triggers)
#   2. a list with a bbox and a one-week time range over FILL_ROWS rows (ms), with the
#      EXPLAIN (ANALYZE, BUFFERS) plan of the server's SQL (taken from store/observations.cpp)
#   3. a GeoJSON export of EXPORT_ROWS features (MB/s)
#   4. GET /api/v1/aggregates/observations over the FILL_ROWS rows (a month by day by oblast and
#      others), answered from the rollup tables and, forced by a world-wide bbox, by a scan of
#      the observations (both answers compared); then POST /api/v1/reports of a daily report over
#      a day with REPORT_ROWS verified observations added to the FILL_ROWS
#
#   bench/observations.sh [--markdown FILE]     prints the block; FILE gets the Markdown block
#                                               that bench/run puts into bench/README.md
# Environment: RUNS (5) timed runs of the small import, of each \copy, of each list and of the
#              export; SMALL_ROWS (50000); BIG_ROWS (1000000); FILL_ROWS (10000000);
#              EXPORT_ROWS (100000); REPORT_ROWS (100000); CW_BENCH_DIR (/var/tmp) where the cluster and the files go;
#              CW_BIN a prebuilt convoywatch (else the Release build is brought up to date).
# The CSV is generated (python3, fixed seed): 85 % of the points within a few tens of km of the
# Russian or Belarusian land border of Ukraine east of 30° E (distance exponential, mean 40 km),
# 15 % uniform over 30–40° E, 46–53° N; observed over 2022-01-01 … 2022-04-30.
# The FILL_ROWS rows of the list and export are written with SQL (INSERT … SELECT
# generate_series): the same kind of points, ids in the order of observed_at (entered as they
# happen), derived columns copied from observation_derived() of the centre of the 0.25° cell
# of each point (computed once per cell, not per row).
# Needs root or the postgres setup of scripts/pg, python3, curl, about 12 GB free under
# CW_BENCH_DIR. Takes 20–30 minutes on 2 shared cores (the big import alone 7–10).
# Removes everything it started or wrote on exit. Not part of scripts/test or CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"
SMALL_ROWS="${SMALL_ROWS:-50000}"
BIG_ROWS="${BIG_ROWS:-1000000}"
FILL_ROWS="${FILL_ROWS:-10000000}"
EXPORT_ROWS="${EXPORT_ROWS:-100000}"
REPORT_ROWS="${REPORT_ROWS:-100000}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"

# The list's area and weeks, the export's area and month (data: 2022-01-01 … 2022-04-30).
BBOX="35.5,49.5,38.5,51.5" # Belgorod, Kharkiv, Valuyki, Kupiansk: about 215 × 220 km
LAST_WEEK=(2022-04-24T00:00:00Z 2022-05-01T00:00:00Z)
MID_WEEK=(2022-03-01T00:00:00Z 2022-03-08T00:00:00Z)
EXPORT_RANGE=(2022-04-01T00:00:00Z 2022-05-01T00:00:00Z)

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"

for v in RUNS SMALL_ROWS BIG_ROWS FILL_ROWS EXPORT_ROWS REPORT_ROWS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((EXPORT_ROWS <= 1000000)) || die "EXPORT_ROWS must be at most 1000000 (the server's export limit)"
((SMALL_ROWS <= BIG_ROWS)) || die "SMALL_ROWS must not exceed BIG_ROWS"

# ---- clean-up of everything this script starts or writes -----------------------------------
WORK=""
PG_DIR=""
SERVER_PIDS=()
SAMPLER_PID=""
POLL_PID=""
cleanup() {
  local rc=$?
  set +e
  [[ -n $POLL_PID ]] && kill "$POLL_PID" 2>/dev/null && wait "$POLL_PID" 2>/dev/null
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  for pid in "${SERVER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -n $PG_DIR ]]; then
    CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" stop >/dev/null 2>&1
    rm -rf -- "$PG_DIR"
  fi
  [[ -n $WORK ]] && rm -rf -- "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T_START="${EPOCHREALTIME/,/.}"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average at start: $LOAD_START"

# ---- tools ---------------------------------------------------------------------------------
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
bench_convoywatch

mkdir -p -- "$BENCH_DIR"
WORK="$(mktemp -d "$BENCH_DIR/cw-bench-obs.XXXXXX")"
free_kib="$(df -Pk -- "$WORK" | awk 'NR == 2 { print $4 }')"
need_kib=$((2 * FILL_ROWS + BIG_ROWS * 6 / 10 + 2 * 1024 * 1024)) # about 1 KiB a filled row, WAL included, and as much for the rollup trigger's transition table
((free_kib > need_kib)) || die "$BENCH_DIR needs $((need_kib / 1024 / 1024)) GiB free, has $((free_kib / 1024 / 1024)) GiB"

now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- PostgreSQL, schema, geodata, a user ---------------------------------------------------
PG_DIR="$(mktemp -d "$BENCH_DIR/cw-bench-obs-pg.XXXXXX")"
CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" start >/dev/null 2>&1 || die "the private PostgreSQL did not start"
DB_URL="$(CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" url)"
PG_VERSION="$(CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" psql -X -At -c 'SHOW server_version' | cut -d' ' -f1)"
# shellcheck disable=SC2016 # $$ is SQL's dollar quoting
POSTGIS_VERSION="$(CW_PG_DIR="$PG_DIR" "$ROOT/scripts/pg" psql -X -At -c 'SELECT extversion FROM pg_extension WHERE extname = $$postgis$$')"
# psql_db ARGS...: psql on the benchmark database, quiet, stopping at the first error.
psql_db() {
  CW_PG_DIR="$PG_DIR" PGOPTIONS='-c client_min_messages=warning' \
    "$ROOT/scripts/pg" psql -X -q -v ON_ERROR_STOP=1 "$@"
}
# Migrated by the owner, which creates the application role the servers run as (APP_DB_URL).
bench_migrate "$PG_DIR"
CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" geodata load \
  --dir "$ROOT/data/geodata" >/dev/null 2>&1 || die "convoywatch geodata load failed"
TOKEN="$(CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" user add --create-org --name bench --org bench --role contributor)"
[[ $TOKEN == cw_* ]] || die "convoywatch user add printed no token"
read -r USER_ID ORG_ID < <(psql_db -At -F' ' -c "SELECT id, org_id FROM users WHERE name = 'bench'")
ANALYST="$(CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" user add --create-org --name bench-analyst --org bench --role analyst)"
[[ $ANALYST == cw_* ]] || die "convoywatch user add printed no analyst token"

# start_server NAME STATEMENT_TIMEOUT_MS [LOG_LEVEL]: sets SPID and SPORT; the pid joins
# SERVER_PIDS.
start_server() {
  local name="$1" timeout_ms="$2" level="${3:-warn}"
  CONVOYWATCH_DATABASE_URL="$APP_DB_URL" \
    CONVOYWATCH_DATABASE_STATEMENT_TIMEOUT_MS="$timeout_ms" \
    CONVOYWATCH_STORAGE_ROOT="$WORK/media" \
    CONVOYWATCH_SERVER_LISTEN=127.0.0.1:0 \
    CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 \
    CONVOYWATCH_PIPELINE_WORKERS=0 \
    CONVOYWATCH_REPORTS_SCHEDULER=false \
    CONVOYWATCH_LOG_LEVEL="$level" \
    "$BIN" serve --port-file "$WORK/$name.port" >"$WORK/$name.log" 2>&1 &
  SPID=$!
  SERVER_PIDS+=("$SPID")
  for _ in $(seq 100); do
    [[ -s $WORK/$name.port ]] && break
    kill -0 "$SPID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "convoywatch serve ($name) exited"; }
    sleep 0.1
  done
  SPORT="$(<"$WORK/$name.port")"
  curl -fsS -o /dev/null "http://127.0.0.1:$SPORT/healthz" || die "the server ($name) does not answer /healthz"
}
# "default": the shipped configuration (statement_timeout 30 s) for the list and the export;
# "import": statement_timeout 0, which a big import needs (see 1a); "probe": the shipped
# configuration again, for the one try of the big import (its own process, so the memory it
# keeps afterwards does not blur the export's figures), stopped after it.
start_server default 30000 info
DEF_PID=$SPID DEF_PORT=$SPORT
start_server import 0
IMP_PID=$SPID IMP_PORT=$SPORT
start_server probe 30000
PROBE_PID=$SPID PROBE_PORT=$SPORT
DEF_URL="http://127.0.0.1:$DEF_PORT/api/v1/observations"
IMP_URL="http://127.0.0.1:$IMP_PORT/api/v1/observations"
PROBE_URL="http://127.0.0.1:$PROBE_PORT/api/v1/observations"

# ---- the CSV -------------------------------------------------------------------------------
# Points every ~2 km along the border lines east of 30° E, for both generators.
psql_db <<'SQL'
CREATE TABLE bench_border AS
  SELECT row_number() OVER () AS n, ST_X(p) AS lon, ST_Y(p) AS lat
  FROM (SELECT (ST_DumpPoints(ST_LineInterpolatePoints(l, least(1.0, 0.02 / ST_Length(l))))).geom p
        FROM (SELECT (ST_Dump(geom)).geom l FROM geo_border) d WHERE ST_Length(l) > 0) x
  WHERE ST_X(p) >= 30;
CREATE UNIQUE INDEX ON bench_border (n);
ANALYZE bench_border;
SQL
psql_db -At -F, -c 'SELECT lon, lat FROM bench_border ORDER BY n' >"$WORK/border.txt"
N_BORDER="$(wc -l <"$WORK/border.txt")"
((N_BORDER > 100)) || die "only $N_BORDER border points: is the geodata loaded?"

cat >"$WORK/gen.py" <<'PY'
import datetime, math, random, sys
n, seed, border_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(seed)
border = [tuple(map(float, l.split(","))) for l in open(border_file) if l.strip()]
W, S, E, N = 30.0, 46.0, 40.0, 53.0
def point():
    if rnd.random() < 0.15:
        return W + rnd.random() * (E - W), S + rnd.random() * (N - S)
    while True:
        lon0, lat0 = rnd.choice(border)
        d = min(rnd.expovariate(1 / 40.0), 250.0)
        a = rnd.random() * 2 * math.pi
        lat = lat0 + d * math.cos(a) / 111.2
        lon = lon0 + d * math.sin(a) / (111.2 * math.cos(math.radians(lat0)))
        if W <= lon <= E and S <= lat <= N:
            return lon, lat
t0 = datetime.datetime(2022, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
span = 120 * 86400
types = ["tank", "ifv", "apc", "sp_artillery", "towed_artillery", "mlrs", "air_defense", "truck",
         "fuel_truck", "engineering", "command", "medical", "helicopter", "other"]
weights = [8, 10, 8, 5, 4, 3, 2, 25, 6, 4, 3, 2, 1, 2]
tps = ["exact"] * 6 + ["hour"] * 3 + ["day"]
lps = ["exact"] * 2 + ["vicinity"] * 4 + ["locality"] * 3 + ["region"]
marks = ["", "", "", "Z", "V", "Z;V", "O", "X"]
notes = ["", "", "", "column on the highway", "parked in a field", "moving at night",
         "near the railway station"]
srcs = ["", "", "telegram", "tiktok", "twitter", "local resident"]
w = sys.stdout.write
w("observed_at,time_precision,lat,lon,location_precision,heading_deg,equipment,markings,notes,source_note\n")
for _ in range(n):
    ts = datetime.datetime.fromtimestamp(t0 + rnd.random() * span, datetime.timezone.utc)
    lon, lat = point()
    hd = "" if rnd.random() < 0.25 else "%.1f" % (rnd.random() * 359.9)
    k = rnd.choice((1, 1, 1, 2, 2, 3))
    eq = ";".join("%s:%d" % (t, rnd.randint(1, 20))
                  for t in dict.fromkeys(rnd.choices(types, weights, k=k)))
    w("%s,%s,%.5f,%.5f,%s,%s,%s,%s,%s,%s\n" % (
        ts.strftime("%Y-%m-%dT%H:%M:%SZ"), rnd.choice(tps), lat, lon, rnd.choice(lps), hd, eq,
        rnd.choice(marks), rnd.choice(notes), rnd.choice(srcs)))
PY
log "generating $BIG_ROWS observations (CSV)"
BIG_CSV="$WORK/big.csv"
SMALL_CSV="$WORK/small.csv"
python3 "$WORK/gen.py" "$BIG_ROWS" 1 "$WORK/border.txt" >"$BIG_CSV"
head -n $((SMALL_ROWS + 1)) "$BIG_CSV" >"$SMALL_CSV"
BIG_BYTES="$(stat -c %s "$BIG_CSV")"
SAMPLE_LINE="$(sed -n 2p "$BIG_CSV")"

psql_db <<'SQL'
CREATE TABLE bench_peer (observed_at timestamptz, time_precision text, lat float8, lon float8,
                         location_precision text, heading_deg float8, equipment text,
                         markings text, notes text, source_note text);
SQL

# stats: values on stdin -> "median min max" (the mean of the middle two for an even count).
stats() {
  awk 'NF' | sort -g | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%s %s %s\n", m, v[1], v[NR] }'
}
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }
triple() { # "median min max", decimals -> "**median** (min–max)"
  local med min max
  read -r med min max <<<"$1"
  echo "**$(fmt "$med" "$2")** ($(fmt "$min" "$2")–$(fmt "$max" "$2"))"
}
json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$1" "$2"; }
count_rows() { psql_db -At -c 'SELECT count(*) FROM observations'; }

# import URL CSV RESPONSE: prints "code seconds".
import() {
  curl -sS -o "$3" -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: text/csv' --data-binary "@$2" "$1/import"
}
# peer_copy CSV: prints the ms psql reports for `\copy bench_peer FROM CSV` into the emptied table.
peer_copy() {
  psql_db -c 'TRUNCATE bench_peer' -c '\timing on' \
    -c "\\copy bench_peer FROM '$1' WITH (FORMAT csv, HEADER true)" | awk '/^Time:/ { print $2 }'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
start_sampler() { # start_sampler PID FILE: VmRSS every 100 ms
  local pid="$1"
  (
    while :; do
      while read -r key value _; do
        [[ $key == VmRSS: ]] && printf '%s\n' "$value"
      done <"/proc/$pid/status"
      sleep 0.1
    done
  ) >"$2" &
  SAMPLER_PID=$!
}
stop_sampler() {
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

# ---- 1. bulk import ------------------------------------------------------------------------
LOAD_IMPORT="$(loadavg)"
T_IMPORT="$(now)"

# 1a. The big file against the shipped configuration (statement_timeout 30 s).
log "import: $BIG_ROWS rows against the default configuration (statement_timeout 30 s)"
read -r PROBE_CODE PROBE_S < <(import "$PROBE_URL" "$BIG_CSV" "$WORK/probe.json")
if [[ $PROBE_CODE == 201 ]]; then
  PROBE_DETAIL="imported"
else
  PROBE_DETAIL="$(json_field "$WORK/probe.json" detail 2>/dev/null || head -c 300 "$WORK/probe.json")"
fi
PROBE_LEFT="$(count_rows)"
kill -TERM "$PROBE_PID"
wait "$PROBE_PID" 2>/dev/null || true
SERVER_PIDS=("$DEF_PID" "$IMP_PID")
log "  answered $PROBE_CODE after $PROBE_S s: $PROBE_DETAIL; rows in the table after it: $PROBE_LEFT"
psql_db -c 'TRUNCATE observations CASCADE'

# 1b. RUNS small imports and RUNS \copy of the same rows and of the big file, alternating.
SMALL_TIMES=""
PEER_SMALL_MS=""
PEER_BIG_MS=""
for ((r = 1; r <= RUNS; r++)); do
  log "import round $r of $RUNS"
  psql_db -c 'TRUNCATE observations CASCADE'
  read -r code secs < <(import "$IMP_URL" "$SMALL_CSV" "$WORK/small.json")
  [[ $code == 201 ]] || { cat "$WORK/small.json" >&2; die "the $SMALL_ROWS-row import answered $code"; }
  [[ "$(json_field "$WORK/small.json" imported)" == "$SMALL_ROWS" ]] || die "the import did not take $SMALL_ROWS rows"
  [[ "$(count_rows)" == "$SMALL_ROWS" ]] || die "the table does not hold $SMALL_ROWS rows after the import"
  SMALL_TIMES+="$secs"$'\n'
  ms_small="$(peer_copy "$SMALL_CSV")"
  ms_big="$(peer_copy "$BIG_CSV")"
  [[ "$(psql_db -At -c 'SELECT count(*) FROM bench_peer')" == "$BIG_ROWS" ]] || die "\\copy did not load $BIG_ROWS rows"
  PEER_SMALL_MS+="$ms_small"$'\n'
  PEER_BIG_MS+="$ms_big"$'\n'
  log "  import $SMALL_ROWS: $secs s; \\copy $SMALL_ROWS: $ms_small ms; \\copy $BIG_ROWS: $ms_big ms"
done

# 1c. The big import once, the server's memory sampled.
log "import: $BIG_ROWS rows once (statement_timeout 0), VmRSS every 100 ms"
psql_db -c 'TRUNCATE observations CASCADE'
BIG_RSS_START="$(rss_kib "$IMP_PID")"
# Where the time goes: the import's transaction start and the start of its INSERT … SELECT,
# from pg_stat_activity (polled every 0.5 s until the INSERT shows).
poll_insert_start() {
  local line
  for _ in $(seq 7200); do
    line="$(psql_db -At -F' ' -c "SELECT extract(epoch FROM xact_start), extract(epoch FROM query_start) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE '%WITH ins AS%INSERT INTO observations%'" 2>/dev/null || true)"
    if [[ -n $line ]]; then
      echo "$line"
      return 0
    fi
    sleep 0.5
  done
}
poll_insert_start >"$WORK/phases.txt" &
POLL_PID=$!
start_sampler "$IMP_PID" "$WORK/rss-import.txt"
T_BIG="$(now)"
read -r BIG_CODE BIG_S < <(import "$IMP_URL" "$BIG_CSV" "$WORK/big.json")
stop_sampler
kill "$POLL_PID" 2>/dev/null || true
wait "$POLL_PID" 2>/dev/null || true
read -r XACT_START INSERT_START <"$WORK/phases.txt" || true
if [[ -n ${INSERT_START:-} ]]; then
  PH_PARSE="$(awk -v a="$T_BIG" -v b="$XACT_START" 'BEGIN { printf "%.1f", b - a }')"
  PH_COPY="$(awk -v a="$XACT_START" -v b="$INSERT_START" 'BEGIN { printf "%.1f", b - a }')"
  PH_INSERT="$(awk -v a="$INSERT_START" -v b="$T_BIG" -v s="$BIG_S" 'BEGIN { printf "%.1f", b + s - a }')"
  PHASES="upload and parsing until the transaction starts $PH_PARSE s, \`CREATE TEMP TABLE\` + \`COPY\` of the parsed rows $PH_COPY s, the \`INSERT … SELECT\` with the derivation, the audit row and the commit $PH_INSERT s (from \`pg_stat_activity\`, ±0.5 s)"
else
  PHASES="(the phases could not be read from pg_stat_activity)"
fi
[[ $BIG_CODE == 201 ]] || { cat "$WORK/big.json" >&2; die "the $BIG_ROWS-row import answered $BIG_CODE"; }
[[ "$(json_field "$WORK/big.json" imported)" == "$BIG_ROWS" ]] || die "the big import did not take $BIG_ROWS rows"
[[ "$(count_rows)" == "$BIG_ROWS" ]] || die "the table does not hold $BIG_ROWS rows after the big import"
BIG_RSS_PEAK="$(sort -n "$WORK/rss-import.txt" | tail -n 1)"
BIG_RSS_END="$(rss_kib "$IMP_PID")"
log "  $BIG_S s, server VmRSS $BIG_RSS_START -> peak $BIG_RSS_PEAK KiB"

# 1d. What the derivation costs, by distance to the border: 1000 imported rows per band,
# observation_derived() alone in SQL; and how the big file's rows fall into the bands.
log "derivation cost by distance to the border"
BANDS=("0 25" "25 100" "100 250" "250 100000")
BAND_ROWS=()
BAND_MS=()
BAND_N=()
for band in "${BANDS[@]}"; do
  read -r lo hi <<<"$band"
  BAND_ROWS+=("$(psql_db -At -c "SELECT count(*) FROM observations WHERE km_to_border >= $lo AND km_to_border < $hi")")
  # prints the sample's row count (the SELECT's result) and psql's "Time: X ms"
  read -r n ms < <(psql_db -At -c "CREATE TEMP TABLE s AS SELECT location, heading_deg FROM observations WHERE km_to_border >= $lo AND km_to_border < $hi LIMIT 1000" \
    -c '\timing on' -c 'SELECT count(d.movement) FROM s CROSS JOIN LATERAL observation_derived(s.location, s.heading_deg) d' |
    awk '/^Time:/ { t = $2; next } /^[0-9]+$/ { n = $1 } END { print n + 0, t + 0 }')
  if ((n > 0)); then
    BAND_MS+=("$(awk -v m="$ms" -v n="$n" 'BEGIN { printf "%.3f", m / n }')")
  else
    BAND_MS+=(0)
  fi
  BAND_N+=("$n")
done
# 1e. The floor under any import into this table: the big import's own rows with the values it
# derived, (i) `\copy`'d into a table with the observations' columns, constraints and indexes
# (no triggers, no foreign keys), (ii) put into the emptied observations by `INSERT … SELECT`
# (its indexes, foreign keys and rollup triggers: everything the import does but the parsing and
# the derivation). RUNS times for SMALL_ROWS rows, alternating, and once for BIG_ROWS rows.
log "floors: the imported rows again, without the derivation"
N_INDEXES="$(psql_db -At -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations'")"
OBS_COLS="$(psql_db -At -c "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'observations' AND column_name <> 'id'")"
psql_db -c 'CREATE TABLE bench_derived AS SELECT * FROM observations ORDER BY id' \
  -c 'CREATE TABLE bench_floor (LIKE observations INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)' \
  -c "\\copy (SELECT * FROM bench_derived ORDER BY id LIMIT $SMALL_ROWS) TO '$WORK/derived-small.csv' WITH (FORMAT csv)" \
  -c "\\copy (SELECT * FROM bench_derived ORDER BY id) TO '$WORK/derived-big.csv' WITH (FORMAT csv)"
# floor_copy CSV / floor_insert ROWS: the ms psql reports for the one timed statement.
floor_copy() {
  psql_db -c 'TRUNCATE bench_floor' -c '\timing on' \
    -c "\\copy bench_floor FROM '$1' WITH (FORMAT csv)" | awk '/^Time:/ { t = $2 } END { print t }'
}
floor_insert() {
  psql_db -c 'TRUNCATE observations CASCADE' -c '\timing on' \
    -c "INSERT INTO observations ($OBS_COLS) SELECT $OBS_COLS FROM bench_derived ORDER BY id LIMIT $1" |
    awk '/^Time:/ { t = $2 } END { print t }'
}
FLOOR_COPY_SMALL_MS=""
FLOOR_INSERT_SMALL_MS=""
for ((r = 1; r <= RUNS; r++)); do
  ms_copy="$(floor_copy "$WORK/derived-small.csv")"
  ms_insert="$(floor_insert "$SMALL_ROWS")"
  [[ "$(count_rows)" == "$SMALL_ROWS" ]] || die "the floor insert did not store $SMALL_ROWS rows"
  FLOOR_COPY_SMALL_MS+="$ms_copy"$'\n'
  FLOOR_INSERT_SMALL_MS+="$ms_insert"$'\n'
  log "  floor round $r: \\copy $SMALL_ROWS derived rows $ms_copy ms; INSERT … SELECT $ms_insert ms"
done
FLOOR_COPY_BIG_MS="$(floor_copy "$WORK/derived-big.csv")"
FLOOR_INSERT_BIG_MS="$(floor_insert "$BIG_ROWS")"
[[ "$(count_rows)" == "$BIG_ROWS" ]] || die "the floor insert did not store $BIG_ROWS rows"
log "  $BIG_ROWS rows: \\copy $FLOOR_COPY_BIG_MS ms; INSERT … SELECT $FLOOR_INSERT_BIG_MS ms"
psql_db -c 'DROP TABLE bench_floor, bench_derived'
rm -f -- "$WORK/derived-small.csv" "$WORK/derived-big.csv"
IMPORT_SECONDS="$(since "$T_IMPORT")"

# ---- 2. FILL_ROWS rows with SQL ------------------------------------------------------------
LOAD_FILL="$(loadavg)"
T_FILL="$(now)"
log "filling observations with $FILL_ROWS rows (SQL)"
psql_db -c 'TRUNCATE observations RESTART IDENTITY CASCADE'
# The table's own secondary indexes, dropped for the fill and made again from their definitions.
INDEX_DEFS="$(psql_db -At -c "SELECT indexdef || ';' FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations' AND indexname <> 'observations_pkey' ORDER BY indexname")"
INDEX_NAMES="$(psql_db -At -c "SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations' AND indexname <> 'observations_pkey'")"
psql_db <<'SQL'
CREATE TABLE bench_cells AS
  SELECT cx, cy, d.country, d.oblast, d.place_name, d.place_km, d.km_to_border, d.bearing_deg
  FROM generate_series(0, 39) cx CROSS JOIN generate_series(0, 27) cy
  CROSS JOIN LATERAL observation_derived(
    ST_SetSRID(ST_MakePoint(30.125 + cx * 0.25, 46.125 + cy * 0.25), 4326), NULL) d;
CREATE UNIQUE INDEX ON bench_cells (cx, cy);
ANALYZE bench_cells;
SQL
# fill_rows ROWS START DAYS BACK_HOURS STATUS: ROWS generated observations with ids in time
# order (entered as they happen, 0–10 h after), spread evenly over DAYS days from START and then
# moved back in time by an exponential lag (mean 24 h, at most BACK_HOURS); 85 % of the points
# near the border as in the CSV, derived columns from the point's 0.25° cell; STATUS is a status
# for every row or `mix` (80 % unverified, 12 % verified, 4 % disputed, 4 % rejected).
fill_rows() {
  psql_db -v rows="$1" -v start="$2" -v days="$3" -v back="$4" -v status="$5" -v uid="$USER_ID" \
    -v org="$ORG_ID" -v nborder="$N_BORDER" <<'SQL'
INSERT INTO observations (created_by, org_id, observed_at, time_precision, location,
                          location_precision, heading_deg, equipment, equipment_types, vehicles,
                          markings, notes, source_note, status, country, oblast, nearest_place,
                          nearest_place_km, km_to_border, bearing_to_border, movement, created_at,
                          updated_at)
SELECT :uid, :org, p.t, p.tp, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.lp, p.heading,
       CASE WHEN p.two THEN jsonb_build_array(jsonb_build_object('type', p.t1, 'count', p.c1),
                                              jsonb_build_object('type', p.t2, 'count', p.c2))
            ELSE jsonb_build_array(jsonb_build_object('type', p.t1, 'count', p.c1)) END,
       CASE WHEN NOT p.two OR p.t1 = p.t2 THEN ARRAY[p.t1]
            WHEN p.t1 < p.t2 THEN ARRAY[p.t1, p.t2] ELSE ARRAY[p.t2, p.t1] END,
       p.c1 + CASE WHEN p.two THEN p.c2 ELSE 0 END,
       p.markings, p.notes, p.source_note, p.status,
       c.country, c.oblast, c.place_name, c.place_km, c.km_to_border, c.bearing_deg,
       CASE WHEN c.km_to_border IS NULL THEN 'unknown'
            WHEN p.heading IS NULL THEN 'stationary'
            WHEN c.bearing_deg IS NULL THEN 'unknown'
            WHEN abs(mod((p.heading - c.bearing_deg + 540)::numeric, 360) - 180) <= 60 THEN 'toward'
            WHEN abs(mod((p.heading - c.bearing_deg + 540)::numeric, 360) - 180) >= 120 THEN 'away'
            ELSE 'parallel' END,
       p.t + p.lag, p.t + p.lag
FROM (
  SELECT q.*,
         greatest(30.0, least(40.0, CASE WHEN q.near
                                         THEN b.lon + q.d * sin(q.a) / (111.2 * cos(radians(b.lat)))
                                         ELSE 30 + 10 * q.ux END)) AS lon,
         greatest(46.0, least(53.0, CASE WHEN q.near THEN b.lat + q.d * cos(q.a) / 111.2
                                         ELSE 46 + 7 * q.uy END)) AS lat
  FROM (
    SELECT i,
           :'start'::timestamptz + interval '1 day' * :days * ((i - 1)::float8 / :rows)
             - interval '1 hour' * least(-24 * ln(1 - random()), :back) AS t,
           interval '1 minute' * floor(random() * 600) AS lag,
           (ARRAY['exact','exact','exact','exact','exact','exact','hour','hour','hour','day'])
             [1 + floor(random() * 10)::int] AS tp,
           (ARRAY['exact','exact','vicinity','vicinity','vicinity','vicinity','locality','locality',
                  'locality','region'])[1 + floor(random() * 10)::int] AS lp,
           CASE WHEN random() < 0.25 THEN NULL ELSE floor(random() * 3600) / 10 END AS heading,
           random() >= 0.15 AS near, 1 + floor(random() * :nborder)::int AS bn,
           least(-40 * ln(1 - random()), 250) AS d, 2 * pi() * random() AS a,
           random() AS ux, random() AS uy,
           (ARRAY['truck','truck','truck','truck','truck','tank','tank','ifv','ifv','apc','apc',
                  'sp_artillery','towed_artillery','mlrs','air_defense','fuel_truck','engineering',
                  'command','medical','other'])[1 + floor(random() * 20)::int] AS t1,
           (ARRAY['truck','truck','truck','truck','truck','tank','tank','ifv','ifv','apc','apc',
                  'sp_artillery','towed_artillery','mlrs','air_defense','fuel_truck','engineering',
                  'command','medical','helicopter'])[1 + floor(random() * 20)::int] AS t2,
           1 + floor(random() * 20)::int AS c1, 1 + floor(random() * 20)::int AS c2,
           random() < 0.4 AS two,
           (ARRAY['{}','{}','{}','{Z}','{V}','{Z,V}','{O}','{X}'])
             [1 + floor(random() * 8)::int]::text[] AS markings,
           (ARRAY[NULL, NULL, NULL, 'column on the highway', 'parked in a field',
                  'moving at night', 'near the railway station'])
             [1 + floor(random() * 7)::int] AS notes,
           (ARRAY[NULL, NULL, 'telegram', 'tiktok', 'twitter', 'local resident'])
             [1 + floor(random() * 6)::int] AS source_note,
           CASE WHEN :'status' <> 'mix' THEN :'status'
                WHEN random() < 0.80 THEN 'unverified'
                ELSE (ARRAY['verified', 'verified', 'verified', 'disputed', 'rejected'])
                       [1 + floor(random() * 5)::int] END AS status
    FROM generate_series(1, :rows) i) q
  JOIN bench_border b ON b.n = q.bn) p
JOIN bench_cells c ON c.cx = least(39, floor((p.lon - 30) / 0.25)::int)
                  AND c.cy = least(27, floor((p.lat - 46) / 0.25)::int);
SQL
}
psql_db -c "DROP INDEX $INDEX_NAMES"
T0="$(now)"
fill_rows "$FILL_ROWS" '2022-01-01 00:00:00+00' 120 336 mix
FILL_INSERT_S="$(since "$T0")"
T0="$(now)"
psql_db -c "SET maintenance_work_mem = '1GB'" -c "$INDEX_DEFS"
FILL_INDEX_S="$(since "$T0")"
T0="$(now)"
psql_db -c 'VACUUM (ANALYZE) observations'
FILL_VACUUM_S="$(since "$T0")"
FILL_COUNT="$(count_rows)"
[[ $FILL_COUNT == "$FILL_ROWS" ]] || die "the fill left $FILL_COUNT rows, not $FILL_ROWS"
TABLE_SIZE="$(psql_db -At -c "SELECT pg_size_pretty(pg_relation_size('observations')) || ' heap, ' || pg_size_pretty(pg_indexes_size('observations')) || ' indexes'")"
FILL_SECONDS="$(since "$T_FILL")"

# ---- 3. list and export --------------------------------------------------------------------
LOAD_LIST="$(loadavg)"
T_LIST="$(now)"
us() { echo "$(date -ud "$1" +%s)000000"; }
IFS=, read -r BW BS BE BN <<<"$BBOX"
# The server's SQL, from store/observations.cpp (kSelect + kFilters), as a prepared statement.
sql_literal() {
  awk -v name="$1" '
    index($0, "constexpr const char* " name " = R\"sql(") { f = 1; sub(/.*R"sql\(/, "") }
    f { if (index($0, ")sql\"")) { sub(/\)sql".*/, ""); print; exit } print }' "$ROOT/store/observations.cpp"
}
LIST_SQL="$(sql_literal kSelect; sql_literal kFilters)"
# shellcheck disable=SC2016 # $14 is the SQL parameter
grep -qF 'ORDER BY o.observed_at, o.id LIMIT $14' <<<"$LIST_SQL" || die "could not read kSelect + kFilters from store/observations.cpp"
# explain FROM TO LIMIT [SQL-BEFORE]: EXPLAIN (ANALYZE, BUFFERS) of the server's query with the
# parameters the server passes (limit + 1), after one untimed execution; the plan on stdout.
explain() {
  local args
  args="0, $BW, $BS, $BE, $BN, $(us "$1"), $(us "$2"), NULL, NULL, NULL, NULL, NULL, NULL, $(($3 + 1))"
  {
    echo "${4:-}"
    echo "PREPARE q AS $LIST_SQL;"
    echo '\o /dev/null'
    echo "EXECUTE q($args);"
    echo '\o'
    echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE q($args);"
  } | psql_db -At
}
# matching FROM TO: how many rows the filters select (all of them, not a page).
matching() {
  psql_db -At -c "SELECT count(*) FROM observations WHERE location && ST_MakeEnvelope($BW, $BS, $BE, $BN, 4326) AND observed_at >= '$1' AND observed_at < '$2' AND status <> 'rejected'"
}
# timed_get URL OUT: RUNS warm runs after one untimed; prints "median min max" of the seconds.
timed_get() {
  local url="$1" out="$2" code secs bytes times=""
  read -r code secs bytes < <(curl -sS -o "$out" -w '%{http_code} %{time_total} %{size_download}\n' \
    -H "Authorization: Bearer $TOKEN" "$url")
  [[ $code == 200 ]] || { head -c 500 "$out" >&2; die "GET $url answered $code"; }
  for ((r = 1; r <= RUNS; r++)); do
    read -r code secs bytes < <(curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' \
      -H "Authorization: Bearer $TOKEN" "$url")
    [[ $code == 200 ]] || die "GET $url answered $code in run $r"
    times+="$secs"$'\n'
    log "  run $r: $secs s, $bytes bytes"
  done
  stats <<<"$times"
}
plan_summary() { # the scan line of the observations table and the execution time
  local scan exec
  scan="$(grep -m1 -o '\(Index Scan using [a-z_]* on observations\|Bitmap Heap Scan on observations\|Seq Scan on observations\|Index Only Scan using [a-z_]* on observations\)' "$1" || true)"
  exec="$(awk '/^Execution Time:/ { print $3 }' "$1")"
  echo "${scan:-?}|$exec"
}
# The plan text for the README, as an indented code block: cost estimates, the Memoize subtrees
# (users, geo_regions) and the planning lines left out; the bbox literal and the timestamp
# arithmetic shortened.
plan_md() {
  awk '
    { match($0, /^ */); ind = RLENGTH }
    skip >= 0 && ind > skip { next }
    { skip = -1 }
    /->  Memoize/ || /^Planning:/ { skip = ind; next }
    /^Planning Time/ { next }
    { print }' "$1" |
    sed -E "s/'0103[0-9A-F]+'::geometry/<bbox>/g; s/\('1970-01-01 00:00:00\+00'::timestamp with time zone \+ '[0-9:]+'::interval\)/<time>/g; s/  \(cost=[^)]*\)//; s/^/    /"
}

declare -A LIST_MED=() LIST_MIN=() LIST_MAX=() LIST_MATCH=() LIST_ITEMS=() SUMMARY=()
for which in last mid; do
  if [[ $which == last ]]; then from="${LAST_WEEK[0]}" to="${LAST_WEEK[1]}"; else from="${MID_WEEK[0]}" to="${MID_WEEK[1]}"; fi
  log "list: bbox $BBOX, $from … $to (the default page of 50)"
  LIST_MATCH[$which]="$(matching "$from" "$to")"
  read -r "LIST_MED[$which]" "LIST_MIN[$which]" "LIST_MAX[$which]" < <(timed_get "$DEF_URL?bbox=$BBOX&from=$from&to=$to" "$WORK/list.json")
  LIST_ITEMS[$which]="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/list.json")"
  explain "$from" "$to" 50 >"$WORK/plan-$which.txt"
  SUMMARY[$which]="$(plan_summary "$WORK/plan-$which.txt")"
  # The same SQL with plain index scans off (session only): what the existing indexes allow.
  explain "$from" "$to" 50 'SET enable_indexscan = off;' >"$WORK/plan-$which-noidx.txt"
  SUMMARY[$which-noidx]="$(plan_summary "$WORK/plan-$which-noidx.txt")"
  # Ordered by id alone (the order lists had before they followed observed_at), for comparison.
  LIST_SQL_TIME="$LIST_SQL"
  LIST_SQL="${LIST_SQL/ORDER BY o.observed_at, o.id LIMIT/ORDER BY o.id LIMIT}"
  explain "$from" "$to" 50 >"$WORK/plan-$which-id.txt"
  SUMMARY[$which-id]="$(plan_summary "$WORK/plan-$which-id.txt")"
  LIST_SQL="$LIST_SQL_TIME"
done

log "export: GeoJSON, limit=$EXPORT_ROWS, bbox $BBOX, ${EXPORT_RANGE[0]} … ${EXPORT_RANGE[1]}"
EXPORT_MATCH="$(matching "${EXPORT_RANGE[0]}" "${EXPORT_RANGE[1]}")"
EXPORT_URL="$DEF_URL?format=geojson&limit=$EXPORT_ROWS&bbox=$BBOX&from=${EXPORT_RANGE[0]}&to=${EXPORT_RANGE[1]}"
EXP_RSS_START="$(rss_kib "$DEF_PID")"
start_sampler "$DEF_PID" "$WORK/rss-export.txt"
read -r EXP_MED EXP_MIN EXP_MAX < <(timed_get "$EXPORT_URL" "$WORK/export.geojson")
stop_sampler
EXP_RSS_PEAK="$(sort -n "$WORK/rss-export.txt" | tail -n 1)"
EXP_BYTES="$(stat -c %s "$WORK/export.geojson")"
EXP_FEATURES="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$WORK/export.geojson")"
[[ $EXP_FEATURES == "$EXPORT_ROWS" ]] || die "the export has $EXP_FEATURES features, not $EXPORT_ROWS"
explain "${EXPORT_RANGE[0]}" "${EXPORT_RANGE[1]}" "$EXPORT_ROWS" >"$WORK/plan-export.txt"
SUMMARY[export]="$(plan_summary "$WORK/plan-export.txt")"
LIST_SECONDS="$(since "$T_LIST")"

# ---- 4. aggregates and a daily report ------------------------------------------------------
LOAD_AGG="$(loadavg)"
T_AGG="$(now)"
AGG_URL="http://127.0.0.1:$DEF_PORT/api/v1/aggregates/observations"
ROLLUP_ROWS="$(psql_db -At -c 'SELECT count(*) FROM observation_rollup')"
ROLLUP_EQ_ROWS="$(psql_db -At -c 'SELECT count(*) FROM observation_rollup_equipment')"
# The rollups must hold what the observations hold (the fill wrote them through the trigger).
ROLLUP_CHECK="$(psql_db -At -c "SELECT (SELECT sum(observations) FROM observation_rollup) = count(*) AND (SELECT sum(vehicles) FROM observation_rollup) = sum(vehicles) FROM observations")"
[[ $ROLLUP_CHECK == t ]] || die "the rollup does not sum to the observations after the fill"
# timed_agg NAME QUERY: the aggregate QUERY answered from the rollups and, with a bbox around
# the whole world added (which the rollups cannot answer), by a scan of observations; both
# timed RUNS times after one untimed run, their rows compared.
declare -A AGG_Q=() AGG_ROWS=() AGG_ROLLUP=() AGG_SCAN=()
AGG_NAMES=()
timed_agg() {
  local name="$1" query="$2" a b
  AGG_NAMES+=("$name")
  AGG_Q[$name]="$query"
  log "aggregate $name: $query"
  AGG_ROLLUP[$name]="$(timed_get "$AGG_URL?$query" "$WORK/agg-rollup.json")"
  AGG_SCAN[$name]="$(timed_get "$AGG_URL?$query&bbox=-180,-90,180,90" "$WORK/agg-scan.json")"
  read -r a b < <(python3 - "$WORK/agg-rollup.json" "$WORK/agg-scan.json" <<'PY'
import json, sys
r, s = (json.load(open(f)) for f in sys.argv[1:3])
def rows(d):
    return [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in x.items()} for x in d["rows"]]
if r["source"] != "rollup" or s["source"] != "scan":
    sys.exit("sources %s/%s, not rollup/scan" % (r["source"], s["source"]))
if rows(r) != rows(s):
    sys.exit("the rollup and the scan disagree")
print(len(r["rows"]), sum(x["observations"] for x in r["rows"]))
PY
  ) || die "aggregate $name: the rollup's answer differs from the scan's"
  AGG_ROWS[$name]="$a rows, $b observations"
}
timed_agg month-day-oblast "bucket=day&group_by=oblast&from=2022-03-01T00:00:00Z&to=2022-04-01T00:00:00Z"
timed_agg month-day-oblast-kyiv "bucket=day&tz=Europe/Kyiv&group_by=oblast&from=2022-02-28T22:00:00Z&to=2022-03-31T21:00:00Z"
timed_agg month-day-oblast-any "bucket=day&group_by=oblast&status=any&from=2022-03-01T00:00:00Z&to=2022-04-01T00:00:00Z"
timed_agg month-day-oblast-movement "bucket=day&group_by=oblast,movement&from=2022-03-01T00:00:00Z&to=2022-04-01T00:00:00Z"
timed_agg month-week-oblast-type "bucket=week&group_by=oblast,equipment_type&from=2022-03-01T00:00:00Z&to=2022-04-01T00:00:00Z"
timed_agg all-day-country "bucket=day&group_by=country&from=2022-01-01T00:00:00Z&to=2022-05-01T00:00:00Z"

# Daily reports (Europe/Kyiv, the reports' default zone): a day of the fill as it is, and a day
# with REPORT_ROWS verified observations added (the 10 M rows around it).
FILL_DAY=2022-03-15
REPORT_DAY=2022-05-10
log "adding $REPORT_ROWS verified observations on $REPORT_DAY (Europe/Kyiv)"
T0="$(now)"
fill_rows "$REPORT_ROWS" "$REPORT_DAY 00:00:00+03" 1 0 verified
psql_db -c 'ANALYZE observations'
REPORT_FILL_S="$(since "$T0")"
REPORT_URL="http://127.0.0.1:$DEF_PORT/api/v1/reports"
# day_counts DAY OFFSET: "all verified" observations of the local day.
day_counts() {
  psql_db -At -F' ' -c "SELECT count(*), count(*) FILTER (WHERE status = 'verified') FROM observations WHERE observed_at >= '$1 00:00:00$2' AND observed_at < '$1 00:00:00$2'::timestamptz + interval '1 day'"
}
# timed_report NAME DAY: POST /reports of the daily report RUNS times after one untimed run.
declare -A REP_TIMES=() REP_SUMMARY=() REP_JSON=() REP_HTML=() REP_STEPS=()
timed_report() {
  local name="$1" day="$2" times="" code secs id
  log "daily report $day"
  for ((r = 0; r <= RUNS; r++)); do
    read -r code secs < <(curl -sS -o "$WORK/report.json" -w '%{http_code} %{time_total}\n' \
      -H "Authorization: Bearer $ANALYST" -H 'Content-Type: application/json' \
      -d "{\"kind\":\"daily\",\"period\":\"$day\"}" "$REPORT_URL")
    [[ $code == 201 ]] || { head -c 500 "$WORK/report.json" >&2; die "POST /reports answered $code"; }
    if ((r == 0)); then log "  untimed: $secs s"; continue; fi
    times+="$secs"$'\n'
    log "  run $r: $secs s"
  done
  REP_TIMES[$name]="$(stats <<<"$times")"
  id="$(json_field "$WORK/report.json" id)"
  REP_SUMMARY[$name]="$(python3 - "$WORK/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
print("%d verified observations, %d vehicles; %d oblast rows, %d map marks, %d tracks" % (
    t["observations"], t["vehicles"], len(d["oblasts"]), len(d["observations"]), len(d["tracks"])))
PY
)"
  REP_JSON[$name]="$(stat -c %s "$WORK/report.json")"
  REP_HTML[$name]="$(curl -sS -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $ANALYST" "$REPORT_URL/$id.html")"
  # The server logs each build's steps; the last one is this report's last run.
  REP_STEPS[$name]="$(grep '"msg":"report built"' "$WORK/default.log" | tail -n 1 | python3 -c '
import json, sys
print(", ".join("%s %.0f" % (k, v) for k, v in json.loads(sys.stdin.read())["ms"].items()))')"
}
read -r FILL_DAY_ALL FILL_DAY_VERIFIED < <(day_counts "$FILL_DAY" "+02")
read -r _ REPORT_DAY_VERIFIED < <(day_counts "$REPORT_DAY" "+03")
((REPORT_DAY_VERIFIED == REPORT_ROWS)) || die "$REPORT_DAY has $REPORT_DAY_VERIFIED verified observations, not $REPORT_ROWS"
timed_report fill "$FILL_DAY"
timed_report stress "$REPORT_DAY"
AGG_SECONDS="$(since "$T_AGG")"

LOAD_END="$(loadavg)"
TOTAL_SECONDS="$(since "$T_START")"

# ---- report --------------------------------------------------------------------------------
sec3() { fmt "$(awk -v m="$1" 'BEGIN { print m / 1000 }')" 3; } # ms -> "s.sss"
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
read -r SMALL_MED SMALL_MIN SMALL_MAX < <(stats <<<"$SMALL_TIMES")
read -r PS_MED PS_MIN PS_MAX < <(stats <<<"$PEER_SMALL_MS")
read -r PB_MED PB_MIN PB_MAX < <(stats <<<"$PEER_BIG_MS")
read -r FCS_MED FCS_MIN FCS_MAX < <(stats <<<"$FLOOR_COPY_SMALL_MS")
read -r FIS_MED FIS_MIN FIS_MAX < <(stats <<<"$FLOOR_INSERT_SMALL_MS")
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }         # rows, seconds
rate_ms() { awk -v n="$1" -v m="$2" 'BEGIN { printf "%.0f", n / (m / 1000) }'; } # rows, ms
SMALL_RATE="$(rate "$SMALL_ROWS" "$SMALL_MED")"
BIG_RATE="$(rate "$BIG_ROWS" "$BIG_S")"
PS_RATE="$(rate_ms "$SMALL_ROWS" "$PS_MED")"
PB_RATE="$(rate_ms "$BIG_ROWS" "$PB_MED")"
R_BIG="$(awk -v a="$PB_RATE" -v b="$BIG_RATE" 'BEGIN { printf "%.0f", a / b }')"
R_SMALL="$(awk -v a="$PS_RATE" -v b="$SMALL_RATE" 'BEGIN { printf "%.0f", a / b }')"
FCS_RATE="$(rate_ms "$SMALL_ROWS" "$FCS_MED")"
FIS_RATE="$(rate_ms "$SMALL_ROWS" "$FIS_MED")"
FCB_RATE="$(rate_ms "$BIG_ROWS" "$FLOOR_COPY_BIG_MS")"
FIB_RATE="$(rate_ms "$BIG_ROWS" "$FLOOR_INSERT_BIG_MS")"
# rows/s of a runner as a share of \copy's: "0.xxx"
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
MS_PER_ROW="$(awk -v s="$BIG_S" -v n="$BIG_ROWS" 'BEGIN { printf "%.2f", s * 1000 / n }')"
# The derivation's share: the bands' ms per row weighted by the big file's rows per band.
DERIVE_EST_S="$(
  for i in "${!BANDS[@]}"; do echo "${BAND_ROWS[$i]} ${BAND_MS[$i]}"; done |
    awk '{ s += $1 * $2 } END { printf "%.0f", s / 1000 }'
)"
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
# shellcheck source=/dev/null
. /etc/os-release
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
MEM_GIB="$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)"
FS="$(df -PT -- "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
MACHINE="$PRETTY_NAME, $(nproc) cores ($CPU), $MEM_GIB GiB, $FS; PostgreSQL $PG_VERSION, PostGIS $POSTGIS_VERSION (scripts/pg defaults: fsync on, shared_buffers 128 MB)"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  COMMIT+=" with uncommitted changes"
fi
BIN_SHOWN="${BIN#"$ROOT"/}"
band_label() { read -r lo hi <<<"$1"; if ((hi >= 100000)); then echo "≥ $lo km"; else echo "$lo–$hi km"; fi; }
plan_line() { # KEY -> "scan, X ms"
  local s="${SUMMARY[$1]}"
  echo "${s%%|*}, **$(fmt "${s##*|}" 1) ms**"
}

# shellcheck disable=SC2028 # the backslashes are psql's (\copy, \timing), printed as they are
report() {
  echo "Command: \`bench/observations.sh\` (with \`bench/run\`), $(date -u +%Y-%m-%d), commit $COMMIT, binary \`$BIN_SHOWN\`."
  echo "Whole run $(fmt "$TOTAL_SECONDS" 0) s (import $(fmt "$IMPORT_SECONDS" 0) s, fill $(fmt "$FILL_SECONDS" 0) s, list and export $(fmt "$LIST_SECONDS" 0) s, aggregates and report $(fmt "$AGG_SECONDS" 0) s)."
  echo
  echo "Machine: $MACHINE. The $(nproc) cores are shared with other engineers' work: load average"
  echo "(1/5/15 min) at the start $LOAD_START; at the import $LOAD_IMPORT; at the fill $LOAD_FILL;"
  echo "at the list $LOAD_LIST; at the aggregates $LOAD_AGG; at the end $LOAD_END."
  echo
  echo "**Bulk import.** CSV generated with a fixed seed: 85 % of the points near the Russian and"
  echo "Belarusian land border of Ukraine (exponential distance, mean 40 km), 15 % uniform over"
  echo "30–40° E, 46–53° N; 75 % with a heading; 1–3 equipment items; times over 2022-01-01 … 04-30;"
  echo "$BIG_ROWS rows = $BIG_BYTES bytes ($(awk -v b="$BIG_BYTES" -v n="$BIG_ROWS" 'BEGIN { printf "%.0f", b / n }') B/row), e.g."
  echo "\`$SAMPLE_LINE\`."
  echo "\`curl --data-binary @FILE\` (\`Content-Type: text/csv\`) to \`POST /api/v1/observations/import\`,"
  echo "table emptied before every import; curl's \`time_total\`. Peer: \`psql \\copy bench_peer FROM FILE"
  echo "WITH (FORMAT csv, HEADER true)\` into a plain logged table with the CSV's columns typed"
  echo "(timestamptz, text, float8 …, no index), emptied before every copy, psql's \`\\timing\`."
  echo "$RUNS runs of the $SMALL_ROWS-row import and of each \\copy, alternating; the $BIG_ROWS-row import"
  echo "**once only** ($(fmt "$BIG_S" 0) s: $RUNS runs of it would add $(awk -v s="$BIG_S" -v r="$RUNS" 'BEGIN { printf "%.0f", s * (r - 1) / 60 }') minutes to this benchmark), so it has no"
  echo "spread of its own; the $SMALL_ROWS-row runs give the spread of the per-row rate."
  echo
  echo "| runner | rows | runs | median s | min s | max s | rows/s (median) |"
  echo "|---|---|---|---|---|---|---|"
  echo "| convoywatch import | $SMALL_ROWS | $RUNS | $(fmt "$SMALL_MED" 2) | $(fmt "$SMALL_MIN" 2) | $(fmt "$SMALL_MAX" 2) | **$SMALL_RATE** |"
  echo "| convoywatch import | $BIG_ROWS | 1 | $(fmt "$BIG_S" 2) | – | – | **$BIG_RATE** |"
  echo "| peer: \`psql \\copy\` | $SMALL_ROWS | $RUNS | $(fmt "$(awk -v m="$PS_MED" 'BEGIN { print m / 1000 }')" 3) | $(fmt "$(awk -v m="$PS_MIN" 'BEGIN { print m / 1000 }')" 3) | $(fmt "$(awk -v m="$PS_MAX" 'BEGIN { print m / 1000 }')" 3) | $PS_RATE |"
  echo "| peer: \`psql \\copy\` | $BIG_ROWS | $RUNS | $(fmt "$(awk -v m="$PB_MED" 'BEGIN { print m / 1000 }')" 3) | $(fmt "$(awk -v m="$PB_MIN" 'BEGIN { print m / 1000 }')" 3) | $(fmt "$(awk -v m="$PB_MAX" 'BEGIN { print m / 1000 }')" 3) | $PB_RATE |"
  echo "| floor: \`\\copy\` of the derived rows into a table with the observations' indexes | $SMALL_ROWS | $RUNS | $(sec3 "$FCS_MED") | $(sec3 "$FCS_MIN") | $(sec3 "$FCS_MAX") | $FCS_RATE |"
  echo "| floor: \`\\copy\` of the derived rows into a table with the observations' indexes | $BIG_ROWS | 1 | $(sec3 "$FLOOR_COPY_BIG_MS") | – | – | $FCB_RATE |"
  echo "| floor: \`INSERT … SELECT\` of the derived rows into observations | $SMALL_ROWS | $RUNS | $(sec3 "$FIS_MED") | $(sec3 "$FIS_MIN") | $(sec3 "$FIS_MAX") | $FIS_RATE |"
  echo "| floor: \`INSERT … SELECT\` of the derived rows into observations | $BIG_ROWS | 1 | $(sec3 "$FLOOR_INSERT_BIG_MS") | – | – | $FIB_RATE |"
  echo
  echo "- The floors take the $BIG_ROWS rows the import stored, with the values it derived, and store them"
  echo "  again without deriving anything: \`\\copy\` into a plain table with the observations' columns,"
  echo "  constraints and $N_INDEXES indexes (GiST on the point, GIN on the equipment types; no triggers), and"
  echo "  \`INSERT … SELECT\` into the emptied observations table itself (indexes, foreign keys and the"
  echo "  statement triggers that keep the hourly rollups exact). As a share of \`\\copy\`'s rows/s"
  echo "  into the plain unindexed table ($BIG_ROWS rows): the indexed \`\\copy\` **$(share "$FCB_RATE" "$PB_RATE")×**, the insert into"
  echo "  observations **$(share "$FIB_RATE" "$PB_RATE")×**, the import **$(share "$BIG_RATE" "$PB_RATE")×** ($SMALL_ROWS rows: $(share "$FCS_RATE" "$PS_RATE")×, $(share "$FIS_RATE" "$PS_RATE")×, $(share "$SMALL_RATE" "$PS_RATE")×)."
  if awk -v a="$FIB_RATE" -v b="$PB_RATE" 'BEGIN { exit !(a < 0.8 * b) }'; then
    echo "  Storing the rows where the lists, maps and aggregates read them already falls short of 0.8 ×"
    echo "  \`\\copy\` before any parsing or derivation: the goal of ≥ 0.8 × is out of reach for an import"
    echo "  that leaves every row queryable and counted when it answers."
  else
    echo "  Storing the rows without the derivation reaches 0.8 × \`\\copy\`: the gap is the parsing and"
    echo "  the derivation."
  fi
  echo "- $BIG_ROWS rows: import $BIG_RATE rows/s against \\copy $PB_RATE rows/s: the peer is **${R_BIG}×** faster"
  echo "  ($SMALL_ROWS rows: ${R_SMALL}×). The import is $MS_PER_ROW ms per row, almost all of it"
  echo "  \`observation_derived()\` (country, oblast, nearest place, spheroid distance and bearing to the"
  echo "  border, movement) inside the one \`INSERT … SELECT\`, single-threaded in one PostgreSQL backend."
  echo "  The $BIG_ROWS-row run: $PHASES."
  echo "- Derivation alone (\`SELECT … CROSS JOIN LATERAL observation_derived(location, heading_deg)\`"
  echo "  over up to 1000 imported rows per band, one run each), and how the $BIG_ROWS rows fall into the bands:"
  echo
  echo "  | distance to the border | ms per row | rows timed | rows of the $BIG_ROWS |"
  echo "  |---|---|---|---|"
  for i in "${!BANDS[@]}"; do
    echo "  | $(band_label "${BANDS[$i]}") | $(fmt "${BAND_MS[$i]}" 2) | ${BAND_N[$i]} | ${BAND_ROWS[$i]} |"
  done
  echo
  echo "  Weighted, that is about $DERIVE_EST_S s of the import's $(fmt "$BIG_S" 0) s. The cost grows with the"
  echo "  distance: the candidate box for the nearest border piece is as wide as the distance to the"
  echo "  planar-nearest piece, and every piece in it gets a spheroid \`ST_Distance\`."
  echo "- Server memory (VmRSS every 100 ms) during the $BIG_ROWS-row import: $(mib "$BIG_RSS_START") MiB before,"
  echo "  **peak $(mib "$BIG_RSS_PEAK") MiB** (+$(mib $((BIG_RSS_PEAK - BIG_RSS_START))) MiB for a $(awk -v b="$BIG_BYTES" 'BEGIN { printf "%.0f", b / 1e6 }') MB body: the body, then every"
  echo "  row parsed into memory before the \`COPY\`), $(mib "$BIG_RSS_END") MiB after."
  echo "- The same $BIG_ROWS-row file against the shipped configuration (\`database.statement_timeout_ms\`"
  echo "  30000): **$PROBE_CODE after $(fmt "$PROBE_S" 1) s**, \`$PROBE_DETAIL\`; rows in the table afterwards:"
  if [[ $PROBE_CODE == 201 ]]; then
    echo "  $PROBE_LEFT. The timed imports use a second server with \`CONVOYWATCH_DATABASE_STATEMENT_TIMEOUT_MS=0\`."
  else
    echo "  $PROBE_LEFT (all or nothing holds). The timed imports use a second server with"
    echo "  \`CONVOYWATCH_DATABASE_STATEMENT_TIMEOUT_MS=0\`."
  fi
  echo
  echo "**List over $FILL_ROWS rows.** Filled with SQL (\`INSERT … SELECT generate_series\`): the same kind"
  echo "of points, equipment and notes as the CSV, statuses 80 % unverified / 12 % verified / 4 % disputed /"
  echo "4 % rejected; ids in the order of \`observed_at\` (2022-01-01 … 04-30, entered about a day after),"
  echo "as rows arrive in practice; the derived columns are **not** \`observation_derived()\` per row but"
  echo "copied from it at the centre of the point's 0.25° cell (computed once per cell). Secondary indexes"
  echo "dropped for the fill and made again from their own definitions, then \`VACUUM (ANALYZE)\`:"
  echo "insert $(fmt "$FILL_INSERT_S" 0) s, indexes $(fmt "$FILL_INDEX_S" 0) s, vacuum $(fmt "$FILL_VACUUM_S" 0) s; $TABLE_SIZE."
  echo "\`curl\` of \`GET /api/v1/observations?bbox=$BBOX&from=…&to=…\` (JSON, the default page of 50),"
  echo "one untimed run, then $RUNS timed; plan: \`EXPLAIN (ANALYZE, BUFFERS)\` of kSelect + kFilters from"
  echo "\`store/observations.cpp\` as a prepared statement with the server's parameters (limit 51), warm."
  echo
  echo "| week | rows matching bbox + week | items | median ms | min ms | max ms | plan (observations) |"
  echo "|---|---|---|---|---|---|---|"
  for which in last mid; do
    local label
    if [[ $which == last ]]; then label="last: ${LAST_WEEK[0]%T*} … ${LAST_WEEK[1]%T*}"; else label="middle: ${MID_WEEK[0]%T*} … ${MID_WEEK[1]%T*}"; fi
    echo "| $label | ${LIST_MATCH[$which]} | ${LIST_ITEMS[$which]} | $(fmt "$(awk -v s="${LIST_MED[$which]}" 'BEGIN { print s * 1000 }')" 0) | $(fmt "$(awk -v s="${LIST_MIN[$which]}" 'BEGIN { print s * 1000 }')" 0) | $(fmt "$(awk -v s="${LIST_MAX[$which]}" 'BEGIN { print s * 1000 }')" 0) | $(plan_line "$which") |"
  done
  echo
  echo "Plan of the last week (cost figures, the bbox literal and the user/oblast joins left out):"
  echo
  plan_md "$WORK/plan-last.txt"
  echo
  echo "The same SQL by other plans, for comparison (not what the server runs):"
  echo "- plain index scans off (\`SET enable_indexscan = off\`): last week $(plan_line last-noidx);"
  echo "  middle week $(plan_line mid-noidx)"
  echo "- ordered by \`id\` alone (the order before lists followed \`observed_at\`):"
  echo "  last week $(plan_line last-id); middle week $(plan_line mid-id)"
  echo
  echo "**GeoJSON export.** \`GET …?format=geojson&limit=$EXPORT_ROWS&bbox=$BBOX&from=${EXPORT_RANGE[0]}&to=${EXPORT_RANGE[1]}\`"
  echo "($EXPORT_MATCH rows match; the answer checked once: $EXP_FEATURES features, $EXP_BYTES bytes), one"
  echo "untimed run, then $RUNS timed, \`curl -o /dev/null\`, \`time_total\`. MB = 10^6 bytes."
  echo
  echo "| features | bytes | median s | min s | max s | MB/s (median) | features/s |"
  echo "|---|---|---|---|---|---|---|"
  echo "| $EXP_FEATURES | $EXP_BYTES | $(fmt "$EXP_MED" 2) | $(fmt "$EXP_MIN" 2) | $(fmt "$EXP_MAX" 2) | **$(mbps "$EXP_BYTES" "$EXP_MED")** | $(rate "$EXP_FEATURES" "$EXP_MED") |"
  echo
  echo "- its SQL alone: $(plan_line export)"
  echo "- server memory (VmRSS every 100 ms over the $((RUNS + 1)) exports): $(mib "$EXP_RSS_START") MiB before,"
  echo "  peak $(mib "$EXP_RSS_PEAK") MiB (+$(mib $((EXP_RSS_PEAK - EXP_RSS_START))) MiB: the rows and the whole body are built in memory)"
  echo
  echo "**Aggregates over the $FILL_ROWS rows.** The fill wrote the rollups through their statement"
  echo "trigger (part of the insert time above): $ROLLUP_ROWS rows in \`observation_rollup\`, $ROLLUP_EQ_ROWS in"
  echo "\`observation_rollup_equipment\`; their sums were checked against the observations."
  echo "\`curl\` of \`GET /api/v1/aggregates/observations?QUERY\`, one untimed run, then $RUNS timed, \`time_total\`;"
  echo "the peer is the same query with \`bbox=-180,-90,180,90\` added, which the rollups cannot answer,"
  echo "so the server scans the observations (\`\"source\": \"scan\"\`); the two answers were compared row by row"
  echo "and are equal. Default status filter: \`verified\` (12 % of the rows)."
  echo
  echo "| query | answer | rollup median ms (min–max) | scan median ms (min–max) | scan / rollup |"
  echo "|---|---|---|---|---|"
  local name rm rmin rmax sm smin smax
  for name in "${AGG_NAMES[@]}"; do
    read -r rm rmin rmax <<<"${AGG_ROLLUP[$name]}"
    read -r sm smin smax <<<"${AGG_SCAN[$name]}"
    echo "| \`${AGG_Q[$name]}\` | ${AGG_ROWS[$name]} | **$(ms "$rm")** ($(ms "$rmin")–$(ms "$rmax")) | $(ms "$sm") ($(ms "$smin")–$(ms "$smax")) | $(awk -v a="$sm" -v b="$rm" 'BEGIN { printf "%.0f", a / b }')× |"
  done
  echo
  echo "**Daily reports.** \`POST /api/v1/reports {\"kind\":\"daily\",\"period\":\"DAY\"}\` (analyst; built again each"
  echo "time: totals and change, per-oblast table, map and bar chart SVGs, convoy tracks linked from"
  echo "the day's verified observations ±24 h, newest observations, disputes; rendered and stored),"
  echo "one untimed run, then $RUNS timed, \`time_total\`; the steps (ms) are those the server logs for"
  echo "the last run. Days in Europe/Kyiv (the reports' default zone). $FILL_DAY is a day of the fill as it"
  echo "is ($FILL_DAY_ALL observations, $FILL_DAY_VERIFIED verified); on $REPORT_DAY, after the fill's range,"
  echo "$REPORT_ROWS verified observations were added with the same generator ($(fmt "$REPORT_FILL_S" 0) s, rollups"
  echo "included): $(awk -v a="$REPORT_ROWS" -v b="$FILL_DAY_VERIFIED" 'BEGIN { printf "%.0f", a / b }') times the verified sightings of $FILL_DAY, in one day."
  echo
  echo "| day | median s | min s | max s | content | JSON | HTML | steps (ms) |"
  echo "|---|---|---|---|---|---|---|---|"
  local which med min max day
  for which in fill stress; do
    read -r med min max <<<"${REP_TIMES[$which]}"
    if [[ $which == fill ]]; then day="$FILL_DAY"; else day="$REPORT_DAY"; fi
    echo "| $day | **$(fmt "$med" 2)** | $(fmt "$min" 2) | $(fmt "$max" 2) | ${REP_SUMMARY[$which]} | $(awk -v b="${REP_JSON[$which]}" 'BEGIN { printf "%.1f MB", b / 1e6 }') | $(awk -v b="${REP_HTML[$which]}" 'BEGIN { printf "%.1f MB", b / 1e6 }') | ${REP_STEPS[$which]} |"
  done
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
