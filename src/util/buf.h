/* struct tpq_buf: a growable byte buffer with a sticky error.
 *
 * Encoders write through the put functions, which return nothing: after the
 * first failed growth (or a size past `limit`) every put does nothing and
 * `err` stays set; the caller checks once (tpq_buf_status) when done. All
 * multi-byte puts are explicit little-endian, so bytes never depend on the host.
 * The buffer owns `p`; tpq_buf_detach hands it to the caller. */
#ifndef TPQ_UTIL_BUF_H
#define TPQ_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trailpq/trailpq.h"

struct tpq_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t limit;     /* 0: no limit other than memory */
	enum tpq_status err;
};

void tpq_buf_init(struct tpq_buf *b);
void tpq_buf_release(struct tpq_buf *b);
/* Keeps capacity, forgets content and error. */
static inline void tpq_buf_reset(struct tpq_buf *b) { b->len = 0; b->err = TPQ_OK; }
/* Makes room for `n` more bytes; returns 0 on success (else sets err). */
int tpq_buf_reserve(struct tpq_buf *b, size_t n);
/* Takes ownership of the bytes out of the buffer (caller frees with free()). */
uint8_t *tpq_buf_detach(struct tpq_buf *b, size_t *len);
static inline enum tpq_status tpq_buf_status(const struct tpq_buf *b) { return b->err; }

static inline void tpq_buf_put(struct tpq_buf *b, const void *p, size_t n)
{
	if (n == 0 || (b->cap - b->len < n && tpq_buf_reserve(b, n)))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void tpq_buf_put_u8(struct tpq_buf *b, uint8_t v)
{
	if (b->len == b->cap && tpq_buf_reserve(b, 1))
		return;
	b->p[b->len++] = v;
}

static inline void tpq_buf_put_le32(struct tpq_buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	tpq_buf_put(b, t, 4);
}

static inline void tpq_buf_put_le64(struct tpq_buf *b, uint64_t v)
{
	tpq_buf_put_le32(b, (uint32_t)v);
	tpq_buf_put_le32(b, (uint32_t)(v >> 32));
}

/* Unsigned LEB128 (ULEB128 / Thrift varint). */
static inline void tpq_buf_put_uleb(struct tpq_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	while (v >= 0x80) {
		t[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (uint8_t)v;
	tpq_buf_put(b, t, n);
}

/* Makes room for element n of a dynamic array: `vp` is the address of the
 * array's pointer, *cap its capacity in elements of `size` bytes, doubled
 * (from `first`) when n has reached it. 0, or -1 when out of memory (the
 * array and *cap unchanged). */
int tpq_grow(void *vp, size_t n, size_t *cap, size_t size, size_t first);

/* Little-endian loads and stores at any alignment: one instruction on a
 * little-endian host, bytes elsewhere. */
static inline uint32_t tpq_le32(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
#else
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
#endif
}

static inline uint64_t tpq_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
#else
	return (uint64_t)tpq_le32(p) | (uint64_t)tpq_le32(p + 4) << 32;
#endif
}

static inline void tpq_store_le64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 8);
#else
	for (int b = 0; b < 8; b++)
		p[b] = (uint8_t)(v >> (8 * b));
#endif
}

#endif
