/* An example adapter: the glue a device model writes to host vcon's devices
 * on real backends. It is shaped like ACRN's device model:
 *
 *   - the virtio-console is a PCI device with the callbacks of ACRN's
 *     struct pci_vdev_ops: init from the option text of `-s N,virtio-console,
 *     OPTIONS`, BAR read / write, configuration read / write, deinit;
 *   - the COM port is ACRN's uart_core: init with interrupt assert / deassert
 *     callbacks and the backend text of `-l comN,BACKEND`, read / write of a
 *     register;
 *   - both give their descriptors to the device model's event loop (ACRN's
 *     mevent) and take back what poll() saw.
 *
 * docs/embedding.md walks through it. Copy it, rename it, and replace struct
 * dm_vm with your device model's VM context. */
#ifndef DM_VCON_H
#define DM_VCON_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

/* What the device model gives the adapter: guest memory, interrupt
 * injection and a clock (ACRN: struct vmctx with vm_map_gpa,
 * vm_set_gsi_irq, vm_lapic_msi_raw and the host's monotonic clock). */
struct dm_vm {
    uint8_t *ram;       /* guest physical addresses 0 .. ram_size - 1 */
    uint64_t ram_size;
    void (*set_irq)(void *arg, unsigned gsi, int level);
    void (*send_msi)(void *arg, uint64_t address, uint32_t data);
    uint64_t (*now_ns)(void *arg); /* never goes backwards */
    void *arg;
};

/* ---- the event-loop side, common to both devices ---- */

struct dm_vcon_io;

/* The descriptors to poll now and their events; ask again before every
 * poll(). Returns how many were written (at most max). */
unsigned dm_vcon_io_poll_fds(struct dm_vcon_io *io, struct pollfd *fds, unsigned max);
/* What poll() returned for the descriptors the last dm_vcon_io_poll_fds
 * gave (the same array, the same order). */
void dm_vcon_io_dispatch(struct dm_vcon_io *io, const struct pollfd *fds, unsigned n);
/* Work without a descriptor: due device timers, socket clients looking for
 * their server, output held for a slow peer. Call it after every poll().
 * Returns the clock time of the next thing to do, or UINT64_MAX. */
uint64_t dm_vcon_io_tick(struct dm_vcon_io *io);

/* ---- virtio-console: a PCI device ---- */

struct dm_vcon_console;

/* `opts` is what follows "virtio-console," (e.g. "@stdio:p0,socket:p1=/run/
 * vm1.sock:server"); `intx_gsi` the line the PCI core routed INTA to.
 * Returns 0 or a negative errno with a one-line reason in err. */
int dm_vcon_console_init(struct dm_vm *vm, unsigned intx_gsi, const char *opts,
                         struct dm_vcon_console **out, char *err, size_t errlen);
void dm_vcon_console_deinit(struct dm_vcon_console *c);
struct dm_vcon_io *dm_vcon_console_io(struct dm_vcon_console *c);

/* Guest accesses, as the PCI core hands them over. */
uint64_t dm_vcon_console_barread(struct dm_vcon_console *c, int baridx, uint64_t offset,
                                 int size);
void dm_vcon_console_barwrite(struct dm_vcon_console *c, int baridx, uint64_t offset, int size,
                              uint64_t value);
int dm_vcon_console_cfgread(struct dm_vcon_console *c, int offset, int bytes, uint32_t *value);
int dm_vcon_console_cfgwrite(struct dm_vcon_console *c, int offset, int bytes, uint32_t value);

/* ---- 16550 COM port ---- */

typedef void dm_uart_intr_fn(void *arg);
struct dm_vcon_uart;

/* `backend` is what follows "comN," (stdio, a tty path, tcp:PORT,
 * tcp:ADDR:PORT). The callbacks raise and lower the COM port's IRQ. */
int dm_vcon_uart_init(struct dm_vm *vm, dm_uart_intr_fn *intr_assert,
                      dm_uart_intr_fn *intr_deassert, void *arg, const char *backend,
                      struct dm_vcon_uart **out, char *err, size_t errlen);
void dm_vcon_uart_deinit(struct dm_vcon_uart *u);
struct dm_vcon_io *dm_vcon_uart_io(struct dm_vcon_uart *u);

uint8_t dm_vcon_uart_read(struct dm_vcon_uart *u, int offset);
void dm_vcon_uart_write(struct dm_vcon_uart *u, int offset, uint8_t value);

#endif
