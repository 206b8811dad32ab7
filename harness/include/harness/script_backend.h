/* A scripted in-memory backend: the test queues what the "outside world"
 * sends (bytes, a would-block point, EOF, disconnect, connect) and collects
 * what the device wrote. Everything happens in queue order, so a script
 * plays out identically on every run. */
#ifndef HARNESS_SCRIPT_BACKEND_H
#define HARNESS_SCRIPT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcon_script_backend;

struct vcon_script_backend *vcon_script_backend_create(void);
void vcon_script_backend_destroy(struct vcon_script_backend *b);

/* Back to the state vcon_script_backend_create() returns: queued input,
 * pauses and EOFs dropped, connected, no write budget, output cleared (the
 * output buffer is kept for reuse). */
void vcon_script_reset(struct vcon_script_backend *b);

/* --- what the device will read, in order --- */
int vcon_script_input(struct vcon_script_backend *b, const void *bytes, size_t len);
/* The next read at this point answers VCON_BACKEND_NO_DATA once. */
int vcon_script_input_pause(struct vcon_script_backend *b);
/* Reads at this point answer VCON_BACKEND_CLOSED until a connect. */
int vcon_script_input_eof(struct vcon_script_backend *b);
/* The peer goes away now: reads and writes answer VCON_BACKEND_CLOSED. */
void vcon_script_disconnect(struct vcon_script_backend *b);
/* The peer is back: reads continue with whatever is queued after the EOF. */
void vcon_script_connect(struct vcon_script_backend *b);
bool vcon_script_connected(const struct vcon_script_backend *b);
/* Bytes queued and not yet read by the device. */
size_t vcon_script_pending_input(const struct vcon_script_backend *b);

/* --- what the device wrote --- */
/* Accept up to `bytes` more, then answer VCON_BACKEND_WOULD_BLOCK.
 * SIZE_MAX (the default) means no limit. */
void vcon_script_set_write_budget(struct vcon_script_backend *b, size_t bytes);
const uint8_t *vcon_script_output(const struct vcon_script_backend *b, size_t *len);
void vcon_script_clear_output(struct vcon_script_backend *b);

/* The host interface calls these. */
int vcon_script_read(struct vcon_script_backend *b, void *buf, size_t len);
int vcon_script_write(struct vcon_script_backend *b, const void *buf, size_t len);

#endif
