/* The plugin conformance checker behind `regula plugin check PATH.so`.
 *
 * Each check runs in a forked child with a timeout, so a plugin that
 * crashes, hangs or calls exit() is reported instead of taking the checker
 * down (as GStreamer's out-of-process scanner does). Results reach the
 * caller through a callback, one
 * per check, in order; the library never prints.
 *
 * Fork safety: call rg_check_plugin before the process has started OpenMP
 * threads. The children run the plugin at 1 and 2 threads, and libgomp's
 * pool does not survive a fork, so the parent itself never enters a
 * parallel region. */
#ifndef RG_CORE_CHECK_CHECK_H
#define RG_CORE_CHECK_CHECK_H

#include <stdint.h>

#include "regula/plugin.h"

typedef enum rg_check_verdict {
    RG_CHECK_PASS = 0,
    RG_CHECK_FAIL = 1,
    RG_CHECK_NA = 2      /* does not apply to this plugin; not counted as passed */
} rg_check_verdict;

#define RG_CHECK_NAME_CAP 64
#define RG_CHECK_DETAIL_CAP 1024

typedef struct rg_check_result {
    rg_check_verdict verdict;
    char name[RG_CHECK_NAME_CAP];
    char detail[RG_CHECK_DETAIL_CAP];
} rg_check_result;

typedef void (*rg_check_report_fn)(void *ctx, const rg_check_result *result);

typedef struct rg_check_options {
    double timeout_s;          /* per check; <= 0 means RG_CHECK_DEFAULT_TIMEOUT */
    /* The ABI minor the "current host" offers; 0 means REGULA_ABI_MINOR.
     * Tests raise it to exercise the older-host negotiation check before
     * a minor 1 exists. */
    uint32_t host_minor;
    rg_check_report_fn report; /* may be NULL */
    void *report_ctx;
} rg_check_options;

#define RG_CHECK_DEFAULT_TIMEOUT 20.0

typedef struct rg_check_summary {
    int passed, failed, na;
} rg_check_summary;

/* Runs every check that applies to the plugin at `path`. Returns RG_OK when
 * the checks ran (whatever their verdicts: read `summary`), or an error if
 * the checker itself could not run (fork or pipe failed). */
rg_status rg_check_plugin(const char *path, const rg_check_options *options,
                          rg_check_summary *summary);

const char *rg_check_verdict_name(rg_check_verdict v);

#endif
