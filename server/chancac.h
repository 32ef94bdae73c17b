/* chancac.h - new customers attributed to channels (issue 19): the one
 * computation behind the dashboard's efficiency.cac_by_channel and
 * GET /v1/metrics/unit-economics?by=channel (docs/metrics.md "CAC by channel"). */
#ifndef CHANCAC_H
#define CHANCAC_H

#include <stddef.h>
#include <stdint.h>

#include "attrib.h"
#include "caldate.h"
#include "db.h"
#include "errors.h"

typedef struct {
    char *channel;
    int64_t spend; /* cents; set by the caller (each reads its own spend rows) */
    int64_t parts; /* attributed new customers x ATTRIB_CUSTOMER_PARTS */
} chan_cac;

typedef struct {
    chan_cac *ch;
    size_t n;
    attrib_advice adv; /* the model used: the seed's decision rule */
    long customers;    /* new customers of the period */
    long unattributed; /* of them, without any touch */
} chan_customers;

/* The channel named channel in cc (added with zero spend and parts when new);
 * NULL when out of memory. */
chan_cac *chan_customers_of(chan_customers *cc, const char *channel);

/* The new customers won in [start, end) shared over their touches' channels.
 * 0, or -1 with err (cc is then freed). */
int chan_customers_load(db_conn *db, const char *ws, caldate_t start, caldate_t end, chan_customers *cc, app_err *err);

void chan_customers_free(chan_customers *cc);

#endif
