/* Replay and recording figures: replay throughput next to plain zstd
 * decompression of the same file, the recorder's overhead as a ratio of the
 * same session run with and without recording, and bytes per event. Prints
 * figures; it passes or fails nothing. Each measurement is the best of
 * several repetitions, taken in the same run, so the ratios compare like
 * with like on a noisy machine. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "harness/rig.h"
#include "vcon/recorded_sessions.h"
#include "vcon/recorder.h"
#include "vcon/replayer.h"

#define REPEATS 5

struct bench_session {
    const char *name;
    const char *config;
    int (*run)(struct vcon_rig *, const struct vcon_session_options *,
               struct vcon_session_result *);
    size_t bytes; /* each way, per port */
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One session run; recorded to `path` when it is not NULL. Returns seconds,
 * or a negative value on failure. */
static double run_session(const struct bench_session *s, const char *path)
{
    struct vcon_recorder *rec = NULL;
    struct vcon_rig *rig = NULL;
    struct vcon_session_result result;
    const struct vcon_session_options o = {.out_len = s->bytes, .in_len = s->bytes, .seed = 1};
    char err[256];
    double start, elapsed;
    int rc;

    if (path != NULL) {
        const struct vcon_recorder_options ro = {.path = path, .seed = 1, .no_crash_flush = 1};
        if (vcon_recorder_create(&ro, &rec) != 0)
            return -1;
    }
    start = now_seconds();
    rc = vcon_rig_create(s->config, 0, vcon_recorder_hooks(rec), &rig, err, sizeof(err));
    if (rc == 0)
        rc = vcon_recorder_start(rec, rig);
    if (rc == 0)
        rc = s->run(rig, &o, &result);
    if (rc == 0)
        rc = vcon_recorder_finish(rec);
    elapsed = now_seconds() - start;
    vcon_rig_destroy(rig);
    vcon_recorder_destroy(rec);
    if (rc != 0) {
        fprintf(stderr, "replay-bench: %s session failed (%d) %s\n", s->name, rc, err);
        return -1;
    }
    return elapsed;
}

static double replay_file(const char *path, uint64_t *events)
{
    const struct vcon_replay_options o = {.mode = VCON_REPLAY_AUTO};
    struct vcon_replayer *r = NULL;
    struct vcon_replay_result result;
    double start = now_seconds(), elapsed;
    enum vcon_replay_status status;

    if (vcon_replay_open(path, &o, &r) != 0)
        return -1;
    status = vcon_replay_run(r);
    elapsed = now_seconds() - start;
    vcon_replay_get_result(r, &result);
    vcon_replay_close(r);
    *events = result.events;
    return status == VCON_REPLAY_MATCH ? elapsed : -1;
}

/* Streams the file through zstd into a scratch buffer: the floor under any
 * replay of it. Returns seconds, and the decompressed size. */
static double decompress_file(const char *path, uint64_t *raw_bytes)
{
    static unsigned char in[1 << 16], out[1 << 17];
    ZSTD_DCtx *d = ZSTD_createDCtx();
    FILE *f = fopen(path, "rb");
    double start = now_seconds();
    size_t n;
    *raw_bytes = 0;
    if (d == NULL || f == NULL) {
        ZSTD_freeDCtx(d);
        if (f)
            fclose(f);
        return -1;
    }
    while ((n = fread(in, 1, sizeof(in), f)) > 0) {
        ZSTD_inBuffer ib = {in, n, 0};
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = {out, sizeof(out), 0};
            if (ZSTD_isError(ZSTD_decompressStream(d, &ob, &ib))) {
                fclose(f);
                ZSTD_freeDCtx(d);
                return -1;
            }
            *raw_bytes += ob.pos;
        }
    }
    fclose(f);
    ZSTD_freeDCtx(d);
    return now_seconds() - start;
}

static double best(double a, double b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static int bench_one(const struct bench_session *s, const char *dir)
{
    char path[512];
    double plain = -1, recorded = -1, replay = -1, unzstd = -1;
    uint64_t events = 0, raw = 0;
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s.pcap.zst", dir, s->name);
    for (int i = 0; i < REPEATS; i++) {
        plain = best(plain, run_session(s, NULL));
        recorded = best(recorded, run_session(s, path));
    }
    for (int i = 0; i < REPEATS; i++) {
        replay = best(replay, replay_file(path, &events));
        unzstd = best(unzstd, decompress_file(path, &raw));
    }
    if (plain <= 0 || recorded <= 0 || replay <= 0 || unzstd <= 0 || stat(path, &st) != 0 ||
        events == 0) {
        fprintf(stderr, "replay-bench: %s: a measurement failed\n", s->name);
        return -1;
    }
    printf("%-8s %9llu %8.1f %8.1f %12.0f %12.0f %8.1f %10.3f\n", s->name,
           (unsigned long long)events, (double)st.st_size / (double)events,
           (double)raw / (double)events, (double)events / replay, (double)events / unzstd,
           unzstd / replay * 100.0, recorded / plain);
    return 0;
}

int main(int argc, char **argv)
{
    const struct bench_session sessions[] = {
        {"uart", "-s 1:0,lpc -l com1,stdio", vcon_session_uart, 4096},
        {"console", "-s 3,virtio-console,@stdio:p0,pty:p1", vcon_session_console, 16384},
    };
    char dir[] = "/tmp/vcon-replay-bench-XXXXXX";
    int failed = 0;

    if (argc > 1) {
        printf("usage: %s\n"
               "Records a UART and a virtio-console session, replays them, and prints:\n"
               "events, bytes per event (compressed, uncompressed), replay events/s,\n"
               "plain zstd decompression of the same file in events/s, replay speed as a\n"
               "percentage of decompression, and the recorder's overhead (time with\n"
               "recording / time without). Best of %d runs each.\n",
               argv[0], REPEATS);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (mkdtemp(dir) == NULL) {
        perror("replay-bench: mkdtemp");
        return 1;
    }
    printf("%-8s %9s %8s %8s %12s %12s %8s %10s\n", "session", "events", "B/ev.z", "B/ev",
           "replay ev/s", "unzstd ev/s", "% unzstd", "rec.ratio");
    for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++)
        failed |= bench_one(&sessions[i], dir) != 0;
    for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s.pcap.zst", dir, sessions[i].name);
        unlink(path);
    }
    rmdir(dir);
    return failed;
}
