/* Data-parallel gradient sums overlapped with backward, in buckets (PyTorch DDP's design,
 * with Horovod's fusion of small tensors): the parameters are grouped, from the last layer
 * back, into buckets of at least RG_BUCKET_FLOATS; a tensor that large is reduced in place,
 * smaller ones are copied into one fused buffer per bucket. As soon as backward has written
 * every gradient of a bucket, its MPI_Iallreduce starts, while backward goes on with the
 * earlier layers; the step waits for all of them before the optimizer. Buckets start in
 * the same order on every rank (backward visits the layers in one order), which MPI
 * requires of collectives. */
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "trainer.h"

#define RG_BUCKET_FLOATS 65536 /* 256 KB */

static int parallel(const rg_trainer *t) { return t->cfg.dist && t->cfg.dist->size > 1; }

rg_status rg_grad_sync_init(rg_trainer *t)
{
    rg_grad_sync *g = &t->sync;
    memset(g, 0, sizeof *g);
    if (!parallel(t))
        return RG_OK;
    rg_model *m = t->model;
    int64_t open_floats = 0;
    int placed = 0;
    for (int i = m->num_layers - 1; i >= 0; i--) {
        rg_layer *l = &m->layers[i];
        for (int p = l->num_params - 1; p >= 0; p--) {
            rg_param *prm = &l->params[p];
            int big = prm->numel >= RG_BUCKET_FLOATS;
            /* a big tensor is a bucket of its own; small ones fill the open bucket */
            if (big || g->num_buckets == 0 || open_floats >= RG_BUCKET_FLOATS ||
                g->buckets[g->num_buckets - 1].in_place) {
                if (g->num_buckets >= RG_SYNC_MAX)
                    return rg_error_set(RG_ERR_INVALID, "too many gradient buckets");
                g->buckets[g->num_buckets++] = (rg_grad_bucket){.params = &g->order[placed]};
                open_floats = 0;
            }
            rg_grad_bucket *b = &g->buckets[g->num_buckets - 1];
            b->in_place = big;
            g->order[placed++] = prm;
            b->count++;
            b->floats += prm->numel;
            open_floats += prm->numel;
            g->layer_of[g->num_buckets - 1] = i; /* the lowest layer it waits for */
        }
    }
    /* The buckets of the first layer with parameters are whole only when backward is over:
     * nothing is left to overlap them with, and Open MPI's blocking MPI_Allreduce was faster
     * than its MPI_Iallreduce here (measured on the MLP, 2 ranks). Blocking or not is fixed
     * per bucket, the same on every rank, as MPI's matching of collectives requires. */
    int first = g->num_buckets ? g->layer_of[g->num_buckets - 1] : 0;
    for (int k = 0; k < g->num_buckets; k++) {
        rg_grad_bucket *b = &g->buckets[k];
        b->blocking = g->layer_of[k] == first;
        if (!b->in_place && !(b->fused = rg_alloc_floats((size_t)b->floats)))
            return rg_error_set(RG_ERR_NOMEM, "cannot allocate a gradient bucket");
    }
    return rg_dist_ops_init(&g->ops, 4 * RG_SYNC_MAX);
}

void rg_grad_sync_free(rg_trainer *t)
{
    rg_grad_sync *g = &t->sync;
    for (int k = 0; k < g->num_buckets; k++)
        rg_free(g->buckets[k].fused);
    rg_dist_ops_free(&g->ops);
    memset(g, 0, sizeof *g);
}

static rg_status post(rg_trainer *t, rg_grad_bucket *b)
{
    const rg_dist *d = t->cfg.dist;
    float *buf = b->in_place ? b->params[0]->grad : b->fused;
    if (!b->in_place) {
        int64_t at = 0;
        for (int p = 0; p < b->count; p++) {
            memcpy(b->fused + at, b->params[p]->grad,
                   (size_t)b->params[p]->numel * sizeof(float));
            at += b->params[p]->numel;
        }
    }
    return b->blocking ? rg_dist_sum_floats(d, buf, b->floats)
                       : rg_dist_isum_floats(d, &t->sync.ops, buf, b->floats);
}

void rg_grad_sync_begin(rg_trainer *t)
{
    t->sync.next = 0;
    t->sync.status = RG_OK;
}

/* Backward has written the gradients of layers >= layer: start the buckets that are whole. */
void rg_grad_sync_layer_done(rg_trainer *t, int layer)
{
    rg_grad_sync *g = &t->sync;
    if (!parallel(t))
        return;
    while (g->next < g->num_buckets && g->layer_of[g->next] >= layer &&
           !g->buckets[g->next].blocking && g->status == RG_OK)
        g->status = post(t, &g->buckets[g->next++]);
    rg_dist_ops_progress(&g->ops);
}

/* Starts what backward did not (the blocking buckets; all of them on a rank whose step
 * failed, which still joins every collective, in order, so that no rank waits forever). The
 * non-blocking ones in flight are waited for first, so the blocking ones see them done. */
rg_status rg_grad_sync_post_rest(rg_trainer *t)
{
    rg_grad_sync *g = &t->sync;
    while (g->next < g->num_buckets && !g->buckets[g->next].blocking && g->status == RG_OK)
        g->status = post(t, &g->buckets[g->next++]);
    rg_status st = rg_dist_ops_wait(&g->ops);
    if (g->status == RG_OK)
        g->status = st;
    while (g->next < g->num_buckets && g->status == RG_OK)
        g->status = post(t, &g->buckets[g->next++]);
    return g->status;
}

/* Waits for every bucket; the sums land in the gradients. */
rg_status rg_grad_sync_finish(rg_trainer *t)
{
    rg_grad_sync *g = &t->sync;
    rg_status st = rg_dist_ops_wait(&g->ops);
    if (st != RG_OK)
        return st;
    for (int k = 0; k < g->num_buckets; k++) {
        rg_grad_bucket *b = &g->buckets[k];
        if (b->in_place)
            continue;
        int64_t at = 0;
        for (int p = 0; p < b->count; p++) {
            memcpy(b->params[p]->grad, b->fused + at,
                   (size_t)b->params[p]->numel * sizeof(float));
            at += b->params[p]->numel;
        }
    }
    return g->status;
}
