/* atomic.c — temp file + fsync + rename. */
#include "atomic.h"
#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Live temp paths, readable from a signal handler (fixed storage, no malloc). */
#define MAX_LIVE 4
static char g_live[MAX_LIVE][4096];
static volatile sig_atomic_t g_live_used[MAX_LIVE];

void atomic_remove_all(void) {
    for (int i = 0; i < MAX_LIVE; i++)
        if (g_live_used[i]) unlink(g_live[i]);
}

static void split(const char *path, char **dir, char **base) {
    char *a = strfmt("%s", path), *b = strfmt("%s", path);
    *dir = strfmt("%s", dirname(a));
    *base = strfmt("%s", basename(b));
    free(a);
    free(b);
}

int atomic_open(atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->slot = -1;
    char *dir, *base;
    split(path, &dir, &base);
    struct stat st;
    if (stat(dir, &st) != 0) {
        cli_error("output %s: folder %s does not exist", path, dir);
        goto fail;
    }
    if (!S_ISDIR(st.st_mode)) {
        cli_error("output %s: %s is not a folder", path, dir);
        goto fail;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("output %s is a folder", path);
        goto fail;
    }
    f->path = strfmt("%s", path);
    f->tmp = strfmt("%s/.%s.saex-tmp-%ld", dir, base, (long)getpid());
    if (strlen(f->tmp) >= sizeof g_live[0]) {
        cli_error("output %s: path too long", path);
        goto fail;
    }
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        cli_error("output %s: cannot create a file in %s: %s", path, dir, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < MAX_LIVE; i++)
        if (!g_live_used[i]) {
            strcpy(g_live[i], f->tmp);
            g_live_used[i] = 1;
            f->slot = i;
            break;
        }
    free(dir);
    free(base);
    return 0;
fail:
    free(dir);
    free(base);
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
    return -1;
}

int atomic_write(atomic_file *f, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            cli_error("writing %s: %s", f->path, w < 0 ? strerror(errno) : "no space written");
            atomic_abort(f);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void forget(atomic_file *f) {
    if (f->slot >= 0) g_live_used[f->slot] = 0;
    f->slot = -1;
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
}

int atomic_commit(atomic_file *f) {
    if (f->fd < 0) return -1;
    if (fsync(f->fd) != 0 || close(f->fd) != 0) {
        cli_error("writing %s: %s", f->path, strerror(errno));
        f->fd = -1;
        atomic_abort(f);
        return -1;
    }
    f->fd = -1;
    if (rename(f->tmp, f->path) != 0) {
        cli_error("renaming %s to %s: %s", f->tmp, f->path, strerror(errno));
        atomic_abort(f);
        return -1;
    }
    /* Make the rename itself durable. */
    char *dir, *base;
    split(f->path, &dir, &base);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    free(base);
    forget(f);
    return 0;
}

void atomic_abort(atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    forget(f);
}
