/* download_progress.c — the Hub events on stderr (see download_progress.h). */
#include "download_progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "progress.h"

void format_bytes(int64_t n, char *buf, size_t size) {
    static const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 4) v /= 1000.0, u++;
    if (u == 0) snprintf(buf, size, "%lld B", (long long)n);
    else snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void fmt_eta(double s, char *buf, size_t n) {
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

void download_progress_clear(download_progress *d) {
    if (d->tty && d->drawn) fputs("\r\033[K", stderr);
    d->drawn = 0;
}

static void on_log(void *ctx, saex_log_level level, const char *message) {
    download_progress *d = ctx;
    download_progress_clear(d);
    if (level == SAEX_LOG_WARN) cli_warn("%s", message);
    else cli_info("%s", message);
}

/* "item  12.3 MB / 618.9 MB (2%)  45.6 MB/s  ETA 00:13" */
static void draw(download_progress *d, const saex_progress *p, double now) {
    double el = now - d->t0;
    double rate = el > 0 ? (double)(p->done - d->first_done) / el : 0;
    char done[32], total[32], speed[32], eta[32];
    format_bytes(p->done, done, sizeof done);
    format_bytes(p->total, total, sizeof total);
    format_bytes((int64_t)rate, speed, sizeof speed);
    fmt_eta(rate > 0 && p->total >= 0 ? (double)(p->total - p->done) / rate : -1, eta, sizeof eta);
    int pct = p->total > 0 ? (int)(100 * p->done / p->total) : 0;
    if (d->tty)
        fprintf(stderr, "\r\033[K%s  %s / %s (%d%%)  %s/s  ETA %s", p->item, done, p->total >= 0 ? total : "?", pct, speed,
                eta);
    else
        fprintf(stderr, "download: %s: %s of %s (%d%%), %s/s, ETA %s\n", p->item, done, p->total >= 0 ? total : "?", pct,
                speed, eta);
    d->drawn = d->tty;
    d->last_draw = now;
    fflush(stderr);
}

static void on_progress(void *ctx, const saex_progress *p) {
    download_progress *d = ctx;
    if (!p->item) return;
    double now = now_seconds();
    if (strcmp(d->item, p->item) != 0) { /* a new file */
        download_progress_clear(d);
        snprintf(d->item, sizeof d->item, "%s", p->item);
        d->first_done = p->done;
        d->t0 = d->last_draw = now;
    }
    if (p->finished) {
        double el = now - d->t0;
        char size[32], speed[32];
        format_bytes(p->done, size, sizeof size);
        format_bytes(el > 0 ? (int64_t)((double)(p->done - d->first_done) / el) : 0, speed, sizeof speed);
        download_progress_clear(d);
        fprintf(stderr, "downloaded %s (%s in %.1f s, %s/s)\n", p->item, size, el, speed);
        d->item[0] = '\0';
        return;
    }
    if (now - d->last_draw >= (d->tty ? 0.2 : 10.0)) draw(d, p, now);
}

static int on_should_stop(void *ctx) {
    download_progress *d = ctx;
    return d->stop && *d->stop;
}

void download_progress_init(download_progress *d, volatile sig_atomic_t *stop) {
    memset(d, 0, sizeof *d);
    d->stop = stop;
    d->tty = isatty(2);
    d->events.log = on_log;
    d->events.progress = on_progress;
    d->events.should_stop = on_should_stop;
    d->events.ctx = d;
}
