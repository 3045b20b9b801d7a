/* Training control from the command line: an interrupted and resumed run
 * ends bit-identical to an uninterrupted one; early stopping restores the
 * best epoch; a corrupt checkpoint is refused and the last good one stays. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e.h"

static int run(const char *args, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >%s/%s 2>&1", REGULA, args, dir, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *name)
{
    static char buf[1 << 16];
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

TestSuite(resume, .init = setup, .fini = teardown, .timeout = 300);

#define RECIPE "train --model mlp:48 --train-limit 2500 --epochs 4 --threads 2 --quiet " \
               "--lr-schedule cosine --optimizer adam --reg l2:lambda=1e-4 "       \
               "--reg dropout:rate=0.2"

Test(resume, interrupted_and_resumed_run_is_bit_identical)
{
    char args[1024], a[128], b[128];
    snprintf(a, sizeof a, "%s/a.ckpt", dir);
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, RECIPE " --save %s", a);
    cr_assert_eq(run(args, "a.txt"), 0, "%s", slurp("a.txt"));
    snprintf(args, sizeof args, RECIPE " --save %s --stop-after 2", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", slurp("b1.txt"));
    cr_assert(strstr(slurp("b1.txt"), "stopped after 2 epochs") != NULL);
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    cr_assert_eq(run(args, "b2.txt"), 0, "%s", slurp("b2.txt"));
    cr_assert(strstr(slurp("b2.txt"), "resumed") != NULL, "%s", slurp("b2.txt"));
    int slots = assert_same_checkpoints(a, b, "#slot");
    cr_assert_eq(slots, 2 * 4, "Adam's two moments for each of 4 parameters");
}

Test(resume, changing_the_recipe_on_resume_is_refused)
{
    char args[1024], b[128];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, RECIPE " --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b.txt"), 0, "%s", slurp("b.txt"));
    snprintf(args, sizeof args, "train --resume %s --lr 0.5", b);
    cr_assert_eq(run(args, "c.txt"), 2);
    cr_assert(strstr(slurp("c.txt"), "--lr cannot change in a resumed run") != NULL, "%s",
              slurp("c.txt"));
}

Test(resume, a_corrupt_checkpoint_is_refused_and_an_interrupted_save_keeps_the_old_one)
{
    char args[1024], b[128];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, RECIPE " --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b.txt"), 0, "%s", slurp("b.txt"));
    /* a save that died half-way leaves only b.ckpt.tmp: the real file is intact */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", b);
    FILE *f = fopen(tmp, "w");
    fputs("RGCKPT02 half written", f);
    fclose(f);
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(b, &c), RG_OK, "%s", rg_error_message());
    rg_checkpoint_free(c);
    /* flip a byte: refused with the checksum named */
    f = fopen(b, "r+b");
    fseek(f, 200, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 200, SEEK_SET);
    fputc(ch ^ 1, f);
    fclose(f);
    snprintf(args, sizeof args, "train --resume %s", b);
    cr_assert_eq(run(args, "c.txt"), 2);
    cr_assert(strstr(slurp("c.txt"), "checksum mismatch") != NULL, "%s", slurp("c.txt"));
}

Test(resume, early_stopping_restores_the_best_epoch)
{
    char args[1024];
    /* a big MLP on 300 images with a high rate overfits fast */
    snprintf(args, sizeof args,
             "train --model mlp:256 --train-limit 300 --val 0.3 --epochs 40 --lr 0.2 --threads 2 "
             "--quiet --early-stop val_loss --patience 2 --summary %s/s.json --metrics %s/m.jsonl",
             dir, dir);
    cr_assert_eq(run(args, "o.txt"), 0, "%s", slurp("o.txt"));
    char *o = slurp("o.txt");
    cr_assert(strstr(o, "early stopping: val_loss has not improved for 2 epochs") != NULL, "%s", o);
    const char *r = strstr(o, "restored the weights of epoch ");
    cr_assert_not_null(r, "%s", o);
    int best = atoi(r + strlen("restored the weights of epoch "));
    /* the metrics file has one line per epoch run; the best epoch's val_loss
     * is the smallest, and the final evaluation reproduces it exactly */
    char *m = slurp("m.jsonl");
    double best_loss = INFINITY;
    int lines = 0, argbest = 0;
    for (char *p = m; (p = strstr(p, "\"val_loss\": ")) != NULL; p++) {
        double v = atof(p + 12);
        lines++;
        if (v < best_loss) {
            best_loss = v;
            argbest = lines;
        }
    }
    cr_assert_eq(argbest, best);
    cr_assert_eq(lines, best + 2, "stopped %d epochs after the best", lines - best);
    char *s = slurp("s.json");
    const char *vl = strstr(s, "\"val_loss\": ");
    cr_assert_not_null(vl);
    cr_assert(fabs(atof(vl + 12) - best_loss) <= 1e-8 * best_loss, "summary %g vs best %g",
              atof(vl + 12), best_loss);
}

/* A stateful plugin (ABI 1.2 state hooks): l2sp anchors to the starting weights, and a
 * resumed run must anchor to the same ones, not to the weights at the resume point. */
#define SP_RECIPE "train --model mlp:32 --train-limit 2000 --epochs 2 --threads 2 --quiet " \
                  "--optimizer sgd --lr 0.1 --reg l2sp:alpha=0.5"

Test(resume, a_stateful_plugin_resumes_bit_identically)
{
    char args[1024], a[128], b[128];
    snprintf(a, sizeof a, "%s/a.ckpt", dir);
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, SP_RECIPE " --save %s", a);
    cr_assert_eq(run(args, "a.txt"), 0, "%s", slurp("a.txt"));
    snprintf(args, sizeof args, SP_RECIPE " --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", slurp("b1.txt"));
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    cr_assert_eq(run(args, "b2.txt"), 0, "%s", slurp("b2.txt"));
    rg_checkpoint *ca = NULL;
    cr_assert_eq(rg_checkpoint_read(a, &ca), RG_OK, "%s", rg_error_message());
    const rg_ckpt_tensor *sa = rg_checkpoint_find(ca, "plugin.0#state");
    cr_assert_not_null(sa, "the plugin's state is in the checkpoint");
    cr_assert_gt(sa->numel, 32 * 784, "the anchor holds at least dense1.weight");
    rg_checkpoint_free(ca);
    assert_same_checkpoints(a, b, NULL);
}

/* A stateful weight transform: spectral_norm's power iteration continues from the saved u
 * and v, so the resumed run computes the same sigma at every step as an uninterrupted one. */
#define SN_RECIPE "train --model mlp:32 --train-limit 2000 --epochs 2 --threads 2 --quiet " \
                  "--optimizer sgd --lr 0.1 --reg spectral_norm"

Test(resume, a_stateful_weight_transform_resumes_bit_identically)
{
    char args[1024], a[128], b[128];
    snprintf(a, sizeof a, "%s/a.ckpt", dir);
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, SN_RECIPE " --save %s", a);
    cr_assert_eq(run(args, "a.txt"), 0, "%s", slurp("a.txt"));
    snprintf(args, sizeof args, SN_RECIPE " --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", slurp("b1.txt"));
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    cr_assert_eq(run(args, "b2.txt"), 0, "%s", slurp("b2.txt"));
    rg_checkpoint *ca = NULL;
    cr_assert_eq(rg_checkpoint_read(a, &ca), RG_OK, "%s", rg_error_message());
    const rg_ckpt_tensor *sa = rg_checkpoint_find(ca, "plugin.0#state");
    cr_assert_not_null(sa, "the plugin's state is in the checkpoint");
    /* u and v of dense1.weight [32, 784] and dense2.weight [10, 32] at least */
    cr_assert_gt(sa->numel, 32 + 784 + 10 + 32);
    rg_checkpoint_free(ca);
    assert_same_checkpoints(a, b, NULL);
}

/* The model computes with W/sigma, so `regula eval` of the checkpoint must too: the run's own
 * test line and eval's agree to the digit (the checkpoint keeps W for a resume and W/sigma as
 * NAME#eval); reading W itself gives another accuracy, which the test shows can be seen. */
static const char *test_line(const char *text)
{
    static char line[256];
    const char *at = strstr(text, "test accuracy ");
    cr_assert_not_null(at, "%s", text);
    size_t n = strcspn(at, "(");
    snprintf(line, sizeof line, "%.*s", (int)n, at);
    return line;
}

Test(resume, eval_of_a_spectral_norm_checkpoint_uses_w_over_sigma)
{
    char args[1024], a[128], la[256];
    snprintf(a, sizeof a, "%s/a.ckpt", dir);
    snprintf(args, sizeof args, "train --model mlp:32 --train-limit 2000 --epochs 2 --threads 2 "
             "--optimizer sgd --lr 0.1 --reg spectral_norm --save %s", a);
    cr_assert_eq(run(args, "a.txt"), 0, "%s", slurp("a.txt"));
    snprintf(la, sizeof la, "%s", test_line(slurp("a.txt")));
    snprintf(args, sizeof args, "eval %s", a);
    cr_assert_eq(run(args, "e.txt"), 0, "%s", slurp("e.txt"));
    cr_assert_str_eq(test_line(slurp("e.txt")), la);
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(a, &c), RG_OK, "%s", rg_error_message());
    const rg_ckpt_tensor *w = rg_checkpoint_find(c, "dense1.weight");
    const rg_ckpt_tensor *e = rg_checkpoint_find(c, "dense1.weight#eval");
    cr_assert(w && e && w->numel == e->numel);
    cr_assert(memcmp(w->data, e->data, (size_t)w->numel * sizeof(float)) != 0,
              "W/sigma is W: sigma = 1?");
    rg_checkpoint_free(c);
}

/* What a policy composes is part of its identity: the checkpoint names each composed
 * plugin's version, so a resume with another version of one is refused like one of the
 * policy itself (the same string comparison); and the same run resumes. */
Test(resume, a_policys_composed_plugins_are_part_of_its_identity)
{
    char args[1024], b[128], id[1024];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args, "train --model mlp:16 --train-limit 1000 --epochs 2 --threads 2 "
             "--quiet --aug trivial_augment --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", slurp("b1.txt"));
    rg_checkpoint *c = NULL;
    cr_assert_eq(rg_checkpoint_read(b, &c), RG_OK, "%s", rg_error_message());
    cr_assert_not_null(rg_checkpoint_config_get(c, "plugin.0", id, sizeof id));
    rg_checkpoint_free(c);
    cr_assert(strstr(id, "trivial_augment|1.0.0|1.6|num_magnitude_bins=31|composes=") == id,
              "%s", id);
    cr_assert(strstr(id, "rotate 1.1.0") != NULL && strstr(id, ",shear 1.0.0") != NULL &&
                  strstr(id, "equalize 1.0.0") != NULL, "%s", id);
    snprintf(args, sizeof args, "train --resume %s --quiet", b);
    cr_assert_eq(run(args, "b2.txt"), 0, "%s", slurp("b2.txt"));
}

Test(resume, a_stateful_plugin_without_state_hooks_cannot_be_resumed)
{
    char args[1024], b[128];
    snprintf(b, sizeof b, "%s/b.ckpt", dir);
    snprintf(args, sizeof args,
             "train --model mlp:16 --train-limit 1000 --epochs 2 --threads 2 --quiet "
             "--reg " REGULA_TEST_FIXTURES "/fixture_stateful.so --save %s --stop-after 1", b);
    cr_assert_eq(run(args, "b1.txt"), 0, "%s", slurp("b1.txt"));
    snprintf(args, sizeof args, "train --resume %s", b);
    cr_assert_neq(run(args, "b2.txt"), 0);
    const char *out = slurp("b2.txt");
    cr_assert(strstr(out, "plugin fixture_stateful") != NULL, "%s", out);
    cr_assert(strstr(out, "declares itself stateful but has no state hooks") != NULL, "%s", out);
}
