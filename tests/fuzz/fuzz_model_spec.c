/* libFuzzer harness for the --model parser (core/model/spec.c, rg_model_spec_parse).
 * Input: the specification text (a NUL-terminated copy is parsed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_util.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    rg_model_spec spec;
    rg_status st = rg_model_spec_parse(text, &spec);
    FUZZ_CHECK_MESSAGE(st);
    if (st == RG_OK) {
        if (spec.num_layers < 1 || spec.num_layers > RG_MODEL_MAX_LAYERS ||
            strcmp(spec.text, text) != 0)
            abort();
        for (int i = 0; i < spec.num_layers; i++) {
            const rg_layer_spec *l = &spec.layers[i];
            if (l->type < RG_LAYER_DENSE || l->type > RG_LAYER_BATCHNORM || l->units < 0 ||
                l->k < 0 || l->stride < 0 || l->pad < 0)
                abort();
        }
    }
    free(text);
    return 0;
}
