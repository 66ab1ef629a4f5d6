/* error.c — per-thread error messages and status names. */
#include "error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char g_msg[8192];

const char *saex_last_error(void) { return g_msg[0] ? g_msg : "no error"; }

void saex_clear_error(void) { g_msg[0] = 0; }

saex_status saex_fail(saex_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return s;
}

saex_status saex_fail_prefix(saex_status s, const char *fmt, ...) {
    /* Built in a buffer large enough for both parts, then cut to size. */
    char old[sizeof g_msg], pre[1024], both[sizeof old + sizeof pre + 2];
    memcpy(old, g_msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(both, sizeof both, "%s: %s", pre, old);
    memcpy(g_msg, both, sizeof g_msg - 1);
    g_msg[sizeof g_msg - 1] = 0;
    return s;
}

const char *saex_status_name(saex_status s) {
    switch (s) {
    case SAEX_OK: return "ok";
    case SAEX_ERR_IO: return "io error";
    case SAEX_ERR_FORMAT: return "format error";
    case SAEX_ERR_UNSUPPORTED: return "unsupported";
    case SAEX_ERR_ARG: return "bad argument";
    case SAEX_ERR_NOMEM: return "out of memory";
    case SAEX_ERR_BACKEND: return "backend error";
    case SAEX_ERR_RANGE: return "out of range";
    case SAEX_ERR_MISMATCH: return "mismatch";
    case SAEX_ERR_INTERRUPTED: return "interrupted";
    case SAEX_ERR_NOT_FOUND: return "not found";
    case SAEX_ERR_NETWORK: return "network error";
    case SAEX_ERR_AUTH: return "not authorized";
    case SAEX_ERR_CONFLICT: return "conflict";
    }
    return "unknown status";
}

const char *saex_version(void) { return SAEX_VERSION; }

void saex_free(void *p) { free(p); }
