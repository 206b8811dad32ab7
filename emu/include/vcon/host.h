/* The host interface: the one seam through which a vcon device touches the
 * world. A device receives a copy of this struct at creation. Everything it
 * needs from outside (guest memory, interrupts, time, logging, backend I/O)
 * goes through these function pointers, so the same device code runs under
 * the fake hypervisor, a fuzzer, the recorder, the replayer and a real device
 * model. See DESIGN.md, "The seam". */
#ifndef VCON_HOST_H
#define VCON_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Address spaces a guest access can arrive in. */
enum vcon_space {
    VCON_SPACE_PIO = 0,        /* x86 port I/O, or a BAR of I/O type */
    VCON_SPACE_MMIO = 1,       /* memory-mapped I/O, or a BAR of memory type */
    VCON_SPACE_PCI_CONFIG = 2, /* PCI configuration space */
};

/* Results of a backend transfer other than a positive byte count. */
enum vcon_backend_status {
    VCON_BACKEND_NO_DATA = 0,      /* read: nothing available now */
    VCON_BACKEND_WOULD_BLOCK = -1, /* write: cannot accept anything now */
    VCON_BACKEND_CLOSED = -2,      /* the peer is gone (EOF / disconnected) */
};

/* Log levels, most severe first. */
enum vcon_log_level {
    VCON_LOG_ERROR = 0,
    VCON_LOG_WARN = 1,
    VCON_LOG_INFO = 2,
    VCON_LOG_DEBUG = 3,
};

/* A one-shot timer owned by the host. The device creates it once, arms it
 * with an absolute virtual deadline, and gets `fire` called when the host's
 * clock reaches the deadline. */
struct vcon_timer;
typedef void vcon_timer_fn(void *device);

/* A device's log rate limiter (see emu/log_budget.h): the virtual second
 * it counts for and the lines sent in it. Zero-initialised is ready. */
struct vcon_log_budget {
    uint64_t window;
    unsigned lines;
};

struct vcon_host {
    void *ctx; /* passed back as the first argument of every call */

    /* Guest memory. Each returns 0, or -EFAULT when any byte of
     * [gpa, gpa + len) lies outside guest RAM (nothing is copied then). The
     * device copies what it needs and never keeps a pointer into guest RAM. */
    int (*mem_read)(void *ctx, uint64_t gpa, void *buf, size_t len);
    int (*mem_write)(void *ctx, uint64_t gpa, const void *buf, size_t len);

    /* Interrupts: a wire (INTx, ISA IRQ) driven to a level, and MSI/MSI-X
     * messages. */
    void (*irq_set_level)(void *ctx, unsigned line, int level);
    void (*msi_send)(void *ctx, uint64_t address, uint32_t data);

    /* Virtual time in nanoseconds; never goes backwards. */
    uint64_t (*now_ns)(void *ctx);
    /* Timers. timer_create returns NULL when the host has no room. */
    struct vcon_timer *(*timer_create)(void *ctx, vcon_timer_fn *fire, void *device);
    void (*timer_arm)(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns);
    void (*timer_disarm)(void *ctx, struct vcon_timer *timer);
    void (*timer_destroy)(void *ctx, struct vcon_timer *timer);

    /* A log line (no trailing newline). Devices rate-limit what they send. */
    void (*log)(void *ctx, enum vcon_log_level level, const char *message);

    /* Backend I/O for the device's port `port` (0 for a UART; the port
     * number for a virtio-console). Never blocks. Returns the number of
     * bytes moved (> 0) or a vcon_backend_status. */
    int (*backend_read)(void *ctx, unsigned port, void *buf, size_t len);
    int (*backend_write)(void *ctx, unsigned port, const void *buf, size_t len);
};

#ifdef __cplusplus
}
#endif
#endif
