/* The S3 client (see s3.h for the contract and the conditional-write rule).
 *
 * Design: every call builds one `struct req` (method, bucket, key, query,
 * extra headers, body), and do_req turns it into a URL and hands it to
 * tpq_http_request with two hooks: prepare() fetches credentials and signs
 * each attempt afresh (new x-amz-date; refreshed credentials), retryable()
 * adds S3's throttling and transient error codes to the status-based policy,
 * also for a 200 whose body is an <Error> (CompleteMultipartUpload). The
 * payload hash is computed once per request, not per attempt. Answers are
 * parsed with expat through a small walker that reports each element's
 * path ("ListBucketResult/Contents/Key") and text at its end.
 *
 * The URL's path and query are encoded exactly as the canonical request
 * encodes them, and the Host header is set explicitly, so what curl sends is
 * what was signed (curl is told not to squash "/../" in keys either). */
#include <curl/curl.h>
#include <expat.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/s3.h"
#include "util/error.h"

#define MAX_QUERY 8
#define MAX_HEADERS 8
#define XML_MAX_DEPTH 16
#define XML_MAX_TEXT (64 << 10)
#define SMALL_BODY ((size_t)16 << 20) /* ceiling for XML answers */

struct tpq_s3 {
	char *region;
	char *scheme;     /* "http" or "https" */
	char *host;       /* endpoint host[:port] */
	int path_style;
	int hash_payload;
	tpq_s3_creds_fn get_creds;
	void *creds_ctx;
	void (*creds_expired)(void *ctx, const char *access_key_id);
	size_t part_size;
	struct tpq_http_options http;
	char *ca_file;    /* our copy: handles are made later, on demand */
	struct tpq_http_share *share;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tpq_http **idle;  /* handles not in use */
	size_t nidle, nlive, max_handles;
	struct tpq_http **all;
};

/* ---- small helpers ---- */

void tpq_s3_options_init(struct tpq_s3_options *o)
{
	memset(o, 0, sizeof(*o));
	o->sign_payload = -1;
	o->part_size = TPQ_S3_DEFAULT_PART;
	o->max_handles = 16;
	tpq_http_options_init(&o->http);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t tpq_s3_parse_time(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
	long frac_ns = 0;
	if (!s || !*s)
		return 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6) {
		const char *p = s + n;
		if (*p == '.') {
			long scale = 100000000;
			for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
				frac_ns += (*p - '0') * scale;
		}
		if (*p != 'Z')
			return 0;
	} else {
		char mon[4] = "";
		if (sscanf(s, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &d, mon, &y, &h, &mi, &sec) != 6)
			return 0;
		const char *m = strstr(months, mon);
		if (!m || strlen(mon) != 3 || (m - months) % 3)
			return 0;
		mo = (int)(m - months) / 3 + 1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return 0;
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return t * 1000000000 + frac_ns;
}

enum tpq_status tpq_s3_parse_url(const char *url, char *bucket, size_t bucket_cap, char *prefix,
				 size_t prefix_cap, struct tpq_error *err)
{
	if (strncmp(url, "s3://", 5) != 0)
		return tpq_error_set(err, TPQ_EINVAL, "not an s3:// URL: %s", url);
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t bl = slash ? (size_t)(slash - b) : strlen(b);
	const char *p = slash ? slash + 1 : "";
	if (bl == 0 || bl >= bucket_cap || strlen(p) >= prefix_cap)
		return tpq_error_set(err, TPQ_EINVAL, "bad s3:// URL (bucket name missing or too long): %s", url);
	memcpy(bucket, b, bl);
	bucket[bl] = '\0';
	strcpy(prefix, p);
	return TPQ_OK;
}

/* Appends s with & < > " ' escaped (XML text and attribute safe). */
static void xml_escape(struct tpq_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': tpq_buf_put(b, "&amp;", 5); break;
		case '<': tpq_buf_put(b, "&lt;", 4); break;
		case '>': tpq_buf_put(b, "&gt;", 4); break;
		case '"': tpq_buf_put(b, "&quot;", 6); break;
		case '\'': tpq_buf_put(b, "&apos;", 6); break;
		default: tpq_buf_put_u8(b, (uint8_t)*s);
		}
	}
}

static void put_str(struct tpq_buf *b, const char *s)
{
	tpq_buf_put(b, s, strlen(s));
}

/* "abc" or "\"abc\"" -> abc, for comparing ETags. */
static void etag_bare(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
		in++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

/* ---- XML walker over expat ---- */

typedef void (*xml_end_fn)(void *ctx, const char *path, const char *text, size_t len);

struct xml_walk {
	char path[512];
	size_t path_len[XML_MAX_DEPTH + 1];
	int depth;
	int too_deep;
	struct tpq_buf text;
	xml_end_fn on_end;
	void *ctx;
};

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_walk *w = ud;
	w->text.len = 0;
	if (w->depth >= XML_MAX_DEPTH) {
		w->too_deep++;
		w->depth++;
		return;
	}
	size_t at = w->path_len[w->depth];
	int n = snprintf(w->path + at, sizeof(w->path) - at, "%s%s", w->depth ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof(w->path) - at) {
		w->too_deep++;
		n = 0;
		w->path[at] = '\0';
	}
	w->depth++;
	w->path_len[w->depth] = at + (size_t)n;
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
	struct xml_walk *w = ud;
	if (w->depth > XML_MAX_DEPTH) {
		w->depth--;
		return;
	}
	tpq_buf_put_u8(&w->text, 0);
	if (!tpq_buf_status(&w->text) && w->on_end)
		w->on_end(w->ctx, w->path, (const char *)w->text.p, w->text.len - 1);
	w->text.len = 0;
	w->depth--;
	w->path[w->path_len[w->depth]] = '\0';
}

static void XMLCALL xml_chars(void *ud, const XML_Char *s, int len)
{
	struct xml_walk *w = ud;
	if (w->text.len + (size_t)len <= XML_MAX_TEXT)
		tpq_buf_put(&w->text, s, (size_t)len);
}

/* Parses (p, n), calling on_end for each element. TPQ_ECORRUPT when the
 * document is not well-formed (or nests deeper than we care for). */
static enum tpq_status xml_parse(const void *p, size_t n, xml_end_fn on_end, void *ctx)
{
	struct xml_walk w = {.on_end = on_end, .ctx = ctx};
	tpq_buf_init(&w.text);
	enum tpq_status st = TPQ_OK;
	XML_Parser xp = XML_ParserCreate(NULL);
	if (!xp)
		return TPQ_ENOMEM;
	XML_SetUserData(xp, &w);
	XML_SetElementHandler(xp, xml_start, xml_end);
	XML_SetCharacterDataHandler(xp, xml_chars);
	if (n > INT32_MAX || XML_Parse(xp, p, (int)n, 1) != XML_STATUS_OK || w.too_deep)
		st = TPQ_ECORRUPT;
	if (tpq_buf_status(&w.text))
		st = TPQ_ENOMEM;
	XML_ParserFree(xp);
	tpq_buf_release(&w.text);
	return st;
}

/* The root element's name (for "is this 200 an <Error>?"), without parsing
 * the whole document: skips the declaration, comments and whitespace. */
static int root_is(const struct tpq_buf *b, const char *name)
{
	const char *p = (const char *)b->p, *end = p + b->len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p >= end || *p != '<')
			return 0;
		if (p + 1 < end && (p[1] == '?' || p[1] == '!')) {
			const char *q = memchr(p, '>', (size_t)(end - p));
			if (!q)
				return 0;
			p = q + 1;
			continue;
		}
		size_t n = strlen(name);
		return (size_t)(end - p) > n + 1 && memcmp(p + 1, name, n) == 0 &&
		       (p[n + 1] == '>' || p[n + 1] == ' ' || p[n + 1] == '/' || p[n + 1] == '\n' ||
			p[n + 1] == '\r' || p[n + 1] == '\t');
	}
	return 0;
}

struct s3_error {
	char code[64];
	char message[256];
	char key[256];
};

static void error_end(void *ctx, const char *path, const char *text, size_t len)
{
	struct s3_error *e = ctx;
	if (strcmp(path, "Error/Code") == 0)
		snprintf(e->code, sizeof(e->code), "%s", text);
	else if (strcmp(path, "Error/Message") == 0)
		snprintf(e->message, sizeof(e->message), "%s", text);
}

static void parse_error(const struct tpq_buf *body, struct s3_error *e)
{
	memset(e, 0, sizeof(*e));
	if (body->len && root_is(body, "Error"))
		xml_parse(body->p, body->len, error_end, e);
}

static int code_retryable(const char *code)
{
	static const char *const codes[] = {
		"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
		"RequestTimeTooSkewed", "InternalError", "ServiceUnavailable",
		"RequestLimitExceeded", "TooManyRequestsException", "ExpiredToken",
		"TokenRefreshRequired",
		"ConditionalRequestConflict", "OperationAborted", "BandwidthLimitExceeded",
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* ---- the client ---- */

static enum tpq_status parse_endpoint(struct tpq_s3 *s, const char *ep, struct tpq_error *err)
{
	char def[128];
	if (!ep || !*ep) {
		snprintf(def, sizeof(def), "https://s3.%s.amazonaws.com", s->region);
		ep = def;
	}
	const char *sep = strstr(ep, "://");
	if (!sep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0))
		return tpq_error_set(err, TPQ_EINVAL, "S3 endpoint must start with http:// or https://: %s", ep);
	const char *host = sep + 3;
	size_t hl = strcspn(host, "/?#");
	if (hl == 0 || (host[hl] && strcmp(host + hl, "/") != 0) || strpbrk(host, "@ \r\n"))
		return tpq_error_set(err, TPQ_EINVAL, "S3 endpoint must be scheme://host[:port] without a path: %s", ep);
	s->scheme = strndup(ep, (size_t)(sep - ep));
	s->host = strndup(host, hl);
	if (!s->scheme || !s->host)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	return TPQ_OK;
}

struct tpq_s3 *tpq_s3_new(const struct tpq_s3_options *o, struct tpq_error *err)
{
	if (!o || !o->region || !o->region[0] || !o->get_creds) {
		tpq_error_set(err, TPQ_EINVAL, "S3 client: a region and a credentials callback are required");
		return NULL;
	}
	if (strpbrk(o->region, "/ \r\n") || strlen(o->region) > 64) {
		tpq_error_set(err, TPQ_EINVAL, "S3 client: bad region name: %s", o->region);
		return NULL;
	}
	if (o->part_size && o->part_size < TPQ_S3_MIN_PART) {
		tpq_error_set(err, TPQ_EINVAL, "S3 client: part size below S3's 5 MiB minimum");
		return NULL;
	}
	struct tpq_s3 *s = calloc(1, sizeof(*s));
	if (!s) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->region = strdup(o->region);
	if (!s->region) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto fail;
	}
	if (parse_endpoint(s, o->endpoint, err))
		goto fail;
	s->path_style = o->path_style;
	s->hash_payload = o->sign_payload < 0 ? strcmp(s->scheme, "http") == 0 : o->sign_payload;
	s->get_creds = o->get_creds;
	s->creds_expired = o->creds_expired;
	s->creds_ctx = o->creds_ctx;
	s->part_size = o->part_size ? o->part_size : TPQ_S3_DEFAULT_PART;
	s->http = o->http;
	if (s->http.max_attempts == 0)
		tpq_http_options_init(&s->http); /* a zeroed struct: take the defaults */
	s->max_handles = o->max_handles ? o->max_handles : 16;
	s->idle = calloc(s->max_handles, sizeof(*s->idle));
	s->all = calloc(s->max_handles, sizeof(*s->all));
	if (!s->idle || !s->all) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto fail;
	}
	s->share = tpq_http_share_new(err);
	if (!s->share)
		goto fail;
	s->http.share = s->share;
	/* Handles are made on demand, long after this call: keep our own copy of
	 * the CA file name (each handle copies it again). */
	if (s->http.ca_file && !(s->http.ca_file = s->ca_file = strdup(s->http.ca_file))) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto fail;
	}
	return s;
fail:
	tpq_s3_free(s);
	return NULL;
}

void tpq_s3_free(struct tpq_s3 *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nlive; i++)
		tpq_http_free(s->all[i]);
	tpq_http_share_free(s->share);
	free(s->idle);
	free(s->all);
	free(s->region);
	free(s->scheme);
	free(s->host);
	free(s->ca_file);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

size_t tpq_s3_part_size(const struct tpq_s3 *s)
{
	return s->part_size;
}

void tpq_s3_stats(struct tpq_s3 *s, struct tpq_http_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nlive; i++) {
		struct tpq_http_stats one;
		tpq_http_stats(s->all[i], &one);
		out->requests += one.requests;
		out->attempts += one.attempts;
		out->retries += one.retries;
		out->bytes_in += one.bytes_in;
		out->bytes_out += one.bytes_out;
	}
	pthread_mutex_unlock(&s->mu);
}

static struct tpq_http *take_handle(struct tpq_s3 *s, struct tpq_error *err)
{
	struct tpq_http *h = NULL;
	pthread_mutex_lock(&s->mu);
	while (s->nidle == 0 && s->nlive == s->max_handles)
		pthread_cond_wait(&s->cv, &s->mu);
	if (s->nidle) {
		h = s->idle[--s->nidle];
	} else {
		h = tpq_http_new(&s->http, err);
		if (h)
			s->all[s->nlive++] = h;
	}
	pthread_mutex_unlock(&s->mu);
	return h;
}

static void give_handle(struct tpq_s3 *s, struct tpq_http *h)
{
	pthread_mutex_lock(&s->mu);
	s->idle[s->nidle++] = h;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* ---- one request ---- */

struct req {
	struct tpq_s3 *s;
	const char *method;
	const char *bucket;
	const char *key;        /* NULL for bucket-level requests */
	struct tpq_sigv4_pair query[MAX_QUERY];
	size_t nquery;
	struct tpq_sigv4_pair headers[MAX_HEADERS];  /* sent and signed */
	size_t nheaders;
	const void *body;
	size_t body_len;
	size_t max_body;
	int error_in_200;       /* a 200 may carry an <Error> (CompleteMultipartUpload) */
	/* Filled by do_req. */
	char host[320];
	char payload_hash[65];
	const char *path;       /* unencoded, for signing */
	char what[600];
	char access_key_id[128]; /* the last attempt's (not a secret), for creds_expired */
};

static void add_query(struct req *r, const char *name, const char *value)
{
	r->query[r->nquery].name = name;
	r->query[r->nquery++].value = value;
}

static void add_header(struct req *r, const char *name, const char *value)
{
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders++].value = value;
}

static enum tpq_status prepare(void *ctx, unsigned attempt, struct tpq_http_headers *h,
			       struct tpq_error *err)
{
	struct req *r = ctx;
	struct tpq_s3_credentials *c = malloc(sizeof(*c));
	if (!c)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	memset(c, 0, sizeof(*c));
	enum tpq_status st = r->s->get_creds(r->s->creds_ctx, c, err);
	if (st) {
		tpq_error_set(err, st, "%s: no credentials", r->what);
		goto out;
	}
	memcpy(r->access_key_id, c->access_key_id, sizeof(r->access_key_id));
	struct tpq_sigv4_request sr = {
		.method = r->method, .host = r->host, .path = r->path,
		.query = r->query, .nquery = r->nquery,
		.headers = r->headers, .nheaders = r->nheaders,
		.payload_hash = r->payload_hash,
	};
	struct tpq_sigv4_result sig;
	st = tpq_sigv4_sign(&sr, c, r->s->region, "s3", time(NULL), &sig, err);
	if (st)
		goto out;
	int bad = 0;
	bad |= tpq_http_headers_add(h, "Host", r->host);
	bad |= tpq_http_headers_add(h, "x-amz-date", sig.amz_date);
	bad |= tpq_http_headers_add(h, "x-amz-content-sha256", r->payload_hash);
	if (c->session_token[0])
		bad |= tpq_http_headers_add(h, "x-amz-security-token", c->session_token);
	bad |= tpq_http_headers_add(h, "Authorization", sig.authorization);
	for (size_t i = 0; i < r->nheaders; i++)
		bad |= tpq_http_headers_add(h, r->headers[i].name, r->headers[i].value);
	if (bad)
		st = tpq_error_set(err, TPQ_EINVAL, "%s: a header value is not valid", r->what);
	OPENSSL_cleanse(&sig, sizeof(sig));
out:
	tpq_s3_credentials_wipe(c);
	free(c);
	return st;
}

static int retryable(void *ctx, const struct tpq_http_response *resp)
{
	struct req *r = ctx;
	if (tpq_http_status_retryable(resp->status))
		return 1;
	if (resp->status >= 400 || (resp->status == 200 && r->error_in_200)) {
		struct s3_error e;
		parse_error(&resp->body, &e);
		if (r->s->creds_expired && r->access_key_id[0] &&
		    (!strcmp(e.code, "ExpiredToken") || !strcmp(e.code, "TokenRefreshRequired")))
			r->s->creds_expired(r->s->creds_ctx, r->access_key_id);
		return e.code[0] && code_retryable(e.code);
	}
	return 0;
}

/* Runs r; resp receives the final response. Transport failures come back as
 * errors; any HTTP answer as TPQ_OK (check_answer judges it). */
static enum tpq_status do_req(struct req *r, struct tpq_http_response *resp,
			      struct tpq_error *err)
{
	struct tpq_s3 *s = r->s;
	enum tpq_status st = TPQ_OK;
	struct tpq_buf path, url;
	tpq_buf_init(&path);
	tpq_buf_init(&url);

	if (!r->bucket || !r->bucket[0] || strchr(r->bucket, '/')) {
		st = tpq_error_set(err, TPQ_EINVAL, "%s: bad bucket name", r->method);
		goto out;
	}
	snprintf(r->what, sizeof(r->what), "%s s3://%s/%s", r->method, r->bucket,
		 r->key ? r->key : "");
	if (s->path_style) {
		snprintf(r->host, sizeof(r->host), "%s", s->host);
		put_str(&path, "/");
		put_str(&path, r->bucket);
		if (r->key) {
			tpq_buf_put_u8(&path, '/');
			put_str(&path, r->key);
		}
	} else {
		int n = snprintf(r->host, sizeof(r->host), "%s.%s", r->bucket, s->host);
		if (n < 0 || (size_t)n >= sizeof(r->host)) {
			st = tpq_error_set(err, TPQ_EINVAL, "%s: bucket name too long", r->what);
			goto out;
		}
		put_str(&path, "/");
		if (r->key)
			put_str(&path, r->key);
	}
	tpq_buf_put_u8(&path, 0);

	put_str(&url, s->scheme);
	put_str(&url, "://");
	put_str(&url, r->host);
	if (path.p)
		tpq_sigv4_uri_encode(&url, (const char *)path.p, path.len - 1, 1);
	for (size_t i = 0; i < r->nquery; i++) {
		tpq_buf_put_u8(&url, i ? '&' : '?');
		tpq_sigv4_uri_encode(&url, r->query[i].name, strlen(r->query[i].name), 0);
		if (r->query[i].value && r->query[i].value[0]) {
			tpq_buf_put_u8(&url, '=');
			tpq_sigv4_uri_encode(&url, r->query[i].value, strlen(r->query[i].value), 0);
		}
	}
	tpq_buf_put_u8(&url, 0);
	if (tpq_buf_status(&path) || tpq_buf_status(&url)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", r->what);
		goto out;
	}
	r->path = (const char *)path.p;

	if (!r->body_len)
		snprintf(r->payload_hash, sizeof(r->payload_hash), "%s", TPQ_SIGV4_EMPTY_SHA256);
	else if (s->hash_payload)
		tpq_sha256_hex(r->body, r->body_len, r->payload_hash);
	else
		snprintf(r->payload_hash, sizeof(r->payload_hash), "%s", TPQ_SIGV4_UNSIGNED_PAYLOAD);

	struct tpq_http_request hr = {
		.method = r->method, .url = (const char *)url.p, .what = r->what,
		.body = r->body, .body_len = r->body_len,
		.max_body = r->max_body ? r->max_body : SMALL_BODY,
		.prepare = prepare, .retryable = retryable, .ctx = r,
	};
	struct tpq_http *h = take_handle(s, err);
	if (!h) {
		st = err ? err->status : TPQ_ENOMEM;
		goto out;
	}
	st = tpq_http_request(h, &hr, resp, err);
	give_handle(s, h);
	if (st) {
		char where[512];
		snprintf(where, sizeof(where), "s3://%s/%s", r->bucket, r->key ? r->key : "");
		tpq_error_where(err, where);
	}
out:
	r->path = NULL;
	tpq_buf_release(&path);
	tpq_buf_release(&url);
	return st;
}

/* Judges a response: 2xx (without an embedded <Error>) is TPQ_OK; else the
 * error is reported with method, bucket, key, status, Code and Message. */
static enum tpq_status check_answer(const struct req *r, const struct tpq_http_response *resp,
				    struct tpq_error *err)
{
	int ok = resp->status >= 200 && resp->status < 300;
	if (ok && !(r->error_in_200 && root_is(&resp->body, "Error")))
		return TPQ_OK;
	struct s3_error e;
	parse_error(&resp->body, &e);
	enum tpq_status st = TPQ_EIO;
	if (resp->status == 404 &&
	    (!e.code[0] || strcmp(e.code, "NoSuchKey") == 0 || strcmp(e.code, "NoSuchBucket") == 0 ||
	     strcmp(e.code, "NoSuchUpload") == 0))
		st = TPQ_ENOTFOUND;
	else if (resp->status == 412)
		st = TPQ_EEXIST;
	const char *code = e.code[0] ? e.code
			 : resp->status == 404 ? "NotFound"
			 : resp->status == 403 ? "Forbidden"
			 : resp->status == 412 ? "PreconditionFailed" : "(no code)";
	const char *hint = "";
	if (resp->status == 403)
		hint = " (check the credentials, the region and the bucket policy)";
	else if (resp->status == 301 || strcmp(code, "AuthorizationHeaderMalformed") == 0)
		hint = " (the bucket may be in another region)";
	char where[512];
	snprintf(where, sizeof(where), "s3://%s/%s", r->bucket, r->key ? r->key : "");
	tpq_error_where(err, where);
	return tpq_error_set(err, st, "%s: HTTP %ld %s: %s%s (request id %s, %u attempt%s)", r->what,
			     resp->status, code, e.message[0] ? e.message : "no message", hint,
			     resp->request_id[0] ? resp->request_id : "none", resp->attempts,
			     resp->attempts == 1 ? "" : "s");
}

static enum tpq_status simple(struct req *r, struct tpq_http_response *resp,
			      struct tpq_error *err)
{
	enum tpq_status st = do_req(r, resp, err);
	return st ? st : check_answer(r, resp, err);
}

/* ---- ListObjectsV2 ---- */

struct list_entry {
	size_t key;             /* offsets into the page's arena */
	size_t etag, last_modified;
	uint64_t size;
	int is_prefix;
};

struct list_page {
	struct tpq_buf arena;
	struct list_entry *e;
	size_t n, cap;
	struct list_entry cur;
	int in_contents;
	int truncated;
	int url_encoded;
	char token[1024];
	int token_too_long;
	int oom;
};

static size_t arena_put(struct list_page *pg, const char *s, size_t n)
{
	size_t at = pg->arena.len;
	tpq_buf_put(&pg->arena, s, n);
	tpq_buf_put_u8(&pg->arena, 0);
	return at;
}

static void push_entry(struct list_page *pg)
{
	if (pg->n == pg->cap) {
		size_t nc = pg->cap ? pg->cap * 2 : 256;
		struct list_entry *ne = realloc(pg->e, nc * sizeof(*ne));
		if (!ne) {
			pg->oom = 1;
			return;
		}
		pg->e = ne;
		pg->cap = nc;
	}
	pg->e[pg->n++] = pg->cur;
}

/* Entries without an ETag or LastModified point at an empty string. */
static void reset_entry(struct list_page *pg)
{
	memset(&pg->cur, 0, sizeof(pg->cur));
	pg->cur.etag = pg->cur.last_modified = arena_put(pg, "", 0);
}

static void list_end(void *ctx, const char *path, const char *text, size_t len)
{
	struct list_page *pg = ctx;
	if (strncmp(path, "ListBucketResult/", 17) != 0)
		return;
	path += 17;
	if (strcmp(path, "Contents/Key") == 0) {
		pg->cur.key = arena_put(pg, text, len);
	} else if (strcmp(path, "Contents/Size") == 0) {
		pg->cur.size = strtoull(text, NULL, 10);
	} else if (strcmp(path, "Contents/ETag") == 0) {
		pg->cur.etag = arena_put(pg, text, len);
	} else if (strcmp(path, "Contents/LastModified") == 0) {
		pg->cur.last_modified = arena_put(pg, text, len);
	} else if (strcmp(path, "Contents") == 0) {
		push_entry(pg);
		reset_entry(pg);
	} else if (strcmp(path, "CommonPrefixes/Prefix") == 0) {
		reset_entry(pg);
		pg->cur.key = arena_put(pg, text, len);
		pg->cur.is_prefix = 1;
		push_entry(pg);
		reset_entry(pg);
	} else if (strcmp(path, "IsTruncated") == 0) {
		pg->truncated = strcmp(text, "true") == 0;
	} else if (strcmp(path, "NextContinuationToken") == 0) {
		if (len >= sizeof(pg->token))
			pg->token_too_long = 1;
		else
			memcpy(pg->token, text, len + 1);
	} else if (strcmp(path, "EncodingType") == 0) {
		pg->url_encoded = strcmp(text, "url") == 0;
	}
}

/* Decodes %XY and '+' in place (S3's encoding-type=url answers). */
static void url_decode(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*w++ = ' ';
		} else if (*p == '%' && p[1] && p[2]) {
			char hex[3] = {p[1], p[2], 0}, *e;
			long v = strtol(hex, &e, 16);
			if (*e) {
				*w++ = *p;
				continue;
			}
			*w++ = (char)v;
			p += 2;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static int entry_cmp(const void *a, const void *b, const char *base)
{
	const struct list_entry *x = a, *y = b;
	return strcmp(base + x->key, base + y->key);
}

enum tpq_status tpq_s3_list(struct tpq_s3 *s, const char *bucket,
			    const struct tpq_s3_list_options *lo, tpq_s3_list_fn fn, void *ctx,
			    struct tpq_error *err)
{
	static const struct tpq_s3_list_options none = {0};
	if (!lo)
		lo = &none;
	enum tpq_status st = TPQ_OK;
	struct list_page pg = {0};
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	tpq_buf_init(&pg.arena);
	char max_keys[16], token[1024] = "";
	snprintf(max_keys, sizeof(max_keys), "%u", lo->max_keys);

	for (unsigned page = 0;; page++) {
		struct req r = {.s = s, .method = "GET", .bucket = bucket};
		add_query(&r, "list-type", "2");
		add_query(&r, "encoding-type", "url");
		if (lo->prefix && lo->prefix[0])
			add_query(&r, "prefix", lo->prefix);
		if (lo->delimiter && lo->delimiter[0])
			add_query(&r, "delimiter", lo->delimiter);
		if (lo->max_keys)
			add_query(&r, "max-keys", max_keys);
		if (page == 0 && lo->start_after && lo->start_after[0])
			add_query(&r, "start-after", lo->start_after);
		if (page > 0)
			add_query(&r, "continuation-token", token);
		st = simple(&r, &resp, err);
		if (st)
			goto out;

		tpq_buf_reset(&pg.arena);
		pg.n = 0;
		pg.truncated = pg.url_encoded = pg.token_too_long = pg.oom = 0;
		pg.token[0] = '\0';
		reset_entry(&pg);
		st = xml_parse(resp.body.p, resp.body.len, list_end, &pg);
		if (!st && (pg.oom || tpq_buf_status(&pg.arena)))
			st = TPQ_ENOMEM;
		if (!st && !root_is(&resp.body, "ListBucketResult"))
			st = TPQ_ECORRUPT;
		if (!st && pg.truncated && (!pg.token[0] || pg.token_too_long))
			st = TPQ_ECORRUPT;
		if (st) {
			tpq_error_set(err, st, "%s: the listing (page %u) is not a valid ListBucketResult",
				      r.what, page + 1);
			goto out;
		}
		char *base = (char *)pg.arena.p;
		if (pg.url_encoded)
			for (size_t i = 0; i < pg.n; i++)
				url_decode(base + pg.e[i].key);
		/* Contents and CommonPrefixes each come sorted; merge them (an
		 * insertion merge: the lists are already in order). */
		for (size_t i = 1; i < pg.n; i++) {
			struct list_entry x = pg.e[i];
			size_t j = i;
			while (j > 0 && entry_cmp(&pg.e[j - 1], &x, base) > 0) {
				pg.e[j] = pg.e[j - 1];
				j--;
			}
			pg.e[j] = x;
		}
		for (size_t i = 0; i < pg.n; i++) {
			const struct list_entry *e = &pg.e[i];
			struct tpq_s3_object o = {
				.key = base + e->key, .size = e->size, .etag = base + e->etag,
				.last_modified = base + e->last_modified,
				.mtime_ns = tpq_s3_parse_time(base + e->last_modified),
				.is_prefix = e->is_prefix,
			};
			if (fn(ctx, &o))
				goto out;
		}
		if (!pg.truncated)
			break;
		memcpy(token, pg.token, sizeof(token));
	}
out:
	free(pg.e);
	tpq_buf_release(&pg.arena);
	tpq_http_response_release(&resp);
	return st;
}

/* ---- GetObject / HeadObject ---- */

static void fill_head(struct tpq_s3_head *h, const struct tpq_http_response *resp, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->size = size;
	snprintf(h->etag, sizeof(h->etag), "%s", resp->etag);
	snprintf(h->last_modified, sizeof(h->last_modified), "%s", resp->last_modified);
	h->mtime_ns = tpq_s3_parse_time(resp->last_modified);
}

enum tpq_status tpq_s3_get(struct tpq_s3 *s, const char *bucket, const char *key, size_t max,
			   struct tpq_buf *out, struct tpq_s3_head *info, struct tpq_error *err)
{
	struct req r = {.s = s, .method = "GET", .bucket = bucket, .key = key};
	r.max_body = max ? max : (size_t)4 << 30;
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	tpq_buf_reset(out);
	enum tpq_status st = simple(&r, &resp, err);
	if (!st) {
		/* Hand the body over without a copy. */
		struct tpq_buf t = *out;
		*out = resp.body;
		resp.body = t;
		if (info)
			fill_head(info, &resp, out->len);
	}
	tpq_http_response_release(&resp);
	return st;
}

enum tpq_status tpq_s3_get_range(struct tpq_s3 *s, const char *bucket, const char *key,
				 uint64_t offset, size_t len, struct tpq_buf *out, uint64_t *total,
				 struct tpq_error *err)
{
	tpq_buf_reset(out);
	if (len == 0)
		return TPQ_OK;
	char range[64];
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	struct req r = {.s = s, .method = "GET", .bucket = bucket, .key = key};
	add_header(&r, "Range", range);
	/* Room for an error document; a 206 longer than asked is refused below. */
	r.max_body = len > 65536 ? len : 65536;
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = do_req(&r, &resp, err);
	if (st)
		goto out;
	if (resp.status == 416) {
		/* Past the end: nothing to read. */
		goto out;
	}
	st = check_answer(&r, &resp, err);
	if (st)
		goto out;
	if (resp.body.len > len) {
		st = tpq_error_set(err, TPQ_EIO, "%s: %zu bytes for a %zu-byte range", r.what,
				   resp.body.len, len);
		goto out;
	}
	if (resp.status == 206) {
		const char *slash = strrchr(resp.content_range, '/');
		if (total && slash && slash[1] != '*')
			*total = strtoull(slash + 1, NULL, 10);
	} else if (resp.status == 200 && offset == 0) {
		/* A whole object that fit in len: the server ignored Range. */
		if (total)
			*total = resp.body.len;
	} else {
		st = tpq_error_set(err, TPQ_EIO, "%s: HTTP %ld to a Range request", r.what, resp.status);
		goto out;
	}
	struct tpq_buf t = *out;
	*out = resp.body;
	resp.body = t;
out:
	tpq_http_response_release(&resp);
	return st;
}

enum tpq_status tpq_s3_head(struct tpq_s3 *s, const char *bucket, const char *key,
			    struct tpq_s3_head *out, struct tpq_error *err)
{
	struct req r = {.s = s, .method = "HEAD", .bucket = bucket, .key = key};
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = simple(&r, &resp, err);
	if (!st)
		fill_head(out, &resp, resp.content_length >= 0 ? (uint64_t)resp.content_length : 0);
	tpq_http_response_release(&resp);
	return st;
}

/* ---- PutObject ---- */

/* After a 412 (or a NoSuchUpload to Complete) that followed an attempt which
 * may have been carried out: is the object now ours? (s3.h's rule.) */
static int landed_as_ours(struct tpq_s3 *s, const char *bucket, const char *key,
			  const char *etag1, const char *etag2)
{
	struct tpq_s3_head h;
	if (tpq_s3_head(s, bucket, key, &h, NULL) != TPQ_OK)
		return 0;
	char bare[128];
	etag_bare(h.etag, bare, sizeof(bare));
	return (etag1 && strcasecmp(bare, etag1) == 0) || (etag2 && strcasecmp(bare, etag2) == 0);
}

static void add_conditions(struct req *r, const struct tpq_s3_put_options *po, char *match,
			   size_t cap)
{
	if (!po)
		return;
	if (po->flags & TPQ_S3_IF_NONE_MATCH)
		add_header(r, "If-None-Match", "*");
	if ((po->flags & TPQ_S3_IF_MATCH) && po->if_match_etag) {
		char bare[128];
		etag_bare(po->if_match_etag, bare, sizeof(bare));
		snprintf(match, cap, "\"%s\"", bare);
		add_header(r, "If-Match", match);
	}
}

enum tpq_status tpq_s3_put(struct tpq_s3 *s, const char *bucket, const char *key, const void *p,
			   size_t n, const struct tpq_s3_put_options *po, char *etag_out,
			   struct tpq_error *err)
{
	uint8_t md5[16];
	char md5_b64[32], md5_hex[33], match[140];
	tpq_md5(p, n, md5);
	tpq_base64(md5, 16, md5_b64);
	tpq_md5_hex(p, n, md5_hex);

	struct req r = {.s = s, .method = "PUT", .bucket = bucket, .key = key, .body = p,
			.body_len = n};
	add_header(&r, "Content-MD5", md5_b64);
	add_header(&r, "Content-Type",
		   po && po->content_type ? po->content_type : "application/octet-stream");
	add_conditions(&r, po, match, sizeof(match));
	if (po && (po->flags & TPQ_S3_IF_MATCH) && !po->if_match_etag)
		return tpq_error_set(err, TPQ_EINVAL, "PUT s3://%s/%s: If-Match without an ETag",
				     bucket, key);

	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = do_req(&r, &resp, err);
	if (st)
		goto out;
	/* Any 412, not only after a retry of ours: curl itself resends a request
	 * whose reused connection died before an answer, unseen by us. */
	if (resp.status == 412 && landed_as_ours(s, bucket, key, md5_hex, NULL)) {
		/* Our own earlier attempt created the object: a success. */
		if (etag_out)
			snprintf(etag_out, 128, "\"%s\"", md5_hex);
		goto out;
	}
	st = check_answer(&r, &resp, err);
	if (st == TPQ_EEXIST && resp.earlier_attempt_may_have_applied && err)
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			 "; an earlier attempt may have been ours, but the object's ETag is not ours");
	if (!st && etag_out)
		snprintf(etag_out, 128, "%s", resp.etag);
out:
	tpq_http_response_release(&resp);
	return st;
}

/* ---- multipart ---- */

struct part {
	uint8_t md5[16];
	char etag[128];
};

struct tpq_s3_upload {
	struct tpq_s3 *s;
	char *bucket, *key, *upload_id;
	struct tpq_s3_put_options po;
	char *if_match;
	struct part *parts;
	unsigned nparts, cap;
	EVP_MD_CTX *whole;       /* MD5 of all bytes (the ETag of some S3-compatible stores) */
	int done;                /* completed or aborted */
	enum tpq_status failed;
	struct tpq_error first_err;
};

static void init_end(void *ctx, const char *path, const char *text, size_t len)
{
	char **id = ctx;
	if (strcmp(path, "InitiateMultipartUploadResult/UploadId") == 0 && !*id)
		*id = strndup(text, len);
}

static void abort_upload(struct tpq_s3_upload *u)
{
	if (u->done || !u->upload_id)
		return;
	u->done = 1;
	struct req r = {.s = u->s, .method = "DELETE", .bucket = u->bucket, .key = u->key};
	add_query(&r, "uploadId", u->upload_id);
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	/* Best effort: if it fails, a lifecycle rule is the last resort. */
	do_req(&r, &resp, NULL);
	tpq_http_response_release(&resp);
}

static enum tpq_status upload_fail(struct tpq_s3_upload *u, enum tpq_status st,
				   struct tpq_error *err)
{
	abort_upload(u);
	if (!u->failed) {
		u->failed = st;
		if (err)
			u->first_err = *err;
	}
	return st;
}

enum tpq_status tpq_s3_upload_new(struct tpq_s3 *s, const char *bucket, const char *key,
				  const struct tpq_s3_put_options *po,
				  struct tpq_s3_upload **out, struct tpq_error *err)
{
	*out = NULL;
	struct tpq_s3_upload *u = calloc(1, sizeof(*u));
	if (!u)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	u->s = s;
	u->bucket = strdup(bucket);
	u->key = strdup(key);
	u->whole = EVP_MD_CTX_new();
	if (po) {
		u->po = *po;
		if (po->if_match_etag && !(u->if_match = strdup(po->if_match_etag)))
			goto nomem;
		u->po.if_match_etag = u->if_match;
		u->po.content_type = NULL;
	}
	if (!u->bucket || !u->key || !u->whole || !EVP_DigestInit_ex(u->whole, EVP_md5(), NULL))
		goto nomem;

	struct req r = {.s = s, .method = "POST", .bucket = bucket, .key = key};
	add_query(&r, "uploads", "");
	add_header(&r, "Content-Type",
		   po && po->content_type ? po->content_type : "application/octet-stream");
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = simple(&r, &resp, err);
	if (!st && (xml_parse(resp.body.p, resp.body.len, init_end, &u->upload_id) || !u->upload_id))
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: no UploadId in the answer", r.what);
	tpq_http_response_release(&resp);
	if (st) {
		tpq_s3_upload_free(u);
		return st;
	}
	*out = u;
	return TPQ_OK;
nomem:
	tpq_s3_upload_free(u);
	return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
}

unsigned tpq_s3_upload_parts(const struct tpq_s3_upload *u)
{
	return u->nparts;
}

static enum tpq_status refuse_after_failure(struct tpq_s3_upload *u, struct tpq_error *err)
{
	if (err && err->status == TPQ_OK)
		*err = u->first_err;
	return tpq_error_set(err, u->failed ? u->failed : TPQ_EINVAL,
			     "upload of s3://%s/%s is already %s", u->bucket, u->key,
			     u->failed ? "aborted" : "finished");
}

enum tpq_status tpq_s3_upload_part(struct tpq_s3_upload *u, const void *p, size_t n,
				   struct tpq_error *err)
{
	if (u->failed || u->done)
		return refuse_after_failure(u, err);
	if (u->nparts >= TPQ_S3_MAX_PARTS)
		return upload_fail(u, tpq_error_set(err, TPQ_ELIMIT,
						    "s3://%s/%s: more than %d parts", u->bucket,
						    u->key, TPQ_S3_MAX_PARTS), err);
	if (u->nparts == u->cap) {
		unsigned nc = u->cap ? u->cap * 2 : 16;
		struct part *np = realloc(u->parts, nc * sizeof(*np));
		if (!np)
			return upload_fail(u, tpq_error_set(err, TPQ_ENOMEM, "out of memory"), err);
		u->parts = np;
		u->cap = nc;
	}
	struct part *pt = &u->parts[u->nparts];
	char b64[32], num[16];
	tpq_md5(p, n, pt->md5);
	tpq_base64(pt->md5, 16, b64);
	snprintf(num, sizeof(num), "%u", u->nparts + 1);

	struct req r = {.s = u->s, .method = "PUT", .bucket = u->bucket, .key = u->key, .body = p,
			.body_len = n};
	add_query(&r, "partNumber", num);
	add_query(&r, "uploadId", u->upload_id);
	add_header(&r, "Content-MD5", b64);
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = simple(&r, &resp, err);
	if (!st && !resp.etag[0])
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s part %s: no ETag in the answer", r.what, num);
	if (!st) {
		snprintf(pt->etag, sizeof(pt->etag), "%s", resp.etag);
		EVP_DigestUpdate(u->whole, p, n);
		u->nparts++;
	}
	tpq_http_response_release(&resp);
	return st ? upload_fail(u, st, err) : TPQ_OK;
}

struct complete_answer {
	char etag[128];
};

static void complete_end(void *ctx, const char *path, const char *text, size_t len)
{
	struct complete_answer *a = ctx;
	if (strcmp(path, "CompleteMultipartUploadResult/ETag") == 0)
		snprintf(a->etag, sizeof(a->etag), "%s", text);
}

enum tpq_status tpq_s3_upload_complete(struct tpq_s3_upload *u, const void *p, size_t n,
				       char *etag_out, struct tpq_error *err)
{
	if (u->failed || u->done)
		return refuse_after_failure(u, err);
	enum tpq_status st = TPQ_OK;
	if (n > 0 || u->nparts == 0) {
		st = tpq_s3_upload_part(u, p, n, err);
		if (st)
			return st;
	}
	/* The two ETags the finished object may carry (s3.h's rule). */
	char aws_etag[48], whole_etag[33];
	{
		uint8_t all[16], d[16];
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		unsigned int l = 16;
		if (!m) {
			return upload_fail(u, tpq_error_set(err, TPQ_ENOMEM, "out of memory"), err);
		}
		EVP_DigestInit_ex(m, EVP_md5(), NULL);
		for (unsigned i = 0; i < u->nparts; i++)
			EVP_DigestUpdate(m, u->parts[i].md5, 16);
		EVP_DigestFinal_ex(m, d, &l);
		EVP_MD_CTX_free(m);
		char hex[33];
		static const char digits[] = "0123456789abcdef";
		for (int i = 0; i < 16; i++) {
			hex[2 * i] = digits[d[i] >> 4];
			hex[2 * i + 1] = digits[d[i] & 15];
		}
		hex[32] = '\0';
		snprintf(aws_etag, sizeof(aws_etag), "%s-%u", hex, u->nparts);
		l = 16;
		EVP_DigestFinal_ex(u->whole, all, &l);
		for (int i = 0; i < 16; i++) {
			whole_etag[2 * i] = digits[all[i] >> 4];
			whole_etag[2 * i + 1] = digits[all[i] & 15];
		}
		whole_etag[32] = '\0';
	}

	struct tpq_buf body;
	tpq_buf_init(&body);
	put_str(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (unsigned i = 0; i < u->nparts; i++) {
		char num[16];
		snprintf(num, sizeof(num), "%u", i + 1);
		put_str(&body, "<Part><PartNumber>");
		put_str(&body, num);
		put_str(&body, "</PartNumber><ETag>");
		xml_escape(&body, u->parts[i].etag);
		put_str(&body, "</ETag></Part>");
	}
	put_str(&body, "</CompleteMultipartUpload>");
	if (tpq_buf_status(&body)) {
		tpq_buf_release(&body);
		return upload_fail(u, tpq_error_set(err, TPQ_ENOMEM, "out of memory"), err);
	}

	char match[140];
	struct req r = {.s = u->s, .method = "POST", .bucket = u->bucket, .key = u->key,
			.body = body.p, .body_len = body.len, .error_in_200 = 1};
	add_query(&r, "uploadId", u->upload_id);
	add_header(&r, "Content-Type", "application/xml");
	add_conditions(&r, &u->po, match, sizeof(match));
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	st = do_req(&r, &resp, err);
	if (!st) {
		int lost_race = resp.status == 412 || resp.status == 404;
		if (lost_race && landed_as_ours(u->s, u->bucket, u->key, aws_etag, whole_etag)) {
			u->done = 1; /* an earlier attempt completed it */
			if (etag_out)
				snprintf(etag_out, 128, "\"%s\"", aws_etag);
			goto out;
		}
		st = check_answer(&r, &resp, err);
	}
	if (!st) {
		struct complete_answer a = {""};
		if (xml_parse(resp.body.p, resp.body.len, complete_end, &a) || !a.etag[0])
			st = tpq_error_set(err, TPQ_ECORRUPT, "%s: the completion answer has no ETag",
					   r.what);
		else if (etag_out)
			snprintf(etag_out, 128, "%s", a.etag);
	}
	if (st)
		upload_fail(u, st, err);
	else
		u->done = 1;
out:
	tpq_http_response_release(&resp);
	tpq_buf_release(&body);
	return st;
}

void tpq_s3_upload_free(struct tpq_s3_upload *u)
{
	if (!u)
		return;
	abort_upload(u);
	EVP_MD_CTX_free(u->whole);
	free(u->parts);
	free(u->bucket);
	free(u->key);
	free(u->upload_id);
	free(u->if_match);
	free(u);
}

/* ---- deletes ---- */

enum tpq_status tpq_s3_delete(struct tpq_s3 *s, const char *bucket, const char *key,
			      struct tpq_error *err)
{
	struct req r = {.s = s, .method = "DELETE", .bucket = bucket, .key = key};
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = do_req(&r, &resp, err);
	if (!st && resp.status != 404) /* some stores answer 404 for an absent key */
		st = check_answer(&r, &resp, err);
	tpq_http_response_release(&resp);
	return st;
}

struct delete_answer {
	size_t failed;
	struct s3_error cur, first;
	int have_first;
};

static void delete_end(void *ctx, const char *path, const char *text, size_t len)
{
	struct delete_answer *a = ctx;
	if (strcmp(path, "DeleteResult/Error/Key") == 0)
		snprintf(a->cur.key, sizeof(a->cur.key), "%s", text);
	else if (strcmp(path, "DeleteResult/Error/Code") == 0)
		snprintf(a->cur.code, sizeof(a->cur.code), "%s", text);
	else if (strcmp(path, "DeleteResult/Error/Message") == 0)
		snprintf(a->cur.message, sizeof(a->cur.message), "%s", text);
	else if (strcmp(path, "DeleteResult/Error") == 0) {
		a->failed++;
		if (!a->have_first) {
			a->first = a->cur;
			a->have_first = 1;
		}
		memset(&a->cur, 0, sizeof(a->cur));
	}
}

enum tpq_status tpq_s3_delete_objects(struct tpq_s3 *s, const char *bucket,
				      const char *const *keys, size_t n, size_t *nfailed,
				      struct tpq_error *err)
{
	enum tpq_status st = TPQ_OK;
	struct delete_answer all = {0};
	struct tpq_buf body;
	tpq_buf_init(&body);
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);

	for (size_t at = 0; at < n; at += 1000) {
		size_t m = n - at < 1000 ? n - at : 1000;
		tpq_buf_reset(&body);
		put_str(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			       "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
		for (size_t i = 0; i < m; i++) {
			put_str(&body, "<Object><Key>");
			xml_escape(&body, keys[at + i]);
			put_str(&body, "</Key></Object>");
		}
		put_str(&body, "</Delete>");
		if (tpq_buf_status(&body)) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			break;
		}
		/* S3 demands an integrity header on this call. */
		uint8_t md5[16];
		char b64[32];
		tpq_md5(body.p, body.len, md5);
		tpq_base64(md5, 16, b64);
		struct req r = {.s = s, .method = "POST", .bucket = bucket, .body = body.p,
				.body_len = body.len, .error_in_200 = 1};
		add_query(&r, "delete", "");
		add_header(&r, "Content-MD5", b64);
		add_header(&r, "Content-Type", "application/xml");
		st = simple(&r, &resp, err);
		if (st)
			break;
		struct delete_answer a = {0};
		if (xml_parse(resp.body.p, resp.body.len, delete_end, &a) ||
		    !root_is(&resp.body, "DeleteResult")) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "%s: the answer is not a DeleteResult",
					   r.what);
			break;
		}
		all.failed += a.failed;
		if (a.have_first && !all.have_first) {
			all.first = a.first;
			all.have_first = 1;
		}
	}
	if (nfailed)
		*nfailed = all.failed;
	if (!st && all.failed) {
		char where[512];
		snprintf(where, sizeof(where), "s3://%s/%s", bucket, all.first.key);
		tpq_error_where(err, where);
		st = tpq_error_set(err, TPQ_EIO,
				   "DeleteObjects s3://%s: %zu of %zu keys not deleted; first: %s: %s: %s",
				   bucket, all.failed, n, all.first.key,
				   all.first.code[0] ? all.first.code : "(no code)",
				   all.first.message[0] ? all.first.message : "no message");
	}
	tpq_buf_release(&body);
	tpq_http_response_release(&resp);
	return st;
}

enum tpq_status tpq_s3_create_bucket(struct tpq_s3 *s, const char *bucket, struct tpq_error *err)
{
	struct tpq_buf body;
	tpq_buf_init(&body);
	if (strcmp(s->region, "us-east-1") != 0) {
		put_str(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			       "<LocationConstraint>");
		xml_escape(&body, s->region);
		put_str(&body, "</LocationConstraint></CreateBucketConfiguration>");
	}
	struct req r = {.s = s, .method = "PUT", .bucket = bucket, .body = body.p,
			.body_len = body.len};
	if (body.len)
		add_header(&r, "Content-Type", "application/xml");
	struct tpq_http_response resp;
	tpq_http_response_init(&resp);
	enum tpq_status st = do_req(&r, &resp, err);
	if (!st) {
		struct s3_error e;
		parse_error(&resp.body, &e);
		if (resp.status != 409 || strcmp(e.code, "BucketAlreadyOwnedByYou") != 0)
			st = check_answer(&r, &resp, err);
	}
	tpq_http_response_release(&resp);
	tpq_buf_release(&body);
	return st;
}
