/* What the two virtio-console targets (fuzz_console.c, fuzz_console_ctrl.c)
 * share: the rig and its reset between inputs, the guest-side helpers
 * (rings where the device has them, buffers, control messages, a bring-up
 * like Linux's, a driver step that answers control messages like Linux),
 * every console op, and the invariants checked after each op and at the
 * seam. docs/fuzzing.md describes the ops and the invariants. */
#ifndef VCON_FUZZ_CONSOLE_COMMON_H
#define VCON_FUZZ_CONSOLE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "vcon/console.h"

/* The rig both targets use: a multiport console with ports 0 ("p0", the
 * console) and 1 ("p1"), 16-entry queues, 1 MiB of guest RAM with a hole of
 * 128 bytes in the middle of a posted buffer's slot (0x80000-0x801FF): a
 * buffer whose first and last bytes are RAM still faults in its middle, as
 * it can on a host whose RAM has holes, and the device's copies must cope. */
#define FZC_CONFIG \
    "--ram-hole 0x80100,0x80 --console-queue-size 16 -s 3,virtio-console,@stdio:p0,pty:p1"
#define FZC_RAM_SIZE (1024u * 1024u)
#define FZC_QUEUE_SIZE 16u
#define FZC_NR_QUEUES (2u + 2u * VCON_CONSOLE_MAX_PORTS)

/* The ops; each target maps its opcode bytes onto these. */
enum fzc_op {
    FZC_CFG_READ,      /* u16 offset, u8 size */
    FZC_CFG_WRITE,     /* u16 offset, u8 size, u32 value */
    FZC_BAR0_READ,     /* u8 offset, u8 size */
    FZC_BAR0_WRITE,    /* u8 offset, u8 size, u32 value */
    FZC_BAR1_READ,     /* u16 offset, u8 size */
    FZC_BAR1_WRITE,    /* u16 offset, u8 size, u32 value */
    FZC_MEM,           /* u32 gpa, u8 n, n bytes */
    FZC_FILL,          /* u32 gpa, u16 len, u8 value */
    FZC_KICK,          /* u8 queue */
    FZC_QUEUE_SETUP,   /* u8 queue, u8 page */
    FZC_DESC,          /* u8 queue, u8 index, u32 addr, u16 len, u8 flags, u8 next */
    FZC_AVAIL,         /* u8 queue, u8 head */
    FZC_POST,          /* u8 queue, u8 shape, u16 len */
    FZC_CTRL,          /* u8 id, u8 event, u16 value, u8 shape */
    FZC_GUEST_STEP,    /* - */
    FZC_INPUT,         /* u8 port, u8 n, n bytes */
    FZC_INPUT_READY,   /* u8 port, u8 n, n bytes */
    FZC_BACKEND_READY, /* u8 port */
    FZC_BACKEND_OPEN,  /* u8 port, u8 open */
    FZC_SCRIPT,        /* u8 port, u8 what: pause, EOF, disconnect, connect; bit 7: overclaim = bit 6 */
    FZC_WRITE_BUDGET,  /* u8 port, u16 bytes */
    FZC_HOTPLUG,       /* u8 port, u8 flags, u8 name */
    FZC_RESIZE,        /* u8 port, u16 cols, u16 rows */
    FZC_TIME,          /* u32 ns */
    FZC_STATUS,        /* u8 status */
    FZC_BRINGUP,       /* u8 options */
    FZC_MSIX,          /* u8 options */
    FZC_OP_COUNT,
};

extern const char *const fzc_op_names[FZC_OP_COUNT];

/* The console_ctrl target's ops by opcode (its opcode bytes are taken
 * modulo the count): control messages and buffers weigh more. */
static const enum fzc_op fzc_ctrl_ops[] = {
    FZC_CTRL,       FZC_CTRL,          FZC_CTRL,      FZC_POST,         FZC_POST,
    FZC_DESC,       FZC_AVAIL,         FZC_KICK,      FZC_MEM,          FZC_GUEST_STEP,
    FZC_GUEST_STEP, FZC_HOTPLUG,       FZC_RESIZE,    FZC_BACKEND_OPEN, FZC_INPUT_READY,
    FZC_BACKEND_READY, FZC_BAR0_READ,  FZC_BAR0_WRITE, FZC_STATUS,      FZC_FILL,
};
#define FZC_NR_CTRL_OPS (sizeof(fzc_ctrl_ops) / sizeof(fzc_ctrl_ops[0]))

/* The first console_ctrl opcode meaning `op` (0 for an op it lacks). */
static inline unsigned fzc_ctrl_opcode(enum fzc_op op)
{
    for (unsigned i = 0; i < FZC_NR_CTRL_OPS; i++)
        if (fzc_ctrl_ops[i] == op)
            return i;
    return 0;
}

/* Bring-up options (FZC_BRINGUP's operand). */
#define FZC_UP_EVENT_IDX 0x01u
#define FZC_UP_INDIRECT 0x02u
#define FZC_UP_NO_MULTIPORT 0x04u /* the guest does not ask for MULTIPORT */
#define FZC_UP_ALL_QUEUES 0x08u   /* every queue, not only ports 0 and 1 */
#define FZC_UP_NO_CTRL_BUFS 0x10u /* no control buffers, no DEVICE_READY */

/* Start an input: the rig built or reset to its initial state, the checks
 * armed. `destroy_at_end`: destroy the rig when the input ends (the device
 * then goes in whatever state the input left it). */
void fzc_begin(const char *target, const uint8_t *data, size_t size, bool destroy_at_end);
/* One op with its operands from `in`; false when the input ran out. Runs
 * the invariant checks after it. */
bool fzc_run_op(struct vcon_fuzz_in *in, enum fzc_op op);
/* The bring-up the control target starts from. */
void fzc_bringup(uint8_t options);
/* Map the queue operand of KICK, DESC, AVAIL and POST onto these queues
 * (n 0: any queue). */
void fzc_set_queue_filter(const unsigned *queues, unsigned n);
/* End an input: the observable results hashed, the rig kept or destroyed. */
void fzc_end(void);

#endif
