/* Tests for the codec layer: round trips of every codec over awkward sizes,
 * exact-size decompression, and gunzip of multi-member, truncated, corrupt,
 * lying and oversized inputs. zlib makes the gzip files whose headers we
 * need to control, so those do not come from the code under test. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "codec/codec.h"
#include "harness.h"

static const enum tpq_codec all_codecs[] = {TPQ_CODEC_UNCOMPRESSED, TPQ_CODEC_SNAPPY,
					    TPQ_CODEC_GZIP, TPQ_CODEC_ZSTD, TPQ_CODEC_LZ4_RAW};
#define N_CODECS (sizeof(all_codecs) / sizeof(all_codecs[0]))

static uint64_t rng_state = 0x853c49e6748fea9bu;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

static uint8_t *random_bytes(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
	return p;
}

/* JSON-ish text: compressible but not trivial. */
static uint8_t *texty_bytes(size_t n)
{
	static const char *words[] = {"{\"eventName\":", "\"GetObject\"", ",\"awsRegion\":",
				      "\"us-east-1\"", ",\"sourceIPAddress\":", "\"10.0.",
				      "\"userAgent\":\"aws-sdk\"", "},"};
	uint8_t *p = malloc(n ? n : 1);
	size_t i = 0;
	while (i < n) {
		const char *w = words[rnd() % 8];
		for (size_t k = 0; w[k] && i < n; k++)
			p[i++] = (uint8_t)w[k];
		if (i < n && rnd() % 4 == 0)
			p[i++] = (uint8_t)('0' + rnd() % 10);
	}
	return p;
}

/* A gzip member made by zlib, optionally with FNAME, FEXTRA and FHCRC. */
static void zlib_gzip(const void *src, size_t n, int fancy, struct tpq_buf *out)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	gz_header h;
	static unsigned char extra[] = {'A', 'B', 3, 0, 'x', 'y', 'z'};
	static char name[] = "events.json";
	memset(&h, 0, sizeof(h));
	if (fancy) {
		h.name = (Bytef *)name;
		h.extra = extra;
		h.extra_len = sizeof(extra);
		h.hcrc = 1;
		deflateSetHeader(&zs, &h);
	}
	size_t bound = deflateBound(&zs, (uLong)n) + 64;
	tpq_buf_reserve(out, bound);
	zs.next_in = (Bytef *)(uintptr_t)src;
	zs.avail_in = (uInt)n;
	zs.next_out = out->p + out->len;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		abort();
	out->len += zs.total_out;
	deflateEnd(&zs);
}

TEST(names)
{
	ASSERT_EQ(tpq_codec_from_name("zstd"), TPQ_CODEC_ZSTD);
	ASSERT_EQ(tpq_codec_from_name("ZSTD"), TPQ_CODEC_ZSTD);
	ASSERT_EQ(tpq_codec_from_name("snappy"), TPQ_CODEC_SNAPPY);
	ASSERT_EQ(tpq_codec_from_name("gzip"), TPQ_CODEC_GZIP);
	ASSERT_EQ(tpq_codec_from_name("lz4"), TPQ_CODEC_LZ4_RAW);
	ASSERT_EQ(tpq_codec_from_name("lz4_raw"), TPQ_CODEC_LZ4_RAW);
	ASSERT_EQ(tpq_codec_from_name("none"), TPQ_CODEC_UNCOMPRESSED);
	ASSERT_EQ(tpq_codec_from_name("uncompressed"), TPQ_CODEC_UNCOMPRESSED);
	ASSERT_EQ(tpq_codec_from_name("brotli"), -1);
	ASSERT_EQ(tpq_codec_from_name(""), -1);
	ASSERT_EQ(tpq_codec_from_name(NULL), -1);
	for (size_t i = 0; i < N_CODECS; i++) {
		ASSERT_TRUE(tpq_codec_supported(all_codecs[i]));
		ASSERT_EQ(tpq_codec_from_name(tpq_codec_name(all_codecs[i])), all_codecs[i]);
	}
	ASSERT_STR_EQ(tpq_codec_name(TPQ_CODEC_LZ4_RAW), "lz4_raw");
	ASSERT_STR_EQ(tpq_codec_name((enum tpq_codec)5), "unknown");
	ASSERT_TRUE(!tpq_codec_supported((enum tpq_codec)5));
}

/* Compresses after a 3-byte prefix (which must survive), decompresses into an
 * exact-size buffer with a guard byte, and tries dst_len +-1. */
static int roundtrip(struct tpq_codec_ctx *c, enum tpq_codec codec, int level,
		     const uint8_t *src, size_t n)
{
	int bad = 0;
	struct tpq_buf out;
	tpq_buf_init(&out);
	tpq_buf_put(&out, "pfx", 3);
	struct tpq_error err;
	tpq_error_clear(&err);
	if (tpq_codec_compress(c, codec, level, src, n, &out, &err) != TPQ_OK) {
		fprintf(stderr, "compress %s n=%zu: %s\n", tpq_codec_name(codec), n, err.msg);
		tpq_buf_release(&out);
		return 1;
	}
	bad += memcmp(out.p, "pfx", 3) != 0;
	const uint8_t *z = out.p + 3;
	size_t zn = out.len - 3;
	uint8_t *dst = malloc(n + 2);
	dst[n] = 0xa5;
	tpq_error_clear(&err);
	if (tpq_codec_decompress(c, codec, z, zn, dst, n, &err) != TPQ_OK) {
		fprintf(stderr, "decompress %s n=%zu: %s\n", tpq_codec_name(codec), n, err.msg);
		bad++;
	} else if ((n && memcmp(dst, src, n) != 0) || dst[n] != 0xa5) {
		bad++;
	}
	if (tpq_codec_decompress(c, codec, z, zn, dst, n + 1, NULL) != TPQ_ECORRUPT)
		bad++;
	if (n > 0 && tpq_codec_decompress(c, codec, z, zn, dst, n - 1, NULL) != TPQ_ECORRUPT)
		bad++;
	if (bad)
		fprintf(stderr, "round trip %s n=%zu failed\n", tpq_codec_name(codec), n);
	free(dst);
	tpq_buf_release(&out);
	return bad;
}

TEST(roundtrip_all_codecs)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	ASSERT_TRUE(c != NULL);
	uint8_t *rand_small = random_bytes(10000);
	uint8_t *rep = malloc(100000);
	memset(rep, 'x', 100000);
	uint8_t *mb = texty_bytes(1 << 20);
	int bad = 0;
	for (size_t i = 0; i < N_CODECS; i++) {
		enum tpq_codec k = all_codecs[i];
		bad += roundtrip(c, k, 0, NULL, 0);
		bad += roundtrip(c, k, 0, (const uint8_t *)"A", 1);
		bad += roundtrip(c, k, 0, rand_small, 10000);
		bad += roundtrip(c, k, 0, rep, 100000);
		bad += roundtrip(c, k, 0, mb, 1 << 20);
	}
	/* levels: the contexts are reused across level changes */
	bad += roundtrip(c, TPQ_CODEC_ZSTD, 1, mb, 50000);
	bad += roundtrip(c, TPQ_CODEC_ZSTD, 9, mb, 50000);
	bad += roundtrip(c, TPQ_CODEC_ZSTD, -5, mb, 50000);
	bad += roundtrip(c, TPQ_CODEC_GZIP, 1, mb, 50000);
	bad += roundtrip(c, TPQ_CODEC_GZIP, 12, mb, 50000);
	bad += roundtrip(c, TPQ_CODEC_GZIP, 6, mb, 50000);
	ASSERT_EQ(bad, 0);

	/* repetitive data actually shrinks */
	struct tpq_buf out;
	tpq_buf_init(&out);
	for (size_t i = 1; i < N_CODECS; i++) {
		tpq_buf_reset(&out);
		ASSERT_EQ(tpq_codec_compress(c, all_codecs[i], 0, rep, 100000, &out, NULL), TPQ_OK);
		ASSERT_TRUE(out.len < 5000);
	}
	tpq_buf_release(&out);
	free(rand_small);
	free(rep);
	free(mb);
	tpq_codec_ctx_free(c);
}

/* A context's output depends only on (codec, level, input): a context used
 * at other levels first (the page-fit levels 1..3 set parameters that level
 * 4 and up must not inherit) gives the bytes a new one gives. The writer's determinism across
 * threads rests on this, since workers share contexts across files. */
/* Level 0 is the default, level 1 (docs/cli.md says so): the same bytes. */
TEST(zstd_default_level_is_1)
{
	uint64_t saved = rng_state;
	uint8_t *text = texty_bytes(200000);
	rng_state = saved;
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	struct tpq_buf d, l1, l3;
	tpq_buf_init(&d);
	tpq_buf_init(&l1);
	tpq_buf_init(&l3);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 0, text, 200000, &d, NULL), TPQ_OK);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 1, text, 200000, &l1, NULL), TPQ_OK);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 3, text, 200000, &l3, NULL), TPQ_OK);
	ASSERT_EQ(d.len, l1.len);
	if (d.len == l1.len)
		ASSERT_MEM_EQ(d.p, l1.p, d.len);
	ASSERT_TRUE(d.len != l3.len || memcmp(d.p, l3.p, d.len) != 0);
	tpq_buf_release(&d);
	tpq_buf_release(&l1);
	tpq_buf_release(&l3);
	tpq_codec_ctx_free(c);
	free(text);
}

TEST(zstd_context_history)
{
	/* (rng_state restored: later tests' bit flips depend on the sequence) */
	uint64_t saved = rng_state;
	uint8_t *text = texty_bytes(300000);
	rng_state = saved;
	static const int levels[] = {0, 1, 3, 4};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct tpq_codec_ctx *fresh = tpq_codec_ctx_new(), *used = tpq_codec_ctx_new();
		struct tpq_buf a, b;
		tpq_buf_init(&a);
		tpq_buf_init(&b);
		ASSERT_EQ(tpq_codec_compress(fresh, TPQ_CODEC_ZSTD, levels[i], text, 300000, &a, NULL),
			  TPQ_OK);
		ASSERT_EQ(tpq_codec_compress(used, TPQ_CODEC_ZSTD, 1, text, 100000, &b, NULL), TPQ_OK);
		ASSERT_EQ(tpq_codec_compress(used, TPQ_CODEC_ZSTD, 19, text, 100000, &b, NULL), TPQ_OK);
		tpq_buf_reset(&b);
		ASSERT_EQ(tpq_codec_compress(used, TPQ_CODEC_ZSTD, levels[i], text, 300000, &b, NULL),
			  TPQ_OK);
		ASSERT_EQ(a.len, b.len);
		if (a.len == b.len)
			ASSERT_MEM_EQ(a.p, b.p, a.len);
		tpq_buf_release(&a);
		tpq_buf_release(&b);
		tpq_codec_ctx_free(fresh);
		tpq_codec_ctx_free(used);
	}
	free(text);
}

TEST(compress_errors)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	struct tpq_buf out;
	tpq_buf_init(&out);
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 13, "abc", 3, &out, &err), TPQ_EINVAL);
	ASSERT_EQ(err.status, TPQ_EINVAL);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 99, "abc", 3, &out, NULL), TPQ_EINVAL);
	ASSERT_EQ(tpq_codec_compress(c, (enum tpq_codec)5, 0, "abc", 3, &out, NULL),
		  TPQ_EUNSUPPORTED);
	ASSERT_EQ(out.len, 0);
	/* an output limit is reported, not overrun */
	out.limit = 10;
	uint8_t *r = random_bytes(1000);
	for (size_t i = 0; i < N_CODECS; i++) {
		tpq_buf_reset(&out);
		ASSERT_EQ(tpq_codec_compress(c, all_codecs[i], 0, r, 1000, &out, NULL), TPQ_ELIMIT);
		ASSERT_TRUE(out.len <= 10);
	}
	/* a buffer already in error stays so */
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 0, r, 1, &out, NULL), TPQ_ELIMIT);
	free(r);
	tpq_buf_release(&out);
	tpq_codec_ctx_free(c);
	tpq_codec_ctx_free(NULL);
}

/* Truncated and bit-flipped compressed pages never crash; truncation is
 * always an error. */
TEST(decompress_damaged)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	uint8_t *src = texty_bytes(20000);
	uint8_t *dst = malloc(20000);
	struct tpq_buf out;
	tpq_buf_init(&out);
	int bad = 0;
	for (size_t i = 1; i < N_CODECS; i++) {
		tpq_buf_reset(&out);
		ASSERT_EQ(tpq_codec_compress(c, all_codecs[i], 0, src, 20000, &out, NULL), TPQ_OK);
		for (size_t cut = 0; cut < out.len; cut += 1 + cut / 8) {
			uint8_t *copy = malloc(cut + 1);
			memcpy(copy, out.p, cut);
			if (tpq_codec_decompress(c, all_codecs[i], copy, cut, dst, 20000, NULL) !=
			    TPQ_ECORRUPT) {
				fprintf(stderr, "%s: cut at %zu accepted\n",
					tpq_codec_name(all_codecs[i]), cut);
				bad++;
			}
			free(copy);
		}
		for (int flip = 0; flip < 200; flip++) {
			uint8_t *copy = malloc(out.len);
			memcpy(copy, out.p, out.len);
			copy[rnd() % out.len] ^= (uint8_t)(1u << (rnd() % 8));
			tpq_codec_decompress(c, all_codecs[i], copy, out.len, dst, 20000, NULL);
			free(copy);
		}
	}
	ASSERT_EQ(bad, 0);
	/* the context still works after all those failures */
	tpq_buf_reset(&out);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_ZSTD, 0, src, 20000, &out, NULL), TPQ_OK);
	ASSERT_EQ(tpq_codec_decompress(c, TPQ_CODEC_ZSTD, out.p, out.len, dst, 20000, NULL),
		  TPQ_OK);
	ASSERT_MEM_EQ(dst, src, 20000);
	tpq_buf_release(&out);
	free(src);
	free(dst);
	tpq_codec_ctx_free(c);
}

/* A GZIP page made of two members (zlib-made, with header extras) decodes. */
TEST(gzip_page_two_members)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	struct tpq_buf z;
	tpq_buf_init(&z);
	zlib_gzip("hello, ", 7, 1, &z);
	zlib_gzip("world", 5, 0, &z);
	char dst[12];
	ASSERT_EQ(tpq_codec_decompress(c, TPQ_CODEC_GZIP, z.p, z.len, dst, 12, NULL), TPQ_OK);
	ASSERT_MEM_EQ(dst, "hello, world", 12);
	ASSERT_EQ(tpq_codec_decompress(c, TPQ_CODEC_GZIP, z.p, z.len, dst, 11, NULL),
		  TPQ_ECORRUPT);
	tpq_buf_release(&z);
	tpq_codec_ctx_free(c);
}

TEST(gunzip_members)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	uint8_t *a = texty_bytes(300000);
	struct tpq_buf z, out;
	tpq_buf_init(&z);
	tpq_buf_init(&out);
	struct tpq_error err;

	/* one member, from our own compressor */
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 0, a, 300000, &z, NULL), TPQ_OK);
	tpq_buf_put(&out, "stale", 5); /* replaced, not appended to */
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 30, &out, &err), TPQ_OK);
	ASSERT_EQ(out.len, 300000);
	ASSERT_MEM_EQ(out.p, a, 300000);

	/* four members: ours, zlib's with FNAME/FEXTRA/FHCRC, an empty one, a tiny
	 * last one whose ISIZE (7) is a poor hint for the whole */
	zlib_gzip(a + 100, 50000, 1, &z);
	zlib_gzip(NULL, 0, 0, &z);
	zlib_gzip("the end", 7, 0, &z);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 30, &out, &err), TPQ_OK);
	ASSERT_EQ(out.len, 350007);
	ASSERT_MEM_EQ(out.p, a, 300000);
	ASSERT_MEM_EQ(out.p + 300000, a + 100, 50000);
	ASSERT_MEM_EQ(out.p + 350000, "the end", 7);

	/* zero padding after the last member is ignored, other bytes are not */
	size_t full = z.len;
	static const uint8_t zeros[512] = {0};
	tpq_buf_put(&z, zeros, sizeof(zeros));
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 30, &out, NULL), TPQ_OK);
	ASSERT_EQ(out.len, 350007);
	z.p[full + 100] = 'x';
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 30, &out, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, (int64_t)full);
	ASSERT_TRUE(strstr(err.msg, "not gzip data (bad magic)") != NULL);

	tpq_buf_release(&z);
	tpq_buf_release(&out);
	free(a);
	tpq_codec_ctx_free(c);
}

TEST(gunzip_bad_magic_and_garbage)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	struct tpq_buf out;
	tpq_buf_init(&out);
	struct tpq_error err;
	static const char json[] = "{\"Records\":[]}";
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, json, sizeof(json) - 1, 1000, &out, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, 0);
	ASSERT_TRUE(strstr(err.msg, "not gzip data (bad magic)") != NULL);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, "", 0, 1000, &out, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(strstr(err.msg, "bad magic") != NULL);
	ASSERT_EQ(tpq_gunzip(c, "\x1f\x8c", 2, 1000, &out, NULL), TPQ_ECORRUPT);

	/* the magic followed by noise: corrupt or truncated, never OK, never a crash */
	int bad = 0;
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = 2 + rnd() % 200;
		uint8_t *g = random_bytes(n);
		g[0] = 0x1f;
		g[1] = 0x8b;
		if (n > 2 && iter % 2)
			g[2] = 8; /* a valid method gets past the header sometimes */
		if (n > 3 && iter % 4 == 1)
			g[3] = 0;
		tpq_error_clear(&err);
		enum tpq_status st = tpq_gunzip(c, g, n, 4096, &out, &err);
		if (st != TPQ_ECORRUPT || err.offset != 0 ||
		    (!strstr(err.msg, "corrupt gzip data") && !strstr(err.msg, "truncated gzip data")))
			bad++;
		free(g);
	}
	ASSERT_EQ(bad, 0);
	tpq_buf_release(&out);
	tpq_codec_ctx_free(c);
}

/* Cutting a member anywhere is an error that says "truncated"; cutting a
 * two-member file right after the first member is a valid shorter file. */
TEST(gunzip_truncated)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	uint8_t *a = texty_bytes(5000);
	struct tpq_buf z, out;
	tpq_buf_init(&z);
	tpq_buf_init(&out);
	zlib_gzip(a, 2000, 1, &z);
	size_t first = z.len;
	zlib_gzip(a + 2000, 3000, 0, &z);
	struct tpq_error err;
	int bad = 0;
	for (size_t cut = 1; cut < z.len; cut++) {
		uint8_t *copy = malloc(cut);
		memcpy(copy, z.p, cut);
		tpq_error_clear(&err);
		enum tpq_status st = tpq_gunzip(c, copy, cut, 1 << 20, &out, &err);
		if (cut == first) {
			if (st != TPQ_OK || out.len != 2000 || memcmp(out.p, a, 2000) != 0)
				bad++;
		} else {
			int64_t member = cut < first ? 0 : (int64_t)first;
			if (st != TPQ_ECORRUPT || err.offset != member ||
			    !strstr(err.msg, "truncated gzip data")) {
				if (bad < 5)
					fprintf(stderr, "cut %zu: st=%d offset=%lld msg=%s\n", cut,
						(int)st, (long long)err.offset, err.msg);
				bad++;
			}
		}
		free(copy);
	}
	ASSERT_EQ(bad, 0);
	tpq_buf_release(&z);
	tpq_buf_release(&out);
	free(a);
	tpq_codec_ctx_free(c);
}

TEST(gunzip_corrupt)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	uint8_t *a = texty_bytes(5000);
	struct tpq_buf z, out;
	tpq_buf_init(&z);
	tpq_buf_init(&out);
	zlib_gzip(a, 2000, 0, &z);
	size_t first = z.len;
	zlib_gzip(a + 2000, 3000, 0, &z);
	struct tpq_error err;

	/* CRC of the second member */
	z.p[z.len - 8] ^= 0x40;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 20, &out, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, (int64_t)first);
	ASSERT_TRUE(strstr(err.msg, "corrupt gzip data") != NULL);
	z.p[z.len - 8] ^= 0x40;

	/* a header CRC (FHCRC) that does not match the header: byte 21 is in FNAME */
	struct tpq_buf hc;
	tpq_buf_init(&hc);
	zlib_gzip(a, 100, 1, &hc);
	ASSERT_EQ(tpq_gunzip(c, hc.p, hc.len, 1 << 20, &out, NULL), TPQ_OK);
	ASSERT_EQ(hc.p[21], 'e');
	hc.p[21] = 'E';
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, hc.p, hc.len, 1 << 20, &out, &err), TPQ_ECORRUPT);
	ASSERT_TRUE(strstr(err.msg, "header crc mismatch") != NULL);
	tpq_buf_release(&hc);

	/* an ISIZE that lies about a single member is corrupt, whatever it claims */
	struct tpq_buf one;
	tpq_buf_init(&one);
	zlib_gzip(a, 2000, 0, &one);
	static const uint32_t lies[] = {1999, 2001, 0, 0xffffffffu, 2000 + (1u << 16)};
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		uint8_t *t = one.p + one.len - 4;
		t[0] = (uint8_t)lies[i];
		t[1] = (uint8_t)(lies[i] >> 8);
		t[2] = (uint8_t)(lies[i] >> 16);
		t[3] = (uint8_t)(lies[i] >> 24);
		tpq_error_clear(&err);
		ASSERT_EQ(tpq_gunzip(c, one.p, one.len, 1 << 20, &out, &err), TPQ_ECORRUPT);
		ASSERT_TRUE(strstr(err.msg, "corrupt gzip data") != NULL);
		ASSERT_EQ(err.offset, 0);
	}
	tpq_buf_release(&one);

	/* a flipped bit in the deflate body */
	int bad = 0;
	for (int iter = 0; iter < 300; iter++) {
		size_t at = 10 + rnd() % (first - 18);
		uint8_t bit = (uint8_t)(1u << (rnd() % 8));
		z.p[at] ^= bit;
		tpq_error_clear(&err);
		enum tpq_status st = tpq_gunzip(c, z.p, z.len, 1 << 20, &out, &err);
		if (st == TPQ_OK || (st == TPQ_ECORRUPT && err.offset != 0))
			bad++;
		z.p[at] ^= bit;
	}
	ASSERT_EQ(bad, 0);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1 << 20, &out, NULL), TPQ_OK);
	ASSERT_MEM_EQ(out.p, a, 5000);
	tpq_buf_release(&z);
	tpq_buf_release(&out);
	free(a);
	tpq_codec_ctx_free(c);
}

TEST(gunzip_limit)
{
	struct tpq_codec_ctx *c = tpq_codec_ctx_new();
	enum { N = 1 << 20 };
	uint8_t *zeros = calloc(1, N);
	struct tpq_buf z, out;
	tpq_buf_init(&z);
	tpq_buf_init(&out);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 0, zeros, N, &z, NULL), TPQ_OK);
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 1000, &out, &err), TPQ_ELIMIT);
	ASSERT_EQ(err.offset, 0);
	ASSERT_TRUE(out.cap <= 1 << 16); /* the limit bounds the allocation too */
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, N - 1, &out, NULL), TPQ_ELIMIT);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, N, &out, NULL), TPQ_OK);
	ASSERT_EQ(out.len, N);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 0, &out, NULL), TPQ_ELIMIT);

	/* two members that fit alone but not together: the second one fails */
	size_t first = z.len;
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 0, zeros, N, &z, NULL), TPQ_OK);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, N + N / 2, &out, &err), TPQ_ELIMIT);
	ASSERT_EQ(err.offset, (int64_t)first);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 2 * N, &out, NULL), TPQ_OK);
	ASSERT_EQ(out.len, 2 * N);

	/* an empty member fits in max_out 0 */
	tpq_buf_reset(&z);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 0, NULL, 0, &z, NULL), TPQ_OK);
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, 0, &out, NULL), TPQ_OK);
	ASSERT_EQ(out.len, 0);

	/* the output buffer's own limit */
	tpq_buf_reset(&z);
	ASSERT_EQ(tpq_codec_compress(c, TPQ_CODEC_GZIP, 0, zeros, N, &z, NULL), TPQ_OK);
	struct tpq_buf small;
	tpq_buf_init(&small);
	small.limit = 4096;
	ASSERT_EQ(tpq_gunzip(c, z.p, z.len, N, &small, NULL), TPQ_ELIMIT);
	tpq_buf_release(&small);
	tpq_buf_release(&z);
	tpq_buf_release(&out);
	free(zeros);
	tpq_codec_ctx_free(c);
}

int main(void)
{
	RUN(names);
	RUN(roundtrip_all_codecs);
	RUN(zstd_default_level_is_1);
	RUN(zstd_context_history);
	RUN(compress_errors);
	RUN(decompress_damaged);
	RUN(gzip_page_two_members);
	RUN(gunzip_members);
	RUN(gunzip_bad_magic_and_garbage);
	RUN(gunzip_truncated);
	RUN(gunzip_corrupt);
	RUN(gunzip_limit);
	return harness_done();
}
