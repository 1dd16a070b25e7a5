# shellcheck shell=bash
# Shared by run_edge.sh and run_scaling.sh (sourced, not run): starts the
# benchmark's processes on loopback, waits for the lines they print, stops
# them, and reaps whatever is left when the script exits however it exits.
#
# Every process started here gets its stdout and stderr in $BENCH_TMP/NAME.out
# and NAME.err. Waits poll those files briefly; they are bounded by a timeout
# and end early when the process dies.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_BUILD=${FERRY_BUILD_DIR:-$BENCH_ROOT/build-bench}
BENCH_BIN=$BENCH_BUILD/bench/load
# shellcheck disable=SC2034 # used by run_scaling.sh
BENCH_FERRYD=$BENCH_BUILD/runtime/ferryd
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
declare -A BENCH_PID=()

bench_cleanup() {
  local name pid
  for name in "${!BENCH_PID[@]}"; do
    pid=${BENCH_PID[$name]}
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BENCH_PID=()
  if [[ -n ${BENCH_KEEP_LOGS:-} ]]; then
    echo "logs kept in $BENCH_TMP" >&2
  else
    rm -rf "$BENCH_TMP"
  fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_need() {
  local f
  for f in "$@"; do
    if [[ ! -x $f ]]; then
      echo "missing $f: build first with" >&2
      echo "  cmake -S . -B build-bench -DFERRY_BUILD_TESTS=OFF && cmake --build build-bench -j2" >&2
      exit 2
    fi
  done
}

# bench_start NAME CMD ARGS...: runs CMD in the background. Where setpriv
# exists the child also gets SIGKILL if this script dies without its trap.
bench_start() {
  local name=$1
  shift
  if command -v setpriv >/dev/null; then
    setpriv --pdeathsig KILL -- "$@" >"$BENCH_TMP/$name.out" 2>"$BENCH_TMP/$name.err" &
  else
    "$@" >"$BENCH_TMP/$name.out" 2>"$BENCH_TMP/$name.err" &
  fi
  BENCH_PID[$name]=$!
}

# bench_wait_lines NAME FILE(out|err) PATTERN COUNT [TIMEOUT_S]: waits until
# COUNT lines of NAME's output match PATTERN (fixed string).
bench_wait_lines() {
  local name=$1 stream=$2 pattern=$3 count=$4 timeout=${5:-20}
  local file="$BENCH_TMP/$name.$stream" deadline=$((SECONDS + timeout)) n
  while :; do
    n=$(grep -cF -- "$pattern" "$file" 2>/dev/null || true)
    ((${n:-0} >= count)) && return 0
    if ! kill -0 "${BENCH_PID[$name]}" 2>/dev/null; then
      echo "$name exited before printing '$pattern':" >&2
      cat "$BENCH_TMP/$name.out" "$BENCH_TMP/$name.err" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "$name: no '$pattern' (x$count) within ${timeout}s:" >&2
      cat "$BENCH_TMP/$name.out" "$BENCH_TMP/$name.err" >&2
      exit 1
    fi
    sleep 0.05
  done
}

# bench_endpoint NAME WORDS: the endpoint on NAME's first stdout line that
# contains WORDS ("listening on", "cluster on").
bench_endpoint() {
  grep -m1 -F -- "$2" "$BENCH_TMP/$1.out" | awk '{print $NF}'
}

# bench_stop NAME: SIGTERM, up to 15 s to exit (ferry drains), then SIGKILL.
bench_stop() {
  local name=$1 pid=${BENCH_PID[$1]} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; ++i)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "BENCH_PID[$name]"
}

# bench_load ARGS...: runs ferry_load, echoes its RESULT line; exits the
# script when the run failed (errors or unanswered calls make figures void).
bench_load() {
  local out
  if ! out=$("$BENCH_BIN/ferry_load" "$@" 2>"$BENCH_TMP/load.err"); then
    echo "ferry_load $* failed:" >&2
    cat "$BENCH_TMP/load.err" >&2
    exit 1
  fi
  grep '^RESULT ' <<<"$out"
}

# field LINE KEY: the value of KEY=VALUE in a RESULT line.
field() {
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'
}

# ratio A B: A / B with 2 decimals.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}
