/* Fuzz target: the trace reader (replay/include/vcon/trace.h) over a
 * buffer: vcon_trace_reader_open_memory, then every event to the end.
 *
 * Input: the bytes of a trace file (.pcap.zst or plain .pcap; the reader
 * tells them apart).
 *
 * Checks: next() answers 1 (an event), 0 (END, and again on every later
 * call), VCON_TRACE_TRUNCATED or a negative errno, and an error is sticky
 * (the same answer again, with a message); the first event is META, with
 * its strings NUL-terminated at their lengths; sequence numbers count
 * events; the event count agrees; every payload fits its kind's bound and
 * has bytes behind it; and every event the reader accepts is one the
 * writer's encoder accepts and round-trips: encode, decode, encode again
 * gives the same bytes and the same payload. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "vcon/trace.h"

#define MAX_EVENTS 100000u

static uint8_t body1[VCON_TRACE_SNAPLEN], body2[VCON_TRACE_SNAPLEN];

static void check_round_trip(const struct vcon_trace_event *ev)
{
    char err[160];
    struct vcon_trace_event back;
    const int n1 = vcon_trace_event_encode(ev, body1, sizeof(body1), err, sizeof(err));
    VCON_FUZZ_CHECK(n1 > 0, "trace reader: an accepted event is one the writer can encode");
    VCON_FUZZ_CHECK(vcon_trace_event_decode(body1, (size_t)n1, &back, err, sizeof(err)) == 0,
                    "trace codec: an encoded event decodes");
    VCON_FUZZ_CHECK(back.kind == ev->kind && back.device == ev->device && back.seq == ev->seq,
                    "trace codec: kind, device and sequence survive a round trip");
    VCON_FUZZ_CHECK(back.payload_len == ev->payload_len &&
                        (ev->payload_len == 0 ||
                         memcmp(back.payload, ev->payload, ev->payload_len) == 0),
                    "trace codec: the payload survives a round trip");
    const int n2 = vcon_trace_event_encode(&back, body2, sizeof(body2), err, sizeof(err));
    VCON_FUZZ_CHECK(n2 == n1 && memcmp(body1, body2, (size_t)n1) == 0,
                    "trace codec: encode(decode(encode(e))) == encode(e)");
    vcon_fuzz_observe(body1, (size_t)n1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcon_trace_reader *r = NULL;
    struct vcon_trace_event ev;
    uint64_t time_ns = 0, delivered = 0;
    int rc;

    vcon_fuzz_begin();
    vcon_fuzz_set_target("trace_reader");
    vcon_fuzz_set_op(0, "open");
    rc = vcon_trace_reader_open_memory(data, size, &r);
    VCON_FUZZ_CHECK(rc == 0 || rc == -ENOMEM, "trace reader: open fails only for memory");
    if (rc != 0)
        return 0;
    VCON_FUZZ_CHECK(vcon_trace_reader_meta(r) == NULL, "trace reader: no META before reading it");
    for (;;) {
        vcon_fuzz_set_op((size_t)delivered, "next");
        rc = vcon_trace_reader_next(r, &time_ns, &ev);
        vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
        if (rc != 1)
            break;
        VCON_FUZZ_CHECK(ev.seq == delivered, "trace reader: sequence numbers count events");
        VCON_FUZZ_CHECK(ev.kind < VCON_TRACE_KIND_COUNT, "trace reader: a known kind");
        VCON_FUZZ_CHECK((delivered == 0) == (ev.kind == VCON_TRACE_META),
                        "trace reader: META first and only first");
        VCON_FUZZ_CHECK(ev.payload_len <= vcon_trace_max_payload(ev.kind),
                        "trace reader: payloads within their kind's bound");
        VCON_FUZZ_CHECK(ev.payload_len == 0 || ev.payload != NULL, "trace reader: payload bytes present");
        if (ev.kind == VCON_TRACE_META) {
            const struct vcon_trace_meta *m = vcon_trace_reader_meta(r);
            VCON_FUZZ_CHECK(m != NULL, "trace reader: META kept once read");
            /* Byte strings: NUL-terminated at their lengths, but a NUL
             * inside is the file's business. */
            VCON_FUZZ_CHECK(m->config[m->config_len] == 0 && m->build_id[m->build_id_len] == 0,
                            "trace reader: META strings NUL-terminated at their lengths");
            VCON_FUZZ_CHECK(m->version_major == VCON_TRACE_VERSION_MAJOR,
                            "trace reader: only its own major version is read");
        }
        check_round_trip(&ev);
        vcon_fuzz_observe_u64(time_ns);
        delivered++;
        VCON_FUZZ_CHECK(vcon_trace_reader_events(r) == delivered, "trace reader: event count");
        if (delivered >= MAX_EVENTS)
            break;
    }
    if (rc != 1) {
        const char *msg = vcon_trace_reader_error(r);
        if (rc == 0) {
            VCON_FUZZ_CHECK(ev.kind == VCON_TRACE_END && ev.end.count == delivered,
                            "trace reader: END counts the events before it");
            VCON_FUZZ_CHECK(msg[0] == 0, "trace reader: no error message at END");
        } else {
            VCON_FUZZ_CHECK(rc == VCON_TRACE_TRUNCATED || (rc < 0 && rc > -4096),
                            "trace reader: an error is TRUNCATED or a negative errno");
            VCON_FUZZ_CHECK(msg[0] != 0, "trace reader: an error has a message");
        }
        /* Sticky: the same answer again. */
        const int again = vcon_trace_reader_next(r, NULL, &ev);
        VCON_FUZZ_CHECK(again == rc, "trace reader: END and errors are sticky");
        VCON_FUZZ_CHECK(vcon_trace_reader_events(r) == delivered,
                        "trace reader: nothing delivered after the end");
    }
    vcon_fuzz_observe_u64((uint64_t)(int64_t)vcon_trace_reader_compressed(r));
    vcon_trace_reader_close(r);
    return 0;
}
