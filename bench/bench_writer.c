/* Parquet encoding speed: how fast the writer turns CloudTrail column data
 * into a compressed file, apart from JSON scanning and shredding.
 *
 *   bench_writer FILE.parquet [repeat] [codec] [level] [node|leaf] [reuse|fresh]
 *
 * Takes a file trailpq wrote (any partition of a converted lake), decodes
 * every column with our reader, lays the puts out in row order (with
 * CloudTrail schema v1 and its column flags when the file has that schema,
 * so Bloom filters, PLAIN ids and DELTA eventtime are written as convert
 * writes them), then times
 * only re-writing those columns (level and value puts, end_row, dictionary,
 * statistics, page index, Bloom filters, compression, footer) into a memory
 * sink, `repeat` times, and prints the best. Column data is the logical size:
 * string bytes, 8 per INT64, 4 per INT32, 1 per BOOLEAN, plus a byte of
 * levels per entry. Not a test; the speed issue's target is >= 500 MB/s per
 * core with ZSTD.
 *
 * The put stream has two shapes:
 *   node (default)  what the CloudTrail shredder sends: fields absent side by
 *                   side in a row (their leaves one null entry each, one level
 *                   below the field) are one tpq_pw_put_null_cols, an empty
 *                   list or map one tpq_pw_put_null_node, as emit_struct does
 *                   (inside list elements the bench puts leaf by leaf);
 *   leaf            one call per level entry (tpq_pw_put_null per null leaf).
 * String values are copied into one buffer in put order, as the shredder
 * finds them in a record. All repetitions share one codec context and, by
 * default, one writer (tpq_pw_reset between files), as a convert worker's
 * files do; `fresh` makes a new writer for each (every buffer grown again).
 *
 * Instructions of one write, without the decoding set-up:
 *   valgrind --tool=callgrind --toggle-collect=write_once \
 *     build/bench/bench_writer FILE.parquet 1 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudtrail/shred.h"
#include "codec/codec.h"
#include "io/sink.h"
#include "parquet/reader.h"
#include "parquet/writer.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { P_NULL = 250, P_NODE = 251, P_COLS = 252 };

struct put {
	int32_t col; /* column, or schema node for P_NODE */
	uint8_t def, rep, type, end_row;
	const uint8_t *p;
	int64_t v; /* the int, or the byte length */
};

struct plan {
	const struct tpq_schema *schema;
	const struct tpq_pr_column *cols; /* of the row group being laid out */
	const struct tpq_pr_rows *rows;
	size_t *vpos;                      /* per column: next value */
	int **children;                    /* per node: child nodes, -1 ended */
	struct put *puts;
	size_t n, cap;
	uint8_t *arena;                    /* string values in put order */
	size_t arena_len, arena_cap;
};

static struct put *add(struct plan *pl)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 1 << 16;
		pl->puts = realloc(pl->puts, pl->cap * sizeof(*pl->puts));
		if (!pl->puts) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	struct put *q = &pl->puts[pl->n++];
	memset(q, 0, sizeof(*q));
	return q;
}

/* Every entry of column c in row r, one put each. */
static void lay_leaf(struct plan *pl, size_t c, size_t r)
{
	const struct tpq_pr_column *k = &pl->cols[c];
	const struct tpq_pr_rows *rw = &pl->rows[c];
	for (size_t l = rw->level_start[r]; l < rw->level_start[r + 1]; l++) {
		struct put *q = add(pl);
		q->col = (int32_t)c;
		q->def = (uint8_t)k->def[l];
		q->rep = (uint8_t)k->rep[l];
		if (k->def[l] < k->max_def) {
			q->type = P_NULL;
			continue;
		}
		size_t v = pl->vpos[c]++;
		q->type = (uint8_t)k->type;
		if (k->type == TPQ_T_BYTE_ARRAY) {
			/* Copied in put order, as a shredder finds them in its record
			 * (q->p is an offset until the arena stops moving). */
			size_t len = k->offsets[v + 1] - k->offsets[v];
			if (pl->arena_len + len > pl->arena_cap) {
				pl->arena_cap = (pl->arena_cap + len) * 2;
				pl->arena = realloc(pl->arena, pl->arena_cap);
				if (!pl->arena) {
					fprintf(stderr, "out of memory\n");
					exit(1);
				}
			}
			memcpy(pl->arena + pl->arena_len, k->bytes + k->offsets[v], len);
			q->p = (const uint8_t *)(uintptr_t)pl->arena_len;
			pl->arena_len += len;
			q->v = (int64_t)len;
		} else {
			q->v = k->ints[v];
		}
	}
}

/* The definition level shared by every leaf under `node` in row r when each
 * has a single null entry there (rep 0) at that level; -1 otherwise. */
static int null_def(const struct plan *pl, int node, size_t r)
{
	const struct tpq_schema_node *n = &pl->schema->nodes[node];
	int def = -1;
	for (int c = n->first_leaf; c < n->first_leaf + n->n_leaves; c++) {
		const struct tpq_pr_rows *rw = &pl->rows[c];
		const struct tpq_pr_column *k = &pl->cols[c];
		size_t l = rw->level_start[r];
		if (rw->level_start[r + 1] != l + 1 || k->rep[l] != 0 || k->def[l] >= k->max_def ||
		    (def >= 0 && k->def[l] != def))
			return -1;
		def = k->def[l];
	}
	return def;
}

/* Row r of the fields under group `node`, as emit_struct sends them: a run
 * of absent fields side by side (leaves null one level below the field's
 * own) is one put_null_cols (put_null for a single leaf), an empty list or
 * map one put_null_node, a present field its own puts. */
static void lay_node(struct plan *pl, int node, size_t r)
{
	const struct tpq_schema_node *n = &pl->schema->nodes[node];
	if (!n->is_group) {
		lay_leaf(pl, (size_t)n->leaf, r);
		return;
	}
	size_t run = SIZE_MAX; /* the pending P_COLS put */
	for (int *ch = pl->children[node]; *ch >= 0; ch++) {
		const struct tpq_schema_node *cn = &pl->schema->nodes[*ch];
		int d = null_def(pl, *ch, r);
		if (d >= 0 && d < cn->max_def) {
			struct put *q = run != SIZE_MAX ? &pl->puts[run] : NULL;
			if (q && q->def == d && q->col + q->v == cn->first_leaf) {
				q->v += cn->n_leaves;
				continue;
			}
			run = pl->n;
			q = add(pl);
			q->type = P_COLS;
			q->col = cn->first_leaf;
			q->v = cn->n_leaves;
			q->def = (uint8_t)d;
			continue;
		}
		run = SIZE_MAX;
		if (d >= 0) {
			struct put *q = add(pl);
			q->type = P_NODE;
			q->col = *ch;
			q->def = (uint8_t)d;
			continue;
		}
		lay_node(pl, *ch, r);
	}
}

/* One write of the whole put stream into a fresh memory sink, with the
 * writer of the previous write reset (*wp; NULL the first time, or with
 * `fresh`: a new writer). */
__attribute__((noinline)) static struct tpq_sink *write_once(struct tpq_pw **wp, bool fresh,
							     const struct tpq_schema *schema,
							     const struct tpq_pw_options *o,
							     const struct put *puts, size_t n_puts,
							     uint64_t *out_bytes)
{
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_sink *sink = tpq_sink_mem_new();
	if (fresh) {
		tpq_pw_free(*wp);
		*wp = NULL;
	}
	if (*wp ? tpq_pw_reset(*wp, sink, &err) != TPQ_OK
		: !(*wp = tpq_pw_new(schema, o, sink, &err))) {
		fprintf(stderr, "writer: %s\n", err.msg);
		exit(1);
	}
	struct tpq_pw *w = *wp;
	for (size_t i = 0; i < n_puts; i++) {
		const struct put *q = &puts[i];
		switch (q->type) {
		case P_NULL:
			tpq_pw_put_null(w, q->col, q->def, q->rep);
			break;
		case P_NODE:
			tpq_pw_put_null_node(w, q->col, q->def, q->rep);
			break;
		case P_COLS:
			if (q->v == 1)
				tpq_pw_put_null(w, q->col, q->def, q->rep);
			else
				tpq_pw_put_null_cols(w, q->col, (int)q->v, q->def, q->rep);
			break;
		case TPQ_T_BYTE_ARRAY:
			tpq_pw_put_bytes(w, q->col, q->rep, q->p, (size_t)q->v);
			break;
		case TPQ_T_BOOLEAN:
			tpq_pw_put_bool(w, q->col, q->rep, q->v != 0);
			break;
		case TPQ_T_INT32:
			tpq_pw_put_i32(w, q->col, q->rep, (int32_t)q->v);
			break;
		default:
			tpq_pw_put_i64(w, q->col, q->rep, q->v);
			break;
		}
		if (q->end_row)
			tpq_pw_end_row(w);
	}
	if (tpq_pw_finish(w, out_bytes, &err)) {
		fprintf(stderr, "write: %s\n", err.msg);
		exit(1);
	}
	return sink;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_writer FILE.parquet [repeat] [codec] [level] [node|leaf] "
				"[reuse|fresh]\n");
		return 2;
	}
	int repeat = argc > 2 ? atoi(argv[2]) : 5;
	int codec = argc > 3 ? tpq_codec_from_name(argv[3]) : TPQ_CODEC_ZSTD;
	int level = argc > 4 ? atoi(argv[4]) : 0;
	bool by_node = !(argc > 5 && strcmp(argv[5], "leaf") == 0);
	bool fresh = argc > 6 && strcmp(argv[6], "fresh") == 0;
	if (codec < 0) {
		fprintf(stderr, "unknown codec %s\n", argv[3]);
		return 2;
	}
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_pr *pr;
	if (tpq_pr_open_path(&pr, argv[1], NULL, &err)) {
		fprintf(stderr, "%s: %s\n", argv[1], err.msg);
		return 1;
	}
	const struct tpq_schema *schema = tpq_pr_schema(pr);
	/* The file's schema lacks trailpq's column flags (Bloom filters, no
	 * dictionary for ids, DELTA for eventtime): a CloudTrail file is
	 * re-written with schema v1 itself, as convert writes it. */
	struct tpq_ct_table *ct = NULL;
	bool is_ct = false;
	if (tpq_ct_table_new(&ct, &err) == TPQ_OK) {
		const struct tpq_schema *v1 = tpq_ct_table_schema(ct);
		is_ct = v1->n_nodes == schema->n_nodes && v1->n_leaves == schema->n_leaves;
		for (size_t i = 0; is_ct && i < v1->n_nodes; i++)
			is_ct = strcmp(v1->nodes[i].name, schema->nodes[i].name) == 0 &&
				v1->nodes[i].max_def == schema->nodes[i].max_def &&
				v1->nodes[i].max_rep == schema->nodes[i].max_rep &&
				v1->nodes[i].type == schema->nodes[i].type;
		if (is_ct)
			schema = v1;
	}
	size_t ncol = tpq_pr_num_columns(pr), nrg = tpq_pr_num_row_groups(pr);
	struct tpq_pr_column *cols = calloc(ncol * nrg, sizeof(*cols));
	struct tpq_pr_rows *rows = calloc(ncol * nrg, sizeof(*rows));
	for (size_t g = 0; g < nrg; g++) {
		for (size_t c = 0; c < ncol; c++) {
			if (tpq_pr_read_column(pr, g, c, 0, &cols[g * ncol + c], &err) ||
			    tpq_pr_column_rows(&cols[g * ncol + c], &rows[g * ncol + c], &err)) {
				fprintf(stderr, "read: %s\n", err.msg);
				return 1;
			}
		}
	}
	double logical = 0;
	for (size_t i = 0; i < ncol * nrg; i++) {
		const struct tpq_pr_column *k = &cols[i];
		logical += (double)k->n_levels;
		if (k->type == TPQ_T_BYTE_ARRAY)
			logical += (double)k->offsets[k->n_values];
		else
			logical += (double)k->n_values * (k->type == TPQ_T_INT64 ? 8 : k->type == TPQ_T_INT32 ? 4 : 1);
	}
	/* The puts in row order, laid out sequentially, so that replaying them
	 * costs the benchmark almost nothing beyond the writer's own work. */
	struct plan pl = {.schema = schema};
	pl.vpos = calloc(ncol, sizeof(size_t));
	pl.children = calloc(schema->n_nodes, sizeof(int *));
	for (size_t i = 0; i < schema->n_nodes; i++) {
		pl.children[i] = malloc((size_t)(schema->nodes[i].num_children + 1) * sizeof(int));
		int k = 0;
		for (size_t j = i + 1; j < schema->n_nodes; j++)
			if (schema->nodes[j].parent == (int)i)
				pl.children[i][k++] = (int)j;
		pl.children[i][k] = -1;
	}
	size_t n_entries = 0, n_values = 0, n_rows = 0;
	for (size_t g = 0; g < nrg; g++) {
		pl.cols = &cols[g * ncol];
		pl.rows = &rows[g * ncol];
		memset(pl.vpos, 0, ncol * sizeof(size_t));
		n_rows += pl.rows[0].n_rows;
		for (size_t r = 0; r < pl.rows[0].n_rows; r++) {
			if (by_node)
				lay_node(&pl, 0, r);
			else
				for (size_t c = 0; c < ncol; c++)
					lay_leaf(&pl, c, r);
			pl.puts[pl.n - 1].end_row = 1;
		}
		for (size_t c = 0; c < ncol; c++) {
			n_entries += pl.cols[c].n_levels;
			n_values += pl.cols[c].n_values;
		}
	}
	for (size_t i = 0; i < pl.n; i++)
		if (pl.puts[i].type == TPQ_T_BYTE_ARRAY)
			pl.puts[i].p = pl.arena + (uintptr_t)pl.puts[i].p;
	double best = 1e9;
	uint64_t out_bytes = 0;
	int64_t col_bytes = 0;
	struct tpq_codec_ctx *cctx = tpq_codec_ctx_new();
	struct tpq_pw *w = NULL;
	struct tpq_pw_options o;
	tpq_pw_options_init(&o);
	o.codec = (enum tpq_codec)codec;
	o.level = level;
	o.codec_ctx = cctx;
	for (int it = 0; it < repeat; it++) {
		double t0 = now();
		struct tpq_sink *sink = write_once(&w, fresh, schema, &o, pl.puts, pl.n, &out_bytes);
		double dt = now() - t0;
		if (dt < best)
			best = dt;
		size_t len;
		const uint8_t *p = tpq_sink_mem_data(sink, &len);
		struct tpq_pr *back;
		if (tpq_pr_open(&back, p, len, NULL, &err) == TPQ_OK) {
			col_bytes = 0;
			const struct tpq_file_meta_data *m = tpq_pr_meta(back);
			for (size_t g = 0; g < m->n_row_groups; g++)
				for (size_t c = 0; c < m->row_groups[g].n_columns; c++)
					col_bytes += m->row_groups[g].columns[c].meta_data.total_uncompressed_size;
			tpq_pr_free(back);
		}
		sink->free(sink);
	}
	printf("%s: rows=%zu entries=%zu values=%zu calls=%zu (%s, %s) column data %.1f MB (encoded pages "
	       "%.1f MB) -> file %llu bytes, codec %s level %d, best %.4f s: %.1f MB/s of column "
	       "data per core\n",
	       is_ct ? "schema v1" : "file schema", n_rows, n_entries, n_values, pl.n, by_node ? "node" : "leaf",
	       fresh ? "fresh" : "reuse", logical / 1e6,
	       col_bytes / 1e6, (unsigned long long)out_bytes, tpq_codec_name((enum tpq_codec)codec),
	       level, best, logical / 1e6 / best);
	tpq_pw_free(w);
	tpq_codec_ctx_free(cctx);
	for (size_t i = 0; i < ncol * nrg; i++) {
		tpq_pr_column_release(&cols[i]);
		tpq_pr_rows_release(&rows[i]);
	}
	for (size_t i = 0; i < schema->n_nodes; i++)
		free(pl.children[i]);
	free(pl.children);
	free(pl.vpos);
	free(cols);
	free(rows);
	free(pl.puts);
	free(pl.arena);
	tpq_ct_table_free(ct);
	tpq_pr_free(pr);
	return 0;
}
