/* yconv.h - YAML <-> JSON (jansson) conversion with libyaml.
 *
 * YAML in: the first document becomes a json_t. Plain scalars are typed the
 * YAML 1.2 core-schema way (null/true/false, integers, floats); quoted
 * scalars stay strings. Anchors/aliases are refused (they allow "billion
 * laughs" expansion) and so is nesting deeper than YCONV_MAX_DEPTH.
 * YAML out: block style, keys in object order, strings quoted only when a
 * plain scalar would read back as something else.
 */
#ifndef REVOPS_YCONV_H
#define REVOPS_YCONV_H

#include <jansson.h>
#include <stddef.h>

#define YCONV_MAX_DEPTH 64

/* Returns a new reference, or NULL with a message in errbuf. */
json_t *yconv_parse(const char *text, size_t len, char *errbuf, size_t errlen);
/* Returns malloc'd YAML text (caller frees) or NULL; *len set. */
char *yconv_emit(const json_t *value, size_t *len);

#endif
