/* The JSON scanner (see scan.h).
 *
 * One hand-written state machine (labels value / key / after / close) walks
 * the document once. Nesting is an explicit bit stack (1 = array) of
 * TPQ_JSON_MAX_DEPTH bits on the C stack, so hostile nesting costs neither
 * recursion nor heap. The machine is specialised four times by always-inline
 * expansion: {SWAR, SSE2} x {plain validation, split}. In plain validation the
 * split hooks fold away; in split mode they cost one well-predicted compare
 * per key and value (`depth <= 3`), since the records sit at depth 3.
 *
 * Why it is fast: string bodies, most of CloudTrail's bytes, are crossed by
 * 8- or 16-byte block scans that stop only at '"', '\\', control bytes or
 * non-ASCII (scan_inl.h); UTF-8 is checked only for the rare non-ASCII bytes.
 * The record hash is fed whole runs between whitespace, so a compact record
 * (AWS writes them on one line) is hashed by a single update over its span.
 *
 * Why it is safe: every read at p is preceded by p < end; block loads may read
 * up to 15 bytes past end into the caller's padding and any hit there is
 * discarded by the same check. */
#include "json/scan.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "json/hash.h"
#include "json/scan_inl.h"
#include "util/error.h"

/* ---- byte classes ---- */
#define CL_WS(b) ((b) == ' ' || (b) == '\t' || (b) == '\n' || (b) == '\r' ? TPQ__C_WS : 0u)
#define CL_STR(b) ((b) == '"' || (b) == '\\' || (b) < 0x20 || (b) >= 0x80 ? TPQ__C_STR : 0u)
#define CL_QB(b) ((b) == '"' || (b) == '\\' ? TPQ__C_QB : 0u)
#define CL_NEST(b) ((b) == '"' || (b) == '{' || (b) == '}' || (b) == '[' || (b) == ']' ? TPQ__C_NEST : 0u)
#define CL_DIGIT(b) ((b) >= '0' && (b) <= '9' ? TPQ__C_DIGIT : 0u)
#define CL_SCALAR(b)                                                                          \
	(((b) >= '0' && (b) <= '9') || ((b) >= 'a' && (b) <= 'z') || ((b) >= 'A' && (b) <= 'Z') || \
			 (b) == '+' || (b) == '-' || (b) == '.'                                   \
		 ? TPQ__C_SCALAR                                                              \
		 : 0u)
#define CL(b) (uint8_t)(CL_WS(b) | CL_STR(b) | CL_QB(b) | CL_NEST(b) | CL_DIGIT(b) | CL_SCALAR(b))
#define R4(b) CL(b), CL((b) + 1), CL((b) + 2), CL((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

const uint8_t tpq__json_class[256] = {R64(0), R64(64), R64(128), R64(192)};

/* ---- implementation choice ---- */
static _Atomic int g_impl = TPQ_JSON_IMPL_AUTO;

enum tpq_json_impl tpq_json_set_impl(enum tpq_json_impl impl)
{
	atomic_store_explicit(&g_impl, (int)impl, memory_order_relaxed);
	return tpq_json_get_impl();
}

enum tpq_json_impl tpq_json_get_impl(void)
{
	int v = atomic_load_explicit(&g_impl, memory_order_relaxed);
	if (v == TPQ_JSON_IMPL_SCALAR || !TPQ__JSON_SSE2)
		return TPQ_JSON_IMPL_SCALAR;
	return TPQ_JSON_IMPL_SSE2;
}

const char *tpq_json_impl_name(enum tpq_json_impl impl)
{
	switch (impl) {
	case TPQ_JSON_IMPL_AUTO: return "auto";
	case TPQ_JSON_IMPL_SCALAR: return "scalar (SWAR 8 bytes)";
	case TPQ_JSON_IMPL_SSE2: return "SSE2 (16 bytes)";
	}
	return "unknown";
}

#define ALWAYS_INLINE inline __attribute__((always_inline))

static const char msg_eof[] = "invalid JSON: unexpected end of input";
static const char msg_unterminated[] = "invalid JSON: unterminated string";

/* Crosses a string body from p (just after the opening quote) and returns the
 * closing quote, or NULL with *bad and *msg set. */
static ALWAYS_INLINE const uint8_t *scan_string(const uint8_t *p, const uint8_t *end, bool simd,
						 bool *esc, const uint8_t **bad, const char **msg)
{
	for (;;) {
		p = tpq__scan_str(p, end, simd);
		if (p >= end) {
			*bad = end;
			*msg = msg_unterminated;
			return NULL;
		}
		uint8_t c = *p;
		if (c == '"')
			return p;
		if (c == '\\') {
			*esc = true;
			if (end - p < 2)
				goto unterminated;
			uint8_t e = p[1];
			if (e == 'u') {
				for (int i = 2; i < 6; i++) {
					if (p + i >= end)
						goto unterminated;
					if (tpq__hexval(p[i]) < 0)
						goto bad_escape;
				}
				p += 6;
			} else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
				   e == 'r' || e == 't') {
				p += 2;
			} else {
				goto bad_escape;
			}
			continue;
		}
		if (c < 0x20) {
			*bad = p;
			*msg = "invalid JSON: control character in string";
			return NULL;
		}
		size_t k = tpq__utf8_seq(p, end);
		if (!k) {
			*bad = p;
			*msg = "invalid UTF-8";
			return NULL;
		}
		p += k;
	}
unterminated:
	*bad = end;
	*msg = msg_unterminated;
	return NULL;
bad_escape:
	*bad = p;
	*msg = "invalid JSON: invalid escape";
	return NULL;
}

static inline bool is_digit(const uint8_t *p, const uint8_t *end)
{
	return p < end && (tpq__json_class[*p] & TPQ__C_DIGIT);
}

/* A number per RFC 8259 section 6, from p (< end). */
static ALWAYS_INLINE const uint8_t *scan_number(const uint8_t *p, const uint8_t *end,
						 const uint8_t **bad, const char **msg)
{
	if (*p == '-')
		p++;
	if (p >= end)
		goto eof;
	if (*p == '0') {
		p++;
		if (is_digit(p, end)) {
			*bad = p;
			*msg = "invalid JSON: leading zero in number";
			return NULL;
		}
	} else if (is_digit(p, end)) {
		do
			p++;
		while (is_digit(p, end));
	} else {
		goto invalid;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end)
			goto eof;
		if (!is_digit(p, end))
			goto invalid;
		do
			p++;
		while (is_digit(p, end));
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end)
			goto eof;
		if (!is_digit(p, end))
			goto invalid;
		do
			p++;
		while (is_digit(p, end));
	}
	return p;
eof:
	*bad = end;
	*msg = msg_eof;
	return NULL;
invalid:
	*bad = p;
	*msg = "invalid JSON: invalid number";
	return NULL;
}

/* key_eq for a key with escapes (rare): decoded first. */
static __attribute__((noinline)) bool key_eq_esc(const uint8_t *k, size_t n, const char *lit,
						 size_t lit_len)
{
	uint8_t tmp[256];
	if (n > sizeof(tmp))
		return false;
	bool lone = false;
	size_t m = tpq_json_unescape(k, n, tmp, &lone);
	return !lone && m == lit_len && memcmp(tmp, lit, m) == 0;
}

/* Does the key (raw string contents, with escapes if esc) equal lit? Inline
 * and call-free for the usual key: a different length, or the same length
 * and different first 8 (or first and last 4) bytes. Both have n bytes (k is
 * inside the padded buffer). */
static ALWAYS_INLINE bool key_eq(const uint8_t *k, size_t n, bool esc, const char *lit,
				 size_t lit_len)
{
	if (!lit)
		return false;
	if (esc)
		return key_eq_esc(k, n, lit, lit_len);
	if (n != lit_len)
		return false;
	if (n >= 8)
		return tpq__load64(k) == tpq__load64((const uint8_t *)lit) &&
		       (n == 8 || memcmp(k + 8, lit + 8, n - 8) == 0);
	if (n >= 4) {
		uint32_t a, b, c, d;
		memcpy(&a, k, 4);
		memcpy(&b, lit, 4);
		memcpy(&c, k + n - 4, 4);
		memcpy(&d, lit + n - 4, 4);
		return a == b && c == d;
	}
	return memcmp(k, lit, n) == 0;
}

/* Could byte c start a JSON value? (Tells a shape error from a syntax error.) */
static bool starts_value(uint8_t c)
{
	return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
	       c == 'f' || c == 'n';
}

#define STACK_WORDS ((TPQ_JSON_MAX_DEPTH + 63) / 64)

static ALWAYS_INLINE enum tpq_status scan_core(const uint8_t *buf, size_t len,
					       const struct tpq_json_split_spec *spec,
					       size_t *n_top_keys, struct tpq_error *err,
					       const bool simd, const bool split)
{
	const uint8_t *p = buf, *const end = buf + len;
	const uint8_t *bad = NULL;
	const char *msg = NULL;
	char mbuf[160];
	enum tpq_status st = TPQ_OK;
	int64_t erec = -1;
	uint64_t stack[STACK_WORDS];
	unsigned depth = 0;
	bool arr = false, esc;
	/* split state */
	bool want_arr = false, in_arr = false, in_elem = false, found = false;
	int want_cap = -1;
	size_t n_elem = 0, top_keys = 0, top_close = 0;
	size_t key_len = split ? strlen(spec->key) : 0;
	size_t cap_len[2] = {0, 0};
	const uint8_t *chunk = buf, *ks;
	struct tpq_hash128 hs;
	struct tpq_json_elem el;

	if (split) {
		for (int i = 0; i < 2; i++)
			cap_len[i] = spec->cap_key[i] ? strlen(spec->cap_key[i]) : 0;
		memset(&el, 0, sizeof(el));
		tpq_hash128_init(&hs);
	}

#define FAIL_AT(at, m)                                 \
	do {                                           \
		bad = (at);                            \
		msg = (m);                             \
		goto fail;                             \
	} while (0)
#define EOF_CHECK()                                    \
	do {                                           \
		if (p >= end)                          \
			FAIL_AT(end, msg_eof);         \
	} while (0)
#define SKIP_WS()                                                                           \
	do {                                                                                \
		if (*p <= ' ' && p < end && tpq__is_ws(*p)) {                               \
			const uint8_t *w_ = p;                                              \
			do                                                                  \
				p++;                                                        \
			while (p < end && tpq__is_ws(*p));                                  \
			if (split && in_elem) {                                             \
				tpq_hash128_update(&hs, chunk, (size_t)(w_ - chunk));        \
				chunk = p;                                                  \
			}                                                                   \
		}                                                                           \
	} while (0)
#define PUSH(is_arr)                                                                        \
	do {                                                                                \
		if (depth >= TPQ_JSON_MAX_DEPTH) {                                          \
			st = TPQ_ELIMIT;                                                    \
			snprintf(mbuf, sizeof(mbuf), "nesting deeper than %d levels",      \
				 TPQ_JSON_MAX_DEPTH);                                       \
			FAIL_AT(p, mbuf);                                                   \
		}                                                                           \
		uint64_t bit_ = UINT64_C(1) << (depth & 63);                                \
		if (is_arr)                                                                 \
			stack[depth >> 6] |= bit_;                                          \
		else                                                                        \
			stack[depth >> 6] &= ~bit_;                                         \
		depth++;                                                                    \
		arr = (is_arr);                                                             \
	} while (0)

	SKIP_WS();
	EOF_CHECK();

value: /* p < end, at the first byte of a value */
	if (split && depth <= 2) {
		uint8_t c = *p;
		if (depth == 0) {
			if (c != '{' && starts_value(c)) {
				snprintf(mbuf, sizeof(mbuf), "not a %s file: top level is not an object",
					 spec->what);
				FAIL_AT(p, mbuf);
			}
		} else if (depth == 1) {
			if (want_arr) {
				want_arr = false;
				if (c != '[' && starts_value(c)) {
					snprintf(mbuf, sizeof(mbuf), "%s is not an array", spec->key);
					FAIL_AT(p, mbuf);
				}
				found = true;
				in_arr = true;
				n_elem = 0;
				if (spec->on_array)
					spec->on_array(spec->ctx);
			}
		} else if (in_arr && starts_value(c)) {
			if (c != '{') {
				erec = (int64_t)n_elem;
				snprintf(mbuf, sizeof(mbuf), "record %zu is not an object", n_elem);
				FAIL_AT(p, mbuf);
			}
			in_elem = true;
			el.index = n_elem;
			el.off = (size_t)(p - buf);
			el.cap[0].state = el.cap[1].state = 0;
			tpq_hash128_init(&hs);
			chunk = p;
		}
	}
	switch (*p) {
	case '{':
		PUSH(false);
		p++;
		SKIP_WS();
		EOF_CHECK();
		if (*p == '}') {
			p++;
			goto close;
		}
		goto key;
	case '[':
		PUSH(true);
		p++;
		SKIP_WS();
		EOF_CHECK();
		if (*p == ']') {
			p++;
			goto close;
		}
		goto value;
	case '"':
		esc = false;
		p = scan_string(p + 1, end, simd, &esc, &bad, &msg);
		if (!p)
			goto fail;
		p++;
		goto after;
	case 't':
		if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			p += 4;
			goto after;
		}
		goto bad_literal;
	case 'f':
		if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			p += 5;
			goto after;
		}
		goto bad_literal;
	case 'n':
		if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			p += 4;
			goto after;
		}
		goto bad_literal;
	case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
	case '8': case '9':
		p = scan_number(p, end, &bad, &msg);
		if (!p)
			goto fail;
		goto after;
	default:
		FAIL_AT(p, "invalid JSON: expected a value");
	}

close: /* just past the '}' or ']' that closed the innermost container */
	depth--;
	arr = depth && (stack[(depth - 1) >> 6] >> ((depth - 1) & 63) & 1);
	if (split && depth <= 2) {
		if (depth == 2 && in_elem) {
			tpq_hash128_update(&hs, chunk, (size_t)(p - chunk));
			tpq_hash128_final(&hs, el.hash);
			el.len = (size_t)(p - buf) - el.off;
			in_elem = false;
			st = spec->on_elem(spec->ctx, &el, err);
			if (st != TPQ_OK)
				return st;
			n_elem++;
		} else if (depth == 1 && in_arr) {
			in_arr = false;
		} else if (depth == 0) {
			top_close = (size_t)(p - 1 - buf);
		}
	}
	/* fall through */
after:
	/* Hash the record as it is crossed, whole 16-byte blocks at a time,
	 * rather than all at its close: the hash's multiply chain then runs
	 * beside the scanning instead of after it (the hash depends only on the
	 * bytes fed, never on where the updates cut them). */
	if (split && in_elem && (size_t)(p - chunk) >= 128) {
		size_t k = (size_t)(p - chunk) & ~(size_t)15;
		tpq_hash128_update(&hs, chunk, k);
		chunk += k;
	}
	SKIP_WS();
	if (depth == 0)
		goto done;
	EOF_CHECK();
	if (arr) {
		if (*p == ',') {
			p++;
			SKIP_WS();
			EOF_CHECK();
			goto value;
		}
		if (*p == ']') {
			p++;
			goto close;
		}
		FAIL_AT(p, "invalid JSON: expected ',' or ']'");
	}
	if (*p == ',') {
		p++;
		SKIP_WS();
		EOF_CHECK();
		goto key;
	}
	if (*p == '}') {
		p++;
		goto close;
	}
	FAIL_AT(p, "invalid JSON: expected ',' or '}'");

key: /* p < end, where a member's key must start */
	if (*p != '"')
		FAIL_AT(p, "invalid JSON: expected a string key");
	ks = p + 1;
	esc = false;
	p = scan_string(ks, end, simd, &esc, &bad, &msg);
	if (!p)
		goto fail;
	if (split && depth <= 3) {
		size_t kn = (size_t)(p - ks);
		if (depth == 1) {
			top_keys++;
			want_arr = key_eq(ks, kn, esc, spec->key, key_len);
		} else if (depth == 3 && in_elem) {
			want_cap = key_eq(ks, kn, esc, spec->cap_key[0], cap_len[0])   ? 0
				   : key_eq(ks, kn, esc, spec->cap_key[1], cap_len[1]) ? 1
										  : -1;
		}
	}
	p++;
	SKIP_WS();
	EOF_CHECK();
	if (*p != ':')
		FAIL_AT(p, "invalid JSON: expected ':'");
	p++;
	SKIP_WS();
	EOF_CHECK();
	if (split && want_cap >= 0) {
		struct tpq_json_capture *c = &el.cap[want_cap];
		want_cap = -1;
		if (*p == '"') {
			esc = false;
			ks = p + 1;
			p = scan_string(ks, end, simd, &esc, &bad, &msg);
			if (!p)
				goto fail;
			c->state = 1;
			c->esc = esc;
			c->off = (size_t)(ks - buf);
			c->len = (size_t)(p - ks);
			p++;
			goto after;
		}
		c->state = 2;
		c->esc = false;
		c->off = c->len = 0;
	}
	goto value;

bad_literal:
	{
		/* a prefix of the literal cut by the end of input is an EOF error */
		const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
		size_t ll = strlen(lit), avail = (size_t)(end - p);
		if (avail < ll && memcmp(p, lit, avail) == 0)
			FAIL_AT(end, msg_eof);
		FAIL_AT(p, "invalid JSON: invalid literal");
	}

done:
	if (p != end)
		FAIL_AT(p, "invalid JSON: trailing characters after the document");
	if (split && !found) {
		snprintf(mbuf, sizeof(mbuf), "not a %s file: no %s array", spec->what, spec->key);
		FAIL_AT(buf + top_close, mbuf);
	}
	if (n_top_keys)
		*n_top_keys = top_keys;
	return TPQ_OK;

fail:
	if (st == TPQ_OK)
		st = TPQ_ECORRUPT;
	if (split && in_elem && erec < 0)
		erec = (int64_t)n_elem;
	if (err && err->status == TPQ_OK) {
		err->offset = (int64_t)(bad - buf);
		err->record = erec;
	}
	return tpq_error_set(err, st, "%s", msg);
#undef FAIL_AT
#undef EOF_CHECK
#undef SKIP_WS
#undef PUSH
}

static enum tpq_status validate_swar(const uint8_t *buf, size_t len, struct tpq_error *err)
{
	return scan_core(buf, len, NULL, NULL, err, false, false);
}

static enum tpq_status split_swar(const uint8_t *buf, size_t len, const struct tpq_json_split_spec *spec,
				  size_t *n_top_keys, struct tpq_error *err)
{
	return scan_core(buf, len, spec, n_top_keys, err, false, true);
}

#if TPQ__JSON_SSE2
static enum tpq_status validate_sse2(const uint8_t *buf, size_t len, struct tpq_error *err)
{
	return scan_core(buf, len, NULL, NULL, err, true, false);
}

static enum tpq_status split_sse2(const uint8_t *buf, size_t len, const struct tpq_json_split_spec *spec,
				  size_t *n_top_keys, struct tpq_error *err)
{
	return scan_core(buf, len, spec, n_top_keys, err, true, true);
}
#endif

enum tpq_status tpq_json_validate(const uint8_t *buf, size_t len, struct tpq_error *err)
{
#if TPQ__JSON_SSE2
	if (tpq_json_get_impl() == TPQ_JSON_IMPL_SSE2)
		return validate_sse2(buf, len, err);
#endif
	return validate_swar(buf, len, err);
}

enum tpq_status tpq_json_split(const uint8_t *buf, size_t len, const struct tpq_json_split_spec *spec,
			       size_t *n_top_keys, struct tpq_error *err)
{
	if (!spec || !spec->key || !spec->on_elem)
		return tpq_error_set(err, TPQ_EINVAL, "tpq_json_split: incomplete spec");
	if (!spec->what)
		return tpq_error_set(err, TPQ_EINVAL, "tpq_json_split: incomplete spec");
#if TPQ__JSON_SSE2
	if (tpq_json_get_impl() == TPQ_JSON_IMPL_SSE2)
		return split_sse2(buf, len, spec, n_top_keys, err);
#endif
	return split_swar(buf, len, spec, n_top_keys, err);
}

size_t tpq_json_unescape(const uint8_t *s, size_t n, uint8_t *out, bool *lone)
{
	size_t i = 0, o = 0;
	while (i < n) {
		const uint8_t *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		memcpy(out + o, s + i, run);
		o += run;
		i += run;
		if (i >= n)
			break;
		if (i + 1 >= n) {
			out[o++] = s[i++]; /* a lone trailing backslash: not valid, kept */
			break;
		}
		uint8_t c;
		switch (s[i + 1]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u': {
			int32_t u = i + 6 <= n ? tpq__hex4(s + i + 2) : -1;
			if (u < 0) {
				out[o++] = s[i++];
				continue;
			}
			i += 6;
			uint32_t cp = (uint32_t)u;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
				int32_t lo = tpq__hex4(s + i + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
					i += 6;
				}
			}
			if (cp >= 0xD800 && cp < 0xE000)
				*lone = true;
			o += tpq__utf8_put(out + o, cp);
			continue;
		}
		default:
			out[o++] = s[i++]; /* not a JSON escape: kept as is */
			continue;
		}
		out[o++] = c;
		i += 2;
	}
	return o;
}
