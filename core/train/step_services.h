/* The host services of ABI 1.5 a step_wrap hook calls (rg_host_api.step_*), implemented
 * by the trainer (param_hooks.c) and put in the host table by core/plugin/host.c. */
#ifndef RG_CORE_TRAIN_STEP_SERVICES_H
#define RG_CORE_TRAIN_STEP_SERVICES_H

#include "regula/plugin.h"

int64_t rg_host_step_tensors(const rg_step_handle *h);
rg_status rg_host_step_tensor(rg_step_handle *h, int64_t i, rg_tensor_view *value,
                              rg_tensor_view *grad);
rg_status rg_host_step_evaluate(rg_step_handle *h, double *loss);

#endif
