/* trailpq convert: a CloudTrail bucket (a local copy) into a partitioned
 * Parquet lake.
 *
 * The run, stage by stage:
 *   list     every object under SRC, classified by key (cloudtrail/keys.h)
 *   read     workers take files one at a time: read, inflate, split and
 *            validate the whole file (all or nothing), and route each record
 *            to its partition (table, account, region, day of its eventTime)
 *   write    workers take partitions: sort the records by eventtime (ties by
 *            eventID and content), drop re-delivered duplicates (same eventID,
 *            same content), shred them into a Parquet writer, and publish the
 *            file by fsync + rename + directory fsync
 * The output does not depend on the number of threads. */
#ifndef TPQ_LAKE_CONVERT_H
#define TPQ_LAKE_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloudtrail/keys.h"
#include "io/open.h"
#include "trailpq/trailpq.h"

struct tpq_convert_stats {
	uint64_t objects;                       /* listed */
	uint64_t files_by_kind[TPQ_KEY_N_KINDS];
	uint64_t files_out_of_range;            /* data files outside --since/--until */
	uint64_t files_converted, files_rejected;
	uint64_t records, duplicates;   /* duplicates: within the run and against the lake */
	uint64_t files_unchanged;       /* listed, already converted (or rejected) before */
	uint64_t files_changed;         /* converted before with other bytes: rows replaced */
	uint64_t files_touched;         /* other size/mtime/ETag, same bytes: nothing to do */
	uint64_t rejected_outstanding;  /* rejected files in the state after this run */
	uint64_t rows_removed;          /* old rows of changed objects */
	uint64_t dirs_listed;           /* day folders listed */
	uint64_t seq;                   /* this run's commit number, 0 when nothing committed */
	uint64_t recovered_undone, recovered_finished;   /* earlier runs settled at the start */
	uint64_t rows_by_table[3];              /* cloudtrail, insight, networkactivity */
	uint64_t partitions, files_written;
	uint64_t bytes_in, bytes_json, bytes_out;
	double seconds;
};

/* Progress, called about four times a second from a monitor thread while
 * the run goes on (never after tpq_convert returns). `stage` is "read" or
 * "write"; `total` the number of data files (read) or partitions (write). */
typedef void (*tpq_progress_fn)(void *ctx, const char *stage, uint64_t done, uint64_t total,
				const struct tpq_convert_stats *s);

/* Called once per rejected file, from any worker (calls are serialised). */
typedef void (*tpq_reject_fn)(void *ctx, const char *key, const struct tpq_error *e);

struct tpq_convert_options {
	int threads;                 /* 0: all cores */
	enum tpq_codec codec;        /* default ZSTD */
	int level;                   /* 0: codec default */
	int since, until;            /* YYYYMMDD delivery dates, 0 = open */
	const char *quarantine_dir;  /* copy rejected files there (NULL: no) */
	/* SRC and DST are local directories or s3:// URLs (io/open.h: region,
	 * endpoint, addressing, profile, environment, read-ahead) */
	struct tpq_io_options io;
	size_t row_group_bytes;      /* 0: writer default */
	size_t batch_bytes;          /* memory for one batch of read files (their JSON and
					records); a batch is written while the next is
					read; 0: TPQ_CONVERT_BATCH_BYTES */
	/* incremental runs (docs/state.md) */
	int lookback_days;           /* list day folders from this many days before the newest
					converted one (per trail); default 3 */
	bool full_relist;            /* list everything */
	bool retry_rejected;         /* read rejected files again even if unchanged */
	int64_t lease_ms;            /* lock lease (0: default 300 s) */
	int64_t wait_ms;             /* wait for another run's lock (0: refuse at once) */
	const char *host;            /* recorded in the lock and the run's commit */
	int pid;
	tpq_reject_fn on_reject;
	tpq_progress_fn on_progress; /* NULL: none */
	void *ctx;
};

/* The default batch: peak memory is about twice this (the batch written and
 * the batch read) plus the workers' writers (bench/README.md). */
#define TPQ_CONVERT_BATCH_BYTES ((size_t)64 << 20)

void tpq_convert_options_init(struct tpq_convert_options *o);

/* Runs one conversion. TPQ_OK also when some files were rejected (see
 * stats->files_rejected); an error status only for what stops the run
 * (unreadable SRC, unwritable DST, out of memory). */
enum tpq_status tpq_convert(const char *src, const char *dst, const struct tpq_convert_options *opt,
			    struct tpq_convert_stats *stats, struct tpq_error *err);

#endif
