/* Fuzz target: the multiport console's control protocol.
 *
 * Input: a bring-up options byte (event index, indirect descriptors, all
 * queues or only ports 0 and 1, control buffers and DEVICE_READY or not;
 * MULTIPORT is always negotiated), then ops. Each run starts from a valid
 * bring-up done through BAR0 register writes (rings set up, MULTIPORT,
 * DRIVER_OK), then the ops send control messages (any id, event, value and
 * buffer shape), post control receive buffers of any size and direction,
 * write descriptors and avail entries of the control queues and any guest
 * memory, kick, answer what the device sent like Linux does, and make the
 * host plug, unplug, resize and open ports so that the device has messages
 * to send. Queue operands name the control queues (2 and 3) only. The ops
 * and the invariants are fuzz_console_common.c's; docs/fuzzing.md lists
 * them. */
#include "fuzz_console_common.h"

static const unsigned ctrl_queues[] = {VCON_CONSOLE_CTRL_RX_QUEUE, VCON_CONSOLE_CTRL_TX_QUEUE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcon_fuzz_in in = vcon_fuzz_in_init(data, size);
    uint8_t options;

    if (!vcon_fuzz_u8(&in, &options)) {
        vcon_fuzz_begin();
        return 0;
    }
    fzc_set_queue_filter(ctrl_queues, 2);
    fzc_begin("console_ctrl", data, size, false);
    vcon_fuzz_set_op(0, "(bring-up)");
    fzc_bringup((uint8_t)(options & ~FZC_UP_NO_MULTIPORT));
    /* The same few thousand counters every run with these options. */
    vcon_fuzz_discard_coverage();
    for (size_t index = 0; in.left > 0; index++) {
        uint8_t opcode;
        if (!vcon_fuzz_u8(&in, &opcode))
            break;
        const enum fzc_op op = fzc_ctrl_ops[opcode % FZC_NR_CTRL_OPS];
        vcon_fuzz_set_op(index, fzc_op_names[op]);
        if (!fzc_run_op(&in, op))
            break;
    }
    fzc_end();
    return 0;
}
