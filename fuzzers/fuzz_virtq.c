/* Fuzz target: the split-ring virtqueue engine on its own (no transport).
 *
 * Input: a flags byte (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bits 2-4 the
 * queue size as a power of two, 1..128), a page frame byte, then ops that
 * lay out descriptor tables, indirect tables and the avail ring in a small
 * guest RAM (64 KiB), and ops that call the engine: pop, unpop, has_work,
 * read_chain, write_chain, push, should_notify, set_kicks_wanted, setup and
 * reset. docs/fuzzing.md lists the ops.
 *
 * A reference model of the queue (docs/virtq.md's policy, written again
 * from the document) predicts every call's result: which avail entry a pop
 * takes and what it returns (the chain's segments, or the error), what the
 * used ring holds after each push, what should_notify answers and what
 * set_kicks_wanted writes. Every guest-memory write the engine makes is
 * checked at the seam: a push writes only the used ring, write_chain only
 * the writable segments of its chain, nothing else writes at all. Used
 * lengths never exceed the chain's writable bytes. The engine is not a rig
 * device, so this target cannot record a trace (docs/fuzzing.md). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_ops.h"
#include "vcon/virtq.h"

#define RAM_SIZE (64u * 1024u)
#define MAX_QSIZE 128u
#define DESC_BYTES 16u
#define PAGE 4096u

static const char *const op_names[FZV_OP_COUNT] = {
    "desc", "desc_raw", "table", "avail", "avail_idx", "avail_flags", "used_event", "mem",
    "pop", "pop_all", "read", "write", "push", "push_raw", "unpop", "has_work",
    "should_notify", "set_kicks", "setup", "reset", "chain",
};

/* What the engine may write to guest memory during the current call. */
enum write_scope {
    SCOPE_NONE,  /* no write at all */
    SCOPE_USED,  /* the used ring: flags, idx, elements, avail_event */
    SCOPE_CHAIN, /* the writable segments of `scope_chain` */
};

/* The reference model of the queue. */
struct model {
    bool ready, event_idx, indirect, broken;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t last_avail, used_idx, signalled_used;
    bool signalled_valid, unsignalled;
    bool can_unpop;
    uint16_t unpop_head;
    bool held[VCON_VIRTQ_MAX_SIZE];
    uint32_t held_in_bytes[VCON_VIRTQ_MAX_SIZE];
};

struct target {
    struct vcon_vm *vm;
    struct vcon_host inner, host;
    struct vcon_virtq vq;
    struct model m;
    uint16_t guest_avail_idx; /* the fake guest's next avail index */
    /* Chains popped and not pushed, by head. */
    struct vcon_virtq_chain *chain; /* [MAX_QSIZE] */
    struct vcon_virtq_chain scratch;
    struct vcon_virtq_chain expect;
    enum write_scope scope;
    const struct vcon_virtq_chain *scope_chain;
};

static struct target T;

/* ---- guest memory ------------------------------------------------------ */

static bool ram_has(uint64_t gpa, uint64_t len)
{
    return gpa <= RAM_SIZE && len <= RAM_SIZE - gpa;
}

static bool ram_read(uint64_t gpa, void *buf, size_t len)
{
    return vcon_vm_guest_read(T.vm, gpa, buf, len) == 0;
}

static void ram_write(uint64_t gpa, const void *buf, size_t len)
{
    (void)vcon_vm_guest_write(T.vm, gpa, buf, len);
}

static bool read16(uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];
    if (!ram_read(gpa, b, 2))
        return false;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return true;
}

static void write16(uint64_t gpa, uint16_t v)
{
    const uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    ram_write(gpa, b, 2);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static bool read_desc(uint64_t gpa, struct desc *d)
{
    uint8_t b[DESC_BYTES];
    if (!ram_read(gpa, b, sizeof(b)))
        return false;
    d->addr = (uint64_t)le32(b + 4) << 32 | le32(b);
    d->len = le32(b + 8);
    d->flags = (uint16_t)(b[12] | b[13] << 8);
    d->next = (uint16_t)(b[14] | b[15] << 8);
    return true;
}

static void write_desc(uint64_t gpa, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t b[DESC_BYTES];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(addr >> (8 * i));
    for (unsigned i = 0; i < 4; i++)
        b[8 + i] = (uint8_t)(len >> (8 * i));
    b[12] = (uint8_t)flags;
    b[13] = (uint8_t)(flags >> 8);
    b[14] = (uint8_t)next;
    b[15] = (uint8_t)(next >> 8);
    ram_write(gpa, b, sizeof(b));
}

/* ---- the seam ------------------------------------------------------------- */

static bool inside(uint64_t gpa, uint64_t len, uint64_t start, uint64_t span)
{
    return gpa >= start && len <= span && gpa - start <= span - len;
}

static int host_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    (void)ctx;
    return T.inner.mem_read(T.inner.ctx, gpa, buf, len);
}

static int host_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    (void)ctx;
    switch (T.scope) {
    case SCOPE_NONE:
        VCON_FUZZ_CHECK(false, "virtq seam: no guest-memory write outside push, pop and set_kicks");
        break;
    case SCOPE_USED:
        VCON_FUZZ_CHECK(T.m.ready &&
                            inside(gpa, len, T.m.used, 4u + 8u * (uint64_t)T.m.size + 2u),
                        "virtq seam: ring updates stay inside the used ring");
        break;
    case SCOPE_CHAIN: {
        const struct vcon_virtq_chain *c = T.scope_chain;
        bool ok = false;
        for (unsigned i = c->nr_out; i < (unsigned)c->nr_out + c->nr_in && !ok; i++)
            ok = inside(gpa, len, c->seg[i].gpa, c->seg[i].len);
        VCON_FUZZ_CHECK(ok, "virtq seam: write_chain writes only the chain's writable buffers");
        break;
    }
    }
    return T.inner.mem_write(T.inner.ctx, gpa, buf, len);
}

static uint64_t host_now_ns(void *ctx)
{
    (void)ctx;
    return vcon_vm_now(T.vm);
}

/* ---- the reference model -------------------------------------------------- */

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static void model_reset(struct model *m)
{
    memset(m, 0, sizeof(*m));
}

static void model_setup(struct model *m, uint16_t size, uint32_t pfn, bool event_idx, bool indirect)
{
    model_reset(m);
    if (pfn == 0)
        return;
    m->ready = true;
    m->size = size;
    m->event_idx = event_idx;
    m->indirect = indirect;
    m->desc = (uint64_t)pfn * PAGE;
    m->avail = m->desc + DESC_BYTES * (uint64_t)size;
    m->used = align_up(m->avail + 4u + 2u * (uint64_t)size + 2u, PAGE);
}

static void model_break(struct model *m)
{
    m->broken = true;
    m->can_unpop = false;
}

/* The chain from `head`, or the error docs/virtq.md gives for it. */
struct walk {
    struct vcon_virtq_chain *c;
    uint64_t out, in;
    unsigned nr;
    bool seen_writable;
};

static enum vcon_virtq_error add_segment(struct walk *w, const struct desc *d)
{
    const bool writable = (d->flags & VCON_VIRTQ_DESC_F_WRITE) != 0;
    if (writable)
        w->seen_writable = true;
    else if (w->seen_writable)
        return VCON_VIRTQ_ERR_DIRECTION;
    if (d->len == 0)
        return VCON_VIRTQ_ERR_NONE;
    if (writable)
        w->in += d->len;
    else
        w->out += d->len;
    if (w->in > UINT32_MAX || w->out > UINT32_MAX)
        return VCON_VIRTQ_ERR_LENGTH_OVERFLOW;
    if (w->nr >= VCON_VIRTQ_MAX_SIZE)
        return VCON_VIRTQ_ERR_TOO_MANY_SEGMENTS;
    if (d->addr > UINT64_MAX - ((uint64_t)d->len - 1))
        return VCON_VIRTQ_ERR_SEGMENT_ADDRESS;
    w->c->seg[w->nr].gpa = d->addr;
    w->c->seg[w->nr].len = d->len;
    w->nr++;
    if (writable)
        w->c->nr_in++;
    else
        w->c->nr_out++;
    return VCON_VIRTQ_ERR_NONE;
}

static enum vcon_virtq_error walk_table(struct walk *w, const struct desc *t)
{
    struct desc e;
    uint16_t index = 0;
    if (t->len == 0 || t->len % DESC_BYTES || t->len / DESC_BYTES > VCON_VIRTQ_MAX_SIZE)
        return VCON_VIRTQ_ERR_INDIRECT_LENGTH;
    const uint32_t entries = t->len / DESC_BYTES;
    if (t->addr > UINT64_MAX - ((uint64_t)t->len - 1) || !ram_has(t->addr, t->len))
        return VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
    for (uint32_t count = 1;; count++) {
        if (count > entries)
            return VCON_VIRTQ_ERR_CHAIN_LOOP;
        if (!read_desc(t->addr + (uint64_t)index * DESC_BYTES, &e))
            return VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
        if (e.flags & VCON_VIRTQ_DESC_F_INDIRECT)
            return VCON_VIRTQ_ERR_INDIRECT_NESTED;
        const enum vcon_virtq_error err = add_segment(w, &e);
        if (err != VCON_VIRTQ_ERR_NONE)
            return err;
        if (!(e.flags & VCON_VIRTQ_DESC_F_NEXT))
            return VCON_VIRTQ_ERR_NONE;
        if (e.next >= entries)
            return VCON_VIRTQ_ERR_NEXT_RANGE;
        index = e.next;
    }
}

static enum vcon_virtq_error model_walk(const struct model *m, uint16_t head,
                                        struct vcon_virtq_chain *c)
{
    struct walk w = {.c = c};
    struct desc d;
    enum vcon_virtq_error err = VCON_VIRTQ_ERR_NONE;
    uint16_t index = head;
    c->head = head;
    c->nr_out = c->nr_in = 0;
    c->out_bytes = c->in_bytes = 0;
    for (uint32_t count = 1;; count++) {
        if (count > m->size) {
            err = VCON_VIRTQ_ERR_CHAIN_LOOP;
            break;
        }
        if (!read_desc(m->desc + (uint64_t)index * DESC_BYTES, &d)) {
            err = VCON_VIRTQ_ERR_RING_ADDRESS;
            break;
        }
        if (d.flags & VCON_VIRTQ_DESC_F_INDIRECT) {
            if (!m->indirect)
                err = VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED;
            else if (d.flags & VCON_VIRTQ_DESC_F_NEXT)
                err = VCON_VIRTQ_ERR_INDIRECT_NEXT;
            else
                err = walk_table(&w, &d);
            break;
        }
        err = add_segment(&w, &d);
        if (err != VCON_VIRTQ_ERR_NONE || !(d.flags & VCON_VIRTQ_DESC_F_NEXT))
            break;
        if (d.next >= m->size) {
            err = VCON_VIRTQ_ERR_NEXT_RANGE;
            break;
        }
        index = d.next;
    }
    for (unsigned i = 0; err == VCON_VIRTQ_ERR_NONE && i < w.nr; i++)
        if (!ram_has(c->seg[i].gpa, c->seg[i].len))
            err = VCON_VIRTQ_ERR_SEGMENT_ADDRESS;
    if (err != VCON_VIRTQ_ERR_NONE) {
        c->nr_out = c->nr_in = 0;
        return err;
    }
    c->out_bytes = (uint32_t)w.out;
    c->in_bytes = (uint32_t)w.in;
    return VCON_VIRTQ_ERR_NONE;
}

/* Write a used element and publish it, as the model expects the engine to. */
static bool model_put_used(struct model *m, uint16_t head, uint32_t len)
{
    const uint64_t elem = m->used + 4u + 8u * (uint64_t)(m->used_idx & (m->size - 1u));
    if (!ram_has(elem, 8) || !ram_has(m->used + 2u, 2)) {
        model_break(m);
        return false;
    }
    uint8_t b[8];
    VCON_FUZZ_CHECK(ram_read(elem, b, 8), "virtq model: used element readable");
    VCON_FUZZ_CHECK(le32(b) == head, "virtq used ring: element id is the pushed head");
    VCON_FUZZ_CHECK(le32(b + 4) == len, "virtq used ring: element length is the clamped length");
    uint16_t idx;
    VCON_FUZZ_CHECK(read16(m->used + 2u, &idx), "virtq model: used idx readable");
    VCON_FUZZ_CHECK(idx == (uint16_t)(m->used_idx + 1u), "virtq used ring: idx published once");
    m->used_idx++;
    m->unsignalled = true;
    return true;
}

/* ---- engine calls, each checked against the model ---------------------- */

static void check_common(void)
{
    VCON_FUZZ_CHECK(T.vq.broken == T.m.broken, "virtq model: broken state agrees");
    VCON_FUZZ_CHECK(vcon_virtq_ready(&T.vq) == T.m.ready, "virtq model: ready state agrees");
    if (!T.m.ready)
        return;
    VCON_FUZZ_CHECK(T.vq.last_avail == T.m.last_avail, "virtq model: every avail entry taken once");
    VCON_FUZZ_CHECK(T.vq.used_idx == T.m.used_idx, "virtq model: used idx agrees");
    unsigned outstanding = 0;
    for (unsigned h = 0; h < T.m.size; h++) {
        VCON_FUZZ_CHECK(T.vq.head_out[h] == T.m.held[h], "virtq model: outstanding heads agree");
        outstanding += T.m.held[h];
    }
    VCON_FUZZ_CHECK(T.vq.outstanding == outstanding, "virtq model: outstanding count agrees");
}

static void do_pop(void)
{
    struct model *m = &T.m;
    enum vcon_virtq_pop_result want = VCON_VIRTQ_EMPTY;
    enum vcon_virtq_error want_err = VCON_VIRTQ_ERR_NONE;
    uint16_t head = 0, avail_idx;

    /* The model first: it reads the ring as the engine is about to. */
    if (m->broken) {
        want = VCON_VIRTQ_BROKEN;
    } else if (!m->ready) {
        want = VCON_VIRTQ_EMPTY;
    } else if (!read16(m->avail + 2u, &avail_idx)) {
        want = VCON_VIRTQ_BROKEN;
        want_err = VCON_VIRTQ_ERR_RING_ADDRESS;
    } else if ((uint16_t)(avail_idx - m->last_avail) > m->size) {
        want = VCON_VIRTQ_BROKEN;
        want_err = VCON_VIRTQ_ERR_AVAIL_JUMP;
    } else if (avail_idx == m->last_avail) {
        want = VCON_VIRTQ_EMPTY;
    } else if (!read16(m->avail + 4u + 2u * (uint64_t)(m->last_avail & (m->size - 1u)), &head)) {
        want = VCON_VIRTQ_BROKEN;
        want_err = VCON_VIRTQ_ERR_RING_ADDRESS;
    } else if (head >= m->size) {
        want = VCON_VIRTQ_BROKEN;
        want_err = VCON_VIRTQ_ERR_HEAD_RANGE;
    } else if (m->held[head]) {
        want = VCON_VIRTQ_MALFORMED;
        want_err = VCON_VIRTQ_ERR_HEAD_IN_USE;
    } else {
        want_err = model_walk(m, head, &T.expect);
        want = want_err == VCON_VIRTQ_ERR_NONE ? VCON_VIRTQ_CHAIN
               : want_err == VCON_VIRTQ_ERR_RING_ADDRESS ? VCON_VIRTQ_BROKEN
                                                          : VCON_VIRTQ_MALFORMED;
    }

    T.scope = SCOPE_USED;
    const enum vcon_virtq_pop_result got = vcon_virtq_pop(&T.vq, &T.scratch);
    T.scope = SCOPE_NONE;
    vcon_fuzz_observe_u64((uint64_t)(int64_t)got);

    /* The model's side effects. */
    if (want == VCON_VIRTQ_BROKEN && want_err != VCON_VIRTQ_ERR_NONE)
        model_break(m);
    if (want == VCON_VIRTQ_MALFORMED && want_err == VCON_VIRTQ_ERR_HEAD_IN_USE) {
        m->can_unpop = false;
        m->last_avail++;
    } else if (want == VCON_VIRTQ_MALFORMED) {
        m->can_unpop = false;
        m->last_avail++;
        /* The engine may break on an unreachable used ring: then BROKEN. */
        if (!model_put_used(m, head, 0))
            want = VCON_VIRTQ_BROKEN;
    } else if (want == VCON_VIRTQ_CHAIN) {
        m->last_avail++;
        m->held[head] = true;
        m->held_in_bytes[head] = T.expect.in_bytes;
        m->can_unpop = true;
        m->unpop_head = head;
    }

    VCON_FUZZ_CHECK(got == want, "virtq pop: result as the model predicts");
    if (want_err != VCON_VIRTQ_ERR_NONE && want != VCON_VIRTQ_BROKEN)
        VCON_FUZZ_CHECK(T.vq.last_error == want_err, "virtq pop: the error the policy names");
    if (want == VCON_VIRTQ_BROKEN && want_err != VCON_VIRTQ_ERR_NONE)
        VCON_FUZZ_CHECK(T.vq.last_error == want_err || T.vq.last_error == VCON_VIRTQ_ERR_RING_ADDRESS,
                        "virtq pop: the error that broke the queue");
    if (got == VCON_VIRTQ_MALFORMED)
        VCON_FUZZ_CHECK(T.scratch.head == head && T.scratch.nr_out == 0 && T.scratch.nr_in == 0,
                        "virtq pop: a malformed chain names its head and has no segments");
    if (got == VCON_VIRTQ_CHAIN) {
        const struct vcon_virtq_chain *c = &T.scratch;
        const unsigned nr = (unsigned)c->nr_out + c->nr_in;
        VCON_FUZZ_CHECK(c->head == head, "virtq pop: the chain's head is the avail entry");
        VCON_FUZZ_CHECK(c->nr_out == T.expect.nr_out && c->nr_in == T.expect.nr_in &&
                            c->out_bytes == T.expect.out_bytes && c->in_bytes == T.expect.in_bytes,
                        "virtq pop: chain shape as the descriptors say");
        uint64_t out = 0, in = 0;
        for (unsigned i = 0; i < nr; i++) {
            VCON_FUZZ_CHECK(c->seg[i].gpa == T.expect.seg[i].gpa &&
                                c->seg[i].len == T.expect.seg[i].len,
                            "virtq pop: segments as the descriptors say");
            VCON_FUZZ_CHECK(c->seg[i].len > 0 && ram_has(c->seg[i].gpa, c->seg[i].len),
                            "virtq pop: segments are non-empty and inside guest RAM");
            if (i < c->nr_out)
                out += c->seg[i].len;
            else
                in += c->seg[i].len;
            vcon_fuzz_observe_u64(c->seg[i].gpa);
            vcon_fuzz_observe_u64(c->seg[i].len);
        }
        VCON_FUZZ_CHECK(out == c->out_bytes && in == c->in_bytes, "virtq pop: byte totals add up");
        /* Keep it by head for read, write and push. */
        struct vcon_virtq_chain *keep = &T.chain[head];
        keep->head = c->head;
        keep->nr_out = c->nr_out;
        keep->nr_in = c->nr_in;
        keep->out_bytes = c->out_bytes;
        keep->in_bytes = c->in_bytes;
        memcpy(keep->seg, c->seg, nr * sizeof(c->seg[0]));
    }
    check_common();
}

static int held_by_slot(uint8_t slot)
{
    unsigned n = 0;
    for (unsigned h = 0; h < T.m.size; h++)
        n += T.m.held[h];
    if (n == 0)
        return -1;
    unsigned k = slot % n;
    for (unsigned h = 0; h < T.m.size; h++)
        if (T.m.held[h] && k-- == 0)
            return (int)h;
    return -1;
}

/* Bytes `offset`.. of one side of a chain, as guest RAM holds them now. */
static uint32_t model_copy(const struct vcon_virtq_chain *c, bool writable, uint32_t offset,
                           uint8_t *buf, uint32_t len)
{
    const unsigned first = writable ? c->nr_out : 0u;
    const unsigned end = writable ? (unsigned)c->nr_out + c->nr_in : c->nr_out;
    uint32_t done = 0;
    for (unsigned i = first; i < end && done < len; i++) {
        if (offset >= c->seg[i].len) {
            offset -= c->seg[i].len;
            continue;
        }
        uint32_t n = c->seg[i].len - offset;
        if (n > len - done)
            n = len - done;
        VCON_FUZZ_CHECK(ram_read(c->seg[i].gpa + offset, buf + done, n), "virtq model: segment readable");
        done += n;
        offset = 0;
    }
    return done;
}

static uint8_t copy_buf[2][65536];

static void do_read(uint8_t slot, uint16_t offset, uint16_t len)
{
    const int head = held_by_slot(slot);
    if (head < 0)
        return;
    const struct vcon_virtq_chain *c = &T.chain[head];
    const uint32_t want = model_copy(c, false, offset, copy_buf[0], len);
    T.scope = SCOPE_NONE;
    const int got = vcon_virtq_read_chain(&T.vq, c, offset, copy_buf[1], len);
    VCON_FUZZ_CHECK(got == (int)want, "virtq read_chain: copies min(len, readable bytes after offset)");
    VCON_FUZZ_CHECK(memcmp(copy_buf[0], copy_buf[1], want) == 0,
                    "virtq read_chain: the bytes the readable segments hold, in order");
    vcon_fuzz_observe(copy_buf[1], want);
}

static void do_write(uint8_t slot, uint16_t offset, uint16_t len, uint8_t fill)
{
    const int head = held_by_slot(slot);
    if (head < 0)
        return;
    const struct vcon_virtq_chain *c = &T.chain[head];
    for (uint32_t i = 0; i < len; i++)
        copy_buf[0][i] = (uint8_t)(fill + i);
    T.scope = SCOPE_CHAIN;
    T.scope_chain = c;
    const int got = vcon_virtq_write_chain(&T.vq, c, offset, copy_buf[0], len);
    T.scope = SCOPE_NONE;
    const uint32_t room = offset < c->in_bytes ? c->in_bytes - offset : 0u;
    const uint32_t want = len < room ? len : room;
    VCON_FUZZ_CHECK(got == (int)want, "virtq write_chain: copies min(len, writable bytes after offset)");
    /* Read back through the segments (they may overlap: compare only when
     * they do not alias one another, which is the common case). */
    bool overlap = false;
    for (unsigned i = c->nr_out; i < (unsigned)c->nr_out + c->nr_in && !overlap; i++)
        for (unsigned j = i + 1; j < (unsigned)c->nr_out + c->nr_in && !overlap; j++)
            overlap = c->seg[i].gpa < c->seg[j].gpa + c->seg[j].len &&
                      c->seg[j].gpa < c->seg[i].gpa + c->seg[i].len;
    if (!overlap) {
        (void)model_copy(c, true, offset, copy_buf[1], want);
        VCON_FUZZ_CHECK(memcmp(copy_buf[0], copy_buf[1], want) == 0,
                        "virtq write_chain: the bytes land in the writable segments, in order");
    }
    vcon_fuzz_observe_u64((uint64_t)(int64_t)got);
}

static void do_push(uint16_t head, uint32_t used_len)
{
    struct model *m = &T.m;
    int want;
    uint32_t len = used_len;
    if (m->broken)
        want = -EIO;
    else if (!m->ready || head >= m->size || !m->held[head])
        want = -EINVAL;
    else
        want = 0;
    T.scope = SCOPE_USED;
    const int got = vcon_virtq_push(&T.vq, head, used_len);
    T.scope = SCOPE_NONE;
    if (want == 0) {
        if (len > m->held_in_bytes[head])
            len = m->held_in_bytes[head];
        m->held[head] = false;
        if (m->can_unpop && m->unpop_head == head)
            m->can_unpop = false;
        if (!model_put_used(m, head, len))
            want = -EIO;
        VCON_FUZZ_CHECK(len <= T.chain[head].in_bytes, "virtq push: used length fits the buffer");
    }
    VCON_FUZZ_CHECK(got == want, "virtq push: result as the model predicts");
    vcon_fuzz_observe_u64((uint64_t)(int64_t)got);
    check_common();
}

static void do_unpop(void)
{
    struct model *m = &T.m;
    T.scope = SCOPE_NONE;
    vcon_virtq_unpop(&T.vq);
    if (m->can_unpop && !m->broken) {
        m->can_unpop = false;
        m->last_avail--;
        m->held[m->unpop_head] = false;
    }
    check_common();
}

static void do_has_work(void)
{
    struct model *m = &T.m;
    bool want = false;
    uint16_t idx;
    if (!m->broken && m->ready) {
        if (!read16(m->avail + 2u, &idx))
            model_break(m);
        else if ((uint16_t)(idx - m->last_avail) > m->size)
            model_break(m);
        else
            want = idx != m->last_avail;
    }
    T.scope = SCOPE_NONE;
    const bool got = vcon_virtq_has_work(&T.vq);
    VCON_FUZZ_CHECK(got == want, "virtq has_work: as the avail ring says");
    vcon_fuzz_observe_u64(got);
    check_common();
}

static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1u) < (uint16_t)(new_idx - old_idx);
}

static void do_should_notify(void)
{
    struct model *m = &T.m;
    bool want = false;
    if (!m->broken && m->ready && m->unsignalled) {
        m->unsignalled = false;
        uint16_t v;
        if (m->event_idx) {
            if (!read16(m->avail + 4u + 2u * (uint64_t)m->size, &v)) {
                model_break(m);
            } else {
                const uint16_t old = m->signalled_used;
                const bool valid = m->signalled_valid;
                m->signalled_used = m->used_idx;
                m->signalled_valid = true;
                want = !valid || need_event(v, m->used_idx, old);
            }
        } else if (!read16(m->avail, &v)) {
            model_break(m);
        } else {
            want = (v & VCON_VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
    }
    T.scope = SCOPE_NONE;
    const bool got = vcon_virtq_should_notify(&T.vq);
    VCON_FUZZ_CHECK(got == want, "virtq should_notify: the suppression rules");
    vcon_fuzz_observe_u64(got);
    check_common();
}

static void do_set_kicks(bool wanted)
{
    struct model *m = &T.m;
    uint64_t where = 0;
    uint16_t value = 0;
    bool writes = false;
    if (!m->broken && m->ready) {
        if (m->event_idx) {
            writes = wanted;
            where = m->used + 4u + 8u * (uint64_t)m->size;
            value = m->last_avail;
        } else {
            writes = true;
            where = m->used;
            value = wanted ? 0u : VCON_VIRTQ_USED_F_NO_NOTIFY;
        }
        if (writes && !ram_has(where, 2)) {
            model_break(m);
            writes = false;
        }
    }
    T.scope = SCOPE_USED;
    vcon_virtq_set_kicks_wanted(&T.vq, wanted);
    T.scope = SCOPE_NONE;
    if (writes) {
        uint16_t v;
        VCON_FUZZ_CHECK(read16(where, &v) && v == value,
                        "virtq set_kicks_wanted: used flags or avail_event as asked");
    }
    check_common();
}

static void do_setup(uint8_t flags, uint8_t pfn_byte)
{
    const uint16_t size = (uint16_t)(1u << ((flags >> 2) & 7u));
    const uint32_t pfn = pfn_byte % (RAM_SIZE / PAGE + 2u); /* 0 resets; the last ones fall outside RAM */
    const bool event_idx = flags & 1u, indirect = (flags & 2u) != 0;
    const int rc = vcon_virtq_setup_legacy(&T.vq, &T.host, size, pfn, event_idx, indirect);
    VCON_FUZZ_CHECK(rc == 0, "virtq setup: a valid size is accepted");
    model_setup(&T.m, size, pfn, event_idx, indirect);
    T.guest_avail_idx = 0;
    check_common();
}

/* The fake guest posting `head`. */
static void post(uint16_t head)
{
    if (!T.m.ready)
        return;
    write16(T.m.avail + 4u + 2u * (uint64_t)(T.guest_avail_idx & (T.m.size - 1u)), head);
    T.guest_avail_idx++;
    write16(T.m.avail + 2u, T.guest_avail_idx);
}

static bool run_op(struct vcon_fuzz_in *in, unsigned op)
{
    uint8_t a, b, c, d;
    uint16_t w0, w1, w2;
    uint32_t v32;
    uint64_t v64;
    const uint8_t *bytes;
    const uint16_t size = T.m.ready ? T.m.size : 1u;

    switch (op) {
    case FZV_DESC:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u16(in, &w1) ||
            !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u8(in, &c))
            return false;
        if (T.m.ready)
            write_desc(T.m.desc + DESC_BYTES * (uint64_t)(a % size), w0, w1, b, c);
        return true;
    case FZV_DESC_RAW:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u64(in, &v64) || !vcon_fuzz_u32(in, &v32) ||
            !vcon_fuzz_u16(in, &w1) || !vcon_fuzz_u16(in, &w2))
            return false;
        if (T.m.ready)
            write_desc(T.m.desc + DESC_BYTES * (uint64_t)(w0 % size), v64, v32, w1, w2);
        return true;
    case FZV_TABLE:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w1) ||
            !vcon_fuzz_u16(in, &w2) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u8(in, &c))
            return false;
        write_desc((uint64_t)(w0 & ~15u) + DESC_BYTES * (uint64_t)a, w1, w2, b, c);
        return true;
    case FZV_AVAIL:
        if (!vcon_fuzz_u16(in, &w0))
            return false;
        post(w0);
        return true;
    case FZV_AVAIL_IDX:
        if (!vcon_fuzz_u16(in, &w0))
            return false;
        if (T.m.ready) {
            T.guest_avail_idx = w0;
            write16(T.m.avail + 2u, w0);
        }
        return true;
    case FZV_AVAIL_FLAGS:
        if (!vcon_fuzz_u16(in, &w0))
            return false;
        if (T.m.ready)
            write16(T.m.avail, w0);
        return true;
    case FZV_USED_EVENT:
        if (!vcon_fuzz_u16(in, &w0))
            return false;
        if (T.m.ready)
            write16(T.m.avail + 4u + 2u * (uint64_t)T.m.size, w0);
        return true;
    case FZV_MEM: {
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u8(in, &a))
            return false;
        const size_t n = vcon_fuzz_bytes(in, a, &bytes);
        ram_write(w0, bytes, n);
        return n == a;
    }
    case FZV_POP:
        do_pop();
        return true;
    case FZV_POP_ALL:
        for (unsigned i = 0; i <= MAX_QSIZE; i++) {
            const uint16_t before = T.m.last_avail;
            do_pop();
            if (T.m.last_avail == before)
                break;
        }
        return true;
    case FZV_READ:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u16(in, &w1))
            return false;
        do_read(a, w0, w1);
        return true;
    case FZV_WRITE:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u16(in, &w1) ||
            !vcon_fuzz_u8(in, &b))
            return false;
        do_write(a, w0, w1, b);
        return true;
    case FZV_PUSH: {
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u32(in, &v32))
            return false;
        const int head = held_by_slot(a);
        if (head >= 0)
            do_push((uint16_t)head, v32);
        return true;
    }
    case FZV_PUSH_RAW:
        if (!vcon_fuzz_u16(in, &w0) || !vcon_fuzz_u32(in, &v32))
            return false;
        do_push(w0, v32);
        return true;
    case FZV_UNPOP:
        do_unpop();
        return true;
    case FZV_HAS_WORK:
        do_has_work();
        return true;
    case FZV_SHOULD_NOTIFY:
        do_should_notify();
        return true;
    case FZV_SET_KICKS:
        if (!vcon_fuzz_u8(in, &a))
            return false;
        do_set_kicks(a & 1u);
        return true;
    case FZV_SETUP:
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b))
            return false;
        do_setup(a, b);
        return true;
    case FZV_RESET:
        vcon_virtq_reset(&T.vq);
        model_reset(&T.m);
        check_common();
        return true;
    case FZV_CHAIN: {
        /* `count` descriptors from `head`, linked in order, the last
         * `writable` of them device-writable, `len` bytes each, in the
         * buffer area after the rings; then posted. */
        if (!vcon_fuzz_u8(in, &a) || !vcon_fuzz_u8(in, &b) || !vcon_fuzz_u8(in, &c) ||
            !vcon_fuzz_u8(in, &d))
            return false;
        if (!T.m.ready)
            return true;
        const unsigned count = 1u + b % size;
        const uint16_t head = (uint16_t)(a % size);
        const uint32_t len = 1u + d;
        for (unsigned i = 0; i < count; i++) {
            const uint16_t index = (uint16_t)((head + i) % size);
            const uint16_t flags = (uint16_t)((i + 1 < count ? VCON_VIRTQ_DESC_F_NEXT : 0u) |
                                              (i + (c % (count + 1u)) >= count
                                                   ? VCON_VIRTQ_DESC_F_WRITE
                                                   : 0u));
            const uint64_t buf = 0x8000u + ((uint64_t)index * 256u) % 0x7F00u;
            write_desc(T.m.desc + DESC_BYTES * (uint64_t)index, buf, len, flags,
                       (uint16_t)((index + 1u) % size));
        }
        post(head);
        return true;
    }
    default:
        return false;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcon_fuzz_in in = vcon_fuzz_in_init(data, size);
    uint8_t flags = 0, pfn = 0;

    vcon_fuzz_begin();
    vcon_fuzz_set_target("virtq");
    if (T.vm == NULL) {
        VCON_FUZZ_CHECK(vcon_vm_create(RAM_SIZE, &T.vm) == 0, "harness: VM created");
        VCON_FUZZ_CHECK(vcon_vm_bind_device(T.vm, 0, &T.inner, NULL) == 0, "harness: host bound");
        T.host = T.inner;
        T.host.mem_read = host_mem_read;
        T.host.mem_write = host_mem_write;
        T.host.now_ns = host_now_ns;
        /* The queue's log budget is cleared with it for every input, and
         * the clock starts at 0 again: every input has the whole budget. */
        T.host.log = vcon_fuzz_log_sink;
        static struct vcon_virtq_chain chains[MAX_QSIZE];
        T.chain = chains;
    } else {
        vcon_vm_clear_dirty(T.vm);
        VCON_FUZZ_CHECK(vcon_vm_reset_run(T.vm) == 0, "harness: VM run reset");
    }
    memset(&T.vq, 0, sizeof(T.vq));
    model_reset(&T.m);
    T.scope = SCOPE_NONE;
    T.guest_avail_idx = 0;

    /* A short input still sets a queue up (flags and page 0): libFuzzer
     * started with no corpus gives up if its first, empty input reaches
     * no instrumented code. */
    (void)vcon_fuzz_u8(&in, &flags);
    (void)vcon_fuzz_u8(&in, &pfn);
    do_setup(flags, (uint8_t)(1u + pfn % (RAM_SIZE / PAGE - 1u)));

    for (size_t index = 0; in.left > 0; index++) {
        uint8_t opcode;
        if (!vcon_fuzz_u8(&in, &opcode))
            break;
        const unsigned op = opcode % FZV_OP_COUNT;
        vcon_fuzz_set_op(index, op_names[op]);
        if (!run_op(&in, op))
            break;
    }
    vcon_fuzz_set_op(0, "(end)");
    vcon_fuzz_observe_u64(T.vq.used_idx);
    vcon_fuzz_observe_u64(T.vq.last_avail);
    vcon_fuzz_observe(&T.vq.stats, sizeof(T.vq.stats));
    return 0;
}
