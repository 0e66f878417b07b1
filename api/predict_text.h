/* predict_text.h -- a model's inputs read from CSV or whitespace-separated text, and its
 * predictions written as CSV (api/predict_text.c). */
#ifndef OIGD_PREDICT_TEXT_H
#define OIGD_PREDICT_TEXT_H

#include <stdio.h>
#include "oig.h"

/* The first record of a data text: its fields (names when it is a header), whether it is a
 * header, and the format. */
typedef struct {
    char **names;
    int k;
    int header;
    int csv;
} text_record;

/* Read the first non-blank record of b (fmt and header as oig_parse_opts has them; header -1:
 * yes for CSV, detected for ws). 0, or -1 when it is empty or malformed (the engine's parser then
 * says exactly where). */
int text_record_read(const char *b, size_t len, oig_format fmt, int header, text_record *fr);
void text_record_free(text_record *fr);
/* The header field named name: its index, -1 when there is none, -2 when there are several. */
int text_record_column(const text_record *fr, const char *name);

/* The columns holding the model's N inputs, in model order, into cols: the given indices (nicols
 * > 0), else the header's names when the model has input names, else the first N (the text then
 * holds N columns, or N + the targets). nicols < 0 says there is no way to give indices (no
 * --input-columns hint in messages). 0, or -1 with msg, prefixed by source where it names the
 * data. */
int text_input_columns(const oig_model *m, const text_record *fr, const int *icols, int nicols,
                       const char *source, int *cols, char *msg, size_t cap);

/* The rows of those columns into *x (nrows x N, malloc'd), parsed by the engine with base's
 * options. An error of the engine's parser comes back with its line and column in err. */
oig_status text_read_inputs(const oig_model *m, const char *buf, size_t len, const oig_parse_opts *base,
                            const text_record *fr, const int *cols, double **x, size_t *nrows, oig_error *err);

/* A header (the target names, or the class labels then "class"), then one row per prediction,
 * each number printed so that it reads back exactly. */
void text_write_predictions(FILE *f, const oig_model *m, const double *y, const int *cls, size_t nrows);
#endif
