/* `trailpq ddl`: prints the table definition of the lake for one engine.
 *
 * All the SQL comes from tpq_ct_ddl (src/cloudtrail/ddl.c), which validates
 * every name and literal; this file only turns flags into options, prints the
 * result on stdout and maps errors to exit statuses: 2 for anything the user
 * can fix on the command line (including a location or list the library
 * rejects), 1 when writing fails. Nothing is printed unless the whole script
 * was generated, so a failed run never leaves half a statement on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cloudtrail/ddl.h"

static const char usage[] =
	"usage: trailpq ddl --engine athena|trino|spark|duckdb --location URI [options]\n"
	"\n"
	"Prints on stdout the SQL that makes the lake queryable by one engine, derived\n"
	"from schema v1 (see docs/ddl.md).\n"
	"\n"
	"  --engine NAME          athena, trino, spark or duckdb (required)\n"
	"  --location URI         the lake root: the DST given to trailpq convert (required);\n"
	"                         Athena needs s3://BUCKET[/PREFIX]\n"
	"  --table NAME           name of the SQL table or view (default: cloudtrail)\n"
	"  --source-table NAME    lake folder it reads: cloudtrail, cloudtrail_insight or\n"
	"                         cloudtrail_networkactivity (default: --table if it is one\n"
	"                         of these, else cloudtrail)\n"
	"  --database NAME        database to create it in (Trino: the schema, default\n"
	"                         \"default\")\n"
	"  --catalog NAME         Trino catalog (default: hive)\n"
	"  --only table|view|repair\n"
	"                         print only the CREATE statement, or only the second one:\n"
	"                         Athena's <table>_compat view (view), the partition\n"
	"                         registration of Trino and Spark (repair)\n"
	"\n"
	"Athena partition projection (no crawler, no MSCK REPAIR TABLE):\n"
	"  --accounts LIST|injected\n"
	"                         account ids as an enum (111111111111,222222222222), or\n"
	"                         injected (the default): every query must then name its\n"
	"                         account(s): WHERE account = '111111111111'\n"
	"  --regions LIST|all|injected\n"
	"                         regions as an enum (us-east-1,eu-west-1); all (the\n"
	"                         default): every commercial region; or injected\n"
	"  --years FROM,TO        projected years (default: 2013,2040)\n"
	"\n"
	"  -h, --help             show this help\n";

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		*value = NULL;
		return 1;
	}
	*value = argv[++*i];
	return 1;
}

static int usage_error(void)
{
	tpq_cli_errorf("ddl: try 'trailpq ddl --help'");
	return 2;
}

/* "FROM,TO" with two decimal years. */
static int parse_years(const char *s, int *lo, int *hi)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10);
	if (end == s || *end != ',' || errno)
		return -1;
	const char *t = end + 1;
	long b = strtol(t, &end, 10);
	if (end == t || *end != '\0' || errno || a < 0 || b < 0 || a > 99999 || b > 99999)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

/* The flag a library error is about, for the message. */
static const char *flag_of(const char *where)
{
	static const struct {
		const char *where, *flag;
	} map[] = {
		{"location", "--location"},   {"table", "--table"},
		{"source_table", "--source-table"}, {"database", "--database"},
		{"catalog", "--catalog"},     {"accounts", "--accounts"},
		{"regions", "--regions"},     {"years", "--years"},
		{"parts", "--only"},          {"engine", "--engine"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(where, map[i].where) == 0)
			return map[i].flag;
	return where;
}

int tpq_cmd_ddl(int argc, char **argv)
{
	struct tpq_ddl_options opt;
	const char *engine_name = NULL, *location = NULL, *table = NULL, *only = NULL;
	const char *accounts = NULL, *regions = NULL, *years = NULL;
	tpq_ddl_options_init(&opt);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		const char **slot = NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(usage, stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		}
		if (opt_value(argc, argv, &i, "--engine", &v))
			slot = &engine_name;
		else if (opt_value(argc, argv, &i, "--location", &v))
			slot = &location;
		else if (opt_value(argc, argv, &i, "--table", &v))
			slot = &table;
		else if (opt_value(argc, argv, &i, "--source-table", &v))
			slot = &opt.source_table;
		else if (opt_value(argc, argv, &i, "--database", &v))
			slot = &opt.database;
		else if (opt_value(argc, argv, &i, "--catalog", &v))
			slot = &opt.catalog;
		else if (opt_value(argc, argv, &i, "--only", &v))
			slot = &only;
		else if (opt_value(argc, argv, &i, "--accounts", &v))
			slot = &accounts;
		else if (opt_value(argc, argv, &i, "--regions", &v))
			slot = &regions;
		else if (opt_value(argc, argv, &i, "--years", &v))
			slot = &years;
		if (!slot) {
			if (a[0] == '-')
				tpq_cli_errorf("ddl: unknown option '%s'", a);
			else
				tpq_cli_errorf("ddl: unexpected argument '%s'", a);
			return usage_error();
		}
		if (!v) {
			tpq_cli_errorf("ddl: %s needs a value", a);
			return usage_error();
		}
		*slot = v;
	}

	enum tpq_ddl_engine engine;
	if (!engine_name) {
		tpq_cli_errorf("ddl: --engine is required (athena, trino, spark or duckdb)");
		return usage_error();
	}
	if (tpq_ddl_engine_parse(engine_name, &engine)) {
		tpq_cli_errorf("ddl: --engine: unknown engine '%s' (athena, trino, spark, duckdb)",
			       engine_name);
		return usage_error();
	}
	if (!location) {
		tpq_cli_errorf("ddl: --location is required (the lake root: s3://bucket/lake)");
		return usage_error();
	}
	if (only) {
		int after_ok = (strcmp(only, "view") == 0 && engine == TPQ_DDL_ATHENA) ||
			       (strcmp(only, "repair") == 0 &&
				(engine == TPQ_DDL_TRINO || engine == TPQ_DDL_SPARK));
		if (strcmp(only, "table") == 0) {
			opt.parts = TPQ_DDL_PART_TABLE;
		} else if (after_ok) {
			opt.parts = TPQ_DDL_PART_AFTER;
		} else {
			tpq_cli_errorf("ddl: --only: '%s' is not a statement of --engine %s "
				       "(table; view for athena; repair for trino and spark)",
				       only, engine_name);
			return usage_error();
		}
	}
	if (accounts) {
		if (strcmp(accounts, "injected") == 0) {
			opt.account_projection = TPQ_DDL_PROJ_INJECTED;
		} else {
			opt.account_projection = TPQ_DDL_PROJ_ENUM;
			opt.accounts = accounts;
		}
	}
	if (regions) {
		if (strcmp(regions, "injected") == 0) {
			opt.region_projection = TPQ_DDL_PROJ_INJECTED;
		} else if (strcmp(regions, "all") == 0) {
			opt.region_projection = TPQ_DDL_PROJ_ENUM;
		} else {
			opt.region_projection = TPQ_DDL_PROJ_ENUM;
			opt.regions = regions;
		}
	}
	if (years && parse_years(years, &opt.year_min, &opt.year_max)) {
		tpq_cli_errorf("ddl: --years: expected FROM,TO (e.g. 2013,2040), got '%s'", years);
		return usage_error();
	}

	struct tpq_buf out;
	struct tpq_error err;
	tpq_buf_init(&out);
	tpq_error_clear(&err);
	enum tpq_status st = tpq_ct_ddl(&out, engine, location, table, &opt, &err);
	int rc = 0;
	if (st == TPQ_EINVAL) {
		tpq_cli_errorf("ddl: %s: %s", flag_of(err.where), err.msg);
		rc = usage_error();
	} else if (st != TPQ_OK) {
		tpq_cli_errorf("ddl: %s", err.msg);
		rc = 1;
	} else if ((out.len && fwrite(out.p, 1, out.len, stdout) != out.len) || fflush(stdout)) {
		tpq_cli_errorf("ddl: writing to stdout: %s", strerror(errno));
		rc = 1;
	}
	tpq_buf_release(&out);
	return rc;
}
