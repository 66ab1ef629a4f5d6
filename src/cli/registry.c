/* registry.c — lookup in the generated table (registry_table.inc). */
#include "registry.h"

#include <stdio.h>
#include <string.h>

static const registry_entry TABLE[] = {
#include "registry_table.inc"
};
static const int N_TABLE = (int)(sizeof TABLE / sizeof TABLE[0]);

const registry_entry *registry_find(const char *release, const char *sae_id) {
    for (int i = 0; i < N_TABLE; i++)
        if (strcmp(TABLE[i].release, release) == 0 && strcmp(TABLE[i].sae_id, sae_id) == 0) return &TABLE[i];
    return NULL;
}

int registry_has_release(const char *release) {
    for (int i = 0; i < N_TABLE; i++)
        if (strcmp(TABLE[i].release, release) == 0) return 1;
    return 0;
}

void registry_hint(const char *release, int layer, int max) {
    int shown = 0;
    for (int i = 0; i < N_TABLE && shown < max; i++) {
        if (strcmp(TABLE[i].release, release) != 0 || TABLE[i].layer != layer) continue;
        fprintf(stderr, "    %s\n", TABLE[i].sae_id);
        shown++;
    }
}
