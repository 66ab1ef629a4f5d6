/* error.h — the library's per-thread error message.
 * Every failing path calls saex_fail() once, at the place that knows which
 * file / field / tensor is wrong, and returns the status up unchanged. */
#ifndef SAEX_ERROR_H
#define SAEX_ERROR_H
#include "saex.h"

#if defined(__GNUC__)
#define SAEX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SAEX_PRINTF(a, b)
#endif

/* Sets the message and returns s, so that `return saex_fail(...)` reads well. */
saex_status saex_fail(saex_status s, const char *fmt, ...) SAEX_PRINTF(2, 3);
/* Prefixes the current message ("while loading X: <old message>"). */
saex_status saex_fail_prefix(saex_status s, const char *fmt, ...) SAEX_PRINTF(2, 3);
void saex_clear_error(void);

#endif
