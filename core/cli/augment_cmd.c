/* regula augment --data SRC --aug SPEC... --preview grid.png: shows what the
 * augmenters do before a user trains with them. Rows are images; the first
 * column is the original, the others independent draws (training steps
 * 0, 1, 2, ... of epoch 0, so exactly what training would see at those
 * steps for a batch of these images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "cli_error.h"
#include "../plot/plot.h"
#include "regula/regula.h"

#define MAX_AUGS 16

static const char usage[] =
    "usage: regula augment --data SRC --aug SPEC [--aug SPEC ...] --preview FILE.png\n"
    "                      [--images N] [--draws K] [--zoom Z] [--seed S]\n"
    "\n"
    "Writes a PNG grid: N training images (default 8) down, the original in the\n"
    "first column and K augmented draws (default 6) beside it, each pixel drawn\n"
    "Z x Z (default 3). Columns are titled (original, draw 1, ...), rows carry the\n"
    "image's class (its name where known, as for Fashion-MNIST), and the augmenter\n"
    "specs are the caption. SRC and SPEC as for regula train.\n";

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

/* The grid with its column titles, each row's class and the specs as a caption. */
static rg_status write_labeled(const grid *g, const char *data, const int32_t *labels,
                               const char *const *specs, int naug, const char *out)
{
    enum { MAX_COLS = 33, MAX_ROWS = 64 };
    char cols[MAX_COLS][24], rows[MAX_ROWS][48], caption[2048] = "";
    const char *colp[MAX_COLS], *rowp[MAX_ROWS];
    double cell_w = (double)(g->w * g->zoom + g->gap), cell_h = (double)(g->h * g->zoom + g->gap);
    int wide = cell_w >= 60; /* short titles when a cell is narrow */
    for (int64_t c = 0; c < g->cols && c < MAX_COLS; c++) {
        if (c == 0)
            snprintf(cols[c], sizeof cols[c], "%s", wide ? "original" : "orig");
        else
            snprintf(cols[c], sizeof cols[c], wide ? "draw %lld" : "%lld", (long long)c);
        colp[c] = cols[c];
    }
    for (int64_t r = 0; r < g->rows && r < MAX_ROWS; r++) {
        const char *name = rg_cli_class_name(data, labels[r]);
        if (name)
            snprintf(rows[r], sizeof rows[r], "%s", name);
        else
            snprintf(rows[r], sizeof rows[r], "class %d", (int)labels[r]);
        rowp[r] = rows[r];
    }
    size_t len = 0;
    for (int a = 0; a < naug && len < sizeof caption; a++)
        len += (size_t)snprintf(caption + len, sizeof caption - len, "%s--aug %s",
                                a ? " " : "", specs[a]);
    rg_grid_layout lay = {(int)g->rows, (int)g->cols, (double)g->gap, (double)g->gap,
                          cell_w, cell_h, colp, rowp, caption};
    return rg_plot_labeled_grid(g->planes, g->c, g->H, g->W, &lay, out);
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
            return rg_cli_fail(2, "%s", rg_cli_error_message());
    }
    if (!out || naug == 0)
        return rg_cli_fail(2, "augment: expected --aug SPEC and --preview FILE.png (see --help)");
    /* a run with the augmenters on the data: rg_run_augment then draws exactly what
     * training would see at steps 0, 1, 2, ... of the first epoch */
    rg_context *ctx = NULL;
    if (rg_cli_context(0, &ctx) != RG_OK)
        return rg_cli_fail(2, "%s", rg_cli_error_message());
    rg_recipe *r = NULL;
    rg_dataset *train = NULL;
    rg_run *run = NULL;
    float *x = NULL, *t = NULL, *orig = NULL;
    int32_t *labels = NULL;
    grid g = {0};
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%lld", (long long)seed);
    rg_status st = rg_recipe_create(ctx, &r);
    if (st == RG_OK)
        st = rg_recipe_set(r, "seed", seed_text);
    if (st == RG_OK)
        st = rg_recipe_set(r, "data", data);
    if (st == RG_OK)
        st = rg_recipe_set(r, "val", "0");
    for (int a = 0; st == RG_OK && a < naug; a++)
        st = rg_recipe_set(r, "aug", specs[a]);
    if (st == RG_OK)
        st = rg_dataset_open(ctx, data, "train", NULL, &train);
    if (st == RG_OK)
        st = rg_run_create_with_data(ctx, r, train, NULL, &run);
    int64_t n = 0, c = 0, h = 0, w = 0;
    int32_t k = 0;
    if (st == RG_OK) {
        rg_dataset_shape(train, &n, &c, &h, &w, &k);
        if (images > n)
            images = n;
        int64_t px = c * h * w;
        g = (grid){c, h, w, images, draws + 1, zoom, 2, 0, 0, NULL};
        g.H = g.gap + images * (g.h * zoom + g.gap);
        g.W = g.gap + (draws + 1) * (g.w * zoom + g.gap);
        g.planes = calloc((size_t)(g.c * g.H * g.W), 1);
        x = malloc((size_t)(images * px) * sizeof *x);
        orig = malloc((size_t)(images * px) * sizeof *orig);
        t = malloc((size_t)(images * k) * sizeof *t);
        labels = malloc((size_t)images * sizeof *labels);
        if (!g.planes || !x || !orig || !t || !labels)
            st = RG_ERR_NOMEM;
        if (st == RG_OK)
            st = rg_dataset_read(train, 0, images, orig, labels);
        if (st == RG_OK)
            memset(g.planes, 0x80, (size_t)(g.c * g.H * g.W));
        for (int64_t row = 0; st == RG_OK && row < images; row++)
            put_cell(&g, row, 0, orig + row * px);
        for (int64_t d = 0; st == RG_OK && d < draws; d++) {
            memcpy(x, orig, (size_t)(images * px) * sizeof(float));
            memset(t, 0, (size_t)(images * k) * sizeof(float));
            for (int64_t row = 0; row < images; row++)
                t[row * k + labels[row]] = 1.0f;
            st = rg_run_augment(run, x, t, images, d);
            for (int64_t row = 0; st == RG_OK && row < images; row++)
                put_cell(&g, row, d + 1, x + row * px);
        }
    }
    int labeled = 0;
    if (st == RG_OK) {
        labeled = 1;
        st = write_labeled(&g, data, labels, specs, naug, out);
        rg_plot_release_caches();
    }
    if (st == RG_OK)
        printf("wrote %s: %lld images x (original + %lld draws), a grid of %lldx%lld pixels\n", out,
               (long long)images, (long long)draws, (long long)g.W, (long long)g.H);
    else if (!labeled)
        rg_cli_error_set(st, "%s", st == RG_ERR_NOMEM ? "augment: out of memory"
                                                      : rg_context_error(ctx));
    rg_run_destroy(run);
    rg_dataset_destroy(train);
    rg_recipe_destroy(r);
    rg_context_destroy(ctx);
    free(x);
    free(orig);
    free(t);
    free(labels);
    free(g.planes);
    return st == RG_OK ? 0 : rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_cli_error_message());
}
