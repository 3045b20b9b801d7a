/* The forked probe load of a plugin file (see probe.c). */
#ifndef RG_CORE_PLUGIN_PROBE_H
#define RG_CORE_PLUGIN_PROBE_H

#include "loader.h"

/* Loads `path` (pre-checked) in a child process with rg_plugin_dlopen and reports whether
 * that crashed (which signal), exited (which status) or did not finish within
 * rg_plugin_probe_timeout() seconds. RG_OK: the parent may load it (an ordinary load
 * error is the parent's to report, the same as the child's). */
rg_status rg_plugin_probe(const char *path, const rg_host_api *host);
/* "SIGSEGV" for SIGSEGV, ... (the signals a plugin's fault raises); NULL for others. */
const char *rg_signal_name(int sig);
/* $REGULA_PLUGIN_PROBE_TIMEOUT seconds, 10 by default. */
double rg_plugin_probe_timeout(void);

#endif
