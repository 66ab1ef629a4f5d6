/* json_write.h — our own JSON serializer for the output files.
 *
 * jansson's json_dump* prints every real with one fixed precision, which
 * either truncates the user's doubles (precision 9) or turns float32
 * activations into 17-digit noise (precision 17). Here every real is the
 * shortest decimal that reads back to the same double, so any input number
 * survives untouched, and activations are stored (json_float32) as the
 * double of their shortest float32 decimal, so 2.56f prints as 2.56.
 *
 * The layout is jansson's: JSON_INDENT(n) for indent > 0, JSON_COMPACT for 0.
 * Objects in insertion order, strings as UTF-8 with only '"', '\\' and
 * control characters (NUL included) escaped. */
#ifndef SAEX_CLI_JSON_WRITE_H
#define SAEX_CLI_JSON_WRITE_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Streams v to f. Returns 0, or -1 once a write failed (ferror(f) is set;
 * the caller still has to fflush and check). */
int json_write(FILE *f, const json_t *v, int indent);

/* The shortest "%.15g" / "%.16g" / "%.17g" form of a finite d that strtod
 * reads back to d, with ".0" added when it has neither '.' nor an exponent
 * (so that a real stays a real). buf: at least 32 bytes. Returns its length. */
int json_format_real(double d, char *buf, size_t size);

/* An activation as a JSON real: the double nearest to the shortest decimal
 * (at most 9 digits) that strtof reads back to x. json_null() for NaN / inf,
 * which JSON cannot hold. */
json_t *json_float32(float x);

#endif
