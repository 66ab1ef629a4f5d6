/* download.c — which files of a repository to fetch, and fetching them:
 * a model's run files (config, tokenizer, index, only the shards of blocks
 * 0..L), an SAE's folder, or the files matching `--include` globs. The list
 * of files and the commit come from the Hub API:
 *     GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true
 *     -> {"sha": "<commit>", "siblings": [{"rfilename": "...", "size": N}, ...]}
 * Every file is fetched at that commit; refs/<revision> is written last. */
#include "error.h"
#include "hub.h"

#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void saex_fetch_options_init(saex_fetch_options *f) {
    memset(f, 0, sizeof *f);
    f->max_layer = -1;
}

static const saex_fetch_options *defaults_if_null(const saex_fetch_options *f, saex_fetch_options *tmp) {
    if (f) return f;
    saex_fetch_options_init(tmp);
    return tmp;
}

/* ----------------------------------------------------------------- listing */

/* A repository path that stays inside the snapshot: relative, no "." or ".." part, no empty part. */
static int safe_path(const char *p) {
    if (!*p || *p == '/' || strchr(p, '\\')) return 0;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
        s += n;
        if (*s == '/') s++;
        if (!*s && s[-1] == '/') return 0;
    }
    return 1;
}

void hub_listing_free(hub_listing *l) {
    for (int i = 0; i < l->n; i++) free(l->files[i].path);
    free(l->files);
    memset(l, 0, sizeof *l);
}

saex_status hub_parse_listing(const char *what, const char *json, size_t len, hub_listing *out) {
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) return saex_fail(SAEX_ERR_FORMAT, "%s: the answer is not JSON (line %d: %s)", what, jerr.line, jerr.text);
    saex_status st = SAEX_OK;
    const char *sha = json_string_value(json_object_get(root, "sha"));
    json_t *sib = json_object_get(root, "siblings");
    if (!sha || !hub_is_commit(sha) || !json_is_array(sib)) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: the answer lacks \"sha\" (a commit hash) or \"siblings\" (the file list)", what);
        goto done;
    }
    snprintf(out->sha, sizeof out->sha, "%s", sha);
    out->files = calloc(json_array_size(sib) + 1, sizeof *out->files);
    if (!out->files) {
        st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t i;
    json_t *v;
    json_array_foreach(sib, i, v) {
        const char *name = json_string_value(json_object_get(v, "rfilename"));
        if (!name) continue;
        if (!safe_path(name)) {
            st = saex_fail(SAEX_ERR_FORMAT, "%s: file name \"%s\" would leave the snapshot folder", what, name);
            goto done;
        }
        json_t *size = json_object_get(v, "size");
        json_t *lfs_size = json_object_get(json_object_get(v, "lfs"), "size");
        hub_sibling *f = &out->files[out->n];
        f->size = json_is_integer(size) ? json_integer_value(size) : json_is_integer(lfs_size) ? json_integer_value(lfs_size) : -1;
        if (!(f->path = strdup(name))) {
            st = saex_fail(SAEX_ERR_NOMEM, "out of memory");
            goto done;
        }
        out->n++;
    }
done:
    json_decref(root);
    if (st) hub_listing_free(out);
    return st;
}

saex_status hub_list_repo(hub_http *h, const char *repo, const char *revision, hub_listing *out) {
    memset(out, 0, sizeof *out);
    char *qrepo = hub_url_quote(repo, "/"), *qrev = hub_url_quote(revision, "");
    char *url = qrepo && qrev ? hub_fmt("%s/api/models/%s/revision/%s?blobs=true", hub_http_endpoint(h), qrepo, qrev) : NULL;
    free(qrepo);
    free(qrev);
    if (!url) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    hub_response r;
    char *body = NULL;
    size_t len = 0;
    saex_status st = hub_get_text(h, url, &r, &body, &len);
    if (!st && (r.status < 200 || r.status > 299)) st = hub_status_error(h, repo, url, &r, 1);
    if (!st) st = hub_parse_listing(url, body, len, out);
    free(body);
    free(url);
    return st;
}

static const hub_sibling *find_file(const hub_listing *l, const char *path) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->files[i].path, path) == 0) return &l->files[i];
    return NULL;
}

int hub_glob_match(const char *pattern, const char *path) {
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '/') return strncmp(pattern, path, n) == 0;
    return fnmatch(pattern, path, 0) == 0;
}

/* ---------------------------------------------------------------- a session */

typedef struct {
    hub_repo r;
    hub_listing list;
    const char *revision;
    char **want;      /* paths to fetch, in order */
    int n_want;
    double t0;
} session;

static saex_status session_open(session *s, const char *repo, const saex_fetch_options *f) {
    memset(s, 0, sizeof *s);
    s->t0 = (double)time(NULL);
    s->r.repo = repo;
    s->revision = f->revision && *f->revision ? f->revision : "main";
    if (!hub_is_repo_id(repo)) return saex_fail(SAEX_ERR_ARG, "\"%s\" is not a Hugging Face repository id (org/name)", repo);
    if (f->offline || hub_env_true("HF_HUB_OFFLINE"))
        return saex_fail(SAEX_ERR_NOT_FOUND, "%s: not downloaded: the network is off (--offline / HF_HUB_OFFLINE=1)", repo);
    char *cache = saex_hf_cache_dir();
    s->r.cache = cache;
    s->r.repo_dir = cache ? hub_repo_dir(cache, repo) : NULL;
    s->want = calloc(1, sizeof *s->want);
    if (!cache || !s->r.repo_dir || !s->want) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    saex_status st;
    if ((st = hub_http_open(f->events, &s->r.http))) return st;
    if ((st = hub_list_repo(s->r.http, repo, s->revision, &s->list))) return st;
    snprintf(s->r.commit, sizeof s->r.commit, "%s", s->list.sha);
    return hub_prepare_repo(s->r.repo_dir);
}

static void session_close(session *s) {
    hub_http_close(s->r.http);
    free((char *)s->r.cache);
    free(s->r.repo_dir);
    for (int i = 0; i < s->n_want; i++) free(s->want[i]);
    free(s->want);
    hub_listing_free(&s->list);
}

static saex_status want(session *s, const char *path) {
    for (int i = 0; i < s->n_want; i++)
        if (!strcmp(s->want[i], path)) return SAEX_OK;
    char **w = realloc(s->want, (size_t)(s->n_want + 1) * sizeof *w);
    if (!w) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    s->want = w;
    if (!(w[s->n_want] = strdup(path))) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    s->n_want++;
    return SAEX_OK;
}

/* Bytes of the wanted files the snapshot does not have yet (by the listing's sizes). */
static int64_t bytes_missing(const session *s) {
    int64_t need = 0;
    for (int i = 0; i < s->n_want; i++) {
        const hub_sibling *f = find_file(&s->list, s->want[i]);
        char *p = hub_fmt("%s/snapshots/%s/%s", s->r.repo_dir, s->r.commit, s->want[i]);
        if (f && f->size > 0 && p && !hub_exists(p)) need += f->size;
        free(p);
    }
    return need;
}

/* Fetches every wanted file, writes the ref, and reports. */
static saex_status session_fetch(session *s, char **snapshot) {
    char *blobs = hub_fmt("%s/blobs", s->r.repo_dir);
    saex_status st = blobs ? hub_check_space(blobs, bytes_missing(s), s->r.repo) : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    free(blobs);
    for (int i = 0; !st && i < s->n_want; i++) st = hub_fetch_file(&s->r, s->want[i]);
    if (!st) st = hub_write_ref(s->r.repo_dir, s->revision, s->r.commit);
    if (st) return st;
    char got[32];
    hub_human_bytes(s->r.bytes_fetched, got, sizeof got);
    hub_log(s->r.http, SAEX_LOG_INFO, "%s@%.12s: %d file%s downloaded (%s), %d already in the cache %s", s->r.repo,
            s->r.commit, s->r.files_fetched, s->r.files_fetched == 1 ? "" : "s", got, s->r.files_cached, s->r.cache);
    if (snapshot && !(*snapshot = hub_fmt("%s/snapshots/%s", s->r.repo_dir, s->r.commit)))
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    return SAEX_OK;
}

/* ------------------------------------------------------------------ models */

/* What a run reads besides the weights; only config.json and tokenizer.json are required. */
static const char *const RUN_FILES[] = {"config.json",        "tokenizer.json",         "tokenizer_config.json",
                                        "special_tokens_map.json", "tokenizer.model", "generation_config.json"};
#define INDEX "model.safetensors.index.json"
#define SINGLE "model.safetensors"

/* Reads a whole (small) file; NULL if it cannot. */
static char *read_small(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    hub_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) hub_buf_add(&b, "%.*s", (int)n, chunk);
    fclose(f);
    *len = b.len;
    return hub_buf_take(&b);
}

/* Adds the shards of blocks 0..max_layer (the index must be in the snapshot) and logs the rest. */
static saex_status want_shards(session *s, int max_layer) {
    char *index = hub_fmt("%s/snapshots/%s/" INDEX, s->r.repo_dir, s->r.commit);
    size_t len = 0;
    char *text = index ? read_small(index, &len) : NULL;
    hub_shards sh;
    saex_status st = text ? hub_select_shards(index, text, len, max_layer, &sh)
                          : saex_fail(SAEX_ERR_IO, "%s: cannot read the downloaded index", index ? index : INDEX);
    free(text);
    free(index);
    if (st) return st;
    int64_t skipped = 0;
    for (int i = 0; !st && i < sh.n_need; i++) {
        if (!find_file(&s->list, sh.need[i]))
            st = saex_fail(SAEX_ERR_FORMAT, "%s: " INDEX " names the shard %s, which the repository does not have",
                           s->r.repo, sh.need[i]);
        else st = want(s, sh.need[i]);
    }
    for (int i = 0; i < sh.n_skip; i++) {
        const hub_sibling *f = find_file(&s->list, sh.skip[i]);
        if (f && f->size > 0) skipped += f->size;
    }
    if (!st && sh.n_skip) {
        char b[32];
        hub_human_bytes(skipped, b, sizeof b);
        hub_log(s->r.http, SAEX_LOG_INFO, "%s: the embedding and blocks 0..%d are in %d of %d shards; skipping %d shard%s (%s)",
                s->r.repo, max_layer, sh.n_need, sh.n_need + sh.n_skip, sh.n_skip, sh.n_skip == 1 ? "" : "s", b);
    }
    hub_shards_free(&sh);
    return st;
}

saex_status hub_fetch_model(const char *repo, const saex_fetch_options *f, char **snapshot) {
    saex_fetch_options tmp;
    f = defaults_if_null(f, &tmp);
    session s;
    saex_status st = session_open(&s, repo, f);
    if (!st && !find_file(&s.list, "config.json"))
        st = saex_fail(SAEX_ERR_NOT_FOUND, "%s has no config.json at %s: not a transformers model repository", repo,
                       s.revision);
    for (size_t i = 0; !st && i < sizeof RUN_FILES / sizeof RUN_FILES[0]; i++)
        if (find_file(&s.list, RUN_FILES[i])) st = want(&s, RUN_FILES[i]);
    if (!st) {
        if (find_file(&s.list, INDEX)) {
            if (!(st = hub_fetch_file(&s.r, INDEX))) st = want_shards(&s, f->max_layer); /* fetched first: it says which shards */
        } else if (find_file(&s.list, SINGLE)) {
            st = want(&s, SINGLE);
        } else {
            st = saex_fail(SAEX_ERR_UNSUPPORTED, "%s has neither " INDEX " nor " SINGLE " at %s: saex reads only "
                                                 "safetensors weights",
                           repo, s.revision);
        }
    }
    if (!st) st = session_fetch(&s, snapshot);
    session_close(&s);
    return st;
}

int hub_model_complete(const char *snapshot, int max_layer, hub_buf *missing) {
    int ok = 1;
    for (int i = 0; i < 2; i++) { /* config.json, tokenizer.json */
        char *p = hub_fmt("%s/%s", snapshot, RUN_FILES[i]);
        if (p && !hub_exists(p)) hub_buf_add(missing, "%s\n", p), ok = 0;
        free(p);
    }
    char *index = hub_fmt("%s/" INDEX, snapshot), *single = hub_fmt("%s/" SINGLE, snapshot);
    if (!index || !single) ok = 0;
    else if (hub_exists(index)) {
        size_t len = 0;
        char *text = read_small(index, &len);
        hub_shards sh;
        if (!text || hub_select_shards(index, text, len, max_layer, &sh)) {
            hub_buf_add(missing, "%s (unreadable: %s)\n", index, text ? saex_last_error() : "cannot read");
            ok = 0;
        } else {
            for (int i = 0; i < sh.n_need; i++) {
                char *p = hub_fmt("%s/%s", snapshot, sh.need[i]);
                if (p && !hub_exists(p)) hub_buf_add(missing, "%s\n", p), ok = 0;
                free(p);
            }
            hub_shards_free(&sh);
        }
        free(text);
    } else if (!hub_exists(single)) {
        hub_buf_add(missing, "%s or %s\n", index, single);
        ok = 0;
    }
    free(index);
    free(single);
    return ok;
}

/* ------------------------------------------------------- folders, patterns */

saex_status hub_fetch_folder(const char *repo, const char *folder, const saex_fetch_options *f, char **snapshot) {
    saex_fetch_options tmp;
    f = defaults_if_null(f, &tmp);
    session s;
    saex_status st = session_open(&s, repo, f);
    size_t n = strlen(folder);
    for (int i = 0; !st && i < s.list.n; i++)
        if (!strncmp(s.list.files[i].path, folder, n) && s.list.files[i].path[n] == '/') st = want(&s, s.list.files[i].path);
    if (!st && s.n_want == 0)
        st = saex_fail(SAEX_ERR_NOT_FOUND, "%s has no files under %s/ at %s (commit %s)", repo, folder, s.revision,
                       s.r.commit);
    if (!st) st = session_fetch(&s, snapshot);
    session_close(&s);
    return st;
}

saex_status saex_hub_download(const char *repo, const char *const *patterns, const saex_fetch_options *f, char **dir) {
    saex_fetch_options tmp;
    f = defaults_if_null(f, &tmp);
    if (dir) *dir = NULL;
    if (f->offline || hub_env_true("HF_HUB_OFFLINE")) { /* the snapshot, if there is one; nothing can be checked */
        char *cache = saex_hf_cache_dir(), *rd = cache ? hub_repo_dir(cache, repo) : NULL;
        hub_buf tried = {0};
        char *snap = rd ? hub_find_snapshot(rd, f->revision ? f->revision : "main", &tried) : NULL;
        char *t = hub_buf_take(&tried);
        saex_status st = snap ? SAEX_OK
                              : saex_fail(SAEX_ERR_NOT_FOUND, "%s is not in the cache %s and the network is off "
                                                              "(--offline / HF_HUB_OFFLINE=1). Looked at:\n%s",
                                          repo, cache ? cache : "?", t ? t : "");
        if (dir) *dir = snap;
        else free(snap);
        free(t);
        free(rd);
        free(cache);
        return st;
    }
    session s;
    saex_status st = session_open(&s, repo, f);
    for (int i = 0; !st && i < s.list.n; i++) {
        int match = !patterns || !patterns[0];
        for (int k = 0; !match && patterns[k]; k++) match = hub_glob_match(patterns[k], s.list.files[i].path);
        if (match) st = want(&s, s.list.files[i].path);
    }
    if (!st && s.n_want == 0) {
        hub_buf b = {0};
        for (int k = 0; patterns && patterns[k]; k++) hub_buf_add(&b, "%s'%s'", k ? ", " : "", patterns[k]);
        char *p = hub_buf_take(&b);
        st = saex_fail(SAEX_ERR_NOT_FOUND, "no file of %s at %s matches %s", repo, s.revision, p ? p : "?");
        free(p);
    }
    if (!st) st = session_fetch(&s, dir);
    session_close(&s);
    return st;
}
