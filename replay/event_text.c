/* The text form of events: one stable line per event for --verbose and the
 * divergence report, and the phrases of divergence messages. Stable means
 * it depends on nothing but the event, so that two replays of one trace
 * print the same bytes. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "replay_internal.h"

/* Bytes shown of a payload; the rest is counted, not shown. */
#define SHOWN_HEX 16u
#define SHOWN_TEXT 40u
/* META's strings name the run: shown whole (as far as a line goes). */
#define SHOWN_META 200u

static const char *const space_names[] = {"pio", "mmio", "pci"};
static const char *const backend_what[] = {"ready", "connect", "disconnect", "eof"};

/* Appends to a buffer that snprintf filled so far; never overruns, a full
 * buffer just stays full. */
struct text {
    char *buf;
    size_t size, len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->size == 0 || t->len >= t->size - 1)
        return;
    va_start(ap, fmt);
    const int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < t->size - t->len ? (size_t)n : t->size - t->len - 1;
}

/* Guest memory as hex: it is mostly binary (rings, descriptors). */
static void put_hex(struct text *t, const uint8_t *p, uint32_t len)
{
    const uint32_t shown = len < SHOWN_HEX ? len : SHOWN_HEX;
    put(t, " data");
    for (uint32_t i = 0; i < shown; i++)
        put(t, " %02x", p[i]);
    if (shown < len)
        put(t, " ...");
}

/* Backend bytes and names as a C string literal: they are mostly text. */
static void put_quoted_up_to(struct text *t, const uint8_t *p, uint32_t len, uint32_t limit)
{
    const uint32_t shown = len < limit ? len : limit;
    put(t, " \"");
    for (uint32_t i = 0; i < shown; i++) {
        const uint8_t c = p[i];
        if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            put(t, "%c", c);
        else if (c == '\n')
            put(t, "\\n");
        else
            put(t, "\\x%02x", c);
    }
    put(t, "\"%s", shown < len ? "..." : "");
}

static void put_quoted(struct text *t, const uint8_t *p, uint32_t len)
{
    put_quoted_up_to(t, p, len, SHOWN_TEXT);
}

static void put_reg(struct text *t, const struct vcon_trace_event *ev)
{
    const char *space = ev->reg.space < 3 ? space_names[ev->reg.space] : "?";
    put(t, "%s 0x%" PRIx64 " size %u", space, ev->reg.address, ev->reg.size);
    if (ev->kind == VCON_TRACE_REG_WRITE)
        put(t, " value 0x%" PRIx32, ev->reg.value);
}

static void put_memory(struct text *t, const struct vcon_trace_event *ev)
{
    put(t, "gpa 0x%" PRIx64, ev->mem.gpa);
    if (ev->kind == VCON_TRACE_MEM_READ)
        put(t, " length %" PRIu32, ev->mem.length);
    else
        put(t, " length %" PRIu32, ev->payload_len);
    if (ev->kind != VCON_TRACE_GUEST_MEM_WRITE)
        put(t, " result %" PRId32, ev->mem.result);
    if (ev->payload_len > 0)
        put_hex(t, ev->payload, ev->payload_len);
}

static void put_backend(struct text *t, const struct vcon_trace_event *ev)
{
    put(t, "port %u", ev->backend.port);
    if (ev->kind == VCON_TRACE_BACKEND_READ)
        put(t, " requested %" PRIu32, ev->backend.requested);
    else
        put(t, " length %" PRIu32, ev->payload_len);
    put(t, " result %" PRId32, ev->backend.result);
    if (ev->payload_len > 0)
        put_quoted(t, ev->payload, ev->payload_len);
}

static void put_host_event(struct text *t, const struct vcon_trace_event *ev)
{
    switch (ev->kind) {
    case VCON_TRACE_BACKEND_EVENT:
        put(t, "port %u %s", ev->backend_event.port,
            ev->backend_event.what < 4 ? backend_what[ev->backend_event.what] : "?");
        break;
    case VCON_TRACE_HOTPLUG:
        put(t, "port %u %s console %u name", ev->hotplug.port,
            ev->hotplug.add ? "add" : "remove", ev->hotplug.is_console);
        put_quoted(t, ev->payload, ev->payload_len);
        break;
    case VCON_TRACE_RESIZE:
        put(t, "port %u cols %u rows %u", ev->resize.port, ev->resize.cols, ev->resize.rows);
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        put(t, "byte 0x%02x errors 0x%02x", ev->line_error.byte, ev->line_error.errors);
        break;
    case VCON_TRACE_MODEM_LINES:
        put(t, "lines 0x%02x", ev->modem.lines);
        break;
    default: /* RESET has no fields */
        break;
    }
}

static void put_label(struct text *t, const struct vcon_trace_event *ev)
{
    switch (ev->kind) {
    case VCON_TRACE_META:
        put(t, "version %u.%u seed 0x%" PRIx64 " ram %" PRIu64 " build", ev->meta.version_major,
            ev->meta.version_minor, ev->meta.seed, ev->meta.ram_size);
        put_quoted_up_to(t, (const uint8_t *)ev->meta.build_id, ev->meta.build_id_len, SHOWN_META);
        put(t, " config");
        put_quoted_up_to(t, (const uint8_t *)ev->meta.config, ev->meta.config_len, SHOWN_META);
        break;
    case VCON_TRACE_END:
        put(t, "count %" PRIu64, ev->end.count);
        break;
    case VCON_TRACE_KICK:
        put(t, "queue %u", ev->kick.queue);
        break;
    case VCON_TRACE_MARK:
        put(t, "text");
        put_quoted(t, ev->payload, ev->payload_len);
        break;
    default:
        break;
    }
}

static void put_fields(struct text *t, const struct vcon_trace_event *ev)
{
    switch (ev->kind) {
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        put_reg(t, ev);
        break;
    case VCON_TRACE_MEM_READ:
    case VCON_TRACE_MEM_WRITE:
    case VCON_TRACE_GUEST_MEM_WRITE:
        put_memory(t, ev);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        put(t, "line %" PRIu32 " level %u", ev->irq.line, ev->irq.level);
        break;
    case VCON_TRACE_MSI:
        put(t, "address 0x%" PRIx64 " data 0x%" PRIx32, ev->msi.address, ev->msi.data);
        break;
    case VCON_TRACE_BACKEND_READ:
    case VCON_TRACE_BACKEND_WRITE:
        put_backend(t, ev);
        break;
    case VCON_TRACE_TIME_STEP:
        put(t, "ns %" PRIu64, ev->time_step.ns);
        break;
    case VCON_TRACE_TIMER_FIRE:
        put(t, "timer %" PRIu32, ev->timer.index);
        break;
    case VCON_TRACE_READ_RESULT:
        put(t, "value 0x%" PRIx32, ev->read_result.value);
        break;
    case VCON_TRACE_BACKEND_EVENT:
    case VCON_TRACE_HOTPLUG:
    case VCON_TRACE_RESIZE:
    case VCON_TRACE_RESET:
    case VCON_TRACE_UART_LINE_ERROR:
    case VCON_TRACE_MODEM_LINES:
        put_host_event(t, ev);
        break;
    default:
        put_label(t, ev);
        break;
    }
}

void replay_event_fields(const struct vcon_trace_event *ev, char *buf, size_t size)
{
    struct text t = {.buf = buf, .size = size};
    if (size > 0)
        buf[0] = 0;
    put_fields(&t, ev);
}

void replay_event_line(const struct vcon_trace_event *ev, uint64_t time_ns, char *buf,
                       size_t size)
{
    struct text t = {.buf = buf, .size = size};
    if (size > 0)
        buf[0] = 0;
    put(&t, "%8" PRIu64 " %" PRIu64 ".%09" PRIu64 " %s", ev->seq, time_ns / 1000000000u,
        time_ns % 1000000000u, vcon_trace_kind_name(ev->kind));
    if (ev->device != REPLAY_BUS_DEVICE && ev->kind != VCON_TRACE_META &&
        ev->kind != VCON_TRACE_END && ev->kind != VCON_TRACE_MARK)
        put(&t, " dev %u", ev->device);
    if (ev->kind != VCON_TRACE_RESET)
        put(&t, " ");
    put_fields(&t, ev);
}

/* The verb of a device call, by the event kind it makes. */
static const char *call_verb(unsigned kind)
{
    switch (kind) {
    case VCON_TRACE_MEM_READ:
        return "read";
    case VCON_TRACE_MEM_WRITE:
        return "wrote";
    case VCON_TRACE_IRQ_LEVEL:
        return "set";
    case VCON_TRACE_MSI:
        return "sent";
    case VCON_TRACE_BACKEND_READ:
        return "read from backend";
    case VCON_TRACE_BACKEND_WRITE:
        return "wrote to backend";
    default:
        return "did";
    }
}

void replay_describe_call(const struct vcon_trace_event *call, char *buf, size_t size)
{
    struct text t = {.buf = buf, .size = size};
    if (size > 0)
        buf[0] = 0;
    if (call->kind == VCON_TRACE_READ_RESULT) {
        put(&t, "the guest's read returned 0x%" PRIx32, call->read_result.value);
        return;
    }
    put(&t, "device %u %s ", call->device, call_verb(call->kind));
    /* A call has no result yet: the result is the host's answer. */
    switch (call->kind) {
    case VCON_TRACE_MEM_READ:
        put(&t, "gpa 0x%" PRIx64 " length %" PRIu32, call->mem.gpa, call->mem.length);
        break;
    case VCON_TRACE_MEM_WRITE:
        put(&t, "gpa 0x%" PRIx64 " length %" PRIu32, call->mem.gpa, call->payload_len);
        if (call->payload_len > 0)
            put_hex(&t, call->payload, call->payload_len);
        break;
    case VCON_TRACE_BACKEND_READ:
        put(&t, "port %u requested %" PRIu32, call->backend.port, call->backend.requested);
        break;
    case VCON_TRACE_BACKEND_WRITE:
        put(&t, "port %u length %" PRIu32, call->backend.port, call->payload_len);
        put_quoted(&t, call->payload, call->payload_len);
        break;
    default:
        put_fields(&t, call);
        break;
    }
}

void replay_describe_difference(const uint8_t *recorded, size_t recorded_len,
                                const uint8_t *now, size_t now_len, char *buf, size_t size)
{
    const size_t n = recorded_len < now_len ? recorded_len : now_len;
    if (size > 0)
        buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (recorded[i] != now[i]) {
            snprintf(buf, size, " (first difference at byte %zu: 0x%02x recorded, 0x%02x now)", i,
                     recorded[i], now[i]);
            return;
        }
    }
    if (recorded_len != now_len)
        snprintf(buf, size, " (%zu bytes recorded, %zu now)", recorded_len, now_len);
}
