#!/usr/bin/env bash
# SIGTERM to every server while `loadtest run` loads it: the server must
# answer what it read, say BYE, and exit 0; the tester must count the BYEs as
# closed_by_server (never as wrong answers) and report when the server's
# process ended. Prints one line per server. Loopback only; about 10 s each.
#
#   cargo build --release && cargo xtask peers   # first
#   scripts/sigterm-under-load.sh [CONNECTIONS]  # default 500
set -euo pipefail
cd "$(dirname "$0")/.."
connections="${1:-500}"
bin=target/release
port=7990

seconds() { case "$1" in -) echo "-" ;; *) printf '%.2f s' "$1" ;; esac; }
field() { grep -oE "\"$1\": [0-9.]+" "$2" | head -n 1 | grep -oE '[0-9.]+$' || echo "-"; }

start_server() {
  case "$1" in
    go-peer) exec "$bin/../peers/go-peer" --addr "127.0.0.1:$port" ;;
    node-peer) exec node peers/node/server.js --addr "127.0.0.1:$port" ;;
    02-per-connection) exec "$bin/02-thread-pool" --per-connection --addr "127.0.0.1:$port" ;;
    *) exec "$bin/$1" --addr "127.0.0.1:$port" ;;
  esac
}

printf '%-20s %-12s %-13s %-16s %-10s %-12s %s\n' server exit wrong_answer closed_by_server unanswered "exit after" answered
for server in 01-single-thread 02-thread-pool 02-per-connection 03-async-tokio 04-hybrid-blocking 05-event-loop go-peer node-peer; do
  case "$server" in
    go-peer) [ -x target/peers/go-peer ] || { echo "$server: not built (cargo xtask peers)"; continue; } ;;
    node-peer) command -v node >/dev/null || { echo "$server: node is not installed"; continue; } ;;
  esac
  port=$((port + 1))
  out="$(mktemp)"
  start_server "$server" >"$out.server" 2>/dev/null &
  pid=$!
  sleep 1
  # 01 serves one connection at a time: load it with one; 02's pool serves
  # 128 at once: load it with 100.
  c="$connections"
  [ "$server" = 01-single-thread ] && c=1
  [ "$server" = 02-thread-pool ] && [ "$c" -gt 100 ] && c=100
  "$bin/loadtest" run --target "127.0.0.1:$port" -c "$c" --rate 5000 -d 10s \
    --server-pid "$pid" --json >"$out" 2>/dev/null &
  tester=$!
  sleep 4
  kill -TERM "$pid"
  status=0; wait "$pid" || status=$?
  wait "$tester" || true
  printf '%-20s %-12s %-13s %-16s %-10s %-12s %s\n' "$server" "status $status" \
    "$(field wrong_answer "$out")" "$(field closed_by_server "$out")" \
    "$(field unanswered "$out")" "$(seconds "$(field server_exited_after_s "$out")")" "$(field requests_ok "$out")"
  rm -f "$out" "$out.server"
done
