/* The recipe: one table of fields (recipe_fields.c) that the CLI's flags and help, the
 * JSON recipe file, checkpoints, resume checks, sweep keys and the Python keyword
 * arguments are all derived from. Values are kept as validated text; the run turns them
 * into a training configuration (rg_recipe_apply). */
#ifndef RG_CORE_RUN_RECIPE_H
#define RG_CORE_RUN_RECIPE_H

#include "../train/train.h"
#include "regula/regula.h"

enum {
    RG_FIELD_F_ALIAS = 1 /* writes into another field (aug_oneof appends to aug) */
};

typedef struct rg_field_def {
    const char *name;
    rg_field_type type;
    const char *def;
    double min, max;
    const char *choices;
    int resumable;
    const char *value_name;
    const char *doc;
    int flags;
} rg_field_def;

extern const rg_field_def rg_fields[];
extern const int rg_num_fields;
int rg_field_find(const char *name);

struct rg_recipe {
    rg_context *ctx;
    char *value[64];          /* scalar fields: malloc'ed text ("" = unset for lr) */
    char **items[64];         /* LIST fields */
    int count[64];
    unsigned char set[64];
    char *text[64];           /* what rg_recipe_get returned, per field */
};

/* The training configuration, model spec and plugin specs the recipe describes.
 * aug_specs[k] may hold a one-of group ("A;B"): rg_recipe_apply expands nothing, the
 * run does. */
rg_status rg_recipe_apply(const rg_recipe *r, rg_train_config *cfg);
/* Typed reads of a validated field (no failure: the value was checked when set). */
int64_t rg_recipe_int(const rg_recipe *r, const char *field);
double rg_recipe_number(const rg_recipe *r, const char *field);
int rg_recipe_bool(const rg_recipe *r, const char *field);
const char *rg_recipe_string(const rg_recipe *r, const char *field);
int rg_recipe_list(const rg_recipe *r, const char *field, char ***items);
/* 1 if the field holds the same value in both (numbers compared as numbers). */
int rg_recipe_field_equal(const rg_recipe *a, const rg_recipe *b, int field);
/* Copies field `i` of src into dst, marking it set. */
rg_status rg_recipe_take(rg_recipe *dst, const rg_recipe *src, int i);
/* The JSON object (jansson json_t *) of every field. */
void *rg_recipe_json(const rg_recipe *r);
rg_status rg_recipe_from_json_object(rg_recipe *r, void *object, const char *origin);

#endif
