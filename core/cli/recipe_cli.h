/* The recipe's fields as command-line flags: --FIELD-NAME VALUE (underscores become
 * dashes; --flag=value works too), boolean fields as --flag / --no-flag. The help text
 * is generated from the same table, and library messages that start with a field name
 * get its flag instead. */
#ifndef RG_CLI_RECIPE_CLI_H
#define RG_CLI_RECIPE_CLI_H

#include <stdio.h>

#include "regula/regula.h"

#define RG_CLI_HOOK_TIMEOUT 600.0

/* Options of the command itself, parsed next to the recipe flags. */
typedef struct rg_cli_train_extra {
    int help, quiet, print_config;
    double hook_timeout;     /* seconds a plugin hook may run before it is called hung */
    const char *resume, *config;
} rg_cli_train_extra;

/* Parses argv[1..] into r (config file first, then flags in order) and x. Errors are
 * worded with flags, written to err and returned as RG_ERR_INVALID. */
rg_status rg_cli_recipe_parse(int argc, char **argv, const char *command, rg_recipe *r,
                              rg_cli_train_extra *x, char *err, size_t cap);
/* Every recipe flag with its value name, doc and default, wrapped to 92 columns. */
void rg_cli_recipe_help(FILE *f);
/* msg with a leading field name replaced by its flag ("lr 0.1x: ..." -> "--lr 0.1x: ..."). */
const char *rg_cli_flagify(const char *msg, char *buf, size_t cap);
/* "lr_schedule" -> "--lr-schedule" */
void rg_cli_flag_name(const char *field, char *buf, size_t cap);

#endif
