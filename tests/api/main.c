/* main.c - API test runner: one cluster + one server for every suite.
 * `api_tests --yaml2json FILE` converts openapi.yaml for the contract check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "yconv.h"

static int yaml2json(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = (cap + 65536) * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                return 1;
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    char err[256];
    json_t *j = yconv_parse(buf, len, err, sizeof err);
    free(buf);
    if (!j) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 1;
    }
    json_dumpf(j, stdout, JSON_INDENT(1));
    json_decref(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--yaml2json") == 0)
        return yaml2json(argv[2]);
    const char *spec = getenv("OPENAPI_JSON");
    if (contract_load(spec ? spec : "build/openapi.json") != 0)
        return 2;
    api_start();
    SRunner *sr = srunner_create(foundation_suite());
    srunner_add_suite(sr, robustness_suite());
    srunner_add_suite(sr, lifecycle_suite());
    srunner_add_suite(sr, migrate_suite());
    srunner_add_suite(sr, revenue_suite());
    srunner_add_suite(sr, crm_suite());
    srunner_add_suite(sr, import_suite());
    srunner_add_suite(sr, webhooks_suite());
    srunner_add_suite(sr, funnels_suite());
    srunner_add_suite(sr, snapshots_suite());
    srunner_add_suite(sr, dashboard_suite());
    srunner_add_suite(sr, forecasts_suite());
    srunner_add_suite(sr, accuracy_suite());
    srunner_add_suite(sr, bulkplan_suite());
    srunner_add_suite(sr, plans_suite());
    srunner_add_suite(sr, writes_suite());
    srunner_add_suite(sr, leads_suite());
    srunner_add_suite(sr, leads2_suite());
    srunner_add_suite(sr, rescore_suite());
    srunner_add_suite(sr, reps_suite());
    srunner_add_suite(sr, pql_suite());
    srunner_add_suite(sr, audit_suite());
    srunner_add_suite(sr, reports_suite());
    srunner_add_suite(sr, security_suite());
    srunner_add_suite(sr, console_suite());
    srunner_add_suite(sr, alerts_suite());
    srunner_add_suite(sr, faults_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int stop_rc = api_stop();
    if (stop_rc != 0)
        fprintf(stderr, "FAIL: the shared revopsd did not shut down cleanly on SIGTERM\n");
    return (failed || stop_rc) ? 1 : 0;
}
