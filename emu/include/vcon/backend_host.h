/* A struct vcon_host whose backend I/O goes to real backends: port p's
 * backend_read / backend_write call vcon_backend_read / vcon_backend_write
 * of ports[p]; everything else (guest memory, interrupts, time, timers, log)
 * goes to the embedder's base host. docs/backends.md. */
#ifndef VCON_BACKEND_HOST_H
#define VCON_BACKEND_HOST_H

#include "vcon/backend.h"
#include "vcon/host.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vcon_backend_host {
    struct vcon_host host;          /* give &bh->host to the device */
    struct vcon_host base;          /* a copy of the embedder's host */
    struct vcon_backend **ports;    /* the embedder's array, not owned */
    unsigned nr_ports;
};

/* Fill *bh. `ports` has `nr_ports` entries (NULL entries allowed: such a
 * port, and every port >= nr_ports, answers VCON_BACKEND_CLOSED). The array
 * is read at every call, so the embedder may swap a port's backend (e.g. on
 * hot-plug); it and *bh must outlive the device, and *bh must not move: the
 * device keeps bh as its host's ctx. A base function that is NULL stays NULL
 * in bh->host, so the device's own checks still see it missing. The base's
 * backend_read / backend_write are not used. Returns 0, or -EINVAL (bh or
 * base NULL, or ports NULL with nr_ports > 0). */
int vcon_backend_host_init(struct vcon_backend_host *bh, const struct vcon_host *base,
                           struct vcon_backend **ports, unsigned nr_ports);

#ifdef __cplusplus
}
#endif
#endif
