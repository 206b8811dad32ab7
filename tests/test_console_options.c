/* The virtio-console option parser: ACRN's port list syntax
 * (emu/include/vcon/console.h, docs/console.md, "Options"). Every accepted
 * form, every error message, and a table of malformed strings that must fail
 * without touching the outputs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/vm.h"
#include "vcon/console.h"

#define ERR_LEN 256

#define assert_message_contains(haystack, needle)                                           \
    do {                                                                                    \
        if (strstr((haystack), (needle)) == NULL) {                                         \
            print_error("message \"%s\"\n does not contain \"%s\"\n", (haystack), (needle)); \
            fail();                                                                         \
        }                                                                                   \
    } while (0)

struct parsed {
    struct vcon_console_config config;
    struct vcon_backend_spec backends[VCON_CONSOLE_MAX_PORTS];
};

static struct parsed *parse_ok(const char *text)
{
    char err[ERR_LEN] = "junk";
    struct parsed *p = test_malloc(sizeof *p);
    int rc;
    memset(p, 0xA5, sizeof *p);
    rc = vcon_console_parse_options(text, &p->config, p->backends, err, sizeof err);
    if (rc != 0)
        print_error("'%s': %s\n", text, err);
    assert_int_equal(rc, 0);
    assert_string_equal(err, "");
    return p;
}

/* Refused with -EINVAL and a one-line message containing `needle`; the
 * outputs keep their previous bytes. */
static void expect_refused(const char *text, const char *needle)
{
    char err[ERR_LEN] = "";
    struct parsed *p = test_malloc(sizeof *p);
    struct parsed *before = test_malloc(sizeof *before);
    memset(p, 0x5A, sizeof *p);
    memcpy(before, p, sizeof *p);
    assert_int_equal(vcon_console_parse_options(text, &p->config, p->backends, err, sizeof err),
                     -EINVAL);
    if (needle != NULL)
        assert_message_contains(err, needle);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    assert_memory_equal(before, p, sizeof *p);
    test_free(before);
    test_free(p);
}

static void assert_port(const struct parsed *p, unsigned i, const char *name, bool is_console,
                        enum vcon_backend_kind kind, const char *path)
{
    assert_true(p->config.port[i].present);
    assert_string_equal(p->config.port[i].name, name);
    assert_int_equal(p->config.port[i].is_console, is_console);
    assert_int_equal(p->backends[i].kind, kind);
    assert_string_equal(p->backends[i].path, path);
}

/* ---- accepted forms ----------------------------------------------------- */

static void stdio_console_port_is_port_0(void **state)
{
    struct parsed *p = parse_ok("@stdio:stdio_port");
    (void)state;
    assert_port(p, 0, "stdio_port", true, VCON_BACKEND_KIND_STDIO, "");
    assert_false(p->config.port[1].present);
    test_free(p);
}

static void parse_fills_acrn_defaults_and_clears_the_rest(void **state)
{
    struct parsed *p = parse_ok("pty:p");
    (void)state;
    assert_int_equal(p->config.max_ports, VCON_CONSOLE_MAX_PORTS);
    assert_int_equal(p->config.queue_size, 64);
    assert_int_equal(p->config.cols, 80);
    assert_int_equal(p->config.rows, 25);
    assert_false(p->config.no_multiport);
    assert_int_equal(p->config.intx_line, 0);
    for (unsigned i = 1; i < VCON_CONSOLE_MAX_PORTS; i++) {
        assert_false(p->config.port[i].present);
        assert_false(p->config.port[i].is_console);
        assert_string_equal(p->config.port[i].name, "");
        assert_int_equal(p->backends[i].kind, 0);
        assert_string_equal(p->backends[i].path, "");
    }
    test_free(p);
}

static void every_backend_kind_is_accepted(void **state)
{
    struct parsed *p = parse_ok("@stdio:con,tty:t1=/dev/pts/3,pty:p1,file:f1=/tmp/out.log,"
                                "socket:s1=/run/vm.sock,socket:s2=/run/a.sock:server,"
                                "@socket:s3=rel.sock:client");
    (void)state;
    assert_port(p, 0, "con", true, VCON_BACKEND_KIND_STDIO, "");
    assert_port(p, 1, "t1", false, VCON_BACKEND_KIND_TTY, "/dev/pts/3");
    assert_port(p, 2, "p1", false, VCON_BACKEND_KIND_PTY, "");
    assert_port(p, 3, "f1", false, VCON_BACKEND_KIND_FILE, "/tmp/out.log");
    assert_port(p, 4, "s1", false, VCON_BACKEND_KIND_SOCKET_SERVER, "/run/vm.sock");
    assert_port(p, 5, "s2", false, VCON_BACKEND_KIND_SOCKET_SERVER, "/run/a.sock");
    assert_port(p, 6, "s3", true, VCON_BACKEND_KIND_SOCKET_CLIENT, "rel.sock");
    assert_false(p->config.port[7].present);
    test_free(p);
}

static void backend_names_ignore_case_like_acrn(void **state)
{
    struct parsed *p = parse_ok("STDIO:a,Pty:b,FILE:c=/x,Socket:d=/s");
    (void)state;
    assert_port(p, 0, "a", false, VCON_BACKEND_KIND_STDIO, "");
    assert_port(p, 1, "b", false, VCON_BACKEND_KIND_PTY, "");
    assert_port(p, 2, "c", false, VCON_BACKEND_KIND_FILE, "/x");
    assert_port(p, 3, "d", false, VCON_BACKEND_KIND_SOCKET_SERVER, "/s");
    test_free(p);
}

static void file_path_keeps_equals_and_colons(void **state)
{
    struct parsed *p = parse_ok("file:f=/tmp/a=b:c,tty:t=/dev/x:y");
    (void)state;
    assert_port(p, 0, "f", false, VCON_BACKEND_KIND_FILE, "/tmp/a=b:c");
    assert_port(p, 1, "t", false, VCON_BACKEND_KIND_TTY, "/dev/x:y");
    test_free(p);
}

static void names_take_letters_digits_dot_underscore_dash(void **state)
{
    struct parsed *p = parse_ok("pty:a.B_c-9,pty:0");
    (void)state;
    assert_port(p, 0, "a.B_c-9", false, VCON_BACKEND_KIND_PTY, "");
    assert_port(p, 1, "0", false, VCON_BACKEND_KIND_PTY, "");
    test_free(p);
}

static void sixteen_ports_are_accepted_and_numbered_in_order(void **state)
{
    char text[512] = "";
    struct parsed *p;
    (void)state;
    for (unsigned i = 0; i < VCON_CONSOLE_MAX_PORTS; i++) {
        char one[32];
        snprintf(one, sizeof one, "%spty:port%u", i ? "," : "", i);
        strcat(text, one);
    }
    p = parse_ok(text);
    for (unsigned i = 0; i < VCON_CONSOLE_MAX_PORTS; i++) {
        char name[16];
        snprintf(name, sizeof name, "port%u", i);
        assert_port(p, i, name, false, VCON_BACKEND_KIND_PTY, "");
    }
    test_free(p);
}

static void limits_are_inclusive_of_the_longest_allowed(void **state)
{
    char text[600];
    char name[VCON_CONSOLE_NAME_MAX];
    char path[VCON_PATH_MAX];
    struct parsed *p;
    (void)state;

    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0'; /* 63 characters */
    snprintf(text, sizeof text, "pty:%s", name);
    p = parse_ok(text);
    assert_string_equal(p->config.port[0].name, name);
    test_free(p);

    path[0] = '/';
    memset(path + 1, 'p', 106);
    path[107] = '\0'; /* 107 bytes: sun_path minus its NUL */
    snprintf(text, sizeof text, "socket:s=%s:client", path);
    p = parse_ok(text);
    assert_port(p, 0, "s", false, VCON_BACKEND_KIND_SOCKET_CLIENT, path);
    test_free(p);

    memset(path + 1, 'q', VCON_PATH_MAX - 2);
    path[VCON_PATH_MAX - 1] = '\0'; /* 255 bytes */
    snprintf(text, sizeof text, "file:f=%s", path);
    p = parse_ok(text);
    assert_port(p, 0, "f", false, VCON_BACKEND_KIND_FILE, path);
    test_free(p);
}

static void error_buffer_may_be_null_or_tiny(void **state)
{
    struct parsed *p = test_malloc(sizeof *p);
    char tiny[8];
    (void)state;
    assert_int_equal(vcon_console_parse_options("pty:a", &p->config, p->backends, NULL, 0), 0);
    assert_int_equal(vcon_console_parse_options("bogus", &p->config, p->backends, NULL, 0),
                     -EINVAL);
    memset(tiny, 'x', sizeof tiny);
    assert_int_equal(vcon_console_parse_options("bogus", &p->config, p->backends, tiny,
                                                sizeof tiny),
                     -EINVAL);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    test_free(p);
}

static void parsed_configuration_creates_a_console(void **state)
{
    /* The parser's output is a configuration vcon_console_create takes. */
    struct parsed *p = parse_ok("@stdio:a,pty:b,socket:c=/s");
    struct vcon_vm *vm = NULL;
    struct vcon_host host;
    struct vcon_console *console = NULL;
    (void)state;
    assert_int_equal(vcon_vm_create(1u << 20, &vm), 0);
    assert_int_equal(vcon_vm_bind_device(vm, VCON_CONSOLE_MAX_PORTS, &host, NULL), 0);
    assert_int_equal(vcon_console_create(&p->config, &host, &console), 0);
    assert_non_null(vcon_console_transport(console));
    vcon_console_destroy(console);
    vcon_vm_destroy(vm);
    test_free(p);
}

/* ---- each error and its message ----------------------------------------- */

static void missing_text_or_outputs_are_refused(void **state)
{
    char err[ERR_LEN];
    struct parsed *p = test_malloc(sizeof *p);
    (void)state;
    assert_int_equal(vcon_console_parse_options(NULL, &p->config, p->backends, err, sizeof err),
                     -EINVAL);
    assert_message_contains(err, "no option text");
    assert_int_equal(vcon_console_parse_options("pty:a", NULL, p->backends, err, sizeof err),
                     -EINVAL);
    assert_int_equal(vcon_console_parse_options("pty:a", &p->config, NULL, err, sizeof err),
                     -EINVAL);
    test_free(p);
}

static void empty_text_has_no_ports(void **state)
{
    (void)state;
    expect_refused("", "no ports");
}

static void empty_port_entries_are_refused(void **state)
{
    (void)state;
    expect_refused(",pty:a", "port 0 '': empty port");
    expect_refused("pty:a,", "port 1 '': empty port");
    expect_refused("pty:a,,pty:b", "port 1 '': empty port");
}

static void unknown_backend_is_quoted(void **state)
{
    (void)state;
    expect_refused("serial:a", "unknown backend 'serial' (expected stdio, tty, pty, file or socket)");
    expect_refused("@:a", "unknown backend ''");
    expect_refused("@", "unknown backend ''");
    expect_refused("pty:a,tcp:b=1", "port 1 'tcp:b=1': unknown backend 'tcp'");
}

static void missing_name_is_refused(void **state)
{
    (void)state;
    expect_refused("stdio", "port 0 'stdio': missing ':NAME' after the backend");
    expect_refused("@pty", "missing ':NAME'");
}

static void empty_name_is_refused(void **state)
{
    (void)state;
    expect_refused("stdio:", "empty port name");
    expect_refused("tty:=/dev/tty1", "empty port name");
    expect_refused("socket:=/s", "empty port name");
}

static void bad_name_characters_are_refused(void **state)
{
    (void)state;
    expect_refused("pty:a b", "port name 'a b' has a character other than A-Z a-z 0-9 . _ -");
    expect_refused("pty:a/b", "port name 'a/b' has a character");
    expect_refused("pty:a@b", "has a character");
    expect_refused("pty:\xc3\xa9", "port name '\\xc3\\xa9'");
    expect_refused("tty:a:b=/dev/x", "port name 'a:b'");
}

static void too_long_name_is_refused(void **state)
{
    char text[128] = "pty:";
    (void)state;
    memset(text + 4, 'n', 64);
    text[68] = '\0';
    expect_refused(text, "port name is 64 bytes long; the limit is 63");
}

static void stdio_and_pty_take_no_path(void **state)
{
    (void)state;
    expect_refused("pty:p=/dev/ptmx", "port 0 'pty:p=/dev/ptmx': pty takes no path");
    expect_refused("stdio:s=/dev/tty", "stdio takes no path");
    expect_refused("pty:p=", "pty takes no path");
}

static void tty_and_file_need_a_path(void **state)
{
    (void)state;
    expect_refused("tty:t", "tty needs a path: tty:NAME=PATH");
    expect_refused("file:f", "file needs a path: file:NAME=PATH");
    expect_refused("file:f=", "empty path after '='");
    expect_refused("tty:t=", "empty path");
}

static void socket_needs_a_path_and_a_known_type(void **state)
{
    (void)state;
    expect_refused("socket:s", "socket needs a path: socket:NAME=PATH[:server|client]");
    expect_refused("socket:s=", "empty path");
    expect_refused("socket:s=:client", "empty path");
    expect_refused("socket:s=/x:bogus", "socket type 'bogus' is not server or client");
    expect_refused("socket:s=/x:", "socket type '' is not server or client");
    expect_refused("socket:s=/x:Server", "socket type 'Server'");
    expect_refused("socket:s=/x:server:client", "socket type 'server:client'");
}

static void socket_path_longer_than_sun_path_is_refused(void **state)
{
    char text[256] = "socket:s=/";
    (void)state;
    memset(text + 10, 'p', 107);
    text[117] = '\0'; /* a 108-byte path */
    expect_refused(text, "path is 108 bytes long; the limit is 107 (sun_path)");
}

static void path_longer_than_path_max_is_refused(void **state)
{
    char text[400] = "file:f=/";
    (void)state;
    memset(text + 8, 'p', VCON_PATH_MAX - 1);
    text[8 + VCON_PATH_MAX - 1] = '\0'; /* a 256-byte path */
    expect_refused(text, "path is 256 bytes long; the limit is 255");
}

static void control_characters_in_paths_are_refused(void **state)
{
    (void)state;
    expect_refused("file:f=/tmp/a\tb", "path '/tmp/a\\x09b' contains a control character");
    expect_refused("socket:s=/x\x7fy", "contains a control character");
}

static void more_than_sixteen_ports_are_refused(void **state)
{
    char text[512] = "";
    (void)state;
    for (unsigned i = 0; i <= VCON_CONSOLE_MAX_PORTS; i++) {
        char one[32];
        snprintf(one, sizeof one, "%spty:p%u", i ? "," : "", i);
        strcat(text, one);
    }
    expect_refused(text, "more than 16 ports, from 'pty:p16'");
}

static void duplicate_names_are_refused(void **state)
{
    (void)state;
    expect_refused("pty:a,pty:b,file:a=/x", "port 2 'file:a=/x': port name 'a' is already used by port 0");
}

static void stdio_twice_is_refused(void **state)
{
    (void)state;
    expect_refused("@stdio:a,pty:b,stdio:c", "port 2 'stdio:c': stdio is already used by port 0");
}

static void long_entries_are_quoted_with_an_ellipsis(void **state)
{
    char text[256] = "serial:";
    (void)state;
    memset(text + 7, 'x', 100);
    text[107] = '\0';
    expect_refused(text, "...'");
}

/* ---- malformed table ---------------------------------------------------- */

static void malformed_strings_all_fail_without_touching_outputs(void **state)
{
    static const char *const bad[] = {
        "",
        ",",
        ",,",
        "@",
        "@@stdio:a",
        ":",
        ":a",
        "=",
        "stdio",
        "stdio:",
        "stdio:=",
        "stdio:a=",
        "stdio:a=b",
        "stdio:a,stdio:b",
        "stdio:a,pty:a",
        "stdio :a",
        " stdio:a",
        "stdio:a ",
        "stdio:a,",
        "pty",
        "pty:",
        "pty:a=/dev/ptmx",
        "tty",
        "tty:a",
        "tty:a=",
        "file:a",
        "file:=/x",
        "socket",
        "socket:",
        "socket:a",
        "socket:a=",
        "socket:a=:server",
        "socket:a=/s:",
        "socket:a=/s:listen",
        "socket:a=/s:SERVER",
        "tcp:a=1",
        "console:a",
        "stdio;a",
        "stdio:a;b",
        "stdio:a\x01",
        "file:a=/x\n",
        "pty:a\xff",
        "pty:a,b",
        "pty:a,,",
        "@pty:a,@",
        "stdio:@a",
        "pty:a!",
        "pty:*",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERR_LEN] = "";
        struct parsed *p = test_malloc(sizeof *p);
        struct parsed *before = test_malloc(sizeof *before);
        int rc;
        memset(p, (int)(0x11u * (i % 15u + 1u)), sizeof *p);
        memcpy(before, p, sizeof *p);
        rc = vcon_console_parse_options(bad[i], &p->config, p->backends, err, sizeof err);
        if (rc != -EINVAL)
            print_error("'%s' was accepted (rc %d)\n", bad[i], rc);
        assert_int_equal(rc, -EINVAL);
        assert_true(err[0] != '\0');
        assert_null(strchr(err, '\n'));
        assert_memory_equal(before, p, sizeof *p);
        test_free(before);
        test_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stdio_console_port_is_port_0),
        cmocka_unit_test(parse_fills_acrn_defaults_and_clears_the_rest),
        cmocka_unit_test(every_backend_kind_is_accepted),
        cmocka_unit_test(backend_names_ignore_case_like_acrn),
        cmocka_unit_test(file_path_keeps_equals_and_colons),
        cmocka_unit_test(names_take_letters_digits_dot_underscore_dash),
        cmocka_unit_test(sixteen_ports_are_accepted_and_numbered_in_order),
        cmocka_unit_test(limits_are_inclusive_of_the_longest_allowed),
        cmocka_unit_test(error_buffer_may_be_null_or_tiny),
        cmocka_unit_test(parsed_configuration_creates_a_console),
        cmocka_unit_test(missing_text_or_outputs_are_refused),
        cmocka_unit_test(empty_text_has_no_ports),
        cmocka_unit_test(empty_port_entries_are_refused),
        cmocka_unit_test(unknown_backend_is_quoted),
        cmocka_unit_test(missing_name_is_refused),
        cmocka_unit_test(empty_name_is_refused),
        cmocka_unit_test(bad_name_characters_are_refused),
        cmocka_unit_test(too_long_name_is_refused),
        cmocka_unit_test(stdio_and_pty_take_no_path),
        cmocka_unit_test(tty_and_file_need_a_path),
        cmocka_unit_test(socket_needs_a_path_and_a_known_type),
        cmocka_unit_test(socket_path_longer_than_sun_path_is_refused),
        cmocka_unit_test(path_longer_than_path_max_is_refused),
        cmocka_unit_test(control_characters_in_paths_are_refused),
        cmocka_unit_test(more_than_sixteen_ports_are_refused),
        cmocka_unit_test(duplicate_names_are_refused),
        cmocka_unit_test(stdio_twice_is_refused),
        cmocka_unit_test(long_entries_are_quoted_with_an_ellipsis),
        cmocka_unit_test(malformed_strings_all_fail_without_touching_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
