/* The training step allocates nothing once buffers are sized: every
 * malloc-family call made by regula's own code (linked statically here and
 * wrapped with ld --wrap) is counted during a second epoch, and must be 0.
 * OpenBLAS and libgomp are shared libraries and stay out of the count. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "idx.h"
#include "model/model.h"
#include "threads.h"
#include "train/train.h"

static volatile int counting;
static volatile long calls;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
    if (counting)
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    if (counting)
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (counting)
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (counting)
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return __real_aligned_alloc(a, n);
}

Test(steady_state, the_wrapper_sees_allocations_by_regula_code)
{
    /* Proves the counter can fail: rg_alloc goes through aligned_alloc. */
    counting = 1;
    calls = 0;
    rg_dataset *ds = NULL;
    rg_status st = rg_dataset_open_idx("/nonexistent", "train", &ds);
    void *p = __wrap_malloc(16);
    free(p);
    counting = 0;
    cr_assert_neq(st, RG_OK);
    cr_assert_geq(calls, 1);
}

Test(steady_state, a_training_epoch_allocates_nothing_after_the_first, .timeout = 300)
{
    const char *dir = getenv("REGULA_DATA");
    rg_dataset *train = NULL;
    cr_assert_eq(rg_dataset_open_idx(dir && *dir ? dir : "/usr/share/datasets/fashion-mnist",
                                     "train", &train),
                 RG_OK, "%s", rg_error_message());
    rg_threads_init(2);
    rg_train_config cfg;
    rg_train_config_defaults(&cfg);
    cfg.train_limit = 2000;
    /* a layer of 1.2M weights: more than the l2 plugin's stack of partial sums */
    cr_assert_eq(rg_plugin_instance_create(REGULA_TEST_PLUGINS "/l2.so:lambda=1e-4",
                                           RG_PLUGIN_REGULARIZER, NULL, &cfg.regs[0]),
                 RG_OK, "%s", rg_error_message());
    cfg.num_regs = 1;
    rg_model_spec spec;
    rg_model *m = NULL;
    rg_trainer *t = NULL;
    cr_assert_eq(rg_model_spec_parse("mlp:1536,64", &spec), RG_OK);
    cr_assert_eq(rg_model_build(&spec, (rg_shape){784, 1, 1, 1}, 10, &m), RG_OK);
    rg_model_init_params(m, 1);
    cr_assert_eq(rg_trainer_create(m, train, &cfg, &t), RG_OK, "%s", rg_error_message());
    rg_epoch_stats s;
    cr_assert_eq(rg_trainer_run_epoch(t, &s), RG_OK, "%s", rg_error_message());
    calls = 0;
    counting = 1;
    rg_status st = rg_trainer_run_epoch(t, &s);
    counting = 0;
    cr_assert_eq(st, RG_OK, "%s", rg_error_message());
    cr_assert_eq(calls, 0, "%ld allocations during a steady-state epoch", (long)calls);
    rg_trainer_destroy(t);
    rg_model_destroy(m);
    rg_plugin_instance_destroy(cfg.regs[0]);
    rg_dataset_destroy(train);
}
