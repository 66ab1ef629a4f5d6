/* config.h — a Gemma-2 model's sizes, read from its config.json.
 * Every size comes from the file: 2B, 9B and 27B differ in head_dim,
 * query_pre_attn_scalar, head counts and the GQA ratio. */
#ifndef SAEX_CONFIG_H
#define SAEX_CONFIG_H
#include "saex.h"

typedef struct {
    int vocab_size;
    int d_model;        /* hidden_size */
    int d_ff;           /* intermediate_size */
    int n_layers;       /* num_hidden_layers */
    int n_heads;        /* num_attention_heads */
    int n_kv_heads;     /* num_key_value_heads */
    int head_dim;
    int max_positions;  /* max_position_embeddings */
    int sliding_window;
    float query_pre_attn_scalar;
    float rms_eps;
    float rope_theta;
    float attn_softcap; /* attn_logit_softcapping; 0 when null */
    char dtype[16];     /* "bfloat16", "float16", "float32" as written in config.json */
    unsigned char *sliding; /* [n_layers]: 1 where the layer uses the sliding window */
} gemma2_config;

/* path: the config.json file. */
saex_status gemma2_config_load(const char *path, gemma2_config *c);
void gemma2_config_free(gemma2_config *c);

/* 1 if a checkpoint tensor is read to run blocks 0..deepest_layer: the
 * embedding (model.embed_tokens.*) and model.layers.{i}.* for i <= deepest
 * (every block when deepest_layer < 0). The loader opens only the shards
 * that hold such tensors, and downloads fetch only those shards. */
int gemma2_tensor_needed(const char *name, int deepest_layer);

#endif
