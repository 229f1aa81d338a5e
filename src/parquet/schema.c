/* Schema trees in depth-first order.
 *
 * Levels (Dremel): walking from the root to a node, every OPTIONAL or REPEATED
 * ancestor-or-self adds one to the maximum definition level and every REPEATED
 * one adds one to the maximum repetition level. The root is REQUIRED and adds
 * nothing. Leaves are numbered in depth-first order, which is the order of the
 * column chunks in every row group. */
#include "parquet/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int tpq_schema_init(struct tpq_schema *s)
{
	memset(s, 0, sizeof(*s));
	s->cap_nodes = 32;
	s->nodes = calloc(s->cap_nodes, sizeof(*s->nodes));
	if (!s->nodes)
		return -1;
	struct tpq_schema_node *root = &s->nodes[0];
	root->name = strdup("schema");
	if (!root->name) {
		free(s->nodes);
		s->nodes = NULL;
		return -1;
	}
	root->repetition = TPQ_REQUIRED;
	root->is_group = true;
	root->converted = TPQ_CT_NONE;
	root->parent = -1;
	root->leaf = -1;
	s->n_nodes = 1;
	return 0;
}

void tpq_schema_release(struct tpq_schema *s)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		free(s->nodes[i].name);
	free(s->nodes);
	free(s->leaves);
	memset(s, 0, sizeof(*s));
}

static int add_node(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep)
{
	if (s->finished || !s->nodes || parent < 0 || (size_t)parent >= s->n_nodes ||
	    !s->nodes[parent].is_group)
		return -1;
	if (s->n_nodes == s->cap_nodes) {
		size_t cap = s->cap_nodes * 2;
		struct tpq_schema_node *n = realloc(s->nodes, cap * sizeof(*n));
		if (!n)
			return -1;
		s->nodes = n;
		s->cap_nodes = cap;
	}
	struct tpq_schema_node *n = &s->nodes[s->n_nodes];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	if (!n->name)
		return -1;
	n->repetition = rep;
	n->converted = TPQ_CT_NONE;
	n->parent = parent;
	n->leaf = -1;
	s->nodes[parent].num_children++;
	return (int)s->n_nodes++;
}

int tpq_schema_group(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep)
{
	int i = add_node(s, parent, name, rep);
	if (i >= 0)
		s->nodes[i].is_group = true;
	return i;
}

static enum tpq_converted converted_for(enum tpq_type type, const struct tpq_logical_type *lt)
{
	if (!lt)
		return TPQ_CT_NONE;
	switch (lt->kind) {
	case TPQ_LT_STRING:
	case TPQ_LT_JSON:
		return TPQ_CT_UTF8;
	case TPQ_LT_TIMESTAMP:
		/* The legacy type only exists for UTC-adjusted millis/micros. */
		return lt->ts_utc && lt->ts_unit == TPQ_UNIT_MILLIS ? TPQ_CT_TIMESTAMP_MILLIS : TPQ_CT_NONE;
	case TPQ_LT_INTEGER:
		if (lt->int_signed && lt->int_bits == 32 && type == TPQ_T_INT32)
			return TPQ_CT_INT_32;
		if (lt->int_signed && lt->int_bits == 64 && type == TPQ_T_INT64)
			return TPQ_CT_INT_64;
		return TPQ_CT_NONE;
	default:
		return TPQ_CT_NONE;
	}
}

int tpq_schema_leaf(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep,
		    enum tpq_type type, const struct tpq_logical_type *lt, uint32_t flags)
{
	int i = add_node(s, parent, name, rep);
	if (i < 0)
		return -1;
	struct tpq_schema_node *n = &s->nodes[i];
	n->type = type;
	if (lt)
		n->logical = *lt;
	n->converted = converted_for(type, lt);
	n->flags = flags;
	return i;
}

int tpq_schema_string(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep,
		      uint32_t flags)
{
	struct tpq_logical_type lt = {.kind = TPQ_LT_STRING};
	return tpq_schema_leaf(s, parent, name, rep, TPQ_T_BYTE_ARRAY, &lt, flags);
}

int tpq_schema_timestamp_ms(struct tpq_schema *s, int parent, const char *name,
			    enum tpq_repetition rep, uint32_t flags)
{
	struct tpq_logical_type lt = {.kind = TPQ_LT_TIMESTAMP, .ts_utc = true, .ts_unit = TPQ_UNIT_MILLIS};
	return tpq_schema_leaf(s, parent, name, rep, TPQ_T_INT64, &lt, flags);
}

int tpq_schema_list(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep)
{
	int outer = tpq_schema_group(s, parent, name, rep);
	if (outer < 0)
		return -1;
	s->nodes[outer].logical.kind = TPQ_LT_LIST;
	s->nodes[outer].converted = TPQ_CT_LIST;
	return tpq_schema_group(s, outer, "list", TPQ_REPEATED);
}

int tpq_schema_map(struct tpq_schema *s, int parent, const char *name, enum tpq_repetition rep)
{
	int outer = tpq_schema_group(s, parent, name, rep);
	if (outer < 0)
		return -1;
	s->nodes[outer].logical.kind = TPQ_LT_MAP;
	s->nodes[outer].converted = TPQ_CT_MAP;
	return tpq_schema_group(s, outer, "key_value", TPQ_REPEATED);
}

/* Checks depth-first order: each node's parent is the nearest earlier node
 * that still has unclaimed children. Computes levels and leaf numbering. */
enum tpq_status tpq_schema_finish(struct tpq_schema *s, struct tpq_error *err)
{
	if (s->finished)
		return TPQ_OK;
	if (!s->nodes || s->n_nodes < 2)
		return tpq_error_set(err, TPQ_EINVAL, "schema has no columns");
	int *stack = malloc(s->n_nodes * sizeof(int));
	int *left = calloc(s->n_nodes, sizeof(int));
	size_t n_leaves = 0;
	enum tpq_status st = TPQ_OK;
	if (!stack || !left) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto free_tmp;
	}
	for (size_t i = 0; i < s->n_nodes; i++)
		n_leaves += !s->nodes[i].is_group;
	free(s->leaves);
	s->leaves = malloc((n_leaves ? n_leaves : 1) * sizeof(int));
	if (!s->leaves) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto free_tmp;
	}
	s->n_leaves = 0;
	size_t sp = 0;
	stack[sp++] = 0;
	left[0] = s->nodes[0].num_children;
	s->nodes[0].max_def = s->nodes[0].max_rep = 0;
	for (size_t i = 1; i < s->n_nodes; i++) {
		while (sp > 0 && left[stack[sp - 1]] == 0)
			sp--;
		struct tpq_schema_node *n = &s->nodes[i];
		if (sp == 0 || stack[sp - 1] != n->parent) {
			st = tpq_error_set(err, TPQ_EINVAL, "schema node '%s' is not in depth-first order",
					   n->name);
			goto free_tmp;
		}
		struct tpq_schema_node *p = &s->nodes[n->parent];
		left[n->parent]--;
		n->max_def = (int16_t)(p->max_def + (n->repetition != TPQ_REQUIRED));
		n->max_rep = (int16_t)(p->max_rep + (n->repetition == TPQ_REPEATED));
		if (n->is_group) {
			if (n->num_children == 0) {
				st = tpq_error_set(err, TPQ_EINVAL, "group '%s' has no children", n->name);
				goto free_tmp;
			}
			n->leaf = -1;
			left[i] = n->num_children;
			stack[sp++] = (int)i;
		} else {
			n->leaf = (int)s->n_leaves;
			s->leaves[s->n_leaves++] = (int)i;
		}
	}
	/* first_leaf / n_leaves of every node: leaves are contiguous in DFS order. */
	for (size_t i = 0; i < s->n_nodes; i++) {
		s->nodes[i].first_leaf = -1;
		s->nodes[i].n_leaves = 0;
	}
	for (size_t l = 0; l < s->n_leaves; l++) {
		for (int i = s->leaves[l]; i >= 0; i = s->nodes[i].parent) {
			if (s->nodes[i].first_leaf < 0)
				s->nodes[i].first_leaf = (int)l;
			s->nodes[i].n_leaves++;
		}
	}
	s->finished = true;
free_tmp:
	free(stack);
	free(left);
	return st;
}

char *tpq_schema_path(const struct tpq_schema *s, int node, char *buf, size_t cap)
{
	int chain[256];
	int n = 0;
	for (int i = node; i > 0 && n < 256; i = s->nodes[i].parent)
		chain[n++] = i;
	size_t len = 0;
	if (cap)
		buf[0] = '\0';
	for (int k = n - 1; k >= 0 && len < cap; k--) {
		int w = snprintf(buf + len, cap - len, "%s%s", k == n - 1 ? "" : ".",
				 s->nodes[chain[k]].name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return buf;
}

void tpq_schema_to_elements(const struct tpq_schema *s, struct tpq_schema_element *out)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct tpq_schema_node *n = &s->nodes[i];
		struct tpq_schema_element *e = &out[i];
		memset(e, 0, sizeof(*e));
		e->name = n->name;
		e->has_type = !n->is_group;
		e->type = n->type;
		e->has_repetition = i != 0;
		e->repetition = n->repetition;
		e->num_children = n->is_group ? n->num_children : 0;
		e->converted = n->converted;
		e->logical = n->logical;
	}
}

enum tpq_status tpq_schema_from_elements(struct tpq_schema *s, const struct tpq_schema_element *el,
					 size_t n, struct tpq_error *err)
{
	if (n < 2 || el[0].num_children <= 0)
		return tpq_error_set(err, TPQ_ECORRUPT, "schema has no columns");
	if (tpq_schema_init(s))
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	/* Rebuild parents from num_children in depth-first order. */
	int *stack = malloc(n * sizeof(int));
	int *left = malloc(n * sizeof(int));
	enum tpq_status st = TPQ_OK;
	if (!stack || !left) {
		st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
		goto fail;
	}
	size_t sp = 0;
	stack[sp++] = 0;
	left[0] = el[0].num_children;
	for (size_t i = 1; i < n; i++) {
		while (sp > 0 && left[stack[sp - 1]] == 0)
			sp--;
		if (sp == 0) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "schema element %zu is outside the tree", i);
			goto fail;
		}
		int parent = stack[sp - 1];
		left[parent]--;
		const struct tpq_schema_element *e = &el[i];
		const char *name = e->name ? e->name : "";
		enum tpq_repetition rep = e->has_repetition ? e->repetition : TPQ_REQUIRED;
		if (rep > TPQ_REPEATED) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "schema element '%s' has a bad repetition", name);
			goto fail;
		}
		int idx;
		if (e->num_children > 0) {
			idx = tpq_schema_group(s, parent, name, rep);
			if (idx >= 0) {
				/* num_children is counted up again by add_node as children come. */
				left[idx] = e->num_children;
				stack[sp++] = idx;
				s->nodes[idx].logical = e->logical;
				s->nodes[idx].converted = e->converted;
			}
		} else {
			if (!e->has_type || e->type > TPQ_T_FIXED_LEN_BYTE_ARRAY) {
				st = tpq_error_set(err, TPQ_ECORRUPT, "schema leaf '%s' has no valid type", name);
				goto fail;
			}
			idx = tpq_schema_leaf(s, parent, name, rep, e->type, &e->logical, 0);
			if (idx >= 0)
				s->nodes[idx].converted = e->converted;
		}
		if (idx < 0) {
			st = tpq_error_set(err, TPQ_ENOMEM, "out of memory");
			goto fail;
		}
		if ((size_t)idx != i) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "schema element %zu is misplaced", i);
			goto fail;
		}
	}
	for (size_t i = 0; i < sp; i++) {
		if (left[stack[i]] != 0) {
			st = tpq_error_set(err, TPQ_ECORRUPT, "schema ends before all children were given");
			goto fail;
		}
	}
	st = tpq_schema_finish(s, err);
	if (st)
		goto fail;
	free(stack);
	free(left);
	return TPQ_OK;
fail:
	free(stack);
	free(left);
	tpq_schema_release(s);
	return st ? st : TPQ_ECORRUPT;
}
