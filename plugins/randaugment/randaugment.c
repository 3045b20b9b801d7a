/* randaugment: RandAugment (Cubuk, Zoph, Shlens and Le, "RandAugment: Practical automated
 * data augmentation with a reduced search space", CVPR Workshops 2020), as
 * torchvision.transforms.RandAugment(num_ops, magnitude, num_magnitude_bins): each image
 * gets num_ops operations, each drawn uniformly (with replacement) from the op list, all at
 * the one strength `magnitude` (of num_magnitude_bins bins), a random sign for the signed
 * ops. The ops are installed augmenters composed through the host (ABI 1.6); their table
 * and strengths, and where they differ from torchvision, are in plugins/common/policy.h.
 *
 * Op list (torchvision's, without Color): identity, shear x, shear y, translate x,
 * translate y, rotate, brightness, contrast, sharpness, posterize, solarize, autocontrast,
 * equalize. Strength at bin b of B: shear factor 0.3 b/(B-1), translation 150/331 b/(B-1) of
 * the side, rotation 30 b/(B-1) degrees, brightness/contrast/sharpness factor
 * 1 +- 0.9 b/(B-1), posterize 8 - round(4 b/(B-1)) bits, solarize threshold 1 - b/(B-1).
 *
 * Randomness: image i reads uniforms at stream offsets i*num_ops + s (the op of slot s);
 * slot s of image i applies its op with key i*num_ops + s. */
#include "../common/policy.h"

static const pol_op ra_ops[] = {
    {"Identity", NULL, POL_FIXED, 0, 0, 0},
    {"ShearX", "shear:axis=x,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1",
     POL_LINEAR, 0.0, 0.3, 1},
    {"ShearY", "shear:axis=y,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1",
     POL_LINEAR, 0.0, 0.3, 1},
    {"TranslateX", "translate:axis=x,fraction=%.9g,fraction_min=%.9g,p=1", POL_LINEAR, 0.0,
     150.0 / 331.0, 0},
    {"TranslateY", "translate:axis=y,fraction=%.9g,fraction_min=%.9g,p=1", POL_LINEAR, 0.0,
     150.0 / 331.0, 0},
    {"Rotate", "rotate:degrees=%.9g,degrees_min=%.9g,p=1", POL_LINEAR, 0.0, 30.0, 0},
    {"Brightness", "brightness_contrast:brightness=%.9g,brightness_min=%.9g,contrast=0,p=1",
     POL_LINEAR, 0.0, 0.9, 0},
    {"Contrast", "brightness_contrast:contrast=%.9g,contrast_min=%.9g,brightness=0,p=1",
     POL_LINEAR, 0.0, 0.9, 0},
    {"Sharpness", "sharpness:magnitude=%.9g,magnitude_min=%.9g,p=1", POL_LINEAR, 0.0, 0.9, 0},
    {"Posterize", "posterize:bits=%.9g,p=1", POL_POSTERIZE, 4.0, 0.0, 0},
    {"Solarize", "solarize:threshold=%.9g,p=1", POL_LINEAR, 1.0, 0.0, 0},
    {"AutoContrast", "autocontrast:p=1", POL_FIXED, 0, 0, 0},
    {"Equalize", "equalize:p=1", POL_FIXED, 0, 0, 0},
};
#define RA_NUM_OPS ((int)(sizeof ra_ops / sizeof ra_ops[0]))

typedef struct randaugment {
    policy pol;
    int num_ops, magnitude;
} randaugment;

static const rg_param_desc ra_params[] = {
    RG_PARAM_INT_DESC("num_ops", 2, 0, 16, "operations applied to each image, one after another"),
    RG_PARAM_INT_DESC("magnitude", 9, 0, 30,
                      "strength of every operation, a bin index (30: the strongest of 31 bins)"),
    RG_PARAM_INT_DESC("num_magnitude_bins", 31, 31, POL_MAX_BINS,
                      "number of strength bins (at least 31: every magnitude is a bin)"),
};

static void ra_destroy(void *inst)
{
    randaugment *a = inst;
    a->pol.host->free(a); /* the composed augmenters are the host's */
}

static rg_status ra_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    /* the schema keeps magnitude <= 30 < 31 <= bins */
    int bins = (int)params->values[2].number, m = (int)params->values[1].number;
    randaugment *a = host->alloc(sizeof *a);
    if (!a) {
        host->set_error("randaugment: out of memory");
        return RG_ERR_NOMEM;
    }
    a->num_ops = (int)params->values[0].number;
    a->magnitude = m;
    rg_status st = pol_create(&a->pol, host, ra_ops, RA_NUM_OPS, bins, m, m);
    if (st != RG_OK) {
        host->free(a);
        return st;
    }
    *inst = a;
    return RG_OK;
}

static rg_status ra_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    randaugment *a = inst;
    const rg_host_api *host = a->pol.host;
    for (int64_t i = 0; i < batch->n; i++)
        for (int s = 0; s < a->num_ops; s++) {
            uint64_t slot = (uint64_t)i * (uint64_t)a->num_ops + (uint64_t)s;
            float u;
            host->rng_uniform(rng, slot, &u, 1);
            int o = (int)(u * (float)RA_NUM_OPS);
            o = o < RA_NUM_OPS ? o : RA_NUM_OPS - 1;
            rg_status st = pol_apply_one(&a->pol, batch, rng, i, o, a->magnitude, slot);
            if (st != RG_OK)
                return st;
        }
    return RG_OK;
}

static const rg_augmenter_hooks ra_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = ra_apply,
};

static const rg_plugin_desc ra_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof ra_params / sizeof ra_params[0],
    .name = "randaugment",
    .version = "1.0.0",
    .doc = "RandAugment: num_ops random ops per image at one magnitude (Cubuk et al. 2020)",
    .params = ra_params,
    .create = ra_create,
    .destroy = ra_destroy,
    .augmenter = &ra_hooks,
};

RG_DEFINE_PLUGIN(ra_desc)
