/* The epoch driver: epochs, early stopping with restore-best, the per-epoch metrics line
 * and checkpoint, stop_after and stop requests, the final evaluation and summary. What
 * `regula train` does is this function plus printing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "../threads.h"
#include "run.h"

void rg_run_epoch_info(const rg_run *run, const rg_epoch_stats *s, rg_epoch_info *out);

static void on_batch(void *user, const rg_progress *p)
{
    rg_run *run = user;
    if (run->metrics_file && run->log_every > 0 && p->step % run->log_every == 0 &&
        run->step_status == RG_OK) {
        run->step_status = rg_run_write_step(run, run->metrics_file, p);
        if (run->step_status != RG_OK)
            run->stop = 1; /* the epoch's end reports it */
    }
    if (!run->cb || !run->cb->on_batch)
        return;
    rg_batch_info b = {sizeof b, p->epoch, p->epochs, p->batch, p->batches, p->loss, p->accuracy,
                       p->seconds};
    if (run->cb->on_batch(run->cb->user, &b))
        run->stop = 1;
}

static rg_status finish(rg_run *run)
{
    run->best_epoch = rg_trainer_restore_best(run->trainer);
    rg_status st = rg_trainer_evaluate_train(run->trainer, &run->train_m);
    if (st == RG_OK && rg_trainer_val_count(run->trainer) > 0)
        st = rg_trainer_evaluate_val(run->trainer, &run->val_m);
    if (st == RG_OK && run->test && rg_recipe_bool(run->recipe, "test"))
        st = rg_trainer_evaluate(run->trainer, run->test, &run->test_m);
    const char *summary = rg_recipe_string(run->recipe, "summary");
    if (st == RG_OK && *summary)
        st = rg_run_write_summary(run, summary);
    const char *save = rg_recipe_string(run->recipe, "save");
    if (st == RG_OK && *save) {
        char path[4200];
        rg_run_series_path(save, run->epochs_done, path, sizeof path);
        st = rg_run_write(run, path);
    }
    return st;
}

rg_status rg_run_fit_epochs(rg_run *run)
{
    if (run->state == RG_RUN_FAILED)
        return rg_error_set(RG_ERR_INVALID, "the run failed earlier; resume it from its last "
                            "checkpoint");
    if (run->state == RG_RUN_COMPLETE)
        return RG_OK;
    rg_threads_set_local(run->threads);
    rg_trainer_set_callbacks(run->trainer, on_batch, run);
    run->stop = 0;
    const char *metrics_path = rg_recipe_string(run->recipe, "metrics");
    const char *save = rg_recipe_string(run->recipe, "save");
    int64_t stop_after = rg_recipe_int(run->recipe, "stop_after");
    int64_t stop_at = rg_recipe_int(run->recipe, "stop_at_epoch");
    FILE *metrics = NULL;
    rg_status st = rg_run_series_check(save, rg_recipe_int(run->recipe, "keep"),
                                       rg_recipe_bool(run->recipe, "save_best"));
    if (st == RG_OK && rg_recipe_bool(run->recipe, "save_best") &&
        rg_trainer_val_count(run->trainer) == 0)
        st = rg_error_set(RG_ERR_INVALID, "save_best needs a validation split (val > 0): it "
                          "keeps the best validation epoch");
    int appending = run->resumed || run->epochs_done;
    if (st == RG_OK && *metrics_path && run->ctx->dist.rank == 0 &&
        !(metrics = fopen(metrics_path, appending ? "a" : "w")))
        st = rg_error_set(RG_ERR_IO, "metrics %s: cannot write: %s", metrics_path,
                          strerror(errno));
    if (st == RG_OK && metrics && !appending)
        st = rg_run_write_run_record(run, metrics);
    int complete = 0, stopped = 0;
    int64_t ran = 0;
    run->metrics_file = metrics;
    run->log_every = rg_recipe_int(run->recipe, "log_every");
    run->step_status = RG_OK;
    while (st == RG_OK) {
        if (run->epochs_done >= run->cfg.epochs) {
            complete = 1;
            break;
        }
        if ((stop_after && ran >= stop_after) || (stop_at && run->epochs_done >= stop_at) ||
            run->stop)
            break;
        rg_epoch_stats s;
        st = rg_trainer_run_epoch(run->trainer, &s);
        if (st == RG_OK)
            st = run->step_status;
        if (st != RG_OK)
            break;
        if (s.interrupted) {
            /* stopped between two batches: the checkpoint keeps the epoch's progress, so a
             * resume goes on from the next batch, bit-identically */
            run->interrupted = 1;
            if (*save) {
                char path[4200]; /* a series names it after the epoch in progress */
                rg_run_series_path(save, run->epochs_done + 1, path, sizeof path);
                st = rg_run_write(run, path);
            }
            break;
        }
        run->interrupted = 0;
        run->history[run->epochs_done++] = s;
        run->seconds_sum += s.seconds;
        run->timed_epochs++;
        ran++;
        st = rg_trainer_end_epoch(run->trainer, &s, &stopped);
        if (st == RG_OK && metrics)
            st = rg_run_write_metrics(run, metrics, &s);
        if (st == RG_OK && *save)
            st = rg_run_save_epoch(run, save, &s);
        if (st == RG_OK && run->cb && run->cb->on_epoch) {
            rg_epoch_info e;
            rg_run_epoch_info(run, &s, &e);
            if (run->cb->on_epoch(run->cb->user, &e))
                run->stop = 1;
        }
        if (st == RG_OK && stopped) {
            run->early_stopped = 1;
            complete = 1;
            break;
        }
    }
    run->metrics_file = NULL;
    if (metrics && fclose(metrics) != 0 && st == RG_OK)
        st = rg_error_set(RG_ERR_IO, "metrics %s: write error", metrics_path);
    if (st == RG_OK && complete)
        st = finish(run);
    run->state = st != RG_OK ? RG_RUN_FAILED : complete ? RG_RUN_COMPLETE : RG_RUN_PAUSED;
    return st;
}

rg_status rg_run_fit(rg_run *run, const rg_callbacks *cb)
{
    if (!run)
        return rg_api_null("rg_run_fit", "run");
    rg_api_enter(run->ctx);
    if (cb && cb->struct_size < RG_SIZE_THROUGH(rg_callbacks, user))
        return rg_api_fail(run->ctx, rg_error_set(RG_ERR_VERSION, "rg_run_fit: callbacks "
                                                  "struct_size %u is too small (fill it with "
                                                  "rg_default_callbacks())",
                                                  (unsigned)cb->struct_size));
    run->cb = cb;
    rg_status st = rg_run_fit_epochs(run);
    run->cb = NULL;
    return rg_api_fail(run->ctx, st);
}

void rg_callbacks_init(rg_callbacks *cb, size_t size)
{
    static const rg_callbacks def = {sizeof def, NULL, NULL, NULL};
    rg_api_params_init(cb, size, &def, sizeof def);
}
