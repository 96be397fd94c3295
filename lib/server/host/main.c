/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c: redisconn_server_main(), the seed's server.Main: flags, startup,
 * SIGINT/SIGTERM, graceful shutdown, exit code.
 */
#include "server/host/internal.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

struct main_state {
    struct event_base *base;
    redisconn_server *srv; /* NULL once the shutdown completed */
    struct event *sigs[2];
    int done;   /* the shutdown callback ran */
    int status; /* its status */
};

/* Removes the signal events (idempotent). */
static void free_signals(struct main_state *st)
{
    for (size_t i = 0; i < 2; i++) {
        if (st->sigs[i] != NULL) event_free(st->sigs[i]);
        st->sigs[i] = NULL;
    }
}

/* The server is gone: stop the loop. */
static void on_shutdown_done(int status, void *arg)
{
    struct main_state *st = arg;
    st->done = 1;
    st->status = status;
    st->srv = NULL;
    free_signals(st);
    event_base_loopbreak(st->base);
}

/* SIGINT/SIGTERM: start the graceful shutdown (once). */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct main_state *st = arg;
    (void)what;
    if (st->srv == NULL) return;
    redisconn__server_log(st->srv, REDISCONN_LOG_INFO, "received signal %d (%s)", (int)sig,
                          strsignal((int)sig));
    if (redisconn_server_shutdown(st->srv, on_shutdown_done, st) == REDISCONN_ERR_STATE)
        redisconn__server_log(st->srv, REDISCONN_LOG_INFO, "already shutting down");
}

/* SIGINT and SIGTERM start the graceful shutdown. */
static int install_signals(struct main_state *st)
{
    static const int signals[2] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        st->sigs[i] = evsignal_new(st->base, signals[i], on_signal, st);
        if (st->sigs[i] == NULL || evsignal_add(st->sigs[i], NULL) != 0) return -1;
    }
    return 0;
}

/* The server's flags, then each module's, in the command-line set. */
static int register_flags(redisconn_flagset *fs, redisconn_server_options *opts,
                          const redisconn_module *const *modules, size_t n)
{
    int rc = redisconn_server_options_register(opts, fs);
    for (size_t i = 0; rc == REDISCONN_OK && i < n; i++)
        if (modules[i] != NULL && modules[i]->register_flags != NULL) {
            rc = modules[i]->register_flags(modules[i], fs);
            if (rc != REDISCONN_OK)
                fprintf(stderr, "redisconn: module \"%s\" cannot register its flags: %s\n",
                        modules[i]->name ? modules[i]->name : "?", redisconn_strerror(rc));
        }
    return rc;
}

/* Parses argv; returns -1 to go on, or the exit code. */
static int parse_flags(redisconn_flagset *fs, int argc, char **argv)
{
    int rc = redisconn_flags_parse(fs, argc, argv);
    if (rc == REDISCONN_FLAGS_HELP) return 0;
    if (rc == REDISCONN_ERR_NOMEM) return 1;
    if (rc != REDISCONN_OK) return 2;
    if (redisconn_flags_nargs(fs) > 0) {
        fprintf(stderr, "unexpected argument: %s\n", redisconn_flags_arg(fs, 0));
        redisconn_flags_usage(fs, NULL);
        return 2;
    }
    return -1;
}

/* Starts, serves until a signal (or fails), shuts down; returns the exit code. */
static int serve(struct main_state *st, const redisconn_server_options *opts,
                 const redisconn_module *const *modules, size_t n, redisconn_server_init_fn init,
                 void *arg)
{
    int rc, exit_code;
    st->srv = redisconn_server_new(st->base, opts, modules, n);
    if (st->srv == NULL) {
        fprintf(stderr, "redisconn: cannot create the server: invalid options or no memory\n");
        return 1;
    }
    rc = redisconn_server_start(st->srv);
    if (rc == REDISCONN_OK && init != NULL && (rc = init(st->srv, arg)) != REDISCONN_OK)
        redisconn__server_log(st->srv, REDISCONN_LOG_ERROR, "startup failed: init: %s",
                              redisconn_strerror(rc));
    if (rc == REDISCONN_OK && install_signals(st) != 0) rc = REDISCONN_ERR_NOMEM;
    exit_code = rc == REDISCONN_OK ? 0 : 1;
    if (rc != REDISCONN_OK) redisconn_server_shutdown(st->srv, on_shutdown_done, st);
    event_base_dispatch(st->base);
    if (!st->done || st->status != REDISCONN_OK) {
        fprintf(stderr, "redisconn: the shutdown did not complete\n");
        return -1; /* something still runs on the base: do not free it */
    }
    return exit_code;
}

int redisconn_server_main(int argc, char **argv, const redisconn_module *const *modules, size_t n,
                          redisconn_server_init_fn init, void *arg)
{
    struct main_state st;
    redisconn_server_options opts;
    redisconn_flagset *fs = redisconn_flags_commandline();
    int code;
    memset(&st, 0, sizeof(st));
    if (fs == NULL || (n > 0 && modules == NULL)) return 1;
    redisconn_server_options_init(&opts);
    if (register_flags(fs, &opts, modules, n) != REDISCONN_OK) return 1;
    code = parse_flags(fs, argc, argv);
    if (code >= 0) return code;
    signal(SIGPIPE, SIG_IGN); /* a client closing early must not kill the server */
    st.base = event_base_new();
    if (st.base == NULL) return 1;
    code = serve(&st, &opts, modules, n, init, arg);
    if (code < 0) return 1;
    free_signals(&st);
    event_base_free(st.base);
    return code;
}
