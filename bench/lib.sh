# Shared by the bench/*.sh scripts (sourced, not run): the command line every script takes
# (--markdown FILE, where bench/run collects the block for bench/README.md; -h/--help, which
# prints the script's header comment) and log/die prefixed with the script's name.
# Usage, in a script: . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; bench_args "$@"

BENCH_NAME="$(basename "${BASH_SOURCE[1]}")"
MARKDOWN=""

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { log "$*"; exit 1; }

bench_args() {
  while (($#)); do
    case "$1" in
      --markdown)
        (($# >= 2)) || { echo "$BENCH_NAME: --markdown needs a file" >&2; exit 2; }
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
