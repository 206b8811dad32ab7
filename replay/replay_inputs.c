/* The replayer's top-level inputs: each event the main loop meets that is
 * not a device call is fed to the rig here, the way the recorded run got it.
 * The devices' calls while it runs are answered by the replay host. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay_internal.h"

/* The value the guest got must be the recorded one, after whatever the
 * device did while answering. */
static void feed_read(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    const uint32_t value = vcon_vm_read(r->vm, (enum vcon_space)ev->reg.space, ev->reg.address,
                                        ev->reg.size);
    r->read_value = value;
    if (replay_stopped(r))
        return;
    const struct vcon_trace_event call = {
        .kind = VCON_TRACE_READ_RESULT, .device = REPLAY_BUS_DEVICE, .read_result = {.value = value}};
    const struct vcon_trace_event *rec = replay_expect(r, &call);
    if (rec == NULL)
        return;
    if (rec->read_result.value != value) {
        replay_diverge(r, "recorded value 0x%" PRIx32 ", the guest's read (event %" PRIu64
                          ") returned 0x%" PRIx32,
                       rec->read_result.value, ev->seq, value);
        return;
    }
    replay_consume(r, NULL);
}

static void apply_backend_event(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    struct vcon_rig_event e = {.device = ev->device, .port = ev->backend_event.port};
    switch (ev->backend_event.what) {
    case VCON_TRACE_BACKEND_READY:
        e.kind = VCON_RIG_EV_BACKEND_READY;
        break;
    case VCON_TRACE_BACKEND_CONNECT:
    case VCON_TRACE_BACKEND_DISCONNECT:
        e.kind = VCON_RIG_EV_BACKEND_OPEN;
        e.flag = ev->backend_event.what == VCON_TRACE_BACKEND_CONNECT;
        break;
    default:
        /* EOF reaches a device as a backend read answering "closed", which
         * the trace has; no host event carries it on its own. */
        return;
    }
    (void)vcon_rig_apply(r->rig, &e);
}

/* The name is copied first: the device may call its host while it adds the
 * port, and that reads the next event over the payload. */
static void apply_hotplug(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    char *name = malloc((size_t)ev->payload_len + 1);
    if (name == NULL) {
        r->no_memory = true;
        return;
    }
    if (ev->payload_len > 0)
        memcpy(name, ev->payload, ev->payload_len);
    name[ev->payload_len] = 0;
    const struct vcon_rig_event e = {
        .kind = VCON_RIG_EV_HOTPLUG,
        .device = ev->device,
        .port = ev->hotplug.port,
        .flag = ev->hotplug.add,
        .is_console = ev->hotplug.is_console,
        .name = name,
    };
    (void)vcon_rig_apply(r->rig, &e);
    free(name);
}

static void apply_host_event(struct vcon_replayer *r, const struct vcon_trace_event *ev)
{
    struct vcon_rig_event e = {.device = ev->device};
    switch (ev->kind) {
    case VCON_TRACE_BACKEND_EVENT:
        apply_backend_event(r, ev);
        return;
    case VCON_TRACE_HOTPLUG:
        apply_hotplug(r, ev);
        return;
    case VCON_TRACE_RESIZE:
        e.kind = VCON_RIG_EV_RESIZE;
        e.port = ev->resize.port;
        e.cols = ev->resize.cols;
        e.rows = ev->resize.rows;
        break;
    case VCON_TRACE_RESET:
        e.kind = VCON_RIG_EV_RESET;
        break;
    case VCON_TRACE_UART_LINE_ERROR:
        e.kind = VCON_RIG_EV_LINE_ERROR;
        e.value = ev->line_error.byte;
        e.flag = ev->line_error.errors;
        break;
    default: /* MODEM_LINES */
        e.kind = VCON_RIG_EV_MODEM_LINES;
        e.value = ev->modem.lines;
        break;
    }
    (void)vcon_rig_apply(r->rig, &e);
}

/* Listed before it is fed, so the events it causes follow it. The payload
 * of a GUEST_MEM_WRITE stays valid: nothing reads the trace in between. */
void replay_feed_input(struct vcon_replayer *r)
{
    const struct vcon_trace_event ev = r->next;
    replay_consume(r, NULL);
    switch (ev.kind) {
    case VCON_TRACE_REG_WRITE:
        vcon_vm_write(r->vm, (enum vcon_space)ev.reg.space, ev.reg.address, ev.reg.size,
                      ev.reg.value);
        break;
    case VCON_TRACE_REG_READ:
        feed_read(r, &ev);
        break;
    case VCON_TRACE_GUEST_MEM_WRITE:
        /* Both modes keep the image: image mode reads it, strict mode checks
         * the recorded DMA reads against it. */
        (void)vcon_vm_guest_write(r->vm, ev.mem.gpa, ev.payload, ev.payload_len);
        r->ram_known = true;
        break;
    case VCON_TRACE_TIME_STEP:
        vcon_vm_advance(r->vm, ev.time_step.ns);
        break;
    default:
        apply_host_event(r, &ev);
        break;
    }
}
