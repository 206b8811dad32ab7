/* Events as text: the one line per event that `vcon-trace dump` and `diff`
 * print and that vcon-replay lists and quotes in its reports. The format is
 * documented in docs/vcon-trace.md ("dump") and stable, because scripts
 * parse it. One writer serves two sinks, a stream and a fixed buffer, so the
 * tools and the replayer cannot drift apart. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "trace_internal.h"

/* Where the text goes: a stream, or buf (size bytes, kept NUL-terminated).
 * A buffer that fills up is cut: the rest of the line is dropped and its
 * last characters become "...", so a cut line says so. */
struct text {
    FILE *out;
    char *buf;
    size_t size, len;
    bool cut;
};

static struct text buffer_text(char *buf, size_t size)
{
    if (size > 0)
        buf[0] = '\0';
    return (struct text){.buf = buf, .size = size};
}

static void put_bytes(struct text *t, const char *s, size_t n)
{
    if (t->out != NULL) {
        fwrite(s, 1, n, t->out);
        return;
    }
    if (t->cut || t->size == 0)
        return;
    const size_t room = t->size - 1 - t->len;
    const size_t taken = n < room ? n : room;
    memcpy(t->buf + t->len, s, taken);
    t->len += taken;
    if (taken < n) {
        t->cut = true;
        if (t->len >= 3)
            memcpy(t->buf + t->len - 3, "...", 3);
    }
    t->buf[t->len] = '\0';
}

static void put_str(struct text *t, const char *s)
{
    put_bytes(t, s, strlen(s));
}

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Numbers and names only: every use fits the scratch buffer. */
static void put(struct text *t, const char *fmt, ...)
{
    char scratch[128];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(scratch, sizeof(scratch), fmt, ap);
    va_end(ap);
    if (n > 0)
        put_bytes(t, scratch, (size_t)n < sizeof(scratch) ? (size_t)n : sizeof(scratch) - 1);
}

/* How many bytes of a payload are worth reading: each one shows as at least
 * one character, so a buffer never needs more than it has room for. The
 * replayer relies on this: it keeps only a line's worth of each payload. */
static size_t readable(const struct text *t, size_t len)
{
    if (t->out != NULL)
        return len;
    const size_t room = t->cut || t->size == 0 ? 0 : t->size - 1 - t->len;
    return len < room ? len : room;
}

static const char hex_digits[] = "0123456789abcdef";

static void put_hex(struct text *t, const uint8_t *p, size_t len)
{
    char chunk[128];
    len = readable(t, len);
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        for (; i < len && n + 2 <= sizeof(chunk); i++) {
            chunk[n++] = hex_digits[p[i] >> 4];
            chunk[n++] = hex_digits[p[i] & 0xFu];
        }
        put_bytes(t, chunk, n);
    }
}

/* One byte of a quoted string: C escapes, \xHH outside 0x20..0x7e. */
static size_t escape(uint8_t c, char out[4])
{
    switch (c) {
    case '"':
    case '\\':
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    default:
        break;
    }
    if (c >= 0x20 && c <= 0x7E) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex_digits[c >> 4];
    out[3] = hex_digits[c & 0xFu];
    return 4;
}

static void put_quoted(struct text *t, const void *bytes, size_t len)
{
    const uint8_t *p = bytes;
    char chunk[256];
    size_t n = 0;
    put_bytes(t, "\"", 1);
    len = readable(t, len);
    for (size_t i = 0; i < len; i++) {
        if (n + 4 > sizeof(chunk)) {
            put_bytes(t, chunk, n);
            n = 0;
        }
        n += escape(p[i], chunk + n);
    }
    put_bytes(t, chunk, n);
    put_bytes(t, "\"", 1);
}

/* " data=HEX" (nothing for an empty payload), the preview unless FULL. */
static void put_data(struct text *t, const struct vcon_trace_event *ev, unsigned flags)
{
    if (ev->payload_len == 0)
        return;
    uint32_t shown = ev->payload_len;
    if (!(flags & VCON_TRACE_TEXT_FULL) && shown > VCON_TRACE_TEXT_PREVIEW)
        shown = VCON_TRACE_TEXT_PREVIEW;
    put_str(t, " data=");
    put_hex(t, ev->payload, shown);
    if (shown < ev->payload_len)
        put_str(t, "...");
}

static const char *space_name(unsigned space)
{
    switch (space) {
    case VCON_TRACE_SPACE_PIO:
        return "pio";
    case VCON_TRACE_SPACE_MMIO:
        return "mmio";
    case VCON_TRACE_SPACE_PCI_CONFIG:
        return "pcicfg";
    default:
        return "space?";
    }
}

static const char *backend_what_name(unsigned what)
{
    static const char *const names[] = {"ready", "connect", "disconnect", "eof"};
    return what < sizeof(names) / sizeof(names[0]) ? names[what] : "unknown";
}

/* " result=N", and the meaning of a backend status (a result <= 0, numbered
 * by docs/trace-format.md: the trace library does not see emu's enum). */
static void put_backend_result(struct text *t, int32_t result, bool is_write)
{
    put(t, " result=%" PRId32, result);
    if (result > 0)
        return;
    switch (result) {
    case 0:
        put_str(t, is_write ? " (none taken)" : " (no data)");
        break;
    case -1:
        put_str(t, " (would block)");
        break;
    case -2:
        put_str(t, " (closed)");
        break;
    default:
        put_str(t, " (error)");
        break;
    }
}

/* " (NAME NAME)" for the bits set in value, named by names[bit]. */
static void put_bits(struct text *t, unsigned value, const char *const names[8])
{
    bool any = false;
    for (unsigned bit = 0; bit < 8; bit++) {
        if (!(value & (1u << bit)) || !names[bit])
            continue;
        put_str(t, any ? " " : " (");
        put_str(t, names[bit]);
        any = true;
    }
    if (any)
        put_str(t, ")");
}

static void put_meta(struct text *t, const struct vcon_trace_meta *m)
{
    put(t, "version=%u.%u seed=%" PRIu64 " ram=0x%" PRIx64 " build_id=", m->version_major,
        m->version_minor, m->seed, m->ram_size);
    put_quoted(t, m->build_id, m->build_id_len);
    put_str(t, " config=");
    put_quoted(t, m->config, m->config_len);
}

/* Guest memory and backend transfers: the kinds whose result (and, for a
 * read, data) is the host's answer to a device's call. */
static void put_transfer(struct text *t, const struct vcon_trace_event *ev, unsigned flags)
{
    const bool answer = !(flags & VCON_TRACE_TEXT_NO_ANSWER);
    switch (ev->kind) {
    case VCON_TRACE_MEM_READ:
        put(t, "gpa=0x%" PRIx64 " len=%" PRIu32, ev->mem.gpa, ev->mem.length);
        if (answer) {
            put(t, " result=%" PRId32, ev->mem.result);
            put_data(t, ev, flags);
        }
        break;
    case VCON_TRACE_MEM_WRITE:
        put(t, "gpa=0x%" PRIx64, ev->mem.gpa);
        if (answer)
            put(t, " result=%" PRId32, ev->mem.result);
        put(t, " len=%" PRIu32, ev->payload_len);
        put_data(t, ev, flags);
        break;
    case VCON_TRACE_BACKEND_READ:
        put(t, "port=%u requested=%" PRIu32, ev->backend.port, ev->backend.requested);
        if (answer) {
            put_backend_result(t, ev->backend.result, false);
            put_data(t, ev, flags);
        }
        break;
    default: /* BACKEND_WRITE */
        put(t, "port=%u", ev->backend.port);
        if (answer)
            put_backend_result(t, ev->backend.result, true);
        put(t, " len=%" PRIu32, ev->payload_len);
        put_data(t, ev, flags);
        break;
    }
}

/* The host's events, those with a port, and the UART's line inputs. */
static void put_host_event(struct text *t, const struct vcon_trace_event *ev)
{
    static const char *const lsr[8] = {NULL, NULL, "PE", "FE", "BI", NULL, NULL, NULL};
    static const char *const msr[8] = {NULL, NULL, NULL, NULL, "CTS", "DSR", "RI", "DCD"};
    switch (ev->kind) {
    case VCON_TRACE_BACKEND_EVENT:
        put(t, "port=%u what=%s", ev->backend_event.port,
            backend_what_name(ev->backend_event.what));
        break;
    case VCON_TRACE_HOTPLUG:
        put(t, "port=%u add=%u console=%u name=", ev->hotplug.port, ev->hotplug.add,
            ev->hotplug.is_console);
        put_quoted(t, ev->payload, ev->payload_len);
        break;
    case VCON_TRACE_RESIZE:
        put(t, "port=%u cols=%u rows=%u", ev->resize.port, ev->resize.cols, ev->resize.rows);
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        put(t, "char=0x%02x errors=0x%02x", ev->line_error.byte, ev->line_error.errors);
        put_bits(t, ev->line_error.errors, lsr);
        break;
    default: /* MODEM_LINES */
        put(t, "lines=0x%02x", ev->modem.lines);
        put_bits(t, ev->modem.lines, msr);
        break;
    }
}

static void put_fields(struct text *t, const struct vcon_trace_event *ev, unsigned flags)
{
    switch (ev->kind) {
    case VCON_TRACE_META:
        put_meta(t, &ev->meta);
        break;
    case VCON_TRACE_END:
        put(t, "count=%" PRIu64, ev->end.count);
        break;
    case VCON_TRACE_REG_READ:
        put(t, "%s 0x%" PRIx64 "/%u", space_name(ev->reg.space), ev->reg.address, ev->reg.size);
        if (ev->reg.value)
            put(t, " value=0x%" PRIx32, ev->reg.value);
        break;
    case VCON_TRACE_REG_WRITE:
        put(t, "%s 0x%" PRIx64 "/%u = 0x%" PRIx32, space_name(ev->reg.space), ev->reg.address,
            ev->reg.size, ev->reg.value);
        break;
    case VCON_TRACE_MEM_READ:
    case VCON_TRACE_MEM_WRITE:
    case VCON_TRACE_BACKEND_READ:
    case VCON_TRACE_BACKEND_WRITE:
        put_transfer(t, ev, flags);
        break;
    case VCON_TRACE_GUEST_MEM_WRITE:
        put(t, "gpa=0x%" PRIx64 " len=%" PRIu32, ev->mem.gpa, ev->payload_len);
        put_data(t, ev, flags);
        break;
    case VCON_TRACE_KICK:
        put(t, "queue=%u", ev->kick.queue);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        put(t, "line=%" PRIu32 " level=%u", ev->irq.line, ev->irq.level);
        break;
    case VCON_TRACE_MSI:
        put(t, "address=0x%" PRIx64 " data=0x%" PRIx32, ev->msi.address, ev->msi.data);
        break;
    case VCON_TRACE_TIME_STEP:
        put(t, "ns=%" PRIu64, ev->time_step.ns);
        break;
    case VCON_TRACE_TIMER_FIRE:
        put(t, "index=%" PRIu32, ev->timer.index);
        break;
    case VCON_TRACE_BACKEND_EVENT:
    case VCON_TRACE_HOTPLUG:
    case VCON_TRACE_RESIZE:
    case VCON_TRACE_UART_LINE_ERROR:
    case VCON_TRACE_MODEM_LINES:
        put_host_event(t, ev);
        break;
    case VCON_TRACE_MARK:
        put_quoted(t, ev->payload, ev->payload_len);
        break;
    case VCON_TRACE_READ_RESULT:
        put(t, "= 0x%" PRIx32, ev->read_result.value);
        break;
    default: /* RESET, and a number that is no kind: nothing */
        break;
    }
}

static bool has_fields(unsigned kind)
{
    return kind < VCON_TRACE_KIND_COUNT && kind != VCON_TRACE_RESET;
}

static void put_time(struct text *t, uint64_t time_ns)
{
    put(t, "%" PRIu64 ".%09" PRIu64, time_ns / NS_PER_SECOND, time_ns % NS_PER_SECOND);
}

static void put_event(struct text *t, uint64_t time_ns, const struct vcon_trace_event *ev,
                      unsigned flags)
{
    put(t, "#%" PRIu64 " t=", ev->seq);
    put_time(t, time_ns);
    put(t, " dev=%u %s", ev->device, vcon_trace_kind_name(ev->kind));
    if (has_fields(ev->kind)) {
        put_str(t, " ");
        put_fields(t, ev, flags);
    }
}

size_t vcon_trace_format_event(char *buf, size_t size, uint64_t time_ns,
                               const struct vcon_trace_event *ev, unsigned flags)
{
    struct text t = buffer_text(buf, size);
    put_event(&t, time_ns, ev, flags);
    return t.len;
}

size_t vcon_trace_format_fields(char *buf, size_t size, const struct vcon_trace_event *ev,
                                unsigned flags)
{
    struct text t = buffer_text(buf, size);
    put_fields(&t, ev, flags);
    return t.len;
}

size_t vcon_trace_format_time(char *buf, size_t size, uint64_t time_ns)
{
    struct text t = buffer_text(buf, size);
    put_time(&t, time_ns);
    return t.len;
}

int vcon_trace_print_event(FILE *out, uint64_t time_ns, const struct vcon_trace_event *ev,
                           unsigned flags)
{
    struct text t = {.out = out};
    put_event(&t, time_ns, ev, flags);
    return ferror(out) ? -EIO : 0;
}

int vcon_trace_print_quoted(FILE *out, const void *bytes, size_t len)
{
    struct text t = {.out = out};
    put_quoted(&t, bytes, len);
    return ferror(out) ? -EIO : 0;
}
