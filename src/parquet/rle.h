/* The RLE / bit-packing hybrid of Parquet's Encodings.md, used for definition
 * and repetition levels and for dictionary indices.
 *
 *   rle-bit-packed-hybrid: <length> <encoded-data>   (length only for levels in data page v1)
 *   encoded-data := <run>*
 *   run := <bit-packed-run> | <rle-run>
 *   bit-packed-run := <varint (n_groups << 1 | 1)> <n_groups * 8 values, bit_width bits each, LSB first>
 *   rle-run := <varint (count << 1)> <value in ceil(bit_width / 8) bytes, little-endian>
 *
 * The encoder chooses runs so that repeated values (>= 8 in a row) become RLE
 * runs and the rest bit-packed groups of 8. Bit widths 0..32. The uint8
 * encoder (levels) looks for runs only at group boundaries and keeps short
 * ones packed, so its bytes may differ from the uint32 encoder's. */
#ifndef TPQ_PARQUET_RLE_H
#define TPQ_PARQUET_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

/* Number of bits needed for values 0..max_value (0 for max_value 0). */
int tpq_bit_width(uint32_t max_value);

/* Appends the hybrid encoding of values[0..n) (each < 2^bit_width) to out,
 * without any length prefix. Errors are sticky in `out`. */
void tpq_rle_encode(struct tpq_buf *out, const uint32_t *values, size_t n, int bit_width);

/* Same, for 8-bit values (definition/repetition levels), choosing runs its
 * own way (see above): same values after decoding, not the same bytes. */
void tpq_rle_encode_u8(struct tpq_buf *out, const uint8_t *values, size_t n, int bit_width);

/* The same encodings with RLE runs only from min_run equal values on
 * (tpq_rle_encode: 8, at least 8 is used; tpq_rle_encode_u8: whatever saves
 * bytes, min_run 0), except that a run reaching the end is RLE whatever its
 * length. Page bytes go through a general compressor, which does better
 * with long bit-packed runs than with short runs between them: on a
 * CloudTrail lake, data pages of dictionary columns were 1.6% smaller
 * compressed with levels' runs of 64+ and 0.7% with indices' runs of 64+,
 * though larger before compression. */
void tpq_rle_encode_runs(struct tpq_buf *out, const uint32_t *values, size_t n, int bit_width,
			 size_t min_run);
void tpq_rle_encode_u8_runs(struct tpq_buf *out, const uint8_t *values, size_t n, int bit_width,
			    size_t min_run);

/* Decodes exactly n values from p[0..len) into values. Sets *used to the bytes
 * consumed (a final bit-packed group may hold padding values past n; the whole
 * group counts as used). Returns TPQ_ECORRUPT if the input ends early, a run
 * header is malformed, or bit_width is not in 0..32. */
enum tpq_status tpq_rle_decode(const uint8_t *p, size_t len, int bit_width,
			       uint32_t *values, size_t n, size_t *used);

#endif
