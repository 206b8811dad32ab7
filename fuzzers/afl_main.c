/* AFL++ driver: persistent mode with shared-memory input. One process runs
 * many inputs (the targets reset their state between inputs, docs/fuzzing.md)
 * and takes each one straight from the shared-memory test case, not from a
 * file. Built only by afl-clang-fast / afl-clang-lto, which define the
 * __AFL_* macros (see fuzzers/CMakeLists.txt).
 *
 * Outside afl-fuzz (no shared memory) the same binary runs the files named
 * on its command line once each, to reproduce a crash:
 *   fuzz_TARGET crash-file... */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

/* Inputs per process before AFL++ starts a fresh one (a bound on anything
 * that still leaks from one input to the next). */
#define AFL_LOOP_COUNT 10000

__AFL_FUZZ_INIT();

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 2;
    }
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        cap *= 2;
        unsigned char *grown = realloc(buf, cap);
        if (grown == NULL)
            free(buf);
        buf = grown;
    }
    fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    /* Not under afl-fuzz: reproduce the files given. */
    if (getenv("__AFL_SHM_ID") == NULL && argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (argv[i][0] == '-')
                continue;
            const int rc = run_file(argv[i]);
            if (rc != 0)
                return rc;
        }
        return 0;
    }

#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
#endif
    /* The buffer must be taken after __AFL_INIT and never copied before
     * use: AFL++ writes each test case into it. */
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(AFL_LOOP_COUNT)) {
        const int len = __AFL_FUZZ_TESTCASE_LEN;
        LLVMFuzzerTestOneInput(buf, (size_t)len);
    }
    return 0;
}
