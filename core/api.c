/* The exported embedding API (sdk/include/regula/regula.h). */
#include "regula/regula.h"

#include "error.h"
#include "regula/plugin.h"
#include "threads.h"

const char *rg_version(void)
{
    return REGULA_VERSION_STRING;
}

void rg_abi_version(unsigned *major, unsigned *minor)
{
    if (major)
        *major = REGULA_ABI_MAJOR;
    if (minor)
        *minor = REGULA_ABI_MINOR;
}

const char *rg_last_error(void)
{
    return rg_error_message();
}

const char *rg_status_string(rg_status status)
{
    return rg_status_name(status);
}

const char *rg_blas_kind(void)
{
    return rg_threads_blas_kind();
}
