/* The replayer's words around events: the fields of a recorded event and
 * the phrases of divergence messages. The events themselves read as
 * everywhere else (vcon_trace_format_event and _fields, trace_text.c), so
 * that a report quotes an event exactly as `vcon-trace dump` prints it. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>

#include "replay_internal.h"

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
    if (call->kind == VCON_TRACE_READ_RESULT) {
        snprintf(buf, size, "the guest's read returned 0x%" PRIx32, call->read_result.value);
        return;
    }
    const int n = snprintf(buf, size, "device %u %s ", call->device, call_verb(call->kind));
    if (n < 0 || (size_t)n >= size)
        return;
    /* A call has no result yet: the result is the host's answer. */
    vcon_trace_format_fields(buf + n, size - (size_t)n, call, VCON_TRACE_TEXT_NO_ANSWER);
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
