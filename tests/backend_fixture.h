/* Shared by the real-backend tests (test_backends.c, test_backend_*.c): a
 * temporary folder per test, a descriptor count checked at teardown, and a
 * tiny event loop over one backend. Include after the POSIX feature macro
 * and cmocka.h. */
#ifndef VCON_TESTS_BACKEND_FIXTURE_H
#define VCON_TESTS_BACKEND_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vcon/backend.h"

#define ERR_LEN 256
/* poll() rounds: at 10 ms each, a bit more than 2 s before giving up. */
#define PUMP_TRIES 200

#define assert_message_contains(haystack, needle)                                           \
    do {                                                                                    \
        if (strstr((haystack), (needle)) == NULL) {                                         \
            print_error("message \"%s\"\n does not contain \"%s\"\n", (haystack), (needle)); \
            fail();                                                                         \
        }                                                                                   \
    } while (0)

struct fixture {
    int fds_before;
    char dir[64];
};

static inline int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static inline int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/vcon-backend-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    f->fds_before = count_open_fds();
    *state = f;
    return 0;
}

static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            (void)unlink(path);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

/* Every test leaves the descriptor count as it found it. */
static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    int now = count_open_fds();
    int before = f->fds_before;

    remove_tree(f->dir);
    free(f);
    if (now != before) {
        print_error("descriptor leak: %d open before the test, %d after\n", before, now);
        return -1;
    }
    return 0;
}

static inline const char *fixture_path(const struct fixture *f, const char *name, char *buf,
                                       size_t len)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
    return buf;
}

/* One round of an event loop over `b`: poll its descriptors for up to
 * timeout_ms and hand every result to the backend. Returns the events. */
static inline unsigned pump(struct vcon_backend *b, int timeout_ms)
{
    struct pollfd p[VCON_BACKEND_MAX_FDS];
    unsigned ev = vcon_backend_handle(b, -1, 0);
    int n = vcon_backend_poll_fds(b, p, VCON_BACKEND_MAX_FDS);

    assert_true(n >= 0);
    if (ev != 0)
        timeout_ms = 0;
    if (poll(p, (nfds_t)n, n > 0 ? timeout_ms : 0) > 0)
        for (int i = 0; i < n; i++)
            if (p[i].revents)
                ev |= vcon_backend_handle(b, p[i].fd, (unsigned)p[i].revents);
    return ev;
}

/* Pump until one of `mask` is reported; returns all events seen. */
static inline unsigned pump_until(struct vcon_backend *b, unsigned mask)
{
    unsigned seen = 0;
    for (int i = 0; i < PUMP_TRIES && !(seen & mask); i++)
        seen |= pump(b, 10);
    if (!(seen & mask))
        print_error("events 0x%x never came (saw 0x%x)\n", mask, seen);
    return seen;
}

/* Read exactly `len` bytes through the backend, pumping while it has none. */
static inline void backend_read_exact(struct vcon_backend *b, void *buf, size_t len)
{
    size_t got = 0;
    for (int i = 0; i < PUMP_TRIES && got < len; i++) {
        int n = vcon_backend_read(b, (char *)buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        assert_int_equal(n, VCON_BACKEND_NO_DATA);
        (void)pump(b, 10);
    }
    assert_int_equal(got, len);
}

/* Write all of `len` bytes through the backend, pumping while it is full. */
static inline void backend_write_all(struct vcon_backend *b, const void *buf, size_t len)
{
    size_t put = 0;
    for (int i = 0; i < PUMP_TRIES && put < len; i++) {
        int n = vcon_backend_write(b, (const char *)buf + put, len - put);
        if (n > 0) {
            put += (size_t)n;
            continue;
        }
        assert_int_equal(n, VCON_BACKEND_WOULD_BLOCK);
        (void)pump(b, 10);
    }
    assert_int_equal(put, len);
}

/* Read exactly `len` bytes from a plain descriptor; meanwhile keep `b`
 * (may be NULL) writing its held output. */
static inline void fd_read_exact(int fd, struct vcon_backend *b, void *buf, size_t len)
{
    size_t got = 0;
    for (int i = 0; i < PUMP_TRIES && got < len; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (b != NULL)
            (void)pump(b, 0);
        if (poll(&p, 1, 10) <= 0)
            continue;
        n = read(fd, (char *)buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
    }
    assert_int_equal(got, len);
}

static inline void fd_write_all(int fd, const void *buf, size_t len)
{
    size_t put = 0;
    for (int i = 0; i < PUMP_TRIES && put < len; i++) {
        struct pollfd p = {fd, POLLOUT, 0};
        ssize_t n;
        if (poll(&p, 1, 10) <= 0)
            continue;
        n = write(fd, (const char *)buf + put, len - put);
        if (n > 0)
            put += (size_t)n;
    }
    assert_int_equal(put, len);
}

/* A plain unix socket connected to `path` (blocking, for the test's side). */
static inline int unix_connect(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static inline int unix_listen(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static inline struct vcon_backend *open_ok(const struct vcon_backend_spec *spec,
                                           const struct vcon_backend_options *options)
{
    char err[ERR_LEN] = "";
    struct vcon_backend *b = NULL;
    int rc = vcon_backend_open(spec, options, &b, err, sizeof err);
    if (rc != 0)
        print_error("open failed (%d): %s\n", rc, err);
    assert_int_equal(rc, 0);
    assert_non_null(b);
    assert_string_equal(err, "");
    return b;
}

static inline struct vcon_backend_spec spec_of(enum vcon_backend_kind kind, const char *path)
{
    struct vcon_backend_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.kind = kind;
    if (path != NULL)
        snprintf(spec.path, sizeof spec.path, "%s", path);
    return spec;
}

/* A byte pattern whose every offset is distinguishable for long runs. */
static inline unsigned char pattern_byte(size_t i)
{
    return (unsigned char)((i * 7u + i / 251u) & 0xffu);
}

#endif
