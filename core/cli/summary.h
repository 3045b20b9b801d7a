/* The model table of regula train and regula info, as Keras's model.summary() prints it:
 * each layer's name (what layers= and after= take), type, one sample's output shape,
 * parameters and the regularizers that touch it, then the total; 80 columns. */
#ifndef RG_CLI_SUMMARY_H
#define RG_CLI_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

#include "regula/regula.h"

/* Writes "name, name" of the regularizers touching layer `layer` into buf. */
typedef void (*rg_cli_hooks_fn)(void *user, int layer, char *buf, size_t cap);

/* with_weights adds each layer's L2 norm and fraction of exact zeros (regula info CKPT).
 * The total of parameters, or -1 when a layer could not be read. */
long long rg_cli_model_table(FILE *f, const rg_model *m, int with_weights, rg_cli_hooks_fn hooks,
                             void *user);

/* text on lines of at most 80 columns: broken after a space or a comma, the lines after
 * the first indented by `indent` spaces (a word longer than a line stays whole) */
void rg_cli_print_wrapped(FILE *f, const char *text, int indent);
/* rg_run_describe_plugins()'s lines, indented by 2 and wrapped */
void rg_cli_print_plugins(FILE *f, const char *plugins);

#endif
