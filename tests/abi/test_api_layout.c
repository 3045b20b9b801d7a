/* The embedding API's compatibility promise: a program compiled against the 0.2 header
 * (frozen in tests/abi/v0.2) sees the same struct layouts and constants in today's. */
#include <criterion/criterion.h>
#include <string.h>

#include "layout.h"

extern const rg_abi_entry rg_api_layout_v0_2[];
extern const rg_abi_entry rg_api_layout_current[];

static const rg_abi_entry *find(const rg_abi_entry *t, const char *what)
{
    for (; t->what; t++)
        if (!strcmp(t->what, what))
            return t;
    return NULL;
}

Test(api_layout, every_0_2_field_and_constant_is_unchanged)
{
    int n = 0;
    for (const rg_abi_entry *e = rg_api_layout_v0_2; e->what; e++, n++) {
        const rg_abi_entry *now = find(rg_api_layout_current, e->what);
        cr_assert_not_null(now, "%s is gone from regula.h", e->what);
        cr_assert_eq(now->offset_or_value, e->offset_or_value, "%s moved: %zu in 0.2, %zu now",
                     e->what, e->offset_or_value, now->offset_or_value);
        cr_assert_eq(now->size, e->size, "%s changed size: %zu in 0.2, %zu now", e->what,
                     e->size, now->size);
    }
    cr_assert_gt(n, 70, "the table lists %d entries", n);
}

Test(api_layout, the_comparison_sees_a_moved_field)
{
    /* what a broken header would look like: the check above must catch it */
    const rg_abi_entry *a = find(rg_api_layout_current, "rg_run_result.test");
    const rg_abi_entry *b = find(rg_api_layout_current, "rg_run_result.val");
    cr_assert(a && b);
    cr_assert_neq(a->offset_or_value, b->offset_or_value);
}
