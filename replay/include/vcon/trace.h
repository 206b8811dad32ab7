/* The vcon trace format: a zstd-compressed classic pcap file, one packet per
 * event crossing the host seam. This header is the whole API of the trace
 * library (writer, reader, event encoding, events as text);
 * docs/trace-format.md is the normative description of the bytes. The
 * library depends on nothing else in the project.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno-style code on failure; the reader adds VCON_TRACE_TRUNCATED
 * and a message for every error. */
#ifndef VCON_TRACE_H
#define VCON_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The format version this library writes. A reader accepts every minor
 * version of its major version and refuses any other major version. */
#define VCON_TRACE_VERSION_MAJOR 1
#define VCON_TRACE_VERSION_MINOR 0

#define VCON_TRACE_PCAP_MAGIC 0xA1B23C4Du /* classic pcap, nanosecond timestamps */
#define VCON_TRACE_LINKTYPE 147u          /* LINKTYPE_USER0 */
#define VCON_TRACE_SNAPLEN 262144u        /* the largest event body */
#define VCON_TRACE_HEADER_SIZE 12u        /* seq, kind, device, reserved */

/* Returned by vcon_trace_reader_next() for a trace that ends without END
 * (its recorder crashed or was killed) after every complete event before the
 * cut has been delivered. Outside the errno range on purpose. */
#define VCON_TRACE_TRUNCATED (-4097)

/* Event kinds. The numbers are part of the file format and never change. */
enum vcon_trace_kind {
    VCON_TRACE_META = 0,            /* label: always event 0 */
    VCON_TRACE_END = 1,             /* label: always the last event */
    VCON_TRACE_REG_READ = 2,        /* input (value 0: see READ_RESULT) */
    VCON_TRACE_REG_WRITE = 3,       /* input */
    VCON_TRACE_MEM_READ = 4,        /* input (gpa, length: output) */
    VCON_TRACE_MEM_WRITE = 5,       /* output (result: input) */
    VCON_TRACE_GUEST_MEM_WRITE = 6, /* input */
    VCON_TRACE_KICK = 7,            /* label */
    VCON_TRACE_IRQ_LEVEL = 8,       /* output */
    VCON_TRACE_MSI = 9,             /* output */
    VCON_TRACE_BACKEND_READ = 10,   /* input (port, requested: output) */
    VCON_TRACE_BACKEND_WRITE = 11,  /* output (result: input) */
    VCON_TRACE_BACKEND_EVENT = 12,  /* input */
    VCON_TRACE_TIME_STEP = 13,      /* input */
    VCON_TRACE_TIMER_FIRE = 14,     /* input */
    VCON_TRACE_HOTPLUG = 15,        /* input */
    VCON_TRACE_RESIZE = 16,         /* input */
    VCON_TRACE_RESET = 17,          /* input */
    VCON_TRACE_MARK = 18,           /* label */
    VCON_TRACE_READ_RESULT = 19,    /* output: the value a REG_READ returned */
    VCON_TRACE_UART_LINE_ERROR = 20, /* input: a character with line errors */
    VCON_TRACE_MODEM_LINES = 21,    /* input: the UART's modem input lines */
    VCON_TRACE_KIND_COUNT = 22,
};

/* What the replayer does with an event of a kind. */
enum vcon_trace_role {
    VCON_TRACE_ROLE_INPUT = 0,  /* fed to the device (some fields compared) */
    VCON_TRACE_ROLE_OUTPUT = 1, /* compared with what the device does */
    VCON_TRACE_ROLE_LABEL = 2,  /* shown, not compared */
};

/* Address space of a register access (same numbers as enum vcon_space). */
enum vcon_trace_space {
    VCON_TRACE_SPACE_PIO = 0,
    VCON_TRACE_SPACE_MMIO = 1,
    VCON_TRACE_SPACE_PCI_CONFIG = 2,
};

/* BACKEND_EVENT.what */
enum vcon_trace_backend_what {
    VCON_TRACE_BACKEND_READY = 0,
    VCON_TRACE_BACKEND_CONNECT = 1,
    VCON_TRACE_BACKEND_DISCONNECT = 2,
    VCON_TRACE_BACKEND_EOF = 3,
};

/* The run's description, recorded as event 0. Strings are byte strings with
 * explicit lengths (a NULL pointer with length 0 is the empty string). The
 * reader's copies are also NUL-terminated. */
struct vcon_trace_meta {
    uint16_t version_major; /* reader: from the file; writer: ignored */
    uint16_t version_minor;
    uint64_t seed;
    uint64_t ram_size; /* guest RAM size in bytes */
    const char *build_id;
    uint16_t build_id_len;
    const char *config; /* the device configuration string */
    uint16_t config_len;
};

/* One event: the common header, the fixed fields of its kind (the member of
 * the anonymous union named after the kind) and at most one payload. */
struct vcon_trace_event {
    uint64_t seq;    /* set by the writer and the reader */
    uint16_t kind;   /* enum vcon_trace_kind */
    uint8_t device;  /* which device of the run */
    union {
        struct vcon_trace_meta meta; /* META */
        struct {
            uint64_t count; /* events before END (= END's seq) */
        } end;
        struct { /* REG_READ, REG_WRITE */
            uint8_t space; /* enum vcon_trace_space */
            uint8_t size;  /* 1, 2 or 4 */
            uint64_t address;
            uint32_t value; /* must fit in size bytes */
        } reg;
        struct { /* MEM_READ, MEM_WRITE, GUEST_MEM_WRITE */
            uint64_t gpa;
            uint32_t length; /* MEM_READ only: bytes asked for */
            int32_t result;  /* MEM_READ, MEM_WRITE: 0 or -errno */
        } mem;
        struct {
            uint16_t queue;
        } kick;
        struct {
            uint32_t line;
            uint8_t level; /* 0 or 1 */
        } irq;
        struct {
            uint64_t address;
            uint32_t data;
        } msi;
        struct { /* BACKEND_READ, BACKEND_WRITE */
            uint16_t port;
            uint32_t requested; /* BACKEND_READ only */
            int32_t result;     /* bytes moved (> 0) or a backend status */
        } backend;
        struct {
            uint16_t port;
            uint8_t what; /* enum vcon_trace_backend_what */
        } backend_event;
        struct {
            uint64_t ns;
        } time_step;
        struct {
            uint32_t index;
        } timer;
        struct {
            uint16_t port;
            uint8_t add;        /* 1 add, 0 remove */
            uint8_t is_console; /* 0 or 1 */
        } hotplug;
        struct {
            uint16_t port;
            uint16_t cols;
            uint16_t rows;
        } resize;
        struct {
            uint32_t value;
        } read_result;
        struct {
            uint8_t byte;
            uint8_t errors; /* LSR PE/FE/BI bits */
        } line_error;
        struct {
            uint8_t lines; /* MSR CTS/DSR/RI/DCD bits */
        } modem;
    };
    /* MEM_*, BACKEND_READ/WRITE, HOTPLUG (name), MARK (text). From the
     * reader: points into its buffer, valid until its next call. */
    const uint8_t *payload;
    uint32_t payload_len;
};

/* ---- kinds and event bodies ------------------------------------------- */

/* "REG_READ" etc.; "UNKNOWN" for a number that is not a kind. */
const char *vcon_trace_kind_name(unsigned kind);
/* An input fed to the run from outside (a guest access, a fake-guest memory
 * write, a host event, a time step), as opposed to an input that answers a
 * call the device makes (MEM_READ, BACKEND_READ). A replay step starts at
 * each one; the events up to the next belong to it. */
int vcon_trace_kind_is_step(unsigned kind);
/* The role of a kind; VCON_TRACE_ROLE_LABEL for an unknown number. */
enum vcon_trace_role vcon_trace_kind_role(unsigned kind);
/* The largest payload an event of this kind can carry (0 for kinds without
 * one). A recorder splits longer guest-memory transfers into several events. */
uint32_t vcon_trace_max_payload(unsigned kind);

/* Encodes ev's body (common header with ev->seq, fields, payload) into buf.
 * Returns the body length, -EINVAL for a field out of range (the message
 * goes to err when err_size > 0), or -EMSGSIZE when the body would exceed
 * VCON_TRACE_SNAPLEN or cap. */
int vcon_trace_event_encode(const struct vcon_trace_event *ev, uint8_t *buf, size_t cap,
                            char *err, size_t err_size);

/* Decodes one body. Payload and META strings point into body (the strings
 * are not NUL-terminated here). Returns 0, -EBADMSG for a malformed body or
 * -ENOTSUP for a META of another major version, with a message in err. */
int vcon_trace_event_decode(const uint8_t *body, size_t len, struct vcon_trace_event *ev,
                            char *err, size_t err_size);

/* ---- events as text --------------------------------------------------- */

/* One line per event, the same wherever an event is shown (`vcon-trace dump`
 * and `diff`, vcon-replay's listing and reports):
 *     #SEQ t=SECONDS.NANOSECONDS dev=DEVICE KIND FIELDS
 * docs/vcon-trace.md ("dump") documents FIELDS per kind; the format is
 * stable, scripts parse it. Lines have no newline. */

/* Payload bytes shown as hex without VCON_TRACE_TEXT_FULL; a longer payload
 * ends in "...". Strings (META's, HOTPLUG's name, MARK's text) are always
 * shown whole. */
#define VCON_TRACE_TEXT_PREVIEW 32u

enum vcon_trace_text_flags {
    VCON_TRACE_TEXT_FULL = 1u << 0, /* whole payloads */
    /* Leave out what the host answers to a device's call: the result of
     * MEM_READ/WRITE and BACKEND_READ/WRITE, and the data of the reads. For
     * describing a call the device is making now. */
    VCON_TRACE_TEXT_NO_ANSWER = 1u << 1,
};

/* Into buf like snprintf, but a line longer than size - 1 characters is
 * cut and ends in "..." (never an overrun). Reads at most size bytes of a
 * payload or string, so buf bounds what the payload must hold. Returns the
 * length written. */
size_t vcon_trace_format_event(char *buf, size_t size, uint64_t time_ns,
                               const struct vcon_trace_event *ev, unsigned flags);
/* FIELDS alone, e.g. "line=4 level=1"; "" for RESET. Cut like a line. */
size_t vcon_trace_format_fields(char *buf, size_t size, const struct vcon_trace_event *ev,
                                unsigned flags);
/* The line on out, whole however long. Returns 0, or -EIO when out is in
 * error. */
int vcon_trace_print_event(FILE *out, uint64_t time_ns, const struct vcon_trace_event *ev,
                           unsigned flags);
/* "1.000002000": a virtual time as the line shows it. Cut like a line. */
size_t vcon_trace_format_time(char *buf, size_t size, uint64_t time_ns);
/* A byte string as the line shows strings: in double quotes, with \", \\,
 * \n, \r, \t, and \xHH for every other byte outside 0x20..0x7e. */
int vcon_trace_print_quoted(FILE *out, const void *bytes, size_t len);

/* ---- writer ----------------------------------------------------------- */

struct vcon_trace_writer;

/* Zero (or a NULL options pointer) selects every default. */
struct vcon_trace_writer_options {
    unsigned flush_events; /* flush after this many events (default 64) */
    size_t flush_bytes;    /* ... or this many event bytes (default 64 KiB, max 16 MiB) */
    unsigned frame_events; /* end the zstd frame every this many events (default 4096) */
    int level;             /* zstd compression level (0: zstd's default) */
    int plain;             /* nonzero: write an uncompressed .pcap */
};

struct vcon_trace_writer_stats {
    uint64_t events;         /* appended so far, META included */
    uint64_t events_flushed; /* of which in the file (survive a kill) */
    uint64_t bytes_written;  /* to the file */
    uint64_t frames;         /* zstd frames ended */
};

/* Creates (truncates) path, writes the pcap header and the META event and
 * flushes them. */
int vcon_trace_writer_open(const char *path, const struct vcon_trace_meta *meta,
                           const struct vcon_trace_writer_options *opts,
                           struct vcon_trace_writer **out);

/* Appends one event at virtual time time_ns (never less than the previous
 * event's). The writer assigns ev->seq (the field is ignored). META and END
 * are the writer's own: -EINVAL. May flush; a write error is returned now
 * and by every later call. */
int vcon_trace_writer_append(struct vcon_trace_writer *w, uint64_t time_ns,
                             const struct vcon_trace_event *ev);

/* Puts every appended event into the file now (without ending the frame). */
int vcon_trace_writer_flush(struct vcon_trace_writer *w);

/* From a fatal-signal handler or a sanitizer death callback: ends the zstd
 * frame with every complete appended event and writes it with write(2). No
 * allocation, no stdio, no locks. Best effort: -EBUSY when the crash came
 * from inside the writer's own flush. */
int vcon_trace_writer_emergency_flush(struct vcon_trace_writer *w);

/* Appends END, ends the stream, closes the file and frees w (always, even
 * on error). Returns the first error the writer met, if any. */
int vcon_trace_writer_close(struct vcon_trace_writer *w);

void vcon_trace_writer_get_stats(const struct vcon_trace_writer *w,
                                 struct vcon_trace_writer_stats *out);
/* Why the last failing call failed ("" when none did). */
const char *vcon_trace_writer_error(const struct vcon_trace_writer *w);

/* Registers w as the process's one crash-flushed writer and installs
 * handlers for SIGSEGV, SIGBUS, SIGABRT, SIGILL and SIGFPE (and the
 * sanitizer death callback when a sanitizer runtime is linked). On a crash
 * the handler emergency-flushes w once and then lets the signal take the
 * action that was installed before (the default action, or a sanitizer's
 * report). vcon_trace_writer_close(w) unregisters w. Calling it again
 * replaces the registered writer. */
int vcon_trace_install_crash_flush(struct vcon_trace_writer *w);
/* Unregisters the writer and restores the previous signal actions. */
void vcon_trace_uninstall_crash_flush(void);
/* Writes a NUL-terminated message to standard error with write(2) only,
 * as a fatal-signal handler or a sanitizer death callback may (no stdio,
 * no allocation); best effort, a failed write ends it. */
void vcon_crash_message(const char *text);

/* ---- reader ----------------------------------------------------------- */

struct vcon_trace_reader;

/* Opens a .pcap.zst or a plain .pcap (told apart by the first bytes). Fails
 * only when the file cannot be opened or memory runs out: problems in the
 * contents are reported by vcon_trace_reader_next(). */
int vcon_trace_reader_open(const char *path, struct vcon_trace_reader **out);
/* The same over a buffer that must outlive the reader (not copied). */
int vcon_trace_reader_open_memory(const void *buf, size_t len,
                                  struct vcon_trace_reader **out);

/* Reads the next event, META first. Returns 1 with *ev (and *time_ns, which
 * may be NULL) filled; 0 at END (also filled with END, and again on every
 * later call); VCON_TRACE_TRUNCATED when the trace ends without END; or
 * -EBADMSG (malformed), -ENOTSUP (format version), -EIO/-errno (read
 * error), -ENOMEM. Errors are sticky; vcon_trace_reader_error() tells what
 * and where. */
int vcon_trace_reader_next(struct vcon_trace_reader *r, uint64_t *time_ns,
                           struct vcon_trace_event *ev);

/* The message of the last error ("" when there was none). */
const char *vcon_trace_reader_error(const struct vcon_trace_reader *r);
/* Events delivered so far, META included, END excluded. */
uint64_t vcon_trace_reader_events(const struct vcon_trace_reader *r);
/* The META event once it has been read, else NULL. Strings NUL-terminated. */
const struct vcon_trace_meta *vcon_trace_reader_meta(const struct vcon_trace_reader *r);
/* 1 when the input was zstd-compressed, 0 for a plain pcap, -1 not known yet. */
int vcon_trace_reader_compressed(const struct vcon_trace_reader *r);

void vcon_trace_reader_close(struct vcon_trace_reader *r);

#ifdef __cplusplus
}
#endif
#endif
