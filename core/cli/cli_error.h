/* The command's own error messages (parsing, files it writes, plots, sweeps): a failing
 * function returns its status and leaves one line here, as the library does on its
 * contexts. A message that comes from the library is copied in with rg_cli_error_set. */
#ifndef RG_CLI_ERROR_H
#define RG_CLI_ERROR_H

#include "regula/status.h"

rg_status rg_cli_error_set(rg_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "context: ", keeping the status. */
rg_status rg_cli_error_wrap(rg_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *rg_cli_error_message(void);
void rg_cli_error_clear(void);

#endif
