/* DropBlock (Ghiasi, Lin & Le, "DropBlock: A regularization method for
 * convolutional networks", NeurIPS 2018, Algorithm 1): in training, drop
 * contiguous block_size x block_size regions of each feature map, then
 * rescale so the expected activation is unchanged; identity in evaluation.
 *
 *   bs    = min(block_size, H, W)
 *   gamma = drop_prob / bs^2 * (H W) / ((H - bs + 1)(W - bs + 1))      (eq. 1)
 *   each position (i, j) whose block fits (i <= H - bs, j <= W - bs) starts a
 *   dropped block with probability gamma; M = 1 outside every block;
 *   A = A * M * count(M) / count_ones(M)                               (line 7)
 *
 * The normalization uses the counts over the whole activation tensor, as in
 * Algorithm 1 (in a data-parallel run: the whole batch's, not a slice's).
 * Position (n, c, i, j) reads u = rng_uniform at its flat index.
 * A flat [batch, features] activation is a 1x1 map per feature: bs = 1 and
 * DropBlock reduces to dropout with rate drop_prob. */
#include <regula/plugin.h>

typedef struct dropblock {
    const rg_host_api *host;
    double p;
    int64_t block;
} dropblock;

static const rg_param_desc dropblock_params[] = {
    RG_PARAM_FLOAT_DESC("drop_prob", 0.1, 0.0, 1.0, RG_PARAM_MAX_EXCLUSIVE,
                        "target fraction of activation units dropped"),
    RG_PARAM_INT_DESC("block_size", 3, 1, 64, "side of the square blocks dropped"),
};

static rg_status dropblock_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    dropblock *d = host->alloc(sizeof *d);
    if (!d) {
        host->set_error("dropblock: out of memory");
        return RG_ERR_NOMEM;
    }
    d->host = host;
    d->p = params->values[0].number;
    d->block = (int64_t)params->values[1].number;
    *inst = d;
    return RG_OK;
}

static void dropblock_destroy(void *inst)
{
    dropblock *d = inst;
    d->host->free(d);
}

/* the multipliers of the view, and one row of scratch for the rows of the batch other
 * processes hold (data-parallel runs) */
static size_t dropblock_state_bytes(void *inst, const rg_tensor_view *act)
{
    (void)inst;
    int64_t row = act->shape[0] > 0 ? act->numel / act->shape[0] : 0;
    return (size_t)(act->numel + row) * sizeof(float);
}

typedef struct geometry {
    int64_t row, H, W, bs;
    double gamma;
} geometry;

/* The 0/1 mask of one sample whose draws start at rng position `at`; returns its ones. */
static int64_t sample_mask(const dropblock *d, const rg_activation_ctx *ctx, const geometry *g,
                           uint64_t at, float *m)
{
    for (int64_t i = 0; i < g->row; i++)
        m[i] = 1.0f;
    float u[256];
    for (int64_t base = 0; base < g->row; base += 256) {
        int64_t cnt = g->row - base < 256 ? g->row - base : 256;
        d->host->rng_uniform(ctx->rng, at + (uint64_t)base, u, (size_t)cnt);
        for (int64_t k = 0; k < cnt; k++) {
            int64_t idx = base + k, map = idx / (g->H * g->W), pos = idx % (g->H * g->W);
            int64_t i = pos / g->W, j = pos % g->W;
            if (i > g->H - g->bs || j > g->W - g->bs || (double)u[k] >= g->gamma)
                continue;
            for (int64_t a = 0; a < g->bs; a++)
                for (int64_t b = 0; b < g->bs; b++)
                    m[(map * g->H + i + a) * g->W + j + b] = 0.0f;
        }
    }
    int64_t ones = 0;
    for (int64_t i = 0; i < g->row; i++)
        ones += m[i] != 0.0f;
    return ones;
}

static rg_status dropblock_forward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *act)
{
    dropblock *d = inst;
    if (ctx->mode != RG_MODE_TRAIN)
        return RG_OK;
    int64_t n = act->shape[0] > 0 ? act->shape[0] : 1, row0 = 0, rows = n;
#if REGULA_ABI_MINOR >= 4
    if (RG_HAS_FIELD(ctx, rg_activation_ctx, batch_rows) && ctx->batch_rows > n) {
        row0 = ctx->batch_row0;
        rows = ctx->batch_rows;
    }
#endif
    geometry g = {act->numel / n, act->ndim == 4 ? act->shape[2] : 1,
                  act->ndim == 4 ? act->shape[3] : 1, 0, 0.0};
    size_t need = (size_t)(act->numel + (rows > n ? g.row : 0)) * sizeof(float);
    if (!ctx->state || ctx->state_bytes < need) {
        d->host->set_error("dropblock: activation state missing or too small (%zu bytes, "
                           "needs %zu)", ctx->state ? ctx->state_bytes : (size_t)0, need);
        return RG_ERR_INVALID;
    }
    g.bs = d->block < g.H ? d->block : g.H;
    g.bs = g.bs < g.W ? g.bs : g.W;
    g.gamma = d->p / (double)(g.bs * g.bs) * (double)(g.H * g.W) /
              (double)((g.H - g.bs + 1) * (g.W - g.bs + 1));
    float *m = ctx->state;
    int64_t ones = 0;
    for (int64_t r = 0; r < n; r++)
        ones += sample_mask(d, ctx, &g, (uint64_t)(r * g.row), m + r * g.row);
    /* Algorithm 1 normalizes by the counts of the whole batch: a process holding a slice
     * of it draws the other rows' masks too (same positions, so the same masks) only to
     * count their ones, which makes the scale the one a single process computes */
    for (int64_t r = 0; r < rows; r++)
        if (r < row0 || r >= row0 + n)
            ones += sample_mask(d, ctx, &g, (uint64_t)((r - row0) * g.row), m + act->numel);
    double total = (double)rows * (double)g.row;
    float scale = ones ? (float)(total / (double)ones) : 0.0f;
    for (int64_t i = 0; i < act->numel; i++) {
        m[i] *= scale;
        act->data[i] *= m[i];
    }
    return RG_OK;
}

static rg_status dropblock_backward(void *inst, rg_activation_ctx *ctx, rg_tensor_view *grad)
{
    dropblock *d = inst;
    if (!ctx->state || ctx->state_bytes < (size_t)grad->numel * sizeof(float)) {
        d->host->set_error("dropblock: activation state missing or too small");
        return RG_ERR_INVALID;
    }
    const float *m = ctx->state;
    for (int64_t i = 0; i < grad->numel; i++)
        grad->data[i] *= m[i];
    return RG_OK;
}

static const rg_regularizer_hooks dropblock_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .activation_state_bytes = dropblock_state_bytes,
    .activation_forward = dropblock_forward,
    .activation_backward = dropblock_backward,
};

static const rg_plugin_desc dropblock_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC,
    .num_params = 2,
    .name = "dropblock",
    .version = "1.1.0",
    .doc = "drops block_size x block_size regions of conv feature maps (Ghiasi et al. 2018)",
    .params = dropblock_params,
    .create = dropblock_create,
    .destroy = dropblock_destroy,
    .regularizer = &dropblock_hooks,
};

RG_DEFINE_PLUGIN(dropblock_desc)
