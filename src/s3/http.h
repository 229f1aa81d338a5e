/* HTTP requests for the S3 client, over libcurl, with retries.
 *
 * A struct tpq_http is one curl easy handle: it keeps its connections alive
 * between requests (HTTP keep-alive, TLS session reuse) and is used by one
 * thread at a time. A struct tpq_http_share lets several handles share the
 * DNS cache, the connection pool and TLS sessions; it locks internally and
 * may be used from any number of threads.
 *
 * tpq_http_request runs one logical request as up to max_attempts attempts.
 * Before each attempt it calls the request's prepare() hook, which adds the
 * attempt's headers (the S3 client signs there, so each retry carries a fresh
 * x-amz-date and fresh credentials). An attempt is retried, after a delay of
 * full jitter (uniform in [0, min(max_delay, base_delay * 2^attempt)]), when
 *   - the transfer failed in a way that may pass: could not connect, timed
 *     out (connect timeout, total timeout, or slower than the low-speed limit
 *     for its time), connection reset or dropped, empty reply, TLS handshake
 *     failure, HTTP/2 stream error;
 *   - the body was cut short: fewer bytes than Content-Length (curl's
 *     CURLE_PARTIAL_FILE, and checked again here);
 *   - the response is one the retryable() hook accepts (default: 500, 502,
 *     503, 504 and 429; the S3 client adds error codes such as SlowDown,
 *     Throttling, RequestTimeout, InternalError, also inside a 200).
 * Not retried: certificate failures, a response body over max_body, bad
 * URLs, and every other status (the caller interprets them).
 *
 * Only idempotent requests may be given here: the caller owns that rule
 * (see s3.h for how conditional PUTs stay correct under retries).
 *
 * Nothing here prints or logs; error messages name the request through its
 * `what` string (e.g. "PUT s3://bucket/key") and never carry header values
 * (signatures, tokens). */
#ifndef TPQ_S3_HTTP_H
#define TPQ_S3_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

struct tpq_http;
struct tpq_http_share;

struct tpq_http_options {
	long connect_timeout_ms;   /* default 10,000 */
	/* An attempt slower than low_speed_bytes per second for low_speed_s
	 * seconds is abandoned (and retried): a stalled server or a delay. */
	long low_speed_bytes;      /* default 1,024 */
	long low_speed_s;          /* default 30 */
	long attempt_timeout_ms;   /* a whole attempt, 0 = no limit (default) */
	unsigned max_attempts;     /* default 6; 1 = no retries */
	unsigned base_delay_ms;    /* default 100 */
	unsigned max_delay_ms;     /* default 20,000 */
	int verify_tls;            /* default 1: peer certificate and host name checked */
	const char *ca_file;       /* PEM bundle, NULL for the system's (copied) */
	struct tpq_http_share *share;  /* borrowed, may be NULL; outlives the handle */
	uint64_t jitter_seed;      /* 0: seeded from the clock and the handle's address */
	/* How to wait between attempts (tests count the waits); NULL: nanosleep. */
	void (*sleep_ms)(void *ctx, unsigned ms);
	void *sleep_ctx;
};

void tpq_http_options_init(struct tpq_http_options *o);

/* The headers of one attempt, filled by prepare(). */
struct tpq_http_headers;
/* Adds "name: value". Values must not hold CR or LF (TPQ_EINVAL). */
enum tpq_status tpq_http_headers_add(struct tpq_http_headers *h, const char *name,
				     const char *value);

struct tpq_http_response {
	long status;              /* HTTP status of the last attempt, 0 if none completed */
	struct tpq_buf body;      /* owned by the caller: tpq_http_response_init/_release */
	char etag[128];           /* ETag header as sent (quotes kept), "" if none */
	char last_modified[64];   /* Last-Modified header, "" if none */
	char content_range[96];   /* Content-Range header, "" if none */
	char request_id[96];      /* x-amz-request-id, for messages */
	int64_t content_length;   /* Content-Length header, -1 if none */
	unsigned attempts;        /* attempts made */
	/* An attempt before the last one may have been carried out by the
	 * server although we saw no success (the connection dropped after the
	 * request was sent, a timeout, a 5xx): a conditional request that then
	 * fails its precondition may have been beaten by its own earlier try. */
	int earlier_attempt_may_have_applied;
};

void tpq_http_response_init(struct tpq_http_response *r);
void tpq_http_response_release(struct tpq_http_response *r);

struct tpq_http_request {
	const char *method;        /* GET, HEAD, PUT, POST, DELETE */
	const char *url;           /* absolute http:// or https:// URL, already encoded */
	const char *what;          /* for messages: "GET s3://bucket/key" */
	const void *body;          /* borrowed, sent again on each attempt; NULL = none */
	size_t body_len;
	size_t max_body;           /* response body ceiling (TPQ_ELIMIT past it); 0: 64 MiB */
	/* Called before each attempt with the attempt number (1-based). */
	enum tpq_status (*prepare)(void *ctx, unsigned attempt, struct tpq_http_headers *h,
				   struct tpq_error *err);
	/* Whether a complete response deserves another attempt; NULL: 5xx
	 * (500, 502, 503, 504) and 429. */
	int (*retryable)(void *ctx, const struct tpq_http_response *r);
	void *ctx;
};

/* Default retry policy by status alone. */
int tpq_http_status_retryable(long status);

/* Runs the request with retries. TPQ_OK when a response arrived (any
 * status: the caller judges it; after the last attempt a retryable status is
 * returned as it is). TPQ_EIO when every attempt failed in transport (the
 * message names `what`, the attempts and curl's reason), TPQ_ELIMIT for a
 * body over max_body, TPQ_EINVAL for a bad URL or method, or whatever
 * prepare() returned. */
enum tpq_status tpq_http_request(struct tpq_http *h, const struct tpq_http_request *req,
				 struct tpq_http_response *resp, struct tpq_error *err);

/* A handle. NULL on error (err says why). */
struct tpq_http *tpq_http_new(const struct tpq_http_options *o, struct tpq_error *err);
void tpq_http_free(struct tpq_http *h);

struct tpq_http_share *tpq_http_share_new(struct tpq_error *err);
/* Every handle using it must be freed first. */
void tpq_http_share_free(struct tpq_http_share *s);

/* Counters for tests and progress lines (per handle, since creation). */
struct tpq_http_stats {
	uint64_t requests, attempts, retries, bytes_in, bytes_out;
};
void tpq_http_stats(const struct tpq_http *h, struct tpq_http_stats *out);

#endif
