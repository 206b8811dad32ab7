/* Real backends: the file backend, every bad configuration's message, the
 * event-loop contract's edges, and the host adapter driving a UART over a
 * real socket (emu/include/vcon/backend.h, docs/backends.md). Terminals are
 * in test_backend_terminals.c, sockets in test_backend_sockets.c. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "backend_fixture.h"
#include "vcon/backend_host.h"
#include "vcon/uart.h"

static void write_text_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static size_t read_text_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;
    assert_true(fd >= 0);
    n = read(fd, buf, len - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return (size_t)n;
}

/* Refused with `rc`, a message containing `needle`, and nothing left open
 * (the fixture's teardown counts descriptors). */
static void expect_open_refused(const struct vcon_backend_spec *spec,
                                const struct vcon_backend_options *options, int rc,
                                const char *needle)
{
    char err[ERR_LEN] = "";
    struct vcon_backend *b = (struct vcon_backend *)&err; /* must become NULL */
    assert_int_equal(vcon_backend_open(spec, options, &b, err, sizeof err), rc);
    assert_null(b);
    assert_message_contains(err, needle);
}

/* ---- file ---------------------------------------------------------------- */

static void test_file_backend_appends_and_keeps_existing_content(void **state)
{
    struct fixture *f = *state;
    char path[128], text[64];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_FILE,
                                            fixture_path(f, "console.log", path, sizeof path));
    struct vcon_backend *b;

    write_text_file(path, "before\n");
    b = open_ok(&spec, NULL);
    assert_int_equal(vcon_backend_write(b, "guest ", 6), 6);
    assert_int_equal(vcon_backend_write(b, "output\n", 7), 7);
    vcon_backend_close(b);
    /* A second backend on the same file appends after the first. */
    b = open_ok(&spec, NULL);
    assert_int_equal(vcon_backend_write(b, "again\n", 6), 6);
    vcon_backend_close(b);
    read_text_file(path, text, sizeof text);
    assert_string_equal(text, "before\nguest output\nagain\n");
}

static void test_file_backend_creates_the_file_owner_only(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_FILE,
                                            fixture_path(f, "new.log", path, sizeof path));
    struct stat st;
    mode_t old = umask(022);
    struct vcon_backend *b = open_ok(&spec, NULL);

    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    vcon_backend_close(b);
}

static void test_file_backend_reads_no_data_forever_and_polls_nothing(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[16];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_FILE,
                                            fixture_path(f, "out.log", path, sizeof path));
    struct vcon_backend *b = open_ok(&spec, NULL);
    struct pollfd p[VCON_BACKEND_MAX_FDS];
    struct vcon_backend_info info;

    for (int i = 0; i < 3; i++)
        assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_NO_DATA);
    assert_int_equal(vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS), 0);
    /* A file is always "connected": nothing to report. */
    assert_int_equal(vcon_backend_poll(b), 0);
    vcon_backend_get_info(b, &info);
    assert_true(info.connected);
    assert_int_equal(info.kind, VCON_BACKEND_KIND_FILE);
    assert_string_equal(info.path, path);
    assert_int_equal(info.buffer_size, VCON_BACKEND_DEFAULT_BUFFER);
    vcon_backend_close(b);
}

/* ---- bad configurations -------------------------------------------------- */

static void test_each_path_backend_without_a_path_is_refused(void **state)
{
    static const enum vcon_backend_kind kinds[] = {
        VCON_BACKEND_KIND_TTY, VCON_BACKEND_KIND_FILE, VCON_BACKEND_KIND_SOCKET_SERVER,
        VCON_BACKEND_KIND_SOCKET_CLIENT};
    (void)state;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct vcon_backend_spec spec = spec_of(kinds[i], NULL);
        expect_open_refused(&spec, NULL, -EINVAL, "missing path");
    }
}

static void test_unix_socket_path_too_long_is_refused(void **state)
{
    char path[200];
    struct vcon_backend_spec spec;
    (void)state;
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER, path);
    expect_open_refused(&spec, NULL, -ENAMETOOLONG,
                        "199 bytes long; a unix socket path holds at most 107");
    spec.kind = VCON_BACKEND_KIND_SOCKET_CLIENT;
    expect_open_refused(&spec, NULL, -ENAMETOOLONG, "unix socket path holds at most 107");
}

static void test_client_without_a_server_is_refused(void **state)
{
    struct fixture *f = *state;
    char path[128], msg[192];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT,
                                            fixture_path(f, "nobody", path, sizeof path));
    expect_open_refused(&spec, NULL, -ECONNREFUSED, "no server at");
    snprintf(msg, sizeof msg, "no server at '%s'", path);
    expect_open_refused(&spec, NULL, -ECONNREFUSED, msg);
}

static void test_client_allowed_to_wait_opens_without_a_server(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT,
                                            fixture_path(f, "later", path, sizeof path));
    struct vcon_backend_options options = {.client_wait = true};
    struct vcon_backend *b = open_ok(&spec, &options);
    struct vcon_backend_info info;

    vcon_backend_get_info(b, &info);
    assert_false(info.connected);
    assert_true(info.retry_wanted);
    /* The device starts "host open": the first report corrects that. */
    assert_int_equal(vcon_backend_poll(b), VCON_BACKEND_EV_DISCONNECTED);
    assert_int_equal(vcon_backend_poll(b), 0);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_CLOSED);
    vcon_backend_close(b);
}

static void test_tty_on_a_regular_file_is_refused_as_not_a_terminal(void **state)
{
    struct fixture *f = *state;
    char path[128], msg[192];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TTY,
                                            fixture_path(f, "plain", path, sizeof path));
    write_text_file(path, "x");
    snprintf(msg, sizeof msg, "'%s' is not a terminal", path);
    expect_open_refused(&spec, NULL, -ENOTTY, msg);
}

static void test_tty_that_does_not_exist_is_refused(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TTY,
                                            fixture_path(f, "ttyNONE", path, sizeof path));
    char msg[192];
    snprintf(msg, sizeof msg, "tty backend: cannot open '%s': no such file or directory", path);
    expect_open_refused(&spec, NULL, -ENOENT, msg);
}

/* Root passes every permission check, so the attempts run in a child that
 * has dropped to nobody (or, for a non-root run, in a folder with mode 0). */
static void test_permission_denied_is_reported(void **state)
{
    struct fixture *f = *state;
    char file_path[128], sock_path[128];
    int status;
    pid_t pid;

    fixture_path(f, "denied.log", file_path, sizeof file_path);
    fixture_path(f, "denied.sock", sock_path, sizeof sock_path);
    if (geteuid() != 0)
        assert_int_equal(chmod(f->dir, 0), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_backend_spec spec;
        struct vcon_backend *b;
        char err[ERR_LEN];
        int rc, bad = 0;

        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        spec = spec_of(VCON_BACKEND_KIND_FILE, file_path);
        rc = vcon_backend_open(&spec, NULL, &b, err, sizeof err);
        if (rc != -EACCES || strstr(err, "permission denied") == NULL) {
            fprintf(stderr, "file: %d %s\n", rc, err);
            bad |= 1;
        }
        spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER, sock_path);
        rc = vcon_backend_open(&spec, NULL, &b, err, sizeof err);
        if (rc != -EACCES || strstr(err, "permission denied") == NULL) {
            fprintf(stderr, "socket: %d %s\n", rc, err);
            bad |= 2;
        }
        _exit(bad);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (geteuid() != 0)
        assert_int_equal(chmod(f->dir, 0700), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_unix_server_refuses_a_path_a_live_server_holds(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, "live.sock", path, sizeof path));
    int other = unix_listen(path);
    int probe;

    expect_open_refused(&spec, NULL, -EADDRINUSE, "address in use");
    /* The live server's socket is still there and still answers. */
    probe = unix_connect(path);
    assert_true(probe >= 0);
    close(probe);
    close(other);
}

static void test_unix_server_never_removes_a_file_that_is_not_a_socket(void **state)
{
    struct fixture *f = *state;
    char path[128], text[32];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, "precious", path, sizeof path));
    write_text_file(path, "keep me");
    expect_open_refused(&spec, NULL, -EEXIST, "exists and is not a socket; not removing it");
    read_text_file(path, text, sizeof text);
    assert_string_equal(text, "keep me");
}

static void test_tcp_bad_address_is_refused(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TCP, NULL);
    (void)state;
    strcpy(spec.address, "300.1.2.3");
    expect_open_refused(&spec, NULL, -EINVAL, "bad address '300.1.2.3'");
    strcpy(spec.address, "localhost");
    expect_open_refused(&spec, NULL, -EINVAL, "bad address");
}

static void test_tcp_port_in_use_is_refused(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TCP, NULL);
    int other = socket(AF_INET, SOCK_STREAM, 0);
    (void)state;

    assert_true(other >= 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(other, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(other, 1), 0);
    assert_int_equal(getsockname(other, (struct sockaddr *)&sin, &len), 0);
    spec.tcp_port = ntohs(sin.sin_port);
    strcpy(spec.address, "127.0.0.1");
    expect_open_refused(&spec, NULL, -EADDRINUSE, "address in use");
    close(other);
}

static void test_bad_arguments_are_refused(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_PTY, NULL);
    struct vcon_backend_options options = {.buffer_size = VCON_BACKEND_MAX_BUFFER + 1u};
    struct vcon_backend *b;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(vcon_backend_open(NULL, NULL, &b, err, sizeof err), -EINVAL);
    assert_null(b);
    assert_int_equal(vcon_backend_open(&spec, NULL, NULL, err, sizeof err), -EINVAL);
    expect_open_refused(&spec, &options, -EINVAL, "buffer size above 64 MiB");
    spec.kind = (enum vcon_backend_kind)99;
    expect_open_refused(&spec, NULL, -EINVAL, "unknown backend kind");
    /* A NULL backend answers like a port without one. */
    assert_int_equal(vcon_backend_read(NULL, err, 1), VCON_BACKEND_CLOSED);
    assert_int_equal(vcon_backend_write(NULL, err, 1), VCON_BACKEND_CLOSED);
    vcon_backend_close(NULL);
}

static void test_poll_fds_says_when_the_array_is_too_small(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, "s", path, sizeof path));
    struct vcon_backend *b = open_ok(&spec, NULL);
    struct pollfd p[VCON_BACKEND_MAX_FDS];
    int peer = unix_connect(path);

    assert_int_equal(vcon_backend_poll_fds(b, p, 0), -ENOSPC);
    assert_int_equal(vcon_backend_poll_fds(b, p, 1), 1); /* the listener alone */
    assert_int_equal(p[0].events, POLLIN);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_poll_fds(b, p, 1), -ENOSPC); /* listener + peer */
    assert_int_equal(vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS), 2);
    close(peer);
    vcon_backend_close(b);
}

/* Every descriptor a backend hands to the event loop is non-blocking and
 * close-on-exec (stdio's 0 and 1 stay inheritable: they are the process's). */
static void ignore_notice(void *ctx, const char *message)
{
    (void)ctx;
    (void)message;
}

static void assert_fds_nonblocking_cloexec(const struct vcon_backend *b, int expected)
{
    struct pollfd p[VCON_BACKEND_MAX_FDS];
    int n = vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS);
    assert_int_equal(n, expected);
    for (int i = 0; i < n; i++) {
        assert_true(fcntl(p[i].fd, F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(p[i].fd, F_GETFD) & FD_CLOEXEC);
    }
}

static void test_backend_descriptors_are_nonblocking_and_close_on_exec(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, "flags.sock", path, sizeof path));
    struct vcon_backend *server = open_ok(&spec, NULL), *b;
    int peer;

    peer = unix_connect(path);
    assert_true(peer >= 0);
    assert_true(pump_until(server, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_fds_nonblocking_cloexec(server, 2); /* listener and the accepted client */
    close(peer);

    spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT, path);
    b = open_ok(&spec, NULL);
    assert_fds_nonblocking_cloexec(b, 1);
    vcon_backend_close(b);
    vcon_backend_close(server);

    spec = spec_of(VCON_BACKEND_KIND_TCP, NULL);
    b = open_ok(&spec, NULL);
    assert_fds_nonblocking_cloexec(b, 1);
    vcon_backend_close(b);

    {
        /* The pty's master (the slave it keeps is never polled). */
        struct vcon_backend_options quiet = {.notice = ignore_notice};
        spec = spec_of(VCON_BACKEND_KIND_PTY, NULL);
        b = open_ok(&spec, &quiet);
        assert_fds_nonblocking_cloexec(b, 1);
    }
    vcon_backend_close(b);
}

/* ---- the host adapter ---------------------------------------------------- */

struct base_calls {
    int mem_reads, irq_sets, logs, backend_calls;
    void *ctx_seen;
    int last_level;
};

static int base_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct base_calls *c = ctx;
    (void)gpa;
    c->mem_reads++;
    c->ctx_seen = ctx;
    memset(buf, 0xab, len);
    return 0;
}

static void base_irq(void *ctx, unsigned line, int level)
{
    struct base_calls *c = ctx;
    (void)line;
    c->irq_sets++;
    c->last_level = level;
}

static void base_log(void *ctx, enum vcon_log_level level, const char *message)
{
    (void)level;
    (void)message;
    ((struct base_calls *)ctx)->logs++;
}

static int base_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    (void)port;
    (void)buf;
    (void)len;
    ((struct base_calls *)ctx)->backend_calls++;
    return 1;
}

static int base_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    (void)port;
    (void)buf;
    (void)len;
    ((struct base_calls *)ctx)->backend_calls++;
    return 1;
}

static void test_backend_host_routes_ports_and_forwards_the_rest(void **state)
{
    struct fixture *f = *state;
    char path[128], text[32];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_FILE,
                                            fixture_path(f, "port0.log", path, sizeof path));
    struct base_calls calls = {0};
    struct vcon_host base = {.ctx = &calls,
                             .mem_read = base_mem_read,
                             .irq_set_level = base_irq,
                             .log = base_log,
                             .backend_read = base_backend_read,
                             .backend_write = base_backend_write};
    struct vcon_backend *ports[2];
    struct vcon_backend_host bh;
    unsigned char byte = 0;
    char buf[4];

    ports[0] = open_ok(&spec, NULL);
    ports[1] = NULL;
    assert_int_equal(vcon_backend_host_init(&bh, &base, ports, 2), 0);
    assert_ptr_equal(bh.host.ctx, &bh);

    assert_int_equal(bh.host.backend_write(bh.host.ctx, 0, "p0", 2), 2);
    assert_int_equal(bh.host.backend_read(bh.host.ctx, 0, buf, sizeof buf),
                     VCON_BACKEND_NO_DATA);
    assert_int_equal(bh.host.backend_write(bh.host.ctx, 1, "x", 1), VCON_BACKEND_CLOSED);
    assert_int_equal(bh.host.backend_read(bh.host.ctx, 1, buf, 1), VCON_BACKEND_CLOSED);
    assert_int_equal(bh.host.backend_write(bh.host.ctx, 7, "x", 1), VCON_BACKEND_CLOSED);
    assert_int_equal(calls.backend_calls, 0);

    assert_int_equal(bh.host.mem_read(bh.host.ctx, 0x1000, &byte, 1), 0);
    assert_int_equal(byte, 0xab);
    assert_ptr_equal(calls.ctx_seen, &calls);
    bh.host.irq_set_level(bh.host.ctx, 4, 1);
    assert_int_equal(calls.last_level, 1);
    bh.host.log(bh.host.ctx, VCON_LOG_INFO, "hello");
    assert_int_equal(calls.logs, 1);
    /* What the base lacks stays missing. */
    assert_null(bh.host.mem_write);
    assert_null(bh.host.msi_send);
    assert_null(bh.host.timer_create);
    assert_null(bh.host.now_ns);

    /* The embedder may swap a port's backend. */
    ports[1] = ports[0];
    assert_int_equal(bh.host.backend_write(bh.host.ctx, 1, "p1", 2), 2);
    vcon_backend_close(ports[0]);
    read_text_file(path, text, sizeof text);
    assert_string_equal(text, "p0p1");

    assert_int_equal(vcon_backend_host_init(NULL, &base, ports, 1), -EINVAL);
    assert_int_equal(vcon_backend_host_init(&bh, NULL, ports, 1), -EINVAL);
    assert_int_equal(vcon_backend_host_init(&bh, &base, NULL, 1), -EINVAL);
    assert_int_equal(vcon_backend_host_init(&bh, &base, NULL, 0), 0);
}

/* The whole path: a 16550's THR and RBR, through the adapter, to a peer on
 * a real unix socket and back, driven by the event contract. */
static void test_uart_talks_to_a_socket_peer_through_the_adapter(void **state)
{
    struct fixture *f = *state;
    char path[128], got[8];
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, "com1", path, sizeof path));
    struct base_calls calls = {0};
    struct vcon_host base = {.ctx = &calls, .irq_set_level = base_irq};
    struct vcon_uart_config config = {0};
    struct vcon_backend *ports[1];
    struct vcon_backend_host bh;
    struct vcon_uart *uart;
    uint32_t value;
    unsigned ev;
    int peer;

    ports[0] = open_ok(&spec, NULL);
    assert_int_equal(vcon_backend_host_init(&bh, &base, ports, 1), 0);
    assert_int_equal(vcon_uart_create(&config, &bh.host, &uart), 0);
    peer = unix_connect(path);
    assert_true(peer >= 0);
    ev = pump_until(ports[0], VCON_BACKEND_EV_CONNECTED);
    assert_true(ev & VCON_BACKEND_EV_CONNECTED);
    vcon_uart_backend_ready(uart);

    /* Guest -> peer. */
    for (const char *s = "hi!"; *s; s++)
        assert_int_equal(vcon_uart_write(uart, VCON_UART_RBR_THR, 1, (uint8_t)*s), 0);
    fd_read_exact(peer, ports[0], got, 3);
    assert_memory_equal(got, "hi!", 3);

    /* Peer -> guest: the backend says READABLE, the UART pulls. */
    fd_write_all(peer, "ok", 2);
    ev = pump_until(ports[0], VCON_BACKEND_EV_READABLE);
    assert_true(ev & VCON_BACKEND_EV_READABLE);
    vcon_uart_backend_ready(uart);
    assert_int_equal(vcon_uart_read(uart, VCON_UART_RBR_THR, 1, &value), 0);
    assert_int_equal(value, 'o');
    assert_int_equal(vcon_uart_read(uart, VCON_UART_RBR_THR, 1, &value), 0);
    assert_int_equal(value, 'k');

    vcon_uart_destroy(uart);
    close(peer);
    vcon_backend_close(ports[0]);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_file_backend_appends_and_keeps_existing_content),
        T(test_file_backend_creates_the_file_owner_only),
        T(test_file_backend_reads_no_data_forever_and_polls_nothing),
        T(test_each_path_backend_without_a_path_is_refused),
        T(test_unix_socket_path_too_long_is_refused),
        T(test_client_without_a_server_is_refused),
        T(test_client_allowed_to_wait_opens_without_a_server),
        T(test_tty_on_a_regular_file_is_refused_as_not_a_terminal),
        T(test_tty_that_does_not_exist_is_refused),
        T(test_permission_denied_is_reported),
        T(test_unix_server_refuses_a_path_a_live_server_holds),
        T(test_unix_server_never_removes_a_file_that_is_not_a_socket),
        T(test_tcp_bad_address_is_refused),
        T(test_tcp_port_in_use_is_refused),
        T(test_bad_arguments_are_refused),
        T(test_poll_fds_says_when_the_array_is_too_small),
        T(test_backend_descriptors_are_nonblocking_and_close_on_exec),
        T(test_backend_host_routes_ports_and_forwards_the_rest),
        T(test_uart_talks_to_a_socket_peer_through_the_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
