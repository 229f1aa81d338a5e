/* The lake's own state under DST/_trailpq/: what was converted, into which
 * files, which events each partition holds, and the commit protocol that
 * keeps it exact through crashes (docs/state.md has the format and the
 * protocol; this header the API).
 *
 * Everything goes through a struct tpq_store, so the same code serves a
 * local directory and S3: no rename is needed, only whole-object puts,
 * create-if-absent, list, get and delete.
 *
 * A run's life:
 *   tpq_state_open     takes the lock (a lease), finishes or undoes what
 *                      earlier runs left (pending records), reads the last
 *                      commit, and numbers this run (seq = last + 1)
 *   tpq_state_plan     records the directories this run may write into
 *                      (before it writes anything there)
 *   ... data files and shard versions named with seq ...
 *   tpq_state_commit   the commit record, created if absent: the one atomic
 *                      step that makes the run's files part of the lake
 *   tpq_state_close    deletes what the commit made obsolete, releases the lock
 * A run that dies anywhere before the commit leaves files that no commit
 * names; the next tpq_state_open deletes them. */
#ifndef TPQ_LAKE_STATE_H
#define TPQ_LAKE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "io/store.h"
#include "trailpq/trailpq.h"
#include "util/buf.h"

#define TPQ_STATE_DIR "_trailpq"
#define TPQ_STATE_FORMAT 1

struct tpq_state;

enum { TPQ_STATE_TABLES = 3 }; /* cloudtrail, cloudtrail_insight, cloudtrail_networkactivity */

struct tpq_state_options {
	int64_t lease_ms;    /* lock lease; renewed every third of it (default 300 s) */
	int64_t wait_ms;     /* wait this long for another run's lock (default 0: refuse) */
	const char *host;    /* recorded in the lock and the commit (may be NULL) */
	int pid;
	const char *run_id;  /* unique name of this run */
};

void tpq_state_options_init(struct tpq_state_options *o);
/* A run name: UTC time and 8 random hex digits (the last 8: the run's tag). */
void tpq_state_make_run_id(char *out, size_t cap);

/* ---- partitions: their files and the keys of their rows ---- */

struct tpq_part_file {
	char *name;            /* file name in the partition directory */
	uint64_t rows, bytes, seq;
	int64_t min_ms, max_ms;
};

/* A row's key: 128 bits over its eventID and its content hash. Rows without
 * an eventID are never de-duplicated (noid). Sources: indexes into
 * tpq_part_state.srcs, the source objects that delivered this event (more
 * than one when it was re-delivered). */
struct tpq_part_row {
	uint64_t key[2];
	uint32_t src;          /* n_src == 1: the source; else offset in extra[] */
	uint16_t n_src;
	uint8_t noid;
	uint8_t dead;          /* being removed in this run */
};

struct tpq_part_state {
	char *path;            /* table/account=../region=../year=../month=../day=.. */
	uint64_t version;      /* seq of the loaded version, 0 when new */
	char *version_key;     /* its key; obsolete once a new version is saved */
	struct tpq_part_file *files;
	size_t n_files, cap_files;
	char **srcs;
	size_t n_srcs, cap_srcs;
	struct tpq_part_row *rows;     /* file by file, each in row order */
	size_t n_rows, cap_rows;
	uint32_t *extra;
	size_t n_extra, cap_extra;
	uint32_t *slots;               /* key index: row + 1, open addressing */
	size_t n_slots;
	uint32_t *src_slots;           /* source-name index: src + 1 */
	size_t n_src_slots;
};

void tpq_row_key(const void *id, size_t id_len, bool has_id, const uint64_t content[2],
		 uint64_t out[2]);

/* Loads the committed version of a partition (empty when none). */
enum tpq_status tpq_part_state_load(struct tpq_state *s, const char *path,
				    struct tpq_codec_ctx *codec, struct tpq_part_state **out,
				    struct tpq_error *err);
void tpq_part_state_free(struct tpq_part_state *p);
/* The row with this key (not noid, not dead), or -1. */
int64_t tpq_part_state_find(const struct tpq_part_state *p, const uint64_t key[2]);
/* The index of source object `key` in srcs, added when absent; -1 on ENOMEM. */
int64_t tpq_part_state_src(struct tpq_part_state *p, const char *key);
/* Adds source `src` to an existing row (a re-delivery). 0, or -1 on ENOMEM. */
int tpq_part_state_add_source(struct tpq_part_state *p, size_t row, uint32_t src);
/* Appends a file and then its rows (tpq_part_state_add_row, in row order). */
int tpq_part_state_add_file(struct tpq_part_state *p, const struct tpq_part_file *f);
int tpq_part_state_add_row(struct tpq_part_state *p, const uint64_t key[2], bool noid,
			   uint32_t src);
/* Rebuilds the key index after the caller replaced files/rows. -1 on ENOMEM. */
int tpq_part_state_reindex(struct tpq_part_state *p);
/* Removes source `src` from every row; rows left without a source are
 * marked dead. Returns how many rows died. */
size_t tpq_part_state_drop_source(struct tpq_part_state *p, uint32_t src);
/* Writes the partition's new version (seq of this run). Thread-safe across
 * partitions; codec: the caller's (one per thread). */
enum tpq_status tpq_part_state_save(struct tpq_state *s, struct tpq_part_state *p,
				    struct tpq_codec_ctx *codec, struct tpq_error *err);

/* ---- source directories: the objects listed there and what became of them ---- */

enum tpq_src_status { TPQ_SRC_CONVERTED = 0, TPQ_SRC_REJECTED = 1 };

struct tpq_src_entry {
	char *name;            /* object name inside the directory */
	uint64_t size;
	int64_t mtime_ns;      /* local sources */
	char *etag;            /* S3 ("" locally) */
	uint64_t digest;       /* 64-bit hash of the object's bytes */
	uint64_t seq;          /* run that recorded it */
	int status;            /* enum tpq_src_status */
	uint64_t rows;         /* records it held */
	char *parts;           /* partitions it fed, '|'-separated */
	char *error;           /* rejected: the message */
};

struct tpq_src_dir {
	char *dir;             /* source directory key, without the trailing '/' */
	uint64_t version;
	char *version_key;     /* as in tpq_part_state */
	struct tpq_src_entry *v;
	size_t n, cap;
	bool dirty;
};

enum tpq_status tpq_src_dir_load(struct tpq_state *s, const char *dir, struct tpq_src_dir **out,
				 struct tpq_error *err);
void tpq_src_dir_free(struct tpq_src_dir *d);
/* The entry for `name`, or NULL (entries are kept sorted by name). */
struct tpq_src_entry *tpq_src_dir_find(struct tpq_src_dir *d, const char *name);
/* Replaces or inserts the entry for e->name (the strings are copied). */
int tpq_src_dir_set(struct tpq_src_dir *d, const struct tpq_src_entry *e);
enum tpq_status tpq_src_dir_save(struct tpq_state *s, struct tpq_src_dir *d,
				 struct tpq_error *err);

/* ---- the run ---- */

struct tpq_table_totals {
	int64_t partitions, files, rows, bytes;
};

/* TPQ_ELOCKED when another run holds the lock past wait_ms (err names it);
 * TPQ_ESTATE when DST holds a state of another format. */
enum tpq_status tpq_state_open(struct tpq_state **out, struct tpq_store *dst,
			       const struct tpq_state_options *opt, struct tpq_error *err);
uint64_t tpq_state_seq(const struct tpq_state *s);
/* The run's tag: eight characters that, with seq, name its files. */
const char *tpq_state_tag(const struct tpq_state *s);
struct tpq_store *tpq_state_store(const struct tpq_state *s);
/* How many earlier runs were undone (uncommitted) or finished (committed but
 * not cleaned up) by open. */
void tpq_state_recovered(const struct tpq_state *s, size_t *undone, size_t *finished);

/* Trail roots (the directories holding YYYY/ folders) and the newest
 * delivery day converted under each (YYYYMMDD, 0 when unknown). */
int tpq_state_root_day(const struct tpq_state *s, const char *root);
int tpq_state_root_note(struct tpq_state *s, const char *root, int day);

/* Rejected objects outstanding after this run: set or cleared by key. */
int tpq_state_rejected_set(struct tpq_state *s, const char *key, const char *error);
void tpq_state_rejected_clear(struct tpq_state *s, const char *key);
size_t tpq_state_rejected_count(const struct tpq_state *s);

/* Table totals (updated by the caller as partitions change). */
struct tpq_table_totals *tpq_state_totals(struct tpq_state *s, int table);

/* Files made obsolete by this run (superseded state versions are added by
 * the save functions; replaced data files by the caller): deleted after the
 * commit. Keys relative to the store. */
int tpq_state_obsolete(struct tpq_state *s, const char *key);

/* Records that this run may write files named with its seq under the
 * directory `dir` (a store key prefix ending in '/'). Must be called before
 * the first such write; the set is persisted by tpq_state_plan_flush. */
int tpq_state_plan(struct tpq_state *s, const char *dir);
enum tpq_status tpq_state_plan_flush(struct tpq_state *s, struct tpq_error *err);

/* The commit: `summary` is free text lines ("key value") kept in the commit
 * record for status. TPQ_EEXIST if another run committed this seq (the lock
 * was lost): nothing of this run is then part of the lake. */
enum tpq_status tpq_state_commit(struct tpq_state *s, const char *summary, struct tpq_error *err);

/* Deletes what the commit made obsolete (when committed) and releases the
 * lock. Without a commit, this run's files stay until the next open removes
 * them (a failed run must not trust its own cleanup). */
void tpq_state_close(struct tpq_state *s);

/* For status: the last `n` commit records (newest first), raw text, each
 * ending in a NUL; and the rejected list and totals of the newest. */
struct tpq_state_view {
	uint64_t seq;                  /* newest committed, 0: none */
	struct tpq_table_totals totals[TPQ_STATE_TABLES];
	char **runs;                   /* commit records, newest first */
	size_t n_runs;
	char **rejected_keys, **rejected_errors;
	size_t n_rejected;
	char *lock;                    /* the lock object's text, NULL when unlocked */
};

/* Reads without taking the lock (status never blocks a run). */
enum tpq_status tpq_state_view(struct tpq_store *dst, size_t n_runs, struct tpq_state_view *out,
			       struct tpq_error *err);
void tpq_state_view_release(struct tpq_state_view *v);

/* Field escaping of the text formats (tab, newline, backslash). */
void tpq_state_escape(struct tpq_buf *out, const char *s);

#endif
