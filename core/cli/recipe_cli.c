#include "recipe_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>


enum { OPT_HELP = 'h', OPT_BASE = 1000, OPT_NEG = 2000, OPT_QUIET = 3000, OPT_RESUME,
       OPT_CONFIG, OPT_PRINT_CONFIG, OPT_HOOK_TIMEOUT };

void rg_cli_flag_name(const char *field, char *buf, size_t cap)
{
    snprintf(buf, cap, "--%s", field);
    for (char *p = buf + 2; *p; p++)
        if (*p == '_')
            *p = '-';
}

const char *rg_cli_flagify(const char *text, char *buf, size_t cap)
{
    /* msg may be the thread's error slot, which rg_recipe_field clears */
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", text);
    int n = rg_recipe_field_count();
    for (int i = 0; i < n; i++) {
        rg_field_info f = {.struct_size = sizeof f};
        rg_recipe_field(i, &f);
        size_t len = strlen(f.name);
        if (!strncmp(msg, f.name, len) && (msg[len] == ' ' || msg[len] == ':')) {
            char flag[64];
            rg_cli_flag_name(f.name, flag, sizeof flag);
            snprintf(buf, cap, "%s%s", flag, msg + len);
            return buf;
        }
    }
    snprintf(buf, cap, "%s", msg);
    return buf;
}

/* Long option names must outlive getopt_long: one static table, built once. */
static char names[2][64][40];
static struct option opts[2 * 64 + 9];

static void build_options(void)
{
    int n = rg_recipe_field_count(), k = 0;
    for (int i = 0; i < n && i < 64; i++) {
        rg_field_info f = {.struct_size = sizeof f};
        rg_recipe_field(i, &f);
        rg_cli_flag_name(f.name, names[0][i], sizeof names[0][i]);
        int is_bool = f.type == RG_FIELD_BOOL;
        opts[k++] = (struct option){names[0][i] + 2, is_bool ? no_argument : required_argument,
                                    NULL, OPT_BASE + i};
        if (is_bool) {
            snprintf(names[1][i], sizeof names[1][i], "no-%s", names[0][i] + 2);
            opts[k++] = (struct option){names[1][i], no_argument, NULL, OPT_NEG + i};
        }
    }
    opts[k++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[k++] = (struct option){"quiet", no_argument, NULL, OPT_QUIET};
    opts[k++] = (struct option){"resume", required_argument, NULL, OPT_RESUME};
    opts[k++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[k++] = (struct option){"print-config", no_argument, NULL, OPT_PRINT_CONFIG};
    opts[k++] = (struct option){"hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT};
    opts[k] = (struct option){NULL, 0, NULL, 0};
}

/* The library's message about a field, worded with its flag. */
static rg_status flag_error(const rg_recipe *r, char *err, size_t cap)
{
    (void)r;
    rg_cli_flagify(rg_last_error(), err, cap);
    return RG_ERR_INVALID;
}

static rg_status say(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rg_status say(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return RG_ERR_INVALID;
}

rg_status rg_cli_recipe_parse(int argc, char **argv, const char *command, rg_recipe *r,
                              rg_cli_train_extra *x, char *err, size_t cap)
{
    memset(x, 0, sizeof *x);
    x->hook_timeout = RG_CLI_HOOK_TIMEOUT;
    build_options();
    /* pass 1: --config, so that flags override the file whatever their order */
    for (int pass = 0; pass < 2; pass++) {
        optind = 1;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
            if (c == '?') {
                const char *bad = argv[optind - 1];
                if (optopt && optopt != '?' && optopt < OPT_BASE)
                    return say(err, cap, "%s: unknown option '-%c' (see regula %s --help)",
                               command, optopt, command);
                return say(err, cap, "%s: unknown option '%s' (see regula %s --help)", command,
                           bad, command);
            }
            if (c == ':')
                return say(err, cap, "%s: %s needs a value", command, argv[optind - 1]);
            if (pass == 0) {
                /* the message names the file, line and column already */
                if (c == OPT_CONFIG && rg_recipe_load_json(r, optarg) != RG_OK)
                    return say(err, cap, "%s", rg_last_error());
                continue;
            }
            rg_status st = RG_OK;
            if (c == OPT_HELP)
                x->help = 1;
            else if (c == OPT_QUIET)
                x->quiet = 1;
            else if (c == OPT_RESUME)
                x->resume = optarg;
            else if (c == OPT_CONFIG)
                x->config = optarg;
            else if (c == OPT_PRINT_CONFIG)
                x->print_config = 1;
            else if (c == OPT_HOOK_TIMEOUT) {
                char *end = NULL;
                double v = strtod(optarg, &end);
                if (end == optarg || *end || !(v >= 0) || v > 1e6)
                    return say(err, cap, "--hook-timeout %s: expected seconds in [0, 1e6] (0: "
                               "no limit)", optarg);
                x->hook_timeout = v;
            }
            else if (c >= OPT_NEG) {
                rg_field_info f = {.struct_size = sizeof f};
                rg_recipe_field(c - OPT_NEG, &f);
                st = rg_recipe_set(r, f.name, "false");
            } else if (c >= OPT_BASE) {
                rg_field_info f = {.struct_size = sizeof f};
                rg_recipe_field(c - OPT_BASE, &f);
                st = rg_recipe_set(r, f.name, f.type == RG_FIELD_BOOL ? "true" : optarg);
            }
            if (st != RG_OK)
                return flag_error(r, err, cap);
        }
    }
    if (optind < argc)
        return say(err, cap, "%s: unexpected argument '%s'", command, argv[optind]);
    return RG_OK;
}

static void wrap(FILE *f, const char *text, int indent, int col)
{
    int pos = col;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ' ');
        int len = end ? (int)(end - p) : (int)strlen(p);
        if (pos + len + 1 > 92 && pos > indent) {
            fprintf(f, "\n%*s", indent, "");
            pos = indent;
        } else if (pos > indent) {
            fputc(' ', f);
            pos++;
        }
        fprintf(f, "%.*s", len, p);
        pos += len;
        p += len;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

void rg_cli_recipe_help(FILE *f)
{
    int n = rg_recipe_field_count();
    for (int i = 0; i < n; i++) {
        rg_field_info info = {.struct_size = sizeof info};
        rg_recipe_field(i, &info);
        char flag[64], head[160], doc[2048];
        rg_cli_flag_name(info.name, flag, sizeof flag);
        if (info.type == RG_FIELD_BOOL)
            snprintf(head, sizeof head, "  %s, --no-%s", flag, flag + 2);
        else
            snprintf(head, sizeof head, "  %s %s", flag, info.value_name ? info.value_name : "X");
        const char *def = info.default_text;
        if (info.type == RG_FIELD_LIST)
            snprintf(doc, sizeof doc, "%s", info.doc);
        else if (info.type == RG_FIELD_CHOICE)
            snprintf(doc, sizeof doc, "%s (one of %s; default %s)", info.doc, info.choices, def);
        else if (*def)
            snprintf(doc, sizeof doc, "%s (default %s)", info.doc, def);
        else
            snprintf(doc, sizeof doc, "%s", info.doc);
        int col = (int)strlen(head);
        fputs(head, f);
        if (col >= 22) {
            fprintf(f, "\n%*s", 22, "");
            col = 22;
        } else {
            fprintf(f, "%*s", 22 - col, "");
            col = 22;
        }
        wrap(f, doc, 22, col);
    }
}
