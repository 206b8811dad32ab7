/* Fuzz target: a whole replay with the input as the trace
 * (vcon_replay_open_memory, vcon_replay_run). The replayer rebuilds the rig
 * from META, feeds the recorded inputs to the devices and compares their
 * outputs, so a mutated trace drives the devices with inputs that no guest
 * produced in the order recorded, and the replayer itself with damaged
 * files.
 *
 * Input: the bytes of a trace file (plain .pcap seeds mutate best).
 *
 * The replay runs with --check: whatever a trace feeds them, the devices
 * keep their state invariants and their bytes (harness/invariants.h,
 * harness/uart_model.h, harness/console_model.h).
 *
 * Checks: open fails only for memory; the run ends in a match, a
 * divergence or an unreadable trace, never a broken invariant, and a
 * second run answers the same; the result is consistent
 * (the mode chosen when the trace could be read, a message, a divergence
 * with the event it names); the report prints. Traces asking for more than 64 MiB of guest RAM are
 * skipped: the replayer accepts up to 4 GiB, which is no bug, but is more
 * than a fuzzer's memory limit. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"
#include "vcon/replayer.h"
#include "vcon/trace.h"

#define MAX_RAM (64u << 20)

/* The META's RAM size, or 0 when the trace does not start with one. */
static uint64_t meta_ram(const uint8_t *data, size_t size)
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev;
    uint64_t ram = 0;
    if (vcon_trace_reader_open_memory(data, size, &r) != 0)
        return 0;
    if (vcon_trace_reader_next(r, NULL, &ev) == 1 && ev.kind == VCON_TRACE_META)
        ram = ev.meta.ram_size;
    vcon_trace_reader_close(r);
    return ram;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result res;
    const struct vcon_replay_options options = {.mode = VCON_REPLAY_AUTO, .check = true};

    vcon_fuzz_begin();
    vcon_fuzz_set_target("replay");
    if (meta_ram(data, size) > MAX_RAM)
        return 0;
    vcon_fuzz_set_op(0, "open");
    const int rc = vcon_replay_open_memory(data, size, &options, &r);
    VCON_FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "replay: open fails only for memory");
    if (rc != 0)
        return 0;
    VCON_FUZZ_CHECK(r != NULL, "replay: open gives a replayer");
    vcon_fuzz_set_op(0, "run");
    const enum vcon_replay_status status = vcon_replay_run(r);
    if (status == VCON_REPLAY_INVARIANT) {
        vcon_replay_get_result(r, &res);
        vcon_fuzz_detail("%s", res.message);
    }
    VCON_FUZZ_CHECK(status != VCON_REPLAY_INVARIANT,
                    "replay: the devices' invariants hold whatever the trace feeds them");
    VCON_FUZZ_CHECK(status == VCON_REPLAY_MATCH || status == VCON_REPLAY_DIVERGED ||
                        status == VCON_REPLAY_UNREADABLE,
                    "replay: one of the three outcomes");
    VCON_FUZZ_CHECK(vcon_replay_run(r) == status, "replay: a second run answers the same");
    vcon_replay_get_result(r, &res);
    VCON_FUZZ_CHECK(res.status == status, "replay: the result says the status");
    /* (A trace too damaged to read has no mode to choose: it stays AUTO.) */
    if (status != VCON_REPLAY_UNREADABLE)
        VCON_FUZZ_CHECK(res.mode == VCON_REPLAY_STRICT || res.mode == VCON_REPLAY_IMAGE,
                        "replay: AUTO becomes strict or image");
    VCON_FUZZ_CHECK(res.message != NULL && vcon_replay_last_event(r) != NULL,
                    "replay: a message and a last event line");
    VCON_FUZZ_CHECK(vcon_replay_mode_name(res.mode) != NULL, "replay: modes have names");
    if (status == VCON_REPLAY_DIVERGED)
        VCON_FUZZ_CHECK(res.kind < VCON_TRACE_KIND_COUNT && res.message[0] != 0,
                        "replay: a divergence names an event kind and explains itself");
    if (sink == NULL)
        sink = fopen("/dev/null", "w");
    if (sink != NULL)
        vcon_replay_print_report(r, sink);
    vcon_fuzz_observe_u64(status);
    vcon_fuzz_observe_u64(res.events);
    vcon_fuzz_observe_u64(res.event);
    vcon_fuzz_observe_u64(res.kind);
    vcon_fuzz_observe_u64((uint64_t)res.truncated << 1 | res.stopped_early);
    vcon_replay_close(r);
    return 0;
}
