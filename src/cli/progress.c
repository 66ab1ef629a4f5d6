/* progress.c — the progress bar / periodic progress lines. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_begin(progress *p, int64_t total_samples, int64_t total_tokens) {
    p->total_samples = total_samples;
    p->total_tokens = total_tokens;
    p->done_samples = p->done_tokens = 0;
    p->skip_samples = p->skip_tokens = 0;
    p->t0 = p->last_draw = now_seconds();
    p->tty = isatty(2);
    p->last_decile = 0;
    p->drawn = 0;
}

static void fmt_eta(double s, char *buf, size_t n) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%02d:%02d", t / 60, t % 60);
}

void progress_skip(progress *p, int64_t samples, int64_t tokens) {
    p->skip_samples = p->done_samples = samples;
    p->skip_tokens = p->done_tokens = tokens;
}

static void draw(progress *p, double now) {
    double el = now - p->t0;
    double frac = p->total_tokens > 0 ? (double)p->done_tokens / (double)p->total_tokens : 1.0;
    double sps = el > 0 ? (double)(p->done_samples - p->skip_samples) / el : 0;
    double tps = el > 0 ? (double)(p->done_tokens - p->skip_tokens) / el : 0;
    char eta[32];
    fmt_eta(tps > 0 ? (double)(p->total_tokens - p->done_tokens) / tps : -1, eta, sizeof eta);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3d%% %lld/%lld samples  %.1f samples/s  %.0f tok/s  ETA %s ", bar,
                (int)(frac * 100), (long long)p->done_samples, (long long)p->total_samples, sps, tps, eta);
        p->drawn = 1;
    } else {
        fprintf(stderr, "progress: %lld/%lld samples (%d%%), %.1f samples/s, %.0f tok/s, ETA %s\n",
                (long long)p->done_samples, (long long)p->total_samples, (int)(frac * 100), sps, tps, eta);
    }
    fflush(stderr);
    p->last_draw = now;
}

void progress_update(progress *p, int64_t done_samples, int64_t done_tokens) {
    p->done_samples = done_samples;
    p->done_tokens = done_tokens;
    double now = now_seconds();
    int decile = p->total_tokens > 0 ? (int)(10 * done_tokens / p->total_tokens) : 10;
    if (p->tty) {
        if (now - p->last_draw >= 0.2 || done_samples == p->total_samples) draw(p, now);
    } else if (now - p->last_draw >= 10.0 || decile > p->last_decile) {
        p->last_decile = decile;
        draw(p, now);
    }
}

void progress_clear(progress *p) {
    if (p->tty && p->drawn) {
        fprintf(stderr, "\r\033[K");
        p->drawn = 0;
    }
}

void progress_end(progress *p) {
    double el = now_seconds() - p->t0;
    if (p->tty && p->drawn) fputc('\n', stderr);
    p->drawn = 0;
    int64_t ns = p->done_samples - p->skip_samples, nt = p->done_tokens - p->skip_tokens;
    fprintf(stderr, "extracted %lld samples, %lld tokens in %.2f s (%.1f samples/s, %.0f tok/s)%s\n", (long long)ns,
            (long long)nt, el, el > 0 ? (double)ns / el : 0, el > 0 ? (double)nt / el : 0,
            p->skip_samples ? " (the rest was already in the run store)" : "");
}
