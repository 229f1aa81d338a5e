/* The Parquet file writer.
 *
 * Made from a finished schema, options and a sink. Rows are added column by
 * column, value by value, with their Dremel levels: the caller (the CloudTrail
 * shredder, or a test's generic shredder) knows the nesting and computes them.
 * For leaf column c with max levels (D, R):
 *
 *   tpq_pw_put_*(w, c, rep, value)      a present value (definition level D)
 *   tpq_pw_put_null(w, c, def, rep)     no value, with def < D saying which
 *                                       ancestor was the first absent one
 *   tpq_pw_put_null_node / _null_cols   the same for every leaf of a subtree,
 *                                       or of a run of columns, in one call
 *
 * and once every column has its entries for the row, tpq_pw_end_row. Value
 * puts never fail immediately: errors are sticky and reported by end_row or
 * finish (a put after an error does nothing).
 *
 * Layout written: PAR1, row groups (for each column chunk: an optional
 * dictionary page, then data pages v1), Bloom filters, column indexes, offset
 * indexes, FileMetaData, its length, PAR1. Pages are cut only at row
 * boundaries, so the page index is exact. Row groups close when their
 * uncompressed size reaches row_group_bytes or their row count
 * row_group_rows. Memory is bounded by one row group's encoded pages plus
 * per-column page buffers. The bytes written depend only on the schema,
 * options and the values put: never on timing or threads. */
#ifndef TPQ_PARQUET_WRITER_H
#define TPQ_PARQUET_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/sink.h"
#include "parquet/meta.h"
#include "parquet/schema.h"

struct tpq_codec_ctx;

struct tpq_pw_options {
	enum tpq_codec codec;         /* default ZSTD */
	int level;                    /* codec level, 0 = codec default */
	size_t page_bytes;            /* target uncompressed data page size, default 1 MiB
	                                 (at least 1024: smaller values are raised) */
	size_t row_group_bytes;       /* default 128 MiB (uncompressed) */
	int64_t row_group_rows;       /* 0 = no row limit (default) */
	size_t dict_max_bytes;        /* dictionary page limit before PLAIN fallback, default 1 MiB */
	bool dictionary;              /* dictionary-encode columns (default true) */
	bool page_crc;                /* CRC32 in page headers (default false) */
	bool page_index;              /* ColumnIndex + OffsetIndex (default true) */
	bool statistics;              /* chunk and page statistics (default true) */
	size_t stats_max_len;         /* byte bound for string min/max, default 64 (at least 8) */
	double bloom_fpp;             /* Bloom false-positive rate, default 0.01 */
	uint32_t bloom_max_bytes;     /* per column chunk, default 1 MiB */
	const struct tpq_key_value *kv; size_t n_kv; /* extra key-value metadata (borrowed) */
	const char *created_by;       /* default "trailpq version X.Y.Z (build ...)" */
	struct tpq_codec_ctx *codec_ctx; /* borrowed, may be NULL (the writer makes its own):
	                                    a worker's context, reused across its files */
};

void tpq_pw_options_init(struct tpq_pw_options *o);

struct tpq_pw;

/* schema and sink are borrowed and must outlive the writer. The options are
 * copied (kv and created_by strings too). NULL on error. */
struct tpq_pw *tpq_pw_new(const struct tpq_schema *schema, const struct tpq_pw_options *opt,
			  struct tpq_sink *sink, struct tpq_error *err);

void tpq_pw_put_null(struct tpq_pw *w, int col, int def, int rep);
void tpq_pw_put_bytes(struct tpq_pw *w, int col, int rep, const void *p, size_t n);
void tpq_pw_put_i32(struct tpq_pw *w, int col, int rep, int32_t v);
void tpq_pw_put_i64(struct tpq_pw *w, int col, int rep, int64_t v);
void tpq_pw_put_bool(struct tpq_pw *w, int col, int rep, bool v);
/* tpq_pw_put_null for every leaf under schema node `node`. */
void tpq_pw_put_null_node(struct tpq_pw *w, int node, int def, int rep);
/* tpq_pw_put_null(w, c, def, rep) for each column c in first_col ..
 * first_col + n_cols - 1: a run of absent sibling fields in one call (their
 * leaves are consecutive columns and all take the parent's level). */
void tpq_pw_put_null_cols(struct tpq_pw *w, int first_col, int n_cols, int def, int rep);

/* Ends the current row; may close a row group (and so write to the sink). */
enum tpq_status tpq_pw_end_row(struct tpq_pw *w);
/* Rows added so far, and uncompressed bytes buffered in the open row group. */
int64_t tpq_pw_rows(const struct tpq_pw *w);
size_t tpq_pw_buffered_bytes(const struct tpq_pw *w);

/* Closes the last row group, writes indexes and the footer, closes the sink.
 * *bytes (may be NULL) receives the file size. */
enum tpq_status tpq_pw_finish(struct tpq_pw *w, uint64_t *bytes, struct tpq_error *err);
/* Starts a new file on `sink` (borrowed, as in tpq_pw_new) with the same
 * schema and options, keeping the buffers the writer has grown, so that a
 * worker writing one file after another allocates (and faults in) its memory
 * once. Allowed after tpq_pw_finish, or after an error (the unfinished file
 * is abandoned: its sink is the caller's). The new file's bytes are the same
 * as a new writer's. Writes PAR1 to the sink; on failure the writer keeps
 * that error until the next reset. */
enum tpq_status tpq_pw_reset(struct tpq_pw *w, struct tpq_sink *sink, struct tpq_error *err);
/* Frees the writer (not the sink). Safe after an error; the output is then incomplete. */
void tpq_pw_free(struct tpq_pw *w);

/* The created_by string: "trailpq version 0.1.0 (build <git hash or 'unknown'>)". */
const char *tpq_created_by(void);

#endif
