/* Private to the replay library (recorder, replay host, replayer): the
 * replayer's state, shared by the main loop and the host it hands the
 * devices, and the words the divergence messages put around events. */
#ifndef VCON_REPLAY_INTERNAL_H
#define VCON_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/invariants.h"
#include "harness/rig.h"
#include "vcon/host.h"
#include "vcon/replayer.h"
#include "vcon/trace.h"

/* Guest bus accesses, the fake guest's RAM writes and clock steps belong to
 * no device: their events carry this device number. */
#define REPLAY_BUS_DEVICE 255u

/* Events shown before a divergence. */
#define REPLAY_CONTEXT 8u
#define REPLAY_LINE 320u
/* Payload bytes kept per context event: a line's worth, all that the
 * formatter reads of a payload for a line of REPLAY_LINE bytes
 * (vcon_trace_format_event). */
#define REPLAY_CONTEXT_PAYLOAD REPLAY_LINE

struct replay_context_entry {
    struct vcon_trace_event ev; /* payload points into `payload` */
    uint64_t time_ns;
    uint8_t payload[REPLAY_CONTEXT_PAYLOAD];
    const char *note;           /* a string literal, or NULL */
    bool formatted;
    char line[REPLAY_LINE];
};
#define REPLAY_MESSAGE 768u

/* ---- words around events (event_text.c) ------------------------------- */

/* Lines and fields are vcon_trace_format_event's and _fields' (vcon/trace.h),
 * payloads shortened to the preview, the same as `vcon-trace dump`. */

/* What a device (or the guest's read) did, as a phrase that completes
 * "..., " in a divergence message: "device 0 set line=4 level=0". */
void replay_describe_call(const struct vcon_trace_event *call, char *buf, size_t size);
/* Where two byte strings first differ, as " (first difference at byte 3:
 * 0x41 recorded, 0x42 now)", or the lengths when one is a prefix. */
void replay_describe_difference(const uint8_t *recorded, size_t recorded_len,
                                const uint8_t *now, size_t now_len, char *buf, size_t size);

/* ---- the replayer's state (replayer.c, replay_host.c) ------------------ */

struct replay_watch;

struct replay_device {
    struct vcon_replayer *r;
    unsigned index;
    struct vcon_host inner; /* the VM's host: RAM, interrupts, timers, log */
    /* --check: what the device moved, for its model (NULL otherwise;
     * replay_watch.c). */
    struct replay_watch *watch;
};

struct vcon_replayer {
    struct vcon_trace_reader *reader;
    struct vcon_replay_options options;
    enum vcon_replay_mode mode;
    const char *mode_reason;
    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct replay_device dev[VCON_RIG_MAX_DEVICES];
    /* Set once the rig is built: from then on device calls are answered
     * from the trace (the calls a rig makes while it is built are not in
     * the trace, because recording starts after that). */
    bool armed;
    /* The trace has written guest RAM (a GUEST_MEM_WRITE was fed): from
     * then on the VM's RAM is the image the recording had, in both modes,
     * and strict mode checks every recorded DMA read against it. */
    bool ram_known;

    /* One event of lookahead; its payload lives in the reader until the
     * next read. */
    bool have_next;
    int next_rc;
    struct vcon_trace_event next;
    uint64_t next_time;

    /* Why replaying stopped, set inside device calls and by the main loop;
     * once any is set, device calls get harmless answers. */
    bool diverged, cut, read_failed, no_memory, finished;
    enum vcon_replay_status status;
    bool stopped_early;
    uint64_t events; /* consumed, META not counted */
    uint64_t checks; /* --check: states checked */
    uint32_t read_value; /* what the last guest read returned */
    uint64_t div_event;
    unsigned div_kind;
    char message[REPLAY_MESSAGE];
    char recorded_line[REPLAY_LINE];

    /* The last events consumed, oldest first from context_count, kept raw
     * and formatted only when shown: formatting every event would cost more
     * than replaying it. */
    struct replay_context_entry context[REPLAY_CONTEXT];
    uint64_t context_count;

    char meta_line[REPLAY_MESSAGE];
};

/* replayer.c: the lookahead. Returns what vcon_trace_reader_next returned
 * (1 event, 0 END, VCON_TRACE_TRUNCATED, negative error) and leaves the
 * event in r->next. */
int replay_peek(struct vcon_replayer *r);
/* Takes r->next out of the lookahead: lists it (verbose), remembers it for
 * the report. `note` (may be NULL) is appended to the verbose line. */
void replay_consume(struct vcon_replayer *r, const char *note);
/* Whether nothing more is to be taken from the trace. */
bool replay_stopped(const struct vcon_replayer *r);
/* Records the first divergence, at the event r->next. */
void replay_diverge(struct vcon_replayer *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The divergence for a lookahead event of the wrong kind or device, given
 * what happened instead. */
void replay_diverge_unexpected(struct vcon_replayer *r, const struct vcon_trace_event *call);
/* Events the replayer passes over wherever they come: labels, TIMER_FIRE
 * (timers are the VM's own, driven by TIME_STEP) and, in image mode,
 * MEM_READ (a changed device may read differently). */
bool replay_skippable(const struct vcon_replayer *r, unsigned kind);
/* Takes events up to the next one of `call`'s kind and device and returns
 * it (in r->next, not consumed), or NULL when replaying has stopped: a
 * divergence (recorded here), the end or the cut of the trace, a read
 * error. */
const struct vcon_trace_event *replay_expect(struct vcon_replayer *r,
                                             const struct vcon_trace_event *call);

/* replay_inputs.c: feeds r->next, a step (vcon_trace_kind_is_step), to
 * the rig (taken out of the lookahead first). */
void replay_feed_input(struct vcon_replayer *r);

/* replay_host.c: rig hook that gives device `index` the replay host. */
void replay_wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out);

/* ---- --check: the devices' bytes (replay_watch.c) ---------------------- */

/* Starts following every UART and console of the rig (sets dev[i].watch). */
void replay_watch_start(struct vcon_replayer *r);
void replay_watch_free(struct vcon_replayer *r);
/* What the replay host did for a device: guest memory the device read (a
 * read that succeeded) and is writing (then, if the write failed, that),
 * bytes a backend handed it, bytes it offered a backend and the answer. */
void replay_watch_mem_read(struct replay_device *d, const void *bytes, size_t len);
void replay_watch_mem_write(struct replay_device *d, uint64_t gpa, const void *bytes,
                            size_t len);
void replay_watch_mem_write_failed(struct replay_device *d);
/* The device sent an MSI message. */
void replay_watch_msi(struct replay_device *d);
void replay_watch_backend_read(struct replay_device *d, const void *bytes, size_t n);
void replay_watch_backend_write(struct replay_device *d, unsigned port, const void *bytes,
                                size_t offered, int result);
/* Before a top-level event is fed, and after: false with the broken
 * invariant when a device's bytes or counters do not add up. */
void replay_watch_before(struct vcon_replayer *r, const struct vcon_trace_event *ev);
bool replay_watch_after(struct vcon_replayer *r, struct vcon_invariant_failure *why);
/* A failure a device's watch kept from an access of the step being fed
 * (the seam checks), if any: at the cut of a trace that a check's abort
 * truncated, the access that failed is the first one past the cut. */
bool replay_watch_failure(const struct vcon_replayer *r, struct vcon_invariant_failure *why);

#endif
