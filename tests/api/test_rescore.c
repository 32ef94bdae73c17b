/* test_rescore.c - POST /v1/leads/rescore (issue 19): every lead of a
 * workspace scored at once and stored, equal lead by lead to GET
 * /v1/leads/{id}/score (the seed's golden cases exactly, and a few hundred
 * generated leads as of now and as of a past time), auto-MQL moves the way a
 * new activity makes them, isolation, roles and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* "YYYY-MM-DDTHH:MM:SSZ" for the day offset from today. */
static void ts(int offset_days, const char *hms, char out[32])
{
    char d[11];
    snprintf(out, 32, "%sT%sZ", api_day(offset_days, d), hms);
}

static void ok(api_resp *r, int status)
{
    ck_assert_status(r, status);
    api_resp_free(r);
}

static api_resp *rescore(const char *key, const char *body)
{
    return body ? api_send_json("POST", "/v1/leads/rescore", key, body)
                : api_req("POST", "/v1/leads/rescore", key, NULL, NULL, 0, NULL);
}

/* The default model's id; the seed's YAML with extra put in its place (version
 * want_version + 1). */
static void put_model(const api_ws *ws, const char *extra, int version)
{
    api_resp *r = api_get("/v1/scoring-models", ws->read);
    ck_assert_status(r, 200);
    char path[96], im[40];
    snprintf(path, sizeof path, "/v1/scoring-models/%s",
             str(json_array_get(json_object_get(r->json, "items"), 0), "id"));
    api_resp_free(r);
    char *yaml = api_slurp("tests/data/lead-scoring.yaml");
    ck_assert_ptr_nonnull(yaml);
    size_t cap = strlen(yaml) + strlen(extra) + 8;
    char *doc = malloc(cap);
    snprintf(doc, cap, "%s\n%s", yaml, extra);
    free(yaml);
    snprintf(im, sizeof im, "If-Match: \"v%d\"", version);
    const char *h[] = {im, NULL};
    r = api_req("PUT", path, ws->write, "application/yaml", doc, strlen(doc), h);
    free(doc);
    ok(r, 200);
}

/* GET /v1/leads/{id}/score (as_of NULL: now) -> the score */
static long long live_score(const api_ws *ws, const char *id, const char *as_of)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/leads/%s/score%s%s", id, as_of ? "?as_of=" : "", as_of ? as_of : "");
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    long long s = num(r->json, "score");
    api_resp_free(r);
    return s;
}

/* GET /v1/leads/{id} -> its stored_score (a new reference; NULL when null) */
static json_t *stored(const api_ws *ws, const char *id)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/leads/%s", id);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    json_t *s = json_object_get(r->json, "stored_score");
    ck_assert_msg(s != NULL, "no stored_score in %s", r->body);
    json_t *out = json_is_null(s) ? NULL : json_incref(s);
    api_resp_free(r);
    return out;
}

static void assert_counts(const json_t *j, long long scored, long long below, long long mql, long long hot,
                          long long crossed, long long changed, long long removed)
{
    const json_t *b = json_object_get(j, "bands");
    char *t = json_dumps(j, JSON_COMPACT);
    ck_assert_msg(num(j, "leads_scored") == scored && num(b, "below_mql") == below && num(b, "mql") == mql &&
                      num(b, "hot") == hot && num(j, "crossed_mql") == crossed && num(j, "scores_changed") == changed &&
                      num(j, "scores_removed") == removed,
                  "want %lld scored (%lld/%lld/%lld), %lld crossed, %lld changed, %lld removed; got %s", scored, below,
                  mql, hot, crossed, changed, removed, t);
    free(t);
}

/* The seed's golden cases (test_leads.c scores them one by one): a pricing
 * visit 20 days old has decayed to 10, a competitor's domain is -100, the
 * thresholds make the bands. */
START_TEST(rescore_golden_cases_and_stored_scores)
{
    api_ws ws;
    api_new_workspace(&ws);
    put_model(&ws, "icp:\n  competitor_domains: [rival.example]\n  industries: [Software]\n", 1);
    char t30[32], t20[32], t10[32], t5[32], t3[32], t2[32], t1[32], body[2048];
    ts(-30, "09:00:00", t30);
    ts(-20, "09:00:00", t20);
    ts(-10, "09:00:00", t10);
    ts(-5, "09:00:00", t5);
    ts(-3, "09:00:00", t3);
    ts(-2, "09:00:00", t2);
    ts(-1, "09:00:00", t1);
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"S-1\",\"email\":\"ann@acme.example\",\"title\":\"Engineer\",\"as_of\":\"%s\"},"
             "{\"id\":\"M-1\",\"email\":\"m@acme.example\",\"as_of\":\"%s\"},"
             "{\"id\":\"H-1\",\"email\":\"h@soft.example\",\"industry\":\"Software\",\"as_of\":\"%s\"},"
             "{\"id\":\"D-1\",\"email\":\"d@acme.example\",\"as_of\":\"%s\"},"
             "{\"id\":\"S-1\",\"title\":\"VP Sales\",\"as_of\":\"%s\"}]}",
             t30, t30, t30, t30, t5);
    ok(api_send_json("POST", "/v1/leads/batch", ws.write, body), 200);
    snprintf(body, sizeof body, "{\"email\":\"spy@rival.example\",\"as_of\":\"%s\"}", t5);
    ok(api_send_json("PUT", "/v1/leads/S-2", ws.write, body), 201);
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"p1\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"S-1\"},"
             "{\"id\":\"d1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"S-1\"},"
             "{\"id\":\"m1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"m2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"m3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"h1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"H-1\"},"
             "{\"id\":\"h2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"H-1\"},"
             "{\"id\":\"h3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"H-1\"},"
             "{\"id\":\"h4\",\"type\":\"content_download\",\"occurred_at\":\"%s\",\"lead\":\"H-1\"},"
             "{\"id\":\"h5\",\"type\":\"chatbot\",\"occurred_at\":\"%s\",\"lead\":\"H-1\"},"
             "{\"id\":\"x1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"D-1\"},"
             "{\"id\":\"x2\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"NOBODY\"}]}",
             t20, t10, t2, t2, t1, t3, t3, t2, t2, t1, t2, t2);
    ok(api_send_json("POST", "/v1/activities/batch", ws.write, body), 200);
    ok(api_req("DELETE", "/v1/leads/D-1", ws.write, NULL, NULL, 0, NULL), 204);
    ck_assert_ptr_null(stored(&ws, "S-1"));

    /* now: S-1 10 + 25 + 10 = 45, S-2 -100, M-1 25 + 12 + 15 = 52 (mql),
     * H-1 min(25 + 12 + 15 + 10 + 5, 60) + 15 = 75 (hot); D-1 is deleted */
    api_resp *r = rescore(ws.write, NULL);
    ck_assert_status(r, 200);
    assert_counts(r->json, 4, 2, 1, 1, 2, 4, 0);
    ck_assert_int_eq(num(r->json, "activities"), 10);
    ck_assert(!json_is_true(json_object_get(r->json, "auto_mql")));
    ck_assert_int_eq(num(r->json, "moved_to_mql"), 0);
    ck_assert_int_eq(num(json_object_get(r->json, "model"), "version"), 2);
    char now_as_of[32];
    snprintf(now_as_of, sizeof now_as_of, "%s", str(r->json, "as_of"));
    api_resp_free(r);
    static const struct {
        const char *id, *band;
        long long score;
    } want[] = {{"S-1", "below_mql", 45}, {"S-2", "below_mql", -100}, {"M-1", "mql", 52}, {"H-1", "hot", 75}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *s = stored(&ws, want[i].id);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(num(s, "score"), want[i].score);
        ck_assert_str_eq(str(s, "band"), want[i].band);
        ck_assert_str_eq(str(s, "as_of"), now_as_of);
        ck_assert_int_eq(num(json_object_get(s, "model"), "version"), 2);
        json_decref(s);
        ck_assert_int_eq(live_score(&ws, want[i].id, now_as_of), want[i].score);
    }

    /* as of 10 days ago: S-1's visit was 10 days old (15) and its title
     * Engineer: 40; M-1 had no activity yet, H-1 only its industry; S-2 did
     * not exist (its stored score goes) */
    snprintf(body, sizeof body, "{\"as_of\":\"%s\"}", t10);
    r = rescore(ws.admin, body);
    ck_assert_status(r, 200);
    assert_counts(r->json, 3, 3, 0, 0, 0, 3, 1);
    ck_assert_str_eq(str(r->json, "as_of"), t10);
    api_resp_free(r);
    json_t *s = stored(&ws, "S-1");
    ck_assert_int_eq(num(s, "score"), 40);
    ck_assert_str_eq(str(s, "as_of"), t10);
    json_decref(s);
    s = stored(&ws, "H-1");
    ck_assert_int_eq(num(s, "score"), 15);
    json_decref(s);
    ck_assert_int_eq(live_score(&ws, "H-1", t10), 15);
    ck_assert_int_eq(live_score(&ws, "M-1", t10), 0);
    ck_assert_ptr_null(stored(&ws, "S-2"));

    /* back to now: M-1 and H-1 cross 50 again; then nothing changes */
    r = rescore(ws.write, "{}");
    ck_assert_status(r, 200);
    assert_counts(r->json, 4, 2, 1, 1, 2, 4, 0);
    api_resp_free(r);
    r = rescore(ws.write, NULL);
    ck_assert_status(r, 200);
    assert_counts(r->json, 4, 2, 1, 1, 0, 0, 0);
    api_resp_free(r);
}
END_TEST

/* A small deterministic generator (no calendar, no libc rand state). */
static unsigned long long lcg_state;
static unsigned lcg(unsigned n)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((lcg_state >> 33) % n);
}

#define GEN_LEADS 300

/* 300 generated leads over the seed model with an ICP: the stored score of
 * each equals GET /v1/leads/{id}/score, as of now and as of a week ago (some
 * leads' fields changed since then, some activities are after it). */
START_TEST(rescore_equals_the_live_score_of_every_lead)
{
    api_ws ws;
    api_new_workspace(&ws);
    put_model(&ws,
              "icp:\n  competitor_domains: [rival.example]\n  industries: [Software, Fintech]\n"
              "  geographies: [US, DE]\n  company_size: {min: 50, max: 1000}\n",
              1);
    lcg_state = 19;
    static const char *const emails[] = {"acme.example", "rival.example", "uni.edu", "mail.example", "cs.ox.ac.uk"};
    static const char *const industries[] = {"Software", "Retail", "Fintech", NULL};
    static const char *const titles[] = {"VP Sales", "Engineer", "Head of Growth", NULL};
    static const char *const seniorities[] = {"director", "ic", NULL};
    static const char *const geos[] = {"US", "DE", "FR", NULL};
    static const char *const types[] = {
        "page_view",  "pricing_page_view", "content_download", "webinar_attended", "demo_request",
        "email_open", "email_click",       "chatbot",          "form_submit",      "call",
        "meeting",    "unsubscribe",       "email_bounce",     "page_view",        "page_view",
        "email_open"};
    char t90[32], t7[32];
    ts(-90, "08:00:00", t90);
    ts(-7, "12:00:00", t7);
    size_t cap = 400000;
    char *body = malloc(cap);
    size_t n = (size_t)snprintf(body, cap, "{\"items\":[");
    for (int i = 0; i < GEN_LEADS; i++) {
        if (i % 100 == 0 && i) { /* the body limit is 64 KB */
            snprintf(body + n, cap - n, "]}");
            ok(api_send_json("POST", "/v1/leads/batch", ws.write, body), 200);
            n = (size_t)snprintf(body, cap, "{\"items\":[");
        }
        const char *ind = industries[lcg(4)], *title = titles[lcg(4)], *sen = seniorities[lcg(3)], *geo = geos[lcg(4)];
        n += (size_t)snprintf(body + n, cap - n, "%s{\"id\":\"G-%03d\",\"email\":\"p%d@%s\",\"as_of\":\"%s\"",
                              i % 100 ? "," : "", i, i, emails[lcg(5)], t90);
        if (ind)
            n += (size_t)snprintf(body + n, cap - n, ",\"industry\":\"%s\"", ind);
        if (title)
            n += (size_t)snprintf(body + n, cap - n, ",\"title\":\"%s\"", title);
        if (sen)
            n += (size_t)snprintf(body + n, cap - n, ",\"seniority\":\"%s\"", sen);
        if (geo)
            n += (size_t)snprintf(body + n, cap - n, ",\"geography\":\"%s\"", geo);
        if (lcg(4))
            n += (size_t)snprintf(body + n, cap - n, ",\"company_size\":%u", 10 + lcg(2000));
        n += (size_t)snprintf(body + n, cap - n, "}");
    }
    /* a third of them changed title or industry three days ago */
    char t3[32];
    ts(-3, "10:00:00", t3);
    for (int i = 0; i < GEN_LEADS; i += 3)
        n += (size_t)snprintf(body + n, cap - n, ",{\"id\":\"G-%03d\",\"%s\":\"%s\",\"as_of\":\"%s\"}", i,
                              i % 2 ? "title" : "industry", i % 2 ? "Chief Revenue Officer" : "Software", t3);
    snprintf(body + n, cap - n, "]}");
    ok(api_send_json("POST", "/v1/leads/batch", ws.write, body), 200);
    /* activities in batches of 250: 0 to 19 a lead over the last 60 days,
     * some at the same second, visits in a few sessions */
    int aid = 0, in_batch = 0;
    n = (size_t)snprintf(body, cap, "{\"items\":[");
    for (int i = 0; i < GEN_LEADS; i++) {
        int k = (int)lcg(20);
        char at[32] = "";
        for (int a = 0; a < k; a++) {
            if (!at[0] || lcg(5)) { /* else the same time as the one before */
                char hms[16];
                int day = -(int)lcg(60) - 1;
                /* some at a half second or just under it: ages round as GET's do */
                static const char *const frac[] = {"", "", "", ".5", ".499999"};
                snprintf(hms, sizeof hms, "%02u:%02u:%02u%s", lcg(24), lcg(60), lcg(60), frac[lcg(5)]);
                ts(day, hms, at);
            }
            n += (size_t)snprintf(body + n, cap - n,
                                  "%s{\"id\":\"ga%05d\",\"type\":\"%s\",\"occurred_at\":\"%s\",\"lead\":\"G-%03d\"",
                                  in_batch ? "," : "", aid++, types[lcg(16)], at, i);
            if (lcg(3))
                n += (size_t)snprintf(body + n, cap - n, ",\"session\":\"s%03d-%u\"", i, lcg(3));
            n += (size_t)snprintf(body + n, cap - n, "}");
            if (++in_batch == 250) { /* the body limit is 64 KB */
                snprintf(body + n, cap - n, "]}");
                ok(api_send_json("POST", "/v1/activities/batch", ws.write, body), 200);
                n = (size_t)snprintf(body, cap, "{\"items\":[");
                in_batch = 0;
            }
        }
    }
    if (in_batch) {
        snprintf(body + n, cap - n, "]}");
        ok(api_send_json("POST", "/v1/activities/batch", ws.write, body), 200);
    }
    free(body);
    ck_assert_int_gt(aid, 2000);

    const char *as_ofs[] = {NULL, t7};
    for (int pass = 0; pass < 2; pass++) {
        char rb[64];
        snprintf(rb, sizeof rb, "{\"as_of\":\"%s\"}", t7);
        api_resp *r = rescore(ws.write, pass ? rb : NULL);
        ck_assert_status(r, 200);
        ck_assert_int_eq(num(r->json, "leads_scored"), GEN_LEADS);
        const json_t *b = json_object_get(r->json, "bands");
        ck_assert_int_eq(num(b, "below_mql") + num(b, "mql") + num(b, "hot"), GEN_LEADS);
        char as_of[32];
        snprintf(as_of, sizeof as_of, "%s", str(r->json, "as_of"));
        if (as_ofs[pass])
            ck_assert_str_eq(as_of, as_ofs[pass]);
        api_resp_free(r);
        long long bands[3] = {0, 0, 0}, distinct_nonzero = 0;
        for (int i = 0; i < GEN_LEADS; i++) {
            char id[16];
            snprintf(id, sizeof id, "G-%03d", i);
            json_t *s = stored(&ws, id);
            ck_assert_ptr_nonnull(s);
            long long live = live_score(&ws, id, as_of);
            ck_assert_msg(num(s, "score") == live, "%s as of %s: stored %lld, live %lld", id, as_of, num(s, "score"),
                          live);
            ck_assert_str_eq(str(s, "as_of"), as_of);
            const char *band = str(s, "band");
            bands[strcmp(band, "hot") == 0 ? 2 : strcmp(band, "mql") == 0 ? 1 : 0]++;
            distinct_nonzero += live != 0;
            json_decref(s);
        }
        /* the generated leads cover every band (else the comparison proves little) */
        ck_assert_msg(bands[0] > 0 && bands[1] + bands[2] > 0 && distinct_nonzero > GEN_LEADS / 2,
                      "bands %lld/%lld/%lld", bands[0], bands[1], bands[2]);
    }
}
END_TEST

/* auto_mql: a rescore moves the leads at or above 50 whose stage is before
 * mql, at the rescore's time, and routes them, as a new activity does. */
START_TEST(rescore_moves_to_mql_when_the_model_says_so)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t3[32], t2[32], t1[32], body[2048];
    ts(-3, "09:00:00", t3);
    ts(-2, "09:00:00", t2);
    ts(-1, "09:00:00", t1);
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"M-1\",\"email\":\"m@acme.example\",\"as_of\":\"%s\"},"
             "{\"id\":\"M-2\",\"email\":\"m2@acme.example\",\"lifecycle_stage\":\"sql\",\"as_of\":\"%s\"},"
             "{\"id\":\"M-3\",\"email\":\"m3@acme.example\",\"as_of\":\"%s\"}]}",
             t3, t3, t3);
    ok(api_send_json("POST", "/v1/leads/batch", ws.write, body), 200);
    /* written while auto_mql is off: nothing moves yet */
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"a1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"a2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"a3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"b1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"},"
             "{\"id\":\"b2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"},"
             "{\"id\":\"b3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"},"
             "{\"id\":\"c1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-3\"}]}",
             t2, t2, t1, t2, t2, t1, t2);
    ok(api_send_json("POST", "/v1/activities/batch", ws.write, body), 200);
    api_resp *r = api_get("/v1/leads/M-1", ws.read);
    ck_assert_str_ne(str(r->json, "lifecycle_stage") ? str(r->json, "lifecycle_stage") : "", "mql");
    api_resp_free(r);
    put_model(&ws, "auto_mql: true\n", 1);
    r = rescore(ws.write, NULL);
    ck_assert_status(r, 200);
    ck_assert(json_is_true(json_object_get(r->json, "auto_mql")));
    assert_counts(r->json, 3, 1, 2, 0, 2, 3, 0);
    ck_assert_int_eq(num(r->json, "moved_to_mql"), 1);
    char as_of[32];
    snprintf(as_of, sizeof as_of, "%s", str(r->json, "as_of"));
    api_resp_free(r);
    r = api_get("/v1/leads/M-1", ws.read);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), as_of);
    json_t *h = json_object_get(r->json, "stage_history");
    ck_assert_str_eq(str(json_array_get(h, json_array_size(h) - 1), "origin"), "scoring");
    api_resp_free(r);
    r = api_get("/v1/routing/assignments?lead=M-1", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    api_resp_free(r);
    /* past mql: not moved back; below 50: not moved */
    r = api_get("/v1/leads/M-2", ws.read);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "sql");
    api_resp_free(r);
    r = api_get("/v1/leads/M-3", ws.read);
    ck_assert_str_ne(str(r->json, "lifecycle_stage") ? str(r->json, "lifecycle_stage") : "", "mql");
    api_resp_free(r);
    /* once moved, a second rescore moves nothing */
    r = rescore(ws.write, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "moved_to_mql"), 0);
    api_resp_free(r);
    r = api_get("/v1/routing/assignments?lead=M-1", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    api_resp_free(r);
}
END_TEST

START_TEST(rescore_isolation_roles_and_bad_input)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    /* an empty workspace */
    api_resp *r = rescore(a.write, NULL);
    ck_assert_status(r, 200);
    assert_counts(r->json, 0, 0, 0, 0, 0, 0, 0);
    ck_assert_int_eq(num(r->json, "activities"), 0);
    api_resp_free(r);
    ok(api_send_json("PUT", "/v1/leads/L-1", a.write, "{\"email\":\"a@acme.example\"}"), 201);
    ok(api_send_json("PUT", "/v1/leads/L-1", b.write, "{\"email\":\"spy@uni.edu\"}"), 201);
    ok(api_send_json("PUT", "/v1/leads/L-2", b.write, "{\"email\":\"b2@acme.example\"}"), 201);
    r = rescore(b.write, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "leads_scored"), 2);
    api_resp_free(r);
    json_t *before = stored(&b, "L-1");
    ck_assert_int_eq(num(before, "score"), -30);
    /* a's rescore scores a's one lead and leaves b's stored scores as they were */
    r = rescore(a.write, NULL);
    ck_assert_status(r, 200);
    assert_counts(r->json, 1, 1, 0, 0, 0, 1, 0);
    api_resp_free(r);
    json_t *after = stored(&b, "L-1");
    ck_assert(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    json_t *sa = stored(&a, "L-1");
    ck_assert_int_eq(num(sa, "score"), 0);
    json_decref(sa);
    /* a read key may not; bad bodies are refused with a problem */
    r = rescore(a.read, NULL);
    ck_assert_status(r, 403);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    api_resp_free(r);
    r = rescore(a.write, "{\"as_of\":\"soon\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    ck_assert(strstr(r->body, "as_of") != NULL);
    api_resp_free(r);
    r = rescore(a.write, "{\"as_of\":\"2026-01-01T00:00:00Z\",\"model\":\"x\"}");
    ck_assert_status(r, 422);
    ck_assert(strstr(r->body, "model") != NULL);
    api_resp_free(r);
    r = rescore(a.write, "[1]");
    ck_assert(r->status == 400 || r->status == 422);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    api_resp_free(r);
    r = api_req("POST", "/v1/leads/rescore", a.write, "application/json", "{\"as_of\":", 9, NULL);
    ck_assert_status(r, 400);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    api_resp_free(r);
    /* nothing of that changed a's stored score */
    sa = stored(&a, "L-1");
    ck_assert_int_eq(num(sa, "score"), 0);
    json_decref(sa);
}
END_TEST

/* The database layer under the rescore. db_fetch_all, its reader (the
 * suite's workspaces are smaller than one of its batches): a cursor read to its end in batches, every row
 * once and in order, the next batch asked for before each is handed on; a
 * reader that fails stops it and leaves the connection usable; a FETCH that
 * fails is an error. And the error of a statement never sent. */
typedef struct {
    long rows, batches, next, fail_at;
} fetch_seen;

static int fetch_count(void *ctx, PGresult *r, app_err *err)
{
    fetch_seen *f = ctx;
    if (++f->batches == f->fail_at) {
        app_err_set(err, ERR_INTERNAL, "reader failed");
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++, f->rows++)
        ck_assert_int_eq(atol(PQgetvalue(r, i, 0)), ++f->next);
    return 0;
}

START_TEST(db_reads_in_batches_and_reports_unsent_statements)
{
    app_err err = {0};
    db_conn *c = db_connect_single(api_db_url(), 0, &err);
    ck_assert_msg(c != NULL, "%s", err.detail);
    for (long n = 0; n <= 3; n++) { /* 10,007 rows; 10,000 (the last batch empty); 999 (one short); none */
        long total = n == 0 ? 10007 : n == 1 ? 10000 : n == 2 ? 999 : 0;
        char sql[128];
        snprintf(sql, sizeof sql, "DECLARE f NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, %ld) g", total);
        ck_assert(db_begin(c, &err) == 0);
        ck_assert_msg(db_exec(c, sql, 0, NULL, &err) == 0, "%s", err.detail);
        fetch_seen f = {0};
        ck_assert_msg(db_fetch_all(c, "FETCH 1000 FROM f", 1000, fetch_count, &f, &err) == 0, "%s", err.detail);
        ck_assert_int_eq(f.rows, total);
        ck_assert_int_eq(f.batches, total / 1000 + 1);
        ck_assert(db_commit(c, &err) == 0);
    }
    /* the reader fails on the third batch, while the fourth is on its way */
    ck_assert(db_begin(c, &err) == 0);
    ck_assert(db_exec(c, "DECLARE f NO SCROLL CURSOR FOR SELECT g FROM generate_series(1, 10007) g", 0, NULL, &err) ==
              0);
    fetch_seen f = {.fail_at = 3};
    ck_assert_int_eq(db_fetch_all(c, "FETCH 1000 FROM f", 1000, fetch_count, &f, &err), -1);
    ck_assert_str_eq(err.detail, "reader failed");
    ck_assert_int_eq(f.rows, 2000);
    /* in step: the fourth batch was read off and dropped, the rest follows */
    PGresult *rest = db_query(c, "FETCH ALL FROM f", 0, NULL, &err);
    ck_assert_msg(rest != NULL, "%s", err.detail);
    ck_assert_int_eq(PQntuples(rest), 10007 - 4000);
    ck_assert_str_eq(PQgetvalue(rest, 0, 0), "4001");
    PQclear(rest);
    db_rollback(c);
    /* a cursor that does not exist */
    ck_assert(db_begin(c, &err) == 0);
    app_err e2 = {0};
    fetch_seen g = {0};
    ck_assert_int_eq(db_fetch_all(c, "FETCH 1000 FROM missing", 1000, fetch_count, &g, &e2), -1);
    ck_assert_int_ne(e2.code, ERR_NONE);
    ck_assert_int_eq(g.batches, 0);
    db_rollback(c);
    /* a statement libpq refuses to send (more than 65,535 parameters) is a
     * defect (500), not a lost connection (503); the connection stays usable */
    static const char *many[70000];
    app_err e3 = {0};
    PGresult *refused = db_query(c, "SELECT 1", 70000, many, &e3);
    ck_assert_ptr_null(refused);
    ck_assert_int_eq(e3.code, ERR_INTERNAL);
    char one[8];
    ck_assert_int_eq(db_query_value(c, "SELECT 1", 0, NULL, one, sizeof one, &err), 1);
    ck_assert_str_eq(one, "1");
    db_close_single(c);
}
END_TEST

Suite *rescore_suite(void)
{
    Suite *s = suite_create("rescore");
    TCase *tc = tcase_create("rescore");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rescore_golden_cases_and_stored_scores);
    tcase_add_test(tc, rescore_equals_the_live_score_of_every_lead);
    tcase_add_test(tc, rescore_moves_to_mql_when_the_model_says_so);
    tcase_add_test(tc, rescore_isolation_roles_and_bad_input);
    tcase_add_test(tc, db_reads_in_batches_and_reports_unsent_statements);
    suite_add_tcase(s, tc);
    return s;
}
