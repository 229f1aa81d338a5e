/* CloudTrail table schema v1: one description of the record's fields that
 * the schema builder, the shredder and the DDL generator all read, so the
 * three cannot drift apart.
 *
 * Each field maps a JSON key (CloudTrail's exact spelling) to a lower-case
 * column. Structs nest; `resources` is a list of structs; the
 * webIdFederationData attributes are a map of strings. Every field is
 * OPTIONAL. The table ends with the `unmapped` column (JSON text). */
#ifndef TPQ_CLOUDTRAIL_SCHEMA_V1_H
#define TPQ_CLOUDTRAIL_SCHEMA_V1_H

#include <stddef.h>
#include <stdint.h>

#include "parquet/schema.h"

enum tpq_ct_kind {
	TPQ_CTK_STRING,     /* JSON string -> STRING */
	TPQ_CTK_JSON,       /* any JSON value but null -> its JSON text (STRING) */
	TPQ_CTK_BOOL,       /* JSON true/false -> BOOLEAN */
	TPQ_CTK_TIMESTAMP,  /* RFC 3339 string -> TIMESTAMP(MILLIS, UTC) */
	TPQ_CTK_STRUCT,     /* JSON object -> group of `children` */
	TPQ_CTK_LIST,       /* JSON array of objects -> LIST of struct `children` */
	TPQ_CTK_MAP,        /* JSON object of strings -> MAP<STRING, STRING> */
};

struct tpq_ct_field {
	const char *key;      /* JSON key, CloudTrail's spelling */
	const char *column;   /* column (or struct field) name, lower case */
	enum tpq_ct_kind kind;
	const struct tpq_ct_field *children; /* STRUCT fields, or LIST element fields */
	size_t n_children;
	uint32_t flags;       /* enum tpq_col_flags for leaves */
};

/* The record's top-level fields, in column order (without `unmapped`). */
extern const struct tpq_ct_field tpq_ct_fields[];
extern const size_t tpq_ct_n_fields;

/* The names of the three tables that share the schema. */
#define TPQ_CT_TABLE_CLOUDTRAIL "cloudtrail"
#define TPQ_CT_TABLE_INSIGHT "cloudtrail_insight"
#define TPQ_CT_TABLE_NETWORK "cloudtrail_networkactivity"
/* The partition columns, in path order; all strings. */
extern const char *const tpq_ct_partition_columns[5];

/* Builds schema v1 into an initialised, empty schema and finishes it. If
 * `nodes` is not NULL it receives, for each field in the order of a
 * depth-first walk of tpq_ct_fields (a struct before its children; a list's
 * element fields right after the list; a map counts once), the schema node
 * index of that field's outer node (for a LIST/MAP: the annotated group);
 * `n_nodes` must be at least tpq_ct_count_fields(). *unmapped_leaf receives the
 * column index of `unmapped` (may be NULL). */
enum tpq_status tpq_ct_schema_build(struct tpq_schema *s, int *nodes, size_t n_nodes,
				    int *unmapped_leaf, struct tpq_error *err);
/* Number of entries in the depth-first walk of tpq_ct_fields. */
size_t tpq_ct_count_fields(void);

#endif
