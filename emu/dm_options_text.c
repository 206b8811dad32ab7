/* Text helpers of the option parsers: error-message building and strict
 * number parsing. strtol is not used because it accepts what a command line
 * must not: leading blanks, a sign, and silent clamping on overflow. */
#include <string.h>

#include "dm_options_internal.h"

void vcon_dmo_msg_init(struct vcon_dmo_msg *msg, char *buf, size_t cap)
{
    msg->buf = (buf != NULL && cap > 0) ? buf : NULL;
    msg->cap = msg->buf != NULL ? cap : 0;
    vcon_dmo_msg_clear(msg);
}

void vcon_dmo_msg_clear(struct vcon_dmo_msg *msg)
{
    msg->len = 0;
    if (msg->buf != NULL)
        msg->buf[0] = '\0';
}

static void msg_add_bytes(struct vcon_dmo_msg *msg, const char *bytes, size_t n)
{
    if (msg->buf == NULL)
        return;
    /* One byte is always kept for the terminating NUL. */
    size_t room = msg->cap - 1 - msg->len;
    if (n > room)
        n = room;
    memcpy(msg->buf + msg->len, bytes, n);
    msg->len += n;
    msg->buf[msg->len] = '\0';
}

void vcon_dmo_msg_add(struct vcon_dmo_msg *msg, const char *text)
{
    msg_add_bytes(msg, text, strlen(text));
}

void vcon_dmo_msg_quote(struct vcon_dmo_msg *msg, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = len > VCON_DMO_QUOTE_MAX ? VCON_DMO_QUOTE_MAX : len;

    msg_add_bytes(msg, "'", 1);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f) {
            msg_add_bytes(msg, &text[i], 1);
        } else {
            char escaped[4] = {'\\', 'x', hex[c >> 4], hex[c & 0x0f]};
            msg_add_bytes(msg, escaped, sizeof escaped);
        }
    }
    if (shown < len)
        msg_add_bytes(msg, "...", 3);
    msg_add_bytes(msg, "'", 1);
}

void vcon_dmo_msg_quote_str(struct vcon_dmo_msg *msg, const char *text)
{
    vcon_dmo_msg_quote(msg, text, strlen(text));
}

void vcon_dmo_msg_uint(struct vcon_dmo_msg *msg, unsigned long value)
{
    char digits[3 * sizeof value + 1];
    size_t start = sizeof digits;

    do {
        digits[--start] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0);
    msg_add_bytes(msg, digits + start, sizeof digits - start);
}

bool vcon_dmo_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum vcon_dmo_number vcon_dmo_parse_decimal(const char *text, size_t len, unsigned long max,
                                            unsigned long *value)
{
    unsigned long v = 0;

    if (len == 0)
        return VCON_DMO_NUMBER_EMPTY;
    for (size_t i = 0; i < len; i++) {
        if (!vcon_dmo_is_digit(text[i]))
            return VCON_DMO_NUMBER_NOT_DECIMAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned long digit = (unsigned long)(text[i] - '0');
        /* v * 10 + digit <= max, written so that it cannot wrap. */
        if (digit > max || v > (max - digit) / 10u)
            return VCON_DMO_NUMBER_TOO_BIG;
        v = v * 10u + digit;
    }
    *value = v;
    return VCON_DMO_NUMBER_OK;
}

static char lower_ascii(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool vcon_dmo_equal_nocase(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);

    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        if (lower_ascii(a[i]) != lower_ascii(b[i]))
            return false;
    }
    return true;
}

bool vcon_dmo_equal(const char *a, size_t alen, const char *b)
{
    return alen == strlen(b) && memcmp(a, b, alen) == 0;
}

size_t vcon_dmo_span_to(const char *text, char stop)
{
    size_t n = 0;

    while (text[n] != '\0' && text[n] != stop)
        n++;
    return n;
}
