/* resolve_shim.c — TEMPORARY stand-in for src/hub (being written on the hub
 * branch): local folders only. Deleted when src/hub lands. */
#include "error.h"
#include "saex.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const saex_registry_entry *saex_registry_find(const char *release, const char *sae_id) {
    (void)release, (void)sae_id;
    return NULL;
}

saex_status saex_resolve_model(const char *model, const saex_fetch_options *f, char **dir) {
    (void)f;
    struct stat sb;
    if (stat(model, &sb) != 0 || !S_ISDIR(sb.st_mode)) return saex_fail(SAEX_ERR_NOT_FOUND, "--model %s: no such folder", model);
    *dir = strdup(model);
    return SAEX_OK;
}

saex_status saex_resolve_sae(const char *release, const char *sae_id, int layer, const saex_fetch_options *f, char **path,
                             const saex_registry_entry **entry) {
    (void)f, (void)layer, (void)path, (void)entry;
    return saex_fail(SAEX_ERR_NOT_FOUND, "--sae-release %s / --sae-id %s: the registry is not built in yet", release, sae_id);
}
