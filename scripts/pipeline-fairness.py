#!/usr/bin/env python3
"""Whether a pipelining client shares its requests fairly between its
connections, seen from the server's side.

A minimal ECHO server (the handshake and ECHO only, one selector loop) that
counts, for every connection, the requests it answered, the complete lines
each read brought, and the time between one read of a connection and its
next. Stop it with SIGTERM and it prints their distribution:

    python3 scripts/pipeline-fairness.py 7995 &
    ./target/release/loadtest run --target 127.0.0.1:7995 -c 64 --pipeline 16 -d 3s
    kill %1

A client that refills its window one request per answer shows a few lines
per read and long gaps at the tail (a connection cycles fast, then waits);
one that refills the whole window in one write shows N lines per read and
gaps of about one round of all connections. The book's method chapter ("A
tester that batches") reads it. (The largest gap includes the pause between
the handshakes and the first request.)"""
import selectors, signal, socket, sys, statistics, time

addr = ("127.0.0.1", int(sys.argv[1]))
sel = selectors.DefaultSelector()
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(addr)
listener.listen(4096)
listener.setblocking(False)
sel.register(listener, selectors.EVENT_READ)
state = {}  # sock -> [buffer, phase, x, count]
reads = {}
last = {}
gaps = {}
done = False


def stop(*_):
    global done
    done = True


signal.signal(signal.SIGTERM, stop)
print("listening", file=sys.stderr, flush=True)
while not done:
    for key, _ in sel.select(timeout=0.2):
        sock = key.fileobj
        if sock is listener:
            conn, _ = listener.accept()
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sel.register(conn, selectors.EVENT_READ)
            state[conn] = [b"", 0, 0, 0]
            reads[conn] = 0
            last[conn] = None
            gaps[conn] = []
            continue
        try:
            data = sock.recv(65536)
        except ConnectionError:
            data = b""
        if not data:
            sel.unregister(sock)
            sock.close()
            continue
        reads[sock] += 1
        now = time.monotonic()
        if last[sock] is not None and state[sock][1] == 2:
            gaps[sock].append(now - last[sock])
        last[sock] = now
        st = state[sock]
        st[0] += data
        out = []
        while b"\n" in st[0]:
            line, st[0] = st[0].split(b"\n", 1)
            if st[1] == 0:
                st[2] = int(line.split()[1])
                out.append(b"HELLO %d\n" % (st[2] + 1))
                st[1] = 1
            elif st[1] == 1:
                st[1] = 2
            else:
                st[3] += 1
                out.append(line + b"\n")
        if out:
            sock.sendall(b"".join(out))
counts = sorted(st[3] for st in state.values())
total = sum(counts)
if counts:
    print(
        f"connections {len(counts)} requests {total} per connection: "
        f"min {counts[0]} p10 {counts[len(counts)//10]} median {statistics.median(counts):.0f} "
        f"p90 {counts[len(counts)*9//10]} max {counts[-1]}; requests per read "
        f"{total / max(1, sum(reads.values())):.1f}"
    )
all_gaps = sorted(g for gs in gaps.values() for g in gs)
if all_gaps:
    n = len(all_gaps)
    print(
        f"gaps between a connection's reads: median {all_gaps[n//2]*1e3:.2f} ms "
        f"p90 {all_gaps[n*9//10]*1e3:.2f} ms p99 {all_gaps[n*99//100]*1e3:.2f} ms max {all_gaps[-1]*1e3:.1f} ms"
    )
