/* tempfile.h — files that appear complete or not at all.
 *
 * A file is written as "<dir>/.<name>.saex-tmp-<host>-<pid>-<n>" beside its
 * destination, fsynced, then renamed over it (or, with no_replace, linked
 * in place only if nothing is there yet). Every temp file still open is
 * listed in fixed storage, so that saex_remove_temp_files() — async-signal
 * safe — can unlink them from a signal handler: an interrupted run leaves
 * nothing behind. */
#ifndef SAEX_TEMPFILE_H
#define SAEX_TEMPFILE_H
#include <stddef.h>

#include "saex.h"

typedef struct {
    char *path; /* destination */
    char *tmp;
    int fd;
    int slot;   /* index in the signal-safe list, or -1 */
} tempfile;

/* Creates the temp file now, so that a missing folder or an unwritable
 * place is reported before any work. what: how messages name it ("output"). */
saex_status tempfile_open(tempfile *f, const char *path, const char *what);
/* Writes all of buf (SAEX_ERR_IO naming the destination, e.g. on a full disk). */
saex_status tempfile_write(tempfile *f, const void *buf, size_t len);
enum {
    TEMPFILE_NO_REPLACE = 1, /* fail with SAEX_ERR_CONFLICT when the destination exists (the temp
                                file is kept for another try: tempfile_commit_as) */
    TEMPFILE_NO_SYNC = 2     /* skip the fsyncs (file and folder): for files whose damage
                                after a machine crash is detected and repaired (chunks) */
};
/* fsync, then rename over the destination (flags: TEMPFILE_*). */
saex_status tempfile_commit(tempfile *f, int flags);
/* Commits under another destination name. */
saex_status tempfile_commit_as(tempfile *f, const char *path, int flags);
/* Closes and removes the temp file; safe on a committed or empty tempfile. */
void tempfile_abort(tempfile *f);

/* Removes the temp files in dir that a process of this host left when it
 * was killed (-9: no handler ran) and that is gone now; base: only those of
 * that destination name, or NULL for all. */
void tempfile_sweep(const char *dir, const char *base);

/* Writes a whole small file atomically (manifests, markers). */
saex_status write_file_atomic(const char *path, const void *data, size_t len, int flags);

#endif
