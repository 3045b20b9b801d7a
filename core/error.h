/* Error values with kept messages: a failing function returns its rg_status
 * and leaves a one-line message for the caller (the CLI prints it). The
 * message slot is per thread, so concurrent callers do not clobber each
 * other; host->parallel_for copies a worker's message to the caller. */
#ifndef RG_CORE_ERROR_H
#define RG_CORE_ERROR_H

#include <stdarg.h>

#include "regula/status.h"

/* Store the message and return `status`, so callers write
 * `return rg_error_set(RG_ERR_IO, "%s: cannot open", path);`. */
rg_status rg_error_set(rg_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
rg_status rg_error_setv(rg_status status, const char *fmt, va_list ap);
/* Prefix the current message with "context: ", keeping the status. */
rg_status rg_error_wrap(rg_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *rg_error_message(void);
void rg_error_clear(void);
const char *rg_status_name(rg_status status);

#endif
