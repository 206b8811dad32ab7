/* Where a virtio-console may write guest memory (harness/console_rings.h),
 * the check the console fuzz targets and vcon-replay --check run on every
 * device write: data inside a buffer the guest made device-writable passes,
 * data elsewhere and bad used elements are reported, and a device write
 * that changes what the device reads next (the guest can put one queue's
 * used ring over another queue's descriptor table) stops the checks until
 * the next step rather than judging the device by stale descriptors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/console_rings.h"
#include "harness/rig.h"
#include "harness/vm.h"
#include "vcon/console.h"
#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

#define PAGE 4096u
/* Queue size 16: a queue at page P has its table at P, its avail ring
 * right after it and its used ring at page P + 1. */
#define CONFIG "--ram-hole 0x80100,0x80 --console-queue-size 16 -s 3,virtio-console,@stdio:p0"
#define SEAM_NAME "console seam: the device writes only used rings and buffers the guest made device-writable"
#define HEAD_NAME "console used ring: the element names a head of the queue"
#define SLOT_NAME "console used ring: an element goes to the slot of the next used index"
#define IDX_NAME "console used ring: used->idx counts the elements pushed"
#define FLAGS_NAME "console used ring: used->flags is 0 or NO_NOTIFY, without EVENT_IDX"
#define AVAIL_EVENT_NAME "console used ring: avail_event is the next avail index, with EVENT_IDX"

struct fx {
    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_rig_device_info info;
    struct vcon_console_rings rings;
};

static int setup_with(void **state, const char *config)
{
    struct fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    if (vcon_rig_create(config, 0, NULL, &f->rig, err, sizeof(err)) != 0)
        fail_msg("rig refused '%s': %s", config, err);
    f->vm = vcon_rig_vm(f->rig);
    assert_int_equal(vcon_rig_device_info(f->rig, 0, &f->info), 0);
    vcon_console_rings_init(&f->rings, f->vm,
                            vcon_console_transport(vcon_rig_console(f->rig, 0)));
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, CONFIG);
}

static int setup_hole_in_a_table(void **state)
{
    return setup_with(state, "--ram-hole 0x20080,0x80 --console-queue-size 16 "
                             "-s 3,virtio-console,@stdio:p0");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    vcon_rig_destroy(f->rig);
    free(f);
    return 0;
}

static void bar0_write(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    vcon_vm_write(f->vm, VCON_SPACE_PIO, f->info.io_base + offset, size, value);
}

static void queue_at_page(struct fx *f, unsigned q, uint32_t pfn)
{
    bar0_write(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
    bar0_write(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, pfn);
}

static void negotiate_indirect(struct fx *f)
{
    bar0_write(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC);
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Queue 0 at page 0x10 (its used ring at 0x11000), checks from here on. */
static void one_queue_at_page_0x10(struct fx *f)
{
    queue_at_page(f, 0, 0x10);
    vcon_console_rings_step(&f->rings);
}

static void write_desc_next(struct fx *f, uint64_t table, unsigned index, uint64_t addr,
                            uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    put_le(d, addr, 8);
    put_le(d + 8, len, 4);
    put_le(d + 12, flags, 2);
    put_le(d + 14, next, 2);
    assert_int_equal(vcon_vm_guest_write(f->vm, table + 16u * index, d, sizeof(d)), 0);
}

static void write_desc(struct fx *f, uint64_t table, unsigned index, uint64_t addr, uint32_t len,
                       uint16_t flags)
{
    write_desc_next(f, table, index, addr, len, flags, 0);
}

/* The device writes `len` bytes at `gpa`: the check first, then the bytes
 * land, as on the seam. Returns what the check said. */
static bool device_write(struct fx *f, uint64_t gpa, const uint8_t *bytes, size_t len,
                         struct vcon_invariant_failure *why)
{
    memset(why, 0, sizeof(*why));
    const bool held = vcon_console_rings_device_write(&f->rings, gpa, bytes, len, why);
    assert_int_equal(vcon_vm_guest_write(f->vm, gpa, bytes, len), 0);
    return held;
}

static void expect_held(struct fx *f, uint64_t gpa, const uint8_t *bytes, size_t len)
{
    struct vcon_invariant_failure why;
    if (!device_write(f, gpa, bytes, len, &why))
        fail_msg("%zu bytes at 0x%llx: \"%s\" (%s)", len, (unsigned long long)gpa, why.name,
                 why.detail);
}

static void expect_broken(struct fx *f, uint64_t gpa, const uint8_t *bytes, size_t len,
                          const char *name)
{
    struct vcon_invariant_failure why;
    if (device_write(f, gpa, bytes, len, &why))
        fail_msg("%zu bytes at 0x%llx: expected \"%s\", but the check held", len,
                 (unsigned long long)gpa, name);
    assert_string_equal(why.name, name);
}

static const uint8_t data8[8] = {'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'};

static void data_goes_only_to_writable_buffers(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x20000, 64, VCON_VIRTQ_DESC_F_WRITE);
    write_desc(f, 0x10000, 1, 0x30000, 64, 0); /* device-readable only */
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x20000, data8, sizeof(data8));
    expect_held(f, 0x20000 + 56, data8, sizeof(data8));
    expect_broken(f, 0x20000 + 57, data8, sizeof(data8), SEAM_NAME);
    vcon_console_rings_step(&f->rings);
    expect_broken(f, 0x30000, data8, sizeof(data8), SEAM_NAME);
}

/* The device writes `value`, `size` bytes little-endian, at `gpa`: the
 * check holds, or with `broken` it reports that invariant. (A used element
 * is head | used length << 32.) */
static void expect_write_of(struct fx *f, uint64_t gpa, uint64_t value, unsigned size,
                         const char *broken)
{
    uint8_t bytes[8];
    put_le(bytes, value, size);
    if (broken == NULL)
        expect_held(f, gpa, bytes, size);
    else
        expect_broken(f, gpa, bytes, size, broken);
}

static void a_used_element_naming_no_head_is_reported(void **state)
{
    struct fx *f = *state;
    one_queue_at_page_0x10(f);
    expect_write_of(f, 0x11000 + 4, 3, 8, NULL);
    expect_write_of(f, 0x11000 + 4, 16, 8, HEAD_NAME);
}

/* Stands in for the engine having published `count` used elements on
 * queue `q`: the checks read the queue's used index, and this test drives
 * the checks, not the engine. */
static void pretend_published(struct fx *f, unsigned q, uint16_t count)
{
    struct vcon_virtio_pci *transport = vcon_console_transport(vcon_rig_console(f->rig, 0));
    struct vcon_virtq *vq = (struct vcon_virtq *)vcon_virtio_pci_queue(transport, q);
    vq->used_idx = count;
}

/* The engine writes an element only at the slot of its next used index:
 * an element anywhere else is out of place, however good it looks. */
static void a_used_element_only_goes_to_the_next_slot(void **state)
{
    struct fx *f = *state;
    one_queue_at_page_0x10(f);
    expect_write_of(f, 0x11000 + 4 + 8 * 5, 3, 8, SLOT_NAME);
    pretend_published(f, 0, 5);
    expect_write_of(f, 0x11000 + 4 + 8 * 5, 3, 8, NULL);
    expect_write_of(f, 0x11000 + 4, 3, 8, SLOT_NAME);
    /* The index wraps at 2^16, the slot at the queue size. */
    pretend_published(f, 0, 0xFFFF);
    expect_write_of(f, 0x11000 + 4 + 8 * 15, 3, 8, NULL);
}

/* used->idx is written one past the elements published before it; flags
 * and avail_event only as the negotiated features have them. */
static void the_used_rings_fields_hold_what_the_engine_writes(void **state)
{
    struct fx *f = *state;
    one_queue_at_page_0x10(f);
    expect_write_of(f, 0x11000 + 2, 1, 2, NULL);
    expect_write_of(f, 0x11000 + 2, 2, 2, IDX_NAME);
    pretend_published(f, 0, 0xFFFF);
    expect_write_of(f, 0x11000 + 2, 0, 2, NULL);
    expect_write_of(f, 0x11000, VCON_VIRTQ_USED_F_NO_NOTIFY, 2, NULL);
    expect_write_of(f, 0x11000, 2, 2, FLAGS_NAME);
    /* Without EVENT_IDX the engine never writes avail_event (after the
     * 16 elements of a queue of 16). */
    expect_write_of(f, 0x11000 + 4 + 8 * 16, 0, 2, AVAIL_EVENT_NAME);
}

/* With EVENT_IDX: avail_event is the next avail index, flags never. */
static void with_event_idx_the_device_writes_avail_event(void **state)
{
    struct fx *f = *state;
    bar0_write(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 1u << VCON_VIRTIO_F_RING_EVENT_IDX);
    one_queue_at_page_0x10(f);
    expect_write_of(f, 0x11000 + 4 + 8 * 16, 0, 2, NULL);
    expect_write_of(f, 0x11000 + 4 + 8 * 16, 7, 2, AVAIL_EVENT_NAME);
    expect_write_of(f, 0x11000, 0, 2, FLAGS_NAME);
}

/* Two bytes of data on a used ring's field are data when the guest made
 * that memory device-writable, whatever their value. */
static void data_on_a_used_rings_field_in_a_buffer_is_data(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x11000, 8, VCON_VIRTQ_DESC_F_WRITE); /* its own used ring */
    vcon_console_rings_step(&f->rings);
    expect_write_of(f, 0x11000 + 2, 0x4142, 2, NULL);
    expect_write_of(f, 0x11000, 0x4142, 2, NULL);
}

/* What AFL++ found: queue 1's table at page 0x11 is queue 0's used ring.
 * A used element of queue 0 rewrites queue 1's descriptor 0, whose length
 * becomes 0; the device then follows that descriptor. */
static void a_used_element_over_another_queues_table_stops_the_checks(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    queue_at_page(f, 1, 0x11);
    write_desc(f, 0x10000, 0, 0x20000, 64, VCON_VIRTQ_DESC_F_WRITE);
    write_desc(f, 0x11000, 0, 0x40000, 64, VCON_VIRTQ_DESC_F_WRITE);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x40000, data8, sizeof(data8));
    /* Used element 0 of queue 0: bytes 0x11004-0x1100b, the high half of
     * descriptor 0's address and its length. */
    expect_write_of(f, 0x11000 + 4, 0, 8, NULL);
    expect_held(f, 0x50000, data8, sizeof(data8));
    /* The next step judges from memory as it is now: 0x40000 is no longer
     * writable (its descriptor's length is 0). */
    vcon_console_rings_step(&f->rings);
    expect_broken(f, 0x40000, data8, sizeof(data8), SEAM_NAME);
}

/* A used element on the queue's own used ring changes nothing the device
 * reads: the checks go on within the step. */
static void a_used_element_on_its_own_ring_keeps_the_checks(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x20000, 64, VCON_VIRTQ_DESC_F_WRITE);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x20000, data8, sizeof(data8));
    expect_write_of(f, 0x11000 + 4, (uint64_t)8 << 32, 8, NULL); /* head 0, length 8 */
    expect_broken(f, 0x30000, data8, sizeof(data8), SEAM_NAME);
}

/* A guest may post a receive buffer over another queue's used ring: eight
 * bytes of data landing on an element slot are data in a writable buffer,
 * not a used element to judge. */
static void data_in_a_buffer_over_a_used_ring_is_data(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    queue_at_page(f, 1, 0x12); /* used ring at page 0x13 */
    write_desc(f, 0x10000, 0, 0x13040, 64, VCON_VIRTQ_DESC_F_WRITE);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x13000 + 4 + 8 * 8, data8, sizeof(data8));
    /* Outside that buffer, the same bytes on queue 1's next element slot
     * are a used element naming no head. */
    vcon_console_rings_step(&f->rings);
    expect_broken(f, 0x13000 + 4, data8, sizeof(data8), HEAD_NAME);
}

/* Data landing on an avail ring changes what the device pops next, not
 * which buffers it may write: the checks go on. */
static void data_on_an_avail_ring_keeps_the_checks(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x10000 + 16 * 16, 8, VCON_VIRTQ_DESC_F_WRITE); /* its avail ring */
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x10000 + 16 * 16, data8, sizeof(data8));
    expect_broken(f, 0x30000, data8, sizeof(data8), SEAM_NAME);
}

/* An indirect table that straddles the RAM hole (0x80100-0x8017f): the
 * device reads only the entries its chain visits, here entry 0 and then
 * entry 9 past the hole. */
static void an_indirect_table_across_the_hole_still_gives_its_buffers(void **state)
{
    struct fx *f = *state;
    negotiate_indirect(f);
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x800F0, 10 * 16, VCON_VIRTQ_DESC_F_INDIRECT);
    write_desc_next(f, 0x800F0, 0, 0x90000, 4, VCON_VIRTQ_DESC_F_WRITE | VCON_VIRTQ_DESC_F_NEXT, 9);
    write_desc(f, 0x800F0, 9, 0x91000, 64, VCON_VIRTQ_DESC_F_WRITE);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x90000, data8, 4);
    expect_held(f, 0x91000, data8, sizeof(data8));
    expect_broken(f, 0x92000, data8, sizeof(data8), SEAM_NAME);
}

/* A queue whose table runs into a RAM hole (descriptors 8-15 of a queue
 * at page 0x20 with the hole at 0x20080-0x200ff): the device reads one
 * descriptor at a time, so the readable ones still count. */
static void a_table_partly_in_a_hole_still_gives_its_buffers(void **state)
{
    struct fx *f = *state;
    queue_at_page(f, 0, 0x20);
    write_desc(f, 0x20000, 0, 0x30000, 64, VCON_VIRTQ_DESC_F_WRITE);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x30000, data8, sizeof(data8));
    expect_broken(f, 0x40000, data8, sizeof(data8), SEAM_NAME);
}

/* A descriptor the device would refuse as an indirect one (NEXT set, or a
 * length that is not a whole number of entries) is no table: data on the
 * memory it names does not stop the checks. */
static void a_refused_indirect_descriptor_is_no_table(void **state)
{
    struct fx *f = *state;
    negotiate_indirect(f);
    queue_at_page(f, 0, 0x10);
    write_desc(f, 0x10000, 0, 0x20000, 64, VCON_VIRTQ_DESC_F_WRITE);
    write_desc(f, 0x10000, 1, 0x20000, 0xFFFF, VCON_VIRTQ_DESC_F_INDIRECT);
    write_desc_next(f, 0x10000, 2, 0x20000, 64, VCON_VIRTQ_DESC_F_INDIRECT | VCON_VIRTQ_DESC_F_NEXT, 0);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x20000, data8, sizeof(data8));
    expect_broken(f, 0x30000, data8, sizeof(data8), SEAM_NAME);
}

/* Many descriptors naming one big indirect table are walked once: the
 * lists do not overflow (which would stop every check). */
static void one_indirect_table_named_many_times_is_walked_once(void **state)
{
    struct fx *f = *state;
    negotiate_indirect(f);
    queue_at_page(f, 0, 0x10);
    for (unsigned e = 0; e < VCON_VIRTQ_MAX_SIZE; e++)
        write_desc(f, 0x40000, e, 0x20000 + 64 * (uint64_t)e, 64, VCON_VIRTQ_DESC_F_WRITE);
    for (unsigned i = 0; i < 16; i++)
        write_desc(f, 0x10000, i, 0x40000, 16 * VCON_VIRTQ_MAX_SIZE, VCON_VIRTQ_DESC_F_INDIRECT);
    vcon_console_rings_step(&f->rings);
    expect_held(f, 0x20000, data8, sizeof(data8));
    assert_false(f->rings.regions_overflow);
    expect_broken(f, 0x60000, data8, sizeof(data8), SEAM_NAME);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(data_goes_only_to_writable_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_used_element_naming_no_head_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(a_used_element_only_goes_to_the_next_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(the_used_rings_fields_hold_what_the_engine_writes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(with_event_idx_the_device_writes_avail_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(data_on_a_used_rings_field_in_a_buffer_is_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_used_element_over_another_queues_table_stops_the_checks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_used_element_on_its_own_ring_keeps_the_checks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(data_in_a_buffer_over_a_used_ring_is_data, setup, teardown),
        cmocka_unit_test_setup_teardown(data_on_an_avail_ring_keeps_the_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(an_indirect_table_across_the_hole_still_gives_its_buffers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_table_partly_in_a_hole_still_gives_its_buffers,
                                        setup_hole_in_a_table, teardown),
        cmocka_unit_test_setup_teardown(a_refused_indirect_descriptor_is_no_table, setup, teardown),
        cmocka_unit_test_setup_teardown(one_indirect_table_named_many_times_is_walked_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
