/* The tty backend: an existing terminal device by path, in raw mode while
 * the backend is open; and the raw-mode helpers stdio and pty share. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "backend_internal.h"

/* What cfmakeraw() does (it is not POSIX): no line editing, no echo, no
 * signals from keys, no CR/NL translation either way, 8-bit characters,
 * reads return as soon as one byte is there. */
void vcon_bk_make_raw(struct termios *t)
{
    t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t->c_oflag &= ~(tcflag_t)OPOST;
    t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t->c_cflag |= CS8;
    t->c_cc[VMIN] = 1;
    t->c_cc[VTIME] = 0;
}

int vcon_bk_enter_raw(struct vcon_backend *b, int fd)
{
    struct termios raw;

    if (tcgetattr(fd, &b->saved_termios) < 0)
        return -errno;
    raw = b->saved_termios;
    vcon_bk_make_raw(&raw);
    if (tcsetattr(fd, TCSANOW, &raw) < 0)
        return -errno;
    b->termios_fd = fd;
    b->restore_termios = true;
    return 0;
}

void vcon_bk_leave_raw(struct vcon_backend *b)
{
    if (!b->restore_termios)
        return;
    /* TCSANOW: TCSADRAIN would wait for the output to drain, and close must
     * not block. */
    (void)tcsetattr(b->termios_fd, TCSANOW, &b->saved_termios);
    b->restore_termios = false;
}

int vcon_bk_open_tty(struct vcon_backend *b, const char *path, struct bk_msg *m)
{
    int fd, rc;

    b->source = BK_FIXED;
    do {
        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        rc = -errno;
        vcon_bk_msg_errno(m, "tty backend", "open", path, errno);
        return rc;
    }
    b->in_fd = b->out_fd = fd;
    b->owns_peer = true;
    if (!isatty(fd)) {
        vcon_bk_msg(m, "tty backend", "", path, " is not a terminal");
        return -ENOTTY;
    }
    rc = vcon_bk_enter_raw(b, fd);
    if (rc < 0) {
        vcon_bk_msg_errno(m, "tty backend", "set raw mode on", path, -rc);
        return rc;
    }
    return 0;
}
