/* Class names regula knows by data source. */
#include <string.h>

#include "cli.h"

/* Fashion-MNIST's, in label order (github.com/zalandoresearch/fashion-mnist, "Labels") */
static const char *const fashion[10] = {"tshirt_top", "trouser", "pullover", "dress", "coat",
                                        "sandal", "shirt", "sneaker", "bag", "ankle_boot"};

const char *rg_cli_class_name(const char *data, int64_t label)
{
    if (data && !strcmp(data, "fashion-mnist") && label >= 0 && label < 10)
        return fashion[label];
    return NULL;
}
