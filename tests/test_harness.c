/* The fake hypervisor: guest RAM, bus, interrupt sink, virtual clock, log,
 * device bindings and scripted backends, one behaviour per test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness/script_backend.h"
#include "harness/vm.h"

#define RAM_SIZE 0x10000u

static struct vcon_vm *make_vm(void)
{
    struct vcon_vm *vm = NULL;
    assert_int_equal(vcon_vm_create(RAM_SIZE, &vm), 0);
    assert_non_null(vm);
    return vm;
}

static struct vcon_host bind(struct vcon_vm *vm, unsigned nr_ports, struct vcon_vm_binding **b)
{
    struct vcon_host host;
    memset(&host, 0, sizeof(host));
    assert_int_equal(vcon_vm_bind_device(vm, nr_ports, &host, b), 0);
    assert_non_null(host.mem_read);
    return host;
}

/* ---- a fake device ---------------------------------------------------- */

struct fake_dev {
    struct vcon_vm *vm;
    struct vcon_host host;
    uint8_t regs[64];
    unsigned reads, writes;
    uint64_t last_offset;
    unsigned last_size;
    uint32_t last_value;
    int read_rc;
    uint32_t read_junk; /* OR'd into every read value */
    bool busy;          /* inside one of its callbacks */
    void (*on_write)(struct fake_dev *dev, uint64_t offset, uint32_t value);
};

static int fake_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    struct fake_dev *dev = device;
    dev->reads++;
    dev->last_offset = offset;
    dev->last_size = size;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)dev->regs[(offset + i) % sizeof(dev->regs)] << (8 * i);
    *value = v | dev->read_junk;
    return dev->read_rc;
}

static int fake_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    struct fake_dev *dev = device;
    dev->busy = true;
    dev->writes++;
    dev->last_offset = offset;
    dev->last_size = size;
    dev->last_value = value;
    for (unsigned i = 0; i < size; i++)
        dev->regs[(offset + i) % sizeof(dev->regs)] = (uint8_t)(value >> (8 * i));
    if (dev->on_write != NULL)
        dev->on_write(dev, offset, value);
    dev->busy = false;
    return 0;
}

static const struct vcon_bus_ops fake_ops = { .read = fake_read, .write = fake_write };

static void fake_init(struct fake_dev *dev, struct vcon_vm *vm)
{
    memset(dev, 0, sizeof(*dev));
    dev->vm = vm;
    dev->host = bind(vm, 1, NULL);
}

/* ---- guest RAM -------------------------------------------------------- */

static void test_create_refuses_zero_ram(void **state)
{
    (void)state;
    struct vcon_vm *vm = (struct vcon_vm *)&vm;
    assert_int_equal(vcon_vm_create(0, &vm), -EINVAL);
    assert_null(vm);
}

static void test_create_refuses_ram_over_4gib(void **state)
{
    (void)state;
    if (SIZE_MAX <= UINT32_MAX)
        skip();
    struct vcon_vm *vm = NULL;
    assert_int_equal(vcon_vm_create((size_t)(UINT64_C(1) << 32) + 1, &vm), -EINVAL);
    assert_null(vm);
}

static void test_new_ram_reads_as_zeros(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    assert_int_equal(vcon_vm_ram_size(vm), RAM_SIZE);
    uint8_t buf[32];
    memset(buf, 0xAA, sizeof(buf));
    assert_int_equal(vcon_vm_guest_read(vm, RAM_SIZE - sizeof(buf), buf, sizeof(buf)), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    vcon_vm_destroy(vm);
}

static void test_device_sees_guest_writes_and_guest_sees_device_writes(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    const uint8_t from_guest[4] = { 1, 2, 3, 4 };
    const uint8_t from_device[3] = { 9, 8, 7 };
    uint8_t buf[4] = { 0 };

    assert_int_equal(vcon_vm_guest_write(vm, 0x100, from_guest, sizeof(from_guest)), 0);
    assert_int_equal(host.mem_read(host.ctx, 0x100, buf, sizeof(buf)), 0);
    assert_memory_equal(buf, from_guest, sizeof(buf));

    assert_int_equal(host.mem_write(host.ctx, 0x101, from_device, sizeof(from_device)), 0);
    assert_int_equal(vcon_vm_guest_read(vm, 0x100, buf, sizeof(buf)), 0);
    const uint8_t expected[4] = { 1, 9, 8, 7 };
    assert_memory_equal(buf, expected, sizeof(buf));
    vcon_vm_destroy(vm);
}

static void test_mem_read_outside_ram_is_refused(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    uint8_t buf[8];
    memset(buf, 0x5A, sizeof(buf));

    assert_int_equal(host.mem_read(host.ctx, RAM_SIZE, buf, 1), -EFAULT);
    assert_int_equal(host.mem_read(host.ctx, RAM_SIZE - 1, buf, 2), -EFAULT);
    assert_int_equal(host.mem_read(host.ctx, RAM_SIZE + 1, buf, 0), -EFAULT);
    /* gpa + len wraps to a small number that would pass a naive check. */
    assert_int_equal(host.mem_read(host.ctx, UINT64_MAX, buf, 1), -EFAULT);
    assert_int_equal(host.mem_read(host.ctx, UINT64_MAX - 2, buf, 8), -EFAULT);
    assert_int_equal(host.mem_read(host.ctx, 0, buf, SIZE_MAX), -EFAULT);
    assert_int_equal(host.mem_read(host.ctx, 1, buf, SIZE_MAX), -EFAULT);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5A);
    assert_int_equal(vcon_vm_guest_read(vm, UINT64_MAX - 2, buf, 8), -EFAULT);
    vcon_vm_destroy(vm);
}

static void test_mem_write_straddling_ram_end_copies_nothing(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    const uint8_t bytes[4] = { 0x11, 0x22, 0x33, 0x44 };
    uint8_t buf[2] = { 0xEE, 0xEE };

    assert_int_equal(host.mem_write(host.ctx, RAM_SIZE - 2, bytes, sizeof(bytes)), -EFAULT);
    assert_int_equal(host.mem_write(host.ctx, UINT64_MAX - 1, bytes, sizeof(bytes)), -EFAULT);
    assert_int_equal(vcon_vm_guest_write(vm, RAM_SIZE - 3, bytes, sizeof(bytes)), -EFAULT);
    assert_int_equal(vcon_vm_guest_read(vm, RAM_SIZE - 2, buf, sizeof(buf)), 0);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[1], 0);
    vcon_vm_destroy(vm);
}

static void test_mem_access_up_to_last_byte_succeeds(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    const uint8_t byte = 0xC3;
    uint8_t got = 0;
    assert_int_equal(host.mem_write(host.ctx, RAM_SIZE - 1, &byte, 1), 0);
    assert_int_equal(host.mem_read(host.ctx, RAM_SIZE - 1, &got, 1), 0);
    assert_int_equal(got, 0xC3);
    /* No byte of an empty range lies outside RAM, even at its end. */
    assert_int_equal(host.mem_read(host.ctx, RAM_SIZE, &got, 0), 0);
    vcon_vm_destroy(vm);
}

/* ---- bus -------------------------------------------------------------- */

static void test_unmapped_pio_read_returns_all_ones(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 1), 0xFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 2), 0xFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 4), 0xFFFFFFFFu);
    assert_int_equal(vcon_vm_inb(vm, 0x80), 0xFF);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 4);
    vcon_vm_destroy(vm);
}

static void test_unmapped_write_is_dropped_and_counted(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    vcon_vm_outb(vm, 0x2F8, 0x41);
    vcon_vm_write(vm, VCON_SPACE_MMIO, 0x3F8, 4, 1);
    assert_int_equal(dev.writes, 0);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 2);
    vcon_vm_destroy(vm);
}

static void test_bad_access_size_reads_all_ones_and_is_counted(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 3), 0xFFFFFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 0), 0xFFFFFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 8), 0xFFFFFFFFu);
    vcon_vm_write(vm, VCON_SPACE_PIO, 0x3F8, 3, 0);
    assert_int_equal(dev.reads, 0);
    assert_int_equal(dev.writes, 0);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 4);
    vcon_vm_destroy(vm);
}

static void test_access_in_unknown_space_is_unmapped(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, (enum vcon_space)7, 0, 8, &fake_ops, &dev), -EINVAL);
    assert_int_equal(vcon_vm_read(vm, (enum vcon_space)7, 0, 1), 0xFFu);
    assert_int_equal(vcon_vm_unmap(vm, (enum vcon_space)7, 0), -ENOENT);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 1);
    vcon_vm_destroy(vm);
}

static void test_mapped_access_reaches_device_at_offset(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);

    vcon_vm_outb(vm, 0x3FB, 0x83);
    assert_int_equal(dev.writes, 1);
    assert_int_equal(dev.last_offset, 3);
    assert_int_equal(dev.last_size, 1);
    assert_int_equal(dev.last_value, 0x83);

    vcon_vm_write(vm, VCON_SPACE_PIO, 0x3FC, 2, 0xBEEF);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3FC, 2), 0xBEEF);
    assert_int_equal(dev.last_offset, 4);
    assert_int_equal(dev.last_size, 2);
    assert_int_equal(vcon_vm_inb(vm, 0x3FB), 0x83);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 0);
    vcon_vm_destroy(vm);
}

static void test_write_value_is_masked_to_access_size(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 16, &fake_ops, &dev), 0);
    vcon_vm_write(vm, VCON_SPACE_MMIO, 0x1000, 1, 0x12345678);
    assert_int_equal(dev.last_value, 0x78);
    vcon_vm_write(vm, VCON_SPACE_MMIO, 0x1000, 2, 0x12345678);
    assert_int_equal(dev.last_value, 0x5678);
    vcon_vm_destroy(vm);
}

static void test_read_value_is_masked_to_access_size(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    dev.read_junk = 0xABCD0000u;
    dev.regs[0] = 0x12;
    dev.regs[1] = 0x34;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 16, &fake_ops, &dev), 0);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_MMIO, 0x1000, 1), 0x12);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_MMIO, 0x1000, 2), 0x3412);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_MMIO, 0x1000, 4), 0xABCD3412u);
    vcon_vm_destroy(vm);
}

static void test_device_read_failure_reads_all_ones(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    dev.read_rc = -EINVAL;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 1), 0xFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F8, 2), 0xFFFFu);
    assert_int_equal(dev.reads, 2);
    /* The device was reached, so this is not an unmapped access. */
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 0);
    vcon_vm_destroy(vm);
}

static void test_overlapping_map_is_refused(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev a, b;
    fake_init(&a, vm);
    fake_init(&b, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x100, 0x10, &fake_ops, &a), 0);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x100, 0x10, &fake_ops, &b), -EBUSY);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x10F, 1, &fake_ops, &b), -EBUSY);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0xF8, 9, &fake_ops, &b), -EBUSY);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x80, 0x100, &fake_ops, &b), -EBUSY);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x104, 2, &fake_ops, &b), -EBUSY);
    /* Touching on either side is not overlapping. */
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0xF8, 8, &fake_ops, &b), 0);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x110, 8, &fake_ops, &b), 0);
    /* A refused map left the first region routed to its owner. */
    vcon_vm_outb(vm, 0x10F, 1);
    assert_int_equal(a.writes, 1);
    vcon_vm_destroy(vm);
}

static void test_map_refuses_empty_or_wrapping_region(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 0, &fake_ops, &dev), -EINVAL);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, UINT64_MAX - 3, 5, &fake_ops, &dev), -EINVAL);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 8, NULL, &dev), -EINVAL);
    /* Ending exactly at the top of the space does not wrap. */
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, UINT64_MAX - 3, 4, &fake_ops, &dev), 0);
    vcon_vm_write(vm, VCON_SPACE_MMIO, UINT64_MAX - 3, 4, 0x01020304);
    assert_int_equal(dev.writes, 1);
    assert_int_equal(dev.last_offset, 0);
    /* Starting on the last byte, a 2-byte access would run past the top. */
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_MMIO, UINT64_MAX, 2), 0xFFFFu);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 1);
    vcon_vm_destroy(vm);
}

static void test_unmap_removes_region_and_unknown_base_is_enoent(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    assert_int_equal(vcon_vm_unmap(vm, VCON_SPACE_PIO, 0x3F9), -ENOENT);
    assert_int_equal(vcon_vm_unmap(vm, VCON_SPACE_MMIO, 0x3F8), -ENOENT);
    assert_int_equal(vcon_vm_unmap(vm, VCON_SPACE_PIO, 0x3F8), 0);
    assert_int_equal(vcon_vm_unmap(vm, VCON_SPACE_PIO, 0x3F8), -ENOENT);
    assert_int_equal(vcon_vm_inb(vm, 0x3F8), 0xFF);
    assert_int_equal(dev.reads, 0);
    /* The range is free again. */
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    vcon_vm_destroy(vm);
}

static void test_access_straddling_region_end_is_unmapped(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3FF, 2), 0xFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3FD, 4), 0xFFFFFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PIO, 0x3F7, 2), 0xFFFFu);
    assert_int_equal(dev.reads, 0);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 3);
    vcon_vm_destroy(vm);
}

static void test_regions_route_to_their_own_devices(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev devs[12];
    /* Mapped out of address order and more than one allocation's worth. */
    for (unsigned i = 0; i < 12; i++) {
        fake_init(&devs[i], vm);
        const uint64_t base = 0x1000 + ((i * 7) % 12) * 0x10;
        assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, base, 0x10, &fake_ops, &devs[i]), 0);
    }
    for (unsigned i = 0; i < 12; i++) {
        const uint64_t base = 0x1000 + ((i * 7) % 12) * 0x10;
        vcon_vm_write(vm, VCON_SPACE_MMIO, base + 5, 1, i);
    }
    for (unsigned i = 0; i < 12; i++) {
        assert_int_equal(devs[i].writes, 1);
        assert_int_equal(devs[i].last_offset, 5);
        assert_int_equal(devs[i].last_value, i);
    }
    vcon_vm_destroy(vm);
}

static void test_spaces_are_separate(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev pio, mmio;
    fake_init(&pio, vm);
    fake_init(&mmio, vm);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x1000, 8, &fake_ops, &pio), 0);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 8, &fake_ops, &mmio), 0);
    vcon_vm_write(vm, VCON_SPACE_MMIO, 0x1002, 1, 0x55);
    assert_int_equal(mmio.writes, 1);
    assert_int_equal(pio.writes, 0);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PCI_CONFIG, 0x1002, 1), 0xFFu);
    vcon_vm_destroy(vm);
}

static void test_pci_config_routing(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev fn0, fn1;
    fake_init(&fn0, vm);
    fake_init(&fn1, vm);
    assert_int_equal(VCON_PCI_CONFIG_ADDR(0, 3, 1, 0x10), 0x19010u);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 0, 0),
                                 VCON_PCI_CONFIG_SIZE, &fake_ops, &fn0), 0);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 1, 0),
                                 VCON_PCI_CONFIG_SIZE, &fake_ops, &fn1), 0);
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 0, 0x100),
                                 4, &fake_ops, &fn1), -EBUSY);

    fn0.regs[0] = 0xF4;
    fn0.regs[1] = 0x1A;
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 0, 0), 2),
                     0x1AF4);
    vcon_vm_write(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 1, 0xFFC), 4, 7);
    assert_int_equal(fn1.last_offset, 0xFFC);
    assert_int_equal(fn0.writes, 0);
    /* Function 2 and another slot answer like an empty slot: all ones. */
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 2, 0), 4),
                     0xFFFFFFFFu);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(1, 3, 0, 0), 2),
                     0xFFFFu);
    assert_int_equal(vcon_vm_unmapped_accesses(vm), 2);
    vcon_vm_destroy(vm);
}

static void remap_many(struct fake_dev *dev, uint64_t offset, uint32_t value)
{
    (void)offset;
    (void)value;
    /* Enough maps to move the region array while our region is in use. */
    for (unsigned i = 0; i < 40; i++)
        assert_int_equal(vcon_vm_map(dev->vm, VCON_SPACE_PIO, 0x8000 + i * 8, 8, &fake_ops, dev), 0);
    assert_int_equal(vcon_vm_unmap(dev->vm, VCON_SPACE_PIO, 0x3F8), 0);
}

static void test_device_may_remap_during_its_access(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    dev.on_write = remap_many;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    vcon_vm_outb(vm, 0x3F8, 1);
    dev.on_write = NULL;
    assert_int_equal(vcon_vm_inb(vm, 0x3F8), 0xFF);
    /* The new region reaches the same device, which kept its register. */
    assert_int_equal(vcon_vm_inb(vm, 0x8000 + 39 * 8), 1);
    assert_int_equal(dev.reads, 1);
    vcon_vm_destroy(vm);
}

/* ---- interrupt sink --------------------------------------------------- */

#define MAX_EVENTS 32

struct irq_trace {
    struct vcon_vm *vm;
    struct fake_dev *dev;
    int lines[MAX_EVENTS];
    int levels[MAX_EVENTS];
    uint64_t times[MAX_EVENTS];
    unsigned count;
    unsigned depth, max_depth;
    bool saw_busy_device;
    bool poke_on_line3; /* the observer writes to the device on (3, 1) */
};

static void record_irq(void *arg, int line, int level)
{
    struct irq_trace *t = arg;
    t->depth++;
    if (t->depth > t->max_depth)
        t->max_depth = t->depth;
    if (t->dev != NULL && t->dev->busy)
        t->saw_busy_device = true;
    if (t->count < MAX_EVENTS) {
        t->lines[t->count] = line;
        t->levels[t->count] = level;
        t->times[t->count] = vcon_vm_now(t->vm);
        t->count++;
    }
    if (t->poke_on_line3 && line == 3 && level == 1)
        vcon_vm_write(t->vm, VCON_SPACE_PIO, 0x3F8, 1, 0);
    t->depth--;
}

static void test_irq_level_tracks_and_counts_raises(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    host.irq_set_level(host.ctx, 4, 1);
    host.irq_set_level(host.ctx, 4, 1);
    assert_int_equal(vcon_vm_irq_level(vm, 4), 1);
    assert_int_equal(vcon_vm_irq_raises(vm, 4), 1);
    host.irq_set_level(host.ctx, 4, 0);
    assert_int_equal(vcon_vm_irq_level(vm, 4), 0);
    /* Any non-zero level drives the line high. */
    host.irq_set_level(host.ctx, 4, -7);
    assert_int_equal(vcon_vm_irq_level(vm, 4), 1);
    assert_int_equal(vcon_vm_irq_raises(vm, 4), 2);
    host.irq_set_level(host.ctx, 255, 1);
    assert_int_equal(vcon_vm_irq_raises(vm, 255), 1);
    assert_int_equal(vcon_vm_irq_level(vm, 3), 0);
    assert_int_equal(vcon_vm_irq_raises(vm, 3), 0);
    vcon_vm_destroy(vm);
}

static void test_irq_line_out_of_range_is_ignored_and_logged(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    struct irq_trace trace = { .vm = vm };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);
    host.irq_set_level(host.ctx, VCON_VM_IRQ_LINES, 1);
    host.irq_set_level(host.ctx, UINT32_MAX, 1);
    assert_int_equal(trace.count, 0);
    assert_int_equal(vcon_vm_log_count(vm), 2);
    assert_non_null(strstr(vcon_vm_last_log(vm), "4294967295"));
    assert_int_equal(vcon_vm_irq_level(vm, VCON_VM_IRQ_LINES), 0);
    assert_int_equal(vcon_vm_irq_raises(vm, VCON_VM_IRQ_LINES), 0);
    vcon_vm_destroy(vm);
}

static void test_irq_observer_sees_changes(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    struct irq_trace trace = { .vm = vm };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);
    host.irq_set_level(host.ctx, 4, 1);
    host.irq_set_level(host.ctx, 4, 1); /* no change, no call */
    host.irq_set_level(host.ctx, 9, 1);
    host.irq_set_level(host.ctx, 4, 0);
    assert_int_equal(trace.count, 3);
    assert_int_equal(trace.lines[0], 4);
    assert_int_equal(trace.levels[0], 1);
    assert_int_equal(trace.lines[1], 9);
    assert_int_equal(trace.levels[1], 1);
    assert_int_equal(trace.lines[2], 4);
    assert_int_equal(trace.levels[2], 0);
    vcon_vm_set_irq_observer(vm, NULL, NULL);
    host.irq_set_level(host.ctx, 9, 0);
    assert_int_equal(trace.count, 3);
    vcon_vm_destroy(vm);
}

static void pulse_line5(struct fake_dev *dev, uint64_t offset, uint32_t value)
{
    (void)offset;
    (void)value;
    dev->host.irq_set_level(dev->host.ctx, 5, 1);
    dev->host.irq_set_level(dev->host.ctx, 5, 0);
}

static void test_irq_observer_runs_after_device_access_returns(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    dev.on_write = pulse_line5;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    struct irq_trace trace = { .vm = vm, .dev = &dev };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);
    vcon_vm_outb(vm, 0x3F9, 1);
    /* Both edges of the pulse arrive, in order, once the write is done. */
    assert_false(trace.saw_busy_device);
    assert_int_equal(trace.count, 2);
    assert_int_equal(trace.levels[0], 1);
    assert_int_equal(trace.levels[1], 0);
    assert_int_equal(vcon_vm_irq_raises(vm, 5), 1);
    vcon_vm_destroy(vm);
}

static void lower3_raise4(struct fake_dev *dev, uint64_t offset, uint32_t value)
{
    (void)offset;
    (void)value;
    dev->host.irq_set_level(dev->host.ctx, 3, 0);
    dev->host.irq_set_level(dev->host.ctx, 4, 1);
}

static void test_irq_observer_is_not_reentered(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    fake_init(&dev, vm);
    dev.on_write = lower3_raise4;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    struct irq_trace trace = { .vm = vm, .dev = &dev, .poke_on_line3 = true };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);

    dev.host.irq_set_level(dev.host.ctx, 3, 1);
    assert_int_equal(trace.max_depth, 1);
    assert_int_equal(trace.count, 3);
    assert_int_equal(trace.lines[0], 3);
    assert_int_equal(trace.levels[0], 1);
    assert_int_equal(trace.lines[1], 3);
    assert_int_equal(trace.levels[1], 0);
    assert_int_equal(trace.lines[2], 4);
    assert_int_equal(trace.levels[2], 1);
    assert_int_equal(dev.writes, 1);
    vcon_vm_destroy(vm);
}

static void test_msi_recorded(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    struct irq_trace trace = { .vm = vm };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);
    assert_int_equal(vcon_vm_msi_count(vm), 0);
    assert_null(vcon_vm_msi(vm, 0));

    vcon_vm_advance(vm, 250);
    host.msi_send(host.ctx, 0xFEE00000u, 0x4041);
    /* Past the first allocation, so the record has to grow. */
    for (uint32_t i = 0; i < 40; i++)
        host.msi_send(host.ctx, 0xFEE01000u, i);

    assert_int_equal(vcon_vm_msi_count(vm), 41);
    const struct vcon_msi_record *first = vcon_vm_msi(vm, 0);
    assert_non_null(first);
    assert_int_equal(first->address, 0xFEE00000u);
    assert_int_equal(first->data, 0x4041);
    assert_int_equal(first->time_ns, 250);
    assert_int_equal(vcon_vm_msi(vm, 40)->data, 39);
    assert_null(vcon_vm_msi(vm, 41));
    assert_int_equal(trace.count, MAX_EVENTS);
    assert_int_equal(trace.lines[0], -1);
    vcon_vm_destroy(vm);
}

/* ---- virtual clock ---------------------------------------------------- */

struct fire_log {
    int ids[MAX_EVENTS];
    uint64_t times[MAX_EVENTS];
    unsigned count;
};

struct probe {
    struct vcon_vm *vm;
    struct vcon_host host;
    struct vcon_timer *timer;
    struct fire_log *log;
    int id;
    unsigned rearms_left;
    uint64_t rearm_step;
    struct probe *victim; /* disarmed or destroyed from this one's callback */
    bool destroy_self;
    bool destroy_victim;
};

static void probe_fire(void *device)
{
    struct probe *p = device;
    struct fire_log *log = p->log;
    const uint64_t now = p->host.now_ns(p->host.ctx);
    if (log->count < MAX_EVENTS) {
        log->ids[log->count] = p->id;
        log->times[log->count] = now;
        log->count++;
    }
    if (p->rearms_left > 0) {
        p->rearms_left--;
        p->host.timer_arm(p->host.ctx, p->timer, now + p->rearm_step);
    }
    if (p->victim != NULL) {
        if (p->destroy_victim) {
            p->host.timer_destroy(p->host.ctx, p->victim->timer);
            p->victim->timer = NULL;
        } else {
            p->host.timer_disarm(p->host.ctx, p->victim->timer);
        }
    }
    if (p->destroy_self) {
        p->host.timer_destroy(p->host.ctx, p->timer);
        p->timer = NULL;
    }
}

static void probe_init(struct probe *p, struct vcon_vm *vm, struct fire_log *log, int id)
{
    memset(p, 0, sizeof(*p));
    p->vm = vm;
    p->log = log;
    p->id = id;
    p->host = bind(vm, 0, NULL);
    p->timer = p->host.timer_create(p->host.ctx, probe_fire, p);
    assert_non_null(p->timer);
}

static void probe_arm(struct probe *p, uint64_t deadline)
{
    p->host.timer_arm(p->host.ctx, p->timer, deadline);
}

static void test_timers_fire_in_deadline_order_ties_by_arming(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p[5];
    for (int i = 0; i < 5; i++)
        probe_init(&p[i], vm, &log, i);
    probe_arm(&p[0], 300);
    probe_arm(&p[3], 100);
    probe_arm(&p[1], 200);
    probe_arm(&p[4], 100);
    probe_arm(&p[2], 100);

    vcon_vm_advance(vm, 1000);
    assert_int_equal(log.count, 5);
    const int expected[5] = { 3, 4, 2, 1, 0 };
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(log.ids[i], expected[i]);
    vcon_vm_destroy(vm);
}

static void test_advance_moves_now_to_each_deadline_before_firing(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    vcon_vm_advance(vm, 10);
    probe_arm(&a, 40);
    probe_arm(&b, 75);

    vcon_vm_advance(vm, 50);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.times[0], 40);
    assert_int_equal(vcon_vm_now(vm), 60);

    vcon_vm_advance(vm, 15);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.times[1], 75);
    assert_int_equal(vcon_vm_now(vm), 75);
    vcon_vm_destroy(vm);
}

static void test_timer_rearm_inside_callback(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p;
    probe_init(&p, vm, &log, 7);
    p.rearms_left = 10;
    p.rearm_step = 30;
    probe_arm(&p, 30);

    vcon_vm_advance(vm, 100);
    /* 30, 60, 90 within this advance; the re-arm for 120 waits. */
    assert_int_equal(log.count, 3);
    assert_int_equal(log.times[0], 30);
    assert_int_equal(log.times[1], 60);
    assert_int_equal(log.times[2], 90);
    assert_int_equal(vcon_vm_next_deadline(vm), 120);
    vcon_vm_advance(vm, 20);
    assert_int_equal(log.count, 4);
    assert_int_equal(log.times[3], 120);
    vcon_vm_destroy(vm);
}

static void test_rearm_inside_callback_ties_after_earlier_armed(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    a.rearms_left = 1;
    a.rearm_step = 10;
    probe_arm(&a, 10);
    probe_arm(&b, 20);
    vcon_vm_advance(vm, 20);
    /* a's re-arm at 20 came after b's arming at 20, so b goes first. */
    assert_int_equal(log.count, 3);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(log.ids[1], 2);
    assert_int_equal(log.ids[2], 1);
    assert_int_equal(log.times[2], 20);
    vcon_vm_destroy(vm);
}

static void test_disarmed_timer_does_not_fire(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    probe_arm(&a, 10);
    probe_arm(&b, 20);
    a.host.timer_disarm(a.host.ctx, a.timer);
    /* b is due at 20, but a's callback at 15 disarms it first. */
    probe_arm(&a, 15);
    a.victim = &b;
    vcon_vm_advance(vm, 100);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.ids[0], 1);
    assert_int_equal(vcon_vm_next_deadline(vm), UINT64_MAX);
    vcon_vm_destroy(vm);
}

static void test_rearm_replaces_deadline(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p;
    probe_init(&p, vm, &log, 1);
    probe_arm(&p, 10);
    probe_arm(&p, 50);
    assert_int_equal(vcon_vm_next_deadline(vm), 50);
    vcon_vm_advance(vm, 49);
    assert_int_equal(log.count, 0);
    vcon_vm_advance(vm, 1);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.times[0], 50);
    vcon_vm_destroy(vm);
}

static void test_timer_armed_in_the_past_fires_at_current_time(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p;
    probe_init(&p, vm, &log, 1);
    vcon_vm_advance(vm, 500);
    probe_arm(&p, 100);
    vcon_vm_advance(vm, 0);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.times[0], 500);
    assert_int_equal(vcon_vm_now(vm), 500);
    vcon_vm_destroy(vm);
}

static void test_advance_saturates(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p;
    probe_init(&p, vm, &log, 1);
    probe_arm(&p, UINT64_MAX);
    vcon_vm_advance(vm, 1000);
    vcon_vm_advance(vm, UINT64_MAX - 10);
    assert_int_equal(vcon_vm_now(vm), UINT64_MAX);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.times[0], UINT64_MAX);
    vcon_vm_advance(vm, UINT64_MAX);
    assert_int_equal(vcon_vm_now(vm), UINT64_MAX);
    vcon_vm_destroy(vm);
}

static void test_next_deadline_reports_earliest_armed(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    assert_int_equal(vcon_vm_next_deadline(vm), UINT64_MAX);
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    assert_int_equal(vcon_vm_next_deadline(vm), UINT64_MAX);
    probe_arm(&a, 900);
    probe_arm(&b, 300);
    assert_int_equal(vcon_vm_next_deadline(vm), 300);
    b.host.timer_disarm(b.host.ctx, b.timer);
    assert_int_equal(vcon_vm_next_deadline(vm), 900);
    vcon_vm_destroy(vm);
}

static void test_timer_may_destroy_itself_in_callback(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    a.destroy_self = true;
    probe_arm(&a, 10);
    probe_arm(&b, 20);
    vcon_vm_advance(vm, 30);
    assert_null(a.timer);
    assert_int_equal(log.count, 2);
    assert_int_equal(log.ids[1], 2);
    vcon_vm_destroy(vm);
}

static void test_timer_destroyed_by_another_callback_does_not_fire(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe a, b;
    probe_init(&a, vm, &log, 1);
    probe_init(&b, vm, &log, 2);
    a.victim = &b;
    a.destroy_victim = true;
    probe_arm(&a, 10);
    probe_arm(&b, 10);
    vcon_vm_advance(vm, 30);
    assert_int_equal(log.count, 1);
    assert_int_equal(log.ids[0], 1);
    assert_null(b.timer);
    vcon_vm_destroy(vm);
}

static void test_timer_create_without_callback_returns_null(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    assert_null(host.timer_create(host.ctx, NULL, NULL));
    /* Destroying nothing is harmless. */
    host.timer_destroy(host.ctx, NULL);
    assert_int_equal(vcon_vm_log_count(vm), 0);
    vcon_vm_destroy(vm);
}

static void test_timer_from_another_vm_is_refused_and_logged(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_vm *other = make_vm();
    struct fire_log log = { .count = 0 };
    struct probe p;
    probe_init(&p, other, &log, 1);
    struct vcon_host host = bind(vm, 0, NULL);
    host.timer_arm(host.ctx, p.timer, 5);
    assert_int_equal(vcon_vm_log_count(vm), 1);
    assert_int_equal(vcon_vm_next_deadline(vm), UINT64_MAX);
    assert_int_equal(vcon_vm_next_deadline(other), UINT64_MAX);
    vcon_vm_destroy(other);
    vcon_vm_destroy(vm);
}

struct irq_timer {
    struct vcon_host host;
};

static void raise_line7(void *device)
{
    struct irq_timer *t = device;
    t->host.irq_set_level(t->host.ctx, 7, 1);
}

static void test_irq_from_timer_reaches_observer_at_deadline(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct irq_timer it;
    it.host = bind(vm, 0, NULL);
    struct vcon_timer *timer = it.host.timer_create(it.host.ctx, raise_line7, &it);
    assert_non_null(timer);
    struct irq_trace trace = { .vm = vm };
    vcon_vm_set_irq_observer(vm, record_irq, &trace);
    it.host.timer_arm(it.host.ctx, timer, 1234);
    vcon_vm_advance(vm, 5000);
    assert_int_equal(trace.count, 1);
    assert_int_equal(trace.lines[0], 7);
    assert_int_equal(trace.times[0], 1234);
    it.host.timer_destroy(it.host.ctx, timer);
    vcon_vm_destroy(vm);
}

/* ---- log -------------------------------------------------------------- */

static void test_log_keeps_count_and_last_message(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    assert_int_equal(vcon_vm_log_count(vm), 0);
    assert_string_equal(vcon_vm_last_log(vm), "");
    char message[] = "first";
    host.log(host.ctx, VCON_LOG_WARN, message);
    /* The VM kept a copy, not the caller's buffer. */
    message[0] = 'X';
    assert_string_equal(vcon_vm_last_log(vm), "first");
    host.log(host.ctx, VCON_LOG_DEBUG, "second");
    assert_int_equal(vcon_vm_log_count(vm), 2);
    assert_string_equal(vcon_vm_last_log(vm), "second");
    vcon_vm_destroy(vm);
}

static void test_log_truncates_long_message(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    char message[4096];
    memset(message, 'a', sizeof(message) - 1);
    message[sizeof(message) - 1] = '\0';
    host.log(host.ctx, VCON_LOG_ERROR, message);
    const size_t kept = strlen(vcon_vm_last_log(vm));
    assert_true(kept > 0);
    assert_true(kept < sizeof(message) - 1);
    assert_int_equal(strncmp(vcon_vm_last_log(vm), message, kept), 0);
    vcon_vm_destroy(vm);
}

/* ---- bindings --------------------------------------------------------- */

static void test_bind_device_refuses_too_many_ports(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host;
    struct vcon_vm_binding *b = (struct vcon_vm_binding *)&b;
    assert_int_equal(vcon_vm_bind_device(vm, VCON_VM_MAX_PORTS + 1, &host, &b), -EINVAL);
    assert_null(b);
    assert_int_equal(vcon_vm_bind_device(vm, VCON_VM_MAX_PORTS, &host, &b), 0);
    assert_non_null(vcon_vm_backend(b, VCON_VM_MAX_PORTS - 1));
    assert_null(vcon_vm_backend(b, VCON_VM_MAX_PORTS));
    vcon_vm_destroy(vm);
}

static void test_backend_io_goes_to_the_port_asked_for(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_vm_binding *b = NULL;
    struct vcon_host host = bind(vm, 3, &b);
    struct vcon_script_backend *p0 = vcon_vm_backend(b, 0);
    struct vcon_script_backend *p2 = vcon_vm_backend(b, 2);
    assert_non_null(p0);
    assert_non_null(p2);
    assert_ptr_not_equal(p0, p2);

    assert_int_equal(vcon_script_input(p2, "xyz", 3), 0);
    char buf[8];
    assert_int_equal(host.backend_read(host.ctx, 0, buf, sizeof(buf)), VCON_BACKEND_NO_DATA);
    assert_int_equal(host.backend_read(host.ctx, 2, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "xyz", 3);

    assert_int_equal(host.backend_write(host.ctx, 0, "hi", 2), 2);
    size_t len = 99;
    const uint8_t *out = vcon_script_output(p0, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "hi", 2);
    vcon_script_output(p2, &len);
    assert_int_equal(len, 0);
    vcon_vm_destroy(vm);
}

static void test_backend_io_on_missing_port_answers_closed_and_logs(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 2, NULL);
    char buf[4];
    assert_int_equal(host.backend_read(host.ctx, 2, buf, sizeof(buf)), VCON_BACKEND_CLOSED);
    assert_int_equal(host.backend_write(host.ctx, 1000, "a", 1), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_vm_log_count(vm), 2);
    assert_non_null(strstr(vcon_vm_last_log(vm), "1000"));
    vcon_vm_destroy(vm);
}

static void test_now_ns_follows_the_virtual_clock(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct vcon_host host = bind(vm, 0, NULL);
    assert_int_equal(host.now_ns(host.ctx), 0);
    vcon_vm_advance(vm, 12345);
    assert_int_equal(host.now_ns(host.ctx), 12345);
    assert_int_equal(vcon_vm_now(vm), 12345);
    vcon_vm_destroy(vm);
}

static void test_destroy_frees_all_bindings_and_timers(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    /* LeakSanitizer is the assertion here: nothing below is freed by hand. */
    for (unsigned i = 0; i < 50; i++) {
        struct vcon_vm_binding *b = NULL;
        struct vcon_host host = bind(vm, i % (VCON_VM_MAX_PORTS + 1), &b);
        assert_non_null(host.timer_create(host.ctx, raise_line7, NULL));
        if (i % (VCON_VM_MAX_PORTS + 1) > 0)
            assert_int_equal(vcon_script_input(vcon_vm_backend(b, 0), "q", 1), 0);
    }
    vcon_vm_destroy(vm);
    vcon_vm_destroy(NULL);
}

/* ---- scripted backend ------------------------------------------------- */

static struct vcon_script_backend *make_backend(void)
{
    struct vcon_script_backend *b = vcon_script_backend_create();
    assert_non_null(b);
    return b;
}

static void test_script_read_returns_queued_bytes_in_order(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input(b, "hello", 5), 0);
    char buf[8];
    assert_int_equal(vcon_script_read(b, buf, 2), 2);
    assert_memory_equal(buf, "he", 2);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "llo", 3);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), VCON_BACKEND_NO_DATA);
    vcon_script_backend_destroy(b);
}

static void test_script_read_stops_at_chunk_boundary(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input(b, "ab", 2), 0);
    assert_int_equal(vcon_script_input(b, "cde", 3), 0);
    char buf[16];
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "ab", 2);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "cde", 3);
    vcon_script_backend_destroy(b);
}

static void test_script_read_of_zero_bytes_answers_no_data(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input_pause(b), 0);
    assert_int_equal(vcon_script_input(b, "z", 1), 0);
    char buf[1];
    assert_int_equal(vcon_script_read(b, buf, 0), VCON_BACKEND_NO_DATA);
    /* The empty read consumed nothing: the pause is still there. */
    assert_int_equal(vcon_script_read(b, buf, 1), VCON_BACKEND_NO_DATA);
    assert_int_equal(vcon_script_read(b, buf, 1), 1);
    assert_int_equal(buf[0], 'z');
    vcon_script_backend_destroy(b);
}

static void test_script_pause_answers_no_data_once(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input(b, "a", 1), 0);
    assert_int_equal(vcon_script_input_pause(b), 0);
    assert_int_equal(vcon_script_input(b, "b", 1), 0);
    char c;
    assert_int_equal(vcon_script_read(b, &c, 1), 1);
    assert_int_equal(c, 'a');
    assert_int_equal(vcon_script_read(b, &c, 1), VCON_BACKEND_NO_DATA);
    assert_int_equal(vcon_script_read(b, &c, 1), 1);
    assert_int_equal(c, 'b');
    vcon_script_backend_destroy(b);
}

static void test_script_backend_eof_then_connect_continues(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input(b, "one", 3), 0);
    assert_int_equal(vcon_script_input_eof(b), 0);
    assert_int_equal(vcon_script_input(b, "two", 3), 0);
    char buf[8];
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 3);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), VCON_BACKEND_CLOSED);
    /* EOF stays until someone reconnects. */
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_script_read(b, buf, 0), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_script_pending_input(b), 3);
    vcon_script_connect(b);
    assert_true(vcon_script_connected(b));
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "two", 3);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), VCON_BACKEND_NO_DATA);
    vcon_script_backend_destroy(b);
}

static void test_script_connect_before_eof_keeps_it(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_input(b, "a", 1), 0);
    assert_int_equal(vcon_script_input_eof(b), 0);
    /* The EOF is not reached yet, so connecting does not skip it. */
    vcon_script_connect(b);
    char c;
    assert_int_equal(vcon_script_read(b, &c, 1), 1);
    assert_int_equal(vcon_script_read(b, &c, 1), VCON_BACKEND_CLOSED);
    vcon_script_backend_destroy(b);
}

static void test_script_disconnect_closes_reads_and_writes_until_connect(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_true(vcon_script_connected(b));
    assert_int_equal(vcon_script_input(b, "kept", 4), 0);
    vcon_script_disconnect(b);
    assert_false(vcon_script_connected(b));
    char buf[8];
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_script_write(b, "x", 1), VCON_BACKEND_CLOSED);
    size_t len = 99;
    vcon_script_output(b, &len);
    assert_int_equal(len, 0);
    vcon_script_connect(b);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "kept", 4);
    assert_int_equal(vcon_script_write(b, "x", 1), 1);
    vcon_script_backend_destroy(b);
}

static void test_write_budget_partial_then_would_block(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    vcon_script_set_write_budget(b, 5);
    assert_int_equal(vcon_script_write(b, "abc", 3), 3);
    assert_int_equal(vcon_script_write(b, "defg", 4), 2);
    assert_int_equal(vcon_script_write(b, "h", 1), VCON_BACKEND_WOULD_BLOCK);
    size_t len = 0;
    const uint8_t *out = vcon_script_output(b, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "abcde", 5);
    vcon_script_set_write_budget(b, SIZE_MAX);
    assert_int_equal(vcon_script_write(b, "ijk", 3), 3);
    assert_int_equal(vcon_script_write(b, "lmn", 3), 3);
    vcon_script_backend_destroy(b);
}

static void test_script_output_collects_and_clears(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    size_t len = 99;
    assert_non_null(vcon_script_output(b, &len));
    assert_int_equal(len, 0);
    uint8_t big[1000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(vcon_script_write(b, big, sizeof(big)), (int)sizeof(big));
    const uint8_t *out = vcon_script_output(b, &len);
    assert_int_equal(len, 5 * sizeof(big));
    assert_memory_equal(out + 4 * sizeof(big), big, sizeof(big));
    vcon_script_clear_output(b);
    vcon_script_output(b, &len);
    assert_int_equal(len, 0);
    assert_int_equal(vcon_script_write(b, "!", 1), 1);
    out = vcon_script_output(b, &len);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], '!');
    vcon_script_backend_destroy(b);
}

static void test_script_pending_input_counts_unread_bytes(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    assert_int_equal(vcon_script_pending_input(b), 0);
    assert_int_equal(vcon_script_input(b, "abcd", 4), 0);
    assert_int_equal(vcon_script_input_pause(b), 0);
    assert_int_equal(vcon_script_input(b, "ef", 2), 0);
    assert_int_equal(vcon_script_input(b, "", 0), 0);
    assert_int_equal(vcon_script_pending_input(b), 6);
    char buf[3];
    assert_int_equal(vcon_script_read(b, buf, 3), 3);
    assert_int_equal(vcon_script_pending_input(b), 3);
    assert_int_equal(vcon_script_input(b, NULL, 1), -EINVAL);
    assert_int_equal(vcon_script_pending_input(b), 3);
    vcon_script_backend_destroy(b);
}

static void test_script_write_of_zero_bytes_moves_nothing(void **state)
{
    (void)state;
    struct vcon_script_backend *b = make_backend();
    vcon_script_set_write_budget(b, 0);
    assert_int_equal(vcon_script_write(b, "a", 0), 0);
    assert_int_equal(vcon_script_write(b, "a", 1), VCON_BACKEND_WOULD_BLOCK);
    vcon_script_backend_destroy(b);
}

/* ---- the input observer ---------------------------------------------- */

struct observed {
    char log[512];
    size_t len;
};

static void note(struct observed *o, const char *text)
{
    size_t n = strlen(text);
    if (o->len + n + 1 < sizeof(o->log)) {
        memcpy(o->log + o->len, text, n);
        o->len += n;
        o->log[o->len++] = ' ';
        o->log[o->len] = 0;
    }
}

static void obs_access(void *arg, enum vcon_space space, uint64_t addr, unsigned size,
                       bool is_write, uint32_t value)
{
    char text[64];
    snprintf(text, sizeof(text), "%s%d:%llx/%u=%x", is_write ? "W" : "R", (int)space,
             (unsigned long long)addr, size, (unsigned)value);
    note(arg, text);
}

static void obs_result(void *arg, uint32_t value)
{
    char text[32];
    snprintf(text, sizeof(text), "->%x", (unsigned)value);
    note(arg, text);
}

static void obs_guest_write(void *arg, uint64_t gpa, const void *buf, size_t len)
{
    char text[48];
    (void)buf;
    snprintf(text, sizeof(text), "M%llx+%zu", (unsigned long long)gpa, len);
    note(arg, text);
}

static void obs_advance(void *arg, uint64_t ns)
{
    char text[32];
    snprintf(text, sizeof(text), "T%llu", (unsigned long long)ns);
    note(arg, text);
}

static void obs_irq(void *arg, int line, int level)
{
    char text[32];
    snprintf(text, sizeof(text), "I%d=%d", line, level);
    note(arg, text);
}

static void raise_line7_on_write(struct fake_dev *dev, uint64_t offset, uint32_t value)
{
    (void)offset;
    (void)value;
    dev->host.irq_set_level(dev->host.ctx, 7, 1);
}

static void test_observer_sees_inputs_in_order_with_read_result_before_interrupts(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    struct observed o = { .len = 0 };
    const struct vcon_vm_observer obs = {
        .arg = &o, .access = obs_access, .read_result = obs_result,
        .guest_write = obs_guest_write, .advance = obs_advance,
    };
    uint8_t byte = 0x5A;
    fake_init(&dev, vm);
    dev.on_write = raise_line7_on_write;
    dev.regs[2] = 0x42;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_PIO, 0x3F8, 8, &fake_ops, &dev), 0);
    vcon_vm_set_observer(vm, &obs);
    vcon_vm_set_irq_observer(vm, obs_irq, &o);

    vcon_vm_outb(vm, 0x3F9, 0xFF);
    assert_int_equal(vcon_vm_inb(vm, 0x3FA), 0x42);
    assert_int_equal(vcon_vm_inb(vm, 0x2F8), 0xFF); /* unmapped: still an input */
    assert_int_equal(vcon_vm_guest_write(vm, 0x100, &byte, 1), 0);
    /* A device's own RAM write is an output, not an input. */
    assert_int_equal(dev.host.mem_write(dev.host.ctx, 0x200, &byte, 1), 0);
    vcon_vm_advance(vm, 1000);
    assert_string_equal(o.log, "W0:3f9/1=ff I7=1 R0:3fa/1=0 ->42 R0:2f8/1=0 ->ff M100+1 T1000 ");

    vcon_vm_set_observer(vm, NULL);
    vcon_vm_outb(vm, 0x3F9, 1);
    assert_int_equal(strlen(o.log), o.len);
    assert_string_equal(o.log, "W0:3f9/1=ff I7=1 R0:3fa/1=0 ->42 R0:2f8/1=0 ->ff M100+1 T1000 ");
    vcon_vm_destroy(vm);
}

static void set_line9_on_write(struct fake_dev *dev, uint64_t offset, uint32_t value)
{
    (void)offset;
    dev->host.irq_set_level(dev->host.ctx, 9, (int)(value & 1));
}

static void test_observer_sees_read_result_before_the_interrupt_it_causes(void **state)
{
    (void)state;
    struct vcon_vm *vm = make_vm();
    struct fake_dev dev;
    struct observed o = { .len = 0 };
    const struct vcon_vm_observer obs = { .arg = &o, .access = obs_access, .read_result = obs_result };
    fake_init(&dev, vm);
    dev.on_write = set_line9_on_write;
    assert_int_equal(vcon_vm_map(vm, VCON_SPACE_MMIO, 0x1000, 16, &fake_ops, &dev), 0);
    vcon_vm_set_observer(vm, &obs);
    vcon_vm_set_irq_observer(vm, obs_irq, &o);
    vcon_vm_write(vm, VCON_SPACE_MMIO, 0x1004, 4, 0x10001);
    assert_string_equal(o.log, "W1:1004/4=10001 I9=1 ");
    vcon_vm_destroy(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_refuses_zero_ram),
        cmocka_unit_test(test_create_refuses_ram_over_4gib),
        cmocka_unit_test(test_new_ram_reads_as_zeros),
        cmocka_unit_test(test_device_sees_guest_writes_and_guest_sees_device_writes),
        cmocka_unit_test(test_mem_read_outside_ram_is_refused),
        cmocka_unit_test(test_mem_write_straddling_ram_end_copies_nothing),
        cmocka_unit_test(test_mem_access_up_to_last_byte_succeeds),
        cmocka_unit_test(test_unmapped_pio_read_returns_all_ones),
        cmocka_unit_test(test_unmapped_write_is_dropped_and_counted),
        cmocka_unit_test(test_bad_access_size_reads_all_ones_and_is_counted),
        cmocka_unit_test(test_access_in_unknown_space_is_unmapped),
        cmocka_unit_test(test_mapped_access_reaches_device_at_offset),
        cmocka_unit_test(test_write_value_is_masked_to_access_size),
        cmocka_unit_test(test_read_value_is_masked_to_access_size),
        cmocka_unit_test(test_device_read_failure_reads_all_ones),
        cmocka_unit_test(test_overlapping_map_is_refused),
        cmocka_unit_test(test_map_refuses_empty_or_wrapping_region),
        cmocka_unit_test(test_unmap_removes_region_and_unknown_base_is_enoent),
        cmocka_unit_test(test_access_straddling_region_end_is_unmapped),
        cmocka_unit_test(test_regions_route_to_their_own_devices),
        cmocka_unit_test(test_spaces_are_separate),
        cmocka_unit_test(test_pci_config_routing),
        cmocka_unit_test(test_device_may_remap_during_its_access),
        cmocka_unit_test(test_irq_level_tracks_and_counts_raises),
        cmocka_unit_test(test_irq_line_out_of_range_is_ignored_and_logged),
        cmocka_unit_test(test_irq_observer_sees_changes),
        cmocka_unit_test(test_irq_observer_runs_after_device_access_returns),
        cmocka_unit_test(test_irq_observer_is_not_reentered),
        cmocka_unit_test(test_msi_recorded),
        cmocka_unit_test(test_timers_fire_in_deadline_order_ties_by_arming),
        cmocka_unit_test(test_advance_moves_now_to_each_deadline_before_firing),
        cmocka_unit_test(test_timer_rearm_inside_callback),
        cmocka_unit_test(test_rearm_inside_callback_ties_after_earlier_armed),
        cmocka_unit_test(test_disarmed_timer_does_not_fire),
        cmocka_unit_test(test_rearm_replaces_deadline),
        cmocka_unit_test(test_timer_armed_in_the_past_fires_at_current_time),
        cmocka_unit_test(test_advance_saturates),
        cmocka_unit_test(test_next_deadline_reports_earliest_armed),
        cmocka_unit_test(test_timer_may_destroy_itself_in_callback),
        cmocka_unit_test(test_timer_destroyed_by_another_callback_does_not_fire),
        cmocka_unit_test(test_timer_create_without_callback_returns_null),
        cmocka_unit_test(test_timer_from_another_vm_is_refused_and_logged),
        cmocka_unit_test(test_irq_from_timer_reaches_observer_at_deadline),
        cmocka_unit_test(test_log_keeps_count_and_last_message),
        cmocka_unit_test(test_log_truncates_long_message),
        cmocka_unit_test(test_bind_device_refuses_too_many_ports),
        cmocka_unit_test(test_backend_io_goes_to_the_port_asked_for),
        cmocka_unit_test(test_backend_io_on_missing_port_answers_closed_and_logs),
        cmocka_unit_test(test_now_ns_follows_the_virtual_clock),
        cmocka_unit_test(test_destroy_frees_all_bindings_and_timers),
        cmocka_unit_test(test_script_read_returns_queued_bytes_in_order),
        cmocka_unit_test(test_script_read_stops_at_chunk_boundary),
        cmocka_unit_test(test_script_read_of_zero_bytes_answers_no_data),
        cmocka_unit_test(test_script_pause_answers_no_data_once),
        cmocka_unit_test(test_script_backend_eof_then_connect_continues),
        cmocka_unit_test(test_script_connect_before_eof_keeps_it),
        cmocka_unit_test(test_script_disconnect_closes_reads_and_writes_until_connect),
        cmocka_unit_test(test_write_budget_partial_then_would_block),
        cmocka_unit_test(test_script_output_collects_and_clears),
        cmocka_unit_test(test_script_pending_input_counts_unread_bytes),
        cmocka_unit_test(test_script_write_of_zero_bytes_moves_nothing),
        cmocka_unit_test(test_observer_sees_inputs_in_order_with_read_result_before_interrupts),
        cmocka_unit_test(test_observer_sees_read_result_before_the_interrupt_it_causes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
