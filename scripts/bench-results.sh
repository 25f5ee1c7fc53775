#!/usr/bin/env bash
# Runs `cargo bench` and writes its figures to book/src/results/bench.txt,
# stamped with the date, the commit and the machine, for the book's
# comparison chapter. Takes a few minutes; run it on an otherwise idle
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."

out=book/src/results/bench.txt
log="$(mktemp)"
cargo bench --bench models 2>&1 | tee "$log"
{
  printf 'cargo bench --bench models, %s, commit %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)"
  printf '%s, %s cores shared by client and server\n\n' \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)"
  # The benchmark ids and their time and throughput lines.
  grep -E '^(handshake|echo|echo_under_work|protocol)/|^ +(time|thrpt):' "$log"
} > "$out"
echo "wrote $out"
