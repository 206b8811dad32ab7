/* vcon-trace diff: the first event where two traces differ. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <string.h>

#include "trace_tool.h"

static const char diff_help[] =
    "usage: vcon-trace diff [--ignore-labels] [--full] A B\n"
    "\n"
    "Reads the traces A and B side by side and stops at the first event where\n"
    "they differ in kind, device, time, fields or payload (sequence numbers are\n"
    "not compared), or where one ends before the other. Prints\n"
    "  differ at A event N, B event M: WHAT\n"
    "  A: <the event of A as dump prints it, or how A ends>\n"
    "  B: <the same for B>\n"
    "or \"same: N events\" when there is no difference.\n"
    "\n"
    "  --ignore-labels   skip META, KICK and MARK events and END's count\n"
    "  --full            print whole payloads\n"
    "\n"
    "Exit status: 0 the same, 1 different, 2 a trace is unreadable or damaged.\n";

struct side {
    const char *name; /* "A" or "B" */
    const char *path;
    struct vcon_trace_reader *r;
    int rc; /* of the last reader call */
    uint64_t time_ns;
    struct vcon_trace_event ev;
};

/* The next event that takes part in the comparison. */
static void advance(struct side *s, bool ignore_labels)
{
    for (;;) {
        s->rc = vcon_trace_reader_next(s->r, &s->time_ns, &s->ev);
        if (s->rc != 1 || !ignore_labels || vcon_trace_kind_role(s->ev.kind) != VCON_TRACE_ROLE_LABEL)
            return;
    }
}

/* What differs between two events, "" when nothing does. */
static void describe_difference(const struct side *a, const struct side *b, bool ignore_labels,
                                char *what, size_t size)
{
    const struct vcon_trace_event *x = &a->ev, *y = &b->ev;
    what[0] = '\0';
    if (x->kind != y->kind) {
        snprintf(what, size, "kind %s vs %s", vcon_trace_kind_name(x->kind),
                 vcon_trace_kind_name(y->kind));
    } else if (x->device != y->device) {
        snprintf(what, size, "device %u vs %u", x->device, y->device);
    } else if (a->time_ns != b->time_ns) {
        char ta[32], tb[32];
        vcon_trace_format_time(ta, sizeof(ta), a->time_ns);
        vcon_trace_format_time(tb, sizeof(tb), b->time_ns);
        snprintf(what, size, "time %s vs %s", ta, tb);
    } else if (x->kind == VCON_TRACE_END && ignore_labels) {
        /* END's count only counts labels differently. */
    } else if (x->payload_len != y->payload_len) {
        snprintf(what, size, "payload length %" PRIu32 " vs %" PRIu32, x->payload_len,
                 y->payload_len);
    } else if (x->payload_len && memcmp(x->payload, y->payload, x->payload_len) != 0) {
        uint32_t i = 0;
        while (x->payload[i] == y->payload[i])
            i++;
        snprintf(what, size, "payload byte %" PRIu32 ": 0x%02x vs 0x%02x", i, x->payload[i],
                 y->payload[i]);
    } else if (!tool_events_equal(x, y)) {
        snprintf(what, size, "%s fields", vcon_trace_kind_name(x->kind));
    }
}

static void print_side(const struct side *s, bool full)
{
    printf("%s: ", s->name);
    if (s->rc >= 0)
        vcon_trace_print_event(stdout, s->time_ns, &s->ev, full ? VCON_TRACE_TEXT_FULL : 0);
    else
        fputs(vcon_trace_reader_error(s->r), stdout);
    fputc('\n', stdout);
}

/* The number of the event a side stopped at, for the headline. */
static uint64_t side_index(const struct side *s)
{
    return s->rc >= 0 ? s->ev.seq : vcon_trace_reader_events(s->r);
}

static int compare(struct side *a, struct side *b, bool ignore_labels, bool full)
{
    uint64_t compared = 0;
    for (;;) {
        advance(a, ignore_labels);
        advance(b, ignore_labels);
        struct side *damaged = a->rc < 0 && a->rc != VCON_TRACE_TRUNCATED ? a
                               : b->rc < 0 && b->rc != VCON_TRACE_TRUNCATED ? b
                                                                             : NULL;
        if (damaged) {
            tool_error("diff", "%s: %s", damaged->path, vcon_trace_reader_error(damaged->r));
            return TOOL_EXIT_ERROR;
        }
        char what[128];
        if (a->rc == VCON_TRACE_TRUNCATED && b->rc == VCON_TRACE_TRUNCATED) {
            printf("same: %" PRIu64 " events, both cut short (A %s, B %s)\n", compared,
                   vcon_trace_reader_error(a->r), vcon_trace_reader_error(b->r));
            return TOOL_EXIT_OK;
        }
        if (a->rc < 0 || b->rc < 0) {
            snprintf(what, sizeof(what), "%s", a->rc < 0 ? "A is cut short" : "B is cut short");
        } else if (a->rc != b->rc) {
            snprintf(what, sizeof(what), "%s", a->rc == 0 ? "A ends first" : "B ends first");
        } else {
            describe_difference(a, b, ignore_labels, what, sizeof(what));
        }
        if (what[0]) {
            printf("differ at A event %" PRIu64 ", B event %" PRIu64 ": %s\n", side_index(a),
                   side_index(b), what);
            print_side(a, full);
            print_side(b, full);
            return TOOL_EXIT_DIFFERENT;
        }
        compared++;
        if (a->rc == 0) {
            printf("same: %" PRIu64 " events\n", compared);
            return TOOL_EXIT_OK;
        }
    }
}

int trace_cmd_diff(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool ignore_labels = false, full = false;
    const struct tool_option options[] = {
        {.name = "--ignore-labels", .flag = &ignore_labels},
        {.name = "--full", .flag = &full},
        {0},
    };
    const char *operands[2];
    size_t nr;
    int rc = tool_parse_args(cmd, argc, argv, options, operands, 2, &nr);
    if (rc == 1) {
        fputs(diff_help, stdout);
        return TOOL_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    if (nr != 2)
        return tool_usage_error(cmd, "expected two trace files");

    struct side a = {.name = "A", .path = operands[0]};
    struct side b = {.name = "B", .path = operands[1]};
    a.r = tool_open_reader(cmd, a.path);
    b.r = a.r ? tool_open_reader(cmd, b.path) : NULL;
    int status = TOOL_EXIT_ERROR;
    if (a.r && b.r)
        status = compare(&a, &b, ignore_labels, full);
    if (a.r)
        vcon_trace_reader_close(a.r);
    if (b.r)
        vcon_trace_reader_close(b.r);
    return tool_finish_output(cmd, status);
}
