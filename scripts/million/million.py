#!/usr/bin/env python3
"""One server at a million concurrent connections, and where every byte goes.

Why: the staircase stops at 100k. At a million the kernel's part of a
connection is the whole story, and every limit of the machine shows: open
files per process, ports per source address, the listen backlog. This runs
one server at that size with the load tester as it is, and writes down
what the server, the tester and the kernel each held, slab by slab, with
the limits it met.

How:
- the server runs as enough processes on one port (`--reuse-port`) for its
  open-file limit, with a tenth more for the kernel's uneven spread of
  connections between them, and with its handshake and idle timeouts off
  (`--handshake-timeout 0 --idle-timeout 0`): a connection opened in the
  first second waits a minute and a half for the last one, idle, by design;
- `loadtest run` opens the connections at `--connect-rate` (over
  127.0.0.x, in as many processes as its own open-file limit needs),
  then sends ECHO open loop at `--rate` for `--duration`;
- meanwhile /proc/slabinfo, MemFree, the servers' and the tester's RSS
  and every process's CPU time are read every half second; each slab's growth is its peak less its size
  before the servers started, and what the machine's other processes took
  of the cores while the requests ran is their CPU time between the two
  samples around the request phase (the run saved by `--save` says when it
  started); second by second, ECHO's tail is shown beside the CPU the
  servers, the tester and the others took, to see who held the cores when
  answers were late.

`cargo xtask results refresh` runs it for 05 and 03 and stores the output
with the fingerprint of what it ran (this folder, the server and the
tester), like every other result. By hand:

    cargo build --release
    python3 scripts/million/million.py 05-event-loop -- ./target/release/05-event-loop

It takes a few minutes and, at a million connections, most of a 24 GiB
machine's memory for a while (the table says how much); it needs root for
/proc/slabinfo, and Linux.
"""
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

CONNECTIONS = 1_000_000
CONNECT_RATE = 10_000
RATE = 10_000
DURATION = "10s"
TIMEOUT = "30s"
PORT = 7990
FD_RESERVE = 64  # what a server keeps for itself (its --max-connections default)
SPREAD_HEADROOM = 1.1  # SO_REUSEPORT's hash fills some listeners fuller
SAMPLE_EVERY_S = 0.5
# The slabs a TCP connection grows, on either end.
SLABS_SHOWN = 8
# The processes other than the servers and the tester that took the most
# CPU while the requests ran.
OTHERS_SHOWN = 3
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def main():
    if "--" not in sys.argv[1:] or len(sys.argv) < 4:
        sys.exit("usage: million.py NAME [--connections N] -- SERVER_PROGRAM [ARGS...]")
    split = sys.argv.index("--")
    options, command = sys.argv[1:split], sys.argv[split + 1:]
    name = options[0]
    connections = CONNECTIONS
    if len(options) == 3 and options[1] == "--connections":
        connections = int(options[2])
    elif len(options) != 1:
        sys.exit("usage: million.py NAME [--connections N] -- SERVER_PROGRAM [ARGS...]")
    if not os.access("/proc/slabinfo", os.R_OK):
        sys.exit("error: /proc/slabinfo is not readable (run as root)")
    loadtest = os.environ.get("LOADTEST", "./target/release/loadtest")
    if not os.access(loadtest, os.X_OK):
        sys.exit(f"error: no load tester at {loadtest} (cargo build --release, or set LOADTEST)")
    print(measure(name, command, connections, loadtest))


def measure(name, command, connections, loadtest):
    fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    per_process = fd_limit - FD_RESERVE
    processes = math.ceil(connections * SPREAD_HEADROOM / per_process)
    scanner = proc_inodes_per_descriptor()
    before = Sample.now([])
    netstat_before = netstat()
    servers = start_servers(command, processes)
    sampler = Sampler([s.pid for s in servers])
    try:
        time.sleep(1.0)
        sampler.start()
        report, started_at = run_loadtest(loadtest, [s.pid for s in servers], connections)
    finally:
        sampler.stop()
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    netstat_after = netstat()
    server_pids = {s.pid for s in servers}
    others = sampler.others_between(started_at, started_at + report["duration_s"], server_pids)
    busiest_other = others[0][0][1] if others[0] else None
    seconds = sum(1 for interval in report.get("intervals", []) if interval.get("complete"))
    per_second = sampler.by_second(started_at, seconds, server_pids, busiest_other)
    return describe(name, connections, processes, fd_limit, report, before, sampler,
                    {k: netstat_after[k] - netstat_before.get(k, 0) for k in netstat_after},
                    scanner, others, (busiest_other, per_second))


SCANNER_PAIRS = 5000


def proc_inodes_per_descriptor():
    """How many `proc_inode_cache` objects a descriptor grows with no
    connection at all: socket pairs held for a few seconds. Nonzero when
    something on the machine lists every process's open files (/proc/PID/fd):
    that cost is the machine's, not a connection's."""
    def objects():
        with open("/proc/slabinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("proc_inode_cache "):
                    return int(line.split()[1])
        return 0
    import socket
    start = objects()
    pairs = [socket.socketpair() for _ in range(SCANNER_PAIRS)]
    time.sleep(3.0)
    grown = objects() - start
    for a, b in pairs:
        a.close()
        b.close()
    return grown / (2 * SCANNER_PAIRS)


def start_servers(command, processes):
    flags = ["--addr", f"127.0.0.1:{PORT}", "--reuse-port",
             "--handshake-timeout", "0", "--idle-timeout", "0"]
    return [subprocess.Popen(command + flags, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(processes)]


def run_loadtest(loadtest, pids, connections):
    """The run's report (`--json`) and when its requests started (from the
    run `--save` keeps)."""
    with tempfile.TemporaryDirectory() as scratch:
        saved = os.path.join(scratch, "run.json")
        args = [loadtest, "run", "--target", f"127.0.0.1:{PORT}", "-c", str(connections),
                "--connect-rate", str(CONNECT_RATE), "--rate", str(RATE), "-d", DURATION,
                "--timeout", TIMEOUT, "--allow-partial", "--json", "--save", saved]
        for pid in pids:
            args += ["--server-pid", str(pid)]
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        if done.returncode not in (0, 1):
            sys.exit(f"error: loadtest failed ({done.returncode})")
        with open(saved, encoding="utf-8") as f:
            started_at = json.load(f)["started_at"]
    return json.loads(done.stdout), started_at


class Sample:
    """The machine at one moment: slab bytes, MemAvailable, RSS."""

    def __init__(self, slabs, available, server_rss, tester_rss):
        self.slabs, self.available = slabs, available
        self.server_rss, self.tester_rss = server_rss, tester_rss

    @staticmethod
    def now(server_pids):
        slabs = {}
        with open("/proc/slabinfo", encoding="utf-8") as f:
            for line in f.readlines()[2:]:
                field = line.split()
                # active_objs × objsize: objects in use, not free slots an
                # earlier run left allocated.
                slabs[field[0]] = int(field[1]) * int(field[3])
        # MemFree, not MemAvailable: the kernel counts part of the socket
        # inodes and dentries as reclaimable, so MemAvailable hides them.
        with open("/proc/meminfo", encoding="utf-8") as f:
            available = int(re.search(r"MemFree:\s+(\d+)", f.read()).group(1)) * 1024
        server_rss = sum(rss(pid) for pid in server_pids)
        processes, at = every_process(), time.time()
        testers = [pid for pid, (comm, *_) in processes.items() if comm == "loadtest"]
        sample = Sample(slabs, available, server_rss, sum(rss(pid) for pid in testers))
        sample.socket_pages = socket_buffer_pages()
        sample.at, sample.processes = at, processes
        return sample


def socket_buffer_pages():
    """Pages of TCP buffer memory in use (/proc/net/sockstat's `mem`), what
    `net.ipv4.tcp_mem` limits."""
    with open("/proc/net/sockstat", encoding="utf-8") as f:
        found = re.search(r"^TCP:.*\bmem (\d+)", f.read(), re.M)
    return int(found.group(1)) if found else 0


def rss(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            found = re.search(r"VmRSS:\s+(\d+)", f.read())
        return int(found.group(1)) * 1024 if found else 0
    except OSError:
        return 0


def every_process():
    """pid -> (name, CPU seconds so far, start time in ticks) for every
    process on the machine."""
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    stat = f.read()
            except OSError:
                continue
            # The name is in parentheses and may hold spaces; utime and
            # stime are the 12th and 13th fields after it, the start time
            # the 20th.
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            processes[int(entry)] = (name, (int(rest[11]) + int(rest[12])) / TICKS_PER_S, int(rest[19]))
    return processes


class Sampler(threading.Thread):
    """Keeps each figure's peak (and MemAvailable's low) while the run goes."""

    def __init__(self, server_pids):
        super().__init__(daemon=True)
        self.server_pids, self.running = server_pids, True
        self.slabs, self.lowest_available = {}, None
        self.server_rss = self.tester_rss = self.socket_pages = 0
        # (when, every process's CPU so far), one per sample.
        self.cpu_seen = []

    def run(self):
        while self.running:
            self.take()
            time.sleep(SAMPLE_EVERY_S)
        # One more after the run, so that its last second has a sample
        # after it however soon the tester exited.
        self.take()

    def take(self):
        sample = Sample.now(self.server_pids)
        for slab, size in sample.slabs.items():
            self.slabs[slab] = max(self.slabs.get(slab, 0), size)
        self.lowest_available = min(self.lowest_available or sample.available, sample.available)
        self.server_rss = max(self.server_rss, sample.server_rss)
        self.tester_rss = max(self.tester_rss, sample.tester_rss)
        self.socket_pages = max(self.socket_pages, sample.socket_pages)
        self.cpu_seen.append((sample.at, sample.processes))

    def stop(self):
        self.running = False
        if self.is_alive():
            self.join()

    def others_between(self, start, end, server_pids):
        """The CPU seconds each process other than the servers, the tester
        and this script took from the last sample before `start` to the
        first after `end`, by name, most first; and that span's length."""
        before = [seen for seen in self.cpu_seen if seen[0] <= start]
        after = [seen for seen in self.cpu_seen if seen[0] >= end]
        if not before or not after:
            return [], 0.0
        (t0, first), (t1, last) = before[-1], after[0]
        by_name = cpu_taken(first, last, server_pids)[2]
        return sorted(((cpu, name) for name, cpu in by_name.items() if cpu > 0), reverse=True), t1 - t0

    def by_second(self, started_at, seconds, server_pids, busiest_other):
        """For each second of the requests, the cores the servers, the
        tester, `busiest_other` and every other process took, between the
        samples nearest that second's two ends."""
        def nearest(moment):
            return min(self.cpu_seen, key=lambda seen: abs(seen[0] - moment))
        if not self.cpu_seen:
            return [None] * seconds
        rows = []
        for second in range(seconds):
            (t0, first), (t1, last) = nearest(started_at + second), nearest(started_at + second + 1)
            if t1 <= t0:
                rows.append(None)
                continue
            servers, tester, others = cpu_taken(first, last, server_pids)
            busiest = others.pop(busiest_other, 0.0)
            rows.append(tuple(cpu / (t1 - t0) for cpu in (servers, tester, busiest, sum(others.values()))))
        return rows


def cpu_taken(first, last, server_pids):
    """The CPU seconds taken between two samples of every process: by the
    servers, by the tester, and by each other process name (this script
    left out)."""
    mine = os.getpid()
    servers = tester = 0.0
    others = {}
    for pid, (name, cpu, started) in last.items():
        # A process new since `first` took all of its CPU time in between;
        # a pid reused since is a new process (its start time says so,
        # not its name: a kernel worker's name changes with its work).
        _, earlier_cpu, earlier_start = first.get(pid, (name, 0.0, started))
        took = cpu - (earlier_cpu if earlier_start == started else 0.0)
        if pid in server_pids:
            servers += took
        elif name == "loadtest":
            tester += took
        elif pid != mine:
            others[name] = others.get(name, 0.0) + took
    return servers, tester, others


def netstat():
    """TcpExt's counters: listen overflows, SYN retransmits and the rest."""
    with open("/proc/net/netstat", encoding="utf-8") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


def sysctl(key):
    try:
        with open("/proc/sys/" + key.replace(".", "/"), encoding="utf-8") as f:
            return " ".join(f.read().split())
    except OSError:
        return "?"


def mib(size):
    return f"{size / 2**20:,.1f} MiB"


def ms(us):
    return f"{us / 1000:,.1f} ms" if us >= 1000 else f"{us} µs"


def echo_p99_by_second(report):
    """ECHO's p99 in the run's first second, and the worst of the others."""
    seconds = [i for i in report.get("intervals", []) if i.get("complete")]
    p99 = [i.get("by_request", {}).get("echo", {}).get("p99", 0) for i in seconds]
    if not p99:
        return None, None
    return p99[0], max(p99[1:], default=None)


def others_cpu(others):
    """`name 2.4 s (12% of 2 cores), …` over the sampled span."""
    taken, span = others
    if not taken:
        return "–"
    cores = os.cpu_count() or 1
    return ", ".join(f"`{name}` {cpu:,.1f} s ({cpu / (span * cores):.0%} of {cores} cores)"
                     for cpu, name in taken[:OTHERS_SHOWN]) + f" in {span:,.1f} s"


def seconds_table(report, busiest_other, per_second):
    """ECHO's tail beside the CPU each side took, second by second."""
    cores = os.cpu_count() or 1
    other = f"`{busiest_other}`" if busiest_other else "the busiest other"
    out = [f"Second by second while the requests ran: ECHO's p99 and slowest answer among the "
           f"answers that came in that second, and the CPU each took over the samples nearest "
           f"the second's two ends, in cores of the machine's {cores} (the samples are half a "
           f"second apart, so a row can blur into its neighbours):", "",
           f"| second | answers | ECHO p99 | slowest | servers | tester | {other} | every other process |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    seconds = [i for i in report.get("intervals", []) if i.get("complete")]
    for index, (interval, cpu) in enumerate(zip(seconds, per_second)):
        echo = interval.get("by_request", {}).get("echo", {})
        taken = " | ".join(f"{c:.2f}" for c in cpu) if cpu else "– | – | – | –"
        out.append(f"| {index + 1} | {interval['throughput_rps']:,.0f} | {ms(echo.get('p99', 0))} "
                   f"| {ms(echo.get('max', 0))} | {taken} |")
    return out + [""]


def describe(name, connections, processes, fd_limit, report, before, sampler, counters, scanner,
             others, by_second):
    held = report["handshakes_ok"]
    per = lambda size: f"{size / max(held, 1):,.0f} B"
    lat = report["latency_us"]
    server = report.get("server") or {}
    failures = {k: v for k, v in report["errors"].items() if v}
    tester = report["tester"]
    lag = tester.get("send_lag_p99_us")
    grown = sorted(((sampler.slabs.get(k, 0) - v, k) for k, v in before.slabs.items()),
                   reverse=True)
    kernel_total = sum(size for size, _ in grown if size > 0)
    scanner_part = max(dict((k, v) for v, k in grown).get("proc_inode_cache", 0), 0)
    used = before.available - (sampler.lowest_available or before.available)
    low, high = sysctl("net.ipv4.ip_local_port_range").split()
    sources = math.ceil(connections / ((int(high) - int(low) + 1) // 3))
    first, rest = echo_p99_by_second(report)
    first_second = "–" if first is None else f"{ms(first)} / {ms(rest) if rest is not None else '–'}"
    out = [f"### {name} at {connections:,} connections", ""]
    out += ["| what | figure |", "|---|---:|",
            f"| connections handshaked | {held:,} of {report['connections_requested']:,} |",
            f"| failures | {', '.join(f'{v:,} {k}' for k, v in failures.items()) or 'none'} |",
            f"| connect phase (open and handshake them all) | {report['connect_phase_s']:,.1f} s |",
            f"| connect p50 / p99 / max | {ms(lat['connect']['p50'])} / {ms(lat['connect']['p99'])} / {ms(lat['connect']['max'])} |",
            f"| handshake p99 | {ms(lat['handshake']['p99'])} |",
            f"| ECHO at {RATE:,}/s for {DURATION}: p50 / p99 / p99.9 | {ms(lat['request']['p50'])} / {ms(lat['request']['p99'])} / {ms(lat['request']['p999'])} |",
            f"| ECHO p99 in the first second / the worst other second | {first_second} |",
            f"| tester's send lag, p99 | {ms(lag) if lag is not None else '–'} |",
            f"| tester's CPU from every connection up to the last answer (a settling pause, the start's lead, the requests), all its processes | {tester['request_phase_cpu_s']:,.1f} s |",
            f"| the machine's other processes' CPU while the requests ran (to the half second around them), the three that took most | {others_cpu(others)} |",
            f"| server processes (`--reuse-port`) / tester processes | {processes} / {tester['processes']} |",
            f"| server RSS: peak, all its processes / the peak per connection / growth per connection | {mib(sampler.server_rss)} / {per(sampler.server_rss)} / {server.get('bytes_per_connection', 0):,} B |",
            f"| tester RSS: peak, all its processes / the peak per connection | {mib(sampler.tester_rss)} / {per(sampler.tester_rss)} |",
            f"| slab caches grown, each at its own peak (both ends, the whole machine) / per connection | {mib(kernel_total)} / {per(kernel_total)} |",
            f"| the same without `proc_inode_cache` (see below) / per connection | {mib(kernel_total - scanner_part)} / {per(kernel_total - scanner_part)} |",
            f"| TCP buffer memory in use at the peak (`/proc/net/sockstat`) | {sampler.socket_pages:,} pages |",
            f"| the parts together: both RSS peaks and the slab caches grown | {mib(sampler.server_rss + sampler.tester_rss + kernel_total)} |",
            f"| memory taken at the peak, MemFree's drop (less whatever page cache the kernel freed meanwhile) | {mib(used)} |",
            ""]
    out += seconds_table(report, *by_second)
    out += ["Slab caches that grew the most, objects in use (both ends of every connection; a connection has two sockets):", "",
            "| slab | grew | per connection |", "|---|---:|---:|"]
    out += [f"| `{slab}` | {mib(size)} | {per(size)} |" for size, slab in grown[:SLABS_SHOWN]]
    out += ["", f"`proc_inode_cache` objects per descriptor with no connection at all (socket pairs held "
            f"for 3 s before the run): {scanner:.2f}. Where this is near one, something on the machine "
            "lists every process's open files, and that slab's growth is the machine's, not the connections'.",
            "", "The limits it met:", "", "| limit | here | what it takes |", "|---|---:|---|",
            f"| open files per process | {fd_limit:,} | {processes} server processes, {tester['processes']} tester processes |",
            f"| ephemeral ports per source address | {low}–{high} | {sources} loopback source addresses, 127.0.0.1 and up (the tester's plan: a third of the range each) |",
            f"| listen backlog (`net.core.somaxconn`) | {sysctl('net.core.somaxconn')} | per listener; overflows during the run: {counters.get('ListenOverflows', 0):,} |",
            f"| SYN backlog (`net.ipv4.tcp_max_syn_backlog`) | {sysctl('net.ipv4.tcp_max_syn_backlog')} | SYN retransmits during the run: {counters.get('TCPSynRetrans', 0):,} |",
            f"| TCP buffer memory (`net.ipv4.tcp_mem`, pages) | {sysctl('net.ipv4.tcp_mem')} | in use at the peak: {sampler.socket_pages:,} pages |",
            ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
