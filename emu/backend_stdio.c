/* The stdio backend: guest output to standard output, input from standard
 * input, the terminal in raw mode while it is claimed.
 *
 * The one piece of global mutable state in emu/ lives here: standard input
 * and output belong to the process, so the claim on them, the terminal modes
 * and descriptor flags to put back, and the signal actions replaced to put
 * them back on a fatal signal are process-wide. They are restored on every
 * exit path: vcon_backend_close, exit() (atexit), and a fatal signal whose
 * action was the default (the handler restores, then re-raises). SIGKILL and
 * _exit() cannot be caught; neither can a crash of the embedder's own
 * handler. docs/backends.md. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "backend_internal.h"

/* Signals whose default action ends the process. */
static const int fatal_signals[] = {
    SIGHUP, SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,  SIGFPE, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS,
};
#define NR_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

static struct {
    /* Read by the signal handler and the atexit hook. */
    volatile sig_atomic_t claimed;
    pid_t owner; /* a forked child that exits must not touch its parent's terminal */
    bool have_termios;
    struct termios termios;
    int in_flags, out_flags;
    /* Set up once, used by every later claim. */
    bool atexit_registered;
    bool replaced[NR_FATAL];
    struct sigaction previous[NR_FATAL];
} stdio_restore;

/* Async-signal-safe: getpid, tcsetattr and fcntl only. */
static void restore_process_state(void)
{
    if (!stdio_restore.claimed || stdio_restore.owner != getpid())
        return;
    if (stdio_restore.have_termios)
        (void)tcsetattr(STDIN_FILENO, TCSANOW, &stdio_restore.termios);
    (void)fcntl(STDIN_FILENO, F_SETFL, stdio_restore.in_flags);
    (void)fcntl(STDOUT_FILENO, F_SETFL, stdio_restore.out_flags);
}

static void restore_at_exit(void)
{
    restore_process_state();
}

static void restore_on_signal(int sig)
{
    int saved = errno;
    restore_process_state();
    /* SA_RESETHAND put the default action back, SA_NODEFER lets it run now. */
    (void)raise(sig);
    errno = saved;
}

static void install_signal_handlers(void)
{
    for (size_t i = 0; i < NR_FATAL; i++) {
        struct sigaction sa;
        stdio_restore.replaced[i] = false;
        if (sigaction(fatal_signals[i], NULL, &stdio_restore.previous[i]) < 0)
            continue;
        /* An action someone chose (a handler, or SIG_IGN) is theirs; such a
         * handler ends the process with exit() or returns. */
        if (stdio_restore.previous[i].sa_handler != SIG_DFL ||
            (stdio_restore.previous[i].sa_flags & SA_SIGINFO))
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = restore_on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        if (sigaction(fatal_signals[i], &sa, NULL) == 0)
            stdio_restore.replaced[i] = true;
    }
}

static void remove_signal_handlers(void)
{
    for (size_t i = 0; i < NR_FATAL; i++) {
        struct sigaction now;
        if (!stdio_restore.replaced[i])
            continue;
        stdio_restore.replaced[i] = false;
        /* Put the old action back only if ours is still there. */
        if (sigaction(fatal_signals[i], NULL, &now) == 0 && !(now.sa_flags & SA_SIGINFO) &&
            now.sa_handler == restore_on_signal)
            (void)sigaction(fatal_signals[i], &stdio_restore.previous[i], NULL);
    }
}

int vcon_bk_open_stdio(struct vcon_backend *b, struct bk_msg *m)
{
    int in_flags, out_flags;

    b->source = BK_FIXED;
    if (stdio_restore.claimed) {
        vcon_bk_msg(m, "stdio backend",
                    "stdio claimed twice: standard input and output already belong to another "
                    "backend",
                    NULL, NULL);
        return -EBUSY;
    }
    in_flags = fcntl(STDIN_FILENO, F_GETFL);
    if (in_flags < 0) {
        vcon_bk_msg(m, "stdio backend", "standard input is not open", NULL, NULL);
        return -EBADF;
    }
    out_flags = fcntl(STDOUT_FILENO, F_GETFL);
    if (out_flags < 0) {
        vcon_bk_msg(m, "stdio backend", "standard output is not open", NULL, NULL);
        return -EBADF;
    }
    if (!stdio_restore.atexit_registered) {
        if (atexit(restore_at_exit) != 0) {
            vcon_bk_msg(m, "stdio backend", "cannot register the terminal restore at exit",
                        NULL, NULL);
            return -ENOMEM;
        }
        stdio_restore.atexit_registered = true;
    }
    stdio_restore.have_termios = false;
    if (isatty(STDIN_FILENO)) {
        struct termios raw;
        if (tcgetattr(STDIN_FILENO, &stdio_restore.termios) < 0) {
            int rc = -errno;
            vcon_bk_msg_errno(m, "stdio backend", "read the terminal modes of", "stdin",
                              errno);
            return rc;
        }
        stdio_restore.have_termios = true;
        raw = stdio_restore.termios;
        vcon_bk_make_raw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
            int rc = -errno;
            vcon_bk_msg_errno(m, "stdio backend", "set raw mode on", "stdin", errno);
            return rc;
        }
    }
    stdio_restore.in_flags = in_flags;
    stdio_restore.out_flags = out_flags;
    stdio_restore.owner = getpid();
    stdio_restore.claimed = 1;
    install_signal_handlers();
    /* Standard input and output often share one open file description with
     * standard error (a terminal): O_NONBLOCK then holds for all three until
     * the backend is closed. They stay inheritable (no FD_CLOEXEC). */
    (void)fcntl(STDIN_FILENO, F_SETFL, in_flags | O_NONBLOCK);
    (void)fcntl(STDOUT_FILENO, F_SETFL, out_flags | O_NONBLOCK);
    b->in_fd = STDIN_FILENO;
    b->out_fd = STDOUT_FILENO;
    b->owns_peer = false;
    return 0;
}

void vcon_bk_close_stdio(struct vcon_backend *b)
{
    if (b->in_fd != STDIN_FILENO || !stdio_restore.claimed)
        return; /* this backend never got the claim */
    restore_process_state();
    remove_signal_handlers();
    stdio_restore.claimed = 0;
    stdio_restore.have_termios = false;
    b->in_fd = b->out_fd = -1;
}
