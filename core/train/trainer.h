/* Internal state of the trainer, shared by the files of core/train. */
#ifndef RG_CORE_TRAINER_H
#define RG_CORE_TRAINER_H

#include "../dist/dist.h"
#include "train.h"

#define RG_MAX_SITES 128
#define RG_MAX_TARGETS 512

/* One activation hook attached after one layer. */
typedef struct rg_site {
    rg_plugin_instance *pi;
    int reg_index;
    int layer;
    uint64_t site_id;         /* keys the RNG stream */
    float *buf;               /* this hook's output, max_batch x features */
    void *state;
    size_t state_bytes;
} rg_site;

/* One (regularizer, parameter) pair for penalty() and project(). */
typedef struct rg_target {
    rg_plugin_instance *pi;
    int reg_index;
    rg_param *param;
    int param_index;          /* in model->params */
    int foldable;             /* the last penalty on its tensor, by a plugin with linear_decay:
                               * folding it into the optimizer keeps the summation order */
    /* weight_forward (ABI 1.5): the transformed tensor the layer reads during the pass, and
     * the parameter's own buffer while it is swapped out (NULL: not swapped) */
    float *wt_buf, *wt_raw;
} rg_target;

/* grad_sync.c: data-parallel gradient buckets, reduced while backward runs */
#define RG_SYNC_MAX (2 * RG_MODEL_MAX_LAYERS)
typedef struct rg_grad_bucket {
    rg_param **params; /* its tensors: a run of rg_grad_sync.order */
    int count, in_place, blocking;
    int64_t floats;
    float *fused; /* the small tensors' gradients side by side (NULL: in place) */
} rg_grad_bucket;
typedef struct rg_grad_sync {
    rg_param *order[RG_SYNC_MAX]; /* the parameters from the last layer back */
    rg_grad_bucket buckets[RG_SYNC_MAX];
    int layer_of[RG_SYNC_MAX]; /* a bucket is whole once backward is through this layer */
    int num_buckets, next;
    rg_status status;
    rg_dist_ops ops;
} rg_grad_sync;

struct rg_trainer {
    rg_model *model;
    const rg_dataset *data;
    rg_train_config cfg;
    rg_optimizer opt;
    int64_t epoch;            /* epochs completed */
    int64_t step;             /* global step counter */
    int64_t total_steps;      /* epochs x batches per epoch, for schedules */
    int64_t steps_per_epoch;
    rg_lr_state lr_state;
    double es_best;           /* early stopping: best metric (lower is better) */
    int64_t es_best_epoch, es_wait;
    float *best;              /* snapshot of parameters and buffers at es_best_epoch */
    int64_t best_count;

    int64_t n_train, n_val;
    int64_t *train_idx, *val_idx, *order;

    int num_sites, num_targets;
    rg_site sites[RG_MAX_SITES];
    rg_target targets[RG_MAX_TARGETS];
    int site_first[RG_MODEL_MAX_LAYERS], site_count[RG_MODEL_MAX_LAYERS];
    float *post[RG_MODEL_MAX_LAYERS]; /* what layer i+1 reads */
    /* layer i starts a conv -> relu -> 2x2 max pool run no activation hook
     * sits inside, computed as one (rg_conv_block_*) */
    uint8_t fused[RG_MODEL_MAX_LAYERS];
    double penalty[RG_TRAIN_MAX_PLUGINS];        /* this step's terms */
    /* this step's linear decays folded into the optimizer, per model parameter */
    uint8_t fold[2 * RG_MODEL_MAX_LAYERS];
    float fold_coef[2 * RG_MODEL_MAX_LAYERS];
    double fold_pcoef[2 * RG_MODEL_MAX_LAYERS], fold_sumsq[2 * RG_MODEL_MAX_LAYERS];
    int fold_target[2 * RG_MODEL_MAX_LAYERS];
    double penalty_epoch[RG_TRAIN_MAX_PLUGINS];  /* mean over the last epoch */
    rg_trainer_partial part;                     /* an epoch stopped between batches */
    char targets_text[RG_TRAIN_MAX_PLUGINS][256];

    int64_t row0;             /* data-parallel: the first global row of this rank's step */
    int64_t batch_rows;       /* rows of the whole step's batch (0 outside a training step) */
    int stop_agreed;          /* data-parallel: some rank was asked to stop, all stop */
    rg_grad_sync sync;
    int64_t in_features;
    float *x, *t;             /* the batch being trained: one of the slots */
    float *slot_x[2], *slot_t[2];
    int32_t *slot_labels[2];  /* true class of each example, for accuracy */
    int32_t *labels;
    float *row_loss;
    uint8_t *correct;
    struct rg_pipeline *pipe;
    float *aug_x, *aug_t;     /* one-of groups: gathered sub-batch */
    int64_t *aug_rows;
    int wrapper;              /* the regularizer index with a step_wrap hook, or -1 */
    int64_t local_rows;       /* rows of this rank's part of the step being trained */
};

rg_status rg_grad_sync_init(rg_trainer *t);
void rg_grad_sync_free(rg_trainer *t);
void rg_grad_sync_begin(rg_trainer *t);
void rg_grad_sync_layer_done(rg_trainer *t, int layer);
rg_status rg_grad_sync_post_rest(rg_trainer *t);
rg_status rg_grad_sync_finish(rg_trainer *t);

/* step.c */
void rg_step_fill_into(const rg_trainer *t, const rg_dataset *ds, const int64_t *idx, int64_t n,
                       float *x, float *targets, int32_t *labels);
rg_status rg_step_fill_batch(rg_trainer *t, const rg_dataset *ds, const int64_t *idx, int64_t n);
/* Runs the augmenters on a filled batch with the RNG of global step `step`; safe on the
 * pipeline's worker thread. host_buffers: x and targets are the trainer's own batch
 * buffers (rg_alloc_floats, cfg.batch rows), whose guard words are checked after each. */
rg_status rg_step_augment(const rg_trainer *t, int64_t n, int64_t step, float *x, float *targets,
                          int host_buffers);
rg_status rg_step_forward(rg_trainer *t, int64_t n, rg_mode mode);
/* Forward through the layers with the weights as they are: an evaluation pass that
 * transformed them once (rg_weights_forward) for all of its batches. */
rg_status rg_step_forward_layers(rg_trainer *t, int64_t n, rg_mode mode);
/* Every weight a constraint hook (project, project_step) changes is finite, or the
 * plugin is named: the full check behind the per-step sample. */
rg_status rg_step_check_constrained(const rg_trainer *t);
/* loss: mean data loss of the batch; penalty: what regularizers added. */
rg_status rg_step_train(rg_trainer *t, int64_t n, double *loss, double *penalty,
                        int64_t *correct);

/* param_hooks.c: the ABI 1.5 hooks on parameters. Weight transforms swap each
 * transformed parameter's value for its transform (training: before forward, until the
 * gradient is mapped back; evaluation: around forward); rg_weights_restore puts every
 * parameter back and is safe to call when none is swapped. */
rg_status rg_weights_alloc(rg_trainer *t);
void rg_weights_free(rg_trainer *t);
rg_status rg_weights_forward(rg_trainer *t, rg_mode mode);
rg_status rg_weights_backward(rg_trainer *t);
void rg_weights_restore(rg_trainer *t);
/* The evaluation form of every transformed weight that has one (a reparameterization such as
 * spectral_norm, W/sigma), swapped in as for an evaluation pass: params[i] now reads its
 * transformed value (*count of them, at most cap). The caller puts them back with
 * rg_weights_restore once it has used them. */
rg_status rg_weights_eval_forms(rg_trainer *t, const rg_param **params, int cap, int *count);
/* gradient() hooks on the whole gradient, before the optimizer */
rg_status rg_gradient_hooks(rg_trainer *t, double lr);
/* the run's step_wrap hook, if any, around the step's gradients */
rg_status rg_step_wrap_run(rg_trainer *t, double lr);
/* step.c, for step_evaluate: forward and backward again on this step's batch (no target
 * rewrite), reduced across processes; *loss: the batch's mean data loss */
rg_status rg_step_again(rg_trainer *t, double *loss);

/* pipeline.c: batches of one epoch (fill + augment) prepared on a worker
 * thread, two slots ahead at most, while the caller trains. */
typedef struct rg_pipeline rg_pipeline;
rg_pipeline *rg_pipeline_create(void);
void rg_pipeline_destroy(rg_pipeline *p);
/* Batches [first, batches) of the epoch: first > 0 goes on with an epoch that stopped. */
rg_status rg_pipeline_start(rg_trainer *t, int64_t first, int64_t batches, rg_pipeline **out);
/* Blocks until batch i is ready; sets t->x and t->t to it. */
rg_status rg_pipeline_take(rg_pipeline *p, int64_t i, int64_t *count);
/* Marks batch i consumed, freeing its slot. */
void rg_pipeline_release(rg_pipeline *p, int64_t i);
/* Stops the worker (also mid-epoch, after an error) and joins it. */
void rg_pipeline_stop(rg_pipeline *p);

#endif
