/* A rig: the devices of one run, built from a device-model command line. */
#define _POSIX_C_SOURCE 200809L
#include "harness/rig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/pci_device.h"
#include "vcon/dm_options.h"

#define RIG_CONFIG_MAX 4096u
#define RIG_IO_STRIDE 0x100u
#define RIG_MMIO_STRIDE 0x1000u
#define PCI_COMMAND 0x04u
#define PCI_BAR0 0x10u
#define PCI_BAR1 0x14u
#define PCI_COMMAND_IO_MEMORY_MASTER 0x7u

struct rig_device {
    struct vcon_rig_device_info info;
    struct vcon_vm_binding *binding;
    struct vcon_host host; /* what the device uses: the VM's, or a wrapper */
    struct vcon_uart *uart;
    struct vcon_console *console;
    struct vcon_pci_device *pci;
};

struct vcon_rig {
    char config[RIG_CONFIG_MAX];
    struct vcon_vm *vm;
    unsigned nr_devices;
    struct rig_device device[VCON_RIG_MAX_DEVICES];
    vcon_rig_event_observer *observer;
    void *observer_arg;
};

/* What the command line asks for, in the order it asks. */
struct rig_plan {
    struct vcon_dm_config dm;
    uint64_t hole_gpa, hole_len; /* --ram-hole */
    unsigned nr;
    struct {
        enum vcon_rig_device_kind kind;
        unsigned which; /* com index, or slot index in dm.slots */
        struct vcon_uart_config uart;
        bool no_multiport;
        uint16_t queue_size;
    } item[VCON_RIG_MAX_DEVICES];
};

static int fail(char *err, size_t errlen, const char *what, const char *token)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s%s%s%s", what, token ? " '" : "", token ? token : "",
                 token ? "'" : "");
    return -EINVAL;
}

static int parse_choice(const char *value, const char *const names[], unsigned n, unsigned *out)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_number(const char *text, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    if (*text == 0)
        return -EINVAL;
    for (; *text; text++) {
        if (*text < '0' || *text > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*text - '0');
        if (v > max)
            return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

static int add_item(struct rig_plan *plan, enum vcon_rig_device_kind kind, unsigned which,
                    const struct vcon_uart_config *uart, bool no_multiport, uint16_t queue_size,
                    char *err, size_t errlen)
{
    if (plan->nr >= VCON_RIG_MAX_DEVICES)
        return fail(err, errlen, "too many devices (a rig holds 8)", NULL);
    plan->item[plan->nr].kind = kind;
    plan->item[plan->nr].which = which;
    plan->item[plan->nr].uart = *uart;
    plan->item[plan->nr].no_multiport = no_multiport;
    plan->item[plan->nr].queue_size = queue_size;
    plan->nr++;
    return 0;
}

/* "GPA,LENGTH", each decimal or 0x-prefixed hexadecimal, the length not 0. */
static int parse_range(const char *text, uint64_t *gpa, uint64_t *len)
{
    char *end;
    if (*text < '0' || *text > '9')
        return -EINVAL;
    errno = 0;
    *gpa = strtoull(text, &end, 0);
    if (errno != 0 || *end != ',' || end[1] < '0' || end[1] > '9')
        return -EINVAL;
    *len = strtoull(end + 1, &end, 0);
    if (errno != 0 || *end != 0 || *len == 0)
        return -EINVAL;
    return 0;
}

static int parse_config(char *text, struct rig_plan *plan, char *err, size_t errlen)
{
    static const char *const profiles[] = {"16550a", "acrn-dm"};
    static const char *const flavours[] = {"dm", "hv"};
    static const char *const irq_modes[] = {"level", "edge"};
    struct vcon_uart_config uart = {0};
    bool no_multiport = false;
    uint16_t queue_size = 0;
    char *save = NULL;
    unsigned choice;

    vcon_dm_config_init(&plan->dm);
    plan->nr = 0;
    for (char *tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        const bool takes_value = strcmp(tok, "--console-no-multiport") != 0;
        char *value = takes_value ? strtok_r(NULL, " \t\n", &save) : NULL;
        if (takes_value && value == NULL)
            return fail(err, errlen, "missing value after", tok);
        if (strcmp(tok, "-s") == 0) {
            unsigned before = plan->dm.nr_slots;
            int rc = vcon_dm_parse_slot(&plan->dm, value, err, errlen);
            if (rc)
                return rc;
            if (plan->dm.nr_slots > before &&
                strcmp(plan->dm.slots[before].device, "virtio-console") == 0) {
                rc = add_item(plan, VCON_RIG_CONSOLE, before, &uart, no_multiport, queue_size,
                              err, errlen);
                if (rc)
                    return rc;
            }
        } else if (strcmp(tok, "-l") == 0) {
            bool had[VCON_DM_NR_COM];
            int rc;
            for (unsigned i = 0; i < VCON_DM_NR_COM; i++)
                had[i] = plan->dm.com[i].present;
            rc = vcon_dm_parse_lpc_device(&plan->dm, value, err, errlen);
            if (rc)
                return rc;
            for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
                if (plan->dm.com[i].present && !had[i]) {
                    uart.irq_line = plan->dm.com[i].irq;
                    rc = add_item(plan, VCON_RIG_UART, i, &uart, false, 0, err, errlen);
                    if (rc)
                        return rc;
                }
            }
        } else if (strcmp(tok, "--uart-profile") == 0) {
            if (parse_choice(value, profiles, 2, &choice))
                return fail(err, errlen, "--uart-profile takes 16550a or acrn-dm, not", value);
            uart.profile = (enum vcon_uart_profile)choice;
        } else if (strcmp(tok, "--uart-flavour") == 0) {
            if (parse_choice(value, flavours, 2, &choice))
                return fail(err, errlen, "--uart-flavour takes dm or hv, not", value);
            uart.flavour = (enum vcon_uart_flavour)choice;
        } else if (strcmp(tok, "--uart-irq") == 0) {
            if (parse_choice(value, irq_modes, 2, &choice))
                return fail(err, errlen, "--uart-irq takes level or edge, not", value);
            uart.irq_mode = (enum vcon_uart_irq_mode)choice;
        } else if (strcmp(tok, "--ram-hole") == 0) {
            if (parse_range(value, &plan->hole_gpa, &plan->hole_len))
                return fail(err, errlen, "--ram-hole takes GPA,LENGTH (numbers, 0x for hex), not",
                            value);
        } else if (strcmp(tok, "--console-no-multiport") == 0) {
            no_multiport = true;
        } else if (strcmp(tok, "--console-queue-size") == 0) {
            if (parse_number(value, VCON_VIRTQ_MAX_SIZE, &choice) || choice == 0 ||
                (choice & (choice - 1)))
                return fail(err, errlen,
                            "--console-queue-size takes a power of two up to 1024, not", value);
            queue_size = (uint16_t)choice;
        } else {
            return fail(err, errlen, "unknown option", tok);
        }
    }
    if (plan->nr == 0)
        return fail(err, errlen, "no device: give -l comN,BACKEND or -s SLOT,virtio-console,...",
                    NULL);
    return vcon_dm_config_check(&plan->dm, err, errlen);
}

/* Bus entry points of a UART: the bus offset is the register offset. */
static int uart_bus_read(void *device, uint64_t offset, unsigned size, uint32_t *value)
{
    return vcon_uart_read(device, (unsigned)offset, size, value);
}

static int uart_bus_write(void *device, uint64_t offset, unsigned size, uint32_t value)
{
    return vcon_uart_write(device, (unsigned)offset, size, value);
}

static const struct vcon_bus_ops uart_bus_ops = {.read = uart_bus_read, .write = uart_bus_write};

static int bind(struct vcon_rig *rig, unsigned index, unsigned nr_ports,
                const struct vcon_rig_hooks *hooks)
{
    struct rig_device *d = &rig->device[index];
    struct vcon_host inner;
    int rc = vcon_vm_bind_device(rig->vm, nr_ports, &inner, &d->binding);
    if (rc)
        return rc;
    if (hooks != NULL && hooks->wrap_host != NULL)
        hooks->wrap_host(hooks->arg, index, &inner, &d->host);
    else
        d->host = inner;
    d->info.nr_ports = nr_ports;
    return 0;
}

static int create_uart(struct vcon_rig *rig, unsigned index, const struct rig_plan *plan,
                       unsigned item, const struct vcon_rig_hooks *hooks)
{
    struct rig_device *d = &rig->device[index];
    const struct vcon_com_spec *com = &plan->dm.com[plan->item[item].which];
    int rc = bind(rig, index, 1, hooks);
    if (rc)
        return rc;
    d->info.kind = VCON_RIG_UART;
    d->info.io_base = com->io_base;
    d->info.irq_line = com->irq;
    rc = vcon_uart_create(&plan->item[item].uart, &d->host, &d->uart);
    if (rc)
        return rc;
    return vcon_vm_map(rig->vm, VCON_SPACE_PIO, com->io_base, VCON_UART_NR_REGS, &uart_bus_ops,
                       d->uart);
}

/* What firmware does before the guest runs: place the BARs and turn on
 * decoding, so that a fuzzer can reach BAR0 without a PCI driver. */
static void place_bars(struct vcon_rig *rig, const struct rig_device *d)
{
    const struct vcon_rig_device_info *i = &d->info;
    vcon_vm_write(rig->vm, VCON_SPACE_PCI_CONFIG,
                  VCON_PCI_CONFIG_ADDR(i->pci_bus, i->pci_slot, i->pci_func, PCI_BAR0), 4,
                  i->io_base);
    vcon_vm_write(rig->vm, VCON_SPACE_PCI_CONFIG,
                  VCON_PCI_CONFIG_ADDR(i->pci_bus, i->pci_slot, i->pci_func, PCI_BAR1), 4,
                  i->mmio_base);
    vcon_vm_write(rig->vm, VCON_SPACE_PCI_CONFIG,
                  VCON_PCI_CONFIG_ADDR(i->pci_bus, i->pci_slot, i->pci_func, PCI_COMMAND), 2,
                  PCI_COMMAND_IO_MEMORY_MASTER);
}

static int create_console(struct vcon_rig *rig, unsigned index, unsigned nth_console,
                          const struct rig_plan *plan, unsigned item,
                          const struct vcon_rig_hooks *hooks, char *err, size_t errlen)
{
    struct rig_device *d = &rig->device[index];
    const struct vcon_pci_slot_spec *slot = &plan->dm.slots[plan->item[item].which];
    struct vcon_backend_spec backends[VCON_CONSOLE_MAX_PORTS];
    struct vcon_console_config config;
    int rc = vcon_console_parse_options(slot->options, &config, backends, err, errlen);
    if (rc)
        return rc;
    config.no_multiport = plan->item[item].no_multiport;
    if (plan->item[item].queue_size)
        config.queue_size = plan->item[item].queue_size;
    config.intx_line = VCON_RIG_FIRST_PCI_LINE + nth_console;
    rc = bind(rig, index, config.max_ports, hooks);
    if (rc)
        return rc;
    d->info.kind = VCON_RIG_CONSOLE;
    d->info.irq_line = config.intx_line;
    d->info.pci_bus = slot->bus;
    d->info.pci_slot = slot->slot;
    d->info.pci_func = slot->func;
    d->info.io_base = (uint16_t)(VCON_RIG_IO_BASE + RIG_IO_STRIDE * nth_console);
    d->info.mmio_base = VCON_RIG_MMIO_BASE + RIG_MMIO_STRIDE * nth_console;
    rc = vcon_console_create(&config, &d->host, &d->console);
    if (rc)
        return fail(err, errlen, "virtio-console refused its configuration:", slot->options);
    rc = vcon_pci_device_attach(rig->vm, vcon_console_transport(d->console), slot->bus,
                                slot->slot, slot->func, &d->pci);
    if (rc)
        return rc;
    place_bars(rig, d);
    return 0;
}

int vcon_rig_create(const char *config, size_t ram_size, const struct vcon_rig_hooks *hooks,
                    struct vcon_rig **out, char *err, size_t errlen)
{
    char text[RIG_CONFIG_MAX];
    struct rig_plan *plan;
    struct vcon_rig *rig;
    unsigned consoles = 0;
    int rc;

    *out = NULL;
    if (config == NULL || strlen(config) >= RIG_CONFIG_MAX)
        return fail(err, errlen, "configuration missing or longer than 4095 bytes", NULL);
    plan = calloc(1, sizeof(*plan));
    rig = calloc(1, sizeof(*rig));
    if (plan == NULL || rig == NULL) {
        free(plan);
        free(rig);
        return -ENOMEM;
    }
    strcpy(text, config);
    strcpy(rig->config, config);
    rc = parse_config(text, plan, err, errlen);
    if (rc == 0)
        rc = vcon_vm_create(ram_size ? ram_size : VCON_RIG_DEFAULT_RAM, &rig->vm);
    if (rc == 0 && plan->hole_len != 0 &&
        vcon_vm_set_ram_hole(rig->vm, plan->hole_gpa, plan->hole_len) != 0)
        rc = fail(err, errlen, "--ram-hole: the range is not inside guest RAM", NULL);
    for (unsigned i = 0; rc == 0 && i < plan->nr; i++) {
        rig->nr_devices = i + 1;
        if (plan->item[i].kind == VCON_RIG_UART)
            rc = create_uart(rig, i, plan, i, hooks);
        else
            rc = create_console(rig, i, consoles++, plan, i, hooks, err, errlen);
        if (rc == -ENOMEM || rc == -EBUSY)
            fail(err, errlen, rc == -EBUSY ? "two devices on the same address" : "out of memory",
                 NULL);
    }
    free(plan);
    if (rc) {
        vcon_rig_destroy(rig);
        return rc;
    }
    if (err != NULL && errlen > 0)
        err[0] = 0;
    *out = rig;
    return 0;
}

void vcon_rig_destroy(struct vcon_rig *rig)
{
    if (rig == NULL)
        return;
    /* Devices first: their timers live in the VM. */
    for (unsigned i = 0; i < rig->nr_devices; i++) {
        struct rig_device *d = &rig->device[i];
        vcon_pci_device_detach(d->pci);
        vcon_console_destroy(d->console);
        vcon_uart_destroy(d->uart);
    }
    vcon_vm_destroy(rig->vm);
    free(rig);
}

const char *vcon_rig_config(const struct vcon_rig *rig)
{
    return rig->config;
}

struct vcon_vm *vcon_rig_vm(struct vcon_rig *rig)
{
    return rig->vm;
}

unsigned vcon_rig_nr_devices(const struct vcon_rig *rig)
{
    return rig->nr_devices;
}

int vcon_rig_device_info(const struct vcon_rig *rig, unsigned index,
                         struct vcon_rig_device_info *out)
{
    if (index >= rig->nr_devices)
        return -EINVAL;
    *out = rig->device[index].info;
    return 0;
}

struct vcon_uart *vcon_rig_uart(struct vcon_rig *rig, unsigned index)
{
    return index < rig->nr_devices ? rig->device[index].uart : NULL;
}

struct vcon_console *vcon_rig_console(struct vcon_rig *rig, unsigned index)
{
    return index < rig->nr_devices ? rig->device[index].console : NULL;
}

struct vcon_script_backend *vcon_rig_backend(struct vcon_rig *rig, unsigned index,
                                             unsigned port)
{
    if (index >= rig->nr_devices || port >= rig->device[index].info.nr_ports)
        return NULL;
    return vcon_vm_backend(rig->device[index].binding, port);
}

void vcon_rig_set_event_observer(struct vcon_rig *rig, vcon_rig_event_observer *fn, void *arg)
{
    rig->observer = fn;
    rig->observer_arg = arg;
}

static int apply_uart(struct vcon_uart *uart, const struct vcon_rig_event *ev)
{
    switch (ev->kind) {
    case VCON_RIG_EV_BACKEND_READY:
        vcon_uart_backend_ready(uart);
        return 0;
    case VCON_RIG_EV_RESET:
        vcon_uart_reset(uart);
        return 0;
    case VCON_RIG_EV_LINE_ERROR:
        return vcon_uart_receive_with_error(uart, ev->value, (uint8_t)ev->flag);
    case VCON_RIG_EV_MODEM_LINES:
        vcon_uart_set_modem_lines(uart, ev->value);
        return 0;
    default:
        return -ENOTSUP;
    }
}

static int apply_console(struct vcon_console *c, const struct vcon_rig_event *ev)
{
    switch (ev->kind) {
    case VCON_RIG_EV_BACKEND_READY:
        vcon_console_backend_ready(c, ev->port);
        return 0;
    case VCON_RIG_EV_BACKEND_OPEN:
        vcon_console_backend_open(c, ev->port, ev->flag != 0);
        return 0;
    case VCON_RIG_EV_HOTPLUG:
        if (ev->flag)
            return vcon_console_port_add(c, ev->port, ev->name ? ev->name : "",
                                         ev->is_console != 0);
        return vcon_console_port_remove(c, ev->port);
    case VCON_RIG_EV_RESIZE:
        return vcon_console_resize(c, ev->port, ev->cols, ev->rows);
    default:
        return -ENOTSUP;
    }
}

int vcon_rig_apply(struct vcon_rig *rig, const struct vcon_rig_event *ev)
{
    struct rig_device *d;
    if (ev->device >= rig->nr_devices || ev->port >= rig->device[ev->device].info.nr_ports)
        return -EINVAL;
    d = &rig->device[ev->device];
    if (rig->observer != NULL)
        rig->observer(rig->observer_arg, ev);
    return d->uart ? apply_uart(d->uart, ev) : apply_console(d->console, ev);
}

int vcon_rig_backend_ready(struct vcon_rig *rig, unsigned device, unsigned port)
{
    const struct vcon_rig_event ev = {
        .kind = VCON_RIG_EV_BACKEND_READY, .device = device, .port = port};
    return vcon_rig_apply(rig, &ev);
}

int vcon_rig_feed(struct vcon_rig *rig, unsigned device, unsigned port, const void *bytes,
                  size_t len)
{
    struct vcon_script_backend *b = vcon_rig_backend(rig, device, port);
    int rc;
    if (b == NULL)
        return -EINVAL;
    rc = vcon_script_input(b, bytes, len);
    if (rc)
        return rc;
    return vcon_rig_backend_ready(rig, device, port);
}
