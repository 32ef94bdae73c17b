/* bare_mhd.c - the reference for HTTP overhead: a bare libmicrohttpd responder
 * with the same threading model as revopsd (internal thread pool + epoll),
 * answering {"status":"ok"} to everything. Usage: bare_mhd PORT THREADS */
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **ctx)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    static int marker;
    if (!*ctx) { /* first call: headers only; answering now would make MHD close the connection */
        *ctx = &marker;
        return MHD_YES;
    }
    if (*size) { /* discard any body, as revopsd reads it */
        *size = 0;
        return MHD_YES;
    }
    static const char body[] = "{\"status\":\"ok\"}";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)atoi(argv[1]), NULL, NULL, answer,
                         NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]), MHD_OPTION_END);
    if (!d)
        return 1;
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
