/* regula plugin <subcommand>: tools for plugin authors. */
#include <string.h>

#include "cli.h"

int rg_cmd_plugin(int argc, char **argv)
{
    if (argc < 2)
        return rg_cli_fail(2, "plugin: expected a subcommand (check)");
    return rg_cli_fail(2, "plugin: unknown subcommand '%s'", argv[1]);
}
