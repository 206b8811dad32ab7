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

/* Why the last guest error happened (vcon_virtq.last_error); for logs and
 * tests. docs/virtq.md gives the policy for each. */
enum vcon_virtq_error {
    VCON_VIRTQ_ERR_NONE = 0,
    /* Chain errors: the chain is returned with used length 0. */
    VCON_VIRTQ_ERR_CHAIN_LOOP,        /* more descriptors than the queue / table holds */
    VCON_VIRTQ_ERR_NEXT_RANGE,        /* a next index outside the queue / table */
    VCON_VIRTQ_ERR_SEGMENT_ADDRESS,   /* gpa + len wraps, or outside guest RAM */
    VCON_VIRTQ_ERR_LENGTH_OVERFLOW,   /* readable or writable total over UINT32_MAX */
    VCON_VIRTQ_ERR_DIRECTION,         /* device-readable after device-writable */
    VCON_VIRTQ_ERR_TOO_MANY_SEGMENTS, /* more than VCON_VIRTQ_MAX_SIZE segments */
    VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED,
    VCON_VIRTQ_ERR_INDIRECT_LENGTH,   /* 0, not a multiple of 16, or too many entries */
    VCON_VIRTQ_ERR_INDIRECT_NEXT,     /* INDIRECT together with NEXT */
    VCON_VIRTQ_ERR_INDIRECT_NESTED,   /* INDIRECT inside an indirect table */
    VCON_VIRTQ_ERR_INDIRECT_ADDRESS,  /* table wraps or lies outside guest RAM */
    /* An avail entry naming a head the device still holds: dropped. */
    VCON_VIRTQ_ERR_HEAD_IN_USE,
    /* Queue errors: the queue is broken until reset or setup. */
    VCON_VIRTQ_ERR_HEAD_RANGE,        /* avail ring entry >= queue size */
    VCON_VIRTQ_ERR_AVAIL_JUMP,        /* avail idx more than size ahead */
    VCON_VIRTQ_ERR_RING_ADDRESS,      /* a ring part outside guest RAM */
};

struct vcon_virtq_stats {
    uint64_t chains;           /* chains handed to the device (an unpopped one counts once) */
    uint64_t malformed_chains; /* returned with used length 0 */
    uint64_t heads_in_use;     /* avail entries dropped: head still held by the device */
    uint64_t broken;           /* times the queue was stopped */
    uint64_t bad_pushes;       /* pushes of a head that was not outstanding */
    uint64_t notifications;    /* interrupts the device asked for */
    uint64_t notifications_suppressed; /* should_notify said no to new pushes */
};

/* A zero-filled struct is a valid queue that is not set up. Stats survive
 * reset and setup; everything else is the queue's own business. */
struct vcon_virtq {
    const struct vcon_host *host;
    uint16_t size;          /* 0: not set up */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;    /* next avail ring slot to take */
    uint16_t used_idx;      /* the device's copy of used->idx */
    uint16_t signalled_used; /* used_idx at the last should_notify (EVENT_IDX) */
    bool signalled_valid;
    bool unsignalled;       /* pushes since the last vcon_virtq_should_notify() */
    bool event_idx;         /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool broken;            /* stopped until reset: see docs/virtq.md */
    bool can_unpop;         /* the last pop handed out unpop_head, not pushed yet */
    uint16_t unpop_head;
    enum vcon_virtq_error last_error;
    struct vcon_virtq_stats stats;
    /* Heads handed out by pop and not pushed yet, with their writable
     * bytes: push clamps to them and refuses any other head. */
    uint16_t outstanding;
    /* vcon_virtq_reset() zeroes every member above head_out and only the
     * first `size` entries of head_out: new state goes above it. */
    bool head_out[VCON_VIRTQ_MAX_SIZE];
    uint32_t head_in_bytes[VCON_VIRTQ_MAX_SIZE];
    /* Rate limit for guest-error log lines (per second of virtual time). */
    struct vcon_log_budget log_budget;
};

/* Results of vcon_virtq_pop(). */
enum vcon_virtq_pop_result {
    VCON_VIRTQ_EMPTY = 0,     /* nothing new in the avail ring */
    VCON_VIRTQ_CHAIN = 1,     /* *chain holds a valid chain */
    VCON_VIRTQ_MALFORMED = 2, /* a bad chain was returned with used length 0 */
    VCON_VIRTQ_BROKEN = -1,   /* the queue is stopped until reset */
};

/* Lay the queue out from a legacy page frame number (pfn * 4096, in 64
 * bits). size must be a power of two, 1..VCON_VIRTQ_MAX_SIZE, and the whole
 * ring must lie inside guest RAM (checked lazily on access: a ring access
 * the host refuses breaks the queue). Returns 0 or -EINVAL (bad size, host
 * without mem_read/mem_write; the queue is then reset). pfn 0 resets the
 * queue and returns 0. */
int vcon_virtq_setup_legacy(struct vcon_virtq *vq, const struct vcon_host *host, uint16_t size,
                            uint32_t pfn, bool event_idx, bool indirect);
/* Back to "not set up", keeping the host, the counters and the log budget.
 * The queue must be zero-filled (calloc, static storage, memset) or reset
 * before its first use: the reset clears only what its size covers. */
void vcon_virtq_reset(struct vcon_virtq *vq);
bool vcon_virtq_ready(const struct vcon_virtq *vq);

/* Byte size of the legacy ring for `size` entries (for guest drivers). */
uint64_t vcon_virtq_legacy_bytes(uint16_t size);

/* Take the next chain. Never returns a chain twice, and advances past each
 * avail entry exactly once. EMPTY also when the queue is not set up.
 * MALFORMED: an avail entry was consumed but the device gets nothing
 * (chain->head says which; no segments): the chain went back to the used
 * ring with used length 0, or (VCON_VIRTQ_ERR_HEAD_IN_USE) the entry named
 * a head the device still holds and was dropped. A returned chain's
 * segments are non-empty, never wrap around 2^64, and had their first and
 * last byte accepted by host->mem_read. */
enum vcon_virtq_pop_result vcon_virtq_pop(struct vcon_virtq *vq, struct vcon_virtq_chain *chain);
/* Put a chain taken with pop back at the front of the avail side, untouched,
 * so the next pop returns it again (used when the device has nothing to
 * put in it yet). Only the last popped chain can be returned, and only
 * before it is pushed or another entry is popped; otherwise a no-op. */
void vcon_virtq_unpop(struct vcon_virtq *vq);
/* Are there chains not yet taken? (false when broken or not set up; an
 * avail idx jump or an unreadable avail ring breaks the queue here too.) */
bool vcon_virtq_has_work(struct vcon_virtq *vq);

/* Copy between a chain and a buffer; offset counts from the first
 * device-readable (read) or device-writable (write) byte. Copies
 * min(len, bytes after offset), len above INT_MAX counting as INT_MAX.
 * Return the number of bytes copied, -EFAULT if guest memory refused an
 * access (bytes before it may have been copied), or -EINVAL for a chain
 * whose counts are impossible. */
int vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                          uint32_t offset, void *buf, uint32_t len);
int vcon_virtq_write_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                           uint32_t offset, const void *buf, uint32_t len);

/* Return a chain to the used ring. used_len is clamped to the chain's
 * writable bytes. Returns 0; -EINVAL if head is not outstanding (never
 * handed out by pop, or already pushed; counted in stats.bad_pushes); or
 * -EIO if the queue is broken or the used ring is unreachable (the queue is
 * then broken). */
int vcon_virtq_push(struct vcon_virtq *vq, uint16_t head, uint32_t used_len);

/* After one or more pushes: does the driver want an interrupt now?
 * No when nothing was pushed since the previous call (pop's returns of
 * malformed chains count as pushes), when broken or not set up. Otherwise,
 * without EVENT_IDX: yes unless avail->flags has
 * VRING_AVAIL_F_NO_INTERRUPT; with EVENT_IDX: the spec's
 * vring_need_event(used_event, used idx now, used idx at the previous
 * call), and yes on the first call after setup. */
bool vcon_virtq_should_notify(struct vcon_virtq *vq);

/* Tell the driver whether the device wants kicks. Without EVENT_IDX:
 * used->flags = wanted ? 0 : USED_F_NO_NOTIFY. With EVENT_IDX: wanted
 * writes avail_event = last_avail (kick when anything past what the device
 * took arrives); !wanted writes nothing (a stale avail_event costs at most
 * one kick, and rewriting it would race with the driver). After asking for
 * kicks, check vcon_virtq_has_work() again: the driver may have posted
 * before it saw the change. */
void vcon_virtq_set_kicks_wanted(struct vcon_virtq *vq, bool wanted);

#ifdef __cplusplus
}
#endif
#endif
