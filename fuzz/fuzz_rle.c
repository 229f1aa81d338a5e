/* Fuzz target for the RLE / bit-packing hybrid.
 *
 * Input: byte 0 picks the bit width (0..33; 33 must be rejected), bytes 1-2
 * the value count n (< 4096), the rest is
 *   1. decoded as an encoding: must not crash, and on success must consume
 *      at most the input and give values that fit the width, which then
 *      re-encode and decode to the same values;
 *   2. read as a recipe for values (a byte with the top bit set repeats the
 *      previous value 1..64 times, other bytes start a new value mixed from
 *      the next bytes): encoded by both entry points, which must agree,
 *      then decoded, which must give the values back.
 * Any disagreement aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/rle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VALUES 65536

static uint32_t width_mask(int w)
{
	return w >= 32 ? UINT32_MAX : ((uint32_t)1 << w) - 1;
}

/* Encodes v[0..n) (and as uint8 when w <= 8), decodes, aborts on mismatch. */
static void roundtrip(const uint32_t *v, size_t n, int w)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_rle_encode(&b, v, n, w);
	if (tpq_buf_status(&b) != TPQ_OK)
		abort();
	uint32_t *got = malloc((n + 1) * sizeof(*got));
	size_t used = 0;
	if (w <= 8) {
		/* the levels encoder chooses its own runs: same values back */
		uint8_t *v8 = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			v8[i] = (uint8_t)v[i];
		struct tpq_buf b8;
		tpq_buf_init(&b8);
		tpq_rle_encode_u8(&b8, v8, n, w);
		if (tpq_buf_status(&b8) != TPQ_OK ||
		    tpq_rle_decode(b8.p, b8.len, w, got, n, &used) != TPQ_OK || used != b8.len ||
		    (n && memcmp(got, v, n * sizeof(*v)) != 0))
			abort();
		tpq_buf_release(&b8);
		free(v8);
	}
	if (tpq_rle_decode(b.p, b.len, w, got, n, &used) != TPQ_OK || used != b.len ||
	    (n && memcmp(got, v, n * sizeof(*v)) != 0))
		abort();
	free(got);
	tpq_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	int w = data[0] % 34;
	size_t n = (size_t)data[1] | (size_t)(data[2] & 0x0f) << 8;
	data += 3;
	size -= 3;

	/* 1. arbitrary bytes as an encoding */
	uint32_t *vals = malloc((n + 1) * sizeof(*vals));
	size_t used = 0;
	enum tpq_status st = tpq_rle_decode(data, size, w, vals, n, &used);
	if (st == TPQ_OK) {
		if (w > 32 || used > size)
			abort();
		for (size_t i = 0; i < n; i++)
			if (vals[i] & ~width_mask(w))
				abort();
		roundtrip(vals, n, w);
	} else if (st != TPQ_ECORRUPT) {
		abort();
	}
	free(vals);
	if (w > 32)
		return 0;

	/* 2. the bytes as a recipe for values */
	uint32_t *v = malloc(MAX_VALUES * sizeof(*v));
	uint32_t mask = width_mask(w), prev = 0;
	size_t m = 0;
	for (size_t i = 0; i < size && m < MAX_VALUES; i++) {
		if (data[i] & 0x80) {
			for (size_t k = 0; k <= (size_t)(data[i] & 0x3f) && m < MAX_VALUES; k++)
				v[m++] = prev;
		} else {
			uint32_t x = data[i];
			for (size_t k = 1; k < 4 && i + k < size; k++)
				x = x * 0x9e3779b1u + data[i + k];
			prev = (data[i] & 0x40 ? data[i] & 0x3f : x) & mask;
			v[m++] = prev;
		}
	}
	roundtrip(v, m, w);
	free(v);
	return 0;
}
