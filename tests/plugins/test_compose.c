/* The ABI 1.6 composition services (host->augmenter_create / augmenter_apply), through
 * tests/fixtures/fixture_compose.c: what an augmenter composes runs as itself, draws from
 * a stream of its own per key, belongs to the host, and the host refuses what cannot work
 * (creating in apply(), composing a regularizer or a missing file, a policy composing
 * itself) with a message naming the spec. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aug_test_util.h"
#include "error.h"
#include "plugin/compose.h"
#include "plugin/host.h"
#include "rng.h"
#include "threads.h"

#define A RG_PLUGIN_AUGMENTER
#define FX REGULA_TEST_FIXTURES "/fixture_compose.so"

static rg_plugin_instance *load(const char *spec)
{
    rg_plugin_instance *pi = NULL;
    rg_error_clear();
    cr_assert_eq(rg_plugin_instance_create(spec, A, NULL, &pi), RG_OK, "%s: %s", spec,
                 rg_error_message());
    return pi;
}

static const char *load_fails(const char *spec)
{
    rg_plugin_instance *pi = NULL;
    rg_error_clear();
    cr_assert_neq(rg_plugin_instance_create(spec, A, NULL, &pi), RG_OK, "%s was accepted", spec);
    cr_assert_null(pi);
    return rg_error_message();
}

Test(compose, a_composed_hflip_flips_every_image_and_belongs_to_the_host)
{
    rg_threads_init(1);
    int64_t held = rg_host_bytes_held();
    rg_plugin_instance *pi = load(FX ":target=hflip");
    char specs[512];
    cr_assert_eq(rg_compose_owned(pi->inst, specs, sizeof specs), 1);
    cr_assert(strstr(specs, "/hflip.so:p=1") != NULL, "%s", specs);
    const int64_t n = 5, h = 4, w = 6, k = 3;
    float *x = pt_floats(n * h * w), *y = pt_floats(n * h * w), *t = pt_one_hot(n, k);
    pt_fill(x, n * h * w, 3, 0.0f, 1.0f);
    memcpy(y, x, (size_t)(n * h * w) * sizeof(float));
    pt_aug_run(pi, y, t, n, 1, h, w, k, 1, 0);
    for (int64_t i = 0; i < n; i++)
        for (int64_t r = 0; r < h; r++)
            for (int64_t c = 0; c < w; c++)
                cr_assert_eq(y[(i * h + r) * w + c], x[(i * h + r) * w + (w - 1 - c)],
                             "image %lld row %lld column %lld", (long long)i, (long long)r,
                             (long long)c);
    void *inst = pi->inst;
    rg_plugin_instance_destroy(pi);
    /* the fixture never destroys what it composed: the host did, after its destroy() */
    cr_assert_eq(rg_compose_owned(inst, specs, sizeof specs), 0);
    cr_assert_eq(rg_host_bytes_held(), held, "%lld bytes still held",
                 (long long)(rg_host_bytes_held() - held));
    rg_free(x);
    rg_free(y);
    rg_free(t);
}

/* Eight equal images through a composed pixel_noise: image i is keyed i, so the eight get
 * eight different noises; with one key for all they get the same. Neither is the noise
 * pixel_noise draws from the parent's stream itself. 1 and 2 threads agree. */
Test(compose, each_key_draws_its_own_stream_and_the_same_key_the_same)
{
    const int64_t n = 8, h = 5, w = 5, pix = h * w, k = 2;
    float *t = pt_one_hot(n, k);
    float *x[4];
    const char *specs[4] = {FX ":target=noise", FX ":target=noise,same_key=1", FX ":target=noise",
                            REGULA_TEST_PLUGINS "/pixel_noise.so:stddev=0.1"};
    for (int v = 0; v < 4; v++) {
        rg_threads_init(v == 2 ? 2 : 1);
        x[v] = pt_floats(n * pix);
        for (int64_t q = 0; q < n * pix; q++)
            x[v][q] = 0.5f;
        rg_plugin_instance *pi = load(specs[v]);
        pt_aug_run(pi, x[v], t, n, 1, h, w, k, 9, 4);
        rg_plugin_instance_destroy(pi);
    }
    for (int64_t i = 1; i < n; i++) {
        cr_assert(memcmp(x[0], x[0] + i * pix, (size_t)pix * sizeof(float)) != 0,
                  "keys 0 and %lld drew the same noise", (long long)i);
        cr_assert(memcmp(x[1], x[1] + i * pix, (size_t)pix * sizeof(float)) == 0,
                  "key 0 drew different noise for image %lld", (long long)i);
    }
    cr_assert(memcmp(x[0], x[2], (size_t)(n * pix) * sizeof(float)) == 0, "1 and 2 threads differ");
    cr_assert(memcmp(x[0], x[3], (size_t)pix * sizeof(float)) != 0,
              "the composed noise of key 0 is the parent stream's own");
    for (int v = 0; v < 4; v++)
        rg_free(x[v]);
    rg_free(t);
}

Test(compose, creating_in_apply_is_refused)
{
    rg_threads_init(1);
    rg_plugin_instance *pi = load(FX ":target=hflip,when=apply");
    float *x = pt_floats(16), *t = pt_one_hot(1, 2);
    rg_batch_view b = {sizeof b, 0, 1, 1, 4, 4, x, t, 2};
    rg_rng_stream s;
    rg_rng_stream_init(&s, 1, 0, 0, RG_SITE_AUGMENT);
    rg_error_clear();
    cr_assert_eq(pi->plugin->aug.apply(pi->inst, &b, &s), RG_ERR_INVALID);
    cr_assert(strstr(rg_error_message(), "/hflip.so:p=1\") outside create()") != NULL, "%s",
              rg_error_message());
    rg_plugin_instance_destroy(pi);
    rg_free(x);
    rg_free(t);
}

Test(compose, a_regularizer_a_missing_file_and_self_composition_are_refused_by_name)
{
    const char *m = load_fails(FX ":target=regularizer");
    cr_assert(strstr(m, "plugin compose: augmenter_create(\"") != NULL, "%s", m);
    cr_assert(strstr(m, "plugin l2 is a regularizer") != NULL, "%s", m);
    m = load_fails(FX ":target=missing");
    cr_assert(strstr(m, "no_such_plugin.so") != NULL, "%s", m);
    m = load_fails(FX ":target=self");
    cr_assert(strstr(m, "augmenters composed more than 4 deep") != NULL, "%s", m);
    /* nothing composed on the way is left behind */
    cr_assert_eq(rg_host_bytes_held(), 0, "%lld bytes held", (long long)rg_host_bytes_held());
}

Test(compose, the_host_offers_the_services_from_minor_6_only)
{
    rg_host_api h;
    rg_host_api_make(&h, 5);
    cr_assert_null(h.augmenter_create);
    cr_assert_null(h.augmenter_apply);
    rg_host_api_make(&h, 6);
    cr_assert_not_null(h.augmenter_create);
    cr_assert_not_null(h.augmenter_apply);
    cr_assert_not_null(h.augmenter_destroy);
}
