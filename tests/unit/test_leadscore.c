/* test_leadscore.c - the seed's lead-scoring.yaml (001 phase 3) as golden
 * cases: decay, frequency rules, caps, negative signals, thresholds. The
 * table below is that YAML's content (tests/data/lead-scoring.yaml). */
#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "leadscore.h"

#define DAY 86400LL
#define NOW (20000 * DAY + 12 * 3600) /* a fixed as_of: 2024-10-04T12:00:00Z */

static const struct {
    ls_group g;
    const char *text;
    int points;
    const char *decay;
} seed[] = {
    {LS_BEHAVIOURAL, "Visited pricing page", 15, "5 points/week after 14 days"},
    {LS_BEHAVIOURAL, "Downloaded whitepaper/ebook", 10, NULL},
    {LS_BEHAVIOURAL, "Attended webinar", 12, NULL},
    {LS_BEHAVIOURAL, "Requested demo", 25, NULL},
    {LS_BEHAVIOURAL, "Opened 3+ emails in 7 days", 8, NULL},
    {LS_BEHAVIOURAL, "Visited 5+ pages in session", 10, NULL},
    {LS_BEHAVIOURAL, "Returned to site within 7 days", 8, NULL},
    {LS_BEHAVIOURAL, "Engaged with chatbot", 5, NULL},
    {LS_FIRMOGRAPHIC, "ICP industry match", 15, NULL},
    {LS_FIRMOGRAPHIC, "Company size in sweet spot", 10, NULL},
    {LS_FIRMOGRAPHIC, "Decision-maker title", 10, NULL},
    {LS_FIRMOGRAPHIC, "Target geography", 5, NULL},
    {LS_NEGATIVE, "Competitor domain", -100, NULL},
    {LS_NEGATIVE, "Student/edu email", -30, NULL},
    {LS_NEGATIVE, "Unsubscribed from emails", -20, NULL},
    {LS_NEGATIVE, "No activity in 30 days", -15, NULL},
};
enum {
    PRICING,
    DOWNLOAD,
    WEBINAR,
    DEMO,
    EMAILS,
    SESSION,
    RETURNED,
    CHATBOT,
    INDUSTRY,
    SIZE,
    TITLE,
    GEO,
    COMPETITOR,
    EDU,
    UNSUB,
    INACTIVE
};

static ls_model m;
static ls_lead lead;

static void setup(void)
{
    leadscore_model_init(&m);
    for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
        char why[160];
        ls_signal *s = &m.sig[m.nsig++];
        ck_assert_msg(leadscore_signal_from_text(seed[i].g, seed[i].text, s, why, sizeof why), "%s: %s", seed[i].text,
                      why);
        s->points = seed[i].points;
        if (seed[i].decay)
            ck_assert(
                leadscore_parse_decay(seed[i].decay, &s->decay_points, &s->decay_every_days, &s->decay_after_days));
    }
    memset(&lead, 0, sizeof lead);
    lead.email = "ann@acme.example";
    lead.company_size = -1;
    lead.created_at = NOW - 2 * DAY;
}

/* Every case is scored twice: leadscore_eval_quiet (the rescore's) must give
 * the same points, matches, times and totals, with no detail texts. */
static ls_result score(const ls_activity *a, size_t n)
{
    ls_result r, q;
    leadscore_eval(&m, &lead, a, n, NOW, &r);
    memset(&q, 0x5a, sizeof q); /* whatever a reused result held before */
    leadscore_eval_quiet(&m, &lead, a, n, NOW, &q);
    for (int i = 0; i < m.nsig; i++) {
        ck_assert_int_eq(q.s[i].matched, r.s[i].matched);
        ck_assert_int_eq(q.s[i].points, r.s[i].points);
        ck_assert_int_eq(q.s[i].base_points, r.s[i].base_points);
        ck_assert_int_eq(q.s[i].at, r.s[i].at);
        ck_assert_int_eq(q.s[i].decayed, r.s[i].decayed);
        ck_assert_str_eq(q.s[i].detail, "");
        ck_assert(r.s[i].detail[0] != '\0');
    }
    ck_assert_int_eq(q.behavioural_raw, r.behavioural_raw);
    ck_assert_int_eq(q.behavioural, r.behavioural);
    ck_assert_int_eq(q.firmographic_raw, r.firmographic_raw);
    ck_assert_int_eq(q.firmographic, r.firmographic);
    ck_assert_int_eq(q.negative, r.negative);
    ck_assert_int_eq(q.total, r.total);
    ck_assert_int_eq(q.band, r.band);
    ck_assert_int_eq(q.last_activity_at, r.last_activity_at);
    return r;
}

START_TEST(seed_texts_become_rules)
{
    ck_assert_int_eq(m.behavioural_cap, 60);
    ck_assert_int_eq(m.firmographic_cap, 40);
    ck_assert_int_eq(m.mql, 50);
    ck_assert_int_eq(m.hot, 75);
    ck_assert_int_eq(m.sig[PRICING].decay_points, 5);
    ck_assert(m.sig[PRICING].decay_every_days == 7 && m.sig[PRICING].decay_after_days == 14);
    ck_assert_int_eq(m.sig[EMAILS].min_count, 3);
    ck_assert(m.sig[EMAILS].window_days == 7);
    ck_assert_int_eq(m.sig[SESSION].rule, LS_RULE_SESSION);
    ck_assert_int_eq(m.sig[SESSION].min_count, 5);
    ck_assert_int_eq(m.sig[RETURNED].rule, LS_RULE_RETURN_VISIT);
    ck_assert_int_eq(m.sig[INACTIVE].rule, LS_NEG_INACTIVE);
    ck_assert(m.sig[INACTIVE].window_days == 30);
    ls_signal s;
    char why[160];
    ck_assert(!leadscore_signal_from_text(LS_BEHAVIOURAL, "Read our mind", &s, why, sizeof why));
    int p;
    double every, after;
    ck_assert(!leadscore_parse_decay("soon", &p, &every, &after));
    ck_assert(leadscore_parse_decay("2 points/day", &p, &every, &after) && p == 2 && every == 1 && after == 0);
}
END_TEST

START_TEST(pricing_page_decays_after_14_days)
{
    /* age in days -> points: none lost until 14 days, then 5 per started week */
    static const struct {
        double age;
        int points;
    } cases[] = {{0, 15}, {10, 15}, {14, 15}, {14.5, 10}, {20, 10}, {21, 10}, {21.5, 5}, {28, 5}, {29, 0}, {90, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ls_activity a = {LS_ACT_PRICING_PAGE_VIEW, NOW - (int64_t)(cases[i].age * DAY), "s1"};
        lead.created_at = a.at;
        ls_result r = score(&a, 1);
        ck_assert_msg(r.s[PRICING].points == cases[i].points, "age %.1f: %d, want %d", cases[i].age,
                      r.s[PRICING].points, cases[i].points);
        ck_assert(r.s[PRICING].matched);
        ck_assert(r.s[PRICING].decayed == (cases[i].age > 14));
        ck_assert_int_eq(r.s[PRICING].base_points, 15);
    }
    /* the most recent visit counts: 20 days and 3 days ago -> 15 */
    ls_activity two[] = {{LS_ACT_PRICING_PAGE_VIEW, NOW - 20 * DAY, "a"},
                         {LS_ACT_PRICING_PAGE_VIEW, NOW - 3 * DAY, "b"}};
    ck_assert_int_eq(score(two, 2).s[PRICING].points, 15);
    /* a visit after as_of is not known yet */
    ls_activity later[] = {{LS_ACT_PRICING_PAGE_VIEW, NOW - 20 * DAY, "a"}, {LS_ACT_PRICING_PAGE_VIEW, NOW + DAY, "b"}};
    ck_assert_int_eq(score(later, 2).s[PRICING].points, 10);
}
END_TEST

START_TEST(competitor_domain_scores_minus_100)
{
    snprintf(m.competitor_domains.items[0], LS_ITEM_LEN, "rival.example");
    m.competitor_domains.n = 1;
    lead.email = "spy@rival.example";
    ls_result r = score(NULL, 0);
    ck_assert_int_eq(r.s[COMPETITOR].points, -100);
    ck_assert_int_eq(r.total, -100);
    ck_assert_int_eq(r.band, LS_BAND_BELOW_MQL);
    lead.email = "spy@eu.Rival.Example"; /* a subdomain, any case */
    ck_assert_int_eq(score(NULL, 0).total, -100);
    lead.email = "ann@notrival.example"; /* not a subdomain */
    ck_assert_int_eq(score(NULL, 0).total, 0);
}
END_TEST

START_TEST(other_negative_signals)
{
    lead.email = "kim@cs.stanford.edu";
    ck_assert_int_eq(score(NULL, 0).s[EDU].points, -30);
    lead.email = "kim@ox.ac.uk";
    ck_assert_int_eq(score(NULL, 0).s[EDU].points, -30);
    lead.email = "kim@unimelb.edu.au";
    ck_assert_int_eq(score(NULL, 0).s[EDU].points, -30);
    lead.email = "kim@education.example";
    ck_assert_int_eq(score(NULL, 0).s[EDU].points, 0);
    ls_activity u = {LS_ACT_UNSUBSCRIBE, NOW - DAY, NULL};
    ck_assert_int_eq(score(&u, 1).s[UNSUB].points, -20);
    /* no activity in 30 days: created 40 days ago, last touch 31 or 29 days ago */
    lead.created_at = NOW - 40 * DAY;
    ls_activity old = {LS_ACT_EMAIL_OPEN, NOW - 31 * DAY, NULL}, recent = {LS_ACT_EMAIL_OPEN, NOW - 29 * DAY, NULL};
    ck_assert_int_eq(score(&old, 1).s[INACTIVE].points, -15);
    ck_assert_int_eq(score(&recent, 1).s[INACTIVE].points, 0);
    ck_assert_int_eq(score(NULL, 0).s[INACTIVE].points, -15);
    lead.created_at = NOW - 10 * DAY; /* new: not inactive */
    ck_assert_int_eq(score(NULL, 0).s[INACTIVE].points, 0);
}
END_TEST

START_TEST(frequency_rules)
{
    ls_activity in7[] = {{LS_ACT_EMAIL_OPEN, NOW - 11 * DAY, NULL},
                         {LS_ACT_EMAIL_OPEN, NOW - 6 * DAY, NULL},
                         {LS_ACT_EMAIL_OPEN, NOW - 3 * DAY, NULL}};
    ck_assert_int_eq(score(in7, 3).s[EMAILS].points, 0); /* 8 days between the first and third */
    in7[0].at = NOW - 10 * DAY;
    ck_assert_int_eq(score(in7, 3).s[EMAILS].points, 8); /* exactly 7 days: inside */
    ls_activity pages[6];
    for (int i = 0; i < 6; i++)
        pages[i] = (ls_activity){i == 2 ? LS_ACT_PRICING_PAGE_VIEW : LS_ACT_PAGE_VIEW, NOW - DAY + i * 60,
                                 i < 4 ? "s1" : "s2"};
    ck_assert_int_eq(score(pages, 6).s[SESSION].points, 0); /* 4 + 2 */
    pages[4].session = "s1";
    ck_assert_int_eq(score(pages, 6).s[SESSION].points, 10); /* 5 in s1, a pricing view counts as a page */
    /* returned: another session within 7 days */
    ls_activity ret[] = {{LS_ACT_PAGE_VIEW, NOW - 12 * DAY, "a"},
                         {LS_ACT_PAGE_VIEW, NOW - 12 * DAY + 60, "a"},
                         {LS_ACT_PAGE_VIEW, NOW - 4 * DAY, "b"}};
    ck_assert_int_eq(score(ret, 3).s[RETURNED].points, 0); /* 8 days later */
    ret[2].at = NOW - 5 * DAY - 120;
    ck_assert_int_eq(score(ret, 3).s[RETURNED].points, 8);
    ck_assert_int_eq(score(ret, 2).s[RETURNED].points, 0); /* the same session is no return */
}
END_TEST

START_TEST(caps_and_thresholds)
{
    ls_activity a[] = {{LS_ACT_DEMO_REQUEST, NOW - 5 * DAY, NULL},
                       {LS_ACT_WEBINAR_ATTENDED, NOW - 4 * DAY, NULL},
                       {LS_ACT_PRICING_PAGE_VIEW, NOW - 3 * DAY, "s"}};
    ls_result r = score(a, 3); /* 25 + 12 + 15 */
    ck_assert_int_eq(r.behavioural, 52);
    ck_assert_int_eq(r.total, 52);
    ck_assert_int_eq(r.band, LS_BAND_MQL);
    ck_assert_str_eq(leadscore_band_name(r.band), "mql");
    r = score(a, 2); /* 37 */
    ck_assert_int_eq(r.band, LS_BAND_BELOW_MQL);
    /* firmographic: every ICP signal, exactly the cap */
    snprintf(m.industries.items[0], LS_ITEM_LEN, "Software");
    m.industries.n = 1;
    snprintf(m.geographies.items[0], LS_ITEM_LEN, "EMEA");
    m.geographies.n = 1;
    m.size_min = 50;
    m.size_max = 499;
    lead.industry = "software";
    lead.company_size = 320;
    lead.title = "VP Sales";
    lead.geography = "EMEA";
    r = score(a, 3);
    ck_assert_int_eq(r.firmographic_raw, 40);
    ck_assert_int_eq(r.firmographic, 40);
    ck_assert_int_eq(r.total, 92);
    ck_assert_int_eq(r.band, LS_BAND_HOT);
    lead.company_size = 500; /* outside the sweet spot */
    ck_assert_int_eq(score(a, 3).s[SIZE].points, 0);
    lead.title = "Engineer";
    lead.seniority = "c_level";
    ck_assert_int_eq(score(a, 3).s[TITLE].points, 10);
    /* behavioural cap: 25 + 12 + 15 + 10 + 5 = 67 -> 60 */
    ls_activity b[] = {{LS_ACT_DEMO_REQUEST, NOW - 5 * DAY, NULL},
                       {LS_ACT_WEBINAR_ATTENDED, NOW - 4 * DAY, NULL},
                       {LS_ACT_PRICING_PAGE_VIEW, NOW - 3 * DAY, "s"},
                       {LS_ACT_CONTENT_DOWNLOAD, NOW - 2 * DAY, NULL},
                       {LS_ACT_CHATBOT, NOW - DAY, NULL}};
    lead.industry = NULL;
    lead.geography = NULL;
    lead.seniority = NULL;
    r = score(b, 5);
    ck_assert_int_eq(r.behavioural_raw, 67);
    ck_assert_int_eq(r.behavioural, 60);
    ck_assert_int_eq(r.total, 60);
    /* the hot threshold exactly */
    m.hot = 60;
    ck_assert_int_eq(score(b, 5).band, LS_BAND_HOT);
}
END_TEST

START_TEST(activity_names)
{
    ck_assert_int_eq(leadscore_activity_type("pricing_page_view"), LS_ACT_PRICING_PAGE_VIEW);
    ck_assert_int_eq(leadscore_activity_type("fax"), -1);
    ck_assert_str_eq(leadscore_activity_name(LS_ACT_UNSUBSCRIBE), "unsubscribe");
    ck_assert(leadscore_is_touch(LS_ACT_WEBINAR_ATTENDED));
    ck_assert(!leadscore_is_touch(LS_ACT_CALL));
    ck_assert(!leadscore_is_touch(LS_ACT_UNSUBSCRIBE));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("leadscore");
    TCase *tc = tcase_create("seed");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, seed_texts_become_rules);
    tcase_add_test(tc, pricing_page_decays_after_14_days);
    tcase_add_test(tc, competitor_domain_scores_minus_100);
    tcase_add_test(tc, other_negative_signals);
    tcase_add_test(tc, frequency_rules);
    tcase_add_test(tc, caps_and_thresholds);
    tcase_add_test(tc, activity_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
