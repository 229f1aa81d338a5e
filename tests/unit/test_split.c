/* Pass one (tpq_ct_split): record spans, eventTime, eventID, content hash,
 * every error class with its exact record index and byte offset, and the
 * RFC 3339 parser. Every test runs under each block-scan implementation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudtrail/records.h"
#include "json/hash.h"
#include "harness.h"
#include "util/error.h"

int main(void);

struct split {
	uint8_t *buf;
	size_t len;
	struct tpq_ct_records r;
	struct tpq_error err;
	enum tpq_status st;
};

static void split_n(struct split *s, const char *doc, size_t n)
{
	s->buf = malloc(n + TPQ_CT_PAD);
	memcpy(s->buf, doc, n);
	memset(s->buf + n, '}', TPQ_CT_PAD); /* never trusted */
	s->len = n;
	tpq_ct_records_init(&s->r);
	tpq_error_clear(&s->err);
	s->st = tpq_ct_split(s->buf, n, &s->r, &s->err);
}

static void split(struct split *s, const char *doc)
{
	split_n(s, doc, strlen(doc));
}

static void done(struct split *s)
{
	tpq_ct_records_release(&s->r);
	free(s->buf);
}

/* The record's bytes as a string (static buffer). */
static const char *rec_text(const struct split *s, size_t i)
{
	static char out[4096];
	size_t n = s->r.v[i].len < sizeof(out) - 1 ? s->r.v[i].len : sizeof(out) - 1;
	memcpy(out, s->buf + s->r.v[i].off, n);
	out[n] = '\0';
	return out;
}

static const char *rec_id(const struct split *s, size_t i)
{
	static char out[256];
	size_t n = s->r.v[i].id_len < sizeof(out) - 1 ? s->r.v[i].id_len : sizeof(out) - 1;
	memcpy(out, s->buf + s->r.v[i].id_off, n);
	out[n] = '\0';
	return out;
}

/* Expects failure with this status, record, offset and message. */
static void fails(const char *doc, enum tpq_status st, int64_t rec, int64_t off, const char *msg)
{
	struct split s;
	split(&s, doc);
	ASSERT_EQ(s.st, st);
	ASSERT_EQ(s.err.record, rec);
	ASSERT_EQ(s.err.offset, off);
	ASSERT_STR_EQ(s.err.msg, msg);
	ASSERT_EQ(s.r.n, 0);
	if (s.st != st || s.err.record != rec || s.err.offset != off)
		fprintf(stderr, "  input: %s\n", doc);
	done(&s);
}

TEST(basic)
{
	struct split s;
	split(&s, "{\"Records\":[{\"eventID\":\"id-1\",\"eventTime\":\"2020-01-02T03:04:05Z\"},"
		  " {\"eventTime\":\"2020-01-02T03:04:05.678Z\", \"x\":[1,{}]} ]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 2);
	ASSERT_EQ(s.r.other_keys, 0);
	ASSERT_EQ(s.r.v[0].off, 12);
	ASSERT_STR_EQ(rec_text(&s, 0), "{\"eventID\":\"id-1\",\"eventTime\":\"2020-01-02T03:04:05Z\"}");
	ASSERT_EQ(s.r.v[0].event_ms, INT64_C(1577934245000));
	ASSERT_TRUE(s.r.v[0].has_id);
	ASSERT_STR_EQ(rec_id(&s, 0), "id-1");
	ASSERT_STR_EQ(rec_text(&s, 1), "{\"eventTime\":\"2020-01-02T03:04:05.678Z\", \"x\":[1,{}]}");
	ASSERT_EQ(s.r.v[1].event_ms, INT64_C(1577934245678));
	ASSERT_TRUE(!s.r.v[1].has_id);
	done(&s);
}

TEST(empty_and_whitespace)
{
	const char *docs[] = {
		"{\"Records\":[]}",
		" \n{ \"Records\" : [ ] } \n",
		"\t{\r\n\"Records\"\t:\r\n[\r\n]\r\n}\t",
	};
	for (size_t i = 0; i < 3; i++) {
		struct split s;
		split(&s, docs[i]);
		ASSERT_EQ(s.st, TPQ_OK);
		ASSERT_EQ(s.r.n, 0);
		done(&s);
	}
	struct split s;
	split(&s, "\n{\n  \"Records\" : [\n    {\n      \"eventID\" : \"a\"\n    } ,\n    { }\n  ]\n}\n");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 2);
	ASSERT_STR_EQ(rec_text(&s, 0), "{\n      \"eventID\" : \"a\"\n    }");
	ASSERT_STR_EQ(rec_text(&s, 1), "{ }");
	ASSERT_STR_EQ(rec_id(&s, 0), "a");
	done(&s);
}

TEST(other_top_level_keys)
{
	struct split s;
	split(&s, "{\"foo\":1,\"Records\":[{}],\"bar\":{\"Records\":5},\"baz\":[{\"eventID\":1}]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 1);
	ASSERT_EQ(s.r.other_keys, 3);
	done(&s);
	/* a repeated Records: the last one wins, even when it is empty */
	split(&s, "{\"Records\":[{\"eventID\":\"a\"},{}],\"Records\":[{\"eventID\":\"b\"}]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 1);
	ASSERT_STR_EQ(rec_id(&s, 0), "b");
	ASSERT_EQ(s.r.other_keys, 1);
	done(&s);
	split(&s, "{\"Records\":[{},{}],\"Records\":[]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 0);
	done(&s);
	/* the key matched after decoding escapes; "records" is another key */
	split(&s, "{\"records\":[{}],\"Rec\\u006frds\":[{},{}]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 2);
	ASSERT_EQ(s.r.other_keys, 1);
	done(&s);
}

TEST(shape_errors)
{
	fails("[]", TPQ_ECORRUPT, -1, 0, "not a CloudTrail file: top level is not an object");
	fails(" \"Records\"", TPQ_ECORRUPT, -1, 1, "not a CloudTrail file: top level is not an object");
	fails("{}", TPQ_ECORRUPT, -1, 1, "not a CloudTrail file: no Records array");
	fails("{\"foo\":[{}]} ", TPQ_ECORRUPT, -1, 11, "not a CloudTrail file: no Records array");
	fails("{\"Records\":{}}", TPQ_ECORRUPT, -1, 11, "Records is not an array");
	fails("{\"Records\": null}", TPQ_ECORRUPT, -1, 12, "Records is not an array");
	fails("{\"Records\":[],\"Records\":\"x\"}", TPQ_ECORRUPT, -1, 24, "Records is not an array");
	fails("{\"Records\":[{},5]}", TPQ_ECORRUPT, 1, 15, "record 1 is not an object");
	fails("{\"Records\":[{}, {}, [] ]}", TPQ_ECORRUPT, 2, 20, "record 2 is not an object");
	fails("{\"Records\":[null]}", TPQ_ECORRUPT, 0, 12, "record 0 is not an object");
	fails("{\"Records\":[\"{}\"]}", TPQ_ECORRUPT, 0, 12, "record 0 is not an object");
	/* a syntax error where a record should start is a syntax error */
	fails("{\"Records\":[{},]}", TPQ_ECORRUPT, -1, 15, "invalid JSON: expected a value");
}

TEST(syntax_errors_with_position)
{
	/* inside record 2 */
	fails("{\"Records\":[{},{},{\"a\":1,}]}", TPQ_ECORRUPT, 2, 25,
	      "invalid JSON: expected a string key");
	fails("{\"Records\":[{},{\"a\":[1 2]}]}", TPQ_ECORRUPT, 1, 23, "invalid JSON: expected ',' or ']'");
	fails("{\"Records\":[{\"a\":01}]}", TPQ_ECORRUPT, 0, 18, "invalid JSON: leading zero in number");
	fails("{\"Records\":[{\"a\":NaN}]}", TPQ_ECORRUPT, 0, 17, "invalid JSON: expected a value");
	fails("{\"Records\":[{\"a\":\"x\ty\"}]}", TPQ_ECORRUPT, 0, 19,
	      "invalid JSON: control character in string");
	/* between records: outside any record */
	fails("{\"Records\":[{} {}]}", TPQ_ECORRUPT, -1, 15, "invalid JSON: expected ',' or ']'");
	fails("{\"Records\":[{}] \"x\"}", TPQ_ECORRUPT, -1, 16, "invalid JSON: expected ',' or '}'");
	/* after the document */
	fails("{\"Records\":[{}]} {", TPQ_ECORRUPT, -1, 17,
	      "invalid JSON: trailing characters after the document");
	fails("{\"Records\":[{}]}\n\x01", TPQ_ECORRUPT, -1, 17,
	      "invalid JSON: trailing characters after the document");
	/* truncated (a cut gzip stream) */
	fails("{\"Records\":[{},{\"eventID\":\"ab", TPQ_ECORRUPT, 1, 29, "invalid JSON: unterminated string");
	fails("{\"Records\":[{},{\"eventID\":\"ab\"", TPQ_ECORRUPT, 1, 30, "invalid JSON: unexpected end of input");
	fails("{\"Records\":[{}", TPQ_ECORRUPT, -1, 14, "invalid JSON: unexpected end of input");
	fails("{\"Records\":[{}]", TPQ_ECORRUPT, -1, 15, "invalid JSON: unexpected end of input");
	fails("", TPQ_ECORRUPT, -1, 0, "invalid JSON: unexpected end of input");
	/* not JSON at all */
	fails("PK\x03\x04", TPQ_ECORRUPT, -1, 0, "invalid JSON: expected a value");
	fails("\x1f\x8b\x08", TPQ_ECORRUPT, -1, 0, "invalid JSON: expected a value");
}

TEST(utf8_errors)
{
	fails("{\"Records\":[{},{\"userAgent\":\"caf\xC3\"}]}", TPQ_ECORRUPT, 1, 32, "invalid UTF-8");
	fails("{\"Records\":[{\"k\":\"\xED\xA0\x80\"}]}", TPQ_ECORRUPT, 0, 18, "invalid UTF-8");
	fails("{\"Records\":[{\"\xC0\xAF\":1}]}", TPQ_ECORRUPT, 0, 14, "invalid UTF-8");
	fails("{\"Rec\xFFrds\":[]}", TPQ_ECORRUPT, -1, 5, "invalid UTF-8");
	struct split s;
	split(&s, "{\"Records\":[{\"userAgent\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\",\"x\":\"\\ud800\"}]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 1);
	done(&s);
}

TEST(deep_nesting)
{
	size_t n = 100000;
	size_t cap = 2 * n + 64;
	char *d = malloc(cap);
	size_t k = 0;
	k += (size_t)sprintf(d, "{\"Records\":[{\"a\":");
	size_t open_at = k;
	memset(d + k, '[', n);
	k += n;
	memset(d + k, ']', n);
	k += n;
	strcpy(d + k, "}]}");
	struct split s;
	split(&s, d);
	ASSERT_EQ(s.st, TPQ_ELIMIT);
	ASSERT_EQ(s.err.record, 0);
	/* depth 3 is the record: the limit is reached 3 brackets early */
	ASSERT_EQ(s.err.offset, (int64_t)(open_at + TPQ_JSON_MAX_DEPTH - 3));
	ASSERT_EQ(s.r.n, 0);
	done(&s);
	/* 1,000 deep inside a record is fine */
	k = open_at;
	memset(d + k, '[', 1000);
	k += 1000;
	memset(d + k, ']', 1000);
	k += 1000;
	strcpy(d + k, "},{}]}");
	split(&s, d);
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 2);
	ASSERT_EQ(s.r.v[0].len, 2000 + 6);
	done(&s);
	free(d);
}

TEST(big_request_parameters)
{
	size_t n = 100 * 1024;
	char *d = malloc(n + 256);
	size_t k = (size_t)sprintf(d, "{\"Records\":[{\"eventID\":\"x\",\"requestParameters\":{\"policy\":\"");
	for (size_t i = 0; i < n; i++)
		d[k++] = (char)(i % 64 == 63 ? ' ' : 'A' + i % 26);
	k += (size_t)sprintf(d + k, "\"},\"eventTime\":\"2021-06-01T00:00:00Z\"}]}");
	struct split s;
	split_n(&s, d, k);
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 1);
	ASSERT_EQ(s.r.v[0].len, k - 14);
	ASSERT_EQ(s.r.v[0].event_ms, INT64_C(1622505600000));
	ASSERT_STR_EQ(rec_id(&s, 0), "x");
	done(&s);
	free(d);
}

TEST(captures_last_wins)
{
	struct split s;
	split(&s, "{\"Records\":[{\"eventTime\":\"2020-01-01T00:00:00Z\",\"eventID\":\"a\","
		  "\"eventTime\":\"2020-01-01T00:00:01Z\",\"eventID\":7},"
		  "{\"eventTime\":5,\"eventID\":\"b\\u0041\",\"nested\":{\"eventID\":\"no\",\"eventTime\":\"x\"}},"
		  "{\"eventTime\":\"2020-01-01T00:00:00\\u005a\",\"event\\u0049D\":\"c\"},"
		  "{\"eventTime\":\"not a time\",\"eventID\":\"d\",\"eventID\":\"e\"}]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 4);
	ASSERT_EQ(s.r.v[0].event_ms, INT64_C(1577836801000));
	ASSERT_TRUE(!s.r.v[0].has_id);
	ASSERT_EQ(s.r.v[1].event_ms, INT64_MIN);
	ASSERT_TRUE(s.r.v[1].has_id);
	ASSERT_STR_EQ(rec_id(&s, 1), "b\\u0041"); /* raw, not decoded */
	ASSERT_EQ(s.r.v[2].event_ms, INT64_C(1577836800000));
	ASSERT_STR_EQ(rec_id(&s, 2), "c");
	ASSERT_EQ(s.r.v[3].event_ms, INT64_MIN);
	ASSERT_STR_EQ(rec_id(&s, 3), "e");
	done(&s);
}

/* The record hash of long records (hashed in pieces while they are crossed)
 * equals the one-shot tpq_hash128 of the record with its insignificant
 * whitespace removed, compact or spread out, at every length around the
 * piece size. */
TEST(hash_long_records_as_one_shot)
{
	char *doc = malloc(1024 * 1024), *compact = malloc(16 * 1024);
	for (int variant = 0; variant < 2; variant++) {
		size_t k = (size_t)sprintf(doc, "{\"Records\":[");
		size_t starts[120], ends[120];
		for (int r = 0; r < 120; r++) {
			/* records of 18 to about 6,000 bytes; values with significant spaces */
			starts[r] = k;
			if (variant)
				k += (size_t)sprintf(doc + k, "{ \n\"eventID\" :\t\"id%d\"", r);
			else
				k += (size_t)sprintf(doc + k, "{\"eventID\":\"id%d\"", r);
			for (int f = 0; f < r; f++) {
				char *o = doc + k;
				int m = variant ? sprintf(o, " ,\r\n \"k%d\" :[ %d ,\"a b\" ,{ }]",
							  f, f * r)
						: sprintf(o, ",\"k%d\":[%d,\"a b\",{}]", f, f * r);
				k += (size_t)m;
			}
			doc[k++] = '}';
			ends[r] = k;
			if (r < 119)
				doc[k++] = ',';
		}
		k += (size_t)sprintf(doc + k, "]}");
		struct split s;
		split_n(&s, doc, k);
		ASSERT_EQ(s.st, TPQ_OK);
		ASSERT_EQ(s.r.n, 120);
		for (size_t r = 0; r < 120 && r < s.r.n; r++) {
			size_t n = 0;
			bool in_str = false;
			for (size_t i = starts[r]; i < ends[r]; i++) {
				char c = doc[i];
				if (in_str || !(c == ' ' || c == '\t' || c == '\n' || c == '\r'))
					compact[n++] = c;
				if (c == '"')
					in_str = !in_str;
			}
			uint64_t h[2];
			tpq_hash128(compact, n, h);
			ASSERT_U64_EQ(s.r.v[r].hash[0], h[0]);
			ASSERT_U64_EQ(s.r.v[r].hash[1], h[1]);
		}
		done(&s);
	}
	free(doc);
	free(compact);
}

TEST(hash_whitespace_only)
{
	struct split s;
	split(&s, "{\"Records\":["
		  "{\"a\":\"x y\",\"b\":[1,2,{\"c\":null}],\"d\":true},"
		  " {\n \"a\" : \"x y\" ,\r\n\t\"b\":[ 1 , 2 , { \"c\" : null } ] , \"d\" : true }\n,"
		  "{\"a\":\"x  y\",\"b\":[1,2,{\"c\":null}],\"d\":true},"
		  "{\"a\":\"x y\",\"b\":[1,2,{\"c\":null}],\"d\":false},"
		  "{\"b\":[1,2,{\"c\":null}],\"a\":\"x y\",\"d\":true},"
		  "{\"a\":\"x y\",\"b\":[12,{\"c\":null}],\"d\":true},"
		  "{\"a\":\"x\\u0020y\",\"b\":[1,2,{\"c\":null}],\"d\":true}"
		  "]}");
	ASSERT_EQ(s.st, TPQ_OK);
	ASSERT_EQ(s.r.n, 7);
	ASSERT_U64_EQ(s.r.v[0].hash[0], s.r.v[1].hash[0]);
	ASSERT_U64_EQ(s.r.v[0].hash[1], s.r.v[1].hash[1]);
	for (size_t i = 2; i < 7; i++) {
		for (size_t j = 0; j < i; j++) {
			ASSERT_TRUE(s.r.v[i].hash[0] != s.r.v[j].hash[0]);
			ASSERT_TRUE(s.r.v[i].hash[1] != s.r.v[j].hash[1]);
		}
	}
	done(&s);
	/* every single-byte edit of a record's content changes the hash */
	const char *base = "{\"Records\":[{\"eventID\":\"abc\",\"n\":[1,2.5,true,null],\"s\":\"q\"}]}";
	split(&s, base);
	uint64_t h0 = s.r.v[0].hash[0];
	done(&s);
	char doc[128];
	size_t bn = strlen(base);
	for (size_t i = 13; i < bn - 3; i++) {
		for (const char *rep = "0123456789aeEnqtru\",[]{} "; *rep; rep++) {
			if (*rep == base[i])
				continue;
			memcpy(doc, base, bn + 1);
			doc[i] = *rep;
			split(&s, doc);
			if (s.st == TPQ_OK && s.r.n == 1) {
				bool only_ws = *rep == ' '; /* replacing a byte by a space deletes it */
				if (!only_ws)
					ASSERT_TRUE(s.r.v[0].hash[0] != h0);
			}
			done(&s);
		}
	}
}

TEST(size_limit)
{
	uint8_t tiny[TPQ_CT_PAD + 1] = {0};
	struct tpq_ct_records r;
	struct tpq_error e;
	tpq_ct_records_init(&r);
	tpq_error_clear(&e);
	/* refused before any byte is read */
	ASSERT_EQ(tpq_ct_split(tiny, (size_t)UINT32_MAX + 5, &r, &e), TPQ_ELIMIT);
	ASSERT_EQ(r.n, 0);
	tpq_ct_records_release(&r);
}

TEST(null_error_is_fine)
{
	const char *d = "{\"Records\":[1]}";
	uint8_t b[64 + TPQ_CT_PAD] = {0};
	memcpy(b, d, strlen(d));
	struct tpq_ct_records r;
	tpq_ct_records_init(&r);
	ASSERT_EQ(tpq_ct_split(b, strlen(d), &r, NULL), TPQ_ECORRUPT);
	tpq_ct_records_release(&r);
}

static int pt(const char *s, int64_t *ms)
{
	*ms = INT64_MIN;
	return tpq_ct_parse_time((const uint8_t *)s, strlen(s), ms);
}

TEST(parse_time)
{
	int64_t ms;
	ASSERT_EQ(pt("2020-01-02T03:04:05Z", &ms), 2);
	ASSERT_EQ(ms, INT64_C(1577934245000));
	ASSERT_EQ(pt("2020-01-02T03:04:05.678Z", &ms), 2);
	ASSERT_EQ(ms, INT64_C(1577934245678));
	ASSERT_EQ(pt("1970-01-01T00:00:00Z", &ms), 2);
	ASSERT_EQ(ms, 0);
	/* parseable, not canonical */
	ASSERT_EQ(pt("2020-01-02T03:04:05.6Z", &ms), 1);
	ASSERT_EQ(ms, INT64_C(1577934245600));
	ASSERT_EQ(pt("2020-01-02T03:04:05.6789999Z", &ms), 1); /* truncated to ms */
	ASSERT_EQ(ms, INT64_C(1577934245678));
	ASSERT_EQ(pt("2020-01-02t03:04:05z", &ms), 1);
	ASSERT_EQ(ms, INT64_C(1577934245000));
	ASSERT_EQ(pt("2020-01-02T03:04:05+00:00", &ms), 1);
	ASSERT_EQ(ms, INT64_C(1577934245000));
	ASSERT_EQ(pt("2020-01-02T03:04:05-05:30", &ms), 1);
	ASSERT_EQ(ms, INT64_C(1577954045000));
	ASSERT_EQ(pt("2020-01-02T03:04:05.123+01:00", &ms), 1);
	ASSERT_EQ(ms, INT64_C(1577930645123));
	ASSERT_EQ(pt("1969-12-31T23:59:59.999Z", &ms), 2);
	ASSERT_EQ(ms, -1);
	ASSERT_EQ(pt("9999-12-31T23:59:59.999Z", &ms), 2);
	ASSERT_EQ(ms, INT64_C(253402300799999));
	ASSERT_EQ(pt("0000-01-01T00:00:00Z", &ms), 2);
	ASSERT_EQ(ms, INT64_C(-62167219200000));
	/* leap years */
	ASSERT_EQ(pt("2000-02-29T23:59:59.999Z", &ms), 2);
	ASSERT_EQ(ms, INT64_C(951868799999));
	ASSERT_EQ(pt("2020-02-29T00:00:00Z", &ms), 2);
	ASSERT_EQ(pt("2021-02-29T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("1900-02-29T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-04-31T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-12-31T00:00:00Z", &ms), 2);
	ASSERT_EQ(pt("2021-12-32T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-13-01T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-00-01T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-00T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T24:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T23:60:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T23:59:60Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00+24:00", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00+01:60", &ms), 0);
	/* malformed */
	ASSERT_EQ(pt("", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00", &ms), 0);
	ASSERT_EQ(pt("2021-01-01 00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00.Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00ZZ", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00+0100", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:00+01:00 ", &ms), 0);
	ASSERT_EQ(pt("21-01-01T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-1-01T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("+021-01-01T00:00:00Z", &ms), 0);
	ASSERT_EQ(pt("2021-01-01T00:00:0xZ", &ms), 0);
	ASSERT_EQ(ms, INT64_MIN);
	/* a byte just below '0' or just above '9' at every digit position */
	static const int dpos[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24};
	for (size_t i = 0; i < sizeof(dpos) / sizeof(dpos[0]); i++) {
		for (int bad = 0; bad < 2; bad++) {
			char t[] = "2021-01-01T00:00:00+01:00";
			t[dpos[i]] = bad ? ':' : '/';
			ASSERT_EQ(pt(t, &ms), 0);
		}
	}
	ASSERT_EQ(pt("2021-01-01T00:00:00+01:00", &ms), 1);
	/* through escapes */
	bool canon;
	const char *raw = "2020-01-02T03:04:05\\u005a";
	ASSERT_EQ(tpq_ct_event_ms((const uint8_t *)raw, strlen(raw), true, &canon),
		  INT64_C(1577934245000));
	ASSERT_TRUE(canon);
	raw = "2020-01-02T03:04:05\\ud800";
	ASSERT_EQ(tpq_ct_event_ms((const uint8_t *)raw, strlen(raw), true, &canon), INT64_MIN);
}

static void run_all(void)
{
	RUN(basic);
	RUN(empty_and_whitespace);
	RUN(other_top_level_keys);
	RUN(shape_errors);
	RUN(syntax_errors_with_position);
	RUN(utf8_errors);
	RUN(deep_nesting);
	RUN(big_request_parameters);
	RUN(captures_last_wins);
	RUN(hash_long_records_as_one_shot);
	RUN(hash_whitespace_only);
	RUN(size_limit);
	RUN(null_error_is_fine);
}

int main(void)
{
	const enum tpq_json_impl impls[] = {TPQ_JSON_IMPL_SCALAR, TPQ_JSON_IMPL_SSE2};
	for (size_t i = 0; i < 2; i++)
		if (tpq_json_set_impl(impls[i]) == impls[i])
			run_all();
	tpq_json_set_impl(TPQ_JSON_IMPL_AUTO);
	RUN(parse_time);
	return harness_done();
}
