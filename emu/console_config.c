/* Feature negotiation and the 12-byte configuration space:
 *   0 le16 cols, 2 le16 rows, 4 le32 max_nr_ports, 8 le32 emerg_wr.
 * Reads of 1, 2 or 4 bytes anywhere inside it; the only writable field is
 * emerg_wr, whose low byte goes to port 0's backend. */
#include <errno.h>

#include "console_internal.h"

uint32_t console_host_features(void *device)
{
    const struct vcon_console *c = device;
    uint32_t f = 1u << VCON_CONSOLE_F_SIZE | 1u << VCON_CONSOLE_F_EMERG_WRITE |
                 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC | 1u << VCON_VIRTIO_F_RING_EVENT_IDX;
    if (!c->config.no_multiport)
        f |= 1u << VCON_CONSOLE_F_MULTIPORT;
    return f;
}

void console_set_features(void *device, uint32_t features)
{
    struct vcon_console *c = device;
    c->features = features & console_host_features(c);
}

unsigned console_config_size(void *device)
{
    (void)device;
    return VCON_CONSOLE_CFG_SIZE;
}

static bool access_ok(unsigned offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && offset < VCON_CONSOLE_CFG_SIZE &&
           size <= VCON_CONSOLE_CFG_SIZE - offset;
}

int console_config_read(void *device, unsigned offset, unsigned size, uint32_t *value)
{
    const struct vcon_console *c = device;
    uint8_t cfg[VCON_CONSOLE_CFG_SIZE] = {
        (uint8_t)c->cols,
        (uint8_t)(c->cols >> 8),
        (uint8_t)c->rows,
        (uint8_t)(c->rows >> 8),
        (uint8_t)c->config.max_ports,
        (uint8_t)(c->config.max_ports >> 8),
        (uint8_t)(c->config.max_ports >> 16),
        (uint8_t)(c->config.max_ports >> 24),
        0, 0, 0, 0, /* emerg_wr reads as 0 */
    };
    uint32_t v = 0;
    if (!access_ok(offset, size)) {
        *value = UINT32_MAX;
        return -EINVAL;
    }
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)cfg[offset + i] << (8 * i);
    *value = v;
    return 0;
}

static void emergency_write(struct vcon_console *c, uint8_t ch)
{
    /* Best effort, as the guest expects from an emergency path: a byte the
     * backend cannot take now is dropped, never queued. */
    int n = c->host.backend_write(c->host.ctx, 0, &ch, 1);
    /* More than 1 is a host bug; the byte went, as the data path reads
     * such a count. */
    if (n >= 1) {
        c->stats.emerg_bytes++;
    } else {
        c->stats.emerg_dropped++;
        console_log(c, VCON_LOG_WARN, "virtio-console: emergency write dropped by port 0");
    }
}

int console_config_write(void *device, unsigned offset, unsigned size, uint32_t value)
{
    struct vcon_console *c = device;
    if (!access_ok(offset, size))
        return -EINVAL;
    if (offset < VCON_CONSOLE_CFG_EMERG_WR) {
        c->stats.config_ignored_writes++;
        console_log(c, VCON_LOG_WARN, "virtio-console: write to read-only config ignored");
        return 0;
    }
    /* A legacy Linux driver writes emerg_wr one byte at a time: the byte at
     * offset 8 is the character, offsets 9..11 are its zero upper bytes. */
    if (offset == VCON_CONSOLE_CFG_EMERG_WR)
        emergency_write(c, (uint8_t)value);
    return 0;
}
