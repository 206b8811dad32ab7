/* Peers: taking one on (accept, connect), losing it, writing held output to
 * it. The policies are in docs/backends.md: one client at a time, later
 * clients closed at once; output held for the next peer when one leaves. */
#define _GNU_SOURCE /* POLLRDHUP: Linux's only report of a TCP peer's FIN */

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend_internal.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

void vcon_bk_set_peer(struct vcon_backend *b, int fd)
{
    b->in_fd = b->out_fd = fd;
    b->owns_peer = true;
    b->peer_is_socket = true;
    b->connecting = false;
    b->peer_hup = false;
    b->connected = true;
    b->read_armed = true;
    b->stats.connects++;
    vcon_bk_flush(b);
}

void vcon_bk_drop_peer(struct vcon_backend *b, int error)
{
    if (b->in_fd < 0)
        return;
    vcon_bk_close_fd(&b->in_fd);
    b->out_fd = -1;
    if (b->connected)
        b->stats.disconnects++;
    b->connected = false;
    b->connecting = false;
    b->peer_hup = false;
    b->read_armed = false;
    if (error != 0)
        b->stats.last_errno = error;
}

void vcon_bk_input_ended(struct vcon_backend *b, int error)
{
    if (b->source != BK_FIXED) {
        vcon_bk_drop_peer(b, error);
        return;
    }
    /* stdio's standard input at EOF: output goes on. */
    b->input_closed = true;
    b->read_armed = false;
    if (error != 0)
        b->stats.last_errno = error;
}

void vcon_bk_output_failed(struct vcon_backend *b, int error)
{
    if (b->source != BK_FIXED) {
        /* Held output waits for the next peer. */
        vcon_bk_drop_peer(b, error);
        return;
    }
    b->output_closed = true;
    b->stats.last_errno = error;
    b->stats.dropped_bytes += b->out.len;
    b->out.len = 0;
    b->out.head = 0;
    /* A device held back by a short write learns CLOSED by retrying. */
    if (b->write_refused) {
        b->write_refused = false;
        b->pending |= VCON_BACKEND_EV_WRITABLE;
    }
}

void vcon_bk_flush(struct vcon_backend *b)
{
    struct bk_ring *r = &b->out;

    while (r->len > 0 && b->out_fd >= 0 && !b->peer_hup && !b->output_closed && !b->connecting) {
        struct iovec iov[2];
        int cnt = 1;
        size_t first = r->cap - r->head;
        ssize_t w;

        if (first > r->len)
            first = r->len;
        iov[0].iov_base = r->data + r->head;
        iov[0].iov_len = first;
        if (first < r->len) {
            iov[1].iov_base = r->data;
            iov[1].iov_len = r->len - first;
            cnt = 2;
        }
        if (b->peer_is_socket) {
            struct msghdr msg;
            memset(&msg, 0, sizeof msg);
            msg.msg_iov = iov;
            msg.msg_iovlen = (size_t)cnt;
            w = sendmsg(b->out_fd, &msg, MSG_NOSIGNAL);
        } else {
            w = writev(b->out_fd, iov, cnt);
        }
        if (w > 0) {
            r->head = (r->head + (size_t)w) % r->cap;
            r->len -= (size_t)w;
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
    if (r->len == 0)
        r->head = 0;
    if (b->write_refused && r->len < r->cap) {
        b->write_refused = false;
        b->pending |= VCON_BACKEND_EV_WRITABLE;
    }
}

void vcon_bk_peer_hangup(struct vcon_backend *b)
{
    char c;
    ssize_t n;

    if (b->in_fd < 0 || b->peer_hup)
        return;
    n = recv(b->in_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        /* It left input behind: let the device read it; the read that
         * reaches the end drops the peer. Nothing more is written to it. */
        b->peer_hup = true;
        b->read_armed = false;
        b->pending |= VCON_BACKEND_EV_READABLE;
        return;
    }
    vcon_bk_drop_peer(b, n < 0 ? errno : 0);
}

/* Has the current peer left without our noticing yet? (Both the listener
 * and the peer's hang-up can come out of one poll(); the listener may be
 * handled first.) */
static void check_peer(struct vcon_backend *b)
{
    struct pollfd p;

    if (b->in_fd < 0 || b->peer_hup)
        return;
    p.fd = b->in_fd;
    p.events = POLLRDHUP;
    p.revents = 0;
    if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP)))
        vcon_bk_peer_hangup(b);
}

void vcon_bk_accept(struct vcon_backend *b)
{
    for (;;) {
        int fd = accept(b->listen_fd, NULL, NULL);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The client stays queued and the listener readable: stop
                 * polling it (no spinning) until the embedder's next
                 * vcon_backend_poll. */
                b->accept_paused = true;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                b->stats.last_errno = errno;
            return;
        }
        check_peer(b);
        if (b->in_fd >= 0 && b->peer_hup) {
            /* The old peer left unread input behind; a new one is here: the
             * new peer wins, the departed one's input is dropped. */
            vcon_bk_drop_peer(b, 0);
        }
        if (b->in_fd >= 0 || vcon_bk_set_fd_flags(fd) < 0) {
            /* One client at a time: the second one is closed at once. */
            (void)close(fd);
            b->stats.refused_clients++;
            continue;
        }
        if (b->kind == VCON_BACKEND_KIND_TCP) {
            int one = 1;
            /* Keystrokes should not wait for Nagle. Best effort. */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        vcon_bk_set_peer(b, fd);
    }
}

unsigned vcon_bk_deliver(struct vcon_backend *b)
{
    unsigned ev = b->pending;

    b->pending = 0;
    if (b->stats.connects != b->reported_connects) {
        /* New peers since the last report: the embedder's view of the old
         * one must end before the new one starts. */
        if (b->reported_connected)
            ev |= VCON_BACKEND_EV_DISCONNECTED;
        if (b->connected)
            ev |= VCON_BACKEND_EV_CONNECTED;
    } else if (b->reported_connected && !b->connected) {
        ev |= VCON_BACKEND_EV_DISCONNECTED;
    }
    b->reported_connected = b->connected;
    b->reported_connects = b->stats.connects;
    return ev;
}

/* ---- event loop ---------------------------------------------------------- */

static int add_fd(struct pollfd *out, unsigned max, int *n, int fd, short events)
{
    if ((unsigned)*n >= max)
        return -ENOSPC;
    out[*n].fd = fd;
    out[*n].events = events;
    out[*n].revents = 0;
    (*n)++;
    return 0;
}

int vcon_backend_poll_fds(const struct vcon_backend *b, struct pollfd *out, unsigned max)
{
    int n = 0;
    short in_ev = 0, out_ev = 0;

    if (b == NULL || (out == NULL && max > 0))
        return -EINVAL;
    if (b->listen_fd >= 0 && !b->accept_paused && add_fd(out, max, &n, b->listen_fd, POLLIN) < 0)
        return -ENOSPC;
    if (b->connecting)
        return add_fd(out, max, &n, b->in_fd, POLLOUT) < 0 ? -ENOSPC : n;
    if (b->has_input && !b->input_closed && b->in_fd >= 0 && b->read_armed && !b->peer_hup)
        in_ev = POLLIN;
    if (b->out.len > 0 && b->out_fd >= 0 && !b->peer_hup && !b->output_closed)
        out_ev = POLLOUT;
    if (b->peer_is_socket) {
        /* Always watched while connected: a peer that leaves is seen at
         * once, not at the next transfer. */
        if (b->in_fd >= 0 && !b->peer_hup &&
            add_fd(out, max, &n, b->in_fd, (short)(in_ev | out_ev | POLLRDHUP)) < 0)
            return -ENOSPC;
        return n;
    }
    if (b->in_fd >= 0 && b->in_fd == b->out_fd) {
        if ((in_ev | out_ev) && add_fd(out, max, &n, b->in_fd, (short)(in_ev | out_ev)) < 0)
            return -ENOSPC;
        return n;
    }
    if (in_ev && add_fd(out, max, &n, b->in_fd, in_ev) < 0)
        return -ENOSPC;
    if (out_ev && add_fd(out, max, &n, b->out_fd, out_ev) < 0)
        return -ENOSPC;
    return n;
}

unsigned vcon_backend_handle(struct vcon_backend *b, int fd, unsigned revents)
{
    if (b == NULL)
        return 0;
    if (fd < 0 || revents == 0)
        return vcon_bk_deliver(b);
    if (fd == b->listen_fd) {
        vcon_bk_accept(b);
        return vcon_bk_deliver(b);
    }
    if (b->connecting && fd == b->in_fd) {
        vcon_bk_connect_done(b);
        return vcon_bk_deliver(b);
    }
    if (b->peer_is_socket && fd == b->in_fd &&
        (revents & (POLLHUP | POLLERR | POLLNVAL | (unsigned)POLLRDHUP))) {
        vcon_bk_peer_hangup(b);
        return vcon_bk_deliver(b);
    }
    if (fd == b->in_fd && b->read_armed && (revents & (POLLIN | POLLHUP | POLLERR))) {
        /* Reported once per short read: a device without room to read
         * does not make the loop spin. */
        b->read_armed = false;
        b->pending |= VCON_BACKEND_EV_READABLE;
    }
    if (fd == b->out_fd && (revents & (POLLOUT | POLLHUP | POLLERR)))
        vcon_bk_flush(b);
    return vcon_bk_deliver(b);
}

unsigned vcon_backend_poll(struct vcon_backend *b)
{
    if (b == NULL)
        return 0;
    if (b->source == BK_CONNECT && b->in_fd < 0)
        (void)vcon_bk_try_connect(b);
    if (b->accept_paused) {
        b->accept_paused = false;
        vcon_bk_accept(b);
    }
    if (b->out.len > 0)
        vcon_bk_flush(b);
    return vcon_bk_deliver(b);
}
