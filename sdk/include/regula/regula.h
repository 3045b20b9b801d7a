/* regula embedding API. Handles are opaque; functions return rg_status and
 * keep a one-line message readable with rg_last_error(). */
#ifndef REGULA_REGULA_H
#define REGULA_REGULA_H

#include "regula/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REGULA_VERSION_MAJOR 0
#define REGULA_VERSION_MINOR 1
#define REGULA_VERSION_PATCH 0
#define REGULA_VERSION_STRING "0.1.0"

#if defined(__GNUC__) && defined(REGULA_BUILDING_LIBRARY)
#define RG_API __attribute__((visibility("default")))
#else
#define RG_API
#endif

/* The library's version, e.g. "0.1.0", and the plugin ABI it serves. */
RG_API const char *rg_version(void);
RG_API void rg_abi_version(unsigned *major, unsigned *minor);
/* The message of the last failure on this thread. */
RG_API const char *rg_last_error(void);
RG_API const char *rg_status_string(rg_status status);

#ifdef __cplusplus
}
#endif
#endif
