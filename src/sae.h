/* sae.h — internal view of a loaded JumpReLU SAE (the model attaches it to a backend). */
#ifndef SAEX_SAE_H
#define SAEX_SAE_H
#include "saex.h"
#include <stdint.h>

struct saex_sae {
    char *path;
    int64_t d_in, d_sae;
    int layer;         /* -1 when the files do not say */
    float *W_enc;      /* [d_in, d_sae] */
    float *b_enc;      /* [d_sae]; b_dec already folded in when cfg.json asks to subtract it */
    float *threshold;  /* [d_sae] */
};

#endif
