/* vcon-replay --check: each device's bytes followed by the model its fuzz
 * targets run, a UART by harness/uart_model.h, a virtio-console by
 * harness/console_model.h. The replay host tells a device's watch what the
 * device read and wrote in guest memory and what its backends handed it and
 * took, as the trace answers them; after each step the models check the
 * step as a whole. A console model's check that fails inside a device call
 * is kept and reported after the step. */
#include <stdlib.h>
#include <string.h>

#include "harness/console_model.h"
#include "harness/console_rings.h"
#include "harness/uart_model.h"
#include "replay_internal.h"

/* Bytes that crossed one UART's backend during the current step. */
struct byte_log {
    uint8_t *bytes;
    size_t len, cap;
};

struct replay_watch {
    struct vcon_uart *uart;       /* one of these two */
    struct vcon_console *console;
    /* The first check that failed inside a device call this step. */
    bool failed;
    struct vcon_invariant_failure failure;

    /* UART. */
    uint16_t io_base;
    unsigned irq_line;
    /* Another device drives the same line: the VM's raises of it are not
     * this UART's alone, so that comparison is left to the device's count. */
    bool line_shared;
    struct vcon_uart_model uart_model;
    struct byte_log taken, sent;
    enum vcon_uart_model_event kind; /* what the current step is to the UART */
    struct vcon_uart_model_access access;

    /* Console. */
    struct vcon_console_model console_model;
    /* Image mode: where the device may write, from the rebuilt RAM (a
     * strict replay has no guest RAM to judge from). */
    struct vcon_console_rings *rings;
    uint64_t backend_taken, backend_written; /* bytes, all ports */
    size_t msis; /* MSI messages this device sent */
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

static void uart_view(const struct replay_watch *w, const struct vcon_vm *vm,
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

static void start_uart(struct vcon_replayer *r, unsigned index, struct replay_watch *w,
                       const struct vcon_rig_device_info *info)
{
    struct vcon_uart_config config;
    struct vcon_uart_model_view now;
    w->io_base = info->io_base;
    w->irq_line = info->irq_line;
    w->line_shared = line_shared(r->rig, index, info->irq_line);
    vcon_uart_get_config(w->uart, &config);
    uart_view(w, r->vm, &now);
    vcon_uart_model_start(&w->uart_model, &config, &now);
}

void replay_watch_start(struct vcon_replayer *r)
{
    const unsigned n = vcon_rig_nr_devices(r->rig);
    for (unsigned i = 0; i < n && i < VCON_RIG_MAX_DEVICES; i++) {
        struct vcon_rig_device_info info;
        struct vcon_uart *uart = vcon_rig_uart(r->rig, i);
        struct vcon_console *console = vcon_rig_console(r->rig, i);
        if ((uart == NULL && console == NULL) || vcon_rig_device_info(r->rig, i, &info) != 0)
            continue;
        struct replay_watch *w = calloc(1, sizeof(*w));
        if (w == NULL) {
            r->no_memory = true;
            return;
        }
        w->uart = uart;
        w->console = console;
        r->dev[i].watch = w;
        if (uart != NULL) {
            start_uart(r, i, w, &info);
            continue;
        }
        vcon_console_model_start(&w->console_model, console, 0, 0, 0);
        if (r->mode != VCON_REPLAY_IMAGE)
            continue;
        w->rings = malloc(sizeof(*w->rings));
        if (w->rings == NULL) {
            r->no_memory = true;
            return;
        }
        vcon_console_rings_init(w->rings, r->vm, vcon_console_transport(console));
    }
}

void replay_watch_free(struct vcon_replayer *r)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        struct replay_watch *w = r->dev[i].watch;
        if (w == NULL)
            continue;
        free(w->rings);
        free(w->taken.bytes);
        free(w->sent.bytes);
        free(w);
        r->dev[i].watch = NULL;
    }
}

/* ---- what the replay host tells a watch --------------------------------- */

static void keep_failure(struct replay_watch *w, bool held,
                         const struct vcon_invariant_failure *why)
{
    if (!held && !w->failed) {
        w->failed = true;
        w->failure = *why;
    }
}

void replay_watch_mem_read(struct replay_device *d, const void *bytes, size_t len)
{
    struct replay_watch *w = d->watch;
    if (w != NULL && w->console != NULL)
        vcon_console_model_mem_read(&w->console_model, bytes, len);
}

void replay_watch_mem_write(struct replay_device *d, uint64_t gpa, const void *bytes, size_t len)
{
    struct replay_watch *w = d->watch;
    struct vcon_invariant_failure why;
    if (w == NULL || w->console == NULL)
        return;
    keep_failure(w, vcon_console_model_mem_write(&w->console_model, bytes, len, &why), &why);
    if (w->rings == NULL)
        return;
    keep_failure(w, vcon_console_rings_device_write(w->rings, gpa, bytes, len, &why), &why);
    /* The other consoles' rings may lie under it too. */
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        const struct replay_watch *other = d->r->dev[i].watch;
        if (other != NULL && other != w && other->rings != NULL)
            vcon_console_rings_foreign_write(other->rings, gpa, len);
    }
}

void replay_watch_msi(struct replay_device *d)
{
    if (d->watch != NULL)
        d->watch->msis++;
}

void replay_watch_mem_write_failed(struct replay_device *d)
{
    struct replay_watch *w = d->watch;
    if (w != NULL && w->console != NULL)
        vcon_console_model_mem_write_failed(&w->console_model);
}

void replay_watch_backend_read(struct replay_device *d, const void *bytes, size_t n)
{
    struct replay_watch *w = d->watch;
    struct vcon_invariant_failure why;
    if (w == NULL || n == 0)
        return;
    if (w->uart != NULL) {
        if (!log_append(&w->taken, bytes, n))
            d->r->no_memory = true;
        return;
    }
    w->backend_taken += n;
    keep_failure(w, vcon_console_model_backend_read(&w->console_model, bytes, n, &why), &why);
}

void replay_watch_backend_write(struct replay_device *d, unsigned port, const void *bytes,
                                size_t offered, int result)
{
    struct replay_watch *w = d->watch;
    struct vcon_invariant_failure why;
    const size_t took = result > 0 ? (size_t)result : 0u;
    if (w == NULL)
        return;
    if (w->uart != NULL) {
        if (took > 0 && !log_append(&w->sent, bytes, took))
            d->r->no_memory = true;
        return;
    }
    keep_failure(w, vcon_console_model_backend_write(&w->console_model, port, bytes, offered, &why),
                 &why);
    w->backend_written += took;
}

/* ---- steps ------------------------------------------------------------- */

/* What the top-level event `ev` is to the UART `w` of device `index`. */
static void classify_for_uart(struct replay_watch *w, unsigned index,
                              const struct vcon_trace_event *ev)
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

/* A guest write to the console's emergency-write register, where BAR0 is
 * now (the device-specific registers start later with MSI-X on). */
static void classify_for_console(struct replay_watch *w, const struct vcon_trace_event *ev)
{
    const struct vcon_virtio_pci *t = vcon_console_transport(w->console);
    const uint32_t base = vcon_virtio_pci_bar_base(t, 0);
    const unsigned regs = vcon_virtio_pci_msix_enabled(t) ? VCON_VIRTIO_PCI_CONFIG_MSIX
                                                           : VCON_VIRTIO_PCI_CONFIG_NO_MSIX;
    w->console_model.emerg = ev->kind == VCON_TRACE_REG_WRITE && ev->reg.space == VCON_SPACE_PIO &&
                             base != 0 &&
                             ev->reg.address == (uint64_t)base + regs + VCON_CONSOLE_CFG_EMERG_WR;
    w->console_model.emerg_value = (uint8_t)ev->reg.value;
}

void replay_watch_before(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        struct replay_watch *w = r->dev[i].watch;
        if (w == NULL)
            continue;
        if (w->uart != NULL) {
            classify_for_uart(w, i, ev);
            continue;
        }
        classify_for_console(w, ev);
        if (w->rings != NULL)
            vcon_console_rings_step(w->rings);
    }
}

static bool uart_after(struct vcon_replayer *r, struct replay_watch *w,
                       struct vcon_invariant_failure *why)
{
    struct vcon_uart_model_view post;
    uart_view(w, r->vm, &post);
    w->access.read_value = r->read_value;
    const struct vcon_uart_model_bytes moved = {
        .taken = w->taken.bytes, .taken_len = w->taken.len,
        .sent = w->sent.bytes, .sent_len = w->sent.len};
    const struct vcon_uart_model_access *access =
        w->kind == VCON_UART_MODEL_ACCESS ? &w->access : NULL;
    const bool held = vcon_uart_model_step(&w->uart_model, w->kind, access, &post, &moved, why);
    w->taken.len = 0;
    w->sent.len = 0;
    return held;
}

bool replay_watch_failure(const struct vcon_replayer *r, struct vcon_invariant_failure *why)
{
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        const struct replay_watch *w = r->dev[i].watch;
        if (w != NULL && w->failed) {
            *why = w->failure;
            return true;
        }
    }
    return false;
}

bool replay_watch_after(struct vcon_replayer *r, struct vcon_invariant_failure *why)
{
    if (replay_watch_failure(r, why))
        return false;
    for (unsigned i = 0; i < VCON_RIG_MAX_DEVICES; i++) {
        struct replay_watch *w = r->dev[i].watch;
        if (w == NULL)
            continue;
        const bool held = w->uart != NULL
                              ? uart_after(r, w, why)
                              : vcon_console_model_after(&w->console_model, w->console, w->msis,
                                                         w->backend_taken, w->backend_written, why);
        if (!held)
            return false;
    }
    return true;
}
