/* digest.c — sha256 through OpenSSL's EVP interface, crc32 through zlib. */
#include "digest.h"
#include "error.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

saex_status sha256_init(sha256_ctx *c) {
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m || EVP_DigestInit_ex(m, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(m);
        c->evp = NULL;
        return saex_fail(SAEX_ERR_NOMEM, "sha256: cannot create a digest context");
    }
    c->evp = m;
    return SAEX_OK;
}

void sha256_update(sha256_ctx *c, const void *data, size_t len) {
    if (len) EVP_DigestUpdate((EVP_MD_CTX *)c->evp, data, len);
}

void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_SIZE]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex((EVP_MD_CTX *)c->evp, md, &n);
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[64] = '\0';
    sha256_abort(c);
}

void sha256_abort(sha256_ctx *c) {
    EVP_MD_CTX_free((EVP_MD_CTX *)c->evp);
    c->evp = NULL;
}

saex_status sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_SIZE]) {
    sha256_ctx c;
    saex_status st = sha256_init(&c);
    if (st != SAEX_OK) return st;
    sha256_update(&c, data, len);
    sha256_final_hex(&c, hex);
    return SAEX_OK;
}

saex_status sha256_file_hex(const char *path, char hex[SHA256_HEX_SIZE]) {
    FILE *f = fopen(path, "rb");
    if (!f) return saex_fail(SAEX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sha256_ctx c;
    saex_status st = sha256_init(&c);
    if (st != SAEX_OK) {
        fclose(f);
        return st;
    }
    static _Thread_local unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&c, buf, n);
    if (ferror(f)) {
        int e = errno;
        sha256_abort(&c);
        fclose(f);
        return saex_fail(SAEX_ERR_IO, "%s: read error: %s", path, strerror(e));
    }
    fclose(f);
    sha256_final_hex(&c, hex);
    return SAEX_OK;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) { /* zlib takes a uInt length */
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return crc;
}
