/* Tests for src/cloudtrail/ddl.c: the generated DDL equals the reviewed golden
 * files byte for byte, options change exactly what they should, and every bad
 * name, location, list or option is rejected with nothing appended. Run from
 * the repository root (the golden paths are relative to it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#include "cloudtrail/ddl.h"
#include "cloudtrail/schema_v1.h"

#define LOC "s3://example-bucket/lake"
#define HAS(hay, lit) ASSERT_TRUE(strstr((hay), (lit)) != NULL)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *p = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			char *q = realloc(p, cap + 65536);
			if (!q)
				break;
			p = q;
			cap += 65536;
		}
		size_t r = fread(p + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (p)
		p[n] = '\0';
	*len = n;
	return p;
}

/* Renders into a NUL-terminated heap string (NULL on error; *st gets the status). */
static char *render(enum tpq_ddl_engine e, const char *loc, const char *table,
		    const struct tpq_ddl_options *opt, enum tpq_status *st, struct tpq_error *err)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_error_clear(err);
	*st = tpq_ct_ddl(&b, e, loc, table, opt, err);
	if (*st) {
		tpq_buf_release(&b);
		return NULL;
	}
	tpq_buf_put_u8(&b, 0);
	return (char *)tpq_buf_detach(&b, NULL);
}

static void check_golden(enum tpq_ddl_engine e, const char *path)
{
	struct tpq_error err;
	enum tpq_status st;
	size_t glen = 0;
	char *want = read_file(path, &glen);
	char *got = render(e, LOC, NULL, NULL, &st, &err);
	ASSERT_TRUE(want != NULL);
	ASSERT_EQ(st, TPQ_OK);
	if (want && got) {
		ASSERT_EQ(strlen(got), glen);
		if (strcmp(got, want) != 0) {
			/* Show the first line that differs. */
			size_t i = 0, line = 1, bol = 0;
			while (got[i] && got[i] == want[i]) {
				if (got[i] == '\n') {
					line++;
					bol = i + 1;
				}
				i++;
			}
			int gl = (int)strcspn(got + bol, "\n"), wl = (int)strcspn(want + bol, "\n");
			fprintf(stderr, "%s: line %zu differs:\n  got:  %.*s\n  want: %.*s\n", path,
				line, gl, got + bol, wl, want + bol);
			ASSERT_TRUE(strcmp(got, want) == 0);
		}
	}
	free(want);
	free(got);
}

TEST(golden_athena) { check_golden(TPQ_DDL_ATHENA, "tests/golden/ddl_athena.sql"); }
TEST(golden_trino) { check_golden(TPQ_DDL_TRINO, "tests/golden/ddl_trino.sql"); }
TEST(golden_spark) { check_golden(TPQ_DDL_SPARK, "tests/golden/ddl_spark.sql"); }
TEST(golden_duckdb) { check_golden(TPQ_DDL_DUCKDB, "tests/golden/ddl_duckdb.sql"); }

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Every field of schema v1 is named in the output (by its quoted column). */
static void check_all_columns(const char *ddl, const struct tpq_ct_field *f, size_t n, char q)
{
	for (size_t i = 0; i < n; i++) {
		char t[160];
		snprintf(t, sizeof(t), "%c%s%c", q, f[i].column, q);
		if (!strstr(ddl, t)) {
			fprintf(stderr, "column %s missing\n", t);
			ASSERT_TRUE(0);
		}
		if (f[i].children)
			check_all_columns(ddl, f[i].children, f[i].n_children, q);
	}
}

TEST(every_column_from_the_schema)
{
	struct tpq_error err;
	enum tpq_status st;
	char *t = render(TPQ_DDL_TRINO, LOC, NULL, NULL, &st, &err);
	char *s = render(TPQ_DDL_SPARK, LOC, NULL, NULL, &st, &err);
	ASSERT_TRUE(t && s);
	if (t && s) {
		check_all_columns(t, tpq_ct_fields, tpq_ct_n_fields, '"');
		check_all_columns(s, tpq_ct_fields, tpq_ct_n_fields, '`');
		ASSERT_TRUE(strstr(t, "\"unmapped\" varchar,\n  \"account\" varchar,") != NULL);
		ASSERT_TRUE(strstr(s, "`unmapped` STRING,\n  `account` STRING,") != NULL);
	}
	free(t);
	free(s);
}

/* All schema names are plain identifiers, so quoting them never needs escapes. */
static void check_idents(const struct tpq_ct_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *c = f[i].column;
		ASSERT_TRUE(c[0] != '\0' && strspn(c, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
						 strlen(c));
		if (f[i].children)
			check_idents(f[i].children, f[i].n_children);
	}
}

TEST(schema_names_are_plain) { check_idents(tpq_ct_fields, tpq_ct_n_fields); }

TEST(athena_projection_options)
{
	struct tpq_ddl_options o;
	struct tpq_error err;
	enum tpq_status st;
	tpq_ddl_options_init(&o);
	o.accounts = "012345678901,111122223333";
	o.regions = "us-east-1,eu-west-1";
	o.year_min = 2020;
	o.year_max = 2026;
	char *d = render(TPQ_DDL_ATHENA, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		HAS(d, "'projection.account.type' = 'enum',\n"
		       "  'projection.account.values' = '012345678901,111122223333',\n");
		HAS(d, "'projection.region.values' = 'us-east-1,eu-west-1',\n");
		ASSERT_TRUE(strstr(d, "'projection.year.range' = '2020,2026',\n") != NULL);
		ASSERT_EQ(count(d, "injected"), 0);
	}
	free(d);

	tpq_ddl_options_init(&o);
	o.region_projection = TPQ_DDL_PROJ_INJECTED;
	d = render(TPQ_DDL_ATHENA, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_EQ(count(d, "'injected'"), 2);
		ASSERT_EQ(count(d, "projection.region.values"), 0);
		ASSERT_EQ(count(d, "projection.account.values"), 0);
	}
	free(d);

	/* The default region enum is the built-in list. */
	tpq_ddl_options_init(&o);
	o.region_projection = TPQ_DDL_PROJ_ENUM;
	d = render(TPQ_DDL_ATHENA, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d)
		ASSERT_TRUE(strstr(d, tpq_ddl_default_regions()) != NULL);
	free(d);
}

TEST(default_regions_are_sorted_and_valid)
{
	const char *r = tpq_ddl_default_regions();
	ASSERT_TRUE(strstr(r, "us-east-1") && strstr(r, "mx-central-1") && strstr(r, "ap-east-2"));
	ASSERT_TRUE(!strstr(r, "cn-") && !strstr(r, "us-gov-"));
	const char *prev = NULL, *p = r;
	size_t n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (prev) {
			size_t plen = strcspn(prev, ",");
			int c = strncmp(prev, p, plen < len ? plen : len);
			ASSERT_TRUE(c < 0 || (c == 0 && plen < len));
		}
		prev = p;
		p += len + (p[len] == ',');
		n++;
	}
	ASSERT_EQ(n, 34);
	/* Passing it as an explicit list validates every name (and no repeats). */
	struct tpq_ddl_options o;
	struct tpq_buf b;
	tpq_ddl_options_init(&o);
	o.regions = r;
	tpq_buf_init(&b);
	ASSERT_EQ(tpq_ct_ddl(&b, TPQ_DDL_ATHENA, LOC, NULL, &o, NULL), TPQ_OK);
	tpq_buf_release(&b);
}

TEST(parts_select_statements)
{
	struct tpq_ddl_options o;
	struct tpq_error err;
	enum tpq_status st;
	tpq_ddl_options_init(&o);
	o.parts = TPQ_DDL_PART_TABLE;
	char *d = render(TPQ_DDL_ATHENA, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_TRUE(strncmp(d, "CREATE EXTERNAL TABLE `cloudtrail` (\n", 37) == 0);
		ASSERT_EQ(count(d, ";"), 1);
		ASSERT_EQ(count(d, "VIEW"), 0);
		/* Athena's DDL must not begin with a comment (it would reach the wrong parser). */
		ASSERT_EQ(count(d, "--"), 0);
	}
	free(d);
	o.parts = TPQ_DDL_PART_AFTER;
	d = render(TPQ_DDL_ATHENA, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		const char *v = "CREATE OR REPLACE VIEW \"cloudtrail_compat\" AS\n";
		ASSERT_TRUE(strncmp(d, v, strlen(v)) == 0);
		ASSERT_EQ(count(d, ";"), 1);
	}
	free(d);
	d = render(TPQ_DDL_TRINO, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_EQ(count(d, "CREATE"), 0);
		ASSERT_EQ(count(d, "CALL \"hive\".system.sync_partition_metadata("), 1);
	}
	free(d);
	d = render(TPQ_DDL_SPARK, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_EQ(count(d, "CREATE"), 0);
		ASSERT_EQ(count(d, "MSCK REPAIR TABLE `cloudtrail`;"), 1);
	}
	free(d);
	d = render(TPQ_DDL_DUCKDB, LOC, NULL, &o, &st, &err);
	ASSERT_EQ(st, TPQ_EINVAL);
	ASSERT_STR_EQ(err.where, "parts");
	free(d);
}

TEST(compat_view_converts_timestamp_and_booleans)
{
	struct tpq_error err;
	enum tpq_status st;
	char *d = render(TPQ_DDL_ATHENA, LOC, NULL, NULL, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		HAS(d, "  date_format(\"eventtime\", '%Y-%m-%dT%H:%i:%sZ')"
		       " AS \"eventtime\",\n");
		ASSERT_TRUE(strstr(d, "  CAST(\"readonly\" AS varchar) AS \"readonly\",\n"));
		HAS(d, "  CAST(\"managementevent\" AS varchar) AS \"managementevent\",\n");
		ASSERT_TRUE(strstr(d, "  \"useridentity\",\n"));
		ASSERT_TRUE(strstr(d, "  \"day\"\nFROM \"cloudtrail\";\n"));
	}
	free(d);
}

TEST(names_and_qualifiers)
{
	struct tpq_ddl_options o;
	struct tpq_error err;
	enum tpq_status st;
	char *d;

	/* A custom name reads the cloudtrail folder; a lake table name reads its own. */
	d = render(TPQ_DDL_SPARK, LOC "///", "audit_trail", NULL, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_TRUE(strstr(d, "CREATE TABLE `audit_trail` (\n"));
		ASSERT_TRUE(strstr(d, "LOCATION 's3://example-bucket/lake/cloudtrail/';\n"));
	}
	free(d);
	d = render(TPQ_DDL_ATHENA, LOC, TPQ_CT_TABLE_INSIGHT, NULL, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_TRUE(strstr(d, "LOCATION 's3://example-bucket/lake/cloudtrail_insight/'\n"));
		HAS(d, "'s3://example-bucket/lake/cloudtrail_insight/account=${account}/");
		ASSERT_TRUE(strstr(d, "VIEW \"cloudtrail_insight_compat\" AS"));
		ASSERT_TRUE(strstr(d, "FROM \"cloudtrail_insight\";"));
	}
	free(d);

	tpq_ddl_options_init(&o);
	o.source_table = TPQ_CT_TABLE_NETWORK;
	o.database = "security";
	d = render(TPQ_DDL_ATHENA, LOC, "net", &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_TRUE(strstr(d, "CREATE EXTERNAL TABLE `security`.`net` (\n"));
		HAS(d, "LOCATION 's3://example-bucket/lake/cloudtrail_networkactivity/'");
		ASSERT_TRUE(strstr(d, "VIEW \"security\".\"net_compat\" AS"));
		ASSERT_TRUE(strstr(d, "FROM \"security\".\"net\";"));
	}
	free(d);

	tpq_ddl_options_init(&o);
	o.catalog = "lake";
	o.database = "audit";
	d = render(TPQ_DDL_TRINO, "/data/lake", "ct", &o, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d) {
		ASSERT_TRUE(strstr(d, "CREATE TABLE \"lake\".\"audit\".\"ct\" (\n"));
		ASSERT_TRUE(strstr(d, "  external_location = '/data/lake/cloudtrail/',\n"));
		ASSERT_TRUE(strstr(d, "CALL \"lake\".system.sync_partition_metadata(\n"
				      "  schema_name => 'audit',\n  table_name => 'ct',\n"));
	}
	free(d);

	/* DuckDB reads local paths; the root directory is a valid (if odd) lake. */
	d = render(TPQ_DDL_DUCKDB, "/", NULL, NULL, &st, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (d)
		HAS(d, "  '/cloudtrail/account=*/region=*/year=*/month=*/day=*/*.parquet',\n");
	free(d);
}

/* Expects EINVAL with err.where == where, and nothing appended to a buffer
 * that already holds bytes. */
static void expect_bad(enum tpq_ddl_engine e, const char *loc, const char *table,
		       const struct tpq_ddl_options *o, const char *where)
{
	struct tpq_buf b;
	struct tpq_error err;
	tpq_buf_init(&b);
	tpq_buf_put(&b, "keep", 4);
	tpq_error_clear(&err);
	enum tpq_status st = tpq_ct_ddl(&b, e, loc, table, o, &err);
	ASSERT_EQ(st, TPQ_EINVAL);
	ASSERT_EQ(b.len, 4);
	ASSERT_STR_EQ(err.where, where);
	ASSERT_TRUE(err.msg[0] != '\0');
	for (const char *m = err.msg; *m; m++)
		ASSERT_TRUE((unsigned char)*m >= 0x20 && (unsigned char)*m < 0x7f);
	/* NULL err is allowed too. */
	ASSERT_EQ(tpq_ct_ddl(&b, e, loc, table, o, NULL), TPQ_EINVAL);
	ASSERT_EQ(b.len, 4);
	tpq_buf_release(&b);
}

TEST(bad_locations)
{
	static const char *const bad[] = {
		"", "s3://bucket/it's", "s3://bucket/a\\b", "s3://bucket/a b", "s3://bucket/a\tb",
		"s3://bucket/a\nb", "s3://bucket/${x}", "s3://bucket/a*", "s3://bucket/a?",
		"s3://bucket/[a]", "s3://bucket/{a}", "s3://bucket/a\"b", "s3://bucket/a`b",
		"s3://bucket/\xc3\xa9", "s3://bucket/\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (int e = TPQ_DDL_ATHENA; e <= TPQ_DDL_DUCKDB; e++)
			expect_bad((enum tpq_ddl_engine)e, bad[i], NULL, NULL, "location");
	for (int e = TPQ_DDL_ATHENA; e <= TPQ_DDL_DUCKDB; e++)
		expect_bad((enum tpq_ddl_engine)e, NULL, NULL, NULL, "location");
	/* Athena reads S3 only, and needs a bucket. */
	expect_bad(TPQ_DDL_ATHENA, "/data/lake", NULL, NULL, "location");
	expect_bad(TPQ_DDL_ATHENA, "s3a://bucket/lake", NULL, NULL, "location");
	expect_bad(TPQ_DDL_ATHENA, "s3://", NULL, NULL, "location");
	expect_bad(TPQ_DDL_ATHENA, "s3:///lake", NULL, NULL, "location");
	expect_bad(TPQ_DDL_ATHENA, "s3:////", NULL, NULL, "location");
	char big[2100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_bad(TPQ_DDL_DUCKDB, big, NULL, NULL, "location");
}

TEST(bad_names)
{
	static const char *const bad[] = {
		"", "CloudTrail", "9lives", "my-table", "a.b", "a b", "a\"b", "a`b", "t;drop",
	};
	struct tpq_ddl_options o;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int e = TPQ_DDL_ATHENA; e <= TPQ_DDL_DUCKDB; e++) {
			expect_bad((enum tpq_ddl_engine)e, LOC, bad[i], NULL, "table");
			tpq_ddl_options_init(&o);
			o.database = bad[i];
			expect_bad((enum tpq_ddl_engine)e, LOC, NULL, &o, "database");
			tpq_ddl_options_init(&o);
			o.source_table = bad[i];
			expect_bad((enum tpq_ddl_engine)e, LOC, NULL, &o, "source_table");
		}
		tpq_ddl_options_init(&o);
		o.catalog = bad[i];
		expect_bad(TPQ_DDL_TRINO, LOC, NULL, &o, "catalog");
	}
	char longname[130];
	memset(longname, 'a', 129);
	longname[129] = '\0';
	expect_bad(TPQ_DDL_SPARK, LOC, longname, NULL, "table");
	longname[128] = '\0'; /* 128 is fine, but too long for "<table>_compat" */
	expect_bad(TPQ_DDL_ATHENA, LOC, longname, NULL, "table");
	tpq_ddl_options_init(&o);
	o.parts = TPQ_DDL_PART_TABLE;
	struct tpq_buf b;
	tpq_buf_init(&b);
	ASSERT_EQ(tpq_ct_ddl(&b, TPQ_DDL_ATHENA, LOC, longname, &o, NULL), TPQ_OK);
	tpq_buf_release(&b);
}

TEST(bad_lists_and_options)
{
	static const char *const bad_accounts[] = {
		"12345678901", "1234567890123", "12345678901a", "123456789012,", ",123456789012",
		"123456789012,,210987654321", "123456789012 ,210987654321",
		"123456789012,210987654321,123456789012", "",
	};
	static const char *const bad_regions[] = {
		"US-EAST-1", "us-east", "us--east-1", "-us-east-1", "us-east-1,", "us_east_1",
		"us-east-1,us-east-1", "", "us-east-1,eu-west-1'",
	};
	struct tpq_ddl_options o;
	for (size_t i = 0; i < sizeof(bad_accounts) / sizeof(bad_accounts[0]); i++) {
		tpq_ddl_options_init(&o);
		o.accounts = bad_accounts[i];
		expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "accounts");
	}
	for (size_t i = 0; i < sizeof(bad_regions) / sizeof(bad_regions[0]); i++) {
		tpq_ddl_options_init(&o);
		o.regions = bad_regions[i];
		expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "regions");
	}
	/* Projection choices that contradict the lists. */
	tpq_ddl_options_init(&o);
	o.account_projection = TPQ_DDL_PROJ_ENUM;
	expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "accounts");
	o.account_projection = TPQ_DDL_PROJ_INJECTED;
	o.accounts = "123456789012";
	expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "accounts");
	tpq_ddl_options_init(&o);
	o.region_projection = TPQ_DDL_PROJ_INJECTED;
	o.regions = "us-east-1";
	expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "regions");
	tpq_ddl_options_init(&o);
	o.region_projection = (enum tpq_ddl_projection)7;
	expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "regions");
	/* Years. */
	static const int years[][2] = {{2030, 2020}, {1969, 2020}, {2013, 10000}, {0, 0}};
	for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++) {
		tpq_ddl_options_init(&o);
		o.year_min = years[i][0];
		o.year_max = years[i][1];
		expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "years");
	}
	/* Options that do not apply to the engine are errors, not silently ignored. */
	for (int e = TPQ_DDL_TRINO; e <= TPQ_DDL_DUCKDB; e++) {
		tpq_ddl_options_init(&o);
		o.accounts = "123456789012";
		expect_bad((enum tpq_ddl_engine)e, LOC, NULL, &o, "accounts");
		tpq_ddl_options_init(&o);
		o.region_projection = TPQ_DDL_PROJ_INJECTED;
		expect_bad((enum tpq_ddl_engine)e, LOC, NULL, &o, "regions");
		tpq_ddl_options_init(&o);
		o.year_max = 2030;
		expect_bad((enum tpq_ddl_engine)e, LOC, NULL, &o, "years");
	}
	tpq_ddl_options_init(&o);
	o.catalog = "hive";
	expect_bad(TPQ_DDL_SPARK, LOC, NULL, &o, "catalog");
	expect_bad(TPQ_DDL_ATHENA, LOC, NULL, &o, "catalog");
	tpq_ddl_options_init(&o);
	o.parts = 1u << 5;
	expect_bad(TPQ_DDL_SPARK, LOC, NULL, &o, "parts");
	expect_bad((enum tpq_ddl_engine)9, LOC, NULL, NULL, "engine");
}

TEST(control_bytes_never_echoed)
{
	struct tpq_error err;
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_ct_ddl(&b, TPQ_DDL_DUCKDB, "/x/\x1b[31m/y", NULL, NULL, &err), TPQ_EINVAL);
	ASSERT_TRUE(strstr(err.msg, "/x/?[31m/y") != NULL);
	tpq_buf_release(&b);
}

TEST(buffer_failure_appends_nothing)
{
	struct tpq_buf b;
	struct tpq_error err;
	tpq_buf_init(&b);
	b.limit = 1000; /* far below the size of any script */
	tpq_buf_put(&b, "abc", 3);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_ct_ddl(&b, TPQ_DDL_ATHENA, LOC, NULL, NULL, &err), TPQ_ELIMIT);
	ASSERT_EQ(b.len, 3);
	ASSERT_EQ(err.status, TPQ_ELIMIT);
	/* A buffer already in error is reported, not written. */
	ASSERT_EQ(tpq_ct_ddl(&b, TPQ_DDL_DUCKDB, LOC, NULL, NULL, NULL), TPQ_ELIMIT);
	ASSERT_EQ(b.len, 3);
	tpq_buf_reset(&b);
	b.limit = 100;
	ASSERT_EQ(tpq_ct_schema_describe(&b, TPQ_SCHEMA_JSON, NULL), TPQ_ELIMIT);
	ASSERT_EQ(b.len, 0);
	tpq_buf_release(&b);
}

TEST(engine_names)
{
	enum tpq_ddl_engine e;
	const char *names[] = {"athena", "trino", "spark", "duckdb"};
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(tpq_ddl_engine_parse(names[i], &e), 0);
		ASSERT_EQ(e, i);
		ASSERT_STR_EQ(tpq_ddl_engine_name(e), names[i]);
	}
	ASSERT_EQ(tpq_ddl_engine_parse("Athena", &e), -1);
	ASSERT_EQ(tpq_ddl_engine_parse("presto", &e), -1);
	ASSERT_EQ(tpq_ddl_engine_parse(NULL, &e), -1);
	ASSERT_STR_EQ(tpq_ddl_engine_name((enum tpq_ddl_engine)42), "unknown");
}

static void check_text_fields(const char *text, const struct tpq_ct_field *f, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		char line[128];
		snprintf(line, sizeof(line), "\n%*s%s ", depth * 2, "", f[i].column);
		ASSERT_TRUE(strstr(text, line) != NULL);
		if (f[i].children)
			check_text_fields(text, f[i].children, f[i].n_children, depth + 1);
	}
}

TEST(schema_describe)
{
	struct tpq_buf b;
	struct tpq_error err;
	tpq_buf_init(&b);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_ct_schema_describe(&b, TPQ_SCHEMA_TEXT, &err), TPQ_OK);
	tpq_buf_put_u8(&b, 0);
	const char *t = (const char *)b.p;
	check_text_fields(t, tpq_ct_fields, tpq_ct_n_fields, 0);
	HAS(t, "\neventtime                           timestamp (ms, UTC)   eventTime\n");
	HAS(t, "\n      attributes                    map<string,string>    attributes\n");
	ASSERT_TRUE(strstr(t, "\nunmapped "));
	ASSERT_TRUE(strstr(t, "\naccount "));

	tpq_buf_reset(&b);
	ASSERT_EQ(tpq_ct_schema_describe(&b, TPQ_SCHEMA_JSON, &err), TPQ_OK);
	tpq_buf_put_u8(&b, 0);
	const char *j = (const char *)b.p;
	/* Balanced brackets (no string in it holds one) and the landmarks. */
	ASSERT_EQ(count(j, "{"), count(j, "}"));
	ASSERT_EQ(count(j, "["), count(j, "]"));
	ASSERT_TRUE(strncmp(j, "{\n  \"schema_version\": 1,\n", 25) == 0);
	HAS(j, "{\"name\": \"eventtime\", \"type\": \"timestamp\", \"key\": \"eventTime\"");
	ASSERT_TRUE(strstr(j, "{\"name\": \"arn\", \"type\": \"string\", \"key\": \"ARN\", "
			      "\"source\": \"resources[].ARN\"}"));
	HAS(j, "\"source\": \"userIdentity.sessionContext.webIdFederationData.attributes\", "
	       "\"key_type\": \"string\", \"value_type\": \"string\"}");
	ASSERT_TRUE(strstr(j, "{\"name\": \"unmapped\", \"type\": \"json\", \"key\": null, "
			      "\"source\": null}\n  ],\n"));
	ASSERT_EQ(count(j, ",\n  ]"), 0);
	ASSERT_EQ(count(j, ",\n    ]"), 0);
	ASSERT_EQ(tpq_ct_schema_describe(&b, (enum tpq_schema_format)5, &err), TPQ_EINVAL);
	tpq_buf_release(&b);
}

int main(void)
{
	RUN(golden_athena);
	RUN(golden_trino);
	RUN(golden_spark);
	RUN(golden_duckdb);
	RUN(every_column_from_the_schema);
	RUN(schema_names_are_plain);
	RUN(athena_projection_options);
	RUN(default_regions_are_sorted_and_valid);
	RUN(parts_select_statements);
	RUN(compat_view_converts_timestamp_and_booleans);
	RUN(names_and_qualifiers);
	RUN(bad_locations);
	RUN(bad_names);
	RUN(bad_lists_and_options);
	RUN(control_bytes_never_echoed);
	RUN(buffer_failure_appends_nothing);
	RUN(engine_names);
	RUN(schema_describe);
	return harness_done();
}
