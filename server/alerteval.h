/* alerteval.h - alert rules evaluated right after the writes that may make
 * them true (docs/alerts.md), besides the scheduler's periodic pass.
 *
 * A write marks its workspace (alerteval_touch, from the dispatcher and the
 * webhook appliers); one thread per instance evaluates the marked workspaces
 * that have rules, ALERTEVAL_SETTLE_MS after the first mark so a burst of
 * writes is one evaluation. Exactly once still holds: the evaluation locks
 * each rule and the alerts' unique key keeps an occurrence single, whichever
 * instance or path evaluates first.
 */
#ifndef REVOPS_ALERTEVAL_H
#define REVOPS_ALERTEVAL_H

#include "config.h"

#define ALERTEVAL_SETTLE_MS 200

/* Start the thread (cfg->alert_on_write 0: none, writes only wait for the
 * scheduler). 0 or -1. */
int alerteval_start(const config *cfg);
void alerteval_stop(void);
/* Mark a workspace's data as changed; cheap, never blocks on the database. */
void alerteval_touch(const char *workspace_id);

#endif
