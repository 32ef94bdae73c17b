/* test_faults.c - faults under load, counted on the client side: SIGTERM with
 * requests in flight, two instances writing the same deals, SIGKILL in the
 * middle of a write storm. Each test starts its own revopsd processes on the
 * shared cluster (its own workspace), so the shared server is not disturbed.
 *
 * The client threads here do not use api_req: Check's assertions must run on
 * the test's own thread, and a fault test has to see connection errors as
 * data, not as failures. Every response that did arrive is still checked
 * against openapi.yaml afterwards (on the test thread). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

/* ---- a thread-safe client that reports transport errors as data ---------- */

typedef struct {
    long status;    /* 0: no HTTP answer */
    CURLcode cc;    /* transport outcome */
    char body[768]; /* first bytes of the body */
    size_t len;
    char ctype[96];
    char retry_after[16];
} fq_resp;

static size_t fq_on_body(char *data, size_t size, size_t n, void *ud)
{
    fq_resp *r = ud;
    size_t add = size * n;
    size_t room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, data, add < room ? add : room);
    r->len += add < room ? add : room;
    r->body[r->len] = '\0';
    return add;
}

static size_t fq_on_header(char *data, size_t size, size_t n, void *ud)
{
    fq_resp *r = ud;
    size_t len = size * n;
    if (len > 13 && strncasecmp(data, "Content-Type:", 13) == 0) {
        const char *v = data + 13;
        size_t vl = len - 13;
        while (vl && *v == ' ')
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(r->ctype, sizeof r->ctype, "%.*s", (int)vl, v);
    }
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        const char *v = data + 12;
        size_t vl = len - 12;
        while (vl && *v == ' ')
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(r->retry_after, sizeof r->retry_after, "%.*s", (int)vl, v);
    }
    return len;
}

/* One request on handle c (reused between calls: keep-alive like a real client). */
static void fq_do(CURL *c, const char *base, const char *method, const char *path, const char *key, const char *body,
                  const char *const *extra, fq_resp *out)
{
    memset(out, 0, sizeof *out);
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fq_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fq_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Expect:");
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    for (int i = 0; extra && extra[i]; i++)
        h = curl_slist_append(h, extra[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    out->cc = curl_easy_perform(c);
    if (out->cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
}

static bool fq_2xx(const fq_resp *r) { return r->cc == CURLE_OK && r->status >= 200 && r->status < 300; }

/* The contract check for a response a client thread collected. */
static void fq_contract(const char *method, const char *path, const fq_resp *r)
{
    if (r->cc != CURLE_OK || r->len >= sizeof r->body - 1)
        return; /* no answer, or a body cut to the buffer: nothing to check */
    json_t *j = strstr(r->ctype, "json") ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    char err[512];
    ck_assert_msg(contract_check(method, path, r->status, r->ctype, j, err, sizeof err),
                  "%s %s -> %ld breaks openapi.yaml: %s; body: %.300s", method, path, r->status, err, r->body);
    json_decref(j);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wait_exit(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st = 0;
    while (now_s() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static long sql_long(const char *sql)
{
    static char cmd[65536];
    char out[256];
    snprintf(cmd, sizeof cmd, "psql '%s' -v ON_ERROR_STOP=1 -tAc \"%s\" 2>&1", api_db_url(), sql);
    ck_assert_msg(api_run(cmd, out, sizeof out) == 0, "psql: %s: %s", sql, out);
    char *end = NULL;
    long v = strtol(out, &end, 10);
    ck_assert_msg(end != out, "psql %s printed %s", sql, out);
    return v;
}

/* Wait at least min_s, then until *count summed over n clients (each at
 * stride bytes from the first) reaches want, or max_s: under valgrind the
 * same load takes far longer to build up. */
static void wait_progress(const int *first, size_t stride, int n, int want, double min_s, double max_s)
{
    double start = now_s();
    for (;;) {
        int sum = 0;
        for (int i = 0; i < n; i++)
            sum += __atomic_load_n((const int *)((const char *)first + (size_t)i * stride), __ATOMIC_RELAXED);
        double el = now_s() - start;
        if ((el >= min_s && sum >= want) || el >= max_s)
            return;
        usleep(20000);
    }
}

static void base_of(int port, char *base, size_t len) { snprintf(base, len, "http://127.0.0.1:%d", port); }

/* ---- 1. SIGTERM under load ------------------------------------------------ */

#define TERM_THREADS 8
#define TERM_MAX_REQ 4000

typedef struct {
    const char *base;
    const char *key;
    int t;
    /* results */
    int sent, acked, refused, dropped, non2xx, acked_after_term;
    char first_bad[256];
    char acked_ids[TERM_MAX_REQ][24];
    int n_acked_ids;
} term_client;

static volatile double g_term_at; /* when SIGTERM was sent (0: not yet) */

static void *term_run(void *arg)
{
    term_client *c = arg;
    CURL *h = curl_easy_init();
    for (int i = 0; i < TERM_MAX_REQ; i++) {
        fq_resp r;
        char path[64], body[256], id[24];
        bool write = i % 2 == 0;
        snprintf(id, sizeof id, "t%d-%d", c->t, i);
        if (write) {
            snprintf(path, sizeof path, "/v1/deals/%s", id);
            snprintf(body, sizeof body, "{\"name\":\"%s\",\"stage\":\"opportunity\",\"amount\":%d}", id,
                     c->t * 100000 + i);
            fq_do(h, c->base, "PUT", path, c->key, body, NULL, &r);
        } else {
            snprintf(path, sizeof path, "/v1/deals?limit=20");
            fq_do(h, c->base, "GET", path, c->key, NULL, NULL, &r);
        }
        c->sent++;
        double done = now_s();
        if (r.cc == CURLE_COULDNT_CONNECT) {
            c->refused++;
            if (g_term_at > 0)
                break; /* the server said no: this client is done */
            continue;
        }
        if (r.cc != CURLE_OK) {
            c->dropped++;
            if (!c->first_bad[0])
                snprintf(c->first_bad, sizeof c->first_bad, "%s %s: %s", write ? "PUT" : "GET", path,
                         curl_easy_strerror(r.cc));
            if (g_term_at > 0)
                break;
            continue;
        }
        if (r.status < 200 || r.status >= 300) {
            c->non2xx++;
            if (!c->first_bad[0])
                snprintf(c->first_bad, sizeof c->first_bad, "%s %s: %ld %.150s", write ? "PUT" : "GET", path, r.status,
                         r.body);
            continue;
        }
        __atomic_add_fetch(&c->acked, 1, __ATOMIC_RELAXED);
        if (g_term_at > 0 && done > g_term_at)
            c->acked_after_term++;
        if (write && c->n_acked_ids < TERM_MAX_REQ)
            snprintf(c->acked_ids[c->n_acked_ids++], 24, "%s", id);
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(sigterm_under_load_finishes_in_flight_and_refuses_new)
{
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    char base[64];
    base_of(port, base, sizeof base);
    const char *args[] = {"--shutdown-grace", "10", "--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    g_term_at = 0;
    term_client *cl = calloc(TERM_THREADS, sizeof *cl);
    ck_assert_ptr_nonnull(cl);
    pthread_t th[TERM_THREADS];
    for (int t = 0; t < TERM_THREADS; t++) {
        cl[t] = (term_client){.base = base, .key = ws.write, .t = t};
        pthread_create(&th[t], NULL, term_run, &cl[t]);
    }
    wait_progress(&cl[0].acked, sizeof cl[0], TERM_THREADS, 100, 1.5, 30); /* load established */
    g_term_at = now_s();
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 15.0);
    double took = now_s() - g_term_at;
    for (int t = 0; t < TERM_THREADS; t++)
        pthread_join(th[t], NULL);
    int sent = 0, acked = 0, refused = 0, dropped = 0, non2xx = 0, after = 0, writes = 0;
    for (int t = 0; t < TERM_THREADS; t++) {
        sent += cl[t].sent, acked += cl[t].acked, refused += cl[t].refused, dropped += cl[t].dropped;
        non2xx += cl[t].non2xx, after += cl[t].acked_after_term, writes += cl[t].n_acked_ids;
    }
    fprintf(stderr,
            "faults: SIGTERM under load: %d requests, %d answered 2xx (%d of them after SIGTERM), %d refused,"
            " %d dropped, %d non-2xx; exit %d after %.2f s\n",
            sent, acked, after, refused, dropped, non2xx, rc, took);
    for (int t = 0; t < TERM_THREADS; t++)
        ck_assert_msg(cl[t].dropped == 0 && cl[t].non2xx == 0, "client %d: %s", t, cl[t].first_bad);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(took < 10.0, "exit took %.1f s", took);
    ck_assert_int_ge(acked, 100);
    ck_assert_int_eq(refused, TERM_THREADS); /* each client ended on a refused connection */
    /* every acknowledged write is stored */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM deals d JOIN workspaces w ON w.id = d.workspace_id WHERE w.name = '%s'", ws.name);
    ck_assert_int_eq(sql_long(sql), writes);
    free(cl);
}
END_TEST

/* ---- 2. two instances, concurrent writes to the same deals ---------------- */

#define RACE_THREADS 8
#define RACE_PER 24
#define RACE_DEALS 3

static const char *race_stages[] = {"opportunity", "proposal", "sal", "sql", "closed_won"};

typedef struct {
    int slot; /* global write number */
    int deal;
    int stamp; /* as_of = base + stamp seconds (a permutation of the slots) */
    fq_resp r;
} race_write;

typedef struct {
    const char *base[2];
    const char *key;
    int t;
    race_write *w; /* RACE_PER writes */
    pthread_barrier_t *go;
} race_client;

static void race_body(const race_write *w, char *body, size_t len)
{
    int s = w->stamp;
    snprintf(body, len,
             "{\"name\":\"n%d\",\"amount\":%d,\"stage\":\"%s\",\"owner\":\"o%d\",\"as_of\":"
             "\"2026-01-01T%02d:%02d:%02dZ\"}",
             w->slot, 1000 + w->slot, race_stages[w->slot % 5], w->slot, s / 3600, (s / 60) % 60, s % 60);
}

static void *race_run(void *arg)
{
    race_client *c = arg;
    CURL *h = curl_easy_init();
    pthread_barrier_wait(c->go); /* all first writes at once: they create the deals */
    for (int i = 0; i < RACE_PER; i++) {
        race_write *w = &c->w[i];
        char path[64], body[256];
        snprintf(path, sizeof path, "/v1/deals/race-%d", w->deal);
        race_body(w, body, sizeof body);
        fq_do(h, c->base[(c->t + i) % 2], "PUT", path, c->key, body, NULL, &w->r);
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(two_instances_same_deals_no_lost_update)
{
    api_ws ws;
    api_new_workspace(&ws);
    int p1 = api_free_port(), p2 = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t a = api_spawn_server(api_db_url(), p1, args);
    pid_t b = api_spawn_server(api_db_url(), p2, args);
    ck_assert(api_wait_healthy(p1, 10000) && api_wait_healthy(p2, 10000));
    char b1[64], b2[64];
    base_of(p1, b1, sizeof b1);
    base_of(p2, b2, sizeof b2);
    enum { N = RACE_THREADS * RACE_PER };
    static race_write w[N];
    /* timestamps: a fixed shuffle of the slots, so arrival order and
     * timestamp order disagree (the later-stamped write must win anyway) */
    int perm[N];
    for (int i = 0; i < N; i++)
        perm[i] = i;
    unsigned seed = 12345;
    for (int i = N - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (unsigned)(i + 1));
        int x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    for (int t = 0; t < RACE_THREADS; t++)
        for (int i = 0; i < RACE_PER; i++) {
            int s = t * RACE_PER + i;
            w[s] = (race_write){.slot = s, .deal = (t + i) % RACE_DEALS, .stamp = 60 + perm[s] * 7};
        }
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACE_THREADS);
    race_client cl[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    double t0 = now_s();
    for (int t = 0; t < RACE_THREADS; t++) {
        cl[t] = (race_client){.base = {b1, b2}, .key = ws.write, .t = t, .w = &w[t * RACE_PER], .go = &go};
        pthread_create(&th[t], NULL, race_run, &cl[t]);
    }
    for (int t = 0; t < RACE_THREADS; t++)
        pthread_join(th[t], NULL);
    double took = now_s() - t0;
    pthread_barrier_destroy(&go);
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    ck_assert_int_eq(wait_exit(a, 10), 0);
    ck_assert_int_eq(wait_exit(b, 10), 0);
    /* every write acknowledged (a create race must not surface as a 409) */
    for (int s = 0; s < N; s++) {
        ck_assert_msg(fq_2xx(&w[s].r), "write %d to race-%d: curl %d, status %ld: %s", s, w[s].deal, w[s].r.cc,
                      w[s].r.status, w[s].r.body);
        char path[64];
        snprintf(path, sizeof path, "/v1/deals/race-%d", w[s].deal);
        fq_contract("PUT", path, &w[s].r);
    }
    /* the final state of each deal is the write with the latest as_of */
    for (int d = 0; d < RACE_DEALS; d++) {
        int best = -1;
        for (int s = 0; s < N; s++)
            if (w[s].deal == d && (best < 0 || w[s].stamp > w[best].stamp))
                best = s;
        char path[64], want[32];
        snprintf(path, sizeof path, "/v1/deals/race-%d", d);
        api_resp *r = api_get(path, ws.read);
        ck_assert_status(r, 200);
        snprintf(want, sizeof want, "n%d", best);
        ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), want);
        ck_assert_int_eq((long)json_number_value(json_object_get(r->json, "amount")), 1000 + best);
        ck_assert_str_eq(json_string_value(json_object_get(r->json, "stage")), race_stages[best % 5]);
        snprintf(want, sizeof want, "o%d", best);
        ck_assert_str_eq(json_string_value(json_object_get(r->json, "owner")), want);
        api_resp_free(r);
    }
    char sql[1024];
    /* stage history: one row per applied stage change, never the same stage twice in a row */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT stage, lag(stage) OVER (PARTITION BY h.deal_id ORDER BY h.id) AS prev"
             " FROM deal_stage_history h JOIN workspaces w ON w.id = h.workspace_id WHERE w.name = '%s') x"
             " WHERE stage = prev",
             ws.name);
    ck_assert_int_eq(sql_long(sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM deal_stage_history h WHERE h.workspace_id = w.id)"
             " - (SELECT count(*) FROM deal_changes c WHERE c.workspace_id = w.id AND c.field = 'stage'"
             " AND c.applied) FROM workspaces w WHERE w.name = '%s'",
             ws.name);
    ck_assert_int_eq(sql_long(sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM deals d JOIN workspaces w ON w.id = d.workspace_id WHERE w.name = '%s'", ws.name);
    ck_assert_int_eq(sql_long(sql), RACE_DEALS);
    fprintf(stderr, "faults: two instances: %d concurrent PUTs to %d new deals in %.2f s, all 2xx, latest as_of won\n",
            N, RACE_DEALS, took);
}
END_TEST

/* ---- 3. SIGKILL in a write storm ------------------------------------------ */

#define KILL_THREADS 6
#define KILL_PER 400

typedef struct {
    const char *base;
    const char *key;
    int t;
    fq_resp r[KILL_PER];
    int n; /* requests made */
} kill_client;

static void kill_deal_body(int t, int i, char *body, size_t len)
{
    snprintf(body, len, "{\"name\":\"k%d-%d\",\"stage\":\"proposal\",\"amount\":%d}", t, i, t * 10000 + i);
}

static void kill_event_body(int t, int i, char *body, size_t len)
{
    snprintf(body, len,
             "{\"items\":[{\"account\":\"acct-%d-%d\",\"date\":\"2026-02-01\",\"kind\":\"new\",\"amount\":%d}]}", t, i,
             100 + i);
}

/* Even requests: PUT a new deal; odd: POST an ARR event with an Idempotency-Key. */
static void kill_one(CURL *h, const char *base, const char *key, int t, int i, fq_resp *r)
{
    char path[64], body[256];
    if (i % 2 == 0) {
        snprintf(path, sizeof path, "/v1/deals/k%d-%d", t, i);
        kill_deal_body(t, i, body, sizeof body);
        fq_do(h, base, "PUT", path, key, body, NULL, r);
    } else {
        char idem[80];
        snprintf(idem, sizeof idem, "Idempotency-Key: storm-%d-%d", t, i);
        const char *extra[] = {idem, NULL};
        kill_event_body(t, i, body, sizeof body);
        fq_do(h, base, "POST", "/v1/arr-events", key, body, extra, r);
    }
}

static void *kill_run(void *arg)
{
    kill_client *c = arg;
    CURL *h = curl_easy_init();
    for (c->n = 0; c->n < KILL_PER; c->n++) {
        kill_one(h, c->base, c->key, c->t, c->n, &c->r[c->n]);
        if (c->r[c->n].cc == CURLE_COULDNT_CONNECT) {
            c->n++;
            break; /* the server is gone */
        }
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(sigkill_in_write_storm_loses_nothing_acknowledged)
{
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    char base[64];
    base_of(port, base, sizeof base);
    const char *args[] = {"--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    static kill_client cl[KILL_THREADS];
    pthread_t th[KILL_THREADS];
    for (int t = 0; t < KILL_THREADS; t++) {
        memset(&cl[t], 0, sizeof cl[t]);
        cl[t].base = base, cl[t].key = ws.write, cl[t].t = t;
        pthread_create(&th[t], NULL, kill_run, &cl[t]);
    }
    wait_progress(&cl[0].n, sizeof cl[0], KILL_THREADS, 100, 1.2, 30);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    for (int t = 0; t < KILL_THREADS; t++)
        pthread_join(th[t], NULL);
    int acked = 0, unanswered = 0, total = 0;
    for (int t = 0; t < KILL_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            fq_resp *r = &cl[t].r[i];
            total++;
            if (fq_2xx(r))
                acked++;
            else if (r->cc != CURLE_OK)
                unanswered++;
            else
                ck_abort_msg("request %d/%d answered %ld before the kill: %s", t, i, r->status, r->body);
        }
    ck_assert_int_ge(acked, 20);
    /* restart: every acknowledged write is there */
    port = api_free_port();
    base_of(port, base, sizeof base);
    pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    int acked_deals = 0, acked_events = 0;
    static char accounts[KILL_THREADS * KILL_PER * 20];
    size_t alen = 0;
    for (int t = 0; t < KILL_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            if (!fq_2xx(&cl[t].r[i]))
                continue;
            if (i % 2 == 0) {
                acked_deals++;
                char path[64];
                snprintf(path, sizeof path, "/v1/deals/k%d-%d", t, i);
                api_resp *r = api_req_at(base, "GET", path, ws.read, NULL, NULL, 0, NULL);
                ck_assert_msg(r->status == 200, "acknowledged deal %s lost: %ld", path, r->status);
                ck_assert_int_eq((long)json_number_value(json_object_get(r->json, "amount")), t * 10000 + i);
                api_resp_free(r);
            } else {
                acked_events++;
                alen +=
                    (size_t)snprintf(accounts + alen, sizeof accounts - alen, "%sacct-%d-%d", alen ? "," : "", t, i);
            }
        }
    /* the acknowledged ARR events: each stored once */
    static char sql[sizeof accounts + 512];
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT e.account) * 1000000 + count(*) FROM arr_events e JOIN workspaces w"
             " ON w.id = e.workspace_id WHERE w.name = '%s' AND e.account = ANY(string_to_array('%s', ','))",
             ws.name, accounts);
    ck_assert_int_eq(sql_long(sql), (long)acked_events * 1000000 + acked_events);
    /* redeliver everything that got no answer (and, once more, everything
     * that did): afterwards each write is applied exactly once */
    CURL *h = curl_easy_init();
    int redelivered = 0;
    for (int t = 0; t < KILL_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            fq_resp r;
            kill_one(h, base, ws.write, t, i, &r);
            ck_assert_msg(fq_2xx(&r), "redelivery %d/%d: curl %d status %ld %s", t, i, r.cc, r.status, r.body);
            if (!fq_2xx(&cl[t].r[i]))
                redelivered++;
        }
    curl_easy_cleanup(h);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT e.account FROM arr_events e JOIN workspaces w ON w.id = e.workspace_id"
             " WHERE w.name = '%s' GROUP BY e.account HAVING count(*) <> 1) x",
             ws.name);
    ck_assert_int_eq(sql_long(sql), 0);
    int events = 0, deals = 0;
    for (int t = 0; t < KILL_THREADS; t++)
        events += cl[t].n / 2, deals += (cl[t].n + 1) / 2;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM arr_events e JOIN workspaces w ON w.id = e.workspace_id WHERE w.name = '%s'",
             ws.name);
    ck_assert_int_eq(sql_long(sql), events);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM deal_changes c JOIN workspaces w ON w.id = c.workspace_id WHERE w.name = '%s'"
             " AND c.field = 'amount'",
             ws.name);
    ck_assert_int_eq(sql_long(sql), deals); /* the redelivered PUTs changed nothing */
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 10), 0);
    fprintf(stderr,
            "faults: SIGKILL in a write storm: %d requests, %d acknowledged (%d deals, %d ARR events) all present"
            " after restart; %d unanswered (%d redelivered); every deal and event stored exactly once\n",
            total, acked, acked_deals, acked_events, unanswered, redelivered);
}
END_TEST

/* ---- 4. webhooks: SIGKILL in a delivery storm, concurrent creates -------- */

#define WH_USER "storm"
#define WH_PASS "storm-password-0001"

/* sync: these fault tests read each event's outcome from the answer (the
 * store-then-apply path has its own SIGKILL test in test_webhooks.c); a
 * stage, as every new deal needs one (its events are held until then) */
#define WH_ENDPOINT_JSON                                                                                               \
    "{\"source\":\"pipedrive\",\"apply_mode\":\"sync\",\"stage_map\":{\"1\":\"proposal\"},\"basic_auth\":{"            \
    "\"username\":\"" WH_USER "\",\"password\":\"" WH_PASS "\"}}"

/* A Pipedrive v2 endpoint (HTTP Basic: no signature to compute per request). */
static void wh_endpoint(const api_ws *ws, const char *base, char *id, size_t len)
{
    api_resp *r = api_req_at(base, "POST", "/v1/webhook-endpoints", ws->admin, "application/json", WH_ENDPOINT_JSON,
                             strlen(WH_ENDPOINT_JSON), NULL);
    ck_assert_status(r, 201);
    snprintf(id, len, "%s", json_string_value(json_object_get(r->json, "id")));
    api_resp_free(r);
}

/* One Pipedrive v2 "change" event: its own meta.id (the dedupe key), the
 * deal, a title and value, and when it happened (seconds after a base). */
static void wh_event(char *out, size_t len, const char *event_id, const char *deal, const char *title, int value,
                     int at_s)
{
    snprintf(out, len,
             "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"%s\",\"id\":\"%s\","
             "\"timestamp\":\"2026-11-20T%02d:%02d:%02d.000Z\",\"version\":\"2.0\",\"webhook_id\":\"77\"},"
             "\"data\":{\"id\":\"%s\",\"title\":\"%s\",\"value\":%d,\"currency\":\"EUR\",\"status\":\"open\","
             "\"stage_id\":1}}",
             deal, event_id, at_s / 3600, (at_s / 60) % 60, at_s % 60, deal, title, value);
}

static void wh_post(CURL *h, const char *base, const char *ep, const char *body, fq_resp *r)
{
    char path[96], cred[128], enc[200], hdr[240];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    int n = snprintf(cred, sizeof cred, "%s:%s", WH_USER, WH_PASS);
    EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)cred, n);
    snprintf(hdr, sizeof hdr, "Authorization: Basic %s", enc);
    /* fq_do always sends a Bearer header; a webhook carries its own credentials */
    memset(r, 0, sizeof *r);
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fq_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, fq_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, hdr);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    r->cc = curl_easy_perform(h);
    if (r->cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
}

/* counts.<name> of a webhook answer; -1 when absent */
static long wh_count(const fq_resp *r, const char *name)
{
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    json_t *c = json_object_get(json_object_get(j, "counts"), name);
    long v = json_is_integer(c) ? (long)json_integer_value(c) : -1;
    json_decref(j);
    return v;
}

#define WHK_THREADS 6
#define WHK_PER 300

typedef struct {
    const char *base;
    const char *ep;
    int t;
    fq_resp r[WHK_PER];
    int n;
} whk_client;

static void whk_body(int t, int i, char *body, size_t len)
{
    char evid[64], deal[32], title[32];
    snprintf(evid, sizeof evid, "%08d-0000-4000-8000-%012d", t, i);
    snprintf(deal, sizeof deal, "wh-%d-%d", t, i);
    snprintf(title, sizeof title, "W %d-%d", t, i);
    wh_event(body, len, evid, deal, title, 100 + t * 1000 + i, 36000 + i);
}

static void *whk_run(void *arg)
{
    whk_client *c = arg;
    CURL *h = curl_easy_init();
    for (c->n = 0; c->n < WHK_PER; c->n++) {
        char body[700];
        whk_body(c->t, c->n, body, sizeof body);
        wh_post(h, c->base, c->ep, body, &c->r[c->n]);
        if (c->r[c->n].cc == CURLE_COULDNT_CONNECT) {
            c->n++;
            break;
        }
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(sigkill_in_webhook_storm_applies_each_event_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    char base[64], ep[64];
    base_of(port, base, sizeof base);
    const char *args[] = {"--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    wh_endpoint(&ws, base, ep, sizeof ep);
    static whk_client cl[WHK_THREADS];
    pthread_t th[WHK_THREADS];
    for (int t = 0; t < WHK_THREADS; t++) {
        memset(&cl[t], 0, sizeof cl[t]);
        cl[t].base = base, cl[t].ep = ep, cl[t].t = t;
        pthread_create(&th[t], NULL, whk_run, &cl[t]);
    }
    wait_progress(&cl[0].n, sizeof cl[0], WHK_THREADS, 100, 1.2, 30);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    for (int t = 0; t < WHK_THREADS; t++)
        pthread_join(th[t], NULL);
    int total = 0, acked = 0, unanswered = 0;
    for (int t = 0; t < WHK_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            fq_resp *r = &cl[t].r[i];
            total++;
            if (fq_2xx(r)) {
                acked++;
                ck_assert_msg(wh_count(r, "applied") == 1, "event %d/%d acknowledged but not applied: %s", t, i,
                              r->body);
            } else if (r->cc != CURLE_OK) {
                unanswered++;
            } else {
                ck_abort_msg("event %d/%d answered %ld before the kill: %s", t, i, r->status, r->body);
            }
        }
    ck_assert_int_ge(acked, 20);
    port = api_free_port();
    base_of(port, base, sizeof base);
    pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    /* every acknowledged event's change is there */
    for (int t = 0; t < WHK_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            if (!fq_2xx(&cl[t].r[i]))
                continue;
            char path[64];
            snprintf(path, sizeof path, "/v1/deals/wh-%d-%d", t, i);
            api_resp *r = api_req_at(base, "GET", path, ws.read, NULL, NULL, 0, NULL);
            ck_assert_msg(r->status == 200, "acknowledged webhook change %s lost: %ld", path, r->status);
            ck_assert_int_eq((long)json_number_value(json_object_get(r->json, "amount")), 100 + t * 1000 + i);
            api_resp_free(r);
        }
    /* the CRM redelivers what got no answer (and, here, everything else too):
     * acknowledged events come back as duplicates, the rest apply or are
     * duplicates of a delivery that committed before the kill */
    CURL *h = curl_easy_init();
    int dup = 0, applied_late = 0;
    for (int t = 0; t < WHK_THREADS; t++)
        for (int i = 0; i < cl[t].n; i++) {
            char body[700];
            fq_resp r;
            whk_body(t, i, body, sizeof body);
            wh_post(h, base, ep, body, &r);
            ck_assert_msg(fq_2xx(&r), "redelivery %d/%d: curl %d, %ld %s", t, i, r.cc, r.status, r.body);
            long d = wh_count(&r, "duplicate"), a = wh_count(&r, "applied");
            if (fq_2xx(&cl[t].r[i]))
                ck_assert_msg(d == 1, "acknowledged event %d/%d redelivered: %s", t, i, r.body);
            else
                ck_assert_msg(d + a == 1, "unanswered event %d/%d redelivered: %s", t, i, r.body);
            dup += (int)(d == 1);
            applied_late += (int)(a == 1);
        }
    curl_easy_cleanup(h);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT dedupe_key FROM webhook_events e JOIN workspaces w ON w.id = e.workspace_id"
             " WHERE w.name = '%s' AND e.status <> 'duplicate' GROUP BY dedupe_key HAVING count(*) <> 1) x",
             ws.name);
    ck_assert_int_eq(sql_long(sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM webhook_events e JOIN workspaces w ON w.id = e.workspace_id"
             " WHERE w.name = '%s' AND e.status = 'applied'",
             ws.name);
    ck_assert_int_eq(sql_long(sql), total);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM deal_changes c JOIN workspaces w ON w.id = c.workspace_id WHERE w.name = '%s'"
             " AND c.field = 'amount'",
             ws.name);
    ck_assert_int_eq(sql_long(sql), total); /* each event's change applied once */
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 10), 0);
    fprintf(stderr,
            "faults: SIGKILL in a webhook storm: %d events, %d acknowledged, all present after restart; %d unanswered;"
            " redelivery: %d duplicates, %d applied late; every event applied exactly once\n",
            total, acked, unanswered, dup, applied_late);
}
END_TEST

#define WHR_THREADS 8
#define WHR_ROUNDS 4

typedef struct {
    const char *base[2];
    const char *ep;
    int t;
    pthread_barrier_t *go;
    fq_resp r[WHR_ROUNDS];
} whr_client;

static int whr_stamp(int round, int t) { return 36000 + ((t * 5 + round * 3) % WHR_THREADS) * 10; }

static void *whr_run(void *arg)
{
    whr_client *c = arg;
    CURL *h = curl_easy_init();
    for (int round = 0; round < WHR_ROUNDS; round++) {
        char body[700], evid[64], deal[32], title[32];
        snprintf(evid, sizeof evid, "%08d-1111-4000-8000-%012d", round, c->t);
        snprintf(deal, sizeof deal, "whr-%d", round);
        snprintf(title, sizeof title, "R%d by %d", round, c->t);
        wh_event(body, sizeof body, evid, deal, title, 1000 + c->t, whr_stamp(round, c->t));
        pthread_barrier_wait(c->go); /* every thread's event for this new deal at once */
        wh_post(h, c->base[c->t % 2], c->ep, body, &c->r[round]);
    }
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(concurrent_webhooks_creating_one_deal_lose_nothing)
{
    api_ws ws;
    api_new_workspace(&ws);
    int p1 = api_free_port(), p2 = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t a = api_spawn_server(api_db_url(), p1, args);
    pid_t b = api_spawn_server(api_db_url(), p2, args);
    ck_assert(api_wait_healthy(p1, 10000) && api_wait_healthy(p2, 10000));
    char b1[64], b2[64], ep[64];
    base_of(p1, b1, sizeof b1);
    base_of(p2, b2, sizeof b2);
    wh_endpoint(&ws, b1, ep, sizeof ep);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, WHR_THREADS);
    static whr_client cl[WHR_THREADS];
    pthread_t th[WHR_THREADS];
    for (int t = 0; t < WHR_THREADS; t++) {
        cl[t] = (whr_client){.base = {b1, b2}, .ep = ep, .t = t, .go = &go};
        pthread_create(&th[t], NULL, whr_run, &cl[t]);
    }
    for (int t = 0; t < WHR_THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    ck_assert_int_eq(wait_exit(a, 10), 0);
    ck_assert_int_eq(wait_exit(b, 10), 0);
    int applied = 0, stale = 0;
    for (int t = 0; t < WHR_THREADS; t++)
        for (int round = 0; round < WHR_ROUNDS; round++) {
            fq_resp *r = &cl[t].r[round];
            ck_assert_msg(fq_2xx(r), "event %d of round %d: curl %d, %ld %s", t, round, r->cc, r->status, r->body);
            ck_assert_msg(wh_count(r, "rejected") == 0, "event %d of round %d rejected: %s", t, round, r->body);
            applied += (int)wh_count(r, "applied");
            stale += (int)wh_count(r, "stale");
        }
    ck_assert_int_eq(applied + stale, WHR_THREADS * WHR_ROUNDS);
    /* each deal ends with the change that happened last */
    for (int round = 0; round < WHR_ROUNDS; round++) {
        int best = 0;
        for (int t = 1; t < WHR_THREADS; t++)
            if (whr_stamp(round, t) > whr_stamp(round, best))
                best = t;
        char path[64], want[32];
        snprintf(path, sizeof path, "/v1/deals/whr-%d", round);
        snprintf(want, sizeof want, "R%d by %d", round, best);
        api_resp *r = api_get(path, ws.read);
        ck_assert_status(r, 200);
        ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), want);
        ck_assert_int_eq((long)json_number_value(json_object_get(r->json, "amount")), 1000 + best);
        api_resp_free(r);
    }
    fprintf(stderr,
            "faults: %d concurrent webhook deliveries creating %d new deals on two instances: all 200, none rejected"
            " (%d applied, %d stale), the latest change won\n",
            WHR_THREADS * WHR_ROUNDS, WHR_ROUNDS, applied, stale);
}
END_TEST

/* ---- 6. a hung database (SIGSTOP of the whole cluster) ------------------- */

#define HUNG_DEADLINE_MS 2000
#define HUNG_READY_MS 1000
#define HUNG_WRITERS 3
#define HUNG_MAX 4000

/* The postmaster of the cluster in dir (scripts/devdb's layout: dir, or the
 * directory dir/LOCATION names) and every process it started. */
static int cluster_pids(const char *dir, pid_t *out, int max)
{
    char real[512], path[600], buf[512];
    snprintf(real, sizeof real, "%s", dir);
    snprintf(path, sizeof path, "%s/LOCATION", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(real, sizeof real, f))
            real[strcspn(real, "\n")] = '\0';
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/data/postmaster.pid", real);
    f = fopen(path, "r");
    if (!f)
        return 0;
    long pm = 0;
    if (fgets(buf, sizeof buf, f))
        pm = strtol(buf, NULL, 10);
    fclose(f);
    if (pm <= 0)
        return 0;
    int n = 0;
    out[n++] = (pid_t)pm;
    /* children: /proc/<pid>/stat's fourth field is the parent */
    FILE *ls = popen("ls /proc", "r");
    while (ls && fgets(buf, sizeof buf, ls) && n < max) {
        long pid = strtol(buf, NULL, 10);
        if (pid <= 0)
            continue;
        char st[128], line[512];
        snprintf(st, sizeof st, "/proc/%ld/stat", pid);
        FILE *sf = fopen(st, "r");
        if (!sf)
            continue;
        long ppid = 0;
        if (fgets(line, sizeof line, sf)) {
            const char *rp = strrchr(line, ')');
            if (rp)
                sscanf(rp + 2, "%*c %ld", &ppid);
        }
        fclose(sf);
        if (ppid == pm)
            out[n++] = (pid_t)pid;
    }
    if (ls)
        pclose(ls);
    return n;
}

typedef struct {
    const char *base;
    const char *key;
    int t;
    volatile int *stop;
    int n, acked, unavailable, other;
    char acked_ids[HUNG_MAX][24];
    int acked_amount[HUNG_MAX];
    int n_acked;
    bool bad_503; /* a 503 without Retry-After */
    char first_other[200];
} hung_client;

static void *hung_run(void *arg)
{
    hung_client *c = arg;
    CURL *h = curl_easy_init();
    for (c->n = 0; c->n < HUNG_MAX && !*c->stop; c->n++) {
        char path[64], body[160], id[24];
        snprintf(id, sizeof id, "h%d-%d", c->t, c->n);
        snprintf(path, sizeof path, "/v1/deals/%s", id);
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"stage\":\"opportunity\",\"amount\":%d}", id, 1000 + c->n);
        fq_resp r;
        fq_do(h, c->base, "PUT", path, c->key, body, NULL, &r);
        if (fq_2xx(&r)) {
            snprintf(c->acked_ids[c->n_acked], 24, "%s", id);
            c->acked_amount[c->n_acked++] = 1000 + c->n;
            c->acked++;
        } else if (r.status == 503) {
            c->unavailable++;
            if (!r.retry_after[0])
                c->bad_503 = true;
        } else {
            c->other++;
            if (!c->first_other[0])
                snprintf(c->first_other, sizeof c->first_other, "%ld %d %.120s", r.status, (int)r.cc, r.body);
        }
    }
    curl_easy_cleanup(h);
    return NULL;
}

static double timed_get(CURL *h, const char *base, const char *path, const char *key, fq_resp *r)
{
    double t0 = now_s();
    fq_do(h, base, "GET", path, key ? key : "", NULL, NULL, r);
    return now_s() - t0;
}

START_TEST(hung_database_answers_503_in_time_and_loses_nothing)
{
    char dir[300], url[512], cmd[1400], out[4096];
    snprintf(dir, sizeof dir, "%s/hung-pg", api_tmpdir());
    ck_assert_int_eq(api_devdb("start", dir, url, sizeof url), 0);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace hung --role write --database-url '%s' 2>&1", api_revopsd(),
             url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    char key[64];
    size_t ol = strlen(out);
    while (ol && (out[ol - 1] == '\n' || out[ol - 1] == ' '))
        out[--ol] = '\0';
    const char *last = strrchr(out, '\n');
    snprintf(key, sizeof key, "%.63s", last ? last + 1 : out);
    int port = api_free_port();
    char deadline[16], ready[16];
    snprintf(deadline, sizeof deadline, "%d", HUNG_DEADLINE_MS);
    snprintf(ready, sizeof ready, "%d", HUNG_READY_MS);
    const char *args[] = {"--db-deadline-ms", deadline, "--ready-deadline-ms", ready, "--threads", "4", NULL};
    pid_t pid = api_spawn_server(url, port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64];
    base_of(port, base, sizeof base);

    static hung_client cl[HUNG_WRITERS];
    pthread_t th[HUNG_WRITERS];
    volatile int stop = 0;
    for (int t = 0; t < HUNG_WRITERS; t++) {
        memset(&cl[t], 0, sizeof cl[t]);
        cl[t] = (hung_client){.base = base, .key = key, .t = t, .stop = &stop};
        pthread_create(&th[t], NULL, hung_run, &cl[t]);
    }
    usleep(700 * 1000);
    pid_t pids[256];
    int np = cluster_pids(dir, pids, 256);
    ck_assert_int_ge(np, 2);
    for (int i = 0; i < np; i++)
        kill(pids[i], SIGSTOP);
    /* measure first, assert after SIGCONT: a failed check must not leave the
     * cluster frozen */
    usleep(300 * 1000); /* the writers are now stuck inside their statements */
    CURL *h = curl_easy_init();
    fq_resp ready_r, ws_r, health_r, metrics_r;
    double t_ready = timed_get(h, base, "/readyz", NULL, &ready_r);
    double t_ws = timed_get(h, base, "/v1/workspace", key, &ws_r);
    double t_health = timed_get(h, base, "/healthz", NULL, &health_r);
    double t_metrics = timed_get(h, base, "/metrics", NULL, &metrics_r);
    double worst_health = t_health;
    for (int i = 0; i < 10; i++) {
        fq_resp x;
        double t = timed_get(h, base, "/healthz", NULL, &x);
        if (x.status != 200)
            worst_health = 99;
        if (t > worst_health)
            worst_health = t;
        usleep(100 * 1000);
    }
    for (int i = 0; i < np; i++)
        kill(pids[i], SIGCONT);
    double thaw = now_s();
    bool back = false;
    while (now_s() - thaw < 15 && !back) {
        fq_resp x;
        timed_get(h, base, "/readyz", NULL, &x);
        back = x.status == 200;
        if (!back)
            usleep(100 * 1000);
    }
    usleep(500 * 1000); /* some writes after the thaw */
    stop = 1;
    for (int t = 0; t < HUNG_WRITERS; t++)
        pthread_join(th[t], NULL);
    fq_resp after;
    fq_do(h, base, "PUT", "/v1/deals/after-thaw", key, "{\"name\":\"after\",\"stage\":\"opportunity\",\"amount\":1}",
          NULL, &after);
    curl_easy_cleanup(h);

    ck_assert_msg(ready_r.status == 503 && ready_r.retry_after[0], "/readyz on a hung database: %ld (Retry-After '%s')",
                  ready_r.status, ready_r.retry_after);
    ck_assert_msg(t_ready <= HUNG_READY_MS / 1000.0 + 1.0, "/readyz took %.2f s", t_ready);
    ck_assert_msg(ws_r.status == 503 && ws_r.retry_after[0], "GET /v1/workspace on a hung database: %ld %s",
                  ws_r.status, ws_r.body);
    ck_assert_msg(t_ws <= HUNG_DEADLINE_MS / 1000.0 + 1.0, "GET /v1/workspace took %.2f s", t_ws);
    ck_assert_msg(health_r.status == 200 && metrics_r.status == 200, "healthz %ld, metrics %ld", health_r.status,
                  metrics_r.status);
    ck_assert_msg(worst_health <= HUNG_DEADLINE_MS / 1000.0 + 1.0, "/healthz took up to %.2f s", worst_health);
    ck_assert_msg(t_metrics <= HUNG_DEADLINE_MS / 1000.0 + 1.0, "/metrics took %.2f s", t_metrics);
    ck_assert_msg(back, "/readyz not 200 within 15 s of SIGCONT");
    ck_assert_msg(fq_2xx(&after), "a write after the thaw: %ld %s", after.status, after.body);
    fq_contract("GET", "/readyz", &ready_r);
    fq_contract("GET", "/v1/workspace", &ws_r);
    int acked = 0, unavailable = 0;
    for (int t = 0; t < HUNG_WRITERS; t++) {
        ck_assert_msg(!cl[t].bad_503, "writer %d got a 503 without Retry-After", t);
        ck_assert_msg(cl[t].other == 0, "writer %d: an answer neither 2xx nor 503: %s", t, cl[t].first_other);
        acked += cl[t].acked;
        unavailable += cl[t].unavailable;
    }
    ck_assert_int_gt(unavailable, 0); /* the freeze was felt */
    /* every acknowledged write is there, with its amount */
    for (int t = 0; t < HUNG_WRITERS; t++)
        for (int i = 0; i < cl[t].n_acked; i++) {
            snprintf(cmd, sizeof cmd, "psql '%s' -tAc \"SELECT amount_cents FROM deals WHERE external_id = '%s'\" 2>&1",
                     url, cl[t].acked_ids[i]);
            ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
            ck_assert_msg(strtol(out, NULL, 10) == (long)cl[t].acked_amount[i] * 100, "deal %s: stored '%s', acked %d",
                          cl[t].acked_ids[i], out, cl[t].acked_amount[i]);
        }
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 10.0), 0);
    api_devdb("stop", dir, NULL, 0);
    fprintf(stderr,
            "faults: hung database (SIGSTOP of %d cluster processes): /readyz 503 in %.2f s (deadline %d ms),"
            " GET 503 in %.2f s (deadline %d ms), /healthz worst %.3f s, /metrics %.3f s; %d writes acknowledged,"
            " %d answered 503, all acknowledged present after SIGCONT\n",
            np, t_ready, HUNG_READY_MS, t_ws, HUNG_DEADLINE_MS, worst_health, t_metrics, acked, unavailable);
}
END_TEST

/* ---- 7. slow-header flood --------------------------------------------------- */

#define SLOW_CONNS 2000
#define SLOW_ADDRS 10
#define SLOW_PER_IP 50
#define SLOW_HEADER_S 2

/* A connection from 127.0.0.<src> that sends part of a header block and
 * stops: -1 when the socket could not be made. Non-blocking. */
static int slow_open(int src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000000u | (unsigned)src)};
    struct sockaddr_in to = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Has the server closed fd (EOF or reset)? Sends the partial header block
 * once the connection is up. */
static bool slow_closed(int fd, bool *sent)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLERR | POLLHUP))
        return true;
    if (p.revents & POLLIN) {
        char b[64];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            return true;
    }
    if ((p.revents & POLLOUT) && !*sent) {
        static const char part[] = "GET /v1/deals HTTP/1.1\r\nHost: x\r\nX-Slow: a";
        if (send(fd, part, sizeof part - 1, MSG_NOSIGNAL) < 0)
            return true;
        *sent = true;
    }
    return false;
}

static int slow_count_open(const int *fds, bool *sent, int n)
{
    int open_n = 0;
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0 && !slow_closed(fds[i], &sent[i]))
            open_n++;
    return open_n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(slow_header_flood_is_refused_and_cut)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < SLOW_CONNS + 256 && rl.rlim_max >= SLOW_CONNS + 256) {
        rl.rlim_cur = SLOW_CONNS + 256;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    ck_assert_msg(rl.rlim_cur >= SLOW_CONNS + 256, "need %d descriptors, have %ld", SLOW_CONNS + 256,
                  (long)rl.rlim_cur);
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    char per_ip[16], hdr_s[16];
    snprintf(per_ip, sizeof per_ip, "%d", SLOW_PER_IP);
    snprintf(hdr_s, sizeof hdr_s, "%d", SLOW_HEADER_S);
    const char *args[] = {
        "--max-connections", "600", "--max-connections-per-ip", per_ip, "--header-timeout", hdr_s, NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64];
    base_of(port, base, sizeof base);

    static int fds[SLOW_CONNS];
    static bool sent[SLOW_CONNS];
    memset(sent, 0, sizeof sent);
    int made = 0;
    double t0 = now_s();
    for (int i = 0; i < SLOW_CONNS; i++) {
        fds[i] = slow_open(2 + i % SLOW_ADDRS, port);
        made += fds[i] >= 0;
    }
    /* let the connections come up and the partial headers go out */
    for (int k = 0; k < 5; k++) {
        (void)slow_count_open(fds, sent, SLOW_CONNS);
        usleep(100 * 1000);
    }
    int open_early = slow_count_open(fds, sent, SLOW_CONNS);
    /* cheap requests from another address while the flood holds its slots */
    double lat[40];
    int ok = 0, worst = 0;
    /* for the slowest request: was a new connection made, and where did the
     * time go (connect, first byte): tells a stall in the kernel's queues from
     * one in the server */
    long worst_connects = 0;
    curl_off_t worst_connect_us = 0, worst_first_byte_us = 0;
    const char *worst_path = NULL;
    CURL *h = curl_easy_init();
    for (int i = 0; i < 40; i++) {
        fq_resp r;
        const char *path = i % 4 == 3 ? "/v1/deals?limit=5" : "/healthz";
        double a = now_s();
        fq_do(h, base, "GET", path, ws.read, NULL, NULL, &r);
        lat[i] = now_s() - a;
        ok += r.status == 200;
        if (i == 0 || lat[i] > lat[worst]) {
            worst = i;
            worst_path = path;
            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &worst_connects);
            curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &worst_connect_us);
            curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &worst_first_byte_us);
        }
        if (i == 20) /* a byte more on every slow connection: libmicrohttpd's idle timeout is not the guard */
            for (int k = 0; k < SLOW_CONNS; k++)
                if (fds[k] >= 0 && sent[k])
                    (void)send(fds[k], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        usleep(20 * 1000);
    }
    curl_easy_cleanup(h);
    double worst_s = lat[worst]; /* lat is sorted below */
    int open_late = SLOW_CONNS;
    while (now_s() - t0 < SLOW_HEADER_S + 3.0 && open_late > 0) {
        open_late = slow_count_open(fds, sent, SLOW_CONNS);
        usleep(100 * 1000);
    }
    double cut_at = now_s() - t0;
    for (int i = 0; i < SLOW_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    qsort(lat, 40, sizeof *lat, cmp_double);
    fq_resp after;
    CURL *h2 = curl_easy_init();
    fq_do(h2, base, "GET", "/healthz", "", NULL, NULL, &after);
    curl_easy_cleanup(h2);
    if (worst_s >= 1.0) { /* the server's own account: its warnings, and every request that took 100 ms or more */
        char cmd[600];
        fprintf(
            stderr,
            "faults: slow-header flood: request %d (%s) took %.3f s: %ld new connection(s), connected after %.3f s, "
            "first byte after %.3f s; the server's log:\n",
            worst, worst_path, worst_s, worst_connects, (double)worst_connect_us / 1e6,
            (double)worst_first_byte_us / 1e6);
        snprintf(cmd, sizeof cmd, "grep -vE '\"duration_ms\":[0-9]{1,2}\\.' %s/revopsd-%d.log | tail -40 >&2",
                 api_tmpdir(), port);
        if (system(cmd) != 0)
            fprintf(stderr, "(no server log)\n");
    }
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 10.0);
    if (rc != 0) { /* the server's own account of its end */
        char cmd[512];
        snprintf(cmd, sizeof cmd, "tail -20 %s/revopsd-%d.log >&2", api_tmpdir(), port);
        if (system(cmd) != 0)
            fprintf(stderr, "(no server log)\n");
    }

    ck_assert_int_eq(made, SLOW_CONNS);
    ck_assert_msg(open_early <= SLOW_ADDRS * SLOW_PER_IP, "%d slow connections held open (limit %d per address)",
                  open_early, SLOW_PER_IP);
    ck_assert_msg(open_early > 0, "no slow connection was accepted at all");
    ck_assert_int_eq(ok, 40);
    ck_assert_msg(worst_s < 1.0, "a cheap request (%s) took %.3f s during the flood", worst_path, worst_s);
    ck_assert_msg(open_late == 0, "%d slow connections still open %.1f s after they started (header timeout %d s)",
                  open_late, cut_at, SLOW_HEADER_S);
    ck_assert_int_eq(after.status, 200);
    ck_assert_int_eq(rc, 0);
    fprintf(stderr,
            "faults: slow-header flood: %d connections from %d addresses, %d accepted (per-address limit %d), all cut "
            "%.1f s after they started (header timeout %d s); 40 cheap requests meanwhile: p50 %.1f ms, max %.1f ms\n",
            SLOW_CONNS, SLOW_ADDRS, open_early, SLOW_PER_IP, cut_at, SLOW_HEADER_S, lat[19] * 1000, lat[39] * 1000);
}
END_TEST

/* ---- 8. expensive requests are bounded; cheap ones keep their latency ----- */

typedef struct {
    const char *base, *key, *body;
    fq_resp r;
    double took;
} costly_call;

static void *costly_run(void *arg)
{
    costly_call *c = arg;
    CURL *h = curl_easy_init();
    double t0 = now_s();
    fq_do(h, c->base, "POST", "/v1/imports", c->key, c->body, NULL, &c->r);
    c->took = now_s() - t0;
    curl_easy_cleanup(h);
    return NULL;
}

START_TEST(expensive_requests_are_bounded_per_instance_and_key)
{
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    const char *args[] = {"--costly-concurrency", "1", "--costly-per-key", "1", "--costly-queue-ms", "300", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64], cmd[1024];
    base_of(port, base, sizeof base);
    /* a long import, made long by a lock on deals held for 3 s (the import
     * holds its slot while it waits) */
    snprintf(cmd, sizeof cmd,
             "(psql '%s' -qc 'BEGIN; LOCK TABLE deals IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;' "
             ">/dev/null 2>&1 &)",
             api_db_url());
    ck_assert_int_eq(api_run(cmd, NULL, 0), 0);
    usleep(400 * 1000);
    const char *body = "{\"object\":\"deals\",\"format\":\"csv\",\"data\":\"id,name,stage,amount\\nc1,C,sql,10\\n\"}";
    costly_call first = {.base = base, .key = ws.write, .body = body};
    pthread_t th;
    pthread_create(&th, NULL, costly_run, &first);
    usleep(400 * 1000);
    /* the same key again: its share is running -> 429; another key: the
     * instance's one slot is taken -> 503; both after the brief queue */
    costly_call same = {.base = base, .key = ws.write, .body = body};
    costly_run(&same);
    costly_call other = {.base = base, .key = ws.admin, .body = body};
    costly_run(&other);
    CURL *h = curl_easy_init();
    fq_resp cheap, health, dash;
    /* a dashboard not yet cached is expensive too: 503 after the queue, not
     * a worker stuck behind the lock for seconds */
    double t0 = now_s();
    fq_do(h, base, "GET", "/v1/dashboard", ws.read, NULL, NULL, &dash);
    double t_dash = now_s() - t0;
    t0 = now_s();
    fq_do(h, base, "GET", "/v1/workspace", ws.read, NULL, NULL, &cheap);
    double t_cheap = now_s() - t0;
    t0 = now_s();
    fq_do(h, base, "GET", "/healthz", "", NULL, NULL, &health);
    double t_health = now_s() - t0;
    pthread_join(th, NULL);
    costly_call again = {.base = base, .key = ws.admin, .body = body};
    costly_run(&again);
    curl_easy_cleanup(h);
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 10.0);

    ck_assert_msg(same.r.status == 429 && same.r.retry_after[0], "same key: %ld (Retry-After '%s') %s", same.r.status,
                  same.r.retry_after, same.r.body);
    ck_assert_msg(strstr(same.r.body, "/problems/rate-limited"), "same key: %s", same.r.body);
    ck_assert_msg(other.r.status == 503 && other.r.retry_after[0], "other key: %ld %s", other.r.status, other.r.body);
    ck_assert_msg(strstr(other.r.body, "/problems/overloaded"), "other key: %s", other.r.body);
    ck_assert_msg(same.took >= 0.25 && same.took < 2.0, "the queue lasted %.2f s (300 ms configured)", same.took);
    ck_assert_msg(dash.status == 503 && strstr(dash.body, "/problems/overloaded") && t_dash < 2.0,
                  "an uncached dashboard while the slot was taken: %ld in %.2f s %s", dash.status, t_dash, dash.body);
    ck_assert_msg(cheap.status == 200 && t_cheap < 1.0, "a cheap GET during it: %ld in %.2f s", cheap.status, t_cheap);
    ck_assert_msg(health.status == 200 && t_health < 1.0, "/healthz: %ld in %.2f s", health.status, t_health);
    ck_assert_msg(fq_2xx(&first.r), "the running import: %ld %s", first.r.status, first.r.body);
    ck_assert_msg(first.took > 1.5, "the import did not wait on the lock (%.2f s): the test proves nothing",
                  first.took);
    ck_assert_msg(fq_2xx(&again.r), "an import after the slot was free: %ld %s", again.r.status, again.r.body);
    fq_contract("POST", "/v1/imports", &same.r);
    fq_contract("POST", "/v1/imports", &other.r);
    fq_contract("GET", "/v1/dashboard", &dash);
    ck_assert_int_eq(rc, 0);
    fprintf(stderr,
            "faults: cost guard (1 slot, 1 per key, 300 ms queue): a 2nd import of the key 429 in %.2f s, another "
            "key's 503 in %.2f s, an uncached dashboard 503 in %.2f s, a cheap GET %.1f ms and /healthz %.1f ms "
            "meanwhile\n",
            same.took, other.took, t_dash, t_cheap * 1000, t_health * 1000);
}
END_TEST

/* ---- 9. long requests run on the worker pool: /healthz never waits ------- */

/* A whole answer (fq_resp keeps only its first bytes): a long request's
 * answer is compared with the same request made alone. */
typedef struct {
    long status;
    CURLcode cc;
    char *body;
    size_t len;
    double took;
    const char *base, *key, *reqbody; /* reqbody NULL: GET path */
    const char *path;
} long_call;

static size_t long_on_body(char *data, size_t size, size_t n, void *ud)
{
    long_call *c = ud;
    size_t add = size * n;
    char *nb = realloc(c->body, c->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + c->len, data, add);
    c->body = nb;
    c->len += add;
    c->body[c->len] = '\0';
    return add;
}

static void *long_run(void *arg)
{
    long_call *c = arg;
    CURL *h = curl_easy_init();
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s%s", c->base, c->path ? c->path : "/v1/forecasts/backtest");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->key);
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (c->reqbody)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->reqbody);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, long_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    double t0 = now_s();
    c->cc = curl_easy_perform(h);
    c->took = now_s() - t0;
    if (c->cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return NULL;
}

/* 24 months of history (deals created, won and lost over the last two years)
 * and the body of a backtest of its last 8 quarters. */
static void backtest_history(const api_ws *ws, char *body, size_t len)
{
    json_t *items = json_array();
    for (int i = 0; i < 160; i++) {
        char id[16], at[32], day[11], close[11], closed[32];
        int created = -740 + i * 4, fate = i % 5; /* 0-1 won, 2-3 lost, 4 open */
        snprintf(id, sizeof id, "lb-%03d", i);
        snprintf(at, sizeof at, "%sT09:00:00Z", api_day(created, day));
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "id", id, "name", id, "as_of", at, "stage", "sql",
                               "amount", 1000 * (5 + i % 40), "expected_close_date", api_day(created + 45, close));
        json_array_append_new(items, it);
        if (fate < 4 && created + 30 < -1) {
            snprintf(closed, sizeof closed, "%sT15:00:00Z", api_day(created + 30, day));
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "name", id, "as_of", closed, "stage",
                                            fate < 2 ? "closed_won" : "closed_lost", "closed_at", closed));
        }
    }
    json_t *req = json_pack("{s:o}", "items", items);
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    api_resp *r = api_send_json("POST", "/v1/deals/batch", ws->write, s);
    free(s);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 0);
    api_resp_free(r);
    /* the 8 quarters before today's, counted on the quarter number (steps of
     * 91 days would land twice in a 92-day quarter) */
    char q[11];
    api_quarter_of_day(0, q);
    int year = atoi(q), qn = q[6] - '1';
    size_t n = (size_t)snprintf(body, len, "{\"method\":\"all\",\"periods\":[");
    for (int k = 8; k >= 1; k--) {
        int y = year, m = qn - k;
        while (m < 0) {
            m += 4;
            y--;
        }
        n += (size_t)snprintf(body + n, len - n, "\"%04d-Q%d\"%s", y, m + 1, k > 1 ? "," : "");
    }
    snprintf(body + n, len - n, "]}");
}

/* Hold an exclusive lock on deals for secs seconds (in the background): every
 * backtest blocks on it with its worker, as one on a big history computes. */
static void lock_deals(int secs)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "(psql '%s' -qc 'BEGIN; LOCK TABLE deals IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(%d); COMMIT;' "
             ">/dev/null 2>&1 &)",
             api_db_url(), secs);
    ck_assert_int_eq(api_run(cmd, NULL, 0), 0);
    usleep(400 * 1000);
}

#define LONG_THREADS 2
#define LONG_N (LONG_THREADS * 3) /* long requests at once: three per HTTP thread */

START_TEST(healthz_answers_while_long_requests_run)
{
    api_ws ws;
    api_new_workspace(&ws);
    char body[512];
    backtest_history(&ws, body, sizeof body);
    int port = api_free_port();
    /* two HTTP threads; the pool runs four at once, two wait in its queue */
    const char *args[] = {
        "--threads",         "2",     "--workers", "4", "--costly-concurrency", "4", "--costly-per-key", "8",
        "--costly-queue-ms", "20000", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64];
    base_of(port, base, sizeof base);

    lock_deals(3);
    long_call calls[LONG_N];
    pthread_t th[LONG_N];
    for (int i = 0; i < LONG_N; i++) {
        calls[i] = (long_call){.base = base, .key = ws.read, .reqbody = body};
        pthread_create(&th[i], NULL, long_run, &calls[i]);
    }
    /* the pool's gauges in /metrics: once all six have arrived, four run
     * (the pool's four workers, four cost-guard slots) and two wait queued
     * (the lock holds them for seconds) */
    int busy = -1, queued = -1, pool = -1;
    for (double stop_at = now_s() + 2.0; now_s() < stop_at && busy + queued != LONG_N;) {
        long_call m = {.base = base, .key = "", .path = "/metrics"};
        long_run(&m);
        const char *b = m.status == 200 && m.body ? m.body : "";
        const char *pb = strstr(b, "\nrevops_worker_pool_busy "), *pq = strstr(b, "\nrevops_worker_pool_queued "),
                   *ps = strstr(b, "\nrevops_worker_pool_size ");
        busy = pb ? atoi(pb + 25) : -1;
        queued = pq ? atoi(pq + 27) : -1;
        pool = ps ? atoi(ps + 25) : -1;
        free(m.body);
        if (busy + queued != LONG_N)
            usleep(50 * 1000);
    }
    ck_assert_msg(pool == 4 && busy == 4 && queued == 2, "/metrics: pool %d, busy %d, queued %d", pool, busy, queued);
    /* a new connection each time: libmicrohttpd hands each to one of its
     * threads, so every thread that holds a long request gets its turn */
    CURL *h = curl_easy_init();
    fq_resp health, metrics;
    double worst = 0, lat[64];
    int nh = 0, bad = 0;
    long bad_status = 0;
    double until = now_s() + 2.2;
    while (nh < 64 && now_s() < until) {
        double t0 = now_s();
        fq_do(h, base, "GET", nh % 4 == 3 ? "/metrics" : "/healthz", "", NULL,
              (const char *const[]){"Connection: close", NULL}, nh % 4 == 3 ? &metrics : &health);
        lat[nh] = now_s() - t0;
        const fq_resp *r = nh % 4 == 3 ? &metrics : &health;
        if (r->status != 200) {
            bad++;
            bad_status = r->status;
        }
        if (lat[nh] > worst)
            worst = lat[nh];
        nh++;
        usleep(50 * 1000);
    }
    curl_easy_cleanup(h);
    for (int i = 0; i < LONG_N; i++)
        pthread_join(th[i], NULL);
    /* the same request alone, after */
    long_call alone = {.base = base, .key = ws.read, .reqbody = body};
    long_run(&alone);
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 15.0);

    ck_assert_msg(bad == 0, "%d of %d /healthz and /metrics answers were not 200 (last %ld)", bad, nh, bad_status);
    /* the lock holds every backtest for about 2.6 s more: a health check
     * behind one of them would take that long */
    ck_assert_msg(worst < 1.0, "the slowest /healthz or /metrics took %.2f s during %d long requests", worst, LONG_N);
    ck_assert_msg(nh >= 10, "only %d health checks in 2.2 s", nh);
    ck_assert_msg(alone.status == 200, "the backtest alone: %ld %s", alone.status, alone.body ? alone.body : "");
    double slowest = 0;
    for (int i = 0; i < LONG_N; i++) {
        ck_assert_msg(calls[i].cc == CURLE_OK && calls[i].status == 200, "long request %d: %ld (curl %d) %.300s", i,
                      calls[i].status, (int)calls[i].cc, calls[i].body ? calls[i].body : "");
        ck_assert_msg(calls[i].len == alone.len && memcmp(calls[i].body, alone.body, alone.len) == 0,
                      "long request %d answered differently from the same request alone", i);
        if (calls[i].took > slowest)
            slowest = calls[i].took;
        free(calls[i].body);
    }
    ck_assert_msg(slowest > 2.0, "the backtests did not wait on the lock (%.2f s): the test proves nothing", slowest);
    json_t *j = json_loadb(alone.body, alone.len, 0, NULL);
    char err[512];
    ck_assert_msg(contract_check("POST", "/v1/forecasts/backtest", 200, "application/json", j, err, sizeof err), "%s",
                  err);
    ck_assert_int_eq(json_array_size(json_object_get(j, "periods")), 8);
    json_decref(j);
    free(alone.body);
    fq_contract("GET", "/healthz", &health);
    ck_assert_int_eq(rc, 0);
    qsort(lat, (size_t)nh, sizeof lat[0], cmp_double);
    fprintf(stderr,
            "faults: %d long backtests (2 HTTP threads, 4 workers, each held 3 s by a lock): %d /healthz and /metrics "
            "answers, p50 %.1f ms, p99 %.1f ms, worst %.1f ms; the backtests took up to %.2f s\n",
            LONG_N, nh, lat[nh / 2] * 1000, lat[(nh * 99) / 100] * 1000, worst * 1000, slowest);
}
END_TEST

/* Sessions waiting on a lock in the test's database. */
static long lock_waiters(void)
{
    return sql_long("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
}

/* End lock_deals' session before its time: how many there were. OFFSET 0:
 * the filter runs before the terminations (an AND may run in any order). */
static long unlock_deals(void)
{
    return sql_long("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM (SELECT pid FROM "
                    "pg_stat_activity WHERE query LIKE '%LOCK TABLE deals%' AND pid <> pg_backend_pid() OFFSET 0) s");
}

/* SIGTERM while requests wait in the database past the grace period and in
 * the pool's queue: two backtests run (the pool's two workers) and an inline
 * batch write runs on an HTTP thread, all three blocked by a lock held for
 * far longer than the test waits; four more backtests are queued. Past the
 * one-second grace the database work is cancelled: every request is
 * answered 503 (the queued ones too; libmicrohttpd must not be stopped with
 * a connection suspended), the write is not stored, and the process exits 0
 * while the lock is still held. Before, the running ones held the exit for
 * as long as the lock: under load past the test's 20 s, and the SIGKILL
 * that followed dropped them unanswered (a CI failure, curl 52). */
#define SIGTERM_LOCK_S 60
START_TEST(sigterm_past_the_grace_cancels_and_answers_each)
{
    api_ws ws;
    api_new_workspace(&ws);
    char body[512];
    backtest_history(&ws, body, sizeof body);
    int port = api_free_port();
    const char *args[] = {"--threads",
                          "2",
                          "--workers",
                          "2",
                          "--costly-concurrency",
                          "2",
                          "--costly-per-key",
                          "8",
                          "--costly-queue-ms",
                          "60000",
                          "--shutdown-grace",
                          "1",
                          NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64];
    base_of(port, base, sizeof base);
    long before = lock_waiters();
    lock_deals(SIGTERM_LOCK_S);
    enum { N = LONG_N + 1 }; /* the backtests, then the write */
    long_call calls[N];
    pthread_t th[N];
    for (int i = 0; i < LONG_N; i++) {
        calls[i] = (long_call){.base = base, .key = ws.read, .reqbody = body};
        pthread_create(&th[i], NULL, long_run, &calls[i]);
    }
    char day[11], write[256];
    snprintf(write, sizeof write,
             "{\"items\":[{\"id\":\"sigterm-w1\",\"name\":\"w1\",\"stage\":\"sql\",\"as_of\":\"%sT09:00:00Z\"}]}",
             api_day(-1, day));
    calls[LONG_N] = (long_call){.base = base, .key = ws.write, .path = "/v1/deals/batch", .reqbody = write};
    pthread_create(&th[LONG_N], NULL, long_run, &calls[LONG_N]);
    /* the two running backtests and the write wait on the lock */
    long waiting = 0;
    for (double until = now_s() + 15.0; (waiting = lock_waiters() - before) < 3 && now_s() < until;)
        usleep(50 * 1000);
    if (waiting < 3) { /* the lock must not outlive the test, whatever it finds */
        unlock_deals();
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("only %ld sessions wait on the lock", waiting);
    }
    usleep(300 * 1000); /* the four others reach the pool's queue */
    double t0 = now_s();
    kill(pid, SIGTERM);
    int rc = wait_exit(pid, 20.0);
    double exit_s = now_s() - t0;
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    long lock_held = unlock_deals();
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(lock_held == 1, "the lock's session ended before the process did (%ld)", lock_held);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(calls[i].cc == CURLE_OK, "request %d got no answer (curl %d)", i, (int)calls[i].cc);
        ck_assert_msg(calls[i].status == 503 && strstr(calls[i].body, "/problems/overloaded") &&
                          strstr(calls[i].body, "shutting down"),
                      "request %d: %ld %.300s", i, calls[i].status, calls[i].body ? calls[i].body : "");
        free(calls[i].body);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM deals WHERE workspace_id = '%s' AND external_id = 'sigterm-w1'",
             ws.id);
    ck_assert_msg(sql_long(sql) == 0, "the write answered 503 was stored");
    fprintf(stderr,
            "faults: SIGTERM with %d backtests (2 running, %d queued) and a write, all behind a %d s lock, grace 1 s: "
            "%d answered 503, exit 0 after %.2f s\n",
            LONG_N, LONG_N - 2, SIGTERM_LOCK_S, N, exit_s);
}
END_TEST

Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sigterm_under_load_finishes_in_flight_and_refuses_new);
    tcase_add_test(tc, two_instances_same_deals_no_lost_update);
    tcase_add_test(tc, sigkill_in_write_storm_loses_nothing_acknowledged);
    tcase_add_test(tc, sigkill_in_webhook_storm_applies_each_event_once);
    tcase_add_test(tc, concurrent_webhooks_creating_one_deal_lose_nothing);
    tcase_add_test(tc, hung_database_answers_503_in_time_and_loses_nothing);
    tcase_add_test(tc, slow_header_flood_is_refused_and_cut);
    tcase_add_test(tc, expensive_requests_are_bounded_per_instance_and_key);
    tcase_add_test(tc, healthz_answers_while_long_requests_run);
    tcase_add_test(tc, sigterm_past_the_grace_cancels_and_answers_each);
    suite_add_tcase(s, tc);
    return s;
}
