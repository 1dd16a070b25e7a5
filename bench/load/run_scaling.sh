#!/usr/bin/env bash
# The cluster benchmark (docs/benchmarks.md), on loopback:
#  1. scaling: ferryd as head, N ferry_bench_worker nodes (sleepy: 20 ms per
#     batch of up to 8, one batch at a time per node), for N in 1 2 4 8;
#     ferry_load keeps 64*N calls in flight; throughput as a ratio to N = 1.
#  2. remote versus local: at 1 call in flight, noop served by a server's own
#     pool (ferry_bench_server) against the same noop served by one worker
#     node (ferry_bench_server --join) through ferryd; p50/p99 and the
#     difference.
#
#   bench/load/run_scaling.sh                # after building build-bench
#
# Environment: FERRY_BUILD_DIR (default build-bench), RUN_SECONDS (measured
# window per run, default 3), NODES (default "1 2 4 8"), BENCH_KEEP_LOGS=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

run_s=${RUN_SECONDS:-3}
nodes_list=${NODES:-1 2 4 8}
bench_need "$BENCH_BIN/ferry_load" "$BENCH_BIN/ferry_bench_worker" \
  "$BENCH_BIN/ferry_bench_server" "$BENCH_FERRYD"

# start_head: ferryd on OS-chosen ports; sets head_ep and cluster_ep.
start_head() {
  bench_start head "$BENCH_FERRYD" --listen 'tcp://127.0.0.1:*' --cluster 'tcp://127.0.0.1:*'
  bench_wait_lines head out "ferry: ready" 1
  head_ep=$(bench_endpoint head "listening on")
  cluster_ep=$(bench_endpoint head "cluster on")
}

# -- 1. scaling ------------------------------------------------------------------
declare -A tp=() p50=() p99=()
for n in $nodes_list; do
  start_head
  for ((i = 1; i <= n; ++i))
  do
    bench_start "w$i" "$BENCH_BIN/ferry_bench_worker" --join "$cluster_ep" --node-name "w$i"
  done
  bench_wait_lines head err "joined serving" "$n" 30
  line=$(bench_load --endpoint "$head_ep" --fn sleepy --in-flight $((64 * n)) \
    --seconds "$run_s" --warmup-seconds 1 --payload-bytes 16)
  echo "nodes=$n $line"
  tp[$n]=$(field "$line" calls_per_s)
  p50[$n]=$(field "$line" p50_us)
  p99[$n]=$(field "$line" p99_us)
  for ((i = 1; i <= n; ++i)); do bench_stop "w$i"; done
  bench_stop head
done

# -- 2. remote versus local -------------------------------------------------------
lat_args=(--fn noop --in-flight 1 --seconds "$run_s" --warmup-seconds 0.5 --payload-bytes 16)
bench_start local "$BENCH_BIN/ferry_bench_server" --listen 'tcp://127.0.0.1:*'
bench_wait_lines local out "ferry: ready" 1
local_line=$(bench_load --endpoint "$(bench_endpoint local "listening on")" "${lat_args[@]}")
bench_stop local

start_head
bench_start node "$BENCH_BIN/ferry_bench_server" --join "$cluster_ep" --node-name n1
bench_wait_lines head err "joined serving" 1 30
remote_line=$(bench_load --endpoint "$head_ep" "${lat_args[@]}")
bench_stop node
bench_stop head
echo "local  $local_line"
echo "remote $remote_line"
echo

# -- tables -----------------------------------------------------------------------
first=${nodes_list%% *}
printf '%-6s %12s %12s %10s %9s %8s %12s %12s\n' nodes calls/s ideal "ratio/N=$first" "goal" verdict p50_ms p99_ms
for n in $nodes_list; do
  r=$(ratio "${tp[$n]}" "${tp[$first]}")
  goal=$(awk -v n="$n" -v f="$first" 'BEGIN { printf "%.2f", 0.9 * n / f }')
  ok=$(awk -v r="$r" -v g="$goal" 'BEGIN { print (r >= g ? "met" : "MISSED") }')
  ideal=$((400 * n)) # 8 calls per 20 ms batch per node, with no overhead at all
  printf '%-6s %12s %12s %10s %9s %8s %12.1f %12.1f\n' "$n" "${tp[$n]}" "$ideal" "$r" ">= $goal" \
    "$ok" "$(awk -v x="${p50[$n]}" 'BEGIN{print x/1000}')" "$(awk -v x="${p99[$n]}" 'BEGIN{print x/1000}')"
done
echo
printf '%-26s %12s %12s %12s %8s\n' "noop @1 in flight" local remote "remote-local" ratio
for q in p50_us p99_us; do
  l=$(field "$local_line" $q)
  r=$(field "$remote_line" $q)
  printf '%-26s %12s %12s %12s %8s\n' "$q" "$l" "$r" \
    "$(awk -v a="$r" -v b="$l" 'BEGIN { printf "%+.1f", a - b }')" "$(ratio "$r" "$l")"
done
