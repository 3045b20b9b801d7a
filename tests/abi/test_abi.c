/* ABI stability: what a plugin built against SDK 1.0 relies on must hold in
 * every later 1.x core. A change to sdk/include that moves a 1.0 field,
 * renumbers a constant or breaks a 1.0-built plugin fails here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "layout.h"
#include "plugin/host.h"
#include "plugin/instance.h"
#include "rng.h"
#include "threads.h"

#define ABI_FIX(name) REGULA_TEST_FIXTURES "/../abi-fixtures/" name ".so"

extern const rg_abi_entry rg_layout_v1_1[];
extern const rg_abi_entry rg_layout_v1_2[];
extern const rg_abi_entry rg_layout_v1_3[];
extern const rg_abi_entry rg_layout_v1_4[];
extern const rg_abi_entry rg_layout_v1_5[];

static int compare(const rg_abi_entry *frozen, const char *version)
{
    int checked = 0;
    for (const rg_abi_entry *old = frozen; old->what; old++) {
        const rg_abi_entry *cur = rg_layout_current;
        while (cur->what && strcmp(cur->what, old->what) != 0)
            cur++;
        cr_assert_not_null(cur->what, "%s vanished from the current header", old->what);
        cr_assert_eq(cur->offset_or_value, old->offset_or_value,
                     "%s: %zu in ABI %s, %zu now", old->what, old->offset_or_value, version,
                     cur->offset_or_value);
        cr_assert_eq(cur->size, old->size, "%s: size %zu in ABI %s, %zu now", old->what,
                     old->size, version, cur->size);
        checked++;
    }
    return checked;
}

Test(abi, current_header_keeps_every_1_0_field_and_constant)
{
    cr_assert_gt(compare(rg_layout_v1_0, "1.0"), 100);
}

Test(abi, current_header_keeps_every_1_1_field_and_constant)
{
    int n10 = 0, n11 = compare(rg_layout_v1_1, "1.1");
    for (const rg_abi_entry *e = rg_layout_v1_0; e->what; e++)
        n10++;
    cr_assert_eq(n11, n10 + 8, "the 1.1 table holds %d entries, 1.0's %d", n11, n10);
}

Test(abi, current_header_keeps_every_1_2_field_and_constant)
{
    int n11 = 0, n12 = compare(rg_layout_v1_2, "1.2");
    for (const rg_abi_entry *e = rg_layout_v1_1; e->what; e++)
        n11++;
    cr_assert_eq(n12, n11 + 5, "the 1.2 table holds %d entries, 1.1's %d", n12, n11);
}

static rg_plugin_instance *load(const char *spec, uint32_t kind)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(spec, kind, NULL, &pi), RG_OK, "%s",
                 rg_error_message());
    return pi;
}

/* sdk/template/myreg.c at lambda=0.5 on w = (0, 1, -2): 0.5 * (log cosh 0 + log cosh 1 +
 * log cosh 2), gradient 0.5 * tanh(w) */
static void expect_myreg_penalty(rg_plugin_instance *pi)
{
    float w[3] = {0.0f, 1.0f, -2.0f}, g[3] = {0};
    rg_tensor_view wv = {.struct_size = sizeof wv, .kind = RG_TENSOR_WEIGHT, .ndim = 1,
                         .shape = {3}, .numel = 3, .data = w, .name = "w"};
    rg_tensor_view gv = wv;
    gv.data = g;
    double loss = 0.0;
    cr_assert_eq(pi->plugin->reg.penalty(pi->inst, &wv, &loss, &gv), RG_OK);
    cr_assert_float_eq(loss, 0.5 * (log(cosh(1.0)) + log(cosh(2.0))), 1e-6);
    cr_assert_float_eq(g[2], 0.5f * tanhf(-2.0f), 1e-6);
}

Test(abi, regularizer_built_against_1_0_loads_and_computes)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi10_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_major, 1);
    cr_assert_eq(pi->plugin->abi_minor, 0);
    expect_myreg_penalty(pi);
    rg_plugin_instance_destroy(pi);
}

Test(abi, augmenter_built_against_1_0_loads_and_applies)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi10_myaug") ":sigma=0.2", RG_PLUGIN_AUGMENTER);
    float *x = rg_alloc_floats(4 * 28 * 28), *y = rg_alloc_floats(4 * 10);
    for (int i = 0; i < 4 * 28 * 28; i++)
        x[i] = 0.5f;
    for (int i = 0; i < 4; i++)
        y[i * 10 + i] = 1.0f;
    rg_batch_view b = {sizeof b, 0, 4, 1, 28, 28, x, y, 10};
    rg_rng_stream s;
    rg_rng_stream_init(&s, 1, 0, 0, 7);
    cr_assert_eq(pi->plugin->aug.apply(pi->inst, &b, &s), RG_OK);
    int changed = 0;
    for (int i = 0; i < 4 * 28 * 28; i++) {
        cr_assert(x[i] >= 0.0f && x[i] <= 1.0f);
        changed += x[i] != 0.5f;
    }
    cr_assert_gt(changed, 3000);
    rg_free(x);
    rg_free(y);
    rg_plugin_instance_destroy(pi);
}

Test(abi, fixture_built_against_1_0_passes_the_schema_checks)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(ABI_FIX("abi10_good") ":scale=3", RG_PLUGIN_REGULARIZER,
                                           NULL, &pi),
                 RG_ERR_INVALID);
    cr_assert_str_eq(rg_error_message(), "good: parameter scale=3 is out of range [0, 2]");
    pi = load(ABI_FIX("abi10_good") ":mode=fast,count=10", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->values[2].number, 10);
    rg_plugin_instance_destroy(pi);
}

Test(abi, plugin_built_for_a_newer_minor_is_refused_naming_both_versions)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(ABI_FIX("abi_future_good"), RG_PLUGIN_REGULARIZER,
                                           NULL, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.99 does not fit host ABI 1.6") != NULL,
              "%s", rg_error_message());
    cr_assert(strstr(rg_error_message(), "abi_future_good.so") != NULL, "%s",
              rg_error_message());
}

Test(abi, plugins_built_against_1_1_load_in_the_1_2_host)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi11_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 1);
    cr_assert_null(pi->plugin->desc.state_save, "a 1.1 descriptor has no state hooks");
    rg_plugin_instance_destroy(pi);
    pi = load(ABI_FIX("abi11_good") ":scale=2", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 1);
    rg_plugin_instance_destroy(pi);
}

Test(abi, a_1_2_plugin_is_refused_by_a_1_1_host)
{
    /* an older host: the same table announcing minor 1 */
    rg_host_api old = *rg_host_api_get();
    old.abi_minor = 1;
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/l2sp.so", RG_PLUGIN_REGULARIZER,
                                           &old, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.6 does not fit host ABI 1.1") != NULL,
              "%s", rg_error_message());
}

Test(abi, current_header_keeps_every_1_3_field_and_constant)
{
    int n12 = 0, n13 = compare(rg_layout_v1_3, "1.3");
    for (const rg_abi_entry *e = rg_layout_v1_2; e->what; e++)
        n12++;
    cr_assert_eq(n13, n12 + 2, "the 1.3 table holds %d entries, 1.2's %d", n13, n12);
}

Test(abi, plugins_built_against_1_2_load_in_the_1_3_host)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi12_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 2);
    cr_assert_null(pi->plugin->reg.linear_decay, "a 1.2 hook table has no linear_decay");
    expect_myreg_penalty(pi);
    rg_plugin_instance_destroy(pi);
    pi = load(ABI_FIX("abi12_good") ":scale=2", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 2);
    rg_plugin_instance_destroy(pi);
}

Test(abi, a_1_5_plugin_is_refused_by_a_1_2_host)
{
    rg_host_api old = *rg_host_api_get();
    old.abi_minor = 2;
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/l2.so", RG_PLUGIN_REGULARIZER,
                                           &old, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.6 does not fit host ABI 1.2") != NULL,
              "%s", rg_error_message());
}

/* activity_l1l2 on rows 1..2 of a 4-row batch, a = [[1, -2], [0, 3]], l1 = 0.5, l2 = 0:
 * sum|a| = 6; built against 1.3 it divides by the rows it sees (2), built against 1.4 by the
 * batch's rows (4), which is what makes the processes' penalties add up to one process's. */
static double activity_penalty(const char *path)
{
    char spec[512];
    snprintf(spec, sizeof spec, "%s:l1=0.5,l2=0", path);
    rg_plugin_instance *pi = load(spec, RG_PLUGIN_REGULARIZER);
    float a[4] = {1.0f, -2.0f, 0.0f, 3.0f};
    rg_tensor_view v = {.struct_size = sizeof v, .kind = RG_TENSOR_ACTIVATION, .ndim = 2,
                        .shape = {2, 2}, .numel = 4, .data = a, .name = "relu1"};
    rg_rng_stream s;
    rg_rng_stream_init(&s, 1, 0, 0, 0);
    double state[64];
    rg_activation_ctx ctx = {.struct_size = sizeof ctx, .mode = RG_MODE_TRAIN, .rng = &s,
                             .state = state, .state_bytes = sizeof state, .batch_row0 = 1,
                             .batch_rows = 4};
    cr_assert_eq(pi->plugin->reg.activation_forward(pi->inst, &ctx, &v), RG_OK, "%s",
                 rg_error_message());
    rg_plugin_instance_destroy(pi);
    return ctx.penalty;
}

Test(abi, a_1_3_activation_penalty_loads_in_the_1_4_host_and_ignores_batch_rows)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi13_activity"), RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 3);
    rg_plugin_instance_destroy(pi);
    pi = load(ABI_FIX("abi13_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 3);
    expect_myreg_penalty(pi);
    rg_plugin_instance_destroy(pi);
    cr_assert_float_eq(activity_penalty(ABI_FIX("abi13_activity")), 0.5 * 6.0 / 2.0, 1e-12);
    cr_assert_float_eq(activity_penalty(REGULA_TEST_PLUGINS "/activity_l1l2.so"),
                       0.5 * 6.0 / 4.0, 1e-12);
}

Test(abi, a_1_5_plugin_is_refused_by_a_1_3_host)
{
    rg_host_api old = *rg_host_api_get();
    old.abi_minor = 3;
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/activity_l1l2.so",
                                           RG_PLUGIN_REGULARIZER, &old, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.6 does not fit host ABI 1.3") != NULL,
              "%s", rg_error_message());
}

Test(abi, current_header_keeps_every_1_4_field_and_constant)
{
    int n13 = 0, n14 = compare(rg_layout_v1_4, "1.4");
    for (const rg_abi_entry *e = rg_layout_v1_3; e->what; e++)
        n13++;
    cr_assert_eq(n14, n13 + 3, "the 1.4 table holds %d entries, 1.3's %d", n14, n13);
}

/* 1.5 appended 4 hooks, 3 host services, rg_param_ctx (6 fields) and 3 sizes. */
Test(abi, current_header_keeps_every_1_5_field_and_constant)
{
    int n14 = 0, n15 = compare(rg_layout_v1_5, "1.5");
    for (const rg_abi_entry *e = rg_layout_v1_4; e->what; e++)
        n14++;
    cr_assert_eq(n15, n14 + 16, "the 1.5 table holds %d entries, 1.4's %d", n15, n14);
    cr_assert_eq(RG_REGULARIZER_HOOKS_SIZE_V1_5, sizeof(rg_regularizer_hooks));
}

/* 1.6 appended 3 host services and a size. */
Test(abi, the_1_6_table_appends_the_composition_services)
{
    int n15 = 0, n16 = 0;
    for (const rg_abi_entry *e = rg_layout_v1_5; e->what; e++)
        n15++;
    for (const rg_abi_entry *e = rg_layout_current; e->what; e++)
        n16++;
    cr_assert_eq(n16, n15 + 4, "the current table holds %d entries, 1.5's %d", n16, n15);
    cr_assert_eq(RG_HOST_API_SIZE_V1_6, sizeof(rg_host_api));
    cr_assert_eq(rg_host_api_get()->struct_size, sizeof(rg_host_api));
    cr_assert_not_null(rg_host_api_get()->step_evaluate);
    cr_assert_not_null(rg_host_api_get()->augmenter_apply);
}

Test(abi, plugins_built_against_1_4_load_in_the_1_5_host)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi14_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 4);
    expect_myreg_penalty(pi);
    /* the hooks 1.5 appended read as absent from a 1.4 table */
    cr_assert_null(pi->plugin->reg.weight_forward);
    cr_assert_null(pi->plugin->reg.step_wrap);
    rg_plugin_instance_destroy(pi);
    cr_assert_float_eq(activity_penalty(ABI_FIX("abi14_activity")), 0.5 * 6.0 / 4.0, 1e-12);
}

Test(abi, a_1_5_plugin_is_refused_by_a_1_4_host)
{
    rg_host_api old = *rg_host_api_get();
    old.abi_minor = 4;
    old.struct_size = (uint32_t)RG_SIZE_THROUGH(rg_host_api, num_threads);
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/activity_l1l2.so",
                                           RG_PLUGIN_REGULARIZER, &old, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.6 does not fit host ABI 1.4") != NULL,
              "%s", rg_error_message());
}

Test(abi, plugins_built_against_1_5_load_in_the_1_6_host)
{
    rg_threads_init(2);
    rg_plugin_instance *pi = load(ABI_FIX("abi15_myreg") ":lambda=0.5", RG_PLUGIN_REGULARIZER);
    cr_assert_eq(pi->plugin->abi_minor, 5);
    expect_myreg_penalty(pi);
    rg_plugin_instance_destroy(pi);
    pi = load(ABI_FIX("abi15_myaug"), RG_PLUGIN_AUGMENTER);
    cr_assert_eq(pi->plugin->abi_minor, 5);
    rg_plugin_instance_destroy(pi);
}

Test(abi, a_1_6_plugin_is_refused_by_a_1_5_host)
{
    rg_host_api old = *rg_host_api_get();
    old.abi_minor = 5;
    old.struct_size = (uint32_t)RG_HOST_API_SIZE_V1_5;
    old.augmenter_create = NULL;
    old.augmenter_apply = NULL;
    old.augmenter_destroy = NULL;
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/hflip.so", RG_PLUGIN_AUGMENTER,
                                           &old, &pi),
                 RG_ERR_VERSION);
    cr_assert(strstr(rg_error_message(), "plugin ABI 1.6 does not fit host ABI 1.5") != NULL,
              "%s", rg_error_message());
}
