/* workweek.c - working-hours windows: day names and "HH:MM" times. */
#include "workweek.h"

#include <stdio.h>
#include <string.h>

const char *const workweek_day_names[WORKWEEK_DAYS] = {"monday", "tuesday",  "wednesday", "thursday",
                                                       "friday", "saturday", "sunday"};

int workweek_day_index(const char *name)
{
    for (int i = 0; name && i < WORKWEEK_DAYS; i++)
        if (strcmp(name, workweek_day_names[i]) == 0)
            return i;
    return -1;
}

static bool digit(char c) { return c >= '0' && c <= '9'; }

int workweek_parse_hhmm(const char *s)
{
    if (!s || strlen(s) != 5 || !digit(s[0]) || !digit(s[1]) || s[2] != ':' || !digit(s[3]) || !digit(s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

bool workweek_window_ok(int start, int end) { return start >= 0 && start < end && end <= WORKWEEK_DAY_MINUTES; }

/* One non-negative decimal of at most four digits at *s; -1 if none. */
static int take_int(const char **s)
{
    int v = 0, n = 0;
    for (; digit(**s) && n < 4; (*s)++, n++)
        v = v * 10 + (**s - '0');
    return n ? v : -1;
}

int workweek_render_pg(const char *pg, char *buf, size_t len)
{
    if (!pg || !buf || *pg++ != '{')
        return -1;
    size_t used = 0;
    for (int d = 0; d < WORKWEEK_DAYS; d++) {
        /* array_out quotes a range (it holds a comma) and leaves empty bare;
         * int4range is discrete, so a window is always [start,end) */
        char day[64];
        if (strncmp(pg, "empty", 5) == 0) {
            pg += 5;
            snprintf(day, sizeof day, "null");
        } else {
            if (strncmp(pg, "\"[", 2) != 0)
                return -1;
            pg += 2;
            int start = take_int(&pg);
            if (*pg++ != ',')
                return -1;
            int end = take_int(&pg);
            if (strncmp(pg, ")\"", 2) != 0 || !workweek_window_ok(start, end))
                return -1;
            pg += 2;
            snprintf(day, sizeof day, "{\"start\": \"%02d:%02d\", \"end\": \"%02d:%02d\"}", start / 60, start % 60,
                     end / 60, end % 60);
        }
        if (*pg++ != (d + 1 < WORKWEEK_DAYS ? ',' : '}'))
            return -1;
        int n = snprintf(buf + used, len - used, "%s\"%s\": %s", d ? ", " : "{", workweek_day_names[d], day);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    if (*pg || used + 2 > len)
        return -1;
    memcpy(buf + used, "}", 2);
    return (int)used + 1;
}
