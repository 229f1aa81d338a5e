/* Tests of the Parquet reader (src/parquet/reader.c).
 *
 * The fixtures in tests/data/reader/ were written by DuckDB and arrow-rs
 * (make_fixtures.mjs there); every value is a pure function of the row index,
 * recomputed here with the same formulas. Then: hostile input (every
 * truncation, cut-out middles, random byte flips) must give an error or a
 * read, never a crash; allocation failures must unwind cleanly; and a file
 * written by our own writer must read back value for value. Run from the
 * repository root. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/sink.h"
#include "parquet/reader.h"
#include "parquet/writer.h"

#define DATA "tests/data/reader/"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s (run from the repository root)\n", path);
		*len = 0;
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = p ? (size_t)n : 0;
	return p;
}

static struct tpq_pr *open_fixture(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), DATA "%s", name);
	struct tpq_pr *pr = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_pr_open_path(&pr, path, NULL, &err);
	if (st)
		fprintf(stderr, "%s: %s (at byte %lld)\n", path, err.msg, (long long)err.offset);
	ASSERT_EQ(st, TPQ_OK);
	return pr;
}

/* ---- expected columns ---- */

#define MAXE 4096
struct exp {
	size_t n, nv;
	int16_t def[MAXE], rep[MAXE];
	int64_t ints[MAXE];
	char strs[MAXE][48];
};
static struct exp X;

static void ex_reset(void) { memset(&X, 0, sizeof(X)); }
static void ex_null(int def, int rep)
{
	X.def[X.n] = (int16_t)def;
	X.rep[X.n++] = (int16_t)rep;
}
static void ex_int(int def, int rep, int64_t v)
{
	ex_null(def, rep);
	X.ints[X.nv++] = v;
}
__attribute__((format(printf, 3, 4)))
static void ex_str(int def, int rep, const char *fmt, ...)
{
	ex_null(def, rep);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(X.strs[X.nv++], sizeof(X.strs[0]), fmt, ap);
	va_end(ap);
}

/* Reads (rg, col) and compares it with X; `strs` says which value array. */
static void check_col(struct tpq_pr *pr, size_t rg, size_t col, int strs, const char *label)
{
	struct tpq_pr_column c;
	struct tpq_error err;
	tpq_error_clear(&err);
	enum tpq_status st = tpq_pr_read_column(pr, rg, col, 0, &c, &err);
	if (st)
		fprintf(stderr, "%s: %s\n", label, err.msg);
	ASSERT_EQ(st, TPQ_OK);
	ASSERT_EQ(c.n_levels, X.n);
	ASSERT_EQ(c.n_values, X.nv);
	if (st || c.n_levels != X.n || c.n_values != X.nv) {
		fprintf(stderr, "  in %s\n", label);
		tpq_pr_column_release(&c);
		return;
	}
	int bad = 0;
	for (size_t i = 0; i < X.n && bad < 3; i++) {
		if (c.def[i] != X.def[i] || c.rep[i] != X.rep[i]) {
			fprintf(stderr, "%s: level %zu is (def %d, rep %d), expected (%d, %d)\n", label,
				i, c.def[i], c.rep[i], X.def[i], X.rep[i]);
			bad++;
		}
	}
	for (size_t i = 0; i < X.nv && bad < 3; i++) {
		if (strs) {
			size_t l = c.offsets[i + 1] - c.offsets[i];
			if (l != strlen(X.strs[i]) || memcmp(c.bytes + c.offsets[i], X.strs[i], l) != 0) {
				fprintf(stderr, "%s: value %zu is '%.*s', expected '%s'\n", label, i,
					(int)l, (const char *)c.bytes + c.offsets[i], X.strs[i]);
				bad++;
			}
		} else if (c.ints[i] != X.ints[i]) {
			fprintf(stderr, "%s: value %zu is %lld, expected %lld\n", label, i,
				(long long)c.ints[i], (long long)X.ints[i]);
			bad++;
		}
	}
	ASSERT_EQ(bad, 0);
	tpq_pr_column_release(&c);
}

/* ---- types_*.parquet (DuckDB: every column OPTIONAL, max_def 1) ---- */

static void check_types(const char *file, int expect_dict)
{
	struct tpq_pr *pr = open_fixture(file);
	if (!pr)
		return;
	ASSERT_EQ(tpq_pr_num_rows(pr), 200);
	ASSERT_EQ(tpq_pr_num_row_groups(pr), 1);
	ASSERT_EQ(tpq_pr_num_columns(pr), 7);
	const int n = 200;
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_int(1, 0, i);
	check_col(pr, 0, 0, 0, file);
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_int(1, 0, (int64_t)i * 3000000007LL - 300000000000LL);
	check_col(pr, 0, 1, 0, file);
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 11 == 0)
			ex_null(0, 0);
		else
			ex_int(1, 0, i % 3 == 0);
	}
	check_col(pr, 0, 2, 0, file);
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 13 == 0)
			ex_null(0, 0);
		else
			ex_int(1, 0, 1700000000000LL + (int64_t)i * 37001);
	}
	check_col(pr, 0, 3, 0, file);
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 5 == 0)
			ex_null(0, 0);
		else
			ex_str(1, 0, "name-%d", i % 9);
	}
	check_col(pr, 0, 4, 1, file);
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_str(1, 0, "u%d%.*s", i, i % 4, "xxx");
	check_col(pr, 0, 5, 1, file);
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 7 == 0)
			ex_null(0, 0);
		else
			ex_int(1, 0, (i * i) % 1000 - 500);
	}
	check_col(pr, 0, 6, 0, file);

	/* Metadata as the reader exposes it. */
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, 0, 4);
	ASSERT_TRUE(ch != NULL);
	if (ch) {
		ASSERT_EQ(ch->max_def, 1);
		ASSERT_EQ(ch->max_rep, 0);
		ASSERT_EQ(ch->md->type, TPQ_T_BYTE_ARRAY);
		ASSERT_EQ(ch->has_dictionary, expect_dict);
		ASSERT_TRUE(ch->md->has_statistics);
		ASSERT_EQ(ch->md->statistics.null_count, 40);
	}
	ch = tpq_pr_chunk(pr, 0, 0);
	if (ch) {
		const struct tpq_statistics *s = &ch->md->statistics;
		ASSERT_TRUE(s->has_min && s->has_max && s->min_len == 4 && s->max_len == 4);
		if (s->has_min && s->min_len == 4 && s->has_max && s->max_len == 4) {
			ASSERT_EQ((int32_t)tpq_le32(s->min_value), 0);
			ASSERT_EQ((int32_t)tpq_le32(s->max_value), 199);
		}
	}
	ASSERT_TRUE(tpq_pr_chunk(pr, 1, 0) == NULL);
	ASSERT_TRUE(tpq_pr_chunk(pr, 0, 7) == NULL);
	const struct tpq_file_meta_data *m = tpq_pr_meta(pr);
	ASSERT_TRUE(m->created_by && strncmp(m->created_by, "DuckDB", 6) == 0);
	const struct tpq_schema *s = tpq_pr_schema(pr);
	ASSERT_EQ(s->n_leaves, 7);
	ASSERT_STR_EQ(s->nodes[s->leaves[3]].name, "ts");
	ASSERT_EQ(s->nodes[s->leaves[3]].logical.kind, TPQ_LT_TIMESTAMP);
	ASSERT_EQ(s->nodes[s->leaves[3]].logical.ts_unit, TPQ_UNIT_MILLIS);
	tpq_pr_free(pr);
}

TEST(types_uncompressed) { check_types("types_uncompressed.parquet", 1); }
TEST(types_snappy) { check_types("types_snappy.parquet", 1); }
TEST(types_gzip) { check_types("types_gzip.parquet", 1); }
TEST(types_zstd) { check_types("types_zstd.parquet", 1); }
TEST(types_lz4_raw) { check_types("types_lz4_raw.parquet", 1); }
TEST(types_plain) { check_types("types_plain.parquet", 0); }
TEST(types_duckdb_v2) { check_types("types_duckdb_v2.parquet", 1); }

/* arrow_delta.parquet: every DELTA encoding (arrow-rs, no dictionaries). */
TEST(delta_encodings)
{
	struct tpq_pr *pr = open_fixture("arrow_delta.parquet");
	if (!pr)
		return;
	const int n = 300;
	static const int enc[4] = {TPQ_ENC_DELTA_BINARY_PACKED, TPQ_ENC_DELTA_BINARY_PACKED,
				   TPQ_ENC_DELTA_BYTE_ARRAY, TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY};
	for (size_t col = 0; col < 4; col++) {
		struct tpq_pr_column c;
		ASSERT_EQ(tpq_pr_read_column(pr, 0, col, TPQ_PR_PAGES_ONLY, &c, NULL), TPQ_OK);
		ASSERT_TRUE(c.n_pages >= 1);
		for (size_t k = 0; k < c.n_pages; k++)
			ASSERT_EQ(c.pages[k].encoding, enc[col]);
		tpq_pr_column_release(&c);
	}
	int d0 = tpq_pr_chunk(pr, 0, 0)->max_def, d2 = tpq_pr_chunk(pr, 0, 2)->max_def;
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_int(d0, 0, (int64_t)i * i * 7919 - 1000000);
	check_col(pr, 0, 0, 0, "delta id");
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 10 == 9)
			ex_null(0, 0);
		else
			ex_int(1, 0, (int32_t)(uint32_t)((uint64_t)i * 2654435761u));
	}
	check_col(pr, 0, 1, 0, "delta n32");
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_str(d2, 0, "https://example.com/a/%d/item-%d", i / 10, i);
	check_col(pr, 0, 2, 1, "delta url");
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 7 == 3)
			ex_null(0, 0);
		else
			ex_str(1, 0, "note%.*s%d", i % 5, "....", i);
	}
	check_col(pr, 0, 3, 1, "delta note");
	tpq_pr_free(pr);
}

TEST(codecs_and_encodings_reported)
{
	static const struct { const char *file; int codec; } cases[] = {
		{"types_uncompressed.parquet", TPQ_CODEC_UNCOMPRESSED},
		{"types_snappy.parquet", TPQ_CODEC_SNAPPY},
		{"types_gzip.parquet", TPQ_CODEC_GZIP},
		{"types_zstd.parquet", TPQ_CODEC_ZSTD},
		{"types_lz4_raw.parquet", TPQ_CODEC_LZ4_RAW},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct tpq_pr *pr = open_fixture(cases[k].file);
		if (!pr)
			continue;
		ASSERT_EQ(tpq_pr_chunk(pr, 0, 0)->md->codec, cases[k].codec);
		ASSERT_STR_EQ(tpq_pr_kv(pr, "fixture"), "types");
		ASSERT_TRUE(tpq_pr_kv(pr, "absent") == NULL);
		struct tpq_pr_column c;
		ASSERT_EQ(tpq_pr_read_column(pr, 0, 4, 0, &c, NULL), TPQ_OK);
		ASSERT_EQ(c.n_pages, 2);
		if (c.n_pages == 2) {
			ASSERT_EQ(c.pages[0].type, TPQ_PAGE_DICTIONARY);
			ASSERT_EQ(c.pages[0].num_values, 9);
			ASSERT_EQ(c.pages[1].type, TPQ_PAGE_DATA);
			ASSERT_EQ(c.pages[1].encoding, TPQ_ENC_PLAIN_DICTIONARY);
			ASSERT_EQ(c.pages[1].num_nulls, 40);
			ASSERT_EQ(c.pages[1].num_rows, 200);
			ASSERT_EQ(c.pages[0].offset, tpq_pr_chunk(pr, 0, 4)->start);
		}
		ASSERT_EQ(c.n_dict, 9);
		tpq_pr_column_release(&c);
		/* Pages only: the same pages, no arrays. */
		ASSERT_EQ(tpq_pr_read_column(pr, 0, 4, TPQ_PR_PAGES_ONLY, &c, NULL), TPQ_OK);
		ASSERT_EQ(c.n_pages, 2);
		ASSERT_EQ(c.n_levels, 200);
		ASSERT_TRUE(c.def == NULL && c.bytes == NULL);
		tpq_pr_column_release(&c);
		tpq_pr_free(pr);
	}
}

TEST(bloom_filter)
{
	struct tpq_pr *pr = open_fixture("types_zstd.parquet");
	if (!pr)
		return;
	struct tpq_pr_bloom b;
	ASSERT_EQ(tpq_pr_read_bloom(pr, 0, 4, &b, NULL), TPQ_OK);
	ASSERT_TRUE(b.filter.num_bytes >= 32);
	ASSERT_EQ(b.offset, (uint64_t)tpq_pr_chunk(pr, 0, 4)->md->bloom_filter_offset);
	char v[32];
	for (int k = 0; k < 9; k++) {
		snprintf(v, sizeof(v), "name-%d", k);
		ASSERT_TRUE(tpq_pr_bloom_might_contain(pr, 0, 4, v, strlen(v)));
	}
	ASSERT_TRUE(!tpq_pr_bloom_might_contain(pr, 0, 4, "name-9", 6));
	ASSERT_TRUE(!tpq_pr_bloom_might_contain(pr, 0, 4, "eventName", 9));
	/* No filter on 'uniq' (PLAIN): may contain anything. */
	ASSERT_EQ(tpq_pr_read_bloom(pr, 0, 5, &b, NULL), TPQ_ENOTFOUND);
	ASSERT_TRUE(tpq_pr_bloom_might_contain(pr, 0, 5, "nope", 4));
	tpq_pr_free(pr);

	/* Integer keys hash as their 4 little-endian bytes. */
	pr = open_fixture("multi_rg.parquet");
	if (!pr)
		return;
	for (size_t rg = 0; rg < 3; rg++) {
		for (int32_t k = 0; k < 7; k++) {
			uint8_t le[4] = {(uint8_t)k, 0, 0, 0};
			ASSERT_TRUE(tpq_pr_bloom_might_contain(pr, rg, 1, le, 4));
		}
		uint8_t le[4] = {0x39, 0x05, 0, 0}; /* 1337 */
		ASSERT_TRUE(!tpq_pr_bloom_might_contain(pr, rg, 1, le, 4));
	}
	tpq_pr_free(pr);
}

TEST(multi_row_group)
{
	struct tpq_pr *pr = open_fixture("multi_rg.parquet");
	if (!pr)
		return;
	static const int sizes[3] = {2048, 2048, 904};
	ASSERT_EQ(tpq_pr_num_row_groups(pr), 3);
	ASSERT_EQ(tpq_pr_num_rows(pr), 5000);
	int first = 0;
	for (size_t rg = 0; rg < 3; rg++) {
		ASSERT_EQ(tpq_pr_meta(pr)->row_groups[rg].num_rows, sizes[rg]);
		ex_reset();
		for (int i = first; i < first + sizes[rg]; i++)
			ex_int(1, 0, i);
		check_col(pr, rg, 0, 0, "multi_rg id");
		ex_reset();
		for (int i = first; i < first + sizes[rg]; i++)
			ex_int(1, 0, i % 7);
		check_col(pr, rg, 1, 0, "multi_rg k");
		ex_reset();
		for (int i = first; i < first + sizes[rg]; i++)
			ex_str(1, 0, "s%d", i % 5);
		check_col(pr, rg, 2, 1, "multi_rg s");
		first += sizes[rg];
	}
	tpq_pr_free(pr);
}

/* nested.parquet: see make_fixtures.mjs for the shape. */
TEST(nested)
{
	struct tpq_pr *pr = open_fixture("nested.parquet");
	if (!pr)
		return;
	const struct tpq_schema *s = tpq_pr_schema(pr);
	ASSERT_EQ(tpq_pr_num_columns(pr), 8);
	static const int maxd[8] = {1, 2, 2, 4, 4, 2, 3, 3}, maxr[8] = {0, 0, 0, 1, 1, 1, 1, 1};
	for (size_t c = 0; c < 8 && c < s->n_leaves; c++) {
		ASSERT_EQ(tpq_pr_chunk(pr, 0, c)->max_def, maxd[c]);
		ASSERT_EQ(tpq_pr_chunk(pr, 0, c)->max_rep, maxr[c]);
	}
	char path[128];
	ASSERT_STR_EQ(tpq_schema_path(s, s->leaves[4], path, sizeof(path)), "ls.list.element.v");
	ASSERT_STR_EQ(tpq_schema_path(s, s->leaves[6], path, sizeof(path)), "m.key_value.value");
	const int n = 60;
	/* s.a, s.b */
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 10 == 3)
			ex_null(0, 0);
		else if (i % 4 == 1)
			ex_null(1, 0);
		else
			ex_int(2, 0, i * 10);
	}
	check_col(pr, 0, 1, 0, "s.a");
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 10 == 3)
			ex_null(0, 0);
		else
			ex_str(2, 0, "b%d", i);
	}
	check_col(pr, 0, 2, 1, "s.b");
	/* ls.list.element.k and .v */
	for (int which = 0; which < 2; which++) {
		ex_reset();
		for (int i = 0; i < n; i++) {
			if (i % 6 == 5) {
				ex_null(0, 0);
				continue;
			}
			if (i % 6 == 4) {
				ex_null(1, 0);
				continue;
			}
			for (int j = 0; j <= i % 3; j++) {
				int rep = j == 0 ? 0 : 1;
				if (j == 1 && i % 4 == 0)
					ex_null(2, rep);
				else if (which == 0)
					ex_str(4, rep, "k%d", j);
				else if ((i + j) % 5 == 0)
					ex_null(3, rep);
				else
					ex_int(4, rep, i * 100 + j);
			}
		}
		check_col(pr, 0, 3 + (size_t)which, which == 0, which ? "ls.v" : "ls.k");
	}
	/* m.key_value.key and .value */
	for (int which = 0; which < 2; which++) {
		ex_reset();
		for (int i = 0; i < n; i++) {
			if (i % 7 == 6) {
				ex_null(0, 0);
				continue;
			}
			if (i % 3 == 0) {
				ex_null(1, 0);
				continue;
			}
			for (int j = 0; j < i % 3; j++) {
				int rep = j == 0 ? 0 : 1;
				if (which == 0)
					ex_str(2, rep, "key%d", j);
				else if (j == 1)
					ex_null(2, rep);
				else
					ex_str(3, rep, "val%d_%d", i, j);
			}
		}
		check_col(pr, 0, 5 + (size_t)which, 1, which ? "m.value" : "m.key");
	}
	/* tags.list.element */
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 5 == 2) {
			ex_null(0, 0);
			continue;
		}
		if (i % 4 == 0) {
			ex_null(1, 0);
			continue;
		}
		for (int j = 0; j < i % 4; j++) {
			int rep = j == 0 ? 0 : 1;
			if (j == 2)
				ex_null(2, rep);
			else
				ex_str(3, rep, "t%d", i + j);
		}
	}
	check_col(pr, 0, 7, 1, "tags");

	/* Row boundaries of ls.k: one row per i, value counts as above. */
	struct tpq_pr_column c;
	ASSERT_EQ(tpq_pr_read_column(pr, 0, 3, 0, &c, NULL), TPQ_OK);
	struct tpq_pr_rows r;
	ASSERT_EQ(tpq_pr_column_rows(&c, &r, NULL), TPQ_OK);
	ASSERT_EQ(r.n_rows, 60);
	if (r.n_rows == 60) {
		size_t lv = 0, vv = 0;
		for (int i = 0; i < n; i++) {
			ASSERT_EQ(r.level_start[i], lv);
			ASSERT_EQ(r.value_start[i], vv);
			if (i % 6 == 5 || i % 6 == 4) {
				lv++;
				continue;
			}
			for (int j = 0; j <= i % 3; j++) {
				lv++;
				vv += !(j == 1 && i % 4 == 0);
			}
		}
		ASSERT_EQ(r.level_start[60], c.n_levels);
		ASSERT_EQ(r.value_start[60], c.n_values);
		ASSERT_EQ(lv, c.n_levels);
	}
	tpq_pr_rows_release(&r);
	tpq_pr_column_release(&c);
	tpq_pr_free(pr);
}

/* arrow_v2.parquet: arrow-rs, data pages v2, RLE booleans, page index. */
TEST(arrow_v2_pages_and_page_index)
{
	struct tpq_pr *pr = open_fixture("arrow_v2.parquet");
	if (!pr)
		return;
	const int n = 100;
	int id_def = tpq_pr_chunk(pr, 0, 0)->max_def, nm_def = tpq_pr_chunk(pr, 0, 1)->max_def;
	ASSERT_EQ(nm_def, 1);
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_int(id_def, 0, i);
	check_col(pr, 0, 0, 0, "arrow id");
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 4 == 0)
			ex_null(0, 0);
		else
			ex_str(1, 0, "n%d", i % 6);
	}
	check_col(pr, 0, 1, 1, "arrow name");
	ex_reset();
	for (int i = 0; i < n; i++) {
		if (i % 3 == 0)
			ex_null(0, 0);
		else
			ex_int(1, 0, i % 2 == 0);
	}
	check_col(pr, 0, 2, 0, "arrow flag");
	ex_reset();
	for (int i = 0; i < n; i++)
		ex_int(tpq_pr_chunk(pr, 0, 3)->max_def, 0, (int64_t)i * 10000000000LL - 7);
	check_col(pr, 0, 3, 0, "arrow big");

	struct tpq_pr_column c;
	ASSERT_EQ(tpq_pr_read_column(pr, 0, 2, 0, &c, NULL), TPQ_OK);
	ASSERT_TRUE(c.n_pages >= 1);
	if (c.n_pages >= 1) {
		ASSERT_EQ(c.pages[c.n_pages - 1].type, TPQ_PAGE_DATA_V2);
		ASSERT_EQ(c.pages[c.n_pages - 1].encoding, TPQ_ENC_RLE);
	}
	tpq_pr_column_release(&c);

	for (size_t col = 0; col < 4; col++) {
		struct tpq_offset_index oi;
		struct tpq_column_index ci;
		ASSERT_EQ(tpq_pr_read_offset_index(pr, 0, col, &oi, NULL), TPQ_OK);
		ASSERT_EQ(oi.n_pages, 1);
		if (oi.n_pages == 1) {
			ASSERT_EQ(oi.page_locations[0].offset, tpq_pr_chunk(pr, 0, col)->md->data_page_offset);
			ASSERT_EQ(oi.page_locations[0].first_row_index, 0);
		}
		tpq_offset_index_release(&oi);
		ASSERT_EQ(tpq_pr_read_column_index(pr, 0, col, &ci, NULL), TPQ_OK);
		ASSERT_EQ(ci.n_pages, 1);
		if (col == 0 && ci.n_pages == 1) {
			ASSERT_TRUE(!ci.null_pages[0]);
			ASSERT_EQ(ci.min_lens[0], 4);
			ASSERT_EQ(tpq_le32(ci.min_values[0]), 0);
			ASSERT_EQ(tpq_le32(ci.max_values[0]), 99);
		}
		if (col == 1 && ci.n_pages == 1 && ci.null_counts)
			ASSERT_EQ(ci.null_counts[0], 25);
		tpq_column_index_release(&ci);
	}
	tpq_pr_free(pr);

	/* DuckDB writes no page index. */
	pr = open_fixture("types_zstd.parquet");
	if (!pr)
		return;
	struct tpq_column_index ci;
	struct tpq_offset_index oi;
	ASSERT_EQ(tpq_pr_read_column_index(pr, 0, 0, &ci, NULL), TPQ_ENOTFOUND);
	ASSERT_EQ(tpq_pr_read_offset_index(pr, 0, 0, &oi, NULL), TPQ_ENOTFOUND);
	tpq_pr_free(pr);
}

TEST(empty_and_unsupported)
{
	struct tpq_pr *pr = open_fixture("empty.parquet");
	if (pr) {
		ASSERT_EQ(tpq_pr_num_rows(pr), 0);
		ASSERT_EQ(tpq_pr_num_row_groups(pr), 0);
		ASSERT_EQ(tpq_pr_num_columns(pr), 1);
		tpq_pr_free(pr);
	}
	pr = open_fixture("brotli.parquet");
	if (pr) {
		struct tpq_pr_column c;
		struct tpq_error err;
		tpq_error_clear(&err);
		ASSERT_EQ(tpq_pr_read_column(pr, 0, 0, 0, &c, &err), TPQ_EUNSUPPORTED);
		ASSERT_TRUE(strstr(err.msg, "BROTLI") != NULL);
		ASSERT_STR_EQ(err.where, "id");
		ASSERT_EQ(err.offset, 4);
		tpq_pr_column_release(&c);
		tpq_pr_free(pr);
	}
}

TEST(errors_have_offsets)
{
	struct tpq_pr *pr = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_open(&pr, "PAR1PAR", 7, NULL, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, 0);
	ASSERT_TRUE(pr == NULL);

	size_t len;
	uint8_t *p = slurp(DATA "types_snappy.parquet", &len);
	if (!p)
		return;
	p[len - 1] = 'X';
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_open(&pr, p, len, NULL, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, (int64_t)len - 4);
	ASSERT_TRUE(strstr(err.msg, "PAR1") != NULL);
	p[len - 1] = '1';
	/* A footer length past the start of the file. */
	p[len - 5] = 0x7f;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_open(&pr, p, len, NULL, &err), TPQ_ECORRUPT);
	ASSERT_EQ(err.offset, (int64_t)len - 8);
	free(p);

	ASSERT_EQ(tpq_pr_open_path(&pr, DATA "no-such-file.parquet", NULL, &err), TPQ_EIO);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_open_path(&pr, DATA "no-such-file.parquet", NULL, &err), TPQ_EIO);
	ASSERT_TRUE(err.sys_errno != 0);
}

TEST(column_memory_ceiling)
{
	struct tpq_pr_options o;
	tpq_pr_options_init(&o);
	o.max_column_bytes = 4096;
	struct tpq_pr *pr = NULL;
	ASSERT_EQ(tpq_pr_open_path(&pr, DATA "multi_rg.parquet", &o, NULL), TPQ_OK);
	if (!pr)
		return;
	struct tpq_pr_column c;
	struct tpq_error err;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_read_column(pr, 0, 0, 0, &c, &err), TPQ_ELIMIT);
	tpq_pr_column_release(&c);
	tpq_pr_free(pr);
}

/* ---- hostile input ---- */

/* Opens p[0..len) (an exactly sized copy, so ASan sees any overread) and
 * reads everything. Returns 1 if everything read, 0 on an error. */
static int read_all(const uint8_t *p, size_t len, const struct tpq_pr_options *opt)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	struct tpq_pr *pr = NULL;
	struct tpq_error err;
	tpq_error_clear(&err);
	int ok = 0;
	enum tpq_status st = tpq_pr_open(&pr, copy, len, opt, &err);
	if (st != TPQ_OK) {
		/* Every failure says what and (when known) where. */
		if (err.msg[0] == '\0' || err.offset > (int64_t)len)
			harness_failed_asserts++;
		goto done;
	}
	ok = 1;
	for (size_t rg = 0; rg < tpq_pr_num_row_groups(pr); rg++) {
		for (size_t c = 0; c < tpq_pr_num_columns(pr); c++) {
			struct tpq_pr_column col;
			if (tpq_pr_read_column(pr, rg, c, 0, &col, NULL) != TPQ_OK) {
				ok = 0;
			} else {
				struct tpq_pr_rows r;
				if (tpq_pr_column_rows(&col, &r, NULL) == TPQ_OK)
					tpq_pr_rows_release(&r);
			}
			tpq_pr_column_release(&col);
			struct tpq_column_index ci;
			if (tpq_pr_read_column_index(pr, rg, c, &ci, NULL) == TPQ_OK)
				tpq_column_index_release(&ci);
			struct tpq_offset_index oi;
			if (tpq_pr_read_offset_index(pr, rg, c, &oi, NULL) == TPQ_OK)
				tpq_offset_index_release(&oi);
			(void)tpq_pr_bloom_might_contain(pr, rg, c, "x", 1);
		}
	}
	tpq_pr_free(pr);
done:
	free(copy);
	return ok;
}

static const char *const hostile_files[] = {
	"types_snappy.parquet", "types_uncompressed.parquet", "nested.parquet", "arrow_v2.parquet",
	"multi_rg.parquet", "types_duckdb_v2.parquet", "arrow_delta.parquet",
};

TEST(every_truncation)
{
	for (size_t f = 0; f < sizeof(hostile_files) / sizeof(hostile_files[0]); f++) {
		char path[256];
		snprintf(path, sizeof(path), DATA "%s", hostile_files[f]);
		size_t len;
		uint8_t *p = slurp(path, &len);
		if (!p)
			continue;
		ASSERT_EQ(read_all(p, len, NULL), 1);
		for (size_t l = 0; l < len; l++)
			ASSERT_EQ(read_all(p, l, NULL), 0);
		/* Cut bytes out of the middle, keeping the footer: offsets now
		 * point at the wrong places. */
		uint8_t *q = malloc(len);
		for (size_t cut = 1; cut < len - 12; cut += 1 + cut / 8) {
			size_t at = 4 + (cut * 7919) % (len - 12 - cut);
			memcpy(q, p, at);
			memcpy(q + at, p + at + cut, len - at - cut);
			(void)read_all(q, len - cut, NULL);
		}
		free(q);
		free(p);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

TEST(random_byte_corruption)
{
	struct tpq_pr_options o;
	tpq_pr_options_init(&o);
	o.max_column_bytes = 64u << 20;
	o.max_page_bytes = 16u << 20;
	for (size_t f = 0; f < sizeof(hostile_files) / sizeof(hostile_files[0]); f++) {
		char path[256];
		snprintf(path, sizeof(path), DATA "%s", hostile_files[f]);
		size_t len;
		uint8_t *p = slurp(path, &len);
		if (!p)
			continue;
		int ok = 0, failed = 0;
		for (int k = 0; k < 1500; k++) {
			size_t at = (size_t)(rng() % len);
			uint8_t old = p[at];
			uint8_t v = (uint8_t)rng();
			p[at] = v == old ? (uint8_t)~v : v;
			/* Also flip a second byte now and then. */
			size_t at2 = (size_t)(rng() % len);
			uint8_t old2 = p[at2];
			if (k % 4 == 0)
				p[at2] ^= (uint8_t)(1u << (rng() % 8));
			if (read_all(p, len, &o))
				ok++;
			else
				failed++;
			p[at2] = old2;
			p[at] = old;
		}
		ASSERT_EQ(ok + failed, 1500);
		ASSERT_TRUE(failed > 0);
		free(p);
	}
}

/* ---- allocation failures ---- */

struct counting {
	long calls, fail_at;
	long live;
};

static void *c_malloc(void *ctx, size_t n)
{
	struct counting *c = ctx;
	if (++c->calls == c->fail_at)
		return NULL;
	void *p = malloc(n);
	c->live += p != NULL;
	return p;
}

static void *c_realloc(void *ctx, void *p, size_t old, size_t n)
{
	struct counting *c = ctx;
	(void)old;
	if (++c->calls == c->fail_at)
		return NULL;
	void *q = realloc(p, n);
	c->live += p == NULL && q != NULL;
	return q;
}

static void c_free(void *ctx, void *p, size_t n)
{
	struct counting *c = ctx;
	(void)n;
	c->live--;
	free(p);
}

TEST(allocation_failures_unwind)
{
	size_t len;
	uint8_t *p = slurp(DATA "nested.parquet", &len);
	if (!p)
		return;
	int saw_enomem = 0, completed = 0;
	for (long n = 1; n < 400 && !completed; n++) {
		struct counting cnt = {0, n, 0};
		struct tpq_allocator a = {c_malloc, c_realloc, c_free, &cnt};
		struct tpq_pr_options o;
		tpq_pr_options_init(&o);
		o.alloc = &a;
		struct tpq_pr *pr = NULL;
		enum tpq_status st = tpq_pr_open(&pr, p, len, &o, NULL);
		int all = st == TPQ_OK;
		if (st != TPQ_OK) {
			ASSERT_EQ(st, TPQ_ENOMEM);
			saw_enomem = 1;
		}
		for (size_t c = 0; pr && c < tpq_pr_num_columns(pr); c++) {
			struct tpq_pr_column col;
			st = tpq_pr_read_column(pr, 0, c, 0, &col, NULL);
			if (st) {
				ASSERT_EQ(st, TPQ_ENOMEM);
				saw_enomem = 1;
				all = 0;
			}
			tpq_pr_column_release(&col);
		}
		tpq_pr_free(pr);
		ASSERT_EQ(cnt.live, 0);
		completed = all;
	}
	ASSERT_TRUE(saw_enomem);
	ASSERT_TRUE(completed);
	free(p);
}

/* ---- our own writer, read back ---- */

TEST(writer_round_trip)
{
	struct tpq_schema s;
	ASSERT_EQ(tpq_schema_init(&s), 0);
	int c_ts = tpq_schema_timestamp_ms(&s, 0, "ts", TPQ_OPTIONAL, 0);
	int c_name = tpq_schema_string(&s, 0, "name", TPQ_OPTIONAL, TPQ_COL_BLOOM);
	int c_flag = tpq_schema_leaf(&s, 0, "flag", TPQ_REQUIRED, TPQ_T_BOOLEAN, NULL, 0);
	int c_n = tpq_schema_leaf(&s, 0, "n", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
	int list = tpq_schema_list(&s, 0, "tags", TPQ_OPTIONAL);
	int c_el = tpq_schema_string(&s, list, "element", TPQ_OPTIONAL, 0);
	ASSERT_TRUE(c_ts > 0 && c_name > 0 && c_flag > 0 && c_n > 0 && c_el > 0);
	ASSERT_EQ(tpq_schema_finish(&s, NULL), TPQ_OK);
	struct tpq_pw_options o;
	tpq_pw_options_init(&o);
	o.codec = TPQ_CODEC_SNAPPY;
	o.page_crc = true;
	o.page_bytes = 2000;
	o.row_group_rows = 700;
	struct tpq_key_value kv = {"origin", "test_reader"};
	o.kv = &kv;
	o.n_kv = 1;
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(&s, &o, sink, NULL);
	ASSERT_TRUE(w != NULL);
	if (!w) {
		sink->free(sink);
		tpq_schema_release(&s);
		return;
	}
	const int n = 1500;
	char buf[32];
	for (int i = 0; i < n; i++) {
		/* Leaf numbers: ts 0, name 1, flag 2, n 3, tags.element 4. */
		if (i % 9 == 0)
			tpq_pw_put_null(w, 0, 0, 0);
		else
			tpq_pw_put_i64(w, 0, 0, 1600000000000LL + i * 1000LL);
		if (i % 4 == 0) {
			tpq_pw_put_null(w, 1, 0, 0);
		} else {
			int l = snprintf(buf, sizeof(buf), "user-%d", i % 23);
			tpq_pw_put_bytes(w, 1, 0, buf, (size_t)l);
		}
		tpq_pw_put_bool(w, 2, 0, i % 3 == 1);
		if (i % 6 == 0)
			tpq_pw_put_null(w, 3, 0, 0);
		else
			tpq_pw_put_i32(w, 3, 0, i * 7 - 3000);
		if (i % 5 == 0) {
			tpq_pw_put_null(w, 4, 0, 0);
		} else if (i % 5 == 1) {
			tpq_pw_put_null(w, 4, 1, 0);
		} else {
			for (int j = 0; j < i % 5; j++) {
				if (j == 1) {
					tpq_pw_put_null(w, 4, 2, 1);
				} else {
					int l = snprintf(buf, sizeof(buf), "tag%d", (i + j) % 50);
					tpq_pw_put_bytes(w, 4, j ? 1 : 0, buf, (size_t)l);
				}
			}
		}
		ASSERT_EQ(tpq_pw_end_row(w), TPQ_OK);
	}
	struct tpq_error err;
	tpq_error_clear(&err);
	uint64_t bytes = 0;
	ASSERT_EQ(tpq_pw_finish(w, &bytes, &err), TPQ_OK);
	tpq_pw_free(w);
	size_t len = 0;
	const uint8_t *data = tpq_sink_mem_data(sink, &len);
	ASSERT_EQ(len, bytes);
	uint8_t *file = malloc(len);
	memcpy(file, data, len);
	sink->free(sink);
	tpq_schema_release(&s);

	struct tpq_pr *pr = NULL;
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_pr_open(&pr, file, len, NULL, &err), TPQ_OK);
	if (!pr) {
		fprintf(stderr, "round trip: %s\n", err.msg);
		free(file);
		return;
	}
	ASSERT_EQ(tpq_pr_num_rows(pr), n);
	ASSERT_EQ(tpq_pr_num_row_groups(pr), 3);
	ASSERT_STR_EQ(tpq_pr_kv(pr, "origin"), "test_reader");
	int first = 0;
	int saw_crc = 0, saw_multi_page = 0;
	for (size_t rg = 0; rg < tpq_pr_num_row_groups(pr); rg++) {
		int rows = (int)tpq_pr_meta(pr)->row_groups[rg].num_rows;
		ex_reset();
		for (int i = first; i < first + rows; i++) {
			if (i % 9 == 0)
				ex_null(0, 0);
			else
				ex_int(1, 0, 1600000000000LL + i * 1000LL);
		}
		check_col(pr, rg, 0, 0, "round trip ts");
		ex_reset();
		for (int i = first; i < first + rows; i++) {
			if (i % 4 == 0)
				ex_null(0, 0);
			else
				ex_str(1, 0, "user-%d", i % 23);
		}
		check_col(pr, rg, 1, 1, "round trip name");
		ex_reset();
		for (int i = first; i < first + rows; i++)
			ex_int(0, 0, i % 3 == 1);
		check_col(pr, rg, 2, 0, "round trip flag");
		ex_reset();
		for (int i = first; i < first + rows; i++) {
			if (i % 6 == 0)
				ex_null(0, 0);
			else
				ex_int(1, 0, i * 7 - 3000);
		}
		check_col(pr, rg, 3, 0, "round trip n");
		ex_reset();
		for (int i = first; i < first + rows; i++) {
			if (i % 5 == 0) {
				ex_null(0, 0);
			} else if (i % 5 == 1) {
				ex_null(1, 0);
			} else {
				for (int j = 0; j < i % 5; j++) {
					if (j == 1)
						ex_null(2, 1);
					else
						ex_str(3, j ? 1 : 0, "tag%d", (i + j) % 50);
				}
			}
		}
		check_col(pr, rg, 4, 1, "round trip tags");
		first += rows;

		for (size_t c = 0; c < 5; c++) {
			struct tpq_pr_column col;
			ASSERT_EQ(tpq_pr_read_column(pr, rg, c, TPQ_PR_PAGES_ONLY, &col, NULL), TPQ_OK);
			for (size_t k = 0; k < col.n_pages; k++)
				saw_crc += col.pages[k].has_crc;
			saw_multi_page |= col.n_pages > 2;
			struct tpq_offset_index oi;
			ASSERT_EQ(tpq_pr_read_offset_index(pr, rg, c, &oi, NULL), TPQ_OK);
			size_t data_pages = 0;
			for (size_t k = 0; k < col.n_pages; k++)
				data_pages += col.pages[k].type == TPQ_PAGE_DATA;
			ASSERT_EQ(oi.n_pages, data_pages);
			tpq_offset_index_release(&oi);
			struct tpq_column_index ci;
			ASSERT_EQ(tpq_pr_read_column_index(pr, rg, c, &ci, NULL), TPQ_OK);
			ASSERT_EQ(ci.n_pages, data_pages);
			tpq_column_index_release(&ci);
			tpq_pr_column_release(&col);
		}
		ASSERT_TRUE(tpq_pr_bloom_might_contain(pr, rg, 1, "user-5", 6));
		ASSERT_TRUE(!tpq_pr_bloom_might_contain(pr, rg, 1, "user-99", 7));
	}
	ASSERT_EQ(first, n);
	ASSERT_TRUE(saw_crc > 0);
	ASSERT_TRUE(saw_multi_page);

	/* Flip one byte inside a data page of column 2: the CRC catches it. */
	struct tpq_pr_column col;
	ASSERT_EQ(tpq_pr_read_column(pr, 0, 2, TPQ_PR_PAGES_ONLY, &col, NULL), TPQ_OK);
	if (col.n_pages > 0) {
		const struct tpq_pr_page *pg = &col.pages[col.n_pages - 1];
		size_t at = pg->offset + pg->header_len + (size_t)pg->compressed_size / 2;
		int64_t page_off = (int64_t)pg->offset;
		tpq_pr_column_release(&col);
		file[at] ^= 0x10;
		tpq_error_clear(&err);
		ASSERT_EQ(tpq_pr_read_column(pr, 0, 2, 0, &col, &err), TPQ_ECORRUPT);
		ASSERT_TRUE(strstr(err.msg, "CRC") != NULL);
		ASSERT_EQ(err.offset, page_off);
		tpq_pr_column_release(&col);
		/* Without verification the flipped page reads (or fails in
		 * decoding), but never crashes. */
		struct tpq_pr_options o2;
		tpq_pr_options_init(&o2);
		o2.verify_crc = false;
		(void)read_all(file, len, &o2);
		file[at] ^= 0x10;
	}
	tpq_pr_column_release(&col);
	tpq_pr_free(pr);
	free(file);
}

int main(void)
{
	RUN(types_uncompressed);
	RUN(types_snappy);
	RUN(types_gzip);
	RUN(types_zstd);
	RUN(types_lz4_raw);
	RUN(types_plain);
	RUN(types_duckdb_v2);
	RUN(delta_encodings);
	RUN(codecs_and_encodings_reported);
	RUN(bloom_filter);
	RUN(multi_row_group);
	RUN(nested);
	RUN(arrow_v2_pages_and_page_index);
	RUN(empty_and_unsupported);
	RUN(errors_have_offsets);
	RUN(column_memory_ceiling);
	RUN(every_truncation);
	RUN(random_byte_corruption);
	RUN(allocation_failures_unwind);
	RUN(writer_round_trip);
	return harness_done();
}
