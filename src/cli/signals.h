/* signals.h — how saex ends when a signal arrives: never with a
 * half-written file left behind.
 *
 *   SIGINT, SIGTERM, SIGHUP   stop after the current batch (its results are
 *                             kept in the run store); a second one stops at once
 *   SIGPIPE                   ignored: a closed stdout/stderr pipe makes writes
 *                             fail, it does not kill a run that writes to a file
 *   SIGXFSZ                   ignored: the write fails with EFBIG and says so
 *   every other signal that   removes the temp files, then dies of the signal
 *   terminates by default     as it would have (crashes included)
 */
#ifndef SAEX_CLI_SIGNALS_H
#define SAEX_CLI_SIGNALS_H
#include <signal.h>

/* Non-zero once a stop was requested; the signal number. */
extern volatile sig_atomic_t g_stop_signal;

void signals_install(void);
/* The exit status for a run stopped by g_stop_signal (130 for SIGINT). */
int signals_exit_status(void);

#endif
