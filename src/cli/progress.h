/* progress.h — progress on stderr. On a terminal: one bar redrawn with '\r'
 * (samples/s, tokens/s, ETA). Otherwise: a plain line every ~10 s or 10%. */
#ifndef SAEX_CLI_PROGRESS_H
#define SAEX_CLI_PROGRESS_H
#include <stdint.h>

typedef struct {
    int64_t total_samples, total_tokens;
    int64_t done_samples, done_tokens;
    int64_t skip_samples, skip_tokens; /* done before this process started (a resumed run) */
    double t0, last_draw;
    int tty;
    int last_decile;
    int drawn;
} progress;

double now_seconds(void);
void progress_begin(progress *p, int64_t total_samples, int64_t total_tokens);
/* Work already done when the run started: counted in the totals, not in the speed. */
void progress_skip(progress *p, int64_t samples, int64_t tokens);
void progress_update(progress *p, int64_t done_samples, int64_t done_tokens);
/* Finishes the bar (newline on a terminal) and prints the totals. */
void progress_end(progress *p);
/* Call before printing other lines while a bar is shown (clears it). */
void progress_clear(progress *p);

#endif
