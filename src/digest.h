/* digest.h — content hashes the library needs: sha256 (OpenSSL's libcrypto)
 * names input documents and checks Hub downloads against their LFS ETag;
 * crc32 (zlib) is the cheap per-chunk checksum of the run store. */
#ifndef SAEX_DIGEST_H
#define SAEX_DIGEST_H
#include <stddef.h>
#include <stdint.h>

#include "saex.h"

typedef struct {
    void *evp; /* EVP_MD_CTX */
} sha256_ctx;

/* 64 hex digits + NUL. */
#define SHA256_HEX_SIZE 65

saex_status sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/* Writes the hex digest and frees the context. */
void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_SIZE]);
/* Frees a context that will not be finished (error paths). */
void sha256_abort(sha256_ctx *c);

saex_status sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_SIZE]);
/* Streams a file; SAEX_ERR_IO naming it when it cannot be read. */
saex_status sha256_file_hex(const char *path, char hex[SHA256_HEX_SIZE]);

/* zlib's crc32, continued from crc (start with 0); any length. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
