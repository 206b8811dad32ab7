/* fuzz_options' mode 5: the devices' creation calls and host-facing API
 * with arguments from the input (fuzz_options_api.c). */
#ifndef VCON_FUZZ_OPTIONS_API_H
#define VCON_FUZZ_OPTIONS_API_H

#include <stddef.h>
#include <stdint.h>

void fuzz_options_api(const uint8_t *data, size_t size);

#endif
