/* Fuzz target: the JSON scanner and pass one (tpq_ct_split) on arbitrary bytes.
 *
 * Errors are expected; crashes, leaks and sanitizer reports are bugs. The
 * target also aborts when:
 *  - the scalar and SSE2 scans disagree (status, offset, record, records);
 *  - a record span returned is not itself one valid JSON object;
 *  - a record's hash differs from the hash of its bytes with the whitespace
 *    outside strings removed (computed here independently);
 *  - a split succeeds on a document plain validation rejects, or fails on
 *    one it accepts with a syntax (not shape) error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudtrail/records.h"
#include "json/hash.h"
#include "json/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* Whitespace outside strings removed (input known valid). */
static size_t minify(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	int str = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (str) {
			out[o++] = c;
			if (c == '\\' && i + 1 < n)
				out[o++] = in[++i];
			else if (c == '"')
				str = 0;
		} else if (c == '"') {
			str = 1;
			out[o++] = c;
		} else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			out[o++] = c;
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size + TPQ_CT_PAD);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* padding that looks like content must never be taken for it */
	memset(buf + size, size ? data[size - 1] : '"', TPQ_CT_PAD);

	struct tpq_error e1, e2;
	struct tpq_ct_records r1, r2;
	tpq_ct_records_init(&r1);
	tpq_ct_records_init(&r2);

	tpq_error_clear(&e1);
	tpq_error_clear(&e2);
	tpq_json_set_impl(TPQ_JSON_IMPL_SCALAR);
	enum tpq_status v1 = tpq_json_validate(buf, size, &e1);
	int64_t voff = e1.offset;
	enum tpq_status s1 = tpq_ct_split(buf, size, &r1, &e2);
	int64_t soff = e2.offset, srec = e2.record;

	tpq_error_clear(&e1);
	tpq_error_clear(&e2);
	tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	enum tpq_status v2 = tpq_json_validate(buf, size, &e1);
	enum tpq_status s2 = tpq_ct_split(buf, size, &r2, &e2);
	check(v1 == v2 && e1.offset == voff);
	check(s1 == s2 && e2.offset == soff && e2.record == srec && r1.n == r2.n);
	for (size_t i = 0; i < r1.n; i++) {
		const struct tpq_ct_record *a = &r1.v[i], *b = &r2.v[i];
		check(a->off == b->off && a->len == b->len && a->event_ms == b->event_ms);
		check(a->has_id == b->has_id && a->id_off == b->id_off && a->id_len == b->id_len);
		check(a->hash[0] == b->hash[0] && a->hash[1] == b->hash[1]);
	}
	if (s1 == TPQ_OK)
		check(v1 == TPQ_OK);
	if (v1 == TPQ_OK && s1 != TPQ_OK)
		check(strncmp(e2.msg, "invalid", 7) != 0);

	for (size_t i = 0; i < r1.n; i++) {
		const struct tpq_ct_record *r = &r1.v[i];
		check((size_t)r->off + r->len <= size && r->len >= 2);
		check(buf[r->off] == '{' && buf[r->off + r->len - 1] == '}');
		check(tpq_json_validate(buf + r->off, r->len, NULL) == TPQ_OK);
		if (r->has_id)
			check(r->id_off > r->off && r->id_off + r->id_len < r->off + r->len);
		uint8_t *m = malloc(r->len);
		size_t mn = minify(buf + r->off, r->len, m);
		uint64_t h[2];
		tpq_hash128(m, mn, h);
		check(h[0] == r->hash[0] && h[1] == r->hash[1]);
		free(m);
	}
	tpq_ct_records_release(&r1);
	tpq_ct_records_release(&r2);
	free(buf);
	return 0;
}
