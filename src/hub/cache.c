/* cache.c — the Hugging Face cache as huggingface_hub lays it out (layout
 * in hub.h), so that Python tools and saex share one cache: paths, refs,
 * snapshot lookup, and the atomic steps that make a downloaded blob visible. */
#include "error.h"
#include "hub.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *saex_hf_cache_dir(void) {
    const char *v = hub_env("HF_HUB_CACHE");
    if (v) return hub_fmt("%s", v);
    v = hub_env("HF_HOME");
    if (v) return hub_fmt("%s/hub", v);
    v = hub_env("HOME");
    return hub_fmt("%s/.cache/huggingface/hub", v ? v : ".");
}

int hub_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int hub_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hub_is_repo_id(const char *s) {
    if (!s || !*s || s[0] == '/' || s[0] == '.') return 0;
    const char *slash = strchr(s, '/');
    return slash && slash != s && slash[1] && !strchr(slash + 1, '/');
}

int hub_is_commit(const char *rev) {
    if (!rev || strlen(rev) != 40) return 0;
    for (int i = 0; i < 40; i++)
        if (!isdigit((unsigned char)rev[i]) && !(rev[i] >= 'a' && rev[i] <= 'f')) return 0;
    return 1;
}

/* "models--ORG--NAME": '/' becomes "--", as huggingface_hub names repo folders. */
static char *repo_folder_name(const char *repo) {
    const char *slash = strchr(repo, '/');
    if (!slash) return hub_fmt("models--%s", repo);
    return hub_fmt("models--%.*s--%s", (int)(slash - repo), repo, slash + 1);
}

char *hub_repo_dir(const char *cache, const char *repo) {
    char *name = repo_folder_name(repo);
    char *p = name ? hub_fmt("%s/%s", cache, name) : NULL;
    free(name);
    return p;
}

char *hub_lock_path(const char *cache, const char *repo, const char *etag) {
    char *name = repo_folder_name(repo);
    char *p = name ? hub_fmt("%s/.locks/%s/%s.lock", cache, name, etag) : NULL;
    free(name);
    return p;
}

char *hub_read_ref(const char *repo_dir, const char *revision) {
    char *path = hub_fmt("%s/refs/%s", repo_dir, revision);
    char *commit = hub_read_trimmed(path);
    free(path);
    if (commit && strchr(commit, '/')) { /* a ref names a commit, never a path */
        free(commit);
        return NULL;
    }
    return commit;
}

/* The only folder in snapshots/, or NULL (none, or several: then *count > 1). */
static char *only_snapshot(const char *snapdir, int *count) {
    DIR *d = opendir(snapdir);
    char *only = NULL;
    *count = 0;
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = hub_fmt("%s/%s", snapdir, e->d_name);
        if (p && hub_is_dir(p) && (*count)++ == 0) only = p;
        else free(p);
    }
    closedir(d);
    if (*count == 1) return only;
    free(only);
    return NULL;
}

char *hub_find_snapshot(const char *repo_dir, const char *revision, hub_buf *tried) {
    char *found = NULL;
    if (hub_is_commit(revision)) {
        char *p = hub_fmt("%s/snapshots/%s", repo_dir, revision);
        hub_buf_add(tried, "%s\n", p ? p : "?");
        if (p && hub_is_dir(p)) return p;
        free(p);
        return NULL;
    }
    char *rev = hub_read_ref(repo_dir, revision);
    if (rev) {
        char *p = hub_fmt("%s/snapshots/%s", repo_dir, rev);
        hub_buf_add(tried, "%s (refs/%s)\n", p ? p : "?", revision);
        if (p && hub_is_dir(p)) found = p;
        else free(p);
        free(rev);
    } else {
        hub_buf_add(tried, "%s/refs/%s (missing or empty)\n", repo_dir, revision);
    }
    /* A cache copied without refs/ (rsync of snapshots only): one snapshot is unambiguous. */
    if (!found && !rev && strcmp(revision, "main") == 0) {
        char *snapdir = hub_fmt("%s/snapshots", repo_dir);
        int count = 0;
        found = snapdir ? only_snapshot(snapdir, &count) : NULL;
        if (!found) {
            if (count > 1) hub_buf_add(tried, "%s/* (%d snapshots and no refs/main to choose one)\n", snapdir, count);
            else hub_buf_add(tried, "%s/*\n", snapdir ? snapdir : "?");
        }
        free(snapdir);
    }
    return found;
}

char *hub_blob_link(const char *path, const char *etag) {
    hub_buf b = {0};
    for (const char *p = path; *p; p++)
        if (*p == '/') hub_buf_add(&b, "../");
    hub_buf_add(&b, "../../blobs/%s", etag);
    return hub_buf_take(&b);
}

saex_status hub_mkdirs(const char *path) {
    char *p = hub_fmt("%s", path);
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            saex_status st = saex_fail(SAEX_ERR_IO, "%s: cannot create the folder: %s", p, strerror(e));
            free(p);
            return st;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return hub_is_dir(path) ? SAEX_OK : saex_fail(SAEX_ERR_IO, "%s: exists and is not a folder", path);
}

saex_status hub_prepare_repo(const char *repo_dir) {
    static const char *sub[] = {"blobs", "snapshots", "refs"};
    for (int i = 0; i < 3; i++) {
        char *p = hub_fmt("%s/%s", repo_dir, sub[i]);
        if (!p) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
        saex_status st = hub_mkdirs(p);
        free(p);
        if (st) return st;
    }
    return SAEX_OK;
}

/* A temp name in blobs/, where neither huggingface_hub's scan nor a
 * snapshot reader looks, unique within the process and across processes. */
static char *temp_name(const char *repo_dir, const char *what) {
    static atomic_int counter;
    return hub_fmt("%s/blobs/.%s-%ld-%d.tmp", repo_dir, what, (long)getpid(), atomic_fetch_add(&counter, 1));
}

/* Makes the folder that will hold file `path` (which may have folders). */
static saex_status make_parent(const char *path) {
    char *dir = hub_fmt("%s", path);
    if (!dir) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    saex_status st = SAEX_OK;
    if (slash) {
        *slash = '\0';
        st = hub_mkdirs(dir);
    }
    free(dir);
    return st;
}

saex_status hub_link_snapshot(const char *repo_dir, const char *commit, const char *path, const char *etag) {
    char *pointer = hub_fmt("%s/snapshots/%s/%s", repo_dir, commit, path);
    char *target = hub_blob_link(path, etag);
    char *tmp = temp_name(repo_dir, "link");
    saex_status st = SAEX_OK;
    if (!pointer || !target || !tmp) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    char cur[4096];
    ssize_t n = readlink(pointer, cur, sizeof cur - 1);
    if (n > 0 && (size_t)n == strlen(target) && memcmp(cur, target, (size_t)n) == 0) goto done;
    if ((st = make_parent(pointer))) goto done;
    /* The link is made beside the blobs and renamed into place: a snapshot
     * path is either absent or a complete link, never half made. */
    if (symlink(target, tmp) != 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot create a symbolic link: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, pointer) != 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot rename the link into place: %s", pointer, strerror(errno));
        unlink(tmp);
    }
done:
    free(pointer);
    free(target);
    free(tmp);
    return st;
}

saex_status hub_write_ref(const char *repo_dir, const char *revision, const char *commit) {
    if (hub_is_commit(revision)) return SAEX_OK; /* a commit needs no ref */
    char *ref = hub_fmt("%s/refs/%s", repo_dir, revision);
    char *tmp = temp_name(repo_dir, "ref");
    saex_status st = SAEX_OK;
    if (!ref || !tmp) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    char *old = hub_read_ref(repo_dir, revision);
    int same = old && strcmp(old, commit) == 0;
    free(old);
    if (same || (st = make_parent(ref))) goto done;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    size_t n = strlen(commit);
    int ok = write(fd, commit, n) == (ssize_t)n; /* no newline: huggingface_hub reads the file as it is */
    int e = errno;
    ok = fsync(fd) == 0 && ok;
    close(fd);
    if (!ok || rename(tmp, ref) != 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot write: %s", ref, strerror(ok ? errno : e));
        unlink(tmp);
    }
done:
    free(ref);
    free(tmp);
    return st;
}

void hub_mark_no_exist(const char *repo_dir, const char *commit, const char *path) {
    char *p = hub_fmt("%s/.no_exist/%s/%s", repo_dir, commit, path);
    if (p && make_parent(p) == SAEX_OK) {
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd >= 0) close(fd);
    }
    free(p);
}
