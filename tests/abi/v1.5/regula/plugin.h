/* FROZEN COPY of the regula 1.5 plugin ABI (sdk/include/regula/plugin.h as
 * released with regula 0.6). Never edit: tests/abi checks that the current header keeps
 * every field of this one at the same offset and size. */
/* regula plugin ABI, major version 1.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * regula_plugin_entry_v1 (write it with RG_DEFINE_PLUGIN below). Everything a
 * plugin needs from the host comes through rg_host_api; a plugin links
 * nothing from libregula and brings no OpenMP or BLAS of its own.
 *
 * Compatibility rules (see sdk/README.md):
 *  - every struct starts with uint32_t struct_size and only grows at the end;
 *    the reader checks that a field lies inside struct_size before reading it;
 *  - the smallest struct accepted is its frozen 1.0 size (RG_*_SIZE_V1_0);
 *  - a minor version only appends fields, hooks and enum values; a major
 *    break renames the entry symbol.
 *
 * Threading classes:
 *  - discovery: the entry function, serialized per shared object;
 *  - life cycle: create/destroy, exclusive per instance;
 *  - hot path: every hook; calls on different instances may run concurrently,
 *    calls on one instance never do. Hooks may use host->parallel_for.
 *
 * Errors: every hook returns an rg_status; on failure the plugin describes the
 * problem with host->set_error first. Never exit(), abort() or longjmp. */
#ifndef REGULA_PLUGIN_H
#define REGULA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "regula/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REGULA_ABI_MAJOR 1
/* 1.0: the first ABI. 1.1 appended rg_step_info and the regularizer hooks
 * project_step and targets. 1.2 appended the state hooks of rg_plugin_desc and
 * RG_CAP_STATEFUL. 1.3 appended the regularizer hook linear_decay. 1.4 appended
 * batch_row0 and batch_rows to rg_activation_ctx. 1.5 appended rg_param_ctx, the
 * regularizer hooks weight_forward, weight_backward, gradient and step_wrap, and the
 * host's step services (step_tensors, step_tensor, step_evaluate). */
#define REGULA_ABI_MINOR 5

/* Size of `type` up to and including `field`: how the frozen 1.0 sizes and
 * the host's "is this field present" checks are written. */
#define RG_SIZE_THROUGH(type, field) \
    (offsetof(type, field) + sizeof(((type *)0)->field))
#define RG_HAS_FIELD(ptr, type, field) \
    ((ptr) != NULL && (size_t)(ptr)->struct_size >= RG_SIZE_THROUGH(type, field))

/* ---------------------------------------------------------------- negotiation
 * The host writes host_major and host_minor (the highest minor it serves);
 * the plugin writes plugin_major and plugin_minor (the minor it was built
 * against, hence needs) and refuses with RG_ERR_VERSION if the host is too
 * old or of another major. The host refuses a plugin of a newer minor too. */
typedef struct rg_negotiation {
    uint32_t struct_size;
    uint32_t host_major;
    uint32_t host_minor;
    uint32_t plugin_major;
    uint32_t plugin_minor;
} rg_negotiation;
#define RG_NEGOTIATION_SIZE_V1_0 RG_SIZE_THROUGH(rg_negotiation, plugin_minor)

/* ----------------------------------------------------------------- tensors */
#define RG_MAX_DIMS 6

typedef enum rg_tensor_kind {
    RG_TENSOR_WEIGHT = 1,     /* dense [out, in]; conv [out, in, kh, kw] */
    RG_TENSOR_BIAS = 2,       /* [out] */
    RG_TENSOR_ACTIVATION = 3, /* [batch, features] or [batch, c, h, w] */
    RG_TENSOR_GRADIENT = 4
} rg_tensor_kind;

/* A borrowed view of a contiguous row-major float32 tensor, 64-byte aligned.
 * For parameters, dimension 0 always indexes the unit (neuron or filter), so
 * "the incoming weight vector of unit i" is the contiguous slice i. */
typedef struct rg_tensor_view {
    uint32_t struct_size;
    uint32_t kind;            /* rg_tensor_kind */
    uint32_t ndim;
    uint32_t reserved0;
    int64_t shape[RG_MAX_DIMS];
    int64_t numel;
    float *data;
    const char *name;         /* e.g. "dense1.weight", "relu1" */
} rg_tensor_view;
#define RG_TENSOR_VIEW_SIZE_V1_0 RG_SIZE_THROUGH(rg_tensor_view, name)

/* --------------------------------------------------------------- randomness
 * The host owns randomness. A stream is keyed by (seed, epoch, step, site) and
 * is counter-addressable: the values at positions [offset, offset + n) are
 * fixed, so a hook that splits work across threads draws the same numbers
 * whatever the thread count. rng_uniform and rng_normal read the same
 * underlying bits at the same position: a hook that needs both must use
 * disjoint position ranges for them, or the draws are correlated. */
typedef struct rg_rng_stream rg_rng_stream;

/* ---------------------------------------------------------- host services */
typedef enum rg_log_level {
    RG_LOG_DEBUG = 0,
    RG_LOG_INFO = 1,
    RG_LOG_WARN = 2,
    RG_LOG_ERROR = 3
} rg_log_level;

/* Body of host->parallel_for: process indices [begin, end). */
/* ABI 1.5: the training step a step_wrap hook runs inside (see rg_regularizer_hooks);
 * valid during that call only. */
typedef struct rg_step_handle rg_step_handle;

typedef rg_status (*rg_range_fn)(void *ctx, int64_t begin, int64_t end);

typedef struct rg_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t reserved0;
    const char *library_version;

    void (*log)(int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* Describe the failure the hook is about to return. */
    void (*set_error)(const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 1, 2)))
#endif
        ;

    /* 64-byte aligned, zero-filled; the host counts what is still held. */
    void *(*alloc)(size_t bytes);
    void (*free)(void *ptr);

    /* uniform in [0, 1) and standard normal, positions [offset, offset + n) */
    void (*rng_uniform)(const rg_rng_stream *stream, uint64_t offset, float *out, size_t n);
    void (*rng_normal)(const rg_rng_stream *stream, uint64_t offset, float *out, size_t n);

    /* Row-major C = alpha * op(A) op(B) + beta * C, op = transpose if trans != 0. */
    void (*sgemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc);
    void (*saxpy)(int64_t n, float alpha, const float *x, float *y);
    /* Splits [0, n) into contiguous chunks of at least `grain` across the
     * host's threads; returns the first failing chunk's status. */
    rg_status (*parallel_for)(int64_t n, int64_t grain, rg_range_fn body, void *ctx);
    int (*num_threads)(void);
    /* ---- ABI 1.5: services for a step_wrap hook, on the handle it was given ---- */
    /* How many tensors the hook's plugin was given (its layers= and tensors=). */
    int64_t (*step_tensors)(const rg_step_handle *h);
    /* Tensor i: value is the live weight tensor, which the hook may change until it
     * returns (it must leave it as it found it, bit for bit); grad is the gradient of the
     * batch's mean data loss at the weights of the last evaluation, read only. */
    rg_status (*step_tensor)(rg_step_handle *h, int64_t i, rg_tensor_view *value,
                             rg_tensor_view *grad);
    /* Forward and backward again on the same batch (same targets, same dropout and
     * weight-transform draws) at the weights as they are now: every model gradient is
     * overwritten, *loss receives the batch's mean data loss. A data-parallel run
     * evaluates on every process and averages, as in the step itself. */
    rg_status (*step_evaluate)(rg_step_handle *h, double *loss);
} rg_host_api;
#define RG_HOST_API_SIZE_V1_0 RG_SIZE_THROUGH(rg_host_api, num_threads)
#define RG_HOST_API_SIZE_V1_5 RG_SIZE_THROUGH(rg_host_api, step_evaluate)

/* --------------------------------------------------------------- parameters
 * The host parses "name=value" pairs, checks them against this schema
 * (type, range, enum names) and hands the plugin validated values in schema
 * order. Ranges are enforced, not hints. */
typedef enum rg_param_type {
    RG_PARAM_FLOAT = 1,
    RG_PARAM_INT = 2,
    RG_PARAM_BOOL = 3,
    RG_PARAM_ENUM = 4,   /* value.number is the index into enum_values */
    RG_PARAM_STRING = 5
} rg_param_type;

enum {
    RG_PARAM_LOG_SCALE = 1u << 0,     /* tuners should search this on a log scale */
    RG_PARAM_MIN_EXCLUSIVE = 1u << 1, /* value must be > min_value */
    RG_PARAM_MAX_EXCLUSIVE = 1u << 2  /* value must be < max_value */
};

typedef struct rg_param_desc {
    uint32_t struct_size;
    uint32_t type;               /* rg_param_type */
    uint32_t flags;
    uint32_t reserved0;
    const char *name;
    const char *doc;             /* one line */
    double default_value;        /* numeric types and enum index */
    double min_value;            /* FLOAT and INT */
    double max_value;
    const char *const *enum_values; /* ENUM: NULL-terminated names */
    const char *default_string;  /* STRING */
} rg_param_desc;
#define RG_PARAM_DESC_SIZE_V1_0 RG_SIZE_THROUGH(rg_param_desc, default_string)

typedef struct rg_param_value {
    double number;               /* FLOAT, INT, BOOL (0/1), ENUM index */
    const char *string;          /* STRING, and the ENUM name */
} rg_param_value;

typedef struct rg_params {
    uint32_t struct_size;
    uint32_t count;              /* == the descriptor's num_params */
    const rg_param_value *values;
} rg_params;
#define RG_PARAMS_SIZE_V1_0 RG_SIZE_THROUGH(rg_params, values)

/* ------------------------------------------------------ regularizer hooks */
typedef enum rg_mode {
    RG_MODE_TRAIN = 1,
    RG_MODE_EVAL = 2
} rg_mode;

/* Context of one activation hook call at one site (a point in the network
 * chosen by the host). */
typedef struct rg_activation_ctx {
    uint32_t struct_size;
    uint32_t mode;               /* rg_mode */
    const rg_rng_stream *rng;    /* same stream in forward and its backward */
    void *state;                 /* activation_state_bytes() bytes, host-owned,
                                    kept from forward to the matching backward */
    size_t state_bytes;
    const rg_tensor_view *output; /* backward only: what forward produced */
    double penalty;              /* forward may add a loss term here */
    /* ---- ABI 1.4 ---- */
    /* Where this view's rows sit in the step's batch. A data-parallel run
     * (mpirun -np N) hands each process a slice of every batch: the view holds
     * rows [batch_row0, batch_row0 + shape[0]) of batch_rows. One process:
     * batch_row0 = 0 and batch_rows = shape[0]; evaluation: the same.
     *  - A penalty that is a mean over samples divides by batch_rows: the host
     *    sums the processes' penalties and gradients, which then equal those
     *    of one process seeing the whole batch.
     *  - Randomness: in training, position p of ctx->rng reads the batch-wide
     *    position batch_row0 * (numel / shape[0]) + p (uint64 arithmetic). A
     *    hook that draws what belongs to sample n (0-based in the view) inside
     *    [n * numel / shape[0], (n + 1) * numel / shape[0]) gets the same draws
     *    for that sample whatever the process count; to read another row g of
     *    the batch (a batch-wide statistic), use the position
     *    (g - batch_row0) * (numel / shape[0]) + k, computed in uint64_t.
     * Read them only when RG_HAS_FIELD(ctx, rg_activation_ctx, batch_rows). */
    int64_t batch_row0;
    int64_t batch_rows;
} rg_activation_ctx;
#define RG_ACTIVATION_CTX_SIZE_V1_0 RG_SIZE_THROUGH(rg_activation_ctx, penalty)
#define RG_ACTIVATION_CTX_SIZE_V1_4 RG_SIZE_THROUGH(rg_activation_ctx, batch_rows)

/* ABI 1.1: what a post-step hook knows about the step just taken. */
typedef struct rg_step_info {
    uint32_t struct_size;
    uint32_t reserved0;
    int64_t epoch;               /* 0-based epoch of the step */
    int64_t step;                /* 0-based global step */
    double lr;                   /* learning rate the optimizer just used */
} rg_step_info;
#define RG_STEP_INFO_SIZE_V1_1 RG_SIZE_THROUGH(rg_step_info, lr)

/* ABI 1.5: context of a weight transform or gradient hook on one tensor in one step. */
typedef struct rg_param_ctx {
    uint32_t struct_size;
    uint32_t mode;               /* rg_mode */
    /* keyed on (seed, epoch, step, tensor): the same in weight_forward and its
     * weight_backward, in a step_wrap's second evaluation, and on every process of a
     * data-parallel run; NULL in RG_MODE_EVAL */
    const rg_rng_stream *rng;
    int64_t epoch;               /* 0-based */
    int64_t step;                /* 0-based global step (the next one, in evaluation) */
    double lr;                   /* the step's learning rate (0 in evaluation) */
} rg_param_ctx;
#define RG_PARAM_CTX_SIZE_V1_5 RG_SIZE_THROUGH(rg_param_ctx, lr)

/* Every hook is optional (NULL when unused). The host decides which tensors
 * and sites a regularizer sees (CLI keys layers=, tensors=, after=).
 * Order within a step: targets -> weight_forward -> activation forward -> loss ->
 * backward (activation backward) -> weight_backward -> step_wrap -> penalty ->
 * gradient -> optimizer -> project_step -> project. Several regularizers run in --reg
 * order at each of these points. */
typedef struct rg_regularizer_hooks {
    uint32_t struct_size;
    uint32_t reserved0;
    /* Add this tensor's penalty to *loss and its gradient into grad
     * (accumulate: grad already holds the data-loss gradient). */
    rg_status (*penalty)(void *inst, const rg_tensor_view *param, double *loss,
                         rg_tensor_view *grad);
    /* Constrain a parameter in place after the optimizer step. */
    rg_status (*project)(void *inst, rg_tensor_view *param);
    /* Bytes of per-site state needed for activations shaped like `act`
     * (max batch); called when buffers are sized, never in the step. */
    size_t (*activation_state_bytes)(void *inst, const rg_tensor_view *act);
    /* Transform activations in place. Must be the identity in RG_MODE_EVAL
     * unless the plugin documents otherwise. */
    rg_status (*activation_forward)(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act);
    /* Turn d(loss)/d(output) into d(loss)/d(input), in place. */
    rg_status (*activation_backward)(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad);
    /* ---- ABI 1.1 ---- */
    /* Like project(), with the step's learning rate: decoupled weight decay
     * (w -= lr * lambda * w after the step) and proximal updates need it. */
    rg_status (*project_step)(void *inst, const rg_step_info *step, rg_tensor_view *param);
    /* Rewrite the batch's target distributions, [batch, classes], before the
     * loss (label smoothing). Training only; rows must stay distributions. */
    rg_status (*targets)(void *inst, rg_tensor_view *labels);
    /* ---- ABI 1.3 ---- */
    /* Declares that penalty() on this tensor is a linear decay: it adds exactly
     * (*grad_coef) * w[i] to grad[i] (one float multiply, then one float add) and
     * (*penalty_coef) * sum(w[i]^2) to the loss. The host may then apply it inside its
     * own optimizer pass instead of calling penalty(), which saves a pass over the
     * weights and the gradient: the weights come out bit-identical, the reported penalty
     * may differ in its last bits (the host sums in its own order). Called at the point
     * penalty() would be, on the same tensor; return RG_ERR_UNSUPPORTED to have penalty()
     * called instead. The checker compares the declaration with penalty(). */
    rg_status (*linear_decay)(void *inst, const rg_tensor_view *param, float *grad_coef,
                              double *penalty_coef);
    /* ---- ABI 1.5 ---- */
    /* Weight transform (DropConnect, weight noise, spectral normalization): write into
     * out (shaped like param) the tensor the layer uses in place of param in this forward
     * pass and its backward. param is const. In RG_MODE_EVAL, return RG_ERR_UNSUPPORTED
     * to have the layer use param as it is (a training-only transform). One weight
     * transform per tensor. */
    rg_status (*weight_forward)(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                                rg_tensor_view *out);
    /* Turn d(loss)/d(out) in grad into d(loss)/d(param), in place (NULL: the identity,
     * for transforms whose Jacobian is the identity, such as additive noise). Must be
     * linear in grad: a data-parallel run maps the gradient averaged over processes. */
    rg_status (*weight_backward)(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                                 rg_tensor_view *grad);
    /* After backward and the penalties, before the optimizer: change grad (which holds
     * the whole gradient of the loss) in place: gradient noise, clipping. param is const.
     * Runs identically on every process of a data-parallel run. */
    rg_status (*gradient)(void *inst, const rg_param_ctx *ctx, const rg_tensor_view *param,
                          rg_tensor_view *grad);
    /* Step wrapper (SAM): called once per step after backward, before the penalties.
     * Through host->step_tensor and host->step_evaluate it may move the weights, have the
     * loss and gradients evaluated again there, and put the weights back; the optimizer
     * then steps the original weights with the gradients of the last evaluation. One
     * step wrapper per run. */
    rg_status (*step_wrap)(void *inst, const rg_step_info *step, rg_step_handle *h);
} rg_regularizer_hooks;
#define RG_REGULARIZER_HOOKS_SIZE_V1_0 RG_SIZE_THROUGH(rg_regularizer_hooks, activation_backward)
#define RG_REGULARIZER_HOOKS_SIZE_V1_1 RG_SIZE_THROUGH(rg_regularizer_hooks, targets)
#define RG_REGULARIZER_HOOKS_SIZE_V1_3 RG_SIZE_THROUGH(rg_regularizer_hooks, linear_decay)
#define RG_REGULARIZER_HOOKS_SIZE_V1_5 RG_SIZE_THROUGH(rg_regularizer_hooks, step_wrap)

/* -------------------------------------------------------- augmenter hooks */
typedef struct rg_batch_view {
    uint32_t struct_size;
    uint32_t reserved0;
    int64_t n, c, h, w;          /* images, NCHW float32, values in [0, 1] */
    float *data;
    float *labels;               /* [n, num_classes], each row a distribution */
    int64_t num_classes;
} rg_batch_view;
#define RG_BATCH_VIEW_SIZE_V1_0 RG_SIZE_THROUGH(rg_batch_view, num_classes)

typedef struct rg_augmenter_hooks {
    uint32_t struct_size;
    uint32_t reserved0;
    rg_status (*apply)(void *inst, rg_batch_view *batch, const rg_rng_stream *rng);
} rg_augmenter_hooks;
#define RG_AUGMENTER_HOOKS_SIZE_V1_0 RG_SIZE_THROUGH(rg_augmenter_hooks, apply)

/* ------------------------------------------------------------ descriptor */
typedef enum rg_plugin_kind {
    RG_PLUGIN_REGULARIZER = 1,
    RG_PLUGIN_AUGMENTER = 2
} rg_plugin_kind;

enum {
    RG_CAP_DETERMINISTIC = 1u << 0,    /* same inputs and stream -> same output */
    RG_CAP_REENTRANT = 1u << 1,        /* hooks may run concurrently on one instance */
    RG_CAP_PENALTY_NONNEG = 1u << 2,   /* penalty() never adds a negative term */
    RG_CAP_IN_PLACE = 1u << 3,
    /* 1.2: the instance keeps state across steps that changes its results (an anchor,
     * a running average). With the state hooks the host saves it in checkpoints;
     * without them the host refuses to resume a run that uses the plugin, since the
     * resumed run would silently differ. */
    RG_CAP_STATEFUL = 1u << 4
};

typedef struct rg_plugin_desc {
    uint32_t struct_size;
    uint32_t kind;               /* rg_plugin_kind */
    uint32_t caps;               /* RG_CAP_* */
    uint32_t num_params;
    const char *name;            /* [a-z0-9_]+, the name users type */
    const char *version;         /* the plugin's own version, e.g. "1.0.0" */
    const char *doc;             /* one line */
    const rg_param_desc *params;
    /* Life cycle. create() receives validated parameters. */
    rg_status (*create)(const rg_host_api *host, const rg_params *params, void **inst);
    void (*destroy)(void *inst);
    const rg_regularizer_hooks *regularizer; /* kind == REGULARIZER */
    const rg_augmenter_hooks *augmenter;     /* kind == AUGMENTER */
    /* ---- ABI 1.2: the instance's state, for checkpoints (all three or none) ---- */
    /* How many bytes state_save() writes now. Called between steps only. */
    rg_status (*state_size)(void *inst, uint64_t *bytes);
    /* Write exactly `bytes` (what state_size() just said) into buf. The bytes are the
     * plugin's own format; the host stores them as they are, in the checkpoint. */
    rg_status (*state_save)(void *inst, void *buf, uint64_t bytes);
    /* Restore a state_save() output of the same plugin version (the host checks the
     * version), after create() and before any other hook. Check what you read: the
     * bytes come from a file. */
    rg_status (*state_load)(void *inst, const void *buf, uint64_t bytes);
} rg_plugin_desc;
#define RG_PLUGIN_DESC_SIZE_V1_0 RG_SIZE_THROUGH(rg_plugin_desc, augmenter)
#define RG_PLUGIN_DESC_SIZE_V1_2 RG_SIZE_THROUGH(rg_plugin_desc, state_load)

/* ------------------------------------------------------------ entry point */
#define REGULA_PLUGIN_ENTRY_NAME "regula_plugin_entry_v1"
typedef rg_status (*rg_plugin_entry_fn)(const rg_host_api *host, rg_negotiation *neg,
                                        const rg_plugin_desc **out);

/* 1 if the host's offer covers ABI major.minor (a function, not a macro
 * expression, so minor 0 does not trip -Wtype-limits in plugin builds). */
static inline int rg_host_serves(const rg_negotiation *neg, uint32_t major, uint32_t minor)
{
    return neg->host_major == major && neg->host_minor >= minor;
}

#if defined(__GNUC__)
#define RG_EXPORT __attribute__((visibility("default")))
#else
#define RG_EXPORT
#endif

/* RG_DEFINE_PLUGIN(desc) writes the entry function for a plugin whose
 * descriptor is the static rg_plugin_desc `desc`: it fills in nothing the
 * author must think about beyond the descriptor, answers the negotiation
 * with the minor this file was compiled against, and refuses hosts that are
 * too old. The plugin's other symbols should be static (and the build should
 * use -fvisibility=hidden). */
#define RG_DEFINE_PLUGIN(desc)                                                        \
    RG_EXPORT rg_status regula_plugin_entry_v1(const rg_host_api *host,              \
                                               rg_negotiation *neg,                  \
                                               const rg_plugin_desc **out);          \
    RG_EXPORT rg_status regula_plugin_entry_v1(const rg_host_api *host,              \
                                               rg_negotiation *neg,                  \
                                               const rg_plugin_desc **out)           \
    RG_PLUGIN_ENTRY_BODY_(desc)

/* RG_DEFINE_PLUGIN_AS(fn, desc): the same entry function as a static function named fn,
 * for a plugin compiled into a host program and registered with rg_plugin_register
 * (regula/regula.h) instead of being loaded from a .so. Since SDK 0.2; no ABI change. */
#define RG_DEFINE_PLUGIN_AS(fn, desc)                                                 \
    static rg_status fn(const rg_host_api *host, rg_negotiation *neg,                \
                        const rg_plugin_desc **out)                                  \
    RG_PLUGIN_ENTRY_BODY_(desc)

#define RG_PLUGIN_ENTRY_BODY_(desc)                                                   \
    {                                                                                \
        if (neg == NULL || out == NULL || host == NULL ||                            \
            neg->struct_size < RG_NEGOTIATION_SIZE_V1_0)                             \
            return RG_ERR_INVALID;                                                   \
        neg->plugin_major = REGULA_ABI_MAJOR;                                        \
        neg->plugin_minor = REGULA_ABI_MINOR;                                        \
        if (!rg_host_serves(neg, REGULA_ABI_MAJOR, REGULA_ABI_MINOR)) {               \
            if (RG_HAS_FIELD(host, rg_host_api, set_error) && host->set_error)       \
                host->set_error("plugin built for ABI %d.%d, host offers %u.%u",     \
                                REGULA_ABI_MAJOR, REGULA_ABI_MINOR,                  \
                                (unsigned)neg->host_major, (unsigned)neg->host_minor); \
            return RG_ERR_VERSION;                                                   \
        }                                                                            \
        *out = &(desc);                                                              \
        return RG_OK;                                                                \
    }

/* Schema initializers that fill struct_size for the author. */
#define RG_PARAM_FLOAT_DESC(nm, dflt, lo, hi, fl, text) \
    { (uint32_t)sizeof(rg_param_desc), RG_PARAM_FLOAT, (fl), 0, (nm), (text), (dflt), (lo), (hi), NULL, NULL }
#define RG_PARAM_INT_DESC(nm, dflt, lo, hi, text) \
    { (uint32_t)sizeof(rg_param_desc), RG_PARAM_INT, 0, 0, (nm), (text), (dflt), (lo), (hi), NULL, NULL }
#define RG_PARAM_BOOL_DESC(nm, dflt, text) \
    { (uint32_t)sizeof(rg_param_desc), RG_PARAM_BOOL, 0, 0, (nm), (text), (dflt), 0, 1, NULL, NULL }
#define RG_PARAM_ENUM_DESC(nm, dflt_index, names, text) \
    { (uint32_t)sizeof(rg_param_desc), RG_PARAM_ENUM, 0, 0, (nm), (text), (dflt_index), 0, 0, (names), NULL }

#ifdef __cplusplus
}
#endif
#endif
