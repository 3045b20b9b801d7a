#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "param_test_util.h"

rg_param_ctx pt_param_ctx(rg_rng_stream *rng, uint64_t seed, int64_t step, uint64_t site)
{
    rg_rng_stream_init(rng, seed, 0, (uint64_t)step, site);
    rg_param_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.mode = RG_MODE_TRAIN;
    c.rng = rng;
    c.step = step;
    c.lr = 0.05;
    return c;
}

int pt_models_equal(const rg_model *a, const rg_model *b)
{
    cr_assert_eq(a->num_params, b->num_params);
    for (int i = 0; i < a->num_params; i++)
        if (memcmp(a->params[i]->value, b->params[i]->value,
                   (size_t)a->params[i]->numel * sizeof(float)) != 0)
            return 0;
    return 1;
}

double pt_models_max_diff(const rg_model *a, const rg_model *b)
{
    double d = 0.0;
    for (int i = 0; i < a->num_params; i++)
        for (int64_t k = 0; k < a->params[i]->numel; k++)
            d = fmax(d, fabs((double)a->params[i]->value[k] - b->params[i]->value[k]));
    return d;
}

void pt_identity_setting_matches_plain(const char *spec, int epochs)
{
    pt_run plain, reg;
    pt_start(&plain, "mlp:64", 5, 2000, NULL);
    pt_start(&reg, "mlp:64", 5, 2000, spec);
    pt_train(&plain, epochs);
    pt_train(&reg, epochs);
    cr_assert(pt_models_equal(plain.model, reg.model),
              "%s changed the weights (largest difference %g)", spec,
              pt_models_max_diff(plain.model, reg.model));
    cr_assert(memcmp(&plain.last.val_loss, &reg.last.val_loss, sizeof(double)) == 0);
    pt_finish(&plain);
    pt_finish(&reg);
}
