#!/usr/bin/env bash
# The seed scenario, end to end over the network: 16 concurrent calls of
# trim_words, each call of the function taking SLEEP_MS, batched (one batch of
# 16) and then unbatched (16 batches of one), with the wall times printed.
#   usage: examples/trim_words/seed_scenario.sh [SLEEP_MS [BUILD_DIR]]
#   (defaults: 5000, the seed's 5 s; build). Run .ci/bootstrap first.
set -euo pipefail
cd "$(dirname "$0")/../.."
sleep_ms="${1:-5000}"
build="${2:-build}"
server="$build/examples/trim_words/trim_words_server"
client="$build/examples/trim_words/seed_client"
for bin in "$server" "$client"; do
  [ -x "$bin" ] || { echo "missing $bin: run .ci/bootstrap first" >&2; exit 2; }
done

log="$(mktemp)"
"$server" --listen 'tcp://127.0.0.1:*' --sleep-ms "$sleep_ms" > "$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q "ferry: ready" "$log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
endpoint="$(awk '/listening on/ {print $4; exit}' "$log")"
echo "trim_words_server at $endpoint, ${sleep_ms} ms per function call"
"$client" --endpoint "$endpoint" --calls 16
