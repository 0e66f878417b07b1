/* textfmt.h -- numbers, CSV fields and datasets as text that reads back exactly. Shared by the
 * model document, the store's and the event stream's JSON numbers, the CLI's CSV output, and the
 * dataset exports of the MPI launcher and of GET /v1/datasets/{id}/data. */
#ifndef OIGD_TEXTFMT_H
#define OIGD_TEXTFMT_H

#include <stddef.h>
#include <stdio.h>

#include "oig.h"

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

/* A dataset as CSV that the upload reads back to the same rows and classes, bit for bit: a
 * header of the inputs, then the targets (regression: the M target columns; classification: one
 * class column of labels; a missing name becomes x1.., y1.. or class), and rows [p0, p1) with
 * doubles printed by fmt_double_exact and labels verbatim. */
void fmt_dataset_csv_header(FILE *f, const oig_data *d);
void fmt_dataset_csv_rows(FILE *f, const oig_data *d, size_t p0, size_t p1);

#endif
