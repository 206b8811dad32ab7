/* A seeded, deterministic random test of the virtqueue engine. A fake
 * driver posts chains (mostly valid, some malformed in a way whose outcome
 * is known, some with random descriptor fields), and the device pops,
 * unpops, partly fills, reads, pushes, asks about notifications and kicks,
 * all in random order. After every operation:
 *   - guest RAM equals the shadow: nothing outside the used ring and the
 *     buffers of chains the device got is ever written, and those only
 *     with what the test wrote (tests/virtq_test_ring.h);
 *   - the used index advanced by exactly the completions made (pushes and
 *     malformed returns), and every used length is at most the chain's
 *     writable bytes;
 *   - a head is handed out at most once until pushed, and pushed once;
 *   - a pop reads a bounded number of times from guest memory.
 * Several seeds run 25000 operations each; one seed runs twice and must
 * leave identical RAM and statistics. */
#include "virtq_test_ring.h"

#define RAM 0x8000u
#define TABLES 0x3000u /* one indirect table slot per head */
#define TABLE_SLOT 128u
#define TABLE_MAX 8u /* entries in a driver-built table */
/* Buffers, at the end of RAM: a buffer that runs past it is refused, never
 * reaches anything else. */
#define DATA 0x5000u
#define DATA_SIZE (RAM - DATA)
#define MAX_QSIZE 64u
#define CHAIN_MAX 8u                        /* descriptors in a driver-built direct chain */
#define HELD_SEG (MAX_QSIZE + TABLE_MAX + 1u) /* the most segments a pop can give here */
#define OPS_PER_SEED 25000u

enum kind {
    K_VALID,     /* must come back as this exact chain */
    K_MALFORMED, /* must be returned with used length 0 for `err` */
    K_UNCERTAIN, /* random fields: either, but never broken */
};

struct expect {
    uint16_t head;
    enum kind kind;
    enum vcon_virtq_error err;
    uint16_t nr_out, nr_seg;
    uint32_t out_bytes, in_bytes;
    struct vcon_virtq_segment seg[CHAIN_MAX + TABLE_MAX];
};

struct held {
    bool held;
    uint16_t nr_out, nr_in;
    uint32_t out_bytes, in_bytes;
    struct vcon_virtq_segment seg[HELD_SEG];
};

struct live {
    bool live;        /* posted and not seen in the used ring yet */
    bool popped;      /* no longer in the avail ring */
    bool valid;       /* driver-built valid chain: writable known */
    uint32_t writable;
    uint16_t nr_desc;
    uint16_t desc[CHAIN_MAX];
};

struct model {
    struct vt *t;
    uint64_t rng;
    uint16_t size;
    bool event_idx, indirect;
    /* driver */
    bool desc_busy[MAX_QSIZE];
    unsigned nr_free;
    struct live live[MAX_QSIZE];
    uint16_t used_harvested;
    struct expect fifo[MAX_QSIZE]; /* posted, not popped, oldest first */
    unsigned fifo_len;
    /* device */
    struct held held[MAX_QSIZE];
    unsigned nr_held;
    uint16_t taken; /* avail entries consumed: the device's last_avail */
    bool can_unpop;
    struct expect unpop_entry;
    /* notification reference */
    bool unsignalled, signalled_valid;
    uint16_t signalled;
    /* what happened, to show the run covered everything */
    uint64_t n_chain, n_malformed, n_uncertain_chain, n_uncertain_malformed, n_in_use,
        n_broken, n_push, n_bad_push, n_unpop, n_notify;
};

/* ---- random numbers --------------------------------------------------- */

static uint64_t next_rand(struct model *m)
{
    uint64_t x = m->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    m->rng = x;
    return x;
}

static uint32_t rnd(struct model *m, uint32_t n) /* 0 .. n-1 */
{
    return n ? (uint32_t)(next_rand(m) % n) : 0;
}

static bool chance(struct model *m, unsigned percent)
{
    return rnd(m, 100) < percent;
}

/* An address the host refuses: past RAM, or near the top so that gpa + len
 * wraps. Never inside RAM, so random chains cannot aim at the ring. */
static uint64_t wild_address(struct model *m)
{
    switch (rnd(m, 3)) {
    case 0:
        return RAM + rnd(m, 0x100000);
    case 1:
        return UINT64_MAX - rnd(m, 64);
    default:
        return ((uint64_t)rnd(m, 0xFFFFFFFFu) << 32) + RAM;
    }
}

/* ---- queue (re)start ---------------------------------------------------- */

static void start_queue(struct model *m)
{
    static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 32, 64 };
    struct vt *t = m->t;
    m->size = sizes[rnd(m, sizeof(sizes) / sizeof(sizes[0]))];
    m->event_idx = chance(m, 50);
    m->indirect = chance(m, 70);
    vt_queue(t, m->size, m->event_idx, m->indirect);
    memset(m->desc_busy, 0, sizeof(m->desc_busy));
    memset(m->live, 0, sizeof(m->live));
    memset(m->held, 0, sizeof(m->held));
    m->nr_free = m->size;
    m->used_harvested = 0;
    m->fifo_len = 0;
    m->nr_held = 0;
    m->taken = 0;
    m->can_unpop = false;
    m->unsignalled = false;
    m->signalled_valid = false;
    m->signalled = 0;
}

/* ---- the driver ------------------------------------------------------- */

static uint16_t alloc_desc(struct model *m)
{
    uint16_t i = (uint16_t)rnd(m, m->size);
    assert_true(m->nr_free > 0);
    while (m->desc_busy[i])
        i = (uint16_t)((i + 1u) % m->size);
    m->desc_busy[i] = true;
    m->nr_free--;
    return i;
}

struct draft {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* n valid buffer descriptors, the first `readable` device-readable. */
static void draft_buffers(struct model *m, struct draft *d, unsigned n, unsigned readable)
{
    for (unsigned i = 0; i < n; i++) {
        d[i].len = chance(m, 10) ? 0 : 1 + rnd(m, 512);
        d[i].addr = DATA + rnd(m, DATA_SIZE - d[i].len + 1);
        d[i].flags = i < readable ? 0 : VCON_VIRTQ_DESC_F_WRITE;
        d[i].next = 0;
    }
}

static void expect_segments(struct expect *e, const struct draft *d, unsigned n)
{
    e->nr_out = 0;
    e->nr_seg = 0;
    e->out_bytes = 0;
    e->in_bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        if (d[i].len == 0)
            continue;
        e->seg[e->nr_seg].gpa = d[i].addr;
        e->seg[e->nr_seg].len = d[i].len;
        e->nr_seg++;
        if (d[i].flags & VCON_VIRTQ_DESC_F_WRITE) {
            e->in_bytes += d[i].len;
        } else {
            e->nr_out++;
            e->out_bytes += d[i].len;
        }
    }
}

/* Write drafts as a direct chain through freshly allocated descriptors,
 * linked in order; returns the head. */
static uint16_t write_direct(struct model *m, struct draft *d, unsigned n, uint16_t *idx)
{
    for (unsigned i = 0; i < n; i++)
        idx[i] = alloc_desc(m);
    for (unsigned i = 0; i + 1 < n; i++) {
        d[i].flags |= VCON_VIRTQ_DESC_F_NEXT;
        d[i].next = idx[i + 1];
    }
    for (unsigned i = 0; i < n; i++)
        vt_desc(m->t, idx[i], d[i].addr, d[i].len, d[i].flags, d[i].next);
    return idx[0];
}

/* Table positions for a chain of n entries: scrambled, except that the
 * chain starts at entry 0 as the spec requires. */
static void table_positions(struct model *m, uint16_t *pos, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        pos[i] = (uint16_t)i;
    for (unsigned i = n - 1; i > 1; i--) {
        const unsigned j = 1 + rnd(m, i);
        const uint16_t tmp = pos[i];
        pos[i] = pos[j];
        pos[j] = tmp;
    }
}

/* Write drafts as the table of `head`, chain entry i at table position
 * pos[i], linking them unless keep_links. */
static void write_table(struct model *m, uint16_t head, struct draft *d, unsigned n,
                        const uint16_t *pos, bool keep_links)
{
    const uint64_t table = TABLES + (uint64_t)head * TABLE_SLOT;
    for (unsigned i = 0; i < n; i++) {
        if (!keep_links) {
            d[i].flags &= (uint16_t)~VCON_VIRTQ_DESC_F_NEXT;
            if (i + 1 < n) {
                d[i].flags |= VCON_VIRTQ_DESC_F_NEXT;
                d[i].next = pos[i + 1];
            }
        }
        vt_desc_at(m->t, table + 16u * pos[i], d[i].addr, d[i].len, d[i].flags, d[i].next);
    }
}

static void post_entry(struct model *m, struct expect *e, const uint16_t *idx, unsigned nr_desc,
                       bool valid, uint32_t writable)
{
    struct live *l = &m->live[e->head];
    assert_false(l->live);
    l->live = true;
    l->popped = false;
    l->valid = valid;
    l->writable = writable;
    l->nr_desc = (uint16_t)nr_desc;
    memcpy(l->desc, idx, nr_desc * sizeof(idx[0]));
    m->fifo[m->fifo_len++] = *e;
    vt_post(m->t, e->head);
}

static unsigned max_direct(const struct model *m)
{
    return m->nr_free < CHAIN_MAX ? m->nr_free : CHAIN_MAX;
}

static void post_valid(struct model *m)
{
    struct draft d[TABLE_MAX];
    uint16_t idx[CHAIN_MAX];
    struct expect e = { .kind = K_VALID };
    const bool use_table = m->indirect && chance(m, 30);
    unsigned n;

    if (m->nr_free == 0)
        return;
    n = use_table ? 1 + rnd(m, TABLE_MAX) : 1 + rnd(m, max_direct(m));
    draft_buffers(m, d, n, rnd(m, n + 1));
    expect_segments(&e, d, n);
    if (use_table) {
        struct draft ind = { .len = 16u * n, .flags = VCON_VIRTQ_DESC_F_INDIRECT };
        /* The descriptor's own WRITE flag is to be ignored. */
        if (chance(m, 50))
            ind.flags |= VCON_VIRTQ_DESC_F_WRITE;
        e.head = alloc_desc(m);
        idx[0] = e.head;
        ind.addr = TABLES + (uint64_t)e.head * TABLE_SLOT;
        uint16_t pos[TABLE_MAX];
        table_positions(m, pos, n);
        write_table(m, e.head, d, n, pos, false);
        vt_desc(m->t, e.head, ind.addr, ind.len, ind.flags, rnd(m, 0x10000));
        post_entry(m, &e, idx, 1, true, e.in_bytes);
    } else {
        e.head = write_direct(m, d, n, idx);
        post_entry(m, &e, idx, n, true, e.in_bytes);
    }
}

/* A chain with exactly one defect, whose error is known. */
static void post_malformed(struct model *m)
{
    struct draft d[TABLE_MAX];
    uint16_t idx[CHAIN_MAX];
    struct expect e = { .kind = K_MALFORMED };
    const unsigned direct_max = max_direct(m);
    unsigned n, kind;

    if (direct_max == 0)
        return;
    kind = rnd(m, 14);
    /* Table defects need the feature; without it any table is refused. */
    if (kind >= 7 && !m->indirect)
        kind = 13;
    n = 1 + rnd(m, direct_max);
    if ((kind == 1 || kind == 5 || kind == 6) && n < 2) {
        if (direct_max < 2)
            return;
        n = 2;
    }
    switch (kind) {
    case 0: /* the last descriptor loops to itself */
        draft_buffers(m, d, n, chance(m, 50) ? n : rnd(m, n));
        write_direct(m, d, n, idx);
        d[n - 1].flags |= VCON_VIRTQ_DESC_F_NEXT;
        d[n - 1].next = idx[n - 1];
        e.err = VCON_VIRTQ_ERR_CHAIN_LOOP;
        break;
    case 1: /* the last two loop, both the same direction */
        draft_buffers(m, d, n, chance(m, 50) ? n : rnd(m, n - 1));
        write_direct(m, d, n, idx);
        d[n - 1].flags |= VCON_VIRTQ_DESC_F_NEXT;
        d[n - 1].next = idx[n - 2];
        e.err = VCON_VIRTQ_ERR_CHAIN_LOOP;
        break;
    case 2: /* next out of range */
        draft_buffers(m, d, n, rnd(m, n + 1));
        write_direct(m, d, n, idx);
        d[n - 1].flags |= VCON_VIRTQ_DESC_F_NEXT;
        d[n - 1].next = (uint16_t)(m->size + rnd(m, 0x10000u - m->size));
        e.err = VCON_VIRTQ_ERR_NEXT_RANGE;
        break;
    case 3: /* a buffer outside RAM or wrapping */
    case 4: {
        const unsigned i = rnd(m, n);
        draft_buffers(m, d, n, rnd(m, n + 1));
        write_direct(m, d, n, idx);
        d[i].addr = kind == 3 ? wild_address(m) : RAM - 1 - rnd(m, 8);
        d[i].len = kind == 3 ? 1 + rnd(m, 64) : 16;
        e.err = VCON_VIRTQ_ERR_SEGMENT_ADDRESS;
        break;
    }
    case 5: /* the last two writable, 2^31 each at least */
        draft_buffers(m, d, n, rnd(m, n - 1));
        write_direct(m, d, n, idx);
        d[n - 2].len = 0x80000000u + rnd(m, 0x1000);
        d[n - 1].len = 0x80000000u;
        e.err = VCON_VIRTQ_ERR_LENGTH_OVERFLOW;
        break;
    case 6: /* readable after writable */
        draft_buffers(m, d, n, rnd(m, n - 1));
        write_direct(m, d, n, idx);
        d[n - 1].flags &= (uint16_t)~VCON_VIRTQ_DESC_F_WRITE;
        e.err = VCON_VIRTQ_ERR_DIRECTION;
        break;
    default: { /* an indirect table with a defect (kind 13: any table, not negotiated) */
        const unsigned entries = 1 + rnd(m, TABLE_MAX);
        struct draft ind = { .flags = VCON_VIRTQ_DESC_F_INDIRECT, .len = 16u * entries };
        uint16_t pos[TABLE_MAX];
        draft_buffers(m, d, entries, rnd(m, entries + 1));
        table_positions(m, pos, entries);
        idx[0] = alloc_desc(m);
        ind.addr = TABLES + (uint64_t)idx[0] * TABLE_SLOT;
        switch (kind) {
        case 7:
        case 8:
            ind.len = chance(m, 30) ? 0 : chance(m, 50) ? 16u * entries + 1 + rnd(m, 15)
                                                         : 16u * (VCON_VIRTQ_MAX_SIZE + 1u);
            e.err = VCON_VIRTQ_ERR_INDIRECT_LENGTH;
            write_table(m, idx[0], d, entries, pos, false);
            break;
        case 9:
            ind.flags |= VCON_VIRTQ_DESC_F_NEXT;
            ind.next = idx[0];
            e.err = VCON_VIRTQ_ERR_INDIRECT_NEXT;
            write_table(m, idx[0], d, entries, pos, false);
            break;
        case 10:
            write_table(m, idx[0], d, entries, pos, false);
            {
                /* Rewrite one entry as a nested table, keeping its link. */
                const unsigned victim = rnd(m, entries);
                d[victim].flags |= VCON_VIRTQ_DESC_F_INDIRECT;
                d[victim].addr = ind.addr;
                write_table(m, idx[0], d, entries, pos, true);
            }
            e.err = VCON_VIRTQ_ERR_INDIRECT_NESTED;
            break;
        case 11:
            ind.addr = chance(m, 50) ? RAM - 8 : wild_address(m);
            e.err = VCON_VIRTQ_ERR_INDIRECT_ADDRESS;
            break;
        case 12:
            write_table(m, idx[0], d, entries, pos, false);
            /* The last entry links back to entry 0 (itself when alone). */
            d[entries - 1].flags |= VCON_VIRTQ_DESC_F_NEXT;
            d[entries - 1].next = 0;
            if (d[entries - 1].flags & VCON_VIRTQ_DESC_F_WRITE)
                for (unsigned i = 0; i < entries; i++)
                    d[i].flags |= VCON_VIRTQ_DESC_F_WRITE;
            write_table(m, idx[0], d, entries, pos, true);
            e.err = VCON_VIRTQ_ERR_CHAIN_LOOP;
            break;
        default:
            write_table(m, idx[0], d, entries, pos, false);
            e.err = m->indirect ? VCON_VIRTQ_ERR_INDIRECT_LENGTH
                                : VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED;
            if (m->indirect)
                ind.len = 0;
            break;
        }
        vt_desc(m->t, idx[0], ind.addr, ind.len, ind.flags, ind.next);
        e.head = idx[0];
        post_entry(m, &e, idx, 1, false, 0);
        return;
    }
    }
    /* Rewrite the direct descriptors with the defect. */
    for (unsigned i = 0; i < n; i++)
        vt_desc(m->t, idx[i], d[i].addr, d[i].len, d[i].flags, d[i].next);
    e.head = idx[0];
    post_entry(m, &e, idx, n, false, 0);
}

/* Random descriptor fields, biased toward sensible values. */
static void random_draft(struct model *m, struct draft *d, uint16_t next_limit)
{
    d->addr = chance(m, 85) ? DATA + rnd(m, DATA_SIZE) : wild_address(m);
    d->len = chance(m, 10) ? 0 : chance(m, 5) ? (uint32_t)next_rand(m) : 1 + rnd(m, 512);
    d->flags = (uint16_t)rnd(m, 4); /* NEXT and WRITE */
    d->next = chance(m, 90) ? (uint16_t)rnd(m, next_limit) : (uint16_t)rnd(m, 0x10000);
}

static void post_uncertain(struct model *m)
{
    struct draft d[CHAIN_MAX];
    uint16_t idx[CHAIN_MAX];
    struct expect e = { .kind = K_UNCERTAIN };
    const unsigned direct_max = max_direct(m);
    unsigned n;

    if (direct_max == 0)
        return;
    n = 1 + rnd(m, direct_max);
    for (unsigned i = 0; i < n; i++)
        idx[i] = alloc_desc(m);
    for (unsigned i = 0; i < n; i++) {
        random_draft(m, &d[i], (uint16_t)(m->size + 2u));
        if (i + 1 < n && chance(m, 70)) {
            d[i].flags |= VCON_VIRTQ_DESC_F_NEXT;
            d[i].next = idx[i + 1];
        }
    }
    if (chance(m, 15)) {
        /* The last one names a table of random entries in the head's slot
         * (a table anywhere else could be buffer bytes). */
        struct draft table[TABLE_MAX];
        const unsigned entries = 1 + rnd(m, TABLE_MAX);
        const uint64_t slot = TABLES + (uint64_t)idx[0] * TABLE_SLOT;
        for (unsigned i = 0; i < entries; i++) {
            random_draft(m, &table[i], (uint16_t)(entries + 1u));
            if (chance(m, 5)) {
                table[i].flags |= VCON_VIRTQ_DESC_F_INDIRECT;
                table[i].addr = slot;
            }
            vt_desc_at(m->t, slot + 16u * i, table[i].addr, table[i].len, table[i].flags,
                       table[i].next);
        }
        d[n - 1].addr = slot;
        d[n - 1].len = chance(m, 80) ? 16u * entries : rnd(m, 16u * TABLE_MAX + 1);
        d[n - 1].flags = (uint16_t)(VCON_VIRTQ_DESC_F_INDIRECT | (chance(m, 10) ? 1u : 0u));
    }
    for (unsigned i = 0; i < n; i++)
        vt_desc(m->t, idx[i], d[i].addr, d[i].len, d[i].flags, d[i].next);
    e.head = idx[0];
    post_entry(m, &e, idx, n, false, 0);
}

/* Read the used ring like a driver: each completion names a live chain
 * that the device took, with no more than its writable bytes. */
static void harvest(struct model *m)
{
    const uint16_t used = vt_used_idx(m->t);
    assert_int_equal(used, m->t->used_seen);
    while (m->used_harvested != used) {
        uint32_t id, len;
        struct live *l;
        vt_used_elem(m->t, m->used_harvested, &id, &len);
        assert_true(id < m->size);
        l = &m->live[id];
        assert_true(l->live);
        assert_true(l->popped);
        if (l->valid)
            assert_true(len <= l->writable);
        for (unsigned i = 0; i < l->nr_desc; i++) {
            assert_true(m->desc_busy[l->desc[i]]);
            m->desc_busy[l->desc[i]] = false;
            m->nr_free++;
        }
        l->live = false;
        m->used_harvested++;
    }
}

/* ---- the device ------------------------------------------------------- */

static void note_completion(struct model *m, uint16_t head, uint32_t len)
{
    vt_expect_used(m->t, head, len);
    m->unsignalled = true;
}

static void check_chain_in_data(const struct vcon_virtq_chain *c)
{
    uint32_t out = 0, in = 0;
    assert_true((unsigned)c->nr_out + c->nr_in <= HELD_SEG);
    for (unsigned i = 0; i < (unsigned)c->nr_out + c->nr_in; i++) {
        const struct vcon_virtq_segment *s = &c->seg[i];
        assert_true(s->len > 0);
        assert_true(s->gpa >= DATA && s->gpa < RAM && s->len <= RAM - s->gpa);
        if (i < c->nr_out)
            out += s->len;
        else
            in += s->len;
    }
    assert_int_equal(c->out_bytes, out);
    assert_int_equal(c->in_bytes, in);
}

static void device_pop(struct model *m)
{
    struct vt *t = m->t;
    struct vcon_virtq_chain *c = t->chain;
    const uint64_t reads = t->device_reads;
    const struct vcon_virtq_stats before = t->vq->stats;
    enum vcon_virtq_pop_result r = vcon_virtq_pop(t->vq, c);
    struct expect e;

    /* Bounded: avail idx and entry, at most size + 1 descriptors, a table
     * probe and its entries, two probes per segment. */
    assert_true(t->device_reads - reads <= 4u + m->size + TABLE_MAX + 2u * HELD_SEG);
    if (m->fifo_len == 0) {
        assert_int_equal(r, VCON_VIRTQ_EMPTY);
        return;
    }
    e = m->fifo[0];
    memmove(&m->fifo[0], &m->fifo[1], (m->fifo_len - 1) * sizeof(m->fifo[0]));
    m->fifo_len--;
    m->taken++;
    m->live[e.head].popped = true;
    m->can_unpop = false;
    assert_int_equal(c->head, e.head);
    if (e.kind == K_VALID || (e.kind == K_UNCERTAIN && r == VCON_VIRTQ_CHAIN)) {
        struct held *h = &m->held[e.head];
        assert_int_equal(r, VCON_VIRTQ_CHAIN);
        check_chain_in_data(c);
        if (e.kind == K_VALID) {
            assert_int_equal(c->nr_out, e.nr_out);
            assert_int_equal(c->nr_out + c->nr_in, e.nr_seg);
            assert_int_equal(c->out_bytes, e.out_bytes);
            assert_int_equal(c->in_bytes, e.in_bytes);
            for (unsigned i = 0; i < e.nr_seg; i++) {
                assert_true(c->seg[i].gpa == e.seg[i].gpa);
                assert_int_equal(c->seg[i].len, e.seg[i].len);
            }
            m->n_chain++;
        } else {
            m->n_uncertain_chain++;
        }
        assert_false(h->held); /* never handed out twice */
        h->held = true;
        h->nr_out = c->nr_out;
        h->nr_in = c->nr_in;
        h->out_bytes = c->out_bytes;
        h->in_bytes = c->in_bytes;
        memcpy(h->seg, c->seg, ((size_t)c->nr_out + c->nr_in) * sizeof(c->seg[0]));
        m->nr_held++;
        assert_int_equal(t->vq->stats.chains, before.chains + 1);
        m->can_unpop = true;
        m->unpop_entry = e;
        return;
    }
    assert_int_equal(r, VCON_VIRTQ_MALFORMED);
    assert_int_equal(c->nr_out + c->nr_in, 0);
    /* A chain error, not a dropped entry nor a queue error. */
    assert_true(t->vq->last_error != VCON_VIRTQ_ERR_NONE);
    assert_true(t->vq->last_error < VCON_VIRTQ_ERR_HEAD_IN_USE);
    if (e.kind == K_MALFORMED) {
        assert_int_equal(t->vq->last_error, e.err);
        m->n_malformed++;
    } else {
        m->n_uncertain_malformed++;
    }
    assert_int_equal(t->vq->stats.malformed_chains, before.malformed_chains + 1);
    note_completion(m, e.head, 0);
}

static void device_unpop(struct model *m)
{
    vcon_virtq_unpop(m->t->vq);
    if (!m->can_unpop)
        return;
    m->can_unpop = false;
    m->held[m->unpop_entry.head].held = false;
    m->nr_held--;
    m->live[m->unpop_entry.head].popped = false;
    /* Back at the front, with its expectation: a valid chain must come
     * back the same; a random one stays uncertain (descriptors it ran
     * through may be rewritten before the next pop). */
    memmove(&m->fifo[1], &m->fifo[0], m->fifo_len * sizeof(m->fifo[0]));
    m->fifo[0] = m->unpop_entry;
    m->fifo_len++;
    m->taken--;
    m->n_unpop++;
}

static int pick_held(struct model *m)
{
    unsigned i;
    if (m->nr_held == 0)
        return -1;
    i = rnd(m, m->size);
    while (!m->held[i].held)
        i = (i + 1u) % m->size;
    return (int)i;
}

/* The chain the device was given, rebuilt from the test's copy. */
static void held_chain(struct vcon_virtq_chain *c, uint16_t head, const struct held *h)
{
    c->head = head;
    c->nr_out = h->nr_out;
    c->nr_in = h->nr_in;
    c->out_bytes = h->out_bytes;
    c->in_bytes = h->in_bytes;
    memcpy(c->seg, h->seg, ((size_t)h->nr_out + h->nr_in) * sizeof(h->seg[0]));
}

static void device_fill_and_push(struct model *m)
{
    struct vt *t = m->t;
    const int head = pick_held(m);
    struct held *h;
    uint8_t data[600];
    uint32_t offset, len, used_len, expect_copied;
    struct vcon_virtq_chain *c = t->chain;

    if (head < 0)
        return;
    h = &m->held[head];
    offset = chance(m, 50) ? 0 : rnd(m, h->in_bytes + 8);
    len = rnd(m, sizeof(data) + 1);
    for (uint32_t i = 0; i < len; i++)
        data[i] = (uint8_t)next_rand(m);
    expect_copied = offset < h->in_bytes ? h->in_bytes - offset : 0;
    if (expect_copied > len)
        expect_copied = len;
    held_chain(c, (uint16_t)head, h);
    vt_allow_clear(t);
    for (unsigned i = h->nr_out; i < (unsigned)h->nr_out + h->nr_in; i++)
        vt_allow(t, h->seg[i].gpa, h->seg[i].len);
    assert_int_equal(vcon_virtq_write_chain(t->vq, c, offset, data, len), (int)expect_copied);
    vt_allow_clear(t);
    vt_expect_chain_write(t, c, offset, data, len);

    switch (rnd(m, 4)) {
    case 0:
        used_len = expect_copied;
        break;
    case 1:
        used_len = UINT32_MAX;
        break;
    default:
        used_len = rnd(m, h->in_bytes + 100);
        break;
    }
    assert_int_equal(vcon_virtq_push(t->vq, (uint16_t)head, used_len), 0);
    note_completion(m, (uint16_t)head, used_len < h->in_bytes ? used_len : h->in_bytes);
    h->held = false;
    m->nr_held--;
    if (m->can_unpop && m->unpop_entry.head == head)
        m->can_unpop = false;
    m->n_push++;
    /* Pushed once: a second push is refused. */
    if (chance(m, 10)) {
        assert_int_equal(vcon_virtq_push(t->vq, (uint16_t)head, 1), -EINVAL);
        m->n_bad_push++;
    }
}

static void device_read(struct model *m)
{
    struct vt *t = m->t;
    const int head = pick_held(m);
    struct vcon_virtq_chain *c = t->chain;
    uint8_t got[600], want[600];
    uint32_t offset, len, copied = 0, skip;
    const struct held *h;

    if (head < 0)
        return;
    h = &m->held[head];
    held_chain(c, (uint16_t)head, h);
    offset = rnd(m, h->out_bytes + 8);
    len = rnd(m, sizeof(got) + 1);
    skip = offset;
    for (unsigned i = 0; i < h->nr_out && copied < len; i++) {
        uint32_t n;
        if (skip >= h->seg[i].len) {
            skip -= h->seg[i].len;
            continue;
        }
        n = h->seg[i].len - skip;
        if (n > len - copied)
            n = len - copied;
        memcpy(want + copied, t->shadow + h->seg[i].gpa + skip, n);
        copied += n;
        skip = 0;
    }
    assert_int_equal(vcon_virtq_read_chain(t->vq, c, offset, got, len), (int)copied);
    assert_memory_equal(got, want, copied);
}

static void device_bad_push(struct model *m)
{
    uint16_t head = (uint16_t)rnd(m, m->size + 2u);
    const uint64_t bad = m->t->vq->stats.bad_pushes;
    if (head < m->size && m->held[head].held)
        return;
    assert_int_equal(vcon_virtq_push(m->t->vq, head, rnd(m, 100)), -EINVAL);
    assert_int_equal(m->t->vq->stats.bad_pushes, bad + 1);
    m->n_bad_push++;
}

static bool ref_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1u) < (uint16_t)(new_idx - old);
}

static void device_should_notify(struct model *m)
{
    struct vt *t = m->t;
    bool want = false;
    if (m->unsignalled) { /* each push answered once */
        m->unsignalled = false;
        if (m->event_idx) {
            const uint16_t used_event = vt_get16(t->shadow + t->avail + 4u + 2u * m->size);
            want = !m->signalled_valid || ref_need_event(used_event, t->used_seen, m->signalled);
            m->signalled = t->used_seen;
            m->signalled_valid = true;
        } else {
            want = !(vt_get16(t->shadow + t->avail) & VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
        }
    }
    assert_int_equal(vcon_virtq_should_notify(t->vq), want);
    m->n_notify += want;
}

static void device_kicks(struct model *m)
{
    const bool wanted = chance(m, 50);
    vcon_virtq_set_kicks_wanted(m->t->vq, wanted);
    if (m->event_idx) {
        if (wanted)
            vt_expect_avail_event(m->t, m->taken);
    } else {
        vt_expect_used_flags(m->t, wanted ? 0 : VCON_VIRTQ_USED_F_NO_NOTIFY);
    }
}

static void driver_suppression(struct model *m)
{
    if (m->event_idx)
        vt_set_used_event(m->t, (uint16_t)(m->t->used_seen + rnd(m, 5) - 2u));
    else
        vt_set_avail_flags(m->t, (uint16_t)rnd(m, 2));
}

/* The driver posts an entry naming a head the device holds; the next pop
 * drops it without a used entry. */
static void duplicate_held_head(struct model *m)
{
    const int head = pick_held(m);
    const uint64_t in_use = m->t->vq->stats.heads_in_use;
    if (head < 0 || m->fifo_len != 0)
        return;
    vt_post(m->t, (uint16_t)head);
    assert_int_equal(vcon_virtq_pop(m->t->vq, m->t->chain), VCON_VIRTQ_MALFORMED);
    assert_int_equal(m->t->vq->last_error, VCON_VIRTQ_ERR_HEAD_IN_USE);
    assert_int_equal(m->t->vq->stats.heads_in_use, in_use + 1);
    m->taken++;
    m->can_unpop = false;
    m->n_in_use++;
}

/* A queue-breaking entry: the queue stops, writes nothing, and works
 * after setup again. */
static void break_queue(struct model *m)
{
    struct vt *t = m->t;
    const uint64_t broken = t->vq->stats.broken;
    int head = pick_held(m);
    if (m->fifo_len == 0 && chance(m, 50)) {
        vt_post(t, (uint16_t)(m->size + rnd(m, 0x10000u - m->size)));
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
        assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_HEAD_RANGE);
    } else {
        vt_set_avail_idx(t, (uint16_t)(m->taken + m->size + 1u + rnd(m, 0x10000u - m->size - 1u)));
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
        assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_AVAIL_JUMP);
    }
    assert_int_equal(t->vq->stats.broken, broken + 1);
    if (head >= 0)
        assert_int_equal(vcon_virtq_push(t->vq, (uint16_t)head, 0), -EIO);
    assert_false(vcon_virtq_should_notify(t->vq));
    vt_check_ram(t);
    m->n_broken++;
    start_queue(m);
}

/* ---- the run ----------------------------------------------------------- */

static void step(struct model *m)
{
    const uint32_t r = rnd(m, 1000);
    if (r < 150)
        post_valid(m);
    else if (r < 200)
        post_malformed(m);
    else if (r < 250)
        post_uncertain(m);
    else if (r < 450) {
        device_pop(m);
        if (chance(m, 15))
            device_unpop(m);
    } else if (r < 620)
        device_fill_and_push(m);
    else if (r < 720)
        harvest(m);
    else if (r < 750)
        device_bad_push(m);
    else if (r < 800)
        device_should_notify(m);
    else if (r < 830)
        device_kicks(m);
    else if (r < 860)
        assert_int_equal(vcon_virtq_has_work(m->t->vq), m->fifo_len != 0);
    else if (r < 900)
        device_read(m);
    else if (r < 930)
        driver_suppression(m);
    else if (r < 960)
        duplicate_held_head(m);
    else if (r < 963)
        break_queue(m);
    else
        device_pop(m);
}

struct run_result {
    uint8_t *ram;
    struct vcon_virtq_stats stats;
};

static void run_seed(void **state, uint64_t seed, unsigned ops, struct run_result *out)
{
    struct model *m = calloc(1, sizeof(*m));
    struct vt *t;
    assert_non_null(m);
    vt_free(*state);
    *state = NULL;
    *state = t = vt_new(RAM);
    t->police_writes = true;
    m->t = t;
    m->rng = seed ? seed : 1;
    start_queue(m);
    for (unsigned i = 0; i < ops; i++) {
        step(m);
        if (t->stray_writes != 0)
            print_error("seed %llu op %u: device write outside the allowed ranges\n",
                        (unsigned long long)seed, i);
        assert_int_equal(t->stray_writes, 0);
        vt_check_ram(t);
        assert_int_equal(t->vq->outstanding, m->nr_held);
        assert_int_equal(t->vq->last_avail, m->taken);
        assert_int_equal(t->vq->used_idx, t->used_seen);
        /* used->idx moved by exactly the completions the model made. */
        assert_int_equal(vt_used_idx(t), t->used_seen);
    }
    print_message("seed %llu: %llu chains, %llu malformed, random %llu/%llu, %llu in use, "
                  "%llu broken, %llu pushes, %llu bad pushes, %llu unpops, %llu notifies\n",
                  (unsigned long long)seed, (unsigned long long)m->n_chain,
                  (unsigned long long)m->n_malformed, (unsigned long long)m->n_uncertain_chain,
                  (unsigned long long)m->n_uncertain_malformed, (unsigned long long)m->n_in_use,
                  (unsigned long long)m->n_broken, (unsigned long long)m->n_push,
                  (unsigned long long)m->n_bad_push, (unsigned long long)m->n_unpop,
                  (unsigned long long)m->n_notify);
    /* The run must have exercised every outcome. */
    assert_true(m->n_chain > 100);
    assert_true(m->n_malformed > 100);
    assert_true(m->n_uncertain_chain > 0);
    assert_true(m->n_uncertain_malformed > 0);
    assert_true(m->n_in_use > 0);
    assert_true(m->n_broken > 0);
    assert_true(m->n_unpop > 0);
    if (out != NULL) {
        out->ram = malloc(RAM);
        assert_non_null(out->ram);
        assert_int_equal(vcon_vm_guest_read(t->vm, 0, out->ram, RAM), 0);
        out->stats = t->vq->stats;
    }
    free(m);
}

static int teardown(void **state)
{
    vt_free(*state);
    return 0;
}

static void test_random_chains_keep_every_invariant_for_several_seeds(void **state)
{
    static const uint64_t seeds[] = { 1, 0x9E3779B97F4A7C15u, 42, 0xDEADBEEFu, 7777777,
                                      0x0123456789ABCDEFu };
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        run_seed(state, seeds[i], OPS_PER_SEED, NULL);
}

static void test_same_seed_leaves_identical_ram_and_stats(void **state)
{
    struct run_result a = { 0 }, b = { 0 };
    run_seed(state, 0xC0FFEEu, OPS_PER_SEED, &a);
    run_seed(state, 0xC0FFEEu, OPS_PER_SEED, &b);
    assert_memory_equal(a.ram, b.ram, RAM);
    assert_memory_equal(&a.stats, &b.stats, sizeof(a.stats));
    free(a.ram);
    free(b.ram);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_random_chains_keep_every_invariant_for_several_seeds,
                                  teardown),
        cmocka_unit_test_teardown(test_same_seed_leaves_identical_ram_and_stats, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
