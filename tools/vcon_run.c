/* vcon-run: host the devices of a device-model command line on real
 * backends, with the fake guest's drivers following a small script on the
 * guest side, and optionally record the whole run for vcon-replay.
 * docs/embedding.md, "vcon-run"; the help text below is the reference. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

static const char usage_text[] =
    "usage: vcon-run [options] DEVICE-OPTIONS...\n"
    "       vcon-run --help\n";

static const char help_text[] =
    "\n"
    "Hosts the devices a device-model command line describes, each port on the\n"
    "real backend its option text names, with the fake guest's Linux-like drivers\n"
    "on the guest side following a script.\n"
    "\n"
    "Devices (the device model's syntax, docs/options.md):\n"
    "  -s SLOT[:FUNC],virtio-console,PORT[,PORT...]   a virtio-console; PORT is\n"
    "        [@]stdio|tty|pty|file:NAME[=PATH] or [@]socket:NAME=PATH[:server|client]\n"
    "  -s SLOT[:FUNC],lpc                 the LPC bridge the COM ports need\n"
    "  -l comN,stdio|TTY-PATH|tcp:PORT|tcp:ADDR:PORT   a 16550 COM port\n"
    "  --uart-profile 16550a|acrn-dm  --uart-flavour dm|hv  --uart-irq level|edge\n"
    "  --console-no-multiport  --console-queue-size N   (for the devices after them)\n"
    "\n"
    "Guest script (commands run in order; the run ends after the last one):\n"
    "  --guest-script FILE      commands from FILE, one a line ('#' comments)\n"
    "  -e COMMAND               one command (repeatable; taken in order with\n"
    "                           --guest-script)\n"
    "  Ports are named by the option text's NAME (p0 in stdio:p0) or comN.\n"
    "    echo PORT              from now on, write back whatever the port receives\n"
    "    write PORT TEXT        the guest writes TEXT (escapes \\n \\r \\t \\e \\0 \\s\n"
    "                           \\\\ \\\" \\xHH; one pair of quotes around it is removed)\n"
    "    send PORT FILE         the guest writes FILE's bytes\n"
    "    expect PORT TEXT       wait until TEXT arrives (searching what arrived since\n"
    "                           the last expect on PORT)\n"
    "    expect-file PORT FILE  wait until FILE's bytes arrive, exactly, next\n"
    "    sleep MS               let MS milliseconds of virtual time pass\n"
    "    timeout MS             bound for the following expect and wait-* (0: none)\n"
    "    wait-open PORT         wait until the port's backend has a peer\n"
    "    wait-closed PORT       wait until the peer leaves or input ends\n"
    "    wait                   wait for SIGINT, SIGTERM or SIGHUP\n"
    "    mark TEXT              a MARK label in the recording\n"
    "    quit                   end the script here\n"
    "  A write or send is done when the guest driver has taken every byte. After\n"
    "  the script, the run waits until everything the guest wrote has reached a\n"
    "  peer (bounded by --drain-timeout). Without a script the guest reads and\n"
    "  discards until a signal.\n"
    "\n"
    "Options:\n"
    "  --record FILE            write a trace of the whole run (.pcap.zst) that\n"
    "                           vcon-replay replays without the backends\n"
    "  --time-step US           virtual time advances US microseconds per loop turn\n"
    "                           (default 0: it follows the wall clock)\n"
    "  --timeout MS             default bound of expect and wait-* (default 30000)\n"
    "  --drain-timeout MS       bound of the final delivery (default 10000)\n"
    "  --retry MS               socket clients reconnect every MS (default 100)\n"
    "  --client-wait            a socket client may start before its server\n"
    "  --buffer BYTES           output a backend holds for a slow peer (default 65536)\n"
    "  --stats                  print per-port byte counts at the end (stderr)\n"
    "  --verbose, -v            print the devices' log lines (stderr)\n"
    "  --help, -h               this text\n"
    "\n"
    "Times are virtual. The run ends after the script, or at SIGINT, SIGTERM or\n"
    "SIGHUP (terminal modes restored either way).\n"
    "\n"
    "Exit status: 0 the script ran to its end (or one of those signals ended the\n"
    "run), 1 an expect or wait failed, output could not be delivered, or the guest\n"
    "could not start the devices, 2 a bad command line, configuration, script or\n"
    "backend.\n";

void run_error(const char *fmt, ...)
{
    va_list ap;
    fputs("vcon-run: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("vcon-run: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(usage_text, stderr);
    return RUN_EXIT_USAGE;
}

/* ---- command line ------------------------------------------------------- */

static int add_config_token(struct run_options *o, const char *tok)
{
    const size_t have = strlen(o->config), n = strlen(tok);
    for (const char *p = tok; *p; p++)
        if (isspace((unsigned char)*p))
            return usage_error("'%s': blanks inside a device option are not supported", tok);
    if (n == 0)
        return usage_error("an empty device option");
    if (have + n + 2u > sizeof(o->config))
        return usage_error("the device options are longer than %u bytes", RUN_CONFIG_MAX - 1u);
    if (have > 0)
        o->config[have] = ' ';
    memcpy(o->config + have + (have > 0), tok, n + 1);
    return 0;
}

static int parse_uint(const char *opt, const char *text, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (text == NULL || *text == 0)
        return usage_error("%s takes a number", opt);
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return usage_error("%s takes a number, not '%s'", opt, text);
        v = v * 10u + (uint64_t)(*p - '0');
        if (v > max)
            return usage_error("%s: %s is more than the %llu allowed", opt, text,
                               (unsigned long long)max);
    }
    *out = v;
    return 0;
}

static bool is_opt(const char *arg, const char *name, const char **inline_value)
{
    const size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return false;
    if (arg[n] == 0) {
        *inline_value = NULL;
        return true;
    }
    if (arg[n] == '=' && name[1] == '-') {
        *inline_value = arg + n + 1;
        return true;
    }
    return false;
}

/* Options of the rig's configuration, passed on as they are. */
static const char *const rig_valued[] = {
    "-s", "-l", "--uart-profile", "--uart-flavour", "--uart-irq", "--console-queue-size",
};

/* -1 to run, else the exit status. */
static int parse_args(int argc, char **argv, struct run_options *o)
{
    o->timeout_ns = 30000u * RUN_MS;
    o->drain_ns = 10000u * RUN_MS;
    o->retry_ns = 100u * RUN_MS;
    o->sources = calloc((size_t)argc, sizeof(*o->sources));
    if (o->sources == NULL)
        return usage_error("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *inline_value = NULL;
        bool matched = false;
        int rc = 0;
        uint64_t v;
#define VALUE() (inline_value != NULL ? inline_value : (i + 1 < argc ? argv[++i] : NULL))
        for (size_t k = 0; k < sizeof(rig_valued) / sizeof(rig_valued[0]); k++) {
            if (!is_opt(arg, rig_valued[k], &inline_value))
                continue;
            const char *value = VALUE();
            matched = true;
            if (value == NULL)
                return usage_error("%s needs a value", rig_valued[k]);
            if ((rc = add_config_token(o, rig_valued[k])) != 0 ||
                (rc = add_config_token(o, value)) != 0)
                return rc;
            break;
        }
        if (matched)
            continue;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage_text, stdout);
            fputs(help_text, stdout);
            return RUN_EXIT_OK;
        } else if (strcmp(arg, "--console-no-multiport") == 0) {
            rc = add_config_token(o, arg);
        } else if (is_opt(arg, "--guest-script", &inline_value) || is_opt(arg, "-e", &inline_value)) {
            const char *value = VALUE();
            if (value == NULL)
                return usage_error("%s needs a value", arg);
            o->sources[o->nr_sources].is_file = arg[1] == '-';
            o->sources[o->nr_sources++].text = value;
        } else if (is_opt(arg, "--record", &inline_value)) {
            if ((o->record = VALUE()) == NULL || o->record[0] == 0)
                return usage_error("--record needs a file name");
        } else if (is_opt(arg, "--time-step", &inline_value)) {
            rc = parse_uint("--time-step", VALUE(), 1000000000u, &v);
            o->time_step_ns = v * 1000u;
        } else if (is_opt(arg, "--timeout", &inline_value)) {
            rc = parse_uint("--timeout", VALUE(), 1000000000u, &v);
            o->timeout_ns = v * RUN_MS;
        } else if (is_opt(arg, "--drain-timeout", &inline_value)) {
            rc = parse_uint("--drain-timeout", VALUE(), 1000000000u, &v);
            o->drain_ns = v * RUN_MS;
        } else if (is_opt(arg, "--retry", &inline_value)) {
            rc = parse_uint("--retry", VALUE(), 1000000000u, &v);
            if (rc == 0 && v == 0)
                return usage_error("--retry takes at least 1 ms");
            o->retry_ns = v * RUN_MS;
        } else if (is_opt(arg, "--buffer", &inline_value)) {
            rc = parse_uint("--buffer", VALUE(), VCON_BACKEND_MAX_BUFFER, &v);
            o->buffer_size = (size_t)v;
        } else if (strcmp(arg, "--client-wait") == 0) {
            o->client_wait = true;
        } else if (strcmp(arg, "--stats") == 0) {
            o->stats = true;
        } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "-v") == 0) {
            o->verbose = true;
        } else if (arg[0] == '-') {
            return usage_error("unknown option '%s'", arg);
        } else {
            return usage_error("unexpected argument '%s' (device options start with -s or -l)",
                               arg);
        }
#undef VALUE
        if (rc != 0)
            return rc;
    }
    if (o->config[0] == 0)
        return usage_error("no device: give -s SLOT,virtio-console,... or -s 1:0,lpc -l comN,...");
    return -1;
}

/* ---- time ------------------------------------------------------------------ */

static uint64_t wall_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void run_advance_to(struct run *r, uint64_t target)
{
    /* Stop at each device timer on the way so that the guest takes the
     * interrupt at its time (a UART's character timeout). Bounded: a
     * device re-arming at the same instant cannot hold the loop. */
    for (unsigned i = 0; i < 256u; i++) {
        const uint64_t now = vcon_vm_now(r->vm), next = vcon_vm_next_deadline(r->vm);
        if (next == UINT64_MAX || next > target || next < now)
            break;
        vcon_vm_advance(r->vm, next - now);
        run_guest_step(r);
        if (next == now)
            break;
    }
    const uint64_t now = vcon_vm_now(r->vm);
    if (target > now)
        vcon_vm_advance(r->vm, target - now);
}

/* One loop turn's worth of virtual time. */
static void step_time(struct run *r)
{
    uint64_t step = r->opt.time_step_ns;
    if (step == 0) {
        const uint64_t wall = wall_ns();
        step = wall - r->wall_last_ns;
        r->wall_last_ns = wall;
    }
    if (step > 0)
        run_advance_to(r, vcon_vm_now(r->vm) + step);
}

/* How long the loop may sleep: not at all after progress; until the
 * nearest virtual deadline (script, device timer, reconnect, drain) when
 * there is one; without bound otherwise. */
static int wait_ms(struct run *r, bool progressed)
{
    uint64_t deadline = run_script_deadline(r), t;
    if (progressed)
        return 0;
    if ((t = run_backends_deadline(r)) < deadline)
        deadline = t;
    if ((t = vcon_vm_next_deadline(r->vm)) < deadline)
        deadline = t;
    if (deadline == UINT64_MAX)
        return -1;
    if (r->opt.time_step_ns != 0) {
        /* Fixed steps: one step of virtual time per turn, paced at one
         * step of wall time while nothing happens. */
        const uint64_t ms = (r->opt.time_step_ns + RUN_MS - 1u) / RUN_MS;
        return ms > 1000u ? 1000 : (int)ms;
    }
    const uint64_t now = vcon_vm_now(r->vm);
    if (deadline <= now)
        return 0;
    const uint64_t ms = (deadline - now + RUN_MS - 1u) / RUN_MS;
    return ms > 60000u ? 60000 : (int)ms;
}

/* ---- the run ------------------------------------------------------------------ */

static int loop(struct run *r)
{
    r->wall_last_ns = wall_ns();
    while (r->phase != RUN_PHASE_DONE) {
        const int sig = vcon_loop_take_signal(r->loop);
        if (sig != 0) {
            if (r->opt.verbose)
                run_error("%s: stopping",
                          sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP");
            break;
        }
        const uint64_t before = r->progress;
        run_script_step(r);
        run_guest_step(r);
        run_backends_poll(r);
        run_guest_step(r);
        if (r->phase == RUN_PHASE_DRAIN) {
            char why[RUN_ERR_MAX];
            if (run_guest_drained(r, why, sizeof(why))) {
                r->phase = RUN_PHASE_DONE;
            } else if (vcon_vm_now(r->vm) - r->drain_start_ns >= r->opt.drain_ns) {
                run_error("output not delivered within %llu ms after the script: %s",
                          (unsigned long long)(r->opt.drain_ns / RUN_MS), why);
                r->exit_status = RUN_EXIT_FAILED;
                r->phase = RUN_PHASE_DONE;
            }
        }
        if (r->phase == RUN_PHASE_DONE)
            break;
        run_backends_want(r);
        const int rc = vcon_loop_wait(r->loop, wait_ms(r, r->progress != before));
        if (rc < 0) {
            run_error("epoll: %s", strerror(-rc));
            return RUN_EXIT_FAILED;
        }
        step_time(r);
    }
    return r->exit_status;
}

static int setup(struct run *r)
{
    /* SIGHUP too: a terminal that goes away ends the run cleanly. */
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    char err[RUN_ERR_MAX];
    int rc = run_script_load(r);
    if (rc != 0)
        return rc;
    if (r->opt.record != NULL) {
        const struct vcon_recorder_options ro = {.path = r->opt.record};
        if (vcon_recorder_create(&ro, &r->rec) != 0) {
            run_error("--record: out of memory");
            return RUN_EXIT_USAGE;
        }
    }
    rc = vcon_rig_create(r->opt.config, 0, run_hooks(r), &r->rig, err, sizeof(err));
    if (rc != 0) {
        run_error("%s", err[0] ? err : strerror(-rc));
        return RUN_EXIT_USAGE;
    }
    r->vm = vcon_rig_vm(r->rig);
    vcon_vm_set_log_echo(r->vm, r->opt.verbose);
    if ((rc = run_ports_find(r)) != 0 || (rc = run_script_resolve(r)) != 0 ||
        (rc = run_backends_open(r)) != 0)
        return rc;
    if (vcon_recorder_start(r->rec, r->rig) != 0) {
        run_error("--record: %s", vcon_recorder_error(r->rec));
        return RUN_EXIT_USAGE;
    }
    rc = vcon_loop_create(&r->loop);
    if (rc == 0)
        rc = vcon_loop_catch_signals(r->loop, signals, 3);
    if (rc != 0) {
        run_error("event loop: %s", strerror(-rc));
        return RUN_EXIT_FAILED;
    }
    run_backends_start(r);
    return run_guest_start(r);
}

static int teardown(struct run *r, int status)
{
    if (r->rec != NULL && vcon_recorder_finish(r->rec) != 0) {
        run_error("--record: the trace is incomplete: %s", vcon_recorder_error(r->rec));
        if (status == RUN_EXIT_OK)
            status = RUN_EXIT_FAILED;
    }
    if (r->opt.stats && r->rig != NULL && r->loop != NULL)
        run_print_stats(r);
    run_guest_stop(r);
    vcon_rig_destroy(r->rig);
    vcon_recorder_destroy(r->rec);
    /* After the devices: they hold the backends until destroyed. Closing
     * puts terminal modes back. */
    run_backends_close(r);
    vcon_loop_destroy(r->loop);
    run_script_free(r);
    free(r->opt.sources);
    return status;
}

int main(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        run_error("out of memory");
        return RUN_EXIT_FAILED;
    }
    int status = parse_args(argc, argv, &r->opt);
    if (status >= 0) {
        free(r->opt.sources);
        free(r);
        return status;
    }
    /* A peer that leaves must not kill the run: writes then fail with EPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    status = setup(r);
    if (status == 0)
        status = loop(r);
    status = teardown(r, status);
    free(r);
    return status;
}
