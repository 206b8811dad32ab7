/* The trace reader. It trusts nothing in the input: every length is checked
 * before use, memory stays bounded (one input buffer, one output buffer, one
 * record of at most the snaplen, a zstd window of at most 2^27), and every
 * refusal comes with a message that names the event (docs/trace-format.md,
 * "Reader errors"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "trace_internal.h"

#define FILE_INPUT_SIZE (128u * 1024u)
#define RECORD_FIRST 4096u /* first size of the record buffer */

enum reader_state {
    READER_START,  /* nothing read yet */
    READER_EVENTS, /* pcap header read */
    READER_END,    /* END read: every later call answers 0 */
    READER_FAILED, /* every later call answers status */
};

struct vcon_trace_reader {
    int fd; /* -1 when reading memory */
    uint8_t *inbuf;
    size_t in_cap;
    ZSTD_inBuffer in; /* raw bytes not consumed yet */
    int raw_eof;      /* nothing more after in */

    int compressed; /* -1 until the first bytes are seen */
    ZSTD_DCtx *dctx;
    uint8_t *outbuf;
    size_t out_cap, out_pos, out_len;

    uint8_t *record; /* record header + body */
    size_t record_cap; /* grows to the largest record read, at most RECORD_MAX */
    char *meta_strings;
    struct vcon_trace_meta meta;
    int have_meta;

    uint64_t delivered; /* = sequence number of the next event */
    uint64_t last_time;
    struct vcon_trace_event end_event;
    uint64_t end_time;

    enum reader_state state;
    int status;
    char message[256];
};

__attribute__((format(printf, 3, 4))) static int fail(struct vcon_trace_reader *r, int status,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    trace_set_verror(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    r->state = READER_FAILED;
    r->status = status;
    return status;
}

/* The same, with "event N: " in front, N the index of the event at hand. */
__attribute__((format(printf, 4, 5))) static int fail_at(struct vcon_trace_reader *r, int status,
                                                         uint64_t index, const char *fmt, ...)
{
    int n = snprintf(r->message, sizeof(r->message), "event %" PRIu64 ": ", index);
    va_list ap;
    va_start(ap, fmt);
    trace_set_verror(r->message + n, sizeof(r->message) - (size_t)n, fmt, ap);
    va_end(ap);
    r->state = READER_FAILED;
    r->status = status;
    return status;
}

static int fail_truncated(struct vcon_trace_reader *r)
{
    if (r->delivered == 0)
        return fail(r, VCON_TRACE_TRUNCATED, "truncated before the first event");
    return fail(r, VCON_TRACE_TRUNCATED, "truncated after event %" PRIu64, r->delivered - 1);
}

/* Reads more raw bytes from the file into inbuf after the `keep` bytes
 * already there. Sets raw_eof at the end of the file. */
static int read_raw(struct vcon_trace_reader *r, size_t keep)
{
    if (r->fd < 0) {
        r->raw_eof = 1;
        return 0;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->inbuf + keep, r->in_cap - keep);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            return fail_at(r, -err, r->delivered, "read error: %s", strerror(err));
        }
        if (n == 0)
            r->raw_eof = 1;
        r->in.src = r->inbuf;
        r->in.size = keep + (size_t)n;
        r->in.pos = 0;
        return 0;
    }
}

/* Makes more decoded bytes available: 1 when there are some, 0 at the end
 * of the data, or a failure. */
static int produce(struct vcon_trace_reader *r)
{
    if (!r->compressed) {
        while (r->in.pos == r->in.size) {
            if (r->raw_eof)
                return 0;
            int rc = read_raw(r, 0);
            if (rc < 0)
                return rc;
        }
        return 1;
    }
    for (;;) {
        /* Called even without new input: the decoder may hold output that
         * did not fit last time. */
        ZSTD_outBuffer out = {r->outbuf, r->out_cap, 0};
        size_t before = r->in.pos;
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &r->in);
        if (ZSTD_isError(ret))
            return fail_at(r, -EBADMSG, r->delivered, "corrupt zstd data: %s",
                           ZSTD_getErrorName(ret));
        if (out.pos > 0) {
            r->out_pos = 0;
            r->out_len = out.pos;
            return 1;
        }
        if (r->in.pos < r->in.size) {
            if (r->in.pos == before)
                return fail_at(r, -EBADMSG, r->delivered, "corrupt zstd data: no progress");
            continue;
        }
        if (r->raw_eof)
            return 0;
        int rc = read_raw(r, 0);
        if (rc < 0)
            return rc;
    }
}

/* Copies up to n decoded bytes to dst; *got < n only at the end of data. */
static int take(struct vcon_trace_reader *r, uint8_t *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        const uint8_t *src;
        size_t avail;
        if (r->compressed) {
            src = r->outbuf + r->out_pos;
            avail = r->out_len - r->out_pos;
        } else {
            src = (const uint8_t *)r->in.src + r->in.pos;
            avail = r->in.size - r->in.pos;
        }
        if (avail == 0) {
            int rc = produce(r);
            if (rc <= 0)
                return rc;
            continue;
        }
        size_t k = avail < n - *got ? avail : n - *got;
        memcpy(dst + *got, src, k);
        if (r->compressed)
            r->out_pos += k;
        else
            r->in.pos += k;
        *got += k;
    }
    return 0;
}

static int start_decoder(struct vcon_trace_reader *r)
{
    r->dctx = ZSTD_createDCtx();
    r->out_cap = ZSTD_DStreamOutSize();
    r->outbuf = malloc(r->out_cap);
    if (!r->dctx || !r->outbuf)
        return fail(r, -ENOMEM, "out of memory");
    if (ZSTD_isError(ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, TRACE_WINDOW_LOG_MAX)))
        return fail(r, -EINVAL, "zstd refused the window limit");
    return 0;
}

/* Tells compressed from plain by the first four bytes, then reads and checks
 * the pcap global header. */
static int start(struct vcon_trace_reader *r)
{
    while (r->in.size < 4 && !r->raw_eof) {
        int rc = read_raw(r, r->in.size);
        if (rc < 0)
            return rc;
    }
    if (r->in.size < 4)
        return fail_truncated(r);
    uint32_t first = get_u32(r->in.src);
    r->compressed = first == ZSTD_FRAME_MAGIC ||
                    (first & ZSTD_SKIPPABLE_MAGIC_MASK) == ZSTD_SKIPPABLE_MAGIC;
    if (r->compressed) {
        int rc = start_decoder(r);
        if (rc < 0)
            return rc;
    }

    uint8_t h[PCAP_HEADER_SIZE];
    size_t got;
    int rc = take(r, h, sizeof(h), &got);
    if (rc < 0)
        return rc;
    if (got < sizeof(h))
        return fail_truncated(r);
    uint32_t magic = get_u32(h);
    if (magic != VCON_TRACE_PCAP_MAGIC)
        return fail(r, -EBADMSG, "not a vcon trace: bad pcap magic 0x%08" PRIx32, magic);
    if (get_u16(h + 4) != PCAP_VERSION_MAJOR || get_u16(h + 6) != PCAP_VERSION_MINOR)
        return fail(r, -EBADMSG, "not a vcon trace: pcap version %u.%u, expected 2.4",
                    get_u16(h + 4), get_u16(h + 6));
    uint32_t linktype = get_u32(h + 20);
    if (linktype != VCON_TRACE_LINKTYPE)
        return fail(r, -EBADMSG,
                    "not a vcon trace: pcap link type %" PRIu32 ", expected 147 (LINKTYPE_USER0)",
                    linktype);
    r->state = READER_EVENTS;
    return 0;
}

/* Keeps NUL-terminated copies of META's strings for the reader's life. */
static int keep_meta(struct vcon_trace_reader *r, struct vcon_trace_meta *m)
{
    char *s = malloc((size_t)m->build_id_len + m->config_len + 2);
    if (!s)
        return fail(r, -ENOMEM, "out of memory");
    memcpy(s, m->build_id, m->build_id_len);
    s[m->build_id_len] = '\0';
    char *config = s + m->build_id_len + 1;
    memcpy(config, m->config, m->config_len);
    config[m->config_len] = '\0';
    m->build_id = s;
    m->config = config;
    r->meta_strings = s;
    r->meta = *m;
    r->have_meta = 1;
    return 0;
}

/* After END the stream must stop. */
static int check_nothing_after_end(struct vcon_trace_reader *r)
{
    uint8_t byte;
    size_t got;
    int rc = take(r, &byte, 1, &got);
    if (rc < 0)
        return rc;
    if (got > 0)
        return fail_at(r, -EBADMSG, r->delivered + 1, "data after END");
    return 0;
}

static int check_order(struct vcon_trace_reader *r, const struct vcon_trace_event *ev,
                       uint64_t time_ns)
{
    uint64_t index = r->delivered;
    if (ev->seq != index)
        return fail_at(r, -EBADMSG, index, "sequence number %" PRIu64 ", expected %" PRIu64,
                       ev->seq, index);
    if (index == 0 && ev->kind != VCON_TRACE_META)
        return fail_at(r, -EBADMSG, index, "first event is %s, expected META",
                       vcon_trace_kind_name(ev->kind));
    if (index > 0 && ev->kind == VCON_TRACE_META)
        return fail_at(r, -EBADMSG, index, "META is only allowed as the first event");
    if (time_ns < r->last_time)
        return fail_at(r, -EBADMSG, index,
                       "time %" PRIu64 " ns is before the previous event's %" PRIu64 " ns",
                       time_ns, r->last_time);
    if (ev->kind == VCON_TRACE_END && ev->end.count != index)
        return fail_at(r, -EBADMSG, index, "END counts %" PRIu64 " events, expected %" PRIu64,
                       ev->end.count, index);
    return 0;
}

/* Room for a record of `need` bytes (need <= RECORD_MAX): the buffer starts
 * small and doubles. A buffer of RECORD_MAX from the start cost a 256 KiB
 * allocation per reader, which under ASan is a fresh mapping each time,
 * while almost every record is a few dozen bytes. */
static int grow_record(struct vcon_trace_reader *r, size_t need)
{
    size_t cap = r->record_cap;
    while (cap < need)
        cap = cap * 2 < RECORD_MAX ? cap * 2 : RECORD_MAX;
    uint8_t *grown = realloc(r->record, cap);
    if (!grown)
        return fail(r, -ENOMEM, "out of memory");
    r->record = grown;
    r->record_cap = cap;
    return 0;
}

int vcon_trace_reader_next(struct vcon_trace_reader *r, uint64_t *time_ns,
                           struct vcon_trace_event *ev)
{
    if (r->state == READER_FAILED)
        return r->status;
    if (r->state == READER_END) {
        *ev = r->end_event;
        if (time_ns)
            *time_ns = r->end_time;
        return 0;
    }
    if (r->state == READER_START) {
        int rc = start(r);
        if (rc < 0)
            return rc;
    }

    uint64_t index = r->delivered;
    uint8_t *h = r->record;
    size_t got;
    int rc = take(r, h, PCAP_RECORD_HEADER_SIZE, &got);
    if (rc < 0)
        return rc;
    if (got < PCAP_RECORD_HEADER_SIZE)
        return fail_truncated(r);
    uint32_t ts_sec = get_u32(h), ts_nsec = get_u32(h + 4);
    uint32_t incl_len = get_u32(h + 8), orig_len = get_u32(h + 12);
    if (incl_len > VCON_TRACE_SNAPLEN)
        return fail_at(r, -EBADMSG, index,
                       "record length %" PRIu32 " exceeds the snaplen %u", incl_len,
                       VCON_TRACE_SNAPLEN);
    if (orig_len != incl_len)
        return fail_at(r, -EBADMSG, index,
                       "record length %" PRIu32 " differs from its original length %" PRIu32,
                       incl_len, orig_len);
    if (ts_nsec >= NS_PER_SECOND)
        return fail_at(r, -EBADMSG, index, "timestamp nanoseconds %" PRIu32 " out of range",
                       ts_nsec);
    if (PCAP_RECORD_HEADER_SIZE + (size_t)incl_len > r->record_cap) {
        rc = grow_record(r, PCAP_RECORD_HEADER_SIZE + (size_t)incl_len);
        if (rc < 0)
            return rc;
        h = r->record;
    }
    uint8_t *body = h + PCAP_RECORD_HEADER_SIZE;
    rc = take(r, body, incl_len, &got);
    if (rc < 0)
        return rc;
    if (got < incl_len)
        return fail_truncated(r);

    char why[192];
    rc = vcon_trace_event_decode(body, incl_len, ev, why, sizeof(why));
    if (rc < 0)
        return fail_at(r, rc, index, "%s", why);
    uint64_t t = (uint64_t)ts_sec * NS_PER_SECOND + ts_nsec;
    rc = check_order(r, ev, t);
    if (rc < 0)
        return rc;
    if (ev->kind == VCON_TRACE_META) {
        rc = keep_meta(r, &ev->meta);
        if (rc < 0)
            return rc;
    }
    if (time_ns)
        *time_ns = t;
    if (ev->kind == VCON_TRACE_END) {
        rc = check_nothing_after_end(r);
        if (rc < 0)
            return rc;
        r->end_event = *ev;
        r->end_time = t;
        r->state = READER_END;
        return 0;
    }
    r->delivered++;
    r->last_time = t;
    return 1;
}

static int create(int fd, struct vcon_trace_reader **out)
{
    struct vcon_trace_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fd = fd;
    r->compressed = -1;
    r->record_cap = RECORD_FIRST;
    r->record = malloc(r->record_cap);
    if (fd >= 0) {
        r->in_cap = FILE_INPUT_SIZE;
        r->inbuf = malloc(r->in_cap);
        r->in.src = r->inbuf;
    }
    if (!r->record || (fd >= 0 && !r->inbuf)) {
        r->fd = -1;
        vcon_trace_reader_close(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

int vcon_trace_reader_open(const char *path, struct vcon_trace_reader **out)
{
    if (!path || !out)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = create(fd, out);
    if (rc < 0)
        close(fd);
    return rc;
}

int vcon_trace_reader_open_memory(const void *buf, size_t len, struct vcon_trace_reader **out)
{
    if ((!buf && len) || !out)
        return -EINVAL;
    int rc = create(-1, out);
    if (rc < 0)
        return rc;
    (*out)->in.src = buf;
    (*out)->in.size = len;
    (*out)->raw_eof = 1;
    return 0;
}

const char *vcon_trace_reader_error(const struct vcon_trace_reader *r)
{
    return r->message;
}

uint64_t vcon_trace_reader_events(const struct vcon_trace_reader *r)
{
    return r->delivered;
}

const struct vcon_trace_meta *vcon_trace_reader_meta(const struct vcon_trace_reader *r)
{
    return r->have_meta ? &r->meta : NULL;
}

int vcon_trace_reader_compressed(const struct vcon_trace_reader *r)
{
    return r->compressed;
}

void vcon_trace_reader_close(struct vcon_trace_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->outbuf);
    free(r->inbuf);
    free(r->record);
    free(r->meta_strings);
    free(r);
}
