/* Divergences and bad traces: a recorded trace is rewritten with one event
 * changed, dropped or added, and the replay must name exactly that event
 * (index and kind) with both sides decoded; truncated, damaged and invalid
 * traces get the documented outcome; and vcon-replay itself answers with
 * the documented exit codes 0, 1 and 2. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/rig.h"
#include "vcon/recorded_sessions.h"
#include "vcon/recorder.h"
#include "vcon/replayer.h"
#include "vcon/trace.h"

#define UART_CONFIG "-s 1:0,lpc -l com1,stdio"
#define CONSOLE_CONFIG "-s 3,virtio-console,@stdio:p0,pty:p1"
#define PATH_SIZE 512
#define UART_LINE 4u
/* pcap global header, then the first record header: META's body. */
#define PCAP_HEADER 24u
#define RECORD_HEADER 16u

struct fixture {
    char dir[PATH_SIZE];
    char uart[PATH_SIZE];
    char console[PATH_SIZE];
    unsigned scratch; /* numbers the files tests write */
};

struct outcome {
    enum vcon_replay_status status;
    uint64_t events, event;
    unsigned kind;
    bool truncated;
    char message[1024];
    char report[8192];
};

/* ---- helpers ------------------------------------------------------------------ */

static void path_in(char *out, const char *dir, const char *name)
{
    const int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_SIZE);
}

static void scratch_path(struct fixture *f, char *out, const char *suffix)
{
    char name[64];
    snprintf(name, sizeof(name), "scratch-%u%s", f->scratch++, suffix);
    path_in(out, f->dir, name);
}

static void record_session(const char *config, bool console, const char *path)
{
    struct vcon_recorder *rec = NULL;
    struct vcon_rig *rig = NULL;
    struct vcon_session_result res;
    const struct vcon_session_options so = {.device = 0, .out_len = 200, .in_len = 200, .seed = 5};
    const struct vcon_recorder_options o = {.path = path, .seed = 5};
    assert_int_equal(vcon_recorder_create(&o, &rec), 0);
    assert_int_equal(vcon_rig_create(config, 0, vcon_recorder_hooks(rec), &rig, NULL, 0), 0);
    assert_int_equal(vcon_recorder_start(rec, rig), 0);
    assert_int_equal(console ? vcon_session_console(rig, &so, &res) : vcon_session_uart(rig, &so, &res),
                     0);
    assert_int_equal(vcon_recorder_finish(rec), 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
}

static void replay(const char *path, enum vcon_replay_mode mode, struct outcome *out)
{
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    const struct vcon_replay_options o = {.mode = mode};
    assert_int_equal(vcon_replay_open(path, &o, &r), 0);
    (void)vcon_replay_run(r);
    vcon_replay_get_result(r, &res);
    *out = (struct outcome){.status = res.status, .events = res.events, .event = res.event,
                            .kind = res.kind, .truncated = res.truncated};
    snprintf(out->message, sizeof(out->message), "%s", res.message);
    FILE *report = fmemopen(out->report, sizeof(out->report) - 1, "w");
    assert_non_null(report);
    vcon_replay_print_report(r, report);
    fclose(report);
    vcon_replay_close(r);
}

static void expect_divergence(const struct outcome *o, uint64_t event, unsigned kind)
{
    if (o->status != VCON_REPLAY_DIVERGED || o->event != event || o->kind != kind)
        fail_msg("expected a divergence at event %" PRIu64 " (%s), got status %d at %" PRIu64
                 " (%s): %s",
                 event, vcon_trace_kind_name(kind), o->status, o->event,
                 vcon_trace_kind_name(o->kind), o->message);
}

static void expect_contains(const char *text, const char *part)
{
    if (strstr(text, part) == NULL)
        fail_msg("'%s' lacks '%s'", text, part);
}

/* ---- rewriting a trace with one edit ------------------------------------------- */

enum edit_op { EDIT_MODIFY, EDIT_DROP, EDIT_INSERT_BEFORE };

struct edit {
    enum edit_op op;
    uint64_t seq;
    void (*modify)(struct vcon_trace_event *ev, uint8_t *payload);
    struct vcon_trace_event inserted;
    int plain; /* write an uncompressed pcap */
};

static void append_edited(struct vcon_trace_writer *w, uint64_t t, struct vcon_trace_event *ev,
                          const struct edit *e)
{
    static uint8_t payload[VCON_TRACE_SNAPLEN];
    if (ev->seq == e->seq) {
        if (e->op == EDIT_DROP)
            return;
        if (e->op == EDIT_INSERT_BEFORE)
            assert_int_equal(vcon_trace_writer_append(w, t, &e->inserted), 0);
        if (e->op == EDIT_MODIFY) {
            if (ev->payload_len > 0)
                memcpy(payload, ev->payload, ev->payload_len);
            ev->payload = payload;
            e->modify(ev, payload);
        }
    }
    const int rc = vcon_trace_writer_append(w, t, ev);
    if (rc != 0)
        fail_msg("rewriting event %" PRIu64 ": %s", ev->seq, vcon_trace_writer_error(w));
}

/* Copies src to dst event by event (the writer numbers them again). */
static void rewrite(const char *src, const char *dst, const struct edit *e)
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_writer *w = NULL;
    struct vcon_trace_event ev = {0};
    uint64_t t = 0;
    const struct vcon_trace_writer_options wo = {.plain = e->plain};
    assert_int_equal(vcon_trace_reader_open(src, &r), 0);
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 1);
    assert_int_equal(vcon_trace_writer_open(dst, vcon_trace_reader_meta(r), &wo, &w), 0);
    int rc;
    while ((rc = vcon_trace_reader_next(r, &t, &ev)) == 1)
        append_edited(w, t, &ev, e);
    assert_int_equal(rc, 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);
    vcon_trace_reader_close(r);
}

static bool any_event(const struct vcon_trace_event *ev, const struct vcon_trace_event *prev)
{
    (void)ev;
    (void)prev;
    return true;
}

/* The index of the nth event of `kind` (0 first) that `pred` accepts, with
 * a copy of it (its payload up to 64 bytes). */
static uint64_t find_event(const char *path, unsigned kind, unsigned nth,
                           bool (*pred)(const struct vcon_trace_event *ev,
                                        const struct vcon_trace_event *prev),
                           struct vcon_trace_event *found, uint8_t found_payload[64])
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev, prev = {0};
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    while (vcon_trace_reader_next(r, NULL, &ev) == 1) {
        if (ev.kind == kind && pred(&ev, &prev) && nth-- == 0) {
            *found = ev;
            if (found_payload != NULL)
                memcpy(found_payload, ev.payload, ev.payload_len < 64 ? ev.payload_len : 64);
            found->payload = NULL;
            vcon_trace_reader_close(r);
            return ev.seq;
        }
        prev = ev;
        prev.payload = NULL;
    }
    vcon_trace_reader_close(r);
    fail_msg("no such %s event in %s", vcon_trace_kind_name(kind), path);
    return 0;
}

/* The event at index `seq` (without its payload). */
static void event_at(const char *path, uint64_t seq, struct vcon_trace_event *out)
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev = {0};
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    while (vcon_trace_reader_next(r, NULL, &ev) == 1) {
        if (ev.seq == seq) {
            *out = ev;
            out->payload = NULL;
            vcon_trace_reader_close(r);
            return;
        }
    }
    vcon_trace_reader_close(r);
    fail_msg("%s has no event %" PRIu64, path, seq);
}

static void reader_message(const char *path, char *out, size_t size)
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev = {0};
    assert_int_equal(vcon_trace_reader_open(path, &r), 0);
    while (vcon_trace_reader_next(r, NULL, &ev) == 1)
        ;
    snprintf(out, size, "%s", vcon_trace_reader_error(r));
    vcon_trace_reader_close(r);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    const long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A trace of META and one guest write, for META checks. */
static void write_meta_trace(const char *path, const char *config, uint64_t ram_size)
{
    struct vcon_trace_writer *w = NULL;
    const struct vcon_trace_meta meta = {.ram_size = ram_size, .build_id = "test", .build_id_len = 4,
                                         .config = config, .config_len = (uint16_t)strlen(config)};
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_REG_WRITE, .device = 255,
        .reg = {.space = VCON_TRACE_SPACE_PIO, .size = 1, .address = 0x3F8, .value = 0x41}};
    assert_int_equal(vcon_trace_writer_open(path, &meta, NULL, &w), 0);
    assert_int_equal(vcon_trace_writer_append(w, 0, &ev), 0);
    assert_int_equal(vcon_trace_writer_close(w), 0);
}

/* ---- fixture -------------------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vcon-divergence-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path_in(f->uart, f->dir, "uart.pcap.zst");
    path_in(f->console, f->dir, "console.pcap.zst");
    record_session(UART_CONFIG, false, f->uart);
    record_session(CONSOLE_CONFIG, true, f->console);
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
            char path[PATH_SIZE];
            if (e->d_name[0] != '.' &&
                snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name) < (int)sizeof(path))
                (void)unlink(path);
        }
        closedir(d);
    }
    (void)rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- one changed output --------------------------------------------------------- */

static void flip_low_bit(struct vcon_trace_event *ev, uint8_t *payload)
{
    (void)payload;
    ev->read_result.value ^= 1u;
}

static void changed_read_result_is_reported_at_that_event(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->uart, VCON_TRACE_READ_RESULT, 20, any_event, &ev, NULL);
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = flip_low_bit};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    replay(path, VCON_REPLAY_STRICT, &o);
    expect_divergence(&o, seq, VCON_TRACE_READ_RESULT);
    char want[256];
    snprintf(want, sizeof(want),
             "event %" PRIu64 " READ_RESULT: recorded value 0x%" PRIx32 ", the guest's read (event %" PRIu64
             ") returned 0x%" PRIx32,
             seq, ev.read_result.value ^ 1u, seq - 1, ev.read_result.value);
    assert_string_equal(o.message, want);
    replay(path, VCON_REPLAY_IMAGE, &o);
    expect_divergence(&o, seq, VCON_TRACE_READ_RESULT);
}

static void flip_level(struct vcon_trace_event *ev, uint8_t *payload)
{
    (void)payload;
    ev->irq.level ^= 1u;
}

static void flipped_interrupt_edge_is_reported_at_that_event(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE], want[256];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->uart, VCON_TRACE_IRQ_LEVEL, 5, any_event, &ev, NULL);
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = flip_level};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    replay(path, VCON_REPLAY_AUTO, &o);
    expect_divergence(&o, seq, VCON_TRACE_IRQ_LEVEL);
    snprintf(want, sizeof(want),
             "event %" PRIu64 " IRQ_LEVEL: recorded line=%u level=%u, device 0 set line=%u level=%u",
             seq, UART_LINE, ev.irq.level ^ 1u, UART_LINE, ev.irq.level);
    assert_string_equal(o.message, want);
}

/* The report: the mode, the divergence, the recorded event, and the eight
 * events before it, the last of them the one just before. */
static void report_names_the_mode_and_lists_the_events_before_the_divergence(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE], line[64];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->uart, VCON_TRACE_IRQ_LEVEL, 7, any_event, &ev, NULL);
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = flip_level};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    replay(path, VCON_REPLAY_STRICT, &o);
    expect_contains(o.report, "memory mode: strict (as asked)\n");
    snprintf(line, sizeof(line), "DIVERGENCE at event %" PRIu64 " (IRQ_LEVEL)\n", seq);
    expect_contains(o.report, line);
    snprintf(line, sizeof(line), "  recorded:\n    #%" PRIu64 " t=", seq);
    expect_contains(o.report, line);
    expect_contains(o.report, "  the 8 events before it:\n");
    snprintf(line, sizeof(line), "\n    #%" PRIu64 " t=", seq - 1);
    const char *last = strstr(o.report, line);
    assert_non_null(last);
    const char *end = strchr(last + 1, '\n');
    assert_non_null(end);
    assert_int_equal(end[1], 0); /* the report's last line */
}

/* A descriptor whose buffer the device reads next: the second event reads
 * at the address the first one's payload holds. */
static bool descriptor_read(const struct vcon_trace_event *ev, const struct vcon_trace_event *prev)
{
    (void)prev;
    return ev->mem.length == 16 && ev->mem.result == 0;
}

static void move_buffer_address(struct vcon_trace_event *ev, uint8_t *payload)
{
    (void)ev;
    payload[1] ^= 0x01; /* the descriptor's address, 0x100 further */
}

static void changed_dma_byte_is_reported_in_strict_mode_at_that_event(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    uint8_t desc[64];
    struct vcon_trace_event ev = {0}, next = {0};
    struct outcome o;
    /* A transmit descriptor: the device reads its buffer right after. */
    uint64_t seq = 0;
    for (unsigned nth = 0;; nth++) {
        seq = find_event(f->console, VCON_TRACE_MEM_READ, nth, descriptor_read, &ev, desc);
        uint64_t addr = 0;
        for (unsigned i = 0; i < 8; i++)
            addr |= (uint64_t)desc[i] << (8 * i);
        event_at(f->console, seq + 1, &next);
        if (next.kind == VCON_TRACE_MEM_READ && next.mem.gpa == addr)
            break;
    }
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = move_buffer_address};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->console, path, &e);
    /* Strict mode checks the recorded bytes against guest memory as the
     * trace wrote it: the edited read itself is reported. */
    replay(path, VCON_REPLAY_STRICT, &o);
    expect_divergence(&o, seq, VCON_TRACE_MEM_READ);
    expect_contains(o.message, "returning 0x");
    expect_contains(o.message, "at byte 1, but guest memory as the trace wrote it holds 0x");
    /* In image mode the device reads the RAM image, where the guest's
     * descriptor is intact: the changed MEM_READ does not matter. */
    replay(path, VCON_REPLAY_IMAGE, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
}

static bool long_write(const struct vcon_trace_event *ev, const struct vcon_trace_event *prev)
{
    (void)prev;
    return ev->payload_len >= 8;
}

static void change_fourth_byte(struct vcon_trace_event *ev, uint8_t *payload)
{
    (void)ev;
    payload[3] ^= 0x20;
}

static void changed_backend_output_names_the_first_different_byte(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->console, VCON_TRACE_BACKEND_WRITE, 2, long_write, &ev, NULL);
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = change_fourth_byte};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->console, path, &e);
    replay(path, VCON_REPLAY_AUTO, &o);
    expect_divergence(&o, seq, VCON_TRACE_BACKEND_WRITE);
    expect_contains(o.message, "(first difference at byte 3: ");
}

/* ---- a missing or an extra device call -------------------------------------------- */

static void dropped_interrupt_is_reported_where_the_device_raises_it(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE], want[96];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->uart, VCON_TRACE_IRQ_LEVEL, 3, any_event, &ev, NULL);
    const struct edit e = {.op = EDIT_DROP, .seq = seq};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    replay(path, VCON_REPLAY_STRICT, &o);
    assert_int_equal(o.status, VCON_REPLAY_DIVERGED);
    assert_int_equal(o.event, seq);
    snprintf(want, sizeof(want), "device 0 set line=%u level=%u", UART_LINE, ev.irq.level);
    expect_contains(o.message, want);
}

static bool after_read_result(const struct vcon_trace_event *ev, const struct vcon_trace_event *prev)
{
    return ev->kind == VCON_TRACE_REG_WRITE && prev->kind == VCON_TRACE_READ_RESULT;
}

static void extra_recorded_interrupt_is_one_the_device_did_not_make(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct vcon_trace_event ev = {0};
    struct outcome o;
    const uint64_t seq = find_event(f->uart, VCON_TRACE_REG_WRITE, 30, after_read_result, &ev, NULL);
    const struct edit e = {
        .op = EDIT_INSERT_BEFORE, .seq = seq,
        .inserted = {.kind = VCON_TRACE_IRQ_LEVEL, .device = 0, .irq = {.line = 9, .level = 1}}};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    replay(path, VCON_REPLAY_STRICT, &o);
    expect_divergence(&o, seq, VCON_TRACE_IRQ_LEVEL);
    char want[160];
    snprintf(want, sizeof(want),
             "event %" PRIu64 " IRQ_LEVEL: recorded line=9 level=1 on device 0, but the device "
             "made no such call",
             seq);
    assert_string_equal(o.message, want);
}

/* ---- truncated, damaged and invalid traces ----------------------------------------- */

static void truncated_trace_replays_to_its_cut_with_the_documented_message(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    size_t len = 0;
    uint8_t *bytes = read_file(f->console, &len);
    struct outcome o;
    scratch_path(f, path, ".pcap.zst");
    write_file(path, bytes, len * 3 / 5);
    free(bytes);
    replay(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_true(o.truncated);
    uint64_t after = 0, replayed = 0;
    assert_int_equal(sscanf(o.message,
                            "trace truncated after event %" SCNu64 "; replayed %" SCNu64
                            " events without divergence",
                            &after, &replayed),
                     2);
    assert_int_equal(after, replayed);
    assert_int_equal(replayed, o.events);
    assert_true(o.events > 100);
}

static void damaged_compressed_trace_is_unreadable_with_the_readers_message(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE], want[512];
    size_t len = 0;
    uint8_t *bytes = read_file(f->uart, &len);
    struct outcome o;
    for (size_t i = 4; i < 8; i++)
        bytes[i] ^= 0xA5;
    scratch_path(f, path, ".pcap.zst");
    write_file(path, bytes, len);
    free(bytes);
    reader_message(path, want, sizeof(want));
    assert_true(want[0] != 0);
    replay(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    assert_string_equal(o.message, want);
}

/* A plain pcap: the byte offset of event `seq`'s body is known. */
static size_t body_offset(const uint8_t *bytes, size_t len, uint64_t seq)
{
    size_t off = PCAP_HEADER;
    for (uint64_t i = 0; i < seq; i++) {
        assert_true(off + RECORD_HEADER <= len);
        const uint32_t incl = (uint32_t)bytes[off + 8] | (uint32_t)bytes[off + 9] << 8 |
                              (uint32_t)bytes[off + 10] << 16 | (uint32_t)bytes[off + 11] << 24;
        off += RECORD_HEADER + incl;
    }
    return off + RECORD_HEADER;
}

static void damaged_event_is_unreadable_after_replaying_what_came_before(void **state)
{
    struct fixture *f = *state;
    char plain[PATH_SIZE], path[PATH_SIZE], want[512];
    size_t len = 0;
    struct outcome o;
    const struct edit none = {.op = EDIT_DROP, .seq = UINT64_MAX, .plain = 1};
    scratch_path(f, plain, ".pcap");
    rewrite(f->uart, plain, &none);
    uint8_t *bytes = read_file(plain, &len);
    const size_t body = body_offset(bytes, len, 100);
    bytes[body + 8] = 0x77; /* kind 0x7777: no such kind */
    bytes[body + 9] = 0x77;
    scratch_path(f, path, ".pcap");
    write_file(path, bytes, len);
    free(bytes);
    reader_message(path, want, sizeof(want));
    expect_contains(want, "event 100: ");
    replay(path, VCON_REPLAY_STRICT, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    assert_string_equal(o.message, want);
    assert_int_equal(o.events, 99);
}

static void trace_of_another_major_version_is_unreadable(void **state)
{
    struct fixture *f = *state;
    char plain[PATH_SIZE];
    size_t len = 0;
    struct outcome o;
    const struct edit none = {.op = EDIT_DROP, .seq = UINT64_MAX, .plain = 1};
    scratch_path(f, plain, ".pcap");
    rewrite(f->uart, plain, &none);
    uint8_t *bytes = read_file(plain, &len);
    bytes[body_offset(bytes, len, 0) + 12] = VCON_TRACE_VERSION_MAJOR + 1;
    write_file(plain, bytes, len);
    free(bytes);
    replay(plain, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    expect_contains(o.message, "version");
}

static void meta_configuration_no_rig_accepts_is_unreadable_with_the_reason(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct outcome o;
    scratch_path(f, path, ".pcap.zst");
    write_meta_trace(path, "-s 1:0,lpc -l com9,stdio", 1u << 20);
    replay(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    expect_contains(o.message,
                    "event 0: META configuration \"-s 1:0,lpc -l com9,stdio\" is not valid: ");
    expect_contains(o.message, "com9");
    expect_contains(o.report, "unreadable trace: event 0: META configuration");
}

static void meta_without_guest_ram_is_unreadable(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct outcome o;
    scratch_path(f, path, ".pcap.zst");
    write_meta_trace(path, UART_CONFIG, 0);
    replay(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    assert_string_equal(o.message,
                        "event 0: META guest RAM size 0 is not between 1 byte and 4 GiB");
}

static void missing_file_is_unreadable(void **state)
{
    struct fixture *f = *state;
    char path[PATH_SIZE];
    struct outcome o;
    path_in(path, f->dir, "no-such-trace.pcap.zst");
    replay(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_UNREADABLE);
    expect_contains(o.message, "cannot open ");
    expect_contains(o.message, "No such file");
}

/* ---- vcon-replay, the program ------------------------------------------------------- */

struct run {
    int status;
    char out[16384];
    char err[4096];
};

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    const size_t n = fread(buf, 1, size - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void run_replay(struct fixture *f, const char *const args[], struct run *run)
{
    char out[PATH_SIZE], err[PATH_SIZE];
    const char *argv[8] = {VCON_REPLAY_PROGRAM};
    unsigned argc = 1;
    for (; args[argc - 1] != NULL && argc < 7; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    scratch_path(f, out, ".out");
    scratch_path(f, err, ".err");
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, STDOUT_FILENO) < 0 || dup2(e, STDERR_FILENO) < 0)
            _exit(126);
        execv(VCON_REPLAY_PROGRAM, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    run->status = WEXITSTATUS(status);
    slurp(out, run->out, sizeof(run->out));
    slurp(err, run->err, sizeof(run->err));
}

static void vcon_replay_exits_0_on_a_match_and_prints_the_same_listing_twice(void **state)
{
    struct fixture *f = *state;
    static struct run one, two;
    run_replay(f, (const char *const[]){f->uart, NULL}, &one);
    assert_int_equal(one.status, 0);
    expect_contains(one.out, "memory mode: strict (auto: the trace has no GUEST_MEM_WRITE event)\n");
    expect_contains(one.out, "match: replayed ");
    run_replay(f, (const char *const[]){"--verbose", f->console, NULL}, &one);
    run_replay(f, (const char *const[]){"--verbose", f->console, NULL}, &two);
    assert_int_equal(one.status, 0);
    assert_int_equal(two.status, 0);
    assert_string_equal(one.out, two.out);
    run_replay(f, (const char *const[]){"--quiet", f->console, NULL}, &one);
    assert_int_equal(one.status, 0);
    assert_string_equal(one.out, "");
}

static void vcon_replay_exits_1_on_a_divergence_and_names_it(void **state)
{
    struct fixture *f = *state;
    static struct run run;
    char path[PATH_SIZE], want[64];
    struct vcon_trace_event ev = {0};
    const uint64_t seq = find_event(f->uart, VCON_TRACE_IRQ_LEVEL, 2, any_event, &ev, NULL);
    const struct edit e = {.op = EDIT_MODIFY, .seq = seq, .modify = flip_level};
    scratch_path(f, path, ".pcap.zst");
    rewrite(f->uart, path, &e);
    run_replay(f, (const char *const[]){"--mode", "strict", path, NULL}, &run);
    assert_int_equal(run.status, 1);
    snprintf(want, sizeof(want), "DIVERGENCE at event %" PRIu64 " (IRQ_LEVEL)\n", seq);
    expect_contains(run.out, want);
    run_replay(f, (const char *const[]){"--quiet", path, NULL}, &run);
    assert_int_equal(run.status, 1);
    snprintf(want, sizeof(want), "vcon-replay: event %" PRIu64 " IRQ_LEVEL: recorded", seq);
    expect_contains(run.err, want);
}

static void vcon_replay_exits_2_on_an_unreadable_trace_or_a_bad_command_line(void **state)
{
    struct fixture *f = *state;
    static struct run run;
    char path[PATH_SIZE], message[512], want[PATH_SIZE + 600];
    size_t len = 0;
    uint8_t *bytes = read_file(f->uart, &len);
    bytes[5] ^= 0xFF;
    bytes[6] ^= 0xFF;
    scratch_path(f, path, ".pcap.zst");
    write_file(path, bytes, len);
    free(bytes);
    reader_message(path, message, sizeof(message));
    snprintf(want, sizeof(want), "vcon-replay: %s: %s\n", path, message);
    run_replay(f, (const char *const[]){path, NULL}, &run);
    assert_int_equal(run.status, 2);
    expect_contains(run.err, want);
    run_replay(f, (const char *const[]){"--frobnicate", f->uart, NULL}, &run);
    assert_int_equal(run.status, 2);
    expect_contains(run.err, "unknown option --frobnicate");
    run_replay(f, (const char *const[]){"--mode", "fast", f->uart, NULL}, &run);
    assert_int_equal(run.status, 2);
    run_replay(f, (const char *const[]){NULL}, &run);
    assert_int_equal(run.status, 2);
}

static void vcon_replay_exits_0_at_the_cut_of_a_truncated_trace(void **state)
{
    struct fixture *f = *state;
    static struct run run;
    char path[PATH_SIZE];
    size_t len = 0;
    uint8_t *bytes = read_file(f->uart, &len);
    scratch_path(f, path, ".pcap.zst");
    write_file(path, bytes, len / 2);
    free(bytes);
    run_replay(f, (const char *const[]){path, NULL}, &run);
    assert_int_equal(run.status, 0);
    expect_contains(run.out, "match: trace truncated after event ");
}

static void vcon_replay_help_explains_the_options_and_exits_0(void **state)
{
    struct fixture *f = *state;
    static struct run run;
    run_replay(f, (const char *const[]){"--help", NULL}, &run);
    assert_int_equal(run.status, 0);
    expect_contains(run.out, "usage: vcon-replay [options] TRACE");
    expect_contains(run.out, "--mode strict|image|auto");
    expect_contains(run.out, "--until N");
    expect_contains(run.out, "Exit status: 0 match");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changed_read_result_is_reported_at_that_event),
        cmocka_unit_test(flipped_interrupt_edge_is_reported_at_that_event),
        cmocka_unit_test(report_names_the_mode_and_lists_the_events_before_the_divergence),
        cmocka_unit_test(changed_dma_byte_is_reported_in_strict_mode_at_that_event),
        cmocka_unit_test(changed_backend_output_names_the_first_different_byte),
        cmocka_unit_test(dropped_interrupt_is_reported_where_the_device_raises_it),
        cmocka_unit_test(extra_recorded_interrupt_is_one_the_device_did_not_make),
        cmocka_unit_test(truncated_trace_replays_to_its_cut_with_the_documented_message),
        cmocka_unit_test(damaged_compressed_trace_is_unreadable_with_the_readers_message),
        cmocka_unit_test(damaged_event_is_unreadable_after_replaying_what_came_before),
        cmocka_unit_test(trace_of_another_major_version_is_unreadable),
        cmocka_unit_test(meta_configuration_no_rig_accepts_is_unreadable_with_the_reason),
        cmocka_unit_test(meta_without_guest_ram_is_unreadable),
        cmocka_unit_test(missing_file_is_unreadable),
        cmocka_unit_test(vcon_replay_exits_0_on_a_match_and_prints_the_same_listing_twice),
        cmocka_unit_test(vcon_replay_exits_1_on_a_divergence_and_names_it),
        cmocka_unit_test(vcon_replay_exits_2_on_an_unreadable_trace_or_a_bad_command_line),
        cmocka_unit_test(vcon_replay_exits_0_at_the_cut_of_a_truncated_trace),
        cmocka_unit_test(vcon_replay_help_explains_the_options_and_exits_0),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
