/* FROZEN COPY of regula 1.5 status codes. Never edit. */
/* regula: status codes shared by the plugin ABI and the embedding API.
 *
 * Values are part of ABI v1: never renumber, only append. */
#ifndef REGULA_STATUS_H
#define REGULA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rg_status {
    RG_OK = 0,
    RG_ERR_INVALID = 1,     /* bad argument or parameter value */
    RG_ERR_NOMEM = 2,       /* allocation failed */
    RG_ERR_IO = 3,          /* file missing, unreadable or truncated */
    RG_ERR_FORMAT = 4,      /* file content does not match its format */
    RG_ERR_VERSION = 5,     /* ABI version negotiation failed */
    RG_ERR_PLUGIN = 6,      /* a plugin broke the ABI contract or failed */
    RG_ERR_NUMERIC = 7,     /* a non-finite value appeared */
    RG_ERR_UNSUPPORTED = 8  /* a valid request this build cannot serve */
} rg_status;

#ifdef __cplusplus
}
#endif
#endif
