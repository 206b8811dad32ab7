/* vcon-trace: running vcon-replay in a child process and telling how it
 * ended — a match, a divergence (and its kind), a crash (and its site, read
 * from the sanitizer's report) — for `minimize` and `to-test`. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace_tool.h"

/* Where the sources were, to tell the project's stack frames from the
 * runtime's (tools/CMakeLists.txt). */
#ifndef VCON_SOURCE_DIR
#define VCON_SOURCE_DIR ""
#endif

/* At most this much of a run's output is read. */
#define OUTPUT_LIMIT (4u << 20)

/* ---- finding vcon-replay -------------------------------------------------- */

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool find_beside_self(char *out, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    /* The same folder (an install), or the build tree's other folders. */
    static const char *const places[] = {"vcon-replay", "../replay/vcon-replay",
                                         "../tools/vcon-replay"};
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        if ((size_t)snprintf(out, size, "%s/%s", self, places[i]) < size && executable(out))
            return true;
    }
    return false;
}

static bool find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && (size_t)snprintf(out, size, "%.*s/%s", (int)n, path, name) < size &&
            executable(out))
            return true;
        path += n;
        if (*path == ':')
            path++;
    }
    return false;
}

int tool_replayer_init(const char *cmd, const char *given, unsigned timeout_s,
                       struct tool_replayer *rp)
{
    memset(rp, 0, sizeof(*rp));
    rp->timeout_s = timeout_s;
    if (given) {
        if (!executable(given)) {
            tool_error(cmd, "%s: not an executable replayer", given);
            return -1;
        }
        snprintf(rp->path, sizeof(rp->path), "%s", given);
    } else if (!find_beside_self(rp->path, sizeof(rp->path)) &&
               !find_in_path("vcon-replay", rp->path, sizeof(rp->path))) {
        tool_error(cmd, "cannot find vcon-replay beside vcon-trace or in PATH; "
                        "name it with --replay PATH");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if ((size_t)snprintf(rp->scratch, sizeof(rp->scratch), "%s/vcon-trace-XXXXXX", tmp) >=
            sizeof(rp->scratch) ||
        !mkdtemp(rp->scratch)) {
        tool_error(cmd, "cannot make a scratch folder in %s: %s", tmp, strerror(errno));
        rp->scratch[0] = '\0';
        return -1;
    }
    return 0;
}

static void scratch_file(const struct tool_replayer *rp, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", rp->scratch, name);
}

void tool_replayer_cleanup(struct tool_replayer *rp)
{
    if (!rp->scratch[0])
        return;
    static const char *const names[] = {"stdout", "stderr", "candidate.pcap"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        scratch_file(rp, names[i], path, sizeof(path));
        unlink(path);
    }
    rmdir(rp->scratch);
    rp->scratch[0] = '\0';
}

/* ---- reading a sanitizer report ------------------------------------------- */

/* A frame of a symbolized stack: "#3 0x55d4 in FUNC FILE:LINE:COL" or
 * "#3 0x55d4 in FUNC (MODULE+0x12)" or "#3 0x55d4 (MODULE+0x12)". */
struct frame {
    char func[160];
    char where[320];
};

static bool parse_frame(const char *line, struct frame *f)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line++ != '#' || !isdigit((unsigned char)*line))
        return false;
    while (isdigit((unsigned char)*line))
        line++;
    if (strncmp(line, " 0x", 3) != 0)
        return false;
    line += 3;
    while (isxdigit((unsigned char)*line))
        line++;
    while (*line == ' ')
        line++;
    f->func[0] = '\0';
    if (strncmp(line, "in ", 3) == 0) {
        line += 3;
        size_t n = strcspn(line, " \n");
        snprintf(f->func, sizeof(f->func), "%.*s", (int)n, line);
        line += n;
        while (*line == ' ')
            line++;
    }
    size_t n = strcspn(line, "\n");
    snprintf(f->where, sizeof(f->where), "%.*s", (int)n, line);
    return true;
}

/* "dir/file.c:12:5" -> "dir/file.c:12"; the project's folder taken off. */
static void tidy_location(const char *where, char *out, size_t size)
{
    size_t root = strlen(VCON_SOURCE_DIR);
    if (root && strncmp(where, VCON_SOURCE_DIR, root) == 0 && where[root] == '/')
        where += root + 1;
    snprintf(out, size, "%s", where);
    char *last = strrchr(out, ':');
    if (!last || !last[1] || strspn(last + 1, "0123456789") != strlen(last + 1))
        return;
    *last = '\0';
    char *line = strrchr(out, ':');
    if (!line || !line[1] || strspn(line + 1, "0123456789") != strlen(line + 1))
        *last = ':'; /* only one number: it was the line */
}

static bool in_project(const struct frame *f)
{
    size_t root = strlen(VCON_SOURCE_DIR);
    return root && strncmp(f->where, VCON_SOURCE_DIR, root) == 0 && f->where[root] == '/';
}

/* A frame with a source location outside the sanitizer runtime and libc. */
static bool in_user_source(const struct frame *f)
{
    static const char *const runtime[] = {"sanitizer", "compiler-rt", "/usr/include/",
                                          "glibc", "libc.so", "libc-"};
    if (f->where[0] == '(' || !strchr(f->where, ':'))
        return false;
    for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
        if (strstr(f->where, runtime[i]))
            return false;
    return strncmp(f->func, "__interceptor_", 14) != 0 && strncmp(f->func, "__asan", 6) != 0 &&
           strncmp(f->func, "__ubsan", 7) != 0 && strncmp(f->func, "__sanitizer", 11) != 0;
}

static void set_site(struct tool_outcome *o, const struct frame *f)
{
    char where[320];
    tidy_location(f->where, where, sizeof(where));
    if (f->func[0])
        snprintf(o->crash_site, sizeof(o->crash_site), "%s %s", f->func, where);
    else
        snprintf(o->crash_site, sizeof(o->crash_site), "%s", where);
}

static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl && nl[1] ? nl + 1 : NULL;
}

/* Picks the crash site from the first stack after `from`: the first frame
 * in the project's sources, else the first in any user source, else #0. */
static bool pick_site(const char *from, struct tool_outcome *o)
{
    struct frame first = {0}, user = {0}, f;
    bool have_first = false, have_user = false, in_stack = false;
    for (const char *line = from; line; line = next_line(line)) {
        if (!parse_frame(line, &f)) {
            if (in_stack)
                break; /* the first stack ends */
            continue;
        }
        in_stack = true;
        if (in_project(&f)) {
            set_site(o, &f);
            return true;
        }
        if (!have_user && in_user_source(&f)) {
            user = f;
            have_user = true;
        }
        if (!have_first) {
            first = f;
            have_first = true;
        }
    }
    if (have_user || have_first) {
        set_site(o, have_user ? &user : &first);
        return true;
    }
    return false;
}

bool tool_parse_crash_report(const char *text, struct tool_outcome *o)
{
    o->crash_type[0] = '\0';
    o->crash_site[0] = '\0';
    /* ASan, LSan, MSan, TSan, UBSan with a summary: "==123==ERROR: NAME: what ..." */
    const char *runtime = strstr(text, ": runtime error: ");
    for (const char *error = strstr(text, "ERROR: "); error && (!runtime || error < runtime);
         error = strstr(error + 7, "ERROR: ")) {
        const char *name = error + 7;
        size_t n = strcspn(name, "\n");
        char line[256];
        snprintf(line, sizeof(line), "%.*s", (int)n, name);
        /* "AddressSanitizer: heap-buffer-overflow on address ..." -> the first two words */
        char *colon = strstr(line, ": ");
        if (colon) {
            char *end = colon + 2 + strcspn(colon + 2, " ");
            *end = '\0';
        }
        if (strstr(line, "Sanitizer")) {
            snprintf(o->crash_type, sizeof(o->crash_type), "%.*s",
                     (int)(sizeof(o->crash_type) - 1), line);
            if (!pick_site(name, o))
                snprintf(o->crash_site, sizeof(o->crash_site), "(no stack)");
            return true;
        }
    }
    /* UBSan, first: "FILE:LINE:COL: runtime error: what" */
    if (runtime) {
        const char *start = runtime;
        while (start > text && start[-1] != '\n')
            start--;
        snprintf(o->crash_type, sizeof(o->crash_type), "UndefinedBehaviorSanitizer: runtime error");
        if (!pick_site(runtime, o)) {
            struct frame f = {0};
            snprintf(f.where, sizeof(f.where), "%.*s", (int)(runtime - start), start);
            set_site(o, &f);
        }
        return true;
    }
    return false;
}

/* "DIVERGENCE at event N (KIND)" in vcon-replay's report. */
static bool parse_divergence(const char *text, struct tool_outcome *o)
{
    const char *p = strstr(text, "DIVERGENCE at event ");
    if (!p)
        return false;
    p += strlen("DIVERGENCE at event ");
    char *end;
    errno = 0;
    unsigned long long event = strtoull(p, &end, 10);
    if (end == p || errno || strncmp(end, " (", 2) != 0)
        return false;
    size_t n = strcspn(end + 2, ")\n");
    if (end[2 + n] != ')')
        return false;
    o->div_event = event;
    snprintf(o->div_kind, sizeof(o->div_kind), "%.*s", (int)n, end + 2);
    return true;
}

/* "INVARIANT BROKEN after event N (KIND)" and "  invariant violated: NAME
 * (values)" in vcon-replay --check's report. */
static bool parse_invariant(const char *text, struct tool_outcome *o)
{
    const char *at = strstr(text, "INVARIANT BROKEN after event ");
    const char *p = strstr(text, "invariant violated: ");
    if (!p)
        return false;
    if (at)
        o->div_event = strtoull(at + strlen("INVARIANT BROKEN after event "), NULL, 10);
    p += strlen("invariant violated: ");
    const char *end = strstr(p, " (");
    const size_t n = end ? (size_t)(end - p) : strcspn(p, "\n");
    snprintf(o->invariant, sizeof(o->invariant), "%.*s", (int)n, p);
    return true;
}

/* ---- running it ------------------------------------------------------------ */

/* The output of a run, NUL-terminated; of a longer one only its last
 * OUTPUT_LIMIT bytes, where the reports are. */
static char *read_file_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    size_t size = 0;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0)
        size = (size_t)st.st_size;
    if (size > OUTPUT_LIMIT) {
        if (fseek(f, -(long)OUTPUT_LIMIT, SEEK_END) != 0) {
            fclose(f);
            return NULL;
        }
        size = OUTPUT_LIMIT;
    }
    char *buf = malloc(size + 1);
    size_t n = buf ? fread(buf, 1, size, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_fired = 1;
}

/* Waits for pid, killing it after timeout_s seconds (0: no limit). SIGALRM
 * (installed without SA_RESTART) interrupts the wait. */
static int wait_with_timeout(pid_t pid, unsigned timeout_s, bool *timed_out)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    alarm_fired = 0;
    *timed_out = false;
    alarm(timeout_s);
    int status = -1;
    for (;;) {
        pid_t got = waitpid(pid, &status, 0);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (alarm_fired && !*timed_out) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            *timed_out = true;
        }
    }
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    return status;
}

int tool_run_replay(const char *cmd, const struct tool_replayer *rp, const char *trace,
                    struct tool_outcome *o)
{
    memset(o, 0, sizeof(*o));
    char out_path[512], err_path[512];
    scratch_file(rp, "stdout", out_path, sizeof(out_path));
    scratch_file(rp, "stderr", err_path, sizeof(err_path));
    if (rp->verbose)
        fprintf(stderr, "vcon-trace %s: running %s %s\n", cmd, rp->path, trace);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        tool_error(cmd, "cannot start %s: %s", rp->path, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Its own process group, so that a time-out kills what it started. */
        setpgid(0, 0);
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(127);
        char *const plain[] = {(char *)rp->path, (char *)trace, NULL};
        char *const checking[] = {(char *)rp->path, "--check", (char *)trace, NULL};
        execv(rp->path, rp->check ? checking : plain);
        _exit(127);
    }
    bool timed_out;
    int status = wait_with_timeout(pid, rp->timeout_s, &timed_out);
    if (status == -1) {
        tool_error(cmd, "waiting for %s: %s", rp->path, strerror(errno));
        return -1;
    }
    o->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        tool_error(cmd, "cannot run %s", rp->path);
        return -1;
    }
    char *out = read_file_text(out_path);
    char *err = read_file_text(err_path);
    if (!out || !err) {
        free(out);
        free(err);
        tool_error(cmd, "cannot read the output of %s", rp->path);
        return -1;
    }
    if (timed_out) {
        o->kind = TOOL_OUTCOME_HANG;
    } else if (tool_parse_crash_report(err, o)) {
        o->kind = TOOL_OUTCOME_CRASH;
    } else if (WIFSIGNALED(status)) {
        o->kind = TOOL_OUTCOME_CRASH;
        snprintf(o->crash_type, sizeof(o->crash_type), "signal %d", WTERMSIG(status));
        snprintf(o->crash_site, sizeof(o->crash_site), "(no report)");
    } else if (o->status == 0) {
        o->kind = TOOL_OUTCOME_MATCH;
    } else if (o->status == 1 && parse_divergence(out, o)) {
        o->kind = TOOL_OUTCOME_DIVERGED;
    } else if (o->status == 2) {
        o->kind = TOOL_OUTCOME_UNREADABLE;
    } else if (o->status == 3 && parse_invariant(out, o)) {
        o->kind = TOOL_OUTCOME_INVARIANT;
    } else {
        o->kind = TOOL_OUTCOME_OTHER;
    }
    free(out);
    free(err);
    return 0;
}

bool tool_same_failure(const struct tool_outcome *a, const struct tool_outcome *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case TOOL_OUTCOME_CRASH:
        return strcmp(a->crash_site, b->crash_site) == 0;
    case TOOL_OUTCOME_DIVERGED:
        return strcmp(a->div_kind, b->div_kind) == 0;
    case TOOL_OUTCOME_INVARIANT:
        return strcmp(a->invariant, b->invariant) == 0;
    case TOOL_OUTCOME_OTHER:
        return a->status == b->status;
    default:
        return a->kind != TOOL_OUTCOME_MATCH;
    }
}

void tool_describe_outcome(const struct tool_outcome *o, char *buf, size_t size)
{
    switch (o->kind) {
    case TOOL_OUTCOME_MATCH:
        snprintf(buf, size, "match");
        break;
    case TOOL_OUTCOME_DIVERGED:
        snprintf(buf, size, "divergence at event %" PRIu64 " (%s)", o->div_event, o->div_kind);
        break;
    case TOOL_OUTCOME_UNREADABLE:
        snprintf(buf, size, "unreadable trace (exit status 2)");
        break;
    case TOOL_OUTCOME_CRASH:
        snprintf(buf, size, "crash: %s in %s", o->crash_type, o->crash_site);
        break;
    case TOOL_OUTCOME_HANG:
        snprintf(buf, size, "no answer within the time limit");
        break;
    case TOOL_OUTCOME_INVARIANT:
        snprintf(buf, size, "invariant violated: %s", o->invariant);
        break;
    default:
        snprintf(buf, size, "exit status %d", o->status);
        break;
    }
}
