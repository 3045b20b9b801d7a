#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "regula/plugin.h"
#include "regula/regula.h"

static const char usage[] =
    "usage: regula <command> [options]\n"
    "\n"
    "Train neural networks with regularizers and augmenters loaded as plugins.\n"
    "\n"
    "commands:\n"
    "  train      train a model (regula train --help for its flags)\n"
    "  plugins    list every plugin found, with its parameter schema\n"
    "  plugin check PATH.so\n"
    "             run the conformance checks on a plugin\n"
    "  info CKPT  what a checkpoint holds: recipe, plugins, history, layer table\n"
    "  info [train options]\n"
    "             the layer table of a model, without training it\n"
    "  eval CKPT  test-set metrics of a model saved with train --save\n"
    "  predict CKPT IMAGE.png...\n"
    "             class probabilities of images\n"
    "  export CKPT --npz OUT.npz\n"
    "             every parameter and buffer as NumPy arrays (PyTorch layouts)\n"
    "  sweep --dir DIR --sweep KEY=VALUES... -- TRAIN-ARGS\n"
    "             hyperparameter search on the validation split (--seeds, --halving,\n"
    "             --jobs)\n"
    "  sweep report DIR -o report.png\n"
    "             which trials overfit or underfit, the regularization path\n"
    "  plot FILE.jsonl -o OUT.png\n"
    "             learning curves of a train --metrics or sweep file\n"
    "  plot RUN1.jsonl RUN2.jsonl ... -o OUT.png\n"
    "             several runs' curves overlaid, to compare them\n"
    "  augment --aug SPEC --preview FILE.png\n"
    "             draw a grid of augmented training images\n"
    "  dataset export SRC --png DIR\n"
    "             write a dataset as folders of PNG images\n"
    "\n"
    "  help CMD   the help of a command (as regula CMD --help)\n"
    "\n"
    "options (of every command):\n"
    "  -h, --help     the command's help\n"
    "  --version      library version and plugin ABI version\n"
    "  --allow-insecure-plugins  (any command) load plugin files that other users can\n"
    "                 write, which are refused by default\n"
    "\n"
    "environment:\n"
    "  REGULA_THREADS       threads when --threads is not given (default: all cores)\n"
    "  REGULA_DATA          directory of the Fashion-MNIST IDX files\n"
    "                       (default /usr/share/datasets/fashion-mnist)\n"
    "  REGULA_PLUGIN_PATH   ':'-separated plugin directories searched first\n"
    "  REGULA_PLUGIN_DEBUG  1 traces plugin discovery and ABI negotiation on stderr\n"
    "  REGULA_ALLOW_INSECURE_PLUGINS\n"
    "                       1: what --allow-insecure-plugins does\n"
    "  REGULA_PLUGIN_PROBE  0: load plugin files without the forked probe load\n"
    "  REGULA_PLUGIN_PROBE_TIMEOUT\n"
    "                       seconds a plugin may take to load in the probe (default 10)\n"
    "\n"
    "exit status (the same for every command):\n"
    "  0    done\n"
    "  1    a data, file or run error (bad data, unreadable checkpoint, failed check)\n"
    "  2    a usage error (unknown command or flag, a value out of range)\n"
    "  3    a plugin crashed, called exit() or hung (regula train names it and keeps the\n"
    "       last checkpoint)\n"
    "  130, 143  interrupted by SIGINT or SIGTERM (the checkpoint was written)\n";

static int version(void)
{
    printf("regula %s (plugin ABI %d.%d)\n", rg_version(), REGULA_ABI_MAJOR, REGULA_ABI_MINOR);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    /* A plugin file others can write is refused; this option, accepted anywhere, lifts
     * that for this process and the trials a sweep starts (they inherit the variable). */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--allow-insecure-plugins"))
            setenv("REGULA_ALLOW_INSECURE_PLUGINS", "1", 1);
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = NULL;
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") && argc >= 3) { /* regula help CMD [SUB]: regula CMD [SUB] --help */
        char *again[5] = {argv[0], argv[2], argc >= 4 ? argv[3] : "--help", "--help", NULL};
        return main(argc >= 4 ? 4 : 3, again);
    }
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "__complete")) /* the bash completion's source of words */
        return rg_cmd_complete(argc - 1, argv + 1);
    /* --version anywhere before a "--" (sweep's train arguments): every command has it */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--version"))
            return version();
    if (!strcmp(cmd, "train")) {
        int rc = rg_cli_mpi_start(&argc, &argv);
        return rc ? rc : rg_cli_mpi_finish(rg_cmd_train(argc - 1, argv + 1));
    }
    if (!strcmp(cmd, "plugins"))
        return rg_cmd_plugins(argc - 1, argv + 1);
    if (!strcmp(cmd, "plugin"))
        return rg_cmd_plugin(argc - 1, argv + 1);
    if (!strcmp(cmd, "dataset"))
        return rg_cmd_dataset(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) { /* mpirun -np N regula sweep: trials spread over ranks */
        int rc = rg_cli_mpi_start(&argc, &argv);
        return rc ? rc : rg_cli_mpi_finish(rg_cmd_sweep(argc - 1, argv + 1));
    }
    if (!strcmp(cmd, "augment"))
        return rg_cmd_augment(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval"))
        return rg_cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict"))
        return rg_cmd_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "export"))
        return rg_cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "plot"))
        return rg_cmd_plot(argc - 1, argv + 1);
    if (!strcmp(cmd, "info"))
        return rg_cmd_info(argc - 1, argv + 1);
    return rg_cli_fail(2, "unknown command '%s' (see regula --help)", cmd);
}
