/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flags.c: Go-style flag sets parsed with getopt_long_only() (see
 * redisconn/flags.h).
 *
 * Each parse builds a `struct option` table from the registered flags: value
 * flags take a required argument ("-x v", "-x=v", "--x=v"), boolean flags an
 * optional one ("-v", "-v=false"), and -help / -h are added unless defined.
 * The optstring "+:" stops at the first positional argument (like Go) and
 * makes getopt report a missing value as ':' instead of printing.
 */
#include "redisconn/flags.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum flag_type { FLAG_STRING, FLAG_INT, FLAG_BOOL, FLAG_DURATION };

/* The value names Go's flag.UnquoteUsage gives each type; bool has none. */
static const char *const type_names[] = {"string", "int", "", "duration"};

/* The text of each type's zero value: Go prints no "(default ...)" for it. */
static const char *const zero_texts[] = {"", "0", "false", "0s"};

enum {
    VAL_HELP = 0x0fff, /* getopt's `val` for -help / -h */
    VAL_BASE = 0x1000, /* getopt's `val` for flag i is VAL_BASE + i */
};

typedef struct flag {
    char *name;
    char *usage;
    int type;
    void *target;
    char *value;    /* FLAG_STRING: the current value, owned */
    char *def_text; /* the default's text (unquoted), as Go's DefValue */
    int is_set;
} flag;

struct redisconn_flagset {
    char *name; /* usage header; NULL = program name */
    char *prog; /* basename of the last argv[0] */
    FILE *out;  /* NULL = stderr */
    flag **flags;
    size_t n, cap;
    char **args; /* positional arguments of the last parse (into its argv) */
    int nargs;
};

/* The process-wide command-line set: global mutable state allowed by design. */
static redisconn_flagset *commandline_set;

/* An empty set; copies `name`. */
redisconn_flagset *redisconn_flags_new(const char *name)
{
    redisconn_flagset *fs = calloc(1, sizeof(*fs));
    if (fs == NULL) return NULL;
    if (name != NULL && (fs->name = strdup(name)) == NULL) {
        free(fs);
        return NULL;
    }
    return fs;
}

/* Frees a flag record and its strings. */
static void flag_free(flag *f)
{
    free(f->name);
    free(f->usage);
    free(f->value);
    free(f->def_text);
    free(f);
}

/* Frees the set, its flags and every string they own. */
void redisconn_flags_free(redisconn_flagset *fs)
{
    if (fs == NULL) return;
    for (size_t i = 0; i < fs->n; i++)
        flag_free(fs->flags[i]);
    free(fs->flags);
    free(fs->name);
    free(fs->prog);
    free(fs);
}

/* Creates the process-wide set on first use; never freed. */
redisconn_flagset *redisconn_flags_commandline(void)
{
    if (commandline_set == NULL) commandline_set = redisconn_flags_new(NULL);
    return commandline_set;
}

/* Borrowed stream for errors and usage; NULL = stderr. */
void redisconn_flags_set_output(redisconn_flagset *fs, FILE *out)
{
    if (fs != NULL) fs->out = out;
}

/* Where the set prints. */
static FILE *output(const redisconn_flagset *fs)
{
    return fs->out ? fs->out : stderr;
}

/* The flag called `name`, or NULL. */
static flag *find(const redisconn_flagset *fs, const char *name)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->flags[i]->name, name) == 0) return fs->flags[i];
    return NULL;
}

/* A name getopt and Go both accept: no leading '-', no '=' or blanks. */
static int valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '-') return 0;
    for (const char *p = name; *p; p++)
        if (*p == '=' || *p == ' ' || *p == '\t' || *p == '\n') return 0;
    return 1;
}

/* Creates a flag record and appends it; the caller sets the default. */
static int add_flag(redisconn_flagset *fs, const char *name, int type, void *target,
                    const char *usage, flag **out)
{
    flag *f;
    if (fs == NULL || target == NULL || !valid_name(name) || find(fs, name) != NULL)
        return REDISCONN_ERR_INVALID;
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 8;
        flag **v = realloc(fs->flags, cap * sizeof(*v));
        if (v == NULL) return REDISCONN_ERR_NOMEM;
        fs->flags = v;
        fs->cap = cap;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) return REDISCONN_ERR_NOMEM;
    f->name = strdup(name);
    f->usage = strdup(usage ? usage : "");
    f->type = type;
    f->target = target;
    if (f->name == NULL || f->usage == NULL) {
        flag_free(f);
        return REDISCONN_ERR_NOMEM;
    }
    fs->flags[fs->n++] = f;
    *out = f;
    return REDISCONN_OK;
}

/* Drops the flag just appended by add_flag() (its default failed). */
static int drop_last(redisconn_flagset *fs, int status)
{
    flag_free(fs->flags[--fs->n]);
    return status;
}

/* Stores the default's printed form. */
static int set_def_text(flag *f, const char *fmt, ...) REDISCONN_PRINTF(2, 3);
static int set_def_text(flag *f, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    f->def_text = strdup(buf);
    return f->def_text ? REDISCONN_OK : REDISCONN_ERR_NOMEM;
}

int redisconn_flags_string(redisconn_flagset *fs, const char *name, const char **target,
                           const char *def, const char *usage)
{
    flag *f;
    int rc = add_flag(fs, name, FLAG_STRING, (void *)target, usage, &f);
    if (rc != REDISCONN_OK) return rc;
    if (def == NULL) def = "";
    f->value = strdup(def);
    if (f->value == NULL || set_def_text(f, "%s", def) != REDISCONN_OK)
        return drop_last(fs, REDISCONN_ERR_NOMEM);
    *target = f->value;
    return REDISCONN_OK;
}

int redisconn_flags_int(redisconn_flagset *fs, const char *name, int *target, int def,
                        const char *usage)
{
    flag *f;
    int rc = add_flag(fs, name, FLAG_INT, target, usage, &f);
    if (rc != REDISCONN_OK) return rc;
    if (set_def_text(f, "%d", def) != REDISCONN_OK) return drop_last(fs, REDISCONN_ERR_NOMEM);
    *target = def;
    return REDISCONN_OK;
}

int redisconn_flags_bool(redisconn_flagset *fs, const char *name, int *target, int def,
                         const char *usage)
{
    flag *f;
    int rc = add_flag(fs, name, FLAG_BOOL, target, usage, &f);
    if (rc != REDISCONN_OK) return rc;
    if (set_def_text(f, "%s", def ? "true" : "false") != REDISCONN_OK)
        return drop_last(fs, REDISCONN_ERR_NOMEM);
    *target = def ? 1 : 0;
    return REDISCONN_OK;
}

int redisconn_flags_duration(redisconn_flagset *fs, const char *name, int64_t *target,
                             int64_t def_ms, const char *usage)
{
    char buf[40];
    flag *f;
    int rc = add_flag(fs, name, FLAG_DURATION, target, usage, &f);
    if (rc != REDISCONN_OK) return rc;
    if (set_def_text(f, "%s", redisconn_format_duration(def_ms, buf, sizeof(buf))) != REDISCONN_OK)
        return drop_last(fs, REDISCONN_ERR_NOMEM);
    *target = def_ms;
    return REDISCONN_OK;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

/* strtoll base 0, whole string, within int range. */
static int parse_int(const char *s, int *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 0);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* Parses `text` into the flag's target. */
static int set_value(flag *f, const char *text)
{
    char *dup;
    int rc = 0;
    switch (f->type) {
    case FLAG_STRING:
        if ((dup = strdup(text)) == NULL) return REDISCONN_ERR_NOMEM;
        free(f->value);
        f->value = dup;
        *(const char **)f->target = dup;
        break;
    case FLAG_INT:
        rc = parse_int(text, f->target);
        break;
    case FLAG_BOOL:
        rc = parse_bool(text, f->target);
        break;
    default:
        rc = redisconn_parse_duration(text, f->target) == REDISCONN_OK ? 0 : -1;
        break;
    }
    if (rc != 0) return REDISCONN_ERR_INVALID;
    f->is_set = 1;
    return REDISCONN_OK;
}

/* Sets one flag from text, printing nothing. */
int redisconn_flags_set(redisconn_flagset *fs, const char *name, const char *value)
{
    flag *f = fs && name ? find(fs, name) : NULL;
    if (f == NULL || value == NULL) return REDISCONN_ERR_INVALID;
    return set_value(f, value);
}

/* Whether the flag got a value since the last parse began. */
int redisconn_flags_is_set(const redisconn_flagset *fs, const char *name)
{
    const flag *f = fs && name ? find(fs, name) : NULL;
    return f ? f->is_set : 0;
}

/* Positional arguments of the last successful parse. */
int redisconn_flags_nargs(const redisconn_flagset *fs)
{
    return fs ? fs->nargs : 0;
}

/* Positional argument `i`, bounds-checked. */
const char *redisconn_flags_arg(const redisconn_flagset *fs, int i)
{
    if (fs == NULL || i < 0 || i >= fs->nargs) return NULL;
    return fs->args[i];
}

/* qsort order of flag pointers: by name. */
static int by_name(const void *a, const void *b)
{
    return strcmp((*(const flag *const *)a)->name, (*(const flag *const *)b)->name);
}

/* Go's %q of `s`: quoted, with \" \\ and C escapes for control bytes; bytes
 * above 0x7e are printed as they are (Go keeps valid UTF-8 as is). */
static void print_quoted(FILE *out, const char *s)
{
    static const char esc_from[] = "\a\b\f\n\r\t\v\"\\";
    static const char esc_to[] = "abfnrtv\"\\";
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *e = strchr(esc_from, *p);
        if (e != NULL)
            fprintf(out, "\\%c", esc_to[e - esc_from]);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* Go's flag.UnquoteUsage: a `back-quoted` word of the usage names the value
 * (and loses its quotes); otherwise the type's name. Writes the usage
 * without the quotes to `usage` and returns the name's length in `name`. */
static void unquote_usage(const flag *f, const char **name, size_t *name_len, char *usage,
                          size_t len)
{
    const char *a = strchr(f->usage, '`');
    const char *b = a ? strchr(a + 1, '`') : NULL;
    if (b == NULL) {
        *name = type_names[f->type];
        *name_len = strlen(*name);
        snprintf(usage, len, "%s", f->usage);
        return;
    }
    *name = a + 1;
    *name_len = (size_t)(b - a - 1);
    snprintf(usage, len, "%.*s%.*s%s", (int)(a - f->usage), f->usage, (int)*name_len, a + 1, b + 1);
}

/* One flag as Go's PrintDefaults prints it: "  -name value" (a one-letter
 * flag without a value name keeps its usage on the same line after a tab),
 * the usage on the next line after four spaces and a tab (newlines in it
 * indented the same way), then " (default ...)" unless the default is the
 * type's zero value (strings quoted with %q). */
static void print_flag(FILE *out, const flag *f)
{
    char usage[2048];
    const char *name;
    size_t name_len, head = 3 + strlen(f->name);
    unquote_usage(f, &name, &name_len, usage, sizeof(usage));
    fprintf(out, "  -%s", f->name);
    if (name_len > 0) {
        fprintf(out, " %.*s", (int)name_len, name);
        head += 1 + name_len;
    }
    fputs(head <= 4 ? "\t" : "\n    \t", out);
    for (const char *p = usage; *p; p++) {
        if (*p == '\n')
            fputs("\n    \t", out);
        else
            fputc(*p, out);
    }
    if (strcmp(f->def_text, zero_texts[f->type]) != 0) {
        fputs(" (default ", out);
        if (f->type == FLAG_STRING)
            print_quoted(out, f->def_text);
        else
            fputs(f->def_text, out);
        fputc(')', out);
    }
    fputc('\n', out);
}

/* "Usage of <name>:", then Go's PrintDefaults: every flag sorted by name. */
void redisconn_flags_usage(const redisconn_flagset *fs, FILE *out)
{
    const flag **sorted;
    const char *name;
    if (fs == NULL) return;
    if (out == NULL) out = output(fs);
    name = fs->name ? fs->name : fs->prog ? fs->prog : "this program";
    fprintf(out, "Usage of %s:\n", name);
    sorted = malloc((fs->n ? fs->n : 1) * sizeof(*sorted));
    if (sorted == NULL) return;
    memcpy(sorted, fs->flags, fs->n * sizeof(*sorted));
    qsort(sorted, fs->n, sizeof(*sorted), by_name);
    for (size_t i = 0; i < fs->n; i++)
        print_flag(out, sorted[i]);
    free(sorted);
}

/* Prints one error line and the usage; returns REDISCONN_ERR_INVALID. */
static int fail(const redisconn_flagset *fs, const char *fmt, ...) REDISCONN_PRINTF(2, 3);
static int fail(const redisconn_flagset *fs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(output(fs), fmt, ap);
    va_end(ap);
    fputc('\n', output(fs));
    redisconn_flags_usage(fs, NULL);
    return REDISCONN_ERR_INVALID;
}

/* The option table for this parse: the flags, then -help and -h unless
 * defined, then the terminator. */
static struct option *build_options(const redisconn_flagset *fs)
{
    static const char *const help_names[] = {"help", "h"};
    struct option *o = calloc(fs->n + 3, sizeof(*o));
    size_t k = 0;
    if (o == NULL) return NULL;
    for (size_t i = 0; i < fs->n; i++, k++) {
        o[k].name = fs->flags[i]->name;
        o[k].has_arg = fs->flags[i]->type == FLAG_BOOL ? optional_argument : required_argument;
        o[k].val = VAL_BASE + (int)i;
    }
    for (size_t i = 0; i < 2; i++) {
        if (find(fs, help_names[i]) != NULL) continue;
        o[k].name = help_names[i];
        o[k].has_arg = no_argument;
        o[k++].val = VAL_HELP;
    }
    return o;
}

/* The flag name as written in `arg`: leading dashes and any "=value" cut. */
static void written_name(const char *arg, char *buf, size_t len)
{
    size_t n = 0;
    if (arg[0] == '-') arg++;
    if (arg[0] == '-') arg++;
    while (arg[n] != '\0' && arg[n] != '=' && n + 1 < len)
        n++;
    memcpy(buf, arg, n);
    buf[n] = '\0';
}

/* Handles one getopt result for argument `argv[cur]`. */
static int handle(redisconn_flagset *fs, const char *arg, int c, const char *value)
{
    char name[128];
    flag *f;
    int rc;
    written_name(arg, name, sizeof(name));
    if (c == '?' && optopt == VAL_HELP) return fail(fs, "flag does not take a value: -%s", name);
    if (c == '?') return fail(fs, "flag provided but not defined: -%s", name);
    if (c == VAL_HELP) {
        if (strcmp(name, "help") != 0 && strcmp(name, "h") != 0)
            return fail(fs, "flag provided but not defined: -%s", name);
        redisconn_flags_usage(fs, NULL);
        return REDISCONN_FLAGS_HELP;
    }
    f = fs->flags[(c == ':' ? optopt : c) - VAL_BASE];
    if (strcmp(name, f->name) != 0) /* getopt took a unique prefix: Go does not */
        return fail(fs, "flag provided but not defined: -%s", name);
    if (c == ':') return fail(fs, "flag needs an argument: -%s", f->name);
    rc = set_value(f, value ? value : "true");
    if (rc == REDISCONN_ERR_INVALID)
        return fail(fs, "invalid value \"%s\" for flag -%s: parse error", value ? value : "",
                    f->name);
    return rc;
}

/* Remembers the program's base name for the usage header. */
static int set_prog(redisconn_flagset *fs, const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    char *dup = strdup(slash ? slash + 1 : argv0 ? argv0 : "program");
    if (dup == NULL) return REDISCONN_ERR_NOMEM;
    free(fs->prog);
    fs->prog = dup;
    return REDISCONN_OK;
}

/* Runs getopt_long_only over argv with the table of this set; stops at the
 * first error (printed) or -help; leaves the positional arguments. */
int redisconn_flags_parse(redisconn_flagset *fs, int argc, char **argv)
{
    struct option *opts;
    int rc = REDISCONN_OK;
    if (fs == NULL || argc < 1 || argv == NULL) return REDISCONN_ERR_INVALID;
    if (set_prog(fs, argv[0]) != REDISCONN_OK || (opts = build_options(fs)) == NULL)
        return REDISCONN_ERR_NOMEM;
    for (size_t i = 0; i < fs->n; i++)
        fs->flags[i]->is_set = 0;
    fs->args = NULL;
    fs->nargs = 0;
    optind = 0; /* full re-initialisation of glibc's getopt */
    opterr = 0;
    while (rc == REDISCONN_OK) {
        int cur = optind == 0 ? 1 : optind;
        int c = getopt_long_only(argc, argv, "+:", opts, NULL);
        if (c == -1) break;
        rc = handle(fs, argv[cur], c, optarg);
    }
    free(opts);
    if (rc != REDISCONN_OK) return rc;
    fs->args = argv + optind;
    fs->nargs = argc - optind;
    return REDISCONN_OK;
}
