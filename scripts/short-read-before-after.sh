#!/usr/bin/env bash
# 05 before and after the short-read refinement, measured side by side.
#
# Why: 05 used to read until the socket said WouldBlock; it now stops after
# a short read (05's chapter, "The refinement"). Two suite runs an hour
# apart cannot say what that changed: the kernel's cost per request moves
# between runs more than the change does. So this script builds 05 as it
# was (commit BEFORE, default the last one before the change) beside 05 as
# it is, and measures both in interleaved rounds, exactly like the suite's
# throughput step: pinned, the server on CPU 1 and the tester on CPU 0, 64
# connections, closed loop, ECHO. It prints a Markdown table: the median of
# the rounds with their range, for the server's CPU and system calls per
# request and the requests per second.
#
#   cargo build --release
#   scripts/short-read-before-after.sh [ROUNDS] > book/src/results/before/05-short-read.md
#
# Needs git, perf (for the system calls; without it that column is empty)
# and python3 (to read the JSON). Takes about a minute after the build.
set -euo pipefail

BEFORE="${BEFORE:-573b90b}"
ROUNDS="${1:-5}"
root="$(git rev-parse --show-toplevel)"
cd "$root"
now_bin="$root/target/release/05-event-loop"
tester="$root/target/release/loadtest"
[ -x "$now_bin" ] && [ -x "$tester" ] || { echo "error: run cargo build --release first" >&2; exit 1; }

scratch="$(mktemp -d)"
cleanup() { git worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT
echo "building 05 at $BEFORE (the read-until-WouldBlock version)…" >&2
git worktree add -q "$scratch/tree" "$BEFORE"
(cd "$scratch/tree" && CARGO_TARGET_DIR="$root/target/before-short-read" cargo build --release -q -p event-loop)
before_bin="$root/target/before-short-read/release/05-event-loop"

measure() { # $1: label, $2: binary, $3: round
  local port=7996
  taskset -c 1 "$2" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  "$tester" run --target "127.0.0.1:$port" -c 64 -d 4s --tester-cores 0 \
    --server-pid "$pid" --json > "$scratch/$1-$3.json" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  # The order alternates, so neither version always runs first.
  if [ $((round % 2)) -eq 1 ]; then
    measure before "$before_bin" "$round"; measure after "$now_bin" "$round"
  else
    measure after "$now_bin" "$round"; measure before "$before_bin" "$round"
  fi
done

python3 - "$scratch" "$ROUNDS" "$BEFORE" "$(git rev-parse --short HEAD)" <<'PY'
import json, statistics, sys, datetime, os
scratch, rounds, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def runs(label):
    return [json.load(open(os.path.join(scratch, f"{label}-{r}.json"))) for r in range(1, rounds + 1)]
def cell(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
print("| 05 | reads | server CPU µs per request | system calls per request | requests/s |")
print("|---|---|---:|---:|---:|")
for label, commit, rule in (("before", before, "until `WouldBlock`"), ("after", after, "until `WouldBlock` or a short read")):
    rs = runs(label)
    cpu = [r["server"]["user_cpu_us_per_request"] + r["server"]["kernel_cpu_us_per_request"] for r in rs]
    calls = [r["server"].get("syscalls_per_request") for r in rs]
    rps = [r["throughput_rps"] for r in rs]
    print(f"| {label} (`{commit}`) | {rule} | {cell(cpu, 2)} | {cell(calls, 2)} | {cell(rps, 0)} |")
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"\n*Measured {date} on {cpu_model} ({os.cpu_count()} cores, client and server on the same machine) "
      f"by `scripts/short-read-before-after.sh {rounds}`: {rounds} rounds, the two versions taking turns, "
      f"pinned (server on CPU 1, tester on CPU 0), 64 connections, closed-loop ECHO, 4 s each; median (range).*")
PY
