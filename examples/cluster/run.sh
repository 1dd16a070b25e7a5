#!/usr/bin/env bash
# A ferry cluster on loopback: the head daemon (ferryd) and three worker nodes
# (examples/cluster/worker.cpp) on ports the OS picks. Sends rounds of
# concurrent calls through the head's gateway with the `ferry` command-line
# client and prints which node served them; between rounds one node leaves
# gracefully (SIGTERM). Everything it started is stopped and reaped on exit,
# however the script ends.
#
#   .ci/bootstrap                # once, from the repository root: builds build/
#   examples/cluster/run.sh
#
# environment: FERRY_BUILD_DIR (default build), CALLS (calls per round,
# default 24), KEEP_LOGS=1 (keep the processes' logs and print where).
set -euo pipefail
cd "$(dirname "$0")/../.."

build="${FERRY_BUILD_DIR:-build}"
calls="${CALLS:-24}"
ferryd="$build/runtime/ferryd"
worker="$build/examples/cluster/cluster_worker"
cli=""
for candidate in "$build/clients/ferry" "$build/clients/cli/ferry"; do
  if [ -x "$candidate" ]; then
    cli="$candidate"
    break
  fi
done
for bin in "$ferryd" "$worker" "$cli"; do
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "run.sh: ${bin:-the ferry client} is not built; run .ci/bootstrap first" >&2
    exit 1
  fi
done

logs="$(mktemp -d "${TMPDIR:-/tmp}/ferry-cluster.XXXXXX")"
head_pid=""
declare -A node_pids=()
call_pids=()

# Stops the pids given (SIGTERM, then SIGKILL after 10 s) and reaps them.
stop() {
  local pid alive
  (($# > 0)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 100); do
    alive=0
    for pid in "$@"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  kill -KILL "$@" 2>/dev/null || true
  for pid in "$@"; do
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Calls still in flight, then the nodes, so each can leave while the head
  # is still there.
  stop "${call_pids[@]}"
  stop "${node_pids[@]}"
  [ -z "$head_pid" ] || stop "$head_pid"
  if [ "${KEEP_LOGS:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "logs: $logs" >&2
  else
    rm -rf "$logs"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for FILE TEXT: waits (up to 10 s) until FILE has a line containing TEXT.
wait_for() {
  for _ in $(seq 100); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: no '$2' in $1 after 10 s:" >&2
  cat "$1" >&2
  return 1
}

"$ferryd" --listen 'tcp://127.0.0.1:*' --cluster 'tcp://127.0.0.1:*' \
  --heartbeat-ms 100 --heartbeat-timeout-ms 1000 >"$logs/ferryd.log" 2>&1 &
head_pid=$!
wait_for "$logs/ferryd.log" "ferry: ready"
endpoint="$(sed -n 's/^ferry: listening on //p' "$logs/ferryd.log" | head -n 1)"
cluster="$(sed -n 's/^ferry: cluster on //p' "$logs/ferryd.log" | head -n 1)"
echo "ferryd: clients on $endpoint, worker nodes on $cluster"

for node in n1 n2 n3; do
  "$worker" --join "$cluster" --node-name "$node" --sleep-ms 200 >"$logs/$node.log" 2>&1 &
  node_pids[$node]=$!
  wait_for "$logs/ferryd.log" "ferry: node $node joined"
done
grep 'ferry: node .* joined' "$logs/ferryd.log" | sed 's/^/  /'

# round NAME: CALLS concurrent calls of embed; prints who served how many.
round() {
  local dir="$logs/$1" i failed=0
  mkdir -p "$dir"
  call_pids=()
  for i in $(seq "$calls"); do
    "$cli" call embed "text number $i" --endpoint "$endpoint" --timeout-ms 20000 \
      >"$dir/$i.out" 2>"$dir/$i.err" &
    call_pids+=($!)
  done
  for i in "${!call_pids[@]}"; do
    wait "${call_pids[$i]}" || { failed=$((failed + 1)); sed 's/^/  call failed: /' "$dir/$((i + 1)).err"; }
  done
  call_pids=()
  echo "$1: $calls concurrent calls of embed, $failed failed; served by:"
  # Each call prints its outputs one per line: the length, then "NODE".
  cat "$dir"/*.out | sed -n 's/^"\(.*\)"$/\1/p' | sort | uniq -c | sed 's/^ */  /'
  ((failed == 0))
}

round "round 1"

echo "n3 leaves (SIGTERM): its running calls finish first"
kill -TERM "${node_pids[n3]}"
if wait "${node_pids[n3]}"; then
  echo "  n3 exited with status 0"
else
  echo "  n3 exited with status $?"
fi
unset 'node_pids[n3]'
wait_for "$logs/ferryd.log" "ferry: node n3 left"
grep -E 'ferry: node n3 (leaving|left)' "$logs/ferryd.log" | sed 's/^/  /'

round "round 2"
