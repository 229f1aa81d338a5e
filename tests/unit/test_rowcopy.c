/* Tests of the row copier (src/parquet/rowcopy.c).
 *
 * Inputs are written in memory by the writer from random schemas and rows
 * (tests/unit/pq_gen.h: every nesting and leaf type the writer supports,
 * random codecs, pages and row group sizes). Each output is read back whole
 * with our reader and compared, column by column, level by level and value
 * by value, with the rows it should hold, cut out of the inputs read back the
 * same way (the test finds row boundaries itself from the rep levels). Then
 * the CloudTrail table with the real corpus: a k-way merge of three files by
 * eventtime (keys from tpq_rowcopy_read_i64) and a filtered copy, each
 * against the same records shredded directly in the same order. */
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pq_gen.h"

#include "cloudtrail/records.h"
#include "cloudtrail/shred.h"
#include "codec/codec.h"
#include "parquet/reader.h"
#include "parquet/rowcopy.h"
#include "util/buf.h"

/* ---- a file read back whole ---- */

/* One column of a whole file (row groups concatenated) with its row starts:
 * row r is levels [lrow[r], lrow[r + 1]) and values from vrow[r]. */
struct fcol {
	enum tpq_type type;
	int16_t max_def, max_rep;
	int16_t *def, *rep;
	size_t n;
	int64_t *ints;
	size_t nv;
	size_t *off; /* nv + 1 */
	uint8_t *bytes;
	size_t nb;
	size_t *lrow, *vrow; /* rows + 1 */
	size_t rows;
};

struct ffile {
	struct fcol *cols;
	size_t n_cols, n_rg;
	int64_t rows;
};

static void fcol_append(struct fcol *f, const struct tpq_pr_column *c)
{
	f->type = c->type;
	f->max_def = c->max_def;
	f->max_rep = c->max_rep;
	f->def = xrealloc(f->def, (f->n + c->n_levels) * sizeof(*f->def));
	f->rep = xrealloc(f->rep, (f->n + c->n_levels) * sizeof(*f->rep));
	if (c->n_levels) {
		memcpy(f->def + f->n, c->def, c->n_levels * sizeof(*f->def));
		memcpy(f->rep + f->n, c->rep, c->n_levels * sizeof(*f->rep));
	}
	f->n += c->n_levels;
	f->ints = xrealloc(f->ints, (f->nv + c->n_values) * sizeof(*f->ints));
	f->off = xrealloc(f->off, (f->nv + c->n_values + 1) * sizeof(*f->off));
	f->off[0] = 0;
	for (size_t i = 0; i < c->n_values; i++) {
		if (c->type == TPQ_T_BYTE_ARRAY) {
			size_t len = c->offsets[i + 1] - c->offsets[i];
			f->bytes = xrealloc(f->bytes, f->nb + len);
			if (len)
				memcpy(f->bytes + f->nb, c->bytes + c->offsets[i], len);
			f->nb += len;
			f->ints[f->nv + i] = 0;
		} else {
			f->ints[f->nv + i] = c->ints[i];
		}
		f->off[f->nv + i + 1] = f->nb;
	}
	f->nv += c->n_values;
}

static void fcol_rows(struct fcol *f)
{
	size_t rows = 0;
	for (size_t i = 0; i < f->n; i++)
		rows += f->rep[i] == 0;
	f->lrow = xrealloc(f->lrow, (rows + 1) * sizeof(*f->lrow));
	f->vrow = xrealloc(f->vrow, (rows + 1) * sizeof(*f->vrow));
	size_t r = 0, v = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->rep[i] == 0) {
			f->lrow[r] = i;
			f->vrow[r] = v;
			r++;
		}
		v += f->def[i] == f->max_def;
	}
	f->lrow[r] = f->n;
	f->vrow[r] = v;
	f->rows = rows;
}

static void ffile_free(struct ffile *f)
{
	for (size_t c = 0; c < f->n_cols; c++) {
		struct fcol *k = &f->cols[c];
		free(k->def);
		free(k->rep);
		free(k->ints);
		free(k->off);
		free(k->bytes);
		free(k->lrow);
		free(k->vrow);
	}
	free(f->cols);
	memset(f, 0, sizeof(*f));
}

static bool ffile_load(struct ffile *f, const uint8_t *p, size_t len)
{
	memset(f, 0, sizeof(*f));
	struct tpq_pr *pr = NULL;
	struct tpq_error err = {0};
	if (tpq_pr_open(&pr, p, len, NULL, &err) != TPQ_OK) {
		fprintf(stderr, "open: %s\n", err.msg);
		return false;
	}
	f->n_cols = tpq_pr_num_columns(pr);
	f->n_rg = tpq_pr_num_row_groups(pr);
	f->rows = tpq_pr_num_rows(pr);
	f->cols = calloc(f->n_cols, sizeof(*f->cols));
	bool ok = true;
	for (size_t c = 0; c < f->n_cols && ok; c++) {
		for (size_t g = 0; g < f->n_rg && ok; g++) {
			struct tpq_pr_column col;
			if (tpq_pr_read_column(pr, g, c, 0, &col, &err) != TPQ_OK) {
				fprintf(stderr, "read column %zu/%zu: %s\n", g, c, err.msg);
				ok = false;
			} else {
				fcol_append(&f->cols[c], &col);
			}
			tpq_pr_column_release(&col);
		}
		fcol_rows(&f->cols[c]);
		ok = ok && f->cols[c].rows == (size_t)f->rows;
	}
	tpq_pr_free(pr);
	return ok;
}

/* Row `row` of `src` wherever a selection put it. */
struct pick {
	const struct ffile *src;
	int64_t row;
};

/* out holds exactly the rows of sel[0..n), in that order. Prints the first difference. */
static bool check_rows(const struct ffile *out, const struct pick *sel, size_t n, const char *what)
{
	if (out->rows != (int64_t)n) {
		fprintf(stderr, "%s: %lld rows, expected %zu\n", what, (long long)out->rows, n);
		return false;
	}
	for (size_t c = 0; c < out->n_cols; c++) {
		const struct fcol *o = &out->cols[c];
		size_t ol = 0, ov = 0;
		for (size_t i = 0; i < n; i++) {
			if (c >= sel[i].src->n_cols) {
				fprintf(stderr, "%s: column %zu missing from a source\n", what, c);
				return false;
			}
			const struct fcol *s = &sel[i].src->cols[c];
			size_t r = (size_t)sel[i].row;
			size_t l0 = s->lrow[r], l1 = s->lrow[r + 1], v = s->vrow[r];
			if (o->type != s->type || o->max_def != s->max_def ||
			    o->max_rep != s->max_rep) {
				fprintf(stderr, "%s: column %zu: type or levels differ\n", what, c);
				return false;
			}
			for (size_t l = l0; l < l1; l++, ol++) {
				if (ol >= o->n || o->def[ol] != s->def[l] ||
				    o->rep[ol] != s->rep[l]) {
					fprintf(stderr,
						"%s: column %zu output row %zu: level %zu differs\n",
						what, c, i, ol);
					return false;
				}
				if (s->def[l] != s->max_def)
					continue;
				bool same;
				if (s->type == TPQ_T_BYTE_ARRAY) {
					size_t a = o->off[ov + 1] - o->off[ov];
					size_t b = s->off[v + 1] - s->off[v];
					const uint8_t *pa = o->bytes + o->off[ov];
					const uint8_t *pb = s->bytes + s->off[v];
					same = a == b && (a == 0 || memcmp(pa, pb, a) == 0);
				} else {
					same = o->ints[ov] == s->ints[v];
				}
				if (!same) {
					fprintf(stderr,
						"%s: column %zu output row %zu: value %zu differs\n",
						what, c, i, ov);
					return false;
				}
				ov++;
				v++;
			}
		}
		if (ol != o->n || ov != o->nv) {
			fprintf(stderr, "%s: column %zu: output has more entries than expected\n",
				what, c);
			return false;
		}
	}
	return true;
}

/* ---- random inputs ---- */

static void random_options(struct tpq_pw_options *opt)
{
	static const enum tpq_codec codecs[] = {
		TPQ_CODEC_UNCOMPRESSED, TPQ_CODEC_SNAPPY, TPQ_CODEC_GZIP, TPQ_CODEC_ZSTD,
		TPQ_CODEC_LZ4_RAW,
	};
	static const int64_t rg_rows[] = {0, 1, 7, 40};
	tpq_pw_options_init(opt);
	opt->codec = codecs[rnd(5)];
	if (!tpq_codec_supported(opt->codec))
		opt->codec = TPQ_CODEC_ZSTD;
	opt->dictionary = rnd(4) != 0;
	opt->page_bytes = rnd(2) ? 1024 : 1u << 20;
	opt->row_group_rows = rg_rows[rnd(4)];
	opt->dict_max_bytes = rnd(3) == 0 ? 40 : 1u << 20;
	opt->page_crc = rnd(2);
}

/* Writes `rows` random rows of k's schema (data from `data_seed`) with opt. */
static uint8_t *make_file(struct pcase *k, const struct tpq_pw_options *opt, int64_t rows,
			  uint64_t data_seed, size_t *len)
{
	struct tpq_error err = {0};
	uint8_t *out = NULL;
	*len = 0;
	rng_state = data_seed;
	struct tpq_sink *sink = tpq_sink_mem_new();
	k->w = tpq_pw_new(&k->schema, opt, sink, &err);
	ASSERT_TRUE(k->w != NULL);
	if (!k->w)
		goto free_sink;
	for (int64_t r = 0; r < rows; r++) {
		if (gen_row(k) != TPQ_OK) {
			ASSERT_TRUE(0);
			goto free_writer;
		}
	}
	out = finish_copy(k->w, sink, len);
free_writer:
	tpq_pw_free(k->w);
	k->w = NULL;
free_sink:
	sink->free(sink);
	for (int c = 0; c < k->n_cols; c++)
		k->cols[c].n = k->cols[c].nv = k->cols[c].nb = 0;  /* expectations unused here */
	return out;
}

static void pcase_release(struct pcase *k)
{
	for (int c = 0; c < k->n_cols; c++)
		ecol_free(&k->cols[c]);
	tpq_schema_release(&k->schema);
}

/* A copy request: row `row` of input `in`. */
struct req {
	size_t in;
	int64_t row;
};

/* Copies reqs[0..n) from the files into a new file written with `opt`;
 * *stats (may be NULL) gets the copier's counters. NULL on failure. */
static uint8_t *copy_rows(const struct tpq_schema *schema, uint8_t *const *files,
			  const size_t *lens, size_t n_files, const struct req *reqs, size_t n,
			  const struct tpq_pw_options *opt, size_t *len,
			  struct tpq_rowcopy_stats *stats)
{
	struct tpq_pr *pr[4] = {0};
	struct tpq_error err = {0};
	uint8_t *out = NULL;
	struct tpq_rowcopy *rc = NULL;
	size_t opened = 0;
	for (; opened < n_files; opened++) {
		if (tpq_pr_open(&pr[opened], files[opened], lens[opened], NULL, &err) != TPQ_OK) {
			fprintf(stderr, "open: %s\n", err.msg);
			ASSERT_TRUE(0);
			goto close;
		}
	}
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(schema, opt, sink, &err);
	ASSERT_TRUE(w != NULL);
	if (!w)
		goto free_sink;
	if (tpq_rowcopy_new(&rc, pr, n_files, w, schema, &err) != TPQ_OK) {
		fprintf(stderr, "rowcopy_new: %s\n", err.msg);
		ASSERT_TRUE(0);
		goto free_writer;
	}
	for (size_t i = 0; i < n; i++) {
		if (tpq_rowcopy_row(rc, reqs[i].in, reqs[i].row, &err) != TPQ_OK) {
			fprintf(stderr, "rowcopy_row %zu: %s (%s)\n", i, err.msg, err.where);
			ASSERT_TRUE(0);
			goto free_copier;
		}
		struct tpq_rowcopy_stats s;
		tpq_rowcopy_get_stats(rc, &s);
		ASSERT_TRUE(s.held_row_groups <= n_files);
	}
	if (stats)
		tpq_rowcopy_get_stats(rc, stats);
	out = finish_copy(w, sink, len);
free_copier:
	tpq_rowcopy_free(rc);
free_writer:
	tpq_pw_free(w);
free_sink:
	sink->free(sink);
close:
	for (size_t i = 0; i < opened; i++)
		tpq_pr_free(pr[i]);
	return out;
}

/* Copies and checks one selection of a single input. */
static bool copy_and_check(struct pcase *k, uint8_t *file, size_t len, const struct ffile *src,
			   const int64_t *rows, size_t n, const char *what,
			   struct tpq_rowcopy_stats *st)
{
	struct req *reqs = xrealloc(NULL, (n ? n : 1) * sizeof(*reqs));
	struct pick *sel = xrealloc(NULL, (n ? n : 1) * sizeof(*sel));
	for (size_t i = 0; i < n; i++) {
		reqs[i] = (struct req){0, rows[i]};
		sel[i] = (struct pick){src, rows[i]};
	}
	struct tpq_pw_options opt;
	random_options(&opt);
	size_t olen = 0;
	uint8_t *out = copy_rows(&k->schema, &file, &len, 1, reqs, n, &opt, &olen, st);
	bool ok = false;
	struct ffile of;
	if (out && ffile_load(&of, out, olen)) {
		ok = check_rows(&of, sel, n, what);
		ffile_free(&of);
	}
	free(out);
	free(reqs);
	free(sel);
	return ok;
}

static size_t nonempty_row_groups(const uint8_t *p, size_t len)
{
	struct tpq_pr *pr = NULL;
	size_t n = 0;
	if (tpq_pr_open(&pr, p, len, NULL, NULL) != TPQ_OK)
		return 0;
	for (size_t g = 0; g < tpq_pr_num_row_groups(pr); g++)
		n += tpq_pr_meta(pr)->row_groups[g].num_rows > 0;
	tpq_pr_free(pr);
	return n;
}

#define RANDOM_CASES 200

/* Every row in order, then reversed, shuffled, every third dropped, and a
 * few rows asked twice, for random schemas and files. */
TEST(random_selections)
{
	static struct pcase k;
	size_t multi_rg = 0, levels = 0;
	for (unsigned seed = 1; seed <= RANDOM_CASES; seed++) {
		memset(&k, 0, sizeof(k));
		rng_state = 0x726f77636f707900ull + seed;
		struct tpq_error err = {0};
		if (gen_schema(&k, &err) != TPQ_OK) {
			fprintf(stderr, "seed %u: schema: %s\n", seed, err.msg);
			ASSERT_TRUE(0);
			pcase_release(&k);
			continue;
		}
		struct tpq_pw_options opt;
		random_options(&opt);
		int64_t rows = 1 + rnd(seed % 10 == 0 ? 400 : 60);
		size_t len = 0;
		uint8_t *file = make_file(&k, &opt, rows, rng_state ^ 0x5eed, &len);
		struct ffile src;
		if (!file || !ffile_load(&src, file, len)) {
			ASSERT_TRUE(0);
			free(file);
			pcase_release(&k);
			continue;
		}
		size_t n_rg = nonempty_row_groups(file, len);
		multi_rg += n_rg > 1;
		for (size_t c = 0; c < src.n_cols; c++)
			levels += src.cols[c].n;
		int64_t *sel = xrealloc(NULL, (size_t)rows * 2 * sizeof(*sel));
		char what[64];

		/* in order: each row group decoded exactly once, one held at a time */
		for (int64_t r = 0; r < rows; r++)
			sel[r] = r;
		struct tpq_rowcopy_stats st;
		snprintf(what, sizeof(what), "seed %u in order", seed);
		ASSERT_TRUE(copy_and_check(&k, file, len, &src, sel, (size_t)rows, what, &st));
		ASSERT_EQ(st.rows, rows);
		ASSERT_EQ(st.row_group_decodes, n_rg);
		ASSERT_EQ(st.held_row_groups, 1);

		for (int64_t r = 0; r < rows; r++)
			sel[r] = rows - 1 - r;
		snprintf(what, sizeof(what), "seed %u reversed", seed);
		ASSERT_TRUE(copy_and_check(&k, file, len, &src, sel, (size_t)rows, what, NULL));

		for (int64_t r = rows - 1; r > 0; r--) {
			int64_t j = (int64_t)rnd((unsigned)r + 1), t = sel[r];
			sel[r] = sel[j];
			sel[j] = t;
		}
		snprintf(what, sizeof(what), "seed %u shuffled", seed);
		ASSERT_TRUE(copy_and_check(&k, file, len, &src, sel, (size_t)rows, what, NULL));

		size_t n = 0;
		for (int64_t r = 0; r < rows; r++)
			if (r % 3 != 2)
				sel[n++] = r;
		snprintf(what, sizeof(what), "seed %u every third dropped", seed);
		ASSERT_TRUE(copy_and_check(&k, file, len, &src, sel, n, what, &st));
		ASSERT_TRUE(st.row_group_decodes <= (int64_t)n_rg);

		n = 0;
		for (int64_t r = 0; r < rows; r++) {
			sel[n++] = r;
			if (rnd(4) == 0)
				sel[n++] = r;
		}
		snprintf(what, sizeof(what), "seed %u repeats", seed);
		ASSERT_TRUE(copy_and_check(&k, file, len, &src, sel, n, what, NULL));

		free(sel);
		ffile_free(&src);
		free(file);
		pcase_release(&k);
	}
	printf("random selections: %d schemas, %zu with several row groups, %zu source levels\n",
	       RANDOM_CASES, multi_rg, levels);
	ASSERT_TRUE(multi_rg > RANDOM_CASES / 4);
}

/* Two files of one schema merged: rows interleaved at random, each input in
 * increasing order, as a k-way merge asks them. */
TEST(merge_two_files)
{
	static struct pcase k;
	for (unsigned seed = 1; seed <= 60; seed++) {
		memset(&k, 0, sizeof(k));
		rng_state = 0x6d65726765000000ull + seed;
		struct tpq_error err = {0};
		if (gen_schema(&k, &err) != TPQ_OK) {
			ASSERT_TRUE(0);
			pcase_release(&k);
			continue;
		}
		uint8_t *files[2];
		size_t lens[2];
		int64_t rows[2];
		struct ffile src[2];
		bool ok = true;
		for (int f = 0; f < 2; f++) {
			struct tpq_pw_options opt;
			random_options(&opt);
			opt.row_group_rows = f == 0 ? 5 : 11;
			rows[f] = 1 + rnd(80);
			uint64_t data_seed = rng_state + (uint64_t)f * 7919;
			files[f] = make_file(&k, &opt, rows[f], data_seed, &lens[f]);
			ok = ok && files[f] && ffile_load(&src[f], files[f], lens[f]);
		}
		ASSERT_TRUE(ok);
		if (ok) {
			size_t n = (size_t)(rows[0] + rows[1]);
			struct req *reqs = xrealloc(NULL, n * sizeof(*reqs));
			struct pick *sel = xrealloc(NULL, n * sizeof(*sel));
			int64_t next[2] = {0, 0};
			for (size_t i = 0; i < n; i++) {
				size_t f = next[0] == rows[0] ? 1 : next[1] == rows[1] ? 0 : rnd(2);
				reqs[i] = (struct req){f, next[f]};
				sel[i] = (struct pick){&src[f], next[f]};
				next[f]++;
			}
			struct tpq_pw_options opt;
			random_options(&opt);
			size_t olen = 0;
			struct tpq_rowcopy_stats st;
			uint8_t *out =
				copy_rows(&k.schema, files, lens, 2, reqs, n, &opt, &olen, &st);
			struct ffile of;
			char what[64];
			snprintf(what, sizeof(what), "merge seed %u", seed);
			ASSERT_TRUE(out && ffile_load(&of, out, olen) &&
				    check_rows(&of, sel, n, what));
			size_t rgs = nonempty_row_groups(files[0], lens[0]) +
				     nonempty_row_groups(files[1], lens[1]);
			ASSERT_EQ(st.row_group_decodes, rgs);
			ASSERT_EQ(st.held_row_groups, 2);
			if (out)
				ffile_free(&of);
			free(out);
			free(reqs);
			free(sel);
		}
		for (int f = 0; f < 2; f++) {
			if (files[f])
				ffile_free(&src[f]);
			free(files[f]);
		}
		pcase_release(&k);
	}
}

/* ---- a hand-made schema for errors ---- */

/* optional group a { required int64 b; optional binary (STRING) c }, optional boolean d. */
static void small_schema(struct tpq_schema *s, enum tpq_repetition a_rep, enum tpq_type b_type,
			 const char *c_name, bool with_d)
{
	ASSERT_EQ(tpq_schema_init(s), 0);
	int a = tpq_schema_group(s, 0, "a", a_rep);
	tpq_schema_leaf(s, a, "b", TPQ_REQUIRED, b_type, NULL, 0);
	tpq_schema_string(s, a, c_name, TPQ_OPTIONAL, 0);
	if (with_d)
		tpq_schema_leaf(s, 0, "d", TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL, 0);
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_schema_finish(s, &err), TPQ_OK);
}

static uint8_t *small_file(const struct tpq_schema *s, int rows, size_t *len)
{
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	opt.row_group_rows = 4;
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(s, &opt, sink, NULL);
	for (int r = 0; r < rows; r++) {
		if (r % 5 == 4) {
			tpq_pw_put_null_node(w, 1, 0, 0);
		} else {
			tpq_pw_put_i64(w, 0, 0, r * 10);
			if (r % 2)
				tpq_pw_put_null(w, 1, 1, 0);
			else
				tpq_pw_put_bytes(w, 1, 0, "xy", (size_t)(r % 3));
		}
		tpq_pw_put_bool(w, 2, 0, r % 2);
		ASSERT_EQ(tpq_pw_end_row(w), TPQ_OK);
	}
	uint8_t *out = finish_copy(w, sink, len);
	tpq_pw_free(w);
	sink->free(sink);
	return out;
}

/* Tries a copier from a file of schema `a` into a writer of schema `b`;
 * returns its status and the message in msg. */
static enum tpq_status try_new(const struct tpq_schema *a, const struct tpq_schema *b,
			       char *msg, size_t cap)
{
	size_t len = 0;
	uint8_t *file = small_file(a, 3, &len);
	struct tpq_pr *pr = NULL;
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_pr_open(&pr, file, len, NULL, &err), TPQ_OK);
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(b, NULL, sink, &err);
	struct tpq_rowcopy *rc = (struct tpq_rowcopy *)&err; /* must become NULL on error */
	tpq_error_clear(&err);
	enum tpq_status st = tpq_rowcopy_new(&rc, &pr, 1, w, b, &err);
	if (st != TPQ_OK)
		ASSERT_TRUE(rc == NULL);
	snprintf(msg, cap, "%s", err.msg);
	tpq_rowcopy_free(rc);
	tpq_pw_free(w);
	sink->free(sink);
	tpq_pr_free(pr);
	free(file);
	return st;
}

TEST(schema_mismatch_rejected)
{
	struct tpq_schema base, other;
	char msg[512];
	small_schema(&base, TPQ_OPTIONAL, TPQ_T_INT64, "c", true);

	small_schema(&other, TPQ_OPTIONAL, TPQ_T_INT64, "c", true);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_OK);
	tpq_schema_release(&other);

	small_schema(&other, TPQ_OPTIONAL, TPQ_T_INT32, "c", true);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_EINVAL);
	ASSERT_STR_EQ(msg,
		      "input 0 column 0 'a.b': physical type INT64 differs from the writer's INT32");
	tpq_schema_release(&other);

	small_schema(&other, TPQ_OPTIONAL, TPQ_T_INT64, "e", true);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_EINVAL);
	ASSERT_STR_EQ(msg, "input 0 column 1 is 'a.c' but the writer's is 'a.e'");
	tpq_schema_release(&other);

	small_schema(&other, TPQ_OPTIONAL, TPQ_T_INT64, "c", false);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_EINVAL);
	ASSERT_STR_EQ(msg, "input 0 has 3 columns but the writer's schema has 2");
	tpq_schema_release(&other);

	/* a.b: same max levels (def 1) when a is required and b optional: the levels
	 * would mean another thing, so it is refused too */
	ASSERT_EQ(tpq_schema_init(&other), 0);
	int a = tpq_schema_group(&other, 0, "a", TPQ_REQUIRED);
	tpq_schema_leaf(&other, a, "b", TPQ_OPTIONAL, TPQ_T_INT64, NULL, 0);
	tpq_schema_string(&other, a, "c", TPQ_OPTIONAL, 0);
	tpq_schema_leaf(&other, 0, "d", TPQ_OPTIONAL, TPQ_T_BOOLEAN, NULL, 0);
	ASSERT_EQ(tpq_schema_finish(&other, NULL), TPQ_OK);
	ASSERT_EQ(other.nodes[other.leaves[0]].max_def, base.nodes[base.leaves[0]].max_def);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_EINVAL);
	ASSERT_STR_EQ(msg, "input 0 column 0 'a.b': 'b' is required but the writer's is optional");
	tpq_schema_release(&other);

	/* max levels differ (c optional vs repeated) */
	small_schema(&other, TPQ_REPEATED, TPQ_T_INT64, "c", true);
	ASSERT_EQ(try_new(&base, &other, msg, sizeof(msg)), TPQ_EINVAL);
	ASSERT_STR_EQ(msg, "input 0 column 0 'a.b': 'a' is optional but the writer's is repeated");
	tpq_schema_release(&other);

	/* a column type the writer cannot write */
	ASSERT_EQ(tpq_schema_init(&other), 0);
	tpq_schema_leaf(&other, 0, "x", TPQ_OPTIONAL, TPQ_T_DOUBLE, NULL, 0);
	ASSERT_EQ(tpq_schema_finish(&other, NULL), TPQ_OK);
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(&base, NULL, sink, NULL);
	struct tpq_rowcopy *rc = NULL;
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_rowcopy_new(&rc, NULL, 0, w, &other, &err), TPQ_EUNSUPPORTED);
	ASSERT_STR_EQ(err.msg, "column 0 has type DOUBLE, which the writer cannot write");
	ASSERT_STR_EQ(err.where, "x");
	ASSERT_TRUE(rc == NULL);
	tpq_pw_free(w);
	sink->free(sink);
	tpq_schema_release(&other);
	tpq_schema_release(&base);
}

/* Bad requests fail without touching the writer; good ones after them work.
 * Releasing an input and asking again decodes again. */
TEST(bad_requests_and_release)
{
	struct tpq_schema s;
	small_schema(&s, TPQ_OPTIONAL, TPQ_T_INT64, "c", true);
	size_t len = 0;
	uint8_t *file = small_file(&s, 10, &len); /* row groups of 4, 4, 2 rows */
	struct ffile src;
	ASSERT_TRUE(ffile_load(&src, file, len));
	ASSERT_EQ(src.n_rg, 3);
	struct tpq_pr *pr = NULL;
	ASSERT_EQ(tpq_pr_open(&pr, file, len, NULL, NULL), TPQ_OK);
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(&s, NULL, sink, NULL);
	struct tpq_rowcopy *rc = NULL;
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_rowcopy_new(&rc, &pr, 1, w, &s, &err), TPQ_OK);

	ASSERT_EQ(tpq_rowcopy_row(rc, 0, 10, &err), TPQ_EINVAL);
	ASSERT_STR_EQ(err.msg, "input 0 has no row 10 (it has 10)");
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_rowcopy_row(rc, 0, -1, &err), TPQ_EINVAL);
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_rowcopy_row(rc, 1, 0, &err), TPQ_EINVAL);
	ASSERT_STR_EQ(err.msg, "no input 1 (there are 1)");
	ASSERT_EQ(tpq_pw_rows(w), 0);

	struct tpq_rowcopy_stats st;
	static const int64_t order[] = {9, 0, 5, 5, 3};
	struct pick sel[5];
	for (size_t i = 0; i < 5; i++) {
		ASSERT_EQ(tpq_rowcopy_row(rc, 0, order[i], NULL), TPQ_OK);
		sel[i] = (struct pick){&src, order[i]};
		if (i == 2) {
			tpq_rowcopy_release_input(rc, 0);
			tpq_rowcopy_get_stats(rc, &st);
			ASSERT_EQ(st.held_row_groups, 0);
		}
	}
	tpq_rowcopy_release_input(rc, 7); /* out of range: nothing */
	tpq_rowcopy_get_stats(rc, &st);
	ASSERT_EQ(st.rows, 5);
	ASSERT_EQ(st.row_group_decodes, 5); /* rg 2, 0, 1, (released) 1, 0 */
	ASSERT_EQ(st.held_row_groups, 1);
	tpq_rowcopy_free(rc);
	size_t olen = 0;
	uint8_t *out = finish_copy(w, sink, &olen);
	struct ffile of;
	ASSERT_TRUE(out && ffile_load(&of, out, olen) && check_rows(&of, sel, 5, "bad requests"));
	if (out)
		ffile_free(&of);
	/* row 9 is a null group, row 3 a present group with a null string */
	ASSERT_EQ(src.cols[1].def[9], 0);
	ASSERT_EQ(src.cols[1].def[3], 1);

	/* the key helper: ints per row, nulls flagged; not for BYTE_ARRAY */
	int64_t v[10];
	bool present[10];
	ASSERT_EQ(tpq_rowcopy_find_column(&s, "a.b"), 0);
	ASSERT_EQ(tpq_rowcopy_find_column(&s, "d"), 2);
	ASSERT_EQ(tpq_rowcopy_find_column(&s, "a"), -1);
	ASSERT_EQ(tpq_rowcopy_read_i64(pr, 0, v, present, NULL), TPQ_OK);
	for (int r = 0; r < 10; r++) {
		ASSERT_EQ(present[r], r % 5 != 4);
		ASSERT_EQ(v[r], r % 5 != 4 ? r * 10 : 0);
	}
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_rowcopy_read_i64(pr, 1, v, present, &err), TPQ_EINVAL);
	ASSERT_STR_EQ(err.msg, "column 1 is BYTE_ARRAY, not one INT64 or INT32 per row");
	ASSERT_EQ(tpq_rowcopy_read_i64(pr, 3, v, NULL, NULL), TPQ_EINVAL);

	free(out);
	tpq_pw_free(w);
	sink->free(sink);
	tpq_pr_free(pr);
	ffile_free(&src);
	free(file);
	tpq_schema_release(&s);
}

/* An allocator whose Nth allocation fails (0: none). */
static struct {
	long count, fail_at, failed;
} g_alloc;

static void *fail_malloc(void *ctx, size_t n)
{
	(void)ctx;
	if (++g_alloc.count == g_alloc.fail_at) {
		g_alloc.failed++;
		return NULL;
	}
	return malloc(n);
}

static void *fail_realloc(void *ctx, void *p, size_t old, size_t n)
{
	(void)ctx;
	(void)old;
	if (++g_alloc.count == g_alloc.fail_at) {
		g_alloc.failed++;
		return NULL;
	}
	return realloc(p, n);
}

static void fail_free(void *ctx, void *p, size_t n)
{
	(void)ctx;
	(void)n;
	free(p);
}

/* Every allocation of the reader's decoding failing in turn: the row fails
 * with TPQ_ENOMEM, nothing reaches the writer, asking again works, nothing
 * leaks (under ASan), and the output is still exactly the input. */
TEST(decode_allocation_failures)
{
	struct tpq_schema s;
	small_schema(&s, TPQ_OPTIONAL, TPQ_T_INT64, "c", true);
	size_t len = 0;
	uint8_t *file = small_file(&s, 10, &len);
	struct ffile src;
	ASSERT_TRUE(ffile_load(&src, file, len));
	struct pick all[10];
	for (int r = 0; r < 10; r++)
		all[r] = (struct pick){&src, r};
	static const struct tpq_allocator alloc = {fail_malloc, fail_realloc, fail_free, NULL};
	struct tpq_pr_options ro;
	tpq_pr_options_init(&ro);
	ro.alloc = &alloc;
	long injected = 0;
	for (long n = 1; n < 1000; n++) {
		memset(&g_alloc, 0, sizeof(g_alloc));
		struct tpq_pr *pr = NULL;
		ASSERT_EQ(tpq_pr_open(&pr, file, len, &ro, NULL), TPQ_OK);
		g_alloc.count = 0;
		g_alloc.fail_at = n;
		struct tpq_sink *sink = tpq_sink_mem_new();
		struct tpq_pw *w = tpq_pw_new(&s, NULL, sink, NULL);
		struct tpq_rowcopy *rc = NULL;
		ASSERT_EQ(tpq_rowcopy_new(&rc, &pr, 1, w, &s, NULL), TPQ_OK);
		for (int64_t r = 0; r < 10; r++) {
			struct tpq_error err = {0};
			enum tpq_status st = tpq_rowcopy_row(rc, 0, r, &err);
			if (st != TPQ_OK) {
				ASSERT_EQ(st, TPQ_ENOMEM);
				ASSERT_EQ(tpq_pw_rows(w), r);
				ASSERT_TRUE(strncmp(err.msg, "input 0: ", 9) == 0);
				ASSERT_EQ(tpq_rowcopy_row(rc, 0, r, NULL), TPQ_OK);
			}
		}
		tpq_rowcopy_free(rc);
		size_t olen = 0;
		uint8_t *out = finish_copy(w, sink, &olen);
		struct ffile of;
		ASSERT_TRUE(out && ffile_load(&of, out, olen) &&
			    check_rows(&of, all, 10, "allocation failures"));
		if (out)
			ffile_free(&of);
		free(out);
		tpq_pw_free(w);
		sink->free(sink);
		tpq_pr_free(pr);
		long failed = g_alloc.failed;
		injected += failed;
		if (!failed)
			break;
	}
	ASSERT_TRUE(injected > 10);
	ffile_free(&src);
	free(file);
	tpq_schema_release(&s);
}

/* ---- CloudTrail ---- */

struct ct_rec {
	const uint8_t *p; /* inside a padded file buffer */
	uint32_t len;
	int64_t ms;
};

static struct {
	uint8_t **bufs;
	size_t n_bufs;
	struct ct_rec *v;
	size_t n, cap;
	struct tpq_codec_ctx *codec;
	struct tpq_ct_records recs;
	int failures;
} g_ct;

static int ct_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	size_t l = strlen(path);
	if (flag != FTW_F || l < 8 || strcmp(path + l - 8, ".json.gz") != 0)
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		g_ct.failures++;
		return 0;
	}
	uint8_t *comp = NULL;
	size_t clen = 0, cap = 0, got;
	do {
		if (clen == cap) {
			cap = cap ? cap * 2 : 65536;
			comp = xrealloc(comp, cap);
		}
		got = fread(comp + clen, 1, cap - clen, f);
		clen += got;
	} while (got > 0);
	fclose(f);
	struct tpq_buf out;
	tpq_buf_init(&out);
	struct tpq_error err = {0};
	if (tpq_gunzip(g_ct.codec, comp, clen, (size_t)1 << 30, &out, &err) != TPQ_OK) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		g_ct.failures++;
	} else {
		uint8_t *buf = xrealloc(NULL, out.len + TPQ_CT_PAD);
		memcpy(buf, out.p, out.len);
		memset(buf + out.len, 0, TPQ_CT_PAD);
		g_ct.bufs = xrealloc(g_ct.bufs, (g_ct.n_bufs + 1) * sizeof(*g_ct.bufs));
		g_ct.bufs[g_ct.n_bufs++] = buf;
		if (tpq_ct_split(buf, out.len, &g_ct.recs, &err) != TPQ_OK) {
			fprintf(stderr, "%s: split: %s\n", path, err.msg);
			g_ct.failures++;
		}
		for (size_t i = 0; i < g_ct.recs.n; i++) {
			if (g_ct.n == g_ct.cap) {
				g_ct.cap = g_ct.cap ? g_ct.cap * 2 : 1024;
				g_ct.v = xrealloc(g_ct.v, g_ct.cap * sizeof(*g_ct.v));
			}
			const struct tpq_ct_record *r = &g_ct.recs.v[i];
			g_ct.v[g_ct.n++] = (struct ct_rec){buf + r->off, r->len, r->event_ms};
		}
	}
	tpq_buf_release(&out);
	free(comp);
	return 0;
}

/* Shreds recs[idx[0..n)] into a new file. */
static uint8_t *ct_write(const struct tpq_ct_table *t, struct tpq_ct_shredder *sh,
			 const struct ct_rec *recs, const size_t *idx, size_t n,
			 const struct tpq_pw_options *opt, size_t *len)
{
	struct tpq_error err = {0};
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(tpq_ct_table_schema(t), opt, sink, &err);
	uint8_t *out = NULL;
	ASSERT_TRUE(w != NULL);
	for (size_t i = 0; w && i < n; i++) {
		const struct ct_rec *r = &recs[idx[i]];
		if (tpq_ct_shred(sh, w, r->p, r->len, &err) != TPQ_OK ||
		    tpq_pw_end_row(w) != TPQ_OK) {
			fprintf(stderr, "shred record %zu: %s\n", idx[i], err.msg);
			ASSERT_TRUE(0);
			goto done;
		}
	}
	if (w)
		out = finish_copy(w, sink, len);
done:
	tpq_pw_free(w);
	sink->free(sink);
	return out;
}

static const struct ct_rec *g_sort_recs;

/* (eventtime, record index): a total order, so sorted sequences are unique */
static int cmp_by_time(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t tx = g_sort_recs[x].ms, ty = g_sort_recs[y].ms;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x < y ? -1 : x > y;
}

#define CT_FILES 3

TEST(cloudtrail_merge_and_filter)
{
	memset(&g_ct, 0, sizeof(g_ct));
	g_ct.codec = tpq_codec_ctx_new();
	tpq_ct_records_init(&g_ct.recs);
	ASSERT_EQ(nftw("../shared/corpus/dev", ct_file, 16, FTW_PHYS), 0);
	ASSERT_EQ(g_ct.failures, 0);
	ASSERT_EQ(g_ct.n, 2124);
	struct tpq_ct_table *t = NULL;
	ASSERT_EQ(tpq_ct_table_new(&t, NULL), TPQ_OK);
	struct tpq_ct_shredder *sh = tpq_ct_shredder_new(t);
	const struct tpq_schema *schema = tpq_ct_table_schema(t);
	size_t n = g_ct.n;
	g_sort_recs = g_ct.v;

	/* Three partition files, each sorted by time, record i in file i % 3. */
	size_t *idx[CT_FILES], cnt[CT_FILES] = {0};
	uint8_t *files[CT_FILES];
	size_t lens[CT_FILES];
	struct tpq_pr *pr[CT_FILES];
	for (int f = 0; f < CT_FILES; f++) {
		idx[f] = xrealloc(NULL, n * sizeof(size_t));
		for (size_t i = (size_t)f; i < n; i += CT_FILES)
			idx[f][cnt[f]++] = i;
		qsort(idx[f], cnt[f], sizeof(size_t), cmp_by_time);
		struct tpq_pw_options opt;
		tpq_pw_options_init(&opt);
		opt.row_group_rows = 100 + 30 * f; /* several row groups per file */
		files[f] = ct_write(t, sh, g_ct.v, idx[f], cnt[f], &opt, &lens[f]);
		ASSERT_EQ(tpq_pr_open(&pr[f], files[f], lens[f], NULL, NULL), TPQ_OK);
		ASSERT_TRUE(tpq_pr_num_row_groups(pr[f]) >= 5);
	}

	/* The merge key from each file's eventtime column agrees with pass one. */
	int tcol = tpq_rowcopy_find_column(schema, "eventtime");
	ASSERT_TRUE(tcol >= 0);
	int64_t *key[CT_FILES];
	bool *has[CT_FILES];
	for (int f = 0; f < CT_FILES; f++) {
		key[f] = xrealloc(NULL, cnt[f] * sizeof(int64_t));
		has[f] = xrealloc(NULL, cnt[f] * sizeof(bool));
		ASSERT_EQ(tpq_rowcopy_read_i64(pr[f], (size_t)tcol, key[f], has[f], NULL), TPQ_OK);
		for (size_t r = 0; r < cnt[f]; r++) {
			int64_t want = g_ct.v[idx[f][r]].ms;
			ASSERT_EQ(has[f][r], want != INT64_MIN);
			ASSERT_EQ(has[f][r] ? key[f][r] : INT64_MIN, want);
		}
	}

	/* k-way merge on (present, key, record index) into one file. */
	struct tpq_pw_options opt;
	tpq_pw_options_init(&opt);
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(schema, &opt, sink, NULL);
	struct tpq_rowcopy *rc = NULL;
	struct tpq_error err = {0};
	ASSERT_EQ(tpq_rowcopy_new(&rc, pr, CT_FILES, w, schema, &err), TPQ_OK);
	size_t *merged = xrealloc(NULL, n * sizeof(size_t));
	size_t pos[CT_FILES] = {0};
	for (size_t i = 0; i < n; i++) {
		int best = -1;
		for (int f = 0; f < CT_FILES; f++) {
			if (pos[f] == cnt[f])
				continue;
			size_t a = idx[f][pos[f]];
			if (best < 0) {
				best = f;
				continue;
			}
			int64_t ka = has[f][pos[f]] ? key[f][pos[f]] : INT64_MIN;
			int64_t kb = has[best][pos[best]] ? key[best][pos[best]] : INT64_MIN;
			if (ka < kb || (ka == kb && a < idx[best][pos[best]]))
				best = f;
		}
		merged[i] = idx[best][pos[best]];
		ASSERT_EQ(tpq_rowcopy_row(rc, (size_t)best, (int64_t)pos[best], &err), TPQ_OK);
		if (++pos[best] == cnt[best])
			tpq_rowcopy_release_input(rc, (size_t)best);
	}
	struct tpq_rowcopy_stats st;
	tpq_rowcopy_get_stats(rc, &st);
	ASSERT_EQ(st.held_row_groups, 0);
	ASSERT_EQ(st.row_group_decodes, (int64_t)(tpq_pr_num_row_groups(pr[0]) +
						   tpq_pr_num_row_groups(pr[1]) +
						   tpq_pr_num_row_groups(pr[2])));
	tpq_rowcopy_free(rc);
	size_t mlen = 0;
	uint8_t *mfile = finish_copy(w, sink, &mlen);
	tpq_pw_free(w);
	sink->free(sink);

	/* The same records shredded directly in the merged order: every column equal. */
	size_t *sorted = xrealloc(NULL, n * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		sorted[i] = i;
	qsort(sorted, n, sizeof(size_t), cmp_by_time);
	ASSERT_MEM_EQ(sorted, merged, n * sizeof(size_t));
	size_t dlen = 0;
	uint8_t *dfile = ct_write(t, sh, g_ct.v, merged, n, &opt, &dlen);
	struct ffile mf, df;
	ASSERT_TRUE(mfile && ffile_load(&mf, mfile, mlen));
	ASSERT_TRUE(dfile && ffile_load(&df, dfile, dlen));
	ASSERT_EQ(df.n_cols, schema->n_leaves);
	struct pick *sel = xrealloc(NULL, n * sizeof(*sel));
	for (size_t i = 0; i < n; i++)
		sel[i] = (struct pick){&df, (int64_t)i};
	ASSERT_TRUE(check_rows(&mf, sel, n, "cloudtrail merge"));
	/* same puts, same options: the same bytes */
	ASSERT_EQ(mlen, dlen);
	if (mlen == dlen)
		ASSERT_MEM_EQ(mfile, dfile, mlen);
	size_t values = 0;
	for (size_t c = 0; c < df.n_cols; c++)
		values += df.cols[c].nv;

	/* Replacing rows: file 1 without every third row, against a direct write
	 * of the rows kept. */
	struct req *reqs = xrealloc(NULL, cnt[1] * sizeof(*reqs));
	size_t *kept = xrealloc(NULL, cnt[1] * sizeof(size_t));
	size_t nk = 0;
	for (size_t r = 0; r < cnt[1]; r++) {
		if (r % 3 == 2)
			continue;
		reqs[nk] = (struct req){0, (int64_t)r};
		kept[nk++] = idx[1][r];
	}
	size_t flen = 0, klen = 0;
	tpq_pw_options_init(&opt);
	opt.row_group_rows = 64;
	uint8_t *fbytes = copy_rows(schema, &files[1], &lens[1], 1, reqs, nk, &opt, &flen, NULL);
	uint8_t *kfile = ct_write(t, sh, g_ct.v, kept, nk, &opt, &klen);
	struct ffile ff, kf;
	ASSERT_TRUE(fbytes && ffile_load(&ff, fbytes, flen));
	ASSERT_TRUE(kfile && ffile_load(&kf, kfile, klen));
	for (size_t i = 0; i < nk; i++)
		sel[i] = (struct pick){&kf, (int64_t)i};
	ASSERT_TRUE(check_rows(&ff, sel, nk, "cloudtrail filter"));
	/* same content, same options, same writer: the same bytes */
	ASSERT_EQ(flen, klen);
	if (flen == klen)
		ASSERT_MEM_EQ(fbytes, kfile, flen);
	printf("cloudtrail: %zu records, %zu columns, %zu values merged from %d files; %zu kept\n",
	       n, df.n_cols, values, CT_FILES, nk);

	ffile_free(&ff);
	ffile_free(&kf);
	free(fbytes);
	free(kfile);
	free(reqs);
	free(kept);
	free(sel);
	ffile_free(&mf);
	ffile_free(&df);
	free(mfile);
	free(dfile);
	free(sorted);
	free(merged);
	for (int f = 0; f < CT_FILES; f++) {
		tpq_pr_free(pr[f]);
		free(files[f]);
		free(idx[f]);
		free(key[f]);
		free(has[f]);
	}
	tpq_ct_shredder_free(sh);
	tpq_ct_table_free(t);
	for (size_t i = 0; i < g_ct.n_bufs; i++)
		free(g_ct.bufs[i]);
	free(g_ct.bufs);
	free(g_ct.v);
	tpq_ct_records_release(&g_ct.recs);
	tpq_codec_ctx_free(g_ct.codec);
}

int main(void)
{
	RUN(schema_mismatch_rejected);
	RUN(bad_requests_and_release);
	RUN(decode_allocation_failures);
	RUN(random_selections);
	RUN(merge_two_files);
	RUN(cloudtrail_merge_and_filter);
	return harness_done();
}
