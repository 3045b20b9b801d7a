/* libFuzzer harness for the JSON recipe reader (core/run/recipe.c,
 * rg_recipe_parse_json through the public API).
 *
 * Input: the JSON text (NUL-terminated copy), applied over a fresh default
 * recipe. An accepted recipe is written back with rg_recipe_to_json, and that text
 * must be accepted again: the file regula writes is one it reads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "regula/regula.h"

static rg_context *ctx;

static void destroy_ctx(void)
{
    rg_context_destroy(ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    rg_context_params p = rg_context_default_params();
    p.threads = 1;
    if (rg_context_create(&p, &ctx) != RG_OK) {
        fprintf(stderr, "fuzz_recipe: rg_context_create failed\n");
        exit(1);
    }
    atexit(destroy_ctx);
    return 0;
}

static void check_failure(rg_status st)
{
    if (st != RG_OK && !*rg_context_error(ctx)) {
        fprintf(stderr, "fuzz_recipe: status %d without a message\n", (int)st);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    rg_recipe *r = NULL;
    if (rg_recipe_create(ctx, &r) != RG_OK)
        abort();
    rg_status st = rg_recipe_parse_json(r, text, "fuzz.json");
    check_failure(st);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: %s\n", st == RG_OK ? "accepted" : rg_context_error(ctx));
    if (st == RG_OK) {
        char *json = rg_recipe_to_json(r);
        if (json) {
            rg_recipe *again = NULL;
            if (rg_recipe_create(ctx, &again) != RG_OK)
                abort();
            rg_status st2 = rg_recipe_parse_json(again, json, "written.json");
            if (st2 != RG_OK) {
                fprintf(stderr, "fuzz_recipe: rg_recipe_to_json wrote a recipe it refuses: %s\n"
                        "--- written:\n%s\n", rg_context_error(ctx), json);
                abort();
            }
            for (int i = 0; i < rg_recipe_field_count(); i++) {
                rg_field_info info = {.struct_size = sizeof info};
                if (rg_recipe_field(i, &info) != RG_OK)
                    abort();
                const char *v = rg_recipe_get(r, info.name);
                if (v)
                    fuzz_touch(v, strlen(v));
            }
            rg_recipe_destroy(again);
            rg_free(json);
        }
    }
    rg_recipe_destroy(r);
    free(text);
    return 0;
}
