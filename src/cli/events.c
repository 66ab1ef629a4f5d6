/* events.c — rendering library events on the terminal (events.h). */
#include "events.h"
#include "args.h"
#include "signals.h"

#include <string.h>

static void on_log(void *ctx, saex_log_level level, const char *msg) {
    cli_ui *ui = ctx;
    if (level == SAEX_LOG_INFO && ui->quiet_info) return;
    progress_clear(&ui->bar);
    download_progress_clear(&ui->download);
    if (level == SAEX_LOG_WARN) cli_warn("%s", msg);
    else cli_info("%s", msg);
}

static void on_progress(void *ctx, const saex_progress *p) {
    cli_ui *ui = ctx;
    if (!strcmp(p->what, "download")) ui->download.events.progress(&ui->download, p);
    if (strcmp(p->what, "extract") != 0) return;
    if (!ui->began) {
        progress_begin(&ui->bar, p->total, p->total_tokens);
        progress_skip(&ui->bar, p->done, p->done_tokens); /* resumed work is not this run's speed */
        ui->began = 1;
    }
    progress_update(&ui->bar, p->done, p->done_tokens);
    if (p->finished) {
        progress_end(&ui->bar);
        ui->began = 0;
    }
}

static int on_should_stop(void *ctx) {
    (void)ctx;
    return g_stop_signal != 0;
}

saex_events cli_events(cli_ui *ui) {
    memset(&ui->bar, 0, sizeof ui->bar);
    download_progress_init(&ui->download, &g_stop_signal);
    ui->began = 0;
    saex_events e = {on_log, on_progress, on_should_stop, ui};
    return e;
}
