/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * module.c: the process-wide module-name registry and the dependency order
 * of a server's modules.
 */
#include "server/host/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct redisconn_module_name {
    struct redisconn_module_name *next;
    char text[]; /* NUL-terminated */
};

/* The registry: global mutable state allowed by design, guarded by a mutex. */
static struct redisconn_module_name *registry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* Caller holds registry_lock. */
static struct redisconn_module_name *lookup_locked(const char *name)
{
    for (struct redisconn_module_name *n = registry; n != NULL; n = n->next)
        if (strcmp(n->text, name) == 0) return n;
    return NULL;
}

/* Caller holds registry_lock; `name` is valid and not registered. */
static struct redisconn_module_name *add_locked(const char *name)
{
    size_t len = strlen(name);
    struct redisconn_module_name *n = malloc(sizeof(*n) + len + 1);
    if (n == NULL) return NULL;
    memcpy(n->text, name, len + 1);
    n->next = registry;
    registry = n;
    return n;
}

/* Adds `name` unless present: a duplicate is refused. */
const redisconn_module_name *redisconn_module_register_name(const char *name)
{
    struct redisconn_module_name *n = NULL;
    if (name == NULL || name[0] == '\0') return NULL;
    pthread_mutex_lock(&registry_lock);
    if (lookup_locked(name) == NULL) n = add_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* The library's own modules: registers the name on first use, then reuses it. */
const redisconn_module_name *redisconn__module_name_ensure(const char *name)
{
    struct redisconn_module_name *n;
    pthread_mutex_lock(&registry_lock);
    n = lookup_locked(name);
    if (n == NULL) n = add_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* The registered handle, or NULL. */
const redisconn_module_name *redisconn_module_lookup_name(const char *name)
{
    struct redisconn_module_name *n;
    if (name == NULL) return NULL;
    pthread_mutex_lock(&registry_lock);
    n = lookup_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* The registered text (lives as long as the process). */
const char *redisconn_module_name_str(const redisconn_module_name *name)
{
    return name ? name->text : NULL;
}

/* Delegates to the module's destroy hook, if any. */
void redisconn_module_free(redisconn_module *m)
{
    if (m != NULL && m->destroy != NULL) m->destroy(m);
}

/* Index of the module called `name` in `mods`, or -1. */
static long find_module(const redisconn_module *const *mods, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (name != NULL && strcmp(mods[i]->name, name) == 0) return (long)i;
    return -1;
}

/* Names registered, unique in the list; required dependencies present. */
static int check_modules(const redisconn_module *const *mods, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const redisconn_module *m = mods[i];
        if (m == NULL || m->name == NULL || m->name[0] == '\0') {
            snprintf(err, errlen, "module #%zu has no name", i + 1);
            return REDISCONN_ERR_INVALID;
        }
        if (redisconn_module_lookup_name(m->name) == NULL) {
            snprintf(err, errlen,
                     "module \"%s\": name not registered (call redisconn_module_register_name)",
                     m->name);
            return REDISCONN_ERR_INVALID;
        }
        if (find_module(mods, i, m->name) >= 0) {
            snprintf(err, errlen, "module \"%s\" is listed twice", m->name);
            return REDISCONN_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < mods[i]->n_deps; d++) {
            const redisconn_module_dep *dep = &mods[i]->deps[d];
            if (dep->kind == REDISCONN_DEP_OPTIONAL || find_module(mods, n, dep->name) >= 0)
                continue;
            snprintf(err, errlen, "module \"%s\" requires module \"%s\", which is not in the list",
                     mods[i]->name, dep->name ? dep->name : "(null)");
            return REDISCONN_ERR_INVALID;
        }
    return REDISCONN_OK;
}

/* First dependency of module `i` that is present and not yet placed, or -1. */
static long pending_dep(const redisconn_module *const *mods, size_t n, size_t i, const char *placed)
{
    for (size_t d = 0; d < mods[i]->n_deps; d++) {
        long j = find_module(mods, n, mods[i]->deps[d].name);
        if (j >= 0 && !placed[j]) return j;
    }
    return -1;
}

/* Describes a cycle among the unplaced modules, starting from its earliest
 * listed member: "a -> b -> a". */
static void describe_cycle(const redisconn_module *const *mods, size_t n, const char *placed,
                           char *err, size_t errlen)
{
    size_t len, start = 0;
    long j;
    while (placed[start])
        start++;
    /* Every unplaced module waits for another: n steps end inside a cycle. */
    j = (long)start;
    for (size_t steps = 0; steps < n; steps++)
        j = pending_dep(mods, n, (size_t)j, placed);
    start = (size_t)j;
    for (long k = pending_dep(mods, n, start, placed); k != j;
         k = pending_dep(mods, n, (size_t)k, placed))
        if ((size_t)k < start) start = (size_t)k;
    len = (size_t)snprintf(err, errlen, "dependency cycle: %s", mods[start]->name);
    j = (long)start;
    do {
        j = pending_dep(mods, n, (size_t)j, placed);
        if (len < errlen) len += (size_t)snprintf(err + len, errlen - len, " -> %s", mods[j]->name);
    } while ((size_t)j != start);
}

/*
 * Orders `mods` so that every module comes after the modules it depends on,
 * keeping the given order wherever dependencies allow (at each step the
 * earliest module whose dependencies are placed goes next). Writes the order
 * to `out` (n entries). Errors explain themselves in `err`.
 */
int redisconn__module_order(const redisconn_module *const *mods, size_t n,
                            const redisconn_module **out, char *err, size_t errlen)
{
    char *placed;
    int rc = check_modules(mods, n, err, errlen);
    if (rc != REDISCONN_OK) return rc;
    placed = calloc(n ? n : 1, 1);
    if (placed == NULL) return REDISCONN_ERR_NOMEM;
    for (size_t k = 0; k < n && rc == REDISCONN_OK; k++) {
        size_t i = 0;
        while (i < n && (placed[i] || pending_dep(mods, n, i, placed) >= 0))
            i++;
        if (i == n) {
            describe_cycle(mods, n, placed, err, errlen);
            rc = REDISCONN_ERR_INVALID;
            break;
        }
        placed[i] = 1;
        out[k] = mods[i];
    }
    free(placed);
    return rc;
}
