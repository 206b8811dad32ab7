/* Unix stream sockets: the server (bind, listen, one client at a time) and
 * the client (connect, reconnect when vcon_backend_poll finds the server
 * back). docs/backends.md. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend_internal.h"

/* Only the owner may talk to the guest's console. */
#define SOCKET_MODE 0600
#define LISTEN_BACKLOG 4

static int new_socket(void)
{
    int fd;
#ifdef SOCK_CLOEXEC
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 || errno != EINVAL)
        return fd < 0 ? -errno : fd;
#endif
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    if (vcon_bk_set_fd_flags(fd) < 0) {
        int rc = -errno;
        (void)close(fd);
        return rc;
    }
    return fd;
}

static int set_address(struct vcon_backend *b, const char *what, const char *path,
                       struct bk_msg *m)
{
    size_t len = strlen(path);

    memset(&b->sun, 0, sizeof b->sun);
    b->sun.sun_family = AF_UNIX;
    if (len >= sizeof b->sun.sun_path) {
        char detail[96];
        snprintf(detail, sizeof detail,
                 "path is %zu bytes long; a unix socket path holds at most %zu: ", len,
                 sizeof b->sun.sun_path - 1);
        vcon_bk_msg(m, what, detail, path, NULL);
        return -ENAMETOOLONG;
    }
    memcpy(b->sun.sun_path, path, len + 1);
    b->sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    return 0;
}

/* 1: a server answers at the address; 0: nobody (a stale socket file);
 * < 0: could not tell. */
static int server_listening(const struct vcon_backend *b)
{
    int fd = new_socket(), rc;

    if (fd < 0)
        return fd;
    do {
        rc = connect(fd, (const struct sockaddr *)&b->sun, b->sun_len);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
        rc = 1; /* accepted, or a full backlog: someone listens */
    else if (errno == ECONNREFUSED)
        rc = 0;
    else
        rc = -errno;
    (void)close(fd);
    return rc;
}

/* A file already at the path: a socket nobody serves is removed; a live
 * server, or anything that is not a socket, is left alone and refused. */
static int clear_stale(struct vcon_backend *b, const char *path, struct bk_msg *m)
{
    struct stat st;
    int live;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        vcon_bk_msg_errno(m, "socket server", "look at", path, errno);
        return rc;
    }
    if (!S_ISSOCK(st.st_mode)) {
        vcon_bk_msg(m, "socket server", "", path, " exists and is not a socket; not removing it");
        return -EEXIST;
    }
    live = server_listening(b);
    if (live > 0) {
        vcon_bk_msg(m, "socket server", "address in use: a server is already listening at ",
                    path, NULL);
        return -EADDRINUSE;
    }
    if (live < 0) {
        /* Cannot tell whether someone serves it: leave it alone. */
        vcon_bk_msg_errno(m, "socket server", "probe", path, -live);
        return live;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        int rc = -errno;
        vcon_bk_msg_errno(m, "socket server", "remove the stale socket", path, errno);
        return rc;
    }
    return 0;
}

int vcon_bk_open_unix_server(struct vcon_backend *b, const char *path, struct bk_msg *m)
{
    struct stat st;
    int fd, rc;

    b->source = BK_LISTEN;
    rc = set_address(b, "socket server", path, m);
    if (rc < 0)
        return rc;
    rc = clear_stale(b, path, m);
    if (rc < 0)
        return rc;
    fd = new_socket();
    if (fd < 0) {
        vcon_bk_msg_errno(m, "socket server", "create a socket for", path, -fd);
        return fd;
    }
    b->listen_fd = fd;
    if (bind(fd, (const struct sockaddr *)&b->sun, b->sun_len) < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "socket server", "bind", path, errno);
        return rc;
    }
    if (lstat(path, &st) == 0) {
        b->unlink_on_close = true;
        b->sock_dev = st.st_dev;
        b->sock_ino = st.st_ino;
    }
    /* Before listen(): until then a connect is refused, so nobody gets in
     * while the mode is still the umask's. */
    if (chmod(path, SOCKET_MODE) < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "socket server", "set mode 0600 on", path, errno);
        return rc;
    }
    if (listen(fd, LISTEN_BACKLOG) < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "socket server", "listen at", path, errno);
        return rc;
    }
    return 0;
}

void vcon_bk_close_unix_server(struct vcon_backend *b)
{
    struct stat st;

    /* Remove only the socket this backend made, not one a later server put
     * at the same path. */
    if (lstat(b->sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == b->sock_dev &&
        st.st_ino == b->sock_ino)
        (void)unlink(b->sun.sun_path);
    b->unlink_on_close = false;
}

int vcon_bk_try_connect(struct vcon_backend *b)
{
    int fd = new_socket(), rc;

    if (fd < 0)
        return fd;
    do {
        rc = connect(fd, (const struct sockaddr *)&b->sun, b->sun_len);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        vcon_bk_set_peer(b, fd);
        return 0;
    }
    if (errno == EINPROGRESS) {
        b->in_fd = fd;
        b->owns_peer = true;
        b->connecting = true;
        return 0;
    }
    rc = -errno;
    (void)close(fd);
    if (rc != -EAGAIN)
        b->stats.last_errno = -rc;
    return rc; /* EAGAIN: the server's backlog is full; like no server */
}

void vcon_bk_connect_done(struct vcon_backend *b)
{
    int error = 0;
    socklen_t len = sizeof error;
    int fd = b->in_fd;

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
    if (error == EINPROGRESS || error == EALREADY)
        return;
    b->connecting = false;
    b->in_fd = -1;
    if (error != 0) {
        (void)close(fd);
        b->stats.last_errno = error;
        return;
    }
    vcon_bk_set_peer(b, fd);
}

int vcon_bk_open_unix_client(struct vcon_backend *b, const char *path, struct bk_msg *m)
{
    int rc;

    b->source = BK_CONNECT;
    rc = set_address(b, "socket client", path, m);
    if (rc < 0)
        return rc;
    rc = vcon_bk_try_connect(b);
    if (rc == 0 || b->client_wait)
        return 0;
    if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -EAGAIN) {
        vcon_bk_msg(m, "socket client", "no server at ", path, NULL);
        return -ECONNREFUSED;
    }
    vcon_bk_msg_errno(m, "socket client", "connect to", path, -rc);
    return rc;
}
