/* Fuzz target: the devices' creation calls and the host-facing API with
 * arguments from the input, as an embedder might get them wrong. Guest
 * input reaches none of this; a device model does. (Its own target, not a
 * mode of fuzz_options: creating a console allocates a few hundred KiB,
 * which would slow the parsers' fuzzing eightfold.)
 *
 * Input: a host byte (which host callbacks exist),
 * then sections, each a selector byte and its operands, until the input
 * ends (n counts are taken modulo 17). The selector modulo 5 picks the section; (selector / 5) % 8, when
 * not 0, makes that allocation of the section fail (calloc, linked with
 * -Wl,--wrap=calloc, and the host's timer_create count):
 *   0 uart:       u8 flavour, u8 profile, u8 irq mode, u16 rx, u16 tx FIFO
 *   1 console:    u8 max_ports, u16 queue size, u16 present ports, u8
 *                 flags (bit 0 no multiport, bit 1 a name left unterminated,
 *                 bit 2 two ports share a name), u8 n, n API calls on
 *                 it (u8 op, u8 port)
 *   2 virtio-pci: u8 nr_queues, u16 queue size, u16 config size, u8 flags
 *                 (bit 0 no ops, bit 1 the device refuses config accesses),
 *                 u8 n, n accesses (u8 op, u16 offset)
 *   3 virtq:      u16 size, u32 pfn, u8 flags, u8 n, n chain copies with
 *                 segment counts from a byte each
 * The n calls follow only when the creation succeeded (n is read anyway).
 *   4 parsers:    every parser with NULL arguments
 * The check for each create call is an independent statement of what the
 * headers document as valid: it must succeed exactly then, and fail with
 * -EINVAL otherwise, or with -ENOMEM exactly when an allocation failed. A
 * created device is destroyed at the section's end; ASan's leak check sees
 * what a failed creation left behind. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "vcon/console.h"
#include "vcon/dm_options.h"
#include "vcon/uart.h"
#include "vcon/virtio_pci.h"
#include "vcon/virtq.h"

/* ---- allocations that fail on request ---------------------------------- */

/* The target links with -Wl,--wrap=calloc (fuzzers/CMakeLists.txt): the
 * devices' calloc calls come here. Only the thread that armed the
 * countdown sees failures (libFuzzer's own threads allocate too). */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static unsigned fail_countdown;
static bool allocation_failed;
static pthread_t armed_thread;

static bool allocation_refused(void)
{
    if (fail_countdown == 0 || !pthread_equal(pthread_self(), armed_thread))
        return false;
    if (--fail_countdown != 0)
        return false;
    allocation_failed = true;
    return true;
}

void *__wrap_calloc(size_t n, size_t size)
{
    return allocation_refused() ? NULL : __real_calloc(n, size);
}

static void arm_failure(unsigned nth)
{
    fail_countdown = nth;
    allocation_failed = false;
    armed_thread = pthread_self();
}

/* ---- a host that does nothing ------------------------------------------ */

static int api_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    (void)ctx;
    /* Guest RAM is one page at 0: enough for chain copies to land. */
    if (gpa >= 4096 || len > 4096 - gpa)
        return -EFAULT;
    memset(buf, 0x5A, len);
    return 0;
}

static int api_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    return gpa >= 4096 || len > 4096 - gpa ? -EFAULT : 0;
}

static void api_irq(void *ctx, unsigned line, int level)
{
    (void)ctx;
    (void)line;
    (void)level;
}

static void api_msi(void *ctx, uint64_t address, uint32_t data)
{
    (void)ctx;
    (void)address;
    (void)data;
}

static uint64_t api_now(void *ctx)
{
    (void)ctx;
    return 0;
}

struct vcon_timer {
    int unused;
};
static struct vcon_timer api_timer_storage;

static struct vcon_timer *api_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    (void)ctx;
    (void)fire;
    (void)device;
    return allocation_refused() ? NULL : &api_timer_storage;
}

static void api_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    (void)ctx;
    (void)timer;
    (void)deadline_ns;
}

static void api_timer_other(void *ctx, struct vcon_timer *timer)
{
    (void)ctx;
    (void)timer;
}

static int api_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    (void)ctx;
    (void)port;
    (void)buf;
    (void)len;
    return -EAGAIN;
}

static int api_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    (void)ctx;
    (void)port;
    (void)buf;
    return (int)(len > 64 ? 64 : len);
}

/* Host byte bits. */
enum {
    H_MEM_READ = 1u << 0,
    H_MEM_WRITE = 1u << 1,
    H_IRQ = 1u << 2,
    H_MSI = 1u << 3,
    H_BACKEND_READ = 1u << 4,
    H_BACKEND_WRITE = 1u << 5,
    H_TIMERS = 1u << 6,        /* the whole timer set */
    H_TIMER_CREATE_ONLY = 1u << 7,
};

static void make_host(uint8_t bits, struct vcon_host *h)
{
    memset(h, 0, sizeof(*h));
    h->mem_read = (bits & H_MEM_READ) ? api_mem_read : NULL;
    h->mem_write = (bits & H_MEM_WRITE) ? api_mem_write : NULL;
    h->irq_set_level = (bits & H_IRQ) ? api_irq : NULL;
    h->msi_send = (bits & H_MSI) ? api_msi : NULL;
    h->backend_read = (bits & H_BACKEND_READ) ? api_backend_read : NULL;
    h->backend_write = (bits & H_BACKEND_WRITE) ? api_backend_write : NULL;
    h->log = vcon_fuzz_log_sink;
    if (bits & (H_TIMERS | H_TIMER_CREATE_ONLY))
        h->timer_create = api_timer_create;
    if (bits & H_TIMERS) {
        h->timer_arm = api_timer_arm;
        h->timer_disarm = api_timer_other;
        h->timer_destroy = api_timer_other;
        h->now_ns = api_now;
    }
}

static void check_rc(int rc, bool valid, const char *what)
{
    vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    if (valid && allocation_failed)
        VCON_FUZZ_CHECKF(rc == -ENOMEM, "api: a failed allocation fails the call with -ENOMEM",
                         "%s returned %d", what, rc);
    else if (valid)
        VCON_FUZZ_CHECKF(rc == 0, "api: a valid configuration is accepted", "%s returned %d", what, rc);
    else
        VCON_FUZZ_CHECKF(rc == -EINVAL, "api: an invalid configuration is refused with -EINVAL",
                         "%s returned %d", what, rc);
}

/* The end of a creation call made after arm_failure(fail_at): its return
 * checked (against the allocation that failed, if one did), then the
 * failures disarmed; returns `rc`. */
static int created(int rc, bool valid, const char *what)
{
    check_rc(rc, valid, what);
    arm_failure(0);
    return rc;
}

static bool is_power_of_two(unsigned v)
{
    return v != 0 && (v & (v - 1u)) == 0;
}

/* ---- uart --------------------------------------------------------------- */

static void uart_section(struct vcon_fuzz_in *in, uint8_t host_bits, unsigned fail_at)
{
    uint8_t flavour, profile, irq_mode;
    uint16_t rx, tx;
    if (!vcon_fuzz_u8(in, &flavour) || !vcon_fuzz_u8(in, &profile) || !vcon_fuzz_u8(in, &irq_mode) ||
        !vcon_fuzz_u16(in, &rx) || !vcon_fuzz_u16(in, &tx))
        return;
    struct vcon_host host;
    make_host(host_bits, &host);
    const struct vcon_uart_config config = {
        .flavour = (enum vcon_uart_flavour)(flavour % 3u),
        .profile = (enum vcon_uart_profile)(profile % 3u),
        .irq_mode = (enum vcon_uart_irq_mode)(irq_mode % 3u),
        .irq_line = 4,
        .rx_fifo_size = rx % (2u * VCON_UART_MAX_FIFO),
        .tx_fifo_size = tx % (2u * VCON_UART_MAX_FIFO),
    };
    const uint8_t needed = H_IRQ | H_BACKEND_READ | H_BACKEND_WRITE;
    const bool valid = (host_bits & needed) == needed &&
                       (config.flavour == VCON_UART_FLAVOUR_DM || config.flavour == VCON_UART_FLAVOUR_HV) &&
                       (config.profile == VCON_UART_PROFILE_16550A ||
                        config.profile == VCON_UART_PROFILE_ACRN_DM) &&
                       (config.irq_mode == VCON_UART_IRQ_LEVEL || config.irq_mode == VCON_UART_IRQ_EDGE) &&
                       config.rx_fifo_size <= VCON_UART_MAX_FIFO &&
                       config.tx_fifo_size <= VCON_UART_MAX_FIFO &&
                       ((host_bits & H_TIMERS) || !(host_bits & H_TIMER_CREATE_ONLY));
    struct vcon_uart *uart = NULL;
    check_rc(vcon_uart_create(NULL, &host, &uart), false, "vcon_uart_create(NULL config)");
    check_rc(vcon_uart_create(&config, NULL, &uart), false, "vcon_uart_create(NULL host)");
    arm_failure(fail_at);
    const int rc = created(vcon_uart_create(&config, &host, &uart), valid, "vcon_uart_create");
    if (rc != 0)
        return;
    /* Offsets past the registers and sizes the bus never sends. */
    uint32_t value = 0;
    for (unsigned off = 0; off < 10; off++) {
        (void)vcon_uart_read(uart, off, 1 + off % 4, &value);
        vcon_fuzz_observe_u64(value);
        (void)vcon_uart_write(uart, off, 1 + off % 4, 0);
    }
    (void)vcon_uart_receive_with_error(uart, 0x41, 0xFF);
    vcon_uart_destroy(uart);
}

/* ---- console ------------------------------------------------------------ */

static void console_calls(struct vcon_fuzz_in *in, struct vcon_console *c, unsigned max_ports,
                          uint8_t count)
{
    uint8_t op, port;
    for (unsigned n = 0; n < count % 17u && vcon_fuzz_u8(in, &op) && vcon_fuzz_u8(in, &port); n++) {
        struct vcon_console_port_state ps;
        char name[VCON_CONSOLE_NAME_MAX + 4];
        int rc;
        memset(name, 'n', sizeof(name));
        name[1 + port % 3] = '\0';
        switch (op % 5u) {
        case 0:
            rc = vcon_console_port_add(c, port, (op & 8) ? NULL : name, false);
            break;
        case 1: /* a name with no NUL inside the limit */
            memset(name, 'u', sizeof(name));
            rc = vcon_console_port_add(c, port % max_ports, name, true);
            VCON_FUZZ_CHECK(rc == -EINVAL || rc == -EEXIST || rc == -ENOTSUP,
                            "api: an unterminated port name is refused");
            break;
        case 2:
            rc = vcon_console_port_remove(c, port);
            break;
        case 3:
            rc = vcon_console_resize(c, port, (uint16_t)(op * 7u), (uint16_t)(op * 3u));
            break;
        default:
            rc = vcon_console_get_port(c, port, (op & 8) ? NULL : &ps);
            VCON_FUZZ_CHECK(rc == 0 || rc == -EINVAL, "api: get_port returns 0 or -EINVAL");
            VCON_FUZZ_CHECK((rc == 0) == (port < max_ports && !(op & 8)),
                            "api: get_port answers for exactly the ports there can be");
            break;
        }
        VCON_FUZZ_CHECK(rc <= 0, "api: console calls return 0 or a negative errno");
        if (port >= max_ports && op % 5u != 1)
            VCON_FUZZ_CHECK(rc == -EINVAL, "api: a port number past max_ports is refused");
        vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    }
}

static void console_section(struct vcon_fuzz_in *in, uint8_t host_bits, unsigned fail_at)
{
    uint8_t max_ports, flags, count;
    uint16_t qsize, present;
    if (!vcon_fuzz_u8(in, &max_ports) || !vcon_fuzz_u16(in, &qsize) || !vcon_fuzz_u16(in, &present) ||
        !vcon_fuzz_u8(in, &flags) || !vcon_fuzz_u8(in, &count))
        return;
    struct vcon_host host;
    make_host(host_bits, &host);
    struct vcon_console_config config;
    memset(&config, 0, sizeof(config));
    config.max_ports = max_ports % (VCON_CONSOLE_MAX_PORTS + 2u);
    /* Mostly powers of two (bit 15 clear), some of them too large. */
    config.queue_size = (qsize & 0x8000u) ? (uint16_t)(qsize & 0x7FFFu) : (uint16_t)(1u << (qsize % 12u));
    config.no_multiport = flags & 1u;
    config.cols = 80;
    config.rows = 25;
    bool names_ok = true, beyond = false;
    unsigned first = VCON_CONSOLE_MAX_PORTS;
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        struct vcon_console_port_config *pc = &config.port[p];
        pc->present = (present >> p) & 1u;
        if (!pc->present)
            continue;
        beyond |= p >= config.max_ports;
        /* "pN", or for the first present port what the flags ask. */
        pc->name[0] = 'p';
        pc->name[1] = (char)('a' + p);
        if (first == VCON_CONSOLE_MAX_PORTS) {
            first = p;
            if (flags & 2u) {
                memset(pc->name, 'x', sizeof(pc->name));
                names_ok = false;
            }
        } else if (flags & 4u) {
            memcpy(pc->name, config.port[first].name, sizeof(pc->name));
            names_ok = names_ok && config.port[first].name[0] == '\0';
        }
    }
    const unsigned q = config.queue_size ? config.queue_size : VCON_CONSOLE_DEFAULT_QUEUE_SIZE;
    const uint8_t needed = H_MEM_READ | H_MEM_WRITE | H_IRQ | H_MSI | H_BACKEND_READ | H_BACKEND_WRITE;
    const bool valid = (host_bits & needed) == needed && config.max_ports >= 1 &&
                       config.max_ports <= VCON_CONSOLE_MAX_PORTS && is_power_of_two(q) &&
                       q <= VCON_VIRTQ_MAX_SIZE && config.port[0].present && !beyond && names_ok;
    struct vcon_console *c = NULL;
    check_rc(vcon_console_create(&config, &host, NULL), false, "vcon_console_create(NULL out)");
    check_rc(vcon_console_create(NULL, &host, &c), false, "vcon_console_create(NULL config)");
    arm_failure(fail_at);
    const int rc = created(vcon_console_create(&config, &host, &c), valid, "vcon_console_create");
    if (rc != 0)
        return;
    console_calls(in, c, config.max_ports, count);
    vcon_console_destroy(c);
}

/* ---- virtio-pci ---------------------------------------------------------- */

struct api_device {
    unsigned config_size;
    bool refuse;
};

static uint32_t dev_features(void *device)
{
    (void)device;
    return 1u;
}

static int dev_config_read(void *device, unsigned offset, unsigned size, uint32_t *value)
{
    const struct api_device *d = device;
    if (d->refuse || offset + size > d->config_size)
        return -EINVAL;
    *value = 0;
    return 0;
}

static int dev_config_write(void *device, unsigned offset, unsigned size, uint32_t value)
{
    const struct api_device *d = device;
    (void)value;
    return d->refuse || offset + size > d->config_size ? -EINVAL : 0;
}

static unsigned dev_config_size(void *device)
{
    return ((const struct api_device *)device)->config_size;
}

static void dev_reset(void *device)
{
    (void)device;
}

static void pci_section(struct vcon_fuzz_in *in, uint8_t host_bits, unsigned fail_at)
{
    uint8_t nr_queues, flags, count;
    uint16_t qsize, config_size;
    if (!vcon_fuzz_u8(in, &nr_queues) || !vcon_fuzz_u16(in, &qsize) ||
        !vcon_fuzz_u16(in, &config_size) || !vcon_fuzz_u8(in, &flags) || !vcon_fuzz_u8(in, &count))
        return;
    struct vcon_host host;
    make_host(host_bits, &host);
    struct api_device dev = {.config_size = config_size % 512u, .refuse = (flags & 2u) != 0};
    const struct vcon_virtio_device_ops ops = {
        .host_features = dev_features,
        .config_read = dev_config_read,
        .config_write = dev_config_write,
        .config_size = dev_config_size,
        .reset = dev_reset,
    };
    const struct vcon_virtio_pci_config config = {
        .device_id = 0x1003,
        .subsystem_id = 3,
        .nr_queues = nr_queues % (VCON_VIRTIO_PCI_MAX_QUEUES + 2u),
        .queue_size = (qsize & 0x8000u) ? (uint16_t)(qsize & 0x7FFFu) : (uint16_t)(1u << (qsize % 12u)),
    };
    const uint8_t needed = H_MEM_READ | H_MEM_WRITE | H_IRQ | H_MSI;
    const bool no_ops = flags & 1u;
    /* BAR0 holds the legacy registers, the MSI-X ones and the device's
     * configuration in 256 bytes at most. */
    const bool valid = (host_bits & needed) == needed && !no_ops && config.nr_queues >= 1 &&
                       config.nr_queues <= VCON_VIRTIO_PCI_MAX_QUEUES &&
                       is_power_of_two(config.queue_size) &&
                       config.queue_size <= VCON_VIRTQ_MAX_SIZE &&
                       dev.config_size <= 256u - VCON_VIRTIO_PCI_CONFIG_MSIX;
    struct vcon_virtio_pci *t = NULL;
    arm_failure(fail_at);
    const int rc = created(vcon_virtio_pci_create(&config, &host, no_ops ? NULL : &ops, &dev, &t),
                           valid, "vcon_virtio_pci_create");
    vcon_virtio_pci_destroy(NULL);
    if (rc != 0)
        return;
    uint8_t op;
    uint16_t offset;
    for (unsigned n = 0; n < count % 17u && vcon_fuzz_u8(in, &op) && vcon_fuzz_u16(in, &offset); n++) {
        const unsigned bar = (op >> 1) % 3u, size = 1u + (op >> 3) % 4u;
        uint32_t value = 0;
        int r;
        switch (op & 1u) {
        case 0:
            r = vcon_virtio_pci_bar_read(t, bar, offset, size, (op & 0x80) ? NULL : &value);
            break;
        default:
            r = vcon_virtio_pci_bar_write(t, bar, offset, size, value);
            break;
        }
        VCON_FUZZ_CHECK(r == 0 || r == -EINVAL, "api: BAR accesses return 0 or -EINVAL");
        if (bar > 1)
            VCON_FUZZ_CHECK(r == -EINVAL, "api: an access to a BAR that is not there is refused");
        vcon_fuzz_observe_u64(value);
        /* Decode on after the first access: both refusals get their turn. */
        (void)vcon_virtio_pci_config_write(t, VCON_PCI_COMMAND, 2,
                                           VCON_PCI_COMMAND_IO | VCON_PCI_COMMAND_MEMORY);
        VCON_FUZZ_CHECK(vcon_virtio_pci_config_read(t, offset, size, NULL) == -EINVAL,
                        "api: a configuration read with nowhere to put it is refused");
    }
    vcon_virtio_pci_destroy(t);
}

/* ---- virtq ---------------------------------------------------------------- */

static void virtq_section(struct vcon_fuzz_in *in, uint8_t host_bits)
{
    static struct vcon_virtq_chain chain;
    struct vcon_virtq vq;
    uint16_t size;
    uint32_t pfn;
    uint8_t flags, b, count;
    if (!vcon_fuzz_u16(in, &size) || !vcon_fuzz_u32(in, &pfn) || !vcon_fuzz_u8(in, &flags) ||
        !vcon_fuzz_u8(in, &count))
        return;
    struct vcon_host host;
    make_host(host_bits, &host);
    memset(&vq, 0, sizeof(vq));
    const bool hosted = (host_bits & (H_MEM_READ | H_MEM_WRITE)) == (H_MEM_READ | H_MEM_WRITE);
    const bool valid = pfn == 0 || (hosted && is_power_of_two(size) && size <= VCON_VIRTQ_MAX_SIZE);
    const int rc = vcon_virtq_setup_legacy(&vq, (flags & 1u) ? NULL : &host, size, pfn,
                                           (flags & 2u) != 0, (flags & 4u) != 0);
    check_rc(rc, valid && (pfn == 0 || !(flags & 1u)), "vcon_virtq_setup_legacy");
    vcon_fuzz_observe_u64(vcon_virtq_legacy_bytes(size));
    /* Chain copies with counts and segments a caller made up: the copy
     * must not trust them. */
    vq.host = &host;
    if (!hosted)
        return;
    for (unsigned n = 0; n < count % 17u && vcon_fuzz_u8(in, &b); n++) {
        uint8_t buf[64];
        memset(&chain, 0, sizeof(chain));
        chain.nr_out = (uint16_t)(b & 0x0Fu) << ((b & 0x10u) ? 8 : 0);
        chain.nr_in = (uint16_t)(b >> 5) << ((b & 0x10u) ? 9 : 0);
        for (unsigned i = 0; i < 8; i++) {
            chain.seg[i].gpa = (b & 0x80u) ? UINT64_MAX - i : 512u * i;
            chain.seg[i].len = 16u + i;
        }
        const bool bad_counts = (unsigned)chain.nr_out + chain.nr_in > VCON_VIRTQ_MAX_SIZE;
        int r = vcon_virtq_read_chain(&vq, &chain, b % 7u, (b & 0x40u) ? NULL : buf, sizeof(buf));
        if (bad_counts && !(b & 0x40u))
            VCON_FUZZ_CHECK(r == -EINVAL, "api: a chain with more segments than a queue is refused");
        VCON_FUZZ_CHECK(r <= (int)sizeof(buf), "api: a chain copy stays in its buffer");
        vcon_fuzz_observe_u64((uint64_t)(int64_t)r);
        r = vcon_virtq_write_chain(&vq, &chain, b % 5u, (b & 0x40u) ? NULL : buf, (b & 1u) ? 0 : sizeof(buf));
        VCON_FUZZ_CHECK(r <= (int)sizeof(buf), "api: a chain copy stays in its buffer");
        vcon_fuzz_observe_u64((uint64_t)(int64_t)r);
        r = vcon_virtq_read_chain(NULL, &chain, 0, buf, sizeof(buf));
        VCON_FUZZ_CHECK(r == -EINVAL, "api: a copy without a queue is refused");
    }
}

/* ---- parsers with nothing to work on --------------------------------------- */

static void parser_section(void)
{
    struct vcon_dm_config config;
    struct vcon_console_config ccfg;
    struct vcon_backend_spec specs[VCON_CONSOLE_MAX_PORTS];
    char err[128];
    vcon_dm_config_init(&config);
    check_rc(vcon_dm_parse_slot(NULL, "1:0,lpc", err, sizeof(err)), false, "-s with no config");
    check_rc(vcon_dm_parse_slot(&config, NULL, err, sizeof(err)), false, "-s with no text");
    check_rc(vcon_dm_parse_lpc_device(NULL, "com1,stdio", err, sizeof(err)), false, "-l with no config");
    check_rc(vcon_dm_parse_lpc_device(&config, NULL, err, sizeof(err)), false, "-l with no text");
    check_rc(vcon_dm_config_check(NULL, err, sizeof(err)), false, "check with no config");
    config.nr_slots = VCON_DM_MAX_SLOTS + 1u;
    check_rc(vcon_dm_config_check(&config, err, sizeof(err)), false, "check of a made-up config");
    check_rc(vcon_console_parse_options(NULL, &ccfg, specs, err, sizeof(err)), false,
             "console options with no text");
    check_rc(vcon_console_parse_options("stdio:a", NULL, specs, err, sizeof(err)), false,
             "console options with no config");
    check_rc(vcon_dm_parse_uart_backend(NULL, &specs[0], err, sizeof(err)), false, "backend with no text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcon_fuzz_in in = vcon_fuzz_in_init(data, size);
    uint8_t host_bits = 0, section;
    vcon_fuzz_begin();
    vcon_fuzz_set_target("api");
    /* A missing host byte means no callbacks: every creation is refused,
     * which reaches the devices' checks even for an empty input. */
    (void)vcon_fuzz_u8(&in, &host_bits);
    parser_section();
    for (unsigned index = 0; vcon_fuzz_u8(&in, &section); index++) {
        static const char *const names[5] = {"uart", "console", "virtio-pci", "virtq", "parsers"};
        const unsigned fail_at = (section / 5u) % 8u;
        vcon_fuzz_set_op(index, names[section % 5u]);
        switch (section % 5u) {
        case 0:
            uart_section(&in, host_bits, fail_at);
            break;
        case 1:
            console_section(&in, host_bits, fail_at);
            break;
        case 2:
            pci_section(&in, host_bits, fail_at);
            break;
        case 3:
            virtq_section(&in, host_bits);
            break;
        default:
            parser_section();
            break;
        }
    }
    return 0;
}
