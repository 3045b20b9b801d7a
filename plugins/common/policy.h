/* An augmentation policy that composes installed augmenters (ABI 1.6 host services
 * augmenter_create / augmenter_apply): the operation table of torchvision's RandAugment and
 * TrivialAugmentWide (torchvision/transforms/autoaugment.py, _augmentation_space), each op
 * expressed as a stock augmenter at a fixed strength.
 *
 * An op's strength at bin b of `bins` is torchvision's: linspace(lo, hi, bins)[b], or for
 * posterize 8 - round(b / ((bins - 1) / span)) bits. A signed op (rotate, shear, translate,
 * brightness, contrast, sharpness) is created with its magnitude interval pinned to that
 * value (degrees_min = degrees, ...), and the stock augmenter draws the random sign itself,
 * as torchvision's `if signed and torch.randint(2, (1,)): magnitude *= -1`.
 * Shear magnitudes are shear factors s, as in torchvision, which shears by atan(s) degrees
 * about the top-left corner (pivot=corner). The stock augmenters sample bilinearly where
 * torchvision's policies default to nearest-neighbour interpolation.
 * Translation is a fraction of the image side: RandAugment's 150/331 of it; TrivialAugment's
 * 32 pixels, on the 32x32 images it was tuned on, a whole side.
 * torchvision's Color (saturation) op is left out: this table serves images of any channel
 * count and the stock plugins have no saturation augmenter; on a one-channel image it is
 * the identity anyway.
 *
 * Each image is augmented on its own (a one-image view of the batch), its ops drawn from the
 * policy's stream at positions fixed per image, each op applied with key (image, op slot):
 * results do not depend on the thread count. */
#ifndef REGULA_PLUGINS_POLICY_H
#define REGULA_PLUGINS_POLICY_H

#include <math.h>
#include <regula/plugin.h>
#include <stdio.h>
#include <string.h>

enum { POL_LINEAR = 0, POL_POSTERIZE = 1, POL_FIXED = 2 };

typedef struct pol_op {
    const char *name;  /* torchvision's op name, for messages */
    const char *spec;  /* the augmenter, a %.9g for the strength when not POL_FIXED */
    int kind;
    double lo, hi;     /* POL_LINEAR: strength at bin 0 and at the last bin; POL_POSTERIZE: span */
    int shear;         /* the strength is a shear factor: the spec takes atan(s) in degrees */
} pol_op;

#define POL_MAX_OPS 16
#define POL_MAX_BINS 101

typedef struct policy {
    const rg_host_api *host;
    const pol_op *ops;
    int num_ops;
    int bins;           /* magnitude bins per op */
    int first_bin, last_bin; /* bins created: RandAugment one, TrivialAugment all */
    /* refs[o][b - first_bin]; NULL = the identity */
    rg_augmenter_ref *refs[POL_MAX_OPS][POL_MAX_BINS];
} policy;

static double pol_strength(const pol_op *op, int bin, int bins)
{
    if (op->kind == POL_POSTERIZE)
        return 8.0 - round((double)bin / ((double)(bins - 1) / op->lo));
    double v = op->lo + (op->hi - op->lo) * (double)bin / (double)(bins - 1);
    return op->shear ? atan(v) * 180.0 / 3.14159265358979323846 : v;
}

/* Creates the ops' augmenters for bins [first, last] (one per distinct spec of an op). */
static rg_status pol_create(policy *p, const rg_host_api *host, const pol_op *ops, int num_ops,
                            int bins, int first, int last)
{
    memset(p, 0, sizeof *p);
    p->host = host;
    p->ops = ops;
    p->num_ops = num_ops;
    p->bins = bins;
    p->first_bin = first;
    p->last_bin = last;
    if (!RG_HAS_FIELD(host, rg_host_api, augmenter_destroy) || !host->augmenter_create ||
        !host->augmenter_apply) {
        host->set_error("the host does not offer the ABI 1.6 composition services");
        return RG_ERR_VERSION;
    }
    for (int o = 0; o < num_ops; o++) {
        if (!ops[o].spec)
            continue;
        char prev[256] = "";
        rg_augmenter_ref *prev_ref = NULL;
        for (int b = first; b <= last; b++) {
            char spec[256];
            double v = pol_strength(&ops[o], b, bins);
            if (ops[o].kind == POL_FIXED)
                snprintf(spec, sizeof spec, "%s", ops[o].spec);
            else
                snprintf(spec, sizeof spec, ops[o].spec, v, v);
            if (prev_ref && strcmp(spec, prev) == 0) {
                p->refs[o][b - first] = prev_ref;
                continue;
            }
            /* the host has described a failure; it names this plugin and the spec */
            rg_status st = host->augmenter_create(spec, &p->refs[o][b - first]);
            if (st != RG_OK)
                return st;
            prev_ref = p->refs[o][b - first];
            snprintf(prev, sizeof prev, "%s", spec);
        }
    }
    return RG_OK;
}

/* Applies op `o` at bin `bin` to image i of the batch, keyed (i, slot). */
static rg_status pol_apply_one(const policy *p, rg_batch_view *b, const rg_rng_stream *rng,
                               int64_t i, int o, int bin, uint64_t key)
{
    rg_augmenter_ref *ref = p->refs[o][bin - p->first_bin];
    if (!ref)
        return RG_OK;
    int64_t pix = b->c * b->h * b->w;
    rg_batch_view one = *b;
    one.n = 1;
    one.data = b->data + i * pix;
    one.labels = b->labels ? b->labels + i * b->num_classes : NULL;
    return p->host->augmenter_apply(ref, &one, rng, key);
}

#endif
