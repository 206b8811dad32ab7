/* The host adapter: backend I/O to real backends, the rest to a base host. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>

#include "vcon/backend_host.h"

static struct vcon_backend *port_backend(void *ctx, unsigned port)
{
    const struct vcon_backend_host *bh = ctx;
    return port < bh->nr_ports ? bh->ports[port] : NULL;
}

static int bh_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    struct vcon_backend *b = port_backend(ctx, port);
    return b != NULL ? vcon_backend_read(b, buf, len) : VCON_BACKEND_CLOSED;
}

static int bh_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    struct vcon_backend *b = port_backend(ctx, port);
    return b != NULL ? vcon_backend_write(b, buf, len) : VCON_BACKEND_CLOSED;
}

#define BASE(ctx) (&((struct vcon_backend_host *)(ctx))->base)

static int bh_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    return BASE(ctx)->mem_read(BASE(ctx)->ctx, gpa, buf, len);
}

static int bh_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    return BASE(ctx)->mem_write(BASE(ctx)->ctx, gpa, buf, len);
}

static void bh_irq_set_level(void *ctx, unsigned line, int level)
{
    BASE(ctx)->irq_set_level(BASE(ctx)->ctx, line, level);
}

static void bh_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    BASE(ctx)->msi_send(BASE(ctx)->ctx, address, data);
}

static uint64_t bh_now_ns(void *ctx)
{
    return BASE(ctx)->now_ns(BASE(ctx)->ctx);
}

static struct vcon_timer *bh_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    return BASE(ctx)->timer_create(BASE(ctx)->ctx, fire, device);
}

static void bh_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    BASE(ctx)->timer_arm(BASE(ctx)->ctx, timer, deadline_ns);
}

static void bh_timer_disarm(void *ctx, struct vcon_timer *timer)
{
    BASE(ctx)->timer_disarm(BASE(ctx)->ctx, timer);
}

static void bh_timer_destroy(void *ctx, struct vcon_timer *timer)
{
    BASE(ctx)->timer_destroy(BASE(ctx)->ctx, timer);
}

static void bh_log(void *ctx, enum vcon_log_level level, const char *message)
{
    BASE(ctx)->log(BASE(ctx)->ctx, level, message);
}

int vcon_backend_host_init(struct vcon_backend_host *bh, const struct vcon_host *base,
                           struct vcon_backend **ports, unsigned nr_ports)
{
    if (bh == NULL || base == NULL || (ports == NULL && nr_ports > 0))
        return -EINVAL;
    memset(bh, 0, sizeof *bh);
    bh->base = *base;
    bh->ports = ports;
    bh->nr_ports = nr_ports;
    bh->host.ctx = bh;
    bh->host.mem_read = base->mem_read ? bh_mem_read : NULL;
    bh->host.mem_write = base->mem_write ? bh_mem_write : NULL;
    bh->host.irq_set_level = base->irq_set_level ? bh_irq_set_level : NULL;
    bh->host.msi_send = base->msi_send ? bh_msi_send : NULL;
    bh->host.now_ns = base->now_ns ? bh_now_ns : NULL;
    bh->host.timer_create = base->timer_create ? bh_timer_create : NULL;
    bh->host.timer_arm = base->timer_arm ? bh_timer_arm : NULL;
    bh->host.timer_disarm = base->timer_disarm ? bh_timer_disarm : NULL;
    bh->host.timer_destroy = base->timer_destroy ? bh_timer_destroy : NULL;
    bh->host.log = base->log ? bh_log : NULL;
    bh->host.backend_read = bh_backend_read;
    bh->host.backend_write = bh_backend_write;
    return 0;
}
