/* A Parquet schema: a tree of groups and primitive leaves, kept as a flat
 * array in depth-first order (the order of FileMetaData.schema), with the
 * per-leaf maximum definition and repetition levels the Dremel encoding needs.
 *
 * Build it top-down: tpq_schema_init makes the root (node 0); each add call
 * appends a child to `parent` and returns the new node's index. Nodes must be
 * added depth-first (a node's whole subtree before its next sibling), which is
 * what a recursive builder does naturally; tpq_schema_finish checks that and
 * computes levels, paths and leaf numbering. */
#ifndef TPQ_PARQUET_SCHEMA_H
#define TPQ_PARQUET_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parquet/meta.h"

/* Per-column flags (enum of bits). */
enum tpq_col_flags {
	TPQ_COL_BLOOM = 1u << 0,    /* write a split-block Bloom filter per column chunk */
	TPQ_COL_NO_DICT = 1u << 1,  /* never dictionary-encode this column */
	TPQ_COL_NO_STATS = 1u << 2, /* no min/max statistics (null_count still written) */
	TPQ_COL_DELTA = 1u << 3,    /* INT32/INT64: DELTA_BINARY_PACKED pages (sorted or
	                               slowly changing integers: timestamps); BYTE_ARRAY:
	                               DELTA_LENGTH_BYTE_ARRAY (distinct same-length ids);
	                               no dictionary */
};

struct tpq_schema_node {
	char *name;                     /* owned */
	enum tpq_repetition repetition;
	bool is_group;
	enum tpq_type type;             /* leaves */
	enum tpq_converted converted;   /* TPQ_CT_NONE if none */
	struct tpq_logical_type logical;
	uint32_t flags;                 /* enum tpq_col_flags, leaves */
	int parent;                     /* -1 for the root */
	int num_children;
	/* computed by tpq_schema_finish: */
	int16_t max_def, max_rep;       /* levels at this node (a leaf's are its column's) */
	int leaf;                       /* leaf (column) index, -1 for groups */
	int first_leaf, n_leaves;       /* the leaves under this node: [first_leaf, first_leaf + n_leaves) */
};

struct tpq_schema {
	struct tpq_schema_node *nodes; size_t n_nodes, cap_nodes; /* owned; nodes[0] is the root */
	int *leaves; size_t n_leaves;                             /* owned: node index of each column */
	bool finished;
};

/* Makes an empty schema whose root is named "schema". 0, or -1 out of memory. */
int tpq_schema_init(struct tpq_schema *s);
void tpq_schema_release(struct tpq_schema *s);

/* Appends a group. For LIST/MAP use tpq_schema_list/tpq_schema_map instead.
 * Returns the node index, or -1 (out of memory, or the schema is finished). */
int tpq_schema_group(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep);
/* Appends a primitive leaf. `lt` may be NULL (no logical type); the legacy
 * converted type is derived from it (STRING -> UTF8, TIMESTAMP(MILLIS) ->
 * TIMESTAMP_MILLIS, ...). */
int tpq_schema_leaf(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep,
		    enum tpq_type type, const struct tpq_logical_type *lt, uint32_t flags);
/* Shorthands for the leaf types trailpq uses. */
int tpq_schema_string(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep,
		      uint32_t flags);
int tpq_schema_timestamp_ms(struct tpq_schema *s, int parent, const char *name,
			    enum tpq_repetition rep, uint32_t flags);
/* The three-level LIST: <rep> group name (LIST) { repeated group list { ... } }.
 * Returns the index of the repeated group `list`; add one child named "element". */
int tpq_schema_list(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep);
/* The MAP: <rep> group name (MAP) { repeated group key_value { ... } }.
 * Returns the index of `key_value`; add a required "key" and a "value". */
int tpq_schema_map(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep);

/* Validates the tree and computes levels and leaves. */
enum tpq_status tpq_schema_finish(struct tpq_schema *s, struct tpq_error *err);

/* "a.b.c" path of a node (without the root) into buf; returns buf. */
char *tpq_schema_path(const struct tpq_schema *s, int node, char *buf, size_t cap);

/* Fills FileMetaData.schema elements (names borrowed from s, not owned: do
 * not release them through tpq_file_meta_data_release). */
void tpq_schema_to_elements(const struct tpq_schema *s, struct tpq_schema_element *out);

/* Builds a schema from decoded FileMetaData.schema elements (the reader's way). */
enum tpq_status tpq_schema_from_elements(struct tpq_schema *s, const struct tpq_schema_element *el,
					 size_t n, struct tpq_error *err);

#endif
