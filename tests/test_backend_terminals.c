/* Real backends on terminals and standard I/O: pty, tty, stdio
 * (emu/include/vcon/backend.h, docs/backends.md). stdio tests run in a
 * forked child whose standard input and output the test replaces, since
 * stdio can be claimed once per process and its restore hooks are
 * process-wide. */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends for the test's own ptys */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <termios.h>

#include <cmocka.h>

#include "backend_fixture.h"

#define ANNOUNCE "virt-console backend redirected to "

struct notice {
    int calls;
    char text[256];
};

static void record_notice(void *ctx, const char *message)
{
    struct notice *n = ctx;
    n->calls++;
    snprintf(n->text, sizeof n->text, "%s", message);
}

/* A pty the test owns: master and slave descriptors and the slave's path. */
struct test_pty {
    int master, slave;
    char path[128];
};

static void open_test_pty(struct test_pty *p)
{
    const char *name;
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    name = ptsname(p->master);
    assert_non_null(name);
    snprintf(p->path, sizeof p->path, "%s", name);
    p->slave = open(p->path, O_RDWR | O_NOCTTY);
    assert_true(p->slave >= 0);
}

static void close_test_pty(struct test_pty *p)
{
    close(p->slave);
    close(p->master);
}

static void assert_termios_equal(const struct termios *a, const struct termios *b)
{
    assert_int_equal(a->c_iflag, b->c_iflag);
    assert_int_equal(a->c_oflag, b->c_oflag);
    assert_int_equal(a->c_cflag, b->c_cflag);
    assert_int_equal(a->c_lflag, b->c_lflag);
    assert_memory_equal(a->c_cc, b->c_cc, sizeof a->c_cc);
}

static bool is_raw(const struct termios *t)
{
    return !(t->c_lflag & (ICANON | ECHO | ISIG | IEXTEN)) && !(t->c_oflag & OPOST) &&
           !(t->c_iflag & (ICRNL | IXON)) && (t->c_cflag & CSIZE) == CS8 && t->c_cc[VMIN] == 1 &&
           t->c_cc[VTIME] == 0;
}

/* ---- pty ----------------------------------------------------------------- */

static void test_pty_announces_its_slave_and_exchanges_bytes_with_it(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_PTY, NULL);
    struct notice n = {0};
    struct vcon_backend_options options = {.notice = record_notice, .notice_ctx = &n};
    struct vcon_backend *b = open_ok(&spec, &options);
    struct vcon_backend_info info;
    const char *path;
    char buf[16];
    int slave;
    (void)state;

    assert_int_equal(n.calls, 1);
    assert_memory_equal(n.text, ANNOUNCE "/dev/pts/", strlen(ANNOUNCE "/dev/pts/"));
    path = n.text + strlen(ANNOUNCE);
    vcon_backend_get_info(b, &info);
    assert_string_equal(info.path, path);
    assert_true(info.connected);

    slave = open(path, O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    /* Someone at the slave types: the guest's port reads it. */
    fd_write_all(slave, "hello\r", 6);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    backend_read_exact(b, buf, 6);
    assert_memory_equal(buf, "hello\r", 6); /* raw: CR stays CR */
    /* The guest writes: the slave reads it untouched. */
    assert_int_equal(vcon_backend_write(b, "world\n", 6), 6);
    fd_read_exact(slave, b, buf, 6);
    assert_memory_equal(buf, "world\n", 6);

    close(slave);
    vcon_backend_close(b);
}

static void test_pty_with_nobody_attached_reads_no_data_not_closed(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_PTY, NULL);
    struct notice n = {0};
    struct vcon_backend_options options = {.notice = record_notice, .notice_ctx = &n};
    struct vcon_backend *b = open_ok(&spec, &options);
    struct vcon_backend_info info;
    char buf[8];
    int slave;
    (void)state;

    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_NO_DATA);
    /* Someone attaches and leaves again: still no EIO, no CLOSED. */
    vcon_backend_get_info(b, &info);
    slave = open(info.path, O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    close(slave);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_NO_DATA);
    assert_int_equal(pump(b, 0) & VCON_BACKEND_EV_DISCONNECTED, 0);
    /* Output with nobody attached waits in the pty for the next user. */
    assert_int_equal(vcon_backend_write(b, "early", 5), 5);
    slave = open(info.path, O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    fd_read_exact(slave, b, buf, 5);
    assert_memory_equal(buf, "early", 5);
    close(slave);
    vcon_backend_close(b);
}

static void test_pty_announces_on_standard_error_by_default(void **state)
{
    int err_pipe[2], status;
    char line[256] = "";
    size_t got = 0;
    pid_t pid;
    (void)state;

    assert_int_equal(pipe(err_pipe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_PTY, NULL);
        struct vcon_backend *b;
        char err[ERR_LEN];
        dup2(err_pipe[1], STDERR_FILENO);
        close(err_pipe[0]);
        close(err_pipe[1]);
        if (vcon_backend_open(&spec, NULL, &b, err, sizeof err) != 0)
            _exit(1);
        vcon_backend_close(b);
        _exit(0);
    }
    close(err_pipe[1]);
    for (;;) {
        ssize_t n = read(err_pipe[0], line + got, sizeof line - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    line[got] = '\0';
    close(err_pipe[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_message_contains(line, ANNOUNCE "/dev/pts/");
    assert_int_equal(line[got - 1], '\n');
}

/* ---- tty ----------------------------------------------------------------- */

static void test_tty_is_raw_while_open_and_restored_after_close(void **state)
{
    struct test_pty p;
    struct termios before, during, after;
    struct vcon_backend_spec spec;
    struct vcon_backend *b;
    char buf[8];
    (void)state;

    open_test_pty(&p);
    assert_int_equal(tcgetattr(p.slave, &before), 0);
    assert_false(is_raw(&before)); /* a new pty starts cooked */
    spec = spec_of(VCON_BACKEND_KIND_TTY, p.path);
    b = open_ok(&spec, NULL);
    assert_int_equal(tcgetattr(p.slave, &during), 0);
    assert_true(is_raw(&during));

    /* The far end of the line (the master) and the guest's port talk. */
    fd_write_all(p.master, "in\r", 3);
    backend_read_exact(b, buf, 3);
    assert_memory_equal(buf, "in\r", 3);
    assert_int_equal(vcon_backend_write(b, "out\n", 4), 4);
    fd_read_exact(p.master, b, buf, 4);
    assert_memory_equal(buf, "out\n", 4); /* no OPOST: no CR added */

    vcon_backend_close(b);
    assert_int_equal(tcgetattr(p.slave, &after), 0);
    assert_termios_equal(&before, &after);
    close_test_pty(&p);
}

static void test_tty_whose_line_hangs_up_reads_closed(void **state)
{
    struct test_pty p;
    struct vcon_backend_spec spec;
    struct vcon_backend *b;
    struct vcon_backend_info info;
    char buf[8];
    (void)state;

    open_test_pty(&p);
    spec = spec_of(VCON_BACKEND_KIND_TTY, p.path);
    b = open_ok(&spec, NULL);
    close(p.master); /* the line goes away: the slave reads EIO / EOF */
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_CLOSED);
    vcon_backend_get_info(b, &info);
    assert_true(info.input_closed);
    vcon_backend_close(b);
    close(p.slave);
}

/* ---- stdio --------------------------------------------------------------- */

/* Child side helpers: no cmocka in a forked child, just exit codes. */
#define CHILD_CHECK(cond, code)                                                  \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "child check failed: %s (line %d)\n", #cond, __LINE__); \
            _exit(code);                                                         \
        }                                                                        \
    } while (0)

/* Read `len` bytes through b, polling; 0 on success. */
static int child_read(struct vcon_backend *b, char *buf, size_t len)
{
    size_t got = 0;
    for (int i = 0; i < 500 && got < len; i++) {
        struct pollfd p[VCON_BACKEND_MAX_FDS];
        int n = vcon_backend_read(b, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n != VCON_BACKEND_NO_DATA)
            return -1;
        n = vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS);
        if (n > 0 && poll(p, (nfds_t)n, 10) > 0)
            for (int k = 0; k < n; k++)
                if (p[k].revents)
                    (void)vcon_backend_handle(b, p[k].fd, (unsigned)p[k].revents);
    }
    return got == len ? 0 : -1;
}

static void test_stdio_moves_bytes_both_ways_through_pipes(void **state)
{
    int to_child[2], from_child[2], status;
    char buf[32];
    pid_t pid;
    (void)state;

    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(from_child), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_STDIO, NULL);
        struct vcon_backend *b, *second;
        char err[ERR_LEN], in[5];
        int rc;

        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        CHILD_CHECK(vcon_backend_open(&spec, NULL, &b, err, sizeof err) == 0, 2);
        CHILD_CHECK(fcntl(STDIN_FILENO, F_GETFL) & O_NONBLOCK, 3);
        /* stdio belongs to one backend at a time. */
        rc = vcon_backend_open(&spec, NULL, &second, err, sizeof err);
        CHILD_CHECK(rc == -EBUSY && strstr(err, "stdio claimed twice") != NULL, 4);
        CHILD_CHECK(child_read(b, in, 5) == 0 && memcmp(in, "ping\n", 5) == 0, 5);
        CHILD_CHECK(vcon_backend_write(b, "pong\n", 5) == 5, 6);
        /* The parent closes its end: EOF reads CLOSED, output goes on. */
        CHILD_CHECK(child_read(b, in, 1) == -1, 7);
        CHILD_CHECK(vcon_backend_read(b, in, 1) == VCON_BACKEND_CLOSED, 8);
        CHILD_CHECK(vcon_backend_write(b, "bye\n", 4) == 4, 9);
        vcon_backend_close(b);
        /* Closed: flags back as they were, and stdio can be claimed again. */
        CHILD_CHECK(!(fcntl(STDIN_FILENO, F_GETFL) & O_NONBLOCK), 10);
        CHILD_CHECK(!(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK), 11);
        CHILD_CHECK(vcon_backend_open(&spec, NULL, &b, err, sizeof err) == 0, 12);
        vcon_backend_close(b);
        _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    fd_write_all(to_child[1], "ping\n", 5);
    fd_read_exact(from_child[0], NULL, buf, 5);
    assert_memory_equal(buf, "pong\n", 5);
    close(to_child[1]);
    fd_read_exact(from_child[0], NULL, buf, 4);
    assert_memory_equal(buf, "bye\n", 4);
    close(from_child[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Keeps the child's backend reachable, so LeakSanitizer does not count an
 * exit without close as a leak. */
static struct vcon_backend *child_backend;

enum stdio_exit { EXIT_BY_EXIT, EXIT_BY_SIGNAL, EXIT_BY_CLOSE };

/* A child whose standard input and output are the slave of a pty: the
 * terminal goes raw while stdio is claimed and must come back cooked however
 * the child ends. */
static void run_stdio_on_terminal(enum stdio_exit how, int *status)
{
    struct test_pty p;
    struct termios before, after;
    pid_t pid;

    open_test_pty(&p);
    assert_int_equal(tcgetattr(p.slave, &before), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_STDIO, NULL);
        struct termios t;
        char err[ERR_LEN], c;

        dup2(p.slave, STDIN_FILENO);
        dup2(p.slave, STDOUT_FILENO);
        close(p.slave);
        close(p.master);
        CHILD_CHECK(vcon_backend_open(&spec, NULL, &child_backend, err, sizeof err) == 0, 2);
        CHILD_CHECK(tcgetattr(STDIN_FILENO, &t) == 0 && is_raw(&t), 3);
        CHILD_CHECK(vcon_backend_write(child_backend, "R", 1) == 1, 9);
        /* Raw: a ^C is a byte for the guest, not a signal. */
        CHILD_CHECK(child_read(child_backend, &c, 1) == 0 && c == 3, 4);
        CHILD_CHECK(vcon_backend_write(child_backend, "ok", 2) == 2, 5);
        switch (how) {
        case EXIT_BY_EXIT: exit(0);
        case EXIT_BY_SIGNAL: raise(SIGTERM); _exit(6);
        case EXIT_BY_CLOSE:
            vcon_backend_close(child_backend);
            CHILD_CHECK(tcgetattr(STDIN_FILENO, &t) == 0 && !is_raw(&t), 7);
            _exit(0);
        }
        _exit(8);
    }
    {
        char buf[2];
        /* Only once the child is raw: a cooked line would eat the ^C. */
        fd_read_exact(p.master, NULL, buf, 1);
        assert_int_equal(buf[0], 'R');
        fd_write_all(p.master, "\003", 1);
        fd_read_exact(p.master, NULL, buf, 2);
        assert_memory_equal(buf, "ok", 2);
    }
    assert_int_equal(waitpid(pid, status, 0), pid);
    assert_int_equal(tcgetattr(p.slave, &after), 0);
    assert_termios_equal(&before, &after);
    close_test_pty(&p);
}

static void test_stdio_terminal_is_restored_by_close(void **state)
{
    int status;
    (void)state;
    run_stdio_on_terminal(EXIT_BY_CLOSE, &status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_stdio_terminal_is_restored_at_exit(void **state)
{
    int status;
    (void)state;
    run_stdio_on_terminal(EXIT_BY_EXIT, &status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_stdio_terminal_is_restored_on_a_fatal_signal(void **state)
{
    int status;
    (void)state;
    run_stdio_on_terminal(EXIT_BY_SIGNAL, &status);
    /* Restored, and the signal still ended the process as it would have. */
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_pty_announces_its_slave_and_exchanges_bytes_with_it),
        T(test_pty_with_nobody_attached_reads_no_data_not_closed),
        T(test_pty_announces_on_standard_error_by_default),
        T(test_tty_is_raw_while_open_and_restored_after_close),
        T(test_tty_whose_line_hangs_up_reads_closed),
        T(test_stdio_moves_bytes_both_ways_through_pipes),
        T(test_stdio_terminal_is_restored_by_close),
        T(test_stdio_terminal_is_restored_at_exit),
        T(test_stdio_terminal_is_restored_on_a_fatal_signal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
