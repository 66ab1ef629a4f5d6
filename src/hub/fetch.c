/* fetch.c — one repository file into the cache, the way huggingface_hub
 * does it, so that either tool can finish what the other started:
 *
 *   HEAD the file at the commit -> ETag, size, where the bytes are
 *   blobs/<etag> already there?  -> only the snapshot link is made
 *   flock .locks/<repo>/<etag>.lock (one downloader per blob, across processes)
 *   append to blobs/<etag>.incomplete from its current size (Range)
 *   LFS file (ETag = sha256): the bytes must hash to it, else the partial
 *   file is deleted and the download fails
 *   fsync, rename to blobs/<etag>, then link snapshots/<commit>/<path>
 *
 * Nothing is visible under snapshots/ before its blob is complete; an
 * interrupted download leaves only the .incomplete file, which the next
 * run resumes. */
#include "digest.h"
#include "error.h"
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Takes the blob's lock, waiting (and polling should_stop) while another
 * process holds it. Returns the fd, or -1 with the status in *st. */
static int lock_blob(hub_repo *r, const char *etag, const char *path, saex_status *st) {
    char *lock = hub_lock_path(r->cache, r->repo, etag);
    if (!lock) {
        *st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        return -1;
    }
    char *dir = hub_fmt("%s", lock);
    if (dir) *strrchr(dir, '/') = '\0';
    *st = dir ? hub_mkdirs(dir) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    free(dir);
    int fd = *st ? -1 : open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (!*st && fd < 0) *st = saex_fail(SAEX_ERR_IO, "%s: cannot open the lock file: %s", lock, strerror(errno));
    for (int polls = 0; fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0; polls++) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            *st = saex_fail(SAEX_ERR_IO, "%s: cannot lock: %s", lock, strerror(errno));
            close(fd);
            fd = -1;
            break;
        }
        if (polls == 5) /* a second: worth saying why nothing moves */
            hub_log(r->http, SAEX_LOG_INFO, "%s/%s: another process is downloading it; waiting (%s)", r->repo, path, lock);
        if (hub_should_stop(r->http)) {
            *st = saex_fail(SAEX_ERR_INTERRUPTED, "%s/%s: interrupted while waiting for %s", r->repo, path, lock);
            close(fd);
            fd = -1;
            break;
        }
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(lock);
    return fd;
}

static void unlock_blob(int fd) {
    if (fd < 0) return;
    flock(fd, LOCK_UN);
    close(fd);
}

/* Feeds the first n bytes of path (a partial download) into the digest. */
static saex_status hash_prefix(const char *path, int64_t n, sha256_ctx *sha) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return saex_fail(SAEX_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    saex_status st = buf ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    while (!st && n > 0) {
        ssize_t got = read(fd, buf, n < CHUNK ? (size_t)n : CHUNK);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) st = saex_fail(SAEX_ERR_IO, "%s: cannot read: %s", path, got < 0 ? strerror(errno) : "file shrank");
        else sha256_update(sha, buf, (size_t)got), n -= got;
    }
    free(buf);
    close(fd);
    return st;
}

saex_status hub_check_space(const char *dir, int64_t need, const char *item) {
    struct statvfs vs;
    if (need <= 0 || statvfs(dir, &vs) != 0) return SAEX_OK;
    int64_t avail = (int64_t)vs.f_bavail * (int64_t)vs.f_frsize;
    if (avail >= need) return SAEX_OK;
    char a[32], b[32];
    hub_human_bytes(need, a, sizeof a);
    hub_human_bytes(avail, b, sizeof b);
    return saex_fail(SAEX_ERR_IO, "%s: not enough disk space in %s: %s more are needed, %s are free. Free space there, "
                                  "or set HF_HUB_CACHE to a folder on a larger disk",
                     item, dir, a, b);
}

/* Downloads url into blob (via blob.incomplete) under the lock. */
static saex_status download_blob(hub_repo *r, const char *path, const char *url, const hub_response *head,
                                 const char *blob) {
    char item[1024];
    snprintf(item, sizeof item, "%s/%s", r->repo, path);
    char *part = hub_fmt("%s.incomplete", blob);
    if (!part) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    saex_status st = SAEX_OK;
    sha256_ctx sha = {0};
    int lfs = hub_etag_is_sha256(head->etag);
    int fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot create: %s", part, strerror(errno));
        goto done;
    }
    struct stat sb;
    int64_t have = fstat(fd, &sb) == 0 ? (int64_t)sb.st_size : 0;
    if (head->size >= 0 && have > head->size) { /* longer than the file: not ours to resume */
        if (ftruncate(fd, 0) != 0) {
            st = saex_fail(SAEX_ERR_IO, "%s: cannot truncate: %s", part, strerror(errno));
            goto done;
        }
        have = 0;
    }
    char *blobs_dir = hub_fmt("%s/blobs", r->repo_dir);
    st = blobs_dir ? hub_check_space(blobs_dir, head->size - have, item) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    free(blobs_dir);
    if (st) goto done;
    if (lfs && ((st = sha256_init(&sha)) || (have > 0 && (st = hash_prefix(part, have, &sha))))) goto done;
    if (have > 0) hub_log(r->http, SAEX_LOG_INFO, "%s: resuming at byte %lld of %lld", item, (long long)have, (long long)head->size);
    hub_sink sink = {fd, have, head->size, lfs ? &sha : NULL, item, 0};
    hub_response got;
    hub_response_reset(&got);
    if (head->size < 0 || have < head->size || have == 0) {
        st = hub_get_file(r->http, url, &sink, &got);
        if (st == SAEX_ERR_IO && sink.write_errno == ENOSPC)
            st = saex_fail(SAEX_ERR_IO, "%s: the disk is full (no space left on device) while writing %s after %lld bytes. "
                                        "Free space (the partial file is kept and the next run resumes it), or set "
                                        "HF_HUB_CACHE to a folder on a larger disk",
                           item, part, (long long)sink.offset);
        else if (st == SAEX_ERR_IO && sink.write_errno)
            st = saex_fail(SAEX_ERR_IO, "%s: cannot write %s: %s", item, part, strerror(sink.write_errno));
        else if (st == SAEX_ERR_INTERRUPTED)
            st = saex_fail(SAEX_ERR_INTERRUPTED, "%s: interrupted after %lld of %lld bytes; %s is kept and the next run "
                                                 "resumes it",
                           item, (long long)sink.offset, (long long)head->size, part);
        if (st) goto done;
        if (got.status < 200 || got.status > 299) {
            st = hub_status_error(r->http, r->repo, item, &got, 0);
            goto done;
        }
    }
    if (head->size >= 0 && sink.offset != head->size) {
        st = saex_fail(SAEX_ERR_NETWORK, "%s: the download stopped at %lld of %lld bytes after retries; run again to "
                                         "resume it (%s is kept)",
                       item, (long long)sink.offset, (long long)head->size, part);
        goto done;
    }
    if (fsync(fd) != 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot flush to disk: %s", part, strerror(errno));
        goto done;
    }
    if (lfs) {
        char hex[SHA256_HEX_SIZE];
        sha256_final_hex(&sha, hex);
        sha.evp = NULL;
        if (strcasecmp(hex, head->etag) != 0) {
            unlink(part);
            st = saex_fail(SAEX_ERR_FORMAT, "%s: the downloaded bytes do not match the file's sha256 (expected %s, got %s); "
                                            "the corrupt download was deleted, run again to fetch it anew",
                           item, head->etag, hex);
            goto done;
        }
    }
    if (rename(part, blob) != 0) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot rename into %s: %s", part, blob, strerror(errno));
    } else {
        r->bytes_fetched += sink.offset - have;
        hub_progress_done(r->http, item, sink.offset);
    }
done:
    if (sha.evp) sha256_abort(&sha);
    if (fd >= 0) close(fd);
    free(part);
    return st;
}

saex_status hub_fetch_file(hub_repo *r, const char *path) {
    char *pointer = hub_fmt("%s/snapshots/%s/%s", r->repo_dir, r->commit, path);
    char *qpath = hub_url_quote(path, "/");
    char *url = qpath ? hub_fmt("%s/%s/resolve/%s/%s", hub_http_endpoint(r->http), r->repo, r->commit, qpath) : NULL;
    char *where = NULL, *blob = NULL;
    int lock = -1;
    saex_status st = SAEX_OK;
    if (!pointer || !url) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (hub_exists(pointer)) { /* the snapshot has it (and its blob: stat follows the link) */
        r->files_cached++;
        goto done;
    }
    hub_response head;
    if ((st = hub_head(r->http, url, &head))) goto done;
    if (head.status < 200 || head.status > 399) {
        if (head.status == 404) hub_mark_no_exist(r->repo_dir, r->commit, path);
        char *item = hub_fmt("%s/%s", r->repo, path);
        st = hub_status_error(r->http, r->repo, item ? item : url, &head, 0);
        free(item);
        goto done;
    }
    if (!head.etag[0]) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: the Hub's answer has no ETag (X-Linked-Etag / ETag); cannot name the file "
                                        "in the cache",
                       url);
        goto done;
    }
    if (strchr(head.etag, '/') || head.etag[0] == '.') {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: ETag \"%s\" is not a file name", url, head.etag);
        goto done;
    }
    where = head.location[0] ? hub_url_join(url, head.location) : hub_fmt("%s", url);
    blob = hub_fmt("%s/blobs/%s", r->repo_dir, head.etag);
    if (!where || !blob) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!hub_exists(blob)) {
        if ((lock = lock_blob(r, head.etag, path, &st)) < 0) goto done;
        if (!hub_exists(blob)) { /* not finished by whoever held the lock */
            if ((st = download_blob(r, path, where, &head, blob))) goto done;
            r->files_fetched++;
        } else {
            r->files_cached++;
        }
    } else {
        r->files_cached++;
    }
    st = hub_link_snapshot(r->repo_dir, r->commit, path, head.etag);
done:
    unlock_blob(lock);
    free(pointer);
    free(qpath);
    free(url);
    free(where);
    free(blob);
    return st;
}
