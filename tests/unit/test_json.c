/* The JSON scanner: strict validation with exact error offsets, UTF-8,
 * escapes, nesting limits, padding that is never trusted, the hash, and
 * both block-scan implementations (every test runs under each). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json/hash.h"
#include "json/scan.h"
#include "util/error.h"

int main(void);

/* Padding fill: the scanner must never take these bytes for content. */
static int g_fill = '"';

/* Validates n bytes of s in a fresh buffer followed by TPQ_JSON_PAD bytes of g_fill. */
static enum tpq_status vn(const char *s, size_t n, struct tpq_error *err)
{
	uint8_t *b = malloc(n + TPQ_JSON_PAD);
	memcpy(b, s, n);
	memset(b + n, g_fill, TPQ_JSON_PAD);
	tpq_error_clear(err);
	enum tpq_status st = tpq_json_validate(b, n, err);
	free(b);
	return st;
}

static enum tpq_status v(const char *s, struct tpq_error *err)
{
	return vn(s, strlen(s), err);
}

static void ok(const char *s)
{
	struct tpq_error e;
	enum tpq_status st = v(s, &e);
	if (st != TPQ_OK)
		fprintf(stderr, "expected valid: %s (%s at %lld)\n", s, e.msg, (long long)e.offset);
	ASSERT_EQ(st, TPQ_OK);
}

static void bad_n(const char *s, size_t n, int64_t off, const char *msg)
{
	struct tpq_error e;
	enum tpq_status st = vn(s, n, &e);
	ASSERT_EQ(st, TPQ_ECORRUPT);
	ASSERT_EQ(e.offset, off);
	ASSERT_STR_EQ(e.msg, msg);
	ASSERT_EQ(e.record, -1);
	if (e.offset != off || strcmp(e.msg, msg) != 0)
		fprintf(stderr, "  input: %.*s\n", (int)n, s);
}

static void bad(const char *s, int64_t off, const char *msg)
{
	bad_n(s, strlen(s), off, msg);
}

static const char EOFM[] = "invalid JSON: unexpected end of input";

TEST(valid_documents)
{
	ok("{}");
	ok("[]");
	ok("0");
	ok("-0");
	ok("-0.0e-0");
	ok("1.5E+10");
	ok("123456789012345678901234567890");
	ok("\"\"");
	ok("\"a\"");
	ok("true");
	ok("false");
	ok(" null ");
	ok("{\"a\":[1,{\"b\":null},\"c\",true,false,-1.25e3]}");
	ok(" \t\n\r{ \"a\" \t:\n 1 \r, \"b\" : [ ] , \"c\" : { } } \n");
	ok("[[[[[]]]],[{}]]");
	ok("{\"a\":1,\"a\":2}"); /* duplicate keys are valid JSON */
	ok("{\"\":\"\"}");
}

TEST(escapes)
{
	ok("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\uFFFF \\ud83d\\ude00\"");
	ok("\"\\ud800\""); /* a lone surrogate escape is valid syntax */
	ok("\"\\udc00\\ud800\"");
	bad("\"\\x\"", 1, "invalid JSON: invalid escape");
	bad("\"ab\\'\"", 3, "invalid JSON: invalid escape");
	bad("\"\\u12G4\"", 1, "invalid JSON: invalid escape");
	bad("\"\\u12\"", 1, "invalid JSON: invalid escape");
	bad("\"\\u12", 5, "invalid JSON: unterminated string");
	bad("\"\\", 2, "invalid JSON: unterminated string");
	bad("\"\\U0041\"", 1, "invalid JSON: invalid escape");
}

TEST(syntax_errors)
{
	bad("", 0, EOFM);
	bad("   ", 3, EOFM);
	bad("{", 1, EOFM);
	bad("{\"a\"", 4, EOFM);
	bad("{\"a\":", 5, EOFM);
	bad("[1,", 3, EOFM);
	bad("{\"a\":1,}", 7, "invalid JSON: expected a string key");
	bad("{,}", 1, "invalid JSON: expected a string key");
	bad("{a:1}", 1, "invalid JSON: expected a string key");
	bad("[1,]", 3, "invalid JSON: expected a value");
	bad("[,1]", 1, "invalid JSON: expected a value");
	bad("[1 2]", 3, "invalid JSON: expected ',' or ']'");
	bad("{\"a\" 1}", 5, "invalid JSON: expected ':'");
	bad("{\"a\":1 \"b\":2}", 7, "invalid JSON: expected ',' or '}'");
	bad("{\"a\":1]", 6, "invalid JSON: expected ',' or '}'");
	bad("[1}", 2, "invalid JSON: expected ',' or ']'");
	bad("[}", 1, "invalid JSON: expected a value");
	bad("{} x", 3, "invalid JSON: trailing characters after the document");
	bad("{}{}", 2, "invalid JSON: trailing characters after the document");
	bad("1 2", 2, "invalid JSON: trailing characters after the document");
	bad("// c\n{}", 0, "invalid JSON: expected a value");
	bad("{/* c */}", 1, "invalid JSON: expected a string key");
	bad("'a'", 0, "invalid JSON: expected a value");
	bad("\xEF\xBB\xBF{}", 0, "invalid JSON: expected a value"); /* no BOM */
	bad("\xC3\xA9", 0, "invalid JSON: expected a value");
}

TEST(numbers_and_literals)
{
	bad("01", 1, "invalid JSON: leading zero in number");
	bad("-01", 2, "invalid JSON: leading zero in number");
	bad("[00]", 2, "invalid JSON: leading zero in number");
	bad("-", 1, EOFM);
	bad("1.", 2, EOFM);
	bad("1.e5", 2, "invalid JSON: invalid number");
	bad(".5", 0, "invalid JSON: expected a value");
	bad("1e", 2, EOFM);
	bad("1e+", 3, EOFM);
	bad("[1e+]", 4, "invalid JSON: invalid number");
	bad("--1", 1, "invalid JSON: invalid number");
	bad("-a", 1, "invalid JSON: invalid number");
	bad("+1", 0, "invalid JSON: expected a value");
	bad("NaN", 0, "invalid JSON: expected a value");
	bad("[Infinity]", 1, "invalid JSON: expected a value");
	bad("[-Infinity]", 2, "invalid JSON: invalid number");
	bad("0x10", 1, "invalid JSON: trailing characters after the document");
	bad("tru", 3, EOFM);
	bad("[tru]", 1, "invalid JSON: invalid literal");
	bad("trux", 0, "invalid JSON: invalid literal");
	bad("nul", 3, EOFM);
	bad("True", 0, "invalid JSON: expected a value");
	bad("nulll", 4, "invalid JSON: trailing characters after the document");
	bad("[fals]", 1, "invalid JSON: invalid literal");
}

TEST(strings_and_control_bytes)
{
	bad("\"a\x01" "b\"", 2, "invalid JSON: control character in string");
	bad("\"\t\"", 1, "invalid JSON: control character in string");
	bad("\"a\nb\"", 2, "invalid JSON: control character in string");
	bad_n("\"a\0b\"", 5, 2, "invalid JSON: control character in string");
	bad("\"abc", 4, "invalid JSON: unterminated string");
	bad("{\"abc", 5, "invalid JSON: unterminated string");
	ok("\"\x7f\"");
}

TEST(utf8)
{
	ok("\"\xC2\x80 \xDF\xBF \xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80 \xEF\xBF\xBF\"");
	ok("\"\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF \xF3\xBF\xBF\xBF\"");
	ok("\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"");
	bad("\"\xC0\x80\"", 1, "invalid UTF-8");         /* overlong NUL */
	bad("\"\xC1\xBF\"", 1, "invalid UTF-8");         /* overlong */
	bad("\"\xE0\x80\x80\"", 1, "invalid UTF-8");     /* overlong 3 */
	bad("\"\xE0\x9F\xBF\"", 1, "invalid UTF-8");     /* overlong 3 */
	bad("\"\xF0\x8F\xBF\xBF\"", 1, "invalid UTF-8"); /* overlong 4 */
	bad("\"\xED\xA0\x80\"", 1, "invalid UTF-8");     /* U+D800 */
	bad("\"\xED\xBF\xBF\"", 1, "invalid UTF-8");     /* U+DFFF */
	bad("\"\xF4\x90\x80\x80\"", 1, "invalid UTF-8"); /* U+110000 */
	bad("\"\xF5\x80\x80\x80\"", 1, "invalid UTF-8");
	bad("\"\xFF\"", 1, "invalid UTF-8");
	bad("\"ab\x80\"", 3, "invalid UTF-8");           /* lone continuation */
	bad("\"\xC3\"", 1, "invalid UTF-8");             /* cut by the quote */
	bad("\"\xE2\x82\"", 1, "invalid UTF-8");
	bad("\"\xE2\x82", 1, "invalid UTF-8");           /* cut by the end */
	bad("\"\xC3\xA9\xC3(\"", 3, "invalid UTF-8");
	bad("{\"k\xF0\x9F\x98\":1}", 3, "invalid UTF-8"); /* in a key */
}

/* Strings of every length, with a special byte at every position, so each
 * block-scan boundary is crossed. */
TEST(block_boundaries)
{
	char s[200];
	for (size_t n = 0; n < 80; n++) {
		s[0] = '"';
		for (size_t i = 0; i < n; i++)
			s[1 + i] = (char)('a' + i % 26);
		s[1 + n] = '"';
		s[2 + n] = '\0';
		ok(s);
		/* unterminated: the padding is full of quotes */
		bad_n(s, n + 1, (int64_t)n + 1, "invalid JSON: unterminated string");
		for (size_t k = 0; k < n; k++) {
			char c = s[1 + k];
			s[1 + k] = 0x1f;
			bad(s, (int64_t)k + 1, "invalid JSON: control character in string");
			s[1 + k] = '\\';
			if (k + 1 < n) {
				s[2 + k] = 'n';
				ok(s);
				s[2 + k] = (char)('a' + (k + 1) % 26);
			}
			s[1 + k] = (char)0xff;
			bad(s, (int64_t)k + 1, "invalid UTF-8");
			s[1 + k] = c;
		}
	}
}

TEST(padding_is_never_trusted)
{
	/* documents that would parse differently if the padding were read as data */
	bad("[1", 2, EOFM);
	bad("{\"a\":tru", 8, EOFM);
	bad("[  ", 3, EOFM);
	bad("\"abc\\", 5, "invalid JSON: unterminated string");
	bad("12e", 3, EOFM);
}

TEST(nesting)
{
	size_t n = 100000;
	char *s = malloc(2 * n + 1);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	struct tpq_error e;
	ASSERT_EQ(v(s, &e), TPQ_ELIMIT);
	ASSERT_EQ(e.offset, TPQ_JSON_MAX_DEPTH);
	ASSERT_STR_EQ(e.msg, "nesting deeper than 10000 levels");
	/* exactly the limit is fine */
	size_t m = TPQ_JSON_MAX_DEPTH;
	memset(s, '[', m);
	memset(s + m, ']', m);
	s[2 * m] = '\0';
	ASSERT_EQ(v(s, &e), TPQ_OK);
	/* objects */
	size_t k = 0;
	for (size_t i = 0; i < 12000; i++) {
		memcpy(s + k, "{\"a\":", 5);
		k += 5;
	}
	s[k] = '\0';
	ASSERT_EQ(v(s, &e), TPQ_ELIMIT);
	ASSERT_EQ(e.offset, (int64_t)TPQ_JSON_MAX_DEPTH * 5);
	/* 1,000 deep, mixed, valid */
	k = 0;
	for (size_t i = 0; i < 1000; i++) {
		memcpy(s + k, i % 2 ? "[" : "{\"k\":", i % 2 ? 1 : 5);
		k += i % 2 ? 1 : 5;
	}
	for (size_t i = 1000; i-- > 0;)
		s[k++] = i % 2 ? ']' : '}';
	s[k] = '\0';
	ASSERT_EQ(v(s, &e), TPQ_OK);
	/* unbalanced at depth */
	s[k - 1] = ']';
	ASSERT_EQ(v(s, &e), TPQ_ECORRUPT);
	ASSERT_EQ(e.offset, (int64_t)k - 1);
	free(s);
}

TEST(big_string)
{
	size_t n = 100 * 1024;
	char *s = malloc(n + 16);
	s[0] = '"';
	for (size_t i = 1; i < n; i++)
		s[i] = (char)(i % 100 == 0 ? ' ' : 'a' + i % 26);
	s[n] = '"';
	s[n + 1] = '\0';
	ok(s);
	s[n - 7] = '\n';
	bad(s, (int64_t)n - 7, "invalid JSON: control character in string");
	free(s);
}

static size_t unesc(const char *in, uint8_t *out, bool *lone)
{
	*lone = false;
	return tpq_json_unescape((const uint8_t *)in, strlen(in), out, lone);
}

TEST(unescape)
{
	uint8_t out[64];
	bool lone;
	size_t n = unesc("a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti", out, &lone);
	ASSERT_EQ(n, 17);
	ASSERT_MEM_EQ(out, "a\"b\\c/d\be\ff\ng\rh\ti", 17);
	ASSERT_TRUE(!lone);
	n = unesc("\\u0041\\u00e9\\u20AC\\ud83d\\ude00", out, &lone);
	ASSERT_EQ(n, 1 + 2 + 3 + 4);
	ASSERT_MEM_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10);
	ASSERT_TRUE(!lone);
	n = unesc("\\u0000", out, &lone);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(out[0], 0);
	n = unesc("x\\ud800y", out, &lone);
	ASSERT_TRUE(lone);
	ASSERT_EQ(n, 5);
	ASSERT_MEM_EQ(out, "x\xED\xA0\x80y", 5);
	n = unesc("\\udc00", out, &lone);
	ASSERT_TRUE(lone);
	n = unesc("\\ud800\\u0041", out, &lone); /* high surrogate then a non-low escape */
	ASSERT_TRUE(lone);
	ASSERT_EQ(n, 4);
	n = unesc("\\uDBFF\\uDFFF", out, &lone); /* U+10FFFF */
	ASSERT_TRUE(!lone);
	ASSERT_MEM_EQ(out, "\xF4\x8F\xBF\xBF", 4);
	n = unesc("plain", out, &lone);
	ASSERT_EQ(n, 5);
}

TEST(hash)
{
	const char *a = "{\"a\":[1,2,{\"b\":\"x y\"}],\"c\":null}";
	uint64_t h1[2], h2[2], h3[2];
	tpq_hash128(a, strlen(a), h1);
	/* streaming with every split point gives the same value */
	for (size_t cut = 0; cut <= strlen(a); cut++) {
		struct tpq_hash128 h;
		tpq_hash128_init(&h);
		tpq_hash128_update(&h, a, cut);
		tpq_hash128_update(&h, a + cut, strlen(a) - cut);
		tpq_hash128_final(&h, h2);
		ASSERT_U64_EQ(h2[0], h1[0]);
		ASSERT_U64_EQ(h2[1], h1[1]);
	}
	/* byte-at-a-time */
	struct tpq_hash128 h;
	tpq_hash128_init(&h);
	for (size_t i = 0; a[i]; i++)
		tpq_hash128_update(&h, a + i, 1);
	tpq_hash128_final(&h, h2);
	ASSERT_U64_EQ(h2[0], h1[0]);
	/* every single-byte change and every length differs */
	char buf[128];
	size_t n = strlen(a);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf, a, n);
		for (int d = 1; d < 256; d += 37) {
			buf[i] = (char)(a[i] + d);
			tpq_hash128(buf, n, h3);
			ASSERT_TRUE(h3[0] != h1[0] && h3[1] != h1[1]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		tpq_hash128(a, i, h3);
		ASSERT_TRUE(h3[0] != h1[0] && h3[1] != h1[1]);
	}
	uint8_t z[32] = {0};
	tpq_hash128(z, 16, h2);
	tpq_hash128(z, 17, h3);
	ASSERT_TRUE(h2[0] != h3[0] && h2[1] != h3[1]);
	tpq_hash128(z, 0, h2);
	tpq_hash128(z, 1, h3);
	ASSERT_TRUE(h2[0] != h3[0] && h2[1] != h3[1]);
	/* pinned: the value is part of the lake's dedup state, so it must not drift */
	tpq_hash128("abc", 3, h2);
	ASSERT_U64_EQ(h2[0], UINT64_C(0x2ca11d4007323f57));
	ASSERT_U64_EQ(h2[1], UINT64_C(0x82b7b5871d379cf8));
	tpq_hash128("", 0, h2);
	ASSERT_U64_EQ(h2[0], UINT64_C(0x6f827ddb9737c0a9));
	ASSERT_U64_EQ(h2[1], UINT64_C(0xd55ef799900b0cf5));
}

TEST(impl_selection)
{
	enum tpq_json_impl prev = tpq_json_get_impl();
	ASSERT_EQ(tpq_json_set_impl(TPQ_JSON_IMPL_SCALAR), TPQ_JSON_IMPL_SCALAR);
	ASSERT_EQ(tpq_json_get_impl(), TPQ_JSON_IMPL_SCALAR);
	enum tpq_json_impl a = tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	ASSERT_TRUE(a == TPQ_JSON_IMPL_SCALAR || a == TPQ_JSON_IMPL_SSE2);
	tpq_json_set_impl(prev);
	ASSERT_TRUE(strlen(tpq_json_impl_name(a)) > 0);
}

static void run_all(void)
{
	RUN(valid_documents);
	RUN(escapes);
	RUN(syntax_errors);
	RUN(numbers_and_literals);
	RUN(strings_and_control_bytes);
	RUN(utf8);
	RUN(block_boundaries);
	RUN(padding_is_never_trusted);
	RUN(nesting);
	RUN(big_string);
}

int main(void)
{
	const enum tpq_json_impl impls[] = {TPQ_JSON_IMPL_SCALAR, TPQ_JSON_IMPL_SSE2};
	const int fills[] = {'"', ' ', 0, ']'};
	for (size_t i = 0; i < 2; i++) {
		if (tpq_json_set_impl(impls[i]) != impls[i])
			continue; /* SSE2 not built */
		for (size_t f = 0; f < 4; f++) {
			g_fill = fills[f];
			run_all();
		}
	}
	tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	RUN(unescape);
	RUN(hash);
	RUN(impl_selection);
	return harness_done();
}
