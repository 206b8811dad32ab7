/* Fuzz target: the whole virtio-console, from PCI configuration up, as a
 * guest and a host could drive it.
 *
 * Input: a header byte (low six bits all set: destroy the device at the end
 * of the run, in whatever state the run left it, and build it again;
 * otherwise the rig is reset for the next input: destroying costs as much
 * as dozens of runs), then ops: PCI configuration accesses, BAR0 and BAR1
 * accesses of any offset and size, guest-memory writes at ring addresses
 * and anywhere, kicks, buffers and control messages posted the way a
 * driver does, a bring-up like Linux's, MSI-X set-up, backend input and
 * events, hot-plug and unplug, resize, status writes (0 resets). Each op is
 * an opcode byte (modulo the number of ops) and fixed-size little-endian
 * operands; running out of input ends the run. fuzz_console_common.c holds
 * the ops and the invariants; docs/fuzzing.md lists them. */
#include "fuzz_console_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vcon_fuzz_in in = vcon_fuzz_in_init(data, size);
    uint8_t header;

    if (!vcon_fuzz_u8(&in, &header)) {
        vcon_fuzz_begin();
        return 0;
    }
    fzc_set_queue_filter(NULL, 0);
    fzc_begin("console", data, size, (header & 0x3Fu) == 0x3Fu);
    for (size_t index = 0; in.left > 0; index++) {
        uint8_t opcode;
        if (!vcon_fuzz_u8(&in, &opcode))
            break;
        const enum fzc_op op = (enum fzc_op)(opcode % FZC_OP_COUNT);
        vcon_fuzz_set_op(index, fzc_op_names[op]);
        if (!fzc_run_op(&in, op))
            break;
    }
    fzc_end();
    return 0;
}
