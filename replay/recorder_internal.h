/* Private to the recorder: its state, shared by the lifecycle and observers
 * (recorder.c) and the host it wraps around each device (record_host.c). */
#ifndef VCON_RECORDER_INTERNAL_H
#define VCON_RECORDER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "harness/rig.h"
#include "vcon/host.h"
#include "vcon/recorder.h"
#include "vcon/trace.h"

struct record_device {
    struct vcon_recorder *rec; /* NULL until the rig wrapped this device */
    unsigned index;
    struct vcon_host inner;
    uint32_t timers_created; /* the next timer's index */
};

struct vcon_recorder {
    char *path;
    uint64_t seed;
    struct vcon_trace_writer_options writer_options;
    bool crash_flush;

    struct vcon_rig_hooks hooks;
    struct record_device dev[VCON_RIG_MAX_DEVICES];
    /* Every timer wrapper handed out and not yet destroyed. */
    struct vcon_timer *timers;

    struct vcon_rig *rig;
    struct vcon_vm *vm;
    struct vcon_trace_writer *writer; /* non-NULL from start to finish */
    bool crash_flush_installed;
    bool skip_read_result; /* the access before was not recordable */
    int error;             /* the first error; recording stops at it */
    char message[256];
    uint64_t events;
};

/* Appends one event at the VM's current time, when recording. */
void record_event(struct vcon_recorder *rec, const struct vcon_trace_event *ev);
/* Appends a guest-memory transfer as events of at most the kind's largest
 * payload each, at consecutive addresses (`bytes` NULL: no payload). */
void record_memory(struct vcon_recorder *rec, const struct vcon_trace_event *proto,
                   const uint8_t *bytes, uint64_t len);

/* record_host.c */
void record_wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out);
void record_free_timers(struct vcon_recorder *rec);

#endif
