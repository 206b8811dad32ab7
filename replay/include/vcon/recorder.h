/* The recorder: writes every crossing of a rig's host seam to a trace file
 * (docs/replay.md, docs/trace-format.md). It interposes on each device's
 * struct vcon_host (through the rig's wrap_host hook) and watches the VM's
 * inputs (guest bus accesses, the fake guest's RAM writes, clock advances)
 * and the rig's host events.
 *
 * Use, in this order:
 *
 *     struct vcon_recorder *rec = NULL;
 *     vcon_recorder_create(&(struct vcon_recorder_options){.path = p}, &rec);
 *     vcon_rig_create(config, 0, vcon_recorder_hooks(rec), &rig, err, len);
 *     vcon_recorder_start(rec, rig);   // right away: nothing before is recorded
 *     ... drive the run ...
 *     vcon_recorder_finish(rec);       // END, close the file
 *     vcon_rig_destroy(rig);
 *     vcon_recorder_destroy(rec);      // after the rig: its devices call it
 *
 * Every function accepts a NULL recorder and then does nothing (returns 0,
 * or NULL hooks), so that vcon_recorder_from_env() makes recording one
 * environment variable away without a branch in the caller. */
#ifndef VCON_RECORDER_H
#define VCON_RECORDER_H

#include <stdint.h>

#include "harness/rig.h"
#include "vcon/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Names the environment variable vcon_recorder_from_env() reads. */
#define VCON_RECORD_ENV "VCON_RECORD"

struct vcon_recorder;

struct vcon_recorder_options {
    const char *path;  /* the trace file (created or truncated at start) */
    uint64_t seed;     /* whatever the run was made from; recorded in META */
    const struct vcon_trace_writer_options *writer; /* NULL: the defaults */
    /* Nonzero: do not install the trace library's crash flush (for a caller
     * that records several traces at once: only one can be registered). */
    int no_crash_flush;
};

/* The build id written into META: the project version and the source
 * revision the binary was configured from. The same in every run of one
 * binary. */
const char *vcon_recorder_build_id(void);

/* Returns 0, -EINVAL (no path), -ENOMEM. Nothing is written yet. */
int vcon_recorder_create(const struct vcon_recorder_options *options,
                         struct vcon_recorder **out);
/* When VCON_RECORD is set and not empty: a recorder for that path (0, or
 * what vcon_recorder_create returned). Otherwise 0 with *out NULL. */
int vcon_recorder_from_env(uint64_t seed, struct vcon_recorder **out);

/* The hooks to pass to vcon_rig_create (NULL for a NULL recorder). They
 * stay valid until vcon_recorder_destroy. */
const struct vcon_rig_hooks *vcon_recorder_hooks(struct vcon_recorder *rec);

/* Opens the file, writes META (the rig's configuration, its RAM size, the
 * seed, the build id), installs the crash flush and starts recording the
 * rig built with vcon_recorder_hooks(rec). Returns 0, -EINVAL (another rig,
 * or started twice), or the writer's error (vcon_recorder_error()). */
int vcon_recorder_start(struct vcon_recorder *rec, struct vcon_rig *rig);

/* A MARK label: free text for people reading the trace. */
int vcon_recorder_mark(struct vcon_recorder *rec, const char *text);

/* Stops recording, writes END and closes the file. Returns 0 or the first
 * error met while recording (a full disk, say: the trace is incomplete).
 * The rig keeps working, unrecorded. */
int vcon_recorder_finish(struct vcon_recorder *rec);

/* Frees the recorder. Call it after vcon_rig_destroy: a rig's devices use
 * the recorder's host until they are destroyed. Finishes first if needed. */
void vcon_recorder_destroy(struct vcon_recorder *rec);

/* Why the last failing call failed ("" when none did). */
const char *vcon_recorder_error(const struct vcon_recorder *rec);
/* Events written so far, META included. */
uint64_t vcon_recorder_events(const struct vcon_recorder *rec);

#ifdef __cplusplus
}
#endif
#endif
