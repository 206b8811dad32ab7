/* The split-ring virtqueue engine (virtio 1.x section 2.7, legacy layout).
 * Everything in the ring is guest-controlled: every index, address, length
 * and flag is checked before use, and guest memory is reached only through
 * the host interface, one copy per access. docs/virtq.md gives the policy
 * for each malformed-ring case. */
#ifndef VCON_VIRTQ_H
#define VCON_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vcon/host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VCON_VIRTQ_DESC_F_NEXT 1u
#define VCON_VIRTQ_DESC_F_WRITE 2u
#define VCON_VIRTQ_DESC_F_INDIRECT 4u
#define VCON_VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VCON_VIRTQ_USED_F_NO_NOTIFY 1u

#define VCON_VIRTIO_F_NOTIFY_ON_EMPTY 24
#define VCON_VIRTIO_F_RING_INDIRECT_DESC 28
#define VCON_VIRTIO_F_RING_EVENT_IDX 29

/* Legacy queues are laid out from a page frame number, 4096-byte aligned. */
#define VCON_VIRTQ_LEGACY_ALIGN 4096u
/* The largest queue this engine accepts (the legacy limit is 32768; a
 * console never needs more). A chain holds at most this many segments. */
#define VCON_VIRTQ_MAX_SIZE 1024u

struct vcon_virtq_segment {
    uint64_t gpa;
    uint32_t len;
};

/* One descriptor chain taken from the avail ring. Device-readable segments
 * come first (out), then device-writable ones (in). */
struct vcon_virtq_chain {
    uint16_t head;
    uint16_t nr_out, nr_in;
    uint32_t out_bytes, in_bytes;
    struct vcon_virtq_segment seg[VCON_VIRTQ_MAX_SIZE];
};

struct vcon_virtq_stats {
    uint64_t chains;           /* chains taken */
    uint64_t malformed_chains; /* returned with used length 0 */
    uint64_t broken;           /* times the queue was stopped */
    uint64_t notifications;    /* interrupts the device asked for */
};

struct vcon_virtq {
    const struct vcon_host *host;
    uint16_t size;          /* 0: not set up */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;    /* next avail ring slot to take */
    uint16_t used_idx;      /* the device's copy of used->idx */
    uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
    bool signalled_valid;
    bool event_idx;         /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool broken;            /* stopped until reset: see docs/virtq.md */
    struct vcon_virtq_stats stats;
};

/* Results of vcon_virtq_pop(). */
enum vcon_virtq_pop_result {
    VCON_VIRTQ_EMPTY = 0,     /* nothing new in the avail ring */
    VCON_VIRTQ_CHAIN = 1,     /* *chain holds a valid chain */
    VCON_VIRTQ_MALFORMED = 2, /* a bad chain was returned with used length 0 */
    VCON_VIRTQ_BROKEN = -1,   /* the queue is stopped until reset */
};

/* Lay the queue out from a legacy page frame number. size must be a power
 * of two, 1..VCON_VIRTQ_MAX_SIZE, and the whole ring must lie inside guest
 * RAM (checked lazily on access: the host refuses addresses outside RAM).
 * Returns 0 or -EINVAL. pfn 0 resets the queue. */
int vcon_virtq_setup_legacy(struct vcon_virtq *vq, const struct vcon_host *host, uint16_t size,
                            uint32_t pfn, bool event_idx, bool indirect);
void vcon_virtq_reset(struct vcon_virtq *vq);
bool vcon_virtq_ready(const struct vcon_virtq *vq);

/* Byte size of the legacy ring for `size` entries (for guest drivers). */
uint64_t vcon_virtq_legacy_bytes(uint16_t size);

/* Take the next chain. Never returns a chain twice. */
enum vcon_virtq_pop_result vcon_virtq_pop(struct vcon_virtq *vq, struct vcon_virtq_chain *chain);
/* Put a chain taken with pop back at the front of the avail side, untouched,
 * so the next pop returns it again (used when the device has nothing to
 * put in it yet). Only the last popped chain can be returned. */
void vcon_virtq_unpop(struct vcon_virtq *vq);
/* Are there chains not yet taken? (false when broken) */
bool vcon_virtq_has_work(struct vcon_virtq *vq);

/* Copy between a chain and a buffer; offset counts from the first
 * device-readable (read) or device-writable (write) byte. Return the number
 * of bytes copied, or -EFAULT if guest memory refused the access. */
int vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                          uint32_t offset, void *buf, uint32_t len);
int vcon_virtq_write_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                           uint32_t offset, const void *buf, uint32_t len);

/* Return a chain to the used ring. used_len is clamped to the chain's
 * writable bytes. Returns 0, or -EIO if the used ring is unreachable (the
 * queue is then broken). */
int vcon_virtq_push(struct vcon_virtq *vq, uint16_t head, uint32_t used_len);

/* After one or more pushes: does the driver want an interrupt now?
 * (VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX.) */
bool vcon_virtq_should_notify(struct vcon_virtq *vq);

/* Tell the driver whether the device wants kicks (USED_F_NO_NOTIFY, or
 * avail_event with EVENT_IDX). */
void vcon_virtq_set_kicks_wanted(struct vcon_virtq *vq, bool wanted);

#ifdef __cplusplus
}
#endif
#endif
