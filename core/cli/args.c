#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli_error.h"

rg_status rg_arg_int(const char *flag, const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!text[0] || *end || errno == ERANGE)
        return rg_cli_error_set(RG_ERR_INVALID, "%s %s: expected an integer", flag, text);
    if (v < lo || v > hi)
        return rg_cli_error_set(RG_ERR_INVALID, "%s %s: out of range [%lld, %lld]", flag, text,
                            (long long)lo, (long long)hi);
    *out = v;
    return RG_OK;
}

rg_status rg_arg_double(const char *flag, const char *text, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (!text[0] || *end || errno == ERANGE || !isfinite(v))
        return rg_cli_error_set(RG_ERR_INVALID, "%s %s: expected a number", flag, text);
    if (v < lo || v > hi)
        return rg_cli_error_set(RG_ERR_INVALID, "%s %s: out of range [%g, %g]", flag, text, lo, hi);
    *out = v;
    return RG_OK;
}
