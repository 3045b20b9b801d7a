/* Progress output: a redrawn bar on a terminal, plain lines otherwise
 * (logs and CI get ~10 lines per epoch, not one per batch). */
#ifndef RG_CLI_PROGRESS_H
#define RG_CLI_PROGRESS_H

#include <stdint.h>

#include "regula/regula.h"

typedef struct rg_progress_printer {
    int tty;
    int quiet;
    double last_draw;
    int64_t last_tenth;
} rg_progress_printer;

void rg_progress_init(rg_progress_printer *pp, int quiet);
void rg_progress_batch(void *user, const rg_batch_info *p);
void rg_progress_epoch(void *user, const rg_epoch_info *s);
/* After an epoch line: says when the curves look like over- or underfitting. */
void rg_cli_diagnose(const rg_epoch_info *history, int64_t epochs);

#endif
