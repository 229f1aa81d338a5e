/* Parquet encoding speed: how fast the writer turns CloudTrail column data
 * into a compressed file, apart from JSON scanning and shredding.
 *
 *   bench_writer FILE.parquet [repeat] [codec]
 *
 * Takes a file trailpq wrote (any partition of a converted lake), decodes
 * every column with our reader, lays the puts out in row order, then times
 * only re-writing those columns
 * (level and value puts, end_row, dictionary, statistics, page index, Bloom
 * filters, compression, footer) into a memory sink, `repeat` times. Prints
 * the column data size (the pages' uncompressed size, as
 * ColumnMetaData.total_uncompressed_size counts it) per second of one core.
 * Not a test; the speed issue's target is >= 500 MB/s per core with ZSTD.
 *
 * Build: cc -O2 -Iinclude -Isrc bench/bench_writer.c build/libtrailpq.a \
 *          -lzstd -lsnappy -ldeflate -lz -llz4 -lcurl -lexpat -lm -pthread -o build/bench_writer */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_writer FILE.parquet [repeat] [codec]\n");
		return 2;
	}
	int repeat = argc > 2 ? atoi(argv[2]) : 5;
	int codec = argc > 3 ? tpq_codec_from_name(argv[3]) : TPQ_CODEC_ZSTD;
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_pr *pr;
	if (tpq_pr_open_path(&pr, argv[1], NULL, &err)) {
		fprintf(stderr, "%s: %s\n", argv[1], err.msg);
		return 1;
	}
	const struct tpq_schema *schema = tpq_pr_schema(pr);
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
	/* The logical size of the column data: every value's bytes (strings'
	 * bytes, 8 per INT64, 4 per INT32, 1 per BOOLEAN) plus a byte of levels
	 * per entry, the measure the 500 MB/s target uses. */
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
	struct put {
		int32_t col;
		uint8_t def, rep, type, end_row;
		const uint8_t *p;
		int64_t v;  /* the int, or the byte length */
	};
	size_t n_puts = 0, cap_puts = 1 << 16;
	struct put *puts = malloc(cap_puts * sizeof(*puts));
	for (size_t g = 0; g < nrg; g++) {
		size_t nr = rows[g * ncol].n_rows;
		for (size_t r = 0; r < nr; r++) {
			for (size_t c = 0; c < ncol; c++) {
				const struct tpq_pr_column *k = &cols[g * ncol + c];
				const struct tpq_pr_rows *rw = &rows[g * ncol + c];
				size_t v = rw->value_start[r];
				for (size_t l = rw->level_start[r]; l < rw->level_start[r + 1]; l++) {
					if (n_puts == cap_puts)
						puts = realloc(puts, (cap_puts *= 2) * sizeof(*puts));
					struct put *q = &puts[n_puts++];
					memset(q, 0, sizeof(*q));
					q->col = (int32_t)c;
					q->def = (uint8_t)k->def[l];
					q->rep = (uint8_t)k->rep[l];
					q->type = k->def[l] < k->max_def ? 255 : (uint8_t)k->type;
					if (q->type == TPQ_T_BYTE_ARRAY) {
						q->p = k->bytes + k->offsets[v];
						q->v = (int64_t)(k->offsets[v + 1] - k->offsets[v]);
					} else if (q->type != 255) {
						q->v = k->ints[v];
					}
					if (q->type != 255)
						v++;
				}
			}
			puts[n_puts - 1].end_row = 1;
		}
	}
	double best = 1e9;
	uint64_t out_bytes = 0;
	int64_t col_bytes = 0, nrows = 0;
	for (int it = 0; it < repeat; it++) {
		struct tpq_sink *sink = tpq_sink_mem_new();
		struct tpq_pw_options o;
		tpq_pw_options_init(&o);
		o.codec = (enum tpq_codec)codec;
		double t0 = now();
		struct tpq_pw *w = tpq_pw_new(schema, &o, sink, &err);
		nrows = 0;
		for (size_t i = 0; i < n_puts; i++) {
			const struct put *q = &puts[i];
			switch (q->type) {
			case 255:
				tpq_pw_put_null(w, q->col, q->def, q->rep);
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
			if (q->end_row) {
				tpq_pw_end_row(w);
				nrows++;
			}
		}
		if (tpq_pw_finish(w, &out_bytes, &err)) {
			fprintf(stderr, "write: %s\n", err.msg);
			return 1;
		}
		double dt = now() - t0;
		if (dt < best)
			best = dt;
		tpq_pw_free(w);
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
	printf("rows=%lld column data %.1f MB (encoded pages %.1f MB) -> file %.1f MB, codec %s, "
	       "best %.3f s: %.1f MB/s of column data per core\n",
	       (long long)nrows, logical / 1e6, col_bytes / 1e6, out_bytes / 1e6,
	       tpq_codec_name((enum tpq_codec)codec), best, logical / 1e6 / best);
	for (size_t i = 0; i < ncol * nrg; i++) {
		tpq_pr_column_release(&cols[i]);
		tpq_pr_rows_release(&rows[i]);
	}
	free(cols);
	free(rows);
	free(puts);
	tpq_pr_free(pr);
	return 0;
}
