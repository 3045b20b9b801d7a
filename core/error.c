#include "error.h"

#include <stdio.h>
#include <string.h>

#define RG_ERROR_CAP 1024

static _Thread_local char g_message[RG_ERROR_CAP];

rg_status rg_error_setv(rg_status status, const char *fmt, va_list ap)
{
    vsnprintf(g_message, sizeof g_message, fmt, ap);
    return status;
}

rg_status rg_error_set(rg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg_error_setv(status, fmt, ap);
    va_end(ap);
    return status;
}

rg_status rg_error_wrap(rg_status status, const char *fmt, ...)
{
    char prefix[RG_ERROR_CAP];
    char old[RG_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_message, sizeof old);
    size_t pl = strlen(prefix), ol = strlen(old);
    if (pl > RG_ERROR_CAP - 3)
        pl = RG_ERROR_CAP - 3;
    if (ol > RG_ERROR_CAP - 3 - pl)
        ol = RG_ERROR_CAP - 3 - pl;
    memcpy(g_message, prefix, pl);
    memcpy(g_message + pl, ": ", 2);
    memcpy(g_message + pl + 2, old, ol);
    g_message[pl + 2 + ol] = '\0';
    return status;
}

const char *rg_error_message(void)
{
    return g_message[0] ? g_message : "no error message";
}

void rg_error_clear(void)
{
    g_message[0] = '\0';
}

const char *rg_status_name(rg_status status)
{
    switch (status) {
    case RG_OK: return "ok";
    case RG_ERR_INVALID: return "invalid argument";
    case RG_ERR_NOMEM: return "out of memory";
    case RG_ERR_IO: return "i/o error";
    case RG_ERR_FORMAT: return "bad format";
    case RG_ERR_VERSION: return "version mismatch";
    case RG_ERR_PLUGIN: return "plugin error";
    case RG_ERR_NUMERIC: return "non-finite value";
    case RG_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}
