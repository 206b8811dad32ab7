/* vcon-trace: events as one line of text each (the `dump` format, also used
 * by `diff`). docs/vcon-trace.md documents the format; it is stable, so
 * scripts may parse it. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>

#include "trace_tool.h"

void tool_format_time(char *buf, size_t size, uint64_t time_ns)
{
    snprintf(buf, size, "%" PRIu64 ".%09" PRIu64, time_ns / 1000000000u,
             time_ns % 1000000000u);
}

void tool_print_quoted(FILE *out, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (c < 0x20 || c > 0x7e)
                fprintf(out, "\\x%02x", c);
            else
                fputc((int)c, out);
        }
    }
    fputc('"', out);
}

/* " data=HEX" (nothing for an empty payload), cut after the preview. */
static void print_data(FILE *out, const struct vcon_trace_event *ev, bool full)
{
    if (ev->payload_len == 0)
        return;
    uint32_t shown = ev->payload_len;
    if (!full && shown > TOOL_PAYLOAD_PREVIEW)
        shown = TOOL_PAYLOAD_PREVIEW;
    fputs(" data=", out);
    for (uint32_t i = 0; i < shown; i++)
        fprintf(out, "%02x", ev->payload[i]);
    if (shown < ev->payload_len)
        fputs("...", out);
}

static const char *space_name(unsigned space)
{
    switch (space) {
    case VCON_TRACE_SPACE_PIO: return "pio";
    case VCON_TRACE_SPACE_MMIO: return "mmio";
    case VCON_TRACE_SPACE_PCI_CONFIG: return "pcicfg";
    default: return "space?";
    }
}

static const char *backend_what_name(unsigned what)
{
    static const char *const names[] = {"ready", "connect", "disconnect", "eof"};
    return what < sizeof(names) / sizeof(names[0]) ? names[what] : "unknown";
}

/* The meaning of a backend status (a result <= 0). */
static const char *backend_status_name(int32_t result, bool is_write)
{
    switch (result) {
    case 0: return is_write ? "none taken" : "no data";
    case -1: return "would block";
    case -2: return "closed";
    default: return "error";
    }
}

/* " (NAME NAME)" for the bits set in value, named by names[bit]. */
static void print_bits(FILE *out, unsigned value, const char *const names[8])
{
    bool any = false;
    for (unsigned bit = 0; bit < 8; bit++) {
        if (!(value & (1u << bit)) || !names[bit])
            continue;
        fputs(any ? " " : " (", out);
        fputs(names[bit], out);
        any = true;
    }
    if (any)
        fputc(')', out);
}

static void print_fields(FILE *out, const struct vcon_trace_event *ev, bool full)
{
    switch (ev->kind) {
    case VCON_TRACE_META: {
        const struct vcon_trace_meta *m = &ev->meta;
        fprintf(out, " version=%u.%u seed=%" PRIu64 " ram=0x%" PRIx64 " build_id=",
                m->version_major, m->version_minor, m->seed, m->ram_size);
        tool_print_quoted(out, m->build_id, m->build_id_len);
        fputs(" config=", out);
        tool_print_quoted(out, m->config, m->config_len);
        break;
    }
    case VCON_TRACE_END:
        fprintf(out, " count=%" PRIu64, ev->end.count);
        break;
    case VCON_TRACE_REG_READ:
        fprintf(out, " %s 0x%" PRIx64 "/%u", space_name(ev->reg.space), ev->reg.address,
                ev->reg.size);
        if (ev->reg.value)
            fprintf(out, " value=0x%" PRIx32, ev->reg.value);
        break;
    case VCON_TRACE_REG_WRITE:
        fprintf(out, " %s 0x%" PRIx64 "/%u = 0x%" PRIx32, space_name(ev->reg.space),
                ev->reg.address, ev->reg.size, ev->reg.value);
        break;
    case VCON_TRACE_MEM_READ:
        fprintf(out, " gpa=0x%" PRIx64 " len=%" PRIu32 " result=%" PRId32, ev->mem.gpa,
                ev->mem.length, ev->mem.result);
        print_data(out, ev, full);
        break;
    case VCON_TRACE_MEM_WRITE:
        fprintf(out, " gpa=0x%" PRIx64 " result=%" PRId32 " len=%" PRIu32, ev->mem.gpa,
                ev->mem.result, ev->payload_len);
        print_data(out, ev, full);
        break;
    case VCON_TRACE_GUEST_MEM_WRITE:
        fprintf(out, " gpa=0x%" PRIx64 " len=%" PRIu32, ev->mem.gpa, ev->payload_len);
        print_data(out, ev, full);
        break;
    case VCON_TRACE_KICK:
        fprintf(out, " queue=%u", ev->kick.queue);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        fprintf(out, " line=%" PRIu32 " level=%u", ev->irq.line, ev->irq.level);
        break;
    case VCON_TRACE_MSI:
        fprintf(out, " address=0x%" PRIx64 " data=0x%" PRIx32, ev->msi.address, ev->msi.data);
        break;
    case VCON_TRACE_BACKEND_READ:
        fprintf(out, " port=%u requested=%" PRIu32 " result=%" PRId32, ev->backend.port,
                ev->backend.requested, ev->backend.result);
        if (ev->backend.result <= 0)
            fprintf(out, " (%s)", backend_status_name(ev->backend.result, false));
        print_data(out, ev, full);
        break;
    case VCON_TRACE_BACKEND_WRITE:
        fprintf(out, " port=%u result=%" PRId32, ev->backend.port, ev->backend.result);
        if (ev->backend.result <= 0)
            fprintf(out, " (%s)", backend_status_name(ev->backend.result, true));
        fprintf(out, " len=%" PRIu32, ev->payload_len);
        print_data(out, ev, full);
        break;
    case VCON_TRACE_BACKEND_EVENT:
        fprintf(out, " port=%u what=%s", ev->backend_event.port,
                backend_what_name(ev->backend_event.what));
        break;
    case VCON_TRACE_TIME_STEP:
        fprintf(out, " ns=%" PRIu64, ev->time_step.ns);
        break;
    case VCON_TRACE_TIMER_FIRE:
        fprintf(out, " index=%" PRIu32, ev->timer.index);
        break;
    case VCON_TRACE_HOTPLUG:
        fprintf(out, " port=%u add=%u console=%u name=", ev->hotplug.port, ev->hotplug.add,
                ev->hotplug.is_console);
        tool_print_quoted(out, ev->payload, ev->payload_len);
        break;
    case VCON_TRACE_RESIZE:
        fprintf(out, " port=%u cols=%u rows=%u", ev->resize.port, ev->resize.cols,
                ev->resize.rows);
        break;
    case VCON_TRACE_RESET:
        break;
    case VCON_TRACE_MARK:
        fputc(' ', out);
        tool_print_quoted(out, ev->payload, ev->payload_len);
        break;
    case VCON_TRACE_READ_RESULT:
        fprintf(out, " = 0x%" PRIx32, ev->read_result.value);
        break;
    case VCON_TRACE_UART_LINE_ERROR: {
        static const char *const lsr[8] = {NULL, NULL, "PE", "FE", "BI", NULL, NULL, NULL};
        fprintf(out, " char=0x%02x errors=0x%02x", ev->line_error.byte, ev->line_error.errors);
        print_bits(out, ev->line_error.errors, lsr);
        break;
    }
    case VCON_TRACE_MODEM_LINES: {
        static const char *const msr[8] = {NULL, NULL, NULL, NULL, "CTS", "DSR", "RI", "DCD"};
        fprintf(out, " lines=0x%02x", ev->modem.lines);
        print_bits(out, ev->modem.lines, msr);
        break;
    }
    default:
        break;
    }
}

void tool_print_event(FILE *out, uint64_t time_ns, const struct vcon_trace_event *ev, bool full)
{
    char t[32];
    tool_format_time(t, sizeof(t), time_ns);
    fprintf(out, "#%" PRIu64 " t=%s dev=%u %s", ev->seq, t, ev->device,
            vcon_trace_kind_name(ev->kind));
    print_fields(out, ev, full);
}
