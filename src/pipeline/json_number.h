/* json_number.h — reals as JSON text, the exact bytes the output has always had.
 *
 * jn_f32: an activation. The fewest significant digits p (1..9) whose
 * correctly rounded p-digit decimal reads back (strtof) as the same float32,
 * laid out as printf's %.15g lays out that decimal, ".0" added when it would
 * read as an integer: 2.56, 100.0, 1e-05, 1e+15, -0.0; "null" if not finite.
 * Computed exactly with 128-bit integers; magnitudes outside about
 * [1e-35, 1e38] take the printf/strtof route, which gives the same bytes.
 *
 * jn_f64: a real of the input: the first of %.15g, %.16g, %.17g that reads
 * back (strtod) as the same double, ".0" added likewise (printf route). */
#ifndef SAEX_PIPELINE_JSON_NUMBER_H
#define SAEX_PIPELINE_JSON_NUMBER_H

#define JN_MAX 48 /* bytes either function may write, no NUL counted */

int jn_f32(char *out, float x);
int jn_f64(char *out, double x);
int jn_f32_slow(char *out, float x); /* the printf/strtof route, for tests */

#endif
