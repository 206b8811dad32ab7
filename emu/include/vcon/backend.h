/* Real backends: what a port of a vcon device talks to in a real device
 * model. stdio, a terminal device, a pseudo-terminal, an output file, a unix
 * socket (server or client) and a TCP listener, each opened from the
 * struct vcon_backend_spec the option parsers fill in.
 *
 * A backend never blocks and never starts a thread: it exposes its file
 * descriptors with the poll(2) events it wants, and the embedder's event loop
 * tells it what poll() saw. docs/backends.md describes every backend, the
 * policies and the event-loop contract. */
#ifndef VCON_BACKEND_H
#define VCON_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <poll.h>

#include "vcon/dm_options.h"
#include "vcon/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The bound on output accepted and not yet written (per backend). */
#define VCON_BACKEND_DEFAULT_BUFFER 65536u
#define VCON_BACKEND_MAX_BUFFER (64u * 1024u * 1024u)
/* A backend never has more file descriptors to poll than this. */
#define VCON_BACKEND_MAX_FDS 2u

/* What vcon_backend_handle() / vcon_backend_poll() saw; a bit set. When
 * both DISCONNECTED and CONNECTED are set, one peer left and another came:
 * act on DISCONNECTED first. */
enum vcon_backend_event {
    VCON_BACKEND_EV_READABLE = 1u << 0,     /* input may wait: the device's backend_ready */
    VCON_BACKEND_EV_WRITABLE = 1u << 1,     /* room again after a short write: backend_ready */
    VCON_BACKEND_EV_CONNECTED = 1u << 2,    /* a peer came: backend_open(true), then ready */
    VCON_BACKEND_EV_DISCONNECTED = 1u << 3, /* the peer went: backend_open(false) */
};

/* A one-line message for the user (the pty path). */
typedef void vcon_backend_notice_fn(void *ctx, const char *message);

/* Zero-initialised is the default for every field. */
struct vcon_backend_options {
    /* Output accepted and not yet written, in bytes: 0 means
     * VCON_BACKEND_DEFAULT_BUFFER; at most VCON_BACKEND_MAX_BUFFER. */
    size_t buffer_size;
    /* Socket client: open succeeds without a server; the backend connects
     * when vcon_backend_poll() finds one. */
    bool client_wait;
    /* Where the pty backend announces its path ("virt-console backend
     * redirected to /dev/pts/N"). NULL: one line on standard error. */
    vcon_backend_notice_fn *notice;
    void *notice_ctx;
};

struct vcon_backend_info {
    enum vcon_backend_kind kind;
    bool connected;      /* a peer is there (always true for stdio, tty, pty, file) */
    bool input_closed;   /* stdio, tty, pty: input ended for good (reads CLOSED) */
    bool output_closed;  /* output failed for good (writes CLOSED) */
    bool retry_wanted;   /* socket client without a server, or a server out of
                          * descriptors: call vcon_backend_poll() on a timer */
    size_t buffered;     /* output bytes held */
    size_t buffer_size;  /* the bound */
    uint64_t bytes_read, bytes_written; /* through the file descriptors */
    uint64_t connects, disconnects;     /* peers accepted or connected / lost */
    uint64_t refused_clients;           /* servers: second clients closed at once */
    uint64_t dropped_bytes;             /* held output thrown away: output closed */
    int last_errno;                     /* the last error that closed something; 0 */
    uint16_t tcp_port;                  /* tcp: the port listened on (port 0 picks one) */
    char path[VCON_PATH_MAX];           /* pty: the slave's path; else the spec's path */
};

struct vcon_backend;

/* Open the backend `spec` describes. `options` may be NULL (defaults).
 * Returns 0, or a negative errno-style code with a one-line reason in `err`
 * (NUL-terminated, cut to errlen; err may be NULL): -EINVAL (bad spec or
 * options), -EBUSY (stdio claimed twice), -ENOTTY, -EACCES, -EADDRINUSE,
 * -ECONNREFUSED (no server), -ENAMETOOLONG, -EEXIST (a non-socket file in
 * the way), -ENOMEM, or what the system said. On error *out is NULL and no
 * file descriptor stays open. */
int vcon_backend_open(const struct vcon_backend_spec *spec,
                      const struct vcon_backend_options *options, struct vcon_backend **out,
                      char *err, size_t errlen);
/* Close every file descriptor, restore terminal modes, remove a server's
 * socket file; held output is dropped. NULL is allowed. */
void vcon_backend_close(struct vcon_backend *b);

/* The device side, as in struct vcon_host. read moves at most `len` bytes
 * from the peer: > 0, VCON_BACKEND_NO_DATA or VCON_BACKEND_CLOSED (no peer,
 * or input ended). write takes as much of `buf` as the peer and the bounded
 * buffer hold: > 0 (possibly fewer than len), VCON_BACKEND_WOULD_BLOCK
 * (buffer full) or VCON_BACKEND_CLOSED (output failed for good). A server or
 * client without a peer keeps accepting output into the buffer, for the next
 * peer. */
int vcon_backend_read(struct vcon_backend *b, void *buf, size_t len);
int vcon_backend_write(struct vcon_backend *b, const void *buf, size_t len);

/* Event loop. Fill `out` with the descriptors to poll and their events
 * (POLLIN, POLLOUT, POLLRDHUP) and return how many, or -ENOSPC when `max`
 * is too small (VCON_BACKEND_MAX_FDS always suffices). The set changes: ask
 * again before every poll(). */
int vcon_backend_poll_fds(const struct vcon_backend *b, struct pollfd *out, unsigned max);
/* Tell the backend what poll() returned for one of its descriptors; returns
 * the events (a vcon_backend_event set) for the embedder to act on. */
unsigned vcon_backend_handle(struct vcon_backend *b, int fd, unsigned revents);
/* Work that needs no descriptor event: a socket client without a server
 * tries to connect (the only retry there is: the backend reads no clock, so
 * the embedder calls this on a timer it owns), held output is written, and
 * events noticed inside read/write (a peer that left) are reported. Call it
 * once after the device is created: a server without a client then reports
 * DISCONNECTED, which the device's "host side open" start state needs. */
unsigned vcon_backend_poll(struct vcon_backend *b);

void vcon_backend_get_info(const struct vcon_backend *b, struct vcon_backend_info *out);

#ifdef __cplusplus
}
#endif
#endif
