/* regula-api: the commands that are clients of the public API alone (train, eval, predict,
 * export), linked against libregula.so with only sdk/include on the include path. It is
 * built with the project so that the build fails the day one of these commands reaches for
 * something the library does not export. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"train", rg_cmd_train}, {"eval", rg_cmd_eval}, {"predict", rg_cmd_predict},
                {"export", rg_cmd_export}};
    for (size_t i = 0; argc > 1 && i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].run(argc - 1, argv + 1);
    return rg_cli_fail(2, "usage: regula-api train|eval|predict|export ... (as regula)");
}
