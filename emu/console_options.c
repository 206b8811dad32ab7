/* The virtio-console option text of ACRN's device model (what follows
 * "-s SLOT,virtio-console,"): a comma-separated list of ports,
 *   [@]stdio|tty|pty|file:NAME[=PATH]   or   [@]socket:NAME=PATH[:server|client]
 * docs/console.md lists every accepted form and every message. The parser
 * works on copies and writes the caller's outputs only on success. */
#include <errno.h>
#include <string.h>

#include "console_internal.h"
#include "dm_options_internal.h"

#define SUN_PATH_MAX 108u /* sizeof(struct sockaddr_un.sun_path), NUL included */
#define BACKEND_NAMES "stdio, tty, pty, file or socket"

enum kind {
    KIND_STDIO,
    KIND_TTY,
    KIND_PTY,
    KIND_FILE,
    KIND_SOCKET,
    KIND_UNKNOWN,
};

static const char *const kind_names[] = {"stdio", "tty", "pty", "file", "socket"};

/* One port's text, for messages. */
struct entry {
    unsigned index;
    const char *text;
    size_t len;
};

static void begin(struct vcon_dmo_msg *msg, const struct entry *e)
{
    vcon_dmo_msg_add(msg, "virtio-console: port ");
    vcon_dmo_msg_uint(msg, e->index);
    vcon_dmo_msg_add(msg, " ");
    vcon_dmo_msg_quote(msg, e->text, e->len);
    vcon_dmo_msg_add(msg, ": ");
}

static size_t span(const char *s, size_t len, char stop)
{
    size_t n = 0;
    while (n < len && s[n] != stop)
        n++;
    return n;
}

static enum kind parse_kind(const char *s, size_t len)
{
    for (unsigned k = 0; k < KIND_UNKNOWN; k++)
        if (vcon_dmo_equal_nocase(s, len, kind_names[k]))
            return (enum kind)k;
    return KIND_UNKNOWN;
}

static bool name_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static int check_name(const struct entry *e, const char *name, size_t len,
                      struct vcon_dmo_msg *msg)
{
    if (len == 0) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "empty port name");
        return -EINVAL;
    }
    if (len >= VCON_CONSOLE_NAME_MAX) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "port name is ");
        vcon_dmo_msg_uint(msg, (unsigned long)len);
        vcon_dmo_msg_add(msg, " bytes long; the limit is ");
        vcon_dmo_msg_uint(msg, VCON_CONSOLE_NAME_MAX - 1u);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!name_char(name[i])) {
            begin(msg, e);
            vcon_dmo_msg_add(msg, "port name ");
            vcon_dmo_msg_quote(msg, name, len);
            vcon_dmo_msg_add(msg, " has a character other than A-Z a-z 0-9 . _ -");
            return -EINVAL;
        }
    }
    return 0;
}

static int check_path(const struct entry *e, const char *path, size_t len, size_t limit,
                      const char *limit_why, struct vcon_dmo_msg *msg)
{
    if (len == 0) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "empty path after '='");
        return -EINVAL;
    }
    if (len >= limit) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "path is ");
        vcon_dmo_msg_uint(msg, (unsigned long)len);
        vcon_dmo_msg_add(msg, " bytes long; the limit is ");
        vcon_dmo_msg_uint(msg, (unsigned long)(limit - 1u));
        vcon_dmo_msg_add(msg, limit_why);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch < 0x20 || ch == 0x7f) {
            begin(msg, e);
            vcon_dmo_msg_add(msg, "path ");
            vcon_dmo_msg_quote(msg, path, len);
            vcon_dmo_msg_add(msg, " contains a control character");
            return -EINVAL;
        }
    }
    return 0;
}

/* One port: [@]BACKEND:NAME[=PATH][:TYPE]. */
static int parse_entry(const struct entry *e, struct vcon_console_port_config *port,
                       struct vcon_backend_spec *spec, struct vcon_dmo_msg *msg)
{
    const char *s = e->text;
    size_t len = e->len, kind_len, name_len;
    const char *name, *path = NULL;
    size_t path_len = 0;
    bool has_path;
    enum kind kind;

    memset(port, 0, sizeof(*port));
    memset(spec, 0, sizeof(*spec));
    if (len == 0) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "empty port (expected [@]BACKEND:NAME[=PATH])");
        return -EINVAL;
    }
    if (s[0] == '@') {
        port->is_console = true;
        s++;
        len--;
    }
    kind_len = span(s, len, ':');
    kind = parse_kind(s, kind_len);
    if (kind == KIND_UNKNOWN) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "unknown backend ");
        vcon_dmo_msg_quote(msg, s, kind_len);
        vcon_dmo_msg_add(msg, " (expected " BACKEND_NAMES ")");
        return -EINVAL;
    }
    if (kind_len == len) {
        begin(msg, e);
        vcon_dmo_msg_add(msg, "missing ':NAME' after the backend");
        return -EINVAL;
    }
    name = s + kind_len + 1;
    len -= kind_len + 1;
    name_len = span(name, len, '=');
    if (check_name(e, name, name_len, msg))
        return -EINVAL;
    has_path = name_len < len;
    if (has_path) {
        path = name + name_len + 1;
        path_len = len - name_len - 1;
    }

    switch (kind) {
    case KIND_STDIO:
    case KIND_PTY:
        if (has_path) {
            begin(msg, e);
            vcon_dmo_msg_add(msg, kind_names[kind]);
            vcon_dmo_msg_add(msg, " takes no path");
            return -EINVAL;
        }
        spec->kind = kind == KIND_STDIO ? VCON_BACKEND_KIND_STDIO : VCON_BACKEND_KIND_PTY;
        break;
    case KIND_TTY:
    case KIND_FILE:
        if (!has_path) {
            begin(msg, e);
            vcon_dmo_msg_add(msg, kind_names[kind]);
            vcon_dmo_msg_add(msg, " needs a path: ");
            vcon_dmo_msg_add(msg, kind_names[kind]);
            vcon_dmo_msg_add(msg, ":NAME=PATH");
            return -EINVAL;
        }
        if (check_path(e, path, path_len, VCON_PATH_MAX, "", msg))
            return -EINVAL;
        spec->kind = kind == KIND_TTY ? VCON_BACKEND_KIND_TTY : VCON_BACKEND_KIND_FILE;
        break;
    case KIND_SOCKET:
    default: {
        size_t type_at;
        if (!has_path) {
            begin(msg, e);
            vcon_dmo_msg_add(msg, "socket needs a path: socket:NAME=PATH[:server|client]");
            return -EINVAL;
        }
        /* As in ACRN, the socket type follows the first ':' of the path. */
        type_at = span(path, path_len, ':');
        spec->kind = VCON_BACKEND_KIND_SOCKET_SERVER;
        if (type_at < path_len) {
            const char *type = path + type_at + 1;
            size_t type_len = path_len - type_at - 1;
            if (vcon_dmo_equal(type, type_len, "client")) {
                spec->kind = VCON_BACKEND_KIND_SOCKET_CLIENT;
            } else if (!vcon_dmo_equal(type, type_len, "server")) {
                begin(msg, e);
                vcon_dmo_msg_add(msg, "socket type ");
                vcon_dmo_msg_quote(msg, type, type_len);
                vcon_dmo_msg_add(msg, " is not server or client");
                return -EINVAL;
            }
            path_len = type_at;
        }
        if (check_path(e, path, path_len, SUN_PATH_MAX, " (sun_path)", msg))
            return -EINVAL;
        break;
    }
    }
    port->present = true;
    memcpy(port->name, name, name_len);
    port->name[name_len] = '\0';
    if (has_path) {
        memcpy(spec->path, path, path_len);
        spec->path[path_len] = '\0';
    }
    return 0;
}

static int parse_all(const char *text, struct vcon_console_config *config,
                     struct vcon_backend_spec *backends, struct vcon_dmo_msg *msg)
{
    unsigned n = 0;
    size_t at = 0;
    bool stdio_used = false;
    unsigned stdio_port = 0;

    if (text[0] == '\0') {
        vcon_dmo_msg_add(msg, "virtio-console: no ports (expected [@]BACKEND:NAME[=PATH],...)");
        return -EINVAL;
    }
    for (;;) {
        struct entry e;
        e.index = n;
        e.text = text + at;
        e.len = vcon_dmo_span_to(e.text, ',');
        if (n >= VCON_CONSOLE_MAX_PORTS) {
            vcon_dmo_msg_add(msg, "virtio-console: more than ");
            vcon_dmo_msg_uint(msg, VCON_CONSOLE_MAX_PORTS);
            vcon_dmo_msg_add(msg, " ports, from ");
            vcon_dmo_msg_quote(msg, e.text, strlen(e.text));
            return -EINVAL;
        }
        if (parse_entry(&e, &config->port[n], &backends[n], msg))
            return -EINVAL;
        for (unsigned q = 0; q < n; q++) {
            if (strcmp(config->port[q].name, config->port[n].name) == 0) {
                begin(msg, &e);
                vcon_dmo_msg_add(msg, "port name ");
                vcon_dmo_msg_quote_str(msg, config->port[n].name);
                vcon_dmo_msg_add(msg, " is already used by port ");
                vcon_dmo_msg_uint(msg, q);
                return -EINVAL;
            }
        }
        if (backends[n].kind == VCON_BACKEND_KIND_STDIO) {
            if (stdio_used) {
                begin(msg, &e);
                vcon_dmo_msg_add(msg, "stdio is already used by port ");
                vcon_dmo_msg_uint(msg, stdio_port);
                return -EINVAL;
            }
            stdio_used = true;
            stdio_port = n;
        }
        n++;
        at += e.len;
        if (text[at] == '\0')
            break;
        at++; /* the ',' */
    }
    config->max_ports = VCON_CONSOLE_MAX_PORTS;
    return 0;
}

int vcon_console_parse_options(const char *text, struct vcon_console_config *config,
                               struct vcon_backend_spec backends[VCON_CONSOLE_MAX_PORTS],
                               char *err, size_t errlen)
{
    struct vcon_console_config cfg;
    struct vcon_backend_spec specs[VCON_CONSOLE_MAX_PORTS];
    struct vcon_dmo_msg msg;

    vcon_dmo_msg_init(&msg, err, errlen);
    if (text == NULL || config == NULL || backends == NULL) {
        vcon_dmo_msg_add(&msg, "virtio-console: no option text or no place to store it");
        return -EINVAL;
    }
    memset(&cfg, 0, sizeof(cfg));
    memset(specs, 0, sizeof(specs));
    /* ACRN's device: 16 ports' worth of queues, 64 entries, 80x25. */
    cfg.queue_size = VCON_CONSOLE_DEFAULT_QUEUE_SIZE;
    cfg.cols = 80;
    cfg.rows = 25;
    if (parse_all(text, &cfg, specs, &msg))
        return -EINVAL;
    *config = cfg;
    memcpy(backends, specs, sizeof(specs));
    return 0;
}
