#include "dataset.h"

#include <stdlib.h>

void rg_dataset_destroy(rg_dataset *ds)
{
    if (!ds)
        return;
    if (!ds->borrowed) {
        free(ds->pixels);
        free(ds->fpixels);
    }
    free(ds->labels);
    if (ds->class_names)
        for (int32_t k = 0; k < ds->num_classes; k++)
            free(ds->class_names[k]);
    free(ds->class_names);
    free(ds);
}
