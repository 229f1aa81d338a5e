/* What the local source and the local store share: listing a directory tree
 * in S3's order and with S3's delimiter rule, so both behave exactly as their
 * S3 counterparts do. Internal to src/io. */
#ifndef TPQ_IO_LOCAL_H
#define TPQ_IO_LOCAL_H

#include "io/source.h"

/* Lists the regular files under directory `root` whose key (path relative to
 * root) starts with `prefix`, in ascending byte order of key, after
 * `start_after` (NULL: from the start). flags: TPQ_LIST_DELIM (see source.h).
 * Names ".tpq-tmp-<name>.tmp" (a store's unpublished files) are skipped, or
 * with TPQ_LIST_UNPUBLISHED listed as <name>.
 * Directory symbolic links are not followed (no loops). */
enum tpq_status tpq__local_list(const char *root, const char *prefix, unsigned flags,
				const char *start_after, tpq_list_fn fn, void *ctx,
				struct tpq_error *err);

/* A temporary name hides from readers twice over: the leading '.' (Hive,
 * Spark, Trino and Athena skip such files) and the suffix (DuckDB's
 * "*.parquet" globs do not skip dot files). */
#define TPQ__LOCAL_TMP_PREFIX ".tpq-tmp-"
#define TPQ__LOCAL_TMP_SUFFIX ".tmp"

#endif
