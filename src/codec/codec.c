/* Page codecs and whole-file gunzip over the system libraries.
 *
 * A tpq_codec_ctx belongs to one thread. Library contexts are made on first
 * use and kept: a ZSTD CCtx/DCtx, one libdeflate compressor (remade only
 * when the GZIP level changes) and one libdeflate decompressor. Compression
 * writes straight into out's spare capacity after reserving the codec's
 * worst-case bound, so no intermediate copy is made.
 *
 * Decompression of a page must yield exactly dst_len bytes: each library is
 * given dst_len as its capacity (so it cannot write past dst) and the size it
 * reports is compared with dst_len.
 *
 * tpq_gunzip inflates member after member (a file may be several gzip
 * members back to back). libdeflate needs the whole output space up front:
 * the first try uses the ISIZE trailer (last 4 bytes: the last member's size
 * mod 2^32, exact for the usual single-member file) clamped to what DEFLATE
 * can expand to (1032:1) and to max_out; on LIBDEFLATE_INSUFFICIENT_SPACE the
 * space doubles and the member is inflated again, so at most about twice the
 * final work is done. Space that cannot grow because max_out is reached
 * gives TPQ_ELIMIT. libdeflate reports truncation and corruption alike, so
 * on failure the member is run once more through zlib's streaming inflate,
 * which tells "input ended" from "bad data" and names the defect; that only
 * costs time on the error path. A header CRC (FHCRC), which libdeflate skips,
 * is checked here, so we reject what zlib and gzip(1) reject. Zero bytes
 * after the last member (padding) are ignored; anything else must be
 * another member. */
#include "codec/codec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libdeflate.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "util/error.h"

/* Level 1 by default: on CloudTrail pages, with the page parameters below, it
 * writes as few bytes as level 3 and costs less. Lakes converted from three
 * inputs, level 1 (hashLog 16) against level 3: 200 MB gen_cloudtrail bucket
 * 13,307,473 vs 13,331,517 bytes (-0.18%), 30 MB bucket 2,946,052 vs
 * 2,943,255 (+0.10%), the dev corpus 2,223,903 vs 2,222,818 (+0.05%);
 * bench_writer on its largest partition 0.0213 vs 0.0226 s per write, and
 * 3% fewer instructions for the whole 1-thread conversion. */
#define ZSTD_DEFAULT_LEVEL 1
/* Parquet pages are compressed one at a time and are small (most are KiB,
 * the largest a few MiB). At the fast levels zstd sizes its tables for
 * bigger inputs (level 3: 2^17 hash and 2^16 chain entries for a 300 KiB
 * page), which then cost more in cache misses than they find. On the pages
 * of a converted 100 MB CloudTrail bucket (2,466 pages, 18.0 MB) level 3
 * with hashLog 14, chainLog 13 and minMatch 6 took 26% less time and wrote
 * 2.3% fewer bytes (6,796,864 vs 6,957,665); level 1 with them 44% less
 * time, 2.2% fewer bytes. Levels above 3 keep zstd's own parameters.
 * Level 1 (the fast strategy: no chain, one hash probe) takes hashLog 16:
 * on the 30 MB bucket's lake hashLog 14 wrote 0.20% more than level 3, 16
 * writes 0.10% more, at the same speed in bench_writer. */
#define ZSTD_PAGE_FIT_MAX_LEVEL 3
#define ZSTD_PAGE_HASH_LOG 14
#define ZSTD_PAGE_HASH_LOG_L1 16
#define ZSTD_PAGE_CHAIN_LOG 13
#define ZSTD_PAGE_MIN_MATCH 6
#define GZIP_DEFAULT_LEVEL 6
#define GZIP_MAX_LEVEL 12
/* DEFLATE expands at most ~1032:1 (258-byte matches in 2-bit codes). */
#define DEFLATE_MAX_RATIO 1032u

struct tpq_codec_ctx {
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	struct libdeflate_compressor *gz;
	int gz_level;
	struct libdeflate_decompressor *inflater;
};

struct tpq_codec_ctx *tpq_codec_ctx_new(void)
{
	return calloc(1, sizeof(struct tpq_codec_ctx));
}

void tpq_codec_ctx_free(struct tpq_codec_ctx *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	if (c->gz)
		libdeflate_free_compressor(c->gz);
	if (c->inflater)
		libdeflate_free_decompressor(c->inflater);
	free(c);
}

int tpq_codec_supported(enum tpq_codec codec)
{
	switch (codec) {
	case TPQ_CODEC_UNCOMPRESSED:
	case TPQ_CODEC_SNAPPY:
	case TPQ_CODEC_GZIP:
	case TPQ_CODEC_ZSTD:
	case TPQ_CODEC_LZ4_RAW:
		return 1;
	}
	return 0;
}

static const struct {
	const char *name;
	enum tpq_codec codec;
} codec_names[] = {
	{"zstd", TPQ_CODEC_ZSTD},       {"snappy", TPQ_CODEC_SNAPPY},
	{"gzip", TPQ_CODEC_GZIP},       {"lz4_raw", TPQ_CODEC_LZ4_RAW},
	{"lz4", TPQ_CODEC_LZ4_RAW},     {"uncompressed", TPQ_CODEC_UNCOMPRESSED},
	{"none", TPQ_CODEC_UNCOMPRESSED},
};

int tpq_codec_from_name(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(codec_names) / sizeof(codec_names[0]); i++)
		if (strcasecmp(name, codec_names[i].name) == 0)
			return (int)codec_names[i].codec;
	return -1;
}

const char *tpq_codec_name(enum tpq_codec codec)
{
	/* the first entry for a codec is its canonical name */
	for (size_t i = 0; i < sizeof(codec_names) / sizeof(codec_names[0]); i++)
		if (codec_names[i].codec == codec)
			return codec_names[i].name;
	return "unknown";
}

static struct libdeflate_decompressor *get_inflater(struct tpq_codec_ctx *c)
{
	if (!c->inflater)
		c->inflater = libdeflate_alloc_decompressor();
	return c->inflater;
}

/* Reserves `bound` bytes in out and returns where to write, or NULL with the
 * error recorded. */
static uint8_t *reserve_out(struct tpq_buf *out, size_t bound, struct tpq_error *err)
{
	if (tpq_buf_reserve(out, bound ? bound : 1) != 0) {
		tpq_error_set(err, out->err, "cannot reserve %zu bytes for compressed data", bound);
		return NULL;
	}
	return out->p + out->len;
}

static enum tpq_status compress_zstd(struct tpq_codec_ctx *c, int level, const void *src,
				     size_t n, struct tpq_buf *out, struct tpq_error *err)
{
	if (level == 0)
		level = ZSTD_DEFAULT_LEVEL;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return tpq_error_set(err, TPQ_EINVAL, "zstd level %d out of range", level);
	if (!c->zc && !(c->zc = ZSTD_createCCtx()))
		return tpq_error_set(err, TPQ_ENOMEM, "cannot create a zstd context");
	size_t bound = ZSTD_compressBound(n);
	if (ZSTD_isError(bound))
		return tpq_error_set(err, TPQ_ELIMIT, "%zu bytes are too many for zstd", n);
	uint8_t *dst = reserve_out(out, bound, err);
	if (!dst)
		return out->err;
	/* The context may come from another caller's level: parameters are set
	 * afresh every time (cheap next to any page). */
	size_t r = ZSTD_CCtx_reset(c->zc, ZSTD_reset_parameters);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r) && level >= 1 && level <= ZSTD_PAGE_FIT_MAX_LEVEL) {
		r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_hashLog,
					   level == 1 ? ZSTD_PAGE_HASH_LOG_L1 : ZSTD_PAGE_HASH_LOG);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_chainLog, ZSTD_PAGE_CHAIN_LOG);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_minMatch, ZSTD_PAGE_MIN_MATCH);
	}
	if (!ZSTD_isError(r))
		r = ZSTD_compress2(c->zc, dst, bound, src, n);
	if (ZSTD_isError(r)) {
		ZSTD_CCtx_reset(c->zc, ZSTD_reset_session_and_parameters);
		return tpq_error_set(err, TPQ_ECODEC, "zstd: %s", ZSTD_getErrorName(r));
	}
	out->len += r;
	return TPQ_OK;
}

static enum tpq_status compress_gzip(struct tpq_codec_ctx *c, int level, const void *src,
				     size_t n, struct tpq_buf *out, struct tpq_error *err)
{
	if (level == 0)
		level = GZIP_DEFAULT_LEVEL;
	if (level < 1 || level > GZIP_MAX_LEVEL)
		return tpq_error_set(err, TPQ_EINVAL, "gzip level %d out of range 1..12", level);
	if (c->gz && c->gz_level != level) {
		libdeflate_free_compressor(c->gz);
		c->gz = NULL;
	}
	if (!c->gz) {
		if (!(c->gz = libdeflate_alloc_compressor(level)))
			return tpq_error_set(err, TPQ_ENOMEM, "cannot create a gzip compressor");
		c->gz_level = level;
	}
	size_t bound = libdeflate_gzip_compress_bound(c->gz, n);
	uint8_t *dst = reserve_out(out, bound, err);
	if (!dst)
		return out->err;
	size_t r = libdeflate_gzip_compress(c->gz, src, n, dst, bound);
	if (r == 0)
		return tpq_error_set(err, TPQ_ECODEC, "gzip: output exceeds its bound");
	out->len += r;
	return TPQ_OK;
}

static enum tpq_status compress_snappy(const void *src, size_t n, struct tpq_buf *out,
				       struct tpq_error *err)
{
	size_t bound = snappy_max_compressed_length(n);
	uint8_t *dst = reserve_out(out, bound, err);
	if (!dst)
		return out->err;
	size_t r = bound;
	if (snappy_compress(src, n, (char *)dst, &r) != SNAPPY_OK)
		return tpq_error_set(err, TPQ_ECODEC, "snappy compression failed");
	out->len += r;
	return TPQ_OK;
}

static enum tpq_status compress_lz4(const void *src, size_t n, struct tpq_buf *out,
				    struct tpq_error *err)
{
	if (n > LZ4_MAX_INPUT_SIZE)
		return tpq_error_set(err, TPQ_ELIMIT, "%zu bytes are too many for lz4", n);
	int bound = LZ4_compressBound((int)n);
	uint8_t *dst = reserve_out(out, (size_t)bound, err);
	if (!dst)
		return out->err;
	int r = LZ4_compress_default(src, (char *)dst, (int)n, bound);
	if (r <= 0)
		return tpq_error_set(err, TPQ_ECODEC, "lz4 compression failed");
	out->len += (size_t)r;
	return TPQ_OK;
}

enum tpq_status tpq_codec_compress(struct tpq_codec_ctx *c, enum tpq_codec codec, int level,
				   const void *src, size_t n, struct tpq_buf *out,
				   struct tpq_error *err)
{
	static const uint8_t none = 0;
	if (out->err)
		return tpq_error_set(err, out->err, "output buffer already failed");
	if (n == 0)
		src = &none; /* the libraries want a valid pointer even for no bytes */
	switch (codec) {
	case TPQ_CODEC_UNCOMPRESSED:
		tpq_buf_put(out, src, n);
		if (out->err)
			return tpq_error_set(err, out->err, "cannot append %zu bytes", n);
		return TPQ_OK;
	case TPQ_CODEC_ZSTD:
		return compress_zstd(c, level, src, n, out, err);
	case TPQ_CODEC_GZIP:
		return compress_gzip(c, level, src, n, out, err);
	case TPQ_CODEC_SNAPPY:
		return compress_snappy(src, n, out, err);
	case TPQ_CODEC_LZ4_RAW:
		return compress_lz4(src, n, out, err);
	}
	return tpq_error_set(err, TPQ_EUNSUPPORTED, "unsupported codec %d", (int)codec);
}

/* --- page decompression ----------------------------------------------- */

static enum tpq_status size_mismatch(struct tpq_error *err, const char *codec, size_t got,
				     size_t want)
{
	return tpq_error_set(err, TPQ_ECORRUPT, "%s data decompresses to %zu bytes, expected %zu",
			     codec, got, want);
}

static enum tpq_status decompress_gzip(struct tpq_codec_ctx *c, const uint8_t *src, size_t n,
				       uint8_t *dst, size_t dst_len, struct tpq_error *err)
{
	struct libdeflate_decompressor *d = get_inflater(c);
	if (!d)
		return tpq_error_set(err, TPQ_ENOMEM, "cannot create a gzip decompressor");
	size_t pos = 0, done = 0;
	do { /* a gzip stream may be several members */
		size_t in_used = 0, out_got = 0;
		enum libdeflate_result r = libdeflate_gzip_decompress_ex(
			d, src + pos, n - pos, dst + done, dst_len - done, &in_used, &out_got);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
			return tpq_error_set(err, TPQ_ECORRUPT,
					     "gzip data decompresses to more than %zu bytes", dst_len);
		if (r != LIBDEFLATE_SUCCESS)
			return tpq_error_set(err, TPQ_ECORRUPT, "corrupt gzip data at byte %zu", pos);
		pos += in_used;
		done += out_got;
	} while (pos < n);
	if (done != dst_len)
		return size_mismatch(err, "gzip", done, dst_len);
	return TPQ_OK;
}

enum tpq_status tpq_codec_decompress(struct tpq_codec_ctx *c, enum tpq_codec codec,
				     const void *src, size_t n, void *dst, size_t dst_len,
				     struct tpq_error *err)
{
	static const uint8_t none = 0;
	uint8_t scratch = 0;
	if (n == 0)
		src = &none;
	if (dst_len == 0)
		dst = &scratch; /* never written: capacity 0 */
	switch (codec) {
	case TPQ_CODEC_UNCOMPRESSED:
		if (n != dst_len)
			return size_mismatch(err, "uncompressed", n, dst_len);
		memcpy(dst, src, n);
		return TPQ_OK;
	case TPQ_CODEC_ZSTD: {
		if (!c->zd && !(c->zd = ZSTD_createDCtx()))
			return tpq_error_set(err, TPQ_ENOMEM, "cannot create a zstd context");
		size_t r = ZSTD_decompressDCtx(c->zd, dst, dst_len, src, n);
		if (ZSTD_isError(r))
			return tpq_error_set(err, TPQ_ECORRUPT, "corrupt zstd data: %s",
					     ZSTD_getErrorName(r));
		if (r != dst_len)
			return size_mismatch(err, "zstd", r, dst_len);
		return TPQ_OK;
	}
	case TPQ_CODEC_SNAPPY: {
		size_t len = 0;
		if (snappy_uncompressed_length(src, n, &len) != SNAPPY_OK)
			return tpq_error_set(err, TPQ_ECORRUPT, "corrupt snappy data (bad length)");
		if (len != dst_len)
			return size_mismatch(err, "snappy", len, dst_len);
		if (snappy_uncompress(src, n, dst, &len) != SNAPPY_OK || len != dst_len)
			return tpq_error_set(err, TPQ_ECORRUPT, "corrupt snappy data");
		return TPQ_OK;
	}
	case TPQ_CODEC_LZ4_RAW: {
		if (n > INT_MAX || dst_len > INT_MAX)
			return tpq_error_set(err, TPQ_ELIMIT, "lz4 block larger than 2 GiB");
		int r = LZ4_decompress_safe(src, dst, (int)n, (int)dst_len);
		if (r < 0)
			return tpq_error_set(err, TPQ_ECORRUPT, "corrupt lz4 data");
		if ((size_t)r != dst_len)
			return size_mismatch(err, "lz4", (size_t)r, dst_len);
		return TPQ_OK;
	}
	case TPQ_CODEC_GZIP:
		return decompress_gzip(c, src, n, dst, dst_len, err);
	}
	return tpq_error_set(err, TPQ_EUNSUPPORTED, "unsupported codec %d", (int)codec);
}

/* --- whole-file gunzip ------------------------------------------------ */

/* Records a gunzip failure of the member starting at `offset`. */
static enum tpq_status gz_fail(struct tpq_error *err, enum tpq_status st, size_t offset,
			       const char *msg, const char *detail)
{
	if (err && err->status == TPQ_OK) {
		if (!strncmp(msg, "not gzip", 8))
			tpq_error_set(err, st, "%s at byte %zu", msg, offset);
		else if (detail)
			tpq_error_set(err, st, "%s in the member at byte %zu: %s", msg, offset, detail);
		else
			tpq_error_set(err, st, "%s in the member at byte %zu", msg, offset);
		err->offset = (int64_t)offset;
	}
	return st;
}

/* Why did the member at p[0..n) fail? Streams it through zlib, discarding
 * output, stopping once `budget` bytes came out (the failure must be before
 * that, or libdeflate would have run out of space instead). */
static enum tpq_status classify_member(const uint8_t *p, size_t n, size_t budget, size_t offset,
				       struct tpq_error *err)
{
	uint8_t window[32768];
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return gz_fail(err, TPQ_ENOMEM, offset, "cannot create a zlib stream", NULL);
	enum tpq_status st = TPQ_ECORRUPT;
	const char *msg = "corrupt gzip data", *detail = NULL;
	size_t fed = 0;
	for (;;) {
		if (zs.avail_in == 0 && fed < n) {
			size_t k = n - fed < UINT_MAX ? n - fed : UINT_MAX;
			zs.next_in = (Bytef *)(uintptr_t)(p + fed);
			zs.avail_in = (uInt)k;
			fed += k;
		}
		zs.next_out = window;
		zs.avail_out = sizeof(window);
		int r = inflate(&zs, Z_NO_FLUSH);
		if (r == Z_DATA_ERROR) {
			detail = zs.msg;
			break;
		}
		if (r == Z_MEM_ERROR) {
			st = TPQ_ENOMEM;
			msg = "out of memory inflating gzip data";
			break;
		}
		if (r == Z_STREAM_END)
			break; /* zlib takes what libdeflate refused: call it corrupt */
		if (r == Z_BUF_ERROR || (r == Z_OK && zs.avail_in == 0 && fed == n &&
					 zs.avail_out != 0)) {
			msg = "truncated gzip data";
			break;
		}
		if (r != Z_OK || zs.total_out > budget)
			break;
	}
	/* copy zlib's message before the stream that owns it ends */
	enum tpq_status ret = gz_fail(err, st, offset, msg, detail);
	inflateEnd(&zs);
	return ret;
}

/* RFC 1952 2.3: FLG.FHCRC adds a CRC16 (low half of the CRC-32) of the
 * header. libdeflate skips it; zlib and gzip(1) check it, and so do we.
 * Returns 0 unless the whole header is present and its CRC16 is wrong. */
static int bad_header_crc(const uint8_t *p, size_t n)
{
	enum { FHCRC = 0x02, FEXTRA = 0x04, FNAME = 0x08, FCOMMENT = 0x10 };
	if (n < 10 || !(p[3] & FHCRC))
		return 0;
	uint8_t flg = p[3];
	size_t i = 10;
	if (flg & FEXTRA) {
		if (n - i < 2)
			return 0;
		size_t xlen = (size_t)p[i] | (size_t)p[i + 1] << 8;
		if (n - i - 2 < xlen)
			return 0;
		i += 2 + xlen;
	}
	for (int field = FNAME; field <= FCOMMENT; field <<= 1) {
		if (!(flg & field))
			continue;
		const uint8_t *z = memchr(p + i, 0, n - i);
		if (!z)
			return 0;
		i = (size_t)(z - p) + 1;
	}
	if (n - i < 2)
		return 0;
	uint32_t crc = libdeflate_crc32(0, p, i);
	return (crc & 0xffff) != ((uint32_t)p[i] | (uint32_t)p[i + 1] << 8);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

enum tpq_status tpq_gunzip(struct tpq_codec_ctx *c, const void *src, size_t n, size_t max_out,
			   struct tpq_buf *out, struct tpq_error *err)
{
	const uint8_t *in = src;
	tpq_buf_reset(out);
	if (n == 0 || in[0] != 0x1f || (n > 1 && in[1] != 0x8b))
		return gz_fail(err, TPQ_ECORRUPT, 0, "not gzip data (bad magic)", NULL);
	struct libdeflate_decompressor *d = get_inflater(c);
	if (!d)
		return gz_fail(err, TPQ_ENOMEM, 0, "cannot create a gzip decompressor", NULL);

	/* Size hint: ISIZE of the last member, bounded by what n bytes can hold. */
	size_t hint = n >= 18 ? tpq_le32(in + n - 4) : 0;
	size_t most = n < (SIZE_MAX - 65536) / DEFLATE_MAX_RATIO ? n * DEFLATE_MAX_RATIO + 65536
								 : SIZE_MAX;
	if (hint > most)
		hint = most;
	if (hint > max_out)
		hint = max_out;
	if (tpq_buf_reserve(out, hint ? hint : 1) != 0)
		return gz_fail(err, out->err, 0, "cannot allocate the gzip output", NULL);

	size_t pos = 0;
	while (pos < n) {
		if (n - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
			if (pos > 0 && all_zero(in + pos, n - pos))
				break; /* padding after the last member */
			if (n - pos == 1 && in[pos] == 0x1f)
				return gz_fail(err, TPQ_ECORRUPT, pos, "truncated gzip data", NULL);
			return gz_fail(err, TPQ_ECORRUPT, pos, "not gzip data (bad magic)", NULL);
		}
		if (bad_header_crc(in + pos, n - pos))
			return gz_fail(err, TPQ_ECORRUPT, pos, "corrupt gzip data", "header crc mismatch");
		for (;;) {
			size_t room = max_out - out->len, avail = out->cap - out->len;
			if (avail > room)
				avail = room;
			size_t in_used = 0, got = 0;
			enum libdeflate_result r = libdeflate_gzip_decompress_ex(
				d, in + pos, n - pos, out->p + out->len, avail, &in_used, &got);
			if (r == LIBDEFLATE_SUCCESS) {
				pos += in_used;
				out->len += got;
				break;
			}
			if (r != LIBDEFLATE_INSUFFICIENT_SPACE)
				return classify_member(in + pos, n - pos, avail + 65536, pos, err);
			if (avail == room) {
				char msg[96];
				snprintf(msg, sizeof(msg), "gzip data inflates to more than %zu bytes",
					 max_out);
				return gz_fail(err, TPQ_ELIMIT, pos, msg, NULL);
			}
			size_t grow = out->cap - out->len;
			grow = grow < 65536 ? 65536 : grow; /* doubles the member's space */
			if (grow > room - avail)
				grow = room - avail;
			if (tpq_buf_reserve(out, avail + grow) != 0)
				return gz_fail(err, out->err, pos, "cannot grow the gzip output", NULL);
		}
	}
	return TPQ_OK;
}
