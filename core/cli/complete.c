/* regula __complete WHAT ...: the words bash completion (completion/regula.bash) offers
 * that only the library knows, one per line:
 *   plugins reg|aug    the installed regularizers or augmenters
 *   params reg|aug NAME  the parameters of plugin NAME of that kind, and the host's keys
 *   choices FIELD      the values of a recipe field with a fixed set (optimizer, ...)
 * Flags come from each command's --help, read by the script itself. Never an error
 * message: a completion that fails offers nothing. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "regula/regula.h"

typedef struct want {
    uint32_t kind;       /* plugins: this kind */
    const char *name;    /* params: this plugin */
} want;

static int visit(void *user, const rg_plugin_info *p)
{
    const want *w = user;
    if (p->shadowed || p->status != RG_OK)
        return 0;
    if (!w->name) {
        if (p->kind == w->kind)
            printf("%s\n", p->name);
        return 0;
    }
    if (strcmp(p->name, w->name) || p->kind != w->kind)
        return 0;
    for (uint32_t k = 0; k < p->num_params; k++)
        printf("%s=\n", p->params[k].name);
    /* the host's keys (README "Using regula"): which tensors or sites a plugin acts on */
    if (p->kind == RG_PLUGIN_REGULARIZER)
        printf("layers=\ntensors=\nafter=\n");
    return 1;
}

static int list_plugins(want *w)
{
    rg_context_params cp = rg_context_default_params();
    rg_context *ctx = NULL;
    if (rg_context_create(&cp, &ctx) != RG_OK)
        return 1;
    rg_plugins_list(ctx, visit, w);
    rg_context_destroy(ctx);
    return 0;
}

static int choices(const char *field)
{
    for (int i = 0; i < rg_recipe_field_count(); i++) {
        rg_field_info f = {.struct_size = sizeof f};
        if (rg_recipe_field(i, &f) != RG_OK || strcmp(f.name, field))
            continue;
        if (f.type == RG_FIELD_BOOL)
            printf("true\nfalse\n");
        for (const char *c = f.type == RG_FIELD_CHOICE ? f.choices : ""; c && *c;) {
            size_t n = strcspn(c, "|");
            printf("%.*s\n", (int)n, c);
            c += n + (c[n] == '|');
        }
        return 0;
    }
    return 0;
}

int rg_cmd_complete(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "plugins")) {
        want w = {!strcmp(argv[2], "aug") ? RG_PLUGIN_AUGMENTER : RG_PLUGIN_REGULARIZER, NULL};
        return list_plugins(&w);
    }
    if (argc >= 4 && !strcmp(argv[1], "params")) {
        want w = {!strcmp(argv[2], "aug") ? RG_PLUGIN_AUGMENTER : RG_PLUGIN_REGULARIZER, argv[3]};
        return list_plugins(&w);
    }
    if (argc >= 3 && !strcmp(argv[1], "choices"))
        return choices(argv[2]);
    return 0;
}
