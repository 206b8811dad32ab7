/* The pcap framing around event bodies: the global header and the record
 * headers (docs/trace-format.md, "Container"). */
#define _POSIX_C_SOURCE 200809L
#include "trace_internal.h"

void trace_pcap_header(uint8_t out[PCAP_HEADER_SIZE])
{
    put_u32(out, VCON_TRACE_PCAP_MAGIC);
    put_u16(out + 4, PCAP_VERSION_MAJOR);
    put_u16(out + 6, PCAP_VERSION_MINOR);
    put_u32(out + 8, 0);  /* thiszone */
    put_u32(out + 12, 0); /* sigfigs */
    put_u32(out + 16, VCON_TRACE_SNAPLEN);
    put_u32(out + 20, VCON_TRACE_LINKTYPE);
}

void trace_record_header(uint8_t out[PCAP_RECORD_HEADER_SIZE], uint64_t time_ns, uint32_t len)
{
    put_u32(out, (uint32_t)(time_ns / NS_PER_SECOND));
    put_u32(out + 4, (uint32_t)(time_ns % NS_PER_SECOND));
    put_u32(out + 8, len);
    put_u32(out + 12, len);
}
