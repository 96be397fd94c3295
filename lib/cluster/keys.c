/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keys.c: which arguments of a command are keys, so that it goes to the node
 * that owns their slot — a built-in table of the common commands (not
 * COMMAND INFO: the table needs no round trip and no server at start). A
 * command not in it is sent as if keyless; if it has keys elsewhere, the
 * node answers MOVED and route.c follows. The table also says which
 * commands are read-only (route.c may send those to a replica).
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

/* Whether a replica may serve the command (after READONLY): only commands
 * Redis flags readonly and that need nothing but the data (no scripts:
 * a replica may lack them; no PFCOUNT, TOUCH: they update what they read). */
enum { RW = 0, RO = 1 };

typedef struct keyspec {
    const char *name;
    short first; /* index of the first key (0 = the command) */
    short last;  /* index of the last key; -1 = the last argument, -2 = all but the last */
    short step;
    short kind;
    short dest; /* K_NUMKEYS: index of a key before the count (the destination), 0 = none */
    short ro;   /* RO: read-only, a replica may serve it */
} keyspec;

/* Sorted by name (strcmp order, upper case): looked up by binary search. */
static const keyspec specs[] = {
    {"APPEND", 1, 1, 1, K_NONE, 0, RW},
    {"BITCOUNT", 1, 1, 1, K_NONE, 0, RO},
    {"BITFIELD", 1, 1, 1, K_NONE, 0, RW},
    {"BITFIELD_RO", 1, 1, 1, K_NONE, 0, RO},
    {"BITOP", 2, -1, 1, K_NONE, 0, RW},
    {"BITPOS", 1, 1, 1, K_NONE, 0, RO},
    {"BLMOVE", 1, 2, 1, K_NONE, 0, RW},
    {"BLMPOP", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"BLPOP", 1, -2, 1, K_NONE, 0, RW},
    {"BRPOP", 1, -2, 1, K_NONE, 0, RW},
    {"BRPOPLPUSH", 1, 2, 1, K_NONE, 0, RW},
    {"BZMPOP", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"BZPOPMAX", 1, -2, 1, K_NONE, 0, RW},
    {"BZPOPMIN", 1, -2, 1, K_NONE, 0, RW},
    {"COPY", 1, 2, 1, K_NONE, 0, RW},
    {"DBSIZE", 0, 0, 1, K_REFUSE, 0, RW},
    {"DECR", 1, 1, 1, K_NONE, 0, RW},
    {"DECRBY", 1, 1, 1, K_NONE, 0, RW},
    {"DEL", 1, -1, 1, K_NONE, 0, RW},
    {"DUMP", 1, 1, 1, K_NONE, 0, RO},
    {"EVAL", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"EVALSHA", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"EVALSHA_RO", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"EVAL_RO", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"EXISTS", 1, -1, 1, K_NONE, 0, RO},
    {"EXPIRE", 1, 1, 1, K_NONE, 0, RW},
    {"EXPIREAT", 1, 1, 1, K_NONE, 0, RW},
    {"EXPIRETIME", 1, 1, 1, K_NONE, 0, RO},
    {"FCALL", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"FCALL_RO", 2, 1, 1, K_NUMKEYS, 0, RW},
    {"FLUSHALL", 0, 0, 1, K_REFUSE, 0, RW},
    {"FLUSHDB", 0, 0, 1, K_REFUSE, 0, RW},
    {"FUNCTION", 0, 0, 1, K_REFUSE, 0, RW},
    {"GEOADD", 1, 1, 1, K_NONE, 0, RW},
    {"GEODIST", 1, 1, 1, K_NONE, 0, RO},
    {"GEOHASH", 1, 1, 1, K_NONE, 0, RO},
    {"GEOPOS", 1, 1, 1, K_NONE, 0, RO},
    {"GEORADIUS", 1, 1, 1, K_NONE, 0, RW},
    {"GEORADIUSBYMEMBER", 1, 1, 1, K_NONE, 0, RW},
    {"GEORADIUSBYMEMBER_RO", 1, 1, 1, K_NONE, 0, RO},
    {"GEORADIUS_RO", 1, 1, 1, K_NONE, 0, RO},
    {"GEOSEARCH", 1, 1, 1, K_NONE, 0, RO},
    {"GEOSEARCHSTORE", 1, 2, 1, K_NONE, 0, RW},
    {"GET", 1, 1, 1, K_NONE, 0, RO},
    {"GETBIT", 1, 1, 1, K_NONE, 0, RO},
    {"GETDEL", 1, 1, 1, K_NONE, 0, RW},
    {"GETEX", 1, 1, 1, K_NONE, 0, RW},
    {"GETRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"GETSET", 1, 1, 1, K_NONE, 0, RW},
    {"HDEL", 1, 1, 1, K_NONE, 0, RW},
    {"HEXISTS", 1, 1, 1, K_NONE, 0, RO},
    {"HGET", 1, 1, 1, K_NONE, 0, RO},
    {"HGETALL", 1, 1, 1, K_NONE, 0, RO},
    {"HINCRBY", 1, 1, 1, K_NONE, 0, RW},
    {"HINCRBYFLOAT", 1, 1, 1, K_NONE, 0, RW},
    {"HKEYS", 1, 1, 1, K_NONE, 0, RO},
    {"HLEN", 1, 1, 1, K_NONE, 0, RO},
    {"HMGET", 1, 1, 1, K_NONE, 0, RO},
    {"HMSET", 1, 1, 1, K_NONE, 0, RW},
    {"HRANDFIELD", 1, 1, 1, K_NONE, 0, RO},
    {"HSCAN", 1, 1, 1, K_NONE, 0, RO},
    {"HSET", 1, 1, 1, K_NONE, 0, RW},
    {"HSETNX", 1, 1, 1, K_NONE, 0, RW},
    {"HSTRLEN", 1, 1, 1, K_NONE, 0, RO},
    {"HVALS", 1, 1, 1, K_NONE, 0, RO},
    {"INCR", 1, 1, 1, K_NONE, 0, RW},
    {"INCRBY", 1, 1, 1, K_NONE, 0, RW},
    {"INCRBYFLOAT", 1, 1, 1, K_NONE, 0, RW},
    {"KEYS", 0, 0, 1, K_REFUSE, 0, RW},
    {"LCS", 1, 2, 1, K_NONE, 0, RO},
    {"LINDEX", 1, 1, 1, K_NONE, 0, RO},
    {"LINSERT", 1, 1, 1, K_NONE, 0, RW},
    {"LLEN", 1, 1, 1, K_NONE, 0, RO},
    {"LMOVE", 1, 2, 1, K_NONE, 0, RW},
    {"LMPOP", 1, 1, 1, K_NUMKEYS, 0, RW},
    {"LPOP", 1, 1, 1, K_NONE, 0, RW},
    {"LPOS", 1, 1, 1, K_NONE, 0, RO},
    {"LPUSH", 1, 1, 1, K_NONE, 0, RW},
    {"LPUSHX", 1, 1, 1, K_NONE, 0, RW},
    {"LRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"LREM", 1, 1, 1, K_NONE, 0, RW},
    {"LSET", 1, 1, 1, K_NONE, 0, RW},
    {"LTRIM", 1, 1, 1, K_NONE, 0, RW},
    {"MEMORY", 2, 2, 1, K_SUB, 0, RW},
    {"MGET", 1, -1, 1, K_NONE, 0, RO},
    {"MOVE", 0, 0, 1, K_REFUSE, 0, RW},
    {"MSET", 1, -1, 2, K_NONE, 0, RW},
    {"MSETNX", 1, -1, 2, K_NONE, 0, RW},
    {"OBJECT", 2, 2, 1, K_SUB, 0, RW},
    {"PERSIST", 1, 1, 1, K_NONE, 0, RW},
    {"PEXPIRE", 1, 1, 1, K_NONE, 0, RW},
    {"PEXPIREAT", 1, 1, 1, K_NONE, 0, RW},
    {"PEXPIRETIME", 1, 1, 1, K_NONE, 0, RO},
    {"PFADD", 1, 1, 1, K_NONE, 0, RW},
    {"PFCOUNT", 1, -1, 1, K_NONE, 0, RW},
    {"PFDEBUG", 2, 2, 1, K_NONE, 0, RW},
    {"PFMERGE", 1, -1, 1, K_NONE, 0, RW},
    {"PSETEX", 1, 1, 1, K_NONE, 0, RW},
    {"PTTL", 1, 1, 1, K_NONE, 0, RO},
    {"RANDOMKEY", 0, 0, 1, K_REFUSE, 0, RW},
    {"RENAME", 1, 2, 1, K_NONE, 0, RW},
    {"RENAMENX", 1, 2, 1, K_NONE, 0, RW},
    {"RESTORE", 1, 1, 1, K_NONE, 0, RW},
    {"RPOP", 1, 1, 1, K_NONE, 0, RW},
    {"RPOPLPUSH", 1, 2, 1, K_NONE, 0, RW},
    {"RPUSH", 1, 1, 1, K_NONE, 0, RW},
    {"RPUSHX", 1, 1, 1, K_NONE, 0, RW},
    {"SADD", 1, 1, 1, K_NONE, 0, RW},
    {"SCAN", 0, 0, 1, K_REFUSE, 0, RW},
    {"SCARD", 1, 1, 1, K_NONE, 0, RO},
    {"SCRIPT", 0, 0, 1, K_REFUSE, 0, RW},
    {"SDIFF", 1, -1, 1, K_NONE, 0, RO},
    {"SDIFFSTORE", 1, -1, 1, K_NONE, 0, RW},
    {"SET", 1, 1, 1, K_NONE, 0, RW},
    {"SETBIT", 1, 1, 1, K_NONE, 0, RW},
    {"SETEX", 1, 1, 1, K_NONE, 0, RW},
    {"SETNX", 1, 1, 1, K_NONE, 0, RW},
    {"SETRANGE", 1, 1, 1, K_NONE, 0, RW},
    {"SINTER", 1, -1, 1, K_NONE, 0, RO},
    {"SINTERCARD", 1, 1, 1, K_NUMKEYS, 0, RO},
    {"SINTERSTORE", 1, -1, 1, K_NONE, 0, RW},
    {"SISMEMBER", 1, 1, 1, K_NONE, 0, RO},
    {"SMEMBERS", 1, 1, 1, K_NONE, 0, RO},
    {"SMISMEMBER", 1, 1, 1, K_NONE, 0, RO},
    {"SMOVE", 1, 2, 1, K_NONE, 0, RW},
    {"SORT", 1, 1, 1, K_NONE, 0, RW},
    {"SORT_RO", 1, 1, 1, K_NONE, 0, RO},
    {"SPOP", 1, 1, 1, K_NONE, 0, RW},
    {"SRANDMEMBER", 1, 1, 1, K_NONE, 0, RO},
    {"SREM", 1, 1, 1, K_NONE, 0, RW},
    {"SSCAN", 1, 1, 1, K_NONE, 0, RO},
    {"STRLEN", 1, 1, 1, K_NONE, 0, RO},
    {"SUBSTR", 1, 1, 1, K_NONE, 0, RO},
    {"SUNION", 1, -1, 1, K_NONE, 0, RO},
    {"SUNIONSTORE", 1, -1, 1, K_NONE, 0, RW},
    {"SWAPDB", 0, 0, 1, K_REFUSE, 0, RW},
    {"TOUCH", 1, -1, 1, K_NONE, 0, RW},
    {"TTL", 1, 1, 1, K_NONE, 0, RO},
    {"TYPE", 1, 1, 1, K_NONE, 0, RO},
    {"UNLINK", 1, -1, 1, K_NONE, 0, RW},
    {"WATCH", 1, -1, 1, K_NONE, 0, RW},
    {"XACK", 1, 1, 1, K_NONE, 0, RW},
    {"XADD", 1, 1, 1, K_NONE, 0, RW},
    {"XAUTOCLAIM", 1, 1, 1, K_NONE, 0, RW},
    {"XCLAIM", 1, 1, 1, K_NONE, 0, RW},
    {"XDEL", 1, 1, 1, K_NONE, 0, RW},
    {"XGROUP", 2, 2, 1, K_SUB, 0, RW},
    {"XINFO", 2, 2, 1, K_SUB, 0, RW},
    {"XLEN", 1, 1, 1, K_NONE, 0, RO},
    {"XPENDING", 1, 1, 1, K_NONE, 0, RW},
    {"XRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"XREAD", 0, 0, 1, K_STREAMS, 0, RO},
    {"XREADGROUP", 0, 0, 1, K_STREAMS, 0, RW},
    {"XREVRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"XSETID", 1, 1, 1, K_NONE, 0, RW},
    {"XTRIM", 1, 1, 1, K_NONE, 0, RW},
    {"ZADD", 1, 1, 1, K_NONE, 0, RW},
    {"ZCARD", 1, 1, 1, K_NONE, 0, RO},
    {"ZCOUNT", 1, 1, 1, K_NONE, 0, RO},
    {"ZDIFF", 1, 1, 1, K_NUMKEYS, 0, RO},
    {"ZDIFFSTORE", 2, 1, 1, K_NUMKEYS, 1, RW},
    {"ZINCRBY", 1, 1, 1, K_NONE, 0, RW},
    {"ZINTER", 1, 1, 1, K_NUMKEYS, 0, RO},
    {"ZINTERCARD", 1, 1, 1, K_NUMKEYS, 0, RO},
    {"ZINTERSTORE", 2, 1, 1, K_NUMKEYS, 1, RW},
    {"ZLEXCOUNT", 1, 1, 1, K_NONE, 0, RO},
    {"ZMPOP", 1, 1, 1, K_NUMKEYS, 0, RW},
    {"ZMSCORE", 1, 1, 1, K_NONE, 0, RO},
    {"ZPOPMAX", 1, 1, 1, K_NONE, 0, RW},
    {"ZPOPMIN", 1, 1, 1, K_NONE, 0, RW},
    {"ZRANDMEMBER", 1, 1, 1, K_NONE, 0, RO},
    {"ZRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"ZRANGEBYLEX", 1, 1, 1, K_NONE, 0, RO},
    {"ZRANGEBYSCORE", 1, 1, 1, K_NONE, 0, RO},
    {"ZRANGESTORE", 1, 2, 1, K_NONE, 0, RW},
    {"ZRANK", 1, 1, 1, K_NONE, 0, RO},
    {"ZREM", 1, 1, 1, K_NONE, 0, RW},
    {"ZREMRANGEBYLEX", 1, 1, 1, K_NONE, 0, RW},
    {"ZREMRANGEBYRANK", 1, 1, 1, K_NONE, 0, RW},
    {"ZREMRANGEBYSCORE", 1, 1, 1, K_NONE, 0, RW},
    {"ZREVRANGE", 1, 1, 1, K_NONE, 0, RO},
    {"ZREVRANGEBYLEX", 1, 1, 1, K_NONE, 0, RO},
    {"ZREVRANGEBYSCORE", 1, 1, 1, K_NONE, 0, RO},
    {"ZREVRANK", 1, 1, 1, K_NONE, 0, RO},
    {"ZSCAN", 1, 1, 1, K_NONE, 0, RO},
    {"ZSCORE", 1, 1, 1, K_NONE, 0, RO},
    {"ZUNION", 1, 1, 1, K_NUMKEYS, 0, RO},
    {"ZUNIONSTORE", 2, 1, 1, K_NUMKEYS, 1, RW},
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

/* The table's entry for the command name `name[0..n)` (any case), or NULL. */
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

int redisconn__keys_is_read(const char *cmd, size_t len)
{
    redisconn__resp_args it;
    const keyspec *k;
    const char *a;
    size_t n;
    if (redisconn__resp_args_begin(&it, cmd, len) < 1 ||
        redisconn__resp_args_next(&it, &a, &n) != 1)
        return 0;
    k = find(a, n);
    return k != NULL && k->ro == RO;
}

const char *redisconn__keys_entry(size_t i, int *read)
{
    if (i >= sizeof(specs) / sizeof(specs[0])) return NULL;
    if (read) *read = specs[i].ro == RO;
    return specs[i].name;
}

/* A small decimal argument, or -1 (not a number, or above 999999). */
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
