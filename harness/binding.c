/* The host interface the VM hands each device: every call a device makes to
 * the outside world lands here and is turned into a VM operation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vm_internal.h"

struct vcon_vm_binding {
    struct vcon_vm *vm;
    struct vcon_vm_binding *next;
    unsigned nr_ports;
    struct vcon_script_backend *ports[VCON_VM_MAX_PORTS];
};

static int host_mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
    const struct vcon_vm_binding *b = ctx;
    return vcon_vm_guest_read(b->vm, gpa, buf, len);
}

static int host_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
    const struct vcon_vm_binding *b = ctx;
    return harness_ram_write(b->vm, gpa, buf, len);
}

static void host_irq_set_level(void *ctx, unsigned line, int level)
{
    const struct vcon_vm_binding *b = ctx;
    harness_irq_set_level(b->vm, line, level);
}

static void host_msi_send(void *ctx, uint64_t address, uint32_t data)
{
    const struct vcon_vm_binding *b = ctx;
    harness_msi_send(b->vm, address, data);
}

static uint64_t host_now_ns(void *ctx)
{
    const struct vcon_vm_binding *b = ctx;
    return b->vm->now;
}

static struct vcon_timer *host_timer_create(void *ctx, vcon_timer_fn *fire, void *device)
{
    const struct vcon_vm_binding *b = ctx;
    return (struct vcon_timer *)harness_timer_create(b->vm, fire, device);
}

static void host_timer_arm(void *ctx, struct vcon_timer *timer, uint64_t deadline_ns)
{
    const struct vcon_vm_binding *b = ctx;
    harness_timer_arm(b->vm, (struct harness_timer *)timer, deadline_ns);
}

static void host_timer_disarm(void *ctx, struct vcon_timer *timer)
{
    const struct vcon_vm_binding *b = ctx;
    harness_timer_disarm(b->vm, (struct harness_timer *)timer);
}

static void host_timer_destroy(void *ctx, struct vcon_timer *timer)
{
    const struct vcon_vm_binding *b = ctx;
    harness_timer_destroy(b->vm, (struct harness_timer *)timer);
}

static void host_log(void *ctx, enum vcon_log_level level, const char *message)
{
    const struct vcon_vm_binding *b = ctx;
    harness_log(b->vm, level, message);
}

/* The port, or NULL after logging why: a port past nr_ports is a device
 * bug, answered as a closed peer so the device takes its error path. */
static struct vcon_script_backend *port_backend(const struct vcon_vm_binding *b, unsigned port,
                                                const char *what)
{
    if (port < b->nr_ports)
        return b->ports[port];
    char message[112];
    snprintf(message, sizeof(message), "harness: %s on port %u of a device with %u ports", what,
             port, b->nr_ports);
    harness_log(b->vm, VCON_LOG_ERROR, message);
    return NULL;
}

static int host_backend_read(void *ctx, unsigned port, void *buf, size_t len)
{
    const struct vcon_vm_binding *b = ctx;
    struct vcon_script_backend *backend = port_backend(b, port, "backend_read");
    if (backend == NULL)
        return VCON_BACKEND_CLOSED;
    return vcon_script_read(backend, buf, len);
}

static int host_backend_write(void *ctx, unsigned port, const void *buf, size_t len)
{
    const struct vcon_vm_binding *b = ctx;
    struct vcon_script_backend *backend = port_backend(b, port, "backend_write");
    if (backend == NULL)
        return VCON_BACKEND_CLOSED;
    return vcon_script_write(backend, buf, len);
}

static void binding_free(struct vcon_vm_binding *b)
{
    for (unsigned i = 0; i < b->nr_ports; i++)
        vcon_script_backend_destroy(b->ports[i]);
    free(b);
}

int vcon_vm_bind_device(struct vcon_vm *vm, unsigned nr_ports, struct vcon_host *host_out,
                        struct vcon_vm_binding **binding_out)
{
    if (binding_out != NULL)
        *binding_out = NULL;
    if (vm == NULL || host_out == NULL || nr_ports > VCON_VM_MAX_PORTS)
        return -EINVAL;

    struct vcon_vm_binding *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    b->vm = vm;
    for (unsigned i = 0; i < nr_ports; i++) {
        b->ports[i] = vcon_script_backend_create();
        if (b->ports[i] == NULL) {
            binding_free(b);
            return -ENOMEM;
        }
        b->nr_ports = i + 1;
    }
    b->next = vm->bindings;
    vm->bindings = b;

    *host_out = (struct vcon_host){
        .ctx = b,
        .mem_read = host_mem_read,
        .mem_write = host_mem_write,
        .irq_set_level = host_irq_set_level,
        .msi_send = host_msi_send,
        .now_ns = host_now_ns,
        .timer_create = host_timer_create,
        .timer_arm = host_timer_arm,
        .timer_disarm = host_timer_disarm,
        .timer_destroy = host_timer_destroy,
        .log = host_log,
        .backend_read = host_backend_read,
        .backend_write = host_backend_write,
    };
    if (binding_out != NULL)
        *binding_out = b;
    return 0;
}

struct vcon_script_backend *vcon_vm_backend(struct vcon_vm_binding *binding, unsigned port)
{
    if (binding == NULL || port >= binding->nr_ports)
        return NULL;
    return binding->ports[port];
}

void harness_bindings_free(struct vcon_vm *vm)
{
    struct vcon_vm_binding *b = vm->bindings;
    while (b != NULL) {
        struct vcon_vm_binding *next = b->next;
        binding_free(b);
        b = next;
    }
    vm->bindings = NULL;
}
