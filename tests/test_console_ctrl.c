/* The virtio-console device's own edge cases (docs/console.md), driven by
 * hand through the transport's BAR0 registers: the control protocol in both
 * directions, control messages waiting for buffers, the bounded control
 * queue, configuration space and emergency write, data with back-pressure,
 * hot-plug, resize, reset, single-port mode and malformed chains. Guest
 * rings are harness/guest/vring.h; the backends are the VM's scripted ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guest/vring.h"
#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/console.h"
#include "vcon/virtio_pci.h"

#define RAM_SIZE (4u << 20)
#define QUEUE_AREA 0x10000u
#define QUEUE_STRIDE 0x4000u /* room for a 256-entry legacy ring */
#define HEAP_BASE 0x200000u
#define INTX_LINE 11u
#define MAX_QUEUES (2u + 2u * VCON_CONSOLE_MAX_PORTS)
#define MAX_BUFS 8192u
#define CFG (VCON_VIRTIO_PCI_CONFIG_NO_MSIX) /* device config in BAR0 */
#define CTRL_BUF 128u

#define F(bit) (1u << (bit))
#define ALL_FEATURES                                                                   \
    (F(VCON_CONSOLE_F_SIZE) | F(VCON_CONSOLE_F_MULTIPORT) | F(VCON_CONSOLE_F_EMERG_WRITE) | \
     F(VCON_VIRTIO_F_RING_INDIRECT_DESC) | F(VCON_VIRTIO_F_RING_EVENT_IDX))
#define SINGLE_FEATURES (ALL_FEATURES & ~F(VCON_CONSOLE_F_MULTIPORT))

struct buf {
    uint64_t gpa;
    uint32_t len;
};

struct fx {
    struct vcon_vm *vm;
    struct vcon_host host;
    struct vcon_vm_binding *binding;
    struct vcon_console *con;
    struct vcon_virtio_pci *t;
    struct vcon_console_config config;
    unsigned nr_queues;
    uint32_t features;
    uint64_t heap;
    unsigned nr_bufs;
    struct buf bufs[MAX_BUFS];
    struct vcon_guest_vring ring[MAX_QUEUES];
};

struct msg {
    uint32_t id;
    uint16_t event, value;
    uint32_t len; /* used length: header + payload */
    uint8_t payload[CTRL_BUF];
};

/* ---- fixture ------------------------------------------------------------ */

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    if (vcon_vm_create(RAM_SIZE, &f->vm) != 0 ||
        vcon_vm_bind_device(f->vm, VCON_CONSOLE_MAX_PORTS, &f->host, &f->binding) != 0) {
        vcon_vm_destroy(f->vm);
        free(f);
        return -1;
    }
    f->heap = HEAP_BASE;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    vcon_console_destroy(f->con);
    vcon_vm_destroy(f->vm);
    free(f);
    return 0;
}

static struct vcon_script_backend *backend(struct fx *f, unsigned port)
{
    return vcon_vm_backend(f->binding, port);
}

/* max_ports ports, of which `present` are plugged: port p is named "pP"
 * and port 0 is a console port. */
static struct vcon_console_config make_config(unsigned max_ports, unsigned present)
{
    struct vcon_console_config c;
    memset(&c, 0, sizeof(c));
    c.max_ports = max_ports;
    c.cols = 80;
    c.rows = 25;
    c.intx_line = INTX_LINE;
    for (unsigned p = 0; p < present; p++) {
        c.port[p].present = true;
        snprintf(c.port[p].name, sizeof(c.port[p].name), "p%u", p);
    }
    c.port[0].is_console = true;
    return c;
}

static void fx_create(struct fx *f, const struct vcon_console_config *config)
{
    assert_int_equal(vcon_console_create(config, &f->host, &f->con), 0);
    f->config = *config;
    f->t = vcon_console_transport(f->con);
    f->nr_queues = config->no_multiport ? 2u : 2u + 2u * config->max_ports;
    assert_int_equal(vcon_virtio_pci_config_write(f->t, VCON_PCI_COMMAND, 2, VCON_PCI_COMMAND_IO),
                     0);
}

static uint32_t bar_r(struct fx *f, unsigned offset, unsigned size)
{
    uint32_t v = 0;
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 0, offset, size, &v), 0);
    return v;
}

static void bar_w(struct fx *f, unsigned offset, unsigned size, uint32_t value)
{
    assert_int_equal(vcon_virtio_pci_bar_write(f->t, 0, offset, size, value), 0);
}

static void kick(struct fx *f, unsigned q)
{
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_NOTIFY, 2, q);
}

static void set_status(struct fx *f, uint8_t status)
{
    bar_w(f, VCON_VIRTIO_PCI_STATUS, 1, status);
}

/* What a legacy driver does, minus DRIVER_OK. */
static void driver_setup(struct fx *f, uint32_t features)
{
    const uint8_t ack = VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER;
    set_status(f, VCON_VIRTIO_STATUS_ACKNOWLEDGE);
    set_status(f, ack);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4) & features, features);
    bar_w(f, VCON_VIRTIO_PCI_GUEST_FEATURES, 4, features);
    f->features = features;
    for (unsigned q = 0; q < f->nr_queues; q++) {
        uint64_t gpa = QUEUE_AREA + (uint64_t)q * QUEUE_STRIDE;
        uint16_t num;
        bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
        num = (uint16_t)bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2);
        assert_int_equal(num, f->config.queue_size ? f->config.queue_size : 64);
        assert_true(vcon_guest_vring_bytes(num) <= QUEUE_STRIDE);
        assert_int_equal(vcon_guest_vring_init(&f->ring[q], f->vm, num, gpa,
                                               (features & F(VCON_VIRTIO_F_RING_EVENT_IDX)) != 0),
                         0);
        bar_w(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, (uint32_t)(gpa / VCON_VIRTQ_LEGACY_ALIGN));
    }
}

static void driver_ok(struct fx *f)
{
    set_status(f, VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER |
                      VCON_VIRTIO_STATUS_DRIVER_OK);
}

static void bring_up(struct fx *f, uint32_t features)
{
    driver_setup(f, features);
    driver_ok(f);
}

static unsigned alloc_buf(struct fx *f, uint32_t len)
{
    unsigned token = f->nr_bufs++;
    assert_true(token < MAX_BUFS);
    f->bufs[token].gpa = f->heap;
    f->bufs[token].len = len;
    f->heap += (len + 15u) & ~15u;
    if (len == 0)
        f->heap += 16;
    assert_true(f->heap <= RAM_SIZE);
    return token;
}

/* Add a chain of one out and/or one in buffer; kick if the device asks. */
static unsigned add_chain(struct fx *f, unsigned q, const void *out, uint32_t out_len,
                          uint32_t in_len)
{
    struct vcon_guest_vring *r = &f->ring[q];
    struct vcon_guest_buf ob = {0, 0}, ib = {0, 0};
    unsigned ot = 0, it = 0, token;
    uint16_t old = r->avail_idx;
    if (out != NULL) {
        ot = alloc_buf(f, out_len);
        ob.gpa = f->bufs[ot].gpa;
        ob.len = out_len;
        assert_int_equal(vcon_vm_guest_write(f->vm, ob.gpa, out, out_len), 0);
    }
    if (in_len > 0) {
        it = alloc_buf(f, in_len);
        ib.gpa = f->bufs[it].gpa;
        ib.len = in_len;
    }
    token = in_len > 0 ? it : ot;
    assert_true(vcon_guest_vring_add(r, &ob, out != NULL ? 1u : 0u, &ib, in_len > 0 ? 1u : 0u,
                                     token) >= 0);
    if (vcon_guest_vring_kick_needed(r, old))
        kick(f, q);
    return token;
}

static void post_rx(struct fx *f, unsigned q, unsigned n, uint32_t size)
{
    for (unsigned i = 0; i < n; i++)
        add_chain(f, q, NULL, 0, size);
}

/* Every used entry of queue q must have length `len`; returns how many. */
static unsigned reap(struct fx *f, unsigned q, uint32_t len)
{
    uint32_t token, used;
    unsigned n = 0;
    while (vcon_guest_vring_get_used(&f->ring[q], &token, &used) == 1) {
        assert_int_equal(used, len);
        n++;
    }
    assert_int_equal(f->ring[q].bad_used, 0);
    return n;
}

static void send_raw(struct fx *f, const void *bytes, uint32_t len)
{
    add_chain(f, VCON_CONSOLE_CTRL_TX_QUEUE, bytes, len, 0);
    assert_int_equal(reap(f, VCON_CONSOLE_CTRL_TX_QUEUE, 0), 1);
}

static void encode(uint8_t *b, uint32_t id, uint16_t event, uint16_t value)
{
    b[0] = (uint8_t)id;
    b[1] = (uint8_t)(id >> 8);
    b[2] = (uint8_t)(id >> 16);
    b[3] = (uint8_t)(id >> 24);
    b[4] = (uint8_t)event;
    b[5] = (uint8_t)(event >> 8);
    b[6] = (uint8_t)value;
    b[7] = (uint8_t)(value >> 8);
}

static void send_ctrl(struct fx *f, uint32_t id, uint16_t event, uint16_t value)
{
    uint8_t b[VCON_CONSOLE_CTRL_HEADER];
    encode(b, id, event, value);
    send_raw(f, b, sizeof(b));
}

/* Control messages the device has delivered since the last call. */
static unsigned recv_ctrl(struct fx *f, struct msg *out, unsigned max)
{
    uint32_t token, used;
    unsigned n = 0;
    while (vcon_guest_vring_get_used(&f->ring[VCON_CONSOLE_CTRL_RX_QUEUE], &token, &used) == 1) {
        uint8_t b[VCON_CONSOLE_CTRL_HEADER + CTRL_BUF];
        struct msg *m = &out[n];
        assert_true(n < max);
        assert_true(used <= f->bufs[token].len);
        memset(b, 0, sizeof(b));
        assert_int_equal(vcon_vm_guest_read(f->vm, f->bufs[token].gpa, b, used), 0);
        m->id = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        m->event = (uint16_t)(b[4] | b[5] << 8);
        m->value = (uint16_t)(b[6] | b[7] << 8);
        m->len = used;
        memcpy(m->payload, b + VCON_CONSOLE_CTRL_HEADER, CTRL_BUF);
        n++;
    }
    assert_int_equal(f->ring[VCON_CONSOLE_CTRL_RX_QUEUE].bad_used, 0);
    return n;
}

#define expect_msg(m, id_, event_, value_)                                                   \
    do {                                                                                     \
        const struct msg *m_ = (m);                                                          \
        if (m_->id != (id_) || m_->event != (event_) || m_->value != (value_)) {             \
            print_error("got {id %u, event %u, value %u}, expected {id %u, event %u, value " \
                        "%u}\n",                                                             \
                        (unsigned)m_->id, (unsigned)m_->event, (unsigned)m_->value,          \
                        (unsigned)(id_), (unsigned)(event_), (unsigned)(value_));            \
            fail();                                                                          \
        }                                                                                    \
    } while (0)

static struct vcon_console_stats stats(struct fx *f)
{
    struct vcon_console_stats s;
    vcon_console_get_stats(f->con, &s);
    return s;
}

static struct vcon_console_port_state port_state(struct fx *f, unsigned port)
{
    struct vcon_console_port_state s;
    assert_int_equal(vcon_console_get_port(f->con, port, &s), 0);
    return s;
}

/* Multiport up to DEVICE_READY: `bufs` ctrl rx buffers posted, every
 * DEVICE_ADD received. */
static void multiport_ready(struct fx *f, unsigned bufs)
{
    struct msg m[VCON_CONSOLE_MAX_PORTS];
    unsigned present = 0;
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, bufs, CTRL_BUF);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    for (unsigned p = 0; p < f->config.max_ports; p++)
        present += f->config.port[p].present;
    assert_int_equal(recv_ctrl(f, m, VCON_CONSOLE_MAX_PORTS), present);
}

/* PORT_READY and PORT_OPEN from the guest; the answers are discarded. */
static void open_port(struct fx *f, unsigned port)
{
    struct msg m[8];
    send_ctrl(f, port, VCON_CONSOLE_PORT_READY, 1);
    send_ctrl(f, port, VCON_CONSOLE_PORT_OPEN, 1);
    (void)recv_ctrl(f, m, 8);
    assert_true(port_state(f, port).guest_open);
}

static void guest_write(struct fx *f, unsigned port, const char *text)
{
    add_chain(f, vcon_console_tx_queue(port), text, (uint32_t)strlen(text), 0);
}

/* Bytes received on `port`, concatenated; lens[] gets each buffer's used
 * length when non-NULL. Returns the number of buffers. */
static unsigned guest_read(struct fx *f, unsigned port, char *out, size_t max, uint32_t *lens)
{
    struct vcon_guest_vring *r = &f->ring[vcon_console_rx_queue(port)];
    uint32_t token, used;
    size_t at = 0;
    unsigned n = 0;
    while (vcon_guest_vring_get_used(r, &token, &used) == 1) {
        assert_true(used <= f->bufs[token].len);
        assert_true(at + used < max);
        assert_int_equal(vcon_vm_guest_read(f->vm, f->bufs[token].gpa, out + at, used), 0);
        at += used;
        if (lens != NULL)
            lens[n] = used;
        n++;
    }
    out[at] = '\0';
    assert_int_equal(r->bad_used, 0);
    return n;
}

static void expect_output(struct fx *f, unsigned port, const char *text)
{
    size_t len;
    const uint8_t *out = vcon_script_output(backend(f, port), &len);
    if (len != strlen(text) || memcmp(out, text, len) != 0) {
        print_error("port %u backend got \"%.*s\", expected \"%s\"\n", port, (int)len,
                    (const char *)out, text);
        fail();
    }
}

static void feed(struct fx *f, unsigned port, const char *text)
{
    assert_int_equal(vcon_script_input(backend(f, port), text, strlen(text)), 0);
}

static uint8_t read_isr(struct fx *f)
{
    return (uint8_t)bar_r(f, VCON_VIRTIO_PCI_ISR, 1);
}

/* ---- creation and identity --------------------------------------------- */

static void create_refuses_invalid_configurations(void **state)
{
    struct fx *f = *state;
    struct vcon_console *c = NULL;
    struct vcon_console_config cfg;

    cfg = make_config(0, 0);
    cfg.port[0].present = true;
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    cfg = make_config(VCON_CONSOLE_MAX_PORTS + 1u, 1);
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    cfg = make_config(2, 1);
    cfg.queue_size = 48;
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    cfg.queue_size = 2 * VCON_VIRTQ_MAX_SIZE;
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    cfg = make_config(2, 0);
    cfg.port[1].present = true;
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL); /* no port 0 */
    cfg = make_config(2, 2);
    memset(cfg.port[1].name, 'x', sizeof(cfg.port[1].name)); /* no NUL */
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    cfg = make_config(3, 3);
    strcpy(cfg.port[2].name, "p0");
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL); /* duplicate */
    cfg = make_config(2, 1);
    cfg.port[2].present = true; /* beyond max_ports */
    assert_int_equal(vcon_console_create(&cfg, &f->host, &c), -EINVAL);
    /* A host the transport cannot use is refused before any allocation. */
    cfg = make_config(2, 1);
    struct vcon_host no_msi = f->host;
    no_msi.msi_send = NULL;
    assert_int_equal(vcon_console_create(&cfg, &no_msi, &c), -EINVAL);
    assert_null(c);

    /* Unnamed ports may share the empty name; queue_size 0 means 64. */
    cfg = make_config(3, 3);
    cfg.port[1].name[0] = '\0';
    cfg.port[2].name[0] = '\0';
    fx_create(f, &cfg);
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 0);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 64);
}

static void pci_identity_features_and_queue_count_match_the_console(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 1);
    uint32_t v;
    fx_create(f, &cfg);
    assert_int_equal(vcon_virtio_pci_config_read(f->t, VCON_PCI_VENDOR_ID, 2, &v), 0);
    assert_int_equal(v, VCON_VIRTIO_PCI_VENDOR);
    assert_int_equal(vcon_virtio_pci_config_read(f->t, VCON_PCI_DEVICE_ID, 2, &v), 0);
    assert_int_equal(v, 0x1003);
    assert_int_equal(vcon_virtio_pci_config_read(f->t, VCON_PCI_SUBSYSTEM_ID, 2, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(vcon_virtio_pci_config_read(f->t, VCON_PCI_CLASS_DEVICE, 2, &v), 0);
    assert_int_equal(v, 0x0780);
    assert_int_equal(vcon_virtio_pci_config_read(f->t, VCON_PCI_CLASS_PROG, 1, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4), ALL_FEATURES);
    /* 2 + 2 * 4 queues: 9 exists, 10 does not. */
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 9);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 64);
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 10);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 0);
}

static void no_multiport_offers_two_queues_and_no_multiport_feature(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 1);
    cfg.no_multiport = true;
    fx_create(f, &cfg);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_HOST_FEATURES, 4), SINGLE_FEATURES);
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 1);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 64);
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, 2);
    assert_int_equal(bar_r(f, VCON_VIRTIO_PCI_QUEUE_NUM, 2), 0);
    assert_int_equal(vcon_console_port_add(f->con, 1, "x", false), -ENOTSUP);
}

/* ---- configuration space ------------------------------------------------ */

static void config_reads_cols_rows_and_max_nr_ports_at_every_size(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(7, 1);
    uint32_t v;
    cfg.cols = 0x1234;
    cfg.rows = 0x0abc;
    fx_create(f, &cfg);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_COLS, 2), 0x1234);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_ROWS, 2), 0x0abc);
    assert_int_equal(bar_r(f, CFG + 0, 4), 0x0abc1234u);
    assert_int_equal(bar_r(f, CFG + 0, 1), 0x34);
    assert_int_equal(bar_r(f, CFG + 1, 1), 0x12);
    assert_int_equal(bar_r(f, CFG + 3, 1), 0x0a);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_MAX_NR_PORTS, 4), 7);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_MAX_NR_PORTS, 2), 7);
    assert_int_equal(bar_r(f, CFG + 6, 2), 0);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4), 0);
    /* Past the 12 bytes: refused, all ones. */
    assert_int_equal(vcon_virtio_pci_bar_read(f->t, 0, CFG + VCON_CONSOLE_CFG_SIZE, 1, &v),
                     -EINVAL);
    assert_int_equal(v, 0xFF);
}

static void config_writes_to_read_only_fields_are_ignored_and_counted(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    size_t len;
    fx_create(f, &cfg);
    bar_w(f, CFG + VCON_CONSOLE_CFG_COLS, 2, 1);
    bar_w(f, CFG + VCON_CONSOLE_CFG_ROWS, 2, 2);
    bar_w(f, CFG + VCON_CONSOLE_CFG_MAX_NR_PORTS, 4, 99);
    bar_w(f, CFG + 5, 1, 99);
    assert_int_equal(stats(f).config_ignored_writes, 4);
    assert_int_equal(bar_r(f, CFG + 0, 4), 25u << 16 | 80u);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_MAX_NR_PORTS, 4), 2);
    (void)vcon_script_output(backend(f, 0), &len);
    assert_int_equal(len, 0);
    assert_int_equal(stats(f).emerg_bytes, 0);
}

static void emergency_write_reaches_port_0_backend(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    fx_create(f, &cfg);
    /* Before any driver: F_EMERG_WRITE is offered, so it works. */
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4, 'A');
    /* A legacy Linux driver writes the 32-bit field byte by byte. */
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 1, 'B');
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR + 1, 1, 0);
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR + 2, 1, 0);
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR + 3, 1, 0);
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 2, 0x4443); /* low byte only */
    expect_output(f, 0, "ABC");
    expect_output(f, 1, "");
    assert_int_equal(stats(f).emerg_bytes, 3);
    assert_int_equal(stats(f).config_ignored_writes, 0);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4), 0);
}

static void emergency_write_is_dropped_and_counted_when_backend_blocks(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(1, 1);
    fx_create(f, &cfg);
    vcon_script_set_write_budget(backend(f, 0), 0);
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4, 'x');
    vcon_script_set_write_budget(backend(f, 0), SIZE_MAX);
    vcon_console_backend_ready(f->con, 0);
    expect_output(f, 0, ""); /* never queued */
    assert_int_equal(stats(f).emerg_dropped, 1);
    vcon_script_disconnect(backend(f, 0));
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4, 'y');
    assert_int_equal(stats(f).emerg_dropped, 2);
    assert_int_equal(stats(f).emerg_bytes, 0);
}

/* A host whose backend claims one byte more than it took. */
static struct vcon_host overclaimed;

static int overclaiming_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    const int n = overclaimed.backend_write(ctx, port, buf, len);
    return n > 0 ? n + 1 : n;
}

static void emergency_write_counts_a_byte_an_overclaiming_host_took(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(1, 1);
    overclaimed = f->host;
    f->host.backend_write = overclaiming_write;
    fx_create(f, &cfg);
    bar_w(f, CFG + VCON_CONSOLE_CFG_EMERG_WR, 4, 'z');
    expect_output(f, 0, "z");
    assert_int_equal(stats(f).emerg_bytes, 1);
    assert_int_equal(stats(f).emerg_dropped, 0);
}

/* ---- control protocol: the normal exchange ------------------------------ */

static void device_ready_announces_every_present_port_in_order(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(8, 2);
    struct msg m[8];
    cfg.port[5].present = true;
    strcpy(cfg.port[5].name, "five");
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 8, CTRL_BUF);
    assert_int_equal(recv_ctrl(f, m, 8), 0); /* nothing before DEVICE_READY */
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 3);
    expect_msg(&m[0], 0, VCON_CONSOLE_DEVICE_ADD, 1);
    expect_msg(&m[1], 1, VCON_CONSOLE_DEVICE_ADD, 1);
    expect_msg(&m[2], 5, VCON_CONSOLE_DEVICE_ADD, 1);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(m[i].len, VCON_CONSOLE_CTRL_HEADER);
    assert_int_equal(stats(f).ctrl_in, 1);
    assert_int_equal(stats(f).ctrl_out, 3);
    assert_int_equal(stats(f).ctrl_malformed, 0);
}

static void port_ready_answers_console_port_name_and_open(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 2);
    struct msg m[8];
    strcpy(cfg.port[1].name, "org.example.agent");
    cfg.port[1].is_console = true;
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 3);
    expect_msg(&m[0], 1, VCON_CONSOLE_CONSOLE_PORT, 1);
    expect_msg(&m[1], 1, VCON_CONSOLE_PORT_NAME, 1);
    assert_int_equal(m[1].len, VCON_CONSOLE_CTRL_HEADER + strlen("org.example.agent"));
    assert_memory_equal(m[1].payload, "org.example.agent", strlen("org.example.agent"));
    expect_msg(&m[2], 1, VCON_CONSOLE_PORT_OPEN, 1);
    assert_true(port_state(f, 1).guest_ready);
    assert_false(port_state(f, 1).guest_open);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_OPEN, 1);
    assert_true(port_state(f, 1).guest_open);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_OPEN, 0);
    assert_false(port_state(f, 1).guest_open);
    assert_int_equal(recv_ctrl(f, m, 8), 0); /* PORT_OPEN needs no answer */
}

static void port_ready_sends_no_name_for_an_unnamed_port_and_no_open_when_host_closed(
    void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 2);
    struct msg m[8];
    cfg.port[1].name[0] = '\0';
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    vcon_console_backend_open(f->con, 1, false); /* not ready: no message */
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 0); /* not a console, no name, host closed */
    vcon_console_backend_open(f->con, 1, true);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_OPEN, 1);
}

static void port_ready_0_marks_the_port_failed(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 0);
    assert_false(port_state(f, 1).guest_ready);
    assert_false(port_state(f, 1).guest_open);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    /* No data flows to a failed port. */
    post_rx(f, vcon_console_rx_queue(1), 1, 16);
    feed(f, 1, "zz");
    vcon_console_backend_ready(f->con, 1);
    assert_int_equal(vcon_script_pending_input(backend(f, 1)), 2);
}

/* ---- control protocol: what the guest gets wrong ------------------------ */

static void control_messages_shorter_than_8_bytes_are_ignored(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    uint8_t b[8];
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 8, CTRL_BUF);
    encode(b, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    send_raw(f, b, 7); /* a DEVICE_READY one byte short */
    send_raw(f, b, 4);
    send_raw(f, b, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    assert_int_equal(stats(f).ctrl_malformed, 3);
    assert_int_equal(stats(f).ctrl_in, 0);
    /* The device still works. */
    send_raw(f, b, 8);
    assert_int_equal(recv_ctrl(f, m, 8), 2);
}

static void longer_control_messages_use_their_first_8_bytes(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    struct msg m[8];
    uint8_t b[32];
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 8, CTRL_BUF);
    memset(b, 0xEE, sizeof(b));
    encode(b, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    send_raw(f, b, sizeof(b));
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 0, VCON_CONSOLE_DEVICE_ADD, 1);
}

static void unknown_and_device_only_events_are_ignored_and_counted(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    static const uint16_t events[] = {
        VCON_CONSOLE_DEVICE_ADD,  VCON_CONSOLE_DEVICE_REMOVE, VCON_CONSOLE_CONSOLE_PORT,
        VCON_CONSOLE_RESIZE,      VCON_CONSOLE_PORT_NAME,     8,
        0x7FFF,                   0xFFFF,
    };
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
        send_ctrl(f, 1, events[i], 1);
    assert_int_equal(stats(f).ctrl_malformed, sizeof(events) / sizeof(events[0]));
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    assert_false(port_state(f, 1).guest_ready);
    assert_true(port_state(f, 1).present);
}

static void out_of_range_and_absent_port_ids_are_ignored_and_counted(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 2); /* ports 2 and 3 absent */
    struct msg m[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    send_ctrl(f, 4, VCON_CONSOLE_PORT_READY, 1);
    send_ctrl(f, 16, VCON_CONSOLE_PORT_OPEN, 1);
    send_ctrl(f, 0x80000000u, VCON_CONSOLE_PORT_READY, 1);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_PORT_READY, 1);
    send_ctrl(f, 2, VCON_CONSOLE_PORT_READY, 1);
    send_ctrl(f, 3, VCON_CONSOLE_PORT_OPEN, 1);
    assert_int_equal(stats(f).ctrl_malformed, 6);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    for (unsigned p = 2; p < 4; p++) {
        assert_false(port_state(f, p).guest_ready);
        assert_false(port_state(f, p).guest_open);
    }
}

static void control_chain_with_a_writable_part_is_ignored(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    struct msg m[8];
    uint8_t b[8];
    uint32_t token, used;
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 8, CTRL_BUF);
    encode(b, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    add_chain(f, VCON_CONSOLE_CTRL_TX_QUEUE, b, sizeof(b), 16);
    assert_int_equal(vcon_guest_vring_get_used(&f->ring[VCON_CONSOLE_CTRL_TX_QUEUE], &token,
                                               &used),
                     1);
    assert_int_equal(used, 0);
    assert_int_equal(stats(f).ctrl_malformed, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
}

static void ctrl_rx_buffers_smaller_than_8_bytes_are_returned_and_the_message_kept(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    struct msg m[8];
    uint32_t token, used;
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, 7);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, 4);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(vcon_guest_vring_get_used(&f->ring[VCON_CONSOLE_CTRL_RX_QUEUE], &token,
                                                   &used),
                         1);
        assert_int_equal(used, 0);
    }
    assert_int_equal(stats(f).ctrl_bad_buffers, 2);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 1);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, 8); /* exactly a header */
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 0, VCON_CONSOLE_DEVICE_ADD, 1);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 0);
}

static void port_name_is_cut_to_fit_a_small_ctrl_rx_buffer(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    strcpy(cfg.port[1].name, "a-rather-long-port-name");
    fx_create(f, &cfg);
    multiport_ready(f, 0 + 2); /* two buffers for the two DEVICE_ADDs */
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, 12);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_NAME, 1);
    assert_int_equal(m[0].len, 12);
    assert_memory_equal(m[0].payload, "a-ra", 4);
    assert_int_equal(stats(f).ctrl_truncated, 1);
    /* PORT_OPEN waits for the next buffer. */
    assert_int_equal(vcon_console_pending_ctrl(f->con), 1);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, 8);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_OPEN, 1);
}

static void device_messages_wait_for_buffers_and_arrive_in_order(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(16, 16);
    struct msg m[32];
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 16);
    /* Buffers trickle in, fewer than the messages at first. */
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 5, CTRL_BUF);
    assert_int_equal(recv_ctrl(f, m, 32), 5);
    for (unsigned i = 0; i < 5; i++)
        expect_msg(&m[i], i, VCON_CONSOLE_DEVICE_ADD, 1);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 11);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 20, CTRL_BUF);
    assert_int_equal(recv_ctrl(f, m, 32), 11);
    for (unsigned i = 0; i < 11; i++)
        expect_msg(&m[i], i + 5, VCON_CONSOLE_DEVICE_ADD, 1);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 0);
    assert_int_equal(stats(f).ctrl_out, 16);
    assert_int_equal(stats(f).ctrl_dropped_full, 0);
}

static void pending_control_queue_is_bounded_under_port_ready_spam(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg *m = malloc(VCON_CONSOLE_CTRL_PENDING_MAX * sizeof(*m));
    unsigned got = 0, spam = 0;
    assert_non_null(m);
    cfg.port[1].is_console = true; /* three answers per PORT_READY */
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1); /* 2 messages */
    while (spam * 3u + 2u <= VCON_CONSOLE_CTRL_PENDING_MAX + 30u) {
        send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 1);
        spam++;
    }
    assert_int_equal(vcon_console_pending_ctrl(f->con), VCON_CONSOLE_CTRL_PENDING_MAX);
    assert_int_equal(stats(f).ctrl_dropped_full, spam * 3u + 2u - VCON_CONSOLE_CTRL_PENDING_MAX);
    /* Every kept message is delivered, oldest first; nothing else. */
    while (got < VCON_CONSOLE_CTRL_PENDING_MAX) {
        unsigned n;
        post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 32, CTRL_BUF);
        n = recv_ctrl(f, m + got, VCON_CONSOLE_CTRL_PENDING_MAX - got);
        assert_int_equal(n, 32);
        got += n;
    }
    expect_msg(&m[0], 0, VCON_CONSOLE_DEVICE_ADD, 1);
    expect_msg(&m[1], 1, VCON_CONSOLE_DEVICE_ADD, 1);
    expect_msg(&m[2], 1, VCON_CONSOLE_CONSOLE_PORT, 1);
    expect_msg(&m[3], 1, VCON_CONSOLE_PORT_NAME, 1);
    expect_msg(&m[4], 1, VCON_CONSOLE_PORT_OPEN, 1);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 0);
    /* Buffers left over; the device answers again. */
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 4, CTRL_BUF);
    send_ctrl(f, 0, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 4), 3);
    expect_msg(&m[0], 0, VCON_CONSOLE_CONSOLE_PORT, 1);
    free(m);
}

static void ctrl_rx_chain_with_a_readable_part_is_returned_unused(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    struct msg m[4];
    uint8_t junk[8] = {0};
    uint32_t token, used;
    fx_create(f, &cfg);
    bring_up(f, ALL_FEATURES);
    add_chain(f, VCON_CONSOLE_CTRL_RX_QUEUE, junk, sizeof(junk), 64);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    assert_int_equal(vcon_guest_vring_get_used(&f->ring[VCON_CONSOLE_CTRL_RX_QUEUE], &token, &used),
                     1);
    assert_int_equal(used, 0);
    assert_int_equal(stats(f).ctrl_bad_buffers, 1);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 1, CTRL_BUF);
    assert_int_equal(recv_ctrl(f, m, 4), 1);
}

/* ---- data --------------------------------------------------------------- */

static void data_flows_both_ways_on_an_open_port(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 3);
    char in[64];
    fx_create(f, &cfg);
    multiport_ready(f, 32);
    open_port(f, 2);
    post_rx(f, vcon_console_rx_queue(2), 4, 32);
    guest_write(f, 2, "to host");
    assert_int_equal(reap(f, vcon_console_tx_queue(2), 0), 1);
    expect_output(f, 2, "to host");
    expect_output(f, 1, "");
    feed(f, 2, "to guest");
    vcon_console_backend_ready(f->con, 2);
    assert_int_equal(guest_read(f, 2, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "to guest");
    assert_int_equal(port_state(f, 2).to_guest_bytes, 8);
    assert_int_equal(port_state(f, 2).from_guest_bytes, 7);
    assert_int_equal(stats(f).rx_bytes, 8);
    assert_int_equal(stats(f).tx_bytes, 7);
}

static void tx_chain_is_held_while_the_backend_would_block(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    vcon_script_set_write_budget(backend(f, 1), 0);
    guest_write(f, 1, "hello");
    guest_write(f, 1, " world");
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 0);
    assert_true(port_state(f, 1).tx_held);
    expect_output(f, 1, "");
    /* Partial progress: the chain stays until its last byte is taken. */
    vcon_script_set_write_budget(backend(f, 1), 3);
    vcon_console_backend_ready(f->con, 1);
    expect_output(f, 1, "hel");
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 0);
    vcon_script_set_write_budget(backend(f, 1), 4);
    vcon_console_backend_ready(f->con, 1);
    expect_output(f, 1, "hello w");
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 1);
    vcon_script_set_write_budget(backend(f, 1), SIZE_MAX);
    vcon_console_backend_ready(f->con, 1);
    expect_output(f, 1, "hello world");
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 1);
    assert_false(port_state(f, 1).tx_held);
    assert_int_equal(stats(f).tx_dropped_bytes, 0);
}

/* Found by the console fuzz target: a PFN rewritten under a held chain
 * used to leave the device holding a chain of the old ring, which it later
 * sent and pushed into the new ring as a head that ring never offered. */
static void queue_relaid_under_a_held_tx_chain_forgets_the_chain(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    const unsigned q = vcon_console_tx_queue(1);
    const uint64_t gpa = QUEUE_AREA + (uint64_t)q * QUEUE_STRIDE;
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    vcon_script_set_write_budget(backend(f, 1), 0);
    guest_write(f, 1, "stale");
    assert_true(port_state(f, 1).tx_held);
    /* The guest lays the transmit queue out again, empty. */
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_SEL, 2, q);
    assert_int_equal(vcon_guest_vring_init(&f->ring[q], f->vm, 64, gpa,
                                           (f->features & F(VCON_VIRTIO_F_RING_EVENT_IDX)) != 0),
                     0);
    bar_w(f, VCON_VIRTIO_PCI_QUEUE_PFN, 4, (uint32_t)(gpa / VCON_VIRTQ_LEGACY_ALIGN));
    assert_false(port_state(f, 1).tx_held);
    assert_int_equal(stats(f).tx_dropped_bytes, 5);
    /* The old bytes are never sent, nothing lands in the new ring, and the
     * new ring carries new data. */
    vcon_script_set_write_budget(backend(f, 1), SIZE_MAX);
    vcon_console_backend_ready(f->con, 1);
    expect_output(f, 1, "");
    assert_int_equal(reap(f, q, 0), 0);
    guest_write(f, 1, "fresh");
    expect_output(f, 1, "fresh");
    assert_int_equal(reap(f, q, 0), 1);
}

/* Found by the console fuzz target: unplugging a port while DRIVER_OK was
 * clear dropped its held chain without returning it to the guest. */
static void unplug_returns_a_held_tx_chain_even_without_driver_ok(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    const unsigned q = vcon_console_tx_queue(1);
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    vcon_script_set_write_budget(backend(f, 1), 0);
    guest_write(f, 1, "held");
    assert_true(port_state(f, 1).tx_held);
    /* DRIVER_OK cleared without a reset (status not 0). */
    set_status(f, VCON_VIRTIO_STATUS_ACKNOWLEDGE | VCON_VIRTIO_STATUS_DRIVER);
    assert_int_equal(vcon_console_port_remove(f->con, 1), 0);
    assert_false(port_state(f, 1).tx_held);
    assert_int_equal(reap(f, q, 0), 1);
    assert_int_equal(stats(f).tx_dropped_bytes, 4);
}

static void backend_bytes_wait_while_the_guest_has_no_rx_buffer(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    char in[64];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    feed(f, 1, "waiting");
    vcon_console_backend_ready(f->con, 1);
    assert_int_equal(vcon_script_pending_input(backend(f, 1)), 7); /* never read */
    post_rx(f, vcon_console_rx_queue(1), 1, 64); /* its kick starts the flow */
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "waiting");
    /* No data: the posted buffer stays with the guest. */
    post_rx(f, vcon_console_rx_queue(1), 1, 64);
    vcon_console_backend_ready(f->con, 1);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 0);
    feed(f, 1, "later");
    vcon_console_backend_ready(f->con, 1);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "later");
}

static void small_rx_buffers_split_data_in_order(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    char in[64];
    uint32_t lens[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    feed(f, 1, "abcdefgh");
    post_rx(f, vcon_console_rx_queue(1), 2, 3);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), lens), 2);
    assert_string_equal(in, "abcdef");
    assert_int_equal(lens[0], 3);
    assert_int_equal(lens[1], 3);
    assert_int_equal(vcon_script_pending_input(backend(f, 1)), 2); /* never more than fits */
    post_rx(f, vcon_console_rx_queue(1), 2, 3);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), lens), 1);
    assert_string_equal(in, "gh");
    assert_int_equal(lens[0], 2);
}

static void data_waits_until_the_guest_opens_the_port(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    char in[64];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_READY, 1);
    (void)recv_ctrl(f, m, 8);
    post_rx(f, vcon_console_rx_queue(1), 2, 64);
    feed(f, 1, "early");
    vcon_console_backend_ready(f->con, 1);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 0);
    send_ctrl(f, 1, VCON_CONSOLE_PORT_OPEN, 1); /* this alone starts the flow */
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "early");
}

static void backend_closing_tells_the_guest_and_reopening_resumes(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    char in[64];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    feed(f, 1, "bye");
    assert_int_equal(vcon_script_input_eof(backend(f, 1)), 0);
    feed(f, 1, "again");
    post_rx(f, vcon_console_rx_queue(1), 4, 64);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "bye");
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_OPEN, 0);
    assert_false(port_state(f, 1).host_open);
    vcon_console_backend_ready(f->con, 1); /* still closed: told once */
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    vcon_script_connect(backend(f, 1));
    vcon_console_backend_open(f->con, 1, true);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_OPEN, 1);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "again");
}

static void tx_to_a_closed_backend_completes_chains_and_counts_the_drop(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    vcon_script_disconnect(backend(f, 1));
    guest_write(f, 1, "lost");
    guest_write(f, 1, "too");
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 2);
    assert_int_equal(stats(f).tx_dropped_bytes, 7);
    assert_int_equal(stats(f).tx_bytes, 0);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 1, VCON_CONSOLE_PORT_OPEN, 0);
}

static void data_direction_malformed_chains_are_returned_and_counted(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    char in[64];
    uint32_t token, used;
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 1);
    /* rx chain with a device-readable part */
    feed(f, 1, "data");
    add_chain(f, vcon_console_rx_queue(1), "rd", 2, 16);
    assert_int_equal(vcon_guest_vring_get_used(&f->ring[vcon_console_rx_queue(1)], &token, &used),
                     1);
    assert_int_equal(used, 0);
    assert_int_equal(stats(f).data_malformed, 1);
    assert_int_equal(vcon_script_pending_input(backend(f, 1)), 4);
    /* tx chain with a device-writable part */
    add_chain(f, vcon_console_tx_queue(1), "wr", 2, 16);
    assert_int_equal(reap(f, vcon_console_tx_queue(1), 0), 1);
    assert_int_equal(stats(f).data_malformed, 2);
    expect_output(f, 1, "");
    /* The port still works both ways. */
    post_rx(f, vcon_console_rx_queue(1), 1, 16);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "data");
    guest_write(f, 1, "ok");
    expect_output(f, 1, "ok");
}

static void kicks_before_driver_ok_are_served_at_driver_ok(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(1, 1);
    char in[64];
    fx_create(f, &cfg);
    driver_setup(f, SINGLE_FEATURES);
    feed(f, 0, "boot");
    post_rx(f, 0, 1, 64);
    guest_write(f, 0, "early");
    kick(f, 0);
    kick(f, 1);
    expect_output(f, 0, "");
    assert_int_equal(guest_read(f, 0, in, sizeof(in), NULL), 0);
    driver_ok(f);
    expect_output(f, 0, "early");
    assert_int_equal(guest_read(f, 0, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "boot");
}

static void event_idx_device_keeps_asking_for_kicks(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(1, 1);
    char expect[64] = "";
    fx_create(f, &cfg);
    bring_up(f, SINGLE_FEATURES);
    /* Each write must need a kick and be served by it: a device that never
     * moved avail_event would stop hearing from the guest after one. */
    for (unsigned i = 0; i < 10; i++) {
        struct vcon_guest_vring *r = &f->ring[1];
        uint16_t old = r->avail_idx;
        struct vcon_guest_buf b;
        unsigned t = alloc_buf(f, 1);
        char ch = (char)('a' + i);
        b.gpa = f->bufs[t].gpa;
        b.len = 1;
        assert_int_equal(vcon_vm_guest_write(f->vm, b.gpa, &ch, 1), 0);
        assert_true(vcon_guest_vring_add(r, &b, 1, NULL, 0, t) >= 0);
        assert_true(vcon_guest_vring_kick_needed(r, old));
        kick(f, 1);
        expect[i] = ch;
        expect_output(f, 0, expect);
    }
}

/* ---- hot-plug ----------------------------------------------------------- */

static void hot_plug_announces_the_port_and_answers_its_port_ready(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 1);
    struct msg m[8];
    char in[16];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    assert_int_equal(vcon_console_port_add(f->con, 3, "hot", true), 0);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 3, VCON_CONSOLE_DEVICE_ADD, 1);
    send_ctrl(f, 3, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 3);
    expect_msg(&m[0], 3, VCON_CONSOLE_CONSOLE_PORT, 1);
    expect_msg(&m[1], 3, VCON_CONSOLE_PORT_NAME, 1);
    assert_memory_equal(m[1].payload, "hot", 3);
    expect_msg(&m[2], 3, VCON_CONSOLE_PORT_OPEN, 1);
    send_ctrl(f, 3, VCON_CONSOLE_PORT_OPEN, 1);
    feed(f, 3, "hi");
    post_rx(f, vcon_console_rx_queue(3), 1, 16);
    assert_int_equal(guest_read(f, 3, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "hi");
}

static void hot_plug_before_device_ready_is_announced_with_the_others(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 1);
    struct msg m[8];
    fx_create(f, &cfg);
    assert_int_equal(vcon_console_port_add(f->con, 2, "early", false), 0);
    bring_up(f, ALL_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 8, CTRL_BUF);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    send_ctrl(f, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 2);
    expect_msg(&m[0], 0, VCON_CONSOLE_DEVICE_ADD, 1);
    expect_msg(&m[1], 2, VCON_CONSOLE_DEVICE_ADD, 1);
}

static void hot_unplug_completes_the_held_chain_and_sends_device_remove(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 3);
    struct msg m[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 2);
    vcon_script_set_write_budget(backend(f, 2), 2);
    guest_write(f, 2, "stuck");
    assert_true(port_state(f, 2).tx_held);
    assert_int_equal(vcon_console_port_remove(f->con, 2), 0);
    assert_int_equal(reap(f, vcon_console_tx_queue(2), 0), 1);
    assert_int_equal(stats(f).tx_dropped_bytes, 3);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 2, VCON_CONSOLE_DEVICE_REMOVE, 1);
    assert_false(port_state(f, 2).present);
    assert_false(port_state(f, 2).guest_open);
    assert_false(port_state(f, 2).tx_held);
    /* Messages for the port are now malformed; the name is free again. */
    send_ctrl(f, 2, VCON_CONSOLE_PORT_OPEN, 1);
    assert_int_equal(stats(f).ctrl_malformed, 1);
    assert_int_equal(vcon_console_port_add(f->con, 3, "p2", false), 0);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 3, VCON_CONSOLE_DEVICE_ADD, 1);
}

static void port_add_and_remove_refuse_bad_requests(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 2);
    char long_name[VCON_CONSOLE_NAME_MAX + 1];
    fx_create(f, &cfg);
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(vcon_console_port_add(f->con, 4, "x", false), -EINVAL);
    assert_int_equal(vcon_console_port_add(f->con, 1, "x", false), -EEXIST);
    assert_int_equal(vcon_console_port_add(f->con, 0, "x", false), -EEXIST);
    assert_int_equal(vcon_console_port_add(f->con, 2, "p1", false), -EINVAL);
    assert_int_equal(vcon_console_port_add(f->con, 2, long_name, false), -EINVAL);
    assert_int_equal(vcon_console_port_remove(f->con, 0), -EINVAL);
    assert_int_equal(vcon_console_port_remove(f->con, 4), -EINVAL);
    assert_int_equal(vcon_console_port_remove(f->con, 3), -ENOENT);
    assert_int_equal(vcon_console_port_add(f->con, 2, NULL, false), 0); /* unnamed */
    assert_int_equal(vcon_console_port_remove(f->con, 2), 0);
    assert_int_equal(vcon_console_port_remove(f->con, 2), -ENOENT);
}

static void single_port_mode_refuses_hot_plug_of_other_ports(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 2);
    fx_create(f, &cfg);
    bring_up(f, SINGLE_FEATURES);
    assert_int_equal(vcon_console_port_add(f->con, 2, "x", false), -ENOTSUP);
    assert_int_equal(vcon_console_port_remove(f->con, 1), -ENOTSUP);
    assert_int_equal(vcon_console_port_remove(f->con, 0), -EINVAL);
}

/* ---- resize ------------------------------------------------------------- */

static void resize_of_port_0_updates_config_and_raises_a_config_interrupt(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(1, 1);
    fx_create(f, &cfg);
    bring_up(f, SINGLE_FEATURES);
    (void)read_isr(f);
    assert_int_equal(vcon_vm_irq_level(f->vm, INTX_LINE), 0);
    assert_int_equal(vcon_console_resize(f->con, 0, 132, 43), 0);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_COLS, 2), 132);
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_ROWS, 2), 43);
    assert_int_equal(vcon_vm_irq_level(f->vm, INTX_LINE), 1);
    assert_int_equal(read_isr(f) & VCON_VIRTIO_ISR_CONFIG, VCON_VIRTIO_ISR_CONFIG);
    assert_int_equal(vcon_vm_irq_level(f->vm, INTX_LINE), 0);
    assert_int_equal(vcon_console_resize(f->con, 1, 1, 1), -EINVAL);
}

static void resize_of_a_console_port_sends_rows_then_cols(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(4, 3);
    struct msg m[8];
    cfg.port[2].is_console = true;
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    open_port(f, 2);
    open_port(f, 1);
    assert_int_equal(vcon_console_resize(f->con, 2, 0x0102, 0x0304), 0);
    assert_int_equal(recv_ctrl(f, m, 8), 1);
    expect_msg(&m[0], 2, VCON_CONSOLE_RESIZE, 0);
    assert_int_equal(m[0].len, VCON_CONSOLE_CTRL_HEADER + VCON_CONSOLE_RESIZE_PAYLOAD);
    assert_int_equal(m[0].payload[0] | m[0].payload[1] << 8, 0x0304); /* rows */
    assert_int_equal(m[0].payload[2] | m[0].payload[3] << 8, 0x0102); /* cols */
    /* Port 2's size is not the configuration space's. */
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_COLS, 2), 80);
    /* A non-console port: no message. */
    assert_int_equal(vcon_console_resize(f->con, 1, 5, 5), 0);
    assert_int_equal(recv_ctrl(f, m, 8), 0);
    assert_int_equal(vcon_console_resize(f->con, 3, 5, 5), -ENOENT);
}

static void resize_before_port_ready_follows_the_port_ready_answer(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 1);
    struct msg m[8];
    fx_create(f, &cfg);
    multiport_ready(f, 16);
    assert_int_equal(vcon_console_resize(f->con, 0, 100, 30), 0);
    assert_int_equal(recv_ctrl(f, m, 8), 0); /* the guest has not the port yet */
    send_ctrl(f, 0, VCON_CONSOLE_PORT_READY, 1);
    assert_int_equal(recv_ctrl(f, m, 8), 4);
    expect_msg(&m[0], 0, VCON_CONSOLE_CONSOLE_PORT, 1);
    expect_msg(&m[1], 0, VCON_CONSOLE_PORT_NAME, 1);
    expect_msg(&m[2], 0, VCON_CONSOLE_PORT_OPEN, 1);
    expect_msg(&m[3], 0, VCON_CONSOLE_RESIZE, 0);
    assert_int_equal(m[3].payload[0], 30);
    assert_int_equal(m[3].payload[2], 100);
}

/* ---- reset and single-port mode ----------------------------------------- */

static void reset_in_the_middle_of_traffic_then_bring_up_again_works(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[8];
    char in[64];
    fx_create(f, &cfg);
    multiport_ready(f, 4);
    open_port(f, 1);
    vcon_script_set_write_budget(backend(f, 1), 0);
    guest_write(f, 1, "held");
    send_ctrl(f, 0, VCON_CONSOLE_PORT_READY, 1); /* answers wait: no buffers */
    assert_true(vcon_console_pending_ctrl(f->con) > 0);
    assert_true(port_state(f, 1).tx_held);

    set_status(f, 0);
    assert_int_equal(vcon_console_pending_ctrl(f->con), 0);
    for (unsigned p = 0; p < 2; p++) {
        struct vcon_console_port_state s = port_state(f, p);
        assert_true(s.present);
        assert_true(s.host_open);
        assert_false(s.guest_ready);
        assert_false(s.guest_open);
        assert_false(s.tx_held);
    }
    assert_int_equal(bar_r(f, CFG + VCON_CONSOLE_CFG_COLS, 2), 80);
    vcon_script_set_write_budget(backend(f, 1), SIZE_MAX);
    vcon_console_backend_ready(f->con, 1); /* nothing to write any more */
    expect_output(f, 1, "");

    multiport_ready(f, 16);
    open_port(f, 1);
    guest_write(f, 1, "again");
    expect_output(f, 1, "again");
    feed(f, 1, "back");
    post_rx(f, vcon_console_rx_queue(1), 1, 16);
    assert_int_equal(guest_read(f, 1, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "back");
    assert_int_equal(recv_ctrl(f, m, 8), 0);
}

static void single_port_mode_ignores_control_queue_kicks(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(2, 2);
    struct msg m[4];
    uint8_t b[8];
    char in[64];
    fx_create(f, &cfg);
    bring_up(f, SINGLE_FEATURES);
    post_rx(f, VCON_CONSOLE_CTRL_RX_QUEUE, 2, CTRL_BUF);
    encode(b, VCON_CONSOLE_BAD_ID, VCON_CONSOLE_DEVICE_READY, 1);
    add_chain(f, VCON_CONSOLE_CTRL_TX_QUEUE, b, sizeof(b), 0);
    kick(f, VCON_CONSOLE_CTRL_TX_QUEUE);
    kick(f, vcon_console_tx_queue(1));
    assert_int_equal(reap(f, VCON_CONSOLE_CTRL_TX_QUEUE, 0), 0); /* never taken */
    assert_int_equal(recv_ctrl(f, m, 4), 0);
    assert_true(stats(f).ignored_kicks >= 3);
    assert_int_equal(stats(f).ctrl_in, 0);
    /* Port 0 works without any PORT_OPEN. */
    feed(f, 0, "single");
    post_rx(f, 0, 1, 64);
    assert_int_equal(guest_read(f, 0, in, sizeof(in), NULL), 1);
    assert_string_equal(in, "single");
    guest_write(f, 0, "out");
    expect_output(f, 0, "out");
}

static void kicks_of_an_absent_ports_queues_are_ignored(void **state)
{
    struct fx *f = *state;
    struct vcon_console_config cfg = make_config(3, 1);
    fx_create(f, &cfg);
    multiport_ready(f, 4);
    guest_write(f, 2, "void");
    kick(f, vcon_console_tx_queue(2));
    assert_int_equal(reap(f, vcon_console_tx_queue(2), 0), 0);
    assert_true(stats(f).ignored_kicks >= 1);
    expect_output(f, 2, "");
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(create_refuses_invalid_configurations),
        T(pci_identity_features_and_queue_count_match_the_console),
        T(no_multiport_offers_two_queues_and_no_multiport_feature),
        T(config_reads_cols_rows_and_max_nr_ports_at_every_size),
        T(config_writes_to_read_only_fields_are_ignored_and_counted),
        T(emergency_write_reaches_port_0_backend),
        T(emergency_write_is_dropped_and_counted_when_backend_blocks),
        T(emergency_write_counts_a_byte_an_overclaiming_host_took),
        T(device_ready_announces_every_present_port_in_order),
        T(port_ready_answers_console_port_name_and_open),
        T(port_ready_sends_no_name_for_an_unnamed_port_and_no_open_when_host_closed),
        T(port_ready_0_marks_the_port_failed),
        T(control_messages_shorter_than_8_bytes_are_ignored),
        T(longer_control_messages_use_their_first_8_bytes),
        T(unknown_and_device_only_events_are_ignored_and_counted),
        T(out_of_range_and_absent_port_ids_are_ignored_and_counted),
        T(control_chain_with_a_writable_part_is_ignored),
        T(ctrl_rx_buffers_smaller_than_8_bytes_are_returned_and_the_message_kept),
        T(port_name_is_cut_to_fit_a_small_ctrl_rx_buffer),
        T(device_messages_wait_for_buffers_and_arrive_in_order),
        T(pending_control_queue_is_bounded_under_port_ready_spam),
        T(ctrl_rx_chain_with_a_readable_part_is_returned_unused),
        T(data_flows_both_ways_on_an_open_port),
        T(queue_relaid_under_a_held_tx_chain_forgets_the_chain),
        T(unplug_returns_a_held_tx_chain_even_without_driver_ok),
        T(tx_chain_is_held_while_the_backend_would_block),
        T(backend_bytes_wait_while_the_guest_has_no_rx_buffer),
        T(small_rx_buffers_split_data_in_order),
        T(data_waits_until_the_guest_opens_the_port),
        T(backend_closing_tells_the_guest_and_reopening_resumes),
        T(tx_to_a_closed_backend_completes_chains_and_counts_the_drop),
        T(data_direction_malformed_chains_are_returned_and_counted),
        T(kicks_before_driver_ok_are_served_at_driver_ok),
        T(event_idx_device_keeps_asking_for_kicks),
        T(hot_plug_announces_the_port_and_answers_its_port_ready),
        T(hot_plug_before_device_ready_is_announced_with_the_others),
        T(hot_unplug_completes_the_held_chain_and_sends_device_remove),
        T(port_add_and_remove_refuse_bad_requests),
        T(single_port_mode_refuses_hot_plug_of_other_ports),
        T(resize_of_port_0_updates_config_and_raises_a_config_interrupt),
        T(resize_of_a_console_port_sends_rows_then_cols),
        T(resize_before_port_ready_follows_the_port_ready_answer),
        T(reset_in_the_middle_of_traffic_then_bring_up_again_works),
        T(single_port_mode_ignores_control_queue_kicks),
        T(kicks_of_an_absent_ports_queues_are_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
