/* libFuzzer harness for the plugin parameter parser (core/plugin/instance.c,
 * rg_params_parse) and the layer-glob matcher it feeds (rg_selection_match).
 *
 * The stock plugins l2 (float + enum), l1 (bool) and cutout (int) are loaded once
 * from REGULA_FUZZ_PLUGINS (set by CMake to the build's plugin directory; the
 * environment variable of that name overrides it). Input: one byte choosing the
 * plugin (byte % 3), then the "key=value,..." text (NUL-terminated copy). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "plugin/instance.h"
#include "plugin/loader.h"

#ifndef REGULA_FUZZ_PLUGINS
#define REGULA_FUZZ_PLUGINS "."
#endif

static const char *const k_names[] = {"l2", "l1", "cutout"};
#define NUM_PLUGINS (int)(sizeof k_names / sizeof k_names[0])
static rg_plugin *plugins[NUM_PLUGINS];

static void unload_all(void)
{
    for (int i = 0; i < NUM_PLUGINS; i++)
        rg_plugin_unload(plugins[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("REGULA_FUZZ_PLUGINS");
    if (!dir || !*dir)
        dir = REGULA_FUZZ_PLUGINS;
    for (int i = 0; i < NUM_PLUGINS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.so", dir, k_names[i]);
        if (rg_plugin_load(path, NULL, &plugins[i]) != RG_OK) {
            fprintf(stderr, "fuzz_params: cannot load %s: %s\n", path, rg_error_message());
            exit(1);
        }
    }
    atexit(unload_all);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const rg_plugin *pl = plugins[data[0] % NUM_PLUGINS];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    rg_param_value values[RG_PLUGIN_MAX_PARAMS];
    char storage[512];
    rg_selection sel;
    rg_status st = rg_params_parse(pl, text, values, storage, sizeof storage, &sel);
    FUZZ_CHECK_MESSAGE(st);
    if (st == RG_OK) {
        char buf[256];
        for (uint32_t i = 0; i < pl->num_params; i++) {
            const rg_param_desc *d = &pl->params[i];
            rg_param_format(d, &values[i], buf, sizeof buf);
            if (values[i].string)
                fuzz_touch(values[i].string, strlen(values[i].string));
            if ((d->type == RG_PARAM_FLOAT || d->type == RG_PARAM_INT) &&
                !(values[i].number >= d->min_value && values[i].number <= d->max_value))
                abort(); /* out of the schema's range but accepted */
        }
        if (!(sel.tensors & (RG_SEL_WEIGHTS | RG_SEL_BIASES)) || sel.layers[127] || sel.after[127])
            abort();
        static const char *const layers[] = {"dense1", "conv2", "bn3", "", "dense10"};
        for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
            rg_selection_match(sel.layers, layers[k]);
            rg_selection_match(sel.after, layers[k]);
        }
    }
    free(text);
    return 0;
}
