/* The -s (PCI slot) and -l (LPC device) arguments of the device model, and
 * the cross-checks run once all of them have been read. The syntax follows
 * ACRN's acrn-dm and bhyve; docs/options.md is the reference for users.
 *
 * Every parser builds the new entry on the side and stores it only once
 * nothing is left to refuse, so a rejected argument leaves the
 * configuration exactly as it was. */
#include <errno.h>
#include <string.h>

#include "dm_options_internal.h"

#define SLOT_FORMS "SLOT[:FUNC],DEVICE[,OPTIONS] or BUS:SLOT:FUNC,DEVICE[,OPTIONS]"
#define PCI_MAX_BUS 255u
#define PCI_MAX_SLOT 31u
#define PCI_MAX_FUNC 7u

static const char lpc_name[] = "lpc";
static const char virtio_console_name[] = "virtio-console";

struct com_resources {
    const char *name;
    uint16_t io_base;
    uint8_t irq;
};

/* com1..com4 are the PC's standard ports. The PC has no standard com5: its
 * port and IRQ are vcon's own choice, above the legacy ISA I/O range. */
static const struct com_resources com_table[VCON_DM_NR_COM] = {
    {"com1", 0x3F8, 4}, {"com2", 0x2F8, 3}, {"com3", 0x3E8, 6},
    {"com4", 0x2E8, 7}, {"com5", 0x9000, 10},
};

int vcon_dm_com_resources(unsigned index, uint16_t *io_base, uint8_t *irq)
{
    if (index >= VCON_DM_NR_COM)
        return -EINVAL;
    if (io_base != NULL)
        *io_base = com_table[index].io_base;
    if (irq != NULL)
        *irq = com_table[index].irq;
    return 0;
}

void vcon_dm_config_init(struct vcon_dm_config *config)
{
    if (config == NULL)
        return;
    memset(config, 0, sizeof *config);
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++)
        (void)vcon_dm_com_resources(i, &config->com[i].io_base, &config->com[i].irq);
}

/* ---- -s ----------------------------------------------------------------- */

struct text_field {
    const char *text;
    size_t len;
};

/* device[] of a slot that may have been filled in by hand: bounded. */
static size_t device_name_len(const struct vcon_pci_slot_spec *slot)
{
    size_t n = 0;

    while (n < sizeof slot->device && slot->device[n] != '\0')
        n++;
    return n;
}

static void add_bdf(struct vcon_dmo_msg *msg, unsigned bus, unsigned slot, unsigned func)
{
    vcon_dmo_msg_uint(msg, bus);
    vcon_dmo_msg_add(msg, ":");
    vcon_dmo_msg_uint(msg, slot);
    vcon_dmo_msg_add(msg, ":");
    vcon_dmo_msg_uint(msg, func);
}

/* Ends a message with " in 'ARG'" so that the user sees which -s it was. */
static int fail_in(struct vcon_dmo_msg *msg, const char *arg)
{
    vcon_dmo_msg_add(msg, " in ");
    vcon_dmo_msg_quote_str(msg, arg);
    return -EINVAL;
}

static int parse_bdf_number(const char *arg, const char *what, struct text_field field,
                            unsigned long max, uint8_t *out, struct vcon_dmo_msg *msg)
{
    unsigned long value = 0;

    switch (vcon_dmo_parse_decimal(field.text, field.len, max, &value)) {
    case VCON_DMO_NUMBER_OK:
        *out = (uint8_t)value;
        return 0;
    case VCON_DMO_NUMBER_EMPTY:
        vcon_dmo_msg_add(msg, "-s: empty ");
        vcon_dmo_msg_add(msg, what);
        return fail_in(msg, arg);
    case VCON_DMO_NUMBER_NOT_DECIMAL:
        vcon_dmo_msg_add(msg, "-s: ");
        vcon_dmo_msg_add(msg, what);
        vcon_dmo_msg_add(msg, " ");
        vcon_dmo_msg_quote(msg, field.text, field.len);
        vcon_dmo_msg_add(msg, " is not a decimal number");
        return fail_in(msg, arg);
    case VCON_DMO_NUMBER_TOO_BIG:
    default:
        vcon_dmo_msg_add(msg, "-s: ");
        vcon_dmo_msg_add(msg, what);
        vcon_dmo_msg_add(msg, " ");
        vcon_dmo_msg_quote(msg, field.text, field.len);
        vcon_dmo_msg_add(msg, " is out of range 0..");
        vcon_dmo_msg_uint(msg, max);
        return fail_in(msg, arg);
    }
}

/* [arg, arg + len) is SLOT, SLOT:FUNC or BUS:SLOT:FUNC. */
static int parse_bdf(const char *arg, size_t len, struct vcon_pci_slot_spec *spec,
                     struct vcon_dmo_msg *msg)
{
    struct text_field fields[3];
    unsigned count = 0;
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && arg[i] != ':')
            continue;
        if (count == 3) {
            vcon_dmo_msg_add(msg, "-s: too many ':' fields before the device");
            vcon_dmo_msg_add(msg, " (expected SLOT[:FUNC] or BUS:SLOT:FUNC)");
            return fail_in(msg, arg);
        }
        fields[count].text = arg + start;
        fields[count].len = i - start;
        count++;
        start = i + 1;
    }

    spec->bus = 0;
    spec->func = 0;
    if (count == 3) {
        if (parse_bdf_number(arg, "bus", fields[0], PCI_MAX_BUS, &spec->bus, msg) != 0 ||
            parse_bdf_number(arg, "slot", fields[1], PCI_MAX_SLOT, &spec->slot, msg) != 0 ||
            parse_bdf_number(arg, "func", fields[2], PCI_MAX_FUNC, &spec->func, msg) != 0)
            return -EINVAL;
        return 0;
    }
    if (parse_bdf_number(arg, "slot", fields[0], PCI_MAX_SLOT, &spec->slot, msg) != 0)
        return -EINVAL;
    if (count == 2 &&
        parse_bdf_number(arg, "func", fields[1], PCI_MAX_FUNC, &spec->func, msg) != 0)
        return -EINVAL;
    return 0;
}

/* The device name and its options, after "BDF,". */
static int parse_device(const char *arg, const char *device, const struct vcon_dm_config *config,
                        struct vcon_pci_slot_spec *spec, struct vcon_dmo_msg *msg)
{
    size_t name_len = vcon_dmo_span_to(device, ',');
    bool has_options = device[name_len] == ',';
    const char *options = has_options ? device + name_len + 1 : "";
    size_t options_len = strlen(options);

    if (name_len == 0) {
        vcon_dmo_msg_add(msg, "-s: empty device name");
        return fail_in(msg, arg);
    }
    if (vcon_dmo_equal(device, name_len, lpc_name)) {
        if (has_options) {
            vcon_dmo_msg_add(msg, "-s: lpc takes no options, got ");
            vcon_dmo_msg_quote(msg, options, options_len);
            return fail_in(msg, arg);
        }
        if (spec->bus != 0) {
            /* The COM ports' ISA resources are decoded on the root bus. */
            vcon_dmo_msg_add(msg, "-s: lpc must be on bus 0 (got bus ");
            vcon_dmo_msg_uint(msg, spec->bus);
            vcon_dmo_msg_add(msg, ")");
            return fail_in(msg, arg);
        }
        if (config->has_lpc) {
            vcon_dmo_msg_add(msg, "-s: only one lpc is allowed and there is one");
            if (config->lpc_index < config->nr_slots && config->lpc_index < VCON_DM_MAX_SLOTS) {
                const struct vcon_pci_slot_spec *lpc = &config->slots[config->lpc_index];
                vcon_dmo_msg_add(msg, " at ");
                add_bdf(msg, lpc->bus, lpc->slot, lpc->func);
            }
            return fail_in(msg, arg);
        }
        memcpy(spec->device, lpc_name, sizeof lpc_name);
        return 0;
    }
    if (vcon_dmo_equal(device, name_len, virtio_console_name)) {
        if (options_len == 0) {
            vcon_dmo_msg_add(msg, "-s: virtio-console needs options, e.g. '@stdio:stdio_port'");
            return fail_in(msg, arg);
        }
        if (options_len >= VCON_DM_OPTIONS_MAX) {
            vcon_dmo_msg_add(msg, "-s: virtio-console options are ");
            vcon_dmo_msg_uint(msg, (unsigned long)options_len);
            vcon_dmo_msg_add(msg, " bytes long; the limit is ");
            vcon_dmo_msg_uint(msg, VCON_DM_OPTIONS_MAX - 1u);
            return fail_in(msg, arg);
        }
        memcpy(spec->device, virtio_console_name, sizeof virtio_console_name);
        memcpy(spec->options, options, options_len + 1);
        return 0;
    }
    vcon_dmo_msg_add(msg, "-s: unknown device ");
    vcon_dmo_msg_quote(msg, device, name_len);
    vcon_dmo_msg_add(msg, " (expected lpc or virtio-console)");
    return fail_in(msg, arg);
}

int vcon_dm_parse_slot(struct vcon_dm_config *config, const char *arg, char *err, size_t errlen)
{
    struct vcon_dmo_msg msg;
    struct vcon_pci_slot_spec spec;
    size_t bdf_len;

    vcon_dmo_msg_init(&msg, err, errlen);
    if (config == NULL || arg == NULL) {
        vcon_dmo_msg_add(&msg, "-s: no configuration or no argument");
        return -EINVAL;
    }
    if (arg[0] == '\0') {
        vcon_dmo_msg_add(&msg, "-s: empty argument (expected " SLOT_FORMS ")");
        return -EINVAL;
    }
    memset(&spec, 0, sizeof spec);

    bdf_len = vcon_dmo_span_to(arg, ',');
    if (arg[bdf_len] != ',') {
        vcon_dmo_msg_add(&msg, "-s: ");
        vcon_dmo_msg_quote_str(&msg, arg);
        vcon_dmo_msg_add(&msg, " names no device (expected " SLOT_FORMS ")");
        return -EINVAL;
    }
    if (parse_bdf(arg, bdf_len, &spec, &msg) != 0)
        return -EINVAL;
    if (parse_device(arg, arg + bdf_len + 1, config, &spec, &msg) != 0)
        return -EINVAL;

    if (config->nr_slots >= VCON_DM_MAX_SLOTS) {
        vcon_dmo_msg_add(&msg, "-s: too many devices (at most ");
        vcon_dmo_msg_uint(&msg, VCON_DM_MAX_SLOTS);
        vcon_dmo_msg_add(&msg, ")");
        return fail_in(&msg, arg);
    }
    for (unsigned i = 0; i < config->nr_slots; i++) {
        const struct vcon_pci_slot_spec *used = &config->slots[i];
        if (used->bus == spec.bus && used->slot == spec.slot && used->func == spec.func) {
            vcon_dmo_msg_add(&msg, "-s: ");
            add_bdf(&msg, spec.bus, spec.slot, spec.func);
            vcon_dmo_msg_add(&msg, " is already taken by ");
            vcon_dmo_msg_quote(&msg, used->device, device_name_len(used));
            return fail_in(&msg, arg);
        }
    }

    if (strcmp(spec.device, lpc_name) == 0) {
        config->has_lpc = true;
        config->lpc_index = config->nr_slots;
    }
    config->slots[config->nr_slots++] = spec;
    return 0;
}

/* ---- -l ----------------------------------------------------------------- */

int vcon_dm_parse_lpc_device(struct vcon_dm_config *config, const char *arg, char *err,
                             size_t errlen)
{
    struct vcon_dmo_msg msg;
    struct vcon_backend_spec backend;
    size_t name_len;
    unsigned index = VCON_DM_NR_COM;

    vcon_dmo_msg_init(&msg, err, errlen);
    if (config == NULL || arg == NULL) {
        vcon_dmo_msg_add(&msg, "-l: no configuration or no argument");
        return -EINVAL;
    }
    if (arg[0] == '\0') {
        vcon_dmo_msg_add(&msg, "-l: empty argument (expected comN,BACKEND, e.g. com1,stdio)");
        return -EINVAL;
    }
    name_len = vcon_dmo_span_to(arg, ',');
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        if (vcon_dmo_equal_nocase(arg, name_len, com_table[i].name))
            index = i;
    }
    if (index == VCON_DM_NR_COM) {
        vcon_dmo_msg_add(&msg, "-l: unknown device ");
        vcon_dmo_msg_quote(&msg, arg, name_len);
        vcon_dmo_msg_add(&msg, " (expected com1..com5)");
        return -EINVAL;
    }
    if (arg[name_len] != ',') {
        vcon_dmo_msg_add(&msg, "-l: ");
        vcon_dmo_msg_quote_str(&msg, arg);
        vcon_dmo_msg_add(&msg, " has no backend (expected comN,BACKEND, e.g. com1,stdio)");
        return -EINVAL;
    }
    if (config->com[index].present) {
        vcon_dmo_msg_add(&msg, "-l: ");
        vcon_dmo_msg_add(&msg, com_table[index].name);
        vcon_dmo_msg_add(&msg, " is given twice, the second time as ");
        vcon_dmo_msg_quote_str(&msg, arg);
        return -EINVAL;
    }
    vcon_dmo_msg_add(&msg, "-l ");
    vcon_dmo_msg_add(&msg, com_table[index].name);
    vcon_dmo_msg_add(&msg, ": ");
    if (vcon_dmo_parse_backend(arg + name_len + 1, &backend, &msg) != 0)
        return -EINVAL;

    vcon_dmo_msg_clear(&msg);
    config->com[index].present = true;
    config->com[index].io_base = com_table[index].io_base;
    config->com[index].irq = com_table[index].irq;
    config->com[index].backend = backend;
    return 0;
}

/* ---- after all arguments ------------------------------------------------ */

/* A slot on bus 0 with nothing on any of its functions, to suggest for the
 * LPC bridge; 0 (the host bridge's by convention) is never offered. */
static unsigned find_free_bus0_slot(const struct vcon_dm_config *config)
{
    for (unsigned slot = 1; slot <= PCI_MAX_SLOT; slot++) {
        bool used = false;
        for (unsigned i = 0; i < config->nr_slots; i++) {
            if (config->slots[i].bus == 0 && config->slots[i].slot == slot)
                used = true;
        }
        if (!used)
            return slot;
    }
    return 0;
}

int vcon_dm_config_check(const struct vcon_dm_config *config, char *err, size_t errlen)
{
    struct vcon_dmo_msg msg;

    vcon_dmo_msg_init(&msg, err, errlen);
    if (config == NULL) {
        vcon_dmo_msg_add(&msg, "no configuration");
        return -EINVAL;
    }
    /* A configuration filled in by hand rather than by the parsers. */
    if (config->nr_slots > VCON_DM_MAX_SLOTS ||
        (config->has_lpc && (config->lpc_index >= config->nr_slots ||
                             memcmp(config->slots[config->lpc_index].device, lpc_name,
                                    sizeof lpc_name) != 0))) {
        vcon_dmo_msg_add(&msg, "inconsistent configuration: nr_slots or lpc_index does not "
                               "match slots[]");
        return -EINVAL;
    }
    if (config->has_lpc)
        return 0;
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        unsigned slot;

        if (!config->com[i].present)
            continue;
        vcon_dmo_msg_add(&msg, com_table[i].name);
        vcon_dmo_msg_add(&msg, " needs the LPC bridge: add -s ");
        slot = find_free_bus0_slot(config);
        if (slot != 0)
            vcon_dmo_msg_uint(&msg, slot);
        else
            vcon_dmo_msg_add(&msg, "SLOT");
        vcon_dmo_msg_add(&msg, ":0,lpc");
        return -EINVAL;
    }
    return 0;
}
