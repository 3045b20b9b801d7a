/* The host's checks at the plugin boundary, shared by the hooks of a step: guard words
 * after the buffers a hook was handed, sampled finiteness, const tensors compared at sample
 * positions, and the error that names the plugin. */
#include <math.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "boundary.h"

void rg_bd_param_view(rg_tensor_view *v, rg_param *p, float *data)
{
    memset(v, 0, sizeof *v);
    v->struct_size = sizeof *v;
    v->kind = p->kind;
    v->name = p->name;
    v->data = data;
    v->ndim = p->ndim;
    for (uint32_t i = 0; i < p->ndim; i++)
        v->shape[i] = p->shape[i];
    v->numel = p->numel;
}

rg_status rg_bd_failed(const rg_plugin_instance *pi, const char *hook, rg_status st)
{
    (void)st;
    return rg_error_wrap(RG_ERR_PLUGIN, "plugin %s: %s() failed", pi->plugin->desc.name, hook);
}


/* The guard words after a host buffer (alloc.h), checked after each hook that was
 * handed it: an overrun is named before it can corrupt the heap or the next plugin. */
rg_status rg_bd_guarded(const rg_plugin_instance *pi, const char *hook, float *buf,
                         int64_t len, const char *what, const char *tensor, int64_t shown)
{
    int over = RG_CHECKS ? rg_guard_check(buf, (size_t)len) : 0;
    if (!over)
        return RG_OK;
    return rg_error_set(RG_ERR_PLUGIN,
                        "plugin %s (%s): %s() wrote %d float%s past the end of its %s for %s "
                        "(%lld elements)%s",
                        pi->plugin->desc.name, pi->plugin->path, hook, over, over == 1 ? "" : "s",
                        what, tensor, (long long)shown,
                        over == RG_GUARD_FLOATS ? ", perhaps more: memory after it may be "
                                                  "corrupt"
                                                : "");
}


int rg_bd_samples(int64_t n, int64_t *pos)
{
    int k = 0;
    if (!RG_CHECKS)
        return 0;
    for (int64_t i = 0; i < n && i < 16; i++)
        pos[k++] = i;
    for (int64_t i = 16; i < n - 16 && k < RG_CONST_SAMPLES - 16; i += RG_CONST_STRIDE)
        pos[k++] = i;
    for (int64_t i = n - 16 > 16 ? n - 16 : 16; i < n; i++)
        pos[k++] = i;
    return k;
}

/* Finite at the sample positions: what the per-step boundary check reads of an activation
 * or activation gradient. A non-finite value elsewhere still surfaces (as a non-finite
 * loss or an optimizer gradient check) and is then traced back to the plugin by a full
 * scan of the buffers, which are still in memory: blame_nonfinite_site(). */
int rg_bd_sampled_finite(const float *v, int64_t n)
{
    int64_t pos[RG_CONST_SAMPLES];
    int ns = rg_bd_samples(n, pos), ok = 1;
    for (int q = 0; q < ns; q++)
        ok &= isfinite(v[pos[q]]);
    return ok;
}

/* Integer test of the exponent bits: vectorizes without -ffast-math, so the
 * per-step check of plugin gradients stays cheap. */
int rg_bd_all_finite(const float *v, int64_t n)
{
    uint32_t bad = 0;
    if (!RG_CHECKS)
        return 1;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}


rg_status rg_bd_unchanged(const rg_plugin_instance *pi, const char *hook, const char *what,
                          const char *tensor, const float *v, const int64_t *pos,
                          const float *before, int ns, const char *hint, int64_t epoch,
                          int64_t step)
{
    for (int q = 0; q < ns; q++)
        if (memcmp(&before[q], &v[pos[q]], sizeof(float)) != 0)
            return rg_error_set(RG_ERR_PLUGIN,
                                "plugin %s (%s): %s() wrote into the %s of %s (element %lld: %g "
                                "before, %g after), which are const%s (epoch %lld, step %lld)",
                                pi->plugin->desc.name, pi->plugin->path, hook, what, tensor,
                                (long long)pos[q], (double)before[q], (double)v[pos[q]], hint,
                                (long long)epoch + 1, (long long)step);
    return RG_OK;
}
