/* tokenizer.h — internals shared by the tokenizer loader (tokenizer_load.c)
 * and the encoder / decoder (tokenizer.c).
 *
 * The pipeline mirrors Hugging Face `tokenizers` for the SentencePiece-style
 * BPE family (Gemma, Llama 2):
 *   text -> split out added tokens that match the raw text
 *        -> normalize each remaining segment (Replace / Prepend)
 *        -> split out added tokens that match the normalized text
 *        -> pre-tokenize (nothing, or Split on a literal string)
 *        -> model (BPE with merge ranks, byte fallback, unk)
 *        -> post-process (template: BOS before, maybe EOS after)
 * Another model kind is one more tok_model_kind, one more loader function in
 * tokenizer_load.c and one more encode function in tokenizer.c. */
#ifndef SAEX_TOKENIZER_H
#define SAEX_TOKENIZER_H
#include "saex.h"
#include <stddef.h>
#include <stdint.h>

/* A string that may hold NUL bytes. */
typedef struct {
    const char *s;
    size_t n;
} tok_str;

/* string -> id, open addressing; keys point into the tokenizer's pool. */
typedef struct {
    uint32_t *slot; /* [cap] id + 1, 0 = empty */
    size_t cap;     /* power of two */
    size_t n;
} tok_strmap;

/* (left id, right id) -> (rank, merged id), open addressing. */
typedef struct {
    uint64_t *key;  /* [cap] (left << 32 | right) + 1, 0 = empty */
    uint32_t *rank; /* [cap] */
    uint32_t *id;   /* [cap] */
    size_t cap;
    size_t n;
} tok_pairmap;

typedef enum { NORM_REPLACE, NORM_PREPEND } tok_norm_kind;
typedef struct {
    tok_norm_kind kind;
    tok_str pattern; /* REPLACE: literal to find (non-empty) */
    tok_str content; /* REPLACE: replacement; PREPEND: prefix */
} tok_norm_op;

typedef enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT, SPLIT_CONTIGUOUS } tok_split_behavior;
typedef struct {
    tok_str pattern; /* literal, non-empty */
    tok_split_behavior behavior;
} tok_split;

typedef enum { DEC_REPLACE, DEC_BYTE_FALLBACK, DEC_FUSE, DEC_STRIP } tok_dec_kind;
typedef struct {
    tok_dec_kind kind;
    tok_str pattern, content; /* REPLACE */
    uint32_t strip_cp;        /* STRIP: the character stripped */
    int strip_start, strip_stop;
} tok_dec_op;

typedef struct {
    tok_str content;
    int32_t id;
    uint8_t special, single_word, lstrip, rstrip, normalized;
    tok_str match; /* what is searched for: content, or its normalized form */
} tok_added;

/* Added tokens matched against one kind of text (raw or normalized):
 * candidates grouped by first byte, longest first. */
typedef struct {
    int32_t *order;    /* [n] indices into tok->added */
    int32_t first[257]; /* order[first[b] .. first[b+1]) start with byte b */
    int n;
} tok_matcher;

typedef enum { MODEL_BPE } tok_model_kind;

typedef struct {
    tok_pairmap merges;
    int32_t unk_id;         /* -1 if no unk_token */
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_id[256];   /* id of "<0xXX>", -1 if absent */
    int32_t *bmp_id;        /* [0x10000] id of each one-character BMP piece, -1 if none */
} tok_bpe;

struct saex_tokenizer {
    char *path;           /* the tokenizer.json read */
    void *arena;          /* every string below points into these blocks */
    int32_t n_ids;        /* ids are 0 .. n_ids-1 */
    tok_str *piece;       /* [n_ids] what the id decodes to: added content, else the vocab string; s == NULL for a hole */
    tok_str *vpiece;      /* [n_ids] the model vocabulary string; s == NULL if the model has no such id */
    uint8_t *special;     /* [n_ids] 1 for special added tokens */
    tok_strmap vocab;     /* model vocabulary: vpiece -> id */

    tok_norm_op *norm;    /* [n_norm] */
    int n_norm;
    tok_split *split;     /* [n_split], applied in order; NULL = no pre-tokenizer */
    int n_split;

    tok_model_kind kind;
    tok_bpe bpe;

    tok_added *added;     /* [n_added] */
    int n_added;
    tok_matcher raw_match, norm_match;

    int32_t *prefix, *suffix; /* ids the single template puts around the sequence */
    int n_prefix, n_suffix;

    tok_dec_op *dec;      /* [n_dec]; n_dec == -1: no decoder (tokens joined by spaces) */
    int n_dec;
};

/* Stable-address string storage owned by the tokenizer. NULL on failure. */
char *tok_arena_copy(saex_tokenizer *tok, const char *s, size_t n);
void tok_arena_free(saex_tokenizer *tok);

/* Hashing shared by loader and encoder. */
uint64_t tok_hash(const char *s, size_t n);
int32_t tok_strmap_get(const tok_strmap *m, const tok_str *keys, const char *s, size_t n);
/* Returns 0, or -1 on allocation failure. *dup receives the id already there, or -1. */
int tok_strmap_put(tok_strmap *m, const tok_str *keys, int32_t id, int32_t *dup);
int tok_pairmap_put(tok_pairmap *m, uint32_t a, uint32_t b, uint32_t rank, uint32_t id);
int tok_pairmap_get(const tok_pairmap *m, uint32_t a, uint32_t b, uint32_t *rank, uint32_t *id);

/* Applies the normalizer to s; *out is malloc'd. */
saex_status tok_normalize(const saex_tokenizer *tok, const char *s, size_t n, char **out, size_t *out_n);

/* Decodes one UTF-8 character at s[0..n) (assumed valid); returns its length. */
int tok_utf8_next(const char *s, size_t n, uint32_t *cp);
/* Offset of the first invalid byte, or n if s is valid UTF-8. */
size_t tok_utf8_check(const char *s, size_t n);

/* White_Space and the regex \w class, as Rust's `regex` crate defines them. */
int tok_is_space(uint32_t cp);
int tok_is_word(uint32_t cp);

#endif
