/* model_doc.h -- the model JSON document: oig_model <-> text (docs/model-format.md).
 *
 * One codec for every face: `oigd train` writes it, `oigd predict` reads it, the daemon's store
 * keeps it. Reading validates everything (version, shapes against array lengths, finite numbers)
 * before a model is built; doubles round-trip bit for bit.
 */
#ifndef OIGD_MODEL_DOC_H
#define OIGD_MODEL_DOC_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "oig.h"

#define MODEL_DOC_FORMAT "oigd-model"
#define MODEL_DOC_VERSION 1

/* The document as a cJSON tree, for callers that embed it in a larger document. Doubles are
 * cJSON_Raw items holding their shortest exact decimal text (valuedouble is set as well), so that
 * printing the tree keeps every bit; NaN is a JSON null. NULL on allocation failure or when m is
 * incomplete. The caller owns the tree (cJSON_Delete). */
cJSON *model_doc_to_cjson(const oig_model *m);

/* The document as malloc'd, NUL-terminated, pretty-printed JSON text; *len (when not NULL)
 * receives its length without the NUL. NULL on allocation failure. */
char *model_doc_write(const oig_model *m, size_t *len);

/* Parse and validate a document of len bytes (text need not be NUL-terminated). On success *out
 * is a new model (oig_model_free). On error *out is NULL, nothing is allocated, and err holds the
 * reason: OIG_EPARSE with line and column for malformed JSON, OIG_EINVAL with err->field naming
 * the offending member (a dotted path such as "shape.inputs" or "weights.W") otherwise, or
 * OIG_ENOMEM. */
oig_status model_doc_read(const char *text, size_t len, oig_model **out, oig_error *err);

/* The same, from a parsed tree (members the reader does not know are ignored). */
oig_status model_doc_from_cjson(const cJSON *doc, oig_model **out, oig_error *err);

#endif
