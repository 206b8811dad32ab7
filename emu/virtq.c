/* The split-ring virtqueue: layout, taking chains from the avail ring,
 * returning them to the used ring, and notification suppression in both
 * directions. Chain validation is in virtq_chain.c, copies in virtq_copy.c;
 * docs/virtq.md gives the policy for every malformed-ring case. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log_budget.h"
#include "virtq_internal.h"


static const char *error_text(enum vcon_virtq_error err)
{
    switch (err) {
    case VCON_VIRTQ_ERR_NONE:
        return "no error";
    case VCON_VIRTQ_ERR_CHAIN_LOOP:
        return "descriptor chain loops or is longer than its table";
    case VCON_VIRTQ_ERR_NEXT_RANGE:
        return "next index out of range";
    case VCON_VIRTQ_ERR_SEGMENT_ADDRESS:
        return "buffer outside guest RAM";
    case VCON_VIRTQ_ERR_LENGTH_OVERFLOW:
        return "chain length over 4 GiB";
    case VCON_VIRTQ_ERR_DIRECTION:
        return "device-readable descriptor after a writable one";
    case VCON_VIRTQ_ERR_TOO_MANY_SEGMENTS:
        return "too many segments";
    case VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED:
        return "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC";
    case VCON_VIRTQ_ERR_INDIRECT_LENGTH:
        return "bad indirect table length";
    case VCON_VIRTQ_ERR_INDIRECT_NEXT:
        return "indirect descriptor with NEXT";
    case VCON_VIRTQ_ERR_INDIRECT_NESTED:
        return "nested indirect table";
    case VCON_VIRTQ_ERR_INDIRECT_ADDRESS:
        return "indirect table outside guest RAM";
    case VCON_VIRTQ_ERR_HEAD_IN_USE:
        return "avail entry names a head the device holds";
    case VCON_VIRTQ_ERR_HEAD_RANGE:
        return "head index out of range; queue stopped";
    case VCON_VIRTQ_ERR_AVAIL_JUMP:
        return "avail index jumped past the queue size; queue stopped";
    case VCON_VIRTQ_ERR_RING_ADDRESS:
        return "ring outside guest RAM; queue stopped";
    }
    return "unknown error";
}

void virtq_note_error(struct vcon_virtq *vq, enum vcon_virtq_error err, uint16_t head)
{
    const struct vcon_host *host = vq->host;
    char message[128];
    vq->last_error = err;
    /* A guest can post a bad chain per kick: format only what the log
     * budget lets through. */
    if (!vcon_log_budget_take(host, &vq->log_budget))
        return;
    snprintf(message, sizeof(message), "virtq: %s (head %u)", error_text(err), (unsigned)head);
    host->log(host->ctx, VCON_LOG_WARN, message);
}

/* Stop the queue until reset or setup. */
static void virtq_break(struct vcon_virtq *vq, enum vcon_virtq_error err, uint16_t head)
{
    if (!vq->broken) {
        vq->broken = true;
        vq->stats.broken++;
    }
    vq->can_unpop = false;
    virtq_note_error(vq, err, head);
}

static int read_le16(const struct vcon_virtq *vq, uint64_t gpa, uint16_t *value)
{
    uint8_t raw[2];
    if (vq->host->mem_read(vq->host->ctx, gpa, raw, sizeof(raw)) != 0)
        return -EFAULT;
    *value = virtq_le16(raw);
    return 0;
}

static int write_le16(const struct vcon_virtq *vq, uint64_t gpa, uint16_t value)
{
    uint8_t raw[2];
    virtq_put_le16(raw, value);
    return vq->host->mem_write(vq->host->ctx, gpa, raw, sizeof(raw)) != 0 ? -EFAULT : 0;
}

static uint16_t ring_slot(const struct vcon_virtq *vq, uint16_t index)
{
    return (uint16_t)(index & (vq->size - 1u)); /* size is a power of two */
}

static uint64_t avail_entry_gpa(const struct vcon_virtq *vq, uint16_t index)
{
    return vq->avail_gpa + VIRTQ_AVAIL_RING + 2u * (uint64_t)ring_slot(vq, index);
}

static uint64_t used_event_gpa(const struct vcon_virtq *vq)
{
    return vq->avail_gpa + VIRTQ_AVAIL_RING + 2u * (uint64_t)vq->size;
}

static uint64_t avail_event_gpa(const struct vcon_virtq *vq)
{
    return vq->used_gpa + VIRTQ_USED_RING + VIRTQ_USED_ELEM_BYTES * (uint64_t)vq->size;
}

static uint64_t align_up(uint64_t value, uint64_t align)
{
    return (value + align - 1) & ~(align - 1);
}

uint64_t vcon_virtq_legacy_bytes(uint16_t size)
{
    const uint64_t n = size;
    const uint64_t avail_end = VIRTQ_DESC_BYTES * n + VIRTQ_AVAIL_RING + 2u * n + 2u;
    return align_up(avail_end, VCON_VIRTQ_LEGACY_ALIGN) + VIRTQ_USED_RING +
           VIRTQ_USED_ELEM_BYTES * n + 2u;
}

/* Nothing but the log budget may follow the arrays, or the reset would
 * leave it as it was. */
_Static_assert(offsetof(struct vcon_virtq, log_budget) - offsetof(struct vcon_virtq, head_in_bytes) -
                       sizeof(((struct vcon_virtq *)0)->head_in_bytes) <
                   _Alignof(struct vcon_log_budget),
               "vcon_virtq: only the log budget between head_in_bytes and the end");
_Static_assert(sizeof(struct vcon_virtq) - offsetof(struct vcon_virtq, log_budget) -
                       sizeof(struct vcon_log_budget) <
                   _Alignof(struct vcon_virtq),
               "vcon_virtq: the log budget is the last member");

/* Pop hands out only heads below the queue's size, so clearing head_out up
 * to the size clears every entry that can be set, and head_in_bytes is
 * never read without its head_out entry. Clearing both whole arrays cost
 * every reset some 5 KiB of stores per queue (over 300 KiB for a
 * transport's 64 queues, on each status write of 0 by the guest) and made
 * those pages resident. The log budget, after the arrays, is kept as it is. */
void vcon_virtq_reset(struct vcon_virtq *vq)
{
    const struct vcon_host *host = vq->host;
    const struct vcon_virtq_stats stats = vq->stats;
    const size_t live = vq->size < VCON_VIRTQ_MAX_SIZE ? vq->size : VCON_VIRTQ_MAX_SIZE;

    memset(vq->head_out, 0, live * sizeof(vq->head_out[0]));
    memset(vq, 0, offsetof(struct vcon_virtq, head_out));
    vq->host = host;
    vq->stats = stats;
}

int vcon_virtq_setup_legacy(struct vcon_virtq *vq, const struct vcon_host *host, uint16_t size,
                            uint32_t pfn, bool event_idx, bool indirect)
{
    vcon_virtq_reset(vq);
    if (pfn == 0)
        return 0;
    if (host == NULL || host->mem_read == NULL || host->mem_write == NULL)
        return -EINVAL;
    if (size == 0 || size > VCON_VIRTQ_MAX_SIZE || (size & (size - 1u)) != 0)
        return -EINVAL;
    vq->host = host;
    vq->size = size;
    vq->desc_gpa = (uint64_t)pfn * VCON_VIRTQ_LEGACY_ALIGN;
    vq->avail_gpa = vq->desc_gpa + VIRTQ_DESC_BYTES * (uint64_t)size;
    vq->used_gpa = align_up(used_event_gpa(vq) + 2u, VCON_VIRTQ_LEGACY_ALIGN);
    vq->event_idx = event_idx;
    vq->indirect = indirect;
    return 0;
}

bool vcon_virtq_ready(const struct vcon_virtq *vq)
{
    return vq->size != 0;
}

/* How many avail entries wait, or -1 after breaking the queue. */
static int pending_entries(struct vcon_virtq *vq)
{
    uint16_t avail_idx, pending;
    if (read_le16(vq, vq->avail_gpa + VIRTQ_AVAIL_IDX, &avail_idx) != 0) {
        virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, 0);
        return -1;
    }
    pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending > vq->size) {
        virtq_break(vq, VCON_VIRTQ_ERR_AVAIL_JUMP, 0);
        return -1;
    }
    return pending;
}

/* Write one used element and publish it. 0, or -EIO after breaking. */
static int put_used(struct vcon_virtq *vq, uint16_t head, uint32_t len)
{
    uint8_t elem[VIRTQ_USED_ELEM_BYTES];
    const uint64_t gpa = vq->used_gpa + VIRTQ_USED_RING +
                         VIRTQ_USED_ELEM_BYTES * (uint64_t)ring_slot(vq, vq->used_idx);

    virtq_put_le32(elem, head);
    virtq_put_le32(elem + 4, len);
    if (vq->host->mem_write(vq->host->ctx, gpa, elem, sizeof(elem)) != 0) {
        virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, head);
        return -EIO;
    }
    VIRTQ_FENCE_RELEASE(); /* the element before the index that publishes it */
    if (write_le16(vq, vq->used_gpa + VIRTQ_USED_IDX, (uint16_t)(vq->used_idx + 1u)) != 0) {
        virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, head);
        return -EIO;
    }
    vq->used_idx++;
    vq->unsignalled = true;
    return 0;
}

enum vcon_virtq_pop_result vcon_virtq_pop(struct vcon_virtq *vq, struct vcon_virtq_chain *chain)
{
    enum vcon_virtq_error err;
    uint16_t head;
    int pending;

    if (vq->broken)
        return VCON_VIRTQ_BROKEN;
    if (vq->size == 0)
        return VCON_VIRTQ_EMPTY;
    pending = pending_entries(vq);
    if (pending < 0)
        return VCON_VIRTQ_BROKEN;
    if (pending == 0)
        return VCON_VIRTQ_EMPTY;
    VIRTQ_FENCE_ACQUIRE(); /* avail->idx before the entries it covers */
    if (read_le16(vq, avail_entry_gpa(vq, vq->last_avail), &head) != 0) {
        virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, 0);
        return VCON_VIRTQ_BROKEN;
    }
    /* A head out of range cannot even be returned: the used ring would
     * carry an id the driver never posted. */
    if (head >= vq->size) {
        virtq_break(vq, VCON_VIRTQ_ERR_HEAD_RANGE, head);
        return VCON_VIRTQ_BROKEN;
    }
    vq->can_unpop = false;
    chain->head = head;
    chain->nr_out = 0;
    chain->nr_in = 0;
    chain->out_bytes = 0;
    chain->in_bytes = 0;
    if (vq->head_out[head]) {
        /* The device holds this head and will push it once; answering
         * this entry too would complete the head twice. */
        vq->last_avail++;
        vq->stats.heads_in_use++;
        virtq_note_error(vq, VCON_VIRTQ_ERR_HEAD_IN_USE, head);
        return VCON_VIRTQ_MALFORMED;
    }
    err = virtq_walk_chain(vq, head, chain);
    if (err == VCON_VIRTQ_ERR_RING_ADDRESS) {
        virtq_break(vq, err, head);
        return VCON_VIRTQ_BROKEN;
    }
    vq->last_avail++;
    if (err != VCON_VIRTQ_ERR_NONE) {
        vq->stats.malformed_chains++;
        virtq_note_error(vq, err, head);
        return put_used(vq, head, 0) == 0 ? VCON_VIRTQ_MALFORMED : VCON_VIRTQ_BROKEN;
    }
    vq->head_out[head] = true;
    vq->head_in_bytes[head] = chain->in_bytes;
    vq->outstanding++;
    vq->stats.chains++;
    vq->can_unpop = true;
    vq->unpop_head = head;
    return VCON_VIRTQ_CHAIN;
}

void vcon_virtq_unpop(struct vcon_virtq *vq)
{
    if (!vq->can_unpop || vq->broken)
        return;
    vq->can_unpop = false;
    vq->last_avail--;
    vq->head_out[vq->unpop_head] = false;
    vq->outstanding--;
    vq->stats.chains--;
}

bool vcon_virtq_has_work(struct vcon_virtq *vq)
{
    if (vq->broken || vq->size == 0)
        return false;
    return pending_entries(vq) > 0;
}

int vcon_virtq_push(struct vcon_virtq *vq, uint16_t head, uint32_t used_len)
{
    if (vq->broken)
        return -EIO;
    if (vq->size == 0 || head >= vq->size || !vq->head_out[head]) {
        vq->stats.bad_pushes++;
        return -EINVAL;
    }
    if (used_len > vq->head_in_bytes[head])
        used_len = vq->head_in_bytes[head];
    vq->head_out[head] = false;
    vq->outstanding--;
    if (vq->can_unpop && vq->unpop_head == head)
        vq->can_unpop = false;
    return put_used(vq, head, used_len);
}

/* virtio 1.x 2.7.7.2: has the index passed event since old, mod 2^16? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1u) < (uint16_t)(new_idx - old_idx);
}

bool vcon_virtq_should_notify(struct vcon_virtq *vq)
{
    bool notify;

    /* Each push is answered once: a repeated question gets no. */
    if (vq->broken || vq->size == 0 || !vq->unsignalled)
        return false;
    vq->unsignalled = false;
    VIRTQ_FENCE_FULL(); /* used->idx out before the driver's fields are read */
    if (vq->event_idx) {
        const uint16_t old = vq->signalled_used;
        const bool valid = vq->signalled_valid;
        uint16_t used_event;
        if (read_le16(vq, used_event_gpa(vq), &used_event) != 0) {
            virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, 0);
            return false;
        }
        vq->signalled_used = vq->used_idx;
        vq->signalled_valid = true;
        notify = !valid || need_event(used_event, vq->used_idx, old);
    } else {
        uint16_t flags;
        if (read_le16(vq, vq->avail_gpa + VIRTQ_AVAIL_FLAGS, &flags) != 0) {
            virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, 0);
            return false;
        }
        notify = (flags & VCON_VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }
    if (notify)
        vq->stats.notifications++;
    else
        vq->stats.notifications_suppressed++;
    return notify;
}

void vcon_virtq_set_kicks_wanted(struct vcon_virtq *vq, bool wanted)
{
    int rc;

    if (vq->broken || vq->size == 0)
        return;
    if (vq->event_idx) {
        if (!wanted)
            return;
        rc = write_le16(vq, avail_event_gpa(vq), vq->last_avail);
    } else {
        rc = write_le16(vq, vq->used_gpa + VIRTQ_USED_FLAGS,
                        (uint16_t)(wanted ? 0u : VCON_VIRTQ_USED_F_NO_NOTIFY));
    }
    if (rc != 0) {
        virtq_break(vq, VCON_VIRTQ_ERR_RING_ADDRESS, 0);
        return;
    }
    VIRTQ_FENCE_FULL(); /* the request out before the caller looks for work */
}
