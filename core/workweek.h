/* workweek.h - a workspace's working hours (issue 19): one window of local
 * wall-clock time per weekday, or none (a day off), as the accept/reject SLA's
 * "business hours" count them (sql/74_leads.sql business_minutes).
 *
 * Pure: text in, minutes out. Minutes are counted from local midnight, 0 to
 * 1440 ("24:00" ends a window at the next midnight).
 */
#ifndef REVOPS_WORKWEEK_H
#define REVOPS_WORKWEEK_H

#include <stdbool.h>
#include <stddef.h>

#define WORKWEEK_DAYS 7
#define WORKWEEK_DAY_MINUTES 1440

/* ISO weekday order: [0] = monday ... [6] = sunday (PostgreSQL's isodow - 1). */
extern const char *const workweek_day_names[WORKWEEK_DAYS];

/* The ISO index (0 = monday) of a day name, -1 if it is none of them. */
int workweek_day_index(const char *name);

/* "HH:MM" (two digits each, 00:00 to 23:59, or 24:00) into minutes since
 * midnight; -1 for anything else. */
int workweek_parse_hhmm(const char *s);

/* A window is valid when 0 <= start < end <= 1440. */
bool workweek_window_ok(int start, int end);

/* Room for workweek_render_pg's longest answer (seven 00:00-24:00 windows). */
#define WORKWEEK_JSON_MAX 400

/* PostgreSQL's text of a work_hours value (int4range[7], ISO day order), e.g.
 * {"[540,1020)","[540,1020)","[540,1020)","[540,1020)","[540,1020)",empty,empty},
 * as the API's working_hours object: {"monday": {"start": "09:00", "end":
 * "17:00"}, ..., "sunday": null}, "24:00" ending a window at the next
 * midnight. Writes it and its NUL into buf; the length, or -1 when the text
 * is not seven valid windows or days off, or len is too small. */
int workweek_render_pg(const char *pg, char *buf, size_t len);

#endif
