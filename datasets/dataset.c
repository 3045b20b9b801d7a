#include "dataset.h"

#include <stdlib.h>

void rg_dataset_destroy(rg_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pixels);
    free(ds->labels);
    free(ds);
}
