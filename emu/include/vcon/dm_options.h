/* The device model's command-line syntax for the devices vcon provides:
 *   -s SLOT[:FUNC],lpc                 the LPC bridge the COM ports hang off
 *   -s SLOT[:FUNC],virtio-console,...  a virtio-console (options kept as text)
 *   -l comN,BACKEND                    a 16550 COM port on the LPC bridge
 * BACKEND for a COM port: stdio | a tty path | tcp:PORT | tcp:ADDRESS:PORT.
 * Parsers never abort: they return 0 or -EINVAL and write a one-line reason
 * into `err`. */
#ifndef VCON_DM_OPTIONS_H
#define VCON_DM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VCON_PATH_MAX 256u
#define VCON_ADDRESS_MAX 64u
#define VCON_DM_OPTIONS_MAX 1024u
#define VCON_DM_MAX_SLOTS 32u
#define VCON_DM_NR_COM 5u

enum vcon_backend_kind {
    VCON_BACKEND_KIND_STDIO,
    VCON_BACKEND_KIND_TTY,
    VCON_BACKEND_KIND_PTY,
    VCON_BACKEND_KIND_FILE,
    VCON_BACKEND_KIND_SOCKET_SERVER,
    VCON_BACKEND_KIND_SOCKET_CLIENT,
    VCON_BACKEND_KIND_TCP,
};

struct vcon_backend_spec {
    enum vcon_backend_kind kind;
    char path[VCON_PATH_MAX];       /* tty, file, socket */
    char address[VCON_ADDRESS_MAX]; /* tcp: "127.0.0.1" unless given */
    uint16_t tcp_port;
};

struct vcon_com_spec {
    bool present;
    uint16_t io_base;
    uint8_t irq;
    struct vcon_backend_spec backend;
};

struct vcon_pci_slot_spec {
    uint8_t bus, slot, func;
    char device[32];                   /* "lpc", "virtio-console" */
    char options[VCON_DM_OPTIONS_MAX]; /* everything after the device name */
};

struct vcon_dm_config {
    bool has_lpc;
    unsigned lpc_index; /* into slots[] */
    struct vcon_com_spec com[VCON_DM_NR_COM]; /* com1 .. com5 */
    unsigned nr_slots;
    struct vcon_pci_slot_spec slots[VCON_DM_MAX_SLOTS];
};

/* The standard base port and IRQ of comN (index 0 .. 4). */
int vcon_dm_com_resources(unsigned index, uint16_t *io_base, uint8_t *irq);

void vcon_dm_config_init(struct vcon_dm_config *config);
/* One -s argument. Known devices: lpc, virtio-console. */
int vcon_dm_parse_slot(struct vcon_dm_config *config, const char *arg, char *err, size_t errlen);
/* One -l argument. */
int vcon_dm_parse_lpc_device(struct vcon_dm_config *config, const char *arg, char *err,
                             size_t errlen);
/* After all arguments: cross-checks (a COM port needs the LPC bridge). */
int vcon_dm_config_check(const struct vcon_dm_config *config, char *err, size_t errlen);

/* A COM port backend alone: stdio | /path/to/tty | tcp:PORT | tcp:ADDR:PORT */
int vcon_dm_parse_uart_backend(const char *text, struct vcon_backend_spec *out, char *err,
                               size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
