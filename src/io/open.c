/* Opening sources and stores by URL or path (see io/open.h).
 *
 * The credentials object is shared by reference counting: tpq_io_open makes
 * one when either side is on S3, each S3 object it opens takes a reference
 * (released by the object's on_free hook, after its client is freed), and the
 * opener drops its own before returning. So the chain is walked once per run,
 * its cache refreshes once for both, and the last object freed frees it. */
#include "io/open.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/store_s3.h"
#include "s3/creds.h"
#include "util/error.h"

void tpq_io_options_init(struct tpq_io_options *o)
{
	memset(o, 0, sizeof(*o));
	o->prefetch = TPQ_IO_DEFAULT_PREFETCH;
	o->concurrency = TPQ_IO_DEFAULT_CONCURRENCY;
}

bool tpq_io_is_s3(const char *what)
{
	return what && !strncmp(what, "s3://", 5);
}

struct shared_creds {
	struct tpq_creds *c;
	atomic_int refs;
};

static void creds_unref(void *ctx)
{
	struct shared_creds *sc = ctx;
	if (sc && atomic_fetch_sub(&sc->refs, 1) == 1) {
		tpq_creds_free(sc->c);
		free(sc);
	}
}

static enum tpq_status creds_get(void *ctx, struct tpq_s3_credentials *out, struct tpq_error *err)
{
	struct shared_creds *sc = ctx;
	struct tpq_creds_keys k;
	memset(&k, 0, sizeof(k));
	enum tpq_status st = tpq_creds_get(sc->c, &k, err);
	if (st)
		return st;
	const char *tok = k.session_token ? k.session_token : "";
	if (!k.access_key_id || !k.secret_access_key ||
	    strlen(k.access_key_id) >= sizeof(out->access_key_id) ||
	    strlen(k.secret_access_key) >= sizeof(out->secret_access_key) ||
	    strlen(tok) >= sizeof(out->session_token)) {
		const char *from = k.provider ? k.provider : "?";
		st = tpq_error_set(err, TPQ_ELIMIT, "credentials from %s: key missing or too long",
				   from);
	} else {
		snprintf(out->access_key_id, sizeof(out->access_key_id), "%s", k.access_key_id);
		snprintf(out->secret_access_key, sizeof(out->secret_access_key), "%s",
			 k.secret_access_key);
		snprintf(out->session_token, sizeof(out->session_token), "%s", tok);
	}
	tpq_creds_keys_release(&k);
	return st;
}

static void creds_expired(void *ctx, const char *access_key_id)
{
	struct shared_creds *sc = ctx;
	tpq_creds_invalidate(sc->c, access_key_id);
}

static const char *env(const struct tpq_io_options *o, const char *name)
{
	const char *v = o->getenv_fn ? o->getenv_fn(o->getenv_ctx, name) : NULL;
	return v && *v ? v : NULL;
}

/* A bucket name that can be a host label under s3.REGION.amazonaws.com. */
static bool dns_bucket(const char *url)
{
	const char *b = url + 5, *end = strchr(b, '/');
	size_t n = end ? (size_t)(end - b) : strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (c != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

static void creds_options(const struct tpq_io_options *o, struct tpq_creds_options *co)
{
	tpq_creds_options_init(co);
	co->getenv_fn = o->getenv_fn;
	co->getenv_ctx = o->getenv_ctx;
	co->profile = o->profile;
}

enum tpq_status tpq_io_s3_resolve(const struct tpq_io_options *o, const char *url,
				  struct tpq_io_s3_settings *r, struct tpq_error *err)
{
	struct tpq_creds_options co;
	creds_options(o, &co);
	memset(r, 0, sizeof(*r));
	if (o->region && *o->region) {
		if (strlen(o->region) >= sizeof(r->region))
			return tpq_error_set(err, TPQ_EINVAL, "region '%.40s...' is too long",
					     o->region);
		snprintf(r->region, sizeof(r->region), "%s", o->region);
	} else {
		enum tpq_status st;
		st = tpq_creds_resolve_region(&co, r->region, sizeof(r->region), err);
		if (st == TPQ_ENOTFOUND) {
			if (err)
				tpq_error_clear(err);
			snprintf(r->region, sizeof(r->region), "us-east-1");
		} else if (st) {
			return st;
		}
	}
	const char *ep = NULL, *ep_from = NULL;
	if (o->endpoint && *o->endpoint)
		ep = o->endpoint, ep_from = "the endpoint option";
	else if ((ep = env(o, "AWS_ENDPOINT_URL_S3")))
		ep_from = "AWS_ENDPOINT_URL_S3";
	else if ((ep = env(o, "AWS_ENDPOINT_URL")))
		ep_from = "AWS_ENDPOINT_URL";
	if (ep) {
		size_t n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			n--;
		if (n == 0 || n >= sizeof(r->endpoint))
			return tpq_error_set(err, TPQ_EINVAL, "%s is empty or too long", ep_from);
		if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
			return tpq_error_set(err, TPQ_EINVAL, "%s: not an http(s):// URL", ep_from);
		memcpy(r->endpoint, ep, n);
		r->endpoint[n] = '\0';
	}
	const char *ca = o->ca_bundle && *o->ca_bundle ? o->ca_bundle : env(o, "AWS_CA_BUNDLE");
	if (ca && strlen(ca) >= sizeof(r->ca_bundle))
		return tpq_error_set(err, TPQ_EINVAL, "the CA bundle's path is too long");
	if (ca)
		snprintf(r->ca_bundle, sizeof(r->ca_bundle), "%s", ca);
	if (o->addressing == TPQ_IO_ADDRESS_AUTO)
		r->path_style = r->endpoint[0] || !dns_bucket(url);
	else
		r->path_style = o->addressing == TPQ_IO_ADDRESS_PATH;
	return TPQ_OK;
}

static enum tpq_status new_creds(const struct tpq_io_options *o, struct shared_creds **out,
				 struct tpq_error *err)
{
	struct tpq_creds_options co;
	creds_options(o, &co);
	struct shared_creds *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	enum tpq_status st = tpq_creds_new(&co, &sc->c, err);
	if (st) {
		free(sc);
		return st;
	}
	atomic_init(&sc->refs, 1);
	*out = sc;
	return TPQ_OK;
}

/* "s3://b/lake" as "s3://b/lake/": SRC and DST name folders, as local paths do
 * (the S3 vtables take a prefix as written, so "lake" would give keys such as
 * "lake_trailpq/lock"). NULL without memory. */
static char *folder_url(const char *url)
{
	const char *path = strchr(url + 5, '/');
	size_t n = strlen(url);
	bool add = path && path[1] && url[n - 1] != '/';
	char *u = malloc(n + 2);
	if (u)
		snprintf(u, n + 2, "%s%s", url, add ? "/" : "");
	return u;
}

static void s3_options(const struct tpq_io_options *o, const struct tpq_io_s3_settings *r,
		       struct shared_creds *sc, struct tpq_store_s3_options *so)
{
	tpq_store_s3_options_init(so);
	so->s3.region = r->region;
	so->s3.endpoint = r->endpoint[0] ? r->endpoint : NULL;
	so->s3.path_style = r->path_style;
	so->s3.get_creds = creds_get;
	so->s3.creds_ctx = sc;
	so->s3.creds_expired = creds_expired;
	so->s3.max_handles = o->concurrency ? o->concurrency : TPQ_IO_DEFAULT_CONCURRENCY;
	if (o->max_attempts)
		so->s3.http.max_attempts = o->max_attempts;
	if (o->base_delay_ms)
		so->s3.http.base_delay_ms = o->base_delay_ms;
	so->s3.http.ca_file = r->ca_bundle[0] ? r->ca_bundle : NULL; /* copied by the client */
	so->s3.http.verify_tls = !o->no_verify_tls;
	so->prefetch = o->prefetch > 32 ? 32 : o->prefetch;
	so->on_free = creds_unref;
	so->on_free_ctx = sc;
	atomic_fetch_add(&sc->refs, 1); /* the object's; on_free releases it */
}

enum tpq_status tpq_io_open(const char *src, const char *dst, const struct tpq_io_options *o,
			    struct tpq_source **src_out, struct tpq_store **dst_out,
			    struct tpq_error *err)
{
	struct tpq_io_options defaults;
	if (!o) {
		tpq_io_options_init(&defaults);
		o = &defaults;
	}
	if (src_out)
		*src_out = NULL;
	if (dst_out)
		*dst_out = NULL;
	struct shared_creds *sc = NULL;
	struct tpq_io_s3_settings r;
	struct tpq_store_s3_options so;
	struct tpq_source *source = NULL;
	struct tpq_store *store = NULL;
	enum tpq_status st = TPQ_OK;
	if ((src && tpq_io_is_s3(src)) || (dst && tpq_io_is_s3(dst))) {
		st = new_creds(o, &sc, err);
		if (st)
			return st;
	}
	if (src) {
		if (tpq_io_is_s3(src)) {
			st = tpq_io_s3_resolve(o, src, &r, err);
			if (st)
				goto out;
			s3_options(o, &r, sc, &so);
			char *u = folder_url(src);
			if (u) {
				source = tpq_source_s3_new(u, &so, err);
			} else {
				creds_unref(sc); /* the reference s3_options took for it */
				tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			}
			free(u);
		} else {
			source = tpq_source_local_new(src, err);
		}
		if (!source) {
			st = err && err->status ? err->status : TPQ_ENOMEM;
			goto out;
		}
	}
	if (dst) {
		if (tpq_io_is_s3(dst)) {
			st = tpq_io_s3_resolve(o, dst, &r, err);
			if (st)
				goto out;
			s3_options(o, &r, sc, &so);
			char *u = folder_url(dst);
			if (u) {
				store = tpq_store_s3_new(u, &so, err);
			} else {
				creds_unref(sc);
				tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			}
			free(u);
		} else {
			store = tpq_store_local_new(dst, err);
		}
		if (!store) {
			st = err && err->status ? err->status : TPQ_ENOMEM;
			goto out;
		}
	}
out:
	if (st && source) {
		source->free(source);
		source = NULL;
	}
	creds_unref(sc); /* the opener's reference */
	if (!st) {
		if (src_out)
			*src_out = source;
		if (dst_out)
			*dst_out = store;
	}
	return st;
}

struct tpq_source *tpq_source_open(const char *src, const struct tpq_io_options *o,
				   struct tpq_error *err)
{
	struct tpq_source *s = NULL;
	tpq_io_open(src, NULL, o, &s, NULL, err);
	return s;
}

struct tpq_store *tpq_store_open(const char *dst, const struct tpq_io_options *o,
				 struct tpq_error *err)
{
	struct tpq_store *s = NULL;
	tpq_io_open(NULL, dst, o, NULL, &s, err);
	return s;
}
