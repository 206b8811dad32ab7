/* vcon-replay: re-execute a recorded trace against today's devices and say
 * whether they behave as recorded (docs/replay.md).
 *
 * Exit status: 0 the devices did what the trace recorded (to its end, to
 * the cut of a truncated trace, or to --until), 1 they diverged, 2 the
 * trace could not be replayed (unreadable, damaged, another format version,
 * an invalid META) or the command line is wrong, 3 with --check: a state
 * invariant of a device broke. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vcon/replayer.h"
#include "vcon/trace.h"

#define EXIT_USAGE 2

/* Provided by the sanitizer runtimes when one is linked; NULL otherwise. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* For the death callback only: the one replayer this process runs. */
static struct vcon_replayer *running;

static const char usage[] =
    "usage: vcon-replay [options] TRACE\n"
    "\n"
    "Replays TRACE (.pcap.zst or .pcap) against the devices built into this\n"
    "program and reports the first event where they behave differently.\n"
    "\n"
    "  --mode strict|image|auto  where device reads of guest memory come from:\n"
    "                            the trace's MEM_READ events (strict), a RAM image\n"
    "                            rebuilt from the guest's writes (image), or image\n"
    "                            when the trace has guest writes (auto, the default)\n"
    "  --until N                 stop before the first top-level event after event N\n"
    "  --check                   after every top-level event, check the devices'\n"
    "                            state invariants (those the fuzz targets check:\n"
    "                            interrupt lines, FIFOs, registers, queues, ports)\n"
    "                            and that each device loses, duplicates and invents\n"
    "                            no byte between its backends and the guest;\n"
    "                            reproduces a fuzzer's \"invariant violated\" finding\n"
    "  --verbose                 list every event as it is replayed\n"
    "  --quiet                   print nothing but a divergence, a broken\n"
    "                            invariant or an error\n"
    "  --help                    this text\n"
    "\n"
    "Exit status: 0 match (also at the cut of a truncated trace), 1 divergence,\n"
    "2 unreadable or invalid trace, or a bad command line, 3 an invariant broke\n"
    "(--check).\n";

struct args {
    struct vcon_replay_options options;
    const char *path;
    bool quiet;
};

/* Runs after the sanitizer's report: names the event being replayed. Only
 * write(2), as the process may be in a signal handler. */
static void on_death(void)
{
    if (running == NULL)
        return;
    vcon_crash_message("vcon-replay: the device crashed; last event taken from the trace:\n  ");
    vcon_crash_message(vcon_replay_last_event(running));
    vcon_crash_message("\n");
}

static int parse_mode(const char *text, enum vcon_replay_mode *mode)
{
    static const struct {
        const char *name;
        enum vcon_replay_mode mode;
    } modes[] = {{"auto", VCON_REPLAY_AUTO}, {"strict", VCON_REPLAY_STRICT}, {"image", VCON_REPLAY_IMAGE}};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(text, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_count(const char *text, uint64_t *out)
{
    char *end = NULL;
    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    const unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != 0)
        return -EINVAL;
    *out = v;
    return 0;
}

static int bad_usage(const char *why, const char *what)
{
    fprintf(stderr, "vcon-replay: %s%s%s\n%s", why, what ? " " : "", what ? what : "", usage);
    return EXIT_USAGE;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(arg, "--verbose") == 0) {
            a->options.verbose = stdout;
        } else if (strcmp(arg, "--quiet") == 0) {
            a->quiet = true;
        } else if (strcmp(arg, "--check") == 0) {
            a->options.check = true;
        } else if (strcmp(arg, "--mode") == 0) {
            if (value == NULL || parse_mode(value, &a->options.mode) != 0)
                return bad_usage("--mode takes strict, image or auto, not", value ? value : "nothing");
            i++;
        } else if (strcmp(arg, "--until") == 0) {
            if (value == NULL || parse_count(value, &a->options.until) != 0)
                return bad_usage("--until takes an event index, not", value ? value : "nothing");
            i++;
        } else if (arg[0] == '-' && arg[1] != 0) {
            return bad_usage("unknown option", arg);
        } else if (a->path != NULL) {
            return bad_usage("one trace at a time; also given", arg);
        } else {
            a->path = arg;
        }
    }
    if (a->path == NULL)
        return bad_usage("no trace given", NULL);
    if (a->quiet && a->options.verbose != NULL)
        return bad_usage("--quiet and --verbose exclude each other", NULL);
    return -1;
}

static void report(const struct vcon_replayer *r, enum vcon_replay_status status,
                   const struct args *a)
{
    struct vcon_replay_result result;
    vcon_replay_get_result(r, &result);
    if (status == VCON_REPLAY_UNREADABLE)
        fprintf(stderr, "vcon-replay: %s: %s\n", a->path, result.message);
    else if (a->quiet && (status == VCON_REPLAY_DIVERGED || status == VCON_REPLAY_INVARIANT))
        fprintf(stderr, "vcon-replay: %s\n", result.message);
    else if (!a->quiet)
        vcon_replay_print_report(r, stdout);
}

int main(int argc, char **argv)
{
    struct args a = {0};
    const int parsed = parse_args(argc, argv, &a);
    if (parsed >= 0)
        return parsed;
    /* Line by line, so that the listing is complete up to a crash. */
    if (a.options.verbose != NULL)
        setvbuf(stdout, NULL, _IOLBF, 0);

    struct vcon_replayer *r = NULL;
    if (vcon_replay_open(a.path, &a.options, &r) != 0) {
        fprintf(stderr, "vcon-replay: %s: out of memory\n", a.path);
        return VCON_REPLAY_UNREADABLE;
    }
    running = r;
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(on_death);
    const enum vcon_replay_status status = vcon_replay_run(r);
    report(r, status, &a);
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(NULL);
    running = NULL;
    vcon_replay_close(r);
    return (int)status;
}
