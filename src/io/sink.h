/* Byte sinks: where a Parquet writer's bytes go (a local file, memory, later
 * an S3 multipart upload). A small vtable, so the writer cannot tell them
 * apart and tests run in memory. */
#ifndef TPQ_IO_SINK_H
#define TPQ_IO_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"

struct tpq_sink {
	/* Appends n bytes. */
	enum tpq_status (*write)(struct tpq_sink *s, const void *p, size_t n, struct tpq_error *err);
	/* Makes everything written durable (fsync for files) and closes. After
	 * close only free may be called. */
	enum tpq_status (*close)(struct tpq_sink *s, struct tpq_error *err);
	/* Releases the sink; if it was not closed, the partial output is discarded. */
	void (*free)(struct tpq_sink *s);
	uint64_t written;   /* bytes accepted so far (maintained by the sink) */
};

static inline enum tpq_status tpq_sink_write(struct tpq_sink *s, const void *p, size_t n,
					     struct tpq_error *err)
{
	enum tpq_status st = s->write(s, p, n, err);
	if (st == TPQ_OK)
		s->written += n;
	return st;
}

/* A file created exclusively at `path` (O_CREAT|O_EXCL); close() fsyncs it.
 * free() without close() unlinks it. NULL on error (err says why). */
struct tpq_sink *tpq_sink_file_new(const char *path, struct tpq_error *err);

/* An in-memory sink. tpq_sink_mem_data borrows the bytes (valid until free). */
struct tpq_sink *tpq_sink_mem_new(void);
const uint8_t *tpq_sink_mem_data(const struct tpq_sink *s, size_t *len);

#endif
