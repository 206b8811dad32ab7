/* Every fuzz target's seed corpus runs clean, and gives the same result for
 * every file whichever order the files come in: each target's standalone
 * runner runs its corpus forward and then backward in one process and
 * compares each file's hash of observable results (read values, backend
 * output, interrupt counts, statistics) between the two orders
 * (fuzzers/standalone_main.c --check-order; DESIGN.md, "Determinism").
 *
 * The runners are found next to this test's build folder
 * (BUILD/fuzzers/fuzz_TARGET_standalone) and the corpus beside this source
 * file (corpus/TARGET/); VCON_FUZZ_BIN_DIR and VCON_CORPUS_DIR override
 * them.
 *
 * Also here: the harness calls the targets reset their state with between
 * inputs (dirty guest RAM, the VM's run state, scripted backends). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/script_backend.h"
#include "harness/vm.h"

extern char **environ;

static char bin_dir[PATH_MAX + 16];
static char corpus_dir[PATH_MAX + 16];

static void dirname_in_place(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash != NULL)
        *slash = 0;
}

static void find_folders(void)
{
    const char *env = getenv("VCON_FUZZ_BIN_DIR");
    if (env != NULL && *env) {
        snprintf(bin_dir, sizeof(bin_dir), "%s", env);
    } else {
        char self[PATH_MAX];
        const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        assert_true(n > 0);
        self[n] = 0;
        dirname_in_place(self); /* BUILD/tests */
        dirname_in_place(self); /* BUILD */
        snprintf(bin_dir, sizeof(bin_dir), "%s/fuzzers", self);
    }
    env = getenv("VCON_CORPUS_DIR");
    if (env != NULL && *env) {
        snprintf(corpus_dir, sizeof(corpus_dir), "%s", env);
    } else {
        char src[PATH_MAX];
        snprintf(src, sizeof(src), "%s", __FILE__);
        dirname_in_place(src); /* SOURCE/tests */
        dirname_in_place(src); /* SOURCE */
        snprintf(corpus_dir, sizeof(corpus_dir), "%s/corpus", src);
    }
}

/* Run `fuzz_TARGET_standalone --check-order corpus/TARGET`; its exit status. */
static int run_target(const char *target)
{
    char program[PATH_MAX + 64], corpus[PATH_MAX + 64];
    struct stat st;
    snprintf(program, sizeof(program), "%s/fuzz_%s_standalone", bin_dir, target);
    snprintf(corpus, sizeof(corpus), "%s/%s", corpus_dir, target);
    if (stat(program, &st) != 0) {
        fprintf(stderr, "%s: %s (build the fuzzers/ targets first)\n", program, strerror(errno));
        return -1;
    }
    if (stat(corpus, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: no seed corpus there\n", corpus);
        return -1;
    }
    char *const argv[] = {program, "--check-order", corpus, NULL};
    pid_t pid;
    if (posix_spawn(&pid, program, NULL, NULL, argv, environ) != 0)
        return -1;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "%s died of signal %d\n", program, WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

#define TARGET_TEST(name)                                                                   \
    static void corpus_of_##name##_runs_clean_in_either_order(void **state)                \
    {                                                                                       \
        (void)state;                                                                        \
        assert_int_equal(run_target(#name), 0);                                             \
    }

TARGET_TEST(uart)
TARGET_TEST(virtq)
TARGET_TEST(console_ctrl)
TARGET_TEST(console)
TARGET_TEST(options)
TARGET_TEST(trace_reader)
TARGET_TEST(replay)

/* ---- the reset primitives ---------------------------------------------- */

static void clear_dirty_zeroes_exactly_the_pages_written(void **state)
{
    struct vcon_vm *vm;
    struct vcon_host host;
    uint8_t byte = 0x5A, page[VCON_VM_PAGE_SIZE];
    (void)state;
    assert_int_equal(vcon_vm_create(10 * VCON_VM_PAGE_SIZE + 100, &vm), 0);
    assert_int_equal(vcon_vm_bind_device(vm, 0, &host, NULL), 0);
    assert_int_equal(vcon_vm_dirty_pages(vm), 0);
    /* A guest write across a page boundary, a device write, the last
     * partial page. */
    memset(page, 0xA5, sizeof(page));
    assert_int_equal(vcon_vm_guest_write(vm, VCON_VM_PAGE_SIZE - 10, page, 20), 0);
    assert_int_equal(host.mem_write(host.ctx, 5 * VCON_VM_PAGE_SIZE + 7, &byte, 1), 0);
    assert_int_equal(vcon_vm_guest_write(vm, 10 * VCON_VM_PAGE_SIZE + 99, &byte, 1), 0);
    /* Refused writes mark nothing. */
    assert_int_not_equal(vcon_vm_guest_write(vm, 10 * VCON_VM_PAGE_SIZE + 99, page, 2), 0);
    assert_int_equal(vcon_vm_dirty_pages(vm), 4);
    static const uint64_t written[] = {0, 1, 5, 10};
    for (uint64_t p = 0, w = 0; p <= 11; p++) {
        const bool expect = w < 4 && written[w] == p;
        assert_int_equal(vcon_vm_page_dirty(vm, p * VCON_VM_PAGE_SIZE + 50), expect);
        w += expect;
    }
    vcon_vm_clear_dirty(vm);
    assert_int_equal(vcon_vm_dirty_pages(vm), 0);
    for (uint64_t p = 0; p <= 11; p++)
        assert_false(vcon_vm_page_dirty(vm, p * VCON_VM_PAGE_SIZE));
    for (uint64_t gpa = 0; gpa < 10 * VCON_VM_PAGE_SIZE + 100; gpa++) {
        assert_int_equal(vcon_vm_guest_read(vm, gpa, &byte, 1), 0);
        assert_int_equal(byte, 0);
    }
    vcon_vm_destroy(vm);
}

static void fire(void *device)
{
    (*(int *)device)++;
}

static void reset_run_starts_the_clock_again_unless_a_timer_is_armed(void **state)
{
    struct vcon_vm *vm;
    struct vcon_host host;
    int fired = 0;
    (void)state;
    assert_int_equal(vcon_vm_create(4096, &vm), 0);
    assert_int_equal(vcon_vm_bind_device(vm, 0, &host, NULL), 0);
    struct vcon_timer *t = host.timer_create(host.ctx, fire, &fired);
    assert_non_null(t);
    host.irq_set_level(host.ctx, 3, 1);
    host.irq_set_level(host.ctx, 3, 0);
    host.msi_send(host.ctx, 0xFEE00000u, 1);
    host.timer_arm(host.ctx, t, 500);
    vcon_vm_advance(vm, 100);
    assert_int_equal(vcon_vm_reset_run(vm), -EBUSY);
    assert_int_equal(vcon_vm_now(vm), 100);
    host.timer_disarm(host.ctx, t);
    assert_int_equal(vcon_vm_reset_run(vm), 0);
    assert_int_equal(vcon_vm_now(vm), 0);
    assert_int_equal(vcon_vm_irq_raises(vm, 3), 0);
    assert_int_equal(vcon_vm_msi_count(vm), 0);
    host.timer_arm(host.ctx, t, 50);
    vcon_vm_advance(vm, 50);
    assert_int_equal(fired, 1);
    host.timer_destroy(host.ctx, t);
    vcon_vm_destroy(vm);
}

static void script_reset_gives_a_new_backend(void **state)
{
    struct vcon_script_backend *b = vcon_script_backend_create();
    uint8_t buf[8];
    size_t len;
    (void)state;
    assert_non_null(b);
    assert_int_equal(vcon_script_input(b, "abc", 3), 0);
    assert_int_equal(vcon_script_input_eof(b), 0);
    vcon_script_set_write_budget(b, 1);
    assert_int_equal(vcon_script_write(b, "xy", 2), 1);
    vcon_script_disconnect(b);
    vcon_script_reset(b);
    assert_true(vcon_script_connected(b));
    assert_int_equal(vcon_script_pending_input(b), 0);
    assert_int_equal(vcon_script_read(b, buf, sizeof(buf)), 0 /* VCON_BACKEND_NO_DATA */);
    (void)vcon_script_output(b, &len);
    assert_int_equal(len, 0);
    assert_int_equal(vcon_script_write(b, "xyz", 3), 3);
    vcon_script_backend_destroy(b);
}

int main(void)
{
    find_folders();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clear_dirty_zeroes_exactly_the_pages_written),
        cmocka_unit_test(reset_run_starts_the_clock_again_unless_a_timer_is_armed),
        cmocka_unit_test(script_reset_gives_a_new_backend),
        cmocka_unit_test(corpus_of_uart_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_virtq_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_console_ctrl_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_console_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_options_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_trace_reader_runs_clean_in_either_order),
        cmocka_unit_test(corpus_of_replay_runs_clean_in_either_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
