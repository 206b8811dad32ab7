/* vcon-trace stat: what a trace holds (events by kind and by device, its
 * virtual time span, its META) and how well it compresses. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "trace_tool.h"

static const char stat_help[] =
    "usage: vcon-trace stat FILE\n"
    "\n"
    "Prints a summary of the trace FILE as \"name: value\" lines: whether it is\n"
    "complete, the number of events, the virtual time span, the file size and\n"
    "the uncompressed (pcap) size, bytes per event in both, the compression\n"
    "ratio, META's fields (seed, guest RAM, build id, configuration), then one\n"
    "\"kind NAME: COUNT\" line per kind present and one \"device N: COUNT\" line\n"
    "per device. The format is in docs/vcon-trace.md.\n";

#define PCAP_GLOBAL_HEADER 24u
#define PCAP_RECORD_HEADER 16u

struct stat_totals {
    uint64_t kinds[VCON_TRACE_KIND_COUNT];
    uint64_t devices[256];
    uint64_t events;
    uint64_t uncompressed;
    uint64_t first_time, last_time;
    bool have_time;
};

static void count_event(struct stat_totals *s, uint64_t time_ns, const struct vcon_trace_event *ev)
{
    s->events++;
    s->kinds[ev->kind]++;
    s->devices[ev->device]++;
    s->uncompressed += PCAP_RECORD_HEADER + tool_event_body_size(ev);
    if (ev->kind == VCON_TRACE_META)
        return;
    if (!s->have_time)
        s->first_time = time_ns;
    s->have_time = true;
    s->last_time = time_ns;
}

static void print_summary(const char *path, const struct stat_totals *s,
                          const struct vcon_trace_reader *r, bool complete, uint64_t file_size)
{
    const struct vcon_trace_meta *m = vcon_trace_reader_meta(r);
    bool compressed = vcon_trace_reader_compressed(r) == 1;
    char first[32], last[32], span[32];
    vcon_trace_format_time(first, sizeof(first), s->first_time);
    vcon_trace_format_time(last, sizeof(last), s->last_time);
    vcon_trace_format_time(span, sizeof(span), s->last_time - s->first_time);

    printf("file: %s\n", path);
    printf("format: %s, trace version %u.%u\n",
           compressed ? "zstd-compressed pcap" : "uncompressed pcap", m->version_major,
           m->version_minor);
    if (complete)
        printf("complete: yes\n");
    else
        printf("complete: no (%s)\n", vcon_trace_reader_error(r));
    printf("events: %" PRIu64 " (META and END included)\n", s->events);
    printf("time: %s .. %s (span %s s)\n", first, last, span);
    printf("file size: %" PRIu64 " bytes\n", file_size);
    printf("uncompressed size: %" PRIu64 " bytes\n", s->uncompressed);
    printf("bytes per event: %.2f in the file, %.2f uncompressed\n",
           (double)file_size / (double)s->events, (double)s->uncompressed / (double)s->events);
    if (file_size)
        printf("compression ratio: %.2f\n", (double)s->uncompressed / (double)file_size);
    else
        printf("compression ratio: -\n");
    printf("seed: %" PRIu64 "\n", m->seed);
    printf("ram: 0x%" PRIx64 " (%" PRIu64 " bytes)\n", m->ram_size, m->ram_size);
    printf("build id: ");
    vcon_trace_print_quoted(stdout, m->build_id, m->build_id_len);
    printf("\nconfig: ");
    vcon_trace_print_quoted(stdout, m->config, m->config_len);
    printf("\n");
    for (unsigned k = 0; k < VCON_TRACE_KIND_COUNT; k++)
        if (s->kinds[k])
            printf("kind %s: %" PRIu64 "\n", vcon_trace_kind_name(k), s->kinds[k]);
    for (unsigned d = 0; d < 256; d++)
        if (s->devices[d])
            printf("device %u: %" PRIu64 "\n", d, s->devices[d]);
}

int trace_cmd_stat(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *path;
    int rc = tool_args_one_trace(cmd, argc, argv, NULL, stat_help, &path);
    if (rc >= 0)
        return rc;

    struct vcon_trace_reader *r = tool_open_reader(cmd, path);
    if (!r)
        return TOOL_EXIT_ERROR;
    struct stat st;
    if (stat(path, &st) != 0) {
        tool_error(cmd, "%s: %s", path, strerror(errno));
        vcon_trace_reader_close(r);
        return TOOL_EXIT_ERROR;
    }

    static struct stat_totals s;
    memset(&s, 0, sizeof(s));
    s.uncompressed = PCAP_GLOBAL_HEADER;
    for (;;) {
        struct vcon_trace_event ev;
        uint64_t t;
        rc = vcon_trace_reader_next(r, &t, &ev);
        if (rc < 0)
            break;
        count_event(&s, t, &ev);
        if (rc == 0)
            break;
    }
    int status = TOOL_EXIT_OK;
    if ((rc == 0 || rc == VCON_TRACE_TRUNCATED) && vcon_trace_reader_meta(r)) {
        print_summary(path, &s, r, rc == 0, (uint64_t)st.st_size);
    } else {
        tool_error(cmd, "%s: %s", path, vcon_trace_reader_error(r));
        status = TOOL_EXIT_ERROR;
    }
    vcon_trace_reader_close(r);
    return tool_finish_output(cmd, status);
}
