/* textfmt.h -- numbers and CSV fields as text that reads back exactly. Shared by the model
 * document, the store's and the event stream's JSON numbers, the CLI's CSV output and the MPI
 * launcher's dataset export. */
#ifndef OIGD_TEXTFMT_H
#define OIGD_TEXTFMT_H

#include <stddef.h>
#include <stdio.h>

/* The shortest of %.15g, %.16g, %.17g that strtod maps back to the same 64 bits as d (the sign
 * of zero included). cap >= 32. */
void fmt_double_exact(char *buf, size_t cap, double d);

/* d as a cJSON item printed by fmt_double_exact (cJSON's own printer accepts a 15-digit form
 * within one rounding error, which can change the last bit); valuedouble holds d. NaN and
 * infinities become null. NULL when out of memory. */
struct cJSON;
struct cJSON *json_number_exact(double d);

/* Write s as one CSV field (RFC 4180): quoted when it is empty, holds a comma, a quote or a line
 * break, or starts or ends with a blank; quotes inside are doubled. */
void fmt_csv_field(FILE *f, const char *s);

#endif
