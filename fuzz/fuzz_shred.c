/* Fuzz target: the whole file-to-rows path, tpq_ct_split then tpq_ct_shred
 * of every record into a recording fake writer (tests/unit/fake_pw.h).
 *
 * Errors from split are expected; crashes, leaks and sanitizer reports are
 * bugs. The target aborts when:
 *  - a record that split accepted does not shred;
 *  - a row is not well-formed Dremel (levels, counts, repeated columns);
 *  - the unmapped text is not one valid JSON object (checked with our own
 *    validator);
 *  - the scalar and SSE2 scans give different rows.
 * It also feeds the raw input to the shredder as if it were a record, which
 * must fail cleanly or give a well-formed row. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/fake_pw.h"
#include "cloudtrail/records.h"
#include "cloudtrail/shred.h"
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

static struct tpq_ct_table *g_table;

static int same_rows(const struct tpq_pw *a, const struct tpq_pw *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct fake_put *x = &a->v[i], *y = &b->v[i];
		if (x->col != y->col || x->def != y->def || x->rep != y->rep || x->type != y->type ||
		    x->i != y->i || x->len != y->len ||
		    (x->len && memcmp(a->arena + x->off, b->arena + y->off, x->len) != 0))
			return 0;
	}
	return 1;
}

static void check_unmapped(const struct tpq_ct_shredder *sh)
{
	size_t len;
	const uint8_t *u = tpq_ct_shredder_unmapped(sh, &len);
	if (!u)
		return;
	uint8_t *b = malloc(len + TPQ_JSON_PAD);
	memcpy(b, u, len);
	memset(b + len, '"', TPQ_JSON_PAD);
	check(len >= 2 && b[0] == '{' && b[len - 1] == '}');
	check(tpq_json_validate(b, len, NULL) == TPQ_OK);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_table && tpq_ct_table_new(&g_table, NULL) != TPQ_OK)
		abort();
	const struct tpq_schema *s = tpq_ct_table_schema(g_table);
	uint8_t *buf = malloc(size + TPQ_CT_PAD);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, '}', TPQ_CT_PAD);

	tpq_json_set_impl(TPQ_JSON_IMPL_SCALAR);
	struct tpq_ct_shredder *sh1 = tpq_ct_shredder_new(g_table);
	tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	struct tpq_ct_shredder *sh2 = tpq_ct_shredder_new(g_table);
	struct tpq_pw *w1 = fake_pw_new(s), *w2 = fake_pw_new(s);
	check(sh1 && sh2 && w1 && w2);

	struct tpq_ct_records r;
	tpq_ct_records_init(&r);
	if (tpq_ct_split(buf, size, &r, NULL) == TPQ_OK) {
		for (size_t i = 0; i < r.n; i++) {
			fake_pw_clear(w1);
			fake_pw_clear(w2);
			check(tpq_ct_shred(sh1, w1, buf + r.v[i].off, r.v[i].len, NULL) == TPQ_OK);
			check(fake_pw_check_row(w1) == 0);
			check_unmapped(sh1);
			check(tpq_ct_shred(sh2, w2, buf + r.v[i].off, r.v[i].len, NULL) == TPQ_OK);
			check(same_rows(w1, w2));
		}
	}
	tpq_ct_records_release(&r);

	/* the raw input as a record: errors allowed, never a crash */
	fake_pw_clear(w1);
	if (tpq_ct_shred(sh1, w1, buf, size, NULL) == TPQ_OK)
		check(fake_pw_check_row(w1) == 0);
	else
		check(w1->n == 0);

	fake_pw_free(w1);
	fake_pw_free(w2);
	tpq_ct_shredder_free(sh1);
	tpq_ct_shredder_free(sh2);
	free(buf);
	return 0;
}
