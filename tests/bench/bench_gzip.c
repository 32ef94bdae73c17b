/* bench_gzip.c - gzip_encode (server/gzip.c) on saved answers: bytes and
 * time per answer at zlib levels 1, 6 and 9, against the same deflate with
 * zlib's default window and memory (the reference, in the same run).
 *   bench_gzip NAME=FILE ...   (scripts/bench-gzip.sh saves the files)
 * Prints Markdown rows; each time is the median of 15 rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "gzip.h"

/* gzip.c's response hook is not used here; these satisfy the linker */
const char *http_header(const http_req *rq, const char *name)
{
    (void)rq, (void)name;
    return NULL;
}
void http_add_header(http_req *rq, const char *name, const char *value) { (void)rq, (void)name, (void)value; }

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t zlib_defaults(const char *b, size_t n, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    uLong cap = deflateBound(&z, (uLong)n);
    unsigned char *o = malloc(cap);
    z.next_in = (Bytef *)b;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t out = z.total_out;
    deflateEnd(&z);
    free(o);
    return out;
}

int main(int argc, char **argv)
{
    printf("| answer | bytes | level | gzip bytes | µs, window sized to the body (gzip.c) | µs, zlib's default window "
           "| ratio |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int a = 1; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        if (!eq)
            continue;
        *eq = '\0';
        FILE *f = fopen(eq + 1, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *b = malloc((size_t)n + 1);
        if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
            fclose(f);
            return 1;
        }
        fclose(f);
        static const int levels[] = {1, 6, 9};
        for (int li = 0; li < 3; li++) {
            int level = levels[li], iters = n > 65536 ? 20 : 200;
            double ts[15], td[15];
            size_t zl = 0;
            for (int r = 0; r < 15; r++) {
                double t = now_us();
                for (int i = 0; i < iters; i++)
                    free(gzip_encode(b, (size_t)n, level, &zl));
                ts[r] = (now_us() - t) / iters;
                t = now_us();
                for (int i = 0; i < iters; i++)
                    (void)zlib_defaults(b, (size_t)n, level);
                td[r] = (now_us() - t) / iters;
            }
            qsort(ts, 15, sizeof ts[0], cmp_d);
            qsort(td, 15, sizeof td[0], cmp_d);
            printf("| %s | %ld | %d | %zu | %.1f | %.1f | %.0f%% |\n", argv[a], n, level, zl, ts[7], td[7],
                   100 * ts[7] / td[7]);
        }
        free(b);
    }
    return 0;
}
