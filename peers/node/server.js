#!/usr/bin/env node
// A reference peer: the handshake/echo protocol (PROTOCOL.md at the root) served
// by Node.js on its one event loop. Run it with `node peers/node/server.js`
// and talk to it with `nc 127.0.0.1 7807`, or point the load tester at it.
//
// # Why this peer exists
//
// The Rust servers compare concurrency models inside one language. This file
// adds the model many web back ends run on: Node's single event loop (libuv,
// epoll underneath). It is the model of 03-async-tokio started with
// `--workers 1`. A connection waiting for bytes is a socket object and a few
// callbacks, not a thread, so idle connections are cheap. But a callback runs
// until it returns: while one connection's `WORK` computes or its `SLEEP`
// blocks, every other connection waits, because no other thread serves them.
// Same protocol, same counters, same trap: compare the two under load.
//
// # Two threads, and why
//
// A blocked event loop cannot run a signal handler either, yet PROTOCOL.md
// wants the process to exit within the grace period even during a
// `SLEEP 60000`. So the protocol's event loop (the listener and every
// connection) runs in ONE worker thread, and the main thread only parses the
// flags, waits for SIGINT/SIGTERM, runs the grace watchdog and prints the
// final line. The Rust binaries do the same: their signal handling and grace
// watchdog are a thread of their own (common/src/signals.rs), never one of
// the threads that serve. The counters live in a SharedArrayBuffer, so the
// main thread can read them while the worker is stuck.
//
// Where it knowingly differs from the Rust servers: WORK costs about 4x more
// CPU (u64 arithmetic on 32-bit halves); there is no --reuse-port (Node 20
// cannot set SO_REUSEPORT) and no --workers; a timeout over 2^31 ms (24.8
// days) counts as none; and out of file descriptors, libuv closes waiting
// connections instead of pausing accept (see the server's 'error' handler).
//
// Standard modules only (Node 20). Logs go to stderr; stdout carries only the
// final counters line.
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const MODEL = 'node-peer';
const DEFAULT_ADDR = '127.0.0.1:7807';
const U64_MAX = (1n << 64n) - 1n;
const CLOSE_DRAIN_MS = 500; // protocol::CLOSE_DRAIN
const FD_RESERVE = 64; // common::limits::FD_RESERVE
const BACKLOG = 4096; // common::listen::BACKLOG
// setTimeout cannot wait longer (about 24.8 days); a longer timeout is "never".
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEBUG = /debug|trace/i.test(process.env.RUST_LOG ?? '');

// ---- Logging: one line per event on stderr, written synchronously -------

function log(level, message) {
  // fs.writeSync, not process.stderr: a worker's process.stderr is relayed
  // through the main thread and could be lost when the process exits.
  try {
    fs.writeSync(2, `${new Date().toISOString()} ${level.padStart(5)} ${MODEL}: ${message}\n`);
  } catch { /* nowhere left to report it */ }
}
const debug = (message) => DEBUG && log('DEBUG', message);

// ---- The counters, shared between the two threads ------------------------

const COUNTER_NAMES = ['active', 'accepted', 'handshakes', 'requests', 'errors', 'rejected'];

class Counters {
  constructor(buffer = new SharedArrayBuffer(8 * COUNTER_NAMES.length)) {
    this.buffer = buffer;
    this.cells = new BigInt64Array(buffer);
  }
  add(name, delta = 1n) {
    Atomics.add(this.cells, COUNTER_NAMES.indexOf(name), delta);
  }
  toString() {
    return COUNTER_NAMES.map((name, i) => `${name}=${Atomics.load(this.cells, i)}`).join(' ');
  }
}

// ---- Flags: the Rust servers' long flags, with the same defaults ---------

const DURATION_HINT = 'write it like 10s, 500ms, 1.5s or 1m30s';

// flag: [value name, parser, one line of --help]
const FLAGS = {
  '--addr': ['IP:PORT', parseAddr, `Address to listen on [default: ${DEFAULT_ADDR}]`],
  '--max-connections': ['N', (t) => parseWhole(t, 1n),
    'Most connections served at once; one more gets `ERR busy` [default: open-file limit - 64]'],
  '--max-line': ['BYTES', (t) => parseWhole(t, 1n),
    'Longest line, counting its \\r and \\n; longer: `ERR line too long` [default: 4096]'],
  '--handshake-timeout': ['DURATION', parseDuration,
    'Time from accept to a finished handshake (0 disables) [default: 10s]'],
  '--idle-timeout': ['DURATION', parseDuration,
    'Time a handshaked connection may go without a complete line (0 disables) [default: 60s]'],
  '--shutdown-grace': ['DURATION', parseDuration,
    'On SIGINT/SIGTERM, time open connections get to finish (0: close at once) [default: 5s]'],
  '--max-work': ['UNITS', (t) => parseWhole(t, 0n),
    'Most units one WORK may ask for (~1 µs each in Rust, ~5 µs here) [default: 1000000]'],
  '--max-sleep': ['MS', (t) => parseWhole(t, 0n), 'Longest SLEEP in milliseconds [default: 1000]'],
};

const HELP = `node-peer: the handshake/echo protocol on Node's one event loop.

Every connection is served by one event loop thread; WORK and SLEEP run on
it and stall every other connection (like 03-async-tokio with --workers 1).
Stop it with Ctrl-C: it answers what it has read, says BYE, and prints its
final counters.

Usage: node peers/node/server.js [OPTIONS]

Options:
${Object.entries(FLAGS)
    .map(([flag, [value, , help]]) => `  ${`${flag} <${value}>`.padEnd(30)} ${help}`).join('\n')}
  ${'-h, --help'.padEnd(30)} Print this help

Flags take \`--flag value\` or \`--flag=value\`. There is no --reuse-port:
Node 20's net module cannot set SO_REUSEPORT (the listen option reusePort
arrived in Node 22.12). There is no --workers: one event loop is the model.
`;

/** Parses the command line, or exits: 0 after --help, 2 on a bad flag. */
function parseCommandLine(args) {
  if (args.includes('--help') || args.includes('-h')) {
    fs.writeSync(1, HELP);
    process.exit(0);
  }
  const given = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].startsWith('--') && args[i].includes('=')
      ? [args[i].slice(0, args[i].indexOf('=')), args[i].slice(args[i].indexOf('=') + 1)]
      : [args[i], undefined];
    if (!(flag in FLAGS)) usageError(`unexpected argument '${args[i]}' (see --help)`);
    const [valueName, parse] = FLAGS[flag];
    const text = inline ?? args[++i];
    if (text === undefined) usageError(`a value is required for '${flag} <${valueName}>'`);
    if (flag in given) usageError(`the argument '${flag}' cannot be used multiple times`);
    try {
      given[flag] = parse(text);
    } catch (reason) {
      usageError(`invalid value "${text}" for ${flag}: ${reason}`);
    }
  }
  return {
    addr: given['--addr'] ?? parseAddr(DEFAULT_ADDR),
    maxConnections: given['--max-connections'], // undefined: from the fd limit
    maxLine: Number(given['--max-line'] ?? 4096n),
    handshakeTimeoutMs: given['--handshake-timeout'] ?? 10_000,
    idleTimeoutMs: given['--idle-timeout'] ?? 60_000,
    shutdownGraceMs: given['--shutdown-grace'] ?? 5_000,
    maxWork: given['--max-work'] ?? 1_000_000n,
    maxSleep: given['--max-sleep'] ?? 1000n,
  };
}

function usageError(message) {
  fs.writeSync(2, `error: ${message}\n`);
  process.exit(2); // what clap exits with on a usage error
}

/** `IP:PORT` or `[IPv6]:PORT`, like Rust's SocketAddr (no host names). */
function parseAddr(text) {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  const [host, port] = match ? [match[1] ?? match[2], Number(match[3])] : [];
  const ipOk = match && (match[1] === undefined ? net.isIPv4(host) : net.isIPv6(host));
  if (!ipOk || port > 65535) throw 'write it like 127.0.0.1:7807 or [::1]:7807';
  return { host, port, text };
}

function parseWhole(text, min) {
  const value = /^[0-9]+$/.test(text) ? BigInt(text) : -1n;
  if (value < min || value > U64_MAX) throw `write a whole number from ${min} to ${U64_MAX}`;
  return value;
}

/**
 * A duration in milliseconds, read as common/src/duration.rs reads it: a
 * bare number is seconds, else numbers with units ms, s, m, h (`1m30s`).
 */
function parseDuration(input) {
  const fail = (reason) => `${reason} (${DURATION_HINT})`;
  if (input === '') throw fail('it is empty');
  // What Rust's f64::from_str accepts: sign, inf, nan, 1., .5, 1e3.
  if (/^[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)$/i.test(input)) {
    return secondsToMs(/inf/i.test(input) ? Infinity : Number(input), fail);
  }
  const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let totalMs = 0;
  for (let rest = input; rest !== '';) {
    const [, number, unit, next] = /^([0-9.]*)([^0-9.]*)(.*)$/s.exec(rest);
    if (unit === '') throw fail('the last number has no unit');
    if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(number)) throw fail('a number is missing');
    if (!(unit in UNITS)) throw fail('units are ms, s, m and h');
    totalMs += secondsToMs(Number(number) * UNITS[unit], fail);
    if (totalMs / 1000 >= 2 ** 64) throw fail('it is out of range');
    rest = next;
  }
  return totalMs;
}

function secondsToMs(seconds, fail) {
  // Duration::try_from_secs_f64 refuses NaN, infinities, negatives, > u64.
  if (!(seconds >= 0 && seconds < 2 ** 64)) throw fail('it is out of range');
  return seconds * 1000;
}

/** The soft open-file limit. Node already raised it to the hard limit at
 * startup, as common::limits::raise_fd_limit does for the Rust servers. */
function openFileLimit() {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\S+)/m.exec(limits)[1];
    return soft === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(soft);
  } catch {
    return 1024;
  }
}

const formatAddr = ({ address, port }) =>
  (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
const formatMs = (ms) => (ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`);

// ---- The main thread: flags, signals, grace watchdog, final line ---------

function runMain() {
  const options = parseCommandLine(process.argv.slice(2));
  const fdLimit = openFileLimit();
  const maxConnections = options.maxConnections !== undefined
    ? Number(options.maxConnections) // beyond 2^53 it is "no limit" anyway
    : Math.max(1, fdLimit - FD_RESERVE);
  const counters = new Counters();
  const worker = new Worker(__filename, {
    workerData: { options: { ...options, maxConnections }, counterBuffer: counters.buffer },
  });
  let stopping = false;
  let finalPrinted = false;
  let graceTimer = null;

  const printFinalCounters = () => {
    if (finalPrinted) return;
    finalPrinted = true;
    try { fs.writeSync(1, `final counters: ${counters}\n`); } catch { /* stdout closed */ }
  };
  // process.exit ends the worker too, even mid-SLEEP or mid-WORK: V8 wakes
  // an Atomics.wait and interrupts a running loop to terminate a thread.
  const exitNow = (code = 0) => {
    printFinalCounters();
    process.exit(code);
  };

  worker.on('message', (message) => {
    if (message.type === 'listening') {
      log('INFO', `listening addr=${message.addr} model="${MODEL}" `
        + `max_connections=${maxConnections} fd_limit=${fdLimit}; `
        + 'one event loop thread for every connection, WORK and SLEEP inline on it');
    } else if (message.type === 'listen-failed') {
      fs.writeSync(2, `error: cannot listen on ${options.addr.text}: ${message.reason}\n`);
      process.exit(1);
    } else if (message.type === 'done') {
      debug('every connection is closed');
    }
  });
  worker.on('error', (error) => {
    log('ERROR', `the event loop thread failed: ${error.stack ?? error}`);
    exitNow(1);
  });
  // The normal ending: the worker closed everything and its loop ran empty.
  worker.on('exit', () => {
    if (!stopping) exitNow(1); // it should only end when told to
    printFinalCounters();
    clearTimeout(graceTimer);
    // Nothing else holds the main loop (signal listeners do not), so the
    // process exits here with status 0: proof that no handle lingers.
  });

  const onSignal = (signal) => {
    if (stopping) {
      log('INFO', `second ${signal}: exiting at once`);
      exitNow(0);
    }
    stopping = true;
    log('INFO', `shutting down signal=${signal} grace=${formatMs(options.shutdownGraceMs)}`);
    worker.postMessage('shutdown');
    // The watchdog. With --shutdown-grace 0 it fires at once, as in Rust
    // (whose watchdog sleeps 0): the worker may just manage to say BYE.
    graceTimer = setTimeout(() => {
      log('WARN', 'grace period over: closing the connections still open');
      exitNow(0);
    }, Math.min(options.shutdownGraceMs, MAX_TIMER_MS));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// ---- work(units): protocol::work, bit for bit ----------------------------
//
// The Rust digest is u64 arithmetic. BigInt would be exact but allocates on
// every step (about 100x slower), so the 64-bit state is kept as two 32-bit
// halves, and each wrapping multiply is built from 32-bit pieces.

const ROUNDS_PER_UNIT = 288;

/** High 32 bits of the low 64 bits of (aHigh:aLow) * (bHigh:bLow). */
function mulHigh(aHigh, aLow, bHigh, bLow) {
  // aLow * bLow needs all 64 bits; a double holds 53, so split into 16-bit
  // limbs (each partial product < 2^32, exact) and add up the carries.
  const a0 = aLow & 0xffff, a1 = aLow >>> 16, b0 = bLow & 0xffff, b1 = bLow >>> 16;
  const low = a0 * b0, mid1 = a1 * b0, mid2 = a0 * b1;
  const carry = ((low >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  // The cross terms only reach the high half, and only modulo 2^32.
  return (a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16) + carry
    + Math.imul(aHigh, bLow) + Math.imul(aLow, bHigh)) | 0;
}

/** work(units) as 16 lower-case hex digits. */
function work(units) {
  let high = Number(units >> 32n) ^ 0x6a09e667; // units ^ 0x6a09e667f3bcc908
  let low = Number(units & 0xffffffffn) ^ 0xf3bcc908;
  const rounds = Number(units) * ROUNDS_PER_UNIT;
  for (let i = 0; i < rounds; i++) {
    // One SplitMix64 finaliser round, as in protocol/src/work.rs.
    // z = x + 0x9e3779b97f4a7c15, carrying out of the low half:
    let l = (low + 0x7f4a7c15) | 0;
    let h = (high + 0x9e3779b9 + ((l >>> 0) < (low >>> 0) ? 1 : 0)) | 0;
    // z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
    l ^= (l >>> 30) | (h << 2); h ^= h >>> 30;
    h = mulHigh(h, l, 0xbf58476d, 0x1ce4e5b9); l = Math.imul(l, 0x1ce4e5b9);
    // z = (z ^ (z >> 27)) * 0x94d049bb133111eb
    l ^= (l >>> 27) | (h << 5); h ^= h >>> 27;
    h = mulHigh(h, l, 0x94d049bb, 0x133111eb); l = Math.imul(l, 0x133111eb);
    // z ^ (z >> 31)
    low = l ^ ((l >>> 31) | (h << 1)); high = h ^ (h >>> 31);
  }
  const hex = (half) => (half >>> 0).toString(16).padStart(8, '0');
  return hex(high) + hex(low);
}

/** SLEEP: truly block this thread, as a synchronous library call would. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));
const blockThisThread = (ms) => Atomics.wait(SLEEP_CELL, 0, 0, Number(ms));

/** A protocol number: 1 to 20 ASCII digits whose value fits in a u64. */
function parseNumber(token) {
  if (!/^[0-9]{1,20}$/.test(token)) return null;
  const value = BigInt(token);
  return value <= U64_MAX ? value : null;
}

// ---- The worker thread: the event loop that serves every connection ------

// Where a connection is in the protocol (CLOSED: a final line was decided).
const Phase = {
  AWAIT_HELLO: 'hello', AWAIT_FINAL_HELLO: 'final hello', READY: 'ready', CLOSED: 'closed',
};
// Strict, and keeping a leading byte-order mark as Rust's from_utf8 does.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NEWLINE = Buffer.from('\n');
const now = () => performance.now();

/** One connection's protocol state: protocol::Session, driven by callbacks. */
class Connection {
  constructor(socket, peer) {
    this.socket = socket;
    this.peer = peer;
    this.phase = Phase.AWAIT_HELLO;
    this.expectedHello = 0n;
    this.pending = null; // bytes of an unfinished line; null while idle
    const handshake = peer.options.handshakeTimeoutMs;
    this.deadline = handshake ? now() + handshake : null; // counted from accept
    this.timer = null;
    this.restartIdleClock = false; // a line was handled since the last answers went out
    this.writeBlocked = false;
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.onDrain());
    this.armTimer();
  }

  /** Bytes arrived: answer every complete line, keep an unfinished one. */
  onData(chunk) {
    if (this.phase === Phase.CLOSED) return; // closing: read and discard
    const bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const replies = [];
    const finalLine = this.answerLines(bytes, replies);
    if (finalLine !== null) return this.closeWith(finalLine, replies);
    this.write(replies);
    this.repliesSent();
  }

  /** Splits `bytes` on \n (bytes, not characters: a UTF-8 sequence may be
   * cut between two reads). Returns the final line, if one was decided. */
  answerLines(bytes, replies) {
    const maxLine = this.peer.options.maxLine;
    for (let start = 0; ;) {
      const newline = bytes.indexOf(0x0a, start);
      if (newline === -1) {
        // Never buffer without bound: over the limit with no \n is an error now.
        if (bytes.length - start > maxLine) return this.fail('ERR line too long');
        if (start < bytes.length) this.pending = Buffer.from(bytes.subarray(start)); // a copy
        return null;
      }
      const lineStart = start;
      start = newline + 1;
      // The limit counts the \r and the \n.
      if (start - lineStart > maxLine) return this.fail('ERR line too long');
      const end = newline > lineStart && bytes[newline - 1] === 0x0d ? newline - 1 : newline;
      const finalLine = this.answerLine(bytes.subarray(lineStart, end), replies);
      if (finalLine !== null) return finalLine;
    }
  }

  answerLine(lineBytes, replies) {
    let line;
    try {
      line = UTF8.decode(lineBytes);
    } catch {
      return this.fail('ERR invalid utf-8');
    }
    if (this.phase === Phase.AWAIT_HELLO) return this.answerFirstHello(line, replies);
    if (this.phase === Phase.AWAIT_FINAL_HELLO) return this.checkFinalHello(line);
    this.peer.counters.add('requests');
    this.restartIdleClock = true;
    return this.answerRequest(line, lineBytes, replies);
  }

  answerFirstHello(line, replies) {
    const x = line.startsWith('HELLO ') ? parseNumber(line.slice(6)) : null;
    if (x === null) return this.fail('ERR expected HELLO');
    if (x > U64_MAX - 2n) return this.fail('ERR sequence out of range');
    this.expectedHello = x + 2n;
    this.phase = Phase.AWAIT_FINAL_HELLO;
    replies.push(`HELLO ${x + 1n}\n`);
    return null;
  }

  checkFinalHello(line) {
    // Exactly `HELLO <x+2>` in plain decimal: compare the text, not a number.
    const expected = this.expectedHello;
    if (line !== `HELLO ${expected}`) {
      return this.fail(`ERR expected HELLO ${expected}, got ${line}`);
    }
    this.peer.counters.add('handshakes');
    this.phase = Phase.READY;
    this.restartIdleClock = true;
    return null;
  }

  answerRequest(line, lineBytes, replies) {
    const { options, counters } = this.peer;
    if (line.startsWith('ECHO ')) {
      replies.push(lineBytes, NEWLINE); // the request's own bytes
    } else if (line.startsWith('WORK ')) {
      const units = parseNumber(line.slice(5));
      if (units === null) return this.requestError('ERR bad number', replies);
      if (units > options.maxWork) return this.requestError('ERR work too large', replies);
      // The trap: CPU work inline on the one loop. Nothing else runs meanwhile.
      replies.push(`DONE ${units} ${work(units)}\n`);
    } else if (line.startsWith('SLEEP ')) {
      const ms = parseNumber(line.slice(6));
      if (ms === null) return this.requestError('ERR bad number', replies);
      if (ms > options.maxSleep) return this.requestError('ERR sleep too long', replies);
      // What is answered so far goes out before the loop stalls (as in 03).
      this.write(replies.splice(0));
      blockThisThread(ms); // every connection, timer and message waits
      replies.push(`SLEPT ${ms}\n`);
    } else if (line === 'STATS') {
      replies.push(`STATS ${counters}\n`);
    } else if (line === 'QUIT') {
      return 'BYE';
    } else {
      return this.requestError('ERR unknown command', replies);
    }
    return null;
  }

  /** A request error: counted, answered, and the connection stays open. */
  requestError(error, replies) {
    this.peer.counters.add('errors');
    replies.push(`${error}\n`);
    return null;
  }

  /** Any other error: counted, and the final line. */
  fail(error) {
    this.peer.counters.add('errors');
    return error;
  }

  write(replies) {
    if (replies.length === 0 || this.socket.destroyed) return;
    if (!this.socket.write(joinReplies(replies))) {
      // The client is not reading. Like 03 awaiting write_all: read no
      // more, and run no timeout, until what we wrote has gone out.
      this.writeBlocked = true;
      this.socket.pause();
      this.disarmTimer();
    }
  }

  onDrain() {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    if (this.phase === Phase.CLOSED) return;
    this.socket.resume();
    this.repliesSent();
  }

  /** The answers are out: the idle clock restarts now if a line was handled. */
  repliesSent() {
    if (this.writeBlocked) return; // onDrain comes back here
    if (this.phase === Phase.READY && this.restartIdleClock) {
      const idle = this.peer.options.idleTimeoutMs;
      this.deadline = idle ? now() + idle : null;
    }
    this.restartIdleClock = false;
    this.armTimer();
  }

  armTimer() {
    if (this.timer && this.timer.deadline === this.deadline) return; // already set
    this.disarmTimer();
    if (this.phase === Phase.CLOSED || this.deadline === null) return;
    const delay = Math.max(0, this.deadline - now());
    if (delay > MAX_TIMER_MS) return;
    this.timer = setTimeout(() => this.onDeadline(), delay);
    this.timer.deadline = this.deadline;
  }

  disarmTimer() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** No complete line came in time (partial lines do not count). */
  onDeadline() {
    this.timer = null;
    if (this.phase === Phase.CLOSED) return;
    const error = this.phase === Phase.READY ? 'ERR idle timeout' : 'ERR handshake timeout';
    this.closeWith(this.fail(error));
  }

  /** The client half-closed: every complete line is answered already (each
   * was answered as it arrived); drop a partial line and close. */
  onEnd() {
    if (this.phase === Phase.CLOSED) return; // closeAfterFinalLine handles it
    this.phase = Phase.CLOSED;
    this.disarmTimer();
    this.socket.end(); // FIN; with both sides ended, Node destroys the socket
  }

  /** Shutdown: every complete line read so far has been answered, since
   * lines are answered as they arrive. Say BYE, even mid-handshake. */
  sayGoodbye() {
    if (this.phase !== Phase.CLOSED) this.closeWith('BYE');
  }

  closeWith(finalLine, replies = []) {
    this.phase = Phase.CLOSED;
    this.pending = null;
    this.disarmTimer();
    closeAfterFinalLine(this.socket, [...replies, `${finalLine}\n`]);
  }
}

/** Replies (strings, and Buffers for ECHO) as one buffer: one write. */
const joinReplies = (replies) =>
  Buffer.concat(replies.map((r) => (typeof r === 'string' ? Buffer.from(r) : r)));

/**
 * Sends the final line, then FIN (socket.end), and reads and discards what
 * the client still sends for up to CLOSE_DRAIN_MS: closing with unread bytes
 * would send a reset, which can destroy the final line before it is read.
 */
function closeAfterFinalLine(socket, replies) {
  if (socket.destroyed) return;
  let drainTimer = null;
  socket.once('close', () => clearTimeout(drainTimer));
  // If the client's FIN comes after ours, both sides are done: Node
  // destroys the socket by itself (allowHalfOpen + autoDestroy).
  socket.end(joinReplies(replies), () => {
    // 'finish': our last byte and our FIN are out. Now the drain clock runs.
    if (!socket.destroyed) drainTimer = setTimeout(() => socket.destroy(), CLOSE_DRAIN_MS);
  });
  socket.resume(); // flowing, so incoming bytes are read and dropped
}

function runWorker({ options, counterBuffer }) {
  const peer = { options, counters: new Counters(counterBuffer), connections: new Set() };
  // allowHalfOpen: a client's FIN must not close our side before its lines
  // are answered (PROTOCOL.md: half-close).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => accept(peer, socket));

  server.on('error', (error) => {
    if (!server.listening) {
      parentPort.postMessage({ type: 'listen-failed', reason: error.message });
      return;
    }
    // An accept error. Out of descriptors, the Rust servers pause accepting
    // and serve the waiting clients later. libuv cannot: on EMFILE/ENFILE
    // it plays its "EMFILE trick" (close a reserved fd, accept every
    // waiting connection and close it at once, reserve the fd again), and
    // reports nothing. Those clients see a bare close. Only if the trick
    // itself fails does an error reach this handler.
    if (['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM'].includes(error.code)) {
      log('WARN', `accept is out of resources error=${error.code}`);
    } else {
      debug(`accept failed for one connection: ${error.message}`);
    }
  });
  server.listen({ host: options.addr.host, port: options.addr.port, backlog: BACKLOG }, () => {
    parentPort.postMessage({ type: 'listening', addr: formatAddr(server.address()) });
  });

  parentPort.on('message', (message) => {
    if (message !== 'shutdown') return;
    // Stop accepting (new connections are refused), say BYE to everyone,
    // and be done when the last socket has closed (drains included).
    server.close(() => {
      parentPort.postMessage({ type: 'done' });
      parentPort.unref(); // nothing left: the worker's loop ends, and so does it
    });
    for (const connection of peer.connections) connection.sayGoodbye();
  });
}

/** A new connection: serve it, or turn it away with ERR busy, never wait. */
function accept(peer, socket) {
  peer.counters.add('accepted');
  socket.setNoDelay(true); // small messages: no Nagle + delayed-ACK stall
  // A reset or broken pipe is the client's business, never a crash.
  socket.on('error', (error) => debug(`connection ended: ${error.code ?? error.message}`));
  // Not net.Server.maxConnections: that closes extra connections silently.
  if (peer.connections.size >= peer.options.maxConnections) {
    peer.counters.add('rejected');
    closeAfterFinalLine(socket, ['ERR busy\n']);
    return;
  }
  const connection = new Connection(socket, peer);
  peer.connections.add(connection);
  peer.counters.add('active');
  // Counted against the limit until the socket is really closed.
  socket.on('close', () => {
    connection.disarmTimer();
    peer.connections.delete(connection);
    peer.counters.add('active', -1n);
  });
}

if (isMainThread) runMain();
else runWorker(workerData);
