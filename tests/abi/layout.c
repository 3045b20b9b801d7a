/* Compiled against each frozen header (tests/abi/v1.0, v1.1) and against
 * sdk/include, into tables named by RG_LAYOUT_TABLE. test_abi.c compares them:
 * every field of a released minor must keep its offset and size, every constant
 * its value. */
#include <stddef.h>

#include <regula/plugin.h>

#include "layout.h"

#define F(type, field) {#type "." #field, offsetof(type, field), sizeof(((type *)0)->field)}
#define C(name) {#name, (size_t)(name), 0}
#define S(type) {"sizeof " #type, sizeof(type), 0}

const rg_abi_entry RG_LAYOUT_TABLE[] = {
    F(rg_negotiation, struct_size), F(rg_negotiation, host_major),
    F(rg_negotiation, host_minor), F(rg_negotiation, plugin_major),
    F(rg_negotiation, plugin_minor),

    F(rg_tensor_view, struct_size), F(rg_tensor_view, kind), F(rg_tensor_view, ndim),
    F(rg_tensor_view, shape), F(rg_tensor_view, numel), F(rg_tensor_view, data),
    F(rg_tensor_view, name),

    F(rg_host_api, struct_size), F(rg_host_api, abi_major), F(rg_host_api, abi_minor),
    F(rg_host_api, library_version), F(rg_host_api, log), F(rg_host_api, set_error),
    F(rg_host_api, alloc), F(rg_host_api, free), F(rg_host_api, rng_uniform),
    F(rg_host_api, rng_normal), F(rg_host_api, sgemm), F(rg_host_api, saxpy),
    F(rg_host_api, parallel_for), F(rg_host_api, num_threads),

    F(rg_param_desc, struct_size), F(rg_param_desc, type), F(rg_param_desc, flags),
    F(rg_param_desc, name), F(rg_param_desc, doc), F(rg_param_desc, default_value),
    F(rg_param_desc, min_value), F(rg_param_desc, max_value), F(rg_param_desc, enum_values),
    F(rg_param_desc, default_string),

    F(rg_param_value, number), F(rg_param_value, string), S(rg_param_value),
    F(rg_params, struct_size), F(rg_params, count), F(rg_params, values),

    F(rg_activation_ctx, struct_size), F(rg_activation_ctx, mode), F(rg_activation_ctx, rng),
    F(rg_activation_ctx, state), F(rg_activation_ctx, state_bytes),
    F(rg_activation_ctx, output), F(rg_activation_ctx, penalty),

    F(rg_regularizer_hooks, struct_size), F(rg_regularizer_hooks, penalty),
    F(rg_regularizer_hooks, project), F(rg_regularizer_hooks, activation_state_bytes),
    F(rg_regularizer_hooks, activation_forward), F(rg_regularizer_hooks, activation_backward),

    F(rg_batch_view, struct_size), F(rg_batch_view, n), F(rg_batch_view, c),
    F(rg_batch_view, h), F(rg_batch_view, w), F(rg_batch_view, data),
    F(rg_batch_view, labels), F(rg_batch_view, num_classes),

    F(rg_augmenter_hooks, struct_size), F(rg_augmenter_hooks, apply),

    F(rg_plugin_desc, struct_size), F(rg_plugin_desc, kind), F(rg_plugin_desc, caps),
    F(rg_plugin_desc, num_params), F(rg_plugin_desc, name), F(rg_plugin_desc, version),
    F(rg_plugin_desc, doc), F(rg_plugin_desc, params), F(rg_plugin_desc, create),
    F(rg_plugin_desc, destroy), F(rg_plugin_desc, regularizer), F(rg_plugin_desc, augmenter),

    C(REGULA_ABI_MAJOR), C(RG_MAX_DIMS),
    C(RG_OK), C(RG_ERR_INVALID), C(RG_ERR_NOMEM), C(RG_ERR_IO), C(RG_ERR_FORMAT),
    C(RG_ERR_VERSION), C(RG_ERR_PLUGIN), C(RG_ERR_NUMERIC), C(RG_ERR_UNSUPPORTED),
    C(RG_TENSOR_WEIGHT), C(RG_TENSOR_BIAS), C(RG_TENSOR_ACTIVATION), C(RG_TENSOR_GRADIENT),
    C(RG_LOG_DEBUG), C(RG_LOG_INFO), C(RG_LOG_WARN), C(RG_LOG_ERROR),
    C(RG_PARAM_FLOAT), C(RG_PARAM_INT), C(RG_PARAM_BOOL), C(RG_PARAM_ENUM), C(RG_PARAM_STRING),
    C(RG_PARAM_LOG_SCALE), C(RG_PARAM_MIN_EXCLUSIVE), C(RG_PARAM_MAX_EXCLUSIVE),
    C(RG_MODE_TRAIN), C(RG_MODE_EVAL),
    C(RG_PLUGIN_REGULARIZER), C(RG_PLUGIN_AUGMENTER),
    C(RG_CAP_DETERMINISTIC), C(RG_CAP_REENTRANT), C(RG_CAP_PENALTY_NONNEG), C(RG_CAP_IN_PLACE),
    C(RG_NEGOTIATION_SIZE_V1_0), C(RG_TENSOR_VIEW_SIZE_V1_0), C(RG_HOST_API_SIZE_V1_0),
    C(RG_PARAM_DESC_SIZE_V1_0), C(RG_PARAMS_SIZE_V1_0), C(RG_ACTIVATION_CTX_SIZE_V1_0),
    C(RG_REGULARIZER_HOOKS_SIZE_V1_0), C(RG_BATCH_VIEW_SIZE_V1_0),
    C(RG_AUGMENTER_HOOKS_SIZE_V1_0), C(RG_PLUGIN_DESC_SIZE_V1_0),
#if REGULA_ABI_MINOR >= 1
    F(rg_step_info, struct_size), F(rg_step_info, epoch), F(rg_step_info, step),
    F(rg_step_info, lr),
    F(rg_regularizer_hooks, project_step), F(rg_regularizer_hooks, targets),
    C(RG_STEP_INFO_SIZE_V1_1), C(RG_REGULARIZER_HOOKS_SIZE_V1_1),
#endif
#if REGULA_ABI_MINOR >= 2
    F(rg_plugin_desc, state_size), F(rg_plugin_desc, state_save),
    F(rg_plugin_desc, state_load), C(RG_CAP_STATEFUL), C(RG_PLUGIN_DESC_SIZE_V1_2),
#endif
#if REGULA_ABI_MINOR >= 3
    F(rg_regularizer_hooks, linear_decay), C(RG_REGULARIZER_HOOKS_SIZE_V1_3),
#endif
#if REGULA_ABI_MINOR >= 4
    F(rg_activation_ctx, batch_row0), F(rg_activation_ctx, batch_rows),
    C(RG_ACTIVATION_CTX_SIZE_V1_4),
#endif
#if REGULA_ABI_MINOR >= 5
    F(rg_host_api, step_tensors), F(rg_host_api, step_tensor), F(rg_host_api, step_evaluate),
    C(RG_HOST_API_SIZE_V1_5),
    F(rg_param_ctx, struct_size), F(rg_param_ctx, mode), F(rg_param_ctx, rng),
    F(rg_param_ctx, epoch), F(rg_param_ctx, step), F(rg_param_ctx, lr),
    C(RG_PARAM_CTX_SIZE_V1_5),
    F(rg_regularizer_hooks, weight_forward), F(rg_regularizer_hooks, weight_backward),
    F(rg_regularizer_hooks, gradient), F(rg_regularizer_hooks, step_wrap),
    C(RG_REGULARIZER_HOOKS_SIZE_V1_5),
#endif
#if REGULA_ABI_MINOR >= 6
    F(rg_host_api, augmenter_create), F(rg_host_api, augmenter_apply),
    F(rg_host_api, augmenter_destroy), C(RG_HOST_API_SIZE_V1_6),
#endif
    {NULL, 0, 0},
};
