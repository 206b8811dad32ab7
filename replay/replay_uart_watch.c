/* vcon-replay --check, for each UART of the rig: its bytes followed by the
 * conservation model the uart fuzz target runs (harness/uart_model.h). The
 * replay host notes the bytes it hands a UART and the bytes it takes from
 * it, as the trace answers them; after each step the model gets them with
 * the UART's state. */
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"

/* Bytes that crossed one UART's backend during the current step. */
struct byte_log {
    uint8_t *bytes;
    size_t len, cap;
};

struct replay_uart_watch {
    struct vcon_uart *uart;
    uint16_t io_base;
    unsigned irq_line;
    /* Another device drives the same line: the VM's raises of it are not
     * this UART's alone, so that comparison is left to the device's count. */
    bool line_shared;
    struct vcon_uart_model model;
    struct byte_log taken, sent;
    /* What the current step is to this UART. */
    enum vcon_uart_model_event kind;
    struct vcon_uart_model_access access;
};

static bool log_append(struct byte_log *log, const void *bytes, size_t n)
{
    if (log->len + n > log->cap) {
        size_t cap = log->cap ? log->cap : 256u;
        while (cap < log->len + n)
            cap *= 2u;
        uint8_t *grown = realloc(log->bytes, cap);
        if (grown == NULL)
            return false;
        log->bytes = grown;
        log->cap = cap;
    }
    memcpy(log->bytes + log->len, bytes, n);
    log->len += n;
    return true;
}

static void view_of(const struct replay_uart_watch *w, const struct vcon_vm *vm,
                    struct vcon_uart_model_view *view)
{
    vcon_uart_get_state(w->uart, &view->st);
    vcon_uart_get_stats(w->uart, &view->stats);
    view->raises = w->line_shared ? view->stats.irq_raises : vcon_vm_irq_raises(vm, w->irq_line);
}

static bool line_shared(struct vcon_rig *rig, unsigned index, unsigned line)
{
    struct vcon_rig_device_info info;
    for (unsigned i = 0; i < vcon_rig_nr_devices(rig); i++)
        if (i != index && vcon_rig_device_info(rig, i, &info) == 0 && info.irq_line == line)
            return true;
    return false;
}

void replay_watch_start(struct vcon_replayer *r)
{
    const unsigned n = vcon_rig_nr_devices(r->rig);
    for (unsigned i = 0; i < n && i < VCON_RIG_MAX_DEVICES; i++) {
        struct vcon_uart *uart = vcon_rig_uart(r->rig, i);
        struct vcon_rig_device_info info;
        if (uart == NULL || vcon_rig_device_info(r->rig, i, &info) != 0)
            continue;
        struct replay_uart_watch *w = calloc(1, sizeof(*w));
        if (w == NULL) {
            r->no_memory = true;
            return;
        }
        w->uart = uart;
        w->io_base = info.io_base;
        w->irq_line = info.irq_line;
        w->line_shared = line_shared(r->rig, i, info.irq_line);
        struct vcon_uart_config config;
        struct vcon_uart_model_view now;
        vcon_uart_get_config(uart, &config);
        view_of(w, r->vm, &now);
        vcon_uart_model_start(&w->model, &config, &now);
        r->dev[i].watch = w;
    }
}

void replay_watch_free(struct vcon_replayer *r)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        struct replay_uart_watch *w = r->dev[i].watch;
        if (w == NULL)
            continue;
        free(w->taken.bytes);
        free(w->sent.bytes);
        free(w);
        r->dev[i].watch = NULL;
    }
}

void replay_watch_backend(struct replay_device *d, bool to_device, const void *bytes, size_t n)
{
    struct replay_uart_watch *w = d->watch;
    if (w == NULL || n == 0)
        return;
    if (!log_append(to_device ? &w->taken : &w->sent, bytes, n))
        d->r->no_memory = true;
}

/* What the top-level event `ev` is to the UART `w` of device `index`. */
static void classify(struct replay_uart_watch *w, unsigned index, const struct vcon_trace_event *ev)
{
    w->kind = VCON_UART_MODEL_OTHER;
    switch (ev->kind) {
    case VCON_TRACE_REG_READ:
    case VCON_TRACE_REG_WRITE:
        /* The UART's registers are the eight ports from its base. */
        if (ev->reg.space != VCON_SPACE_PIO || ev->reg.address < w->io_base ||
            ev->reg.address >= (uint64_t)w->io_base + VCON_UART_NR_REGS)
            return;
        w->kind = VCON_UART_MODEL_ACCESS;
        w->access = (struct vcon_uart_model_access){
            .is_write = ev->kind == VCON_TRACE_REG_WRITE,
            .offset = (unsigned)(ev->reg.address - w->io_base),
            .size = ev->reg.size,
            .value = ev->reg.value,
        };
        return;
    case VCON_TRACE_RESET:
        if (ev->device == index)
            w->kind = VCON_UART_MODEL_RESET;
        return;
    case VCON_TRACE_UART_LINE_ERROR:
        if (ev->device == index)
            w->kind = VCON_UART_MODEL_LINE_ERROR;
        return;
    default:
        return;
    }
}

void replay_watch_before(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++)
        if (r->dev[i].watch != NULL)
            classify(r->dev[i].watch, i, ev);
}

bool replay_watch_after(struct vcon_replayer *r, struct vcon_invariant_failure *why)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        struct replay_uart_watch *w = r->dev[i].watch;
        if (w == NULL)
            continue;
        struct vcon_uart_model_view post;
        view_of(w, r->vm, &post);
        w->access.read_value = r->read_value;
        const struct vcon_uart_model_bytes moved = {
            .taken = w->taken.bytes, .taken_len = w->taken.len,
            .sent = w->sent.bytes, .sent_len = w->sent.len};
        const bool held = vcon_uart_model_step(
            &w->model, w->kind, w->kind == VCON_UART_MODEL_ACCESS ? &w->access : NULL, &post,
            &moved, why);
        w->taken.len = 0;
        w->sent.len = 0;
        if (!held)
            return false;
    }
    return true;
}
