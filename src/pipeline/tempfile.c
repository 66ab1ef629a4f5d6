/* tempfile.c — temp file + fsync + rename, and the signal-safe list of
 * temp files in flight (tempfile.h). */
#include "tempfile.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Live temp paths, readable from a signal handler: fixed storage, no malloc.
 * A slot is claimed with an atomic flag; its path is written before the
 * slot is marked live. */
#define MAX_LIVE 64
#define PATH_CAP 4096
static char g_live[MAX_LIVE][PATH_CAP];
static atomic_int g_state[MAX_LIVE]; /* 0 free, 1 claimed, 2 live */
static atomic_long g_counter;

void saex_remove_temp_files(void) {
    for (int i = 0; i < MAX_LIVE; i++)
        if (atomic_load(&g_state[i]) == 2) unlink(g_live[i]);
}

static int claim_slot(const char *tmp) {
    for (int i = 0; i < MAX_LIVE; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&g_state[i], &expect, 1)) {
            memcpy(g_live[i], tmp, strlen(tmp) + 1);
            atomic_store(&g_state[i], 2);
            return i;
        }
    }
    return -1; /* more than MAX_LIVE at once: still works, only not signal-cleaned */
}

static void release_slot(tempfile *f) {
    if (f->slot >= 0) atomic_store(&g_state[f->slot], 0);
    f->slot = -1;
}

/* This host's name, for temp file names: on a shared file system a temp
 * file is only ever swept by the host whose process made it. */
static const char *host_name(void) {
    static char host[64];
    if (!host[0] && (gethostname(host, sizeof host - 1) != 0 || !host[0])) strcpy(host, "host");
    for (char *p = host; *p; p++)
        if (*p == '/' || *p == '.') *p = '_';
    return host;
}

static char *dir_of(const char *path) {
    char *c = strdup(path);
    if (!c) return NULL;
    char *d = strdup(dirname(c));
    free(c);
    return d;
}

static char *base_of(const char *path) {
    char *c = strdup(path);
    if (!c) return NULL;
    char *b = strdup(basename(c));
    free(c);
    return b;
}

saex_status tempfile_open(tempfile *f, const char *path, const char *what) {
    memset(f, 0, sizeof *f);
    f->fd = f->slot = -1;
    char *dir = dir_of(path), *base = base_of(path);
    saex_status st = SAEX_OK;
    struct stat sb;
    if (!dir || !base) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
    else if (stat(dir, &sb) != 0) st = saex_fail(SAEX_ERR_IO, "%s %s: folder %s does not exist", what, path, dir);
    else if (!S_ISDIR(sb.st_mode)) st = saex_fail(SAEX_ERR_IO, "%s %s: %s is not a folder", what, path, dir);
    else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) st = saex_fail(SAEX_ERR_IO, "%s %s is a folder", what, path);
    if (!st) {
        long n = atomic_fetch_add(&g_counter, 1);
        size_t len = strlen(dir) + strlen(base) + 128;
        f->tmp = malloc(len);
        f->path = strdup(path);
        if (!f->tmp || !f->path) st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        else snprintf(f->tmp, len, "%s/.%s.saex-tmp-%s-%ld-%ld", dir, base, host_name(), (long)getpid(), n);
        if (!st && strlen(f->tmp) >= PATH_CAP) st = saex_fail(SAEX_ERR_IO, "%s %s: path too long", what, path);
    }
    if (!st) {
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd < 0) st = saex_fail(SAEX_ERR_IO, "%s %s: cannot create a file in %s: %s", what, path, dir, strerror(errno));
        else f->slot = claim_slot(f->tmp);
    }
    free(dir);
    free(base);
    if (st) {
        free(f->tmp), free(f->path);
        f->tmp = f->path = NULL;
    }
    return st;
}

saex_status tempfile_write(tempfile *f, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return saex_fail(SAEX_ERR_IO, "writing %s: %s", f->path, w < 0 ? strerror(errno) : "no space written");
        p += w;
        len -= (size_t)w;
    }
    return SAEX_OK;
}

static void sync_dir(const char *path) {
    char *dir = dir_of(path);
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
}

saex_status tempfile_commit_as(tempfile *f, const char *path, int flags) {
    if (!f->tmp) return saex_fail(SAEX_ERR_ARG, "%s: nothing to commit", path);
    int sync = !(flags & TEMPFILE_NO_SYNC);
    if (f->fd >= 0) {
        if ((sync && fsync(f->fd) != 0) || close(f->fd) != 0) {
            int e = errno;
            f->fd = -1;
            return saex_fail(SAEX_ERR_IO, "writing %s: %s", path, strerror(e));
        }
        f->fd = -1;
    }
    if (flags & TEMPFILE_NO_REPLACE) {
        /* link() fails with EEXIST rather than replacing: no window where
         * another file at path could be overwritten. */
        if (link(f->tmp, path) != 0) {
            if (errno == EEXIST) return saex_fail(SAEX_ERR_CONFLICT, "%s already exists", path);
            return saex_fail(SAEX_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        }
        unlink(f->tmp);
    } else if (rename(f->tmp, path) != 0) {
        return saex_fail(SAEX_ERR_IO, "renaming %s to %s: %s", f->tmp, path, strerror(errno));
    }
    if (sync) sync_dir(path);
    release_slot(f);
    free(f->tmp), free(f->path);
    f->tmp = f->path = NULL;
    return SAEX_OK;
}

saex_status tempfile_commit(tempfile *f, int flags) {
    if (!f->path) return saex_fail(SAEX_ERR_ARG, "nothing to commit");
    char *p = strdup(f->path);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    saex_status st = tempfile_commit_as(f, p, flags);
    free(p);
    return st;
}

void tempfile_abort(tempfile *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    release_slot(f);
    free(f->tmp), free(f->path);
    f->tmp = f->path = NULL;
}

saex_status write_file_atomic(const char *path, const void *data, size_t len, int flags) {
    tempfile f;
    saex_status st = tempfile_open(&f, path, "file");
    if (!st) st = tempfile_write(&f, data, len);
    if (!st) st = tempfile_commit(&f, flags);
    if (st) tempfile_abort(&f);
    return st;
}

void tempfile_sweep(const char *dir, const char *base) {
    DIR *d = opendir(dir);
    if (!d) return;
    char mark[128];
    snprintf(mark, sizeof mark, ".saex-tmp-%s-", host_name());
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *name = e->d_name, *m = strstr(name, mark);
        if (name[0] != '.' || !m) continue;
        if (base && (strncmp(name + 1, base, strlen(base)) != 0 || name + 1 + strlen(base) != m)) continue;
        long pid = strtol(m + strlen(mark), NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        size_t n = strlen(dir) + strlen(name) + 2;
        char *p = malloc(n);
        if (p) {
            snprintf(p, n, "%s/%s", dir, name);
            unlink(p);
            free(p);
        }
    }
    closedir(d);
}
