/* The recorder's lifecycle and the inputs it sees from outside the devices:
 * guest bus accesses, the fake guest's RAM writes and clock advances (the
 * VM's observer) and host events (the rig's observer). The devices' own
 * calls are recorded by the host in record_host.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder_internal.h"
#include "replay_internal.h"
#include "vcon/virtio_pci.h"

#ifndef VCON_BUILD_ID
#define VCON_BUILD_ID "vcon (unknown revision)"
#endif

const char *vcon_recorder_build_id(void)
{
    return VCON_BUILD_ID;
}

static bool recording(const struct vcon_recorder *rec)
{
    return rec->writer != NULL && rec->error == 0;
}

static void set_message(struct vcon_recorder *rec, const char *what, const char *detail)
{
    snprintf(rec->message, sizeof(rec->message), "%s%s%s", what, detail && *detail ? ": " : "",
             detail ? detail : "");
}

/* The first failure stops the recording: a trace with a hole in it would
 * replay as a divergence far from the cause. A MARK says where it stopped
 * (when the writer still works, as after an event it refused). */
static void stop_recording(struct vcon_recorder *rec, int rc)
{
    char text[300];
    rec->error = rc;
    set_message(rec, "recording stopped", vcon_trace_writer_error(rec->writer));
    snprintf(text, sizeof(text), "%s", rec->message);
    const struct vcon_trace_event mark = {
        .kind = VCON_TRACE_MARK, .device = REPLAY_BUS_DEVICE,
        .payload = (const uint8_t *)text, .payload_len = (uint32_t)strlen(text)};
    (void)vcon_trace_writer_append(rec->writer, vcon_vm_now(rec->vm), &mark);
}

void record_event(struct vcon_recorder *rec, const struct vcon_trace_event *ev)
{
    if (!recording(rec))
        return;
    const int rc = vcon_trace_writer_append(rec->writer, vcon_vm_now(rec->vm), ev);
    if (rc != 0)
        stop_recording(rec, rc);
    else
        rec->events++;
}

void record_memory(struct vcon_recorder *rec, const struct vcon_trace_event *proto,
                   const uint8_t *bytes, uint64_t len)
{
    const uint64_t max = vcon_trace_max_payload(proto->kind);
    uint64_t off = 0;
    do {
        const uint64_t chunk = len - off < max ? len - off : max;
        struct vcon_trace_event ev = *proto;
        ev.mem.gpa = proto->mem.gpa + off;
        if (ev.kind == VCON_TRACE_MEM_READ)
            ev.mem.length = (uint32_t)chunk;
        ev.payload = bytes != NULL ? bytes + off : NULL;
        ev.payload_len = bytes != NULL ? (uint32_t)chunk : 0;
        record_event(rec, &ev);
        off += chunk;
    } while (off < len);
}

/* ---- inputs from outside the devices ------------------------------------ */

/* A guest notifying a virtio queue writes the queue number to QUEUE_NOTIFY
 * in BAR0, wherever it placed BAR0: ask the transport where that is now. */
static void record_kick(struct vcon_recorder *rec, enum vcon_space space, uint64_t addr,
                        uint32_t value)
{
    if (space != VCON_SPACE_PIO)
        return;
    for (unsigned i = 0; i < vcon_rig_nr_devices(rec->rig); i++) {
        struct vcon_console *c = vcon_rig_console(rec->rig, i);
        if (c == NULL)
            continue;
        const uint32_t base = vcon_virtio_pci_bar_base(vcon_console_transport(c), 0);
        if (base == 0 || addr != (uint64_t)base + VCON_VIRTIO_PCI_QUEUE_NOTIFY)
            continue;
        const struct vcon_trace_event ev = {
            .kind = VCON_TRACE_KICK, .device = (uint8_t)i, .kick = {.queue = (uint16_t)value}};
        record_event(rec, &ev);
    }
}

static void on_access(void *arg, enum vcon_space space, uint64_t addr, unsigned size,
                      bool is_write, uint32_t value)
{
    struct vcon_recorder *rec = arg;
    /* An access no trace can hold (a fuzzer's size 3, say) reaches no
     * device: the VM drops it, so leaving it out changes nothing. */
    const bool valid = (unsigned)space <= VCON_SPACE_PCI_CONFIG &&
                       (size == 1 || size == 2 || size == 4);
    rec->skip_read_result = !valid && !is_write;
    if (!valid)
        return;
    const struct vcon_trace_event ev = {
        .kind = is_write ? VCON_TRACE_REG_WRITE : VCON_TRACE_REG_READ,
        .device = REPLAY_BUS_DEVICE,
        .reg = {.space = (uint8_t)space, .size = (uint8_t)size, .address = addr,
                .value = is_write ? value : 0},
    };
    record_event(rec, &ev);
    if (is_write)
        record_kick(rec, space, addr, value);
}

static void on_read_result(void *arg, uint32_t value)
{
    struct vcon_recorder *rec = arg;
    if (rec->skip_read_result) {
        rec->skip_read_result = false;
        return;
    }
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_READ_RESULT, .device = REPLAY_BUS_DEVICE, .read_result = {.value = value}};
    record_event(rec, &ev);
}

static void on_guest_write(void *arg, uint64_t gpa, const void *buf, size_t len)
{
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_GUEST_MEM_WRITE, .device = REPLAY_BUS_DEVICE, .mem = {.gpa = gpa}};
    record_memory(arg, &ev, buf, len);
}

static void on_advance(void *arg, uint64_t ns)
{
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_TIME_STEP, .device = REPLAY_BUS_DEVICE, .time_step = {.ns = ns}};
    record_event(arg, &ev);
}

static struct vcon_trace_event host_event(const struct vcon_rig_event *e)
{
    struct vcon_trace_event ev = {.device = (uint8_t)e->device};
    const uint16_t port = (uint16_t)e->port;
    switch (e->kind) {
    case VCON_RIG_EV_BACKEND_READY:
        ev.kind = VCON_TRACE_BACKEND_EVENT;
        ev.backend_event.port = port;
        ev.backend_event.what = VCON_TRACE_BACKEND_READY;
        break;
    case VCON_RIG_EV_BACKEND_OPEN:
        ev.kind = VCON_TRACE_BACKEND_EVENT;
        ev.backend_event.port = port;
        ev.backend_event.what = e->flag ? VCON_TRACE_BACKEND_CONNECT : VCON_TRACE_BACKEND_DISCONNECT;
        break;
    case VCON_RIG_EV_HOTPLUG:
        ev.kind = VCON_TRACE_HOTPLUG;
        ev.hotplug.port = port;
        ev.hotplug.add = e->flag != 0;
        ev.hotplug.is_console = e->is_console != 0;
        ev.payload = (const uint8_t *)(e->name ? e->name : "");
        ev.payload_len = (uint32_t)strlen((const char *)ev.payload);
        break;
    case VCON_RIG_EV_RESIZE:
        ev.kind = VCON_TRACE_RESIZE;
        ev.resize.port = port;
        ev.resize.cols = e->cols;
        ev.resize.rows = e->rows;
        break;
    case VCON_RIG_EV_RESET:
        ev.kind = VCON_TRACE_RESET;
        break;
    case VCON_RIG_EV_LINE_ERROR:
        ev.kind = VCON_TRACE_UART_LINE_ERROR;
        ev.line_error.byte = e->value;
        ev.line_error.errors = (uint8_t)e->flag;
        break;
    case VCON_RIG_EV_MODEM_LINES:
        ev.kind = VCON_TRACE_MODEM_LINES;
        ev.modem.lines = e->value;
        break;
    }
    return ev;
}

static void on_rig_event(void *arg, const struct vcon_rig_event *e)
{
    const struct vcon_trace_event ev = host_event(e);
    record_event(arg, &ev);
}

/* ---- lifecycle ----------------------------------------------------------- */

int vcon_recorder_create(const struct vcon_recorder_options *options,
                         struct vcon_recorder **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (options == NULL || options->path == NULL || options->path[0] == 0)
        return -EINVAL;
    struct vcon_recorder *rec = calloc(1, sizeof(*rec));
    if (rec == NULL)
        return -ENOMEM;
    rec->path = strdup(options->path);
    if (rec->path == NULL) {
        free(rec);
        return -ENOMEM;
    }
    rec->seed = options->seed;
    /* The recorder's own defaults: zstd's fastest level and a 256-event
     * flush budget about halve the cost of recording against the trace
     * library's defaults (bench/replay_bench), for traces of about the same
     * size; a fatal signal still flushes everything through the crash
     * flush, and a SIGKILL loses at most the last 256 events. */
    rec->writer_options = (struct vcon_trace_writer_options){
        .flush_events = 256, .flush_bytes = 256u << 10, .frame_events = 4096, .level = 1};
    if (options->writer != NULL)
        rec->writer_options = *options->writer;
    rec->crash_flush = options->no_crash_flush == 0;
    rec->hooks = (struct vcon_rig_hooks){.arg = rec, .wrap_host = record_wrap_host};
    *out = rec;
    return 0;
}

int vcon_recorder_from_env(uint64_t seed, struct vcon_recorder **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    const char *path = getenv(VCON_RECORD_ENV);
    if (path == NULL || path[0] == 0)
        return 0;
    const struct vcon_recorder_options options = {.path = path, .seed = seed};
    return vcon_recorder_create(&options, out);
}

const struct vcon_rig_hooks *vcon_recorder_hooks(struct vcon_recorder *rec)
{
    return rec != NULL ? &rec->hooks : NULL;
}

/* Every device of the rig must use this recorder's host, or its calls would
 * be missing from the trace. */
static bool rig_is_wrapped(const struct vcon_recorder *rec, const struct vcon_rig *rig)
{
    const unsigned n = vcon_rig_nr_devices(rig);
    if (n > VCON_RIG_MAX_DEVICES)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (rec->dev[i].rec != rec)
            return false;
    return true;
}

static int open_writer(struct vcon_recorder *rec, struct vcon_rig *rig)
{
    const char *config = vcon_rig_config(rig);
    const char *build = vcon_recorder_build_id();
    const struct vcon_trace_meta meta = {
        .seed = rec->seed,
        .ram_size = vcon_vm_ram_size(vcon_rig_vm(rig)),
        .build_id = build,
        .build_id_len = (uint16_t)strlen(build),
        .config = config,
        .config_len = (uint16_t)strlen(config),
    };
    return vcon_trace_writer_open(rec->path, &meta,
                                  &rec->writer_options,
                                  &rec->writer);
}

int vcon_recorder_start(struct vcon_recorder *rec, struct vcon_rig *rig)
{
    if (rec == NULL)
        return 0;
    if (rig == NULL || rec->rig != NULL || !rig_is_wrapped(rec, rig)) {
        set_message(rec, "start: no rig, started before, or a rig not built with this "
                         "recorder's hooks", NULL);
        return -EINVAL;
    }
    const int rc = open_writer(rec, rig);
    if (rc != 0) {
        char detail[160];
        snprintf(detail, sizeof(detail), "%s", strerror(-rc));
        set_message(rec, rec->path, detail);
        rec->writer = NULL;
        return rc;
    }
    rec->rig = rig;
    rec->vm = vcon_rig_vm(rig);
    rec->events = 1;
    if (rec->crash_flush && vcon_trace_install_crash_flush(rec->writer) == 0)
        rec->crash_flush_installed = true;
    const struct vcon_vm_observer observer = {
        .arg = rec,
        .access = on_access,
        .read_result = on_read_result,
        .guest_write = on_guest_write,
        .advance = on_advance,
    };
    vcon_vm_set_observer(rec->vm, &observer);
    vcon_rig_set_event_observer(rig, on_rig_event, rec);
    return 0;
}

int vcon_recorder_mark(struct vcon_recorder *rec, const char *text)
{
    if (rec == NULL || text == NULL)
        return 0;
    const struct vcon_trace_event ev = {
        .kind = VCON_TRACE_MARK, .device = REPLAY_BUS_DEVICE,
        .payload = (const uint8_t *)text, .payload_len = (uint32_t)strlen(text)};
    record_event(rec, &ev);
    return rec->error;
}

int vcon_recorder_finish(struct vcon_recorder *rec)
{
    if (rec == NULL || rec->writer == NULL)
        return rec != NULL ? rec->error : 0;
    vcon_vm_set_observer(rec->vm, NULL);
    vcon_rig_set_event_observer(rec->rig, NULL, NULL);
    /* Closing unregisters the writer from the crash flush; the handlers go
     * back to what was there before. */
    const int rc = vcon_trace_writer_close(rec->writer);
    rec->writer = NULL;
    if (rec->crash_flush_installed)
        vcon_trace_uninstall_crash_flush();
    rec->crash_flush_installed = false;
    if (rc != 0 && rec->error == 0) {
        rec->error = rc;
        set_message(rec, "closing the trace", strerror(-rc));
    }
    return rec->error;
}

void vcon_recorder_destroy(struct vcon_recorder *rec)
{
    if (rec == NULL)
        return;
    (void)vcon_recorder_finish(rec);
    record_free_timers(rec);
    free(rec->path);
    free(rec);
}

const char *vcon_recorder_error(const struct vcon_recorder *rec)
{
    return rec != NULL ? rec->message : "";
}

uint64_t vcon_recorder_events(const struct vcon_recorder *rec)
{
    return rec != NULL ? rec->events : 0;
}
