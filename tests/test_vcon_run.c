/* vcon-run end to end: the devices of a device-model command line on real
 * backends, the fake guest following a script. Two instances exchange data
 * both ways over a unix socket and their recordings replay with vcon-replay;
 * a server that goes away and comes back in the middle of a transfer, and a
 * client that does, lose no byte the device had accepted; stdio works
 * through pipes for the virtio-console and the UART; a signal ends a run
 * with a complete trace; every bad configuration exits 2 with its message.
 *
 * Every wait is bounded; a child that overstays is killed and the test
 * fails. */
#define _GNU_SOURCE /* pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop/event_loop.h"

#ifndef VCON_RUN_BIN
#error "VCON_RUN_BIN must name the vcon-run program"
#endif
#ifndef VCON_REPLAY_BIN
#error "VCON_REPLAY_BIN must name the vcon-replay program"
#endif

#define PATH_SIZE 512
#define MAX_ARGS 32
#define BIG_SIZE (1536u * 1024u)    /* the file sent through a socket */
#define FIRST_PEER_BYTES (300u * 1024u) /* read by the first peer before it leaves */
#define WAIT_MS 60000               /* bound of every wait on a child or a socket */

struct fixture {
    char dir[64];
};

/* ---- files and time ------------------------------------------------------- */

static void path_in(const struct fixture *f, const char *name, char *out)
{
    snprintf(out, PATH_SIZE, "%s/%s", f->dir, name);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    const struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated; *len without the NUL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (f != NULL) {
        for (;;) {
            if (n + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 8192;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            const size_t got = fread(buf + n, 1, 4096, f);
            n += got;
            if (got < 4096)
                break;
        }
        fclose(f);
    }
    if (buf == NULL)
        buf = calloc(1, 1);
    buf[n] = 0;
    if (len != NULL)
        *len = n;
    return buf;
}

static uint8_t *pattern(size_t len, uint64_t seed)
{
    uint8_t *buf = malloc(len);
    uint64_t x = seed | 1u;
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
    return buf;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vcon-run-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char path[PATH_SIZE + 256];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- children --------------------------------------------------------------- */

/* Starts argv with stdin and stdout on the given descriptors (-1: /dev/null)
 * and stderr into `err_path`. */
static pid_t spawn(const char *const argv[], int in_fd, int out_fd, const char *err_path)
{
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_RDWR);
        const int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (null_fd < 0 || err_fd < 0)
            _exit(126);
        dup2(in_fd >= 0 ? in_fd : null_fd, STDIN_FILENO);
        dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The exit status, or fails (after killing the child) past `ms`. */
static int wait_exit(pid_t pid, int ms, const char *err_path)
{
    const uint64_t end = now_ms() + (uint64_t)ms;
    int status = 0;
    for (;;) {
        const pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            break;
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            char *err = slurp(err_path, NULL);
            fail_msg("child %d still running after %d ms; its stderr:\n%s", (int)pid, ms, err);
        }
        sleep_ms(5);
    }
    if (!WIFEXITED(status)) {
        char *err = slurp(err_path, NULL);
        fail_msg("child ended by signal %d; its stderr:\n%s", WTERMSIG(status), err);
    }
    return WEXITSTATUS(status);
}

static void expect_exit(pid_t pid, int want, const char *err_path)
{
    const int got = wait_exit(pid, WAIT_MS, err_path);
    if (got != want) {
        char *err = slurp(err_path, NULL);
        fail_msg("exit status %d, expected %d; stderr:\n%s", got, want, err);
    }
}

static void expect_replays(const struct fixture *f, const char *trace)
{
    char err[PATH_SIZE];
    const char *const argv[] = {VCON_REPLAY_BIN, "--quiet", trace, NULL};
    path_in(f, "replay.err", err);
    expect_exit(spawn(argv, -1, -1, err), 0, err);
}

/* Runs vcon-run with `args` (NULL-terminated), stdin and stdout /dev/null;
 * returns the exit status and its stderr in `err_out` (free it). */
static int run_tool(const struct fixture *f, const char *const *args, char **err_out)
{
    const char *argv[MAX_ARGS];
    char err[PATH_SIZE];
    unsigned n = 0;
    argv[n++] = VCON_RUN_BIN;
    for (unsigned i = 0; args[i] != NULL && n + 1 < MAX_ARGS; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    path_in(f, "run.err", err);
    const int status = wait_exit(spawn(argv, -1, -1, err), WAIT_MS, err);
    *err_out = slurp(err, NULL);
    return status;
}

/* ---- descriptors and sockets ----------------------------------------------- */

/* Reads from fd until `needle` has arrived (appending to buf), or fails. */
static void read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
    const uint64_t end = now_ms() + WAIT_MS;
    buf[*len] = 0;
    while (strstr(buf, needle) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(now_ms() < end);
        if (poll(&p, 1, 100) <= 0)
            continue;
        const ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0)
            fail_msg("end of output before '%s'; got '%s'", needle, buf);
        *len += (size_t)n;
        buf[*len] = 0;
    }
}

static void write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        const ssize_t n = write(fd, p, len);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static int unix_listen(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static int unix_accept(int lfd)
{
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    const int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* Connects once the server's socket answers (bounded). */
static int unix_connect(const char *path)
{
    const uint64_t end = now_ms() + WAIT_MS;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    for (;;) {
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
            return fd;
        close(fd);
        assert_true(now_ms() < end);
        sleep_ms(10);
    }
}

static void wait_for_file(const char *path)
{
    const uint64_t end = now_ms() + WAIT_MS;
    struct stat st;
    while (stat(path, &st) != 0) {
        assert_true(now_ms() < end);
        sleep_ms(10);
    }
}

/* Reads into buf[*len..] until `want` bytes in all, or end of stream when
 * want is 0 (bounded). */
static void read_stream(int fd, uint8_t *buf, size_t cap, size_t *len, size_t want)
{
    const uint64_t end = now_ms() + WAIT_MS;
    while (want == 0 || *len < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now_ms() > end)
            fail_msg("stream stalled at %zu bytes (waiting for %zu)", *len, want);
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (*len >= cap)
            fail_msg("more than %zu bytes arrived", cap);
        const ssize_t n = read(fd, buf + *len, cap - *len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (want != 0)
                fail_msg("stream ended at %zu bytes (waiting for %zu)", *len, want);
            return;
        }
        *len += (size_t)n;
    }
}

/* The first peer leaves in the middle of the transfer without losing what
 * it was sent: shutting down its read side makes the sender's next writes
 * fail at once (a unix stream socket refuses data for a reader that will
 * not read), so everything that got into the socket is still read here,
 * and everything after stays with the sender for the next peer. */
static void leave_mid_transfer(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    assert_int_equal(shutdown(fd, SHUT_RD), 0);
    read_stream(fd, buf, cap, len, 0);
    close(fd);
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- tests: the event loop (tools/loop/) ------------------------------------ */

struct seen {
    int calls, fd;
    unsigned revents;
};

static void on_ready(void *arg, int fd, unsigned revents)
{
    struct seen *s = arg;
    s->calls++;
    s->fd = fd;
    s->revents = revents;
}

static void loop_runs_the_callback_of_a_ready_descriptor_once_per_want(void **state)
{
    struct vcon_loop *loop = NULL;
    struct seen seen = {0};
    int p[2];
    (void)state;
    assert_int_equal(vcon_loop_create(&loop), 0);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);

    assert_int_equal(vcon_loop_want(loop, p[0], POLLIN, on_ready, &seen), 0);
    assert_int_equal(vcon_loop_wait(loop, 0), 0); /* nothing yet */
    assert_int_equal(seen.calls, 0);
    write_all(p[1], "x", 1);
    /* Interest lasts one wait: the earlier want is gone. */
    assert_int_equal(vcon_loop_wait(loop, 0), 0);
    assert_int_equal(vcon_loop_want(loop, p[0], POLLIN, on_ready, &seen), 0);
    assert_int_equal(vcon_loop_wait(loop, 1000), 1);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.fd, p[0]);
    assert_true(seen.revents & POLLIN);
    /* Still readable, but not wanted: not called. */
    assert_int_equal(vcon_loop_wait(loop, 0), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(vcon_loop_want(loop, -1, POLLIN, on_ready, &seen), -EINVAL);
    assert_int_equal(vcon_loop_want(loop, p[0], 0, on_ready, &seen), -EINVAL);
    close(p[0]);
    close(p[1]);
    vcon_loop_destroy(loop);
}

static void loop_follows_a_descriptor_number_reused_by_another_file(void **state)
{
    struct vcon_loop *loop = NULL;
    struct seen seen = {0};
    int a[2], b[2];
    (void)state;
    assert_int_equal(vcon_loop_create(&loop), 0);
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(vcon_loop_want(loop, a[0], POLLIN, on_ready, &seen), 0);
    assert_int_equal(vcon_loop_wait(loop, 0), 0); /* registered */
    const int number = a[0];
    close(a[0]);
    close(a[1]);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    assert_int_equal(b[0], number); /* the lowest free number comes back */
    write_all(b[1], "y", 1);
    assert_int_equal(vcon_loop_want(loop, b[0], POLLIN, on_ready, &seen), 0);
    assert_int_equal(vcon_loop_wait(loop, 1000), 1);
    assert_int_equal(seen.calls, 1);
    close(b[0]);
    close(b[1]);
    vcon_loop_destroy(loop);
}

static void loop_treats_a_regular_file_as_always_ready(void **state)
{
    const struct fixture *f = *state;
    struct vcon_loop *loop = NULL;
    struct seen seen = {0};
    char path[PATH_SIZE];
    path_in(f, "regular", path);
    write_file(path, "data", 4);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(vcon_loop_create(&loop), 0);
    assert_int_equal(vcon_loop_want(loop, fd, POLLIN, on_ready, &seen), 0);
    const uint64_t start = now_ms();
    assert_int_equal(vcon_loop_wait(loop, -1), 1); /* does not block */
    assert_true(now_ms() - start < 1000);
    assert_int_equal(seen.revents, POLLIN);
    close(fd);
    vcon_loop_destroy(loop);
}

static void loop_reports_a_caught_signal_and_unblocks_it_at_the_end(void **state)
{
    static const int signals[] = {SIGUSR1};
    struct vcon_loop *loop = NULL;
    sigset_t mask;
    (void)state;
    assert_int_equal(vcon_loop_create(&loop), 0);
    assert_int_equal(vcon_loop_catch_signals(loop, signals, 1), 0);
    assert_int_equal(vcon_loop_take_signal(loop), 0);
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    assert_int_equal(vcon_loop_wait(loop, 5000), 0);
    assert_true(vcon_loop_ready_now(loop));
    assert_int_equal(vcon_loop_take_signal(loop), SIGUSR1);
    assert_int_equal(vcon_loop_take_signal(loop), 0);
    /* One more, never waited for: taken at destroy, not delivered. */
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    vcon_loop_destroy(loop);
    assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
    assert_false(sigismember(&mask, SIGUSR1));
}

/* ---- tests: command line ------------------------------------------------------ */

static void help_lists_the_script_commands_and_exits_0(void **state)
{
    char out_path[PATH_SIZE];
    path_in(*state, "help.out", out_path);
    const int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *const argv[] = {VCON_RUN_BIN, "--help", NULL};
    char err_path[PATH_SIZE];
    path_in(*state, "help.err", err_path);
    expect_exit(spawn(argv, -1, fd, err_path), 0, err_path);
    close(fd);
    char *help = slurp(out_path, NULL);
    static const char *const words[] = {"echo PORT", "write PORT TEXT", "send PORT FILE",
                                        "expect PORT TEXT", "expect-file PORT FILE", "sleep MS",
                                        "wait-open PORT", "quit", "--record FILE",
                                        "Exit status"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(help, words[i]) == NULL)
            fail_msg("--help does not mention '%s'", words[i]);
    free(help);
}

/* The message must hold every '|'-separated part of `message` (the
 * backends' own wording is theirs: only their kind and path are checked). */
struct bad_case {
    const char *args[10];
    const char *message;
};

static bool has_parts(const char *text, const char *parts)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", parts);
    for (char *part = buf, *bar; part != NULL; part = bar != NULL ? bar + 1 : NULL) {
        bar = strchr(part, '|');
        if (bar != NULL)
            *bar = 0;
        if (strstr(text, part) == NULL)
            return false;
    }
    return true;
}

static void every_bad_configuration_exits_2_with_its_message(void **state)
{
    const struct fixture *f = *state;
    char missing_server[PATH_SIZE], blocker[PATH_SIZE], other_bus[PATH_SIZE + 64];
    char client_spec[PATH_SIZE + 64];
    path_in(f, "nobody-listens", missing_server);
    snprintf(client_spec, sizeof(client_spec), "3,virtio-console,socket:p0=%s:client",
             missing_server);
    path_in(f, "q0.out", blocker);
    snprintf(other_bus, sizeof(other_bus), "1:4:0,virtio-console,file:q0=%s", blocker);
    const struct bad_case cases[] = {
        {{NULL}, "no device"},
        {{"--bogus", NULL}, "unknown option '--bogus'"},
        {{"-s", "3,virtio-console,stdio:p0", "stray", NULL}, "unexpected argument 'stray'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", NULL}, "-e needs a value"},
        {{"-s", "3,virtio-console,bogus:p0", NULL}, "unknown backend 'bogus'"},
        {{"-s", "3,virtio-console,stdio:p0,stdio:p1", NULL}, "stdio is already used by port 0"},
        {{"-l", "com1,stdio", NULL}, "needs the LPC bridge"},
        {{"-s", "1:0,lpc", "-l", "com1,tcp:99999", NULL}, "out of range"},
        {{"--uart-profile", "fancy", "-s", "1:0,lpc", "-l", "com1,stdio", NULL},
         "--uart-profile takes 16550a or acrn-dm"},
        {{"-s", "1:0,lpc", "-l", "com1,stdio", "-s", "3,virtio-console,stdio:p0", NULL},
         "stdio claimed twice"},
        {{"-s", "3,virtio-console,stdio:p0", "-s", "4,virtio-console,pty:q0", NULL},
         "two virtio-consoles on PCI bus 0"},
        {{"-s", "3,virtio-console,socket:p0=/nonexistent-dir/sock:server", NULL},
         "port p0: socket server|'/nonexistent-dir/sock'"},
        {{"-s", client_spec, NULL}, "port p0: socket client|no server"},
        {{"-s", "1:0,lpc", "-l", "com1,/nonexistent/tty", NULL},
         "port com1: tty|'/nonexistent/tty'"},
        {{"-s", "3,virtio-console,file:p0=/nonexistent-dir/out", NULL},
         "port p0: file|'/nonexistent-dir/out'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "frobnicate p0", NULL},
         "script -e #1: unknown command 'frobnicate'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "echo p0", "-e", "echo p9", NULL},
         "script -e #2: no port named 'p9' (the ports: p0)"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "send p0 /nonexistent", NULL},
         "send: cannot open '/nonexistent'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "sleep soon", NULL},
         "sleep takes a number of milliseconds, not 'soon'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "write p0 \\q", NULL}, "unknown escape '\\q'"},
        {{"-s", "3,virtio-console,stdio:p0", "-e", "expect p0", NULL},
         "expect needs a text after the port"},
        {{"-s", "3,virtio-console,stdio:p0", "--guest-script", "/nonexistent", NULL},
         "--guest-script: cannot open '/nonexistent'"},
        {{"-s", "3,virtio-console,stdio:p0", "--record", "/nonexistent-dir/t.pcap.zst", NULL},
         "--record: /nonexistent-dir/t.pcap.zst"},
        {{"-s", "3,virtio-console,stdio:p0", "--time-step", "fast", NULL},
         "--time-step takes a number, not 'fast'"},
        {{"-s", "3,virtio-console,stdio:p0", "--buffer", "99999999999", NULL},
         "--buffer: 99999999999 is more than"},
        {{"-s", "3,virtio-console,stdio:p0", "--retry", "0", NULL}, "--retry takes at least 1 ms"},
        {{"-s", other_bus, "-s", "1:4:1,virtio-console,pty:p0", NULL},
         "is on function 1: the fake guest's driver looks at function 0 only"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = NULL;
        const int status = run_tool(f, cases[i].args, &err);
        if (status != 2 || !has_parts(err, cases[i].message))
            fail_msg("case %zu (%s ...): exit %d, stderr '%s'; expected exit 2 and '%s'", i,
                     cases[i].args[0] ? cases[i].args[0] : "no args", status, err,
                     cases[i].message);
        if (strncmp(err, "vcon-run: ", 10) != 0)
            fail_msg("case %zu: the message does not start with 'vcon-run: ': '%s'", i, err);
        free(err);
    }
}

/* ---- tests: stdio through pipes --------------------------------------------------- */

/* vcon-run with stdin and stdout on pipes; the guest echoes, greets, waits
 * for "bye", then writes a last line. */
static void stdio_dialogue(const struct fixture *f, const char *const *devices, const char *port)
{
    int in[2], out[2];
    char err[PATH_SIZE], trace[PATH_SIZE], echo[64], greet[64], bye[64], last[64];
    char got[4096];
    size_t len = 0;
    const char *argv[MAX_ARGS];
    unsigned n = 0;

    path_in(f, "stdio.err", err);
    path_in(f, "stdio.pcap.zst", trace);
    snprintf(echo, sizeof(echo), "echo %s", port);
    snprintf(greet, sizeof(greet), "write %s READY\\n", port);
    snprintf(bye, sizeof(bye), "expect %s bye\\n", port);
    snprintf(last, sizeof(last), "write %s \"last line\\n\"", port);
    argv[n++] = VCON_RUN_BIN;
    for (unsigned i = 0; devices[i] != NULL; i++)
        argv[n++] = devices[i];
    const char *const rest[] = {"-e", echo, "-e", greet, "-e", bye, "-e", last,
                                "--record", trace, NULL};
    for (unsigned i = 0; rest[i] != NULL; i++)
        argv[n++] = rest[i];
    argv[n] = NULL;

    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    const pid_t pid = spawn(argv, in[0], out[1], err);
    close(in[0]);
    close(out[1]);
    /* Input is sent only once the guest is up: a UART's probe resets its
     * FIFOs, as a real one does, and would drop earlier bytes. */
    read_until(out[0], got, sizeof(got), &len, "READY\n");
    write_all(in[1], "ping\n", 5);
    read_until(out[0], got, sizeof(got), &len, "ping\n");
    write_all(in[1], "bye\n", 4);
    read_until(out[0], got, sizeof(got), &len, "last line\n");
    close(in[1]);
    expect_exit(pid, 0, err);
    /* Nothing after the last line: read to the end. */
    for (;;) {
        const ssize_t r = read(out[0], got + len, sizeof(got) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    got[len] = 0;
    close(out[0]);
    assert_string_equal(got, "READY\nping\nbye\nlast line\n");
    expect_replays(f, trace);
}

static void console_stdio_works_through_pipes_and_replays(void **state)
{
    const char *const devices[] = {"-s", "3,virtio-console,@stdio:p0", NULL};
    stdio_dialogue(*state, devices, "p0");
}

static void uart_stdio_works_through_pipes_and_replays(void **state)
{
    const char *const devices[] = {"-s", "1:0,lpc", "-l", "com1,stdio", NULL};
    stdio_dialogue(*state, devices, "com1");
}

/* The rig's device options pass through: the other UART flavour, profile
 * and interrupt mode; a console without multiport and with small queues. */
static void uart_options_pass_through_to_the_device(void **state)
{
    const char *const devices[] = {"--uart-profile", "acrn-dm", "--uart-flavour", "hv",
                                   "--uart-irq", "edge", "-s", "1:0,lpc", "-l", "com1,stdio",
                                   NULL};
    stdio_dialogue(*state, devices, "com1");
}

static void console_options_pass_through_to_the_device(void **state)
{
    const char *const devices[] = {"--console-no-multiport", "--console-queue-size", "16", "-s",
                                   "3,virtio-console,@stdio:p0", NULL};
    stdio_dialogue(*state, devices, "p0");
}

/* ---- tests: two instances over a unix socket ---------------------------------------- */

static void two_instances_exchange_data_both_ways_and_both_recordings_replay(void **state)
{
    const struct fixture *f = *state;
    char sock[PATH_SIZE], big[PATH_SIZE], trace_a[PATH_SIZE], trace_b[PATH_SIZE];
    char err_a[PATH_SIZE], err_b[PATH_SIZE], spec_a[PATH_SIZE + 64], spec_b[PATH_SIZE + 64];
    char send_cmd[PATH_SIZE + 16], expect_cmd[PATH_SIZE + 32];
    path_in(f, "sock", sock);
    path_in(f, "big.bin", big);
    path_in(f, "a.pcap.zst", trace_a);
    path_in(f, "b.pcap.zst", trace_b);
    path_in(f, "a.err", err_a);
    path_in(f, "b.err", err_b);
    uint8_t *data = pattern(BIG_SIZE, 1);
    write_file(big, data, BIG_SIZE);
    free(data);
    snprintf(spec_a, sizeof(spec_a), "3,virtio-console,socket:p0=%s:server", sock);
    snprintf(spec_b, sizeof(spec_b), "3,virtio-console,socket:p0=%s:client", sock);
    snprintf(send_cmd, sizeof(send_cmd), "send p0 %s", big);
    snprintf(expect_cmd, sizeof(expect_cmd), "expect-file p0 %s", big);

    /* A greets and echoes until B leaves; B sends a file and expects it
     * back, after the greeting. */
    const char *const argv_a[] = {VCON_RUN_BIN, "-s", spec_a, "-e", "write p0 HELLO FROM A\\n",
                                  "-e", "echo p0", "-e", "wait-open p0", "-e", "wait-closed p0",
                                  "--record", trace_a, "--stats", NULL};
    const char *const argv_b[] = {VCON_RUN_BIN, "-s", spec_b, "--client-wait",
                                  "-e", "expect p0 HELLO FROM A\\n", "-e", send_cmd,
                                  "-e", expect_cmd, "--record", trace_b, "--stats", NULL};
    const pid_t a = spawn(argv_a, -1, -1, err_a);
    wait_for_file(sock);
    const pid_t b = spawn(argv_b, -1, -1, err_b);
    expect_exit(b, 0, err_b);
    expect_exit(a, 0, err_a);

    /* Each side's device moved the whole file both ways. */
    char *stats_a = slurp(err_a, NULL), *stats_b = slurp(err_b, NULL);
    char want[128];
    snprintf(want, sizeof(want), "guest sent %u received %u;", BIG_SIZE + 13u, BIG_SIZE);
    if (strstr(stats_a, want) == NULL)
        fail_msg("A's statistics lack '%s':\n%s", want, stats_a);
    snprintf(want, sizeof(want), "guest sent %u received %u;", BIG_SIZE, BIG_SIZE + 13u);
    if (strstr(stats_b, want) == NULL)
        fail_msg("B's statistics lack '%s':\n%s", want, stats_b);
    free(stats_a);
    free(stats_b);
    expect_replays(f, trace_a);
    expect_replays(f, trace_b);
}

/* ---- tests: disconnect and reconnect in the middle of a transfer --------------------- */

static void check_split_transfer(const uint8_t *want, const uint8_t *first, size_t first_len,
                                 const uint8_t *second, size_t second_len)
{
    if (first_len + second_len != BIG_SIZE)
        fail_msg("%zu + %zu bytes arrived, %u were sent", first_len, second_len, BIG_SIZE);
    assert_true(first_len >= FIRST_PEER_BYTES);
    assert_true(second_len > 0);
    assert_memory_equal(first, want, first_len);
    assert_memory_equal(second, want + first_len, second_len);
}

static void client_loses_no_byte_when_its_server_restarts_mid_transfer(void **state)
{
    const struct fixture *f = *state;
    char sock[PATH_SIZE], big[PATH_SIZE], trace[PATH_SIZE], err[PATH_SIZE];
    char spec[PATH_SIZE + 64], send_cmd[PATH_SIZE + 16];
    path_in(f, "restart.sock", sock);
    path_in(f, "big.bin", big);
    path_in(f, "client.pcap.zst", trace);
    path_in(f, "client.err", err);
    uint8_t *data = pattern(BIG_SIZE, 2);
    write_file(big, data, BIG_SIZE);
    snprintf(spec, sizeof(spec), "3,virtio-console,socket:p0=%s:client", sock);
    snprintf(send_cmd, sizeof(send_cmd), "send p0 %s", big);
    uint8_t *first = malloc(BIG_SIZE), *second = malloc(BIG_SIZE);
    size_t first_len = 0, second_len = 0;
    assert_non_null(first);
    assert_non_null(second);

    int lfd = unix_listen(sock);
    const char *const argv[] = {VCON_RUN_BIN, "-s", spec, "-e", send_cmd, "--retry", "20",
                                "--record", trace, "--stats", NULL};
    const pid_t pid = spawn(argv, -1, -1, err);
    int conn = unix_accept(lfd);
    read_stream(conn, first, BIG_SIZE, &first_len, FIRST_PEER_BYTES);
    /* The server goes away altogether: listener and socket file first (a
     * client reconnecting to a listener about to close would lose what it
     * sent into the backlog), then the connection. */
    close(lfd);
    unlink(sock);
    leave_mid_transfer(conn, first, BIG_SIZE, &first_len);
    sleep_ms(300); /* the client retries against nothing meanwhile */
    lfd = unix_listen(sock);
    conn = unix_accept(lfd);
    read_stream(conn, second, BIG_SIZE, &second_len, 0); /* to the client's exit */
    close(conn);
    close(lfd);
    expect_exit(pid, 0, err);

    check_split_transfer(data, first, first_len, second, second_len);
    char *stats = slurp(err, NULL);
    if (strstr(stats, "connects 2 disconnects 1") == NULL)
        fail_msg("the client did not reconnect once:\n%s", stats);
    free(stats);
    expect_replays(f, trace);
    free(first);
    free(second);
    free(data);
}

static void server_keeps_the_rest_for_a_client_that_reconnects_mid_transfer(void **state)
{
    const struct fixture *f = *state;
    char sock[PATH_SIZE], big[PATH_SIZE], trace[PATH_SIZE], err[PATH_SIZE];
    char spec[PATH_SIZE + 64], send_cmd[PATH_SIZE + 16];
    path_in(f, "server.sock", sock);
    path_in(f, "big.bin", big);
    path_in(f, "server.pcap.zst", trace);
    path_in(f, "server.err", err);
    uint8_t *data = pattern(BIG_SIZE, 3);
    write_file(big, data, BIG_SIZE);
    snprintf(spec, sizeof(spec), "3,virtio-console,socket:p0=%s:server", sock);
    snprintf(send_cmd, sizeof(send_cmd), "send p0 %s", big);
    uint8_t *first = malloc(BIG_SIZE), *second = malloc(BIG_SIZE);
    size_t first_len = 0, second_len = 0;
    assert_non_null(first);
    assert_non_null(second);

    const char *const argv[] = {VCON_RUN_BIN, "-s", spec, "-e", send_cmd, "--record", trace,
                                "--stats", NULL};
    const pid_t pid = spawn(argv, -1, -1, err);
    wait_for_file(sock);
    int conn = unix_connect(sock);
    read_stream(conn, first, BIG_SIZE, &first_len, FIRST_PEER_BYTES);
    leave_mid_transfer(conn, first, BIG_SIZE, &first_len);
    sleep_ms(100);
    conn = unix_connect(sock);
    read_stream(conn, second, BIG_SIZE, &second_len, 0); /* to the server's exit */
    close(conn);
    expect_exit(pid, 0, err);

    check_split_transfer(data, first, first_len, second, second_len);
    char *stats = slurp(err, NULL);
    if (strstr(stats, "connects 2 disconnects 2") == NULL &&
        strstr(stats, "connects 2 disconnects 1") == NULL)
        fail_msg("the server did not take a second client:\n%s", stats);
    free(stats);
    expect_replays(f, trace);
    free(first);
    free(second);
    free(data);
}

/* ---- tests: the end of a run ---------------------------------------------------------- */

static void sigterm_ends_a_waiting_run_with_a_trace_that_replays(void **state)
{
    const struct fixture *f = *state;
    char sock[PATH_SIZE], trace[PATH_SIZE], err[PATH_SIZE], spec[PATH_SIZE + 64];
    path_in(f, "term.sock", sock);
    path_in(f, "term.pcap.zst", trace);
    path_in(f, "term.err", err);
    snprintf(spec, sizeof(spec), "3,virtio-console,socket:p0=%s:server", sock);
    const char *const argv[] = {VCON_RUN_BIN, "-s", spec, "-e", "wait", "--record", trace, NULL};
    const pid_t pid = spawn(argv, -1, -1, err);
    wait_for_file(sock);
    /* A client comes and says something before the end. */
    const int conn = unix_connect(sock);
    write_all(conn, "before the signal\n", 18);
    sleep_ms(200);
    close(conn);
    kill(pid, SIGTERM);
    expect_exit(pid, 0, err);
    expect_replays(f, trace);
    struct stat st;
    assert_int_not_equal(stat(sock, &st), 0); /* the server removed its socket file */
}

static void sigint_ends_a_stdio_run_and_leaves_stdin_blocking(void **state)
{
    const struct fixture *f = *state;
    char err[PATH_SIZE];
    int in[2];
    path_in(f, "int.err", err);
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    const char *const argv[] = {VCON_RUN_BIN, "-s", "3,virtio-console,@stdio:p0", NULL};
    const pid_t pid = spawn(argv, in[0], -1, err);
    sleep_ms(300);
    kill(pid, SIGINT);
    expect_exit(pid, 0, err);
    /* The child's standard input shares the read end's file description
     * with in[0] here: its flags are back, blocking. */
    assert_int_equal(fcntl(in[0], F_GETFL) & O_NONBLOCK, 0);
    close(in[0]);
    close(in[1]);
}

static void expect_that_never_matches_fails_with_exit_1_after_its_timeout(void **state)
{
    const struct fixture *f = *state;
    char out[PATH_SIZE], spec[PATH_SIZE + 64];
    path_in(f, "never.out", out);
    snprintf(spec, sizeof(spec), "3,virtio-console,file:p0=%s", out);
    const char *const args[] = {"-s", spec, "-e", "timeout 200", "-e", "expect p0 never", NULL};
    char *err = NULL;
    const uint64_t start = now_ms();
    assert_int_equal(run_tool(f, args, &err), 1);
    assert_true(now_ms() - start >= 200);
    if (strstr(err, "script -e #2: expect p0: 'never' did not arrive within 200 ms") == NULL)
        fail_msg("unexpected message: %s", err);
    free(err);
}

static void file_backend_gets_what_the_guest_writes_in_fixed_time_steps(void **state)
{
    const struct fixture *f = *state;
    char out[PATH_SIZE], spec[PATH_SIZE + 64], script[PATH_SIZE];
    path_in(f, "p0.out", out);
    path_in(f, "script.txt", script);
    snprintf(spec, sizeof(spec), "3,virtio-console,file:p0=%s", out);
    static const char text[] = "# a script file\n"
                               "write p0 first\\tline\\n\n"
                               "\n"
                               "sleep 50\n"
                               "mark after the sleep\n"
                               "write p0 \"  quoted, \\x41\\x42  \"\n";
    write_file(script, text, sizeof(text) - 1);
    const char *const args[] = {"-s", spec, "--guest-script", script, "--time-step", "1000",
                                "--stats", NULL};
    char *err = NULL;
    assert_int_equal(run_tool(f, args, &err), 0);
    /* 50 ms of virtual time passed, at 1 ms per loop turn. */
    const char *t = strstr(err, "virtual time ");
    assert_non_null(t);
    assert_true(strtoull(t + 13, NULL, 10) >= 50000000ull);
    assert_int_equal(count_occurrences(err, "port p0: guest sent 25 "), 1);
    free(err);
    char *got = slurp(out, NULL);
    assert_string_equal(got, "first\tline\n  quoted, AB  ");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_runs_the_callback_of_a_ready_descriptor_once_per_want),
        cmocka_unit_test(loop_follows_a_descriptor_number_reused_by_another_file),
        cmocka_unit_test_setup_teardown(loop_treats_a_regular_file_as_always_ready, setup,
                                        teardown),
        cmocka_unit_test(loop_reports_a_caught_signal_and_unblocks_it_at_the_end),
        cmocka_unit_test_setup_teardown(help_lists_the_script_commands_and_exits_0, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(every_bad_configuration_exits_2_with_its_message, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(console_stdio_works_through_pipes_and_replays, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(uart_stdio_works_through_pipes_and_replays, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(uart_options_pass_through_to_the_device, setup, teardown),
        cmocka_unit_test_setup_teardown(console_options_pass_through_to_the_device, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            two_instances_exchange_data_both_ways_and_both_recordings_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(client_loses_no_byte_when_its_server_restarts_mid_transfer,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            server_keeps_the_rest_for_a_client_that_reconnects_mid_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(sigterm_ends_a_waiting_run_with_a_trace_that_replays,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sigint_ends_a_stdio_run_and_leaves_stdin_blocking, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            expect_that_never_matches_fails_with_exit_1_after_its_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(
            file_backend_gets_what_the_guest_writes_in_fixed_time_steps, setup, teardown),
    };
    /* A peer that leaves must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
