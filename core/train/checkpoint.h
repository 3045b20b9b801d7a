/* Checkpoints: the model's parameters plus a JSON record of how they were
 * made (model spec, seed, every plugin's name, version, ABI and parameters),
 * so a model is never reloaded under a different plugin silently.
 *
 * Layout (little-endian): "RGCKPT01" | u32 meta_len | meta JSON |
 * u32 num_tensors | per tensor (parameters, then buffers such as batchnorm
 * running statistics): u32 name_len, name, u32 ndim,
 * i64 shape[ndim], f32 data[numel] | u32 CRC-32 (zlib) of all previous bytes.
 * Written to PATH.tmp and renamed, so a crash never leaves half a file. */
#ifndef RG_CORE_CHECKPOINT_H
#define RG_CORE_CHECKPOINT_H

#include "../model/model.h"

rg_status rg_checkpoint_save(const char *path, const rg_model *m, const char *meta_json);
/* Loads into a model built from the same spec; *meta_out (malloc'ed, may be
 * NULL) receives the JSON record. */
rg_status rg_checkpoint_load(const char *path, rg_model *m, char **meta_out);

#endif
