/* config.c — parses and checks a Gemma-2 config.json.
 *
 * Only Gemma2ForCausalLM / model_type "gemma2" is accepted: the forward pass
 * in gemma2.c hard-codes its block structure (four norms, GeGLU, softcapped
 * attention), so any other architecture would run and give wrong numbers. */
#include "config.h"
#include "error.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Reads a required positive integer field. */
static saex_status get_int(json_t *root, const char *path, const char *key, int *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return saex_fail(SAEX_ERR_FORMAT, "%s: missing field \"%s\"", path, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 30))
        return saex_fail(SAEX_ERR_FORMAT, "%s: field \"%s\" must be a positive integer", path, key);
    *out = (int)json_integer_value(v);
    return SAEX_OK;
}

/* Reads an optional number; null or absent leaves *out as the default. */
static saex_status get_num(json_t *root, const char *path, const char *key, float *out) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return SAEX_OK;
    if (!json_is_number(v)) return saex_fail(SAEX_ERR_FORMAT, "%s: field \"%s\" must be a number", path, key);
    *out = (float)json_number_value(v);
    return SAEX_OK;
}

static saex_status check_architecture(json_t *root, const char *path) {
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    json_t *arch = json_object_get(root, "architectures");
    const char *a0 = json_is_array(arch) ? json_string_value(json_array_get(arch, 0)) : NULL;
    if (mt && strcmp(mt, "gemma2") == 0) return SAEX_OK;
    if (!mt && a0 && strcmp(a0, "Gemma2ForCausalLM") == 0) return SAEX_OK;
    return saex_fail(SAEX_ERR_UNSUPPORTED,
                     "%s: model_type \"%s\" (architecture %s) is not supported; saex runs Gemma-2 "
                     "(model_type \"gemma2\", Gemma2ForCausalLM)",
                     path, mt ? mt : "(none)", a0 ? a0 : "(none)");
}

/* rope_theta moved into "rope_parameters" in newer transformers; accept both,
 * and refuse scaled RoPE variants that Gemma-2 does not use. */
static saex_status read_rope(json_t *root, const char *path, gemma2_config *c) {
    c->rope_theta = 10000.0f;
    saex_status s = get_num(root, path, "rope_theta", &c->rope_theta);
    if (s) return s;
    json_t *rp = json_object_get(root, "rope_parameters");
    if (json_is_object(rp)) {
        if ((s = get_num(rp, path, "rope_theta", &c->rope_theta))) return s;
        const char *type = json_string_value(json_object_get(rp, "rope_type"));
        if (type && strcmp(type, "default") != 0)
            return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: rope_type \"%s\" is not supported (only default RoPE)",
                             path, type);
    }
    json_t *rs = json_object_get(root, "rope_scaling");
    if (rs && !json_is_null(rs))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: rope_scaling is set; Gemma-2 uses plain RoPE", path);
    if (!(c->rope_theta > 0)) return saex_fail(SAEX_ERR_FORMAT, "%s: rope_theta must be positive", path);
    return SAEX_OK;
}

/* HF marks every other layer sliding, starting with layer 0, unless
 * config.json lists layer_types explicitly. */
static saex_status read_layer_types(json_t *root, const char *path, gemma2_config *c) {
    c->sliding = calloc((size_t)c->n_layers, 1);
    if (!c->sliding) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    json_t *lt = json_object_get(root, "layer_types");
    if (!lt || json_is_null(lt)) {
        for (int i = 0; i < c->n_layers; i++) c->sliding[i] = (i % 2) == 0;
        return SAEX_OK;
    }
    if (!json_is_array(lt) || (int)json_array_size(lt) != c->n_layers)
        return saex_fail(SAEX_ERR_FORMAT, "%s: layer_types must be a list of %d strings", path, c->n_layers);
    for (int i = 0; i < c->n_layers; i++) {
        const char *t = json_string_value(json_array_get(lt, (size_t)i));
        if (t && strcmp(t, "sliding_attention") == 0) c->sliding[i] = 1;
        else if (t && strcmp(t, "full_attention") == 0) c->sliding[i] = 0;
        else return saex_fail(SAEX_ERR_FORMAT, "%s: layer_types[%d] is not \"sliding_attention\" or \"full_attention\"", path, i);
    }
    return SAEX_OK;
}

static saex_status read_dtype(json_t *root, const char *path, gemma2_config *c) {
    const char *d = json_string_value(json_object_get(root, "dtype"));
    if (!d) d = json_string_value(json_object_get(root, "torch_dtype"));
    if (!d) d = "float32"; /* HF's default when the field is absent */
    if (strcmp(d, "bfloat16") && strcmp(d, "float16") && strcmp(d, "float32"))
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: dtype \"%s\" is not supported (bfloat16, float16, float32)", path, d);
    snprintf(c->dtype, sizeof c->dtype, "%s", d);
    return SAEX_OK;
}

static saex_status check_sizes(const char *path, const gemma2_config *c) {
    if (c->n_heads % c->n_kv_heads)
        return saex_fail(SAEX_ERR_FORMAT, "%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
                         path, c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2) return saex_fail(SAEX_ERR_FORMAT, "%s: head_dim (%d) must be even for RoPE", path, c->head_dim);
    if (!(c->query_pre_attn_scalar > 0))
        return saex_fail(SAEX_ERR_FORMAT, "%s: query_pre_attn_scalar must be positive", path);
    if (!(c->rms_eps > 0)) return saex_fail(SAEX_ERR_FORMAT, "%s: rms_norm_eps must be positive", path);
    return SAEX_OK;
}

static saex_status parse(json_t *root, const char *path, gemma2_config *c) {
    saex_status s;
    if ((s = check_architecture(root, path))) return s;
    if ((s = get_int(root, path, "vocab_size", &c->vocab_size)) || (s = get_int(root, path, "hidden_size", &c->d_model)) ||
        (s = get_int(root, path, "intermediate_size", &c->d_ff)) ||
        (s = get_int(root, path, "num_hidden_layers", &c->n_layers)) ||
        (s = get_int(root, path, "num_attention_heads", &c->n_heads)) ||
        (s = get_int(root, path, "num_key_value_heads", &c->n_kv_heads)) ||
        (s = get_int(root, path, "head_dim", &c->head_dim)) ||
        (s = get_int(root, path, "max_position_embeddings", &c->max_positions)) ||
        (s = get_int(root, path, "sliding_window", &c->sliding_window)))
        return s;
    c->query_pre_attn_scalar = (float)c->head_dim;
    c->rms_eps = 1e-6f;
    c->attn_softcap = 0;
    if ((s = get_num(root, path, "query_pre_attn_scalar", &c->query_pre_attn_scalar)) ||
        (s = get_num(root, path, "rms_norm_eps", &c->rms_eps)) ||
        (s = get_num(root, path, "attn_logit_softcapping", &c->attn_softcap)))
        return s;
    const char *act = json_string_value(json_object_get(root, "hidden_activation"));
    if (act && strcmp(act, "gelu_pytorch_tanh") != 0)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: hidden_activation \"%s\" is not supported (gelu_pytorch_tanh)", path, act);
    if ((s = read_rope(root, path, c)) || (s = read_dtype(root, path, c)) || (s = check_sizes(path, c))) return s;
    return read_layer_types(root, path, c);
}

saex_status gemma2_config_load(const char *path, gemma2_config *c) {
    memset(c, 0, sizeof *c);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return saex_fail(SAEX_ERR_IO, "%s: cannot open (is this a Hugging Face model folder?)", path);
        fclose(f);
        return saex_fail(SAEX_ERR_FORMAT, "%s: invalid JSON at line %d column %d: %s", path, err.line, err.column, err.text);
    }
    saex_status s = json_is_object(root) ? parse(root, path, c)
                                         : saex_fail(SAEX_ERR_FORMAT, "%s: top level is not a JSON object", path);
    json_decref(root);
    if (s) gemma2_config_free(c);
    return s;
}

void gemma2_config_free(gemma2_config *c) {
    free(c->sliding);
    c->sliding = NULL;
}

int gemma2_tensor_needed(const char *name, int deepest_layer) {
    static const char embed[] = "model.embed_tokens.", layers[] = "model.layers.";
    if (strncmp(name, embed, sizeof embed - 1) == 0) return 1;
    if (strncmp(name, layers, sizeof layers - 1) != 0) return 0;
    const char *p = name + sizeof layers - 1;
    if (*p < '0' || *p > '9') return 0;
    long i = 0;
    while (*p >= '0' && *p <= '9' && i < 1000000) i = i * 10 + (*p++ - '0');
    return *p == '.' && (deepest_layer < 0 || i <= deepest_layer);
}
