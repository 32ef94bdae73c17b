/* test_crm.c - deals, accounts, reps: create/merge, stage history, out-of-order
 * changes, push count, batch with per-item results, lists, soft delete, isolation. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static json_t *arr(const json_t *o, const char *k) { return json_object_get(o, k); }

static api_resp *put(const char *path, const char *key, const char *json)
{
    return api_send_json("PUT", path, key, json);
}

START_TEST(deal_create_update_history_and_out_of_order)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/5150", ws.write,
                      "{\"name\":\"Acme renewal\",\"stage\":\"opportunity\",\"amount\":1200.50,\"owner\":\"ann\","
                      "\"expected_close_date\":\"2026-02-10\",\"as_of\":\"2026-01-05T10:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "id"), "5150");
    ck_assert(num(r->json, "amount") == 1200.5);
    ck_assert_str_eq(str(r->json, "status"), "open");
    ck_assert_str_eq(str(r->json, "currency"), "USD");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2026-01-05T10:00:00Z");
    ck_assert_int_eq(json_array_size(arr(r->json, "stage_history")), 1);
    api_resp_free(r);

    /* a later change: new stage, close date pushed past its quarter */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"proposal\",\"amount\":1500,\"expected_close_date\":\"2026-04-10\","
            "\"as_of\":\"2026-01-07T10:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "push_count")), 1);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert_str_eq(str(r->json, "owner"), "ann"); /* absent fields keep their value */
    api_resp_free(r);

    /* an older change arrives late: recorded, not applied */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"sql\",\"amount\":1,\"as_of\":\"2026-01-06T10:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert(num(r->json, "amount") == 1500);
    json_t *fh = arr(r->json, "field_history");
    json_t *last = json_array_get(fh, json_array_size(fh) - 1);
    ck_assert_str_eq(str(last, "field"), "amount");
    ck_assert(json_is_false(json_object_get(last, "applied")));
    api_resp_free(r);

    /* moving within the quarter is not a push; closing won sets status and closed_at */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"closed_won\",\"expected_close_date\":\"2026-04-20\","
            "\"as_of\":\"2026-02-01T09:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "won");
    ck_assert_str_eq(str(r->json, "closed_at"), "2026-02-01T09:00:00Z");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "push_count")), 1);
    json_t *sh = arr(r->json, "stage_history");
    ck_assert_int_eq(json_array_size(sh), 3);
    ck_assert_str_eq(str(json_array_get(sh, 2), "stage"), "closed_won");
    ck_assert_str_eq(str(json_array_get(sh, 2), "entered_at"), "2026-02-01T09:00:00Z");
    api_resp_free(r);

    r = api_get("/v1/deals/5150", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "field_updated_at"), "stage"), "2026-02-01T09:00:00Z");
    api_resp_free(r);
}
END_TEST

START_TEST(deal_validation_names_fields)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/x1", ws.write,
                      "{\"stage\":\"Closed Won\",\"amount\":1.234,\"status\":\"maybe\",\"probability\":2,"
                      "\"expected_close_date\":\"2026-02-30\",\"closed_at\":\"yesterday\",\"colour\":\"red\"}");
    ck_assert_status(r, 422);
    json_t *errs = arr(r->json, "errors");
    const char *want[] = {"stage",     "amount", "status", "probability", "expected_close_date",
                          "closed_at", "colour", "name"};
    ck_assert_int_eq(json_array_size(errs), 8);
    for (size_t i = 0; i < 8; i++) {
        bool found = false;
        for (size_t k = 0; k < json_array_size(errs); k++)
            found = found || strcmp(str(json_array_get(errs, k), "field"), want[i]) == 0;
        ck_assert_msg(found, "no error for %s: %s", want[i], r->body);
    }
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.write, "{\"name\":\"a\",\"stage\":\"closed_won\",\"status\":\"lost\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.write, "[1]");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.read, "{\"name\":\"a\",\"stage\":\"sql\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get("/v1/deals/x1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals?status=maybe", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

/* PUT merges: on an existing deal, account or rep every field is optional and
 * absent ones keep their value; only a create needs the required fields. */
START_TEST(partial_put_keeps_absent_fields)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* a new deal needs name and stage */
    api_resp *r = put("/v1/deals/p1", ws.write, "{\"amount\":1}");
    ck_assert_status(r, 422);
    json_t *errs = arr(r->json, "errors");
    ck_assert_int_eq(json_array_size(errs), 2);
    ck_assert_str_eq(str(json_array_get(errs, 0), "field"), "name");
    ck_assert_str_eq(str(json_array_get(errs, 1), "field"), "stage");
    api_resp_free(r);
    r = api_get("/v1/deals/p1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = put("/v1/deals/p1", ws.write,
            "{\"name\":\"Partial\",\"stage\":\"proposal\",\"amount\":500,\"owner\":\"ann\",\"segment\":\"smb\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    /* the request: an amount alone */
    r = put("/v1/deals/p1", ws.write, "{\"amount\":1}");
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "amount") == 1);
    ck_assert_str_eq(str(r->json, "name"), "Partial");
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert_str_eq(str(r->json, "owner"), "ann");
    api_resp_free(r);
    /* null clears an optional field, never a required one */
    r = put("/v1/deals/p1", ws.write, "{\"segment\":null}");
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(r->json, "segment")));
    ck_assert_str_eq(str(r->json, "name"), "Partial");
    api_resp_free(r);
    r = put("/v1/deals/p1", ws.write, "{\"name\":null}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* a bad field on an existing deal names only that field */
    r = put("/v1/deals/p1", ws.write, "{\"probability\":2}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 0), "field"), "probability");
    api_resp_free(r);
    r = api_get("/v1/deals/p1", ws.read);
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "amount") == 1);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    api_resp_free(r);
    /* a soft-deleted deal keeps its values: a partial PUT restores it */
    r = api_req("DELETE", "/v1/deals/p1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = put("/v1/deals/p1", ws.write, "{\"amount\":2}");
    ck_assert_msg(r->status == 200 || r->status == 201, "restore: %ld %s", r->status, r->body);
    ck_assert_str_eq(str(r->json, "name"), "Partial");
    ck_assert(json_is_null(json_object_get(r->json, "deleted_at")));
    api_resp_free(r);

    /* accounts and reps merge the same way */
    r = put("/v1/accounts/pa", ws.write, "{\"industry\":\"tech\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 0), "field"), "name");
    api_resp_free(r);
    r = put("/v1/accounts/pa", ws.write, "{\"name\":\"Acme\",\"region\":\"EMEA\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = put("/v1/accounts/pa", ws.write, "{\"industry\":\"tech\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Acme");
    ck_assert_str_eq(str(r->json, "region"), "EMEA");
    ck_assert_str_eq(str(r->json, "industry"), "tech");
    api_resp_free(r);
    r = put("/v1/reps/pr", ws.write, "{\"name\":\"Ann\",\"role\":\"ae\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = put("/v1/reps/pr", ws.write, "{\"region\":\"EMEA\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Ann");
    ck_assert_str_eq(str(r->json, "role"), "ae");
    api_resp_free(r);
}
END_TEST

START_TEST(deal_batch_per_item_results_and_lists)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json(
        "POST", "/v1/deals/batch", ws.write,
        "{\"items\":[{\"id\":\"d1\",\"name\":\"One\",\"stage\":\"sql\",\"owner\":\"ann\",\"amount\":100,"
        "\"expected_close_date\":\"2026-03-01\"},"
        "{\"id\":\"d2\",\"name\":\"Two\",\"stage\":\"closed_lost\",\"lost_reason\":\"price\",\"owner\":\"bob\"},"
        "{\"id\":\"d3\",\"name\":\"Three\",\"stage\":\"BAD\"},"
        "{\"id\":\"d4\",\"name\":\"Four\",\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"2026-05-"
        "01\"}]}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 1);
    json_t *bad = json_array_get(arr(r->json, "results"), 2);
    ck_assert_str_eq(str(bad, "status"), "rejected");
    ck_assert_str_eq(str(json_array_get(arr(bad, "errors"), 0), "field"), "stage");
    api_resp_free(r);

    /* same again: unchanged */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"d1\",\"name\":\"One\",\"stage\":\"sql\"}]}");
    ck_assert_str_eq(str(json_array_get(arr(r->json, "results"), 0), "status"), "unchanged");
    api_resp_free(r);

    r = api_get("/v1/deals?owner=ann", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_get("/v1/deals?status=lost", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "id"), "d2");
    api_resp_free(r);
    r = api_get("/v1/deals?close_from=2026-04-01&close_to=2026-06-30", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "id"), "d4");
    api_resp_free(r);
    r = api_get("/v1/deals?limit=2", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    char path[128];
    snprintf(path, sizeof path, "/v1/deals?limit=2&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);

    /* soft delete: gone from reads, kept in history, restored by a PUT */
    r = api_req("DELETE", "/v1/deals/d1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/deals/d1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals/d1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals?include_deleted=true&stage=sql", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_ptr_nonnull(str(json_array_get(arr(r->json, "items"), 0), "deleted_at"));
    api_resp_free(r);

    r = api_send_json("POST", "/v1/deals/batch", ws.write, "{\"items\":[]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

START_TEST(accounts_and_reps)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/accounts/acme", ws.write,
                      "{\"name\":\"Acme Corporation\",\"industry\":\"technology\",\"employees\":2822,"
                      "\"annual_revenue\":1100040000,\"icp_tier\":\"A\",\"country\":\"United States\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "annual_revenue") == 1100040000.0);
    api_resp_free(r);
    r = put("/v1/accounts/acme", ws.write, "{\"name\":\"Acme Corp\",\"icp_tier\":\"E\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 0), "field"), "icp_tier");
    api_resp_free(r);
    r = put("/v1/accounts/acme", ws.write, "{\"name\":\"Acme Corp\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "employees")), 2822);
    api_resp_free(r);

    r = put("/v1/reps/ann", ws.write,
            "{\"name\":\"Ann Lee\",\"role\":\"ae\",\"manager\":\"mia\",\"quotas\":{\"2026-Q1\":250000,"
            "\"2026-q2\":260000.5},\"start_date\":\"2025-06-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(json_object_get(r->json, "quotas"), "2026-Q2") == 260000.5);
    api_resp_free(r);
    r = put("/v1/reps/ann", ws.write, "{\"name\":\"Ann Lee\",\"role\":\"boss\",\"quotas\":{\"Q5\":1}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 1), "field"), "quotas.Q5");
    api_resp_free(r);
    r = api_send_json(
        "POST", "/v1/reps/batch", ws.write,
        "{\"items\":[{\"id\":\"bob\",\"name\":\"Bob\",\"role\":\"sdr\"},{\"id\":\"ann\",\"name\":\"Ann\"}]}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "updated")), 1);
    api_resp_free(r);
    r = api_get("/v1/reps", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/reps/bob", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get("/v1/accounts/acme", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(crm_cross_workspace_isolation)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    api_resp *r = put("/v1/deals/secret", a.write, "{\"name\":\"A's deal\",\"stage\":\"sql\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = put("/v1/accounts/secret", a.write, "{\"name\":\"A's account\"}");
    api_resp_free(r);
    r = put("/v1/reps/secret", a.write, "{\"name\":\"A's rep\"}");
    api_resp_free(r);
    const char *paths[] = {"/v1/deals/secret", "/v1/accounts/secret", "/v1/reps/secret"};
    const char *lists[] = {"/v1/deals", "/v1/accounts", "/v1/reps"};
    for (int i = 0; i < 3; i++) {
        r = api_get(paths[i], b.admin);
        ck_assert_status(r, 404);
        api_resp_free(r);
        r = api_req("DELETE", paths[i], b.admin, NULL, NULL, 0, NULL);
        ck_assert_status(r, 404);
        api_resp_free(r);
        r = api_get(lists[i], b.admin);
        ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
        api_resp_free(r);
        r = api_get(paths[i], a.read);
        ck_assert_status(r, 200);
        api_resp_free(r);
    }
    /* B writing the same id creates B's own row; A's is untouched */
    r = put("/v1/deals/secret", b.write, "{\"name\":\"B's deal\",\"stage\":\"mql\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_get("/v1/deals/secret", a.read);
    ck_assert_str_eq(str(r->json, "name"), "A's deal");
    api_resp_free(r);
}
END_TEST

/* deal_apply_set (0016) applies a list of changes a round at a time, many
 * deals per statement. Its results must be what applying the same changes one
 * by one gave before it: deal_apply as 0012 left it, loaded from its migration
 * into pg_temp, is the reference. 400 generated changes to 12 deals (so up to
 * dozens of rounds), with out-of-order times, stage and status moves, close
 * date pushes, explicit stage times and deletes; every result, deal column
 * and history row is compared. */
static unsigned lcg(unsigned *s) { return *s = *s * 1103515245u + 12345u, (*s >> 16) & 0x7fff; }

static json_t *generated_ops(void)
{
    static const char *stages[] = {"lead", "qualified", "proposal", "negotiation", "closed_won", "closed_lost"};
    static const char *statuses[] = {"open", "won", "lost"};
    unsigned seed = 20261128;
    json_t *ops = json_array();
    for (int i = 0; i < 400; i++) {
        char id[16], v[40];
        snprintf(id, sizeof id, "eq-%u", lcg(&seed) % 12);
        unsigned minute = lcg(&seed) % 2000; /* often older than the deal's last change */
        json_t *op = json_pack("{s:s, s:s}", "id", id, "origin", (lcg(&seed) % 2) ? "hubspot" : "api");
        char ts[64];
        snprintf(ts, sizeof ts, "2026-03-%02uT%02u:%02u:00Z", 1 + minute / 1440 * 3, (minute / 60) % 24, minute % 60);
        json_object_set_new(op, "at", json_string(ts));
        if (lcg(&seed) % 20 == 0) {
            json_object_set_new(op, "op", json_string("delete"));
            json_array_append_new(ops, op);
            continue;
        }
        json_t *patch = json_object();
        int nf = 1 + (int)(lcg(&seed) % 4);
        for (int f = 0; f < nf; f++) {
            switch (lcg(&seed) % 9) {
            case 0:
                snprintf(v, sizeof v, "Deal %u", lcg(&seed) % 50);
                json_object_set_new(patch, "name", json_string(v));
                break;
            case 1:
                json_object_set_new(patch, "amount_cents", json_integer(lcg(&seed) * 37));
                break;
            case 2:
            case 3:
                json_object_set_new(patch, "stage", json_string(stages[lcg(&seed) % 6]));
                break;
            case 4:
                json_object_set_new(patch, "status", json_string(statuses[lcg(&seed) % 3]));
                break;
            case 5:
                snprintf(v, sizeof v, "2026-%02u-%02u", 1 + lcg(&seed) % 12, 1 + lcg(&seed) % 28);
                json_object_set_new(patch, "expected_close_date", json_string(v));
                break;
            case 6:
                json_object_set_new(patch, "probability", json_real((lcg(&seed) % 101) / 100.0));
                break;
            case 7:
                snprintf(v, sizeof v, "rep-%u", lcg(&seed) % 5);
                json_object_set_new(patch, "owner", json_string(v));
                break;
            default:
                snprintf(v, sizeof v, "2026-02-%02uT08:00:00Z", 1 + lcg(&seed) % 28);
                json_object_set_new(patch, (lcg(&seed) % 2) ? "closed_at" : "created_at", json_string(v));
            }
        }
        json_object_set_new(op, "patch", patch);
        unsigned sa = lcg(&seed) % 6;
        if (sa == 0)
            json_object_set_new(op, "stage_at", json_null());
        else if (sa == 1)
            json_object_set_new(op, "stage_at", json_string("2026-02-27T12:00:00Z"));
        json_array_append_new(ops, op);
    }
    /* then a change to each deal later than all of the above: it restores the deals
     * deleted at that point (the event-time rule for deletes) */
    for (int i = 0; i < 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "eq-%d", i);
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:{s:i}}", "id", id, "origin", "api", "at",
                                             "2026-03-06T00:00:00Z", "patch", "amount_cents", 4200 + i));
    }
    return ops;
}

/* s with its one occurrence of old replaced by new (the reference's rule
 * changes, each checked to be there); frees s. */
static char *replace_once(char *s, const char *old, const char *new)
{
    char *at = strstr(s, old);
    ck_assert_msg(at != NULL && strstr(at + 1, old) == NULL, "not once in the reference: %s", old);
    char *out = calloc(1, strlen(s) - strlen(old) + strlen(new) + 1);
    memcpy(out, s, (size_t)(at - s));
    strcat(out, new);
    strcat(out, at + strlen(old));
    free(s);
    return out;
}

static void pg_ok(PGconn *pg, PGresult *r)
{
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK, "%s",
                  PQerrorMessage(pg));
}

START_TEST(deal_apply_set_matches_one_by_one)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "SET TimeZone = 'UTC'"));
    /* the reference: 0012's deal_apply, renamed into pg_temp */
    char *ref = api_slurp("migrations/0012_deal_apply_create_race.sql");
    const char *head = "CREATE OR REPLACE FUNCTION deal_apply(";
    char *at = strstr(ref, head);
    ck_assert(at != NULL);
    size_t hl = strlen(head);
    const char *nh = "CREATE FUNCTION pg_temp.deal_apply_0012(";
    char *sql = calloc(1, strlen(at) + strlen(nh) + 1);
    strcpy(sql, nh);
    strcat(sql, at + hl);
    /* with 0022's rule: a new deal entered its first stage when it was created (closed: when it closed) */
    const char *old_entered = "n.stage_entered_at := CASE WHEN has_stage_at THEN stage_at ELSE at END;";
    const char *new_entered = "n.stage_entered_at := CASE WHEN has_stage_at THEN stage_at"
                              " WHEN created AND n.stage IN ('closed_won', 'closed_lost') AND n.closed_at IS NOT NULL"
                              " THEN LEAST(n.closed_at, at) WHEN created AND n.created_at < at THEN n.created_at"
                              " ELSE at END;";
    sql = replace_once(sql, old_entered, new_entered);
    /* with the event-time rule for deletes (docs/webhooks.md): only a change later than the delete restores a
     * deleted deal, with a deleted true -> false row first; an older one is merged, hidden */
    sql =
        replace_once(sql, "    old := to_jsonb(d);\n",
                     "    old := to_jsonb(d);\n"
                     "    IF d.deleted_at < at THEN\n"
                     "        INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at,"
                     " applied, origin) VALUES (ws, ext, 'deleted', 'true', 'false', at, true, origin);\n"
                     "    END IF;\n");
    sql = replace_once(
        sql, "field_changed_at = fca, deleted_at = NULL,",
        "field_changed_at = fca, deleted_at = CASE WHEN d.deleted_at < at THEN NULL ELSE d.deleted_at END,");
    sql = replace_once(sql, "updated_at = CASE WHEN nchanged > 0 OR created OR d.deleted_at IS NOT NULL THEN",
                       "updated_at = CASE WHEN nchanged > 0 OR created OR d.deleted_at < at THEN");
    sql = replace_once(sql, "ELSIF nchanged > 0 OR d.deleted_at IS NOT NULL THEN",
                       "ELSIF nchanged > 0 OR d.deleted_at < at THEN");
    PGresult *r = PQexec(pg, sql);
    pg_ok(pg, r);
    PQclear(r);
    free(sql);
    free(ref);
    r = PQexec(pg, "CREATE FUNCTION pg_temp.apply_one_by_one(ws uuid, ops jsonb) RETURNS text[]"
                   " LANGUAGE plpgsql AS $$ DECLARE o jsonb; res text[] := '{}'; BEGIN"
                   " FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP"
                   "  IF o ->> 'op' = 'delete' THEN"
                   "   res := res || deal_delete(ws, o ->> 'id', (o ->> 'at')::timestamptz, o ->> 'origin');"
                   "  ELSE res := res || pg_temp.deal_apply_0012(ws, o ->> 'id', o -> 'patch',"
                   "   (o ->> 'at')::timestamptz, o ->> 'origin', o ? 'stage_at', (o ->> 'stage_at')::timestamptz);"
                   "  END IF; END LOOP; RETURN res; END $$");
    pg_ok(pg, r);
    PQclear(r);

    json_t *ops = generated_ops();
    char *ops_text = json_dumps(ops, JSON_COMPACT);
    json_decref(ops);
    const char *pa[] = {a.id, ops_text};
    r = PQexecParams(pg, "SELECT pg_temp.apply_one_by_one($1::uuid, $2::jsonb)::text", 2, NULL, pa, NULL, NULL, 0);
    pg_ok(pg, r);
    char *want = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *pb[] = {b.id, ops_text};
    r = PQexecParams(pg, "SELECT array_agg(result ORDER BY n)::text FROM deal_apply_set($1::uuid, $2::jsonb)", 2, NULL,
                     pb, NULL, NULL, 0);
    pg_ok(pg, r);
    ck_assert_str_eq(PQgetvalue(r, 0, 0), want);
    ck_assert(strstr(want, "stale") && strstr(want, "deleted") && strstr(want, "created")); /* the mix happened */
    PQclear(r);
    /* and the delete rules were exercised: stale deletes, changes merged into a deleted deal
     * without restoring it, and restores */
    const char *pbid[] = {b.id};
    r = PQexecParams(pg,
                     "SELECT count(*) FILTER (WHERE field = 'deleted' AND NOT applied),"
                     " count(*) FILTER (WHERE field = 'deleted' AND applied AND new_value = 'false'),"
                     " count(*) FILTER (WHERE field <> 'deleted' AND applied AND EXISTS ("
                     "   SELECT 1 FROM deal_changes x WHERE x.workspace_id = c.workspace_id AND x.deal_id = c.deal_id"
                     "   AND x.field = 'deleted' AND x.applied AND x.new_value = 'true' AND x.id < c.id"
                     "   AND x.changed_at > c.changed_at AND NOT EXISTS ("
                     "     SELECT 1 FROM deal_changes y WHERE y.workspace_id = x.workspace_id AND y.deal_id = x.deal_id"
                     "     AND y.field = 'deleted' AND y.applied AND y.id > x.id AND y.id < c.id)))"
                     " FROM deal_changes c WHERE c.workspace_id = $1::uuid",
                     1, NULL, pbid, NULL, NULL, 0);
    pg_ok(pg, r);
    ck_assert_msg(atoi(PQgetvalue(r, 0, 0)) > 0 && atoi(PQgetvalue(r, 0, 1)) > 0 && atoi(PQgetvalue(r, 0, 2)) > 0,
                  "stale deletes %s, restores %s, changes merged hidden %s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
                  PQgetvalue(r, 0, 2));
    PQclear(r);
    free(want);
    free(ops_text);

    /* every column but the workspace and the wall-clock times; history rows in each deal's order */
    const char *pab[] = {a.id, b.id};
    static const char *compare[] = {
        "SELECT external_id, name, amount_cents, currency, stage, status, forecast_category, probability,"
        " expected_close_date, created_at, closed_at, owner, account, segment, source, lost_reason,"
        " last_activity_at, pipeline, custom, stage_entered_at, push_count, field_changed_at, deleted_at"
        " FROM deals WHERE workspace_id = $W",
        "SELECT deal_id, row_number() OVER (PARTITION BY deal_id ORDER BY id), field, old_value, new_value,"
        " changed_at, applied, origin FROM deal_changes WHERE workspace_id = $W",
        "SELECT deal_id, row_number() OVER (PARTITION BY deal_id ORDER BY id), stage, entered_at, origin"
        " FROM deal_stage_history WHERE workspace_id = $W",
    };
    for (size_t i = 0; i < sizeof compare / sizeof *compare; i++) {
        char q[4096], qa[700], qb[700];
        snprintf(qa, sizeof qa, "%s", compare[i]);
        snprintf(qb, sizeof qb, "%s", compare[i]);
        strcpy(strstr(qa, "$W"), "$1::uuid");
        strcpy(strstr(qb, "$W"), "$2::uuid");
        snprintf(q, sizeof q,
                 "SELECT (SELECT count(*) FROM (%s) x), (SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x),"
                 " (SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) x)",
                 qa, qa, qb, qb, qa);
        r = PQexecParams(pg, q, 2, NULL, pab, NULL, NULL, 0);
        pg_ok(pg, r);
        static const int at_least[] = {10, 100, 20}; /* so the comparison is never of nothing */
        ck_assert_msg(atoi(PQgetvalue(r, 0, 0)) > at_least[i], "query %zu: only %s rows", i, PQgetvalue(r, 0, 0));
        ck_assert_msg(strcmp(PQgetvalue(r, 0, 1), "0") == 0 && strcmp(PQgetvalue(r, 0, 2), "0") == 0,
                      "query %zu: %s rows only one by one, %s only set-wise", i, PQgetvalue(r, 0, 1),
                      PQgetvalue(r, 0, 2));
        PQclear(r);
    }
    PQfinish(pg);
}
END_TEST

/* One text value of a query with the workspace id as $1 and the test's
 * "now" (a timestamptz read once, so that every statement's times agree) as $2. */
static char *ws_value(PGconn *pg, const char *ws, const char *t, const char *sql)
{
    const char *p[] = {ws, t};
    PGresult *r = PQexecParams(pg, sql, strstr(sql, "$2") ? 2 : 1, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql, PQerrorMessage(pg));
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static void ws_value_is(PGconn *pg, const char *ws, const char *t, const char *sql, const char *want)
{
    char *v = ws_value(pg, ws, t, sql);
    ck_assert_msg(strcmp(v, want) == 0, "%s: got %s, want %s", sql, v, want);
    free(v);
}

/* Deletes in a list of changes (deal_apply_set: the writer of the webhook
 * appliers, a sync endpoint and deal_apply_many) and one by one
 * (webhook_apply_ops_raw: replays, and a batch whose set-wise pass failed)
 * under the event-time rule (docs/webhooks.md): a delete older than a field's
 * change is stale; a change older than a delete is merged but leaves the deal
 * deleted; a later one restores it. Times relative to now(). */
START_TEST(deal_deletes_follow_event_time)
{
    api_ws ws;
    api_new_workspace(&ws);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    char *t = ws_value(pg, ws.id, "", "SELECT now()::text WHERE $1::uuid IS NOT NULL OR $2::text IS NOT NULL");
    /* t0 = now - 60 min < t1 = now - 50 min < t2 = now - 40 min < t3 = now - 30 min; one list, so
     * each deal's changes go in rounds in list order */
    ws_value_is(pg, ws.id, t,
                "SELECT array_agg(result ORDER BY n)::text FROM deal_apply_set($1::uuid, jsonb_build_array("
                " jsonb_build_object('id', 'b-stale', 'patch', '{\"name\": \"S\", \"stage\": \"proposal\"}'::jsonb,"
                "                    'at', $2::timestamptz - interval '40 min'),"
                " jsonb_build_object('id', 'b-stale', 'op', 'delete', 'at', $2::timestamptz - interval '50 min', "
                "'origin', 'hubspot'),"
                " jsonb_build_object('id', 'b-hidden', 'patch', '{\"name\": \"H\", \"stage\": \"proposal\", "
                "\"amount_cents\": 10000}'::jsonb,"
                "                    'at', $2::timestamptz - interval '70 min'),"
                " jsonb_build_object('id', 'b-hidden', 'op', 'delete', 'at', $2::timestamptz - interval '50 min'),"
                " jsonb_build_object('id', 'b-hidden', 'patch', '{\"amount_cents\": 25000}'::jsonb, 'at', "
                "$2::timestamptz - interval '60 min'),"
                " jsonb_build_object('id', 'b-none', 'op', 'delete', 'at', $2::timestamptz - interval '50 min')))",
                "{created,stale,created,deleted,updated,unchanged}");
    /* the stale delete: the deal is live, the delete recorded as not applied */
    ws_value_is(pg, ws.id, t,
                "SELECT deleted_at IS NULL FROM deals WHERE workspace_id = $1::uuid AND external_id = 'b-stale'", "t");
    ws_value_is(pg, ws.id, t,
                "SELECT string_agg(concat_ws(' ', field, old_value, new_value, applied, origin,"
                " changed_at = $2::timestamptz - interval '50 min'), '; ' ORDER BY id) FROM deal_changes"
                " WHERE workspace_id = $1::uuid AND deal_id = 'b-stale' AND field = 'deleted'",
                "deleted false true f hubspot t");
    /* the change older than the delete: merged, the deal still deleted (at t1) */
    ws_value_is(pg, ws.id, t,
                "SELECT concat_ws(' ', amount_cents, deleted_at = $2::timestamptz - interval '50 min') FROM deals"
                " WHERE workspace_id = $1::uuid AND external_id = 'b-hidden'",
                "25000 t");
    ws_value_is(pg, ws.id, t, "SELECT count(*) FROM deals WHERE workspace_id = $1::uuid AND external_id = 'b-none'",
                "0");

    /* one by one: the same rule */
    ws_value_is(pg, ws.id, t,
                "SELECT status || ' ' || detail FROM webhook_apply_ops_raw($1::uuid, jsonb_build_array("
                " jsonb_build_object('op', 'delete', 'id', 'b-stale', 'at', $2::timestamptz - interval '45 min', "
                "'origin', 'hubspot')))",
                "stale stale");
    ws_value_is(pg, ws.id, t,
                "SELECT status || ' ' || detail FROM webhook_apply_ops_raw($1::uuid, jsonb_build_array("
                " jsonb_build_object('op', 'apply', 'id', 'b-hidden', 'patch', '{\"owner\": \"ann\"}'::jsonb,"
                "                    'at', $2::timestamptz - interval '55 min', 'origin', 'hubspot')))",
                "applied updated");
    ws_value_is(pg, ws.id, t,
                "SELECT concat_ws(' ', owner, deleted_at IS NOT NULL) FROM deals"
                " WHERE workspace_id = $1::uuid AND external_id = 'b-hidden'",
                "ann t");
    ws_value_is(pg, ws.id, t,
                "SELECT count(*) FROM deal_changes WHERE workspace_id = $1::uuid AND deal_id = 'b-stale'"
                " AND field = 'deleted' AND NOT applied",
                "2");

    /* a change later than the delete restores the deal, with the values merged meanwhile */
    ws_value_is(pg, ws.id, t,
                "SELECT array_agg(result ORDER BY n)::text FROM deal_apply_set($1::uuid, jsonb_build_array("
                " jsonb_build_object('id', 'b-hidden', 'patch', '{\"name\": \"H2\"}'::jsonb, 'at', $2::timestamptz - "
                "interval '30 min'),"
                " jsonb_build_object('id', 'b-stale', 'op', 'delete', 'at', $2::timestamptz - interval '35 min')))",
                "{updated,deleted}");
    ws_value_is(pg, ws.id, t,
                "SELECT concat_ws(' ', name, amount_cents, owner, deleted_at IS NULL) FROM deals"
                " WHERE workspace_id = $1::uuid AND external_id = 'b-hidden'",
                "H2 25000 ann t");
    ws_value_is(pg, ws.id, t,
                "SELECT string_agg(concat_ws(' ', field, old_value, new_value, applied), '; ' ORDER BY id)"
                " FROM deal_changes WHERE workspace_id = $1::uuid AND deal_id = 'b-hidden'"
                " AND changed_at = $2::timestamptz - interval '30 min'",
                "deleted true false t; name \"H\" \"H2\" t");
    api_resp *r = api_get("/v1/deals/b-hidden", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
    free(t);
    PQfinish(pg);
}
END_TEST

/* DELETE /v1/deals/{id} is the user's explicit act: it deletes a live deal
 * whatever its field times (one later than the server's clock is a sender's
 * clock skew), where a webhook delete at the same moment is stale. A PUT then
 * follows the event-time rule: older than the deletion, merged but still
 * deleted (the answer shows deleted_at); later, it restores the deal. */
START_TEST(deal_delete_by_the_user_wins_over_field_times)
{
    api_ws ws;
    api_new_workspace(&ws);
    char as_of[32], body[200];
    time_t ahead = time(NULL) + 120; /* within the 5 minutes of skew PUT accepts */
    strftime(as_of, sizeof as_of, "%Y-%m-%dT%H:%M:%SZ", gmtime(&ahead));
    snprintf(body, sizeof body, "{\"name\":\"Skewed\",\"stage\":\"proposal\",\"as_of\":\"%s\"}", as_of);
    api_resp *r = put("/v1/deals/skew", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *t = "-infinity"; /* unused: this test's times are the server's now() */
    ws_value_is(pg, ws.id, t,
                "SELECT deal_delete($1::uuid, 'skew', now(), 'hubspot') WHERE $2::timestamptz IS NOT NULL", "stale");
    r = api_get("/v1/deals/skew", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/deals/skew", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get("/v1/deals/skew", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    ws_value_is(pg, ws.id, t,
                "SELECT string_agg(concat_ws(' ', applied, origin), '; ' ORDER BY id) FROM deal_changes"
                " WHERE workspace_id = $1::uuid AND deal_id = 'skew' AND field = 'deleted' AND $2::text IS NOT NULL",
                "f hubspot; t api");
    /* a PUT older than the deletion is merged, and says the deal is still deleted */
    time_t before = time(NULL) - 600;
    strftime(as_of, sizeof as_of, "%Y-%m-%dT%H:%M:%SZ", gmtime(&before));
    snprintf(body, sizeof body, "{\"amount\":5,\"as_of\":\"%s\"}", as_of);
    r = put("/v1/deals/skew", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "amount") == 5);
    ck_assert_ptr_nonnull(str(r->json, "deleted_at"));
    api_resp_free(r);
    r = api_get("/v1/deals/skew", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    /* a PUT now, later than the deletion, restores it */
    r = put("/v1/deals/skew", ws.write, "{\"amount\":6}");
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "amount") == 6);
    ck_assert(json_is_null(json_object_get(r->json, "deleted_at")));
    api_resp_free(r);
    PQfinish(pg);
}
END_TEST

Suite *crm_suite(void)
{
    Suite *s = suite_create("crm");
    TCase *tc = tcase_create("crm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deal_create_update_history_and_out_of_order);
    tcase_add_test(tc, deal_validation_names_fields);
    tcase_add_test(tc, partial_put_keeps_absent_fields);
    tcase_add_test(tc, deal_batch_per_item_results_and_lists);
    tcase_add_test(tc, accounts_and_reps);
    tcase_add_test(tc, crm_cross_workspace_isolation);
    tcase_add_test(tc, deal_apply_set_matches_one_by_one);
    tcase_add_test(tc, deal_deletes_follow_event_time);
    tcase_add_test(tc, deal_delete_by_the_user_wins_over_field_times);
    suite_add_tcase(s, tc);
    return s;
}
