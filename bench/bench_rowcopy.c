/* Row copy speed: compaction of CloudTrail Parquet files into one.
 *
 *   bench_rowcopy FILE.parquet... [-r repeat]
 *
 * Takes files trailpq wrote (partitions of a converted lake), and `repeat`
 * times (default 3) copies every row of them into one file in a memory sink
 * (schema v1, default writer options: ZSTD, dictionary, statistics, page
 * index, Bloom filters) twice: concatenated (file after file, rows in order)
 * and merged by eventtime (a k-way merge over keys read with
 * tpq_rowcopy_read_i64). Prints rows per second of one core for each, best
 * of the repeats, with the time spent in finish (last row group and footer)
 * included. Not a test.
 *
 * Measured once (2 shared cores, 18 partition files of a 50 MB bucket from
 * gen_cloudtrail.py, 42,914 rows, 71 columns): about 230,000 rows/s
 * concatenated and 210,000 rows/s merged; the writer takes most of it.
 *
 * Build: make bench-tools (build/bench/bench_rowcopy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudtrail/shred.h"
#include "io/sink.h"
#include "parquet/reader.h"
#include "parquet/rowcopy.h"
#include "parquet/writer.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, const struct tpq_error *err)
{
	fprintf(stderr, "%s: %s %s\n", what, err->msg, err->where);
	return 1;
}

/* One copy of every row; merge: by eventtime, else file after file. */
static int run(struct tpq_pr **pr, size_t n, const struct tpq_schema *schema, int64_t **key,
	       bool merge, double *secs, uint64_t *bytes)
{
	struct tpq_error err;
	tpq_error_clear(&err);
	struct tpq_sink *sink = tpq_sink_mem_new();
	struct tpq_pw *w = tpq_pw_new(schema, NULL, sink, &err);
	struct tpq_rowcopy *rc = NULL;
	if (!w || tpq_rowcopy_new(&rc, pr, n, w, schema, &err))
		return fail("setup", &err);
	int64_t *pos = calloc(n, sizeof(*pos));
	double t0 = now();
	if (merge) {
		for (;;) {
			size_t best = n;
			for (size_t i = 0; i < n; i++) {
				if (pos[i] == tpq_pr_num_rows(pr[i]))
					continue;
				if (best == n || key[i][pos[i]] < key[best][pos[best]])
					best = i;
			}
			if (best == n)
				break;
			if (tpq_rowcopy_row(rc, best, pos[best], &err))
				return fail("copy", &err);
			if (++pos[best] == tpq_pr_num_rows(pr[best]))
				tpq_rowcopy_release_input(rc, best);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			for (int64_t r = 0; r < tpq_pr_num_rows(pr[i]); r++)
				if (tpq_rowcopy_row(rc, i, r, &err))
					return fail("copy", &err);
			tpq_rowcopy_release_input(rc, i);
		}
	}
	if (tpq_pw_finish(w, bytes, &err))
		return fail("finish", &err);
	*secs = now() - t0;
	free(pos);
	tpq_rowcopy_free(rc);
	tpq_pw_free(w);
	sink->free(sink);
	return 0;
}

int main(int argc, char **argv)
{
	int repeat = 3;
	size_t n = 0;
	struct tpq_pr **pr = calloc((size_t)argc, sizeof(*pr));
	struct tpq_error err;
	tpq_error_clear(&err);
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-r") == 0 && a + 1 < argc) {
			repeat = atoi(argv[++a]);
			continue;
		}
		if (tpq_pr_open_path(&pr[n], argv[a], NULL, &err))
			return fail(argv[a], &err);
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "usage: bench_rowcopy FILE.parquet... [-r repeat]\n");
		return 2;
	}
	struct tpq_ct_table *t;
	if (tpq_ct_table_new(&t, &err))
		return fail("table", &err);
	const struct tpq_schema *schema = tpq_ct_table_schema(t);
	int col = tpq_rowcopy_find_column(schema, "eventtime");
	int64_t rows = 0;
	int64_t **key = calloc(n, sizeof(*key));
	double t0 = now();
	for (size_t i = 0; i < n; i++) {
		int64_t nr = tpq_pr_num_rows(pr[i]);
		bool *has = malloc((size_t)nr + 1);
		key[i] = malloc(((size_t)nr + 1) * sizeof(int64_t));
		if (tpq_rowcopy_read_i64(pr[i], (size_t)col, key[i], has, &err))
			return fail("keys", &err);
		for (int64_t r = 0; r < nr; r++)
			key[i][r] = has[r] ? key[i][r] : INT64_MIN;
		free(has);
		rows += nr;
	}
	double tk = now() - t0;
	printf("%zu files, %lld rows, %zu columns; eventtime keys read in %.1f ms\n", n,
	       (long long)rows, schema->n_leaves, tk * 1e3);
	for (int merge = 0; merge < 2; merge++) {
		double best = 1e30;
		uint64_t bytes = 0;
		for (int k = 0; k < repeat; k++) {
			double s;
			if (run(pr, n, schema, key, merge, &s, &bytes))
				return 1;
			best = s < best ? s : best;
		}
		printf("%-13s %8.0f rows/s  (%.3f s, output %llu bytes, best of %d)\n",
		       merge ? "merged:" : "concatenated:", rows / best, best,
		       (unsigned long long)bytes, repeat);
	}
	for (size_t i = 0; i < n; i++) {
		free(key[i]);
		tpq_pr_free(pr[i]);
	}
	free(key);
	free(pr);
	tpq_ct_table_free(t);
	return 0;
}
