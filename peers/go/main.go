// Command go-peer serves the handshake/echo protocol (PROTOCOL.md at the
// repository's root) with a goroutine per connection.
//
// Why it exists: the Rust servers compare OS threads (02) with Tokio tasks
// (03, 04). Go's goroutine is the other well-known answer, and this peer
// lets the same conformance suite and load tester measure it. It mirrors the
// Rust servers' behaviour byte for byte, with the standard library only.
//
// The model: each connection gets a goroutine running plain blocking code
// (read, answer, read again), the shape of 02's thread. But the Go runtime
// multiplexes goroutines over a few OS threads (GOMAXPROCS, one per core)
// with its netpoller (epoll): a Read on a socket with no data parks the
// goroutine, not the thread, which runs other goroutines meanwhile. So the
// code reads like 02 and waits like 03: an idle connection costs a small
// goroutine stack and its read buffer, not a thread.
//
// WORK and SLEEP run inline in the connection's goroutine. time.Sleep parks
// the goroutine too, so SLEEP holds no thread here (std::thread::sleep in
// 02 and 03 does). WORK holds one of the GOMAXPROCS threads while it
// computes, but the runtime preempts it every few milliseconds, so other
// goroutines still get turns; an inline WORK in 03 keeps its Tokio worker
// until it finishes.
//
// Files: main.go (start, signals, exit), flags.go (flags and durations),
// conn.go (the accept loop and one connection's conversation).
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const model = "go-peer"

// soReusePort is SO_REUSEPORT on Linux; Go's syscall package lacks the name.
const soReusePort = 0xf

// Logs go to standard error: standard output holds only the final line.
var logger = log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)

func logf(level, format string, args ...any) {
	logger.Printf(level+" "+model+": "+format, args...)
}

func main() {
	cfg := parseFlags(os.Args[1:])
	fdLimit := raiseFDLimit()
	if cfg.maxConnections == 0 { // keep 64 descriptors back, as the Rust servers do
		cfg.maxConnections = 1
		if fdLimit > 64 {
			cfg.maxConnections = fdLimit - 64
		}
	}
	listener, err := listen(cfg.addr, cfg.reusePort)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: cannot listen on %s: %v\n", cfg.addr, err)
		os.Exit(1)
	}
	// Before the startup line, so that a signal sent as soon as it shows is caught.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)

	srv := newServer(cfg)
	logf("INFO", "listening addr=%s model=%q max_connections=%d reuse_port=%t fd_limit=%d gomaxprocs=%d; a goroutine per connection, WORK and SLEEP inline in it",
		listener.Addr(), model, cfg.maxConnections, cfg.reusePort, fdLimit, runtime.GOMAXPROCS(0))
	acceptDone := make(chan struct{})
	go func() {
		srv.acceptLoop(listener)
		close(acceptDone)
	}()

	logf("INFO", "shutting down signal=%v grace=%v", <-signals, cfg.shutdownGrace)
	srv.beginShutdown(listener)
	// The hard edge: exit when the grace period ends, even if a goroutine is
	// still in WORK or SLEEP (os.Exit does not wait for goroutines).
	time.AfterFunc(cfg.shutdownGrace, func() {
		logf("WARN", "grace period over: closing the connections still open")
		exitWithFinalCounters(srv)
	})
	go func() {
		<-signals
		exitWithFinalCounters(srv) // a second signal: at once
	}()
	<-acceptDone // from here on no connection is added, so Wait is safe
	srv.connections.Wait()
	exitWithFinalCounters(srv)
}

var exitOnce sync.Once

// exitWithFinalCounters prints the last line and exits 0. Three paths race
// to it (all done, grace over, second signal): the first one wins; the
// others block in Do until the process is gone.
func exitWithFinalCounters(srv *server) {
	exitOnce.Do(func() {
		fmt.Printf("final counters: %s\n", srv.counters.String())
		os.Exit(0)
	})
}

// raiseFDLimit raises the soft open-file limit to the hard one and returns
// the limit in force. (Since Go 1.19 the os package does this at start;
// doing it here makes it visible and reports the result.)
func raiseFDLimit() uint64 {
	var limit syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit) != nil {
		return 1024
	}
	if limit.Cur < limit.Max {
		raised := syscall.Rlimit{Cur: limit.Max, Max: limit.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			logf("WARN", "could not raise the open-file limit from %d: %v", limit.Cur, err)
			return limit.Cur
		}
		return raised.Cur
	}
	return limit.Cur
}

// listen binds the listening socket. With reusePort, several processes may
// listen on the same port and the kernel spreads connections between them.
func listen(addr string, reusePort bool) (net.Listener, error) {
	config := net.ListenConfig{Control: func(_, _ string, raw syscall.RawConn) error {
		var err error
		if reusePort {
			raw.Control(func(fd uintptr) {
				err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
			})
		}
		return err
	}}
	return config.Listen(context.Background(), "tcp", addr)
}
