/* trailpq compact: rewrites chosen partitions' files into as few files as
 * the row-group target allows, rows sorted by eventtime, atomically for
 * readers: the new files are committed (a run of the state's protocol)
 * before the old ones leave the state, and deleted only after. */
#ifndef TPQ_LAKE_COMPACT_H
#define TPQ_LAKE_COMPACT_H

#include <stddef.h>
#include <stdint.h>

#include "io/open.h"
#include "trailpq/trailpq.h"

struct tpq_compact_options {
	const char *const *partitions; /* prefixes of partition paths
					  ("cloudtrail/account=1/region=r/year=2024"); none: all */
	size_t n_partitions;
	int older_than_days;           /* only partitions whose day is older (0: any) */
	int64_t today_days;            /* "today" in days since 1970 (the CLI's clock) */
	enum tpq_codec codec;
	int level;
	size_t row_group_bytes;        /* 0: writer default */
	int64_t lease_ms, wait_ms;
	const char *host;
	int pid;
	const char *run_id;
	struct tpq_io_options io;      /* DST: a directory or s3:// URL (io/open.h) */
};

void tpq_compact_options_init(struct tpq_compact_options *o);

struct tpq_compact_stats {
	uint64_t partitions_seen, partitions_compacted;
	uint64_t files_before, files_after, rows, bytes_before, bytes_after;
	uint64_t seq;    /* the commit, 0 when there was nothing to do */
};

enum tpq_status tpq_compact(const char *dst, const struct tpq_compact_options *opt,
			    struct tpq_compact_stats *stats, struct tpq_error *err);

#endif
