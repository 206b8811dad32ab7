/* The rig: configuration parsing, device placement and host events. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness/rig.h"

#define UART_AND_CONSOLE "-s 1:0,lpc -l com1,stdio -s 3,virtio-console,@stdio:p0,pty:p1"

static struct vcon_rig *make(const char *config)
{
    char err[256];
    struct vcon_rig *rig = NULL;
    int rc = vcon_rig_create(config, 0, NULL, &rig, err, sizeof(err));
    if (rc != 0)
        print_error("rig refused '%s': %s\n", config, err);
    assert_int_equal(rc, 0);
    return rig;
}

static void expect_refused(const char *config, const char *message_part)
{
    char err[256] = "";
    struct vcon_rig *rig = (struct vcon_rig *)&err;
    assert_int_equal(vcon_rig_create(config, 0, NULL, &rig, err, sizeof(err)), -EINVAL);
    assert_null(rig);
    if (strstr(err, message_part) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", config, err, message_part);
}

static void test_bad_configurations_are_refused_with_a_reason(void **state)
{
    (void)state;
    expect_refused("", "no device");
    expect_refused("-l com1,stdio", "LPC bridge");
    expect_refused("-s 1:0,lpc -l com9,stdio", "com9");
    expect_refused("-s 1:0,lpc --uart-profile 16450 -l com1,stdio", "'16450'");
    expect_refused("-s 1:0,lpc --uart-flavour", "missing value after '--uart-flavour'");
    expect_refused("-s 1:0,lpc -l com1,stdio --frobnicate 1", "unknown option '--frobnicate'");
    expect_refused("--console-queue-size 100 -s 3,virtio-console,stdio:p0", "'100'");
    expect_refused("-s 3,virtio-console,bogus:p0", "bogus");
}

static void test_uart_sits_at_its_com_port_with_the_chosen_profile(void **state)
{
    (void)state;
    struct vcon_rig *rig =
        make("-s 1:0,lpc --uart-profile acrn-dm --uart-flavour hv -l com2,/dev/ttyS1");
    struct vcon_rig_device_info info;
    struct vcon_uart_state s;
    assert_int_equal(vcon_rig_nr_devices(rig), 1);
    assert_int_equal(vcon_rig_device_info(rig, 0, &info), 0);
    assert_int_equal(info.kind, VCON_RIG_UART);
    assert_int_equal(info.io_base, 0x2F8);
    assert_int_equal(info.irq_line, 3);
    assert_non_null(vcon_rig_uart(rig, 0));
    assert_null(vcon_rig_console(rig, 0));
    vcon_vm_outb(vcon_rig_vm(rig), 0x2F8 + VCON_UART_SCR, 0x5A);
    vcon_uart_get_state(vcon_rig_uart(rig, 0), &s);
    assert_int_equal(s.scr, 0x5A);
    /* acrn-dm's MSR outside loopback */
    assert_int_equal(vcon_vm_inb(vcon_rig_vm(rig), 0x2F8 + VCON_UART_MSR), 0xA0);
    vcon_rig_destroy(rig);
}

static void test_console_is_on_pci_with_bars_placed_by_firmware(void **state)
{
    (void)state;
    struct vcon_rig *rig = make(UART_AND_CONSOLE);
    struct vcon_vm *vm = vcon_rig_vm(rig);
    struct vcon_rig_device_info info;
    assert_int_equal(vcon_rig_nr_devices(rig), 2);
    assert_int_equal(vcon_rig_device_info(rig, 1, &info), 0);
    assert_int_equal(info.kind, VCON_RIG_CONSOLE);
    assert_int_equal(info.pci_slot, 3);
    assert_int_equal(info.nr_ports, 16);
    assert_int_equal(info.irq_line, VCON_RIG_FIRST_PCI_LINE);
    assert_int_equal(vcon_vm_read(vm, VCON_SPACE_PCI_CONFIG, VCON_PCI_CONFIG_ADDR(0, 3, 0, 0), 4),
                     0x10031AF4u);
    /* BAR0 answers at the firmware's address: host features offer MULTIPORT. */
    assert_true(vcon_vm_read(vm, VCON_SPACE_PIO, info.io_base + VCON_VIRTIO_PCI_HOST_FEATURES,
                             4) &
                (1u << VCON_CONSOLE_F_MULTIPORT));
    assert_int_equal(vcon_rig_device_info(rig, 2, &info), -EINVAL);
    vcon_rig_destroy(rig);
}

static void test_console_options_apply_to_following_consoles(void **state)
{
    (void)state;
    struct vcon_rig *rig =
        make("--console-no-multiport -s 4,virtio-console,@stdio:p0 -s 1:0,lpc");
    struct vcon_rig_device_info info;
    assert_int_equal(vcon_rig_device_info(rig, 0, &info), 0);
    assert_false(vcon_vm_read(vcon_rig_vm(rig), VCON_SPACE_PIO,
                              info.io_base + VCON_VIRTIO_PCI_HOST_FEATURES, 4) &
                 (1u << VCON_CONSOLE_F_MULTIPORT));
    vcon_rig_destroy(rig);
}

struct seen {
    unsigned count;
    struct vcon_rig_event last;
    size_t backend_pending_when_seen;
    struct vcon_rig *rig;
};

static void observe(void *arg, const struct vcon_rig_event *ev)
{
    struct seen *s = arg;
    s->count++;
    s->last = *ev;
    s->backend_pending_when_seen = vcon_script_pending_input(vcon_rig_backend(s->rig, 0, 0));
}

static void test_feed_reaches_the_uart_and_the_observer_sees_it_first(void **state)
{
    (void)state;
    struct vcon_rig *rig = make("-s 1:0,lpc -l com1,stdio");
    struct seen s = {.rig = rig};
    struct vcon_uart_state st;
    vcon_rig_set_event_observer(rig, observe, &s);
    assert_int_equal(vcon_rig_feed(rig, 0, 0, "x", 1), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.last.kind, VCON_RIG_EV_BACKEND_READY);
    /* Observed before the device pulled the byte. */
    assert_int_equal(s.backend_pending_when_seen, 1);
    vcon_uart_get_state(vcon_rig_uart(rig, 0), &st);
    assert_int_equal(st.rx_count, 1);
    assert_int_equal(vcon_vm_inb(vcon_rig_vm(rig), 0x3F8), 'x');
    vcon_rig_destroy(rig);
}

static void test_ram_hole_is_no_ram_for_anyone(void **state)
{
    (void)state;
    struct vcon_rig *rig = make("--ram-hole 0x2000,256 " UART_AND_CONSOLE);
    struct vcon_vm *vm = vcon_rig_vm(rig);
    uint8_t buf[512] = {0};
    /* Around the hole: RAM. */
    assert_int_equal(vcon_vm_guest_write(vm, 0x1F00, buf, 0x100), 0);
    assert_int_equal(vcon_vm_guest_write(vm, 0x2100, buf, 0x100), 0);
    assert_int_equal(vcon_vm_guest_read(vm, 0x1FFF, buf, 1), 0);
    /* Touching it anywhere: refused, including a range whose first and last
     * bytes are RAM (what a device's copy meets in a buffer's middle). */
    assert_int_equal(vcon_vm_guest_write(vm, 0x2000, buf, 1), -EFAULT);
    assert_int_equal(vcon_vm_guest_read(vm, 0x20FF, buf, 1), -EFAULT);
    assert_int_equal(vcon_vm_guest_read(vm, 0x1FFF, buf, 2), -EFAULT);
    assert_int_equal(vcon_vm_guest_write(vm, 0x1F00, buf, sizeof(buf)), -EFAULT);
    /* Removed, it is RAM again. */
    assert_int_equal(vcon_vm_set_ram_hole(vm, 0, 0), 0);
    assert_int_equal(vcon_vm_guest_write(vm, 0x1F00, buf, sizeof(buf)), 0);
    assert_int_equal(vcon_vm_set_ram_hole(vm, VCON_RIG_DEFAULT_RAM - 1, 2), -EINVAL);
    vcon_rig_destroy(rig);

    expect_refused("--ram-hole 0x2000 " UART_AND_CONSOLE, "GPA,LENGTH");
    expect_refused("--ram-hole 0x2000,0 " UART_AND_CONSOLE, "'0x2000,0'");
    expect_refused("--ram-hole 0x2000,4k " UART_AND_CONSOLE, "'0x2000,4k'");
    expect_refused("--ram-hole 0x2000,-1 " UART_AND_CONSOLE, "'0x2000,-1'");
    expect_refused("--ram-hole 0x1000000,16 " UART_AND_CONSOLE, "not inside guest RAM");
}

static void test_a_view_of_ram_is_ram_or_nothing(void **state)
{
    (void)state;
    struct vcon_rig *rig = make("--ram-hole 0x2000,256 " UART_AND_CONSOLE);
    struct vcon_vm *vm = vcon_rig_vm(rig);
    const uint8_t bytes[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    assert_int_equal(vcon_vm_guest_write(vm, 0x1FFC, bytes, sizeof(bytes)), 0);
    /* What the guest wrote, read in place, and what it writes next. */
    const uint8_t *view = vcon_vm_guest_view(vm, 0x1FFC, sizeof(bytes));
    assert_non_null(view);
    assert_memory_equal(view, bytes, sizeof(bytes));
    assert_int_equal(vcon_vm_guest_write(vm, 0x1FFD, "x", 1), 0);
    assert_int_equal(view[1], 'x');
    /* Any byte that is not RAM: no view, as a read would fail. */
    assert_null(vcon_vm_guest_view(vm, 0x1FFC, 5));
    assert_null(vcon_vm_guest_view(vm, 0x20FF, 1));
    assert_non_null(vcon_vm_guest_view(vm, 0x2100, 16));
    const size_t ram = vcon_vm_ram_size(vm);
    assert_non_null(vcon_vm_guest_view(vm, ram - 16, 16));
    assert_null(vcon_vm_guest_view(vm, ram - 16, 17));
    assert_null(vcon_vm_guest_view(vm, UINT64_MAX - 3, 8));
    vcon_rig_destroy(rig);
}

static void test_events_for_missing_devices_or_ports_are_refused(void **state)
{
    (void)state;
    struct vcon_rig *rig = make(UART_AND_CONSOLE);
    struct vcon_rig_event ev = {.kind = VCON_RIG_EV_BACKEND_READY, .device = 2};
    assert_int_equal(vcon_rig_apply(rig, &ev), -EINVAL);
    ev.device = 0;
    ev.port = 1; /* a UART has one port */
    assert_int_equal(vcon_rig_apply(rig, &ev), -EINVAL);
    ev.port = 0;
    ev.kind = VCON_RIG_EV_HOTPLUG; /* not a UART event */
    assert_int_equal(vcon_rig_apply(rig, &ev), -ENOTSUP);
    ev.device = 1;
    ev.port = 5;
    ev.flag = 1;
    ev.name = "hot";
    assert_int_equal(vcon_rig_apply(rig, &ev), 0);
    assert_null(vcon_rig_backend(rig, 1, 16));
    vcon_rig_destroy(rig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configurations_are_refused_with_a_reason),
        cmocka_unit_test(test_uart_sits_at_its_com_port_with_the_chosen_profile),
        cmocka_unit_test(test_console_is_on_pci_with_bars_placed_by_firmware),
        cmocka_unit_test(test_console_options_apply_to_following_consoles),
        cmocka_unit_test(test_feed_reaches_the_uart_and_the_observer_sees_it_first),
        cmocka_unit_test(test_events_for_missing_devices_or_ports_are_refused),
        cmocka_unit_test(test_ram_hole_is_no_ram_for_anyone),
        cmocka_unit_test(test_a_view_of_ram_is_ram_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
