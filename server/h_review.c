/* h_review.c - the seed's weekly pipeline review (001 phase 4), as JSON or
 * Markdown, for one owner (or everyone) and one week. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "fcdata.h"
#include "forecast.h"
#include "funneldoc.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "metrics.h"

#define COVERAGE_TARGET 3.0 /* seed phase 4: pipeline coverage minimum 3x */
#define TOP_DEALS 5

static json_t *money_j(long long cents) { return json_real((double)cents / 100.0); }

/* Commit (won in the quarter + open commit) and best case (+ open best case)
 * of the live deals, or of a snapshot's rows when snapshot is given. */
static int forecast_calls(db_conn *db, const char *ws, const char *owner, const char *qs, const char *qe,
                          const char *snapshot, long long out[4], app_err *err)
{
    const char *p[] = {ws, owner, qs, qe, snapshot};
    PGresult *r = db_query(
        db,
        "WITH x AS ("
        "  SELECT status, forecast_category AS cat, " CRM_FX_AMOUNT " AS a, expected_close_date AS close, closed_at"
        "  FROM deals WHERE $5::uuid IS NULL AND workspace_id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR "
        "owner = $2)"
        "  UNION ALL SELECT status, forecast_category, amount_cents, expected_close_date, closed_at"
        "  FROM snapshot_deals WHERE snapshot_id = $5::uuid AND workspace_id = $1 AND ($2::text IS NULL OR owner = $2))"
        " SELECT COALESCE(sum(a) FILTER (WHERE c), 0), count(*) FILTER (WHERE c),"
        "        COALESCE(sum(a) FILTER (WHERE c OR b), 0), count(*) FILTER (WHERE c OR b)"
        " FROM (SELECT COALESCE(a, 0) AS a,"
        "   (status = 'won' AND closed_at >= $3::date AND closed_at < $4::date)"
        "   OR (status = 'open' AND cat IN ('commit', 'closed') AND close < $4::date) AS c,"
        "   status = 'open' AND cat = 'best_case' AND close < $4::date AS b FROM x) y",
        5, p, err);
    if (!r)
        return -1;
    for (int i = 0; i < 4; i++)
        out[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
    PQclear(r);
    return 0;
}

static const char *risk_text(int bit)
{
    static const char *t[] = {"past its close date", "close date pushed 2+ times", "no activity for 14+ days",
                              "stuck in its stage", "far above the owner's usual deal"};
    return bit >= 0 && bit < RISK__COUNT ? t[bit] : "";
}

static char *markdown(const json_t *j)
{
    size_t cap = 8192, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    b[0] = '\0';
#define OUT(...)                                                                                                       \
    do {                                                                                                               \
        int n_ = snprintf(b + len, cap - len, __VA_ARGS__);                                                            \
        if (n_ > 0 && (size_t)n_ < cap - len)                                                                          \
            len += (size_t)n_;                                                                                         \
    } while (0)
    const json_t *f = json_object_get(j, "forecast"), *h = json_object_get(j, "health");
    const json_t *chg = json_object_get(f, "change_from_last_week");
    OUT("## Weekly Pipeline Review — %s — %s\n\n### Forecast\n",
        json_is_string(json_object_get(j, "owner")) ? json_string_value(json_object_get(j, "owner")) : "All owners",
        json_string_value(json_object_get(j, "week_start")));
    OUT("- Commit: $%.2f (%lld deals)\n", json_number_value(json_object_get(json_object_get(f, "commit"), "amount")),
        (long long)json_integer_value(json_object_get(json_object_get(f, "commit"), "deals")));
    OUT("- Best case: $%.2f (%lld deals)\n",
        json_number_value(json_object_get(json_object_get(f, "best_case"), "amount")),
        (long long)json_integer_value(json_object_get(json_object_get(f, "best_case"), "deals")));
    if (json_is_number(json_object_get(chg, "commit")))
        OUT("- Change from last week: %+.2f commit, %+.2f best case\n",
            json_number_value(json_object_get(chg, "commit")), json_number_value(json_object_get(chg, "best_case")));
    else
        OUT("- Change from last week: no snapshot from last week\n");
    OUT("\n### Top 5 Deals\n| Deal | Amount | Stage | Next Step | Risk | Close Date "
        "|\n|------|--------|-------|-----------|------|------------|\n");
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(j, "top_deals"), i, d)
    {
        const json_t *risks = json_object_get(d, "risks");
        char risk[256] = "";
        size_t k;
        const json_t *rk;
        json_array_foreach(risks, k, rk)
        {
            size_t l = strlen(risk);
            snprintf(risk + l, sizeof risk - l, "%s%s", l ? "; " : "", json_string_value(rk));
        }
        OUT("| %s | $%.2f | %s | %s | %s | %s |\n", json_string_value(json_object_get(d, "name")),
            json_number_value(json_object_get(d, "amount")),
            json_is_string(json_object_get(d, "stage")) ? json_string_value(json_object_get(d, "stage")) : "", "",
            risk[0] ? risk : "—",
            json_is_string(json_object_get(d, "expected_close_date"))
                ? json_string_value(json_object_get(d, "expected_close_date"))
                : "");
    }
    const json_t *cov = json_object_get(h, "coverage");
    OUT("\n### Pipeline Health\n");
    if (json_is_number(cov))
        OUT("- Coverage: %.1fx vs %.1fx target\n", json_number_value(cov), COVERAGE_TARGET);
    else
        OUT("- Coverage: no quota for the quarter (target %.1fx)\n", COVERAGE_TARGET);
    const json_t *aac = json_object_get(h, "age_adjusted_coverage"), *req = json_object_get(h, "required_pipeline");
    if (json_is_number(aac))
        OUT("- Deal-age adjusted coverage: %.1fx (fresh 100%%, aging 50%%, stale 25%%)\n", json_number_value(aac));
    if (json_is_number(req))
        OUT("- Required pipeline (quota ÷ %.1f%% win rate): $%.2f\n",
            json_number_value(json_object_get(h, "win_rate")) * 100, json_number_value(req));
    const json_t *np = json_object_get(h, "new_pipeline"), *pu = json_object_get(h, "pushed"),
                 *lo = json_object_get(h, "lost");
    OUT("- New pipe created this week: $%.2f\n", json_number_value(json_object_get(np, "amount")));
    OUT("- Deals pushed: %lld ($%.2f)\n", (long long)json_integer_value(json_object_get(pu, "deals")),
        json_number_value(json_object_get(pu, "amount")));
    OUT("- Deals lost: %lld ($%.2f)", (long long)json_integer_value(json_object_get(lo, "deals")),
        json_number_value(json_object_get(lo, "amount")));
    const json_t *reasons = json_object_get(lo, "reasons");
    if (json_array_size(reasons)) {
        OUT(" — reasons: ");
        json_array_foreach(reasons, i, d)
            OUT("%s%s (%lld)", i ? ", " : "", json_string_value(json_object_get(d, "reason")),
                (long long)json_integer_value(json_object_get(d, "deals")));
    }
    OUT("\n\n### Actions\n");
    json_array_foreach(json_object_get(j, "actions"), i, d) OUT("%zu. %s\n", i + 1, json_string_value(d));
#undef OUT
    return b;
}

/* One open deal of the review: what is shown and what core/forecast flags. */
typedef struct {
    const char *id, *name, *stage; /* stage: NULL when none */
    forecast_deal d;
} review_deal;

typedef struct {
    review_deal *rows; /* by amount, largest first, then id */
    size_t n;
    int nowners;
    long long pipeline_in_q; /* open deals expected to close before the quarter's end */
    long long won;           /* rebuilt: won in the quarter by the week's end */
    PGresult *r, *w;
    fcdata_pipeline pl;
    json_t *owners; /* owner -> index */
} review_deals;

static void review_free(review_deals *rd)
{
    free(rd->rows);
    PQclear(rd->r);
    PQclear(rd->w);
    fcdata_pipeline_free(&rd->pl);
    json_decref(rd->owners);
    memset(rd, 0, sizeof *rd);
}

static int owner_index(review_deals *rd, const char *owner)
{
    if (!owner)
        return -1;
    json_t *v = json_object_get(rd->owners, owner);
    if (v)
        return (int)json_integer_value(v);
    int i = (int)json_object_size(rd->owners);
    json_object_set_new(rd->owners, owner, json_integer(i));
    return i;
}

static const char *value_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* A review deal from stored values (stage and close may be NULL / none). */
static void review_deal_fill(review_deal *x, const funnel_def *def, money_t amount, caldate_t close, caldate_t entered,
                             caldate_t last_activity, int pushes, int owner)
{
    forecast_deal *d = &x->d;
    d->amount = amount;
    int st = x->stage ? funnel_stage_index(def, x->stage) : -1;
    d->stage = st >= 0 && !def->stages[st].won && !def->stages[st].lost ? st : funnel_stage_index(def, "opportunity");
    d->probability = NAN;
    d->group = -1;
    d->owner = owner;
    d->category = FC_PIPELINE;
    d->expected_close = close == FORECAST_NO_DATE ? INT32_MAX : close; /* none: in no period */
    d->stage_entered = entered;
    d->last_activity = last_activity;
    d->push_count = pushes;
}

static caldate_t day_or_none(PGresult *r, int row, int col)
{
    caldate_t d;
    return !PQgetisnull(r, row, col) && caldate_parse(PQgetvalue(r, row, col), &d) ? d : FORECAST_NO_DATE;
}

static int alloc_rows(review_deals *rd, size_t n, app_err *err)
{
    rd->rows = calloc(n + 1, sizeof *rd->rows);
    rd->owners = json_object();
    if (!rd->rows || !rd->owners) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

/* Today's open deals of the owner (or everyone). */
static int review_live(db_conn *db, const char *ws, const char *owner, const funnel_def *def, const period *q,
                       review_deals *rd, app_err *err)
{
    const char *dp[] = {ws, owner};
    PGresult *r = rd->r =
        db_query(db,
                 "SELECT external_id, name, COALESCE(" CRM_FX_AMOUNT ", 0), stage, expected_close_date,"
                 " to_char(stage_entered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                 " to_char(last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), push_count, owner"
                 " FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'open'"
                 " AND ($2::text IS NULL OR owner = $2) ORDER BY " CRM_FX_AMOUNT " DESC NULLS LAST, external_id",
                 2, dp, err);
    if (!r || alloc_rows(rd, (size_t)PQntuples(r), err) != 0)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        review_deal *x = &rd->rows[rd->n++];
        x->id = PQgetvalue(r, i, 0);
        x->name = PQgetvalue(r, i, 1);
        x->stage = value_or_null(r, i, 3);
        review_deal_fill(x, def, strtoll(PQgetvalue(r, i, 2), NULL, 10), day_or_none(r, i, 4), day_or_none(r, i, 5),
                         day_or_none(r, i, 6), atoi(PQgetvalue(r, i, 7)), owner_index(rd, value_or_null(r, i, 8)));
        if (x->d.expected_close < q->end)
            rd->pipeline_in_q += x->d.amount;
    }
    rd->nowners = (int)json_object_size(rd->owners);
    return 0;
}

static int by_amount(const void *a, const void *b)
{
    const review_deal *x = a, *y = b;
    if (x->d.amount != y->d.amount)
        return x->d.amount > y->d.amount ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The owner's open deals as they stood at `at` (00:00 UTC), and the week's
 * forecast calls then: commit = won in the quarter before `at` + open deals
 * whose own category then was commit (or closed) closing in the quarter, best
 * case adds best_case ones (forecast_calls' rules on the rebuilt values). An
 * amount unknown then is 0 (no history average: the review lists, it does not
 * estimate). */
static int review_rebuilt(db_conn *db, const char *ws, const char *owner, const funnel_def *def, const period *q,
                          caldate_t at, review_deals *rd, long long calls[4], app_err *err)
{
    if (fcdata_load_asof(db, ws, def, at, NULL, &rd->pl, err) != 0)
        return -1;
    char qs[16], qe[16], ab[16];
    const char *wp[] = {ws, owner, caldate_format(q->start, qs, sizeof qs), caldate_format(q->end, qe, sizeof qe),
                        caldate_format(at, ab, sizeof ab)};
    PGresult *w = rd->w =
        db_query(db,
                 "SELECT COALESCE(sum(" CRM_FX_AMOUNT "), 0), count(*) FROM deals WHERE workspace_id = $1"
                 " AND status = 'won' AND ($2::text IS NULL OR owner = $2)"
                 " AND (deleted_at IS NULL OR deleted_at >= ($5::date::timestamp AT TIME ZONE 'UTC'))"
                 " AND closed_at >= ($3::date::timestamp AT TIME ZONE 'UTC')"
                 " AND closed_at < (least($4::date, $5::date)::timestamp AT TIME ZONE 'UTC')",
                 5, wp, err);
    if (!w || alloc_rows(rd, rd->pl.n, err) != 0)
        return -1;
    rd->won = strtoll(PQgetvalue(w, 0, 0), NULL, 10);
    calls[0] = calls[2] = rd->won;
    calls[1] = calls[3] = atoll(PQgetvalue(w, 0, 1));
    for (size_t k = 0; k < rd->pl.n; k++) {
        const fcasof_row *r = &rd->pl.rows[k];
        const char *o = r->deal->owner;
        if (owner && (!o || strcmp(o, owner) != 0))
            continue;
        review_deal *x = &rd->rows[rd->n++];
        x->id = r->deal->id;
        x->name = r->deal->name;
        x->stage = r->stage;
        money_t amount = r->has_amount ? r->amount : 0;
        review_deal_fill(x, def, amount, r->close, r->stage_entered, r->last_activity, r->pushes, owner_index(rd, o));
        if (x->d.expected_close >= q->end)
            continue;
        rd->pipeline_in_q += amount;
        const char *cat = r->category;
        bool commit = cat && (strcmp(cat, "commit") == 0 || strcmp(cat, "closed") == 0);
        bool best = commit || (cat && strcmp(cat, "best_case") == 0);
        calls[0] += commit ? amount : 0;
        calls[1] += commit;
        calls[2] += best ? amount : 0;
        calls[3] += best;
    }
    qsort(rd->rows, rd->n, sizeof *rd->rows, by_amount);
    rd->nowners = (int)json_object_size(rd->owners);
    return 0;
}

/* The top five open deals by amount with their risk flags (core/forecast's
 * flags on the weighted method's deals as of `as_of`). */
static json_t *top_deals(const review_deals *rd, const funnel_def *def, const period *q, caldate_t as_of)
{
    size_t n = rd->n;
    forecast_deal *fd = calloc(n + 1, sizeof *fd);
    unsigned *flags = calloc(n + 1, sizeof *flags);
    for (size_t i = 0; fd && i < n; i++)
        fd[i] = rd->rows[i].d;
    forecast_input in = {.method = FM_WEIGHTED,
                         .period_start = q->start,
                         .period_end = q->end,
                         .as_of = as_of,
                         .funnel = def,
                         .nowners = rd->nowners};
    forecast_result fr = {.flags = flags};
    json_t *top = json_array();
    if (fd && flags && forecast_compute(fd, n, &in, &fr) == 0)
        for (size_t i = 0; i < n && i < TOP_DEALS; i++) {
            const review_deal *x = &rd->rows[i];
            json_t *risks = json_array();
            for (int bit = 0; bit < RISK__COUNT; bit++)
                if (flags[i] & (1u << bit))
                    json_array_append_new(risks, json_string(risk_text(bit)));
            char close[16];
            json_array_append_new(top,
                                  json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "deal", x->id, "name", x->name, "amount",
                                            money_j(x->d.amount), "stage",
                                            x->stage ? json_string(x->stage) : json_null(), "expected_close_date",
                                            x->d.expected_close == INT32_MAX
                                                ? json_null()
                                                : json_string(caldate_format(x->d.expected_close, close, sizeof close)),
                                            "risks", risks));
        }
    free(fd);
    free(flags);
    return top;
}

/* The week's health: new pipeline, deals pushed out of their quarter, losses
 * and their reasons, and the owner's (or everyone's) quota for coverage. */
typedef struct {
    long long new_amt, new_n, push_n, push_amt, lost_n, lost_amt, quota;
    bool has_quota;
    json_t *reasons; /* [{reason, deals}] */
} week_health;

static int week_health_load(db_conn *db, const char *ws, const char *owner, const char *wsb, const char *web,
                            const char *ql, week_health *h, app_err *err)
{
    const char *hp[] = {ws, owner, wsb, web, ql};
    PGresult *r = db_query(
        db,
        "SELECT"
        " (SELECT COALESCE(sum(" CRM_FX_AMOUNT "), 0) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND ($2::text IS NULL OR owner = $2) AND created_at >= $3::date AND created_at < $4::date),"
        " (SELECT count(*) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND ($2::text IS NULL OR owner = $2) AND created_at >= $3::date AND created_at < $4::date),"
        " (SELECT count(DISTINCT d.external_id) FROM deal_changes c JOIN deals d ON d.workspace_id = c.workspace_id"
        "   AND d.external_id = c.deal_id WHERE c.workspace_id = $1 AND c.field = 'expected_close_date' AND c.applied"
        "   AND c.changed_at >= $3::date AND c.changed_at < $4::date AND ($2::text IS NULL OR d.owner = $2)"
        "   AND jsonb_typeof(c.old_value) = 'string' AND jsonb_typeof(c.new_value) = 'string'"
        "   AND (c.new_value #>> '{}')::date >= fiscal_quarter_end((c.old_value #>> '{}')::date,"
        "       (SELECT fiscal_year_start_month FROM workspaces WHERE id = $1))),"
        " (SELECT COALESCE(sum(" CRM_FX_AMOUNT "), 0) FROM deals d WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND ($2::text IS NULL OR owner = $2) AND EXISTS (SELECT 1 FROM deal_changes c WHERE c.workspace_id = $1"
        "   AND c.deal_id = d.external_id AND c.field = 'expected_close_date' AND c.applied"
        "   AND c.changed_at >= $3::date AND c.changed_at < $4::date AND jsonb_typeof(c.old_value) = 'string'"
        "   AND jsonb_typeof(c.new_value) = 'string' AND (c.new_value #>> '{}')::date >= fiscal_quarter_end("
        "       (c.old_value #>> '{}')::date, (SELECT fiscal_year_start_month FROM workspaces WHERE id = $1)))),"
        " (SELECT count(*) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'lost'"
        "   AND ($2::text IS NULL OR owner = $2) AND closed_at >= $3::date AND closed_at < $4::date),"
        " (SELECT COALESCE(sum(" CRM_FX_AMOUNT "), 0) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND status = 'lost' AND ($2::text IS NULL OR owner = $2) AND closed_at >= $3::date AND closed_at < "
        "$4::date),"
        " (SELECT COALESCE(jsonb_agg(jsonb_build_object('reason', reason, 'deals', n) ORDER BY n DESC, reason), '[]')"
        "   FROM (SELECT COALESCE(lost_reason, '(no reason recorded)') AS reason, count(*) AS n FROM deals"
        "   WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'lost' AND ($2::text IS NULL OR owner = $2)"
        "   AND closed_at >= $3::date AND closed_at < $4::date GROUP BY 1) x),"
        " (SELECT sum((quotas ->> $5)::bigint) FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND quotas ? $5 AND ($2::text IS NULL OR external_id = $2))",
        5, hp, err);
    if (!r)
        return -1;
    h->new_amt = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    h->new_n = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    h->push_n = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    h->push_amt = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
    h->lost_n = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    h->lost_amt = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    h->reasons = json_loads(PQgetvalue(r, 0, 6), 0, NULL);
    h->has_quota = !PQgetisnull(r, 0, 7);
    h->quota = h->has_quota ? strtoll(PQgetvalue(r, 0, 7), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

/* Coverage (pipeline closing in the quarter / remaining quota; null without
 * a quota left) into *coverage, and the actions the review suggests: thin
 * coverage, each risky top deal, losses without a reason. */
static json_t *review_actions(const week_health *h, long long won, long long pipeline_in_q, const char *ql,
                              const json_t *top, json_t **coverage)
{
    long long quota = h->quota;
    json_t *reasons = h->reasons;
    *coverage = json_null();
    json_t *actions = json_array();
    if (h->has_quota && quota > won) {
        double cov = (double)pipeline_in_q / (double)(quota - won);
        json_decref(*coverage);
        *coverage = json_real(round(cov * 100) / 100);
        if (cov < COVERAGE_TARGET) {
            char a[200];
            snprintf(a, sizeof a, "Coverage is %.1fx against a %.1fx target: add $%.2f of pipeline closing in %s", cov,
                     COVERAGE_TARGET, ((double)(quota - won) * COVERAGE_TARGET - (double)pipeline_in_q) / 100.0, ql);
            json_array_append_new(actions, json_string(a));
        }
    }
    size_t i;
    json_t *d;
    json_array_foreach(top, i, d) if (json_array_size(json_object_get(d, "risks")))
    {
        char a[300];
        snprintf(a, sizeof a, "%s: %s", json_string_value(json_object_get(d, "name")),
                 json_string_value(json_array_get(json_object_get(d, "risks"), 0)));
        json_array_append_new(actions, json_string(a));
    }
    json_array_foreach(reasons, i,
                       d) if (strcmp(json_string_value(json_object_get(d, "reason")), "(no reason recorded)") == 0)
    {
        char a[160];
        snprintf(a, sizeof a, "Record the loss reason of %lld lost deal(s) (seed: required on close)",
                 (long long)json_integer_value(json_object_get(d, "deals")));
        json_array_append_new(actions, json_string(a));
    }
    return actions;
}

void h_pipeline_review(http_req *rq)
{
    app_err err = {0};
    const char *owner = http_query(rq, "owner"), *week = http_query(rq, "week");
    caldate_t day = 0;
    if (week && !caldate_parse(week, &day))
        app_err_field(&err, "week", "must be a date YYYY-MM-DD (any day of the week)");
    if (owner && (!*owner || strlen(owner) > 200))
        app_err_field(&err, "owner", "must be 1 to 200 characters");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    int fsm = workspace_fy_start(db, rq->auth.workspace_id, &err);
    caldate_t today = utc_today();
    if (fsm < 0 || funnels_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    if (!week)
        day = today;
    /* weeks run Monday to Sunday */
    caldate_t ws_day = caldate_monday(day), we_day = ws_day + 7;
    period q = period_containing(PERIOD_QUARTER, day, fsm);
    char wsb[16], web[16], qsb[16], qeb[16], ql[16];
    caldate_format(ws_day, wsb, sizeof wsb);
    caldate_format(we_day, web, sizeof web);
    caldate_format(q.start, qsb, sizeof qsb);
    caldate_format(q.end, qeb, sizeof qeb);
    period_format(&q, ql, sizeof ql);
    const char *ws = rq->auth.workspace_id;

    /* A past week (its end, 00:00 UTC of the next Monday, not after today)
     * is shown as it stood at its end: the open pipeline rebuilt from history
     * (core/fcasof, as the backtest and the dashboard), won counted up to then;
     * a deal created or changed later does not appear as it is now. The
     * current week is today's data. */
    bool past = we_day <= today;
    caldate_t as_of = past ? we_day : today;
    long long now_calls[4], prev_calls[4];
    char prev_snap[40] = "";
    const char *sp[] = {ws, wsb};
    int has_prev = db_query_value(db,
                                  "SELECT id FROM snapshots WHERE workspace_id = $1 AND as_of < $2::date"
                                  " ORDER BY as_of DESC LIMIT 1",
                                  2, sp, prev_snap, sizeof prev_snap, &err);
    if (has_prev < 0 || (!past && forecast_calls(db, ws, owner, qsb, qeb, NULL, now_calls, &err) != 0) ||
        (has_prev && forecast_calls(db, ws, owner, qsb, qeb, prev_snap, prev_calls, &err) != 0)) {
        http_reply_error(rq, &err);
        return;
    }

    /* the owner's open deals, for risk flags (core/forecast) and the top five */
    funnel_def def;
    funnel_default(&def);
    review_deals rd = {0};
    if ((past ? review_rebuilt(db, ws, owner, &def, &q, we_day, &rd, now_calls, &err)
              : review_live(db, ws, owner, &def, &q, &rd, &err)) != 0) {
        review_free(&rd);
        http_reply_error(rq, &err);
        return;
    }
    long long pipeline_in_q = rd.pipeline_in_q, rd_won = rd.won;
    json_t *top = top_deals(&rd, &def, &q, as_of);
    /* the deals the coverage counts, for the deal-age adjusted coverage (seed phase 4, as the dashboard) */
    metrics_open_deal *od = calloc(rd.n + 1, sizeof *od);
    size_t nod = 0;
    for (size_t k = 0; od && k < rd.n; k++)
        if (rd.rows[k].d.expected_close < q.end)
            od[nod++] = (metrics_open_deal){rd.rows[k].d.amount, 0, rd.rows[k].d.expected_close};
    review_free(&rd);
    if (!od) {
        json_decref(top);
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }

    /* the week's health: new pipeline, pushes, losses; quota for coverage */
    week_health wh = {0};
    if (week_health_load(db, ws, owner, wsb, web, ql, &wh, &err) != 0) {
        free(od);
        json_decref(top);
        http_reply_error(rq, &err);
        return;
    }
    long long won = now_calls[0]; /* commit includes won; remaining quota needs won alone */
    char wonb[32], asofb[16];
    const char *wp[] = {ws, owner, qsb, qeb, caldate_format(as_of, asofb, sizeof asofb)};
    if (past) /* the rebuilt calls counted what was won by the week's end */
        won = rd_won;
    else if (db_query_value(db,
                            "SELECT COALESCE(sum(" CRM_FX_AMOUNT
                            "), 0) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
                            " AND status = 'won' AND ($2::text IS NULL OR owner = $2) AND closed_at >= $3::date"
                            " AND closed_at < $4::date",
                            4, wp, wonb, sizeof wonb, &err) > 0)
        won = strtoll(wonb, NULL, 10);
    /* the quarter's win rate by the review's day (won / closed, the owner's deals) for the required
     * pipeline = quota / win rate (seed phase 4); a past week counts what had closed by its end */
    char cutb[16], wonc[32] = "0", closedc[32] = "0";
    const char *cp[] = {ws, owner, qsb, qeb, past ? caldate_format(we_day, cutb, sizeof cutb) : qeb};
    PGresult *wr = db_query(db,
                            "SELECT count(*) FILTER (WHERE status = 'won'), count(*) FROM deals WHERE workspace_id = $1"
                            " AND status IN ('won', 'lost') AND ($2::text IS NULL OR owner = $2)"
                            " AND (deleted_at IS NULL OR deleted_at >= ($5::date::timestamp AT TIME ZONE 'UTC'))"
                            " AND closed_at >= ($3::date::timestamp AT TIME ZONE 'UTC')"
                            " AND closed_at < (least($4::date, $5::date)::timestamp AT TIME ZONE 'UTC')",
                            5, cp, &err);
    if (!wr) {
        free(od);
        json_decref(top);
        json_decref(wh.reasons);
        http_reply_error(rq, &err);
        return;
    }
    snprintf(wonc, sizeof wonc, "%s", PQgetvalue(wr, 0, 0));
    snprintf(closedc, sizeof closedc, "%s", PQgetvalue(wr, 0, 1));
    PQclear(wr);
    long nwon = atol(wonc), nclosed = atol(closedc);
    metrics_pipeline mp;
    metrics_pipeline_compute(od, nod, wh.has_quota && wh.quota > won ? wh.quota - won : 0, as_of, &mp);
    free(od);
    money_t required = 0;
    double win_rate = nclosed > 0 ? (double)nwon / (double)nclosed : 0;
    bool has_req = wh.has_quota && nclosed > 0 && metrics_required_pipeline(wh.quota, win_rate, &required);
    json_t *coverage = NULL;
    json_t *actions = review_actions(&wh, won, pipeline_in_q, ql, top, &coverage);
    json_t *chg = has_prev ? json_pack("{s:o, s:o, s:s}", "commit", money_j(now_calls[0] - prev_calls[0]), "best_case",
                                       money_j(now_calls[2] - prev_calls[2]), "snapshot", prev_snap)
                           : json_pack("{s:n, s:n, s:n}", "commit", "best_case", "snapshot");
    char we_incl[16];
    json_t *out = json_pack(
        "{s:o, s:s, s:s, s:s, s:{s:{s:o, s:I}, s:{s:o, s:I}, s:o}, s:o, s:{s:o, s:f, s:o, s:o, s:{s:o, s:I}, "
        "s:{s:I, s:o}, s:{s:I, s:o, s:o}}, s:o}",
        "owner", owner ? json_string(owner) : json_null(), "week_start", wsb, "week_end",
        caldate_format(we_day - 1, we_incl, sizeof we_incl), "period", ql, "forecast", "commit", "amount",
        money_j(now_calls[0]), "deals", (json_int_t)now_calls[1], "best_case", "amount", money_j(now_calls[2]), "deals",
        (json_int_t)now_calls[3], "change_from_last_week", chg, "top_deals", top, "health", "coverage", coverage,
        "coverage_target", COVERAGE_TARGET, "quota", wh.has_quota ? money_j(wh.quota) : json_null(), "pipeline",
        money_j(pipeline_in_q), "new_pipeline", "amount", money_j(wh.new_amt), "deals", (json_int_t)wh.new_n, "pushed",
        "deals", (json_int_t)wh.push_n, "amount", money_j(wh.push_amt), "lost", "deals", (json_int_t)wh.lost_n,
        "amount", money_j(wh.lost_amt), "reasons", wh.reasons ? wh.reasons : json_array(), "actions", actions);
    json_t *health = json_object_get(out, "health");
    json_object_set_new(health, "age_adjusted_pipeline", money_j(mp.age_adjusted));
    json_object_set_new(health, "age_adjusted_coverage",
                        mp.age_adjusted_coverage.ok ? json_real(round(mp.age_adjusted_coverage.value * 100) / 100)
                                                    : json_null());
    json_object_set_new(health, "win_rate", nclosed > 0 ? json_real(round(win_rate * 10000) / 10000) : json_null());
    json_object_set_new(health, "required_pipeline", has_req ? money_j(required) : json_null());
    const char *accept = http_header(rq, "Accept");
    if (out && accept && strstr(accept, "text/markdown")) {
        char *md = markdown(out);
        json_decref(out);
        if (!md) {
            http_fail(rq, ERR_INTERNAL, "out of memory");
            return;
        }
        http_reply_text(rq, 200, "text/markdown; charset=utf-8", md, strlen(md));
        return;
    }
    http_reply_json(rq, 200, out);
}
