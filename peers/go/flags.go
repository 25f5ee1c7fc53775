package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

const defaultAddr = "127.0.0.1:7806"

// config holds the flags, with the Rust servers' names and defaults.
type config struct {
	addr             string
	reusePort        bool
	maxConnections   uint64 // 0 until main derives it from the open-file limit
	maxLine          int
	handshakeTimeout time.Duration // 0 disables it
	idleTimeout      time.Duration // 0 disables it
	shutdownGrace    time.Duration // 0: close at once
	maxWork          uint64
	maxSleepMs       uint64
}

// parseFlags reads the command line or exits: 0 after --help, 2 after a bad
// flag. The flag package accepts --name value and --name=value. Values are
// taken as text and checked below, so that an error names the flag the way
// the user typed it (--idle-timeout), as the Rust servers' errors do; the
// flag package's own message would say -idle-timeout.
func parseFlags(args []string) config {
	fs := flag.NewFlagSet(model, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // help and errors are printed our way, below
	cfg := config{}
	var maxConns, maxLine, handshake, idle, grace, maxWork, maxSleep string
	fs.StringVar(&cfg.addr, "addr", defaultAddr, "address to listen on, `IP:PORT`")
	fs.BoolVar(&cfg.reusePort, "reuse-port", false, "let several processes listen on the same port (SO_REUSEPORT)")
	fs.StringVar(&maxConns, "max-connections", "", "most connections served at once, `N`; one more is answered ERR busy and closed [default: the open-file limit less 64]")
	fs.StringVar(&maxLine, "max-line", "4096", "longest line in `BYTES`, counting its \\r and \\n; a longer one closes the connection")
	fs.StringVar(&handshake, "handshake-timeout", "10s", "time from accept to a finished handshake, a `DURATION` (0 disables)")
	fs.StringVar(&idle, "idle-timeout", "60s", "time a handshaked connection may stay without a complete line, a `DURATION` (0 disables)")
	fs.StringVar(&grace, "shutdown-grace", "5s", "on SIGINT/SIGTERM, the time connections get to finish, a `DURATION` (0: close at once)")
	fs.StringVar(&maxWork, "max-work", "1000000", "most `UNITS` one WORK request may ask for (about 1 µs each)")
	fs.StringVar(&maxSleep, "max-sleep", "1000", "longest SLEEP in milliseconds, `MS`")

	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs)
		os.Exit(0)
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		exitWithError(err.Error())
	}
	if maxConns != "" {
		cfg.maxConnections = checkedNumber("max-connections", maxConns, 1)
	}
	cfg.maxLine = int(checkedNumber("max-line", maxLine, 1))
	cfg.handshakeTimeout = checkedDuration("handshake-timeout", handshake)
	cfg.idleTimeout = checkedDuration("idle-timeout", idle)
	cfg.shutdownGrace = checkedDuration("shutdown-grace", grace)
	cfg.maxWork = checkedNumber("max-work", maxWork, 0)
	cfg.maxSleepMs = checkedNumber("max-sleep", maxSleep, 0)
	return cfg
}

// printHelp writes to standard output: help is what the user asked for.
func printHelp(fs *flag.FlagSet) {
	fmt.Printf("%s: the handshake/echo protocol of PROTOCOL.md, a goroutine per connection.\n"+
		"Try it with `nc 127.0.0.1 7806`. Stop it with Ctrl-C: it answers what it has read,\n"+
		"says BYE, and prints its final counters.\n\nUsage: %s [OPTIONS]\n\nOptions:\n", model, model)
	fs.VisitAll(func(f *flag.Flag) {
		valueName, usage := flag.UnquoteUsage(f)
		if f.DefValue != "" && f.DefValue != "false" {
			usage += " [default: " + f.DefValue + "]"
		}
		fmt.Printf("  --%-30s %s\n", f.Name+" "+valueName, usage)
	})
	fmt.Printf("  --%-30s %s\n", "help", "print this help")
}

func exitWithError(message string) {
	fmt.Fprintf(os.Stderr, "error: %s\n\nFor more information, try '--help'.\n", message)
	os.Exit(2)
}

func checkedNumber(name, value string, min uint64) uint64 {
	n, err := strconv.ParseUint(value, 10, 64)
	if err != nil || n < min {
		hint := "write a whole number"
		if min > 0 {
			hint += fmt.Sprintf(" of at least %d", min)
		}
		exitWithError(fmt.Sprintf("invalid value %q for --%s: %s", value, name, hint))
	}
	return n
}

func checkedDuration(name, value string) time.Duration {
	d, err := parseDuration(value)
	if err != nil {
		exitWithError(fmt.Sprintf("invalid value %q for --%s: %v", value, name, err))
	}
	return d
}

// parseDuration reads a duration as common/src/duration.rs does: 10s,
// 500ms, 1.5s, 1m30s, 2h, or a bare number of seconds (time.ParseDuration
// refuses those). Forms with units go to time.ParseDuration once only the
// units the Rust servers know are left: no ns, us, nor a sign.
func parseDuration(text string) (time.Duration, error) {
	bad := errors.New("write it like 10s, 500ms, 1.5s or 1m30s")
	if strings.Trim(text, "0123456789.eE+-") == "" {
		seconds, err := strconv.ParseFloat(text, 64)
		if err != nil || !(seconds >= 0 && seconds*1e9 < math.MaxInt64) { // NaN fails too
			return 0, bad
		}
		return time.Duration(math.Round(seconds * 1e9)), nil
	}
	if strings.Trim(text, "0123456789.msh") != "" {
		return 0, bad
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, bad
	}
	return d, nil
}
