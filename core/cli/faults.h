/* What `regula train` does when a plugin misbehaves in a way no status can report: a fatal
 * signal, an exit() or a hang inside a hook. It names the plugin and hook (from
 * rg_hooks_describe), says where the last good checkpoint is, and exits with status 3. */
#ifndef RG_CLI_FAULTS_H
#define RG_CLI_FAULTS_H

#include <stdint.h>

#define RG_CLI_EXIT_PLUGIN 3

/* Installs the signal handlers (on an alternate stack), the atexit check and, when
 * hook_timeout > 0, the watchdog thread. Call once, before training. */
void rg_cli_faults_install(double hook_timeout);
/* After each epoch's checkpoint: what the messages say is kept. path NULL: none. */
void rg_cli_faults_checkpoint(const char *path, int64_t epoch);
/* What the command is doing ("training epoch 2, batch 17 of 422"), named by the message of
 * a crash outside any plugin hook. Not async-signal-safe: call it from normal code. */
void rg_cli_faults_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Training is over: an exit from here on is the command's own. */
void rg_cli_faults_done(void);

#endif
