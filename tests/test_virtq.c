/* The split-ring virtqueue engine: layout, chains, copies, completion,
 * notification suppression, and one test per malformed-ring class. Every
 * test checks guest RAM against the shadow (tests/virtq_test_ring.h), so a
 * byte written outside the used ring and the buffers the test expected
 * fails it. docs/virtq.md gives the policies checked here. */
#include "virtq_test_ring.h"

#define RAM_SIZE 0x100000u /* 1 MiB: room for a 1024-entry ring and buffers */
#define BUF 0x20000u       /* buffers the tests' chains point at */
#define BUF_OK 0x30000u    /* the buffer of the "queue still works" chain */
#define TABLE 0x80000u     /* indirect tables */

static int setup(void **state)
{
    *state = vt_new(RAM_SIZE);
    return 0;
}

static int teardown(void **state)
{
    vt_free(*state);
    return 0;
}

/* Swap the fixture for one with a different amount of RAM. */
static struct vt *resize_ram(void **state, size_t ram_size)
{
    vt_free(*state);
    *state = NULL;
    *state = vt_new(ram_size);
    return *state;
}

/* A one-descriptor writable chain at head `head` goes through and is
 * completed: the queue is usable. */
static void expect_queue_works_with(struct vt *t, uint16_t head)
{
    const uint8_t data[4] = { 'o', 'k', 'a', 'y' };
    const uint64_t chains = t->vq->stats.chains;

    vt_desc(t, head, BUF_OK, 64, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, head);
    assert_true(vcon_virtq_has_work(t->vq));
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, head);
    assert_int_equal(t->chain->nr_out, 0);
    assert_int_equal(t->chain->nr_in, 1);
    assert_int_equal(t->chain->in_bytes, 64);
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 0, data, sizeof(data)), 4);
    vt_expect_bytes(t, BUF_OK, data, sizeof(data));
    assert_int_equal(vcon_virtq_push(t->vq, head, sizeof(data)), 0);
    vt_expect_used(t, head, sizeof(data));
    assert_int_equal(t->vq->stats.chains, chains + 1);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    vt_check_ram(t);
    assert_int_equal(t->stray_writes, 0);
}

static void expect_queue_works(struct vt *t)
{
    expect_queue_works_with(t, 0);
}

/* The next pop finds a malformed chain at `head`: it is returned at once
 * with used length 0, nothing else in RAM changes, and the queue goes on.
 * Returns how many guest memory reads that pop made. */
static uint64_t expect_malformed(struct vt *t, uint16_t head, enum vcon_virtq_error err)
{
    const struct vcon_virtq_stats before = t->vq->stats;
    const uint64_t reads = t->device_reads;
    uint64_t pop_reads;

    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_MALFORMED);
    pop_reads = t->device_reads - reads;
    assert_int_equal(t->vq->last_error, err);
    assert_int_equal(t->chain->head, head);
    assert_int_equal(t->chain->nr_out, 0);
    assert_int_equal(t->chain->nr_in, 0);
    assert_false(t->vq->broken);
    assert_int_equal(t->vq->stats.malformed_chains, before.malformed_chains + 1);
    assert_int_equal(t->vq->stats.chains, before.chains);
    assert_int_equal(t->vq->stats.broken, before.broken);
    vt_expect_used(t, head, 0);
    vt_check_ram(t);
    assert_int_equal(t->stray_writes, 0);
    /* Consumed exactly once, and not outstanding: a push is refused. */
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(vcon_virtq_push(t->vq, head, 0), -EINVAL);
    vt_check_ram(t);
    expect_queue_works(t);
    return pop_reads;
}

/* The next pop stops the queue: nothing is written, everything refuses
 * until setup, and after setup the queue works again. */
static void expect_broken(struct vt *t, enum vcon_virtq_error err)
{
    const struct vcon_virtq_stats before = t->vq->stats;

    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
    assert_int_equal(t->vq->last_error, err);
    assert_true(t->vq->broken);
    assert_int_equal(t->vq->stats.broken, before.broken + 1);
    assert_int_equal(t->vq->stats.malformed_chains, before.malformed_chains);
    vt_check_ram(t);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
    assert_false(vcon_virtq_has_work(t->vq));
    assert_int_equal(vcon_virtq_push(t->vq, 0, 0), -EIO);
    assert_false(vcon_virtq_should_notify(t->vq));
    vcon_virtq_set_kicks_wanted(t->vq, false);
    assert_int_equal(t->vq->stats.broken, before.broken + 1); /* counted once */
    vt_check_ram(t);
    assert_int_equal(t->stray_writes, 0);

    vt_queue(t, t->size, t->vq->event_idx, t->vq->indirect);
    assert_false(t->vq->broken);
    assert_int_equal(t->vq->stats.broken, before.broken + 1); /* stats survive */
    expect_queue_works(t);
}

/* ---- setup and layout ------------------------------------------------- */

static void test_setup_refuses_sizes_that_are_not_powers_of_two_up_to_max(void **state)
{
    struct vt *t = *state;
    const uint16_t bad[] = { 0, 3, 6, 1000, VCON_VIRTQ_MAX_SIZE * 2, 0xFFFF };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, bad[i], 1, false, false),
                         -EINVAL);
        assert_false(vcon_virtq_ready(t->vq));
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    }
    for (uint16_t size = 1; size <= VCON_VIRTQ_MAX_SIZE; size = (uint16_t)(size * 2)) {
        assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, size, 1, false, false), 0);
        assert_true(vcon_virtq_ready(t->vq));
    }
    vt_check_ram(t); /* setup itself writes nothing */
}

static void test_setup_refuses_a_host_without_memory_access(void **state)
{
    struct vt *t = *state;
    struct vcon_host host = t->host;
    host.mem_write = NULL;
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, &host, 4, 1, false, false), -EINVAL);
    assert_false(vcon_virtq_ready(t->vq));
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, NULL, 4, 1, false, false), -EINVAL);
    assert_false(vcon_virtq_ready(t->vq));
}

static void test_setup_lays_out_the_legacy_ring_from_a_64_bit_pfn(void **state)
{
    struct vt *t = *state;
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, 1024, 0xFFFFFFFFu, false, false),
                     0);
    assert_true(t->vq->desc_gpa == UINT64_C(0xFFFFFFFF000));
    assert_true(t->vq->avail_gpa == UINT64_C(0xFFFFFFFF000) + 16 * 1024);
    /* avail: 4 + 2 * 1024 + 2 bytes, then the next 4096 boundary. */
    assert_true(t->vq->used_gpa == UINT64_C(0xFFFFFFFF000) + 16 * 1024 + 4096);
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, 4, 3, false, false), 0);
    assert_int_equal(t->vq->desc_gpa, 0x3000);
    assert_int_equal(t->vq->avail_gpa, 0x3040);
    assert_int_equal(t->vq->used_gpa, 0x4000);
}

static void test_legacy_bytes_match_the_linux_vring_size(void **state)
{
    (void)state;
    /* vring_size(num, 4096) from Linux's virtio_ring.h. */
    assert_int_equal(vcon_virtq_legacy_bytes(1), 4096 + 6 + 8);
    assert_int_equal(vcon_virtq_legacy_bytes(128), 4096 + 6 + 8 * 128);
    assert_int_equal(vcon_virtq_legacy_bytes(256), 10246);
    assert_int_equal(vcon_virtq_legacy_bytes(1024), 16384 + 4096 + 6 + 8 * 1024);
}

static void test_setup_with_pfn_zero_resets_the_queue_and_keeps_stats(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    expect_queue_works(t);
    assert_int_equal(vcon_virtq_setup_legacy(t->vq, &t->host, 4, 0, false, false), 0);
    assert_false(vcon_virtq_ready(t->vq));
    assert_int_equal(t->vq->stats.chains, 1);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_false(vcon_virtq_has_work(t->vq));
    assert_int_equal(vcon_virtq_push(t->vq, 0, 0), -EINVAL);
    assert_false(vcon_virtq_should_notify(t->vq));
    vcon_virtq_set_kicks_wanted(t->vq, false);
    vt_check_ram(t);
}

/* Offers head as a one-descriptor chain of 8 writable bytes at addr. */
static void post_writable(struct vt *t, uint16_t head, uint64_t addr)
{
    vt_desc(t, head, addr, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, head);
}

/* Heads out at a reset are forgotten, whatever size the queue comes back
 * with (the reset clears only what the old size covered). */
static void test_reset_forgets_the_heads_that_were_out(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    post_writable(t, 5, BUF);
    post_writable(t, 7, BUF + 0x100);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->vq->outstanding, 2);
    vcon_virtq_reset(t->vq);
    assert_int_equal(t->vq->outstanding, 0);
    assert_false(vcon_virtq_ready(t->vq));
    assert_int_equal(t->vq->stats.chains, 2);
    vt_queue(t, 16, false, false);
    assert_int_equal(vcon_virtq_push(t->vq, 5, 0), -EINVAL);
    assert_int_equal(vcon_virtq_push(t->vq, 7, 0), -EINVAL);
    for (unsigned head = 0; head < 16; head++)
        assert_false(t->vq->head_out[head]);
    expect_queue_works(t);
}

/* ---- valid chains ------------------------------------------------------ */

static void test_pop_on_an_empty_ring_returns_empty(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    assert_false(vcon_virtq_has_work(t->vq));
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(t->vq->stats.chains, 0);
    vt_check_ram(t);
}

static void test_one_descriptor_chain_is_taken_filled_and_completed(void **state)
{
    struct vt *t = *state;
    const uint8_t msg[5] = { 'h', 'e', 'l', 'l', 'o' };
    vt_queue(t, 8, false, false);
    vt_desc(t, 5, BUF, 100, VCON_VIRTQ_DESC_F_WRITE, 0x7777); /* next ignored without NEXT */
    vt_post(t, 5);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 5);
    assert_int_equal(t->chain->nr_out, 0);
    assert_int_equal(t->chain->nr_in, 1);
    assert_int_equal(t->chain->out_bytes, 0);
    assert_int_equal(t->chain->in_bytes, 100);
    assert_int_equal(t->chain->seg[0].gpa, BUF);
    assert_int_equal(t->chain->seg[0].len, 100);
    assert_int_equal(t->vq->stats.chains, 1);
    vt_check_ram(t); /* taking a chain writes nothing */
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 0, msg, sizeof(msg)), 5);
    vt_expect_bytes(t, BUF, msg, sizeof(msg));
    assert_int_equal(vcon_virtq_push(t->vq, 5, 5), 0);
    vt_expect_used(t, 5, 5);
    vt_check_ram(t);
    assert_int_equal(vt_used_idx(t), 1);
    assert_int_equal(t->stray_writes, 0);
}

static void test_readable_chain_is_read_in_order(void **state)
{
    struct vt *t = *state;
    const char text[] = "virtqueue";
    char got[16] = { 0 };
    vt_queue(t, 4, false, false);
    vt_gwrite(t, BUF, text, 9);
    vt_desc(t, 2, BUF, 9, 0, 0);
    vt_post(t, 2);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->nr_out, 1);
    assert_int_equal(t->chain->out_bytes, 9);
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 0, got, sizeof(got)), 9);
    assert_memory_equal(got, text, 9);
    /* Nothing writable: a used length is clamped to 0. */
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 0, text, 9), 0);
    assert_int_equal(vcon_virtq_push(t->vq, 2, 9), 0);
    vt_expect_used(t, 2, 0);
    vt_check_ram(t);
}

/* Descriptors linked in a scrambled order through the whole table. */
static void post_full_chain(struct vt *t, uint16_t size, uint16_t first_writable)
{
    for (uint16_t k = 0; k < size; k++) {
        /* Descriptor k of the chain is table entry (k * 5 + 3) % size: 5 is
         * odd, so this visits every entry once for any power of two. */
        const uint16_t index = (uint16_t)((k * 5u + 3u) % size);
        const uint16_t next = (uint16_t)(((k + 1u) * 5u + 3u) % size);
        uint16_t flags = k + 1u < size ? VCON_VIRTQ_DESC_F_NEXT : 0;
        if (k >= first_writable)
            flags |= VCON_VIRTQ_DESC_F_WRITE;
        vt_desc(t, index, BUF + 16u * k, 1u + k % 16u, flags, next);
    }
    vt_post(t, (uint16_t)(3u % size));
}

static void check_full_chain(struct vt *t, uint16_t size, uint16_t first_writable)
{
    uint32_t out = 0, in = 0;
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 3u % size);
    assert_int_equal(t->chain->nr_out, first_writable);
    assert_int_equal(t->chain->nr_in, size - first_writable);
    for (uint16_t k = 0; k < size; k++) {
        assert_int_equal(t->chain->seg[k].gpa, BUF + 16u * k);
        assert_int_equal(t->chain->seg[k].len, 1u + k % 16u);
        if (k < first_writable)
            out += 1u + k % 16u;
        else
            in += 1u + k % 16u;
    }
    assert_int_equal(t->chain->out_bytes, out);
    assert_int_equal(t->chain->in_bytes, in);
    assert_int_equal(vcon_virtq_push(t->vq, t->chain->head, 0), 0);
    vt_expect_used(t, t->chain->head, 0);
    vt_check_ram(t);
}

static void test_chain_of_exactly_queue_size_descriptors_is_accepted(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    post_full_chain(t, 8, 4);
    check_full_chain(t, 8, 4);
    vt_queue(t, VCON_VIRTQ_MAX_SIZE, false, false);
    post_full_chain(t, VCON_VIRTQ_MAX_SIZE, 700);
    check_full_chain(t, VCON_VIRTQ_MAX_SIZE, 700);
}

static void test_indirect_chain_is_walked_in_table_order(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    /* Table of 4: entry 0 -> 2 -> 1 (writable) -> 3 (writable). The
     * indirect descriptor's own WRITE flag is ignored. */
    vt_desc_at(t, TABLE + 0, BUF + 0x000, 10, VCON_VIRTQ_DESC_F_NEXT, 2);
    vt_desc_at(t, TABLE + 32, BUF + 0x100, 20, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc_at(t, TABLE + 16, BUF + 0x200, 30, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE,
               3);
    vt_desc_at(t, TABLE + 48, BUF + 0x300, 40, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc(t, 1, TABLE, 64, VCON_VIRTQ_DESC_F_INDIRECT | VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 1);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 1);
    assert_int_equal(t->chain->nr_out, 2);
    assert_int_equal(t->chain->nr_in, 2);
    assert_int_equal(t->chain->out_bytes, 30);
    assert_int_equal(t->chain->in_bytes, 70);
    assert_int_equal(t->chain->seg[0].gpa, BUF + 0x000);
    assert_int_equal(t->chain->seg[1].gpa, BUF + 0x100);
    assert_int_equal(t->chain->seg[2].gpa, BUF + 0x200);
    assert_int_equal(t->chain->seg[3].gpa, BUF + 0x300);
    assert_int_equal(vcon_virtq_push(t->vq, 1, 70), 0);
    vt_expect_used(t, 1, 70);
    vt_check_ram(t);
}

static void test_direct_chain_may_end_in_an_indirect_table(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    vt_desc_at(t, TABLE, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc(t, 0, BUF, 4, VCON_VIRTQ_DESC_F_NEXT, 3);
    vt_desc(t, 3, TABLE, 16, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->nr_out, 1);
    assert_int_equal(t->chain->nr_in, 1);
    assert_int_equal(t->chain->seg[1].gpa, BUF + 0x100);
    assert_int_equal(t->chain->in_bytes, 8);
    vt_check_ram(t);
}

static void test_copies_cross_segment_boundaries_with_offsets(void **state)
{
    struct vt *t = *state;
    char got[32];
    vt_queue(t, 8, false, false);
    vt_gwrite(t, BUF + 0x000, "abcde", 5);
    vt_gwrite(t, BUF + 0x100, "f", 1);
    vt_gwrite(t, BUF + 0x200, "ghijklmnop", 10);
    vt_desc(t, 0, BUF + 0x000, 5, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc(t, 1, BUF + 0x100, 1, VCON_VIRTQ_DESC_F_NEXT, 2);
    vt_desc(t, 2, BUF + 0x200, 10, VCON_VIRTQ_DESC_F_NEXT, 3);
    vt_desc(t, 3, BUF + 0x300, 3, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 4);
    vt_desc(t, 4, BUF + 0x400, 7, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->out_bytes, 16);
    assert_int_equal(t->chain->in_bytes, 10);

    memset(got, 0, sizeof(got));
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 4, got, 5), 5);
    assert_string_equal(got, "efghi");
    memset(got, 0, sizeof(got));
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 0, got, sizeof(got)), 16);
    assert_string_equal(got, "abcdefghijklmnop");
    memset(got, 0, sizeof(got));
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 15, got, 8), 1);
    assert_string_equal(got, "p");
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 16, got, 8), 0);
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, UINT32_MAX, got, 8), 0);
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 0, NULL, 0), 0);

    /* Write: offset 2 lands in the 3-byte segment, the rest in the next. */
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 2, "UVWXYZ", 6), 6);
    vt_expect_bytes(t, BUF + 0x302, "U", 1);
    vt_expect_bytes(t, BUF + 0x400, "VWXYZ", 5);
    vt_check_ram(t);
    /* Bounded by the chain: 10 - 7 = 3 bytes fit. */
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 7, "123456", 6), 3);
    vt_expect_bytes(t, BUF + 0x404, "123", 3);
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 10, "x", 1), 0);
    vt_check_ram(t);
    assert_int_equal(t->stray_writes, 0);
}

static void test_copies_refuse_a_chain_with_impossible_counts(void **state)
{
    struct vt *t = *state;
    char buf[4];
    vt_queue(t, 4, false, false);
    memset(t->chain, 0, sizeof(*t->chain));
    t->chain->nr_out = VCON_VIRTQ_MAX_SIZE;
    t->chain->nr_in = 1;
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 0, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 0, buf, sizeof(buf)), -EINVAL);
    /* A hand-made segment outside RAM is refused by the host. */
    t->chain->nr_out = 1;
    t->chain->nr_in = 1;
    t->chain->seg[0].gpa = RAM_SIZE;
    t->chain->seg[0].len = 4;
    t->chain->seg[1].gpa = UINT64_MAX - 1;
    t->chain->seg[1].len = 4;
    assert_int_equal(vcon_virtq_read_chain(t->vq, t->chain, 0, buf, sizeof(buf)), -EFAULT);
    assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, 0, buf, sizeof(buf)), -EFAULT);
    vt_check_ram(t);
}

static void test_zero_length_descriptors_are_allowed_and_add_nothing(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    /* The zero-length one points nowhere sensible: it is never touched. */
    vt_desc(t, 0, BUF, 4, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc(t, 1, UINT64_MAX, 0, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 2);
    vt_desc(t, 2, BUF + 0x100, 6, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->nr_out, 1);
    assert_int_equal(t->chain->nr_in, 1);
    assert_int_equal(t->chain->in_bytes, 6);
    assert_int_equal(t->chain->seg[1].gpa, BUF + 0x100);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 6), 0);
    vt_expect_used(t, 0, 6);
    /* A chain of one empty descriptor is a valid, empty chain. */
    vt_desc(t, 3, 0, 0, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 3);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->nr_out + t->chain->nr_in, 0);
    assert_int_equal(vcon_virtq_push(t->vq, 3, 5), 0);
    vt_expect_used(t, 3, 0);
    vt_check_ram(t);
}

static void test_push_clamps_used_length_to_the_writable_bytes(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, BUF, 100, VCON_VIRTQ_DESC_F_NEXT, 1); /* readable bytes do not count */
    vt_desc(t, 1, BUF + 0x100, 10, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 2);
    vt_desc(t, 2, BUF + 0x200, 6, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 1000), 0);
    vt_expect_used(t, 0, 16);
    vt_check_ram(t);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 0, UINT32_MAX), 0);
    vt_expect_used(t, 0, 16);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 7), 0); /* below: kept */
    vt_expect_used(t, 0, 7);
    vt_check_ram(t);
    assert_int_equal(t->vq->stats.bad_pushes, 0);
}

static void test_unpop_makes_the_next_pop_return_the_same_chain(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    post_writable(t, 2, BUF);
    post_writable(t, 1, BUF + 0x100);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 2);
    vcon_virtq_unpop(t->vq);
    vcon_virtq_unpop(t->vq); /* only one chain goes back */
    assert_int_equal(t->vq->stats.chains, 0);
    assert_int_equal(vcon_virtq_push(t->vq, 2, 0), -EINVAL); /* not outstanding now */
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 2);
    assert_int_equal(t->chain->seg[0].gpa, BUF);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->head, 1);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(t->vq->stats.chains, 2);
    /* After a push, unpop has nothing to return. */
    assert_int_equal(vcon_virtq_push(t->vq, 1, 0), 0);
    vt_expect_used(t, 1, 0);
    vcon_virtq_unpop(t->vq);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(vcon_virtq_push(t->vq, 2, 0), 0);
    vt_expect_used(t, 2, 0);
    vt_check_ram(t);
}

static void test_used_index_wraps_at_16_bits_over_70000_chains(void **state)
{
    struct vt *t = *state;
    uint8_t byte;
    vt_queue(t, 4, true, false);
    for (uint16_t d = 0; d < 4; d++)
        vt_desc(t, d, BUF + 0x100u * d, 256, VCON_VIRTQ_DESC_F_WRITE, 0);
    for (uint32_t i = 0; i < 70000; i++) {
        const uint16_t head = (uint16_t)((i * 3u) % 4u);
        /* Every third push the driver asks to hear of it; otherwise its
         * used_event is already behind. */
        const bool want = i % 3u == 0;
        const uint16_t event = want ? t->used_seen : (uint16_t)(t->used_seen - 1u);
        uint32_t id, len;
        vt_set_used_event(t, event);
        vt_post(t, head);
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
        assert_int_equal(t->chain->head, head);
        byte = (uint8_t)i;
        assert_int_equal(vcon_virtq_write_chain(t->vq, t->chain, i % 256u, &byte, 1), 1);
        vt_expect_bytes(t, BUF + 0x100u * head + i % 256u, &byte, 1);
        assert_int_equal(vcon_virtq_push(t->vq, head, i % 300u), 0);
        vt_expect_used(t, head, i % 300u < 256u ? i % 300u : 256u);
        assert_int_equal(vcon_virtq_should_notify(t->vq), want);
        vt_used_elem(t, (uint16_t)(t->used_seen - 1u), &id, &len);
        assert_int_equal(id, head);
        assert_int_equal(vt_used_idx(t), t->used_seen);
        if (i % 4096u == 0)
            vt_check_ram(t);
    }
    assert_int_equal(t->vq->last_avail, (uint16_t)70000u);
    assert_int_equal(t->vq->used_idx, (uint16_t)70000u);
    assert_int_equal(t->vq->stats.chains, 70000);
    assert_int_equal(t->vq->stats.notifications, 23334);
    assert_int_equal(t->vq->stats.notifications_suppressed, 70000 - 23334);
    vt_check_ram(t);
    assert_int_equal(t->stray_writes, 0);
}

static void test_exactly_queue_size_pending_entries_are_all_taken(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    for (uint16_t d = 0; d < 4; d++) {
        vt_desc(t, d, BUF + 0x100u * d, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
        vt_post(t, d);
    }
    for (uint16_t d = 0; d < 4; d++) {
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
        assert_int_equal(t->chain->head, d);
    }
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(t->vq->outstanding, 4);
    assert_false(t->vq->broken);
}

/* ---- notification suppression ----------------------------------------- */

static void complete_one(struct vt *t, uint16_t head)
{
    vt_desc(t, head, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, head);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, head, 0), 0);
    vt_expect_used(t, head, 0);
}

static void test_no_interrupt_flag_suppresses_notification_without_event_idx(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    assert_false(vcon_virtq_should_notify(t->vq)); /* nothing pushed yet */
    complete_one(t, 0);
    assert_true(vcon_virtq_should_notify(t->vq));
    assert_false(vcon_virtq_should_notify(t->vq)); /* nothing new since */
    vt_set_avail_flags(t, VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
    complete_one(t, 1);
    assert_false(vcon_virtq_should_notify(t->vq));
    /* That push was answered (no); the driver re-checks the used ring
     * itself when it clears the flag. */
    vt_set_avail_flags(t, 0);
    assert_false(vcon_virtq_should_notify(t->vq));
    complete_one(t, 2);
    /* used_event is ignored without EVENT_IDX. */
    vt_set_used_event(t, 100);
    assert_true(vcon_virtq_should_notify(t->vq));
    /* A refused push is no push. */
    assert_int_equal(vcon_virtq_push(t->vq, 2, 0), -EINVAL);
    assert_false(vcon_virtq_should_notify(t->vq));
    assert_int_equal(t->vq->stats.notifications, 2);
    assert_int_equal(t->vq->stats.notifications_suppressed, 1);
    vt_check_ram(t);
}

static void test_event_idx_notifies_only_when_used_event_is_crossed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, true, false);
    /* The no-interrupt flag means nothing with EVENT_IDX. */
    vt_set_avail_flags(t, VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
    vt_set_used_event(t, 5);
    complete_one(t, 0); /* used idx 1 */
    /* The first answer after setup is yes whatever used_event says: the
     * device cannot know what the driver saw before. */
    assert_true(vcon_virtq_should_notify(t->vq));
    vt_set_used_event(t, 3);                      /* wake me when idx passes 3 */
    complete_one(t, 1);                           /* 2 */
    assert_false(vcon_virtq_should_notify(t->vq));
    complete_one(t, 2); /* 3 */
    assert_false(vcon_virtq_should_notify(t->vq));
    complete_one(t, 3); /* 4: entry 3 written */
    assert_true(vcon_virtq_should_notify(t->vq));
    /* Several pushes, one question: crossed somewhere in between. */
    vt_set_used_event(t, 5);
    complete_one(t, 4); /* 5 */
    complete_one(t, 5); /* 6 */
    complete_one(t, 6); /* 7 */
    assert_true(vcon_virtq_should_notify(t->vq));
    vt_set_used_event(t, 6); /* already behind */
    complete_one(t, 7);      /* 8 */
    assert_false(vcon_virtq_should_notify(t->vq));
    /* Nothing pushed since the last question: no, without counting. */
    vt_set_used_event(t, 7);
    assert_false(vcon_virtq_should_notify(t->vq));
    assert_int_equal(t->vq->stats.notifications, 3);
    assert_int_equal(t->vq->stats.notifications_suppressed, 3);
    vt_check_ram(t);
}

static void test_kicks_use_the_used_flags_without_event_idx(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vcon_virtq_set_kicks_wanted(t->vq, false);
    vt_expect_used_flags(t, VCON_VIRTQ_USED_F_NO_NOTIFY);
    vt_check_ram(t);
    assert_int_equal(vt_used_flags(t), VCON_VIRTQ_USED_F_NO_NOTIFY);
    vcon_virtq_set_kicks_wanted(t->vq, true);
    vt_expect_used_flags(t, 0);
    vt_check_ram(t);
    assert_int_equal(vt_avail_event(t), 0);
}

static void test_kicks_use_avail_event_with_event_idx(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, true, false);
    for (uint16_t d = 0; d < 3; d++)
        complete_one(t, d);
    vcon_virtq_set_kicks_wanted(t->vq, true);
    vt_expect_avail_event(t, 3);
    vt_check_ram(t);
    assert_int_equal(vt_avail_event(t), 3);
    /* Turning kicks off writes nothing, avail_event and used->flags
     * included, even after more chains were taken. */
    complete_one(t, 3);
    vcon_virtq_set_kicks_wanted(t->vq, false);
    vt_check_ram(t);
    assert_int_equal(vt_avail_event(t), 3);
    assert_int_equal(vt_used_flags(t), 0);
    vcon_virtq_set_kicks_wanted(t->vq, true);
    vt_expect_avail_event(t, 4);
    vt_check_ram(t);
}

/* ---- malformed chains -------------------------------------------------- */

static void test_self_loop_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    vt_desc(t, 2, BUF, 8, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 2);
    vt_post(t, 2);
    /* avail idx, the avail entry, then the descriptor 8 times: no more. */
    assert_int_equal(expect_malformed(t, 2, VCON_VIRTQ_ERR_CHAIN_LOOP), 2 + 8);
}

static void test_two_descriptor_cycle_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    vt_desc(t, 4, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 6);
    vt_desc(t, 6, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_NEXT, 4);
    vt_post(t, 4);
    assert_int_equal(expect_malformed(t, 4, VCON_VIRTQ_ERR_CHAIN_LOOP), 2 + 8);
}

static void test_chain_longer_than_the_queue_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    /* 0 -> 1 -> 2 -> 3 -> 0: a fifth descriptor in a queue of four. */
    for (uint16_t d = 0; d < 4; d++)
        vt_desc(t, d, BUF + 0x100u * d, 8, VCON_VIRTQ_DESC_F_NEXT, (uint16_t)((d + 1u) % 4u));
    vt_post(t, 0);
    /* Four descriptors read, the fifth visit refused before reading. */
    assert_int_equal(expect_malformed(t, 0, VCON_VIRTQ_ERR_CHAIN_LOOP), 2 + 4);
}

static void test_next_index_out_of_range_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    vt_desc(t, 1, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 8);
    vt_post(t, 1);
    expect_malformed(t, 1, VCON_VIRTQ_ERR_NEXT_RANGE);
    vt_desc(t, 1, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 0xFFFF);
    vt_post(t, 1);
    expect_malformed(t, 1, VCON_VIRTQ_ERR_NEXT_RANGE);
}

static void test_head_index_out_of_range_breaks_the_queue(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    vt_post(t, 8);
    expect_broken(t, VCON_VIRTQ_ERR_HEAD_RANGE);
    vt_post(t, 0xFFFF);
    expect_broken(t, VCON_VIRTQ_ERR_HEAD_RANGE);
}

static void test_buffer_outside_ram_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, RAM_SIZE, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
    /* Starts in RAM, ends past it. */
    vt_desc(t, 0, RAM_SIZE - 4, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
    /* The last descriptor of a chain whose others are fine. */
    vt_desc(t, 1, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 2);
    vt_desc(t, 2, UINT64_C(1) << 40, 1, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 1);
    expect_malformed(t, 1, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
}

static void test_buffer_wrapping_around_2_to_the_64_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 3, UINT64_MAX - 7, 16, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 3);
    expect_malformed(t, 3, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
    /* The last byte of the address space: no wrap, but not RAM. */
    vt_desc(t, 3, UINT64_MAX, 1, 0, 0);
    vt_post(t, 3);
    expect_malformed(t, 3, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
    /* gpa + len wraps to an address inside RAM. */
    vt_desc(t, 3, UINT64_MAX - 0xFF, 0x1000, 0, 0);
    vt_post(t, 3);
    expect_malformed(t, 3, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
}

static void test_huge_length_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, BUF, UINT32_MAX, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_SEGMENT_ADDRESS);
}

static void test_lengths_overflowing_32_bits_are_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, BUF, 0x80000000u, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 1);
    vt_desc(t, 1, BUF, 0x80000000u, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_LENGTH_OVERFLOW);
    /* Readable side too, with UINT32_MAX + 1. */
    vt_desc(t, 0, BUF, UINT32_MAX, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc(t, 1, BUF, 1, 0, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_LENGTH_OVERFLOW);
}

static void test_readable_after_writable_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, BUF, 8, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 1);
    vt_desc(t, 1, BUF + 0x100, 8, 0, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_DIRECTION);
    /* A zero-length readable one after a writable one still counts. */
    vt_desc(t, 0, BUF, 8, VCON_VIRTQ_DESC_F_NEXT | VCON_VIRTQ_DESC_F_WRITE, 1);
    vt_desc(t, 1, BUF + 0x100, 0, 0, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_DIRECTION);
}

static void test_indirect_without_negotiation_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc_at(t, TABLE, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc(t, 0, TABLE, 16, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_NOT_NEGOTIATED);
}

static void test_indirect_table_with_bad_length_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    /* misaligned, empty, one entry over the maximum, far over */
    const uint32_t bad[] = { 24, 15, 0, 16u * (VCON_VIRTQ_MAX_SIZE + 1u), 0xFFFFFFF0u };
    vt_queue(t, 4, false, true);
    vt_desc_at(t, TABLE, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vt_desc(t, 2, TABLE, bad[i], VCON_VIRTQ_DESC_F_INDIRECT, 0);
        vt_post(t, 2);
        expect_malformed(t, 2, VCON_VIRTQ_ERR_INDIRECT_LENGTH);
    }
}

static void test_indirect_with_next_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    vt_desc_at(t, TABLE, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc(t, 0, TABLE, 16, VCON_VIRTQ_DESC_F_INDIRECT | VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc(t, 1, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_NEXT);
}

static void test_nested_indirect_table_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    vt_desc_at(t, TABLE + 0x100, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc_at(t, TABLE, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc_at(t, TABLE + 16, TABLE + 0x100, 16, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_desc(t, 0, TABLE, 32, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_NESTED);
}

static void test_indirect_table_outside_ram_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    vt_desc(t, 0, RAM_SIZE, 16, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_ADDRESS);
    /* First entry in RAM (and a complete chain), the table's end not. */
    vt_desc_at(t, RAM_SIZE - 16, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_desc(t, 0, RAM_SIZE - 16, 32, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_ADDRESS);
    /* Wrapping around 2^64. */
    vt_desc(t, 0, UINT64_MAX - 15, 32, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_INDIRECT_ADDRESS);
}

static void test_indirect_table_loops_and_bad_next_are_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, true);
    /* 0 -> 1 -> 0 inside a table of two. */
    vt_desc_at(t, TABLE, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_desc_at(t, TABLE + 16, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_NEXT, 0);
    vt_desc(t, 0, TABLE, 32, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    /* avail idx and entry, the descriptor, the table's last byte, two
     * entries: the third visit is refused before reading. */
    assert_int_equal(expect_malformed(t, 0, VCON_VIRTQ_ERR_CHAIN_LOOP), 2 + 1 + 1 + 2);
    /* next within the queue size but past the table's two entries. */
    vt_desc_at(t, TABLE + 16, BUF + 0x100, 8, VCON_VIRTQ_DESC_F_NEXT, 2);
    vt_desc(t, 0, TABLE, 32, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_NEXT_RANGE);
}

/* A chain of `direct` direct descriptors, then a table of `table` entries. */
static void post_long_chain(struct vt *t, uint16_t direct, uint16_t table)
{
    for (uint16_t d = 0; d < direct; d++)
        vt_desc(t, d, BUF + d, 1, VCON_VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1u));
    for (uint16_t e = 0; e < table; e++)
        vt_desc_at(t, TABLE + 16u * e, BUF + 0x1000u + e, 1,
                   (uint16_t)(VCON_VIRTQ_DESC_F_WRITE |
                              (e + 1u < table ? VCON_VIRTQ_DESC_F_NEXT : 0u)),
                   (uint16_t)(e + 1u));
    vt_desc(t, direct, TABLE, 16u * table, VCON_VIRTQ_DESC_F_INDIRECT, 0);
    vt_post(t, 0);
}

static void test_chain_of_more_than_max_segments_is_returned_as_malformed(void **state)
{
    struct vt *t = *state;
    vt_queue(t, VCON_VIRTQ_MAX_SIZE, false, true);
    /* 1022 direct + 2 indirect = 1024 segments: fine. */
    post_long_chain(t, VCON_VIRTQ_MAX_SIZE - 2, 2);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(t->chain->nr_out, VCON_VIRTQ_MAX_SIZE - 2);
    assert_int_equal(t->chain->nr_in, 2);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 0), 0);
    vt_expect_used(t, 0, 0);
    /* 1023 direct + 2 indirect = 1025. */
    post_long_chain(t, VCON_VIRTQ_MAX_SIZE - 1, 2);
    expect_malformed(t, 0, VCON_VIRTQ_ERR_TOO_MANY_SEGMENTS);
}

static void test_avail_index_jump_breaks_the_queue(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 8, false, false);
    vt_set_avail_idx(t, 9);
    expect_broken(t, VCON_VIRTQ_ERR_AVAIL_JUMP);
    /* Backwards is a jump of 65535 ahead. */
    expect_queue_works(t);
    vt_set_avail_idx(t, 0);
    expect_broken(t, VCON_VIRTQ_ERR_AVAIL_JUMP);
    /* has_work notices it too. */
    vt_set_avail_idx(t, 100);
    assert_false(vcon_virtq_has_work(t->vq));
    assert_true(t->vq->broken);
    assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_AVAIL_JUMP);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
    vt_check_ram(t);
}

static void test_ring_outside_ram_breaks_the_queue(void **state)
{
    struct vt *t = *state;
    vt_queue_at(t, 4, RAM_SIZE / VT_PAGE, false, false);
    assert_false(vcon_virtq_has_work(t->vq));
    assert_true(t->vq->broken);
    assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_RING_ADDRESS);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
    assert_int_equal(t->vq->stats.broken, 1);
    vt_check_ram(t);
    vt_queue(t, 4, false, false);
    expect_queue_works(t);
}

static void test_unwritable_used_ring_breaks_the_queue(void **state)
{
    /* 8 KiB of RAM: descriptors and avail ring at 0x1000, used ring at
     * 0x2000, just past the end. */
    struct vt *t = resize_ram(state, 0x2000);
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, 0x1800, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 8), -EIO);
    assert_true(t->vq->broken);
    assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_RING_ADDRESS);
    assert_int_equal(t->vq->stats.broken, 1);
    vt_check_ram(t);
    /* A malformed chain cannot be returned either. */
    vt_queue(t, 4, false, false);
    vt_desc(t, 1, 0x1800, 8, VCON_VIRTQ_DESC_F_NEXT, 1);
    vt_post(t, 1);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_BROKEN);
    assert_int_equal(t->vq->stats.broken, 2);
    assert_int_equal(t->vq->stats.malformed_chains, 1);
    /* Asking for kicks writes the used ring too. */
    vt_queue(t, 4, false, false);
    vcon_virtq_set_kicks_wanted(t->vq, false);
    assert_true(t->vq->broken);
    assert_int_equal(t->vq->stats.broken, 3);
    vt_check_ram(t);
}

static void test_push_of_a_head_never_popped_is_refused(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 1, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 1); /* posted, but not taken */
    assert_int_equal(vcon_virtq_push(t->vq, 1, 8), -EINVAL);
    assert_int_equal(vcon_virtq_push(t->vq, 0, 8), -EINVAL);
    assert_int_equal(vcon_virtq_push(t->vq, 4, 8), -EINVAL);
    assert_int_equal(vcon_virtq_push(t->vq, 0xFFFF, 8), -EINVAL);
    assert_int_equal(t->vq->stats.bad_pushes, 4);
    assert_false(t->vq->broken);
    assert_int_equal(t->vq->used_idx, 0);
    vt_check_ram(t);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 1, 8), 0);
    vt_expect_used(t, 1, 8);
    vt_check_ram(t);
}

static void test_push_of_a_head_twice_is_refused(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 2, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 2);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_push(t->vq, 2, 3), 0);
    vt_expect_used(t, 2, 3);
    assert_int_equal(vcon_virtq_push(t->vq, 2, 3), -EINVAL);
    assert_int_equal(t->vq->stats.bad_pushes, 1);
    assert_int_equal(vt_used_idx(t), 1);
    vt_check_ram(t);
    expect_queue_works(t);
}

static void test_head_posted_again_while_held_is_dropped(void **state)
{
    struct vt *t = *state;
    vt_queue(t, 4, false, false);
    vt_desc(t, 3, BUF, 8, VCON_VIRTQ_DESC_F_WRITE, 0);
    vt_post(t, 3);
    vt_post(t, 3);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_MALFORMED);
    assert_int_equal(t->vq->last_error, VCON_VIRTQ_ERR_HEAD_IN_USE);
    assert_int_equal(t->chain->head, 3);
    assert_int_equal(t->vq->stats.heads_in_use, 1);
    assert_int_equal(t->vq->stats.malformed_chains, 0);
    vt_check_ram(t); /* nothing returned for the dropped entry */
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_EMPTY);
    assert_int_equal(vcon_virtq_push(t->vq, 3, 8), 0);
    vt_expect_used(t, 3, 8);
    assert_int_equal(vcon_virtq_push(t->vq, 3, 8), -EINVAL); /* once only */
    vt_check_ram(t);
    expect_queue_works_with(t, 3);
}

static void test_guest_errors_are_logged_at_a_limited_rate(void **state)
{
    struct vt *t = *state;
    const uint64_t logs = vcon_vm_log_count(t->vm);
    vt_queue(t, 4, false, false);
    vt_desc(t, 0, BUF, 8, VCON_VIRTQ_DESC_F_NEXT, 0);
    for (unsigned i = 0; i < 20; i++) {
        vt_post(t, 0);
        assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_MALFORMED);
    }
    assert_int_equal(t->vq->stats.malformed_chains, 20);
    assert_int_equal(vcon_vm_log_count(t->vm) - logs, 8);
    assert_non_null(strstr(vcon_vm_last_log(t->vm), "virtq"));
    vcon_vm_advance(t->vm, 1000000000u); /* a second later: room again */
    vt_post(t, 0);
    assert_int_equal(vcon_virtq_pop(t->vq, t->chain), VCON_VIRTQ_MALFORMED);
    assert_int_equal(vcon_vm_log_count(t->vm) - logs, 9);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_setup_refuses_sizes_that_are_not_powers_of_two_up_to_max),
        T(test_setup_refuses_a_host_without_memory_access),
        T(test_setup_lays_out_the_legacy_ring_from_a_64_bit_pfn),
        T(test_legacy_bytes_match_the_linux_vring_size),
        T(test_setup_with_pfn_zero_resets_the_queue_and_keeps_stats),
        T(test_reset_forgets_the_heads_that_were_out),
        T(test_pop_on_an_empty_ring_returns_empty),
        T(test_one_descriptor_chain_is_taken_filled_and_completed),
        T(test_readable_chain_is_read_in_order),
        T(test_chain_of_exactly_queue_size_descriptors_is_accepted),
        T(test_indirect_chain_is_walked_in_table_order),
        T(test_direct_chain_may_end_in_an_indirect_table),
        T(test_copies_cross_segment_boundaries_with_offsets),
        T(test_copies_refuse_a_chain_with_impossible_counts),
        T(test_zero_length_descriptors_are_allowed_and_add_nothing),
        T(test_push_clamps_used_length_to_the_writable_bytes),
        T(test_unpop_makes_the_next_pop_return_the_same_chain),
        T(test_used_index_wraps_at_16_bits_over_70000_chains),
        T(test_exactly_queue_size_pending_entries_are_all_taken),
        T(test_no_interrupt_flag_suppresses_notification_without_event_idx),
        T(test_event_idx_notifies_only_when_used_event_is_crossed),
        T(test_kicks_use_the_used_flags_without_event_idx),
        T(test_kicks_use_avail_event_with_event_idx),
        T(test_self_loop_is_returned_as_malformed),
        T(test_two_descriptor_cycle_is_returned_as_malformed),
        T(test_chain_longer_than_the_queue_is_returned_as_malformed),
        T(test_next_index_out_of_range_is_returned_as_malformed),
        T(test_head_index_out_of_range_breaks_the_queue),
        T(test_buffer_outside_ram_is_returned_as_malformed),
        T(test_buffer_wrapping_around_2_to_the_64_is_returned_as_malformed),
        T(test_huge_length_is_returned_as_malformed),
        T(test_lengths_overflowing_32_bits_are_returned_as_malformed),
        T(test_readable_after_writable_is_returned_as_malformed),
        T(test_indirect_without_negotiation_is_returned_as_malformed),
        T(test_indirect_table_with_bad_length_is_returned_as_malformed),
        T(test_indirect_with_next_is_returned_as_malformed),
        T(test_nested_indirect_table_is_returned_as_malformed),
        T(test_indirect_table_outside_ram_is_returned_as_malformed),
        T(test_indirect_table_loops_and_bad_next_are_returned_as_malformed),
        T(test_chain_of_more_than_max_segments_is_returned_as_malformed),
        T(test_avail_index_jump_breaks_the_queue),
        T(test_ring_outside_ram_breaks_the_queue),
        T(test_unwritable_used_ring_breaks_the_queue),
        T(test_push_of_a_head_never_popped_is_refused),
        T(test_push_of_a_head_twice_is_refused),
        T(test_head_posted_again_while_held_is_dropped),
        T(test_guest_errors_are_logged_at_a_limited_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
