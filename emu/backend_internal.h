/* Inside the real backends (emu/backend*.c): one struct for every kind, the
 * bounded output ring, and the hooks each kind's file provides. Every file
 * that includes this one defines its POSIX feature macro first. */
#ifndef VCON_BACKEND_INTERNAL_H
#define VCON_BACKEND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <termios.h>

#include "vcon/backend.h"

/* Where the peer's descriptors come from. */
enum bk_source {
    BK_FIXED,   /* opened once (stdio, tty, pty, file); never reconnects */
    BK_LISTEN,  /* accepted from a listening socket (unix server, tcp) */
    BK_CONNECT, /* connected to a unix socket server (client) */
};

/* Output accepted from the device and not yet written. */
struct bk_ring {
    unsigned char *data;
    size_t cap, head, len;
};

/* Builds an error message for `err`; the first error wins. */
struct bk_msg {
    char *err;
    size_t errlen;
};

struct vcon_backend {
    enum vcon_backend_kind kind;
    enum bk_source source;

    int in_fd;      /* input comes from here; -1: no peer now (or file) */
    int out_fd;     /* output goes here; -1: no peer now */
    bool owns_peer; /* close in_fd/out_fd on close (not stdio's 0 and 1) */
    bool peer_is_socket;
    int listen_fd;  /* servers; -1 */
    bool accept_paused; /* out of descriptors: listener unpolled until vcon_backend_poll */
    int keep_fd;    /* pty: the slave, held open so the master never reads EIO */
    bool connecting; /* client: in_fd is a connect() in progress */

    bool has_input;  /* false for file */
    bool input_closed, output_closed; /* BK_FIXED: for good */
    bool read_armed;    /* a read came back short: want POLLIN */
    bool peer_hup;      /* the peer left; unread input may remain */
    bool write_refused; /* a write took less than offered: report WRITABLE later */
    unsigned pending;   /* READABLE / WRITABLE not yet reported */

    bool connected;
    bool reported_connected; /* what the embedder was last told */
    uint64_t reported_connects;

    bool client_wait;
    struct bk_ring out;
    struct vcon_backend_info stats; /* counters and path; the rest computed */

    /* tty and pty: the terminal modes to put back on close. */
    int termios_fd;
    bool restore_termios;
    struct termios saved_termios;

    /* unix sockets: the address, and the socket file a server made. */
    struct sockaddr_un sun;
    socklen_t sun_len;
    bool unlink_on_close;
    dev_t sock_dev;
    ino_t sock_ino;
};

/* ---- messages (backend.c) ---- */
void vcon_bk_msg(struct bk_msg *m, const char *what, const char *detail, const char *path,
                 const char *tail);
/* "KIND: cannot OP 'PATH': strerror", or the wording the brief's checks use
 * for the common errnos (permission denied, address in use, ...). */
void vcon_bk_msg_errno(struct bk_msg *m, const char *what, const char *op, const char *path,
                       int error);

/* ---- descriptors (backend.c) ---- */
int vcon_bk_set_fd_flags(int fd); /* O_NONBLOCK and FD_CLOEXEC; 0 or -errno */
void vcon_bk_close_fd(int *fd);

/* ---- peers and output (backend_stream.c) ---- */
void vcon_bk_set_peer(struct vcon_backend *b, int fd);
void vcon_bk_drop_peer(struct vcon_backend *b, int error);
/* The peer's input ended (EOF or an error). */
void vcon_bk_input_ended(struct vcon_backend *b, int error);
/* Writing to the peer failed with `error` (not EAGAIN). */
void vcon_bk_output_failed(struct vcon_backend *b, int error);
/* Write held output while the peer takes it. */
void vcon_bk_flush(struct vcon_backend *b);
/* A server's listener is readable: take the client, refuse the others. */
void vcon_bk_accept(struct vcon_backend *b);
/* The socket peer reported hang-up or error. */
void vcon_bk_peer_hangup(struct vcon_backend *b);
/* The events to report now, with connection changes reconciled. */
unsigned vcon_bk_deliver(struct vcon_backend *b);

/* ---- kinds: open (fill b's descriptors) and close hooks ---- */
int vcon_bk_open_stdio(struct vcon_backend *b, struct bk_msg *m);
void vcon_bk_close_stdio(struct vcon_backend *b);
int vcon_bk_open_tty(struct vcon_backend *b, const char *path, struct bk_msg *m);
int vcon_bk_open_pty(struct vcon_backend *b, const struct vcon_backend_options *options,
                     struct bk_msg *m);
int vcon_bk_open_file(struct vcon_backend *b, const char *path, struct bk_msg *m);
int vcon_bk_open_unix_server(struct vcon_backend *b, const char *path, struct bk_msg *m);
void vcon_bk_close_unix_server(struct vcon_backend *b);
int vcon_bk_open_unix_client(struct vcon_backend *b, const char *path, struct bk_msg *m);
/* A client without a server tries once; 0 connected or in progress. */
int vcon_bk_try_connect(struct vcon_backend *b);
/* A non-blocking connect finished (POLLOUT on in_fd). */
void vcon_bk_connect_done(struct vcon_backend *b);
int vcon_bk_open_tcp(struct vcon_backend *b, const struct vcon_backend_spec *spec,
                     struct bk_msg *m);

/* Terminal modes (backend_tty.c): cfmakeraw's settings, from POSIX flags. */
void vcon_bk_make_raw(struct termios *t);
/* Save fd's modes into b and switch it to raw; 0 or -errno. */
int vcon_bk_enter_raw(struct vcon_backend *b, int fd);
void vcon_bk_leave_raw(struct vcon_backend *b);

#endif
