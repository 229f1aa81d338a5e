/* Sources: where CloudTrail objects come from (a local copy of a bucket now,
 * S3 later). A small vtable so the converter cannot tell them apart. Keys
 * are '/'-separated paths relative to the source root. */
#ifndef TPQ_IO_SOURCE_H
#define TPQ_IO_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

struct tpq_object {
	const char *key;        /* borrowed for the duration of the callback */
	uint64_t size;
	int64_t mtime_ns;       /* local files; 0 when unknown */
	const char *etag;       /* S3; "" for local files */
};

/* Return 0 to go on listing, nonzero to stop. */
typedef int (*tpq_list_fn)(void *ctx, const struct tpq_object *obj);

enum tpq_list_flags {
	/* Only one level below the prefix: objects without a further '/' and
	 * each deeper "directory" once, as a key ending in '/' (size 0), as
	 * S3's ListObjectsV2 with delimiter '/'. */
	TPQ_LIST_DELIM = 1 << 0,
	/* Also objects still being written and not published (the local
	 * store's temporaries), under their final key; for cleanup of what a
	 * killed run left. Sources and S3 have none and ignore it. */
	TPQ_LIST_UNPUBLISHED = 1 << 1,
};

struct tpq_source {
	/* Lists the objects whose key starts with `prefix` ("" for all), in
	 * ascending byte order of key, after `start_after` when not NULL.
	 * Unreadable directories are reported through err. */
	enum tpq_status (*list)(struct tpq_source *s, const char *prefix, unsigned flags,
				const char *start_after, tpq_list_fn fn, void *ctx,
				struct tpq_error *err);
	/* Reads a whole object into out (replacing its content), leaving at
	 * least `pad` zeroed, readable bytes after the end. At most max bytes
	 * (TPQ_ELIMIT past it). Thread-safe. */
	enum tpq_status (*read)(struct tpq_source *s, const char *key, size_t pad, size_t max,
				struct tpq_buf *out, struct tpq_error *err);
	/* Optional (NULL when the source has no use for it): the keys that will be read
	 * next, in the order the readers take them (ascending byte order), so that a
	 * source reading ahead fetches exactly those and no other listed object. Keys are
	 * borrowed for the call. A hint: a source that lacks memory ignores it. */
	void (*plan)(struct tpq_source *s, const char *const *keys, size_t n);
	void (*free)(struct tpq_source *s);
};

/* A local directory. NULL on error (err says why). */
struct tpq_source *tpq_source_local_new(const char *root, struct tpq_error *err);

#endif
