/* api.h - API test harness: a throwaway PostgreSQL cluster, a real revopsd on
 * a free port, per-test workspaces, an HTTP client, and the OpenAPI contract
 * check that every response passes through.
 */
#ifndef REVOPS_TEST_API_H
#define REVOPS_TEST_API_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    long status;
    char *body;
    size_t len;
    json_t *json; /* parsed body when it is JSON, else NULL */
    char content_type[128];
    char etag[128];
    char allow[128];
    char location[256];
    char request_id[80];
    char www_authenticate[128];
    char cors_origin[256];
    char cors_expose[256];
    char vary[128]; /* every Vary header, joined with ", " */
    char content_length[32];
    char replayed[16]; /* Idempotent-Replayed */
    char retry_after[16];
    char content_encoding[32];
    size_t wire_len; /* the body's bytes as sent: len is after gzip decoding (Content-Encoding: gzip) */
} api_resp;

typedef struct {
    char name[64];
    char id[40];
    char admin[64];
    char write[64];
    char read[64];
} api_ws;

/* Process-wide setup/teardown, called from main() around the suites. */
void api_start(void);
int api_stop(void); /* SIGTERM the server; 0 when it exited 0 */

const char *api_base(void);   /* "http://127.0.0.1:PORT" */
const char *api_db_url(void); /* the cluster's URL */
const char *api_revopsd(void);
const char *api_tmpdir(void);

/* A new workspace with one key per role. */
void api_new_workspace(api_ws *ws);

/* Dates relative to the real today (UTC), so no test expires: the day
 * offset_days from today as YYYY-MM-DD, and the calendar quarter
 * ("2026-Q4") that contains it. out needs 11 bytes. */
char *api_day(int offset_days, char out[static 11]);
char *api_quarter_of_day(int offset_days, char out[static 11]);
/* The Monday and Sunday of the week (Monday to Sunday) that holds the day offset_days from today. */
void api_week(int offset_days, char monday[static 11], char sunday[static 11]);

/* A file of the repository (the tests run from its root), NUL-terminated; free() it. */
char *api_slurp(const char *path);

/* One request. extra: NULL-terminated "Header: value" strings or NULL.
 * The response is checked against openapi.yaml; a mismatch fails the test. */
api_resp *api_req(const char *method, const char *path, const char *key, const char *ctype, const char *body,
                  size_t len, const char *const *extra);
api_resp *api_get(const char *path, const char *key);
api_resp *api_send_json(const char *method, const char *path, const char *key, const char *json);
void api_resp_free(api_resp *r);
/* Append one response to $CONTRACT_LOG (when set) for the suite's closing
 * JSON Schema check (tests/contract/validate.js); api_req does it itself,
 * tests with their own HTTP client call it. */
void api_log_response(const char *method, const char *path, long status, const char *ctype, const char *body,
                      size_t len, const char *request_id);

/* Same, against another base URL (a second server a test started). */
api_resp *api_req_at(const char *base, const char *method, const char *path, const char *key, const char *ctype,
                     const char *body, size_t len, const char *const *extra);

/* Start/stop extra revopsd processes and clusters inside a test. */
int api_free_port(void);
int api_spawn_server(const char *db_url, int port, const char *const *extra_args); /* returns pid */
bool api_wait_healthy(int port, int timeout_ms);
int api_devdb(const char *cmd, const char *dir, char *url_out, size_t len);
int api_run(const char *cmdline, char *out, size_t outlen); /* shell command; exit status */

/* Contract: load the spec (JSON form of openapi.yaml) and check one response. */
int contract_load(const char *json_path);
bool contract_check(const char *method, const char *path, long status, const char *ctype, const json_t *body, char *err,
                    size_t errlen);
/* Does the spec declare this method+path template? */
bool contract_has_operation(const char *method, const char *template_path);
/* Does the spec declare this status for method+path template? */
bool contract_declares_status(const char *method, const char *template_path, int status);
const json_t *contract_spec(void);

/* Suites (one file each). */
Suite *foundation_suite(void);
Suite *robustness_suite(void);
Suite *lifecycle_suite(void);
Suite *revenue_suite(void);
Suite *crm_suite(void);
Suite *import_suite(void);
Suite *webhooks_suite(void);
Suite *accuracy_suite(void);
Suite *bulkplan_suite(void);
Suite *funnels_suite(void);
Suite *snapshots_suite(void);
Suite *dashboard_suite(void);
Suite *forecasts_suite(void);
Suite *security_suite(void);
Suite *faults_suite(void);
Suite *plans_suite(void);
Suite *migrate_suite(void);
Suite *writes_suite(void);
Suite *leads_suite(void);
Suite *leads2_suite(void);
Suite *reps_suite(void);
Suite *pql_suite(void);
Suite *audit_suite(void);
Suite *reports_suite(void);
Suite *console_suite(void);
Suite *alerts_suite(void);
Suite *rescore_suite(void);

#define ck_assert_status(r, want)                                                                                      \
    ck_assert_msg((r)->status == (want), "status %ld, want %d; body: %.400s", (r)->status, (want),                     \
                  (r)->body ? (r)->body : "")

#endif
