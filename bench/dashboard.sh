#!/usr/bin/env bash
# bench/dashboard.sh: the dashboard in headless Chromium (Debian's, through the playwright-core of
# tests/e2e/node_modules; WebGL on SwiftShader, no GPU) against `convoywatch serve` (Release)
# serving the built dashboard (a copy of dashboard/dist), signed in, over ROWS observations and
# SUBMISSIONS submissions in one private cluster (issue 20's goals):
#   map     navigation to /map until MapLibre's first `idle` (the map sets body[data-map-idle]),
#           in two views: the default one (z5, every observation in grouped cells) and Belgorod at
#           z10 (observation points). Each of RUNS runs starts a new server (shipped settings, so
#           an empty tile cache) and a new browser profile (empty HTTP cache): "cold" is the first
#           navigation, "warm" a second one in a new page of the same profile (the server's tile
#           cache and the browser's cache filled; data tiles revalidated, 304). PostgreSQL is not
#           restarted between runs, so its buffers and the OS cache are warm after the first run.
#           Next to it, the floor: the tiles the cold navigation requested (its network log),
#           fetched one after the other with curl on one connection, from a server with
#           tile_cache_mb = 0 (every tile built: the cold floor) and from the run's server after
#           the runs (cached: the warm floor); their sum and their slowest. Goal: under 3 s.
#   inbox   navigation to /inbox until the frame that has the first page of rows (50), RUNS
#           runs, each in a new profile; the list API's own time in the page, and curl's time
#           for the same first page. Then INBOX_PAGES times "Load more submissions" (time from
#           the click to the frame with the new rows), then the list scrolled from top to bottom
#           with the mouse wheel; frames (requestAnimationFrame deltas) and long tasks
#           (PerformanceObserver 'longtask') recorded through the paging and the scrolling:
#           the longest frame and the frames over 50 ms. Goals: under 1 s, no jank.
# Reported: median (min–max) ms; what the goals show; the load average at each stage.
#
#   bench/dashboard.sh [--markdown FILE]    prints the block; FILE gets the Markdown block that
#                                           bench/run puts into bench/README.md
# Environment: ROWS (10000000) observations; SUBMISSIONS (10000); RUNS (3) per view and for the
#              inbox; INBOX_PAGES (19: 1,000 rows listed); CW_BENCH_DIR (/var/tmp) where
#              the cluster and the files go; CW_BIN a prebuilt convoywatch (else the Release
#              build is brought up to date); CW_CHROMIUM (/usr/bin/chromium).
# Setup, not measured: the observations as bench/tiles.sh writes them (bench_fill_observations
# of bench/lib.sh: one INSERT … SELECT generate_series, cluster with CW_PG_FAST=1); the
# submissions by one INSERT … SELECT: post URLs (no media, so no thumbnails: the inbox shows
# thumbnails only for analysed videos) of telegram (half), x, tiktok, youtube, vk, facebook and
# instagram by three users, created over the last 120 days in id order, 55 % done, 20 % failed,
# the rest queued, fetching or processing; 30 % with 1–3 tags, 40 % with a description, 20 % with
# a claimed place, 10 % visible to the organisation only. 10 M observations take about 10
# minutes and 4 GB under CW_BENCH_DIR on 2 shared cores.
# The servers run with their shipped settings except: rate limit off, pipeline workers 0 (nothing
# is processed meanwhile), the report scheduler off, log level warn. Needs root (the private
# cluster), node, chromium, curl, python3. Removes everything it started or wrote on exit, INT
# and TERM included. Not part of scripts/test or CI.
set -euo pipefail

ROWS="${ROWS:-10000000}"
SUBMISSIONS="${SUBMISSIONS:-10000}"
RUNS="${RUNS:-3}"
INBOX_PAGES="${INBOX_PAGES:-19}"
BENCH_DIR="${CW_BENCH_DIR:-/var/tmp}"
CHROMIUM="${CW_CHROMIUM:-/usr/bin/chromium}"
GOAL_MAP_MS=3000
GOAL_INBOX_MS=1000

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_args "$@"
bench_traps

for v in ROWS SUBMISSIONS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $INBOX_PAGES =~ ^[0-9]+$ ]] || die "INBOX_PAGES must be a whole number"

LOAD_START="$(loadavg)"
log "load average at start: $LOAD_START"

for tool in curl python3 node; do
  command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup"
done
[[ -x $CHROMIUM ]] || die "no Chromium at $CHROMIUM (apt-get install chromium, or set CW_CHROMIUM)"
[[ -f $BENCH_ROOT/tests/e2e/node_modules/playwright-core/package.json ]] ||
  die "no playwright-core in tests/e2e/node_modules (run scripts/setup)"
[[ -f $BENCH_ROOT/dashboard/dist/index.html ]] || die "no built dashboard in dashboard/dist (scripts/run builds it)"
TOKEN_KEY="$(sed -n "s/^const TOKEN_KEY = '\([^']*\)';.*/\1/p" "$BENCH_ROOT/dashboard/src/api.ts")"
[[ -n $TOKEN_KEY ]] || die "could not read the token's sessionStorage key from dashboard/src/api.ts"
bench_convoywatch

bench_workdir dashboard "$ROWS"
# The dashboard as it is now: a copy, so that a rebuild meanwhile does not change what is measured.
cp -a -- "$BENCH_ROOT/dashboard/dist" "$WORK/dist"

# ---- the cluster and the rows (setup) ------------------------------------------------------
export CW_PG_FAST=1
bench_pg_start "$BENCH_DIR"
TOKEN="$(bench_user bench analyst)"
bench_user anna contributor >/dev/null
bench_user boris contributor >/dev/null
read -r USER_ID ORG_ID < <(bench_psql -At -F' ' -c "SELECT id, org_id FROM users WHERE name = 'bench'")
USER_IDS="$(bench_psql -At -c "SELECT '{' || string_agg(id::text, ',' ORDER BY id) || '}' FROM users WHERE org_id = $ORG_ID")"
PG_VERSION="$(bench_psql -At -c 'SHOW server_version' | cut -d' ' -f1)"

bench_fill_observations "$ROWS" "$USER_ID" "$ORG_ID"

T_SUB="$(now)"
log "setup: $SUBMISSIONS submissions"
bench_psql -v n="$SUBMISSIONS" -v org="$ORG_ID" -v uids="$USER_IDS" <<'SQL'
ALTER TABLE submissions DISABLE TRIGGER USER;
INSERT INTO submissions (submitted_by, org_id, visibility, status, source_url, platform, posted_at,
                         author, description, claimed_location, claimed_radius_m, claimed_place,
                         tags, created_at)
SELECT q.uid, :org, CASE WHEN q.rv < 0.1 THEN 'org' ELSE 'taskforce' END,
       CASE WHEN q.rs < 0.55 THEN 'done' WHEN q.rs < 0.75 THEN 'failed'
            WHEN q.rs < 0.90 THEN 'queued' WHEN q.rs < 0.95 THEN 'fetching' ELSE 'processing' END,
       CASE q.pl
         WHEN 'telegram' THEN 'https://t.me/' || q.ch || '/' || (1000 + q.i)
         WHEN 'x' THEN 'https://x.com/' || q.ch || '/status/' || (1490000000000000000 + q.i * 7919)
         WHEN 'tiktok' THEN 'https://www.tiktok.com/@' || q.ch || '/video/' || (7100000000000000000 + q.i * 104729)
         WHEN 'youtube' THEN 'https://www.youtube.com/watch?v=' || left(md5(q.i::text), 11)
         WHEN 'vk' THEN 'https://vk.com/wall-' || (100000 + length(q.ch)) || '_' || q.i
         WHEN 'facebook' THEN 'https://www.facebook.com/' || q.ch || '/videos/' || (600000000000000 + q.i)
         ELSE 'https://www.instagram.com/reel/' || left(md5('ig' || q.i), 11) || '/' END,
       q.pl, q.created - q.rp * interval '6 hours', q.ch,
       CASE WHEN q.rd < 0.4 THEN (ARRAY['Колонна техники на трассе у Шебекино', 'Convoy heading south at dawn',
         'Эшелон с техникой, станция Валуйки', 'Trucks and IFVs near the border crossing',
         'Техника в движении, ночная съёмка'])[1 + q.i % 5] END,
       CASE WHEN q.rl < 0.2 THEN ST_SetSRID(ST_MakePoint(35.8 + q.rp * 2, 50.0 + q.rd * 1.5), 4326)::geography END,
       CASE WHEN q.rl < 0.2 THEN 5000 END,
       CASE WHEN q.rl < 0.2 THEN (ARRAY['Belgorod', 'Shebekino', 'Valuyki', 'Graivoron', 'Kharkiv'])[1 + q.i % 5] END,
       CASE WHEN q.rt < 0.3 THEN ARRAY(SELECT DISTINCT (ARRAY['belgorod', 'kharkiv', 'column', 'night',
         'drone', 'rail', 'fuel', 'artillery', 'checked-geo', 'repost'])[1 + floor(random() * 10)::int]
         FROM generate_series(0, q.i % 3) g WHERE g >= 0) ELSE '{}' END,
       q.created
FROM (
  SELECT i, random() AS rv, random() AS rs, random() AS rp, random() AS rd, random() AS rl, random() AS rt,
         (:'uids'::bigint[])[1 + i % cardinality(:'uids'::bigint[])] AS uid,
         (ARRAY['telegram', 'telegram', 'telegram', 'telegram', 'telegram', 'telegram', 'telegram',
                'telegram', 'telegram', 'telegram', 'x', 'x', 'x', 'tiktok', 'tiktok', 'youtube',
                'youtube', 'vk', 'facebook', 'instagram'])[1 + floor(random() * 20)::int] AS pl,
         (ARRAY['rybar', 'belgorod_online', 'kharkiv_life', 'warmonitors', 'convoy_watch_ua',
                'osint_east', 'zvezda_news', 'graivoron24'])[1 + floor(random() * 8)::int] AS ch,
         now() - interval '120 days' + (i::float8 / :n) * interval '120 days'
           + random() * interval '10 minutes' AS created
  FROM generate_series(1, :n) i) q
ORDER BY q.i;
ALTER TABLE submissions ENABLE TRIGGER USER;
VACUUM (ANALYZE) submissions;
SQL
SUB_COUNT="$(bench_psql -At -c 'SELECT count(*) FROM submissions')"
[[ $SUB_COUNT == "$SUBMISSIONS" ]] || die "the setup left $SUB_COUNT submissions, not $SUBMISSIONS"
SUB_S="$(since "$T_SUB")"
log "submissions took $SUB_S s"

# ---- the servers and the browser -----------------------------------------------------------
SETTINGS=(CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE=0 CONVOYWATCH_PIPELINE_WORKERS=0
  CONVOYWATCH_SERVER_DASHBOARD_DIR="$WORK/dist")
bench_server "$WORK/floor" "${SETTINGS[@]}" CONVOYWATCH_SERVER_TILE_CACHE_MB=0
FLOOR_PORT=$SERVER_PORT
AUTH="Authorization: Bearer $TOKEN"
code="$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FLOOR_PORT/map")"
[[ $code == 200 ]] || die "GET /map (the dashboard) answered $code: is $WORK/dist served?"

# browser MODE OUT NAME=VALUE...: runs bench/dashboard_browser.mjs MODE with a config of the
# token and the NAME=VALUE pairs (numbers stay numbers); its JSON in OUT.
browser() {
  local mode="$1" out="$2"
  shift 2
  python3 -c 'import json, sys
c = {"token": sys.argv[2], "token_key": sys.argv[3]}
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    c[k] = int(v) if v.isdigit() else v
json.dump(c, open(sys.argv[1], "w"))' "$out.config" "$TOKEN" "$TOKEN_KEY" "$@"
  bench_spawn env CW_CHROMIUM="$CHROMIUM" node "$BENCH_ROOT/bench/dashboard_browser.mjs" "$mode" "$out.config" \
    >"$out" 2>"$out.stderr"
  if ! bench_wait "$BENCH_LAST"; then
    cat "$out.stderr" >&2
    head -c 3000 "$out" >&2
    die "the browser's $mode run failed"
  fi
}
# jq_py FILE EXPR: EXPR (Python, over the JSON as `d`) of FILE's JSON, printed.
jq_py() {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"
}
# curl_tiles PORT PATHS_FILE: the tiles in PATHS_FILE (one path a line) one after the other on one
# connection; prints "sum_ms max_ms count".
curl_tiles() {
  local args=() p out
  while read -r p; do args+=(-o /dev/null "http://127.0.0.1:$1$p"); done <"$2"
  out="$(curl -sS -H "$AUTH" -w '%{http_code} %{time_total}\n' "${args[@]}")"
  awk '$1 != 200 { print "bad " $0 > "/dev/stderr"; bad = 1 } { s += $2 * 1000; if ($2 * 1000 > m) m = $2 * 1000; n++ }
       END { if (bad) exit 1; printf "%.1f %.1f %d\n", s, m, n }' <<<"$out" ||
    die "a tile answered other than 200 on port $1"
}

# ---- the map -------------------------------------------------------------------------------
VIEWS=(default belgorod)
declare -A VPATH=([default]=/map [belgorod]='/map?lat=50.6&lon=36.6&z=10')
declare -A VLABEL=([default]='default view (z5, every observation in cells)' [belgorod]='Belgorod, z10 (points)')
declare -A V=() # VIEW/key: space-separated values over the runs
LOAD_MAP="$(loadavg)"
for view in "${VIEWS[@]}"; do
  for ((r = 1; r <= RUNS; r++)); do
    rm -rf -- "$WORK/run"
    bench_server "$WORK/run" "${SETTINGS[@]}"
    out="$WORK/map-$view-$r.json"
    browser map "$out" base="http://127.0.0.1:$SERVER_PORT" path="${VPATH[$view]}"
    read -r cold warm cold_tiles last_tile features zoom bad <<<"$(jq_py "$out" \
      '[round(d["cold"]["idle_ms"]), round(d["warm"]["idle_ms"]), len(d["cold"]["tiles"]), round(d["cold"]["last_tile_end_ms"]), d["cold"]["features"], d["cold"]["zoom"], len(d["failed_requests"]) + len(d["page_errors"])]')"
    ((bad == 0)) || { jq_py "$out" 'd["failed_requests"] + d["page_errors"]' >&2; die "the $view map had failed requests or page errors"; }
    ((features > 0)) || die "the $view map drew no observations at its first idle"
    V[$view/cold]+="$cold " V[$view/warm]+="$warm " V[$view/tiles]+="$cold_tiles " V[$view/last]+="$last_tile "
    V[$view/features]+="$features " V[$view/warm_last]+="$(jq_py "$out" 'round(d["warm"]["last_tile_end_ms"])') "
    V[$view/longtask]+="$(jq_py "$out" 'round(d["cold"]["longtasks"]["longest_ms"])') "
    V[$view/first_tile]+="$(jq_py "$out" 'round(d["cold"]["first_tile_start_ms"])') "
    V[$view/zoom]="$zoom"
    log "$view map, run $r: first idle cold $cold ms, warm $warm ms ($cold_tiles tile requests, the last answered at $last_tile ms; $features observation features drawn)"
    if ((r == RUNS)); then
      # The floor: the tiles of the cold navigation, by curl (paths only: the ports differ).
      jq_py "$out" '"\n".join(sorted({"/" + t["url"].split("/", 3)[3] for t in d["cold"]["tiles"]}))' >"$WORK/$view.paths"
      read -r V["$view/warm_floor_sum"] V["$view/warm_floor_max"] _ < <(curl_tiles "$SERVER_PORT" "$WORK/$view.paths")
      read -r V["$view/cold_floor_sum"] V["$view/cold_floor_max"] V["$view/floor_n"] < <(curl_tiles "$FLOOR_PORT" "$WORK/$view.paths")
      log "$view floor: ${V[$view/floor_n]} tiles by curl, cold server sum ${V[$view/cold_floor_sum]} ms max ${V[$view/cold_floor_max]} ms; warm sum ${V[$view/warm_floor_sum]} ms max ${V[$view/warm_floor_max]} ms"
    fi
    bench_stop "$SERVER_PID"
  done
done

# ---- the inbox -----------------------------------------------------------------------------
LOAD_INBOX="$(loadavg)"
bench_server "$WORK/inbox" "${SETTINGS[@]}"
INBOX_PORT=$SERVER_PORT
for ((r = 1; r <= RUNS; r++)); do
  out="$WORK/inbox-$r.json"
  browser inbox "$out" base="http://127.0.0.1:$INBOX_PORT" pages="$INBOX_PAGES"
  read -r first api rows listed bad <<<"$(jq_py "$out" \
    '[round(d["first_rows_ms"]), round(d["first_api"]["ms"]) if d["first_api"] else -1, d["first_page_rows"], d["rows_listed"], len(d["failed_requests"]) + len(d["page_errors"])]')"
  ((bad == 0)) || { jq_py "$out" 'd["failed_requests"] + d["page_errors"]' >&2; die "the inbox had failed requests or page errors"; }
  ((rows == 50)) || die "the inbox's first page has $rows rows, not 50"
  V[inbox/first]+="$first " V[inbox/api]+="$api " V[inbox/listed]="$listed"
  V[inbox/page]+="$(jq_py "$out" '[round(x, 1) for x in d["page_ms"]]') "
  V[inbox/page2]+="$(jq_py "$out" 'round(d["page_ms"][0], 1) if d["page_ms"] else 0') "
  V[inbox/page_last]+="$(jq_py "$out" 'round(d["page_ms"][-1], 1) if d["page_ms"] else 0') "
  for ph in idle paging scroll; do
    read -r longest over50 over100 frames seconds tasks task_max <<<"$(jq_py "$out" \
      "[round(d['$ph']['frames']['longest_ms'], 1), d['$ph']['frames']['over_50ms'], d['$ph']['frames']['over_100ms'], d['$ph']['frames']['frames'], round(d['$ph']['seconds'], 1), d['$ph']['longtasks']['count'], round(d['$ph']['longtasks']['longest_ms'])]")"
    V[$ph/longest]+="$longest " V[$ph/over50]+="$over50 " V[$ph/over100]+="$over100 " V[$ph/frames]+="$frames "
    V[$ph/seconds]+="$seconds " V[$ph/tasks]+="$tasks " V[$ph/task_max]+="$task_max "
    log "inbox, run $r, $ph: longest frame $longest ms, $over50 over 50 ms of $frames frames in $seconds s; $tasks long tasks"
  done
  log "inbox, run $r: first rows at $first ms (API $api ms); $listed rows listed"
done
# The floor of the first page and of a page further on: the list API by curl (one connection).
CURSOR="$(curl -sS -H "$AUTH" "http://127.0.0.1:$INBOX_PORT/api/v1/submissions?limit=50" | python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])')"
api_times() {
  local url="$1" args=() i
  for ((i = 0; i <= 5; i++)); do args+=(-o /dev/null "$url"); done
  curl -sS -H "$AUTH" -w '%{http_code} %{time_total}\n' "${args[@]}" |
    awk 'NR == 1 { next } $1 != 200 { exit 1 } { printf "%.2f ", $2 * 1000 }' || die "GET $url failed"
}
V[inbox/curl_first]="$(api_times "http://127.0.0.1:$INBOX_PORT/api/v1/submissions?limit=50")"
V[inbox/curl_next]="$(api_times "http://127.0.0.1:$INBOX_PORT/api/v1/submissions?limit=50&cursor=$CURSOR")"
LOAD_END="$(loadavg)"

# ---- report --------------------------------------------------------------------------------
# cell KEY [DECIMALS] [UNIT]: "**median** (min–max)" of V[KEY].
cell() {
  local med lo hi
  read -r med lo hi < <(stats "${V[$1]}")
  if [[ $(fmt "$lo" "${2:-0}") == "$(fmt "$hi" "${2:-0}")" ]]; then
    echo "**$(fmt "$med" "${2:-0}")**${3:-}"
  else
    echo "**$(fmt "$med" "${2:-0}")**${3:-} ($(fmt "$lo" "${2:-0}")–$(fmt "$hi" "${2:-0}"))"
  fi
}
median() { stats "${V[$1]}" | cut -d' ' -f1; }
sum_words() { awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }' <<<"$1"; }
goal() { awk -v v="$1" -v g="$2" 'BEGIN { print (v < g) ? "met" : "**missed**" }'; }
CHROME_VERSION="$(jq_py "$WORK/inbox-1.json" 'd["browser"]')"
PW_VERSION="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$BENCH_ROOT/tests/e2e/node_modules/playwright-core/package.json")"
FRAMES_OVER50="$(($(sum_words "${V[paging/over50]}") + $(sum_words "${V[scroll/over50]}")))"

# The settings that differ from the defaults, as they would be typed before the command.
CMD_ENV=""
[[ $ROWS == 10000000 ]] || CMD_ENV+="ROWS=$ROWS "
[[ $SUBMISSIONS == 10000 ]] || CMD_ENV+="SUBMISSIONS=$SUBMISSIONS "
[[ $RUNS == 3 ]] || CMD_ENV+="RUNS=$RUNS "
[[ $INBOX_PAGES == 19 ]] || CMD_ENV+="INBOX_PAGES=$INBOX_PAGES "

report() {
  echo "Command: \`${BENCH_ENV:-$CMD_ENV}bench/dashboard.sh\` (with \`bench/run dashboard\`), $(date -u +%Y-%m-%d), commit $(bench_commit)."
  echo
  echo "Machine: $(bench_machine); PostgreSQL $PG_VERSION (shipped settings of \`scripts/pg\`); $CHROME_VERSION headless"
  echo "(WebGL on SwiftShader: the CPU draws the map), playwright-core $PW_VERSION, viewport 1280×900. The cores are shared"
  echo "with other work. Load average (1/5/15 min): at the start $LOAD_START; at the setup $LOAD_FILL; at the map"
  echo "runs $LOAD_MAP; at the inbox runs $LOAD_INBOX; at the end $LOAD_END."
  echo
  echo "**Setup (not measured):** $ROWS observations as bench/tiles.sh writes them: $FILL_S s, $TABLE_SIZE;"
  echo "$SUBMISSIONS submissions (post URLs, no media) by one \`INSERT … SELECT\`: $SUB_S s."
  echo
  echo "**Map:** navigation to the first MapLibre \`idle\`, ms, median (min–max) of $RUNS runs. *Cold*: a freshly"
  echo "started server (empty tile cache) and a new browser profile; *warm*: a second navigation in a new page"
  echo "of the same profile (the server's tile cache and the browser's cache filled). PostgreSQL's buffers are"
  echo "warm from the setup and the earlier runs. *Tiles asked … answered*: when the cold navigation asked"
  echo "for its first tile (the app, MapLibre and the style loaded) and had its last one. *Floor*: those"
  echo "tiles by curl one after the other from a server without tile cache (cold) and from the run's server"
  echo "afterwards (cached): sum / slowest. *Longest task*: the longest main-thread task until the first idle."
  echo
  echo "| view | cold: first idle | warm: first idle | cold: tiles asked … answered | tile requests | floor cold: sum / slowest | floor warm: sum / slowest | cold: longest task | observation features drawn |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for view in "${VIEWS[@]}"; do
    echo "| ${VLABEL[$view]} | $(cell "$view/cold") | $(cell "$view/warm") | $(cell "$view/first_tile") … $(cell "$view/last") | $(cell "$view/tiles") | $(fmt "${V[$view/cold_floor_sum]}") / $(fmt "${V[$view/cold_floor_max]}") | $(fmt "${V[$view/warm_floor_sum]}") / $(fmt "${V[$view/warm_floor_max]}") | $(cell "$view/longtask") | $(cell "$view/features") |"
  done
  echo
  echo "**Inbox:** $SUBMISSIONS submissions, pages of 50 (\"Load more submissions\"), $RUNS runs, each in a new profile."
  echo "*First rows*: navigation to the frame that has the first 50 rows. *Next page*: the click to the frame"
  echo "with the 50 new rows, over all $INBOX_PAGES pages loaded ($(median inbox/listed | cut -d. -f1) rows listed at the end)."
  echo "Frames: \`requestAnimationFrame\` deltas; long tasks: PerformanceObserver \`longtask\`."
  echo
  echo "| | figure |"
  echo "|---|---|"
  echo "| first rows visible | $(cell inbox/first) ms |"
  echo "| of which the list API call, in the page | $(cell inbox/api) ms |"
  echo "| floor: the first page by curl | $(cell inbox/curl_first 1) ms |"
  echo "| next page: the second / the last | $(cell inbox/page2) / $(cell inbox/page_last) ms |"
  echo "| next page, every page of every run | $(cell inbox/page) ms |"
  echo "| floor: a further page by curl (cursor) | $(cell inbox/curl_next 1) ms |"
  echo "| paging: longest frame; frames over 50 / 100 ms of all | $(cell paging/longest) ms; $(cell paging/over50) / $(cell paging/over100) of $(cell paging/frames) |"
  echo "| paging: long tasks; the longest | $(cell paging/tasks); $(cell paging/task_max) ms |"
  echo "| scrolling the whole list: longest frame; frames over 50 / 100 ms of all | $(cell scroll/longest) ms; $(cell scroll/over50) / $(cell scroll/over100) of $(cell scroll/frames) |"
  echo "| scrolling: long tasks; the longest; duration | $(cell scroll/tasks); $(cell scroll/task_max) ms; $(cell scroll/seconds 1) s |"
  echo "| for comparison, one idle second: longest frame; frames over 50 ms of all | $(cell idle/longest) ms; $(cell idle/over50) of $(cell idle/frames) |"
  echo
  echo "Goals (issue 20):"
  for view in "${VIEWS[@]}"; do
    echo "- the map under 3 s, ${VLABEL[$view]}, over $ROWS observations: cold **$(fmt "$(median "$view/cold")") ms**, $(goal "$(median "$view/cold")" "$GOAL_MAP_MS"); warm **$(fmt "$(median "$view/warm")") ms**, $(goal "$(median "$view/warm")" "$GOAL_MAP_MS")"
  done
  echo "- the inbox's first page under 1 s with $SUBMISSIONS submissions: **$(fmt "$(median inbox/first)") ms**, $(goal "$(median inbox/first)" "$GOAL_INBOX_MS")"
  echo "- no jank (no frame over 50 ms) paging and scrolling: $FRAMES_OVER50 frames over 50 ms in all runs, $( ((FRAMES_OVER50 == 0)) && echo met || echo '**missed**')"
}
report
if [[ -n $MARKDOWN ]]; then
  report >"$MARKDOWN"
fi
