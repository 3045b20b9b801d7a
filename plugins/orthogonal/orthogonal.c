/* Orthogonality penalty, as tf.keras.regularizers.OrthogonalRegularizer
 * (factor, mode) (keras/regularizers.py, Keras 2.13; unchanged in Keras 3):
 * with the vectors v_1..v_S of a 2-D kernel (its rows, or its columns),
 *     n_a = v_a / sqrt(max(||v_a||^2, 1e-12))          (tf.math.l2_normalize)
 *     G   = [n_a . n_b],  size = S
 *     penalty = factor * 0.5 * sum_{a != b} |G_ab| / (S * (S - 1) / 2)
 *             = factor / (S (S - 1)) * sum_{a != b} |n_a . n_b|,
 * i.e. factor/2 times the mean |cosine| between two distinct vectors.
 *
 * Which vectors. Keras states `mode` on its Dense kernel, shaped
 * (input_dim, units); regula's dense weight is [units, input_dim], the
 * transpose. `mode` here means what it means in Keras, so a Keras user gets
 * the same penalty for the same layer:
 *   mode=rows    (Keras default): the rows of Keras's (input_dim, units)
 *                kernel = the COLUMNS of regula's weight: S = input_dim
 *                vectors of length units (each input's outgoing weights);
 *   mode=columns: the columns of Keras's kernel = the ROWS of regula's
 *                weight: S = units vectors, each unit's incoming weights.
 * A tensor with ndim > 2 (conv [out, in, kh, kw]) is taken as the matrix
 * [out, in*kh*kw] (rows = filters), whose transpose is Keras's conv kernel
 * (kh, kw, in, out) reshaped to (kh*kw*in, out) up to an order of the
 * fan-in index that changes no penalty: columns makes the filters
 * orthogonal, rows the fan-in positions across filters. (Keras itself
 * accepts rank-2 kernels only.) A 1-D tensor (a bias, selected with
 * tensors=all) is one vector, like one unit, in either mode: with fewer than
 * two vectors there is no pair to make orthogonal, and S < 2 adds nothing
 * (penalty 0, no gradient).
 *
 * Gradient (derived here; checked against central differences in
 * tests/plugins/test_orthogonal.c). With c = factor / (S (S - 1)) and
 * s_ab = sign(G_ab) off the diagonal (0 on it and at G_ab == 0, the
 * subgradient), every pair appears twice in the sum, so
 *     dP/dn_a = 2c * sum_b s_ab n_b               (dN = 2c * Sg N),
 * and through the normalization n = v / d, d = ||v|| (when ||v||^2 > 1e-12)
 *     dP/dv_a = (dn_a - n_a (n_a . dn_a)) / d_a,
 * or dn_a / d_a with d_a = 1e-6 fixed when the clamp is active (as TF).
 *
 * Cost: two S x S x L products (G, then Sg N), O(S^2 L) per tensor and step.
 * They run in the plugin's own loops on host->parallel_for, not through
 * host->sgemm: OpenBLAS's sgemm does not give the same bits at 1 and 2
 * threads (measured on a 64 x 784 weight: penalty 0.028104077496714629 vs
 * 0.028104077528763489), and this plugin promises thread-count independent
 * results (RG_CAP_DETERMINISTIC; tested). In the loops every dot product and
 * every row of Sg N is summed by one thread in a fixed order. Measured on a
 * 64 x 784 dense weight, one thread: mode=columns (S = 64) ~0.6 ms per call,
 * mode=rows (S = 784) ~11 ms, several times the MLP's own step.
 */
#include <math.h>
#include <regula/plugin.h>
#include <stdint.h>
#include <string.h>

#define OR_NORM_EPS 1e-12 /* tf.math.l2_normalize's epsilon on ||v||^2 */

typedef struct orthogonal {
    const rg_host_api *host;
    double factor;
    int keras_columns;    /* 0: Keras rows = regula columns; 1: Keras columns = regula rows */
    float *buf;           /* N [S, L], G [S, S], dN [S, L] */
    int64_t buf_cap;      /* floats */
    double *dbl;          /* sumsq [S], partial [S] */
    int64_t dbl_cap;      /* doubles */
} orthogonal;

typedef struct or_job {
    const float *w;       /* the parameter, [U, K] */
    float *g;             /* its gradient */
    int64_t U, K;         /* regula rows (units) and columns (fan-in) */
    int columns;          /* vectors are regula rows (1) or columns (0) */
    int64_t S, L;         /* number of vectors and their length */
    float *N, *G, *dN;
    double *sumsq, *partial;
    float alpha;          /* 2c */
} or_job;

static const char *const or_modes[] = {"rows", "columns", NULL};

static const rg_param_desc or_params[] = {
    RG_PARAM_FLOAT_DESC("factor", 0.01, 0.0, 1e3, RG_PARAM_LOG_SCALE,
                        "strength: factor/2 times the mean |cosine| between distinct vectors"),
    RG_PARAM_ENUM_DESC("mode", 0, or_modes,
                       "Keras's axis on its (in, units) kernel: rows = regula's columns "
                       "(inputs), columns = regula's rows (units)"),
};

static rg_status or_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    orthogonal *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("orthogonal: out of memory");
        return RG_ERR_NOMEM;
    }
    s->host = host;
    s->factor = params->values[0].number;
    s->keras_columns = params->values[1].number == 1.0;
    *inst = s;
    return RG_OK;
}

static void or_destroy(void *inst)
{
    orthogonal *s = inst;
    s->host->free(s->buf);
    s->host->free(s->dbl);
    s->host->free(s);
}

/* element (a, j) of vector matrix V [S, L]: row a of W, or column a of W */
static inline float or_v(const or_job *j, int64_t a, int64_t i)
{
    return j->columns ? j->w[a * j->K + i] : j->w[i * j->K + a];
}

static inline double or_scale(double sumsq)
{
    return sqrt(sumsq > OR_NORM_EPS ? sumsq : OR_NORM_EPS);
}

/* Step 1, per vector: squared norm (fixed order) and N = V / d. */
static rg_status or_normalize(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    for (int64_t a = begin; a < end; a++) {
        double sq = 0.0;
        for (int64_t i = 0; i < j->L; i++) {
            double x = (double)or_v(j, a, i);
            sq += x * x;
        }
        j->sumsq[a] = sq;
        double inv = 1.0 / or_scale(sq);
        float *n = j->N + a * j->L;
        for (int64_t i = 0; i < j->L; i++)
            n[i] = (float)((double)or_v(j, a, i) * inv);
    }
    return RG_OK;
}

/* Step 2: the upper triangle of G = N N^T. Each dot product runs in 8
 * float lanes (vectorized) summed in a fixed order: the same bits whatever
 * the split of rows across threads. Row a holds S-1-a products, so item p
 * takes rows p and S-1-p and every item carries the same work. */
#define OR_LANES 8
static void or_gram_row(or_job *j, int64_t a)
{
    int64_t L = j->L;
    const float *x = j->N + a * L;
    for (int64_t b = a + 1; b < j->S; b++) {
        const float *y = j->N + b * L;
        float lanes[OR_LANES] = {0};
        int64_t i = 0;
        for (; i + OR_LANES <= L; i += OR_LANES)
            for (int k = 0; k < OR_LANES; k++)
                lanes[k] += x[i + k] * y[i + k];
        double dot = 0.0;
        for (; i < L; i++)
            dot += (double)x[i] * (double)y[i];
        for (int k = 0; k < OR_LANES; k++)
            dot += (double)lanes[k];
        j->G[a * j->S + b] = (float)dot;
    }
}

static rg_status or_gram(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    for (int64_t p = begin; p < end; p++) {
        or_gram_row(j, p);
        if (j->S - 1 - p != p)
            or_gram_row(j, j->S - 1 - p);
    }
    return RG_OK;
}

/* Step 3, per row a: the penalty's partial sum over b > a (each pair once;
 * the formula's sum over a != b is twice that), and G becomes the symmetric
 * sign matrix Sg from its upper triangle. Row a writes the lower-triangle
 * entries (b, a), b > a, which no other row reads in this step. */
static rg_status or_signs(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    int64_t S = j->S;
    for (int64_t a = begin; a < end; a++) {
        float *row = j->G + a * S;
        double sum = 0.0;
        for (int64_t b = a + 1; b < S; b++) {
            float x = row[b];
            sum += fabs((double)x);
            float sg = x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
            row[b] = sg;
            j->G[b * S + a] = sg;
        }
        row[a] = 0.0f;
        j->partial[a] = sum;
    }
    return RG_OK;
}

/* Step 4: dN = alpha * Sg N, row a accumulated over b in order (Sg is
 * -1, 0 or 1, so each step is an add or a subtract of a row of N). */
static rg_status or_back(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    int64_t L = j->L;
    for (int64_t a = begin; a < end; a++) {
        float *d = j->dN + a * L;
        const float *sg = j->G + a * j->S;
        for (int64_t i = 0; i < L; i++)
            d[i] = 0.0f;
        for (int64_t b = 0; b < j->S; b++) {
            const float *n = j->N + b * L;
            if (sg[b] > 0.0f)
                for (int64_t i = 0; i < L; i++)
                    d[i] += n[i];
            else if (sg[b] < 0.0f)
                for (int64_t i = 0; i < L; i++)
                    d[i] -= n[i];
        }
        for (int64_t i = 0; i < L; i++)
            d[i] *= j->alpha;
    }
    return RG_OK;
}

/* Step 5, per vector: through the normalization, dV in place of dN. */
static rg_status or_unnormalize(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    for (int64_t a = begin; a < end; a++) {
        const float *n = j->N + a * j->L;
        float *dn = j->dN + a * j->L;
        double inv = 1.0 / or_scale(j->sumsq[a]);
        double dot = 0.0;
        if (j->sumsq[a] > OR_NORM_EPS)
            for (int64_t i = 0; i < j->L; i++)
                dot += (double)n[i] * (double)dn[i];
        for (int64_t i = 0; i < j->L; i++)
            dn[i] = (float)(((double)dn[i] - (double)n[i] * dot) * inv);
    }
    return RG_OK;
}

/* Step 6, per regula row u: grad += dV in regula's layout. */
static rg_status or_scatter(void *ctx, int64_t begin, int64_t end)
{
    or_job *j = ctx;
    for (int64_t u = begin; u < end; u++) {
        float *g = j->g + u * j->K;
        if (j->columns)
            for (int64_t i = 0; i < j->K; i++)
                g[i] += j->dN[u * j->K + i];
        else
            for (int64_t a = 0; a < j->K; a++)
                g[a] += j->dN[a * j->U + u];
    }
    return RG_OK;
}

static rg_status or_reserve(orthogonal *s, int64_t floats, int64_t doubles)
{
    const rg_host_api *h = s->host;
    /* grows on the first steps only: the steady-state step allocates nothing */
    if (floats > s->buf_cap) {
        h->free(s->buf);
        s->buf = h->alloc((size_t)floats * sizeof(float));
        s->buf_cap = s->buf ? floats : 0;
    }
    if (doubles > s->dbl_cap) {
        h->free(s->dbl);
        s->dbl = h->alloc((size_t)doubles * sizeof(double));
        s->dbl_cap = s->dbl ? doubles : 0;
    }
    if (!s->buf || !s->dbl) {
        h->set_error("orthogonal: out of memory for %lld floats of scratch", (long long)floats);
        return RG_ERR_NOMEM;
    }
    return RG_OK;
}

static int64_t or_grain(int64_t per_item)
{
    return per_item >= 16384 ? 1 : 16384 / (per_item > 0 ? per_item : 1);
}

static rg_status or_penalty(void *inst, const rg_tensor_view *param, double *loss,
                            rg_tensor_view *grad)
{
    orthogonal *s = inst;
    const rg_host_api *h = s->host;
    or_job j = {0};
    j.w = param->data;
    j.g = grad->data;
    j.U = param->shape[0];
    j.K = j.U > 0 ? param->numel / j.U : 0;
    j.columns = s->keras_columns;
    j.S = j.columns ? j.U : j.K;
    j.L = j.columns ? j.K : j.U;
    if (param->ndim < 2 || j.S < 2 || j.L < 1 || s->factor == 0.0)
        return RG_OK;
    rg_status st = or_reserve(s, 2 * j.S * j.L + j.S * j.S, 2 * j.S);
    if (st != RG_OK)
        return st;
    j.N = s->buf;
    j.G = j.N + j.S * j.L;
    j.dN = j.G + j.S * j.S;
    j.sumsq = s->dbl;
    j.partial = s->dbl + j.S;
    double c = s->factor / ((double)j.S * (double)(j.S - 1));
    j.alpha = (float)(2.0 * c);
    /* how rows are split into chunks follows the thread count, but each
     * row's result is computed by one thread in a fixed order, so its bits
     * do not */
    if ((st = h->parallel_for(j.S, or_grain(j.L), or_normalize, &j)) != RG_OK ||
        (st = h->parallel_for((j.S + 1) / 2, or_grain(j.S * j.L), or_gram, &j)) != RG_OK ||
        (st = h->parallel_for(j.S, or_grain(j.S), or_signs, &j)) != RG_OK ||
        (st = h->parallel_for(j.S, or_grain(j.S * j.L), or_back, &j)) != RG_OK ||
        (st = h->parallel_for(j.S, or_grain(j.L), or_unnormalize, &j)) != RG_OK ||
        (st = h->parallel_for(j.U, or_grain(j.K), or_scatter, &j)) != RG_OK)
        return st;
    double total = 0.0; /* fixed order: the same bits at any thread count */
    for (int64_t a = 0; a < j.S; a++)
        total += j.partial[a];
    *loss += 2.0 * c * total;
    return RG_OK;
}

static const rg_regularizer_hooks or_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = or_penalty,
};

static const rg_plugin_desc or_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG,
    .num_params = sizeof or_params / sizeof or_params[0],
    .name = "orthogonal",
    .version = "1.0.0",
    .doc = "orthogonality penalty: factor/2 * mean |cosine| of distinct vectors "
           "(Keras OrthogonalRegularizer)",
    .params = or_params,
    .create = or_create,
    .destroy = or_destroy,
    .regularizer = &or_hooks,
};

RG_DEFINE_PLUGIN(or_desc)
