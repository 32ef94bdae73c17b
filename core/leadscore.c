/* leadscore.c - the lead scoring model: seed prose to rules, and the score. */
#include "leadscore.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400

/* each name with its length: the rescore looks up 1,000,000 types, and a
 * length test first leaves one to three names to compare */
/* clang-format off */
#define T(s) {s, sizeof s - 1}
/* clang-format on */
static const struct {
    const char *name;
    size_t len;
} types[LS_ACT__COUNT] = {T("page_view"),    T("pricing_page_view"), T("content_download"), T("webinar_attended"),
                          T("demo_request"), T("email_open"),        T("email_click"),      T("chatbot"),
                          T("form_submit"),  T("ad_click"),          T("event_attended"),   T("call"),
                          T("meeting"),      T("email_sent"),        T("email_bounce"),     T("unsubscribe")};
#undef T

#define BIT(t) (1u << (t))
#define SITE_VISITS (BIT(LS_ACT_PAGE_VIEW) | BIT(LS_ACT_PRICING_PAGE_VIEW))

int leadscore_activity_type(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (int i = 0; s && i < LS_ACT__COUNT; i++)
        if (types[i].len == n && memcmp(types[i].name, s, n) == 0)
            return i;
    return -1;
}

const char *leadscore_activity_name(int type)
{
    return type >= 0 && type < LS_ACT__COUNT ? types[type].name : "unknown";
}

void leadscore_activity_types_text(char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < LS_ACT__COUNT && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", types[i].name);
}

bool leadscore_is_touch(int type) { return type >= 0 && type <= LS_ACT_EVENT_ATTENDED; }

const char *leadscore_band_name(ls_band b) { return b == LS_BAND_HOT ? "hot" : b == LS_BAND_MQL ? "mql" : "below_mql"; }

static void list_add(ls_list *l, const char *s)
{
    if (l->n < LS_MAX_LIST)
        snprintf(l->items[l->n++], LS_ITEM_LEN, "%s", s);
}

void leadscore_model_init(ls_model *m)
{
    memset(m, 0, sizeof *m);
    m->behavioural_cap = 60; /* seed: "behavioral_signals:  # Max 60 points" */
    m->firmographic_cap = 40;
    m->mql = 50;
    m->hot = 75;
    m->size_min = m->size_max = -1;
    static const char *const sen[] = {"c_level", "vp", "director", "head", NULL};
    static const char *const kw[] = {"chief",   "vp",    "vice president", "head of", "director",
                                     "founder", "owner", "president",      NULL};
    for (const char *const *s = sen; *s; s++)
        list_add(&m->seniorities, *s);
    for (const char *const *s = kw; *s; s++)
        list_add(&m->title_keywords, *s);
}

/* Lowercased copy. */
static void lower(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

/* The number just before "+" ("3+ emails"), or 0. */
static int count_before_plus(const char *t)
{
    for (const char *p = t; *p; p++)
        if (*p == '+' && p > t && isdigit((unsigned char)p[-1])) {
            const char *q = p;
            while (q > t && isdigit((unsigned char)q[-1]))
                q--;
            return atoi(q);
        }
    return 0;
}

/* N in "in N days" / "within N days" / "N days", or 0. */
static double days_in(const char *t)
{
    const char *d = strstr(t, " day");
    if (!d)
        return 0;
    const char *q = d;
    while (q > t && isdigit((unsigned char)q[-1]))
        q--;
    return q < d ? atof(q) : 0;
}

bool leadscore_signal_from_text(ls_group group, const char *text, ls_signal *out, char *why, size_t whylen)
{
    char t[LS_LABEL_LEN];
    lower(text, t, sizeof t);
    memset(out, 0, sizeof *out);
    out->group = group;
    snprintf(out->label, sizeof out->label, "%s", text ? text : "");
    out->min_count = 1;
    int n = count_before_plus(t);
    double days = days_in(t);
    if (group == LS_BEHAVIOURAL) {
        if (strstr(t, "session") && strstr(t, "page")) {
            out->rule = LS_RULE_SESSION;
            out->types = SITE_VISITS;
            out->min_count = n > 0 ? n : 5;
            return true;
        }
        if (strstr(t, "return")) {
            out->rule = LS_RULE_RETURN_VISIT;
            out->types = SITE_VISITS;
            out->window_days = days > 0 ? days : 7;
            return true;
        }
        out->rule = LS_RULE_OCCURRED;
        if (strstr(t, "pricing"))
            out->types = BIT(LS_ACT_PRICING_PAGE_VIEW);
        else if (strstr(t, "demo"))
            out->types = BIT(LS_ACT_DEMO_REQUEST);
        else if (strstr(t, "webinar"))
            out->types = BIT(LS_ACT_WEBINAR_ATTENDED);
        else if (strstr(t, "download") || strstr(t, "whitepaper") || strstr(t, "ebook"))
            out->types = BIT(LS_ACT_CONTENT_DOWNLOAD);
        else if (strstr(t, "email") && strstr(t, "click"))
            out->types = BIT(LS_ACT_EMAIL_CLICK);
        else if (strstr(t, "email") && strstr(t, "open"))
            out->types = BIT(LS_ACT_EMAIL_OPEN);
        else if (strstr(t, "chat"))
            out->types = BIT(LS_ACT_CHATBOT);
        else if (strstr(t, "form"))
            out->types = BIT(LS_ACT_FORM_SUBMIT);
        else if (strstr(t, "event"))
            out->types = BIT(LS_ACT_EVENT_ATTENDED);
        else if (strstr(t, "ad click") || strstr(t, "clicked an ad"))
            out->types = BIT(LS_ACT_AD_CLICK);
        else if (strstr(t, "visit") || strstr(t, "page"))
            out->types = SITE_VISITS;
        else {
            snprintf(why, whylen, "names no known activity: say which with 'activity' (one of the activity types)");
            return false;
        }
        if (n > 0)
            out->min_count = n;
        out->window_days = days;
        return true;
    }
    if (group == LS_FIRMOGRAPHIC) {
        if (strstr(t, "industr"))
            out->rule = LS_FIRM_INDUSTRY;
        else if (strstr(t, "size") || strstr(t, "employee"))
            out->rule = LS_FIRM_SIZE;
        else if (strstr(t, "title") || strstr(t, "decision") || strstr(t, "senior"))
            out->rule = LS_FIRM_DECISION_MAKER;
        else if (strstr(t, "geo") || strstr(t, "region") || strstr(t, "country"))
            out->rule = LS_FIRM_GEOGRAPHY;
        else {
            snprintf(why, whylen,
                     "names no known lead field: say which with 'match' (industry, company_size, decision_maker, "
                     "geography)");
            return false;
        }
        return true;
    }
    if (strstr(t, "competitor"))
        out->rule = LS_NEG_COMPETITOR;
    else if (strstr(t, "student") || strstr(t, "edu"))
        out->rule = LS_NEG_EDU;
    else if (strstr(t, "unsubscri"))
        out->rule = LS_NEG_UNSUBSCRIBED;
    else if (strstr(t, "no activity") || strstr(t, "inactiv")) {
        out->rule = LS_NEG_INACTIVE;
        out->window_days = days > 0 ? days : 30;
    } else {
        snprintf(why, whylen,
                 "names no known negative signal: say which with 'match' (competitor_domain, edu_email, "
                 "unsubscribed, inactive)");
        return false;
    }
    return true;
}

bool leadscore_parse_decay(const char *text, int *points, double *every_days, double *after_days)
{
    char t[LS_LABEL_LEN];
    lower(text, t, sizeof t);
    const char *p = t;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    *points = atoi(p);
    const char *slash = strchr(p, '/');
    if (!slash || *points <= 0)
        return false;
    if (strncmp(slash + 1, "week", 4) == 0)
        *every_days = 7;
    else if (strncmp(slash + 1, "day", 3) == 0)
        *every_days = 1;
    else if (strncmp(slash + 1, "month", 5) == 0)
        *every_days = 30;
    else
        return false;
    *after_days = 0;
    const char *a = strstr(slash, "after");
    if (a) {
        double d = days_in(a);
        if (d <= 0)
            return false;
        *after_days = d;
    }
    return true;
}

static bool ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static bool in_list(const ls_list *l, const char *s)
{
    for (int i = 0; s && i < l->n; i++)
        if (ieq(l->items[i], s))
            return true;
    return false;
}

static const char *email_domain(const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    return at && at[1] ? at + 1 : NULL;
}

/* domain is d or a subdomain of d (case-insensitive). */
static bool domain_is(const char *domain, const char *d)
{
    size_t a = strlen(domain), b = strlen(d);
    if (a < b || b == 0)
        return false;
    if (!ieq(domain + (a - b), d))
        return false;
    return a == b || domain[a - b - 1] == '.';
}

/* .edu anywhere as a label, or a second-level "ac"/"edu" (ox.ac.uk). */
static bool edu_domain(const char *domain)
{
    char d[256];
    lower(domain, d, sizeof d);
    char *labels[32];
    int n = 0;
    for (char *tok = strtok(d, "."); tok && n < 32; tok = strtok(NULL, "."))
        labels[n++] = tok;
    for (int i = 0; i < n; i++)
        if (strcmp(labels[i], "edu") == 0)
            return true;
    return n >= 3 && strcmp(labels[n - 2], "ac") == 0;
}

/* Session key of a visit: its session id, else its UTC day. */
static bool same_session(const ls_activity *a, const ls_activity *b)
{
    if (a->session && b->session)
        return strcmp(a->session, b->session) == 0;
    if (a->session || b->session)
        return false;
    return a->at / DAY_S == b->at / DAY_S;
}

/* The latest time the behavioural rule held, or -1. */
static int64_t fired_at(const ls_signal *s, const ls_activity *acts, size_t n)
{
    int64_t when = -1;
    if (s->rule == LS_RULE_OCCURRED) {
        int64_t win = (int64_t)(s->window_days * DAY_S);
        size_t j = 0, cnt = 0; /* matching activities in (at_i - win, at_i] */
        for (size_t i = 0; i < n; i++) {
            if (!(s->types & BIT(acts[i].type)))
                continue;
            cnt++;
            if (win > 0)
                for (; j < i; j++) {
                    if (!(s->types & BIT(acts[j].type)))
                        continue;
                    if (acts[i].at - acts[j].at <= win)
                        break;
                    cnt--;
                }
            if ((int)cnt >= s->min_count)
                when = acts[i].at;
        }
    } else if (s->rule == LS_RULE_SESSION) {
        for (size_t i = 0; i < n; i++) {
            if (!(s->types & BIT(acts[i].type)))
                continue;
            int cnt = 0;
            for (size_t j = 0; j <= i; j++)
                if ((s->types & BIT(acts[j].type)) && same_session(&acts[i], &acts[j]))
                    cnt++;
            if (cnt >= s->min_count)
                when = acts[i].at;
        }
    } else if (s->rule == LS_RULE_RETURN_VISIT) {
        int64_t win = (int64_t)(s->window_days * DAY_S);
        const ls_activity *last = NULL; /* the latest visit */
        int64_t other = -1;             /* the latest visit in another session than last's */
        for (size_t i = 0; i < n; i++) {
            if (!(s->types & BIT(acts[i].type)))
                continue;
            int64_t prev = last && !same_session(last, &acts[i]) ? last->at : other;
            if (prev >= 0 && acts[i].at - prev <= win)
                when = acts[i].at;
            if (last && !same_session(last, &acts[i]))
                other = last->at;
            last = &acts[i];
        }
    }
    return when;
}

/* A signal's detail text; not written when r->quiet (the rescore keeps only
 * the points: the texts were a twentieth of its CPU). */
__attribute__((format(printf, 2, 3))) static void say(ls_signal_score *r, const char *fmt, ...)
{
    if (r->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

static void behavioural(const ls_signal *s, const ls_activity *acts, size_t n, int64_t as_of, ls_signal_score *r)
{
    int64_t at = fired_at(s, acts, n);
    if (at < 0) {
        say(r, "no qualifying activity");
        return;
    }
    r->matched = true;
    r->at = at;
    r->points = s->points;
    int64_t age = as_of - at, after = (int64_t)(s->decay_after_days * DAY_S);
    int64_t every = (int64_t)(s->decay_every_days * DAY_S);
    if (s->decay_points > 0 && every > 0 && age > after) {
        int64_t steps = (age - after + every - 1) / every; /* started periods beyond the grace */
        int64_t p = (int64_t)s->points - steps * s->decay_points;
        r->points = p > 0 ? (int)p : 0;
        r->decayed = true;
        say(r, "%lld days ago: %d - %lld x %d", (long long)(age / DAY_S), s->points, (long long)steps, s->decay_points);
    } else {
        say(r, "%lld days ago", (long long)(age / DAY_S));
    }
}

static void firmographic(const ls_model *m, const ls_signal *s, const ls_lead *l, ls_signal_score *r)
{
    char buf[LS_ITEM_LEN];
    switch (s->rule) {
    case LS_FIRM_INDUSTRY:
        if (m->industries.n == 0)
            say(r, "the model names no ICP industries");
        else if (!l->industry)
            say(r, "industry unknown");
        else {
            r->matched = in_list(&m->industries, l->industry);
            say(r, "industry %.80s", l->industry);
        }
        break;
    case LS_FIRM_SIZE:
        if (m->size_min < 0 && m->size_max < 0)
            say(r, "the model sets no company size sweet spot");
        else if (l->company_size < 0)
            say(r, "company size unknown");
        else {
            r->matched = (m->size_min < 0 || l->company_size >= m->size_min) &&
                         (m->size_max < 0 || l->company_size <= m->size_max);
            say(r, "company size %ld", l->company_size);
        }
        break;
    case LS_FIRM_DECISION_MAKER:
        if (l->seniority && in_list(&m->seniorities, l->seniority)) {
            r->matched = true;
            say(r, "seniority %.80s", l->seniority);
        } else if (l->title) {
            char t[LS_LABEL_LEN];
            lower(l->title, t, sizeof t);
            for (int i = 0; i < m->title_keywords.n && !r->matched; i++) {
                lower(m->title_keywords.items[i], buf, sizeof buf);
                r->matched = strstr(t, buf) != NULL;
            }
            say(r, "title %.80s", l->title);
        } else {
            say(r, "title and seniority unknown");
        }
        break;
    case LS_FIRM_GEOGRAPHY:
        if (m->geographies.n == 0)
            say(r, "the model names no target geographies");
        else if (!l->geography)
            say(r, "geography unknown");
        else {
            r->matched = in_list(&m->geographies, l->geography);
            say(r, "geography %.80s", l->geography);
        }
        break;
    default:
        break;
    }
    if (r->matched)
        r->points = s->points;
}

static void negative(const ls_model *m, const ls_signal *s, const ls_lead *l, const ls_activity *acts, size_t n,
                     int64_t as_of, int64_t last, ls_signal_score *r)
{
    const char *dom = email_domain(l->email);
    switch (s->rule) {
    case LS_NEG_COMPETITOR:
        for (int i = 0; dom && i < m->competitor_domains.n && !r->matched; i++)
            r->matched = domain_is(dom, m->competitor_domains.items[i]);
        say(r, dom ? "email domain %.80s" : "no email", dom);
        break;
    case LS_NEG_EDU:
        r->matched = dom && edu_domain(dom);
        say(r, dom ? "email domain %.80s" : "no email", dom);
        break;
    case LS_NEG_UNSUBSCRIBED:
        for (size_t i = 0; i < n; i++)
            if (acts[i].type == LS_ACT_UNSUBSCRIBE) {
                r->matched = true;
                r->at = acts[i].at;
            }
        say(r, r->matched ? "unsubscribed" : "no unsubscribe");
        break;
    case LS_NEG_INACTIVE: {
        int64_t since = last > l->created_at ? last : l->created_at;
        r->matched = as_of - since > (int64_t)(s->window_days * DAY_S);
        say(r, "last activity or creation %lld days ago", (long long)((as_of - since) / DAY_S));
        break;
    }
    default:
        break;
    }
    if (r->matched)
        r->points = s->points;
}

static void eval(const ls_model *m, const ls_lead *lead, const ls_activity *acts, size_t n, int64_t as_of,
                 ls_result *out, bool quiet)
{
    if (!quiet) {
        memset(out, 0, sizeof *out);
    } else { /* the model's signals only, their texts left out: the whole result is ~6 KB */
        out->behavioural_raw = out->firmographic_raw = out->negative = 0;
        for (int i = 0; i < m->nsig && i < LS_MAX_SIGNALS; i++) {
            ls_signal_score *r = &out->s[i];
            r->matched = r->decayed = false;
            r->points = 0;
            r->at = 0;
            r->quiet = true;
            r->detail[0] = '\0';
        }
    }
    size_t k = 0; /* activities up to as_of */
    while (k < n && acts[k].at <= as_of)
        k++;
    int64_t last = 0;
    for (size_t i = 0; i < k; i++)
        if (acts[i].type >= 0 && acts[i].type < LS_ACT__COUNT && acts[i].at > last)
            last = acts[i].at;
    out->last_activity_at = last;
    for (int i = 0; i < m->nsig && i < LS_MAX_SIGNALS; i++) {
        const ls_signal *s = &m->sig[i];
        ls_signal_score *r = &out->s[i];
        r->base_points = s->points;
        if (s->group == LS_BEHAVIOURAL) {
            behavioural(s, acts, k, as_of, r);
            out->behavioural_raw += r->points;
        } else if (s->group == LS_FIRMOGRAPHIC) {
            firmographic(m, s, lead, r);
            out->firmographic_raw += r->points;
        } else {
            negative(m, s, lead, acts, k, as_of, last, r);
            out->negative += r->points;
        }
    }
    out->behavioural = out->behavioural_raw < m->behavioural_cap ? out->behavioural_raw : m->behavioural_cap;
    out->firmographic = out->firmographic_raw < m->firmographic_cap ? out->firmographic_raw : m->firmographic_cap;
    out->total = out->behavioural + out->firmographic + out->negative;
    out->band = out->total >= m->hot ? LS_BAND_HOT : out->total >= m->mql ? LS_BAND_MQL : LS_BAND_BELOW_MQL;
}

void leadscore_eval(const ls_model *m, const ls_lead *lead, const ls_activity *acts, size_t n, int64_t as_of,
                    ls_result *out)
{
    eval(m, lead, acts, n, as_of, out, false);
}

void leadscore_eval_quiet(const ls_model *m, const ls_lead *lead, const ls_activity *acts, size_t n, int64_t as_of,
                          ls_result *out)
{
    eval(m, lead, acts, n, as_of, out, true);
}
