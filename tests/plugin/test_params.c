/* The host enforces each plugin's parameter schema: every plugin gets the
 * same exact error for bad input, before its create() ever runs. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "plugin/discovery.h"
#include "plugin/instance.h"
#include "plugin/loader.h"

#define GOOD REGULA_TEST_FIXTURES "/fixture_good.so"

static rg_plugin *pl;
static rg_param_value values[RG_PLUGIN_MAX_PARAMS];
static char storage[512];
static rg_selection sel;

static void setup(void)
{
    cr_assert_eq(rg_plugin_load(GOOD, NULL, &pl), RG_OK, "%s", rg_error_message());
}

static void teardown(void)
{
    rg_plugin_unload(pl);
}

static rg_status parse(const char *text)
{
    return rg_params_parse(pl, text, values, storage, sizeof storage, &sel);
}

static void expect_error(const char *text, const char *message)
{
    cr_assert_eq(parse(text), RG_ERR_INVALID, "'%s' was accepted", text);
    cr_assert_str_eq(rg_error_message(), message);
}

TestSuite(params, .init = setup, .fini = teardown);

Test(params, empty_text_gives_the_schema_defaults)
{
    cr_assert_eq(parse(""), RG_OK);
    cr_assert_eq(values[0].number, 0.5);
    cr_assert_eq(values[2].number, 3);
    cr_assert_eq(values[3].number, 0);
    cr_assert_eq(values[4].number, 1);
    cr_assert_str_eq(values[4].string, "exact");
    cr_assert_eq(sel.tensors, RG_SEL_WEIGHTS, "biases must be excluded by default");
    cr_assert_str_eq(sel.layers, "");
}

Test(params, every_type_parses)
{
    cr_assert_eq(parse("scale=1.25,rate=0.1,count=7,flag=true,mode=fast"), RG_OK, "%s",
                 rg_error_message());
    cr_assert_eq(values[0].number, 1.25);
    cr_assert_eq(values[1].number, 0.1);
    cr_assert_eq(values[2].number, 7);
    cr_assert_eq(values[3].number, 1);
    cr_assert_eq(values[4].number, 0);
    cr_assert_str_eq(values[4].string, "fast");
}

Test(params, range_ends_are_inclusive_unless_flagged)
{
    cr_assert_eq(parse("scale=0"), RG_OK);
    cr_assert_eq(parse("scale=2"), RG_OK);
    cr_assert_eq(parse("rate=0"), RG_OK);
    expect_error("rate=1", "good: parameter rate=1 is out of range [0, 1)");
}

Test(params, out_of_range_value_is_refused)
{
    expect_error("scale=3", "good: parameter scale=3 is out of range [0, 2]");
    expect_error("scale=-0.5", "good: parameter scale=-0.5 is out of range [0, 2]");
    expect_error("count=11", "good: parameter count=11 is out of range [1, 10]");
}

Test(params, unknown_parameter_lists_the_known_ones)
{
    expect_error("bogus=1", "good: unknown parameter 'bogus' (known: scale, rate, count, flag, "
                            "mode, layers, tensors, after)");
}

Test(params, malformed_values_are_refused)
{
    expect_error("scale=abc", "good: parameter scale=abc is not a number");
    expect_error("scale=", "good: parameter scale= is not a number");
    expect_error("scale=1x", "good: parameter scale=1x is not a number");
    expect_error("scale=nan", "good: parameter scale=nan is not a number");
    expect_error("scale=inf", "good: parameter scale=inf is not a number");
    expect_error("count=2.5", "good: parameter count=2.5 is not an integer");
    expect_error("flag=maybe", "good: parameter flag=maybe is not a bool (true/false)");
    expect_error("mode=slow", "good: parameter mode=slow: expected one of fast, exact");
}

Test(params, structure_errors_are_refused)
{
    expect_error("scale", "good: expected key=value, got 'scale'");
    expect_error("=1", "good: expected key=value, got '=1'");
    expect_error("scale=1,scale=2", "good: parameter scale given twice");
    expect_error("scale=1,", "good: trailing comma in parameters");
}

Test(params, host_selection_keys_never_reach_the_plugin)
{
    cr_assert_eq(parse("layers=dense1|dense3,tensors=all,scale=1"), RG_OK, "%s",
                 rg_error_message());
    cr_assert_str_eq(sel.layers, "dense1|dense3");
    cr_assert_eq(sel.tensors, RG_SEL_WEIGHTS | RG_SEL_BIASES);
    cr_assert_eq(parse("tensors=biases"), RG_OK);
    cr_assert_eq(sel.tensors, RG_SEL_BIASES);
    expect_error("tensors=kernels", "good: tensors=kernels: expected weights, biases or all "
                                    "('|' joins)");
}

Test(params, selection_globs_match_layer_names)
{
    cr_assert(rg_selection_match("dense*", "dense12"));
    cr_assert(rg_selection_match("relu1|dense2", "dense2"));
    cr_assert_not(rg_selection_match("relu1|dense2", "dense1"));
    cr_assert_not(rg_selection_match("dense", "dense1"));
}

Test(instance, spec_with_a_path_and_parameters_creates_the_plugin)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(GOOD ":scale=1.5", RG_PLUGIN_REGULARIZER, NULL, &pi),
                 RG_OK, "%s", rg_error_message());
    cr_assert_eq(pi->values[0].number, 1.5);
    cr_assert_not_null(pi->inst);
    rg_plugin_instance_destroy(pi);
}

Test(instance, a_regularizer_is_refused_where_an_augmenter_is_expected)
{
    rg_plugin_instance *pi = NULL;
    cr_assert_eq(rg_plugin_instance_create(GOOD, RG_PLUGIN_AUGMENTER, NULL, &pi),
                 RG_ERR_INVALID);
    cr_assert(strstr(rg_error_message(), "plugin good is a regularizer, not a augmenter") ||
                  strstr(rg_error_message(), "is a regularizer"),
              "%s", rg_error_message());
}

Test(discovery, finds_a_plugin_by_name_in_regula_plugin_path)
{
    setenv("REGULA_PLUGIN_PATH", "/nonexistent:" REGULA_TEST_FIXTURES, 1);
    char path[PATH_MAX];
    cr_assert_eq(rg_plugin_resolve("fixture_good", path, sizeof path), RG_OK, "%s",
                 rg_error_message());
    cr_assert(strstr(path, "/fixture_good.so") != NULL, "%s", path);
}

Test(discovery, unknown_name_says_where_it_looked)
{
    setenv("REGULA_PLUGIN_PATH", REGULA_TEST_FIXTURES, 1);
    char path[PATH_MAX];
    cr_assert_eq(rg_plugin_resolve("no_such_plugin", path, sizeof path), RG_ERR_INVALID);
    cr_assert(strstr(rg_error_message(), "unknown plugin 'no_such_plugin': no no_such_plugin.so "
                                         "in ") != NULL,
              "%s", rg_error_message());
    cr_assert(strstr(rg_error_message(), "fixtures") != NULL, "%s", rg_error_message());
}

Test(discovery, never_searches_the_current_directory)
{
    /* A plugin sitting in the working directory is not found by name. */
    setenv("REGULA_PLUGIN_PATH", "", 1);
    cr_assert_eq(chdir(REGULA_TEST_FIXTURES), 0);
    char path[PATH_MAX];
    cr_assert_eq(rg_plugin_resolve("fixture_good", path, sizeof path), RG_ERR_INVALID);
}

Test(discovery, listing_is_sorted_and_marks_duplicates_shadowed)
{
    char dir[] = "/tmp/regula-dup-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/fixture_good.so", dir);
    cr_assert_eq(symlink(GOOD, link), 0);
    char env[PATH_MAX * 2];
    snprintf(env, sizeof env, "%s:%s", REGULA_TEST_FIXTURES, dir);
    setenv("REGULA_PLUGIN_PATH", env, 1);
    rg_plugin_listing list;
    rg_plugin_list(&list);
    int first_dir = 0, shadowed = 0;
    for (int i = 0; i < list.count; i++) {
        if (strstr(list.item[i].path, "/fixtures/"))
            first_dir++;
        if (strcmp(list.item[i].name, "fixture_good") == 0 && strstr(list.item[i].path, dir))
            shadowed = list.item[i].shadowed;
    }
    cr_assert_geq(first_dir, 5);
    for (int i = 1; i < first_dir; i++)
        cr_assert_lt(strcmp(list.item[i - 1].name, list.item[i].name), 0);
    cr_assert(shadowed, "the second fixture_good.so must be marked shadowed");
    unlink(link);
    rmdir(dir);
}
