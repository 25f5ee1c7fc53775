/*
 * c-peer: the handshake/echo protocol (PROTOCOL.md at the repository's root)
 * served by one thread and one epoll loop, in C with nothing but libc.
 *
 * Why it exists: it is the floor. Every server in this repository pays the
 * kernel for each request (wake up, read the socket, write the socket); the
 * models differ in what they add on top: a context switch, a runtime's
 * bookkeeping, an interpreter. This peer adds as little as a server can, so
 * its cost per request is what the kernel alone costs, and every other row
 * of the cost table reads as "the floor, plus what the model adds".
 *
 * What "as little as it can" means here:
 *   - one thread; epoll, level-triggered;
 *   - exactly one recv() per readiness event: if more bytes wait, the next
 *     epoll_wait reports the socket again (level-triggered), so there is no
 *     extra read that ends in EAGAIN;
 *   - no allocation per request: lines are answered straight out of one
 *     shared read buffer into one shared write buffer, and a connection gets
 *     buffers of its own only when a line arrives split or an answer cannot
 *     be written at once;
 *   - timeouts without a timer per connection: each connection holds its
 *     deadlines, and the loop scans them when the earliest one is due.
 *
 * WORK is computed on the loop itself, so a long WORK holds every other
 * connection (the trap of 01 and of 03's inline WORK): this peer is
 * measured for ECHO only and sits out the WORK and SLEEP steps. SLEEP does
 * not block: a sleeping connection stops being read and is answered when
 * its deadline comes, like any timeout.
 *
 * Built by `cargo xtask peers` (and by the peers package's build script for
 * its tests) with the system C compiler: cc -O2 -o c-peer server.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MODEL "c-peer"
#define DEFAULT_ADDR "127.0.0.1:7809"
#define FD_RESERVE 64          /* descriptors kept back, as every server does */
#define BACKLOG 4096           /* the listen backlog every server asks for */
#define CLOSE_DRAIN_MS 500     /* protocol::CLOSE_DRAIN */
#define ACCEPT_PAUSE_MS 100    /* after EMFILE and friends */
#define READ_CHUNK 65536       /* one recv() reads at most this */
#define EVENTS_PER_WAIT 256
#define WORK_CHECK_UNITS 64    /* how often a WORK looks for a signal */

/* ---- Flags --------------------------------------------------------------- */

struct config {
    const char *addr;
    bool reuse_port;
    uint64_t max_connections; /* 0: the open-file limit less FD_RESERVE */
    uint64_t max_line;
    int64_t handshake_timeout_ms; /* 0 disables */
    int64_t idle_timeout_ms;      /* 0 disables */
    int64_t shutdown_grace_ms;
    uint64_t max_work;
    uint64_t max_sleep_ms;
};

static struct config cfg = {
    .addr = DEFAULT_ADDR,
    .max_line = 4096,
    .handshake_timeout_ms = 10000,
    .idle_timeout_ms = 60000,
    .shutdown_grace_ms = 5000,
    .max_work = 1000000,
    .max_sleep_ms = 1000,
};

static void print_help(void) {
    printf("%s: the handshake/echo protocol of PROTOCOL.md, one thread and one epoll loop.\n"
           "The floor of the cost table: what a request costs when the server adds\n"
           "almost nothing to the kernel's work. Try it with `nc 127.0.0.1 7809`.\n\n"
           "Usage: %s [OPTIONS]\n\nOptions:\n", MODEL, MODEL);
    printf("  --addr IP:PORT                 address to listen on [default: %s]\n", DEFAULT_ADDR);
    printf("  --reuse-port                   let several processes listen on the same port (SO_REUSEPORT)\n");
    printf("  --max-connections N            most connections served at once; one more is answered\n"
           "                                 ERR busy and closed [default: the open-file limit less 64]\n");
    printf("  --max-line BYTES               longest line, counting its \\r and \\n [default: 4096]\n");
    printf("  --handshake-timeout DURATION   time from accept to a finished handshake (0 disables) [default: 10s]\n");
    printf("  --idle-timeout DURATION        time a handshaked connection may stay without a complete\n"
           "                                 line (0 disables) [default: 60s]\n");
    printf("  --shutdown-grace DURATION      on SIGINT/SIGTERM, the time connections get to finish\n"
           "                                 (0: close at once) [default: 5s]\n");
    printf("  --max-work UNITS               most units one WORK may ask for, computed on the loop [default: 1000000]\n");
    printf("  --max-sleep MS                 longest SLEEP in milliseconds [default: 1000]\n");
    printf("  --help                         print this help\n");
}

static void exit_with_usage_error(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("error: ", stderr);
    vfprintf(stderr, format, args);
    fputs("\n\nFor more information, try '--help'.\n", stderr);
    va_end(args);
    exit(2);
}

/* A whole decimal number: digits only, no sign, no overflow. */
static bool parse_u64(const char *text, size_t len, uint64_t *out) {
    if (len == 0)
        return false;
    uint64_t value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    return true;
}

static uint64_t checked_number(const char *name, const char *value, uint64_t min) {
    uint64_t n;
    if (!parse_u64(value, strlen(value), &n) || n < min) {
        if (min > 0)
            exit_with_usage_error("invalid value \"%s\" for --%s: write a whole number of at least %" PRIu64,
                                  value, name, min);
        exit_with_usage_error("invalid value \"%s\" for --%s: write a whole number", value, name);
    }
    return n;
}

/* A decimal number with at most one point and at least one digit, at the
 * start of text; returns its length (0 if there is none). */
static size_t scan_decimal(const char *text, double *value) {
    size_t len = 0, digits = 0, points = 0;
    while (text[len] == '.' || (text[len] >= '0' && text[len] <= '9')) {
        if (text[len] == '.')
            points++;
        else
            digits++;
        len++;
    }
    if (len == 0 || digits == 0 || points > 1)
        return 0;
    char number[64];
    if (len >= sizeof number)
        return 0;
    memcpy(number, text, len);
    number[len] = '\0';
    *value = strtod(number, NULL);
    return len;
}

/* Durations as every server reads them: a bare number of seconds (7, 0.25),
 * or <number><unit> parts written together (1m30s), units ms, s, m, h. */
static bool parse_duration_ms(const char *text, int64_t *out) {
    double number, total_ms = 0;
    size_t len = scan_decimal(text, &number);
    if (len > 0 && text[len] == '\0') {
        total_ms = number * 1000.0;
    } else {
        const char *at = text;
        if (*at == '\0')
            return false;
        while (*at != '\0') {
            len = scan_decimal(at, &number);
            if (len == 0)
                return false;
            at += len;
            if (strncmp(at, "ms", 2) == 0) {
                total_ms += number;
                at += 2;
            } else if (*at == 's') {
                total_ms += number * 1000.0;
                at++;
            } else if (*at == 'm') {
                total_ms += number * 60000.0;
                at++;
            } else if (*at == 'h') {
                total_ms += number * 3600000.0;
                at++;
            } else {
                return false; /* another unit, or a number without one */
            }
        }
    }
    if (!(total_ms >= 0 && total_ms < 9.0e15))
        return false;
    *out = (int64_t)(total_ms + 0.5);
    return true;
}

static int64_t checked_duration(const char *name, const char *value) {
    int64_t ms;
    if (!parse_duration_ms(value, &ms))
        exit_with_usage_error("invalid value \"%s\" for --%s: write it like 10s, 500ms, 1.5s or 1m30s",
                              value, name);
    return ms;
}

static void parse_flags(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help();
            exit(0);
        }
        if (strcmp(arg, "--reuse-port") == 0) {
            cfg.reuse_port = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            exit_with_usage_error("unexpected argument \"%s\"", arg);
        /* --name value or --name=value */
        char name[64];
        const char *value;
        const char *equals = strchr(arg, '=');
        size_t name_len = equals ? (size_t)(equals - arg - 2) : strlen(arg) - 2;
        if (name_len >= sizeof name)
            exit_with_usage_error("unexpected argument \"%s\"", arg);
        memcpy(name, arg + 2, name_len);
        name[name_len] = '\0';
        if (equals) {
            value = equals + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            exit_with_usage_error("a value is required for '--%s' but none was supplied", name);
        }
        if (strcmp(name, "addr") == 0)
            cfg.addr = value;
        else if (strcmp(name, "max-connections") == 0)
            cfg.max_connections = checked_number(name, value, 1);
        else if (strcmp(name, "max-line") == 0)
            cfg.max_line = checked_number(name, value, 1);
        else if (strcmp(name, "handshake-timeout") == 0)
            cfg.handshake_timeout_ms = checked_duration(name, value);
        else if (strcmp(name, "idle-timeout") == 0)
            cfg.idle_timeout_ms = checked_duration(name, value);
        else if (strcmp(name, "shutdown-grace") == 0)
            cfg.shutdown_grace_ms = checked_duration(name, value);
        else if (strcmp(name, "max-work") == 0)
            cfg.max_work = checked_number(name, value, 0);
        else if (strcmp(name, "max-sleep") == 0)
            cfg.max_sleep_ms = checked_number(name, value, 0);
        else
            exit_with_usage_error("unexpected argument \"--%s\"", name);
    }
}

/* ---- Logs, clock, counters ----------------------------------------------- */

static void log_line(const char *level, const char *format, ...) {
    char stamp[32];
    struct timespec now;
    struct tm parts;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &parts);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s.%06ldZ %5s %s: ", stamp, now.tv_nsec / 1000, level, MODEL);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct {
    uint64_t active, accepted, handshakes, requests, errors, rejected;
} counters;

static int format_counters(char *out, size_t size) {
    return snprintf(out, size,
                    "active=%" PRIu64 " accepted=%" PRIu64 " handshakes=%" PRIu64 " requests=%" PRIu64
                    " errors=%" PRIu64 " rejected=%" PRIu64,
                    counters.active, counters.accepted, counters.handshakes, counters.requests,
                    counters.errors, counters.rejected);
}

static void exit_with_final_counters(void) {
    char line[256];
    format_counters(line, sizeof line);
    printf("final counters: %s\n", line);
    fflush(stdout);
    exit(0);
}

/* ---- Signals: a flag, and a byte down a pipe to wake epoll_wait ---------- */

static volatile sig_atomic_t stop_signals;
static int wake_pipe[2];

static void on_stop_signal(int signal_number) {
    (void)signal_number;
    int saved = errno;
    stop_signals++;
    ssize_t ignored = write(wake_pipe[1], "x", 1);
    (void)ignored;
    errno = saved;
}

static void install_signal_handlers(void) {
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        perror("error: cannot create the signal pipe");
        exit(1);
    }
    struct sigaction stop = {.sa_handler = on_stop_signal};
    sigemptyset(&stop.sa_mask);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGTERM, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- Growable byte buffers ------------------------------------------------ */

struct bytes {
    char *data;
    size_t len, cap;
};

static void bytes_append(struct bytes *b, const char *data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            log_line("ERROR", "out of memory");
            exit(1);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void bytes_consume(struct bytes *b, size_t len) {
    memmove(b->data, b->data + len, b->len - len);
    b->len -= len;
}

/* ---- Connections ---------------------------------------------------------- */

enum phase { GREETING, THIRD_HELLO, SERVING };

enum closing {
    OPEN,
    FINAL_THEN_DRAIN, /* a final line is queued: FIN and drain once it is out */
    FLUSH_THEN_CLOSE, /* the client half-closed: close once the answers are out */
    DRAINING,         /* FIN sent: read and discard until EOF or the drain time */
};

struct conn {
    int fd;
    enum phase phase;
    enum closing closing;
    bool counted_active;   /* false for a connection turned away with ERR busy */
    bool bye_after_sleep;  /* shutdown came while a SLEEP ran */
    uint32_t events;       /* what epoll watches for it now */
    uint64_t third_hello;  /* x+2 */
    int64_t deadline;      /* handshake or idle deadline; 0: none */
    int64_t wake_at;       /* a SLEEP's end; 0: not sleeping */
    int64_t drain_until;
    uint64_t sleep_ms;
    struct bytes held;     /* an unfinished line, or lines behind a SLEEP */
    struct bytes pending;  /* answers the socket did not take yet */
};

static int epoll_fd, listen_fd = -1;
static struct conn **conns;   /* indexed by file descriptor */
static int conn_slots;        /* the open-file limit */
static int open_conns;        /* every connection, draining ones included */
static int64_t now;           /* the loop's clock, read once per turn */
static int64_t next_check;    /* the earliest deadline that may be due */
static bool shutting_down;
static int64_t grace_end;
static int64_t accept_paused_until;

static char read_buffer[READ_CHUNK];
static struct bytes out;      /* answers of the connection being handled */

static void watch_at(int64_t when) {
    if (when > 0 && (next_check == 0 || when < next_check))
        next_check = when;
}

static void set_events(struct conn *c, uint32_t events) {
    if (c->events == events)
        return;
    struct epoll_event event = {.events = events, .data.fd = c->fd};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event);
    c->events = events;
}

static void close_conn(struct conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    if (c->counted_active)
        counters.active--;
    conns[c->fd] = NULL;
    open_conns--;
    free(c->held.data);
    free(c->pending.data);
    free(c);
}

static void begin_drain(struct conn *c) {
    shutdown(c->fd, SHUT_WR);
    c->closing = DRAINING;
    c->drain_until = now + CLOSE_DRAIN_MS;
    watch_at(c->drain_until);
    set_events(c, EPOLLIN);
}

static void restart_idle_clock(struct conn *c) {
    if (c->phase == SERVING && c->closing == OPEN && c->wake_at == 0 && c->pending.len == 0) {
        c->deadline = cfg.idle_timeout_ms ? now + cfg.idle_timeout_ms : 0;
        watch_at(c->deadline);
    }
}

/* Writes what `out` holds for this connection, or queues it behind what is
 * already waiting, and sets what epoll watches for next. Returns false when
 * the connection was closed. */
static bool emit(struct conn *c) {
    if (out.len > 0 && c->pending.len == 0) {
        ssize_t sent = send(c->fd, out.data, out.len, MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            out.len = 0;
            close_conn(c); /* the client is gone */
            return false;
        }
        size_t written = sent > 0 ? (size_t)sent : 0;
        bytes_append(&c->pending, out.data + written, out.len - written);
    } else if (out.len > 0) {
        bytes_append(&c->pending, out.data, out.len);
    }
    out.len = 0;
    if (c->pending.len > 0) {
        set_events(c, EPOLLOUT); /* no reading until the client takes its answers */
        return true;
    }
    switch (c->closing) {
    case FINAL_THEN_DRAIN:
        begin_drain(c);
        return true;
    case FLUSH_THEN_CLOSE:
        close_conn(c);
        return false;
    default:
        break;
    }
    set_events(c, c->wake_at ? 0 : EPOLLIN);
    return true;
}

static void answer(const char *text, size_t len) {
    bytes_append(&out, text, len);
    bytes_append(&out, "\n", 1);
}

static void answer_error(const char *text) {
    counters.errors++;
    answer(text, strlen(text));
}

/* A final line: nothing is read or answered after it. */
static void answer_final(struct conn *c, const char *text) {
    if (strncmp(text, "ERR ", 4) == 0)
        answer_error(text);
    else
        answer(text, strlen(text));
    c->closing = FINAL_THEN_DRAIN;
    c->held.len = 0;
}

/* ---- The protocol ------------------------------------------------------- */

/* Rust's rules: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool is_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0)
                lo = 0xA0;
            if (b == 0xED)
                hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0)
                lo = 0x90;
            if (b == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (i + need >= len)
            return false; /* the sequence is cut short */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += need + 1;
    }
    return true;
}

/* A number on the wire: 1 to 20 digits, at most u64::MAX. */
static bool wire_number(const char *text, size_t len, uint64_t *value) {
    return len >= 1 && len <= 20 && parse_u64(text, len, value);
}

static bool starts_with(const char *line, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

static bool is_exactly(const char *line, size_t len, const char *word) {
    return len == strlen(word) && memcmp(line, word, len) == 0;
}

static uint64_t mix(uint64_t x) {
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* While a WORK runs nothing else does, signals included: so it looks for
 * them itself, and ends the process once the grace period is over. */
static void stop_if_grace_is_over(void) {
    if (stop_signals == 0)
        return;
    now = now_ms();
    if (stop_signals >= 2)
        exit_with_final_counters();
    if (grace_end == 0)
        grace_end = now + cfg.shutdown_grace_ms;
    if (now >= grace_end)
        exit_with_final_counters();
}

static uint64_t work(uint64_t units) {
    uint64_t state = units ^ 0x6a09e667f3bcc908ULL;
    for (uint64_t unit = 0; unit < units; unit++) {
        for (int round = 0; round < 288; round++)
            state = mix(state);
        if (unit % WORK_CHECK_UNITS == WORK_CHECK_UNITS - 1)
            stop_if_grace_is_over();
    }
    return state;
}

static void handle_greeting(struct conn *c, const char *line, size_t len) {
    uint64_t x;
    if (!starts_with(line, len, "HELLO ") || !wire_number(line + 6, len - 6, &x)) {
        answer_final(c, "ERR expected HELLO");
        return;
    }
    if (x > UINT64_MAX - 2) {
        answer_final(c, "ERR sequence out of range");
        return;
    }
    char reply[32];
    answer(reply, (size_t)snprintf(reply, sizeof reply, "HELLO %" PRIu64, x + 1));
    c->third_hello = x + 2;
    c->phase = THIRD_HELLO;
}

static void handle_third_hello(struct conn *c, const char *line, size_t len) {
    char expected[32];
    size_t n = (size_t)snprintf(expected, sizeof expected, "HELLO %" PRIu64, c->third_hello);
    if (len == n && memcmp(line, expected, n) == 0) {
        counters.handshakes++;
        c->phase = SERVING;
        return;
    }
    counters.errors++;
    char head[64];
    int head_len = snprintf(head, sizeof head, "ERR expected %s, got ", expected);
    bytes_append(&out, head, (size_t)head_len);
    answer(line, len);
    c->closing = FINAL_THEN_DRAIN;
    c->held.len = 0;
}

/* "WORK <n>" / "SLEEP <n>": the number, or an error answered. */
static bool request_number(const char *text, size_t len, uint64_t limit, const char *too_big,
                           uint64_t *value) {
    if (!wire_number(text, len, value)) {
        answer_error("ERR bad number");
        return false;
    }
    if (*value > limit) {
        answer_error(too_big);
        return false;
    }
    return true;
}

static void handle_request(struct conn *c, const char *line, size_t len) {
    counters.requests++;
    uint64_t n;
    char reply[256];
    if (starts_with(line, len, "ECHO ")) {
        answer(line, len);
    } else if (starts_with(line, len, "WORK ")) {
        if (request_number(line + 5, len - 5, cfg.max_work, "ERR work too large", &n)) {
            uint64_t digest = work(n);
            answer(reply, (size_t)snprintf(reply, sizeof reply, "DONE %" PRIu64 " %016" PRIx64, n, digest));
            now = now_ms();
        }
    } else if (starts_with(line, len, "SLEEP ")) {
        if (request_number(line + 6, len - 6, cfg.max_sleep_ms, "ERR sleep too long", &n)) {
            c->sleep_ms = n;
            c->wake_at = now + (int64_t)n;
            c->deadline = 0;
            watch_at(c->wake_at);
        }
    } else if (is_exactly(line, len, "STATS")) {
        int head = snprintf(reply, sizeof reply, "STATS ");
        answer(reply, (size_t)head + (size_t)format_counters(reply + head, sizeof reply - (size_t)head));
    } else if (is_exactly(line, len, "QUIT")) {
        answer_final(c, "BYE");
    } else {
        answer_error("ERR unknown command");
    }
}

/* Handles one complete line (its "\n" and one "\r" before it removed). */
static void handle_line(struct conn *c, const char *line, size_t len) {
    if (!is_utf8((const unsigned char *)line, len)) {
        answer_final(c, "ERR invalid utf-8");
        return;
    }
    switch (c->phase) {
    case GREETING:
        handle_greeting(c, line, len);
        break;
    case THIRD_HELLO:
        handle_third_hello(c, line, len);
        break;
    case SERVING:
        handle_request(c, line, len);
        break;
    }
}

/* Answers the complete lines at the start of `data`, in order, until one
 * ends the conversation or starts a SLEEP; returns the bytes used. An
 * unfinished line longer than --max-line is answered at once. */
static size_t handle_lines(struct conn *c, const char *data, size_t len, bool *handled_any) {
    size_t used = 0;
    while (c->closing == OPEN && c->wake_at == 0) {
        const char *start = data + used;
        size_t left = len - used;
        const char *newline = memchr(start, '\n', left);
        if (!newline) {
            if (left > cfg.max_line)
                answer_final(c, "ERR line too long");
            break;
        }
        size_t with_ending = (size_t)(newline - start) + 1;
        used += with_ending;
        if (with_ending > cfg.max_line) {
            answer_final(c, "ERR line too long");
            break;
        }
        size_t line_len = with_ending - 1;
        if (line_len > 0 && start[line_len - 1] == '\r')
            line_len--;
        handle_line(c, start, line_len);
        *handled_any = true;
    }
    return used;
}

/* New bytes from the socket: answered straight from the read buffer unless
 * the connection holds the start of a line from an earlier read. */
static void take_bytes(struct conn *c, const char *data, size_t len) {
    bool handled_any = false;
    if (c->held.len == 0) {
        size_t used = handle_lines(c, data, len, &handled_any);
        if (c->closing == OPEN)
            bytes_append(&c->held, data + used, len - used);
    } else {
        bytes_append(&c->held, data, len);
        size_t used = handle_lines(c, c->held.data, c->held.len, &handled_any);
        if (c->closing == OPEN)
            bytes_consume(&c->held, used);
    }
    if (!emit(c))
        return;
    if (handled_any)
        restart_idle_clock(c);
}

static void on_readable(struct conn *c) {
    ssize_t n = recv(c->fd, read_buffer, sizeof read_buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (c->closing == DRAINING) {
        if (n <= 0)
            close_conn(c); /* the client closed (or failed): draining is over */
        return;
    }
    if (n < 0) {
        close_conn(c); /* reset: only this connection ends */
        return;
    }
    if (n == 0) {
        /* Half-close: every complete line is answered already; drop the
         * unfinished one and close once the answers are out. */
        c->held.len = 0;
        c->closing = FLUSH_THEN_CLOSE;
        emit(c);
        return;
    }
    take_bytes(c, read_buffer, (size_t)n);
}

static void on_writable(struct conn *c) {
    ssize_t sent = send(c->fd, c->pending.data, c->pending.len, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            close_conn(c);
        return;
    }
    bytes_consume(&c->pending, (size_t)sent);
    if (c->pending.len == 0 && emit(c))
        restart_idle_clock(c);
}

/* A SLEEP's time is up: answer it, then the lines that waited behind it. */
static void wake_up(struct conn *c) {
    char reply[40];
    answer(reply, (size_t)snprintf(reply, sizeof reply, "SLEPT %" PRIu64, c->sleep_ms));
    c->wake_at = 0;
    bool handled_any = true;
    size_t used = handle_lines(c, c->held.data, c->held.len, &handled_any);
    if (c->closing == OPEN)
        bytes_consume(&c->held, used);
    if (c->bye_after_sleep && c->closing == OPEN && c->wake_at == 0)
        answer_final(c, "BYE");
    if (emit(c))
        restart_idle_clock(c);
}

/* Runs when the earliest deadline may be due: every deadline is looked at,
 * and the next earliest one remembered. */
static void check_deadlines(void) {
    next_check = 0;
    for (int fd = 0; fd < conn_slots; fd++) {
        struct conn *c = conns[fd];
        if (!c)
            continue;
        if (c->closing == DRAINING) {
            if (now >= c->drain_until)
                close_conn(c);
            else
                watch_at(c->drain_until);
        } else if (c->wake_at) {
            if (now >= c->wake_at)
                wake_up(c);
            else
                watch_at(c->wake_at);
        } else if (c->deadline && c->closing == OPEN && c->pending.len == 0) {
            if (now >= c->deadline) {
                answer_final(c, c->phase == SERVING ? "ERR idle timeout" : "ERR handshake timeout");
                emit(c);
            } else {
                watch_at(c->deadline);
            }
        }
    }
    if (accept_paused_until)
        watch_at(accept_paused_until);
}

/* ---- Accepting ------------------------------------------------------------ */

static void watch_listener(void) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listen_fd};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &event);
}

static struct conn *new_conn(int fd) {
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        log_line("ERROR", "out of memory");
        exit(1);
    }
    c->fd = fd;
    c->events = EPOLLIN;
    conns[fd] = c;
    open_conns++;
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    return c;
}

static void turn_away(int fd) {
    struct conn *c = new_conn(fd);
    counters.rejected++;
    answer("ERR busy", 8);
    c->closing = FINAL_THEN_DRAIN;
    emit(c);
}

static void admit(int fd) {
    struct conn *c = new_conn(fd);
    c->counted_active = true;
    counters.active++;
    if (cfg.handshake_timeout_ms) {
        c->deadline = now + cfg.handshake_timeout_ms;
        watch_at(c->deadline);
    }
}

static void accept_waiting(void) {
    for (int i = 0; i < 64; i++) { /* then let the connections have a turn */
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_line("WARN", "out of resources accepting a connection (%s): pausing accept for %d ms",
                         strerror(errno), ACCEPT_PAUSE_MS);
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fd, NULL);
                accept_paused_until = now + ACCEPT_PAUSE_MS;
                watch_at(accept_paused_until);
            }
            return; /* EAGAIN: nobody waits; anything else skips that one */
        }
        counters.accepted++;
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        if (fd >= conn_slots) {
            close(fd);
            continue;
        }
        if (counters.active >= cfg.max_connections)
            turn_away(fd);
        else
            admit(fd);
    }
}

static void resume_accepting_if_due(void) {
    if (accept_paused_until && now >= accept_paused_until && !shutting_down) {
        accept_paused_until = 0;
        watch_listener();
    }
}

/* ---- Start, shutdown, the loop -------------------------------------------- */

static int raise_fd_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = {limit.rlim_max, limit.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
        else
            log_line("WARN", "could not raise the open-file limit from %llu", (unsigned long long)limit.rlim_cur);
    }
    return limit.rlim_cur > 1 << 24 ? 1 << 24 : (int)limit.rlim_cur;
}

static int listen_on(const char *addr) {
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host)
        exit_with_usage_error("invalid value \"%s\" for --addr: write IP:PORT, like %s", addr, DEFAULT_ADDR);
    size_t host_len = (size_t)(colon - addr);
    const char *host_start = addr;
    if (addr[0] == '[' && addr[host_len - 1] == ']') { /* [::1]:7809 */
        host_start++;
        host_len -= 2;
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *found;
    if (getaddrinfo(host, colon + 1, &hints, &found) != 0)
        exit_with_usage_error("invalid value \"%s\" for --addr: write IP:PORT, like %s", addr, DEFAULT_ADDR);
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (cfg.reuse_port)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    }
    if (fd < 0 || bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0) {
        fprintf(stderr, "error: cannot listen on %s: %s\n", addr, strerror(errno));
        exit(1);
    }
    freeaddrinfo(found);
    return fd;
}

static void describe_listener(char *out_addr, size_t size) {
    struct sockaddr_storage bound = {0};
    socklen_t len = sizeof bound;
    char host[64] = "?", port[16] = "?";
    if (getsockname(listen_fd, (struct sockaddr *)&bound, &len) == 0)
        getnameinfo((struct sockaddr *)&bound, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(out_addr, size, bound.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* The first signal: stop accepting, let every connection finish what it has
 * read, then say BYE. Sleeping ones say it when their SLEEP is answered. */
static void begin_shutdown(void) {
    shutting_down = true;
    if (grace_end == 0)
        grace_end = now + cfg.shutdown_grace_ms;
    log_line("INFO", "shutting down grace=%" PRId64 "ms", cfg.shutdown_grace_ms);
    close(listen_fd);
    accept_paused_until = 0;
    for (int fd = 0; fd < conn_slots; fd++) {
        struct conn *c = conns[fd];
        if (!c || c->closing != OPEN)
            continue;
        if (c->wake_at) {
            c->bye_after_sleep = true;
        } else {
            answer_final(c, "BYE");
            emit(c);
        }
    }
}

static void drain_wake_pipe(void) {
    char bytes[64];
    while (read(wake_pipe[0], bytes, sizeof bytes) > 0) {
    }
}

static void run_loop(void) {
    struct epoll_event events[EVENTS_PER_WAIT];
    for (;;) {
        int timeout = -1;
        if (next_check) /* at most an hour: an int of milliseconds */
            timeout = next_check <= now ? 0 : next_check - now > 3600000 ? 3600000 : (int)(next_check - now);
        if (shutting_down) {
            int64_t left = grace_end > now ? grace_end - now : 0;
            if (timeout < 0 || left < timeout)
                timeout = (int)left;
        }
        int ready = epoll_wait(epoll_fd, events, EVENTS_PER_WAIT, timeout);
        now = now_ms();
        if (stop_signals >= 2)
            exit_with_final_counters(); /* a second signal: at once */
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == wake_pipe[0]) {
                drain_wake_pipe();
                if (!shutting_down)
                    begin_shutdown();
            } else if (fd == listen_fd && !shutting_down) {
                accept_waiting();
            } else if (fd >= 0 && fd < conn_slots && conns[fd]) {
                struct conn *c = conns[fd];
                if (events[i].events & EPOLLOUT)
                    on_writable(c);
                else
                    on_readable(c);
            }
        }
        if (next_check && now >= next_check)
            check_deadlines();
        resume_accepting_if_due();
        if (shutting_down && (open_conns == 0 || now >= grace_end)) {
            if (open_conns > 0)
                log_line("WARN", "grace period over: closing the %d connections still open", open_conns);
            exit_with_final_counters();
        }
    }
}

int main(int argc, char **argv) {
    parse_flags(argc, argv);
    conn_slots = raise_fd_limit();
    if (cfg.max_connections == 0)
        cfg.max_connections = conn_slots > FD_RESERVE ? (uint64_t)(conn_slots - FD_RESERVE) : 1;
    conns = calloc((size_t)conn_slots, sizeof *conns);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epoll_fd < 0) {
        perror("error: cannot start the event loop");
        return 1;
    }
    listen_fd = listen_on(cfg.addr);
    install_signal_handlers();
    struct epoll_event wake = {.events = EPOLLIN, .data.fd = wake_pipe[0]};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_pipe[0], &wake);
    watch_listener();
    now = now_ms();
    char bound[128];
    describe_listener(bound, sizeof bound);
    log_line("INFO",
             "listening addr=%s model=\"%s\" max_connections=%" PRIu64 " reuse_port=%s fd_limit=%d; "
             "one thread, one epoll loop (level-triggered, one recv per event), WORK on the loop, "
             "SLEEP as a deadline",
             bound, MODEL, cfg.max_connections, cfg.reuse_port ? "true" : "false", conn_slots);
    run_loop();
}
