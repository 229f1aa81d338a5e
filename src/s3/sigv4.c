/* AWS Signature Version 4 (see sigv4.h for the formulas).
 *
 * Design: the canonical request is built in one tpq_buf; headers and query
 * parameters are first copied into small fixed tables (at most MAX_ITEMS
 * each, far more than any S3 request here carries), normalised (header
 * names lowercased, values trimmed with inner runs of spaces collapsed; query
 * names and values URI-encoded), then sorted, because AWS sorts by the
 * lowercased header name and by the *encoded* query name (then value). The
 * signing key is derived per call: four HMACs are cheap next to a request. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3/sigv4.h"
#include "util/error.h"

#define MAX_ITEMS 32

void tpq_s3_credentials_wipe(struct tpq_s3_credentials *c)
{
	if (c)
		OPENSSL_cleanse(c, sizeof(*c));
}

void tpq_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void tpq_sha256_hex(const void *p, size_t n, char hex[65])
{
	uint8_t d[32];
	tpq_sha256(p, n, d);
	hex_of(d, 32, hex);
}

void tpq_hmac_sha256(const void *key, size_t klen, const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, p, n, out, &len);
}

void tpq_md5(const void *p, size_t n, uint8_t out[16])
{
	unsigned int len = 16;
	EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

void tpq_md5_hex(const void *p, size_t n, char hex[33])
{
	uint8_t d[16];
	tpq_md5(p, n, d);
	hex_of(d, 16, hex);
}

void tpq_base64(const void *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

void tpq_sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		out[0] = '\0'; /* years past 9999: the signer then rejects the request */
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

void tpq_sigv4_uri_encode(struct tpq_buf *b, const char *s, size_t n, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (c == '/' && keep_slash)) {
			tpq_buf_put_u8(b, c);
		} else {
			char t[3] = {'%', digits[c >> 4], digits[c & 15]};
			tpq_buf_put(b, t, 3);
		}
	}
}

/* A normalised header or query item: offsets into a scratch buffer, since the
 * buffer may move while it grows. */
struct item {
	size_t name, name_len, value, value_len;
};

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* By name, then value. qsort has no context argument in C17 and a global
 * base pointer would not be thread-safe: an insertion sort suits n <= 36. */
static void sort_items(struct item *it, size_t n, const uint8_t *base)
{
	for (size_t i = 1; i < n; i++) {
		struct item x = it[i];
		size_t j = i;
		while (j > 0) {
			const struct item *y = &it[j - 1];
			int c = cmp_bytes(base + y->name, y->name_len, base + x.name, x.name_len);
			if (c == 0)
				c = cmp_bytes(base + y->value, y->value_len, base + x.value,
					      x.value_len);
			if (c <= 0)
				break;
			it[j] = it[j - 1];
			j--;
		}
		it[j] = x;
	}
}

static void put_header_value(struct tpq_buf *b, const char *v)
{
	/* Trim, and collapse inner runs of spaces to one (AWS's "Trimall"). */
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	int space = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			space = 1;
			continue;
		}
		if (space)
			tpq_buf_put_u8(b, ' ');
		space = 0;
		tpq_buf_put_u8(b, (uint8_t)v[i]);
	}
}

static int owned_header(const char *name)
{
	static const char *const owned[] = {"host", "x-amz-date", "x-amz-content-sha256",
					    "x-amz-security-token", "authorization"};
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (strcasecmp(name, owned[i]) == 0)
			return 1;
	return 0;
}

static void add_header(struct tpq_buf *s, struct item *it, const char *name, const char *value)
{
	it->name = s->len;
	for (const char *p = name; *p; p++) {
		char c = *p;
		tpq_buf_put_u8(s, (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c));
	}
	it->name_len = s->len - it->name;
	it->value = s->len;
	put_header_value(s, value);
	it->value_len = s->len - it->value;
}

enum tpq_status tpq_sigv4_canonical_request(const struct tpq_sigv4_request *req,
					    const char *amz_date, const char *session_token,
					    struct tpq_buf *b, struct tpq_buf *signed_headers,
					    struct tpq_error *err)
{
	enum tpq_status st = TPQ_OK;
	struct item hs[MAX_ITEMS + 4], qs[MAX_ITEMS];
	struct tpq_buf s;
	tpq_buf_init(&s);
	tpq_buf_reset(b);
	tpq_buf_reset(signed_headers);

	if (!req->method || !req->host || !req->path || !req->payload_hash || !amz_date ||
	    req->path[0] != '/') {
		st = tpq_error_set(err, TPQ_EINVAL, "sigv4: method, host, absolute path, payload "
					"hash and date are required");
		goto out;
	}
	if (req->nheaders > MAX_ITEMS || req->nquery > MAX_ITEMS) {
		st = tpq_error_set(err, TPQ_ELIMIT, "sigv4: more than %d headers or query parameters",
				   MAX_ITEMS);
		goto out;
	}

	size_t nh = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (owned_header(req->headers[i].name)) {
			st = tpq_error_set(err, TPQ_EINVAL, "sigv4: header %s is set by the signer",
					   req->headers[i].name);
			goto out;
		}
		add_header(&s, &hs[nh++], req->headers[i].name, req->headers[i].value);
	}
	add_header(&s, &hs[nh++], "host", req->host);
	add_header(&s, &hs[nh++], "x-amz-content-sha256", req->payload_hash);
	add_header(&s, &hs[nh++], "x-amz-date", amz_date);
	if (session_token && session_token[0])
		add_header(&s, &hs[nh++], "x-amz-security-token", session_token);

	size_t nq = req->nquery;
	for (size_t i = 0; i < nq; i++) {
		const char *name = req->query[i].name, *value = req->query[i].value;
		qs[i].name = s.len;
		tpq_sigv4_uri_encode(&s, name, strlen(name), 0);
		qs[i].name_len = s.len - qs[i].name;
		qs[i].value = s.len;
		if (value)
			tpq_sigv4_uri_encode(&s, value, strlen(value), 0);
		qs[i].value_len = s.len - qs[i].value;
	}
	if (tpq_buf_status(&s)) {
		st = tpq_error_set(err, TPQ_ENOMEM, "sigv4: out of memory");
		goto out;
	}
	sort_items(hs, nh, s.p);
	sort_items(qs, nq, s.p);

	tpq_buf_put(b, req->method, strlen(req->method));
	tpq_buf_put_u8(b, '\n');
	tpq_sigv4_uri_encode(b, req->path, strlen(req->path), 1);
	tpq_buf_put_u8(b, '\n');
	for (size_t i = 0; i < nq; i++) {
		if (i)
			tpq_buf_put_u8(b, '&');
		tpq_buf_put(b, s.p + qs[i].name, qs[i].name_len);
		tpq_buf_put_u8(b, '=');
		tpq_buf_put(b, s.p + qs[i].value, qs[i].value_len);
	}
	tpq_buf_put_u8(b, '\n');
	for (size_t i = 0; i < nh; i++) {
		if (i && cmp_bytes(s.p + hs[i].name, hs[i].name_len, s.p + hs[i - 1].name,
				   hs[i - 1].name_len) == 0) {
			st = tpq_error_set(err, TPQ_EINVAL, "sigv4: header given twice");
			goto out;
		}
		tpq_buf_put(b, s.p + hs[i].name, hs[i].name_len);
		tpq_buf_put_u8(b, ':');
		tpq_buf_put(b, s.p + hs[i].value, hs[i].value_len);
		tpq_buf_put_u8(b, '\n');
		if (i)
			tpq_buf_put_u8(signed_headers, ';');
		tpq_buf_put(signed_headers, s.p + hs[i].name, hs[i].name_len);
	}
	tpq_buf_put_u8(b, '\n');
	tpq_buf_put(b, signed_headers->p, signed_headers->len);
	tpq_buf_put_u8(b, '\n');
	tpq_buf_put(b, req->payload_hash, strlen(req->payload_hash));
	tpq_buf_put_u8(signed_headers, '\0');
	if (tpq_buf_status(b) || tpq_buf_status(signed_headers))
		st = tpq_error_set(err, TPQ_ENOMEM, "sigv4: out of memory");
	else
		signed_headers->len--; /* the NUL stays readable past the end */
out:
	tpq_buf_release(&s);
	return st;
}

enum tpq_status tpq_sigv4_sign(const struct tpq_sigv4_request *req,
			       const struct tpq_s3_credentials *c, const char *region,
			       const char *service, time_t now, struct tpq_sigv4_result *out,
			       struct tpq_error *err)
{
	enum tpq_status st;
	struct tpq_buf creq, signed_headers;
	tpq_buf_init(&creq);
	tpq_buf_init(&signed_headers);
	memset(out, 0, sizeof(*out));

	if (!c || !c->access_key_id[0] || !c->secret_access_key[0] || !region || !region[0] ||
	    !service) {
		st = tpq_error_set(err, TPQ_EINVAL, "sigv4: credentials and region are required");
		goto out;
	}
	tpq_sigv4_amz_date(now, out->amz_date);
	if (!out->amz_date[0]) {
		st = tpq_error_set(err, TPQ_EINVAL, "sigv4: the time is out of range");
		goto out;
	}
	st = tpq_sigv4_canonical_request(req, out->amz_date, c->session_token, &creq,
					 &signed_headers, err);
	if (st)
		goto out;

	char day[9], creq_hash[65], scope[256], sts[512];
	memcpy(day, out->amz_date, 8);
	day[8] = '\0';
	tpq_sha256_hex(creq.p, creq.len, creq_hash);
	int n = snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day, region, service);
	if (n < 0 || (size_t)n >= sizeof(scope)) {
		st = tpq_error_set(err, TPQ_EINVAL, "sigv4: region or service name too long");
		goto out;
	}
	n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date, scope,
		     creq_hash);

	/* kSecret = "AWS4" + secret; the chain of HMACs turns it into the key. */
	uint8_t k[32], kdate_key[4 + sizeof(c->secret_access_key)];
	size_t slen = strnlen(c->secret_access_key, sizeof(c->secret_access_key));
	memcpy(kdate_key, "AWS4", 4);
	memcpy(kdate_key + 4, c->secret_access_key, slen);
	uint8_t k2[32], sig[32];
	tpq_hmac_sha256(kdate_key, 4 + slen, day, 8, k);
	OPENSSL_cleanse(kdate_key, sizeof(kdate_key));
	tpq_hmac_sha256(k, 32, region, strlen(region), k2);
	tpq_hmac_sha256(k2, 32, service, strlen(service), k);
	tpq_hmac_sha256(k, 32, "aws4_request", 12, k2);
	tpq_hmac_sha256(k2, 32, sts, (size_t)n, sig);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(k2, sizeof(k2));
	hex_of(sig, 32, out->signature);

	n = snprintf(out->authorization, sizeof(out->authorization),
		     "AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
		     c->access_key_id, scope, (const char *)signed_headers.p, out->signature);
	if (n < 0 || (size_t)n >= sizeof(out->authorization))
		st = tpq_error_set(err, TPQ_ELIMIT, "sigv4: Authorization header too long");
out:
	tpq_buf_release(&creq);
	tpq_buf_release(&signed_headers);
	return st;
}
