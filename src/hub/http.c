/* http.c — the Hub's HTTP protocol over libcurl, as huggingface_hub speaks it.
 *
 *   HEAD {endpoint}/{repo}/resolve/{revision}/{path}, redirects not followed
 *       (except a relative one: a renamed repo), gives X-Repo-Commit, the
 *       ETag (X-Linked-Etag for LFS files), the size (X-Linked-Size, else
 *       Content-Length) and Location: where the bytes really are.
 *   GET that location, following redirects; `Range: bytes=N-` resumes.
 *   GET {endpoint}/api/models/{repo}/revision/{revision} lists the files.
 *
 * The token goes only to the endpoint's own origin, never to a CDN that a
 * redirect names. 5xx, 429 (Retry-After honoured) and dropped connections
 * are retried with exponential backoff; a download that made progress
 * resumes at once. Non-2xx answers come back to the caller, which maps
 * them (hub_status_error) to statuses and messages that say what to do. */
#include "digest.h"
#include "error.h"
#include "hub.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_RETRIES 5     /* consecutive failures without progress before giving up */
#define MAX_BACKOFF_S 8   /* 1, 2, 4, 8, 8 s */
#define MAX_RETRY_AFTER_S 60
#define MAX_REDIRECTS 10
#define API_MAX_BYTES (64 << 20)

struct hub_http {
    CURL *curl;
    char *endpoint;          /* $HF_ENDPOINT without a trailing '/' */
    char origin[512];        /* scheme://host[:port] of the endpoint: the only place the token goes */
    char *token;             /* NULL: anonymous */
    const saex_events *ev;
    char user_agent[160];
    long connect_timeout_s;  /* HF_HUB_ETAG_TIMEOUT [10] */
    long stall_timeout_s;    /* HF_HUB_DOWNLOAD_TIMEOUT [10]: no byte for this long = a dropped connection */
    char curl_error[CURL_ERROR_SIZE];
};

/* ---------------------------------------------------------------- headers */

void hub_response_reset(hub_response *r) {
    memset(r, 0, sizeof *r);
    r->size = -1;
    r->retry_after = -1;
    r->range_start = -1;
}

void hub_normalize_etag(const char *in, char *out, size_t size) {
    while (isspace((unsigned char)*in)) in++;
    if ((in[0] == 'W' || in[0] == 'w') && in[1] == '/') in += 2;
    size_t n = strlen(in);
    while (n > 0 && isspace((unsigned char)in[n - 1])) n--;
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') in++, n -= 2;
    if (n >= size) n = size - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

int hub_etag_is_sha256(const char *etag) {
    if (strlen(etag) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)etag[i])) return 0;
    return 1;
}

static void copy_value(char *dst, size_t size, const char *v, size_t n) {
    if (n >= size) n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int64_t parse_i64(const char *v, size_t n) {
    char buf[32];
    copy_value(buf, sizeof buf, v, n);
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    return end == buf || errno || x < 0 ? -1 : (int64_t)x;
}

void hub_response_header(hub_response *r, const char *line, size_t len) {
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response: forget the previous one's */
        hub_response_reset(r);
        const char *sp = memchr(line, ' ', len);
        if (sp) r->status = strtol(sp + 1, NULL, 10);
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen > 0 && isspace((unsigned char)*v)) v++, vlen--;
    while (vlen > 0 && isspace((unsigned char)v[vlen - 1])) vlen--;
    char name[64];
    copy_value(name, sizeof name, line, nlen);
    char value[4096];
    copy_value(value, sizeof value, v, vlen);
    if (!strcasecmp(name, "X-Repo-Commit")) {
        copy_value(r->commit, sizeof r->commit, v, vlen);
    } else if (!strcasecmp(name, "X-Linked-Etag")) {
        hub_normalize_etag(value, r->etag, sizeof r->etag);
        r->saw_linked_etag = 1;
    } else if (!strcasecmp(name, "ETag")) {
        if (!r->saw_linked_etag) hub_normalize_etag(value, r->etag, sizeof r->etag);
    } else if (!strcasecmp(name, "X-Linked-Size")) {
        r->size = parse_i64(v, vlen);
        r->saw_linked_size = 1;
    } else if (!strcasecmp(name, "Content-Length")) {
        if (!r->saw_linked_size) r->size = parse_i64(v, vlen);
    } else if (!strcasecmp(name, "Location")) {
        copy_value(r->location, sizeof r->location, v, vlen);
    } else if (!strcasecmp(name, "X-Error-Code")) {
        copy_value(r->error_code, sizeof r->error_code, v, vlen);
    } else if (!strcasecmp(name, "X-Error-Message")) {
        copy_value(r->error_message, sizeof r->error_message, v, vlen);
    } else if (!strcasecmp(name, "Retry-After")) {
        int64_t s = parse_i64(v, vlen);
        r->retry_after = s < 0 ? 5 : s > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : (int)s; /* an HTTP date: 5 s */
    } else if (!strcasecmp(name, "Content-Range")) { /* "bytes 100-999/1000" */
        const char *p = value;
        if (!strncasecmp(p, "bytes ", 6)) r->range_start = parse_i64(p + 6, strcspn(p + 6, "-"));
    }
}

/* -------------------------------------------------------------------- URLs */

int hub_url_origin(const char *url, char *buf, size_t size) {
    const char *s = strstr(url, "://");
    if (!s || s == url) return 0;
    const char *host = s + 3;
    size_t n = (size_t)(host - url) + strcspn(host, "/?#");
    if (n == (size_t)(host - url) || n >= size) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = (char)tolower((unsigned char)url[i]);
    buf[n] = '\0';
    return 1;
}

char *hub_url_quote(const char *s, const char *keep) {
    hub_buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p) || (keep && *p && strchr(keep, *p))) hub_buf_add(&b, "%c", *p);
        else hub_buf_add(&b, "%%%02X", *p);
    }
    return hub_buf_take(&b);
}

char *hub_url_join(const char *base, const char *location) {
    if (strstr(location, "://")) return hub_fmt("%s", location);
    char origin[512];
    if (!hub_url_origin(base, origin, sizeof origin)) return hub_fmt("%s", location);
    if (location[0] == '/' && location[1] == '/') { /* scheme-relative */
        const char *colon = strchr(origin, ':');
        return hub_fmt("%.*s:%s", (int)(colon - origin), origin, location);
    }
    if (location[0] == '/') return hub_fmt("%s%s", origin, location);
    const char *path_end = base + strcspn(base, "?#");
    const char *slash = path_end;
    while (slash > base && *(slash - 1) != '/') slash--;
    return hub_fmt("%.*s%s", (int)(slash - base), base, location);
}

/* ----------------------------------------------------------------- session */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init;
static void curl_init_once(void) { g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the file `hf auth login` writes
 * ($HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token). */
static char *find_token(void) {
    const char *v = hub_env("HF_TOKEN");
    if (!v) v = hub_env("HUGGING_FACE_HUB_TOKEN");
    if (v) return hub_fmt("%s", v);
    char *path = hub_env("HF_TOKEN_PATH") ? hub_fmt("%s", hub_env("HF_TOKEN_PATH"))
                 : hub_env("HF_HOME")     ? hub_fmt("%s/token", hub_env("HF_HOME"))
                                          : hub_fmt("%s/.cache/huggingface/token", hub_env("HOME") ? hub_env("HOME") : ".");
    char *token = hub_read_trimmed(path);
    free(path);
    return token;
}

static long env_seconds(const char *name, long dflt) {
    const char *v = hub_env(name);
    long s = v ? strtol(v, NULL, 10) : 0;
    return s > 0 ? s : dflt;
}

saex_status hub_http_open(const saex_events *ev, hub_http **out) {
    *out = NULL;
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init != CURLE_OK)
        return saex_fail(SAEX_ERR_NETWORK, "libcurl could not start: %s", curl_easy_strerror(g_curl_init));
    hub_http *h = calloc(1, sizeof *h);
    if (!h) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    const char *ep = hub_env("HF_ENDPOINT");
    h->endpoint = hub_fmt("%s", ep ? ep : "https://huggingface.co");
    h->curl = curl_easy_init();
    if (!h->endpoint || !h->curl) {
        hub_http_close(h);
        return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    size_t n = strlen(h->endpoint);
    while (n > 0 && h->endpoint[n - 1] == '/') h->endpoint[--n] = '\0';
    if (!hub_url_origin(h->endpoint, h->origin, sizeof h->origin)) {
        saex_status st = saex_fail(SAEX_ERR_ARG, "HF_ENDPOINT=%s is not a URL like https://huggingface.co", h->endpoint);
        hub_http_close(h);
        return st;
    }
    h->token = find_token();
    h->ev = ev;
    curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    snprintf(h->user_agent, sizeof h->user_agent, "saex/%s; libcurl/%s", SAEX_VERSION, vi ? vi->version : "?");
    h->connect_timeout_s = env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
    h->stall_timeout_s = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);
    *out = h;
    return SAEX_OK;
}

void hub_http_close(hub_http *h) {
    if (!h) return;
    if (h->curl) curl_easy_cleanup(h->curl);
    if (h->token) memset(h->token, 0, strlen(h->token));
    free(h->token);
    free(h->endpoint);
    free(h);
}

const char *hub_http_endpoint(const hub_http *h) { return h->endpoint; }
int hub_http_has_token(const hub_http *h) { return h->token != NULL; }
const saex_events *hub_http_events(const hub_http *h) { return h->ev; }

void hub_log(const hub_http *h, saex_log_level level, const char *fmt, ...) {
    if (!h || !h->ev || !h->ev->log) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->ev->log(h->ev->ctx, level, msg);
}

int hub_should_stop(const hub_http *h) { return h && h->ev && h->ev->should_stop && h->ev->should_stop(h->ev->ctx); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps, polling should_stop every 100 ms; 1 if asked to stop. */
static int wait_polling(const hub_http *h, double seconds) {
    double end = now_s() + seconds;
    while (now_s() < end) {
        if (hub_should_stop(h)) return 1;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return hub_should_stop(h);
}

/* ---------------------------------------------------------------- transfer */

/* One request's state, seen by the curl callbacks. */
typedef struct {
    hub_http *h;
    hub_response *r;
    hub_buf *text;          /* GET into memory: the body of a 2xx */
    hub_sink *sink;         /* GET into a file */
    int64_t received;       /* body bytes kept in this attempt */
    double last_event;
    int stopped;
    int bad_range;          /* a 206 that does not start where the file ends */
} xfer;

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    hub_response_header(x->r, buf, size * n);
    return size * n;
}

static void emit_progress(xfer *x, int finished) {
    const saex_events *ev = x->h->ev;
    if (!x->sink || !ev || !ev->progress) return;
    saex_progress p = {"download", x->sink->item, x->sink->offset, x->sink->total, 0, 0, finished};
    ev->progress(ev->ctx, &p);
}

/* A 200 to a Range request (the server ignored it): start the file over. */
static int restart_sink(hub_sink *s) {
    if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0) {
        s->write_errno = errno;
        return -1;
    }
    s->offset = 0;
    if (s->sha) {
        sha256_abort(s->sha);
        if (sha256_init(s->sha) != SAEX_OK) {
            s->sha = NULL;
            s->write_errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = size * n;
    long st = x->r->status;
    if (st < 200 || st > 299) return len; /* a redirect's or an error's body: not ours */
    if (x->text) {
        if (x->text->len + len > API_MAX_BYTES) return 0;
        hub_buf_add(x->text, "%.*s", (int)len, buf);
        return x->text->oom ? 0 : len;
    }
    hub_sink *s = x->sink;
    if (!s) return len;
    if (x->received == 0 && s->offset > 0) {
        if (st == 200 && restart_sink(s)) return 0;
        if (st == 206 && x->r->range_start != s->offset) {
            x->bad_range = 1;
            return 0;
        }
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(s->fd, buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            s->write_errno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    if (s->sha) sha256_update(s->sha, buf, len);
    s->offset += (int64_t)len;
    x->received += (int64_t)len;
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    xfer *x = ud;
    if (hub_should_stop(x->h)) {
        x->stopped = 1;
        return 1;
    }
    double t = now_s();
    if (x->sink && t - x->last_event >= 0.1) { /* at most 10 events a second */
        x->last_event = t;
        emit_progress(x, 0);
    }
    return 0;
}

/* One request to url, no redirect followed. method "HEAD" or "GET". */
static CURLcode perform(hub_http *h, const char *method, const char *url, xfer *x) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    hub_response_reset(x->r);
    h->curl_error[0] = '\0';
    struct curl_slist *hdr = NULL;
    char origin[512], auth[600] = "", range[64];
    /* The token only to the endpoint itself: a CDN named by a redirect must not see it. */
    if (h->token && hub_url_origin(url, origin, sizeof origin) && strcmp(origin, h->origin) == 0) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", h->token);
        hdr = curl_slist_append(hdr, auth);
    }
    hdr = curl_slist_append(hdr, "Accept-Encoding: identity"); /* sizes are the file's */
    if (x->sink && x->sink->offset > 0) {
        snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)x->sink->offset);
        hdr = curl_slist_append(hdr, range);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_error);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code) x->r->status = code;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    memset(auth, 0, sizeof auth);
    return cc;
}

static int is_redirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }
static int is_retryable_status(long s) { return s == 429 || (s >= 500 && s <= 599); }

/* Transport failures worth another try: the connection dropped or stalled. */
static int is_retryable_curl(CURLcode cc, int connect_too) {
    switch (cc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return connect_too;
    default:
        return 0;
    }
}

static saex_status network_error(const hub_http *h, const char *url, CURLcode cc) {
    int offline_hint = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                       cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_OPERATION_TIMEDOUT;
    return saex_fail(SAEX_ERR_NETWORK, "cannot reach %s: %s%s%s%s. Check the network connection (and HTTPS_PROXY)%s", url,
                     curl_easy_strerror(cc), h->curl_error[0] ? " (" : "", h->curl_error, h->curl_error[0] ? ")" : "",
                     offline_hint ? ", or work from the cache alone with --offline / HF_HUB_OFFLINE=1" : "");
}

/* Waits before retry number `attempt` (1-based): Retry-After when the server
 * gave one, else 1, 2, 4, 8 s. 1 if asked to stop meanwhile. */
static int backoff(hub_http *h, const char *url, int attempt, const hub_response *r, CURLcode cc) {
    double wait = r->retry_after >= 0 ? r->retry_after : (double)(1 << (attempt - 1 < 3 ? attempt - 1 : 3));
    if (wait > MAX_BACKOFF_S && r->retry_after < 0) wait = MAX_BACKOFF_S;
    if (r->status && is_retryable_status(r->status))
        hub_log(h, SAEX_LOG_WARN, "%s: HTTP %ld; retrying in %.0f s (%d of %d)", url, r->status, wait, attempt, MAX_RETRIES);
    else
        hub_log(h, SAEX_LOG_WARN, "%s: %s; retrying in %.0f s (%d of %d)", url, curl_easy_strerror(cc), wait, attempt,
                MAX_RETRIES);
    return wait_polling(h, wait);
}

/* HEAD or GET (into x) with retries. follow: 0 = none, 1 = relative only, 2 = all. */
static saex_status request(hub_http *h, const char *method, const char *url0, int follow, xfer *x) {
    char *url = hub_fmt("%s", url0);
    if (!url) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    int attempt = 0, hops = 0;
    saex_status st = SAEX_OK;
    for (;;) {
        int64_t before = x->sink ? x->sink->offset : 0;
        x->received = 0;
        CURLcode cc = perform(h, method, url, x);
        long s = x->r->status;
        if (x->stopped || (cc == CURLE_OK && hub_should_stop(h))) {
            st = saex_fail(SAEX_ERR_INTERRUPTED, "%s: interrupted", url);
            break;
        }
        if (x->sink && x->sink->write_errno) {
            st = saex_fail(SAEX_ERR_IO, "writing the download of %s: %s", url, strerror(x->sink->write_errno));
            break;
        }
        if (cc == CURLE_OK && is_redirect(s) && x->r->location[0] &&
            (follow == 2 || (follow == 1 && x->r->location[0] == '/' && x->r->location[1] != '/'))) {
            char *next = hub_url_join(url, x->r->location);
            free(url);
            url = next;
            if (!url) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
            if (++hops > MAX_REDIRECTS) {
                st = saex_fail(SAEX_ERR_NETWORK, "%s: more than %d redirects", url0, MAX_REDIRECTS);
                break;
            }
            continue;
        }
        int progressed = x->sink && x->sink->offset > before;
        int dropped = cc != CURLE_OK && (is_retryable_curl(cc, x->sink != NULL) || x->bad_range);
        /* A 2xx that ended short of the announced size is a drop too. */
        if (cc == CURLE_OK && x->sink && s >= 200 && s <= 299 && x->sink->total >= 0 && x->sink->offset < x->sink->total)
            dropped = 1;
        if (cc == CURLE_OK && !dropped && !is_retryable_status(s)) break; /* done: any status is the caller's */
        if (cc != CURLE_OK && !dropped) {
            st = network_error(h, url, cc);
            break;
        }
        if (x->bad_range) { /* the server answered another range: start over */
            x->bad_range = 0;
            if (x->sink && restart_sink(x->sink)) continue;
        }
        attempt = progressed ? 0 : attempt + 1;
        if (attempt > MAX_RETRIES) {
            if (cc != CURLE_OK) st = network_error(h, url, cc);
            break; /* a 5xx / 429 still: the caller reports the status */
        }
        if (!progressed && backoff(h, url, attempt, x->r, cc)) {
            st = saex_fail(SAEX_ERR_INTERRUPTED, "%s: interrupted", url);
            break;
        }
        if (progressed)
            hub_log(h, SAEX_LOG_INFO, "%s: connection lost after %lld bytes; resuming", x->sink->item,
                    (long long)x->sink->offset);
    }
    free(url);
    return st;
}

saex_status hub_head(hub_http *h, const char *url, hub_response *r) {
    xfer x = {h, r, NULL, NULL, 0, 0, 0, 0};
    return request(h, "HEAD", url, 1, &x);
}

saex_status hub_get_text(hub_http *h, const char *url, hub_response *r, char **body, size_t *len) {
    hub_buf text = {0};
    xfer x = {h, r, &text, NULL, 0, 0, 0, 0};
    *body = NULL;
    saex_status st = request(h, "GET", url, 2, &x);
    if (st) {
        hub_buf_free(&text);
        return st;
    }
    if (text.oom) {
        hub_buf_free(&text);
        return saex_fail(SAEX_ERR_NOMEM, "%s: the answer is larger than %d MB or out of memory", url, API_MAX_BYTES >> 20);
    }
    if (len) *len = text.len;
    *body = hub_buf_take(&text);
    return *body ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
}

saex_status hub_get_file(hub_http *h, const char *url, hub_sink *sink, hub_response *r) {
    xfer x = {h, r, NULL, sink, 0, now_s(), 0, 0};
    emit_progress(&x, 0);
    return request(h, "GET", url, 2, &x);
}

void hub_progress_done(const hub_http *h, const char *item, int64_t size) {
    if (!h->ev || !h->ev->progress) return;
    saex_progress p = {"download", item, size, size, 0, 0, 1};
    h->ev->progress(h->ev->ctx, &p);
}

/* ------------------------------------------------------------------ errors */

saex_status hub_status_error(const hub_http *h, const char *repo, const char *what, const hub_response *r, int is_api) {
    const char *code = r->error_code, *msg = r->error_message;
    char said[600] = "";
    if (msg[0]) snprintf(said, sizeof said, " (the Hub says: %s)", msg);
    long s = r->status;
    int gated = !strcmp(code, "GatedRepo");
    if (!strcmp(code, "RepoNotFound") || (s == 404 && !code[0] && is_api))
        return saex_fail(SAEX_ERR_NOT_FOUND,
                         "%s: repository %s not found on %s (HTTP %ld)%s. Check the name%s", what, repo, h->endpoint, s,
                         said, h->token ? "" : "; a private repository also needs HF_TOKEN");
    if (s == 401)
        return saex_fail(SAEX_ERR_AUTH,
                         "%s: HTTP 401: %s%s needs a Hugging Face access token%s. Create one (read access) at "
                         "https://huggingface.co/settings/tokens, accept the model's license at %s/%s, then "
                         "export HF_TOKEN=hf_... (or run `hf auth login`, which saves it to $HF_HOME/token)%s",
                         what, repo, gated ? " is gated and" : "", h->token ? ", and the token given was refused" : "",
                         h->endpoint, repo, said);
    if (s == 403)
        return saex_fail(SAEX_ERR_AUTH,
                         "%s: HTTP 403: this token has no access to %s%s: accept the license on %s/%s while logged "
                         "in as the token's owner (Gemma's is granted at once), then run again%s",
                         what, repo, gated ? ", a gated model" : "", h->endpoint, repo, said);
    if (!strcmp(code, "RevisionNotFound"))
        return saex_fail(SAEX_ERR_NOT_FOUND, "%s: revision not found in %s (HTTP %ld)%s; check --revision", what, repo, s,
                         said);
    if (s == 404 || !strcmp(code, "EntryNotFound"))
        return saex_fail(SAEX_ERR_NOT_FOUND, "%s: no such file in %s (HTTP %ld)%s", what, repo, s, said);
    if (is_retryable_status(s))
        return saex_fail(SAEX_ERR_NETWORK, "%s: the Hub kept answering HTTP %ld after %d retries%s; try again later",
                         what, s, MAX_RETRIES, said);
    return saex_fail(SAEX_ERR_NETWORK, "%s: unexpected HTTP status %ld%s", what, s, said);
}
