/* resolve.c — where the model and an SAE are on disk: a local folder, the
 * Hugging Face cache, or (unless offline) downloaded into that cache first.
 *
 * The cache is looked at before the network: a snapshot holding everything
 * the run needs is used without a request, so compute nodes without a
 * network run from a cache filled elsewhere. When something is missing and
 * the network is off, the message lists every path looked at and the
 * commands that fetch it (`saex download ...`, `hf download ...`). */
#include "error.h"
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_offline(const saex_fetch_options *f) { return (f && f->offline) || hub_env_true("HF_HUB_OFFLINE"); }

static const char *revision_of(const saex_fetch_options *f) {
    return f && f->revision && *f->revision ? f->revision : "main";
}

/* Indents each line of a "\n"-separated list by four spaces. */
static void add_lines(hub_buf *b, const char *lines) {
    for (const char *p = lines; p && *p;) {
        size_t n = strcspn(p, "\n");
        hub_buf_add(b, "\n    %.*s", (int)n, p);
        p += n;
        if (*p) p++;
    }
}

/* ------------------------------------------------------------------- model */

/* The cached snapshot of repo when it holds what blocks 0..max_layer need, else NULL (paths looked at in tried). */
static char *cached_model(const char *cache, const char *repo, const char *revision, int max_layer, hub_buf *tried) {
    char *rd = hub_repo_dir(cache, repo);
    char *snap = rd ? hub_find_snapshot(rd, revision, tried) : NULL;
    free(rd);
    if (snap && !hub_model_complete(snap, max_layer, tried)) {
        free(snap);
        snap = NULL;
    }
    return snap;
}

static saex_status model_not_found(const char *repo, const char *cache, const saex_fetch_options *f, const char *tried) {
    hub_buf b = {0};
    const char *rev = revision_of(f);
    int L = f ? f->max_layer : -1;
    char layer_opt[48] = "", rev_opt[300] = "";
    if (L >= 0) snprintf(layer_opt, sizeof layer_opt, " --target-layer %d", L);
    if (strcmp(rev, "main") != 0) snprintf(rev_opt, sizeof rev_opt, " --revision %s", rev);
    hub_buf_add(&b, "model %s is not in the Hugging Face cache %s (or incomplete there), and the network is off "
                    "(--offline / HF_HUB_OFFLINE=1). Looked at:\n    ./%s (a local folder)",
                repo, cache, repo);
    add_lines(&b, tried);
    hub_buf_add(&b, "\n  Fetch it into this cache on a machine with a network (same HF_HUB_CACHE / HF_HOME):"
                    "\n    saex download %s%s%s\n  or\n    hf download %s%s"
                    "\n  or pass --model /path/to/a/model/folder",
                repo, layer_opt, rev_opt, repo, rev_opt);
    char *msg = hub_buf_take(&b);
    saex_status st = saex_fail(SAEX_ERR_NOT_FOUND, "%s", msg ? msg : "model not found");
    free(msg);
    return st;
}

saex_status saex_resolve_model(const char *model, const saex_fetch_options *f, char **dir) {
    *dir = NULL;
    if (!model || !*model) return saex_fail(SAEX_ERR_ARG, "no model given");
    if (hub_is_dir(model)) {
        char *cfg = hub_fmt("%s/config.json", model);
        int ok = cfg && hub_exists(cfg);
        free(cfg);
        if (!ok)
            return saex_fail(SAEX_ERR_NOT_FOUND, "model folder %s has no config.json (expected a Hugging Face model "
                                                 "folder: config.json, tokenizer.json, *.safetensors)",
                             model);
        *dir = hub_fmt("%s", model);
        return *dir ? SAEX_OK : saex_fail(SAEX_ERR_NOMEM, "out of memory");
    }
    if (!hub_is_repo_id(model))
        return saex_fail(SAEX_ERR_NOT_FOUND, "model %s: no such folder, and not a Hugging Face id like google/gemma-2-9b-it",
                         model);
    int max_layer = f ? f->max_layer : -1;
    char *cache = saex_hf_cache_dir();
    if (!cache) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    hub_buf tried = {0};
    char *snap = cached_model(cache, model, revision_of(f), max_layer, &tried);
    saex_status st = SAEX_OK;
    if (!snap && is_offline(f)) {
        char *t = hub_buf_take(&tried);
        st = model_not_found(model, cache, f, t);
        free(t);
    } else if (!snap) {
        char *fetched = NULL;
        if (!(st = hub_fetch_model(model, f, &fetched))) {
            hub_buf missing = {0};
            if (!hub_model_complete(fetched, max_layer, &missing)) {
                char *m = hub_buf_take(&missing);
                st = saex_fail(SAEX_ERR_NOT_FOUND, "model %s was downloaded to %s, but it lacks:\n%s", model, fetched,
                               m ? m : "?");
                free(m);
            } else {
                snap = fetched, fetched = NULL;
            }
            hub_buf_free(&missing);
        }
        free(fetched);
    }
    hub_buf_free(&tried);
    free(cache);
    *dir = snap;
    return st;
}

/* --------------------------------------------------------------------- SAE */

/* Every "{L}" replaced by the layer. */
static char *subst_layer(const char *pattern, int layer) {
    hub_buf b = {0};
    for (const char *p = pattern; *p;) {
        if (!strncmp(p, "{L}", 3)) hub_buf_add(&b, "%d", layer), p += 3;
        else hub_buf_add(&b, "%c", *p++);
    }
    return hub_buf_take(&b);
}

static saex_status unknown_sae(const char *release, const char *id, int layer) {
    if (!hub_registry_has_release(release)) {
        char *list = hub_registry_release_list();
        saex_status st = saex_fail(SAEX_ERR_ARG,
                                   "--sae-release %s is not a known Gemma Scope residual-stream release. Known: %s "
                                   "(or pass --sae PATH for a local params.npz / SAELens folder)",
                                   release, list ? list : "?");
        free(list);
        return st;
    }
    char *hint = hub_registry_missing_hint(release, id, layer);
    saex_status st = saex_fail(SAEX_ERR_ARG, "--sae-release %s has no --sae-id %s\n%s", release, id, hint ? hint : "");
    free(hint);
    return st;
}

/* "layer_3/width_16k/canonical" for target layer 2: suggest the {L} form and the id of layer 2. */
static saex_status layer_mismatch(const saex_registry_entry *e, int layer) {
    const char *rest = strchr(e->sae_id, '/');
    char same[512] = "";
    char *other = hub_fmt("layer_%d%s", layer, rest ? rest : "");
    if (other && saex_registry_find(e->release, other)) snprintf(same, sizeof same, ", or --sae-id %s", other);
    saex_status st = saex_fail(SAEX_ERR_MISMATCH,
                               "SAE %s / %s was trained on layer %d, but the target layer is %d: use --sae-id "
                               "'layer_{L}%s' (the SAE of each --target-layer / --layers)%s",
                               e->release, e->sae_id, e->layer, layer, rest ? rest : "", same);
    free(other);
    return st;
}

/* params.npz (Gemma Scope) or the folder itself (SAELens cfg.json) inside snapshot/folder, else NULL. */
static char *sae_in_snapshot(const char *snapshot, const char *folder, hub_buf *tried) {
    char *npz = hub_fmt("%s/%s/params.npz", snapshot, folder);
    char *cfg = hub_fmt("%s/%s/cfg.json", snapshot, folder);
    char *found = NULL;
    if (npz && hub_exists(npz)) found = npz, npz = NULL;
    else if (cfg && hub_exists(cfg)) found = hub_fmt("%s/%s", snapshot, folder);
    else hub_buf_add(tried, "%s\n", npz ? npz : "?");
    free(npz);
    free(cfg);
    return found;
}

static char *cached_sae(const char *cache, const saex_registry_entry *e, hub_buf *tried) {
    char *rd = hub_repo_dir(cache, e->repo);
    char *snap = rd ? hub_find_snapshot(rd, "main", tried) : NULL;
    char *path = snap ? sae_in_snapshot(snap, e->folder, tried) : NULL;
    free(snap);
    free(rd);
    return path;
}

static saex_status sae_not_found(const saex_registry_entry *e, const char *cache, const char *tried) {
    hub_buf b = {0};
    hub_buf_add(&b, "SAE %s / %s (repo %s, folder %s) is not in the Hugging Face cache %s, and the network is off "
                    "(--offline / HF_HUB_OFFLINE=1). Looked at:",
                e->release, e->sae_id, e->repo, e->folder, cache);
    add_lines(&b, tried);
    hub_buf_add(&b, "\n  Fetch it into this cache on a machine with a network (same HF_HUB_CACHE / HF_HOME):"
                    "\n    saex download --sae-release %s --sae-id %s\n  or\n    hf download %s --include '%s/*'"
                    "\n  or pass --sae PATH (a folder holding params.npz)",
                e->release, e->sae_id, e->repo, e->folder);
    char *msg = hub_buf_take(&b);
    saex_status st = saex_fail(SAEX_ERR_NOT_FOUND, "%s", msg ? msg : "SAE not found");
    free(msg);
    return st;
}

saex_status saex_registry_check(const char *release, const char *sae_id, int layer, const saex_registry_entry **entry) {
    if (entry) *entry = NULL;
    if (!release || !sae_id) return saex_fail(SAEX_ERR_ARG, "an SAE needs a release and an id");
    if (strstr(sae_id, "{L}") && layer < 0)
        return saex_fail(SAEX_ERR_ARG, "--sae-id %s has {L}, which needs a target layer", sae_id);
    char *id = subst_layer(sae_id, layer);
    if (!id) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    const saex_registry_entry *e = saex_registry_find(release, id);
    saex_status st = !e ? unknown_sae(release, id, layer) : layer >= 0 && e->layer >= 0 && e->layer != layer ? layer_mismatch(e, layer) : SAEX_OK;
    free(id);
    if (!st && entry) *entry = e;
    return st;
}

saex_status saex_resolve_sae(const char *release, const char *sae_id, int layer, const saex_fetch_options *f,
                             char **path, const saex_registry_entry **entry) {
    *path = NULL;
    const saex_registry_entry *e = NULL;
    saex_status st = saex_registry_check(release, sae_id, layer, &e);
    if (entry) *entry = e;
    if (st) return st;
    char *cache = saex_hf_cache_dir();
    if (!cache) return saex_fail(SAEX_ERR_NOMEM, "out of memory");
    hub_buf tried = {0};
    char *found = cached_sae(cache, e, &tried);
    if (!found && is_offline(f)) {
        char *t = hub_buf_take(&tried);
        st = sae_not_found(e, cache, t);
        free(t);
    } else if (!found) {
        /* The registry pins no revision: Gemma Scope SAEs are fetched at main, whatever f->revision says. */
        saex_fetch_options g;
        saex_fetch_options_init(&g);
        g.events = f ? f->events : NULL;
        char *snap = NULL;
        if (!(st = hub_fetch_folder(e->repo, e->folder, &g, &snap))) {
            hub_buf again = {0};
            found = sae_in_snapshot(snap, e->folder, &again);
            if (!found)
                st = saex_fail(SAEX_ERR_NOT_FOUND, "%s/%s was downloaded to %s, but holds neither params.npz nor cfg.json",
                               e->repo, e->folder, snap);
            hub_buf_free(&again);
        }
        free(snap);
    }
    hub_buf_free(&tried);
    free(cache);
    *path = found;
    return st;
}
