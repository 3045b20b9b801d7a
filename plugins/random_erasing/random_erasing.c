/* random_erasing: erase a random rectangle, as
 * torchvision.transforms.RandomErasing(p=0.5, scale=(0.02, 0.33),
 * ratio=(0.3, 3.3), value=0) (Zhong et al., "Random Erasing Data
 * Augmentation", AAAI 2020). With probability p, up to 10 attempts
 * (RandomErasing.get_params):
 *
 *   area  = A * U(scale_min, scale_max),   A = h * w
 *   r     = exp(U(log ratio_min, log ratio_max))
 *   eh    = round(sqrt(area * r)),  ew = round(sqrt(area / r))
 *   if eh < h and ew < w: top ~ U{0..h-eh}, left ~ U{0..w-ew}, fill the
 *   rectangle with `value` in every channel, stop;
 *
 * and if no attempt fits the image is left unchanged (get_params then
 * returns the whole image as its own "erase" value). round() is half away
 * from zero where Python's round is half to even; the two differ only on
 * exact .5 ties. Each pair of bounds is taken as an unordered interval, so
 * every parameter accepts its whole declared range whatever the other is.
 *
 * Randomness: image i reads its uniforms at stream offsets [44i, 44i + 41):
 * 44i decides whether to erase (< p), attempt t uses 44i + 1 + 4t .. + 3
 * (area, ratio, top, left). Results do not depend on the thread count. In
 * place, no scratch. */
#include <math.h>
#include <regula/plugin.h>

typedef struct random_erasing {
    const rg_host_api *host;
    float p, value;
    double s_lo, s_hi, lr_lo, lr_hi; /* scale bounds, log ratio bounds */
} random_erasing;

#define ERASE_TRIES 10
#define ERASE_STRIDE 44 /* uniforms reserved per image: 1 + 4 * ERASE_TRIES, rounded up to 4 */

static const rg_param_desc random_erasing_params[] = {
    RG_PARAM_FLOAT_DESC("p", 0.5, 0.0, 1.0, 0, "probability of erasing a rectangle in each image"),
    RG_PARAM_FLOAT_DESC("scale_min", 0.02, 0.0, 1.0, RG_PARAM_MIN_EXCLUSIVE,
                        "smallest erased area as a fraction of the image"),
    RG_PARAM_FLOAT_DESC("scale_max", 0.33, 0.0, 1.0, RG_PARAM_MIN_EXCLUSIVE,
                        "largest erased area as a fraction of the image"),
    RG_PARAM_FLOAT_DESC("ratio_min", 0.3, 0.01, 100.0, 0, "smallest aspect ratio height/width"),
    RG_PARAM_FLOAT_DESC("ratio_max", 3.3, 0.01, 100.0, 0, "largest aspect ratio height/width"),
    RG_PARAM_FLOAT_DESC("value", 0.0, 0.0, 1.0, 0, "value written into the erased rectangle"),
};

typedef struct erase_job {
    const random_erasing *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} erase_job;

static rg_status random_erasing_create(const rg_host_api *host, const rg_params *params,
                                       void **inst)
{
    random_erasing *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("random_erasing: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->p = (float)params->values[0].number;
    a->s_lo = params->values[1].number;
    a->s_hi = params->values[2].number;
    a->lr_lo = log(params->values[3].number);
    a->lr_hi = log(params->values[4].number);
    a->value = (float)params->values[5].number;
    *inst = a;
    return RG_OK;
}

static void random_erasing_destroy(void *inst)
{
    random_erasing *a = inst;
    a->host->free(a);
}

static int64_t below(float u, int64_t m)
{
    int64_t k = (int64_t)((double)u * (double)m);
    return k < m ? k : m - 1;
}

static rg_status erase_chunk(void *ctx, int64_t begin, int64_t end)
{
    erase_job *j = ctx;
    const random_erasing *a = j->a;
    const rg_batch_view *b = j->b;
    const int64_t plane = b->h * b->w;
    const double area = (double)plane;
    for (int64_t i = begin; i < end; i++) {
        float u[1 + 4 * ERASE_TRIES];
        a->host->rng_uniform(j->rng, (uint64_t)i * ERASE_STRIDE, u, 1 + 4 * ERASE_TRIES);
        if (!(u[0] < a->p))
            continue;
        for (int t = 0; t < ERASE_TRIES; t++) {
            const float *v = u + 1 + 4 * t;
            double target = area * (a->s_lo + (a->s_hi - a->s_lo) * (double)v[0]);
            double r = exp(a->lr_lo + (a->lr_hi - a->lr_lo) * (double)v[1]);
            int64_t eh = (int64_t)llround(sqrt(target * r));
            int64_t ew = (int64_t)llround(sqrt(target / r));
            if (!(eh < b->h && ew < b->w))
                continue;
            int64_t top = below(v[2], b->h - eh + 1), left = below(v[3], b->w - ew + 1);
            for (int64_t ch = 0; ch < b->c; ch++)
                for (int64_t y = top; y < top + eh; y++) {
                    float *row = b->data + (i * b->c + ch) * plane + y * b->w;
                    for (int64_t x = left; x < left + ew; x++)
                        row[x] = a->value;
                }
            break;
        }
    }
    return RG_OK;
}

static rg_status random_erasing_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    random_erasing *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f)
        return RG_OK;
    erase_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 16, erase_chunk, &j);
}

static const rg_augmenter_hooks random_erasing_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = random_erasing_apply,
};

static const rg_plugin_desc random_erasing_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof random_erasing_params / sizeof random_erasing_params[0],
    .name = "random_erasing",
    .version = "1.0.0",
    .doc = "erase a random rectangle of random area and aspect ratio (torchvision RandomErasing)",
    .params = random_erasing_params,
    .create = random_erasing_create,
    .destroy = random_erasing_destroy,
    .augmenter = &random_erasing_hooks,
};

RG_DEFINE_PLUGIN(random_erasing_desc)
