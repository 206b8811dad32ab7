/* Rate-limited logging for devices, internal to emu/. A guest can provoke a
 * log line per access; each device keeps the host's log readable by sending
 * at most a few lines per second of virtual time. */
#ifndef VCON_EMU_LOG_BUDGET_H
#define VCON_EMU_LOG_BUDGET_H

#include <stdbool.h>

#include "vcon/host.h"

#define VCON_LOG_LINES_PER_SECOND 8u

/* True when one more line fits this second's budget (and counts it). False
 * too when the host takes no log. */
bool vcon_log_budget_take(const struct vcon_host *host, struct vcon_log_budget *budget);
/* Logs `message` if the budget allows. */
void vcon_log_limited(const struct vcon_host *host, struct vcon_log_budget *budget,
                      enum vcon_log_level level, const char *message);

#endif
