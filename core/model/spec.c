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
                            "model %s: expected hidden layer widths after 'mlp:', e.g. "
                            "mlp:512,256",
                            out->text);
    while (*p) {
        char *end = NULL;
        errno = 0;
        long long units = (*p >= '0' && *p <= '9') ? strtoll(p, &end, 10) : 0;
        if (!end || end == p || errno || units < 1 || units > 1000000 || (*end && *end != ','))
            return rg_error_set(RG_ERR_INVALID,
                                "model %s: bad layer width at '%s' (expected integers in "
                                "[1, 1000000] separated by commas, e.g. mlp:512,256)",
                                out->text, p);
        if (n + 3 > RG_MODEL_MAX_LAYERS)
            return rg_error_set(RG_ERR_INVALID, "model %s: too many layers (at most %d)",
                                out->text, RG_MODEL_MAX_LAYERS / 2 - 1);
        out->layers[n++] = (rg_layer_spec){.type = RG_LAYER_DENSE, .units = units};
        out->layers[n++] = (rg_layer_spec){.type = RG_LAYER_RELU};
        p = *end ? end + 1 : end;
        if (*end == ',' && *p == '\0')
            return rg_error_set(RG_ERR_INVALID, "model %s: trailing comma", out->text);
    }
    out->layers[n++] = (rg_layer_spec){.type = RG_LAYER_DENSE};
    out->num_layers = n;
    return RG_OK;
}

/* Up to `max` ':'-separated non-negative integers after the layer name. */
static int parse_ints(const char *args, int64_t *v, int max)
{
    int n = 0;
    const char *p = args;
    while (*p && n < max) {
        if (*p < '0' || *p > '9')
            return -1;
        char *end = NULL;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || x > 1000000)
            return -1;
        v[n++] = x;
        if (*end == ':')
            p = end + 1;
        else if (*end == '\0')
            p = end;
        else
            return -1;
        if (*end == ':' && !*p)
            return -1;
    }
    return *p ? -1 : n;
}

static rg_status parse_layer(const char *tok, rg_model_spec *out, rg_layer_spec *ls)
{
    static const struct {
        const char *name;
        rg_layer_type type;
        int min_args, max_args;
        const char *usage;
    } kinds[] = {
        {"dense", RG_LAYER_DENSE, 1, 1, "dense:UNITS"},
        {"relu", RG_LAYER_RELU, 0, 0, "relu"},
        {"conv", RG_LAYER_CONV, 2, 4, "conv:CHANNELS:KERNEL[:STRIDE[:PADDING]]"},
        {"maxpool", RG_LAYER_MAXPOOL, 1, 2, "maxpool:WINDOW[:STRIDE]"},
        {"avgpool", RG_LAYER_AVGPOOL, 1, 2, "avgpool:WINDOW[:STRIDE]"},
        {"gap", RG_LAYER_GAP, 0, 0, "gap"},
        {"flatten", RG_LAYER_FLATTEN, 0, 0, "flatten"},
        {"batchnorm", RG_LAYER_BATCHNORM, 0, 0, "batchnorm"},
    };
    const char *colon = strchr(tok, ':');
    size_t len = colon ? (size_t)(colon - tok) : strlen(tok);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strlen(kinds[i].name) != len || strncmp(tok, kinds[i].name, len) != 0)
            continue;
        int64_t v[4] = {0, 0, 0, 0};
        int n = colon ? parse_ints(colon + 1, v, kinds[i].max_args) : 0;
        if (n < kinds[i].min_args || n > kinds[i].max_args || (colon && n == 0))
            return rg_error_set(RG_ERR_INVALID, "model %s: bad layer '%s' (expected %s)",
                                out->text, tok, kinds[i].usage);
        memset(ls, 0, sizeof *ls);
        ls->type = kinds[i].type;
        switch (ls->type) {
        case RG_LAYER_DENSE:
            ls->units = v[0];
            break;
        case RG_LAYER_CONV:
            ls->units = v[0];
            ls->k = v[1];
            ls->stride = n >= 3 ? v[2] : 1;
            ls->pad = n >= 4 ? v[3] : v[1] / 2;
            break;
        case RG_LAYER_MAXPOOL:
        case RG_LAYER_AVGPOOL:
            ls->k = v[0];
            ls->stride = n >= 2 ? v[1] : v[0];
            break;
        default:
            break;
        }
        if ((ls->type == RG_LAYER_DENSE || ls->type == RG_LAYER_CONV) && ls->units < 1)
            return rg_error_set(RG_ERR_INVALID, "model %s: '%s' needs at least 1 unit",
                                out->text, tok);
        if ((ls->type == RG_LAYER_CONV || ls->type == RG_LAYER_MAXPOOL ||
             ls->type == RG_LAYER_AVGPOOL) && (ls->k < 1 || ls->stride < 1))
            return rg_error_set(RG_ERR_INVALID, "model %s: '%s': window and stride must be >= 1",
                                out->text, tok);
        return RG_OK;
    }
    return rg_error_set(RG_ERR_INVALID,
                        "model %s: unknown layer '%.*s' (known: dense, relu, conv, maxpool, "
                        "avgpool, gap, flatten, batchnorm; or mlp:H1,H2,...)",
                        out->text, (int)len, tok);
}

static rg_status parse_list(const char *text, rg_model_spec *out)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    int n = 0;
    char *save = NULL;
    if (!*buf || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,") || buf[0] == ',')
        return rg_error_set(RG_ERR_INVALID, "model %s: empty layer in the list", out->text);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n >= RG_MODEL_MAX_LAYERS)
            return rg_error_set(RG_ERR_INVALID, "model %s: more than %d layers", out->text,
                                RG_MODEL_MAX_LAYERS);
        rg_status st = parse_layer(tok, out, &out->layers[n]);
        if (st != RG_OK)
            return st;
        n++;
    }
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
        return rg_error_set(RG_ERR_INVALID, "model: specification too long");
    strcpy(out->text, text);
    const char *colon = strchr(text, ':');
    size_t flen = colon ? (size_t)(colon - text) : strlen(text);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strlen(families[i].family) == flen && strncmp(text, families[i].family, flen) == 0)
            return families[i].parse(colon ? colon + 1 : "", out);
    return parse_list(text, out);
}
