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

#include <ctype.h>
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
    short dest; /* K_NUMKEYS: index of a key before the count (the destination), 0 = none */
} keyspec;

/* Sorted by name (strcmp order, upper case): looked up by binary search. */
static const keyspec specs[] = {
    {"APPEND", 1, 1, 1, K_NONE, 0},
    {"BITCOUNT", 1, 1, 1, K_NONE, 0},
    {"BITFIELD", 1, 1, 1, K_NONE, 0},
    {"BITFIELD_RO", 1, 1, 1, K_NONE, 0},
    {"BITOP", 2, -1, 1, K_NONE, 0},
    {"BITPOS", 1, 1, 1, K_NONE, 0},
    {"BLMOVE", 1, 2, 1, K_NONE, 0},
    {"BLMPOP", 2, 1, 1, K_NUMKEYS, 0},
    {"BLPOP", 1, -2, 1, K_NONE, 0},
    {"BRPOP", 1, -2, 1, K_NONE, 0},
    {"BRPOPLPUSH", 1, 2, 1, K_NONE, 0},
    {"BZMPOP", 2, 1, 1, K_NUMKEYS, 0},
    {"BZPOPMAX", 1, -2, 1, K_NONE, 0},
    {"BZPOPMIN", 1, -2, 1, K_NONE, 0},
    {"COPY", 1, 2, 1, K_NONE, 0},
    {"DBSIZE", 0, 0, 1, K_REFUSE, 0},
    {"DECR", 1, 1, 1, K_NONE, 0},
    {"DECRBY", 1, 1, 1, K_NONE, 0},
    {"DEL", 1, -1, 1, K_NONE, 0},
    {"DUMP", 1, 1, 1, K_NONE, 0},
    {"EVAL", 2, 1, 1, K_NUMKEYS, 0},
    {"EVALSHA", 2, 1, 1, K_NUMKEYS, 0},
    {"EVALSHA_RO", 2, 1, 1, K_NUMKEYS, 0},
    {"EVAL_RO", 2, 1, 1, K_NUMKEYS, 0},
    {"EXISTS", 1, -1, 1, K_NONE, 0},
    {"EXPIRE", 1, 1, 1, K_NONE, 0},
    {"EXPIREAT", 1, 1, 1, K_NONE, 0},
    {"EXPIRETIME", 1, 1, 1, K_NONE, 0},
    {"FCALL", 2, 1, 1, K_NUMKEYS, 0},
    {"FCALL_RO", 2, 1, 1, K_NUMKEYS, 0},
    {"FLUSHALL", 0, 0, 1, K_REFUSE, 0},
    {"FLUSHDB", 0, 0, 1, K_REFUSE, 0},
    {"FUNCTION", 0, 0, 1, K_REFUSE, 0},
    {"GEOADD", 1, 1, 1, K_NONE, 0},
    {"GEODIST", 1, 1, 1, K_NONE, 0},
    {"GEOHASH", 1, 1, 1, K_NONE, 0},
    {"GEOPOS", 1, 1, 1, K_NONE, 0},
    {"GEORADIUS", 1, 1, 1, K_NONE, 0},
    {"GEORADIUSBYMEMBER", 1, 1, 1, K_NONE, 0},
    {"GEORADIUSBYMEMBER_RO", 1, 1, 1, K_NONE, 0},
    {"GEORADIUS_RO", 1, 1, 1, K_NONE, 0},
    {"GEOSEARCH", 1, 1, 1, K_NONE, 0},
    {"GEOSEARCHSTORE", 1, 2, 1, K_NONE, 0},
    {"GET", 1, 1, 1, K_NONE, 0},
    {"GETBIT", 1, 1, 1, K_NONE, 0},
    {"GETDEL", 1, 1, 1, K_NONE, 0},
    {"GETEX", 1, 1, 1, K_NONE, 0},
    {"GETRANGE", 1, 1, 1, K_NONE, 0},
    {"GETSET", 1, 1, 1, K_NONE, 0},
    {"HDEL", 1, 1, 1, K_NONE, 0},
    {"HEXISTS", 1, 1, 1, K_NONE, 0},
    {"HGET", 1, 1, 1, K_NONE, 0},
    {"HGETALL", 1, 1, 1, K_NONE, 0},
    {"HINCRBY", 1, 1, 1, K_NONE, 0},
    {"HINCRBYFLOAT", 1, 1, 1, K_NONE, 0},
    {"HKEYS", 1, 1, 1, K_NONE, 0},
    {"HLEN", 1, 1, 1, K_NONE, 0},
    {"HMGET", 1, 1, 1, K_NONE, 0},
    {"HMSET", 1, 1, 1, K_NONE, 0},
    {"HRANDFIELD", 1, 1, 1, K_NONE, 0},
    {"HSCAN", 1, 1, 1, K_NONE, 0},
    {"HSET", 1, 1, 1, K_NONE, 0},
    {"HSETNX", 1, 1, 1, K_NONE, 0},
    {"HSTRLEN", 1, 1, 1, K_NONE, 0},
    {"HVALS", 1, 1, 1, K_NONE, 0},
    {"INCR", 1, 1, 1, K_NONE, 0},
    {"INCRBY", 1, 1, 1, K_NONE, 0},
    {"INCRBYFLOAT", 1, 1, 1, K_NONE, 0},
    {"KEYS", 0, 0, 1, K_REFUSE, 0},
    {"LCS", 1, 2, 1, K_NONE, 0},
    {"LINDEX", 1, 1, 1, K_NONE, 0},
    {"LINSERT", 1, 1, 1, K_NONE, 0},
    {"LLEN", 1, 1, 1, K_NONE, 0},
    {"LMOVE", 1, 2, 1, K_NONE, 0},
    {"LMPOP", 1, 1, 1, K_NUMKEYS, 0},
    {"LPOP", 1, 1, 1, K_NONE, 0},
    {"LPOS", 1, 1, 1, K_NONE, 0},
    {"LPUSH", 1, 1, 1, K_NONE, 0},
    {"LPUSHX", 1, 1, 1, K_NONE, 0},
    {"LRANGE", 1, 1, 1, K_NONE, 0},
    {"LREM", 1, 1, 1, K_NONE, 0},
    {"LSET", 1, 1, 1, K_NONE, 0},
    {"LTRIM", 1, 1, 1, K_NONE, 0},
    {"MEMORY", 2, 2, 1, K_SUB, 0},
    {"MGET", 1, -1, 1, K_NONE, 0},
    {"MOVE", 0, 0, 1, K_REFUSE, 0},
    {"MSET", 1, -1, 2, K_NONE, 0},
    {"MSETNX", 1, -1, 2, K_NONE, 0},
    {"OBJECT", 2, 2, 1, K_SUB, 0},
    {"PERSIST", 1, 1, 1, K_NONE, 0},
    {"PEXPIRE", 1, 1, 1, K_NONE, 0},
    {"PEXPIREAT", 1, 1, 1, K_NONE, 0},
    {"PEXPIRETIME", 1, 1, 1, K_NONE, 0},
    {"PFADD", 1, 1, 1, K_NONE, 0},
    {"PFCOUNT", 1, -1, 1, K_NONE, 0},
    {"PFDEBUG", 2, 2, 1, K_NONE, 0},
    {"PFMERGE", 1, -1, 1, K_NONE, 0},
    {"PSETEX", 1, 1, 1, K_NONE, 0},
    {"PTTL", 1, 1, 1, K_NONE, 0},
    {"RANDOMKEY", 0, 0, 1, K_REFUSE, 0},
    {"RENAME", 1, 2, 1, K_NONE, 0},
    {"RENAMENX", 1, 2, 1, K_NONE, 0},
    {"RESTORE", 1, 1, 1, K_NONE, 0},
    {"RPOP", 1, 1, 1, K_NONE, 0},
    {"RPOPLPUSH", 1, 2, 1, K_NONE, 0},
    {"RPUSH", 1, 1, 1, K_NONE, 0},
    {"RPUSHX", 1, 1, 1, K_NONE, 0},
    {"SADD", 1, 1, 1, K_NONE, 0},
    {"SCAN", 0, 0, 1, K_REFUSE, 0},
    {"SCARD", 1, 1, 1, K_NONE, 0},
    {"SCRIPT", 0, 0, 1, K_REFUSE, 0},
    {"SDIFF", 1, -1, 1, K_NONE, 0},
    {"SDIFFSTORE", 1, -1, 1, K_NONE, 0},
    {"SET", 1, 1, 1, K_NONE, 0},
    {"SETBIT", 1, 1, 1, K_NONE, 0},
    {"SETEX", 1, 1, 1, K_NONE, 0},
    {"SETNX", 1, 1, 1, K_NONE, 0},
    {"SETRANGE", 1, 1, 1, K_NONE, 0},
    {"SINTER", 1, -1, 1, K_NONE, 0},
    {"SINTERCARD", 1, 1, 1, K_NUMKEYS, 0},
    {"SINTERSTORE", 1, -1, 1, K_NONE, 0},
    {"SISMEMBER", 1, 1, 1, K_NONE, 0},
    {"SMEMBERS", 1, 1, 1, K_NONE, 0},
    {"SMISMEMBER", 1, 1, 1, K_NONE, 0},
    {"SMOVE", 1, 2, 1, K_NONE, 0},
    {"SORT", 1, 1, 1, K_NONE, 0},
    {"SORT_RO", 1, 1, 1, K_NONE, 0},
    {"SPOP", 1, 1, 1, K_NONE, 0},
    {"SRANDMEMBER", 1, 1, 1, K_NONE, 0},
    {"SREM", 1, 1, 1, K_NONE, 0},
    {"SSCAN", 1, 1, 1, K_NONE, 0},
    {"STRLEN", 1, 1, 1, K_NONE, 0},
    {"SUBSTR", 1, 1, 1, K_NONE, 0},
    {"SUNION", 1, -1, 1, K_NONE, 0},
    {"SUNIONSTORE", 1, -1, 1, K_NONE, 0},
    {"SWAPDB", 0, 0, 1, K_REFUSE, 0},
    {"TOUCH", 1, -1, 1, K_NONE, 0},
    {"TTL", 1, 1, 1, K_NONE, 0},
    {"TYPE", 1, 1, 1, K_NONE, 0},
    {"UNLINK", 1, -1, 1, K_NONE, 0},
    {"WATCH", 1, -1, 1, K_NONE, 0},
    {"XACK", 1, 1, 1, K_NONE, 0},
    {"XADD", 1, 1, 1, K_NONE, 0},
    {"XAUTOCLAIM", 1, 1, 1, K_NONE, 0},
    {"XCLAIM", 1, 1, 1, K_NONE, 0},
    {"XDEL", 1, 1, 1, K_NONE, 0},
    {"XGROUP", 2, 2, 1, K_SUB, 0},
    {"XINFO", 2, 2, 1, K_SUB, 0},
    {"XLEN", 1, 1, 1, K_NONE, 0},
    {"XPENDING", 1, 1, 1, K_NONE, 0},
    {"XRANGE", 1, 1, 1, K_NONE, 0},
    {"XREAD", 0, 0, 1, K_STREAMS, 0},
    {"XREADGROUP", 0, 0, 1, K_STREAMS, 0},
    {"XREVRANGE", 1, 1, 1, K_NONE, 0},
    {"XSETID", 1, 1, 1, K_NONE, 0},
    {"XTRIM", 1, 1, 1, K_NONE, 0},
    {"ZADD", 1, 1, 1, K_NONE, 0},
    {"ZCARD", 1, 1, 1, K_NONE, 0},
    {"ZCOUNT", 1, 1, 1, K_NONE, 0},
    {"ZDIFF", 1, 1, 1, K_NUMKEYS, 0},
    {"ZDIFFSTORE", 2, 1, 1, K_NUMKEYS, 1},
    {"ZINCRBY", 1, 1, 1, K_NONE, 0},
    {"ZINTER", 1, 1, 1, K_NUMKEYS, 0},
    {"ZINTERCARD", 1, 1, 1, K_NUMKEYS, 0},
    {"ZINTERSTORE", 2, 1, 1, K_NUMKEYS, 1},
    {"ZLEXCOUNT", 1, 1, 1, K_NONE, 0},
    {"ZMPOP", 1, 1, 1, K_NUMKEYS, 0},
    {"ZMSCORE", 1, 1, 1, K_NONE, 0},
    {"ZPOPMAX", 1, 1, 1, K_NONE, 0},
    {"ZPOPMIN", 1, 1, 1, K_NONE, 0},
    {"ZRANDMEMBER", 1, 1, 1, K_NONE, 0},
    {"ZRANGE", 1, 1, 1, K_NONE, 0},
    {"ZRANGEBYLEX", 1, 1, 1, K_NONE, 0},
    {"ZRANGEBYSCORE", 1, 1, 1, K_NONE, 0},
    {"ZRANGESTORE", 1, 2, 1, K_NONE, 0},
    {"ZRANK", 1, 1, 1, K_NONE, 0},
    {"ZREM", 1, 1, 1, K_NONE, 0},
    {"ZREMRANGEBYLEX", 1, 1, 1, K_NONE, 0},
    {"ZREMRANGEBYRANK", 1, 1, 1, K_NONE, 0},
    {"ZREMRANGEBYSCORE", 1, 1, 1, K_NONE, 0},
    {"ZREVRANGE", 1, 1, 1, K_NONE, 0},
    {"ZREVRANGEBYLEX", 1, 1, 1, K_NONE, 0},
    {"ZREVRANGEBYSCORE", 1, 1, 1, K_NONE, 0},
    {"ZREVRANK", 1, 1, 1, K_NONE, 0},
    {"ZSCAN", 1, 1, 1, K_NONE, 0},
    {"ZSCORE", 1, 1, 1, K_NONE, 0},
    {"ZUNION", 1, 1, 1, K_NUMKEYS, 0},
    {"ZUNIONSTORE", 2, 1, 1, K_NUMKEYS, 1},
};

/* Compares the table name `spec` with the command name `name[0..n)`, case
 * insensitively, as strcmp would compare their upper-case forms. */
static int name_cmp(const char *spec, const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int a = (unsigned char)spec[i], b = toupper((unsigned char)name[i]);
        if (a != b) return a - b; /* also when spec ends first (a == 0) */
    }
    return spec[n] != '\0';
}

static const keyspec *find(const char *name, size_t n)
{
    size_t lo = 0, hi = sizeof(specs) / sizeof(specs[0]);
    if (n == 0 || n > 24) return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(specs[mid].name, name, n);
        if (c == 0) return &specs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
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
        ++i;
        if (i != k->dest || k->dest == 0) { /* not the destination before the count */
            if (i < first || first < 1) continue;
            if (i > last) break;
            if ((i - first) % k->step != 0) continue;
        }
        s = redisconn_cluster_keyslot(a, n);
        if (slot >= 0 && s != slot) return REDISCONN_ERR_CROSSSLOT;
        slot = s;
    }
    return slot;
}
