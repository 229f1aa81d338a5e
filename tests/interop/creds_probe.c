/* The HTTP credential providers against tests/interop/fake_aws_endpoints.mjs (run by
 * creds_loopback.sh, which starts the server and passes its port and tokens):
 *
 *   creds_probe PORT WIF_TOKEN ECS_TOKEN SCRATCH_DIR
 *
 * Checks STS web identity, the container endpoint (full and relative URI, token and token
 * file re-read on refresh), IMDSv2 (and that IMDSv1 is never tried), the chain order,
 * retries, refresh with a fake clock, concurrent refresh, and that errors name the endpoint
 * without any secret. Every error message met is printed as "error: ..." so that the
 * script can grep them for secrets too. Exit status 0 when every check passed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "harness.h"
#include "s3/creds.h"

static char base[64];
static const char *wif_token, *ecs_token, *scratch;

/* ---- Fake environment and clock ---- */

struct fake_env {
	const char *names[32];
	char values[32][512];
	int n;
};

static const char *fake_getenv(void *ctx, const char *name)
{
	struct fake_env *e = ctx;
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->names[i], name))
			return e->values[i];
	return NULL;
}

static void env_put(struct fake_env *e, const char *name, const char *value)
{
	int i = 0;
	while (i < e->n && strcmp(e->names[i], name))
		i++;
	if (i == e->n)
		e->names[e->n++] = name;
	snprintf(e->values[i], sizeof(e->values[i]), "%s", value);
}

static void env_base(struct fake_env *e)
{
	memset(e, 0, sizeof(*e));
	env_put(e, "HOME", scratch); /* no .aws there */
	env_put(e, "AWS_EC2_METADATA_DISABLED", "true");
}

static int64_t now_value;

static int64_t fake_clock(void *ctx)
{
	return __atomic_load_n(&now_value, __ATOMIC_SEQ_CST);
}

static void set_now(int64_t t)
{
	__atomic_store_n(&now_value, t, __ATOMIC_SEQ_CST);
}

static void opts(struct tpq_creds_options *o, struct fake_env *e)
{
	tpq_creds_options_init(o);
	o->getenv_fn = fake_getenv;
	o->getenv_ctx = e;
	o->clock_fn = fake_clock;
	o->max_attempts = 1;
	o->request_timeout_ms = 3000;
}

static void show(const char *what, enum tpq_status st, const struct tpq_error *err)
{
	printf("error: %s: %s: %s [%s]\n", what, tpq_status_str(st), err->msg, err->where);
}

static struct tpq_creds *make(struct tpq_creds_options *o, enum tpq_status want,
			      const char *what, struct tpq_error *err)
{
	struct tpq_creds *c = NULL;
	tpq_error_clear(err);
	enum tpq_status st = tpq_creds_new(o, &c, err);
	if (st != want)
		fprintf(stderr, "%s: tpq_creds_new gave %s, want %s: %s\n", what, tpq_status_str(st),
			tpq_status_str(want), err->msg);
	ASSERT_EQ(st, want);
	if (st)
		show(what, st, err);
	return c;
}

/* ---- The fake's control and statistics ---- */

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	char *buf = ud;
	size_t have = strlen(buf), add = size * n;
	if (have + add < 4096) {
		memcpy(buf + have, p, add);
		buf[have + add] = 0;
	}
	return add;
}

static void fake_call(const char *path, const char *post, char *out)
{
	char url[128];
	snprintf(url, sizeof(url), "%s%s", base, path);
	out[0] = 0;
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	if (post)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
	if (curl_easy_perform(h) != CURLE_OK) {
		fprintf(stderr, "cannot reach the fake at %s\n", url);
		exit(2);
	}
	curl_easy_cleanup(h);
}

static long stat_of(const char *name)
{
	char buf[4096], key[64];
	fake_call("/_stats", NULL, buf);
	snprintf(key, sizeof(key), "\"%s\":", name);
	const char *p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void control(const char *json)
{
	char buf[4096];
	fake_call("/_control", json, buf);
}

static void write_file(const char *name, const char *text, char *path_out)
{
	snprintf(path_out, 512, "%s/%s", scratch, name);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path_out);
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, path_out)) {
		perror(path_out);
		exit(2);
	}
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* The messages must not hold anything secret: the tokens we present and every secret the
 * fake issues contain these. */
static void assert_clean(const struct tpq_error *err)
{
	const char *const secrets[] = {wif_token, ecs_token, "fakesecret", "fakesessiontoken",
				       "AQAEAFakeImdsToken"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		ASSERT_TRUE(!has(err->msg, secrets[i]));
		ASSERT_TRUE(!has(err->where, secrets[i]));
	}
}

static void assert_keys(const struct tpq_creds_keys *k, const char *prefix, const char *provider)
{
	ASSERT_TRUE(k->access_key_id && !strncmp(k->access_key_id, prefix, strlen(prefix)));
	ASSERT_TRUE(k->secret_access_key && has(k->secret_access_key, "fakesecret/"));
	ASSERT_TRUE(k->session_token && has(k->session_token, "fakesessiontoken/"));
	ASSERT_STR_EQ(k->provider, provider);
	/* The fake issues keys for an hour. */
	int64_t left = k->expiration - (int64_t)time(NULL);
	ASSERT_TRUE(left > 3500 && left <= 3600);
}

/* ---- STS web identity ---- */

TEST(web_identity)
{
	char tok[512];
	write_file("wif-token", wif_token, tok);
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", tok);
	env_put(&e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/trailpq-reader");
	env_put(&e, "AWS_ROLE_SESSION_NAME", "probe-session");
	env_put(&e, "AWS_ENDPOINT_URL_STS", base);
	env_put(&e, "AWS_ENDPOINT_URL", "http://127.0.0.1:1"); /* _STS wins */
	struct tpq_creds_options o;
	opts(&o, &e);
	set_now(time(NULL));
	long sts0 = stat_of("stsOk");
	struct tpq_error err;
	struct tpq_creds *c = make(&o, TPQ_OK, "web identity", &err);
	if (!c)
		return;
	ASSERT_STR_EQ(tpq_creds_provider(c), "web-identity");
	struct tpq_creds_keys k;
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	assert_keys(&k, "ASIASTS", "web-identity");
	ASSERT_EQ(stat_of("stsOk"), sts0 + 1);
	ASSERT_EQ(stat_of("signed"), 0);
	ASSERT_EQ(stat_of("badRequest"), 0);

	/* Refresh 5 minutes before expiry, not before. */
	char first[64];
	snprintf(first, sizeof(first), "%s", k.access_key_id);
	int64_t exp = k.expiration;
	tpq_creds_keys_release(&k);
	set_now(exp - 301);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, first);
	tpq_creds_keys_release(&k);
	ASSERT_EQ(stat_of("stsOk"), sts0 + 1);
	set_now(exp - 299);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_TRUE(k.access_key_id && strcmp(k.access_key_id, first));
	ASSERT_EQ(stat_of("stsOk"), sts0 + 2);

	/* The token file is re-read: a rotated-out token fails, and the refused keys are not
	 * handed out again. The fake echoes the token in its message; ours must not. */
	write_file("wif-token", "eyJhbGciOiJSUzI1NiJ9.rotated-out-token-value-0123456789.sig", tok);
	tpq_creds_invalidate(c, k.access_key_id);
	tpq_creds_keys_release(&k);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_EIO);
	show("web identity, bad token", TPQ_EIO, &err);
	ASSERT_TRUE(has(err.msg, "InvalidIdentityToken"));
	ASSERT_TRUE(has(err.msg, base));
	ASSERT_TRUE(has(err.msg, "HTTP 400"));
	ASSERT_TRUE(!has(err.msg, "rotated-out-token-value"));
	ASSERT_TRUE(k.access_key_id == NULL);
	assert_clean(&err);
	tpq_creds_free(c);

	/* AWS_ENDPOINT_URL alone, and the profile form of web identity. */
	write_file("wif-token", wif_token, tok);
	env_put(&e, "AWS_ENDPOINT_URL_STS", "");
	env_put(&e, "AWS_ENDPOINT_URL", base);
	c = make(&o, TPQ_OK, "web identity via AWS_ENDPOINT_URL", &err);
	tpq_creds_free(c);
	char cfg[512], text[1024];
	snprintf(text, sizeof(text),
		 "[profile eks]\nrole_arn = arn:aws:iam::123456789012:role/from-profile\n"
		 "web_identity_token_file = %s\n",
		 tok);
	write_file("config", text, cfg);
	env_base(&e);
	env_put(&e, "AWS_CONFIG_FILE", cfg);
	env_put(&e, "AWS_ENDPOINT_URL", base);
	o.profile = "eks";
	long before = stat_of("stsOk");
	c = make(&o, TPQ_OK, "web identity via profile", &err);
	ASSERT_EQ(stat_of("stsOk"), before + 1);
	tpq_creds_free(c);
}

/* Transient failures are retried; permanent ones are not. */
TEST(retries)
{
	char tok[512];
	write_file("wif-token", wif_token, tok);
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", tok);
	env_put(&e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
	env_put(&e, "AWS_ENDPOINT_URL_STS", base);
	struct tpq_creds_options o;
	opts(&o, &e);
	o.max_attempts = 3;
	set_now(time(NULL));
	struct tpq_error err;
	long n0 = stat_of("sts");
	control("{\"failNext\":{\"sts\":2},\"failStatus\":503}");
	struct tpq_creds *c = make(&o, TPQ_OK, "sts after two 503", &err);
	tpq_creds_free(c);
	ASSERT_EQ(stat_of("sts"), n0 + 3);

	o.max_attempts = 1;
	control("{\"failNext\":{\"sts\":1},\"failStatus\":500}");
	c = make(&o, TPQ_EIO, "sts 500, one attempt", &err);
	ASSERT_TRUE(has(err.msg, "HTTP 500"));
	ASSERT_TRUE(has(err.msg, "InternalFailure: while checking [redacted]"));
	assert_clean(&err);
	ASSERT_EQ(stat_of("sts"), n0 + 4);

	/* A 400 is not retried even with attempts left. */
	o.max_attempts = 3;
	write_file("wif-token", "not-the-right-token-0123456789abcdef", tok);
	c = make(&o, TPQ_EIO, "sts 400", &err);
	ASSERT_EQ(stat_of("sts"), n0 + 5);
	ASSERT_TRUE(!has(err.msg, "not-the-right-token"));
	assert_clean(&err);
	write_file("wif-token", wif_token, tok);
}

/* ---- Container ---- */

TEST(container)
{
	char url[128], tokfile[512];
	snprintf(url, sizeof(url), "%s/ecs/creds", base);
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ecs_token);
	struct tpq_creds_options o;
	opts(&o, &e);
	set_now(time(NULL));
	struct tpq_error err;
	long ok0 = stat_of("ecsOk");
	struct tpq_creds *c = make(&o, TPQ_OK, "container, full URI", &err);
	if (c) {
		struct tpq_creds_keys k;
		ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
		assert_keys(&k, "ASIAECS", "container");
		tpq_creds_keys_release(&k);
		tpq_creds_free(c);
	}
	ASSERT_EQ(stat_of("ecsOk"), ok0 + 1);

	/* Relative URI against the test base. */
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "");
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/ecs/creds");
	o.container_base_url = base;
	c = make(&o, TPQ_OK, "container, relative URI", &err);
	tpq_creds_free(c);
	ASSERT_EQ(stat_of("ecsOk"), ok0 + 2);

	/* A wrong token: 401, echoed by the fake, scrubbed by us. */
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-token-0123456789abcdef");
	c = make(&o, TPQ_EIO, "container, wrong token", &err);
	ASSERT_TRUE(has(err.msg, "HTTP 401"));
	ASSERT_TRUE(has(err.msg, "AccessDenied"));
	ASSERT_TRUE(!has(err.msg, "wrong-token-0123456789abcdef"));
	assert_clean(&err);

	/* A server error that echoes the right token. */
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ecs_token);
	control("{\"failNext\":{\"ecs\":1},\"failStatus\":502}");
	c = make(&o, TPQ_EIO, "container, 502", &err);
	ASSERT_TRUE(has(err.msg, "HTTP 502 InternalError: try again with [redacted]"));
	assert_clean(&err);

	/* No token at all where the endpoint wants one. */
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "");
	c = make(&o, TPQ_EIO, "container, no token", &err);
	ASSERT_TRUE(has(err.msg, "HTTP 401"));

	/* The token file wins over the variable and is re-read on every refresh. */
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-token-0123456789abcdef");
	write_file("ecs-token", ecs_token, tokfile);
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile);
	c = make(&o, TPQ_OK, "container, token file", &err);
	if (!c)
		return;
	struct tpq_creds_keys k;
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	write_file("ecs-token", "Bearer rotated-away-0123456789abcdef\n", tokfile);
	tpq_creds_invalidate(c, k.access_key_id);
	tpq_creds_keys_release(&k);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_EIO);
	show("container, rotated token file", TPQ_EIO, &err);
	ASSERT_TRUE(has(err.msg, "HTTP 401"));
	assert_clean(&err);
	ASSERT_TRUE(!has(err.msg, "rotated-away"));
	char line[600];
	snprintf(line, sizeof(line), "%s\n", ecs_token); /* a trailing newline is trimmed */
	write_file("ecs-token", line, tokfile);
	set_now(now_value + 10);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_TRUE(k.access_key_id && !strncmp(k.access_key_id, "ASIAECS", 7));
	tpq_creds_keys_release(&k);
	tpq_creds_free(c);
}

/* ---- Instance metadata ---- */

struct worker {
	struct tpq_creds *c;
	enum tpq_status st;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tpq_creds_keys k;
	struct tpq_error err;
	tpq_error_clear(&err);
	w->st = tpq_creds_get(w->c, &k, &err);
	tpq_creds_keys_release(&k);
	return NULL;
}

TEST(imds)
{
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_EC2_METADATA_DISABLED", "false");
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", base);
	struct tpq_creds_options o;
	opts(&o, &e);
	set_now(time(NULL));
	struct tpq_error err;
	long t0 = stat_of("imdsToken"), r0 = stat_of("imdsRole"), c0 = stat_of("imdsCreds");
	struct tpq_creds *c = make(&o, TPQ_OK, "imds", &err);
	if (!c)
		return;
	struct tpq_creds_keys k;
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	assert_keys(&k, "ASIAIMDS", "instance-metadata");
	ASSERT_EQ(stat_of("imdsToken"), t0 + 1);
	ASSERT_EQ(stat_of("imdsRole"), r0 + 1);
	ASSERT_EQ(stat_of("imdsCreds"), c0 + 1);

	/* Sixteen workers in the refresh window of a slow service: one refresh. */
	int64_t exp = k.expiration;
	tpq_creds_keys_release(&k);
	control("{\"delayMs\":300}");
	set_now(exp - 100);
	pthread_t t[16];
	struct worker w[16];
	for (int i = 0; i < 16; i++) {
		w[i] = (struct worker){c, TPQ_EINVAL};
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		ASSERT_EQ(w[i].st, TPQ_OK);
	}
	control("{\"delayMs\":0}");
	ASSERT_EQ(stat_of("imdsCreds"), c0 + 2);
	ASSERT_EQ(stat_of("imdsToken"), t0 + 2);
	tpq_creds_free(c);

	/* No IMDSv2 (token PUT refused): no credentials, and no IMDSv1 request. */
	control("{\"imdsTokenStatus\":405}");
	c = make(&o, TPQ_ENOTFOUND, "imds without v2", &err);
	ASSERT_TRUE(has(err.msg, "HTTP 405"));
	ASSERT_TRUE(has(err.msg, "IMDSv1 is not used"));
	control("{\"imdsTokenStatus\":200}");
	/* No role attached: the chain ends with "no credentials". */
	control("{\"imdsRole\":\"\"}");
	c = make(&o, TPQ_ENOTFOUND, "imds without a role", &err);
	ASSERT_TRUE(has(err.msg, "no IAM role attached"));
	control("{\"imdsRole\":\"trailpq-test-role\"}");
	/* A failing credentials request is retried. */
	o.max_attempts = 2;
	long c1 = stat_of("imdsCreds");
	control("{\"failNext\":{\"imds\":1},\"failStatus\":500}");
	c = make(&o, TPQ_OK, "imds after one 500", &err);
	tpq_creds_free(c);
	ASSERT_EQ(stat_of("imdsCreds"), c1 + 2);
	ASSERT_EQ(stat_of("imdsV1"), 0);
}

/* ---- Chain order ---- */

TEST(chain_order)
{
	char tok[512], url[128];
	write_file("wif-token", wif_token, tok);
	snprintf(url, sizeof(url), "%s/ecs/creds", base);
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_EC2_METADATA_DISABLED", "");
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", base);
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", url);
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", ecs_token);
	env_put(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", tok);
	env_put(&e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
	env_put(&e, "AWS_ENDPOINT_URL_STS", base);
	env_put(&e, "AWS_ACCESS_KEY_ID", "AKIAENV");
	env_put(&e, "AWS_SECRET_ACCESS_KEY", "env-secret");
	struct tpq_creds_options o;
	opts(&o, &e);
	set_now(time(NULL));
	struct tpq_error err;
	static const char *const order[] = {"environment", "web-identity", "container",
					    "instance-metadata"};
	static const char *const drop[][2] = {{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
					      {"AWS_ROLE_ARN", NULL},
					      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL},
					      {NULL, NULL}};
	for (int i = 0; i < 4; i++) {
		long sts = stat_of("sts"), ecs = stat_of("ecs"), imds = stat_of("imdsToken");
		struct tpq_creds *c = make(&o, TPQ_OK, order[i], &err);
		if (c)
			ASSERT_STR_EQ(tpq_creds_provider(c), order[i]);
		tpq_creds_free(c);
		/* Only the chosen provider was asked. */
		ASSERT_EQ(stat_of("sts") - sts, i == 1);
		ASSERT_EQ(stat_of("ecs") - ecs, i == 2);
		ASSERT_EQ(stat_of("imdsToken") - imds, i == 3);
		for (int j = 0; j < 2; j++)
			if (drop[i][j])
				env_put(&e, drop[i][j], "");
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: creds_probe PORT WIF_TOKEN ECS_TOKEN SCRATCH_DIR\n");
		return 2;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%s", argv[1]);
	wif_token = argv[2];
	ecs_token = argv[3];
	scratch = argv[4];
	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(web_identity);
	RUN(retries);
	RUN(container);
	RUN(imds);
	RUN(chain_order);
	curl_global_cleanup();
	return harness_done();
}
