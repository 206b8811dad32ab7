/* A rig: the devices of one run, configured from a command line in the
 * device model's own syntax, placed in a fake VM. Everything that drives a
 * run (tests, the demo, fuzzers, the recorder and the replayer) goes through
 * a rig, so that every input that reaches a device passes one place where it
 * can be recorded, and a trace's configuration string rebuilds the same rig.
 *
 * Configuration (tokens separated by blanks; a trace's META carries it):
 *   -s 1:0,lpc                            the LPC bridge
 *   -l com1,stdio                         a 16550 at com1's port and IRQ
 *   -s 3,virtio-console,@stdio:p0,pty:p1  a virtio-console on bus 0 slot 3
 *   --uart-profile 16550a|acrn-dm         for every following -l (default 16550a)
 *   --uart-flavour dm|hv
 *   --uart-irq level|edge
 *   --console-no-multiport                for every following virtio-console
 *   --console-queue-size N
 *   --ram-hole GPA,LENGTH                 guest-physical range that is not RAM
 *                                         (harness/vm.h, vcon_vm_set_ram_hole)
 * Backends named in the options are not opened: every port of a rig has a
 * scripted backend (harness/script_backend.h). */
#ifndef HARNESS_RIG_H
#define HARNESS_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/script_backend.h"
#include "harness/vm.h"
#include "vcon/console.h"
#include "vcon/uart.h"

#define VCON_RIG_MAX_DEVICES 8u
#define VCON_RIG_DEFAULT_RAM (16u << 20)
/* Where the rig's firmware places virtio BARs, one 0x100 / 0x1000 apart. */
#define VCON_RIG_IO_BASE 0xC000u
#define VCON_RIG_MMIO_BASE 0xFE000000u
/* INTx lines given to virtio-consoles, in order. */
#define VCON_RIG_FIRST_PCI_LINE 16u

enum vcon_rig_device_kind {
    VCON_RIG_UART = 0,
    VCON_RIG_CONSOLE = 1,
};

struct vcon_rig_device_info {
    enum vcon_rig_device_kind kind;
    unsigned nr_ports;
    /* UART: io_base and irq_line. Console: PCI bus/slot/func, irq_line
     * (INTx), io_base/mmio_base where the rig's firmware placed the BARs. */
    uint16_t io_base;
    uint32_t mmio_base;
    unsigned irq_line;
    uint8_t pci_bus, pci_slot, pci_func;
};

/* Interposition point for the recorder and the replayer (optional). Guest
 * accesses are seen through the VM's observer (vcon_vm_set_observer). */
struct vcon_rig_hooks {
    void *arg;
    /* Replace the host a device will use: `inner` is the VM's host for
     * device `index`; fill `*out` (copy `*inner` to pass through). */
    void (*wrap_host)(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out);
};

struct vcon_rig;

/* Returns 0, or -EINVAL with a one-line reason in err, -ENOMEM. */
int vcon_rig_create(const char *config, size_t ram_size, const struct vcon_rig_hooks *hooks,
                    struct vcon_rig **out, char *err, size_t errlen);
void vcon_rig_destroy(struct vcon_rig *rig);

const char *vcon_rig_config(const struct vcon_rig *rig);
struct vcon_vm *vcon_rig_vm(struct vcon_rig *rig);
unsigned vcon_rig_nr_devices(const struct vcon_rig *rig);
int vcon_rig_device_info(const struct vcon_rig *rig, unsigned index,
                         struct vcon_rig_device_info *out);
/* NULL when `index` is not of that kind. */
struct vcon_uart *vcon_rig_uart(struct vcon_rig *rig, unsigned index);
struct vcon_console *vcon_rig_console(struct vcon_rig *rig, unsigned index);
struct vcon_script_backend *vcon_rig_backend(struct vcon_rig *rig, unsigned index,
                                             unsigned port);

/* Host events, each routed to the device and seen by the rig's observer
 * (vcon_rig_set_event_observer) so that a recorder can write it down. */
enum vcon_rig_event_kind {
    VCON_RIG_EV_BACKEND_READY,   /* port */
    VCON_RIG_EV_BACKEND_OPEN,    /* port, flag = connected */
    VCON_RIG_EV_HOTPLUG,         /* port, flag = add, is_console, name */
    VCON_RIG_EV_RESIZE,          /* port, cols, rows */
    VCON_RIG_EV_RESET,           /* a host-initiated device reset */
    VCON_RIG_EV_LINE_ERROR,      /* UART: port 0, value = byte, flag = LSR error bits */
    VCON_RIG_EV_MODEM_LINES,     /* UART: value = MSR lines */
};
struct vcon_rig_event {
    enum vcon_rig_event_kind kind;
    unsigned device, port;
    unsigned flag, is_console;
    uint16_t cols, rows;
    uint8_t value;
    const char *name;
};
/* Apply a host event. Returns the device's answer (0 or negative errno),
 * -EINVAL for a device or port the rig does not have. */
int vcon_rig_apply(struct vcon_rig *rig, const struct vcon_rig_event *ev);
/* Sees each applied event before the device does, so that what the device
 * does in answer comes after it in a recording. */
typedef void vcon_rig_event_observer(void *arg, const struct vcon_rig_event *ev);
void vcon_rig_set_event_observer(struct vcon_rig *rig, vcon_rig_event_observer *fn, void *arg);

/* Convenience wrappers around vcon_rig_apply. */
int vcon_rig_backend_ready(struct vcon_rig *rig, unsigned device, unsigned port);
int vcon_rig_feed(struct vcon_rig *rig, unsigned device, unsigned port, const void *bytes,
                  size_t len); /* queue on the scripted backend, then backend_ready */

#endif
