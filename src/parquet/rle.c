/* The RLE / bit-packing hybrid (Encodings.md, "RLE = 3").
 *
 * Encoder. The whole input is known up front, so instead of a streaming state
 * machine the encoder walks maximal runs of equal values:
 *
 *   lit .......... i ======== j          [lit, i): pending literals (bit-packed later)
 *                  <- run  ->            [i, j):   the maximal run at i
 *
 * A run becomes an RLE run when, after lending `pad` of its values to the
 * pending literals so they fill whole groups of 8, at least 8 remain. Hence
 * every bit-packed run except the very last covers a multiple of 8 values
 * and only the final group of the stream is padded (with zero bits).
 *
 * Speed: the input is mostly either long runs (levels) or short noisy runs
 * (dictionary indices). For noise, 8 values are skipped at once when x[i+7]
 * differs from both neighbours: then no run of 8 can start in [i, i+8) and
 * x[i+8] starts a fresh run, so the walk stays on run starts. Long runs are
 * measured a word at a time. Literals are packed 8 values (= bit_width bytes)
 * at a time through a 64-bit accumulator, flushing 32 bits at a step; the
 * flush pattern depends only on the width, so its branches predict. Space is
 * reserved once per emitted run, never per value.
 *
 * Levels (the uint8 entry point, widths 1..8) are walked by whole groups of
 * 8 instead (see encode_levels): a group is packed with a few word
 * operations, and a run becomes RLE only from a group boundary and only if
 * it saves bytes (8w bits per group against a 2-3 byte run). So the uint8
 * and uint32 entry points may choose different runs for the same values;
 * both decode to them.
 *
 * The _runs entry points take a larger minimum run (a run to the end of
 * the stream is RLE whatever its length): what the page writer uses, since
 * ZSTD then compresses the pages better (see rle.h).
 *
 *   pack8, w = 3, values 0..7:  acc after value k = sum(v_j << 3j, j <= k)
 *   -> 24 bits = 3 bytes 0x88 0xC6 0xFA (the example of Encodings.md)
 *
 * Bit width 0 (levels of a required column) is a single RLE run per 2^31-1
 * values with a zero-byte value. Values wider than bit_width are masked.
 *
 * Decoder. Every header and payload is checked against the end before it is
 * read; a header that is zero-length, longer than 32 bits, or describes more
 * values than requested (beyond the <= 7 padding values of a final bit-packed
 * group) is TPQ_ECORRUPT, as is an RLE value wider than bit_width. */
#include "parquet/rle.h"

#include <string.h>

#include "util/buf.h"

#if defined(__GNUC__)
#define RLE_INLINE static inline __attribute__((always_inline))
#else
#define RLE_INLINE static inline
#endif

/* Encodings.md: run lengths are in [1, 2^31 - 1]. Literal runs are split at
 * 2^20 groups (8 Mi values) so one reservation stays bounded (32 MiB). */
#define MAX_RLE_RUN 0x7fffffffu
#define MAX_GROUPS ((size_t)1 << 20)

int tpq_bit_width(uint32_t max_value)
{
	if (max_value == 0)
		return 0;
#if defined(__GNUC__)
	return 32 - __builtin_clz(max_value);
#else
	int w = 0;
	while (max_value) {
		w++;
		max_value >>= 1;
	}
	return w;
#endif
}

static inline uint32_t width_mask(int w)
{
	return w >= 32 ? UINT32_MAX : ((uint32_t)1 << w) - 1;
}

/* --- encoder ---------------------------------------------------------- */

RLE_INLINE uint32_t ld(const void *vals, size_t i, int u8)
{
	return u8 ? ((const uint8_t *)vals)[i] : ((const uint32_t *)vals)[i];
}

static inline int ensure(struct tpq_buf *b, size_t k)
{
	return b->cap - b->len >= k || tpq_buf_reserve(b, k) == 0;
}

/* ULEB128 of a 32-bit value into d (at most 5 bytes); returns the length. */
static inline size_t put_varint32(uint8_t *d, uint32_t v)
{
	size_t k = 0;
	while (v >= 0x80) {
		d[k++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	d[k++] = (uint8_t)v;
	return k;
}

static inline void store_le32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)v;
	d[1] = (uint8_t)(v >> 8);
	d[2] = (uint8_t)(v >> 16);
	d[3] = (uint8_t)(v >> 24);
}

/* Packs vals[i..i+8) into exactly w bytes at d, LSB first. */
RLE_INLINE void pack8(uint8_t *d, const void *vals, size_t i, int w, uint32_t mask, int u8)
{
	uint64_t acc = 0;
	int nb = 0;
	for (int k = 0; k < 8; k++) {
		acc |= (uint64_t)(ld(vals, i + (size_t)k, u8) & mask) << nb;
		nb += w;
		if (nb >= 32) {
			store_le32(d, (uint32_t)acc);
			d += 4;
			acc >>= 32;
			nb -= 32;
		}
	}
	/* 8w bits in all, so what is left is a whole number of bytes. */
	for (; nb > 0; nb -= 8) {
		*d++ = (uint8_t)acc;
		acc >>= 8;
	}
}

static void emit_rle(struct tpq_buf *out, uint32_t v, size_t count, int w)
{
	size_t vb = ((size_t)w + 7) / 8;
	while (count > 0) {
		size_t c = count < MAX_RLE_RUN ? count : MAX_RLE_RUN;
		if (!ensure(out, 5 + 4))
			return;
		uint8_t *d = out->p + out->len;
		size_t k = put_varint32(d, (uint32_t)c << 1);
		for (size_t b = 0; b < vb; b++)
			d[k++] = (uint8_t)(v >> (8 * b));
		out->len += k;
		count -= c;
	}
}

/* Bit-packs vals[start..start+count); count is a multiple of 8 unless this is
 * the end of the stream, where the last group is padded with zero bits. */
RLE_INLINE void emit_packed(struct tpq_buf *out, const void *vals, size_t start, size_t count,
			    int w, int u8)
{
	uint32_t mask = width_mask(w);
	size_t groups = count / 8 + (count % 8 != 0);
	size_t i = start, end = start + count;
	while (groups > 0) {
		size_t g = groups < MAX_GROUPS ? groups : MAX_GROUPS;
		if (!ensure(out, 5 + g * (size_t)w))
			return;
		uint8_t *d = out->p + out->len;
		d += put_varint32(d, (uint32_t)(g << 1 | 1));
		for (size_t k = 0; k < g; k++) {
			if (end - i >= 8) {
				pack8(d, vals, i, w, mask, u8);
				i += 8;
			} else {
				uint32_t tail[8] = {0};
				for (size_t t = 0; i < end; t++, i++)
					tail[t] = ld(vals, i, u8);
				pack8(d, tail, 0, w, mask, 0);
			}
			d += w;
		}
		out->len = (size_t)(d - out->p);
		groups -= g;
	}
}

/* Index just past the maximal run of v starting at j (vals[j-1] == v). */
RLE_INLINE size_t run_end(const void *vals, size_t j, size_t n, uint32_t v, int u8)
{
	if (u8) {
		const uint8_t *x = vals;
		uint64_t pat = (uint64_t)v * 0x0101010101010101u;
		while (n - j >= 8) {
			uint64_t word;
			memcpy(&word, x + j, 8);
			if (word != pat)
				break;
			j += 8;
		}
	} else {
		const uint32_t *x = vals;
		while (n - j >= 4 && ((x[j] ^ v) | (x[j + 1] ^ v) | (x[j + 2] ^ v) | (x[j + 3] ^ v)) == 0)
			j += 4;
	}
	while (j < n && ld(vals, j, u8) == v)
		j++;
	return j;
}

RLE_INLINE void encode(struct tpq_buf *out, const void *vals, size_t n, int w, int u8,
			size_t min_run)
{
	if (out->err)
		return;
	if (w < 0 || w > 32) {
		out->err = TPQ_EINVAL;
		return;
	}
	if (n == 0)
		return;
	if (w == 0) {
		emit_rle(out, 0, n, 0);
		return;
	}
	uint32_t mask = width_mask(w);
	size_t lit = 0, i = 0;
	while (i < n) {
		if (n - i > 8) {
			uint32_t a = ld(vals, i + 6, u8), b = ld(vals, i + 7, u8);
			if (a != b && b != ld(vals, i + 8, u8)) {
				i += 8;
				continue;
			}
		}
		uint32_t v = ld(vals, i, u8);
		size_t j = run_end(vals, i + 1, n, v, u8);
		size_t run = j - i;
		if (run >= 8) {
			size_t pad = (8 - (i - lit) % 8) % 8;
			if (run - pad >= min_run || (j == n && run - pad >= 8)) {
				if (i + pad > lit)
					emit_packed(out, vals, lit, i + pad - lit, w, u8);
				emit_rle(out, v & mask, run - pad, w);
				lit = j;
			}
		}
		i = j;
	}
	if (lit < n)
		emit_packed(out, vals, lit, n - lit, w, u8);
}

void tpq_rle_encode(struct tpq_buf *out, const uint32_t *values, size_t n, int bit_width)
{
	encode(out, values, n, bit_width, 0, 8);
}

void tpq_rle_encode_runs(struct tpq_buf *out, const uint32_t *values, size_t n, int bit_width,
			 size_t min_run)
{
	encode(out, values, n, bit_width, 0, min_run < 8 ? 8 : min_run);
}

/* --- the uint8 (levels) encoder ------------------------------------------ */

/* 8 values of w bits (one per byte of x, least significant byte first) as
 * their 8w-bit LSB-first packing, in three steps that each move the high
 * half of every lane down onto the low half's unused bits:
 *
 *   16-bit lanes: lo | hi << w        (2w bits)
 *   32-bit lanes: lo | hi << 2w       (4w bits)
 *   64 bits:      lo | hi << 4w       (8w bits)
 *
 *   w = 2, values 1 2 3 0 1 2 3 0 -> 0x39 0x39 (1 | 2<<2 | 3<<4 | 0<<6 = 0x39) */
static inline uint64_t squeeze8(uint64_t x, int w)
{
	x = (x & 0x00ff00ff00ff00ffu) | (x & 0xff00ff00ff00ff00u) >> (8 - w);
	x = (x & 0x0000ffff0000ffffu) | (x & 0xffff0000ffff0000u) >> (16 - 2 * w);
	return (x & 0x00000000ffffffffu) | (x & 0xffffffff00000000u) >> (32 - 4 * w);
}

/* Bit-packs x[start..start+count) (count a multiple of 8 except at the end of
 * the stream, where the last group is padded with zero values). */
static void emit_packed_u8(struct tpq_buf *out, const uint8_t *x, size_t start, size_t count, int w)
{
	uint64_t mask = (uint64_t)width_mask(w) * 0x0101010101010101u;
	size_t groups = count / 8 + (count % 8 != 0), i = start, end = start + count;
	while (groups > 0) {
		size_t g = groups < MAX_GROUPS ? groups : MAX_GROUPS;
		/* + 8: each group stores a whole word and advances by w bytes */
		if (!ensure(out, 5 + g * (size_t)w + 8))
			return;
		uint8_t *d = out->p + out->len;
		d += put_varint32(d, (uint32_t)(g << 1 | 1));
		for (size_t k = 0; k < g; k++) {
			uint64_t v;
			if (end - i >= 8) {
				v = tpq_le64(x + i);
				i += 8;
			} else {
				uint8_t t[8] = {0};
				memcpy(t, x + i, end - i);
				v = tpq_le64(t);
				i = end;
			}
			tpq_store_le64(d, squeeze8(v & mask, w));
			d += w;
		}
		out->len = (size_t)(d - out->p);
		groups -= g;
	}
}

/* Levels take another walk than the uint32 encoder: groups of 8 from the
 * pending literals' start, each either packed whole (about ten instructions)
 * or, when it opens a run of equal values long enough to pay (at least 8
 * values and 24 bits of packing), the start of an RLE run to the run's end.
 * Runs are only found from a group start, so a run that begins inside a
 * group lends its first values to the literals; in exchange noise costs no
 * per-value walk (levels of CloudTrail's optional fields change every row or
 * two). */
static void encode_levels(struct tpq_buf *out, const uint8_t *x, size_t n, int w, size_t min_run)
{
	size_t lit = 0, i = 0;
	while (n - i >= 8) {
		uint64_t g = tpq_le64(x + i);
		if (g == (uint64_t)x[i] * 0x0101010101010101u) {
			size_t j = run_end(x, i + 8, n, x[i], 1), run = j - i;
			if ((run * (size_t)w >= 24 && run >= min_run) || j == n) {
				if (i > lit)
					emit_packed_u8(out, x, lit, i - lit, w);
				emit_rle(out, x[i] & width_mask(w), run, w);
				lit = i = j;
				continue;
			}
		}
		i += 8;
	}
	if (lit < n)
		emit_packed_u8(out, x, lit, n - lit, w);
}

void tpq_rle_encode_u8_runs(struct tpq_buf *out, const uint8_t *values, size_t n, int bit_width,
			    size_t min_run)
{
	if (out->err)
		return;
	if (bit_width < 1 || bit_width > 8 || n == 0)
		encode(out, values, n, bit_width, 1, 8); /* width 0, wider than a byte, errors */
	else
		encode_levels(out, values, n, bit_width, min_run);
}

void tpq_rle_encode_u8(struct tpq_buf *out, const uint8_t *values, size_t n, int bit_width)
{
	tpq_rle_encode_u8_runs(out, values, n, bit_width, 0);
}

/* --- decoder ---------------------------------------------------------- */

/* Reads a ULEB128 header of at most 32 bits; -1 if truncated or longer. */
static int read_varint32(const uint8_t *p, size_t len, size_t *pos, uint32_t *v)
{
	uint32_t r = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (*pos >= len)
			return -1;
		uint8_t byte = p[(*pos)++];
		if (shift == 28 && byte > 0x0f)
			return -1;
		r |= (uint32_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Unpacks 8 values from exactly w bytes at s. */
static inline void unpack8(const uint8_t *s, uint32_t *v, int w, uint32_t mask)
{
	uint64_t acc = 0;
	int nb = 0;
	for (int k = 0; k < 8; k++) {
		while (nb < w) {
			acc |= (uint64_t)*s++ << nb;
			nb += 8;
		}
		v[k] = (uint32_t)acc & mask;
		acc >>= w;
		nb -= w;
	}
}

enum tpq_status tpq_rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *values,
			       size_t n, size_t *used)
{
	if (used)
		*used = 0;
	if (bit_width < 0 || bit_width > 32)
		return TPQ_ECORRUPT;
	int w = bit_width;
	uint32_t mask = width_mask(w);
	size_t vb = ((size_t)w + 7) / 8;
	size_t pos = 0, out = 0;
	while (out < n) {
		uint32_t h;
		if (read_varint32(p, len, &pos, &h))
			return TPQ_ECORRUPT;
		uint64_t count = h >> 1;
		if (count == 0)
			return TPQ_ECORRUPT;
		size_t want = n - out;
		if (h & 1) {
			uint64_t bytes = count * (uint64_t)w;
			count *= 8;
			if (bytes > len - pos || (count > want && count - want >= 8))
				return TPQ_ECORRUPT;
			while (want >= 8 && count >= 8) {
				unpack8(p + pos, values + out, w, mask);
				pos += (size_t)w;
				out += 8;
				want -= 8;
				count -= 8;
			}
			if (count > 0) {
				/* The final group: want < 8 values, the rest is padding. */
				uint32_t tail[8];
				unpack8(p + pos, tail, w, mask);
				pos += (size_t)w;
				memcpy(values + out, tail, want * sizeof(*tail));
				out += want;
			}
		} else {
			if (count > want || vb > len - pos)
				return TPQ_ECORRUPT;
			uint32_t v = 0;
			for (size_t b = 0; b < vb; b++)
				v |= (uint32_t)p[pos + b] << (8 * b);
			pos += vb;
			if (v & ~mask)
				return TPQ_ECORRUPT;
			for (size_t k = 0; k < (size_t)count; k++)
				values[out + k] = v;
			out += (size_t)count;
		}
	}
	if (used)
		*used = pos;
	return TPQ_OK;
}
