/* Double-buffered input pipeline: a worker thread fills and augments batch
 * i+1 while the caller trains on batch i. The augmenters' randomness is keyed
 * on the batch's global step, not on timing, so results are identical to a
 * serial run. On the worker, host->parallel_for runs its chunks one after
 * the other (same chunk boundaries, hence same results) instead of opening a
 * second OpenMP team that would fight the training threads for the cores.
 * When the training team already has a thread on every core there is no core
 * for the worker: it would only take time slices from the team (measured:
 * crop + flip + rotate doubled a 2-thread MLP epoch on 2 cores), so the batch
 * is then prepared on the caller, between steps, with parallel_for over the
 * team; the chunk boundaries, and so the results, are the same. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "../error.h"
#include "../threads.h"
#include "activity.h"
#include "trainer.h"

#define SLOTS 2

struct rg_pipeline {
    rg_trainer *t;
    int64_t first, batches, step0; /* batches [first, batches) of the epoch */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t produced, consumed; /* batches ready / given back */
    int64_t count[SLOTS];
    int stop;
    int sync;                  /* no worker: batches prepared in rg_pipeline_take */
    int threads;               /* the starter's count: same chunking as serial */
    rg_status status;          /* worker failure, with its message */
    char message[1024];
};

/* Fills and augments batch i of the epoch into its slot. */
static rg_status prepare(rg_pipeline *p, int64_t i, int64_t *count)
{
    rg_trainer *t = p->t;
    int64_t b = t->cfg.batch, n = t->n_train;
    int s = (int)(i % SLOTS);
    int64_t start = i * b, cnt = start + b <= n ? b : n - start;
    rg_step_fill_into(t, t->data, t->order + start, cnt, t->slot_x[s], t->slot_t[s],
                      t->slot_labels[s]);
    *count = cnt;
    return rg_step_augment(t, cnt, p->step0 + i, t->slot_x[s], t->slot_t[s], 1);
}

static void *worker(void *arg)
{
    rg_pipeline *p = arg;
    rg_threads_set_serial(1);
    rg_threads_set_local(p->threads);
    rg_activity_use_slot(RG_ACTIVITY_PIPELINE);
    for (int64_t i = p->first; i < p->batches; i++) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->produced - p->consumed >= SLOTS)
            pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        int s = (int)(i % SLOTS);
        int64_t cnt = 0;
        rg_status st = prepare(p, i, &cnt);
        pthread_mutex_lock(&p->mu);
        if (st != RG_OK) {
            p->status = st;
            strncpy(p->message, rg_error_message(), sizeof p->message - 1);
            p->stop = 1;
        } else {
            p->count[s] = cnt;
            p->produced++;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (st != RG_OK)
            break;
    }
    return NULL;
}

rg_pipeline *rg_pipeline_create(void)
{
    return calloc(1, sizeof(rg_pipeline));
}

void rg_pipeline_destroy(rg_pipeline *p)
{
    free(p);
}

rg_status rg_pipeline_start(rg_trainer *t, int64_t first, int64_t batches, rg_pipeline **out)
{
    /* the record lives as long as the trainer: no allocation per epoch */
    rg_pipeline *p = t->pipe;
    memset(p, 0, sizeof *p);
    p->t = t;
    p->first = first;
    p->batches = batches;
    p->step0 = t->step - first; /* step0 + i: the global step of batch i */
    p->threads = rg_threads_count();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    p->sync = cores > 0 && p->threads >= cores;
    *out = p;
    if (p->sync)
        return RG_OK;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, worker, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        return rg_error_set(RG_ERR_NOMEM, "cannot start the input pipeline thread");
    }
    return RG_OK;
}

rg_status rg_pipeline_take(rg_pipeline *p, int64_t i, int64_t *count)
{
    if (p->sync) {
        int s = (int)(i % SLOTS);
        rg_status st = prepare(p, i, count);
        if (st != RG_OK)
            return st;
        p->t->x = p->t->slot_x[s];
        p->t->t = p->t->slot_t[s];
        p->t->labels = p->t->slot_labels[s];
        return RG_OK;
    }
    pthread_mutex_lock(&p->mu);
    while (p->produced <= i - p->first && p->status == RG_OK)
        pthread_cond_wait(&p->cv, &p->mu);
    rg_status st = p->status;
    int s = (int)(i % SLOTS);
    *count = p->count[s];
    pthread_mutex_unlock(&p->mu);
    if (st != RG_OK)
        return rg_error_set(st, "%s", p->message);
    p->t->x = p->t->slot_x[s];
    p->t->t = p->t->slot_t[s];
    p->t->labels = p->t->slot_labels[s];
    return RG_OK;
}

void rg_pipeline_release(rg_pipeline *p, int64_t i)
{
    (void)i;
    if (p->sync)
        return;
    pthread_mutex_lock(&p->mu);
    p->consumed++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void rg_pipeline_stop(rg_pipeline *p)
{
    if (!p || p->sync)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}
