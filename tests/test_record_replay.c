/* Recording and replaying: realistic guest sessions (the Linux-like UART and
 * virtio-console drivers) are recorded through the rig's seam and replayed
 * against the same devices, in both memory modes; the trace says what the
 * run was (META, KICK labels); replays are deterministic; a recorder that
 * dies leaves a trace that replays to its cut; VCON_RECORD records with no
 * code; and the golden traces in corpus/traces/ replay and regenerate
 * byte for byte. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
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

#include "guest/uart_driver.h"
#include "harness/rig.h"
#include "vcon/recorded_sessions.h"
#include "vcon/recorder.h"
#include "vcon/replayer.h"
#include "vcon/trace.h"
#include "vcon/uart.h"
#include "vcon/virtq.h"

#define UART_CONFIG "-s 1:0,lpc -l com1,stdio"
#define CONSOLE_CONFIG "-s 3,virtio-console,@stdio:p0,pty:p1"
#define GOLDEN_MAX_BYTES (100u * 1024u)
#define PATH_SIZE 512

static const char *const golden_files[] = {
    "uart-16550a-session.pcap.zst",
    "uart-acrn-dm-hv-session.pcap.zst",
    "console-2port-session.pcap.zst",
};
#define NR_GOLDEN (sizeof(golden_files) / sizeof(golden_files[0]))

struct fixture {
    char dir[PATH_SIZE];
    char uart[PATH_SIZE];
    char console[PATH_SIZE];
    struct vcon_session_result uart_result, console_result;
};

/* What a replay came to, kept after the replayer is closed. */
struct outcome {
    enum vcon_replay_status status;
    enum vcon_replay_mode mode;
    uint64_t events;
    bool truncated, stopped_early;
    char message[1024];
};

/* ---- helpers ------------------------------------------------------------------ */

static void path_in(char *out, const char *dir, const char *name)
{
    const int n = snprintf(out, PATH_SIZE, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_SIZE);
}

static int run_session(struct vcon_rig *rig, bool console, struct vcon_recorder *rec,
                       struct vcon_session_result *res)
{
    const struct vcon_session_options o = {
        .device = 0, .out_len = console ? 300 : 500, .in_len = console ? 400 : 450,
        .seed = 7, .rec = rec};
    return console ? vcon_session_console(rig, &o, res) : vcon_session_uart(rig, &o, res);
}

static struct vcon_rig *make_rig(const char *config, const struct vcon_rig_hooks *hooks)
{
    char err[256] = "";
    struct vcon_rig *rig = NULL;
    const int rc = vcon_rig_create(config, 0, hooks, &rig, err, sizeof(err));
    if (rc != 0)
        print_error("rig refused '%s': %s\n", config, err);
    assert_int_equal(rc, 0);
    return rig;
}

static void record_session(const char *config, bool console, const char *path, uint64_t seed,
                           struct vcon_session_result *res)
{
    struct vcon_recorder *rec = NULL;
    const struct vcon_recorder_options o = {.path = path, .seed = seed};
    assert_int_equal(vcon_recorder_create(&o, &rec), 0);
    struct vcon_rig *rig = make_rig(config, vcon_recorder_hooks(rec));
    assert_int_equal(vcon_recorder_start(rec, rig), 0);
    assert_int_equal(run_session(rig, console, rec, res), 0);
    const int rc = vcon_recorder_finish(rec);
    if (rc != 0)
        print_error("recorder: %s\n", vcon_recorder_error(rec));
    assert_int_equal(rc, 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
}

static void replay_path(const char *path, const struct vcon_replay_options *o, struct outcome *out)
{
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    assert_int_equal(vcon_replay_open(path, o, &r), 0);
    (void)vcon_replay_run(r);
    vcon_replay_get_result(r, &res);
    if (res.status != VCON_REPLAY_MATCH) {
        print_error("%s:\n", path);
        vcon_replay_print_report(r, stderr);
    }
    *out = (struct outcome){.status = res.status, .mode = res.mode, .events = res.events,
                            .truncated = res.truncated, .stopped_early = res.stopped_early};
    snprintf(out->message, sizeof(out->message), "%s", res.message);
    vcon_replay_close(r);
}

static void replay_mode(const char *path, enum vcon_replay_mode mode, struct outcome *out)
{
    const struct vcon_replay_options o = {.mode = mode};
    replay_path(path, &o, out);
}

/* The whole file, for byte comparisons. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    const long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* The fixture's folder: files and the generator's folders of files. */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_SIZE];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            (void)unlink(path);
    }
    closedir(d);
    (void)rmdir(dir);
}

static bool ends_with(const char *s, const char *suffix)
{
    const size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- fixture: one recorded session of each device -------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vcon-record-replay-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    path_in(f->uart, f->dir, "uart.pcap.zst");
    path_in(f->console, f->dir, "console.pcap.zst");
    record_session(UART_CONFIG, false, f->uart, 11, &f->uart_result);
    record_session(CONSOLE_CONFIG, true, f->console, 12, &f->console_result);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- the sessions are real -------------------------------------------------------- */

static void uart_session_moves_every_byte_both_ways_while_recorded(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_session_result *r = &f->uart_result;
    assert_int_equal(r->uart_type, VCON_GUEST_UART_16550A);
    assert_int_equal(r->out_done[0], 500);
    assert_true(r->out_ok[0]);
    assert_int_equal(r->in_done[0], 450);
    assert_true(r->in_ok[0]);
    /* the break (BI + FE) and the parity error */
    assert_true(r->line_errors >= 2);
}

static void console_session_moves_data_on_every_port_and_sees_resize_and_hotplug(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_session_result *r = &f->console_result;
    for (unsigned p = 0; p < 3; p++) {
        if (!r->out_ok[p] || !r->in_ok[p])
            fail_msg("port %u: %zu bytes out, %zu in", p, r->out_done[p], r->in_done[p]);
    }
    assert_int_equal(r->out_done[1], 300 + 37);
    assert_int_equal(r->in_done[2], 400 + 2 * 53);
    assert_true(r->resized);
    assert_true(r->hotplugged);
    assert_true(r->unplugged);
}

/* ---- replays match ----------------------------------------------------------------- */

static void uart_trace_replays_without_divergence_in_strict_and_image_mode(void **state)
{
    const struct fixture *f = *state;
    struct outcome o;
    replay_mode(f->uart, VCON_REPLAY_STRICT, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_false(o.truncated);
    assert_true(o.events > 1000);
    const uint64_t events = o.events;
    replay_mode(f->uart, VCON_REPLAY_IMAGE, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_int_equal(o.events, events);
    /* Without guest RAM writes in the trace, auto means strict. */
    replay_mode(f->uart, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_int_equal(o.mode, VCON_REPLAY_STRICT);
    char want[128];
    snprintf(want, sizeof(want), "replayed %" PRIu64 " events without divergence", events);
    assert_string_equal(o.message, want);
}

static void console_trace_replays_without_divergence_in_strict_and_image_mode(void **state)
{
    const struct fixture *f = *state;
    struct outcome o;
    replay_mode(f->console, VCON_REPLAY_STRICT, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_true(o.events > 1000);
    replay_mode(f->console, VCON_REPLAY_IMAGE, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    /* The guest's rings are in the trace as GUEST_MEM_WRITEs: auto is image. */
    replay_mode(f->console, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_int_equal(o.mode, VCON_REPLAY_IMAGE);
}

static void trace_in_memory_replays_like_the_file(void **state)
{
    const struct fixture *f = *state;
    size_t len = 0;
    uint8_t *buf = read_file(f->console, &len);
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    struct outcome o;
    assert_int_equal(vcon_replay_open_memory(buf, len, NULL, &r), 0);
    assert_int_equal(vcon_replay_run(r), VCON_REPLAY_MATCH);
    vcon_replay_get_result(r, &res);
    replay_mode(f->console, VCON_REPLAY_AUTO, &o);
    assert_int_equal(res.events, o.events);
    vcon_replay_close(r);
    free(buf);
}

/* The listing of one replay, every event and the report, as text. */
static char *listing(const char *path, enum vcon_replay_mode mode, size_t *len)
{
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    assert_non_null(out);
    const struct vcon_replay_options o = {.mode = mode, .verbose = out};
    struct vcon_replayer *r = NULL;
    assert_int_equal(vcon_replay_open(path, &o, &r), 0);
    assert_int_equal(vcon_replay_run(r), VCON_REPLAY_MATCH);
    vcon_replay_print_report(r, out);
    vcon_replay_close(r);
    fclose(out);
    return text;
}

static void replaying_twice_prints_identical_listings(void **state)
{
    const struct fixture *f = *state;
    const char *const paths[] = {f->uart, f->console};
    for (unsigned i = 0; i < 2; i++) {
        size_t len1 = 0, len2 = 0;
        char *one = listing(paths[i], VCON_REPLAY_AUTO, &len1);
        char *two = listing(paths[i], VCON_REPLAY_AUTO, &len2);
        assert_int_equal(len1, len2);
        assert_memory_equal(one, two, len1);
        /* one line per event, META and END included, then the report */
        struct outcome o;
        replay_mode(paths[i], VCON_REPLAY_AUTO, &o);
        size_t lines = 0;
        for (size_t k = 0; k < len1; k++)
            lines += one[k] == '\n';
        assert_int_equal(lines, o.events + 2 + 3);
        assert_non_null(strstr(one, "#0 t=0.000000000 dev=0 META version=1.0 "));
        free(one);
        free(two);
    }
}

static void until_stops_before_the_first_top_level_event_after_it(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_replay_options opts = {.until = 200};
    struct outcome o;
    replay_path(f->uart, &opts, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_true(o.stopped_early);
    assert_true(o.events >= 200 && o.events < 220);
    assert_non_null(strstr(o.message, "(--until 200)"));
}

/* ---- what the trace holds ------------------------------------------------------------- */

static void trace_meta_names_the_rig_configuration_ram_seed_and_build(void **state)
{
    const struct fixture *f = *state;
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev;
    assert_int_equal(vcon_trace_reader_open(f->console, &r), 0);
    assert_int_equal(vcon_trace_reader_next(r, NULL, &ev), 1);
    const struct vcon_trace_meta *m = vcon_trace_reader_meta(r);
    assert_non_null(m);
    assert_string_equal(m->config, CONSOLE_CONFIG);
    assert_int_equal(m->ram_size, VCON_RIG_DEFAULT_RAM);
    assert_int_equal(m->seed, 12);
    assert_string_equal(m->build_id, vcon_recorder_build_id());
    assert_true(strncmp(m->build_id, "vcon-", 5) == 0);
    vcon_trace_reader_close(r);
}

/* A KICK follows the guest's write of the queue number to QUEUE_NOTIFY. */
static void queue_notifies_are_labelled_as_kicks(void **state)
{
    const struct fixture *f = *state;
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev, prev = {0};
    unsigned kicks = 0;
    assert_int_equal(vcon_trace_reader_open(f->console, &r), 0);
    while (vcon_trace_reader_next(r, NULL, &ev) == 1) {
        if (ev.kind == VCON_TRACE_KICK) {
            assert_int_equal(prev.kind, VCON_TRACE_REG_WRITE);
            assert_int_equal(prev.reg.space, VCON_TRACE_SPACE_PIO);
            assert_int_equal(prev.reg.address, VCON_RIG_IO_BASE + 0x10);
            assert_int_equal(prev.reg.value, ev.kick.queue);
            assert_int_equal(ev.device, 0);
            kicks++;
        }
        prev = ev;
    }
    vcon_trace_reader_close(r);
    assert_true(kicks >= 4);
}

/* ---- recording with no code: VCON_RECORD ----------------------------------------------- */

static void trace_recorded_through_vcon_record_replays(void **state)
{
    const struct fixture *f = *state;
    char path[PATH_SIZE];
    struct vcon_recorder *rec = NULL;
    struct vcon_session_result res;
    struct outcome o;
    path_in(path, f->dir, "from-env.pcap.zst");
    assert_int_equal(setenv(VCON_RECORD_ENV, path, 1), 0);
    assert_int_equal(vcon_recorder_from_env(42, &rec), 0);
    assert_int_equal(unsetenv(VCON_RECORD_ENV), 0);
    assert_non_null(rec);
    struct vcon_rig *rig = make_rig(UART_CONFIG, vcon_recorder_hooks(rec));
    assert_int_equal(vcon_recorder_start(rec, rig), 0);
    assert_int_equal(run_session(rig, false, NULL, &res), 0);
    assert_int_equal(vcon_recorder_finish(rec), 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
    replay_mode(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_true(o.events > 1000);
}

static void without_vcon_record_the_recorder_calls_do_nothing(void **state)
{
    (void)state;
    struct vcon_recorder *rec = (struct vcon_recorder *)&rec;
    struct vcon_session_result res;
    assert_int_equal(unsetenv(VCON_RECORD_ENV), 0);
    assert_int_equal(vcon_recorder_from_env(1, &rec), 0);
    assert_null(rec);
    assert_null(vcon_recorder_hooks(rec));
    struct vcon_rig *rig = make_rig(UART_CONFIG, vcon_recorder_hooks(rec));
    assert_int_equal(vcon_recorder_start(rec, rig), 0);
    assert_int_equal(vcon_recorder_mark(rec, "nothing"), 0);
    assert_int_equal(run_session(rig, false, rec, &res), 0);
    assert_true(res.out_ok[0]);
    assert_int_equal(vcon_recorder_finish(rec), 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
}

/* ---- recorder errors ---------------------------------------------------------------------- */

static void recorder_refuses_a_rig_built_without_its_hooks(void **state)
{
    const struct fixture *f = *state;
    char path[PATH_SIZE];
    struct vcon_recorder *rec = NULL;
    path_in(path, f->dir, "unhooked.pcap.zst");
    const struct vcon_recorder_options o = {.path = path};
    assert_int_equal(vcon_recorder_create(&o, &rec), 0);
    struct vcon_rig *rig = make_rig(UART_CONFIG, NULL);
    assert_int_equal(vcon_recorder_start(rec, rig), -EINVAL);
    assert_non_null(strstr(vcon_recorder_error(rec), "hooks"));
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
}

static void recorder_names_a_path_it_cannot_create(void **state)
{
    (void)state;
    const char *path = "/nonexistent-vcon-dir/trace.pcap.zst";
    struct vcon_recorder *rec = NULL;
    const struct vcon_recorder_options o = {.path = path};
    assert_int_equal(vcon_recorder_create(&o, &rec), 0);
    struct vcon_rig *rig = make_rig(UART_CONFIG, vcon_recorder_hooks(rec));
    assert_int_equal(vcon_recorder_start(rec, rig), -ENOENT);
    assert_non_null(strstr(vcon_recorder_error(rec), path));
    assert_int_equal(vcon_recorder_finish(rec), 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
}

/* The child records part of a session and aborts: the crash flush leaves
 * every event it appended in the file, and the trace replays to its cut. */
static void recorder_that_aborts_leaves_a_trace_that_replays_to_its_cut(void **state)
{
    const struct fixture *f = *state;
    char path[PATH_SIZE];
    path_in(path, f->dir, "aborted.pcap.zst");
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct vcon_recorder *rec = NULL;
        struct vcon_rig *rig = NULL;
        struct vcon_session_result res;
        const struct vcon_recorder_options o = {.path = path};
        if (vcon_recorder_create(&o, &rec) != 0 ||
            vcon_rig_create(UART_CONFIG, 0, vcon_recorder_hooks(rec), &rig, NULL, 0) != 0 ||
            vcon_recorder_start(rec, rig) != 0)
            _exit(3);
        (void)run_session(rig, false, rec, &res);
        abort();
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);

    struct outcome o;
    replay_mode(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    assert_true(o.truncated);
    assert_true(o.events > 1000);
    char want[160];
    snprintf(want, sizeof(want),
             "trace truncated after event %" PRIu64 "; replayed %" PRIu64
             " events without divergence",
             o.events, o.events);
    assert_string_equal(o.message, want);
}

/* ---- golden traces -------------------------------------------------------------------------- */

/* ---- --check: the devices' state invariants during a replay ------------ */

/* This program links with -Wl,--wrap=vcon_uart_get_state
 * (tests/CMakeLists.txt): while `plant_broken_ier` is set, the UART's
 * state as the invariant checks read it claims IER bit 7, as a device with
 * that bug would. */
static bool plant_broken_ier;
void __real_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out);
void __wrap_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out);
void __wrap_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out)
{
    __real_vcon_uart_get_state(uart, out);
    if (plant_broken_ier)
        out->ier |= 0x80u;
}

/* -Wl,--wrap=vcon_uart_read too: while `plant_bad_rbr` is set, the 40th
 * RBR read that finds data (well after the driver's loopback probe) returns
 * it with bit 5 flipped, as a device that corrupts a received byte would. The recorded trace replays as it was
 * through the same wrapped device; only the byte-conservation model sees
 * that the guest did not get the backend's byte. */
static bool plant_bad_rbr;
static unsigned rbr_data_reads;
#define BAD_RBR_READ 40u
int __real_vcon_uart_read(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t *value);
int __wrap_vcon_uart_read(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t *value);
int __wrap_vcon_uart_read(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t *value)
{
    struct vcon_uart_state st;
    __real_vcon_uart_get_state(uart, &st);
    const int rc = __real_vcon_uart_read(uart, offset, size, value);
    if (plant_bad_rbr && offset == VCON_UART_RBR_THR && size == 1 &&
        !(st.lcr & VCON_UART_LCR_DLAB) && (st.lsr & VCON_UART_LSR_DR) &&
        ++rbr_data_reads == BAD_RBR_READ)
        *value ^= 0x20u;
    return rc;
}

/* And -Wl,--wrap=vcon_uart_write: while `plant_double_thr` is set, the
 * 40th THR write out of loopback goes to the device twice, as a device that sends a byte
 * twice would. */
static bool plant_double_thr;
static unsigned thr_writes;
#define DOUBLE_THR_WRITE 40u
int __real_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value);
int __wrap_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value);
int __wrap_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value)
{
    struct vcon_uart_state st;
    __real_vcon_uart_get_state(uart, &st);
    if (plant_double_thr && offset == VCON_UART_RBR_THR && size == 1 &&
        !(st.lcr & VCON_UART_LCR_DLAB) && !(st.mcr & VCON_UART_MCR_LOOP) &&
        ++thr_writes == DOUBLE_THR_WRITE)
        (void)__real_vcon_uart_write(uart, offset, size, value);
    return __real_vcon_uart_write(uart, offset, size, value);
}

/* And -Wl,--wrap=vcon_virtq_read_chain: while `plant_bad_tx` is set, the
 * second read of a console's transmit data (control headers are 8 bytes and
 * left alone) gives the device its first byte with bit 5 flipped, as a
 * device that corrupts a byte on its way to the backend would. */
static bool plant_bad_tx;
static unsigned tx_data_reads;
#define BAD_TX_READ 2u
int __real_vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                                 uint32_t offset, void *buf, uint32_t len);
int __wrap_vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                                 uint32_t offset, void *buf, uint32_t len);
int __wrap_vcon_virtq_read_chain(struct vcon_virtq *vq, const struct vcon_virtq_chain *chain,
                                 uint32_t offset, void *buf, uint32_t len)
{
    const int rc = __real_vcon_virtq_read_chain(vq, chain, offset, buf, len);
    if (plant_bad_tx && len != 8 && rc > 0 && ++tx_data_reads == BAD_TX_READ)
        ((uint8_t *)buf)[0] ^= 0x20u;
    return rc;
}

/* And -Wl,--wrap=vcon_virtq_pop: while `plant_bad_address` is set, the
 * 10th chain with a device-writable buffer has that buffer moved 4 KiB up,
 * as a device that computes a wrong buffer address would: it writes guest
 * memory the guest never gave it. */
static bool plant_bad_address;
static unsigned writable_pops;
#define BAD_ADDRESS_POP 10u
enum vcon_virtq_pop_result __real_vcon_virtq_pop(struct vcon_virtq *vq,
                                                 struct vcon_virtq_chain *chain);
enum vcon_virtq_pop_result __wrap_vcon_virtq_pop(struct vcon_virtq *vq,
                                                 struct vcon_virtq_chain *chain);
enum vcon_virtq_pop_result __wrap_vcon_virtq_pop(struct vcon_virtq *vq,
                                                 struct vcon_virtq_chain *chain)
{
    const enum vcon_virtq_pop_result rc = __real_vcon_virtq_pop(vq, chain);
    if (plant_bad_address && rc == VCON_VIRTQ_CHAIN && chain->nr_in > 0 &&
        ++writable_pops == BAD_ADDRESS_POP)
        chain->seg[chain->nr_out].gpa += 4096u;
    return rc;
}

static void check_finds_every_state_invariant_kept_in_both_sessions(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_replay_options check = {.check = true};
    const char *const traces[] = {f->uart, f->console};
    for (unsigned i = 0; i < 2; i++) {
        struct outcome o;
        replay_path(traces[i], &check, &o);
        assert_int_equal(o.status, VCON_REPLAY_MATCH);
        assert_non_null(strstr(o.message, "; state invariants held after "));
    }
}

/* The sequence number of a trace's first top-level event. */
static uint64_t first_step(const char *path)
{
    struct vcon_trace_reader *reader = NULL;
    struct vcon_trace_event ev;
    uint64_t seq = 0;
    assert_int_equal(vcon_trace_reader_open(path, &reader), 0);
    while (vcon_trace_reader_next(reader, NULL, &ev) == 1) {
        if (vcon_trace_kind_is_step(ev.kind)) {
            seq = ev.seq;
            break;
        }
    }
    vcon_trace_reader_close(reader);
    assert_true(seq > 0);
    return seq;
}

static void check_reports_a_broken_invariant_after_the_first_event(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_replay_options check = {.check = true}, plain = {0};
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    plant_broken_ier = true;
    assert_int_equal(vcon_replay_open(f->uart, &check, &r), 0);
    assert_int_equal(vcon_replay_run(r), VCON_REPLAY_INVARIANT);
    vcon_replay_get_result(r, &res);
    plant_broken_ier = false;
    assert_string_equal(res.message, "invariant violated: uart regs: IER keeps bits 0-3 only (IER 0x80)");
    assert_int_equal(res.event, first_step(f->uart));
    vcon_replay_close(r);
    /* Without --check the same device replays as recorded. */
    struct outcome o;
    plant_broken_ier = true;
    replay_path(f->uart, &plain, &o);
    plant_broken_ier = false;
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
}

/* A planted bug: while *on is set, the wrapper counts in *count and acts at
 * its `at`th call. A session of the UART (or the console) is recorded with
 * it, and --check must name `broken` (the start of its message). */
struct plant {
    bool *on;
    unsigned *count;
    unsigned at;
    bool console;
    const char *trace;
    uint64_t seed;
    const char *broken;
};

/* After a planted-bug test, passed or failed: no bug stays planted for the
 * tests after it. */
static int clear_plants(void **state)
{
    (void)state;
    plant_broken_ier = plant_bad_rbr = plant_double_thr = plant_bad_tx = plant_bad_address = false;
    return 0;
}

/* Records the session in the fixture's folder (`path`), checks that the
 * bug was hit, that the trace replays without divergence through the same
 * device and that --check reports the broken invariant. */
static void check_finds_planted(const struct fixture *f, const struct plant *p, char *path)
{
    const struct vcon_replay_options check = {.check = true};
    struct vcon_session_result res;
    struct outcome o;
    path_in(path, f->dir, p->trace);
    *p->on = true;
    *p->count = 0;
    record_session(p->console ? CONSOLE_CONFIG : UART_CONFIG, p->console, path, p->seed, &res);
    assert_true(*p->count > p->at);
    *p->count = 0;
    replay_mode(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
    *p->count = 0;
    replay_path(path, &check, &o);
    *p->on = false;
    assert_int_equal(o.status, VCON_REPLAY_INVARIANT);
    if (strstr(o.message, p->broken) != o.message)
        fail_msg("--check said \"%s\", not \"%s...\"", o.message, p->broken);
}

static void check_reports_a_received_byte_the_uart_changed(void **state)
{
    const struct plant bad_rbr = {
        &plant_bad_rbr, &rbr_data_reads, BAD_RBR_READ, false, "uart-bad-rbr.pcap.zst", 13,
        "invariant violated: uart rx conservation: RBR returns the oldest backend byte (RBR 0x"};
    char path[PATH_SIZE];
    struct outcome o;
    check_finds_planted(*state, &bad_rbr, path);
    /* Without the bug the device returns the backend's byte: the trace
     * shows where it differs. */
    replay_mode(path, VCON_REPLAY_AUTO, &o);
    assert_int_equal(o.status, VCON_REPLAY_DIVERGED);
    assert_non_null(strstr(o.message, "READ_RESULT"));
}

static void check_reports_a_byte_the_uart_sent_twice(void **state)
{
    const struct plant double_thr = {
        &plant_double_thr, &thr_writes, DOUBLE_THR_WRITE, false, "uart-double-thr.pcap.zst", 14,
        "invariant violated: uart tx conservation: no byte sent twice or invented (backend took 2 "
        "bytes, 1 written and not yet sent)"};
    char path[PATH_SIZE];
    check_finds_planted(*state, &double_thr, path);
}

static void check_reports_a_byte_the_console_changed_on_its_way_out(void **state)
{
    const struct plant bad_tx = {
        &plant_bad_tx, &tx_data_reads, BAD_TX_READ, true, "console-bad-tx.pcap.zst", 15,
        "invariant violated: console tx: the backend gets the bytes of the guest's buffer, in "
        "order (byte 0 of "};
    char path[PATH_SIZE];
    check_finds_planted(*state, &bad_tx, path);
}

static void check_reports_a_console_write_outside_the_guests_buffers(void **state)
{
    const struct plant bad_address = {
        &plant_bad_address, &writable_pops, BAD_ADDRESS_POP, true, "console-bad-address.pcap.zst", 16,
        "invariant violated: console seam: the device writes only used rings and buffers the "
        "guest made device-writable"};
    char path[PATH_SIZE];
    struct outcome o;
    check_finds_planted(*state, &bad_address, path);
    /* A strict replay has no guest RAM to judge the address from. */
    const struct vcon_replay_options strict_check = {.mode = VCON_REPLAY_STRICT, .check = true};
    plant_bad_address = true;
    writable_pops = 0;
    replay_path(path, &strict_check, &o);
    plant_bad_address = false;
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
}

/* A copy of the trace at `path` that ends just before event `cut`, with no
 * END: what a fuzz target leaves when a check aborts it as the device makes
 * that access (the check runs before the access is recorded). */
static void write_cut_trace(const char *path, uint64_t cut, const char *out)
{
    struct vcon_trace_reader *reader = NULL;
    struct vcon_trace_writer *writer = NULL;
    struct vcon_trace_event ev;
    uint64_t time_ns;
    const struct vcon_trace_writer_options plain = {.plain = 1};
    char scratch[PATH_SIZE];
    assert_true(snprintf(scratch, sizeof(scratch), "%s.part", out) < PATH_SIZE);
    assert_int_equal(vcon_trace_reader_open(path, &reader), 0);
    assert_int_equal(vcon_trace_reader_next(reader, NULL, &ev), 1); /* META */
    assert_int_equal(vcon_trace_writer_open(scratch, vcon_trace_reader_meta(reader), &plain, &writer),
                     0);
    while (vcon_trace_reader_next(reader, &time_ns, &ev) == 1 && ev.seq < cut)
        assert_int_equal(vcon_trace_writer_append(writer, time_ns, &ev), 0);
    assert_int_equal(vcon_trace_writer_flush(writer), 0);
    /* The file as it is now, before close appends END. */
    size_t len;
    uint8_t *bytes = read_file(scratch, &len);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    assert_int_equal(vcon_trace_writer_close(writer), 0);
    vcon_trace_reader_close(reader);
    assert_int_equal(unlink(scratch), 0);
}

/* The fuzz targets abort on a seam check before the access is recorded:
 * their crash traces end just before the bad write. --check still names
 * the broken invariant at that cut (the replayed device makes the write
 * past it), and only at the right one: a cut before an earlier write of
 * the same step is a plain truncated trace. */
static void check_reports_a_bad_write_just_past_the_cut_of_a_crash_trace(void **state)
{
    const struct fixture *f = *state;
    const struct plant bad_address = {
        &plant_bad_address, &writable_pops, BAD_ADDRESS_POP, true, "console-bad-address-2.pcap.zst",
        16, "invariant violated: console seam: the device writes only used rings and buffers the "
            "guest made device-writable"};
    const struct vcon_replay_options check = {.check = true};
    char path[PATH_SIZE], cut_path[PATH_SIZE];
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    check_finds_planted(f, &bad_address, path);
    path_in(cut_path, f->dir, "console-bad-address-cut.pcap");
    /* The step that broke it, from the whole trace. */
    plant_bad_address = true;
    writable_pops = 0;
    assert_int_equal(vcon_replay_open(path, &check, &r), 0);
    assert_int_equal(vcon_replay_run(r), VCON_REPLAY_INVARIANT);
    vcon_replay_get_result(r, &res);
    const uint64_t step = res.event;
    vcon_replay_close(r);
    /* Cut before each of the step's memory writes in turn. */
    struct vcon_trace_reader *reader = NULL;
    struct vcon_trace_event ev;
    unsigned cuts = 0, found = 0;
    assert_int_equal(vcon_trace_reader_open(path, &reader), 0);
    while (found == 0 && vcon_trace_reader_next(reader, NULL, &ev) == 1) {
        if (ev.seq > step && vcon_trace_kind_is_step(ev.kind))
            break;
        if (ev.seq <= step || ev.kind != VCON_TRACE_MEM_WRITE)
            continue;
        struct outcome o;
        write_cut_trace(path, ev.seq, cut_path);
        writable_pops = 0;
        replay_path(cut_path, &check, &o);
        cuts++;
        if (o.status == VCON_REPLAY_MATCH) {
            assert_true(o.truncated);
            continue;
        }
        assert_int_equal(o.status, VCON_REPLAY_INVARIANT);
        if (strstr(o.message, bad_address.broken) != o.message ||
            strstr(o.message, "in the step the trace was cut short in") == NULL)
            fail_msg("cut before event %" PRIu64 ": \"%s\"", ev.seq, o.message);
        found++;
    }
    vcon_trace_reader_close(reader);
    plant_bad_address = false;
    assert_true(cuts > 0);
    assert_int_equal(found, 1);
}

/* Events of `kind` in the trace at `path`. */
static unsigned count_events(const char *path, unsigned kind)
{
    struct vcon_trace_reader *reader = NULL;
    struct vcon_trace_event ev;
    unsigned n = 0;
    assert_int_equal(vcon_trace_reader_open(path, &reader), 0);
    while (vcon_trace_reader_next(reader, NULL, &ev) == 1)
        n += ev.kind == kind;
    vcon_trace_reader_close(reader);
    return n;
}

/* Two consoles, the second one driven with MSI-X: each console's model
 * counts only its own messages (the VM's count is both devices'). */
static void check_holds_for_two_consoles_one_with_msix(void **state)
{
    const struct fixture *f = *state;
    const struct vcon_replay_options check = {.check = true};
    const struct vcon_session_options so = {
        .device = 1, .out_len = 200, .in_len = 200, .seed = 17, .console_msix = true};
    char path[PATH_SIZE];
    struct vcon_session_result res;
    struct outcome o;
    path_in(path, f->dir, "two-consoles.pcap.zst");
    struct vcon_recorder *rec = NULL;
    const struct vcon_recorder_options ro = {.path = path, .seed = 17};
    assert_int_equal(vcon_recorder_create(&ro, &rec), 0);
    struct vcon_rig *rig =
        make_rig(CONSOLE_CONFIG " -s 4,virtio-console,@stdio:q0", vcon_recorder_hooks(rec));
    assert_int_equal(vcon_recorder_start(rec, rig), 0);
    assert_int_equal(vcon_session_console(rig, &so, &res), 0);
    assert_int_equal(vcon_recorder_finish(rec), 0);
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
    assert_true(count_events(path, VCON_TRACE_MSI) > 0);
    replay_path(path, &check, &o);
    assert_int_equal(o.status, VCON_REPLAY_MATCH);
}

static void every_golden_trace_in_the_corpus_replays_without_divergence(void **state)
{
    (void)state;
    DIR *d = opendir(VCON_TRACE_CORPUS);
    if (d == NULL)
        fail_msg("cannot open %s: %s", VCON_TRACE_CORPUS, strerror(errno));
    unsigned replayed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".pcap.zst") && !ends_with(e->d_name, ".pcap"))
            continue;
        char path[PATH_SIZE];
        struct outcome o;
        path_in(path, VCON_TRACE_CORPUS, e->d_name);
        replay_mode(path, VCON_REPLAY_AUTO, &o);
        if (o.status != VCON_REPLAY_MATCH || o.truncated)
            fail_msg("%s: %s", e->d_name, o.message);
        replay_mode(path, VCON_REPLAY_STRICT, &o);
        if (o.status != VCON_REPLAY_MATCH)
            fail_msg("%s (strict): %s", e->d_name, o.message);
        const struct vcon_replay_options check = {.check = true};
        replay_path(path, &check, &o);
        if (o.status != VCON_REPLAY_MATCH)
            fail_msg("%s (--check): %s", e->d_name, o.message);
        replayed++;
    }
    closedir(d);
    assert_true(replayed >= NR_GOLDEN);
}

static int run_generator(const char *dir)
{
    const pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            (void)dup2(null, STDOUT_FILENO);
        execl(VCON_MAKE_GOLDEN_PROGRAM, VCON_MAKE_GOLDEN_PROGRAM, dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void golden_trace_generator_writes_the_same_small_files_every_run(void **state)
{
    const struct fixture *f = *state;
    char one[PATH_SIZE], two[PATH_SIZE];
    path_in(one, f->dir, "golden-1");
    path_in(two, f->dir, "golden-2");
    assert_int_equal(mkdir(one, 0700), 0);
    assert_int_equal(mkdir(two, 0700), 0);
    assert_int_equal(run_generator(one), 0);
    assert_int_equal(run_generator(two), 0);
    for (size_t i = 0; i < NR_GOLDEN; i++) {
        char a[PATH_SIZE], b[PATH_SIZE], committed[PATH_SIZE];
        size_t len_a = 0, len_b = 0;
        struct stat st;
        path_in(a, one, golden_files[i]);
        path_in(b, two, golden_files[i]);
        path_in(committed, VCON_TRACE_CORPUS, golden_files[i]);
        uint8_t *bytes_a = read_file(a, &len_a);
        uint8_t *bytes_b = read_file(b, &len_b);
        assert_int_equal(len_a, len_b);
        assert_memory_equal(bytes_a, bytes_b, len_a);
        assert_true(len_a < GOLDEN_MAX_BYTES);
        if (stat(committed, &st) != 0)
            fail_msg("%s is not in the corpus", golden_files[i]);
        free(bytes_a);
        free(bytes_b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uart_session_moves_every_byte_both_ways_while_recorded),
        cmocka_unit_test(console_session_moves_data_on_every_port_and_sees_resize_and_hotplug),
        cmocka_unit_test(uart_trace_replays_without_divergence_in_strict_and_image_mode),
        cmocka_unit_test(console_trace_replays_without_divergence_in_strict_and_image_mode),
        cmocka_unit_test(trace_in_memory_replays_like_the_file),
        cmocka_unit_test(replaying_twice_prints_identical_listings),
        cmocka_unit_test(until_stops_before_the_first_top_level_event_after_it),
        cmocka_unit_test(trace_meta_names_the_rig_configuration_ram_seed_and_build),
        cmocka_unit_test(queue_notifies_are_labelled_as_kicks),
        cmocka_unit_test(trace_recorded_through_vcon_record_replays),
        cmocka_unit_test(without_vcon_record_the_recorder_calls_do_nothing),
        cmocka_unit_test(recorder_refuses_a_rig_built_without_its_hooks),
        cmocka_unit_test(recorder_names_a_path_it_cannot_create),
        cmocka_unit_test(recorder_that_aborts_leaves_a_trace_that_replays_to_its_cut),
        cmocka_unit_test(every_golden_trace_in_the_corpus_replays_without_divergence),
        cmocka_unit_test(check_finds_every_state_invariant_kept_in_both_sessions),
        cmocka_unit_test_teardown(check_reports_a_broken_invariant_after_the_first_event, clear_plants),
        cmocka_unit_test_teardown(check_reports_a_received_byte_the_uart_changed, clear_plants),
        cmocka_unit_test_teardown(check_reports_a_byte_the_uart_sent_twice, clear_plants),
        cmocka_unit_test_teardown(check_reports_a_byte_the_console_changed_on_its_way_out, clear_plants),
        cmocka_unit_test_teardown(check_reports_a_console_write_outside_the_guests_buffers, clear_plants),
        cmocka_unit_test_teardown(check_reports_a_bad_write_just_past_the_cut_of_a_crash_trace,
                                  clear_plants),
        cmocka_unit_test(check_holds_for_two_consoles_one_with_msix),
        cmocka_unit_test(golden_trace_generator_writes_the_same_small_files_every_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
