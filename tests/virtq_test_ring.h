/* Shared fixture for the virtqueue tests: a fake VM whose RAM is filled
 * with a pattern, a legacy split ring laid out in it, helpers that play the
 * driver (raw descriptors, avail entries, suppression fields) and a shadow
 * copy of RAM that holds what every byte should be. The device may change
 * RAM only where a test first told the shadow to expect it, so
 * vt_check_ram() catches any stray write. Guest memory accesses go through
 * a wrapping host that counts them and, with police_writes set, refuses and
 * counts device writes outside the allowed ranges (the used ring and what
 * the test allows with vt_allow()).
 *
 * Header-only (tests/CMakeLists.txt builds one executable per
 * tests/test_*.c), so everything is static inline. */
#ifndef VCON_TESTS_VIRTQ_TEST_RING_H
#define VCON_TESTS_VIRTQ_TEST_RING_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/vm.h"
#include "vcon/virtq.h"

#define VT_PAGE 4096u
#define VT_RING_PFN 1u /* the ring starts at 0x1000 */
#define VT_MAX_ALLOWED 2048u

struct vt_range {
    uint64_t gpa, len;
};

struct vt {
    struct vcon_vm *vm;
    struct vcon_host real; /* the VM's host for this device */
    struct vcon_host host; /* wraps `real`; what the queue gets */
    struct vcon_virtq *vq;
    struct vcon_virtq_chain *chain;
    size_t ram_size;
    uint8_t *shadow;  /* what guest RAM should hold */
    uint8_t *scratch; /* RAM read back for comparison */

    /* Queue layout, as the driver computes it. */
    uint16_t size;
    uint64_t desc, avail, used;
    /* Driver state. */
    uint16_t avail_idx; /* next avail->idx to publish */
    uint16_t used_seen; /* used->idx the shadow expects */

    /* Accounting in the wrapping host. */
    uint64_t device_reads, device_writes;
    bool police_writes;    /* refuse device writes outside the allowed ranges */
    uint64_t stray_writes; /* ... and count them */
    struct vt_range allowed[VT_MAX_ALLOWED];
    unsigned nr_allowed;
};

/* ---- the wrapping host -------------------------------------------------- */

static inline bool vt_range_inside(uint64_t gpa, uint64_t len, uint64_t base, uint64_t size)
{
    return gpa >= base && gpa - base <= size && len <= size - (gpa - base);
}

static inline uint64_t vt_used_bytes(uint16_t size)
{
    return 4u + 8u * (uint64_t)size + 2u;
}

static inline bool vt_write_allowed(const struct vt *t, uint64_t gpa, uint64_t len)
{
    if (t->size != 0 && vt_range_inside(gpa, len, t->used, vt_used_bytes(t->size)))
        return true;
    for (unsigned i = 0; i < t->nr_allowed; i++)
        if (vt_range_inside(gpa, len, t->allowed[i].gpa, t->allowed[i].len))
            return true;
    return false;
}

static inline int vt_host_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct vt *t = ctx;
    t->device_reads++;
    return t->real.mem_read(t->real.ctx, gpa, buf, len);
}

static inline int vt_host_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct vt *t = ctx;
    t->device_writes++;
    if (t->police_writes && !vt_write_allowed(t, gpa, len)) {
        /* Refused, so the shadow comparison stays meaningful too. */
        t->stray_writes++;
        return -EFAULT;
    }
    return t->real.mem_write(t->real.ctx, gpa, buf, len);
}

static inline void vt_host_log(void *ctx, enum vcon_log_level level, const char *message)
{
    struct vt *t = ctx;
    t->real.log(t->real.ctx, level, message);
}

static inline uint64_t vt_host_now(void *ctx)
{
    struct vt *t = ctx;
    return t->real.now_ns(t->real.ctx);
}

static inline void vt_allow_clear(struct vt *t)
{
    t->nr_allowed = 0;
}

static inline void vt_allow(struct vt *t, uint64_t gpa, uint64_t len)
{
    assert_true(t->nr_allowed < VT_MAX_ALLOWED);
    t->allowed[t->nr_allowed].gpa = gpa;
    t->allowed[t->nr_allowed].len = len;
    t->nr_allowed++;
}

/* ---- RAM and the shadow ------------------------------------------------- */

static inline uint8_t vt_pattern(uint64_t gpa)
{
    /* Never a plausible ring value pattern: changes every byte. */
    return (uint8_t)(0xA5u ^ (gpa * 131u) ^ (gpa >> 8));
}

/* The fake guest writes RAM: the shadow follows. */
static inline void vt_gwrite(struct vt *t, uint64_t gpa, const void *buf, size_t len)
{
    assert_int_equal(vcon_vm_guest_write(t->vm, gpa, buf, len), 0);
    memcpy(t->shadow + gpa, buf, len);
}

/* The test expects the device to write these bytes: only the shadow. */
static inline void vt_expect_bytes(struct vt *t, uint64_t gpa, const void *buf, size_t len)
{
    assert_true(gpa <= t->ram_size && len <= t->ram_size - gpa);
    memcpy(t->shadow + gpa, buf, len);
}

static inline void vt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void vt_put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void vt_put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t vt_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vt_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void vt_gwrite16(struct vt *t, uint64_t gpa, uint16_t v)
{
    uint8_t raw[2];
    vt_put16(raw, v);
    vt_gwrite(t, gpa, raw, sizeof(raw));
}

static inline uint16_t vt_ram16(struct vt *t, uint64_t gpa)
{
    uint8_t raw[2];
    assert_int_equal(vcon_vm_guest_read(t->vm, gpa, raw, sizeof(raw)), 0);
    return vt_get16(raw);
}

static inline uint32_t vt_ram32(struct vt *t, uint64_t gpa)
{
    uint8_t raw[4];
    assert_int_equal(vcon_vm_guest_read(t->vm, gpa, raw, sizeof(raw)), 0);
    return vt_get32(raw);
}

/* Guest RAM must equal the shadow, byte for byte. */
static inline void vt_check_ram_at(struct vt *t, const char *file, int line)
{
    assert_int_equal(vcon_vm_guest_read(t->vm, 0, t->scratch, t->ram_size), 0);
    if (memcmp(t->scratch, t->shadow, t->ram_size) == 0)
        return;
    for (size_t i = 0; i < t->ram_size; i++) {
        if (t->scratch[i] != t->shadow[i]) {
            print_error("%s:%d: guest RAM differs from the shadow at 0x%zx: 0x%02x, expected "
                        "0x%02x\n",
                        file, line, i, t->scratch[i], t->shadow[i]);
            break;
        }
    }
    fail();
}
#define vt_check_ram(t) vt_check_ram_at((t), __FILE__, __LINE__)

/* ---- creation ---------------------------------------------------------- */

static inline struct vt *vt_new(size_t ram_size)
{
    struct vt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    assert_int_equal(vcon_vm_create(ram_size, &t->vm), 0);
    assert_int_equal(vcon_vm_bind_device(t->vm, 0, &t->real, NULL), 0);
    t->host = t->real;
    t->host.ctx = t;
    t->host.mem_read = vt_host_read;
    t->host.mem_write = vt_host_write;
    t->host.log = vt_host_log;
    t->host.now_ns = vt_host_now;
    t->ram_size = ram_size;
    t->vq = calloc(1, sizeof(*t->vq));
    t->chain = calloc(1, sizeof(*t->chain));
    t->shadow = malloc(ram_size);
    t->scratch = malloc(ram_size);
    assert_non_null(t->vq);
    assert_non_null(t->chain);
    assert_non_null(t->shadow);
    assert_non_null(t->scratch);
    for (size_t i = 0; i < ram_size; i++)
        t->shadow[i] = vt_pattern(i);
    assert_int_equal(vcon_vm_guest_write(t->vm, 0, t->shadow, ram_size), 0);
    return t;
}

static inline void vt_free(struct vt *t)
{
    if (t == NULL)
        return;
    vcon_vm_destroy(t->vm);
    free(t->vq);
    free(t->chain);
    free(t->shadow);
    free(t->scratch);
    free(t);
}

/* Lay out a ring of `size` entries at VT_RING_PFN, zeroed as a legacy
 * driver does, and set the queue up on it. */
static inline void vt_queue_at(struct vt *t, uint16_t size, uint32_t pfn, bool event_idx,
                               bool indirect)
{
    const uint64_t base = (uint64_t)pfn * VT_PAGE;
    const uint64_t bytes = vcon_virtq_legacy_bytes(size);
    t->size = size;
    t->desc = base;
    t->avail = base + 16u * (uint64_t)size;
    t->used = (t->avail + 6u + 2u * (uint64_t)size + VT_PAGE - 1) & ~(uint64_t)(VT_PAGE - 1);
    t->avail_idx = 0;
    t->used_seen = 0;
    if (base < t->ram_size) {
        const uint64_t n = bytes < t->ram_size - base ? bytes : t->ram_size - base;
        uint8_t *zero = calloc(1, n);
        assert_non_null(zero);
        vt_gwrite(t, base, zero, n);
        free(zero);
    }
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, size, pfn, event_idx, indirect), 0);
}

static inline void vt_queue(struct vt *t, uint16_t size, bool event_idx, bool indirect)
{
    vt_queue_at(t, size, VT_RING_PFN, event_idx, indirect);
}

/* ---- the driver ------------------------------------------------------- */

static inline void vt_desc_at(struct vt *t, uint64_t gpa, uint64_t addr, uint32_t len,
                              uint16_t flags, uint16_t next)
{
    uint8_t raw[16];
    vt_put64(raw, addr);
    vt_put32(raw + 8, len);
    vt_put16(raw + 12, flags);
    vt_put16(raw + 14, next);
    vt_gwrite(t, gpa, raw, sizeof(raw));
}

/* Descriptor `index` of the queue's table. */
static inline void vt_desc(struct vt *t, uint16_t index, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next)
{
    vt_desc_at(t, t->desc + 16u * (uint64_t)index, addr, len, flags, next);
}

static inline void vt_set_avail_idx(struct vt *t, uint16_t idx)
{
    t->avail_idx = idx;
    vt_gwrite16(t, t->avail + 2u, idx);
}

/* Put `head` in the next avail slot and publish it. */
static inline void vt_post(struct vt *t, uint16_t head)
{
    vt_gwrite16(t, t->avail + 4u + 2u * (uint64_t)(t->avail_idx & (t->size - 1u)), head);
    vt_set_avail_idx(t, (uint16_t)(t->avail_idx + 1u));
}

static inline void vt_set_avail_flags(struct vt *t, uint16_t flags)
{
    vt_gwrite16(t, t->avail, flags);
}

static inline void vt_set_used_event(struct vt *t, uint16_t idx)
{
    vt_gwrite16(t, t->avail + 4u + 2u * (uint64_t)t->size, idx);
}

static inline uint16_t vt_used_flags(struct vt *t)
{
    return vt_ram16(t, t->used);
}

static inline uint16_t vt_used_idx(struct vt *t)
{
    return vt_ram16(t, t->used + 2u);
}

static inline uint16_t vt_avail_event(struct vt *t)
{
    return vt_ram16(t, t->used + 4u + 8u * (uint64_t)t->size);
}

/* The used element in slot `slot` (an index, taken mod size). */
static inline void vt_used_elem(struct vt *t, uint16_t index, uint32_t *id, uint32_t *len)
{
    const uint64_t gpa = t->used + 4u + 8u * (uint64_t)(index & (t->size - 1u));
    *id = vt_ram32(t, gpa);
    *len = vt_ram32(t, gpa + 4u);
}

/* The shadow expects the device to complete `head` with `len`. */
static inline void vt_expect_used(struct vt *t, uint16_t head, uint32_t len)
{
    uint8_t elem[8], idx[2];
    vt_put32(elem, head);
    vt_put32(elem + 4, len);
    vt_expect_bytes(t, t->used + 4u + 8u * (uint64_t)(t->used_seen & (t->size - 1u)), elem,
                    sizeof(elem));
    t->used_seen++;
    vt_put16(idx, t->used_seen);
    vt_expect_bytes(t, t->used + 2u, idx, sizeof(idx));
}

/* The shadow expects used->flags / avail_event to be written. */
static inline void vt_expect_used_flags(struct vt *t, uint16_t flags)
{
    uint8_t raw[2];
    vt_put16(raw, flags);
    vt_expect_bytes(t, t->used, raw, sizeof(raw));
}

static inline void vt_expect_avail_event(struct vt *t, uint16_t idx)
{
    uint8_t raw[2];
    vt_put16(raw, idx);
    vt_expect_bytes(t, t->used + 4u + 8u * (uint64_t)t->size, raw, sizeof(raw));
}

/* Apply to the shadow what vcon_virtq_write_chain(chain, offset, buf, len)
 * must do, from the test's own reading of the segments. */
static inline void vt_expect_chain_write(struct vt *t, const struct vcon_virtq_chain *chain,
                                         uint32_t offset, const uint8_t *buf, uint32_t len)
{
    uint32_t done = 0;
    for (unsigned i = chain->nr_out; i < (unsigned)chain->nr_out + chain->nr_in && done < len;
         i++) {
        const struct vcon_virtq_segment *seg = &chain->seg[i];
        if (offset >= seg->len) {
            offset -= seg->len;
            continue;
        }
        uint32_t n = seg->len - offset;
        if (n > len - done)
            n = len - done;
        vt_expect_bytes(t, seg->gpa + offset, buf + done, n);
        done += n;
        offset = 0;
    }
}

#endif
