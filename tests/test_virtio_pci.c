/* The legacy virtio-PCI transport (docs/virtio-pci.md): PCI configuration
 * space, BAR sizing, COMMAND decoding, the MSI-X capability and table, the
 * legacy BAR0 registers, device-configuration forwarding, reset, INTx and
 * MSI-X delivery, and a seeded random walk over every offset. The transport
 * runs on the fake hypervisor's host interface with a small dummy virtio
 * device that records what the transport tells it. */
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
#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

#define RAM_SIZE (1024u * 1024u)
#define INTX_LINE 10u
#define NR_QUEUES 4u
#define QUEUE_SIZE 16u
#define NR_VECTORS (NR_QUEUES + 1u)
#define DUMMY_CONFIG_SIZE 12u
#define DUMMY_HOST_FEATURES                                                            \
    ((1u << 0) | (1u << 1) | (1u << VCON_VIRTIO_F_RING_INDIRECT_DESC) |                \
     (1u << VCON_VIRTIO_F_RING_EVENT_IDX))
#define BAR0_EXPECTED_SIZE 64u /* 24 + 12 rounded up */
#define MSI_ADDR 0xFEE01000u
#define CMD_DECODE (VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY | VCON_PCI_COMMAND_MASTER)
#define MSIX_CTRL (VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_FLAGS)

/* ---- the dummy device -------------------------------------------------- */

struct dummy {
    uint32_t host_features;
    unsigned config_size;
    uint8_t config[DUMMY_CONFIG_SIZE];
    uint32_t features;
    unsigned set_features_calls;
    unsigned notifies[NR_QUEUES];
    unsigned notify_calls;
    unsigned status_calls;
    uint8_t last_old_status, last_new_status;
    unsigned resets;
};

static uint32_t dummy_host_features(void *device)
{
    return ((struct dummy *)device)->host_features;
}

static void dummy_set_features(void *device, uint32_t features)
{
    struct dummy *d = device;
    d->features = features;
    d->set_features_calls++;
}

/* Like a real device, the dummy refuses misaligned configuration accesses
 * (offset not a multiple of the size). */
static int dummy_config_read(void *device, unsigned offset, unsigned size, uint32_t *value)
{
    struct dummy *d = device;
    if (offset + size > DUMMY_CONFIG_SIZE || (size != 1 && size != 2 && size != 4) ||
        offset % size != 0)
        return -EINVAL;
    *value = 0;
    for (unsigned i = 0; i < size; i++)
        *value |= (uint32_t)d->config[offset + i] << (8 * i);
    return 0;
}

static int dummy_config_write(void *device, unsigned offset, unsigned size, uint32_t value)
{
    struct dummy *d = device;
    if (offset + size > DUMMY_CONFIG_SIZE || (size != 1 && size != 2 && size != 4) ||
        offset % size != 0)
        return -EINVAL;
    for (unsigned i = 0; i < size; i++)
        d->config[offset + i] = (uint8_t)(value >> (8 * i));
    return 0;
}

static unsigned dummy_config_size(void *device)
{
    return ((struct dummy *)device)->config_size;
}

static void dummy_queue_notify(void *device, unsigned index)
{
    struct dummy *d = device;
    d->notify_calls++;
    if (index < NR_QUEUES)
        d->notifies[index]++;
}

static void dummy_status_changed(void *device, uint8_t old_status, uint8_t new_status)
{
    struct dummy *d = device;
    d->status_calls++;
    d->last_old_status = old_status;
    d->last_new_status = new_status;
}

static void dummy_reset(void *device)
{
    ((struct dummy *)device)->resets++;
}

static const struct vcon_virtio_device_ops dummy_ops = {
    .host_features = dummy_host_features,
    .set_features = dummy_set_features,
    .config_read = dummy_config_read,
    .config_write = dummy_config_write,
    .config_size = dummy_config_size,
    .queue_notify = dummy_queue_notify,
    .status_changed = dummy_status_changed,
    .reset = dummy_reset,
};

/* ---- fixture ------------------------------------------------------------- */

struct fx {
    struct vcon_vm *vm;
    struct vcon_host host;
    struct vcon_virtio_pci_config config;
    struct dummy dev;
    struct vcon_virtio_pci *t;
};

static struct vcon_virtio_pci_config console_config(void)
{
    return (struct vcon_virtio_pci_config){
        .device_id = 0x1003,
        .subsystem_id = 3,
        .class_code = 0x07,
        .subclass = 0x80,
        .prog_if = 0x00,
        .nr_queues = NR_QUEUES,
        .queue_size = QUEUE_SIZE,
        .intx_line = INTX_LINE,
    };
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(vcon_vm_create(RAM_SIZE, &f->vm), 0);
    assert_int_equal(vcon_vm_bind_device(f->vm, 0, &f->host, NULL), 0);
    f->config = console_config();
    f->dev.host_features = DUMMY_HOST_FEATURES;
    f->dev.config_size = DUMMY_CONFIG_SIZE;
    for (unsigned i = 0; i < DUMMY_CONFIG_SIZE; i++)
        f->dev.config[i] = (uint8_t)(0xA0 + i);
    assert_int_equal(vcon_virtio_pci_create(&f->config, &f->host, &dummy_ops, &f->dev, &f->t), 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        return 0;
    vcon_virtio_pci_destroy(f->t);
    vcon_vm_destroy(f->vm);
    free(f);
    return 0;
}

/* Accessors that insist on success; the raw calls test refusals. */
static uint32_t cfg_r(struct fx *f, unsigned offset, unsigned size)
{
    uint32_t value = 0xDEADBEEF;
    assert_int_equal(vcon_virtio_pci_config_read(f->t, offset, size, &value), 0);
    return value;
}

static void cfg_w(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    assert_int_equal(vcon_virtio_pci_config_write(f->t, offset, size, value), 0);
}

static uint32_t bar_r(struct fx *f, unsigned bar, unsigned offset, unsigned size)
{
    uint32_t value = 0xDEADBEEF;
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, bar, offset, size, &value), 0);
    return value;
}

static void bar_w(struct fx *f, unsigned bar, unsigned offset, unsigned size, uint32_t value)
{
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, bar, offset, size, value), 0);
}

static uint32_t bar0_r(struct fx *f, unsigned offset, unsigned size)
{
    return bar_r(f, 0, offset, size);
}

static void bar0_w(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    bar_w(f, 0, offset, size, value);
}

static void bar0_refused_read(struct fx *f, unsigned offset, unsigned size)
{
    uint32_t value = 0;
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 0, offset, size, &value), -EINVAL);
    assert_int_equal(value, size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu);
}

static void bar0_refused_write(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, 0, offset, size, value), -EINVAL);
}

static struct vcon_virtio_pci_stats stats(struct fx *f)
{
    struct vcon_virtio_pci_stats s;
    vcon_virtio_pci_get_stats(f->t, &s);
    return s;
}

static void enable_decode(struct fx *f)
{
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE);
}

static void set_msix_control(struct fx *f, uint16_t control)
{
    cfg_w(f, MSIX_CTRL, 2, control);
}

static void program_entry(struct fx *f, unsigned vector, uint32_t addr, uint32_t data,
                          bool masked)
{
    unsigned base = vector * VCON_PCI_MSIX_ENTRY_SIZE;
    bar_w(f, 1, base + VCON_PCI_MSIX_ENTRY_LOWER_ADDR, 4, addr);
    bar_w(f, 1, base + VCON_PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
    bar_w(f, 1, base + VCON_PCI_MSIX_ENTRY_DATA, 4, data);
    bar_w(f, 1, base + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
          masked ? VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static void set_entry_mask(struct fx *f, unsigned vector, bool masked)
{
    bar_w(f, 1, vector * VCON_PCI_MSIX_ENTRY_SIZE + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
          masked ? VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

static uint32_t pba_word(struct fx *f)
{
    return bar_r(f, 1, VCON_VIRTIO_PCI_MSIX_PBA, 4);
}

/* The queue's ring at page `pfn` of guest RAM, avail->flags = `flags`,
 * announced to the device through QUEUE_SEL and QUEUE_PFN. */
static void setup_queue(struct fx *f, unsigned index, uint32_t pfn, uint16_t avail_flags)
{
    uint8_t zero[4096] = {0};
    uint64_t gpa = (uint64_t)pfn * VCON_VIRTQ_LEGACY_ALIGN;
    assert_int_equal(vcon_vm_guest_write(f->vm, gpa, zero, sizeof(zero)), 0);
    assert_int_equal(vcon_vm_guest_write(f->vm, gpa + VCON_VIRTQ_LEGACY_ALIGN, zero, sizeof(zero)),
                     0);
    /* avail->flags, little-endian, right after the descriptor table. */
    uint8_t flags[2] = {(uint8_t)avail_flags, (uint8_t)(avail_flags >> 8)};
    assert_int_equal(vcon_vm_guest_write(f->vm, gpa + 16u * QUEUE_SIZE, flags, 2), 0);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, index);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, pfn);
}

/* Make a buffer available on queue `index` (one device-writable
 * descriptor) and have the device take it and return it, as a device does
 * before asking for an interrupt. The ring was laid out by setup_queue(). */
static void complete_one(struct fx *f, unsigned index)
{
    struct vcon_virtq *vq = vcon_virtio_pci_queue(f->t, index);
    struct vcon_virtq_chain *chain = calloc(1, sizeof(*chain));
    uint8_t desc[16] = {0};
    uint8_t le16[2];
    uint16_t avail_idx = 0;
    assert_non_null(chain);
    assert_non_null(vq);
    assert_int_equal(vcon_vm_guest_read(f->vm, vq->avail_gpa + 2, le16, 2), 0);
    avail_idx = (uint16_t)(le16[0] | le16[1] << 8);
    uint16_t head = (uint16_t)(avail_idx % QUEUE_SIZE);
    /* addr 0x80000, len 64, flags WRITE */
    desc[2] = 0x08;
    desc[8] = 64;
    desc[12] = VCON_VIRTQ_DESC_F_WRITE;
    assert_int_equal(vcon_vm_guest_write(f->vm, vq->desc_gpa + 16u * head, desc, 16), 0);
    le16[0] = (uint8_t)head;
    le16[1] = (uint8_t)(head >> 8);
    assert_int_equal(
        vcon_vm_guest_write(f->vm, vq->avail_gpa + 4 + 2u * (avail_idx % QUEUE_SIZE), le16, 2), 0);
    avail_idx++;
    le16[0] = (uint8_t)avail_idx;
    le16[1] = (uint8_t)(avail_idx >> 8);
    assert_int_equal(vcon_vm_guest_write(f->vm, vq->avail_gpa + 2, le16, 2), 0);
    assert_int_equal(vcon_virtq_pop(vq, chain), VCON_VIRTQ_CHAIN);
    assert_int_equal(chain->head, head);
    assert_int_equal(vcon_virtq_push(vq, chain->head, 1), 0);
    free(chain);
}

/* A used buffer on the queue, then the interrupt request. */
static void complete_and_notify(struct fx *f, unsigned index)
{
    complete_one(f, index);
    vcon_virtio_pci_notify_queue(f->t, index);
}

static int irq_level(struct fx *f)
{
    return vcon_vm_irq_level(f->vm, INTX_LINE);
}

/* ---- identity ----------------------------------------------------------- */

static void identity_fields_match_the_configuration(void **state)
{
    struct fx *f = *state;
    assert_int_equal(cfg_r(f, VCON_PCI_VENDOR_ID, 2), 0x1AF4);
    assert_int_equal(cfg_r(f, VCON_PCI_DEVICE_ID, 2), 0x1003);
    assert_int_equal(cfg_r(f, VCON_PCI_VENDOR_ID, 4), 0x10031AF4u);
    assert_int_equal(cfg_r(f, VCON_PCI_REVISION_ID, 1), 0);
    assert_int_equal(cfg_r(f, VCON_PCI_CLASS_PROG, 1), 0x00);
    assert_int_equal(cfg_r(f, VCON_PCI_CLASS_DEVICE, 2), 0x0780);
    assert_int_equal(cfg_r(f, 0x0B, 1), 0x07);
    assert_int_equal(cfg_r(f, VCON_PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(cfg_r(f, VCON_PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1AF4);
    assert_int_equal(cfg_r(f, VCON_PCI_SUBSYSTEM_ID, 2), 3);
    assert_int_equal(cfg_r(f, VCON_PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(cfg_r(f, VCON_PCI_CAPABILITY_LIST, 1), VCON_VIRTIO_PCI_MSIX_CAP);
    assert_int_equal(cfg_r(f, VCON_PCI_STATUS, 2), VCON_PCI_STATUS_CAP_LIST);
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 2), 0);
    /* Byte reads agree with the dword they come from. */
    uint32_t dword = cfg_r(f, VCON_PCI_SUBSYSTEM_VENDOR_ID, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(cfg_r(f, VCON_PCI_SUBSYSTEM_VENDOR_ID + i, 1), (dword >> (8 * i)) & 0xFF);
    /* The extended space exists and reads 0. */
    assert_int_equal(cfg_r(f, 0x100, 4), 0);
    assert_int_equal(cfg_r(f, 0xFFC, 4), 0);
    assert_int_equal(cfg_r(f, 0xFFF, 1), 0);
}

static void other_device_types_show_their_own_ids(void **state)
{
    struct fx *f = *state;
    struct vcon_virtio_pci *t = NULL;
    struct vcon_virtio_pci_config c = console_config();
    uint32_t value = 0;
    c.device_id = 0x1000;
    c.subsystem_id = 1;
    c.class_code = 0x02;
    c.subclass = 0x00;
    c.prog_if = 0x5A;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), 0);
    assert_int_equal(vcon_virtio_pci_config_read(t, VCON_PCI_VENDOR_ID, 4, &value), 0);
    assert_int_equal(value, 0x10001AF4u);
    assert_int_equal(vcon_virtio_pci_config_read(t, VCON_PCI_REVISION_ID, 4, &value), 0);
    assert_int_equal(value, 0x02005A00u);
    assert_int_equal(vcon_virtio_pci_config_read(t, VCON_PCI_SUBSYSTEM_VENDOR_ID, 4, &value), 0);
    assert_int_equal(value, 0x00011AF4u);
    vcon_virtio_pci_destroy(t);
}

static void create_rejects_bad_configurations(void **state)
{
    struct fx *f = *state;
    struct vcon_virtio_pci *t = NULL;
    struct vcon_virtio_pci_config c = console_config();
    struct vcon_host host = f->host;

    c.nr_queues = 0;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    c.nr_queues = VCON_VIRTIO_PCI_MAX_QUEUES + 1;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    c = console_config();
    c.queue_size = 0;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    c.queue_size = 24;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    c.queue_size = VCON_VIRTQ_MAX_SIZE * 2;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    c = console_config();
    host.msi_send = NULL;
    assert_int_equal(vcon_virtio_pci_create(&c, &host, &dummy_ops, &f->dev, &t), -EINVAL);
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, NULL, &f->dev, &t), -EINVAL);
    /* The device configuration must fit a 256-byte I/O BAR after the 24
     * bytes of registers. */
    f->dev.config_size = 256 - 24 + 1;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), -EINVAL);
    f->dev.config_size = 256 - 24;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), 0);
    assert_int_equal(vcon_virtio_pci_bar_size(t, 0), 256);
    vcon_virtio_pci_destroy(t);
    f->dev.config_size = DUMMY_CONFIG_SIZE;
    /* The largest transport: one vector per queue plus config. */
    c.nr_queues = VCON_VIRTIO_PCI_MAX_QUEUES;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), 0);
    uint32_t control = 0;
    assert_int_equal(vcon_virtio_pci_config_read(t, MSIX_CTRL, 2, &control), 0);
    assert_int_equal(control & VCON_PCI_MSIX_FLAGS_QSIZE, VCON_VIRTIO_PCI_MAX_QUEUES);
    vcon_virtio_pci_destroy(t);
}

/* ---- BARs ----------------------------------------------------------------- */

static void bar0_sizing_reads_back_the_io_size_mask(void **state)
{
    struct fx *f = *state;
    assert_int_equal(vcon_virtio_pci_bar_size(f->t, 0), BAR0_EXPECTED_SIZE);
    assert_int_equal(cfg_r(f, VCON_PCI_BASE_ADDRESS_0, 4), VCON_PCI_BASE_ADDRESS_SPACE_IO);
    cfg_w(f, VCON_PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFFu);
    assert_int_equal(cfg_r(f, VCON_PCI_BASE_ADDRESS_0, 4), ~(BAR0_EXPECTED_SIZE - 1u) | 1u);
    cfg_w(f, VCON_PCI_BASE_ADDRESS_0, 4, 0xC040);
    assert_int_equal(cfg_r(f, VCON_PCI_BASE_ADDRESS_0, 4), 0xC041);
    assert_int_equal(vcon_virtio_pci_bar_base(f->t, 0), 0xC040);
    /* Bits below the size are hard-wired to 0. */
    cfg_w(f, VCON_PCI_BASE_ADDRESS_0, 4, 0xC07E);
    assert_int_equal(cfg_r(f, VCON_PCI_BASE_ADDRESS_0, 4), 0xC041);
    assert_int_equal(vcon_virtio_pci_bar_base(f->t, 0), 0xC040);
    /* A byte write changes just its byte. */
    cfg_w(f, VCON_PCI_BASE_ADDRESS_0 + 1, 1, 0xD0);
    assert_int_equal(vcon_virtio_pci_bar_base(f->t, 0), 0xD040);
}

static void bar0_size_follows_the_device_configuration_size(void **state)
{
    struct fx *f = *state;
    static const struct {
        unsigned config_size, bar_size;
    } cases[] = {{0, 32}, {8, 32}, {9, 64}, {40, 64}, {41, 128}, {104, 128}, {105, 256}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vcon_virtio_pci *t = NULL;
        struct vcon_virtio_pci_config c = console_config();
        uint32_t value = 0;
        f->dev.config_size = cases[i].config_size;
        assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), 0);
        assert_int_equal(vcon_virtio_pci_bar_size(t, 0), cases[i].bar_size);
        assert_int_equal(vcon_virtio_pci_config_write(t, VCON_PCI_BASE_ADDRESS_0, 4, UINT32_MAX),
                         0);
        assert_int_equal(vcon_virtio_pci_config_read(t, VCON_PCI_BASE_ADDRESS_0, 4, &value), 0);
        assert_int_equal(value, ~(cases[i].bar_size - 1u) | 1u);
        vcon_virtio_pci_destroy(t);
    }
}

static void bar1_sizing_reads_back_the_memory_size_mask(void **state)
{
    struct fx *f = *state;
    const unsigned bar1 = VCON_PCI_BASE_ADDRESS_0 + 4;
    assert_int_equal(vcon_virtio_pci_bar_size(f->t, 1), VCON_VIRTIO_PCI_BAR1_SIZE);
    assert_int_equal(cfg_r(f, bar1, 4), 0);
    cfg_w(f, bar1, 4, 0xFFFFFFFFu);
    assert_int_equal(cfg_r(f, bar1, 4), ~(VCON_VIRTIO_PCI_BAR1_SIZE - 1u));
    cfg_w(f, bar1, 4, 0xFEB01234u);
    assert_int_equal(cfg_r(f, bar1, 4), 0xFEB01000u);
    assert_int_equal(vcon_virtio_pci_bar_base(f->t, 1), 0xFEB01000u);
}

static void bars_2_to_5_and_the_rom_read_zero_and_ignore_writes(void **state)
{
    struct fx *f = *state;
    for (unsigned bar = 2; bar <= 5; bar++) {
        unsigned offset = VCON_PCI_BASE_ADDRESS_0 + 4 * bar;
        cfg_w(f, offset, 4, 0xFFFFFFFFu);
        assert_int_equal(cfg_r(f, offset, 4), 0);
        cfg_w(f, offset, 4, 0xE0000000u);
        assert_int_equal(cfg_r(f, offset, 4), 0);
        assert_int_equal(vcon_virtio_pci_bar_size(f->t, bar), 0);
        assert_int_equal(vcon_virtio_pci_bar_base(f->t, bar), 0);
    }
    cfg_w(f, VCON_PCI_ROM_ADDRESS, 4, 0xFFFFFFFFu);
    assert_int_equal(cfg_r(f, VCON_PCI_ROM_ADDRESS, 4), 0);
    /* Ignored writes to read-only registers are ordinary PCI, not errors. */
    assert_int_equal(stats(f).bad_accesses, 0);
}

static void read_only_header_fields_ignore_writes(void **state)
{
    struct fx *f = *state;
    cfg_w(f, VCON_PCI_VENDOR_ID, 4, 0);
    cfg_w(f, VCON_PCI_REVISION_ID, 4, 0xFFFFFFFFu);
    cfg_w(f, 0x0C, 4, 0xFFFFFFFFu); /* cache line, latency, header type, BIST */
    cfg_w(f, VCON_PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
    cfg_w(f, VCON_PCI_CAPABILITY_LIST, 1, 0);
    cfg_w(f, VCON_PCI_INTERRUPT_PIN, 1, 4);
    cfg_w(f, VCON_VIRTIO_PCI_MSIX_CAP, 2, 0);
    cfg_w(f, VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_TABLE, 4, 0xFFFFFFFFu);
    cfg_w(f, 0x200, 4, 0x12345678u);
    assert_int_equal(cfg_r(f, VCON_PCI_VENDOR_ID, 4), 0x10031AF4u);
    assert_int_equal(cfg_r(f, VCON_PCI_REVISION_ID, 4), 0x07800000u);
    assert_int_equal(cfg_r(f, 0x0C, 4), 0);
    assert_int_equal(cfg_r(f, VCON_PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00031AF4u);
    assert_int_equal(cfg_r(f, VCON_PCI_CAPABILITY_LIST, 1), VCON_VIRTIO_PCI_MSIX_CAP);
    assert_int_equal(cfg_r(f, VCON_PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(cfg_r(f, VCON_VIRTIO_PCI_MSIX_CAP, 2), VCON_PCI_CAP_ID_MSIX);
    assert_int_equal(cfg_r(f, VCON_VIRTIO_PCI_MSIX_CAP + VCON_PCI_MSIX_TABLE, 4), 1);
    assert_int_equal(cfg_r(f, 0x200, 4), 0);
}

/* ---- COMMAND / STATUS --------------------------------------------------- */

static void command_register_keeps_only_io_memory_master_and_intx_disable(void **state)
{
    struct fx *f = *state;
    cfg_w(f, VCON_PCI_COMMAND, 2, 0xFFFF);
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 2), 0x0407);
    cfg_w(f, VCON_PCI_COMMAND, 4, 0xFFFFFFFFu); /* STATUS half is read-only */
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 4), 0x00100407u);
    cfg_w(f, VCON_PCI_COMMAND + 1, 1, 0x00); /* byte write of the high half */
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 2), 0x0007);
    cfg_w(f, VCON_PCI_STATUS, 2, 0xFFFF);
    assert_int_equal(cfg_r(f, VCON_PCI_STATUS, 2), VCON_PCI_STATUS_CAP_LIST);
    cfg_w(f, VCON_PCI_COMMAND, 2, 0);
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 2), 0);
}

static void bar_accesses_are_refused_while_decode_is_off(void **state)
{
    struct fx *f = *state;
    uint32_t value = 0;
    /* Power-on: both decoders off. */
    bar0_refused_read(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4);
    bar0_refused_write(f, VCON_VIRTIO_PCI_STATUS, 1, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 1, 0, 4, &value), -EINVAL);
    assert_int_equal(value, 0xFFFFFFFFu);
    assert_int_equal(stats(f).decode_off, 3);
    assert_int_equal(vcon_virtio_pci_status(f->t), 0);
    assert_int_equal(f->dev.status_calls, 0);

    cfg_w(f, VCON_PCI_COMMAND, 2, VCON_PCI_COMMAND_IO);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4), DUMMY_HOST_FEATURES);
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, 1, 12, 4, 0), -EINVAL);
    assert_int_equal(stats(f).decode_off, 4);

    cfg_w(f, VCON_PCI_COMMAND, 2, VCON_PCI_COMMAND_MEMORY);
    assert_int_equal(bar_r(f, 1, VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
                     VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT);
    bar0_refused_read(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2);
    assert_int_equal(stats(f).decode_off, 5);
    assert_int_equal(stats(f).bad_accesses, 0);
}

static void missing_bars_are_refused(void **state)
{
    struct fx *f = *state;
    uint32_t value = 0;
    enable_decode(f);
    for (unsigned bar = 2; bar < 7; bar++) {
        assert_int_equal(vcon_virtio_pci_bar_read(f->t, bar, 0, 4, &value), -EINVAL);
        assert_int_equal(value, 0xFFFFFFFFu);
        assert_int_equal(vcon_virtio_pci_bar_write(f->t, bar, 0, 4, 0), -EINVAL);
    }
    assert_int_equal(stats(f).bad_accesses, 10);
}

/* ---- capability / MSI-X config ------------------------------------------ */

static void capability_walk_finds_msix_with_one_vector_per_queue_plus_config(void **state)
{
    struct fx *f = *state;
    unsigned found = 0, hops = 0;
    assert_true(cfg_r(f, VCON_PCI_STATUS, 2) & VCON_PCI_STATUS_CAP_LIST);
    for (unsigned cap = cfg_r(f, VCON_PCI_CAPABILITY_LIST, 1) & ~3u; cap != 0 && hops < 48;
         cap = cfg_r(f, cap + 1, 1) & ~3u, hops++) {
        assert_true(cap >= 0x40 && cap < 0x100);
        if (cfg_r(f, cap, 1) == VCON_PCI_CAP_ID_MSIX)
            found = cap;
    }
    assert_int_equal(hops, 1);
    assert_int_equal(found, VCON_VIRTIO_PCI_MSIX_CAP);
    uint32_t control = cfg_r(f, found + VCON_PCI_MSIX_FLAGS, 2);
    assert_int_equal((control & VCON_PCI_MSIX_FLAGS_QSIZE) + 1, NR_VECTORS);
    assert_int_equal(control & (VCON_PCI_MSIX_FLAGS_ENABLE | VCON_PCI_MSIX_FLAGS_MASKALL), 0);
    assert_int_equal(cfg_r(f, found + VCON_PCI_MSIX_TABLE, 4), VCON_VIRTIO_PCI_MSIX_TABLE | 1u);
    assert_int_equal(cfg_r(f, found + VCON_PCI_MSIX_PBA, 4), VCON_VIRTIO_PCI_MSIX_PBA | 1u);
    assert_false(vcon_virtio_pci_msix_enabled(f->t));
}

static void msix_control_keeps_only_enable_and_function_mask(void **state)
{
    struct fx *f = *state;
    set_msix_control(f, 0xFFFF);
    assert_int_equal(cfg_r(f, MSIX_CTRL, 2), 0xC000u | (NR_VECTORS - 1));
    assert_true(vcon_virtio_pci_msix_enabled(f->t));
    cfg_w(f, MSIX_CTRL + 1, 1, 0x40); /* byte write: mask, not enabled */
    assert_int_equal(cfg_r(f, MSIX_CTRL, 2), 0x4000u | (NR_VECTORS - 1));
    assert_false(vcon_virtio_pci_msix_enabled(f->t));
    cfg_w(f, VCON_VIRTIO_PCI_MSIX_CAP, 4, 0x80000000u); /* dword write, id byte ignored */
    assert_int_equal(cfg_r(f, VCON_VIRTIO_PCI_MSIX_CAP, 4),
                     0x80000000u | ((NR_VECTORS - 1) << 16) | VCON_PCI_CAP_ID_MSIX);
}

static void interrupt_line_is_read_write(void **state)
{
    struct fx *f = *state;
    assert_int_equal(cfg_r(f, VCON_PCI_INTERRUPT_LINE, 1), 0);
    cfg_w(f, VCON_PCI_INTERRUPT_LINE, 1, 11);
    assert_int_equal(cfg_r(f, VCON_PCI_INTERRUPT_LINE, 1), 11);
    cfg_w(f, VCON_PCI_INTERRUPT_LINE, 4, 0xFFFFFF05u);
    assert_int_equal(cfg_r(f, VCON_PCI_INTERRUPT_LINE, 4), 0x0105u);
}

static void config_space_accesses_of_bad_size_or_offset_are_refused(void **state)
{
    struct fx *f = *state;
    static const struct {
        unsigned offset, size;
    } bad[] = {{0, 0}, {0, 3}, {0, 8}, {1, 4}, {3, 2}, {2, 4}, {4096, 1}, {4095, 2}, {65536, 4}};
    const size_t n = sizeof(bad) / sizeof(bad[0]);
    for (size_t i = 0; i < n; i++) {
        uint32_t value = 0;
        assert_int_equal(vcon_virtio_pci_config_read(f->t, bad[i].offset, bad[i].size, &value),
                         -EINVAL);
        assert_int_equal(value, bad[i].size == 1   ? 0xFFu
                                : bad[i].size == 2 ? 0xFFFFu
                                                   : 0xFFFFFFFFu);
        assert_int_equal(vcon_virtio_pci_config_write(f->t, bad[i].offset, bad[i].size, 0xFFFF),
                         -EINVAL);
    }
    assert_int_equal(stats(f).bad_accesses, 2 * n);
    /* A refused COMMAND write changed nothing. */
    assert_int_equal(cfg_r(f, VCON_PCI_COMMAND, 2), 0);
    /* Fine: 2 bytes at offset 2, 1 byte at 3. */
    assert_int_equal(cfg_r(f, 2, 2), 0x1003);
    assert_int_equal(cfg_r(f, 3, 1), 0x10);
}

/* ---- features ------------------------------------------------------------ */

static void guest_features_are_masked_to_host_features(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4), DUMMY_HOST_FEATURES);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 0xFFFFFFFFu);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4), DUMMY_HOST_FEATURES);
    assert_int_equal(f->dev.features, DUMMY_HOST_FEATURES);
    assert_int_equal(f->dev.set_features_calls, 1);
    assert_int_equal(vcon_virtio_pci_features(f->t), DUMMY_HOST_FEATURES);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 0x00000006u);
    assert_int_equal(vcon_virtio_pci_features(f->t), 0x2u);
    assert_int_equal(f->dev.features, 0x2u);
}

static void feature_writes_after_driver_ok_are_ignored_and_counted(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 1);
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1,
           VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
               VCON_VIRTIO_STATUS_DRIVER_OK);
    bar0_refused_write(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 3);
    assert_int_equal(vcon_virtio_pci_features(f->t), 1);
    assert_int_equal(f->dev.set_features_calls, 1);
    assert_int_equal(stats(f).bad_accesses, 1);
}

static void host_features_and_queue_num_are_read_only(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_refused_write(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4, 0);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2, 4);
    bar0_refused_write(f, VCON_VIRTIO_PCI_ISR, 1, 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4), DUMMY_HOST_FEATURES);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), QUEUE_SIZE);
    assert_int_equal(stats(f).bad_accesses, 3);
}

/* ---- queues ----------------------------------------------------------- */

static void queue_setup_through_select_and_pfn_lays_out_the_ring(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2), 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), QUEUE_SIZE);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, 0x20);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0x20);

    const struct vcon_virtq *vq = vcon_virtio_pci_queue(f->t, 1);
    assert_non_null(vq);
    assert_true(vcon_virtq_ready(vq));
    assert_int_equal(vq->size, QUEUE_SIZE);
    assert_int_equal(vq->desc_gpa, 0x20000);
    assert_int_equal(vq->avail_gpa, 0x20000 + 16 * QUEUE_SIZE);
    /* avail: flags, idx, ring[16], used_event = 38 bytes; used on the next
     * 4096 boundary. */
    assert_int_equal(vq->used_gpa, 0x21000);
    assert_false(vq->event_idx);
    assert_false(vq->indirect);
    /* The other queues stay down. */
    assert_false(vcon_virtq_ready(vcon_virtio_pci_queue(f->t, 0)));
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
    assert_null(vcon_virtio_pci_queue(f->t, NR_QUEUES));
}

static void negotiated_ring_features_reach_the_queue(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4,
           (1u << VCON_VIRTIO_F_RING_EVENT_IDX) | (1u << VCON_VIRTIO_F_RING_INDIRECT_DESC));
    setup_queue(f, 2, 0x30, 0);
    const struct vcon_virtq *vq = vcon_virtio_pci_queue(f->t, 2);
    assert_true(vq->event_idx);
    assert_true(vq->indirect);
    assert_int_equal(vq->desc_gpa, 0x30000);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 1u << VCON_VIRTIO_F_RING_INDIRECT_DESC);
    setup_queue(f, 3, 0x40, 0);
    vq = vcon_virtio_pci_queue(f->t, 3);
    assert_false(vq->event_idx);
    assert_true(vq->indirect);
}

static void pfn_zero_resets_the_queue(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    assert_true(vcon_virtq_ready(vcon_virtio_pci_queue(f->t, 0)));
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, 0);
    assert_false(vcon_virtq_ready(vcon_virtio_pci_queue(f->t, 0)));
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
    assert_int_equal(stats(f).bad_accesses, 0);
}

static void out_of_range_queue_select_reads_size_zero_and_ignores_pfn(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    static const uint16_t selects[] = {NR_QUEUES, 63, 64, 0x8000, 0xFFFF};
    for (size_t i = 0; i < sizeof(selects) / sizeof(selects[0]); i++) {
        bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, selects[i]);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2), selects[i]);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 0);
        bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, 0x20);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
    }
    assert_int_equal(stats(f).bad_queue_selects, 5);
    assert_int_equal(stats(f).bad_accesses, 0);
    for (unsigned q = 0; q < NR_QUEUES; q++)
        assert_false(vcon_virtq_ready(vcon_virtio_pci_queue(f->t, q)));
}

static void notify_reaches_the_device_only_for_set_up_queues(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 0); /* not set up */
    setup_queue(f, 0, 0x20, 0);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 1);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, NR_QUEUES);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 0xFFFF);
    assert_int_equal(f->dev.notify_calls, 1);
    assert_int_equal(f->dev.notifies[0], 1);
    assert_int_equal(stats(f).bad_notifies, 4);
    /* Write-only: a read is refused. */
    bar0_refused_read(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2);
    assert_int_equal(stats(f).bad_accesses, 1);
}

/* ---- device configuration --------------------------------------------- */

static void device_config_moves_from_20_to_24_when_msix_is_enabled(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1), 0xA0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 4), 0xA3A2A1A0u);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 2, 2), 0xA3A2u);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 11, 1), 0xAB);
    bar0_w(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 4, 2, 0x1234);
    assert_int_equal(f->dev.config[4], 0x34);
    assert_int_equal(f->dev.config[5], 0x12);
    /* Past the 12 bytes: refused. */
    bar0_refused_read(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 12, 1);
    bar0_refused_read(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 10, 4);

    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_MSIX, 1), 0xA0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_MSIX + 4, 4), 0xA7A61234u);
    bar0_w(f, VCON_VIRTIO_PCI_CONFIG_MSIX + 8, 1, 0x5A);
    assert_int_equal(f->dev.config[8], 0x5A);
    bar0_refused_read(f, VCON_VIRTIO_PCI_CONFIG_MSIX + 12, 1);
    /* The function mask does not move it: only the enable bit counts. */
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE | VCON_PCI_MSIX_FLAGS_MASKALL);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_MSIX, 1), 0xA0);
    set_msix_control(f, 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1), 0xA0);
    assert_int_equal(stats(f).bad_accesses, 3);
}

static void device_refusals_are_passed_on(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    /* In range for the transport, misaligned for the device. */
    bar0_refused_read(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 2, 4);
    bar0_refused_write(f, VCON_VIRTIO_PCI_CONFIG_NO_MSIX + 1, 2, 0xFFFF);
    assert_int_equal(f->dev.config[1], 0xA1);
    assert_int_equal(stats(f).bad_accesses, 2);
    /* A device without config operations refuses everything. */
    struct vcon_virtio_device_ops ops = dummy_ops;
    struct vcon_virtio_pci *t = NULL;
    struct vcon_virtio_pci_config c = console_config();
    uint32_t value = 0;
    ops.config_read = NULL;
    ops.config_write = NULL;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &ops, &f->dev, &t), 0);
    assert_int_equal(vcon_virtio_pci_config_write(t, VCON_PCI_COMMAND, 2, VCON_PCI_COMMAND_IO), 0);
    assert_int_equal(vcon_virtio_pci_bar_read(t, 0, VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1, &value),
                     -EINVAL);
    assert_int_equal(value, 0xFF);
    assert_int_equal(vcon_virtio_pci_bar_write(t, 0, VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1, 0),
                     -EINVAL);
    vcon_virtio_pci_destroy(t);
}

static void refusals_are_logged_a_few_lines_per_virtual_second(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    uint64_t before = vcon_vm_log_count(f->vm);
    for (unsigned i = 0; i < 100; i++)
        bar0_refused_read(f, 1, 1);
    uint64_t burst = vcon_vm_log_count(f->vm) - before;
    assert_true(burst >= 1);
    assert_true(burst <= 8);
    assert_true(strstr(vcon_vm_last_log(f->vm), "virtio-pci") != NULL);
    vcon_vm_advance(f->vm, 1000000000ull);
    bar0_refused_read(f, 1, 1);
    assert_int_equal(vcon_vm_log_count(f->vm), before + burst + 1);
    assert_int_equal(stats(f).bad_accesses, 101);
}

/* ---- access checks ------------------------------------------------------- */

static void wrong_size_legacy_register_accesses_are_refused(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_refused_read(f, VCON_VIRTIO_PCI_HOST_FEATURES, 1);
    bar0_refused_read(f, VCON_VIRTIO_PCI_HOST_FEATURES, 2);
    bar0_refused_read(f, VCON_VIRTIO_PCI_HOST_FEATURES + 2, 2); /* partial */
    bar0_refused_read(f, VCON_VIRTIO_PCI_GUEST_FEATURES + 1, 1);
    bar0_refused_write(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 2, 0xFFFF);
    bar0_refused_read(f, VCON_VIRTIO_PCI_QUEUE_PFN, 2);
    bar0_refused_read(f, VCON_VIRTIO_PCI_QUEUE_NUM, 4);
    bar0_refused_read(f, VCON_VIRTIO_PCI_QUEUE_SEL, 1);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_SEL, 1, 2);
    bar0_refused_write(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 1, 0);
    bar0_refused_read(f, VCON_VIRTIO_PCI_STATUS, 2);
    bar0_refused_write(f, VCON_VIRTIO_PCI_STATUS, 2, 0x0101);
    bar0_refused_read(f, VCON_VIRTIO_PCI_ISR, 2);
    bar0_refused_read(f, 0x0A, 4); /* straddles two dwords */
    bar0_refused_read(f, 0x12, 4);
    bar0_refused_read(f, 0, 0);
    bar0_refused_read(f, 0, 3);
    bar0_refused_read(f, 0, 8);
    assert_int_equal(stats(f).bad_accesses, 18);
    /* With MSI-X on, the vector registers are 16-bit only. */
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    bar0_refused_read(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 4);
    bar0_refused_write(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 1, 0);
    assert_int_equal(stats(f).bad_accesses, 20);
    /* Nothing changed state. */
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_STATUS, 1), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4), 0);
    assert_int_equal(f->dev.notify_calls, 0);
}

static void bar_offsets_past_the_end_are_refused(void **state)
{
    struct fx *f = *state;
    uint32_t value = 0;
    enable_decode(f);
    bar0_refused_read(f, BAR0_EXPECTED_SIZE, 1);
    bar0_refused_read(f, BAR0_EXPECTED_SIZE - 1, 1); /* past the device config */
    bar0_refused_write(f, BAR0_EXPECTED_SIZE + 4, 4, 0);
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 0, UINT64_MAX, 1, &value), -EINVAL);
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 0, 0x100000000ull, 4, &value), -EINVAL);
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 1, VCON_VIRTIO_PCI_BAR1_SIZE, 4, &value),
                     -EINVAL);
    assert_int_equal(value, 0xFFFFFFFFu);
    /* Inside BAR1 but neither table nor PBA. */
    assert_int_equal(
        vcon_virtio_pci_bar_read(f->t, 1, NR_VECTORS * VCON_PCI_MSIX_ENTRY_SIZE, 4, &value),
        -EINVAL);
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 1, VCON_VIRTIO_PCI_MSIX_PBA + 8, 4, &value),
                     -EINVAL);
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, 1, 0x400, 4, 0), -EINVAL);
    assert_int_equal(stats(f).bad_accesses, 9);
}

/* ---- status and reset ------------------------------------------------- */

static void status_writes_reach_the_device_with_old_and_new_values(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(f->dev.status_calls, 1);
    assert_int_equal(f->dev.last_old_status, 0);
    assert_int_equal(f->dev.last_new_status, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 3);
    assert_int_equal(f->dev.last_old_status, 1);
    assert_int_equal(f->dev.last_new_status, 3);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_STATUS, 1), 3);
    assert_int_equal(vcon_virtio_pci_status(f->t), 3);
    assert_int_equal(f->dev.resets, 0);
}

static void status_zero_resets_everything(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, DUMMY_HOST_FEATURES);
    setup_queue(f, 0, 0x20, 0);
    setup_queue(f, 3, 0x30, 0);
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 7);
    /* An INTx interrupt pending. */
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(irq_level(f), 1);
    /* Vectors programmed with MSI-X on. */
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(irq_level(f), 0); /* MSI-X takes the function off INTx */
    program_entry(f, 2, MSI_ADDR, 0x42, true);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 1);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 2);
    complete_and_notify(f, 0); /* masked: pending */
    assert_int_equal(pba_word(f), 1u << 2);
    set_msix_control(f, 0);
    assert_int_equal(irq_level(f), 1); /* the ISR is still set */
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 3);

    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 0);
    assert_int_equal(f->dev.resets, 1);
    assert_int_equal(vcon_virtio_pci_status(f->t), 0);
    assert_int_equal(vcon_virtio_pci_features(f->t), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
    for (unsigned q = 0; q < NR_QUEUES; q++) {
        bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
        assert_false(vcon_virtq_ready(vcon_virtio_pci_queue(f->t, q)));
    }
    assert_int_equal(pba_word(f), 0);
    assert_false(vcon_virtio_pci_intx_level(f->t));
    /* PCI state survives a virtio reset. */
    assert_true(vcon_virtio_pci_msix_enabled(f->t));
    assert_int_equal(bar_r(f, 1, 2 * VCON_PCI_MSIX_ENTRY_SIZE + VCON_PCI_MSIX_ENTRY_DATA, 4),
                     0x42);
    set_msix_control(f, 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), 0);
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(f->dev.status_calls, 1); /* the 0 write went to reset only */
}

/* ---- INTx ------------------------------------------------------------------ */

static void isr_read_clears_and_deasserts_intx(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    assert_int_equal(irq_level(f), 0);
    complete_and_notify(f, 0);
    assert_int_equal(irq_level(f), 1);
    assert_true(vcon_virtio_pci_intx_level(f->t));
    assert_int_equal(cfg_r(f, VCON_PCI_STATUS, 2),
                     VCON_PCI_STATUS_CAP_LIST | VCON_PCI_STATUS_INTERRUPT);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(vcon_vm_irq_raises(f->vm, INTX_LINE), 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1),
                     VCON_VIRTIO_ISR_QUEUE | VCON_VIRTIO_ISR_CONFIG);
    assert_int_equal(irq_level(f), 0);
    assert_false(vcon_virtio_pci_intx_level(f->t));
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), 0);
    assert_int_equal(cfg_r(f, VCON_PCI_STATUS, 2), VCON_PCI_STATUS_CAP_LIST);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(irq_level(f), 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), VCON_VIRTIO_ISR_CONFIG);
    assert_int_equal(vcon_vm_irq_raises(f->vm, INTX_LINE), 2);
    assert_int_equal(stats(f).interrupts, 3);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
}

static void intx_disable_holds_the_line_low_until_cleared(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 1, 0x20, 0);
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE | VCON_PCI_COMMAND_INTX_DISABLE);
    complete_and_notify(f, 1);
    assert_int_equal(irq_level(f), 0);
    /* The condition is there: the status register says so. */
    assert_true(cfg_r(f, VCON_PCI_STATUS, 2) & VCON_PCI_STATUS_INTERRUPT);
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE);
    assert_int_equal(irq_level(f), 1);
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE | VCON_PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), VCON_VIRTIO_ISR_QUEUE);
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE);
    assert_int_equal(irq_level(f), 0);
}

static void avail_no_interrupt_flag_suppresses_the_interrupt(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, VCON_VIRTQ_AVAIL_F_NO_INTERRUPT);
    complete_and_notify(f, 0);
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(stats(f).interrupts, 0);
    assert_int_equal(cfg_r(f, VCON_PCI_STATUS, 2) & VCON_PCI_STATUS_INTERRUPT, 0);
}

static void notify_without_a_new_used_buffer_sends_nothing(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    vcon_virtio_pci_notify_queue(f->t, 0); /* nothing pushed yet */
    assert_int_equal(irq_level(f), 0);
    complete_and_notify(f, 0);
    assert_int_equal(irq_level(f), 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), VCON_VIRTIO_ISR_QUEUE);
    vcon_virtio_pci_notify_queue(f->t, 0); /* already signalled */
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(stats(f).interrupts, 1);
}

static void notify_queue_ignores_queues_that_are_not_set_up(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    vcon_virtio_pci_notify_queue(f->t, 0);
    vcon_virtio_pci_notify_queue(f->t, NR_QUEUES);
    vcon_virtio_pci_notify_queue(f->t, UINT32_MAX);
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(stats(f).interrupts, 0);
}

static void destroy_lowers_a_raised_line(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(irq_level(f), 1);
    vcon_virtio_pci_destroy(f->t);
    f->t = NULL;
    assert_int_equal(irq_level(f), 0);
}

/* ---- MSI-X ------------------------------------------------------------------ */

static void msix_table_starts_masked_and_keeps_only_the_mask_bit(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    for (unsigned v = 0; v < NR_VECTORS; v++) {
        unsigned base = v * VCON_PCI_MSIX_ENTRY_SIZE;
        assert_int_equal(bar_r(f, 1, base + VCON_PCI_MSIX_ENTRY_LOWER_ADDR, 4), 0);
        assert_int_equal(bar_r(f, 1, base + VCON_PCI_MSIX_ENTRY_DATA, 4), 0);
        assert_int_equal(bar_r(f, 1, base + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4),
                         VCON_PCI_MSIX_ENTRY_CTRL_MASKBIT);
    }
    bar_w(f, 1, VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0xFFFFFFFEu);
    assert_int_equal(bar_r(f, 1, VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4), 0);
    /* Byte and word accesses of the table. */
    bar_w(f, 1, 16 + VCON_PCI_MSIX_ENTRY_DATA, 2, 0xBEEF);
    bar_w(f, 1, 16 + VCON_PCI_MSIX_ENTRY_DATA + 3, 1, 0x12);
    assert_int_equal(bar_r(f, 1, 16 + VCON_PCI_MSIX_ENTRY_DATA, 4), 0x1200BEEFu);
    assert_int_equal(bar_r(f, 1, 16 + VCON_PCI_MSIX_ENTRY_DATA + 1, 1), 0xBE);
    /* The PBA is read-only. */
    assert_int_equal(pba_word(f), 0);
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, 1, VCON_VIRTIO_PCI_MSIX_PBA, 4, 0xFF),
                     -EINVAL);
    assert_int_equal(pba_word(f), 0);
    assert_int_equal(bar_r(f, 1, VCON_VIRTIO_PCI_MSIX_PBA + 4, 4), 0);
    assert_int_equal(stats(f).bad_accesses, 1);
}

static void msix_vectors_are_programmed_per_queue_and_for_config(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2), 0);
    for (unsigned q = 0; q < NR_QUEUES; q++) {
        bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
        bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, q + 1);
    }
    for (unsigned q = 0; q < NR_QUEUES; q++) {
        bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), q + 1);
    }
    /* Out-of-range queue: NO_VECTOR, and writes are ignored. */
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, NR_QUEUES);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
    bar0_refused_write(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 1);
    assert_int_equal(stats(f).bad_queue_selects, 1);
}

static void vector_out_of_range_reads_back_no_vector(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, NR_VECTORS);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, NR_VECTORS - 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2), NR_VECTORS - 1);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 0x7FFF);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, VCON_VIRTIO_MSI_NO_VECTOR);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2), VCON_VIRTIO_MSI_NO_VECTOR);
}

static void msix_message_carries_the_table_address_and_data(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 2, 0x20, 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    program_entry(f, 3, MSI_ADDR, 0x4041, false);
    bar_w(f, 1, 3 * VCON_PCI_MSIX_ENTRY_SIZE + VCON_PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0x1);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 2);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 3);
    complete_and_notify(f, 2);
    assert_int_equal(vcon_vm_msi_count(f->vm), 1);
    assert_int_equal(vcon_vm_msi(f->vm, 0)->address, 0x1FEE01000ull);
    assert_int_equal(vcon_vm_msi(f->vm, 0)->data, 0x4041);
    /* No ISR, no INTx with MSI-X. */
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), 0);
    /* Config changes use the config vector. */
    program_entry(f, 0, MSI_ADDR, 0x30, false);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 0);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(vcon_vm_msi_count(f->vm), 2);
    assert_int_equal(vcon_vm_msi(f->vm, 1)->address, MSI_ADDR);
    assert_int_equal(vcon_vm_msi(f->vm, 1)->data, 0x30);
    assert_int_equal(stats(f).msi_sent, 2);
    assert_int_equal(stats(f).interrupts, 2);
}

static void no_vector_drops_the_interrupt_and_counts_it(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    program_entry(f, 0, MSI_ADDR, 1, false);
    complete_and_notify(f, 0);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(stats(f).msi_no_vector, 2);
    assert_int_equal(pba_word(f), 0);
}

static void masked_entry_sets_pba_and_fires_on_unmask(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 1, 0x20, 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    program_entry(f, 4, MSI_ADDR, 0x77, true);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 1);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 4);
    complete_and_notify(f, 1);
    complete_and_notify(f, 1);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    assert_int_equal(pba_word(f), 1u << 4);
    assert_int_equal(stats(f).msi_masked, 2);
    /* The data may change while masked: the message uses the new one. */
    bar_w(f, 1, 4 * VCON_PCI_MSIX_ENTRY_SIZE + VCON_PCI_MSIX_ENTRY_DATA, 4, 0x78);
    /* Writing the mask bit again does not release it. */
    set_entry_mask(f, 4, true);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    set_entry_mask(f, 4, false);
    assert_int_equal(vcon_vm_msi_count(f->vm), 1); /* one message for both */
    assert_int_equal(vcon_vm_msi(f->vm, 0)->data, 0x78);
    assert_int_equal(pba_word(f), 0);
    complete_and_notify(f, 1);
    assert_int_equal(vcon_vm_msi_count(f->vm), 2);
}

static void function_mask_holds_messages_until_cleared(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    setup_queue(f, 3, 0x30, 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE | VCON_PCI_MSIX_FLAGS_MASKALL);
    program_entry(f, 1, MSI_ADDR, 0x11, false);
    program_entry(f, 2, MSI_ADDR, 0x22, false);
    program_entry(f, 3, MSI_ADDR, 0x33, true);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 1);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 3);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 3);
    bar0_w(f, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, 2);
    complete_and_notify(f, 0);
    complete_and_notify(f, 3);
    vcon_virtio_pci_notify_config(f->t);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    assert_int_equal(pba_word(f), (1u << 1) | (1u << 2) | (1u << 3));
    /* Unmasking an entry under the function mask sends nothing yet. */
    set_entry_mask(f, 3, false);
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    set_entry_mask(f, 3, true);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    /* Vectors 1 and 2 go out in vector order; 3 stays pending (masked). */
    assert_int_equal(vcon_vm_msi_count(f->vm), 2);
    assert_int_equal(vcon_vm_msi(f->vm, 0)->data, 0x11);
    assert_int_equal(vcon_vm_msi(f->vm, 1)->data, 0x22);
    assert_int_equal(pba_word(f), 1u << 3);
    set_entry_mask(f, 3, false);
    assert_int_equal(vcon_vm_msi_count(f->vm), 3);
    assert_int_equal(vcon_vm_msi(f->vm, 2)->data, 0x33);
    assert_int_equal(pba_word(f), 0);
}

static void pending_messages_wait_while_msix_is_disabled(void **state)
{
    struct fx *f = *state;
    enable_decode(f);
    setup_queue(f, 0, 0x20, 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    program_entry(f, 1, MSI_ADDR, 0x11, true);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    bar0_w(f, VCON_VIRTIO_MSI_QUEUE_VECTOR, 2, 1);
    complete_and_notify(f, 0);
    set_msix_control(f, 0);
    set_entry_mask(f, 1, false); /* not enabled: nothing goes out */
    assert_int_equal(vcon_vm_msi_count(f->vm), 0);
    set_msix_control(f, VCON_PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(vcon_vm_msi_count(f->vm), 1);
    assert_int_equal(pba_word(f), 0);
}

static void pba_covers_vectors_past_31(void **state)
{
    struct fx *f = *state;
    struct vcon_virtio_pci_config c = console_config();
    struct vcon_virtio_pci *t = NULL;
    uint32_t value = 0;
    const unsigned last = VCON_VIRTIO_PCI_MAX_VECTORS - 1; /* 64 */
    c.nr_queues = VCON_VIRTIO_PCI_MAX_QUEUES;
    assert_int_equal(vcon_virtio_pci_create(&c, &f->host, &dummy_ops, &f->dev, &t), 0);
    assert_int_equal(vcon_virtio_pci_config_write(t, VCON_PCI_COMMAND, 2, CMD_DECODE), 0);
    assert_int_equal(vcon_virtio_pci_config_write(t, MSIX_CTRL, 2, VCON_PCI_MSIX_FLAGS_ENABLE), 0);
    assert_int_equal(vcon_virtio_pci_bar_write(t, 0, VCON_VIRTIO_MSI_CONFIG_VECTOR, 2, last), 0);
    vcon_virtio_pci_notify_config(t);
    assert_int_equal(vcon_virtio_pci_bar_read(t, 1, VCON_VIRTIO_PCI_MSIX_PBA + 8, 4, &value), 0);
    assert_int_equal(value, 1);
    assert_int_equal(
        vcon_virtio_pci_bar_write(t, 1, last * 16 + VCON_PCI_MSIX_ENTRY_DATA, 4, 0x64), 0);
    assert_int_equal(
        vcon_virtio_pci_bar_write(t, 1, last * 16 + VCON_PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0), 0);
    assert_int_equal(vcon_vm_msi_count(f->vm), 1);
    assert_int_equal(vcon_vm_msi(f->vm, 0)->data, 0x64);
    vcon_virtio_pci_destroy(t);
}

/* ---- through the harness bus -------------------------------------------- */

static int bus_config_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_virtio_pci_config_read(device, (unsigned)offset, size, value);
}

static int bus_config_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_virtio_pci_config_write(device, (unsigned)offset, size, value);
}

static int bus_bar0_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_virtio_pci_bar_read(device, 0, offset, size, value);
}

static int bus_bar0_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_virtio_pci_bar_write(device, 0, offset, size, value);
}

static void guest_programmed_bar_is_reachable_through_the_bus(void **state)
{
    struct fx *f = *state;
    static const struct vcon_bus_ops config_ops = {bus_config_read, bus_config_write};
    static const struct vcon_bus_ops bar0_ops = {bus_bar0_read, bus_bar0_write};
    const uint64_t cfg = VCON_PCI_CONFIG_ADDR(0, 3, 0, 0);
    assert_int_equal(vcon_vm_map(f->vm, VCON_SPACE_PCI_CONFIG, cfg, VCON_PCI_CONFIG_SIZE,
                                 &config_ops, f->t),
                     0);
    /* What a BIOS does: size BAR0, place it, turn on I/O decoding. */
    vcon_vm_write(f->vm, VCON_SPACE_PCI_CONFIG, cfg + VCON_PCI_BASE_ADDRESS_0, 4, UINT32_MAX);
    uint32_t mask = vcon_vm_read(f->vm, VCON_SPACE_PCI_CONFIG, cfg + VCON_PCI_BASE_ADDRESS_0, 4);
    assert_int_equal(~(mask & ~3u) + 1u, BAR0_EXPECTED_SIZE);
    vcon_vm_write(f->vm, VCON_SPACE_PCI_CONFIG, cfg + VCON_PCI_BASE_ADDRESS_0, 4, 0xC000);
    vcon_vm_write(f->vm, VCON_SPACE_PCI_CONFIG, cfg + VCON_PCI_COMMAND, 2, VCON_PCI_COMMAND_IO);
    assert_int_equal(vcon_virtio_pci_bar_base(f->t, 0), 0xC000);
    assert_int_equal(vcon_vm_map(f->vm, VCON_SPACE_PIO, vcon_virtio_pci_bar_base(f->t, 0),
                                 vcon_virtio_pci_bar_size(f->t, 0), &bar0_ops, f->t),
                     0);
    assert_int_equal(vcon_vm_read(f->vm, VCON_SPACE_PIO, 0xC000 + VCON_VIRTIO_PCI_HOST_FEATURES, 4),
                     DUMMY_HOST_FEATURES);
    vcon_vm_write(f->vm, VCON_SPACE_PIO, 0xC000 + VCON_VIRTIO_PCI_STATUS, 1, 1);
    assert_int_equal(vcon_virtio_pci_status(f->t), 1);
    assert_int_equal(vcon_vm_read(f->vm, VCON_SPACE_PIO, 0xC000 + VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1),
                     0xA0);
    /* A refused access reads as all ones on the bus. */
    assert_int_equal(vcon_vm_read(f->vm, VCON_SPACE_PIO, 0xC001, 1), 0xFF);
}

/* ---- random walk ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic, seeded below. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* What a device does with a kick: put one buffer through the ring if the
 * ring is reachable, ignoring every failure (the ring may sit anywhere). */
static void try_complete(struct fx *f, unsigned index, struct vcon_virtq_chain *chain)
{
    struct vcon_virtq *vq = vcon_virtio_pci_queue(f->t, index);
    uint8_t desc[16] = {0, 0, 0x08, 0, 0, 0, 0, 0, 64, 0, 0, 0, VCON_VIRTQ_DESC_F_WRITE, 0};
    uint8_t le16[2];
    if (vq == NULL || !vcon_virtq_ready(vq) ||
        vcon_vm_guest_read(f->vm, vq->avail_gpa + 2, le16, 2) != 0)
        return;
    uint16_t avail_idx = (uint16_t)(le16[0] | le16[1] << 8);
    uint16_t slot = (uint16_t)(avail_idx % vq->size);
    (void)vcon_vm_guest_write(f->vm, vq->desc_gpa + 16u * slot, desc, 16);
    le16[0] = (uint8_t)slot;
    le16[1] = (uint8_t)(slot >> 8);
    (void)vcon_vm_guest_write(f->vm, vq->avail_gpa + 4 + 2u * slot, le16, 2);
    avail_idx++;
    le16[0] = (uint8_t)avail_idx;
    le16[1] = (uint8_t)(avail_idx >> 8);
    (void)vcon_vm_guest_write(f->vm, vq->avail_gpa + 2, le16, 2);
    if (vcon_virtq_pop(vq, chain) == VCON_VIRTQ_CHAIN)
        (void)vcon_virtq_push(vq, chain->head, 1);
}

struct reg {
    unsigned offset, size;
};

/* Registers a driver touches, with their natural sizes: the walk lands on
 * them half of the time so that it reaches deep states (MSI-X on, vectors
 * unmasked, queues set up, resets) and not only refusals. */
static const struct reg config_regs[] = {
    {VCON_PCI_COMMAND, 2}, {VCON_PCI_BASE_ADDRESS_0, 4}, {VCON_PCI_BASE_ADDRESS_0 + 4, 4},
    {VCON_PCI_INTERRUPT_LINE, 1}, {MSIX_CTRL, 2}, {VCON_VIRTIO_PCI_MSIX_CAP, 4},
};
static const struct reg bar0_regs[] = {
    {VCON_VIRTIO_PCI_HOST_FEATURES, 4}, {VCON_VIRTIO_PCI_GUEST_FEATURES, 4},
    {VCON_VIRTIO_PCI_QUEUE_PFN, 4},     {VCON_VIRTIO_PCI_QUEUE_NUM, 2},
    {VCON_VIRTIO_PCI_QUEUE_SEL, 2},     {VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2},
    {VCON_VIRTIO_PCI_STATUS, 1},        {VCON_VIRTIO_PCI_ISR, 1},
    {VCON_VIRTIO_MSI_CONFIG_VECTOR, 2}, {VCON_VIRTIO_MSI_QUEUE_VECTOR, 2},
    {VCON_VIRTIO_PCI_CONFIG_NO_MSIX, 1}, {VCON_VIRTIO_PCI_CONFIG_MSIX, 4},
};

static uint32_t random_value(uint64_t r, unsigned space, unsigned offset)
{
    uint32_t value = (uint32_t)(r >> 32);
    switch ((r >> 4) & 7u) {
    case 0:
    case 1:
        return value & 0x7;
    case 2:
        return value & 0xFF;
    case 3:
        if (space == 0 && offset == VCON_VIRTIO_PCI_QUEUE_PFN)
            return 0x10 + value % 0xE0; /* a ring inside guest RAM */
        if (space == 2 && offset == MSIX_CTRL)
            return value & 0xC000;
        if (space == 2 && offset == VCON_PCI_COMMAND)
            return CMD_DECODE | (value & VCON_PCI_COMMAND_INTX_DISABLE);
        return 0;
    default:
        return value;
    }
}

static void random_access(struct fx *f, uint64_t *rng, unsigned space, uint64_t offset,
                          unsigned size, struct vcon_virtq_chain *chain)
{
    uint64_t r = rng_next(rng);
    uint32_t value = random_value(r, space, (unsigned)offset);
    uint32_t read_back = 0;
    bool write = (r >> 2) & 1u;
    if (space == 2) {
        if (write)
            (void)vcon_virtio_pci_config_write(f->t, (unsigned)offset, size, value);
        else
            (void)vcon_virtio_pci_config_read(f->t, (unsigned)offset, size, &read_back);
    } else if (write) {
        (void)vcon_virtio_pci_bar_write(f->t, space, offset, size, value);
    } else {
        (void)vcon_virtio_pci_bar_read(f->t, space, offset, size, &read_back);
    }
    if (((r >> 8) & 0xF) == 0) {
        unsigned q = (unsigned)((r >> 12) % (NR_QUEUES + 1));
        try_complete(f, q, chain);
        vcon_virtio_pci_notify_queue(f->t, q);
    }
    if (((r >> 16) & 0x3F) == 0)
        vcon_virtio_pci_notify_config(f->t);
}

static void random_driver_step(struct fx *f, uint64_t *rng, struct vcon_virtq_chain *chain)
{
    uint64_t r = rng_next(rng);
    unsigned space = (unsigned)(r % 10);
    space = space < 3 ? 2u : space < 8 ? 0u : 1u; /* config, BAR0, BAR1 */
    bool aimed = (r >> 4) & 1u;
    uint64_t offset;
    unsigned size;
    if (aimed && space == 2) {
        const struct reg *reg = &config_regs[(r >> 8) % (sizeof(config_regs) / sizeof(config_regs[0]))];
        offset = reg->offset;
        size = reg->size;
    } else if (aimed && space == 0) {
        const struct reg *reg = &bar0_regs[(r >> 8) % (sizeof(bar0_regs) / sizeof(bar0_regs[0]))];
        offset = reg->offset;
        size = reg->size;
    } else if (aimed) {
        offset = ((r >> 8) % (NR_VECTORS + 1)) * VCON_PCI_MSIX_ENTRY_SIZE + ((r >> 16) & 0xC);
        if (offset >= NR_VECTORS * VCON_PCI_MSIX_ENTRY_SIZE)
            offset = VCON_VIRTIO_PCI_MSIX_PBA;
        size = 4;
    } else {
        uint64_t limit = space == 2   ? VCON_PCI_CONFIG_SIZE + 4
                         : space == 0 ? BAR0_EXPECTED_SIZE + 8
                                      : VCON_VIRTIO_PCI_BAR1_SIZE + 8;
        offset = (r >> 8) % limit;
        size = (r >> 40) & 1u ? (unsigned)((r >> 41) % 9) : 1u << ((r >> 41) % 3);
    }
    random_access(f, rng, space, offset, size, chain);
}

static void random_accesses_everywhere_leave_the_device_resettable(void **state)
{
    struct fx *f = *state;
    struct vcon_virtq_chain *chain = malloc(sizeof(*chain));
    uint64_t rng = 0x5EED5EED12345678ull;
    assert_non_null(chain);
    print_message("random walk seed 0x%016llx\n", (unsigned long long)rng);
    for (unsigned round = 0; round < 3; round++) {
        /* Every offset with every size, 0 to 8. */
        for (unsigned offset = 0; offset < VCON_PCI_CONFIG_SIZE; offset++)
            for (unsigned size = 0; size <= 8; size++)
                random_access(f, &rng, 2, offset, size, chain);
        enable_decode(f); /* so that the BAR sweeps reach the registers */
        for (unsigned offset = 0; offset < BAR0_EXPECTED_SIZE + 8; offset++)
            for (unsigned size = 0; size <= 8; size++)
                random_access(f, &rng, 0, offset, size, chain);
        for (unsigned offset = 0; offset < VCON_VIRTIO_PCI_BAR1_SIZE + 8; offset++)
            for (unsigned size = 0; size <= 8; size++)
                random_access(f, &rng, 1, offset, size, chain);
        /* A driver-shaped stretch: aimed at registers half of the time. */
        for (unsigned i = 0; i < 50000; i++)
            random_driver_step(f, &rng, chain);
    }
    free(chain);
    /* The walk went deep: these all happened. */
    struct vcon_virtio_pci_stats st = stats(f);
    assert_true(st.msi_sent > 0);
    assert_true(st.msi_masked > 0);
    assert_true(st.msi_no_vector > 0);
    assert_true(st.bad_queue_selects > 0);
    assert_true(st.bad_notifies > 0);
    assert_true(st.decode_off > 0);
    assert_true(vcon_vm_irq_raises(f->vm, INTX_LINE) > 0);
    assert_true(f->dev.resets > 1);
    assert_true(f->dev.notify_calls > 0);

    /* Bring it back the way a driver would, and check it works. */
    cfg_w(f, VCON_PCI_COMMAND, 2, CMD_DECODE);
    set_msix_control(f, 0);
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 0);
    assert_int_equal(vcon_virtio_pci_status(f->t), 0);
    assert_int_equal(vcon_virtio_pci_features(f->t), 0);
    assert_false(vcon_virtio_pci_intx_level(f->t));
    assert_int_equal(irq_level(f), 0);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), 0);
    for (unsigned q = 0; q < NR_QUEUES; q++) {
        bar0_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), QUEUE_SIZE);
        assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4), 0);
    }
    unsigned notifies = f->dev.notify_calls;
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 3);
    bar0_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, 1);
    setup_queue(f, 0, 0xF8, 0); /* above where the walk placed rings */
    bar0_w(f, VCON_VIRTIO_PCI_STATUS, 1, 7);
    assert_int_equal(vcon_virtio_pci_queue(f->t, 0)->desc_gpa, 0xF8000);
    bar0_w(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, 0);
    assert_int_equal(f->dev.notify_calls, notifies + 1);
    complete_and_notify(f, 0);
    assert_int_equal(irq_level(f), 1);
    assert_int_equal(bar0_r(f, VCON_VIRTIO_PCI_ISR, 1), VCON_VIRTIO_ISR_QUEUE);
    assert_int_equal(irq_level(f), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(identity_fields_match_the_configuration),
        T(other_device_types_show_their_own_ids),
        T(create_rejects_bad_configurations),
        T(bar0_sizing_reads_back_the_io_size_mask),
        T(bar0_size_follows_the_device_configuration_size),
        T(bar1_sizing_reads_back_the_memory_size_mask),
        T(bars_2_to_5_and_the_rom_read_zero_and_ignore_writes),
        T(read_only_header_fields_ignore_writes),
        T(command_register_keeps_only_io_memory_master_and_intx_disable),
        T(bar_accesses_are_refused_while_decode_is_off),
        T(missing_bars_are_refused),
        T(capability_walk_finds_msix_with_one_vector_per_queue_plus_config),
        T(msix_control_keeps_only_enable_and_function_mask),
        T(interrupt_line_is_read_write),
        T(config_space_accesses_of_bad_size_or_offset_are_refused),
        T(guest_features_are_masked_to_host_features),
        T(feature_writes_after_driver_ok_are_ignored_and_counted),
        T(host_features_and_queue_num_are_read_only),
        T(queue_setup_through_select_and_pfn_lays_out_the_ring),
        T(negotiated_ring_features_reach_the_queue),
        T(pfn_zero_resets_the_queue),
        T(out_of_range_queue_select_reads_size_zero_and_ignores_pfn),
        T(notify_reaches_the_device_only_for_set_up_queues),
        T(device_config_moves_from_20_to_24_when_msix_is_enabled),
        T(device_refusals_are_passed_on),
        T(refusals_are_logged_a_few_lines_per_virtual_second),
        T(wrong_size_legacy_register_accesses_are_refused),
        T(bar_offsets_past_the_end_are_refused),
        T(status_writes_reach_the_device_with_old_and_new_values),
        T(status_zero_resets_everything),
        T(isr_read_clears_and_deasserts_intx),
        T(intx_disable_holds_the_line_low_until_cleared),
        T(avail_no_interrupt_flag_suppresses_the_interrupt),
        T(notify_without_a_new_used_buffer_sends_nothing),
        T(notify_queue_ignores_queues_that_are_not_set_up),
        T(destroy_lowers_a_raised_line),
        T(msix_table_starts_masked_and_keeps_only_the_mask_bit),
        T(msix_vectors_are_programmed_per_queue_and_for_config),
        T(vector_out_of_range_reads_back_no_vector),
        T(msix_message_carries_the_table_address_and_data),
        T(no_vector_drops_the_interrupt_and_counts_it),
        T(masked_entry_sets_pba_and_fires_on_unmask),
        T(function_mask_holds_messages_until_cleared),
        T(pending_messages_wait_while_msix_is_disabled),
        T(pba_covers_vectors_past_31),
        T(guest_programmed_bar_is_reachable_through_the_bus),
        T(random_accesses_everywhere_leave_the_device_resettable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
