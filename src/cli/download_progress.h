/* download_progress.h — renders the library's Hub events (saex_events) on
 * stderr: log lines in the CLI's message format, and per downloaded file
 * its bytes, MB/s and ETA — one line redrawn with '\r' on a terminal, a
 * plain line every ~10 s and at the end of each file otherwise. */
#ifndef SAEX_CLI_DOWNLOAD_PROGRESS_H
#define SAEX_CLI_DOWNLOAD_PROGRESS_H
#include <signal.h>
#include <stdint.h>

#include "saex.h"

typedef struct {
    saex_events events;             /* what the library gets (ctx points back here) */
    volatile sig_atomic_t *stop;    /* set by the SIGINT handler, or NULL */
    char item[512];                 /* the file being drawn */
    int64_t first_done;             /* bytes it already had (a resumed download) */
    double t0, last_draw;
    int tty, drawn;
} download_progress;

/* Fills d->events; stop (may be NULL) non-zero makes the library stop. */
void download_progress_init(download_progress *d, volatile sig_atomic_t *stop);
/* Clears a bar still shown (before printing an error). */
void download_progress_clear(download_progress *d);

/* "1.2 GB", "812.0 KB", as the messages print sizes. */
void format_bytes(int64_t n, char *buf, size_t size);

#endif
