/* What the end-to-end tests share: a scratch directory per test, and the comparison of two
 * checkpoints tensor by tensor, bit for bit. Header-only, each test file is one program. */
#ifndef RG_TESTS_E2E_H
#define RG_TESTS_E2E_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "train/checkpoint.h"

#define REGULA REGULA_TEST_BIN "/regula"

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/regula-e2e-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Every tensor of checkpoint a is in b with the same bits; returns how many tensors have
 * `tag` in their name (e.g. "#slot"). */
__attribute__((unused)) static int assert_same_checkpoints(const char *a, const char *b,
                                                  const char *tag)
{
    rg_checkpoint *ca = NULL, *cb = NULL;
    cr_assert_eq(rg_checkpoint_read(a, &ca), RG_OK, "%s", rg_error_message());
    cr_assert_eq(rg_checkpoint_read(b, &cb), RG_OK, "%s", rg_error_message());
    cr_assert_eq(ca->count, cb->count);
    int tagged = 0;
    for (int i = 0; i < ca->count; i++) {
        const rg_ckpt_tensor *x = &ca->tensors[i], *y = rg_checkpoint_find(cb, x->name);
        cr_assert_not_null(y, "%s missing", x->name);
        cr_assert_eq(x->numel, y->numel);
        cr_assert_eq(memcmp(x->data, y->data, (size_t)x->numel * sizeof(float)), 0,
                     "%s differs between the runs", x->name);
        tagged += tag && strstr(x->name, tag) != NULL;
    }
    rg_checkpoint_free(ca);
    rg_checkpoint_free(cb);
    return tagged;
}

#endif
