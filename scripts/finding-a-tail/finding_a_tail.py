#!/usr/bin/env python3
"""Where a slow ECHO's time goes under mixed-work: the kernel's scheduler.

Under 90% ECHO and 10% WORK of ~1 ms, a server that computes WORK on a
thread of its own (02, 04, 05) should answer an ECHO in microseconds: no
code of it makes an ECHO wait for a WORK. Yet the ECHO p99 was about a
millisecond, a WORK's length. This script records what the scheduler did
during one such run and shows where the waits were.

For each LABEL=BINARY it starts the server, loads it with the suite's
mixed-work load (100 connections, 2000 requests/s open loop, echo=90,work=10,
WORK of 1000 units), and records every context switch on every core with
`perf sched record` while the requests run. Then, from the trace's
switches and wake-ups, it takes every time a thread that answers ECHOs (the server's
threads and the tester's) was woken and had to wait more than half a
millisecond for a core, and says which thread held that core meanwhile, how
long that thread had been running, and whether another core sat idle.

    cargo build --release
    scripts/work-slices-before-after.sh      # also builds the "before" binaries
    sudo scripts/finding-a-tail/finding_a_tail.py \\
        "05, WORK in one piece=target/before-work-slices/release/05-event-loop" \\
        "05, WORK in slices=target/release/05-event-loop" \\
        "04, WORK in one piece=target/before-work-slices/release/04-hybrid-blocking" \\
        "04, WORK in slices=target/release/04-hybrid-blocking" \\
        > book/src/results/before/finding-a-tail.md

Needs perf with the sched tracepoints readable (root, or a low
kernel.perf_event_paranoid). About 20 seconds per binary. The figures come
from the raw `sched_switch` and `sched_waking` events (`perf script`):
`perf sched timehist` labels a core's idle stretches with the last task
that ran there, which would make an idle core look busy.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = subprocess.run(
    ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
).stdout.strip()
TESTER = os.path.join(ROOT, "target", "release", "loadtest")
PORT = 7998
LONG_WAIT_MS = 0.5  # a wait for a core longer than this is a tail event
BUSY_MS = 0.5  # a thread that ran this long without a break was computing


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("servers", nargs="+", metavar="LABEL=BINARY")
    parser.add_argument("--seconds", type=float, default=6.0, help="request phase (default 6)")
    parser.add_argument(
        "--echo-threads",
        default="event-loop|tokio-runtime-w",
        metavar="REGEX",
        help="the server's threads that answer ECHO, by name (default: 05's loops and Tokio's workers; "
        "the tester's threads always count)",
    )
    args = parser.parse_args()
    pairs = []
    for item in args.servers:
        label, sep, binary = item.partition("=")
        if not sep or not os.access(binary, os.X_OK):
            parser.error(f"{item!r} is not LABEL=BINARY with an executable BINARY")
        pairs.append((label, os.path.abspath(binary)))
    if not os.access(TESTER, os.X_OK):
        parser.error("run cargo build --release first (no target/release/loadtest)")
    return args, pairs


def record(binary, seconds, scratch, label):
    """One mixed-work run under `perf sched record`: the report, the trace,
    and the server's thread ids."""
    server = subprocess.Popen(
        [binary, "--addr", f"127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    report_path = os.path.join(scratch, f"{label}.json")
    trace_path = os.path.join(scratch, f"{label}.data")
    with open(report_path, "w") as report:
        tester = subprocess.Popen(
            [TESTER, "run", "--target", f"127.0.0.1:{PORT}", "-c", "100", "--rate", "2000",
             "-d", f"{seconds}s", "--mix", "echo=90,work=10", "--work-units", "1000",
             "--server-pid", str(server.pid), "--json"],
            stdout=report,
            stderr=subprocess.DEVNULL,
        )
        # The connections are up within a second; record the middle of the
        # request phase.
        time.sleep(1.5)
        perf = subprocess.run(
            ["perf", "sched", "record", "-a", "-o", trace_path, "--", "sleep", str(max(seconds - 2.5, 1.0))],
            capture_output=True,
            text=True,
        )
        server_threads = {int(tid) for tid in os.listdir(f"/proc/{server.pid}/task")}
        tester.wait()
    server.terminate()
    server.wait()
    if perf.returncode != 0:
        sys.exit(f"error: perf sched record failed (root needed?): {perf.stderr.strip()[-300:]}")
    with open(report_path) as report:
        return json.load(report), trace_path, server_threads


EVENT = re.compile(r"^\s*\[(\d+)\]\s+(\d+\.\d+):\s+sched:(sched_switch|sched_waking):\s+(.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")


def events(trace_path):
    """The trace's switches and wake-ups, in time order."""
    out = subprocess.run(
        ["perf", "script", "-i", trace_path, "-F", "cpu,time,event,trace"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        match = EVENT.match(line)
        if match:
            cpu, at, kind, rest = match.groups()
            if kind == "sched_switch":
                prev, _, nxt = rest.partition("==>")
                prev_fields = dict(FIELD.findall(prev))
                next_fields = dict(FIELD.findall(nxt))
                yield (float(at), int(cpu), kind, prev_fields, next_fields)
            else:
                yield (float(at), int(cpu), kind, dict(FIELD.findall(rest)), None)


def analyse(trace_path, server_threads, echo_threads):
    """Every stretch each core ran a task, and every wait of an ECHO thread
    (the server's threads, the tester's) from its wake-up (or preemption) to
    the moment it ran again."""
    running = {}  # cpu -> (tid, comm, since)
    lanes = {}  # cpu -> [(start, end, tid, comm)]
    waiting = {}  # tid -> since
    waits = []
    names = {}

    def answers_echoes(tid):
        name = names.get(tid, "")
        return name == "loadtest" or (tid in server_threads and re.search(echo_threads, name))

    for at, cpu, kind, a, b in events(trace_path):
        if kind == "sched_waking":
            tid = int(a["pid"])
            names[tid] = a["comm"]
            # Waking a thread that is running changes nothing.
            if not any(t == tid for t, _, _ in running.values()):
                waiting.setdefault(tid, at)
            continue
        prev_tid, next_tid = int(a["prev_pid"]), int(b["next_pid"])
        names[prev_tid], names[next_tid] = a["prev_comm"], b["next_comm"]
        if cpu in running:
            tid, comm, since = running[cpu]
            lanes.setdefault(cpu, []).append((since, at, tid, comm))
        running[cpu] = (next_tid, b["next_comm"], at)
        if a.get("prev_state", "").startswith("R") and prev_tid != 0:
            waiting[prev_tid] = at  # preempted: runnable, waiting from now
        else:
            waiting.pop(prev_tid, None)  # it went to sleep
        woke = waiting.pop(next_tid, None)
        if woke is not None and answers_echoes(next_tid):
            waits.append((next_tid, cpu, woke, at))
    return lanes, waits, names


def overlap(lo, hi, start, end):
    return max(0.0, min(hi, end) - max(lo, start))


def summarise(lanes, waits, names, server_threads):
    long_waits = []
    for tid, cpu, woke, start in waits:
        if (start - woke) * 1000 <= LONG_WAIT_MS:
            continue
        # Who held the core the thread finally ran on, meanwhile: the task
        # that ran there longest within the wait.
        best = None
        for s, e, holder, comm in lanes.get(cpu, []):
            share = overlap(woke, start, s, e)
            if holder != 0 and share > 0 and (best is None or share > best[0]):
                best = (share, holder, comm, e - s)
        idle = sum(
            overlap(woke, start, s, e)
            for other, lane in lanes.items() if other != cpu
            for s, e, holder, _ in lane if holder == 0
        )
        long_waits.append({
            "side": "server" if tid in server_threads else "tester",
            "thread": names.get(tid, str(tid)),
            "delay_ms": (start - woke) * 1000,
            "holder": best[2] if best else "`<idle>`",
            "holder_ran_ms": best[3] * 1000 if best else 0.0,
            "holder_is_server": bool(best and best[1] in server_threads),
            "idle_share": idle / max(start - woke, 1e-9),
            "cpu": cpu,
            "woke": woke,
            "start": start,
        })
    delays = sorted((start - woke) * 1000 for _, _, woke, start in waits)
    return long_waits, len(waits), delays


def timeline(shown, by_cpu):
    """The cores around one wait, as text."""
    lo, hi = shown["woke"] - 0.0001, shown["start"] + 0.00005
    lines = [f"{'µs from the wake-up':>20}  " + "  ".join(f"{'CPU ' + str(c):<28}" for c in sorted(by_cpu))]
    events = []
    for cpu, lane in by_cpu.items():
        for start, end, tid, comm in lane:
            if end > lo and start < hi:
                name = "idle" if tid == 0 else comm
                events.append((max(start, lo), cpu, (name, start, end)))
    for at, cpu, (name, start, end) in sorted(events)[:30]:
        cells = []
        for c in sorted(by_cpu):
            if c == cpu:
                what = f"{name} runs {(end - start) * 1e6:.0f} µs"
                cells.append(f"{what:<28}")
            else:
                cells.append(" " * 28)
        lines.append(f"{(at - shown['woke']) * 1e6:>20.0f}  " + "  ".join(cells))
    lines.append(
        f"{(shown['start'] - shown['woke']) * 1e6:>20.0f}  "
        f"the {shown['side']}'s {shown['thread']} gets CPU {shown['cpu']} at last"
    )
    return "\n".join(lines)


def main():
    args, pairs = parse_args()
    rows, shown_of = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for label, binary in pairs:
            print(f"recording {label}…", file=sys.stderr)
            report, trace, server_threads = record(binary, args.seconds, scratch, label)
            lanes, all_waits, names = analyse(trace, server_threads, args.echo_threads)
            waits, wakeups, delays = summarise(lanes, all_waits, names, server_threads)
            by_cpu = lanes
            echo_p99 = report.get("by_request", {}).get("echo", {}).get("p99")
            behind_work = [w for w in waits if w["holder_ran_ms"] > BUSY_MS and w["holder_is_server"]]
            holders = {}
            for w in waits:
                holders[w["holder"]] = holders.get(w["holder"], 0) + 1
            rows.append({
                "label": label,
                "binary": os.path.relpath(binary, ROOT),
                "echo_p99_ms": echo_p99 / 1000 if echo_p99 else None,
                "wakeups": wakeups,
                "p99_delay_ms": delays[int(0.99 * (len(delays) - 1))] if delays else None,
                "waits": len(waits),
                "server_waits": sum(1 for w in waits if w["side"] == "server"),
                "behind_work": len(behind_work),
                "holders": holders,
                "idle": statistics.median([w["idle_share"] for w in waits]) if waits else None,
            })
            if behind_work and not shown_of:
                # One of the first run's waits behind a WORK, drawn as a
                # timeline: the typical one (the median wait among those
                # where another core sat idle at least half the time), not
                # the rarest, which is often perf writing its own buffer.
                pool = [w for w in behind_work if w["idle_share"] >= 0.5] or behind_work
                pool.sort(key=lambda w: w["delay_ms"])
                shown_of[label] = (pool[len(pool) // 2], by_cpu)
    print_markdown(rows, shown_of, args.seconds, args.echo_threads)


def print_markdown(rows, shown_of, seconds, echo_threads):
    def f(x, digits=2):
        return "–" if x is None else f"{x:.{digits}f}"

    print("| run | ECHO p99 (tester), ms | wake-ups of ECHO threads | their p99 wait for a core, ms "
          f"| waits over {LONG_WAIT_MS} ms (server's / tester's) | of those, behind a server thread that had run "
          f"over {BUSY_MS} ms (a WORK) | who held the core, most often | another core idle meanwhile (median share) |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for r in rows:
        holders = ", ".join(f"{name} ×{n}" for name, n in sorted(r["holders"].items(), key=lambda kv: -kv[1])[:3]) or "–"
        idle = "–" if r["idle"] is None else f"{r['idle'] * 100:.0f}%"
        print(f"| {r['label']} (`{r['binary']}`) | {f(r['echo_p99_ms'])} | {r['wakeups']} | {f(r['p99_delay_ms'], 3)} "
              f"| {r['waits']} ({r['server_waits']} / {r['waits'] - r['server_waits']}) | {r['behind_work']} | {holders} | {idle} |")
    for label, (shown, by_cpu) in shown_of.items():
        print(f"\nA typical wait behind a WORK in **{label}** (the median of those where another core sat "
              f"idle at least half the time): {shown['delay_ms']:.2f} ms, the {shown['side']}'s "
              f"thread `{shown['thread']}` woken and waiting for CPU {shown['cpu']} (each line: a thread "
              f"starts running on a core, and for how long):\n")
        print("```text")
        print(timeline(shown, by_cpu))
        print("```")
    cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n*Measured {date} on {cpu_model} ({os.cpu_count()} cores, client and server sharing both) by "
          f"`scripts/finding-a-tail/finding_a_tail.py`: one mixed-work run per row (100 connections, 2000 "
          f"requests/s open loop, echo=90,work=10, WORK of 1000 units, {seconds:.0f} s), every context switch "
          f"recorded with `perf sched record` for the middle {max(seconds - 2.5, 1.0):.1f} s; the ECHO threads are "
          f"the tester's and the server's named by `--echo-threads` ({echo_threads}); a wait runs from a thread's "
          f"wake-up (or preemption) to the moment it runs.*")


if __name__ == "__main__":
    main()
