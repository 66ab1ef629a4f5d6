/* npz.c — loads NumPy .npz archives: a zip (stored or deflated members,
 * zip64 or not) of NAME.npy files, each read into a float32 array.
 *
 * The zip is read through its central directory (found via the end of
 * central directory record at the tail), never by scanning local headers.
 * The file may be hostile: every offset and size is checked against the
 * file before it is used, allocation is sized by the npy header only after
 * it agrees with the zip's own sizes, and the CRC-32 is verified. A member
 * is inflated straight into its final float buffer (one pass, no copy). */
#include "npz.h"
#include "error.h"
#include "npz_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define EOCD_SIZE 22
#define CENTRAL_SIZE 46
#define LOCAL_SIZE 30
#define NPY_MAX_HEADER (1u << 20)
/* Deflate cannot expand by more than ~1032:1; a member claiming more is a lie
 * (and would make us allocate for nothing). */
#define DEFLATE_MAX_RATIO 1032u

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* ------------------------------------------------------------ zip layout */

typedef struct {
    uint64_t n_entries, cd_off, cd_size;
} zip_dir;

static saex_status find_central_dir(const uint8_t *b, size_t len, const char *label, zip_dir *d) {
    if (len < EOCD_SIZE) return saex_fail(SAEX_ERR_FORMAT, "%s: %zu bytes, too short to be a zip/npz", label, len);
    /* The EOCD is the last 22 bytes plus a comment of up to 65535 bytes. */
    size_t lo = len - EOCD_SIZE > 65535 ? len - EOCD_SIZE - 65535 : 0, e = 0;
    int found = 0;
    for (size_t i = len - EOCD_SIZE + 1; i-- > lo;)
        if (rd32(b + i) == SIG_EOCD && i + EOCD_SIZE + rd16(b + i + 20) <= len) {
            e = i;
            found = 1;
            break;
        }
    if (!found) return saex_fail(SAEX_ERR_FORMAT, "%s: no end of central directory record: not a zip/npz file", label);
    uint32_t disk = rd16(b + e + 4), cd_disk = rd16(b + e + 6);
    d->n_entries = rd16(b + e + 10);
    d->cd_size = rd32(b + e + 12);
    d->cd_off = rd32(b + e + 16);
    if (e >= 20 && rd32(b + e - 20) == SIG_LOC64) {
        uint64_t z = rd64(b + e - 20 + 8);
        if (z > len || len - z < 56 || rd32(b + z) != SIG_EOCD64)
            return saex_fail(SAEX_ERR_FORMAT, "%s: zip64 end of central directory record missing or outside the file", label);
        disk = rd32(b + z + 16);
        cd_disk = rd32(b + z + 20);
        d->n_entries = rd64(b + z + 32);
        d->cd_size = rd64(b + z + 40);
        d->cd_off = rd64(b + z + 48);
    } else if (d->n_entries == 0xffff || d->cd_size == 0xffffffffu || d->cd_off == 0xffffffffu) {
        return saex_fail(SAEX_ERR_FORMAT, "%s: end of central directory needs a zip64 record but there is none", label);
    }
    if (disk != 0 || cd_disk != 0) return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: multi-disk zip archives are not supported", label);
    if (d->cd_off > len || d->cd_size > len - d->cd_off)
        return saex_fail(SAEX_ERR_FORMAT, "%s: central directory [%llu, +%llu) runs past the end of the file (%zu bytes)", label,
                         (unsigned long long)d->cd_off, (unsigned long long)d->cd_size, len);
    if (d->n_entries > d->cd_size / CENTRAL_SIZE)
        return saex_fail(SAEX_ERR_FORMAT, "%s: central directory of %llu bytes cannot hold %llu entries (truncated)", label,
                         (unsigned long long)d->cd_size, (unsigned long long)d->n_entries);
    return SAEX_OK;
}

typedef struct {
    char *name; /* as stored, e.g. "W_enc.npy" */
    unsigned method, flags;
    uint32_t crc;
    uint64_t csize, usize, local_off;
    const uint8_t *data; /* csize compressed bytes, inside the file */
} zip_entry;

/* Replaces 0xFFFFFFFF sizes / offset by the zip64 extra field's values. */
static saex_status apply_zip64_extra(const uint8_t *x, size_t xlen, zip_entry *z, const char *label) {
    for (size_t q = 0; q + 4 <= xlen;) {
        unsigned id = rd16(x + q), sz = rd16(x + q + 2);
        if (sz > xlen - q - 4) break; /* a malformed extra block: ignore the rest, as zip tools do */
        if (id == 1) {
            const uint8_t *f = x + q + 4, *fend = f + sz;
            uint64_t *fields[3] = {&z->usize, &z->csize, &z->local_off};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffffu) continue;
                if (fend - f < 8)
                    return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': zip64 extra field too short", label, z->name);
                *fields[i] = rd64(f);
                f += 8;
            }
            return SAEX_OK;
        }
        q += 4 + sz;
    }
    if (z->usize == 0xffffffffu || z->csize == 0xffffffffu || z->local_off == 0xffffffffu)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': sizes need a zip64 extra field but there is none", label, z->name);
    return SAEX_OK;
}

/* Reads central directory entry at *pos (advancing it) and locates its data. */
static saex_status read_entry(const uint8_t *b, size_t len, const char *label, uint64_t *pos, uint64_t end, uint64_t k,
                              zip_entry *z) {
    uint64_t p = *pos;
    if (end - p < CENTRAL_SIZE || rd32(b + p) != SIG_CENTRAL)
        return saex_fail(SAEX_ERR_FORMAT, "%s: central directory entry %llu is truncated or has a bad signature", label,
                         (unsigned long long)k);
    unsigned nl = rd16(b + p + 28), xl = rd16(b + p + 30), cl = rd16(b + p + 32);
    if (end - p - CENTRAL_SIZE < (uint64_t)nl + xl + cl)
        return saex_fail(SAEX_ERR_FORMAT, "%s: central directory entry %llu runs past the directory (truncated)", label,
                         (unsigned long long)k);
    if (memchr(b + p + CENTRAL_SIZE, 0, nl))
        return saex_fail(SAEX_ERR_FORMAT, "%s: central directory entry %llu: member name holds a NUL byte", label,
                         (unsigned long long)k);
    z->name = strndup((const char *)b + p + CENTRAL_SIZE, nl);
    if (!z->name) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
    z->flags = rd16(b + p + 8);
    z->method = rd16(b + p + 10);
    z->crc = rd32(b + p + 16);
    z->csize = rd32(b + p + 20);
    z->usize = rd32(b + p + 24);
    z->local_off = rd32(b + p + 42);
    *pos = p + CENTRAL_SIZE + nl + xl + cl;
    saex_status st = apply_zip64_extra(b + p + CENTRAL_SIZE + nl, xl, z, label);
    if (st) return st;

    uint64_t lo = z->local_off;
    if (lo > len || len - lo < LOCAL_SIZE)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': local header offset %llu is outside the file (%zu bytes)", label,
                         z->name, (unsigned long long)lo, len);
    if (rd32(b + lo) != SIG_LOCAL)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': bad local header signature at offset %llu", label, z->name,
                         (unsigned long long)lo);
    uint64_t data = lo + LOCAL_SIZE + rd16(b + lo + 26) + rd16(b + lo + 28);
    if (data > len || z->csize > len - data)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': %llu bytes of data at offset %llu run past the end of the file (%zu bytes)",
                         label, z->name, (unsigned long long)z->csize, (unsigned long long)data, len);
    z->data = b + data;
    return SAEX_OK;
}

/* --------------------------------------------------- member byte stream */

/* Yields a member's uncompressed bytes in order, stored or inflated, and
 * keeps their CRC-32. */
typedef struct {
    const zip_entry *z;
    const char *label;
    uint64_t pos; /* bytes of z->data consumed */
    int inflating, ended;
    int drop; /* z->data is our read-only file mapping: pages read may be dropped */
    z_stream zs;
    uLong crc;
} member_stream;

static saex_status ms_open(member_stream *m, const zip_entry *z, const char *label, int drop) {
    memset(m, 0, sizeof *m);
    m->z = z;
    m->drop = drop;
    m->label = label;
    m->crc = crc32(0, Z_NULL, 0);
    if (z->method == 8) {
        if (inflateInit2(&m->zs, -15) != Z_OK) return saex_fail(SAEX_ERR_NOMEM, "%s: member '%s': inflateInit failed", label, z->name);
        m->inflating = 1;
    }
    return SAEX_OK;
}

static void ms_close(member_stream *m) {
    if (m->inflating) inflateEnd(&m->zs);
    m->inflating = 0;
}

/* Tells the kernel the whole pages inside [p, p + n) of a read-only file
 * mapping may go; they would be re-read from the file if touched again. */
static void drop_pages(const uint8_t *p, size_t n) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, b = a + n;
    uintptr_t lo = (a + page - 1) / page * page, hi = b / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* One inflate step into zs.next_out; feeds input in <4 GiB pieces. */
static saex_status ms_inflate_step(member_stream *m) {
    const char *label = m->label, *name = m->z->name;
    if (m->zs.avail_in == 0 && m->pos < m->z->csize) {
        uint64_t left = m->z->csize - m->pos;
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        m->zs.next_in = (Bytef *)(m->z->data + m->pos);
        m->zs.avail_in = chunk;
        m->pos += chunk;
    }
    int ret = inflate(&m->zs, Z_NO_FLUSH);
    switch (ret) {
    case Z_OK: return SAEX_OK;
    case Z_STREAM_END: m->ended = 1; return SAEX_OK;
    case Z_MEM_ERROR: return saex_fail(SAEX_ERR_NOMEM, "%s: member '%s': out of memory while inflating", label, name);
    case Z_BUF_ERROR:
        if (m->zs.avail_in == 0 && m->pos >= m->z->csize)
            return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': compressed data is truncated", label, name);
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': inflate made no progress", label, name);
    default:
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': corrupt deflate stream (%s)", label, name,
                         m->zs.msg ? m->zs.msg : "error");
    }
}

static saex_status ms_read(member_stream *m, void *dst, size_t n) {
    uint8_t *out = dst;
    if (!m->inflating) {
        if (n > m->z->csize - m->pos)
            return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' is truncated", m->label, m->z->name);
        /* In pieces, dropping the file pages already copied, so a big stored
         * member does not sit in memory twice (mapping + array). */
        enum { PIECE = 16 << 20 };
        for (size_t done = 0; done < n;) {
            size_t c = n - done > PIECE ? PIECE : n - done;
            memcpy(out + done, m->z->data + m->pos, c);
            if (m->drop) drop_pages(m->z->data + m->pos, c);
            m->pos += c;
            done += c;
        }
    } else {
        for (size_t done = 0; done < n;) {
            size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
            m->zs.next_out = out + done;
            m->zs.avail_out = (uInt)chunk;
            while (m->zs.avail_out > 0) {
                if (m->ended)
                    return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': deflate stream ends early (truncated member)", m->label,
                                     m->z->name);
                saex_status st = ms_inflate_step(m);
                if (st) return st;
            }
            done += chunk;
        }
    }
    /* crc32 takes a uInt length: feed it in pieces. */
    for (size_t off = 0; off < n;) {
        size_t c = n - off > (1u << 30) ? (1u << 30) : n - off;
        m->crc = crc32(m->crc, out + off, (uInt)c);
        off += c;
    }
    return SAEX_OK;
}

/* The member must end exactly here and its CRC-32 must match. */
static saex_status ms_finish(member_stream *m) {
    if (m->inflating) {
        uint8_t extra;
        while (!m->ended) {
            m->zs.next_out = &extra;
            m->zs.avail_out = 1;
            saex_status st = ms_inflate_step(m);
            if (st) return st;
            if (m->zs.avail_out == 0)
                return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' holds more data than its npy header describes", m->label,
                                 m->z->name);
        }
    }
    if ((uint32_t)m->crc != m->z->crc)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': CRC-32 mismatch (stored %08x, data %08x): corrupt file", m->label,
                         m->z->name, m->z->crc, (uint32_t)m->crc);
    return SAEX_OK;
}

/* ------------------------------------------------------ npy header dict */

typedef struct {
    const char *p, *end;
} lexer;

static void skip_ws(lexer *L) {
    while (L->p < L->end && (*L->p == ' ' || *L->p == '\t' || *L->p == '\n' || *L->p == '\r')) L->p++;
}

static int eat(lexer *L, char c) {
    skip_ws(L);
    if (L->p < L->end && *L->p == c) {
        L->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, into out[cap]. */
static int lex_string(lexer *L, char *out, size_t cap) {
    skip_ws(L);
    if (L->p >= L->end || (*L->p != '\'' && *L->p != '"')) return 0;
    char q = *L->p++;
    size_t n = 0;
    while (L->p < L->end && *L->p != q) {
        if (*L->p == '\\' || n + 1 >= cap) return 0;
        out[n++] = *L->p++;
    }
    if (L->p >= L->end) return 0;
    L->p++;
    out[n] = 0;
    return 1;
}

static int lex_word(lexer *L, const char *w) {
    skip_ws(L);
    size_t n = strlen(w);
    if ((size_t)(L->end - L->p) < n || memcmp(L->p, w, n) != 0) return 0;
    L->p += n;
    return 1;
}

/* (d0, d1, ...) with an optional trailing comma; "16L" from Python 2 too. */
static int lex_shape(lexer *L, int *ndim, int64_t *shape) {
    if (!eat(L, '(')) return 0;
    *ndim = 0;
    for (;;) {
        if (eat(L, ')')) return 1;
        skip_ws(L);
        if (L->p >= L->end || *L->p < '0' || *L->p > '9' || *ndim >= NPZ_MAX_DIMS) return 0;
        int64_t v = 0;
        while (L->p < L->end && *L->p >= '0' && *L->p <= '9') {
            if (v > ((int64_t)1 << 50)) return 0;
            v = v * 10 + (*L->p++ - '0');
        }
        if (L->p < L->end && *L->p == 'L') L->p++;
        shape[(*ndim)++] = v;
        if (eat(L, ')')) return 1;
        if (!eat(L, ',')) return 0;
    }
}

typedef struct {
    int f64; /* '<f8' (narrowed) rather than '<f4' */
    int ndim;
    int64_t shape[NPZ_MAX_DIMS];
    int64_t numel;
} npy_info;

static saex_status parse_npy_header(const char *h, size_t n, const char *label, const char *member, npy_info *info) {
    lexer L = {h, h + n};
    char key[32], descr[64] = "";
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    if (!eat(&L, '{')) return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': npy header is not a dict", label, member);
    while (!eat(&L, '}')) {
        if (!lex_string(&L, key, sizeof key) || !eat(&L, ':'))
            return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': malformed npy header dict", label, member);
        int ok;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            skip_ws(&L);
            if (L.p < L.end && *L.p == '[')
                return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': structured dtype is not supported (need <f4 or <f8)",
                                 label, member);
            ok = have_descr = lex_string(&L, descr, sizeof descr);
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            ok = have_fortran = 1;
            if (lex_word(&L, "True"))
                fortran = 1;
            else if (!lex_word(&L, "False"))
                ok = 0;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            ok = have_shape = lex_shape(&L, &info->ndim, info->shape);
        } else {
            return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': unexpected or repeated npy header key '%s'", label, member, key);
        }
        if (!ok) return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': malformed value of npy header key '%s'", label, member, key);
        if (!eat(&L, ',')) {
            if (!eat(&L, '}')) return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': malformed npy header dict", label, member);
            break;
        }
    }
    skip_ws(&L);
    if (L.p != L.end) return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': junk after the npy header dict", label, member);
    if (!have_descr || !have_fortran || !have_shape)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': npy header lacks descr, fortran_order or shape", label, member);
    if (fortran)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': fortran_order arrays are not supported (save C-order)", label,
                         member);
    if (strcmp(descr, "<f4") == 0)
        info->f64 = 0;
    else if (strcmp(descr, "<f8") == 0)
        info->f64 = 1;
    else if (descr[0] == '>')
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': big-endian dtype '%s' is not supported", label, member, descr);
    else
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': dtype '%s' is not supported (need <f4 or <f8)", label, member,
                         descr);
    /* Each dim is < 2^51; cap the product so byte counts stay far from overflow. */
    int64_t numel = 1;
    for (int i = 0; i < info->ndim; i++) {
        if (info->shape[i] && numel > ((int64_t)1 << 58) / info->shape[i])
            return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': shape has too many elements", label, member);
        numel *= info->shape[i];
    }
    info->numel = numel;
    return SAEX_OK;
}

/* ------------------------------------------------------------- one member */

static saex_status load_f64(member_stream *m, float *out, int64_t numel) {
    enum { CHUNK = 1 << 16 };
    double *tmp = malloc(CHUNK * sizeof *tmp); // [CHUNK]
    if (!tmp) return saex_fail(SAEX_ERR_NOMEM, "%s: member '%s': out of memory", m->label, m->z->name);
    saex_status st = SAEX_OK;
    for (int64_t i = 0; i < numel && !st; i += CHUNK) {
        int64_t c = numel - i < CHUNK ? numel - i : CHUNK;
        st = ms_read(m, tmp, (size_t)c * 8);
        for (int64_t j = 0; j < c && !st; j++) out[i + j] = (float)tmp[j];
    }
    free(tmp);
    return st;
}

static saex_status load_member(const zip_entry *z, const char *label, int drop, npz_array *a) {
    const char *name = z->name;
    if (z->flags & 1) return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s' is encrypted", label, name);
    if (z->method != 0 && z->method != 8)
        return saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': compression method %u is not supported (only stored and deflate)",
                         label, name, z->method);
    if (z->method == 0 && z->csize != z->usize)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': stored member with compressed size %llu != size %llu", label, name,
                         (unsigned long long)z->csize, (unsigned long long)z->usize);
    if (z->method == 8 && z->usize / DEFLATE_MAX_RATIO > z->csize + 1)
        return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' claims %llu bytes from %llu compressed bytes: corrupt", label, name,
                         (unsigned long long)z->usize, (unsigned long long)z->csize);
    if (z->usize < 10) return saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' is too short for a .npy header", label, name);

    member_stream m;
    saex_status st = ms_open(&m, z, label, drop);
    if (st) return st;
    uint8_t pre[12];
    char *hdr = NULL;
    float *data = NULL;
    if ((st = ms_read(&m, pre, 10))) goto done;
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' is not a .npy array (bad magic)", label, name);
        goto done;
    }
    uint64_t prefix = 10, hlen = rd16(pre + 8);
    if (pre[6] == 2 || pre[6] == 3) {
        if ((st = ms_read(&m, pre + 10, 2))) goto done;
        prefix = 12;
        hlen = rd32(pre + 8);
    } else if (pre[6] != 1) {
        st = saex_fail(SAEX_ERR_UNSUPPORTED, "%s: member '%s': .npy format version %u.%u is not supported", label, name, pre[6],
                       pre[7]);
        goto done;
    }
    if (z->usize < prefix || hlen > NPY_MAX_HEADER || hlen > z->usize - prefix) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': npy header length %llu is larger than the member", label, name,
                       (unsigned long long)hlen);
        goto done;
    }
    if (!(hdr = malloc(hlen + 1))) {
        st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
        goto done;
    }
    if ((st = ms_read(&m, hdr, hlen))) goto done;
    npy_info info = {0};
    if ((st = parse_npy_header(hdr, hlen, label, name, &info))) goto done;
    uint64_t esize = info.f64 ? 8 : 4;
    if ((uint64_t)info.numel * esize != z->usize - prefix - hlen) {
        st = saex_fail(SAEX_ERR_FORMAT, "%s: member '%s': npy shape needs %llu bytes of data but the member has %llu",
                       label, name, (unsigned long long)((uint64_t)info.numel * esize),
                       (unsigned long long)(z->usize - prefix - hlen));
        goto done;
    }
    data = malloc((size_t)(info.numel ? info.numel : 1) * sizeof *data); // [numel]
    if (!data) {
        st = saex_fail(SAEX_ERR_NOMEM, "%s: member '%s': out of memory for %lld floats", label, name, (long long)info.numel);
        goto done;
    }
    st = info.f64 ? load_f64(&m, data, info.numel) : ms_read(&m, data, (size_t)info.numel * 4);
    if (!st) st = ms_finish(&m);
    if (st) goto done;
    a->ndim = info.ndim;
    memcpy(a->shape, info.shape, sizeof a->shape);
    a->numel = info.numel;
    a->data = data;
    data = NULL;
done:
    ms_close(&m);
    free(hdr);
    free(data);
    return st;
}

/* ------------------------------------------------------------------ public */

void npz_free(npz_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->arrays[i].name);
        free(f->arrays[i].data);
    }
    free(f->arrays);
    f->arrays = NULL;
    f->n = 0;
}

const npz_array *npz_find(const npz_file *f, const char *name) {
    if (!f || !name) return NULL;
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->arrays[i].name, name) == 0) return &f->arrays[i];
    return NULL;
}

static int is_npy_name(const char *s) {
    size_t n = strlen(s);
    return n > 4 && strcmp(s + n - 4, ".npy") == 0;
}

/* drop: buf is a read-only file mapping whose pages may be dropped once read. */
static saex_status load_buf(const void *buf, size_t len, const char *label, int drop, npz_file *out) {
    const uint8_t *b = buf;
    out->arrays = NULL;
    out->n = 0;
    zip_dir d = {0};
    saex_status st = find_central_dir(b, len, label, &d);
    if (st) return st;
    /* n_entries <= cd_size / 46 <= len / 46, so this is bounded by the file. */
    npz_file f = {calloc(d.n_entries ? d.n_entries : 1, sizeof(npz_array)), 0};
    if (!f.arrays) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
    uint64_t pos = d.cd_off, end = d.cd_off + d.cd_size;
    for (uint64_t k = 0; k < d.n_entries && !st; k++) {
        zip_entry z = {0};
        st = read_entry(b, len, label, &pos, end, k, &z);
        if (!st && is_npy_name(z.name)) { /* other members (directories, notes) are not arrays */
            char *base = strndup(z.name, strlen(z.name) - 4);
            if (!base) st = saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", label);
            if (!st && npz_find(&f, base)) st = saex_fail(SAEX_ERR_FORMAT, "%s: member '%s' appears twice", label, z.name);
            if (!st) st = load_member(&z, label, drop, &f.arrays[f.n]);
            if (!st)
                f.arrays[f.n++].name = base;
            else
                free(base);
        }
        free(z.name);
    }
    if (st) {
        npz_free(&f);
        return st;
    }
    *out = f;
    return SAEX_OK;
}

saex_status npz_load_mem(const void *buf, size_t len, const char *label, npz_file *out) {
    return load_buf(buf, len, label, 0, out);
}

saex_status npz_load(const char *path, npz_file *out) {
    out->arrays = NULL;
    out->n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return saex_fail(SAEX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return saex_fail(SAEX_ERR_IO, "%s: not a readable regular file", path);
    }
    if (sb.st_size < EOCD_SIZE) {
        close(fd);
        return saex_fail(SAEX_ERR_FORMAT, "%s: %lld bytes, too short to be a zip/npz", path, (long long)sb.st_size);
    }
    size_t len = (size_t)sb.st_size;
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) return saex_fail(SAEX_ERR_IO, "%s: cannot mmap: %s", path, strerror(e));
    saex_status st = load_buf(m, len, path, 1, out);
    munmap(m, len);
    return st;
}
