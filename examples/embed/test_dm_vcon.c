/* The example adapter's test: a tiny device model (guest RAM, an interrupt
 * controller, a poll() loop) hosts a COM port on a pseudo-terminal and a
 * virtio-console on a unix socket, and plays the guest by hand:
 *
 *   - COM1: bytes typed on the terminal raise the interrupt and are read
 *     from RBR; bytes written to THR come out on the terminal;
 *   - virtio-console (legacy virtio-PCI, single port): the guest finds the
 *     device in configuration space, sets up two virtqueues in its RAM,
 *     sends a buffer that comes out on the socket, and receives what the
 *     socket's peer writes, with an INTx interrupt.
 *
 * Exit status 0 when every check passed; a failed check prints where. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dm_vcon.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define RAM_SIZE (1u << 20)
#define INTX_GSI 5u
#define WAIT_NS 10000000000ull /* every wait is bounded: 10 s */

/* ---- the tiny device model ------------------------------------------------ */

static uint8_t guest_ram[RAM_SIZE];
static int irq_level[32];
static unsigned uart_asserts;
static bool uart_irq;

static void set_irq(void *arg, unsigned gsi, int level)
{
    (void)arg;
    if (gsi < 32)
        irq_level[gsi] = level;
}

static void send_msi(void *arg, uint64_t address, uint32_t data)
{
    (void)arg;
    (void)address;
    (void)data;
}

static uint64_t now_ns(void *arg)
{
    struct timespec ts;
    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void uart_assert(void *arg)
{
    (void)arg;
    uart_irq = true;
    uart_asserts++;
}

static void uart_deassert(void *arg)
{
    (void)arg;
    uart_irq = false;
}

static struct dm_vm vm = {
    .ram = guest_ram,
    .ram_size = RAM_SIZE,
    .set_irq = set_irq,
    .send_msi = send_msi,
    .now_ns = now_ns,
};

/* One turn of the device model's main loop: poll every device's
 * descriptors (at most 10 ms), dispatch, tick. */
static void loop_once(struct dm_vcon_io *const *ios, unsigned n)
{
    struct pollfd fds[64];
    unsigned count[8], total = 0;
    for (unsigned i = 0; i < n; i++) {
        count[i] = dm_vcon_io_poll_fds(ios[i], fds + total, 64u - total);
        total += count[i];
    }
    (void)poll(fds, total, 10);
    total = 0;
    for (unsigned i = 0; i < n; i++) {
        dm_vcon_io_dispatch(ios[i], fds + total, count[i]);
        (void)dm_vcon_io_tick(ios[i]);
        total += count[i];
    }
}

#define LOOP_UNTIL(ios, n, cond)                                      \
    do {                                                              \
        const uint64_t end_ = now_ns(NULL) + WAIT_NS;                 \
        while (!(cond)) {                                             \
            CHECK(now_ns(NULL) < end_);                               \
            loop_once(ios, n);                                        \
        }                                                             \
    } while (0)

/* Reads what is there on a non-blocking descriptor, appending. */
static void drain_fd(int fd, char *buf, size_t cap, size_t *len)
{
    for (;;) {
        const ssize_t got = read(fd, buf + *len, cap - 1 - *len);
        if (got <= 0)
            break;
        *len += (size_t)got;
    }
    buf[*len] = 0;
}

/* ---- COM1 on a pseudo-terminal ------------------------------------------------- */

enum { RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };

static void test_uart(void)
{
    struct dm_vcon_uart *u = NULL;
    char err[256], got[64];
    size_t len = 0;
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(master >= 0);
    CHECK(grantpt(master) == 0 && unlockpt(master) == 0);
    CHECK(fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) == 0);

    /* -l com1,/dev/pts/N */
    CHECK(dm_vcon_uart_init(&vm, uart_assert, uart_deassert, NULL, ptsname(master), &u, err,
                            sizeof(err)) == 0);
    struct dm_vcon_io *io = dm_vcon_uart_io(u);

    /* The guest's driver: 8N1, FIFO on (trigger 1), receive interrupts on,
     * OUT2 (the PC's interrupt gate). */
    dm_vcon_uart_write(u, LCR, 0x03);
    dm_vcon_uart_write(u, FCR, 0x07);
    dm_vcon_uart_write(u, MCR, 0x0B);
    dm_vcon_uart_write(u, IER, 0x01);

    /* Someone types on the terminal: the interrupt comes up. */
    CHECK(write(master, "hi", 2) == 2);
    LOOP_UNTIL(&io, 1, uart_irq);
    CHECK((dm_vcon_uart_read(u, IIR) & 0x0F) == 0x04); /* received data available */
    while (len < 2) {
        if (dm_vcon_uart_read(u, LSR) & 0x01)
            got[len++] = (char)dm_vcon_uart_read(u, RBR);
        else
            loop_once(&io, 1);
    }
    CHECK(memcmp(got, "hi", 2) == 0);
    CHECK(!uart_irq); /* nothing pending: the line went down */

    /* The guest answers: out on the terminal. */
    dm_vcon_uart_write(u, THR, 'o');
    dm_vcon_uart_write(u, THR, 'k');
    len = 0;
    LOOP_UNTIL(&io, 1, (drain_fd(master, got, sizeof(got), &len), len >= 2));
    CHECK(strcmp(got, "ok") == 0);

    dm_vcon_uart_deinit(u);
    close(master);
    printf("COM1 on %s: interrupt on input, RBR and THR work\n", "a pseudo-terminal");
}

/* ---- virtio-console on a unix socket -------------------------------------------- */

/* Legacy virtio-PCI I/O registers (BAR0). */
enum {
    HOST_FEATURES = 0x00,
    GUEST_FEATURES = 0x04,
    QUEUE_PFN = 0x08,
    QUEUE_NUM = 0x0C,
    QUEUE_SEL = 0x0E,
    QUEUE_NOTIFY = 0x10,
    STATUS = 0x12,
    ISR = 0x13,
};
#define STATUS_ACK 1u
#define STATUS_DRIVER 2u
#define STATUS_DRIVER_OK 4u
#define DESC_F_WRITE 2u

/* A legacy split ring at `base` (page aligned) of `num` entries. */
struct ring {
    uint64_t base, avail, used;
    unsigned num;
    uint16_t avail_idx;
};

static void put16(uint64_t gpa, uint16_t v)
{
    guest_ram[gpa] = (uint8_t)v;
    guest_ram[gpa + 1] = (uint8_t)(v >> 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
    put16(gpa, (uint16_t)v);
    put16(gpa + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(uint64_t gpa)
{
    return (uint16_t)(guest_ram[gpa] | guest_ram[gpa + 1] << 8);
}

static uint32_t get32(uint64_t gpa)
{
    return (uint32_t)get16(gpa) | (uint32_t)get16(gpa + 2) << 16;
}

static void setup_queue(struct dm_vcon_console *c, unsigned q, struct ring *r, uint64_t base)
{
    dm_vcon_console_barwrite(c, 0, QUEUE_SEL, 2, q);
    r->num = (unsigned)dm_vcon_console_barread(c, 0, QUEUE_NUM, 2);
    CHECK(r->num > 0);
    r->base = base;
    r->avail = base + 16u * r->num;
    r->used = (r->avail + 6u + 2u * r->num + 4095u) & ~(uint64_t)4095u;
    r->avail_idx = 0;
    memset(guest_ram + base, 0, (size_t)(r->used + 6u + 8u * r->num - base));
    dm_vcon_console_barwrite(c, 0, QUEUE_PFN, 4, base >> 12);
}

/* One buffer in descriptor 0, made available, and the device told. */
static void post(struct dm_vcon_console *c, unsigned q, struct ring *r, uint64_t gpa,
                 uint32_t len, bool writable)
{
    const uint16_t desc = (uint16_t)(r->avail_idx % r->num);
    const uint64_t d = r->base + 16u * desc;
    put32(d, (uint32_t)gpa);
    put32(d + 4, (uint32_t)(gpa >> 32));
    put32(d + 8, len);
    put16(d + 12, writable ? DESC_F_WRITE : 0);
    put16(d + 14, 0);
    put16(r->avail + 4u + 2u * (r->avail_idx % r->num), desc);
    r->avail_idx++;
    put16(r->avail + 2, r->avail_idx);
    dm_vcon_console_barwrite(c, 0, QUEUE_NOTIFY, 2, q);
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
    CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
    return fd;
}

static void test_console(const char *dir)
{
    struct dm_vcon_console *c = NULL;
    struct ring rx, tx;
    char err[256], opts[300], sock[256], got[128];
    size_t len = 0;
    uint32_t v = 0;
    static const char to_host[] = "hello from the guest";
    static const char to_guest[] = "hello from the host";

    snprintf(sock, sizeof(sock), "%s/console.sock", dir);
    snprintf(opts, sizeof(opts), "@socket:p0=%s:server", sock);
    /* -s 3,virtio-console,@socket:p0=DIR/console.sock:server */
    if (dm_vcon_console_init(&vm, INTX_GSI, opts, &c, err, sizeof(err)) != 0) {
        fprintf(stderr, "dm_vcon_console_init: %s\n", err);
        exit(1);
    }
    struct dm_vcon_io *io = dm_vcon_console_io(c);
    const int peer = connect_unix(sock);

    /* The PCI core and the guest's driver find and set up the device. */
    CHECK(dm_vcon_console_cfgread(c, 0x00, 2, &v) == 0 && v == 0x1AF4);
    CHECK(dm_vcon_console_cfgread(c, 0x02, 2, &v) == 0 && v == 0x1003);
    CHECK(dm_vcon_console_cfgwrite(c, 0x10, 4, 0xC000) == 0); /* BAR0: I/O */
    CHECK(dm_vcon_console_cfgwrite(c, 0x04, 2, 0x7) == 0);    /* I/O, memory, bus master */
    dm_vcon_console_barwrite(c, 0, STATUS, 1, 0);
    dm_vcon_console_barwrite(c, 0, STATUS, 1, STATUS_ACK);
    dm_vcon_console_barwrite(c, 0, STATUS, 1, STATUS_ACK | STATUS_DRIVER);
    (void)dm_vcon_console_barread(c, 0, HOST_FEATURES, 4);
    dm_vcon_console_barwrite(c, 0, GUEST_FEATURES, 4, 0); /* one port, no multiport */
    setup_queue(c, 0, &rx, 0x10000);
    setup_queue(c, 1, &tx, 0x20000);
    dm_vcon_console_barwrite(c, 0, STATUS, 1, STATUS_ACK | STATUS_DRIVER | STATUS_DRIVER_OK);

    /* Guest -> socket. */
    memcpy(guest_ram + 0x40000, to_host, sizeof(to_host) - 1);
    post(c, 1, &tx, 0x40000, sizeof(to_host) - 1, false);
    LOOP_UNTIL(&io, 1, (drain_fd(peer, got, sizeof(got), &len), len >= sizeof(to_host) - 1));
    CHECK(strcmp(got, to_host) == 0);
    CHECK(get16(tx.used + 2) == 1); /* the buffer came back */

    /* Socket -> guest, with an interrupt. */
    post(c, 0, &rx, 0x50000, 64, true);
    CHECK(write(peer, to_guest, sizeof(to_guest) - 1) == (ssize_t)(sizeof(to_guest) - 1));
    LOOP_UNTIL(&io, 1, get16(rx.used + 2) == 1);
    CHECK(get32(rx.used + 8) == sizeof(to_guest) - 1);
    CHECK(memcmp(guest_ram + 0x50000, to_guest, sizeof(to_guest) - 1) == 0);
    CHECK(irq_level[INTX_GSI] == 1);
    CHECK((dm_vcon_console_barread(c, 0, ISR, 1) & 1u) == 1u); /* reading ISR acknowledges */
    CHECK(irq_level[INTX_GSI] == 0);

    close(peer);
    dm_vcon_console_deinit(c);
    printf("virtio-console on a unix socket: both directions and INTx work\n");
}

int main(void)
{
    char dir[] = "/tmp/dm-vcon-test-XXXXXX";
    char sock[64];
    CHECK(mkdtemp(dir) != NULL);
    test_uart();
    test_console(dir);
    snprintf(sock, sizeof(sock), "%s/console.sock", dir);
    unlink(sock); /* the server removed it already; in case it did not */
    CHECK(rmdir(dir) == 0);
    return 0;
}
