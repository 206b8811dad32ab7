/* What every fuzz target shares: the op-stream reader, the invariant check
 * macro, the hash of a run's observable results (for the corpus-order
 * test), and the rig a target keeps from one input to the next, with the
 * host it wraps around each device to watch the seam.
 *
 * A target creates its rig once per process and resets it between inputs
 * (devices, scripted backends, the VM's run state and only the guest RAM
 * the previous input dirtied). When VCON_RECORD names a file, each input
 * instead gets a fresh rig built with the recorder's hooks, so that the run
 * is written to that trace and `vcon-replay` reproduces it
 * (docs/fuzzing.md). */
#ifndef VCON_FUZZ_COMMON_H
#define VCON_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/rig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- invariants ----------------------------------------------------- */

/* Checks an invariant: when `cond` is false, prints the invariant's name,
 * the condition, where, and the op being run, then aborts (a crash for
 * every engine, a trace flush when recording). */
#define VCON_FUZZ_CHECK(cond, name)                                                   \
    do {                                                                              \
        if (!(cond))                                                                  \
            vcon_fuzz_fail((name), #cond, __FILE__, __LINE__);                        \
    } while (0)

/* The same with details: a printf format and its arguments. */
#define VCON_FUZZ_CHECKF(cond, name, ...)                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            vcon_fuzz_detail(__VA_ARGS__);                                            \
            vcon_fuzz_fail((name), #cond, __FILE__, __LINE__);                        \
        }                                                                             \
    } while (0)

_Noreturn void vcon_fuzz_fail(const char *name, const char *expr, const char *file, int line);
/* The same for a broken state invariant of harness/invariants.h. */
struct vcon_invariant_failure;
_Noreturn void vcon_fuzz_fail_invariant(const struct vcon_invariant_failure *why);
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void vcon_fuzz_detail(const char *fmt, ...);

/* Name the target and the op being run, for failure messages. */
void vcon_fuzz_set_target(const char *name);
void vcon_fuzz_set_op(size_t index, const char *op_name);

/* ---- op streams ------------------------------------------------------ */

/* The unread rest of an input. Every read is bounds-checked: a read that
 * does not fit returns false and the input counts as used up, which ends
 * the run at that op. Numbers are little-endian. */
struct vcon_fuzz_in {
    const uint8_t *p;
    size_t left;
};

static inline struct vcon_fuzz_in vcon_fuzz_in_init(const uint8_t *data, size_t size)
{
    struct vcon_fuzz_in in = {data, size};
    return in;
}
/* Inline: the targets read an opcode and its operands for every op. */
static inline bool vcon_fuzz_take(struct vcon_fuzz_in *in, size_t n, const uint8_t **out)
{
    if (in->left < n) {
        in->p += in->left;
        in->left = 0;
        return false;
    }
    *out = in->p;
    in->p += n;
    in->left -= n;
    return true;
}

/* `n` bytes (1 to 8), as a little-endian number. */
static inline bool vcon_fuzz_le(struct vcon_fuzz_in *in, unsigned n, uint64_t *out)
{
    const uint8_t *b;
    if (!vcon_fuzz_take(in, n, &b))
        return false;
    *out = 0;
    for (unsigned i = 0; i < n; i++)
        *out |= (uint64_t)b[i] << (8u * i);
    return true;
}

static inline bool vcon_fuzz_u8(struct vcon_fuzz_in *in, uint8_t *out)
{
    uint64_t v;
    if (!vcon_fuzz_le(in, 1, &v))
        return false;
    *out = (uint8_t)v;
    return true;
}

static inline bool vcon_fuzz_u16(struct vcon_fuzz_in *in, uint16_t *out)
{
    uint64_t v;
    if (!vcon_fuzz_le(in, 2, &v))
        return false;
    *out = (uint16_t)v;
    return true;
}

static inline bool vcon_fuzz_u32(struct vcon_fuzz_in *in, uint32_t *out)
{
    uint64_t v;
    if (!vcon_fuzz_le(in, 4, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

static inline bool vcon_fuzz_u64(struct vcon_fuzz_in *in, uint64_t *out)
{
    return vcon_fuzz_le(in, 8, out);
}

/* Up to `want` bytes (fewer when the input ends first; the input is then
 * used up). Returns how many, with *out pointing at them. */
static inline size_t vcon_fuzz_bytes(struct vcon_fuzz_in *in, size_t want, const uint8_t **out)
{
    const size_t n = want < in->left ? want : in->left;
    (void)vcon_fuzz_take(in, n, out); /* n fits; fewer than wanted leaves none */
    return n;
}

/* ---- observable results ---------------------------------------------- */

/* A 64-bit hash of what a run showed to the outside (read values, backend
 * output, interrupt counts, statistics), reset at vcon_fuzz_begin(). The
 * standalone runner compares it between two corpus orders. */
void vcon_fuzz_begin(void);
void vcon_fuzz_observe(const void *bytes, size_t len);
void vcon_fuzz_observe_u64(uint64_t value);
uint64_t vcon_fuzz_result(void);
/* Forget the coverage the run has gathered so far (libFuzzer's inline
 * 8-bit counters, AFL++'s map; nothing in builds without either): a target calls it once
 * the part of every run that does not depend on its input is done (undoing
 * the last input's state, a fixed bring-up), so that the engine neither
 * credits this input with paths the previous one made the reset take nor
 * spends time on counters every input sets alike. */
void vcon_fuzz_discard_coverage(void);
/* VCON_FUZZ_VERBOSE set: targets print a summary of each run to stderr
 * (what a seed reached, for people writing seeds). */
bool vcon_fuzz_verbose(void);
/* FNV-1a of a buffer (the recorder's META seed). */
uint64_t vcon_fuzz_hash(const void *bytes, size_t len);

/* ---- the seam -------------------------------------------------------- */

/* Where the targets' devices log: checks each line is a terminated string
 * and drops it. */
void vcon_fuzz_log_sink(void *ctx, enum vcon_log_level level, const char *message);

struct vcon_fuzz_rig;

/* What a device did at the seam, reported to the target's hook: a
 * guest-memory read that succeeded (with the bytes), a guest-memory write
 * about to happen (checked against the guest's structures as they are) and
 * one that the VM refused, a backend read that returned bytes (`len` of
 * them) and a backend write about to be offered (`len` bytes offered,
 * whatever the backend then takes). `where` is the address or the port. */
enum vcon_fuzz_seam_event {
    VCON_FUZZ_MEM_READ,
    VCON_FUZZ_MEM_WRITE,
    VCON_FUZZ_MEM_WRITE_FAILED,
    VCON_FUZZ_BACKEND_READ,
    VCON_FUZZ_BACKEND_WRITE,
};
typedef void vcon_fuzz_seam_hook(void *arg, unsigned device, enum vcon_fuzz_seam_event ev,
                                 uint64_t where, const void *buf, size_t len);

/* What each device did at the seam, counted by the wrapped host. */
struct vcon_fuzz_seam {
    struct vcon_host inner;
    struct vcon_fuzz_rig *owner;
    unsigned index;
    uint64_t backend_taken[VCON_VM_MAX_PORTS];   /* bytes read from backends */
    uint64_t backend_written[VCON_VM_MAX_PORTS]; /* bytes backends accepted */
    uint64_t mem_reads, mem_writes;
    uint64_t mem_faults; /* accesses the VM refused */
};

/* A target's rig. Fill config and ram_size (and the hooks) once, then call
 * vcon_fuzz_rig_begin() at the start of every input and
 * vcon_fuzz_rig_end() at its end. */
struct vcon_fuzz_rig {
    const char *config;
    size_t ram_size;
    vcon_fuzz_seam_hook *hook;
    void *hook_arg;

    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_recorder *rec; /* this input is being recorded */
    /* Added to the VM's clock for the devices. The VM's clock starts again
     * at 0 for every input, but a device's log budget (lines per virtual
     * second) lives on across resets: each input starts a second later
     * than the last one ended, so that every input has the whole budget,
     * whatever ran before it. Devices only use differences of time and the
     * second a line falls in. 0 for a recorded input (a fresh rig, as the
     * replayer builds it). */
    uint64_t epoch_ns;
    /* A hostile host: a backend read or write that moved every byte asked
     * for returns one more than that (devices must clamp). The seam's
     * counters and hooks see what really moved. Cleared for every input. */
    bool overclaim;
    bool fresh;                /* created for this input: nothing to reset */
    struct vcon_fuzz_seam seam[VCON_RIG_MAX_DEVICES];
};

/* Make the rig ready for an input: create it when there is none, or when
 * VCON_RECORD asks for a recording (then a fresh rig is built with the
 * recorder's hooks and recording starts; the hash of the input, `data`,
 * goes into META as its seed). A reused
 * rig has `fresh` false: the target resets its devices, then calls
 * vcon_fuzz_rig_reset_common(). Aborts if the rig cannot be built. */
void vcon_fuzz_rig_begin(struct vcon_fuzz_rig *r, const uint8_t *data, size_t size);
/* Every scripted backend reset, the VM's run state reset (fails an
 * invariant if a timer is still armed: the target must reset its devices
 * first) and the guest RAM the last input dirtied zeroed; the seam's
 * counters cleared. */
void vcon_fuzz_rig_reset_common(struct vcon_fuzz_rig *r);
/* End of an input: finish a recording (and destroy that rig), or, when
 * `destroy` is true, destroy the devices in whatever state the input left
 * them and build the rig again (its next input does not count as fresh);
 * otherwise keep it for the next input. */
void vcon_fuzz_rig_end(struct vcon_fuzz_rig *r, bool destroy);

#endif
