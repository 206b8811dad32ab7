/* Shared by every fuzz target: op-stream reads, invariant failures, the
 * result hash, and the rig kept between inputs with its wrapped host. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/invariants.h"
#include "vcon/recorder.h"

/* ---- invariants ----------------------------------------------------- */

static const char *target_name = "?";
static size_t op_index;
static const char *op_name = "(setup)";

void vcon_fuzz_set_target(const char *name)
{
    target_name = name;
    op_index = 0;
    op_name = "(setup)";
}

void vcon_fuzz_set_op(size_t index, const char *name)
{
    op_index = index;
    op_name = name;
}

void vcon_fuzz_detail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vcon-fuzz:   details: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

_Noreturn void vcon_fuzz_fail(const char *name, const char *expr, const char *file, int line)
{
    fprintf(stderr,
            "vcon-fuzz: invariant violated: %s\n"
            "vcon-fuzz:   condition: %s\n"
            "vcon-fuzz:   at %s:%d, target %s, op #%zu (%s)\n",
            name, expr, file, line, target_name, op_index, op_name);
    fflush(stderr);
    abort();
}

_Noreturn void vcon_fuzz_fail_invariant(const struct vcon_invariant_failure *why)
{
    vcon_fuzz_detail("%s", why->detail);
    vcon_fuzz_fail(why->name, "(shared with vcon-replay --check)",
                   why->source != NULL ? why->source : "harness/", 0);
}

/* ---- observable results ---------------------------------------------- */

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t result_hash = FNV_OFFSET;

static uint64_t fnv(uint64_t h, const void *bytes, size_t len)
{
    const uint8_t *p = bytes;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

void vcon_fuzz_begin(void)
{
    result_hash = FNV_OFFSET;
}

/* VCON_FUZZ_DEBUG_OBSERVE set: every observation printed, to find what
 * differs between two orders of a corpus. */
static bool debug_observe(void)
{
    static int debug = -1;
    if (debug < 0)
        debug = getenv("VCON_FUZZ_DEBUG_OBSERVE") != NULL;
    return debug != 0;
}

void vcon_fuzz_observe(const void *bytes, size_t len)
{
    if (debug_observe())
        fprintf(stderr, "observe %s #%zu %s: %zu bytes %llx\n", target_name, op_index, op_name,
                len, (unsigned long long)fnv(FNV_OFFSET, bytes, len));
    result_hash = fnv(result_hash, bytes, len);
}

void vcon_fuzz_observe_u64(uint64_t value)
{
    if (debug_observe())
        fprintf(stderr, "observe %s #%zu %s: %llx\n", target_name, op_index, op_name,
                (unsigned long long)value);
    /* A word at a time (a multiply and a shift, not FNV's eight
     * multiplies): the targets observe every register read. */
    result_hash = (result_hash ^ value) * UINT64_C(0x9E3779B97F4A7C15);
    result_hash ^= result_hash >> 29;
}

uint64_t vcon_fuzz_result(void)
{
    return result_hash;
}

/* The linker's bounds of the section that -fsanitize-coverage's
 * inline-8bit-counters fill; weak, so 0 where there is no such section
 * (the standalone runners, the AFL++ builds). libFuzzer clears these
 * counters before each run and reads them after it, so clearing them in
 * between is what AFL++'s __AFL_COVERAGE_DISCARD does for its map. */
extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));

#ifdef __AFL_COMPILER
/* Compiled by afl-clang-fast (our driver, afl_main.c, or OSS-Fuzz's AFL++
 * build with its own): AFL++'s selective coverage, left on from the start,
 * for __AFL_COVERAGE_DISCARD alone (AFL++'s
 * instrumentation/README.instrument_list.md). Without it afl-fuzz saw the
 * reset's paths, which follow the previous input, as unstable edges: 73 to
 * 76 % stability on the uart, console_ctrl and console targets in a
 * minute's run from the seeds, 97 to 99 % with it (docs/fuzzing.md). */
__AFL_COVERAGE();
/* The CmpLog runtime's log of comparison operands; NULL but in the CmpLog
 * build. */
struct cmp_map;
extern struct cmp_map *__afl_cmp_map;
#endif

void vcon_fuzz_discard_coverage(void)
{
    uint8_t *const start = __start___sancov_cntrs, *const stop = __stop___sancov_cntrs;
    if (start != NULL && stop > start)
        memset(start, 0, (size_t)(stop - start));
#ifdef __AFL_COMPILER
    /* Not in the CmpLog build, which afl-fuzz runs for comparison operands
     * only: AFL++'s discard clears that log too, tens of megabytes, on
     * every call. (Outside afl-fuzz the map is AFL++'s initial one, which
     * it is as safe to clear.) */
    if (__afl_cmp_map == NULL)
        __AFL_COVERAGE_DISCARD();
#endif
}

bool vcon_fuzz_verbose(void)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("VCON_FUZZ_VERBOSE") != NULL;
    return verbose != 0;
}

uint64_t vcon_fuzz_hash(const void *bytes, size_t len)
{
    return fnv(FNV_OFFSET, bytes, len);
}

/* ---- the wrapped host ------------------------------------------------ */

/* What a backend call returns to the device: `rc`, or one more when the rig
 * plays a host that overclaims and every byte asked for moved. */
static int claimed(const struct vcon_fuzz_seam *s, int rc, size_t len)
{
    return s->owner->overclaim && rc > 0 && (size_t)rc == len ? rc + 1 : rc;
}

static int seam_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    struct vcon_fuzz_seam *s = ctx;
    const int rc = s->inner.mem_read(s->inner.ctx, gpa, buf, len);
    s->mem_reads++;
    if (rc != 0)
        s->mem_faults++;
    else if (s->owner->hook != NULL)
        s->owner->hook(s->owner->hook_arg, s->index, VCON_FUZZ_MEM_READ, gpa, buf, len);
    return rc;
}

static int seam_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    struct vcon_fuzz_seam *s = ctx;
    s->mem_writes++;
    /* Checked before the write lands: the hook compares it with the guest
     * structures as they are. */
    if (s->owner->hook != NULL)
        s->owner->hook(s->owner->hook_arg, s->index, VCON_FUZZ_MEM_WRITE, gpa, buf, len);
    const int rc = s->inner.mem_write(s->inner.ctx, gpa, buf, len);
    if (rc != 0) {
        s->mem_faults++;
        if (s->owner->hook != NULL)
            s->owner->hook(s->owner->hook_arg, s->index, VCON_FUZZ_MEM_WRITE_FAILED, gpa, buf, len);
    }
    return rc;
}

static void seam_irq_set_level(void *ctx, unsigned line, int level)
{
    struct vcon_fuzz_seam *s = ctx;
    s->inner.irq_set_level(s->inner.ctx, line, level);
}

static void seam_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    struct vcon_fuzz_seam *s = ctx;
    s->inner.msi_send(s->inner.ctx, address, data);
}

/* The devices see the VM's clock plus the rig's epoch (see struct
 * vcon_fuzz_rig); deadlines go back to the VM's clock. */
static uint64_t seam_now_ns(void *ctx)
{
    struct vcon_fuzz_seam *s = ctx;
    return s->inner.now_ns(s->inner.ctx) + s->owner->epoch_ns;
}

static struct vcon_timer *seam_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    struct vcon_fuzz_seam *s = ctx;
    return s->inner.timer_create(s->inner.ctx, fire, device);
}

static void seam_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    struct vcon_fuzz_seam *s = ctx;
    const uint64_t epoch = s->owner->epoch_ns;
    s->inner.timer_arm(s->inner.ctx, timer, deadline_ns > epoch ? deadline_ns - epoch : 0);
}

static void seam_timer_disarm(void *ctx, struct vcon_timer *timer)
{
    struct vcon_fuzz_seam *s = ctx;
    s->inner.timer_disarm(s->inner.ctx, timer);
}

static void seam_timer_destroy(void *ctx, struct vcon_timer *timer)
{
    struct vcon_fuzz_seam *s = ctx;
    s->inner.timer_destroy(s->inner.ctx, timer);
}

static int seam_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    struct vcon_fuzz_seam *s = ctx;
    const int rc = s->inner.backend_read(s->inner.ctx, port, buf, len);
    VCON_FUZZ_CHECK(rc <= 0 || (size_t)rc <= len, "seam: backend read within the buffer");
    if (rc > 0 && port < VCON_VM_MAX_PORTS)
        s->backend_taken[port] += (unsigned)rc;
    if (rc > 0 && s->owner->hook != NULL)
        s->owner->hook(s->owner->hook_arg, s->index, VCON_FUZZ_BACKEND_READ, port, buf,
                       (size_t)rc);
    return claimed(s, rc, len);
}

static int seam_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    struct vcon_fuzz_seam *s = ctx;
    /* Shown before it goes: what the device offers, whatever is taken. */
    if (s->owner->hook != NULL)
        s->owner->hook(s->owner->hook_arg, s->index, VCON_FUZZ_BACKEND_WRITE, port, buf, len);
    const int rc = s->inner.backend_write(s->inner.ctx, port, buf, len);
    VCON_FUZZ_CHECK(rc <= 0 || (size_t)rc <= len, "seam: backend write within the buffer");
    if (rc > 0 && port < VCON_VM_MAX_PORTS)
        s->backend_written[port] += (unsigned)rc;
    return claimed(s, rc, len);
}

void vcon_fuzz_log_sink(void *ctx, enum vcon_log_level level, const char *message)
{
    (void)ctx;
    VCON_FUZZ_CHECK(level <= VCON_LOG_DEBUG, "log: a defined level");
    /* strlen lets ASan see a line that is not terminated inside its
     * buffer; a device's lines are short. */
    VCON_FUZZ_CHECK(message != NULL && strlen(message) < 1024, "log: a short, terminated line");
}

/* The rig's wrap_host hook: the recorder's host (when recording) goes
 * between this one and the VM's, so the trace sees what the device does.
 * Log lines go to vcon_fuzz_log_sink (they are no part of a device's
 * behaviour: nothing observes them, and the recorder does not write
 * them), so that the formatting a guest can provoke is fuzzed too. */
static void wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out)
{
    struct vcon_fuzz_rig *r = arg;
    struct vcon_host mid = *inner;
    struct vcon_fuzz_seam *s;

    if (r->rec != NULL) {
        const struct vcon_rig_hooks *rh = vcon_recorder_hooks(r->rec);
        if (rh != NULL && rh->wrap_host != NULL)
            rh->wrap_host(rh->arg, index, inner, &mid);
    }
    *out = mid;
    out->log = vcon_fuzz_log_sink;
    if (index >= VCON_RIG_MAX_DEVICES)
        return;
    s = &r->seam[index];
    memset(s, 0, sizeof(*s));
    s->inner = mid;
    s->owner = r;
    s->index = index;
    out->ctx = s;
    out->mem_read = mid.mem_read ? seam_mem_read : NULL;
    out->mem_write = mid.mem_write ? seam_mem_write : NULL;
    out->irq_set_level = mid.irq_set_level ? seam_irq_set_level : NULL;
    out->msi_send = mid.msi_send ? seam_msi_send : NULL;
    out->now_ns = mid.now_ns ? seam_now_ns : NULL;
    out->timer_create = mid.timer_create ? seam_timer_create : NULL;
    out->timer_arm = mid.timer_arm ? seam_timer_arm : NULL;
    out->timer_disarm = mid.timer_disarm ? seam_timer_disarm : NULL;
    out->timer_destroy = mid.timer_destroy ? seam_timer_destroy : NULL;
    out->backend_read = mid.backend_read ? seam_backend_read : NULL;
    out->backend_write = mid.backend_write ? seam_backend_write : NULL;
}

/* ---- the rig kept between inputs ------------------------------------- */

static void build(struct vcon_fuzz_rig *r)
{
    const struct vcon_rig_hooks hooks = {.arg = r, .wrap_host = wrap_host};
    char err[256];
    const int rc = vcon_rig_create(r->config, r->ram_size, &hooks, &r->rig, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vcon-fuzz: cannot build the rig '%s': %s\n", r->config, err);
        abort();
    }
    r->vm = vcon_rig_vm(r->rig);
}

static void teardown(struct vcon_fuzz_rig *r)
{
    vcon_rig_destroy(r->rig);
    r->rig = NULL;
    r->vm = NULL;
}

void vcon_fuzz_rig_begin(struct vcon_fuzz_rig *r, const uint8_t *data, size_t size)
{
    struct vcon_recorder *rec = NULL;
    /* The input's hash is META's seed: only a recording needs it, and it
     * is a pass over the whole input. */
    const char *record_path = getenv(VCON_RECORD_ENV);
    const int rc = record_path != NULL
                       ? vcon_recorder_from_env(vcon_fuzz_hash(data, size), &rec)
                       : 0;
    r->overclaim = false;
    if (rc != 0) {
        fprintf(stderr, "vcon-fuzz: cannot record (%s): error %d\n", record_path, rc);
        abort();
    }
    if (rec != NULL) {
        /* A trace starts from a rig as vcon_rig_create() builds it, which
         * is what the replayer rebuilds from META. */
        if (r->rig != NULL)
            teardown(r);
        r->rec = rec;
        r->epoch_ns = 0;
        build(r);
        if (vcon_recorder_start(rec, r->rig) != 0) {
            fprintf(stderr, "vcon-fuzz: cannot record: %s\n", vcon_recorder_error(rec));
            abort();
        }
        r->fresh = true;
        return;
    }
    r->fresh = r->rig == NULL;
    if (r->rig == NULL)
        build(r);
}

void vcon_fuzz_rig_reset_common(struct vcon_fuzz_rig *r)
{
    const unsigned n = vcon_rig_nr_devices(r->rig);
    for (unsigned d = 0; d < n; d++) {
        struct vcon_rig_device_info info;
        if (vcon_rig_device_info(r->rig, d, &info) != 0)
            continue;
        for (unsigned p = 0; p < info.nr_ports; p++)
            vcon_script_reset(vcon_rig_backend(r->rig, d, p));
        struct vcon_fuzz_seam *s = &r->seam[d];
        memset(s->backend_taken, 0, sizeof(s->backend_taken));
        memset(s->backend_written, 0, sizeof(s->backend_written));
        s->mem_reads = s->mem_writes = s->mem_faults = 0;
    }
    VCON_FUZZ_CHECK(vcon_vm_reset_run(r->vm) == 0, "reset: no device timer armed after reset");
    vcon_vm_clear_dirty(r->vm);
}

/* The next input's clock starts in a virtual second no input has used
 * (see struct vcon_fuzz_rig). */
static void next_epoch(struct vcon_fuzz_rig *r)
{
    const uint64_t second = UINT64_C(1000000000);
    const uint64_t end = r->epoch_ns + vcon_vm_now(r->vm);
    r->epoch_ns = (end / second + 1u) * second;
}

void vcon_fuzz_rig_end(struct vcon_fuzz_rig *r, bool destroy)
{
    if (r->rec != NULL) {
        struct vcon_recorder *rec = r->rec;
        const int rc = vcon_recorder_finish(rec);
        const char *path = getenv(VCON_RECORD_ENV);
        if (rc != 0)
            fprintf(stderr, "vcon-fuzz: recording failed: %s\n", vcon_recorder_error(rec));
        else
            fprintf(stderr, "vcon-fuzz: recorded %llu events to %s\n",
                    (unsigned long long)vcon_recorder_events(rec), path ? path : "?");
        teardown(r);
        /* After the rig: its devices used the recorder's host. */
        vcon_recorder_destroy(rec);
        r->rec = NULL;
        r->epoch_ns = 0; /* the next rig is built fresh */
        return;
    }
    next_epoch(r);
    /* Queued backend input is freed now rather than by the next input's
     * reset: an input that leaves more allocated than it found makes
     * libFuzzer run a leak check on it. */
    if (!destroy && r->rig != NULL) {
        const unsigned n = vcon_rig_nr_devices(r->rig);
        for (unsigned d = 0; d < n; d++) {
            struct vcon_rig_device_info info;
            if (vcon_rig_device_info(r->rig, d, &info) != 0)
                continue;
            for (unsigned p = 0; p < info.nr_ports; p++)
                vcon_script_reset(vcon_rig_backend(r->rig, d, p));
        }
    }
    /* Built again at once: the next input then starts with as many live
     * allocations as this one did, so a leak check (libFuzzer's, which
     * runs when an input allocates more than it frees) has no reason to
     * run on it. */
    if (destroy) {
        teardown(r);
        build(r);
    }
}
