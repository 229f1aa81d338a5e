/* tpq_hash128: a fast, streaming, non-cryptographic 128-bit hash.
 *
 * Used to recognise a CloudTrail record delivered twice (same eventID, same
 * content with whitespace removed). The content arrives as the chunks between
 * whitespace runs, so the hash is streaming: the result depends only on the
 * concatenated bytes, never on how they were cut into update calls.
 *
 * Design (our own): the input is read as 16-byte blocks of two little-endian
 * words (w0, w1), so the value is the same on every host. Two lanes absorb
 * each block differently:
 *   a = fold(a ^ w0 ^ K0, w1 ^ K1)        fold(x, y): high ^ low half of x*y
 *   b = rotl((b ^ w1) * K2, 31) + w0 * K3  (odd K: each step bijective per word)
 * The last partial block is zero-padded; the total length is mixed into the
 * finish, so "ab" and "ab\0" differ. Both lanes then go through an avalanche
 * (xor-shift-multiply) to give the two output words. Speed: one 64x64->128
 * multiply and two 64-bit multiplies per 16 bytes, in two independent
 * dependency chains (several GB/s). Not collision resistant against an
 * adversary; fine for telling apart records that are not byte-identical. */
#ifndef TPQ_JSON_HASH_H
#define TPQ_JSON_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"

struct tpq_hash128 {
	uint64_t a, b;
	uint64_t total;      /* bytes absorbed */
	uint8_t tail[16];    /* a partial block */
	size_t ntail;
};

#define TPQ__H_K0 UINT64_C(0x243F6A8885A308D3) /* hex digits of pi */
#define TPQ__H_K1 UINT64_C(0x13198A2E03707345)
#define TPQ__H_K2 UINT64_C(0xA4093822299F31D1)
#define TPQ__H_K3 UINT64_C(0x082EFA98EC4E6C89)
#define TPQ__H_K4 UINT64_C(0x452821E638D01377)
#define TPQ__H_K5 UINT64_C(0xBE5466CF34E90C6D)
#define TPQ__H_K6 UINT64_C(0xC0AC29B7C97C50DD)
#define TPQ__H_K7 UINT64_C(0x3F84D5B5B5470917)

static inline uint64_t tpq__rotl64(uint64_t x, unsigned r)
{
	return x << r | x >> (64 - r);
}

static inline uint64_t tpq__fold(uint64_t x, uint64_t y)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 m = (unsigned __int128)x * y;
	return (uint64_t)m ^ (uint64_t)(m >> 64);
#else
	uint64_t xl = (uint32_t)x, xh = x >> 32, yl = (uint32_t)y, yh = y >> 32;
	uint64_t ll = xl * yl, lh = xl * yh, hl = xh * yl, hh = xh * yh;
	uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
	uint64_t lo = (mid << 32) | (uint32_t)ll;
	uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return lo ^ hi;
#endif
}

static inline uint64_t tpq__avalanche(uint64_t x)
{
	x ^= x >> 32;
	x *= TPQ__H_K6;
	x ^= x >> 29;
	x *= TPQ__H_K7;
	x ^= x >> 32;
	return x;
}

static inline void tpq__hash_block(struct tpq_hash128 *h, const uint8_t *p)
{
	uint64_t w0 = tpq_le64(p), w1 = tpq_le64(p + 8);
	h->a = tpq__fold(h->a ^ w0 ^ TPQ__H_K0, w1 ^ TPQ__H_K1);
	h->b = tpq__rotl64((h->b ^ w1) * TPQ__H_K2, 31) + w0 * TPQ__H_K3;
}

static inline void tpq_hash128_init(struct tpq_hash128 *h)
{
	h->a = TPQ__H_K4;
	h->b = TPQ__H_K5;
	h->total = 0;
	h->ntail = 0;
}

static inline void tpq_hash128_update(struct tpq_hash128 *h, const void *data, size_t n)
{
	const uint8_t *p = data;
	h->total += n;
	if (h->ntail) {
		size_t k = 16 - h->ntail < n ? 16 - h->ntail : n;
		memcpy(h->tail + h->ntail, p, k);
		h->ntail += k;
		p += k;
		n -= k;
		if (h->ntail < 16)
			return;
		tpq__hash_block(h, h->tail);
		h->ntail = 0;
	}
	uint64_t a = h->a, b = h->b;
	while (n >= 16) {
		uint64_t w0 = tpq_le64(p), w1 = tpq_le64(p + 8);
		a = tpq__fold(a ^ w0 ^ TPQ__H_K0, w1 ^ TPQ__H_K1);
		b = tpq__rotl64((b ^ w1) * TPQ__H_K2, 31) + w0 * TPQ__H_K3;
		p += 16;
		n -= 16;
	}
	h->a = a;
	h->b = b;
	if (n) {
		memcpy(h->tail, p, n);
		h->ntail = n;
	}
}

/* Does not change h (more updates may follow). */
static inline void tpq_hash128_final(const struct tpq_hash128 *h, uint64_t out[2])
{
	struct tpq_hash128 t = *h;
	if (t.ntail) {
		memset(t.tail + t.ntail, 0, 16 - t.ntail);
		tpq__hash_block(&t, t.tail);
	}
	uint64_t a = t.a ^ t.total, b = t.b + t.total * TPQ__H_K1;
	out[0] = tpq__avalanche(tpq__fold(a ^ TPQ__H_K0, b ^ TPQ__H_K1) + t.total);
	out[1] = tpq__avalanche(b ^ tpq__rotl64(a, 17) * TPQ__H_K3);
}

/* One-shot. */
static inline void tpq_hash128(const void *p, size_t n, uint64_t out[2])
{
	struct tpq_hash128 h;
	tpq_hash128_init(&h);
	tpq_hash128_update(&h, p, n);
	tpq_hash128_final(&h, out);
}

#endif
