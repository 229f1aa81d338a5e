/* AWS Signature Version 4 for S3 requests (the Authorization header form).
 *
 * Written from AWS's "Signature Version 4 signing process" and S3's
 * "Authenticating Requests: Using the Authorization Header" pages:
 *
 *   canonical request = METHOD \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n payload hash
 *   string to sign    = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex(SHA256(canonical request))
 *   scope             = yyyymmdd/region/service/aws4_request
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" secret, yyyymmdd), region), service),
 *                            "aws4_request")
 *   signature         = hex(HMAC(signing key, string to sign))
 *
 * S3 specifics: the path is not normalised and each '/'-separated segment is
 * URI-encoded once (RFC 3986 unreserved characters kept, '/' kept); query
 * names and values are encoded with '/' encoded too, then sorted by name;
 * x-amz-content-sha256 is always sent and signed (the payload's hex SHA-256,
 * or UNSIGNED-PAYLOAD, which S3 accepts over HTTPS where TLS protects the body).
 *
 * Hashing is OpenSSL's libcrypto. Nothing here allocates except the
 * canonical-request buffer, reads the clock (the caller passes the time) or
 * keeps state: every function is thread-safe. Secrets never leave this module
 * except inside the signature they produced. */
#ifndef TPQ_S3_SIGV4_H
#define TPQ_S3_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

/* x-amz-content-sha256 value for a body not covered by the signature. */
#define TPQ_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string, hex: the payload hash of a bodiless request. */
#define TPQ_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One set of AWS credentials. Strings are NUL-terminated; session_token is ""
 * for long-term keys. The sizes hold what STS hands out (session tokens run to
 * a few kilobytes). Callers should wipe copies they no longer need
 * (tpq_s3_credentials_wipe). */
struct tpq_s3_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096];
};

/* Where credentials come from: called before every signed attempt so that a
 * provider can refresh expiring ones (the chain in s3/creds.h plugs in here).
 * Fills *out or returns an error status with err set. Must be thread-safe if
 * the clients using it are used from several threads. */
typedef enum tpq_status (*tpq_s3_creds_fn)(void *ctx, struct tpq_s3_credentials *out,
					    struct tpq_error *err);

/* Overwrites the secrets with zeros in a way the compiler cannot drop. */
void tpq_s3_credentials_wipe(struct tpq_s3_credentials *c);

/* A header or query parameter, unencoded. value may be "" (a bare "?uploads"
 * is {"uploads", ""}). */
struct tpq_sigv4_pair {
	const char *name;
	const char *value;
};

struct tpq_sigv4_request {
	const char *method;        /* "GET", "PUT", ... */
	const char *host;          /* the Host header as sent (with ":port" when not default) */
	const char *path;          /* unencoded absolute path: "/", "/key", "/bucket/a b/c" */
	const struct tpq_sigv4_pair *query;   /* unencoded, any order */
	size_t nquery;
	/* Further headers to sign, any case, any order (range, content-type,
	 * if-none-match, date, ...). host, x-amz-date, x-amz-content-sha256 and
	 * x-amz-security-token are added by the signer and must not be here. */
	const struct tpq_sigv4_pair *headers;
	size_t nheaders;
	const char *payload_hash;  /* hex SHA-256 of the body, or TPQ_SIGV4_UNSIGNED_PAYLOAD */
};

/* What to put on the wire, beside the request's own headers. */
struct tpq_sigv4_result {
	char amz_date[17];          /* x-amz-date: yyyymmddThhmmssZ */
	char authorization[1024];   /* Authorization header value */
	char signature[65];         /* hex, also inside authorization (for tests) */
};

/* Signs `req` for `region` and `service` ("s3") at time `now` (UTC seconds).
 * The security token, when c->session_token is not "", is signed as
 * x-amz-security-token: the caller sends it with that name.
 * TPQ_EINVAL for a missing field or a header name the signer owns,
 * TPQ_ELIMIT when the Authorization value would not fit, TPQ_ENOMEM. */
enum tpq_status tpq_sigv4_sign(const struct tpq_sigv4_request *req,
			       const struct tpq_s3_credentials *c, const char *region,
			       const char *service, time_t now, struct tpq_sigv4_result *out,
			       struct tpq_error *err);

/* The building blocks, exposed for the tests and the S3 client. */

/* Appends s URI-encoded: A-Z a-z 0-9 - . _ ~ are kept, every other byte is
 * %XY (uppercase hex); '/' is kept when keep_slash is nonzero. */
void tpq_sigv4_uri_encode(struct tpq_buf *b, const char *s, size_t n, int keep_slash);

/* Writes the canonical request of `req` (with the signer's own headers:
 * amz_date, the payload hash and token as tpq_sigv4_sign adds them) into b,
 * replacing its content, and the signed-headers list into signed_headers
 * (replacing too). TPQ_EINVAL / TPQ_ENOMEM. */
enum tpq_status tpq_sigv4_canonical_request(const struct tpq_sigv4_request *req,
					    const char *amz_date, const char *session_token,
					    struct tpq_buf *b, struct tpq_buf *signed_headers,
					    struct tpq_error *err);

/* Hex SHA-256 of (p, n) into hex[65] (NUL-terminated). */
void tpq_sha256_hex(const void *p, size_t n, char hex[65]);
/* Raw SHA-256 and HMAC-SHA256 (32-byte results). */
void tpq_sha256(const void *p, size_t n, uint8_t out[32]);
void tpq_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, uint8_t out[32]);
/* MD5 of (p, n), raw and hex (S3's ETag of a single-part object, Content-MD5). */
void tpq_md5(const void *p, size_t n, uint8_t out[16]);
void tpq_md5_hex(const void *p, size_t n, char hex[33]);
/* Base64 of (p, n) into out, which must hold 4 * ceil(n / 3) + 1 bytes. */
void tpq_base64(const void *p, size_t n, char *out);

/* "yyyymmddThhmmssZ" for t (UTC). */
void tpq_sigv4_amz_date(time_t t, char out[17]);

#endif
