/* The trace format (docs/trace-format.md): what the writer produces, what
 * the reader accepts, and every way the reader refuses a damaged or foreign
 * file, with the exact messages of the spec. */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zstd.h>

#include "vcon/trace.h"

/* ---- scratch files ---------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/vcon-trace-format-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (!d)
        return -1;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

/* ---- byte buffers ----------------------------------------------------- */

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void bytes_le(struct bytes *b, uint64_t v, unsigned n)
{
    uint8_t tmp[8];
    put_le(tmp, v, n);
    bytes_add(b, tmp, n);
}

static struct bytes read_whole_file(const char *path)
{
    struct bytes b = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        bytes_add(&b, chunk, n);
    fclose(f);
    return b;
}

static struct bytes zstd_compress(const struct bytes *plain)
{
    struct bytes z = {0};
    z.cap = ZSTD_compressBound(plain->len);
    z.p = malloc(z.cap);
    assert_non_null(z.p);
    size_t n = ZSTD_compress(z.p, z.cap, plain->p, plain->len, 3);
    assert_false(ZSTD_isError(n));
    z.len = n;
    return z;
}

/* ---- sample events ---------------------------------------------------- */

static uint8_t pattern[VCON_TRACE_SNAPLEN];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 131u + (i >> 8) + 7u);
}

static const char BUILD_ID[] = "vcon-test-build-1";
static const char CONFIG[] = "virtio-console,@stdio:stdio_port,@pty:pty_port";

static struct vcon_trace_meta sample_meta(void)
{
    struct vcon_trace_meta m = {0};
    m.seed = 0x0123456789abcdefull;
    m.ram_size = 64ull << 20;
    m.build_id = BUILD_ID;
    m.build_id_len = (uint16_t)strlen(BUILD_ID);
    m.config = CONFIG;
    m.config_len = (uint16_t)strlen(CONFIG);
    return m;
}

static struct vcon_trace_event payload_event(uint16_t kind, uint32_t len)
{
    struct vcon_trace_event ev = {.kind = kind};
    ev.payload = len ? pattern : NULL;
    ev.payload_len = len;
    return ev;
}

/* One of every kind but META and END, with empty and largest payloads and
 * fields at their extremes. Returns how many. */
static size_t sample_events(struct vcon_trace_event *out)
{
    size_t n = 0;
    struct vcon_trace_event ev;

    ev = (struct vcon_trace_event){.kind = VCON_TRACE_REG_READ, .device = 3};
    ev.reg.space = VCON_TRACE_SPACE_MMIO;
    ev.reg.size = 4;
    ev.reg.address = 0xfebf1000ull;
    ev.reg.value = 0xdeadbeef;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_REG_WRITE};
    ev.reg.space = VCON_TRACE_SPACE_PIO;
    ev.reg.size = 1;
    ev.reg.address = 0x3f8;
    ev.reg.value = 0x41;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_REG_WRITE, .device = 255};
    ev.reg.space = VCON_TRACE_SPACE_PCI_CONFIG;
    ev.reg.size = 2;
    ev.reg.address = UINT64_MAX;
    ev.reg.value = 0xffff;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_MEM_READ, 0);
    ev.mem.gpa = 0xfffffffffffff000ull;
    ev.mem.length = 16;
    ev.mem.result = -EFAULT;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_MEM_READ, vcon_trace_max_payload(VCON_TRACE_MEM_READ));
    ev.mem.gpa = 0x1000;
    ev.mem.length = ev.payload_len;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_MEM_READ, 0);
    ev.mem.gpa = 0x2000;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_MEM_WRITE, 0);
    ev.mem.gpa = 0x3000;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_MEM_WRITE, vcon_trace_max_payload(VCON_TRACE_MEM_WRITE));
    ev.mem.gpa = 0x4000;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_MEM_WRITE, 6);
    ev.mem.gpa = 0xffffffff00000000ull;
    ev.mem.result = INT32_MIN;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_GUEST_MEM_WRITE, 0);
    ev.mem.gpa = 0x5000;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_GUEST_MEM_WRITE,
                       vcon_trace_max_payload(VCON_TRACE_GUEST_MEM_WRITE));
    ev.mem.gpa = 0x6000;
    out[n++] = ev;

    ev = (struct vcon_trace_event){.kind = VCON_TRACE_KICK, .device = 1};
    ev.kick.queue = 0xffff;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_IRQ_LEVEL};
    ev.irq.line = 0xffffffffu;
    ev.irq.level = 1;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_IRQ_LEVEL};
    ev.irq.line = 4;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_MSI};
    ev.msi.address = 0xfee00000ull;
    ev.msi.data = 0xffffffffu;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_BACKEND_READ, 0);
    ev.backend.port = 0;
    ev.backend.requested = 64;
    ev.backend.result = 0;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_BACKEND_READ, 0);
    ev.backend.port = 0xffff;
    ev.backend.requested = UINT32_MAX;
    ev.backend.result = -2;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_BACKEND_READ, vcon_trace_max_payload(VCON_TRACE_BACKEND_READ));
    ev.backend.port = 7;
    ev.backend.requested = ev.payload_len;
    ev.backend.result = (int32_t)ev.payload_len;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_BACKEND_WRITE, 5);
    ev.backend.port = 1;
    ev.backend.result = -1;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_BACKEND_WRITE,
                       vcon_trace_max_payload(VCON_TRACE_BACKEND_WRITE));
    ev.backend.port = 2;
    ev.backend.result = (int32_t)ev.payload_len;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_BACKEND_WRITE, 0);
    ev.backend.port = 3;
    out[n++] = ev;

    for (uint8_t what = VCON_TRACE_BACKEND_READY; what <= VCON_TRACE_BACKEND_EOF; what++) {
        ev = (struct vcon_trace_event){.kind = VCON_TRACE_BACKEND_EVENT};
        ev.backend_event.port = (uint16_t)(100 + what);
        ev.backend_event.what = what;
        out[n++] = ev;
    }
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_TIME_STEP};
    ev.time_step.ns = UINT64_MAX;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_TIMER_FIRE};
    ev.timer.index = 0xffffffffu;
    out[n++] = ev;

    ev = payload_event(VCON_TRACE_HOTPLUG, 5);
    ev.payload = (const uint8_t *)"vcon0";
    ev.hotplug.port = 1;
    ev.hotplug.add = 1;
    ev.hotplug.is_console = 1;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_HOTPLUG, 0);
    ev.hotplug.port = 0xffff;
    out[n++] = ev;
    ev = payload_event(VCON_TRACE_HOTPLUG, vcon_trace_max_payload(VCON_TRACE_HOTPLUG));
    ev.hotplug.add = 1;
    out[n++] = ev;

    ev = (struct vcon_trace_event){.kind = VCON_TRACE_RESIZE};
    ev.resize.port = 1;
    ev.resize.cols = 80;
    ev.resize.rows = 0xffff;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_RESET, .device = 200};
    out[n++] = ev;
    out[n++] = payload_event(VCON_TRACE_MARK, 0);
    out[n++] = payload_event(VCON_TRACE_MARK, vcon_trace_max_payload(VCON_TRACE_MARK));
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_READ_RESULT, .device = 1};
    ev.read_result.value = 0xfffffffe;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_UART_LINE_ERROR};
    ev.line_error.byte = 0xff;
    ev.line_error.errors = 0x1c;
    out[n++] = ev;
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_MODEM_LINES};
    ev.modem.lines = 0xf0;
    out[n++] = ev;
    return n;
}

#define MAX_SAMPLES 64

/* Field by field, so that a field the codec drops shows up by name. */
static void assert_same_event(const struct vcon_trace_event *want,
                              const struct vcon_trace_event *got)
{
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->device, want->device);
    switch (want->kind) {
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        assert_int_equal(got->reg.space, want->reg.space);
        assert_int_equal(got->reg.size, want->reg.size);
        assert_int_equal(got->reg.address, want->reg.address);
        assert_int_equal(got->reg.value, want->reg.value);
        break;
    case VCON_TRACE_MEM_READ:
        assert_int_equal(got->mem.length, want->mem.length);
        /* fall through */
    case VCON_TRACE_MEM_WRITE:
        assert_int_equal(got->mem.result, want->mem.result);
        /* fall through */
    case VCON_TRACE_GUEST_MEM_WRITE:
        assert_int_equal(got->mem.gpa, want->mem.gpa);
        break;
    case VCON_TRACE_KICK:
        assert_int_equal(got->kick.queue, want->kick.queue);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        assert_int_equal(got->irq.line, want->irq.line);
        assert_int_equal(got->irq.level, want->irq.level);
        break;
    case VCON_TRACE_MSI:
        assert_int_equal(got->msi.address, want->msi.address);
        assert_int_equal(got->msi.data, want->msi.data);
        break;
    case VCON_TRACE_BACKEND_READ:
        assert_int_equal(got->backend.requested, want->backend.requested);
        /* fall through */
    case VCON_TRACE_BACKEND_WRITE:
        assert_int_equal(got->backend.port, want->backend.port);
        assert_int_equal(got->backend.result, want->backend.result);
        break;
    case VCON_TRACE_BACKEND_EVENT:
        assert_int_equal(got->backend_event.port, want->backend_event.port);
        assert_int_equal(got->backend_event.what, want->backend_event.what);
        break;
    case VCON_TRACE_TIME_STEP:
        assert_int_equal(got->time_step.ns, want->time_step.ns);
        break;
    case VCON_TRACE_TIMER_FIRE:
        assert_int_equal(got->timer.index, want->timer.index);
        break;
    case VCON_TRACE_HOTPLUG:
        assert_int_equal(got->hotplug.port, want->hotplug.port);
        assert_int_equal(got->hotplug.add, want->hotplug.add);
        assert_int_equal(got->hotplug.is_console, want->hotplug.is_console);
        break;
    case VCON_TRACE_RESIZE:
        assert_int_equal(got->resize.port, want->resize.port);
        assert_int_equal(got->resize.cols, want->resize.cols);
        assert_int_equal(got->resize.rows, want->resize.rows);
        break;
    case VCON_TRACE_READ_RESULT:
        assert_int_equal(got->read_result.value, want->read_result.value);
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        assert_int_equal(got->line_error.byte, want->line_error.byte);
        assert_int_equal(got->line_error.errors, want->line_error.errors);
        break;
    case VCON_TRACE_MODEM_LINES:
        assert_int_equal(got->modem.lines, want->modem.lines);
        break;
    default:
        break;
    }
    assert_int_equal(got->payload_len, want->payload_len);
    if (want->payload_len)
        assert_memory_equal(got->payload, want->payload, want->payload_len);
}

/* ---- reading whole traces --------------------------------------------- */

struct outcome {
    int ret;         /* what the last vcon_trace_reader_next() answered */
    uint64_t events; /* delivered, META included */
    char message[256];
};

static struct outcome read_through(struct vcon_trace_reader *r)
{
    struct outcome o = {0};
    struct vcon_trace_event ev;
    uint64_t t;
    while ((o.ret = vcon_trace_reader_next(r, &t, &ev)) == 1)
        ;
    o.events = vcon_trace_reader_events(r);
    snprintf(o.message, sizeof(o.message), "%s", vcon_trace_reader_error(r));
    if (o.ret < 0)
        assert_true(o.message[0] != '\0');
    vcon_trace_reader_close(r);
    return o;
}

/* Reads from a heap copy of exactly len bytes, so that ASan sees any read
 * past the end. */
static struct outcome read_memory(const uint8_t *buf, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open_memory(copy, len, &r), 0);
    struct outcome o = read_through(r);
    free(copy);
    return o;
}

static struct outcome read_file(const char *path)
{
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    return read_through(r);
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- round trips ------------------------------------------------------ */

static void round_trip_every_kind(int plain)
{
    char path[256];
    tmp_path(path, sizeof(path), plain ? "kinds.pcap" : "kinds.pcap.zst");
    struct vcon_trace_event samples[MAX_SAMPLES];
    size_t n = sample_events(samples);
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.plain = plain};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vcon_trace_writer_append(w, 1000 + i, &samples[i]), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);

    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    struct vcon_trace_event ev;
    uint64_t t;
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
    assert_int_equal(ev.kind, VCON_TRACE_META);
    assert_int_equal(vcon_trace_reader_compressed(r), plain ? 0 : 1);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
        assert_int_equal(ev.seq, i + 1);
        assert_int_equal(t, 1000 + i);
        assert_same_event(&samples[i], &ev);
    }
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 0);
    assert_int_equal(ev.kind, VCON_TRACE_END);
    assert_int_equal(ev.end.count, n + 1);
    assert_int_equal(vcon_trace_reader_events(r), n + 1);
    assert_string_equal(vcon_trace_reader_error(r), "");
    vcon_trace_reader_close(r);
}

static void every_kind_round_trips_compressed_with_empty_and_max_payloads(void **state)
{
    (void)state;
    round_trip_every_kind(0);
}

static void every_kind_round_trips_as_plain_pcap(void **state)
{
    (void)state;
    round_trip_every_kind(1);
}

static void every_kind_decodes_to_what_was_encoded(void **state)
{
    (void)state;
    struct vcon_trace_event samples[MAX_SAMPLES];
    size_t n = sample_events(samples);
    static uint8_t body[VCON_TRACE_SNAPLEN];
    char err[256];
    for (size_t i = 0; i < n; i++) {
        samples[i].seq = 0x1122334455667788ull + i;
        int len = vcon_trace_event_encode(&samples[i], body, sizeof(body), err, sizeof(err));
        assert_true(len >= (int)VCON_TRACE_HEADER_SIZE);
        struct vcon_trace_event got;
        assert_int_equal(vcon_trace_event_decode(body, (size_t)len, &got, err, sizeof(err)), 0);
        assert_int_equal(got.seq, samples[i].seq);
        assert_same_event(&samples[i], &got);
    }
}

static void meta_carries_version_seed_ram_and_strings(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "meta.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    meta.version_major = 99; /* ignored: the writer writes its own version */
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);

    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    assert_null(vcon_trace_reader_meta(r));
    struct vcon_trace_event ev;
    uint64_t t = 1;
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
    assert_int_equal(t, 0);
    assert_int_equal(ev.seq, 0);
    assert_int_equal(ev.kind, VCON_TRACE_META);
    assert_int_equal(ev.meta.version_major, VCON_TRACE_VERSION_MAJOR);
    assert_int_equal(ev.meta.version_minor, VCON_TRACE_VERSION_MINOR);
    assert_int_equal(ev.meta.seed, meta.seed);
    assert_int_equal(ev.meta.ram_size, meta.ram_size);
    assert_string_equal(ev.meta.build_id, BUILD_ID);
    assert_int_equal(ev.meta.build_id_len, strlen(BUILD_ID));
    assert_string_equal(ev.meta.config, CONFIG);
    const struct vcon_trace_meta *m = vcon_trace_reader_meta(r);
    assert_non_null(m);
    assert_string_equal(m->config, CONFIG);
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 0);
    assert_int_equal(ev.end.count, 1);
    /* Still the build id after META's record buffer was reused. */
    assert_string_equal(vcon_trace_reader_meta(r)->build_id, BUILD_ID);
    vcon_trace_reader_close(r);
}

static void meta_strings_may_be_empty(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "meta-empty.pcap.zst");
    struct vcon_trace_meta meta = {0};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    struct vcon_trace_event ev;
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 1);
    assert_string_equal(ev.meta.build_id, "");
    assert_string_equal(ev.meta.config, "");
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 0);
    vcon_trace_reader_close(r);
}

static void sequence_numbers_count_up_and_timestamps_keep_every_nanosecond(void **state)
{
    (void)state;
    static const uint64_t times[] = {
        0, 0, 1, 999999999, 1000000000, 1000000001, 4294967295999999999ull,
        4294967295999999999ull,
    };
    char path[256];
    tmp_path(path, sizeof(path), "times.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct vcon_trace_event ev = {.kind = VCON_TRACE_TIMER_FIRE, .seq = 777};
        ev.timer.index = (uint32_t)i;
        assert_int_equal(vcon_trace_writer_append(w, times[i], &ev), 0);
    }
    struct vcon_trace_writer_stats st;
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events, 1 + sizeof(times) / sizeof(times[0]));
    assert_int_equal(vcon_trace_writer_close(w), 0);

    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    struct vcon_trace_event ev;
    uint64_t t;
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
        assert_int_equal(ev.seq, i + 1);
        assert_int_equal(ev.timer.index, i);
        assert_int_equal(t, times[i]);
    }
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 0);
    assert_int_equal(ev.seq, 1 + sizeof(times) / sizeof(times[0]));
    assert_int_equal(t, times[sizeof(times) / sizeof(times[0]) - 1]);
    /* END stays the answer. */
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 0);
    assert_int_equal(ev.kind, VCON_TRACE_END);
    vcon_trace_reader_close(r);
}

static void writer_refuses_time_going_backwards_or_past_pcap_range(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "backwards.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    struct vcon_trace_event ev = {.kind = VCON_TRACE_RESET};
    assert_int_equal(vcon_trace_writer_append(w, 50, &ev), 0);
    assert_int_equal(vcon_trace_writer_append(w, 49, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w),
                        "time 49 ns is before the previous event's 50 ns");
    assert_int_equal(vcon_trace_writer_append(w, 4294967296000000000ull, &ev), -ERANGE);
    /* The refusals did not break the writer. */
    assert_int_equal(vcon_trace_writer_append(w, 50, &ev), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);
    struct outcome o = read_file(path);
    assert_int_equal(o.ret, 0);
    assert_int_equal(o.events, 3);
}

static void writer_refuses_fields_the_reader_would_refuse(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "refuse.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);

    struct vcon_trace_event ev = {.kind = VCON_TRACE_META};
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w), "META is written by the writer itself");
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_END};
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_KIND_COUNT};
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w), "unknown event kind 22");

    ev = (struct vcon_trace_event){.kind = VCON_TRACE_REG_WRITE};
    ev.reg.size = 3;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w), "REG_WRITE size 3 is not 1, 2 or 4");
    ev.reg.size = 1;
    ev.reg.value = 0x100;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w),
                        "REG_WRITE value 0x100 does not fit in 1 bytes");
    ev.reg.value = 0;
    ev.reg.space = 3;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);

    ev = payload_event(VCON_TRACE_MARK, vcon_trace_max_payload(VCON_TRACE_MARK) + 1);
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EMSGSIZE);
    ev = payload_event(VCON_TRACE_KICK, 1);
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w), "KICK carries no payload");
    ev = payload_event(VCON_TRACE_MARK, 4);
    ev.payload = NULL;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);

    ev = payload_event(VCON_TRACE_BACKEND_READ, 4);
    ev.backend.requested = 8;
    ev.backend.result = 5;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w),
                        "BACKEND_READ payload is 4 bytes, expected 5 (result 5)");
    ev.backend.requested = 3;
    ev.backend.result = 4;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    assert_string_equal(vcon_trace_writer_error(w),
                        "BACKEND_READ result 4 exceeds the 3 bytes requested");
    ev = payload_event(VCON_TRACE_BACKEND_WRITE, 4);
    ev.backend.result = 5;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev = payload_event(VCON_TRACE_MEM_READ, 4);
    ev.mem.length = 4;
    ev.mem.result = -EFAULT;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev.mem.result = 1;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_IRQ_LEVEL};
    ev.irq.level = 2;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_BACKEND_EVENT};
    ev.backend_event.what = 4;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev = (struct vcon_trace_event){.kind = VCON_TRACE_HOTPLUG};
    ev.hotplug.add = 2;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);
    ev.hotplug.add = 0;
    ev.hotplug.is_console = 2;
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EINVAL);

    struct vcon_trace_writer_stats st;
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events, 1); /* nothing refused got a number */
    assert_int_equal(vcon_trace_writer_close(w), 0);
    struct outcome o = read_file(path);
    assert_int_equal(o.ret, 0);
    assert_int_equal(o.events, 1);
}

static void writer_open_refuses_bad_arguments(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "args.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    meta.build_id = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), -EINVAL);
    meta = sample_meta();
    struct vcon_trace_writer_options opts = {.flush_bytes = 17u * 1024u * 1024u};
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), -EINVAL);
    tmp_path(path, sizeof(path), "no-such-dir/x.pcap.zst");
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), -ENOENT);
    assert_null(w);
}

/* ---- flushing and frames ---------------------------------------------- */

static size_t count_zstd_frames(const struct bytes *b)
{
    size_t frames = 0, off = 0;
    while (off < b->len) {
        size_t n = ZSTD_findFrameCompressedSize(b->p + off, b->len - off);
        assert_false(ZSTD_isError(n));
        off += n;
        frames++;
    }
    return frames;
}

static void pattern_event(struct vcon_trace_event *ev, uint64_t i)
{
    *ev = (struct vcon_trace_event){.kind = VCON_TRACE_BACKEND_WRITE, .device = (uint8_t)i};
    ev->backend.port = (uint16_t)(i % 7);
    ev->payload = pattern + (i % 1000);
    ev->payload_len = (uint32_t)(i % 53);
    ev->backend.result = (int32_t)ev->payload_len;
}

static void many_events_span_several_zstd_frames(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "frames.pcap.zst");
    const uint64_t n = 20000;
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    for (uint64_t i = 1; i <= n; i++) {
        struct vcon_trace_event ev;
        pattern_event(&ev, i);
        assert_int_equal(vcon_trace_writer_append(w, i * 10, &ev), 0);
    }
    struct vcon_trace_writer_stats st;
    vcon_trace_writer_get_stats(w, &st);
    /* Default frame: 4096 events. */
    assert_int_equal(st.frames, (n + 1) / 4096);
    assert_int_equal(vcon_trace_writer_close(w), 0);

    struct bytes file = read_whole_file(path);
    assert_int_equal(count_zstd_frames(&file), (n + 1) / 4096 + 1);
    free(file.p);

    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    struct vcon_trace_event ev, want;
    uint64_t t;
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
    for (uint64_t i = 1; i <= n; i++) {
        assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 1);
        pattern_event(&want, i);
        assert_int_equal(ev.seq, i);
        assert_int_equal(t, i * 10);
        assert_same_event(&want, &ev);
    }
    assert_int_equal(vcon_trace_reader_next(r, &t, &ev), 0);
    assert_int_equal(ev.end.count, n + 1);
    vcon_trace_reader_close(r);
}

static void events_reach_the_file_when_the_flush_budget_is_spent(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "budget.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.flush_events = 10};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    struct vcon_trace_writer_stats st;
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events_flushed, 1); /* META is flushed at once */

    struct vcon_trace_event ev = {.kind = VCON_TRACE_KICK};
    for (int i = 0; i < 9; i++)
        assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0);
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events, 10);
    assert_int_equal(st.events_flushed, 1);
    struct outcome o = read_file(path);
    assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
    assert_int_equal(o.events, 1);
    assert_string_equal(o.message, "truncated after event 0");

    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0); /* the 10th */
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events_flushed, 11);
    o = read_file(path);
    assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
    assert_int_equal(o.events, 11);
    assert_string_equal(o.message, "truncated after event 10");

    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0);
    assert_int_equal(vcon_trace_writer_flush(w), 0);
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events_flushed, 12);
    o = read_file(path);
    assert_int_equal(o.events, 12);
    assert_int_equal(vcon_trace_writer_close(w), 0);
}

static void byte_budget_flushes_before_the_event_budget(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "bytes-budget.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.flush_events = 1000, .flush_bytes = 4096};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    struct vcon_trace_event ev = payload_event(VCON_TRACE_MARK, 1000);
    struct vcon_trace_writer_stats st;
    for (int i = 0; i < 3; i++)
        assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0);
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events_flushed, 1);
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0); /* > 4096 bytes pending */
    vcon_trace_writer_get_stats(w, &st);
    assert_int_equal(st.events_flushed, 5);
    assert_int_equal(vcon_trace_writer_close(w), 0);
}

static void emergency_flush_makes_pending_events_readable(void **state)
{
    (void)state;
    char path[256];
    tmp_path(path, sizeof(path), "emergency.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    struct vcon_trace_event ev;
    for (uint64_t i = 1; i <= 10; i++) {
        pattern_event(&ev, i);
        assert_int_equal(vcon_trace_writer_append(w, i, &ev), 0);
    }
    assert_int_equal(read_file(path).events, 1);
    assert_int_equal(vcon_trace_writer_emergency_flush(w), 0);
    struct outcome o = read_file(path);
    assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
    assert_int_equal(o.events, 11);

    /* The writer goes on in a new frame after an emergency flush. */
    for (uint64_t i = 11; i <= 20; i++) {
        pattern_event(&ev, i);
        assert_int_equal(vcon_trace_writer_append(w, i, &ev), 0);
    }
    assert_int_equal(vcon_trace_writer_close(w), 0);
    o = read_file(path);
    assert_int_equal(o.ret, 0);
    assert_int_equal(o.events, 21);
}

static void write_errors_are_reported_and_sticky(void **state)
{
    (void)state;
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer *w = NULL;
    /* /dev/full takes nothing: the first flush in open fails. */
    assert_int_equal(vcon_trace_writer_open("/dev/full", &meta, NULL, &w), -ENOSPC);

    /* A pipe whose reader goes away after the header got through. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
    struct sigaction ignore = {0}, old;
    ignore.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGPIPE, &ignore, &old), 0);
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    close(fds[0]);
    struct vcon_trace_event ev = {.kind = VCON_TRACE_RESET};
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0); /* only pending */
    assert_int_equal(vcon_trace_writer_flush(w), -EPIPE);
    assert_string_equal(vcon_trace_writer_error(w), "writing the trace: Broken pipe");
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), -EPIPE);
    assert_int_equal(vcon_trace_writer_flush(w), -EPIPE);
    assert_int_equal(vcon_trace_writer_close(w), -EPIPE);
    close(fds[1]);
    sigaction(SIGPIPE, &old, NULL);
}

/* ---- truncation ------------------------------------------------------- */

struct boundary {
    uint64_t bytes;  /* file size after a flush */
    uint64_t events; /* events in the file then */
};

/* A small trace flushed after every event; returns its bytes and where each
 * event's flush ended. */
static struct bytes small_trace(int plain, unsigned flush_events, struct boundary *bounds,
                                size_t *nbounds, uint64_t n)
{
    char path[256];
    tmp_path(path, sizeof(path), plain ? "small.pcap" : "small.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.plain = plain, .flush_events = flush_events,
                                             .frame_events = 25};
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    struct vcon_trace_writer_stats st;
    vcon_trace_writer_get_stats(w, &st);
    size_t k = 0;
    bounds[k++] = (struct boundary){st.bytes_written, st.events_flushed};
    for (uint64_t i = 1; i <= n; i++) {
        struct vcon_trace_event ev;
        pattern_event(&ev, i);
        if (i % 5 == 0)
            ev = (struct vcon_trace_event){.kind = VCON_TRACE_KICK, .kick.queue = 1};
        assert_int_equal(vcon_trace_writer_append(w, i * 3, &ev), 0);
        vcon_trace_writer_get_stats(w, &st);
        if (st.bytes_written != bounds[k - 1].bytes)
            bounds[k++] = (struct boundary){st.bytes_written, st.events_flushed};
    }
    assert_int_equal(vcon_trace_writer_close(w), 0);
    *nbounds = k;
    return read_whole_file(path);
}

/* Events that are in the first `cut` bytes for sure. */
static uint64_t flushed_before(const struct boundary *bounds, size_t n, size_t cut)
{
    uint64_t events = 0;
    for (size_t i = 0; i < n; i++)
        if (bounds[i].bytes <= cut)
            events = bounds[i].events;
    return events;
}

static void cut_everywhere(int plain)
{
    const uint64_t n = 60;
    struct boundary bounds[128];
    size_t nb;
    struct bytes trace = small_trace(plain, 1, bounds, &nb, n);
    assert_int_equal(nb, n + 1);
    for (size_t cut = 0; cut < trace.len; cut++) {
        struct outcome o = read_memory(trace.p, cut);
        uint64_t flushed = flushed_before(bounds, nb, cut);
        if (o.ret == 0) {
            /* Only a cut inside the last frame's epilogue keeps END. */
            assert_false(plain);
            assert_true(cut >= bounds[nb - 1].bytes);
            assert_int_equal(o.events, n + 1);
            continue;
        }
        if (o.ret != VCON_TRACE_TRUNCATED)
            fail_msg("cut at %zu of %zu: %d %s", cut, trace.len, o.ret, o.message);
        /* Every flushed event and nothing more, but for the last event of a
         * frame, complete before the frame's 4-byte checksum is. */
        if (plain)
            assert_int_equal(o.events, flushed);
        else
            assert_in_range(o.events, flushed, flushed_before(bounds, nb, cut + 4));
        if (o.events == 0)
            assert_string_equal(o.message, "truncated before the first event");
        else {
            char want[64];
            snprintf(want, sizeof(want), "truncated after event %" PRIu64, o.events - 1);
            assert_string_equal(o.message, want);
        }
    }
    free(trace.p);
}

static void compressed_trace_cut_at_every_offset_keeps_every_flushed_event(void **state)
{
    (void)state;
    cut_everywhere(0);
}

static void plain_trace_cut_at_every_offset_keeps_every_complete_event(void **state)
{
    (void)state;
    cut_everywhere(1);
}

static void trace_with_default_budget_cut_anywhere_is_truncated_never_worse(void **state)
{
    (void)state;
    const uint64_t n = 3000;
    static struct boundary bounds[4096];
    size_t nb;
    struct bytes trace = small_trace(0, 0, bounds, &nb, n);
    for (size_t cut = 0; cut < trace.len; cut += 37) {
        struct outcome o = read_memory(trace.p, cut);
        assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
        assert_true(o.events >= flushed_before(bounds, nb, cut));
        assert_true(o.events <= n + 1);
    }
    free(trace.p);
}

static void truncated_file_on_disk_is_reported_like_memory(void **state)
{
    (void)state;
    struct boundary bounds[128];
    size_t nb;
    struct bytes trace = small_trace(0, 1, bounds, &nb, 40);
    char path[256];
    tmp_path(path, sizeof(path), "cut.pcap.zst");
    for (size_t i = 0; i < nb; i += 7) {
        write_file(path, trace.p, (size_t)bounds[i].bytes);
        struct outcome o = read_file(path);
        assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
        assert_int_equal(o.events, bounds[i].events);
    }
    write_file(path, trace.p, 0);
    struct outcome o = read_file(path);
    assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
    assert_string_equal(o.message, "truncated before the first event");
    free(trace.p);
}

/* ---- corruption ------------------------------------------------------- */

static void flip_everywhere(int plain)
{
    struct boundary bounds[128];
    size_t nb;
    const uint64_t n = 30;
    struct bytes trace = small_trace(plain, 8, bounds, &nb, n);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    unsigned refused = 0;
    for (size_t off = 0; off < trace.len; off++) {
        for (size_t m = 0; m < sizeof(masks); m++) {
            trace.p[off] ^= masks[m];
            struct outcome o = read_memory(trace.p, trace.len);
            trace.p[off] ^= masks[m];
            if (o.ret == 0)
                continue;
            refused++;
            if (o.ret != -EBADMSG && o.ret != -ENOTSUP && o.ret != VCON_TRACE_TRUNCATED)
                fail_msg("flip 0x%02x at %zu: %d %s", masks[m], off, o.ret, o.message);
            assert_true(o.events <= n + 1);
        }
    }
    /* Most damage is caught: the payload bytes of a plain trace are the
     * only ones nothing can check. */
    assert_true(refused > trace.len / 2);
    free(trace.p);
}

static void flipped_bytes_in_compressed_trace_give_clean_errors(void **state)
{
    (void)state;
    flip_everywhere(0);
}

static void flipped_bytes_in_plain_trace_give_clean_errors(void **state)
{
    (void)state;
    flip_everywhere(1);
}

/* ---- hand-made traces: every refusal and its message ------------------ */

static void craft_pcap_header(struct bytes *b, uint32_t magic, uint16_t major, uint16_t minor,
                              uint32_t linktype)
{
    bytes_le(b, magic, 4);
    bytes_le(b, major, 2);
    bytes_le(b, minor, 2);
    bytes_le(b, 0, 4);
    bytes_le(b, 0, 4);
    bytes_le(b, VCON_TRACE_SNAPLEN, 4);
    bytes_le(b, linktype, 4);
}

static void craft_record(struct bytes *b, uint64_t time_ns, const uint8_t *body, uint32_t len)
{
    bytes_le(b, time_ns / 1000000000u, 4);
    bytes_le(b, time_ns % 1000000000u, 4);
    bytes_le(b, len, 4);
    bytes_le(b, len, 4);
    bytes_add(b, body, len);
}

static uint8_t craft_body[VCON_TRACE_SNAPLEN];

static uint32_t encode(const struct vcon_trace_event *ev)
{
    char err[256];
    int len = vcon_trace_event_encode(ev, craft_body, sizeof(craft_body), err, sizeof(err));
    if (len < 0)
        fail_msg("encode: %s", err);
    return (uint32_t)len;
}

static void craft_event(struct bytes *b, uint64_t time_ns, struct vcon_trace_event ev)
{
    craft_record(b, time_ns, craft_body, encode(&ev));
}

static void craft_meta(struct bytes *b, uint16_t major, uint16_t minor)
{
    struct vcon_trace_event ev = {.kind = VCON_TRACE_META, .meta = sample_meta()};
    ev.meta.version_major = major;
    ev.meta.version_minor = minor;
    craft_event(b, 0, ev);
}

/* pcap header and META, as the writer starts. */
static struct bytes craft_start(void)
{
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    craft_meta(&b, VCON_TRACE_VERSION_MAJOR, VCON_TRACE_VERSION_MINOR);
    return b;
}

static struct vcon_trace_event kick(uint64_t seq)
{
    struct vcon_trace_event ev = {.kind = VCON_TRACE_KICK, .seq = seq};
    return ev;
}

static void craft_end(struct bytes *b, uint64_t time_ns, uint64_t seq)
{
    struct vcon_trace_event ev = {.kind = VCON_TRACE_END, .seq = seq};
    ev.end.count = seq;
    craft_event(b, time_ns, ev);
}

/* Reads the crafted bytes both plain and compressed: same answer, same
 * events, same message. */
static void expect_outcome(struct bytes *b, int ret, uint64_t events, const char *message)
{
    struct bytes z = zstd_compress(b);
    const struct bytes *forms[] = {b, &z};
    for (int i = 0; i < 2; i++) {
        struct outcome o = read_memory(forms[i]->p, forms[i]->len);
        if (o.ret != ret || strcmp(o.message, message) != 0)
            fail_msg("%s: got %d \"%s\", want %d \"%s\"", i ? "compressed" : "plain", o.ret,
                     o.message, ret, message);
        assert_int_equal(o.events, events);
    }
    free(z.p);
    free(b->p);
}

static void crafted_trace_with_end_reads_cleanly(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 5, kick(1));
    craft_end(&b, 5, 2);
    expect_outcome(&b, 0, 2, "");
}

static void bad_pcap_magic_is_not_a_vcon_trace(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, 0xa1b2c3d4u, 2, 4, VCON_TRACE_LINKTYPE); /* microseconds */
    craft_meta(&b, 1, 0);
    expect_outcome(&b, -EBADMSG, 0, "not a vcon trace: bad pcap magic 0xa1b2c3d4");

    b = (struct bytes){0};
    bytes_add(&b, "hello, this is a text file\n", 27);
    struct outcome o = read_memory(b.p, b.len);
    assert_int_equal(o.ret, -EBADMSG);
    assert_string_equal(o.message, "not a vcon trace: bad pcap magic 0x6c6c6568");
    free(b.p);
}

static void wrong_linktype_is_not_a_vcon_trace(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, 1);
    craft_meta(&b, 1, 0);
    expect_outcome(&b, -EBADMSG, 0,
                   "not a vcon trace: pcap link type 1, expected 147 (LINKTYPE_USER0)");
}

static void wrong_pcap_version_is_not_a_vcon_trace(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 3, VCON_TRACE_LINKTYPE);
    expect_outcome(&b, -EBADMSG, 0, "not a vcon trace: pcap version 2.3, expected 2.4");
}

static void newer_major_version_is_refused_by_name(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    craft_meta(&b, 3, 0);
    expect_outcome(&b, -ENOTSUP, 0,
                   "event 0: trace format version 3.0 is newer than this reader (1.x)");

    /* A newer major may change META after the version: still named. */
    b = (struct bytes){0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    uint8_t body[16] = {0};
    body[12] = 2;
    body[14] = 1;
    craft_record(&b, 0, body, sizeof(body));
    expect_outcome(&b, -ENOTSUP, 0,
                   "event 0: trace format version 2.1 is newer than this reader (1.x)");

    b = (struct bytes){0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    craft_meta(&b, 0, 9);
    expect_outcome(&b, -ENOTSUP, 0,
                   "event 0: trace format version 0.9 is older than this reader (1.x)");
}

static void newer_minor_version_is_accepted(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    craft_meta(&b, 1, 7);
    craft_end(&b, 0, 1);
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open_memory(b.p, b.len, &r), 0);
    struct vcon_trace_event ev;
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 1);
    assert_int_equal(ev.meta.version_minor, 7);
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 0);
    vcon_trace_reader_close(r);
    free(b.p);
}

static void event_too_short_for_its_kind_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    struct vcon_trace_event ev = payload_event(VCON_TRACE_BACKEND_READ, 0);
    ev.seq = 1;
    ev.backend.requested = 1;
    assert_int_equal(encode(&ev), 26);
    craft_record(&b, 0, craft_body, 20);
    expect_outcome(&b, -EBADMSG, 1, "event 1: BACKEND_READ body is 20 bytes, needs at least 26");

    b = craft_start();
    encode(&ev);
    craft_record(&b, 0, craft_body, 9);
    expect_outcome(&b, -EBADMSG, 1,
                   "event 1: body is 9 bytes, shorter than the 12-byte event header");

    b = craft_start();
    ev = kick(1);
    encode(&ev);
    craft_record(&b, 0, craft_body, 15);
    expect_outcome(&b, -EBADMSG, 1, "event 1: KICK body is 15 bytes, expected 14");
}

static void every_kind_one_byte_short_or_long_is_refused(void **state)
{
    (void)state;
    struct vcon_trace_event samples[MAX_SAMPLES];
    size_t n = sample_events(samples);
    static uint8_t body[VCON_TRACE_SNAPLEN];
    char err[256];
    struct vcon_trace_event got;
    for (size_t i = 0; i < n; i++) {
        int len = vcon_trace_event_encode(&samples[i], body, sizeof(body), err, sizeof(err));
        assert_true(len > 0);
        assert_int_equal(vcon_trace_event_decode(body, (size_t)len - 1, &got, err, sizeof(err)),
                         -EBADMSG);
        if ((size_t)len < sizeof(body))
            assert_int_equal(vcon_trace_event_decode(body, (size_t)len + 1, &got, err,
                                                     sizeof(err)),
                             -EBADMSG);
    }
    /* META, whose strings carry their own lengths. */
    struct vcon_trace_event meta = {.kind = VCON_TRACE_META, .meta = sample_meta()};
    meta.meta.version_major = 1;
    int len = vcon_trace_event_encode(&meta, body, sizeof(body), err, sizeof(err));
    assert_int_equal(len, 36 + (int)strlen(BUILD_ID) + (int)strlen(CONFIG));
    for (int cut = 0; cut < len; cut++)
        assert_int_equal(vcon_trace_event_decode(body, (size_t)cut, &got, err, sizeof(err)),
                         -EBADMSG);
    assert_int_equal(vcon_trace_event_decode(body, (size_t)len + 1, &got, err, sizeof(err)),
                     -EBADMSG);
}

static void meta_strings_running_past_the_body_are_refused(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    struct vcon_trace_event ev = {.kind = VCON_TRACE_META};
    ev.meta.version_major = 1;
    uint32_t len = encode(&ev);
    assert_int_equal(len, 36);
    craft_body[32] = 100; /* build id length */
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 0,
                   "event 0: META build id of 100 bytes runs past the 36-byte body");

    b = (struct bytes){0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    encode(&ev);
    craft_body[34] = 1; /* config length */
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 0, "event 0: META body is 36 bytes, its strings need 37");
}

static void payload_length_must_match_the_record(void **state)
{
    (void)state;
    struct bytes b = craft_start(); /* before encode(): it uses the same buffer */
    struct vcon_trace_event ev = payload_event(VCON_TRACE_MARK, 5);
    ev.seq = 1;
    uint32_t len = encode(&ev);
    put_le(craft_body + 12, 100, 4);
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 1,
                   "event 1: MARK payload length 100 does not match the body (5 bytes left)");
}

static void unknown_kind_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start(); /* before encode(): it uses the same buffer */
    struct vcon_trace_event ev = kick(1);
    uint32_t len = encode(&ev);
    put_le(craft_body + 8, 99, 2);
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 1, "event 1: unknown event kind 99");
}

static void nonzero_reserved_byte_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start(); /* before encode(): it uses the same buffer */
    struct vcon_trace_event ev = payload_event(VCON_TRACE_MARK, 0);
    ev.seq = 1;
    uint32_t len = encode(&ev);
    craft_body[11] = 7;
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 1, "event 1: MARK reserved byte is 7, must be 0");
}

static void field_out_of_range_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start(); /* before encode(): it uses the same buffer */
    struct vcon_trace_event ev = {.kind = VCON_TRACE_REG_WRITE, .seq = 1};
    ev.reg.size = 1;
    uint32_t len = encode(&ev);
    craft_body[13] = 3;
    craft_record(&b, 0, craft_body, len);
    expect_outcome(&b, -EBADMSG, 1, "event 1: REG_WRITE size 3 is not 1, 2 or 4");
}

static void sequence_number_out_of_order_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 0, kick(1));
    craft_event(&b, 0, kick(5));
    expect_outcome(&b, -EBADMSG, 2, "event 2: sequence number 5, expected 2");

    b = craft_start();
    craft_event(&b, 0, kick(1));
    craft_event(&b, 0, kick(1)); /* a repeat */
    expect_outcome(&b, -EBADMSG, 2, "event 2: sequence number 1, expected 2");
}

static void first_event_must_be_meta_and_only_the_first(void **state)
{
    (void)state;
    struct bytes b = {0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    craft_event(&b, 0, payload_event(VCON_TRACE_MARK, 0));
    expect_outcome(&b, -EBADMSG, 0, "event 0: first event is MARK, expected META");

    b = craft_start();
    struct vcon_trace_event meta = {.kind = VCON_TRACE_META, .seq = 1};
    meta.meta.version_major = 1;
    craft_event(&b, 0, meta);
    expect_outcome(&b, -EBADMSG, 1, "event 1: META is only allowed as the first event");
}

static void data_after_end_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 0, kick(1));
    craft_end(&b, 0, 2);
    craft_event(&b, 0, kick(3));
    expect_outcome(&b, -EBADMSG, 2, "event 3: data after END");

    b = craft_start();
    craft_end(&b, 0, 1);
    bytes_add(&b, "x", 1);
    expect_outcome(&b, -EBADMSG, 1, "event 2: data after END");
}

static void end_with_wrong_count_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 0, kick(1));
    struct vcon_trace_event end = {.kind = VCON_TRACE_END, .seq = 2};
    end.end.count = 7;
    craft_event(&b, 0, end);
    expect_outcome(&b, -EBADMSG, 2, "event 2: END counts 7 events, expected 2");
}

static void record_lengths_and_timestamps_are_checked(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    bytes_le(&b, 0, 4);
    bytes_le(&b, 0, 4);
    bytes_le(&b, VCON_TRACE_SNAPLEN + 1, 4);
    bytes_le(&b, VCON_TRACE_SNAPLEN + 1, 4);
    expect_outcome(&b, -EBADMSG, 1, "event 1: record length 262145 exceeds the snaplen 262144");

    b = craft_start();
    bytes_le(&b, 0, 4);
    bytes_le(&b, 0, 4);
    bytes_le(&b, 20, 4);
    bytes_le(&b, 30, 4);
    expect_outcome(&b, -EBADMSG, 1, "event 1: record length 20 differs from its original length 30");

    b = craft_start();
    bytes_le(&b, 0, 4);
    bytes_le(&b, 1000000000, 4);
    bytes_le(&b, 14, 4);
    bytes_le(&b, 14, 4);
    struct vcon_trace_event ev = kick(1);
    bytes_add(&b, craft_body, encode(&ev));
    expect_outcome(&b, -EBADMSG, 1, "event 1: timestamp nanoseconds 1000000000 out of range");

    b = craft_start();
    craft_event(&b, 10, kick(1));
    craft_event(&b, 5, kick(2));
    expect_outcome(&b, -EBADMSG, 2, "event 2: time 5 ns is before the previous event's 10 ns");
}

static void truncated_messages_name_the_last_complete_event(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 0, kick(1));
    craft_event(&b, 0, kick(2));
    expect_outcome(&b, VCON_TRACE_TRUNCATED, 3, "truncated after event 2");

    b = craft_start();
    craft_event(&b, 0, kick(1));
    bytes_add(&b, "\0\0\0\0\0\0", 6); /* half a record header */
    expect_outcome(&b, VCON_TRACE_TRUNCATED, 2, "truncated after event 1");

    b = (struct bytes){0};
    craft_pcap_header(&b, VCON_TRACE_PCAP_MAGIC, 2, 4, VCON_TRACE_LINKTYPE);
    expect_outcome(&b, VCON_TRACE_TRUNCATED, 0, "truncated before the first event");

    struct outcome o = read_memory(NULL, 0);
    assert_int_equal(o.ret, VCON_TRACE_TRUNCATED);
    assert_string_equal(o.message, "truncated before the first event");
}

static void errors_are_sticky(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_event(&b, 0, kick(4));
    struct vcon_trace_reader *r = NULL;
    assert_int_equal(vcon_trace_reader_open_memory(b.p, b.len, &r), 0);
    struct vcon_trace_event ev;
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 1);
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), -EBADMSG);
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), -EBADMSG);
    assert_string_equal(vcon_trace_reader_error(r), "event 1: sequence number 4, expected 1");
    vcon_trace_reader_close(r);
    free(b.p);
}

static void garbage_zstd_is_reported_as_corrupt(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_end(&b, 0, 1);
    struct bytes z = zstd_compress(&b);
    /* Keep the frame magic, wreck the frame header and what follows. */
    for (size_t i = 4; i < z.len; i++)
        z.p[i] = 0xff;
    struct outcome o = read_memory(z.p, z.len);
    assert_int_equal(o.ret, -EBADMSG);
    assert_memory_equal(o.message, "event 0: corrupt zstd data: ", 28);

    /* A good frame followed by bytes that are no frame at all. */
    struct bytes joined = {0};
    b.len -= 36; /* stop before END */
    struct bytes z1 = zstd_compress(&b);
    bytes_add(&joined, z1.p, z1.len);
    bytes_add(&joined, "garbage!", 8);
    o = read_memory(joined.p, joined.len);
    assert_int_equal(o.ret, -EBADMSG);
    assert_string_equal(o.message, "event 1: corrupt zstd data: Unknown frame descriptor");
    assert_int_equal(o.events, 1);
    free(z.p);
    free(z1.p);
    free(joined.p);
    free(b.p);
}

static void zstd_window_over_the_limit_is_refused(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_end(&b, 0, 1);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 28)));
    struct bytes z = {0};
    z.cap = ZSTD_compressBound(b.len) + 64;
    z.p = malloc(z.cap);
    ZSTD_outBuffer out = {z.p, z.cap, 0};
    ZSTD_inBuffer in = {b.p, b.len, 0};
    /* Streaming without a known size keeps the window in the header. */
    assert_false(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_flush)));
    assert_int_equal(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end), 0);
    z.len = out.pos;
    ZSTD_freeCCtx(cctx);
    struct outcome o = read_memory(z.p, z.len);
    assert_int_equal(o.ret, -EBADMSG);
    assert_string_equal(o.message,
                        "event 0: corrupt zstd data: Frame requires too much memory for decoding");
    free(z.p);
    free(b.p);
}

static void leading_skippable_frame_is_read_as_zstd(void **state)
{
    (void)state;
    struct bytes b = craft_start();
    craft_end(&b, 0, 1);
    struct bytes z = zstd_compress(&b);
    struct bytes joined = {0};
    bytes_le(&joined, 0x184D2A50u, 4);
    bytes_le(&joined, 3, 4);
    bytes_add(&joined, "abc", 3);
    bytes_add(&joined, z.p, z.len);
    struct outcome o = read_memory(joined.p, joined.len);
    assert_int_equal(o.ret, 0);
    assert_int_equal(o.events, 1);
    free(z.p);
    free(joined.p);
    free(b.p);
}

static void reader_open_reports_a_missing_file(void **state)
{
    (void)state;
    struct vcon_trace_reader *r = NULL;
    char path[256];
    tmp_path(path, sizeof(path), "does-not-exist.pcap.zst");
    assert_int_equal(vcon_trace_reader_open(path, &r), -ENOENT);
    assert_null(r);
}

static void kinds_have_stable_names_and_roles(void **state)
{
    (void)state;
    static const struct {
        unsigned kind;
        const char *name;
        enum vcon_trace_role role;
    } want[] = {
        {0, "META", VCON_TRACE_ROLE_LABEL},
        {1, "END", VCON_TRACE_ROLE_LABEL},
        {2, "REG_READ", VCON_TRACE_ROLE_INPUT},
        {3, "REG_WRITE", VCON_TRACE_ROLE_INPUT},
        {4, "MEM_READ", VCON_TRACE_ROLE_INPUT},
        {5, "MEM_WRITE", VCON_TRACE_ROLE_OUTPUT},
        {6, "GUEST_MEM_WRITE", VCON_TRACE_ROLE_INPUT},
        {7, "KICK", VCON_TRACE_ROLE_LABEL},
        {8, "IRQ_LEVEL", VCON_TRACE_ROLE_OUTPUT},
        {9, "MSI", VCON_TRACE_ROLE_OUTPUT},
        {10, "BACKEND_READ", VCON_TRACE_ROLE_INPUT},
        {11, "BACKEND_WRITE", VCON_TRACE_ROLE_OUTPUT},
        {12, "BACKEND_EVENT", VCON_TRACE_ROLE_INPUT},
        {13, "TIME_STEP", VCON_TRACE_ROLE_INPUT},
        {14, "TIMER_FIRE", VCON_TRACE_ROLE_INPUT},
        {15, "HOTPLUG", VCON_TRACE_ROLE_INPUT},
        {16, "RESIZE", VCON_TRACE_ROLE_INPUT},
        {17, "RESET", VCON_TRACE_ROLE_INPUT},
        {18, "MARK", VCON_TRACE_ROLE_LABEL},
        {19, "READ_RESULT", VCON_TRACE_ROLE_OUTPUT},
        {20, "UART_LINE_ERROR", VCON_TRACE_ROLE_INPUT},
        {21, "MODEM_LINES", VCON_TRACE_ROLE_INPUT},
    };
    assert_int_equal(sizeof(want) / sizeof(want[0]), VCON_TRACE_KIND_COUNT);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(vcon_trace_kind_name(want[i].kind), want[i].name);
        assert_int_equal(vcon_trace_kind_role(want[i].kind), want[i].role);
    }
    assert_string_equal(vcon_trace_kind_name(VCON_TRACE_KIND_COUNT), "UNKNOWN");
    /* Steps are the inputs fed from outside; answers to device calls and
     * outputs are not. */
    assert_true(vcon_trace_kind_is_step(VCON_TRACE_REG_READ));
    assert_true(vcon_trace_kind_is_step(VCON_TRACE_GUEST_MEM_WRITE));
    assert_true(vcon_trace_kind_is_step(VCON_TRACE_MODEM_LINES));
    assert_false(vcon_trace_kind_is_step(VCON_TRACE_MEM_READ));
    assert_false(vcon_trace_kind_is_step(VCON_TRACE_BACKEND_READ));
    assert_false(vcon_trace_kind_is_step(VCON_TRACE_READ_RESULT));
    assert_false(vcon_trace_kind_is_step(VCON_TRACE_KICK));
    assert_false(vcon_trace_kind_is_step(VCON_TRACE_KIND_COUNT));
    assert_int_equal(vcon_trace_max_payload(VCON_TRACE_MARK), VCON_TRACE_SNAPLEN - 16);
    assert_int_equal(vcon_trace_max_payload(VCON_TRACE_MEM_READ), VCON_TRACE_SNAPLEN - 32);
    assert_int_equal(vcon_trace_max_payload(VCON_TRACE_KICK), 0);
}

/* ---- tshark ------------------------------------------------------------ */

static int find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, size, "%.*s/%s", (int)n, path, name);
        if (n > 0 && access(out, X_OK) == 0)
            return 1;
        path += n;
        if (*path == ':')
            path++;
    }
    return 0;
}

static void tshark_reads_the_compressed_trace(void **state)
{
    (void)state;
    char tshark[512];
    if (!find_in_path("tshark", tshark, sizeof(tshark))) {
        print_message("skipped: tshark is not installed\n");
        skip();
    }
    char path[256];
    tmp_path(path, sizeof(path), "tshark.pcap.zst");
    struct vcon_trace_meta meta = sample_meta();
    struct vcon_trace_writer_options opts = {.frame_events = 3}; /* several frames */
    struct vcon_trace_writer *w = NULL;
    assert_int_equal(vcon_trace_writer_open(path, &meta, &opts, &w), 0);
    for (uint64_t i = 1; i <= 10; i++) {
        struct vcon_trace_event ev;
        pattern_event(&ev, i);
        assert_int_equal(vcon_trace_writer_append(w, i * 1500000000ull, &ev), 0);
    }
    assert_int_equal(vcon_trace_writer_close(w), 0);

    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' -r '%s' -c 5 2>/dev/null", tshark, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof(line), p))
        lines++;
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(lines, 5);

    /* And all 12 packets, across the frames. */
    snprintf(cmd, sizeof(cmd), "'%s' -r '%s' 2>/dev/null", tshark, path);
    p = popen(cmd, "r");
    assert_non_null(p);
    lines = 0;
    while (fgets(line, sizeof(line), p))
        lines++;
    status = pclose(p);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(lines, 12);
}

int main(void)
{
    fill_pattern();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_round_trips_compressed_with_empty_and_max_payloads),
        cmocka_unit_test(every_kind_round_trips_as_plain_pcap),
        cmocka_unit_test(every_kind_decodes_to_what_was_encoded),
        cmocka_unit_test(meta_carries_version_seed_ram_and_strings),
        cmocka_unit_test(meta_strings_may_be_empty),
        cmocka_unit_test(sequence_numbers_count_up_and_timestamps_keep_every_nanosecond),
        cmocka_unit_test(writer_refuses_time_going_backwards_or_past_pcap_range),
        cmocka_unit_test(writer_refuses_fields_the_reader_would_refuse),
        cmocka_unit_test(writer_open_refuses_bad_arguments),
        cmocka_unit_test(many_events_span_several_zstd_frames),
        cmocka_unit_test(events_reach_the_file_when_the_flush_budget_is_spent),
        cmocka_unit_test(byte_budget_flushes_before_the_event_budget),
        cmocka_unit_test(emergency_flush_makes_pending_events_readable),
        cmocka_unit_test(write_errors_are_reported_and_sticky),
        cmocka_unit_test(compressed_trace_cut_at_every_offset_keeps_every_flushed_event),
        cmocka_unit_test(plain_trace_cut_at_every_offset_keeps_every_complete_event),
        cmocka_unit_test(trace_with_default_budget_cut_anywhere_is_truncated_never_worse),
        cmocka_unit_test(truncated_file_on_disk_is_reported_like_memory),
        cmocka_unit_test(flipped_bytes_in_compressed_trace_give_clean_errors),
        cmocka_unit_test(flipped_bytes_in_plain_trace_give_clean_errors),
        cmocka_unit_test(crafted_trace_with_end_reads_cleanly),
        cmocka_unit_test(bad_pcap_magic_is_not_a_vcon_trace),
        cmocka_unit_test(wrong_linktype_is_not_a_vcon_trace),
        cmocka_unit_test(wrong_pcap_version_is_not_a_vcon_trace),
        cmocka_unit_test(newer_major_version_is_refused_by_name),
        cmocka_unit_test(newer_minor_version_is_accepted),
        cmocka_unit_test(event_too_short_for_its_kind_is_refused),
        cmocka_unit_test(every_kind_one_byte_short_or_long_is_refused),
        cmocka_unit_test(meta_strings_running_past_the_body_are_refused),
        cmocka_unit_test(payload_length_must_match_the_record),
        cmocka_unit_test(unknown_kind_is_refused),
        cmocka_unit_test(nonzero_reserved_byte_is_refused),
        cmocka_unit_test(field_out_of_range_is_refused),
        cmocka_unit_test(sequence_number_out_of_order_is_refused),
        cmocka_unit_test(first_event_must_be_meta_and_only_the_first),
        cmocka_unit_test(data_after_end_is_refused),
        cmocka_unit_test(end_with_wrong_count_is_refused),
        cmocka_unit_test(record_lengths_and_timestamps_are_checked),
        cmocka_unit_test(truncated_messages_name_the_last_complete_event),
        cmocka_unit_test(errors_are_sticky),
        cmocka_unit_test(garbage_zstd_is_reported_as_corrupt),
        cmocka_unit_test(zstd_window_over_the_limit_is_refused),
        cmocka_unit_test(leading_skippable_frame_is_read_as_zstd),
        cmocka_unit_test(reader_open_reports_a_missing_file),
        cmocka_unit_test(kinds_have_stable_names_and_roles),
        cmocka_unit_test(tshark_reads_the_compressed_trace),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
