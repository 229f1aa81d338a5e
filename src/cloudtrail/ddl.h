/* Table definitions (DDL) for the lake, generated from schema v1.
 *
 * Every column list, type and partition key printed here is derived from
 * tpq_ct_fields and tpq_ct_partition_columns (cloudtrail/schema_v1.h), so the
 * SQL cannot drift from what the converter writes. One call renders the whole
 * script for one engine into a caller-owned struct tpq_buf:
 *
 *   athena  CREATE EXTERNAL TABLE (Hive DDL) with partition projection, then a
 *           `<table>_compat` view that shows eventtime, readonly and
 *           managementevent as strings like the classic CloudTrail table.
 *   trino   CREATE TABLE for the Hive connector, then
 *           CALL system.sync_partition_metadata(...).
 *   spark   CREATE TABLE ... USING PARQUET, then MSCK REPAIR TABLE.
 *   duckdb  CREATE OR REPLACE VIEW over read_parquet(..., hive_partitioning).
 *
 * Statements end with ';' and are separated by a blank line. Names are
 * validated (lower-case [a-z_][a-z0-9_]*), and every string literal is checked
 * to need no escaping (a location must be printable ASCII without white
 * space, quotes, backslash, backtick, '$' or glob characters), so the output
 * is never injectable. The output is deterministic: it depends only on the
 * arguments (no clock, no locale), which is what lets it be kept as golden
 * files.
 *
 * The same module also prints schema v1 itself, for `trailpq schema`. */
#ifndef TPQ_CLOUDTRAIL_DDL_H
#define TPQ_CLOUDTRAIL_DDL_H

#include <stddef.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

enum tpq_ddl_engine {
	TPQ_DDL_ATHENA = 0,
	TPQ_DDL_TRINO = 1,
	TPQ_DDL_SPARK = 2,
	TPQ_DDL_DUCKDB = 3,
};

/* How Athena projects the values of a partition column (account, region). */
enum tpq_ddl_projection {
	TPQ_DDL_PROJ_AUTO = 0,     /* account: enum if `accounts` is set, else injected;
				    * region: enum of `regions`, else of every commercial region */
	TPQ_DDL_PROJ_ENUM = 1,     /* enum of the given list (or, for region, the built-in one) */
	TPQ_DDL_PROJ_INJECTED = 2, /* injected: every query must give the value(s) */
};

/* Which statements to print. The "after" statement is the engine's second
 * one: Athena's compat view, Trino's sync_partition_metadata call, Spark's
 * MSCK REPAIR TABLE; DuckDB has none. */
enum tpq_ddl_parts {
	TPQ_DDL_PART_TABLE = 1u << 0,
	TPQ_DDL_PART_AFTER = 1u << 1,
	TPQ_DDL_PART_ALL = TPQ_DDL_PART_TABLE | TPQ_DDL_PART_AFTER,
};

#define TPQ_DDL_YEAR_MIN_DEFAULT 2013 /* CloudTrail began in November 2013 */
#define TPQ_DDL_YEAR_MAX_DEFAULT 2040

/* Options; fill with tpq_ddl_options_init, then change what you need. All
 * strings are borrowed for the duration of the call. */
struct tpq_ddl_options {
	/* The lake folder the table reads (LOCATION/<source_table>/...). NULL: the
	 * table name if it is one of the three lake tables (cloudtrail,
	 * cloudtrail_insight, cloudtrail_networkactivity), else "cloudtrail". */
	const char *source_table;
	/* Qualifier of the created object: Athena/Spark database, Trino schema
	 * (NULL: Trino uses "default", the others leave the name unqualified),
	 * DuckDB schema. */
	const char *database;
	/* Trino catalog (NULL: "hive"). Other engines reject it. */
	const char *catalog;
	/* Athena partition projection of `account` and `region`. `accounts` and
	 * `regions` are comma-separated lists (12-digit account ids; region
	 * names), without spaces or repeats; NULL means none given. */
	enum tpq_ddl_projection account_projection;
	const char *accounts;
	enum tpq_ddl_projection region_projection;
	const char *regions;
	/* Athena's projected year range, inclusive (TPQ_DDL_YEAR_*_DEFAULT).
	 * Range 1970..9999, min <= max. */
	int year_min, year_max;
	unsigned parts; /* enum tpq_ddl_parts; 0 is taken as TPQ_DDL_PART_ALL */
};

void tpq_ddl_options_init(struct tpq_ddl_options *opt);

/* Appends the DDL script for `engine` to `out`.
 *
 * `location` is the lake root (the DST of `trailpq convert`): a URI such as
 * s3://bucket/prefix (Athena requires s3://), or for DuckDB, Spark and Trino
 * any path or URI they read. Trailing slashes are ignored. `table` is the name
 * of the SQL object (NULL: "cloudtrail"). `opt` may be NULL (defaults).
 *
 * Options that do not apply to `engine` (projection lists for engines other
 * than Athena, a catalog for engines other than Trino) are rejected, so a
 * mistaken flag is never silently ignored.
 *
 * Errors: TPQ_EINVAL (a bad name, location, list or option; `err` says which
 * and `err->where` names the argument), TPQ_ENOMEM/TPQ_ELIMIT from `out`. On
 * error nothing is appended (out->len is restored). `err` may be NULL. */
enum tpq_status tpq_ct_ddl(struct tpq_buf *out, enum tpq_ddl_engine engine, const char *location,
			   const char *table, const struct tpq_ddl_options *opt,
			   struct tpq_error *err);

/* Parses an engine name ("athena", "trino", "spark", "duckdb"); 0 on
 * success, -1 if unknown. */
int tpq_ddl_engine_parse(const char *name, enum tpq_ddl_engine *engine);
/* The engine's name as tpq_ddl_engine_parse takes it; never NULL. */
const char *tpq_ddl_engine_name(enum tpq_ddl_engine engine);

/* The built-in region list of Athena's default `region` enum: every
 * commercial (aws partition) region, comma-separated, sorted. Static. */
const char *tpq_ddl_default_regions(void);

/* The two forms of `trailpq schema`. */
enum tpq_schema_format {
	TPQ_SCHEMA_TEXT = 0, /* an indented tree: column, type, JSON key */
	TPQ_SCHEMA_JSON = 1, /* one JSON document (see docs/schema.md) */
};

/* Appends schema v1 (columns, nesting, types, source keys, partition columns,
 * table names) to `out`. Errors: TPQ_ENOMEM/TPQ_ELIMIT from `out` (then
 * nothing is appended); TPQ_EINVAL for an unknown format. */
enum tpq_status tpq_ct_schema_describe(struct tpq_buf *out, enum tpq_schema_format format,
				       struct tpq_error *err);

#endif
