#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "model.h"

static rg_status parse_mlp(const char *args, rg_model_spec *out)
{
    int n = 0;
    const char *p = args;
    if (!*p)
        return rg_error_set(RG_ERR_INVALID,
                            "--model %s: expected hidden layer widths after 'mlp:', e.g. "
                            "mlp:512,256",
                            out->text);
    while (*p) {
        char *end = NULL;
        errno = 0;
        long long units = (*p >= '0' && *p <= '9') ? strtoll(p, &end, 10) : 0;
        if (!end || end == p || errno || units < 1 || units > 1000000 || (*end && *end != ','))
            return rg_error_set(RG_ERR_INVALID,
                                "--model %s: bad layer width at '%s' (expected integers in "
                                "[1, 1000000] separated by commas, e.g. mlp:512,256)",
                                out->text, p);
        if (n + 3 > RG_MODEL_MAX_LAYERS)
            return rg_error_set(RG_ERR_INVALID, "--model %s: too many layers (at most %d)",
                                out->text, RG_MODEL_MAX_LAYERS / 2 - 1);
        out->layers[n++] = (rg_layer_spec){RG_LAYER_DENSE, units};
        out->layers[n++] = (rg_layer_spec){RG_LAYER_RELU, 0};
        p = *end ? end + 1 : end;
        if (*end == ',' && *p == '\0')
            return rg_error_set(RG_ERR_INVALID, "--model %s: trailing comma", out->text);
    }
    out->layers[n++] = (rg_layer_spec){RG_LAYER_DENSE, 0};
    out->num_layers = n;
    return RG_OK;
}

static const struct {
    const char *family;
    rg_status (*parse)(const char *args, rg_model_spec *out);
} families[] = {
    {"mlp", parse_mlp},
};

rg_status rg_model_spec_parse(const char *text, rg_model_spec *out)
{
    memset(out, 0, sizeof *out);
    if (strlen(text) >= sizeof out->text)
        return rg_error_set(RG_ERR_INVALID, "--model: specification too long");
    strcpy(out->text, text);
    const char *colon = strchr(text, ':');
    size_t flen = colon ? (size_t)(colon - text) : strlen(text);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strlen(families[i].family) == flen && strncmp(text, families[i].family, flen) == 0)
            return families[i].parse(colon ? colon + 1 : "", out);
    return rg_error_set(RG_ERR_INVALID,
                        "--model %s: unknown model family '%.*s' (known: mlp, e.g. mlp:512,256)",
                        text, (int)flen, text);
}
