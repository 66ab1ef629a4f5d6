/* hub.h — internals of src/hub, shared by its files and by tests/test_hub.c.
 *
 *   text.c      heap strings and a growable text buffer (messages, URLs)
 *   registry.c  the Gemma Scope table and the hints for a missing id
 *   cache.c     the Hugging Face cache exactly as huggingface_hub lays it out
 *   shards.c    which safetensors shards hold the blocks a run needs
 *   http.c      libcurl: one request, its headers, retries, the Hub's errors
 *   fetch.c     one file into the cache (lock, HEAD, resumable GET, sha256, link)
 *   download.c  a repository listing and the files of a model / SAE / pattern
 *   resolve.c   saex_resolve_model / saex_resolve_sae: the cache first, then the Hub
 */
#ifndef SAEX_HUB_H
#define SAEX_HUB_H
#include <stddef.h>
#include <stdint.h>

#include "saex.h"

#if defined(__GNUC__)
#define HUB_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HUB_PRINTF(a, b)
#endif

/* ------------------------------------------------------------------- text.c */

/* A new heap string (saex_free / free); NULL when out of memory. */
char *hub_fmt(const char *fmt, ...) HUB_PRINTF(1, 2);

/* Text that grows; after an allocation failure it stays failed (oom = 1)
 * and every later add is a no-op, so callers check once at the end. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} hub_buf;
void hub_buf_add(hub_buf *b, const char *fmt, ...) HUB_PRINTF(2, 3);
/* The text (never NULL unless out of memory: "" when empty); b is reset. */
char *hub_buf_take(hub_buf *b);
void hub_buf_free(hub_buf *b);

/* "1", "on", "yes", "true" (any case), as huggingface_hub reads its flags. */
int hub_env_true(const char *name);
/* A non-empty environment variable, else NULL. */
const char *hub_env(const char *name);
/* A small text file (a ref, a token) without surrounding whitespace; NULL if absent or empty. */
char *hub_read_trimmed(const char *path);
/* "1.5 GB", "812 KB", "17 B" (powers of 1000, as huggingface_hub prints). */
void hub_human_bytes(int64_t n, char *buf, size_t size);

/* ------------------------------------------------------------------ cache.c
 * <cache>/models--ORG--NAME/
 *     blobs/<etag>                 file contents, named by ETag (sha256 for LFS files)
 *     blobs/<etag>.incomplete      a download in progress (resumed from its size)
 *     snapshots/<commit>/<path>    relative symlink to ../../blobs/<etag> (one ../ more per folder)
 *     refs/<revision>              the commit a branch / tag named, no newline
 *     .no_exist/<commit>/<path>    empty: the file is known to be absent at that commit
 * <cache>/.locks/models--ORG--NAME/<etag>.lock   flock while one process downloads a blob */

/* 1 if s looks like a Hub id "org/name" (one slash, no leading '/' or '.'). */
int hub_is_repo_id(const char *s);
/* 1 if rev is a full commit hash (40 lowercase hex digits). */
int hub_is_commit(const char *rev);
/* "<cache>/models--ORG--NAME" (NULL: out of memory). */
char *hub_repo_dir(const char *cache, const char *repo);
char *hub_lock_path(const char *cache, const char *repo, const char *etag);
/* The commit refs/<revision> names (trimmed), or NULL. */
char *hub_read_ref(const char *repo_dir, const char *revision);
/* The snapshot folder of revision: snapshots/<rev> for a commit, else the
 * one refs/<rev> names, else (revision "main", no ref) the only snapshot.
 * NULL if none; every path looked at is added to tried, one per line. */
char *hub_find_snapshot(const char *repo_dir, const char *revision, hub_buf *tried);
/* "../../blobs/<etag>" with one more "../" per '/' in path. */
char *hub_blob_link(const char *path, const char *etag);
/* mkdir -p. */
saex_status hub_mkdirs(const char *path);
/* Creates blobs/, snapshots/ and refs/ together (a repo folder without
 * snapshots/ is "corrupted" to huggingface_hub's scan_cache_dir). */
saex_status hub_prepare_repo(const char *repo_dir);
/* snapshots/<commit>/<path> -> blobs/<etag>, replaced atomically. */
saex_status hub_link_snapshot(const char *repo_dir, const char *commit, const char *path, const char *etag);
/* refs/<revision> = commit, through a temp file and rename. */
saex_status hub_write_ref(const char *repo_dir, const char *revision, const char *commit);
/* .no_exist/<commit>/<path> (best effort, as huggingface_hub). */
void hub_mark_no_exist(const char *repo_dir, const char *commit, const char *path);
int hub_exists(const char *path);
int hub_is_dir(const char *path);

/* ----------------------------------------------------------------- shards.c */

typedef struct {
    char **need;    /* shard file names holding the embedding or blocks 0..max_layer */
    int n_need;
    char **skip;    /* the other shards */
    int n_skip;
} hub_shards;
/* From the text of a model.safetensors.index.json (name: for messages).
 * max_layer < 0: every shard. */
saex_status hub_select_shards(const char *name, const char *json, size_t len, int max_layer, hub_shards *out);
void hub_shards_free(hub_shards *s);

/* --------------------------------------------------------------- registry.c */

int hub_registry_has_release(const char *release);
/* Why (release, sae_id) is not in the table and what is there instead:
 * the release's widths and layers, the ids for the layer, the -canonical
 * twin. NULL when out of memory. */
char *hub_registry_missing_hint(const char *release, const char *sae_id, int layer);
/* The known releases, comma separated. */
char *hub_registry_release_list(void);

/* ------------------------------------------------------------------- http.c */

/* What a response said, from its headers (the last response when curl saw several). */
typedef struct {
    long status;          /* HTTP status; 0 when no response */
    char commit[64];      /* X-Repo-Commit */
    char etag[256];       /* X-Linked-Etag, else ETag; quotes and W/ stripped */
    int64_t size;         /* X-Linked-Size, else Content-Length; -1 unknown */
    char location[4096];  /* Location, or "" */
    char error_code[64];  /* X-Error-Code: RepoNotFound, EntryNotFound, RevisionNotFound, GatedRepo */
    char error_message[512]; /* X-Error-Message */
    int retry_after;      /* Retry-After seconds; -1 absent */
    int64_t range_start;  /* Content-Range start of a 206; -1 absent */
    int saw_linked_etag;  /* X-Linked-Etag was there (an LFS file) */
    int saw_linked_size;
} hub_response;
/* Empties r (also before the first use). */
void hub_response_reset(hub_response *r);
/* Feeds one raw header line ("Name: value\r\n" or a status line) into r. */
void hub_response_header(hub_response *r, const char *line, size_t len);
/* W/"abc" -> abc, "abc" -> abc. */
void hub_normalize_etag(const char *in, char *out, size_t size);
/* 1 if etag is 64 hex digits: an LFS file whose ETag is its sha256. */
int hub_etag_is_sha256(const char *etag);
/* "https://host:port" of url, into buf; 0 if url has no scheme://host. */
int hub_url_origin(const char *url, char *buf, size_t size);
/* Percent-encodes s except unreserved characters and those in keep. */
char *hub_url_quote(const char *s, const char *keep);
/* location relative to base ("/x" or "x" or absolute) -> absolute URL. */
char *hub_url_join(const char *base, const char *location);

typedef struct hub_http hub_http;

/* A session against $HF_ENDPOINT (default https://huggingface.co): the
 * token (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, $HF_HOME/token) is sent only to
 * that origin. events may be NULL. */
saex_status hub_http_open(const saex_events *ev, hub_http **out);
void hub_http_close(hub_http *h);
const char *hub_http_endpoint(const hub_http *h);
int hub_http_has_token(const hub_http *h);
const saex_events *hub_http_events(const hub_http *h);
void hub_log(const hub_http *h, saex_log_level level, const char *fmt, ...) HUB_PRINTF(3, 4);
/* 1 when the caller asked to stop (saex_events.should_stop). */
int hub_should_stop(const hub_http *h);

/* HEAD url without following redirects to another host (a relative redirect,
 * a renamed repo, is followed); 5xx / 429 / dropped connections are retried.
 * Any status comes back in r (SAEX_OK); transport failures are errors. */
saex_status hub_head(hub_http *h, const char *url, hub_response *r);
/* GET url into memory (the API), same retries; *body NUL-terminated. */
saex_status hub_get_text(hub_http *h, const char *url, hub_response *r, char **body, size_t *len);

/* A streamed download into fd from byte `offset` (Range when > 0). */
typedef struct {
    int fd;
    int64_t offset;        /* bytes already in the file */
    int64_t total;         /* expected size, -1 unknown */
    void *sha;             /* sha256_ctx * fed with every byte written, or NULL */
    const char *item;      /* "repo/path" for progress */
    int write_errno;       /* set when a write failed (ENOSPC) */
} hub_sink;
/* GET url (following redirects; the token only to the endpoint's origin)
 * appending to sink; resumes with Range after a dropped connection, retries
 * 5xx / 429 with backoff. On success sink->offset is the file size. */
saex_status hub_get_file(hub_http *h, const char *url, hub_sink *sink, hub_response *r);
/* The last progress event of a file (finished = 1), once it is in place. */
void hub_progress_done(const hub_http *h, const char *item, int64_t size);

/* Turns a non-2xx response about `what` ("repo/path", or the API URL with
 * is_api) into the matching status and message: 401 / 403 gated (AUTH),
 * 404 / X-Error-Code (NOT_FOUND), 5xx / 429 after retries (NETWORK). */
saex_status hub_status_error(const hub_http *h, const char *repo, const char *what, const hub_response *r, int is_api);

/* ------------------------------------------------------------------ fetch.c */

typedef struct {
    hub_http *http;
    const char *cache;     /* cache folder */
    const char *repo;      /* org/name */
    char *repo_dir;        /* <cache>/models--ORG--NAME */
    char commit[64];       /* the commit being filled */
    int64_t bytes_fetched; /* bytes downloaded by this process */
    int files_fetched, files_cached;
} hub_repo;

/* Puts repo file `path` at r->commit into the cache, unless the snapshot
 * already has it. A 404 also marks .no_exist/<commit>/<path>. */
saex_status hub_fetch_file(hub_repo *r, const char *path);

/* Refuses (SAEX_ERR_IO) when dir's disk has less than need bytes free. */
saex_status hub_check_space(const char *dir, int64_t need, const char *item);

/* --------------------------------------------------------------- download.c */

typedef struct {
    char *path;
    int64_t size; /* -1 unknown */
} hub_sibling;
typedef struct {
    char sha[64];
    hub_sibling *files;
    int n;
} hub_listing;
/* GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true. */
saex_status hub_list_repo(hub_http *h, const char *repo, const char *revision, hub_listing *out);
void hub_listing_free(hub_listing *l);
/* From the API's JSON text (pure: the unit tests feed it). */
saex_status hub_parse_listing(const char *what, const char *json, size_t len, hub_listing *out);
/* 1 if path matches the glob as `hf download --include` matches: '*' also
 * crosses '/', and a pattern ending in '/' means everything below it. */
int hub_glob_match(const char *pattern, const char *path);

/* Downloads the model files a run needs (config, tokenizer, index, the
 * shards of blocks 0..max_layer) at revision; *snapshot (free) gets the folder. */
saex_status hub_fetch_model(const char *repo, const saex_fetch_options *f, char **snapshot);
/* Downloads every file under folder/ of repo; *snapshot as above. */
saex_status hub_fetch_folder(const char *repo, const char *folder, const saex_fetch_options *f, char **snapshot);

/* The files a model snapshot must hold for blocks 0..max_layer (config.json,
 * tokenizer.json, the index and its needed shards, or model.safetensors).
 * Returns 1 when all are there; else 0 and the missing paths in missing. */
int hub_model_complete(const char *snapshot, int max_layer, hub_buf *missing);

#endif
