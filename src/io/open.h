/* Opening a source or a store by what the user wrote: "s3://bucket/prefix"
 * gives the S3 one (io/store_s3.h), anything else the local directory.
 *
 * An S3 URL names a folder: "s3://b/lake" is taken as "s3://b/lake/" (the
 * S3 vtables themselves take a prefix as written).
 *
 * Settings, explicit options first, then the environment (read only through
 * the options' callback, only inside the open calls), then defaults:
 *   region    options, AWS_REGION, AWS_DEFAULT_REGION, `region` in the
 *             profile's section of the AWS config file, "us-east-1"
 *   endpoint  options, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS's regional
 *             one; a trailing '/' is dropped
 *   profile   options, AWS_PROFILE, "default" (for the credentials chain and
 *             the config file's region)
 *   CA bundle options, AWS_CA_BUNDLE, the system's
 *   credentials  the chain of s3/creds.h (environment keys, shared files, web
 *             identity, container, IMDSv2)
 * Addressing (TPQ_IO_ADDRESS_AUTO): virtual-hosted on AWS's endpoints, as
 * the SDKs do; path-style for a custom endpoint (MinIO, Ceph, localstack,
 * loopback tests: their host names rarely have a wildcard DNS entry), and for
 * a bucket name that is no valid host label (dots break the wildcard TLS
 * certificate, capitals and '_' are not DNS names). TPQ_IO_ADDRESS_VIRTUAL or
 * _PATH force one.
 *
 * tpq_io_open opens a source and a store at once for one run: when both are
 * on S3 they share one credentials object (one chain walk, one refreshing
 * cache), held by whichever is freed last. Nothing here prints or logs, and
 * no message carries a secret. */
#ifndef TPQ_IO_OPEN_H
#define TPQ_IO_OPEN_H

#include <stdbool.h>

#include "io/source.h"
#include "io/store.h"
#include "trailpq/trailpq.h"

enum tpq_io_addressing {
	TPQ_IO_ADDRESS_AUTO = 0,
	TPQ_IO_ADDRESS_VIRTUAL = 1,
	TPQ_IO_ADDRESS_PATH = 2,
};

/* Defaults for a bucket of many small objects (CloudTrail writes files of a
 * few kilobytes to a few megabytes): each GET is mostly latency, so reading
 * ahead on many connections is what makes a conversion fast. */
#define TPQ_IO_DEFAULT_PREFETCH 16u
#define TPQ_IO_DEFAULT_CONCURRENCY 32u

struct tpq_io_options {
	const char *region;           /* NULL: see above */
	const char *endpoint;         /* "http://127.0.0.1:9000"; NULL: see above */
	enum tpq_io_addressing addressing;
	const char *profile;          /* NULL: AWS_PROFILE, then "default" */
	/* The environment (NULL: an empty one). Returned strings are copied. */
	const char *(*getenv_fn)(void *ctx, const char *name);
	void *getenv_ctx;
	/* S3 sources: objects read ahead on background connections, in listing
	 * order (0: none; at most 32). Default TPQ_IO_DEFAULT_PREFETCH. */
	unsigned prefetch;
	/* HTTP connections per S3 client (the source and the store have one
	 * each); calls beyond it wait. 0: TPQ_IO_DEFAULT_CONCURRENCY. */
	unsigned concurrency;
	/* TLS: a PEM bundle to verify S3's certificate with (NULL: AWS_CA_BUNDLE,
	 * then the system's), or no verification at all (never the default). */
	const char *ca_bundle;
	bool no_verify_tls;
	/* Test hooks: per-request attempts (0: the client's default, 6) and the
	 * first retry delay in ms (0: the client's default, 100). */
	unsigned max_attempts;
	unsigned base_delay_ms;
};

void tpq_io_options_init(struct tpq_io_options *o);

/* Where and how an S3 URL is reached, as the open calls resolve it (see above). */
struct tpq_io_s3_settings {
	char region[64];
	char endpoint[512];   /* "" for AWS's regional endpoint */
	bool path_style;
	char ca_bundle[1024]; /* "" for the system's */
};

/* Resolves the settings for `url` ("s3://bucket/..."), reading the environment through
 * the callback and the AWS config file for the profile's region. Errors: TPQ_EINVAL (a
 * bad region or endpoint value), the config file's (s3/creds.h). */
enum tpq_status tpq_io_s3_resolve(const struct tpq_io_options *o, const char *url,
				  struct tpq_io_s3_settings *out, struct tpq_error *err);

/* Whether `what` names an S3 location ("s3://..."). */
bool tpq_io_is_s3(const char *what);

/* Opens the source `src` and the store `dst`; either may be NULL (its out
 * pointer is then left NULL). On failure nothing stays open. Errors:
 * TPQ_EINVAL (a bad URL, region or endpoint), the credentials chain's
 * (s3/creds.h: TPQ_ENOTFOUND when none is configured), the local store's. */
enum tpq_status tpq_io_open(const char *src, const char *dst, const struct tpq_io_options *o,
			    struct tpq_source **src_out, struct tpq_store **dst_out,
			    struct tpq_error *err);

/* One of them alone; NULL on error (err says why). o may be NULL (defaults,
 * empty environment). */
struct tpq_source *tpq_source_open(const char *src, const struct tpq_io_options *o,
				   struct tpq_error *err);
struct tpq_store *tpq_store_open(const char *dst, const struct tpq_io_options *o,
				 struct tpq_error *err);

#endif
