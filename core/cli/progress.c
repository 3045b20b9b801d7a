#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

void rg_progress_init(rg_progress_printer *pp, int quiet)
{
    pp->tty = isatty(STDOUT_FILENO);
    pp->quiet = quiet;
    pp->last_draw = -1.0;
    pp->last_tenth = 0;
}

void rg_progress_batch(void *user, const rg_batch_info *p)
{
    rg_progress_printer *pp = user;
    if (pp->quiet)
        return;
    if (pp->tty) {
        /* redraw at most ~20 times a second: printing must not cost speed */
        if (p->batch != p->batches && p->seconds - pp->last_draw < 0.05 && pp->last_draw >= 0)
            return;
        pp->last_draw = p->seconds;
        int width = 30, done = (int)(width * p->batch / p->batches);
        printf("\r\033[Kepoch %lld/%lld [", (long long)p->epoch, (long long)p->epochs);
        for (int i = 0; i < width; i++)
            putchar(i < done ? '=' : (i == done ? '>' : ' '));
        printf("] %lld/%lld  loss %.4f  acc %.4f  %.1fs", (long long)p->batch,
               (long long)p->batches, p->loss, p->accuracy, p->seconds);
        fflush(stdout);
        if (p->batch == p->batches)
            pp->last_draw = -1.0;
        return;
    }
    int64_t tenth = 10 * p->batch / p->batches;
    if (p->batch == 1)
        pp->last_tenth = 0;
    if (tenth > pp->last_tenth && p->batch != p->batches) {
        pp->last_tenth = tenth;
        printf("  epoch %lld/%lld batch %lld/%lld  loss %.4f  acc %.4f  %.1fs\n",
               (long long)p->epoch, (long long)p->epochs, (long long)p->batch,
               (long long)p->batches, p->loss, p->accuracy, p->seconds);
        fflush(stdout);
    }
}

void rg_progress_epoch(void *user, const rg_epoch_info *s)
{
    rg_progress_printer *pp = user;
    if (pp->tty && !pp->quiet)
        printf("\r\033[K");
    printf("epoch %3lld  train loss %.4f acc %.4f", (long long)s->epoch, s->train_loss,
           s->train_accuracy);
    if (s->train_penalty != 0.0)
        printf(" (+penalty %.4f)", s->train_penalty);
    if (!isnan(s->val_loss))
        printf("  val loss %.4f acc %.4f", s->val_loss, s->val_accuracy);
    printf("  %.2f s\n", s->seconds);
    fflush(stdout);
}

void rg_cli_diagnose(const rg_epoch_info *h, int64_t n)
{
    if (n < 3 || isnan(h[n - 1].val_loss))
        return;
    const rg_epoch_info *c = &h[n - 1], *p2 = &h[n - 3];
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (h[i].val_loss < h[best].val_loss)
            best = i;
    /* overfitting: validation loss climbs away from its best while the
     * training loss still falls */
    if (best <= n - 3 && c->val_loss > 1.05 * h[best].val_loss &&
        c->train_loss < h[best].train_loss) {
        printf("  note: overfitting? validation loss %.4f is %.0f%% above its best (epoch %lld) "
               "while the training loss keeps falling\n",
               c->val_loss, 100.0 * (c->val_loss / h[best].val_loss - 1.0),
               (long long)h[best].epoch);
        return;
    }
    /* underfitting: both losses flat for two epochs and close to each other */
    double train_gain = (p2->train_loss - c->train_loss) / p2->train_loss;
    double val_gain = (p2->val_loss - c->val_loss) / p2->val_loss;
    if (train_gain < 0.01 && val_gain < 0.01 && c->val_loss < 1.1 * c->train_loss)
        printf("  note: underfitting? training and validation loss have both stopped falling at "
               "a similar level (%.4f, %.4f): more capacity, a higher learning rate or a "
               "weaker regularizer may help\n",
               c->train_loss, c->val_loss);
}
