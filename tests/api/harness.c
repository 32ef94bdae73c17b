/* harness.c - starts the cluster and the server, and talks HTTP with libcurl. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "api.h"
#include "yconv.h"

static char g_tmp[256];
static char g_db_url[512];
static char g_base[64];
static char g_revopsd[512];
static pid_t g_server;
static int g_port;

const char *api_base(void) { return g_base; }
const char *api_db_url(void) { return g_db_url; }
const char *api_revopsd(void) { return g_revopsd; }
const char *api_tmpdir(void) { return g_tmp; }

static int scan_logs_for_secrets(void);

int api_run(const char *cmdline, char *out, size_t outlen)
{
    FILE *p = popen(cmdline, "r");
    if (!p)
        return -1;
    size_t n = 0;
    char line[1024];
    if (out && outlen)
        out[0] = '\0';
    while (fgets(line, sizeof line, p)) {
        if (out && n + strlen(line) < outlen) {
            memcpy(out + n, line, strlen(line) + 1);
            n += strlen(line);
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void last_line(const char *text, char *out, size_t len)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > text && start[-1] != '\n')
        start--;
    snprintf(out, len, "%.*s", (int)(end - start), start);
}

int api_devdb(const char *cmd, const char *dir, char *url_out, size_t len)
{
    char cmdline[1024], out[4096];
    snprintf(cmdline, sizeof cmdline, "DEVDB_FAST=1 scripts/devdb %s '%s' 2>&1", cmd, dir);
    int rc = api_run(cmdline, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "devdb %s failed:\n%s\n", cmd, out);
    if (url_out)
        last_line(out, url_out, len);
    return rc;
}

int api_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

int api_spawn_server(const char *db_url, int port, const char *const *extra_args)
{
    char listen[64], logpath[512];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(logpath, sizeof logpath, "%s/revopsd-%d.log", g_tmp, port);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    const char *argv[64];
    int n = 0;
    /* REVOPSD_WRAPPER: a command line put in front, e.g. valgrind (make valgrind) */
    char *wrap = getenv("REVOPSD_WRAPPER") ? strdup(getenv("REVOPSD_WRAPPER")) : NULL;
    for (char *t = wrap ? strtok(wrap, " ") : NULL; t && n < 24; t = strtok(NULL, " "))
        argv[n++] = t;
    const char *base[] = {g_revopsd, "serve", "--listen", listen, "--database-url", db_url, "--threads", "4"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = base[i];
    for (int i = 0; extra_args && extra_args[i] && n < 62; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    _exit(127);
}

bool api_wait_healthy(int port, int timeout_ms)
{
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    if (getenv("REVOPSD_WRAPPER")) /* valgrind starts a server far more slowly */
        timeout_ms *= 4;
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        CURL *c = curl_easy_init();
        char url[128];
        snprintf(url, sizeof url, "%s/healthz", base);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (code == 200)
            return true;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

void api_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *bin = getenv("REVOPSD");
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd))
        abort();
    snprintf(g_revopsd, sizeof g_revopsd, "%s/%s", cwd, bin ? bin : "build/revopsd");
    /* /tmp, not the checkout: as root the cluster runs as 'postgres', which
     * must be able to reach it. */
    snprintf(g_tmp, sizeof g_tmp, "/tmp/revops-api-XXXXXX");
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        exit(2);
    }
    chmod(g_tmp, 0755);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/pg", g_tmp);
    if (api_devdb("start", dir, g_db_url, sizeof g_db_url) != 0)
        exit(2);
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", g_revopsd, g_db_url);
    if (api_run(cmd, out, sizeof out) != 0) {
        fprintf(stderr, "migrate failed:\n%s\n", out);
        exit(2);
    }
    g_port = api_free_port();
    snprintf(g_base, sizeof g_base, "http://127.0.0.1:%d", g_port);
    /* alert retries after 200 ms, not a minute: test_alerts.c sees a retry without waiting; no
     * periodic escalation pass on the shared server: tests escalate with POST
     * /v1/routing/escalations at moments they choose, and the pass's own test (test_leads2.c)
     * starts instances that run it */
    const char *args[] = {"--cors-origins",
                          "https://app.example.com",
                          "--max-body",
                          "65536",
                          "--alert-retry-base-ms",
                          "200",
                          "--alert-allow-private", /* the alert tests' receivers listen on 127.0.0.1 */
                          "1",
                          "--escalation-interval",
                          "0",
                          NULL};
    g_server = api_spawn_server(g_db_url, g_port, args);
    if (!api_wait_healthy(g_port, 15000)) {
        fprintf(stderr, "revopsd did not become healthy; log in %s\n", g_tmp);
        kill(g_server, SIGKILL);
        api_devdb("stop", dir, NULL, 0);
        exit(2);
    }
}

int api_stop(void)
{
    int rc = 0;
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        int st = 0;
        for (int i = 0; i < 200; i++) {
            if (waitpid(g_server, &st, WNOHANG) == g_server)
                break;
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (i == 199) {
                kill(g_server, SIGKILL);
                waitpid(g_server, &st, 0);
                fprintf(stderr, "revopsd did not stop within 10 s of SIGTERM\n");
                rc = 1;
            }
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "revopsd exited with status %d after SIGTERM (log: %s/revopsd-%d.log)\n", st, g_tmp,
                    g_port);
            char cmd[600];
            snprintf(cmd, sizeof cmd, "tail -30 %s/revopsd-%d.log >&2", g_tmp, g_port);
            if (system(cmd) != 0)
                rc = 1;
            rc = 1;
        }
    }
    char dir[300];
    snprintf(dir, sizeof dir, "%s/pg", g_tmp);
    api_devdb("stop", dir, NULL, 0);
    if (scan_logs_for_secrets() != 0)
        rc = 1;
    if (rc == 0 && !getenv("KEEP_TEST_DIR")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_tmp);
    }
    curl_global_cleanup();
    return rc;
}

/* ---- secrets ----------------------------------------------------------------
 * Every API key the tests send or are given, and every secret a response
 * hands out, is appended to $tmp/secrets.txt (tests run in forked children,
 * so a file, not memory). A later response that repeats one fails its test;
 * api_stop greps every log of the run for all of them. */

static bool looks_secret(const char *field, const char *v)
{
    size_t n = strlen(v);
    if (n < 8 || n > 600 || strchr(v, '\n'))
        return false;
    if (field && (strstr(field, "secret") || strstr(field, "password")))
        return true; /* webhook secrets and Basic passwords a test chose */
    return n >= 16 && (strncmp(v, "rvk_", 4) == 0 || strncmp(v, "whsec_", 6) == 0);
}

static void secrets_path(char *out, size_t len) { snprintf(out, len, "%s/secrets.txt", g_tmp); }

static void record_secret(const char *v)
{
    char path[300];
    secrets_path(path, sizeof path);
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", v);
        fclose(f);
    }
}

static void collect_secrets(const json_t *j, const char *field)
{
    if (json_is_string(j) && looks_secret(field, json_string_value(j))) {
        record_secret(json_string_value(j));
    } else if (json_is_object(j)) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)j, k, v) collect_secrets(v, k);
    } else if (json_is_array(j)) {
        size_t i;
        const json_t *v;
        json_array_foreach(j, i, v) collect_secrets(v, field);
    }
}

/* "Authorization: Basic X": X and the password inside it. */
static void record_basic_credentials(const char *header)
{
    static const char prefix[] = "Authorization: Basic ";
    if (strncasecmp(header, prefix, sizeof prefix - 1) != 0)
        return;
    const char *b64 = header + sizeof prefix - 1;
    if (strlen(b64) >= 8 && strlen(b64) < 400)
        record_secret(b64);
    unsigned char dec[400];
    int n = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)strlen(b64));
    if (n <= 0)
        return;
    dec[n] = '\0';
    const char *colon = strchr((const char *)dec, ':');
    if (colon && looks_secret("password", colon + 1))
        record_secret(colon + 1);
}

/* The secrets recorded so far (this process re-reads only what was added). */
static const char *known_secrets(void)
{
    static char *known;
    static size_t known_len;
    static long off;
    char path[300];
    secrets_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return known;
    if (fseek(f, off, SEEK_SET) == 0) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
            char *nk = realloc(known, known_len + n + 1);
            if (!nk)
                break;
            known = nk;
            memcpy(known + known_len, buf, n);
            known_len += n;
            known[known_len] = '\0';
            off += (long)n;
        }
    }
    fclose(f);
    return known;
}

/* The first recorded secret that occurs in text, or false. */
static bool repeats_secret(const char *text, char *which, size_t len)
{
    const char *k = known_secrets();
    while (k && *k) {
        const char *nl = strchr(k, '\n');
        size_t n = nl ? (size_t)(nl - k) : strlen(k);
        if (n >= 8) {
            char one[608];
            snprintf(one, sizeof one, "%.*s", (int)(n < 600 ? n : 600), k);
            if (strstr(text, one)) {
                snprintf(which, len, "%.12s...", one);
                return true;
            }
        }
        k += n + (nl ? 1 : 0);
    }
    return false;
}

/* grep every log of the run for every secret; 0 when none is found. */
static int scan_logs_for_secrets(void)
{
    char path[300], cmd[2048], out[4096];
    secrets_path(path, sizeof path);
    snprintf(cmd, sizeof cmd, "sort -u '%s' 2>/dev/null | grep -c .", path);
    int rc = api_run(cmd, out, sizeof out);
    long nsecrets = rc == 0 ? strtol(out, NULL, 10) : 0;
    snprintf(cmd, sizeof cmd, "find '%s' -name '*.log' -type f | xargs cat | wc -lc", g_tmp);
    char sizes[256];
    api_run(cmd, sizes, sizeof sizes);
    long lines = 0, bytes = 0;
    sscanf(sizes, "%ld %ld", &lines, &bytes);
    snprintf(cmd, sizeof cmd, "sort -u '%s' > '%s.u' 2>/dev/null && grep -rFl -f '%s.u' --include='*.log' '%s'", path,
             path, path, g_tmp);
    rc = api_run(cmd, out, sizeof out);
    if (nsecrets == 0) {
        fprintf(stderr, "secrets scan: no key was used, nothing to look for\n");
        return 0;
    }
    if (lines == 0) {
        fprintf(stderr, "secrets scan: %ld secrets but no log lines: the scan would prove nothing\n", nsecrets);
        return 1;
    }
    if (rc == 0) {
        fprintf(stderr, "FAIL: a key or secret the tests used appears in these logs:\n%s", out);
        return 1;
    }
    fprintf(stderr, "secrets scan: %ld keys and secrets, %ld log lines (%ld bytes): none found\n", nsecrets, lines,
            bytes);
    return 0;
}

/* Civil-calendar arithmetic through timegm/gmtime_r, independent of the
 * server's core/caldate so a wrong date in either shows up. */
static struct tm day_tm(int offset_days)
{
    time_t t = time(NULL) + (time_t)offset_days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

char *api_day(int offset_days, char out[static 11])
{
    struct tm tm = day_tm(offset_days);
    strftime(out, 11, "%Y-%m-%d", &tm);
    return out;
}

char *api_quarter_of_day(int offset_days, char out[static 11])
{
    struct tm tm = day_tm(offset_days);
    strftime(out, 11, "%Y-Q", &tm);
    out[6] = (char)('1' + tm.tm_mon / 3);
    out[7] = '\0';
    return out;
}

void api_week(int offset_days, char monday[static 11], char sunday[static 11])
{
    struct tm tm = day_tm(offset_days);
    int since_monday = (tm.tm_wday + 6) % 7;
    api_day(offset_days - since_monday, monday);
    api_day(offset_days - since_monday + 6, sunday);
}

char *api_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (the tests run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void api_new_workspace(api_ws *ws)
{
    static int counter;
    memset(ws, 0, sizeof *ws);
    snprintf(ws->name, sizeof ws->name, "test-%d-%d-%ld", (int)getpid(), ++counter, (long)time(NULL));
    char cmd[1200], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace '%s' --role admin --database-url '%s'", g_revopsd, ws->name,
             g_db_url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    last_line(out, ws->admin, sizeof ws->admin);
    ck_assert_msg(strncmp(ws->admin, "rvk_", 4) == 0, "keys create printed %s", out);
    const char *roles[] = {"write", "read"};
    char *dest[] = {ws->write, ws->read};
    for (int i = 0; i < 2; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"role\":\"%s\"}", roles[i]);
        api_resp *r = api_send_json("POST", "/v1/keys", ws->admin, body);
        ck_assert_status(r, 201);
        snprintf(dest[i], 64, "%s", json_string_value(json_object_get(r->json, "key")));
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/workspace", ws->read);
    ck_assert_status(r, 200);
    snprintf(ws->id, sizeof ws->id, "%s", json_string_value(json_object_get(r->json, "id")));
    api_resp_free(r);
}

/* ---- the response log ------------------------------------------------------
 * With CONTRACT_LOG set, every response is appended to that file as one JSON
 * line {method, path, status, content_type, request_id, text[, yaml]}; after
 * the suite, tests/contract/validate.js checks them all against openapi.yaml
 * with a JSON Schema 2020-12 validator (make api). Tests run in forked
 * children and some send from several threads: each line is one write() on
 * an O_APPEND descriptor, which the kernel never interleaves for a regular
 * file. */
void api_log_response(const char *method, const char *path, long status, const char *ctype, const char *body,
                      size_t len, const char *request_id)
{
    const char *file = getenv("CONTRACT_LOG");
    if (!file || !*file)
        return;
    json_t *rec = json_object();
    json_object_set_new(rec, "method", json_string(method));
    json_t *p = json_string(path);
    json_object_set_new(rec, "path", p ? p : json_string("(not UTF-8)"));
    json_object_set_new(rec, "status", json_integer(status));
    json_object_set_new(rec, "content_type", json_string(ctype ? ctype : ""));
    json_object_set_new(rec, "request_id", json_string(request_id ? request_id : ""));
    if (body) {
        json_t *t = json_stringn(body, len);
        json_object_set_new(rec, "text", t ? t : json_string("(body not UTF-8)"));
        if (ctype && strstr(ctype, "yaml")) {
            char err[128];
            json_t *y = yconv_parse(body, len, err, sizeof err);
            if (y)
                json_object_set_new(rec, "yaml", y);
        }
    }
    char *line = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(rec);
    ck_assert_ptr_nonnull(line);
    size_t n = strlen(line);
    line[n] = '\n'; /* replaces the NUL: written by length */
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_msg(fd >= 0, "cannot open CONTRACT_LOG %s", file);
    ssize_t w = write(fd, line, n + 1);
    close(fd);
    free(line);
    ck_assert_msg(w == (ssize_t)(n + 1), "short write to CONTRACT_LOG %s", file);
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    api_resp *r = ud;
    size_t add = size * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, data, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static void copy_header(const char *line, size_t len, const char *name, char *dest, size_t destlen)
{
    size_t nlen = strlen(name);
    if (len > nlen + 1 && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
        const char *v = line + nlen + 1;
        size_t vlen = len - nlen - 1;
        while (vlen && (*v == ' '))
            v++, vlen--;
        while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
            vlen--;
        snprintf(dest, destlen, "%.*s", (int)vlen, v);
    }
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    api_resp *r = ud;
    size_t len = size * n;
    copy_header(data, len, "Content-Type", r->content_type, sizeof r->content_type);
    copy_header(data, len, "ETag", r->etag, sizeof r->etag);
    copy_header(data, len, "Allow", r->allow, sizeof r->allow);
    copy_header(data, len, "Location", r->location, sizeof r->location);
    copy_header(data, len, "X-Request-Id", r->request_id, sizeof r->request_id);
    copy_header(data, len, "WWW-Authenticate", r->www_authenticate, sizeof r->www_authenticate);
    copy_header(data, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    copy_header(data, len, "Access-Control-Allow-Origin", r->cors_origin, sizeof r->cors_origin);
    copy_header(data, len, "Access-Control-Expose-Headers", r->cors_expose, sizeof r->cors_expose);
    copy_header(data, len, "Content-Length", r->content_length, sizeof r->content_length);
    copy_header(data, len, "Idempotent-Replayed", r->replayed, sizeof r->replayed);
    copy_header(data, len, "Content-Encoding", r->content_encoding, sizeof r->content_encoding);
    char one[128] = "";
    copy_header(data, len, "Vary", one, sizeof one);
    if (one[0]) {
        size_t used = strlen(r->vary);
        snprintf(r->vary + used, sizeof r->vary - used, "%s%s", used ? ", " : "", one);
    }
    return len;
}

/* A gzip-coded body decoded in place (the tests ask for gzip themselves:
 * libcurl sends no Accept-Encoding and decodes nothing here). */
static void gunzip_body(api_resp *r, const char *method, const char *path)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK); /* gzip wrapper only */
    size_t cap = r->len * 4 + 1024, n = 0;
    char *out = malloc(cap + 1);
    ck_assert_ptr_nonnull(out);
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->len;
    int rc;
    do {
        if (cap - n < 4096) {
            cap *= 2;
            out = realloc(out, cap + 1);
            ck_assert_ptr_nonnull(out);
        }
        z.next_out = (Bytef *)out + n;
        z.avail_out = (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = z.total_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    ck_assert_msg(rc == Z_STREAM_END && z.avail_in == 0, "%s %s: the gzip body does not decode (%d)", method, path, rc);
    out[n] = '\0';
    free(r->body);
    r->body = out;
    r->len = n;
}

api_resp *api_req_at(const char *base, const char *method, const char *path, const char *key, const char *ctype,
                     const char *body, size_t len, const char *const *extra)
{
    api_resp *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    CURL *c = curl_easy_init();
    size_t ulen = strlen(base) + strlen(path) + 1; /* the tests send huge paths too */
    char *url = malloc(ulen);
    ck_assert_ptr_nonnull(url);
    snprintf(url, ulen, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L); /* the sample import takes seconds */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    struct curl_slist *h = NULL;
    char line[600];
    if (key) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, line);
        if (strncmp(key, "rvk_", 4) == 0 && looks_secret(NULL, key))
            record_secret(key);
    }
    if (ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    for (int i = 0; extra && extra[i]; i++) {
        h = curl_slist_append(h, extra[i]);
        record_basic_credentials(extra[i]);
    }
    if (body && ctype && strstr(ctype, "json")) { /* secrets the test itself chose */
        json_t *sent = json_loadb(body, len, 0, NULL);
        if (sent)
            collect_secrets(sent, NULL);
        json_decref(sent);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(url);
    r->wire_len = r->len;
    if (r->body && strcasecmp(r->content_encoding, "gzip") == 0)
        gunzip_body(r, method, path);
    if (r->body && (strstr(r->content_type, "json") != NULL))
        r->json = json_loadb(r->body, r->len, 0, NULL);
    if (strstr(r->content_type, "json"))
        ck_assert_msg(r->json != NULL, "%s %s: response is not valid JSON: %.200s", method, path, r->body);
    /* the checks below share the secrets list, the response log and the
     * contract's state: tests that send from several threads (two instances
     * at once) take turns here, the requests themselves stay concurrent */
    static pthread_mutex_t checks = PTHREAD_MUTEX_INITIALIZER;
    char which[32], err[512];
    pthread_mutex_lock(&checks);
    bool repeats = r->body && repeats_secret(r->body, which, sizeof which);
    if (r->json)
        collect_secrets(r->json, NULL);
    api_log_response(method, path, r->status, r->content_type, r->body, r->len, r->request_id);
    bool conforms = contract_check(method, path, r->status, r->content_type, r->json, err, sizeof err);
    pthread_mutex_unlock(&checks);
    ck_assert_msg(!repeats, "%s %s -> %ld repeats a key or secret handed out earlier (%s)", method, path, r->status,
                  which);
    ck_assert_msg(conforms, "%s %s -> %ld breaks openapi.yaml: %s; body: %.300s", method, path, r->status, err,
                  r->body ? r->body : "");
    ck_assert_msg(r->request_id[0] != '\0', "%s %s: no X-Request-Id", method, path);
    return r;
}

api_resp *api_req(const char *method, const char *path, const char *key, const char *ctype, const char *body,
                  size_t len, const char *const *extra)
{
    return api_req_at(g_base, method, path, key, ctype, body, len, extra);
}

api_resp *api_get(const char *path, const char *key) { return api_req("GET", path, key, NULL, NULL, 0, NULL); }

api_resp *api_send_json(const char *method, const char *path, const char *key, const char *json)
{
    return api_req(method, path, key, "application/json", json, strlen(json), NULL);
}

void api_resp_free(api_resp *r)
{
    if (!r)
        return;
    json_decref(r->json);
    free(r->body);
    free(r);
}
