/* Checkpoints: tensors (the model's parameters and buffers, optimizer state,
 * early-stopping snapshot) plus two records of how they were made: a JSON
 * object for people and tools (model spec, seed, every plugin's name,
 * version, ABI and parameters) and key=value lines the trainer reads back to
 * resume (counters, schedule state, the exact command-line configuration).
 *
 * Layout (little-endian): "RGCKPT02" | u32 meta_len | meta JSON |
 * u32 config_len | config text | u32 num_tensors | per tensor: u32 name_len,
 * name, u32 ndim, i64 shape[ndim], f32 data[numel] | u32 CRC-32 (zlib) of all
 * previous bytes. Written to PATH.tmp, fsynced and renamed, so a crash never
 * leaves half a file and the previous checkpoint stays intact. */
#ifndef RG_CORE_CHECKPOINT_H
#define RG_CORE_CHECKPOINT_H

#include "../model/model.h"

#define RG_CKPT_MAX_TENSORS 1024

typedef struct rg_ckpt_tensor {
    char name[96];
    uint32_t ndim;
    int64_t shape[4];
    int64_t numel;
    /* save: borrowed floats; read: points into the file image, not
     * necessarily 4-byte aligned, so copy it out with memcpy */
    const void *data;
} rg_ckpt_tensor;

typedef struct rg_checkpoint {
    char *meta;               /* NUL-terminated */
    char *config;             /* NUL-terminated key=value lines */
    int count;
    rg_ckpt_tensor tensors[RG_CKPT_MAX_TENSORS];
    unsigned char *image;     /* the file contents (read) */
} rg_checkpoint;

rg_status rg_checkpoint_write(const char *path, const char *meta, const char *config,
                              const rg_ckpt_tensor *tensors, int count);
/* Reads and verifies (magic, checksum, structure) the whole file. */
rg_status rg_checkpoint_read(const char *path, rg_checkpoint **out);
void rg_checkpoint_free(rg_checkpoint *c);
const rg_ckpt_tensor *rg_checkpoint_find(const rg_checkpoint *c, const char *name);
/* Copies the model's parameters and buffers out of c, checking that every
 * one is present with the model's shape. eval_forms: where the run's weight transform has an
 * evaluation form (tensor NAME#eval), the model takes that instead: what the run evaluated
 * with, for evaluation, prediction and export; a resume reads the weights themselves. */
rg_status rg_checkpoint_apply_model(const rg_checkpoint *c, const char *path, rg_model *m,
                                    int eval_forms);
/* Value of `key` in the config text, or NULL. */
const char *rg_checkpoint_config_get(const rg_checkpoint *c, const char *key, char *buf,
                                     size_t cap);

/* Model-only convenience wrappers. */
rg_status rg_checkpoint_save(const char *path, const rg_model *m, const char *meta_json);
rg_status rg_checkpoint_load(const char *path, rg_model *m, char **meta_out);

#endif
