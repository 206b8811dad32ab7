/* Canonical guest sessions: a fake guest with a Linux-like driver driving a
 * device of a rig through a realistic run (probe, data both ways, host
 * events). make-golden-traces records them into corpus/traces/ and the
 * record/replay tests record them into temporary files, so both get the
 * same traffic and the tests can check that the traffic really happened.
 *
 * Each session only drives the rig: record it by building the rig with a
 * recorder's hooks and starting the recorder first. Everything is
 * deterministic (no clock, no randomness beyond the seed). */
#ifndef VCON_RECORDED_SESSIONS_H
#define VCON_RECORDED_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/rig.h"
#include "vcon/recorder.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vcon_session_options {
    unsigned device;   /* which device of the rig */
    size_t out_len;    /* bytes the guest sends per port */
    size_t in_len;     /* bytes the backend sends per port */
    uint32_t seed;     /* of the byte patterns */
    /* When non-NULL, MARK labels name the phases in the trace. */
    struct vcon_recorder *rec;
    /* Console: the guest takes MSI-X, a vector per queue (else INTx). */
    bool console_msix;
};

struct vcon_session_result {
    /* per port (UART: port 0 only; console: 0, 1 and the hot-plugged 2) */
    size_t out_done[3]; /* bytes the backend got, equal to what was sent */
    size_t in_done[3];  /* bytes the guest read, equal to what was fed */
    bool out_ok[3], in_ok[3];
    /* UART */
    int uart_type;          /* the probe's enum vcon_guest_uart_type */
    uint64_t line_errors;   /* break, framing and parity errors the guest saw */
    /* console */
    bool resized;           /* the guest saw port 0 at the new size */
    bool hotplugged;        /* the guest saw port 2 come */
    bool unplugged;         /* ... and go */
};

/* 16550 at device `device`: Linux's probe and open, 115200 baud, out_len
 * bytes transmitted by interrupts, in_len bytes received (fed in pieces,
 * the last ones only reaching the guest by the character timeout), a break
 * and a parity error, then modem lines. Returns 0, -ENODEV (no UART there or
 * the probe failed), -ENOMEM. */
int vcon_session_uart(struct vcon_rig *rig, const struct vcon_session_options *o,
                      struct vcon_session_result *out);

/* Multiport virtio-console at device `device` with ports 0 (the console) and
 * 1: Linux's bring-up with MULTIPORT over INTx, port 1 opened, out_len and
 * in_len bytes both ways on both ports, a resize of port 0 to 132x43, port 2
 * hot-plugged, opened and used both ways, then unplugged. Returns 0,
 * -ENODEV, -EIO (bring-up failed), -ENOMEM. */
int vcon_session_console(struct vcon_rig *rig, const struct vcon_session_options *o,
                         struct vcon_session_result *out);

#ifdef __cplusplus
}
#endif
#endif
