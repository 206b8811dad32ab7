/* vcon-run's parts (tools/vcon_run.c, tools/run_*.c): the devices of a
 * device-model command line on real backends, a fake guest following a
 * script, an epoll loop, and optionally a recording. docs/embedding.md,
 * "vcon-run". */
#ifndef VCON_TOOLS_RUN_H
#define VCON_TOOLS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/uart_driver.h"
#include "guest/virtio_console_driver.h"
#include "harness/rig.h"
#include "loop/event_loop.h"
#include "vcon/backend.h"
#include "vcon/backend_host.h"
#include "vcon/recorder.h"

#define RUN_EXIT_OK 0
#define RUN_EXIT_FAILED 1 /* the script failed (expect), output undelivered, bring-up */
#define RUN_EXIT_USAGE 2  /* bad command line, configuration, script or backend */

#define RUN_MAX_PORTS VCON_CONSOLE_MAX_PORTS
#define RUN_CONFIG_MAX 4096u
#define RUN_ERR_MAX 512u
#define RUN_MS 1000000ull /* ns */

/* A FIFO of bytes. */
struct run_bytes {
    uint8_t *data;
    size_t head, len, cap;
};
int run_bytes_push(struct run_bytes *b, const void *src, size_t n); /* 0 or -ENOMEM */
void run_bytes_drop(struct run_bytes *b, size_t n);
static inline const uint8_t *run_bytes_front(const struct run_bytes *b)
{
    static const uint8_t none[1];
    return b->data != NULL ? b->data + b->head : none;
}
void run_bytes_free(struct run_bytes *b);

/* One port of one device: its real backend and the guest's side of it. */
struct run_port {
    struct run *run;
    unsigned device, port;   /* rig device index, port number on it */
    bool console;            /* a virtio-console port; else a UART */
    char name[VCON_CONSOLE_NAME_MAX]; /* the option text's NAME, or "comN" */
    struct vcon_backend_spec spec;
    struct vcon_backend *backend;
    uint64_t next_retry_ns;  /* socket client without a server: next connect try */
    /* guest side */
    bool echo;               /* write back whatever arrives */
    struct run_bytes tx;     /* for the guest to write */
    uint64_t tx_queued, tx_taken; /* bytes put into tx, taken by the driver */
    struct run_bytes window; /* received, kept for expect */
    bool window_cut;         /* the window overflowed: oldest bytes dropped */
    unsigned expects_left;   /* expect commands still to run on this port */
    uint64_t rx_total;       /* bytes the guest received */
};

struct run_device {
    struct vcon_rig_device_info info;
    struct vcon_backend *ports[RUN_MAX_PORTS]; /* read by bh at every call */
    struct vcon_backend_host bh;
    struct vcon_guest_uart *uart;
    struct vcon_guest_console *console;
    struct run_port *first_port;
};

enum run_cmd_kind {
    RUN_CMD_ECHO,
    RUN_CMD_WRITE,       /* TEXT, or a FILE's bytes (send) */
    RUN_CMD_EXPECT,      /* TEXT somewhere in what arrived */
    RUN_CMD_EXPECT_FILE, /* exactly a FILE's bytes next */
    RUN_CMD_SLEEP,
    RUN_CMD_WAIT_OPEN,
    RUN_CMD_WAIT_CLOSED,
    RUN_CMD_WAIT,        /* until a signal */
    RUN_CMD_MARK,
    RUN_CMD_QUIT,
};

struct run_cmd {
    enum run_cmd_kind kind;
    char where[96];      /* "FILE:LINE" or "-e #N", for messages */
    char port_name[VCON_CONSOLE_NAME_MAX];
    struct run_port *port;
    uint8_t *data;       /* TEXT or the FILE's bytes; NUL-terminated */
    size_t len;
    uint64_t ns;         /* sleep */
    uint64_t target;     /* write: port->tx_queued once queued */
    size_t scanned;      /* expect: window bytes already searched */
};

/* A script source, in command-line order. */
struct run_source {
    bool is_file;
    const char *text; /* the -e command, or the file's path */
};

struct run_options {
    char config[RUN_CONFIG_MAX]; /* the rig's tokens, blank-separated */
    struct run_source *sources;
    unsigned nr_sources;
    const char *record;
    uint64_t time_step_ns;       /* 0: virtual time follows the wall clock */
    uint64_t timeout_ns;         /* expect, wait-open, wait-closed */
    uint64_t drain_ns;           /* output delivery at the end */
    uint64_t retry_ns;           /* socket clients: reconnect interval */
    size_t buffer_size;          /* backend output bound; 0: default */
    bool client_wait;
    bool stats;
    bool verbose;
};

enum run_phase {
    RUN_PHASE_SCRIPT,
    RUN_PHASE_DRAIN,
    RUN_PHASE_DONE,
};

struct run {
    struct run_options opt;
    struct vcon_rig_hooks hooks; /* the rig's wrap_host: run_backends.c */
    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_recorder *rec;
    struct vcon_loop *loop;
    unsigned nr_devices;
    struct run_device dev[VCON_RIG_MAX_DEVICES];
    unsigned nr_ports;
    struct run_port port[VCON_RIG_MAX_DEVICES * RUN_MAX_PORTS];

    struct run_cmd *cmds;
    unsigned nr_cmds, pc;
    bool cmd_started;
    uint64_t cmd_start_ns;

    enum run_phase phase;
    uint64_t drain_start_ns;
    int exit_status;
    uint64_t progress;      /* bumped whenever bytes or events moved */
    uint64_t wall_last_ns;  /* CLOCK_MONOTONIC at the last time step */
};

/* Prints "vcon-run: " + the formatted message on stderr. */
void run_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* run_script.c */
int run_script_load(struct run *r);    /* parse every source: 0 or RUN_EXIT_USAGE */
int run_script_resolve(struct run *r); /* port names: 0 or RUN_EXIT_USAGE */
/* Run the commands that can run now. Sets r->phase / r->exit_status. */
void run_script_step(struct run *r);
/* The virtual time (ns) at which the script next wants to look at the
 * clock, or UINT64_MAX. */
uint64_t run_script_deadline(const struct run *r);
void run_script_free(struct run *r);
struct run_port *run_find_port(struct run *r, const char *name, unsigned *matches);

/* run_backends.c */
const struct vcon_rig_hooks *run_hooks(struct run *r); /* wrap_host for the rig */
int run_ports_find(struct run *r);     /* after the rig: 0 or RUN_EXIT_USAGE */
int run_backends_open(struct run *r);  /* 0 or RUN_EXIT_USAGE */
void run_backends_start(struct run *r); /* the first vcon_backend_poll of each */
void run_backends_poll(struct run *r);  /* held output, retries, events noticed */
void run_backends_want(struct run *r);  /* declare the descriptors to the loop */
uint64_t run_backends_deadline(const struct run *r);
bool run_port_open(const struct run_port *p); /* a peer is there, input not ended */
void run_backends_close(struct run *r);

/* run_guest.c */
int run_guest_start(struct run *r);    /* probe the drivers: 0 or RUN_EXIT_FAILED */
void run_guest_step(struct run *r);    /* interrupts, port data both ways */
bool run_guest_drained(struct run *r, char *why, size_t len);
void run_guest_stop(struct run *r);
void run_print_stats(struct run *r);

/* vcon_run.c: move virtual time to `target`, servicing the guest at each
 * device timer deadline on the way. */
void run_advance_to(struct run *r, uint64_t target_ns);

#endif
