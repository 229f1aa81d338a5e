/* A recording fake of the Parquet writer's value API (parquet/writer.h), for
 * the shredder's tests and fuzzer. Include it in exactly one translation unit
 * of a program that does not link the real writer: it defines
 * tpq_pw_put_null, _bytes, _i32, _i64, _bool, _null_node and _null_cols.
 *
 * Every put is recorded as (column, def, rep, value); put_null_node and
 * put_null_cols expand to their leaves (an empty range is a defect: the
 * shredder never sends one). fake_pw_col() formats one column's entries of
 * the current row as "r<rep>d<def>=<value>" separated by spaces (value: the
 * bytes, an integer, true/false, or null), so tests assert exact levels and
 * values.
 * fake_pw_check_row() checks that the row is well formed Dremel. */
#ifndef TPQ_TEST_FAKE_PW_H
#define TPQ_TEST_FAKE_PW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/schema.h"
#include "parquet/writer.h"

enum fake_type { FAKE_NULL, FAKE_BYTES, FAKE_I32, FAKE_I64, FAKE_BOOL };

struct fake_put {
	int col, def, rep;
	enum fake_type type;
	int64_t i;
	size_t off, len; /* FAKE_BYTES: in the arena */
};

struct tpq_pw {
	const struct tpq_schema *s;
	struct fake_put *v;
	size_t n, cap;
	uint8_t *arena;
	size_t alen, acap;
	size_t row_start;
	int bad; /* a put with an impossible column or level */
	char why[256];
	char out[1 << 16];
};

static inline struct tpq_pw *fake_pw_new(const struct tpq_schema *s)
{
	struct tpq_pw *w = calloc(1, sizeof(*w));
	if (w)
		w->s = s;
	return w;
}

static inline void fake_pw_free(struct tpq_pw *w)
{
	if (!w)
		return;
	free(w->v);
	free(w->arena);
	free(w);
}

/* Forgets every entry (start a new row). */
static inline void fake_pw_clear(struct tpq_pw *w)
{
	w->n = w->alen = w->row_start = 0;
	w->bad = 0;
	w->why[0] = '\0';
}

static inline void fake_bad(struct tpq_pw *w, const char *why, int col, int def, int rep)
{
	if (!w->bad)
		snprintf(w->why, sizeof(w->why), "%s (col %d def %d rep %d)", why, col, def, rep);
	w->bad = 1;
}

static inline struct fake_put *fake_push(struct tpq_pw *w, int col, int def, int rep, enum fake_type t)
{
	if (col < 0 || (size_t)col >= w->s->n_leaves) {
		fake_bad(w, "no such column", col, def, rep);
		return NULL;
	}
	const struct tpq_schema_node *n = &w->s->nodes[w->s->leaves[col]];
	if (def < 0 || def > n->max_def || rep < 0 || rep > n->max_rep)
		fake_bad(w, "level out of range", col, def, rep);
	if (t != FAKE_NULL && def != n->max_def)
		fake_bad(w, "value without max def", col, def, rep);
	if (t == FAKE_NULL && def == n->max_def)
		fake_bad(w, "null with max def", col, def, rep);
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct fake_put *v = realloc(w->v, cap * sizeof(*v));
		if (!v)
			abort();
		w->v = v;
		w->cap = cap;
	}
	struct fake_put *p = &w->v[w->n++];
	memset(p, 0, sizeof(*p));
	p->col = col;
	p->def = def;
	p->rep = rep;
	p->type = t;
	return p;
}

static inline int fake_max_def(struct tpq_pw *w, int col)
{
	if (col < 0 || (size_t)col >= w->s->n_leaves)
		return 0;
	return w->s->nodes[w->s->leaves[col]].max_def;
}

void tpq_pw_put_null(struct tpq_pw *w, int col, int def, int rep)
{
	fake_push(w, col, def, rep, FAKE_NULL);
}

void tpq_pw_put_bytes(struct tpq_pw *w, int col, int rep, const void *p, size_t n)
{
	struct fake_put *e = fake_push(w, col, fake_max_def(w, col), rep, FAKE_BYTES);
	if (!e)
		return;
	if (w->alen + n > w->acap) {
		size_t cap = w->acap ? w->acap : 4096;
		while (cap < w->alen + n)
			cap *= 2;
		uint8_t *a = realloc(w->arena, cap);
		if (!a)
			abort();
		w->arena = a;
		w->acap = cap;
	}
	if (n)
		memcpy(w->arena + w->alen, p, n);
	e->off = w->alen;
	e->len = n;
	w->alen += n;
}

void tpq_pw_put_i32(struct tpq_pw *w, int col, int rep, int32_t v)
{
	struct fake_put *e = fake_push(w, col, fake_max_def(w, col), rep, FAKE_I32);
	if (e)
		e->i = v;
}

void tpq_pw_put_i64(struct tpq_pw *w, int col, int rep, int64_t v)
{
	struct fake_put *e = fake_push(w, col, fake_max_def(w, col), rep, FAKE_I64);
	if (e)
		e->i = v;
}

void tpq_pw_put_bool(struct tpq_pw *w, int col, int rep, bool v)
{
	struct fake_put *e = fake_push(w, col, fake_max_def(w, col), rep, FAKE_BOOL);
	if (e)
		e->i = v;
}

void tpq_pw_put_null_node(struct tpq_pw *w, int node, int def, int rep)
{
	if (node < 0 || (size_t)node >= w->s->n_nodes) {
		fake_bad(w, "no such node", node, def, rep);
		return;
	}
	const struct tpq_schema_node *n = &w->s->nodes[node];
	if (def > n->max_def)
		fake_bad(w, "null_node def above the node's", node, def, rep);
	for (int c = n->first_leaf; c < n->first_leaf + n->n_leaves; c++)
		fake_push(w, c, def, rep, FAKE_NULL);
}

void tpq_pw_put_null_cols(struct tpq_pw *w, int first_col, int n_cols, int def, int rep)
{
	if (first_col < 0 || n_cols < 1 || (size_t)first_col + (size_t)n_cols > w->s->n_leaves) {
		fake_bad(w, "no such column range", first_col, def, rep);
		return;
	}
	for (int c = first_col; c < first_col + n_cols; c++)
		fake_push(w, c, def, rep, FAKE_NULL);
}

/* Column index of a dotted leaf path ("useridentity.arn"), or -1. */
static inline int fake_col(const struct tpq_schema *s, const char *path)
{
	char buf[512];
	for (size_t c = 0; c < s->n_leaves; c++)
		if (strcmp(tpq_schema_path(s, s->leaves[c], buf, sizeof(buf)), path) == 0)
			return (int)c;
	return -1;
}

/* Node index of a dotted path, or -1. */
static inline int fake_node(const struct tpq_schema *s, const char *path)
{
	char buf[512];
	for (size_t i = 1; i < s->n_nodes; i++)
		if (strcmp(tpq_schema_path(s, (int)i, buf, sizeof(buf)), path) == 0)
			return (int)i;
	return -1;
}

/* The current row's entries of column col, formatted (see the top). */
static inline const char *fake_pw_col(struct tpq_pw *w, int col)
{
	size_t o = 0, cap = sizeof(w->out);
	w->out[0] = '\0';
	for (size_t i = w->row_start; i < w->n && o + 64 < cap; i++) {
		const struct fake_put *e = &w->v[i];
		if (e->col != col)
			continue;
		o += (size_t)snprintf(w->out + o, cap - o, "%sr%dd%d=", o ? " " : "", e->rep, e->def);
		switch (e->type) {
		case FAKE_NULL: o += (size_t)snprintf(w->out + o, cap - o, "null"); break;
		case FAKE_I32:
		case FAKE_I64: o += (size_t)snprintf(w->out + o, cap - o, "%lld", (long long)e->i); break;
		case FAKE_BOOL: o += (size_t)snprintf(w->out + o, cap - o, e->i ? "true" : "false"); break;
		case FAKE_BYTES: {
			size_t n = e->len < cap - o - 1 ? e->len : cap - o - 1;
			memcpy(w->out + o, w->arena + e->off, n);
			o += n;
			w->out[o] = '\0';
			break;
		}
		}
	}
	return w->out;
}

/* The bytes of the single present value of column col in the row (NULL if
 * none); *len receives the length. */
static inline const uint8_t *fake_pw_bytes(struct tpq_pw *w, int col, size_t *len)
{
	for (size_t i = w->row_start; i < w->n; i++) {
		const struct fake_put *e = &w->v[i];
		if (e->col == col && e->type == FAKE_BYTES) {
			*len = e->len;
			return w->arena + e->off;
		}
	}
	*len = 0;
	return NULL;
}

/* The nearest REPEATED ancestor-or-self of a node, or 0. */
static inline int fake_rep_anc(const struct tpq_schema *s, int node)
{
	for (int i = node; i > 0; i = s->nodes[i].parent)
		if (s->nodes[i].repetition == TPQ_REPEATED)
			return i;
	return 0;
}

/* Checks the entries since the last row mark form one Dremel row: every
 * column has entries, the first with rep 0; non-repeated columns exactly one;
 * columns under the same repeated group the same rep sequence and the same
 * definition up to that group. 0 if fine, else -1 with w->why set. */
static inline int fake_pw_check_row(struct tpq_pw *w)
{
	const struct tpq_schema *s = w->s;
	int rc = w->bad ? -1 : 0;
	size_t nl = s->n_leaves;
	for (size_t c = 0; c < nl && rc == 0; c++) {
		int node = s->leaves[c], anc = fake_rep_anc(s, node);
		size_t cnt = 0;
		for (size_t i = w->row_start; i < w->n; i++) {
			const struct fake_put *e = &w->v[i];
			if ((size_t)e->col != c)
				continue;
			if (cnt == 0 && e->rep != 0) {
				snprintf(w->why, sizeof(w->why), "column %zu starts with rep %d", c, e->rep);
				rc = -1;
			}
			cnt++;
		}
		if (cnt == 0 || (anc == 0 && cnt != 1)) {
			snprintf(w->why, sizeof(w->why), "column %zu has %zu entries", c, cnt);
			rc = -1;
		}
		if (anc == 0 || rc)
			continue;
		/* compare with the first column under the same repeated group */
		int first = s->nodes[anc].first_leaf;
		if ((int)c == first)
			continue;
		int adef = s->nodes[anc].max_def;
		size_t i = w->row_start, j = w->row_start;
		for (;;) {
			while (i < w->n && w->v[i].col != (int)c)
				i++;
			while (j < w->n && w->v[j].col != first)
				j++;
			if (i >= w->n || j >= w->n) {
				if (i < w->n || j < w->n) {
					snprintf(w->why, sizeof(w->why), "columns %zu and %d differ in count", c,
						 first);
					rc = -1;
				}
				break;
			}
			int d1 = w->v[i].def < adef ? w->v[i].def : adef;
			int d2 = w->v[j].def < adef ? w->v[j].def : adef;
			if (w->v[i].rep != w->v[j].rep || d1 != d2) {
				snprintf(w->why, sizeof(w->why), "columns %zu and %d disagree on levels", c,
					 first);
				rc = -1;
				break;
			}
			i++;
			j++;
		}
	}
	return rc;
}

/* fake_pw_check_row, then starts the next row. */
static inline int fake_pw_end_row(struct tpq_pw *w)
{
	int rc = fake_pw_check_row(w);
	w->row_start = w->n;
	return rc;
}

#endif
