/* A recorder that dies leaves a readable trace: a child process writes a
 * long trace and is killed or crashes; the parent reads what it left and
 * checks every delivered event against the pattern the child wrote. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vcon/trace.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define HAVE_ASAN 0
#endif

#define LONG_TRACE_EVENTS 200000u
#define KILL_AFTER_BYTES (256u * 1024u)
#define CRASH_EVENTS 1000u /* not a multiple of the flush budget */
#define WAIT_SECONDS 60

/* What the child tells the parent through shared memory. */
struct progress {
    volatile uint64_t attempted; /* events appended or being appended */
    volatile uint64_t appended;  /* events appended, META included */
    volatile uint64_t flushed;  /* of which in the file */
    volatile int finished;      /* all appended; waiting to be killed */
};

static char tmpdir[64];
static struct progress *shared;
static int shared_fd = -1;

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vcon-trace-crash-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    /* Shared with the children through a file: MAP_ANONYMOUS is not in
     * POSIX.1-2008. The file also backs the page the fault test touches. */
    char path[256];
    snprintf(path, sizeof(path), "%s/shared", tmpdir);
    shared_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (shared_fd < 0 || ftruncate(shared_fd, 4096) < 0)
        return -1;
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED, shared_fd, 0);
    return shared == MAP_FAILED ? -1 : 0;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int teardown(void **state)
{
    (void)state;
    char path[256];
    static const char *names[] = {"killed.pcap.zst", "segv.pcap.zst",  "fault.pcap.zst",
                                  "abort.pcap.zst",  "noflush.pcap.zst", "asan.pcap.zst"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    munmap(shared, sizeof(*shared));
    close(shared_fd);
    snprintf(path, sizeof(path), "%s/shared", tmpdir);
    unlink(path);
    return rmdir(tmpdir);
}

/* ---- the pattern ------------------------------------------------------ */

static uint8_t payload_byte(uint64_t seq, uint32_t i)
{
    return (uint8_t)(seq * 7u + i * 13u + (seq >> 8));
}

/* Event number seq (>= 1) of the child's trace; buf holds its payload. */
static struct vcon_trace_event pattern_event(uint64_t seq, uint8_t *buf)
{
    struct vcon_trace_event ev = {.device = (uint8_t)(seq % 3)};
    uint32_t len = 0;
    switch (seq % 3) {
    case 0:
        ev.kind = VCON_TRACE_MARK;
        len = (uint32_t)(seq % 97);
        break;
    case 1:
        ev.kind = VCON_TRACE_BACKEND_WRITE;
        ev.backend.port = (uint16_t)(seq % 5);
        len = (uint32_t)(seq % 41);
        ev.backend.result = (int32_t)len;
        break;
    default:
        ev.kind = VCON_TRACE_REG_WRITE;
        ev.reg.space = VCON_TRACE_SPACE_MMIO;
        ev.reg.size = 4;
        ev.reg.address = seq;
        ev.reg.value = (uint32_t)(seq * 2654435761u);
        break;
    }
    for (uint32_t i = 0; i < len; i++)
        buf[i] = payload_byte(seq, i);
    ev.payload = len ? buf : NULL;
    ev.payload_len = len;
    return ev;
}

static uint64_t pattern_time(uint64_t seq)
{
    return seq * 1000u + 17u;
}

/* ---- the child -------------------------------------------------------- */

static void child_fail(const char *what, int rc)
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "child: %s failed: %d\n", what, rc);
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(101);
    _exit(100);
}

static struct vcon_trace_writer *child_open(const char *path)
{
    static const char build_id[] = "crash-test";
    struct vcon_trace_meta meta = {.seed = 1, .ram_size = 1u << 20, .build_id = build_id,
                                   .build_id_len = sizeof(build_id) - 1};
    struct vcon_trace_writer *w = NULL;
    int rc = vcon_trace_writer_open(path, &meta, NULL, &w);
    if (rc < 0)
        child_fail("open", rc);
    return w;
}

static void child_append(struct vcon_trace_writer *w, uint64_t count)
{
    uint8_t buf[128];
    for (uint64_t seq = 1; seq <= count; seq++) {
        struct vcon_trace_event ev = pattern_event(seq, buf);
        shared->attempted = seq + 1;
        int rc = vcon_trace_writer_append(w, pattern_time(seq), &ev);
        if (rc < 0)
            child_fail("append", rc);
        struct vcon_trace_writer_stats st;
        vcon_trace_writer_get_stats(w, &st);
        shared->appended = st.events;
        shared->flushed = st.events_flushed;
    }
}

static void child_quiet_stderr(void)
{
    /* The crash reports a sanitizer prints for the child are expected. */
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0)
        dup2(fd, 2);
}

/* ---- the parent ------------------------------------------------------- */

static void trace_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

static pid_t start_child(void (*body)(const char *path), const char *path)
{
    memset((void *)shared, 0, sizeof(*shared));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches fatal signals to report a failing test; the child
         * is to die of them like a plain program. */
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
            signal(fatal[i], SIG_DFL);
        body(path);
        _exit(99); /* a body returns only when something went wrong */
    }
    return pid;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int wait_child(pid_t pid)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        assert_true(got >= 0);
        if (got == pid)
            return status;
        if (seconds_since(&t0) > WAIT_SECONDS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("child did not finish within %d s", WAIT_SECONDS);
        }
        sleep_us(1000);
    }
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Reads the trace, checking every event against the pattern; returns how
 * many events came and the reader's final answer. */
static uint64_t read_back(const char *path, int *ret)
{
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    struct vcon_trace_event ev;
    uint64_t t;
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
    assert_int_equal(ev.kind, VCON_TRACE_META);
    assert_string_equal(ev.meta.build_id, "crash-test");
    uint64_t seq = 1;
    uint8_t buf[128];
    int rc;
    while ((rc = vcon_trace_reader_next(r, &t, &ev)) == 1) {
        struct vcon_trace_event want = pattern_event(seq, buf);
        assert_int_equal(ev.seq, seq);
        assert_int_equal(t, pattern_time(seq));
        assert_int_equal(ev.kind, want.kind);
        assert_int_equal(ev.device, want.device);
        assert_int_equal(ev.payload_len, want.payload_len);
        if (want.payload_len)
            assert_memory_equal(ev.payload, want.payload, want.payload_len);
        if (want.kind == VCON_TRACE_REG_WRITE)
            assert_int_equal(ev.reg.value, want.reg.value);
        if (want.kind == VCON_TRACE_BACKEND_WRITE)
            assert_int_equal(ev.backend.result, want.backend.result);
        seq++;
    }
    uint64_t events = vcon_trace_reader_events(r);
    assert_int_equal(events, seq);
    if (rc == VCON_TRACE_TRUNCATED) {
        char want[64];
        snprintf(want, sizeof(want), "truncated after event %" PRIu64, events - 1);
        assert_string_equal(vcon_trace_reader_error(r), want);
    }
    vcon_trace_reader_close(r);
    *ret = rc;
    return events;
}

/* ---- killed ----------------------------------------------------------- */

static void write_long_trace_until_killed(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    child_append(w, LONG_TRACE_EVENTS);
    /* Not closed: the parent's kill must find a trace without END even when
     * it comes late. */
    shared->finished = 1;
    for (;;)
        pause();
}

static void killed_writer_leaves_every_flushed_event_readable(void **state)
{
    (void)state;
    char path[256];
    trace_path(path, sizeof(path), "killed.pcap.zst");
    pid_t pid = start_child(write_long_trace_until_killed, path);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (file_size(path) < (off_t)KILL_AFTER_BYTES && !shared->finished &&
           seconds_since(&t0) < WAIT_SECONDS)
        sleep_us(500);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = wait_child(pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    uint64_t attempted = shared->attempted, appended = shared->appended;
    uint64_t flushed = shared->flushed;
    int finished = shared->finished;

    int ret;
    uint64_t events = read_back(path, &ret);
    print_message("killed %s: %" PRIu64 " events appended, %" PRIu64 " flushed, %" PRIu64
                  " read back from %lld bytes\n",
                  finished ? "after the last event" : "mid-trace", appended, flushed, events,
                  (long long)file_size(path));
    assert_int_equal(ret, VCON_TRACE_TRUNCATED);
    assert_true(flushed > 1);
    assert_true(events >= flushed);
    /* The kill may land inside an append that flushed before it returned. */
    assert_true(events <= attempted);
}

/* ---- crashed ---------------------------------------------------------- */

static void append_then_raise_segv(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    int rc = vcon_trace_install_crash_flush(w);
    if (rc < 0)
        child_fail("install_crash_flush", rc);
    child_append(w, CRASH_EVENTS);
    child_quiet_stderr();
    raise(SIGSEGV);
}

static void append_then_fault(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    int rc = vcon_trace_install_crash_flush(w);
    if (rc < 0)
        child_fail("install_crash_flush", rc);
    volatile char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE, shared_fd, 0);
    if (page == MAP_FAILED)
        child_fail("mmap", -errno);
    child_append(w, CRASH_EVENTS);
    child_quiet_stderr();
    page[0] = 1; /* a real fault, raised by the CPU */
}

static void append_then_abort(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    int rc = vcon_trace_install_crash_flush(w);
    if (rc < 0)
        child_fail("install_crash_flush", rc);
    child_append(w, CRASH_EVENTS);
    child_quiet_stderr();
    abort();
}

static void append_then_raise_segv_without_crash_flush(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    child_append(w, CRASH_EVENTS);
    child_quiet_stderr();
    raise(SIGSEGV);
}

static void assert_died(int status)
{
    /* Killed by the signal, or (under a sanitizer, which reports first)
     * exited with its error code; never a normal exit. */
    if (WIFEXITED(status))
        assert_true(WEXITSTATUS(status) != 0 && WEXITSTATUS(status) < 99);
    else
        assert_true(WIFSIGNALED(status));
}

static void crash_leaves_every_appended_event(void (*body)(const char *), const char *name)
{
    char path[256];
    trace_path(path, sizeof(path), name);
    pid_t pid = start_child(body, path);
    assert_died(wait_child(pid));
    assert_int_equal(shared->appended, CRASH_EVENTS + 1);
    assert_true(shared->flushed < shared->appended); /* the tail was pending */
    int ret;
    uint64_t events = read_back(path, &ret);
    assert_int_equal(ret, VCON_TRACE_TRUNCATED);
    assert_int_equal(events, CRASH_EVENTS + 1);
}

static void raised_sigsegv_flushes_every_appended_event(void **state)
{
    (void)state;
    crash_leaves_every_appended_event(append_then_raise_segv, "segv.pcap.zst");
}

static void real_fault_flushes_every_appended_event(void **state)
{
    (void)state;
    crash_leaves_every_appended_event(append_then_fault, "fault.pcap.zst");
}

static void abort_flushes_every_appended_event(void **state)
{
    (void)state;
    crash_leaves_every_appended_event(append_then_abort, "abort.pcap.zst");
}

static void without_crash_flush_only_flushed_events_survive(void **state)
{
    (void)state;
    char path[256];
    trace_path(path, sizeof(path), "noflush.pcap.zst");
    pid_t pid = start_child(append_then_raise_segv_without_crash_flush, path);
    assert_died(wait_child(pid));
    int ret;
    uint64_t events = read_back(path, &ret);
    assert_int_equal(ret, VCON_TRACE_TRUNCATED);
    assert_int_equal(events, shared->flushed);
    assert_true(events < CRASH_EVENTS + 1);
}

#if HAVE_ASAN
static void append_then_overflow_heap(const char *path)
{
    struct vcon_trace_writer *w = child_open(path);
    int rc = vcon_trace_install_crash_flush(w);
    if (rc < 0)
        child_fail("install_crash_flush", rc);
    child_append(w, CRASH_EVENTS);
    child_quiet_stderr();
    volatile size_t index = 16;
    char *heap = malloc(16);
    heap[index] = 1; /* AddressSanitizer reports, then runs the death callback */
    free(heap);
}
#endif

static void sanitizer_death_callback_flushes_every_appended_event(void **state)
{
    (void)state;
#if HAVE_ASAN
    crash_leaves_every_appended_event(append_then_overflow_heap, "asan.pcap.zst");
#else
    print_message("skipped: built without AddressSanitizer\n");
    skip();
#endif
}

/* vcon_crash_message writes the whole text to standard error, as the
 * fuzz runner's timeout handler and vcon-replay's death callback need. */
static void crash_message_reaches_stderr_whole(void **state)
{
    (void)state;
    char text[3000], got[sizeof(text)];
    int p[2], saved;
    for (size_t i = 0; i < sizeof(text) - 1; i++)
        text[i] = (char)('a' + i % 26);
    text[sizeof(text) - 1] = '\0';
    assert_int_equal(pipe(p), 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    vcon_crash_message(text);
    vcon_crash_message("");
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(got) && (r = read(p[0], got + n, sizeof(got) - n)) > 0)
        n += (size_t)r;
    close(p[0]);
    assert_int_equal(n, sizeof(text) - 1);
    assert_memory_equal(got, text, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_writer_leaves_every_flushed_event_readable),
        cmocka_unit_test(raised_sigsegv_flushes_every_appended_event),
        cmocka_unit_test(real_fault_flushes_every_appended_event),
        cmocka_unit_test(abort_flushes_every_appended_event),
        cmocka_unit_test(without_crash_flush_only_flushed_events_survive),
        cmocka_unit_test(sanitizer_death_callback_flushes_every_appended_event),
        cmocka_unit_test(crash_message_reaches_stderr_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
