/* auth.h - API keys: generation, hashing, roles, and resolving a bearer key.
 *
 * A key is "rvk_" + 43 base64url characters (256 random bits). Only its
 * SHA-256 (hex) is stored; the plain key is shown once, at creation.
 */
#ifndef REVOPS_AUTH_H
#define REVOPS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

typedef enum { ROLE_NONE = 0, ROLE_READ = 1, ROLE_WRITE = 2, ROLE_ADMIN = 3 } auth_role;

#define AUTH_KEY_LEN 47      /* "rvk_" + 43 */
#define AUTH_HASH_HEX_LEN 64 /* SHA-256 in hex */
#define AUTH_PREFIX_LEN 12   /* shown in listings so people can tell keys apart */

typedef struct {
    char workspace_id[40];
    char key_id[40];
    auth_role role;
} auth_identity;

const char *auth_role_name(auth_role r);
auth_role auth_role_parse(const char *s); /* ROLE_NONE when unknown */

/* Fresh random key into out (at least AUTH_KEY_LEN + 1 bytes); 0 or -1. */
int auth_generate_key(char *out, size_t len) __attribute__((warn_unused_result));
/* Hex SHA-256 of key into out (AUTH_HASH_HEX_LEN + 1 bytes). */
void auth_hash_key(const char *key, char *out);
/* SHA-256 of len bytes as 64 lower-case hex digits and a NUL. */
void auth_sha256_hex(const void *data, size_t len, char out[65]);

/* Resolve an Authorization header value. Returns 1 and fills id for a live
 * key, 0 for a missing/malformed/unknown/revoked key, -1 on a database error.
 * Live keys are remembered in process (1,024 slots, by hash) for
 * AUTH_CACHE_TTL_MS (or what auth_cache_set_ttl_ms set) so a busy client costs one query per request, not two; a
 * revocation through this instance applies at once (auth_cache_clear),
 * through another instance within the TTL: a second at most (issue 17). A
 * short TTL rather than LISTEN/NOTIFY: no connection per instance to keep
 * listening, nothing to miss while it reconnects, and at a second a busy key
 * still costs one lookup a second per instance. */
int auth_resolve(db_conn *c, const char *authorization, auth_identity *id, app_err *err)
    __attribute__((warn_unused_result));

#ifndef AUTH_CACHE_TTL_MS /* a build may set it (-DAUTH_CACHE_TTL_MS=0: no cache, to measure) */
#define AUTH_CACHE_TTL_MS 1000
#endif

/* How long a live key is remembered (--key-cache-ms): 0 turns the cache off
 * (make bench measures both), more than AUTH_CACHE_TTL_MS is cut to it, the
 * bound on how late another instance's revocation may be seen. */
void auth_cache_set_ttl_ms(int ms);

/* Forget every remembered key (after a revocation). */
void auth_cache_clear(void);

/* Insert a key for a workspace; writes the plain key to key_out and the new
 * key's row as JSON text into row_json_out (caller frees). */
int auth_create_key(db_conn *c, const char *workspace_id, auth_role role, const char *name, char *key_out,
                    size_t key_len, char **row_json_out, app_err *err) __attribute__((warn_unused_result));

/* Random hex string of 2*nbytes characters (request ids, nonces). */
int auth_random_hex(char *out, size_t nbytes) __attribute__((warn_unused_result));

#endif
