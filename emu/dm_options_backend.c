/* The backend of a COM port, as written after "comN," in -l:
 *   stdio | /absolute/tty/path | tcp:PORT | tcp:ADDRESS:PORT
 * docs/options.md lists the accepted forms and every message. */
#include <errno.h>
#include <string.h>

#include "dm_options_internal.h"

#define TCP_PREFIX "tcp:"
#define TCP_DEFAULT_ADDRESS "127.0.0.1"
#define BACKEND_FORMS "stdio, tcp:PORT, tcp:ADDRESS:PORT or an absolute tty path"

/* Starts every message about `text` with "backend 'TEXT'". */
static void begin_message(struct vcon_dmo_msg *msg, const char *text)
{
    vcon_dmo_msg_add(msg, "backend ");
    vcon_dmo_msg_quote_str(msg, text);
}

/* Four dot-separated decimal octets 0..255. A multi-digit octet with a
 * leading zero is refused: inet_aton() would read "010" as octal 8, so the
 * text is ambiguous. */
static bool is_ipv4_literal(const char *s, size_t len)
{
    size_t i = 0;

    for (unsigned octet = 0; octet < 4; octet++) {
        size_t start = i;
        unsigned long value;

        if (octet > 0) {
            if (i >= len || s[i] != '.')
                return false;
            start = ++i;
        }
        while (i < len && vcon_dmo_is_digit(s[i]))
            i++;
        if (i - start > 1 && s[start] == '0')
            return false;
        if (vcon_dmo_parse_decimal(s + start, i - start, 255, &value) != VCON_DMO_NUMBER_OK)
            return false;
    }
    return i == len;
}

static int parse_tcp_port(const char *whole, const char *text, size_t len, uint16_t *port,
                          struct vcon_dmo_msg *msg)
{
    size_t digits = 0;
    unsigned long value = 0;

    while (digits < len && vcon_dmo_is_digit(text[digits]))
        digits++;
    if (len == 0) {
        begin_message(msg, whole);
        vcon_dmo_msg_add(msg, " has an empty port (expected 1..65535)");
        return -EINVAL;
    }
    if (digits == 0) {
        begin_message(msg, whole);
        vcon_dmo_msg_add(msg, ": port ");
        vcon_dmo_msg_quote(msg, text, len);
        vcon_dmo_msg_add(msg, " is not a decimal number");
        return -EINVAL;
    }
    if (digits < len) {
        begin_message(msg, whole);
        vcon_dmo_msg_add(msg, ": trailing junk ");
        vcon_dmo_msg_quote(msg, text + digits, len - digits);
        vcon_dmo_msg_add(msg, " after port ");
        vcon_dmo_msg_quote(msg, text, digits);
        return -EINVAL;
    }
    if (vcon_dmo_parse_decimal(text, len, 65535u, &value) != VCON_DMO_NUMBER_OK || value == 0) {
        begin_message(msg, whole);
        vcon_dmo_msg_add(msg, ": port ");
        vcon_dmo_msg_quote(msg, text, len);
        vcon_dmo_msg_add(msg, " is out of range 1..65535");
        return -EINVAL;
    }
    *port = (uint16_t)value;
    return 0;
}

static int parse_tcp(const char *whole, struct vcon_backend_spec *spec, struct vcon_dmo_msg *msg)
{
    const char *rest = whole + strlen(TCP_PREFIX);
    size_t first_len = vcon_dmo_span_to(rest, ':');
    const char *port_text = rest;
    size_t port_len = first_len;

    spec->kind = VCON_BACKEND_KIND_TCP;
    memcpy(spec->address, TCP_DEFAULT_ADDRESS, sizeof TCP_DEFAULT_ADDRESS);

    if (rest[first_len] == ':') {
        /* tcp:ADDRESS:PORT; a second ':' ends up in the port and is junk. */
        const char *address = rest;
        size_t address_len = first_len;

        if (address_len == 0) {
            begin_message(msg, whole);
            vcon_dmo_msg_add(msg, " has an empty address (write tcp:PORT for "
                                  TCP_DEFAULT_ADDRESS ")");
            return -EINVAL;
        }
        if (vcon_dmo_equal_nocase(address, address_len, "localhost")) {
            /* already TCP_DEFAULT_ADDRESS */
        } else if (is_ipv4_literal(address, address_len)) {
            memcpy(spec->address, address, address_len);
            spec->address[address_len] = '\0';
        } else {
            begin_message(msg, whole);
            vcon_dmo_msg_add(msg, ": address ");
            vcon_dmo_msg_quote(msg, address, address_len);
            vcon_dmo_msg_add(msg, " is not a dotted IPv4 address or localhost");
            return -EINVAL;
        }
        port_text = rest + first_len + 1;
        port_len = strlen(port_text);
    }
    return parse_tcp_port(whole, port_text, port_len, &spec->tcp_port, msg);
}

static int parse_tty_path(const char *text, struct vcon_backend_spec *spec,
                          struct vcon_dmo_msg *msg)
{
    size_t len = strlen(text);

    if (len >= VCON_PATH_MAX) {
        vcon_dmo_msg_add(msg, "backend path ");
        vcon_dmo_msg_quote(msg, text, len);
        vcon_dmo_msg_add(msg, " is ");
        vcon_dmo_msg_uint(msg, (unsigned long)len);
        vcon_dmo_msg_add(msg, " bytes long; the limit is ");
        vcon_dmo_msg_uint(msg, VCON_PATH_MAX - 1u);
        return -EINVAL;
    }
    /* A blank or control byte in a device path is almost always a quoting
     * mistake on the command line ("/dev/ttyS0 "), so refuse it here rather
     * than fail later with a puzzling "no such file". */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c <= 0x20 || c == 0x7f) {
            vcon_dmo_msg_add(msg, "backend path ");
            vcon_dmo_msg_quote(msg, text, len);
            vcon_dmo_msg_add(msg, " contains a blank or control character");
            return -EINVAL;
        }
    }
    spec->kind = VCON_BACKEND_KIND_TTY;
    memcpy(spec->path, text, len + 1);
    return 0;
}

int vcon_dmo_parse_backend(const char *text, struct vcon_backend_spec *out,
                           struct vcon_dmo_msg *msg)
{
    struct vcon_backend_spec spec;
    int rc;

    if (text == NULL || out == NULL) {
        vcon_dmo_msg_add(msg, "backend: no text or no place to store it");
        return -EINVAL;
    }
    memset(&spec, 0, sizeof spec);

    if (text[0] == '\0') {
        vcon_dmo_msg_add(msg, "backend is empty (expected " BACKEND_FORMS ")");
        return -EINVAL;
    }
    if (strcmp(text, "stdio") == 0) {
        spec.kind = VCON_BACKEND_KIND_STDIO;
        rc = 0;
    } else if (strncmp(text, TCP_PREFIX, strlen(TCP_PREFIX)) == 0) {
        rc = parse_tcp(text, &spec, msg);
    } else if (strcmp(text, "tcp") == 0) {
        begin_message(msg, text);
        vcon_dmo_msg_add(msg, " needs a port: tcp:PORT or tcp:ADDRESS:PORT");
        rc = -EINVAL;
    } else if (text[0] == '/') {
        rc = parse_tty_path(text, &spec, msg);
    } else {
        begin_message(msg, text);
        vcon_dmo_msg_add(msg, " is not " BACKEND_FORMS);
        rc = -EINVAL;
    }
    if (rc == 0)
        *out = spec;
    return rc;
}

int vcon_dm_parse_uart_backend(const char *text, struct vcon_backend_spec *out, char *err,
                               size_t errlen)
{
    struct vcon_dmo_msg msg;

    vcon_dmo_msg_init(&msg, err, errlen);
    return vcon_dmo_parse_backend(text, out, &msg);
}
