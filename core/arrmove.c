/* arrmove.c - subscriptions -> ARR movement events for one account. */
#include "arrmove.h"

#include <stdlib.h>
#include <string.h>

static const char *kind_names[ARR__KINDS] = {"new", "expansion", "contraction", "churn", "reactivation"};

const char *arr_kind_name(arr_kind k) { return (k >= 0 && k < ARR__KINDS) ? kind_names[k] : "unknown"; }

int arr_kind_parse(const char *s)
{
    for (int k = 0; s && k < ARR__KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

money_t arr_movement_signed(const arr_movement *m)
{
    return (m->kind == ARR_CONTRACTION || m->kind == ARR_CHURN) ? -m->amount : m->amount;
}

typedef struct {
    caldate_t date;
    money_t delta;
} change;

static int cmp_change(const void *a, const void *b)
{
    const change *x = a, *y = b;
    return (x->date > y->date) - (x->date < y->date);
}

int arrmove_derive(const arr_sub *subs, size_t n, arr_movement *out)
{
    if (n == 0)
        return 0;
    change *ch = malloc(2 * n * sizeof *ch);
    if (!ch)
        return -1;
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (subs[i].arr < 0 || subs[i].end <= subs[i].start) {
            free(ch);
            return -1;
        }
        if (subs[i].arr == 0)
            continue;
        ch[nc++] = (change){subs[i].start, subs[i].arr};
        if (subs[i].end != ARRMOVE_OPEN)
            ch[nc++] = (change){subs[i].end, -subs[i].arr};
    }
    qsort(ch, nc, sizeof *ch, cmp_change);
    money_t arr = 0;
    bool churned_before = false;
    int nout = 0;
    for (size_t i = 0; i < nc;) {
        caldate_t day = ch[i].date;
        money_t next = arr;
        for (; i < nc && ch[i].date == day; i++) /* net same-day changes */
            next += ch[i].delta;
        if (next == arr)
            continue;
        arr_movement m = {.date = day};
        if (arr == 0) {
            m.kind = churned_before ? ARR_REACTIVATION : ARR_NEW;
            m.amount = next;
        } else if (next == 0) {
            m.kind = ARR_CHURN;
            m.amount = arr;
            churned_before = true;
        } else if (next > arr) {
            m.kind = ARR_EXPANSION;
            m.amount = next - arr;
        } else {
            m.kind = ARR_CONTRACTION;
            m.amount = arr - next;
        }
        out[nout++] = m;
        arr = next;
    }
    free(ch);
    return nout;
}
