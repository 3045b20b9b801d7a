/* The regula command. The CLI is the only code that prints or exits. */
#ifndef RG_CLI_H
#define RG_CLI_H

#include <stdio.h>

#include "regula/regula.h"

int rg_cmd_train(int argc, char **argv);
/* mpi_cli.c: MPI for `mpirun -np N regula train` (no-ops without MPI or without a launcher).
 * start: nonzero is the exit status of a failure; comm: &MPI_COMM_WORLD once started, else
 * NULL; finish: ends MPI (every rank at once when code is nonzero) and returns code. */
int rg_cli_mpi_start(int *argc, char ***argv);
const void *rg_cli_mpi_comm(void);
int rg_cli_mpi_finish(int code);
/* this process's rank and the number of ranks (0 and 1 outside MPI); any: 1 on every rank
 * if flag is nonzero on some rank (a collective: every rank calls it) */
int rg_cli_mpi_rank(void);
int rg_cli_mpi_ranks(void);
int rg_cli_mpi_any(int flag);
/* Splits the ranks into groups of k consecutive ones (a sweep's data-parallel trials):
 * rg_cli_mpi_comm() then hands the group's communicator to what this process runs. 0, or
 * -1 when the ranks do not split so (or without MPI). bcast: n ints from the group's first
 * rank to the others (a collective of the group); 0, or -1. */
int rg_cli_mpi_group(int k);
int rg_cli_mpi_group_bcast(int *v, int n);
/* returns on every rank of the group once all of them called it; 0, or -1 */
int rg_cli_mpi_group_barrier(void);
int rg_cmd_plugins(int argc, char **argv);
int rg_cmd_plugin(int argc, char **argv);
int rg_cmd_dataset(int argc, char **argv);
int rg_cmd_augment(int argc, char **argv);
int rg_cmd_sweep(int argc, char **argv);
/* regula sweep report DIR -o report.png (sweep_report_cmd.c) */
int rg_cmd_sweep_report(int argc, char **argv);
int rg_cmd_eval(int argc, char **argv);
int rg_cmd_predict(int argc, char **argv);
int rg_cmd_export(int argc, char **argv);
int rg_cmd_plot(int argc, char **argv);
int rg_cmd_info(int argc, char **argv);
int rg_cmd_complete(int argc, char **argv);
/* The name of class `label` of data source `data` where regula knows it (Fashion-MNIST's,
 * as its documentation names them), else NULL. */
const char *rg_cli_class_name(const char *data, int64_t label);
/* Print "regula: <message>" to stderr and return the exit code 1 (2 for
 * usage errors). */
int rg_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A context for one command: threads (0: $REGULA_THREADS, else all cores), logging to
 * stderr. On failure the message is in rg_cli_error_message(). */
rg_status rg_cli_context(int threads, rg_context **ctx);
/* "regula LEVEL: message" on stderr: the log callback of the command's contexts. */
void rg_cli_log(void *user, int level, const char *message);

#endif
