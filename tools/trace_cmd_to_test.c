/* vcon-trace to-test: a cmocka regression test that replays a trace of
 * corpus/traces/ through the replayer library and expects what vcon-replay
 * gives today (a match, or a divergence at a given event of a given kind).
 * tests/CMakeLists.txt builds every tests/regress_*.c. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_tool.h"

static const char to_test_help[] =
    "usage: vcon-trace to-test FILE -o tests/regress_NAME.c [--corpus DIR]\n"
    "                          [--expect match|divergence] [--replay PATH] [--force]\n"
    "\n"
    "Writes a cmocka test that replays corpus/traces/BASENAME (FILE's name)\n"
    "through the replayer library and asserts the outcome vcon-replay gives\n"
    "FILE now: a match, or a divergence at the same event and of the same\n"
    "kind. FILE is copied into DIR/traces/ unless it is there already.\n"
    "tests/CMakeLists.txt builds every tests/regress_*.c as a test.\n"
    "\n"
    "  -o OUT            the test source; its name must be regress_NAME.c, NAME\n"
    "                    of lower-case letters, digits and '_'\n"
    "  --corpus DIR      the corpus folder (default: OUT's folder/../corpus)\n"
    "  --expect match    expect a match whatever FILE gives now (for a crash or\n"
    "                    a divergence about to be fixed)\n"
    "  --expect divergence  insist that FILE diverges now\n"
    "  --replay PATH     the vcon-replay to run (default: beside vcon-trace,\n"
    "                    else in PATH)\n"
    "  --force           overwrite OUT, and a different trace of the same name\n";

/* NAME from ".../regress_NAME.c", or NULL when the name does not fit. */
static char *test_name(const char *out)
{
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    size_t len = strlen(base);
    if (strncmp(base, "regress_", 8) != 0 || len <= 10 || strcmp(base + len - 2, ".c") != 0)
        return NULL;
    char *name = strndup(base + 8, len - 10);
    if (!name)
        return NULL;
    for (const char *p = name; *p; p++) {
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_') {
            free(name);
            return NULL;
        }
    }
    return name;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* 1 when both files hold the same bytes, 0 when not, -1 when one cannot be
 * read. */
static int same_contents(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int rc = fa && fb ? 1 : -1;
    while (rc == 1) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb)
            rc = 0;
        else if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return rc;
}

static int copy_file(const char *cmd, const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        tool_error(cmd, "%s: %s", from, strerror(errno));
        return -1;
    }
    FILE *out = fopen(to, "wb");
    if (!out) {
        tool_error(cmd, "%s: %s", to, strerror(errno));
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (ferror(in))
        rc = -1;
    fclose(in);
    if (fclose(out) != 0)
        rc = -1;
    if (rc < 0) {
        tool_error(cmd, "copying %s to %s failed", from, to);
        unlink(to);
    }
    return rc;
}

static void print_c_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf(out, "\\%03o", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

struct expectation {
    bool divergence;
    uint64_t event;
    char kind[32];
};

static int write_test(const char *cmd, const char *out, const char *name, const char *trace_base,
                      const struct expectation *e)
{
    FILE *f = fopen(out, "w");
    if (!f) {
        tool_error(cmd, "%s: cannot create: %s", out, strerror(errno));
        return -1;
    }
    char func[160], kind_lower[32];
    size_t i = 0;
    for (; e->kind[i] && i + 1 < sizeof(kind_lower); i++)
        kind_lower[i] = (char)tolower((unsigned char)e->kind[i]);
    kind_lower[i] = '\0';
    if (e->divergence)
        snprintf(func, sizeof(func), "%.60s_diverges_at_event_%" PRIu64 "_%s", name, e->event,
                 kind_lower);
    else
        snprintf(func, sizeof(func), "%.60s_replays_without_divergence", name);

    fprintf(f, "/* Regression test written by `vcon-trace to-test` (docs/vcon-trace.md):\n"
               " * replaying corpus/traces/%s through the replayer library\n",
            trace_base);
    if (e->divergence)
        fprintf(f, " * diverges at event %" PRIu64 " (%s), as it did when this was written.\n",
                e->event, e->kind);
    else
        fprintf(f, " * matches the recording to its end.\n");
    fprintf(f, " * Regenerate it rather than edit it. */\n"
               "#include <stdarg.h>\n"
               "#include <stddef.h>\n"
               "#include <setjmp.h>\n"
               "#include <stdint.h>\n"
               "#include <cmocka.h>\n"
               "\n"
               "#include <stdio.h>\n"
               "\n"
               "#include \"vcon/replayer.h\"\n"
               "#include \"vcon/trace.h\"\n"
               "\n"
               "#ifndef VCON_CORPUS_DIR\n"
               "#error \"VCON_CORPUS_DIR must name the corpus folder (tests/CMakeLists.txt)\"\n"
               "#endif\n"
               "\n"
               "static const char trace_path[] = VCON_CORPUS_DIR \"/traces/\" ");
    print_c_string(f, trace_base);
    fprintf(f, ";\n"
               "\n"
               "static void %s(void **state)\n"
               "{\n"
               "    (void)state;\n"
               "    const struct vcon_replay_options options = {.mode = VCON_REPLAY_AUTO};\n"
               "    struct vcon_replayer *r = NULL;\n"
               "    assert_int_equal(vcon_replay_open(trace_path, &options, &r), 0);\n"
               "    const enum vcon_replay_status status = vcon_replay_run(r);\n"
               "    struct vcon_replay_result result;\n"
               "    vcon_replay_get_result(r, &result);\n",
            func);
    if (e->divergence)
        fprintf(f, "    if (status != VCON_REPLAY_DIVERGED || result.event != %" PRIu64 "u)\n",
                e->event);
    else
        fprintf(f, "    if (status != VCON_REPLAY_MATCH)\n");
    fprintf(f, "        vcon_replay_print_report(r, stderr);\n"
               "    const uint64_t event = result.event;\n"
               "    const unsigned kind = result.kind;\n"
               "    vcon_replay_close(r);\n"
               "\n");
    if (e->divergence) {
        fprintf(f,
                "    assert_int_equal(status, VCON_REPLAY_DIVERGED);\n"
                "    assert_int_equal(event, %" PRIu64 "u);\n"
                "    assert_string_equal(vcon_trace_kind_name(kind), ",
                e->event);
        print_c_string(f, e->kind);
        fprintf(f, ");\n");
    } else {
        fprintf(f, "    assert_int_equal(status, VCON_REPLAY_MATCH);\n"
                   "    (void)event;\n"
                   "    (void)kind;\n");
    }
    fprintf(f, "}\n"
               "\n"
               "int main(void)\n"
               "{\n"
               "    const struct CMUnitTest tests[] = {\n"
               "        cmocka_unit_test(%s),\n"
               "    };\n"
               "    return cmocka_run_group_tests(tests, NULL, NULL);\n"
               "}\n",
            func);
    if (ferror(f) | (fclose(f) != 0)) {
        tool_error(cmd, "%s: write error", out);
        unlink(out);
        return -1;
    }
    return 0;
}

struct to_test_args {
    const char *file, *out, *corpus, *expect, *replay;
    bool force;
};

/* What the test will expect: from a replay of the trace now, or --expect. */
static int decide(const char *cmd, const struct to_test_args *a, struct expectation *e)
{
    memset(e, 0, sizeof(*e));
    struct tool_replayer rp;
    if (tool_replayer_init(cmd, a->replay, 60, &rp) < 0)
        return TOOL_EXIT_ERROR;
    struct tool_outcome o;
    int rc = tool_run_replay(cmd, &rp, a->file, &o);
    tool_replayer_cleanup(&rp);
    if (rc < 0)
        return TOOL_EXIT_ERROR;
    char what[700];
    tool_describe_outcome(&o, what, sizeof(what));
    bool want_match = a->expect && strcmp(a->expect, "match") == 0;
    if (o.kind == TOOL_OUTCOME_UNREADABLE) {
        tool_error(cmd, "%s: vcon-replay cannot read it (exit status 2)", a->file);
        return TOOL_EXIT_ERROR;
    }
    if (want_match) {
        if (o.kind != TOOL_OUTCOME_MATCH)
            fprintf(stderr, "vcon-trace %s: note: %s gives %s today: the test fails until "
                            "that is fixed\n",
                    cmd, a->file, what);
        return 0;
    }
    if (o.kind == TOOL_OUTCOME_DIVERGED) {
        e->divergence = true;
        e->event = o.div_event;
        snprintf(e->kind, sizeof(e->kind), "%s", o.div_kind);
        return 0;
    }
    if (o.kind == TOOL_OUTCOME_MATCH && !a->expect)
        return 0;
    tool_error(cmd, "%s: vcon-replay gives %s; a test can expect a match or a divergence%s",
               a->file, what,
               o.kind == TOOL_OUTCOME_MATCH ? "" : " (--expect match writes one for the fix)");
    return TOOL_EXIT_DIFFERENT;
}

/* Puts FILE at corpus/traces/BASE; returns 0 or an exit status. */
static int place_trace(const char *cmd, const struct to_test_args *a, const char *corpus,
                       const char *base)
{
    char dir[4096], dest[4096];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/traces", corpus) >= sizeof(dir) ||
        (size_t)snprintf(dest, sizeof(dest), "%s/%s", dir, base) >= sizeof(dest)) {
        tool_error(cmd, "%s: path too long", corpus);
        return TOOL_EXIT_ERROR;
    }
    if (same_file(a->file, dest))
        return 0;
    struct stat st;
    if (stat(dest, &st) == 0) {
        int same = same_contents(a->file, dest);
        if (same == 1)
            return 0;
        if (!a->force) {
            tool_error(cmd, "%s exists and differs from %s; rename the trace or pass --force",
                       dest, a->file);
            return TOOL_EXIT_ERROR;
        }
    }
    if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tool_error(cmd, "%s: no such corpus folder (--corpus DIR)", corpus);
        return TOOL_EXIT_ERROR;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        tool_error(cmd, "%s: %s", dir, strerror(errno));
        return TOOL_EXIT_ERROR;
    }
    if (copy_file(cmd, a->file, dest) < 0)
        return TOOL_EXIT_ERROR;
    printf("copied %s to %s\n", a->file, dest);
    return 0;
}

int trace_cmd_to_test(int argc, char **argv)
{
    const char *cmd = argv[0];
    struct to_test_args a = {0};
    const struct tool_option options[] = {
        {.name = "-o", .takes_value = true, .value = &a.out},
        {.name = "--output", .takes_value = true, .value = &a.out},
        {.name = "--corpus", .takes_value = true, .value = &a.corpus},
        {.name = "--expect", .takes_value = true, .value = &a.expect},
        {.name = "--replay", .takes_value = true, .value = &a.replay},
        {.name = "--force", .flag = &a.force},
        {0},
    };
    int rc = tool_args_one_trace(cmd, argc, argv, options, to_test_help, &a.file);
    if (rc >= 0)
        return rc;
    if (!a.out)
        return tool_usage_error(cmd, "-o tests/regress_NAME.c is required");
    if (a.expect && strcmp(a.expect, "match") != 0 && strcmp(a.expect, "divergence") != 0)
        return tool_usage_error(cmd, "--expect '%s': expected match or divergence", a.expect);
    char *name = test_name(a.out);
    if (!name)
        return tool_usage_error(cmd, "%s: the test must be named regress_NAME.c, NAME of "
                                     "lower-case letters, digits and '_'",
                                a.out);
    const char *base = strrchr(a.file, '/');
    base = base ? base + 1 : a.file;

    int status = TOOL_EXIT_ERROR;
    char *corpus = NULL, *out_dir = NULL;
    struct expectation e;
    struct stat st;
    if (!a.force && stat(a.out, &st) == 0) {
        tool_error(cmd, "%s exists; pass --force to overwrite it", a.out);
        goto out;
    }
    /* Readable, whole or cut short: the replayer reads what is there. */
    struct tool_trace t;
    if (tool_load_trace(cmd, a.file, &t) < 0)
        goto out;
    tool_free_trace(&t);
    status = decide(cmd, &a, &e);
    if (status != 0)
        goto out;
    status = TOOL_EXIT_ERROR;
    if (a.corpus) {
        corpus = strdup(a.corpus);
    } else if ((out_dir = dir_of(a.out)) != NULL) {
        size_t n = strlen(out_dir) + 16;
        corpus = malloc(n);
        if (corpus)
            snprintf(corpus, n, "%s/../corpus", out_dir);
    }
    if (!corpus) {
        tool_error(cmd, "out of memory");
        goto out;
    }
    if (place_trace(cmd, &a, corpus, base) != 0)
        goto out;
    if (write_test(cmd, a.out, name, base, &e) < 0)
        goto out;
    if (e.divergence)
        printf("wrote %s: replays corpus/traces/%s, expects a divergence at event %" PRIu64
               " (%s)\n",
               a.out, base, e.event, e.kind);
    else
        printf("wrote %s: replays corpus/traces/%s, expects a match\n", a.out, base);
    status = TOOL_EXIT_OK;
out:
    free(name);
    free(corpus);
    free(out_dir);
    return status;
}
