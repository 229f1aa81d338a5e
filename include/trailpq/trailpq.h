/* trailpq: AWS CloudTrail logs into a partitioned Parquet lake.
 *
 * This is the one public header. The library never prints, exits or reads the
 * environment; the `trailpq` command (cli/) does that. Every fallible function
 * returns an enum tpq_status (0 is OK) and may take a NULL-safe struct tpq_error
 * that receives a message and where it happened. */
#ifndef TRAILPQ_TRAILPQ_H
#define TRAILPQ_TRAILPQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPQ_VERSION_MAJOR 0
#define TPQ_VERSION_MINOR 1
#define TPQ_VERSION_PATCH 0
#define TPQ_VERSION_STRING "0.1.0"

/* The table schema version written to each file's key-value metadata. */
#define TPQ_SCHEMA_VERSION 1

/* Values are part of the ABI and never renumbered. */
enum tpq_status {
	TPQ_OK = 0,
	TPQ_ENOMEM = 1,   /* an allocation failed */
	TPQ_EINVAL = 2,   /* bad argument or option (programmer or user error) */
	TPQ_EIO = 3,      /* an I/O call failed (errno kept in the error) */
	TPQ_ECORRUPT = 4, /* input is malformed (file, gzip, JSON, Parquet) */
	TPQ_ELIMIT = 5,   /* a size or depth limit was reached */
	TPQ_ECODEC = 6,   /* a compression library reported an error */
	TPQ_EUNSUPPORTED = 7, /* valid input that this version does not handle */
	TPQ_ENOTFOUND = 8,
	TPQ_ELOCKED = 9,  /* another run holds the lake's lock */
	TPQ_ESTATE = 10,  /* the lake's state is not what this version expects */
	TPQ_EEXIST = 11,  /* the object exists (a create-if-absent or precondition lost) */
};

/* A short, static, human-readable name for a status. Never NULL. */
const char *tpq_status_str(enum tpq_status st);

/* Where an error happened. Any field may be unknown: -1 for numbers, "" for
 * strings. Functions that take `struct tpq_error *` accept NULL. */
struct tpq_error {
	enum tpq_status status;
	int sys_errno;        /* errno of a failed system call, else 0 */
	int64_t offset;       /* byte offset in the input, or -1 */
	int64_t record;       /* record index in the file, or -1 */
	char where[512];      /* file name, key, column or JSON pointer */
	char msg[512];        /* what went wrong, one line, no trailing newline */
};

/* Resets `err` to "no error" (NULL-safe). */
void tpq_error_clear(struct tpq_error *err);

/* Allocation hooks. A NULL allocator (or NULL members) means libc. Tests use
 * this to count allocations and to make the Nth one fail. */
struct tpq_allocator {
	void *(*malloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
	void (*free)(void *ctx, void *ptr, size_t size);
	void *ctx;
};

/* The Parquet codecs trailpq writes; values are parquet.thrift's CompressionCodec. */
enum tpq_codec {
	TPQ_CODEC_UNCOMPRESSED = 0,
	TPQ_CODEC_SNAPPY = 1,
	TPQ_CODEC_GZIP = 2,
	TPQ_CODEC_ZSTD = 6,
	TPQ_CODEC_LZ4_RAW = 7,
};

#ifdef __cplusplus
}
#endif
#endif
