/* The S3 source and the S3 store: the io vtables over the S3 client
 * (s3/s3.h), rooted at "s3://bucket/prefix". Keys given to and returned by
 * the vtables are relative to that prefix, exactly as for the local ones; the
 * prefix is taken as it is written, so "s3://b/logs/" roots at "logs/" and
 * "s3://b/logs" at "logs" (keys then start right after it: give the '/').
 *
 * Listing maps onto ListObjectsV2 (ascending byte order, start-after,
 * delimiter '/' for TPQ_LIST_DELIM, where each common prefix is reported once
 * as a key ending in '/' with size 0).
 *
 * Store: put is one PutObject up to the client's part size (8 MiB by
 * default) and a multipart upload above it; TPQ_PUT_IF_ABSENT is
 * If-None-Match: * (on the PutObject, or on the completion), a lost race is
 * TPQ_EEXIST (see s3.h for the rule that keeps retries honest). create()
 * returns a sink that buffers one part: an object that stays within one part
 * is a single PutObject at close(); a larger one becomes a multipart upload
 * whose parts go out as the buffer fills (memory: one part), completed by
 * close(); free() without close() aborts it, so nothing half-written remains.
 * get of an absent key is TPQ_ENOTFOUND, del of an absent key TPQ_OK.
 *
 * Source read-ahead: with `prefetch` = N > 0, the source keeps an order of
 * keys: the plan (source.h) when the reader gave one, else the keys of all its
 * listings in key order. Each read(key) also starts fetching the next N
 * objects of that order not read yet, on N background threads (bounded: at most N objects,
 * each at most prefetch_max_bytes, are held; an object read out of order, or
 * too large, is simply fetched on demand). A conversion that lists and then
 * reads in listing order thus overlaps N downloads with its own work. N = 0
 * (the default) fetches each object when it is read. */
#ifndef TPQ_IO_STORE_S3_H
#define TPQ_IO_STORE_S3_H

#include "io/source.h"
#include "io/store.h"
#include "s3/s3.h"

struct tpq_store_s3_options {
	struct tpq_s3_options s3;     /* the client's options (region, endpoint, credentials) */
	unsigned prefetch;            /* source only: objects read ahead, 0 = none (max 32) */
	size_t prefetch_max_bytes;    /* source only: per prefetched object, default 64 MiB */
	/* Called exactly once when the source or store is freed, after its
	 * client (so after the last use of s3.creds_ctx), or before a failing
	 * _new returns: lets the opener release what creds_ctx points to
	 * (io/open.c shares one credentials object this way). NULL: nothing. */
	void (*on_free)(void *ctx);
	void *on_free_ctx;
};

void tpq_store_s3_options_init(struct tpq_store_s3_options *o);

/* NULL on error (err says why: not an s3:// URL, bad client options). */
struct tpq_store *tpq_store_s3_new(const char *url, const struct tpq_store_s3_options *o,
				   struct tpq_error *err);
struct tpq_source *tpq_source_s3_new(const char *url, const struct tpq_store_s3_options *o,
				     struct tpq_error *err);

/* Internal to src/io: the list adapter both share. `root` is the prefix of
 * the URL; keys are reported with it removed. */
enum tpq_status tpq__s3_list(struct tpq_s3 *s, const char *bucket, const char *root,
			     const char *prefix, unsigned flags, const char *start_after,
			     tpq_list_fn fn, void *ctx, struct tpq_error *err);

#endif
