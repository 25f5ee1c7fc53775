#!/usr/bin/env python3
"""One ECHO request's system calls in one server, as strace shows them.

Why: the cost table says how many system calls a request costs each model
on average; this shows which ones, in order, thread by thread, so that the
book can say where a model's extra calls come from (a read that only hears
`EAGAIN`, a wake-up of another thread) instead of guessing.

How: the server runs under `strace -f`; one client connects, handshakes and
sends 200 `ECHO r<i>` requests one at a time, each after the last answer.
The calls that started between the server's read of request 50 and its read
of request 150 are counted (100 requests, all warm), and the calls of
request 100 are printed, from its read to the read of the next one. With
one connection and one request at a time, every request wakes the server:
under load, one wait returns many ready sockets and its cost is shared.
strace stops the server at every call, so only the calls and their order
mean anything here, not time.

`cargo xtask results refresh` runs it for the servers of the book's
"What one request costs" and stores the output with the fingerprint of
what it ran (this folder and the server), like every other result. By hand:

    cargo build --release && cargo xtask peers
    python3 scripts/one-request/one_request.py c-peer -- ./target/peers/c-peer
    python3 scripts/one-request/one_request.py 05-event-loop -- ./target/release/05-event-loop

Needs strace (Debian: apt-get install strace) and Linux.
"""
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REQUESTS = 200
COUNTED = (50, 150)  # from the read of one request to the read of the other
SHOWN = 100


def main():
    if "--" not in sys.argv[1:] or len(sys.argv) < 4:
        sys.exit("usage: one_request.py NAME -- SERVER_PROGRAM [ARGS...]")
    split = sys.argv.index("--")
    name, command = sys.argv[1], sys.argv[split + 1:]
    if shutil.which("strace") is None:
        sys.exit("error: strace is not installed (Debian: apt-get install strace)")
    with tempfile.TemporaryDirectory() as scratch:
        trace = os.path.join(scratch, "trace")
        run_traced(command, trace)
        with open(trace, encoding="utf-8", errors="replace") as file:
            calls = parse(file.read().splitlines())
    print(describe(name, calls))


def run_traced(command, trace):
    """Starts the server under strace, runs the client, stops the server."""
    port = free_port()
    strace = subprocess.Popen(
        ["strace", "-f", "-qq", "-s", "40", "-o", trace, "--", *command,
         "--addr", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        wait_until_listening(strace)
        talk(port)
    finally:
        server = child_of(strace.pid)
        if server:
            os.kill(server, signal.SIGTERM)
        try:
            strace.wait(timeout=20)
        except subprocess.TimeoutExpired:
            strace.kill()
            sys.exit("error: the server did not stop within 20 s of SIGTERM")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(strace):
    """Reads the server's log until its startup line, then drains the rest
    in the background (a full pipe would block the server)."""
    listening = threading.Event()

    def read_logs():
        for line in strace.stderr:
            if "listening" in line:
                listening.set()

    threading.Thread(target=read_logs, daemon=True).start()
    if not listening.wait(timeout=20):
        strace.kill()
        sys.exit("error: the server never logged that it was listening")


def talk(port):
    """The handshake, then REQUESTS echoes, one at a time."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = client.makefile("rb")
        client.sendall(b"HELLO 1\n")
        expect(lines, b"HELLO 2\n")
        client.sendall(b"HELLO 3\n")
        for i in range(REQUESTS):
            request = f"ECHO r{i}\n".encode()
            client.sendall(request)
            expect(lines, request)
        client.sendall(b"QUIT\n")
        expect(lines, b"BYE\n")
    time.sleep(0.2)


def expect(lines, wanted):
    got = lines.readline()
    if got != wanted:
        sys.exit(f"error: the server answered {got!r}, not {wanted!r}")


def child_of(pid):
    """The program strace started (its only child)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            children = file.read().split()
    except OSError:
        return None
    return int(children[0]) if children else None


CALL = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")


def parse(lines):
    """Each line of the trace as (thread, call, text, started, finished):
    a call strace split in two (another thread ran in between) starts on
    its `<unfinished ...>` line and finishes on its `resumed` line."""
    calls = []
    for line in lines:
        match = CALL.match(line)
        if not match:
            continue  # signals, exits
        thread = int(match.group(1))
        resumed = match.group(2)
        text = line[match.end(1):].strip()
        unfinished = text.endswith("<unfinished ...>")
        calls.append((thread, resumed or match.group(3), text, not resumed, not unfinished))
    return calls


def read_of(calls, request):
    """The index of the line where the server's read of this request ends."""
    needle = f'"ECHO r{request}\\n"'
    for index, (_, call, text, _, finished) in enumerate(calls):
        if finished and needle in text and call in READS:
            return index
    sys.exit(f"error: no read of ECHO r{request} in the trace")


READS = {"read", "recvfrom", "recvmsg", "readv"}


def describe(name, calls):
    start, end = read_of(calls, COUNTED[0]), read_of(calls, COUNTED[1])
    counted = collections.Counter(
        call for _, call, _, started, _ in calls[start + 1:end + 1] if started)
    requests = COUNTED[1] - COUNTED[0]
    total = sum(counted.values()) / requests
    each = ", ".join(f"`{call}` {n / requests:.2f}" for call, n in counted.most_common())
    shown = calls[read_of(calls, SHOWN):read_of(calls, SHOWN + 1)]
    threads = {}
    for thread, *_ in shown:
        threads.setdefault(thread, f"T{len(threads) + 1}")
    listing = "\n".join(
        f"{threads[thread]:>3}  {shorten(text)}" for thread, _, text, _, _ in shown)
    return (f"**{name}**: {total:.2f} system calls per request ({each}), "
            f"counted over requests {COUNTED[0] + 1}–{COUNTED[1]}. Request {SHOWN}, "
            f"from its read to the read of the next one (T1, T2: the server's threads, "
            f"in the order they appear):\n\n```text\n{listing}\n```\n")


def shorten(text):
    """Pointers and the unfinished/resumed markers say nothing here."""
    text = re.sub(r"0x[0-9a-f]{6,}", "0x…", text)
    text = text.replace(" <unfinished ...>", " …")
    return re.sub(r"^<\.\.\. (\w+) resumed>", r"… \1 returns:", text)


if __name__ == "__main__":
    main()
