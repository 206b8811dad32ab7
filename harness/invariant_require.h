/* Private to the harness's checks (invariants.c, uart_model.c): how a check
 * reports the invariant it found broken. A file defines INVARIANT_SOURCE,
 * its own name, before including this; its checks take
 * `struct vcon_invariant_failure *why` and return bool. */
#ifndef VCON_HARNESS_INVARIANT_REQUIRE_H
#define VCON_HARNESS_INVARIANT_REQUIRE_H

#include <stdbool.h>

#include "harness/invariants.h"

/* Fills `why` (name, source, the values as `fmt` formats them); returns
 * false, for the check to return. */
bool vcon_invariant_broken(struct vcon_invariant_failure *why, const char *source,
                           const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first broken invariant and returns false from the check.
 * Marked unlikely: the fuzz targets run dozens of these after every guest
 * access, and the compiler then keeps the reporting calls out of the line
 * of checks that pass. */
#define REQUIRE(cond, invariant_name, ...)                                                   \
    do {                                                                                     \
        if (__builtin_expect(!(cond), 0))                                                    \
            return vcon_invariant_broken(why, INVARIANT_SOURCE, (invariant_name),            \
                                         __VA_ARGS__);                                       \
    } while (0)

#endif
