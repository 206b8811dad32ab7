/* vcon-trace, the command-line tool (docs/vcon-trace.md), and its Lua
 * dissector: traces written with the trace library in a scratch folder, the
 * built executable run on them in a child process, its output and exit
 * status checked. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vcon/trace.h"

#ifndef VCON_TRACE_BIN
#error "VCON_TRACE_BIN must name the built vcon-trace (tests/CMakeLists.txt)"
#endif
#ifndef VCON_TRACE_LUA
#error "VCON_TRACE_LUA must name tools/vcon-trace.lua (tests/CMakeLists.txt)"
#endif

/* ---- scratch files ---------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vcon-trace-tool-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

static int remove_tmpdir(void **state)
{
    (void)state;
    return remove_tree(tmpdir);
}

static const char *tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
    return out;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

struct bytes {
    uint8_t *p;
    size_t len;
};

static struct bytes read_whole_file(const char *path)
{
    struct bytes b = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    b.p = malloc((size_t)n + 1);
    assert_non_null(b.p);
    b.len = fread(b.p, 1, (size_t)n, f);
    assert_int_equal(b.len, (size_t)n);
    b.p[b.len] = '\0';
    fclose(f);
    return b;
}

static void write_whole_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- running vcon-trace ----------------------------------------------- */

struct run {
    int status; /* exit status, or 128 + signal */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr */
};

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Runs argv[0] with argv, stdout and stderr into files read back. */
static void run_argv(struct run *r, char *const argv[])
{
    char out_path[256], err_path[256];
    tmp_path(out_path, sizeof(out_path), "stdout.txt");
    tmp_path(err_path, sizeof(err_path), "stderr.txt");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    struct bytes out = read_whole_file(out_path);
    struct bytes err = read_whole_file(err_path);
    r->out = (char *)out.p;
    r->err = (char *)err.p;
}

/* vcon-trace with the arguments given, up to a NULL. */
static void vt(struct run *r, ...)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)VCON_TRACE_BIN;
    va_list ap;
    va_start(ap, r);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
        argv[n++] = (char *)arg;
    }
    va_end(ap);
    argv[n] = NULL;
    run_argv(r, argv);
}

/* Fails with both texts when haystack lacks needle. */
#define assert_contains(haystack, needle)                                                    \
    do {                                                                                     \
        const char *h_ = (haystack), *n_ = (needle);                                         \
        if (!strstr(h_, n_))                                                                 \
            fail_msg("expected to find\n  %s\nin\n%s", n_, h_);                              \
    } while (0)

#define assert_not_contains(haystack, needle)                                                \
    do {                                                                                     \
        const char *h_ = (haystack), *n_ = (needle);                                         \
        if (strstr(h_, n_))                                                                  \
            fail_msg("did not expect\n  %s\nin\n%s", n_, h_);                                \
    } while (0)

/* ---- sample traces ---------------------------------------------------- */

static const char BUILD_ID[] = "test-build";
static const char CONFIG[] = "-l com1,stdio";
static const uint8_t BYTES100[100] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
    40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
    60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
};

static struct vcon_trace_meta sample_meta(void)
{
    struct vcon_trace_meta m = {0};
    m.seed = 42;
    m.ram_size = 1u << 20;
    m.build_id = BUILD_ID;
    m.build_id_len = (uint16_t)strlen(BUILD_ID);
    m.config = CONFIG;
    m.config_len = (uint16_t)strlen(CONFIG);
    return m;
}

struct sample {
    uint64_t time_ns;
    struct vcon_trace_event ev;
};

#define NR_SAMPLES 22u
#define FIRST_TIME 1000000002ull

static struct vcon_trace_event *next_sample(struct sample *s, size_t *n, uint16_t kind)
{
    struct sample *x = &s[(*n)++];
    x->time_ns = FIRST_TIME + 1000u * (*n - 1);
    x->ev.kind = kind;
    return &x->ev;
}

/* Every kind but META and END; sample i becomes event i + 1. */
static void sample_events(struct sample s[NR_SAMPLES])
{
    memset(s, 0, NR_SAMPLES * sizeof(*s));
    struct vcon_trace_event *e;
    size_t n = 0;
#define NEXT(k) (e = next_sample(s, &n, (k)))
    NEXT(VCON_TRACE_REG_WRITE);
    e->reg.space = VCON_TRACE_SPACE_PIO, e->reg.size = 1, e->reg.address = 0x3f8, e->reg.value = 0x41;
    NEXT(VCON_TRACE_REG_READ);
    e->reg.space = VCON_TRACE_SPACE_PIO, e->reg.size = 1, e->reg.address = 0x3fd;
    NEXT(VCON_TRACE_READ_RESULT)->read_result.value = 0x60;
    NEXT(VCON_TRACE_MEM_READ);
    e->mem.gpa = 0x1000, e->mem.length = 100, e->payload = BYTES100, e->payload_len = 100;
    NEXT(VCON_TRACE_MEM_READ);
    e->mem.gpa = 0xfff00000, e->mem.length = 4, e->mem.result = -EFAULT;
    NEXT(VCON_TRACE_MEM_WRITE);
    e->mem.gpa = 0x2000, e->payload = BYTES100, e->payload_len = 4;
    NEXT(VCON_TRACE_GUEST_MEM_WRITE);
    e->device = 1, e->mem.gpa = 0x3000, e->payload = BYTES100, e->payload_len = 8;
    NEXT(VCON_TRACE_KICK);
    e->device = 1, e->kick.queue = 1;
    NEXT(VCON_TRACE_IRQ_LEVEL);
    e->irq.line = 4, e->irq.level = 1;
    NEXT(VCON_TRACE_MSI);
    e->device = 1, e->msi.address = 0xfee00000, e->msi.data = 0x4021;
    NEXT(VCON_TRACE_BACKEND_READ);
    e->backend.requested = 16, e->backend.result = 3;
    e->payload = (const uint8_t *)"abc", e->payload_len = 3;
    NEXT(VCON_TRACE_BACKEND_READ)->backend.requested = 16;
    NEXT(VCON_TRACE_BACKEND_WRITE);
    e->backend.port = 1, e->backend.result = -1;
    e->payload = (const uint8_t *)"hi\n", e->payload_len = 3;
    NEXT(VCON_TRACE_BACKEND_EVENT);
    e->backend_event.port = 1, e->backend_event.what = VCON_TRACE_BACKEND_CONNECT;
    NEXT(VCON_TRACE_TIME_STEP)->time_step.ns = 5000;
    NEXT(VCON_TRACE_TIMER_FIRE)->timer.index = 0;
    NEXT(VCON_TRACE_HOTPLUG);
    e->hotplug.port = 2, e->hotplug.add = 1, e->hotplug.is_console = 1;
    e->payload = (const uint8_t *)"p\"2", e->payload_len = 3;
    NEXT(VCON_TRACE_RESIZE);
    e->resize.cols = 80, e->resize.rows = 25;
    NEXT(VCON_TRACE_RESET);
    NEXT(VCON_TRACE_MARK);
    e->payload = (const uint8_t *)"hello\tworld\x01", e->payload_len = 12;
    NEXT(VCON_TRACE_UART_LINE_ERROR);
    e->line_error.byte = 0, e->line_error.errors = 0x18;
    NEXT(VCON_TRACE_MODEM_LINES)->modem.lines = 0xb0;
#undef NEXT
    assert_int_equal(n, NR_SAMPLES);
}

static void write_events(const char *path, const struct sample *s, size_t n, bool plain)
{
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.plain = plain};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vcon_trace_writer_append(w, s[i].time_ns, &s[i].ev), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);
}

/* The sample trace (every kind) at tmpdir/name. */
static const char *write_sample(char *path, size_t size, const char *name, bool plain)
{
    struct sample s[NR_SAMPLES];
    sample_events(s);
    tmp_path(path, size, name);
    write_events(path, s, NR_SAMPLES, plain);
    return path;
}

/* Offset of record `index`'s body in a plain pcap. */
static size_t plain_body_offset(const struct bytes *b, unsigned index)
{
    size_t off = 24;
    for (unsigned i = 0; i < index; i++) {
        assert_true(off + 16 <= b->len);
        uint32_t len = (uint32_t)b->p[off + 8] | (uint32_t)b->p[off + 9] << 8 |
                       (uint32_t)b->p[off + 10] << 16 | (uint32_t)b->p[off + 11] << 24;
        off += 16 + len;
    }
    return off + 16;
}

/* ---- dump ------------------------------------------------------------- */

static const char *const sample_dump[] = {
    "#0 t=0.000000000 dev=0 META version=1.0 seed=42 ram=0x100000 build_id=\"test-build\" "
    "config=\"-l com1,stdio\"",
    "#1 t=1.000000002 dev=0 REG_WRITE pio 0x3f8/1 = 0x41",
    "#2 t=1.000001002 dev=0 REG_READ pio 0x3fd/1",
    "#3 t=1.000002002 dev=0 READ_RESULT = 0x60",
    "#4 t=1.000003002 dev=0 MEM_READ gpa=0x1000 len=100 result=0 "
    "data=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f...",
    "#5 t=1.000004002 dev=0 MEM_READ gpa=0xfff00000 len=4 result=-14",
    "#6 t=1.000005002 dev=0 MEM_WRITE gpa=0x2000 result=0 len=4 data=00010203",
    "#7 t=1.000006002 dev=1 GUEST_MEM_WRITE gpa=0x3000 len=8 data=0001020304050607",
    "#8 t=1.000007002 dev=1 KICK queue=1",
    "#9 t=1.000008002 dev=0 IRQ_LEVEL line=4 level=1",
    "#10 t=1.000009002 dev=1 MSI address=0xfee00000 data=0x4021",
    "#11 t=1.000010002 dev=0 BACKEND_READ port=0 requested=16 result=3 data=616263",
    "#12 t=1.000011002 dev=0 BACKEND_READ port=0 requested=16 result=0 (no data)",
    "#13 t=1.000012002 dev=0 BACKEND_WRITE port=1 result=-1 (would block) len=3 data=68690a",
    "#14 t=1.000013002 dev=0 BACKEND_EVENT port=1 what=connect",
    "#15 t=1.000014002 dev=0 TIME_STEP ns=5000",
    "#16 t=1.000015002 dev=0 TIMER_FIRE index=0",
    "#17 t=1.000016002 dev=0 HOTPLUG port=2 add=1 console=1 name=\"p\\\"2\"",
    "#18 t=1.000017002 dev=0 RESIZE port=0 cols=80 rows=25",
    "#19 t=1.000018002 dev=0 RESET",
    "#20 t=1.000019002 dev=0 MARK \"hello\\tworld\\x01\"",
    "#21 t=1.000020002 dev=0 UART_LINE_ERROR char=0x00 errors=0x18 (FE BI)",
    "#22 t=1.000021002 dev=0 MODEM_LINES lines=0xb0 (CTS DSR DCD)",
    "#23 t=1.000021002 dev=0 END count=23",
};

#define NR_DUMP_LINES (sizeof(sample_dump) / sizeof(sample_dump[0]))

/* Splits text into lines in place; returns how many. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    return n;
}

static void dump_prints_one_line_per_event_of_every_kind(void **state)
{
    (void)state;
    char path[256];
    write_sample(path, sizeof(path), "dump.pcap.zst", false);
    struct run r;
    vt(&r, "dump", path, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char *lines[64];
    size_t n = split_lines(r.out, lines, 64);
    assert_int_equal(n, NR_DUMP_LINES);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(lines[i], sample_dump[i]);
    run_free(&r);
}

static void dump_of_a_plain_pcap_is_the_same(void **state)
{
    (void)state;
    char zst[256], plain[256];
    write_sample(zst, sizeof(zst), "same.pcap.zst", false);
    write_sample(plain, sizeof(plain), "same.pcap", true);
    struct run a, b;
    vt(&a, "dump", zst, NULL);
    vt(&b, "dump", plain, NULL);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_string_equal(a.out, b.out);
    run_free(&a);
    run_free(&b);
}

static void dump_full_prints_whole_payloads(void **state)
{
    (void)state;
    char path[256];
    write_sample(path, sizeof(path), "full.pcap.zst", false);
    struct run r;
    vt(&r, "dump", "--full", path, NULL);
    assert_int_equal(r.status, 0);
    char want[1024];
    int n = snprintf(want, sizeof(want), "MEM_READ gpa=0x1000 len=100 result=0 data=");
    for (unsigned i = 0; i < 100; i++)
        n += snprintf(want + n, sizeof(want) - (size_t)n, "%02x", i);
    snprintf(want + n, sizeof(want) - (size_t)n, "\n");
    assert_contains(r.out, want);
    assert_not_contains(r.out, "...");
    run_free(&r);
}

/* ---- the same line from the library (vcon_trace_format_event) -------- */

/* The sample trace's events as the reader gives them: META, the samples
 * numbered from 1, END. */
static struct sample sample_event(const struct sample *s, size_t line)
{
    struct sample x = {0};
    if (line == 0) {
        x.ev.kind = VCON_TRACE_META;
        x.ev.meta = sample_meta();
        x.ev.meta.version_major = VCON_TRACE_VERSION_MAJOR;
        x.ev.meta.version_minor = VCON_TRACE_VERSION_MINOR;
    } else if (line <= NR_SAMPLES) {
        x = s[line - 1];
    } else {
        x.time_ns = s[NR_SAMPLES - 1].time_ns;
        x.ev.kind = VCON_TRACE_END;
        x.ev.end.count = line;
    }
    x.ev.seq = line;
    return x;
}

static void library_formats_the_dump_line_of_every_kind_into_a_buffer(void **state)
{
    (void)state;
    struct sample s[NR_SAMPLES];
    sample_events(s);
    for (size_t i = 0; i < NR_DUMP_LINES; i++) {
        const struct sample x = sample_event(s, i);
        char line[512];
        const size_t len = vcon_trace_format_event(line, sizeof(line), x.time_ns, &x.ev, 0);
        assert_string_equal(line, sample_dump[i]);
        assert_int_equal(len, strlen(sample_dump[i]));
    }
    /* The fields alone, and a device's call before the host answered it. */
    char fields[256];
    vcon_trace_format_fields(fields, sizeof(fields), &s[8].ev, 0);
    assert_string_equal(fields, "line=4 level=1");
    vcon_trace_format_fields(fields, sizeof(fields), &s[18].ev, 0);
    assert_string_equal(fields, "");
    vcon_trace_format_fields(fields, sizeof(fields), &s[3].ev, VCON_TRACE_TEXT_NO_ANSWER);
    assert_string_equal(fields, "gpa=0x1000 len=100");
    vcon_trace_format_fields(fields, sizeof(fields), &s[5].ev, VCON_TRACE_TEXT_NO_ANSWER);
    assert_string_equal(fields, "gpa=0x2000 len=4 data=00010203");
    vcon_trace_format_fields(fields, sizeof(fields), &s[10].ev, VCON_TRACE_TEXT_NO_ANSWER);
    assert_string_equal(fields, "port=0 requested=16");
    vcon_trace_format_fields(fields, sizeof(fields), &s[12].ev, VCON_TRACE_TEXT_NO_ANSWER);
    assert_string_equal(fields, "port=1 len=3 data=68690a");
    char t[32];
    assert_int_equal(vcon_trace_format_time(t, sizeof(t), 3000000007ull), 11);
    assert_string_equal(t, "3.000000007");
}

/* A buffer of every size up to the whole line: exactly that much is
 * written (ASan sees the buffer's end), the text is the line's start, and a
 * cut line ends in "...". The MARK's payload holds only as many bytes as
 * the buffer: the formatter must not read further. */
static void library_cuts_a_line_to_its_buffer_and_reads_no_further(void **state)
{
    (void)state;
    static const char text[] = "a \"long\" mark\n with \x01 bytes, repeated a few times";
    uint8_t payload[4 * sizeof(text)];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)text[i % (sizeof(text) - 1)];
    struct vcon_trace_event ev = {.seq = 7, .kind = VCON_TRACE_MARK, .device = 255,
                                  .payload = payload, .payload_len = sizeof(payload)};
    char whole[2048];
    const size_t full = vcon_trace_format_event(whole, sizeof(whole), 5, &ev, 0);
    assert_true(full > sizeof(payload) && full < sizeof(whole) - 1);
    for (size_t size = 0; size <= full + 1; size++) {
        const size_t kept_bytes = size < sizeof(payload) ? size : sizeof(payload);
        char *buf = malloc(size ? size : 1);
        uint8_t *held = malloc(kept_bytes ? kept_bytes : 1);
        assert_non_null(buf);
        assert_non_null(held);
        memcpy(held, payload, kept_bytes);
        ev.payload = held;
        const size_t len = vcon_trace_format_event(buf, size, 5, &ev, 0);
        if (size == 0) {
            assert_int_equal(len, 0);
        } else if (size > full) {
            assert_int_equal(len, full);
            assert_string_equal(buf, whole);
        } else {
            assert_int_equal(len, size - 1);
            assert_int_equal(strlen(buf), len);
            const size_t kept = len >= 3 ? len - 3 : len;
            assert_memory_equal(buf, whole, kept);
            if (len >= 3)
                assert_string_equal(buf + kept, "...");
        }
        free(held);
        free(buf);
    }
}

static void dump_of_a_truncated_trace_says_where_and_exits_0(void **state)
{
    (void)state;
    char path[256], cut[256];
    write_sample(path, sizeof(path), "whole.pcap", true);
    struct bytes b = read_whole_file(path);
    /* Into the middle of event 5's record. */
    size_t end = plain_body_offset(&b, 5) + 3;
    write_whole_file(tmp_path(cut, sizeof(cut), "cut-short.pcap"), b.p, end);
    free(b.p);
    struct run r;
    vt(&r, "dump", cut, NULL);
    assert_int_equal(r.status, 0);
    char *lines[64];
    size_t n = split_lines(r.out, lines, 64);
    assert_int_equal(n, 6);
    assert_string_equal(lines[4], sample_dump[4]);
    assert_string_equal(lines[5], "truncated after event 4");
    run_free(&r);
}

static void dump_of_a_damaged_trace_names_file_and_event_and_exits_2(void **state)
{
    (void)state;
    char path[256], bad[256];
    write_sample(path, sizeof(path), "good.pcap", true);
    struct bytes b = read_whole_file(path);
    size_t body = plain_body_offset(&b, 3);
    b.p[body + 8] = 99; /* kind */
    b.p[body + 9] = 0;
    write_whole_file(tmp_path(bad, sizeof(bad), "bad-kind.pcap"), b.p, b.len);
    free(b.p);
    struct run r;
    vt(&r, "dump", bad, NULL);
    assert_int_equal(r.status, 2);
    char want[1024];
    snprintf(want, sizeof(want), "vcon-trace dump: %s: event 3: unknown event kind 99\n", bad);
    assert_string_equal(r.err, want);
    /* The events before the damage are printed. */
    char *lines[64];
    assert_int_equal(split_lines(r.out, lines, 64), 3);
    assert_string_equal(lines[2], sample_dump[2]);
    run_free(&r);
}

static void dump_of_a_missing_file_exits_2(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "no-such-file.pcap.zst");
    struct run r;
    vt(&r, "dump", path, NULL);
    assert_int_equal(r.status, 2);
    char want[1024];
    snprintf(want, sizeof(want), "vcon-trace dump: %s: cannot open: No such file or directory\n",
             path);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    run_free(&r);
}

static void garbage_is_not_a_trace_for_any_subcommand(void **state)
{
    (void)state;
    char path[256], out[256], good[256];
    static const char garbage[] = "this is not a pcap file at all, just text\n";
    write_whole_file(tmp_path(path, sizeof(path), "garbage.pcap.zst"), garbage, sizeof(garbage) - 1);
    write_sample(good, sizeof(good), "good-for-garbage.pcap.zst", false);
    tmp_path(out, sizeof(out), "garbage-cut.pcap.zst");
    char want[1024];
    snprintf(want, sizeof(want), "%s: not a vcon trace: bad pcap magic 0x73696874", path);

    struct run r;
    vt(&r, "dump", path, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, want);
    run_free(&r);
    vt(&r, "stat", path, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, want);
    assert_string_equal(r.out, "");
    run_free(&r);
    vt(&r, "cut", path, "--from", "1", "--to", "2", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, want);
    assert_false(file_exists(out));
    run_free(&r);
    vt(&r, "diff", good, path, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, want);
    run_free(&r);
}

/* ---- stat ------------------------------------------------------------- */

static void stat_counts_kinds_and_devices_and_reports_sizes(void **state)
{
    (void)state;
    char zst[256], plain[256];
    write_sample(zst, sizeof(zst), "stat.pcap.zst", false);
    write_sample(plain, sizeof(plain), "stat.pcap", true);
    struct stat zst_st, plain_st;
    assert_int_equal(stat(zst, &zst_st), 0);
    assert_int_equal(stat(plain, &plain_st), 0);

    struct run r;
    vt(&r, "stat", zst, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char want[512];
    snprintf(want, sizeof(want), "file: %s\n", zst);
    assert_contains(r.out, want);
    assert_contains(r.out, "format: zstd-compressed pcap, trace version 1.0\n");
    assert_contains(r.out, "complete: yes\n");
    assert_contains(r.out, "events: 24 (META and END included)\n");
    assert_contains(r.out, "time: 1.000000002 .. 1.000021002 (span 0.000021000 s)\n");
    snprintf(want, sizeof(want), "file size: %lld bytes\n", (long long)zst_st.st_size);
    assert_contains(r.out, want);
    /* The uncompressed size is exactly the plain pcap's. */
    snprintf(want, sizeof(want), "uncompressed size: %lld bytes\n", (long long)plain_st.st_size);
    assert_contains(r.out, want);
    snprintf(want, sizeof(want), "bytes per event: %.2f in the file, %.2f uncompressed\n",
             (double)zst_st.st_size / 24.0, (double)plain_st.st_size / 24.0);
    assert_contains(r.out, want);
    snprintf(want, sizeof(want), "compression ratio: %.2f\n",
             (double)plain_st.st_size / (double)zst_st.st_size);
    assert_contains(r.out, want);
    assert_contains(r.out, "seed: 42\n");
    assert_contains(r.out, "ram: 0x100000 (1048576 bytes)\n");
    assert_contains(r.out, "build id: \"test-build\"\n");
    assert_contains(r.out, "config: \"-l com1,stdio\"\n");
    assert_contains(r.out, "kind META: 1\n");
    assert_contains(r.out, "kind END: 1\n");
    assert_contains(r.out, "kind MEM_READ: 2\n");
    assert_contains(r.out, "kind BACKEND_READ: 2\n");
    assert_contains(r.out, "kind MODEM_LINES: 1\n");
    assert_contains(r.out, "device 0: 21\n");
    assert_contains(r.out, "device 1: 3\n");
    assert_not_contains(r.out, "device 2");
    run_free(&r);

    vt(&r, "stat", plain, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "format: uncompressed pcap, trace version 1.0\n");
    assert_contains(r.out, "compression ratio: 1.00\n");
    run_free(&r);
}

static void stat_of_a_truncated_trace_says_it_is_incomplete(void **state)
{
    (void)state;
    char path[256], cut[256];
    write_sample(path, sizeof(path), "stat-whole.pcap", true);
    struct bytes b = read_whole_file(path);
    write_whole_file(tmp_path(cut, sizeof(cut), "stat-cut.pcap"), b.p, plain_body_offset(&b, 8));
    free(b.p);
    struct run r;
    vt(&r, "stat", cut, NULL);
    assert_int_equal(r.status, 0);
    /* Cut at event 8's body: events 0..7 are whole. */
    assert_contains(r.out, "complete: no (truncated after event 7)\n");
    assert_contains(r.out, "events: 8 (META and END included)\n");
    assert_contains(r.out, "kind READ_RESULT: 1\n");
    assert_not_contains(r.out, "kind END");
    run_free(&r);
}

/* ---- cut -------------------------------------------------------------- */

/* Reads path back with the library and checks it holds the samples
 * [first, first + n) renumbered from 1, then END. */
static void assert_trace_holds(const char *path, const struct sample *s, size_t first, size_t n)
{
    struct vcon_trace_reader *rd = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &rd), 0);
    struct vcon_trace_event ev;
    uint64_t t;
    assert_int_equal(vcon_trace_reader_next(rd, &t, &ev), 1);
    assert_int_equal(ev.kind, VCON_TRACE_META);
    assert_int_equal(ev.meta.seed, 42);
    assert_int_equal(ev.meta.ram_size, 1u << 20);
    assert_string_equal(ev.meta.config, CONFIG);
    assert_string_equal(ev.meta.build_id, BUILD_ID);
    for (size_t i = 0; i < n; i++) {
        const struct sample *want = &s[first + i];
        assert_int_equal(vcon_trace_reader_next(rd, &t, &ev), 1);
        assert_int_equal(ev.seq, i + 1);
        assert_int_equal(t, want->time_ns);
        assert_int_equal(ev.kind, want->ev.kind);
        assert_int_equal(ev.device, want->ev.device);
        assert_int_equal(ev.payload_len, want->ev.payload_len);
        if (ev.payload_len)
            assert_memory_equal(ev.payload, want->ev.payload, ev.payload_len);
    }
    int rc = vcon_trace_reader_next(rd, &t, &ev);
    if (rc != 0)
        fail_msg("expected END, got %d: %s", rc, vcon_trace_reader_error(rd));
    assert_int_equal(ev.kind, VCON_TRACE_END);
    assert_int_equal(ev.end.count, n + 1);
    vcon_trace_reader_close(rd);
}

static void cut_copies_the_range_into_a_valid_trace(void **state)
{
    (void)state;
    char path[256], out[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_sample(path, sizeof(path), "cut-in.pcap.zst", false);
    tmp_path(out, sizeof(out), "cut-out.pcap.zst");
    struct run r;
    vt(&r, "cut", path, "--from", "4", "--to", "7", "-o", out, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_trace_holds(out, s, 3, 4); /* events 4..7 are samples 3..6 */
    run_free(&r);

    /* The cut trace dumps with the same times and fields. */
    vt(&r, "dump", out, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "#1 t=1.000003002 dev=0 MEM_READ gpa=0x1000 len=100 result=0 ");
    assert_contains(r.out, "#4 t=1.000006002 dev=1 GUEST_MEM_WRITE gpa=0x3000 len=8 ");
    assert_contains(r.out, "END count=5\n");
    run_free(&r);
}

static void cut_defaults_to_the_whole_trace_and_keeps_plain_names_plain(void **state)
{
    (void)state;
    char path[256], out[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_sample(path, sizeof(path), "cut-all.pcap.zst", false);
    tmp_path(out, sizeof(out), "cut-all-out.pcap");
    struct run r;
    vt(&r, "cut", path, "-o", out, NULL);
    assert_int_equal(r.status, 0);
    assert_trace_holds(out, s, 0, NR_SAMPLES);
    struct bytes b = read_whole_file(out);
    assert_true(b.len >= 4);
    assert_int_equal(b.p[0] | b.p[1] << 8 | b.p[2] << 16 | (uint32_t)b.p[3] << 24,
                     VCON_TRACE_PCAP_MAGIC);
    free(b.p);
    run_free(&r);
}

static void cut_may_overwrite_its_input(void **state)
{
    (void)state;
    char path[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_sample(path, sizeof(path), "cut-inplace.pcap.zst", false);
    struct run r;
    vt(&r, "cut", path, "--from", "10", "--to", "12", "-o", path, NULL);
    assert_int_equal(r.status, 0);
    assert_trace_holds(path, s, 9, 3);
    run_free(&r);
}

static void cut_refuses_ranges_outside_the_trace(void **state)
{
    (void)state;
    char path[256], out[256];
    write_sample(path, sizeof(path), "cut-range.pcap.zst", false);
    tmp_path(out, sizeof(out), "cut-range-out.pcap.zst");
    char want[1024];
    struct run r;

    vt(&r, "cut", path, "--from", "3", "--to", "24", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    snprintf(want, sizeof(want),
             "vcon-trace cut: %s: range 3..24 is outside the trace (events 0..23)\n", path);
    assert_string_equal(r.err, want);
    assert_false(file_exists(out));
    run_free(&r);

    vt(&r, "cut", path, "--from", "30", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "range 30..end is outside the trace (events 0..23)");
    assert_false(file_exists(out));
    run_free(&r);

    vt(&r, "cut", path, "--from", "5", "--to", "4", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace cut: empty range: --from 5 is after --to 4\n");
    assert_false(file_exists(out));
    run_free(&r);

    vt(&r, "cut", path, "--from", "five", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--from 'five' is not an event number");
    run_free(&r);

    vt(&r, "cut", path, "--from", "1", "--to", "2", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "-o OUT is required");
    run_free(&r);
}

static void cut_of_a_truncated_trace_copies_up_to_the_cut(void **state)
{
    (void)state;
    char path[256], cut[256], out[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_sample(path, sizeof(path), "cut-trunc-whole.pcap", true);
    struct bytes b = read_whole_file(path);
    write_whole_file(tmp_path(cut, sizeof(cut), "cut-trunc.pcap"), b.p, plain_body_offset(&b, 8) - 1);
    free(b.p);
    tmp_path(out, sizeof(out), "cut-trunc-out.pcap.zst");
    struct run r;
    vt(&r, "cut", cut, "--from", "2", "-o", out, NULL);
    assert_int_equal(r.status, 0);
    assert_trace_holds(out, s, 1, 6); /* events 2..7 */
    run_free(&r);
    vt(&r, "cut", cut, "--from", "2", "--to", "8", "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "range 2..8 is outside the trace (events 0..7, truncated after event 7)");
    run_free(&r);
}

/* ---- diff ------------------------------------------------------------- */

static void diff_of_identical_traces_exits_0(void **state)
{
    (void)state;
    char a[256], b[256];
    write_sample(a, sizeof(a), "diff-same-a.pcap.zst", false);
    write_sample(b, sizeof(b), "diff-same-b.pcap", true);
    struct run r;
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "same: 24 events\n");
    run_free(&r);
}

static void diff_names_the_first_changed_event_and_exits_1(void **state)
{
    (void)state;
    char a[256], b[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_events(tmp_path(a, sizeof(a), "diff-a.pcap.zst"), s, NR_SAMPLES, false);
    s[9].ev.msi.data = 0x4022;     /* event 10 */
    s[15].ev.timer.index = 3;      /* event 16: after the first difference */
    write_events(tmp_path(b, sizeof(b), "diff-b.pcap.zst"), s, NR_SAMPLES, false);
    struct run r;
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out,
                        "differ at A event 10, B event 10: MSI fields\n"
                        "A: #10 t=1.000009002 dev=1 MSI address=0xfee00000 data=0x4021\n"
                        "B: #10 t=1.000009002 dev=1 MSI address=0xfee00000 data=0x4022\n");
    run_free(&r);
}

static void diff_tells_payload_time_and_kind_differences(void **state)
{
    (void)state;
    char a[256], b[256];
    struct sample s[NR_SAMPLES];
    uint8_t changed[100];
    memcpy(changed, BYTES100, sizeof(changed));
    changed[5] = 0xee;
    sample_events(s);
    write_events(tmp_path(a, sizeof(a), "diffp-a.pcap.zst"), s, NR_SAMPLES, false);
    s[3].ev.payload = changed;
    write_events(tmp_path(b, sizeof(b), "diffp-b.pcap.zst"), s, NR_SAMPLES, false);
    struct run r;
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "differ at A event 4, B event 4: payload byte 5: 0x05 vs 0xee\n");
    run_free(&r);

    sample_events(s);
    s[20].time_ns += 1; /* event 21, still before event 22 */
    write_events(tmp_path(b, sizeof(b), "difft-b.pcap.zst"), s, NR_SAMPLES, false);
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "differ at A event 21, B event 21: time 1.000020002 vs 1.000020003\n");
    run_free(&r);

    sample_events(s);
    s[18].ev.kind = VCON_TRACE_MARK; /* event 19: RESET becomes an empty MARK */
    write_events(tmp_path(b, sizeof(b), "diffk-b.pcap.zst"), s, NR_SAMPLES, false);
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "differ at A event 19, B event 19: kind RESET vs MARK\n");
    assert_contains(r.out, "B: #19 t=1.000018002 dev=0 MARK \"\"\n");
    run_free(&r);
}

static void diff_reports_the_trace_that_ends_first(void **state)
{
    (void)state;
    char a[256], b[256];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    write_events(tmp_path(a, sizeof(a), "diffe-a.pcap.zst"), s, NR_SAMPLES, false);
    write_events(tmp_path(b, sizeof(b), "diffe-b.pcap.zst"), s, 20, false);
    struct run r;
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out,
                        "differ at A event 21, B event 21: B ends first\n"
                        "A: #21 t=1.000020002 dev=0 UART_LINE_ERROR char=0x00 errors=0x18 (FE BI)\n"
                        "B: #21 t=1.000019002 dev=0 END count=21\n");
    run_free(&r);
}

static void diff_ignore_labels_skips_marks_and_kicks(void **state)
{
    (void)state;
    char a[256], b[256];
    struct sample s[NR_SAMPLES], t[NR_SAMPLES];
    sample_events(s);
    write_events(tmp_path(a, sizeof(a), "diffl-a.pcap.zst"), s, NR_SAMPLES, false);
    /* B without the KICK (sample 7) and the MARK (sample 19). */
    size_t n = 0;
    for (size_t i = 0; i < NR_SAMPLES; i++)
        if (i != 7 && i != 19)
            t[n++] = s[i];
    write_events(tmp_path(b, sizeof(b), "diffl-b.pcap.zst"), t, n, false);
    struct run r;
    vt(&r, "diff", a, b, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "differ at A event 8, B event 8: kind KICK vs IRQ_LEVEL\n");
    run_free(&r);
    vt(&r, "diff", "--ignore-labels", a, b, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "same: 21 events\n"); /* 20 events and END */
    run_free(&r);
}

static void diff_of_a_missing_or_damaged_trace_exits_2(void **state)
{
    (void)state;
    char a[256], missing[256], bad[256];
    write_sample(a, sizeof(a), "diffx-a.pcap", true);
    tmp_path(missing, sizeof(missing), "diffx-missing.pcap.zst");
    struct run r;
    vt(&r, "diff", a, missing, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "diffx-missing.pcap.zst: cannot open: No such file or directory");
    run_free(&r);

    struct bytes b = read_whole_file(a);
    b.p[plain_body_offset(&b, 2) + 11] = 7; /* event 2's reserved byte */
    write_whole_file(tmp_path(bad, sizeof(bad), "diffx-bad.pcap"), b.p, b.len);
    free(b.p);
    vt(&r, "diff", a, bad, NULL);
    assert_int_equal(r.status, 2);
    char want[1024];
    snprintf(want, sizeof(want), "vcon-trace diff: %s: event 2: REG_READ reserved byte is 7, must be 0\n",
             bad);
    assert_string_equal(r.err, want);
    run_free(&r);

    vt(&r, "diff", a, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "expected two trace files");
    run_free(&r);
}

/* ---- the command line ---------------------------------------------------- */

static void every_subcommand_has_help_that_exits_0(void **state)
{
    (void)state;
    static const char *const names[] = {"dump", "stat", "cut", "diff", "minimize", "to-test"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct run r;
        vt(&r, names[i], "--help", NULL);
        assert_int_equal(r.status, 0);
        char want[64];
        snprintf(want, sizeof(want), "usage: vcon-trace %s ", names[i]);
        assert_contains(r.out, want);
        assert_string_equal(r.err, "");
        run_free(&r);
        vt(&r, "help", names[i], NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, want);
        run_free(&r);
    }
    struct run r;
    vt(&r, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: vcon-trace COMMAND");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_contains(r.out, names[i]);
    run_free(&r);
}

static void bad_usage_exits_2_with_a_hint(void **state)
{
    (void)state;
    struct run r;
    vt(&r, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "usage: vcon-trace COMMAND");
    run_free(&r);
    vt(&r, "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace: unknown command 'frobnicate'");
    run_free(&r);
    vt(&r, "dump", "--bogus", "x", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace dump: unknown option '--bogus'\n"
                           "Try 'vcon-trace dump --help'.\n");
    run_free(&r);
    vt(&r, "dump", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace dump: expected one trace file");
    run_free(&r);
    vt(&r, "stat", "a", "b", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace stat: unexpected argument 'b'");
    run_free(&r);
    vt(&r, "cut", "x", "--to", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "vcon-trace cut: option '--to' needs a value");
    run_free(&r);
}

/* ---- the Lua dissector ------------------------------------------------ */

static bool find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, size, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(out, X_OK) == 0)
            return true;
        path += n;
        if (*path == ':')
            path++;
    }
    return false;
}

static void tshark_with_the_lua_dissector_decodes_every_kind(void **state)
{
    (void)state;
    char tshark[512];
    if (!find_in_path("tshark", tshark, sizeof(tshark))) {
        print_message("skipped: tshark is not installed, the Lua dissector is not tested\n");
        skip();
    }
    char path[256], script[600];
    write_sample(path, sizeof(path), "tshark.pcap.zst", false);
    snprintf(script, sizeof(script), "lua_script:%s", VCON_TRACE_LUA);

    struct run r;
    char *verbose[] = {tshark, (char *)"-r", path, (char *)"-X", script, (char *)"-V", NULL};
    run_argv(&r, verbose);
    assert_int_equal(r.status, 0);
    assert_not_contains(r.err, "Lua: Error");
    assert_not_contains(r.out, "Malformed");
    for (unsigned k = 0; k < VCON_TRACE_KIND_COUNT; k++) {
        char want[64];
        snprintf(want, sizeof(want), "Kind: %s (%u)\n", vcon_trace_kind_name(k), k);
        assert_contains(r.out, want);
    }
    assert_contains(r.out, "vcon trace event, #1 REG_WRITE\n");
    assert_contains(r.out, "Address: 0x00000000000003f8\n");
    assert_contains(r.out, "Value: 0x00000041\n");
    assert_contains(r.out, "Configuration: -l com1,stdio\n");
    assert_contains(r.out, "Guest physical address: 0x0000000000001000\n");
    assert_contains(r.out, "Payload length: 100\n");
    assert_contains(r.out, "Port name: p\"2\n");
    assert_contains(r.out, "What: connect (1)\n");
    assert_contains(r.out, "Nanoseconds advanced: 5000\n");
    assert_contains(r.out, "= Break: True\n");
    assert_contains(r.out, "= DCD: True\n");
    assert_contains(r.out, "Event count: 23\n");
    run_free(&r);

    /* The summary lines carry the dump's wording. */
    char *summary[] = {tshark, (char *)"-r", path, (char *)"-X", script, NULL};
    run_argv(&r, summary);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "VCON");
    assert_contains(r.out, "#1 dev=0 REG_WRITE pio 0x3f8/1 = 0x41\n");
    assert_contains(r.out, "#20 dev=0 MARK \"hello\\tworld\\x01\"\n");
    assert_contains(r.out, "#22 dev=0 MODEM_LINES lines=0xb0 (CTS DSR DCD)\n");
    run_free(&r);

    /* A display filter on a dissector field. */
    char *filtered[] = {tshark, (char *)"-r", path, (char *)"-X", script,
                        (char *)"-Y", (char *)"vcon.reg.address == 0x3fd", NULL};
    run_argv(&r, filtered);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "REG_READ pio 0x3fd/1");
    assert_not_contains(r.out, "REG_WRITE");
    run_free(&r);
}

static void tshark_flags_a_malformed_event(void **state)
{
    (void)state;
    char tshark[512];
    if (!find_in_path("tshark", tshark, sizeof(tshark))) {
        print_message("skipped: tshark is not installed, the Lua dissector is not tested\n");
        skip();
    }
    char path[256], bad[256], script[600];
    write_sample(path, sizeof(path), "tshark-bad-src.pcap", true);
    struct bytes b = read_whole_file(path);
    b.p[plain_body_offset(&b, 2) + 8] = 77; /* event 2: unknown kind */
    write_whole_file(tmp_path(bad, sizeof(bad), "tshark-bad.pcap"), b.p, b.len);
    free(b.p);
    snprintf(script, sizeof(script), "lua_script:%s", VCON_TRACE_LUA);
    struct run r;
    char *argv[] = {tshark, (char *)"-r", bad, (char *)"-X", script, (char *)"-V", NULL};
    run_argv(&r, argv);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "unknown event kind 77");
    assert_contains(r.out, "Kind: REG_WRITE (3)\n"); /* the others still decode */
    run_free(&r);
}

/* ---- the golden traces -------------------------------------------------- */

/* Every recorded trace of corpus/traces/ reads whole with dump and stat
 * (one dump line per event) and decodes in tshark without a malformed
 * event. */
static void golden_traces_dump_stat_and_dissect_cleanly(void **state)
{
    (void)state;
#ifndef VCON_GOLDEN_DIR
    print_message("skipped: no golden trace folder\n");
    skip();
#else
    DIR *d = opendir(VCON_GOLDEN_DIR);
    if (!d) {
        print_message("skipped: %s does not exist yet\n", VCON_GOLDEN_DIR);
        skip();
    }
    char tshark[512], script[600];
    bool have_tshark = find_in_path("tshark", tshark, sizeof(tshark));
    snprintf(script, sizeof(script), "lua_script:%s", VCON_TRACE_LUA);
    unsigned traces = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 9 || strcmp(e->d_name + len - 9, ".pcap.zst") != 0)
            continue;
        char path[768];
        snprintf(path, sizeof(path), "%s/%s", VCON_GOLDEN_DIR, e->d_name);
        traces++;
        struct run r;
        vt(&r, "stat", path, NULL);
        assert_int_equal(r.status, 0);
        assert_contains(r.out, "complete: yes\n");
        unsigned long long events = 0;
        const char *ev = strstr(r.out, "events: ");
        assert_non_null(ev);
        events = strtoull(ev + 8, NULL, 10);
        assert_true(events >= 2);
        run_free(&r);

        vt(&r, "dump", path, NULL);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.err, "");
        unsigned long long lines = 0;
        for (const char *p = r.out; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, events);
        char last[64];
        snprintf(last, sizeof(last), " END count=%llu\n", events - 1);
        assert_contains(r.out, last);
        run_free(&r);

        vt(&r, "diff", path, path, NULL);
        assert_int_equal(r.status, 0);
        run_free(&r);

        if (have_tshark) {
            char *argv[] = {tshark, (char *)"-r", path, (char *)"-X", script, (char *)"-V", NULL};
            run_argv(&r, argv);
            assert_int_equal(r.status, 0);
            assert_not_contains(r.out, "Malformed");
            assert_not_contains(r.err, "Lua: Error");
            assert_contains(r.out, "Kind: META (0)\n");
            assert_contains(r.out, "Kind: END (1)\n");
            run_free(&r);
        }
    }
    closedir(d);
    if (traces == 0) {
        print_message("skipped: no trace in %s yet\n", VCON_GOLDEN_DIR);
        skip();
    }
#endif
}

/* ---- minimize and to-test ----------------------------------------------- */

/* A stand-in for vcon-replay: a shell script that looks at the candidate
 * (its last argument) with `vcon-trace dump` and "crashes" with a
 * sanitizer-like report when the dump has certain events. `checking` is
 * true in the script when it was given --check. */
static const char *write_fake_replay(char *path, size_t size, const char *name, const char *body)
{
    tmp_path(path, size, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n"
               "checking=false\n"
               "for arg; do [ \"$arg\" = --check ] && checking=true; trace=$arg; done\n"
               "dump=$('%s' dump \"$trace\") || exit 2\n"
               "has() { printf '%%s\\n' \"$dump\" | grep -q \"$1\"; }\n"
               "%s\n"
               "echo 'match: replayed without divergence'\n"
               "exit 0\n",
            VCON_TRACE_BIN, body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

/* Crashes in uart_write when both the write of 0x41 and the 5000 ns clock
 * step are there; with the step alone it crashes somewhere else. */
static const char CRASH_NEEDS_TWO_INPUTS[] =
    "if has 'REG_WRITE pio 0x3f8/1 = 0x41' && has 'TIME_STEP ns=5000'; then\n"
    "  echo '==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020' >&2\n"
    "  echo '    #0 0x4a1b in __interceptor_memcpy "
    "../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:827' >&2\n"
    "  echo '    #1 0x55d4 in uart_write emu/uart.c:123:5' >&2\n"
    "  echo '    #2 0x55d5 in main replay/vcon_replay.c:12:5' >&2\n"
    "  exit 1\n"
    "fi\n"
    "if has 'TIME_STEP ns=5000'; then\n"
    "  echo '==7==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020' >&2\n"
    "  echo '    #0 0x55d4 in uart_timer emu/uart.c:300:5' >&2\n"
    "  exit 1\n"
    "fi";

static void minimize_keeps_the_inputs_a_crash_needs_at_the_same_site(void **state)
{
    (void)state;
    char path[256], out[256], fake[256];
    write_sample(path, sizeof(path), "crash.pcap.zst", false);
    tmp_path(out, sizeof(out), "crash-min.pcap.zst");
    write_fake_replay(fake, sizeof(fake), "fake-crash.sh", CRASH_NEEDS_TWO_INPUTS);
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "%s: 24 events, 10 inputs; crash: AddressSanitizer: heap-buffer-overflow in "
             "uart_write emu/uart.c:123\n",
             path);
    assert_contains(r.out, want);
    assert_contains(r.out, "kept 2 of 10 inputs (3 of 22 events)");
    assert_contains(r.out, "verified: crash: AddressSanitizer: heap-buffer-overflow in "
                           "uart_write emu/uart.c:123\n");
    run_free(&r);

    /* The two inputs, the TIMER_FIRE nested in the step, META and END. */
    vt(&r, "dump", out, NULL);
    assert_int_equal(r.status, 0);
    char *lines[16];
    assert_int_equal(split_lines(r.out, lines, 16), 5);
    assert_string_equal(lines[0], sample_dump[0]);
    assert_string_equal(lines[1], "#1 t=1.000000002 dev=0 REG_WRITE pio 0x3f8/1 = 0x41");
    assert_string_equal(lines[2], "#2 t=1.000014002 dev=0 TIME_STEP ns=5000");
    assert_string_equal(lines[3], "#3 t=1.000015002 dev=0 TIMER_FIRE index=0");
    assert_string_equal(lines[4], "#4 t=1.000015002 dev=0 END count=4");
    run_free(&r);
}

static void minimize_reads_a_ubsan_report_without_a_stack(void **state)
{
    (void)state;
    char path[256], out[256], fake[256];
    write_sample(path, sizeof(path), "ubsan.pcap.zst", false);
    tmp_path(out, sizeof(out), "ubsan-min.pcap");
    write_fake_replay(fake, sizeof(fake), "fake-ubsan.sh",
                      "if has 'RESIZE port=0 cols=80'; then\n"
                      "  echo 'emu/console.c:77:9: runtime error: shift exponent 40 is too large' >&2\n"
                      "  exit 1\n"
                      "fi");
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", fake, "--keep", "crash", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "crash: UndefinedBehaviorSanitizer: runtime error in emu/console.c:77\n");
    assert_contains(r.out, "kept 1 of 10 inputs (1 of 22 events)");
    run_free(&r);
    vt(&r, "dump", out, NULL);
    assert_contains(r.out, "#1 t=1.000017002 dev=0 RESIZE port=0 cols=80 rows=25\n"
                           "#2 t=1.000017002 dev=0 END count=2\n");
    run_free(&r);
}

/* Under --check only: a broken invariant after the write of 0x41. */
static const char INVARIANT_NEEDS_ONE_INPUT[] =
    "if $checking && has 'REG_WRITE pio 0x3f8/1 = 0x41'; then\n"
    "  echo 'INVARIANT BROKEN after event 1 (REG_WRITE)'\n"
    "  echo '  invariant violated: uart regs: IER keeps bits 0-3 only (IER 0x80)'\n"
    "  exit 3\n"
    "fi";

static void minimize_keeps_the_inputs_a_broken_invariant_needs_under_check(void **state)
{
    (void)state;
    char path[256], out[256], fake[256];
    write_sample(path, sizeof(path), "invariant.pcap.zst", false);
    tmp_path(out, sizeof(out), "invariant-min.pcap.zst");
    write_fake_replay(fake, sizeof(fake), "fake-invariant.sh", INVARIANT_NEEDS_ONE_INPUT);
    struct run r;
    /* Without --keep invariant, replays run without --check: no failure. */
    vt(&r, "minimize", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "does not crash or diverge: vcon-replay gives match");
    run_free(&r);
    vt(&r, "minimize", path, "-o", out, "--replay", fake, "--keep", "invariant", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "invariant violated: uart regs: IER keeps bits 0-3 only\n");
    assert_contains(r.out, "kept 1 of 10 inputs");
    assert_contains(r.out, "verified: invariant violated: uart regs: IER keeps bits 0-3 only\n");
    run_free(&r);
}

static void minimize_refuses_a_trace_that_does_not_fail_as_asked(void **state)
{
    (void)state;
    char path[256], out[256], fake[256];
    write_sample(path, sizeof(path), "nofail.pcap.zst", false);
    tmp_path(out, sizeof(out), "nofail-min.pcap.zst");
    write_fake_replay(fake, sizeof(fake), "fake-match.sh", ":");
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 1);
    char want[1024];
    snprintf(want, sizeof(want),
             "vcon-trace minimize: %s does not crash or diverge: vcon-replay gives match\n", path);
    assert_string_equal(r.err, want);
    assert_false(file_exists(out));
    run_free(&r);

    write_fake_replay(fake, sizeof(fake), "fake-crash2.sh", CRASH_NEEDS_TWO_INPUTS);
    vt(&r, "minimize", path, "-o", out, "--replay", fake, "--keep", "divergence", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "does not diverge: vcon-replay gives crash: AddressSanitizer: "
                           "heap-buffer-overflow in uart_write emu/uart.c:123");
    assert_false(file_exists(out));
    run_free(&r);
}

static void minimize_gives_up_on_a_replay_past_the_time_limit(void **state)
{
    (void)state;
    char path[256], out[256], fake[256];
    write_sample(path, sizeof(path), "hang.pcap.zst", false);
    tmp_path(out, sizeof(out), "hang-min.pcap.zst");
    write_fake_replay(fake, sizeof(fake), "fake-hang.sh", "sleep 20");
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", fake, "--timeout", "1", NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "does not crash or diverge: vcon-replay gives no answer within the "
                           "time limit\n");
    assert_false(file_exists(out));
    run_free(&r);
}

static void minimize_and_to_test_need_a_replayer_and_arguments(void **state)
{
    (void)state;
    char path[256], out[256], missing[256];
    write_sample(path, sizeof(path), "norep.pcap.zst", false);
    tmp_path(out, sizeof(out), "norep-min.pcap.zst");
    tmp_path(missing, sizeof(missing), "no-such-replay");
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", missing, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "no-such-replay: not an executable replayer");
    run_free(&r);
    vt(&r, "minimize", path, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "-o OUT is required");
    run_free(&r);
    vt(&r, "minimize", path, "-o", out, "--keep", "hang", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "--keep 'hang': expected crash, divergence or invariant");
    run_free(&r);
    vt(&r, "to-test", path, "-o", out, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "the test must be named regress_NAME.c");
    run_free(&r);
    vt(&r, "to-test", missing, "-o", "tests/regress_x.c", NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "no-such-replay: cannot open: No such file or directory");
    run_free(&r);
}

/* tmpdir/NAME/tests and tmpdir/NAME/corpus, a project tree for to-test. */
static void make_project(char *tests, size_t size, const char *name)
{
    char dir[256], corpus[300];
    tmp_path(dir, sizeof(dir), name);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(tests, size, "%s/tests", dir);
    snprintf(corpus, sizeof(corpus), "%s/corpus", dir);
    assert_int_equal(mkdir(tests, 0755), 0);
    assert_int_equal(mkdir(corpus, 0755), 0);
}

static void to_test_writes_a_match_test_and_refuses_a_crash(void **state)
{
    (void)state;
    char path[256], fake[256], tests[300], out[400], copied[400];
    write_sample(path, sizeof(path), "totest.pcap.zst", false);
    make_project(tests, sizeof(tests), "proj-match");
    snprintf(out, sizeof(out), "%s/regress_sample_run.c", tests);
    snprintf(copied, sizeof(copied), "%s/../corpus/traces/totest.pcap.zst", tests);

    write_fake_replay(fake, sizeof(fake), "fake-match2.sh", ":");
    struct run r;
    vt(&r, "to-test", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "replays corpus/traces/totest.pcap.zst, expects a match\n");
    assert_true(file_exists(copied));
    run_free(&r);
    struct bytes src = read_whole_file(out);
    assert_contains((char *)src.p, "static const char trace_path[] = VCON_CORPUS_DIR "
                                   "\"/traces/\" \"totest.pcap.zst\";\n");
    assert_contains((char *)src.p, "static void sample_run_replays_without_divergence(void **state)\n");
    assert_contains((char *)src.p, "    assert_int_equal(status, VCON_REPLAY_MATCH);\n");
    assert_contains((char *)src.p, "cmocka_unit_test(sample_run_replays_without_divergence)");
    free(src.p);

    /* Not again without --force. */
    vt(&r, "to-test", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "exists; pass --force to overwrite it");
    run_free(&r);

    /* A crash cannot be a test's expectation, unless the fix is. */
    write_fake_replay(fake, sizeof(fake), "fake-crash3.sh", CRASH_NEEDS_TWO_INPUTS);
    snprintf(out, sizeof(out), "%s/regress_crash.c", tests);
    vt(&r, "to-test", path, "-o", out, "--replay", fake, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "vcon-replay gives crash: AddressSanitizer: heap-buffer-overflow in "
                           "uart_write emu/uart.c:123; a test can expect a match or a divergence "
                           "(--expect match writes one for the fix)");
    assert_false(file_exists(out));
    run_free(&r);
    vt(&r, "to-test", path, "-o", out, "--replay", fake, "--expect", "match", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.err, "the test fails until that is fixed");
    assert_true(file_exists(out));
    run_free(&r);
}

static void to_test_writes_a_divergence_test_with_index_and_kind(void **state)
{
    (void)state;
    char path[256], fake[256], tests[300], out[400], corpus[400];
    write_sample(path, sizeof(path), "totest-div.pcap.zst", false);
    make_project(tests, sizeof(tests), "proj-div");
    snprintf(out, sizeof(out), "%s/regress_irq_0x41.c", tests);
    snprintf(corpus, sizeof(corpus), "%s/../corpus", tests);
    write_fake_replay(fake, sizeof(fake), "fake-div.sh",
                      "echo 'DIVERGENCE at event 9 (IRQ_LEVEL)'\n"
                      "echo '  event 9 IRQ_LEVEL: recorded line=4 level=1, ...'\n"
                      "exit 1");
    struct run r;
    vt(&r, "to-test", path, "-o", out, "--replay", fake, "--corpus", corpus, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "expects a divergence at event 9 (IRQ_LEVEL)\n");
    run_free(&r);
    struct bytes src = read_whole_file(out);
    assert_contains((char *)src.p, "static void irq_0x41_diverges_at_event_9_irq_level(void **state)\n");
    assert_contains((char *)src.p, "    assert_int_equal(status, VCON_REPLAY_DIVERGED);\n"
                                   "    assert_int_equal(event, 9u);\n"
                                   "    assert_string_equal(vcon_trace_kind_name(kind), \"IRQ_LEVEL\");\n");
    free(src.p);

    /* A different trace of the same name in the corpus is not overwritten. */
    char other[256], copy[500];
    struct sample s[NR_SAMPLES];
    sample_events(s);
    tmp_path(other, sizeof(other), "other");
    assert_int_equal(mkdir(other, 0755), 0);
    snprintf(other, sizeof(other), "%s/other/totest-div.pcap.zst", tmpdir);
    write_events(other, s, 3, false);
    vt(&r, "to-test", other, "-o", out, "--replay", fake, "--corpus", corpus, "--force", NULL);
    assert_int_equal(r.status, 0); /* --force: overwritten */
    run_free(&r);
    snprintf(copy, sizeof(copy), "%s/traces/totest-div.pcap.zst", corpus);
    assert_true(file_exists(copy));
    vt(&r, "to-test", path, "-o", out, "--replay", fake, "--corpus", corpus, "--force", NULL);
    assert_int_equal(r.status, 0);
    run_free(&r);
    vt(&r, "to-test", other, "-o", out, "--replay", fake, "--corpus", corpus, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "exists; pass --force to overwrite it");
    run_free(&r);
    assert_int_equal(unlink(out), 0);
    vt(&r, "to-test", other, "-o", out, "--replay", fake, "--corpus", corpus, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "totest-div.pcap.zst exists and differs from");
    run_free(&r);
}

/* ---- with the real vcon-replay --------------------------------------------- */

#ifdef VCON_REPLAY_BIN
/* A COM1 rig: twelve writes of the scratch register and, after the ninth,
 * a read of LSR. An idle UART answers 0x60; `lsr` is what is recorded. */
static void write_uart_trace(const char *path, uint32_t lsr)
{
    static const char config[] = "-s 1:0,lpc -l com1,stdio";
    struct vcon_trace_meta m = {.seed = 1, .ram_size = 16u << 20, .config = config,
                                .config_len = (uint16_t)strlen(config)};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &m, NULL, &w), 0);
    for (uint32_t i = 0; i < 12; i++) {
        struct vcon_trace_event e = {.kind = VCON_TRACE_REG_WRITE, .device = 255};
        e.reg.size = 1, e.reg.address = 0x3ff, e.reg.value = i;
        assert_int_equal(vcon_trace_writer_append(w, 1000u * i, &e), 0);
        if (i != 8)
            continue;
        e = (struct vcon_trace_event){.kind = VCON_TRACE_REG_READ, .device = 255};
        e.reg.size = 1, e.reg.address = 0x3fd;
        assert_int_equal(vcon_trace_writer_append(w, 1000u * i, &e), 0);
        e = (struct vcon_trace_event){.kind = VCON_TRACE_READ_RESULT, .device = 255};
        e.read_result.value = lsr;
        assert_int_equal(vcon_trace_writer_append(w, 1000u * i, &e), 0);
    }
    assert_int_equal(vcon_trace_writer_close(w), 0);
}
#endif

static void minimize_keeps_a_divergence_of_the_same_kind_with_vcon_replay(void **state)
{
    (void)state;
#ifndef VCON_REPLAY_BIN
    print_message("skipped: vcon-replay is not built\n");
    skip();
#else
    char path[256], out[256];
    tmp_path(path, sizeof(path), "uart-diverges.pcap.zst");
    tmp_path(out, sizeof(out), "uart-diverges-min.pcap.zst");
    write_uart_trace(path, 0x61);
    struct run r;
    vt(&r, "minimize", path, "-o", out, "--replay", VCON_REPLAY_BIN, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "uart-diverges.pcap.zst: 16 events, 13 inputs; divergence at event "
                           "11 (READ_RESULT)\n");
    assert_contains(r.out, "kept 1 of 13 inputs (2 of 14 events)");
    assert_contains(r.out, "verified: divergence at event 2 (READ_RESULT)\n");
    run_free(&r);
    vt(&r, "dump", out, NULL);
    assert_string_equal(r.out,
                        "#0 t=0.000000000 dev=0 META version=1.0 seed=1 ram=0x1000000 build_id=\"\" "
                        "config=\"-s 1:0,lpc -l com1,stdio\"\n"
                        "#1 t=0.000008000 dev=255 REG_READ pio 0x3fd/1\n"
                        "#2 t=0.000008000 dev=255 READ_RESULT = 0x61\n"
                        "#3 t=0.000008000 dev=0 END count=3\n");
    run_free(&r);
    char *replay[] = {(char *)VCON_REPLAY_BIN, out, NULL};
    run_argv(&r, replay);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "DIVERGENCE at event 2 (READ_RESULT)");
    run_free(&r);
#endif
}

static void to_test_asks_vcon_replay_for_the_outcome(void **state)
{
    (void)state;
#ifndef VCON_REPLAY_BIN
    print_message("skipped: vcon-replay is not built\n");
    skip();
#else
    char good[256], bad[256], tests[300], out[400];
    tmp_path(good, sizeof(good), "uart-good.pcap.zst");
    tmp_path(bad, sizeof(bad), "uart-bad.pcap.zst");
    write_uart_trace(good, 0x60);
    write_uart_trace(bad, 0x61);
    make_project(tests, sizeof(tests), "proj-real");
    snprintf(out, sizeof(out), "%s/regress_uart_good.c", tests);
    struct run r;
    vt(&r, "to-test", good, "-o", out, "--replay", VCON_REPLAY_BIN, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "expects a match\n");
    run_free(&r);
    snprintf(out, sizeof(out), "%s/regress_uart_bad.c", tests);
    vt(&r, "to-test", bad, "-o", out, "--replay", VCON_REPLAY_BIN, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "expects a divergence at event 11 (READ_RESULT)\n");
    run_free(&r);
    struct bytes src = read_whole_file(out);
    assert_contains((char *)src.p, "    assert_int_equal(event, 11u);\n"
                                   "    assert_string_equal(vcon_trace_kind_name(kind), \"READ_RESULT\");\n");
    free(src.p);
#endif
}

/* vcon-replay's report quotes the diverging event and the events before it
 * with the very lines `vcon-trace dump` prints for them. */
static void vcon_replay_reports_events_as_dump_prints_them(void **state)
{
    (void)state;
#ifndef VCON_REPLAY_BIN
    print_message("skipped: vcon-replay is not built\n");
    skip();
#else
    char path[256];
    tmp_path(path, sizeof(path), "uart-report.pcap.zst");
    write_uart_trace(path, 0x61);
    struct run dump, replay;
    vt(&dump, "dump", path, NULL);
    assert_int_equal(dump.status, 0);
    char *argv[] = {(char *)VCON_REPLAY_BIN, path, NULL};
    run_argv(&replay, argv);
    assert_int_equal(replay.status, 1);
    assert_contains(replay.out, "DIVERGENCE at event 11 (READ_RESULT)\n");
    char *lines[32], want[256];
    const size_t n = split_lines(dump.out, lines, 32);
    assert_int_equal(n, 16);
    assert_string_equal(lines[11], "#11 t=0.000008000 dev=255 READ_RESULT = 0x61");
    snprintf(want, sizeof(want), "  recorded:\n    %s\n  the 8 events before it:\n", lines[11]);
    assert_contains(replay.out, want);
    for (size_t i = 3; i < 11; i++) {
        snprintf(want, sizeof(want), "\n    %s\n", lines[i]);
        assert_contains(replay.out, want);
    }
    run_free(&dump);
    run_free(&replay);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dump_prints_one_line_per_event_of_every_kind),
        cmocka_unit_test(dump_of_a_plain_pcap_is_the_same),
        cmocka_unit_test(dump_full_prints_whole_payloads),
        cmocka_unit_test(library_formats_the_dump_line_of_every_kind_into_a_buffer),
        cmocka_unit_test(library_cuts_a_line_to_its_buffer_and_reads_no_further),
        cmocka_unit_test(dump_of_a_truncated_trace_says_where_and_exits_0),
        cmocka_unit_test(dump_of_a_damaged_trace_names_file_and_event_and_exits_2),
        cmocka_unit_test(dump_of_a_missing_file_exits_2),
        cmocka_unit_test(garbage_is_not_a_trace_for_any_subcommand),
        cmocka_unit_test(stat_counts_kinds_and_devices_and_reports_sizes),
        cmocka_unit_test(stat_of_a_truncated_trace_says_it_is_incomplete),
        cmocka_unit_test(cut_copies_the_range_into_a_valid_trace),
        cmocka_unit_test(cut_defaults_to_the_whole_trace_and_keeps_plain_names_plain),
        cmocka_unit_test(cut_may_overwrite_its_input),
        cmocka_unit_test(cut_refuses_ranges_outside_the_trace),
        cmocka_unit_test(cut_of_a_truncated_trace_copies_up_to_the_cut),
        cmocka_unit_test(diff_of_identical_traces_exits_0),
        cmocka_unit_test(diff_names_the_first_changed_event_and_exits_1),
        cmocka_unit_test(diff_tells_payload_time_and_kind_differences),
        cmocka_unit_test(diff_reports_the_trace_that_ends_first),
        cmocka_unit_test(diff_ignore_labels_skips_marks_and_kicks),
        cmocka_unit_test(diff_of_a_missing_or_damaged_trace_exits_2),
        cmocka_unit_test(every_subcommand_has_help_that_exits_0),
        cmocka_unit_test(bad_usage_exits_2_with_a_hint),
        cmocka_unit_test(tshark_with_the_lua_dissector_decodes_every_kind),
        cmocka_unit_test(tshark_flags_a_malformed_event),
        cmocka_unit_test(golden_traces_dump_stat_and_dissect_cleanly),
        cmocka_unit_test(minimize_keeps_the_inputs_a_crash_needs_at_the_same_site),
        cmocka_unit_test(minimize_reads_a_ubsan_report_without_a_stack),
        cmocka_unit_test(minimize_keeps_the_inputs_a_broken_invariant_needs_under_check),
        cmocka_unit_test(minimize_refuses_a_trace_that_does_not_fail_as_asked),
        cmocka_unit_test(minimize_gives_up_on_a_replay_past_the_time_limit),
        cmocka_unit_test(minimize_and_to_test_need_a_replayer_and_arguments),
        cmocka_unit_test(to_test_writes_a_match_test_and_refuses_a_crash),
        cmocka_unit_test(to_test_writes_a_divergence_test_with_index_and_kind),
        cmocka_unit_test(minimize_keeps_a_divergence_of_the_same_kind_with_vcon_replay),
        cmocka_unit_test(to_test_asks_vcon_replay_for_the_outcome),
        cmocka_unit_test(vcon_replay_reports_events_as_dump_prints_them),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
