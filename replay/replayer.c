/* The replayer: opens a trace, rebuilds the rig its META describes with the
 * replay host around every device (replay_host.c), and runs the main loop:
 * each top-level input is fed to the rig, and the events the devices cause
 * are taken from the trace by the replay host while they run. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/invariants.h"
#include "replay_internal.h"

/* The VM's limit (vcon_vm_create): a larger META is refused up front with
 * a message, rather than by the VM with an errno. */
#define REPLAY_MAX_RAM (4ull << 30)

const char *vcon_replay_mode_name(enum vcon_replay_mode mode)
{
    switch (mode) {
    case VCON_REPLAY_STRICT:
        return "strict";
    case VCON_REPLAY_IMAGE:
        return "image";
    default:
        return "auto";
    }
}

/* ---- the lookahead and what the replay host asks of it ------------------ */

int replay_peek(struct vcon_replayer *r)
{
    if (!r->have_next) {
        r->next_rc = vcon_trace_reader_next(r->reader, &r->next_time, &r->next);
        r->have_next = true;
    }
    return r->next_rc;
}

/* The line `vcon-trace dump` prints for the event (payloads shortened),
 * then the note. */
static void format_context(const struct replay_context_entry *e, char *line)
{
    const size_t len = vcon_trace_format_event(line, REPLAY_LINE, e->time_ns, &e->ev, 0);
    if (e->note != NULL)
        snprintf(line + len, REPLAY_LINE - len, " %s", e->note);
}

static const char *context_line(struct replay_context_entry *e)
{
    if (!e->formatted) {
        format_context(e, e->line);
        e->formatted = true;
    }
    return e->line;
}

void replay_consume(struct vcon_replayer *r, const char *note)
{
    struct replay_context_entry *e = &r->context[r->context_count % REPLAY_CONTEXT];
    const uint32_t kept =
        r->next.payload_len < REPLAY_CONTEXT_PAYLOAD ? r->next.payload_len : REPLAY_CONTEXT_PAYLOAD;
    e->ev = r->next;
    e->time_ns = r->next_time;
    e->note = note;
    e->formatted = false;
    if (kept > 0)
        memcpy(e->payload, r->next.payload, kept);
    e->ev.payload = e->payload;
    /* META's strings live in the reader's buffer: format it while they do. */
    if (r->next.kind == VCON_TRACE_META || r->options.verbose != NULL)
        context_line(e);
    r->context_count++;
    if (r->options.verbose != NULL)
        fprintf(r->options.verbose, "%s\n", e->line);
    if (r->next.kind != VCON_TRACE_META && r->next.kind != VCON_TRACE_END)
        r->events++;
    /* An error or END stays in the lookahead: the reader repeats it. */
    if (r->next_rc == 1)
        r->have_next = false;
}

bool replay_stopped(const struct vcon_replayer *r)
{
    return r->diverged || r->cut || r->read_failed || r->no_memory || r->finished;
}

bool replay_skippable(const struct vcon_replayer *r, unsigned kind)
{
    switch (kind) {
    case VCON_TRACE_KICK:
    case VCON_TRACE_MARK:
    case VCON_TRACE_TIMER_FIRE:
        return true;
    case VCON_TRACE_MEM_READ:
        return r->mode == VCON_REPLAY_IMAGE;
    default:
        return false;
    }
}

void replay_diverge(struct vcon_replayer *r, const char *fmt, ...)
{
    if (r->diverged)
        return;
    r->diverged = true;
    r->div_event = r->next.seq;
    r->div_kind = r->next.kind;
    int n = snprintf(r->message, sizeof(r->message), "event %" PRIu64 " %s: ", r->next.seq,
                     vcon_trace_kind_name(r->next.kind));
    if (n < 0 || (size_t)n >= sizeof(r->message))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message + n, sizeof(r->message) - (size_t)n, fmt, ap);
    va_end(ap);
    vcon_trace_format_event(r->recorded_line, sizeof(r->recorded_line), r->next_time, &r->next, 0);
}

/* Kinds a device makes by calling its host (inside a guest access, a host
 * event or a timer), as opposed to inputs the main loop feeds. */
static bool device_call_kind(unsigned kind)
{
    switch (kind) {
    case VCON_TRACE_MEM_READ:
    case VCON_TRACE_MEM_WRITE:
    case VCON_TRACE_IRQ_LEVEL:
    case VCON_TRACE_MSI:
    case VCON_TRACE_BACKEND_READ:
    case VCON_TRACE_BACKEND_WRITE:
        return true;
    default:
        return false;
    }
}

void replay_diverge_unexpected(struct vcon_replayer *r, const struct vcon_trace_event *call)
{
    char was[REPLAY_LINE], now[REPLAY_LINE];
    vcon_trace_format_fields(was, sizeof(was), &r->next, 0);
    replay_describe_call(call, now, sizeof(now));
    if (r->next_rc == 0)
        replay_diverge(r, "the recording ends here, but %s", now);
    else if (device_call_kind(r->next.kind))
        replay_diverge(r, "recorded %s on device %u, but %s instead", was, r->next.device, now);
    else
        replay_diverge(r, "recorded %s next, but first %s", was, now);
}

const struct vcon_trace_event *replay_expect(struct vcon_replayer *r,
                                             const struct vcon_trace_event *call)
{
    for (;;) {
        const int rc = replay_peek(r);
        if (rc == VCON_TRACE_TRUNCATED) {
            r->cut = true;
            return NULL;
        }
        if (rc < 0) {
            r->read_failed = true;
            return NULL;
        }
        if (rc == 1 && r->next.kind == call->kind && r->next.device == call->device)
            return &r->next;
        if (rc == 1 && replay_skippable(r, r->next.kind)) {
            replay_consume(r, r->next.kind == VCON_TRACE_MEM_READ ? "(passed over)" : NULL);
            continue;
        }
        replay_diverge_unexpected(r, call);
        return NULL;
    }
}

/* ---- the outcome ---------------------------------------------------------- */

static void finish(struct vcon_replayer *r, enum vcon_replay_status status)
{
    r->finished = true;
    r->status = status;
}

static void finish_unreadable(struct vcon_replayer *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void finish_unreadable(struct vcon_replayer *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    finish(r, VCON_REPLAY_UNREADABLE);
}

/* "; N states checked" with --check, for the summaries. */
static const char *checked(const struct vcon_replayer *r, char *buf, size_t len)
{
    if (!r->options.check)
        return "";
    snprintf(buf, len, "; state invariants held after %" PRIu64 " steps", r->checks);
    return buf;
}

static void finish_match(struct vcon_replayer *r)
{
    char note[96];
    snprintf(r->message, sizeof(r->message), "replayed %" PRIu64 " events without divergence%s",
             r->events, checked(r, note, sizeof(note)));
    finish(r, VCON_REPLAY_MATCH);
}

/* A recorder that crashed or was killed leaves a trace without END; what it
 * has replays like any trace, and reaching the cut is no divergence. */
static void finish_truncated(struct vcon_replayer *r)
{
    const uint64_t delivered = vcon_trace_reader_events(r->reader);
    char note[96];
    snprintf(r->message, sizeof(r->message),
             "trace truncated after event %" PRIu64 "; replayed %" PRIu64
             " events without divergence%s",
             delivered > 0 ? delivered - 1 : 0, r->events, checked(r, note, sizeof(note)));
    finish(r, VCON_REPLAY_MATCH);
}

static void finish_until(struct vcon_replayer *r)
{
    r->stopped_early = true;
    snprintf(r->message, sizeof(r->message),
             "stopped before event %" PRIu64 " (--until %" PRIu64 "); replayed %" PRIu64
             " events without divergence",
             r->next.seq, r->options.until, r->events);
    finish(r, VCON_REPLAY_MATCH);
}

/* After an input was fed: whatever stopped replaying inside it. */
static void finish_if_stopped(struct vcon_replayer *r)
{
    if (r->diverged)
        finish(r, VCON_REPLAY_DIVERGED);
    else if (r->no_memory)
        finish_unreadable(r, "out of memory");
    else if (r->read_failed)
        finish_unreadable(r, "%s", vcon_trace_reader_error(r->reader));
    else if (r->cut)
        finish_truncated(r);
}

/* A device call the recording has and the device did not make. */
static void diverge_no_call(struct vcon_replayer *r)
{
    char was[REPLAY_LINE];
    vcon_trace_format_fields(was, sizeof(was), &r->next, 0);
    if (r->next.kind == VCON_TRACE_READ_RESULT)
        replay_diverge(r, "recorded %s, but there was no guest read to return it", was);
    else
        replay_diverge(r, "recorded %s on device %u, but the device made no such call", was,
                       r->next.device);
    finish(r, VCON_REPLAY_DIVERGED);
}

static void finish_invariant(struct vcon_replayer *r, uint64_t seq, unsigned kind,
                             const struct vcon_invariant_failure *why, const char *where)
{
    r->div_event = seq;
    r->div_kind = kind;
    snprintf(r->message, sizeof(r->message), "invariant violated: %s (%s)%s", why->name,
             why->detail, where);
    finish(r, VCON_REPLAY_INVARIANT);
}

/* --check: the devices' state after the top-level event `seq`, and the
 * UARTs' bytes up to it. */
static void check_invariants(struct vcon_replayer *r, uint64_t seq, unsigned kind)
{
    struct vcon_invariant_failure why;
    r->checks++;
    if (vcon_check_rig(r->rig, &why) && replay_watch_after(r, &why))
        return;
    finish_invariant(r, seq, kind, &why, "");
}

/* --check at the cut of a truncated trace: a fuzz target that aborts on a
 * seam check does so before the access is recorded, so the trace ends
 * just before it, and the replayed device makes that access past the cut
 * (in image mode it still reads guest RAM). Only the seam checks are
 * judged there: the step was not recorded to its end. */
static bool failed_at_cut(struct vcon_replayer *r, uint64_t seq, unsigned kind)
{
    struct vcon_invariant_failure why;
    if (!r->options.check || !r->cut || r->diverged || !replay_watch_failure(r, &why))
        return false;
    finish_invariant(r, seq, kind, &why, ", in the step the trace was cut short in");
    return true;
}

static void step(struct vcon_replayer *r)
{
    const int rc = replay_peek(r);
    if (rc == 0) {
        replay_consume(r, NULL);
        finish_match(r);
    } else if (rc == VCON_TRACE_TRUNCATED) {
        finish_truncated(r);
    } else if (rc < 0) {
        finish_unreadable(r, "%s", vcon_trace_reader_error(r->reader));
    } else if (r->options.until != 0 && r->next.seq > r->options.until) {
        finish_until(r);
    } else if (vcon_trace_kind_is_step(r->next.kind)) {
        const uint64_t seq = r->next.seq;
        const unsigned kind = r->next.kind;
        if (r->options.check)
            replay_watch_before(r, &r->next);
        replay_feed_input(r);
        if (!failed_at_cut(r, seq, kind))
            finish_if_stopped(r);
        if (!r->finished && r->options.check)
            check_invariants(r, seq, kind);
    } else if (replay_skippable(r, r->next.kind)) {
        replay_consume(r, r->next.kind == VCON_TRACE_MEM_READ ? "(passed over)" : NULL);
    } else {
        diverge_no_call(r);
    }
}

enum vcon_replay_status vcon_replay_run(struct vcon_replayer *r)
{
    while (!r->finished)
        step(r);
    return r->status;
}

/* ---- opening ------------------------------------------------------------------ */

static bool has_guest_writes(struct vcon_trace_reader *scan)
{
    struct vcon_trace_event ev;
    while (vcon_trace_reader_next(scan, NULL, &ev) == 1)
        if (ev.kind == VCON_TRACE_GUEST_MEM_WRITE)
            return true;
    return false;
}

/* Auto mode looks through the trace once: the guest's RAM can be rebuilt
 * exactly when the recording has the guest's writes to it. */
static void choose_mode(struct vcon_replayer *r, struct vcon_trace_reader *scan)
{
    r->mode = r->options.mode;
    r->mode_reason = "as asked";
    if (r->mode == VCON_REPLAY_STRICT || r->mode == VCON_REPLAY_IMAGE)
        return;
    const bool image = scan != NULL && has_guest_writes(scan);
    r->mode = image ? VCON_REPLAY_IMAGE : VCON_REPLAY_STRICT;
    r->mode_reason = image ? "auto: the trace has GUEST_MEM_WRITE events"
                           : "auto: the trace has no GUEST_MEM_WRITE event";
}

static void describe_meta(struct vcon_replayer *r, const struct vcon_trace_meta *m)
{
    snprintf(r->meta_line, sizeof(r->meta_line),
             "format %u.%u, recorded by \"%s\", seed 0x%" PRIx64 ", %" PRIu64
             " bytes of guest RAM, configuration \"%s\"",
             m->version_major, m->version_minor, m->build_id, m->seed, m->ram_size, m->config);
}

static void build_rig(struct vcon_replayer *r, const struct vcon_trace_meta *m)
{
    const struct vcon_rig_hooks hooks = {.arg = r, .wrap_host = replay_wrap_host};
    char err[256] = "";
    if (m->ram_size == 0 || m->ram_size > REPLAY_MAX_RAM) {
        finish_unreadable(r, "event 0: META guest RAM size %" PRIu64
                             " is not between 1 byte and 4 GiB", m->ram_size);
        return;
    }
    const int rc = vcon_rig_create(m->config, (size_t)m->ram_size, &hooks, &r->rig, err,
                                   sizeof(err));
    if (rc != 0) {
        finish_unreadable(r, "event 0: META configuration \"%s\" is not valid: %s", m->config,
                          err[0] ? err : strerror(-rc));
        return;
    }
    r->vm = vcon_rig_vm(r->rig);
    r->armed = true;
    if (r->options.check)
        replay_watch_start(r);
}

/* META first: without it there is no rig to replay into. */
static void start(struct vcon_replayer *r, struct vcon_trace_reader *scan)
{
    const int rc = replay_peek(r);
    if (rc != 1) {
        finish_unreadable(r, "%s", rc == VCON_TRACE_TRUNCATED || rc < 0
                                       ? vcon_trace_reader_error(r->reader)
                                       : "no META event");
        return;
    }
    const struct vcon_trace_meta *m = vcon_trace_reader_meta(r->reader);
    describe_meta(r, m);
    choose_mode(r, scan);
    replay_consume(r, NULL);
    build_rig(r, m);
}

static struct vcon_replayer *new_replayer(const struct vcon_replay_options *options)
{
    struct vcon_replayer *r = calloc(1, sizeof(*r));
    if (r != NULL && options != NULL)
        r->options = *options;
    return r;
}

int vcon_replay_open(const char *path, const struct vcon_replay_options *options,
                     struct vcon_replayer **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (path == NULL)
        return -EINVAL;
    struct vcon_replayer *r = new_replayer(options);
    if (r == NULL)
        return -ENOMEM;
    const int rc = vcon_trace_reader_open(path, &r->reader);
    if (rc == -ENOMEM) {
        free(r);
        return rc;
    }
    if (rc != 0) {
        finish_unreadable(r, "cannot open %s: %s", path, strerror(-rc));
    } else {
        struct vcon_trace_reader *scan = NULL;
        if (r->options.mode == VCON_REPLAY_AUTO)
            (void)vcon_trace_reader_open(path, &scan);
        start(r, scan);
        vcon_trace_reader_close(scan);
    }
    *out = r;
    return 0;
}

int vcon_replay_open_memory(const void *buf, size_t len, const struct vcon_replay_options *options,
                            struct vcon_replayer **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (buf == NULL && len > 0)
        return -EINVAL;
    struct vcon_replayer *r = new_replayer(options);
    if (r == NULL)
        return -ENOMEM;
    const int rc = vcon_trace_reader_open_memory(buf, len, &r->reader);
    if (rc != 0) {
        free(r);
        return rc;
    }
    struct vcon_trace_reader *scan = NULL;
    if (r->options.mode == VCON_REPLAY_AUTO)
        (void)vcon_trace_reader_open_memory(buf, len, &scan);
    start(r, scan);
    vcon_trace_reader_close(scan);
    *out = r;
    return 0;
}

/* ---- results -------------------------------------------------------------------- */

void vcon_replay_get_result(const struct vcon_replayer *r, struct vcon_replay_result *out)
{
    *out = (struct vcon_replay_result){
        .status = r->status,
        .mode = r->mode,
        .events = r->events,
        /* The reader repeats the cut in the lookahead, whether the main
         * loop or a device call met it. */
        .truncated = r->finished && r->status == VCON_REPLAY_MATCH &&
                     r->have_next && r->next_rc == VCON_TRACE_TRUNCATED,
        .stopped_early = r->stopped_early,
        .event = r->div_event,
        .kind = r->div_kind,
        .message = r->message,
    };
}

const char *vcon_replay_last_event(struct vcon_replayer *r)
{
    if (r == NULL || r->context_count == 0)
        return "";
    return context_line(&r->context[(r->context_count - 1) % REPLAY_CONTEXT]);
}

static void print_context(const struct vcon_replayer *r, FILE *out)
{
    const uint64_t n = r->context_count < REPLAY_CONTEXT ? r->context_count : REPLAY_CONTEXT;
    fprintf(out, "  the %" PRIu64 " events before it:\n", n);
    for (uint64_t i = r->context_count - n; i < r->context_count; i++) {
        char line[REPLAY_LINE];
        format_context(&r->context[i % REPLAY_CONTEXT], line);
        fprintf(out, "    %s\n", line);
    }
}

void vcon_replay_print_report(const struct vcon_replayer *r, FILE *out)
{
    if (r->meta_line[0])
        fprintf(out, "trace: %s\n", r->meta_line);
    if (r->armed)
        fprintf(out, "memory mode: %s (%s)\n", vcon_replay_mode_name(r->mode), r->mode_reason);
    if (!r->finished) {
        fprintf(out, "not replayed yet\n");
        return;
    }
    switch (r->status) {
    case VCON_REPLAY_MATCH:
        fprintf(out, "match: %s\n", r->message);
        break;
    case VCON_REPLAY_DIVERGED:
        fprintf(out, "DIVERGENCE at event %" PRIu64 " (%s)\n", r->div_event,
                vcon_trace_kind_name(r->div_kind));
        fprintf(out, "  %s\n", r->message);
        fprintf(out, "  recorded:\n    %s\n", r->recorded_line);
        print_context(r, out);
        break;
    case VCON_REPLAY_INVARIANT:
        fprintf(out, "INVARIANT BROKEN after event %" PRIu64 " (%s)\n", r->div_event,
                vcon_trace_kind_name(r->div_kind));
        fprintf(out, "  %s\n", r->message);
        print_context(r, out);
        break;
    default:
        fprintf(out, "unreadable trace: %s\n", r->message);
        break;
    }
}

void vcon_replay_close(struct vcon_replayer *r)
{
    if (r == NULL)
        return;
    /* Devices being destroyed get harmless answers, never the trace. */
    r->finished = true;
    replay_watch_free(r);
    vcon_rig_destroy(r->rig);
    vcon_trace_reader_close(r->reader);
    free(r);
}
