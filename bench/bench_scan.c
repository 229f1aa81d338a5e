/* bench_scan: throughput of pass one (tpq_ct_split: validate + split + hash)
 * and pass two (tpq_ct_shred into a writer that only counts), per core.
 *
 * Input: the records of every CloudTrail file under DIR (default
 * ../shared/corpus/dev; .json.gz or .json), repeated into one file of about
 * SIZE_MB (default 200) megabytes, in two forms: as the files have them
 * (AWS documentation examples, mostly pretty-printed) and compact (whitespace
 * outside strings removed, as AWS delivers real logs). Each is measured with
 * the scalar and the SSE2 block scans. MB/s are 10^6 bytes of decompressed
 * JSON per second on one thread, best of several runs. Not a test.
 *
 *   cc -std=c17 -O2 -D_GNU_SOURCE -Iinclude -Isrc bench/bench_scan.c src/json/scan.c \
 *      src/cloudtrail/records.c src/cloudtrail/shred.c src/cloudtrail/schema_v1.c \
 *      src/parquet/schema.c src/util/buf.c src/util/error.c -lz -o build/bench_scan
 *   build/bench_scan [DIR [SIZE_MB]]
 *
 * The writer functions below stand in for src/parquet/writer.c, so only the
 * scanner and the shredder are measured. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "cloudtrail/records.h"
#include "cloudtrail/shred.h"
#include "json/scan.h"

int main(int argc, char **argv);

/* ---- a writer that counts ---- */
struct tpq_pw {
	uint64_t puts, bytes;
};

void tpq_pw_put_null(struct tpq_pw *w, int col, int def, int rep)
{
	w->puts += (uint64_t)(col + def + rep) | 1;
}

void tpq_pw_put_bytes(struct tpq_pw *w, int col, int rep, const void *p, size_t n)
{
	w->puts++;
	w->bytes += n + ((const uint8_t *)p)[0] * (n > 0);
}

void tpq_pw_put_i32(struct tpq_pw *w, int col, int rep, int32_t v)
{
	w->puts += (uint64_t)v | 1;
}

void tpq_pw_put_i64(struct tpq_pw *w, int col, int rep, int64_t v)
{
	w->puts += (uint64_t)v | 1;
}

void tpq_pw_put_bool(struct tpq_pw *w, int col, int rep, bool v)
{
	w->puts += v | 1;
}

void tpq_pw_put_null_cols(struct tpq_pw *w, int first_col, int n_cols, int def, int rep)
{
	w->puts += (uint64_t)(first_col + n_cols + def + rep) | 1;
}

void tpq_pw_put_null_node(struct tpq_pw *w, int node, int def, int rep)
{
	w->puts += (uint64_t)node | 1;
}

/* ---- input ---- */
struct recs {
	uint8_t *p;
	size_t len, cap; /* record bytes, separated by ',' */
	size_t n;
};
static struct recs g_src;

static void append(struct recs *r, const void *p, size_t n)
{
	if (r->len + n > r->cap) {
		r->cap = (r->len + n) * 2 + 4096;
		r->p = realloc(r->p, r->cap + TPQ_CT_PAD);
		if (!r->p)
			abort();
	}
	memcpy(r->p + r->len, p, n);
	r->len += n;
}

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	for (size_t r; (r = fread(b + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	size_t pl = strlen(path);
	if (pl > 3 && strcmp(path + pl - 3, ".gz") == 0) {
		size_t ocap = n * 10 + 4096, on = 0;
		uint8_t *o = malloc(ocap + TPQ_CT_PAD);
		z_stream z;
		memset(&z, 0, sizeof(z));
		inflateInit2(&z, 16 + MAX_WBITS);
		z.next_in = b;
		z.avail_in = (uInt)n;
		int rc;
		do {
			if (on == ocap)
				o = realloc(o, (ocap *= 2) + TPQ_CT_PAD);
			z.next_out = o + on;
			z.avail_out = (uInt)(ocap - on);
			rc = inflate(&z, Z_NO_FLUSH);
			on = ocap - z.avail_out;
		} while (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0));
		inflateEnd(&z);
		free(b);
		if (rc != Z_STREAM_END) {
			free(o);
			return NULL;
		}
		*len = on;
		return o;
	}
	b = realloc(b, n + TPQ_CT_PAD);
	*len = n;
	return b;
}

static int add_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	size_t pl = strlen(path), len;
	if (flag != FTW_F || !((pl > 8 && !strcmp(path + pl - 8, ".json.gz")) ||
			       (pl > 5 && !strcmp(path + pl - 5, ".json"))))
		return 0;
	uint8_t *b = load(path, &len);
	if (!b)
		return 0;
	struct tpq_ct_records r;
	tpq_ct_records_init(&r);
	if (tpq_ct_split(b, len, &r, NULL) == TPQ_OK) {
		for (size_t i = 0; i < r.n; i++) {
			if (g_src.n++)
				append(&g_src, ",", 1);
			append(&g_src, b + r.v[i].off, r.v[i].len);
		}
	}
	tpq_ct_records_release(&r);
	free(b);
	return 0;
}

/* Removes whitespace outside strings (the input is valid JSON). */
static size_t minify(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	bool str = false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (str) {
			out[o++] = c;
			if (c == '\\')
				out[o++] = in[++i];
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
			out[o++] = c;
		} else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
			out[o++] = c;
		}
	}
	return o;
}

/* {"Records":[ body repeated to about `target` bytes ]} */
static uint8_t *build(const uint8_t *body, size_t blen, size_t target, size_t *len)
{
	size_t reps = target / (blen + 1) + 1;
	size_t cap = 16 + reps * (blen + 1);
	uint8_t *b = malloc(cap + TPQ_CT_PAD);
	if (!b)
		abort();
	size_t n = 0;
	memcpy(b, "{\"Records\":[", 12);
	n = 12;
	for (size_t i = 0; i < reps; i++) {
		if (i)
			b[n++] = ',';
		memcpy(b + n, body, blen);
		n += blen;
	}
	memcpy(b + n, "]}", 2);
	n += 2;
	memset(b + n, 0, TPQ_CT_PAD);
	*len = n;
	return b;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run(const char *label, const uint8_t *buf, size_t len, struct tpq_ct_table *t)
{
	struct tpq_ct_records r;
	tpq_ct_records_init(&r);
	double best_split = 1e9, best_shred = 1e9;
	struct tpq_pw w = {0, 0};
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		struct tpq_error e;
		tpq_error_clear(&e);
		if (tpq_ct_split(buf, len, &r, &e) != TPQ_OK) {
			fprintf(stderr, "split failed: %s at %lld\n", e.msg, (long long)e.offset);
			exit(1);
		}
		double t1 = now();
		if (t1 - t0 < best_split)
			best_split = t1 - t0;
	}
	struct tpq_ct_shredder *sh = tpq_ct_shredder_new(t);
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		for (size_t i = 0; i < r.n; i++) {
			if (tpq_ct_shred(sh, &w, buf + r.v[i].off, r.v[i].len, NULL) != TPQ_OK) {
				fprintf(stderr, "shred failed on record %zu\n", i);
				exit(1);
			}
		}
		double t1 = now();
		if (t1 - t0 < best_shred)
			best_shred = t1 - t0;
	}
	double mb = (double)len / 1e6;
	printf("%-9s %-24s %8.1f MB %8zu records | split %7.0f MB/s | shred %7.0f MB/s | "
	       "split+shred %7.0f MB/s\n",
	       label, tpq_json_impl_name(tpq_json_get_impl()), mb, r.n, mb / best_split,
	       mb / best_shred, mb / (best_split + best_shred));
	if (w.puts == 42)
		printf("(unlikely)\n");
	tpq_ct_shredder_free(sh);
	tpq_ct_records_release(&r);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/corpus/dev";
	size_t target = (size_t)(argc > 2 ? atof(argv[2]) : 200) * 1000000;
	nftw(dir, add_file, 16, FTW_PHYS);
	if (!g_src.n) {
		fprintf(stderr, "no CloudTrail records under %s\n", dir);
		return 1;
	}
	struct tpq_ct_table *t;
	if (tpq_ct_table_new(&t, NULL) != TPQ_OK)
		return 1;
	uint8_t *mini = malloc(g_src.len + TPQ_CT_PAD);
	size_t mlen = minify(g_src.p, g_src.len, mini);
	printf("source: %zu records, %zu bytes as found, %zu compact (x%.0f to ~%zu MB)\n", g_src.n,
	       g_src.len, mlen, (double)target / (double)g_src.len, target / 1000000);
	const enum tpq_json_impl impls[] = {TPQ_JSON_IMPL_SCALAR, TPQ_JSON_IMPL_SSE2};
	for (int form = 0; form < 2; form++) {
		size_t len;
		uint8_t *buf = form ? build(mini, mlen, target, &len) : build(g_src.p, g_src.len, target, &len);
		for (size_t i = 0; i < 2; i++)
			if (tpq_json_set_impl(impls[i]) == impls[i])
				run(form ? "compact" : "as-found", buf, len, t);
		free(buf);
	}
	free(mini);
	free(g_src.p);
	tpq_ct_table_free(t);
	return 0;
}
