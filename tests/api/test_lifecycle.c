/* test_lifecycle.c - shutdown, database outages and migrations, each on its
 * own server (and cluster) so the shared one is not disturbed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "migrate.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_port(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int wait_exit(pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st = 0;
    while (now_s() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

START_TEST(sigterm_finishes_in_flight_requests)
{
    int port = api_free_port();
    pid_t pid = api_spawn_server(api_db_url(), port, NULL);
    ck_assert(api_wait_healthy(port, 10000));
    /* a request whose body is still arriving when SIGTERM comes */
    int s = connect_port(port);
    ck_assert_int_ge(s, 0);
    const char *head = "POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 15\r\nConnection: close\r\n\r\n{\"role\":";
    ck_assert_int_eq(write(s, head, strlen(head)), (ssize_t)strlen(head));
    usleep(100000);
    kill(pid, SIGTERM);
    usleep(300000);
    /* new connections are refused while the old one finishes */
    int s2 = connect_port(port);
    ck_assert_msg(s2 < 0, "a new connection was accepted after SIGTERM");
    ck_assert_int_eq(write(s, "\"read\"}", 7), 7);
    char out[2048] = "";
    size_t n = 0;
    ssize_t k;
    while (n < sizeof out - 1 && (k = read(s, out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(s);
    ck_assert_msg(strncmp(out, "HTTP/1.1 401", 12) == 0, "in-flight request got: %.200s", out);
    ck_assert_int_eq(wait_exit(pid, 8.0), 0);
}
END_TEST

START_TEST(database_outage_gives_503_and_recovers)
{
    char dir[300], url[512];
    snprintf(dir, sizeof dir, "%s/outage-pg", api_tmpdir());
    ck_assert_int_eq(api_devdb("start", dir, url, sizeof url), 0);
    char cmd[1200], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace outage --role admin --database-url '%s' 2>&1",
             api_revopsd(), url);
    snprintf(out, sizeof out, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(out, NULL, 0), 0);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    char key[64];
    char *last = strrchr(out, '\n');
    while (last && last > out && last[1] == '\0') {
        *last = '\0';
        last = strrchr(out, '\n');
    }
    snprintf(key, sizeof key, "%.63s", last ? last + 1 : out);
    int port = api_free_port();
    pid_t pid = api_spawn_server(url, port, NULL);
    ck_assert(api_wait_healthy(port, 10000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    api_resp *r = api_req_at(base, "GET", "/v1/workspace", key, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);

    ck_assert_int_eq(api_devdb("stop", dir, NULL, 0), 0);
    double t0 = now_s();
    r = api_req_at(base, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
    ck_assert_status(r, 503);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "type")), "/problems/database-unavailable");
    api_resp_free(r);
    r = api_req_at(base, "GET", "/v1/workspace", key, NULL, NULL, 0, NULL);
    ck_assert_status(r, 503);
    api_resp_free(r);
    ck_assert_msg(now_s() - t0 < 5.0, "503s took %.1f s", now_s() - t0);
    r = api_req_at(base, "GET", "/healthz", NULL, NULL, NULL, 0, NULL); /* the process itself is fine */
    ck_assert_status(r, 200);
    api_resp_free(r);

    ck_assert_int_eq(api_devdb("start", dir, NULL, 0), 0);
    r = api_req_at(base, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_req_at(base, "GET", "/v1/workspace", key, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
    kill(pid, SIGTERM);
    ck_assert_int_eq(wait_exit(pid, 8.0), 0);
    api_devdb("stop", dir, NULL, 0);
}
END_TEST

START_TEST(migrations_concurrent_and_tamper_proof)
{
    char dir[300], url[512], cmd[2048], out[4096];
    snprintf(dir, sizeof dir, "%s/migrate-pg", api_tmpdir());
    ck_assert_int_eq(api_devdb("start", dir, url, sizeof url), 0);
    /* two instances migrating an empty database at once */
    snprintf(cmd, sizeof cmd,
             "B='%s'; U='%s'; ($B migrate --database-url \"$U\" >/dev/null 2>&1; echo a=$?) &"
             " ($B migrate --database-url \"$U\" >/dev/null 2>&1; echo b=$?) & wait",
             api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "a=0") && strstr(out, "b=0"), "concurrent migrate: %s", out);
    snprintf(cmd, sizeof cmd, "psql '%s' -tAc 'SELECT count(*), count(DISTINCT version) FROM schema_migrations'", url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    int total = 0, distinct = 0;
    ck_assert_int_eq(sscanf(out, "%d|%d", &total, &distinct), 2);
    ck_assert_int_ge(total, 1);
    ck_assert_int_eq(total, distinct);
    /* and every sql/ file once */
    snprintf(cmd, sizeof cmd, "psql '%s' -tAc 'SELECT count(*), count(DISTINCT name) FROM schema_repeatables'", url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    ck_assert_int_eq(sscanf(out, "%d|%d", &total, &distinct), 2);
    ck_assert_int_eq(total, (int)repeatable_count);
    ck_assert_int_eq(total, distinct);
    /* an applied file whose text changed stops startup */
    snprintf(cmd, sizeof cmd, "psql '%s' -tAc \"UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1\"",
             url);
    ck_assert_int_eq(api_run(cmd, NULL, 0), 0);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "0001_foundation.sql was changed after it was applied") != NULL, "got: %s", out);
    snprintf(cmd, sizeof cmd, "'%s' serve --database-url '%s' --listen 127.0.0.1:%d 2>&1", api_revopsd(), url,
             api_free_port());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 1);
    api_devdb("stop", dir, NULL, 0);
}
END_TEST

START_TEST(cli_contract)
{
    char cmd[1200], out[8192];
    snprintf(cmd, sizeof cmd, "'%s' --help", api_revopsd());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    const char *must[] = {"serve", "migrate", "keys create", "DATABASE_URL", "REVOPS_LISTEN", "REVOPS_THREADS"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        ck_assert_msg(strstr(out, must[i]) != NULL, "--help lacks %s", must[i]);
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace x --role superuser --database-url '%s' 2>&1", api_revopsd(),
             api_db_url());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "'%s' serve --no-such-flag 2>&1", api_revopsd());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url 'postgresql://nobody@/none?host=/nonexistent' 2>&1",
             api_revopsd());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 1);
}
END_TEST

Suite *lifecycle_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, sigterm_finishes_in_flight_requests);
    tcase_add_test(tc, database_outage_gives_503_and_recovers);
    tcase_add_test(tc, migrations_concurrent_and_tamper_proof);
    tcase_add_test(tc, cli_contract);
    suite_add_tcase(s, tc);
    return s;
}
