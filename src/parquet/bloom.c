/* XXH64 (xxHash specification, "XXH64 algorithm description") and Parquet's
 * split-block Bloom filter (BloomFilter.md).
 *
 * XXH64: 32-byte stripes feed four accumulators; the tail is folded in 8, 4
 * and 1 byte steps; an avalanche finishes. Lanes are read little-endian
 * whatever the host, so hashes (and thus filters) are host-independent.
 *
 * Filter: num_bytes / 32 blocks of eight 32-bit words. For a 64-bit hash h:
 *
 *   block = ((h >> 32) * n_blocks) >> 32        (upper half picks the block)
 *   key   = (uint32_t)h                         (lower half picks the bits)
 *   word i of the block |= 1 << ((key * SALT[i]) >> 27)
 *
 * e.g. key 1 sets bits 8 8 17 20 14 5 19 11 in words 0..7 (the top five bits
 * of each SALT). (h >> 32) * n_blocks < 2^32 * 2^22, so the product fits in
 * 64 bits for every legal size. Words are stored little-endian in `bits`, the
 * order the filter is written to the file in. */
#include "parquet/bloom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define PRIME64_1 0x9E3779B185EBCA87u
#define PRIME64_2 0xC2B2AE3D27D4EB4Fu
#define PRIME64_3 0x165667B19E3779F9u
#define PRIME64_4 0x85EBCA77C2B2AE63u
#define PRIME64_5 0x27D4EB2F165667C5u

/* BloomFilter.md: the filter is at most 128 MiB. */
#define BLOOM_MIN_BYTES 32u
#define BLOOM_MAX_BYTES (128u * 1024 * 1024)

static const uint32_t SALT[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
				 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

static inline uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline void wr32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, 4);
#else
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
#endif
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
	acc += lane * PRIME64_2;
	acc = rotl64(acc, 31);
	return acc * PRIME64_1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t x)
{
	acc ^= xxh_round(0, x);
	return acc * PRIME64_1 + PRIME64_4;
}

uint64_t tpq_xxh64(const void *data, size_t n, uint64_t seed)
{
	const uint8_t *p = data, *end = p + n;
	uint64_t acc;
	if (n >= 32) {
		uint64_t a1 = seed + PRIME64_1 + PRIME64_2, a2 = seed + PRIME64_2;
		uint64_t a3 = seed, a4 = seed - PRIME64_1;
		const uint8_t *last = end - 32;
		do {
			a1 = xxh_round(a1, tpq_le64(p));
			a2 = xxh_round(a2, tpq_le64(p + 8));
			a3 = xxh_round(a3, tpq_le64(p + 16));
			a4 = xxh_round(a4, tpq_le64(p + 24));
			p += 32;
		} while (p <= last);
		acc = rotl64(a1, 1) + rotl64(a2, 7) + rotl64(a3, 12) + rotl64(a4, 18);
		acc = xxh_merge(acc, a1);
		acc = xxh_merge(acc, a2);
		acc = xxh_merge(acc, a3);
		acc = xxh_merge(acc, a4);
	} else {
		acc = seed + PRIME64_5;
	}
	acc += (uint64_t)n;
	while (end - p >= 8) {
		acc ^= xxh_round(0, tpq_le64(p));
		acc = rotl64(acc, 27) * PRIME64_1 + PRIME64_4;
		p += 8;
	}
	if (end - p >= 4) {
		acc ^= (uint64_t)tpq_le32(p) * PRIME64_1;
		acc = rotl64(acc, 23) * PRIME64_2 + PRIME64_3;
		p += 4;
	}
	while (p < end) {
		acc ^= (uint64_t)*p * PRIME64_5;
		acc = rotl64(acc, 11) * PRIME64_1;
		p++;
	}
	acc ^= acc >> 33;
	acc *= PRIME64_2;
	acc ^= acc >> 29;
	acc *= PRIME64_3;
	acc ^= acc >> 32;
	return acc;
}

uint64_t tpq_bloom_hash_i64(int64_t v)
{
	uint8_t b[8];
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(u >> (8 * i));
	return tpq_xxh64(b, 8, 0);
}

uint64_t tpq_bloom_hash_i32(int32_t v)
{
	uint8_t b[4];
	uint32_t u = (uint32_t)v;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(u >> (8 * i));
	return tpq_xxh64(b, 4, 0);
}

static uint32_t pow2_floor(uint32_t x)
{
	uint32_t p = 1;
	while (p <= x / 2)
		p *= 2;
	return p;
}

uint32_t tpq_bloom_optimal_bytes(uint64_t ndv, double fpp, uint32_t max_bytes)
{
	uint32_t hi = max_bytes > BLOOM_MAX_BYTES ? BLOOM_MAX_BYTES : max_bytes;
	hi = hi < BLOOM_MIN_BYTES ? BLOOM_MIN_BYTES : pow2_floor(hi);
	if (!(fpp > 0.0)) /* also NaN: the most exact filter allowed */
		return hi;
	if (fpp >= 1.0 || ndv == 0)
		return BLOOM_MIN_BYTES;
	/* BloomFilter.md: bits per distinct value c = -8 / ln(1 - p^(1/8)) */
	double bits = -8.0 * (double)ndv / log1p(-pow(fpp, 1.0 / 8.0));
	double bytes = ceil(bits / 8.0);
	if (!(bytes > 0.0 && bytes < (double)hi)) /* also inf or NaN at extreme fpp */
		return hi;
	uint32_t want = (uint32_t)bytes, got = BLOOM_MIN_BYTES;
	while (got < want)
		got *= 2;
	return got < hi ? got : hi;
}

int tpq_bloom_init(struct tpq_bloom *bf, uint32_t num_bytes)
{
	bf->bits = NULL;
	bf->num_bytes = 0;
	if (num_bytes < BLOOM_MIN_BYTES || (num_bytes & (num_bytes - 1)) != 0)
		return -1;
	bf->bits = calloc(1, num_bytes);
	if (!bf->bits)
		return -1;
	bf->num_bytes = num_bytes;
	return 0;
}

void tpq_bloom_release(struct tpq_bloom *bf)
{
	free(bf->bits);
	bf->bits = NULL;
	bf->num_bytes = 0;
}

static inline uint8_t *block_of(const struct tpq_bloom *bf, uint64_t hash)
{
	uint64_t n_blocks = bf->num_bytes / 32;
	return bf->bits + ((hash >> 32) * n_blocks >> 32) * 32;
}

void tpq_bloom_insert(struct tpq_bloom *bf, uint64_t hash)
{
	uint8_t *blk = block_of(bf, hash);
	uint32_t key = (uint32_t)hash;
	for (int i = 0; i < 8; i++) {
		uint32_t bit = (key * SALT[i]) >> 27;
		wr32(blk + 4 * i, tpq_le32(blk + 4 * i) | (uint32_t)1 << bit);
	}
}

bool tpq_bloom_check(const struct tpq_bloom *bf, uint64_t hash)
{
	const uint8_t *blk = block_of(bf, hash);
	uint32_t key = (uint32_t)hash, miss = 0;
	for (int i = 0; i < 8; i++) {
		uint32_t bit = (key * SALT[i]) >> 27;
		miss |= ~tpq_le32(blk + 4 * i) & (uint32_t)1 << bit;
	}
	return miss == 0;
}
