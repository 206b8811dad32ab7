/* Real backends on sockets: unix server and client, tcp on loopback, the
 * one-client policy, flow control against a peer that does not read, and
 * disconnects in the middle of a transfer that lose no accepted byte
 * (emu/include/vcon/backend.h, docs/backends.md). */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "backend_fixture.h"

/* A transfer loop gives up after this many rounds without a new byte. */
#define STALL_ROUNDS 50

static struct vcon_backend *open_server(const struct fixture *f, const char *name, char *path,
                                        size_t path_len, size_t buffer_size)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER,
                                            fixture_path(f, name, path, path_len));
    struct vcon_backend_options options = {.buffer_size = buffer_size};
    return open_ok(&spec, &options);
}

static void set_nonblocking(int fd)
{
    assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* Everything `fd` has now, without waiting; appended at buf + *got. */
static void drain_now(int fd, unsigned char *buf, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = recv(fd, buf + *got, cap - *got, MSG_DONTWAIT);
        if (n <= 0)
            return;
        *got += (size_t)n;
    }
}

static void assert_pattern(const unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != pattern_byte(i)) {
            print_error("byte %zu is 0x%02x, expected 0x%02x\n", i, buf[i], pattern_byte(i));
            fail();
        }
    }
}

/* Offers the pattern from *sent on until the backend refuses (or `limit`);
 * returns how many bytes went in, and whether a write was partial. */
static size_t write_until_refused(struct vcon_backend *b, size_t *sent, size_t limit,
                                  bool *partial)
{
    unsigned char chunk[1000];
    size_t start = *sent;

    while (*sent < limit) {
        size_t want = limit - *sent < sizeof chunk ? limit - *sent : sizeof chunk;
        int n;
        for (size_t i = 0; i < want; i++)
            chunk[i] = pattern_byte(*sent + i);
        n = vcon_backend_write(b, chunk, want);
        if (n == VCON_BACKEND_WOULD_BLOCK)
            break;
        assert_true(n > 0 && (size_t)n <= want);
        if ((size_t)n < want && partial != NULL)
            *partial = true;
        *sent += (size_t)n;
        if ((size_t)n < want)
            break;
    }
    return *sent - start;
}

/* ---- unix server and client ---------------------------------------------- */

static void test_unix_server_and_client_backends_talk_to_each_other(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend *server = open_server(f, "pair.sock", path, sizeof path, 0);
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT, path);
    struct vcon_backend *client = open_ok(&spec, NULL);
    struct vcon_backend_info info;
    struct stat st;

    /* The socket file is the owner's only. */
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_true(pump_until(server, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_poll(client), 0); /* connected from the start */
    assert_int_equal(vcon_backend_write(client, "abc", 3), 3);
    backend_read_exact(server, buf, 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(vcon_backend_write(server, "xyz", 3), 3);
    backend_read_exact(client, buf, 3);
    assert_memory_equal(buf, "xyz", 3);

    /* The server goes: the client sees it leave. */
    vcon_backend_close(server);
    assert_true(pump_until(client, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    assert_int_equal(vcon_backend_read(client, buf, 1), VCON_BACKEND_CLOSED);
    vcon_backend_get_info(client, &info);
    assert_false(info.connected);
    assert_true(info.retry_wanted);
    /* The server removed its socket file. */
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    vcon_backend_close(client);
}

static void test_unix_server_serves_a_plain_socket_peer_and_the_next_one(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend *b = open_server(f, "s.sock", path, sizeof path, 0);
    struct vcon_backend_info info;
    int peer;

    /* No client yet: the first report corrects the device's "open" start. */
    assert_int_equal(vcon_backend_poll(b), VCON_BACKEND_EV_DISCONNECTED);
    assert_int_equal(vcon_backend_read(b, buf, 1), VCON_BACKEND_CLOSED);

    peer = unix_connect(path);
    assert_true(peer >= 0);
    assert_int_equal(pump_until(b, VCON_BACKEND_EV_CONNECTED), VCON_BACKEND_EV_CONNECTED);
    fd_write_all(peer, "hi", 2);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    backend_read_exact(b, buf, 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(vcon_backend_write(b, "yo", 2), 2);
    fd_read_exact(peer, b, buf, 2);
    assert_memory_equal(buf, "yo", 2);

    /* The peer leaves: seen at once, without a transfer. */
    close(peer);
    assert_int_equal(pump_until(b, VCON_BACKEND_EV_DISCONNECTED), VCON_BACKEND_EV_DISCONNECTED);
    assert_int_equal(vcon_backend_read(b, buf, 1), VCON_BACKEND_CLOSED);

    peer = unix_connect(path);
    assert_true(peer >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_write(b, "again", 5), 5);
    fd_read_exact(peer, b, buf, 5);
    assert_memory_equal(buf, "again", 5);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.connects, 2);
    assert_int_equal(info.disconnects, 1);
    close(peer);
    vcon_backend_close(b);
}

static void test_unix_client_talks_to_a_plain_socket_server(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    int listener = unix_listen(fixture_path(f, "plain.sock", path, sizeof path));
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT, path);
    struct vcon_backend *b = open_ok(&spec, NULL);
    int peer = accept(listener, NULL, NULL);

    assert_true(peer >= 0);
    assert_int_equal(vcon_backend_write(b, "to", 2), 2);
    fd_read_exact(peer, b, buf, 2);
    assert_memory_equal(buf, "to", 2);
    fd_write_all(peer, "fro", 3);
    backend_read_exact(b, buf, 3);
    assert_memory_equal(buf, "fro", 3);
    close(peer);
    close(listener);
    vcon_backend_close(b);
}

static void test_stale_socket_file_is_replaced(void **state)
{
    struct fixture *f = *state;
    char path[128];
    int stale = unix_listen(fixture_path(f, "stale.sock", path, sizeof path));
    struct vcon_backend *b;
    int peer;

    close(stale); /* the socket file stays, nobody serves it */
    b = open_server(f, "stale.sock", path, sizeof path, 0);
    peer = unix_connect(path);
    assert_true(peer >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    close(peer);
    vcon_backend_close(b);
}

/* ---- one client at a time ------------------------------------------------ */

static void test_second_client_is_closed_while_one_is_connected(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend *b = open_server(f, "one.sock", path, sizeof path, 0);
    struct vcon_backend_info info;
    int first, second, third;
    unsigned ev = 0;

    first = unix_connect(path);
    assert_true(first >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    second = unix_connect(path);
    assert_true(second >= 0);
    /* The second is accepted and closed at once: it reads EOF. */
    for (int i = 0; i < PUMP_TRIES; i++) {
        struct pollfd p = {second, POLLIN, 0};
        ev |= pump(b, 10);
        if (poll(&p, 1, 0) == 1)
            break;
    }
    assert_int_equal(ev & (VCON_BACKEND_EV_CONNECTED | VCON_BACKEND_EV_DISCONNECTED), 0);
    assert_int_equal(read(second, buf, 1), 0);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.refused_clients, 1);
    /* The first is untouched. */
    assert_int_equal(vcon_backend_write(b, "still", 5), 5);
    fd_read_exact(first, b, buf, 5);
    assert_memory_equal(buf, "still", 5);

    /* Once the first leaves, the next client is taken. */
    close(first);
    assert_true(pump_until(b, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    third = unix_connect(path);
    assert_true(third >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_write(b, "next", 4), 4);
    fd_read_exact(third, b, buf, 4);
    assert_memory_equal(buf, "next", 4);
    close(second);
    close(third);
    vcon_backend_close(b);
}

static void test_new_client_replaces_one_that_left_input_unread(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend *b = open_server(f, "r.sock", path, sizeof path, 0);
    int first, second;
    unsigned ev = 0;

    first = unix_connect(path);
    assert_true(first >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    /* It says something and leaves; the device has no room to read it. */
    fd_write_all(first, "bye", 3);
    close(first);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    second = unix_connect(path);
    assert_true(second >= 0);
    for (int i = 0; i < PUMP_TRIES && !(ev & VCON_BACKEND_EV_CONNECTED); i++)
        ev |= pump(b, 10);
    assert_int_equal(ev & (VCON_BACKEND_EV_DISCONNECTED | VCON_BACKEND_EV_CONNECTED),
                     VCON_BACKEND_EV_DISCONNECTED | VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_write(b, "new", 3), 3);
    fd_read_exact(second, b, buf, 3);
    assert_memory_equal(buf, "new", 3);
    close(second);
    vcon_backend_close(b);
}

static void test_departed_peer_input_is_still_read_to_its_end(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[8];
    struct vcon_backend *b = open_server(f, "d.sock", path, sizeof path, 0);
    int peer = unix_connect(path);

    assert_true(peer >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    fd_write_all(peer, "last", 4);
    close(peer);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    backend_read_exact(b, buf, 4);
    assert_memory_equal(buf, "last", 4);
    assert_int_equal(vcon_backend_read(b, buf, 1), VCON_BACKEND_CLOSED);
    assert_true(pump_until(b, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    vcon_backend_close(b);
}

/* A server out of descriptors stops polling its listener (no spinning) and
 * takes the client on the embedder's next vcon_backend_poll. Runs in a child:
 * it lowers the descriptor limit. */
static void test_server_out_of_descriptors_pauses_accepting_until_poll(void **state)
{
    struct fixture *f = *state;
    char path[128];
    int status;
    pid_t pid;

    fixture_path(f, "emfile.sock", path, sizeof path);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_SERVER, path);
        struct vcon_backend *b;
        struct vcon_backend_info info;
        struct pollfd p[VCON_BACKEND_MAX_FDS];
        struct sockaddr_un sun;
        struct rlimit old, low;
        char err[ERR_LEN];
        unsigned ev = 0;
        int c, lowest;

        if (vcon_backend_open(&spec, NULL, &b, err, sizeof err) != 0)
            _exit(2);
        (void)vcon_backend_poll(b);
        c = socket(AF_UNIX, SOCK_STREAM, 0);
        lowest = dup(0);
        close(lowest);
        if (c < 0 || lowest < 0 || getrlimit(RLIMIT_NOFILE, &old) != 0)
            _exit(3);
        low = old;
        low.rlim_cur = (rlim_t)lowest; /* no new descriptor from here on */
        if (setrlimit(RLIMIT_NOFILE, &low) != 0)
            _exit(4);
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        strcpy(sun.sun_path, path);
        if (connect(c, (struct sockaddr *)&sun, sizeof sun) != 0)
            _exit(5);
        if (vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS) != 1 ||
            poll(p, 1, 1000) != 1 || vcon_backend_handle(b, p[0].fd, (unsigned)p[0].revents) != 0)
            _exit(6);
        vcon_backend_get_info(b, &info);
        if (!info.retry_wanted || info.last_errno != EMFILE)
            _exit(7);
        if (vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS) != 0)
            _exit(8); /* the listener is not polled: nothing to spin on */
        ev = vcon_backend_poll(b); /* still out of descriptors */
        if (ev != 0 || vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS) != 0)
            _exit(9);
        if (setrlimit(RLIMIT_NOFILE, &old) != 0)
            _exit(10);
        ev = vcon_backend_poll(b);
        if (ev != VCON_BACKEND_EV_CONNECTED)
            _exit(11);
        vcon_backend_get_info(b, &info);
        if (info.retry_wanted || !info.connected)
            _exit(12);
        close(c);
        vcon_backend_close(b);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- input: only what the device asks for -------------------------------- */

static void test_reads_take_at_most_what_the_device_asks_and_do_not_spin(void **state)
{
    struct fixture *f = *state;
    char path[128], buf[128];
    struct vcon_backend *b = open_server(f, "in.sock", path, sizeof path, 0);
    int peer = unix_connect(path);

    assert_true(peer >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_NO_DATA);
    memset(buf, 'q', 100);
    fd_write_all(peer, buf, 100);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    /* A device with no room: the event is not repeated, however often the
     * loop polls, until the device reads again. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(pump(b, 0) & VCON_BACKEND_EV_READABLE, 0);
    assert_int_equal(vcon_backend_read(b, buf, 10), 10);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), 90);
    assert_int_equal(vcon_backend_read(b, buf, sizeof buf), VCON_BACKEND_NO_DATA);
    fd_write_all(peer, "z", 1);
    assert_true(pump_until(b, VCON_BACKEND_EV_READABLE) & VCON_BACKEND_EV_READABLE);
    close(peer);
    vcon_backend_close(b);
}

/* ---- tcp ----------------------------------------------------------------- */

static int tcp_connect(uint16_t port)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

static void test_tcp_serves_one_loopback_client_at_a_time(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TCP, NULL);
    struct vcon_backend *b;
    struct vcon_backend_info info;
    char buf[8], where[32];
    int peer, second;
    (void)state;

    /* Port 0: the system picks one. No address: 127.0.0.1. */
    b = open_ok(&spec, NULL);
    vcon_backend_get_info(b, &info);
    assert_true(info.tcp_port != 0);
    snprintf(where, sizeof where, "127.0.0.1:%u", (unsigned)info.tcp_port);
    assert_string_equal(info.path, where);
    assert_int_equal(vcon_backend_poll(b), VCON_BACKEND_EV_DISCONNECTED);

    peer = tcp_connect(info.tcp_port);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    fd_write_all(peer, "tcp", 3);
    backend_read_exact(b, buf, 3);
    assert_memory_equal(buf, "tcp", 3);
    assert_int_equal(vcon_backend_write(b, "back", 4), 4);
    fd_read_exact(peer, b, buf, 4);
    assert_memory_equal(buf, "back", 4);

    second = tcp_connect(info.tcp_port);
    for (int i = 0; i < PUMP_TRIES; i++) {
        struct pollfd p = {second, POLLIN, 0};
        (void)pump(b, 10);
        if (poll(&p, 1, 0) == 1)
            break;
    }
    assert_int_equal(read(second, buf, 1), 0);
    close(second);

    /* A TCP peer's FIN alone (no POLLHUP) is noticed too. */
    close(peer);
    assert_true(pump_until(b, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.refused_clients, 1);
    assert_false(info.connected);
    vcon_backend_close(b);
}

static void test_tcp_listens_on_the_given_address(void **state)
{
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_TCP, NULL);
    struct vcon_backend *b;
    struct vcon_backend_info info;
    struct sockaddr_in sin;
    int fd;
    (void)state;

    strcpy(spec.address, "127.0.0.2");
    b = open_ok(&spec, NULL);
    vcon_backend_get_info(b, &info);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(info.tcp_port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    close(fd);
    vcon_backend_close(b);
}

/* ---- flow control -------------------------------------------------------- */

static void test_output_without_a_peer_is_held_up_to_the_bound_for_the_next_one(void **state)
{
    struct fixture *f = *state;
    char path[128];
    unsigned char got[4096];
    struct vcon_backend *b = open_server(f, "held.sock", path, sizeof path, 4096);
    struct vcon_backend_info info;
    size_t sent = 0, have = 0;
    bool partial = false;
    int peer;

    assert_int_equal(vcon_backend_poll(b), VCON_BACKEND_EV_DISCONNECTED);
    /* 1000-byte writes into a 4096-byte bound: 4 whole, 1 partial, then
     * "would block". */
    assert_int_equal(write_until_refused(b, &sent, 100000, &partial), 4096);
    assert_true(partial);
    assert_int_equal(vcon_backend_write(b, "x", 1), VCON_BACKEND_WOULD_BLOCK);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.buffered, 4096);

    peer = unix_connect(path);
    assert_true(peer >= 0);
    /* Connecting writes the held bytes at once: room again, so WRITABLE. */
    assert_int_equal(pump_until(b, VCON_BACKEND_EV_CONNECTED),
                     VCON_BACKEND_EV_CONNECTED | VCON_BACKEND_EV_WRITABLE);
    fd_read_exact(peer, b, got, sizeof got);
    assert_pattern(got, sizeof got);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.buffered, 0);
    drain_now(peer, got, sizeof got, &have);
    assert_int_equal(have, 0); /* nothing more, nothing twice */
    close(peer);
    vcon_backend_close(b);
}

static void test_peer_that_does_not_read_pushes_back_and_loses_nothing(void **state)
{
    struct fixture *f = *state;
    char path[128];
    const size_t total = 1u << 20;
    struct vcon_backend *b = open_server(f, "slow.sock", path, sizeof path, 8192);
    unsigned char *got = malloc(total);
    struct vcon_backend_info info;
    size_t sent = 0, have = 0;
    int peer = unix_connect(path), idle = 0, writable = 0;

    assert_non_null(got);
    assert_true(peer >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    /* The peer reads nothing: the socket fills, then the bound, then
     * "would block". */
    write_until_refused(b, &sent, total, NULL);
    assert_true(sent < total);
    assert_int_equal(vcon_backend_write(b, "x", 1), VCON_BACKEND_WOULD_BLOCK);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.buffered, 8192);
    /* The backend asks to be told when the socket drains. */
    {
        struct pollfd p[VCON_BACKEND_MAX_FDS];
        int n = vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS);
        bool wants_out = false;
        for (int i = 0; i < n; i++)
            wants_out |= (p[i].events & POLLOUT) != 0;
        assert_true(wants_out);
    }
    /* Now the peer reads, and the device writes whenever told WRITABLE. */
    while (have < total && idle < STALL_ROUNDS) {
        size_t before = have;
        unsigned ev;
        drain_now(peer, got, total, &have);
        idle = have == before ? idle + 1 : 0;
        ev = pump(b, have < sent ? 0 : 10);
        if (ev & VCON_BACKEND_EV_WRITABLE) {
            writable++;
            write_until_refused(b, &sent, total, NULL);
        }
    }
    assert_int_equal(sent, total);
    assert_int_equal(have, total);
    assert_true(writable > 0);
    assert_pattern(got, total);
    free(got);
    close(peer);
    vcon_backend_close(b);
}

/* ---- disconnects in the middle of a transfer ----------------------------- */

static void test_server_loses_no_accepted_byte_across_two_clients(void **state)
{
    struct fixture *f = *state;
    char path[128];
    const size_t total = 512u * 1024u;
    struct vcon_backend *b = open_server(f, "x.sock", path, sizeof path, 16384);
    unsigned char *got = malloc(total);
    size_t sent = 0, have = 0;
    int first, second, idle = 0;

    assert_non_null(got);
    first = unix_connect(path);
    assert_true(first >= 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    write_until_refused(b, &sent, total, NULL);
    /* The first client takes what reached it, then leaves mid-transfer. */
    drain_now(first, got, total, &have);
    assert_true(have > 0 && have < sent);
    close(first);
    assert_true(pump_until(b, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    /* Nobody there: the bound still takes what it has room for. */
    write_until_refused(b, &sent, total, NULL);

    second = unix_connect(path);
    assert_true(second >= 0);
    set_nonblocking(second);
    assert_true(pump_until(b, VCON_BACKEND_EV_CONNECTED) & VCON_BACKEND_EV_CONNECTED);
    while (have < total && idle < STALL_ROUNDS) {
        size_t before = have;
        drain_now(second, got, total, &have);
        idle = have == before ? idle + 1 : 0;
        (void)pump(b, 0);
        write_until_refused(b, &sent, total, NULL);
        if (have < sent) {
            struct pollfd p = {second, POLLIN, 0};
            (void)poll(&p, 1, 10);
        }
    }
    assert_int_equal(have, total);
    assert_pattern(got, total); /* once each, in order, across both */
    free(got);
    close(second);
    vcon_backend_close(b);
}

static void test_client_reconnects_to_a_restarted_server_and_loses_nothing(void **state)
{
    struct fixture *f = *state;
    char path[128];
    const size_t total = 256u * 1024u;
    int listener = unix_listen(fixture_path(f, "restart.sock", path, sizeof path));
    struct vcon_backend_spec spec = spec_of(VCON_BACKEND_KIND_SOCKET_CLIENT, path);
    struct vcon_backend_options options = {.buffer_size = 16384};
    struct vcon_backend *b = open_ok(&spec, &options);
    unsigned char *got = malloc(total);
    struct vcon_backend_info info;
    size_t sent = 0, have = 0;
    int peer, idle = 0;

    assert_non_null(got);
    peer = accept(listener, NULL, NULL);
    assert_true(peer >= 0);
    write_until_refused(b, &sent, total, NULL);
    drain_now(peer, got, total, &have);
    assert_true(have > 0 && have < sent);
    /* The server stops: connection, listener and socket file gone. */
    close(peer);
    close(listener);
    assert_int_equal(unlink(path), 0);
    assert_true(pump_until(b, VCON_BACKEND_EV_DISCONNECTED) & VCON_BACKEND_EV_DISCONNECTED);
    /* The embedder's timer: retries while no server is there change nothing. */
    assert_int_equal(vcon_backend_poll(b), 0);
    vcon_backend_get_info(b, &info);
    assert_true(info.retry_wanted);
    write_until_refused(b, &sent, total, NULL);

    /* The server is back; the next retry connects. */
    listener = unix_listen(path);
    assert_int_equal(vcon_backend_poll(b), VCON_BACKEND_EV_CONNECTED | VCON_BACKEND_EV_WRITABLE);
    peer = accept(listener, NULL, NULL);
    assert_true(peer >= 0);
    set_nonblocking(peer);
    while (have < total && idle < STALL_ROUNDS) {
        size_t before = have;
        drain_now(peer, got, total, &have);
        idle = have == before ? idle + 1 : 0;
        (void)pump(b, 0);
        write_until_refused(b, &sent, total, NULL);
        if (have < sent) {
            struct pollfd p = {peer, POLLIN, 0};
            (void)poll(&p, 1, 10);
        }
    }
    assert_int_equal(have, total);
    assert_pattern(got, total);
    vcon_backend_get_info(b, &info);
    assert_int_equal(info.connects, 2);
    free(got);
    close(peer);
    close(listener);
    vcon_backend_close(b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unix_server_and_client_backends_talk_to_each_other),
        T(test_unix_server_serves_a_plain_socket_peer_and_the_next_one),
        T(test_unix_client_talks_to_a_plain_socket_server),
        T(test_stale_socket_file_is_replaced),
        T(test_second_client_is_closed_while_one_is_connected),
        T(test_new_client_replaces_one_that_left_input_unread),
        T(test_departed_peer_input_is_still_read_to_its_end),
        T(test_server_out_of_descriptors_pauses_accepting_until_poll),
        T(test_reads_take_at_most_what_the_device_asks_and_do_not_spin),
        T(test_tcp_serves_one_loopback_client_at_a_time),
        T(test_tcp_listens_on_the_given_address),
        T(test_output_without_a_peer_is_held_up_to_the_bound_for_the_next_one),
        T(test_peer_that_does_not_read_pushes_back_and_loses_nothing),
        T(test_server_loses_no_accepted_byte_across_two_clients),
        T(test_client_reconnects_to_a_restarted_server_and_loses_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
