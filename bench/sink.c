/*
 * bench/sink.c: a fast local HTTP/1.1 destination for the benchmarks.
 *
 * One thread, epoll, keep-alive. Every request body (Content-Length or
 * chunked) is read and scanned, never stored: the sink counts requests, body
 * bytes and records (the values of a top-level JSON array, or 1 for any other
 * body) and answers 200 {"ok":true}. With --latency-ms N each answer is held
 * for N ms after its request arrived, on a timer, so a slow answer never holds
 * up other connections; with --latency-max-ms M too, for a time drawn
 * uniformly from [N, M] for each request. With --capacity C, a request that
 * arrives while C answers are held is refused at once with a 429 (as an API
 * that limits concurrent requests does; counted as refused, not as a
 * request). "Expect: 100-continue" is honoured.
 *
 * With --record FILE (opt-in: bodies are otherwise never kept) every counted
 * request is also appended to FILE, while recording is on (from the start;
 * /config?record=0 pauses it, record=1 resumes it), as a line
 * "<epoch microseconds> <body length> <path>\n" followed by the body and a
 * "\n". The time is when the body's last byte arrived (the wall clock, as
 * the server's clock_timestamp() reads it). The file is flushed after each
 * request, so it can be read while the sink runs. The sink parses nothing
 * of it: bench/live.py reads the records' fields from the bodies.
 *
 *   GET /stats   the counters as JSON (not counted themselves)
 *   GET /reset   the counters as JSON, then zeroes them
 *   GET /config?latency_ms=N&latency_max_ms=M&capacity=C&record=0|1
 *                changes those settings (any of them), then as /stats
 *
 *   sink --port N [--host 127.0.0.1] [--latency-ms N] [--latency-max-ms M]
 *        [--capacity C] [--record FILE] [--pid-file F]
 *
 * It prints "listening on HOST:PORT" once ready; SIGTERM or SIGINT stops it.
 * Build: gcc -O2 -Wall -Wextra -o sink sink.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX 16384
#define READ_CHUNK (256 * 1024)

enum state {
    S_HEADERS,      /* reading the request line and headers */
    S_BODY,         /* Content-Length body */
    S_CHUNK_SIZE,   /* chunked: the size line */
    S_CHUNK_DATA,   /* chunked: chunk bytes */
    S_CHUNK_CRLF,   /* chunked: the CRLF after a chunk */
    S_TRAILER,      /* chunked: trailer lines up to the empty line */
    S_WAITING,      /* request complete, answer held for the latency */
    S_WRITING       /* answer partly written */
};

struct json_scan {
    int depth;
    int in_string;
    int escaped;
    int top;          /* 0 not seen, 1 array, 2 anything else */
    int expect_value; /* in the top-level array, the next value starts a record */
};

struct conn {
    int fd;
    enum state state;
    char head[HEADER_MAX];
    size_t head_len;
    char line[64]; /* chunk size / trailer line */
    size_t line_len;
    uint64_t body_left;
    int keep_alive;
    int control; /* 0 counted, 1 /stats, 2 /reset, 3 not found, 4 /config */
    struct json_scan scan;
    uint64_t req_bytes;
    uint64_t req_records;
    char *stash; /* bytes that arrived after a complete request (pipelining) */
    size_t stash_len, stash_cap;
    char out[2048];
    size_t out_len, out_off;
    int close_after;
    uint64_t due_ns;
    struct conn *next_pending;
    int in_pending;
    int in_flight; /* a counted request is being read, held or answered */
    int dead;
    struct conn *next_dead;
    char path[1024]; /* the request's path, for --record */
    char *body;      /* the request's body so far, only while recording */
    size_t body_len, body_cap;
    int body_lost;   /* out of memory while keeping the body: not recorded */
};

static struct {
    uint64_t requests, bytes, records, accepted, open, max_open, in_flight, max_in_flight, bad;
    uint64_t held, max_held, refused; /* answers being held for the latency; 429s for --capacity */
    double first_at, last_at; /* wall clock of the first request and of the last answer */
} stats;

static int epfd;
static long latency_ms, latency_max_ms, capacity;
static FILE *record_file; /* --record */
static long recording;    /* whether bodies go to record_file now */
static struct conn *pending_head; /* held answers, soonest due first */
static struct conn *graveyard; /* closed connections, freed after each round of events */
static volatile sig_atomic_t stopping;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void on_signal(int sig) {
    (void) sig;
    stopping = 1;
}

static void set_interest(struct conn *c, uint32_t events) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct conn *c) {
    if (c->dead)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->dead = 1;
    stats.open--;
    if (c->in_flight) /* a request that will never be answered */
        stats.in_flight--;
    if (!c->in_pending) { /* freed after this round of events */
        c->next_dead = graveyard;
        graveyard = c;
    }
}

static void bury_dead(void) {
    while (graveyard) {
        struct conn *c = graveyard;
        graveyard = c->next_dead;
        free(c->stash);
        free(c->body);
        free(c);
    }
}

static void reset_request(struct conn *c) {
    c->state = S_HEADERS;
    c->head_len = 0;
    c->line_len = 0;
    c->body_left = 0;
    c->control = 0;
    memset(&c->scan, 0, sizeof c->scan);
    c->req_bytes = 0;
    c->req_records = 0;
    c->body_len = 0;
    c->body_lost = 0;
}

static void scan_json(struct json_scan *s, const unsigned char *p, size_t n, uint64_t *records) {
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (s->in_string) {
            if (s->escaped)
                s->escaped = 0;
            else if (ch == '\\')
                s->escaped = 1;
            else if (ch == '"')
                s->in_string = 0;
            continue;
        }
        if (s->depth == 0) {
            if (ch == '[') {
                s->top = 1;
                s->depth = 1;
                s->expect_value = 1;
            } else if (!isspace(ch) && s->top == 0) {
                s->top = 2;
                (*records)++;
                if (ch == '{')
                    s->depth = 1;
                else if (ch == '"')
                    s->in_string = 1;
            }
            continue;
        }
        if (s->depth == 1 && s->top == 1 && s->expect_value && !isspace(ch) && ch != ']') {
            (*records)++;
            s->expect_value = 0;
        }
        switch (ch) {
        case '"':
            s->in_string = 1;
            break;
        case '{':
        case '[':
            s->depth++;
            break;
        case '}':
        case ']':
            s->depth--;
            break;
        case ',':
            if (s->depth == 1 && s->top == 1)
                s->expect_value = 1;
            break;
        default:
            break;
        }
    }
}

static void stats_json(char *buf, size_t size) {
    snprintf(buf, size,
             "{\"requests\": %llu, \"body_bytes\": %llu, \"records\": %llu, \"bad_requests\": %llu, "
             "\"connections_accepted\": %llu, \"open_connections\": %llu, \"max_open_connections\": %llu, "
             "\"in_flight\": %llu, \"max_in_flight\": %llu, \"held\": %llu, \"max_held\": %llu, "
             "\"refused\": %llu, \"latency_ms\": %ld, \"latency_max_ms\": %ld, \"capacity\": %ld, "
             "\"recording\": %d, \"first_request_at\": %.6f, \"last_answer_at\": %.6f}",
             (unsigned long long) stats.requests, (unsigned long long) stats.bytes,
             (unsigned long long) stats.records, (unsigned long long) stats.bad,
             (unsigned long long) stats.accepted, (unsigned long long) stats.open,
             (unsigned long long) stats.max_open, (unsigned long long) stats.in_flight,
             (unsigned long long) stats.max_in_flight, (unsigned long long) stats.held,
             (unsigned long long) stats.max_held, (unsigned long long) stats.refused, latency_ms, latency_max_ms,
             capacity, record_file != NULL && recording, stats.first_at, stats.last_at);
}

static void prepare_answer(struct conn *c, int status, const char *reason, const char *body) {
    size_t body_len = strlen(body);
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s", status,
                     reason, body_len, c->close_after ? "Connection: close\r\n" : "", body);
    c->out_len = (n > 0 && (size_t) n < sizeof c->out) ? (size_t) n : 0;
    c->out_off = 0;
}

/* Writes what is left of the answer; returns 1 when all of it is out, 0 when
 * the socket is full, -1 when the connection is gone. */
static int write_out(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out_off += (size_t) w;
    }
    return 1;
}

static void process_bytes(struct conn *c, const char *p, size_t n);

/* The answer is out: next request (from the stash first), or close. */
static void answer_done(struct conn *c) {
    if (c->in_flight) {
        stats.last_at = wall_now();
        stats.in_flight--;
        c->in_flight = 0;
    }
    if (c->close_after) {
        conn_close(c);
        return;
    }
    reset_request(c);
    set_interest(c, EPOLLIN | EPOLLRDHUP);
    if (c->stash_len > 0) {
        char *held = c->stash;
        size_t held_len = c->stash_len;
        c->stash = NULL;
        c->stash_len = c->stash_cap = 0;
        process_bytes(c, held, held_len);
        free(held);
    }
}

static void send_answer(struct conn *c) {
    int r = write_out(c);
    if (r < 0) {
        conn_close(c);
    } else if (r == 0) {
        c->state = S_WRITING;
        set_interest(c, EPOLLOUT | EPOLLRDHUP);
    } else {
        answer_done(c);
    }
}

/* Into the list of held answers, which is kept in order of due time. */
static void hold_answer(struct conn *c) {
    c->in_pending = 1;
    stats.held++;
    if (stats.held > stats.max_held)
        stats.max_held = stats.held;
    struct conn **link = &pending_head;
    while (*link && (*link)->due_ns <= c->due_ns)
        link = &(*link)->next_pending;
    c->next_pending = *link;
    *link = c;
}

/* /config?latency_ms=N&latency_max_ms=M&capacity=C&record=0|1: the ones
 * given change. */
static void apply_config(const char *query) {
    static const struct {
        const char *name;
        long *value;
    } settings[] = {{"latency_ms", &latency_ms}, {"latency_max_ms", &latency_max_ms}, {"capacity", &capacity},
                    {"record", &recording}};
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
            size_t len = strlen(settings[i].name);
            if (strncmp(p, settings[i].name, len) == 0 && p[len] == '=') {
                long v = strtol(p + len + 1, NULL, 10);
                if (v >= 0)
                    *settings[i].value = v;
            }
        }
    }
}

/* --record: the request as "<epoch us> <length> <path>\n<body>\n". */
static void record_request(struct conn *c) {
    if (!record_file || !recording || c->body_lost)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(record_file, "%lld %zu %s\n", (long long) ts.tv_sec * 1000000 + ts.tv_nsec / 1000, c->body_len,
            c->path);
    if (c->body_len)
        fwrite(c->body, 1, c->body_len, record_file);
    fputc('\n', record_file);
    fflush(record_file);
}

static void request_complete(struct conn *c) {
    char body[1024];
    if (c->control == 1 || c->control == 2 || c->control == 4) {
        stats_json(body, sizeof body);
        if (c->control == 2) {
            uint64_t open = stats.open, in_flight = stats.in_flight, held = stats.held;
            memset(&stats, 0, sizeof stats);
            stats.open = stats.max_open = open;
            stats.in_flight = stats.max_in_flight = in_flight;
            stats.held = stats.max_held = held;
        }
        prepare_answer(c, 200, "OK", body);
        send_answer(c);
        return;
    }
    if (c->control == 3) {
        prepare_answer(c, 404, "Not Found", "{\"error\":\"not found\"}");
        send_answer(c);
        return;
    }
    if (capacity > 0 && stats.held >= (uint64_t) capacity) {
        stats.refused++;
        prepare_answer(c, 429, "Too Many Requests", "{\"error\":\"too many concurrent requests\"}");
        send_answer(c);
        return;
    }
    stats.requests++;
    stats.bytes += c->req_bytes;
    stats.records += c->req_records;
    record_request(c);
    prepare_answer(c, 200, "OK", "{\"ok\":true}");
    long hold_ms = latency_ms;
    if (latency_max_ms > latency_ms)
        hold_ms += (long) (drand48() * (double) (latency_max_ms - latency_ms + 1));
    if (hold_ms > 0) {
        c->state = S_WAITING;
        c->due_ns = now_ns() + (uint64_t) hold_ms * 1000000u;
        hold_answer(c);
        set_interest(c, EPOLLRDHUP);
        return;
    }
    send_answer(c);
}

static void bad_request(struct conn *c, int status, const char *reason) {
    stats.bad++;
    c->close_after = 1;
    c->control = 3; /* not counted */
    prepare_answer(c, status, reason, "{\"error\":\"bad request\"}");
    c->state = S_WRITING;
    send_answer(c);
}

static int header_has_token(const char *value, const char *token) {
    size_t tl = strlen(token);
    for (const char *s = value; *s; s++) {
        if (strncasecmp(s, token, tl) == 0)
            return 1;
    }
    return 0;
}

/* Parses the request line and headers in c->head; returns 0 or -1. */
static int parse_head(struct conn *c) {
    c->head[c->head_len] = '\0';
    char *save = NULL;
    char *line = strtok_r(c->head, "\r\n", &save);
    if (!line)
        return -1;
    char method[16], path[1024], version[16];
    if (sscanf(line, "%15s %1023s %15s", method, path, version) != 3)
        return -1;
    int http11 = strcmp(version, "HTTP/1.1") == 0;
    c->keep_alive = http11;
    int chunked = 0, expect_continue = 0, have_length = 0;
    uint64_t length = 0;
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':');
        if (!colon)
            return -1;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(value, &end, 10);
            if (errno || end == value)
                return -1;
            length = v;
            have_length = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = header_has_token(value, "chunked");
        } else if (strcasecmp(line, "Connection") == 0) {
            if (header_has_token(value, "close"))
                c->keep_alive = 0;
            else if (header_has_token(value, "keep-alive"))
                c->keep_alive = 1;
        } else if (strcasecmp(line, "Expect") == 0) {
            expect_continue = header_has_token(value, "100-continue");
        }
    }
    c->close_after = !c->keep_alive;
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    snprintf(c->path, sizeof c->path, "%s", path);
    if (strcmp(path, "/stats") == 0)
        c->control = 1;
    else if (strcmp(path, "/config") == 0) {
        c->control = 4;
        apply_config(query);
    }
    else if (strcmp(path, "/reset") == 0)
        c->control = 2;
    else
        c->control = 0;
    if (c->control == 0) {
        if (stats.first_at == 0)
            stats.first_at = wall_now();
        c->in_flight = 1;
        stats.in_flight++;
        if (stats.in_flight > stats.max_in_flight)
            stats.max_in_flight = stats.in_flight;
    }
    if (expect_continue && (chunked || (have_length && length > 0))) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) != (ssize_t) (sizeof cont - 1))
            return -1;
    }
    if (chunked) {
        c->state = S_CHUNK_SIZE;
        c->line_len = 0;
    } else {
        c->state = S_BODY;
        c->body_left = length;
    }
    return 0;
}

/* Keeps the body for --record (only while recording: else nothing is stored). */
static void keep_body(struct conn *c, const char *p, size_t n) {
    if (!record_file || !recording || c->body_lost || c->control != 0)
        return;
    if (c->body_len + n > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 65536;
        while (cap < c->body_len + n)
            cap *= 2;
        char *grown = realloc(c->body, cap);
        if (!grown) {
            c->body_lost = 1;
            return;
        }
        c->body = grown;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, p, n);
    c->body_len += n;
}

static void body_bytes(struct conn *c, const char *p, size_t n) {
    c->req_bytes += n;
    scan_json(&c->scan, (const unsigned char *) p, n, &c->req_records);
    keep_body(c, p, n);
}

/* Feeds bytes to the request parser until they are used up or a request is
 * answered or held; keeps what is left over in the stash. */
static void process_bytes(struct conn *c, const char *p, size_t n) {
    while (n > 0 && !c->dead) {
        if (c->state == S_WAITING || c->state == S_WRITING) {
            if (c->stash_len + n > c->stash_cap) {
                size_t cap = c->stash_cap ? c->stash_cap : 4096;
                while (cap < c->stash_len + n)
                    cap *= 2;
                char *grown = realloc(c->stash, cap);
                if (!grown) {
                    conn_close(c);
                    return;
                }
                c->stash = grown;
                c->stash_cap = cap;
            }
            memcpy(c->stash + c->stash_len, p, n);
            c->stash_len += n;
            return;
        }
        switch (c->state) {
        case S_HEADERS: {
            /* copy up to the end of the headers */
            size_t i = 0;
            int done = 0;
            while (i < n) {
                if (c->head_len >= HEADER_MAX - 1) {
                    bad_request(c, 431, "Request Header Fields Too Large");
                    return;
                }
                char ch = p[i++];
                if (c->head_len == 0 && (ch == '\r' || ch == '\n'))
                    continue; /* stray CRLF between requests */
                c->head[c->head_len++] = ch;
                if (c->head_len >= 4 && memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) == 0) {
                    done = 1;
                    break;
                }
            }
            p += i;
            n -= i;
            if (done) {
                if (parse_head(c) < 0) {
                    bad_request(c, 400, "Bad Request");
                    return;
                }
                if (c->state == S_BODY && c->body_left == 0)
                    request_complete(c);
            }
            break;
        }
        case S_BODY: {
            size_t take = n < c->body_left ? n : (size_t) c->body_left;
            body_bytes(c, p, take);
            p += take;
            n -= take;
            c->body_left -= take;
            if (c->body_left == 0)
                request_complete(c);
            break;
        }
        case S_CHUNK_SIZE:
        case S_TRAILER: {
            char ch = *p++;
            n--;
            if (ch == '\r')
                break;
            if (ch != '\n') {
                if (c->line_len >= sizeof c->line - 1) {
                    if (c->state == S_CHUNK_SIZE) {
                        bad_request(c, 400, "Bad Request");
                        return;
                    }
                    continue; /* long trailer line: ignored */
                }
                c->line[c->line_len++] = ch;
                break;
            }
            c->line[c->line_len] = '\0';
            if (c->state == S_TRAILER) {
                if (c->line_len == 0)
                    request_complete(c);
                c->line_len = 0;
                break;
            }
            char *end;
            errno = 0;
            unsigned long long size = strtoull(c->line, &end, 16);
            c->line_len = 0;
            if (errno || end == c->line) {
                bad_request(c, 400, "Bad Request");
                return;
            }
            if (size == 0) {
                c->state = S_TRAILER;
            } else {
                c->state = S_CHUNK_DATA;
                c->body_left = size;
            }
            break;
        }
        case S_CHUNK_DATA: {
            size_t take = n < c->body_left ? n : (size_t) c->body_left;
            body_bytes(c, p, take);
            p += take;
            n -= take;
            c->body_left -= take;
            if (c->body_left == 0) {
                c->state = S_CHUNK_CRLF;
                c->line_len = 0;
            }
            break;
        }
        case S_CHUNK_CRLF: {
            char ch = *p++;
            n--;
            if (ch == '\n')
                c->state = S_CHUNK_SIZE;
            else if (ch != '\r') {
                bad_request(c, 400, "Bad Request");
                return;
            }
            break;
        }
        default:
            return;
        }
    }
}

static void on_readable(struct conn *c, char *buf) {
    for (;;) {
        if (c->state == S_WAITING || c->state == S_WRITING)
            return; /* the answer first: the rest waits in the socket */
        ssize_t r = recv(c->fd, buf, READ_CHUNK, 0);
        if (r == 0) {
            conn_close(c);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_close(c);
            return;
        }
        process_bytes(c, buf, (size_t) r);
        if (c->dead)
            return;
        if ((size_t) r < READ_CHUNK)
            return;
    }
}

static void accept_all(int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        reset_request(c);
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = c;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        stats.accepted++;
        stats.open++;
        if (stats.open > stats.max_open)
            stats.max_open = stats.open;
    }
}

static void release_due(void) {
    uint64_t now = now_ns();
    while (pending_head && (pending_head->dead || pending_head->due_ns <= now)) {
        struct conn *c = pending_head;
        pending_head = c->next_pending;
        c->in_pending = 0;
        stats.held--;
        if (c->dead) {
            c->next_dead = graveyard;
            graveyard = c;
            continue;
        }
        send_answer(c);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: sink --port N [--host 127.0.0.1] [--latency-ms N] [--latency-max-ms M] [--capacity C] "
                    "[--record FILE] [--pid-file F]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    const char *pid_file = NULL;
    const char *record_path = NULL;
    long port = -1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--port") == 0)
            port = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--host") == 0)
            host = argv[++i];
        else if (strcmp(argv[i], "--latency-ms") == 0)
            latency_ms = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--latency-max-ms") == 0)
            latency_max_ms = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--capacity") == 0)
            capacity = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--pid-file") == 0)
            pid_file = argv[++i];
        else if (strcmp(argv[i], "--record") == 0)
            record_path = argv[++i];
        else
            usage();
    }
    if (port < 0 || port > 65535 || latency_ms < 0 || latency_max_ms < 0 || capacity < 0)
        usage();
    if (record_path) {
        record_file = fopen(record_path, "a");
        if (!record_file) {
            fprintf(stderr, "sink: cannot open %s: %s\n", record_path, strerror(errno));
            return 1;
        }
        recording = 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t) port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "sink: bad host %s\n", host);
        return 1;
    }
    if (bind(lfd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(lfd, 1024) < 0) {
        fprintf(stderr, "sink: cannot listen on %s:%ld: %s\n", host, port, strerror(errno));
        return 1;
    }
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *) &addr, &alen);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* the listening socket */
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);

    if (pid_file) {
        FILE *f = fopen(pid_file, "w");
        if (f) {
            fprintf(f, "%ld\n", (long) getpid());
            fclose(f);
        }
    }
    printf("listening on %s:%u\n", host, (unsigned) ntohs(addr.sin_port));
    fflush(stdout);

    char *buf = malloc(READ_CHUNK);
    if (!buf)
        return 1;
    struct epoll_event events[256];
    while (!stopping) {
        int timeout = -1;
        if (pending_head) {
            uint64_t now = now_ns();
            timeout = pending_head->due_ns <= now ? 0 : (int) ((pending_head->due_ns - now + 999999u) / 1000000u);
        }
        int n = epoll_wait(epfd, events, 256, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                accept_all(lfd);
                continue;
            }
            if (c->dead)
                continue;
            uint32_t e = events[i].events;
            if (e & EPOLLIN)
                on_readable(c, buf);
            if (c->dead)
                continue;
            if ((e & EPOLLOUT) && c->state == S_WRITING) {
                int r = write_out(c);
                if (r < 0)
                    conn_close(c);
                else if (r > 0)
                    answer_done(c);
                continue;
            }
            /* errors; or a peer gone while its answer is held (level-triggered
             * EPOLLRDHUP would fire again and again); a half-closed reader
             * sees end of file in recv */
            if ((e & (EPOLLERR | EPOLLHUP)) ||
                ((e & EPOLLRDHUP) && (c->state == S_WAITING || c->state == S_WRITING)))
                conn_close(c);
        }
        release_due();
        bury_dead();
    }
    char body[1024];
    stats_json(body, sizeof body);
    fprintf(stderr, "sink stopping: %s\n", body);
    if (pid_file)
        unlink(pid_file);
    if (record_file)
        fclose(record_file);
    free(buf);
    return 0;
}
