/* Stores: where the lake lives (a local directory now, S3 next). The
 * conversion, the incremental state and compaction see only this vtable, so
 * the commit protocol (docs/state.md) is written once for both.
 *
 * Keys are '/'-separated, relative to the store's root, without a leading
 * '/'. What every store guarantees:
 * - put: the object appears whole or not at all (a reader never sees part of
 *   it); with TPQ_PUT_IF_ABSENT the test and the create are one atomic step
 *   (O_EXCL/link locally, If-None-Match: * on S3) and a lost race is
 *   TPQ_EEXIST.
 * - create: a sink for a large object; close() publishes it complete and
 *   durable (locally: hidden temporary name, fsync, rename, directory fsync;
 *   S3: multipart upload completed); free() without close() leaves nothing.
 * - get of an absent key and del of an absent key: TPQ_ENOTFOUND and TPQ_OK.
 * - list: read-after-write consistent (as S3 is since 2020). */
#ifndef TPQ_IO_STORE_H
#define TPQ_IO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/sink.h"
#include "io/source.h"
#include "trailpq/trailpq.h"
#include "util/buf.h"

enum tpq_put_flags {
	TPQ_PUT_IF_ABSENT = 1 << 0,
};

struct tpq_store {
	enum tpq_status (*put)(struct tpq_store *s, const char *key, const void *p, size_t n,
			       unsigned flags, struct tpq_error *err);
	/* The whole object into out (replacing its content). */
	enum tpq_status (*get)(struct tpq_store *s, const char *key, struct tpq_buf *out,
			       struct tpq_error *err);
	/* Lists keys starting with `prefix` in ascending byte order, after
	 * `start_after` when not NULL. With TPQ_LIST_DELIM, only the level
	 * below prefix: keys without a further '/', and each deeper "directory"
	 * once, as its prefix ending in '/' (size 0). */
	enum tpq_status (*list)(struct tpq_store *s, const char *prefix, unsigned flags,
				const char *start_after, tpq_list_fn fn, void *ctx,
				struct tpq_error *err);
	enum tpq_status (*del)(struct tpq_store *s, const char *key, struct tpq_error *err);
	struct tpq_sink *(*create)(struct tpq_store *s, const char *key, struct tpq_error *err);
	/* A name for messages: the directory, or s3://bucket/prefix. */
	const char *(*name)(struct tpq_store *s);
	void (*free)(struct tpq_store *s);
};

/* A local directory (created if missing). NULL on error (err says why). */
struct tpq_store *tpq_store_local_new(const char *root, struct tpq_error *err);

#endif
