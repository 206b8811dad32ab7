/* fuzz-exec-bench: executions per second of every libFuzzer target, next
 * to an empty target built the same way (bench/CMakeLists.txt: the build's
 * libFuzzer and sanitizers), measured in the same run on the same inputs
 * with the same max_len, and the ratio of the two. Prints figures
 * and each aim against its figure; passes or fails nothing.
 *
 *   fuzz-exec-bench [--seconds S] [--repeat N] [--target NAME]... FUZZ_BIN_DIR EMPTY_BIN CORPUS_DIR
 *
 * Seconds are CPU seconds of the libFuzzer process (user and system, from
 * getrusage): load from elsewhere on a shared machine delays a run without
 * adding to them. Each figure is the best of N measurements (default 3),
 * the target's and the empty target's taken in turn, and each measurement
 * takes off the time of a baseline run (start-up, and what comes before
 * the runs counted).
 * Four measures per target, each next to the empty target's:
 *   - fuzzing: `fuzz_TARGET -runs=N -seed=1 -max_len=M NEW_DIR CORPUS_DIR/TARGET`
 *     (new inputs go to a scratch folder, never into the corpus), N doubled
 *     until the runs take at least S seconds (default 1), for each program
 *     on its own (the empty target is a hundred times faster); the
 *     baseline is -runs=0 (start-up and the pass over the corpus, whose
 *     runs libFuzzer counts in N and this program does not), so the
 *     figure is the fuzzing loop's own rate. A target that finds a crash
 *     in that time has no figure here: the cell names what libFuzzer
 *     found (crash, leak, timeout, oom), or says "failed" for any other
 *     failure (every measure does the same).
 *   - seeds: `fuzz_TARGET -runs=K -max_len=M FILE...`, every seed file run K times
 *     (libFuzzer reads the file before each run), the baseline K = 1, and
 *     the same K for both programs, doubled until each takes at least S
 *     seconds: a fixed set of inputs run a fixed number of times. The aims
 *     are read against this measure.
 *   - scratch: as fuzzing, from an empty corpus: inputs stay short (libFuzzer
 *     lets their length grow slowly), so this is about the cost of starting
 *     and resetting a run more than about the work of one. A target that
 *     cannot start from nothing shows "failed".
 *   - reset: as scratch with -max_len=1: no input is longer than one byte
 *     (for most targets a configuration byte and no op), so the target does
 *     only what every run does, whatever its input: start, bring its device
 *     up where it needs one, check, reset. The ceiling of the other ratios.
 * In the fuzzing measures the two corpora differ in one way that cannot be
 * helped: libFuzzer keeps only inputs that reach new coverage, so the
 * empty target's corpus shrinks to one input of one byte, while the
 * target's grows to inputs of hundreds of bytes, each a session of device
 * accesses. New inputs go to /dev/shm when it is there, so that the disk
 * is not what is measured.
 * max_len comes from fuzzers/TARGET.options when it is there (the corpus
 * folder's sibling fuzzers/). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *const all_targets[] = {"uart",    "virtq",        "console_ctrl", "console",
                                          "options", "api", "trace_reader", "replay"};

/* The aims of docs/fuzzing.md ("Benchmark"), on the seeds measure: a fixed
 * number of runs of fixed inputs, the same for both programs. */
static const struct {
    const char *target;
    double percent;
} aims[] = {{"uart", 30}, {"virtq", 10}, {"console_ctrl", 10}, {"console", 10}};

/* How the fuzz targets of the build this program comes from were built
 * (bench/CMakeLists.txt); the empty target is built the same way. */
#ifndef VCON_BENCH_SANITIZERS
#define VCON_BENCH_SANITIZERS "ASan+UBSan"
#endif

static void empty_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static double children_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Runs argv with its output thrown away: the CPU seconds (user and
 * system) it took, or a negative value if it did not exit 0. CPU time, not
 * wall time: on a shared machine, load delays a run without costing it CPU
 * time, and what is measured is what a run costs. */
static double spawn_cpu_seconds(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int status;
    /* The children's CPU time grows by this child's when it is waited for
     * (this program runs one child at a time). */
    const double before = children_cpu_seconds();
    const int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return children_cpu_seconds() - before;
}

/* The seed files of a corpus folder, sorted. */
static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **seed_files(const char *corpus, unsigned *n)
{
    DIR *d = opendir(corpus);
    char **files = NULL;
    *n = 0;
    if (d == NULL)
        return NULL;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        char **grown = realloc(files, (*n + 1) * sizeof(*files));
        if (grown == NULL)
            break;
        files = grown;
        const size_t len = strlen(corpus) + strlen(e->d_name) + 2;
        files[*n] = malloc(len);
        if (files[*n] == NULL)
            break;
        snprintf(files[*n], len, "%s/%s", corpus, e->d_name);
        (*n)++;
    }
    closedir(d);
    if (*n > 1)
        qsort(files, *n, sizeof(*files), compare);
    return files;
}

/* One measure of a program. */
struct measure {
    enum { FUZZING, SEEDS } kind;
    unsigned max_len;
    const char *scratch, *corpus;
    unsigned corpus_files; /* FUZZING: the inputs in `corpus` */
    char **files;          /* SEEDS: the seed files, run in turn */
    unsigned nfiles;
    double seconds;
};

/* What the last process that failed left in the scratch folder, for its
 * cell: libFuzzer names an input that crashed, leaked, timed out or ran
 * out of memory by what it did. Any other failure (a wrong path, an exit
 * before the runs) is "failed". */
static char failed_program[PATH_MAX];
static const char *failed_as = "failed";

static const char *artifact_kind(const char *dir)
{
    static const char *const kinds[] = {"crash", "leak", "timeout", "oom"};
    const char *found = "failed";
    DIR *d = opendir(dir);
    if (d == NULL)
        return found;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            const size_t n = strlen(kinds[k]);
            if (strncmp(e->d_name, kinds[k], n) == 0 && e->d_name[n] == '-')
                found = kinds[k];
        }
    closedir(d);
    return found;
}

/* One libFuzzer process for a measure: `-runs=N` of the fuzzing loop, or
 * every seed file N times. CPU seconds or a negative value. */
static double run_once(const char *program, const struct measure *m, unsigned long runs)
{
    char runs_arg[64], len_arg[64], artifacts[PATH_MAX + 32];
    double t = -1;
    snprintf(runs_arg, sizeof(runs_arg), "-runs=%lu", runs);
    snprintf(len_arg, sizeof(len_arg), "-max_len=%u", m->max_len);
    /* A crash's input goes to the scratch folder, not the current one. */
    snprintf(artifacts, sizeof(artifacts), "-artifact_prefix=%s/", m->scratch);
    empty_folder(m->scratch);
    if (m->kind == SEEDS) {
        char **argv = calloc(m->nfiles + 5, sizeof(*argv));
        if (argv == NULL)
            return -1;
        argv[0] = (char *)program;
        argv[1] = runs_arg;
        argv[2] = len_arg;
        argv[3] = artifacts;
        for (unsigned i = 0; i < m->nfiles; i++)
            argv[4 + i] = m->files[i];
        t = spawn_cpu_seconds(argv);
        free(argv);
    } else {
        char *const argv[] = {(char *)program, runs_arg, "-seed=1", len_arg, "-print_final_stats=0",
                              artifacts, (char *)m->scratch, (char *)m->corpus, NULL};
        t = spawn_cpu_seconds(argv);
    }
    if (t < 0) {
        snprintf(failed_program, sizeof(failed_program), "%s", program);
        failed_as = artifact_kind(m->scratch);
    }
    return t;
}

/* The runs a measure counts at size N, and the size of its baseline, whose
 * time is taken off: start-up and, for fuzzing, the pass over the corpus
 * (an empty input, then each file), which libFuzzer counts in -runs; for
 * seeds, the first run of each file. */
static unsigned long counted_runs(const struct measure *m, unsigned long n)
{
    if (m->kind == SEEDS)
        return (n - 1) * m->nfiles;
    const unsigned long pass = m->corpus_files + 1ul;
    return n > pass ? n - pass : 0;
}

static unsigned long baseline_size(const struct measure *m)
{
    return m->kind == SEEDS ? 1 : 0;
}

/* The CPU seconds of the counted runs at size N (the difference of two
 * processes' times: at small sizes it can be zero or less); false if a
 * process failed. */
static bool cost(const char *program, const struct measure *m, unsigned long n, double *seconds)
{
    const double base = run_once(program, m, baseline_size(m));
    const double t = base < 0 ? -1 : run_once(program, m, n);
    *seconds = t - base;
    return t >= 0;
}

/* The first size, doubled until the counted runs of every program given
 * take at least m->seconds (or a limit): the size, 0 on a failure. Each
 * program's baseline is run once here, not at every size (the measurements
 * after this take a fresh one each). */
static unsigned long size_for(const char *const *programs, unsigned nprograms,
                              const struct measure *m)
{
    const unsigned long limit = m->kind == SEEDS ? 1ul << 20 : 1ul << 26;
    double base[2];
    if (nprograms > 2)
        return 0;
    for (unsigned p = 0; p < nprograms; p++)
        if ((base[p] = run_once(programs[p], m, baseline_size(m))) < 0)
            return 0;
    for (unsigned long n = m->kind == SEEDS ? 2 : 1000;; n *= 2) {
        bool long_enough = true;
        for (unsigned p = 0; p < nprograms && long_enough; p++) {
            const double t = run_once(programs[p], m, n);
            if (t < 0)
                return 0;
            long_enough = t - base[p] >= m->seconds;
        }
        if (long_enough || n >= limit)
            return n;
    }
}

/* Executions per CPU second at size N, or a negative value: a failed
 * process, or runs too short to time (under a tenth of the time asked
 * for: a size limit reached). */
static double rate_at(const char *program, const struct measure *m, unsigned long n)
{
    double t;
    if (n == 0 || !cost(program, m, n, &t) || t < m->seconds / 10)
        return -1;
    return (double)counted_runs(m, n) / t;
}

/* The best of `repeat` measurements of the target and of the empty target,
 * taken in turn. The seeds measure gives both the same number of runs
 * (enough for each to take the time asked for): a fixed set of inputs run
 * a fixed number of times. The fuzzing measures, where the empty target is
 * a hundred times faster, give each its own. A failure counts only if
 * every measurement failed. */
static void measure_both(const char *program, const char *empty_program, const struct measure *m,
                         unsigned repeat, double *rate, double *empty, const char **failure)
{
    *rate = *empty = -1;
    *failure = "failed";
    failed_program[0] = 0;
    if (m->kind == SEEDS && m->nfiles == 0)
        return;
    unsigned long n, n_empty;
    if (m->kind == SEEDS) {
        const char *const both[] = {empty_program, program};
        n = n_empty = size_for(both, 2, m);
        if (n == 0) /* a seed the target fails on: the empty target still has a figure */
            n_empty = size_for(&empty_program, 1, m);
    } else {
        n = size_for(&program, 1, m);
        n_empty = size_for(&empty_program, 1, m);
    }
    for (unsigned r = 0; r < repeat; r++) {
        const double a = rate_at(program, m, n), b = rate_at(empty_program, m, n_empty);
        *rate = a > *rate ? a : *rate;
        *empty = b > *empty ? b : *empty;
    }
    if (*rate < 0 && strcmp(failed_program, program) == 0)
        *failure = failed_as;
}

static void cell(char *out, size_t len, double rate, const char *failure)
{
    if (rate < 0)
        snprintf(out, len, "%s", failure);
    else
        snprintf(out, len, "%.0f", rate);
}

/* One measure's three columns: the target, the empty target, the ratio. */
static void print_measure(double rate, double empty, const char *failure, const char *end)
{
    char a[32], b[32], c[32];
    cell(a, sizeof(a), rate, failure);
    cell(b, sizeof(b), empty, "failed");
    if (rate < 0 || empty <= 0)
        snprintf(c, sizeof(c), "-");
    else
        snprintf(c, sizeof(c), "%.1f%%", 100.0 * rate / empty);
    printf(" %9s %9s %6s%s", a, b, c, end);
}

static unsigned options_max_len(const char *corpus_dir, const char *target)
{
    char path[PATH_MAX + 64], line[256];
    unsigned max_len = 4096;
    snprintf(path, sizeof(path), "%s/../fuzzers/%s.options", corpus_dir, target);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return max_len;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned v;
        if (sscanf(line, " max_len = %u", &v) == 1)
            max_len = v;
    }
    fclose(f);
    return max_len;
}

/* Each measured target that has an aim, against it. */
static void print_aims(const char *const *chosen, unsigned n, const double *seeds_percent)
{
    bool any = false;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned a = 0; a < sizeof(aims) / sizeof(aims[0]); a++) {
            if (strcmp(chosen[i], aims[a].target) != 0)
                continue;
            printf("%s%s ", any ? ", " : "aims, on the seeds: ", chosen[i]);
            if (seeds_percent[i] < 0)
                printf("no figure (aim %.0f%%)", aims[a].percent);
            else
                printf("%.1f%% (aim %.0f%%: %s)", seeds_percent[i], aims[a].percent,
                       seeds_percent[i] >= aims[a].percent ? "met" : "not met");
            any = true;
        }
    }
    if (any)
        printf("\n");
}

static int usage(const char *program)
{
    fprintf(stderr, "usage: %s [--seconds S] [--repeat N] [--target NAME]... FUZZ_BIN_DIR EMPTY_BIN "
                    "CORPUS_DIR\n", program);
    return 2;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    unsigned repeat = 3;
    const char *pos[3];
    unsigned npos = 0;
    const char *chosen[16];
    unsigned nchosen = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0 && seconds <= 3600)) {
                fprintf(stderr, "%s: --seconds wants a number of seconds above 0, not '%s'\n",
                        argv[0], argv[i]);
                return 2;
            }
        }
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
            repeat = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--target") == 0 && i + 1 < argc && nchosen < 16)
            chosen[nchosen++] = argv[++i];
        else if (argv[i][0] != '-' && npos < 3)
            pos[npos++] = argv[i];
        else
            return usage(argv[0]);
    }
    if (npos != 3)
        return usage(argv[0]);
    if (nchosen == 0)
        for (unsigned i = 0; i < sizeof(all_targets) / sizeof(all_targets[0]); i++)
            chosen[nchosen++] = all_targets[i];

    struct stat st;
    const char *tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    char scratch[PATH_MAX], nothing[PATH_MAX];
    snprintf(scratch, sizeof(scratch), "%s/fuzz-exec-bench.XXXXXX", tmp);
    snprintf(nothing, sizeof(nothing), "%s/fuzz-exec-bench-empty.XXXXXX", tmp);
    if (mkdtemp(scratch) == NULL || mkdtemp(nothing) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    printf("libFuzzer + " VCON_BENCH_SANITIZERS " (this build's), executions per CPU second; "
           "fuzzing: -seed=1 on the seed corpus; seeds: every seed file run K times, the same K "
           "for both; scratch: -seed=1 from an empty corpus; reset: the same, inputs of one "
           "byte at most; at least %g s each, best of %u\n", seconds, repeat);
    double seeds_percent[16];
    printf("%-13s %7s | %9s %9s %6s | %9s %9s %6s | %9s %9s %6s | %9s %9s %6s\n", "target",
           "max_len", "fuzzing", "empty", "ratio", "seeds", "empty", "ratio", "scratch", "empty",
           "ratio", "reset", "empty", "ratio");
    for (unsigned i = 0; i < nchosen; i++) {
        char program[PATH_MAX + 64], corpus[PATH_MAX + 64];
        snprintf(program, sizeof(program), "%s/fuzz_%s", pos[0], chosen[i]);
        snprintf(corpus, sizeof(corpus), "%s/%s", pos[2], chosen[i]);
        const unsigned max_len = options_max_len(pos[2], chosen[i]);
        printf("%-13s %7u |", chosen[i], max_len);
        fflush(stdout);
        struct measure m = {.kind = FUZZING, .max_len = max_len, .scratch = scratch,
                            .corpus = corpus, .seconds = seconds};
        m.files = seed_files(corpus, &m.nfiles);
        m.corpus_files = m.nfiles;
        double rate, empty;
        const char *failure;
        measure_both(program, pos[1], &m, repeat, &rate, &empty, &failure);
        print_measure(rate, empty, failure, " |");
        fflush(stdout);
        m.kind = SEEDS;
        measure_both(program, pos[1], &m, repeat, &rate, &empty, &failure);
        print_measure(rate, empty, failure, " |");
        fflush(stdout);
        seeds_percent[i] = rate >= 0 && empty > 0 ? 100.0 * rate / empty : -1;
        for (unsigned f = 0; f < m.nfiles; f++)
            free(m.files[f]);
        free(m.files);
        m.kind = FUZZING;
        m.corpus = nothing;
        m.corpus_files = 0;
        measure_both(program, pos[1], &m, repeat, &rate, &empty, &failure);
        print_measure(rate, empty, failure, " |");
        fflush(stdout);
        m.max_len = 1;
        measure_both(program, pos[1], &m, repeat, &rate, &empty, &failure);
        print_measure(rate, empty, failure, "\n");
        fflush(stdout);
    }
    print_aims(chosen, nchosen, seeds_percent);
    empty_folder(scratch);
    rmdir(scratch);
    rmdir(nothing);
    return 0;
}
