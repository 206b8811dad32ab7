/* The device-model option parser: -s, -l, the COM backend and the final
 * cross-check (emu/include/vcon/dm_options.h, docs/options.md). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vcon/dm_options.h"

#define ERR_LEN 256

/* Fails with both strings printed when `needle` is not in `haystack`. */
#define assert_message_contains(haystack, needle)                                           \
    do {                                                                                    \
        if (strstr((haystack), (needle)) == NULL) {                                         \
            print_error("message \"%s\"\n does not contain \"%s\"\n", (haystack), (needle)); \
            fail();                                                                         \
        }                                                                                   \
    } while (0)

/* A configuration is 35 KB: keep it off the test's stack. */
static struct vcon_dm_config *new_config(void)
{
    struct vcon_dm_config *config = test_malloc(sizeof *config);
    vcon_dm_config_init(config);
    return config;
}

static void parse_slot_ok(struct vcon_dm_config *config, const char *arg)
{
    char err[ERR_LEN] = "";
    int rc = vcon_dm_parse_slot(config, arg, err, sizeof err);
    if (rc != 0)
        print_error("-s %s: %s\n", arg, err);
    assert_int_equal(rc, 0);
}

static void parse_com_ok(struct vcon_dm_config *config, const char *arg)
{
    char err[ERR_LEN] = "";
    int rc = vcon_dm_parse_lpc_device(config, arg, err, sizeof err);
    if (rc != 0)
        print_error("-l %s: %s\n", arg, err);
    assert_int_equal(rc, 0);
}

/* Refused with -EINVAL and a message containing `needle`; the
 * configuration is left as it was. */
static void expect_slot_refused(struct vcon_dm_config *config, const char *arg,
                                const char *needle)
{
    char err[ERR_LEN] = "";
    struct vcon_dm_config *before = test_malloc(sizeof *before);
    memcpy(before, config, sizeof *before);
    assert_int_equal(vcon_dm_parse_slot(config, arg, err, sizeof err), -EINVAL);
    assert_message_contains(err, needle);
    assert_memory_equal(before, config, sizeof *config);
    test_free(before);
}

static void expect_com_refused(struct vcon_dm_config *config, const char *arg, const char *needle)
{
    char err[ERR_LEN] = "";
    struct vcon_dm_config *before = test_malloc(sizeof *before);
    memcpy(before, config, sizeof *before);
    assert_int_equal(vcon_dm_parse_lpc_device(config, arg, err, sizeof err), -EINVAL);
    assert_message_contains(err, needle);
    assert_memory_equal(before, config, sizeof *config);
    test_free(before);
}

static void parse_backend_ok(const char *text, struct vcon_backend_spec *spec)
{
    char err[ERR_LEN] = "";
    int rc;
    memset(spec, 0, sizeof *spec);
    rc = vcon_dm_parse_uart_backend(text, spec, err, sizeof err);
    if (rc != 0)
        print_error("backend %s: %s\n", text, err);
    assert_int_equal(rc, 0);
}

static void expect_backend_refused(const char *text, const char *needle)
{
    char err[ERR_LEN] = "";
    struct vcon_backend_spec spec, before;
    memset(&spec, 0xA5, sizeof spec);
    before = spec;
    assert_int_equal(vcon_dm_parse_uart_backend(text, &spec, err, sizeof err), -EINVAL);
    assert_message_contains(err, needle);
    assert_memory_equal(&before, &spec, sizeof spec);
}

/* ---- -s ----------------------------------------------------------------- */

static void test_lpc_slot_parses_slot_and_func(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "1:0,lpc");
    assert_int_equal(config->nr_slots, 1);
    assert_true(config->has_lpc);
    assert_int_equal(config->lpc_index, 0);
    assert_int_equal(config->slots[0].bus, 0);
    assert_int_equal(config->slots[0].slot, 1);
    assert_int_equal(config->slots[0].func, 0);
    assert_string_equal(config->slots[0].device, "lpc");
    assert_string_equal(config->slots[0].options, "");
    test_free(config);
}

static void test_slot_without_func_means_func_0_on_bus_0(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "3,virtio-console,@stdio:port0");
    assert_int_equal(config->slots[0].bus, 0);
    assert_int_equal(config->slots[0].slot, 3);
    assert_int_equal(config->slots[0].func, 0);
    assert_false(config->has_lpc);
    test_free(config);
}

static void test_bus_slot_func_form(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "2:17:5,virtio-console,@pty:p");
    assert_int_equal(config->slots[0].bus, 2);
    assert_int_equal(config->slots[0].slot, 17);
    assert_int_equal(config->slots[0].func, 5);
    assert_string_equal(config->slots[0].device, "virtio-console");
    test_free(config);
}

static void test_largest_bus_slot_func_are_accepted(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "255:31:7,virtio-console,x");
    assert_int_equal(config->slots[0].bus, 255);
    assert_int_equal(config->slots[0].slot, 31);
    assert_int_equal(config->slots[0].func, 7);
    parse_slot_ok(config, "0:0:0,virtio-console,x");
    assert_int_equal(config->nr_slots, 2);
    test_free(config);
}

static void test_leading_zeros_are_read_as_decimal(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "010:09:07,virtio-console,x");
    assert_int_equal(config->slots[0].bus, 10);
    assert_int_equal(config->slots[0].slot, 9);
    assert_int_equal(config->slots[0].func, 7);
    test_free(config);
}

static void test_virtio_console_options_kept_verbatim(void **state)
{
    static const char options[] = "@stdio:stdio_port,@pty:pty_port,@tcp:1234:p, x=1 ,,";
    struct vcon_dm_config *config = new_config();
    char arg[sizeof options + 32];
    (void)state;
    strcpy(arg, "5:0,virtio-console,");
    strcat(arg, options);
    parse_slot_ok(config, arg);
    assert_string_equal(config->slots[0].device, "virtio-console");
    assert_string_equal(config->slots[0].options, options);
    test_free(config);
}

static void test_virtio_console_without_options_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "4,virtio-console", "virtio-console needs options");
    expect_slot_refused(config, "4,virtio-console,", "virtio-console needs options");
    test_free(config);
}

static void test_virtio_console_options_at_the_limit_are_accepted(void **state)
{
    struct vcon_dm_config *config = new_config();
    char *arg = test_malloc(VCON_DM_OPTIONS_MAX + 32);
    size_t prefix;
    (void)state;
    strcpy(arg, "3,virtio-console,");
    prefix = strlen(arg);
    memset(arg + prefix, 'o', VCON_DM_OPTIONS_MAX - 1);
    arg[prefix + VCON_DM_OPTIONS_MAX - 1] = '\0';
    parse_slot_ok(config, arg);
    assert_int_equal(strlen(config->slots[0].options), VCON_DM_OPTIONS_MAX - 1);
    test_free(arg);
    test_free(config);
}

static void test_overlong_virtio_console_options_are_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    char *arg = test_malloc(VCON_DM_OPTIONS_MAX + 32);
    size_t prefix;
    (void)state;
    strcpy(arg, "3,virtio-console,");
    prefix = strlen(arg);
    memset(arg + prefix, 'o', VCON_DM_OPTIONS_MAX);
    arg[prefix + VCON_DM_OPTIONS_MAX] = '\0';
    expect_slot_refused(config, arg, "options are 1024 bytes long; the limit is 1023");
    test_free(arg);
    test_free(config);
}

static void test_lpc_with_options_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "1,lpc,com1", "lpc takes no options, got 'com1'");
    expect_slot_refused(config, "1,lpc,", "lpc takes no options, got ''");
    test_free(config);
}

static void test_second_lpc_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "1:0,lpc");
    expect_slot_refused(config, "2:0,lpc", "only one lpc is allowed and there is one at 0:1:0");
    test_free(config);
}

static void test_lpc_off_bus_0_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "1:1:0,lpc", "lpc must be on bus 0 (got bus 1) in '1:1:0,lpc'");
    test_free(config);
}

static void test_duplicate_slot_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "3,virtio-console,@stdio:a");
    expect_slot_refused(config, "3:0,virtio-console,@pty:b", "0:3:0 is already taken by 'virtio-console'");
    expect_slot_refused(config, "0:3:0,lpc", "0:3:0 is already taken");
    test_free(config);
}

static void test_other_function_of_a_used_slot_is_accepted(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_slot_ok(config, "3,virtio-console,@stdio:a");
    parse_slot_ok(config, "3:1,virtio-console,@pty:b");
    parse_slot_ok(config, "1:3:0,virtio-console,@pty:c");
    assert_int_equal(config->nr_slots, 3);
    test_free(config);
}

static void test_unknown_device_is_refused_by_name(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "5,virtio-net,tap0", "unknown device 'virtio-net'");
    expect_slot_refused(config, "5,virtio-net,tap0", "(expected lpc or virtio-console)");
    test_free(config);
}

static void test_device_names_are_case_sensitive(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "1,LPC", "unknown device 'LPC'");
    expect_slot_refused(config, "1,Virtio-Console,x", "unknown device 'Virtio-Console'");
    test_free(config);
}

static void test_slot_out_of_range_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "32,lpc", "slot '32' is out of range 0..31 in '32,lpc'");
    test_free(config);
}

static void test_func_out_of_range_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "1:8,lpc", "func '8' is out of range 0..7");
    expect_slot_refused(config, "0:1:9,lpc", "func '9' is out of range 0..7");
    test_free(config);
}

static void test_bus_out_of_range_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "256:1:0,virtio-console,x", "bus '256' is out of range 0..255");
    test_free(config);
}

static void test_huge_slot_number_is_out_of_range_not_wrapped(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    /* 2^64 + 1 would wrap to 1 in an unchecked parser. */
    expect_slot_refused(config, "18446744073709551617,lpc",
                        "slot '18446744073709551617' is out of range 0..31");
    expect_slot_refused(config, "4294967297:0,lpc", "out of range 0..31");
    test_free(config);
}

static void test_non_decimal_slot_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "0x1f,lpc", "slot '0x1f' is not a decimal number");
    expect_slot_refused(config, "+1,lpc", "slot '+1' is not a decimal number");
    expect_slot_refused(config, " 1,lpc", "slot ' 1' is not a decimal number");
    expect_slot_refused(config, "1:-0,lpc", "func '-0' is not a decimal number");
    test_free(config);
}

static void test_empty_slot_field_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, ",lpc", "empty slot in ',lpc'");
    expect_slot_refused(config, "1:,lpc", "empty func");
    expect_slot_refused(config, ":1:0,lpc", "empty bus");
    test_free(config);
}

static void test_slot_with_too_many_fields_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "0:1:2:3,lpc", "too many ':' fields");
    test_free(config);
}

static void test_slot_without_device_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_slot_refused(config, "3", "'3' names no device");
    expect_slot_refused(config, "3,", "empty device name in '3,'");
    expect_slot_refused(config, "", "empty argument");
    test_free(config);
}

static void test_too_many_slots_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    char arg[64];
    (void)state;
    for (unsigned i = 0; i < VCON_DM_MAX_SLOTS; i++) {
        arg[0] = '\0';
        strcat(arg, "7:");
        arg[2] = (char)('0' + i / 10);
        arg[3] = (char)('0' + i % 10);
        arg[4] = '\0';
        strcat(arg, ":0,virtio-console,x");
        parse_slot_ok(config, arg);
    }
    assert_int_equal(config->nr_slots, VCON_DM_MAX_SLOTS);
    expect_slot_refused(config, "8:0:0,virtio-console,x", "too many devices (at most 32)");
    test_free(config);
}

/* ---- -l ----------------------------------------------------------------- */

static void test_com_port_parses_resources_and_backend(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_com_ok(config, "com1,stdio");
    assert_true(config->com[0].present);
    assert_int_equal(config->com[0].io_base, 0x3F8);
    assert_int_equal(config->com[0].irq, 4);
    assert_int_equal(config->com[0].backend.kind, VCON_BACKEND_KIND_STDIO);
    for (unsigned i = 1; i < VCON_DM_NR_COM; i++)
        assert_false(config->com[i].present);
    test_free(config);
}

static void test_every_com_port_gets_its_standard_resources(void **state)
{
    static const struct {
        const char *arg;
        uint16_t io_base;
        uint8_t irq;
    } expected[VCON_DM_NR_COM] = {
        {"com1,stdio", 0x3F8, 4},          {"com2,/dev/ttyS1", 0x2F8, 3},
        {"com3,tcp:2000", 0x3E8, 6},       {"com4,tcp:10.0.0.1:23", 0x2E8, 7},
        {"com5,/dev/pts/3", 0x9000, 10},
    };
    struct vcon_dm_config *config = new_config();
    (void)state;
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        parse_com_ok(config, expected[i].arg);
        assert_true(config->com[i].present);
        assert_int_equal(config->com[i].io_base, expected[i].io_base);
        assert_int_equal(config->com[i].irq, expected[i].irq);
    }
    test_free(config);
}

static void test_com_resources_match_the_pc_standard(void **state)
{
    static const uint16_t bases[VCON_DM_NR_COM] = {0x3F8, 0x2F8, 0x3E8, 0x2E8, 0x9000};
    static const uint8_t irqs[VCON_DM_NR_COM] = {4, 3, 6, 7, 10};
    (void)state;
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        uint16_t base = 0;
        uint8_t irq = 0;
        assert_int_equal(vcon_dm_com_resources(i, &base, &irq), 0);
        assert_int_equal(base, bases[i]);
        assert_int_equal(irq, irqs[i]);
    }
}

static void test_com_resources_refuse_index_5_and_above(void **state)
{
    uint16_t base = 0x1234;
    uint8_t irq = 0x56;
    (void)state;
    assert_int_equal(vcon_dm_com_resources(5, &base, &irq), -EINVAL);
    assert_int_equal(vcon_dm_com_resources(UINT_MAX, &base, &irq), -EINVAL);
    assert_int_equal(base, 0x1234);
    assert_int_equal(irq, 0x56);
}

static void test_com_name_is_case_insensitive(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_com_ok(config, "COM1,stdio");
    parse_com_ok(config, "Com2,stdio");
    parse_com_ok(config, "cOm3,stdio");
    assert_true(config->com[0].present);
    assert_true(config->com[1].present);
    assert_true(config->com[2].present);
    test_free(config);
}

static void test_unknown_com_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_com_refused(config, "com9,stdio", "-l: unknown device 'com9' (expected com1..com5)");
    expect_com_refused(config, "com0,stdio", "unknown device 'com0'");
    expect_com_refused(config, "com6,stdio", "unknown device 'com6'");
    expect_com_refused(config, "com10,stdio", "unknown device 'com10'");
    expect_com_refused(config, "com01,stdio", "unknown device 'com01'");
    expect_com_refused(config, "com,stdio", "unknown device 'com'");
    expect_com_refused(config, "lpt1,stdio", "unknown device 'lpt1'");
    test_free(config);
}

static void test_duplicate_com_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_com_ok(config, "com1,stdio");
    expect_com_refused(config, "COM1,/dev/ttyS0",
                       "-l: com1 is given twice, the second time as 'COM1,/dev/ttyS0'");
    assert_int_equal(config->com[0].backend.kind, VCON_BACKEND_KIND_STDIO);
    test_free(config);
}

static void test_com_without_backend_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_com_refused(config, "com1", "-l: 'com1' has no backend");
    expect_com_refused(config, "com1,", "-l com1: backend is empty");
    expect_com_refused(config, "", "-l: empty argument");
    test_free(config);
}

static void test_com_backend_error_names_the_port(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    expect_com_refused(config, "com2,tcp:0", "-l com2: backend 'tcp:0': port '0' is out of range");
    expect_com_refused(config, "com3,ttyS0", "-l com3: backend 'ttyS0' is not stdio");
    test_free(config);
}

static void test_com_backend_keeps_commas_after_the_first(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    parse_com_ok(config, "com1,/tmp/a,b");
    assert_int_equal(config->com[0].backend.kind, VCON_BACKEND_KIND_TTY);
    assert_string_equal(config->com[0].backend.path, "/tmp/a,b");
    expect_com_refused(config, "com2,tcp:80,90", "trailing junk ',90' after port '80'");
    test_free(config);
}

/* ---- COM backend ---------------------------------------------------------- */

static void test_stdio_backend(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("stdio", &spec);
    assert_int_equal(spec.kind, VCON_BACKEND_KIND_STDIO);
    assert_string_equal(spec.path, "");
    assert_int_equal(spec.tcp_port, 0);
}

static void test_absolute_path_is_a_tty_backend(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("/dev/ttyS0", &spec);
    assert_int_equal(spec.kind, VCON_BACKEND_KIND_TTY);
    assert_string_equal(spec.path, "/dev/ttyS0");
    parse_backend_ok("/dev/pts/3", &spec);
    assert_int_equal(spec.kind, VCON_BACKEND_KIND_TTY);
    assert_string_equal(spec.path, "/dev/pts/3");
}

static void test_relative_path_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("ttyS0", "backend 'ttyS0' is not stdio, tcp:PORT");
    expect_backend_refused("dev/ttyS0", "'dev/ttyS0'");
    expect_backend_refused("./tty", "'./tty'");
    expect_backend_refused("STDIO", "'STDIO' is not stdio");
}

static void test_empty_backend_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("", "backend is empty");
}

static void test_path_at_the_limit_is_accepted(void **state)
{
    char path[VCON_PATH_MAX];
    struct vcon_backend_spec spec;
    (void)state;
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[VCON_PATH_MAX - 1] = '\0';
    parse_backend_ok(path, &spec);
    assert_int_equal(strlen(spec.path), VCON_PATH_MAX - 1);
    assert_string_equal(spec.path, path);
}

static void test_overlong_path_is_refused(void **state)
{
    char path[VCON_PATH_MAX + 1];
    (void)state;
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[VCON_PATH_MAX] = '\0';
    expect_backend_refused(path, "is 256 bytes long; the limit is 255");
    expect_backend_refused(path, "backend path '/ppp");
}

static void test_path_with_blank_or_control_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("/dev/ttyS0 ", "contains a blank or control character");
    expect_backend_refused("/dev/tty\tS0", "'/dev/tty\\x09S0'");
    expect_backend_refused(" /dev/ttyS0", "is not stdio");
}

static void test_tcp_port_defaults_to_loopback(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("tcp:4444", &spec);
    assert_int_equal(spec.kind, VCON_BACKEND_KIND_TCP);
    assert_string_equal(spec.address, "127.0.0.1");
    assert_int_equal(spec.tcp_port, 4444);
}

static void test_tcp_address_and_port(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("tcp:192.168.1.20:5000", &spec);
    assert_int_equal(spec.kind, VCON_BACKEND_KIND_TCP);
    assert_string_equal(spec.address, "192.168.1.20");
    assert_int_equal(spec.tcp_port, 5000);
    parse_backend_ok("tcp:0.0.0.0:1", &spec);
    assert_string_equal(spec.address, "0.0.0.0");
    parse_backend_ok("tcp:255.255.255.255:2", &spec);
    assert_string_equal(spec.address, "255.255.255.255");
}

static void test_localhost_maps_to_loopback(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("tcp:localhost:80", &spec);
    assert_string_equal(spec.address, "127.0.0.1");
    assert_int_equal(spec.tcp_port, 80);
    parse_backend_ok("tcp:LocalHost:81", &spec);
    assert_string_equal(spec.address, "127.0.0.1");
}

static void test_tcp_port_limits_are_accepted(void **state)
{
    struct vcon_backend_spec spec;
    (void)state;
    parse_backend_ok("tcp:1", &spec);
    assert_int_equal(spec.tcp_port, 1);
    parse_backend_ok("tcp:65535", &spec);
    assert_int_equal(spec.tcp_port, 65535);
    parse_backend_ok("tcp:00080", &spec);
    assert_int_equal(spec.tcp_port, 80);
}

static void test_tcp_port_out_of_range_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp:0", "port '0' is out of range 1..65535");
    expect_backend_refused("tcp:65536", "port '65536' is out of range 1..65535");
    expect_backend_refused("tcp:1.2.3.4:70000", "port '70000' is out of range");
    expect_backend_refused("tcp:18446744073709551696", "is out of range 1..65535");
}

static void test_trailing_junk_after_port_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp:80x", "backend 'tcp:80x': trailing junk 'x' after port '80'");
    expect_backend_refused("tcp:80 ", "trailing junk ' ' after port '80'");
    expect_backend_refused("tcp:1.2.3.4:80:90", "trailing junk ':90' after port '80'");
    expect_backend_refused("tcp:80.5", "trailing junk '.5'");
}

static void test_port_with_sign_or_blank_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp:+80", "port '+80' is not a decimal number");
    expect_backend_refused("tcp:-1", "port '-1' is not a decimal number");
    expect_backend_refused("tcp: 80", "port ' 80' is not a decimal number");
    expect_backend_refused("tcp:0x50", "trailing junk 'x50' after port '0'");
}

static void test_empty_tcp_port_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp:", "backend 'tcp:' has an empty port");
    expect_backend_refused("tcp:1.2.3.4:", "has an empty port");
}

static void test_empty_tcp_address_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp::80", "backend 'tcp::80' has an empty address");
}

static void test_tcp_without_port_is_refused(void **state)
{
    (void)state;
    expect_backend_refused("tcp", "backend 'tcp' needs a port");
}

static void test_bad_ipv4_address_is_refused(void **state)
{
    static const char *const bad[] = {
        "tcp:1.2.3:80",      "tcp:1.2.3.4.5:80", "tcp:256.1.1.1:80", "tcp:1..2.3:80",
        "tcp:01.2.3.4:80",   "tcp:a.b.c.d:80",   "tcp:example.com:80", "tcp:1.2.3.4 :80",
        "tcp:1.2.3.:80",     "tcp:.1.2.3:80",    "tcp:1.2.3.1000:80",  "tcp:localhostx:80",
        "tcp:[::1]:80",      "tcp:-1.2.3.4:80",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_backend_refused(bad[i], "is not a dotted IPv4 address or localhost");
    expect_backend_refused("tcp:256.1.1.1:80", "address '256.1.1.1'");
}

static void test_failed_backend_parse_leaves_output_unchanged(void **state)
{
    struct vcon_backend_spec spec, before;
    char err[ERR_LEN];
    (void)state;
    parse_backend_ok("tcp:10.1.2.3:99", &spec);
    before = spec;
    assert_int_equal(vcon_dm_parse_uart_backend("tcp:99999", &spec, err, sizeof err), -EINVAL);
    assert_memory_equal(&before, &spec, sizeof spec);
}

/* ---- cross-check ---------------------------------------------------------- */

static void test_com_port_without_lpc_is_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN] = "";
    (void)state;
    parse_com_ok(config, "com2,stdio");
    assert_int_equal(vcon_dm_config_check(config, err, sizeof err), -EINVAL);
    assert_string_equal(err, "com2 needs the LPC bridge: add -s 1:0,lpc");
    test_free(config);
}

static void test_lpc_suggestion_skips_used_slots(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN] = "";
    (void)state;
    parse_slot_ok(config, "1,virtio-console,a");
    parse_slot_ok(config, "2:3,virtio-console,b");
    parse_slot_ok(config, "1:3:0,virtio-console,c");
    parse_com_ok(config, "com1,stdio");
    assert_int_equal(vcon_dm_config_check(config, err, sizeof err), -EINVAL);
    assert_message_contains(err, "add -s 3:0,lpc");
    test_free(config);
}

static void test_com_port_with_lpc_passes_check(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN] = "x";
    (void)state;
    parse_com_ok(config, "com1,stdio");
    parse_slot_ok(config, "31:0,lpc");
    assert_int_equal(vcon_dm_config_check(config, err, sizeof err), 0);
    assert_string_equal(err, "");
    test_free(config);
}

static void test_empty_config_passes_check(void **state)
{
    struct vcon_dm_config *config = new_config();
    (void)state;
    assert_int_equal(vcon_dm_config_check(config, NULL, 0), 0);
    test_free(config);
}

static void test_inconsistent_config_is_refused_by_check(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN] = "";
    (void)state;
    config->has_lpc = true; /* but no slot holds it */
    assert_int_equal(vcon_dm_config_check(config, err, sizeof err), -EINVAL);
    assert_message_contains(err, "inconsistent configuration");
    config->has_lpc = false;
    config->nr_slots = VCON_DM_MAX_SLOTS + 1;
    assert_int_equal(vcon_dm_config_check(config, err, sizeof err), -EINVAL);
    test_free(config);
}

/* ---- errors in general ---------------------------------------------------- */

static void test_failed_parse_leaves_config_unchanged(void **state)
{
    static const char *const bad_slots[] = {
        "2:0,lpc", "1:0,virtio-console,dup", "9,virtio-console", "9,nope", "40,lpc",
    };
    static const char *const bad_coms[] = {"com1,/dev/ttyS1", "com2,tcp:0", "com2,rel", "com7,stdio"};
    struct vcon_dm_config *config = new_config();
    struct vcon_dm_config *before = test_malloc(sizeof *before);
    char err[ERR_LEN];
    (void)state;
    parse_slot_ok(config, "1:0,lpc");
    parse_slot_ok(config, "4,virtio-console,@stdio:a");
    parse_com_ok(config, "com1,tcp:9000");
    memcpy(before, config, sizeof *before);
    for (size_t i = 0; i < sizeof bad_slots / sizeof bad_slots[0]; i++) {
        assert_int_equal(vcon_dm_parse_slot(config, bad_slots[i], err, sizeof err), -EINVAL);
        assert_memory_equal(before, config, sizeof *config);
    }
    for (size_t i = 0; i < sizeof bad_coms / sizeof bad_coms[0]; i++) {
        assert_int_equal(vcon_dm_parse_lpc_device(config, bad_coms[i], err, sizeof err), -EINVAL);
        assert_memory_equal(before, config, sizeof *config);
    }
    test_free(before);
    test_free(config);
}

static void test_error_message_names_offending_text(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com9,stdio", err, sizeof err), -EINVAL);
    assert_string_equal(err, "-l: unknown device 'com9' (expected com1..com5)");
    assert_int_equal(vcon_dm_parse_slot(config, "3,virtio-blk,/img", err, sizeof err), -EINVAL);
    assert_string_equal(err, "-s: unknown device 'virtio-blk' (expected lpc or virtio-console) "
                             "in '3,virtio-blk,/img'");
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com1,tcp:80x", err, sizeof err), -EINVAL);
    assert_string_equal(err, "-l com1: backend 'tcp:80x': trailing junk 'x' after port '80'");
    test_free(config);
}

static void test_error_message_is_truncated_to_errlen(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[16];
    (void)state;
    memset(err, '#', sizeof err);
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com9,stdio", err, 8), -EINVAL);
    assert_string_equal(err, "-l: unk");
    for (size_t i = 8; i < sizeof err; i++)
        assert_int_equal(err[i], '#');
    memset(err, '#', sizeof err);
    assert_int_equal(vcon_dm_parse_slot(config, "99,lpc", err, 1), -EINVAL);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], '#');
    test_free(config);
}

static void test_null_err_or_zero_errlen_is_accepted(void **state)
{
    struct vcon_dm_config *config = new_config();
    struct vcon_backend_spec spec;
    char err[4] = "abc";
    (void)state;
    assert_int_equal(vcon_dm_parse_slot(config, "99,lpc", NULL, 100), -EINVAL);
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com9,stdio", NULL, 100), -EINVAL);
    assert_int_equal(vcon_dm_parse_uart_backend("tcp:0", &spec, NULL, 100), -EINVAL);
    assert_int_equal(vcon_dm_parse_slot(config, "99,lpc", err, 0), -EINVAL);
    assert_string_equal(err, "abc");
    test_free(config);
}

static void test_null_arguments_are_refused(void **state)
{
    struct vcon_dm_config *config = new_config();
    struct vcon_backend_spec spec;
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(vcon_dm_parse_slot(NULL, "1,lpc", err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_parse_slot(config, NULL, err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_parse_lpc_device(NULL, "com1,stdio", err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_parse_lpc_device(config, NULL, err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_parse_uart_backend(NULL, &spec, err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_parse_uart_backend("stdio", NULL, err, sizeof err), -EINVAL);
    assert_int_equal(vcon_dm_config_check(NULL, err, sizeof err), -EINVAL);
    vcon_dm_config_init(NULL);
    test_free(config);
}

static void test_long_offending_text_is_cut_with_ellipsis(void **state)
{
    struct vcon_dm_config *config = new_config();
    char arg[300];
    char err[ERR_LEN];
    (void)state;
    strcpy(arg, "1,");
    memset(arg + 2, 'd', 200);
    arg[202] = '\0';
    assert_int_equal(vcon_dm_parse_slot(config, arg, err, sizeof err), -EINVAL);
    assert_message_contains(err, "unknown device 'dddd");
    assert_message_contains(err, "...'");
    assert_true(strlen(err) < 200);
    test_free(config);
}

static void test_control_characters_are_escaped_in_messages(void **state)
{
    struct vcon_dm_config *config = new_config();
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com\n1,stdio", err, sizeof err), -EINVAL);
    assert_message_contains(err, "'com\\x0a1'");
    assert_null(strchr(err, '\n'));
    assert_int_equal(vcon_dm_parse_slot(config, "1,\xff\x01", err, sizeof err), -EINVAL);
    assert_message_contains(err, "'\\xff\\x01'");
    test_free(config);
}

static void test_success_clears_err(void **state)
{
    struct vcon_dm_config *config = new_config();
    struct vcon_backend_spec spec;
    char err[ERR_LEN];
    (void)state;
    strcpy(err, "stale");
    parse_slot_ok(config, "1,lpc");
    assert_int_equal(vcon_dm_parse_slot(config, "2,virtio-console,x", err, sizeof err), 0);
    assert_string_equal(err, "");
    strcpy(err, "stale");
    assert_int_equal(vcon_dm_parse_lpc_device(config, "com1,stdio", err, sizeof err), 0);
    assert_string_equal(err, "");
    strcpy(err, "stale");
    assert_int_equal(vcon_dm_parse_uart_backend("stdio", &spec, err, sizeof err), 0);
    assert_string_equal(err, "");
    test_free(config);
}

/* Every one must be refused with a one-line message, leave the
 * configuration alone, and (under ASan/UBSan) touch nothing it should not. */
static void test_malformed_arguments_are_all_refused(void **state)
{
    enum which { SLOT, COM, BACKEND };
    static const struct {
        enum which which;
        const char *text;
    } cases[] = {
        {SLOT, ""},
        {SLOT, ","},
        {SLOT, ",,"},
        {SLOT, ":"},
        {SLOT, "::,lpc"},
        {SLOT, ":::,lpc"},
        {SLOT, "1"},
        {SLOT, "1:0"},
        {SLOT, "1,"},
        {SLOT, "1,,lpc"},
        {SLOT, "1 ,lpc"},
        {SLOT, "1, lpc"},
        {SLOT, "1,lpc "},
        {SLOT, "-1,lpc"},
        {SLOT, "1:0:0:0,lpc"},
        {SLOT, "a,lpc"},
        {SLOT, "1:a,lpc"},
        {SLOT, "1e1,lpc"},
        {SLOT, "32:0,lpc"},
        {SLOT, "1:8,lpc"},
        {SLOT, "300:1:0,lpc"},
        {SLOT, "99999999999999999999999999999999,lpc"},
        {SLOT, "1,lpc,x"},
        {SLOT, "1,virtio-console"},
        {SLOT, "1,virtio-console,"},
        {SLOT, "1,virtio-consolex,a"},
        {SLOT, "1,virtio,a"},
        {SLOT, "1,\t,a"},
        {COM, ""},
        {COM, ","},
        {COM, "com"},
        {COM, "com1"},
        {COM, "com1,"},
        {COM, "com1 ,stdio"},
        {COM, " com1,stdio"},
        {COM, "com+1,stdio"},
        {COM, "com-1,stdio"},
        {COM, "comm1,stdio"},
        {COM, "com1,stdio "},
        {COM, "com1,stdio,"},
        {COM, "com1,tcp"},
        {COM, "com1,tcp:"},
        {COM, "com1,tcp::"},
        {BACKEND, "tcp:80x"},
        {BACKEND, "tcp:+80"},
        {BACKEND, "tcp:0"},
        {BACKEND, "tcp:65536"},
        {BACKEND, "tcp::80"},
        {BACKEND, "tcp:1.2.3.4:"},
        {BACKEND, "tcp:1.2.3.4:0"},
        {BACKEND, "tcp:1.2.3:4"},
        {BACKEND, "tcp:::"},
        {BACKEND, "TCP:80"},
        {BACKEND, "udp:80"},
        {BACKEND, "tty"},
        {BACKEND, "~/tty"},
        {BACKEND, "/dev/tty S0"},
        {BACKEND, "stdio:"},
        {BACKEND, "stdiox"},
    };
    struct vcon_dm_config *config = new_config();
    struct vcon_dm_config *before = test_malloc(sizeof *before);
    (void)state;
    /* A com1 so that duplicate-related paths are reachable too. */
    parse_slot_ok(config, "1,lpc");
    parse_com_ok(config, "com2,stdio");
    memcpy(before, config, sizeof *before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[ERR_LEN] = "";
        struct vcon_backend_spec spec;
        int rc;
        memset(&spec, 0, sizeof spec);
        switch (cases[i].which) {
        case SLOT:
            rc = vcon_dm_parse_slot(config, cases[i].text, err, sizeof err);
            break;
        case COM:
            rc = vcon_dm_parse_lpc_device(config, cases[i].text, err, sizeof err);
            break;
        case BACKEND:
        default:
            rc = vcon_dm_parse_uart_backend(cases[i].text, &spec, err, sizeof err);
            break;
        }
        if (rc != -EINVAL)
            print_error("case %zu '%s' was accepted\n", i, cases[i].text);
        assert_int_equal(rc, -EINVAL);
        assert_true(err[0] != '\0');
        assert_null(strchr(err, '\n'));
        assert_memory_equal(before, config, sizeof *config);
    }
    test_free(before);
    test_free(config);
}

/* A fixed-seed mutation loop over valid arguments: whatever comes out,
 * a parse either succeeds with an empty message or fails with a message and
 * an untouched configuration. Deterministic, so a failure reproduces. */
static void test_mutated_arguments_never_break_the_parser(void **state)
{
    static const char *const seeds[] = {
        "1:0,lpc", "0:3:0,virtio-console,@stdio:p", "com1,stdio", "com5,tcp:127.0.0.1:4000",
        "com2,/dev/pts/3", "31,virtio-console,x",
    };
    static const char alphabet[] = "0123456789:,.-+ /comCOMlpctvirtio\t\xff";
    struct vcon_dm_config *config = new_config();
    struct vcon_dm_config *before = test_malloc(sizeof *before);
    uint32_t rng = 12345u;
    (void)state;
    for (unsigned round = 0; round < 20000; round++) {
        char text[64];
        char err[48];
        size_t len;
        unsigned edits;
        int rc;

        if (round % 500 == 0)
            vcon_dm_config_init(config);
        rng = rng * 1103515245u + 12345u;
        strcpy(text, seeds[(rng >> 16) % (sizeof seeds / sizeof seeds[0])]);
        len = strlen(text);
        edits = 1 + (rng >> 8) % 4;
        for (unsigned e = 0; e < edits; e++) {
            size_t at;
            rng = rng * 1103515245u + 12345u;
            at = (rng >> 16) % (len + 1);
            if (((rng >> 4) & 3u) == 0 && len > 0) { /* delete */
                memmove(text + at, text + at + 1, len - at);
                if (at < len)
                    len--;
                text[len] = '\0';
            } else if (((rng >> 4) & 3u) == 1 && len + 1 < sizeof text) { /* insert */
                memmove(text + at + 1, text + at, len - at + 1);
                text[at] = alphabet[(rng >> 24) % (sizeof alphabet - 1)];
                len++;
            } else if (at < len) { /* replace */
                text[at] = alphabet[(rng >> 24) % (sizeof alphabet - 1)];
            }
        }
        memcpy(before, config, sizeof *before);
        if (text[0] == 'c' || text[0] == 'C')
            rc = vcon_dm_parse_lpc_device(config, text, err, sizeof err);
        else
            rc = vcon_dm_parse_slot(config, text, err, sizeof err);
        if (rc == 0) {
            assert_string_equal(err, "");
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_true(err[0] != '\0');
            assert_true(strlen(err) < sizeof err);
            assert_memory_equal(before, config, sizeof *config);
        }
        (void)vcon_dm_config_check(config, err, sizeof err);
    }
    test_free(before);
    test_free(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lpc_slot_parses_slot_and_func),
        cmocka_unit_test(test_slot_without_func_means_func_0_on_bus_0),
        cmocka_unit_test(test_bus_slot_func_form),
        cmocka_unit_test(test_largest_bus_slot_func_are_accepted),
        cmocka_unit_test(test_leading_zeros_are_read_as_decimal),
        cmocka_unit_test(test_virtio_console_options_kept_verbatim),
        cmocka_unit_test(test_virtio_console_without_options_is_refused),
        cmocka_unit_test(test_virtio_console_options_at_the_limit_are_accepted),
        cmocka_unit_test(test_overlong_virtio_console_options_are_refused),
        cmocka_unit_test(test_lpc_with_options_is_refused),
        cmocka_unit_test(test_second_lpc_is_refused),
        cmocka_unit_test(test_lpc_off_bus_0_is_refused),
        cmocka_unit_test(test_duplicate_slot_is_refused),
        cmocka_unit_test(test_other_function_of_a_used_slot_is_accepted),
        cmocka_unit_test(test_unknown_device_is_refused_by_name),
        cmocka_unit_test(test_device_names_are_case_sensitive),
        cmocka_unit_test(test_slot_out_of_range_is_refused),
        cmocka_unit_test(test_func_out_of_range_is_refused),
        cmocka_unit_test(test_bus_out_of_range_is_refused),
        cmocka_unit_test(test_huge_slot_number_is_out_of_range_not_wrapped),
        cmocka_unit_test(test_non_decimal_slot_is_refused),
        cmocka_unit_test(test_empty_slot_field_is_refused),
        cmocka_unit_test(test_slot_with_too_many_fields_is_refused),
        cmocka_unit_test(test_slot_without_device_is_refused),
        cmocka_unit_test(test_too_many_slots_is_refused),
        cmocka_unit_test(test_com_port_parses_resources_and_backend),
        cmocka_unit_test(test_every_com_port_gets_its_standard_resources),
        cmocka_unit_test(test_com_resources_match_the_pc_standard),
        cmocka_unit_test(test_com_resources_refuse_index_5_and_above),
        cmocka_unit_test(test_com_name_is_case_insensitive),
        cmocka_unit_test(test_unknown_com_is_refused),
        cmocka_unit_test(test_duplicate_com_is_refused),
        cmocka_unit_test(test_com_without_backend_is_refused),
        cmocka_unit_test(test_com_backend_error_names_the_port),
        cmocka_unit_test(test_com_backend_keeps_commas_after_the_first),
        cmocka_unit_test(test_stdio_backend),
        cmocka_unit_test(test_absolute_path_is_a_tty_backend),
        cmocka_unit_test(test_relative_path_is_refused),
        cmocka_unit_test(test_empty_backend_is_refused),
        cmocka_unit_test(test_path_at_the_limit_is_accepted),
        cmocka_unit_test(test_overlong_path_is_refused),
        cmocka_unit_test(test_path_with_blank_or_control_is_refused),
        cmocka_unit_test(test_tcp_port_defaults_to_loopback),
        cmocka_unit_test(test_tcp_address_and_port),
        cmocka_unit_test(test_localhost_maps_to_loopback),
        cmocka_unit_test(test_tcp_port_limits_are_accepted),
        cmocka_unit_test(test_tcp_port_out_of_range_is_refused),
        cmocka_unit_test(test_trailing_junk_after_port_is_refused),
        cmocka_unit_test(test_port_with_sign_or_blank_is_refused),
        cmocka_unit_test(test_empty_tcp_port_is_refused),
        cmocka_unit_test(test_empty_tcp_address_is_refused),
        cmocka_unit_test(test_tcp_without_port_is_refused),
        cmocka_unit_test(test_bad_ipv4_address_is_refused),
        cmocka_unit_test(test_failed_backend_parse_leaves_output_unchanged),
        cmocka_unit_test(test_com_port_without_lpc_is_refused),
        cmocka_unit_test(test_lpc_suggestion_skips_used_slots),
        cmocka_unit_test(test_com_port_with_lpc_passes_check),
        cmocka_unit_test(test_empty_config_passes_check),
        cmocka_unit_test(test_inconsistent_config_is_refused_by_check),
        cmocka_unit_test(test_failed_parse_leaves_config_unchanged),
        cmocka_unit_test(test_error_message_names_offending_text),
        cmocka_unit_test(test_error_message_is_truncated_to_errlen),
        cmocka_unit_test(test_null_err_or_zero_errlen_is_accepted),
        cmocka_unit_test(test_null_arguments_are_refused),
        cmocka_unit_test(test_long_offending_text_is_cut_with_ellipsis),
        cmocka_unit_test(test_control_characters_are_escaped_in_messages),
        cmocka_unit_test(test_success_clears_err),
        cmocka_unit_test(test_malformed_arguments_are_all_refused),
        cmocka_unit_test(test_mutated_arguments_never_break_the_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
