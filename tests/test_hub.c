/* test_hub.c — the pure parts of src/hub (no network): header parsing and
 * ETags, URLs, the cache layout and its atomic steps, the API listing,
 * shard selection from an index, the registry and its hints, offline
 * resolution messages; and the model loader with the shards of deeper
 * blocks absent (what a partial download leaves). The protocol itself is
 * tested against tests/hub_emulator.py by tests/e2e_download.sh. */
#include "config.h"
#include "hub/hub.h"
#include "safetensors.h"
#include "test.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }
#define S(p) ((p) ? (p) : "(null)")

static void feed(hub_response *r, const char *line) { hub_response_header(r, line, strlen(line)); }

static void test_etag_normalize(void) {
    char out[128];
    hub_normalize_etag("W/\"abc123\"", out, sizeof out);
    CHECK(!strcmp(out, "abc123"), "weak: %s", out);
    hub_normalize_etag("\"abc\"", out, sizeof out);
    CHECK(!strcmp(out, "abc"), "quoted: %s", out);
    hub_normalize_etag("  abc  ", out, sizeof out);
    CHECK(!strcmp(out, "abc"), "bare: %s", out);
    hub_normalize_etag("\"", out, sizeof out);
    CHECK(!strcmp(out, "\""), "a lone quote stays: %s", out);
    CHECK(hub_etag_is_sha256("5a6c7cc0f4116a2531de7884ca4b535a2ff91397e612ef0fb2e5ba800efe7245"), "64 hex");
    CHECK(!hub_etag_is_sha256("5bceca09ddf95d5e91b6c5c05c316483dad517f4"), "git sha1 is not");
    CHECK(!hub_etag_is_sha256("zz6c7cc0f4116a2531de7884ca4b535a2ff91397e612ef0fb2e5ba800efe7245"), "not hex");
}

static void test_response_headers(void) {
    hub_response r;
    hub_response_reset(&r);
    feed(&r, "HTTP/1.1 302 Found\r\n");
    feed(&r, "Content-Length: 1234\r\n");
    feed(&r, "ETag: \"gitsha\"\r\n");
    feed(&r, "x-linked-etag: \"5a6c7cc0f4116a2531de7884ca4b535a2ff91397e612ef0fb2e5ba800efe7245\"\r\n");
    feed(&r, "X-Linked-Size: 618872\r\n");
    feed(&r, "X-Repo-Commit: ae883abb7c08ba1dbe6974fc25ee8fef3a5fc3a4\r\n");
    feed(&r, "Location: https://cdn.example/x?sig=1\r\n");
    feed(&r, "Content-Length: 0\r\n"); /* after X-Linked-Size: still the linked size */
    CHECK(r.status == 302, "%ld", r.status);
    CHECK(hub_etag_is_sha256(r.etag), "X-Linked-Etag wins over ETag: %s", r.etag);
    CHECK(r.size == 618872, "X-Linked-Size wins: %lld", (long long)r.size);
    CHECK(!strcmp(r.commit, "ae883abb7c08ba1dbe6974fc25ee8fef3a5fc3a4"), "%s", r.commit);
    CHECK(!strcmp(r.location, "https://cdn.example/x?sig=1"), "%s", r.location);
    feed(&r, "HTTP/1.1 200 OK\r\n"); /* the next response of a redirect chain */
    CHECK(r.status == 200 && !r.etag[0] && r.size == -1 && !r.location[0], "a status line starts afresh");
    feed(&r, "ETag: W/\"abc\"\r\n");
    feed(&r, "Content-Length: 973\r\n");
    CHECK(!strcmp(r.etag, "abc") && r.size == 973, "small file: %s %lld", r.etag, (long long)r.size);
    hub_response_reset(&r);
    feed(&r, "HTTP/2 429\r\n");
    feed(&r, "Retry-After: 3\r\n");
    feed(&r, "X-Error-Code: GatedRepo\r\n");
    feed(&r, "X-Error-Message: Access restricted\r\n");
    CHECK(r.status == 429 && r.retry_after == 3, "%ld %d", r.status, r.retry_after);
    CHECK(!strcmp(r.error_code, "GatedRepo") && !strcmp(r.error_message, "Access restricted"), "error headers");
    feed(&r, "Retry-After: 99999\r\n");
    CHECK(r.retry_after == 60, "capped: %d", r.retry_after);
    feed(&r, "Content-Range: bytes 131072-618871/618872\r\n");
    CHECK(r.range_start == 131072, "%lld", (long long)r.range_start);
}

static void test_urls(void) {
    char o[256];
    CHECK(hub_url_origin("HTTPS://Huggingface.co/google/x/resolve/main/a", o, sizeof o) && !strcmp(o, "https://huggingface.co"),
          "%s", o);
    CHECK(hub_url_origin("http://127.0.0.1:8080/a?b", o, sizeof o) && !strcmp(o, "http://127.0.0.1:8080"), "%s", o);
    CHECK(!hub_url_origin("/relative", o, sizeof o), "no origin");
    char *q = hub_url_quote("layer_2/width 16k/a+b.npz", "/");
    CHECK(!strcmp(q, "layer_2/width%2016k/a%2Bb.npz"), "%s", q);
    free(q);
    q = hub_url_quote("refs/pr/1", "");
    CHECK(!strcmp(q, "refs%2Fpr%2F1"), "%s", q);
    free(q);
    char *j = hub_url_join("https://hf.co/a/resolve/main/x.json", "/b/resolve/main/x.json");
    CHECK(!strcmp(j, "https://hf.co/b/resolve/main/x.json"), "%s", j);
    free(j);
    j = hub_url_join("https://hf.co/a/b/c?x=1", "d");
    CHECK(!strcmp(j, "https://hf.co/a/b/d"), "%s", j);
    free(j);
    j = hub_url_join("https://hf.co/a", "//cdn.hf.co/z");
    CHECK(!strcmp(j, "https://cdn.hf.co/z"), "%s", j);
    free(j);
    j = hub_url_join("https://hf.co/a", "http://127.0.0.1:9/blob");
    CHECK(!strcmp(j, "http://127.0.0.1:9/blob"), "%s", j);
    free(j);
}

static void test_cache_paths(void) {
    char *p = hub_repo_dir("/c", "google/gemma-2-9b-it");
    CHECK(!strcmp(p, "/c/models--google--gemma-2-9b-it"), "%s", p);
    free(p);
    p = hub_lock_path("/c", "google/gemma-2-9b-it", "abc");
    CHECK(!strcmp(p, "/c/.locks/models--google--gemma-2-9b-it/abc.lock"), "%s", p);
    free(p);
    p = hub_blob_link("config.json", "E");
    CHECK(!strcmp(p, "../../blobs/E"), "%s", p);
    free(p);
    p = hub_blob_link("layer_20/width_16k/average_l0_68/params.npz", "E");
    CHECK(!strcmp(p, "../../../../../blobs/E"), "%s", p);
    free(p);
    CHECK(hub_is_commit("ae883abb7c08ba1dbe6974fc25ee8fef3a5fc3a4"), "commit");
    CHECK(!hub_is_commit("main") && !hub_is_commit("AE883ABB7C08BA1DBE6974FC25EE8FEF3A5FC3A4"), "not a commit");
    CHECK(hub_is_repo_id("google/gemma-2-9b-it") && !hub_is_repo_id("/abs/x") && !hub_is_repo_id("./x/y") &&
              !hub_is_repo_id("a/b/c") && !hub_is_repo_id("noslash"),
          "repo ids");
    setenv("HF_HUB_CACHE", "/hc", 1);
    setenv("HF_HOME", "/hh", 1);
    p = saex_hf_cache_dir();
    CHECK(!strcmp(p, "/hc"), "HF_HUB_CACHE first: %s", p);
    free(p);
    unsetenv("HF_HUB_CACHE");
    p = saex_hf_cache_dir();
    CHECK(!strcmp(p, "/hh/hub"), "then $HF_HOME/hub: %s", p);
    free(p);
    unsetenv("HF_HOME");
    setenv("HOME", "/home/u", 1);
    p = saex_hf_cache_dir();
    CHECK(!strcmp(p, "/home/u/.cache/huggingface/hub"), "then ~/.cache: %s", p);
    free(p);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void touch(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) fputs(text, f), fclose(f);
}

static void test_cache_ops(void) {
    char *rd = hub_repo_dir(t_path("cache"), "org/name");
    REQUIRE_OK(hub_prepare_repo(rd));
    const char *commit = "0123456789abcdef0123456789abcdef01234567";
    REQUIRE_OK(hub_write_ref(rd, "main", commit));
    char ref[600];
    snprintf(ref, sizeof ref, "%s/refs/main", rd);
    CHECK(!strcmp(slurp(ref), commit), "refs/main holds the commit without a newline: '%s'", slurp(ref));
    char *back = hub_read_ref(rd, "main");
    CHECK(back && !strcmp(back, commit), "read back");
    free(back);
    char blob[600];
    snprintf(blob, sizeof blob, "%s/blobs/ETAG1", rd);
    touch(blob, "params");
    REQUIRE_OK(hub_link_snapshot(rd, commit, "layer_2/w/params.npz", "ETAG1"));
    REQUIRE_OK(hub_link_snapshot(rd, commit, "layer_2/w/params.npz", "ETAG1")); /* again: no change, no error */
    char ptr[700], target[256];
    snprintf(ptr, sizeof ptr, "%s/snapshots/%s/layer_2/w/params.npz", rd, commit);
    ssize_t n = readlink(ptr, target, sizeof target - 1);
    REQUIRE(n > 0, "a symlink at %s", ptr);
    target[n] = 0;
    CHECK(!strcmp(target, "../../../../blobs/ETAG1"), "relative link: %s", target);
    CHECK(has(slurp(ptr), "params"), "reads through to the blob");
    hub_buf tried = {0};
    char *snap = hub_find_snapshot(rd, "main", &tried);
    CHECK(snap && has(snap, commit), "via refs/main: %s", snap ? snap : "(null)");
    free(snap);
    snap = hub_find_snapshot(rd, commit, &tried);
    CHECK(snap != NULL, "by commit");
    free(snap);
    snap = hub_find_snapshot(rd, "v2", &tried);
    CHECK(!snap, "an unknown ref has no fallback");
    char *t = hub_buf_take(&tried);
    CHECK(has(t, "refs/v2 (missing or empty)"), "the ref looked at is listed: %s", t);
    free(t);
    unlink(ref); /* no ref: the only snapshot is used for main */
    snap = hub_find_snapshot(rd, "main", &tried);
    CHECK(snap != NULL, "the only snapshot");
    free(snap);
    char other[700];
    snprintf(other, sizeof other, "%s/snapshots/fedcba9876543210fedcba9876543210fedcba98", rd);
    mkdir(other, 0777);
    snap = hub_find_snapshot(rd, "main", &tried);
    t = hub_buf_take(&tried);
    CHECK(!snap && has(t, "2 snapshots and no refs/main"), "two snapshots, no ref: %s", t);
    free(t);
    free(snap);
    /* temp files of refs and links never stay behind */
    char cmd[800];
    snprintf(cmd, sizeof cmd, "ls -A '%s/blobs' | grep -c tmp", rd);
    FILE *p = popen(cmd, "r");
    char out[16] = "";
    if (p) {
        if (!fgets(out, sizeof out, p)) out[0] = 0;
        pclose(p);
    }
    CHECK(atoi(out) == 0, "no temp files left in blobs/: %s", out);
    free(rd);
}

static void test_listing_parse(void) {
    const char *ok = "{\"id\":\"g/x\",\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":["
                     "{\"rfilename\":\"config.json\",\"size\":973},"
                     "{\"rfilename\":\"layer_2/w/params.npz\",\"lfs\":{\"sha256\":\"x\",\"size\":267736}},"
                     "{\"rfilename\":\"README.md\"}]}";
    hub_listing l;
    REQUIRE_OK(hub_parse_listing("api", ok, strlen(ok), &l));
    CHECK(l.n == 3 && !strcmp(l.sha, "0123456789abcdef0123456789abcdef01234567"), "%d files", l.n);
    CHECK(l.n == 3 && l.files[0].size == 973 && l.files[1].size == 267736 && l.files[2].size == -1, "sizes");
    hub_listing_free(&l);
    const char *evil = "{\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":[{\"rfilename\":\"a/../../x\"}]}";
    CHECK(hub_parse_listing("api", evil, strlen(evil), &l) == SAEX_ERR_FORMAT && has(saex_last_error(), "a/../../x"),
          "a path leaving the snapshot is refused: %s", saex_last_error());
    const char *nosha = "{\"siblings\":[]}";
    CHECK(hub_parse_listing("api", nosha, strlen(nosha), &l) == SAEX_ERR_FORMAT, "no sha");
    CHECK(hub_parse_listing("api", "{", 1, &l) == SAEX_ERR_FORMAT, "not JSON");
}

static void test_glob(void) {
    CHECK(hub_glob_match("layer_20/width_16k/average_l0_68/*", "layer_20/width_16k/average_l0_68/params.npz"), "folder/*");
    CHECK(hub_glob_match("*.json", "sub/config.json"), "'*' crosses '/' as in hf download");
    CHECK(hub_glob_match("layer_2/", "layer_2/a/b"), "trailing '/' = everything below");
    CHECK(!hub_glob_match("layer_2/", "layer_20/a"), "not a prefix of a longer name");
    CHECK(!hub_glob_match("*.safetensors", "config.json"), "no match");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void test_shard_selection(void) {
    CHECK(gemma2_tensor_needed("model.embed_tokens.weight", 0), "embedding");
    CHECK(gemma2_tensor_needed("model.layers.9.mlp.up_proj.weight", 9), "block 9 of 0..9");
    CHECK(!gemma2_tensor_needed("model.layers.10.mlp.up_proj.weight", 9), "block 10 of 0..9");
    CHECK(!gemma2_tensor_needed("model.layers.1x.mlp", -1) && !gemma2_tensor_needed("model.layers..a", -1), "bad numbers");
    CHECK(!gemma2_tensor_needed("model.norm.weight", -1) && !gemma2_tensor_needed("lm_head.weight", -1), "final norm, head");
    CHECK(gemma2_tensor_needed("model.layers.41.input_layernorm.weight", -1), "every block with -1");
    char path[600];
    snprintf(path, sizeof path, "%s/tiny_b/model.safetensors.index.json", t_fixtures());
    size_t len = 0;
    char *json = read_file(path, &len);
    REQUIRE(json, "read %s", path);
    /* tiny_b: shard 1 = embedding + blocks 0-1, shard 2 = blocks 1-3, shard 3 = blocks 3-4 + norm */
    int want_need[] = {1, 2, 2, 3, 3};
    for (int L = 0; L < 5; L++) {
        hub_shards s;
        REQUIRE_OK(hub_select_shards(path, json, len, L, &s));
        CHECK(s.n_need == want_need[L] && s.n_need + s.n_skip == 3, "layer %d: %d needed, %d skipped", L, s.n_need,
              s.n_skip);
        CHECK(!strcmp(s.need[0], "model-00001-of-00003.safetensors"), "the embedding's shard first: %s", s.need[0]);
        hub_shards_free(&s);
    }
    hub_shards s;
    REQUIRE_OK(hub_select_shards(path, json, len, -1, &s));
    CHECK(s.n_need == 3 && s.n_skip == 0, "every shard with -1");
    hub_shards_free(&s);
    const char *evil = "{\"weight_map\":{\"model.embed_tokens.weight\":\"../../etc/x.safetensors\"}}";
    CHECK(hub_select_shards("idx", evil, strlen(evil), 0, &s) == SAEX_ERR_FORMAT, "a shard outside the folder");
    const char *empty = "{\"weight_map\":{}}";
    CHECK(hub_select_shards("idx", empty, strlen(empty), 0, &s) == SAEX_ERR_FORMAT, "empty weight_map");
}

static void test_registry(void) {
    CHECK(saex_registry_count() > 1000, "%lld rows", (long long)saex_registry_count());
    CHECK(saex_registry_at(0) != NULL && saex_registry_at(saex_registry_count()) == NULL && saex_registry_at(-1) == NULL,
          "at");
    const saex_registry_entry *e = saex_registry_find("gemma-scope-9b-pt-res-canonical", "layer_20/width_16k/canonical");
    REQUIRE(e != NULL, "the default SAE is in the table");
    CHECK(!strcmp(e->repo, "google/gemma-scope-9b-pt-res") && !strcmp(e->folder, "layer_20/width_16k/average_l0_68"),
          "%s %s", e->repo, e->folder);
    CHECK(e->layer == 20 && !strcmp(e->neuronpedia, "gemma-2-9b/20-gemmascope-res-16k"), "layer, neuronpedia");
    CHECK(!saex_registry_find("gemma-scope-9b-pt-res-canonical", "layer_99/width_16k/canonical"), "unknown id");
    CHECK(!hub_registry_has_release("no-such-release") && hub_registry_has_release("gemma-scope-2b-pt-res"), "releases");
}

/* The README example of the Python tool: a canonical id in the non-canonical 27b release. */
static void test_registry_hints(void) {
    char *h = hub_registry_missing_hint("gemma-scope-27b-pt-res", "layer_20/width_16k/canonical", 20);
    CHECK(has(h, "width_131k at layers 10, 22, 34"), "widths and layers: %s", S(h));
    CHECK(has(h, "layer 20 is not in this release"), "the layer: %s", S(h));
    CHECK(has(h, "are in the release gemma-scope-27b-pt-res-canonical"), "the canonical twin: %s", S(h));
    free(h);
    h = hub_registry_missing_hint("gemma-scope-9b-pt-res", "layer_20/width_16k/canonical", 20);
    CHECK(has(h, "use --sae-release gemma-scope-9b-pt-res-canonical --sae-id layer_20/width_16k/canonical"),
          "the exact release when the id is there: %s", S(h));
    CHECK(has(h, "width_16k, width_131k at layers 0-41"), "ranges: %s", S(h));
    CHECK(has(h, "layer_20/width_16k/average_l0_68"), "ids of layer 20: %s", S(h));
    free(h);
    h = hub_registry_missing_hint("gemma-scope-2b-pt-res-canonical", "layer_2/width_16k/average_l0_141", 2);
    CHECK(has(h, "use --sae-release gemma-scope-2b-pt-res --sae-id layer_2/width_16k/average_l0_141"),
          "average_l0 ids live in the plain release: %s", S(h));
    free(h);
    h = hub_registry_missing_hint("gemma-scope-2b-pt-res-canonical", "layer_2/width_8k/canonical", 2);
    CHECK(has(h, "ids at layer 2: layer_2/width_16k/canonical, layer_2/width_65k/canonical"), "%s", S(h));
    free(h);
}

static void test_resolve_sae_messages(void) {
    setenv("HF_HUB_CACHE", t_path("empty_cache"), 1);
    saex_fetch_options f;
    saex_fetch_options_init(&f);
    f.offline = 1;
    char *path = NULL;
    const saex_registry_entry *e = NULL;
    CHECK(saex_resolve_sae("gemma-scope-3b", "layer_2/width_16k/canonical", 2, &f, &path, &e) == SAEX_ERR_ARG &&
              has(saex_last_error(), "gemma-scope-9b-pt-res-canonical"),
          "unknown release lists the known: %s", saex_last_error());
    CHECK(saex_resolve_sae("gemma-scope-27b-pt-res", "layer_{L}/width_16k/canonical", 20, &f, &path, &e) == SAEX_ERR_ARG &&
              has(saex_last_error(), "gemma-scope-27b-pt-res-canonical"),
          "missing id: %s", saex_last_error());
    CHECK(saex_resolve_sae("gemma-scope-2b-pt-res-canonical", "layer_3/width_16k/canonical", 2, &f, &path, &e) ==
                  SAEX_ERR_MISMATCH &&
              has(saex_last_error(), "--sae-id 'layer_{L}/width_16k/canonical'") &&
              has(saex_last_error(), "--sae-id layer_2/width_16k/canonical"),
          "layer mismatch: %s", saex_last_error());
    CHECK(saex_resolve_sae("gemma-scope-2b-pt-res-canonical", "layer_{L}/width_16k/canonical", -1, &f, &path, &e) ==
              SAEX_ERR_ARG,
          "{L} without a layer");
    CHECK(saex_resolve_sae("gemma-scope-2b-pt-res-canonical", "layer_{L}/width_16k/canonical", 2, &f, &path, &e) ==
              SAEX_ERR_NOT_FOUND,
          "offline, empty cache");
    const char *m = saex_last_error();
    CHECK(has(m, "saex download --sae-release gemma-scope-2b-pt-res-canonical --sae-id layer_2/width_16k/canonical") &&
              has(m, "hf download google/gemma-scope-2b-pt-res --include 'layer_2/width_16k/average_l0_141/*'") &&
              has(m, "empty_cache/models--google--gemma-scope-2b-pt-res/refs/main"),
          "paths and commands: %s", m);
    CHECK(e && e->layer == 2, "the entry is returned with the failure to find the files");
    unsetenv("HF_HUB_CACHE");
}

/* A cache snapshot whose files are links to tiny_b (+ a tokenizer), leaving out some. */
static char *make_tiny_snapshot(const char *cache, const char *skip) {
    const char *commit = "1111111111111111111111111111111111111111";
    char *rd = hub_repo_dir(cache, "test-org/tiny");
    char dir[700], cwd[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/snapshots/%s", rd, commit);
    if (hub_prepare_repo(rd) || hub_mkdirs(dir) || hub_write_ref(rd, "main", commit) || !getcwd(cwd, sizeof cwd))
        return NULL;
    const char *files[] = {"config.json", "model.safetensors.index.json", "model-00001-of-00003.safetensors",
                           "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"};
    for (int i = 0; i < 5; i++) {
        if (skip && !strcmp(files[i], skip)) continue;
        char src[PATH_MAX + 700], dst[900];
        snprintf(src, sizeof src, "%s/%s/tiny_b/%s", cwd, t_fixtures(), files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        if (symlink(src, dst)) return NULL;
    }
    char src[PATH_MAX + 64], dst[900];
    snprintf(src, sizeof src, "%s/examples/model/tokenizer.json", cwd);
    snprintf(dst, sizeof dst, "%s/tokenizer.json", dir);
    if (symlink(src, dst)) return NULL;
    free(rd);
    return strdup(dir);
}

static void test_resolve_model_cache(void) {
    setenv("HF_HUB_CACHE", t_path("model_cache"), 1);
    char *snap = make_tiny_snapshot(t_path("model_cache"), "model-00003-of-00003.safetensors");
    REQUIRE(snap, "snapshot");
    saex_fetch_options f;
    saex_fetch_options_init(&f);
    f.offline = 1;
    f.max_layer = 2;
    char *dir = NULL;
    CHECK(saex_resolve_model("test-org/tiny", &f, &dir) == SAEX_OK && dir && !strcmp(dir, snap),
          "blocks 0..2 need shards 1 and 2 only: %s", saex_last_error());
    saex_free(dir);
    f.max_layer = 4;
    CHECK(saex_resolve_model("test-org/tiny", &f, &dir) == SAEX_ERR_NOT_FOUND && !dir, "block 4 needs shard 3");
    const char *m = saex_last_error();
    CHECK(has(m, "model-00003-of-00003.safetensors") && has(m, "saex download test-org/tiny --target-layer 4") &&
              has(m, "hf download test-org/tiny"),
          "names the missing shard and the commands: %s", m);
    f.max_layer = -1;
    CHECK(saex_resolve_model("test-org/tiny", &f, &dir) == SAEX_ERR_NOT_FOUND, "every shard");
    setenv("HF_HUB_OFFLINE", "1", 1);
    f.offline = 0;
    f.max_layer = 4;
    CHECK(saex_resolve_model("test-org/tiny", &f, &dir) == SAEX_ERR_NOT_FOUND && has(saex_last_error(), "network is off"),
          "HF_HUB_OFFLINE=1 is offline too: %s", saex_last_error());
    CHECK(saex_hub_download("test-org/none", NULL, &f, &dir) == SAEX_ERR_NOT_FOUND, "download offline");
    unsetenv("HF_HUB_OFFLINE");
    CHECK(saex_resolve_model("no-such-folder-or-id", &f, &dir) == SAEX_ERR_NOT_FOUND, "neither folder nor id");
    free(snap);
    unsetenv("HF_HUB_CACHE");
}

/* The loader opens only the shards of the blocks it runs: tiny_b without
 * its third shard (blocks 3-4 + final norm) still runs blocks 0..2 and gives
 * the reference residuals; block 4 then fails naming the missing shard. */
static void test_loader_without_deep_shards(void) {
    char *snap = make_tiny_snapshot(t_path("loader_cache"), "model-00003-of-00003.safetensors");
    REQUIRE(snap, "snapshot");
    char ref_path[600];
    snprintf(ref_path, sizeof ref_path, "%s/tiny_b/ref.safetensors", t_fixtures());
    st_set *ref = NULL;
    REQUIRE_OK(st_open(ref_path, &ref));
    saex_model_options o;
    saex_model_options_init(&o);
    o.precision = SAEX_PRECISION_F32;
    saex_model *m = NULL;
    int layers[] = {2};
    saex_status st = saex_model_open(snap, layers, 1, &o, &m);
    CHECK(st == SAEX_OK, "open blocks 0..2 without shard 3: %s", saex_last_error());
    if (m) {
        const st_tensor *ids = st_find(ref, "seq2.ids"), *want = st_find(ref, "seq2.resid.2");
        REQUIRE(ids && want, "reference seq2");
        const int32_t *seq = ids->data;
        int len = (int)ids->numel, D = saex_model_get_info(m)->d_model;
        REQUIRE_OK(saex_model_forward(m, &seq, &len, 1));
        float *got = malloc((size_t)len * D * sizeof *got);
        for (int p = 0; p < len; p++) saex_model_residual(m, 2, 0, p, got + (size_t)p * D);
        double num = 0, den = 0;
        const float *w = want->data;
        for (int64_t i = 0; i < (int64_t)len * D; i++) num += (got[i] - w[i]) * (double)(got[i] - w[i]), den += w[i] * (double)w[i];
        CHECK(sqrt(num / den) <= 1e-4, "relative error %.3g", sqrt(num / den));
        free(got);
        saex_model_close(m);
    }
    m = NULL;
    int deep[] = {4};
    CHECK(saex_model_open(snap, deep, 1, &o, &m) != SAEX_OK && has(saex_last_error(), "model-00003-of-00003"),
          "block 4 needs the missing shard: %s", saex_last_error());
    saex_model_close(m);
    st_close(ref);
    free(snap);
}

static void test_human_bytes(void) {
    char b[32];
    hub_human_bytes(17, b, sizeof b);
    CHECK(!strcmp(b, "17 B"), "%s", b);
    hub_human_bytes(472184, b, sizeof b);
    CHECK(!strcmp(b, "472.2 KB"), "%s", b);
    hub_human_bytes(18500000000LL, b, sizeof b);
    CHECK(!strcmp(b, "18.5 GB"), "%s", b);
}

int main(void) {
    if (!t_tmp_open("hub")) return 1;
    unsetenv("HF_HUB_OFFLINE");
    RUN(test_etag_normalize);
    RUN(test_response_headers);
    RUN(test_urls);
    RUN(test_cache_paths);
    RUN(test_cache_ops);
    RUN(test_listing_parse);
    RUN(test_glob);
    RUN(test_shard_selection);
    RUN(test_registry);
    RUN(test_registry_hints);
    RUN(test_resolve_sae_messages);
    RUN(test_resolve_model_cache);
    RUN(test_loader_without_deep_shards);
    RUN(test_human_bytes);
    t_tmp_close();
    TEST_MAIN_END();
}
