/* Checkpoint files of a run: --save FILE after every epoch, a series with {epoch} in FILE
 * (Keras's ModelCheckpoint filepath "weights.{epoch:02d}.h5"), --keep N of the series,
 * --save-best beside the last. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "run.h"

/* Finds "{epoch}" or "{epoch:0Nd}" in t: its start, length and width (0: none). */
static const char *find_field(const char *t, size_t *len, int *width)
{
    const char *p = strstr(t, "{epoch");
    if (!p)
        return NULL;
    *width = 0;
    if (p[6] == '}') {
        *len = 7;
        return p;
    }
    char *end = NULL;
    if (p[6] == ':' && p[7] == '0') {
        long w = strtol(p + 8, &end, 10);
        if (end && end[0] == 'd' && end[1] == '}' && w >= 1 && w <= 9) {
            *width = (int)w;
            *len = (size_t)(end + 2 - p);
            return p;
        }
    }
    *len = 0;
    return p;
}

rg_status rg_run_series_check(const char *save, int64_t keep, int best)
{
    size_t len = 0;
    int width = 0;
    const char *f = find_field(save, &len, &width);
    if (f && !len)
        return rg_error_set(RG_ERR_INVALID, "save %s: write {epoch} or {epoch:0Nd} (N from 1 "
                            "to 9), e.g. run-{epoch:03d}.ckpt", save);
    if (f && strstr(f + len, "{epoch"))
        return rg_error_set(RG_ERR_INVALID, "save %s: {epoch} may appear once", save);
    if (keep > 0 && !f)
        return rg_error_set(RG_ERR_INVALID, "keep %lld: needs a series of checkpoints, a file "
                            "name with {epoch} (e.g. run-{epoch}.ckpt)", (long long)keep);
    if ((keep > 0 || best) && !*save)
        return rg_error_set(RG_ERR_INVALID, "%s needs save FILE", keep > 0 ? "keep" : "save_best");
    return RG_OK;
}

/* what: the epoch's number, or -1 for the best checkpoint */
void rg_run_series_path(const char *save, int64_t epoch, char *buf, size_t cap)
{
    size_t len = 0;
    int width = 0;
    const char *f = find_field(save, &len, &width);
    if (f && len) {
        char num[32];
        if (epoch < 0)
            snprintf(num, sizeof num, "best");
        else
            snprintf(num, sizeof num, "%0*lld", width, (long long)epoch);
        snprintf(buf, cap, "%.*s%s%s", (int)(f - save), save, num, f + len);
        return;
    }
    if (epoch >= 0) {
        snprintf(buf, cap, "%s", save);
        return;
    }
    /* run.ckpt -> run.best.ckpt; a name without an extension gets .best at its end */
    const char *slash = strrchr(save, '/'), *dot = strrchr(save, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : save))
        snprintf(buf, cap, "%s.best", save);
    else
        snprintf(buf, cap, "%.*s.best%s", (int)(dot - save), save, dot);
}

/* After epoch run->epochs_done: its checkpoint, the one --keep lets go, the best so far
 * (the best's metric is in every checkpoint, so a resumed run keeps comparing with it). */
rg_status rg_run_save_epoch(rg_run *run, const char *save, const rg_epoch_stats *s)
{
    int better = 0;
    if (rg_recipe_bool(run->recipe, "save_best")) {
        /* lower is better: accuracy enters negated, as in early stopping */
        double v =
            run->cfg.early_metric == RG_EARLY_VAL_ACCURACY ? -s->val_accuracy : s->val_loss;
        better = isfinite(v) && (isnan(run->best_saved) || v < run->best_saved);
        if (better)
            run->best_saved = v;
    }
    char path[4200];
    rg_run_series_path(save, run->epochs_done, path, sizeof path);
    rg_status st = rg_run_write(run, path);
    int64_t keep = rg_recipe_int(run->recipe, "keep");
    if (st == RG_OK && keep > 0 && run->epochs_done > keep &&
        (!run->ctx || run->ctx->dist.rank == 0)) {
        char old[4200];
        rg_run_series_path(save, run->epochs_done - keep, old, sizeof old);
        if (strcmp(old, path) && remove(old) != 0 && errno != ENOENT)
            st = rg_error_set(RG_ERR_IO, "keep: cannot remove %s: %s", old, strerror(errno));
    }
    if (st != RG_OK || !better)
        return st;
    char best[4200];
    rg_run_series_path(save, -1, best, sizeof best);
    return rg_run_write(run, best);
}
