/* Tests for XXH64 and the split-block Bloom filter. The XXH64 vectors below
 * were computed with the system libxxhash (0.8), an independent
 * implementation; the filter layout was worked out by hand from BloomFilter.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parquet/bloom.h"

struct vec {
	const char *msg;
	uint64_t seed0, seed1;
};

static const struct vec vectors[] = {
	{"", 0xef46db3751d8e999u, 0xd5afba1336a3be4bu},
	{"a", 0xd24ec4f1a98c6e5bu, 0xdec2bc81c3cd46c6u},
	{"abc", 0x44bc2cf5ad770999u, 0xbea9ca8199328908u},
	{"message digest", 0x066ed728fceeb3beu, 0xcba434b6417dd0fdu},
	{"abcdefghijklmnopqrstuvwxyz", 0xcfe1f278fa89835cu, 0x58058c6ec112e95eu},
	{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 0xaaa46907d3047814u,
	 0x92845c60ac633f76u},
	{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	 0xe04a477f19ee145du, 0x0b795e8b945f7051u},
	{"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bcu, 0xdf5091b6dad2c6dbu},
};

TEST(xxh64_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t n = strlen(vectors[i].msg);
		ASSERT_U64_EQ(tpq_xxh64(vectors[i].msg, n, 0), vectors[i].seed0);
		ASSERT_U64_EQ(tpq_xxh64(vectors[i].msg, n, 1), vectors[i].seed1);
		ASSERT_U64_EQ(tpq_bloom_hash_bytes(vectors[i].msg, n), vectors[i].seed0);
	}
}

/* INT32/INT64 hash their 4/8 little-endian bytes. */
TEST(hash_ints)
{
	ASSERT_U64_EQ(tpq_bloom_hash_i32(42), 0xd756d7b62fc50bf1u);
	ASSERT_U64_EQ(tpq_bloom_hash_i64(42), 0xb556806fb6d14353u);
	static const uint8_t le32[4] = {0x78, 0x56, 0x34, 0x12};
	static const uint8_t le64[8] = {0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12};
	ASSERT_U64_EQ(tpq_bloom_hash_i32(0x12345678), tpq_xxh64(le32, 4, 0));
	ASSERT_U64_EQ(tpq_bloom_hash_i64(0x123456789abcdef0), tpq_xxh64(le64, 8, 0));
	static const uint8_t neg[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	ASSERT_U64_EQ(tpq_bloom_hash_i64(-1), tpq_xxh64(neg, 8, 0));
	ASSERT_U64_EQ(tpq_bloom_hash_i32(-1), tpq_xxh64(neg, 4, 0));
}

/* Every length 0..100 through an unaligned pointer: the hash depends on the
 * bytes only, and each byte matters. */
TEST(xxh64_alignment_and_sensitivity)
{
	uint8_t a[128], b[128];
	for (int i = 0; i < 128; i++)
		a[i] = (uint8_t)(i * 37 + 11);
	int bad = 0;
	for (size_t n = 1; n <= 100; n++) {
		memcpy(b + 1, a, n);
		if (tpq_xxh64(a, n, 0) != tpq_xxh64(b + 1, n, 0))
			bad++;
		b[1 + n - 1] ^= 1;
		if (tpq_xxh64(a, n, 0) == tpq_xxh64(b + 1, n, 0))
			bad++;
	}
	ASSERT_EQ(bad, 0);
}

/* Key 1 sets bit (SALT[i] >> 27) of word i: 8 8 17 20 14 5 19 11. */
TEST(layout_by_hand)
{
	static const uint8_t want[32] = {
		0x00, 0x01, 0x00, 0x00, /* 1 << 8  */
		0x00, 0x01, 0x00, 0x00, /* 1 << 8  */
		0x00, 0x00, 0x02, 0x00, /* 1 << 17 */
		0x00, 0x00, 0x10, 0x00, /* 1 << 20 */
		0x00, 0x40, 0x00, 0x00, /* 1 << 14 */
		0x20, 0x00, 0x00, 0x00, /* 1 << 5  */
		0x00, 0x00, 0x08, 0x00, /* 1 << 19 */
		0x00, 0x08, 0x00, 0x00, /* 1 << 11 */
	};
	struct tpq_bloom bf;
	ASSERT_EQ(tpq_bloom_init(&bf, 32), 0);
	ASSERT_TRUE(!tpq_bloom_check(&bf, 1));
	tpq_bloom_insert(&bf, 1);
	ASSERT_MEM_EQ(bf.bits, want, 32);
	ASSERT_TRUE(tpq_bloom_check(&bf, 1));
	/* the upper half does not matter with a single block */
	ASSERT_TRUE(tpq_bloom_check(&bf, 0xdeadbeef00000001u));
	tpq_bloom_release(&bf);

	/* two blocks: upper half 0x80000000 picks block (2^31 * 2) >> 32 = 1 */
	ASSERT_EQ(tpq_bloom_init(&bf, 64), 0);
	tpq_bloom_insert(&bf, 0x8000000000000001u);
	static const uint8_t zero[32] = {0};
	ASSERT_MEM_EQ(bf.bits, zero, 32);
	ASSERT_MEM_EQ(bf.bits + 32, want, 32);
	ASSERT_TRUE(tpq_bloom_check(&bf, 0x8000000000000001u));
	ASSERT_TRUE(!tpq_bloom_check(&bf, 0x7fffffff00000001u)); /* block 0 */
	tpq_bloom_release(&bf);
}

TEST(init_rejects_bad_sizes)
{
	struct tpq_bloom bf;
	ASSERT_EQ(tpq_bloom_init(&bf, 0), -1);
	ASSERT_EQ(tpq_bloom_init(&bf, 16), -1);
	ASSERT_EQ(tpq_bloom_init(&bf, 96), -1);
	ASSERT_TRUE(bf.bits == NULL);
	ASSERT_EQ(tpq_bloom_init(&bf, 1024), 0);
	ASSERT_EQ(bf.num_bytes, 1024);
	tpq_bloom_release(&bf);
	ASSERT_TRUE(bf.bits == NULL);
}

TEST(optimal_bytes)
{
	/* 1% -> 9.68 bits per value; 1M values -> 1.21 MB -> 2 MiB */
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000000, 0.01, 128u << 20), 2u << 20);
	/* 13500 values at 1% -> 16335 bytes -> 16 KiB */
	ASSERT_EQ(tpq_bloom_optimal_bytes(13500, 0.01, 1u << 20), 16384);
	ASSERT_EQ(tpq_bloom_optimal_bytes(13600, 0.01, 1u << 20), 32768);
	/* 0.5% needs about 11.54 bits per value: 1000 values -> 1443 bytes -> 2 KiB */
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, 0.005, 1u << 20), 2048);
	ASSERT_EQ(tpq_bloom_optimal_bytes(0, 0.01, 1u << 20), 32);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1, 0.01, 1u << 20), 32);
	/* clamps: to max_bytes (rounded down to a power of two), to 128 MiB, to 32 */
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000000, 0.01, 1u << 20), 1u << 20);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000000, 0.01, 1000000), 524288);
	ASSERT_EQ(tpq_bloom_optimal_bytes(UINT64_MAX, 0.01, UINT32_MAX), 128u << 20);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, 0.01, 0), 32);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, 0.0, 4096), 4096);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, NAN, 4096), 4096);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, 1.0, 4096), 32);
	ASSERT_EQ(tpq_bloom_optimal_bytes(1000, 1e-300, 4096), 4096);
}

static uint64_t rng_state = 0x243f6a8885a308d3u;

static uint64_t rnd64(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

/* No false negatives; the false-positive rate of 100k absent values is
 * within 2x of the 1% target for a filter sized right at its power of two. */
TEST(false_positive_rate)
{
	enum { NDV = 13500, PROBES = 100000 };
	const double fpp = 0.01;
	uint32_t bytes = tpq_bloom_optimal_bytes(NDV, fpp, 1u << 20);
	struct tpq_bloom bf;
	ASSERT_EQ(tpq_bloom_init(&bf, bytes), 0);
	/* inserted: even 64-bit integers; probed: odd ones, hashed as INT64 */
	uint64_t *keys = malloc(NDV * sizeof(*keys));
	for (int i = 0; i < NDV; i++) {
		keys[i] = rnd64() & ~(uint64_t)1;
		tpq_bloom_insert(&bf, tpq_bloom_hash_i64((int64_t)keys[i]));
	}
	int missing = 0;
	for (int i = 0; i < NDV; i++)
		missing += !tpq_bloom_check(&bf, tpq_bloom_hash_i64((int64_t)keys[i]));
	ASSERT_EQ(missing, 0);
	int fp = 0;
	for (int i = 0; i < PROBES; i++)
		fp += tpq_bloom_check(&bf, tpq_bloom_hash_i64((int64_t)(rnd64() | 1)));
	double rate = (double)fp / PROBES;
	if (!(rate <= 2 * fpp && rate >= fpp / 2))
		fprintf(stderr, "false-positive rate %.4f for target %.4f\n", rate, fpp);
	ASSERT_TRUE(rate <= 2 * fpp);
	ASSERT_TRUE(rate >= fpp / 2);

	/* strings: inserted found, absent mostly not */
	char s[32];
	memset(bf.bits, 0, bf.num_bytes);
	for (int i = 0; i < NDV; i++) {
		int n = snprintf(s, sizeof(s), "user-%d", i);
		tpq_bloom_insert(&bf, tpq_bloom_hash_bytes(s, (size_t)n));
	}
	missing = 0;
	fp = 0;
	for (int i = 0; i < NDV; i++) {
		int n = snprintf(s, sizeof(s), "user-%d", i);
		missing += !tpq_bloom_check(&bf, tpq_bloom_hash_bytes(s, (size_t)n));
		n = snprintf(s, sizeof(s), "role-%d", i);
		fp += tpq_bloom_check(&bf, tpq_bloom_hash_bytes(s, (size_t)n));
	}
	ASSERT_EQ(missing, 0);
	ASSERT_TRUE(fp < NDV * 2 * fpp);
	free(keys);
	tpq_bloom_release(&bf);
}

int main(void)
{
	RUN(xxh64_vectors);
	RUN(hash_ints);
	RUN(xxh64_alignment_and_sensitivity);
	RUN(layout_by_hand);
	RUN(init_rejects_bad_sizes);
	RUN(optimal_bytes);
	RUN(false_positive_rate);
	return harness_done();
}
