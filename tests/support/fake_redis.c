/* SPDX-License-Identifier: BSD-3-Clause */
/* fake_redis.c: see fake_redis.h. */
#include "support/fake_redis.h"
#include "support/support.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_CONNS = 32, MAX_ARGS = 8, MAX_KEYS = 256, EXTRA_DELAY_MS = 50 };

static const char SURPRISE[] = "+SURPRISE\r\n";

typedef struct fconn {
    int fd;
    int faulty;
    char *in; /* bytes read, not yet parsed */
    size_t in_len, in_cap;
    char *out; /* BYTEWISE: bytes still to trickle out */
    size_t out_len, out_off;
    int64_t next_byte_ms;
    int64_t extra_at_ms; /* EXTRA_IDLE: when to send the surprise (0 = not armed) */
    int data_cmds;       /* SET / GET answered */
    int handshaken;      /* SELECT answered */
    int held;            /* FIN_RESET: no more reading */
    int closing;
} fconn;

struct rt_fake_redis {
    int lfd;
    char addr[64];
    rt_fake_fault fault;
    int faulty;
    int accepted;
    int extras;
    int holding;  /* FIN_RESET: a connection is held */
    int go, done; /* FIN_RESET: rt_fake_redis_fin_then_reset() asked / finished */
    volatile int stop;
    pthread_t thread;
    fconn conns[MAX_CONNS];
    char *keys[MAX_KEYS], *vals[MAX_KEYS];
    size_t klen[MAX_KEYS], vlen[MAX_KEYS];
};

/* ---- the store --------------------------------------------------------- */

static int find_key(rt_fake_redis *f, const char *k, size_t kl)
{
    for (int i = 0; i < MAX_KEYS; i++)
        if (f->keys[i] && f->klen[i] == kl && memcmp(f->keys[i], k, kl) == 0) return i;
    return -1;
}

static void store_set(rt_fake_redis *f, const char *k, size_t kl, const char *v, size_t vl)
{
    int i = find_key(f, k, kl);
    if (i < 0) {
        for (i = 0; i < MAX_KEYS && f->keys[i]; i++) {
        }
        if (i == MAX_KEYS) i = 0; /* full: forget the oldest slot */
        free(f->keys[i]);
        f->keys[i] = malloc(kl);
        memcpy(f->keys[i], k, kl);
        f->klen[i] = kl;
    } else {
        free(f->vals[i]);
    }
    f->vals[i] = malloc(vl ? vl : 1);
    memcpy(f->vals[i], v, vl);
    f->vlen[i] = vl;
}

/* ---- output ------------------------------------------------------------ */

static void send_now(fconn *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0) {
            c->closing = 1;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Queues output: sent in one write once the input read is processed (like
 * Redis answering a pipeline), or trickled out byte by byte (BYTEWISE). */
static void reply(rt_fake_redis *f, fconn *c, const char *buf, size_t len)
{
    (void)f;
    c->out = realloc(c->out, c->out_len + len);
    memcpy(c->out + c->out_len, buf, len);
    c->out_len += len;
}

static int trickles(const rt_fake_redis *f, const fconn *c)
{
    return f->fault == RT_FAKE_BYTEWISE && c->faulty;
}

static void reply_str(rt_fake_redis *f, fconn *c, const char *s)
{
    reply(f, c, s, strlen(s));
}

static void reply_bulk(rt_fake_redis *f, fconn *c, const char *v, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "$%zu\r\n", len);
    char *buf = malloc((size_t)n + len + 2);
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, v, len);
    memcpy(buf + (size_t)n + len, "\r\n", 2);
    reply(f, c, buf, (size_t)n + len + 2);
    free(buf);
}

/* ---- commands ---------------------------------------------------------- */

static int is_cmd(const char *a, size_t len, const char *name)
{
    return len == strlen(name) && strncasecmp(a, name, len) == 0;
}

/* A data command on a faulty connection: the fault decides the answer.
 * Returns 1 when it answered. */
static int faulty_answer(rt_fake_redis *f, fconn *c)
{
    if (!c->faulty) return 0;
    switch (f->fault) {
    case RT_FAKE_GARBAGE:
        reply_str(f, c, "!#%& this is not RESP\r\n");
        return 1;
    case RT_FAKE_HALF_REPLY:
        reply_str(f, c, "$10\r\nhel");
        c->closing = 1;
        return 1;
    default:
        return 0;
    }
}

static void run_command(rt_fake_redis *f, fconn *c, int argc, const char **argv, const size_t *len)
{
    if (argc == 0) return;
    if (is_cmd(argv[0], len[0], "PING")) {
        reply_str(f, c, "+PONG\r\n");
    } else if (is_cmd(argv[0], len[0], "AUTH") || is_cmd(argv[0], len[0], "CLIENT")) {
        reply_str(f, c, "+OK\r\n");
    } else if (is_cmd(argv[0], len[0], "SELECT")) {
        reply_str(f, c, "+OK\r\n");
        c->handshaken = 1;
        if (f->fault == RT_FAKE_EXTRA_IDLE && c->faulty)
            c->extra_at_ms = rt_now_ms() + EXTRA_DELAY_MS;
    } else if (is_cmd(argv[0], len[0], "SET") || is_cmd(argv[0], len[0], "GET")) {
        int set = is_cmd(argv[0], len[0], "SET"), i;
        if (faulty_answer(f, c)) return;
        if (set && argc >= 3) {
            store_set(f, argv[1], len[1], argv[2], len[2]);
            reply_str(f, c, "+OK\r\n");
        } else if (!set && argc >= 2 && (i = find_key(f, argv[1], len[1])) >= 0) {
            reply_bulk(f, c, f->vals[i], f->vlen[i]);
        } else {
            reply_str(f, c, set ? "-ERR wrong number of arguments\r\n" : "$-1\r\n");
        }
        if (f->fault == RT_FAKE_EXTRA_REPLY && c->faulty && c->data_cmds == 0) {
            reply_str(f, c, SURPRISE); /* in the same write as the answer */
            __atomic_add_fetch(&f->extras, 1, __ATOMIC_SEQ_CST);
        }
        c->data_cmds++;
    } else {
        reply_str(f, c, "-ERR unknown command\r\n");
    }
}

/* Parses one RESP array of bulk strings at `p` (n bytes). Returns the bytes
 * it took, 0 when incomplete, -1 when malformed. */
static long parse_request(const char *p, size_t n, int *argc, const char **argv, size_t *len)
{
    const char *end = p + n, *q = p;
    char *e;
    long count;
    if (n == 0) return 0;
    if (*q != '*') return -1;
    if (memchr(q, '\n', (size_t)(end - q)) == NULL) return 0;
    count = strtol(q + 1, &e, 10);
    if (count < 0 || count > MAX_ARGS) return -1;
    q = strchr(q, '\n') + 1;
    for (long i = 0; i < count; i++) {
        long l;
        if (q >= end) return 0;
        if (*q != '$') return -1;
        if (memchr(q, '\n', (size_t)(end - q)) == NULL) return 0;
        l = strtol(q + 1, &e, 10);
        if (l < 0) return -1;
        q = (const char *)memchr(q, '\n', (size_t)(end - q)) + 1;
        if (end - q < l + 2) return 0;
        argv[i] = q;
        len[i] = (size_t)l;
        q += l + 2;
    }
    *argc = (int)count;
    return q - p;
}

static void on_input(rt_fake_redis *f, fconn *c)
{
    size_t off = 0;
    for (;;) {
        const char *argv[MAX_ARGS];
        size_t len[MAX_ARGS];
        int argc = 0;
        long took = parse_request(c->in + off, c->in_len - off, &argc, argv, len);
        if (took < 0) {
            c->closing = 1;
            break;
        }
        if (took == 0) break;
        run_command(f, c, argc, argv, len);
        off += (size_t)took;
        if (c->closing) break;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static void read_conn(rt_fake_redis *f, fconn *c)
{
    ssize_t n;
    if (c->in_cap - c->in_len < 65536) {
        c->in_cap = c->in_cap * 2 + 65536;
        c->in = realloc(c->in, c->in_cap);
    }
    n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n <= 0) {
        c->closing = 1;
        return;
    }
    c->in_len += (size_t)n;
    if (f->fault == RT_FAKE_FIN_RESET && c->faulty && c->handshaken) {
        c->held = 1; /* a data command is arriving: read no more of it */
        __atomic_store_n(&f->holding, 1, __ATOMIC_SEQ_CST);
        return;
    }
    on_input(f, c);
    if (!trickles(f, c) && c->out_len > c->out_off) {
        send_now(c, c->out + c->out_off, c->out_len - c->out_off);
        c->out_off = c->out_len = 0;
    }
}

/* Timed output: the surprise, the next trickled byte. */
static void tick_conn(rt_fake_redis *f, fconn *c, int64_t now)
{
    if (c->extra_at_ms && now >= c->extra_at_ms) {
        c->extra_at_ms = 0;
        __atomic_add_fetch(&f->extras, 1, __ATOMIC_SEQ_CST); /* counted before it can be seen */
        send_now(c, SURPRISE, strlen(SURPRISE));
    }
    if (c->out_off < c->out_len && now >= c->next_byte_ms) {
        send_now(c, c->out + c->out_off, 1);
        c->out_off++;
        c->next_byte_ms = now + 1;
        if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    }
}

static void drop_conn(fconn *c);

/* FIN now, RST 20 ms later, on the held connection. */
static void fin_then_reset(fconn *c)
{
    struct linger lg = {1, 0};
    shutdown(c->fd, SHUT_WR);
    usleep(20000);
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    drop_conn(c);
}

static void drop_conn(fconn *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void accept_conn(rt_fake_redis *f)
{
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) return;
    for (int i = 0; i < MAX_CONNS; i++) {
        fconn *c = &f->conns[i];
        if (c->fd >= 0) continue;
        c->fd = fd;
        c->faulty = f->faulty == 0 || f->accepted < f->faulty;
        __atomic_add_fetch(&f->accepted, 1, __ATOMIC_SEQ_CST);
        return;
    }
    close(fd); /* full */
}

static void *run(void *arg)
{
    rt_fake_redis *f = arg;
    while (!f->stop) {
        struct pollfd p[MAX_CONNS + 1];
        int idx[MAX_CONNS + 1], n = 1;
        int64_t now = rt_now_ms();
        p[0] = (struct pollfd){f->lfd, POLLIN, 0};
        for (int i = 0; i < MAX_CONNS; i++) {
            fconn *c = &f->conns[i];
            if (c->fd < 0) continue;
            tick_conn(f, c, now);
            if (c->closing && c->out_len == 0) {
                drop_conn(c);
                continue;
            }
            if (c->held) {
                if (__atomic_load_n(&f->go, __ATOMIC_SEQ_CST)) {
                    fin_then_reset(c);
                    __atomic_store_n(&f->done, 1, __ATOMIC_SEQ_CST);
                }
                continue;
            }
            p[n] = (struct pollfd){c->fd, POLLIN, 0};
            idx[n++] = i;
        }
        if (poll(p, (nfds_t)n, 1) <= 0) continue;
        if (p[0].revents & POLLIN) accept_conn(f);
        for (int j = 1; j < n; j++)
            if (p[j].revents & (POLLIN | POLLHUP | POLLERR)) read_conn(f, &f->conns[idx[j]]);
    }
    return NULL;
}

rt_fake_redis *rt_fake_redis_start(rt_fake_fault fault, int faulty)
{
    rt_fake_redis *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1;
    cr_assert_not_null(f);
    f->fault = fault;
    f->faulty = faulty;
    for (int i = 0; i < MAX_CONNS; i++)
        f->conns[i].fd = -1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(f->lfd, 64) == 0 &&
                  getsockname(f->lfd, (struct sockaddr *)&sa, &sl) == 0,
              "fake redis: cannot listen");
    snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    cr_assert_eq(pthread_create(&f->thread, NULL, run, f), 0);
    return f;
}

const char *rt_fake_redis_addr(const rt_fake_redis *f)
{
    return f->addr;
}

int rt_fake_redis_accepted(const rt_fake_redis *f)
{
    return __atomic_load_n(&f->accepted, __ATOMIC_SEQ_CST);
}

int rt_fake_redis_extras(const rt_fake_redis *f)
{
    return __atomic_load_n(&f->extras, __ATOMIC_SEQ_CST);
}

int rt_fake_redis_holding(const rt_fake_redis *f)
{
    return __atomic_load_n(&f->holding, __ATOMIC_SEQ_CST);
}

void rt_fake_redis_fin_then_reset(rt_fake_redis *f)
{
    int64_t end = rt_now_ms() + 2000;
    __atomic_store_n(&f->go, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&f->done, __ATOMIC_SEQ_CST) && rt_now_ms() < end)
        usleep(1000);
    cr_assert(__atomic_load_n(&f->done, __ATOMIC_SEQ_CST), "fake redis: no connection to reset");
}

void rt_fake_redis_stop(rt_fake_redis *f)
{
    if (f == NULL) return;
    f->stop = 1;
    pthread_join(f->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        if (f->conns[i].fd >= 0) drop_conn(&f->conns[i]);
    for (int i = 0; i < MAX_KEYS; i++) {
        free(f->keys[i]);
        free(f->vals[i]);
    }
    close(f->lfd);
    free(f);
}
