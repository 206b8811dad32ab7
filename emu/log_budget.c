#include "log_budget.h"

#define NS_PER_SECOND 1000000000u

bool vcon_log_budget_take(const struct vcon_host *host, struct vcon_log_budget *budget)
{
    uint64_t window;
    if (host == NULL || host->log == NULL)
        return false;
    window = host->now_ns ? host->now_ns(host->ctx) / NS_PER_SECOND : 0;
    if (window != budget->window) {
        budget->window = window;
        budget->lines = 0;
    }
    if (budget->lines >= VCON_LOG_LINES_PER_SECOND)
        return false;
    budget->lines++;
    return true;
}

void vcon_log_limited(const struct vcon_host *host, struct vcon_log_budget *budget,
                      enum vcon_log_level level, const char *message)
{
    if (vcon_log_budget_take(host, budget))
        host->log(host->ctx, level, message);
}
