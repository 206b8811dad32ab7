/* The pty backend: a new pseudo-terminal; the guest's port is the master,
 * the user attaches to the slave path that is announced. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_internal.h"

/* The text ACRN's device model prints, so scripts that look for it work. */
#define ANNOUNCE "virt-console backend redirected to "

static void announce(const struct vcon_backend_options *options, const char *path)
{
    char line[sizeof ANNOUNCE + VCON_PATH_MAX];

    snprintf(line, sizeof line, ANNOUNCE "%s", path);
    if (options->notice != NULL)
        options->notice(options->notice_ctx, line);
    else
        fprintf(stderr, "%s\n", line);
}

int vcon_bk_open_pty(struct vcon_backend *b, const struct vcon_backend_options *options,
                     struct bk_msg *m)
{
    const char *name;
    int fd, rc;

    b->source = BK_FIXED;
    fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "pty backend", "allocate a pseudo-terminal", NULL, errno);
        return rc;
    }
    b->in_fd = b->out_fd = fd;
    b->owns_peer = true;
    rc = vcon_bk_set_fd_flags(fd);
    if (rc == 0 && (grantpt(fd) < 0 || unlockpt(fd) < 0))
        rc = -errno;
    if (rc < 0) {
        vcon_bk_msg_errno(m, "pty backend", "set up the pseudo-terminal master", NULL, -rc);
        return rc;
    }
    name = ptsname(fd);
    if (name == NULL || strlen(name) >= sizeof b->stats.path) {
        vcon_bk_msg(m, "pty backend", "the slave has no usable name", NULL, NULL);
        return -ENOTTY;
    }
    strcpy(b->stats.path, name);
    /* Held open for the backend's life: with no slave open at all, reads of
     * the master fail with EIO until someone attaches. */
    do {
        b->keep_fd = open(b->stats.path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (b->keep_fd < 0 && errno == EINTR);
    if (b->keep_fd < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "pty backend", "open the slave", b->stats.path, errno);
        return rc;
    }
    /* The slave's modes are the line discipline's: raw, so the guest's
     * bytes pass untouched both ways and nothing echoes back to it. */
    rc = vcon_bk_enter_raw(b, b->keep_fd);
    /* No one restores a pty that goes away with the backend. */
    b->restore_termios = false;
    if (rc < 0) {
        vcon_bk_msg_errno(m, "pty backend", "set raw mode on", b->stats.path, -rc);
        return rc;
    }
    announce(options, b->stats.path);
    return 0;
}
