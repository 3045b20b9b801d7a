/* regula augment --data SRC --aug SPEC... --preview grid.png: shows what the
 * augmenters do before a user trains with them. Rows are images; the first
 * column is the original, the others independent draws (training steps
 * 0, 1, 2, ... of epoch 0, so exactly what training would see at those
 * steps for a batch of these images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../plugin/instance.h"
#include "../rng.h"
#include "../threads.h"
#include "args.h"
#include "cli.h"
#include "source.h"
#include "pngfolder.h"

#define MAX_AUGS 16

static const char usage[] =
    "usage: regula augment --data SRC --aug SPEC [--aug SPEC ...] --preview FILE.png\n"
    "                      [--images N] [--draws K] [--zoom Z] [--seed S]\n"
    "\n"
    "Writes a PNG grid: N training images (default 8) down, the original in the\n"
    "first column and K augmented draws (default 6) beside it, each pixel drawn\n"
    "Z x Z (default 3). SRC and SPEC as for regula train.\n";

typedef struct grid {
    int64_t c, h, w, rows, cols, zoom, gap, H, W;
    uint8_t *planes;
} grid;

static void put_cell(grid *g, int64_t row, int64_t col, const float *img)
{
    int64_t y0 = g->gap + row * (g->h * g->zoom + g->gap);
    int64_t x0 = g->gap + col * (g->w * g->zoom + g->gap);
    for (int64_t k = 0; k < g->c; k++)
        for (int64_t y = 0; y < g->h * g->zoom; y++)
            for (int64_t x = 0; x < g->w * g->zoom; x++) {
                float v = img[(k * g->h + y / g->zoom) * g->w + x / g->zoom];
                v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
                g->planes[(k * g->H + y0 + y) * g->W + x0 + x] = (uint8_t)(v * 255.0f + 0.5f);
            }
}

int rg_cmd_augment(int argc, char **argv)
{
    const char *data = "fashion-mnist", *out = NULL, *specs[MAX_AUGS];
    int naug = 0;
    int64_t images = 8, draws = 6, zoom = 3, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return rg_cli_fail(2, "augment: %s needs a value (see --help)", a);
        const char *v = argv[++i];
        rg_status st = RG_OK;
        if (!strcmp(a, "--data"))
            data = v;
        else if (!strcmp(a, "--preview"))
            out = v;
        else if (!strcmp(a, "--aug")) {
            if (naug >= MAX_AUGS)
                return rg_cli_fail(2, "augment: at most %d --aug", MAX_AUGS);
            specs[naug++] = v;
        } else if (!strcmp(a, "--images"))
            st = rg_arg_int(a, v, 1, 64, &images);
        else if (!strcmp(a, "--draws"))
            st = rg_arg_int(a, v, 1, 32, &draws);
        else if (!strcmp(a, "--zoom"))
            st = rg_arg_int(a, v, 1, 16, &zoom);
        else if (!strcmp(a, "--seed"))
            st = rg_arg_int(a, v, 0, INT64_MAX, &seed);
        else
            return rg_cli_fail(2, "augment: unknown option '%s' (see --help)", a);
        if (st != RG_OK)
            return rg_cli_fail(2, "%s", rg_error_message());
    }
    if (!out || naug == 0)
        return rg_cli_fail(2, "augment: expected --aug SPEC and --preview FILE.png (see --help)");
    rg_threads_init(0);
    rg_plugin_instance *augs[MAX_AUGS] = {0};
    rg_dataset *train = NULL;
    float *x = NULL, *t = NULL, *orig = NULL;
    grid g = {0};
    char where[4096];
    rg_status st = RG_OK;
    int made = 0;
    for (; made < naug && st == RG_OK; made++)
        st = rg_plugin_instance_create(specs[made], RG_PLUGIN_AUGMENTER, NULL, &augs[made]);
    if (st == RG_OK)
        st = rg_source_open(data, NULL, &train, NULL, where, sizeof where);
    if (st == RG_OK) {
        if (images > train->n)
            images = train->n;
        int64_t px = train->c * train->h * train->w, k = train->num_classes;
        g = (grid){train->c, train->h, train->w, images, draws + 1, zoom, 2, 0, 0, NULL};
        g.H = g.gap + images * (g.h * zoom + g.gap);
        g.W = g.gap + (draws + 1) * (g.w * zoom + g.gap);
        g.planes = calloc((size_t)(g.c * g.H * g.W), 1);
        x = rg_alloc_floats((size_t)(images * px));
        orig = rg_alloc_floats((size_t)(images * px));
        t = rg_alloc_floats((size_t)(images * k));
        if (!g.planes || !x || !orig || !t)
            st = rg_error_set(RG_ERR_NOMEM, "augment: out of memory");
        for (int64_t i = 0; st == RG_OK && i < images * px; i++)
            orig[i] = (float)train->pixels[i] * (1.0f / 255.0f);
        memset(g.planes, 0x80, st == RG_OK ? (size_t)(g.c * g.H * g.W) : 0);
        for (int64_t r = 0; st == RG_OK && r < images; r++)
            put_cell(&g, r, 0, orig + r * px);
        for (int64_t d = 0; st == RG_OK && d < draws; d++) {
            memcpy(x, orig, (size_t)(images * px) * sizeof(float));
            memset(t, 0, (size_t)(images * k) * sizeof(float));
            for (int64_t r = 0; r < images; r++)
                t[r * k + train->labels[r]] = 1.0f;
            for (int a = 0; a < naug && st == RG_OK; a++) {
                rg_batch_view b = {sizeof b, 0, images, train->c, train->h, train->w, x, t, k};
                rg_rng_stream rng;
                rg_rng_stream_init(&rng, (uint64_t)seed, 0, (uint64_t)d, RG_SITE_AUGMENT + (uint64_t)a);
                rg_error_clear();
                if (augs[a]->plugin->aug.apply(augs[a]->inst, &b, &rng) != RG_OK)
                    st = rg_error_wrap(RG_ERR_PLUGIN, "plugin %s: apply() failed",
                                       augs[a]->plugin->desc.name);
            }
            for (int64_t r = 0; st == RG_OK && r < images; r++)
                put_cell(&g, r, d + 1, x + r * px);
        }
    }
    if (st == RG_OK)
        st = rg_png_write(out, g.planes, g.c, g.H, g.W);
    if (st == RG_OK)
        printf("wrote %s: %lld images x (original + %lld draws), %lldx%lld pixels\n", out,
               (long long)images, (long long)draws, (long long)g.W, (long long)g.H);
    for (int a = 0; a < made; a++)
        rg_plugin_instance_destroy(augs[a]);
    rg_dataset_destroy(train);
    rg_free(x);
    rg_free(orig);
    rg_free(t);
    free(g.planes);
    return st == RG_OK ? 0 : rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_error_message());
}
