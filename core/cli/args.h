/* Strict number parsing for the command line: the whole text must be a
 * number in range, or the user gets a one-line error naming the flag. */
#ifndef RG_CLI_ARGS_H
#define RG_CLI_ARGS_H

#include <stdint.h>

#include "regula/status.h"

rg_status rg_arg_int(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out);
rg_status rg_arg_double(const char *flag, const char *text, double lo, double hi, double *out);

#endif
