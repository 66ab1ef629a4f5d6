/* events.h — the CLI's side of saex_events: log lines on stderr (clearing
 * the progress bar first), the progress bar of an extraction, and stop
 * requests from signals.h. */
#ifndef SAEX_CLI_EVENTS_H
#define SAEX_CLI_EVENTS_H
#include "progress.h"
#include "saex.h"

typedef struct {
    progress bar;
    int began;
    int quiet_info; /* drop SAEX_LOG_INFO lines */
} cli_ui;

saex_events cli_events(cli_ui *ui);

#endif
