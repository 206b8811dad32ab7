/* Fuzz target: the device-model option parsers (docs/options.md,
 * docs/console.md "Options") and the rig's command-line parser.
 *
 * Input: a mode byte, then text. Mode bits 0-2 pick the parser (fuzz_ops.h):
 *   0, 5-7  a command line: lines of the text are -s (first byte even) or
 *           -l (odd) arguments, then vcon_dm_config_check, then every
 *           virtio-console's options through vcon_console_parse_options;
 *   1       vcon_dm_parse_uart_backend;
 *   2       vcon_console_parse_options;
 *   3       vcon_rig_create (the rig's own syntax: tokens separated by blanks);
 *   4       vcon_dm_com_resources and every parser once on the whole text.
 * Mode bits 3-4 pick the size of the error buffer: 256, none (NULL, 0), 1
 * or 17 bytes. Every parser gets NUL-terminated heap copies, exactly sized.
 *
 * Checks: the result is 0 or -EINVAL; the message is NUL-terminated within
 * the buffer, one line of printable ASCII, empty on success and not on
 * error (when it has room); a refused argument leaves the configuration or
 * the spec byte for byte as it was; an accepted one leaves a configuration
 * whose fields are in range (slots, addresses, device names, option
 * lengths, the LPC rule, COM resources, backend kinds and strings, console
 * ports numbered from 0 with unique names, the backends past the last port
 * zeroed). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_ops.h"
#include "vcon/console.h"
#include "vcon/dm_options.h"

#define ERR_FILL 0xA5u

static const size_t err_sizes[4] = {256, 0, 1, 17};

struct errbuf {
    char *buf; /* NULL when size is 0 */
    size_t size;
};

static void err_prepare(struct errbuf *e)
{
    if (e->buf != NULL)
        memset(e->buf, ERR_FILL, e->size);
}

static void check_message(const struct errbuf *e, int rc)
{
    VCON_FUZZ_CHECK(rc == 0 || rc == -EINVAL, "options: parsers return 0 or -EINVAL");
    vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    if (e->buf == NULL)
        return;
    const char *nul = memchr(e->buf, 0, e->size);
    VCON_FUZZ_CHECK(nul != NULL, "options: the message is NUL-terminated within its buffer");
    const size_t len = (size_t)(nul - e->buf);
    for (size_t i = 0; i < len; i++)
        VCON_FUZZ_CHECK(e->buf[i] >= 0x20 && e->buf[i] <= 0x7E,
                        "options: the message is one line of printable ASCII");
    if (rc == 0)
        VCON_FUZZ_CHECK(len == 0, "options: the message is empty on success");
    else if (e->size > 1)
        VCON_FUZZ_CHECK(len > 0, "options: an error has a message");
    vcon_fuzz_observe(e->buf, len);
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, 0, size) != NULL;
}

static void check_backend_spec(const struct vcon_backend_spec *b, bool console)
{
    VCON_FUZZ_CHECK(terminated(b->path, sizeof(b->path)) &&
                        terminated(b->address, sizeof(b->address)),
                    "options: backend strings are NUL-terminated");
    switch (b->kind) {
    case VCON_BACKEND_KIND_STDIO:
    case VCON_BACKEND_KIND_PTY:
        VCON_FUZZ_CHECK(b->path[0] == 0, "options: stdio and pty have no path");
        break;
    case VCON_BACKEND_KIND_TTY:
    case VCON_BACKEND_KIND_FILE:
        VCON_FUZZ_CHECK(b->path[0] != 0, "options: tty and file have a path");
        if (!console)
            VCON_FUZZ_CHECK(b->path[0] == '/', "options: a COM tty path is absolute");
        for (const char *c = b->path; *c; c++)
            VCON_FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7F,
                            "options: a path has no control character");
        break;
    case VCON_BACKEND_KIND_SOCKET_SERVER:
    case VCON_BACKEND_KIND_SOCKET_CLIENT:
        VCON_FUZZ_CHECK(console && b->path[0] != 0 && strlen(b->path) <= 107,
                        "options: a socket has a path that fits sun_path");
        break;
    case VCON_BACKEND_KIND_TCP:
        VCON_FUZZ_CHECK(!console && b->tcp_port > 0 && b->address[0] != 0,
                        "options: a TCP backend has a port and an address");
        break;
    default:
        VCON_FUZZ_CHECK(false, "options: a backend kind the header defines");
    }
    if (!console)
        VCON_FUZZ_CHECK(b->kind == VCON_BACKEND_KIND_STDIO || b->kind == VCON_BACKEND_KIND_TTY ||
                            b->kind == VCON_BACKEND_KIND_TCP,
                        "options: a COM backend is stdio, a tty or TCP");
    vcon_fuzz_observe_u64(b->kind);
    vcon_fuzz_observe(b->path, strlen(b->path));
    vcon_fuzz_observe(b->address, strlen(b->address));
    vcon_fuzz_observe_u64(b->tcp_port);
}

static void check_dm_config(const struct vcon_dm_config *c)
{
    unsigned lpcs = 0;
    VCON_FUZZ_CHECK(c->nr_slots <= VCON_DM_MAX_SLOTS, "options: at most 32 slots");
    for (unsigned i = 0; i < c->nr_slots; i++) {
        const struct vcon_pci_slot_spec *s = &c->slots[i];
        VCON_FUZZ_CHECK(s->slot < 32 && s->func < 8, "options: slot and function in range");
        VCON_FUZZ_CHECK(terminated(s->device, sizeof(s->device)) &&
                            terminated(s->options, sizeof(s->options)),
                        "options: slot strings are NUL-terminated");
        const bool lpc = strcmp(s->device, "lpc") == 0;
        VCON_FUZZ_CHECK(lpc || strcmp(s->device, "virtio-console") == 0,
                        "options: a slot holds lpc or virtio-console");
        if (lpc) {
            lpcs++;
            VCON_FUZZ_CHECK(s->bus == 0 && s->options[0] == 0, "options: lpc on bus 0, no options");
            VCON_FUZZ_CHECK(c->has_lpc && c->lpc_index == i, "options: lpc_index names the lpc");
        } else {
            VCON_FUZZ_CHECK(s->options[0] != 0, "options: a virtio-console has options");
        }
        for (unsigned j = 0; j < i; j++)
            VCON_FUZZ_CHECK(c->slots[j].bus != s->bus || c->slots[j].slot != s->slot ||
                                c->slots[j].func != s->func,
                            "options: no two devices on one bus:slot:function");
        vcon_fuzz_observe_u64((uint64_t)s->bus << 16 | (uint64_t)s->slot << 8 | s->func);
        vcon_fuzz_observe(s->device, strlen(s->device));
        vcon_fuzz_observe(s->options, strlen(s->options));
    }
    VCON_FUZZ_CHECK(lpcs == (c->has_lpc ? 1u : 0u), "options: has_lpc exactly with one lpc");
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        uint16_t io;
        uint8_t irq;
        VCON_FUZZ_CHECK(vcon_dm_com_resources(i, &io, &irq) == 0 && c->com[i].io_base == io &&
                            c->com[i].irq == irq,
                        "options: COM ports at their standard resources");
        if (c->com[i].present)
            check_backend_spec(&c->com[i].backend, false);
    }
}

static void check_console_config(const struct vcon_console_config *cfg,
                                 const struct vcon_backend_spec *backends)
{
    static const struct vcon_backend_spec zero;
    unsigned ports = 0;
    VCON_FUZZ_CHECK(cfg->max_ports == VCON_CONSOLE_MAX_PORTS && cfg->queue_size == 64 &&
                        cfg->cols == 80 && cfg->rows == 25 && !cfg->no_multiport,
                    "options: the console takes ACRN's defaults");
    while (ports < VCON_CONSOLE_MAX_PORTS && cfg->port[ports].present)
        ports++;
    VCON_FUZZ_CHECK(ports >= 1, "options: at least one port");
    for (unsigned p = 0; p < VCON_CONSOLE_MAX_PORTS; p++) {
        const struct vcon_console_port_config *pc = &cfg->port[p];
        VCON_FUZZ_CHECK(pc->present == (p < ports), "options: ports numbered from 0 without holes");
        VCON_FUZZ_CHECK(terminated(pc->name, sizeof(pc->name)), "options: names NUL-terminated");
        if (!pc->present) {
            VCON_FUZZ_CHECK(pc->name[0] == 0 && !pc->is_console, "options: absent ports unnamed");
            VCON_FUZZ_CHECK(memcmp(&backends[p], &zero, sizeof(zero)) == 0,
                            "options: backends past the last port zeroed");
            continue;
        }
        VCON_FUZZ_CHECK(pc->name[0] != 0, "options: a port has a name");
        for (const char *c = pc->name; *c; c++)
            VCON_FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                                (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-',
                            "options: names of A-Z a-z 0-9 . _ -");
        for (unsigned q = 0; q < p; q++)
            VCON_FUZZ_CHECK(strcmp(cfg->port[q].name, pc->name) != 0, "options: names unique");
        check_backend_spec(&backends[p], true);
        vcon_fuzz_observe(pc->name, strlen(pc->name));
        vcon_fuzz_observe_u64(pc->is_console);
    }
}

/* ---- the parsers, each on a fresh heap copy ------------------------------ */

static char *copy_text(const char *text, size_t len)
{
    char *s = malloc(len + 1);
    VCON_FUZZ_CHECK(s != NULL, "harness: memory");
    memcpy(s, text, len);
    s[len] = 0;
    return s;
}

static struct vcon_dm_config config, before;

static int parse_dm_arg(bool lpc_device, const char *text, size_t len, struct errbuf *e)
{
    char *arg = copy_text(text, len);
    memcpy(&before, &config, sizeof(config));
    err_prepare(e);
    const int rc = lpc_device ? vcon_dm_parse_lpc_device(&config, arg, e->buf, e->size)
                              : vcon_dm_parse_slot(&config, arg, e->buf, e->size);
    check_message(e, rc);
    if (rc != 0)
        VCON_FUZZ_CHECK(memcmp(&before, &config, sizeof(config)) == 0,
                        "options: a refused argument leaves the configuration as it was");
    else
        check_dm_config(&config);
    free(arg);
    return rc;
}

static void parse_backend(const char *text, size_t len, struct errbuf *e)
{
    struct vcon_backend_spec spec, spec_before;
    memset(&spec, ERR_FILL, sizeof(spec));
    memcpy(&spec_before, &spec, sizeof(spec));
    char *arg = copy_text(text, len);
    err_prepare(e);
    const int rc = vcon_dm_parse_uart_backend(arg, &spec, e->buf, e->size);
    check_message(e, rc);
    if (rc != 0)
        VCON_FUZZ_CHECK(memcmp(&spec, &spec_before, sizeof(spec)) == 0,
                        "options: a refused backend leaves the spec as it was");
    else
        check_backend_spec(&spec, false);
    free(arg);
}

static struct vcon_console_config ccfg, ccfg_before;
static struct vcon_backend_spec backends[VCON_CONSOLE_MAX_PORTS],
    backends_before[VCON_CONSOLE_MAX_PORTS];

static void parse_console(const char *text, size_t len, struct errbuf *e)
{
    memset(&ccfg, ERR_FILL, sizeof(ccfg));
    memset(backends, ERR_FILL, sizeof(backends));
    memcpy(&ccfg_before, &ccfg, sizeof(ccfg));
    memcpy(backends_before, backends, sizeof(backends));
    char *arg = copy_text(text, len);
    err_prepare(e);
    const int rc = vcon_console_parse_options(arg, &ccfg, backends, e->buf, e->size);
    check_message(e, rc);
    if (rc != 0) {
        VCON_FUZZ_CHECK(memcmp(&ccfg, &ccfg_before, sizeof(ccfg)) == 0 &&
                            memcmp(backends, backends_before, sizeof(backends)) == 0,
                        "options: refused console options leave the outputs as they were");
    } else {
        check_console_config(&ccfg, backends);
    }
    free(arg);
}

static void parse_rig(const char *text, size_t len, struct errbuf *e)
{
    struct vcon_rig *rig = (struct vcon_rig *)(uintptr_t)1; /* must become NULL on failure */
    char *arg = copy_text(text, len);
    err_prepare(e);
    const int rc = vcon_rig_create(arg, 4096, NULL, &rig, e->buf, e->size);
    VCON_FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM, "options: rig returns 0, -EINVAL or -ENOMEM");
    vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    if (rc != 0) {
        VCON_FUZZ_CHECK(rig == NULL, "options: a refused rig configuration gives no rig");
    } else {
        VCON_FUZZ_CHECK(rig != NULL && strcmp(vcon_rig_config(rig), arg) == 0,
                        "options: a rig keeps its configuration text");
        const unsigned n = vcon_rig_nr_devices(rig);
        VCON_FUZZ_CHECK(n >= 1 && n <= VCON_RIG_MAX_DEVICES, "options: a rig has 1..8 devices");
        for (unsigned i = 0; i < n; i++) {
            struct vcon_rig_device_info info;
            VCON_FUZZ_CHECK(vcon_rig_device_info(rig, i, &info) == 0, "options: device info");
            VCON_FUZZ_CHECK((info.kind == VCON_RIG_UART) == (vcon_rig_uart(rig, i) != NULL) &&
                                (info.kind == VCON_RIG_CONSOLE) == (vcon_rig_console(rig, i) != NULL),
                            "options: each device is a UART or a console");
            vcon_fuzz_observe_u64((uint64_t)info.kind << 32 | info.nr_ports << 16 | info.io_base);
        }
        vcon_rig_destroy(rig);
    }
    if (e->buf != NULL) {
        const char *nul = memchr(e->buf, 0, e->size);
        VCON_FUZZ_CHECK(nul != NULL, "options: the rig's message is NUL-terminated");
    }
    free(arg);
}

/* -s / -l lines, the cross-check, then each console's own options. */
static void parse_command_line(const char *text, size_t len, struct errbuf *e)
{
    vcon_dm_config_init(&config);
    check_dm_config(&config);
    for (size_t start = 0; start < len;) {
        size_t end = start;
        while (end < len && text[end] != '\n')
            end++;
        if (end > start)
            (void)parse_dm_arg((text[start] & 1) != 0, text + start + 1, end - start - 1, e);
        start = end + 1;
    }
    memcpy(&before, &config, sizeof(config));
    err_prepare(e);
    const int rc = vcon_dm_config_check(&config, e->buf, e->size);
    check_message(e, rc);
    VCON_FUZZ_CHECK(memcmp(&before, &config, sizeof(config)) == 0,
                    "options: the cross-check changes nothing");
    for (unsigned i = 0; i < config.nr_slots; i++)
        if (strcmp(config.slots[i].device, "virtio-console") == 0)
            parse_console(config.slots[i].options, strlen(config.slots[i].options), e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char err_storage[256];
    uint16_t io;
    uint8_t irq;

    vcon_fuzz_begin();
    vcon_fuzz_set_target("options");
    if (size == 0)
        return 0;
    const uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    /* The parsers take C strings: the text ends at its first NUL. */
    const size_t len = strnlen(text, size - 1);
    struct errbuf e = {.size = err_sizes[(mode >> 3) & 3u]};
    e.buf = e.size ? err_storage : NULL;

    vcon_fuzz_set_op(0, "parse");
    switch (mode & 7u) {
    case FZO_UART_BACKEND:
        parse_backend(text, len, &e);
        break;
    case FZO_CONSOLE_OPTIONS:
        parse_console(text, len, &e);
        break;
    case FZO_RIG:
        parse_rig(text, len, &e);
        break;
    case FZO_ALL:
        for (unsigned i = 0; i < 8; i++) {
            const int rc = vcon_dm_com_resources(i, &io, &irq);
            VCON_FUZZ_CHECK((rc == 0) == (i < VCON_DM_NR_COM), "options: com1..com5 have resources");
        }
        vcon_dm_config_init(&config);
        (void)parse_dm_arg(false, text, len, &e);
        (void)parse_dm_arg(true, text, len, &e);
        parse_backend(text, len, &e);
        parse_console(text, len, &e);
        break;
    default:
        parse_command_line(text, len, &e);
        break;
    }
    return 0;
}
