/* L2-SP: weight decay toward the starting point instead of toward zero.
 *
 * Li, Grandvalet and Davoine, "Explicit Inductive Bias for Transfer Learning with
 * Convolutional Networks", ICML 2018, eq. (3):
 *     Omega(w) = alpha/2 * ||w_S - w0_S||^2 + beta/2 * ||w_Sbar||^2
 * with w0 the starting point. Here every tensor the plugin is given is in S (select the
 * tensors with layers= / tensors=; put plain l2 on the others for the beta term), and w0
 * is each tensor's value the first time the plugin sees it: the weights training starts
 * from (a fine-tuning run's loaded weights, or the initialization, which makes it the
 * "L2 to init" regularizer). Gradient alpha * (w - w0).
 *
 * The anchor w0 is state that lives across steps: it is saved in checkpoints through the
 * ABI 1.2 state hooks, so a resumed run anchors to the same w0 as an uninterrupted one
 * (without them it would anchor to the weights at the resume point). */
#include <string.h>

#include <regula/plugin.h>

#define L2SP_MAX_TENSORS 256
#define L2SP_MAGIC 0x50534c32u /* "L2SP" */
#define L2SP_FORMAT 1u

typedef struct anchor {
    char name[96];
    int64_t numel;
    float *w0;
} anchor;

typedef struct l2sp {
    const rg_host_api *host;
    float alpha;
    int count;
    anchor a[L2SP_MAX_TENSORS];
} l2sp;

static const rg_param_desc l2sp_params[] = {
    RG_PARAM_FLOAT_DESC("alpha", 1e-2, 0.0, 10.0, RG_PARAM_LOG_SCALE,
                        "strength of the pull toward the starting weights: gradient "
                        "alpha*(w - w0)"),
};

static rg_status l2sp_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    l2sp *s = host->alloc(sizeof *s);
    if (!s) {
        host->set_error("l2sp: out of memory");
        return RG_ERR_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->host = host;
    s->alpha = (float)params->values[0].number;
    *inst = s;
    return RG_OK;
}

static void forget(l2sp *s)
{
    for (int i = 0; i < s->count; i++)
        s->host->free(s->a[i].w0);
    s->count = 0;
}

static void l2sp_destroy(void *inst)
{
    l2sp *s = inst;
    forget(s);
    s->host->free(s);
}

static anchor *add(l2sp *s, const char *name, int64_t numel)
{
    if (s->count >= L2SP_MAX_TENSORS) {
        s->host->set_error("l2sp: more than %d tensors", L2SP_MAX_TENSORS);
        return NULL;
    }
    if (!name || strlen(name) >= sizeof s->a[0].name) {
        s->host->set_error("l2sp: tensor name missing or longer than %zu bytes",
                           sizeof s->a[0].name - 1);
        return NULL;
    }
    anchor *a = &s->a[s->count];
    a->w0 = s->host->alloc((size_t)numel * sizeof(float));
    if (!a->w0) {
        s->host->set_error("l2sp: out of memory for the anchor of %s", name);
        return NULL;
    }
    strcpy(a->name, name);
    a->numel = numel;
    s->count++;
    return a;
}

static anchor *find(l2sp *s, const char *name)
{
    for (int i = 0; name && i < s->count; i++)
        if (strcmp(s->a[i].name, name) == 0)
            return &s->a[i];
    return NULL;
}

static rg_status l2sp_penalty(void *inst, const rg_tensor_view *param, double *loss,
                              rg_tensor_view *grad)
{
    l2sp *s = inst;
    anchor *a = find(s, param->name);
    if (!a) {
        if (!(a = add(s, param->name, param->numel)))
            return RG_ERR_NOMEM;
        memcpy(a->w0, param->data, (size_t)param->numel * sizeof(float));
    }
    if (a->numel != param->numel) {
        s->host->set_error("l2sp: tensor %s has %lld elements, its anchor %lld", param->name,
                           (long long)param->numel, (long long)a->numel);
        return RG_ERR_INVALID;
    }
    const float *w = param->data, *w0 = a->w0;
    float *g = grad->data;
    double sum = 0.0;
    for (int64_t i = 0; i < param->numel; i++) {
        float d = w[i] - w0[i];
        sum += (double)d * (double)d;
        g[i] += s->alpha * d;
    }
    *loss += 0.5 * (double)s->alpha * sum;
    return RG_OK;
}

/* State: u32 magic, u32 format, u32 count, then per anchor u32 name length, the name,
 * i64 numel and numel floats (native byte order, as the checkpoint is). */
static uint64_t state_bytes(const l2sp *s)
{
    uint64_t n = 12;
    for (int i = 0; i < s->count; i++)
        n += 4 + strlen(s->a[i].name) + 8 + (uint64_t)s->a[i].numel * 4;
    return n;
}

static rg_status l2sp_state_size(void *inst, uint64_t *bytes)
{
    *bytes = state_bytes(inst);
    return RG_OK;
}

static rg_status l2sp_state_save(void *inst, void *buf, uint64_t bytes)
{
    l2sp *s = inst;
    if (bytes != state_bytes(s)) {
        s->host->set_error("l2sp: state buffer of %llu bytes, %llu needed",
                           (unsigned long long)bytes, (unsigned long long)state_bytes(s));
        return RG_ERR_INVALID;
    }
    unsigned char *p = buf;
    uint32_t head[3] = {L2SP_MAGIC, L2SP_FORMAT, (uint32_t)s->count};
    memcpy(p, head, sizeof head);
    p += sizeof head;
    for (int i = 0; i < s->count; i++) {
        uint32_t len = (uint32_t)strlen(s->a[i].name);
        memcpy(p, &len, 4);
        memcpy(p + 4, s->a[i].name, len);
        p += 4 + len;
        memcpy(p, &s->a[i].numel, 8);
        memcpy(p + 8, s->a[i].w0, (size_t)s->a[i].numel * 4);
        p += 8 + (size_t)s->a[i].numel * 4;
    }
    return RG_OK;
}

static rg_status bad_state(l2sp *s, const char *what, uint64_t offset)
{
    s->host->set_error("l2sp: saved state is corrupt: %s at byte %llu", what,
                       (unsigned long long)offset);
    forget(s);
    return RG_ERR_FORMAT;
}

static rg_status l2sp_state_load(void *inst, const void *buf, uint64_t bytes)
{
    l2sp *s = inst;
    const unsigned char *p = buf, *end = p + bytes;
    forget(s);
    uint32_t head[3];
    if (bytes < sizeof head)
        return bad_state(s, "shorter than its header", 0);
    memcpy(head, p, sizeof head);
    if (head[0] != L2SP_MAGIC || head[1] != L2SP_FORMAT)
        return bad_state(s, "not an l2sp state of format 1", 0);
    if (head[2] > L2SP_MAX_TENSORS)
        return bad_state(s, "too many tensors", 8);
    p += sizeof head;
    for (uint32_t i = 0; i < head[2]; i++) {
        uint32_t len;
        int64_t numel;
        if ((uint64_t)(end - p) < 4)
            return bad_state(s, "truncated name length", (uint64_t)(p - (const unsigned char *)buf));
        memcpy(&len, p, 4);
        if (len == 0 || len >= sizeof s->a[0].name || (uint64_t)(end - p) < 4 + (uint64_t)len + 8)
            return bad_state(s, "bad name", (uint64_t)(p - (const unsigned char *)buf));
        char name[sizeof s->a[0].name];
        memcpy(name, p + 4, len);
        name[len] = '\0';
        memcpy(&numel, p + 4 + len, 8);
        p += 4 + len + 8;
        if (numel <= 0 || (uint64_t)numel > (uint64_t)(end - p) / 4)
            return bad_state(s, "bad element count", (uint64_t)(p - (const unsigned char *)buf));
        if (find(s, name))
            return bad_state(s, "a tensor twice", (uint64_t)(p - (const unsigned char *)buf));
        anchor *a = add(s, name, numel);
        if (!a) {
            forget(s);
            return RG_ERR_NOMEM;
        }
        memcpy(a->w0, p, (size_t)numel * 4);
        p += (size_t)numel * 4;
    }
    if (p != end)
        return bad_state(s, "trailing bytes", (uint64_t)(p - (const unsigned char *)buf));
    return RG_OK;
}

static const rg_regularizer_hooks l2sp_hooks = {
    .struct_size = sizeof(rg_regularizer_hooks),
    .penalty = l2sp_penalty,
};

static const rg_plugin_desc l2sp_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_REGULARIZER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_PENALTY_NONNEG | RG_CAP_STATEFUL,
    .num_params = sizeof l2sp_params / sizeof l2sp_params[0],
    .name = "l2sp",
    .version = "1.0.0",
    .doc = "L2-SP: (alpha/2)*||w - w0||^2 toward the starting weights w0 (Li et al. 2018)",
    .params = l2sp_params,
    .create = l2sp_create,
    .destroy = l2sp_destroy,
    .regularizer = &l2sp_hooks,
    .state_size = l2sp_state_size,
    .state_save = l2sp_state_save,
    .state_load = l2sp_state_load,
};

RG_DEFINE_PLUGIN(l2sp_desc)
