/* trivial_augment: TrivialAugment (Müller and Hutter, "TrivialAugment: Tuning-free Yet
 * State-of-the-Art Data Augmentation", ICCV 2021), wide search space, as
 * torchvision.transforms.TrivialAugmentWide(num_magnitude_bins): each image gets ONE
 * operation drawn uniformly from the op list, at a strength bin drawn uniformly from
 * num_magnitude_bins, a random sign for the signed ops. The ops are installed augmenters
 * composed through the host (ABI 1.6); their table and strengths, and where they differ from
 * torchvision, are in plugins/common/policy.h.
 *
 * Op list (torchvision's, without Color): identity, shear x, shear y, translate x,
 * translate y, rotate, brightness, contrast, sharpness, posterize, solarize, autocontrast,
 * equalize. Strength at bin b of B: shear factor 0.99 b/(B-1), translation b/(B-1) of the
 * side (32 pixels on the 32x32 images of the paper), rotation 135 b/(B-1) degrees,
 * brightness/contrast/sharpness factor 1 +- 0.99 b/(B-1), posterize 8 - round(6 b/(B-1))
 * bits, solarize threshold 1 - b/(B-1).
 *
 * Randomness: image i reads uniforms at stream offsets 2i (the op) and 2i + 1 (the bin) and
 * applies the op with key i. */
#include "../common/policy.h"

static const pol_op ta_ops[] = {
    {"Identity", NULL, POL_FIXED, 0, 0, 0},
    {"ShearX", "shear:axis=x,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1",
     POL_LINEAR, 0.0, 0.99, 1},
    {"ShearY", "shear:axis=y,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1",
     POL_LINEAR, 0.0, 0.99, 1},
    {"TranslateX", "translate:axis=x,fraction=%.9g,fraction_min=%.9g,p=1", POL_LINEAR, 0.0,
     1.0, 0},
    {"TranslateY", "translate:axis=y,fraction=%.9g,fraction_min=%.9g,p=1", POL_LINEAR, 0.0,
     1.0, 0},
    {"Rotate", "rotate:degrees=%.9g,degrees_min=%.9g,p=1", POL_LINEAR, 0.0, 135.0, 0},
    {"Brightness", "brightness_contrast:brightness=%.9g,brightness_min=%.9g,contrast=0,p=1",
     POL_LINEAR, 0.0, 0.99, 0},
    {"Contrast", "brightness_contrast:contrast=%.9g,contrast_min=%.9g,brightness=0,p=1",
     POL_LINEAR, 0.0, 0.99, 0},
    {"Sharpness", "sharpness:magnitude=%.9g,magnitude_min=%.9g,p=1", POL_LINEAR, 0.0, 0.99, 0},
    {"Posterize", "posterize:bits=%.9g,p=1", POL_POSTERIZE, 6.0, 0.0, 0},
    {"Solarize", "solarize:threshold=%.9g,p=1", POL_LINEAR, 1.0, 0.0, 0},
    {"AutoContrast", "autocontrast:p=1", POL_FIXED, 0, 0, 0},
    {"Equalize", "equalize:p=1", POL_FIXED, 0, 0, 0},
};
#define TA_NUM_OPS ((int)(sizeof ta_ops / sizeof ta_ops[0]))

static const rg_param_desc ta_params[] = {
    RG_PARAM_INT_DESC("num_magnitude_bins", 31, 2, POL_MAX_BINS, "number of strength bins"),
};

static void ta_destroy(void *inst)
{
    policy *p = inst;
    p->host->free(p); /* the composed augmenters are the host's */
}

static rg_status ta_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    int bins = (int)params->values[0].number;
    policy *p = host->alloc(sizeof *p);
    if (!p) {
        host->set_error("trivial_augment: out of memory");
        return RG_ERR_NOMEM;
    }
    rg_status st = pol_create(p, host, ta_ops, TA_NUM_OPS, bins, 0, bins - 1);
    if (st != RG_OK) {
        host->free(p);
        return st;
    }
    *inst = p;
    return RG_OK;
}

static rg_status ta_apply(void *inst, rg_batch_view *batch, const rg_rng_stream *rng)
{
    policy *p = inst;
    for (int64_t i = 0; i < batch->n; i++) {
        float u[2];
        p->host->rng_uniform(rng, 2 * (uint64_t)i, u, 2);
        int o = (int)(u[0] * (float)TA_NUM_OPS), b = (int)(u[1] * (float)p->bins);
        o = o < TA_NUM_OPS ? o : TA_NUM_OPS - 1;
        b = b < p->bins ? b : p->bins - 1;
        rg_status st = pol_apply_one(p, batch, rng, i, o, b, (uint64_t)i);
        if (st != RG_OK)
            return st;
    }
    return RG_OK;
}

static const rg_augmenter_hooks ta_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = ta_apply,
};

static const rg_plugin_desc ta_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof ta_params / sizeof ta_params[0],
    .name = "trivial_augment",
    .version = "1.0.0",
    .doc = "TrivialAugment: one random op per image at a random strength (Muller & Hutter 2021)",
    .params = ta_params,
    .create = ta_create,
    .destroy = ta_destroy,
    .augmenter = &ta_hooks,
};

RG_DEFINE_PLUGIN(ta_desc)
