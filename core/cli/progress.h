/* Progress output: on a terminal one redrawn line (a bar as wide as the terminal allows,
 * images/s, the ETA of the epoch and of the run); otherwise a line every --log-every
 * batches. Either way a table row per epoch, under column heads, narrower than 80
 * columns. */
#ifndef RG_CLI_PROGRESS_H
#define RG_CLI_PROGRESS_H

#include <stdint.h>

#include "regula/regula.h"

typedef struct rg_progress_printer {
    int tty;
    int quiet;
    int64_t batch_size;        /* images per step (the global batch) */
    int64_t log_every;         /* not a terminal: a line every N batches (0: none) */
    double last_draw;
    double epoch_seconds;      /* the finished epochs of this invocation, summed */
    int64_t epochs_timed;
    int header_done;           /* the epoch table's column heads are out */
} rg_progress_printer;

void rg_progress_init(rg_progress_printer *pp, int quiet, int64_t batch_size,
                      int64_t log_every);
void rg_progress_batch(void *user, const rg_batch_info *p);
void rg_progress_epoch(void *user, const rg_epoch_info *s);
/* The progress line for a terminal `cols` wide, at most cols - 1 characters (the fields
 * that do not fit are left out, the bar first shrinks): what rg_progress_batch draws. */
void rg_progress_line(const rg_progress_printer *pp, const rg_batch_info *p, int cols,
                      char *buf, size_t cap);
/* After an epoch line: says when the curves look like over- or underfitting. */
void rg_cli_diagnose(const rg_epoch_info *history, int64_t epochs);

#endif
