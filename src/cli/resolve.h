/* resolve.h — where the model and each layer's SAE are on disk (no network).
 *
 * Model: --model is a local folder, or an HF id found in the hub cache.
 * SAE:   --sae PATH (folder or params.npz; "{L}" is replaced by the layer), or
 *        --sae-release + --sae-id through the generated registry, then
 *        <cache>/models--ORG--NAME/snapshots/<rev>/<folder>/params.npz. */
#ifndef SAEX_CLI_RESOLVE_H
#define SAEX_CLI_RESOLVE_H
#include "registry.h"

/* The model folder (caller frees), or NULL after printing what was looked for. */
char *resolve_model(const char *model);

typedef struct {
    char *path;                  /* what saex_sae_open gets */
    char *sae_id;                /* after {L} substitution, or NULL with --sae */
    const registry_entry *entry; /* NULL with --sae */
} sae_location;

/* Returns 0, or -1 after printing the reason (unknown release/id, wrong
 * layer, not in the cache: with the paths tried and the download command). */
int resolve_sae(const char *sae_path_pattern, const char *release, const char *sae_id_pattern, int layer,
                sae_location *out);
void sae_location_free(sae_location *l);

#endif
