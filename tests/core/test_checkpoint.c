/* Checkpoints: a round trip restores every parameter bit for bit, and
 * each kind of damage or mismatch is refused with the documented status
 * (core/train/checkpoint.h: CRC-32 over the file, written via PATH.tmp). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "model/model.h"
#include "train/checkpoint.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/regula-ckpt-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
}

static void teardown(void)
{
    char p[160];
    unlink(path);
    snprintf(p, sizeof p, "%s.tmp", path);
    unlink(p);
    rmdir(dir);
}

TestSuite(checkpoint, .init = setup, .fini = teardown);

static const char *META = "{\"model\":\"mlp:5,4\",\"seed\":3}";

static rg_model *make_model(const char *spec_text, uint64_t seed)
{
    rg_model_spec spec;
    cr_assert_eq(rg_model_spec_parse(spec_text, &spec), RG_OK, "%s", rg_error_message());
    rg_model *m = NULL;
    cr_assert_eq(rg_model_build(&spec, (rg_shape){7, 1, 1, 1}, 3, &m), RG_OK, "%s",
                 rg_error_message());
    rg_model_init_params(m, seed);
    /* nonzero biases so they are part of what the round trip must keep */
    for (int i = 0; i < m->num_params; i++)
        if (m->params[i]->kind == RG_TENSOR_BIAS)
            for (int64_t j = 0; j < m->params[i]->numel; j++)
                m->params[i]->value[j] = (float)seed * 0.01f + (float)j;
    return m;
}

static void save(const rg_model *m)
{
    cr_assert_eq(rg_checkpoint_save(path, m, META), RG_OK, "%s", rg_error_message());
}

static long file_size(const char *p)
{
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "%s: %s", p, strerror(errno));
    return (long)st.st_size;
}

static int params_equal(const rg_model *a, const rg_model *b)
{
    for (int i = 0; i < a->num_params; i++)
        if (memcmp(a->params[i]->value, b->params[i]->value,
                   (size_t)a->params[i]->numel * sizeof(float)) != 0)
            return 0;
    return 1;
}

Test(checkpoint, round_trip_restores_params_and_meta)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    cr_assert(!params_equal(a, b), "the two models must start different");
    save(a);
    char *meta = NULL;
    cr_assert_eq(rg_checkpoint_load(path, b, &meta), RG_OK, "%s", rg_error_message());
    cr_assert(params_equal(a, b), "loaded parameters differ from the saved ones");
    cr_assert_not_null(meta);
    cr_assert_str_eq(meta, META);
    free(meta);
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, load_without_meta_pointer_succeeds)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    cr_assert_eq(rg_checkpoint_load(path, b, NULL), RG_OK, "%s", rg_error_message());
    cr_assert(params_equal(a, b));
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, no_tmp_file_remains_after_save)
{
    rg_model *a = make_model("mlp:5,4", 3);
    save(a);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_eq(access(path, F_OK), 0, "the checkpoint is missing");
    cr_assert_neq(access(tmp, F_OK), 0, "%s remains after a successful save", tmp);
    rg_model_destroy(a);
}

Test(checkpoint, file_size_matches_documented_layout)
{
    /* "RGCKPT02" | u32 meta_len | meta | u32 config_len | config (empty for a
     * model-only save) | u32 count | per tensor: u32 name_len, name, u32 ndim,
     * i64 shape[ndim], f32 data | u32 crc */
    rg_model *a = make_model("mlp:5,4", 3);
    save(a);
    long want = 8 + 4 + (long)strlen(META) + 4 + 4 + 4;
    for (int i = 0; i < a->num_params; i++) {
        const rg_param *p = a->params[i];
        want += 4 + (long)strlen(p->name) + 4 + 8 * (long)p->ndim + 4 * (long)p->numel;
    }
    cr_assert_eq(file_size(path), want);
    rg_model_destroy(a);
}

static void flip_byte(long at)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    cr_assert_neq(c, EOF);
    cr_assert_eq(fseek(f, at, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
    cr_assert_eq(fclose(f), 0);
}

Test(checkpoint, flipped_byte_is_a_checksum_format_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    flip_byte(file_size(path) / 2);
    char *meta = (char *)"sentinel";
    rg_status st = rg_checkpoint_load(path, b, &meta);
    cr_assert_eq(st, RG_ERR_FORMAT, "got %s: %s", rg_status_name(st), rg_error_message());
    cr_assert(strstr(rg_error_message(), "checksum"), "%s", rg_error_message());
    cr_assert_null(meta, "meta must be NULL after a failed load");
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, flipped_byte_in_meta_is_detected)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    flip_byte(8 + 4 + 2);
    cr_assert_eq(rg_checkpoint_load(path, b, NULL), RG_ERR_FORMAT);
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, truncated_file_is_an_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    cr_assert_eq(truncate(path, file_size(path) - 7), 0);
    rg_status st = rg_checkpoint_load(path, b, NULL);
    cr_assert_neq(st, RG_OK, "a truncated checkpoint loaded");
    cr_assert(st == RG_ERR_FORMAT || st == RG_ERR_IO, "got %s", rg_status_name(st));
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, file_shorter_than_header_is_an_io_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    cr_assert_eq(truncate(path, 10), 0);
    rg_status st = rg_checkpoint_load(path, b, NULL);
    cr_assert_eq(st, RG_ERR_IO, "got %s: %s", rg_status_name(st), rg_error_message());
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, wrong_magic_is_a_format_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5,4", 4);
    save(a);
    flip_byte(0);
    cr_assert_eq(rg_checkpoint_load(path, b, NULL), RG_ERR_FORMAT);
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, different_layer_count_is_a_format_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:5", 4);
    save(a);
    rg_status st = rg_checkpoint_load(path, b, NULL);
    cr_assert_eq(st, RG_ERR_FORMAT, "got %s: %s", rg_status_name(st), rg_error_message());
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, different_layer_width_is_a_format_error)
{
    rg_model *a = make_model("mlp:5,4", 3), *b = make_model("mlp:6,4", 4);
    save(a);
    rg_status st = rg_checkpoint_load(path, b, NULL);
    cr_assert_eq(st, RG_ERR_FORMAT, "got %s: %s", rg_status_name(st), rg_error_message());
    rg_model_destroy(a);
    rg_model_destroy(b);
}

Test(checkpoint, missing_file_is_an_io_error)
{
    rg_model *b = make_model("mlp:5,4", 4);
    char *meta = (char *)"sentinel";
    rg_status st = rg_checkpoint_load(path, b, &meta); /* never saved */
    cr_assert_eq(st, RG_ERR_IO, "got %s: %s", rg_status_name(st), rg_error_message());
    cr_assert_null(meta);
    rg_model_destroy(b);
}

Test(checkpoint, save_into_missing_directory_is_an_io_error)
{
    rg_model *a = make_model("mlp:5,4", 3);
    char bad[192];
    snprintf(bad, sizeof bad, "%s/no/such/dir/model.ckpt", dir);
    cr_assert_eq(rg_checkpoint_save(bad, a, META), RG_ERR_IO);
    rg_model_destroy(a);
}
