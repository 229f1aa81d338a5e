/* Pass one: a CloudTrail file into record spans (see records.h).
 *
 * The scanning is src/json/scan.c's split mode: one pass validates the whole
 * document, finds each element of "Records", hashes it and captures its
 * eventTime and eventID strings. Records are pushed into `out` as they close;
 * if the scan fails later, out->n is cleared, so the caller never sees a
 * partial file. Time parsing is here because both passes (split's event_ms
 * and the shredder's eventtime column) must agree on it exactly. */
#include "cloudtrail/records.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fault.h"

void tpq_ct_records_init(struct tpq_ct_records *r)
{
	memset(r, 0, sizeof(*r));
}

void tpq_ct_records_reset(struct tpq_ct_records *r)
{
	r->n = 0;
	r->other_keys = 0;
}

void tpq_ct_records_release(struct tpq_ct_records *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- RFC 3339 ---- */

/* The value of n (2 or 4) decimal digits, or -1. Unrolled: it runs for six
 * fields of every record's eventTime, twice (split and shred). */
static inline int digits(const uint8_t *s, int n)
{
	unsigned a = (unsigned)s[0] - '0', b = (unsigned)s[1] - '0';
	if (n == 2)
		return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
	unsigned c = (unsigned)s[2] - '0', d = (unsigned)s[3] - '0';
	if (a > 9 || b > 9 || c > 9 || d > 9)
		return -1;
	return (int)(a * 1000 + b * 100 + c * 10 + d);
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const uint8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, 0 <= y <= 9999). */
static int64_t days_from_epoch(int y, int m, int d)
{
	static const uint16_t before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	/* leap years in [0, y): ceil(y/4) - ceil(y/100) + ceil(y/400), year 0 being leap */
	int64_t days0 = 365 * (int64_t)y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
	int64_t epoch0 = 365 * 1970 + (1970 + 3) / 4 - (1970 + 99) / 100 + (1970 + 399) / 400;
	return days0 - epoch0 + before[m - 1] + (m > 2 && leap(y)) + (d - 1);
}

int tpq_ct_parse_time(const uint8_t *s, size_t n, int64_t *ms)
{
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return 0;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
	    sec > 59)
		return 0;
	if (d > days_in_month(y, mo))
		return 0;
	size_t i = 19;
	int frac = 0, nfrac = 0;
	if (s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nfrac < 3)
				frac = frac * 10 + (s[i] - '0');
			nfrac++;
			i++;
		}
		if (nfrac == 0)
			return 0;
		for (int k = nfrac; k < 3; k++)
			frac *= 10;
	}
	if (i >= n)
		return 0;
	int off_min = 0;
	bool z = false;
	if (s[i] == 'Z' || s[i] == 'z') {
		z = s[i] == 'Z';
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (n - i != 6 || s[i + 3] != ':')
			return 0;
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return 0;
		off_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
		i += 6;
	} else {
		return 0;
	}
	if (i != n)
		return 0;
	int64_t secs = days_from_epoch(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
	*ms = secs * 1000 + frac;
	bool canonical = s[10] == 'T' && z && (n == 20 || (n == 24 && nfrac == 3));
	return canonical ? 2 : 1;
}

int64_t tpq_ct_event_ms(const uint8_t *raw, size_t n, bool esc, bool *canonical)
{
	uint8_t tmp[128];
	int64_t ms = INT64_MIN;
	int r = 0;
	if (canonical)
		*canonical = false;
	if (!esc) {
		r = tpq_ct_parse_time(raw, n, &ms);
	} else {
		/* escapes in a time string are rare; a long one (many fraction
		 * digits) is rarer still and may take one allocation */
		uint8_t *d = n <= sizeof(tmp) ? tmp : malloc(n);
		bool lone = false;
		if (d) {
			size_t m = tpq_json_unescape(raw, n, d, &lone);
			if (!lone)
				r = tpq_ct_parse_time(d, m, &ms);
			if (d != tmp)
				free(d);
		}
	}
	if (r == 0)
		return INT64_MIN;
	if (canonical)
		*canonical = r == 2;
	return ms;
}

/* ---- split ---- */

struct split_ctx {
	const uint8_t *buf;
	struct tpq_ct_records *out;
};

static enum tpq_status on_record(void *vctx, const struct tpq_json_elem *e, struct tpq_error *err)
{
	struct split_ctx *c = vctx;
	struct tpq_ct_records *r = c->out;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		struct tpq_ct_record *v =
			tpq_fault_hit(TPQ_FAULT_ALLOC) ? NULL : realloc(r->v, cap * sizeof(*v));
		if (!v)
			return tpq_error_set(err, TPQ_ENOMEM, "out of memory splitting records");
		r->v = v;
		r->cap = cap;
	}
	struct tpq_ct_record *rec = &r->v[r->n++];
	rec->off = (uint32_t)e->off;
	rec->len = (uint32_t)e->len;
	rec->hash[0] = e->hash[0];
	rec->hash[1] = e->hash[1];
	const struct tpq_json_capture *t = &e->cap[0], *id = &e->cap[1];
	rec->event_ms = t->state == 1 ? tpq_ct_event_ms(c->buf + t->off, t->len, t->esc, NULL)
				      : INT64_MIN;
	rec->has_id = id->state == 1;
	rec->id_off = rec->has_id ? (uint32_t)id->off : 0;
	rec->id_len = rec->has_id ? (uint32_t)id->len : 0;
	return TPQ_OK;
}

/* A repeated "Records": the last one wins. */
static void on_array(void *vctx)
{
	struct split_ctx *c = vctx;
	c->out->n = 0;
}

enum tpq_status tpq_ct_split(const uint8_t *buf, size_t len, struct tpq_ct_records *out,
			     struct tpq_error *err)
{
	tpq_ct_records_reset(out);
	if (len >= UINT32_MAX) {
		if (err && err->status == TPQ_OK) {
			err->offset = -1;
			err->record = -1;
		}
		return tpq_error_set(err, TPQ_ELIMIT, "file too large: 4 GiB or more of JSON");
	}
	struct split_ctx ctx = {buf, out};
	struct tpq_json_split_spec spec = {
		.what = "CloudTrail",
		.key = "Records",
		.cap_key = {"eventTime", "eventID"},
		.on_elem = on_record,
		.on_array = on_array,
		.ctx = &ctx,
	};
	size_t top = 0;
	enum tpq_status st = tpq_json_split(buf, len, &spec, &top, err);
	if (st != TPQ_OK) {
		out->n = 0;
		return st;
	}
	out->other_keys = top ? top - 1 : 0;
	return TPQ_OK;
}
