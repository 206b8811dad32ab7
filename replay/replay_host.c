/* The host the replayer gives each device: inputs come from the trace,
 * outputs are compared with it. Each call takes its event from the trace
 * (replay_expect) and checks the fields the format says are compared; a
 * difference is recorded as the divergence and the call returns a harmless
 * answer, so that the device finishes its handler and the main loop stops
 * after it. Time, timers and the log are the VM's own. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "replay_internal.h"

/* The largest transfer one event holds: the recorder cut longer backend
 * transfers to this, so the replayer asks the same. */
static size_t event_sized(unsigned kind, size_t len)
{
    const size_t max = vcon_trace_max_payload(kind);
    return len < max ? len : max;
}

static uint16_t trace_port(unsigned port)
{
    return port > 0xFFFFu ? 0xFFFFu : (uint16_t)port;
}

/* While the rig is being built (not recorded) and once replaying has
 * stopped, calls are not taken from the trace. */
static bool live(const struct replay_device *d)
{
    return d->r->armed && !replay_stopped(d->r);
}

/* Same kind and device as `call`, but different compared fields. */
static void diverge_fields(struct vcon_replayer *r, const struct vcon_trace_event *recorded,
                           const struct vcon_trace_event *call, const char *detail)
{
    char was[REPLAY_LINE], now[REPLAY_LINE];
    vcon_trace_format_fields(was, sizeof(was), recorded, 0);
    replay_describe_call(call, now, sizeof(now));
    replay_diverge(r, "recorded %s, %s%s", was, now, detail ? detail : "");
}

/* ---- guest memory ----------------------------------------------------- */

/* Strict mode: one MEM_READ per event-sized piece, at the same address and
 * of the same length as recorded; the bytes (or the error) are the
 * recorded ones. */
/* A recorded DMA read must agree with guest RAM as the trace itself wrote
 * it; if not, the trace was edited or damaged at this very event (the device
 * would only go wrong later, misled by it). Returns false after reporting. */
static bool recorded_read_matches_ram(struct replay_device *d, const struct vcon_trace_event *ev)
{
    uint8_t ram[256];
    for (uint32_t off = 0; off < ev->payload_len; off += sizeof(ram)) {
        const uint32_t n = ev->payload_len - off < sizeof(ram) ? ev->payload_len - off
                                                                  : (uint32_t)sizeof(ram);
        if (d->inner.mem_read(d->inner.ctx, ev->mem.gpa + off, ram, n) != 0)
            return true; /* outside RAM: nothing to compare with */
        for (uint32_t i = 0; i < n; i++) {
            if (ram[i] != ev->payload[off + i]) {
                replay_diverge(d->r,
                               "recorded a read of %" PRIu32 " bytes at gpa 0x%" PRIx64
                               " returning 0x%02x at byte %" PRIu32
                               ", but guest memory as the trace wrote it holds 0x%02x there",
                               ev->payload_len, ev->mem.gpa, ev->payload[off + i], off + i,
                               ram[i]);
                return false;
            }
        }
    }
    return true;
}

static int strict_read_piece(struct replay_device *d, uint64_t gpa, uint8_t *buf, uint32_t len)
{
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_MEM_READ, .device = (uint8_t)d->index, .mem = {.gpa = gpa, .length = len}};
    const struct vcon_trace_event *ev = replay_expect(d->r, &call);
    if (ev == NULL)
        return -EFAULT;
    if (ev->mem.gpa != gpa || ev->mem.length != len) {
        diverge_fields(d->r, ev, &call, NULL);
        return -EFAULT;
    }
    const int result = ev->mem.result;
    if (result == 0 && d->r->ram_known && !recorded_read_matches_ram(d, ev))
        return -EFAULT;
    if (result == 0 && len > 0)
        memcpy(buf, ev->payload, len);
    replay_consume(d->r, NULL);
    return result;
}

/* Image mode: the device reads the rebuilt RAM; a recorded MEM_READ of the
 * same piece is taken along so that the listing stays in step, any other
 * is passed over later. */
static void image_take_piece(struct replay_device *d, uint64_t gpa, uint32_t len)
{
    struct vcon_replayer *r = d->r;
    while (replay_peek(r) == 1 && !replay_stopped(r)) {
        const struct vcon_trace_event *ev = &r->next;
        if (ev->kind == VCON_TRACE_MEM_READ && ev->device == d->index && ev->mem.gpa == gpa &&
            ev->mem.length == len) {
            replay_consume(r, NULL);
            return;
        }
        if (ev->kind == VCON_TRACE_MEM_READ || !replay_skippable(r, ev->kind))
            return;
        replay_consume(r, NULL);
    }
}

static int strict_read(struct replay_device *d, uint64_t gpa, uint8_t *buf, size_t len)
{
    const size_t max = vcon_trace_max_payload(VCON_TRACE_MEM_READ);
    int result = 0;
    size_t off = 0;
    do {
        const uint32_t piece = (uint32_t)(len - off < max ? len - off : max);
        const int rc = strict_read_piece(d, gpa + off, buf + off, piece);
        if (rc != 0 && result == 0)
            result = rc;
        off += piece;
    } while (off < len && live(d));
    return result;
}

/* Image mode: answered from RAM even after replaying stopped, so that a
 * crash past the cut of a truncated trace still happens. */
static int image_read(struct replay_device *d, uint64_t gpa, void *buf, size_t len)
{
    const int rc = d->inner.mem_read(d->inner.ctx, gpa, buf, len);
    const size_t max = vcon_trace_max_payload(VCON_TRACE_MEM_READ);
    size_t off = 0;
    while (live(d)) {
        const uint32_t piece = (uint32_t)(len - off < max ? len - off : max);
        image_take_piece(d, gpa + off, piece);
        off += piece;
        if (off >= len)
            break;
    }
    return rc;
}

static int replay_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct replay_device *d = ctx;
    int rc;
    if (!d->r->armed)
        return d->inner.mem_read(d->inner.ctx, gpa, buf, len);
    if (d->r->mode == VCON_REPLAY_IMAGE)
        rc = image_read(d, gpa, buf, len);
    else if (!live(d))
        return -EFAULT;
    else
        rc = strict_read(d, gpa, buf, len);
    if (rc == 0)
        replay_watch_mem_read(d, buf, len);
    return rc;
}

/* The recorded result is an input (what the host answered), the bytes an
 * output (what the device wrote). */
static int compare_write_piece(struct replay_device *d, uint64_t gpa, const uint8_t *bytes,
                               uint32_t len)
{
    const struct vcon_trace_event call = {.kind = VCON_TRACE_MEM_WRITE,
                                          .device = (uint8_t)d->index,
                                          .mem = {.gpa = gpa},
                                          .payload = bytes,
                                          .payload_len = len};
    const struct vcon_trace_event *ev = replay_expect(d->r, &call);
    if (ev == NULL)
        return 0;
    if (ev->mem.gpa != gpa || ev->payload_len != len ||
        (len > 0 && memcmp(ev->payload, bytes, len) != 0)) {
        char diff[128];
        replay_describe_difference(ev->payload, ev->payload_len, bytes, len, diff, sizeof(diff));
        diverge_fields(d->r, ev, &call, diff);
        return 0;
    }
    const int result = ev->mem.result;
    replay_consume(d->r, NULL);
    return result;
}

static int replay_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct replay_device *d = ctx;
    const size_t max = vcon_trace_max_payload(VCON_TRACE_MEM_WRITE);
    int rc = 0;
    /* Judged before it lands, against the rings as the guest left them. */
    if (live(d))
        replay_watch_mem_write(d, gpa, buf, len);
    /* The image follows the device's writes, as the recorded RAM did. */
    rc = d->inner.mem_write(d->inner.ctx, gpa, buf, len);
    if (!live(d))
        return rc;
    int result = 0;
    size_t off = 0;
    do {
        const uint32_t piece = (uint32_t)(len - off < max ? len - off : max);
        const int piece_rc = compare_write_piece(d, gpa + off, (const uint8_t *)buf + off, piece);
        if (piece_rc != 0 && result == 0)
            result = piece_rc;
        off += piece;
    } while (off < len && live(d));
    if (result != 0)
        replay_watch_mem_write_failed(d);
    return result;
}

/* ---- interrupts ---------------------------------------------------------- */

static void replay_irq_set_level(void *ctx, unsigned line, int level)
{
    struct replay_device *d = ctx;
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_IRQ_LEVEL,
        .device = (uint8_t)d->index,
        .irq = {.line = line, .level = level != 0},
    };
    if (live(d)) {
        const struct vcon_trace_event *ev = replay_expect(d->r, &call);
        if (ev != NULL && (ev->irq.line != call.irq.line || ev->irq.level != call.irq.level))
            diverge_fields(d->r, ev, &call, NULL);
        else if (ev != NULL)
            replay_consume(d->r, NULL);
    }
    /* Passed on so that the VM's line levels can be inspected after a
     * replay; no guest is listening. */
    d->inner.irq_set_level(d->inner.ctx, line, level);
}

static void replay_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    struct replay_device *d = ctx;
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_MSI, .device = (uint8_t)d->index, .msi = {.address = address, .data = data}};
    if (live(d)) {
        const struct vcon_trace_event *ev = replay_expect(d->r, &call);
        if (ev != NULL && (ev->msi.address != address || ev->msi.data != data))
            diverge_fields(d->r, ev, &call, NULL);
        else if (ev != NULL)
            replay_consume(d->r, NULL);
    }
    replay_watch_msi(d);
    d->inner.msi_send(d->inner.ctx, address, data);
}

/* ---- backends -------------------------------------------------------------- */

static int replay_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    struct replay_device *d = ctx;
    if (!d->r->armed)
        return d->inner.backend_read(d->inner.ctx, port, buf, len);
    if (!live(d))
        return VCON_BACKEND_NO_DATA;
    const size_t asked = event_sized(VCON_TRACE_BACKEND_READ, len);
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_BACKEND_READ,
        .device = (uint8_t)d->index,
        .backend = {.port = trace_port(port), .requested = (uint32_t)asked},
    };
    const struct vcon_trace_event *ev = replay_expect(d->r, &call);
    if (ev == NULL)
        return VCON_BACKEND_NO_DATA;
    if (ev->backend.port != call.backend.port || ev->backend.requested != call.backend.requested) {
        diverge_fields(d->r, ev, &call, NULL);
        return VCON_BACKEND_NO_DATA;
    }
    /* The reader guarantees result <= requested and a payload of exactly
     * result bytes, and requested == asked <= len. */
    const int result = ev->backend.result;
    if (result > 0) {
        memcpy(buf, ev->payload, (size_t)result);
        replay_watch_backend_read(d, buf, (size_t)result);
    }
    replay_consume(d->r, NULL);
    return result;
}

static int replay_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    struct replay_device *d = ctx;
    if (!d->r->armed)
        return d->inner.backend_write(d->inner.ctx, port, buf, len);
    if (!live(d))
        return VCON_BACKEND_WOULD_BLOCK;
    const size_t offered = event_sized(VCON_TRACE_BACKEND_WRITE, len);
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_BACKEND_WRITE,
        .device = (uint8_t)d->index,
        .backend = {.port = trace_port(port)},
        .payload = buf,
        .payload_len = (uint32_t)offered,
    };
    const struct vcon_trace_event *ev = replay_expect(d->r, &call);
    if (ev == NULL)
        return VCON_BACKEND_WOULD_BLOCK;
    if (ev->backend.port != call.backend.port || ev->payload_len != offered ||
        (offered > 0 && memcmp(ev->payload, buf, offered) != 0)) {
        char diff[128];
        replay_describe_difference(ev->payload, ev->payload_len, buf, offered, diff, sizeof(diff));
        diverge_fields(d->r, ev, &call, diff);
        return VCON_BACKEND_WOULD_BLOCK;
    }
    /* At most the payload length (the reader checks), so at most len. */
    const int result = ev->backend.result;
    replay_watch_backend_write(d, port, buf, offered, result);
    replay_consume(d->r, NULL);
    return result;
}

/* ---- the VM's own: time, timers, log ------------------------------------------ */

static uint64_t replay_now_ns(void *ctx)
{
    struct replay_device *d = ctx;
    return d->inner.now_ns(d->inner.ctx);
}

static struct vcon_timer *replay_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    struct replay_device *d = ctx;
    return d->inner.timer_create(d->inner.ctx, fire, device);
}

static void replay_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    struct replay_device *d = ctx;
    d->inner.timer_arm(d->inner.ctx, timer, deadline_ns);
}

static void replay_timer_disarm(void *ctx, struct vcon_timer *timer)
{
    struct replay_device *d = ctx;
    d->inner.timer_disarm(d->inner.ctx, timer);
}

static void replay_timer_destroy(void *ctx, struct vcon_timer *timer)
{
    struct replay_device *d = ctx;
    d->inner.timer_destroy(d->inner.ctx, timer);
}

static void replay_log(void *ctx, enum vcon_log_level level, const char *message)
{
    struct replay_device *d = ctx;
    d->inner.log(d->inner.ctx, level, message);
}

void replay_wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out)
{
    struct vcon_replayer *r = arg;
    *out = *inner;
    if (index >= VCON_RIG_MAX_DEVICES)
        return;
    struct replay_device *d = &r->dev[index];
    *d = (struct replay_device){.r = r, .index = index, .inner = *inner};
    out->ctx = d;
    out->mem_read = replay_mem_read;
    out->mem_write = replay_mem_write;
    out->irq_set_level = replay_irq_set_level;
    out->msi_send = replay_msi_send;
    out->backend_read = replay_backend_read;
    out->backend_write = replay_backend_write;
    /* Timers stay the VM's: they fire as TIME_STEP events move its clock,
     * and the recorded TIMER_FIRE labels are passed over. */
    out->now_ns = replay_now_ns;
    out->timer_create = replay_timer_create;
    out->timer_arm = replay_timer_arm;
    out->timer_disarm = replay_timer_disarm;
    out->timer_destroy = replay_timer_destroy;
    out->log = replay_log;
}
