/* Inline byte-scanning helpers shared by the JSON scanner (scan.c) and the
 * CloudTrail shredder (cloudtrail/shred.c). Module-internal: not a contract
 * for other modules.
 *
 * Every scanning helper is handed a pointer p < end and may read up to 15
 * bytes past `end`, which the callers' buffers guarantee (TPQ_JSON_PAD). The
 * padding's content is never trusted: every hit is checked against `end`.
 *
 * Two implementations of each block scan: SWAR over 8-byte words (portable,
 * always built and tested) and SSE2 over 16-byte vectors (x86_64 baseline).
 * The SWAR tests only answer "is there a special byte in this word" (the
 * classic zero-byte tests are exact for that question); a table then finds
 * which byte, so the result never depends on endianness. */
#ifndef TPQ_JSON_SCAN_INL_H
#define TPQ_JSON_SCAN_INL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define TPQ__JSON_SSE2 1
#else
#define TPQ__JSON_SSE2 0
#endif

/* Byte classes (defined in scan.c). */
#define TPQ__C_WS 1u       /* ' ' '\t' '\n' '\r' */
#define TPQ__C_STR 2u      /* '"' '\\' < 0x20 >= 0x80: ends the fast path inside a string */
#define TPQ__C_QB 4u       /* '"' '\\' */
#define TPQ__C_NEST 8u     /* '"' '{' '}' '[' ']' */
#define TPQ__C_DIGIT 16u   /* '0'..'9' */
#define TPQ__C_SCALAR 32u  /* bytes that may continue a number or literal */
extern const uint8_t tpq__json_class[256];

#define TPQ__ONES UINT64_C(0x0101010101010101)
#define TPQ__HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t tpq__load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Nonzero iff some byte of x is zero (exact as a yes/no answer). */
static inline uint64_t tpq__has_zero(uint64_t x)
{
	return (x - TPQ__ONES) & ~x & TPQ__HIGHS;
}

/* Nonzero iff some byte of x equals b. */
static inline uint64_t tpq__has_byte(uint64_t x, uint8_t b)
{
	return tpq__has_zero(x ^ (TPQ__ONES * b));
}

/* First byte of class `cls` within the 8 bytes at p (the caller knows one is there). */
static inline const uint8_t *tpq__first_of(const uint8_t *p, unsigned cls)
{
	while (!(tpq__json_class[*p] & cls))
		p++;
	return p;
}

static inline bool tpq__is_ws(uint8_t c)
{
	return tpq__json_class[c] & TPQ__C_WS;
}

/* p <= end. Reads *end (padding) first: in compact JSON the byte is almost
 * never whitespace, and one compare answers for every byte above ' '. */
static inline const uint8_t *tpq__skip_ws(const uint8_t *p, const uint8_t *end)
{
	while (*p <= ' ' && p < end && (tpq__json_class[*p] & TPQ__C_WS))
		p++;
	return p;
}

/* --- string bodies, validating: '"', '\\', control bytes and non-ASCII --- */

static inline const uint8_t *tpq__scan_str_swar(const uint8_t *p, const uint8_t *end)
{
	for (;;) {
		uint64_t x = tpq__load64(p);
		uint64_t m = tpq__has_byte(x, '"') | tpq__has_byte(x, '\\') |
			     ((x - TPQ__ONES * 0x20) & ~x & TPQ__HIGHS) | (x & TPQ__HIGHS);
		if (m)
			return tpq__first_of(p, TPQ__C_STR);
		p += 8;
		if (p >= end)
			return p;
	}
}

/* --- string bodies, skipping known-valid text: only '"' and '\\' --- */

static inline const uint8_t *tpq__scan_qb_swar(const uint8_t *p, const uint8_t *end)
{
	for (;;) {
		uint64_t x = tpq__load64(p);
		if (tpq__has_byte(x, '"') | tpq__has_byte(x, '\\'))
			return tpq__first_of(p, TPQ__C_QB);
		p += 8;
		if (p >= end)
			return p;
	}
}

/* --- nesting: '"' and brackets (b | 0x20 maps '[' to '{' and ']' to '}') --- */

static inline const uint8_t *tpq__scan_nest_swar(const uint8_t *p, const uint8_t *end)
{
	for (;;) {
		uint64_t x = tpq__load64(p);
		uint64_t y = x | (TPQ__ONES * 0x20);
		if (tpq__has_byte(x, '"') | tpq__has_byte(y, '{') | tpq__has_byte(y, '}'))
			return tpq__first_of(p, TPQ__C_NEST);
		p += 8;
		if (p >= end)
			return p;
	}
}

#if TPQ__JSON_SSE2
static inline __m128i tpq__load128(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static inline const uint8_t *tpq__scan_str_sse2(const uint8_t *p, const uint8_t *end)
{
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
	for (;;) {
		__m128i v = tpq__load128(p);
		/* signed compare: 0x00..0x1f and 0x80..0xff are both "less than" 0x20 */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b)),
					 _mm_cmplt_epi8(v, sp));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
		if (p >= end)
			return p;
	}
}

/* As tpq__scan_qb_sse2 (`ctl`: also control and non-ASCII bytes, as
 * tpq__scan_str_sse2), and *quote tells whether the byte found is '"' (from the
 * masks: the caller need not load the byte again, a load that would sit on
 * the critical path of every string). Unspecified when the result is >= end. */
static inline const uint8_t *tpq__scan_strq_sse2(const uint8_t *p, const uint8_t *end, bool ctl,
						 bool *quote)
{
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
	for (;;) {
		__m128i v = tpq__load128(p);
		__m128i o = _mm_cmpeq_epi8(v, b);
		if (ctl)
			o = _mm_or_si128(o, _mm_cmplt_epi8(v, sp));
		unsigned mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, q));
		unsigned mask = mq | (unsigned)_mm_movemask_epi8(o);
		if (mask) {
			*quote = (mask & (0u - mask) & mq) != 0;
			return p + __builtin_ctz(mask);
		}
		p += 16;
		if (p >= end)
			return p;
	}
}

static inline const uint8_t *tpq__scan_qb_sse2(const uint8_t *p, const uint8_t *end)
{
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
	for (;;) {
		__m128i v = tpq__load128(p);
		unsigned mask = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, b)));
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
		if (p >= end)
			return p;
	}
}

static inline const uint8_t *tpq__scan_nest_sse2(const uint8_t *p, const uint8_t *end)
{
	const __m128i q = _mm_set1_epi8('"'), o = _mm_set1_epi8('{'), c = _mm_set1_epi8('}');
	const __m128i lc = _mm_set1_epi8(0x20);
	for (;;) {
		__m128i v = tpq__load128(p);
		__m128i y = _mm_or_si128(v, lc);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, q),
					 _mm_or_si128(_mm_cmpeq_epi8(y, o), _mm_cmpeq_epi8(y, c)));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
		if (p >= end)
			return p;
	}
}
#endif

/* Dispatch on a flag that is constant for a whole call (folded away where the
 * caller is specialised). */
static inline const uint8_t *tpq__scan_str(const uint8_t *p, const uint8_t *end, bool simd)
{
#if TPQ__JSON_SSE2
	if (simd)
		return tpq__scan_str_sse2(p, end);
#endif
	(void)simd;
	return tpq__scan_str_swar(p, end);
}

static inline const uint8_t *tpq__scan_qb(const uint8_t *p, const uint8_t *end, bool simd)
{
#if TPQ__JSON_SSE2
	if (simd)
		return tpq__scan_qb_sse2(p, end);
#endif
	(void)simd;
	return tpq__scan_qb_swar(p, end);
}

static inline const uint8_t *tpq__scan_nest(const uint8_t *p, const uint8_t *end, bool simd)
{
#if TPQ__JSON_SSE2
	if (simd)
		return tpq__scan_nest_sse2(p, end);
#endif
	(void)simd;
	return tpq__scan_nest_swar(p, end);
}

/* Length (2..4) of the well-formed UTF-8 sequence at p (p[0] >= 0x80), or 0.
 * Rejects overlongs, UTF-16 surrogates and code points above U+10FFFF
 * (RFC 3629 section 4). Reads only below `end`. */
static inline size_t tpq__utf8_seq(const uint8_t *p, const uint8_t *end)
{
	size_t avail = (size_t)(end - p);
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c > 0xF4)
		return 0;
	if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
			       (p[3] & 0xC0) == 0x80
		       ? 4
		       : 0;
}

/* Value of a hex digit, or -1. */
static inline int tpq__hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The 4 hex digits at p as a code unit, or -1. */
static inline int32_t tpq__hex4(const uint8_t *p)
{
	int a = tpq__hexval(p[0]), b = tpq__hexval(p[1]), c = tpq__hexval(p[2]), d = tpq__hexval(p[3]);
	if ((a | b | c | d) < 0)
		return -1;
	return (int32_t)(a << 12 | b << 8 | c << 4 | d);
}

/* Writes code point cp (< 0x110000) as UTF-8 (surrogates too, as 3 bytes:
 * WTF-8, used only where the caller tracks them); returns the length. */
static inline size_t tpq__utf8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

#endif
