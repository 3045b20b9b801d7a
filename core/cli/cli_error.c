#include "cli_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CAP 4096

static _Thread_local char message[CAP];

rg_status rg_cli_error_set(rg_status status, const char *fmt, ...)
{
    char buf[CAP]; /* fmt's arguments may point into message */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(message, buf, sizeof message);
    return status;
}

rg_status rg_cli_error_wrap(rg_status status, const char *fmt, ...)
{
    char prefix[CAP], old[CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, message, sizeof old);
    snprintf(message, sizeof message, "%s: %s", prefix, old);
    return status;
}

const char *rg_cli_error_message(void)
{
    return message[0] ? message : "no error message";
}

void rg_cli_error_clear(void)
{
    message[0] = '\0';
}
