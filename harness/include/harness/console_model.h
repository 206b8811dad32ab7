/* A virtio-console's bytes, followed from outside the device: what the
 * backends handed it, what it wrote to guest memory, what it read there and
 * what the backends took. It checks that backend bytes reach the guest in
 * order and once (or are counted lost), that a backend gets only bytes of
 * the guest's buffers in the order the device read them (or the
 * emergency-write byte), and that the device's counters, its transport's
 * MSI count and its control queues' chains agree with what moved
 * (docs/fuzzing.md, "Invariants", console). The console fuzz targets and
 * vcon-replay --check run the same model, so that a conservation failure a
 * fuzzer finds shows again when its trace is replayed.
 *
 * The calls follow the device's calls to its host, in order; each check
 * returns false with the broken invariant's name and values. */
#ifndef VCON_HARNESS_CONSOLE_MODEL_H
#define VCON_HARNESS_CONSOLE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/invariants.h"
#include "vcon/console.h"
#include "vcon/virtio_pci.h"

/* The largest backend read the model holds, and how far back it keeps the
 * bytes the device read from guest memory (a transmit buffer's bytes go to
 * the backend in pieces of at most 256 bytes right after they are read). */
#define VCON_CONSOLE_MODEL_PENDING 1024u
#define VCON_CONSOLE_MODEL_RECENT 4096u

struct vcon_console_model {
    /* Bytes the last backend read handed the device, not yet written to
     * the guest. */
    uint8_t pending_rx[VCON_CONSOLE_MODEL_PENDING];
    size_t pending_rx_len;
    /* The last bytes the device read from guest memory, a ring. */
    uint8_t recent[VCON_CONSOLE_MODEL_RECENT];
    uint64_t recent_total;
    /* Set by the caller around a guest write to the emergency-write
     * register: the backend write it causes carries that byte. */
    bool emerg;
    uint8_t emerg_value;

    /* The counters at the last check (deltas are compared). */
    struct vcon_console_model_counters {
        struct vcon_console_stats stats;
        struct vcon_virtio_pci_stats tstats;
        size_t msis;
        uint64_t ctrl_rx_chains, ctrl_tx_chains;
        uint64_t taken, written;
    } at;
};

/* Starts following `con` from now; `msis`, `taken` and `written` as
 * vcon_console_model_after takes them, now. */
void vcon_console_model_start(struct vcon_console_model *m, struct vcon_console *con, size_t msis,
                              uint64_t taken, uint64_t written);

/* The device read `len` bytes of guest memory (a read that succeeded). */
void vcon_console_model_mem_read(struct vcon_console_model *m, const void *bytes, size_t len);
/* The device is writing `len` bytes to guest memory; then, if the write
 * failed, mem_write_failed (the bytes are lost, and counted so). */
bool vcon_console_model_mem_write(struct vcon_console_model *m, const void *bytes, size_t len,
                                  struct vcon_invariant_failure *why);
void vcon_console_model_mem_write_failed(struct vcon_console_model *m);
/* A backend handed the device `len` bytes (len > 0). */
bool vcon_console_model_backend_read(struct vcon_console_model *m, const void *bytes, size_t len,
                                     struct vcon_invariant_failure *why);
/* The device offers `len` bytes to the backend of `port`. */
bool vcon_console_model_backend_write(struct vcon_console_model *m, unsigned port,
                                      const void *bytes, size_t len,
                                      struct vcon_invariant_failure *why);

/* After an event: `msis` is the number of MSI messages this device sent
 * that the VM got (not another device's), `taken` and `written` the bytes
 * the backends handed the device and took from it, all ports; each counted
 * from any base. */
bool vcon_console_model_after(struct vcon_console_model *m, struct vcon_console *con, size_t msis,
                              uint64_t taken, uint64_t written,
                              struct vcon_invariant_failure *why);

#endif
