#!/usr/bin/env bash
# The network-edge benchmark (docs/benchmarks.md): ferry's gateway serving a
# no-op batched function against a bare ZeroMQ ROUTER echo, driven by the same
# load generator with the same call bodies, in the same run, on loopback.
#
#   bench/load/run_edge.sh                  # after building build-bench
#
# Environment: FERRY_BUILD_DIR (default build-bench), RUN_SECONDS (measured
# window per run, default 3), PAYLOAD_BYTES (default 16), HIGH_IN_FLIGHT
# (default 256), BENCH_KEEP_LOGS=1 to keep the processes' output.
#
# Runs, each RUN_SECONDS after a 0.5 s warm-up, one server up at a time:
#   echo @1, ferry noop @1, ferry noop_plain @1, echo @256, ferry noop @256
# and prints absolute figures and ratios against the echo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_s=${RUN_SECONDS:-3}
payload=${PAYLOAD_BYTES:-16}
high=${HIGH_IN_FLIGHT:-256}
bench_need "$BENCH_BIN/ferry_load" "$BENCH_BIN/ferry_echo_server" "$BENCH_BIN/ferry_bench_server"

load_args=(--seconds "$run_s" --warmup-seconds 0.5 --payload-bytes "$payload")

start_echo() {
  bench_start echo "$BENCH_BIN/ferry_echo_server" --listen 'tcp://127.0.0.1:*'
  bench_wait_lines echo out "echo: ready" 1
  echo_ep=$(bench_endpoint echo "listening on")
}

start_ferry() {
  bench_start ferry "$BENCH_BIN/ferry_bench_server" --listen 'tcp://127.0.0.1:*'
  bench_wait_lines ferry out "ferry: ready" 1
  ferry_ep=$(bench_endpoint ferry "listening on")
}

# Low load first, then high load; each pair runs back to back so the shared
# machine's background load hits both sides of a ratio alike.
start_echo
echo_1=$(bench_load --echo --endpoint "$echo_ep" --in-flight 1 "${load_args[@]}")
bench_stop echo
start_ferry
ferry_1=$(bench_load --endpoint "$ferry_ep" --fn noop --in-flight 1 "${load_args[@]}")
plain_1=$(bench_load --endpoint "$ferry_ep" --fn noop_plain --in-flight 1 "${load_args[@]}")
bench_stop ferry
start_echo
echo_n=$(bench_load --echo --endpoint "$echo_ep" --in-flight "$high" "${load_args[@]}")
bench_stop echo
start_ferry
ferry_n=$(bench_load --endpoint "$ferry_ep" --fn noop --in-flight "$high" "${load_args[@]}")
bench_stop ferry

for line in "$echo_1" "$ferry_1" "$plain_1" "$echo_n" "$ferry_n"; do
  echo "$line"
done
echo

verdict() { # verdict VALUE OP LIMIT
  awk -v v="$1" -v l="$3" -v op="$2" \
    'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print (ok ? "met" : "MISSED") }'
}

tp_ratio=$(ratio "$(field "$ferry_n" calls_per_s)" "$(field "$echo_n" calls_per_s)")
p50_ratio=$(ratio "$(field "$ferry_1" p50_us)" "$(field "$echo_1" p50_us)")
p99_ratio=$(ratio "$(field "$ferry_1" p99_us)" "$(field "$echo_1" p99_us)")
plain_p50=$(ratio "$(field "$plain_1" p50_us)" "$(field "$echo_1" p50_us)")
plain_p99=$(ratio "$(field "$plain_1" p99_us)" "$(field "$echo_1" p99_us)")

printf '%-32s %14s %14s %8s %8s %s\n' "measure (payload ${payload} B)" echo ferry ratio goal verdict
printf '%-32s %14s %14s %8s %8s %s\n' "throughput @$high, calls/s" \
  "$(field "$echo_n" calls_per_s)" "$(field "$ferry_n" calls_per_s)" "$tp_ratio" ">= 0.5" \
  "$(verdict "$tp_ratio" ">=" 0.5)"
printf '%-32s %14s %14s %8s %8s %s\n' "p50 latency @1 (noop), us" \
  "$(field "$echo_1" p50_us)" "$(field "$ferry_1" p50_us)" "$p50_ratio" "<= 1.5" \
  "$(verdict "$p50_ratio" "<=" 1.5)"
printf '%-32s %14s %14s %8s %8s %s\n' "p99 latency @1 (noop), us" \
  "$(field "$echo_1" p99_us)" "$(field "$ferry_1" p99_us)" "$p99_ratio" "<= 1.5" \
  "$(verdict "$p99_ratio" "<=" 1.5)"
printf '%-32s %14s %14s %8s %8s %s\n' "p50 latency @1 (noop_plain), us" \
  "$(field "$echo_1" p50_us)" "$(field "$plain_1" p50_us)" "$plain_p50" "-" "-"
printf '%-32s %14s %14s %8s %8s %s\n' "p99 latency @1 (noop_plain), us" \
  "$(field "$echo_1" p99_us)" "$(field "$plain_1" p99_us)" "$plain_p99" "-" "-"
printf '%-32s %14s %14s\n' "p50 / p99 latency @$high, us" \
  "$(field "$echo_n" p50_us) / $(field "$echo_n" p99_us)" \
  "$(field "$ferry_n" p50_us) / $(field "$ferry_n" p99_us)"
