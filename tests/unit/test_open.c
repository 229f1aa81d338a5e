/* io/open.h: which settings win (options, then AWS_* variables, then the
 * profile's config, then defaults), the addressing choice, and opening local
 * and S3 sources and stores with one shared credentials object (its release
 * is checked by the sanitizer build: freed once, by whichever goes last). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/open.h"
#include "util/error.h"

struct env {
	const char *kv[16][2];
	int n;
};

static const char *env_get(void *ctx, const char *name)
{
	struct env *e = ctx;
	for (int i = 0; i < e->n; i++)
		if (!strcmp(e->kv[i][0], name))
			return e->kv[i][1];
	return NULL;
}

static void env_set(struct env *e, const char *name, const char *value)
{
	e->kv[e->n][0] = name;
	e->kv[e->n][1] = value;
	e->n++;
}

static char home[256];

/* Options over a fresh environment whose HOME has no AWS files. */
static void opts(struct tpq_io_options *o, struct env *e)
{
	memset(e, 0, sizeof(*e));
	env_set(e, "HOME", home);
	env_set(e, "AWS_EC2_METADATA_DISABLED", "true");
	tpq_io_options_init(o);
	o->getenv_fn = env_get;
	o->getenv_ctx = e;
}

static struct tpq_io_s3_settings resolve(const struct tpq_io_options *o, const char *url,
					 enum tpq_status want)
{
	struct tpq_io_s3_settings s;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_io_s3_resolve(o, url, &s, &err), want);
	if (want != TPQ_OK)
		ASSERT_TRUE(err.msg[0] != '\0');
	return s;
}

TEST(region_precedence)
{
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/x", TPQ_OK).region, "us-east-1");
	env_set(&e, "AWS_DEFAULT_REGION", "eu-west-1");
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/x", TPQ_OK).region, "eu-west-1");
	env_set(&e, "AWS_REGION", "eu-central-1");
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/x", TPQ_OK).region, "eu-central-1");
	o.region = "ap-south-1";
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/x", TPQ_OK).region, "ap-south-1");
}

TEST(region_from_profile)
{
	char dir[300], path[400];
	snprintf(dir, sizeof(dir), "%s/.aws", home);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/config", dir);
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	if (!f)
		return;
	fputs("[default]\nregion = sa-east-1\n[profile audit]\nregion = eu-north-1\n", f);
	fclose(f);
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/", TPQ_OK).region, "sa-east-1");
	env_set(&e, "AWS_PROFILE", "audit");
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/", TPQ_OK).region, "eu-north-1");
	o.profile = "default"; /* --profile beats AWS_PROFILE */
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/", TPQ_OK).region, "sa-east-1");
	env_set(&e, "AWS_REGION", "us-west-2"); /* the environment beats the file */
	ASSERT_STR_EQ(resolve(&o, "s3://bucket/", TPQ_OK).region, "us-west-2");
	unlink(path);
	rmdir(dir);
}

TEST(endpoint_precedence_and_addressing)
{
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	struct tpq_io_s3_settings s = resolve(&o, "s3://my-bucket/lake/", TPQ_OK);
	ASSERT_STR_EQ(s.endpoint, "");
	ASSERT_EQ(s.path_style, 0); /* AWS: virtual-hosted */
	env_set(&e, "AWS_ENDPOINT_URL", "http://127.0.0.1:9000/");
	s = resolve(&o, "s3://my-bucket/lake/", TPQ_OK);
	ASSERT_STR_EQ(s.endpoint, "http://127.0.0.1:9000");
	ASSERT_EQ(s.path_style, 1); /* a custom endpoint: path-style */
	env_set(&e, "AWS_ENDPOINT_URL_S3", "https://minio.example:9443");
	s = resolve(&o, "s3://my-bucket/", TPQ_OK);
	ASSERT_STR_EQ(s.endpoint, "https://minio.example:9443");
	o.endpoint = "http://localhost:4566";
	ASSERT_STR_EQ(resolve(&o, "s3://my-bucket/", TPQ_OK).endpoint, "http://localhost:4566");
	o.addressing = TPQ_IO_ADDRESS_VIRTUAL;
	ASSERT_EQ(resolve(&o, "s3://my-bucket/", TPQ_OK).path_style, 0);
	o.endpoint = "ftp://x";
	resolve(&o, "s3://my-bucket/", TPQ_EINVAL);

	opts(&o, &e);
	ASSERT_STR_EQ(resolve(&o, "s3://my-bucket/", TPQ_OK).ca_bundle, "");
	env_set(&e, "AWS_CA_BUNDLE", "/etc/ssl/minio.pem");
	ASSERT_STR_EQ(resolve(&o, "s3://my-bucket/", TPQ_OK).ca_bundle, "/etc/ssl/minio.pem");
	o.ca_bundle = "/tmp/other.pem";
	ASSERT_STR_EQ(resolve(&o, "s3://my-bucket/", TPQ_OK).ca_bundle, "/tmp/other.pem");

	opts(&o, &e);
	ASSERT_EQ(resolve(&o, "s3://logs.example.com/x", TPQ_OK).path_style, 1); /* dots */
	ASSERT_EQ(resolve(&o, "s3://My_Bucket/x", TPQ_OK).path_style, 1);       /* not DNS */
	ASSERT_EQ(resolve(&o, "s3://ab/x", TPQ_OK).path_style, 1);              /* too short */
	ASSERT_EQ(resolve(&o, "s3://trail-2024/x", TPQ_OK).path_style, 0);
	o.addressing = TPQ_IO_ADDRESS_PATH;
	ASSERT_EQ(resolve(&o, "s3://trail-2024/x", TPQ_OK).path_style, 1);
}

TEST(open_local_needs_no_credentials)
{
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	char src[300], dst[300];
	snprintf(src, sizeof(src), "%s/src", home);
	snprintf(dst, sizeof(dst), "%s/dst", home);
	mkdir(src, 0700);
	struct tpq_source *s = NULL;
	struct tpq_store *d = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_io_open(src, dst, &o, &s, &d, &err), TPQ_OK);
	ASSERT_TRUE(s != NULL && d != NULL);
	ASSERT_TRUE(!tpq_io_is_s3(src) && tpq_io_is_s3("s3://b") && !tpq_io_is_s3("S3://b"));
	if (s)
		s->free(s);
	if (d)
		d->free(d);
	rmdir(src);
	rmdir(dst);
}

TEST(open_s3_without_credentials_fails_before_work)
{
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	struct tpq_source *s = (struct tpq_source *)1;
	struct tpq_store *d = (struct tpq_store *)1;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_io_open("s3://trail/", "/nonexistent-never-made", &o, &s, &d, &err),
		  TPQ_ENOTFOUND);
	ASSERT_TRUE(s == NULL && d == NULL);
	ASSERT_TRUE(strstr(err.msg, "credentials") != NULL || strstr(err.msg, "provider") != NULL);
	/* nothing was made on the way */
	struct stat sb;
	ASSERT_TRUE(stat("/nonexistent-never-made", &sb) != 0);
}

static void open_pair(int free_source_first)
{
	struct tpq_io_options o;
	struct env e;
	opts(&o, &e);
	env_set(&e, "AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
	env_set(&e, "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	env_set(&e, "AWS_ENDPOINT_URL", "http://127.0.0.1:9");
	struct tpq_source *s = NULL;
	struct tpq_store *d = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_io_open("s3://trail/AWSLogs/", "s3://lake-bucket/lake/", &o, &s, &d, &err),
		  TPQ_OK);
	ASSERT_TRUE(s != NULL && d != NULL);
	if (!s || !d)
		return;
	ASSERT_STR_EQ(d->name(d), "s3://lake-bucket/lake/");
	ASSERT_TRUE(s->plan != NULL);
	if (free_source_first) {
		s->free(s);
		d->free(d);
	} else {
		d->free(d);
		s->free(s);
	}
	/* a bad URL on the second side: the first is closed again, err says why */
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_io_open("s3://trail/", "s3://", &o, &s, &d, &err), TPQ_EINVAL);
	ASSERT_TRUE(s == NULL && d == NULL);
	d = tpq_store_open("s3://lake-bucket", &o, &err);
	ASSERT_TRUE(d != NULL);
	if (d) {
		ASSERT_STR_EQ(d->name(d), "s3://lake-bucket/");
		d->free(d);
	}
	/* a prefix names a folder: "lake" is "lake/" */
	d = tpq_store_open("s3://lake-bucket/a/lake", &o, &err);
	ASSERT_TRUE(d != NULL);
	if (d) {
		ASSERT_STR_EQ(d->name(d), "s3://lake-bucket/a/lake/");
		d->free(d);
	}
}

TEST(open_s3_pair_shares_credentials)
{
	open_pair(1);
	open_pair(0);
}

int main(void)
{
	snprintf(home, sizeof(home), "/tmp/tpq-test-open-%d", (int)getpid());
	mkdir(home, 0700);
	RUN(region_precedence);
	RUN(region_from_profile);
	RUN(endpoint_precedence_and_addressing);
	RUN(open_local_needs_no_credentials);
	RUN(open_s3_without_credentials_fails_before_work);
	RUN(open_s3_pair_shares_credentials);
	rmdir(home);
	return harness_done();
}
