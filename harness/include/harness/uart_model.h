/* A UART's bytes, followed from outside the device: what the backend gave
 * it, what the guest read from RBR, what it wrote to THR and what the
 * backend got. After every event the model checks that no byte was lost,
 * duplicated or invented between the backend and the guest, with the
 * device's own counts for the bytes it is allowed to drop (docs/fuzzing.md,
 * "Invariants", uart). The uart fuzz target and vcon-replay --check run the
 * same model, so that a conservation failure a fuzzer finds shows again
 * when its trace is replayed.
 *
 * The model needs, per event, the bytes the backend handed the device and
 * the bytes the backend took from it, in order; the fuzz target knows them
 * from its script backend, the replayer from the trace. */
#ifndef VCON_HARNESS_UART_MODEL_H
#define VCON_HARNESS_UART_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/invariants.h"
#include "vcon/uart.h"

enum vcon_uart_model_event {
    VCON_UART_MODEL_ACCESS,     /* a guest register access to this UART */
    VCON_UART_MODEL_OTHER,      /* anything that neither clears nor adds foreign bytes */
    VCON_UART_MODEL_LINE_ERROR, /* a byte that is not the backend's enters the FIFO */
    VCON_UART_MODEL_RESET,      /* clears the FIFOs and the input buffer */
};

/* A guest access, as the guest made it (offset from the UART's base). */
struct vcon_uart_model_access {
    bool is_write;
    unsigned offset, size;
    uint32_t value;      /* written */
    uint32_t read_value; /* what a read returned */
};

/* The device and its interrupt line after an event. */
struct vcon_uart_model_view {
    struct vcon_uart_state st;
    struct vcon_uart_stats stats;
    uint64_t raises; /* raises of the UART's line the VM saw, counted from any base */
};

/* The bytes that crossed the backend during one event, in order. */
struct vcon_uart_model_bytes {
    const uint8_t *taken; /* from the backend to the device */
    size_t taken_len;
    const uint8_t *sent; /* from the device to the backend (what it accepted) */
    size_t sent_len;
};

#define VCON_UART_MODEL_SHADOW (2u * VCON_UART_MAX_FIFO)

/* A FIFO's bytes as the model knows them. */
struct vcon_uart_model_shadow {
    uint8_t byte[VCON_UART_MODEL_SHADOW];
    unsigned head, count;
};

struct vcon_uart_model {
    bool hv; /* the hypervisor flavour: an input buffer before the FIFO */
    struct vcon_uart_model_view last;
    /* Device-model flavour: the receive FIFO's bytes, exact while rx_known
     * (no loopback or line-error byte in it). */
    struct vcon_uart_model_shadow rx;
    bool rx_known;
    /* The transmit FIFO's bytes, exact while tx_known. */
    struct vcon_uart_model_shadow tx;
    bool tx_known;
};

/* Starts following a UART from its state `now`. FIFOs that hold bytes then
 * are followed from the moment they are empty. */
void vcon_uart_model_start(struct vcon_uart_model *m, const struct vcon_uart_config *config,
                           const struct vcon_uart_model_view *now);

/* After one event: `access` for VCON_UART_MODEL_ACCESS (NULL otherwise),
 * the view after it and the bytes that crossed the backend during it.
 * Returns false with the broken invariant's name and values. The model then
 * holds the view, whatever the result. */
bool vcon_uart_model_step(struct vcon_uart_model *m, enum vcon_uart_model_event kind,
                          const struct vcon_uart_model_access *access,
                          const struct vcon_uart_model_view *post,
                          const struct vcon_uart_model_bytes *moved,
                          struct vcon_invariant_failure *why);

#endif
