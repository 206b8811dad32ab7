/* The file backend: output appended to a file, no input. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "backend_internal.h"

/* A console log may hold what the guest printed (passwords typed at a
 * prompt echo back): a new file is readable by its owner only. An existing
 * file keeps its mode. The umask applies on top. */
#define FILE_MODE 0600

int vcon_bk_open_file(struct vcon_backend *b, const char *path, struct bk_msg *m)
{
    int fd, rc;

    b->source = BK_FIXED;
    b->has_input = false;
    do {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                  FILE_MODE);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        rc = -errno;
        if (errno == ENXIO)
            vcon_bk_msg(m, "file backend", "", path, " is a FIFO nobody reads");
        else
            vcon_bk_msg_errno(m, "file backend", "open", path, errno);
        return rc;
    }
    b->out_fd = fd;
    b->owns_peer = true;
    return 0;
}
