/* The baseline of bench/fuzz_exec_bench.c: a fuzz target that does nothing,
 * built with the same engine and sanitizers as the real ones, so that the
 * engine's own cost per input is measured in the same run. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
