/* Compiled twice: against the frozen 0.2 embedding header (tests/abi/v0.2) and against
 * sdk/include, into tables named by RG_LAYOUT_TABLE. test_api_layout.c compares them:
 * every 0.2 field keeps its offset and size, every 0.2 constant its value. */
#include <stddef.h>

#include "regula/regula.h"

#include "layout.h"

#define F(type, field) {#type "." #field, offsetof(type, field), sizeof(((type *)0)->field)}
#define C(name) {#name, (size_t)(name), 0}

const rg_abi_entry RG_LAYOUT_TABLE[] = {
    F(rg_context_params, struct_size), F(rg_context_params, threads),
    F(rg_context_params, plugin_path), F(rg_context_params, log),
    F(rg_context_params, log_user),
    F(rg_dataset_params, struct_size), F(rg_dataset_params, center_crop),
    F(rg_dataset_params, channels),
    F(rg_field_info, struct_size), F(rg_field_info, name), F(rg_field_info, type),
    F(rg_field_info, default_text), F(rg_field_info, min), F(rg_field_info, max),
    F(rg_field_info, choices), F(rg_field_info, doc), F(rg_field_info, resumable),
    F(rg_field_info, value_name),
    F(rg_model_info, struct_size), F(rg_model_info, c), F(rg_model_info, h),
    F(rg_model_info, w), F(rg_model_info, num_classes), F(rg_model_info, parameters),
    F(rg_model_info, layers), F(rg_model_info, spec), F(rg_model_info, data),
    F(rg_metrics, struct_size), F(rg_metrics, loss), F(rg_metrics, accuracy),
    F(rg_metrics, count),
    F(rg_batch_info, struct_size), F(rg_batch_info, epoch), F(rg_batch_info, epochs),
    F(rg_batch_info, batch), F(rg_batch_info, batches), F(rg_batch_info, loss),
    F(rg_batch_info, accuracy), F(rg_batch_info, seconds),
    F(rg_epoch_info, struct_size), F(rg_epoch_info, epoch), F(rg_epoch_info, train_loss),
    F(rg_epoch_info, train_accuracy), F(rg_epoch_info, train_penalty),
    F(rg_epoch_info, val_loss), F(rg_epoch_info, val_accuracy), F(rg_epoch_info, lr),
    F(rg_epoch_info, seconds), F(rg_epoch_info, eval_seconds),
    F(rg_callbacks, struct_size), F(rg_callbacks, on_batch), F(rg_callbacks, on_epoch),
    F(rg_callbacks, user),
    F(rg_run_result, struct_size), F(rg_run_result, state), F(rg_run_result, epochs_done),
    F(rg_run_result, early_stopped), F(rg_run_result, best_epoch),
    F(rg_run_result, train_examples), F(rg_run_result, val_examples),
    F(rg_run_result, test_examples), F(rg_run_result, train), F(rg_run_result, val),
    F(rg_run_result, test), F(rg_run_result, seconds_per_epoch),
    F(rg_plugin_info, struct_size), F(rg_plugin_info, name), F(rg_plugin_info, path),
    F(rg_plugin_info, shadowed), F(rg_plugin_info, status), F(rg_plugin_info, error),
    F(rg_plugin_info, kind), F(rg_plugin_info, kind_name), F(rg_plugin_info, version),
    F(rg_plugin_info, doc), F(rg_plugin_info, abi_major), F(rg_plugin_info, abi_minor),
    F(rg_plugin_info, caps), F(rg_plugin_info, num_params), F(rg_plugin_info, params),
    F(rg_check_report, struct_size), F(rg_check_report, verdict), F(rg_check_report, check),
    F(rg_check_report, detail),
    F(rg_check_params, struct_size), F(rg_check_params, timeout_s),
    F(rg_check_params, host_minor), F(rg_check_params, report), F(rg_check_params, user),
    F(rg_check_counts, struct_size), F(rg_check_counts, passed), F(rg_check_counts, failed),
    F(rg_check_counts, na),
    C(RG_VERDICT_PASS), C(RG_VERDICT_FAIL), C(RG_VERDICT_NA),
    C(RG_PIXELS_U8), C(RG_PIXELS_F32), C(RG_MEMORY_COPY), C(RG_MEMORY_BORROW),
    C(RG_FIELD_INT), C(RG_FIELD_NUMBER), C(RG_FIELD_BOOL), C(RG_FIELD_STRING),
    C(RG_FIELD_CHOICE), C(RG_FIELD_LIST),
    C(RG_RUN_READY), C(RG_RUN_PAUSED), C(RG_RUN_COMPLETE), C(RG_RUN_FAILED),
    C(REGULA_VERSION_MAJOR),
    {NULL, 0, 0},
};
