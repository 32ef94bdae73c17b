/* gen_query_params.c - write what the dispatcher needs of every operation of
 * openapi.yaml as a C table (build/gen/query_params.c): the query parameters
 * it declares (an unknown one is refused) and whether a 2xx answer comes in
 * more than one media type (Vary: Accept), with the contract as the source.
 *
 * Usage: gen-query-params openapi.yaml > query_params.c
 * Parameters come from the path item and the operation, local $refs
 * (#/components/parameters/X) resolved; only `in: query` ones are kept.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yconv.h"

static const json_t *deref(const json_t *spec, const json_t *p)
{
    for (int hops = 0; p && hops < 8; hops++) {
        const char *ref = json_string_value(json_object_get(p, "$ref"));
        if (!ref)
            return p;
        if (strncmp(ref, "#/", 2) != 0)
            return NULL;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", ref + 2);
        const json_t *cur = spec;
        for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
            cur = json_object_get(cur, tok);
        p = cur;
    }
    return p;
}

/* Append the query parameter names of list to out (no duplicates). */
static int collect(const json_t *spec, const json_t *list, json_t *out)
{
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p)
    {
        const json_t *r = deref(spec, p);
        if (!r) {
            fprintf(stderr, "gen-query-params: unresolvable parameter $ref\n");
            return -1;
        }
        const char *in = json_string_value(json_object_get(r, "in"));
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!in || !name)
            return -1;
        if (strcmp(in, "query") != 0)
            continue;
        bool dup = false;
        size_t k;
        const json_t *have;
        json_array_foreach(out, k, have) dup = dup || strcmp(json_string_value(have), name) == 0;
        if (!dup)
            json_array_append_new(out, json_string(name));
    }
    return 0;
}

static void c_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-query-params openapi.yaml\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 65536 > cap) {
            cap = (cap + 65536) * 2;
            char *nt = realloc(text, cap);
            if (!nt)
                return 1;
            text = nt;
        }
        n = fread(text + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    char err[256];
    json_t *spec = yconv_parse(text, len, err, sizeof err);
    free(text);
    if (!spec) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    static const char *const methods[] = {"get", "put", "post", "patch", "delete", NULL};
    json_t *rows = json_array(); /* [method, path, [names]] */
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(spec, "paths"), path, item)
    {
        for (const char *const *m = methods; *m; m++) {
            const json_t *op = json_object_get(item, *m);
            if (!op)
                continue;
            json_t *names = json_array();
            if (collect(spec, json_object_get(item, "parameters"), names) != 0 ||
                collect(spec, json_object_get(op, "parameters"), names) != 0) {
                fprintf(stderr, "gen-query-params: bad parameters under %s %s\n", *m, path);
                return 1;
            }
            bool negotiated = false; /* a 2xx answer in more than one media type */
            const char *st;
            json_t *resp;
            json_object_foreach(json_object_get(op, "responses"), st, resp)
            {
                const json_t *r = deref(spec, resp);
                if (st[0] == '2' && json_object_size(json_object_get(r, "content")) > 1)
                    negotiated = true;
            }
            json_array_append_new(rows, json_pack("[s, s, o, b]", *m, path, names, negotiated));
        }
    }
    printf("/* generated from openapi.yaml by scripts/gen_query_params.c: do not edit */\n");
    printf("#include \"http.h\"\n\n");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        printf("static const char *const q%zu[] = {", i);
        size_t k;
        json_t *name;
        json_array_foreach(json_array_get(row, 2), k, name)
        {
            c_string(json_string_value(name));
            printf(", ");
        }
        printf("NULL};\n");
    }
    printf("\nconst http_op_decl http_op_decls[] = {\n");
    json_array_foreach(rows, i, row)
    {
        char up[16];
        const char *m = json_string_value(json_array_get(row, 0));
        size_t k = 0;
        for (; m[k] && k < sizeof up - 1; k++)
            up[k] = (char)(m[k] - 'a' + 'A');
        up[k] = '\0';
        printf("    {");
        c_string(up);
        printf(", ");
        c_string(json_string_value(json_array_get(row, 1)));
        printf(", q%zu, %s},\n", i, json_is_true(json_array_get(row, 3)) ? "true" : "false");
    }
    printf("};\nconst size_t http_op_decls_count = %zu;\n", json_array_size(rows));
    json_decref(rows);
    json_decref(spec);
    return 0;
}
