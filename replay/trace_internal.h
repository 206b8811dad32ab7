/* Shared by the trace library's files only: little-endian field access, the
 * pcap layout, and the message helper. */
#ifndef VCON_TRACE_INTERNAL_H
#define VCON_TRACE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "vcon/trace.h"

#define PCAP_HEADER_SIZE 24u
#define PCAP_RECORD_HEADER_SIZE 16u
#define PCAP_VERSION_MAJOR 2u
#define PCAP_VERSION_MINOR 4u
#define RECORD_MAX (PCAP_RECORD_HEADER_SIZE + VCON_TRACE_SNAPLEN)
#define NS_PER_SECOND 1000000000u
#define ZSTD_FRAME_MAGIC 0xFD2FB528u
#define ZSTD_SKIPPABLE_MAGIC_MASK 0xFFFFFFF0u
#define ZSTD_SKIPPABLE_MAGIC 0x184D2A50u
/* The reader refuses zstd windows above 128 MiB: bounded memory whatever the
 * file says. The writer never needs more. */
#define TRACE_WINDOW_LOG_MAX 27

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Two's complement on the wire; converted without implementation-defined
 * behaviour. */
static inline int32_t get_i32(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

static inline void put_i32(uint8_t *p, int32_t v)
{
    put_u32(p, (uint32_t)v);
}

/* The 24-byte pcap global header the writer emits. */
void trace_pcap_header(uint8_t out[PCAP_HEADER_SIZE]);
/* The 16-byte record header for a body of len bytes at time_ns. */
void trace_record_header(uint8_t out[PCAP_RECORD_HEADER_SIZE], uint64_t time_ns, uint32_t len);

/* snprintf into err when err_size > 0. */
void trace_set_error(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void trace_set_verror(char *err, size_t err_size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Drops w from the crash handler's registration if it is the one there
 * (trace_crash.c); called by vcon_trace_writer_close(). */
void trace_crash_forget(struct vcon_trace_writer *w);

/* Latest virtual time a record header can carry. */
#define TRACE_TIME_MAX ((uint64_t)UINT32_MAX * NS_PER_SECOND + (NS_PER_SECOND - 1))

#endif
