/* regula train: flags -> recipe -> rg_run_fit, printing what the callbacks report. A
 * client of the public API (regula/regula.h) only. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "summary.h"
#include "faults.h"
#include "progress.h"
#include "recipe_cli.h"
#include "regula/regula.h"

static const char usage_head[] =
    "usage: regula train [options]\n"
    "\n"
    "Every option below is a field of the run's recipe (the same names, with '_' for '-',\n"
    "in a --config file, a checkpoint, a sweep key and the Python keyword arguments).\n"
    "\n";
static const char usage_tail[] =
    "  --config FILE       read the recipe from a JSON object of fields first; flags given\n"
    "                      as well override it\n"
    "  --print-config      print the full effective recipe as JSON and exit (a --config file)\n"
    "  --resume FILE       continue the run saved in FILE exactly where it stopped (same\n"
    "                      result, bit for bit, as an uninterrupted run): give the same\n"
    "                      command with --resume added, or only the fields that change; of\n"
    "                      those, only epochs, threads, save, metrics, summary, stop_after\n"
    "                      and stop_at_epoch may differ from the stored recipe\n"
    "  --quiet             no per-batch progress\n"
    "  --hook-timeout S    a plugin hook that has not returned after S seconds (default 600;\n"
    "                      0: no limit) ends the run, naming it, as a crash, abort() or\n"
    "                      exit() inside a plugin does (exit status 3; the last epoch's\n"
    "                      checkpoint stays)\n"
    "  --allow-insecure-plugins\n"
    "                      load plugin files other users can write (refused by default)\n"
    "  -h, --help          this text\n"
    "\n"
    "Ctrl-C or SIGTERM finishes the batch, writes the --save checkpoint (mid-epoch: a\n"
    "resume goes on from the next batch, bit-identically) and exits 130 or 143; a second\n"
    "Ctrl-C exits at once, leaving the last checkpoint written (checkpoints are replaced\n"
    "by rename, so the file on disk is always whole).\n"
    "\n"
    "Example: regula train --data fashion-mnist --model mlp:512,256 --epochs 10 \\\n"
    "           --reg l2:lambda=5e-4 --summary run.json\n";

typedef struct cli_run {
    rg_progress_printer printer;
    const char *save;
    rg_epoch_info *history;
    int64_t count, cap;
} cli_run;

static int on_batch(void *user, const rg_batch_info *b)
{
    rg_progress_batch(&((cli_run *)user)->printer, b);
    rg_cli_faults_phase("training epoch %lld, after batch %lld of %lld", (long long)b->epoch,
                        (long long)b->batch, (long long)b->batches);
    return 0;
}

static int on_epoch(void *user, const rg_epoch_info *e)
{
    cli_run *cr = user;
    rg_progress_epoch(&cr->printer, e);
    rg_cli_faults_checkpoint(cr->save, e->epoch);
    rg_cli_faults_phase("after epoch %lld (the next epoch, or the test evaluation)",
                        (long long)e->epoch);
    if (cr->count < cr->cap)
        cr->history[cr->count++] = *e;
    rg_cli_diagnose(cr->history, cr->count);
    return 0;
}

static rg_run *volatile g_run;
static volatile sig_atomic_t g_signal;

static void say(const char *s)
{
    ssize_t w = write(STDERR_FILENO, s, strlen(s));
    (void)w;
}

/* The first SIGINT or SIGTERM finishes the batch, writes the checkpoint and exits 130 or
 * 143; a second one exits at once (the checkpoint on disk is whole either way: it is
 * replaced by rename). */
static void on_signal(int sig)
{
    if (g_signal) {
        say("\nregula: second signal: exiting now; the checkpoint on disk is the last one "
            "written, whole\n");
        _exit(128 + sig);
    }
    g_signal = sig;
    say(sig == SIGINT ? "\nregula: interrupt: finishing this batch and saving (Ctrl-C again "
                        "quits at once)\n"
                      : "\nregula: SIGTERM: finishing this batch and saving\n");
    if (g_run)
        rg_run_request_stop(g_run);
}

static int fail(rg_status st, const char *msg)
{
    char buf[4096];
    return rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", rg_cli_flagify(msg, buf, sizeof buf));
}

static void layer_hooks(void *user, int layer, char *buf, size_t cap)
{
    if (rg_run_layer_hooks(user, layer, buf, cap) != RG_OK)
        snprintf(buf, cap, "?");
}

static void print_header(rg_run *run, const rg_recipe *r, int threads, int ranks, int quiet)
{
    rg_model_info mi = {.struct_size = sizeof mi};
    rg_run_result res = {.struct_size = sizeof res};
    rg_model_get_info(rg_run_model(run), &mi);
    rg_run_get_result(run, &res);
    const char *sched = rg_recipe_get(r, "lr_schedule");
    char sched_text[64] = "";
    if (strcmp(sched, "constant"))
        snprintf(sched_text, sizeof sched_text, " %s", sched);
    char data[1024], opt[32], lr[64];
    snprintf(data, sizeof data, "%s", rg_recipe_get(r, "data"));
    snprintf(opt, sizeof opt, "%s", rg_recipe_get(r, "optimizer"));
    snprintf(lr, sizeof lr, "%g", atof(rg_recipe_get(r, "lr")));
    char procs[64] = "";
    if (ranks > 1)
        snprintf(procs, sizeof procs, "%d ranks x ", ranks);
    /* lines of at most 80 columns, a terminal's width: a wrapped header is hard to read */
    char line[4096];
    snprintf(line, sizeof line, "regula %s: %s on %s", rg_version(), mi.spec, data);
    rg_cli_print_wrapped(stdout, line, 4);
    snprintf(line, sizeof line, "  %lld train, %lld val, %lld test images; %lld parameters",
             (long long)res.train_examples, (long long)res.val_examples,
             (long long)res.test_examples, (long long)mi.parameters);
    rg_cli_print_wrapped(stdout, line, 4);
    snprintf(line, sizeof line, "  %s lr %s%s, batch %s, %s%d threads (OpenBLAS %s)", opt, lr,
             sched_text, rg_recipe_get(r, "batch"), procs, threads, rg_blas_kind());
    rg_cli_print_wrapped(stdout, line, 4);
    rg_cli_print_plugins(stdout, rg_run_describe_plugins(run));
    if (!quiet)
        rg_cli_model_table(stdout, rg_run_model(run), 0, layer_hooks, run);
    fflush(stdout);
}

static int report(rg_run *run, const rg_recipe *r, int64_t before)
{
    rg_run_result res = {.struct_size = sizeof res};
    rg_run_get_result(run, &res);
    if (res.state == RG_RUN_PAUSED) {
        const char *save = rg_recipe_get(r, "save");
        char where[4096];
        snprintf(where, sizeof where, "%s", *save ? save : "FILE (add --save FILE to keep the "
                                                          "state)");
        int64_t ran = res.epochs_done - before, asked = atoll(rg_recipe_get(r, "stop_after"));
        int64_t stop_at = atoll(rg_recipe_get(r, "stop_at_epoch"));
        if (!g_signal && stop_at && res.epochs_done >= stop_at) {
            printf("stopped at epoch %lld as asked (--stop-at-epoch); continue with --resume "
                   "%s\n", (long long)res.epochs_done, where);
            return 0;
        }
        if (g_signal || !asked || ran < asked) {
            if (*save)
                printf("interrupted in epoch %lld; saved the run to %s; continue with: "
                       "regula train --resume %s\n",
                       (long long)res.epochs_done + 1, save, save);
            else
                printf("interrupted in epoch %lld; nothing was saved (add --save FILE to keep "
                       "the state)\n", (long long)res.epochs_done + 1);
            return 128 + (g_signal ? (int)g_signal : SIGINT);
        }
        printf("stopped after %lld epochs as asked (--stop-after); continue with --resume %s\n",
               (long long)ran, where);
        return 0;
    }
    if (res.early_stopped)
        printf("early stopping: %s has not improved for %s epochs\n",
               rg_recipe_get(r, "early_stop"), rg_recipe_get(r, "patience"));
    if (res.best_epoch)
        printf("restored the weights of epoch %lld, the best on the validation split\n",
               (long long)res.best_epoch);
    if (!strcmp(rg_recipe_get(r, "test"), "false") || res.test.count == 0)
        printf("test set not evaluated (--no-test)");
    else
        printf("test accuracy %.4f  loss %.4f  (%lld images)", res.test.accuracy, res.test.loss,
               (long long)res.test.count);
    if (res.epochs_done)
        printf("  mean %.2f s/epoch", res.seconds_per_epoch);
    printf("\n");
    return 0;
}

int rg_cmd_train(int argc, char **argv)
{
    rg_context *ctx = NULL;
    if (rg_context_create(NULL, &ctx) != RG_OK)
        return fail(RG_ERR_INVALID, rg_last_error());
    rg_recipe *r = NULL;
    rg_cli_train_extra x;
    char err[4096] = "";
    rg_status st = rg_recipe_create(ctx, &r);
    if (st != RG_OK)
        snprintf(err, sizeof err, "%s", rg_context_error(ctx));
    else
        st = rg_cli_recipe_parse(argc, argv, "train", r, &x, err, sizeof err);
    if (st != RG_OK) {
        int code = rg_cli_fail(st == RG_ERR_INVALID ? 2 : 1, "%s", err);
        rg_recipe_destroy(r);
        rg_context_destroy(ctx);
        return code;
    }
    if (x.help || x.print_config) {
        if (x.help) {
            fputs(usage_head, stdout);
            rg_cli_recipe_help(stdout);
            fputs(usage_tail, stdout);
        } else {
            char *json = rg_recipe_to_json(r);
            puts(json ? json : "{}");
            rg_free(json);
        }
        rg_recipe_destroy(r);
        rg_context_destroy(ctx);
        return 0;
    }
    /* the recipe's threads choose the context's, so both report the same number */
    int64_t threads = atoll(rg_recipe_get(r, "threads"));
    rg_context_params cp = rg_context_default_params();
    cp.threads = (int)threads;
    cp.log = rg_cli_log;
    cp.mpi_comm = rg_cli_mpi_comm();
    rg_context *parse_ctx = ctx; /* the recipe's, kept until the recipe goes */
    ctx = NULL;
    rg_run *run = NULL;
    if (rg_context_create(&cp, &ctx) != RG_OK) {
        rg_recipe_destroy(r);
        rg_context_destroy(parse_ctx);
        return fail(RG_ERR_INVALID, rg_last_error());
    }
    if (x.resume)
        st = rg_run_resume(ctx, x.resume, r, &run);
    else
        st = rg_run_create(ctx, r, &run);
    if (st != RG_OK) {
        /* an unusable --resume FILE is bad input, as a bad flag is */
        int code = fail(x.resume ? RG_ERR_INVALID : st, rg_context_error(ctx));
        rg_recipe_destroy(r);
        rg_context_destroy(parse_ctx);
        rg_context_destroy(ctx);
        return code;
    }
    const rg_recipe *eff = rg_run_recipe(run);
    rg_run_result res = {.struct_size = sizeof res};
    rg_run_get_result(run, &res);
    int64_t before = res.epochs_done;
    cli_run cr = {0};
    cr.cap = atoll(rg_recipe_get(eff, "epochs")) + 1;
    cr.history = calloc((size_t)cr.cap, sizeof *cr.history);
    for (int64_t e = 1; cr.history && e <= before; e++) {
        cr.history[cr.count].struct_size = sizeof cr.history[0];
        if (rg_run_get_epoch(run, e, &cr.history[cr.count]) == RG_OK)
            cr.count++;
    }
    rg_progress_init(&cr.printer, x.quiet, atoll(rg_recipe_get(eff, "batch")),
                     atoll(rg_recipe_get(eff, "log_every")));
    cr.save = rg_recipe_get(eff, "save");
    if (before > 0 && *cr.save)
        rg_cli_faults_checkpoint(cr.save, before);
    rg_cli_faults_install(x.hook_timeout);
    rg_cli_faults_phase("starting the run (before its first batch)");
    print_header(run, eff, rg_context_threads(ctx), rg_context_ranks(ctx), x.quiet);
    if (x.resume)
        printf("resumed %s after epoch %lld\n", x.resume, (long long)before);
    rg_callbacks cb = rg_default_callbacks();
    cb.on_batch = on_batch;
    cb.on_epoch = on_epoch;
    cb.user = &cr;
    /* Ctrl-C or SIGTERM: the batch ends, the checkpoint is written, exit 130 or 143 */
    g_run = run;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    st = rg_run_fit(run, &cb);
    rg_cli_faults_done();
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    g_run = NULL;
    int code = st == RG_OK ? report(run, eff, before) : fail(st, rg_context_error(ctx));
    free(cr.history);
    rg_run_destroy(run);
    rg_recipe_destroy(r);
    rg_context_destroy(parse_ctx);
    rg_context_destroy(ctx);
    return code;
}
