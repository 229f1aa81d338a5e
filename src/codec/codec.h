/* Page compression for Parquet (ZSTD, SNAPPY, GZIP, LZ4_RAW, UNCOMPRESSED)
 * through the system libraries, and whole-file gzip inflation for CloudTrail
 * objects (libdeflate).
 *
 * A struct tpq_codec_ctx is per thread: it owns the library contexts (a ZSTD
 * CCtx/DCtx, a libdeflate compressor/decompressor) made once and reused. */
#ifndef TPQ_CODEC_CODEC_H
#define TPQ_CODEC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

struct tpq_codec_ctx;

/* level: codec-specific (ZSTD 1..22, GZIP 1..12); 0 = the codec's default
 * (ZSTD 1, GZIP 6). Returns NULL when out of memory. */
struct tpq_codec_ctx *tpq_codec_ctx_new(void);
void tpq_codec_ctx_free(struct tpq_codec_ctx *c);

/* Whether this build supports codec (all but LZ4_RAW are always built in). */
int tpq_codec_supported(enum tpq_codec codec);
/* Parses "zstd", "snappy", "gzip", "lz4", "lz4_raw", "none"/"uncompressed". -1 if unknown. */
int tpq_codec_from_name(const char *name);
const char *tpq_codec_name(enum tpq_codec codec);

/* Appends the compressed form of src[0..n) to out (out's error is sticky).
 * GZIP writes a gzip member (RFC 1952) as the Parquet spec requires. ZSTD
 * levels 1..3 (and so the default, 1) use parameters fit for pages: hashLog 14
 * (16 at level 1), chainLog 13, minMatch 6 (see codec.c). */
enum tpq_status tpq_codec_compress(struct tpq_codec_ctx *c, enum tpq_codec codec, int level,
				   const void *src, size_t n, struct tpq_buf *out,
				   struct tpq_error *err);

/* Decompresses src[0..n) into exactly dst_len bytes at dst (page sizes are known).
 * TPQ_ECORRUPT when the data is bad or its size differs from dst_len. */
enum tpq_status tpq_codec_decompress(struct tpq_codec_ctx *c, enum tpq_codec codec,
				     const void *src, size_t n, void *dst, size_t dst_len,
				     struct tpq_error *err);

/* Inflates a whole gzip file (one or more concatenated members, as `gzip`
 * and S3 may produce) into out (replacing its content). The output size is
 * bounded by max_out; past it TPQ_ELIMIT. A truncated or corrupt stream gives
 * TPQ_ECORRUPT with err->offset set to the compressed byte offset where the
 * failing member starts. */
enum tpq_status tpq_gunzip(struct tpq_codec_ctx *c, const void *src, size_t n, size_t max_out,
			   struct tpq_buf *out, struct tpq_error *err);

#endif
