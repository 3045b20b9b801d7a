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

void rg_progress_batch(void *user, const rg_progress *p)
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

void rg_progress_epoch(void *user, const rg_epoch_stats *s)
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
