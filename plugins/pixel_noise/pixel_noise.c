/* pixel_noise: additive Gaussian noise on the input pixels, clamped back to
 * [0, 1]:
 *
 *   x <- clamp(x + stddev * z, 0, 1),   z ~ N(0, 1) per pixel,
 *
 * the usual input-noise augmentation (e.g. albumentations GaussNoise, or
 * x + sigma * torch.randn_like(x) followed by clamp). Named pixel_noise
 * because gaussian_noise is the activation-noise regularizer
 * (keras.layers.GaussianNoise). Applied to each image with probability p.
 *
 * Randomness: image i with P = c*h*w pixels takes its normals at stream
 * offsets [i*P, (i+1)*P) and its apply-uniform at offset 2^50 + i (a range
 * no image's normals reach), so results do not depend on the thread
 * count. In place, no scratch. */
#include <regula/plugin.h>

typedef struct pixel_noise {
    const rg_host_api *host;
    float stddev, p;
} pixel_noise;

#define PIXEL_NOISE_APPLY_BASE ((uint64_t)1 << 50)
#define PIXEL_NOISE_DRAW 256

static const rg_param_desc pixel_noise_params[] = {
    RG_PARAM_FLOAT_DESC("stddev", 0.05, 0.0, 1.0, 0, "standard deviation of the pixel noise"),
    RG_PARAM_FLOAT_DESC("p", 1.0, 0.0, 1.0, 0, "probability of adding noise to each image"),
};

typedef struct noise_job {
    const pixel_noise *a;
    rg_batch_view *b;
    const rg_rng_stream *rng;
} noise_job;

static rg_status pixel_noise_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    pixel_noise *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("pixel_noise: out of memory");
        return RG_ERR_NOMEM;
    }
    a->host = host;
    a->stddev = (float)params->values[0].number;
    a->p = (float)params->values[1].number;
    *inst = a;
    return RG_OK;
}

static void pixel_noise_destroy(void *inst)
{
    pixel_noise *a = inst;
    a->host->free(a);
}

static rg_status noise_chunk(void *ctx, int64_t begin, int64_t end)
{
    noise_job *j = ctx;
    const int64_t pixels = j->b->c * j->b->h * j->b->w;
    const float s = j->a->stddev;
    for (int64_t i = begin; i < end; i++) {
        float u;
        j->a->host->rng_uniform(j->rng, PIXEL_NOISE_APPLY_BASE + (uint64_t)i, &u, 1);
        if (!(u < j->a->p))
            continue;
        float *img = j->b->data + i * pixels;
        for (int64_t k = 0; k < pixels; k += PIXEL_NOISE_DRAW) {
            float z[PIXEL_NOISE_DRAW];
            int64_t cnt = pixels - k < PIXEL_NOISE_DRAW ? pixels - k : PIXEL_NOISE_DRAW;
            j->a->host->rng_normal(j->rng, (uint64_t)(i * pixels + k), z, (size_t)cnt);
            for (int64_t q = 0; q < cnt; q++) {
                float v = img[k + q] + s * z[q];
                img[k + q] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
            }
        }
    }
    return RG_OK;
}

static rg_status pixel_noise_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    pixel_noise *a = inst;
    if (batch->n <= 0 || a->p <= 0.0f || a->stddev <= 0.0f)
        return RG_OK;
    noise_job j = {a, batch, rng};
    return a->host->parallel_for(batch->n, 4, noise_chunk, &j);
}

static const rg_augmenter_hooks pixel_noise_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = pixel_noise_apply,
};

static const rg_plugin_desc pixel_noise_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof pixel_noise_params / sizeof pixel_noise_params[0],
    .name = "pixel_noise",
    .version = "1.0.0",
    .doc = "additive Gaussian pixel noise N(0, stddev^2), clamped to [0, 1]",
    .params = pixel_noise_params,
    .create = pixel_noise_create,
    .destroy = pixel_noise_destroy,
    .augmenter = &pixel_noise_hooks,
};

RG_DEFINE_PLUGIN(pixel_noise_desc)
