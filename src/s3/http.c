/* HTTP over libcurl with retries (see http.h for the policy).
 *
 * Design: each attempt starts from curl_easy_reset, which forgets the
 * previous request's options but keeps the live connections, the DNS cache
 * and the TLS session cache, so a handle reuses its connection from request
 * to request; the optional share handle extends those caches across handles.
 * The response body goes into the caller's tpq_buf, capped by max_body (the
 * write callback refuses past it); response headers of interest are copied
 * out as they arrive and cleared at each status line, so a "100 Continue" or
 * an earlier attempt never leaks into the final response.
 *
 * A body shorter than its Content-Length is a failed attempt even when curl
 * did not notice (it does, as CURLE_PARTIAL_FILE, when the connection closes
 * early; the explicit check also covers a server that closes cleanly). */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3/http.h"
#include "util/error.h"

#define DEFAULT_MAX_BODY ((size_t)64 << 20)

struct tpq_http_share {
	CURLSH *sh;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

struct tpq_http {
	CURL *c;
	struct tpq_http_options o;
	char *ca_file;
	uint64_t rng;
	struct tpq_http_stats stats;
	char errbuf[CURL_ERROR_SIZE];
};

struct tpq_http_headers {
	struct curl_slist *list;
	int content_type;  /* the caller set one: do not let curl add its form type */
	int failed;
};

/* What one attempt saw, beside the response itself. */
struct attempt {
	struct tpq_http_response *r;
	size_t max_body;
	int over_limit;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	/* curl_global_init is not thread-safe itself: once, before any handle. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void tpq_http_options_init(struct tpq_http_options *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = 10000;
	o->low_speed_bytes = 1024;
	o->low_speed_s = 30;
	o->max_attempts = 6;
	o->base_delay_ms = 100;
	o->max_delay_ms = 20000;
	o->verify_tls = 1;
}

void tpq_http_response_init(struct tpq_http_response *r)
{
	memset(r, 0, sizeof(*r));
	tpq_buf_init(&r->body);
	r->content_length = -1;
}

void tpq_http_response_release(struct tpq_http_response *r)
{
	tpq_buf_release(&r->body);
}

enum tpq_status tpq_http_headers_add(struct tpq_http_headers *h, const char *name,
				     const char *value)
{
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
		h->failed = 1;
		return TPQ_EINVAL;
	}
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = malloc(n);
	if (!line) {
		h->failed = 1;
		return TPQ_ENOMEM;
	}
	snprintf(line, n, "%s: %s", name, value);
	struct curl_slist *l = curl_slist_append(h->list, line);
	free(line);
	if (!l) {
		h->failed = 1;
		return TPQ_ENOMEM;
	}
	h->list = l;
	if (strcasecmp(name, "Content-Type") == 0)
		h->content_type = 1;
	return TPQ_OK;
}

static void lock_cb(CURL *c, curl_lock_data data, curl_lock_access access, void *ctx)
{
	struct tpq_http_share *s = ctx;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&s->locks[data]);
}

static void unlock_cb(CURL *c, curl_lock_data data, void *ctx)
{
	struct tpq_http_share *s = ctx;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&s->locks[data]);
}

struct tpq_http_share *tpq_http_share_new(struct tpq_error *err)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		tpq_error_set(err, TPQ_EIO, "libcurl failed to initialise: %s",
			      curl_easy_strerror(global_rc));
		return NULL;
	}
	struct tpq_http_share *s = calloc(1, sizeof(*s));
	if (!s) {
		tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		return NULL;
	}
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	s->sh = curl_share_init();
	if (!s->sh) {
		tpq_error_set(err, TPQ_ENOMEM, "curl_share_init failed");
		tpq_http_share_free(s);
		return NULL;
	}
	curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, lock_cb);
	curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, unlock_cb);
	curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return s;
}

void tpq_http_share_free(struct tpq_http_share *s)
{
	if (!s)
		return;
	if (s->sh)
		curl_share_cleanup(s->sh);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->locks[i]);
	free(s);
}

struct tpq_http *tpq_http_new(const struct tpq_http_options *o, struct tpq_error *err)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		tpq_error_set(err, TPQ_EIO, "libcurl failed to initialise: %s",
			      curl_easy_strerror(global_rc));
		return NULL;
	}
	struct tpq_http *h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	if (o)
		h->o = *o;
	else
		tpq_http_options_init(&h->o);
	if (h->o.max_attempts == 0)
		h->o.max_attempts = 1;
	if (h->o.ca_file && !(h->ca_file = strdup(h->o.ca_file)))
		goto nomem;
	h->o.ca_file = h->ca_file;
	h->c = curl_easy_init();
	if (!h->c)
		goto nomem;
	h->rng = h->o.jitter_seed;
	if (!h->rng) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		h->rng = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)h ^
			 (uint64_t)ts.tv_sec;
	}
	if (!h->rng)
		h->rng = 1;
	return h;
nomem:
	tpq_error_set(err, TPQ_ENOMEM, "out of memory creating an HTTP handle");
	tpq_http_free(h);
	return NULL;
}

void tpq_http_free(struct tpq_http *h)
{
	if (!h)
		return;
	if (h->c)
		curl_easy_cleanup(h->c);
	free(h->ca_file);
	free(h);
}

void tpq_http_stats(const struct tpq_http *h, struct tpq_http_stats *out)
{
	*out = h->stats;
}

int tpq_http_status_retryable(long status)
{
	return status == 500 || status == 502 || status == 503 || status == 504 || status == 429;
}

static uint64_t next_rand(struct tpq_http *h)
{
	/* xorshift64*: jitter only needs to decorrelate clients. */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545f4914f6cdd1du;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]. */
static unsigned backoff_ms(struct tpq_http *h, unsigned attempt)
{
	uint64_t ceiling = h->o.base_delay_ms;
	for (unsigned i = 1; i < attempt && ceiling < h->o.max_delay_ms; i++)
		ceiling *= 2;
	if (ceiling > h->o.max_delay_ms)
		ceiling = h->o.max_delay_ms;
	return (unsigned)(next_rand(h) % (ceiling + 1));
}

static void wait_ms(struct tpq_http *h, unsigned ms)
{
	if (h->o.sleep_ms) {
		h->o.sleep_ms(h->o.sleep_ctx, ms);
		return;
	}
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct attempt *a = ctx;
	size_t len = size * n;
	if (a->r->body.len + len > a->max_body) {
		a->over_limit = 1;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	tpq_buf_put(&a->r->body, p, len);
	return tpq_buf_status(&a->r->body) ? 0 : len;
}

/* Copies a header's value (trimmed) into dst if `line` is that header. */
static int take_header(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name);
	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	const char *v = line + nl + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t len = (size_t)(end - v);
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 1;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ctx)
{
	struct attempt *a = ctx;
	struct tpq_http_response *r = a->r;
	size_t len = size * n;
	char cl[32];
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new status line (after a 100 Continue, say): forget what came before. */
		r->etag[0] = r->last_modified[0] = r->content_range[0] = r->request_id[0] = '\0';
		r->content_length = -1;
	} else if (take_header(p, len, "Content-Length", cl, sizeof(cl))) {
		char *e;
		long long v = strtoll(cl, &e, 10);
		r->content_length = (e != cl && *e == '\0' && v >= 0) ? v : -1;
	} else if (!take_header(p, len, "ETag", r->etag, sizeof(r->etag)) &&
		   !take_header(p, len, "Last-Modified", r->last_modified,
				sizeof(r->last_modified)) &&
		   !take_header(p, len, "Content-Range", r->content_range,
				sizeof(r->content_range))) {
		take_header(p, len, "x-amz-request-id", r->request_id, sizeof(r->request_id));
	}
	return len;
}

static int curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		return 1;
	default:
		return 0;
	}
}

/* Whether a failed attempt can have been carried out by the server: not when
 * we never got a connection. */
static int may_have_applied(CURLcode rc, long status)
{
	if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT)
		return 0;
	/* S3 turns these away before doing anything. */
	if (status == 503 || status == 429)
		return 0;
	return 1;
}

static enum tpq_status setup(struct tpq_http *h, const struct tpq_http_request *req,
			     struct tpq_http_headers *hd, struct attempt *a,
			     struct tpq_error *err)
{
	CURL *c = h->c;
	curl_easy_reset(c);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	/* S3 keys may hold "/../" or "/./": send them as signed, unsquashed. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->o.low_speed_bytes);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->o.low_speed_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.attempt_timeout_ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->o.verify_tls ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->o.verify_tls ? 2L : 0L);
	if (h->o.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->o.ca_file);
	if (h->o.share)
		curl_easy_setopt(c, CURLOPT_SHARE, h->o.share->sh);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	if (curl_easy_setopt(c, CURLOPT_URL, req->url) != CURLE_OK)
		return tpq_error_set(err, TPQ_EINVAL, "%s: bad URL", req->what);

	const char *m = req->method;
	if (strcmp(m, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0) {
		/* The whole body is in memory: POSTFIELDS sends it from there on
		 * every attempt; CUSTOMREQUEST turns the POST into a PUT. */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (m[1] == 'U')
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		/* No 100-continue round trip, and no form content type. */
		tpq_http_headers_add(hd, "Expect", "");
		if (!hd->content_type) {
			struct curl_slist *l = curl_slist_append(hd->list, "Content-Type:");
			if (l)
				hd->list = l;
			else
				hd->failed = 1;
		}
	} else if (strcmp(m, "DELETE") == 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	} else {
		return tpq_error_set(err, TPQ_EINVAL, "%s: unsupported method", req->what);
	}
	if (hd->failed)
		return tpq_error_set(err, TPQ_EINVAL, "%s: could not build the request headers",
				     req->what);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd->list);
	return TPQ_OK;
}

enum tpq_status tpq_http_request(struct tpq_http *h, const struct tpq_http_request *req,
				 struct tpq_http_response *resp, struct tpq_error *err)
{
	enum tpq_status st = TPQ_OK;
	struct attempt a = {.r = resp, .max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY};
	char why[CURL_ERROR_SIZE + 64] = "";
	int head = strcmp(req->method, "HEAD") == 0;

	resp->attempts = 0;
	resp->earlier_attempt_may_have_applied = 0;
	h->stats.requests++;
	for (unsigned attempt = 1;; attempt++) {
		struct tpq_http_headers hd = {0};
		tpq_buf_reset(&resp->body);
		resp->status = 0;
		resp->content_length = -1;
		resp->etag[0] = resp->last_modified[0] = resp->content_range[0] = '\0';
		resp->request_id[0] = '\0';
		a.over_limit = 0;

		if (req->prepare && (st = req->prepare(req->ctx, attempt, &hd, err)) != TPQ_OK) {
			curl_slist_free_all(hd.list);
			return st;
		}
		st = setup(h, req, &hd, &a, err);
		if (st) {
			curl_slist_free_all(hd.list);
			return st;
		}
		resp->attempts = attempt;
		h->stats.attempts++;
		CURLcode rc = curl_easy_perform(h->c);
		curl_slist_free_all(hd.list);
		curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, NULL);
		long status = 0;
		curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
		h->stats.bytes_out += req->body_len;
		h->stats.bytes_in += resp->body.len;

		int retry = 0;
		if (a.over_limit) {
			return tpq_error_set(err, TPQ_ELIMIT,
					     "%s: response body larger than %zu bytes", req->what,
					     a.max_body);
		} else if (tpq_buf_status(&resp->body)) {
			return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory for the response",
					     req->what);
		} else if (rc != CURLE_OK) {
			snprintf(why, sizeof(why), "%s", h->errbuf[0] ? h->errbuf :
							 curl_easy_strerror(rc));
			if (!curl_retryable(rc)) {
				return tpq_error_set(err, TPQ_EIO, "%s: %s", req->what, why);
			}
			retry = 1;
		} else if (!head && resp->content_length >= 0 &&
			   (uint64_t)resp->content_length != resp->body.len) {
			snprintf(why, sizeof(why), "body cut short: %zu of %lld bytes",
				 resp->body.len, (long long)resp->content_length);
			retry = 1;
		} else {
			resp->status = status;
			retry = req->retryable ? req->retryable(req->ctx, resp)
					       : tpq_http_status_retryable(status);
			if (!retry || attempt >= h->o.max_attempts)
				return TPQ_OK;
		}
		if (attempt >= h->o.max_attempts)
			return tpq_error_set(err, TPQ_EIO, "%s: %s (gave up after %u attempts)",
					     req->what, why, attempt);
		if (may_have_applied(rc, resp->status))
			resp->earlier_attempt_may_have_applied = 1;
		h->stats.retries++;
		wait_ms(h, backoff_ms(h, attempt));
	}
}
