/* Event bodies: the kind table, encoding and decoding. One validation
 * routine serves both directions, so the writer can never produce a body the
 * reader refuses. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "trace_internal.h"

struct kind_info {
    const char *name;
    enum vcon_trace_role role;
    uint8_t fields;      /* bytes of fixed fields after the common header */
    uint8_t has_payload; /* then u32 length + bytes */
};

/* META's fields are followed by two u16-length strings, handled apart. */
static const struct kind_info kinds[VCON_TRACE_KIND_COUNT] = {
    [VCON_TRACE_META] = {"META", VCON_TRACE_ROLE_LABEL, 20, 0},
    [VCON_TRACE_END] = {"END", VCON_TRACE_ROLE_LABEL, 8, 0},
    [VCON_TRACE_REG_READ] = {"REG_READ", VCON_TRACE_ROLE_INPUT, 14, 0},
    [VCON_TRACE_REG_WRITE] = {"REG_WRITE", VCON_TRACE_ROLE_INPUT, 14, 0},
    [VCON_TRACE_MEM_READ] = {"MEM_READ", VCON_TRACE_ROLE_INPUT, 16, 1},
    [VCON_TRACE_MEM_WRITE] = {"MEM_WRITE", VCON_TRACE_ROLE_OUTPUT, 12, 1},
    [VCON_TRACE_GUEST_MEM_WRITE] = {"GUEST_MEM_WRITE", VCON_TRACE_ROLE_INPUT, 8, 1},
    [VCON_TRACE_KICK] = {"KICK", VCON_TRACE_ROLE_LABEL, 2, 0},
    [VCON_TRACE_IRQ_LEVEL] = {"IRQ_LEVEL", VCON_TRACE_ROLE_OUTPUT, 5, 0},
    [VCON_TRACE_MSI] = {"MSI", VCON_TRACE_ROLE_OUTPUT, 12, 0},
    [VCON_TRACE_BACKEND_READ] = {"BACKEND_READ", VCON_TRACE_ROLE_INPUT, 10, 1},
    [VCON_TRACE_BACKEND_WRITE] = {"BACKEND_WRITE", VCON_TRACE_ROLE_OUTPUT, 6, 1},
    [VCON_TRACE_BACKEND_EVENT] = {"BACKEND_EVENT", VCON_TRACE_ROLE_INPUT, 3, 0},
    [VCON_TRACE_TIME_STEP] = {"TIME_STEP", VCON_TRACE_ROLE_INPUT, 8, 0},
    [VCON_TRACE_TIMER_FIRE] = {"TIMER_FIRE", VCON_TRACE_ROLE_INPUT, 4, 0},
    [VCON_TRACE_HOTPLUG] = {"HOTPLUG", VCON_TRACE_ROLE_INPUT, 4, 1},
    [VCON_TRACE_RESIZE] = {"RESIZE", VCON_TRACE_ROLE_INPUT, 6, 0},
    [VCON_TRACE_RESET] = {"RESET", VCON_TRACE_ROLE_INPUT, 0, 0},
    [VCON_TRACE_MARK] = {"MARK", VCON_TRACE_ROLE_LABEL, 0, 1},
    [VCON_TRACE_READ_RESULT] = {"READ_RESULT", VCON_TRACE_ROLE_OUTPUT, 4, 0},
    [VCON_TRACE_UART_LINE_ERROR] = {"UART_LINE_ERROR", VCON_TRACE_ROLE_INPUT, 2, 0},
    [VCON_TRACE_MODEM_LINES] = {"MODEM_LINES", VCON_TRACE_ROLE_INPUT, 1, 0},
};

#define META_STRINGS_OFFSET (VCON_TRACE_HEADER_SIZE + 20u)
#define META_MIN_BODY (META_STRINGS_OFFSET + 4u)

int vcon_trace_kind_is_step(unsigned kind)
{
    switch (kind) {
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
    case VCON_TRACE_GUEST_MEM_WRITE:
    case VCON_TRACE_TIME_STEP:
    case VCON_TRACE_BACKEND_EVENT:
    case VCON_TRACE_HOTPLUG:
    case VCON_TRACE_RESIZE:
    case VCON_TRACE_RESET:
    case VCON_TRACE_UART_LINE_ERROR:
    case VCON_TRACE_MODEM_LINES:
        return 1;
    default:
        return 0;
    }
}

const char *vcon_trace_kind_name(unsigned kind)
{
    return kind < VCON_TRACE_KIND_COUNT ? kinds[kind].name : "UNKNOWN";
}

enum vcon_trace_role vcon_trace_kind_role(unsigned kind)
{
    return kind < VCON_TRACE_KIND_COUNT ? kinds[kind].role : VCON_TRACE_ROLE_LABEL;
}

/* Bytes before the payload bytes (header, fields, payload length). */
static uint32_t payload_offset(unsigned kind)
{
    return VCON_TRACE_HEADER_SIZE + kinds[kind].fields + 4u;
}

uint32_t vcon_trace_max_payload(unsigned kind)
{
    if (kind >= VCON_TRACE_KIND_COUNT || !kinds[kind].has_payload)
        return 0;
    return VCON_TRACE_SNAPLEN - payload_offset(kind);
}

void trace_set_verror(char *err, size_t err_size, const char *fmt, va_list ap)
{
    if (err && err_size > 0)
        vsnprintf(err, err_size, fmt, ap);
}

void trace_set_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    trace_set_verror(err, err_size, fmt, ap);
    va_end(ap);
}

/* The rules on field values beyond their width (docs/trace-format.md,
 * "Field rules"). Returns 0, or -EINVAL with a message naming the field. */
static int check_fields(const struct vcon_trace_event *ev, char *err, size_t err_size)
{
    const char *name = kinds[ev->kind].name;
    switch (ev->kind) {
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        if (ev->reg.space > VCON_TRACE_SPACE_PCI_CONFIG) {
            trace_set_error(err, err_size,
                            "%s space %u is not 0 (pio), 1 (mmio) or 2 (pci config)", name,
                            ev->reg.space);
            return -EINVAL;
        }
        if (ev->reg.size != 1 && ev->reg.size != 2 && ev->reg.size != 4) {
            trace_set_error(err, err_size, "%s size %u is not 1, 2 or 4", name, ev->reg.size);
            return -EINVAL;
        }
        if (ev->reg.size < 4 && (ev->reg.value >> (8u * ev->reg.size)) != 0) {
            trace_set_error(err, err_size, "%s value 0x%" PRIx32 " does not fit in %u bytes",
                            name, ev->reg.value, ev->reg.size);
            return -EINVAL;
        }
        return 0;
    case VCON_TRACE_MEM_READ: {
        uint32_t expected = ev->mem.result == 0 ? ev->mem.length : 0;
        if (ev->mem.result > 0) {
            trace_set_error(err, err_size, "%s result %" PRId32 " is not 0 or a negative errno",
                            name, ev->mem.result);
            return -EINVAL;
        }
        if (ev->payload_len != expected) {
            trace_set_error(err, err_size,
                            "%s payload is %" PRIu32 " bytes, expected %" PRIu32
                            " (length %" PRIu32 ", result %" PRId32 ")",
                            name, ev->payload_len, expected, ev->mem.length, ev->mem.result);
            return -EINVAL;
        }
        return 0;
    }
    case VCON_TRACE_MEM_WRITE:
        if (ev->mem.result > 0) {
            trace_set_error(err, err_size, "%s result %" PRId32 " is not 0 or a negative errno",
                            name, ev->mem.result);
            return -EINVAL;
        }
        return 0;
    case VCON_TRACE_IRQ_LEVEL:
        if (ev->irq.level > 1) {
            trace_set_error(err, err_size, "%s level %u is not 0 or 1", name, ev->irq.level);
            return -EINVAL;
        }
        return 0;
    case VCON_TRACE_BACKEND_READ: {
        int32_t result = ev->backend.result;
        uint32_t expected = result > 0 ? (uint32_t)result : 0;
        if (result > 0 && (uint32_t)result > ev->backend.requested) {
            trace_set_error(err, err_size,
                            "%s result %" PRId32 " exceeds the %" PRIu32 " bytes requested", name,
                            result, ev->backend.requested);
            return -EINVAL;
        }
        if (ev->payload_len != expected) {
            trace_set_error(err, err_size,
                            "%s payload is %" PRIu32 " bytes, expected %" PRIu32
                            " (result %" PRId32 ")",
                            name, ev->payload_len, expected, result);
            return -EINVAL;
        }
        return 0;
    }
    case VCON_TRACE_BACKEND_WRITE:
        if (ev->backend.result > 0 && (uint32_t)ev->backend.result > ev->payload_len) {
            trace_set_error(err, err_size,
                            "%s result %" PRId32 " exceeds the %" PRIu32 " bytes offered", name,
                            ev->backend.result, ev->payload_len);
            return -EINVAL;
        }
        return 0;
    case VCON_TRACE_BACKEND_EVENT:
        if (ev->backend_event.what > VCON_TRACE_BACKEND_EOF) {
            trace_set_error(err, err_size,
                            "%s what %u is not 0 (ready), 1 (connect), 2 (disconnect) or 3 (eof)",
                            name, ev->backend_event.what);
            return -EINVAL;
        }
        return 0;
    case VCON_TRACE_HOTPLUG:
        if (ev->hotplug.add > 1) {
            trace_set_error(err, err_size, "%s add %u is not 0 or 1", name, ev->hotplug.add);
            return -EINVAL;
        }
        if (ev->hotplug.is_console > 1) {
            trace_set_error(err, err_size, "%s is_console %u is not 0 or 1", name,
                            ev->hotplug.is_console);
            return -EINVAL;
        }
        return 0;
    default:
        return 0;
    }
}

static int encode_meta(const struct vcon_trace_meta *m, uint8_t *buf, size_t cap, char *err,
                       size_t err_size)
{
    size_t len = META_MIN_BODY + (size_t)m->build_id_len + m->config_len;
    if ((m->build_id_len && !m->build_id) || (m->config_len && !m->config)) {
        trace_set_error(err, err_size, "META string with a length but no bytes");
        return -EINVAL;
    }
    if (len > cap) {
        trace_set_error(err, err_size, "META body is %zu bytes, buffer holds %zu", len, cap);
        return -EMSGSIZE;
    }
    uint8_t *p = buf + VCON_TRACE_HEADER_SIZE;
    put_u16(p, m->version_major);
    put_u16(p + 2, m->version_minor);
    put_u64(p + 4, m->seed);
    put_u64(p + 12, m->ram_size);
    p += 20;
    put_u16(p, m->build_id_len);
    if (m->build_id_len)
        memcpy(p + 2, m->build_id, m->build_id_len);
    p += 2 + m->build_id_len;
    put_u16(p, m->config_len);
    if (m->config_len)
        memcpy(p + 2, m->config, m->config_len);
    return (int)len;
}

int vcon_trace_event_encode(const struct vcon_trace_event *ev, uint8_t *buf, size_t cap,
                            char *err, size_t err_size)
{
    if (ev->kind >= VCON_TRACE_KIND_COUNT) {
        trace_set_error(err, err_size, "unknown event kind %u", ev->kind);
        return -EINVAL;
    }
    const struct kind_info *k = &kinds[ev->kind];
    if (cap < VCON_TRACE_HEADER_SIZE) {
        trace_set_error(err, err_size, "buffer of %zu bytes is too small", cap);
        return -EMSGSIZE;
    }
    put_u64(buf, ev->seq);
    put_u16(buf + 8, ev->kind);
    buf[10] = ev->device;
    buf[11] = 0;
    if (ev->kind == VCON_TRACE_META)
        return encode_meta(&ev->meta, buf, cap, err, err_size);

    if (!k->has_payload && ev->payload_len != 0) {
        trace_set_error(err, err_size, "%s carries no payload", k->name);
        return -EINVAL;
    }
    if (ev->payload_len != 0 && !ev->payload) {
        trace_set_error(err, err_size, "%s payload of %" PRIu32 " bytes has no bytes", k->name,
                        ev->payload_len);
        return -EINVAL;
    }
    if (k->has_payload && ev->payload_len > vcon_trace_max_payload(ev->kind)) {
        trace_set_error(err, err_size, "%s payload is %" PRIu32 " bytes, at most %" PRIu32,
                        k->name, ev->payload_len, vcon_trace_max_payload(ev->kind));
        return -EMSGSIZE;
    }
    int rc = check_fields(ev, err, err_size);
    if (rc < 0)
        return rc;
    size_t len = VCON_TRACE_HEADER_SIZE + k->fields + (k->has_payload ? 4u + ev->payload_len : 0);
    if (len > cap) {
        trace_set_error(err, err_size, "%s body is %zu bytes, buffer holds %zu", k->name, len,
                        cap);
        return -EMSGSIZE;
    }

    uint8_t *p = buf + VCON_TRACE_HEADER_SIZE;
    switch (ev->kind) {
    case VCON_TRACE_END:
        put_u64(p, ev->end.count);
        break;
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        p[0] = ev->reg.space;
        p[1] = ev->reg.size;
        put_u64(p + 2, ev->reg.address);
        put_u32(p + 10, ev->reg.value);
        break;
    case VCON_TRACE_MEM_READ:
        put_u64(p, ev->mem.gpa);
        put_u32(p + 8, ev->mem.length);
        put_i32(p + 12, ev->mem.result);
        break;
    case VCON_TRACE_MEM_WRITE:
        put_u64(p, ev->mem.gpa);
        put_i32(p + 8, ev->mem.result);
        break;
    case VCON_TRACE_GUEST_MEM_WRITE:
        put_u64(p, ev->mem.gpa);
        break;
    case VCON_TRACE_KICK:
        put_u16(p, ev->kick.queue);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        put_u32(p, ev->irq.line);
        p[4] = ev->irq.level;
        break;
    case VCON_TRACE_MSI:
        put_u64(p, ev->msi.address);
        put_u32(p + 8, ev->msi.data);
        break;
    case VCON_TRACE_BACKEND_READ:
        put_u16(p, ev->backend.port);
        put_u32(p + 2, ev->backend.requested);
        put_i32(p + 6, ev->backend.result);
        break;
    case VCON_TRACE_BACKEND_WRITE:
        put_u16(p, ev->backend.port);
        put_i32(p + 2, ev->backend.result);
        break;
    case VCON_TRACE_BACKEND_EVENT:
        put_u16(p, ev->backend_event.port);
        p[2] = ev->backend_event.what;
        break;
    case VCON_TRACE_TIME_STEP:
        put_u64(p, ev->time_step.ns);
        break;
    case VCON_TRACE_TIMER_FIRE:
        put_u32(p, ev->timer.index);
        break;
    case VCON_TRACE_HOTPLUG:
        put_u16(p, ev->hotplug.port);
        p[2] = ev->hotplug.add;
        p[3] = ev->hotplug.is_console;
        break;
    case VCON_TRACE_RESIZE:
        put_u16(p, ev->resize.port);
        put_u16(p + 2, ev->resize.cols);
        put_u16(p + 4, ev->resize.rows);
        break;
    case VCON_TRACE_READ_RESULT:
        put_u32(p, ev->read_result.value);
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        p[0] = ev->line_error.byte;
        p[1] = ev->line_error.errors;
        break;
    case VCON_TRACE_MODEM_LINES:
        p[0] = ev->modem.lines;
        break;
    default: /* RESET, MARK: no fields */
        break;
    }
    if (k->has_payload) {
        p += k->fields;
        put_u32(p, ev->payload_len);
        if (ev->payload_len)
            memcpy(p + 4, ev->payload, ev->payload_len);
    }
    return (int)len;
}

static int decode_meta(const uint8_t *body, size_t len, struct vcon_trace_meta *m, char *err,
                       size_t err_size)
{
    /* Version first, at an offset every major version keeps, so that a
     * reader can always say which version it was handed. */
    if (len < VCON_TRACE_HEADER_SIZE + 4u) {
        trace_set_error(err, err_size, "META body is %zu bytes, needs at least %u", len,
                        META_MIN_BODY);
        return -EBADMSG;
    }
    const uint8_t *p = body + VCON_TRACE_HEADER_SIZE;
    m->version_major = get_u16(p);
    m->version_minor = get_u16(p + 2);
    if (m->version_major != VCON_TRACE_VERSION_MAJOR) {
        trace_set_error(err, err_size, "trace format version %u.%u is %s than this reader (%u.x)",
                        m->version_major, m->version_minor,
                        m->version_major > VCON_TRACE_VERSION_MAJOR ? "newer" : "older",
                        VCON_TRACE_VERSION_MAJOR);
        return -ENOTSUP;
    }
    if (len < META_MIN_BODY) {
        trace_set_error(err, err_size, "META body is %zu bytes, needs at least %u", len,
                        META_MIN_BODY);
        return -EBADMSG;
    }
    m->seed = get_u64(p + 4);
    m->ram_size = get_u64(p + 12);
    size_t off = META_STRINGS_OFFSET;
    m->build_id_len = get_u16(body + off);
    m->build_id = (const char *)body + off + 2;
    off += 2u + m->build_id_len;
    if (off + 2u > len) {
        trace_set_error(err, err_size, "META build id of %u bytes runs past the %zu-byte body",
                        m->build_id_len, len);
        return -EBADMSG;
    }
    m->config_len = get_u16(body + off);
    m->config = (const char *)body + off + 2;
    off += 2u + m->config_len;
    if (off != len) {
        trace_set_error(err, err_size, "META body is %zu bytes, its strings need %zu", len, off);
        return -EBADMSG;
    }
    return 0;
}

int vcon_trace_event_decode(const uint8_t *body, size_t len, struct vcon_trace_event *ev,
                            char *err, size_t err_size)
{
    memset(ev, 0, sizeof(*ev));
    if (len < VCON_TRACE_HEADER_SIZE) {
        trace_set_error(err, err_size, "body is %zu bytes, shorter than the %u-byte event header",
                        len, VCON_TRACE_HEADER_SIZE);
        return -EBADMSG;
    }
    ev->seq = get_u64(body);
    ev->kind = get_u16(body + 8);
    ev->device = body[10];
    if (ev->kind >= VCON_TRACE_KIND_COUNT) {
        trace_set_error(err, err_size, "unknown event kind %u", ev->kind);
        return -EBADMSG;
    }
    const struct kind_info *k = &kinds[ev->kind];
    if (body[11] != 0) {
        trace_set_error(err, err_size, "%s reserved byte is %u, must be 0", k->name, body[11]);
        return -EBADMSG;
    }
    if (ev->kind == VCON_TRACE_META)
        return decode_meta(body, len, &ev->meta, err, err_size);

    size_t need = VCON_TRACE_HEADER_SIZE + k->fields + (k->has_payload ? 4u : 0u);
    if (len < need) {
        trace_set_error(err, err_size, "%s body is %zu bytes, needs at least %zu", k->name, len,
                        need);
        return -EBADMSG;
    }
    if (!k->has_payload && len != need) {
        trace_set_error(err, err_size, "%s body is %zu bytes, expected %zu", k->name, len, need);
        return -EBADMSG;
    }
    const uint8_t *p = body + VCON_TRACE_HEADER_SIZE;
    if (k->has_payload) {
        uint32_t plen = get_u32(p + k->fields);
        if (plen != len - need) {
            trace_set_error(err, err_size,
                            "%s payload length %" PRIu32 " does not match the body (%zu bytes left)",
                            k->name, plen, len - need);
            return -EBADMSG;
        }
        ev->payload_len = plen;
        ev->payload = plen ? body + need : NULL;
    }

    switch (ev->kind) {
    case VCON_TRACE_END:
        ev->end.count = get_u64(p);
        break;
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        ev->reg.space = p[0];
        ev->reg.size = p[1];
        ev->reg.address = get_u64(p + 2);
        ev->reg.value = get_u32(p + 10);
        break;
    case VCON_TRACE_MEM_READ:
        ev->mem.gpa = get_u64(p);
        ev->mem.length = get_u32(p + 8);
        ev->mem.result = get_i32(p + 12);
        break;
    case VCON_TRACE_MEM_WRITE:
        ev->mem.gpa = get_u64(p);
        ev->mem.result = get_i32(p + 8);
        break;
    case VCON_TRACE_GUEST_MEM_WRITE:
        ev->mem.gpa = get_u64(p);
        break;
    case VCON_TRACE_KICK:
        ev->kick.queue = get_u16(p);
        break;
    case VCON_TRACE_IRQ_LEVEL:
        ev->irq.line = get_u32(p);
        ev->irq.level = p[4];
        break;
    case VCON_TRACE_MSI:
        ev->msi.address = get_u64(p);
        ev->msi.data = get_u32(p + 8);
        break;
    case VCON_TRACE_BACKEND_READ:
        ev->backend.port = get_u16(p);
        ev->backend.requested = get_u32(p + 2);
        ev->backend.result = get_i32(p + 6);
        break;
    case VCON_TRACE_BACKEND_WRITE:
        ev->backend.port = get_u16(p);
        ev->backend.result = get_i32(p + 2);
        break;
    case VCON_TRACE_BACKEND_EVENT:
        ev->backend_event.port = get_u16(p);
        ev->backend_event.what = p[2];
        break;
    case VCON_TRACE_TIME_STEP:
        ev->time_step.ns = get_u64(p);
        break;
    case VCON_TRACE_TIMER_FIRE:
        ev->timer.index = get_u32(p);
        break;
    case VCON_TRACE_HOTPLUG:
        ev->hotplug.port = get_u16(p);
        ev->hotplug.add = p[2];
        ev->hotplug.is_console = p[3];
        break;
    case VCON_TRACE_RESIZE:
        ev->resize.port = get_u16(p);
        ev->resize.cols = get_u16(p + 2);
        ev->resize.rows = get_u16(p + 4);
        break;
    case VCON_TRACE_READ_RESULT:
        ev->read_result.value = get_u32(p);
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        ev->line_error.byte = p[0];
        ev->line_error.errors = p[1];
        break;
    case VCON_TRACE_MODEM_LINES:
        ev->modem.lines = p[0];
        break;
    default: /* RESET, MARK */
        break;
    }
    return check_fields(ev, err, err_size) < 0 ? -EBADMSG : 0;
}
