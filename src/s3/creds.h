/* AWS credentials for the S3 client: the default provider chain of the AWS SDKs, a cache that
 * refreshes temporary credentials before they expire, and the region resolver.
 *
 * The chain, first match wins:
 *   1. environment    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (skipped when
 *                     the options name a profile, as the AWS CLI's --profile does)
 *   2. shared files   ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE,
 *                     AWS_CONFIG_FILE), profile from the options, AWS_PROFILE or "default":
 *                     static keys, role_arn + web_identity_token_file, credential_process
 *   3. web identity   AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
 *                     STS AssumeRoleWithWebIdentity (unsigned) at AWS_ENDPOINT_URL_STS,
 *                     AWS_ENDPOINT_URL or https://sts.<region>.amazonaws.com
 *   4. container      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
 *                     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN
 *   5. EC2 metadata   IMDSv2 only (no IMDSv1 fallback), AWS_EC2_METADATA_SERVICE_ENDPOINT,
 *                     AWS_EC2_METADATA_DISABLED=true turns it off
 * A provider that is not configured passes to the next; one that is configured but fails
 * (bad file, STS refusal, a profile kind we do not support) stops the chain with its error,
 * as the SDKs do. When nothing matches, the error lists why each provider passed.
 *
 * The environment is read only through the options' callback, and only inside
 * tpq_creds_new and tpq_creds_resolve_region: the provider keeps a copy of the variables it
 * needs, so workers never call the callback. Files that may change (web identity token,
 * container authorization token file, shared files) are re-read on every refresh.
 *
 * Secrets (secret key, session token, web identity token, container authorization token)
 * never appear in error messages: messages name the provider, the file or the URL (without
 * user info or query) and what failed. Text that a server sends back is scrubbed of the
 * tokens we sent before it is quoted. */
#ifndef TPQ_S3_CREDS_H
#define TPQ_S3_CREDS_H

#include <stdint.h>

#include "trailpq/trailpq.h"

/* One set of credentials. Owned strings (freed and wiped by tpq_creds_keys_release). */
struct tpq_creds_keys {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;   /* NULL for long-term keys */
	int64_t expiration;    /* unix seconds; 0: never expires */
	const char *provider;  /* static name: "environment", "shared-files", "web-identity",
				  "credential-process", "container", "instance-metadata" */
};

/* Wipes the secrets, frees the strings and zeroes the struct (NULL-safe, idempotent on a
 * zeroed struct). */
void tpq_creds_keys_release(struct tpq_creds_keys *k);

struct tpq_creds_options {
	/* The environment. NULL: an empty one. Called only inside tpq_creds_new and
	 * tpq_creds_resolve_region; returned strings are copied at once. */
	const char *(*getenv_fn)(void *ctx, const char *name);
	void *getenv_ctx;
	const char *profile;          /* --profile; NULL: AWS_PROFILE, then "default" */
	const char *home;             /* for ~/.aws; NULL: HOME from getenv_fn */
	long connect_timeout_ms;      /* per HTTP connection: 1000 */
	long request_timeout_ms;      /* per HTTP request, all included: 5000 */
	int max_attempts;             /* per credential fetch, for transient failures: 3 */
	int64_t refresh_before_s;     /* refresh this long before expiration: 300 */
	/* Wall clock in unix seconds (expirations are wall-clock times). NULL: time(). */
	int64_t (*clock_fn)(void *ctx);
	void *clock_ctx;
	/* Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is resolved: "http://169.254.170.2".
	 * A test hook; borrowed for tpq_creds_new only. */
	const char *container_base_url;
};

void tpq_creds_options_init(struct tpq_creds_options *opt);

struct tpq_creds;

/* Reads the environment (through the callback) and the shared files, walks the chain and
 * fetches the first credentials, so that a missing or broken configuration is reported
 * before any work starts. TPQ_ENOTFOUND when no provider is configured (the message says
 * why each passed), else the failing provider's status: TPQ_EIO (file, network, HTTP
 * status), TPQ_ECORRUPT (malformed file or response), TPQ_EUNSUPPORTED (SSO, assume-role
 * with a source profile), TPQ_EINVAL (bad variable or option). */
enum tpq_status tpq_creds_new(const struct tpq_creds_options *opt, struct tpq_creds **out,
			      struct tpq_error *err);
void tpq_creds_free(struct tpq_creds *c);

/* Copies the current credentials into *out (which the caller releases). Refreshes them
 * first when they expire within refresh_before_s or were invalidated; one thread refreshes
 * while the others go on with the old credentials as long as those have not expired. A
 * failed refresh keeps the old credentials while they are valid (and is retried at most
 * every 10 s); once they have expired, the refresh error is returned. Thread-safe. */
enum tpq_status tpq_creds_get(struct tpq_creds *c, struct tpq_creds_keys *out,
			      struct tpq_error *err);

/* A request signed with `access_key_id` was refused as expired (ExpiredToken, or
 * InvalidAccessKeyId/InvalidToken right after a rotation): the next tpq_creds_get fetches
 * new credentials and does not return these again. Does nothing when the cache already
 * holds other keys, so many workers reporting the same keys cause one refresh.
 * Thread-safe. */
void tpq_creds_invalidate(struct tpq_creds *c, const char *access_key_id);

/* The name of the provider the chain settled on (as in struct tpq_creds_keys). */
const char *tpq_creds_provider(const struct tpq_creds *c);

/* The region: AWS_REGION, AWS_DEFAULT_REGION, then `region` in the profile's section of the
 * config file (same profile and file rules as the chain). Writes it to buf (cap bytes, NUL
 * included). TPQ_ENOTFOUND when none is set (the caller picks its default), TPQ_EINVAL
 * for a value that is not a region name or does not fit, TPQ_EIO/TPQ_ECORRUPT for an
 * unreadable or malformed config file. */
enum tpq_status tpq_creds_resolve_region(const struct tpq_creds_options *opt, char *buf,
					 size_t cap, struct tpq_error *err);

#endif
