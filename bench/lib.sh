# Shared by the bench/*.sh scripts (sourced, not run): the command line every script takes
# (--markdown FILE, where bench/run collects the block for bench/README.md; -h/--help, which
# prints the script's header comment) and log/die prefixed with the script's name.
# Usage, in a script: . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; bench_args "$@"

# shellcheck shell=bash
BENCH_NAME="$(basename "${BASH_SOURCE[1]}")"
MARKDOWN=""

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "$*"; exit 1; }

bench_args() {
  while (($#)); do
    case "$1" in
      --markdown)
        (($# >= 2)) || { echo "$BENCH_NAME: --markdown needs a file" >&2; exit 2; }
        # shellcheck disable=SC2034 # the scripts write their block to it
        MARKDOWN="$2"
        shift 2
        ;;
      -h | --help)
        awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "${BASH_SOURCE[1]}"
        exit 0
        ;;
      *) echo "$BENCH_NAME: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
  done
}

# ---- helpers for the scripts that start servers --------------------------------------------
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# now: the time, in seconds since the epoch (microseconds); since T: whole seconds since T.
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

# loadavg: the load average over 1, 5 and 15 minutes ("0.52 0.61 0.70").
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# fmt V [D]: V with D decimals (0).
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# stats "v1 v2 ...": prints "median min max" of the numbers (3 decimals).
stats() {
  tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.3f %.3f %.3f\n", m, v[1], v[NR] }'
}

# bench_build TARGET...: brings the Release build in CW_BUILD_DIR (default build/release) up to
# date for TARGET...; sets BUILD to that folder.
bench_build() {
  BUILD="${CW_BUILD_DIR:-$BENCH_ROOT/build/release}"
  log "bringing the Release build in $BUILD up to date ($*)"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$BENCH_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCW_TESTS=OFF >/dev/null
  fi
  local build_log
  build_log="$(mktemp)"
  cmake --build "$BUILD" -j2 --target "$@" >"$build_log" 2>&1 ||
    { tail -n 40 "$build_log" >&2; rm -f -- "$build_log"; die "the Release build failed"; }
  rm -f -- "$build_log"
}

# bench_convoywatch: sets BIN to $CW_BIN when it is given, else to the Release build's
# convoywatch, brought up to date first (bench_build).
bench_convoywatch() {
  if [[ -n ${CW_BIN:-} ]]; then
    BIN="$CW_BIN"
  else
    bench_build convoywatch
    BIN="$BUILD/app/convoywatch"
  fi
  [[ -x $BIN ]] || die "no convoywatch binary at $BIN"
}

# ensure_nginx: sets NGINX to the nginx binary; installs the `nginx` package when it is missing
# (root only) with `apt-get install -y --no-install-recommends nginx`, keeping its post-install
# from starting the system nginx on port 80 (Debian's policy-rc.d, unless a policy is already
# set; POLICY_RC names the file while it exists, for the caller's clean-up).
POLICY_RC=""
ensure_nginx() {
  if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    [[ $EUID -eq 0 ]] || die "nginx is missing and only root can install it (apt-get install nginx)"
    log "installing nginx (apt-get install -y --no-install-recommends nginx)"
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      POLICY_RC=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\n# %s: no service starts while it installs nginx\nexit 101\n' "bench/$BENCH_NAME" >"$POLICY_RC"
      chmod 755 "$POLICY_RC"
    fi
    local apt_log
    apt_log="$(mktemp)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx >"$apt_log" 2>&1; then
      apt-get update >>"$apt_log" 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx >>"$apt_log" 2>&1 ||
        { cat "$apt_log" >&2; rm -f -- "$apt_log"; die "could not install nginx"; }
    fi
    rm -f -- "$apt_log"
    if [[ -n $POLICY_RC ]]; then
      rm -f -- "$POLICY_RC"
      POLICY_RC=""
    fi
  fi
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
}

# bench_machine: "Debian …, N cores (CPU model), M GiB".
bench_machine() {
  local pretty cpu mem
  # shellcheck source=/dev/null
  pretty="$(. /etc/os-release && echo "$PRETTY_NAME")"
  cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  mem="$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1024 / 1024 }' /proc/meminfo)"
  echo "$pretty, $(nproc) cores ($cpu), $mem GiB"
}

# bench_commit: the short commit of the tree, "with uncommitted changes" when there are some.
bench_commit() {
  local c
  c="$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ -n "$(git -C "$BENCH_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    c+=" with uncommitted changes"
  fi
  echo "$c"
}

# ---- clean-up on exit and on signals (bench_traps) -----------------------------------------
# A script that calls bench_traps gets, on exit, on INT, TERM and HUP alike: its function
# bench_cleanup_hook run when it has one; every process started with bench_spawn stopped (last
# first: TERM, KILL after BENCH_GRACE seconds, then reaped); the cluster of bench_pg_start
# stopped and removed; the paths in BENCH_TMP removed. Further signals are ignored while it
# cleans up. Long commands run with bench_spawn + bench_wait rather than in the foreground:
# bash runs a trap only after the foreground command ends, but interrupts `wait` at once.
BENCH_PIDS=()
BENCH_TMP=()
BENCH_PG_DIR=""
BENCH_LAST=""
BENCH_GRACE="${BENCH_GRACE:-15}"

# bench_spawn COMMAND...: runs COMMAND in the background (redirections apply to it); its pid is
# BENCH_LAST and it is stopped on exit.
bench_spawn() {
  "$@" &
  BENCH_LAST=$!
  BENCH_PIDS+=("$BENCH_LAST")
}

# bench_wait PID: waits for PID (interruptible by signals); returns its exit status.
bench_wait() {
  local rc=0
  wait "$1" || rc=$?
  return "$rc"
}

# bench_alive PID: true while PID runs (a zombie is not running).
bench_alive() {
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n $state && $state != Z ]]
}

# bench_stop PID [SIGNAL] [GRACE]: sends SIGNAL (TERM), KILL after GRACE seconds
# (BENCH_GRACE), and reaps PID when it is our child.
bench_stop() {
  local pid="$1" sig="${2:-TERM}" grace="${3:-$BENCH_GRACE}" i
  if bench_alive "$pid"; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      bench_alive "$pid" || break
      sleep 0.1
    done
    if bench_alive "$pid"; then
      log "pid $pid did not stop after $sig within $grace s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

bench_exit() {
  local rc=$? i
  trap '' INT TERM HUP
  set +e
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook; fi
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
    bench_stop "${BENCH_PIDS[i]}"
  done
  if [[ -n $BENCH_PG_DIR ]]; then
    if ! CW_PG_DIR="$BENCH_PG_DIR" "$BENCH_ROOT/scripts/pg" stop >/dev/null 2>&1 &&
      [[ -f $BENCH_PG_DIR/postmaster.pid ]]; then
      kill -QUIT "$(head -n 1 "$BENCH_PG_DIR/postmaster.pid")" 2>/dev/null # immediate shutdown
      sleep 1
    fi
    rm -rf -- "$BENCH_PG_DIR"
  fi
  [[ -n $POLICY_RC ]] && rm -f -- "$POLICY_RC"
  for i in "${BENCH_TMP[@]}"; do
    rm -rf -- "$i"
  done
  exit "$rc"
}

bench_traps() {
  trap bench_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# bench_workdir NAME ROWS: WORK, a fresh folder under BENCH_DIR removed on exit, after checking
# that its file system has room for ROWS observations (about 400 bytes a row with indexes and
# WAL, plus 1 GiB).
bench_workdir() {
  mkdir -p -- "$BENCH_DIR"
  WORK="$(mktemp -d "$BENCH_DIR/cw-bench-$1.XXXXXX")"
  BENCH_TMP+=("$WORK")
  local free_kib need_kib=$(($2 * 2 / 5 + 1024 * 1024))
  free_kib="$(df -Pk -- "$WORK" | awk 'NR == 2 { print $4 }')"
  ((free_kib > need_kib)) || die "$BENCH_DIR needs $((need_kib / 1024 / 1024)) GiB free"
}

# ---- a private cluster and server ----------------------------------------------------------
# bench_pg_start DIR_PARENT: a private PostgreSQL cluster (scripts/pg) under DIR_PARENT, migrated
# by BIN as the owner, which loads the reference geodata built into it (observations are derived
# against it) and creates the application role; sets DB_URL (the owner) and APP_DB_URL (the
# application role, as which servers run, as deployments do).
bench_pg_start() {
  BENCH_PG_DIR="$(mktemp -d "$1/cw-bench-pg.XXXXXX")"
  CW_PG_DIR="$BENCH_PG_DIR" "$BENCH_ROOT/scripts/pg" start >/dev/null 2>&1 || die "the private PostgreSQL did not start"
  DB_URL="$(CW_PG_DIR="$BENCH_PG_DIR" "$BENCH_ROOT/scripts/pg" url)"
  bench_migrate "$BENCH_PG_DIR"
}

# bench_migrate PG_DIR: `BIN migrate` as the owner (DB_URL) of the cluster in PG_DIR, which
# creates the application role with the cluster's app password; sets APP_DB_URL, as which
# servers run (as deployments do).
bench_migrate() {
  APP_DB_URL="$(CW_PG_DIR="$1" "$BENCH_ROOT/scripts/pg" app-url)"
  CONVOYWATCH_DATABASE_URL="$DB_URL" \
    CONVOYWATCH_DATABASE_APP_PASSWORD="$(CW_PG_DIR="$1" "$BENCH_ROOT/scripts/pg" app-password)" \
    "$BIN" migrate >/dev/null 2>&1 || die "convoywatch migrate failed"
}

# bench_psql ARGS...: psql on the cluster's database, quiet, stopping at the first error.
bench_psql() {
  CW_PG_DIR="$BENCH_PG_DIR" PGOPTIONS='-c client_min_messages=warning' \
    "$BENCH_ROOT/scripts/pg" psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# bench_user NAME ROLE: adds a user of organisation "bench"; prints its token.
bench_user() {
  local token
  token="$(CONVOYWATCH_DATABASE_URL="$DB_URL" CONVOYWATCH_LOG_LEVEL=warn "$BIN" user add --create-org --name "$1" --org bench --role "$2")"
  [[ $token == cw_* ]] || die "convoywatch user add printed no token for $1"
  echo "$token"
}

# bench_server WORK [NAME=VALUE...]: starts `BIN serve` on a free loopback port with the
# cluster (as the application role), the media store WORK/media, log level warn, the report scheduler off and the
# settings given (CONVOYWATCH_… environment); log in WORK/server.log. Sets SERVER_PID and
# SERVER_PORT.
bench_server() {
  local work="$1" i
  shift
  mkdir -p "$work/media"
  bench_spawn env CONVOYWATCH_DATABASE_URL="$APP_DB_URL" \
    CONVOYWATCH_STORAGE_ROOT="$work/media" \
    CONVOYWATCH_SERVER_LISTEN=127.0.0.1:0 \
    CONVOYWATCH_REPORTS_SCHEDULER=false \
    CONVOYWATCH_LOG_LEVEL=warn \
    "$@" "$BIN" serve --port-file "$work/server.port" >"$work/server.log" 2>&1
  SERVER_PID=$BENCH_LAST
  for ((i = 0; i < 100; i++)); do
    [[ -s $work/server.port ]] && break
    bench_alive "$SERVER_PID" || { cat "$work/server.log" >&2; die "convoywatch serve exited"; }
    sleep 0.1
  done
  SERVER_PORT="$(<"$work/server.port")"
  curl -fsS -o /dev/null "http://127.0.0.1:$SERVER_PORT/healthz" || die "the server does not answer /healthz"
}

# bench_seed_observations N TOKEN: N observations by bulk import (POST
# /api/v1/observations/import, CSV), deterministic: points over 35.5–38.5° E, 49.5–51.5° N
# (Belgorod, Kharkiv, Kupiansk), observed 2022-01-01 … 2022-04-30, 1–3 kinds of vehicles.
# Prints "FIRST_ID LAST_ID".
bench_seed_observations() {
  local n="$1" token="$2" csv resp code
  csv="$(mktemp)"
  resp="$(mktemp)"
  awk -v n="$n" 'BEGIN {
    srand(20220224)
    split("tank ifv apc truck fuel_truck mlrs sp_artillery engineering", types, " ")
    split("exact vicinity locality region", precs, " ")
    print "observed_at,lat,lon,location_precision,heading_deg,equipment,markings"
    for (i = 0; i < n; i++) {
      t = 1640995200 + int(rand() * 119 * 86400)
      k = 1 + int(rand() * 3); eq = ""; delete used
      for (j = 0; j < k; j++) {
        ty = types[1 + int(rand() * 8)]
        if (ty in used) continue
        used[ty] = 1
        eq = eq (eq == "" ? "" : ";") ty ":" (1 + int(rand() * 20))
      }
      heading = (rand() < 0.2) ? "" : int(rand() * 360)
      printf "%s,%.5f,%.5f,%s,%s,%s,%s\n", strftime("%Y-%m-%dT%H:%M:%SZ", t, 1),
        49.5 + rand() * 2, 35.5 + rand() * 3, precs[1 + int(rand() * 4)], heading, eq,
        (rand() < 0.3) ? "Z" : ""
    }
  }' >"$csv"
  code="$(curl -sS -o "$resp" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: text/csv' --data-binary "@$csv" \
    "http://127.0.0.1:$SERVER_PORT/api/v1/observations/import")"
  [[ $code == 201 ]] || { head -c 2000 "$resp" >&2; rm -f -- "$csv" "$resp"; die "the seed import answered $code"; }
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["imported"] == int(sys.argv[2]), r; print(r["first_id"], r["last_id"])' "$resp" "$n" ||
    { rm -f -- "$csv" "$resp"; die "the seed import did not take $n rows"; }
  rm -f -- "$csv" "$resp"
}

# bench_fill_observations ROWS USER_ID ORG_ID: ROWS observations by USER_ID of ORG_ID, written
# by one INSERT … SELECT generate_series in psql (fast; best with the cluster started with
# CW_PG_FAST=1: fsync off), with the table's user triggers (rollups, events, change feed)
# disabled and its secondary indexes dropped, then made again from their own definitions, and
# VACUUM (ANALYZE); checks the count (the table must be empty before). 75 % of the points around
# ten towns (Belgorod, Kursk, Voronezh, Valuyki, Shebekino, Graivoron, Sudzha, Stary Oskol,
# Kharkiv, Sumy; normal, σ 0.25°), 25 % uniform over 33.8–39.35° E, 49–52.45° N, all inside tile
# 6/38/21; observed 2022-01-01 … 2022-04-30; 80 % unverified, 4 % rejected; derived columns
# (country, oblast, nearest place, distance and bearing to the border) from observation_derived()
# of the centre of each point's 0.25° cell. 10 M rows take about 10 minutes and 4 GB on 2 shared
# cores. Sets LOAD_FILL (the load average before), FILL_S (seconds) and TABLE_SIZE for the report.
bench_fill_observations() {
  # shellcheck disable=SC2034 # read by the scripts that report it
  LOAD_FILL="$(loadavg)"
  local t_fill
  t_fill="$(now)"
  log "setup: $1 observations (INSERT … SELECT generate_series)"
  bench_fill_observations_sql "$@"
  TABLE_SIZE="$(bench_psql -At -c "SELECT pg_size_pretty(pg_relation_size('observations')) || ' heap, ' || pg_size_pretty(pg_indexes_size('observations')) || ' indexes'")"
  FILL_S="$(since "$t_fill")"
  log "setup took $FILL_S s ($TABLE_SIZE)"
}

# The INSERT of bench_fill_observations.
bench_fill_observations_sql() {
  local defs names count
  defs="$(bench_psql -At -c "SELECT indexdef || ';' FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations' AND indexname <> 'observations_pkey' ORDER BY indexname")"
  names="$(bench_psql -At -c "SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'observations' AND indexname <> 'observations_pkey'")"
  bench_psql -v rows="$1" -v uid="$2" -v org="$3" -v indexes="$names" <<'SQL'
ALTER TABLE observations DISABLE TRIGGER USER;
DROP INDEX :indexes;
CREATE TABLE bench_cells AS
  SELECT cx, cy, d.country, d.oblast, d.place_name, d.place_km, d.km_to_border, d.bearing_deg
  FROM generate_series(0, 22) cx CROSS JOIN generate_series(0, 15) cy
  CROSS JOIN LATERAL observation_derived(
    ST_SetSRID(ST_MakePoint(33.875 + cx * 0.25, 48.875 + cy * 0.25), 4326), NULL) d;
CREATE UNIQUE INDEX ON bench_cells (cx, cy);
INSERT INTO observations (created_by, org_id, observed_at, time_precision, location,
                          location_precision, heading_deg, equipment, equipment_types, vehicles,
                          status, country, oblast, nearest_place, nearest_place_km, km_to_border,
                          bearing_to_border, movement)
SELECT :uid, :org, p.t, 'exact', ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.lp, p.heading,
       jsonb_build_array(jsonb_build_object('type', p.ty, 'count', p.n)), ARRAY[p.ty], p.n,
       p.status, c.country, c.oblast, c.place_name, c.place_km, c.km_to_border, c.bearing_deg,
       CASE WHEN c.km_to_border IS NULL THEN 'unknown'
            WHEN p.heading IS NULL THEN 'stationary'
            WHEN c.bearing_deg IS NULL THEN 'unknown'
            WHEN abs(mod((p.heading - c.bearing_deg + 540)::numeric, 360) - 180) <= 60 THEN 'toward'
            WHEN abs(mod((p.heading - c.bearing_deg + 540)::numeric, 360) - 180) >= 120 THEN 'away'
            ELSE 'parallel' END
FROM (
  SELECT q.*,
         greatest(33.8, least(39.35, CASE WHEN q.near
           THEN (ARRAY[36.59, 36.59, 36.59, 36.59, 36.19, 36.19, 36.19, 39.20, 39.20, 38.10,
                       38.10, 36.90, 36.90, 35.98, 35.27, 35.27, 37.84, 36.23, 36.23, 34.80])[q.k]
                + 0.25 * q.r * cos(q.a) / cos(radians(51))
           ELSE 33.8 + 5.55 * q.ux END)) AS lon,
         greatest(49.0, least(52.45, CASE WHEN q.near
           THEN (ARRAY[50.60, 50.60, 50.60, 50.60, 51.73, 51.73, 51.73, 51.67, 51.67, 50.21,
                       50.21, 50.41, 50.41, 50.48, 51.19, 51.19, 51.30, 49.99, 49.99, 50.91])[q.k]
                + 0.25 * q.r * sin(q.a)
           ELSE 49.0 + 3.45 * q.uy END)) AS lat
  FROM (
    SELECT i, '2022-01-01 00:00:00+00'::timestamptz + random() * interval '120 days' AS t,
           random() < 0.75 AS near, 1 + floor(random() * 20)::int AS k,
           sqrt(-2 * ln(1 - random())) AS r, 2 * pi() * random() AS a,
           random() AS ux, random() AS uy,
           (ARRAY['exact', 'vicinity', 'vicinity', 'locality', 'region'])
             [1 + floor(random() * 5)::int] AS lp,
           CASE WHEN random() < 0.25 THEN NULL ELSE floor(random() * 3600) / 10 END AS heading,
           (ARRAY['truck', 'truck', 'tank', 'ifv', 'apc', 'sp_artillery', 'mlrs', 'fuel_truck'])
             [1 + floor(random() * 8)::int] AS ty,
           1 + floor(random() * 20)::int AS n,
           CASE WHEN random() < 0.80 THEN 'unverified'
                ELSE (ARRAY['verified', 'verified', 'verified', 'disputed', 'rejected'])
                       [1 + floor(random() * 5)::int] END AS status
    FROM generate_series(1, :rows) i) q) p
JOIN bench_cells c ON c.cx = floor((p.lon - 33.75) / 0.25)::int
                  AND c.cy = floor((p.lat - 48.75) / 0.25)::int;
DROP TABLE bench_cells;
SQL
  bench_psql -c "SET maintenance_work_mem = '512MB'" -c "$defs" \
    -c 'ALTER TABLE observations ENABLE TRIGGER USER' -c 'VACUUM (ANALYZE) observations'
  count="$(bench_psql -At -c 'SELECT count(*) FROM observations')"
  [[ $count == "$1" ]] || die "the setup left $count observations, not $1"
}

# ---- the server's SQL, nginx, wrk ------------------------------------------------------------
# bench_sql_literal FILE NAME: the text of the raw string literal R"sql(…)sql" named NAME in
# FILE (relative to the repository): `constexpr const char* NAME = R"sql(…)sql"`, or the first
# one after `std::string NAME()` (a function that returns it through fmt::format; its {} are
# left for the caller to fill). Prints nothing when there is no such literal.
bench_sql_literal() {
  awk -v name="$2" '
    !f && (index($0, "constexpr const char* " name " = R\"sql(") || index($0, "std::string " name "()")) { want = 1 }
    want && !f && index($0, "R\"sql(") { f = 1; sub(/.*R"sql\(/, "") }
    f { if (index($0, ")sql\"")) { sub(/\)sql".*/, ""); print; exit } print }' "$BENCH_ROOT/$1"
}

# bench_parse_wrk OUT: prints "requests/s p50_ms p99_ms requests non2xx socket_errors" of the
# output of one `wrk --latency` run.
bench_parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    / requests in / { n = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
    END { printf "%.1f %.3f %.3f %d %d %d\n", rps, p50, p99, n, bad, err }' "$1"
}

# bench_nginx DIR SERVER_CONFIG: starts NGINX (ensure_nginx first) serving DIR/root as static
# files on a free loopback port, with SERVER_CONFIG (nginx directives: types, locations) inside
# its server block; worker_processes auto, access_log off, sendfile, keepalive_requests 1000000
# (the server does not close a keep-alive connection after a number of requests). Its
# configuration, pid and logs are in DIR. Sets NGINX_PORT and NGINX_PID (stopped on exit).
bench_nginx() {
  local dir="$1" extra="$2"
  mkdir -p "$dir/root" "$dir/tmp"
  NGINX_PORT="$(free_port)"
  cat >"$dir/nginx.conf" <<NGINX
# bench/$BENCH_NAME: a throwaway nginx serving the server's response bodies as static files.
daemon off;
user root;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  types {}
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $dir/root;
$extra
  }
}
NGINX
  "$NGINX" -t -q -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log" || die "nginx rejects its configuration"
  bench_spawn "$NGINX" -c "$dir/nginx.conf" -p "$dir" -e "$dir/error.log"
  NGINX_PID=$BENCH_LAST
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null && return 0
    bench_alive "$NGINX_PID" || { cat "$dir/error.log" >&2; die "nginx exited"; }
    sleep 0.1
  done
  die "nginx does not listen on port $NGINX_PORT"
}
