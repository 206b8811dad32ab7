/* Invariants of a device's state: what holds between any two events, whatever
 * the guest did. The fuzz targets check them after every event (next to
 * their own, model-based checks), and vcon-replay --check after every step
 * of a replay, so that a failure a fuzzer found as a broken invariant shows
 * again when its trace is replayed (docs/replay.md, docs/fuzzing.md).
 *
 * Each check returns true when everything holds; otherwise false, with the
 * first broken invariant's name (a constant string, the same one the fuzz
 * targets print) and the values that broke it. */
#ifndef VCON_HARNESS_INVARIANTS_H
#define VCON_HARNESS_INVARIANTS_H

#include <stdbool.h>

#include "harness/rig.h"
#include "harness/vm.h"
#include "vcon/console.h"
#include "vcon/uart.h"

struct vcon_invariant_failure {
    const char *name;
    const char *source; /* the file that checks it: "harness/invariants.c", ... */
    char detail[192];
};

/* A UART's state against its configuration and the level of its interrupt
 * line (`line`: the VM's level of the UART's line). */
bool vcon_check_uart_state(const struct vcon_uart_config *config, const struct vcon_uart_state *st,
                           int line, struct vcon_invariant_failure *why);
/* The same, reading the state from the UART and the line from the VM. */
bool vcon_check_uart(const struct vcon_uart *uart, const struct vcon_vm *vm, unsigned irq_line,
                     struct vcon_invariant_failure *why);
/* A virtio-console and its transport: INTx against the ISR, COMMAND and
 * MSI-X; no chain outstanding but a port's held transmit chain; absent
 * ports neither ready, open nor holding a chain; pending control messages
 * within their bound. */
bool vcon_check_console(struct vcon_console *console, const struct vcon_vm *vm, unsigned irq_line,
                        struct vcon_invariant_failure *why);
/* Every device of a rig. */
bool vcon_check_rig(struct vcon_rig *rig, struct vcon_invariant_failure *why);

#endif
