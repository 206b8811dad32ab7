/* vcon-trace dump: every event of a trace as one line of text. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "trace_tool.h"

static const char dump_help[] =
    "usage: vcon-trace dump [--full] FILE\n"
    "\n"
    "Prints every event of the trace FILE (.pcap.zst or .pcap), one line each:\n"
    "  #SEQ t=SECONDS.NANOSECONDS dev=DEVICE KIND FIELDS\n"
    "META first and END last. Payloads show as hex, the first 32 bytes and\n"
    "\"...\" unless --full is given; strings are quoted with C escapes.\n"
    "A trace cut short (no END) ends with the line \"truncated after event N\"\n"
    "and still exits 0; a damaged trace ends with the reader's message on\n"
    "stderr and exit status 2. The format is in docs/vcon-trace.md.\n"
    "\n"
    "  --full   print whole payloads\n";

int trace_cmd_dump(int argc, char **argv)
{
    const char *cmd = argv[0];
    bool full = false;
    const struct tool_option options[] = {
        {.name = "--full", .flag = &full},
        {0},
    };
    const char *path;
    int rc = tool_args_one_trace(cmd, argc, argv, options, dump_help, &path);
    if (rc >= 0)
        return rc;

    struct vcon_trace_reader *r = tool_open_reader(cmd, path);
    if (!r)
        return TOOL_EXIT_ERROR;
    int status = TOOL_EXIT_OK;
    for (;;) {
        struct vcon_trace_event ev;
        uint64_t t;
        rc = vcon_trace_reader_next(r, &t, &ev);
        if (rc < 0)
            break;
        vcon_trace_print_event(stdout, t, &ev, full ? VCON_TRACE_TEXT_FULL : 0);
        fputc('\n', stdout);
        if (rc == 0)
            break;
    }
    if (rc == VCON_TRACE_TRUNCATED) {
        printf("%s\n", vcon_trace_reader_error(r));
    } else if (rc < 0) {
        fflush(stdout);
        tool_error(cmd, "%s: %s", path, vcon_trace_reader_error(r));
        status = TOOL_EXIT_ERROR;
    }
    vcon_trace_reader_close(r);
    return tool_finish_output(cmd, status);
}
