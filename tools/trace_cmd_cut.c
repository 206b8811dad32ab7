/* vcon-trace cut: a range of events copied into a new, valid trace. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_tool.h"

static const char cut_help[] =
    "usage: vcon-trace cut FILE --from A --to B -o OUT\n"
    "\n"
    "Copies the events with sequence numbers A..B (inclusive) of the trace FILE\n"
    "into OUT, a new valid trace with FILE's META first and a new END last.\n"
    "Time stamps are kept; the copied events are numbered again from 1.\n"
    "META and END are always written, so A may be 0 and B may be END's number.\n"
    "OUT is an uncompressed pcap when its name ends in \".pcap\", else zstd.\n"
    "A range outside the trace (A > B, or B past its last event) is refused.\n"
    "\n"
    "  --from A   first event to copy (default 1)\n"
    "  --to B     last event to copy (default: the last event)\n"
    "  -o OUT     the new trace (required; may be FILE itself)\n";

/* The temporary file beside out that becomes out once complete. */
static char *temp_path_for(const char *out)
{
    size_t n = strlen(out) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.tmp%ld", out, (long)getpid());
    return p;
}

struct cut_range {
    uint64_t from, to;
    bool to_given;
};

/* Copies the range into temp; returns TOOL_EXIT_OK or TOOL_EXIT_ERROR after
 * a message. *copied counts the events copied. */
static int copy_range(const char *cmd, const char *path, const char *out, const char *temp,
                      const struct cut_range *range, uint64_t *copied)
{
    struct vcon_trace_reader *r = tool_open_reader(cmd, path);
    if (!r)
        return TOOL_EXIT_ERROR;
    struct vcon_trace_writer *w = NULL;
    struct vcon_trace_writer_options opts = {.plain = tool_path_is_plain(out)};
    uint64_t last = 0; /* the highest sequence number read */
    int rc;
    for (;;) {
        struct vcon_trace_event ev;
        uint64_t t;
        rc = vcon_trace_reader_next(r, &t, &ev);
        if (rc < 0)
            break;
        last = ev.seq;
        if (ev.kind == VCON_TRACE_META) {
            int wrc = vcon_trace_writer_open(temp, &ev.meta, &opts, &w);
            if (wrc < 0) {
                tool_error(cmd, "%s: cannot create: %s", out, strerror(-wrc));
                goto fail;
            }
        } else if (ev.kind != VCON_TRACE_END && ev.seq >= range->from && ev.seq <= range->to) {
            if (vcon_trace_writer_append(w, t, &ev) < 0) {
                tool_error(cmd, "%s: writing event %" PRIu64 " of %s: %s", out, ev.seq, path,
                           vcon_trace_writer_error(w));
                goto fail;
            }
            (*copied)++;
        }
        if (rc == 0 || ev.seq >= range->to)
            break; /* END, or nothing more to copy */
    }
    if (rc < 0 && (rc != VCON_TRACE_TRUNCATED || !w)) {
        tool_error(cmd, "%s: %s", path, vcon_trace_reader_error(r));
        goto fail;
    }
    if (range->from > last || (range->to_given && range->to > last)) {
        char to[32] = "end";
        if (range->to_given)
            snprintf(to, sizeof(to), "%" PRIu64, range->to);
        tool_error(cmd, "%s: range %" PRIu64 "..%s is outside the trace (events 0..%" PRIu64 "%s%s)",
                   path, range->from, to, last, rc == VCON_TRACE_TRUNCATED ? ", " : "",
                   rc == VCON_TRACE_TRUNCATED ? vcon_trace_reader_error(r) : "");
        goto fail;
    }
    vcon_trace_reader_close(r);
    rc = vcon_trace_writer_close(w);
    if (rc < 0) {
        tool_error(cmd, "%s: %s", out, strerror(-rc));
        return TOOL_EXIT_ERROR;
    }
    return TOOL_EXIT_OK;

fail:
    vcon_trace_reader_close(r);
    if (w)
        vcon_trace_writer_close(w);
    return TOOL_EXIT_ERROR;
}

int trace_cmd_cut(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *from_arg = NULL, *to_arg = NULL, *out = NULL;
    const struct tool_option options[] = {
        {.name = "--from", .takes_value = true, .value = &from_arg},
        {.name = "--to", .takes_value = true, .value = &to_arg},
        {.name = "-o", .takes_value = true, .value = &out},
        {.name = "--output", .takes_value = true, .value = &out},
        {0},
    };
    const char *path;
    int rc = tool_args_one_trace(cmd, argc, argv, options, cut_help, &path);
    if (rc >= 0)
        return rc;
    if (!out)
        return tool_usage_error(cmd, "-o OUT is required");
    struct cut_range range = {.from = 1, .to = UINT64_MAX};
    if (from_arg && !tool_parse_u64(from_arg, &range.from))
        return tool_usage_error(cmd, "--from '%s' is not an event number", from_arg);
    if (to_arg && !tool_parse_u64(to_arg, &range.to))
        return tool_usage_error(cmd, "--to '%s' is not an event number", to_arg);
    range.to_given = to_arg != NULL;
    if (range.from > range.to)
        return tool_usage_error(cmd, "empty range: --from %" PRIu64 " is after --to %" PRIu64,
                                range.from, range.to);

    char *temp = temp_path_for(out);
    if (!temp) {
        tool_error(cmd, "out of memory");
        return TOOL_EXIT_ERROR;
    }
    uint64_t copied = 0;
    int status = copy_range(cmd, path, out, temp, &range, &copied);
    if (status == TOOL_EXIT_OK && rename(temp, out) != 0) {
        tool_error(cmd, "%s: %s", out, strerror(errno));
        status = TOOL_EXIT_ERROR;
    }
    if (status != TOOL_EXIT_OK)
        unlink(temp);
    else
        printf("wrote %s: %" PRIu64 " of the events of %s, numbered 1..%" PRIu64
               " between META and END\n",
               out, copied, path, copied);
    free(temp);
    return status;
}
