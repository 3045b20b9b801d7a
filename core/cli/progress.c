#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void rg_progress_init(rg_progress_printer *pp, int quiet, int64_t batch_size,
                      int64_t log_every)
{
    memset(pp, 0, sizeof *pp);
    pp->tty = isatty(STDOUT_FILENO);
    pp->quiet = quiet;
    pp->batch_size = batch_size > 0 ? batch_size : 1;
    pp->log_every = log_every;
    pp->last_draw = -1.0;
}

/* 75 -> "1:15", 4000 -> "1:06:40" */
static void clock_text(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

/* images/s, and the seconds left in this epoch and in the run */
static void rates(const rg_progress_printer *pp, const rg_batch_info *p, double *ips,
                  double *epoch_left, double *run_left)
{
    double per_batch = p->batch > 0 ? p->seconds / (double)p->batch : NAN;
    *ips = p->seconds > 0 ? (double)(p->batch * pp->batch_size) / p->seconds : NAN;
    *epoch_left = per_batch * (double)(p->batches - p->batch);
    /* later epochs: as long as the finished ones took, or as this one will */
    double per_epoch = pp->epochs_timed ? pp->epoch_seconds / (double)pp->epochs_timed
                                        : per_batch * (double)p->batches;
    *run_left = *epoch_left + per_epoch * (double)(p->epochs - p->epoch);
}

void rg_progress_line(const rg_progress_printer *pp, const rg_batch_info *p, int cols,
                      char *buf, size_t cap)
{
    double ips, el, rl;
    rates(pp, p, &ips, &el, &rl);
    char head[64], count[48], metrics[64], extra[3][40], t[24];
    snprintf(head, sizeof head, "epoch %lld/%lld", (long long)p->epoch, (long long)p->epochs);
    snprintf(count, sizeof count, "%lld/%lld", (long long)p->batch, (long long)p->batches);
    snprintf(metrics, sizeof metrics, "loss %.4f acc %.4f", p->loss, p->accuracy);
    clock_text(el, t, sizeof t);
    snprintf(extra[0], sizeof extra[0], "ETA %s", t);
    if (isfinite(ips))
        snprintf(extra[1], sizeof extra[1], "%.0f img/s", ips);
    else
        snprintf(extra[1], sizeof extra[1], "- img/s");
    clock_text(rl, t, sizeof t);
    snprintf(extra[2], sizeof extra[2], "run %s", t);
    /* what does not fit goes, last field first (the run's ETA, the speed, the epoch's),
     * as long as a bar of 5 is left; then the bar itself */
    enum { MIN_BAR = 5, MAX_BAR = 30 };
    size_t room = cols > 1 ? (size_t)cols - 1 : 0;
    int n = 3;
    size_t base = strlen(head) + 1 + strlen(count) + 1 + strlen(metrics);
    for (int k = 0; k < 3; k++)
        base += 1 + strlen(extra[k]);
    while (n > 0 && base + 3 + MIN_BAR > room)
        base -= 1 + strlen(extra[--n]);
    int bar = base + 3 + MIN_BAR <= room ? (int)(room - base - 3) : 0;
    bar = bar > MAX_BAR ? MAX_BAR : bar;
    int len = snprintf(buf, cap, "%s ", head);
    if (bar > 0 && (size_t)len + (size_t)bar + 4 < cap) {
        int done = (int)(bar * p->batch / (p->batches > 0 ? p->batches : 1));
        buf[len++] = '[';
        for (int i = 0; i < bar; i++)
            buf[len++] = i < done ? '=' : (i == done ? '>' : ' ');
        buf[len++] = ']';
        buf[len++] = ' ';
        buf[len] = '\0';
    }
    len += snprintf(buf + len, cap - (size_t)len, "%s %s", count, metrics);
    for (int k = 0; k < n && (size_t)len < cap; k++)
        len += snprintf(buf + len, cap - (size_t)len, " %s", extra[k]);
    if (room && strlen(buf) > room) /* a terminal narrower than the fields: cut */
        buf[room] = '\0';
}

/* The epoch rows are a table, so that a row fits 80 columns with every field labelled
 * once (the labelled line it replaced took 93); its heads come before the first bar or
 * batch line, under the layer table. */
static void heads(rg_progress_printer *pp)
{
    if (pp->header_done)
        return;
    printf("%5s  %10s  %6s  %8s  %8s  %6s  %7s\n", "epoch", "train loss", "acc", "penalty",
           "val loss", "acc", "seconds");
    pp->header_done = 1;
}

static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
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
        heads(pp);
        char line[512];
        rg_progress_line(pp, p, terminal_columns(), line, sizeof line);
        printf("\r\033[K%s", line);
        fflush(stdout);
        if (p->batch == p->batches)
            pp->last_draw = -1.0;
        return;
    }
    if (pp->log_every > 0 && p->batch % pp->log_every == 0 && p->batch != p->batches) {
        heads(pp);
        double ips, el, rl;
        rates(pp, p, &ips, &el, &rl);
        char eta[24];
        clock_text(el, eta, sizeof eta);
        printf("  epoch %lld/%lld batch %lld/%lld  loss %.4f  acc %.4f  %.0f img/s  ETA %s\n",
               (long long)p->epoch, (long long)p->epochs, (long long)p->batch,
               (long long)p->batches, p->loss, p->accuracy, ips, eta);
        fflush(stdout);
    }
}

void rg_progress_epoch(void *user, const rg_epoch_info *s)
{
    rg_progress_printer *pp = user;
    if (isfinite(s->seconds)) {
        pp->epoch_seconds += s->seconds;
        pp->epochs_timed++;
    }
    if (pp->tty && !pp->quiet)
        printf("\r\033[K");
    heads(pp);
    printf("%5lld  %10.4f  %6.4f", (long long)s->epoch, s->train_loss, s->train_accuracy);
    if (s->train_penalty != 0.0)
        printf("  %8.4f", s->train_penalty);
    else
        printf("  %8s", "-");
    if (!isnan(s->val_loss))
        printf("  %8.4f  %6.4f", s->val_loss, s->val_accuracy);
    else
        printf("  %8s  %6s", "-", "-");
    printf("  %7.2f\n", s->seconds);
    fflush(stdout);
}

/* A note, word-wrapped to fit 80 columns, its later lines indented under its text. */
static void note(const char *text)
{
    enum { WIDTH = 78, INDENT = 8 };
    const char *p = text;
    int col = printf("  note: ");
    while (*p) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (!w)
            break;
        if (col > INDENT && col + 1 + (int)w > WIDTH) {
            col = printf("\n%*s", INDENT, "") - 1;
        } else if (col > INDENT) {
            putchar(' ');
            col++;
        }
        col += printf("%.*s", (int)w, p);
        p += w;
    }
    putchar('\n');
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
        char text[256];
        snprintf(text, sizeof text,
                 "overfitting? validation loss %.4f is %.0f%% above its best (epoch %lld) "
                 "while the training loss keeps falling",
                 c->val_loss, 100.0 * (c->val_loss / h[best].val_loss - 1.0),
                 (long long)h[best].epoch);
        note(text);
        return;
    }
    /* underfitting: both losses flat for two epochs and close to each other */
    double train_gain = (p2->train_loss - c->train_loss) / p2->train_loss;
    double val_gain = (p2->val_loss - c->val_loss) / p2->val_loss;
    if (train_gain < 0.01 && val_gain < 0.01 && c->val_loss < 1.1 * c->train_loss) {
        char text[256];
        snprintf(text, sizeof text,
                 "underfitting? training and validation loss have both stopped falling at a "
                 "similar level (%.4f, %.4f): more capacity, a higher learning rate or a "
                 "weaker regularizer may help",
                 c->train_loss, c->val_loss);
        note(text);
    }
}
