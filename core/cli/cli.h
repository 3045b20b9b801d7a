/* The regula command. The CLI is the only code that prints or exits. */
#ifndef RG_CLI_H
#define RG_CLI_H

#include <stdio.h>

int rg_cmd_train(int argc, char **argv);
int rg_cmd_plugins(int argc, char **argv);
int rg_cmd_plugin(int argc, char **argv);
int rg_cmd_dataset(int argc, char **argv);
int rg_cmd_augment(int argc, char **argv);
int rg_cmd_sweep(int argc, char **argv);
int rg_cmd_eval(int argc, char **argv);
int rg_cmd_predict(int argc, char **argv);
int rg_cmd_export(int argc, char **argv);
int rg_cmd_plot(int argc, char **argv);
/* Print "regula: <message>" to stderr and return the exit code 1 (2 for
 * usage errors). */
int rg_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rg_cli_install_log(void);
/* "regula LEVEL: message" on stderr: the log callback of the command's contexts. */
void rg_cli_log(void *user, int level, const char *message);

#endif
