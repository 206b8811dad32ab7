/* Copies between a chain's segments and a device buffer: one host copy
 * per segment piece, never a pointer into guest RAM. */
#include <errno.h>
#include <limits.h>

#include "virtq_internal.h"

/* Exactly one of `from` (device buffer to guest) and `to` (guest to device
 * buffer) is used. */
static int copy_chain(const struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                      uint32_t offset, const uint8_t *from, uint8_t *to, uint32_t len)
{
    const bool to_guest = from != NULL;
    const struct vcon_host *host;
    unsigned first, end;
    uint32_t done = 0;

    if (vq == NULL || vq->host == NULL || chain == NULL)
        return -EINVAL;
    /* The chain is the caller's struct: do not trust its counts. */
    if ((unsigned)chain->nr_out + chain->nr_in > VCON_VIRTQ_MAX_SIZE)
        return -EINVAL;
    host = vq->host;
    first = to_guest ? chain->nr_out : 0u;
    end = to_guest ? (unsigned)chain->nr_out + chain->nr_in : chain->nr_out;
    if (len > INT_MAX)
        len = INT_MAX;
    for (unsigned i = first; i < end && done < len; i++) {
        const struct vcon_virtq_segment *seg = &chain->seg[i];
        uint32_t n;
        int rc;
        if (offset >= seg->len) {
            offset -= seg->len;
            continue;
        }
        n = seg->len - offset;
        if (n > len - done)
            n = len - done;
        if (seg->gpa > UINT64_MAX - offset || seg->gpa + offset > UINT64_MAX - (n - 1u))
            return -EFAULT; /* a chain pop never returns */
        if (to_guest)
            rc = host->mem_write(host->ctx, seg->gpa + offset, from + done, n);
        else
            rc = host->mem_read(host->ctx, seg->gpa + offset, to + done, n);
        if (rc != 0)
            return -EFAULT;
        done += n;
        offset = 0;
    }
    return (int)done;
}

int vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                          uint32_t offset, void *buf, uint32_t len)
{
    if (buf == NULL)
        return len == 0 ? 0 : -EINVAL;
    return copy_chain(vq, chain, offset, NULL, buf, len);
}

int vcon_virtq_write_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                           uint32_t offset, const void *buf, uint32_t len)
{
    if (buf == NULL)
        return len == 0 ? 0 : -EINVAL;
    return copy_chain(vq, chain, offset, buf, NULL, len);
}
