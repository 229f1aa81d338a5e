/* Pass two (tpq_ct_shred) against a recording fake writer: exact definition
 * and repetition levels, values and unmapped text for every rule of schema
 * v1, driven by the hand-written cases of tests/data/records/ (NAME.json, the
 * input file; NAME.expect, what split and shred must give), plus inline cases
 * and the whole real corpus of ../shared/corpus/dev/ (gunzipped here).
 *
 * .expect format, one statement a line ('#' comments):
 *   split: ok N                                   the file splits into N records
 *   split: ECORRUPT record=R offset=O msg=TEXT    the file is rejected so
 *   record I                                      the following lines are about record I
 *   dotted.column.path = ENTRIES                  fake_pw_col() of that column */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cloudtrail/records.h"
#include "cloudtrail/schema_v1.h"
#include "cloudtrail/shred.h"
#include "fake_pw.h"
#include "harness.h"
#include "json/scan.h"
#include "util/error.h"

int main(void);

static struct tpq_ct_table *T;
static const struct tpq_schema *S;
static struct tpq_ct_shredder *SH;
static struct tpq_pw *W;

static uint8_t *padded(const void *p, size_t n)
{
	uint8_t *b = malloc(n + TPQ_CT_PAD);
	if (!b)
		abort();
	memcpy(b, p, n);
	memset(b + n, '"', TPQ_CT_PAD);
	return b;
}

/* Shreds one record given as text; checks the row is well-formed Dremel. */
static enum tpq_status shred_n(const char *rec, size_t n)
{
	uint8_t *b = padded(rec, n);
	struct tpq_error e;
	tpq_error_clear(&e);
	fake_pw_clear(W);
	enum tpq_status st = tpq_ct_shred(SH, W, b, n, &e);
	if (st == TPQ_OK && fake_pw_check_row(W) != 0) {
		fprintf(stderr, "malformed row: %s\n  record: %.*s\n", W->why, (int)n, rec);
		harness_failed_asserts++;
	}
	free(b);
	return st;
}

static enum tpq_status shred(const char *rec)
{
	return shred_n(rec, strlen(rec));
}

static const char *col(const char *path)
{
	int c = fake_col(S, path);
	if (c < 0) {
		fprintf(stderr, "no column %s\n", path);
		harness_failed_asserts++;
		return "";
	}
	return fake_pw_col(W, c);
}

/* ---- the hand-written cases ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
		}
		size_t r = fread(b + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	b[n] = '\0';
	*len = n;
	return b;
}

static const char *status_name(enum tpq_status st)
{
	switch (st) {
	case TPQ_OK: return "ok";
	case TPQ_ECORRUPT: return "ECORRUPT";
	case TPQ_ELIMIT: return "ELIMIT";
	case TPQ_ENOMEM: return "ENOMEM";
	default: return "other";
	}
}

/* Runs one case; returns the number of expectations checked. */
static int run_case(const char *dir, const char *name)
{
	char path[1024];
	size_t jlen = 0, elen = 0;
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	char *json = read_file(path, &jlen);
	snprintf(path, sizeof(path), "%s/%s.expect", dir, name);
	char *exp = read_file(path, &elen);
	int checked = 0;
	if (!json || !exp) {
		fprintf(stderr, "%s: missing .json or .expect\n", name);
		harness_failed_asserts++;
		goto out;
	}
	uint8_t *buf = padded(json, jlen);
	struct tpq_ct_records r;
	struct tpq_error e;
	tpq_ct_records_init(&r);
	tpq_error_clear(&e);
	enum tpq_status st = tpq_ct_split(buf, jlen, &r, &e);
	long cur = -1;
	char *save = NULL;
	int lineno = 0;
	for (char *line = strtok_r(exp, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char want[4096], got[4096];
		if (strncmp(line, "split: ", 7) == 0) {
			if (st == TPQ_OK)
				snprintf(got, sizeof(got), "ok %zu", r.n);
			else
				snprintf(got, sizeof(got), "%s record=%lld offset=%lld msg=%s",
					 status_name(st), (long long)e.record, (long long)e.offset, e.msg);
			snprintf(want, sizeof(want), "%s", line + 7);
		} else if (strncmp(line, "record ", 7) == 0) {
			cur = atol(line + 7);
			if (st != TPQ_OK || cur < 0 || (size_t)cur >= r.n) {
				fprintf(stderr, "%s.expect:%d: no record %ld\n", name, lineno, cur);
				harness_failed_asserts++;
				break;
			}
			fake_pw_clear(W);
			struct tpq_error se;
			tpq_error_clear(&se);
			enum tpq_status sst = tpq_ct_shred(SH, W, buf + r.v[cur].off, r.v[cur].len, &se);
			if (sst != TPQ_OK || fake_pw_check_row(W) != 0) {
				fprintf(stderr, "%s record %ld: shred %s (%s), row: %s\n", name, cur,
					status_name(sst), se.msg, W->why);
				harness_failed_asserts++;
			}
			continue;
		} else {
			char *eq = strstr(line, " = ");
			if (!eq || cur < 0) {
				fprintf(stderr, "%s.expect:%d: cannot parse\n", name, lineno);
				harness_failed_asserts++;
				continue;
			}
			*eq = '\0';
			snprintf(want, sizeof(want), "%s", eq + 3);
			snprintf(got, sizeof(got), "%s", col(line));
		}
		checked++;
		if (strcmp(want, got) != 0) {
			fprintf(stderr, "%s.expect:%d: %s\n  want: %s\n  got:  %s\n", name, lineno, line,
				want, got);
			harness_failed_asserts++;
		}
	}
	tpq_ct_records_release(&r);
	free(buf);
out:
	free(json);
	free(exp);
	return checked;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(data_files)
{
	const char *dir = "tests/data/records";
	DIR *d = opendir(dir);
	ASSERT_TRUE(d != NULL);
	if (!d)
		return;
	char *names[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 256) {
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
			names[n++] = strndup(de->d_name, l - 5);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	int checked = 0;
	for (size_t i = 0; i < n; i++) {
		checked += run_case(dir, names[i]);
		free(names[i]);
	}
	ASSERT_TRUE(n >= 27);
	ASSERT_TRUE(checked >= 250);
}

/* ---- inline cases ---- */

TEST(decoded_control_characters)
{
	ASSERT_EQ(shred("{\"eventName\":\"a\\b\\f\\n\\r\\t\\u0000\\u001fz\"}"), TPQ_OK);
	size_t n;
	const uint8_t *v = fake_pw_bytes(W, fake_col(S, "eventname"), &n);
	ASSERT_EQ(n, 9);
	ASSERT_TRUE(v && memcmp(v, "a\b\f\n\r\t\0\x1fz", 9) == 0);
	ASSERT_STR_EQ(col("unmapped"), "r0d0=null");
}

TEST(levels_of_every_column_for_empty_record)
{
	ASSERT_EQ(shred("{}"), TPQ_OK);
	/* one NULL entry per column at definition level 0 */
	ASSERT_EQ(W->n, S->n_leaves);
	for (size_t i = 0; i < W->n; i++) {
		ASSERT_EQ(W->v[i].def, 0);
		ASSERT_EQ(W->v[i].rep, 0);
		ASSERT_EQ(W->v[i].type, FAKE_NULL);
	}
}

TEST(invalid_records_put_nothing)
{
	const char *bad[] = {
		"", "  ", "[]", "\"x\"", "{", "{\"a\":1", "{\"a\":1,}x", "{\"a\" 1}", "{\"a\":[1,2}",
		"{\"eventName\":\"abc", "{\"userIdentity\":{\"type\":\"x\"", "{} {}", "{\"resources\":[{},",
		"{\"a\":\"\\", "{\"userIdentity\":{\"sessionContext\":{\"webIdFederationData\":{\"attributes\":{\"k\":",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tpq_error e;
		tpq_error_clear(&e);
		uint8_t *b = padded(bad[i], strlen(bad[i]));
		fake_pw_clear(W);
		enum tpq_status st = tpq_ct_shred(SH, W, b, strlen(bad[i]), &e);
		ASSERT_EQ(st, TPQ_ECORRUPT);
		ASSERT_EQ(W->n, 0);
		ASSERT_TRUE(e.offset >= 0 && e.offset <= (int64_t)strlen(bad[i]));
		ASSERT_TRUE(strncmp(e.msg, "invalid record: ", 16) == 0);
		free(b);
	}
	/* the shredder recovers */
	ASSERT_EQ(shred("{\"eventName\":\"ok\"}"), TPQ_OK);
	ASSERT_STR_EQ(col("eventname"), "r0d1=ok");
}

TEST(surrounding_whitespace)
{
	ASSERT_EQ(shred(" \n{\"eventName\" : \"e\" }\t\r\n"), TPQ_OK);
	ASSERT_STR_EQ(col("eventname"), "r0d1=e");
}

TEST(many_unknown_and_duplicate_keys)
{
	/* 5,000 unknown keys, each twice: the dedup table grows; last value, first position */
	size_t n = 5000;
	char *d = malloc(n * 40 + 64);
	size_t k = 0;
	d[k++] = '{';
	for (size_t i = 0; i < n; i++)
		k += (size_t)sprintf(d + k, "\"k%zu\":%zu,", i, i);
	for (size_t i = 0; i < n; i++)
		k += (size_t)sprintf(d + k, "\"k%zu\":%zu,", i, i + 1);
	k += (size_t)sprintf(d + k, "\"eventName\":\"x\"}");
	ASSERT_EQ(shred_n(d, k), TPQ_OK);
	size_t ulen;
	const uint8_t *u = fake_pw_bytes(W, fake_col(S, "unmapped"), &ulen);
	ASSERT_TRUE(u != NULL);
	ASSERT_TRUE(u && ulen > 10 && memcmp(u, "{\"/k0\":1,\"/k1\":2,", 17) == 0);
	ASSERT_TRUE(u && memcmp(u + ulen - 14, "\"/k4999\":5000}", 14) == 0);
	/* a 5,000-entry map with repeated keys */
	k = (size_t)sprintf(d, "{\"userIdentity\":{\"sessionContext\":{\"webIdFederationData\":{"
			       "\"attributes\":{");
	for (size_t i = 0; i < n; i++)
		k += (size_t)sprintf(d + k, "\"a%zu\":\"%zu\",", i % 100, i);
	d[k - 1] = '}';
	k += (size_t)sprintf(d + k, "}}}}");
	ASSERT_EQ(shred_n(d, k), TPQ_OK);
	int kc = fake_col(S, "useridentity.sessioncontext.webidfederationdata.attributes.key_value.key");
	size_t cnt = 0;
	for (size_t i = 0; i < W->n; i++)
		cnt += W->v[i].col == kc;
	ASSERT_EQ(cnt, 100);
	const char *vals = col("useridentity.sessioncontext.webidfederationdata.attributes.key_value.value");
	ASSERT_TRUE(strncmp(vals, "r0d6=4900 r1d6=4901 ", 20) == 0);
	free(d);
}

TEST(big_values)
{
	size_t n = 100 * 1024;
	char *d = malloc(2 * n + 8192);
	size_t k = (size_t)sprintf(d, "{\"requestParameters\":{\"policy\":\"");
	for (size_t i = 0; i < n; i++) {
		if (i % 50 == 49) {
			d[k++] = '\\';
			d[k++] = 'n';
		} else {
			d[k++] = (char)('a' + i % 26);
		}
	}
	k += (size_t)sprintf(d + k, "\",\"deep\":[[[[{\"x\":\"]}\"}]]]]},\"eventName\":\"");
	for (size_t i = 0; i < 1000; i++)
		k += (size_t)sprintf(d + k, "\\u00e9");
	k += (size_t)sprintf(d + k, "\"}");
	ASSERT_EQ(shred_n(d, k), TPQ_OK);
	size_t len;
	const uint8_t *rp = fake_pw_bytes(W, fake_col(S, "requestparameters"), &len);
	ASSERT_TRUE(rp && rp[0] == '{' && rp[len - 1] == '}');
	ASSERT_TRUE(len > n);
	const uint8_t *en = fake_pw_bytes(W, fake_col(S, "eventname"), &len);
	ASSERT_EQ(len, 2000);
	ASSERT_TRUE(en && en[0] == 0xC3 && en[1] == 0xA9);
	free(d);
	/* 1,000-deep free-form nesting is skipped without recursion */
	d = malloc(16384);
	k = (size_t)sprintf(d, "{\"additionalEventData\":");
	for (size_t i = 0; i < 1000; i++)
		k += (size_t)sprintf(d + k, "%s", i % 2 ? "[" : "{\"a\":");
	for (size_t i = 1000; i-- > 0;)
		d[k++] = i % 2 ? ']' : '}';
	k += (size_t)sprintf(d + k, ",\"eventName\":\"n\"}");
	ASSERT_EQ(shred_n(d, k), TPQ_OK);
	ASSERT_STR_EQ(col("eventname"), "r0d1=n");
	free(d);
}

TEST(unmapped_is_valid_json)
{
	const char *recs[] = {
		"{\"a\\\"b\":\"\\ud800\",\"c\\\\d\":[1,{\"e\":null}],\"\\u0000\":0}",
		"{\"userIdentity\":{\"x/y\":1,\"~\":2},\"resources\":[5,{\"q\":true}]}",
		"{\"eventTime\":\"2020-01-02T03:04:05+00:00\",\"readOnly\":\"false\"}",
	};
	for (size_t i = 0; i < 3; i++) {
		ASSERT_EQ(shred(recs[i]), TPQ_OK);
		size_t len;
		const uint8_t *u = tpq_ct_shredder_unmapped(SH, &len);
		ASSERT_TRUE(u != NULL);
		uint8_t *b = padded(u, len);
		struct tpq_error e;
		tpq_error_clear(&e);
		ASSERT_EQ(tpq_json_validate(b, len, &e), TPQ_OK);
		free(b);
	}
	ASSERT_EQ(shred("{\"eventName\":\"x\"}"), TPQ_OK);
	size_t len = 1;
	ASSERT_TRUE(tpq_ct_shredder_unmapped(SH, &len) == NULL);
	ASSERT_EQ(len, 0);
}

/* JSON-text values crossed by the block skipper: quotes, escapes and
 * brackets inside strings at every offset within a 16-byte block, and the
 * value's exact bytes kept. */
TEST(json_text_at_every_offset)
{
	static const char *bodies[] = {
		"{\"a\":\"x\\\"}\\\\\",\"b\":[1,{\"c\":\"]\"}]}",
		"{\"k\":[[],{},\"{[\",\"\\\\\"]}",
		"[\"\\u005d\",{\"\\\"\":{}},[[[]]]]",
	};
	char doc[512], val[256];
	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		for (int pad = 0; pad < 40; pad++) {
			char fill[48];
			memset(fill, 'x', (size_t)pad);
			fill[pad] = '\0';
			/* the padding shifts the body against the 16-byte blocks */
			int vn = snprintf(val, sizeof(val), "{\"p\":\"%s\",\"v\":%s}", fill,
					  bodies[b]);
			int n = snprintf(doc, sizeof(doc),
					 "{\"requestParameters\":%s,\"eventName\":\"e\"}", val);
			ASSERT_EQ(shred_n(doc, (size_t)n), TPQ_OK);
			size_t len;
			int rc = fake_col(S, "requestparameters");
			const uint8_t *rp = fake_pw_bytes(W, rc, &len);
			ASSERT_EQ(len, (size_t)vn);
			ASSERT_TRUE(rp && memcmp(rp, val, len) == 0);
			ASSERT_STR_EQ(col("eventname"), "r0d1=e");
		}
	}
	/* cut short: an error, never a read past the record */
	const char *cut[] = {"{\"requestParameters\":{\"a\":\"}", "{\"requestParameters\":[[\"\\",
			     "{\"requestParameters\":{\"a\":[1,2]"};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
		ASSERT_EQ(shred(cut[i]), TPQ_ECORRUPT);
}

TEST(unmapped_key_order)
{
	/* known fields and unknown keys interleaved, repeated keys (first position,
	 * last value), type mismatches at two levels, a list element */
	static const char *cases[][2] = {
		{"{\"x\":1,\"eventName\":5,\"y\":2,\"eventName\":\"ok\",\"userIdentity\":"
		 "{\"z\":3,\"type\":7},\"eventTime\":\"2024-01-01T00:00:00+00:00\","
		 "\"readOnly\":\"no\"}",
		 "{\"/x\":1,\"/y\":2,\"/userIdentity/z\":3,\"/userIdentity/type\":7,"
		 "\"/eventTime\":\"2024-01-01T00:00:00+00:00\",\"/readOnly\":\"no\"}"},
		{"{\"eventName\":1,\"a\":1,\"eventSource\":[2],\"a\":3,\"eventName\":{}}",
		 "{\"/eventName\":{},\"/a\":3,\"/eventSource\":[2]}"},
		{"{\"resources\":[{\"b\":1,\"ARN\":\"r\"},7,null,{\"ARN\":false}],\"c\":0}",
		 "{\"/resources/0/b\":1,\"/resources/1\":7,\"/resources/3/ARN\":false,\"/c\":0}"},
		{"{\"eventName\":\"e\",\"readOnly\":true,"
		 "\"eventTime\":\"2024-01-01T00:00:00Z\"}",
		 NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(shred(cases[i][0]), TPQ_OK);
		size_t len;
		const uint8_t *u = tpq_ct_shredder_unmapped(SH, &len);
		if (!cases[i][1]) {
			ASSERT_TRUE(u == NULL);
			continue;
		}
		ASSERT_TRUE(u != NULL);
		ASSERT_EQ(len, strlen(cases[i][1]));
		ASSERT_TRUE(u && memcmp(u, cases[i][1], len) == 0);
	}
}

/* The key of the field guessed to come next is matched on the raw bytes and
 * the quote after them, before the key's end is known: keys one byte short or
 * long, or with an escape, must not pass for it, with or without the guess
 * (primed by the record before), at lengths around the 16-byte pieces. */
TEST(guessed_keys)
{
	static const char *keys[] = {"eventName", "sourceIPAddress", "responseElements",
				     "requestParameters", "recipientAccountId",
				     "additionalEventData", "vpcEndpointAccountId"};
	char rec[256], want[256];
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i];
		int n = (int)strlen(k);
		for (int prime = 0; prime < 2; prime++) {
			for (int v = 0; v < 4; v++) {
				if (prime) {
					snprintf(rec, sizeof(rec), "{\"eventID\":\"i\",\"%s\":\"v\"}", k);
					ASSERT_EQ(shred(rec), TPQ_OK);
				}
				want[0] = 0;
				if (v == 0) { /* exact */
					snprintf(rec, sizeof(rec), "{\"eventID\":\"i\",\"%s\":\"v\"}", k);
				} else if (v == 1) { /* one byte short */
					snprintf(rec, sizeof(rec), "{\"eventID\":\"i\",\"%.*s\":\"v\"}",
						 n - 1, k);
					snprintf(want, sizeof(want), "{\"/%.*s\":\"v\"}", n - 1, k);
				} else if (v == 2) { /* one byte long */
					snprintf(rec, sizeof(rec), "{\"eventID\":\"i\",\"%sx\":\"v\"}", k);
					snprintf(want, sizeof(want), "{\"/%sx\":\"v\"}", k);
				} else { /* the last byte escaped: the same key */
					snprintf(rec, sizeof(rec),
						 "{\"eventID\":\"i\",\"%.*s\\u%04x\":\"v\"}", n - 1, k,
						 (unsigned)k[n - 1]);
				}
				ASSERT_EQ(shred(rec), TPQ_OK);
				size_t len;
				const uint8_t *u = tpq_ct_shredder_unmapped(SH, &len);
				if (!want[0]) {
					ASSERT_TRUE(u == NULL);
				} else {
					ASSERT_EQ(len, strlen(want));
					ASSERT_TRUE(u && memcmp(u, want, len) == 0);
				}
			}
		}
	}
	/* a key that has the guessed key's bytes, then an escaped quote */
	ASSERT_EQ(shred("{\"eventID\":\"i\",\"eventName\":\"v\"}"), TPQ_OK);
	ASSERT_EQ(shred("{\"eventID\":\"i\",\"eventName\\\"\":\"v\"}"), TPQ_OK);
	size_t len;
	const uint8_t *u = tpq_ct_shredder_unmapped(SH, &len);
	const char *w = "{\"/eventName\\\"\":\"v\"}";
	ASSERT_EQ(len, strlen(w));
	ASSERT_TRUE(u && memcmp(u, w, len) == 0);
}

/* The row of the last record shredded, without the unmapped column when
 * `um` is false, as text. */
static void row_text(char *out, size_t cap, bool um)
{
	int uc = tpq_ct_table_unmapped_col(T);
	size_t o = 0;
	out[0] = 0;
	for (size_t i = 0; i < W->n && o + 64 < cap; i++) {
		const struct fake_put *e = &W->v[i];
		if (!um && e->col == uc)
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%d/%d/%d/%d/%lld/", e->col, e->def, e->rep,
				      (int)e->type, (long long)e->i);
		if (e->type == FAKE_BYTES && o + e->len + 2 < cap) {
			memcpy(out + o, W->arena + e->off, e->len);
			o += e->len;
		}
		out[o++] = ';';
		out[o] = 0;
	}
}

static const char *good_value(enum tpq_ct_kind k)
{
	switch (k) {
	case TPQ_CTK_STRING: return "\"s\"";
	case TPQ_CTK_JSON: return "[1]";
	case TPQ_CTK_BOOL: return "true";
	case TPQ_CTK_TIMESTAMP: return "\"2020-01-02T03:04:05Z\"";
	case TPQ_CTK_STRUCT: return "{}";
	case TPQ_CTK_LIST: return "[{}]";
	case TPQ_CTK_MAP: return "{\"k\":\"v\"}";
	}
	return "null";
}

/* shred(fmt with the field spliced in as "<key>":<v1>[,"<key>":<v2>]) */
static void shred_kv(const char *pre, const char *post, const char *key, const char *v1,
		     const char *v2)
{
	char rec[512];
	if (v2)
		snprintf(rec, sizeof(rec), "%s\"%s\":%s,\"%s\":%s%s", pre, key, v1, key, v2, post);
	else if (v1)
		snprintf(rec, sizeof(rec), "%s\"%s\":%s%s", pre, key, v1, post);
	else
		snprintf(rec, sizeof(rec), "%s%s", pre, post);
	ASSERT_EQ(shred(rec), TPQ_OK);
}

/* A field whose key occurs with null, with a value of the wrong type, or
 * with a value taken back by a repeated key puts exactly what an absent
 * field puts (emit visits only the fields whose key occurred and must count
 * the others into the null runs); every top-level field and every field one
 * struct down, between a present neighbour before and after. */
TEST(null_wrong_and_repeated_fields_put_absence)
{
	static char a[1 << 15], b[1 << 15];
	for (size_t i = 0; i < tpq_ct_n_fields; i++) {
		const struct tpq_ct_field *top = &tpq_ct_fields[i];
		size_t nsub = top->kind == TPQ_CTK_STRUCT ? top->n_children : 0;
		for (size_t j = 0; j <= nsub; j++) {
			const struct tpq_ct_field *f = j ? &top->children[j - 1] : top;
			char pre[128], post[128];
			/* present neighbours, never the field itself */
			bool own = !j && (!strcmp(f->key, "eventName") || !strcmp(f->key, "eventID"));
			const char *n1 = own ? "awsRegion" : "eventName", *n2 = own ? "eventType" : "eventID";
			if (j) {
				snprintf(pre, sizeof(pre), "{\"%s\":\"n\",\"%s\":{\"zz\":1,", n1, top->key);
				snprintf(post, sizeof(post), ",\"zy\":2},\"%s\":\"i\"}", n2);
			} else {
				snprintf(pre, sizeof(pre), "{\"%s\":\"n\",", n1);
				snprintf(post, sizeof(post), ",\"%s\":\"i\"}", n2);
			}
			const char *good = good_value(f->kind);
			/* absent: with the neighbours only ("zz"/"zy" go to unmapped) */
			char pre2[128];
			snprintf(pre2, sizeof(pre2), "%.*s", (int)strlen(pre) - 1, pre);
			shred_kv(pre2, post, f->key, NULL, NULL);
			row_text(a, sizeof(a), false);
			shred_kv(pre, post, f->key, "null", NULL);
			row_text(b, sizeof(b), false);
			ASSERT_STR_EQ(b, a);
			shred_kv(pre, post, f->key, good, "null");
			row_text(b, sizeof(b), false);
			ASSERT_STR_EQ(b, a);
			if (f->kind != TPQ_CTK_JSON) {
				shred_kv(pre, post, f->key, f->kind == TPQ_CTK_STRING ? "7" : "\"w\"",
					 NULL);
				row_text(b, sizeof(b), false);
				ASSERT_STR_EQ(b, a);
			}
			/* and the other way round: null, then the value */
			shred_kv(pre, post, f->key, good, NULL);
			row_text(a, sizeof(a), true);
			shred_kv(pre, post, f->key, "null", good);
			row_text(b, sizeof(b), true);
			ASSERT_STR_EQ(b, a);
		}
	}
}

/* String values whose closing quote, or an escaped quote or backslash just
 * before it, falls at every offset of the 16-byte scans: the scan tells the
 * closing quote from the first escape by its masks. */
TEST(string_ends_at_every_offset)
{
	char rec[256], want[128];
	for (int n = 0; n < 40; n++) {
		for (int kind = 0; kind < 3; kind++) {
			static const char *tails[] = {"", "\\\"", "\\\\"};
			static const char *dtails[] = {"", "\"", "\\"};
			snprintf(rec, sizeof(rec), "{\"eventName\":\"%.*s%s\",\"eventID\":\"i\"}", n,
				 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", tails[kind]);
			snprintf(want, sizeof(want), "%.*s%s", n,
				 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", dtails[kind]);
			ASSERT_EQ(shred(rec), TPQ_OK);
			size_t len;
			const uint8_t *v = fake_pw_bytes(W, fake_col(S, "eventname"), &len);
			ASSERT_EQ(len, strlen(want));
			ASSERT_TRUE(v && memcmp(v, want, len) == 0);
			v = fake_pw_bytes(W, fake_col(S, "eventid"), &len);
			ASSERT_TRUE(v && len == 1 && v[0] == 'i');
		}
	}
}

/* JSON-text values crossed 64 bytes a step: escaped quotes and backslashes
 * (and brackets inside strings) at every offset of a block, straddling its
 * edge too; the value must come out whole and the next key be found. */
TEST(json_text_escapes_at_block_edges)
{
	static const char *pats[] = {"\\\"", "\\\\", "\\\\\\\"", "\\\\\\\\", "\\u005c", "\\\"\\\""};
	static char val[512], rec[1024];
	for (size_t k = 0; k < sizeof(pats) / sizeof(pats[0]); k++) {
		for (int n = 0; n < 140; n++) {
			snprintf(val, sizeof(val), "{\"a\":\"%.*s%s}]\",\"b\":[{\"c\":\"]\\\\\"}]}", n,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				 pats[k]);
			uint8_t *pv = padded(val, strlen(val));
			ASSERT_EQ(tpq_json_validate(pv, strlen(val), NULL), TPQ_OK);
			free(pv);
			for (int lead = 0; lead < 2; lead++) {
				snprintf(rec, sizeof(rec), "{%s\"requestParameters\":%s,\"eventID\":\"i\"}",
					 lead ? "\"eventName\":\"e\"," : "", val);
				ASSERT_EQ(shred(rec), TPQ_OK);
				size_t len;
				const uint8_t *v = fake_pw_bytes(W, fake_col(S, "requestparameters"), &len);
				ASSERT_EQ(len, strlen(val));
				ASSERT_TRUE(v && memcmp(v, val, len) == 0);
				v = fake_pw_bytes(W, fake_col(S, "eventid"), &len);
				ASSERT_TRUE(v && len == 1 && v[0] == 'i');
			}
		}
	}
}

TEST(fake_writer_catches_bad_rows)
{
	/* the checker used by every test must be able to fail */
	fake_pw_clear(W);
	tpq_pw_put_null(W, 0, 0, 0);
	ASSERT_TRUE(fake_pw_check_row(W) != 0); /* most columns missing */
	fake_pw_clear(W);
	tpq_pw_put_null_node(W, 0, 0, 0);
	ASSERT_EQ(fake_pw_check_row(W), 0);
	tpq_pw_put_null(W, 0, 0, 0); /* a second entry in a non-repeated column */
	ASSERT_TRUE(fake_pw_check_row(W) != 0);
	fake_pw_clear(W);
	tpq_pw_put_null_node(W, 0, 0, 0);
	tpq_pw_put_null(W, fake_col(S, "resources.list.element.arn"), 2, 1);
	ASSERT_TRUE(fake_pw_check_row(W) != 0); /* arn has 2 entries, accountid 1 */
	fake_pw_clear(W);
	tpq_pw_put_null(W, fake_col(S, "eventversion"), 1, 0); /* null at max def */
	ASSERT_TRUE(W->bad);
	fake_pw_clear(W);
}

TEST(node_levels_match_schema)
{
	/* the nodes put_null_node receives are the schema's own */
	ASSERT_EQ(shred("{\"userIdentity\":{\"sessionContext\":null}}"), TPQ_OK);
	int n = fake_node(S, "useridentity.sessioncontext");
	ASSERT_TRUE(n > 0);
	for (int c = S->nodes[n].first_leaf; c < S->nodes[n].first_leaf + S->nodes[n].n_leaves; c++) {
		const char *s = fake_pw_col(W, c);
		ASSERT_STR_EQ(s, "r0d1=null");
	}
	ASSERT_EQ(S->nodes[n].n_leaves, 5 + 3 + 2 + 5);
}

/* ---- the real corpus ---- */

struct corpus {
	size_t files, records, with_unmapped, bytes;
	int failures;
};
static struct corpus g_corpus;

static uint8_t *gunzip(const char *path, size_t *out_len)
{
	size_t clen;
	char *comp = read_file(path, &clen);
	if (!comp)
		return NULL;
	size_t cap = clen * 8 + 1024, n = 0;
	uint8_t *out = malloc(cap + TPQ_CT_PAD);
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		abort();
	z.next_in = (Bytef *)comp;
	z.avail_in = (uInt)clen;
	int rc;
	do {
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap + TPQ_CT_PAD);
		}
		z.next_out = out + n;
		z.avail_out = (uInt)(cap - n);
		rc = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	} while (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0));
	inflateEnd(&z);
	free(comp);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	memset(out + n, 0, TPQ_CT_PAD);
	*out_len = n;
	return out;
}

static int corpus_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	size_t l = strlen(path);
	if (flag != FTW_F)
		return 0;
	uint8_t *buf;
	size_t len;
	if (l > 8 && strcmp(path + l - 8, ".json.gz") == 0) {
		buf = gunzip(path, &len);
	} else if (l > 5 && strcmp(path + l - 5, ".json") == 0) {
		char *t = read_file(path, &len);
		buf = t ? padded(t, len) : NULL;
		free(t);
	} else {
		return 0;
	}
	struct corpus *c = &g_corpus;
	if (!buf) {
		fprintf(stderr, "%s: cannot read\n", path);
		c->failures++;
		return 0;
	}
	c->files++;
	c->bytes += len;
	struct tpq_ct_records r;
	struct tpq_error e;
	tpq_ct_records_init(&r);
	tpq_error_clear(&e);
	if (tpq_ct_split(buf, len, &r, &e) != TPQ_OK) {
		fprintf(stderr, "%s: split: %s (record %lld, offset %lld)\n", path, e.msg,
			(long long)e.record, (long long)e.offset);
		c->failures++;
	}
	int tcol = fake_col(S, "eventtime");
	for (size_t i = 0; i < r.n; i++) {
		fake_pw_clear(W);
		tpq_error_clear(&e);
		if (tpq_ct_shred(SH, W, buf + r.v[i].off, r.v[i].len, &e) != TPQ_OK ||
		    fake_pw_check_row(W) != 0) {
			fprintf(stderr, "%s record %zu: %s %s\n", path, i, e.msg, W->why);
			c->failures++;
			continue;
		}
		c->records++;
		/* pass one and pass two agree on the time */
		int64_t ms = INT64_MIN;
		for (size_t k = 0; k < W->n; k++)
			if (W->v[k].col == tcol && W->v[k].type == FAKE_I64)
				ms = W->v[k].i;
		if (ms != r.v[i].event_ms) {
			fprintf(stderr, "%s record %zu: eventtime %lld vs split %lld\n", path, i,
				(long long)ms, (long long)r.v[i].event_ms);
			c->failures++;
		}
		size_t ulen;
		const uint8_t *u = tpq_ct_shredder_unmapped(SH, &ulen);
		if (u) {
			c->with_unmapped++;
			uint8_t *ub = padded(u, ulen);
			if (tpq_json_validate(ub, ulen, NULL) != TPQ_OK) {
				fprintf(stderr, "%s record %zu: unmapped is not JSON\n", path, i);
				c->failures++;
			}
			free(ub);
		}
	}
	tpq_ct_records_release(&r);
	free(buf);
	return 0;
}

TEST(real_corpus)
{
	memset(&g_corpus, 0, sizeof(g_corpus));
	int rc = nftw("../shared/corpus/dev", corpus_file, 16, FTW_PHYS);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(g_corpus.failures, 0);
	ASSERT_EQ(g_corpus.records, 2124);
	ASSERT_EQ(g_corpus.files, 114);
	printf("corpus: %zu files, %zu records, %zu bytes, %zu with unmapped\n", g_corpus.files,
	       g_corpus.records, g_corpus.bytes, g_corpus.with_unmapped);
}

int main(void)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	if (tpq_ct_table_new(&T, &e) != TPQ_OK) {
		fprintf(stderr, "table: %s\n", e.msg);
		return 1;
	}
	S = tpq_ct_table_schema(T);
	W = fake_pw_new(S);
	const enum tpq_json_impl impls[] = {TPQ_JSON_IMPL_SCALAR, TPQ_JSON_IMPL_SSE2};
	for (size_t i = 0; i < 2; i++) {
		if (tpq_json_set_impl(impls[i]) != impls[i])
			continue;
		SH = tpq_ct_shredder_new(T);
		RUN(data_files);
		RUN(decoded_control_characters);
		RUN(levels_of_every_column_for_empty_record);
		RUN(invalid_records_put_nothing);
		RUN(surrounding_whitespace);
		RUN(many_unknown_and_duplicate_keys);
		RUN(big_values);
		RUN(unmapped_is_valid_json);
		RUN(unmapped_key_order);
		RUN(guessed_keys);
		RUN(string_ends_at_every_offset);
		RUN(json_text_escapes_at_block_edges);
		RUN(null_wrong_and_repeated_fields_put_absence);
		RUN(json_text_at_every_offset);
		RUN(node_levels_match_schema);
		RUN(real_corpus);
		tpq_ct_shredder_free(SH);
	}
	tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	SH = tpq_ct_shredder_new(T);
	RUN(fake_writer_catches_bad_rows);
	tpq_ct_shredder_free(SH);
	fake_pw_free(W);
	tpq_ct_table_free(T);
	return harness_done();
}
