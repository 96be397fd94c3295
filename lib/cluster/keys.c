/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keys.c: which arguments of a command are keys, so that it goes to the node
 * that owns their slot — a built-in table of the common commands (not
 * COMMAND INFO: the table needs no round trip and no server at start). A
 * command not in it is sent as if keyless; if it has keys elsewhere, the
 * node answers MOVED and route.c follows.
 */
#include "cluster/internal.h"
#include "pool/classify.h"

#include <string.h>
#include <strings.h>

enum {
    K_NONE = 0,    /* no keys */
    K_REFUSE = 1,  /* wrong on one node of a cluster: broadcast it instead */
    K_NUMKEYS = 2, /* keys follow a count argument at `first` (EVAL, ZUNIONSTORE, ...) */
    K_STREAMS = 3, /* the first half of the arguments after STREAMS (XREAD) */
    K_SUB = 4,     /* a subcommand first; the key is the argument after it */
};

typedef struct keyspec {
    const char *name;
    short first; /* index of the first key (0 = the command) */
    short last;  /* index of the last key; -1 = the last argument, -2 = all but the last */
    short step;
    short kind;
} keyspec;

/* Sorted by nothing: looked up by name; one entry per command. */
static const keyspec specs[] = {
    {"GET", 1, 1, 1, K_NONE},
    {"SET", 1, 1, 1, K_NONE},
    {"SETNX", 1, 1, 1, K_NONE},
    {"SETEX", 1, 1, 1, K_NONE},
    {"PSETEX", 1, 1, 1, K_NONE},
    {"GETSET", 1, 1, 1, K_NONE},
    {"GETDEL", 1, 1, 1, K_NONE},
    {"GETEX", 1, 1, 1, K_NONE},
    {"APPEND", 1, 1, 1, K_NONE},
    {"STRLEN", 1, 1, 1, K_NONE},
    {"INCR", 1, 1, 1, K_NONE},
    {"DECR", 1, 1, 1, K_NONE},
    {"INCRBY", 1, 1, 1, K_NONE},
    {"DECRBY", 1, 1, 1, K_NONE},
    {"INCRBYFLOAT", 1, 1, 1, K_NONE},
    {"GETRANGE", 1, 1, 1, K_NONE},
    {"SETRANGE", 1, 1, 1, K_NONE},
    {"MGET", 1, -1, 1, K_NONE},
    {"MSET", 1, -1, 2, K_NONE},
    {"MSETNX", 1, -1, 2, K_NONE},
    {"DEL", 1, -1, 1, K_NONE},
    {"UNLINK", 1, -1, 1, K_NONE},
    {"EXISTS", 1, -1, 1, K_NONE},
    {"TOUCH", 1, -1, 1, K_NONE},
    {"EXPIRE", 1, 1, 1, K_NONE},
    {"PEXPIRE", 1, 1, 1, K_NONE},
    {"EXPIREAT", 1, 1, 1, K_NONE},
    {"PEXPIREAT", 1, 1, 1, K_NONE},
    {"TTL", 1, 1, 1, K_NONE},
    {"PTTL", 1, 1, 1, K_NONE},
    {"PERSIST", 1, 1, 1, K_NONE},
    {"TYPE", 1, 1, 1, K_NONE},
    {"RENAME", 1, 2, 1, K_NONE},
    {"RENAMENX", 1, 2, 1, K_NONE},
    {"COPY", 1, 2, 1, K_NONE},
    {"DUMP", 1, 1, 1, K_NONE},
    {"RESTORE", 1, 1, 1, K_NONE},
    {"HGET", 1, 1, 1, K_NONE},
    {"HSET", 1, 1, 1, K_NONE},
    {"HSETNX", 1, 1, 1, K_NONE},
    {"HMSET", 1, 1, 1, K_NONE},
    {"HMGET", 1, 1, 1, K_NONE},
    {"HDEL", 1, 1, 1, K_NONE},
    {"HGETALL", 1, 1, 1, K_NONE},
    {"HKEYS", 1, 1, 1, K_NONE},
    {"HVALS", 1, 1, 1, K_NONE},
    {"HLEN", 1, 1, 1, K_NONE},
    {"HEXISTS", 1, 1, 1, K_NONE},
    {"HINCRBY", 1, 1, 1, K_NONE},
    {"HINCRBYFLOAT", 1, 1, 1, K_NONE},
    {"HSCAN", 1, 1, 1, K_NONE},
    {"HSTRLEN", 1, 1, 1, K_NONE},
    {"LPUSH", 1, 1, 1, K_NONE},
    {"RPUSH", 1, 1, 1, K_NONE},
    {"LPUSHX", 1, 1, 1, K_NONE},
    {"RPUSHX", 1, 1, 1, K_NONE},
    {"LPOP", 1, 1, 1, K_NONE},
    {"RPOP", 1, 1, 1, K_NONE},
    {"LLEN", 1, 1, 1, K_NONE},
    {"LRANGE", 1, 1, 1, K_NONE},
    {"LINDEX", 1, 1, 1, K_NONE},
    {"LSET", 1, 1, 1, K_NONE},
    {"LREM", 1, 1, 1, K_NONE},
    {"LTRIM", 1, 1, 1, K_NONE},
    {"LINSERT", 1, 1, 1, K_NONE},
    {"LPOS", 1, 1, 1, K_NONE},
    {"RPOPLPUSH", 1, 2, 1, K_NONE},
    {"LMOVE", 1, 2, 1, K_NONE},
    {"SADD", 1, 1, 1, K_NONE},
    {"SREM", 1, 1, 1, K_NONE},
    {"SMEMBERS", 1, 1, 1, K_NONE},
    {"SISMEMBER", 1, 1, 1, K_NONE},
    {"SMISMEMBER", 1, 1, 1, K_NONE},
    {"SCARD", 1, 1, 1, K_NONE},
    {"SPOP", 1, 1, 1, K_NONE},
    {"SRANDMEMBER", 1, 1, 1, K_NONE},
    {"SSCAN", 1, 1, 1, K_NONE},
    {"SMOVE", 1, 2, 1, K_NONE},
    {"SINTER", 1, -1, 1, K_NONE},
    {"SUNION", 1, -1, 1, K_NONE},
    {"SDIFF", 1, -1, 1, K_NONE},
    {"SINTERSTORE", 1, -1, 1, K_NONE},
    {"SUNIONSTORE", 1, -1, 1, K_NONE},
    {"SDIFFSTORE", 1, -1, 1, K_NONE},
    {"ZADD", 1, 1, 1, K_NONE},
    {"ZREM", 1, 1, 1, K_NONE},
    {"ZSCORE", 1, 1, 1, K_NONE},
    {"ZMSCORE", 1, 1, 1, K_NONE},
    {"ZINCRBY", 1, 1, 1, K_NONE},
    {"ZCARD", 1, 1, 1, K_NONE},
    {"ZCOUNT", 1, 1, 1, K_NONE},
    {"ZRANGE", 1, 1, 1, K_NONE},
    {"ZREVRANGE", 1, 1, 1, K_NONE},
    {"ZRANGEBYSCORE", 1, 1, 1, K_NONE},
    {"ZRANK", 1, 1, 1, K_NONE},
    {"ZREVRANK", 1, 1, 1, K_NONE},
    {"ZSCAN", 1, 1, 1, K_NONE},
    {"ZPOPMIN", 1, 1, 1, K_NONE},
    {"ZPOPMAX", 1, 1, 1, K_NONE},
    {"ZREMRANGEBYSCORE", 1, 1, 1, K_NONE},
    {"ZREMRANGEBYRANK", 1, 1, 1, K_NONE},
    {"ZUNIONSTORE", 2, 1, 1, K_NUMKEYS},
    {"ZINTERSTORE", 2, 1, 1, K_NUMKEYS},
    {"PFADD", 1, 1, 1, K_NONE},
    {"PFCOUNT", 1, -1, 1, K_NONE},
    {"PFMERGE", 1, -1, 1, K_NONE},
    {"XADD", 1, 1, 1, K_NONE},
    {"XLEN", 1, 1, 1, K_NONE},
    {"XRANGE", 1, 1, 1, K_NONE},
    {"XREVRANGE", 1, 1, 1, K_NONE},
    {"XDEL", 1, 1, 1, K_NONE},
    {"XTRIM", 1, 1, 1, K_NONE},
    {"XACK", 1, 1, 1, K_NONE},
    {"XCLAIM", 1, 1, 1, K_NONE},
    {"XPENDING", 1, 1, 1, K_NONE},
    {"XGROUP", 2, 2, 1, K_SUB},
    {"XINFO", 2, 2, 1, K_SUB},
    {"XREAD", 0, 0, 1, K_STREAMS},
    {"XREADGROUP", 0, 0, 1, K_STREAMS},
    {"EVAL", 2, 1, 1, K_NUMKEYS},
    {"EVALSHA", 2, 1, 1, K_NUMKEYS},
    {"EVAL_RO", 2, 1, 1, K_NUMKEYS},
    {"EVALSHA_RO", 2, 1, 1, K_NUMKEYS},
    {"FCALL", 2, 1, 1, K_NUMKEYS},
    {"FCALL_RO", 2, 1, 1, K_NUMKEYS},
    {"OBJECT", 2, 2, 1, K_SUB},
    {"MEMORY", 2, 2, 1, K_SUB},
    {"BITCOUNT", 1, 1, 1, K_NONE},
    {"SETBIT", 1, 1, 1, K_NONE},
    {"GETBIT", 1, 1, 1, K_NONE},
    {"BITPOS", 1, 1, 1, K_NONE},
    {"BITFIELD", 1, 1, 1, K_NONE},
    {"BITOP", 2, -1, 1, K_NONE},
    {"GEOADD", 1, 1, 1, K_NONE},
    {"GEOPOS", 1, 1, 1, K_NONE},
    {"GEODIST", 1, 1, 1, K_NONE},
    {"GEOSEARCH", 1, 1, 1, K_NONE},
    {"SORT", 1, 1, 1, K_NONE},
    {"WATCH", 1, -1, 1, K_NONE},
    {"BLPOP", 1, -2, 1, K_NONE},
    {"BRPOP", 1, -2, 1, K_NONE},
    {"BRPOPLPUSH", 1, 2, 1, K_NONE},
    {"BLMOVE", 1, 2, 1, K_NONE},
    {"BZPOPMIN", 1, -2, 1, K_NONE},
    {"BZPOPMAX", 1, -2, 1, K_NONE},
    {"FLUSHALL", 0, 0, 1, K_REFUSE},
    {"FLUSHDB", 0, 0, 1, K_REFUSE},
    {"KEYS", 0, 0, 1, K_REFUSE},
    {"SCAN", 0, 0, 1, K_REFUSE},
    {"DBSIZE", 0, 0, 1, K_REFUSE},
    {"RANDOMKEY", 0, 0, 1, K_REFUSE},
    {"SWAPDB", 0, 0, 1, K_REFUSE},
    {"SCRIPT", 0, 0, 1, K_REFUSE},
    {"FUNCTION", 0, 0, 1, K_REFUSE},
    {"MOVE", 0, 0, 1, K_REFUSE},
};

static const keyspec *find(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strlen(specs[i].name) == n && strncasecmp(specs[i].name, name, n) == 0)
            return &specs[i];
    return NULL;
}

/* A small decimal argument, or -1. */
static long small_number(const char *s, size_t n)
{
    long v = 0;
    if (n == 0 || n > 6) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* What the key range depends on, from one pass over the arguments. */
typedef struct shape {
    long count;   /* arguments, the command included */
    long numkeys; /* K_NUMKEYS: the count argument's value, -1 if unreadable */
    long streams; /* K_STREAMS: index after STREAMS, 0 if none */
} shape;

static int measure(const char *cmd, size_t len, const keyspec *k, shape *sh)
{
    redisconn__resp_args it;
    const char *a;
    size_t n;
    long i = 0;
    int rc;
    sh->count = redisconn__resp_args_begin(&it, cmd, len);
    sh->numkeys = -1;
    sh->streams = 0;
    while ((rc = redisconn__resp_args_next(&it, &a, &n)) == 1) {
        if (k->kind == K_NUMKEYS && i == k->first) sh->numkeys = small_number(a, n);
        if (k->kind == K_STREAMS && sh->streams == 0 && n == 7 && strncasecmp(a, "STREAMS", 7) == 0)
            sh->streams = i + 1;
        i++;
    }
    return rc < 0 ? -1 : 0;
}

/* The [first, last] key range (step) of a command shaped `sh` under `k`. */
static void key_range(const keyspec *k, const shape *sh, long *first, long *last)
{
    *first = k->first;
    *last = k->last >= 0 ? k->last : sh->count + k->last; /* -1: the last, -2: but one */
    if (k->kind == K_NUMKEYS) {
        *first = k->first + 1;
        *last = sh->numkeys > 0 ? *first + sh->numkeys - 1 : 0;
    } else if (k->kind == K_STREAMS) {
        *first = sh->streams;
        *last = sh->streams ? sh->streams + (sh->count - sh->streams) / 2 - 1 : 0;
    }
    if (*last >= sh->count) *last = sh->count - 1;
}

int redisconn__keys_slot(const char *cmd, size_t len)
{
    redisconn__resp_args it;
    const keyspec *k;
    const char *a;
    size_t n;
    shape sh;
    long first, last, i = 0;
    int slot = -1;

    if (redisconn__resp_args_begin(&it, cmd, len) < 1 ||
        redisconn__resp_args_next(&it, &a, &n) != 1)
        return REDISCONN_ERR_UNSUPPORTED;
    k = find(a, n);
    if (k == NULL) return -1;
    if (k->kind == K_REFUSE) return REDISCONN_ERR_CLUSTER;
    if (k->first == 0 && k->kind != K_STREAMS) return -1;
    if (measure(cmd, len, k, &sh) != 0) return REDISCONN_ERR_UNSUPPORTED;
    key_range(k, &sh, &first, &last);
    while (redisconn__resp_args_next(&it, &a, &n) == 1) {
        int s;
        if (++i < first || first < 1) continue;
        if (i > last) break;
        if ((i - first) % k->step != 0) continue;
        s = redisconn_cluster_keyslot(a, n);
        if (slot >= 0 && s != slot) return REDISCONN_ERR_CROSSSLOT;
        slot = s;
    }
    return slot;
}
