/* Rewriting a partition's files (see rewrite.h): row replacement for
 * changed source objects, and compaction. Both are the same loop: open the
 * old files with the reader, copy chosen rows in a chosen order through the
 * row copier into new files named for this run, and rebuild the partition's
 * key list in the same order, so the state keeps matching the files row for
 * row.
 *
 * A new file is one row group. The rewriter, not the writer, decides where
 * it ends: the writer's own row-group limit is switched off, and the file
 * is finished once the writer's buffered bytes reach the target. (Watching
 * for the buffered bytes to drop is not a sign of a closed row group: they
 * drop too when pages are cut, e.g. every column at 20,000 rows, and files
 * came out split there.) */
#include "lake/rewrite.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/reader.h"
#include "parquet/rowcopy.h"
#include "parquet/writer.h"
#include "util/buf.h"
#include "util/error.h"

struct input {
	struct tpq_buf bytes;
	struct tpq_pr *pr;
	int64_t *ms;          /* eventtime per row */
	size_t row0;          /* its first row in ps->rows */
};

struct rewrite {
	struct tpq_store *st;
	struct tpq_state *s;
	struct tpq_part_state *ps;
	const struct tpq_ct_table *table;
	enum tpq_codec codec;
	int level;
	size_t row_group_bytes;   /* as given: 0 is the writer's default */
	size_t file_bytes;        /* a file ends when the writer buffers this much */
	struct input *in;
	size_t n_in;
	/* the new file list and rows being built */
	struct tpq_part_file *files;
	size_t n_files, cap_files;
	struct tpq_part_row *rows;
	size_t n_rows, cap_rows;
	unsigned next_name;
	/* the open output */
	struct tpq_sink *sink;
	struct tpq_pw *pw;
	struct tpq_rowcopy *rc;
	char name[128];
	struct tpq_part_file cur;
};

void tpq_lake_file_options(struct tpq_lake_file_options *o, enum tpq_codec codec, int level,
			 size_t row_group_bytes)
{
	tpq_pw_options_init(&o->pw);
	o->pw.codec = codec;
	o->pw.level = level;
	if (row_group_bytes)
		o->pw.row_group_bytes = row_group_bytes;
	snprintf(o->version, sizeof(o->version), "%d", TPQ_SCHEMA_VERSION);
	o->kv[0].key = (char *)"trailpq.schema_version";
	o->kv[0].value = o->version;
	o->pw.kv = o->kv;
	o->pw.n_kv = 1;
}

static enum tpq_status oom(struct tpq_error *err)
{
	return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
}

static int push_file(struct rewrite *w, const struct tpq_part_file *f)
{
	if (tpq_grow(&w->files, w->n_files, &w->cap_files, sizeof(*w->files), 8))
		return -1;
	w->files[w->n_files] = *f;
	if (!(w->files[w->n_files].name = strdup(f->name)))
		return -1;
	w->n_files++;
	return 0;
}

static int push_row(struct rewrite *w, const struct tpq_part_row *r)
{
	if (tpq_grow(&w->rows, w->n_rows, &w->cap_rows, sizeof(*w->rows), 1024))
		return -1;
	w->rows[w->n_rows++] = *r;
	return 0;
}

static enum tpq_status open_inputs(struct rewrite *w, const size_t *files, size_t n,
				   struct tpq_error *err)
{
	w->in = calloc(n ? n : 1, sizeof(*w->in));
	if (!w->in)
		return oom(err);
	w->n_in = n;
	int col = tpq_rowcopy_find_column(tpq_ct_table_schema(w->table), "eventtime");
	for (size_t i = 0; i < n; i++) {
		const struct tpq_part_file *f = &w->ps->files[files[i]];
		struct input *in = &w->in[i];
		tpq_buf_init(&in->bytes);
		size_t first = 0;
		for (size_t j = 0; j < files[i]; j++)
			first += w->ps->files[j].rows;
		in->row0 = first;
		char key[1024];
		snprintf(key, sizeof(key), "%s/%s", w->ps->path, f->name);
		enum tpq_status r = w->st->get(w->st, key, &in->bytes, err);
		if (r == TPQ_OK)
			r = tpq_pr_open(&in->pr, in->bytes.p, in->bytes.len, NULL, err);
		if (r == TPQ_OK && (uint64_t)tpq_pr_num_rows(in->pr) != f->rows)
			r = tpq_error_set(err, TPQ_ESTATE, "the file has %" PRId64 " rows, the state says %"
					  PRIu64, tpq_pr_num_rows(in->pr), f->rows);
		if (r == TPQ_OK && !(in->ms = malloc((f->rows ? f->rows : 1) * sizeof(int64_t))))
			r = oom(err);
		if (r == TPQ_OK && col >= 0)
			r = tpq_rowcopy_read_i64(in->pr, (size_t)col, in->ms, NULL, err);
		if (r) {
			tpq_error_where(err, key);
			return r;
		}
	}
	return TPQ_OK;
}

static void close_inputs(struct rewrite *w)
{
	for (size_t i = 0; i < w->n_in; i++) {
		tpq_pr_free(w->in[i].pr);
		tpq_buf_release(&w->in[i].bytes);
		free(w->in[i].ms);
	}
	free(w->in);
	w->in = NULL;
	w->n_in = 0;
}

static enum tpq_status start_output(struct rewrite *w, struct tpq_error *err)
{
	snprintf(w->name, sizeof(w->name), "part-%010" PRIu64 "-%s-w%05u.parquet",
		 tpq_state_seq(w->s), tpq_state_tag(w->s), w->next_name++);
	char key[1024];
	snprintf(key, sizeof(key), "%s/%s", w->ps->path, w->name);
	w->sink = w->st->create(w->st, key, err);
	if (!w->sink)
		return err && err->status ? err->status : TPQ_EIO;
	struct tpq_lake_file_options fo;
	tpq_lake_file_options(&fo, w->codec, w->level, w->row_group_bytes);
	w->file_bytes = fo.pw.row_group_bytes;
	fo.pw.row_group_bytes = SIZE_MAX; /* copy_row ends the file (and its one row group) */
	const struct tpq_schema *schema = tpq_ct_table_schema(w->table);
	w->pw = tpq_pw_new(schema, &fo.pw, w->sink, err);
	if (!w->pw)
		return err && err->status ? err->status : TPQ_ENOMEM;
	struct tpq_pr **prs = calloc(w->n_in ? w->n_in : 1, sizeof(*prs));
	if (!prs)
		return oom(err);
	for (size_t i = 0; i < w->n_in; i++)
		prs[i] = w->in[i].pr;
	enum tpq_status r = tpq_rowcopy_new(&w->rc, prs, w->n_in, w->pw, schema, err);
	free(prs);
	memset(&w->cur, 0, sizeof(w->cur));
	w->cur.min_ms = INT64_MAX;
	w->cur.max_ms = INT64_MIN;
	return r;
}

static void drop_output(struct rewrite *w)
{
	tpq_rowcopy_free(w->rc);
	w->rc = NULL;
	tpq_pw_free(w->pw);
	w->pw = NULL;
	if (w->sink)
		w->sink->free(w->sink); /* unpublished unless finished */
	w->sink = NULL;
}

static enum tpq_status finish_output(struct rewrite *w, struct tpq_error *err)
{
	uint64_t bytes = 0;
	enum tpq_status r = tpq_pw_finish(w->pw, &bytes, err);
	if (r == TPQ_OK) {
		w->cur.name = w->name;
		w->cur.bytes = bytes;
		w->cur.seq = tpq_state_seq(w->s);
		if (push_file(w, &w->cur))
			r = oom(err);
	}
	drop_output(w);
	return r;
}

/* Copies row `row` of input `in` (whose state row is ps->rows[in.row0 + row]). */
static enum tpq_status copy_row(struct rewrite *w, size_t in, size_t row, struct tpq_error *err)
{
	enum tpq_status r = TPQ_OK;
	if (!w->pw && (r = start_output(w, err)))
		return r;
	r = tpq_rowcopy_row(w->rc, in, (int64_t)row, err);
	if (r)
		return r;
	const struct input *ip = &w->in[in];
	int64_t ms = ip->ms[row];
	if (ms < w->cur.min_ms)
		w->cur.min_ms = ms;
	if (ms > w->cur.max_ms)
		w->cur.max_ms = ms;
	w->cur.rows++;
	if (push_row(w, &w->ps->rows[ip->row0 + row]))
		return oom(err);
	/* a file's worth buffered: looked at every 16 rows, as the writer looks
	 * at its own limits (the sum runs over every column) */
	if ((w->cur.rows & 15) == 0 && tpq_pw_buffered_bytes(w->pw) >= w->file_bytes)
		r = finish_output(w, err);
	return r;
}

/* Replaces ps's file and row lists with the rebuilt ones. */
static enum tpq_status adopt(struct rewrite *w, struct tpq_error *err)
{
	struct tpq_part_state *ps = w->ps;
	for (size_t i = 0; i < ps->n_files; i++)
		free(ps->files[i].name);
	free(ps->files);
	free(ps->rows);
	ps->files = w->files;
	ps->n_files = w->n_files;
	ps->cap_files = w->cap_files;
	ps->rows = w->rows;
	ps->n_rows = w->n_rows;
	ps->cap_rows = w->cap_rows;
	w->files = NULL;
	w->rows = NULL;
	w->n_files = w->n_rows = 0;
	return tpq_part_state_reindex(ps) ? oom(err) : TPQ_OK;
}

static void rewrite_release(struct rewrite *w)
{
	drop_output(w);
	close_inputs(w);
	for (size_t i = 0; i < w->n_files; i++)
		free(w->files[i].name);
	free(w->files);
	free(w->rows);
}

static enum tpq_status obsolete(struct rewrite *w, const struct tpq_part_file *f,
				struct tpq_error *err)
{
	char key[1024];
	snprintf(key, sizeof(key), "%s/%s", w->ps->path, f->name);
	return tpq_state_obsolete(w->s, key) ? oom(err) : TPQ_OK;
}

static void rewrite_init(struct rewrite *w, struct tpq_store *st, struct tpq_state *s,
			 struct tpq_part_state *ps, const struct tpq_ct_table *table,
			 enum tpq_codec codec, int level, size_t row_group_bytes)
{
	memset(w, 0, sizeof(*w));
	w->st = st;
	w->s = s;
	w->ps = ps;
	w->table = table;
	w->codec = codec;
	w->level = level;
	w->row_group_bytes = row_group_bytes;
}

enum tpq_status tpq_lake_remove_dead(struct tpq_store *st, struct tpq_state *s,
				     struct tpq_part_state *ps, const struct tpq_ct_table *table,
				     enum tpq_codec codec, int level, struct tpq_error *err)
{
	struct rewrite w;
	rewrite_init(&w, st, s, ps, table, codec, level,
		     (size_t)1 << 62); /* a rewritten file stays one file */
	enum tpq_status r = TPQ_OK;
	size_t row0 = 0;
	for (size_t fi = 0; fi < ps->n_files && r == TPQ_OK; fi++) {
		const struct tpq_part_file *f = &ps->files[fi];
		size_t dead = 0;
		for (size_t j = 0; j < f->rows; j++)
			dead += ps->rows[row0 + j].dead;
		if (dead == 0) {
			if (push_file(&w, f))
				r = oom(err);
			for (size_t j = 0; j < f->rows && r == TPQ_OK; j++)
				if (push_row(&w, &ps->rows[row0 + j]))
					r = oom(err);
		} else {
			r = obsolete(&w, f, err);
			if (r == TPQ_OK && dead < f->rows) {
				r = open_inputs(&w, &fi, 1, err);
				for (size_t j = 0; j < f->rows && r == TPQ_OK; j++)
					if (!ps->rows[row0 + j].dead)
						r = copy_row(&w, 0, j, err);
				if (r == TPQ_OK && w.pw)
					r = finish_output(&w, err);
				drop_output(&w);
				close_inputs(&w);
			}
		}
		row0 += f->rows;
	}
	if (r == TPQ_OK)
		r = adopt(&w, err);
	rewrite_release(&w);
	return r;
}

/* The k-way merge of compaction: rows by eventtime, ties by file order. */
struct head {
	size_t in;
	size_t row;
};

static bool head_less(const struct rewrite *w, const struct head *a, const struct head *b)
{
	int64_t x = w->in[a->in].ms[a->row], y = w->in[b->in].ms[b->row];
	return x < y || (x == y && a->in < b->in);
}

static void sift_down(const struct rewrite *w, struct head *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && head_less(w, &h[l], &h[m]))
			m = l;
		if (l + 1 < n && head_less(w, &h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			return;
		struct head t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

enum tpq_status tpq_lake_compact(struct tpq_store *st, struct tpq_state *s,
				 struct tpq_part_state *ps, const struct tpq_ct_table *table,
				 enum tpq_codec codec, int level, size_t row_group_bytes,
				 struct tpq_error *err)
{
	struct rewrite w;
	rewrite_init(&w, st, s, ps, table, codec, level, row_group_bytes);
	size_t *all = calloc(ps->n_files ? ps->n_files : 1, sizeof(*all));
	struct head *h = calloc(ps->n_files ? ps->n_files : 1, sizeof(*h));
	enum tpq_status r = all && h ? TPQ_OK : oom(err);
	for (size_t i = 0; i < ps->n_files && r == TPQ_OK; i++) {
		all[i] = i;
		r = obsolete(&w, &ps->files[i], err);
	}
	if (r == TPQ_OK)
		r = open_inputs(&w, all, ps->n_files, err);
	size_t n = 0;
	for (size_t i = 0; i < w.n_in && r == TPQ_OK; i++)
		if (ps->files[i].rows)
			h[n++] = (struct head){i, 0};
	for (size_t i = n; i-- > 0;)
		sift_down(&w, h, n, i);
	while (n > 0 && r == TPQ_OK) {
		struct head top = h[0];
		r = copy_row(&w, top.in, top.row, err);
		if (++h[0].row == ps->files[top.in].rows) {
			if (w.rc)
				tpq_rowcopy_release_input(w.rc, top.in);
			h[0] = h[--n];
		}
		sift_down(&w, h, n, 0);
	}
	if (r == TPQ_OK && w.pw)
		r = finish_output(&w, err);
	if (r == TPQ_OK)
		r = adopt(&w, err);
	rewrite_release(&w);
	free(all);
	free(h);
	return r;
}
