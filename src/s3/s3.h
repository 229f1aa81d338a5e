/* An S3 client: the handful of calls trailpq needs, over s3/http.h and
 * signed with s3/sigv4.h.
 *
 *   ListObjectsV2 (prefix, delimiter, start-after, pagination), GetObject
 *   (whole or a byte range), HeadObject, PutObject (optionally conditional),
 *   multipart upload (create, parts, complete, abort), DeleteObject and
 *   DeleteObjects (batches of 1,000), CreateBucket (for tests and tools).
 *
 * Addressing: virtual-hosted (https://bucket.s3.REGION.amazonaws.com/key) by
 * default; path-style (https://ENDPOINT/bucket/key) on request, which
 * S3-compatible stores and loopback tests need. A custom endpoint is
 * "scheme://host[:port]" with no path. Bucket names with dots do not fit the
 * wildcard certificate of virtual-hosted HTTPS: use path-style for them.
 *
 * Credentials come from a callback called before every signed attempt, so a
 * provider chain can refresh them; the client never stores them. Nothing in
 * this module reads the environment, prints or logs, and no message carries
 * a secret, a token or a signature.
 *
 * Errors: every failure names the method, s3://bucket/key, the HTTP status,
 * S3's error Code and Message, and the attempts made; err->where is
 * "s3://bucket/key". NoSuchKey, NoSuchBucket, NoSuchUpload and a 404 to HEAD
 * are TPQ_ENOTFOUND; a failed precondition (412) is TPQ_EEXIST; a transport
 * failure after every retry is TPQ_EIO, as are other S3 errors (403 ...).
 *
 * Retries (see http.h): only idempotent requests are retried. PutObject,
 * UploadPart, GET, HEAD, DELETE, DeleteObjects and AbortMultipartUpload are
 * idempotent. CreateMultipartUpload is retried too: at worst a lost response
 * leaves an empty upload with no parts behind (a bucket lifecycle rule
 * AbortIncompleteMultipartUpload reaps those).
 *
 * Conditional writes and retries (the rule): a PUT with If-None-Match: * or
 * If-Match, or a conditional CompleteMultipartUpload, may succeed on the
 * server while we see a dropped connection, a timeout or a 5xx; its retry then
 * fails the precondition (412) *because of our own write*, and a retried
 * Complete may answer NoSuchUpload. libcurl, too, silently resends a request
 * whose reused keep-alive connection died before any answer, so even a 412
 * on what we count as the first attempt can be our own write. Therefore every
 * such 412 (and NoSuchUpload to a conditional Complete) is checked: the
 * client asks HEAD for the object's ETag and compares it with the ETag of the
 * bytes it sent: the hex MD5 of the body for PutObject; for multipart the MD5
 * of the parts' MD5s with "-N" (AWS) or the MD5 of the whole body (some
 * S3-compatible stores). Equal: the object holds exactly our bytes, which is
 * success. Different or absent: TPQ_EEXIST (or the original error), and the
 * message says when an earlier attempt of ours may have been carried out. What
 * this cannot tell apart: another writer that stored the very same bytes
 * first, which leaves the same object anyway (a lock or marker object should
 * hold something unique, such as a run id). With SSE-KMS the ETag is not an
 * MD5, so the check never matches and the ambiguous case is TPQ_EEXIST.
 *
 * Threads: a client may be used from several threads at once; it keeps a
 * pool of HTTP handles (one per concurrent call, each keeping its connection
 * alive) that share DNS, connections and TLS sessions. An upload object
 * (struct tpq_s3_upload) is used by one thread at a time. */
#ifndef TPQ_S3_S3_H
#define TPQ_S3_S3_H

#include <stddef.h>
#include <stdint.h>

#include "s3/http.h"
#include "s3/sigv4.h"
#include "trailpq/trailpq.h"
#include "util/buf.h"

struct tpq_s3;

/* The smallest part S3 accepts (except the last) and our default. */
#define TPQ_S3_MIN_PART ((size_t)5 << 20)
#define TPQ_S3_DEFAULT_PART ((size_t)8 << 20)
#define TPQ_S3_MAX_PARTS 10000

struct tpq_s3_options {
	const char *region;        /* required: "us-east-1", ... (copied) */
	/* NULL: https://s3.REGION.amazonaws.com. Else "http://127.0.0.1:9000"
	 * or "https://minio.example:9000" (copied). */
	const char *endpoint;
	int path_style;            /* 0 (default): virtual-hosted buckets */
	tpq_s3_creds_fn get_creds; /* required */
	void *creds_ctx;
	/* S3 refused a request's credentials as expired (ExpiredToken,
	 * TokenRefreshRequired): called with creds_ctx and the access key id the
	 * request was signed with, before the retry, so that the provider fetches
	 * new ones (s3/creds.h: tpq_creds_invalidate). NULL: nothing. Must be
	 * thread-safe. */
	void (*creds_expired)(void *ctx, const char *access_key_id);
	/* The payload hash sent and signed: -1 (default) hashes bodies over
	 * http:// and sends UNSIGNED-PAYLOAD over https:// (TLS protects the
	 * body, and Content-MD5 is sent with every PutObject and UploadPart
	 * anyway); 1 always hashes; 0 never does. */
	int sign_payload;
	size_t part_size;          /* multipart part size, default 8 MiB, >= 5 MiB */
	unsigned max_handles;      /* HTTP handles in the pool, default 16 */
	struct tpq_http_options http;  /* timeouts, retries, TLS (share is ignored; ca_file copied) */
};

void tpq_s3_options_init(struct tpq_s3_options *o);

/* NULL on error (err says why: a missing region or callback, a bad endpoint). */
struct tpq_s3 *tpq_s3_new(const struct tpq_s3_options *o, struct tpq_error *err);
/* Every upload of the client must be freed first. */
void tpq_s3_free(struct tpq_s3 *s);
/* The client's part size (after defaults). */
size_t tpq_s3_part_size(const struct tpq_s3 *s);

/* Requests, attempts and retries over all the client's handles. */
void tpq_s3_stats(struct tpq_s3 *s, struct tpq_http_stats *out);

/* --- ListObjectsV2 --- */

struct tpq_s3_object {
	const char *key;           /* borrowed for the callback; a common prefix ends in the delimiter */
	uint64_t size;             /* 0 for a common prefix */
	const char *etag;          /* as S3 sends it, quotes kept; "" for a common prefix */
	const char *last_modified; /* ISO 8601 as S3 sends it; "" for a common prefix */
	int64_t mtime_ns;          /* last_modified in ns since the epoch, 0 if unknown */
	int is_prefix;             /* a CommonPrefixes entry */
};

/* Return 0 to go on, nonzero to stop (tpq_s3_list then returns TPQ_OK). */
typedef int (*tpq_s3_list_fn)(void *ctx, const struct tpq_s3_object *o);

struct tpq_s3_list_options {
	const char *prefix;        /* NULL or "" for all */
	const char *delimiter;     /* NULL: none; "/" for one level */
	const char *start_after;   /* NULL: from the start */
	unsigned max_keys;         /* per page, 0: S3's default (1,000) */
};

/* Lists every page, following continuation tokens. Objects and common
 * prefixes arrive through one callback in ascending byte order of key (each
 * page's two sorted lists are merged; pages cover consecutive key ranges). */
enum tpq_status tpq_s3_list(struct tpq_s3 *s, const char *bucket,
			    const struct tpq_s3_list_options *lo, tpq_s3_list_fn fn, void *ctx,
			    struct tpq_error *err);

/* --- GetObject / HeadObject --- */

struct tpq_s3_head {
	uint64_t size;
	char etag[128];            /* quotes kept */
	char last_modified[64];    /* HTTP date */
	int64_t mtime_ns;
};

/* The whole object into out (replacing its content). At most max bytes
 * (0: 4 GiB), TPQ_ELIMIT past it. info may be NULL. */
enum tpq_status tpq_s3_get(struct tpq_s3 *s, const char *bucket, const char *key, size_t max,
			   struct tpq_buf *out, struct tpq_s3_head *info, struct tpq_error *err);

/* Bytes [offset, offset + len) into out (replacing its content); fewer when
 * the object ends first, none when offset is at or past its end (TPQ_OK with
 * out->len == 0). *total, when not NULL, receives the object's size if the
 * server said it (else is left alone). */
enum tpq_status tpq_s3_get_range(struct tpq_s3 *s, const char *bucket, const char *key,
				 uint64_t offset, size_t len, struct tpq_buf *out, uint64_t *total,
				 struct tpq_error *err);

enum tpq_status tpq_s3_head(struct tpq_s3 *s, const char *bucket, const char *key,
			    struct tpq_s3_head *out, struct tpq_error *err);

/* --- PutObject --- */

enum tpq_s3_put_flags {
	TPQ_S3_IF_NONE_MATCH = 1 << 0,  /* If-None-Match: * (create only) */
	TPQ_S3_IF_MATCH = 1 << 1,       /* If-Match: if_match_etag (replace that version only) */
};

struct tpq_s3_put_options {
	unsigned flags;
	const char *if_match_etag;      /* with TPQ_S3_IF_MATCH, quotes optional */
	const char *content_type;       /* NULL: application/octet-stream */
};

/* One PutObject of (p, n) (S3 takes up to 5 GiB this way). po may be NULL.
 * etag_out (128 bytes, may be NULL) receives the new ETag. */
enum tpq_status tpq_s3_put(struct tpq_s3 *s, const char *bucket, const char *key, const void *p,
			   size_t n, const struct tpq_s3_put_options *po, char *etag_out,
			   struct tpq_error *err);

/* --- Multipart upload --- */

struct tpq_s3_upload;

/* Starts an upload (CreateMultipartUpload). po's conditional flags apply to
 * the completion (S3 takes If-None-Match and If-Match on Complete). */
enum tpq_status tpq_s3_upload_new(struct tpq_s3 *s, const char *bucket, const char *key,
				  const struct tpq_s3_put_options *po,
				  struct tpq_s3_upload **out, struct tpq_error *err);
/* Uploads the next part (numbered 1, 2, ... in call order). Every part but
 * the last must be at least TPQ_S3_MIN_PART bytes (the caller sends the last
 * one through tpq_s3_upload_complete). On failure the upload is aborted on the
 * server at once and every later call fails. */
enum tpq_status tpq_s3_upload_part(struct tpq_s3_upload *u, const void *p, size_t n,
				   struct tpq_error *err);
/* Uploads (p, n) as the last part when n > 0 (or when no part was sent yet:
 * S3 needs at least one), then completes the upload. A 200 that carries an
 * <Error> is a failure (retried when S3 says it may be). On failure the
 * upload is aborted. etag_out (128 bytes) may be NULL. */
enum tpq_status tpq_s3_upload_complete(struct tpq_s3_upload *u, const void *p, size_t n,
				       char *etag_out, struct tpq_error *err);
/* Aborts the upload if it is neither completed nor aborted yet (best
 * effort), then frees it. */
void tpq_s3_upload_free(struct tpq_s3_upload *u);
/* Parts sent so far. */
unsigned tpq_s3_upload_parts(const struct tpq_s3_upload *u);

/* --- Deletes --- */

/* DeleteObject; an absent key is TPQ_OK (S3 answers 204 either way). */
enum tpq_status tpq_s3_delete(struct tpq_s3 *s, const char *bucket, const char *key,
			      struct tpq_error *err);

/* DeleteObjects in batches of at most 1,000 keys (quiet mode). Per-key
 * failures do not stop the batches: *nfailed (may be NULL) counts them and
 * the first is reported through err (key, Code, Message) with TPQ_EIO. */
enum tpq_status tpq_s3_delete_objects(struct tpq_s3 *s, const char *bucket,
				      const char *const *keys, size_t n, size_t *nfailed,
				      struct tpq_error *err);

/* CreateBucket (in the client's region). An existing bucket we own is TPQ_OK. */
enum tpq_status tpq_s3_create_bucket(struct tpq_s3 *s, const char *bucket, struct tpq_error *err);

/* --- Helpers shared with the vtables and tests --- */

/* ns since the epoch for "2009-10-12T17:50:30.000Z" (ISO 8601, UTC) or an
 * HTTP date ("Wed, 12 Oct 2009 17:50:30 GMT"); 0 if neither parses. */
int64_t tpq_s3_parse_time(const char *s);

/* Splits "s3://bucket/prefix" into bucket and prefix (without the leading
 * '/'; "" when absent). TPQ_EINVAL when it is not such a URL. */
enum tpq_status tpq_s3_parse_url(const char *url, char *bucket, size_t bucket_cap, char *prefix,
				 size_t prefix_cap, struct tpq_error *err);

#endif
