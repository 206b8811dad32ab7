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
 * __real_vcon_uart_write is weak so that programs without the UART
 * (vcon-trace) still link. */
#include <stdint.h>
#include <stdlib.h>

struct vcon_uart;

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
