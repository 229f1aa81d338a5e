/* Rewriting a partition's Parquet files through the row transcoder
 * (parquet/rowcopy.h): dropping rows (a changed source object) and merging
 * files (compaction). New files are written under this run's names; the
 * files they replace are marked obsolete in the state, so they disappear
 * only after the commit. */
#ifndef TPQ_LAKE_REWRITE_H
#define TPQ_LAKE_REWRITE_H

#include "cloudtrail/shred.h"
#include "codec/codec.h"
#include "io/store.h"
#include "lake/state.h"

/* Rewrites every file of `ps` holding dead rows without them (a file left
 * empty is dropped), and removes the dead rows from `ps`. */
enum tpq_status tpq_lake_remove_dead(struct tpq_store *st, struct tpq_state *s,
				     struct tpq_part_state *ps, const struct tpq_ct_table *table,
				     enum tpq_codec codec, int level, struct tpq_error *err);

/* Merges all of ps's files into new ones, rows by eventtime (ties keep file
 * order), a file per row group of row_group_bytes (0: the writer's default),
 * and rebuilds ps. The old files become obsolete. */
enum tpq_status tpq_lake_compact(struct tpq_store *st, struct tpq_state *s,
				 struct tpq_part_state *ps, const struct tpq_ct_table *table,
				 enum tpq_codec codec, int level, size_t row_group_bytes,
				 struct tpq_error *err);

/* The writer options of every file of the lake (conversion and rewrites
 * alike): codec and level, the row-group target (0: the writer's default),
 * and the trailpq.schema_version key-value. o->pw points into *o, which
 * must stay put until tpq_pw_new has been called (the writer copies). */
struct tpq_lake_file_options {
	struct tpq_pw_options pw;
	char version[16];
	struct tpq_key_value kv[1];
};
void tpq_lake_file_options(struct tpq_lake_file_options *o, enum tpq_codec codec, int level,
			 size_t row_group_bytes);

#endif
