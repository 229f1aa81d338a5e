/* Micro benchmark of the RLE / bit-packing hybrid encoder (not a test).
 *
 *   cc -std=c17 -O2 -D_GNU_SOURCE -Iinclude -Isrc bench/bench_rle.c \
 *      src/parquet/rle.c src/util/buf.c src/util/error.c -o /tmp/bench_rle
 *   /tmp/bench_rle [n_values]          (default 100M)
 *
 * Encodes n values of several shapes (definition levels of a mostly-present
 * column, noisy levels, dictionary indices at 10 and 17 bits, runs) and
 * prints input MB/s (bytes of the uint8/uint32 input) and values/s, plus the
 * decoder's speed on the same bytes. The output buffer is reused across
 * repetitions, as the page writer does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parquet/rle.h"

int main(int argc, char **argv);

static uint64_t rng = 88172645463325252u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t *decoded;

static void report(const char *name, size_t n, size_t in_bytes, int w, const void *vals, int u8)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	double best = 1e30;
	for (int rep = 0; rep < 3; rep++) {
		tpq_buf_reset(&b);
		double t0 = now();
		if (u8)
			tpq_rle_encode_u8(&b, vals, n, w);
		else
			tpq_rle_encode(&b, vals, n, w);
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	if (tpq_buf_status(&b) != TPQ_OK) {
		fprintf(stderr, "%s: encoder failed\n", name);
		exit(1);
	}
	double t0 = now();
	size_t used = 0;
	enum tpq_status st = tpq_rle_decode(b.p, b.len, w, decoded, n, &used);
	double td = now() - t0;
	int ok = st == TPQ_OK && used == b.len;
	for (size_t i = 0; ok && i < n; i++)
		ok = decoded[i] == (u8 ? ((const uint8_t *)vals)[i] : ((const uint32_t *)vals)[i]);
	printf("%-28s w=%2d  encode %8.1f MB/s %7.1f Mvalues/s  decode %7.1f Mvalues/s  "
	       "out %6.2f%% %s\n",
	       name, w, (double)in_bytes / best / 1e6, (double)n / best / 1e6, (double)n / td / 1e6,
	       100.0 * (double)b.len / (double)in_bytes, ok ? "" : "MISMATCH");
	tpq_buf_release(&b);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000u;
	uint8_t *lv = malloc(n);
	uint32_t *ix = malloc(n * sizeof(*ix));
	decoded = malloc(n * sizeof(*decoded));
	if (!lv || !ix || !decoded) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	memset(decoded, 0, n * sizeof(*decoded)); /* fault the pages in outside the timings */

	for (size_t i = 0; i < n; i++)
		lv[i] = rnd() % 64 != 0; /* ~1.5% nulls */
	report("def levels, 1.5% null", n, n, 1, lv, 1);

	for (size_t i = 0; i < n; i++)
		lv[i] = (uint8_t)(rnd() & 3);
	report("levels, noise 0..3", n, n, 2, lv, 1);

	memset(lv, 1, n);
	report("levels, all 1", n, n, 1, lv, 1);

	/* CloudTrail's optional fields come and go with the event type: runs
	 * of 1..4 rows (about 5,500 changes in 11,201 rows for many columns) */
	for (size_t i = 0; i < n;) {
		uint8_t v = (uint8_t)(rnd() & 1);
		for (uint32_t k = 0, len = 1 + rnd() % 4; k < len && i < n; k++)
			lv[i++] = v;
	}
	report("levels, runs 1..4 of 0..1", n, n, 1, lv, 1);
	for (size_t i = 0; i < n;) {
		uint8_t v = (uint8_t)(rnd() % 3);
		for (uint32_t k = 0, len = 1 + rnd() % 4; k < len && i < n; k++)
			lv[i++] = v;
	}
	report("levels, runs 1..4 of 0..2", n, n, 2, lv, 1);

	for (size_t i = 0; i < n; i++)
		ix[i] = rnd() % 1000;
	report("dict idx, noise < 1000", n, n * 4, 10, ix, 0);

	for (size_t i = 0; i < n; i++)
		ix[i] = rnd() % 100000;
	report("dict idx, noise < 100000", n, n * 4, 17, ix, 0);

	for (size_t i = 0; i < n;) {
		uint32_t v = rnd() % 1000, len = 1 + rnd() % 16;
		for (uint32_t k = 0; k < len && i < n; k++)
			ix[i++] = v;
	}
	report("dict idx, runs 1..16", n, n * 4, 10, ix, 0);

	free(lv);
	free(ix);
	free(decoded);
	return 0;
}
