/* vcon-trace: opening, loading, comparing and writing traces with the trace
 * library, with messages that name the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_tool.h"

struct vcon_trace_reader *tool_open_reader(const char *cmd, const char *path)
{
    struct vcon_trace_reader *r = NULL;
    int rc = vcon_trace_reader_open(path, &r);
    if (rc < 0) {
        tool_error(cmd, "%s: cannot open: %s", path, strerror(-rc));
        return NULL;
    }
    return r;
}

/* Bodies are encoded to be measured and compared; one event is at most the
 * snaplen, so two static buffers serve every call. */
static uint8_t body_a[VCON_TRACE_SNAPLEN];
static uint8_t body_b[VCON_TRACE_SNAPLEN];

static int encode_unnumbered(const struct vcon_trace_event *ev, uint8_t *buf)
{
    struct vcon_trace_event copy = *ev;
    copy.seq = 0;
    return vcon_trace_event_encode(&copy, buf, VCON_TRACE_SNAPLEN, NULL, 0);
}

size_t tool_event_body_size(const struct vcon_trace_event *ev)
{
    int len = encode_unnumbered(ev, body_a);
    return len < 0 ? 0 : (size_t)len;
}

bool tool_events_equal(const struct vcon_trace_event *a, const struct vcon_trace_event *b)
{
    if (a->kind != b->kind || a->device != b->device)
        return false;
    int la = encode_unnumbered(a, body_a);
    int lb = encode_unnumbered(b, body_b);
    return la >= 0 && la == lb && memcmp(body_a, body_b, (size_t)la) == 0;
}

bool tool_path_is_plain(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".pcap") == 0;
}

void tool_free_trace(struct tool_trace *t)
{
    for (size_t i = 0; i < t->nr_events; i++)
        free(t->payloads[i]);
    free(t->payloads);
    free(t->events);
    free((char *)t->meta.build_id);
    free((char *)t->meta.config);
    memset(t, 0, sizeof(*t));
}

static char *copy_string(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        if (len)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* Appends one event with its own copy of the payload. */
static int keep_event(struct tool_trace *t, size_t *cap, uint64_t time_ns,
                      const struct vcon_trace_event *ev)
{
    if (t->nr_events == *cap) {
        size_t n = *cap ? *cap * 2 : 256;
        struct tool_event *e = realloc(t->events, n * sizeof(*e));
        if (!e)
            return -ENOMEM;
        t->events = e;
        uint8_t **p = realloc(t->payloads, n * sizeof(*p));
        if (!p)
            return -ENOMEM;
        t->payloads = p;
        *cap = n;
    }
    uint8_t *payload = NULL;
    if (ev->payload_len) {
        payload = malloc(ev->payload_len);
        if (!payload)
            return -ENOMEM;
        memcpy(payload, ev->payload, ev->payload_len);
    }
    struct tool_event *e = &t->events[t->nr_events];
    e->time_ns = time_ns;
    e->ev = *ev;
    e->ev.payload = payload;
    t->payloads[t->nr_events] = payload;
    t->nr_events++;
    return 0;
}

int tool_load_trace(const char *cmd, const char *path, struct tool_trace *out)
{
    memset(out, 0, sizeof(*out));
    struct vcon_trace_reader *r = tool_open_reader(cmd, path);
    if (!r)
        return -ENOENT;
    size_t cap = 0;
    int rc;
    for (;;) {
        struct vcon_trace_event ev;
        uint64_t t;
        rc = vcon_trace_reader_next(r, &t, &ev);
        if (rc <= 0)
            break;
        if (ev.kind == VCON_TRACE_META) {
            out->meta = ev.meta;
            out->meta.build_id = copy_string(ev.meta.build_id, ev.meta.build_id_len);
            out->meta.config = copy_string(ev.meta.config, ev.meta.config_len);
            if (!out->meta.build_id || !out->meta.config) {
                rc = -ENOMEM;
                break;
            }
            continue;
        }
        rc = keep_event(out, &cap, t, &ev);
        if (rc < 0)
            break;
    }
    out->compressed = vcon_trace_reader_compressed(r) == 1;
    if (rc == 0 || rc == VCON_TRACE_TRUNCATED) {
        /* A trace cut short before its META has nothing to work with. */
        if (!vcon_trace_reader_meta(r)) {
            tool_error(cmd, "%s: %s", path, vcon_trace_reader_error(r));
            rc = -EBADMSG;
        } else {
            out->complete = rc == 0;
            rc = 0;
        }
    } else if (rc == -ENOMEM) {
        tool_error(cmd, "%s: out of memory after event %llu", path,
                   (unsigned long long)vcon_trace_reader_events(r));
    } else {
        tool_error(cmd, "%s: %s", path, vcon_trace_reader_error(r));
    }
    vcon_trace_reader_close(r);
    if (rc < 0)
        tool_free_trace(out);
    return rc;
}

int tool_write_trace(const char *cmd, const char *path, const struct vcon_trace_meta *meta,
                     const struct tool_event *events, size_t nr_events, const bool *keep,
                     bool plain)
{
    struct vcon_trace_writer_options opts = {.plain = plain};
    struct vcon_trace_writer *w = NULL;
    int rc = vcon_trace_writer_open(path, meta, &opts, &w);
    if (rc < 0) {
        tool_error(cmd, "%s: cannot create: %s", path, strerror(-rc));
        return rc;
    }
    for (size_t i = 0; i < nr_events && rc == 0; i++) {
        if (keep && !keep[i])
            continue;
        struct vcon_trace_writer_stats stats;
        vcon_trace_writer_get_stats(w, &stats);
        rc = vcon_trace_writer_append(w, events[i].time_ns, &events[i].ev);
        if (rc < 0)
            tool_error(cmd, "%s: writing event %llu (#%llu of the input): %s", path,
                       (unsigned long long)stats.events, (unsigned long long)events[i].ev.seq,
                       vcon_trace_writer_error(w));
    }
    int close_rc = vcon_trace_writer_close(w);
    if (rc == 0 && close_rc < 0) {
        tool_error(cmd, "%s: %s", path, strerror(-close_rc));
        rc = close_rc;
    }
    if (rc < 0)
        unlink(path);
    return rc;
}
