/* The credentials chain without a network: environment and shared files (profiles, comments,
 * whitespace, overrides, malformed files), credential_process (which also drives the
 * refresh tests: the fake clock and a script whose output the test rewrites), the region
 * resolver, configuration errors of the HTTP providers, and no secret in any message.
 * The HTTP providers themselves are tested against a fake server by
 * tests/interop/creds_loopback.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "s3/creds.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TOKEN "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENvalue0123456789"

/* ---- A fake environment and clock ---- */

struct fake_env {
	const char *names[32];
	const char *values[32];
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

/* Values are copied (callers pass path_of's rotating buffers) into a pool that env_base
 * empties: one fake environment is alive at a time. */
static char env_pool[64][512];
static int env_pool_n;

static void env_put(struct fake_env *e, const char *name, const char *value_in)
{
	if (env_pool_n == 64 || strlen(value_in) >= sizeof(env_pool[0])) {
		fprintf(stderr, "env_put: pool exhausted\n");
		exit(2);
	}
	char *value = env_pool[env_pool_n++];
	strcpy(value, value_in);
	for (int i = 0; i < e->n; i++) {
		if (!strcmp(e->names[i], name)) {
			e->values[i] = value;
			return;
		}
	}
	e->names[e->n] = name;
	e->values[e->n++] = value;
}

static int64_t fake_now = 1700000000; /* 2023-11-14T22:13:20Z */

static int64_t fake_clock(void *ctx)
{
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static void set_now(int64_t t)
{
	__atomic_store_n(&fake_now, t, __ATOMIC_SEQ_CST);
}

/* ---- Scratch files ---- */

static char dir[64];

static char *path_of(const char *name)
{
	static char bufs[8][512];
	static int k;
	char *p = bufs[k++ % 8];
	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *fmt, ...)
{
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path_of(name));
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(2);
	}
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	/* rename: a running credential_process never sees a half-written file */
	if (rename(tmp, path_of(name))) {
		perror("rename");
		exit(2);
	}
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* The base environment of a test: HOME in the scratch directory, IMDS off. */
static void env_base(struct fake_env *e)
{
	memset(e, 0, sizeof(*e));
	env_pool_n = 0;
	env_put(e, "HOME", dir);
	env_put(e, "AWS_EC2_METADATA_DISABLED", "true");
}

static void opts(struct tpq_creds_options *o, struct fake_env *e)
{
	tpq_creds_options_init(o);
	o->getenv_fn = fake_getenv;
	o->getenv_ctx = e;
	o->clock_fn = fake_clock;
	o->max_attempts = 1;
}

/* Runs the chain once; returns the status, keys in *k (released by the caller). */
static enum tpq_status run_chain(struct fake_env *e, const char *profile, struct tpq_creds_keys *k,
				 struct tpq_error *err)
{
	struct tpq_creds_options o;
	opts(&o, e);
	o.profile = profile;
	struct tpq_creds *c = NULL;
	tpq_error_clear(err);
	memset(k, 0, sizeof(*k));
	enum tpq_status st = tpq_creds_new(&o, &c, err);
	if (!st) {
		st = tpq_creds_get(c, k, err);
		tpq_creds_free(c);
	}
	return st;
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* No secret of these tests may appear in a message. */
static void assert_no_secret(const struct tpq_error *err)
{
	static const char *const secrets[] = {SECRET, TOKEN, "hunter2", "s3cr3t-process-arg",
					      "profile-secret-value", "wif-token-value"};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		ASSERT_TRUE(!contains(err->msg, secrets[i]));
		ASSERT_TRUE(!contains(err->where, secrets[i]));
	}
}

/* ---- Environment ---- */

TEST(env_keys)
{
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
	env_put(&e, "AWS_SECRET_ACCESS_KEY", SECRET);
	env_put(&e, "AWS_SESSION_TOKEN", TOKEN);
	/* A profile file that would also match: the environment wins without reading it. */
	write_file("credentials", "[default]\naws_access_key_id = AKIAFILE\n");
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	struct tpq_creds_keys k;
	struct tpq_error err;
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIAENVEXAMPLE");
	ASSERT_STR_EQ(k.secret_access_key, SECRET);
	ASSERT_STR_EQ(k.session_token, TOKEN);
	ASSERT_EQ(k.expiration, 0);
	ASSERT_STR_EQ(k.provider, "environment");
	tpq_creds_keys_release(&k);
	ASSERT_TRUE(k.access_key_id == NULL && k.secret_access_key == NULL);

	/* A profile option (--profile) skips the environment's keys; AWS_PROFILE does not. */
	write_file("credentials", "[p]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n");
	ASSERT_EQ(run_chain(&e, "p", &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIAFILE");
	ASSERT_STR_EQ(k.provider, "shared-files");
	tpq_creds_keys_release(&k);
	env_put(&e, "AWS_PROFILE", "p");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIAENVEXAMPLE");
	tpq_creds_keys_release(&k);

	/* No session token: NULL, not "". */
	env_put(&e, "AWS_SESSION_TOKEN", "");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_TRUE(k.session_token == NULL);
	tpq_creds_keys_release(&k);
}

TEST(env_partial)
{
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_SECRET_ACCESS_KEY", SECRET);
	struct tpq_creds_keys k;
	struct tpq_error err;
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
	ASSERT_TRUE(contains(err.msg, "AWS_ACCESS_KEY_ID"));
	assert_no_secret(&err);

	/* Empty means unset: the chain goes on and finds nothing. */
	env_base(&e);
	env_put(&e, "AWS_ACCESS_KEY_ID", "");
	env_put(&e, "AWS_SECRET_ACCESS_KEY", "");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "no AWS credentials found"));
	ASSERT_TRUE(contains(err.msg, "AWS_EC2_METADATA_DISABLED"));

}

/* ---- Shared files ---- */

TEST(profile_files)
{
	write_file("credentials",
		   "# a comment\n"
		   "; another comment\n"
		   "\n"
		   "[default]\n"
		   "aws_access_key_id=AKIADEFAULT\n"
		   "aws_secret_access_key =  default-secret  \n"
		   "\n"
		   "  [ prod ]   # trailing comment\n"
		   "  AWS_Access_Key_ID = AKIAPROD ; inline comment\n"
		   "\taws_secret_access_key\t=\t" SECRET "\t# inline\r\n"
		   "aws_session_token = " TOKEN "\r\n"
		   "s3 =\n"
		   "    max_concurrent_requests = 20\n"
		   "    aws_access_key_id = NESTED-IGNORED\n"
		   "[profile prod]\n"
		   "aws_access_key_id = NOT-THIS-ONE\n");
	write_file("config",
		   "[default]\nregion = eu-west-1\n"
		   "[prod]\naws_access_key_id = IGNORED-NO-PROFILE-PREFIX\n"
		   "[profile prod]\nregion = us-west-2\naws_access_key_id = SHADOWED-BY-CREDENTIALS\n"
		   "[profile cfgonly]\naws_access_key_id = AKIACFG\naws_secret_access_key = cfg#secret\n"
		   "[sso-session prod]\nsso_start_url = https://example.com\n");
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	struct tpq_creds_keys k;
	struct tpq_error err;

	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIADEFAULT");
	ASSERT_STR_EQ(k.secret_access_key, "default-secret");
	ASSERT_TRUE(k.session_token == NULL);
	ASSERT_STR_EQ(k.provider, "shared-files");
	tpq_creds_keys_release(&k);

	/* The option wins over AWS_PROFILE, which wins over "default". */
	env_put(&e, "AWS_PROFILE", "cfgonly");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIACFG");
	ASSERT_STR_EQ(k.secret_access_key, "cfg#secret"); /* '#' without a space before it */
	tpq_creds_keys_release(&k);

	ASSERT_EQ(run_chain(&e, "prod", &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIAPROD");
	ASSERT_STR_EQ(k.secret_access_key, SECRET);
	ASSERT_STR_EQ(k.session_token, TOKEN);
	tpq_creds_keys_release(&k);

	/* An explicitly named profile that exists nowhere stops the chain. */
	ASSERT_EQ(run_chain(&e, "nosuch", &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "profile 'nosuch' not found"));
	ASSERT_TRUE(contains(err.msg, path_of("credentials")));
	ASSERT_TRUE(!contains(err.msg, "no AWS credentials found"));

	/* HOME and the default paths, "~/" in the overrides. */
	mkdir(path_of(".aws"), 0700);
	write_file(".aws/credentials",
		   "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = x\n");
	env_base(&e);
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIAHOME");
	tpq_creds_keys_release(&k);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", "~/credentials");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "AKIADEFAULT");
	tpq_creds_keys_release(&k);
	remove(path_of(".aws/credentials"));
	rmdir(path_of(".aws"));
}

TEST(profile_missing_keys)
{
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	struct tpq_creds_keys k;
	struct tpq_error err;

	/* A secret without a key id (and the reverse) is an error that names the profile. */
	write_file("credentials", "[default]\naws_secret_access_key = profile-secret-value\n");
	write_file("config", "");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "profile 'default' has no aws_access_key_id"));
	assert_no_secret(&err);

	/* A profile with only a region passes to the next provider. */
	write_file("credentials", "");
	write_file("config", "[default]\nregion = eu-central-1\n");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "no AWS credentials found"));
	ASSERT_TRUE(contains(err.msg, "profile 'default' has no credentials"));
	ASSERT_TRUE(contains(err.msg, "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set"));

	/* No files at all: also passes. */
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("none1"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("none2"));
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "no profile 'default'"));

	/* Unsupported kinds are errors, not silent fall-throughs. */
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	write_file("config", "[profile sso]\nsso_session = corp\nsso_account_id = 1\n"
			     "[profile chained]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n");
	ASSERT_EQ(run_chain(&e, "sso", &k, &err), TPQ_EUNSUPPORTED);
	ASSERT_TRUE(contains(err.msg, "SSO"));
	ASSERT_EQ(run_chain(&e, "chained", &k, &err), TPQ_EUNSUPPORTED);
	ASSERT_TRUE(contains(err.msg, "source_profile"));
}

TEST(profile_malformed)
{
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	write_file("config", "");
	struct tpq_creds_keys k;
	struct tpq_error err;
	static const char *const bad[] = {
		"[default]\naws_access_key_id = A\nhunter2\n",       /* no '=' */
		"aws_secret_access_key = hunter2\n[default]\n",       /* before any section */
		"[default\naws_secret_access_key = hunter2\n",        /* no ']' */
		"[default] hunter2\n",                                /* text after the header */
		"[default]\n = hunter2\n",                            /* no name */
	};
	static const int line[] = {3, 1, 1, 1, 2};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("credentials", "%s", bad[i]);
		ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ECORRUPT);
		ASSERT_EQ(err.record, line[i]);
		ASSERT_TRUE(contains(err.msg, path_of("credentials")));
		ASSERT_STR_EQ(err.where, path_of("credentials"));
		assert_no_secret(&err);
	}
	/* An unreadable file (a directory) is an I/O error. */
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", dir);
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EIO);
	ASSERT_TRUE(contains(err.msg, "cannot read"));
}

/* ---- Region ---- */

TEST(region)
{
	write_file("config", "[default]\nregion = eu-west-1\n[profile p]\nregion = ap-south-2 ; x\n"
			     "[profile bad]\nregion = Not/A/Region\n");
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	struct tpq_creds_options o;
	opts(&o, &e);
	char r[32];
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_OK);
	ASSERT_STR_EQ(r, "eu-west-1");
	o.profile = "p";
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_OK);
	ASSERT_STR_EQ(r, "ap-south-2");
	env_put(&e, "AWS_DEFAULT_REGION", "us-east-2");
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_OK);
	ASSERT_STR_EQ(r, "us-east-2");
	env_put(&e, "AWS_REGION", "ca-central-1");
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_OK);
	ASSERT_STR_EQ(r, "ca-central-1");
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, 5, &err), TPQ_EINVAL); /* does not fit */

	env_base(&e);
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	o.profile = "bad";
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_EINVAL);
	ASSERT_STR_EQ(err.where, path_of("config"));
	o.profile = "nosuch";
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_ENOTFOUND);
	ASSERT_STR_EQ(r, "");
	env_put(&e, "AWS_REGION", "us-east-1\r\nX-Injected: 1");
	ASSERT_EQ(tpq_creds_resolve_region(&o, r, sizeof(r), &err), TPQ_EINVAL);
}

/* ---- credential_process, and the cache driven through it ---- */

/* The script prints out.json, counts its runs, fails while "fail" exists and waits while
 * "slow" exists (for the concurrency test). */
static void write_process_profile(const char *extra_arg)
{
	write_file("proc.sh",
		   "#!/bin/sh\n"
		   "echo run >> '%s'\n"
		   "[ -e '%s' ] && sleep 0.3\n"
		   "[ -e '%s' ] && exit 3\n"
		   "cat '%s'\n",
		   path_of("runs"), path_of("slow"), path_of("fail"), path_of("out.json"));
	chmod(path_of("proc.sh"), 0700);
	write_file("config", "[profile proc]\ncredential_process = %s %s\n", path_of("proc.sh"),
		   extra_arg);
	write_file("credentials", "");
	remove(path_of("runs"));
	remove(path_of("fail"));
	remove(path_of("slow"));
}

static int runs(void)
{
	FILE *f = fopen(path_of("runs"), "r");
	int n = 0, ch;
	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void proc_output(const char *akid, const char *expiration)
{
	if (expiration)
		write_file("out.json",
			   "{\"Version\": 1, \"AccessKeyId\": \"%s\", \"SecretAccessKey\": \"" SECRET
			   "\",\n \"SessionToken\": \"" TOKEN "\", \"Expiration\": \"%s\",\n"
			   " \"Extra\": {\"a\": [1, \"}\"]}}\n",
			   akid, expiration);
	else
		write_file("out.json", "{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"s\\/x\"}",
			   akid);
}

static struct tpq_creds *proc_provider(struct fake_env *e)
{
	env_base(e);
	env_put(e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	env_put(e, "AWS_CONFIG_FILE", path_of("config"));
	env_put(e, "AWS_ACCESS_KEY_ID", "AKIA-NOT-USED"); /* the profile option skips these */
	env_put(e, "AWS_SECRET_ACCESS_KEY", "not-used");
	struct tpq_creds_options o;
	opts(&o, e);
	o.profile = "proc";
	struct tpq_creds *c = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_creds_new(&o, &c, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (st)
		fprintf(stderr, "  tpq_creds_new: %s\n", err.msg);
	return c;
}

TEST(process_basic)
{
	write_process_profile("--password s3cr3t-process-arg");
	set_now(1700000000);
	struct fake_env e;
	struct tpq_creds_keys k;
	struct tpq_error err;

	/* Expiration with fractions and an offset: 2030-01-01T02:00:00+02:00 = 1893456000. */
	proc_output("ASIAPROC1", "2030-01-01T02:00:00.123+02:00");
	struct tpq_creds *c = proc_provider(&e);
	if (!c)
		return;
	ASSERT_STR_EQ(tpq_creds_provider(c), "credential-process");
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIAPROC1");
	ASSERT_STR_EQ(k.secret_access_key, SECRET);
	ASSERT_STR_EQ(k.session_token, TOKEN);
	ASSERT_EQ(k.expiration, 1893456000);
	tpq_creds_keys_release(&k);
	tpq_creds_free(c);

	/* Without Expiration: long-term keys; escapes decoded. */
	proc_output("AKIAPROC2", NULL);
	c = proc_provider(&e);
	if (!c)
		return;
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.secret_access_key, "s/x");
	ASSERT_EQ(k.expiration, 0);
	ASSERT_TRUE(k.session_token == NULL);
	tpq_creds_keys_release(&k);
	tpq_creds_free(c);

	/* Failures: exit status, bad JSON, wrong version, already expired. The command line
	 * (which may hold a password) is never quoted. */
	struct tpq_creds_options o;
	opts(&o, &e);
	o.profile = "proc";
	write_file("fail", "");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_EIO);
	ASSERT_TRUE(contains(err.msg, "exited with status 3"));
	ASSERT_TRUE(contains(err.msg, "profile 'proc'"));
	assert_no_secret(&err);
	remove(path_of("fail"));
	write_file("out.json", "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(contains(err.msg, "not JSON"));
	assert_no_secret(&err);
	write_file("out.json", "{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B\"}");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_EUNSUPPORTED);
	write_file("out.json", "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"B C\"}");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(contains(err.msg, "malformed SecretAccessKey"));
	proc_output("ASIAOLD", "2020-01-01T00:00:00Z");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(contains(err.msg, "already expired"));
	proc_output("ASIABAD", "2030-13-01T00:00:00Z");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_new(&o, &c, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(contains(err.msg, "malformed Expiration"));
	ASSERT_TRUE(c == NULL);
}

TEST(refresh)
{
	write_process_profile("");
	const int64_t t0 = 1700000000, exp1 = 1700003600; /* 2023-11-14T23:13:20Z */
	set_now(t0);
	proc_output("ASIA1", "2023-11-14T23:13:20Z");
	struct fake_env e;
	struct tpq_creds *c = proc_provider(&e);
	if (!c)
		return;
	struct tpq_creds_keys k;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(runs(), 1);

	/* Outside the 5-minute window: cached. */
	set_now(exp1 - 301);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA1");
	ASSERT_EQ(k.expiration, exp1);
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 1);

	/* Inside it: refreshed. */
	const int64_t exp2 = exp1 + 3600;
	proc_output("ASIA2", "2023-11-15T00:13:20Z");
	set_now(exp1 - 299);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA2");
	ASSERT_EQ(k.expiration, exp2);
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 2);

	/* A failed refresh keeps the old keys while they are valid, retried every 10 s. */
	write_file("fail", "");
	set_now(exp2 - 200);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA2");
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 3);
	set_now(exp2 - 195);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 3);
	set_now(exp2 - 189);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA2");
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 4);

	/* Once they expire, the refresh error comes through (and is not retried at once). */
	set_now(exp2);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_EIO);
	ASSERT_TRUE(k.access_key_id == NULL);
	ASSERT_TRUE(contains(err.msg, "exited with status 3"));
	assert_no_secret(&err);
	ASSERT_EQ(runs(), 5);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_EIO);
	ASSERT_EQ(runs(), 5);

	/* The source recovers: 10 s later the next get succeeds. */
	remove(path_of("fail"));
	proc_output("ASIA3", "2023-11-15T02:00:00Z");
	set_now(exp2 + 10);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA3");
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 6);

	/* Invalidation: other keys are ignored, the current ones cause one refresh. */
	proc_output("ASIA4", "2023-11-15T02:00:00Z");
	tpq_creds_invalidate(c, "ASIA2");
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA3");
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 6);
	tpq_creds_invalidate(c, "ASIA3");
	tpq_creds_invalidate(c, "ASIA3");
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
	ASSERT_STR_EQ(k.access_key_id, "ASIA4");
	tpq_creds_keys_release(&k);
	ASSERT_EQ(runs(), 7);

	/* Invalidated and the refresh fails: the invalidated keys are not handed out. */
	write_file("fail", "");
	tpq_creds_invalidate(c, "ASIA4");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_EIO);
	ASSERT_TRUE(k.access_key_id == NULL);
	ASSERT_EQ(runs(), 8);
	tpq_creds_free(c);
}

/* Keys that arrive already inside the refresh window are used, not refetched on every
 * call. */
TEST(refresh_short_lived)
{
	write_process_profile("");
	set_now(1700000000);
	proc_output("ASIASHORT", "2023-11-14T22:15:00Z"); /* 100 s left */
	struct fake_env e;
	struct tpq_creds *c = proc_provider(&e);
	if (!c)
		return;
	struct tpq_creds_keys k;
	struct tpq_error err;
	tpq_error_clear(&err);
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(tpq_creds_get(c, &k, &err), TPQ_OK);
		tpq_creds_keys_release(&k);
	}
	ASSERT_EQ(runs(), 2); /* the first fetch in new, one refresh in the first get */
	tpq_creds_free(c);
}

struct worker {
	struct tpq_creds *c;
	enum tpq_status st;
	char akid[32];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tpq_creds_keys k;
	struct tpq_error err;
	tpq_error_clear(&err);
	w->st = tpq_creds_get(w->c, &k, &err);
	snprintf(w->akid, sizeof(w->akid), "%s", k.access_key_id ? k.access_key_id : "");
	tpq_creds_keys_release(&k);
	return NULL;
}

static int run_workers(struct tpq_creds *c, struct worker *w, int n)
{
	pthread_t t[16];
	for (int i = 0; i < n; i++) {
		w[i].c = c;
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

TEST(refresh_concurrent)
{
	write_process_profile("");
	set_now(1700000000);
	proc_output("ASIAC1", "2023-11-14T23:13:20Z");
	struct fake_env e;
	struct tpq_creds *c = proc_provider(&e);
	if (!c)
		return;
	/* In the window, with a slow source: one thread refreshes, the others get the old
	 * keys at once (or the new ones if they come later); one run in all. */
	write_file("slow", "");
	proc_output("ASIAC2", "2023-11-15T00:13:20Z");
	set_now(1700003600 - 100);
	struct worker w[16];
	memset(w, 0, sizeof(w));
	run_workers(c, w, 16);
	int old = 0, fresh = 0;
	for (int i = 0; i < 16; i++) {
		ASSERT_EQ(w[i].st, TPQ_OK);
		old += !strcmp(w[i].akid, "ASIAC1");
		fresh += !strcmp(w[i].akid, "ASIAC2");
	}
	ASSERT_EQ(old + fresh, 16);
	ASSERT_TRUE(fresh >= 1);
	ASSERT_EQ(runs(), 2);

	/* Invalidated: nobody may use the old keys, all wait for the one refresh. */
	proc_output("ASIAC3", "2023-11-15T00:13:20Z");
	tpq_creds_invalidate(c, "ASIAC2");
	memset(w, 0, sizeof(w));
	run_workers(c, w, 16);
	for (int i = 0; i < 16; i++) {
		ASSERT_EQ(w[i].st, TPQ_OK);
		ASSERT_STR_EQ(w[i].akid, "ASIAC3");
	}
	ASSERT_EQ(runs(), 3);
	tpq_creds_free(c);
}

/* ---- Configuration errors of the HTTP providers (nothing is sent) ---- */

TEST(http_provider_config)
{
	struct fake_env e;
	struct tpq_creds_keys k;
	struct tpq_error err;
	env_base(&e);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("none1"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("none2"));

	/* Web identity: a missing token file is reported with its path. */
	env_put(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", path_of("no-token"));
	env_put(&e, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
	env_put(&e, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EIO);
	ASSERT_TRUE(contains(err.msg, "web-identity: cannot read"));
	ASSERT_STR_EQ(err.where, path_of("no-token"));
	write_file("token", "\n\n");
	env_put(&e, "AWS_WEB_IDENTITY_TOKEN_FILE", path_of("token"));
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(contains(err.msg, "is empty"));
	/* A closed port: the error names the endpoint, not the token. */
	write_file("token", "wif-token-value\n");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EIO);
	ASSERT_TRUE(contains(err.msg, "http://127.0.0.1:1"));
	assert_no_secret(&err);
	/* Only one of the two variables: passes. */
	env_put(&e, "AWS_ROLE_ARN", "");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "web-identity: AWS_ROLE_ARN not set"));

	/* Container: plain http only to loopback and the link-local agents. */
	static const char *const refused[] = {
		"http://example.com/creds", "http://169.254.169.254/x", "ftp://127.0.0.1/x",
		"http://user:hunter2@10.0.0.1/creds?token=hunter2", "http://127.0.0.1.example.com/",
		"http://[::2]/x",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i]);
		ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
		ASSERT_TRUE(contains(err.msg, "must use https"));
		assert_no_secret(&err);
	}
	/* Allowed ones get as far as connecting (closed ports here). */
	static const char *const allowed[] = {
		"http://127.0.0.1:1/creds", "http://127.9.9.9:1/x", "http://[::1]:1/x",
		"http://localhost:1/x",
	};
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed[i]);
		env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "hunter2");
		ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EIO);
		ASSERT_TRUE(contains(err.msg, "container: GET"));
		assert_no_secret(&err);
	}
	env_put(&e, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "hunter2\r\nX-Evil: 1");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
	ASSERT_TRUE(contains(err.msg, "line break"));
	assert_no_secret(&err);
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/creds");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "");
	env_put(&e, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "");

	/* Instance metadata: nothing listening means "not configured", quickly. */
	env_put(&e, "AWS_EC2_METADATA_DISABLED", "false");
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_ENOTFOUND);
	ASSERT_TRUE(contains(err.msg, "instance-metadata: IMDSv2 token request to "
				      "http://127.0.0.1:1/latest/api/token failed"));
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://u:hunter2@127.0.0.1:1/");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
	assert_no_secret(&err);
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	env_put(&e, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5");
	ASSERT_EQ(run_chain(&e, NULL, &k, &err), TPQ_EINVAL);
}

/* The profile form of web identity picks the STS endpoint from the profile's region. */
TEST(profile_web_identity)
{
	write_file("token", "wif-token-value");
	write_file("config",
		   "[profile wif]\nrole_arn = arn:aws:iam::1:role/r\n"
		   "web_identity_token_file = %s\nrole_session_name = s\n",
		   path_of("token"));
	write_file("credentials", "");
	struct fake_env e;
	env_base(&e);
	env_put(&e, "AWS_SHARED_CREDENTIALS_FILE", path_of("credentials"));
	env_put(&e, "AWS_CONFIG_FILE", path_of("config"));
	env_put(&e, "AWS_ENDPOINT_URL", "http://127.0.0.1:1");
	struct tpq_creds_keys k;
	struct tpq_error err;
	ASSERT_EQ(run_chain(&e, "wif", &k, &err), TPQ_EIO);
	ASSERT_TRUE(contains(err.msg, "web-identity: STS AssumeRoleWithWebIdentity at "
				      "http://127.0.0.1:1"));
	assert_no_secret(&err);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s", "/tmp/tpq-creds.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	RUN(env_keys);
	RUN(env_partial);
	RUN(profile_files);
	RUN(profile_missing_keys);
	RUN(profile_malformed);
	RUN(region);
	RUN(process_basic);
	RUN(refresh);
	RUN(refresh_short_lived);
	RUN(refresh_concurrent);
	RUN(http_provider_config);
	RUN(profile_web_identity);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return harness_done();
}
