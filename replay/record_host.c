/* The host the recorder gives each device: every call goes on to the VM's
 * host (the "inner" one) and what crossed the seam is written down. Outputs
 * (interrupts) are written before they are passed on, inputs (memory and
 * backend reads) after the inner host answered, with its answer. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "recorder_internal.h"

/* What a recording host hands a device as its timer: the wrapper lets the
 * recorder see the fire (and know the timer's creation index). The harness
 * leaves struct vcon_timer free for hosts like this one to define. */
struct vcon_timer {
    struct vcon_timer *inner;
    vcon_timer_fn *fire;
    void *device;
    struct record_device *dev;
    uint32_t index;
    struct vcon_timer *next; /* in rec->timers */
};

static int rec_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct record_device *d = ctx;
    const int rc = d->inner.mem_read(d->inner.ctx, gpa, buf, len);
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_MEM_READ, .device = (uint8_t)d->index, .mem = {.gpa = gpa, .result = rc}};
    record_memory(d->rec, &ev, rc == 0 ? buf : NULL, len);
    return rc;
}

static int rec_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct record_device *d = ctx;
    const int rc = d->inner.mem_write(d->inner.ctx, gpa, buf, len);
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_MEM_WRITE, .device = (uint8_t)d->index, .mem = {.gpa = gpa, .result = rc}};
    record_memory(d->rec, &ev, buf, len);
    return rc;
}

static void rec_irq_set_level(void *ctx, unsigned line, int level)
{
    struct record_device *d = ctx;
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_IRQ_LEVEL,
        .device = (uint8_t)d->index,
        .irq = {.line = line, .level = level != 0},
    };
    record_event(d->rec, &ev);
    d->inner.irq_set_level(d->inner.ctx, line, level);
}

static void rec_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    struct record_device *d = ctx;
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_MSI, .device = (uint8_t)d->index, .msi = {.address = address, .data = data}};
    record_event(d->rec, &ev);
    d->inner.msi_send(d->inner.ctx, address, data);
}

/* Port numbers are u16 in a trace; a device passing a larger one is
 * recorded (and replayed) as 0xFFFF, where the inner host refuses it too. */
static uint16_t trace_port(unsigned port)
{
    return port > 0xFFFFu ? 0xFFFFu : (uint16_t)port;
}

/* A transfer larger than one event holds is cut to what one event holds:
 * a non-blocking backend may always move fewer bytes than asked, so the
 * device copes, and the replayer cuts the same way. */
static size_t event_sized(unsigned kind, size_t len)
{
    const size_t max = vcon_trace_max_payload(kind);
    return len < max ? len : max;
}

static int rec_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    struct record_device *d = ctx;
    const size_t asked = event_sized(VCON_TRACE_BACKEND_READ, len);
    const int rc = d->inner.backend_read(d->inner.ctx, port, buf, asked);
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_BACKEND_READ,
        .device = (uint8_t)d->index,
        .backend = {.port = trace_port(port), .requested = (uint32_t)asked, .result = rc},
        .payload = rc > 0 ? buf : NULL,
        .payload_len = rc > 0 ? (uint32_t)rc : 0,
    };
    record_event(d->rec, &ev);
    return rc;
}

static int rec_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    struct record_device *d = ctx;
    const size_t offered = event_sized(VCON_TRACE_BACKEND_WRITE, len);
    const int rc = d->inner.backend_write(d->inner.ctx, port, buf, offered);
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_BACKEND_WRITE,
        .device = (uint8_t)d->index,
        .backend = {.port = trace_port(port), .result = rc},
        .payload = buf,
        .payload_len = (uint32_t)offered,
    };
    record_event(d->rec, &ev);
    return rc;
}

static void rec_timer_fire(void *arg)
{
    struct vcon_timer *t = arg;
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_TIMER_FIRE, .device = (uint8_t)t->dev->index, .timer = {.index = t->index}};
    record_event(t->dev->rec, &ev);
    t->fire(t->device);
}

static struct vcon_timer *rec_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    struct record_device *d = ctx;
    struct vcon_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->inner = d->inner.timer_create(d->inner.ctx, rec_timer_fire, t);
    if (t->inner == NULL) {
        free(t);
        return NULL;
    }
    t->fire = fire;
    t->device = device;
    t->dev = d;
    t->index = d->timers_created++;
    t->next = d->rec->timers;
    d->rec->timers = t;
    return t;
}

static void rec_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    struct record_device *d = ctx;
    d->inner.timer_arm(d->inner.ctx, timer ? timer->inner : NULL, deadline_ns);
}

static void rec_timer_disarm(void *ctx, struct vcon_timer *timer)
{
    struct record_device *d = ctx;
    d->inner.timer_disarm(d->inner.ctx, timer ? timer->inner : NULL);
}

static void rec_timer_destroy(void *ctx, struct vcon_timer *timer)
{
    struct record_device *d = ctx;
    if (timer == NULL)
        return;
    d->inner.timer_destroy(d->inner.ctx, timer->inner);
    for (struct vcon_timer **p = &d->rec->timers; *p != NULL; p = &(*p)->next) {
        if (*p == timer) {
            *p = timer->next;
            free(timer);
            return;
        }
    }
}

/* Passed through, with the inner host's own context. */
static uint64_t rec_now_ns(void *ctx)
{
    struct record_device *d = ctx;
    return d->inner.now_ns(d->inner.ctx);
}

static void rec_log(void *ctx, enum vcon_log_level level, const char *message)
{
    struct record_device *d = ctx;
    d->inner.log(d->inner.ctx, level, message);
}

void record_free_timers(struct vcon_recorder *rec)
{
    while (rec->timers != NULL) {
        struct vcon_timer *next = rec->timers->next;
        free(rec->timers);
        rec->timers = next;
    }
}

void record_wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out)
{
    struct vcon_recorder *rec = arg;
    *out = *inner;
    if (index >= VCON_RIG_MAX_DEVICES)
        return;
    struct record_device *d = &rec->dev[index];
    *d = (struct record_device){.rec = rec, .index = index, .inner = *inner};
    out->ctx = d;
    out->mem_read = rec_mem_read;
    out->mem_write = rec_mem_write;
    out->irq_set_level = rec_irq_set_level;
    out->msi_send = rec_msi_send;
    out->timer_create = rec_timer_create;
    out->timer_arm = rec_timer_arm;
    out->timer_disarm = rec_timer_disarm;
    out->timer_destroy = rec_timer_destroy;
    out->backend_read = rec_backend_read;
    out->backend_write = rec_backend_write;
    /* Not recorded: time is recorded as TIME_STEP inputs, and log lines
     * are no part of the device's behaviour. */
    out->now_ns = rec_now_ns;
    out->log = rec_log;
}
