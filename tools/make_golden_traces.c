/* make-golden-traces: records the canonical guest sessions
 * (vcon/recorded_sessions.h) into the golden traces that the test suite
 * replays (corpus/traces/). Run it from the source tree as
 *
 *     build/debug/tools/make-golden-traces corpus/traces
 *
 * when a device's behaviour changes on purpose. The same binary writes the
 * same bytes on every run: nothing in a session depends on the clock, the
 * environment or memory addresses, and zstd is deterministic. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/rig.h"
#include "vcon/recorded_sessions.h"
#include "vcon/recorder.h"

enum session_kind { SESSION_UART, SESSION_CONSOLE };

struct golden {
    const char *file;
    const char *config;
    enum session_kind kind;
    uint64_t seed;
};

/* Small on purpose (each file well under 100 KB): a few hundred bytes each
 * way are enough to cross FIFO and ring boundaries several times. */
static const struct golden goldens[] = {
    {"uart-16550a-session.pcap.zst", "-s 1:0,lpc -l com1,stdio", SESSION_UART, 1},
    {"uart-acrn-dm-hv-session.pcap.zst",
     "-s 1:0,lpc --uart-profile acrn-dm --uart-flavour hv -l com1,stdio", SESSION_UART, 2},
    {"console-2port-session.pcap.zst", "-s 3,virtio-console,@stdio:p0,pty:p1", SESSION_CONSOLE,
     3},
};

#define UART_OUT 400u
#define UART_IN 300u
#define CONSOLE_OUT 300u
#define CONSOLE_IN 300u

/* A golden trace must show a session that worked: every byte through. */
static int check_result(const struct golden *g, const struct vcon_session_result *res)
{
    const unsigned ports = g->kind == SESSION_UART ? 1 : 3;
    for (unsigned p = 0; p < ports; p++) {
        if (!res->out_ok[p] || !res->in_ok[p]) {
            fprintf(stderr, "make-golden-traces: %s: port %u moved %zu out / %zu in bytes, "
                            "not what was sent\n",
                    g->file, p, res->out_done[p], res->in_done[p]);
            return -EIO;
        }
    }
    if (g->kind == SESSION_CONSOLE && !(res->resized && res->hotplugged && res->unplugged)) {
        fprintf(stderr, "make-golden-traces: %s: the guest missed the resize or the hot-plug\n",
                g->file);
        return -EIO;
    }
    return 0;
}

static int run_session(const struct golden *g, struct vcon_rig *rig, struct vcon_recorder *rec)
{
    struct vcon_session_result res;
    struct vcon_session_options o = {.device = 0, .seed = (uint32_t)g->seed, .rec = rec};
    int rc;
    if (g->kind == SESSION_UART) {
        o.out_len = UART_OUT;
        o.in_len = UART_IN;
        rc = vcon_session_uart(rig, &o, &res);
    } else {
        o.out_len = CONSOLE_OUT;
        o.in_len = CONSOLE_IN;
        rc = vcon_session_console(rig, &o, &res);
    }
    if (rc != 0) {
        fprintf(stderr, "make-golden-traces: %s: session failed: %s\n", g->file, strerror(-rc));
        return rc;
    }
    return check_result(g, &res);
}

static int record(const struct golden *g, const char *dir)
{
    char path[4096], err[256];
    struct vcon_recorder *rec = NULL;
    struct vcon_rig *rig = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, g->file);
    const struct vcon_trace_writer_options writer = {.level = 19};
    const struct vcon_recorder_options options = {.path = path, .seed = g->seed, .writer = &writer};
    int rc = vcon_recorder_create(&options, &rec);
    if (rc == 0)
        rc = vcon_rig_create(g->config, 0, vcon_recorder_hooks(rec), &rig, err, sizeof(err));
    if (rc == 0)
        rc = vcon_recorder_start(rec, rig);
    if (rc == 0)
        rc = run_session(g, rig, rec);
    const int finished = vcon_recorder_finish(rec);
    if (rc == 0 && finished != 0) {
        fprintf(stderr, "make-golden-traces: %s: %s\n", path, vcon_recorder_error(rec));
        rc = finished;
    }
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
    return rc;
}

static void print_size(const char *dir, const char *file)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (stat(path, &st) == 0)
        printf("%s: %lld bytes\n", path, (long long)st.st_size);
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: make-golden-traces OUTDIR\n"
                        "Records the golden traces (corpus/traces/*.pcap.zst) into OUTDIR.\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
        const int rc = record(&goldens[i], argv[1]);
        if (rc != 0) {
            fprintf(stderr, "make-golden-traces: %s/%s: %s\n", argv[1], goldens[i].file,
                    strerror(rc < 0 ? -rc : rc));
            return 1;
        }
        print_size(argv[1], goldens[i].file);
    }
    return 0;
}
