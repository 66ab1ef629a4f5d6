/* encode.h — a variation's text -> the token sequence the model sees.
 *
 *   separate (default)  tokens(prompt, with BOS) ++ tokens(response, no BOS);
 *                       answer_start_position = #prompt tokens
 *   joint               tokens(prompt + response, with BOS) as one string; the
 *                       answer starts at the first token whose byte span ends
 *                       past the prompt's last byte (a token straddling the
 *                       boundary belongs to the response)
 *   given               "prompt_token_ids" / "response_token_ids" in the
 *                       variation are used as they are (each independently)
 * The gemma chat template wraps the prompt text as
 * "<start_of_turn>user\n{prompt}<end_of_turn>\n<start_of_turn>model\n" unless it
 * already starts with "<bos>" or "<start_of_turn>"; a text that starts with
 * "<bos>" gets no second BOS. */
#ifndef SAEX_CLI_ENCODE_H
#define SAEX_CLI_ENCODE_H
#include "saex.h"
#include "samples.h"

typedef enum { CHAT_NONE = 0, CHAT_GEMMA = 1 } chat_template;

typedef struct {
    chat_template chat;
    int joint;
} encode_opts;

/* Fills s->ids / n_ids / prompt_len / tok_mode, or calls sample_fail().
 * Returns -1 only on a tokenizer failure that is not the sample's fault. */
int encode_sample(sample *s, const saex_tokenizer *tok, const encode_opts *o);

/* The prompt text after the chat template (caller frees); exposed for tests. */
char *apply_chat_template(const char *prompt, size_t len, chat_template chat, size_t *out_len);

/* Bytes of text a token stands for (SentencePiece-style vocabularies):
 * "<0xHH>" -> 1, "▁" -> 1 byte (a space), anything else its own bytes. */
size_t piece_text_bytes(const char *piece);

#endif
