/* The replayer: rebuilds a recorded run's rig from the trace's META, feeds
 * the recorded inputs to the devices and checks what they do against the
 * recorded outputs, stopping at the first difference (docs/replay.md).
 *
 *     struct vcon_replayer *r;
 *     if (vcon_replay_open(path, &options, &r) != 0)
 *         return out_of_memory;
 *     status = vcon_replay_run(r);            // 0 match, 1 divergence, 2 unreadable
 *     vcon_replay_print_report(r, stdout);
 *     vcon_replay_close(r);
 *
 * A device that crashes while replaying crashes the replayer: under the
 * sanitizers that is the reproduction, with their usual report. */
#ifndef VCON_REPLAYER_H
#define VCON_REPLAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the device's guest-memory reads are answered from. */
enum vcon_replay_mode {
    /* image when the trace has any GUEST_MEM_WRITE, else strict */
    VCON_REPLAY_AUTO = 0,
    /* from the trace's MEM_READ events: the device must read exactly the
     * recorded addresses and lengths, in the recorded order */
    VCON_REPLAY_STRICT = 1,
    /* from a guest RAM image rebuilt from GUEST_MEM_WRITE events and the
     * device's own writes: a changed device may read differently */
    VCON_REPLAY_IMAGE = 2,
};

/* The outcome; also vcon-replay's exit status. */
enum vcon_replay_status {
    VCON_REPLAY_MATCH = 0,      /* to the end, the cut of a truncated trace, or --until */
    VCON_REPLAY_DIVERGED = 1,   /* the device did something else than recorded */
    VCON_REPLAY_UNREADABLE = 2, /* bad file, damaged, unknown version, bad META */
    VCON_REPLAY_INVARIANT = 3,  /* with `check`: a state invariant of a device broke */
};

struct vcon_replay_options {
    enum vcon_replay_mode mode;
    /* Nonzero: stop before the first top-level event after event `until`. */
    uint64_t until;
    /* Non-NULL: every event, as it is replayed, one line each. */
    FILE *verbose;
    /* After every top-level event, check the devices' state invariants
     * (harness/invariants.h) and each device's byte conservation
     * (harness/uart_model.h, harness/console_model.h), the same the fuzz
     * targets check; the first
     * broken one stops the replay with VCON_REPLAY_INVARIANT. */
    bool check;
};

/* What the run came to, for tests and tools. */
struct vcon_replay_result {
    enum vcon_replay_status status;
    enum vcon_replay_mode mode;  /* the mode used (never AUTO once open) */
    uint64_t events;             /* events replayed, META and END not counted */
    bool truncated;              /* the trace ends without END */
    bool stopped_early;          /* --until */
    /* Divergence or broken invariant: the event where it was seen (an
     * invariant: the event after which it was), and its kind. */
    uint64_t event;
    unsigned kind;
    /* The one-line explanation: the divergence, the broken invariant
     * ("invariant violated: NAME (values)"), why the trace is unreadable,
     * or the match summary. */
    const char *message;
};

struct vcon_replayer;

/* Reads META and builds the rig. Returns 0 with *out set, or -EINVAL (a
 * NULL argument) or -ENOMEM with *out NULL. A trace that cannot be replayed
 * (no such file, damaged, another format version, a META whose
 * configuration no rig accepts) still gives a replayer: its run returns
 * VCON_REPLAY_UNREADABLE and its report says why. */
int vcon_replay_open(const char *path, const struct vcon_replay_options *options,
                     struct vcon_replayer **out);
/* The same over a trace in memory (not copied: keep it alive). */
int vcon_replay_open_memory(const void *buf, size_t len, const struct vcon_replay_options *options,
                            struct vcon_replayer **out);

/* Replays to the end, the first divergence, an unreadable event or
 * `until`. Returns the status; a second call returns it again. */
enum vcon_replay_status vcon_replay_run(struct vcon_replayer *r);

void vcon_replay_get_result(const struct vcon_replayer *r, struct vcon_replay_result *out);

/* The report docs/replay.md describes: mode, outcome, and for a divergence
 * the recorded and the actual behaviour and the events before it. */
void vcon_replay_print_report(const struct vcon_replayer *r, FILE *out);

/* The line of the last event taken from the trace ("" before any), for
 * a crash report: the device crashed while that event was being fed or
 * just after. */
const char *vcon_replay_last_event(struct vcon_replayer *r);

void vcon_replay_close(struct vcon_replayer *r);

const char *vcon_replay_mode_name(enum vcon_replay_mode mode);

#ifdef __cplusplus
}
#endif
#endif
