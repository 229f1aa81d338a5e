/* Row transcoding from readers into a writer.
 *
 * Each input holds at most one decoded row group: one struct tpq_pr_column
 * per leaf, plus a row index per column so that a row is found without
 * scanning its levels:
 *
 *   column kind              row r spans levels            values from
 *   max_rep 0, max_def 0     [r, r + 1)                    r
 *   max_rep 0, max_def > 0   [r, r + 1)                    vstart[r]
 *   max_rep > 0              [lstart[r], lstart[r + 1])    vstart[r]
 *
 * (a row starts at each rep level 0; vstart counts the def == max_def
 * entries before it). The indexes are uint32_t: a chunk of 2^32 level entries
 * or more is refused (TPQ_ELIMIT), far above any row group the writer makes,
 * and it halves the index memory, which is per row and per column (for
 * CloudTrail's mostly flat optional columns, 4 bytes per row and column,
 * the size of the decoded levels themselves).
 *
 * Copying a row is then, per column, one loop over its level entries: a
 * def == max_def entry puts the next value with its rep level, any other
 * entry a null with its (def, rep). The loop is chosen per physical type
 * outside the entries. The levels were checked when the row group was
 * decoded (in range, rows start at rep 0, the value count matches), so the
 * writer never sees a put it would refuse and nothing is put for a row that
 * cannot be copied whole.
 *
 * Row groups of an input are found by binary search over their first rows,
 * after trying the held row group and the next one (the k-way merge case).
 *
 * Speed: copying reads column-major data row by row, so what one column's
 * loop touches (array pointers, indexes, max_def) is packed into one cache
 * line per column (struct rc_hot) rather than read from the large decoded
 * column structs. On CloudTrail (71 columns) the copy loop is about a sixth
 * of the time, decoding a twentieth; the writer's puts and encoding the rest. */
#include "parquet/rowcopy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define NO_RG SIZE_MAX

struct rc_col {
	struct tpq_pr_column c;  /* the decoded chunk (owned) */
	uint32_t *lstart;        /* n_rows + 1 entries when max_rep > 0, else NULL */
	uint32_t *vstart;        /* n_rows + 1 entries when max_rep > 0 or max_def > 0 */
	size_t cap_l, cap_v;     /* entries allocated (kept across row groups) */
};

/* What copying a row of one column reads, in one cache line per column:
 * pointers into the held row group's rc_col (valid while it is held). */
struct rc_hot {
	const int16_t *def, *rep;
	const int64_t *ints;     /* INT32, INT64, BOOLEAN */
	const size_t *off;       /* BYTE_ARRAY */
	const uint8_t *bytes;    /* BYTE_ARRAY, never NULL */
	const uint32_t *lstart, *vstart;
	int16_t max_def;
};

struct rc_input {
	struct tpq_pr *pr;       /* borrowed */
	size_t n_rg;
	int64_t *rg_first;       /* n_rg + 1: each row group's first row, then the file's rows */
	size_t rg;               /* the held row group, or NO_RG */
	struct rc_col *cols;     /* n_cols */
	struct rc_hot *hot;      /* n_cols, filled when a row group is loaded */
};

struct tpq_rowcopy {
	struct tpq_pw *w;        /* borrowed */
	size_t n_in, n_cols;
	struct rc_input *in;     /* n_in */
	enum tpq_type *type;     /* per column, the writer's */
	struct tpq_rowcopy_stats stats;
};

/* ---- schema check ---- */

static const char *rep_name(enum tpq_repetition r)
{
	return r == TPQ_REQUIRED ? "required" : r == TPQ_OPTIONAL ? "optional" : "repeated";
}

/* Compares leaf `col` of input schema a with the writer's schema b; on a
 * difference fills err (naming input i) and returns TPQ_EINVAL. */
static enum tpq_status check_leaf(const struct tpq_schema *a, const struct tpq_schema *b,
				  size_t i, size_t col, struct tpq_error *err)
{
	char pa[256], pb[256];
	int na = a->leaves[col], nb = b->leaves[col];
	tpq_schema_path(b, nb, pb, sizeof(pb));
	enum tpq_status st = TPQ_EINVAL;
	tpq_schema_path(a, na, pa, sizeof(pa));
	if (strcmp(pa, pb) != 0) {
		tpq_error_set(err, st, "input %zu column %zu is '%s' but the writer's is '%s'", i,
			      col, pa, pb);
		goto where;
	}
	/* The paths print alike; compare node by node (a name could hold a '.'). */
	int x = na, y = nb;
	while (x > 0 && y > 0) {
		const struct tpq_schema_node *u = &a->nodes[x], *v = &b->nodes[y];
		if (strcmp(u->name, v->name) != 0) {
			tpq_error_set(err, st,
				      "input %zu column %zu '%s': node names differ ('%s', '%s')",
				      i, col, pb, u->name, v->name);
			goto where;
		}
		if (u->repetition != v->repetition) {
			const char *ru = rep_name(u->repetition), *rv = rep_name(v->repetition);
			tpq_error_set(err, st,
				      "input %zu column %zu '%s': '%s' is %s but the writer's is %s",
				      i, col, pb, u->name, ru, rv);
			goto where;
		}
		x = u->parent;
		y = v->parent;
	}
	if (x > 0 || y > 0) {
		tpq_error_set(err, st, "input %zu column %zu '%s': paths differ in depth", i, col,
			      pb);
		goto where;
	}
	const struct tpq_schema_node *la = &a->nodes[na], *lb = &b->nodes[nb];
	if (la->type != lb->type) {
		tpq_error_set(err, st,
			      "input %zu column %zu '%s': physical type %s differs from the writer's %s",
			      i, col, pb, tpq_pr_type_name((int)la->type),
			      tpq_pr_type_name((int)lb->type));
		goto where;
	}
	if (la->max_def != lb->max_def || la->max_rep != lb->max_rep) {
		tpq_error_set(err, st,
			      "input %zu column %zu '%s': max levels def %d rep %d differ from the writer's def %d rep %d",
			      i, col, pb, la->max_def, la->max_rep, lb->max_def, lb->max_rep);
		goto where;
	}
	return TPQ_OK;
where:
	tpq_error_where(err, pb);
	return st;
}

static enum tpq_status check_schema(const struct tpq_schema *a, const struct tpq_schema *b,
				    size_t i, struct tpq_error *err)
{
	if (a->n_leaves != b->n_leaves)
		return tpq_error_set(err, TPQ_EINVAL,
				     "input %zu has %zu columns but the writer's schema has %zu", i,
				     a->n_leaves, b->n_leaves);
	for (size_t c = 0; c < a->n_leaves; c++) {
		enum tpq_status st = check_leaf(a, b, i, c, err);
		if (st)
			return st;
	}
	return TPQ_OK;
}

/* ---- lifecycle ---- */

static void release_input(struct tpq_rowcopy *rc, struct rc_input *in)
{
	if (!in->cols)
		return;
	for (size_t c = 0; c < rc->n_cols; c++) {
		struct rc_col *k = &in->cols[c];
		tpq_pr_column_release(&k->c);
		free(k->lstart);
		free(k->vstart);
		memset(k, 0, sizeof(*k));
	}
	if (in->rg != NO_RG)
		rc->stats.held_row_groups--;
	in->rg = NO_RG;
}

void tpq_rowcopy_free(struct tpq_rowcopy *rc)
{
	if (!rc)
		return;
	for (size_t i = 0; rc->in && i < rc->n_in; i++) {
		release_input(rc, &rc->in[i]);
		free(rc->in[i].cols);
		free(rc->in[i].hot);
		free(rc->in[i].rg_first);
	}
	free(rc->in);
	free(rc->type);
	free(rc);
}

enum tpq_status tpq_rowcopy_new(struct tpq_rowcopy **out, struct tpq_pr *const *in, size_t n_in,
				struct tpq_pw *w, const struct tpq_schema *wschema,
				struct tpq_error *err)
{
	*out = NULL;
	if (!w || !wschema || !wschema->finished || (n_in > 0 && !in))
		return tpq_error_set(err, TPQ_EINVAL,
				     "row copy needs a writer, its finished schema and the inputs");
	for (size_t i = 0; i < n_in; i++) {
		if (!in[i])
			return tpq_error_set(err, TPQ_EINVAL, "input %zu is NULL", i);
		enum tpq_status st = check_schema(tpq_pr_schema(in[i]), wschema, i, err);
		if (st)
			return st;
	}
	size_t n_cols = wschema->n_leaves;
	for (size_t c = 0; c < n_cols; c++) {
		const struct tpq_schema_node *l = &wschema->nodes[wschema->leaves[c]];
		if (l->type != TPQ_T_BOOLEAN && l->type != TPQ_T_INT32 && l->type != TPQ_T_INT64 &&
		    l->type != TPQ_T_BYTE_ARRAY) {
			char path[256];
			tpq_error_where(err, tpq_schema_path(wschema, wschema->leaves[c], path,
							     sizeof(path)));
			return tpq_error_set(err, TPQ_EUNSUPPORTED,
					     "column %zu has type %s, which the writer cannot write",
					     c, tpq_pr_type_name((int)l->type));
		}
	}
	struct tpq_rowcopy *rc = calloc(1, sizeof(*rc));
	if (!rc)
		goto oom;
	rc->w = w;
	rc->n_in = n_in;
	rc->n_cols = n_cols;
	rc->in = calloc(n_in ? n_in : 1, sizeof(*rc->in));
	rc->type = calloc(n_cols ? n_cols : 1, sizeof(*rc->type));
	if (!rc->in || !rc->type)
		goto oom;
	for (size_t c = 0; c < n_cols; c++)
		rc->type[c] = wschema->nodes[wschema->leaves[c]].type;
	for (size_t i = 0; i < n_in; i++) {
		struct rc_input *p = &rc->in[i];
		p->pr = in[i];
		p->rg = NO_RG;
		p->n_rg = tpq_pr_num_row_groups(in[i]);
		p->rg_first = malloc((p->n_rg + 1) * sizeof(*p->rg_first));
		p->cols = calloc(n_cols ? n_cols : 1, sizeof(*p->cols));
		p->hot = calloc(n_cols ? n_cols : 1, sizeof(*p->hot));
		if (!p->rg_first || !p->cols || !p->hot)
			goto oom;
		/* The reader checked at open that the row counts are >= 0 and add up
		 * to the file's without overflow. */
		const struct tpq_file_meta_data *m = tpq_pr_meta(in[i]);
		p->rg_first[0] = 0;
		for (size_t g = 0; g < p->n_rg; g++)
			p->rg_first[g + 1] = p->rg_first[g] + m->row_groups[g].num_rows;
	}
	*out = rc;
	return TPQ_OK;
oom:
	tpq_rowcopy_free(rc);
	return tpq_error_set(err, TPQ_ENOMEM, "out of memory making the row copier");
}

void tpq_rowcopy_release_input(struct tpq_rowcopy *rc, size_t in)
{
	if (rc && in < rc->n_in)
		release_input(rc, &rc->in[in]);
}

void tpq_rowcopy_get_stats(const struct tpq_rowcopy *rc, struct tpq_rowcopy_stats *out)
{
	*out = rc->stats;
}

/* ---- decoding a row group ---- */

static bool ensure_u32(uint32_t **p, size_t *cap, size_t n)
{
	if (n <= *cap)
		return true;
	uint32_t *q = realloc(*p, n * sizeof(**p));
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* Builds k's row index and checks the levels it relies on. */
static enum tpq_status index_column(struct rc_col *k, size_t n_rows, size_t i, size_t g,
				    size_t col, struct tpq_error *err)
{
	const struct tpq_pr_column *c = &k->c;
	const int16_t *def = c->def, *rep = c->rep;
	const int16_t md = c->max_def, mr = c->max_rep;
	size_t n = c->n_levels;
	if (n > UINT32_MAX || n_rows > UINT32_MAX - 1)
		return tpq_error_set(err, TPQ_ELIMIT,
				     "input %zu row group %zu column %zu: %zu level entries are more than a row copy indexes",
				     i, g, col, n);
	if (n > 0 && (!def || !rep))
		return tpq_error_set(err, TPQ_ECORRUPT,
				     "input %zu row group %zu column %zu: decoded without levels",
				     i, g, col);
	if (mr == 0 && n != n_rows)
		return tpq_error_set(err, TPQ_ECORRUPT,
				     "input %zu row group %zu column %zu: %zu entries for %zu rows",
				     i, g, col, n, n_rows);
	if ((mr > 0 && !ensure_u32(&k->lstart, &k->cap_l, n_rows + 1)) ||
	    ((mr > 0 || md > 0) && !ensure_u32(&k->vstart, &k->cap_v, n_rows + 1)))
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory indexing rows");
	size_t r = 0, v = 0;
	bool bad = false;
	if (mr > 0) {
		uint32_t *ls = k->lstart, *vs = k->vstart;
		for (size_t e = 0; e < n; e++) {
			bad |= (uint16_t)def[e] > (uint16_t)md || (uint16_t)rep[e] > (uint16_t)mr;
			if (rep[e] == 0) {
				if (r == n_rows) {
					bad = true;
					break;
				}
				ls[r] = (uint32_t)e;
				vs[r] = (uint32_t)v;
				r++;
			}
			v += def[e] == md;
		}
		bad |= n > 0 && rep[0] != 0;
		if (!bad) {
			ls[r] = (uint32_t)n;
			vs[r] = (uint32_t)v;
		}
	} else if (md > 0) {
		uint32_t *vs = k->vstart;
		for (size_t e = 0; e < n; e++) {
			bad |= (uint16_t)def[e] > (uint16_t)md || rep[e] != 0;
			vs[e] = (uint32_t)v;
			v += def[e] == md;
		}
		vs[n] = (uint32_t)v;
		r = n;
	} else {
		r = v = n;
	}
	if (bad || r != n_rows || v != c->n_values)
		return tpq_error_set(err, TPQ_ECORRUPT,
				     "input %zu row group %zu column %zu: levels do not make %zu rows of %zu values",
				     i, g, col, n_rows, c->n_values);
	return TPQ_OK;
}

/* Says which input a reader's error came from: "input I: <message>". */
static void prefix_input(struct tpq_error *err, size_t i)
{
	if (!err)
		return;
	char tmp[sizeof(err->msg)];
	memcpy(tmp, err->msg, sizeof(tmp));
	tmp[sizeof(tmp) - 1] = '\0';
	int n = snprintf(err->msg, sizeof(err->msg), "input %zu: ", i);
	if (n < 0 || (size_t)n >= sizeof(err->msg))
		return;
	size_t room = sizeof(err->msg) - (size_t)n - 1, len = strlen(tmp);
	len = len < room ? len : room;
	memcpy(err->msg + n, tmp, len);
	err->msg[(size_t)n + len] = '\0';
}

static enum tpq_status load_row_group(struct tpq_rowcopy *rc, size_t i, size_t g,
				      struct tpq_error *err)
{
	struct rc_input *in = &rc->in[i];
	if (in->rg != NO_RG) {
		for (size_t c = 0; c < rc->n_cols; c++)
			tpq_pr_column_release(&in->cols[c].c);
		in->rg = NO_RG;
		rc->stats.held_row_groups--;
	}
	size_t n_rows = (size_t)(in->rg_first[g + 1] - in->rg_first[g]);
	for (size_t c = 0; c < rc->n_cols; c++) {
		struct rc_col *k = &in->cols[c];
		enum tpq_status st = tpq_pr_read_column(in->pr, g, c, 0, &k->c, err);
		if (st) {
			prefix_input(err, i);
		} else if ((st = index_column(k, n_rows, i, g, c, err)) != TPQ_OK) {
			char path[256];
			const struct tpq_schema *s = tpq_pr_schema(in->pr);
			tpq_error_where(err, tpq_schema_path(s, s->leaves[c], path, sizeof(path)));
		}
		if (st) {
			/* the failed column too: a failed read still owns arrays */
			for (size_t d = 0; d <= c; d++)
				tpq_pr_column_release(&in->cols[d].c);
			return st;
		}
	}
	for (size_t c = 0; c < rc->n_cols; c++) {
		const struct rc_col *k = &in->cols[c];
		in->hot[c] = (struct rc_hot){
			.def = k->c.def, .rep = k->c.rep, .ints = k->c.ints, .off = k->c.offsets,
			/* a chunk of only empty strings may have no byte array at all */
			.bytes = k->c.bytes ? k->c.bytes : (const uint8_t *)"",
			.lstart = k->c.max_rep > 0 ? k->lstart : NULL,
			.vstart = k->c.max_rep > 0 || k->c.max_def > 0 ? k->vstart : NULL,
			.max_def = k->c.max_def,
		};
	}
	in->rg = g;
	rc->stats.held_row_groups++;
	rc->stats.row_group_decodes++;
	return TPQ_OK;
}

/* The row group of input `in` holding `row` (which is in range). */
static size_t find_row_group(const struct rc_input *in, int64_t row)
{
	const int64_t *f = in->rg_first;
	size_t g = in->rg;
	if (g != NO_RG) {
		if (row >= f[g] && row < f[g + 1])
			return g;
		if (g + 1 < in->n_rg && row >= f[g + 1] && row < f[g + 2])
			return g + 1;
	}
	/* the last g with f[g] <= row; empty row groups are skipped because
	 * their f[g] equals the next one's */
	size_t lo = 0, hi = in->n_rg;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (f[mid] <= row)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ---- copying ---- */

static void copy_column(struct tpq_pw *w, int col, enum tpq_type type, const struct rc_hot *k,
			size_t r)
{
	size_t l0 = r, l1 = r + 1, v = r;
	if (k->lstart) {
		l0 = k->lstart[r];
		l1 = k->lstart[r + 1];
	}
	if (k->vstart)
		v = k->vstart[r];
	const int16_t *def = k->def, *rep = k->rep;
	const int16_t md = k->max_def;
	switch (type) {
	case TPQ_T_BYTE_ARRAY: {
		const size_t *off = k->off;
		for (size_t e = l0; e < l1; e++) {
			if (def[e] == md) {
				size_t len = off[v + 1] - off[v];
				tpq_pw_put_bytes(w, col, rep[e], k->bytes + off[v], len);
				v++;
			} else {
				tpq_pw_put_null(w, col, def[e], rep[e]);
			}
		}
		break;
	}
	case TPQ_T_INT64:
		for (size_t e = l0; e < l1; e++) {
			if (def[e] == md)
				tpq_pw_put_i64(w, col, rep[e], k->ints[v++]);
			else
				tpq_pw_put_null(w, col, def[e], rep[e]);
		}
		break;
	case TPQ_T_INT32:
		for (size_t e = l0; e < l1; e++) {
			if (def[e] == md)
				tpq_pw_put_i32(w, col, rep[e], (int32_t)k->ints[v++]);
			else
				tpq_pw_put_null(w, col, def[e], rep[e]);
		}
		break;
	default: /* BOOLEAN (tpq_rowcopy_new allows nothing else) */
		for (size_t e = l0; e < l1; e++) {
			if (def[e] == md)
				tpq_pw_put_bool(w, col, rep[e], k->ints[v++] != 0);
			else
				tpq_pw_put_null(w, col, def[e], rep[e]);
		}
		break;
	}
}

enum tpq_status tpq_rowcopy_row(struct tpq_rowcopy *rc, size_t in, int64_t row,
				struct tpq_error *err)
{
	if (in >= rc->n_in)
		return tpq_error_set(err, TPQ_EINVAL, "no input %zu (there are %zu)", in, rc->n_in);
	struct rc_input *p = &rc->in[in];
	if (row < 0 || row >= p->rg_first[p->n_rg])
		return tpq_error_set(err, TPQ_EINVAL, "input %zu has no row %lld (it has %lld)", in,
				     (long long)row, (long long)p->rg_first[p->n_rg]);
	size_t g = find_row_group(p, row);
	if (g != p->rg) {
		enum tpq_status st = load_row_group(rc, in, g, err);
		if (st)
			return st;
	}
	size_t r = (size_t)(row - p->rg_first[g]);
	for (size_t c = 0; c < rc->n_cols; c++)
		copy_column(rc->w, (int)c, rc->type[c], &p->hot[c], r);
	enum tpq_status st = tpq_pw_end_row(rc->w);
	if (st)
		return tpq_error_set(err, st, "writing row %lld of input %zu: %s", (long long)row,
				     in, tpq_status_str(st));
	rc->stats.rows++;
	return TPQ_OK;
}

/* ---- helpers for the caller's merge key ---- */

int tpq_rowcopy_find_column(const struct tpq_schema *s, const char *path)
{
	char buf[512];
	for (size_t c = 0; c < s->n_leaves; c++) {
		if (strcmp(tpq_schema_path(s, s->leaves[c], buf, sizeof(buf)), path) == 0)
			return (int)c;
	}
	return -1;
}

enum tpq_status tpq_rowcopy_read_i64(struct tpq_pr *pr, size_t col, int64_t *vals, bool *present,
				     struct tpq_error *err)
{
	const struct tpq_schema *s = tpq_pr_schema(pr);
	if (col >= s->n_leaves)
		return tpq_error_set(err, TPQ_EINVAL, "no column %zu (there are %zu)", col,
				     s->n_leaves);
	const struct tpq_schema_node *l = &s->nodes[s->leaves[col]];
	if ((l->type != TPQ_T_INT64 && l->type != TPQ_T_INT32) || l->max_rep != 0) {
		char path[256];
		tpq_error_where(err, tpq_schema_path(s, s->leaves[col], path, sizeof(path)));
		return tpq_error_set(err, TPQ_EINVAL,
				     "column %zu is %s%s, not one INT64 or INT32 per row", col,
				     l->max_rep ? "repeated " : "", tpq_pr_type_name((int)l->type));
	}
	size_t r = 0;
	for (size_t g = 0; g < tpq_pr_num_row_groups(pr); g++) {
		struct tpq_pr_column c;
		enum tpq_status st = tpq_pr_read_column(pr, g, col, 0, &c, err);
		size_t v = 0;
		/* the reader checked the level count against the row group's rows and
		 * the value count against the levels */
		for (size_t e = 0; !st && e < c.n_levels; e++, r++) {
			bool has = c.def[e] == c.max_def;
			vals[r] = has ? c.ints[v++] : 0;
			if (present)
				present[r] = has;
		}
		tpq_pr_column_release(&c);
		if (st)
			return st;
	}
	return TPQ_OK;
}
