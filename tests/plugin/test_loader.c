/* The plugin loader accepts a well-formed plugin and refuses each broken
 * one with a message that names the file, the problem and the fix. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "plugin/host.h"
#include "plugin/loader.h"

#define FIX(name) REGULA_TEST_FIXTURES "/fixture_" name ".so"

static void assert_message_contains(const char *needle)
{
    cr_assert(strstr(rg_error_message(), needle) != NULL, "message '%s' lacks '%s'",
              rg_error_message(), needle);
}

Test(loader, loads_a_good_plugin_with_its_schema)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), NULL, &p), RG_OK, "%s", rg_error_message());
    cr_assert_str_eq(p->desc.name, "good");
    cr_assert_eq(p->desc.kind, RG_PLUGIN_REGULARIZER);
    cr_assert_eq(p->abi_major, 1);
    cr_assert_eq(p->abi_minor, REGULA_ABI_MINOR);
    cr_assert_eq(p->num_params, 5);
    cr_assert_str_eq(p->params[2].name, "count");
    cr_assert_eq(p->params[2].type, RG_PARAM_INT);
    cr_assert_not_null(p->reg.penalty);
    cr_assert_null(p->reg.project);
    rg_plugin_unload(p);
}

Test(loader, refuses_a_library_without_the_entry_symbol)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("no_entry"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("fixture_no_entry.so: not a regula plugin: no exported symbol "
                            "regula_plugin_entry_v1");
    assert_message_contains("RG_DEFINE_PLUGIN");
}

Test(loader, refuses_a_plugin_of_another_abi_major_naming_both_versions)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("wrong_major"), NULL, &p), RG_ERR_VERSION);
    assert_message_contains("fixture_wrong_major.so: plugin ABI 2.0 does not fit host ABI 1.1");
    assert_message_contains("rebuild the plugin against regula SDK 1.x");
}

Test(loader, refuses_a_descriptor_smaller_than_abi_1_0)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("small_desc"), NULL, &p), RG_ERR_PLUGIN);
    char expected[160];
    snprintf(expected, sizeof expected,
             "descriptor struct_size 24 is smaller than the ABI 1.0 size %zu",
             (size_t)RG_PLUGIN_DESC_SIZE_V1_0);
    assert_message_contains(expected);
}

Test(loader, refuses_a_schema_whose_default_is_out_of_range)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("bad_default"), NULL, &p), RG_ERR_PLUGIN);
    assert_message_contains("parameter lambda: default 5 lies outside its range [0, 1]");
}

Test(loader, reports_a_missing_file)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load("/nonexistent/dir/x.so", NULL, &p), RG_ERR_IO);
    assert_message_contains("/nonexistent/dir/x.so: cannot load plugin");
}

Test(loader, reports_a_file_that_is_not_a_shared_object)
{
    char path[] = "/tmp/regula-notelf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "hello\n", 6), 6);
    close(fd);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(path, NULL, &p), RG_ERR_IO);
    assert_message_contains("cannot load plugin");
    unlink(path);
}

Test(loader, sdk_entry_refuses_a_host_of_another_major)
{
    /* The RG_DEFINE_PLUGIN side of the negotiation: a host speaking ABI 2
     * gets RG_ERR_VERSION and the plugin's own version back. */
    void *h = dlopen(FIX("good"), RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h);
    rg_plugin_entry_fn entry;
    void *sym = dlsym(h, REGULA_PLUGIN_ENTRY_NAME);
    cr_assert_not_null(sym);
    memcpy(&entry, &sym, sizeof entry);
    rg_host_api api;
    rg_host_api_make(&api, 0);
    rg_negotiation neg = {sizeof neg, 2, 0, 0, 0};
    const rg_plugin_desc *d = NULL;
    cr_assert_eq(entry(&api, &neg, &d), RG_ERR_VERSION);
    cr_assert_eq(neg.plugin_major, 1);
    cr_assert_null(d);
    assert_message_contains("plugin built for ABI 1.1, host offers 2.0");
}

Test(loader, create_and_destroy_return_every_host_byte)
{
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), NULL, &p), RG_OK);
    int64_t before = rg_host_bytes_held();
    rg_param_value v[5] = {{1.0, NULL}, {0.5, NULL}, {3, NULL}, {0, NULL}, {1, "exact"}};
    rg_params prm = {sizeof prm, 5, v};
    for (int i = 0; i < 100; i++) {
        void *inst = NULL;
        cr_assert_eq(p->desc.create(rg_host_api_get(), &prm, &inst), RG_OK);
        cr_assert_gt(rg_host_bytes_held(), before);
        p->desc.destroy(inst);
    }
    cr_assert_eq(rg_host_bytes_held(), before);
    rg_plugin_unload(p);
}

Test(loader, a_host_older_than_the_plugin_minor_is_refused_both_ways)
{
    /* good.so is built against today's header (1.1); a 1.0 host must refuse
     * it cleanly, and the plugin's own entry refuses the host as well. */
    rg_host_api old;
    rg_host_api_make(&old, 0);
    rg_plugin *p = NULL;
    cr_assert_eq(rg_plugin_load(FIX("good"), &old, &p), RG_ERR_VERSION);
    assert_message_contains("fixture_good.so: plugin ABI 1.1 does not fit host ABI 1.0");
    assert_message_contains("rebuild the plugin against regula SDK 1.x (minor <= 0)");
}
