/* Axis limits, ticks and tick labels. Linear ticks sit at 1, 2, 5 x 10^k
 * (Heckbert, "Nice numbers for graph labels", Graphics Gems 1990); log ticks
 * at decades, with 2 and 5 added when a range spans less than two decades. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

static double nice_step(double rough)
{
    double mag = pow(10.0, floor(log10(rough)));
    double norm = rough / mag;
    return (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
}

static void linear_ticks(rg_plot_axis *a, int target)
{
    /* Halves first: the span of values near DBL_MAX would overflow. */
    double step = nice_step((a->hi / 2 - a->lo / 2) / (target > 1 ? target : 1) * 2);
    if (a->integer && step < 1.0)
        step = 1.0;
    /* Ticks as integer multiples of the step, so 0.1 * 3 does not drift to
     * 0.30000000000000004 in a label or fall just outside the range. */
    double k0 = ceil(a->lo / step - 1e-9), k1 = floor(a->hi / step + 1e-9);
    a->nticks = 0;
    for (double k = k0; k <= k1 && a->nticks < RG_PLOT_MAX_TICKS; k++)
        a->ticks[a->nticks++] = k == 0.0 ? 0.0 : k * step;
}

static void log_ticks(rg_plot_axis *a, int target)
{
    double l0 = log10(a->lo), l1 = log10(a->hi);
    int d0 = (int)ceil(l0 - 1e-9), d1 = (int)floor(l1 + 1e-9);
    int decades = d1 - d0 + 1;
    a->nticks = a->nminor = 0;
    if (decades >= 2) {
        int stride = (decades + target - 1) / (target > 0 ? target : 1);
        if (stride < 1)
            stride = 1;
        for (int d = d0; d <= d1 && a->nticks < RG_PLOT_MAX_TICKS; d++)
            if ((d - d0) % stride == 0)
                a->ticks[a->nticks++] = pow(10.0, d);
        if (stride == 1 && decades <= 6)
            for (int d = d0 - 1; d <= d1; d++)
                for (int m = 2; m <= 9 && a->nminor < RG_PLOT_MAX_TICKS; m++) {
                    double v = m * pow(10.0, d);
                    if (v >= a->lo && v <= a->hi)
                        a->minor[a->nminor++] = v;
                }
        return;
    }
    for (int d = d0 - 1; d <= d1; d++)
        for (int m = 1; m <= 5; m += m == 1 ? 1 : 3) { /* 1, 2, 5 */
            double v = m * pow(10.0, d);
            if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9) &&
                a->nticks < RG_PLOT_MAX_TICKS)
                a->ticks[a->nticks++] = v;
        }
    if (a->nticks < 2) /* narrower than 1 to 2: plain linear ticks read best */
        linear_ticks(a, target);
}

void rg_plot_axis_fit(rg_plot_axis *a, double dmin, double dmax, int log, int integer,
                      double pad, int target)
{
    memset(a, 0, sizeof *a);
    a->log = log;
    a->integer = integer;
    if (log) {
        double l0 = log10(dmin), l1 = log10(dmax);
        if (l1 - l0 < 1e-9) {
            l0 -= 0.5;
            l1 += 0.5;
        } else {
            double span = l1 - l0;
            l0 -= pad * span;
            l1 += pad * span;
        }
        /* Padding must not step outside the doubles (1e-323 .. 1.8e308). */
        a->lo = pow(10.0, fmax(l0, -323.0));
        a->hi = pow(10.0, fmin(l1, 308.0));
        if (a->hi <= a->lo)
            a->hi = DBL_MAX;
        log_ticks(a, target);
        return;
    }
    if (dmax - dmin <= 1e-12 * fmax(1.0, fabs(dmax))) {
        /* One value: centre it (a single epoch is the common case). */
        double half = integer ? 0.5 : (dmin != 0.0 ? fabs(dmin) * 0.1 : 1.0);
        a->lo = dmin - half;
        a->hi = dmax + half;
    } else if (isfinite(dmax - dmin) && isfinite(dmin - pad * (dmax - dmin)) &&
               isfinite(dmax + pad * (dmax - dmin))) {
        double span = dmax - dmin;
        a->lo = dmin - pad * span;
        a->hi = dmax + pad * span;
    } else { /* values near DBL_MAX: no room for padding */
        a->lo = dmin;
        a->hi = dmax;
    }
    linear_ticks(a, target);
}

double rg_plot_axis_frac(const rg_plot_axis *a, double v)
{
    if (a->log)
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v / 2 - a->lo / 2) / (a->hi / 2 - a->lo / 2);
}

/* "%.*e" without the noise: "2.50e+06" -> "2.5e6", "1e-04" -> "1e-4". */
static void format_sci(double v, int digits, char *buf, size_t cap)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", digits < 0 ? 0 : digits, v);
    char *e = strchr(tmp, 'e');
    if (!e) {
        snprintf(buf, cap, "%s", tmp);
        return;
    }
    *e = '\0';
    int exp = (int)strtol(e + 1, NULL, 10);
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *z = tmp + strlen(tmp) - 1;
        while (z > dot && *z == '0')
            *z-- = '\0';
        if (z == dot)
            *z = '\0';
    }
    snprintf(buf, cap, "%se%d", tmp, exp);
}

void rg_plot_format_tick(const rg_plot_axis *a, double v, char *buf, size_t cap)
{
    if (a->log && v > 0.0) {
        int e = (int)floor(log10(v) + 1e-9);
        double m = v / pow(10.0, e);
        if (fabs(m - round(m)) < 1e-6) { /* 1, 2 or 5 x 10^e */
            /* One style per axis: "1e-5 1e-4 1e-3", not "1e-4 0.001". */
            int sci = 0;
            for (int i = 0; i < a->nticks; i++) {
                int te = (int)floor(log10(a->ticks[i]) + 1e-9);
                sci |= te < -3 || te > 4;
            }
            if (!sci)
                snprintf(buf, cap, "%.*f", e < 0 ? -e : 0, v);
            else
                format_sci(v, 0, buf, cap);
            return;
        }
    }
    double step = a->nticks > 1 ? a->ticks[1] - a->ticks[0] : 0.0;
    if (step <= 0.0) /* one tick: whole on an integer axis, else two digits */
        step = a->integer || v == 0.0 ? 1.0 : pow(10.0, floor(log10(fabs(v))) - 1);
    if (fabs(v) < step * 1e-6)
        v = 0.0;
    int s = (int)floor(log10(step) + 1e-9);
    double big = fmax(fabs(a->lo), fabs(a->hi));
    if (big >= 1e5 || (big < 1e-3 && big > 0.0)) {
        if (v == 0.0)
            snprintf(buf, cap, "0");
        else
            format_sci(v, (int)floor(log10(fabs(v)) + 1e-9) - s, buf, cap);
        return;
    }
    snprintf(buf, cap, "%.*f", s < 0 ? -s : 0, v);
}
