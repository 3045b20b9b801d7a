/* The recipe's fields, described once. Order is the order of --help, --print-config and
 * the stored recipe. Appending is compatible; renaming or removing a field is not. */
#include <string.h>

#include "recipe.h"

#define BIG 9.2e18

const rg_field_def rg_fields[] = {
    {"data", RG_FIELD_STRING, "fashion-mnist", 0, 0, NULL, 0, "SRC",
     "fashion-mnist (IDX files in $REGULA_DATA, default /usr/share/datasets/fashion-mnist), "
     "idx:DIR ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]), png:DIR "
     "(DIR/train/<class>/*.png, DIR/test/<class>/*.png) or csv:DIR (DIR/train.csv, "
     "DIR/test.csv: label,p0,p1,...)", 0},
    {"center_crop", RG_FIELD_BOOL, "false", 0, 1, NULL, 0, NULL,
     "png: crop images larger than the first one to its size", 0},
    {"model", RG_FIELD_STRING, "mlp:512,256", 0, 0, NULL, 0, "SPEC",
     "mlp:H1,H2,... (hidden ReLU layers), or a comma-separated layer list, e.g. "
     "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10; "
     "layers: dense:UNITS, relu, conv:CHANNELS:K[:STRIDE[:PAD]] (stride 1, pad K/2 by "
     "default), maxpool:K[:STRIDE], avgpool:K[:STRIDE] (stride K by default), gap (global "
     "average pooling), flatten, batchnorm; the last dense layer must have one unit per "
     "class. Layers are named conv1, relu1, dense2, ...", 0},
    {"epochs", RG_FIELD_INT, "10", 0, 100000, NULL, 1, "N",
     "passes over the training split", 0},
    {"batch", RG_FIELD_INT, "128", 1, 65536, NULL, 0, "B", "minibatch size", 0},
    {"optimizer", RG_FIELD_CHOICE, "sgd", 0, 0, "sgd|adam", 0, "NAME",
     "sgd (momentum, PyTorch's rule) or adam", 0},
    {"lr", RG_FIELD_NUMBER, "", 0, 100, NULL, 0, "X",
     "learning rate (default 0.05 for sgd, 0.001 for adam)", 0},
    {"momentum", RG_FIELD_NUMBER, "0.9", 0, 0.999999, NULL, 0, "M", "SGD momentum", 0},
    {"nesterov", RG_FIELD_BOOL, "false", 0, 1, NULL, 0, NULL, "Nesterov momentum for SGD", 0},
    {"lr_schedule", RG_FIELD_CHOICE, "constant", 0, 0,
     "constant|cosine|step|multistep|exponential|plateau", 0, "S",
     "learning-rate schedule, as torch.optim.lr_scheduler: constant; cosine: "
     "lr/2*(1+cos(pi*step/steps)) per batch (CosineAnnealingLR); step: "
     "lr*gamma^floor(epoch/lr_step) (StepLR); multistep: lr*gamma^(milestones passed) "
     "(MultiStepLR); exponential: lr*gamma^epoch (ExponentialLR); plateau: lr*gamma when "
     "the validation loss has not improved for lr_patience epochs (ReduceLROnPlateau)", 0},
    {"lr_gamma", RG_FIELD_NUMBER, "0.1", 1e-9, 1, NULL, 0, "G", "schedule factor", 0},
    {"lr_step", RG_FIELD_INT, "10", 1, 100000, NULL, 0, "N",
     "step: epochs between reductions", 0},
    {"lr_milestones", RG_FIELD_STRING, "", 0, 0, NULL, 0, "E1,E2,...",
     "multistep: the epochs where the rate drops (at most 16)", 0},
    {"lr_patience", RG_FIELD_INT, "5", 0, 100000, NULL, 0, "N",
     "plateau: epochs without improvement", 0},
    {"min_lr", RG_FIELD_NUMBER, "0", 0, 100, NULL, 0, "X", "plateau: lower bound of the rate",
     0},
    {"warmup_epochs", RG_FIELD_INT, "0", 0, 100000, NULL, 0, "N",
     "linear warmup of the rate over the first N epochs' steps", 0},
    {"early_stop", RG_FIELD_CHOICE, "none", 0, 0, "none|val_loss|val_accuracy", 0, "M",
     "stop when M has not improved for patience epochs by min_delta; the best epoch's "
     "weights are restored at the end", 0},
    {"patience", RG_FIELD_INT, "5", 1, 100000, NULL, 0, "N", "early stopping: epochs", 0},
    {"min_delta", RG_FIELD_NUMBER, "0", 0, 1e9, NULL, 0, "X",
     "early stopping: smallest improvement that counts", 0},
    {"seed", RG_FIELD_INT, "1", 0, BIG, NULL, 0, "S",
     "seeds init, split, shuffling and plugin randomness", 0},
    {"threads", RG_FIELD_INT, "0", 0, 1024, NULL, 1, "T",
     "threads for OpenBLAS and OpenMP alike (0: the context's, i.e. $REGULA_THREADS, else "
     "all cores); the same seed and threads give bit-identical results", 0},
    {"val", RG_FIELD_NUMBER, "0.1", 0, 0.99, NULL, 0, "F",
     "fraction of the training set held out for validation (0 disables)", 0},
    {"train_limit", RG_FIELD_INT, "0", 0, BIG, NULL, 0, "N",
     "use only the first N training images (0: all); quick runs (train_size for studies)", 0},
    {"val_size", RG_FIELD_INT, "0", 0, BIG, NULL, 0, "M",
     "hold out M images, drawn at random (by the seed) from the training set, for "
     "validation instead of the val fraction (0: use val)", 0},
    {"train_size", RG_FIELD_INT, "0", 0, BIG, NULL, 0, "N",
     "train on N images drawn at random (by the seed) from the training images not held "
     "out for validation (0: all of them): small-data studies with a large validation set", 0},
    {"reg", RG_FIELD_LIST, "", 0, 0, NULL, 0, "SPEC",
     "regularizer plugin, repeatable: NAME[:key=value,...]; NAME is a plugin in the search "
     "path, an in-process plugin or a path to a .so. Host keys: layers=GLOB|GLOB (layer "
     "names, e.g. dense*), tensors=weights|biases|all (default weights), after=GLOB "
     "(activation sites, default every hidden ReLU)", 0},
    {"aug", RG_FIELD_LIST, "", 0, 0, NULL, 0, "SPEC",
     "augmenter plugin, repeatable, same syntax; applied in order", 0},
    {"aug_oneof", RG_FIELD_LIST, "", 0, 0, NULL, 0, "\"SPEC;SPEC;...\"",
     "a group of augmenters of which each sample gets one, chosen uniformly (OneOf); takes "
     "its place in the aug order", RG_FIELD_F_ALIAS},
    {"test", RG_FIELD_BOOL, "true", 0, 1, NULL, 0, NULL,
     "evaluate the test set at the end (false for tuning runs that choose on the "
     "validation split only)", 0},
    {"save", RG_FIELD_STRING, "", 0, 0, NULL, 1, "FILE",
     "write a checkpoint after every epoch and at the end: weights, optimizer state, "
     "counters, schedule, recipe and plugin identities; {epoch} (or {epoch:03d}) in FILE "
     "gives one file per epoch, run-{epoch}.ckpt", 0},
    {"metrics", RG_FIELD_STRING, "", 0, 0, NULL, 1, "FILE",
     "append one JSON line per epoch: losses, accuracies, learning rate, each "
     "regularizer's penalty, seconds (regula plot reads it)", 0},
    {"summary", RG_FIELD_STRING, "", 0, 0, NULL, 1, "FILE",
     "write a JSON summary (metrics, history, recipe, plugin identities)", 0},
    {"stop_after", RG_FIELD_INT, "0", 0, 100000, NULL, 1, "N",
     "stop after N epochs of this fit (0: never); save, then resume later, e.g. for "
     "time-limited jobs", 0},
    {"stop_at_epoch", RG_FIELD_INT, "0", 0, 100000, NULL, 1, "N",
     "stop once the run has N epochs done (0: never), counted from the run's start, not "
     "this invocation's; the schedule still follows epochs; not carried over by a resume "
     "(regula sweep --halving)", 0},
    {"save_best", RG_FIELD_BOOL, "false", 0, 1, NULL, 1, NULL,
     "also keep the checkpoint of the best validation epoch beside the last one (Keras's "
     "ModelCheckpoint(save_best_only=True)): FILE with .best before its extension "
     "(run.best.ckpt), or {epoch} replaced by best; best on the early_stop metric, else "
     "val_loss", 0},
    {"keep", RG_FIELD_INT, "0", 0, 100000, NULL, 1, "N",
     "with {epoch} in save: keep the checkpoints of the last N epochs only (0: all)", 0},
    {"log_every", RG_FIELD_INT, "0", 0, 1000000000, NULL, 1, "N",
     "every N steps: a progress line when the output is not a terminal, and a step record "
     "(loss, lr, penalty) in the metrics file (0: neither)", 0},
};
const int rg_num_fields = (int)(sizeof rg_fields / sizeof rg_fields[0]);

int rg_field_find(const char *name)
{
    for (int i = 0; name && i < rg_num_fields; i++)
        if (!strcmp(rg_fields[i].name, name))
            return i;
    return -1;
}
