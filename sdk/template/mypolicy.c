/* mypolicy: an augmentation policy that composes installed augmenters (ABI 1.6). Each image
 * gets one of: nothing, a horizontal flip, a rotation by up to `degrees`, drawn uniformly.
 * The policy writes no image code of its own: create() asks the host for the stock
 * augmenters by spec, exactly as --aug would take them, and apply() runs the chosen one on
 * a one-image view of the batch. Copy it to compose your own policy (RandAugment and
 * TrivialAugment in regula's plugins/ are built the same way).
 *
 * Randomness: image i reads one uniform at position i of the stream (its choice) and runs
 * the chosen augmenter with key i, so it draws from a stream of its own, and the result
 * does not depend on the thread count or on how the batch is split.
 *
 * Build: see CMakeLists.txt. Check: regula plugin check build/mypolicy.so
 * Use:   regula train --aug build/mypolicy.so:degrees=20 */
#include <regula/plugin.h>
#include <stdio.h>

#define MP_CHOICES 3 /* identity, hflip, rotate */

typedef struct mypolicy {
    const rg_host_api *host;
    rg_augmenter_ref *ops[MP_CHOICES]; /* ops[0] = NULL: the identity */
} mypolicy;

static const rg_param_desc mp_params[] = {
    RG_PARAM_FLOAT_DESC("degrees", 15.0, 0.0, 180.0, 0, "largest rotation of the rotate choice"),
};

static void mp_destroy(void *inst)
{
    mypolicy *m = inst;
    m->host->free(m); /* what create() composed is destroyed by the host */
}

static rg_status mp_create(const rg_host_api *host, const rg_params *params, void **inst)
{
    if (!RG_HAS_FIELD(host, rg_host_api, augmenter_destroy) || !host->augmenter_create) {
        host->set_error("mypolicy: the host does not offer ABI 1.6 composition");
        return RG_ERR_VERSION;
    }
    mypolicy *m = host->alloc(sizeof *m); /* zero-filled */
    if (!m) {
        host->set_error("mypolicy: out of memory");
        return RG_ERR_NOMEM;
    }
    m->host = host;
    char rotate[64];
    snprintf(rotate, sizeof rotate, "rotate:degrees=%.9g,p=1", params->values[0].number);
    rg_status st = host->augmenter_create("hflip:p=1", &m->ops[1]);
    if (st == RG_OK)
        st = host->augmenter_create(rotate, &m->ops[2]);
    if (st != RG_OK) { /* the host has described the failure, naming the spec */
        host->free(m);
        return st;
    }
    *inst = m;
    return RG_OK;
}

static rg_status mp_apply(void *inst, rg_batch_view *b, const rg_rng_stream *rng)
{
    mypolicy *m = inst;
    int64_t pix = b->c * b->h * b->w;
    for (int64_t i = 0; i < b->n; i++) {
        float u;
        m->host->rng_uniform(rng, (uint64_t)i, &u, 1);
        int k = (int)(u * MP_CHOICES);
        rg_augmenter_ref *op = m->ops[k < MP_CHOICES ? k : MP_CHOICES - 1];
        if (!op)
            continue;
        rg_batch_view one = *b; /* image i alone */
        one.n = 1;
        one.data = b->data + i * pix;
        one.labels = b->labels + i * b->num_classes;
        rg_status st = m->host->augmenter_apply(op, &one, rng, (uint64_t)i);
        if (st != RG_OK)
            return st;
    }
    return RG_OK;
}

static const rg_augmenter_hooks mp_hooks = {
    .struct_size = sizeof(rg_augmenter_hooks),
    .apply = mp_apply,
};

static const rg_plugin_desc mp_desc = {
    .struct_size = sizeof(rg_plugin_desc),
    .kind = RG_PLUGIN_AUGMENTER,
    .caps = RG_CAP_DETERMINISTIC | RG_CAP_IN_PLACE,
    .num_params = sizeof mp_params / sizeof mp_params[0],
    .name = "mypolicy",
    .version = "1.0.0",
    .doc = "template: per image one of nothing, a flip, a rotation (composed)",
    .params = mp_params,
    .create = mp_create,
    .destroy = mp_destroy,
    .augmenter = &mp_hooks,
};

RG_DEFINE_PLUGIN(mp_desc)
