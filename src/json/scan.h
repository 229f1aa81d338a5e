/* The JSON scanner: strict RFC 8259 validation in one pass over a padded
 * buffer, without building a DOM and without recursion (an explicit bit stack
 * bounded by TPQ_JSON_MAX_DEPTH).
 *
 * Strict means: no trailing commas, no comments, no NaN/Infinity, no leading
 * zeros, no control bytes (< 0x20) inside strings, only the escapes of RFC
 * 8259, every string valid UTF-8 (no overlongs, no UTF-8-encoded surrogates,
 * nothing above U+10FFFF), exactly one value with only whitespace around it.
 * An escaped lone surrogate ("\ud800") is valid JSON syntax and is accepted
 * here; whoever decodes the string decides what to do with it.
 *
 * Padding: every input buffer must be followed by TPQ_JSON_PAD readable bytes
 * (any content; they are read by block loads and never trusted).
 *
 * Errors carry the byte offset (err->offset) and a short message starting
 * "invalid JSON: ..." or "invalid UTF-8". Thread-safe: no shared mutable
 * state except the implementation choice below. */
#ifndef TPQ_JSON_SCAN_H
#define TPQ_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"

/* Readable bytes required after the end of every buffer given to the scanner. */
#define TPQ_JSON_PAD 64
/* Deepest nesting accepted (open objects and arrays); deeper is TPQ_ELIMIT. */
#define TPQ_JSON_MAX_DEPTH 10000

/* The block-scanning implementation. The scalar one (SWAR, 8 bytes at a
 * time) is always built; SSE2 (16 bytes) where the compiler targets it. */
enum tpq_json_impl {
	TPQ_JSON_IMPL_AUTO = 0,   /* the fastest built */
	TPQ_JSON_IMPL_SCALAR = 1,
	TPQ_JSON_IMPL_SSE2 = 2,
};

/* Chooses the implementation for later scans, process-wide (for tests and
 * benchmarks; set it before starting threads). Returns the implementation now
 * in effect, which is SCALAR when SSE2 is asked for but not built. */
enum tpq_json_impl tpq_json_set_impl(enum tpq_json_impl impl);
/* The implementation in effect (never AUTO). */
enum tpq_json_impl tpq_json_get_impl(void);
const char *tpq_json_impl_name(enum tpq_json_impl impl);

/* Validates that buf[0..len) is exactly one JSON text. TPQ_OK, TPQ_ECORRUPT
 * (err: offset, message) or TPQ_ELIMIT (nesting). */
enum tpq_status tpq_json_validate(const uint8_t *buf, size_t len, struct tpq_error *err);

/* ---- Splitting a document of the shape {"<key>": [ {...}, {...} ], ...} ----
 * tpq_json_split validates the whole document like tpq_json_validate and, in
 * the same pass, reports each element of the array under the top-level key
 * `spec->key` through `spec->on_elem`: its span, a 128-bit hash of its bytes
 * with insignificant whitespace removed (src/json/hash.h), and the string
 * values of up to two keys of the element (`cap_key`). Elements are reported
 * as soon as they close, so a later error may still fail the document: the
 * caller keeps them aside until the call returns TPQ_OK. If the key occurs
 * twice at the top level, the last occurrence wins: `on_array` is called each
 * time the key's array opens, and the caller drops what it had. Errors:
 *   "not a <what> file: top level is not an object"
 *   "not a <what> file: no <key> array"      (offset: the closing brace)
 *   "<key> is not an array"
 *   "record N is not an object"              (err->record = N)
 * and every syntax error; err->record is the index of the element the error is
 * in, or -1 outside the elements. */
struct tpq_json_capture {
	uint8_t state;      /* 0: key absent; 1: a string; 2: some other JSON value */
	bool esc;           /* the string contains a backslash (escapes to decode) */
	size_t off, len;    /* string contents between the quotes, offsets in buf */
};

struct tpq_json_elem {
	size_t index;       /* element index in the array */
	size_t off, len;    /* the element's bytes, from '{' to '}' inclusive */
	uint64_t hash[2];
	struct tpq_json_capture cap[2]; /* last occurrence of each cap_key */
};

struct tpq_json_split_spec {
	const char *what;       /* for messages, e.g. "CloudTrail" */
	const char *key;        /* the top-level key holding the array, e.g. "Records" */
	const char *cap_key[2]; /* element keys to capture (NULL: none) */
	/* Called for each element; a non-OK return stops the scan and is
	 * returned (the callback sets err itself). */
	enum tpq_status (*on_elem)(void *ctx, const struct tpq_json_elem *e, struct tpq_error *err);
	void (*on_array)(void *ctx); /* the array opens (may be NULL) */
	void *ctx;
};

/* *n_top_keys (may be NULL) receives the number of top-level keys, all
 * occurrences of `key` included. */
enum tpq_status tpq_json_split(const uint8_t *buf, size_t len, const struct tpq_json_split_spec *spec,
			       size_t *n_top_keys, struct tpq_error *err);

/* Decodes the contents of a JSON string (the bytes between the quotes, known
 * to be valid) into out, which must have room for n bytes (decoding never
 * grows). Returns the decoded length. An escaped lone surrogate is written as
 * its 3-byte generalized UTF-8 form (which is not valid UTF-8) and sets
 * *lone; other input gives valid UTF-8. */
size_t tpq_json_unescape(const uint8_t *s, size_t n, uint8_t *out, bool *lone);

#endif
