/* hfcache.c — the local Hugging Face hub cache layout. */
#include "hfcache.h"
#include "args.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *hf_cache_dir(void) {
    const char *v = getenv("HF_HUB_CACHE");
    if (v && *v) return strfmt("%s", v);
    v = getenv("HF_HOME");
    if (v && *v) return strfmt("%s/hub", v);
    v = getenv("HOME");
    return strfmt("%s/.cache/huggingface/hub", v && *v ? v : ".");
}

int hf_is_repo_id(const char *s) {
    if (!s || !*s || s[0] == '/' || s[0] == '.') return 0;
    const char *slash = strchr(s, '/');
    return slash && slash != s && slash[1] && !strchr(slash + 1, '/');
}

static void add_tried(char **tried, const char *path) {
    char *t = *tried ? strfmt("%s\n%s", *tried, path) : strfmt("%s", path);
    free(*tried);
    *tried = t;
}

/* Reads refs/main, trimmed; NULL if absent or empty. */
static char *read_ref(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
    if (n == 0 || strchr(buf, '/')) return NULL;
    return strfmt("%s", buf);
}

char *hf_snapshot(const char *repo, char **tried) {
    char *cache = hf_cache_dir();
    const char *slash = strchr(repo, '/');
    char *base = strfmt("%s/models--%.*s--%s", cache, (int)(slash - repo), repo, slash + 1);
    free(cache);
    char *snapdir = strfmt("%s/snapshots", base);
    char *result = NULL;

    char *refpath = strfmt("%s/refs/main", base);
    char *rev = read_ref(refpath);
    if (rev) {
        char *p = strfmt("%s/%s", snapdir, rev);
        add_tried(tried, p);
        if (is_dir(p)) result = p;
        else free(p);
        free(rev);
    } else {
        char *msg = strfmt("%s (missing or empty)", refpath);
        add_tried(tried, msg);
        free(msg);
    }
    free(refpath);
    if (!result) {
        DIR *d = opendir(snapdir);
        char *only = NULL;
        int count = 0;
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                char *p = strfmt("%s/%s", snapdir, e->d_name);
                if (is_dir(p) && count++ == 0) only = p;
                else free(p);
            }
            closedir(d);
        }
        if (count == 1) result = only;
        else free(only);
        if (!result) {
            char *msg = count > 1 ? strfmt("%s/* (%d snapshots and no refs/main to choose one)", snapdir, count)
                                  : strfmt("%s/*", snapdir);
            add_tried(tried, msg);
            free(msg);
        }
    }
    free(snapdir);
    free(base);
    return result;
}
