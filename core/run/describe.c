/* regula info CKPT's source: what a checkpoint holds, as JSON. The identity and recipe come
 * from its metadata; the state and the per-epoch history from its key=value lines. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../error.h"
#include "../train/checkpoint.h"

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *history_of(const rg_checkpoint *c)
{
    json_t *h = json_array();
    for (long long e = 0;; e++) {
        char key[48], buf[512];
        snprintf(key, sizeof key, "history.%lld", e);
        if (!rg_checkpoint_config_get(c, key, buf, sizeof buf))
            break;
        double v[6];
        if (sscanf(buf, "%lf,%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) !=
            6)
            break;
        json_array_append_new(h, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "epoch",
                                           (json_int_t)(e + 1), "train_loss", num(v[0]),
                                           "train_accuracy", num(v[1]), "train_penalty",
                                           num(v[2]), "val_loss", num(v[3]), "val_accuracy",
                                           num(v[4])));
    }
    return h;
}

static json_t *state_of(const rg_checkpoint *c)
{
    json_t *s = json_object();
    static const char *const keys[] = {"epoch", "step", "opt_steps", "batch"};
    for (int k = 0; k < 4; k++) {
        char key[48], buf[64];
        snprintf(key, sizeof key, "state.%s", keys[k]);
        if (rg_checkpoint_config_get(c, key, buf, sizeof buf))
            json_object_set_new(s, keys[k], json_integer(strtoll(buf, NULL, 10)));
    }
    return s;
}

rg_status rg_checkpoint_describe(rg_context *ctx, const char *path, char **out)
{
    if (!ctx)
        return rg_api_null("rg_checkpoint_describe", "ctx");
    rg_api_enter(ctx);
    if (!path || !out)
        return rg_api_fail(ctx, rg_api_null("rg_checkpoint_describe", !path ? "path" : "json"));
    *out = NULL;
    rg_checkpoint *c = NULL;
    rg_status st = rg_checkpoint_read(path, &c);
    if (st != RG_OK)
        return rg_api_fail(ctx, st);
    json_error_t err;
    json_t *o = json_loads(c->meta, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        rg_checkpoint_free(c);
        return rg_api_fail(ctx, rg_error_set(RG_ERR_FORMAT, "%s: its metadata is not a JSON "
                                             "object (%s)", path, err.text));
    }
    json_object_set_new(o, "state", state_of(c));
    json_object_set_new(o, "history", history_of(c));
    rg_checkpoint_free(c);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!text)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    *out = text; /* jansson allocates with malloc, which rg_free releases */
    return RG_OK;
}
