/* vcon-run's host side: which backend each port asks for, opening them,
 * wiring them into each device's host, and turning what the event loop and
 * the backends report into the devices' host events. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "vcon/dm_options.h"

/* ---- the host each device sees ------------------------------------------- */

/* Device `index` gets: the recorder's host (when recording), wrapping a
 * vcon_backend_host whose backend I/O goes to the real backends and whose
 * memory, interrupts, time and log go to the VM. So every byte a backend
 * gives the device crosses the recorder, and a replay needs no backend. */
static void wrap_host(void *arg, unsigned index, const struct vcon_host *inner,
                      struct vcon_host *out)
{
    struct run *r = arg;
    struct run_device *d = &r->dev[index];
    const struct vcon_rig_hooks *rec = vcon_recorder_hooks(r->rec);

    *out = *inner;
    if (index >= VCON_RIG_MAX_DEVICES ||
        vcon_backend_host_init(&d->bh, inner, d->ports, RUN_MAX_PORTS) != 0)
        return;
    if (rec != NULL)
        rec->wrap_host(rec->arg, index, &d->bh.host, out);
    else
        *out = d->bh.host;
}

const struct vcon_rig_hooks *run_hooks(struct run *r)
{
    r->hooks = (struct vcon_rig_hooks){.arg = r, .wrap_host = wrap_host};
    return &r->hooks;
}

/* ---- which backend each port wants --------------------------------------- */

/* The rig does not keep the backend specs: read the -s and -l tokens again
 * (the rig has accepted them, so they parse). */
static void parse_dm(const char *config, struct vcon_dm_config *dm)
{
    char text[RUN_CONFIG_MAX];
    char *save = NULL;
    snprintf(text, sizeof(text), "%s", config);
    vcon_dm_config_init(dm);
    for (char *tok = strtok_r(text, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        if (strcmp(tok, "--console-no-multiport") == 0)
            continue;
        char *value = strtok_r(NULL, " ", &save);
        if (value == NULL)
            break;
        if (strcmp(tok, "-s") == 0)
            (void)vcon_dm_parse_slot(dm, value, NULL, 0);
        else if (strcmp(tok, "-l") == 0)
            (void)vcon_dm_parse_lpc_device(dm, value, NULL, 0);
    }
}

static struct run_port *new_port(struct run *r, unsigned device, unsigned port)
{
    struct run_port *p = &r->port[r->nr_ports++];
    memset(p, 0, sizeof(*p));
    p->run = r;
    p->device = device;
    p->port = port;
    return p;
}

static int console_ports(struct run *r, unsigned index, const struct vcon_dm_config *dm)
{
    const struct vcon_rig_device_info *info = &r->dev[index].info;
    struct vcon_console_config config;
    struct vcon_backend_spec specs[VCON_CONSOLE_MAX_PORTS];
    char err[RUN_ERR_MAX];

    for (unsigned s = 0; s < dm->nr_slots; s++) {
        const struct vcon_pci_slot_spec *slot = &dm->slots[s];
        if (slot->bus != info->pci_bus || slot->slot != info->pci_slot ||
            slot->func != info->pci_func)
            continue;
        if (vcon_console_parse_options(slot->options, &config, specs, err, sizeof(err)) != 0) {
            run_error("%s", err);
            return RUN_EXIT_USAGE;
        }
        for (unsigned p = 0; p < config.max_ports; p++) {
            if (!config.port[p].present)
                continue;
            struct run_port *rp = new_port(r, index, p);
            rp->console = true;
            rp->spec = specs[p];
            snprintf(rp->name, sizeof(rp->name), "%s", config.port[p].name);
        }
        return 0;
    }
    run_error("no -s option for the virtio-console at %u:%u:%u", info->pci_bus, info->pci_slot,
              info->pci_func);
    return RUN_EXIT_USAGE;
}

static int uart_port(struct run *r, unsigned index, const struct vcon_dm_config *dm)
{
    const struct vcon_rig_device_info *info = &r->dev[index].info;
    for (unsigned i = 0; i < VCON_DM_NR_COM; i++) {
        if (!dm->com[i].present || dm->com[i].io_base != info->io_base)
            continue;
        struct run_port *rp = new_port(r, index, 0);
        rp->spec = dm->com[i].backend;
        snprintf(rp->name, sizeof(rp->name), "com%u", i + 1);
        return 0;
    }
    run_error("no -l option for the UART at port 0x%x", info->io_base);
    return RUN_EXIT_USAGE;
}

/* The fake guest's virtio-console driver scans function 0 of the devices
 * of one bus and takes the first console it finds. */
static int check_guest_reach(const struct run *r)
{
    for (unsigned i = 0; i < r->nr_devices; i++) {
        const struct vcon_rig_device_info *a = &r->dev[i].info;
        if (a->kind != VCON_RIG_CONSOLE)
            continue;
        if (a->pci_func != 0) {
            run_error("the virtio-console at %u:%u:%u is on function %u: the fake guest's "
                      "driver looks at function 0 only",
                      a->pci_bus, a->pci_slot, a->pci_func, a->pci_func);
            return RUN_EXIT_USAGE;
        }
        for (unsigned j = 0; j < i; j++) {
            const struct vcon_rig_device_info *b = &r->dev[j].info;
            if (b->kind == VCON_RIG_CONSOLE && b->pci_bus == a->pci_bus) {
                run_error("two virtio-consoles on PCI bus %u: the fake guest's driver drives "
                          "one per bus; put the other on its own bus (-s BUS:SLOT:0,...)",
                          a->pci_bus);
                return RUN_EXIT_USAGE;
            }
        }
    }
    return 0;
}

int run_ports_find(struct run *r)
{
    struct vcon_dm_config dm;
    parse_dm(r->opt.config, &dm);
    r->nr_devices = vcon_rig_nr_devices(r->rig);
    for (unsigned i = 0; i < r->nr_devices; i++) {
        struct run_device *d = &r->dev[i];
        if (vcon_rig_device_info(r->rig, i, &d->info) != 0)
            return RUN_EXIT_USAGE;
        d->first_port = &r->port[r->nr_ports];
        const int rc = d->info.kind == VCON_RIG_CONSOLE ? console_ports(r, i, &dm)
                                                        : uart_port(r, i, &dm);
        if (rc != 0)
            return rc;
    }
    return check_guest_reach(r);
}

static const char *kind_word(enum vcon_backend_kind kind)
{
    switch (kind) {
    case VCON_BACKEND_KIND_STDIO: return "stdio";
    case VCON_BACKEND_KIND_TTY: return "tty";
    case VCON_BACKEND_KIND_PTY: return "pty";
    case VCON_BACKEND_KIND_FILE: return "file";
    case VCON_BACKEND_KIND_SOCKET_SERVER: return "socket server";
    case VCON_BACKEND_KIND_SOCKET_CLIENT: return "socket client";
    case VCON_BACKEND_KIND_TCP: return "tcp";
    }
    return "backend";
}

int run_backends_open(struct run *r)
{
    int rc;
    const struct vcon_backend_options options = {
        .buffer_size = r->opt.buffer_size,
        .client_wait = r->opt.client_wait,
    };
    for (unsigned i = 0; i < r->nr_ports; i++) {
        struct run_port *p = &r->port[i];
        char err[RUN_ERR_MAX];
        rc = vcon_backend_open(&p->spec, &options, &p->backend, err, sizeof(err));
        if (rc != 0) {
            /* The backend's message names its kind. */
            if (err[0] != 0)
                run_error("port %s: %s", p->name, err);
            else
                run_error("port %s: %s backend: %s", p->name, kind_word(p->spec.kind),
                          strerror(-rc));
            return RUN_EXIT_USAGE;
        }
        r->dev[p->device].ports[p->port] = p->backend;
    }
    return 0;
}

void run_backends_close(struct run *r)
{
    for (unsigned i = 0; i < r->nr_ports; i++) {
        struct run_port *p = &r->port[i];
        if (p->device < VCON_RIG_MAX_DEVICES && p->port < RUN_MAX_PORTS)
            r->dev[p->device].ports[p->port] = NULL;
        vcon_backend_close(p->backend);
        p->backend = NULL;
    }
}

/* ---- events -------------------------------------------------------------- */

static void apply(struct run *r, enum vcon_rig_event_kind kind, const struct run_port *p,
                  unsigned flag)
{
    const struct vcon_rig_event ev = {
        .kind = kind, .device = p->device, .port = p->port, .flag = flag};
    (void)vcon_rig_apply(r->rig, &ev);
}

/* What a backend reported, as the device's host events (through the rig, so
 * that a recording has them). The order is the backend contract's: a peer
 * that left before another came is closed first. */
static void port_events(struct run_port *p, unsigned ev)
{
    struct run *r = p->run;
    if (ev == 0)
        return;
    r->progress++;
    if (p->console && (ev & VCON_BACKEND_EV_DISCONNECTED))
        apply(r, VCON_RIG_EV_BACKEND_OPEN, p, 0);
    if (p->console && (ev & VCON_BACKEND_EV_CONNECTED))
        apply(r, VCON_RIG_EV_BACKEND_OPEN, p, 1);
    if (ev & (VCON_BACKEND_EV_READABLE | VCON_BACKEND_EV_WRITABLE | VCON_BACKEND_EV_CONNECTED))
        apply(r, VCON_RIG_EV_BACKEND_READY, p, 0);
}

static void on_fd(void *arg, int fd, unsigned revents)
{
    struct run_port *p = arg;
    port_events(p, vcon_backend_handle(p->backend, fd, revents));
}

void run_backends_start(struct run *r)
{
    for (unsigned i = 0; i < r->nr_ports; i++)
        port_events(&r->port[i], vcon_backend_poll(r->port[i].backend));
}

void run_backends_poll(struct run *r)
{
    const uint64_t now = vcon_vm_now(r->vm);
    for (unsigned i = 0; i < r->nr_ports; i++) {
        struct run_port *p = &r->port[i];
        struct vcon_backend_info info;
        vcon_backend_get_info(p->backend, &info);
        if (info.retry_wanted) {
            /* A client without a server: connect() on a timer, not on
             * every turn of the loop. */
            if (now < p->next_retry_ns)
                continue;
            p->next_retry_ns = now + r->opt.retry_ns;
        }
        port_events(p, vcon_backend_poll(p->backend));
    }
}

uint64_t run_backends_deadline(const struct run *r)
{
    uint64_t deadline = UINT64_MAX;
    for (unsigned i = 0; i < r->nr_ports; i++) {
        const struct run_port *p = &r->port[i];
        struct vcon_backend_info info;
        vcon_backend_get_info(p->backend, &info);
        if (info.retry_wanted && p->next_retry_ns < deadline)
            deadline = p->next_retry_ns;
    }
    return deadline;
}

void run_backends_want(struct run *r)
{
    for (unsigned i = 0; i < r->nr_ports; i++) {
        struct run_port *p = &r->port[i];
        struct pollfd fds[VCON_BACKEND_MAX_FDS];
        const int n = vcon_backend_poll_fds(p->backend, fds, VCON_BACKEND_MAX_FDS);
        for (int k = 0; k < n; k++)
            if (fds[k].events != 0)
                (void)vcon_loop_want(r->loop, fds[k].fd, (unsigned)fds[k].events, on_fd, p);
    }
}

bool run_port_open(const struct run_port *p)
{
    struct vcon_backend_info info;
    vcon_backend_get_info(p->backend, &info);
    return info.connected && !info.input_closed;
}
