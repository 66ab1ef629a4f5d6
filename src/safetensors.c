/* safetensors.c — validated, mmap'd reading of safetensors checkpoints
 * (single file or sharded via model.safetensors.index.json), and writing
 * of single-file safetensors.
 *
 * Layout of one file: u64 little-endian N, N bytes of JSON header
 *   {"name": {"dtype": "BF16", "shape": [2304], "data_offsets": [b, e]},
 *    "__metadata__": {"k": "v"}, ...}
 * then the data section; [b, e) is relative to the data section start.
 * The header is the only part read at open; the data stays in the page
 * cache until a caller touches it. */
#include "safetensors.h"
#include "error.h"
#include "safetensors_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The Python library refuses headers above 100 MB; so do we (a real
 * header for ~500 tensors is ~50 KB). */
#define ST_MAX_HEADER 100000000ull

typedef struct {
    char *path;
    void *map; /* NULL for a buffer we do not own (st_open_mem) */
    size_t len;
} st_file;

typedef struct {
    const char *name;
    int idx;
} st_name_ref;

struct st_set {
    char *path;          /* what was opened */
    st_file *files;      /* [n_files]; allocated once, so tensor.file pointers stay valid */
    int n_files;
    st_tensor *t;        /* [n] */
    int n, cap;
    st_name_ref *sorted; /* [n] sorted by name, for st_find */
    json_t *metadata;    /* "__metadata__" of the (first) file, or NULL */
};

/* ------------------------------------------------------------------ dtypes */

static const struct {
    const char *name;
    size_t size;
} dtype_info[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2},  [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtype_info / sizeof dtype_info[0]))

size_t st_dtype_size(st_dtype d) { return (int)d >= 0 && (int)d < N_DTYPES ? dtype_info[d].size : 0; }

const char *st_dtype_name(st_dtype d) { return (int)d >= 0 && (int)d < N_DTYPES ? dtype_info[d].name : "?"; }

static int dtype_parse(const char *s, st_dtype *out) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (st_dtype)i;
            return 1;
        }
    return 0;
}

/* ----------------------------------------------------------- set plumbing */

static saex_status push_tensor(st_set *s, const st_tensor *t) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        st_tensor *nt = realloc(s->t, (size_t)cap * sizeof *nt);
        if (!nt) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory for the tensor table", s->path);
        s->t = nt;
        s->cap = cap;
    }
    s->t[s->n++] = *t;
    return SAEX_OK;
}

void st_close(st_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free((char *)s->t[i].name);
    for (int i = 0; i < s->n_files; i++) {
        if (s->files[i].map) munmap(s->files[i].map, s->files[i].len);
        free(s->files[i].path);
    }
    free(s->files);
    free(s->t);
    free(s->sorted);
    free(s->path);
    json_decref(s->metadata);
    free(s);
}

const char *st_metadata(const st_set *s, const char *key) {
    return json_string_value(json_object_get(s->metadata, key));
}

static st_set *set_new(const char *path, int max_files) {
    st_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = strdup(path);
    s->files = calloc((size_t)(max_files > 0 ? max_files : 1), sizeof *s->files);
    if (!s->path || !s->files) {
        st_close(s);
        return NULL;
    }
    return s;
}

/* --------------------------------------------------------- header parsing */

static int get_u64(json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

/* Parses one header entry into *t (all but name/file/data) and [*begin, *end). */
static saex_status parse_entry(const char *label, const char *name, json_t *e, uint64_t data_len, st_tensor *t,
                               uint64_t *begin, uint64_t *end) {
    if (!json_is_object(e)) return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': header entry is not an object", label, name);

    json_t *jd = json_object_get(e, "dtype");
    if (!json_is_string(jd)) return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': \"dtype\" missing or not a string", label, name);
    if (!dtype_parse(json_string_value(jd), &t->dtype))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not supported (supported: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                         label, name, json_string_value(jd));

    json_t *js = json_object_get(e, "shape");
    if (!json_is_array(js)) return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': \"shape\" missing or not a list", label, name);
    size_t nd = json_array_size(js);
    if (nd > ST_MAX_DIMS)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: tensor '%s': %zu dimensions (at most %d supported)", label, name, nd, ST_MAX_DIMS);
    t->ndim = (int)nd;
    /* Bound numel so that numel * element size cannot overflow either. */
    const uint64_t limit = (uint64_t)INT64_MAX / 8;
    uint64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (!get_u64(json_array_get(js, i), &d))
            return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer", label, name, i);
        t->shape[i] = (int64_t)d;
        if (d != 0 && numel > limit / d)
            return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': shape has too many elements (overflow)", label, name);
        numel *= d;
    }
    for (size_t i = nd; i < ST_MAX_DIMS; i++) t->shape[i] = 0;
    t->numel = (int64_t)numel;

    json_t *jo = json_object_get(e, "data_offsets");
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !get_u64(json_array_get(jo, 0), begin) ||
        !get_u64(json_array_get(jo, 1), end))
        return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" is not a list of two non-negative integers", label,
                         name);
    if (*end < *begin)
        return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin", label, name,
                         (unsigned long long)*begin, (unsigned long long)*end);
    uint64_t want = numel * dtype_info[t->dtype].size;
    if (*end - *begin != want)
        return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': byte range [%llu, %llu] is %llu bytes but shape x %s size is %llu",
                         label, name, (unsigned long long)*begin, (unsigned long long)*end,
                         (unsigned long long)(*end - *begin), dtype_info[t->dtype].name, (unsigned long long)want);
    if (*end > data_len)
        return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s': byte range [%llu, %llu] runs past the data section (%llu bytes)", label,
                         name, (unsigned long long)*begin, (unsigned long long)*end, (unsigned long long)data_len);
    t->nbytes = (size_t)want;
    return SAEX_OK;
}

static saex_status check_metadata(const char *label, json_t *m) {
    if (!json_is_object(m)) return saex_fail(SAEX_ERR_FORMAT, "%s: \"__metadata__\" is not an object", label);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v)) return saex_fail(SAEX_ERR_FORMAT, "%s: __metadata__ '%s' is not a string", label, k);
    }
    return SAEX_OK;
}

typedef struct {
    uint64_t begin, end;
    int idx;
} st_range;

static int range_cmp(const void *a, const void *b) {
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* No two non-empty byte ranges of one file may share a byte. */
static saex_status check_overlaps(st_set *s, const char *label, st_range *r, int n) {
    qsort(r, (size_t)n, sizeof *r, range_cmp);
    int prev = -1; /* the non-empty range seen so far that ends last */
    for (int i = 0; i < n; i++) {
        if (r[i].end == r[i].begin) continue;
        if (prev >= 0 && r[i].begin < r[prev].end)
            return saex_fail(SAEX_ERR_FORMAT, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", label,
                             s->t[r[prev].idx].name, (unsigned long long)r[prev].begin, (unsigned long long)r[prev].end,
                             s->t[r[i].idx].name, (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
        if (prev < 0 || r[i].end > r[prev].end) prev = i;
    }
    return SAEX_OK;
}

/* Validates one file's bytes and appends its tensors to s. `label` must
 * outlive the set (it becomes tensor.file). */
static saex_status parse_file(st_set *s, const uint8_t *buf, size_t len, const char *label) {
    if (len < 8)
        return saex_fail(SAEX_ERR_FORMAT, "%s: file is %zu bytes, too short for a safetensors header length (8)", label, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > ST_MAX_HEADER)
        return saex_fail(SAEX_ERR_FORMAT, "%s: header length %llu is absurd (limit %llu): not a safetensors file?", label,
                         (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > len - 8)
        return saex_fail(SAEX_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", label,
                         (unsigned long long)hlen, len);
    if (hlen == 0 || buf[8] != '{')
        return saex_fail(SAEX_ERR_FORMAT, "%s: header does not start with '{': not a safetensors file?", label);

    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return saex_fail(SAEX_ERR_FORMAT, "%s: header is not valid JSON (byte %d: %s)", label, jerr.position, jerr.text);
    saex_status st = SAEX_OK;
    st_range *ranges = NULL;
    if (!json_is_object(root)) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: header is not a JSON object", label);
        goto done;
    }
    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    size_t n_entries = json_object_size(root);
    ranges = malloc((n_entries ? n_entries : 1) * sizeof *ranges);
    if (!ranges) {
        st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
        goto done;
    }
    int n_ranges = 0;
    const char *name;
    json_t *e;
    json_object_foreach(root, name, e) {
        if (strcmp(name, "__metadata__") == 0) {
            if ((st = check_metadata(label, e))) goto done;
            if (!s->metadata) s->metadata = json_incref(e);
            continue;
        }
        st_tensor t = {0};
        uint64_t b, en;
        if ((st = parse_entry(label, name, e, data_len, &t, &b, &en))) goto done;
        t.data = data + b;
        t.offset = (int64_t)(8 + hlen + b);
        t.file = label;
        t.name = strdup(name);
        if (!t.name) {
            st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
            goto done;
        }
        if ((st = push_tensor(s, &t))) {
            free((char *)t.name);
            goto done;
        }
        ranges[n_ranges++] = (st_range){b, en, s->n - 1};
    }
    st = check_overlaps(s, label, ranges, n_ranges);
done:
    free(ranges);
    json_decref(root);
    return st;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(((const st_name_ref *)a)->name, ((const st_name_ref *)b)->name);
}

/* Builds the name index; a name held twice (across shards) is an error. */
static saex_status build_index(st_set *s) {
    s->sorted = malloc((size_t)(s->n ? s->n : 1) * sizeof *s->sorted);
    if (!s->sorted) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", s->path);
    for (int i = 0; i < s->n; i++) s->sorted[i] = (st_name_ref){s->t[i].name, i};
    qsort(s->sorted, (size_t)s->n, sizeof *s->sorted, name_cmp);
    for (int i = 1; i < s->n; i++)
        if (strcmp(s->sorted[i - 1].name, s->sorted[i].name) == 0)
            return saex_fail(SAEX_ERR_FORMAT, "%s: tensor '%s' appears twice (in %s and %s)", s->path, s->sorted[i].name,
                             s->t[s->sorted[i - 1].idx].file, s->t[s->sorted[i].idx].file);
    return SAEX_OK;
}

saex_status st_open_mem(const void *buf, size_t len, const char *label, st_set **out) {
    *out = NULL;
    st_set *s = set_new(label, 1);
    if (!s) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
    saex_status st = parse_file(s, buf, len, s->path);
    if (!st) st = build_index(s);
    if (st) {
        st_close(s);
        return st;
    }
    *out = s;
    return SAEX_OK;
}

/* ------------------------------------------------------------ files, dirs */

/* Maps `path` read-only as s->files[s->n_files] and parses it. */
static saex_status map_and_parse(st_set *s, const char *path) {
    st_file *f = &s->files[s->n_files];
    f->path = strdup(path);
    if (!f->path) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    s->n_files++;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return saex_fail(SAEX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return saex_fail(SAEX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return saex_fail(SAEX_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return saex_fail(SAEX_ERR_FORMAT, "%s: file is %lld bytes, too short for a safetensors header length (8)", path,
                         (long long)sb.st_size);
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return saex_fail(SAEX_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    f->map = m;
    f->len = (size_t)sb.st_size;
    return parse_file(s, m, f->len, f->path);
}

static saex_status open_single(const char *path, st_set **out) {
    st_set *s = set_new(path, 1);
    if (!s) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    saex_status st = map_and_parse(s, path);
    if (!st) st = build_index(s);
    if (st) {
        st_close(s);
        return st;
    }
    *out = s;
    return SAEX_OK;
}

static char *path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Checks the weight_map against what the opened shards hold (entries of
 * shards left closed are not checked). */
static saex_status check_weight_map(st_set *s, const char *index, json_t *wm, char **shard_paths, const char **shard_names,
                                    int n_shards) {
    const char *name;
    json_t *v;
    json_object_foreach(wm, name, v) {
        const char *shard = json_string_value(v);
        const char *want = NULL;
        for (int i = 0; i < n_shards; i++)
            if (strcmp(shard_names[i], shard) == 0) want = shard_paths[i];
        if (!want) continue;
        const st_tensor *t = st_find(s, name);
        if (!t)
            return saex_fail(SAEX_ERR_FORMAT, "%s: weight_map puts tensor '%s' in %s, which does not have it", index, name,
                             want);
        if (strcmp(t->file, want) != 0)
            return saex_fail(SAEX_ERR_FORMAT, "%s: weight_map puts tensor '%s' in %s, but it is in %s", index, name, want,
                             t->file);
    }
    return SAEX_OK;
}

static saex_status open_index(const char *index, st_want_fn want, void *ctx, st_set **out) {
    FILE *fp = fopen(index, "rb");
    if (!fp) return saex_fail(SAEX_ERR_IO, "%s: cannot open: %s", index, strerror(errno));
    json_error_t jerr;
    json_t *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    fclose(fp);
    if (!root)
        return saex_fail(SAEX_ERR_FORMAT, "%s: not valid JSON (line %d: %s)", index, jerr.line, jerr.text);

    saex_status st = SAEX_OK;
    st_set *s = NULL;
    char *dir = NULL;
    char **paths = NULL;
    const char **names = NULL;
    int n_shards = 0;
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: \"weight_map\" missing, empty or not an object", index);
        goto done;
    }
    size_t n_map = json_object_size(wm);
    dir = dir_of(index);
    paths = calloc(n_map, sizeof *paths);
    names = calloc(n_map, sizeof *names);
    if (!dir || !paths || !names) {
        st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", index);
        goto done;
    }
    /* The distinct shards holding a wanted tensor, in order of first mention:
     * the others need not be on disk (a partial download). */
    const char *tname;
    json_t *v;
    json_object_foreach(wm, tname, v) {
        const char *shard = json_string_value(v);
        if (!shard || !*shard) {
            st = saex_fail(SAEX_ERR_FORMAT, "%s: weight_map entry of tensor '%s' is not a file name", index, tname);
            goto done;
        }
        if (want && !want(tname, ctx)) continue;
        int seen = 0;
        for (int i = 0; i < n_shards && !seen; i++) seen = strcmp(names[i], shard) == 0;
        if (seen) continue;
        names[n_shards] = shard;
        paths[n_shards] = shard[0] == '/' ? strdup(shard) : path_join(dir, shard);
        if (!paths[n_shards]) {
            st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", index);
            goto done;
        }
        n_shards++;
    }
    s = set_new(index, n_shards);
    if (!s) {
        st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", index);
        goto done;
    }
    for (int i = 0; i < n_shards; i++)
        if ((st = map_and_parse(s, paths[i]))) {
            saex_fail_prefix(st, "%s: shard %s", index, names[i]);
            goto done;
        }
    if ((st = build_index(s))) goto done;
    st = check_weight_map(s, index, wm, paths, names, n_shards);
done:
    if (paths)
        for (int i = 0; i < n_shards; i++) free(paths[i]);
    free(paths);
    free(names);
    free(dir);
    json_decref(root);
    if (st) {
        st_close(s);
        return st;
    }
    *out = s;
    return SAEX_OK;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

saex_status st_open(const char *path, st_set **out) { return st_open_some(path, NULL, NULL, out); }

saex_status st_open_some(const char *path, st_want_fn want, void *ctx, st_set **out) {
    *out = NULL;
    if (!path || !*path) return saex_fail(SAEX_ERR_ARG, "st_open: empty path");
    struct stat sb;
    if (stat(path, &sb) != 0) return saex_fail(SAEX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return ends_with(path, ".json") ? open_index(path, want, ctx, out) : open_single(path, out);

    char *p = path_join(path, "model.safetensors.index.json");
    if (!p) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    saex_status st;
    if (stat(p, &sb) == 0) {
        st = open_index(p, want, ctx, out);
    } else {
        free(p);
        p = path_join(path, "model.safetensors");
        if (!p) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
        if (stat(p, &sb) == 0)
            st = open_single(p, out);
        else
            st = saex_fail(SAEX_ERR_IO, "%s: holds neither model.safetensors.index.json nor model.safetensors", path);
    }
    free(p);
    return st;
}

/* ------------------------------------------------------------------ lookup */

int st_count(const st_set *s) { return s ? s->n : 0; }

const st_tensor *st_at(const st_set *s, int i) { return s && i >= 0 && i < s->n ? &s->t[i] : NULL; }

const st_tensor *st_find(const st_set *s, const char *name) {
    if (!s || !name || !s->sorted) return NULL;
    st_name_ref key = {name, 0};
    const st_name_ref *r = bsearch(&key, s->sorted, (size_t)s->n, sizeof key, name_cmp);
    return r ? &s->t[r->idx] : NULL;
}

saex_status st_get(const st_set *s, const char *name, const st_tensor **out) {
    *out = st_find(s, name);
    if (!*out) return saex_fail(SAEX_ERR_FORMAT, "%s: no tensor '%s'", s ? s->path : "(no checkpoint)", name);
    return SAEX_OK;
}

void st_release(const st_tensor *t) {
    if (!t || t->nbytes == 0) return;
    /* Only whole pages that lie inside this tensor: a page shared with a
     * neighbour may still be wanted. */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)t->data, b = a + t->nbytes;
    uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void st_prefetch(const st_tensor *t) {
    if (!t || t->nbytes == 0) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)t->data / page * page, hi = ((uintptr_t)t->data + t->nbytes + page - 1) / page * page;
    /* One call maps every page (reading it from disk if needed), instead of
     * one page fault per 4 KiB during the first batch. Older kernels lack
     * MADV_POPULATE_READ: then at least start the reads. */
#ifdef MADV_POPULATE_READ
    if (madvise((void *)lo, hi - lo, MADV_POPULATE_READ) == 0) return;
#endif
    madvise((void *)lo, hi - lo, MADV_WILLNEED);
}

/* -------------------------------------------------------------- conversion */

float st_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t st_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x0040); /* NaN stays NaN (quiet) */
    u += 0x7fffu + (u >> 16 & 1); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 0x1f, m = h & 0x3ff, u;
    if (e == 0x1f) {
        u = sign | 0x7f800000u | m << 13; /* inf, or NaN with its payload */
    } else if (e != 0) {
        u = sign | (e + 112) << 23 | m << 13;
    } else if (m == 0) {
        u = sign;
    } else { /* subnormal: shift the mantissa up until its leading 1 is the implicit bit */
        int ex = 113;
        while (!(m & 0x400)) {
            m <<= 1;
            ex--;
        }
        u = sign | (uint32_t)ex << 23 | (m & 0x3ff) << 13;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

saex_status st_to_f32(const st_tensor *t, float *out) {
    const uint8_t *p = t->data;
    int64_t n = t->numel;
    switch (t->dtype) {
    case ST_F32:
        if (n) memcpy(out, p, (size_t)n * 4);
        return SAEX_OK;
    case ST_BF16:
#pragma omp parallel for if (n > (1 << 20)) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = st_bf16_to_f32(h);
        }
        return SAEX_OK;
    case ST_F16:
#pragma omp parallel for if (n > (1 << 20)) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = st_f16_to_f32(h);
        }
        return SAEX_OK;
    case ST_F64:
#pragma omp parallel for if (n > (1 << 20)) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        return SAEX_OK;
    default:
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s cannot be converted to f32", t->file, t->name,
                         st_dtype_name(t->dtype));
    }
}

/* ----------------------------------------------------------------- writing */

static saex_status build_header(const char *path, const st_write_tensor *t, int n, const char *const *metadata,
                                char **out_json, uint64_t *data_len) {
    json_t *root = json_object();
    if (!root) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    saex_status st = SAEX_OK;
    if (metadata && metadata[0]) {
        json_t *m = json_object();
        if (!m || json_object_set_new(root, "__metadata__", m)) goto nomem;
        for (int i = 0; metadata[i]; i += 2) {
            if (!metadata[i + 1]) {
                st = saex_fail(SAEX_ERR_ARG, "%s: metadata key '%s' has no value", path, metadata[i]);
                goto fail;
            }
            if (json_object_set_new(m, metadata[i], json_string(metadata[i + 1]))) {
                st = saex_fail(SAEX_ERR_ARG, "%s: metadata '%s' is not valid UTF-8", path, metadata[i]);
                goto fail;
            }
        }
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const st_write_tensor *w = &t[i];
        if (!w->name || !*w->name || strcmp(w->name, "__metadata__") == 0) {
            st = saex_fail(SAEX_ERR_ARG, "%s: tensor %d has an empty or reserved name", path, i);
            goto fail;
        }
        if (json_object_get(root, w->name)) {
            st = saex_fail(SAEX_ERR_ARG, "%s: tensor '%s' given twice", path, w->name);
            goto fail;
        }
        if (st_dtype_size(w->dtype) == 0 || w->ndim < 0 || w->ndim > ST_MAX_DIMS) {
            st = saex_fail(SAEX_ERR_ARG, "%s: tensor '%s': bad dtype or ndim %d", path, w->name, w->ndim);
            goto fail;
        }
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        if (!e || !shape || !offs) {
            json_decref(e);
            json_decref(shape);
            json_decref(offs);
            goto nomem;
        }
        json_object_set_new(e, "dtype", json_string(st_dtype_name(w->dtype)));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets", offs);
        if (json_object_set_new(root, w->name, e)) {
            st = saex_fail(SAEX_ERR_ARG, "%s: tensor name %d is not valid UTF-8", path, i);
            goto fail;
        }
        uint64_t numel = 1;
        for (int d = 0; d < w->ndim; d++) {
            if (w->shape[d] < 0 || (w->shape[d] && numel > (uint64_t)INT64_MAX / 8 / (uint64_t)w->shape[d])) {
                st = saex_fail(SAEX_ERR_ARG, "%s: tensor '%s': bad shape[%d] = %lld", path, w->name, d,
                               (long long)w->shape[d]);
                goto fail;
            }
            numel *= (uint64_t)w->shape[d];
            json_array_append_new(shape, json_integer(w->shape[d]));
        }
        uint64_t nb = numel * st_dtype_size(w->dtype);
        if (nb && !w->data) {
            st = saex_fail(SAEX_ERR_ARG, "%s: tensor '%s' has no data", path, w->name);
            goto fail;
        }
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + nb)));
        off += nb;
    }
    *data_len = off;
    *out_json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return *out_json ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
nomem:
    st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
fail:
    json_decref(root);
    return st;
}

static saex_status write_all(FILE *fp, const char *path, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, fp) != n) return saex_fail(SAEX_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return SAEX_OK;
}

saex_status st_write(const char *path, const st_write_tensor *t, int n, const char *const *metadata) {
    if (!path || n < 0 || (n > 0 && !t)) return saex_fail(SAEX_ERR_ARG, "st_write: bad arguments");
    char *json = NULL;
    uint64_t data_len = 0;
    saex_status st = build_header(path, t, n, metadata, &json, &data_len);
    if (st) return st;
    /* Pad with spaces so the data section starts 8-byte aligned, as the
     * Python library does. */
    size_t hlen = strlen(json), padded = (hlen + 7) / 8 * 8;
    uint8_t lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = "        ";

    FILE *fp = fopen(path, "wb");
    if (!fp) {
        st = saex_fail(SAEX_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(json);
        return st;
    }
    st = write_all(fp, path, lenbuf, 8);
    if (!st) st = write_all(fp, path, json, hlen);
    if (!st) st = write_all(fp, path, spaces, padded - hlen);
    for (int i = 0; i < n && !st; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= (uint64_t)t[i].shape[d];
        st = write_all(fp, path, t[i].data, (size_t)(numel * st_dtype_size(t[i].dtype)));
    }
    if (!st && fflush(fp) != 0) st = saex_fail(SAEX_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (fclose(fp) != 0 && !st) st = saex_fail(SAEX_ERR_IO, "%s: write failed at close: %s", path, strerror(errno));
    free(json);
    return st;
}
