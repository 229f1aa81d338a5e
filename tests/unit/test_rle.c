/* Tests for the RLE / bit-packing hybrid: byte-exact encodings worked out by
 * hand from Encodings.md, round trips over every bit width, and a decoder
 * that rejects every malformed input it is shown. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "parquet/rle.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic across runs and hosts */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static uint32_t mask_of(int w)
{
	return w >= 32 ? UINT32_MAX : ((uint32_t)1 << w) - 1;
}

TEST(bit_width)
{
	ASSERT_EQ(tpq_bit_width(0), 0);
	ASSERT_EQ(tpq_bit_width(1), 1);
	ASSERT_EQ(tpq_bit_width(2), 2);
	ASSERT_EQ(tpq_bit_width(3), 2);
	ASSERT_EQ(tpq_bit_width(4), 3);
	ASSERT_EQ(tpq_bit_width(255), 8);
	ASSERT_EQ(tpq_bit_width(256), 9);
	ASSERT_EQ(tpq_bit_width(0x7fffffffu), 31);
	ASSERT_EQ(tpq_bit_width(UINT32_MAX), 32);
}

/* Encodings.md: 0..7 at width 3 packs to 10001000 11000110 11111010. */
TEST(spec_bitpack_example)
{
	uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	static const uint8_t want[] = {0x03, 0x88, 0xc6, 0xfa};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, 8, 3);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
	ASSERT_EQ(b.len, sizeof(want));
	ASSERT_MEM_EQ(b.p, want, sizeof(want));

	uint32_t got[8] = {0};
	size_t used = 0;
	ASSERT_EQ(tpq_rle_decode(want, sizeof(want), 3, got, 8, &used), TPQ_OK);
	ASSERT_EQ(used, sizeof(want));
	ASSERT_MEM_EQ(got, v, sizeof(v));
	tpq_buf_release(&b);
}

TEST(rle_run_bytes)
{
	uint32_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = 5;
	/* header varint(100 << 1) = c8 01, value in one byte */
	static const uint8_t want[] = {0xc8, 0x01, 0x05};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, 100, 3);
	ASSERT_EQ(b.len, sizeof(want));
	ASSERT_MEM_EQ(b.p, want, sizeof(want));

	/* width 17 stores the RLE value in 3 bytes, little-endian */
	for (int i = 0; i < 100; i++)
		v[i] = 0x1abcd;
	static const uint8_t want17[] = {0xc8, 0x01, 0xcd, 0xab, 0x01};
	tpq_buf_reset(&b);
	tpq_rle_encode(&b, v, 100, 17);
	ASSERT_EQ(b.len, sizeof(want17));
	ASSERT_MEM_EQ(b.p, want17, sizeof(want17));
	tpq_buf_release(&b);
}

/* 1 2 3, then twenty 7s, then 1 2: the literals borrow five 7s to fill a
 * group, fifteen 7s become an RLE run, the tail is one padded group:
 *   03 | 1 2 3 7 7 7 7 7 -> 0xFFFED1 -> d1 fe ff
 *   1e 07 (15 << 1, value 7)
 *   03 | 1 2 0 0 0 0 0 0 -> 0x000011 -> 11 00 00 */
TEST(mixed_runs_bytes)
{
	uint32_t v[25];
	size_t n = 0;
	v[n++] = 1;
	v[n++] = 2;
	v[n++] = 3;
	for (int i = 0; i < 20; i++)
		v[n++] = 7;
	v[n++] = 1;
	v[n++] = 2;
	static const uint8_t want[] = {0x03, 0xd1, 0xfe, 0xff, 0x1e, 0x07, 0x03, 0x11, 0x00, 0x00};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, n, 3);
	ASSERT_EQ(b.len, sizeof(want));
	ASSERT_MEM_EQ(b.p, want, sizeof(want));

	uint32_t got[25];
	size_t used = 0;
	ASSERT_EQ(tpq_rle_decode(b.p, b.len, 3, got, n, &used), TPQ_OK);
	ASSERT_EQ(used, b.len);
	ASSERT_MEM_EQ(got, v, sizeof(v));

	/* the uint8 entry point produces the same bytes */
	uint8_t v8[25];
	for (size_t i = 0; i < n; i++)
		v8[i] = (uint8_t)v[i];
	struct tpq_buf b8;
	tpq_buf_init(&b8);
	tpq_rle_encode_u8(&b8, v8, n, 3);
	ASSERT_EQ(b8.len, b.len);
	ASSERT_MEM_EQ(b8.p, b.p, b.len);
	tpq_buf_release(&b8);
	tpq_buf_release(&b);
}

/* The levels encoder's choices, byte by byte: runs from group boundaries,
 * RLE only where it saves bytes (or reaches the end), packing by squeeze8. */
TEST(levels_bytes)
{
	struct {
		int w;
		size_t n;
		uint8_t v[48];
		size_t out_len;
		uint8_t out[8];
	} cases[] = {
		/* w 2, one group: 1 | 2<<2 | 3<<4 | 0<<6 = 0x39 */
		{2, 8, {1, 2, 3, 0, 1, 2, 3, 0}, 3, {0x03, 0x39, 0x39}},
		/* 0 x3, 1 x40, 0 x5: the run starts at the second group (35 values) */
		{1, 48, {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
			 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		 6, {0x03, 0xf8, 0x46, 0x01, 0x03, 0x00}},
		/* 1 x16, 0 x3: 16 bits of run cost less packed (3 bytes) than as RLE */
		{1, 19, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, 4,
		 {0x07, 0xff, 0xff, 0x00}},
		/* a run to the end is RLE however short */
		{1, 16, {0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 4, {0x03, 0xaa, 0x10, 0x01}},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tpq_buf b;
		tpq_buf_init(&b);
		tpq_rle_encode_u8(&b, cases[k].v, cases[k].n, cases[k].w);
		ASSERT_EQ(b.len, cases[k].out_len);
		if (b.len == cases[k].out_len)
			ASSERT_MEM_EQ(b.p, cases[k].out, b.len);
		uint32_t got[48];
		size_t used = 0;
		ASSERT_EQ(tpq_rle_decode(b.p, b.len, cases[k].w, got, cases[k].n, &used), TPQ_OK);
		ASSERT_EQ(used, b.len);
		for (size_t i = 0; i < cases[k].n; i++)
			ASSERT_EQ(got[i], cases[k].v[i]);
		tpq_buf_release(&b);
	}
}

TEST(width_zero)
{
	uint8_t lv[1000] = {0};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode_u8(&b, lv, 10, 0);
	ASSERT_EQ(b.len, 1);
	ASSERT_EQ(b.p[0], 0x14); /* RLE run of 10, zero-byte value */

	tpq_buf_reset(&b);
	tpq_rle_encode_u8(&b, lv, 1000, 0);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_OK);
	uint32_t got[1000];
	memset(got, 0xff, sizeof(got));
	size_t used = 0;
	ASSERT_EQ(tpq_rle_decode(b.p, b.len, 0, got, 1000, &used), TPQ_OK);
	ASSERT_EQ(used, b.len);
	for (int i = 0; i < 1000; i++)
		ASSERT_EQ(got[i], 0);

	/* a bit-packed run at width 0 has no payload and decodes to zeros */
	static const uint8_t bp0[] = {0x05}; /* 2 groups */
	ASSERT_EQ(tpq_rle_decode(bp0, 1, 0, got, 13, &used), TPQ_OK);
	ASSERT_EQ(used, 1);
	ASSERT_EQ(got[12], 0);
	tpq_buf_release(&b);
}

static void roundtrip_one(const uint32_t *v, size_t n, int w, int *failures)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, n, w);
	uint32_t *got = malloc((n + 1) * sizeof(*got));
	size_t used = 0;
	enum tpq_status st = tpq_buf_status(&b);
	if (st == TPQ_OK)
		st = tpq_rle_decode(b.p, b.len, w, got, n, &used);
	if (st != TPQ_OK || used != b.len || (n && memcmp(got, v, n * sizeof(*v)) != 0)) {
		if (*failures < 5)
			fprintf(stderr, "round trip failed: n=%zu w=%d st=%d used=%zu len=%zu\n",
				n, w, (int)st, used, b.len);
		++*failures;
	}
	if (w <= 8 && st == TPQ_OK) {
		/* the levels encoder: its own runs, the same values back, and never
		 * more than the uint32 encoder's bytes plus a header per group */
		uint8_t *v8 = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			v8[i] = (uint8_t)v[i];
		struct tpq_buf b8;
		tpq_buf_init(&b8);
		tpq_rle_encode_u8(&b8, v8, n, w);
		size_t used8 = 0;
		if (tpq_buf_status(&b8) != TPQ_OK ||
		    tpq_rle_decode(b8.p, b8.len, w, got, n, &used8) != TPQ_OK || used8 != b8.len ||
		    (n && memcmp(got, v, n * sizeof(*v)) != 0) || b8.len > b.len + n / 8 + 8)
			++*failures;
		tpq_buf_release(&b8);
		free(v8);
	}
	free(got);
	tpq_buf_release(&b);
}

/* Values of width w in a pattern chosen by kind: noise, long runs, runs of
 * random length 1..20, alternating two values. */
static void fill(uint32_t *v, size_t n, int w, int kind)
{
	uint32_t m = mask_of(w);
	for (size_t i = 0; i < n;) {
		uint32_t x = rnd() & m;
		size_t len = kind == 0 ? 1 : kind == 1 ? 1 + rnd() % 300 : kind == 2 ? 1 + rnd() % 20 : 1;
		if (kind == 3)
			x = (uint32_t)(i & 1) & m;
		for (size_t k = 0; k < len && i < n; k++)
			v[i++] = x;
	}
}

TEST(roundtrip_all_widths)
{
	static const size_t sizes[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099};
	uint32_t *v = malloc(4099 * sizeof(*v));
	int failures = 0;
	for (int w = 0; w <= 32; w++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
			for (int kind = 0; kind < 4; kind++) {
				fill(v, sizes[s], w, kind);
				roundtrip_one(v, sizes[s], w, &failures);
			}
	ASSERT_EQ(failures, 0);
	free(v);
}

/* Runs whose length and position around group boundaries vary exhaustively. */
TEST(roundtrip_run_positions)
{
	uint32_t v[64];
	int failures = 0;
	for (size_t pre = 0; pre < 17; pre++)
		for (size_t run = 1; run < 30; run++)
			for (size_t post = 0; post < 10; post++) {
				size_t n = 0;
				for (size_t k = 0; k < pre; k++)
					v[n++] = (uint32_t)(k % 3);
				for (size_t k = 0; k < run; k++)
					v[n++] = 5;
				for (size_t k = 0; k < post; k++)
					v[n++] = (uint32_t)(k % 2 + 1);
				roundtrip_one(v, n, 3, &failures);
			}
	ASSERT_EQ(failures, 0);
}

/* Levels of a mostly-present optional column compress to a few bytes; noise
 * costs about n * w / 8 bytes. */
TEST(sizes_are_compact)
{
	enum { N = 100000 };
	uint8_t *lv = malloc(N);
	memset(lv, 1, N);
	lv[5000] = 0;
	lv[70001] = 0;
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode_u8(&b, lv, N, 1);
	ASSERT_TRUE(b.len < 40);

	uint32_t *v = malloc(N * sizeof(*v));
	fill(v, N, 10, 0);
	tpq_buf_reset(&b);
	tpq_rle_encode(&b, v, N, 10);
	ASSERT_TRUE(b.len >= N * 10 / 8);
	ASSERT_TRUE(b.len < N * 10 / 8 + 64);
	free(v);
	free(lv);
	tpq_buf_release(&b);
}

TEST(encoder_sticky_and_invalid)
{
	uint32_t v[4] = {1, 2, 3, 4};
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, 4, 33);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_EINVAL);
	ASSERT_EQ(b.len, 0);
	tpq_rle_encode(&b, v, 4, 3);
	ASSERT_EQ(b.len, 0); /* the error is sticky */

	/* a buffer limit turns into TPQ_ELIMIT, not an overrun */
	tpq_buf_reset(&b);
	b.limit = 4;
	uint32_t many[1000];
	fill(many, 1000, 12, 0);
	tpq_rle_encode(&b, many, 1000, 12);
	ASSERT_EQ(tpq_buf_status(&b), TPQ_ELIMIT);
	ASSERT_TRUE(b.len <= 4);
	tpq_buf_release(&b);
}

TEST(decode_rejects_malformed)
{
	uint32_t out[64];
	size_t used = 99;
	static const uint8_t ok[] = {0x03, 0x88, 0xc6, 0xfa};
	ASSERT_EQ(tpq_rle_decode(ok, 4, 33, out, 8, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(ok, 4, -1, out, 8, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(NULL, 0, 3, out, 1, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(NULL, 0, 3, out, 0, &used), TPQ_OK);
	ASSERT_EQ(used, 0);

	static const uint8_t zero_rle[] = {0x00, 0x05};
	static const uint8_t zero_bp[] = {0x01};
	ASSERT_EQ(tpq_rle_decode(zero_rle, 2, 3, out, 1, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(zero_bp, 1, 3, out, 1, &used), TPQ_ECORRUPT);

	/* headers longer than 32 bits */
	static const uint8_t long5[] = {0xfe, 0xff, 0xff, 0xff, 0x1f, 0x01};
	static const uint8_t long6[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01};
	ASSERT_EQ(tpq_rle_decode(long5, sizeof(long5), 3, out, 1, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(long6, sizeof(long6), 3, out, 1, &used), TPQ_ECORRUPT);
	static const uint8_t unterminated[] = {0x80, 0x80};
	ASSERT_EQ(tpq_rle_decode(unterminated, 2, 3, out, 1, &used), TPQ_ECORRUPT);

	/* an RLE run of 10 when 9 values are asked for */
	static const uint8_t rle10[] = {0x14, 0x01};
	ASSERT_EQ(tpq_rle_decode(rle10, 2, 3, out, 9, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(rle10, 2, 3, out, 10, &used), TPQ_OK);
	ASSERT_EQ(used, 2);
	ASSERT_EQ(out[9], 1);
	/* RLE value wider than the bit width */
	static const uint8_t rle_wide[] = {0x14, 0x09};
	ASSERT_EQ(tpq_rle_decode(rle_wide, 2, 3, out, 10, &used), TPQ_ECORRUPT);
	/* RLE value truncated (width 9 needs two bytes) */
	ASSERT_EQ(tpq_rle_decode(rle10, 2, 9, out, 10, &used), TPQ_ECORRUPT);

	/* bit-packed: one group serves 1..8 values (padding), two groups do not serve 3 */
	for (size_t n = 1; n <= 8; n++) {
		ASSERT_EQ(tpq_rle_decode(ok, 4, 3, out, n, &used), TPQ_OK);
		ASSERT_EQ(used, 4);
		ASSERT_EQ(out[n - 1], n - 1);
	}
	static const uint8_t two_groups[] = {0x05, 0, 0, 0, 0, 0, 0};
	ASSERT_EQ(tpq_rle_decode(two_groups, 7, 3, out, 3, &used), TPQ_ECORRUPT);
	ASSERT_EQ(tpq_rle_decode(two_groups, 7, 3, out, 9, &used), TPQ_OK);
	ASSERT_EQ(tpq_rle_decode(two_groups, 6, 3, out, 9, &used), TPQ_ECORRUPT);
	/* input ends before enough runs */
	ASSERT_EQ(tpq_rle_decode(ok, 4, 3, out, 9, &used), TPQ_ECORRUPT);

	/* trailing bytes are left unused */
	static const uint8_t trail[] = {0x14, 0x01, 0xaa, 0xbb};
	ASSERT_EQ(tpq_rle_decode(trail, 4, 3, out, 10, &used), TPQ_OK);
	ASSERT_EQ(used, 2);
}

/* Every strict prefix of a valid encoding is rejected, none crashes. */
TEST(decode_truncations)
{
	uint32_t v[300], got[300];
	fill(v, 300, 11, 2);
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, 300, 11);
	ASSERT_TRUE(b.len > 0);
	int wrong = 0;
	for (size_t cut = 0; cut < b.len; cut++) {
		uint8_t *copy = malloc(cut + 1); /* exact size so ASan sees overreads */
		memcpy(copy, b.p, cut);
		size_t used = 0;
		if (tpq_rle_decode(copy, cut, 11, got, 300, &used) != TPQ_ECORRUPT)
			wrong++;
		free(copy);
	}
	ASSERT_EQ(wrong, 0);
	size_t used = 0;
	ASSERT_EQ(tpq_rle_decode(b.p, b.len, 11, got, 300, &used), TPQ_OK);
	ASSERT_MEM_EQ(got, v, sizeof(v));
	tpq_buf_release(&b);
}

/* Random bytes never crash the decoder and never report more than len used. */
TEST(decode_random_bytes)
{
	uint8_t in[64];
	uint32_t out[200];
	int bad = 0;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = rnd() % sizeof(in);
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)rnd();
		int w = (int)(rnd() % 34);
		size_t n = rnd() % 200, used = 0;
		if (tpq_rle_decode(in, len, w, out, n, &used) == TPQ_OK) {
			if (used > len)
				bad++;
			for (size_t i = 0; i < n; i++)
				if (w < 32 && out[i] >> w)
					bad++;
		}
	}
	ASSERT_EQ(bad, 0);
}

/* Counts the RLE runs of a hybrid stream of n values (bit-packed runs are
 * skipped by their group count). */
static size_t rle_runs(const uint8_t *p, size_t len, int w)
{
	size_t i = 0, runs = 0;
	while (i < len) {
		uint32_t h = 0;
		for (int s = 0; i < len; s += 7) {
			h |= (uint32_t)(p[i] & 0x7f) << s;
			if (!(p[i++] & 0x80))
				break;
		}
		if (h & 1) {
			i += (h >> 1) * (size_t)w;
		} else {
			runs++;
			i += ((size_t)w + 7) / 8;
		}
	}
	return runs;
}

/* _runs: runs shorter than min_run stay bit-packed, a run reaching the end
 * is RLE anyway; the values decode the same. */
TEST(min_run)
{
	enum { N = 300 };
	uint32_t v[N], got[N];
	uint8_t v8[N];
	/* noise, 40 equal, noise, 100 equal, noise, then 24 equal to the end */
	for (int i = 0; i < N; i++)
		v[i] = (uint32_t)(i * 7 % 5);
	for (int i = 20; i < 60; i++)
		v[i] = 4;
	for (int i = 100; i < 200; i++)
		v[i] = 1;
	for (int i = N - 24; i < N; i++)
		v[i] = 3;
	for (int i = 0; i < N; i++)
		v8[i] = (uint8_t)v[i];
	struct {
		size_t min_run, want_runs, want_runs_u8;
	} cases[] = {{8, 3, 3}, {64, 2, 2}, {128, 1, 1}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tpq_buf b;
		tpq_buf_init(&b);
		tpq_rle_encode_runs(&b, v, N, 3, cases[k].min_run);
		ASSERT_EQ(rle_runs(b.p, b.len, 3), cases[k].want_runs);
		size_t used = 0;
		ASSERT_EQ(tpq_rle_decode(b.p, b.len, 3, got, N, &used), TPQ_OK);
		ASSERT_EQ(used, b.len);
		ASSERT_MEM_EQ(got, v, sizeof(v));

		tpq_buf_reset(&b);
		tpq_rle_encode_u8_runs(&b, v8, N, 3, cases[k].min_run);
		ASSERT_EQ(rle_runs(b.p, b.len, 3), cases[k].want_runs_u8);
		ASSERT_EQ(tpq_rle_decode(b.p, b.len, 3, got, N, &used), TPQ_OK);
		ASSERT_EQ(used, b.len);
		ASSERT_MEM_EQ(got, v, sizeof(v));
		tpq_buf_release(&b);
	}
}

int main(void)
{
	RUN(bit_width);
	RUN(spec_bitpack_example);
	RUN(rle_run_bytes);
	RUN(mixed_runs_bytes);
	RUN(levels_bytes);
	RUN(width_zero);
	RUN(roundtrip_all_widths);
	RUN(roundtrip_run_positions);
	RUN(sizes_are_compact);
	RUN(encoder_sticky_and_invalid);
	RUN(decode_rejects_malformed);
	RUN(decode_truncations);
	RUN(decode_random_bytes);
	RUN(min_run);
	return harness_done();
}
