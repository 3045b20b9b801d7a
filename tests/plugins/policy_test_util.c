#include "policy_test_util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "error.h"
#include "plugin/compose.h"
#include "rng.h"

/* torchvision's op order without Color: Identity, ShearX, ShearY, TranslateX, TranslateY,
 * Rotate, Brightness, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize */
const char *pol_expected_spec(int op, int bin, int bins, int wide)
{
    static char buf[256];
    /* linspace(0, hi, bins)[bin] = hi * bin / (bins - 1) */
    double b = (double)bin, d = (double)(bins - 1), f = b / d;
    double shear = (wide ? 0.99 : 0.3) * b / d, trans = (wide ? 1.0 : 150.0 / 331.0) * b / d;
    double rot = (wide ? 135.0 : 30.0) * b / d, enh = (wide ? 0.99 : 0.9) * b / d;
    double deg = atan(shear) * 180.0 / M_PI;
    int bits = 8 - (int)round(b / (d / (wide ? 6.0 : 4.0)));
    switch (op) {
    case 0: return NULL;
    case 1: snprintf(buf, sizeof buf, "shear:axis=x,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1", deg, deg); break;
    case 2: snprintf(buf, sizeof buf, "shear:axis=y,pivot=corner,degrees=%.9g,degrees_min=%.9g,p=1", deg, deg); break;
    case 3: snprintf(buf, sizeof buf, "translate:axis=x,fraction=%.9g,fraction_min=%.9g,p=1", trans, trans); break;
    case 4: snprintf(buf, sizeof buf, "translate:axis=y,fraction=%.9g,fraction_min=%.9g,p=1", trans, trans); break;
    case 5: snprintf(buf, sizeof buf, "rotate:degrees=%.9g,degrees_min=%.9g,p=1", rot, rot); break;
    case 6: snprintf(buf, sizeof buf, "brightness_contrast:brightness=%.9g,brightness_min=%.9g,contrast=0,p=1", enh, enh); break;
    case 7: snprintf(buf, sizeof buf, "brightness_contrast:contrast=%.9g,contrast_min=%.9g,brightness=0,p=1", enh, enh); break;
    case 8: snprintf(buf, sizeof buf, "sharpness:magnitude=%.9g,magnitude_min=%.9g,p=1", enh, enh); break;
    case 9: snprintf(buf, sizeof buf, "posterize:bits=%d,p=1", bits); break;
    case 10: snprintf(buf, sizeof buf, "solarize:threshold=%.9g,p=1", 1.0 - f); break; /* 255 -> 0 */
    case 11: return "autocontrast:p=1";
    default: return "equalize:p=1";
    }
    return buf;
}

void pol_expect_image(const char *spec, const float *x, const float *y, int64_t i, int64_t c,
                      int64_t h, int64_t w, int64_t k, uint64_t seed, uint64_t step,
                      uint64_t key)
{
    int64_t pix = c * h * w;
    if (!spec) {
        cr_assert(memcmp(x + i * pix, y + i * pix, (size_t)pix * sizeof(float)) == 0,
                  "image %lld: the identity changed it", (long long)i);
        return;
    }
    /* the op alone, created and applied through the host service as the policy does */
    rg_compose_mark mark;
    rg_compose_begin(&mark, "test", RG_PLUGIN_AUGMENTER, NULL);
    rg_augmenter_ref *ref = NULL;
    rg_error_clear();
    rg_status st = rg_host_augmenter_create(spec, &ref);
    cr_assert_eq(st, RG_OK, "%s: %s", spec, rg_error_message());
    float *one = pt_floats(pix), *lab = pt_one_hot(1, k);
    memcpy(one, x + i * pix, (size_t)pix * sizeof(float));
    rg_batch_view b = {sizeof b, 0, 1, c, h, w, one, lab, k};
    rg_rng_stream s;
    rg_rng_stream_init(&s, seed, 0, step, RG_SITE_AUGMENT);
    cr_assert_eq(rg_host_augmenter_apply(ref, &b, &s, key), RG_OK, "%s", rg_error_message());
    cr_assert(memcmp(one, y + i * pix, (size_t)pix * sizeof(float)) == 0,
              "image %lld is not %s applied to it with key %llu", (long long)i, spec,
              (unsigned long long)key);
    rg_host_augmenter_destroy(ref);
    rg_compose_end(&mark, NULL);
    rg_free(one);
    rg_free(lab);
}
