#!/usr/bin/env bash
# 02, 04 and 05 under mixed-work before and after WORK yields the core
# between slices (`protocol::work_yielding`), measured side by side.
#
# Why: under 90% ECHO and 10% WORK of ~1 ms, an ECHO waited ~1 ms at p99 in
# every model that computes WORK on a thread of its own, though none of
# them makes an ECHO wait for a WORK. The wait was the kernel's scheduler:
# a thread computing a WORK held its core for the whole millisecond while
# the thread that had the ECHO to handle (the server's loop or connection
# thread, or the tester's) sat queued behind it (the comparison chapter,
# "Finding a tail", has the trace). Two suite runs an hour apart cannot
# show what the change did, so this script builds the three servers as
# they were (commit BEFORE: the last one computing WORK in one piece)
# beside the servers as they are, and measures both in interleaved rounds
# with the suite's mixed-work load: 100 connections, 2000 requests/s open
# loop, echo=90,work=10, WORK of 1000 units, 6 s, client and server sharing
# both cores. It prints a Markdown table: for each server and version, the
# median of the rounds with their range for ECHO's p99 and WORK's p50, and
# whether every WORK's digest was right.
#
#   cargo build --release
#   scripts/work-slices-before-after.sh [ROUNDS] > book/src/results/before/work-slices.md
#
# Needs git and python3 (to read the JSON). Takes about four minutes for
# three rounds after the build.
set -euo pipefail

BEFORE="${BEFORE:-66b1c63}"
ROUNDS="${1:-3}"
SERVERS=(02-thread-pool 04-hybrid-blocking 05-event-loop)
root="$(git rev-parse --show-toplevel)"
cd "$root"
tester="$root/target/release/loadtest"
for server in "${SERVERS[@]}"; do
  [ -x "$root/target/release/$server" ] || { echo "error: run cargo build --release first" >&2; exit 1; }
done
[ -x "$tester" ] || { echo "error: run cargo build --release first" >&2; exit 1; }

scratch="$(mktemp -d)"
cleanup() { git worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT
echo "building 02, 04 and 05 at $BEFORE (WORK in one piece)…" >&2
git worktree add -q "$scratch/tree" "$BEFORE"
(cd "$scratch/tree" && CARGO_TARGET_DIR="$root/target/before-work-slices" \
  cargo build --release -q -p thread-pool -p hybrid-blocking -p event-loop)
before_dir="$root/target/before-work-slices/release"
after_dir="$root/target/release"

measure() { # $1: label, $2: folder of binaries, $3: server, $4: round
  local port=7997
  "$2/$3" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
  local pid=$!
  sleep 0.5
  "$tester" run --target "127.0.0.1:$port" -c 100 --rate 2000 -d 6s \
    --mix echo=90,work=10 --work-units 1000 \
    --server-pid "$pid" --json > "$scratch/$1-$3-$4.json" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$ROUNDS"); do
  for server in "${SERVERS[@]}"; do
    echo "round $round of $ROUNDS: $server" >&2
    # The order alternates, so neither version always runs first.
    if [ $((round % 2)) -eq 1 ]; then
      measure before "$before_dir" "$server" "$round"; measure after "$after_dir" "$server" "$round"
    else
      measure after "$after_dir" "$server" "$round"; measure before "$before_dir" "$server" "$round"
    fi
  done
done

python3 - "$scratch" "$ROUNDS" "$BEFORE" "$(git rev-parse --short HEAD)" "${SERVERS[@]}" <<'PY'
import json, statistics, sys, datetime, os
scratch, rounds, before, after, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
def runs(label, server):
    out = []
    for r in range(1, rounds + 1):
        try:
            out.append(json.load(open(os.path.join(scratch, f"{label}-{server}-{r}.json"))))
        except (OSError, ValueError):
            pass
    return out
def ms(us):
    return f"{us / 1000:.2f}"
def cell(values):
    if not values:
        return "–"
    return f"{ms(statistics.median(values))} ({ms(min(values))}–{ms(max(values))})"
def p(run, kind, q):
    return run.get("by_request", {}).get(kind, {}).get(q)
medians = {}
print("| server | WORK computed | ECHO p99, ms | WORK p50, ms | rounds | wrong digests | requests failed |")
print("|---|---|---:|---:|---:|---:|---:|")
for server in servers:
    for label, commit, how in (("before", before, "in one piece"), ("after", after, "in slices of 64 units, yielding between")):
        rs = runs(label, server)
        echo = [p(r, "echo", "p99") for r in rs if p(r, "echo", "p99") is not None]
        work = [p(r, "work", "p50") for r in rs if p(r, "work", "p50") is not None]
        wrong = sum(r["errors"]["wrong_answer"] for r in rs)
        failed = sum(sum(r["errors"].values()) for r in rs)
        medians[(server, label)] = statistics.median(echo) if echo else None
        print(f"| {server} | {how} (`{commit}`) | {cell(echo)} | {cell(work)} | {len(rs)} | {wrong} | {failed} |")
ref = medians.get(("04-hybrid-blocking", "after"))
if ref:
    parts = []
    for server in servers:
        if server == "04-hybrid-blocking":
            continue
        m = medians.get((server, "after"))
        if m:
            parts.append(f"{server} {m / ref:.1f}× 04's")
    print(f"\nAfter the change, median ECHO p99 against 04's in the same rounds: {', '.join(parts)}.")
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"\n*Measured {date} on {cpu_model} ({os.cpu_count()} cores, client and server sharing both) "
      f"by `scripts/work-slices-before-after.sh {rounds}`: {rounds} rounds, each server's two versions taking turns, "
      f"100 connections, 2000 requests/s open loop, echo=90,work=10, WORK of 1000 units, 6 s each; "
      f"median (range) of the rounds.*")
PY
