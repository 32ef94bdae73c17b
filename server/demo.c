/* demo.c - load the CRM sample data set into the demo workspace. */
#include "demo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 65536 + 1 > cap) {
            cap = (cap + 65536) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + *len, 1, cap - *len - 1, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

int demo_load(db_conn *c, const char *dir, const char *name, int force)
{
    char path[1024], wsid[40];
    app_err err = {0};
    const char *wp[] = {name};
    int f = db_query_value(c,
                           "WITH ins AS (INSERT INTO workspaces (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
                           " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM workspaces WHERE name = $1",
                           1, wp, wsid, sizeof wsid, &err);
    if (f <= 0) {
        fprintf(stderr, "revopsd: demo: cannot create workspace %s: %s\n", name, err.detail);
        return -1;
    }
    char have[8];
    const char *hp[] = {wsid};
    if (db_query_value(c, "SELECT count(*) > 0 FROM deals WHERE workspace_id = $1", 1, hp, have, sizeof have, &err) <
        0) {
        fprintf(stderr, "revopsd: demo: %s\n", err.detail);
        return -1;
    }
    if (strcmp(have, "t") == 0 && !force) {
        printf("demo: workspace %s already has deals; nothing loaded (use --force to load again)\n", name);
        return 0;
    }
    snprintf(path, sizeof path, "%s/import.json", dir);
    json_error_t jerr;
    json_t *plan = json_load_file(path, 0, &jerr);
    if (!plan) {
        fprintf(stderr, "revopsd: demo: %s: %s\n", path, jerr.text);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *imp;
    json_array_foreach(json_object_get(plan, "imports"), i, imp)
    {
        const char *file = json_string_value(json_object_get(imp, "file"));
        snprintf(path, sizeof path, "%s/%s", dir, file ? file : "");
        size_t len;
        char *data = file ? read_file(path, &len) : NULL;
        if (!data) {
            fprintf(stderr, "revopsd: demo: cannot read %s\n", path);
            rc = -1;
            break;
        }
        json_t *req = json_deep_copy(imp);
        json_object_del(req, "file");
        json_object_set_new(req, "data", json_stringn(data, len));
        free(data);
        json_t *report = NULL;
        memset(&err, 0, sizeof err);
        if (import_run(c, wsid, req, &report, &err) != 0) {
            fprintf(stderr, "revopsd: demo: %s: %s%s%s\n", file, err.detail, err.nfields ? " " : "",
                    err.nfields ? err.fields[0].message : "");
            json_decref(req);
            rc = -1;
            break;
        }
        printf("demo: %s -> %s: %lld rows, %lld created, %lld updated, %lld rejected, %lld fixes\n", file,
               json_string_value(json_object_get(report, "object")),
               (long long)json_integer_value(json_object_get(report, "rows")),
               (long long)json_integer_value(json_object_get(report, "created")),
               (long long)json_integer_value(json_object_get(report, "updated")),
               (long long)json_integer_value(json_object_get(report, "rejected")),
               (long long)json_integer_value(json_object_get(report, "fixed")));
        size_t k;
        json_t *fx;
        json_array_foreach(json_object_get(report, "fix_summary"), k, fx)
        {
            printf("demo:   fixed %lld x %s '%s' -> '%s' (%s)\n",
                   (long long)json_integer_value(json_object_get(fx, "count")),
                   json_string_value(json_object_get(fx, "field")), json_string_value(json_object_get(fx, "from")),
                   json_string_value(json_object_get(fx, "to")), json_string_value(json_object_get(fx, "reason")));
        }
        json_decref(report);
        json_decref(req);
    }
    json_decref(plan);
    return rc;
}
