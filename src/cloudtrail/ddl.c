/* DDL and schema printing (see ddl.h).
 *
 * Design: all validation happens first, into locals; only then is anything
 * written, so a rejected call appends nothing and the writers below cannot
 * fail except through the buffer's sticky error, which is checked once at the
 * end. The column list is never typed by hand: each engine's writer walks
 * tpq_ct_fields (recursively, depth <= 4 in v1) and spells each kind with the
 * engine's type names:
 *
 *   kind       athena (Hive DDL)     trino            spark                duckdb
 *   STRING     string                varchar          STRING               (from the files)
 *   JSON       string                varchar          STRING
 *   BOOL       boolean               boolean          BOOLEAN
 *   TIMESTAMP  timestamp             timestamp(3)     TIMESTAMP
 *   STRUCT     struct<f: t, ...>     row("f" t, ...)  STRUCT<`f`: t, ...>
 *   LIST       array<struct<...>>    array(row(...))  ARRAY<STRUCT<...>>
 *   MAP        map<string,string>    map(varchar, varchar)  MAP<STRING, STRING>
 *
 * Injection safety comes from validation, not escaping: identifiers must be
 * [a-z_][a-z0-9_]* (so quoting them never needs an escape) and literals may
 * not contain quotes, backslashes or '$' (Hive and Spark treat backslashes in
 * literals as escapes and '${...}' is Athena's template syntax), so every
 * literal is printed verbatim between single quotes. Athena's DDL text has no
 * comments at all: Athena routes a statement to its Hive or its Trino parser
 * by how the text begins, and a leading comment can send DDL to the wrong
 * one. */
#include "cloudtrail/ddl.h"

#include <stdio.h>
#include <string.h>

#include "cloudtrail/schema_v1.h"
#include "util/error.h"

#define IDENT_MAX 128
#define LOCATION_MAX 2048
#define LIST_MAX 65536

/* Every region of the commercial `aws` partition, sorted (2025: the four
 * opened that year included). */
static const char default_regions[] =
	"af-south-1,ap-east-1,ap-east-2,ap-northeast-1,ap-northeast-2,ap-northeast-3,"
	"ap-south-1,ap-south-2,ap-southeast-1,ap-southeast-2,ap-southeast-3,ap-southeast-4,"
	"ap-southeast-5,ap-southeast-6,ap-southeast-7,ca-central-1,ca-west-1,eu-central-1,"
	"eu-central-2,eu-north-1,eu-south-1,eu-south-2,eu-west-1,eu-west-2,eu-west-3,"
	"il-central-1,me-central-1,me-south-1,mx-central-1,sa-east-1,us-east-1,us-east-2,"
	"us-west-1,us-west-2";

static const char *const engine_names[] = {"athena", "trino", "spark", "duckdb"};

void tpq_ddl_options_init(struct tpq_ddl_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->account_projection = TPQ_DDL_PROJ_AUTO;
	opt->region_projection = TPQ_DDL_PROJ_AUTO;
	opt->year_min = TPQ_DDL_YEAR_MIN_DEFAULT;
	opt->year_max = TPQ_DDL_YEAR_MAX_DEFAULT;
	opt->parts = TPQ_DDL_PART_ALL;
}

int tpq_ddl_engine_parse(const char *name, enum tpq_ddl_engine *engine)
{
	for (size_t i = 0; name && i < sizeof(engine_names) / sizeof(engine_names[0]); i++) {
		if (strcmp(name, engine_names[i]) == 0) {
			*engine = (enum tpq_ddl_engine)i;
			return 0;
		}
	}
	return -1;
}

const char *tpq_ddl_engine_name(enum tpq_ddl_engine engine)
{
	if ((unsigned)engine < sizeof(engine_names) / sizeof(engine_names[0]))
		return engine_names[engine];
	return "unknown";
}

const char *tpq_ddl_default_regions(void)
{
	return default_regions;
}

/* ---- validation ---------------------------------------------------------- */

static int ident_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > IDENT_MAX || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Sets an EINVAL error "msg: value". The value is the user's and may hold
 * anything: it is shown cut to 100 bytes, with bytes outside printable ASCII
 * as '?', so the message stays one clean line on a terminal. */
static enum tpq_status bad(struct tpq_error *err, const char *where, const char *msg,
			   const char *value)
{
	char shown[104];
	size_t n = 0;
	if (!value)
		value = "(none)";
	for (; value[n] && n < 100; n++)
		shown[n] = value[n] >= 0x20 && value[n] < 0x7f ? value[n] : '?';
	if (value[n])
		shown[n - 1] = shown[n - 2] = shown[n - 3] = '.';
	shown[n] = '\0';
	tpq_error_set(err, TPQ_EINVAL, "%s: %s", msg, shown);
	tpq_error_where(err, where);
	return TPQ_EINVAL;
}

static enum tpq_status check_ident(const char *s, const char *where, struct tpq_error *err)
{
	if (!ident_ok(s))
		return bad(err, where,
			   "not a plain lower-case name ([a-z_][a-z0-9_]*, up to 128 chars)", s);
	return TPQ_OK;
}

/* Checks the lake root and returns its length without trailing slashes. */
static enum tpq_status check_location(const char *loc, enum tpq_ddl_engine engine, size_t *len,
				      struct tpq_error *err)
{
	if (!loc || !*loc)
		return bad(err, "location", "a location (the lake root) is required", loc);
	size_t n = strlen(loc);
	if (n > LOCATION_MAX)
		return bad(err, "location", "location longer than 2048 bytes", "(too long)");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)loc[i];
		if (c <= 0x20 || c >= 0x7f)
			return bad(err, "location",
				   "location may hold only printable ASCII without spaces", loc);
		if (strchr("'\"\\`$*?[]{}", c))
			return bad(err, "location",
				   "location may not contain ' \" \\ ` $ * ? [ ] { }", loc);
	}
	while (n > 0 && loc[n - 1] == '/')
		n--;
	int s3 = n > 5 && strncmp(loc, "s3://", 5) == 0 && loc[5] != '/';
	if (engine == TPQ_DDL_ATHENA && !s3)
		return bad(err, "location",
			   "Athena reads S3 only: the location must be s3://BUCKET[/PREFIX]", loc);
	if (n == 0 && loc[0] != '/')
		return bad(err, "location", "empty location", loc);
	*len = n;
	return TPQ_OK;
}

static int account_ok(const char *s, size_t n)
{
	if (n != 12)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* A region name: lower-case words and digits joined by single hyphens, ending
 * in a digit (us-east-1, us-gov-west-1, eu-isoe-west-1). */
static int region_ok(const char *s, size_t n)
{
	if (n < 4 || n > 40 || s[0] < 'a' || s[0] > 'z' || s[n - 1] < '0' || s[n - 1] > '9')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-') {
			if (s[i - 1] == '-')
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return 0;
		}
	}
	return 1;
}

/* A comma-separated list of accounts or regions: each item valid, no empty
 * item, no repeat (a repeat is a typo at best, and could make a partition be
 * projected twice). O(n^2) in the number of items, which LIST_MAX bounds. */
static enum tpq_status check_list(const char *list, int accounts, struct tpq_error *err)
{
	const char *where = accounts ? "accounts" : "regions";
	size_t n = strlen(list);
	if (n == 0)
		return bad(err, where, "empty list", list);
	if (n > LIST_MAX)
		return bad(err, where, "list longer than 65536 bytes", "(too long)");
	const char *p = list, *end = list + n;
	while (p <= end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (!c)
			c = end;
		size_t len = (size_t)(c - p);
		if (accounts ? !account_ok(p, len) : !region_ok(p, len))
			return bad(err, where,
				   accounts ? "not a comma-separated list of 12-digit account ids"
					    : "not a comma-separated list of region names",
				   list);
		for (const char *q = list; q < p;) {
			const char *qc = memchr(q, ',', (size_t)(p - q));
			if ((size_t)(qc - q) == len && memcmp(q, p, len) == 0)
				return bad(err, where, "a value is listed twice", list);
			q = qc + 1;
		}
		p = c + 1;
	}
	return TPQ_OK;
}

static int is_lake_table(const char *t)
{
	return strcmp(t, TPQ_CT_TABLE_CLOUDTRAIL) == 0 || strcmp(t, TPQ_CT_TABLE_INSIGHT) == 0 ||
	       strcmp(t, TPQ_CT_TABLE_NETWORK) == 0;
}

/* Everything the writers need, resolved and validated. */
struct plan {
	enum tpq_ddl_engine engine;
	const char *location; /* not NUL-terminated at loc_len */
	size_t loc_len;
	const char *table, *source, *database, *catalog;
	const char *accounts; /* NULL: injected */
	const char *regions;  /* NULL: injected */
	int year_min, year_max;
	unsigned parts;
};

static enum tpq_status make_plan(struct plan *pl, enum tpq_ddl_engine engine,
				 const char *location, const char *table,
				 const struct tpq_ddl_options *opt, struct tpq_error *err)
{
	enum tpq_status st;
	memset(pl, 0, sizeof(*pl));
	if ((unsigned)engine > TPQ_DDL_DUCKDB)
		return bad(err, "engine", "unknown engine", "(out of range)");
	pl->engine = engine;
	if ((st = check_location(location, engine, &pl->loc_len, err)))
		return st;
	pl->location = location;
	pl->table = table ? table : TPQ_CT_TABLE_CLOUDTRAIL;
	if ((st = check_ident(pl->table, "table", err)))
		return st;
	if (opt->source_table) {
		pl->source = opt->source_table;
		if ((st = check_ident(pl->source, "source_table", err)))
			return st;
	} else {
		pl->source = is_lake_table(pl->table) ? pl->table : TPQ_CT_TABLE_CLOUDTRAIL;
	}
	pl->database = opt->database;
	if (pl->database && (st = check_ident(pl->database, "database", err)))
		return st;
	if (opt->catalog) {
		if (engine != TPQ_DDL_TRINO)
			return bad(err, "catalog", "a catalog applies to --engine trino only",
				   opt->catalog);
		if ((st = check_ident(opt->catalog, "catalog", err)))
			return st;
	}
	if (engine == TPQ_DDL_TRINO) {
		pl->catalog = opt->catalog ? opt->catalog : "hive";
		if (!pl->database)
			pl->database = "default";
	}

	pl->parts = opt->parts ? opt->parts : TPQ_DDL_PART_ALL;
	if (pl->parts & ~(unsigned)TPQ_DDL_PART_ALL)
		return bad(err, "parts", "unknown statement selection", "(bits)");
	if (engine == TPQ_DDL_DUCKDB && !(pl->parts & TPQ_DDL_PART_TABLE))
		return bad(err, "parts", "DuckDB has only the CREATE VIEW statement", "duckdb");
	if (engine == TPQ_DDL_ATHENA && (pl->parts & TPQ_DDL_PART_AFTER) &&
	    strlen(pl->table) + strlen("_compat") > IDENT_MAX)
		return bad(err, "table", "table name too long for its _compat view", pl->table);

	/* Partition projection: Athena only. */
	int athena = engine == TPQ_DDL_ATHENA;
	const char *proj = NULL;
	if (opt->accounts || opt->account_projection)
		proj = "accounts";
	else if (opt->regions || opt->region_projection)
		proj = "regions";
	else if (opt->year_min != TPQ_DDL_YEAR_MIN_DEFAULT ||
		 opt->year_max != TPQ_DDL_YEAR_MAX_DEFAULT)
		proj = "years";
	if (!athena && proj)
		return bad(err, proj, "partition projection options are for athena only",
			   tpq_ddl_engine_name(engine));
	if (!athena)
		return TPQ_OK;

	if (opt->accounts && (st = check_list(opt->accounts, 1, err)))
		return st;
	if (opt->regions && (st = check_list(opt->regions, 0, err)))
		return st;
	switch (opt->account_projection) {
	case TPQ_DDL_PROJ_AUTO:
		pl->accounts = opt->accounts;
		break;
	case TPQ_DDL_PROJ_ENUM:
		if (!opt->accounts)
			return bad(err, "accounts", "an enum projection needs the account ids",
				   "(none)");
		pl->accounts = opt->accounts;
		break;
	case TPQ_DDL_PROJ_INJECTED:
		if (opt->accounts)
			return bad(err, "accounts", "accounts given for an injected projection",
				   opt->accounts);
		break;
	default:
		return bad(err, "accounts", "unknown projection", "(out of range)");
	}
	switch (opt->region_projection) {
	case TPQ_DDL_PROJ_AUTO:
	case TPQ_DDL_PROJ_ENUM:
		pl->regions = opt->regions ? opt->regions : default_regions;
		break;
	case TPQ_DDL_PROJ_INJECTED:
		if (opt->regions)
			return bad(err, "regions", "regions given for an injected projection",
				   opt->regions);
		break;
	default:
		return bad(err, "regions", "unknown projection", "(out of range)");
	}
	if (opt->year_min < 1970 || opt->year_max > 9999 || opt->year_min > opt->year_max) {
		char v[48];
		snprintf(v, sizeof(v), "%d,%d", opt->year_min, opt->year_max);
		return bad(err, "years", "need FROM,TO with 1970 <= FROM <= TO <= 9999", v);
	}
	pl->year_min = opt->year_min;
	pl->year_max = opt->year_max;
	return TPQ_OK;
}

/* ---- writing ------------------------------------------------------------- */

static void put(struct tpq_buf *b, const char *s)
{
	tpq_buf_put(b, s, strlen(s));
}

static void put_indent(struct tpq_buf *b, int depth)
{
	for (int i = 0; i < depth; i++)
		put(b, "  ");
}

static void put_quoted(struct tpq_buf *b, char q, const char *name)
{
	tpq_buf_put_u8(b, (uint8_t)q);
	put(b, name);
	tpq_buf_put_u8(b, (uint8_t)q);
}

static void put_int(struct tpq_buf *b, int v)
{
	char t[16];
	snprintf(t, sizeof(t), "%d", v);
	put(b, t);
}

/* The engine's name for a string column (athena, trino, spark). */
static const char *string_type(enum tpq_ddl_engine e)
{
	return e == TPQ_DDL_TRINO ? "varchar" : e == TPQ_DDL_SPARK ? "STRING" : "string";
}

/* The identifier quote of an engine's DDL. */
static char ddl_quote(enum tpq_ddl_engine e)
{
	return e == TPQ_DDL_ATHENA || e == TPQ_DDL_SPARK ? '`' : '"';
}

/* [database.]name (Trino: catalog.schema.name), quoted with q. */
static void put_object(struct tpq_buf *b, const struct plan *pl, char q, const char *name)
{
	if (pl->catalog) {
		put_quoted(b, q, pl->catalog);
		put(b, ".");
	}
	if (pl->database) {
		put_quoted(b, q, pl->database);
		put(b, ".");
	}
	put_quoted(b, q, name);
}

/* LOCATION/<source>, without a trailing slash. */
static void put_table_dir(struct tpq_buf *b, const struct plan *pl)
{
	tpq_buf_put(b, pl->location, pl->loc_len);
	put(b, "/");
	put(b, pl->source);
}

static void put_type(struct tpq_buf *b, enum tpq_ddl_engine e, const struct tpq_ct_field *f,
		     int depth);

/* A struct's members, one per line at depth + 1; the closing bracket ends
 * the last member's line. */
static void put_struct(struct tpq_buf *b, enum tpq_ddl_engine e, const struct tpq_ct_field *f,
		       size_t n, int depth)
{
	put(b, e == TPQ_DDL_ATHENA ? "struct<" : e == TPQ_DDL_TRINO ? "row(" : "STRUCT<");
	for (size_t i = 0; i < n; i++) {
		put(b, "\n");
		put_indent(b, depth + 1);
		if (e == TPQ_DDL_ATHENA) {
			/* AWS's own CloudTrail DDL leaves struct field names bare. */
			put(b, f[i].column);
			put(b, ": ");
		} else if (e == TPQ_DDL_TRINO) {
			put_quoted(b, '"', f[i].column);
			put(b, " ");
		} else {
			put_quoted(b, '`', f[i].column);
			put(b, ": ");
		}
		put_type(b, e, &f[i], depth + 1);
		if (i + 1 < n)
			put(b, ",");
	}
	put(b, e == TPQ_DDL_TRINO ? ")" : ">");
}

static void put_type(struct tpq_buf *b, enum tpq_ddl_engine e, const struct tpq_ct_field *f,
		     int depth)
{
	static const char *const names[][3] = {
		/* athena, trino, spark */
		[TPQ_CTK_STRING] = {"string", "varchar", "STRING"},
		[TPQ_CTK_JSON] = {"string", "varchar", "STRING"},
		[TPQ_CTK_BOOL] = {"boolean", "boolean", "BOOLEAN"},
		[TPQ_CTK_TIMESTAMP] = {"timestamp", "timestamp(3)", "TIMESTAMP"},
		[TPQ_CTK_MAP] = {"map<string,string>", "map(varchar, varchar)",
				 "MAP<STRING, STRING>"},
	};
	int k = e == TPQ_DDL_ATHENA ? 0 : e == TPQ_DDL_TRINO ? 1 : 2;
	switch (f->kind) {
	case TPQ_CTK_STRUCT:
		put_struct(b, e, f->children, f->n_children, depth);
		break;
	case TPQ_CTK_LIST:
		put(b, k == 0 ? "array<" : k == 1 ? "array(" : "ARRAY<");
		put_struct(b, e, f->children, f->n_children, depth);
		put(b, k == 1 ? ")" : ">");
		break;
	default:
		put(b, names[f->kind][k]);
		break;
	}
}

/* The data columns (schema v1 and `unmapped`), one per line, each followed by
 * a comma unless it is the last and `more` is false. */
static void put_columns(struct tpq_buf *b, enum tpq_ddl_engine e, int more)
{
	char q = ddl_quote(e);
	for (size_t i = 0; i < tpq_ct_n_fields; i++) {
		put_indent(b, 1);
		put_quoted(b, q, tpq_ct_fields[i].column);
		put(b, " ");
		put_type(b, e, &tpq_ct_fields[i], 1);
		put(b, ",\n");
	}
	put_indent(b, 1);
	put_quoted(b, q, "unmapped");
	put(b, " ");
	put(b, string_type(e));
	put(b, more ? ",\n" : "\n");
}

/* The partition columns as "name type" lines. */
static void put_partition_columns(struct tpq_buf *b, enum tpq_ddl_engine e)
{
	for (size_t i = 0; i < 5; i++) {
		put_indent(b, 1);
		put_quoted(b, ddl_quote(e), tpq_ct_partition_columns[i]);
		put(b, " ");
		put(b, string_type(e));
		put(b, i + 1 < 5 ? ",\n" : "\n");
	}
}

/* A SELECT list of every column in table order, quoted with '"', with
 * Athena's compat conversions when `compat` is set. */
static void put_select_list(struct tpq_buf *b, int compat)
{
	put(b, "SELECT\n");
	for (size_t i = 0; i < tpq_ct_n_fields; i++) {
		const struct tpq_ct_field *f = &tpq_ct_fields[i];
		put_indent(b, 1);
		if (compat && f->kind == TPQ_CTK_TIMESTAMP) {
			/* CloudTrail's own form: 2024-03-13T00:00:05Z (UTC, whole seconds). */
			put(b, "date_format(");
			put_quoted(b, '"', f->column);
			put(b, ", '%Y-%m-%dT%H:%i:%sZ') AS ");
			put_quoted(b, '"', f->column);
		} else if (compat && f->kind == TPQ_CTK_BOOL) {
			/* 'true' / 'false', lower case, as the JSON text had it. */
			put(b, "CAST(");
			put_quoted(b, '"', f->column);
			put(b, " AS varchar) AS ");
			put_quoted(b, '"', f->column);
		} else {
			put_quoted(b, '"', f->column);
		}
		put(b, ",\n");
	}
	put_indent(b, 1);
	put_quoted(b, '"', "unmapped");
	put(b, ",\n");
	for (size_t i = 0; i < 5; i++) {
		put_indent(b, 1);
		put_quoted(b, '"', tpq_ct_partition_columns[i]);
		put(b, i + 1 < 5 ? ",\n" : "\n");
	}
}

static void put_prop(struct tpq_buf *b, const char *key, const char *value, int last)
{
	put(b, "  '");
	put(b, key);
	put(b, "' = '");
	put(b, value);
	put(b, last ? "'\n" : "',\n");
}

static void put_int_projection(struct tpq_buf *b, const char *col, int lo, int hi, int digits)
{
	char key[64], val[32];
	snprintf(key, sizeof(key), "projection.%s.type", col);
	put_prop(b, key, "integer", 0);
	snprintf(key, sizeof(key), "projection.%s.range", col);
	snprintf(val, sizeof(val), "%d,%d", lo, hi);
	put_prop(b, key, val, 0);
	snprintf(key, sizeof(key), "projection.%s.digits", col);
	snprintf(val, sizeof(val), "%d", digits);
	put_prop(b, key, val, 0);
}

static void put_list_projection(struct tpq_buf *b, const char *col, const char *values)
{
	char key[64];
	snprintf(key, sizeof(key), "projection.%s.type", col);
	put_prop(b, key, values ? "enum" : "injected", 0);
	if (values) {
		snprintf(key, sizeof(key), "projection.%s.values", col);
		put_prop(b, key, values, 0);
	}
}

static void write_athena(struct tpq_buf *b, const struct plan *pl)
{
	if (pl->parts & TPQ_DDL_PART_TABLE) {
		put(b, "CREATE EXTERNAL TABLE ");
		put_object(b, pl, '`', pl->table);
		put(b, " (\n");
		put_columns(b, TPQ_DDL_ATHENA, 0);
		put(b, ")\nPARTITIONED BY (\n");
		put_partition_columns(b, TPQ_DDL_ATHENA);
		put(b, ")\nSTORED AS PARQUET\nLOCATION '");
		put_table_dir(b, pl);
		put(b, "/'\nTBLPROPERTIES (\n");
		put_prop(b, "projection.enabled", "true", 0);
		put_list_projection(b, "account", pl->accounts);
		put_list_projection(b, "region", pl->regions);
		put_int_projection(b, "year", pl->year_min, pl->year_max, 4);
		put_int_projection(b, "month", 1, 12, 2);
		put_int_projection(b, "day", 1, 31, 2);
		put(b, "  'storage.location.template' = '");
		put_table_dir(b, pl);
		for (size_t i = 0; i < 5; i++) {
			const char *c = tpq_ct_partition_columns[i];
			put(b, "/");
			put(b, c);
			put(b, "=${");
			put(b, c);
			put(b, "}");
		}
		put(b, "/'\n);\n");
	}
	if (pl->parts & TPQ_DDL_PART_AFTER) {
		char view[IDENT_MAX + 8];
		snprintf(view, sizeof(view), "%s_compat", pl->table);
		if (pl->parts & TPQ_DDL_PART_TABLE)
			put(b, "\n");
		put(b, "CREATE OR REPLACE VIEW ");
		put_object(b, pl, '"', view);
		put(b, " AS\n");
		put_select_list(b, 1);
		put(b, "FROM ");
		put_object(b, pl, '"', pl->table);
		put(b, ";\n");
	}
}

static void write_trino(struct tpq_buf *b, const struct plan *pl)
{
	if (pl->parts & TPQ_DDL_PART_TABLE) {
		put(b, "-- trailpq schema v1: table ");
		put(b, pl->table);
		put(b, " for Trino's Hive connector, reading the lake folder\n-- ");
		put_table_dir(b, pl);
		put(b, "/account=ACCOUNT/region=REGION/year=YYYY/month=MM/day=DD/\n");
		put(b, "CREATE TABLE ");
		put_object(b, pl, '"', pl->table);
		put(b, " (\n");
		put_columns(b, TPQ_DDL_TRINO, 1);
		put_partition_columns(b, TPQ_DDL_TRINO);
		put(b, ")\nWITH (\n  external_location = '");
		put_table_dir(b, pl);
		put(b, "/',\n  format = 'PARQUET',\n  partitioned_by = ARRAY[");
		for (size_t i = 0; i < 5; i++) {
			put(b, i ? ", '" : "'");
			put(b, tpq_ct_partition_columns[i]);
			put(b, "'");
		}
		put(b, "]\n);\n");
	}
	if (pl->parts & TPQ_DDL_PART_AFTER) {
		if (pl->parts & TPQ_DDL_PART_TABLE)
			put(b, "\n");
		put(b, "-- The metastore keeps the list of partitions: this registers the days\n"
		       "-- the lake holds now. Run it again after each trailpq convert that adds\n"
		       "-- days.\n");
		put(b, "CALL ");
		put_quoted(b, '"', pl->catalog);
		put(b, ".system.sync_partition_metadata(\n  schema_name => '");
		put(b, pl->database);
		put(b, "',\n  table_name => '");
		put(b, pl->table);
		put(b, "',\n  mode => 'FULL');\n");
	}
}

static void write_spark(struct tpq_buf *b, const struct plan *pl)
{
	if (pl->parts & TPQ_DDL_PART_TABLE) {
		put(b, "-- trailpq schema v1: table ");
		put(b, pl->table);
		put(b, " for Spark SQL, reading the lake folder\n-- ");
		put_table_dir(b, pl);
		put(b, "/account=ACCOUNT/region=REGION/year=YYYY/month=MM/day=DD/\n");
		put(b, "CREATE TABLE ");
		put_object(b, pl, '`', pl->table);
		put(b, " (\n");
		put_columns(b, TPQ_DDL_SPARK, 1);
		put_partition_columns(b, TPQ_DDL_SPARK);
		put(b, ")\nUSING PARQUET\nPARTITIONED BY (");
		for (size_t i = 0; i < 5; i++) {
			if (i)
				put(b, ", ");
			put_quoted(b, '`', tpq_ct_partition_columns[i]);
		}
		put(b, ")\nLOCATION '");
		put_table_dir(b, pl);
		put(b, "/';\n");
	}
	if (pl->parts & TPQ_DDL_PART_AFTER) {
		if (pl->parts & TPQ_DDL_PART_TABLE)
			put(b, "\n");
		put(b, "-- The catalog keeps the list of partitions: this registers the days\n"
		       "-- the lake holds now (ALTER TABLE ... RECOVER PARTITIONS does the same).\n"
		       "-- Run it again after each trailpq convert that adds days.\n");
		put(b, "MSCK REPAIR TABLE ");
		put_object(b, pl, '`', pl->table);
		put(b, ";\n");
	}
}

static void write_duckdb(struct tpq_buf *b, const struct plan *pl)
{
	put(b, "-- trailpq schema v1: view ");
	put(b, pl->table);
	put(b, " for DuckDB, over the lake's Parquet files.\n"
	       "-- Partition values stay strings (hive_types_autocast = false): account\n"
	       "-- 012345678901 keeps its leading zero, month and day keep theirs ('03').\n");
	put(b, "CREATE OR REPLACE VIEW ");
	put_object(b, pl, '"', pl->table);
	put(b, " AS\n");
	put_select_list(b, 0);
	put(b, "FROM read_parquet(\n  '");
	put_table_dir(b, pl);
	for (size_t i = 0; i < 5; i++) {
		put(b, "/");
		put(b, tpq_ct_partition_columns[i]);
		put(b, "=*");
	}
	put(b, "/*.parquet',\n  hive_partitioning = true,\n  hive_types_autocast = false,\n"
	       "  union_by_name = true);\n");
}

enum tpq_status tpq_ct_ddl(struct tpq_buf *out, enum tpq_ddl_engine engine, const char *location,
			   const char *table, const struct tpq_ddl_options *opt,
			   struct tpq_error *err)
{
	struct tpq_ddl_options defaults;
	struct plan pl;
	if (!opt) {
		tpq_ddl_options_init(&defaults);
		opt = &defaults;
	}
	if (tpq_buf_status(out))
		return tpq_error_set(err, tpq_buf_status(out), "output buffer already failed");
	enum tpq_status st = make_plan(&pl, engine, location, table, opt, err);
	if (st)
		return st;
	size_t start = out->len;
	switch (engine) {
	case TPQ_DDL_ATHENA: write_athena(out, &pl); break;
	case TPQ_DDL_TRINO: write_trino(out, &pl); break;
	case TPQ_DDL_SPARK: write_spark(out, &pl); break;
	case TPQ_DDL_DUCKDB: write_duckdb(out, &pl); break;
	}
	st = tpq_buf_status(out);
	if (st) {
		out->len = start;
		return tpq_error_set(err, st, "writing the DDL: %s", tpq_status_str(st));
	}
	return TPQ_OK;
}

/* ---- schema v1 for people and programs ----------------------------------- */

static const char *kind_text(enum tpq_ct_kind k)
{
	switch (k) {
	case TPQ_CTK_STRING: return "string";
	case TPQ_CTK_JSON: return "string (JSON text)";
	case TPQ_CTK_BOOL: return "boolean";
	case TPQ_CTK_TIMESTAMP: return "timestamp (ms, UTC)";
	case TPQ_CTK_STRUCT: return "struct";
	case TPQ_CTK_LIST: return "list<struct>";
	case TPQ_CTK_MAP: return "map<string,string>";
	}
	return "?";
}

static const char *kind_json(enum tpq_ct_kind k)
{
	switch (k) {
	case TPQ_CTK_STRING: return "string";
	case TPQ_CTK_JSON: return "json";
	case TPQ_CTK_BOOL: return "boolean";
	case TPQ_CTK_TIMESTAMP: return "timestamp";
	case TPQ_CTK_STRUCT: return "struct";
	case TPQ_CTK_LIST: return "list";
	case TPQ_CTK_MAP: return "map";
	}
	return "?";
}

/* "name<pad>type<pad>from" with the name indented by depth. */
static void put_row(struct tpq_buf *b, int depth, const char *name, const char *type,
		    const char *from)
{
	size_t w = (size_t)depth * 2 + strlen(name);
	put_indent(b, depth);
	put(b, name);
	do
		put(b, " ");
	while (++w < 36);
	put(b, type);
	for (w = strlen(type); w < 22; w++)
		put(b, " ");
	put(b, from);
	put(b, "\n");
}

static void text_fields(struct tpq_buf *b, const struct tpq_ct_field *f, size_t n, int depth)
{
	for (size_t i = 0; i < n; i++) {
		put_row(b, depth, f[i].column, kind_text(f[i].kind), f[i].key);
		if (f[i].kind == TPQ_CTK_STRUCT || f[i].kind == TPQ_CTK_LIST)
			text_fields(b, f[i].children, f[i].n_children, depth + 1);
	}
}

/* Keys and names are ASCII identifiers, but escape anyway: the JSON must stay
 * valid whatever the table holds. */
static void put_json_str(struct tpq_buf *b, const char *s)
{
	put(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			tpq_buf_put_u8(b, '\\');
			tpq_buf_put_u8(b, c);
		} else if (c < 0x20) {
			char t[8];
			snprintf(t, sizeof(t), "\\u%04x", c);
			put(b, t);
		} else {
			tpq_buf_put_u8(b, c);
		}
	}
	put(b, "\"");
}

/* One JSON object per field, one per line; the last is followed by a comma
 * only if `more` (more entries follow in the same array). */
static void json_fields(struct tpq_buf *b, const struct tpq_ct_field *f, size_t n, int depth,
			const char *prefix, int more)
{
	for (size_t i = 0; i < n; i++) {
		char source[256];
		snprintf(source, sizeof(source), "%s%s", prefix, f[i].key);
		put_indent(b, depth);
		put(b, "{\"name\": ");
		put_json_str(b, f[i].column);
		put(b, ", \"type\": \"");
		put(b, kind_json(f[i].kind));
		put(b, "\", \"key\": ");
		put_json_str(b, f[i].key);
		put(b, ", \"source\": ");
		put_json_str(b, source);
		if (f[i].flags & TPQ_COL_BLOOM)
			put(b, ", \"bloom_filter\": true");
		if (f[i].kind == TPQ_CTK_MAP)
			put(b, ", \"key_type\": \"string\", \"value_type\": \"string\"");
		if (f[i].kind == TPQ_CTK_STRUCT || f[i].kind == TPQ_CTK_LIST) {
			char sub[sizeof(source) + 4];
			snprintf(sub, sizeof(sub), "%s%s", source,
				 f[i].kind == TPQ_CTK_LIST ? "[]." : ".");
			put(b, f[i].kind == TPQ_CTK_LIST ? ", \"element\": {\"type\": \"struct\", "
							   "\"fields\": [\n"
							 : ", \"fields\": [\n");
			json_fields(b, f[i].children, f[i].n_children, depth + 1, sub, 0);
			put_indent(b, depth);
			put(b, f[i].kind == TPQ_CTK_LIST ? "]}}" : "]}");
		} else {
			put(b, "}");
		}
		put(b, i + 1 < n || more ? ",\n" : "\n");
	}
}

static const char *const partition_from[5] = {
	"the object key: AWSLogs/[o-ORGID/]ACCOUNT/...",
	"the object key: .../CloudTrail*/REGION/YYYY/MM/DD/",
	"eventTime (UTC), YYYY; the delivery date if unusable",
	"eventTime (UTC), MM (01-12)",
	"eventTime (UTC), DD (01-31)",
};

static void describe_text(struct tpq_buf *b)
{
	put(b, "trailpq schema v1\ntables: " TPQ_CT_TABLE_CLOUDTRAIL ", " TPQ_CT_TABLE_INSIGHT
	       ", " TPQ_CT_TABLE_NETWORK "\nlayout: <table>/account=ACCOUNT/region=REGION/"
	       "year=YYYY/month=MM/day=DD/part-*.parquet\n\n");
	put_row(b, 0, "column", "type", "JSON key");
	text_fields(b, tpq_ct_fields, tpq_ct_n_fields, 0);
	put_row(b, 0, "unmapped", kind_text(TPQ_CTK_JSON),
		"(every other key, by JSON Pointer)");
	put(b, "\npartition columns (directories, in path order):\n");
	for (size_t i = 0; i < 5; i++)
		put_row(b, 0, tpq_ct_partition_columns[i], "string", partition_from[i]);
}

static void describe_json(struct tpq_buf *b)
{
	put(b, "{\n  \"schema_version\": ");
	put_int(b, TPQ_SCHEMA_VERSION);
	put(b, ",\n  \"tables\": [\"" TPQ_CT_TABLE_CLOUDTRAIL "\", \"" TPQ_CT_TABLE_INSIGHT
	       "\", \"" TPQ_CT_TABLE_NETWORK "\"],\n");
	put(b, "  \"layout\": \"<table>/account=ACCOUNT/region=REGION/year=YYYY/month=MM/day=DD/"
	       "part-*.parquet\",\n");
	put(b, "  \"columns\": [\n");
	json_fields(b, tpq_ct_fields, tpq_ct_n_fields, 2, "", 1);
	put(b, "    {\"name\": \"unmapped\", \"type\": \"json\", \"key\": null, "
	       "\"source\": null}\n  ],\n");
	put(b, "  \"partition_columns\": [\n");
	for (size_t i = 0; i < 5; i++) {
		put(b, "    {\"name\": ");
		put_json_str(b, tpq_ct_partition_columns[i]);
		put(b, ", \"type\": \"string\", \"from\": ");
		put_json_str(b, partition_from[i]);
		put(b, i + 1 < 5 ? "},\n" : "}\n");
	}
	put(b, "  ]\n}\n");
}

enum tpq_status tpq_ct_schema_describe(struct tpq_buf *out, enum tpq_schema_format format,
				       struct tpq_error *err)
{
	if (format != TPQ_SCHEMA_TEXT && format != TPQ_SCHEMA_JSON)
		return tpq_error_set(err, TPQ_EINVAL, "unknown schema format %d", (int)format);
	if (tpq_buf_status(out))
		return tpq_error_set(err, tpq_buf_status(out), "output buffer already failed");
	size_t start = out->len;
	if (format == TPQ_SCHEMA_TEXT)
		describe_text(out);
	else
		describe_json(out);
	enum tpq_status st = tpq_buf_status(out);
	if (st) {
		out->len = start;
		return tpq_error_set(err, st, "writing the schema: %s", tpq_status_str(st));
	}
	return TPQ_OK;
}
