/* regula embedding API: train, evaluate and save models from a host program.
 *
 * Conventions (they hold for every function below):
 * - Handles are opaque. Each `_create`/`_open`/`_load` has a `_destroy`; destroy functions
 *   accept NULL. A handle remembers its context; destroy handles before their context.
 * - Every fallible call returns an rg_status. On failure the message is kept on the
 *   handle's context (rg_context_error); calls that have no context yet (rg_context_create,
 *   a NULL context) leave it in rg_last_error(), which is per thread.
 * - Messages speak of recipe fields ("epochs", "reg"), never of command-line flags.
 * - Parameter structs start with struct_size and only grow at the end. Fill them with
 *   the `*_default_params()` inline functions, which record the size your program was
 *   compiled with, so an older program keeps working against a newer library.
 * - Strings passed in are copied unless the call says "borrowed". Strings returned are
 *   owned by the handle and valid until the next call on it, unless the call says to free
 *   them with rg_free().
 * - One context may be used by one thread at a time; different contexts may train
 *   concurrently on different threads (each is bit-identical to its run alone).
 *
 * The reference, with ownership rules and errors per function: sdk/README.md. */
#ifndef REGULA_REGULA_H
#define REGULA_REGULA_H

#include <stddef.h>
#include <stdint.h>

#include "regula/plugin.h"
#include "regula/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REGULA_VERSION_MAJOR 0
#define REGULA_VERSION_MINOR 6
#define REGULA_VERSION_PATCH 0
#define REGULA_VERSION_STRING "0.6.0"

#if defined(__GNUC__) && defined(REGULA_BUILDING_LIBRARY)
#define RG_API __attribute__((visibility("default")))
#else
#define RG_API
#endif

/* ---- version and errors (0.1) ------------------------------------------------------ */

/* The library's version, e.g. "0.2.0", and the plugin ABI it serves. */
RG_API const char *rg_version(void);
RG_API void rg_abi_version(unsigned *major, unsigned *minor);
/* The message of the last failure on this thread. */
RG_API const char *rg_last_error(void);
RG_API const char *rg_status_string(rg_status status);
/* Which OpenBLAS build is loaded: "openmp", "pthread" or "sequential" (0.2). */
RG_API const char *rg_blas_kind(void);

/* ---- context (0.2) ------------------------------------------------------------------ */

typedef struct rg_context rg_context;

/* level: RG_LOG_DEBUG .. RG_LOG_ERROR (regula/plugin.h). Called on the thread that made
 * the call on this context (plugins' log calls included). */
typedef void (*rg_log_callback)(void *user, int level, const char *message);

typedef struct rg_context_params {
    uint32_t struct_size;
    int threads;             /* OpenMP and OpenBLAS threads; <= 0: $REGULA_THREADS, else
                                every online processor */
    const char *plugin_path; /* ':'-separated plugin directories searched before
                                $REGULA_PLUGIN_PATH and the installed ones; may be NULL */
    rg_log_callback log;     /* NULL: messages are dropped */
    void *log_user;
    /* 0.3: RG_CONTEXT_* bits, 0 by default. */
    uint32_t flags;
    /* 0.5: data-parallel training over MPI. A pointer to an MPI_Comm (e.g.
     * &MPI_COMM_WORLD, after MPI_Init), or NULL (default): this process alone. Every rank
     * of the communicator creates its context with it and runs the same recipe; each
     * trains its share of every global batch, gradients are summed over the ranks, and
     * rank 0 alone writes checkpoints, metrics and summaries. The library duplicates the
     * communicator. Needs a libregula built with MPI (rg_context_create returns
     * RG_ERR_UNSUPPORTED otherwise); rg_mpi_available() tells. */
    const void *mpi_comm;
} rg_context_params;

/* Load plugin files that other users can write (or that lie in a directory they can
 * write), which are refused by default: such a file can be swapped for any code. */
#define RG_CONTEXT_ALLOW_INSECURE_PLUGINS 0x1u
/* Load plugin files directly, without first loading each in a short-lived child process
 * (the probe that reports a constructor that crashes, exits or hangs). */
#define RG_CONTEXT_NO_PLUGIN_PROBE 0x2u

RG_API void rg_context_params_init(rg_context_params *params, size_t size);
static inline rg_context_params rg_context_default_params(void)
{
    rg_context_params p;
    rg_context_params_init(&p, sizeof p);
    return p;
}
/* params may be NULL (defaults). On failure *out is NULL; read rg_last_error(). */
RG_API rg_status rg_context_create(const rg_context_params *params, rg_context **out);
RG_API void rg_context_destroy(rg_context *ctx);
/* The message of the last failed call on this context ("" if none). */
RG_API const char *rg_context_error(const rg_context *ctx);
RG_API int rg_context_threads(const rg_context *ctx);
/* 0.5: 1 if this libregula was built with MPI (rg_context_params.mpi_comm works). */
RG_API int rg_mpi_available(void);
/* 0.5: this context's rank and the number of ranks (0 and 1 without a communicator). */
RG_API int rg_context_rank(const rg_context *ctx);
RG_API int rg_context_ranks(const rg_context *ctx);

/* Frees what a call documented as "free with rg_free" returned. */
RG_API void rg_free(void *p);

/* ---- in-process plugins (0.2) ------------------------------------------------------- */

/* Registers a plugin compiled into the host program (entry: the function a .so would
 * export as regula_plugin_entry_v1, usually written with RG_DEFINE_PLUGIN under another
 * name): it goes through the same negotiation
 * and descriptor/schema validation as a .so, and recipes name it by its descriptor's name
 * (it takes precedence over a .so of that name). Errors: RG_ERR_VERSION, RG_ERR_PLUGIN
 * (the descriptor breaks the ABI rules), RG_ERR_INVALID (a plugin of that name is already
 * registered on this context). */
RG_API rg_status rg_plugin_register(rg_context *ctx, rg_plugin_entry_fn entry);

/* ---- plugin listing and conformance (0.2) ------------------------------------------ */

typedef struct rg_plugin_info {
    uint32_t struct_size;
    const char *name;        /* the file's name without .so (the descriptor's for in-process) */
    const char *path;
    int shadowed;            /* a same-named plugin earlier in the search path wins; nothing
                                below is set */
    rg_status status;        /* RG_OK, or why the plugin failed to load (then `error`) */
    const char *error;
    uint32_t kind;           /* RG_PLUGIN_REGULARIZER or RG_PLUGIN_AUGMENTER */
    const char *kind_name;   /* "regularizer", "augmenter" */
    const char *version, *doc;
    uint32_t abi_major, abi_minor; /* what the plugin negotiated */
    uint32_t caps;
    uint32_t num_params;
    const rg_param_desc *params; /* the schema as the host validated it */
    const char *descriptor_name; /* 0.3: the name in the plugin's descriptor (differs from
                                    `name` when the file was renamed) */
} rg_plugin_info;

/* Called once per plugin; every pointer is borrowed for the call only. Return nonzero to
 * stop the listing. */
typedef int (*rg_plugin_visit_fn)(void *user, const rg_plugin_info *info);

/* Every *.so of the search path (the context's plugin_path, $REGULA_PLUGIN_PATH, the
 * directory next to libregula, the installed one), sorted by name within each directory,
 * loaded to read its schema; a file that fails to load is visited with its reason. Errors:
 * RG_ERR_INVALID (NULL arguments). */
RG_API rg_status rg_plugins_list(rg_context *ctx, rg_plugin_visit_fn visit, void *user);
/* Loads the plugin a spec names (role "reg" or "aug") and validates the spec's parameters
 * against its schema, creating and destroying one instance: what a run would refuse, said
 * before any data is read. Errors as for rg_run_create's plugins. */
RG_API rg_status rg_plugin_validate(rg_context *ctx, const char *role, const char *spec);
/* "float", "int", "bool", "enum", "string". */
RG_API const char *rg_param_type_string(uint32_t type);
/* A parameter's value as a user would type it (v NULL: its default). */
RG_API void rg_param_value_text(const rg_param_desc *d, const rg_param_value *v, char *buf,
                                size_t cap);

typedef enum rg_verdict {
    RG_VERDICT_PASS = 0,
    RG_VERDICT_FAIL = 1,
    RG_VERDICT_NA = 2        /* the check does not apply to this plugin; not a pass */
} rg_verdict;

typedef struct rg_check_report {
    uint32_t struct_size;
    rg_verdict verdict;
    const char *check;       /* e.g. "penalty gradient" */
    const char *detail;      /* what was found and how to fix it; borrowed for the call */
} rg_check_report;

typedef void (*rg_check_report_cb)(void *user, const rg_check_report *report);

typedef struct rg_check_params {
    uint32_t struct_size;
    double timeout_s;        /* per check; <= 0: 20 s */
    uint32_t host_minor;     /* the ABI minor the current host offers; 0: this library's */
    rg_check_report_cb report; /* one call per check, in order; may be NULL */
    void *user;
} rg_check_params;
RG_API void rg_check_params_init(rg_check_params *params, size_t size);
static inline rg_check_params rg_check_default_params(void)
{
    rg_check_params p;
    rg_check_params_init(&p, sizeof p);
    return p;
}

typedef struct rg_check_counts {
    uint32_t struct_size;
    int passed, failed, na;
} rg_check_counts;

/* `regula plugin check`: every conformance check that applies to the plugin at path, each
 * in a forked child with a timeout (crash, exit and hang are verdicts, not failures of the
 * call). Call it before the process has started OpenMP threads (libgomp's pool does not
 * survive a fork). Returns RG_OK when the checks ran, whatever their verdicts (read
 * counts); RG_ERR_IO when path is unreadable; RG_ERR_NOMEM/RG_ERR_IO when fork or a pipe
 * failed. */
RG_API rg_status rg_plugin_check(rg_context *ctx, const char *path,
                                 const rg_check_params *params, rg_check_counts *counts);
RG_API const char *rg_verdict_string(rg_verdict v);

/* ---- datasets (0.2) ----------------------------------------------------------------- */

typedef struct rg_dataset rg_dataset;

typedef struct rg_dataset_params {
    uint32_t struct_size;
    int center_crop;         /* png: crop larger images to the first image's size */
    int channels;            /* png: 0 as stored, 1 gray, 3 RGB */
} rg_dataset_params;
RG_API void rg_dataset_params_init(rg_dataset_params *params, size_t size);
static inline rg_dataset_params rg_dataset_default_params(void)
{
    rg_dataset_params p;
    rg_dataset_params_init(&p, sizeof p);
    return p;
}

/* source: "fashion-mnist" ($REGULA_DATA or Debian's dataset-fashion-mnist), "idx:DIR",
 * "png:DIR" (DIR/<part>/<class>/NAME.png) or "csv:DIR" (DIR/<part>.csv); part: "train" or
 * "test". params may be NULL. Errors: RG_ERR_INVALID (source or part), RG_ERR_IO,
 * RG_ERR_FORMAT (with file and offset, line or column). */
RG_API rg_status rg_dataset_open(rg_context *ctx, const char *source, const char *part,
                                 const rg_dataset_params *params, rg_dataset **out);

typedef enum rg_pixel_type {
    RG_PIXELS_U8 = 1,        /* 0..255, scaled by 1/255 as the network reads them */
    RG_PIXELS_F32 = 2        /* read as given (finite values; [0, 1] for the stock
                                augmenters) */
} rg_pixel_type;

enum {
    RG_MEMORY_COPY = 0,      /* the dataset copies the pixels */
    RG_MEMORY_BORROW = 1     /* the dataset reads the caller's pixels, which must stay
                                valid and unchanged until rg_dataset_destroy */
};

/* n images of c x h x w pixels, image-major then channel, row, column (NCHW), and n labels
 * in [0, num_classes). num_classes <= 0: the largest label + 1. Labels are always copied.
 * Errors: RG_ERR_INVALID (n, a shape or num_classes out of range, NULL arrays, a label out
 * of range (its index is named), a non-finite float pixel), RG_ERR_NOMEM. */
RG_API rg_status rg_dataset_from_memory(rg_context *ctx, int64_t n, int64_t c, int64_t h,
                                        int64_t w, rg_pixel_type type, const void *pixels,
                                        const int32_t *labels, int32_t num_classes,
                                        unsigned flags, rg_dataset **out);
RG_API void rg_dataset_destroy(rg_dataset *ds);
/* One PNG image (gray, RGB, RGBA, palette or 16-bit, converted to c channels) as c*h*w
 * floats in [0, 1], the scale the network reads; center_crop: crop a larger image to h x w
 * instead of refusing it. Errors: RG_ERR_IO, RG_ERR_FORMAT (libpng's reason), RG_ERR_INVALID
 * (size mismatch, NULL out). */
RG_API rg_status rg_image_read_png(rg_context *ctx, const char *path, int64_t c, int64_t h,
                                   int64_t w, int center_crop, float *out);
/* Writes c planes of h x w bytes (gray, or RGB for c = 3) as a PNG file. */
RG_API rg_status rg_image_write_png(rg_context *ctx, const char *path, const uint8_t *planes,
                                    int64_t c, int64_t h, int64_t w);
/* Images first .. first+count-1 as floats (the scale the network reads) and their labels;
 * either output may be NULL. Errors: RG_ERR_INVALID (range). */
RG_API rg_status rg_dataset_read(const rg_dataset *ds, int64_t first, int64_t count,
                                 float *images, int32_t *labels);
/* The first `limit` images (0: all) as DIR/<NN_class>/<index>.png, the layout png:DIR
 * sources read; DIR is created and must be empty. Errors: RG_ERR_IO. */
RG_API rg_status rg_dataset_write_png(const rg_dataset *ds, const char *dir, int64_t limit);
/* Any output may be NULL. */
RG_API rg_status rg_dataset_shape(const rg_dataset *ds, int64_t *n, int64_t *c, int64_t *h,
                                  int64_t *w, int32_t *num_classes);

/* ---- recipe (0.2) ------------------------------------------------------------------- */

/* A run's description: one table of fields (rg_recipe_field) with names, types, defaults,
 * ranges and docs, from which the CLI's flags, the JSON recipe file, checkpoints, sweeps
 * and the Python keyword arguments are all derived. */
typedef struct rg_recipe rg_recipe;

typedef enum rg_field_type {
    RG_FIELD_INT = 1,
    RG_FIELD_NUMBER = 2,
    RG_FIELD_BOOL = 3,       /* true/false, 1/0, yes/no, on/off */
    RG_FIELD_STRING = 4,
    RG_FIELD_CHOICE = 5,     /* one of `choices` ('|'-separated) */
    RG_FIELD_LIST = 6        /* repeatable strings: each set appends */
} rg_field_type;

typedef struct rg_field_info {
    uint32_t struct_size;
    const char *name;        /* e.g. "lr_schedule"; the CLI flag is --lr-schedule */
    rg_field_type type;
    const char *default_text;
    double min, max;         /* INT and NUMBER */
    const char *choices;     /* CHOICE */
    const char *doc;         /* one paragraph */
    int resumable;           /* may differ when a saved run is resumed */
    const char *value_name;  /* placeholder for help texts, e.g. "N" */
} rg_field_info;

RG_API int rg_recipe_field_count(void);
/* Fields 0 .. rg_recipe_field_count()-1, in table order. info->struct_size must be set. */
RG_API rg_status rg_recipe_field(int index, rg_field_info *info);

/* A recipe holding every field's default. */
RG_API rg_status rg_recipe_create(rg_context *ctx, rg_recipe **out);
RG_API rg_status rg_recipe_copy(const rg_recipe *r, rg_recipe **out);
RG_API void rg_recipe_destroy(rg_recipe *r);
/* Parses and range-checks value for field (LIST fields append it). Errors name the field,
 * the value and what was expected: RG_ERR_INVALID. */
RG_API rg_status rg_recipe_set(rg_recipe *r, const char *field, const char *value);
/* Back to the default (LIST: empty), and no longer counted as set. */
RG_API rg_status rg_recipe_reset(rg_recipe *r, const char *field);
/* The value as text (LIST: entries joined with '\n'), NULL for an unknown field; borrowed:
 * valid until the next rg_recipe_get of the same field or rg_recipe_destroy. */
RG_API const char *rg_recipe_get(const rg_recipe *r, const char *field);
/* 1 if the field was set (by rg_recipe_set or a recipe file), 0 if it holds its default. */
RG_API int rg_recipe_is_set(const rg_recipe *r, const char *field);
/* Plugins by name with typed parameters: appends NAME to the "reg" or "aug" list and
 * returns its index; then set its parameters (validated against the plugin's schema when
 * the run is created). */
RG_API rg_status rg_recipe_add_plugin(rg_recipe *r, const char *role, const char *name,
                                      int *index);
RG_API rg_status rg_recipe_set_plugin_param(rg_recipe *r, const char *role, int index,
                                            const char *key, const char *value);
/* The JSON form: an object of fields (unknown keys, wrong types and bad values are
 * refused with file:line:column). Reading applies the file's fields over r. */
RG_API rg_status rg_recipe_load_json(rg_recipe *r, const char *path);
RG_API rg_status rg_recipe_parse_json(rg_recipe *r, const char *text, const char *origin);
/* Every field with its effective value; free with rg_free. NULL when out of memory. */
RG_API char *rg_recipe_to_json(const rg_recipe *r);

/* ---- models (0.2) ------------------------------------------------------------------- */

typedef struct rg_model rg_model;

typedef struct rg_model_info {
    uint32_t struct_size;
    int64_t c, h, w;         /* input shape */
    int32_t num_classes;
    int64_t parameters;      /* trainable scalars */
    int32_t layers;
    const char *spec;        /* e.g. "mlp:512,256"; borrowed from the model */
    const char *data;        /* the data source it was trained on ("" if unknown) */
} rg_model_info;

typedef struct rg_metrics {
    uint32_t struct_size;
    double loss;             /* mean cross-entropy in eval mode (data loss only) */
    double accuracy;
    int64_t count;
} rg_metrics;

/* The trained model of a checkpoint written by rg_run_save (or regula train --save), for
 * evaluation and prediction only: it cannot be trained (resume the run for that).
 * Errors: RG_ERR_IO, RG_ERR_FORMAT (checksum, structure, missing tensors). */
RG_API rg_status rg_model_load(rg_context *ctx, const char *path, rg_model **out);
RG_API void rg_model_destroy(rg_model *m);
RG_API rg_status rg_model_get_info(const rg_model *m, rg_model_info *info);
/* Class probabilities (softmax, eval mode) of n images laid out as the model's input
 * (NCHW, in the scale the network reads: 0..1 for images stored as uint8) into
 * probs[n * num_classes]. Errors: RG_ERR_INVALID (NULL arrays, n < 1, count != the
 * model's c*h*w), RG_ERR_NUMERIC (a non-finite input). */
RG_API rg_status rg_model_predict(rg_model *m, const float *images, int64_t n,
                                  int64_t values_per_image, float *probs);
/* Eval-mode metrics over a dataset whose images have the model's shape and whose labels
 * are below its number of classes (RG_ERR_INVALID otherwise). */
RG_API rg_status rg_model_evaluate(rg_model *m, const rg_dataset *ds, rg_metrics *out);
/* Every parameter and buffer as a NumPy .npz archive (uncompressed, float32 arrays named
 * "<layer>.weight", "<layer>.bias", "<layer>.running_mean", "<layer>.running_var", with
 * PyTorch's names (batch norm's gamma and beta as weight and bias) and layouts (dense
 * weight [out, in], conv weight [out, in, kh, kw]); layers are named conv1, dense2, ...). */
RG_API rg_status rg_model_export_npz(const rg_model *m, const char *path);

/* ---- runs (0.2) --------------------------------------------------------------------- */

typedef struct rg_run rg_run;

typedef struct rg_batch_info {
    uint32_t struct_size;
    int64_t epoch, epochs;   /* 1-based epoch of the run */
    int64_t batch, batches;  /* 1-based batch within the epoch */
    double loss, accuracy;   /* running means over the epoch so far (train mode) */
    double seconds;          /* since the epoch started */
} rg_batch_info;

typedef struct rg_epoch_info {
    uint32_t struct_size;
    int64_t epoch;           /* 1-based */
    double train_loss, train_accuracy; /* running means in train mode, data loss only */
    double train_penalty;    /* running mean of what the regularizers added to the loss */
    double val_loss, val_accuracy;     /* eval mode; NaN without a validation split */
    double lr;               /* learning rate of the next step */
    double seconds;          /* training steps only */
    double eval_seconds;
} rg_epoch_info;

/* Return 0 to go on; nonzero asks for a clean stop, as rg_run_request_stop does. */
typedef int (*rg_batch_callback)(void *user, const rg_batch_info *info);
typedef int (*rg_epoch_callback)(void *user, const rg_epoch_info *info);

typedef struct rg_callbacks {
    uint32_t struct_size;
    rg_batch_callback on_batch; /* may be NULL */
    rg_epoch_callback on_epoch; /* may be NULL; after the epoch's checkpoint is written */
    void *user;
} rg_callbacks;
RG_API void rg_callbacks_init(rg_callbacks *cb, size_t size);
static inline rg_callbacks rg_default_callbacks(void)
{
    rg_callbacks c;
    rg_callbacks_init(&c, sizeof c);
    return c;
}

typedef enum rg_run_state {
    RG_RUN_READY = 0,        /* created or resumed, epochs left */
    RG_RUN_PAUSED = 1,       /* stopped by stop_after, stop_at_epoch or a stop request; fit again or
                                save and resume later */
    RG_RUN_COMPLETE = 2,     /* all epochs done, or early stopping ended it */
    RG_RUN_FAILED = 3        /* a step failed (the message names plugin, hook, step);
                                the last good checkpoint is kept */
} rg_run_state;

typedef struct rg_run_result {
    uint32_t struct_size;
    rg_run_state state;
    int64_t epochs_done;
    int early_stopped;       /* early stopping ended the run */
    int64_t best_epoch;      /* epoch whose weights were restored at the end, or 0 */
    int64_t train_examples, val_examples, test_examples; /* test: 0 without a test set */
    rg_metrics train, val, test; /* eval mode after the end; NaN/0 when not evaluated */
    double seconds_per_epoch;
} rg_run_result;

/* Builds a run from a recipe: opens the recipe's data source (train and test parts),
 * loads and validates its plugins, builds and initializes the model. Errors name the
 * field: RG_ERR_INVALID, RG_ERR_IO, RG_ERR_FORMAT, RG_ERR_VERSION, RG_ERR_PLUGIN. */
RG_API rg_status rg_run_create(rg_context *ctx, const rg_recipe *recipe, rg_run **out);
/* The same on the caller's datasets (borrowed: they must outlive the run; test may be
 * NULL: the run then evaluates no test set). The recipe's "data" field is only recorded. */
RG_API rg_status rg_run_create_with_data(rg_context *ctx, const rg_recipe *recipe,
                                         const rg_dataset *train, const rg_dataset *test,
                                         rg_run **out);
/* Continues the run saved in path with the given recipe: fields the recipe sets must equal
 * the stored ones unless resumable (the error names the field, the stored value and the
 * given one); fields it leaves unset take the stored values. recipe may be NULL. Training
 * on from here gives, bit for bit, what the uninterrupted run gives. */
RG_API rg_status rg_run_resume(rg_context *ctx, const char *path, const rg_recipe *recipe,
                               rg_run **out);
RG_API rg_status rg_run_resume_with_data(rg_context *ctx, const char *path,
                                         const rg_recipe *recipe, const rg_dataset *train,
                                         const rg_dataset *test, rg_run **out);
RG_API void rg_run_destroy(rg_run *run);

/* Trains until the recipe's epochs are done, early stopping ends the run, stop_after
 * epochs have run in this call, the run has stop_at_epoch epochs (0.4), or a stop is
 * requested; after each epoch it writes the
 * metrics line and the checkpoint the recipe asks for. When the run completes it restores
 * the best weights (early stopping), evaluates train, validation and test (unless the
 * recipe's test is false) and writes the summary. cb may be NULL. On an error the run is
 * RG_RUN_FAILED and the checkpoint of the last good epoch stays on disk. */
RG_API rg_status rg_run_fit(rg_run *run, const rg_callbacks *cb);
/* Asks the fit in progress to stop cleanly after the current batch. Async-signal-safe.
 * 0.3: the stopped epoch's progress is kept: rg_run_fit again goes on from the next
 * batch, and rg_run_save (or the recipe's save, written at the stop) makes a checkpoint a
 * resume goes on from, bit-identically. (0.2 restarted the epoch.) */
RG_API void rg_run_request_stop(rg_run *run);
RG_API rg_status rg_run_get_result(const rg_run *run, rg_run_result *out);
/* Per-epoch history, epochs 1 .. epochs_done. */
RG_API rg_status rg_run_get_epoch(const rg_run *run, int64_t epoch, rg_epoch_info *out);
/* Eval-mode metrics of the current weights. In a data-parallel run (0.5) every rank calls it:
 * each evaluates its share of ds and the sums are added over the ranks. */
RG_API rg_status rg_run_evaluate(rg_run *run, const rg_dataset *ds, rg_metrics *out);
/* The effective recipe of the run (borrowed from the run). */
RG_API const rg_recipe *rg_run_recipe(const rg_run *run);
/* The run's model (borrowed from the run), for prediction and export. */
RG_API rg_model *rg_run_model(rg_run *run);
/* The run's augmenters (its aug list, one-of groups included) applied in place to n <=
 * batch images (c*h*w floats each) and their target rows (n x classes), with exactly the
 * randomness training uses at global step `step` of the current epoch: what a preview
 * shows is what training sees. Errors: RG_ERR_INVALID (n), RG_ERR_PLUGIN (the plugin and
 * hook named). */
RG_API rg_status rg_run_augment(rg_run *run, float *images, float *targets, int64_t n,
                                int64_t step);
/* Writes everything a resume needs (atomically: path.tmp, fsync, rename). In a
 * data-parallel run (0.5) only rank 0 writes; the other ranks return RG_OK. */
RG_API rg_status rg_run_save(rg_run *run, const char *path);
/* Text describing the run's plugins: one line each, "reg NAME VERSION (SPEC) on TARGETS"
 * or "aug NAME VERSION (SPEC)"; borrowed from the run. */
RG_API const char *rg_run_describe_plugins(rg_run *run);

/* ---- model summary and checkpoint contents (0.6) ------------------------------------ */

/* One layer of a model, as Keras's model.summary() lists it. */
typedef struct rg_layer_info {
    uint32_t struct_size;
    const char *name;        /* "conv1", "relu1": what layers= and after= take; borrowed */
    const char *type;        /* "dense", "conv", "relu", "maxpool", ...; borrowed */
    int64_t out_c, out_h, out_w; /* one sample's output (a flat layer: out_c features) */
    int64_t parameters;      /* trainable scalars (weights and biases) */
    double weight_norm;      /* L2 norm of its trainable scalars (0 when it has none) */
    double zeros;            /* fraction of them that are exactly 0 (NaN when none) */
} rg_layer_info;

RG_API int rg_model_layer_count(const rg_model *m);
/* Errors: RG_ERR_INVALID (index outside [0, rg_model_layer_count), info's struct_size). */
RG_API rg_status rg_model_get_layer(const rg_model *m, int index, rg_layer_info *info);
/* The run's regularizers that touch layer `index`: penalties and constraints on its weights
 * or biases, activation hooks after it; "name, name" into buf ("" when none). */
RG_API rg_status rg_run_layer_hooks(rg_run *run, int index, char *buf, size_t cap);
/* What a checkpoint written by rg_run_save holds, as JSON (free with rg_free): the identity
 * (regula_version, data, model, parameters, seed, threads, plugins with version, spec,
 * params and targets), epochs_done, recipe, state (epoch, step, optimizer steps) and history
 * (per-epoch train/validation metrics). Errors: RG_ERR_IO, RG_ERR_FORMAT. */
RG_API rg_status rg_checkpoint_describe(rg_context *ctx, const char *path, char **json);

/* ---- fault attribution (0.2) ------------------------------------------------------ */

/* Async-signal-safe: writes one line per plugin hook running right now in this process
 * ("<prefix>plugin NAME (PATH), hook penalty(), epoch E, step S") to fd and returns how many
 * there are (fd < 0: only counts). For a host's SIGSEGV/SIGABRT handler or atexit handler,
 * to name the plugin that crashed or called exit(). The library installs no handler. */
RG_API int rg_hooks_describe(int fd, const char *prefix);
/* Seconds the longest-running plugin hook has run so far (0 when none runs): what a host's
 * watchdog thread polls to end a hung plugin. */
RG_API double rg_hooks_longest(void);

#ifdef __cplusplus
}
#endif
#endif
