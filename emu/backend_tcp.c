/* The tcp backend of a COM port: listen on ADDRESS:PORT (127.0.0.1 unless
 * an address is given), one client at a time like the unix socket server. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_internal.h"

#define DEFAULT_ADDRESS "127.0.0.1"
#define LISTEN_BACKLOG 4

int vcon_bk_open_tcp(struct vcon_backend *b, const struct vcon_backend_spec *spec,
                     struct bk_msg *m)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    char where[VCON_ADDRESS_MAX + 8];
    const char *address;
    int fd, one = 1, rc;

    b->source = BK_LISTEN;
    if (strnlen(spec->address, sizeof spec->address) == sizeof spec->address) {
        vcon_bk_msg(m, "tcp backend", "address has no terminating NUL", NULL, NULL);
        return -EINVAL;
    }
    address = spec->address[0] ? spec->address : DEFAULT_ADDRESS;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(spec->tcp_port);
    if (inet_pton(AF_INET, address, &sin.sin_addr) != 1) {
        vcon_bk_msg(m, "tcp backend", "bad address ", address,
                    " (expected a dotted IPv4 address)");
        return -EINVAL;
    }
    snprintf(where, sizeof where, "%s:%u", address, (unsigned)spec->tcp_port);

#ifdef SOCK_CLOEXEC
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
#else
    fd = socket(AF_INET, SOCK_STREAM, 0);
#endif
    if (fd < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "tcp backend", "create a socket for", where, errno);
        return rc;
    }
    b->listen_fd = fd;
    rc = vcon_bk_set_fd_flags(fd);
    if (rc < 0) {
        vcon_bk_msg_errno(m, "tcp backend", "set the flags of", where, -rc);
        return rc;
    }
    /* A restarted device model rebinds while old connections linger in
     * TIME_WAIT; a port another program listens on is still refused. */
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&sin, sizeof sin) < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "tcp backend", "bind", where, errno);
        return rc;
    }
    if (listen(fd, LISTEN_BACKLOG) < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "tcp backend", "listen at", where, errno);
        return rc;
    }
    if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        b->stats.tcp_port = ntohs(sin.sin_port);
    snprintf(b->stats.path, sizeof b->stats.path, "%s:%u", address, (unsigned)b->stats.tcp_port);
    return 0;
}
