/* Flushing the trace when the process dies: fatal-signal handlers and the
 * sanitizer death callback.
 *
 * This file holds the library's only mutable globals, because a signal
 * handler can reach nothing else: the one registered writer, the signal
 * actions that were in place before ours (so that a sanitizer's own SIGSEGV
 * report still happens after the flush), and whether ours are installed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "trace_internal.h"

/* Provided by the sanitizer runtimes when one is linked; NULL otherwise. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
#define NUM_CRASH_SIGNALS (sizeof(crash_signals) / sizeof(crash_signals[0]))

static _Atomic(struct vcon_trace_writer *) crash_writer;
static struct sigaction previous_actions[NUM_CRASH_SIGNALS];
static int handlers_installed;

/* Takes the writer out of the registration first, so that it is flushed
 * once even when a second fatal signal or the death callback follows. */
static void flush_registered_writer(void)
{
    int saved_errno = errno;
    struct vcon_trace_writer *w = atomic_exchange(&crash_writer, NULL);
    if (w)
        vcon_trace_writer_emergency_flush(w);
    errno = saved_errno;
}

static void on_sanitizer_death(void)
{
    flush_registered_writer();
}

static void on_crash_signal(int sig, siginfo_t *info, void *context)
{
    (void)context;
    flush_registered_writer();
    for (size_t i = 0; i < NUM_CRASH_SIGNALS; i++)
        if (crash_signals[i] == sig)
            sigaction(sig, &previous_actions[i], NULL);
    /* A fault raised by the CPU (si_code > 0) happens again when the
     * handler returns, and then meets the previous action with its real
     * siginfo. A signal that was sent (kill, raise, abort) has to be sent
     * again; it stays blocked until this handler returns. */
    if (!info || info->si_code <= 0)
        raise(sig);
}

int vcon_trace_install_crash_flush(struct vcon_trace_writer *w)
{
    if (!w)
        return -EINVAL;
    atomic_store(&crash_writer, w);
    if (handlers_installed)
        return 0;
    struct sigaction action = {0};
    action.sa_sigaction = on_crash_signal;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < NUM_CRASH_SIGNALS; i++) {
        if (sigaction(crash_signals[i], &action, &previous_actions[i]) < 0) {
            int rc = -errno;
            while (i-- > 0)
                sigaction(crash_signals[i], &previous_actions[i], NULL);
            atomic_store(&crash_writer, NULL);
            return rc;
        }
    }
    handlers_installed = 1;
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_sanitizer_death);
    return 0;
}

void vcon_trace_uninstall_crash_flush(void)
{
    atomic_store(&crash_writer, NULL);
    if (!handlers_installed)
        return;
    for (size_t i = 0; i < NUM_CRASH_SIGNALS; i++)
        sigaction(crash_signals[i], &previous_actions[i], NULL);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(NULL);
    handlers_installed = 0;
}

void trace_crash_forget(struct vcon_trace_writer *w)
{
    struct vcon_trace_writer *expected = w;
    atomic_compare_exchange_strong(&crash_writer, &expected, NULL);
}

void vcon_crash_message(const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        const ssize_t n = write(STDERR_FILENO, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}
