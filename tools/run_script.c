/* vcon-run's guest script: parsing (-e commands and --guest-script files)
 * and running it one command at a time. The commands are in vcon_run.c's
 * help text and docs/embedding.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define FILE_MAX (256u * 1024u * 1024u)
#define LINE_MAX_LEN 65536u

struct parse {
    struct run *r;
    char where[96];
    uint64_t timeout_ns; /* set by `timeout MS`, for the waits that follow */
};

static int parse_error(const struct parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int parse_error(const struct parse *ps, const char *fmt, ...)
{
    char msg[RUN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    run_error("script %s: %s", ps->where, msg);
    return RUN_EXIT_USAGE;
}

/* ---- reading -------------------------------------------------------------- */

/* The whole file, NUL-terminated (the NUL not counted). */
static int read_file(const char *path, uint8_t **out, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *len = 0;
    if (f == NULL) {
        snprintf(why, whylen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (n + 65536u + 1u > cap) {
            cap = cap ? cap * 2u : 65536u + 1u;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                snprintf(why, whylen, "'%s': out of memory", path);
                goto fail;
            }
            buf = grown;
        }
        const size_t got = fread(buf + n, 1, 65536u, f);
        n += got;
        if (n > FILE_MAX) {
            snprintf(why, whylen, "'%s' is larger than 256 MiB", path);
            goto fail;
        }
        if (got < 65536u)
            break;
    }
    if (ferror(f)) {
        snprintf(why, whylen, "cannot read '%s': %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
fail:
    fclose(f);
    free(buf);
    return -1;
}

/* ---- words and text ------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *skip_blanks(char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

/* Cuts the next word off *s (NULL when none). */
static char *next_word(char **s)
{
    char *w = skip_blanks(*s), *e;
    if (*w == 0)
        return NULL;
    for (e = w; *e && !is_blank(*e); e++)
        ;
    if (*e)
        *e++ = 0;
    *s = e;
    return w;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* TEXT: the rest of the line, trailing blanks dropped, one pair of double
 * quotes around it removed, escapes \n \r \t \e \0 \s \\ \" \xHH decoded. */
static int parse_text(const struct parse *ps, char *s, struct run_cmd *c)
{
    char *text = skip_blanks(s);
    size_t n = strlen(text);
    while (n > 0 && is_blank(text[n - 1]))
        text[--n] = 0;
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
        text[n - 1] = 0;
        text++;
        n -= 2;
    }
    c->data = malloc(n + 1);
    if (c->data == NULL)
        return parse_error(ps, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (ch != '\\') {
            c->data[o++] = (uint8_t)ch;
            continue;
        }
        if (++i >= n)
            return parse_error(ps, "a backslash ends the text (write \\\\ for one)");
        switch (text[i]) {
        case 'n': c->data[o++] = '\n'; break;
        case 'r': c->data[o++] = '\r'; break;
        case 't': c->data[o++] = '\t'; break;
        case 'e': c->data[o++] = 0x1b; break;
        case '0': c->data[o++] = 0; break;
        case 's': c->data[o++] = ' '; break;
        case '\\': c->data[o++] = '\\'; break;
        case '"': c->data[o++] = '"'; break;
        case 'x': {
            const int hi = i + 1 < n ? hex_digit(text[i + 1]) : -1;
            const int lo = i + 2 < n ? hex_digit(text[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return parse_error(ps, "\\x takes two hex digits");
            c->data[o++] = (uint8_t)(hi * 16 + lo);
            i += 2;
            break;
        }
        default:
            return parse_error(ps, "unknown escape '\\%c' (known: \\n \\r \\t \\e \\0 \\s \\\\ "
                                   "\\\" \\xHH)",
                               text[i]);
        }
    }
    c->data[o] = 0;
    c->len = o;
    return 0;
}

static int parse_ms(const struct parse *ps, const char *what, const char *word, uint64_t *ns)
{
    uint64_t v = 0;
    if (word == NULL || *word == 0)
        return parse_error(ps, "%s takes a number of milliseconds", what);
    for (const char *p = word; *p; p++) {
        if (*p < '0' || *p > '9')
            return parse_error(ps, "%s takes a number of milliseconds, not '%s'", what, word);
        v = v * 10u + (uint64_t)(*p - '0');
        if (v > 1000000000u)
            return parse_error(ps, "%s: %s ms is more than the 10^9 allowed", what, word);
    }
    *ns = v * RUN_MS;
    return 0;
}

/* ---- one line ----------------------------------------------------------------- */

static const struct {
    const char *name;
    enum run_cmd_kind kind;
    bool port;    /* takes a PORT first */
    bool text;    /* then TEXT (rest of the line) */
    bool file;    /* then FILE */
} commands[] = {
    {"echo", RUN_CMD_ECHO, true, false, false},
    {"write", RUN_CMD_WRITE, true, true, false},
    {"send", RUN_CMD_WRITE, true, false, true},
    {"expect", RUN_CMD_EXPECT, true, true, false},
    {"expect-file", RUN_CMD_EXPECT_FILE, true, false, true},
    {"sleep", RUN_CMD_SLEEP, false, false, false},
    {"timeout", RUN_CMD_SLEEP, false, false, false}, /* kind fixed below */
    {"wait-open", RUN_CMD_WAIT_OPEN, true, false, false},
    {"wait-closed", RUN_CMD_WAIT_CLOSED, true, false, false},
    {"wait", RUN_CMD_WAIT, false, false, false},
    {"mark", RUN_CMD_MARK, false, true, false},
    {"quit", RUN_CMD_QUIT, false, false, false},
};

static int add_cmd(struct run *r, const struct run_cmd *c)
{
    struct run_cmd *grown = realloc(r->cmds, (r->nr_cmds + 1u) * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    r->cmds = grown;
    r->cmds[r->nr_cmds++] = *c;
    return 0;
}

static int parse_line(struct parse *ps, char *line)
{
    struct run_cmd c;
    char *rest = line;
    const char *name = next_word(&rest);
    if (name == NULL || name[0] == '#')
        return 0;
    unsigned k;
    for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
        if (strcmp(name, commands[k].name) == 0)
            break;
    if (k == sizeof(commands) / sizeof(commands[0]))
        return parse_error(ps, "unknown command '%s' (echo, write, send, expect, expect-file, "
                               "sleep, timeout, wait-open, wait-closed, wait, mark, quit)",
                           name);
    memset(&c, 0, sizeof(c));
    c.kind = commands[k].kind;
    snprintf(c.where, sizeof(c.where), "%s", ps->where);
    if (commands[k].port) {
        const char *port = next_word(&rest);
        if (port == NULL)
            return parse_error(ps, "%s takes a port name first", name);
        if (strlen(port) >= sizeof(c.port_name))
            return parse_error(ps, "port name '%s' is too long", port);
        snprintf(c.port_name, sizeof(c.port_name), "%s", port);
    }
    if (commands[k].text) {
        const int rc = parse_text(ps, rest, &c);
        if (rc != 0) {
            free(c.data);
            return rc;
        }
        if (c.len == 0 && c.kind != RUN_CMD_MARK) {
            free(c.data);
            return parse_error(ps, "%s needs a text after the port", name);
        }
    } else if (commands[k].file) {
        const char *path = next_word(&rest);
        char why[RUN_ERR_MAX];
        if (path == NULL)
            return parse_error(ps, "%s takes a file after the port", name);
        if (next_word(&rest) != NULL)
            return parse_error(ps, "%s takes one file (no blanks in its name)", name);
        if (read_file(path, &c.data, &c.len, why, sizeof(why)) != 0)
            return parse_error(ps, "%s: %s", name, why);
        if (c.kind == RUN_CMD_EXPECT_FILE && c.len == 0) {
            free(c.data);
            return parse_error(ps, "expect-file: '%s' is empty", path);
        }
    } else if (strcmp(name, "sleep") == 0 || strcmp(name, "timeout") == 0) {
        const int rc = parse_ms(ps, name, next_word(&rest), &c.ns);
        if (rc != 0)
            return rc;
        if (next_word(&rest) != NULL)
            return parse_error(ps, "%s takes one number", name);
        if (strcmp(name, "timeout") == 0) {
            ps->timeout_ns = c.ns;
            return 0;
        }
    } else if (next_word(&rest) != NULL) {
        return parse_error(ps, "%s takes %s", name,
                           commands[k].port ? "one port name" : "no argument");
    }
    if (c.kind != RUN_CMD_SLEEP)
        c.ns = ps->timeout_ns; /* the bound of a waiting command */
    if (add_cmd(ps->r, &c) != 0) {
        free(c.data);
        return parse_error(ps, "out of memory");
    }
    return 0;
}

static int parse_lines(struct parse *ps, char *text, const char *source, bool numbered)
{
    unsigned line = 1;
    for (char *s = text; s != NULL; line++) {
        char *nl = strchr(s, '\n');
        if (nl != NULL)
            *nl = 0;
        if (strlen(s) > LINE_MAX_LEN)
            return parse_error(ps, "line longer than 64 KiB");
        if (numbered)
            snprintf(ps->where, sizeof(ps->where), "%s:%u", source, line);
        const int rc = parse_line(ps, s);
        if (rc != 0)
            return rc;
        s = nl != NULL ? nl + 1 : NULL;
    }
    return 0;
}

int run_script_load(struct run *r)
{
    struct parse ps = {.r = r, .timeout_ns = r->opt.timeout_ns};
    unsigned nth_e = 0;
    for (unsigned i = 0; i < r->opt.nr_sources; i++) {
        const struct run_source *src = &r->opt.sources[i];
        int rc;
        if (src->is_file) {
            uint8_t *text;
            size_t len;
            char why[RUN_ERR_MAX];
            if (read_file(src->text, &text, &len, why, sizeof(why)) != 0) {
                run_error("--guest-script: %s", why);
                return RUN_EXIT_USAGE;
            }
            if (memchr(text, 0, len) != NULL) {
                free(text);
                run_error("--guest-script: '%s' holds a NUL byte: not a script", src->text);
                return RUN_EXIT_USAGE;
            }
            rc = parse_lines(&ps, (char *)text, src->text, true);
            free(text);
        } else {
            char *copy = strdup(src->text);
            if (copy == NULL)
                return RUN_EXIT_USAGE;
            snprintf(ps.where, sizeof(ps.where), "-e #%u", ++nth_e);
            rc = parse_lines(&ps, copy, NULL, false);
            free(copy);
        }
        if (rc != 0)
            return rc;
    }
    if (r->opt.nr_sources == 0) {
        /* No script: the guest reads and discards until a signal. */
        const struct run_cmd wait = {.kind = RUN_CMD_WAIT, .where = "(no script)"};
        if (add_cmd(r, &wait) != 0)
            return RUN_EXIT_USAGE;
    }
    return 0;
}

void run_script_free(struct run *r)
{
    for (unsigned i = 0; i < r->nr_cmds; i++)
        free(r->cmds[i].data);
    free(r->cmds);
    r->cmds = NULL;
    r->nr_cmds = 0;
}

/* ---- ports -------------------------------------------------------------------- */

struct run_port *run_find_port(struct run *r, const char *name, unsigned *matches)
{
    struct run_port *found = NULL;
    *matches = 0;
    for (unsigned i = 0; i < r->nr_ports; i++) {
        if (strcmp(r->port[i].name, name) == 0) {
            if (found == NULL)
                found = &r->port[i];
            (*matches)++;
        }
    }
    return found;
}

static void list_ports(const struct run *r, char *out, size_t len)
{
    size_t o = 0;
    out[0] = 0;
    for (unsigned i = 0; i < r->nr_ports && o < len; i++) {
        const int n = snprintf(out + o, len - o, "%s%s", i ? ", " : "", r->port[i].name);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

int run_script_resolve(struct run *r)
{
    for (unsigned i = 0; i < r->nr_cmds; i++) {
        struct run_cmd *c = &r->cmds[i];
        unsigned matches;
        char names[RUN_ERR_MAX];
        if (c->port_name[0] == 0)
            continue;
        c->port = run_find_port(r, c->port_name, &matches);
        if (matches == 0) {
            list_ports(r, names, sizeof(names));
            run_error("script %s: no port named '%s' (the ports: %s)", c->where, c->port_name,
                      names);
            return RUN_EXIT_USAGE;
        }
        if (matches > 1) {
            run_error("script %s: two ports are named '%s': give them distinct names",
                      c->where, c->port_name);
            return RUN_EXIT_USAGE;
        }
        if (c->kind == RUN_CMD_EXPECT || c->kind == RUN_CMD_EXPECT_FILE)
            c->port->expects_left++;
    }
    return 0;
}

/* ---- running -------------------------------------------------------------------- */

/* Shows up to the last 48 bytes of `b`, escaped. */
static void tail_text(const struct run_bytes *b, char *out, size_t len)
{
    const size_t show = b->len < 48 ? b->len : 48;
    const uint8_t *p = run_bytes_front(b) + b->len - show;
    size_t o = 0;
    for (size_t i = 0; i < show && o + 5 < len; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", p[i]);
    }
    out[o] = 0;
}

/* Looks for the text from where the last look stopped (the window only
 * grows while an expect waits, unless it overflowed). */
static bool find_text(const struct run_port *p, struct run_cmd *c, size_t *end)
{
    const struct run_bytes *w = &p->window;
    const uint8_t *hay = run_bytes_front(w);
    size_t from = p->window_cut ? 0 : c->scanned;
    if (w->len < c->len)
        return false;
    for (size_t i = from; i + c->len <= w->len; i++) {
        if (hay[i] == c->data[0] && memcmp(hay + i, c->data, c->len) == 0) {
            *end = i + c->len;
            return true;
        }
    }
    c->scanned = w->len - c->len + 1u;
    return false;
}

static bool timed_out(const struct run *r, const struct run_cmd *c, uint64_t now)
{
    return c->ns != 0 && now - r->cmd_start_ns >= c->ns;
}

static void begin(struct run *r, struct run_cmd *c)
{
    switch (c->kind) {
    case RUN_CMD_ECHO:
        c->port->echo = true;
        break;
    case RUN_CMD_WRITE:
        if (run_bytes_push(&c->port->tx, c->data, c->len) == 0)
            c->port->tx_queued += c->len;
        c->target = c->port->tx_queued;
        break;
    case RUN_CMD_MARK:
        (void)vcon_recorder_mark(r->rec, (const char *)c->data);
        break;
    default:
        break;
    }
}

/* 1 done, 0 not yet, -1 failed (message printed). */
static int poll_cmd(struct run *r, struct run_cmd *c, uint64_t now)
{
    struct run_port *p = c->port;
    char tail[256];
    switch (c->kind) {
    case RUN_CMD_WRITE:
        return p->tx_taken >= c->target;
    case RUN_CMD_EXPECT: {
        size_t end;
        if (find_text(p, c, &end)) {
            run_bytes_drop(&p->window, end);
            p->expects_left--;
            return 1;
        }
        if (!timed_out(r, c, now))
            return 0;
        tail_text(&p->window, tail, sizeof(tail));
        run_error("script %s: expect %s: '%s' did not arrive within %llu ms (%zu bytes arrived "
                  "since the last match, ending with '%s')",
                  c->where, p->name, (const char *)c->data,
                  (unsigned long long)(c->ns / RUN_MS), p->window.len, tail);
        return -1;
    }
    case RUN_CMD_EXPECT_FILE: {
        const uint8_t *got = run_bytes_front(&p->window);
        const size_t n = p->window.len < c->len ? p->window.len : c->len;
        if (p->window_cut) {
            run_error("script %s: expect-file %s: more than 64 MiB arrived before the file's "
                      "bytes were matched",
                      c->where, p->name);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (got[i] != c->data[i]) {
                run_error("script %s: expect-file %s: byte %zu differs: expected 0x%02x, got "
                          "0x%02x",
                          c->where, p->name, i, c->data[i], got[i]);
                return -1;
            }
        }
        if (p->window.len >= c->len) {
            run_bytes_drop(&p->window, c->len);
            p->expects_left--;
            return 1;
        }
        if (!timed_out(r, c, now))
            return 0;
        run_error("script %s: expect-file %s: %zu of %zu bytes arrived within %llu ms", c->where,
                  p->name, p->window.len, c->len, (unsigned long long)(c->ns / RUN_MS));
        return -1;
    }
    case RUN_CMD_SLEEP:
        return now - r->cmd_start_ns >= c->ns;
    case RUN_CMD_WAIT_OPEN:
    case RUN_CMD_WAIT_CLOSED: {
        const bool want_open = c->kind == RUN_CMD_WAIT_OPEN;
        if (run_port_open(p) == want_open)
            return 1;
        if (!timed_out(r, c, now))
            return 0;
        run_error("script %s: %s %s: the port's backend did not %s within %llu ms", c->where,
                  want_open ? "wait-open" : "wait-closed", p->name,
                  want_open ? "get a peer" : "lose its peer", (unsigned long long)(c->ns / RUN_MS));
        return -1;
    }
    case RUN_CMD_WAIT:
        return 0;
    default:
        return 1;
    }
}

void run_script_step(struct run *r)
{
    while (r->phase == RUN_PHASE_SCRIPT) {
        if (r->pc >= r->nr_cmds) {
            r->phase = RUN_PHASE_DRAIN;
            r->drain_start_ns = vcon_vm_now(r->vm);
            return;
        }
        struct run_cmd *c = &r->cmds[r->pc];
        const uint64_t now = vcon_vm_now(r->vm);
        if (!r->cmd_started) {
            r->cmd_started = true;
            r->cmd_start_ns = now;
            begin(r, c);
        }
        if (c->kind == RUN_CMD_QUIT) {
            r->pc = r->nr_cmds;
            r->cmd_started = false;
            continue;
        }
        const int st = poll_cmd(r, c, now);
        if (st == 0)
            return;
        if (st < 0) {
            r->exit_status = RUN_EXIT_FAILED;
            r->phase = RUN_PHASE_DONE;
            return;
        }
        r->pc++;
        r->cmd_started = false;
        r->progress++;
    }
}

uint64_t run_script_deadline(const struct run *r)
{
    if (r->phase == RUN_PHASE_DRAIN)
        return r->drain_start_ns + r->opt.drain_ns;
    if (r->phase != RUN_PHASE_SCRIPT || r->pc >= r->nr_cmds || !r->cmd_started)
        return UINT64_MAX;
    const struct run_cmd *c = &r->cmds[r->pc];
    switch (c->kind) {
    case RUN_CMD_SLEEP:
        return r->cmd_start_ns + c->ns;
    case RUN_CMD_EXPECT:
    case RUN_CMD_EXPECT_FILE:
    case RUN_CMD_WAIT_OPEN:
    case RUN_CMD_WAIT_CLOSED:
        return c->ns ? r->cmd_start_ns + c->ns : UINT64_MAX;
    default:
        return UINT64_MAX;
    }
}
