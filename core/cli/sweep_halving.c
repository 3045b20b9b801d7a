/* regula sweep: what gets trained, and for how long. Without --halving every
 * configuration trains to the end. With it, successive halving (Jamieson and
 * Talwalkar 2016; the synchronous form of ASHA, Li et al. 2018): every
 * configuration trains to the first rung's epoch, the best 1/eta (ranked as
 * the final table is) go on to the next rung from their checkpoints, and so
 * on until the survivors reach the train arguments' --epochs. A rung is
 * --stop-at-epoch on the same recipe, so the learning-rate schedule follows
 * the full --epochs and a promoted run ends bit-identical to one trained
 * straight through. The rungs wait for each other (unlike ASHA's
 * asynchronous promotions) so that which configurations go on never depends
 * on which trial finished first: the same sweep picks the same winner with
 * any --jobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_error.h"
#include "sweep.h"

int rg_sweep_plan_rungs(rg_sweep *s)
{
    s->n_rungs = 1;
    s->rung_epochs[0] = s->max_epochs;
    if (!s->halving)
        return 0;
    if (s->min_epochs < 1 || s->min_epochs > s->max_epochs)
        return rg_cli_error_set(RG_ERR_INVALID, "sweep: --min-epochs %lld must be in [1, %lld] "
                                "(the train arguments' --epochs)", (long long)s->min_epochs,
                                (long long)s->max_epochs), -1;
    int n = 0;
    for (int64_t e = s->min_epochs; n < 31; e *= s->eta) {
        if (e >= s->max_epochs)
            break;
        s->rung_epochs[n++] = e;
    }
    s->rung_epochs[n++] = s->max_epochs;
    s->n_rungs = n;
    return 0;
}

static int64_t survivors(int64_t alive, int eta)
{
    int64_t keep = alive / eta;
    return keep < 1 ? 1 : keep;
}

int64_t rg_sweep_plan_cost(const rg_sweep *s, int64_t n, int halving)
{
    if (!halving)
        return n * s->seeds * s->max_epochs;
    int64_t cost = 0, alive = n, before = 0;
    for (int r = 0; r < s->n_rungs; r++) {
        cost += alive * s->seeds * (s->rung_epochs[r] - before);
        before = s->rung_epochs[r];
        alive = survivors(alive, s->eta);
    }
    return cost;
}

/* Runs every seed of the trials in `alive` to epoch `stop_at` (0: the end). */
static int run_rung(const rg_sweep *s, rg_sweep_trial **alive, int64_t n_alive, int64_t stop_at,
                    int rung, int64_t configs)
{
    rg_sweep_job *jobs = calloc((size_t)(n_alive * s->seeds), sizeof *jobs);
    if (!jobs)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    int64_t n = 0;
    for (int64_t i = 0; i < n_alive; i++) {
        alive[i]->rung = rung;
        alive[i]->epochs = s->rung_epochs[rung];
        for (int k = 0; k < s->seeds; k++) {
            memset(&alive[i]->runs[k], 0, sizeof alive[i]->runs[k]);
            alive[i]->runs[k].val_accuracy = alive[i]->runs[k].val_loss = NAN;
            jobs[n++] = (rg_sweep_job){alive[i], k, stop_at};
        }
    }
    int st = rg_sweep_run_jobs(s, jobs, n, configs);
    free(jobs);
    for (int64_t i = 0; i < n_alive; i++)
        rg_sweep_aggregate(s, alive[i]);
    return st;
}

static const rg_sweep *g_sweep; /* qsort has no context argument in C11 */

/* The alive trials share their rung, so this is the final table's order. */
static int by_rank(const void *pa, const void *pb)
{
    return rg_sweep_compare(g_sweep, *(rg_sweep_trial *const *)pa, *(rg_sweep_trial *const *)pb);
}

int rg_sweep_train(const rg_sweep *s, rg_sweep_trial *ts, int64_t n)
{
    rg_sweep_trial **alive = malloc((size_t)n * sizeof *alive);
    if (!alive)
        return rg_cli_error_set(RG_ERR_NOMEM, "out of memory"), -1;
    for (int64_t i = 0; i < n; i++)
        alive[i] = &ts[i];
    int64_t n_alive = n;
    int st = 0;
    for (int r = 0; r < s->n_rungs && st == 0; r++) {
        int last = r == s->n_rungs - 1;
        if (s->halving)
            printf("rung %d/%d: %lld configuration%s to epoch %lld\n", r + 1, s->n_rungs,
                   (long long)n_alive, n_alive == 1 ? "" : "s", (long long)s->rung_epochs[r]);
        st = run_rung(s, alive, n_alive, last ? 0 : s->rung_epochs[r], r, n);
        if (st != 0 || last)
            break;
        g_sweep = s;
        qsort(alive, (size_t)n_alive, sizeof *alive, by_rank);
        int64_t keep = survivors(n_alive, s->eta);
        for (int64_t i = keep; i < n_alive; i++)
            alive[i]->stopped = 1;
        /* a configuration without the metric (failed) does not go on */
        while (keep > 0 && isnan(rg_sweep_metric(s, alive[keep - 1])))
            alive[--keep]->stopped = 1;
        printf("rung %d: %lld go on to epoch %lld, %lld stop\n", r + 1, (long long)keep,
               (long long)s->rung_epochs[r + 1], (long long)(n_alive - keep));
        n_alive = keep;
        if (n_alive == 0)
            break;
    }
    free(alive);
    return st;
}
