/* Row transcoding: whole rows from Parquet files opened with our reader into
 * our writer, by position, in any order the caller asks.
 *
 * Compaction merges a partition's files into one (rows interleaved in
 * eventtime order); replacing a changed source object rewrites a file without
 * some of its rows. Both are "append row R of input I" repeated, which is
 * tpq_rowcopy_row. Nothing goes through JSON: each column's Dremel levels and
 * values go from the reader's decoded column chunks straight into the
 * writer's puts, so a copied row has exactly the levels and values it had
 * (every nesting the writer supports: optional groups at any depth, LIST,
 * MAP, required/optional leaves of BOOLEAN, INT32, INT64 and BYTE_ARRAY).
 *
 * Memory: at most one decoded row group per input, decoded on the first row
 * asked from it and released when a row of another row group of the same
 * input is asked (or by tpq_rowcopy_release_input). Rows asked in increasing
 * order per input (a k-way merge, a filter) decode every row group once;
 * any other order is correct but may decode a row group again each time the
 * requests come back to it.
 *
 * A merge key: tpq_rowcopy_read_i64 reads one INT64 (or INT32) column of a
 * reader as one value per row, e.g. eventtime; find its index with
 * tpq_rowcopy_find_column.
 *
 * Threads: a struct tpq_rowcopy uses its readers and its writer; none of them
 * may be used concurrently with it. */
#ifndef TPQ_PARQUET_ROWCOPY_H
#define TPQ_PARQUET_ROWCOPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parquet/reader.h"
#include "parquet/schema.h"
#include "parquet/writer.h"
#include "trailpq/trailpq.h"

struct tpq_rowcopy;

/* Makes a row copier from the n_in readers in[0..n_in) into the writer w,
 * which was made with schema `wschema`. Readers, writer and schema are
 * borrowed and must outlive the copier (the array `in` itself is copied).
 * The same reader may appear more than once (each entry is its own input).
 *
 * Every input's schema must have the writer's leaf columns: the same number,
 * and for each leaf the same path (names), the same repetition of every node
 * on that path (so equal levels mean the same thing), the same physical type
 * and the same maximum levels. Logical and converted types are not compared:
 * values are copied as their physical type and take the writer's annotations.
 * TPQ_EINVAL naming the first input and column that differ;
 * TPQ_EUNSUPPORTED for a column type the writer cannot write; TPQ_ENOMEM.
 * On error *out is NULL. n_in may be 0 (a copier that has no rows). */
enum tpq_status tpq_rowcopy_new(struct tpq_rowcopy **out, struct tpq_pr *const *in, size_t n_in,
				struct tpq_pw *w, const struct tpq_schema *wschema,
				struct tpq_error *err);

/* Frees the copier and any decoded row groups (not the readers or the
 * writer). NULL is a no-op. */
void tpq_rowcopy_free(struct tpq_rowcopy *rc);

/* Appends row `row` (0-based across the file's row groups) of input `in` to
 * the writer, every column, then calls tpq_pw_end_row.
 *
 * The row group holding the row is decoded first when it is not the one held
 * for that input; its levels are checked (in range, rows start with rep 0,
 * one value per def == max_def) before anything is put, so a corrupt input
 * fails with TPQ_ECORRUPT (err says input, row group and column) and leaves
 * the writer untouched; so do TPQ_EINVAL (no such input or row) and
 * TPQ_ENOMEM/TPQ_ELIMIT from decoding. Errors of the writer itself (sticky:
 * the writer's output is then lost) are returned as tpq_pw_end_row gives them;
 * tpq_pw_finish reports its message. */
enum tpq_status tpq_rowcopy_row(struct tpq_rowcopy *rc, size_t in, int64_t row,
				struct tpq_error *err);

/* Releases input `in`'s decoded row group, if any (a merge calls it once an
 * input is exhausted, to give the memory back early). Out of range: no-op. */
void tpq_rowcopy_release_input(struct tpq_rowcopy *rc, size_t in);

/* Counters since tpq_rowcopy_new. */
struct tpq_rowcopy_stats {
	int64_t rows;             /* rows copied (tpq_rowcopy_row calls that succeeded) */
	int64_t row_group_decodes; /* row groups decoded, over all inputs */
	size_t held_row_groups;   /* decoded row groups held now (<= number of inputs) */
};
void tpq_rowcopy_get_stats(const struct tpq_rowcopy *rc, struct tpq_rowcopy_stats *out);

/* The leaf column index of the column whose dotted path (tpq_schema_path,
 * e.g. "eventtime" or "useridentity.arn") is `path`, or -1. */
int tpq_rowcopy_find_column(const struct tpq_schema *s, const char *path);

/* Reads leaf column `col` of pr, which must be INT64 or INT32 and not
 * repeated (max_rep 0), as one value per row: for each of the file's
 * tpq_pr_num_rows(pr) rows, vals[r] is the value, or 0 when the row's value
 * is null; present[r] (present may be NULL) tells which. Both arrays are the
 * caller's, with room for tpq_pr_num_rows(pr) entries. Decodes one column
 * chunk at a time (row group by row group) and keeps none. TPQ_EINVAL for a
 * column out of range, of another type or repeated; the reader's errors. */
enum tpq_status tpq_rowcopy_read_i64(struct tpq_pr *pr, size_t col, int64_t *vals, bool *present,
				     struct tpq_error *err);

#endif
