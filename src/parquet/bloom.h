/* Parquet split-block Bloom filters (BloomFilter.md of parquet-format) and
 * XXH64 with seed 0, the hash the spec names.
 *
 * A filter is num_bytes (a power of two, 32..128 MiB) of 32-byte blocks of
 * eight 32-bit words. insert/check follow the spec's block_insert/block_check
 * with its eight SALT constants; the block index is ((hash >> 32) * n_blocks) >> 32
 * and the low 32 bits of the hash select the bits. Words are stored little-endian. */
#ifndef TPQ_PARQUET_BLOOM_H
#define TPQ_PARQUET_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* XXH64 of p[0..n) with the given seed (Parquet uses seed 0). */
uint64_t tpq_xxh64(const void *p, size_t n, uint64_t seed);

struct tpq_bloom {
	uint8_t *bits;      /* owned, num_bytes, little-endian 32-bit words */
	uint32_t num_bytes;
};

/* Bytes for a filter holding `ndv` distinct values at false-positive rate
 * `fpp` (0 < fpp < 1), rounded up to a power of two, clamped to 32 .. max_bytes. */
uint32_t tpq_bloom_optimal_bytes(uint64_t ndv, double fpp, uint32_t max_bytes);
/* 0 on success, -1 when out of memory. num_bytes must be a power of two >= 32. */
int tpq_bloom_init(struct tpq_bloom *bf, uint32_t num_bytes);
void tpq_bloom_release(struct tpq_bloom *bf);
void tpq_bloom_insert(struct tpq_bloom *bf, uint64_t hash);
bool tpq_bloom_check(const struct tpq_bloom *bf, uint64_t hash);

/* Hash of a value as Parquet defines it for the filter: XXH64 over the
 * PLAIN encoding without length prefix (BYTE_ARRAY: the bytes; INT32/INT64:
 * 4/8 little-endian bytes). */
static inline uint64_t tpq_bloom_hash_bytes(const void *p, size_t n) { return tpq_xxh64(p, n, 0); }
uint64_t tpq_bloom_hash_i64(int64_t v);
uint64_t tpq_bloom_hash_i32(int32_t v);

#endif
