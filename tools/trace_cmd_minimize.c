/* vcon-trace minimize: the smallest trace that still fails the same way,
 * by delta debugging (Zeller's ddmin) over the trace's top-level inputs.
 *
 * A trace is a list of top-level inputs (the events the replayer feeds:
 * guest register accesses, the fake guest's memory writes, clock steps and
 * host events), each followed by what the devices did in answer (memory
 * reads and writes, interrupts, backend I/O, read results) and labels. A
 * nested event cannot be dropped on its own — the replayer would miss a
 * device call — so the unit of removal is a *chunk*: one top-level input
 * with every event up to the next one. ddmin removes chunks; every
 * candidate is written as a trace (META and END kept, time stamps kept)
 * and replayed by vcon-replay in a child process. A candidate keeps the
 * failure when
 *   - crash: the sanitizer's report names the same crash site, the first
 *     stack frame in the project's code ("FUNCTION file:line");
 *   - divergence: vcon-replay exits 1 and reports a divergence at an event
 *     of the same kind;
 *   - invariant (--keep invariant, which replays with --check): vcon-replay
 *     exits 3 and names the same broken state invariant.
 * Removing a chunk usually makes the devices behave differently later, so
 * most candidates diverge early and are rejected; what remains is the
 * inputs the failure needs. In image mode (the trace has GUEST_MEM_WRITE
 * events) the device reads guest memory from an image rebuilt from the
 * GUEST_MEM_WRITE events, so those are chunks like any input and can go. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_tool.h"

static const char minimize_help[] =
    "usage: vcon-trace minimize FILE -o OUT [--keep crash|divergence|invariant]\n"
    "                           [--replay PATH]\n"
    "                           [--timeout SECONDS] [--max-runs N] [-v]\n"
    "\n"
    "Writes to OUT the smallest trace found that still fails like FILE when\n"
    "vcon-replay replays it: a crash at the same site (the first stack frame in\n"
    "the project's code of the sanitizer's report), a divergence at an event\n"
    "of the same kind, or (--keep invariant) the same broken state invariant\n"
    "under vcon-replay --check. Delta debugging removes top-level inputs, each with the\n"
    "events that follow it up to the next input; META and END stay. OUT is\n"
    "replayed once more at the end to verify it.\n"
    "\n"
    "  -o OUT             the minimized trace (.pcap: uncompressed, else zstd)\n"
    "  --keep KIND        crash, divergence or invariant: the failure to keep\n"
    "                     (default: whichever FILE shows without --check)\n"
    "  --replay PATH      the vcon-replay to run (default: beside vcon-trace,\n"
    "                     else in PATH)\n"
    "  --timeout SECONDS  a replay running longer counts as no failure (default 60)\n"
    "  --max-runs N       stop minimizing after N replays (default 20000)\n"
    "  -v, --verbose      print progress on stderr\n"
    "\n"
    "Exit status: 0 written and verified, 1 FILE does not fail (as asked) or OUT\n"
    "did not fail again, 2 bad usage, an unreadable trace or no vcon-replay.\n";

/* One top-level input and the events after it, up to the next input. */
struct chunk {
    size_t first, count;
};

struct minimizer {
    const char *cmd;
    struct tool_trace trace;
    size_t prefix; /* events before the first input: always kept */
    struct chunk *chunks;
    size_t nr_chunks;
    bool *keep;    /* per event, for writing a candidate */
    struct tool_replayer rp;
    struct tool_outcome want;
    char candidate[512];
    unsigned long runs, max_runs;
    bool verbose;
};

static int split_chunks(struct minimizer *m)
{
    const struct tool_trace *t = &m->trace;
    m->chunks = calloc(t->nr_events ? t->nr_events : 1, sizeof(*m->chunks));
    m->keep = calloc(t->nr_events ? t->nr_events : 1, sizeof(*m->keep));
    if (!m->chunks || !m->keep)
        return -ENOMEM;
    m->prefix = 0;
    while (m->prefix < t->nr_events && !vcon_trace_kind_is_step(t->events[m->prefix].ev.kind))
        m->prefix++;
    for (size_t i = m->prefix; i < t->nr_events; i++) {
        if (vcon_trace_kind_is_step(t->events[i].ev.kind))
            m->chunks[m->nr_chunks++] = (struct chunk){.first = i};
        m->chunks[m->nr_chunks - 1].count++;
    }
    return 0;
}

static size_t events_in(const struct minimizer *m, const size_t *set, size_t n)
{
    size_t events = m->prefix;
    for (size_t i = 0; i < n; i++)
        events += m->chunks[set[i]].count;
    return events;
}

/* Writes the prefix and the chunks set[0..n-1] (in trace order) to path. */
static int write_chunks(struct minimizer *m, const char *path, const size_t *set, size_t n,
                        bool plain)
{
    memset(m->keep, 0, m->trace.nr_events * sizeof(*m->keep));
    for (size_t i = 0; i < m->prefix; i++)
        m->keep[i] = true;
    for (size_t i = 0; i < n; i++) {
        const struct chunk *c = &m->chunks[set[i]];
        for (size_t e = c->first; e < c->first + c->count; e++)
            m->keep[e] = true;
    }
    return tool_write_trace(m->cmd, path, &m->trace.meta, m->trace.events, m->trace.nr_events,
                            m->keep, plain);
}

/* 1 when the chunks set[0..n-1] fail like the original, 0 when not, -1 on
 * an error (reported). */
static int still_fails(struct minimizer *m, const size_t *set, size_t n)
{
    if (write_chunks(m, m->candidate, set, n, true) < 0)
        return -1;
    struct tool_outcome o;
    if (tool_run_replay(m->cmd, &m->rp, m->candidate, &o) < 0)
        return -1;
    m->runs++;
    return tool_same_failure(&m->want, &o) ? 1 : 0;
}

static void progress(const struct minimizer *m, size_t n)
{
    if (m->verbose)
        fprintf(stderr, "vcon-trace minimize: %zu of %zu inputs left after %lu replays\n", n,
                m->nr_chunks, m->runs);
}

/* ddmin over set[0..*n-1], which fails; shrinks it in place. Returns 0 or
 * -1 on an error. Stops early after max_runs replays. */
static int ddmin(struct minimizer *m, size_t *set, size_t *n)
{
    size_t *rest = malloc((*n ? *n : 1) * sizeof(*rest));
    if (!rest) {
        tool_error(m->cmd, "out of memory");
        return -1;
    }
    size_t granularity = 2;
    while (*n >= 2 && m->runs < m->max_runs) {
        size_t parts = granularity < *n ? granularity : *n;
        bool reduced = false;
        /* Each part on its own... */
        for (size_t i = 0; i < parts && !reduced && m->runs < m->max_runs; i++) {
            size_t lo = *n * i / parts, hi = *n * (i + 1) / parts;
            int rc = still_fails(m, set + lo, hi - lo);
            if (rc < 0)
                goto fail;
            if (rc) {
                memmove(set, set + lo, (hi - lo) * sizeof(*set));
                *n = hi - lo;
                granularity = 2;
                reduced = true;
            }
        }
        /* ...then everything but each part (with two parts, the same sets). */
        for (size_t i = 0; parts > 2 && i < parts && !reduced && m->runs < m->max_runs; i++) {
            size_t lo = *n * i / parts, hi = *n * (i + 1) / parts;
            memcpy(rest, set, lo * sizeof(*set));
            memcpy(rest + lo, set + hi, (*n - hi) * sizeof(*set));
            int rc = still_fails(m, rest, *n - (hi - lo));
            if (rc < 0)
                goto fail;
            if (rc) {
                *n -= hi - lo;
                memcpy(set, rest, *n * sizeof(*set));
                granularity = parts - 1 > 2 ? parts - 1 : 2;
                reduced = true;
            }
        }
        if (reduced) {
            progress(m, *n);
            continue;
        }
        if (parts >= *n)
            break; /* every single input is needed */
        granularity = parts * 2 < *n ? parts * 2 : *n;
    }
    free(rest);
    return 0;
fail:
    free(rest);
    return -1;
}

/* For a divergence or a broken invariant: nothing after the chunk that
 * holds the event where it showed is ever replayed, so try without it
 * first. */
static int drop_after_divergence(struct minimizer *m, size_t *set, size_t *n)
{
    if (m->want.kind != TOOL_OUTCOME_DIVERGED && m->want.kind != TOOL_OUTCOME_INVARIANT)
        return 0;
    size_t last = *n;
    for (size_t i = 0; i < *n; i++) {
        const struct chunk *c = &m->chunks[set[i]];
        const struct tool_event *first = &m->trace.events[c->first];
        const struct tool_event *end = &m->trace.events[c->first + c->count - 1];
        if (first->ev.seq <= m->want.div_event && m->want.div_event <= end->ev.seq)
            last = i + 1;
    }
    if (last >= *n)
        return 0;
    int rc = still_fails(m, set, last);
    if (rc > 0) {
        *n = last;
        progress(m, *n);
    }
    return rc < 0 ? -1 : 0;
}

struct minimize_args {
    const char *file, *out, *keep, *replay, *timeout, *max_runs;
    bool verbose;
};

static int parse(int argc, char **argv, struct minimize_args *a)
{
    const char *cmd = argv[0];
    const struct tool_option options[] = {
        {.name = "-o", .takes_value = true, .value = &a->out},
        {.name = "--output", .takes_value = true, .value = &a->out},
        {.name = "--keep", .takes_value = true, .value = &a->keep},
        {.name = "--replay", .takes_value = true, .value = &a->replay},
        {.name = "--timeout", .takes_value = true, .value = &a->timeout},
        {.name = "--max-runs", .takes_value = true, .value = &a->max_runs},
        {.name = "-v", .flag = &a->verbose},
        {.name = "--verbose", .flag = &a->verbose},
        {0},
    };
    const char *operands[1];
    size_t nr;
    int rc = tool_parse_args(cmd, argc, argv, options, operands, 1, &nr);
    if (rc == 1) {
        fputs(minimize_help, stdout);
        return 1;
    }
    if (rc != 0)
        return rc;
    if (nr != 1)
        return tool_usage_error(cmd, "expected one trace file");
    a->file = operands[0];
    if (!a->out)
        return tool_usage_error(cmd, "-o OUT is required");
    if (a->keep && strcmp(a->keep, "crash") != 0 && strcmp(a->keep, "divergence") != 0 &&
        strcmp(a->keep, "invariant") != 0)
        return tool_usage_error(cmd, "--keep '%s': expected crash, divergence or invariant",
                                a->keep);
    return 0;
}

static int minimize(struct minimizer *m, const struct minimize_args *a)
{
    char what[700];
    /* The original, as it is. */
    if (tool_run_replay(m->cmd, &m->rp, a->file, &m->want) < 0)
        return TOOL_EXIT_ERROR;
    m->runs++;
    tool_describe_outcome(&m->want, what, sizeof(what));
    if (m->want.kind == TOOL_OUTCOME_UNREADABLE) {
        tool_error(m->cmd, "%s: vcon-replay cannot read it (exit status 2)", a->file);
        return TOOL_EXIT_ERROR;
    }
    const bool is_crash = m->want.kind == TOOL_OUTCOME_CRASH;
    const bool is_divergence = m->want.kind == TOOL_OUTCOME_DIVERGED;
    const bool is_invariant = m->want.kind == TOOL_OUTCOME_INVARIANT;
    const char *asked = !a->keep ? "crash or diverge"
                        : strcmp(a->keep, "crash") == 0      ? "crash"
                        : strcmp(a->keep, "divergence") == 0 ? "diverge"
                                                             : "break an invariant";
    if ((!is_crash && !is_divergence && !is_invariant) ||
        (a->keep && strcmp(a->keep, "crash") == 0 && !is_crash) ||
        (a->keep && strcmp(a->keep, "divergence") == 0 && !is_divergence) ||
        (a->keep && strcmp(a->keep, "invariant") == 0 && !is_invariant)) {
        tool_error(m->cmd, "%s does not %s: vcon-replay%s gives %s", a->file, asked,
                   m->rp.check ? " --check" : "", what);
        return TOOL_EXIT_DIFFERENT;
    }
    printf("%s: %zu events, %zu inputs; %s\n", a->file, m->trace.nr_events + 2, m->nr_chunks,
           what);

    size_t *set = malloc((m->nr_chunks ? m->nr_chunks : 1) * sizeof(*set));
    if (!set) {
        tool_error(m->cmd, "out of memory");
        return TOOL_EXIT_ERROR;
    }
    size_t n = m->nr_chunks;
    for (size_t i = 0; i < n; i++)
        set[i] = i;
    int status = TOOL_EXIT_ERROR;
    /* Rewritten whole (with END, numbered by the writer), it must still
     * fail: everything below compares against that. */
    int rc = still_fails(m, set, n);
    if (rc == 0) {
        tool_error(m->cmd, "%s: rewritten with all its events it no longer fails the same way",
                   a->file);
        status = TOOL_EXIT_DIFFERENT;
    }
    if (rc <= 0)
        goto out;
    if ((rc = still_fails(m, set, 0)) < 0)
        goto out;
    if (rc)
        n = 0; /* it fails with no input at all */
    else if (drop_after_divergence(m, set, &n) < 0 || ddmin(m, set, &n) < 0)
        goto out;
    if (m->runs >= m->max_runs)
        printf("stopped after %lu replays (--max-runs): the result may not be minimal\n",
               m->runs);
    printf("kept %zu of %zu inputs (%zu of %zu events) after %lu replays\n", n, m->nr_chunks,
           events_in(m, set, n), m->trace.nr_events, m->runs);

    if (write_chunks(m, a->out, set, n, tool_path_is_plain(a->out)) < 0)
        goto out;
    struct tool_outcome check;
    if (tool_run_replay(m->cmd, &m->rp, a->out, &check) < 0)
        goto out;
    tool_describe_outcome(&check, what, sizeof(what));
    if (!tool_same_failure(&m->want, &check)) {
        tool_error(m->cmd, "%s: the minimized trace no longer fails the same way (%s); "
                           "is the failure flaky?",
                   a->out, what);
        status = TOOL_EXIT_DIFFERENT;
        goto out;
    }
    printf("wrote %s: %zu events; verified: %s\n", a->out, events_in(m, set, n) + 2, what);
    status = TOOL_EXIT_OK;
out:
    free(set);
    return status;
}

int trace_cmd_minimize(int argc, char **argv)
{
    struct minimize_args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc == 1)
        return TOOL_EXIT_OK;
    if (rc != 0)
        return rc;
    struct minimizer m = {.cmd = argv[0], .max_runs = 20000, .verbose = a.verbose};
    uint64_t timeout = 60, max_runs = m.max_runs;
    if (a.timeout && (!tool_parse_u64(a.timeout, &timeout) || timeout > 86400))
        return tool_usage_error(m.cmd, "--timeout '%s' is not a number of seconds", a.timeout);
    if (a.max_runs && (!tool_parse_u64(a.max_runs, &max_runs) || max_runs == 0))
        return tool_usage_error(m.cmd, "--max-runs '%s' is not a positive number", a.max_runs);
    m.max_runs = (unsigned long)max_runs;

    if (tool_load_trace(m.cmd, a.file, &m.trace) < 0)
        return TOOL_EXIT_ERROR;
    int status = TOOL_EXIT_ERROR;
    if (split_chunks(&m) < 0) {
        tool_error(m.cmd, "out of memory");
        goto out;
    }
    if (tool_replayer_init(m.cmd, a.replay, (unsigned)timeout, &m.rp) < 0)
        goto out;
    m.rp.verbose = false;
    m.rp.check = a.keep != NULL && strcmp(a.keep, "invariant") == 0;
    snprintf(m.candidate, sizeof(m.candidate), "%s/candidate.pcap", m.rp.scratch);
    status = minimize(&m, &a);
    tool_replayer_cleanup(&m.rp);
out:
    free(m.chunks);
    free(m.keep);
    tool_free_trace(&m.trace);
    if (fflush(stdout) != 0 && status == TOOL_EXIT_OK)
        status = TOOL_EXIT_ERROR;
    return status;
}
