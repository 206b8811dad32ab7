/* A small epoll event loop for the project's own programs (vcon-run).
 *
 * Interest is declared afresh before every wait, which is what the real
 * backends ask for (vcon_backend_poll_fds: "the set changes, ask again
 * before every poll()"): vcon_loop_want() for each descriptor, then
 * vcon_loop_wait(), which runs the callbacks of the descriptors that became
 * ready and forgets the interest. A descriptor not wanted again is removed
 * from the epoll set at the next wait.
 *
 * Descriptors epoll refuses (regular files, /dev/null: EPERM) are treated as
 * always ready: their callbacks run at every wait with the events asked for,
 * and the wait does not block. Signals given to vcon_loop_catch_signals()
 * are blocked and read from a signalfd: a wait returns when one arrives and
 * vcon_loop_signal() names it. Single-threaded; starts no thread. Linux. */
#ifndef VCON_TOOLS_EVENT_LOOP_H
#define VCON_TOOLS_EVENT_LOOP_H

#include <stdbool.h>

struct vcon_loop;

/* `revents` is a poll(2) event set: POLLIN, POLLOUT, POLLPRI, POLLRDHUP,
 * POLLERR, POLLHUP. */
typedef void vcon_loop_fn(void *arg, int fd, unsigned revents);

/* Returns 0 or a negative errno. */
int vcon_loop_create(struct vcon_loop **out);
/* Closes the epoll and signal descriptors and unblocks the caught signals. */
void vcon_loop_destroy(struct vcon_loop *loop);

/* Watch `fd` for the poll(2) `events` during the next vcon_loop_wait() and
 * call fn(arg, fd, revents) when it is ready. Wanting the same descriptor
 * twice before a wait merges the events; the last callback wins. Returns 0,
 * -EINVAL (fd < 0, events 0, fn NULL) or -ENOMEM. */
int vcon_loop_want(struct vcon_loop *loop, int fd, unsigned events, vcon_loop_fn *fn, void *arg);

/* Block these signals and report them through the loop instead (their
 * dispositions are left alone). Returns 0 or a negative errno. */
int vcon_loop_catch_signals(struct vcon_loop *loop, const int *signals, unsigned n);
/* The first caught signal not yet taken, or 0; taking clears it. */
int vcon_loop_take_signal(struct vcon_loop *loop);

/* Wait at most `timeout_ms` (-1: no bound, 0: do not block) for the wanted
 * descriptors, run the callbacks of those that are ready, then forget every
 * interest. Returns the number of callbacks run (0 on timeout, or when a
 * signal interrupted the wait), or a negative errno from epoll. */
int vcon_loop_wait(struct vcon_loop *loop, int timeout_ms);

/* True when the next wait cannot block: an always-ready descriptor is
 * wanted, or a signal is waiting to be taken. */
bool vcon_loop_ready_now(const struct vcon_loop *loop);

#endif
