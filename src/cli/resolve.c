/* resolve.c — model and SAE locations. */
#include "resolve.h"
#include "args.h"
#include "hfcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void print_tried(const char *tried) {
    const char *p = tried;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(stderr, "    %.*s\n", n, p);
        p = nl ? nl + 1 : NULL;
    }
}

char *resolve_model(const char *model) {
    char *dir = NULL;
    if (is_dir(model)) {
        dir = strfmt("%s", model);
    } else if (!hf_is_repo_id(model)) {
        cli_error("--model %s: no such folder (and not a Hugging Face id like google/gemma-2-9b-it)", model);
        return NULL;
    } else {
        char *tried = NULL;
        dir = hf_snapshot(model, &tried);
        if (!dir) {
            char *cache = hf_cache_dir();
            cli_error("--model %s: not a local folder, and not in the Hugging Face cache %s (no network is used). "
                      "Looked for:", model, cache);
            fprintf(stderr, "    ./%s (a local folder)\n", model);
            print_tried(tried);
            fprintf(stderr, "  Get it with:\n    huggingface-cli download %s\n  or pass --model /path/to/folder "
                            "(set HF_HUB_CACHE or HF_HOME to use another cache)\n", model);
            free(cache);
            free(tried);
            return NULL;
        }
        free(tried);
    }
    char *cfg = strfmt("%s/config.json", dir);
    int ok = exists(cfg);
    if (!ok) cli_error("model folder %s has no config.json (expected a Hugging Face model folder: config.json, "
                       "tokenizer.json, *.safetensors)", dir);
    free(cfg);
    if (!ok) {
        free(dir);
        return NULL;
    }
    return dir;
}

void sae_location_free(sae_location *l) {
    free(l->path);
    free(l->sae_id);
    memset(l, 0, sizeof *l);
}

int resolve_sae(const char *sae_path_pattern, const char *release, const char *sae_id_pattern, int layer,
                sae_location *out) {
    memset(out, 0, sizeof *out);
    if (sae_path_pattern) {
        out->path = subst_layer(sae_path_pattern, layer);
        if (!exists(out->path)) {
            cli_error("--sae %s: no such file or folder", out->path);
            sae_location_free(out);
            return -1;
        }
        return 0;
    }
    out->sae_id = subst_layer(sae_id_pattern, layer);
    const registry_entry *e = registry_find(release, out->sae_id);
    if (!e) {
        if (!registry_has_release(release)) {
            cli_error("--sae-release %s is not a known Gemma Scope residual-stream release "
                      "(see docs/cli.md; or pass --sae PATH)", release);
        } else {
            cli_error("--sae-release %s has no --sae-id %s; ids for layer %d:", release, out->sae_id, layer);
            registry_hint(release, layer, 12);
        }
        sae_location_free(out);
        return -1;
    }
    if (e->layer >= 0 && e->layer != layer) {
        cli_error("SAE %s / %s was trained on layer %d, but the target layer is %d", release, out->sae_id, e->layer,
                  layer);
        sae_location_free(out);
        return -1;
    }
    out->entry = e;
    char *tried = NULL;
    char *snap = hf_snapshot(e->repo, &tried);
    if (snap) {
        char *p = strfmt("%s/%s/params.npz", snap, e->folder);
        free(snap);
        if (exists(p)) {
            out->path = p;
            free(tried);
            return 0;
        }
        char *t = strfmt("%s\n%s", tried, p);
        free(tried);
        free(p);
        tried = t;
    }
    char *cache = hf_cache_dir();
    cli_error("SAE %s / %s (repo %s, folder %s) is not in the Hugging Face cache %s (no network is used). "
              "Looked for:", release, out->sae_id, e->repo, e->folder, cache);
    print_tried(tried);
    fprintf(stderr, "  Get it with:\n    huggingface-cli download %s --include '%s/*'\n  or pass --sae PATH "
                    "(a folder holding params.npz)\n", e->repo, e->folder);
    free(cache);
    free(tried);
    sae_location_free(out);
    return -1;
}
