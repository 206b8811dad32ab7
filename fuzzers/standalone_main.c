/* A main() for running fuzz inputs without an engine (gcc builds, CI, the
 * corpus tests): every file named on the command line, and every file in
 * every folder named (sorted by name, recursively), goes through
 * LLVMFuzzerTestOneInput once, in an exactly-sized heap copy so that the
 * sanitizers see any read past its end.
 *
 *   fuzz_TARGET_standalone [--check-order] [--print-hashes] [--timeout S] FILE|DIR...
 *
 * --check-order runs the inputs forward, then backward, in this one
 * process, and compares each input's result hash (fuzz_common.h) between
 * the two orders: any difference means state leaked from one input into
 * the next. --timeout S (or libFuzzer's -timeout=S) makes an input that
 * runs longer than S seconds a failure: the runner names it and aborts, as
 * libFuzzer does with a hang (the corpus tests use 10, so that a hang
 * regression fails them). Other arguments starting with '-' (libFuzzer
 * flags such as -runs=0) are ignored, so scripts can pass the same
 * arguments to either kind of binary. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "vcon/trace.h"

struct file_list {
    char **path;
    size_t count, capacity;
};

static void add_path(struct file_list *list, const char *path)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        char **grown = realloc(list->path, capacity * sizeof(*grown));
        if (grown == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        list->path = grown;
        list->capacity = capacity;
    }
    list->path[list->count] = strdup(path);
    if (list->path[list->count] == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    list->count++;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(struct file_list *list, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_path(list, path);
        return;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    struct file_list here = {0};
    for (struct dirent *e = readdir(dir); e != NULL; e = readdir(dir)) {
        if (e->d_name[0] == '.')
            continue;
        const size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(len);
        if (child == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        snprintf(child, len, "%s/%s", path, e->d_name);
        add_path(&here, child);
        free(child);
    }
    closedir(dir);
    /* readdir order depends on the file system: sort for a fixed order. */
    if (here.count > 1)
        qsort(here.path, here.count, sizeof(*here.path), compare_names);
    for (size_t i = 0; i < here.count; i++) {
        collect(list, here.path[i]);
        free(here.path[i]);
    }
    free(here.path);
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    size_t capacity = 4096, len = 0;
    uint8_t *buf = malloc(capacity);
    for (;;) {
        if (buf == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        len += fread(buf + len, 1, capacity - len, f);
        if (len < capacity)
            break;
        capacity *= 2;
        buf = realloc(buf, capacity);
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error\n", path);
        exit(2);
    }
    fclose(f);
    /* Exactly sized, so that a read past the end is an ASan report. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(exact, buf, len);
    free(buf);
    *size = len;
    return exact;
}

/* The input running now and the time limit, for the alarm handler. */
static const char *running_path;
static unsigned timeout_s;

static void on_timeout(int sig)
{
    (void)sig;
    vcon_crash_message("vcon-fuzz: timeout: ");
    vcon_crash_message(running_path ? running_path : "(no input)");
    vcon_crash_message(" ran longer than --timeout\n");
    abort();
}

static uint64_t run_one(const char *path)
{
    size_t size;
    uint8_t *data = read_file(path, &size);
    running_path = path;
    if (timeout_s > 0)
        alarm(timeout_s);
    LLVMFuzzerTestOneInput(data, size);
    alarm(0);
    free(data);
    return vcon_fuzz_result();
}

/* "--timeout S" (two arguments) or "-timeout=S"; false when `arg` is
 * neither. */
static bool timeout_arg(int argc, char **argv, int *i)
{
    const char *value = NULL;
    if (strcmp(argv[*i], "--timeout") == 0 && *i + 1 < argc)
        value = argv[++*i];
    else if (strncmp(argv[*i], "-timeout=", 9) == 0)
        value = argv[*i] + 9;
    if (value == NULL)
        return false;
    char *end;
    const unsigned long s = strtoul(value, &end, 10);
    if (*value == '\0' || *end != '\0' || s > 86400) {
        fprintf(stderr, "%s: --timeout wants whole seconds (0 to 86400), not '%s'\n", argv[0], value);
        exit(2);
    }
    timeout_s = (unsigned)s;
    return true;
}

int main(int argc, char **argv)
{
    struct file_list files = {0};
    bool check_order = false, print_hashes = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-order") == 0)
            check_order = true;
        else if (strcmp(argv[i], "--print-hashes") == 0)
            print_hashes = true;
        else if (timeout_arg(argc, argv, &i))
            continue;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--check-order] [--print-hashes] [--timeout S] FILE|DIR...\n"
                   "Runs every FILE, and every file under each DIR (sorted by name), through the\n"
                   "fuzz target once. --check-order runs them again backward and compares each\n"
                   "input's result; --print-hashes prints them; --timeout S (or -timeout=S)\n"
                   "aborts on an input that runs longer than S seconds. Exit 0, 1 when results\n"
                   "depend on the order, 2 on bad arguments; a failed check aborts.\n",
                   argv[0]);
            return 0;
        } else if (argv[i][0] == '-')
            continue; /* an engine flag */
        else
            collect(&files, argv[i]);
    }
    if (files.count == 0) {
        fprintf(stderr, "%s: no input files (usage: %s [--check-order] FILE|DIR...)\n", argv[0],
                argv[0]);
        return 2;
    }

    if (timeout_s > 0 && signal(SIGALRM, on_timeout) == SIG_ERR) {
        fprintf(stderr, "%s: cannot set the timeout: %s\n", argv[0], strerror(errno));
        return 2;
    }
    uint64_t *forward = calloc(files.count, sizeof(*forward));
    if (forward == NULL)
        return 2;
    for (size_t i = 0; i < files.count; i++) {
        forward[i] = run_one(files.path[i]);
        if (print_hashes)
            printf("%016llx  %s\n", (unsigned long long)forward[i], files.path[i]);
    }
    size_t mismatches = 0;
    if (check_order) {
        for (size_t i = files.count; i-- > 0;) {
            const uint64_t backward = run_one(files.path[i]);
            if (backward != forward[i]) {
                fprintf(stderr, "%s: result %016llx forward, %016llx backward\n", files.path[i],
                        (unsigned long long)forward[i], (unsigned long long)backward);
                mismatches++;
            }
        }
    }
    fprintf(stderr, "%s: %zu input(s) run%s", argv[0], files.count,
            check_order ? " forward and backward" : "");
    if (check_order)
        fprintf(stderr, ", %zu order-dependent result(s)", mismatches);
    fprintf(stderr, "\n");
    for (size_t i = 0; i < files.count; i++)
        free(files.path[i]);
    free(files.path);
    free(forward);
    return mismatches ? 1 : 0;
}
