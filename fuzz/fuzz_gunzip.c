/* Fuzz target for tpq_gunzip.
 *
 * Byte 0 chooses the mode: bit 0 prepends a minimal valid gzip header (so the
 * fuzzer reaches the DEFLATE body at once), bits 1-2 pick max_out from
 * {0, 64, 4096, 1 MiB}. The rest is the file. tpq_gunzip must not crash or
 * leak, must return OK, ECORRUPT or ELIMIT, and on OK its output must fit
 * max_out and equal what zlib inflates from the same members. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "codec/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* zlib's reading of the same file: member after member, zero padding ends it.
 * Returns the output length, or (size_t)-1 if zlib rejects the file. */
static size_t zlib_gunzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t pos = 0, len = 0;
	while (pos < n) {
		int zeros = pos > 0;
		for (size_t i = pos; zeros && i < n; i++)
			zeros = in[i] == 0;
		if (zeros)
			break;
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
			abort();
		zs.next_in = (Bytef *)(uintptr_t)(in + pos);
		zs.avail_in = (uInt)(n - pos);
		zs.next_out = out + len;
		zs.avail_out = (uInt)(cap - len);
		int r = inflate(&zs, Z_FINISH);
		size_t in_used = zs.total_in, got = zs.total_out;
		inflateEnd(&zs);
		if (r != Z_STREAM_END)
			return (size_t)-1;
		pos += in_used;
		len += got;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
	static const size_t limits[4] = {0, 64, 4096, 1 << 20};
	if (size < 1 || size > (1 << 20))
		return 0;
	int mode = data[0];
	data++;
	size--;
	size_t max_out = limits[(mode >> 1) & 3];
	uint8_t *in = malloc(size + sizeof(header));
	size_t n = 0;
	if (mode & 1) {
		memcpy(in, header, sizeof(header));
		n = sizeof(header);
	}
	if (size)
		memcpy(in + n, data, size);
	n += size;

	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	if (!c)
		abort();
	struct tpq_buf out;
	tpq_buf_init(&out);
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_gunzip(c, in, n, max_out, &out, &err);
	if (st != TPQ_OK && st != TPQ_ECORRUPT && st != TPQ_ELIMIT)
		abort();
	if (st != TPQ_OK && (err.status != st || err.offset < 0 || (size_t)err.offset >= n + 1))
		abort();
	if (st == TPQ_OK) {
		if (out.len > max_out)
			abort();
		uint8_t *ref = malloc(max_out + 1);
		size_t ref_len = zlib_gunzip(in, n, ref, max_out + 1);
		if (ref_len != out.len || (out.len && memcmp(ref, out.p, out.len) != 0))
			abort();
		free(ref);
	}
	tpq_buf_release(&out);
	tpq_codec_ctx_free(c);
	free(in);
	return 0;
}
