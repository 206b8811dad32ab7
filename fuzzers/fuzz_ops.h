/* Op numbers of the op-stream targets, shared by the targets and by
 * tools/make_seed_corpus.c, which writes seeds in these formats. An op is
 * one opcode byte (taken modulo the count) and fixed-size little-endian
 * operands; docs/fuzzing.md describes every format. The console targets'
 * ops are in fuzz_console_common.h. Changing a number changes what every
 * committed seed means: regenerate the corpus (make-seed-corpus). */
#ifndef VCON_FUZZ_OPS_H
#define VCON_FUZZ_OPS_H

/* fuzz_uart: a configuration byte (bit 0 hypervisor flavour, bit 1
 * acrn-dm profile, bit 2 edge interrupts), then these. */
enum fzu_op {
    FZU_WRITE,         /* u8 reg (bits 0-3 offset mod 10, bits 4-5 size 1,2,3,4), u16 value */
    FZU_READ,          /* u8 reg */
    FZU_WRITE_THR,     /* u8 n, n bytes: THR writes */
    FZU_READ_RBR,      /* u8 n: RBR reads */
    FZU_INPUT,         /* u8 n, n bytes queued on the backend */
    FZU_INPUT_READY,   /* u8 n, n bytes queued, then backend_ready */
    FZU_BACKEND_READY, /* - */
    FZU_PAUSE,         /* - : the next backend read answers "no data" */
    FZU_EOF,           /* - */
    FZU_DISCONNECT,    /* - */
    FZU_CONNECT,       /* - */
    FZU_WRITE_BUDGET,  /* u16: bytes the backend accepts (0xFFFF: no limit) */
    FZU_TIME_NS,       /* u32 ns */
    FZU_TIME_CHARS,    /* u8 quarter character times, u8 signed adjustment x 64 ns */
    FZU_TIME_TIMER,    /* u8: to the next timer deadline -1 ns / exactly / +1 ns */
    FZU_LINE_ERROR,    /* u8 byte, u8 LSR error bits */
    FZU_MODEM_LINES,   /* u8 MSR lines */
    FZU_RESET,         /* - */
    FZU_SETUP,         /* u8: a canned register sequence */
    FZU_OVERCLAIM,     /* u8: bit 0 set: the backend claims one byte more than it moved */
    FZU_OP_COUNT,
};

/* fuzz_virtq: a flags byte (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bits 2-4
 * log2 of the queue size), a page byte (the ring at page 1 + byte % 15),
 * then these. */
enum fzv_op {
    FZV_DESC,          /* u8 index, u16 addr, u16 len, u8 flags, u8 next */
    FZV_DESC_RAW,      /* u16 index, u64 addr, u32 len, u16 flags, u16 next */
    FZV_TABLE,         /* u16 table gpa, u8 entry, u16 addr, u16 len, u8 flags, u8 next */
    FZV_AVAIL,         /* u16 head: append to the avail ring and publish */
    FZV_AVAIL_IDX,     /* u16: avail->idx as is */
    FZV_AVAIL_FLAGS,   /* u16 */
    FZV_USED_EVENT,    /* u16 */
    FZV_MEM,           /* u16 gpa, u8 n, n bytes */
    FZV_POP,           /* - */
    FZV_POP_ALL,       /* - : pop until not a chain */
    FZV_READ,          /* u8 slot, u16 offset, u16 len */
    FZV_WRITE,         /* u8 slot, u16 offset, u16 len, u8 fill */
    FZV_PUSH,          /* u8 slot, u32 used_len */
    FZV_PUSH_RAW,      /* u16 head, u32 used_len */
    FZV_UNPOP,         /* - */
    FZV_HAS_WORK,      /* - */
    FZV_SHOULD_NOTIFY, /* - */
    FZV_SET_KICKS,     /* u8 wanted */
    FZV_SETUP,         /* u8 flags, u8 pfn (0 resets; 16 and 17 lie outside RAM) */
    FZV_RESET,         /* - */
    FZV_CHAIN,         /* u8 head, u8 count, u8 writable, u8 len: a linked chain, posted */
    FZV_OP_COUNT,
};

/* fuzz_options: mode byte bits 0-2. */
enum fzo_mode {
    FZO_COMMAND_LINE = 0, /* lines: first byte even -s, odd -l; then the cross-check */
    FZO_UART_BACKEND = 1,
    FZO_CONSOLE_OPTIONS = 2,
    FZO_RIG = 3,
    FZO_ALL = 4,
};
/* Mode byte bits 3-4: the error buffer: 256 bytes, none, 1 byte, 17 bytes. */
#define FZO_ERR_NONE (1u << 3)
#define FZO_ERR_1 (2u << 3)
#define FZO_ERR_17 (3u << 3)

#endif
