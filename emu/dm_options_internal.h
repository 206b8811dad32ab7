/* Internal to emu/: what the device-model option parsers (dm_options*.c)
 * share. Not installed, not part of the public API; the names carry the
 * vcon_dmo_ prefix only so that they cannot collide with a device model the
 * library is linked into. */
#ifndef VCON_DM_OPTIONS_INTERNAL_H
#define VCON_DM_OPTIONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "vcon/dm_options.h"

/* At most this many bytes of user text are quoted in an error message. */
#define VCON_DMO_QUOTE_MAX 64u

/* A one-line error message built piece by piece into the caller's buffer.
 * It is always NUL-terminated and cut at the end of the buffer; a NULL
 * buffer or a zero size turns every call into a no-op. No printf: no format
 * string is ever built from input, and no compiler attribute is needed. */
struct vcon_dmo_msg {
    char *buf;
    size_t cap;
    size_t len;
};

void vcon_dmo_msg_init(struct vcon_dmo_msg *msg, char *buf, size_t cap);
/* Empty the message again (a parse that succeeds leaves err = ""). */
void vcon_dmo_msg_clear(struct vcon_dmo_msg *msg);
void vcon_dmo_msg_add(struct vcon_dmo_msg *msg, const char *text);
/* `len` bytes of user text between single quotes: printable ASCII as is,
 * any other byte as \xNN (so the message stays one line), cut after
 * VCON_DMO_QUOTE_MAX bytes with "..." before the closing quote. */
void vcon_dmo_msg_quote(struct vcon_dmo_msg *msg, const char *text, size_t len);
void vcon_dmo_msg_quote_str(struct vcon_dmo_msg *msg, const char *text);
void vcon_dmo_msg_uint(struct vcon_dmo_msg *msg, unsigned long value);

enum vcon_dmo_number {
    VCON_DMO_NUMBER_OK,
    VCON_DMO_NUMBER_EMPTY,
    VCON_DMO_NUMBER_NOT_DECIMAL, /* a byte other than '0'..'9' */
    VCON_DMO_NUMBER_TOO_BIG,     /* larger than the caller's maximum */
};

/* [text, text + len) as a decimal number no larger than `max`: digits only,
 * no sign, no blanks, no base prefix; leading zeros are allowed. Never
 * overflows, whatever the length. `*value` is written only on success. */
enum vcon_dmo_number vcon_dmo_parse_decimal(const char *text, size_t len, unsigned long max,
                                            unsigned long *value);

bool vcon_dmo_is_digit(char c);
/* [a, a + alen) equals the NUL-terminated `b`, ignoring ASCII case. */
bool vcon_dmo_equal_nocase(const char *a, size_t alen, const char *b);
/* [a, a + alen) equals the NUL-terminated `b` exactly. */
bool vcon_dmo_equal(const char *a, size_t alen, const char *b);
/* Bytes before the first `stop` (or before the NUL if there is none). */
size_t vcon_dmo_span_to(const char *text, char stop);

/* The COM-port backend parser behind vcon_dm_parse_uart_backend. Appends its
 * reason to `msg` (which may already hold a prefix such as "-l com1: ").
 * `*out` is written only on success. */
int vcon_dmo_parse_backend(const char *text, struct vcon_backend_spec *out,
                           struct vcon_dmo_msg *msg);

#endif
