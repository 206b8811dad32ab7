/* A crash planted on purpose, for tests/test_fuzz_night.sh only: never part
 * of a normal build.
 *
 * The test links it into a scratch build of the fuzz targets, vcon-replay
 * and vcon-trace with -Wl,--wrap=vcon_uart_write, so that every call the
 * harness makes to the UART's register write goes through
 * __wrap_vcon_uart_write below. A guest write of 0xEE to the scratch
 * register (offset 7) aborts inside it: deep enough in the device seam that
 * the recorder has the write in its trace, and vcon-replay, replaying that
 * write through the same wrapped build, aborts at the same place. Being a
 * linker wrap, it needs no change to emu/ and no macro in the sources.
 *
 * A second plant breaks a state invariant instead of crashing: linked with
 * -Wl,--wrap=vcon_uart_get_state too, the UART's state as the fuzz targets'
 * checks and vcon-replay --check read it claims IER bit 7 set while the
 * scratch register holds 0xED. The fuzz target reports "invariant violated:
 * uart regs: IER keeps bits 0-3 only", and vcon-replay --check must report
 * the same from the trace. With 0xEC there it claims MCR bit 7 set: another
 * invariant ("uart regs: MCR keeps bits 0-4 only") broken at the same call
 * site of the fuzz target, which must be reported as a crash of its own.
 *
 * The __real_ functions are weak so that programs without the UART
 * (vcon-trace) still link. */
#include <stdint.h>
#include <stdlib.h>

#include "vcon/uart.h"

int __real_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value)
    __attribute__((weak));
int __wrap_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value);

/* Not inlined: the crash site is this function's line. */
__attribute__((noinline)) static void planted_crash(void)
{
    abort();
}

int __wrap_vcon_uart_write(struct vcon_uart *uart, unsigned offset, unsigned size, uint32_t value)
{
    if (offset == 7u && (value & 0xFFu) == 0xEEu)
        planted_crash();
    return __real_vcon_uart_write(uart, offset, size, value);
}

void __real_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out)
    __attribute__((weak));
void __wrap_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out);

void __wrap_vcon_uart_get_state(const struct vcon_uart *uart, struct vcon_uart_state *out)
{
    __real_vcon_uart_get_state(uart, out);
    if (out->scr == 0xEDu)
        out->ier |= 0x80u;
    if (out->scr == 0xECu)
        out->mcr |= 0x80u;
}
