/* Writes the Parquet writer's interop test files: gen_writer_files OUTDIR.
 *
 * One schema covers every type and nesting case trailpq writes: top-level
 * BOOLEAN, INT32, INT64 (beyond 2^53), STRING (non-ASCII too) and
 * TIMESTAMP(MILLIS, UTC); a struct with a nested struct (NULL struct vs struct
 * of NULLs); a LIST of strings (NULL list, empty list, NULL element); a MAP
 * with NULL values; a LIST of structs; a LIST of LISTs; a required group.
 * Each file is written with other options (codec, dictionary, fallback,
 * pages, row groups, CRCs), and next to FILE.parquet goes FILE.jsonl: the
 * rows in the canonical form of tests/interop/readers.mjs (INT64 as decimal
 * strings, timestamps as integer milliseconds, maps as [key, value] pairs,
 * every struct field present, NULL as null). Everything is deterministic.
 *
 * Prints one line per file: NAME CODEC. Exit status 0 on success. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "io/sink.h"
#include "parquet/schema.h"
#include "parquet/writer.h"

/* Leaf columns in schema order. */
enum {
	C_ID, C_B, C_I32, C_I64, C_S, C_TS, C_ST_A, C_ST_B, C_ST_X, C_L, C_M_K, C_M_V, C_LS_K,
	C_LS_V, C_LL, C_RQ_T, C_RQ_U, N_COLS
};

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng >> 33) % n);
}

/* The row's JSON text. */
static char row[1 << 16];
static size_t rl;

static void jcat(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(row + rl, sizeof(row) - rl, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(row) - rl) {
		fprintf(stderr, "gen_writer_files: row too long\n");
		exit(1);
	}
	rl += (size_t)n;
}

/* A JSON string (the input is valid UTF-8; only quotes, backslash and controls escape). */
static void jstr(const char *s)
{
	jcat("\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			jcat("\\%c", *p);
		else if (*p < 0x20)
			jcat("\\u%04x", *p);
		else
			jcat("%c", *p);
	}
	jcat("\"");
}

static const char *const words[] = {
	"alpha", "beta", "gamma", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "", "with \"quote\"",
	"tab\there", "zz-last",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

struct spec {
	const char *name;
	enum tpq_codec codec;
	bool dictionary;
	bool page_crc;
	size_t page_bytes;
	int64_t row_group_rows;
	size_t dict_max_bytes;
	int rows;
	bool distinct;   /* s becomes all distinct after the first rows (dictionary fallback) */
};

static struct tpq_pw *W;

static void put_str(int col, int rep, const char *s)
{
	tpq_pw_put_bytes(W, col, rep, s, strlen(s));
}

/* Optional top-level string, dictionary-friendly unless spec->distinct. */
static void gen_scalars(const struct spec *sp, int r)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "id-%06d", r);
	put_str(C_ID, 0, buf);
	jcat("\"id\":");
	jstr(buf);

	if (r % 7 == 3) {
		tpq_pw_put_null(W, C_B, 0, 0);
		jcat(",\"b\":null");
	} else {
		bool b = rnd(2);
		tpq_pw_put_bool(W, C_B, 0, b);
		jcat(",\"b\":%s", b ? "true" : "false");
	}

	if (r % 5 == 1) {
		tpq_pw_put_null(W, C_I32, 0, 0);
		jcat(",\"i32\":null");
	} else {
		int32_t v = r % 11 == 0 ? INT32_MIN + r : r % 13 == 0 ? INT32_MAX - r
			    : (int32_t)rnd(2000) - 1000;
		tpq_pw_put_i32(W, C_I32, 0, v);
		jcat(",\"i32\":%" PRId32, v);
	}

	if (r % 6 == 2) {
		tpq_pw_put_null(W, C_I64, 0, 0);
		jcat(",\"i64\":null");
	} else {
		int64_t v = r % 4 == 0 ? INT64_MIN + r : r % 4 == 1 ? (INT64_C(1) << 53) + 1 + r
			    : (int64_t)rnd(100000) - 50000;
		tpq_pw_put_i64(W, C_I64, 0, v);
		jcat(",\"i64\":\"%" PRId64 "\"", v);
	}

	if (r % 9 == 4) {
		tpq_pw_put_null(W, C_S, 0, 0);
		jcat(",\"s\":null");
	} else {
		const char *s = words[rnd(N_WORDS)];
		if (sp->distinct && r >= 50) {
			snprintf(buf, sizeof(buf), "distinct-%08d-%u", r, rnd(1000000));
			s = buf;
		}
		put_str(C_S, 0, s);
		jcat(",\"s\":");
		jstr(s);
	}

	if (r % 10 == 5) {
		tpq_pw_put_null(W, C_TS, 0, 0);
		jcat(",\"ts\":null");
	} else {
		int64_t ts = INT64_C(1700000000000) + (int64_t)r * 1000 + rnd(1000);
		if (r == 0)
			ts = -86400000;  /* before the epoch */
		tpq_pw_put_i64(W, C_TS, 0, ts);
		jcat(",\"ts\":%" PRId64, ts);
	}
}

/* st: optional group { a: optional string, b: optional int64, inner: optional group
 * { x: optional int32 } }: NULL struct, struct of NULLs, partly and fully set. */
static void gen_struct(int r)
{
	int shape = r % 5;
	if (shape == 0) {  /* NULL struct */
		tpq_pw_put_null(W, C_ST_A, 0, 0);
		tpq_pw_put_null(W, C_ST_B, 0, 0);
		tpq_pw_put_null(W, C_ST_X, 0, 0);
		jcat(",\"st\":null");
		return;
	}
	jcat(",\"st\":{");
	if (shape == 1) {  /* struct of NULLs, inner struct NULL */
		tpq_pw_put_null(W, C_ST_A, 1, 0);
		tpq_pw_put_null(W, C_ST_B, 1, 0);
		tpq_pw_put_null(W, C_ST_X, 1, 0);
		jcat("\"a\":null,\"b\":null,\"inner\":null}");
		return;
	}
	const char *a = words[rnd(N_WORDS)];
	put_str(C_ST_A, 0, a);
	jcat("\"a\":");
	jstr(a);
	if (shape == 2) {
		tpq_pw_put_null(W, C_ST_B, 1, 0);
		jcat(",\"b\":null");
	} else {
		int64_t b = (int64_t)r * 1000000007;
		tpq_pw_put_i64(W, C_ST_B, 0, b);
		jcat(",\"b\":\"%" PRId64 "\"", b);
	}
	if (shape == 3) {  /* inner struct of NULLs */
		tpq_pw_put_null(W, C_ST_X, 2, 0);
		jcat(",\"inner\":{\"x\":null}}");
	} else {
		int32_t x = -r;
		tpq_pw_put_i32(W, C_ST_X, 0, x);
		jcat(",\"inner\":{\"x\":%" PRId32 "}}", x);
	}
}

/* l: optional LIST<optional string>: NULL, empty, with NULL elements. */
static void gen_list(int r)
{
	int shape = r % 6;
	if (shape == 0) {
		tpq_pw_put_null(W, C_L, 0, 0);
		jcat(",\"l\":null");
		return;
	}
	if (shape == 1) {
		tpq_pw_put_null(W, C_L, 1, 0);
		jcat(",\"l\":[]");
		return;
	}
	int n = 1 + (int)rnd(4);
	jcat(",\"l\":[");
	for (int i = 0; i < n; i++) {
		if (i)
			jcat(",");
		if (shape == 2 && i == n / 2) {
			tpq_pw_put_null(W, C_L, 2, i ? 1 : 0);
			jcat("null");
		} else {
			const char *s = words[rnd(N_WORDS)];
			put_str(C_L, i ? 1 : 0, s);
			jstr(s);
		}
	}
	jcat("]");
}

/* m: optional MAP<string, optional string>: NULL, empty, NULL values. */
static void gen_map(int r)
{
	int shape = r % 4;
	if (shape == 0 || shape == 1) {
		tpq_pw_put_null(W, C_M_K, shape, 0);
		tpq_pw_put_null(W, C_M_V, shape, 0);
		jcat(shape == 0 ? ",\"m\":null" : ",\"m\":[]");
		return;
	}
	int n = 1 + (int)rnd(3);
	jcat(",\"m\":[");
	for (int i = 0; i < n; i++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", i);
		int rep = i ? 1 : 0;
		put_str(C_M_K, rep, key);
		jcat("%s[", i ? "," : "");
		jstr(key);
		if (shape == 2 && i == 0) {
			tpq_pw_put_null(W, C_M_V, 2, rep);
			jcat(",null]");
		} else {
			const char *v = words[rnd(N_WORDS)];
			put_str(C_M_V, rep, v);
			jcat(",");
			jstr(v);
			jcat("]");
		}
	}
	jcat("]");
}

/* ls: optional LIST<optional group { k: optional string, v: optional int64 }>. */
static void gen_list_of_structs(int r)
{
	int shape = r % 5;
	if (shape == 0 || shape == 1) {
		tpq_pw_put_null(W, C_LS_K, shape, 0);
		tpq_pw_put_null(W, C_LS_V, shape, 0);
		jcat(shape == 0 ? ",\"ls\":null" : ",\"ls\":[]");
		return;
	}
	int n = 1 + (int)rnd(3);
	jcat(",\"ls\":[");
	for (int i = 0; i < n; i++) {
		int rep = i ? 1 : 0;
		if (i)
			jcat(",");
		if (shape == 2 && i == 0) {  /* a NULL struct element */
			tpq_pw_put_null(W, C_LS_K, 2, rep);
			tpq_pw_put_null(W, C_LS_V, 2, rep);
			jcat("null");
		} else if (shape == 3 && i == 0) {  /* a struct of NULLs */
			tpq_pw_put_null(W, C_LS_K, 3, rep);
			tpq_pw_put_null(W, C_LS_V, 3, rep);
			jcat("{\"k\":null,\"v\":null}");
		} else {
			const char *k = words[rnd(N_WORDS)];
			int64_t v = (int64_t)rnd(1000) - 500;
			put_str(C_LS_K, rep, k);
			tpq_pw_put_i64(W, C_LS_V, rep, v);
			jcat("{\"k\":");
			jstr(k);
			jcat(",\"v\":\"%" PRId64 "\"}", v);
		}
	}
	jcat("]");
}

/* ll: optional LIST<optional LIST<optional int32>>: def 0 NULL, 1 empty, 2 NULL inner
 * list, 3 empty inner list, 4 NULL inner element, 5 value; rep 1 a new outer element,
 * 2 a new inner element. */
static void gen_nested_list(int r)
{
	int shape = r % 4;
	if (shape == 0 || shape == 1) {
		tpq_pw_put_null(W, C_LL, shape, 0);
		jcat(shape == 0 ? ",\"ll\":null" : ",\"ll\":[]");
		return;
	}
	int n = 1 + (int)rnd(3);
	jcat(",\"ll\":[");
	for (int i = 0; i < n; i++) {
		int rep = i ? 1 : 0;
		if (i)
			jcat(",");
		int kind = shape == 2 ? i % 3 : 2;
		if (kind == 0) {
			tpq_pw_put_null(W, C_LL, 2, rep);
			jcat("null");
		} else if (kind == 1) {
			tpq_pw_put_null(W, C_LL, 3, rep);
			jcat("[]");
		} else {
			int m = 1 + (int)rnd(3);
			jcat("[");
			for (int j = 0; j < m; j++) {
				int rp = j ? 2 : rep;
				if (j)
					jcat(",");
				if (j == 1 && shape == 3) {
					tpq_pw_put_null(W, C_LL, 4, rp);
					jcat("null");
				} else {
					int32_t v = (int32_t)(r * 10 + j);
					tpq_pw_put_i32(W, C_LL, rp, v);
					jcat("%" PRId32, v);
				}
			}
			jcat("]");
		}
	}
	jcat("]");
}

static void gen_required_group(int r)
{
	tpq_pw_put_i32(W, C_RQ_T, 0, r);
	if (r % 2) {
		tpq_pw_put_null(W, C_RQ_U, 0, 0);
		jcat(",\"rq\":{\"t\":%d,\"u\":null}", r);
	} else {
		tpq_pw_put_bool(W, C_RQ_U, 0, r % 4 == 0);
		jcat(",\"rq\":{\"t\":%d,\"u\":%s}", r, r % 4 == 0 ? "true" : "false");
	}
}

static int build_schema(struct tpq_schema *s)
{
	if (tpq_schema_init(s))
		return -1;
	tpq_schema_string(s, 0, "id", TPQ_REQUIRED, TPQ_COL_BLOOM);
	tpq_schema_leaf(s, 0, "b", TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL, 0);
	tpq_schema_leaf(s, 0, "i32", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
	tpq_schema_leaf(s, 0, "i64", TPQ_OPTIONAL, TPQ_T_INT64, NULL, 0);
	tpq_schema_string(s, 0, "s", TPQ_OPTIONAL, TPQ_COL_BLOOM);
	tpq_schema_timestamp_ms(s, 0, "ts", TPQ_OPTIONAL, 0);
	int st = tpq_schema_group(s, 0, "st", TPQ_OPTIONAL);
	tpq_schema_string(s, st, "a", TPQ_OPTIONAL, TPQ_COL_BLOOM);
	tpq_schema_leaf(s, st, "b", TPQ_OPTIONAL, TPQ_T_INT64, NULL, 0);
	int inner = tpq_schema_group(s, st, "inner", TPQ_OPTIONAL);
	tpq_schema_leaf(s, inner, "x", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
	int l = tpq_schema_list(s, 0, "l", TPQ_OPTIONAL);
	tpq_schema_string(s, l, "element", TPQ_OPTIONAL, 0);
	int m = tpq_schema_map(s, 0, "m", TPQ_OPTIONAL);
	tpq_schema_string(s, m, "key", TPQ_REQUIRED, 0);
	tpq_schema_string(s, m, "value", TPQ_OPTIONAL, 0);
	int ls = tpq_schema_list(s, 0, "ls", TPQ_OPTIONAL);
	int el = tpq_schema_group(s, ls, "element", TPQ_OPTIONAL);
	tpq_schema_string(s, el, "k", TPQ_OPTIONAL, 0);
	tpq_schema_leaf(s, el, "v", TPQ_OPTIONAL, TPQ_T_INT64, NULL, 0);
	int ll = tpq_schema_list(s, 0, "ll", TPQ_OPTIONAL);
	int ll2 = tpq_schema_list(s, ll, "element", TPQ_OPTIONAL);
	tpq_schema_leaf(s, ll2, "element", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
	int rq = tpq_schema_group(s, 0, "rq", TPQ_REQUIRED);
	tpq_schema_leaf(s, rq, "t", TPQ_REQUIRED, TPQ_T_INT32, NULL, 0);
	tpq_schema_leaf(s, rq, "u", TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL, 0);
	struct tpq_error err = {0};
	if (tpq_schema_finish(s, &err) != TPQ_OK) {
		fprintf(stderr, "gen_writer_files: schema: %s\n", err.msg);
		return -1;
	}
	if (s->n_leaves != N_COLS) {
		fprintf(stderr, "gen_writer_files: %zu leaves, expected %d\n", s->n_leaves, N_COLS);
		return -1;
	}
	return 0;
}

static int write_file(const char *dir, const struct tpq_schema *schema, const struct spec *sp)
{
	char path[4096], jpath[4096];
	snprintf(path, sizeof(path), "%s/%s.parquet", dir, sp->name);
	snprintf(jpath, sizeof(jpath), "%s/%s.jsonl", dir, sp->name);
	remove(path);
	struct tpq_error err = {0};
	struct tpq_sink *sink = tpq_sink_file_new(path, &err);
	if (!sink) {
		fprintf(stderr, "gen_writer_files: %s: %s\n", path, err.msg);
		return -1;
	}
	FILE *jf = fopen(jpath, "w");
	if (!jf) {
		perror(jpath);
		sink->free(sink);
		return -1;
	}
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.codec = sp->codec;
	opt.dictionary = sp->dictionary;
	opt.page_crc = sp->page_crc;
	if (sp->page_bytes)
		opt.page_bytes = sp->page_bytes;
	opt.row_group_rows = sp->row_group_rows;
	if (sp->dict_max_bytes)
		opt.dict_max_bytes = sp->dict_max_bytes;
	int rc = -1;
	W = tpq_pw_new(schema, &opt, sink, &err);
	if (!W) {
		fprintf(stderr, "gen_writer_files: %s: %s\n", sp->name, err.msg);
		goto close_json;
	}
	rng = 0x5eed0000u + (uint64_t)sp->rows;
	for (int r = 0; r < sp->rows; r++) {
		rl = 0;
		jcat("{");
		gen_scalars(sp, r);
		gen_struct(r);
		gen_list(r);
		gen_map(r);
		gen_list_of_structs(r);
		gen_nested_list(r);
		gen_required_group(r);
		jcat("}\n");
		fwrite(row, 1, rl, jf);
		enum tpq_status st = tpq_pw_end_row(W);
		if (st != TPQ_OK) {
			fprintf(stderr, "gen_writer_files: %s row %d: %s\n", sp->name, r,
				tpq_status_str(st));
			goto free_writer;
		}
	}
	uint64_t bytes = 0;
	if (tpq_pw_finish(W, &bytes, &err) != TPQ_OK) {
		fprintf(stderr, "gen_writer_files: %s: finish: %s\n", sp->name, err.msg);
		goto free_writer;
	}
	printf("%s %s\n", sp->name, tpq_codec_name(sp->codec));
	rc = 0;
free_writer:
	tpq_pw_free(W);
close_json:
	if (fclose(jf) != 0)
		rc = -1;
	sink->free(sink);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_writer_files OUTDIR\n");
		return 2;
	}
	static const struct spec specs[] = {
		/* name, codec, dictionary, page CRC, page bytes, row group rows,
		 * dictionary limit, rows, distinct s */
		{"all_zstd_dict", TPQ_CODEC_ZSTD, true, false, 0, 0, 0, 300, false},
		{"pages_snappy_dict", TPQ_CODEC_SNAPPY, true, true, 1024, 250, 0, 1000, false},
		{"plain_gzip", TPQ_CODEC_GZIP, false, false, 2048, 300, 0, 700, false},
		{"fallback_lz4_raw", TPQ_CODEC_LZ4_RAW, true, false, 1024, 0, 512, 600, true},
		{"rowgroups_none", TPQ_CODEC_UNCOMPRESSED, true, true, 1024, 97, 0, 500, false},
		{"one_row_zstd", TPQ_CODEC_ZSTD, true, false, 0, 0, 0, 1, false},
	};
	struct tpq_schema schema;
	if (build_schema(&schema))
		return 1;
	int rc = 0;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		if (!tpq_codec_supported(specs[i].codec)) {
			fprintf(stderr, "gen_writer_files: codec %s not built in\n",
				tpq_codec_name(specs[i].codec));
			rc = 1;
			continue;
		}
		if (write_file(argv[1], &schema, &specs[i]))
			rc = 1;
	}
	tpq_schema_release(&schema);
	return rc;
}
