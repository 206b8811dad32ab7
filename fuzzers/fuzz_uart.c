/* Fuzz target: the 16550 UART behind a rig, driven by an op stream.
 *
 * Input: one configuration byte (bits 0-2: flavour, profile, irq mode: all
 * eight combinations), then ops. Each op is one opcode byte (taken modulo
 * the number of ops) and fixed-size little-endian operands; an op whose
 * operands run past the end of the input ends the run. docs/fuzzing.md
 * lists the ops.
 *
 * After every guest access and host event the target checks: the state
 * invariants of harness/invariants.h (the interrupt line against the
 * device's pending state, FIFO counts and capacities, LSR/IIR/IER/MCR/FCR
 * consistency), that the backend gave the device exactly what was queued,
 * and, with the conservation model of harness/uart_model.h (which
 * vcon-replay --check runs too), the raise count and that bytes are neither
 * lost nor duplicated between the backend and the guest (receive: the
 * device-model flavour's FIFO holds exactly the backend bytes not yet read,
 * in order, and RBR returns them; the hypervisor flavour's input buffer and
 * FIFO account for every byte) and between the guest's THR writes and the
 * backend. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_ops.h"
#include "harness/invariants.h"
#include "harness/uart_model.h"
#include "vcon/uart.h"

#define UART_DEVICE 0u
#define NR_COMBOS 8u
/* The UART sits at com1 (0x3F8, IRQ 4) in every configuration. */
static const char *const combo_config[NR_COMBOS] = {
    "-s 1:0,lpc --uart-flavour dm --uart-profile 16550a --uart-irq level -l com1,stdio",
    "-s 1:0,lpc --uart-flavour hv --uart-profile 16550a --uart-irq level -l com1,stdio",
    "-s 1:0,lpc --uart-flavour dm --uart-profile acrn-dm --uart-irq level -l com1,stdio",
    "-s 1:0,lpc --uart-flavour hv --uart-profile acrn-dm --uart-irq level -l com1,stdio",
    "-s 1:0,lpc --uart-flavour dm --uart-profile 16550a --uart-irq edge -l com1,stdio",
    "-s 1:0,lpc --uart-flavour hv --uart-profile 16550a --uart-irq edge -l com1,stdio",
    "-s 1:0,lpc --uart-flavour dm --uart-profile acrn-dm --uart-irq edge -l com1,stdio",
    "-s 1:0,lpc --uart-flavour hv --uart-profile acrn-dm --uart-irq edge -l com1,stdio",
};

static const char *const op_names[FZU_OP_COUNT] = {
    "write", "read", "write_thr", "read_rbr", "input", "input_ready", "backend_ready",
    "pause", "eof", "disconnect", "connect", "write_budget", "time_ns", "time_chars",
    "time_timer", "line_error", "modem_lines", "reset", "setup", "overclaim",
};

/* What an event did before and after, for the checks. */
struct snapshot {
    struct vcon_uart_model_view view;
    uint64_t taken;
    const uint8_t *out; /* the backend's output (valid until the next event) */
    size_t out_len;
};

/* Everything one input needs. */
struct run {
    struct vcon_fuzz_rig *fr;
    struct vcon_rig *rig;
    struct vcon_uart *uart;
    struct vcon_script_backend *backend;
    struct vcon_vm *vm;
    unsigned combo;
    bool hv, acrn;
    struct vcon_uart_config config;
    unsigned irq_line;
    uint16_t io_base;

    uint8_t *fed; /* every byte queued on the backend, in order */
    size_t fed_len, fed_cap;

    struct vcon_uart_model model; /* the bytes' conservation (harness/uart_model.h) */
    /* Two snapshots used in turn: the state after the last event is the
     * state before the next one (nothing changes the device in between:
     * queuing backend input or changing the script does not). */
    struct snapshot snap[2];
    unsigned last; /* index of the state after the last event */
};

static struct vcon_fuzz_rig rigs[NR_COMBOS];

static void take_snapshot(const struct run *r, struct snapshot *s)
{
    vcon_uart_get_state(r->uart, &s->view.st);
    vcon_uart_get_stats(r->uart, &s->view.stats);
    s->taken = r->fr->seam[UART_DEVICE].backend_taken[0];
    s->out = vcon_script_output(r->backend, &s->out_len);
    s->view.raises = vcon_vm_irq_raises(r->vm, r->irq_line);
}

static void check_state(const struct run *r, const struct snapshot *post)
{
    struct vcon_invariant_failure why;
    if (!vcon_check_uart_state(&r->config, &post->view.st, vcon_vm_irq_level(r->vm, r->irq_line),
                               &why))
        vcon_fuzz_fail_invariant(&why);
    /* The backend gave the device what was queued, nothing else. */
    VCON_FUZZ_CHECK(post->taken + vcon_script_pending_input(r->backend) == r->fed_len,
                    "uart backend: bytes taken plus bytes pending equal bytes queued");
}

static uint64_t raises_base;

/* After every event: the state invariants, the script backend's own
 * accounting, then the bytes' conservation. */
static void after_event(struct run *r, enum vcon_uart_model_event kind,
                        const struct vcon_uart_model_access *a)
{
    const struct snapshot *pre = &r->snap[r->last];
    struct snapshot *post = &r->snap[r->last ^ 1u];
    struct vcon_invariant_failure why;
    take_snapshot(r, post);
    check_state(r, post);
    VCON_FUZZ_CHECK(post->taken <= r->fed_len, "uart rx: taken bytes were queued");
    VCON_FUZZ_CHECK(post->out_len >= pre->out_len, "uart tx: backend output only grows");
    /* (No offset on a NULL buffer: nothing queued or sent yet.) */
    const struct vcon_uart_model_bytes moved = {
        .taken = post->taken > pre->taken ? r->fed + pre->taken : NULL,
        .taken_len = (size_t)(post->taken - pre->taken),
        .sent = post->out_len > pre->out_len ? post->out + pre->out_len : NULL,
        .sent_len = post->out_len - pre->out_len,
    };
    if (!vcon_uart_model_step(&r->model, kind, a, &post->view, &moved, &why))
        vcon_fuzz_fail_invariant(&why);
    r->last ^= 1u;
}

/* One guest access through the VM bus. */
static void guest_access(struct run *r, bool is_write, unsigned offset, unsigned size, uint32_t value)
{
    struct vcon_uart_model_access a = {
        .is_write = is_write, .offset = offset, .size = size, .value = value};
    if (is_write) {
        vcon_vm_write(r->vm, VCON_SPACE_PIO, r->io_base + offset, size, value);
    } else {
        a.read_value = vcon_vm_read(r->vm, VCON_SPACE_PIO, r->io_base + offset, size);
        vcon_fuzz_observe_u64(a.read_value);
    }
    after_event(r, VCON_UART_MODEL_ACCESS, &a);
}

static void host_event(struct run *r, enum vcon_rig_event_kind kind, uint8_t value, unsigned flag)
{
    const struct vcon_rig_event ev = {
        .kind = kind, .device = UART_DEVICE, .port = 0, .value = value, .flag = flag};
    enum vcon_uart_model_event ek = VCON_UART_MODEL_OTHER;
    int rc = vcon_rig_apply(r->rig, &ev);
    vcon_fuzz_observe_u64((uint64_t)(int64_t)rc);
    if (kind == VCON_RIG_EV_LINE_ERROR)
        ek = VCON_UART_MODEL_LINE_ERROR;
    else if (kind == VCON_RIG_EV_RESET)
        ek = VCON_UART_MODEL_RESET;
    after_event(r, ek, NULL);
}

static void advance(struct run *r, uint64_t ns)
{
    vcon_vm_advance(r->vm, ns);
    after_event(r, VCON_UART_MODEL_OTHER, NULL);
}

static void feed(struct run *r, const uint8_t *bytes, size_t n)
{
    if (n == 0)
        return;
    if (r->fed_len + n > r->fed_cap) {
        size_t cap = r->fed_cap ? r->fed_cap : 256;
        while (cap < r->fed_len + n)
            cap *= 2;
        uint8_t *grown = realloc(r->fed, cap);
        VCON_FUZZ_CHECK(grown != NULL, "harness: memory for the fed bytes");
        r->fed = grown;
        r->fed_cap = cap;
    }
    memcpy(r->fed + r->fed_len, bytes, n);
    r->fed_len += n;
    VCON_FUZZ_CHECK(vcon_script_input(r->backend, bytes, n) == 0, "harness: backend input queued");
}

/* One character time in ns from the state, as the datasheet counts it; a
 * guide for time steps, not an invariant. */
static uint64_t char_time_ns(const struct run *r)
{
    struct vcon_uart_state st;
    vcon_uart_get_state(r->uart, &st);
    const unsigned data_bits = 5u + (st.lcr & VCON_UART_LCR_WLS_MASK);
    unsigned half_bits = 2u * (1u + data_bits) + ((st.lcr & VCON_UART_LCR_PEN) ? 2u : 0u);
    half_bits += (st.lcr & VCON_UART_LCR_STB) ? (data_bits == 5 ? 3u : 4u) : 2u;
    const uint64_t divisor = st.divisor ? st.divisor : 1u;
    return (uint64_t)half_bits * 8u * divisor * 1000000000u / 1843200u;
}

static const unsigned sizes[4] = {1, 2, 3, 4};

static void reg_operand(uint8_t reg, unsigned *offset, unsigned *size)
{
    *offset = (reg & 0x0Fu) % 10u;
    *size = sizes[(reg >> 4) & 3u];
}

static void setup(struct run *r, uint8_t what)
{
    const uint8_t trigger = (uint8_t)(what & VCON_UART_FCR_TRIGGER_MASK);
    switch (what & 7u) {
    case 0:
        guest_access(r, true, VCON_UART_LCR, 1, 0x03);
        break;
    case 1: /* 115200 baud, 8N1 */
        guest_access(r, true, VCON_UART_LCR, 1, 0x83);
        guest_access(r, true, VCON_UART_DLL, 1, 0x01);
        guest_access(r, true, VCON_UART_DLM, 1, 0x00);
        guest_access(r, true, VCON_UART_LCR, 1, 0x03);
        break;
    case 2:
        guest_access(r, true, VCON_UART_IIR_FCR, 1, VCON_UART_FCR_ENABLE | trigger);
        break;
    case 3:
        guest_access(r, true, VCON_UART_IIR_FCR, 1,
               VCON_UART_FCR_ENABLE | VCON_UART_FCR_CLEAR_RX | VCON_UART_FCR_CLEAR_TX | trigger);
        break;
    case 4:
        guest_access(r, true, VCON_UART_IER, 1, 0x0F);
        break;
    case 5:
        guest_access(r, true, VCON_UART_MCR, 1,
               VCON_UART_MCR_DTR | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT2);
        break;
    case 6:
        guest_access(r, true, VCON_UART_MCR, 1,
               VCON_UART_MCR_DTR | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT2 | VCON_UART_MCR_LOOP);
        break;
    default: /* what Linux leaves after open: 8N1, FIFO, RDI|RLSI, OUT2 */
        guest_access(r, true, VCON_UART_LCR, 1, 0x03);
        guest_access(r, true, VCON_UART_IIR_FCR, 1, 0xC7);
        guest_access(r, true, VCON_UART_IER, 1, VCON_UART_IER_ERBFI | VCON_UART_IER_ELSI);
        guest_access(r, true, VCON_UART_MCR, 1,
               VCON_UART_MCR_DTR | VCON_UART_MCR_RTS | VCON_UART_MCR_OUT2);
        break;
    }
}

/* One op; false when the input ran out. */
static bool run_op(struct run *r, struct vcon_fuzz_in *in, unsigned op)
{
    uint8_t b0, b1, n;
    uint16_t v16;
    uint32_t v32;
    const uint8_t *bytes;
    unsigned offset, size;

    switch (op) {
    case FZU_WRITE:
        if (!vcon_fuzz_u8(in, &b0) || !vcon_fuzz_u16(in, &v16))
            return false;
        reg_operand(b0, &offset, &size);
        guest_access(r, true, offset, size, v16);
        return true;
    case FZU_READ:
        if (!vcon_fuzz_u8(in, &b0))
            return false;
        reg_operand(b0, &offset, &size);
        guest_access(r, false, offset, size, 0);
        return true;
    case FZU_WRITE_THR: {
        if (!vcon_fuzz_u8(in, &n))
            return false;
        const size_t got = vcon_fuzz_bytes(in, n, &bytes);
        for (size_t i = 0; i < got; i++)
            guest_access(r, true, VCON_UART_RBR_THR, 1, bytes[i]);
        return got == n;
    }
    case FZU_READ_RBR:
        if (!vcon_fuzz_u8(in, &n))
            return false;
        for (unsigned i = 0; i < n; i++)
            guest_access(r, false, VCON_UART_RBR_THR, 1, 0);
        return true;
    case FZU_INPUT:
    case FZU_INPUT_READY: {
        if (!vcon_fuzz_u8(in, &n))
            return false;
        const size_t got = vcon_fuzz_bytes(in, n, &bytes);
        feed(r, bytes, got);
        if (op == FZU_INPUT_READY)
            host_event(r, VCON_RIG_EV_BACKEND_READY, 0, 0);
        return got == n;
    }
    case FZU_BACKEND_READY:
        host_event(r, VCON_RIG_EV_BACKEND_READY, 0, 0);
        return true;
    case FZU_PAUSE:
        VCON_FUZZ_CHECK(vcon_script_input_pause(r->backend) == 0, "harness: pause queued");
        return true;
    case FZU_EOF:
        VCON_FUZZ_CHECK(vcon_script_input_eof(r->backend) == 0, "harness: EOF queued");
        return true;
    case FZU_DISCONNECT:
        vcon_script_disconnect(r->backend);
        return true;
    case FZU_CONNECT:
        vcon_script_connect(r->backend);
        return true;
    case FZU_WRITE_BUDGET:
        if (!vcon_fuzz_u16(in, &v16))
            return false;
        vcon_script_set_write_budget(r->backend, v16 == 0xFFFF ? SIZE_MAX : v16);
        return true;
    case FZU_TIME_NS:
        if (!vcon_fuzz_u32(in, &v32))
            return false;
        advance(r, v32);
        return true;
    case FZU_TIME_CHARS: {
        if (!vcon_fuzz_u8(in, &b0) || !vcon_fuzz_u8(in, &b1))
            return false;
        const int64_t adjust = (int64_t)(int8_t)b1 * 64;
        int64_t ns = (int64_t)(char_time_ns(r) * b0 / 4u) + adjust;
        advance(r, ns > 0 ? (uint64_t)ns : 0u);
        return true;
    }
    case FZU_TIME_TIMER: {
        if (!vcon_fuzz_u8(in, &b0))
            return false;
        const uint64_t deadline = vcon_vm_next_deadline(r->vm);
        const uint64_t now = vcon_vm_now(r->vm);
        uint64_t ns = deadline == UINT64_MAX || deadline < now ? 1000u : deadline - now;
        ns = (b0 % 3u == 0 && ns > 0) ? ns - 1 : (b0 % 3u == 2 ? ns + 1 : ns);
        advance(r, ns);
        return true;
    }
    case FZU_LINE_ERROR:
        if (!vcon_fuzz_u8(in, &b0) || !vcon_fuzz_u8(in, &b1))
            return false;
        host_event(r, VCON_RIG_EV_LINE_ERROR, b0, b1);
        return true;
    case FZU_MODEM_LINES:
        if (!vcon_fuzz_u8(in, &b0))
            return false;
        host_event(r, VCON_RIG_EV_MODEM_LINES, b0, 0);
        return true;
    case FZU_RESET:
        host_event(r, VCON_RIG_EV_RESET, 0, 0);
        return true;
    case FZU_SETUP:
        if (!vcon_fuzz_u8(in, &b0))
            return false;
        setup(r, b0);
        return true;
    case FZU_OVERCLAIM:
        if (!vcon_fuzz_u8(in, &b0))
            return false;
        r->fr->overclaim = (b0 & 1u) != 0;
        return true;
    default:
        return false;
    }
}

/* The modem lines a UART of this profile starts with (emu/uart.c). */
static uint8_t default_modem_lines(bool acrn)
{
    return acrn ? VCON_UART_MSR_DCD | VCON_UART_MSR_DSR
                : VCON_UART_MSR_DCD | VCON_UART_MSR_DSR | VCON_UART_MSR_CTS;
}

static struct run run_state;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run *r = &run_state;
    struct vcon_fuzz_in in = vcon_fuzz_in_init(data, size);
    struct vcon_rig_device_info info;
    uint8_t config;

    vcon_fuzz_begin();
    vcon_fuzz_set_target("uart");
    if (!vcon_fuzz_u8(&in, &config))
        return 0;

    r->combo = config % NR_COMBOS;
    r->hv = (r->combo & 1u) != 0;
    r->acrn = (r->combo & 2u) != 0;
    r->fr = &rigs[r->combo];
    r->fr->config = combo_config[r->combo];
    r->fr->ram_size = 4096;
    vcon_fuzz_rig_begin(r->fr, data, size);
    r->rig = r->fr->rig;
    r->vm = r->fr->vm;
    r->uart = vcon_rig_uart(r->rig, UART_DEVICE);
    r->backend = vcon_rig_backend(r->rig, UART_DEVICE, 0);
    VCON_FUZZ_CHECK(r->uart != NULL && r->backend != NULL, "harness: the rig has a UART");
    vcon_uart_get_config(r->uart, &r->config);
    VCON_FUZZ_CHECK(vcon_rig_device_info(r->rig, UART_DEVICE, &info) == 0, "harness: device info");
    r->irq_line = info.irq_line;
    r->io_base = info.io_base;

    if (!r->fr->fresh) {
        /* Power-on state: the modem lines first (reset keeps them), then
         * the device, then everything around it. */
        const struct vcon_rig_event lines = {.kind = VCON_RIG_EV_MODEM_LINES,
                                             .device = UART_DEVICE,
                                             .value = default_modem_lines(r->acrn)};
        const struct vcon_rig_event reset = {.kind = VCON_RIG_EV_RESET, .device = UART_DEVICE};
        (void)vcon_rig_apply(r->rig, &lines);
        (void)vcon_rig_apply(r->rig, &reset);
        vcon_fuzz_rig_reset_common(r->fr);
    }
    /* What the reset did depends on the last input, not this one. */
    vcon_fuzz_discard_coverage();
    r->fed_len = 0;

    struct vcon_uart_stats base;
    vcon_uart_get_stats(r->uart, &base);
    raises_base = vcon_vm_irq_raises(r->vm, r->irq_line);
    r->last = 0;
    take_snapshot(r, &r->snap[0]);
    vcon_uart_model_start(&r->model, &r->config, &r->snap[0].view);

    for (size_t index = 0; in.left > 0; index++) {
        uint8_t opcode;
        if (!vcon_fuzz_u8(&in, &opcode))
            break;
        const unsigned op = opcode % FZU_OP_COUNT;
        vcon_fuzz_set_op(index, op_names[op]);
        if (!run_op(r, &in, op))
            break;
    }

    /* What the run showed outside: backend output, counts, final state. */
    vcon_fuzz_set_op(0, "(end)");
    size_t out_len;
    const uint8_t *out = vcon_script_output(r->backend, &out_len);
    struct vcon_uart_stats stats;
    struct vcon_uart_state st;
    vcon_uart_get_stats(r->uart, &stats);
    vcon_uart_get_state(r->uart, &st);
    vcon_fuzz_observe(out, out_len);
    vcon_fuzz_observe_u64(vcon_script_pending_input(r->backend));
    vcon_fuzz_observe_u64(vcon_vm_irq_raises(r->vm, r->irq_line) - raises_base);
    vcon_fuzz_observe_u64(stats.rx_bytes - base.rx_bytes);
    vcon_fuzz_observe_u64(stats.tx_bytes - base.tx_bytes);
    vcon_fuzz_observe_u64(stats.overruns - base.overruns);
    vcon_fuzz_observe_u64(stats.input_dropped - base.input_dropped);
    vcon_fuzz_observe_u64(stats.tx_dropped - base.tx_dropped);
    vcon_fuzz_observe_u64(stats.bad_accesses - base.bad_accesses);
    vcon_fuzz_observe_u64(stats.irq_raises - base.irq_raises);
    vcon_fuzz_observe_u64(vcon_vm_now(r->vm));
    const uint8_t regs[] = {st.ier, st.lcr, st.mcr, st.lsr, st.msr, st.scr, st.fcr, st.iir};
    vcon_fuzz_observe(regs, sizeof(regs));
    vcon_fuzz_observe_u64((uint64_t)st.rx_count << 32 | st.tx_count);
    vcon_fuzz_observe_u64(st.input_count);

    if (vcon_fuzz_verbose())
        fprintf(stderr,
                "uart %u: rx %llu tx %llu bytes (backend out %zu, pending %zu), overruns %llu, "
                "dropped in %llu out %llu, raises %llu, lcr %#x fcr %#x ier %#x mcr %#x\n",
                r->combo, (unsigned long long)(stats.rx_bytes - base.rx_bytes),
                (unsigned long long)(stats.tx_bytes - base.tx_bytes), out_len,
                vcon_script_pending_input(r->backend),
                (unsigned long long)(stats.overruns - base.overruns),
                (unsigned long long)(stats.input_dropped - base.input_dropped),
                (unsigned long long)(stats.tx_dropped - base.tx_dropped),
                (unsigned long long)(stats.irq_raises - base.irq_raises), st.lcr, st.fcr, st.ier,
                st.mcr);
    vcon_fuzz_rig_end(r->fr, false);
    return 0;
}
