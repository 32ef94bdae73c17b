/* funneldoc.h - funnel definition documents (JSON or YAML) <-> core funnel_def.
 *
 * The document is the seed's funnel-definitions.yaml shape, extended:
 * stages[] (name required; key, probability, forecast_category and terminal
 * are filled from the built-in funnel when the stage matches one of its
 * stages by key or name) and benchmarks[]. The stored form is the
 * normalised document: every stage has key, name, probability,
 * forecast_category, terminal and sla_hours.
 */
#ifndef REVOPS_FUNNELDOC_H
#define REVOPS_FUNNELDOC_H

#include <jansson.h>

#include "errors.h"
#include "funnel.h"

/* Decode and validate the stages/benchmarks of body (other fields are the
 * caller's). On success returns the normalised {stages, benchmarks} document
 * (new reference) and fills def; on failure returns NULL with field errors. */
json_t *funneldoc_decode(const json_t *body, funnel_def *def, app_err *err);
/* The core definition of a stored (normalised) document; 0 or -1. */
int funneldoc_to_def(const json_t *doc, funnel_def *def);
/* The built-in seed funnel as a normalised document, with the seed's texts. */
json_t *funneldoc_default(void);

#endif
