package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

const (
	readChunk       = 4096                   // bytes one Read takes at most
	closeDrain      = 500 * time.Millisecond // reading and discarding after a final line
	resourceBackoff = 100 * time.Millisecond // pause when accept runs out of descriptors
)

// counters are the six of PROTOCOL.md, updated by every goroutine at once.
type counters struct {
	active, accepted, handshakes, requests, errors, rejected atomic.Int64
}

func (c *counters) String() string {
	return fmt.Sprintf("active=%d accepted=%d handshakes=%d requests=%d errors=%d rejected=%d",
		c.active.Load(), c.accepted.Load(), c.handshakes.Load(), c.requests.Load(), c.errors.Load(), c.rejected.Load())
}

// server is what every connection shares.
type server struct {
	cfg         config
	counters    counters
	connections sync.WaitGroup // every connection goroutine, rejected ones included
	stopping    atomic.Bool
	mu          sync.Mutex
	reading     map[net.Conn]bool // sockets a shutdown must wake from Read
}

func newServer(cfg config) *server {
	return &server{cfg: cfg, reading: make(map[net.Conn]bool)}
}

// acceptLoop gives each connection a goroutine until the listener closes.
// Over the limit, a connection is still accepted, told ERR busy and closed:
// a client never waits unserved in a queue it cannot see.
func (s *server) acceptLoop(listener net.Listener) {
	for {
		sock, err := listener.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			pauseIfExhausted(err)
			continue
		}
		s.counters.accepted.Add(1)
		s.connections.Add(1)
		// Only this goroutine adds to active, so check-then-add cannot overshoot.
		if s.counters.active.Load() >= int64(s.cfg.maxConnections) {
			s.counters.rejected.Add(1)
			go s.reject(sock.(*net.TCPConn))
			continue
		}
		s.counters.active.Add(1)
		go s.serve(sock.(*net.TCPConn), time.Now())
	}
}

// pauseIfExhausted handles a failed accept. Out of descriptors or kernel
// memory, the waiting connection stays queued and an immediate retry fails
// again: pause rather than spin, while served connections free descriptors.
// Any other error concerned one connection only.
func pauseIfExhausted(err error) {
	for _, exhausted := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, exhausted) {
			logf("WARN", "accept is out of resources; pausing error=%q pause=%v", err, resourceBackoff)
			time.Sleep(resourceBackoff)
			return
		}
	}
}

// beginShutdown stops accepting and wakes every goroutine blocked in Read.
// A goroutine in WORK or SLEEP is not interrupted: it sees the flag when it
// next goes to read, after answering every complete line it holds.
func (s *server) beginShutdown(listener net.Listener) {
	s.mu.Lock()
	s.stopping.Store(true)
	for sock := range s.reading {
		sock.SetReadDeadline(time.Now()) // Read returns at once, timed out
	}
	s.mu.Unlock()
	listener.Close()
}

func (s *server) setReading(sock net.Conn, reading bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reading {
		s.reading[sock] = true
	} else {
		delete(s.reading, sock)
	}
}

func (s *server) reject(sock *net.TCPConn) {
	defer s.connections.Done()
	sock.SetNoDelay(true)
	sock.Write([]byte("ERR busy\n"))
	closeGracefully(sock)
}

// serve is one connection's goroutine. Deferred calls run last first: the
// socket is closed, then active drops, then a shutdown stops waiting for it.
func (s *server) serve(sock *net.TCPConn, acceptedAt time.Time) {
	defer s.connections.Done()
	defer s.counters.active.Add(-1)
	defer sock.Close()
	sock.SetNoDelay(true) // Go's default already; PROTOCOL.md asks for it
	c := &conn{srv: s, sock: sock}
	if s.cfg.handshakeTimeout > 0 {
		c.deadline = acceptedAt.Add(s.cfg.handshakeTimeout)
	}
	s.setReading(sock, true)
	finalLineSent, _ := c.converse() // a reset is the client's business, not a log line
	s.setReading(sock, false)        // a shutdown must not cut the drain short
	if finalLineSent {
		closeGracefully(sock)
	}
}

// closeGracefully closes after a final line without destroying it: send
// FIN, read and discard what the client still sends for up to closeDrain
// (closing with unread bytes would send a reset), then close.
func closeGracefully(sock *net.TCPConn) {
	sock.CloseWrite()
	sock.SetReadDeadline(time.Now().Add(closeDrain))
	io.Copy(io.Discard, sock)
	sock.Close()
}

type phase int

const (
	awaitHello      phase = iota // waiting for HELLO <x>
	awaitFinalHello              // HELLO <x+1> sent, waiting for HELLO <x+2>
	ready                        // serving requests
	closed                       // a final line was sent; nothing more is read
)

// conn is one connection's protocol state: what protocol/src/session.rs
// keeps in Rust, driven here directly by the goroutine's blocking calls.
type conn struct {
	srv              *server
	sock             *net.TCPConn
	phase            phase
	expected         uint64    // the x+2 of the handshake
	pending          []byte    // bytes of an unfinished line
	out              []byte    // replies not yet written
	deadline         time.Time // a complete line must come before; zero: never times out
	restartIdleClock bool      // a line was handled since the last write
}

// converse answers every complete line, then reads more, until a final line
// is sent (true) or the client leaves (false).
func (c *conn) converse() (finalLineSent bool, err error) {
	chunk := make([]byte, readChunk)
	for {
		if err := c.answerCompleteLines(); err != nil || c.phase == closed {
			return c.phase == closed, err
		}
		if c.srv.stopping.Load() {
			return true, c.sendFinal("BYE") // every complete line read is answered
		}
		c.sock.SetReadDeadline(c.deadline)
		// A shutdown that came after the check above may have had its wake-up
		// overwritten by SetReadDeadline: look again before blocking.
		if c.srv.stopping.Load() {
			continue
		}
		n, err := c.sock.Read(chunk) // parks the goroutine until bytes, deadline or wake-up
		c.pending = append(c.pending, chunk[:n]...)
		switch {
		case n > 0 || c.srv.stopping.Load():
			continue // answer what came, or say BYE
		case errors.Is(err, os.ErrDeadlineExceeded) && c.phase == ready:
			return true, c.fail("ERR idle timeout")
		case errors.Is(err, os.ErrDeadlineExceeded):
			return true, c.fail("ERR handshake timeout")
		case err == io.EOF:
			return false, nil // half-closed: every complete line was answered
		default:
			return false, err
		}
	}
}

// answerCompleteLines handles the complete lines in pending, in order, and
// writes the replies; an unfinished line stays in pending.
func (c *conn) answerCompleteLines() error {
	start := 0
	for c.phase != closed {
		rest := c.pending[start:]
		newline := bytes.IndexByte(rest, '\n')
		if newline < 0 {
			if len(rest) > c.srv.cfg.maxLine { // never buffer without bound
				return c.fail("ERR line too long")
			}
			break
		}
		if newline+1 > c.srv.cfg.maxLine { // the limit counts the \r and \n
			return c.fail("ERR line too long")
		}
		start += newline + 1
		if err := c.handleLine(bytes.TrimSuffix(rest[:newline], []byte("\r"))); err != nil {
			return err
		}
	}
	c.pending = append(c.pending[:0], c.pending[start:]...)
	if len(c.pending) == 0 {
		c.pending = nil // an idle connection holds no line buffer
	}
	if err := c.flush(); err != nil {
		return err
	}
	if c.phase == ready && c.restartIdleClock { // the idle clock starts at the last answer
		c.deadline = time.Time{}
		if c.srv.cfg.idleTimeout > 0 {
			c.deadline = time.Now().Add(c.srv.cfg.idleTimeout)
		}
	}
	c.restartIdleClock = false
	return nil
}

func (c *conn) handleLine(raw []byte) error {
	if !utf8.Valid(raw) {
		return c.fail("ERR invalid utf-8")
	}
	line := string(raw)
	switch c.phase {
	case awaitHello:
		return c.firstHello(line)
	case awaitFinalHello:
		return c.finalHello(line)
	default:
		c.srv.counters.requests.Add(1)
		c.restartIdleClock = true
		return c.request(line)
	}
}

func (c *conn) firstHello(line string) error {
	x, ok := parseNumber(strings.TrimPrefix(line, "HELLO "))
	switch {
	case !strings.HasPrefix(line, "HELLO ") || !ok:
		return c.fail("ERR expected HELLO")
	case x > math.MaxUint64-2: // no room for x+2
		return c.fail("ERR sequence out of range")
	}
	c.phase, c.expected = awaitFinalHello, x+2
	c.reply("HELLO " + strconv.FormatUint(x+1, 10))
	return nil
}

// finalHello wants exactly HELLO <x+2>: plain decimal, nothing after it.
func (c *conn) finalHello(line string) error {
	want := "HELLO " + strconv.FormatUint(c.expected, 10)
	if line != want {
		return c.fail(fmt.Sprintf("ERR expected %s, got %s", want, line))
	}
	c.srv.counters.handshakes.Add(1)
	c.phase, c.restartIdleClock = ready, true
	return nil
}

// request answers one line after the handshake. Commands are case-sensitive
// prefixes; request errors keep the connection open.
func (c *conn) request(line string) error {
	switch {
	case strings.HasPrefix(line, "ECHO "):
		c.reply(line)
	case strings.HasPrefix(line, "WORK "):
		if units, ok := c.argument(line, "WORK ", c.srv.cfg.maxWork, "ERR work too large"); ok {
			c.reply(fmt.Sprintf("DONE %d %016x", units, work(units))) // holds a thread meanwhile
		}
	case strings.HasPrefix(line, "SLEEP "):
		if ms, ok := c.argument(line, "SLEEP ", c.srv.cfg.maxSleepMs, "ERR sleep too long"); ok {
			if err := c.flush(); err != nil { // the answers so far go out first
				return err
			}
			time.Sleep(time.Duration(ms) * time.Millisecond) // parks the goroutine
			c.reply("SLEPT " + strconv.FormatUint(ms, 10))
		}
	case line == "STATS":
		c.reply("STATS " + c.srv.counters.String())
	case line == "QUIT":
		return c.sendFinal("BYE")
	default:
		c.requestError("ERR unknown command")
	}
	return nil
}

// argument reads the number after prefix; if it is bad or over limit, it
// answers the request error and returns false.
func (c *conn) argument(line, prefix string, limit uint64, tooLarge string) (uint64, bool) {
	n, ok := parseNumber(line[len(prefix):])
	switch {
	case !ok:
		c.requestError("ERR bad number")
	case n > limit:
		c.requestError(tooLarge)
	}
	return n, ok && n <= limit
}

// parseNumber reads a protocol number: 1 to 20 ASCII digits that fit in a
// u64. (ParseUint alone would also take a leading +.)
func parseNumber(token string) (uint64, bool) {
	if len(token) == 0 || len(token) > 20 || strings.Trim(token, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(token, 10, 64)
	return n, err == nil
}

func (c *conn) reply(line string) { c.out = append(append(c.out, line...), '\n') }

func (c *conn) requestError(line string) {
	c.srv.counters.errors.Add(1)
	c.reply(line)
}

// fail sends an error that ends the connection.
func (c *conn) fail(line string) error {
	c.srv.counters.errors.Add(1)
	return c.sendFinal(line)
}

// sendFinal writes the pending replies and a last line; converse then closes.
func (c *conn) sendFinal(line string) error {
	c.phase = closed
	c.reply(line)
	return c.flush()
}

func (c *conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	_, err := c.sock.Write(c.out)
	c.out = c.out[:0]
	return err
}

// work is protocol/src/work.rs: 288 rounds of the SplitMix64 finaliser per
// unit, each waiting for the one before, so the digest matches bit for bit.
func work(units uint64) uint64 {
	state := units ^ 0x6a09e667f3bcc908
	for u := uint64(0); u < units; u++ {
		for round := 0; round < 288; round++ {
			z := state + 0x9e3779b97f4a7c15
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			state = z ^ (z >> 31)
		}
	}
	return state
}
