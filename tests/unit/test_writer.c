/* Tests of the Parquet writer (src/parquet/writer.c), read back through our
 * own reader.
 *
 * The core is a property test: with a fixed seed it makes a few hundred random
 * schemas (optional/required/repeated groups, LIST and MAP, every leaf type),
 * random rows (NULLs at every level, empty lists, NULL elements) shredded by a
 * generic recursive shredder that records the expected Dremel levels and
 * values per column while it puts them, writes them with random options
 * (every codec, tiny pages and row groups, dictionary fallback, CRCs), reads
 * the file back and compares every level and value. The other tests pin
 * statistics, page indexes, encodings, Bloom filters, errors and
 * determinism on small hand-made files; the property test's determinism
 * re-runs also reuse a writer through tpq_pw_reset. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
/* Random schemas and data of the round-trip property test (fixed seeds 1..N). */
#define PROPERTY_CASES 2000
#include "harness.h"
#include "io/sink.h"
#include "parquet/bloom.h"
#include "parquet/meta.h"
#include "parquet/reader.h"
#include "parquet/schema.h"
#include "parquet/writer.h"

#include "pq_gen.h"

/* What the property test covered (printed once, so a run shows it did real work). */
static struct {
	size_t levels, values, pages, row_groups, fallback_chunks, max_rep, nulls_above_leaf;
} cover;

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int64_t le_int(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

/* Chunk statistics and the offset index of a decoded chunk agree with its content. */
static bool check_chunk_meta(struct tpq_pr *pr, size_t rg, size_t c, const struct tpq_pr_column *col,
			     unsigned seed)
{
	const struct tpq_column_meta_data *md = tpq_pr_chunk(pr, rg, c)->md;
	size_t nulls = col->n_levels - col->n_values;
	if (md->has_statistics) {
		const struct tpq_statistics *st = &md->statistics;
		if (st->has_null_count && st->null_count != (int64_t)nulls) {
			fprintf(stderr, "seed %u: col %zu rg %zu: null_count %lld, expected %zu\n", seed,
				c, rg, (long long)st->null_count, nulls);
			return false;
		}
		if (st->has_min != st->has_max || (st->has_min && col->n_values == 0)) {
			fprintf(stderr, "seed %u: col %zu rg %zu: bad min/max presence\n", seed, c, rg);
			return false;
		}
		if (st->has_min && col->type == TPQ_T_BYTE_ARRAY) {
			const uint8_t *mn = NULL, *mx = NULL;
			size_t mnl = 0, mxl = 0;
			for (size_t i = 0; i < col->n_values; i++) {
				const uint8_t *v = col->bytes + col->offsets[i];
				size_t n = col->offsets[i + 1] - col->offsets[i];
				if (!mn || cmp_bytes(v, n, mn, mnl) < 0)
					mn = v, mnl = n;
				if (!mx || cmp_bytes(v, n, mx, mxl) > 0)
					mx = v, mxl = n;
			}
			bool min_ok = cmp_bytes(st->min_value, st->min_len, mn, mnl) <= 0 &&
				      (!(!st->has_is_min_exact || st->is_min_exact) ||
				       cmp_bytes(st->min_value, st->min_len, mn, mnl) == 0);
			bool max_ok = cmp_bytes(st->max_value, st->max_len, mx, mxl) >= 0 &&
				      (!(!st->has_is_max_exact || st->is_max_exact) ||
				       cmp_bytes(st->max_value, st->max_len, mx, mxl) == 0);
			if (!min_ok || !max_ok) {
				fprintf(stderr, "seed %u: col %zu rg %zu: string min/max not bounds\n",
					seed, c, rg);
				return false;
			}
		} else if (st->has_min) {
			int64_t mn = col->ints[0], mx = col->ints[0];
			for (size_t i = 1; i < col->n_values; i++) {
				mn = col->ints[i] < mn ? col->ints[i] : mn;
				mx = col->ints[i] > mx ? col->ints[i] : mx;
			}
			size_t w = col->type == TPQ_T_BOOLEAN ? 1 : col->type == TPQ_T_INT32 ? 4 : 8;
			if (st->min_len != w || st->max_len != w || le_int(st->min_value, w) != mn ||
			    le_int(st->max_value, w) != mx) {
				fprintf(stderr, "seed %u: col %zu rg %zu: min/max wrong\n", seed, c, rg);
				return false;
			}
		}
	}
	struct tpq_offset_index oi = {0};
	struct tpq_error err = {0};
	enum tpq_status st = tpq_pr_read_offset_index(pr, rg, c, &oi, &err);
	bool ok = true;
	if (st == TPQ_OK) {
		size_t dp = 0, level = 0, row = 0;
		for (size_t i = 0; i < col->n_pages && ok; i++) {
			const struct tpq_pr_page *pg = &col->pages[i];
			if (pg->type == TPQ_PAGE_DICTIONARY)
				continue;
			ok = dp < oi.n_pages && oi.page_locations[dp].offset == (int64_t)pg->offset &&
			     oi.page_locations[dp].first_row_index == (int64_t)row;
			for (int32_t j = 0; j < pg->num_values && level < col->n_levels; j++)
				row += col->rep[level++] == 0;
			dp++;
		}
		ok = ok && dp == oi.n_pages;
		if (!ok)
			fprintf(stderr, "seed %u: col %zu rg %zu: offset index disagrees\n", seed, c, rg);
	} else if (st != TPQ_ENOTFOUND) {
		fprintf(stderr, "seed %u: col %zu rg %zu: offset index: %s\n", seed, c, rg, err.msg);
		ok = false;
	}
	tpq_offset_index_release(&oi);
	return ok;
}

/* Compares what the reader decodes with the expectation. Returns false on the first
 * difference (printed). */
static bool verify(struct pcase *k, const uint8_t *file, size_t len, int64_t rows,
		   unsigned seed)
{
	struct tpq_pr *pr = NULL;
	struct tpq_error err = {0};
	bool ok = true;
	if (tpq_pr_open(&pr, file, len, NULL, &err) != TPQ_OK) {
		fprintf(stderr, "seed %u: open: %s\n", seed, err.msg);
		return false;
	}
	if (tpq_pr_num_rows(pr) != rows || tpq_pr_num_columns(pr) != (size_t)k->n_cols) {
		fprintf(stderr, "seed %u: rows/columns differ\n", seed);
		ok = false;
		goto done;
	}
	cover.row_groups += tpq_pr_num_row_groups(pr);
	for (int c = 0; c < k->n_cols && ok; c++) {
		struct ecol *e = &k->cols[c];
		size_t li = 0, vi = 0;
		if ((size_t)e->max_rep > cover.max_rep)
			cover.max_rep = (size_t)e->max_rep;
		for (size_t i = 0; i < e->n; i++)
			cover.nulls_above_leaf += e->def[i] + 1 < e->max_def;
		for (size_t rg = 0; rg < tpq_pr_num_row_groups(pr) && ok; rg++) {
			struct tpq_pr_column col = {0};
			if (tpq_pr_read_column(pr, rg, (size_t)c, 0, &col, &err) != TPQ_OK) {
				fprintf(stderr, "seed %u: col %d rg %zu: %s\n", seed, c, rg, err.msg);
				ok = false;
			}
			if (ok && (col.max_def != e->max_def || col.max_rep != e->max_rep)) {
				fprintf(stderr, "seed %u: col %d: max levels %d/%d, expected %d/%d\n", seed,
					c, col.max_def, col.max_rep, e->max_def, e->max_rep);
				ok = false;
			}
			for (size_t i = 0; ok && i < col.n_levels; i++, li++) {
				if (li >= e->n || col.def[i] != e->def[li] || col.rep[i] != e->rep[li]) {
					fprintf(stderr, "seed %u: col %d level %zu differs\n", seed, c, li);
					ok = false;
				}
			}
			for (size_t i = 0; ok && i < col.n_values; i++, vi++) {
				bool same;
				if (vi >= e->nv) {
					same = false;
				} else if (e->vt == V_STR) {
					size_t n = col.offsets[i + 1] - col.offsets[i];
					same = n == e->off[vi + 1] - e->off[vi] &&
					       (n == 0 || memcmp(col.bytes + col.offsets[i],
								  e->bytes + e->off[vi], n) == 0);
				} else {
					same = col.ints[i] == e->iv[vi];
				}
				if (!same) {
					fprintf(stderr, "seed %u: col %d value %zu differs\n", seed, c, vi);
					ok = false;
				}
			}
			if (ok && !check_chunk_meta(pr, rg, (size_t)c, &col, seed))
				ok = false;
			bool has_dict_data = false, has_plain_data = false;
			for (size_t i = 0; i < col.n_pages; i++) {
				has_dict_data |= col.pages[i].encoding == TPQ_ENC_RLE_DICTIONARY;
				has_plain_data |= col.pages[i].type == TPQ_PAGE_DATA &&
						  col.pages[i].encoding == TPQ_ENC_PLAIN;
			}
			cover.fallback_chunks += has_dict_data && has_plain_data;
			cover.pages += col.n_pages;
			cover.levels += col.n_levels;
			cover.values += col.n_values;
			tpq_pr_column_release(&col);
		}
		if (ok && (li != e->n || vi != e->nv)) {
			fprintf(stderr, "seed %u: col %d: %zu levels %zu values, expected %zu %zu\n", seed,
				c, li, vi, e->n, e->nv);
			ok = false;
		}
	}
done:
	tpq_pr_free(pr);
	return ok;
}

static struct tpq_codec_ctx *prop_ctx;
static bool prop_rerun;

/* Builds, writes and checks one random case. Returns the file bytes (malloc'd) or NULL. */
static uint8_t *run_case(unsigned seed, size_t *len, bool check)
{
	static struct pcase k;
	memset(&k, 0, sizeof(k));
	rng_state = 0x7261696c70710000ull + seed;
	*len = 0;
	struct tpq_error err = {0};
	uint8_t *out = NULL;
	struct tpq_sink *sink = NULL;
	if (gen_schema(&k, &err) != TPQ_OK) {
		fprintf(stderr, "seed %u: schema: %s\n", seed, err.msg);
		ASSERT_TRUE(0);
		goto free_schema;
	}
	ASSERT_EQ(k.schema.n_leaves, k.n_cols);
	for (int c = 0; c < k.n_cols && (size_t)c < k.schema.n_leaves; c++) {
		const struct tpq_schema_node *sn = &k.schema.nodes[k.schema.leaves[c]];
		ASSERT_EQ(sn->max_def, k.cols[c].max_def);
		ASSERT_EQ(sn->max_rep, k.cols[c].max_rep);
	}

	static const enum tpq_codec codecs[] = {
		TPQ_CODEC_UNCOMPRESSED, TPQ_CODEC_SNAPPY, TPQ_CODEC_GZIP, TPQ_CODEC_ZSTD,
		TPQ_CODEC_LZ4_RAW,
	};
	static const size_t page_sizes[] = {1, 1024, 2048, 1u << 20};  /* the writer clamps to >= 1024 */
	static const int64_t rg_rows[] = {0, 1, 7, 40};
	static const size_t dict_sizes[] = {1, 40, 1u << 20};
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.codec = codecs[rnd(5)];
	if (!tpq_codec_supported(opt.codec))
		opt.codec = TPQ_CODEC_ZSTD;
	opt.dictionary = rnd(4) != 0;
	opt.page_bytes = page_sizes[rnd(4)];
	opt.row_group_rows = rg_rows[rnd(4)];
	opt.dict_max_bytes = dict_sizes[rnd(3)];
	opt.page_crc = rnd(2);
	opt.page_index = rnd(4) != 0;
	opt.statistics = rnd(4) != 0;
	opt.stats_max_len = 1 + rnd(16);
	if (rnd(8) == 0)
		opt.row_group_bytes = 256;
	/* Half the cases borrow one codec context that every case before used
	 * (other codecs); the determinism re-run swaps own and borrowed. */
	bool share = rnd(2) != 0;
	opt.codec_ctx = share != prop_rerun ? prop_ctx : NULL;

	sink = tpq_sink_mem_new();
	/* The determinism re-run writes with a writer that already wrote (or
	 * abandoned, or failed) another file, then tpq_pw_reset: same bytes. */
	struct tpq_sink *junk = prop_rerun ? tpq_sink_mem_new() : NULL;
	k.w = tpq_pw_new(&k.schema, &opt, junk ? junk : sink, &err);
	if (!k.w) {
		fprintf(stderr, "seed %u: writer: %s\n", seed, err.msg);
		ASSERT_TRUE(0);
		if (junk)
			junk->free(junk);
		goto free_sink;
	}
	if (junk) {
		uint64_t saved = rng_state;
		for (int64_t r = 0, n = 1 + rnd(50); r < n; r++) {
			for (int i = 0; i < k.n_top; i++)
				shred_field(&k, k.top[i], 0, 0);
			tpq_pw_end_row(k.w);
		}
		unsigned how = rnd(3);
		if (how == 0) {
			ASSERT_EQ(tpq_pw_finish(k.w, NULL, &err), TPQ_OK);
		} else if (how == 1) {
			tpq_pw_put_null(k.w, 0, 1000, 0); /* an error, sticky until the reset */
			ASSERT_EQ(tpq_pw_end_row(k.w), TPQ_EINVAL);
		}
		ASSERT_EQ(tpq_pw_reset(k.w, sink, &err), TPQ_OK);
		junk->free(junk);
		rng_state = saved;
		for (int c = 0; c < k.n_cols; c++)
			k.cols[c].n = k.cols[c].nv = k.cols[c].nb = 0;
	}
	int64_t rows = rnd(10) == 0 ? 300 + rnd(900) : 1 + rnd(120);
	for (int64_t r = 0; r < rows; r++) {
		enum tpq_status st = gen_row(&k);
		if (st != TPQ_OK) {
			fprintf(stderr, "seed %u: end_row %lld: %s\n", seed, (long long)r,
				tpq_status_str(st));
			ASSERT_TRUE(0);
			goto free_writer;
		}
	}
	out = finish_copy(k.w, sink, len);
	if (out && check && !verify(&k, out, *len, rows, seed))
		ASSERT_TRUE(0);
free_writer:
	tpq_pw_free(k.w);
free_sink:
	sink->free(sink);
free_schema:
	for (int c = 0; c < k.n_cols; c++)
		ecol_free(&k.cols[c]);
	tpq_schema_release(&k.schema);
	return out;
}

TEST(property_round_trip)
{
	prop_ctx = tpq_codec_ctx_new();
	ASSERT_TRUE(prop_ctx != NULL);
	for (unsigned seed = 1; seed <= PROPERTY_CASES; seed++) {
		size_t len = 0;
		uint8_t *a = run_case(seed, &len, true);
		ASSERT_TRUE(a != NULL);
		/* (g) determinism: the same case again gives the same bytes */
		if (a && seed % 10 == 0) {
			size_t len2 = 0;
			prop_rerun = true;
			uint8_t *b = run_case(seed, &len2, false);
			prop_rerun = false;
			ASSERT_TRUE(b != NULL);
			ASSERT_EQ(len, len2);
			if (b && len == len2)
				ASSERT_MEM_EQ(a, b, len);
			free(b);
		}
		free(a);
	}
	fprintf(stderr, "property: %d files, %zu row groups, %zu pages, %zu levels, %zu values, "
		"%zu fallback chunks, %zu nulls above a leaf, max rep level %zu\n", PROPERTY_CASES,
		cover.row_groups,
		cover.pages, cover.levels, cover.values, cover.fallback_chunks, cover.nulls_above_leaf,
		cover.max_rep);
	ASSERT_TRUE(cover.fallback_chunks > 0 && cover.nulls_above_leaf > 0 && cover.max_rep >= 3);
	tpq_codec_ctx_free(prop_ctx);
	prop_ctx = NULL;
}

/* ---- hand-made files ---- */

struct small {
	struct tpq_schema schema;
	struct tpq_sink *sink;
	struct tpq_pw *w;
	uint8_t *file;
	size_t len;
	struct tpq_pr *pr;
};

static void small_open(struct small *s, const struct tpq_pw_options *opt)
{
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_schema_finish(&s->schema, &err), TPQ_OK);
	s->sink = tpq_sink_mem_new();
	s->w = tpq_pw_new(&s->schema, opt, s->sink, &err);
	ASSERT_TRUE(s->w != NULL);
	if (!s->w)
		exit(1);
}

static void small_read(struct small *s)
{
	struct tpq_error err = {0};
	s->file = finish_copy(s->w, s->sink, &s->len);
	ASSERT_TRUE(s->file != NULL);
	if (!s->file)
		exit(1);
	ASSERT_EQ(tpq_pr_open(&s->pr, s->file, s->len, NULL, &err), TPQ_OK);
	if (!s->pr) {
		fprintf(stderr, "open: %s\n", err.msg);
		exit(1);
	}
}

static void small_free(struct small *s)
{
	tpq_pr_free(s->pr);
	free(s->file);
	tpq_pw_free(s->w);
	if (s->sink)
		s->sink->free(s->sink);
	tpq_schema_release(&s->schema);
}

static const struct tpq_column_meta_data *md_of(struct small *s, size_t rg, size_t c)
{
	return &tpq_pr_meta(s->pr)->row_groups[rg].columns[c].meta_data;
}

static bool bytes_eq(const uint8_t *p, size_t n, const void *q, size_t m)
{
	return n == m && (n == 0 || memcmp(p, q, n) == 0);
}

static void le32(uint8_t *p, int32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)((uint32_t)v >> (8 * i));
}

static void le64(uint8_t *p, int64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* (b) statistics: type orders, null_count, distinct_count, truncation. */
TEST(statistics)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_leaf(&s.schema, 0, "i32", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
	tpq_schema_leaf(&s.schema, 0, "i64", TPQ_OPTIONAL, TPQ_T_INT64, NULL, 0);
	tpq_schema_string(&s.schema, 0, "s", TPQ_OPTIONAL, 0);
	tpq_schema_leaf(&s.schema, 0, "b", TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL, 0);
	tpq_schema_string(&s.schema, 0, "long", TPQ_REQUIRED, 0);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.stats_max_len = 8;  /* the writer's smallest bound */
	small_open(&s, &opt);
	static const int32_t i32[] = {5, -3, 100, 7};
	static const int64_t i64[] = {-5000000000, 3, 4000000000, 3};
	static const char *const strs[] = {"a", "\xff", "abc", "a"};
	static const char *const longs[] = {"abcdefghij", "abcdefghzz", "abcdefgh\xff\xff", "b"};
	static const bool bools[] = {true, false, true, true};
	for (int r = 0; r < 5; r++) {
		if (r == 4) {  /* a row of NULLs (and one required value) */
			for (int c = 0; c < 4; c++)
				tpq_pw_put_null(s.w, c, 0, 0);
			tpq_pw_put_bytes(s.w, 4, 0, "abcdefgh", 8);
		} else {
			tpq_pw_put_i32(s.w, 0, 0, i32[r]);
			tpq_pw_put_i64(s.w, 1, 0, i64[r]);
			tpq_pw_put_bytes(s.w, 2, 0, strs[r], strlen(strs[r]));
			tpq_pw_put_bool(s.w, 3, 0, bools[r]);
			tpq_pw_put_bytes(s.w, 4, 0, longs[r], strlen(longs[r]));
		}
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	uint8_t b[8];
	const struct tpq_statistics *st = &md_of(&s, 0, 0)->statistics;
	ASSERT_TRUE(md_of(&s, 0, 0)->has_statistics && st->has_min && st->has_max);
	le32(b, -3);
	ASSERT_TRUE(bytes_eq(st->min_value, st->min_len, b, 4));
	le32(b, 100);
	ASSERT_TRUE(bytes_eq(st->max_value, st->max_len, b, 4));
	ASSERT_TRUE(st->has_null_count && st->null_count == 1);
	ASSERT_TRUE(st->has_distinct_count && st->distinct_count == 4);

	st = &md_of(&s, 0, 1)->statistics;
	le64(b, -5000000000);
	ASSERT_TRUE(bytes_eq(st->min_value, st->min_len, b, 8));
	le64(b, 4000000000);
	ASSERT_TRUE(bytes_eq(st->max_value, st->max_len, b, 8));
	ASSERT_TRUE(st->has_distinct_count && st->distinct_count == 3);

	st = &md_of(&s, 0, 2)->statistics;
	ASSERT_TRUE(bytes_eq(st->min_value, st->min_len, "a", 1));
	ASSERT_TRUE(bytes_eq(st->max_value, st->max_len, "\xff", 1));  /* unsigned order */
	ASSERT_TRUE(st->has_null_count && st->null_count == 1);
	ASSERT_TRUE(st->has_distinct_count && st->distinct_count == 3);

	st = &md_of(&s, 0, 3)->statistics;
	ASSERT_TRUE(bytes_eq(st->min_value, st->min_len, "\0", 1));
	ASSERT_TRUE(bytes_eq(st->max_value, st->max_len, "\1", 1));
	ASSERT_TRUE(st->has_null_count && st->null_count == 1);

	/* the min ("abcdefgh") and max ("b") fit the 8-byte bound: exact */
	st = &md_of(&s, 0, 4)->statistics;
	ASSERT_TRUE(bytes_eq(st->min_value, st->min_len, "abcdefgh", 8));
	/* "b" is the true max (shorter than the bound): it must be exact */
	ASSERT_TRUE(bytes_eq(st->max_value, st->max_len, "b", 1));
	ASSERT_TRUE(!st->has_is_max_exact || st->is_max_exact);
	ASSERT_EQ(st->null_count, 0);

	/* the column index of the truncated column has the same bounds */
	struct tpq_column_index ci = {0};
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_read_column_index(s.pr, 0, 4, &ci, &err), TPQ_OK);
	if (ci.n_pages >= 1) {
		ASSERT_TRUE(bytes_eq(ci.min_values[0], ci.min_lens[0], "abcdefgh", 8));
		ASSERT_TRUE(bytes_eq(ci.max_values[0], ci.max_lens[0], "b", 1));
	}
	tpq_column_index_release(&ci);
	small_free(&s);
}

/* Truncation with a max that must be rounded up, in the chunk stats and the column index. */
TEST(statistics_truncated_max)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_string(&s.schema, 0, "s", TPQ_REQUIRED, 0);
	tpq_schema_string(&s.schema, 0, "u", TPQ_REQUIRED, 0);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.stats_max_len = 8;
	small_open(&s, &opt);
	static const char *const v[] = {"abcdefghij", "abcdefgzzz", "abcdefgeee"};
	/* the max's 8th byte starts a 2-byte UTF-8 character; the bytes after are 0xff */
	static const char *const u[] = {"abcdefg\xc3\xa9\xc3\xa9", "abcdef\xff\xff\xff\xff",
					"abcdef\x7e"};
	for (int r = 0; r < 3; r++) {
		tpq_pw_put_bytes(s.w, 0, 0, v[r], strlen(v[r]));
		tpq_pw_put_bytes(s.w, 1, 0, u[r], strlen(u[r]));
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	{  /* u: the max is "abcdef\xff\xff\xff\xff": any bound must be above it */
		const struct tpq_statistics *su = &md_of(&s, 0, 1)->statistics;
		ASSERT_TRUE(su->has_max);
		if (su->has_max) {
			ASSERT_TRUE(su->max_len <= 8);
			ASSERT_TRUE(cmp_bytes(su->max_value, su->max_len,
					      (const uint8_t *)u[1], strlen(u[1])) > 0);
			ASSERT_TRUE(su->has_is_max_exact && !su->is_max_exact);
		}
		/* the min "abcdefg\xc3\xa9\xc3\xa9" is cut before the character that
		 * crosses byte 8 */
		ASSERT_TRUE(su->has_min);
		ASSERT_TRUE(bytes_eq(su->min_value, su->min_len, "abcdefg", 7));
		ASSERT_TRUE(su->has_is_min_exact && !su->is_min_exact);
	}
	const struct tpq_statistics *st = &md_of(&s, 0, 0)->statistics;
	ASSERT_TRUE(st->has_min && st->has_max);
	/* min: at most 8 bytes, a prefix of "abcdefgeee" */
	ASSERT_TRUE(st->min_len <= 8 && memcmp(st->min_value, "abcdefgeee", st->min_len) == 0);
	ASSERT_TRUE(st->has_is_min_exact && !st->is_min_exact);
	/* max: at most 8 bytes, above "abcdefgzzz" (e.g. "abcdefg{") */
	ASSERT_TRUE(st->max_len <= 8 && st->max_len >= 1);
	size_t n = st->max_len;
	int cmp = memcmp(st->max_value, "abcdefgzzz", n);
	ASSERT_TRUE(cmp > 0);
	ASSERT_TRUE(st->has_is_max_exact && !st->is_max_exact);

	struct tpq_column_index ci = {0};
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_read_column_index(s.pr, 0, 0, &ci, &err), TPQ_OK);
	ASSERT_EQ(ci.n_pages, 1);
	if (ci.n_pages == 1) {
		ASSERT_TRUE(ci.max_lens[0] <= 8 && ci.max_lens[0] >= 1);
		ASSERT_TRUE(memcmp(ci.max_values[0], "abcdefgzzz", ci.max_lens[0]) > 0);
		ASSERT_TRUE(ci.min_lens[0] <= 8 &&
			    memcmp(ci.min_values[0], "abcdefgeee", ci.min_lens[0]) == 0);
	}
	tpq_column_index_release(&ci);
	small_free(&s);
}

/* (c) page index consistency on sorted data cut into many pages. */
TEST(page_index)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_leaf(&s.schema, 0, "n", TPQ_REQUIRED, TPQ_T_INT64, NULL, TPQ_COL_NO_DICT);
	tpq_schema_string(&s.schema, 0, "s", TPQ_OPTIONAL, TPQ_COL_NO_DICT);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.page_bytes = 1024;
	opt.codec = TPQ_CODEC_SNAPPY;
	opt.page_crc = true;
	small_open(&s, &opt);
	for (int r = 0; r < 1000; r++) {
		char buf[16];
		int n = snprintf(buf, sizeof(buf), "k%05d", r);
		tpq_pw_put_i64(s.w, 0, 0, r);
		if (r % 7 == 0)
			tpq_pw_put_null(s.w, 1, 0, 0);
		else
			tpq_pw_put_bytes(s.w, 1, 0, buf, (size_t)n);
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	struct tpq_error err = {0};
	for (size_t c = 0; c < 2; c++) {
		struct tpq_offset_index oi = {0};
		struct tpq_column_index ci = {0};
		struct tpq_pr_column col = {0};
		ASSERT_EQ(tpq_pr_read_offset_index(s.pr, 0, c, &oi, &err), TPQ_OK);
		ASSERT_EQ(tpq_pr_read_column_index(s.pr, 0, c, &ci, &err), TPQ_OK);
		ASSERT_EQ(tpq_pr_read_column(s.pr, 0, c, 0, &col, &err), TPQ_OK);
		ASSERT_TRUE(oi.n_pages > 3);
		ASSERT_EQ(ci.n_pages, oi.n_pages);
		ASSERT_EQ(ci.boundary_order, TPQ_BO_ASCENDING);
		size_t dp = 0;
		int64_t null_total = 0;
		for (size_t i = 0; i < col.n_pages; i++) {
			if (col.pages[i].type == TPQ_PAGE_DICTIONARY)
				continue;
			ASSERT_TRUE(col.pages[i].has_crc);
			if (dp < oi.n_pages) {
				const struct tpq_page_location *pl = &oi.page_locations[dp];
				ASSERT_EQ(pl->offset, col.pages[i].offset);
				ASSERT_EQ(pl->compressed_page_size,
					  (int64_t)col.pages[i].header_len + col.pages[i].compressed_size);
				if (dp == 0)
					ASSERT_EQ(pl->first_row_index, 0);
				else
					ASSERT_TRUE(pl->first_row_index >
						    oi.page_locations[dp - 1].first_row_index);
				/* the offset points at a data page header */
				struct tpq_page_header ph = {0};
				size_t used = 0;
				ASSERT_EQ(tpq_meta_get_page_header(s.file + pl->offset,
								   s.len - (size_t)pl->offset, &used,
								   &ph, &err), TPQ_OK);
				ASSERT_EQ(ph.type, TPQ_PAGE_DATA);
				ASSERT_EQ(used, col.pages[i].header_len);
				tpq_page_header_release(&ph);
			}
			dp++;
		}
		ASSERT_EQ(dp, oi.n_pages);
		/* page min/max on the int column are exact: page k holds rows from first_row_index */
		if (c == 0) {
			for (size_t p = 0; p < ci.n_pages && p < oi.n_pages; p++) {
				uint8_t b[8];
				le64(b, oi.page_locations[p].first_row_index);
				ASSERT_TRUE(bytes_eq(ci.min_values[p], ci.min_lens[p], b, 8));
				ASSERT_TRUE(!ci.null_pages[p]);
			}
		}
		if (ci.has_null_counts)
			for (size_t p = 0; p < ci.n_pages; p++)
				null_total += ci.null_counts[p];
		ASSERT_EQ(null_total, c == 1 ? 143 : 0);
		tpq_pr_column_release(&col);
		tpq_offset_index_release(&oi);
		tpq_column_index_release(&ci);
	}
	small_free(&s);
}

/* Pages of a chunk larger than the page row limit start every 20,480 rows
 * (a multiple of DuckDB's 2048-row vector), for dictionary and plain columns
 * alike, while page_bytes is not reached; a dictionary column of at most
 * 1024 distinct values is one page. */
TEST(page_rows)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_string(&s.schema, 0, "d", TPQ_OPTIONAL, 0);
	tpq_schema_leaf(&s.schema, 0, "n", TPQ_REQUIRED, TPQ_T_INT32, NULL, TPQ_COL_NO_DICT);
	tpq_schema_string(&s.schema, 0, "few", TPQ_OPTIONAL, 0);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	small_open(&s, &opt);
	const int rows = 50000;
	for (int r = 0; r < rows; r++) {
		static const char *names[] = {"GetObject", "PutObject", "RunInstances"};
		char v[32];
		int n = snprintf(v, sizeof(v), "v%d", r % 5000);
		tpq_pw_put_bytes(s.w, 0, 0, v, (size_t)n);
		tpq_pw_put_i32(s.w, 1, 0, r & 7);
		tpq_pw_put_bytes(s.w, 2, 0, names[r % 3], strlen(names[r % 3]));
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	ASSERT_EQ(tpq_pr_num_row_groups(s.pr), 1);
	struct tpq_error err = {0};
	for (size_t c = 0; c < 3; c++) {
		struct tpq_offset_index oi = {0};
		ASSERT_EQ(tpq_pr_read_offset_index(s.pr, 0, c, &oi, &err), TPQ_OK);
		ASSERT_EQ(oi.n_pages, c == 2 ? 1 : 3);
		for (size_t p = 0; p < oi.n_pages; p++)
			ASSERT_EQ(oi.page_locations[p].first_row_index, (int64_t)p * 20480);
		tpq_offset_index_release(&oi);
	}
	ASSERT_TRUE(md_of(&s, 0, 0)->has_dictionary_page_offset);
	ASSERT_TRUE(!md_of(&s, 0, 1)->has_dictionary_page_offset);
	ASSERT_TRUE(md_of(&s, 0, 2)->has_dictionary_page_offset);
	small_free(&s);
}

static bool has_enc(const struct tpq_column_meta_data *md, enum tpq_encoding e)
{
	for (size_t i = 0; i < md->n_encodings; i++)
		if (md->encodings[i] == e)
			return true;
	return false;
}

static int32_t enc_stat(const struct tpq_column_meta_data *md, enum tpq_page_type t,
			enum tpq_encoding e)
{
	for (size_t i = 0; i < md->n_encoding_stats; i++)
		if (md->encoding_stats[i].page_type == t && md->encoding_stats[i].encoding == e)
			return md->encoding_stats[i].count;
	return 0;
}

/* (d) encodings and encoding_stats: dictionary, plain, and a fallback chunk. */
TEST(encodings)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_string(&s.schema, 0, "dict", TPQ_REQUIRED, 0);
	tpq_schema_string(&s.schema, 0, "plain", TPQ_REQUIRED, TPQ_COL_NO_DICT);
	tpq_schema_string(&s.schema, 0, "fallback", TPQ_REQUIRED, 0);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.dict_max_bytes = 256;
	opt.page_bytes = 512;
	small_open(&s, &opt);
	for (int r = 0; r < 600; r++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "v%d", r % 3);
		tpq_pw_put_bytes(s.w, 0, 0, buf, (size_t)n);
		tpq_pw_put_bytes(s.w, 1, 0, buf, (size_t)n);
		/* repeats at first (dictionary pays), then all distinct (it overflows) */
		n = r < 200 ? snprintf(buf, sizeof(buf), "f%d", r % 4)
			    : snprintf(buf, sizeof(buf), "distinct-value-%06d", r);
		tpq_pw_put_bytes(s.w, 2, 0, buf, (size_t)n);
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	const struct tpq_column_meta_data *md = md_of(&s, 0, 0);
	ASSERT_TRUE(md->has_dictionary_page_offset);
	ASSERT_TRUE(has_enc(md, TPQ_ENC_PLAIN) && has_enc(md, TPQ_ENC_RLE) &&
		    has_enc(md, TPQ_ENC_RLE_DICTIONARY));
	ASSERT_EQ(enc_stat(md, TPQ_PAGE_DICTIONARY, TPQ_ENC_PLAIN), 1);
	ASSERT_TRUE(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_RLE_DICTIONARY) >= 1);
	ASSERT_EQ(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_PLAIN), 0);
	ASSERT_TRUE(md->dictionary_page_offset < md->data_page_offset);

	md = md_of(&s, 0, 1);
	ASSERT_TRUE(!md->has_dictionary_page_offset);
	ASSERT_TRUE(has_enc(md, TPQ_ENC_PLAIN) && !has_enc(md, TPQ_ENC_RLE_DICTIONARY));
	ASSERT_TRUE(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_PLAIN) >= 1);
	ASSERT_EQ(enc_stat(md, TPQ_PAGE_DICTIONARY, TPQ_ENC_PLAIN), 0);

	md = md_of(&s, 0, 2);
	ASSERT_TRUE(md->has_dictionary_page_offset);
	ASSERT_TRUE(has_enc(md, TPQ_ENC_PLAIN) && has_enc(md, TPQ_ENC_RLE_DICTIONARY));
	ASSERT_EQ(enc_stat(md, TPQ_PAGE_DICTIONARY, TPQ_ENC_PLAIN), 1);
	int32_t n_dict = enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_RLE_DICTIONARY);
	int32_t n_plain = enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_PLAIN);
	ASSERT_TRUE(n_dict >= 1 && n_plain >= 1);

	/* the stats agree with the pages actually written, and the values round-trip */
	struct tpq_pr_column col = {0};
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_read_column(s.pr, 0, 2, 0, &col, &err), TPQ_OK);
	int32_t seen_dict = 0, seen_plain = 0, seen_dp = 0;
	for (size_t i = 0; i < col.n_pages; i++) {
		if (col.pages[i].type == TPQ_PAGE_DICTIONARY)
			seen_dp++;
		else if (col.pages[i].encoding == TPQ_ENC_RLE_DICTIONARY)
			seen_dict++;
		else if (col.pages[i].encoding == TPQ_ENC_PLAIN)
			seen_plain++;
	}
	ASSERT_EQ(seen_dp, 1);
	ASSERT_EQ(seen_dict, n_dict);
	ASSERT_EQ(seen_plain, n_plain);
	ASSERT_EQ(col.n_values, 600);
	if (col.n_values == 600) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "distinct-value-%06d", 599);
		ASSERT_TRUE(bytes_eq(col.bytes + col.offsets[599], col.offsets[600] - col.offsets[599],
				     buf, (size_t)n));
		ASSERT_TRUE(bytes_eq(col.bytes + col.offsets[5], col.offsets[6] - col.offsets[5],
				     "f1", 2));
	}
	tpq_pr_column_release(&col);
	small_free(&s);
}

/* The dictionary page of chunk (0, c): its PLAIN entries, checked to be in
 * strictly ascending bytewise order (*sorted) and that the first is `first`
 * when given. Returns the number of entries. */
static size_t dict_entries(struct small *s, size_t c, bool *sorted, char *first, size_t first_cap)
{
	struct tpq_pr_column col = {0};
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_read_column(s->pr, 0, c, TPQ_PR_PAGES_ONLY, &col, &err), TPQ_OK);
	size_t n = 0;
	*sorted = true;
	for (size_t i = 0; i < col.n_pages; i++) {
		const struct tpq_pr_page *pg = &col.pages[i];
		if (pg->type != TPQ_PAGE_DICTIONARY)
			continue;
		uint8_t *u = malloc((size_t)pg->uncompressed_size + 1);
		struct tpq_codec_ctx *cx = tpq_codec_ctx_new();
		ASSERT_EQ(tpq_codec_decompress(cx, TPQ_CODEC_ZSTD,
					       tpq_pr_data(s->pr) + pg->offset + pg->header_len,
					       (size_t)pg->compressed_size, u,
					       (size_t)pg->uncompressed_size, &err),
			  TPQ_OK);
		const uint8_t *prev = NULL;
		size_t prev_len = 0;
		for (size_t at = 0; at + 4 <= (size_t)pg->uncompressed_size; n++) {
			size_t len = (size_t)le_int(u + at, 4);
			const uint8_t *v = u + at + 4;
			if (n == 0 && first) {
				size_t k = len < first_cap - 1 ? len : first_cap - 1;
				memcpy(first, v, k);
				first[k] = 0;
			}
			if (prev && cmp_bytes(prev, prev_len, v, len) >= 0)
				*sorted = false;
			prev = v;
			prev_len = len;
			at += 4 + len;
		}
		ASSERT_EQ(n, (size_t)pg->num_values);
		tpq_codec_ctx_free(cx);
		free(u);
	}
	tpq_pr_column_release(&col);
	return n;
}

/* A value of column "big": 3,000 distinct strings sharing long prefixes
 * (ARN-like, so the sort must look past 8 and 16 bytes), some a prefix of
 * another, one empty; put in a scrambled order. With `late`, rows from
 * 25,000 on bring new values, which overflow the dictionary. */
static int big_value(int r, bool late, char *buf, size_t cap)
{
	if (late && r >= 25000)
		return snprintf(buf, cap, "late-%d", r);
	unsigned k = (unsigned)r * 2654435761u % 3000u;
	if (k == 7)
		return 0;
	if (k % 10 == 3)
		return snprintf(buf, cap, "arn:aws:iam::123456789012:role/r%u", k / 10);
	return snprintf(buf, cap, "arn:aws:iam::123456789012:role/r%u/session-%u", k / 10, k);
}

/* Large BYTE_ARRAY dictionaries are written sorted and their pages renumbered
 * (several held pages, a fallback chunk); a small one keeps first-seen order;
 * every value reads back as put. */
TEST(dictionary_sorted)
{
	for (int fallback = 0; fallback < 2; fallback++) {
		struct small s = {0};
		tpq_schema_init(&s.schema);
		tpq_schema_string(&s.schema, 0, "big", TPQ_OPTIONAL, 0);
		tpq_schema_string(&s.schema, 0, "small", TPQ_REQUIRED, 0);
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		if (fallback)
			opt.dict_max_bytes = 200000; /* passed in the second page */
		small_open(&s, &opt);
		const int rows = 50000;
		char buf[96];
		for (int r = 0; r < rows; r++) {
			if (r % 17 == 5) {
				tpq_pw_put_null(s.w, 0, 0, 0);
			} else {
				int n = big_value(r, fallback, buf, sizeof(buf));
				tpq_pw_put_bytes(s.w, 0, 0, buf, (size_t)n);
			}
			const char *sv = r % 5 == 1 ? "alpha" : "zeta";
			tpq_pw_put_bytes(s.w, 1, 0, sv, strlen(sv));
			ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
		}
		small_read(&s);
		bool sorted;
		char first[16];
		size_t n = dict_entries(&s, 0, &sorted, NULL, 0);
		ASSERT_TRUE(sorted);
		if (fallback)
			ASSERT_TRUE(n > 3000 && n < 10000);
		else
			ASSERT_EQ(n, 3000);
		ASSERT_EQ(dict_entries(&s, 1, &sorted, first, sizeof(first)), 2);
		ASSERT_STR_EQ(first, "zeta");
		ASSERT_TRUE(!sorted);
		const struct tpq_column_meta_data *md = md_of(&s, 0, 0);
		ASSERT_TRUE(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_RLE_DICTIONARY) >= (fallback ? 2 : 3));
		ASSERT_EQ(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_PLAIN) > 0, fallback);

		struct tpq_pr_column col = {0};
		struct tpq_error err = {0};
		ASSERT_EQ(tpq_pr_read_column(s.pr, 0, 0, 0, &col, &err), TPQ_OK);
		size_t v = 0, bad = 0;
		for (int r = 0; r < rows; r++) {
			if (col.def[r] == 0) {
				bad += r % 17 != 5;
				continue;
			}
			int k = big_value(r, fallback, buf, sizeof(buf));
			bad += v >= col.n_values ||
			       !bytes_eq(col.bytes + col.offsets[v], col.offsets[v + 1] - col.offsets[v],
					 buf, (size_t)k);
			v++;
		}
		ASSERT_EQ(bad, 0);
		ASSERT_EQ(v, col.n_values);
		tpq_pr_column_release(&col);
		ASSERT_EQ(tpq_pr_read_column(s.pr, 0, 1, 0, &col, &err), TPQ_OK);
		ASSERT_EQ(col.n_values, (size_t)rows);
		ASSERT_TRUE(bytes_eq(col.bytes + col.offsets[0], col.offsets[1] - col.offsets[0],
				     "zeta", 4));
		ASSERT_TRUE(bytes_eq(col.bytes + col.offsets[1], col.offsets[2] - col.offsets[1],
				     "alpha", 5));
		tpq_pr_column_release(&col);
		small_free(&s);
	}
}

static unsigned rnd32(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (unsigned)(*x >> 32);
}

/* A BYTE_ARRAY column with TPQ_COL_DELTA: DELTA_LENGTH_BYTE_ARRAY pages, no
 * dictionary, smaller than PLAIN for same-length ids; values (empty, long,
 * null) read back as put. */
TEST(delta_length_byte_array)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_string(&s.schema, 0, "id", TPQ_OPTIONAL, TPQ_COL_DELTA);
	tpq_schema_string(&s.schema, 0, "plain", TPQ_OPTIONAL, TPQ_COL_NO_DICT);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	small_open(&s, &opt);
	const int rows = 30000;
	char buf[300];
	uint64_t x = 88172645463325252u;
	for (int r = 0; r < rows; r++) {
		int n;
		if (r % 1000 == 1)
			n = 0;
		else if (r % 1000 == 2)
			n = snprintf(buf, sizeof(buf), "%0250d", r);
		else /* a random UUID, as CloudTrail's ids */
			n = snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-a%03x-%04x%08x", rnd32(&x),
				     rnd32(&x) & 0xffff, rnd32(&x) & 0xfff, rnd32(&x) & 0xfff,
				     rnd32(&x) & 0xffff, rnd32(&x));
		for (int c = 0; c < 2; c++) {
			if (r % 13 == 4)
				tpq_pw_put_null(s.w, c, 0, 0);
			else
				tpq_pw_put_bytes(s.w, c, 0, buf, (size_t)n);
		}
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	const struct tpq_column_meta_data *md = md_of(&s, 0, 0);
	ASSERT_TRUE(!md->has_dictionary_page_offset);
	ASSERT_TRUE(has_enc(md, TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY) && !has_enc(md, TPQ_ENC_PLAIN));
	ASSERT_EQ(enc_stat(md, TPQ_PAGE_DATA, TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY), 2);
	ASSERT_TRUE(md->total_compressed_size < md_of(&s, 0, 1)->total_compressed_size);
	struct tpq_pr_column a = {0}, b = {0};
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_read_column(s.pr, 0, 0, 0, &a, &err), TPQ_OK);
	ASSERT_EQ(tpq_pr_read_column(s.pr, 0, 1, 0, &b, &err), TPQ_OK);
	ASSERT_EQ(a.n_values, b.n_values);
	ASSERT_EQ(a.n_values, (size_t)(rows - (rows + 8) / 13));
	ASSERT_TRUE(a.n_values == b.n_values && a.offsets[a.n_values] == b.offsets[b.n_values] &&
		    memcmp(a.offsets, b.offsets, (a.n_values + 1) * sizeof(size_t)) == 0 &&
		    memcmp(a.bytes, b.bytes, a.offsets[a.n_values]) == 0);
	ASSERT_MEM_EQ(a.def, b.def, (size_t)rows * sizeof(int16_t));
	tpq_pr_column_release(&a);
	tpq_pr_column_release(&b);
	small_free(&s);
}

/* (e) Bloom filters: no false negatives, few false positives. */
TEST(bloom)
{
	struct small s = {0};
	tpq_schema_init(&s.schema);
	tpq_schema_string(&s.schema, 0, "s", TPQ_OPTIONAL, TPQ_COL_BLOOM);
	tpq_schema_leaf(&s.schema, 0, "n", TPQ_REQUIRED, TPQ_T_INT64, NULL, TPQ_COL_BLOOM);
	tpq_schema_leaf(&s.schema, 0, "m", TPQ_REQUIRED, TPQ_T_INT32, NULL, TPQ_COL_BLOOM);
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.row_group_rows = 300;
	small_open(&s, &opt);
	for (int r = 0; r < 600; r++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "value-%d", r);
		if (r % 10 == 9)
			tpq_pw_put_null(s.w, 0, 0, 0);
		else
			tpq_pw_put_bytes(s.w, 0, 0, buf, (size_t)n);
		tpq_pw_put_i64(s.w, 1, 0, (int64_t)r * 1000003);
		tpq_pw_put_i32(s.w, 2, 0, r * 7);
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
	}
	small_read(&s);
	ASSERT_EQ(tpq_pr_num_row_groups(s.pr), 2);
	for (size_t rg = 0; rg < 2; rg++) {
		ASSERT_TRUE(md_of(&s, rg, 0)->has_bloom_filter_offset);
		int miss = 0, fp = 0;
		for (int r = (int)rg * 300; r < (int)rg * 300 + 300; r++) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "value-%d", r);
			if (r % 10 != 9 && !tpq_pr_bloom_might_contain(s.pr, rg, 0, buf, (size_t)n))
				miss++;
			uint8_t b[8];
			le64(b, (int64_t)r * 1000003);
			if (!tpq_pr_bloom_might_contain(s.pr, rg, 1, b, 8))
				miss++;
			le32(b, r * 7);
			if (!tpq_pr_bloom_might_contain(s.pr, rg, 2, b, 4))
				miss++;
		}
		for (int r = 0; r < 1000; r++) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "absent-%d", r);
			fp += tpq_pr_bloom_might_contain(s.pr, rg, 0, buf, (size_t)n);
			uint8_t b[8];
			le64(b, (int64_t)r * 1000003 + 1);
			fp += tpq_pr_bloom_might_contain(s.pr, rg, 1, b, 8);
			le32(b, r * 7 + 3);
			fp += tpq_pr_bloom_might_contain(s.pr, rg, 2, b, 4);
		}
		ASSERT_EQ(miss, 0);
		ASSERT_TRUE(fp < 150);  /* of 3000 probes at fpp 0.01 */
	}
	small_free(&s);
}

/* A PLAIN Bloom column repeats values across pages: its filter is sized by
 * the distinct count (the writer's hash list is deduplicated as it fills and
 * at chunk end), so 5,000 rows cycling through 300 values get the filter of
 * 300 values, and find every one. */
TEST(bloom_distinct_count)
{
	int32_t len[2] = {0};
	for (int t = 0; t < 2; t++) {
		struct small s = {0};
		tpq_schema_init(&s.schema);
		tpq_schema_string(&s.schema, 0, "id", TPQ_REQUIRED, TPQ_COL_BLOOM | TPQ_COL_NO_DICT);
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		opt.page_bytes = 1024; /* many pages */
		small_open(&s, &opt);
		int rows = t == 0 ? 5000 : 300;
		for (int r = 0; r < rows; r++) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "id-%d", (r * 7) % 300);
			tpq_pw_put_bytes(s.w, 0, 0, buf, (size_t)n);
			ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
		}
		small_read(&s);
		const struct tpq_column_meta_data *md = md_of(&s, 0, 0);
		ASSERT_TRUE(md->has_bloom_filter_offset);
		len[t] = md->bloom_filter_length;
		int miss = 0;
		for (int v = 0; v < 300; v++) {
			char buf[32];
			int n = snprintf(buf, sizeof(buf), "id-%d", v);
			miss += !tpq_pr_bloom_might_contain(s.pr, 0, 0, buf, (size_t)n);
		}
		ASSERT_EQ(miss, 0);
		small_free(&s);
	}
	ASSERT_TRUE(len[0] > 0);
	ASSERT_EQ(len[0], len[1]);
}

/* (f) error cases. */
TEST(errors)
{
	struct tpq_error err = {0};
	{  /* a column given no value in a row */
		struct small s = {0};
		tpq_schema_init(&s.schema);
		tpq_schema_leaf(&s.schema, 0, "a", TPQ_REQUIRED, TPQ_T_INT32, NULL, 0);
		tpq_schema_leaf(&s.schema, 0, "b", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		small_open(&s, &opt);
		tpq_pw_put_i32(s.w, 0, 0, 1);
		tpq_pw_put_i32(s.w, 1, 0, 1);
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
		tpq_pw_put_i32(s.w, 0, 0, 2);
		ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_EINVAL);
		ASSERT_TRUE(tpq_pw_finish(s.w, NULL, &err) != TPQ_OK);
		small_free(&s);
	}
	{  /* definition level out of range; a null at the max level; wrong type */
		for (int kase = 0; kase < 4; kase++) {
			struct small s = {0};
			tpq_schema_init(&s.schema);
			tpq_schema_leaf(&s.schema, 0, "a", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
			struct tpq_pw_options opt;
			tpq_pw_options_init(&opt);
			small_open(&s, &opt);
			if (kase == 0)
				tpq_pw_put_null(s.w, 0, 2, 0);   /* max_def is 1 */
			else if (kase == 1)
				tpq_pw_put_null(s.w, 0, 1, 0);   /* def == max_def is not a null */
			else if (kase == 2)
				tpq_pw_put_i64(s.w, 0, 0, 5);    /* INT32 column */
			else
				tpq_pw_put_i32(s.w, 0, 1, 5);    /* rep above max_rep 0 */
			ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_EINVAL);
			ASSERT_TRUE(tpq_pw_finish(s.w, NULL, &err) != TPQ_OK);
			small_free(&s);
		}
	}
	{  /* column ranges: past the last column; a level too high for one of them */
		for (int kase = 0; kase < 2; kase++) {
			struct small s = {0};
			tpq_schema_init(&s.schema);
			tpq_schema_leaf(&s.schema, 0, "a", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
			int g = tpq_schema_group(&s.schema, 0, "g", TPQ_OPTIONAL);
			tpq_schema_leaf(&s.schema, g, "b", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
			struct tpq_pw_options opt;
			tpq_pw_options_init(&opt);
			small_open(&s, &opt);
			if (kase == 0)
				tpq_pw_put_null_cols(s.w, 0, 3, 0, 0);
			else
				tpq_pw_put_null_cols(s.w, 0, 2, 1, 0); /* "a" has max_def 1 */
			ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_EINVAL);
			small_free(&s);
		}
	}
	{  /* an unfinished schema */
		struct tpq_schema sc;
		tpq_schema_init(&sc);
		tpq_schema_leaf(&sc, 0, "a", TPQ_OPTIONAL, TPQ_T_INT32, NULL, 0);
		struct tpq_sink *sink = tpq_sink_mem_new();
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		ASSERT_TRUE(tpq_pw_new(&sc, &opt, sink, &err) == NULL);
		sink->free(sink);
		tpq_schema_release(&sc);
	}
}

/* (g) determinism, also across codecs' levels of effort: same input, same bytes. */
TEST(determinism)
{
	uint8_t *out[2] = {0};
	size_t len[2] = {0};
	for (int t = 0; t < 2; t++) {
		struct small s = {0};
		tpq_schema_init(&s.schema);
		int l = tpq_schema_list(&s.schema, 0, "l", TPQ_OPTIONAL);
		tpq_schema_string(&s.schema, l, "element", TPQ_OPTIONAL, TPQ_COL_BLOOM);
		tpq_schema_timestamp_ms(&s.schema, 0, "t", TPQ_REQUIRED, 0);
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		opt.row_group_rows = 50;
		small_open(&s, &opt);
		for (int r = 0; r < 200; r++) {
			char buf[16];
			int n = snprintf(buf, sizeof(buf), "e%d", r % 17);
			if (r % 5 == 0) {
				tpq_pw_put_null(s.w, 0, 0, 0);
			} else {
				tpq_pw_put_bytes(s.w, 0, 0, buf, (size_t)n);
				tpq_pw_put_null(s.w, 0, 2, 1);
			}
			tpq_pw_put_i64(s.w, 1, 0, 1700000000000 + r);
			ASSERT_EQ(tpq_pw_end_row(s.w), TPQ_OK);
		}
		out[t] = finish_copy(s.w, s.sink, &len[t]);
		small_free(&s);
	}
	ASSERT_TRUE(out[0] && out[1]);
	ASSERT_EQ(len[0], len[1]);
	if (out[0] && out[1] && len[0] == len[1])
		ASSERT_MEM_EQ(out[0], out[1], len[0]);
	free(out[0]);
	free(out[1]);
}

int main(void)
{
	RUN(property_round_trip);
	RUN(statistics);
	RUN(statistics_truncated_max);
	RUN(page_index);
	RUN(page_rows);
	RUN(encodings);
	RUN(dictionary_sorted);
	RUN(delta_length_byte_array);
	RUN(bloom);
	RUN(bloom_distinct_count);
	RUN(errors);
	RUN(determinism);
	return harness_done();
}
