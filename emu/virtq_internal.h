/* The virtqueue engine's private helpers, shared by the emu/virtq*.c files:
 * little-endian field access, memory fences, the legacy ring layout and
 * the error paths. */
#ifndef VCON_EMU_VIRTQ_INTERNAL_H
#define VCON_EMU_VIRTQ_INTERNAL_H

#include <stdint.h>

#include "vcon/virtq.h"

/* Ring fields are little-endian whatever the host is; they are assembled
 * byte by byte so that no host byte order or alignment is assumed. */
static inline uint16_t virtq_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t virtq_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t virtq_le64(const uint8_t *p)
{
    return (uint64_t)virtq_le32(p) | ((uint64_t)virtq_le32(p + 4) << 32);
}

static inline void virtq_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void virtq_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The driver runs concurrently with the device in a real device model, so
 * the ring protocol needs the spec's barriers between the host's copies:
 * acquire after reading avail->idx, release before publishing used->idx,
 * and a full fence between publishing and reading the driver's suppression
 * fields (or between asking for kicks and looking for work again). */
#ifndef __STDC_NO_ATOMICS__
#include <stdatomic.h>
#define VIRTQ_FENCE_ACQUIRE() atomic_thread_fence(memory_order_acquire)
#define VIRTQ_FENCE_RELEASE() atomic_thread_fence(memory_order_release)
#define VIRTQ_FENCE_FULL() atomic_thread_fence(memory_order_seq_cst)
#else
#define VIRTQ_FENCE_ACQUIRE() ((void)0)
#define VIRTQ_FENCE_RELEASE() ((void)0)
#define VIRTQ_FENCE_FULL() ((void)0)
#endif

/* Legacy layout (virtio 0.9.5 / 1.x 2.7 "legacy interfaces"). */
#define VIRTQ_DESC_BYTES 16u
#define VIRTQ_USED_ELEM_BYTES 8u
#define VIRTQ_AVAIL_FLAGS 0u /* offsets in the avail ring */
#define VIRTQ_AVAIL_IDX 2u
#define VIRTQ_AVAIL_RING 4u
#define VIRTQ_USED_FLAGS 0u /* offsets in the used ring */
#define VIRTQ_USED_IDX 2u
#define VIRTQ_USED_RING 4u

/* One descriptor as read from guest memory, already converted. */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Read one 16-byte descriptor at gpa in one copy. 0 or -EFAULT. */
int virtq_read_desc(const struct vcon_virtq *vq, uint64_t gpa, struct virtq_desc *desc);

/* Walk and validate the chain that starts at descriptor `head` (< size),
 * filling *chain. Returns VCON_VIRTQ_ERR_NONE, a chain error, or
 * VCON_VIRTQ_ERR_RING_ADDRESS when the descriptor table is unreachable. */
enum vcon_virtq_error virtq_walk_chain(struct vcon_virtq *vq, uint16_t head,
                                       struct vcon_virtq_chain *chain);

/* Note a guest error: last_error, and a rate-limited log line. */
void virtq_note_error(struct vcon_virtq *vq, enum vcon_virtq_error err, uint16_t head);

#endif
