/* workweek.c - working-hours windows: day names and "HH:MM" times. */
#include "workweek.h"

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
