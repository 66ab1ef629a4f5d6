/* atomic.h — an output file that appears complete or not at all: written to a
 * temp file in the destination's folder, fsynced, then renamed over it.
 * Temp files still open are removed by atomic_remove_all() (signal-safe), so
 * Ctrl-C and errors leave nothing behind. */
#ifndef SAEX_CLI_ATOMIC_H
#define SAEX_CLI_ATOMIC_H
#include <stddef.h>

typedef struct {
    char *path; /* destination */
    char *tmp;  /* <dir>/.<name>.saex-tmp-<pid> */
    int fd;
    int slot;   /* index in the signal-safe list of live temp files */
} atomic_file;

/* Creates the temp file now, so that a missing folder or an unwritable path
 * is reported before any work. Returns 0, or -1 after printing an error. */
int atomic_open(atomic_file *f, const char *path);
/* Writes all of buf; -1 after printing an error (full disk, ...). */
int atomic_write(atomic_file *f, const void *buf, size_t len);
/* fsync + close + rename; -1 after printing an error (the temp file is removed). */
int atomic_commit(atomic_file *f);
/* Closes and removes the temp file (no-op if already committed/aborted). */
void atomic_abort(atomic_file *f);
/* Unlinks every live temp file; async-signal-safe. */
void atomic_remove_all(void);

#endif
