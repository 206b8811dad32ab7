/* What every backend shares: opening by spec, closing, the device's read and
 * write with the bounded output buffer, error messages, descriptor flags.
 * docs/backends.md. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_internal.h"

static const char *kind_name(enum vcon_backend_kind kind)
{
    switch (kind) {
    case VCON_BACKEND_KIND_STDIO: return "stdio backend";
    case VCON_BACKEND_KIND_TTY: return "tty backend";
    case VCON_BACKEND_KIND_PTY: return "pty backend";
    case VCON_BACKEND_KIND_FILE: return "file backend";
    case VCON_BACKEND_KIND_SOCKET_SERVER: return "socket server";
    case VCON_BACKEND_KIND_SOCKET_CLIENT: return "socket client";
    case VCON_BACKEND_KIND_TCP: return "tcp backend";
    }
    return "backend";
}

/* ---- messages ------------------------------------------------------------ */

/* "WHAT: DETAIL'PATH'TAIL"; any part may be NULL. Only the first message of
 * an open is kept: later ones come from cleanup and would hide the cause. */
void vcon_bk_msg(struct bk_msg *m, const char *what, const char *detail, const char *path,
                 const char *tail)
{
    if (m->err == NULL || m->errlen == 0 || m->err[0] != '\0')
        return;
    snprintf(m->err, m->errlen, "%s: %s%s%s%s%s", what ? what : "backend", detail ? detail : "",
             path ? "'" : "", path ? path : "", path ? "'" : "", tail ? tail : "");
}

void vcon_bk_msg_errno(struct bk_msg *m, const char *what, const char *op, const char *path,
                       int error)
{
    char detail[64], tail[96];
    const char *reason;

    /* Lower-case words of our own for the errors a user meets and fixes;
     * the C library's text for the rest. */
    switch (error) {
    case EACCES:
    case EPERM: reason = "permission denied"; break;
    case EADDRINUSE: reason = "address in use"; break;
    case EADDRNOTAVAIL: reason = "address not available on this host"; break;
    case ENOENT: reason = "no such file or directory"; break;
    default: reason = strerror(error); break;
    }
    snprintf(detail, sizeof detail, "cannot %s%s", op, path ? " " : "");
    snprintf(tail, sizeof tail, ": %s", reason);
    vcon_bk_msg(m, what, detail, path, tail);
}

/* ---- descriptors --------------------------------------------------------- */

int vcon_bk_set_fd_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fcntl(fd, F_GETFD);

    if (fl < 0 || fdfl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (!(fdfl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

void vcon_bk_close_fd(int *fd)
{
    if (*fd >= 0) {
        /* POSIX leaves the descriptor's state unspecified after EINTR;
         * Linux has closed it, so never retry. */
        (void)close(*fd);
        *fd = -1;
    }
}

/* ---- open / close -------------------------------------------------------- */

static bool needs_path(enum vcon_backend_kind kind)
{
    return kind == VCON_BACKEND_KIND_TTY || kind == VCON_BACKEND_KIND_FILE ||
           kind == VCON_BACKEND_KIND_SOCKET_SERVER || kind == VCON_BACKEND_KIND_SOCKET_CLIENT;
}

static int open_kind(struct vcon_backend *b, const struct vcon_backend_spec *spec,
                     const struct vcon_backend_options *options, struct bk_msg *m)
{
    const char *path = b->stats.path;

    switch (spec->kind) {
    case VCON_BACKEND_KIND_STDIO: return vcon_bk_open_stdio(b, m);
    case VCON_BACKEND_KIND_TTY: return vcon_bk_open_tty(b, path, m);
    case VCON_BACKEND_KIND_PTY: return vcon_bk_open_pty(b, options, m);
    case VCON_BACKEND_KIND_FILE: return vcon_bk_open_file(b, path, m);
    case VCON_BACKEND_KIND_SOCKET_SERVER: return vcon_bk_open_unix_server(b, path, m);
    case VCON_BACKEND_KIND_SOCKET_CLIENT: return vcon_bk_open_unix_client(b, path, m);
    case VCON_BACKEND_KIND_TCP: return vcon_bk_open_tcp(b, spec, m);
    }
    vcon_bk_msg(m, "backend", "unknown backend kind", NULL, NULL);
    return -EINVAL;
}

int vcon_backend_open(const struct vcon_backend_spec *spec,
                      const struct vcon_backend_options *options, struct vcon_backend **out,
                      char *err, size_t errlen)
{
    static const struct vcon_backend_options defaults;
    struct bk_msg m = {err, errlen};
    struct vcon_backend *b;
    size_t path_len, cap;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        *out = NULL;
    if (spec == NULL || out == NULL) {
        vcon_bk_msg(&m, "backend", "no spec or no place to store the backend", NULL, NULL);
        return -EINVAL;
    }
    if (options == NULL)
        options = &defaults;
    cap = options->buffer_size ? options->buffer_size : VCON_BACKEND_DEFAULT_BUFFER;
    if (cap > VCON_BACKEND_MAX_BUFFER) {
        vcon_bk_msg(&m, kind_name(spec->kind), "buffer size above 64 MiB", NULL, NULL);
        return -EINVAL;
    }
    path_len = strnlen(spec->path, sizeof spec->path);
    if (path_len == sizeof spec->path) {
        vcon_bk_msg(&m, kind_name(spec->kind), "path has no terminating NUL", NULL, NULL);
        return -EINVAL;
    }
    if (needs_path(spec->kind) && path_len == 0) {
        vcon_bk_msg(&m, kind_name(spec->kind), "missing path: this backend needs one", NULL,
                    NULL);
        return -EINVAL;
    }

    b = calloc(1, sizeof *b);
    if (b == NULL) {
        vcon_bk_msg(&m, kind_name(spec->kind), "out of memory", NULL, NULL);
        return -ENOMEM;
    }
    b->out.data = malloc(cap);
    if (b->out.data == NULL) {
        free(b);
        vcon_bk_msg(&m, kind_name(spec->kind), "out of memory for the output buffer", NULL, NULL);
        return -ENOMEM;
    }
    b->out.cap = cap;
    b->kind = spec->kind;
    b->in_fd = b->out_fd = b->listen_fd = b->keep_fd = b->termios_fd = -1;
    b->has_input = true;
    b->client_wait = options->client_wait;
    b->stats.kind = spec->kind;
    b->stats.buffer_size = cap;
    memcpy(b->stats.path, spec->path, path_len + 1);

    rc = open_kind(b, spec, options, &m);
    if (rc < 0) {
        vcon_backend_close(b);
        return rc;
    }
    if (b->source == BK_FIXED)
        b->connected = true;
    /* The device starts with its host side open: the first report says
     * DISCONNECTED if no peer is there. */
    b->reported_connected = true;
    b->reported_connects = b->stats.connects;
    b->read_armed = b->has_input;
    *out = b;
    return 0;
}

void vcon_backend_close(struct vcon_backend *b)
{
    if (b == NULL)
        return;
    if (b->kind == VCON_BACKEND_KIND_STDIO)
        vcon_bk_close_stdio(b);
    vcon_bk_leave_raw(b);
    if (b->owns_peer) {
        if (b->out_fd != b->in_fd)
            vcon_bk_close_fd(&b->out_fd);
        vcon_bk_close_fd(&b->in_fd);
    }
    vcon_bk_close_fd(&b->keep_fd);
    vcon_bk_close_fd(&b->listen_fd);
    if (b->unlink_on_close)
        vcon_bk_close_unix_server(b);
    free(b->out.data);
    free(b);
}

/* ---- the device's read and write ----------------------------------------- */

int vcon_backend_read(struct vcon_backend *b, void *buf, size_t len)
{
    if (b == NULL)
        return VCON_BACKEND_CLOSED;
    if (len == 0 || buf == NULL)
        return VCON_BACKEND_NO_DATA;
    if (!b->has_input)
        return VCON_BACKEND_NO_DATA; /* file: nothing ever comes */
    if (b->input_closed || b->in_fd < 0 || b->connecting)
        return VCON_BACKEND_CLOSED;
    if (len > INT_MAX)
        len = INT_MAX;
    for (;;) {
        ssize_t n = read(b->in_fd, buf, len);
        if (n > 0) {
            b->stats.bytes_read += (uint64_t)n;
            if ((size_t)n < len)
                b->read_armed = true;
            return (int)n;
        }
        if (n == 0) {
            vcon_bk_input_ended(b, 0);
            return VCON_BACKEND_CLOSED;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (b->peer_hup) {
                /* Gone and drained. */
                vcon_bk_input_ended(b, 0);
                return VCON_BACKEND_CLOSED;
            }
            b->read_armed = true;
            return VCON_BACKEND_NO_DATA;
        }
        vcon_bk_input_ended(b, errno);
        return VCON_BACKEND_CLOSED;
    }
}

static size_t ring_put(struct bk_ring *r, const unsigned char *src, size_t n)
{
    size_t room = r->cap - r->len, done = 0;

    if (n > room)
        n = room;
    while (done < n) {
        size_t at = (r->head + r->len) % r->cap;
        size_t piece = r->cap - at;
        if (piece > n - done)
            piece = n - done;
        memcpy(r->data + at, src + done, piece);
        r->len += piece;
        done += piece;
    }
    return n;
}

/* Writes straight from the caller's buffer while nothing is held (so order
 * is kept); returns how much the descriptor took. */
static size_t write_direct(struct vcon_backend *b, const unsigned char *src, size_t n)
{
    size_t done = 0;

    while (done < n && b->out_fd >= 0 && !b->peer_hup && !b->output_closed && !b->connecting) {
        size_t piece = n - done;
        ssize_t w;
        if (piece > INT_MAX)
            piece = INT_MAX;
        if (b->peer_is_socket)
            w = send(b->out_fd, src + done, piece, MSG_NOSIGNAL);
        else
            w = write(b->out_fd, src + done, piece);
        if (w > 0) {
            done += (size_t)w;
            b->stats.bytes_written += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        vcon_bk_output_failed(b, w < 0 ? errno : EIO);
        break;
    }
    return done;
}

int vcon_backend_write(struct vcon_backend *b, const void *buf, size_t len)
{
    const unsigned char *src = buf;
    size_t done = 0;

    if (b == NULL)
        return VCON_BACKEND_CLOSED;
    if (b->output_closed)
        return VCON_BACKEND_CLOSED;
    if (len == 0 || buf == NULL)
        return 0;
    if (len > INT_MAX)
        len = INT_MAX;
    if (b->out.len > 0)
        vcon_bk_flush(b);
    if (b->out.len == 0)
        done = write_direct(b, src, len);
    if (b->output_closed)
        return done > 0 ? (int)done : VCON_BACKEND_CLOSED;
    done += ring_put(&b->out, src + done, len - done);
    if (done < len)
        b->write_refused = true;
    return done > 0 ? (int)done : VCON_BACKEND_WOULD_BLOCK;
}

void vcon_backend_get_info(const struct vcon_backend *b, struct vcon_backend_info *out)
{
    if (out == NULL)
        return;
    if (b == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = b->stats;
    out->connected = b->connected;
    out->input_closed = b->input_closed;
    out->output_closed = b->output_closed;
    out->retry_wanted = (b->source == BK_CONNECT && b->in_fd < 0) || b->accept_paused;
    out->buffered = b->out.len;
}
