/* vcon-trace: looks at, cuts, compares and minimizes vcon traces
 * (docs/trace-format.md). One subcommand per file, tools/trace_cmd_*.c;
 * docs/vcon-trace.md describes them and their output formats. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "trace_tool.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand subcommands[] = {
    {"dump", trace_cmd_dump, "print every event, one line each"},
    {"stat", trace_cmd_stat, "counts per kind and device, time span, sizes, META"},
    {"cut", trace_cmd_cut, "copy a range of events into a new trace"},
    {"diff", trace_cmd_diff, "the first event where two traces differ"},
    {"minimize", trace_cmd_minimize, "the smallest trace that still fails the same way"},
    {"to-test", trace_cmd_to_test, "a cmocka regression test that replays a trace"},
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void print_help(FILE *out)
{
    fputs("usage: vcon-trace COMMAND [ARGS]\n"
          "\n"
          "Looks at and works on vcon traces (.pcap.zst, docs/trace-format.md).\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
        fprintf(out, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
    fputs("\n"
          "'vcon-trace COMMAND --help' describes a command. Exit status: 0 success,\n"
          "1 a difference (diff) or no failure to keep (minimize), 2 bad usage or an\n"
          "unreadable or damaged trace.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return TOOL_EXIT_ERROR;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            char help_flag[] = "--help";
            char *sub_argv[] = {argv[2], help_flag, NULL};
            for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
                if (strcmp(argv[2], subcommands[i].name) == 0)
                    return subcommands[i].run(2, sub_argv);
            fprintf(stderr, "vcon-trace: unknown command '%s'\n", argv[2]);
            return TOOL_EXIT_ERROR;
        }
        print_help(stdout);
        return TOOL_EXIT_OK;
    }
    for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
        if (strcmp(name, subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vcon-trace: unknown command '%s'\nTry 'vcon-trace --help'.\n", name);
    return TOOL_EXIT_ERROR;
}
