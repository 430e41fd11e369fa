# shellcheck shell=bash
# Helpers shared by the scripts in scripts/ (sourced, never run): the repo root, messages,
# running a command as root, timing, and where the private PostgreSQL cluster lives.
# A script sets CW_NAME (its name in messages) before sourcing this file.

CW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck disable=SC2034 # used by the scripts that source this file
CW_PG_BIN=/usr/lib/postgresql/15/bin
: "${CW_NAME:=convoywatch}"

# cw_log MESSAGE...: a progress line on stderr (stdout stays for a command's real output).
cw_log() {
  printf '%s: %s\n' "$CW_NAME" "$*" >&2
}

# cw_warn MESSAGE...: a warning on stderr.
cw_warn() {
  printf '%s: warning: %s\n' "$CW_NAME" "$*" >&2
}

# cw_die MESSAGE...: an error on stderr, then exit 1.
cw_die() {
  printf '%s: error: %s\n' "$CW_NAME" "$*" >&2
  exit 1
}

cw_is_root() {
  [[ $EUID -eq 0 ]]
}

# cw_as_root COMMAND...: run COMMAND as root, through sudo when we are not root.
cw_as_root() {
  if cw_is_root; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    cw_die "this needs root and sudo is not installed: $*"
  fi
}

# cw_now_ms: wall-clock time in milliseconds.
cw_now_ms() {
  local t="${EPOCHREALTIME//[.,]/}"
  printf '%s\n' "$((t / 1000))"
}

# cw_seconds_since START_MS: elapsed seconds with one decimal, e.g. "12.3".
cw_seconds_since() {
  local ms=$(($(cw_now_ms) - $1))
  printf '%d.%d\n' "$((ms / 1000))" "$((ms % 1000 / 100))"
}

# cw_pg_dir: the absolute data directory of the private cluster ($CW_PG_DIR or <repo>/.local/pg).
cw_pg_dir() {
  local dir="${CW_PG_DIR:-$CW_ROOT/.local/pg}"
  [[ $dir == /* ]] || dir="$PWD/$dir"
  realpath -m -- "$dir"
}

# cw_build_dashboard: builds the web dashboard (dashboard/dist, served by `convoywatch serve` at
# /) with npm from its lockfile when a source of it is newer than the last build. scripts/setup
# installs its npm packages.
cw_build_dashboard() {
  local dir="$CW_ROOT/dashboard"
  [[ -f $dir/package-lock.json ]] || return 0
  [[ -d $dir/node_modules ]] || cw_die "dashboard/node_modules is missing: run scripts/setup"
  local built="$dir/dist/index.html"
  if [[ -f $built ]] && [[ -z "$(find "$dir/src" "$dir/public" "$dir/index.html" "$dir/package-lock.json" \
    "$dir/vite.config.ts" "$dir/compress.mjs" -newer "$built" -print -quit 2>/dev/null)" ]]; then
    cw_log "the dashboard is up to date ($dir/dist)"
    return 0
  fi
  cw_log "building the dashboard (npm run build in $dir)"
  (cd "$dir" && npm run --silent build) || cw_die "the dashboard did not build (npm run build in dashboard/)"
}
