/* Random Parquet schemas and rows for tests (shared by test_writer.c and
 * test_rowcopy.c; include harness.h first).
 *
 * A random schema (gen_schema) has 1-4 top fields, each a leaf, a group
 * (optional/required/repeated), a three-level LIST or a MAP, nested up to 3
 * deep, with BOOLEAN, INT32, INT64, STRING and TIMESTAMP(MILLIS) leaves.
 * gen_row puts one random row into k->w with a generic recursive shredder
 * (NULLs at every level, empty lists and maps, NULL elements) and records
 * the expected Dremel levels and values per column in k->cols. Everything
 * comes from one splitmix64 generator (rng_state), so a seed fixes the
 * schema and the data. */
#ifndef TPQ_TEST_PQ_GEN_H
#define TPQ_TEST_PQ_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/sink.h"
#include "parquet/schema.h"
#include "parquet/writer.h"
#include "util/error.h"

/* ---- small helpers ---- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(rnd64() % n) : 0;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	return q;
}

/* Writes with `w` finished into a memory sink; returns a malloc'd copy of the bytes. */
static uint8_t *finish_copy(struct tpq_pw *w, struct tpq_sink *sink, size_t *len)
{
	struct tpq_error err = {0};
	uint64_t bytes = 0;
	enum tpq_status st = tpq_pw_finish(w, &bytes, &err);
	ASSERT_EQ(st, TPQ_OK);
	if (st != TPQ_OK) {
		fprintf(stderr, "finish: %s\n", err.msg);
		*len = 0;
		return NULL;
	}
	size_t n = 0;
	const uint8_t *p = tpq_sink_mem_data(sink, &n);
	ASSERT_U64_EQ(bytes, n);
	uint8_t *c = xrealloc(NULL, n);
	memcpy(c, p, n);
	*len = n;
	return c;
}

/* ---- the random schema model ---- */

enum kind { K_LEAF, K_GROUP, K_LIST, K_MAP };
enum vtype { V_BOOL, V_I32, V_I64, V_STR, V_TS };

#define MAX_NODES 96
#define MAX_KIDS 3

struct tn {
	enum kind kind;
	enum tpq_repetition rep;
	enum vtype vt;
	bool narrow;           /* leaves: values from a small domain */
	int nkids;
	struct tn *kids[MAX_KIDS];  /* LIST: element; MAP: key, value */
	int col, snode;
	int16_t rep_lv;        /* REPEATED node: its rep level; LIST/MAP: the inner group's */
};

/* Expected content of one column. */
struct ecol {
	enum vtype vt;
	int16_t max_def, max_rep;
	int16_t *def, *rep;
	size_t n, cap;
	int64_t *iv;
	size_t nv, capv;
	size_t *off;           /* nv + 1 entries for strings */
	uint8_t *bytes;
	size_t nb, capb;
};

struct pcase {
	struct tn nodes[MAX_NODES];
	int n_nodes;
	struct tn *top[4];
	int n_top;
	struct ecol cols[64];
	int n_cols;
	struct tpq_schema schema;
	struct tpq_pw *w;
	bool too_big;
};

static void ecol_level(struct ecol *e, int def, int rep)
{
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->def = xrealloc(e->def, e->cap * sizeof(*e->def));
		e->rep = xrealloc(e->rep, e->cap * sizeof(*e->rep));
	}
	e->def[e->n] = (int16_t)def;
	e->rep[e->n] = (int16_t)rep;
	e->n++;
}

static void ecol_value(struct ecol *e, int64_t v, const uint8_t *p, size_t n)
{
	if (e->nv + 1 >= e->capv) {
		e->capv = e->capv ? e->capv * 2 : 64;
		e->iv = xrealloc(e->iv, e->capv * sizeof(*e->iv));
		e->off = xrealloc(e->off, (e->capv + 1) * sizeof(*e->off));
	}
	if (e->nv == 0)
		e->off[0] = 0;
	e->iv[e->nv] = v;
	if (p && n) {
		if (e->nb + n > e->capb) {
			e->capb = (e->nb + n) * 2 + 64;
			e->bytes = xrealloc(e->bytes, e->capb);
		}
		memcpy(e->bytes + e->nb, p, n);
		e->nb += n;
	}
	e->nv++;
	e->off[e->nv] = e->nb;
}

static void ecol_free(struct ecol *e)
{
	free(e->def);
	free(e->rep);
	free(e->iv);
	free(e->off);
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

static enum tpq_repetition rand_rep(bool allow_repeated)
{
	unsigned r = rnd(10);
	if (r < 3)
		return TPQ_REQUIRED;
	if (r < 8 || !allow_repeated)
		return TPQ_OPTIONAL;
	return TPQ_REPEATED;
}

/* Adds a leaf of a random type under `parent`. */
static struct tn *gen_leaf(struct pcase *k, int parent, const char *name, enum tpq_repetition rep,
			   bool force_string)
{
	struct tn *n = &k->nodes[k->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->kind = K_LEAF;
	n->rep = rep;
	n->vt = force_string ? V_STR : (enum vtype)rnd(5);
	n->narrow = rnd(2);
	n->col = k->n_cols++;
	uint32_t flags = 0;
	if (rnd(5) == 0)
		flags |= TPQ_COL_BLOOM;
	if (rnd(10) == 0)
		flags |= TPQ_COL_NO_DICT;
	if (rnd(10) == 0)
		flags |= TPQ_COL_NO_STATS;
	if (rnd(4) == 0)
		flags |= TPQ_COL_DELTA; /* INT32/INT64 and BYTE_ARRAY leaves use it */
	switch (n->vt) {
	case V_BOOL:
		n->snode = tpq_schema_leaf(&k->schema, parent, name, rep, TPQ_T_BOOLEAN, NULL, flags);
		break;
	case V_I32:
		n->snode = tpq_schema_leaf(&k->schema, parent, name, rep, TPQ_T_INT32, NULL, flags);
		break;
	case V_I64:
		n->snode = tpq_schema_leaf(&k->schema, parent, name, rep, TPQ_T_INT64, NULL, flags);
		break;
	case V_STR:
		n->snode = tpq_schema_string(&k->schema, parent, name, rep, flags);
		break;
	case V_TS:
		n->snode = tpq_schema_timestamp_ms(&k->schema, parent, name, rep, flags);
		break;
	}
	k->cols[n->col].vt = n->vt;
	return n;
}

/* Adds a random field named `name` under `parent`; def/rep are the parent's levels. */
static struct tn *gen_field(struct pcase *k, int parent, const char *name, enum tpq_repetition rep,
			    int depth, int def, int rp)
{
	unsigned r = rnd(100);
	enum kind kind = depth >= 3 || k->n_nodes > MAX_NODES - 12 || k->n_cols > 48 ? K_LEAF
			 : r < 45 ? K_LEAF : r < 70 ? K_GROUP : r < 85 ? K_LIST : K_MAP;
	if ((kind == K_LIST || kind == K_MAP) && rep == TPQ_REPEATED)
		rep = TPQ_OPTIONAL;
	int d = def + (rep != TPQ_REQUIRED);
	int rl = rp + (rep == TPQ_REPEATED);
	if (kind == K_LEAF) {
		struct tn *n = gen_leaf(k, parent, name, rep, false);
		n->rep_lv = (int16_t)rl;
		k->cols[n->col].max_def = (int16_t)d;
		k->cols[n->col].max_rep = (int16_t)rl;
		return n;
	}
	struct tn *n = &k->nodes[k->n_nodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->rep = rep;
	n->rep_lv = (int16_t)rl;
	char nm[16];
	if (kind == K_GROUP) {
		n->snode = tpq_schema_group(&k->schema, parent, name, rep);
		n->nkids = 1 + (int)rnd(MAX_KIDS);
		for (int i = 0; i < n->nkids; i++) {
			snprintf(nm, sizeof(nm), "c%d", i);
			n->kids[i] = gen_field(k, n->snode, nm, rand_rep(true), depth + 1, d, rl);
		}
	} else if (kind == K_LIST) {
		n->snode = tpq_schema_list(&k->schema, parent, name, rep);
		n->rep_lv = (int16_t)(rl + 1);
		n->nkids = 1;
		n->kids[0] = gen_field(k, n->snode, "element", rand_rep(false), depth + 1, d + 1,
				       rl + 1);
	} else {
		n->snode = tpq_schema_map(&k->schema, parent, name, rep);
		n->rep_lv = (int16_t)(rl + 1);
		n->nkids = 2;
		struct tn *key = gen_leaf(k, n->snode, "key", TPQ_REQUIRED, true);
		key->rep_lv = (int16_t)(rl + 1);
		k->cols[key->col].max_def = (int16_t)(d + 1);
		k->cols[key->col].max_rep = (int16_t)(rl + 1);
		n->kids[0] = key;
		n->kids[1] = gen_field(k, n->snode, "value", rand_rep(false), depth + 1, d + 1, rl + 1);
	}
	/* the schema node of the repeated middle group is snode (list/key_value) */
	return n;
}

/* ---- the generic shredder ---- */

static void shred_field(struct pcase *k, struct tn *n, int d, int r);

/* No value for anything under n: every leaf gets (d, r). */
static void shred_nulls(struct pcase *k, struct tn *n, int d, int r, bool emit)
{
	if (n->kind == K_LEAF) {
		if (emit)
			tpq_pw_put_null(k->w, n->col, d, r);
		ecol_level(&k->cols[n->col], d, r);
		return;
	}
	for (int i = 0; i < n->nkids; i++)
		shred_nulls(k, n->kids[i], d, r, emit);
}

static void put_nulls(struct pcase *k, struct tn *n, int d, int r)
{
	unsigned how = rnd(3);
	if (n->kind != K_LEAF && how == 0) {
		/* the writer's helper for a whole subtree (a LIST/MAP's snode is its inner
		 * group; every leaf under it is a leaf under the outer node too) */
		tpq_pw_put_null_node(k->w, n->snode, d, r);
		shred_nulls(k, n, d, r, false);
	} else if (how == 1) {
		/* the same leaves as a column range (a leaf: a range of one) */
		const struct tpq_schema_node *sn = &k->schema.nodes[n->snode];
		tpq_pw_put_null_cols(k->w, sn->first_leaf, sn->n_leaves, d, r);
		shred_nulls(k, n, d, r, false);
	} else {
		shred_nulls(k, n, d, r, true);
	}
}

static void put_leaf(struct pcase *k, struct tn *n, int d, int r)
{
	struct ecol *e = &k->cols[n->col];
	ecol_level(e, d, r);
	switch (n->vt) {
	case V_BOOL: {
		bool b = rnd(2);
		tpq_pw_put_bool(k->w, n->col, r, b);
		ecol_value(e, b, NULL, 0);
		break;
	}
	case V_I32: {
		int32_t v = n->narrow ? (int32_t)rnd(7) - 3 : (int32_t)(uint32_t)rnd64();
		tpq_pw_put_i32(k->w, n->col, r, v);
		ecol_value(e, v, NULL, 0);
		break;
	}
	case V_I64:
	case V_TS: {
		int64_t v = n->vt == V_TS ? 1700000000000 + (int64_t)rnd(n->narrow ? 5 : 1000000)
			    : n->narrow ? (int64_t)rnd(9) - 4 : (int64_t)rnd64();
		tpq_pw_put_i64(k->w, n->col, r, v);
		ecol_value(e, v, NULL, 0);
		break;
	}
	case V_STR: {
		static const char alpha[] = "abz\xff\x01";
		uint8_t s[96];
		size_t len;
		if (n->narrow && rnd(2)) {
			len = (size_t)snprintf((char *)s, sizeof(s), "s%u", rnd(6));
		} else if (n->narrow) {
			/* long values that repeat, equal in length and differing only
			 * in the middle or at the end (the dictionary's long-value
			 * hash and comparisons) */
			unsigned a = rnd(3), b = rnd(2), pad = rnd(3) * 17;
			len = (size_t)snprintf((char *)s, sizeof(s),
					       "{\"bucketName\":\"logs-%u\",\"key\":\"%.*s/%u\"}", a, (int)pad,
					       "AWSLogs/123456789012/CloudTrail/", b);
		} else {
			len = rnd(4) ? rnd(20) : rnd(96);
			for (size_t i = 0; i < len; i++)
				s[i] = (uint8_t)(rnd(3) ? 'a' + rnd(26) : (uint8_t)alpha[rnd(5)]);
		}
		tpq_pw_put_bytes(k->w, n->col, r, s, len);
		ecol_value(e, 0, s, len);
		break;
	}
	}
}

/* n present with its own levels applied: d is n's definition level. */
static void shred_present(struct pcase *k, struct tn *n, int d, int r)
{
	if (n->kind == K_LEAF) {
		put_leaf(k, n, d, r);
	} else if (n->kind == K_GROUP) {
		for (int i = 0; i < n->nkids; i++)
			shred_field(k, n->kids[i], d, r);
	} else {
		unsigned cnt = rnd(4);
		if (cnt == 0) {  /* empty list / map */
			for (int i = 0; i < n->nkids; i++)
				put_nulls(k, n->kids[i], d, r);
			return;
		}
		for (unsigned j = 0; j < cnt; j++)
			for (int i = 0; i < n->nkids; i++)
				shred_field(k, n->kids[i], d + 1, j ? n->rep_lv : r);
	}
}

/* n as a field of a present parent whose definition level is d. */
static void shred_field(struct pcase *k, struct tn *n, int d, int r)
{
	switch (n->rep) {
	case TPQ_REQUIRED:
		shred_present(k, n, d, r);
		break;
	case TPQ_OPTIONAL:
		if (rnd(4) == 0)
			put_nulls(k, n, d, r);
		else
			shred_present(k, n, d + 1, r);
		break;
	case TPQ_REPEATED: {
		unsigned cnt = rnd(4);
		if (cnt == 0)
			put_nulls(k, n, d, r);
		for (unsigned j = 0; j < cnt; j++)
			shred_present(k, n, d + 1, j ? n->rep_lv : r);
		break;
	}
	}
}


/* Makes k's random schema (from the generator's current state) and finishes it. */
static enum tpq_status gen_schema(struct pcase *k, struct tpq_error *err)
{
	if (tpq_schema_init(&k->schema) != 0)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	k->n_top = 1 + (int)rnd(4);
	for (int i = 0; i < k->n_top; i++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "f%d", i);
		k->top[i] = gen_field(k, 0, nm, rand_rep(true), 0, 0, 0);
	}
	return tpq_schema_finish(&k->schema, err);
}

/* Puts one random row into k->w (recording it in k->cols) and ends it. */
static enum tpq_status gen_row(struct pcase *k)
{
	for (int i = 0; i < k->n_top; i++)
		shred_field(k, k->top[i], 0, 0);
	return tpq_pw_end_row(k->w);
}

#endif
