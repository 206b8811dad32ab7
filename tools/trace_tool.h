/* vcon-trace: the pieces its subcommands share. Each subcommand lives in
 * tools/trace_cmd_NAME.c as `int trace_cmd_NAME(int argc, char **argv)`, with
 * argv[0] the subcommand's name, and returns the process's exit status. The
 * output formats are documented in docs/vcon-trace.md; events are printed by
 * the trace library (vcon_trace_print_event), as vcon-replay shows them. */
#ifndef VCON_TRACE_TOOL_H
#define VCON_TRACE_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vcon/trace.h"

/* Exit statuses of every subcommand. */
enum {
    TOOL_EXIT_OK = 0,
    TOOL_EXIT_DIFFERENT = 1, /* diff: the traces differ; minimize: no failure */
    TOOL_EXIT_ERROR = 2,     /* bad usage, an unreadable or damaged input, a write error */
};

int trace_cmd_dump(int argc, char **argv);
int trace_cmd_stat(int argc, char **argv);
int trace_cmd_cut(int argc, char **argv);
int trace_cmd_diff(int argc, char **argv);
int trace_cmd_minimize(int argc, char **argv);
int trace_cmd_to_test(int argc, char **argv);

/* ---- messages and arguments (trace_cmd_args.c) ------------------------- */

/* "vcon-trace CMD: message\n" on stderr. */
__attribute__((format(printf, 2, 3))) void tool_error(const char *cmd, const char *fmt, ...);

/* Prints a usage error and the "--help" hint; returns TOOL_EXIT_ERROR. */
__attribute__((format(printf, 2, 3))) int tool_usage_error(const char *cmd, const char *fmt,
                                                           ...);

/* A subcommand's command line: options (--name, --name VALUE or
 * --name=VALUE, single-letter -o VALUE) and positional operands, in any
 * order; "--" ends the options. */
struct tool_option {
    const char *name;  /* "--from", "-o" */
    bool takes_value;
    const char **value; /* for options with a value: where it goes */
    bool *flag;         /* for flags: set to true */
};

/* Parses argv[1..argc-1]. Operands go to operands[0..*nr_operands-1] (at most
 * max_operands). Returns 0, 1 when --help/-h was given (the caller prints its
 * help and exits 0), or TOOL_EXIT_ERROR after printing the reason. */
int tool_parse_args(const char *cmd, int argc, char **argv, const struct tool_option *options,
                    const char **operands, size_t max_operands, size_t *nr_operands);

/* The start of a subcommand that takes one trace: parses argv, prints
 * `help` for --help. Returns -1 with *path set to go on, or the exit status
 * (TOOL_EXIT_OK after the help, TOOL_EXIT_ERROR after a usage message). */
int tool_args_one_trace(const char *cmd, int argc, char **argv, const struct tool_option *options,
                        const char *help, const char **path);

/* The end of a subcommand that wrote to stdout: `status`, or
 * TOOL_EXIT_ERROR (after a message) when the output could not be written. */
int tool_finish_output(const char *cmd, int status);

/* A non-negative decimal (or 0x-hex) number; false for anything else. */
bool tool_parse_u64(const char *s, uint64_t *out);

/* ---- reading and writing traces (trace_cmd_io.c) ----------------------- */

/* Opens path for cmd, printing "vcon-trace CMD: PATH: reason" on failure. */
struct vcon_trace_reader *tool_open_reader(const char *cmd, const char *path);

/* The length of ev's body as written in a file (header, fields, payload);
 * 0 if it does not encode. */
size_t tool_event_body_size(const struct vcon_trace_event *ev);

/* Same kind, device, fields and payload (sequence numbers are not
 * compared); time compared separately by the caller. */
bool tool_events_equal(const struct vcon_trace_event *a, const struct vcon_trace_event *b);

/* A whole trace in memory, every payload and string owned. */
struct tool_event {
    uint64_t time_ns;
    struct vcon_trace_event ev; /* payload points into the trace's arena */
};

struct tool_trace {
    struct vcon_trace_meta meta; /* strings owned, NUL-terminated */
    struct tool_event *events;   /* META and END excluded */
    size_t nr_events;
    bool complete;      /* END was read */
    bool compressed;    /* the input was a .pcap.zst */
    uint8_t **payloads; /* one allocation per payload, freed with the trace */
};

/* Loads path. A trace cut short (no END) loads with complete false; a
 * damaged one prints "vcon-trace CMD: PATH: message" and returns -errno. */
int tool_load_trace(const char *cmd, const char *path, struct tool_trace *out);
void tool_free_trace(struct tool_trace *t);

/* Writes meta, then events[i] for every i with keep[i] (keep NULL: all),
 * then END, to path (compressed unless plain). Returns 0 or prints the
 * reason and returns a negative errno. */
int tool_write_trace(const char *cmd, const char *path, const struct vcon_trace_meta *meta,
                     const struct tool_event *events, size_t nr_events, const bool *keep,
                     bool plain);

/* True when path names an uncompressed pcap (ends in ".pcap"). */
bool tool_path_is_plain(const char *path);

/* ---- running vcon-replay (trace_cmd_replay.c) -------------------------- */

/* How one replay of a trace ended. */
enum tool_outcome_kind {
    TOOL_OUTCOME_MATCH = 0,      /* exit 0 */
    TOOL_OUTCOME_DIVERGED = 1,   /* exit 1 and a DIVERGENCE report */
    TOOL_OUTCOME_UNREADABLE = 2, /* exit 2 */
    TOOL_OUTCOME_CRASH,          /* a sanitizer report, or killed by a signal */
    TOOL_OUTCOME_HANG,           /* killed after the time limit */
    TOOL_OUTCOME_OTHER,          /* any other exit status */
    TOOL_OUTCOME_INVARIANT,      /* exit 3 (--check) and an INVARIANT BROKEN report */
};

struct tool_outcome {
    enum tool_outcome_kind kind;
    int status;          /* exit status, or 128 + signal */
    uint64_t div_event;  /* DIVERGED, INVARIANT: the event named in the report */
    char div_kind[32];   /* DIVERGED: its kind, e.g. "READ_RESULT" */
    char crash_type[96]; /* CRASH: "AddressSanitizer: heap-buffer-overflow", "signal 11" */
    char crash_site[512]; /* CRASH: "FUNCTION FILE:LINE" of the first frame in our code */
    char invariant[160];  /* INVARIANT: its name */
};

/* A vcon-replay to run and a scratch folder for its output. */
struct tool_replayer {
    char path[1024];
    char scratch[256]; /* created by tool_replayer_init, removed by _cleanup */
    unsigned timeout_s;
    bool verbose; /* print each run's command on stderr */
    bool check;   /* run vcon-replay --check (state invariants) */
};

/* Finds vcon-replay (`given`, else beside this executable, else in PATH)
 * and makes the scratch folder. Returns 0 or prints why and returns -1. */
int tool_replayer_init(const char *cmd, const char *given, unsigned timeout_s,
                       struct tool_replayer *rp);
void tool_replayer_cleanup(struct tool_replayer *rp);

/* Runs vcon-replay on trace and classifies how it ended. Returns 0, or -1
 * when it could not be run at all (after a message). */
int tool_run_replay(const char *cmd, const struct tool_replayer *rp, const char *trace,
                    struct tool_outcome *o);

/* Parses a sanitizer report (stderr of a run); true when there is one. */
bool tool_parse_crash_report(const char *text, struct tool_outcome *o);

/* The same failure: both crash at the same site, or both diverge with the
 * same kind, or both are the same other non-match. */
bool tool_same_failure(const struct tool_outcome *a, const struct tool_outcome *b);

/* One line: "match", "divergence at event 12 (READ_RESULT)", "crash:
 * AddressSanitizer: SEGV in f emu/x.c:3". */
void tool_describe_outcome(const struct tool_outcome *o, char *buf, size_t size);

#endif
