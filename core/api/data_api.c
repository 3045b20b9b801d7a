/* Datasets for the embedding API: the named sources the CLI knows, and images from the
 * host's memory (copied or borrowed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "api.h"
#include "csv.h"
#include "dataset.h"
#include "idx.h"
#include "pngfolder.h"
#include "source.h"

void rg_dataset_params_init(rg_dataset_params *params, size_t size)
{
    static const rg_dataset_params def = {sizeof def, 0, 0};
    rg_api_params_init(params, size, &def, sizeof def);
}

rg_status rg_dataset_open(rg_context *ctx, const char *source, const char *part,
                          const rg_dataset_params *params, rg_dataset **out)
{
    if (!ctx)
        return rg_api_null("rg_dataset_open", "ctx");
    rg_api_enter(ctx);
    if (!out || !source || !part)
        return rg_api_fail(ctx, rg_api_null("rg_dataset_open",
                                            !out ? "out" : !source ? "source" : "part"));
    *out = NULL;
    int test = !strcmp(part, "test");
    if (!test && strcmp(part, "train"))
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "dataset part '%s': expected "
                                             "train or test", part));
    rg_data_options opt = {0, 0};
    if (params) {
        if (params->struct_size < RG_SIZE_THROUGH(rg_dataset_params, channels))
            return rg_api_fail(ctx, rg_error_set(RG_ERR_VERSION, "rg_dataset_open: params "
                                                 "struct_size %u is too small",
                                                 (unsigned)params->struct_size));
        opt.center_crop = params->center_crop;
        opt.channels = params->channels;
    }
    rg_dataset *train = NULL, *tst = NULL;
    char where[4096];
    rg_status st = rg_source_open(source, &opt, &train, test ? &tst : NULL, where, sizeof where);
    if (st != RG_OK)
        return rg_api_fail(ctx, st);
    if (test) {
        rg_dataset_destroy(train);
        train = tst;
    }
    train->ctx = ctx;
    if (!strcmp(source, "fashion-mnist") && !train->class_names && train->num_classes <= 10 &&
        (train->class_names = calloc((size_t)train->num_classes, sizeof(char *))) != NULL)
        for (int32_t k = 0; k < train->num_classes; k++)
            train->class_names[k] = strdup(rg_fashion_mnist_classes[k]);
    *out = train;
    return RG_OK;
}

rg_status rg_dataset_from_memory(rg_context *ctx, int64_t n, int64_t c, int64_t h, int64_t w,
                                 rg_pixel_type type, const void *pixels, const int32_t *labels,
                                 int32_t num_classes, unsigned flags, rg_dataset **out)
{
    if (!ctx)
        return rg_api_null("rg_dataset_from_memory", "ctx");
    rg_api_enter(ctx);
    if (!out)
        return rg_api_fail(ctx, rg_api_null("rg_dataset_from_memory", "out"));
    *out = NULL;
    rg_status st = RG_OK;
    if (n < 1)
        st = rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: n=%lld: a dataset needs at "
                          "least one image", (long long)n);
    else if (c < 1 || h < 1 || w < 1 || c > 4096 || h > 65536 || w > 65536)
        st = rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: image shape %lldx%lldx%lld "
                          "out of range", (long long)c, (long long)h, (long long)w);
    else if (type != RG_PIXELS_U8 && type != RG_PIXELS_F32)
        st = rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: pixel type %d: expected "
                          "RG_PIXELS_U8 or RG_PIXELS_F32", (int)type);
    else if (!pixels || !labels)
        st = rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: %s is NULL",
                          !pixels ? "pixels" : "labels");
    else if (num_classes > 256)
        st = rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: num_classes %d: at most 256",
                          num_classes);
    if (st != RG_OK)
        return rg_api_fail(ctx, st);
    int32_t top = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] > 255 || (num_classes > 0 && labels[i] >= num_classes))
            return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: "
                                                 "labels[%lld] = %d is outside [0, %d)",
                                                 (long long)i, labels[i],
                                                 num_classes > 0 ? num_classes : 256));
        top = labels[i] > top ? labels[i] : top;
    }
    size_t px = (size_t)(n * c * h * w);
    if (type == RG_PIXELS_F32) {
        const float *f = pixels;
        for (size_t i = 0; i < px; i++)
            if (!isfinite(f[i]))
                return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_dataset_from_memory: "
                                                     "pixel %zu (image %lld) is not finite", i,
                                                     (long long)(i / (size_t)(c * h * w))));
    }
    rg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    *ds = (rg_dataset){n, c, h, w, num_classes > 0 ? num_classes : top + 1, NULL, NULL, NULL,
                       NULL, (flags & RG_MEMORY_BORROW) != 0, ctx};
    ds->labels = malloc((size_t)n);
    size_t bytes = px * (type == RG_PIXELS_F32 ? sizeof(float) : 1);
    void *data = (void *)pixels;
    if (!ds->borrowed && (data = malloc(bytes)) != NULL)
        memcpy(data, pixels, bytes);
    if (type == RG_PIXELS_F32)
        ds->fpixels = data;
    else
        ds->pixels = data;
    if (!ds->labels || !data) {
        rg_dataset_destroy(ds);
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory (%zu bytes)", bytes));
    }
    for (int64_t i = 0; i < n; i++)
        ds->labels[i] = (uint8_t)labels[i];
    *out = ds;
    return RG_OK;
}

rg_status rg_dataset_shape(const rg_dataset *ds, int64_t *n, int64_t *c, int64_t *h, int64_t *w,
                           int32_t *num_classes)
{
    if (!ds)
        return rg_api_null("rg_dataset_shape", "ds");
    if (n)
        *n = ds->n;
    if (c)
        *c = ds->c;
    if (h)
        *h = ds->h;
    if (w)
        *w = ds->w;
    if (num_classes)
        *num_classes = ds->num_classes;
    return RG_OK;
}

rg_status rg_image_read_png(rg_context *ctx, const char *path, int64_t c, int64_t h, int64_t w,
                            int center_crop, float *out)
{
    if (!ctx)
        return rg_api_null("rg_image_read_png", "ctx");
    rg_api_enter(ctx);
    if (!path || !out)
        return rg_api_fail(ctx, rg_api_null("rg_image_read_png", !path ? "path" : "out"));
    if (c < 1 || h < 1 || w < 1 || c > 4 || h > 65536 || w > 65536)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_INVALID, "rg_image_read_png: shape "
                                             "%lldx%lldx%lld out of range", (long long)c,
                                             (long long)h, (long long)w));
    size_t px = (size_t)(c * h * w);
    uint8_t *raw = malloc(px);
    if (!raw)
        return rg_api_fail(ctx, rg_error_set(RG_ERR_NOMEM, "out of memory"));
    rg_status st = rg_png_read_image(path, c, h, w, center_crop, raw);
    for (size_t i = 0; st == RG_OK && i < px; i++)
        out[i] = (float)raw[i] * (1.0f / 255.0f);
    free(raw);
    return rg_api_fail(ctx, st);
}

rg_status rg_image_write_png(rg_context *ctx, const char *path, const uint8_t *planes, int64_t c,
                             int64_t h, int64_t w)
{
    if (!ctx)
        return rg_api_null("rg_image_write_png", "ctx");
    rg_api_enter(ctx);
    if (!path || !planes)
        return rg_api_fail(ctx, rg_api_null("rg_image_write_png", !path ? "path" : "planes"));
    return rg_api_fail(ctx, rg_png_write(path, planes, c, h, w));
}

rg_status rg_dataset_read(const rg_dataset *ds, int64_t first, int64_t count, float *images,
                          int32_t *labels)
{
    if (!ds)
        return rg_api_null("rg_dataset_read", "ds");
    rg_api_enter(ds->ctx);
    if (first < 0 || count < 0 || first > ds->n || count > ds->n - first)
        return rg_api_fail(ds->ctx, rg_error_set(RG_ERR_INVALID, "rg_dataset_read: images "
                                                 "%lld..%lld of %lld", (long long)first,
                                                 (long long)(first + count - 1),
                                                 (long long)ds->n));
    int64_t f = ds->c * ds->h * ds->w;
    for (int64_t i = 0; images && i < count * f; i++)
        images[i] = ds->fpixels ? ds->fpixels[first * f + i]
                                : (float)ds->pixels[first * f + i] * (1.0f / 255.0f);
    for (int64_t i = 0; labels && i < count; i++)
        labels[i] = ds->labels[first + i];
    return RG_OK;
}

rg_status rg_dataset_write_png(const rg_dataset *ds, const char *dir, int64_t limit)
{
    if (!ds)
        return rg_api_null("rg_dataset_write_png", "ds");
    rg_api_enter(ds->ctx);
    if (!dir)
        return rg_api_fail(ds->ctx, rg_api_null("rg_dataset_write_png", "dir"));
    if (!ds->pixels)
        return rg_api_fail(ds->ctx, rg_error_set(RG_ERR_UNSUPPORTED, "rg_dataset_write_png: "
                                                 "float32 images are not written as PNG"));
    rg_dataset view = *ds;
    if (limit > 0 && limit < view.n)
        view.n = limit;
    return rg_api_fail(ds->ctx, rg_dataset_export_png(&view, dir,
                                                      (const char *const *)ds->class_names));
}
