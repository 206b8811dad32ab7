/* The epoll loop: interest declared per wait, applied with the fewest
 * epoll_ctl calls that stay correct when a descriptor number is reused. */
#define _GNU_SOURCE /* POLLRDHUP, EPOLLRDHUP, signalfd */
#include "event_loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MAX_EVENTS 64

struct entry {
    unsigned events;  /* wanted for the coming wait; 0: not wanted */
    vcon_loop_fn *fn;
    void *arg;
    bool registered;  /* in the epoll set (as far as we know) */
    bool always_ready; /* epoll refused it (EPERM) */
};

struct vcon_loop {
    int epfd;
    int sigfd;
    sigset_t caught;
    bool have_caught;
    int pending_signal;
    struct entry *entries; /* indexed by descriptor */
    unsigned nr_entries;
};

static void read_signals(struct vcon_loop *loop);

int vcon_loop_create(struct vcon_loop **out)
{
    struct vcon_loop *loop;
    *out = NULL;
    loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return -ENOMEM;
    loop->sigfd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        const int rc = -errno;
        free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

void vcon_loop_destroy(struct vcon_loop *loop)
{
    if (loop == NULL)
        return;
    if (loop->sigfd >= 0) {
        /* Take what arrived since the last wait: unblocked, it would be
         * delivered with its default action. */
        read_signals(loop);
        (void)close(loop->sigfd);
    }
    if (loop->have_caught)
        (void)sigprocmask(SIG_UNBLOCK, &loop->caught, NULL);
    (void)close(loop->epfd);
    free(loop->entries);
    free(loop);
}

static struct entry *entry_for(struct vcon_loop *loop, int fd)
{
    if ((unsigned)fd >= loop->nr_entries) {
        unsigned n = loop->nr_entries ? loop->nr_entries : 16u;
        while (n <= (unsigned)fd)
            n *= 2u;
        struct entry *grown = realloc(loop->entries, n * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        memset(grown + loop->nr_entries, 0, (n - loop->nr_entries) * sizeof(*grown));
        loop->entries = grown;
        loop->nr_entries = n;
    }
    return &loop->entries[fd];
}

int vcon_loop_want(struct vcon_loop *loop, int fd, unsigned events, vcon_loop_fn *fn, void *arg)
{
    struct entry *e;
    if (loop == NULL || fd < 0 || events == 0 || fn == NULL || fd == loop->sigfd)
        return -EINVAL;
    e = entry_for(loop, fd);
    if (e == NULL)
        return -ENOMEM;
    e->events |= events;
    e->fn = fn;
    e->arg = arg;
    return 0;
}

int vcon_loop_catch_signals(struct vcon_loop *loop, const int *signals, unsigned n)
{
    sigset_t set;
    sigemptyset(&set);
    for (unsigned i = 0; i < n; i++)
        if (sigaddset(&set, signals[i]) != 0)
            return -EINVAL;
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    if (!loop->have_caught)
        sigemptyset(&loop->caught);
    for (unsigned i = 0; i < n; i++)
        (void)sigaddset(&loop->caught, signals[i]);
    loop->have_caught = true;
    const int fd = signalfd(loop->sigfd, &loop->caught, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (loop->sigfd < 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            const int rc = -errno;
            (void)close(fd);
            return rc;
        }
        loop->sigfd = fd;
    }
    return 0;
}

int vcon_loop_take_signal(struct vcon_loop *loop)
{
    const int sig = loop->pending_signal;
    loop->pending_signal = 0;
    return sig;
}

static void read_signals(struct vcon_loop *loop)
{
    struct signalfd_siginfo info;
    while (read(loop->sigfd, &info, sizeof(info)) == (ssize_t)sizeof(info))
        if (loop->pending_signal == 0)
            loop->pending_signal = (int)info.ssi_signo;
}

static uint32_t to_epoll(unsigned events)
{
    uint32_t ev = 0;
    if (events & POLLIN)
        ev |= EPOLLIN;
    if (events & POLLOUT)
        ev |= EPOLLOUT;
    if (events & POLLPRI)
        ev |= EPOLLPRI;
    if (events & POLLRDHUP)
        ev |= EPOLLRDHUP;
    return ev;
}

static unsigned from_epoll(uint32_t ev)
{
    unsigned events = 0;
    if (ev & EPOLLIN)
        events |= POLLIN;
    if (ev & EPOLLOUT)
        events |= POLLOUT;
    if (ev & EPOLLPRI)
        events |= POLLPRI;
    if (ev & EPOLLRDHUP)
        events |= POLLRDHUP;
    if (ev & EPOLLERR)
        events |= POLLERR;
    if (ev & EPOLLHUP)
        events |= POLLHUP;
    return events;
}

/* A descriptor number may have been closed and reused since it was added:
 * epoll forgot the old file by itself, so every wanted descriptor is
 * re-stated (MOD, or ADD when epoll does not know it). */
static void apply_interest(struct vcon_loop *loop)
{
    for (unsigned fd = 0; fd < loop->nr_entries; fd++) {
        struct entry *e = &loop->entries[fd];
        struct epoll_event ev = {.events = to_epoll(e->events), .data.fd = (int)fd};
        if (e->events == 0) {
            if (e->registered)
                (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
            e->registered = false;
            e->always_ready = false;
            continue;
        }
        if (e->always_ready)
            continue;
        int rc = epoll_ctl(loop->epfd, e->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, (int)fd, &ev);
        if (rc != 0 && errno == ENOENT)
            rc = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, (int)fd, &ev);
        else if (rc != 0 && errno == EEXIST)
            rc = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, (int)fd, &ev);
        if (rc == 0) {
            e->registered = true;
        } else {
            /* EPERM: a regular file or the like, always ready. EBADF: a
             * closed descriptor; its owner learns that on the next call. */
            e->registered = false;
            e->always_ready = errno == EPERM;
        }
    }
}

bool vcon_loop_ready_now(const struct vcon_loop *loop)
{
    if (loop->pending_signal != 0)
        return true;
    for (unsigned fd = 0; fd < loop->nr_entries; fd++)
        if (loop->entries[fd].events != 0 && loop->entries[fd].always_ready)
            return true;
    return false;
}

int vcon_loop_wait(struct vcon_loop *loop, int timeout_ms)
{
    struct epoll_event events[MAX_EVENTS];
    int ran = 0, n;

    apply_interest(loop);
    if (vcon_loop_ready_now(loop))
        timeout_ms = 0;
    n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;
    /* Callbacks run on a snapshot: one may want descriptors for the next
     * wait (it should not), or close descriptors listed later here. */
    for (int i = 0; i < n; i++) {
        const int fd = events[i].data.fd;
        if (fd == loop->sigfd) {
            read_signals(loop);
            continue;
        }
        if ((unsigned)fd >= loop->nr_entries)
            continue;
        struct entry *e = &loop->entries[fd];
        if (e->events == 0 || e->fn == NULL)
            continue;
        const unsigned wanted = e->events;
        e->events = 0;
        e->fn(e->arg, fd, from_epoll(events[i].events) & (wanted | POLLERR | POLLHUP));
        ran++;
    }
    for (unsigned fd = 0; fd < loop->nr_entries; fd++) {
        struct entry *e = &loop->entries[fd];
        if (e->events != 0 && e->always_ready) {
            const unsigned wanted = e->events;
            e->events = 0;
            e->fn(e->arg, (int)fd, wanted & (POLLIN | POLLOUT | POLLPRI));
            ran++;
        }
    }
    /* Interest lasts one wait. Entries stay registered until the next
     * apply_interest finds them unwanted. */
    for (unsigned fd = 0; fd < loop->nr_entries; fd++)
        loop->entries[fd].events = 0;
    return ran;
}
