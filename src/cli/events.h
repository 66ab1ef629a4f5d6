/* events.h — the CLI's side of saex_events: log lines on stderr (clearing
 * the progress bars first), the progress of an extraction and of Hub
 * downloads, and stop requests from signals.h. */
#ifndef SAEX_CLI_EVENTS_H
#define SAEX_CLI_EVENTS_H
#include "download_progress.h"
#include "progress.h"
#include "saex.h"

typedef struct {
    progress bar;
    download_progress download; /* bars of Hub downloads */
    int began;
    int quiet_info; /* drop SAEX_LOG_INFO lines */
} cli_ui;

saex_events cli_events(cli_ui *ui);

#endif
