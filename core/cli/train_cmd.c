/* regula train: flags -> data, plugins, model, trainer -> report. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../error.h"
#include "../threads.h"
#include "../train/checkpoint.h"
#include "../train/train.h"
#include "args.h"
#include "cli.h"
#include "data.h"
#include "json.h"
#include "progress.h"
#include "train_resume.h"
#include "regula/regula.h"


static const char train_usage[] =
    "usage: regula train [options]\n"
    "\n"
    "  --data SRC          fashion-mnist (IDX files in $REGULA_DATA, default\n"
    "                      " RG_FASHION_MNIST_DIR "),\n"
    "                      idx:DIR  ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]),\n"
    "                      png:DIR  (DIR/train/<class>/*.png, DIR/test/<class>/*.png),\n"
    "                      csv:DIR  (DIR/train.csv, DIR/test.csv: label,p0,p1,...)\n"
    "  --center-crop       png: crop images larger than the first one to its size\n"
    "  --model SPEC        mlp:H1,H2,...  hidden ReLU layers (default mlp:512,256), or a\n"
    "                      comma-separated layer list, e.g. conv:32:3,relu,maxpool:2,\n"
    "                      conv:64:3,relu,maxpool:2,flatten,dense:128,relu,dense:10\n"
    "                      layers: dense:UNITS, relu, conv:CHANNELS:K[:STRIDE[:PAD]]\n"
    "                      (stride 1, pad K/2 by default), maxpool:K[:STRIDE],\n"
    "                      avgpool:K[:STRIDE] (stride K by default), gap (global average\n"
    "                      pooling), flatten, batchnorm; the last dense layer must have\n"
    "                      one unit per class. Layers are named conv1, relu1, dense2, ...\n"
    "  --epochs N          passes over the training split (default 10)\n"
    "  --batch B           minibatch size (default 128)\n"
    "  --optimizer NAME    sgd (momentum, PyTorch rule) or adam (default sgd)\n"
    "  --lr X              learning rate (default 0.05 for sgd, 0.001 for adam)\n"
    "  --momentum M        SGD momentum (default 0.9)\n"
    "  --nesterov          Nesterov momentum for SGD\n"
    "  --lr-schedule S     learning-rate schedule, as torch.optim.lr_scheduler:\n"
    "                      constant (default); cosine: lr/2*(1+cos(pi*step/steps)) per\n"
    "                      batch (CosineAnnealingLR); step: lr*gamma^floor(epoch/STEP)\n"
    "                      (StepLR); multistep: lr*gamma^(milestones passed)\n"
    "                      (MultiStepLR); exponential: lr*gamma^epoch (ExponentialLR);\n"
    "                      plateau: lr*gamma when the validation loss has not improved\n"
    "                      for PATIENCE epochs (ReduceLROnPlateau)\n"
    "  --lr-gamma G        schedule factor (default 0.1)\n"
    "  --lr-step N         step: epochs between reductions (default 10)\n"
    "  --lr-milestones E1,E2,...  multistep: the epochs where lr drops\n"
    "  --lr-patience N     plateau: epochs without improvement (default 5)\n"
    "  --min-lr X          plateau: lower bound of the rate (default 0)\n"
    "  --warmup-epochs N   linear warmup of the rate over the first N epochs' steps\n"
    "  --early-stop M      stop when M (val_loss or val_accuracy) has not improved for\n"
    "                      --patience epochs (default 5) by --min-delta (default 0);\n"
    "                      the best epoch's weights are restored at the end\n"
    "  --seed S            seeds init, split, shuffling and plugin randomness (default 1)\n"
    "  --threads T         threads for OpenBLAS and OpenMP alike (default $REGULA_THREADS,\n"
    "                      else all cores); same seed and T give bit-identical results\n"
    "  --val F             fraction of the training set held out for validation\n"
    "                      (default 0.1; 0 disables)\n"
    "  --train-limit N     use only the first N training images\n"
    "  --reg SPEC          regularizer plugin, repeatable: NAME[:key=value,...]; NAME is\n"
    "                      a plugin in the search path or a path to a .so. Host keys:\n"
    "                      layers=GLOB|GLOB (layer names, e.g. dense*),\n"
    "                      tensors=weights|biases|all (default weights),\n"
    "                      after=GLOB (activation sites, default every hidden ReLU)\n"
    "  --aug SPEC          augmenter plugin, repeatable, same syntax; applied in order\n"
    "  --aug-oneof \"SPEC;SPEC;...\"\n"
    "                      a group of augmenters of which each sample gets one, chosen\n"
    "                      uniformly (OneOf); takes its place in the --aug order\n"
    "  --summary FILE      write a JSON summary (metrics, history, plugin identities)\n"
    "  --metrics FILE      append one JSON line per epoch: losses, accuracies, learning\n"
    "                      rate, each regularizer's penalty, seconds (regula plot reads it)\n"
    "  --save FILE         write a checkpoint after every epoch and at the end: weights,\n"
    "                      optimizer state, counters, schedule and plugin identities\n"
    "  --resume FILE       continue the run saved in FILE exactly where it stopped (same\n"
    "                      result, bit for bit, as an uninterrupted run); may be combined\n"
    "                      with --epochs, --stop-after, --save, --summary, --metrics\n"
    "  --stop-after N      stop this invocation after N epochs (checkpoint with --save and\n"
    "                      continue later with --resume), e.g. for time-limited jobs\n"
    "  --quiet             no per-batch progress\n"
    "  --no-test           do not evaluate the test set (tuning runs: choose on the\n"
    "                      validation split only)\n"
    "  -h, --help          this text\n"
    "\n"
    "Example: regula train --data fashion-mnist --model mlp:512,256 --epochs 10 \\\n"
    "           --reg l2:lambda=5e-4 --summary run.json\n";

typedef struct train_opts {
    const char *data, *model, *summary, *save, *metrics;
    int64_t stop_after;
    int argc;
    char **argv;
    rg_data_options data_opt;
    int64_t threads;
    int lr_given, quiet, no_test;
    rg_train_config cfg;
    const char *reg_specs[RG_TRAIN_MAX_PLUGINS], *aug_specs[RG_TRAIN_MAX_PLUGINS];
    int aug_group[RG_TRAIN_MAX_PLUGINS], groups;
    char oneof_buf[RG_TRAIN_MAX_PLUGINS][512];
} train_opts;

static rg_status parse_opts(int argc, char **argv, train_opts *o, int *help)
{
    rg_train_config_defaults(&o->cfg);
    o->data = "fashion-mnist";
    o->model = "mlp:512,256";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            *help = 1;
            return RG_OK;
        }
        if (!strcmp(a, "--nesterov")) {
            o->cfg.optim.nesterov = 1;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o->quiet = 1;
            continue;
        }
        if (!strcmp(a, "--no-test")) {
            o->no_test = 1;
            continue;
        }
        if (!strcmp(a, "--center-crop")) {
            o->data_opt.center_crop = 1;
            continue;
        }
        if (!strcmp(a, "--resume") && i + 1 < argc) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return rg_error_set(RG_ERR_INVALID, "train: unexpected argument '%s'", a);
        static const char *const valued[] = {
            "--data", "--model", "--epochs", "--batch", "--optimizer", "--lr", "--momentum",
            "--seed", "--threads", "--val", "--train-limit", "--reg", "--aug", "--summary",
            "--save", "--lr-schedule", "--aug-oneof", "--lr-gamma", "--lr-step",
            "--lr-patience", "--min-lr", "--warmup-epochs", "--lr-milestones", "--early-stop",
            "--patience", "--min-delta", "--metrics", "--stop-after", NULL};
        int known = 0;
        for (int k = 0; valued[k]; k++)
            known |= !strcmp(a, valued[k]);
        if (!known)
            return rg_error_set(RG_ERR_INVALID, "train: unknown option '%s' (see regula train "
                                "--help)", a);
        if (i + 1 >= argc)
            return rg_error_set(RG_ERR_INVALID, "train: %s needs a value", a);
        const char *v = argv[++i];
        int64_t n;
        rg_status st = RG_OK;
        rg_train_config *c = &o->cfg;
        if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "--summary"))
            o->summary = v;
        else if (!strcmp(a, "--save"))
            o->save = v;
        else if (!strcmp(a, "--metrics"))
            o->metrics = v;
        else if (!strcmp(a, "--stop-after"))
            st = rg_arg_int(a, v, 1, 100000, &o->stop_after);
        else if (!strcmp(a, "--epochs"))
            st = rg_arg_int(a, v, 0, 100000, &c->epochs);
        else if (!strcmp(a, "--batch"))
            st = rg_arg_int(a, v, 1, 65536, &c->batch);
        else if (!strcmp(a, "--train-limit"))
            st = rg_arg_int(a, v, 1, INT64_MAX, &c->train_limit);
        else if (!strcmp(a, "--threads"))
            st = rg_arg_int(a, v, 1, 1024, &o->threads);
        else if (!strcmp(a, "--seed")) {
            st = rg_arg_int(a, v, 0, INT64_MAX, &n);
            c->seed = (uint64_t)n;
        } else if (!strcmp(a, "--lr")) {
            st = rg_arg_double(a, v, 0.0, 100.0, &c->optim.lr);
            o->lr_given = 1;
        } else if (!strcmp(a, "--momentum"))
            st = rg_arg_double(a, v, 0.0, 0.999999, &c->optim.momentum);
        else if (!strcmp(a, "--val"))
            st = rg_arg_double(a, v, 0.0, 0.99, &c->val_fraction);
        else if (!strcmp(a, "--optimizer")) {
            if (!strcmp(v, "sgd"))
                c->optim.kind = RG_OPTIM_SGD;
            else if (!strcmp(v, "adam"))
                c->optim.kind = RG_OPTIM_ADAM;
            else
                st = rg_error_set(RG_ERR_INVALID, "--optimizer %s: expected sgd or adam", v);
        } else if (!strcmp(a, "--lr-schedule")) {
            int found = 0;
            for (int k = RG_LR_CONSTANT; k <= RG_LR_PLATEAU; k++)
                if (!strcmp(v, rg_lr_schedule_name((rg_lr_schedule)k))) {
                    c->lr.kind = (rg_lr_schedule)k;
                    found = 1;
                }
            if (!found)
                st = rg_error_set(RG_ERR_INVALID, "--lr-schedule %s: expected constant, cosine, "
                                  "step, multistep, exponential or plateau", v);
        } else if (!strcmp(a, "--lr-gamma")) {
            st = rg_arg_double(a, v, 1e-9, 1.0, &c->lr.gamma);
        } else if (!strcmp(a, "--lr-step")) {
            st = rg_arg_int(a, v, 1, 100000, &c->lr.step_size);
        } else if (!strcmp(a, "--lr-patience")) {
            st = rg_arg_int(a, v, 0, 100000, &c->lr.patience);
        } else if (!strcmp(a, "--min-lr")) {
            st = rg_arg_double(a, v, 0.0, 100.0, &c->lr.min_lr);
        } else if (!strcmp(a, "--warmup-epochs")) {
            st = rg_arg_int(a, v, 0, 100000, &c->lr.warmup_epochs);
        } else if (!strcmp(a, "--lr-milestones")) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            c->lr.n_milestones = 0;
            char *save = NULL;
            for (char *tok = strtok_r(buf, ",", &save); tok && st == RG_OK;
                 tok = strtok_r(NULL, ",", &save)) {
                if (c->lr.n_milestones >= RG_LR_MAX_MILESTONES)
                    st = rg_error_set(RG_ERR_INVALID, "--lr-milestones: at most %d",
                                      RG_LR_MAX_MILESTONES);
                else
                    st = rg_arg_int(a, tok, 1, 100000, &c->lr.milestones[c->lr.n_milestones++]);
            }
        } else if (!strcmp(a, "--early-stop")) {
            if (!strcmp(v, "val_loss"))
                c->early_metric = RG_EARLY_VAL_LOSS;
            else if (!strcmp(v, "val_accuracy"))
                c->early_metric = RG_EARLY_VAL_ACCURACY;
            else
                st = rg_error_set(RG_ERR_INVALID, "--early-stop %s: expected val_loss or "
                                  "val_accuracy", v);
        } else if (!strcmp(a, "--patience")) {
            st = rg_arg_int(a, v, 1, 100000, &c->patience);
        } else if (!strcmp(a, "--min-delta")) {
            st = rg_arg_double(a, v, 0.0, 1e9, &c->min_delta);
        } else if (!strcmp(a, "--aug-oneof")) {
            /* "SPEC;SPEC;...": each sample gets one of them */
            int g = ++o->groups, members = 0;
            char *buf = o->oneof_buf[g % RG_TRAIN_MAX_PLUGINS];
            snprintf(buf, 512, "%s", v);
            char *save = NULL;
            for (char *tok = strtok_r(buf, ";", &save); tok && st == RG_OK;
                 tok = strtok_r(NULL, ";", &save)) {
                if (c->num_augs >= RG_TRAIN_MAX_PLUGINS)
                    st = rg_error_set(RG_ERR_INVALID, "--aug-oneof: at most %d augmenters",
                                      RG_TRAIN_MAX_PLUGINS);
                else {
                    o->aug_group[c->num_augs] = g;
                    o->aug_specs[c->num_augs++] = tok;
                    members++;
                }
            }
            if (st == RG_OK && members < 2)
                st = rg_error_set(RG_ERR_INVALID, "--aug-oneof %s: expected two or more specs "
                                  "separated by ';'", v);
        } else if (!strcmp(a, "--reg") || !strcmp(a, "--aug")) {
            int *count = a[2] == 'r' ? &c->num_regs : &c->num_augs;
            const char **specs = a[2] == 'r' ? o->reg_specs : o->aug_specs;
            if (*count >= RG_TRAIN_MAX_PLUGINS)
                st = rg_error_set(RG_ERR_INVALID, "%s: at most %d", a, RG_TRAIN_MAX_PLUGINS);
            else {
                if (a[2] == 'a')
                    o->aug_group[*count] = 0;
                specs[(*count)++] = v;
            }
        }
        if (st != RG_OK)
            return st;
    }
    if (!o->lr_given && o->cfg.optim.kind == RG_OPTIM_ADAM)
        o->cfg.optim.lr = 0.001;
    return RG_OK;
}

void rg_cli_plugins_json(rg_json *j, rg_plugin_instance *const *list, int n, const char *role)
{
    for (int i = 0; i < n; i++) {
        const rg_plugin *p = list[i]->plugin;
        rg_json_begin_object(j);
        rg_json_key(j, "name"); rg_json_string(j, p->desc.name);
        rg_json_key(j, "role"); rg_json_string(j, role);
        rg_json_key(j, "kind"); rg_json_string(j, rg_plugin_kind_name(p->desc.kind));
        rg_json_key(j, "version"); rg_json_string(j, p->desc.version);
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
        rg_json_key(j, "abi"); rg_json_string(j, abi);
        rg_json_key(j, "path"); rg_json_string(j, p->path);
        rg_json_key(j, "spec"); rg_json_string(j, list[i]->spec);
        rg_json_key(j, "params");
        rg_json_begin_object(j);
        for (uint32_t k = 0; k < p->num_params; k++) {
            char buf[128];
            rg_param_format(&p->params[k], &list[i]->values[k], buf, sizeof buf);
            rg_json_key(j, p->params[k].name);
            if (p->params[k].type == RG_PARAM_FLOAT || p->params[k].type == RG_PARAM_INT)
                rg_json_number(j, list[i]->values[k].number);
            else if (p->params[k].type == RG_PARAM_BOOL)
                rg_json_bool(j, list[i]->values[k].number != 0);
            else
                rg_json_string(j, buf);
        }
        rg_json_end_object(j);
        rg_json_end_object(j);
    }
}

typedef struct run_result {
    rg_eval train, val, test;
    double seconds_sum, eval_seconds_sum;
    int64_t epochs_done;
    rg_epoch_stats *history;
} run_result;

static void write_identity(rg_json *j, const train_opts *o, const rg_model *m)
{
    rg_json_key(j, "regula_version"); rg_json_string(j, rg_version());
    rg_json_key(j, "data"); rg_json_string(j, o->data);
    rg_json_key(j, "model"); rg_json_string(j, m->spec.text);
    rg_json_key(j, "parameters"); rg_json_int(j, rg_model_param_count(m));
    rg_json_key(j, "seed"); rg_json_int(j, (long long)o->cfg.seed);
    rg_json_key(j, "threads"); rg_json_int(j, rg_threads_count());
    rg_json_key(j, "plugins");
    rg_json_begin_array(j);
    rg_cli_plugins_json(j, o->cfg.regs, o->cfg.num_regs, "reg");
    rg_cli_plugins_json(j, o->cfg.augs, o->cfg.num_augs, "aug");
    rg_json_end_array(j);
}

static rg_status write_summary(const char *path, const train_opts *o, const rg_model *m,
                               const rg_trainer *t, const run_result *r)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return rg_error_set(RG_ERR_IO, "--summary %s: cannot write", path);
    rg_json j;
    rg_json_init(&j, f);
    rg_json_begin_object(&j);
    write_identity(&j, o, m);
    rg_json_key(&j, "epochs"); rg_json_int(&j, r->epochs_done);
    rg_json_key(&j, "batch"); rg_json_int(&j, o->cfg.batch);
    rg_json_key(&j, "optimizer");
    rg_json_string(&j, o->cfg.optim.kind == RG_OPTIM_ADAM ? "adam" : "sgd");
    rg_json_key(&j, "lr"); rg_json_number(&j, o->cfg.optim.lr);
    rg_json_key(&j, "momentum"); rg_json_number(&j, o->cfg.optim.momentum);
    rg_json_key(&j, "nesterov"); rg_json_bool(&j, o->cfg.optim.nesterov);
    rg_json_key(&j, "lr_schedule");
    rg_json_string(&j, rg_lr_schedule_name(o->cfg.lr.kind));
    rg_json_key(&j, "train_examples"); rg_json_int(&j, rg_trainer_train_count(t));
    rg_json_key(&j, "val_examples"); rg_json_int(&j, rg_trainer_val_count(t));
    rg_json_key(&j, "test_examples"); rg_json_int(&j, r->test.count);
    rg_json_key(&j, "train_loss"); rg_json_number(&j, r->train.loss);
    rg_json_key(&j, "train_accuracy"); rg_json_number(&j, r->train.accuracy);
    rg_json_key(&j, "val_loss"); rg_json_number(&j, r->val.loss);
    rg_json_key(&j, "val_accuracy"); rg_json_number(&j, r->val.accuracy);
    rg_json_key(&j, "test_loss"); rg_json_number(&j, r->test.loss);
    rg_json_key(&j, "test_accuracy"); rg_json_number(&j, r->test.accuracy);
    rg_json_key(&j, "seconds_per_epoch");
    rg_json_number(&j, r->epochs_done ? r->seconds_sum / (double)r->epochs_done : NAN);
    rg_json_key(&j, "notes");
    rg_json_string(&j, "train_*/val_*/test_* are eval-mode data loss and accuracy after the "
                       "last epoch; history holds per-epoch running means in train mode "
                       "(data loss; train_penalty is what regularizers added); regularizers[].penalty is "
                       "each one's mean loss term over the last epoch, sparsity the fraction of "
                       "exact zeros in the tensors it touches; seconds exclude evaluation");
    rg_json_key(&j, "regularizers");
    rg_json_begin_array(&j);
    for (int k = 0; k < o->cfg.num_regs; k++) {
        rg_json_begin_object(&j);
        rg_json_key(&j, "name"); rg_json_string(&j, o->cfg.regs[k]->plugin->desc.name);
        rg_json_key(&j, "targets"); rg_json_string(&j, rg_trainer_targets(t, k));
        rg_json_key(&j, "penalty"); rg_json_number(&j, rg_trainer_penalty(t, k));
        rg_json_key(&j, "sparsity"); rg_json_number(&j, rg_trainer_sparsity(t, k));
        rg_json_end_object(&j);
    }
    rg_json_end_array(&j);
    rg_json_key(&j, "history");
    rg_json_begin_array(&j);
    for (int64_t e = 0; e < r->epochs_done; e++) {
        const rg_epoch_stats *s = &r->history[e];
        rg_json_begin_object(&j);
        rg_json_key(&j, "epoch"); rg_json_int(&j, s->epoch);
        rg_json_key(&j, "train_loss"); rg_json_number(&j, s->train_loss);
        rg_json_key(&j, "train_accuracy"); rg_json_number(&j, s->train_accuracy);
        rg_json_key(&j, "train_penalty"); rg_json_number(&j, s->train_penalty);
        rg_json_key(&j, "val_loss"); rg_json_number(&j, s->val_loss);
        rg_json_key(&j, "val_accuracy"); rg_json_number(&j, s->val_accuracy);
        rg_json_key(&j, "seconds"); rg_json_number(&j, s->seconds);
        rg_json_end_object(&j);
    }
    rg_json_end_array(&j);
    rg_json_end_object(&j);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return rg_error_set(RG_ERR_IO, "--summary %s: cannot write", path);
    }
    return RG_OK;
}

static rg_status save_run(const char *path, const train_opts *o, const rg_run_record *rec,
                          rg_model *m, rg_trainer *t)
{
    char *meta = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&meta, &len);
    if (!mf)
        return rg_error_set(RG_ERR_NOMEM, "cannot build checkpoint metadata");
    rg_json j;
    rg_json_init(&j, mf);
    rg_json_begin_object(&j);
    write_identity(&j, o, m);
    rg_json_key(&j, "epochs_done"); rg_json_int(&j, rec->epochs_done);
    rg_json_end_object(&j);
    fclose(mf);
    rg_status st = rg_cli_run_save(path, meta, rec, m, t);
    free(meta);
    return st;
}

static rg_status write_metrics(FILE *f, const char *path, const train_opts *o,
                               const rg_trainer *t, const rg_epoch_stats *s)
{
    rg_json j;
    rg_json_init(&j, f);
    j.compact = 1;
    rg_json_begin_object(&j);
    rg_json_key(&j, "epoch"); rg_json_int(&j, s->epoch);
    rg_json_key(&j, "train_loss"); rg_json_number(&j, s->train_loss);
    rg_json_key(&j, "train_accuracy"); rg_json_number(&j, s->train_accuracy);
    rg_json_key(&j, "penalty"); rg_json_number(&j, s->train_penalty);
    rg_json_key(&j, "val_loss"); rg_json_number(&j, s->val_loss);
    rg_json_key(&j, "val_accuracy"); rg_json_number(&j, s->val_accuracy);
    rg_json_key(&j, "lr"); rg_json_number(&j, rg_trainer_lr(t));
    rg_json_key(&j, "seconds"); rg_json_number(&j, s->seconds);
    rg_json_key(&j, "penalties");
    rg_json_begin_object(&j);
    for (int k = 0; k < o->cfg.num_regs; k++) {
        rg_json_key(&j, o->cfg.regs[k]->plugin->desc.name);
        rg_json_number(&j, rg_trainer_penalty(t, k));
    }
    rg_json_end_object(&j);
    rg_json_end_object(&j);
    if (fflush(f) != 0 || ferror(f))
        return rg_error_set(RG_ERR_IO, "--metrics %s: write error", path);
    return RG_OK;
}

static void cleanup(train_opts *o, rg_dataset *train, rg_dataset *test, rg_model *m,
                    rg_trainer *t, run_result *r)
{
    rg_trainer_destroy(t);
    rg_model_destroy(m);
    for (int i = 0; i < o->cfg.num_regs; i++)
        rg_plugin_instance_destroy(o->cfg.regs[i]);
    for (int i = 0; i < o->cfg.num_augs; i++)
        rg_plugin_instance_destroy(o->cfg.augs[i]);
    rg_dataset_destroy(train);
    rg_dataset_destroy(test);
    free(r->history);
}

typedef struct cli_run {
    rg_progress_printer printer;
    run_result *result;
} cli_run;

static void on_batch(void *user, const rg_progress *p)
{
    rg_progress_batch(&((cli_run *)user)->printer, p);
}

static void on_epoch(void *user, const rg_epoch_stats *s)
{
    cli_run *cr = user;
    cr->result->history[s->epoch - 1] = *s;
    rg_progress_epoch(&cr->printer, s);
}

int rg_cmd_train(int argc, char **argv)
{
    train_opts o;
    memset(&o, 0, sizeof o);
    int help = 0;
    /* --resume FILE: the stored arguments of the run, then the new ones */
    const char *resume = NULL;
    rg_checkpoint *ckpt = NULL;
    char **merged = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--resume"))
            resume = argv[i + 1];
    if (resume) {
        int margc = 0;
        if (rg_cli_resume_args(resume, argc, argv, &ckpt, &margc, &merged) != RG_OK) {
            rg_checkpoint_free(ckpt);
            return rg_cli_fail(2, "%s", rg_error_message());
        }
        argc = margc;
        argv = merged;
    }
    o.argc = argc - 1;
    o.argv = argv + 1;
    rg_plugin_instance *all_plugins[2 * RG_TRAIN_MAX_PLUGINS];
    if (parse_opts(argc, argv, &o, &help) != RG_OK) {
        rg_checkpoint_free(ckpt);
        free(merged);
        return rg_cli_fail(2, "%s", rg_error_message());
    }
    if (help) {
        fputs(train_usage, stdout);
        return 0;
    }
    rg_dataset *train = NULL, *test = NULL;
    rg_model *model = NULL;
    rg_trainer *t = NULL;
    run_result r;
    memset(&r, 0, sizeof r);
    r.val.loss = r.val.accuracy = NAN;
    rg_model_spec spec;
    char dir[4096];
    rg_status st = rg_threads_init((int)o.threads);
    if (st == RG_OK)
        st = rg_model_spec_parse(o.model, &spec);
    /* Plugins before data: a typo in --reg fails in milliseconds. */
    int nreg = o.cfg.num_regs, naug = o.cfg.num_augs;
    o.cfg.num_regs = o.cfg.num_augs = 0;
    for (int i = 0; st == RG_OK && i < nreg; i++)
        if ((st = rg_plugin_instance_create(o.reg_specs[i], RG_PLUGIN_REGULARIZER, NULL,
                                            &o.cfg.regs[i])) == RG_OK)
            o.cfg.num_regs++;
    for (int i = 0; st == RG_OK && i < naug; i++)
        if ((st = rg_plugin_instance_create(o.aug_specs[i], RG_PLUGIN_AUGMENTER, NULL,
                                            &o.cfg.augs[i])) == RG_OK) {
            o.cfg.aug_group[i] = o.aug_group[i];
            o.cfg.num_augs++;
        }
    if (st == RG_OK)
        st = rg_cli_open_data(o.data, &o.data_opt, &train, &test, dir, sizeof dir);
    if (st == RG_OK)
        st = rg_model_create(&spec, (rg_shape){train->c, train->h, train->w, 0},
                             train->num_classes > test->num_classes ? train->num_classes
                                                                    : test->num_classes,
                             &model);
    cli_run cr = {.result = &r};
    rg_progress_init(&cr.printer, o.quiet);
    o.cfg.on_batch = on_batch;
    o.cfg.on_epoch = on_epoch;
    o.cfg.user = &cr;
    if (st == RG_OK) {
        rg_model_init_params(model, o.cfg.seed);
        st = rg_trainer_create(model, train, &o.cfg, &t);
    }
    if (st == RG_OK && ckpt) {
        char buf[32];
        long long done = 0;
        if (rg_checkpoint_config_get(ckpt, "state.epoch", buf, sizeof buf))
            done = atoll(buf);
        if (done > o.cfg.epochs)
            st = rg_error_set(RG_ERR_INVALID, "--resume %s: the run has %lld epochs already; "
                              "--epochs must be at least that", resume, done);
    }
    if (st == RG_OK) {
        r.history = calloc((size_t)o.cfg.epochs + 1, sizeof *r.history);
        if (!r.history)
            st = rg_error_set(RG_ERR_NOMEM, "out of memory");
    }
    if (st == RG_OK) {
        printf("regula %s: %s on %s (%lld train, %lld val, %lld test), %lld parameters, "
               "%s lr %g%s%s, batch %lld, %d threads (OpenBLAS %s)\n",
               rg_version(), spec.text, dir, (long long)rg_trainer_train_count(t),
               (long long)rg_trainer_val_count(t), (long long)test->n,
               (long long)rg_model_param_count(model),
               o.cfg.optim.kind == RG_OPTIM_ADAM ? "adam" : "sgd", o.cfg.optim.lr,
               o.cfg.lr.kind != RG_LR_CONSTANT ? " " : "",
               o.cfg.lr.kind != RG_LR_CONSTANT ? rg_lr_schedule_name(o.cfg.lr.kind) : "",
               (long long)o.cfg.batch, rg_threads_count(), rg_threads_blas_kind());
        for (int i = 0; i < o.cfg.num_regs; i++)
            printf("  reg %s %s (%s) on %s\n", o.cfg.regs[i]->plugin->desc.name,
                   o.cfg.regs[i]->plugin->desc.version, o.cfg.regs[i]->spec,
                   rg_trainer_targets(t, i)[0]                ? rg_trainer_targets(t, i)
                   : o.cfg.regs[i]->plugin->reg.targets ? "the training targets"
                                                        : "nothing");
        for (int i = 0; i < o.cfg.num_augs; i++)
            printf("  aug %s %s (%s)%s\n", o.cfg.augs[i]->plugin->desc.name,
                   o.cfg.augs[i]->plugin->desc.version, o.cfg.augs[i]->spec,
                   o.cfg.aug_group[i] ? " [one of group]" : "");
        fflush(stdout);
    }
    rg_run_record rec = {o.argc, o.argv, all_plugins, 0, r.history, 0};
    for (int i = 0; i < o.cfg.num_regs; i++)
        all_plugins[rec.num_plugins++] = o.cfg.regs[i];
    for (int i = 0; i < o.cfg.num_augs; i++)
        all_plugins[rec.num_plugins++] = o.cfg.augs[i];
    if (st == RG_OK && ckpt) {
        st = rg_cli_run_restore(ckpt, resume, &rec, model, t, r.history, &r.epochs_done);
        if (st == RG_OK)
            printf("resumed %s after epoch %lld\n", resume, (long long)r.epochs_done);
    }
    FILE *metrics = NULL;
    if (st == RG_OK && o.metrics && !(metrics = fopen(o.metrics, ckpt ? "a" : "w")))
        st = rg_error_set(RG_ERR_IO, "--metrics %s: cannot write: %s", o.metrics,
                          strerror(errno));
    int stopped = 0, complete = 0, ran = 0;
    while (st == RG_OK && !complete) {
        if (r.epochs_done >= o.cfg.epochs) {
            complete = 1;
            break;
        }
        if (o.stop_after && ran >= o.stop_after)
            break;
        rg_epoch_stats s;
        st = rg_trainer_run_epoch(t, &s);
        if (st == RG_OK) {
            r.epochs_done++;
            r.seconds_sum += s.seconds;
            ran++;
            rg_cli_diagnose(r.history, r.epochs_done);
            st = rg_trainer_end_epoch(t, &s, &stopped);
        }
        if (st == RG_OK && metrics)
            st = write_metrics(metrics, o.metrics, &o, t, &s);
        rec.epochs_done = r.epochs_done;
        if (st == RG_OK && o.save)
            st = save_run(o.save, &o, &rec, model, t);
        if (stopped) {
            printf("early stopping: %s has not improved for %lld epochs\n",
                   o.cfg.early_metric == RG_EARLY_VAL_LOSS ? "val_loss" : "val_accuracy",
                   (long long)o.cfg.patience);
            complete = 1;
        }
    }
    if (metrics)
        fclose(metrics);
    if (st == RG_OK && !complete) {
        printf("stopped after %d epochs as asked (--stop-after); continue with --resume %s\n",
               ran, o.save ? o.save : "FILE (add --save FILE to keep the state)");
        cleanup(&o, train, test, model, t, &r);
        rg_checkpoint_free(ckpt);
        free(merged);
        return 0;
    }
    if (st == RG_OK) {
        int64_t best = rg_trainer_restore_best(t);
        if (best)
            printf("restored the weights of epoch %lld, the best on the validation split\n",
                   (long long)best);
    }
    if (st == RG_OK)
        st = rg_trainer_evaluate_train(t, &r.train);
    if (st == RG_OK && rg_trainer_val_count(t) > 0)
        st = rg_trainer_evaluate_val(t, &r.val);
    r.test.loss = r.test.accuracy = NAN;
    if (st == RG_OK && !o.no_test)
        st = rg_trainer_evaluate(t, test, &r.test);
    if (st == RG_OK && o.no_test) {
        printf("test set not evaluated (--no-test)");
        if (r.epochs_done)
            printf("  mean %.2f s/epoch", r.seconds_sum / (double)r.epochs_done);
        printf("\n");
    } else if (st == RG_OK) {
        printf("test accuracy %.4f  loss %.4f  (%lld images)", r.test.accuracy, r.test.loss,
               (long long)r.test.count);
        if (r.epochs_done)
            printf("  mean %.2f s/epoch", r.seconds_sum / (double)r.epochs_done);
        printf("\n");
    }
    if (st == RG_OK && o.summary)
        st = write_summary(o.summary, &o, model, t, &r);
    if (st == RG_OK && o.save)
        st = save_run(o.save, &o, &rec, model, t);
    int code = 0;
    if (st != RG_OK)
        code = rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_error_message());
    cleanup(&o, train, test, model, t, &r);
    rg_checkpoint_free(ckpt);
    free(merged);
    return code;
}
