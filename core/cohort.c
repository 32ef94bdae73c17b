/* cohort.c - per-account monthly ARR series folded into cohort cells. */
#include "cohort.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int account, month;
    money_t delta;
} mv;

static int cmp_mv(const void *a, const void *b)
{
    const mv *x = a, *y = b;
    if (x->account != y->account)
        return (x->account > y->account) - (x->account < y->account);
    return (x->month > y->month) - (x->month < y->month);
}

int cohort_table(const cohort_move *moves, size_t n, size_t naccounts, const int *account_cohort, int ncohorts,
                 int horizon, int last_month, cohort_cell *cells)
{
    for (int c = 0; c < ncohorts; c++)
        for (int m = 0; m < horizon; m++)
            cells[c * horizon + m] = (cohort_cell){0, 0, -1};
    mv *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (moves[i].account < 0 || (size_t)moves[i].account >= naccounts) {
            free(s);
            return -1;
        }
        s[i] = (mv){moves[i].account, moves[i].month, moves[i].delta};
    }
    qsort(s, n, sizeof *s, cmp_mv);
    for (size_t i = 0; i < n;) {
        int a = s[i].account, c = account_cohort[a];
        size_t j = i;
        while (j < n && s[j].account == a)
            j++;
        if (c < 0 || c >= ncohorts) {
            i = j;
            continue;
        }
        int first = s[i].month;
        money_t arr = 0, base = 0;
        size_t k = i;
        for (int m = 0; m < horizon && first + m <= last_month; m++) {
            while (k < j && s[k].month <= first + m)
                arr += s[k++].delta;
            if (m == 0)
                base = arr;
            cohort_cell *cell = &cells[c * horizon + m];
            if (cell->logos < 0)
                cell->logos = 0;
            cell->arr += arr;
            cell->kept += arr < base ? (arr > 0 ? arr : 0) : base;
            cell->logos += arr > 0;
        }
        i = j;
    }
    free(s);
    return 0;
}

int cohort_starting_arr(const cohort_move *moves, size_t n, size_t naccounts, money_t *arr0)
{
    int *first = malloc((naccounts ? naccounts : 1) * sizeof *first);
    if (!first)
        return -1;
    for (size_t a = 0; a < naccounts; a++)
        first[a] = INT_MAX, arr0[a] = 0;
    for (size_t i = 0; i < n; i++) {
        if (moves[i].account < 0 || (size_t)moves[i].account >= naccounts) {
            free(first);
            return -1;
        }
        if (moves[i].month < first[moves[i].account])
            first[moves[i].account] = moves[i].month;
    }
    for (size_t i = 0; i < n; i++)
        if (moves[i].month == first[moves[i].account])
            arr0[moves[i].account] += moves[i].delta;
    free(first);
    return 0;
}

const char *cohort_cycle_band(long days)
{
    return days <= 30 ? "0-30 days" : days <= 90 ? "31-90 days" : days <= 180 ? "91-180 days" : "181+ days";
}
