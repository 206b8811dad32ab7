/* The trace writer. Appended events are encoded as pcap records into a
 * pending buffer; zstd and write(2) only run when a flush budget is spent.
 * So at any moment the file holds a decodable prefix of the trace, and a
 * crash between flushes leaves the pending records intact in memory for the
 * emergency flush (docs/trace-format.md, "Crash safety"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "trace_internal.h"

#define DEFAULT_FLUSH_EVENTS 64u
#define DEFAULT_FLUSH_BYTES (64u * 1024u)
#define MAX_FLUSH_BYTES (16u * 1024u * 1024u)
#define DEFAULT_FRAME_EVENTS 4096u

struct vcon_trace_writer {
    int fd;
    ZSTD_CCtx *cctx; /* NULL for a plain pcap */
    uint8_t *zout;
    size_t zout_cap;

    /* Complete records not yet handed to zstd. pending_len and
     * pending_events only ever cover whole records: the signal fences
     * around their updates keep that true for a handler that interrupts. */
    uint8_t *pending;
    size_t pending_cap;
    size_t pending_len;
    uint64_t pending_events;

    unsigned flush_events;
    size_t flush_bytes;
    unsigned frame_events;
    uint64_t frame_count; /* events in the open zstd frame */
    int frame_open;       /* bytes went into the frame since it last ended */

    uint64_t seq; /* of the next event */
    uint64_t last_time;
    uint64_t events_flushed;
    uint64_t bytes_written;
    uint64_t frames;

    int error; /* sticky I/O error */
    volatile sig_atomic_t busy; /* inside zstd or write(2) */
    char message[256];
};

static int write_all(struct vcon_trace_writer *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
        w->bytes_written += (uint64_t)k;
    }
    return 0;
}

/* Hands the pending records to zstd and writes what comes out: a flush
 * block, or with end_frame the end of the frame. Allocates nothing and
 * formats nothing, so the emergency flush can use it. Returns 0 or a
 * negative errno; on error the pending records are kept. */
static int drain(struct vcon_trace_writer *w, int end_frame)
{
    if (w->pending_len == 0 && (!end_frame || !w->frame_open))
        return 0;
    if (!w->cctx) {
        int rc = write_all(w, w->pending, w->pending_len);
        if (rc < 0)
            return rc;
    } else {
        ZSTD_inBuffer in = {w->pending, w->pending_len, 0};
        ZSTD_EndDirective mode = end_frame ? ZSTD_e_end : ZSTD_e_flush;
        for (;;) {
            ZSTD_outBuffer out = {w->zout, w->zout_cap, 0};
            size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
            if (ZSTD_isError(left))
                return -EIO;
            int rc = write_all(w, w->zout, out.pos);
            if (rc < 0)
                return rc;
            if (left == 0 && in.pos == in.size)
                break;
        }
        w->frame_open = !end_frame;
        if (end_frame)
            w->frames++;
    }
    if (end_frame)
        w->frame_count = 0;
    atomic_signal_fence(memory_order_seq_cst);
    w->events_flushed += w->pending_events;
    w->pending_events = 0;
    w->pending_len = 0;
    atomic_signal_fence(memory_order_seq_cst);
    return 0;
}

static int flush(struct vcon_trace_writer *w, int end_frame)
{
    if (w->error)
        return w->error;
    w->busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    int rc = drain(w, end_frame);
    atomic_signal_fence(memory_order_seq_cst);
    w->busy = 0;
    if (rc < 0) {
        w->error = rc;
        trace_set_error(w->message, sizeof(w->message), "writing the trace: %s",
                        rc == -EIO && w->cctx ? "zstd compression failed" : strerror(-rc));
    }
    return rc;
}

/* Encodes ev (with the next sequence number) as a record in the pending
 * buffer, then spends the flush budget. */
static int add_event(struct vcon_trace_writer *w, uint64_t time_ns, const struct vcon_trace_event *ev)
{
    if (w->pending_cap - w->pending_len < RECORD_MAX) {
        int rc = flush(w, 0);
        if (rc < 0)
            return rc;
    }
    struct vcon_trace_event copy = *ev;
    copy.seq = w->seq;
    uint8_t *record = w->pending + w->pending_len;
    int len = vcon_trace_event_encode(&copy, record + PCAP_RECORD_HEADER_SIZE,
                                      w->pending_cap - w->pending_len - PCAP_RECORD_HEADER_SIZE,
                                      w->message, sizeof(w->message));
    if (len < 0)
        return len;
    trace_record_header(record, time_ns, (uint32_t)len);
    atomic_signal_fence(memory_order_seq_cst);
    w->pending_len += PCAP_RECORD_HEADER_SIZE + (size_t)len;
    w->pending_events++;
    atomic_signal_fence(memory_order_seq_cst);
    w->seq++;
    w->last_time = time_ns;
    w->frame_count++;
    if (w->frame_count >= w->frame_events)
        return flush(w, 1);
    if (w->pending_events >= w->flush_events || w->pending_len >= w->flush_bytes)
        return flush(w, 0);
    return 0;
}

static void destroy(struct vcon_trace_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    free(w->zout);
    free(w->pending);
    free(w);
}

static int setup_zstd(struct vcon_trace_writer *w, int level)
{
    w->cctx = ZSTD_createCCtx();
    w->zout_cap = ZSTD_CStreamOutSize();
    w->zout = malloc(w->zout_cap);
    if (!w->cctx || !w->zout)
        return -ENOMEM;
    /* The checksum lets the reader catch corruption inside a finished
     * frame. Every level's default window is within the reader's limit
     * (2^27 at level 22), so the window is left alone. */
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1)))
        return -EINVAL;
    return 0;
}

int vcon_trace_writer_open(const char *path, const struct vcon_trace_meta *meta,
                           const struct vcon_trace_writer_options *opts,
                           struct vcon_trace_writer **out)
{
    static const struct vcon_trace_writer_options defaults;
    if (!opts)
        opts = &defaults;
    if (!path || !meta || !out || opts->flush_bytes > MAX_FLUSH_BYTES)
        return -EINVAL;
    if ((meta->build_id_len && !meta->build_id) || (meta->config_len && !meta->config))
        return -EINVAL;

    struct vcon_trace_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->fd = -1;
    w->flush_events = opts->flush_events ? opts->flush_events : DEFAULT_FLUSH_EVENTS;
    w->flush_bytes = opts->flush_bytes ? opts->flush_bytes : DEFAULT_FLUSH_BYTES;
    w->frame_events = opts->frame_events ? opts->frame_events : DEFAULT_FRAME_EVENTS;
    /* Room for a whole budget plus the record that spends it. */
    w->pending_cap = PCAP_HEADER_SIZE + w->flush_bytes + RECORD_MAX;
    w->pending = malloc(w->pending_cap);
    int rc = w->pending ? 0 : -ENOMEM;
    if (rc == 0 && !opts->plain)
        rc = setup_zstd(w, opts->level);
    if (rc == 0) {
        w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->fd < 0)
            rc = -errno;
    }
    if (rc < 0) {
        if (w->fd >= 0)
            close(w->fd);
        destroy(w);
        return rc;
    }

    trace_pcap_header(w->pending);
    w->pending_len = PCAP_HEADER_SIZE;
    struct vcon_trace_event ev = {.kind = VCON_TRACE_META, .meta = *meta};
    ev.meta.version_major = VCON_TRACE_VERSION_MAJOR;
    ev.meta.version_minor = VCON_TRACE_VERSION_MINOR;
    rc = add_event(w, 0, &ev);
    if (rc == 0)
        rc = flush(w, 0);
    if (rc < 0) {
        close(w->fd);
        destroy(w);
        return rc;
    }
    *out = w;
    return 0;
}

int vcon_trace_writer_append(struct vcon_trace_writer *w, uint64_t time_ns,
                             const struct vcon_trace_event *ev)
{
    if (!w || !ev)
        return -EINVAL;
    if (w->error)
        return w->error;
    if (ev->kind == VCON_TRACE_META || ev->kind == VCON_TRACE_END) {
        trace_set_error(w->message, sizeof(w->message), "%s is written by the writer itself",
                        vcon_trace_kind_name(ev->kind));
        return -EINVAL;
    }
    if (time_ns < w->last_time) {
        trace_set_error(w->message, sizeof(w->message),
                        "time %" PRIu64 " ns is before the previous event's %" PRIu64 " ns",
                        time_ns, w->last_time);
        return -EINVAL;
    }
    if (time_ns > TRACE_TIME_MAX) {
        trace_set_error(w->message, sizeof(w->message),
                        "time %" PRIu64 " ns does not fit a pcap timestamp", time_ns);
        return -ERANGE;
    }
    return add_event(w, time_ns, ev);
}

int vcon_trace_writer_flush(struct vcon_trace_writer *w)
{
    return w ? flush(w, 0) : -EINVAL;
}

int vcon_trace_writer_emergency_flush(struct vcon_trace_writer *w)
{
    if (!w)
        return -EINVAL;
    if (w->busy)
        return -EBUSY;
    if (w->error)
        return w->error;
    w->busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    int rc = drain(w, 1);
    atomic_signal_fence(memory_order_seq_cst);
    w->busy = 0;
    if (rc < 0)
        w->error = rc;
    return rc;
}

int vcon_trace_writer_close(struct vcon_trace_writer *w)
{
    if (!w)
        return -EINVAL;
    trace_crash_forget(w);
    int rc = w->error;
    if (rc == 0) {
        struct vcon_trace_event end = {.kind = VCON_TRACE_END, .end.count = w->seq};
        rc = add_event(w, w->last_time, &end);
    }
    if (rc == 0)
        rc = flush(w, 1);
    if (close(w->fd) < 0 && rc == 0)
        rc = -errno;
    destroy(w);
    return rc;
}

void vcon_trace_writer_get_stats(const struct vcon_trace_writer *w,
                                 struct vcon_trace_writer_stats *out)
{
    out->events = w->seq;
    out->events_flushed = w->events_flushed;
    out->bytes_written = w->bytes_written;
    out->frames = w->frames;
}

const char *vcon_trace_writer_error(const struct vcon_trace_writer *w)
{
    return w->message;
}
