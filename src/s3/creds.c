/* The AWS credentials provider chain (see creds.h for the contract).
 *
 * Design:
 * - tpq_creds_new copies the environment variables it needs (struct env), picks the first
 *   configured provider and fetches once. From then on the provider kind is fixed; a refresh
 *   runs the same fetch again, re-reading the files it depends on.
 * - The cache is one struct tpq_creds_keys under a mutex. The thread that finds it due for
 *   refresh sets `refreshing` and fetches without the lock; the others keep using the
 *   cached keys while they are valid, and wait on the condition variable only when they are
 *   not. `retry_after` spaces refreshes by REFRESH_RETRY_S after any attempt, so a provider
 *   that fails, or returns keys already inside the refresh window, is not hammered.
 * - Secrets live only in owned strings that are wiped before they are freed, and in the
 *   bodies of requests (wiped too). No message is formatted from a secret; text from a
 *   server is cut short, stripped of control bytes and scrubbed of every run of 12 or more
 *   characters that also occurs in a token we sent, before it is quoted.
 * - HTTP goes through one libcurl easy handle per request (no shared handles, so no
 *   locking), without redirects (a redirect could carry the authorization header
 *   elsewhere), and without proxies for the link-local and loopback services. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, explicit_bzero, pipe2 with a bare -std=c17 */
#endif
#include "s3/creds.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json/scan.h"
#include "util/buf.h"
#include "util/error.h"

extern char **environ;

#define FILE_MAX (1u << 20)          /* shared files */
#define TOKEN_FILE_MAX (64u << 10)   /* web identity and container token files */
#define RESPONSE_MAX (64u << 10)     /* any HTTP response or process output */
#define REFRESH_RETRY_S 10
#define QUOTE_MAX 160                /* server text quoted in a message */
#define ECS_BASE "http://169.254.170.2"
#define IMDS_V4 "http://169.254.169.254"
#define IMDS_V6 "http://[fd00:ec2::254]"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define USER_AGENT "trailpq/" TPQ_VERSION_STRING

/* ---- Small string helpers ---- */

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Trims [*a, *b) in place. */
static void trim(const char **a, const char **b)
{
	while (*a < *b && is_space(**a))
		(*a)++;
	while (*b > *a && is_space((*b)[-1]))
		(*b)--;
}

/* Header-safe credential text: printable ASCII without spaces. */
static bool is_token_text(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Copies the message-safe part of a URL: scheme, host, port and path, without user info,
 * query or fragment (where credentials could hide). */
static void url_display(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	size_t o = 0;
	const char *s = url;
	if (p) {
		const char *auth = p + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memchr(auth, '@', alen);
		o = (size_t)snprintf(out, cap, "%.*s", (int)(auth - url), url);
		s = at ? at + 1 : auth;
	}
	if (o >= cap)
		return;
	snprintf(out + o, cap - o, "%.*s", (int)strcspn(s, "?#"), s);
}

/* Replaces in msg every run of at least 12 characters that also occurs in secret. Quadratic,
 * but it runs only on error paths over a message of at most QUOTE_MAX bytes. */
static void redact(char *msg, const char *secret)
{
	static const char mark[] = "[redacted]";
	if (!secret)
		return;
	size_t sn = strlen(secret);
	for (size_t i = 0; msg[i];) {
		size_t best = 0;
		for (size_t j = 0; j < sn && best < strlen(msg + i); j++) {
			size_t l = 0;
			while (msg[i + l] && j + l < sn && msg[i + l] == secret[j + l])
				l++;
			if (l > best)
				best = l;
		}
		if (best >= 12) {
			size_t rest = strlen(msg + i + best);
			memcpy(msg + i, mark, sizeof(mark) - 1);
			memmove(msg + i + sizeof(mark) - 1, msg + i + best, rest + 1);
			i += sizeof(mark) - 1;
		} else {
			i++;
		}
	}
}

/* Copies server text for a message: at most QUOTE_MAX bytes, control bytes as '?', then
 * scrubbed of the given secrets. */
static void quote_server_text(char *out, const char *s, size_t n, const char *secret1,
			      const char *secret2)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o < QUOTE_MAX; i++)
		out[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[o] = 0;
	redact(out, secret1);
	redact(out, secret2);
}

/* ---- Time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (the inverse of tpq_civil_from_days). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;                              /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365], from March 1 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]" into unix seconds (fractions dropped). */
static bool parse_iso8601(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
			return false;
		off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	return true;
}

/* ---- Credentials ---- */

void tpq_creds_keys_release(struct tpq_creds_keys *k)
{
	if (!k)
		return;
	wipe_free(k->access_key_id);
	wipe_free(k->secret_access_key);
	wipe_free(k->session_token);
	memset(k, 0, sizeof(*k));
}

static enum tpq_status keys_set(struct tpq_creds_keys *k, const char *akid, const char *secret,
				const char *token, int64_t expiration, const char *provider,
				struct tpq_error *err)
{
	tpq_creds_keys_release(k);
	k->access_key_id = strdup(akid);
	k->secret_access_key = strdup(secret);
	k->session_token = token && *token ? strdup(token) : NULL;
	k->expiration = expiration;
	k->provider = provider;
	if (!k->access_key_id || !k->secret_access_key || (token && *token && !k->session_token)) {
		tpq_creds_keys_release(k);
		return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", provider);
	}
	return TPQ_OK;
}

/* ---- The environment ---- */

enum env_var {
	E_ACCESS_KEY_ID,
	E_SECRET_ACCESS_KEY,
	E_SESSION_TOKEN,
	E_PROFILE,
	E_CREDS_FILE,
	E_CONFIG_FILE,
	E_HOME,
	E_WEB_TOKEN_FILE,
	E_ROLE_ARN,
	E_ROLE_SESSION_NAME,
	E_ENDPOINT_STS,
	E_ENDPOINT,
	E_REGION,
	E_DEFAULT_REGION,
	E_ECS_RELATIVE,
	E_ECS_FULL,
	E_ECS_TOKEN,
	E_ECS_TOKEN_FILE,
	E_IMDS_DISABLED,
	E_IMDS_ENDPOINT,
	E_IMDS_MODE,
	E_COUNT
};

static const char *const env_names[E_COUNT] = {
	[E_ACCESS_KEY_ID] = "AWS_ACCESS_KEY_ID",
	[E_SECRET_ACCESS_KEY] = "AWS_SECRET_ACCESS_KEY",
	[E_SESSION_TOKEN] = "AWS_SESSION_TOKEN",
	[E_PROFILE] = "AWS_PROFILE",
	[E_CREDS_FILE] = "AWS_SHARED_CREDENTIALS_FILE",
	[E_CONFIG_FILE] = "AWS_CONFIG_FILE",
	[E_HOME] = "HOME",
	[E_WEB_TOKEN_FILE] = "AWS_WEB_IDENTITY_TOKEN_FILE",
	[E_ROLE_ARN] = "AWS_ROLE_ARN",
	[E_ROLE_SESSION_NAME] = "AWS_ROLE_SESSION_NAME",
	[E_ENDPOINT_STS] = "AWS_ENDPOINT_URL_STS",
	[E_ENDPOINT] = "AWS_ENDPOINT_URL",
	[E_REGION] = "AWS_REGION",
	[E_DEFAULT_REGION] = "AWS_DEFAULT_REGION",
	[E_ECS_RELATIVE] = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	[E_ECS_FULL] = "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	[E_ECS_TOKEN] = "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	[E_ECS_TOKEN_FILE] = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	[E_IMDS_DISABLED] = "AWS_EC2_METADATA_DISABLED",
	[E_IMDS_ENDPOINT] = "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	[E_IMDS_MODE] = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
};

/* NULL for unset or empty, as the SDKs treat both. */
struct env {
	char *v[E_COUNT];
};

static void env_release(struct env *e)
{
	for (int i = 0; i < E_COUNT; i++)
		wipe_free(e->v[i]);
	memset(e, 0, sizeof(*e));
}

static enum tpq_status env_load(const struct tpq_creds_options *opt, struct env *e,
				struct tpq_error *err)
{
	memset(e, 0, sizeof(*e));
	if (!opt->getenv_fn)
		return TPQ_OK;
	for (int i = 0; i < E_COUNT; i++) {
		const char *v = opt->getenv_fn(opt->getenv_ctx, env_names[i]);
		if (!v || !*v)
			continue;
		if (!(e->v[i] = strdup(v))) {
			env_release(e);
			return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
		}
	}
	return TPQ_OK;
}

/* ---- Files ---- */

/* Reads a whole file, NUL-terminated. TPQ_ENOTFOUND (no error set) when it does not exist. */
static enum tpq_status read_file(const char *path, size_t max, const char *who, char **out,
				 size_t *len, struct tpq_error *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return TPQ_ENOTFOUND;
		goto fail_errno;
	}
	struct tpq_buf b;
	tpq_buf_init(&b);
	b.limit = max + 4096 + 1; /* room for the last read and the NUL */
	for (;;) {
		if (tpq_buf_reserve(&b, 4096))
			break;
		ssize_t r = read(fd, b.p + b.len, b.cap - b.len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			explicit_bzero(b.p, b.len);
			tpq_buf_release(&b);
			errno = e;
			goto fail_errno;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (b.len > max)
			break;
	}
	close(fd);
	if (b.err || b.len > max) {
		enum tpq_status st = b.len > max || b.err == TPQ_ELIMIT ? TPQ_ELIMIT : TPQ_ENOMEM;
		explicit_bzero(b.p, b.len);
		tpq_buf_release(&b);
		tpq_error_where(err, path);
		return tpq_error_set(err, st, "%s: %s is %s", who, path,
				     st == TPQ_ELIMIT ? "too large" : "out of memory");
	}
	tpq_buf_put_u8(&b, 0);
	if (b.err) {
		tpq_buf_release(&b);
		return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
	}
	*len = b.len - 1;
	*out = (char *)tpq_buf_detach(&b, NULL);
	return TPQ_OK;
fail_errno:
	if (err)
		err->sys_errno = errno;
	tpq_error_where(err, path);
	return tpq_error_set(err, TPQ_EIO, "%s: cannot read %s: %s", who, path, strerror(errno));
}

/* Reads a token file: trailing whitespace trimmed, must not be empty or hold line breaks. */
static enum tpq_status read_token_file(const char *path, const char *who, char **out,
				       struct tpq_error *err)
{
	size_t n;
	enum tpq_status st = read_file(path, TOKEN_FILE_MAX, who, out, &n, err);
	if (st == TPQ_ENOTFOUND) {
		tpq_error_where(err, path);
		return tpq_error_set(err, TPQ_EIO, "%s: cannot read %s: %s", who, path,
				     strerror(ENOENT));
	}
	if (st)
		return st;
	while (n > 0 && is_space((*out)[n - 1]))
		(*out)[--n] = 0;
	if (n == 0 || strpbrk(*out, "\r\n")) {
		tpq_error_where(err, path);
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: token file %s is %s", who, path,
				   n == 0 ? "empty" : "not one line");
		wipe_free(*out);
		*out = NULL;
	}
	return st;
}

/* A profile's properties, merged from its sections. Keys are lowercased. */
struct kv {
	char *key;
	char *val;
};

struct profile {
	struct kv *items;
	size_t n, cap;
	bool found; /* a section of this profile exists */
};

static void profile_release(struct profile *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].key);
		wipe_free(p->items[i].val);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static const char *profile_get(const struct profile *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i].key, key))
			return p->items[i].val;
	return NULL;
}

/* Sets key (the later one wins, as when sections repeat). Returns 0 or -1 (no memory). */
static int profile_set(struct profile *p, const char *k, size_t kn, const char *v, size_t vn)
{
	char *key = dup_n(k, kn), *val = dup_n(v, vn);
	if (!key || !val)
		goto fail;
	for (char *q = key; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->items[i].key, key)) {
			free(key);
			wipe_free(p->items[i].val);
			p->items[i].val = val;
			return 0;
		}
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct kv *items = realloc(p->items, cap * sizeof(*items));
		if (!items)
			goto fail;
		p->items = items;
		p->cap = cap;
	}
	p->items[p->n++] = (struct kv){key, val};
	return 0;
fail:
	free(key);
	wipe_free(val);
	return -1;
}

/* Whether section header text [a, b) (trimmed) names profile `want`. In the credentials
 * file a section is the profile name itself; in the config file it is "default" or
 * "profile NAME", and anything else (sso-session, services, a bare name) is not a
 * profile. */
static bool section_is(const char *a, const char *b, bool config, const char *want)
{
	size_t n = (size_t)(b - a), wn = strlen(want);
	if (!config || (n == 7 && !memcmp(a, "default", 7)))
		return n == wn && !memcmp(a, want, n);
	if (n < 8 || memcmp(a, "profile", 7) || !is_space(a[7]))
		return false;
	a += 7;
	trim(&a, &b);
	return (size_t)(b - a) == wn && !memcmp(a, want, wn);
}

/* The INI dialect of the AWS shared files: "[section]" headers (a comment may follow),
 * "name = value" properties, whole-line comments starting with '#' or ';', inline comments
 * where '#' or ';' follows whitespace in a value, and continuation lines (indented deeper
 * than the property above, as in nested "s3 =" blocks) that are skipped. Errors name the file
 * and the line, never the line's text, which may hold a secret. */
static enum tpq_status ini_parse(const char *text, size_t len, bool config, const char *want,
				 struct profile *p, const char *path, const char *who,
				 struct tpq_error *err)
{
	const char *s = text, *end = text + len;
	bool in_section = false, in_want = false, after_prop = false;
	size_t prop_indent = 0, line = 0;
	const char *what = NULL;
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			eol = end;
		const char *a = s, *b = eol;
		s = eol < end ? eol + 1 : end;
		line++;
		size_t indent = 0;
		while (a < b && (*a == ' ' || *a == '\t')) {
			a++;
			indent++;
		}
		trim(&a, &b);
		if (a == b || *a == '#' || *a == ';')
			continue;
		/* A header is never a continuation, however it is indented. */
		if (after_prop && indent > prop_indent && *a != '[')
			continue;
		after_prop = false;
		if (*a == '[') {
			const char *close = memchr(a, ']', (size_t)(b - a));
			if (!close) {
				what = "section header without ']'";
				goto corrupt;
			}
			const char *r = close + 1;
			while (r < b && is_space(*r))
				r++;
			if (r < b && *r != '#' && *r != ';') {
				what = "text after the section header";
				goto corrupt;
			}
			const char *na = a + 1, *nb = close;
			trim(&na, &nb);
			in_section = true;
			in_want = section_is(na, nb, config, want);
			p->found |= in_want;
			continue;
		}
		const char *eq = memchr(a, '=', (size_t)(b - a));
		if (!eq) {
			what = "expected 'name = value' or '[section]'";
			goto corrupt;
		}
		if (!in_section) {
			what = "property before any [section]";
			goto corrupt;
		}
		const char *ka = a, *kb = eq, *va = eq + 1, *vb = b;
		trim(&ka, &kb);
		trim(&va, &vb);
		if (ka == kb) {
			what = "property without a name";
			goto corrupt;
		}
		for (const char *q = va + 1; q < vb; q++) {
			if ((*q == '#' || *q == ';') && is_space(q[-1])) {
				vb = q;
				trim(&va, &vb);
				break;
			}
		}
		after_prop = true;
		prop_indent = indent;
		if (in_want && profile_set(p, ka, (size_t)(kb - ka), va, (size_t)(vb - va)))
			return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
	}
	return TPQ_OK;
corrupt:
	tpq_error_where(err, path);
	if (err)
		err->record = (int64_t)line;
	return tpq_error_set(err, TPQ_ECORRUPT, "%s: %s line %zu: %s", who, path, line, what);
}

/* The shared files of one profile. */
struct files {
	char *cred_path, *config_path; /* NULL when neither variable nor home gives one */
	struct profile cred, config;
};

static void files_release(struct files *f)
{
	free(f->cred_path);
	free(f->config_path);
	profile_release(&f->cred);
	profile_release(&f->config);
}

/* The variable's path ("~/" expanded) or home + suffix. */
static char *shared_path(const char *var, const char *home, const char *suffix, bool *oom)
{
	char *p = NULL;
	const char *rest = var;
	const char *base = "";
	if (!var) {
		if (!home)
			return NULL;
		base = home;
		rest = suffix;
	} else if (var[0] == '~' && var[1] == '/' && home) {
		base = home;
		rest = var + 1;
	}
	if (asprintf(&p, "%s%s", base, rest) < 0) {
		*oom = true;
		p = NULL;
	}
	return p;
}

static enum tpq_status load_one(const char *path, bool config, const char *profile,
				struct profile *p, const char *who, struct tpq_error *err)
{
	if (!path)
		return TPQ_OK;
	char *text;
	size_t n;
	enum tpq_status st = read_file(path, FILE_MAX, who, &text, &n, err);
	if (st == TPQ_ENOTFOUND)
		return TPQ_OK;
	if (st)
		return st;
	st = ini_parse(text, n, config, profile, p, path, who, err);
	explicit_bzero(text, n);
	free(text);
	return st;
}

static enum tpq_status files_load(const struct env *e, const char *home, const char *profile,
				  bool want_cred, struct files *f, const char *who,
				  struct tpq_error *err)
{
	memset(f, 0, sizeof(*f));
	bool oom = false;
	if (!home)
		home = e->v[E_HOME];
	f->cred_path = shared_path(e->v[E_CREDS_FILE], home, "/.aws/credentials", &oom);
	f->config_path = shared_path(e->v[E_CONFIG_FILE], home, "/.aws/config", &oom);
	if (oom)
		return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
	enum tpq_status st = load_one(f->config_path, true, profile, &f->config, who, err);
	if (!st && want_cred)
		st = load_one(f->cred_path, false, profile, &f->cred, who, err);
	return st;
}

/* The credentials file wins over the config file, as in the SDKs. */
static const char *files_get(const struct files *f, const char *key)
{
	const char *v = profile_get(&f->cred, key);
	return v ? v : profile_get(&f->config, key);
}

static bool region_ok(const char *r)
{
	if (!*r || strlen(r) > 63)
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return false;
	return true;
}

void tpq_creds_options_init(struct tpq_creds_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->connect_timeout_ms = 1000;
	opt->request_timeout_ms = 5000;
	opt->max_attempts = 3;
	opt->refresh_before_s = 300;
}

static const char *profile_name(const struct tpq_creds_options *opt, const struct env *e,
				bool *explicit_profile)
{
	*explicit_profile = true;
	if (opt->profile && *opt->profile)
		return opt->profile;
	if (e->v[E_PROFILE])
		return e->v[E_PROFILE];
	*explicit_profile = false;
	return "default";
}

/* Region from the snapshot and the (already loaded) config file. Borrowed. */
static const char *region_of(const struct env *e, const struct files *f, const char **from)
{
	if (e->v[E_REGION]) {
		*from = "AWS_REGION";
		return e->v[E_REGION];
	}
	if (e->v[E_DEFAULT_REGION]) {
		*from = "AWS_DEFAULT_REGION";
		return e->v[E_DEFAULT_REGION];
	}
	*from = f->config_path;
	return profile_get(&f->config, "region");
}

enum tpq_status tpq_creds_resolve_region(const struct tpq_creds_options *opt, char *buf,
					 size_t cap, struct tpq_error *err)
{
	struct tpq_creds_options d;
	if (!opt) {
		tpq_creds_options_init(&d);
		opt = &d;
	}
	if (cap)
		buf[0] = 0;
	struct env e;
	struct files f;
	memset(&f, 0, sizeof(f));
	enum tpq_status st = env_load(opt, &e, err);
	if (st)
		return st;
	bool explicit_profile;
	const char *profile = profile_name(opt, &e, &explicit_profile);
	if (!e.v[E_REGION] && !e.v[E_DEFAULT_REGION])
		st = files_load(&e, opt->home, profile, false, &f, "region", err);
	if (st)
		goto out;
	const char *from = NULL;
	const char *r = region_of(&e, &f, &from);
	if (!r) {
		st = TPQ_ENOTFOUND;
		tpq_error_set(err, st, "region: none of AWS_REGION, AWS_DEFAULT_REGION or a region in profile '%s' is set",
			      profile);
	} else if (!region_ok(r) || strlen(r) >= cap) {
		tpq_error_where(err, from);
		st = tpq_error_set(err, TPQ_EINVAL, "region: '%.64s' (from %s) is not a region name", r,
				   from);
	} else {
		memcpy(buf, r, strlen(r) + 1);
	}
out:
	files_release(&f);
	env_release(&e);
	return st;
}

/* ---- HTTP ---- */

struct http_resp {
	long status;            /* 0 when no response came */
	CURLcode cc;
	struct tpq_buf body;    /* followed by TPQ_JSON_PAD zero bytes */
	char cerr[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct tpq_buf *b = ud;
	tpq_buf_put(b, p, size * n);
	return b->err ? 0 : size * n;
}

static void http_resp_release(struct http_resp *r)
{
	if (r->body.p)
		explicit_bzero(r->body.p, r->body.cap);
	tpq_buf_release(&r->body);
}

/* One request. method NULL is GET; body NULL sends none. `direct`: no proxy. */
static void http_do(long connect_ms, long request_ms, const char *method, const char *url,
		    struct curl_slist *headers, const char *body, size_t body_len, bool direct,
		    struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	tpq_buf_init(&r->body);
	r->body.limit = RESPONSE_MAX + 1 + TPQ_JSON_PAD;
	CURL *h = curl_easy_init();
	if (!h) {
		r->cc = CURLE_OUT_OF_MEMORY;
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, request_ms);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	if (direct)
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	r->cc = curl_easy_perform(h);
	if (r->cc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	if (r->cc == CURLE_WRITE_ERROR && r->body.err)
		snprintf(r->cerr, sizeof(r->cerr), "response larger than %u bytes", RESPONSE_MAX);
	/* Zeroed padding for the JSON scanner, and a NUL for string use. */
	if (r->cc == CURLE_OK && !tpq_buf_reserve(&r->body, TPQ_JSON_PAD))
		memset(r->body.p + r->body.len, 0, TPQ_JSON_PAD);
	else if (r->cc == CURLE_OK)
		r->cc = CURLE_OUT_OF_MEMORY;
}

/* Flags a fetch returns besides its status. */
enum {
	F_TRANSIENT = 1, /* worth another attempt */
	F_ABSENT = 2,    /* the service is not there: the provider is not configured */
};

static bool transient_curl(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
	       cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_SEND_ERROR ||
	       cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;
}

static bool transient_http(long status)
{
	return status >= 500 || status == 429;
}

/* Sets the error for a request that got no response. */
static enum tpq_status transport_error(const struct http_resp *r, const char *who,
				       const char *what, const char *url, int *flags,
				       struct tpq_error *err)
{
	char shown[256];
	url_display(url, shown, sizeof(shown));
	if (transient_curl(r->cc))
		*flags |= F_TRANSIENT;
	tpq_error_where(err, shown);
	return tpq_error_set(err, r->cc == CURLE_OUT_OF_MEMORY ? TPQ_ENOMEM : TPQ_EIO,
			     "%s: %s %s failed: %s", who, what, shown,
			     r->cerr[0] ? r->cerr : curl_easy_strerror(r->cc));
}

/* ---- JSON responses (container, instance metadata, credential_process) ---- */

struct json_field {
	const char *name;
	char *val; /* owned; strings decoded, other scalars as written */
};

static const uint8_t *json_ws(const uint8_t *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* End of the string starting at the quote p (points past the closing quote). */
static const uint8_t *json_str_end(const uint8_t *p)
{
	for (p++; *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p + 1;
}

/* Past the (valid) value at p. */
static const uint8_t *json_skip(const uint8_t *p)
{
	if (*p == '"')
		return json_str_end(p);
	if (*p == '{' || *p == '[') {
		size_t depth = 0;
		do {
			if (*p == '"') {
				p = json_str_end(p);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			p++;
		} while (depth);
		return p;
	}
	while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
	       *p != '\n' && *p != '\r')
		p++;
	return p;
}

/* Fills the fields found among the top-level members of the object in body (padded, valid
 * or rejected here). The last occurrence of a name wins. */
static enum tpq_status json_fields(const uint8_t *body, size_t len, struct json_field *f,
				   size_t nf, const char *who, const char *where,
				   struct tpq_error *err)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	if (tpq_json_validate(body, len, &e)) {
		tpq_error_where(err, where);
		return tpq_error_set(err, TPQ_ECORRUPT, "%s: response from %s is not JSON (%s at byte %lld)",
				     who, where, e.msg, (long long)e.offset);
	}
	const uint8_t *p = json_ws(body);
	if (*p != '{') {
		tpq_error_where(err, where);
		return tpq_error_set(err, TPQ_ECORRUPT, "%s: response from %s is not a JSON object",
				     who, where);
	}
	p = json_ws(p + 1);
	while (*p == '"') {
		const uint8_t *k = p + 1, *ke = json_str_end(p) - 1;
		p = json_ws(json_ws(ke + 1) + 1);
		const uint8_t *v = p;
		p = json_skip(p);
		for (size_t i = 0; i < nf; i++) {
			if (strlen(f[i].name) != (size_t)(ke - k) || memcmp(f[i].name, k, (size_t)(ke - k)))
				continue;
			char *val;
			if (*v == '"') {
				size_t n = (size_t)(p - v) - 2;
				bool lone;
				if ((val = malloc(n + 1)))
					val[tpq_json_unescape(v + 1, n, (uint8_t *)val, &lone)] = 0;
			} else {
				val = dup_n((const char *)v, (size_t)(p - v));
			}
			if (!val)
				return tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
			wipe_free(f[i].val);
			f[i].val = val;
		}
		p = json_ws(p);
		if (*p == ',')
			p = json_ws(p + 1);
	}
	return TPQ_OK;
}

static void json_fields_release(struct json_field *f, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		wipe_free(f[i].val);
		f[i].val = NULL;
	}
}

/* Keys from AccessKeyId, SecretAccessKey, <token_name>, Expiration fields (f[0..3]). */
static enum tpq_status keys_from_fields(struct json_field *f, bool need_expiration,
					struct tpq_creds_keys *k, const char *who,
					const char *where, struct tpq_error *err)
{
	const char *missing = !f[0].val ? f[0].name : !f[1].val ? f[1].name : NULL;
	if (!missing && need_expiration && !f[3].val)
		missing = f[3].name;
	if (missing) {
		tpq_error_where(err, where);
		return tpq_error_set(err, TPQ_ECORRUPT, "%s: response from %s has no %s", who,
				     where, missing);
	}
	const char *bad = !is_token_text(f[0].val) ? f[0].name
			  : !is_token_text(f[1].val) ? f[1].name
			  : f[2].val && *f[2].val && !is_token_text(f[2].val) ? f[2].name
								: NULL;
	int64_t exp = 0;
	if (!bad && f[3].val && !parse_iso8601(f[3].val, &exp))
		bad = f[3].name;
	if (bad) {
		tpq_error_where(err, where);
		return tpq_error_set(err, TPQ_ECORRUPT, "%s: response from %s has a malformed %s",
				     who, where, bad);
	}
	return keys_set(k, f[0].val, f[1].val, f[2].val, exp, who, err);
}

/* ---- The provider ---- */

enum kind { K_ENV, K_PROFILE, K_WEB_IDENTITY, K_PROCESS, K_CONTAINER, K_IMDS };

static const char *const kind_names[] = {
	[K_ENV] = "environment",
	[K_PROFILE] = "shared-files",
	[K_WEB_IDENTITY] = "web-identity",
	[K_PROCESS] = "credential-process",
	[K_CONTAINER] = "container",
	[K_IMDS] = "instance-metadata",
};

struct tpq_creds {
	enum kind kind;
	long connect_ms, request_ms;
	int attempts;
	int64_t refresh_before;
	int64_t (*clock_fn)(void *ctx);
	void *clock_ctx;
	struct env env;
	char *home;
	char *profile;
	/* web identity */
	char *role_arn, *token_file, *session_name, *sts_url;
	/* credential_process */
	char *process_cmd, *process_where;
	/* container */
	char *container_url, *auth_token_file;
	/* instance metadata */
	char *imds_base;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tpq_creds_keys cur;
	bool have, stale, refreshing;
	int64_t retry_after;
	struct tpq_error last_err;
};

static int64_t now_s(const struct tpq_creds *c)
{
	return c->clock_fn ? c->clock_fn(c->clock_ctx) : (int64_t)time(NULL);
}

static enum tpq_status fetch_env(struct tpq_creds *c, struct tpq_creds_keys *k,
				 struct tpq_error *err)
{
	const struct env *e = &c->env;
	return keys_set(k, e->v[E_ACCESS_KEY_ID], e->v[E_SECRET_ACCESS_KEY], e->v[E_SESSION_TOKEN],
			0, kind_names[K_ENV], err);
}

static enum tpq_status fetch_profile(struct tpq_creds *c, struct tpq_creds_keys *k,
				     struct tpq_error *err)
{
	const char *who = kind_names[K_PROFILE];
	struct files f;
	enum tpq_status st = files_load(&c->env, c->home, c->profile, true, &f, who, err);
	if (st)
		goto out;
	const char *akid = files_get(&f, "aws_access_key_id");
	const char *secret = files_get(&f, "aws_secret_access_key");
	const char *missing = !akid ? "aws_access_key_id" : !secret ? "aws_secret_access_key" : NULL;
	const char *token = files_get(&f, "aws_session_token");
	if (missing) {
		st = tpq_error_set(err, TPQ_ENOTFOUND, "%s: profile '%s' has no %s (in %s or %s)",
				   who, c->profile, missing, f.cred_path ? f.cred_path : "-",
				   f.config_path ? f.config_path : "-");
	} else if (!is_token_text(akid) || !is_token_text(secret) ||
		   (token && *token && !is_token_text(token))) {
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: profile '%s' has a malformed %s", who,
				   c->profile,
				   !is_token_text(akid)     ? "aws_access_key_id"
				   : !is_token_text(secret) ? "aws_secret_access_key"
							    : "aws_session_token");
	} else {
		st = keys_set(k, akid, secret, token, 0, who, err);
	}
out:
	files_release(&f);
	return st;
}

/* ---- STS AssumeRoleWithWebIdentity ---- */

static void form_put(struct tpq_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			tpq_buf_put_u8(b, ch);
		} else {
			char t[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			tpq_buf_put(b, t, 3);
		}
	}
}

enum sts_field { S_AKID, S_SECRET, S_TOKEN, S_EXPIRATION, S_CODE, S_MESSAGE, S_COUNT };

struct sts_parse {
	int depth;
	int parent_kind[16];   /* per open element: 1 Credentials, 2 Error, 0 other */
	int target;            /* field receiving text, or -1 */
	struct tpq_buf text[S_COUNT];
	bool seen[S_COUNT];
};

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');
	return colon ? colon + 1 : name;
}

static void XMLCALL sts_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct sts_parse *sp = ud;
	const char *n = local_name(name);
	int parent = sp->depth > 0 && sp->depth <= 16 ? sp->parent_kind[sp->depth - 1] : 0;
	sp->target = -1;
	static const char *const cred_names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
						 "Expiration"};
	if (parent == 1) {
		for (int i = 0; i < 4; i++)
			if (!strcmp(n, cred_names[i]))
				sp->target = i;
	} else if (parent == 2) {
		if (!strcmp(n, "Code"))
			sp->target = S_CODE;
		else if (!strcmp(n, "Message"))
			sp->target = S_MESSAGE;
	}
	if (sp->target >= 0) {
		tpq_buf_reset(&sp->text[sp->target]);
		sp->seen[sp->target] = true;
	}
	if (sp->depth < 16)
		sp->parent_kind[sp->depth] = !strcmp(n, "Credentials") ? 1 : !strcmp(n, "Error") ? 2 : 0;
	sp->depth++;
}

static void XMLCALL sts_end(void *ud, const XML_Char *name)
{
	struct sts_parse *sp = ud;
	sp->depth--;
	sp->target = -1;
}

static void XMLCALL sts_text(void *ud, const XML_Char *s, int len)
{
	struct sts_parse *sp = ud;
	if (sp->target >= 0 && len > 0)
		tpq_buf_put(&sp->text[sp->target], s, (size_t)len);
}

/* Parses body into sp; the texts are NUL-terminated. Returns 0 or -1 (not XML). */
static int sts_parse_body(struct sts_parse *sp, const char *body, size_t len)
{
	memset(sp, 0, sizeof(*sp));
	sp->target = -1;
	for (int i = 0; i < S_COUNT; i++) {
		tpq_buf_init(&sp->text[i]);
		sp->text[i].limit = RESPONSE_MAX;
	}
	XML_Parser x = XML_ParserCreate(NULL);
	if (!x)
		return -1;
	XML_SetUserData(x, sp);
	XML_SetElementHandler(x, sts_start, sts_end);
	XML_SetCharacterDataHandler(x, sts_text);
	int ok = XML_Parse(x, body, (int)len, 1) == XML_STATUS_OK;
	XML_ParserFree(x);
	for (int i = 0; i < S_COUNT; i++)
		tpq_buf_put_u8(&sp->text[i], 0);
	for (int i = 0; i < S_COUNT; i++)
		if (sp->text[i].err)
			ok = 0;
	return ok ? 0 : -1;
}

static void sts_parse_release(struct sts_parse *sp)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (sp->text[i].p)
			explicit_bzero(sp->text[i].p, sp->text[i].cap);
		tpq_buf_release(&sp->text[i]);
	}
}

static const char *sts_text_of(const struct sts_parse *sp, int f)
{
	return sp->seen[f] && sp->text[f].p ? (const char *)sp->text[f].p : NULL;
}

static enum tpq_status fetch_web_identity(struct tpq_creds *c, struct tpq_creds_keys *k,
					  int *flags, struct tpq_error *err)
{
	const char *who = kind_names[K_WEB_IDENTITY];
	char shown[256];
	url_display(c->sts_url, shown, sizeof(shown));
	char *token = NULL;
	enum tpq_status st = read_token_file(c->token_file, who, &token, err);
	if (st)
		return st;
	struct tpq_buf body;
	tpq_buf_init(&body);
	static const char head[] = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=";
	static const char session[] = "&RoleSessionName=", wit[] = "&WebIdentityToken=";
	tpq_buf_put(&body, head, sizeof(head) - 1);
	form_put(&body, c->role_arn);
	tpq_buf_put(&body, session, sizeof(session) - 1);
	form_put(&body, c->session_name);
	tpq_buf_put(&body, wit, sizeof(wit) - 1);
	form_put(&body, token);
	tpq_buf_put_u8(&body, 0);
	struct curl_slist *h = NULL, *h2;
	h2 = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	h = h2 ? curl_slist_append(h2, "Expect:") : NULL;
	if (!h)
		curl_slist_free_all(h2);
	struct http_resp r;
	memset(&r, 0, sizeof(r));
	struct sts_parse sp;
	memset(&sp, 0, sizeof(sp));
	if (body.err || !h) {
		st = tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
		goto out;
	}
	http_do(c->connect_ms, c->request_ms, NULL, c->sts_url, h, (const char *)body.p,
		body.len - 1, false, &r);
	if (r.cc != CURLE_OK) {
		st = transport_error(&r, who, "STS AssumeRoleWithWebIdentity at", c->sts_url, flags,
				     err);
		goto out;
	}
	int xml_bad = sts_parse_body(&sp, (const char *)r.body.p, r.body.len);
	tpq_error_where(err, shown);
	if (r.status != 200) {
		const char *code = xml_bad ? NULL : sts_text_of(&sp, S_CODE);
		const char *msg = xml_bad ? NULL : sts_text_of(&sp, S_MESSAGE);
		char qcode[QUOTE_MAX + 1] = "", qmsg[QUOTE_MAX + 1] = "";
		if (code)
			quote_server_text(qcode, code, strlen(code), token, NULL);
		if (msg)
			quote_server_text(qmsg, msg, strlen(msg), token, NULL);
		if (transient_http(r.status) ||
		    (code && (!strcmp(code, "IDPCommunicationError") || !strcmp(code, "Throttling"))))
			*flags |= F_TRANSIENT;
		st = tpq_error_set(err, TPQ_EIO, "%s: STS AssumeRoleWithWebIdentity at %s for %s failed: HTTP %ld%s%s%s%s",
				   who, shown, c->role_arn, r.status, code ? " " : "", qcode,
				   msg ? ": " : "", qmsg);
		goto out;
	}
	if (xml_bad) {
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: STS response from %s is not XML", who,
				   shown);
		goto out;
	}
	static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
					    "Expiration"};
	for (int i = 0; i < 4; i++) {
		const char *v = sts_text_of(&sp, i);
		int64_t exp;
		if (!v || !is_token_text(v) || (i == S_EXPIRATION && !parse_iso8601(v, &exp))) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "%s: STS response from %s has %s Credentials/%s",
					   who, shown, v ? "a malformed" : "no", names[i]);
			goto out;
		}
	}
	int64_t exp = 0;
	parse_iso8601(sts_text_of(&sp, S_EXPIRATION), &exp);
	st = keys_set(k, sts_text_of(&sp, S_AKID), sts_text_of(&sp, S_SECRET),
		      sts_text_of(&sp, S_TOKEN), exp, who, err);
out:
	sts_parse_release(&sp);
	http_resp_release(&r);
	curl_slist_free_all(h);
	if (body.p)
		explicit_bzero(body.p, body.cap);
	tpq_buf_release(&body);
	wipe_free(token);
	return st;
}

/* ---- credential_process ---- */

static enum tpq_status fetch_process(struct tpq_creds *c, struct tpq_creds_keys *k,
				     struct tpq_error *err)
{
	const char *who = kind_names[K_PROCESS];
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		if (err)
			err->sys_errno = errno;
		return tpq_error_set(err, TPQ_EIO, "%s: pipe: %s", who, strerror(errno));
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	char *argv[] = {"sh", "-c", c->process_cmd, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	tpq_error_where(err, c->process_where);
	if (rc) {
		close(pfd[0]);
		if (err)
			err->sys_errno = rc;
		return tpq_error_set(err, TPQ_EIO, "%s: cannot start the credential_process of profile '%s' (%s): %s",
				     who, c->profile, c->process_where, strerror(rc));
	}
	struct tpq_buf out;
	tpq_buf_init(&out);
	out.limit = RESPONSE_MAX + TPQ_JSON_PAD;
	bool too_big = false;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out.len + (size_t)n > RESPONSE_MAX)
			too_big = true; /* keep draining so the child does not block */
		else
			tpq_buf_put(&out, chunk, (size_t)n);
		explicit_bzero(chunk, sizeof(chunk));
	}
	close(pfd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	enum tpq_status st = TPQ_OK;
	struct json_field f[] = {{"AccessKeyId", NULL},
				 {"SecretAccessKey", NULL},
				 {"SessionToken", NULL},
				 {"Expiration", NULL},
				 {"Version", NULL}};
	char where[300];
	snprintf(where, sizeof(where), "the credential_process of profile '%s'", c->profile);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		st = tpq_error_set(err, TPQ_EIO, "%s: %s (%s) %s %d", who, where, c->process_where,
				   WIFEXITED(status) ? "exited with status" : "was killed by signal",
				   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto out;
	}
	if (too_big || tpq_buf_reserve(&out, TPQ_JSON_PAD)) {
		st = tpq_error_set(err, too_big ? TPQ_ELIMIT : TPQ_ENOMEM, "%s: %s wrote %s", who,
				   where, too_big ? "too much" : "more than memory allows");
		goto out;
	}
	memset(out.p + out.len, 0, TPQ_JSON_PAD);
	st = json_fields(out.p, out.len, f, 5, who, where, err);
	if (!st && (!f[4].val || strcmp(f[4].val, "1"))) {
		st = tpq_error_set(err, TPQ_EUNSUPPORTED, "%s: %s printed %s Version (want 1)", who,
				   where, f[4].val ? "an unsupported" : "no");
	}
	if (!st)
		st = keys_from_fields(f, false, k, who, where, err);
out:
	json_fields_release(f, 5);
	if (out.p)
		explicit_bzero(out.p, out.cap);
	tpq_buf_release(&out);
	return st;
}

/* ---- Container (ECS, EKS pod identity) ---- */

static enum tpq_status fetch_container(struct tpq_creds *c, struct tpq_creds_keys *k, int *flags,
				       struct tpq_error *err)
{
	const char *who = kind_names[K_CONTAINER];
	char shown[256];
	url_display(c->container_url, shown, sizeof(shown));
	char *token = NULL, *hdr = NULL;
	const char *from = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
	enum tpq_status st = TPQ_OK;
	if (c->auth_token_file) {
		st = read_token_file(c->auth_token_file, who, &token, err);
		from = c->auth_token_file;
	} else if (c->env.v[E_ECS_TOKEN]) {
		token = strdup(c->env.v[E_ECS_TOKEN]);
		if (!token)
			st = tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
	}
	if (st)
		return st;
	if (token && strpbrk(token, "\r\n")) {
		wipe_free(token);
		return tpq_error_set(err, TPQ_EINVAL, "%s: the authorization token from %s holds a line break",
				     who, from);
	}
	struct curl_slist *h = NULL;
	if (token) {
		if (asprintf(&hdr, "Authorization: %s", token) < 0)
			hdr = NULL;
		if (!hdr || !(h = curl_slist_append(NULL, hdr))) {
			st = tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
			goto out;
		}
	}
	struct http_resp r;
	http_do(c->connect_ms, c->request_ms, NULL, c->container_url, h, NULL, 0, true, &r);
	if (r.cc != CURLE_OK) {
		st = transport_error(&r, who, "GET", c->container_url, flags, err);
		goto out_resp;
	}
	tpq_error_where(err, shown);
	struct json_field f[] = {{"AccessKeyId", NULL},
				 {"SecretAccessKey", NULL},
				 {"Token", NULL},
				 {"Expiration", NULL},
				 {"code", NULL},
				 {"message", NULL}};
	if (r.status != 200) {
		struct tpq_error ignore;
		tpq_error_clear(&ignore);
		json_fields(r.body.p, r.body.len, f, 6, who, shown, &ignore);
		char qcode[QUOTE_MAX + 1] = "", qmsg[QUOTE_MAX + 1] = "";
		if (f[4].val)
			quote_server_text(qcode, f[4].val, strlen(f[4].val), token, NULL);
		if (f[5].val)
			quote_server_text(qmsg, f[5].val, strlen(f[5].val), token, NULL);
		if (transient_http(r.status))
			*flags |= F_TRANSIENT;
		st = tpq_error_set(err, TPQ_EIO, "%s: GET %s failed: HTTP %ld%s%s%s%s", who, shown,
				   r.status, f[4].val ? " " : "", qcode, f[5].val ? ": " : "", qmsg);
	} else {
		st = json_fields(r.body.p, r.body.len, f, 6, who, shown, err);
		if (!st)
			st = keys_from_fields(f, true, k, who, shown, err);
	}
	json_fields_release(f, 6);
out_resp:
	http_resp_release(&r);
out:
	curl_slist_free_all(h);
	wipe_free(hdr);
	wipe_free(token);
	return st;
}

/* ---- EC2 instance metadata (IMDSv2) ---- */

static enum tpq_status fetch_imds(struct tpq_creds *c, struct tpq_creds_keys *k, int *flags,
				  struct tpq_error *err)
{
	const char *who = kind_names[K_IMDS];
	enum tpq_status st = TPQ_OK;
	char *url = NULL, *hdr = NULL, *role = NULL;
	struct curl_slist *h = NULL;
	struct http_resp r;
	memset(&r, 0, sizeof(r));
	struct json_field f[] = {{"AccessKeyId", NULL},
				 {"SecretAccessKey", NULL},
				 {"Token", NULL},
				 {"Expiration", NULL},
				 {"Code", NULL}};

	/* 1. A session token. "Content-Type:" removes the form type POSTFIELDS implies. */
	if (asprintf(&url, "%s/latest/api/token", c->imds_base) < 0)
		url = NULL;
	struct curl_slist *h2 = curl_slist_append(NULL, "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	h = h2 ? curl_slist_append(h2, "Content-Type:") : NULL;
	if (!h)
		curl_slist_free_all(h2);
	if (!url || !h)
		goto oom;
	http_do(c->connect_ms, c->request_ms, "PUT", url, h, "", 0, true, &r);
	curl_slist_free_all(h);
	h = NULL;
	if (r.cc != CURLE_OK) {
		*flags |= F_ABSENT;
		st = transport_error(&r, who, "IMDSv2 token request to", url, flags, err);
		goto out;
	}
	if (r.status != 200) {
		/* Whatever answers without a token (IMDS turned off, something else at the
		 * address) is no instance metadata service for us. */
		*flags |= F_ABSENT;
		if (transient_http(r.status))
			*flags |= F_TRANSIENT;
		tpq_error_where(err, url);
		st = tpq_error_set(err, TPQ_EIO, "%s: IMDSv2 token request to %s failed: HTTP %ld%s", who, url,
				   r.status,
				   r.status == 403   ? " (metadata access disabled on this instance?)"
				   : r.status == 404 || r.status == 405 ? " (no IMDSv2 here; IMDSv1 is not used)"
									 : "");
		goto out;
	}
	const char *ta = (const char *)r.body.p, *tb = ta + r.body.len;
	trim(&ta, &tb);
	char *imds_token = dup_n(ta, (size_t)(tb - ta));
	http_resp_release(&r);
	if (!imds_token)
		goto oom;
	bool token_ok = is_token_text(imds_token);
	if (token_ok && asprintf(&hdr, "X-aws-ec2-metadata-token: %s", imds_token) < 0)
		hdr = NULL;
	wipe_free(imds_token);
	if (!token_ok) {
		tpq_error_where(err, url);
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: IMDSv2 token from %s is malformed", who, url);
		goto out;
	}
	if (!hdr || !(h = curl_slist_append(NULL, hdr)))
		goto oom;

	/* 2. The role name. */
	free(url);
	if (asprintf(&url, "%s" IMDS_CREDS_PATH, c->imds_base) < 0) {
		url = NULL;
		goto oom;
	}
	http_do(c->connect_ms, c->request_ms, NULL, url, h, NULL, 0, true, &r);
	if (r.cc != CURLE_OK) {
		st = transport_error(&r, who, "GET", url, flags, err);
		goto out;
	}
	tpq_error_where(err, url);
	if (r.status != 200) {
		if (r.status == 404)
			*flags |= F_ABSENT;
		if (transient_http(r.status))
			*flags |= F_TRANSIENT;
		st = tpq_error_set(err, TPQ_EIO, "%s: GET %s failed: HTTP %ld%s", who, url, r.status,
				   r.status == 404 ? " (no IAM role attached to the instance)" : "");
		goto out;
	}
	const char *ra = (const char *)r.body.p, *rb = ra + strcspn(ra, "\r\n");
	trim(&ra, &rb);
	role = dup_n(ra, (size_t)(rb - ra));
	http_resp_release(&r);
	if (!role)
		goto oom;
	if (!is_token_text(role) || strpbrk(role, "/?#%")) {
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: GET %s returned a malformed role name", who,
				   url);
		goto out;
	}

	/* 3. The role's credentials. */
	free(url);
	if (asprintf(&url, "%s" IMDS_CREDS_PATH "%s", c->imds_base, role) < 0) {
		url = NULL;
		goto oom;
	}
	http_do(c->connect_ms, c->request_ms, NULL, url, h, NULL, 0, true, &r);
	if (r.cc != CURLE_OK) {
		st = transport_error(&r, who, "GET", url, flags, err);
		goto out;
	}
	tpq_error_where(err, url);
	if (r.status != 200) {
		if (transient_http(r.status))
			*flags |= F_TRANSIENT;
		st = tpq_error_set(err, TPQ_EIO, "%s: GET %s failed: HTTP %ld", who, url, r.status);
		goto out;
	}
	st = json_fields(r.body.p, r.body.len, f, 5, who, url, err);
	if (!st && f[4].val && strcmp(f[4].val, "Success")) {
		char q[QUOTE_MAX + 1];
		quote_server_text(q, f[4].val, strlen(f[4].val), NULL, NULL);
		st = tpq_error_set(err, TPQ_EIO, "%s: GET %s returned Code %s", who, url, q);
	}
	if (!st)
		st = keys_from_fields(f, true, k, who, url, err);
	goto out;
oom:
	st = tpq_error_set(err, TPQ_ENOMEM, "%s: out of memory", who);
out:
	json_fields_release(f, 5);
	http_resp_release(&r);
	curl_slist_free_all(h);
	wipe_free(hdr);
	free(role);
	free(url);
	return st;
}

/* ---- Fetch with retries ---- */

static enum tpq_status fetch_once(struct tpq_creds *c, struct tpq_creds_keys *k, int *flags,
				  struct tpq_error *err)
{
	switch (c->kind) {
	case K_ENV: return fetch_env(c, k, err);
	case K_PROFILE: return fetch_profile(c, k, err);
	case K_WEB_IDENTITY: return fetch_web_identity(c, k, flags, err);
	case K_PROCESS: return fetch_process(c, k, err);
	case K_CONTAINER: return fetch_container(c, k, flags, err);
	case K_IMDS: return fetch_imds(c, k, flags, err);
	}
	return tpq_error_set(err, TPQ_EINVAL, "credentials: no provider");
}

/* Fetches with up to c->attempts attempts for transient failures. `probe`: the first fetch
 * of the instance metadata provider, where F_ABSENT ends at once (not on EC2). */
static enum tpq_status fetch(struct tpq_creds *c, struct tpq_creds_keys *k, bool probe,
			     int *flags_out, struct tpq_error *err)
{
	enum tpq_status st;
	int flags = 0;
	for (int attempt = 1;; attempt++) {
		tpq_error_clear(err);
		flags = 0;
		st = fetch_once(c, k, &flags, err);
		if (!st || (probe && (flags & F_ABSENT)) || !(flags & F_TRANSIENT) ||
		    attempt >= c->attempts)
			break;
		long ms = 100L << (attempt - 1 < 4 ? attempt - 1 : 4);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (flags_out)
		*flags_out = flags;
	if (!st && k->expiration && k->expiration <= now_s(c)) {
		tpq_creds_keys_release(k);
		st = tpq_error_set(err, TPQ_ECORRUPT, "%s: the credentials received have already expired",
				   kind_names[c->kind]);
	}
	return st;
}

/* ---- Choosing the provider ---- */

/* Why each provider passed, for the "no credentials" message. */
struct why {
	char s[480];
	size_t n;
};

static void why_add(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(struct why *w, const char *fmt, ...)
{
	if (w->n >= sizeof(w->s) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->s + w->n, sizeof(w->s) - w->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->n += (size_t)n;
	if (w->n > sizeof(w->s) - 1)
		w->n = sizeof(w->s) - 1;
}

static enum tpq_status set_str(char **dst, const char *src, struct tpq_error *err)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
	if (src && !*dst)
		return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
	return TPQ_OK;
}

/* The STS endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else regional (global without a
 * region). */
static enum tpq_status choose_sts_url(struct tpq_creds *c, const struct files *f,
				      struct tpq_error *err)
{
	const struct env *e = &c->env;
	const char *ep = e->v[E_ENDPOINT_STS] ? e->v[E_ENDPOINT_STS] : e->v[E_ENDPOINT];
	if (ep)
		return set_str(&c->sts_url, ep, err);
	const char *from;
	const char *region = region_of(e, f, &from);
	if (region && !region_ok(region)) {
		tpq_error_where(err, from);
		return tpq_error_set(err, TPQ_EINVAL, "web-identity: region '%.64s' (from %s) is not a region name",
				     region, from);
	}
	int n = region ? asprintf(&c->sts_url, "https://sts.%s.amazonaws.com%s", region,
				  !strncmp(region, "cn-", 3) ? ".cn" : "")
		       : asprintf(&c->sts_url, "https://sts.amazonaws.com");
	if (n < 0) {
		c->sts_url = NULL;
		return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
	}
	return TPQ_OK;
}

static enum tpq_status choose_session_name(struct tpq_creds *c, const char *name,
					   struct tpq_error *err)
{
	if (name)
		return set_str(&c->session_name, name, err);
	if (asprintf(&c->session_name, "trailpq-%lld", (long long)now_s(c)) < 0) {
		c->session_name = NULL;
		return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
	}
	return TPQ_OK;
}

/* Each choose_* step returns an error, or TPQ_OK with either c->kind set (this provider is
 * configured) or *passed set and the reason added to w. */

/* 2. The shared files. */
static enum tpq_status choose_profile(struct tpq_creds *c, bool explicit_profile, struct why *w,
				      bool *passed, struct tpq_error *err)
{
	const char *who = kind_names[K_PROFILE];
	struct files f;
	enum tpq_status st = files_load(&c->env, c->home, c->profile, true, &f, who, err);
	if (st)
		goto out;
	const char *cp = f.cred_path ? f.cred_path : "-", *fp = f.config_path ? f.config_path : "-";
	if (!f.cred.found && !f.config.found) {
		if (explicit_profile) {
			st = tpq_error_set(err, TPQ_ENOTFOUND, "%s: profile '%s' not found in %s or %s",
					   who, c->profile, cp, fp);
		} else {
			*passed = true;
			why_add(w, "; %s: no profile '%s' in %s or %s", who, c->profile, cp, fp);
		}
		goto out;
	}
	const char *role_arn = files_get(&f, "role_arn");
	const char *where = f.cred.found ? cp : fp;
	if (role_arn) {
		tpq_error_where(err, where);
		const char *wif = files_get(&f, "web_identity_token_file");
		if (!wif) {
			st = tpq_error_set(err, TPQ_EUNSUPPORTED, "%s: profile '%s' assumes role %s with %s, which trailpq does not support (only web_identity_token_file)",
					   who, c->profile, role_arn,
					   files_get(&f, "source_profile") ? "source_profile"
					   : files_get(&f, "credential_source") ? "credential_source"
										: "no source");
			goto out;
		}
		c->kind = K_WEB_IDENTITY;
		if (!(st = set_str(&c->role_arn, role_arn, err)) &&
		    !(st = set_str(&c->token_file, wif, err)) &&
		    !(st = choose_session_name(c, files_get(&f, "role_session_name"), err)))
			st = choose_sts_url(c, &f, err);
		goto out;
	}
	if (files_get(&f, "aws_access_key_id") || files_get(&f, "aws_secret_access_key")) {
		c->kind = K_PROFILE;
		goto out;
	}
	const char *proc = files_get(&f, "credential_process");
	if (proc) {
		c->kind = K_PROCESS;
		if (!(st = set_str(&c->process_cmd, proc, err)))
			st = set_str(&c->process_where, where, err);
		goto out;
	}
	if (files_get(&f, "sso_session") || files_get(&f, "sso_start_url")) {
		tpq_error_where(err, where);
		st = tpq_error_set(err, TPQ_EUNSUPPORTED, "%s: profile '%s' uses IAM Identity Center (SSO), which trailpq does not support; run eval \"$(aws configure export-credentials --profile %s --format env)\" first",
				   who, c->profile, c->profile);
		goto out;
	}
	*passed = true;
	why_add(w, "; %s: profile '%s' has no credentials", who, c->profile);
out:
	files_release(&f);
	return st;
}

/* 3. Web identity from the environment. */
static enum tpq_status choose_web_identity(struct tpq_creds *c, struct why *w, bool *passed,
					   struct tpq_error *err)
{
	const struct env *e = &c->env;
	if (!e->v[E_WEB_TOKEN_FILE] || !e->v[E_ROLE_ARN]) {
		why_add(w, "; web-identity: %s not set",
			e->v[E_WEB_TOKEN_FILE] ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
		*passed = true;
		return TPQ_OK;
	}
	c->kind = K_WEB_IDENTITY;
	enum tpq_status st;
	if ((st = set_str(&c->role_arn, e->v[E_ROLE_ARN], err)) ||
	    (st = set_str(&c->token_file, e->v[E_WEB_TOKEN_FILE], err)) ||
	    (st = choose_session_name(c, e->v[E_ROLE_SESSION_NAME], err)))
		return st;
	/* The region may come from the profile's config section. */
	struct files f;
	memset(&f, 0, sizeof(f));
	if (!e->v[E_ENDPOINT_STS] && !e->v[E_ENDPOINT] && !e->v[E_REGION] &&
	    !e->v[E_DEFAULT_REGION])
		st = files_load(e, c->home, c->profile, false, &f, kind_names[K_WEB_IDENTITY], err);
	if (!st)
		st = choose_sts_url(c, &f, err);
	files_release(&f);
	return st;
}

/* Whether an http:// host may serve container credentials: loopback, or the ECS and EKS
 * pod identity link-local addresses, as the SDKs allow. */
static bool container_host_ok(const char *h, size_t n)
{
	char host[64];
	if (n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = 0;
	if (!strcasecmp(host, "localhost") || !strcmp(host, "169.254.170.2") ||
	    !strcmp(host, "169.254.170.23"))
		return true;
	unsigned char a[16];
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char loop[16] = {[15] = 1};
		static const unsigned char eks[16] = {0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23};
		return !memcmp(a, loop, 16) || !memcmp(a, eks, 16);
	}
	return false;
}

/* 4. The container endpoint. */
static enum tpq_status choose_container(struct tpq_creds *c, const char *base, struct why *w,
					bool *passed, struct tpq_error *err)
{
	const struct env *e = &c->env;
	const char *who = kind_names[K_CONTAINER];
	const char *rel = e->v[E_ECS_RELATIVE], *full = e->v[E_ECS_FULL];
	if (!rel && !full) {
		why_add(w, "; %s: AWS_CONTAINER_CREDENTIALS_{RELATIVE,FULL}_URI not set", who);
		*passed = true;
		return TPQ_OK;
	}
	c->kind = K_CONTAINER;
	char shown[256];
	if (rel) {
		if (rel[0] != '/')
			return tpq_error_set(err, TPQ_EINVAL, "%s: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with '/'",
					     who);
		if (asprintf(&c->container_url, "%s%s", base, rel) < 0) {
			c->container_url = NULL;
			return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
		}
	} else {
		url_display(full, shown, sizeof(shown));
		bool https = !strncasecmp(full, "https://", 8), http = !strncasecmp(full, "http://", 7);
		if (http) {
			const char *auth = full + 7;
			size_t alen = strcspn(auth, "/?#");
			const char *at = memchr(auth, '@', alen);
			const char *host = at ? at + 1 : auth;
			size_t hlen = alen - (size_t)(host - auth);
			if (hlen && host[0] == '[') {
				const char *close = memchr(host, ']', hlen);
				hlen = close ? (size_t)(close - host - 1) : 0;
				host++;
			} else {
				const char *colon = memchr(host, ':', hlen);
				if (colon)
					hlen = (size_t)(colon - host);
			}
			if (!container_host_ok(host, hlen))
				http = false;
		}
		if (!https && !http) {
			tpq_error_where(err, shown);
			return tpq_error_set(err, TPQ_EINVAL, "%s: AWS_CONTAINER_CREDENTIALS_FULL_URI %s must use https, or http to a loopback host",
					     who, shown);
		}
		enum tpq_status st = set_str(&c->container_url, full, err);
		if (st)
			return st;
	}
	return set_str(&c->auth_token_file, e->v[E_ECS_TOKEN_FILE], err);
}

/* 5. Instance metadata; the probe happens in the first fetch. */
static enum tpq_status choose_imds(struct tpq_creds *c, struct why *w, bool *passed,
				   struct tpq_error *err)
{
	const struct env *e = &c->env;
	const char *who = kind_names[K_IMDS];
	const char *off = e->v[E_IMDS_DISABLED];
	if (off && !strcasecmp(off, "true")) {
		why_add(w, "; %s: AWS_EC2_METADATA_DISABLED=true", who);
		*passed = true;
		return TPQ_OK;
	}
	c->kind = K_IMDS;
	const char *base = e->v[E_IMDS_ENDPOINT];
	const char *mode = e->v[E_IMDS_MODE];
	if (!base) {
		if (mode && !strcasecmp(mode, "IPv6"))
			base = IMDS_V6;
		else if (!mode || !strcasecmp(mode, "IPv4"))
			base = IMDS_V4;
		else
			return tpq_error_set(err, TPQ_EINVAL, "%s: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6",
					     who);
	}
	/* Without user info, query or fragment, the URLs built on it can be quoted as they are. */
	if ((strncasecmp(base, "http://", 7) && strncasecmp(base, "https://", 8)) ||
	    strpbrk(base, "@?#"))
		return tpq_error_set(err, TPQ_EINVAL, "%s: AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http(s) URL without user info or query",
				     who);
	enum tpq_status st = set_str(&c->imds_base, base, err);
	size_t n = st ? 0 : strlen(c->imds_base);
	while (n > 0 && c->imds_base[n - 1] == '/')
		c->imds_base[--n] = 0;
	return st;
}

/* Walks the chain: TPQ_OK with c->cur filled, else the error. */
static enum tpq_status resolve(struct tpq_creds *c, const struct tpq_creds_options *opt,
			       bool explicit_profile, struct tpq_error *err)
{
	const struct env *e = &c->env;
	struct why w = {.n = 0};
	enum tpq_status st;

	/* As in the AWS CLI, a profile named on the command line means that profile: the
	 * environment's keys are not used (AWS_PROFILE does not have this effect). */
	if (opt->profile && *opt->profile) {
		why_add(&w, "environment: skipped for the profile option");
	} else if (e->v[E_ACCESS_KEY_ID] || e->v[E_SECRET_ACCESS_KEY]) {
		c->kind = K_ENV;
		if (!e->v[E_ACCESS_KEY_ID] || !e->v[E_SECRET_ACCESS_KEY])
			return tpq_error_set(err, TPQ_EINVAL, "environment: %s is set but %s is not",
					     e->v[E_ACCESS_KEY_ID] ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
					     e->v[E_ACCESS_KEY_ID] ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		if (!is_token_text(e->v[E_ACCESS_KEY_ID]) || !is_token_text(e->v[E_SECRET_ACCESS_KEY]) ||
		    (e->v[E_SESSION_TOKEN] && !is_token_text(e->v[E_SESSION_TOKEN])))
			return tpq_error_set(err, TPQ_EINVAL, "environment: an AWS_* credential variable holds spaces or control characters");
		goto fetch;
	} else {
		why_add(&w, "environment: AWS_ACCESS_KEY_ID not set");
	}

	bool passed = false;
	st = choose_profile(c, explicit_profile, &w, &passed, err);
	if (!st && passed) {
		passed = false;
		st = choose_web_identity(c, &w, &passed, err);
	}
	if (!st && passed) {
		passed = false;
		st = choose_container(c, opt->container_base_url ? opt->container_base_url : ECS_BASE,
				      &w, &passed, err);
	}
	if (!st && passed) {
		passed = false;
		st = choose_imds(c, &w, &passed, err);
	}
	if (st)
		return st;
	if (passed)
		goto none;
fetch:;
	int flags = 0;
	struct tpq_error e1;
	tpq_error_clear(&e1);
	st = fetch(c, &c->cur, c->kind == K_IMDS, &flags, &e1);
	if (st && c->kind == K_IMDS && (flags & F_ABSENT)) {
		why_add(&w, "; %s", e1.msg);
		goto none;
	}
	if (st) {
		if (err && !err->status)
			*err = e1;
		return st;
	}
	c->have = true;
	c->retry_after = 0;
	return TPQ_OK;
none:
	if (err)
		err->where[0] = 0;
	return tpq_error_set(err, TPQ_ENOTFOUND, "no AWS credentials found (%s)", w.s);
}

void tpq_creds_free(struct tpq_creds *c)
{
	if (!c)
		return;
	tpq_creds_keys_release(&c->cur);
	env_release(&c->env);
	char *strs[] = {c->home, c->profile, c->role_arn, c->token_file, c->session_name,
			c->sts_url, c->process_cmd, c->process_where, c->container_url,
			c->auth_token_file, c->imds_base};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		wipe_free(strs[i]);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	curl_global_cleanup();
}

enum tpq_status tpq_creds_new(const struct tpq_creds_options *opt, struct tpq_creds **out,
			      struct tpq_error *err)
{
	*out = NULL;
	struct tpq_creds_options d;
	if (!opt) {
		tpq_creds_options_init(&d);
		opt = &d;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return tpq_error_set(err, TPQ_EIO, "credentials: libcurl failed to initialize");
	struct tpq_creds *c = calloc(1, sizeof(*c));
	if (!c) {
		curl_global_cleanup();
		return tpq_error_set(err, TPQ_ENOMEM, "credentials: out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	tpq_error_clear(&c->last_err);
	c->connect_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 1000;
	c->request_ms = opt->request_timeout_ms > 0 ? opt->request_timeout_ms : 5000;
	c->attempts = opt->max_attempts > 0 ? opt->max_attempts : 1;
	c->refresh_before = opt->refresh_before_s >= 0 ? opt->refresh_before_s : 0;
	c->clock_fn = opt->clock_fn;
	c->clock_ctx = opt->clock_ctx;
	enum tpq_status st = env_load(opt, &c->env, err);
	bool explicit_profile = false;
	if (!st)
		st = set_str(&c->profile, profile_name(opt, &c->env, &explicit_profile), err);
	if (!st)
		st = set_str(&c->home, opt->home ? opt->home : c->env.v[E_HOME], err);
	if (!st)
		st = resolve(c, opt, explicit_profile, err);
	if (st) {
		tpq_creds_free(c);
		return st;
	}
	*out = c;
	return TPQ_OK;
}

const char *tpq_creds_provider(const struct tpq_creds *c)
{
	return kind_names[c->kind];
}

static enum tpq_status keys_copy(struct tpq_creds_keys *dst, const struct tpq_creds_keys *src,
				 struct tpq_error *err)
{
	return keys_set(dst, src->access_key_id, src->secret_access_key, src->session_token,
			src->expiration, src->provider, err);
}

enum tpq_status tpq_creds_get(struct tpq_creds *c, struct tpq_creds_keys *out,
			      struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	enum tpq_status st;
	bool attempted = false;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		int64_t now = now_s(c);
		int64_t exp = c->cur.expiration;
		bool usable = c->have && !c->stale && (exp == 0 || now < exp);
		bool fresh = usable && (exp == 0 || now < exp - c->refresh_before);
		if (fresh || (usable && (c->refreshing || attempted || now < c->retry_after))) {
			st = keys_copy(out, &c->cur, err);
			break;
		}
		if (c->refreshing) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		/* A failure stands for REFRESH_RETRY_S, and each call tries at most once. */
		if (!usable && c->last_err.status && (attempted || now < c->retry_after)) {
			st = c->last_err.status;
			if (err && !err->status)
				*err = c->last_err;
			break;
		}
		c->refreshing = true;
		attempted = true;
		pthread_mutex_unlock(&c->mu);
		struct tpq_creds_keys k = {0};
		struct tpq_error e;
		tpq_error_clear(&e);
		enum tpq_status fst = fetch(c, &k, false, NULL, &e);
		pthread_mutex_lock(&c->mu);
		c->refreshing = false;
		pthread_cond_broadcast(&c->cv);
		c->retry_after = now_s(c) + REFRESH_RETRY_S;
		if (fst == TPQ_OK) {
			tpq_creds_keys_release(&c->cur);
			c->cur = k;
			c->have = true;
			c->stale = false;
			tpq_error_clear(&c->last_err);
		} else {
			c->last_err = e;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return st;
}

void tpq_creds_invalidate(struct tpq_creds *c, const char *access_key_id)
{
	pthread_mutex_lock(&c->mu);
	if (c->have && access_key_id && c->cur.access_key_id &&
	    !strcmp(c->cur.access_key_id, access_key_id)) {
		c->stale = true;
		c->retry_after = 0;
		tpq_error_clear(&c->last_err);
	}
	pthread_mutex_unlock(&c->mu);
}
