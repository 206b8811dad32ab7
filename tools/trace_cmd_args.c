/* vcon-trace: error messages and the command-line parser every subcommand
 * uses. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "trace_tool.h"

void tool_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vcon-trace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vcon-trace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'vcon-trace %s --help'.\n", cmd);
    return TOOL_EXIT_ERROR;
}

bool tool_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static const struct tool_option *find_option(const struct tool_option *options, const char *arg,
                                             size_t name_len)
{
    for (const struct tool_option *o = options; o && o->name; o++)
        if (strlen(o->name) == name_len && strncmp(o->name, arg, name_len) == 0)
            return o;
    return NULL;
}

int tool_args_one_trace(const char *cmd, int argc, char **argv, const struct tool_option *options,
                        const char *help, const char **path)
{
    const char *operands[1];
    size_t nr;
    const int rc = tool_parse_args(cmd, argc, argv, options, operands, 1, &nr);
    if (rc == 1) {
        fputs(help, stdout);
        return TOOL_EXIT_OK;
    }
    if (rc != 0)
        return rc;
    if (nr != 1)
        return tool_usage_error(cmd, "expected one trace file");
    *path = operands[0];
    return -1;
}

int tool_finish_output(const char *cmd, int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        tool_error(cmd, "writing the output failed");
        return TOOL_EXIT_ERROR;
    }
    return status;
}

int tool_parse_args(const char *cmd, int argc, char **argv, const struct tool_option *options,
                    const char **operands, size_t max_operands, size_t *nr_operands)
{
    bool only_operands = false;
    *nr_operands = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_operands && strcmp(arg, "--") == 0) {
            only_operands = true;
            continue;
        }
        if (only_operands || arg[0] != '-' || arg[1] == '\0') {
            if (*nr_operands == max_operands)
                return tool_usage_error(cmd, "unexpected argument '%s'", arg);
            operands[(*nr_operands)++] = arg;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return 1;
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct tool_option *o = find_option(options, arg, name_len);
        if (!o)
            return tool_usage_error(cmd, "unknown option '%.*s'", (int)name_len, arg);
        if (!o->takes_value) {
            if (eq)
                return tool_usage_error(cmd, "option '%s' takes no value", o->name);
            *o->flag = true;
            continue;
        }
        if (eq) {
            *o->value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return tool_usage_error(cmd, "option '%s' needs a value", o->name);
            *o->value = argv[++i];
        }
    }
    return 0;
}
