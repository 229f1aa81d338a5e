/* The Parquet reader.
 *
 * Design: the whole file is one borrowed byte range [p, p + len). Open
 * decodes the footer once and derives, per column chunk, the byte range of
 * its pages (struct tpq_pr_chunk); from then on every read is bounded by that
 * range, so a chunk can never make the reader look at another chunk's bytes,
 * the footer or past the end.
 *
 * Invariants that make hostile input safe:
 *  - Every offset or size from the file is checked as an unsigned 64-bit
 *    quantity against the range that must contain it, before any pointer is
 *    formed (in_range).
 *  - Before an array sized by a count from the file is allocated, the bytes
 *    that must encode those entries are shown to be able to: PLAIN values
 *    need their width in bytes, RLE data is walked run by run (rle_capacity)
 *    to count what it can produce. What legitimately decodes to much more than
 *    its size (long RLE runs) is bounded by opt.max_column_bytes.
 *  - A page may only add entries up to the chunk's num_values; the sum must
 *    come out exact, and so must the row count against the row group.
 *  - Internal functions record errors in a local struct tpq_error whose
 *    offset is always a file offset; the public function prefixes where it
 *    was (row group, column) and hands it to the caller's error once.
 *
 * RLE data goes through tpq_rle_decode, except that a final run longer than
 * the values still wanted is re-headed first (rle_decode_n): DuckDB pads its
 * last bit-packed run with whole groups, which the spec lets readers ignore.
 *
 * Speed: pages that are stored uncompressed are decoded in place; the
 * scratch buffers (decompressed page, decoded indices/levels) live for one
 * column read and only grow. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mmap, O_CLOEXEC, open_memstream with a bare -std=c17 */
#endif
#include "parquet/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "codec/codec.h"
#include "parquet/rle.h"
#include "util/error.h"

#define MiB ((size_t)1 << 20)
/* Deeper nesting than this is refused (levels are kept in int16_t). */
#define MAX_LEVEL 255
#define BLOOM_MIN_BYTES 32u
#define BLOOM_MAX_BYTES (128u * 1024 * 1024)

struct tpq_pr {
	const uint8_t *p;
	size_t len;
	void *map;               /* tpq_pr_open_path's mapping, else NULL */
	size_t map_len;
	struct tpq_pr_options opt;
	uint64_t footer_off;
	uint32_t footer_len;
	bool have_meta, have_schema;
	struct tpq_file_meta_data meta;
	struct tpq_schema schema;
	struct tpq_pr_chunk *chunks;   /* n_rg * n_cols, row-major */
	size_t n_rg, n_cols;
	struct tpq_codec_ctx *codec;   /* made on first need */
};

/* ---- allocation through the options' allocator ---- */

static void *mem_alloc(const struct tpq_allocator *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (a && a->malloc)
		return a->malloc(a->ctx, n);
	return malloc(n);
}

static void mem_free(const struct tpq_allocator *a, void *p, size_t n)
{
	if (!p)
		return;
	if (a && a->free)
		a->free(a->ctx, p, n ? n : 1);
	else
		free(p);
}

static void *mem_realloc(const struct tpq_allocator *a, void *p, size_t old, size_t n)
{
	if (!p)
		return mem_alloc(a, n);
	if (n == 0)
		n = 1;
	if (a && a->realloc)
		return a->realloc(a->ctx, p, old ? old : 1, n);
	if (a && a->malloc) {
		void *q = a->malloc(a->ctx, n);
		if (q) {
			memcpy(q, p, old < n ? old : n);
			mem_free(a, p, old);
		}
		return q;
	}
	return realloc(p, n);
}

/* ---- errors ---- */

__attribute__((format(printf, 4, 5)))
static enum tpq_status fail_at(struct tpq_error *e, enum tpq_status st, uint64_t off,
			       const char *fmt, ...)
{
	if (e->status != TPQ_OK)
		return st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->status = st;
	e->offset = off > INT64_MAX ? -1 : (int64_t)off;
	return st;
}

/* dst = "a: b", cut to fit (messages are one line; a cut one still helps). */
static void join_msg(char *dst, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > cap - 1)
		la = cap - 1;
	memmove(dst, a, la);
	size_t at = la;
	if (at + 2 < cap) {
		dst[at++] = ':';
		dst[at++] = ' ';
	}
	if (lb > cap - 1 - at)
		lb = cap - 1 - at;
	memmove(dst + at, b, lb);
	dst[at + lb] = '\0';
}

/* An error from another module (meta, codec) whose offsets are relative to
 * `base`: make them file offsets and say what was being read. */
static void rebase(struct tpq_error *e, uint64_t base, const char *what)
{
	if (e->status == TPQ_OK)
		return;
	e->offset = e->offset >= 0 ? e->offset + (int64_t)base : (int64_t)base;
	if (what) {
		char tmp[sizeof(e->msg)];
		memcpy(tmp, e->msg, sizeof(tmp));
		tmp[sizeof(tmp) - 1] = '\0';
		join_msg(e->msg, sizeof(e->msg), what, tmp);
	}
}

/* Hands the local error `e` to the caller's `err` (the first error wins),
 * with a context prefix. */
static enum tpq_status give_error(struct tpq_error *err, const struct tpq_error *e,
				  enum tpq_status st, const char *ctx, const char *where)
{
	if (st == TPQ_OK || !err || err->status != TPQ_OK)
		return st;
	err->status = st;
	err->sys_errno = e->sys_errno;
	err->offset = e->offset;
	err->record = e->record;
	const char *msg = e->status != TPQ_OK && e->msg[0] ? e->msg : tpq_status_str(st);
	if (ctx && ctx[0])
		join_msg(err->msg, sizeof(err->msg), ctx, msg);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", msg);
	if (where && where[0])
		tpq_error_where(err, where);
	return st;
}

/* off + n <= hi and off >= lo, without overflow. */
static bool in_range(uint64_t off, uint64_t n, uint64_t lo, uint64_t hi)
{
	return off >= lo && off <= hi && n <= hi - off;
}

/* ---- names ---- */

const char *tpq_pr_encoding_name(int encoding)
{
	static const char *const names[] = {
		"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
		"DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
		"RLE_DICTIONARY", "BYTE_STREAM_SPLIT", "ALP",
	};
	if (encoding < 0 || (size_t)encoding >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[encoding];
}

const char *tpq_pr_page_type_name(int page_type)
{
	static const char *const names[] = {"DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE",
					    "DATA_PAGE_V2"};
	if (page_type < 0 || page_type > 3)
		return "UNKNOWN";
	return names[page_type];
}

const char *tpq_pr_type_name(int type)
{
	static const char *const names[] = {"BOOLEAN", "INT32", "INT64", "INT96",
					    "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
	if (type < 0 || type > 7)
		return "UNKNOWN";
	return names[type];
}

const char *tpq_pr_codec_name(int codec)
{
	static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
					    "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
	if (codec < 0 || codec > 7)
		return "UNKNOWN";
	return names[codec];
}

/* ---- open ---- */

void tpq_pr_options_init(struct tpq_pr_options *o)
{
	memset(o, 0, sizeof(*o));
	o->max_page_bytes = 256 * MiB;
	o->max_column_bytes = 1024 * MiB;
	o->verify_crc = true;
}

/* The schema path of a leaf equals the chunk's path_in_schema. */
static bool path_matches(const struct tpq_schema *s, int node, const struct tpq_column_meta_data *md)
{
	size_t depth = 0;
	for (int i = node; i > 0; i = s->nodes[i].parent)
		depth++;
	if (depth != md->n_path)
		return false;
	size_t k = depth;
	for (int i = node; i > 0; i = s->nodes[i].parent) {
		const char *want = md->path_in_schema[--k];
		if (!want || strcmp(want, s->nodes[i].name) != 0)
			return false;
	}
	return true;
}

static enum tpq_status check_chunk(struct tpq_pr *pr, size_t rg, size_t c, struct tpq_error *e)
{
	const struct tpq_row_group *g = &pr->meta.row_groups[rg];
	const struct tpq_column_chunk *cc = &g->columns[c];
	struct tpq_pr_chunk *ch = &pr->chunks[rg * pr->n_cols + c];
	const uint64_t fo = pr->footer_off;
	if (!cc->has_meta_data)
		return fail_at(e, TPQ_EUNSUPPORTED, fo,
			       "row group %zu column %zu has no metadata (an external or encrypted column chunk)",
			       rg, c);
	const struct tpq_column_meta_data *md = &cc->meta_data;
	int node = pr->schema.leaves[c];
	const struct tpq_schema_node *leaf = &pr->schema.nodes[node];
	ch->cc = cc;
	ch->md = md;
	ch->node = node;
	ch->max_def = leaf->max_def;
	ch->max_rep = leaf->max_rep;
	ch->num_rows = g->num_rows;
	if (md->type != leaf->type)
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu '%s': chunk type %s differs from the schema's %s",
			       rg, c, leaf->name, tpq_pr_type_name((int)md->type),
			       tpq_pr_type_name((int)leaf->type));
	if (!path_matches(&pr->schema, node, md))
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu '%s': path_in_schema does not match the schema",
			       rg, c, leaf->name);
	if (md->num_values < 0 || md->total_compressed_size < 0)
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: negative num_values or total_compressed_size",
			       rg, c);
	if (leaf->max_rep == 0 ? md->num_values != g->num_rows : md->num_values < g->num_rows)
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: %lld values do not fit the row group's %lld rows",
			       rg, c, (long long)md->num_values, (long long)g->num_rows);
	int64_t data = md->data_page_offset;
	int64_t dict = md->has_dictionary_page_offset && md->dictionary_page_offset > 0
			       ? md->dictionary_page_offset : -1;
	if (data < 0 || (dict >= 0 && dict >= data))
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: bad page offsets (dictionary %lld, data %lld)",
			       rg, c, (long long)dict, (long long)data);
	ch->has_dictionary = dict >= 0;
	ch->start = (uint64_t)(dict >= 0 ? dict : data);
	ch->len = (uint64_t)md->total_compressed_size;
	if (!in_range(ch->start, ch->len, 4, fo))
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: pages at [%llu, +%llu) are outside the data area [4, %llu)",
			       rg, c, (unsigned long long)ch->start, (unsigned long long)ch->len,
			       (unsigned long long)fo);
	if (md->num_values > 0 && (uint64_t)data >= ch->start + ch->len)
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: data page offset %lld is past the chunk's end",
			       rg, c, (long long)data);
	if (md->has_bloom_filter_offset) {
		int64_t bo = md->bloom_filter_offset;
		int64_t bl = md->has_bloom_filter_length ? md->bloom_filter_length : 1;
		if (bo < 0 || bl <= 0 || !in_range((uint64_t)bo, (uint64_t)bl, 4, fo))
			return fail_at(e, TPQ_ECORRUPT, fo,
				       "row group %zu column %zu: Bloom filter at %lld (+%lld) is outside the data area",
				       rg, c, (long long)bo, (long long)bl);
	}
	if (cc->has_column_index &&
	    (cc->column_index_offset < 0 || cc->column_index_length <= 0 ||
	     !in_range((uint64_t)cc->column_index_offset, (uint64_t)cc->column_index_length, 4, fo)))
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: column index at %lld (+%d) is outside the data area",
			       rg, c, (long long)cc->column_index_offset, cc->column_index_length);
	if (cc->has_offset_index &&
	    (cc->offset_index_offset < 0 || cc->offset_index_length <= 0 ||
	     !in_range((uint64_t)cc->offset_index_offset, (uint64_t)cc->offset_index_length, 4, fo)))
		return fail_at(e, TPQ_ECORRUPT, fo,
			       "row group %zu column %zu: offset index at %lld (+%d) is outside the data area",
			       rg, c, (long long)cc->offset_index_offset, cc->offset_index_length);
	return TPQ_OK;
}

static enum tpq_status parse_footer(struct tpq_pr *pr, struct tpq_error *e)
{
	const uint8_t *p = pr->p;
	size_t len = pr->len;
	if (len < 12)
		return fail_at(e, TPQ_ECORRUPT, 0,
			       "file is %zu bytes, too small for Parquet (at least 12)", len);
	if (memcmp(p, "PARE", 4) == 0 || memcmp(p + len - 4, "PARE", 4) == 0)
		return fail_at(e, TPQ_EUNSUPPORTED, 0, "encrypted Parquet files are not supported");
	if (memcmp(p, "PAR1", 4) != 0)
		return fail_at(e, TPQ_ECORRUPT, 0, "not a Parquet file: no leading PAR1 magic");
	if (memcmp(p + len - 4, "PAR1", 4) != 0)
		return fail_at(e, TPQ_ECORRUPT, len - 4,
			       "no trailing PAR1 magic (truncated or not a Parquet file)");
	uint32_t flen = tpq_le32(p + len - 8);
	if (flen == 0 || flen > len - 12)
		return fail_at(e, TPQ_ECORRUPT, len - 8,
			       "footer length %u does not fit in the file of %zu bytes", flen, len);
	pr->footer_len = flen;
	pr->footer_off = len - 8 - flen;
	size_t used = 0;
	enum tpq_status st = tpq_meta_get_file_meta_data(p + pr->footer_off, flen, &used,
							 &pr->meta, e);
	if (st) {
		rebase(e, pr->footer_off, "footer");
		return st;
	}
	pr->have_meta = true;
	if (used > flen)
		return fail_at(e, TPQ_ECORRUPT, pr->footer_off, "footer decoder overran the footer");
	const struct tpq_file_meta_data *m = &pr->meta;
	st = tpq_schema_from_elements(&pr->schema, m->schema, m->n_schema, e);
	if (st) {
		rebase(e, pr->footer_off, "schema");
		return st;
	}
	pr->have_schema = true;
	const struct tpq_schema *s = &pr->schema;
	for (size_t i = 0; i < s->n_nodes; i++) {
		if (s->nodes[i].max_def < 0 || s->nodes[i].max_def > MAX_LEVEL)
			return fail_at(e, TPQ_EUNSUPPORTED, pr->footer_off,
				       "schema is nested deeper than %d levels", MAX_LEVEL);
	}
	if (s->n_leaves == 0)
		return fail_at(e, TPQ_ECORRUPT, pr->footer_off, "schema has no columns");
	if (m->num_rows < 0)
		return fail_at(e, TPQ_ECORRUPT, pr->footer_off, "negative num_rows %lld",
			       (long long)m->num_rows);
	pr->n_rg = m->n_row_groups;
	pr->n_cols = s->n_leaves;
	uint64_t rows = 0;
	for (size_t rg = 0; rg < pr->n_rg; rg++) {
		const struct tpq_row_group *g = &m->row_groups[rg];
		if (g->n_columns != pr->n_cols)
			return fail_at(e, TPQ_ECORRUPT, pr->footer_off,
				       "row group %zu has %zu column chunks but the schema has %zu columns",
				       rg, g->n_columns, pr->n_cols);
		if (g->num_rows < 0 || (uint64_t)g->num_rows > (uint64_t)INT64_MAX - rows)
			return fail_at(e, TPQ_ECORRUPT, pr->footer_off,
				       "row group %zu has a bad row count %lld", rg,
				       (long long)g->num_rows);
		rows += (uint64_t)g->num_rows;
	}
	if (rows != (uint64_t)m->num_rows)
		return fail_at(e, TPQ_ECORRUPT, pr->footer_off,
			       "row groups hold %llu rows but the file says %lld",
			       (unsigned long long)rows, (long long)m->num_rows);
	/* Every row group has n_cols decoded chunks, so this product is bounded
	 * by what the footer held. */
	size_t n = pr->n_rg * pr->n_cols;
	if (n) {
		pr->chunks = mem_alloc(pr->opt.alloc, n * sizeof(*pr->chunks));
		if (!pr->chunks)
			return fail_at(e, TPQ_ENOMEM, 0, "out of memory");
		memset(pr->chunks, 0, n * sizeof(*pr->chunks));
	}
	for (size_t rg = 0; rg < pr->n_rg; rg++) {
		for (size_t c = 0; c < pr->n_cols; c++) {
			st = check_chunk(pr, rg, c, e);
			if (st)
				return st;
		}
	}
	return TPQ_OK;
}

enum tpq_status tpq_pr_open(struct tpq_pr **out, const void *p, size_t len,
			    const struct tpq_pr_options *opt, struct tpq_error *err)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	if (!out)
		return tpq_error_set(err, TPQ_EINVAL, "tpq_pr_open: out is NULL");
	*out = NULL;
	if (!p && len)
		return tpq_error_set(err, TPQ_EINVAL, "tpq_pr_open: no bytes");
	struct tpq_pr_options o;
	if (opt)
		o = *opt;
	else
		tpq_pr_options_init(&o);
	struct tpq_pr *pr = mem_alloc(o.alloc, sizeof(*pr));
	if (!pr)
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	memset(pr, 0, sizeof(*pr));
	pr->opt = o;
	pr->p = p;
	pr->len = len;
	enum tpq_status st = parse_footer(pr, &e);
	if (st) {
		tpq_pr_free(pr);
		return give_error(err, &e, st, NULL, NULL);
	}
	*out = pr;
	return TPQ_OK;
}

enum tpq_status tpq_pr_open_path(struct tpq_pr **out, const char *path,
				 const struct tpq_pr_options *opt, struct tpq_error *err)
{
	if (!out || !path)
		return tpq_error_set(err, TPQ_EINVAL, "tpq_pr_open_path: NULL argument");
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto io_error;
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		goto close_fd;
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		tpq_error_set(err, TPQ_EIO, "not a regular file");
		tpq_error_where(err, path);
		return TPQ_EIO;
	}
	size_t len = (size_t)sb.st_size;
	void *map = NULL;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			goto close_fd;
	}
	close(fd);
	enum tpq_status st = tpq_pr_open(out, map, len, opt, err);
	if (st) {
		if (map)
			munmap(map, len);
		tpq_error_where(err, path);
		return st;
	}
	(*out)->map = map;
	(*out)->map_len = len;
	return TPQ_OK;
close_fd: {
	int saved = errno;
	close(fd);
	errno = saved;
}
io_error:
	if (err && err->status == TPQ_OK) {
		int saved = errno;
		tpq_error_set(err, TPQ_EIO, "%s", strerror(saved));
		err->sys_errno = saved;
		tpq_error_where(err, path);
	}
	return TPQ_EIO;
}

void tpq_pr_free(struct tpq_pr *pr)
{
	if (!pr)
		return;
	const struct tpq_allocator *a = pr->opt.alloc;
	if (pr->have_meta)
		tpq_file_meta_data_release(&pr->meta);
	if (pr->have_schema)
		tpq_schema_release(&pr->schema);
	mem_free(a, pr->chunks, pr->n_rg * pr->n_cols * sizeof(*pr->chunks));
	if (pr->codec)
		tpq_codec_ctx_free(pr->codec);
	if (pr->map)
		munmap(pr->map, pr->map_len);
	mem_free(a, pr, sizeof(*pr));
}

const uint8_t *tpq_pr_data(const struct tpq_pr *pr) { return pr->p; }
uint64_t tpq_pr_file_size(const struct tpq_pr *pr) { return pr->len; }
uint64_t tpq_pr_footer_offset(const struct tpq_pr *pr) { return pr->footer_off; }
uint32_t tpq_pr_footer_len(const struct tpq_pr *pr) { return pr->footer_len; }
const struct tpq_file_meta_data *tpq_pr_meta(const struct tpq_pr *pr) { return &pr->meta; }
const struct tpq_schema *tpq_pr_schema(const struct tpq_pr *pr) { return &pr->schema; }
size_t tpq_pr_num_row_groups(const struct tpq_pr *pr) { return pr->n_rg; }
size_t tpq_pr_num_columns(const struct tpq_pr *pr) { return pr->n_cols; }
int64_t tpq_pr_num_rows(const struct tpq_pr *pr) { return pr->meta.num_rows; }

const char *tpq_pr_kv(const struct tpq_pr *pr, const char *key)
{
	for (size_t i = 0; i < pr->meta.n_kv; i++) {
		const struct tpq_key_value *kv = &pr->meta.kv[i];
		if (kv->key && strcmp(kv->key, key) == 0)
			return kv->value;
	}
	return NULL;
}

const struct tpq_pr_chunk *tpq_pr_chunk(const struct tpq_pr *pr, size_t rg, size_t col)
{
	if (rg >= pr->n_rg || col >= pr->n_cols)
		return NULL;
	return &pr->chunks[rg * pr->n_cols + col];
}

/* "row group R column C 'a.b'" for messages, and the path alone for `where`. */
static void chunk_context(const struct tpq_pr *pr, size_t rg, size_t col, char *ctx, size_t cap,
			  char *path, size_t pcap)
{
	path[0] = '\0';
	if (rg < pr->n_rg && col < pr->n_cols)
		tpq_schema_path(&pr->schema, pr->schema.leaves[col], path, pcap);
	snprintf(ctx, cap, "row group %zu column %zu '%s'", rg, col, path);
}

/* ---- RLE helpers ---- */

/* Reads a ULEB128 of at most 10 bytes; 0 on success. */
static int get_uleb(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	for (int shift = 0; shift < 70 && p < end; shift += 7) {
		uint8_t b = *p++;
		if (shift == 63 && b > 1)
			return -1;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* An upper bound of how many values the hybrid data p[0..len) can produce,
 * counting only runs whose bytes are present; stops once `want` is reached.
 * Used to refuse a count before allocating for it. */
static uint64_t rle_capacity(const uint8_t *p, size_t len, int bw, uint64_t want)
{
	const uint8_t *end = p + len;
	uint64_t total = 0;
	size_t vbytes = (size_t)(bw + 7) / 8;
	while (p < end && total < want) {
		uint64_t h;
		if (get_uleb(&p, end, &h))
			break;
		uint64_t n = h >> 1;
		if (h & 1) {
			if (n > ((uint64_t)1 << 32))
				n = (uint64_t)1 << 32;
			uint64_t bytes = n * (uint64_t)bw;
			uint64_t avail = (uint64_t)(end - p);
			if (bw > 0 && bytes > avail) {
				total += avail * 8 / (uint64_t)bw;
				break;
			}
			total += n * 8;
			p += bytes;
		} else {
			if ((uint64_t)(end - p) < vbytes)
				break;
			total += n;
			p += vbytes;
		}
	}
	return total;
}

/* Decodes exactly n values of hybrid data p[0..len) through tpq_rle_decode.
 * Writers may end the data with a run longer than needed (DuckDB pads its
 * last bit-packed run with whole groups of zero bits, more than the final
 * group's 7 values tpq_rle_decode accepts). Readers must stop after n values,
 * so the run that crosses n is re-headed in `tmp` to the groups (or count)
 * actually needed, and the runs before it are decoded as they are. */
static enum tpq_status rle_decode_n(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n,
				    uint8_t *tmp, size_t tmp_cap)
{
	const uint8_t *q = p, *end = p + len;
	size_t got = 0;
	size_t vb = (size_t)(bw + 7) / 8;
	while (got < n) {
		const uint8_t *run = q;
		uint64_t h;
		if (get_uleb(&q, end, &h) || (h >> 1) == 0)
			return TPQ_ECORRUPT;
		uint64_t vals = (h & 1) ? (h >> 1) * 8 : h >> 1;
		uint64_t bytes = (h & 1) ? (h >> 1) * (uint64_t)bw : vb;
		if ((h >> 1) > ((uint64_t)1 << 40) || bytes > (uint64_t)(end - q))
			return TPQ_ECORRUPT;
		uint64_t want = n - got;
		if (vals <= want || ((h & 1) && vals - want < 8)) {
			q += bytes;
			got += vals < want ? (size_t)vals : (size_t)want;
			continue;
		}
		/* `run` holds more than the rest: decode what precedes it, then
		 * the needed part of it under a new header. */
		size_t used;
		if (got && tpq_rle_decode(p, (size_t)(run - p), bw, out, got, &used))
			return TPQ_ECORRUPT;
		size_t k = 0;
		uint64_t nh, body;
		if (h & 1) {
			uint64_t groups = (want + 7) / 8;
			nh = groups << 1 | 1;
			body = groups * (uint64_t)bw;
		} else {
			nh = want << 1;
			body = vb;
		}
		if (body + 10 > tmp_cap)
			return TPQ_ECORRUPT;
		do {
			tmp[k++] = (uint8_t)((nh & 0x7f) | (nh >= 0x80 ? 0x80 : 0));
			nh >>= 7;
		} while (nh);
		memcpy(tmp + k, q, (size_t)body);
		return tpq_rle_decode(tmp, k + (size_t)body, bw, out + got, (size_t)want, &used);
	}
	size_t used;
	return tpq_rle_decode(p, (size_t)(q - p), bw, out, n, &used);
}

/* ---- reading a column chunk ---- */

struct dict {
	size_t n;
	int64_t *ints;        /* fixed-width types */
	size_t *pos;          /* byte arrays: value i is base[pos[i] .. pos[i] + len[i]) */
	uint32_t *len;
	const uint8_t *base;
};

struct col_reader {
	struct tpq_pr *pr;
	const struct tpq_pr_chunk *ch;
	struct tpq_pr_column *out;
	struct tpq_error *e;
	const struct tpq_allocator *a;
	unsigned flags;
	uint64_t mem;                 /* bytes held by out's arrays */
	uint8_t *page; size_t page_cap;         /* decompressed data page */
	uint8_t *dpage; size_t dpage_cap;       /* decompressed dictionary page (kept) */
	uint32_t *u32; size_t u32_cap;          /* decoded levels / indices */
	uint8_t *tmp; size_t tmp_cap;           /* a re-headed final RLE run */
	int64_t *lens; size_t lens_cap;         /* DELTA_*: decoded lengths (bytes) */
	struct dict dict;
	bool have_dict;
};

/* Grows an output array of `elem`-byte entries to hold `need`, charging the
 * growth to the column's memory ceiling. NULL with the error set on failure
 * (the old array stays valid). */
static void *grow_out(struct col_reader *r, void *p, size_t *cap, size_t need, size_t elem,
		      uint64_t off)
{
	if (need <= *cap)
		return p;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	uint64_t limit = r->pr->opt.max_column_bytes;
	uint64_t old_bytes = (uint64_t)*cap * elem;
	if (ncap > limit / elem || r->mem - old_bytes + (uint64_t)ncap * elem > limit) {
		/* Retry at the exact need before giving up. */
		ncap = need;
		if (ncap > limit / elem || r->mem - old_bytes + (uint64_t)ncap * elem > limit) {
			fail_at(r->e, TPQ_ELIMIT, off,
				"decoded column would exceed the %llu-byte limit (max_column_bytes)",
				(unsigned long long)limit);
			return NULL;
		}
	}
	void *q = mem_realloc(r->a, p, old_bytes, ncap * elem);
	if (!q) {
		fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
		return NULL;
	}
	r->mem = r->mem - old_bytes + (uint64_t)ncap * elem;
	*cap = ncap;
	return q;
}

/* def and rep live in one block of 2 * cap_levels entries: def first. */
static enum tpq_status reserve_levels(struct col_reader *r, size_t need, uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	if (need <= c->cap_levels)
		return TPQ_OK;
	if (need > SIZE_MAX / 4)
		return fail_at(r->e, TPQ_ELIMIT, off, "too many values");
	size_t cap = c->cap_levels;
	size_t want = cap * 2 > need ? cap * 2 : need;
	size_t ncap = 0;
	int16_t *blk = grow_out(r, NULL, &ncap, want * 2, sizeof(int16_t), off);
	if (!blk) {
		tpq_error_clear(r->e);
		ncap = 0;
		blk = grow_out(r, NULL, &ncap, need * 2, sizeof(int16_t), off);
		if (!blk)
			return r->e->status;
	}
	size_t lcap = ncap / 2;
	if (c->def) {
		memcpy(blk, c->def, c->n_levels * sizeof(int16_t));
		memcpy(blk + lcap, c->rep, c->n_levels * sizeof(int16_t));
		mem_free(r->a, c->def, cap * 2 * sizeof(int16_t));
		r->mem -= (uint64_t)cap * 2 * sizeof(int16_t);
	}
	c->def = blk;
	c->rep = blk + lcap;
	c->cap_levels = lcap;
	return TPQ_OK;
}

static enum tpq_status reserve_values(struct col_reader *r, size_t n_more, uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	if (n_more > SIZE_MAX / 16 - c->n_values)
		return fail_at(r->e, TPQ_ELIMIT, off, "too many values");
	size_t need = c->n_values + n_more + 1;
	if (c->type == TPQ_T_BYTE_ARRAY || c->type == TPQ_T_INT96) {
		size_t cap = c->cap_values;
		size_t *q = grow_out(r, c->offsets, &cap, need, sizeof(size_t), off);
		if (!q)
			return r->e->status;
		if (!c->offsets)
			q[0] = 0;
		c->offsets = q;
		c->cap_values = cap;
	} else {
		size_t cap = c->cap_values;
		int64_t *q = grow_out(r, c->ints, &cap, need, sizeof(int64_t), off);
		if (!q)
			return r->e->status;
		c->ints = q;
		c->cap_values = cap;
	}
	return TPQ_OK;
}

static enum tpq_status reserve_bytes(struct col_reader *r, uint64_t n_more, uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	size_t have = c->offsets ? c->offsets[c->n_values] : 0;
	if (n_more > SIZE_MAX - 1 - have)
		return fail_at(r->e, TPQ_ELIMIT, off, "too many bytes");
	size_t cap = c->cap_bytes;
	uint8_t *q = grow_out(r, c->bytes, &cap, have + (size_t)n_more, 1, off);
	if (!q)
		return r->e->status;
	c->bytes = q;
	c->cap_bytes = cap;
	return TPQ_OK;
}

/* Scratch buffers (not charged to the output). */
static void *scratch(struct col_reader *r, void *p, size_t *cap, size_t need, uint64_t off)
{
	if (need <= *cap)
		return p;
	size_t ncap = need < 64 ? 64 : need;
	void *q = mem_realloc(r->a, p, *cap, ncap);
	if (!q) {
		fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
		return NULL;
	}
	*cap = ncap;
	return q;
}

static uint32_t *scratch_u32(struct col_reader *r, size_t n, uint64_t off)
{
	if (n > SIZE_MAX / 4 - 1)
		return NULL;
	size_t cap = r->u32_cap * 4;
	uint32_t *q = scratch(r, r->u32, &cap, (n ? n : 1) * 4, off);
	if (!q)
		return NULL;
	r->u32 = q;
	r->u32_cap = cap / 4;
	return q;
}

static enum tpq_status rle_n(struct col_reader *r, const uint8_t *p, size_t len, int bw,
			     uint32_t *out, size_t n)
{
	uint8_t *t = scratch(r, r->tmp, &r->tmp_cap, len + 16, 0);
	if (!t)
		return TPQ_ENOMEM;
	r->tmp = t;
	return rle_decode_n(p, len, bw, out, n, t, r->tmp_cap);
}

static bool codec_known(int32_t codec)
{
	return codec == TPQ_CODEC_UNCOMPRESSED || codec == TPQ_CODEC_SNAPPY ||
	       codec == TPQ_CODEC_GZIP || codec == TPQ_CODEC_ZSTD || codec == TPQ_CODEC_LZ4_RAW;
}

/* Makes src[0..n) available uncompressed as exactly dst_len bytes in *outp:
 * in place when stored uncompressed, else in `*buf` (a scratch buffer). */
static enum tpq_status page_bytes(struct col_reader *r, bool compressed, const uint8_t *src, size_t n,
			       size_t dst_len, uint8_t **buf, size_t *cap, const uint8_t **outp,
			       uint64_t off)
{
	int32_t codec = r->ch->md->codec;
	if (!compressed || codec == TPQ_CODEC_UNCOMPRESSED) {
		if (n != dst_len)
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "uncompressed page data has %zu bytes but the header says %zu",
				       n, dst_len);
		*outp = src;
		return TPQ_OK;
	}
	if (dst_len == 0) {
		*outp = src;
		return TPQ_OK;
	}
	if (!codec_known(codec) || !tpq_codec_supported((enum tpq_codec)codec))
		return fail_at(r->e, TPQ_EUNSUPPORTED, off, "codec %s (%d) is not supported",
			       tpq_pr_codec_name(codec), (int)codec);
	if (!r->pr->codec) {
		r->pr->codec = tpq_codec_ctx_new();
		if (!r->pr->codec)
			return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
	}
	uint8_t *q = scratch(r, *buf, cap, dst_len, off);
	if (!q)
		return r->e->status;
	*buf = q;
	enum tpq_status st = tpq_codec_decompress(r->pr->codec, (enum tpq_codec)codec, src, n, q,
						  dst_len, r->e);
	if (st) {
		/* The codec's offsets, if any, are within the page data. */
		rebase(r->e, off, tpq_pr_codec_name(codec));
		return st;
	}
	*outp = q;
	return TPQ_OK;
}

/* Decodes n levels (each <= max) of hybrid data p[0..len) into dst. */
static enum tpq_status decode_levels(struct col_reader *r, const uint8_t *p, size_t len, int max,
				     int16_t *dst, size_t n, const char *what, uint64_t off)
{
	int bw = tpq_bit_width((uint32_t)max);
	if (rle_capacity(p, len, bw, n) < n)
		return fail_at(r->e, TPQ_ECORRUPT, off, "%s levels hold fewer than the page's %zu values",
			       what, n);
	uint32_t *u = scratch_u32(r, n, off);
	if (!u)
		return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
	enum tpq_status st = rle_n(r, p, len, bw, u, n);
	if (st)
		return fail_at(r->e, st, off, "malformed %s levels", what);
	for (size_t i = 0; i < n; i++) {
		if (u[i] > (uint32_t)max)
			return fail_at(r->e, TPQ_ECORRUPT, off, "%s level %u exceeds the maximum %d",
				       what, u[i], max);
		dst[i] = (int16_t)u[i];
	}
	return TPQ_OK;
}

/* A data page v1 level section: 4-byte length, then hybrid data. */
static enum tpq_status v1_levels(struct col_reader *r, const uint8_t **pp, const uint8_t *end,
				 enum tpq_encoding enc, const uint8_t **lp, size_t *ll,
				 const char *what, uint64_t off)
{
	if (enc == TPQ_ENC_BIT_PACKED)
		return fail_at(r->e, TPQ_EUNSUPPORTED, off,
			       "%s levels use the deprecated BIT_PACKED encoding", what);
	if (enc != TPQ_ENC_RLE)
		return fail_at(r->e, TPQ_ECORRUPT, off, "%s levels have encoding %s, not RLE", what,
			       tpq_pr_encoding_name((int)enc));
	if (end - *pp < 4)
		return fail_at(r->e, TPQ_ECORRUPT, off, "page ends inside the %s level length", what);
	uint32_t n = tpq_le32(*pp);
	if (n > (size_t)(end - *pp) - 4)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "%s levels of %u bytes run past the page's end", what, n);
	*lp = *pp + 4;
	*ll = n;
	*pp += 4 + (size_t)n;
	return TPQ_OK;
}

static int64_t plain_fixed(enum tpq_type t, const uint8_t *p, size_t i)
{
	switch (t) {
	case TPQ_T_BOOLEAN: return (p[i / 8] >> (i % 8)) & 1;
	case TPQ_T_INT32: return (int32_t)tpq_le32(p + 4 * i);
	case TPQ_T_FLOAT: return (int64_t)tpq_le32(p + 4 * i);
	default: return (int64_t)tpq_le64(p + 8 * i);
	}
}

/* Bytes of n PLAIN values of a fixed-width type, or 0 if not fixed. */
static uint64_t plain_bytes(enum tpq_type t, uint64_t n)
{
	switch (t) {
	case TPQ_T_BOOLEAN: return (n + 7) / 8;
	case TPQ_T_INT32: case TPQ_T_FLOAT: return 4 * n;
	case TPQ_T_INT64: case TPQ_T_DOUBLE: return 8 * n;
	case TPQ_T_INT96: return 12 * n;
	default: return 0;
	}
}

static enum tpq_status decode_dictionary(struct col_reader *r, const uint8_t *p, size_t len,
					 size_t n, uint64_t off)
{
	struct dict *d = &r->dict;
	enum tpq_type t = r->out->type;
	const struct tpq_allocator *a = r->a;
	if (t == TPQ_T_FIXED_LEN_BYTE_ARRAY)
		return fail_at(r->e, TPQ_EUNSUPPORTED, off, "FIXED_LEN_BYTE_ARRAY is not supported");
	if (t == TPQ_T_BYTE_ARRAY || t == TPQ_T_INT96) {
		if (n > len / (t == TPQ_T_INT96 ? 12 : 4))
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "dictionary page of %zu bytes cannot hold %zu entries", len, n);
		d->n = n; /* the arrays' size, for dict_release */
		d->pos = mem_alloc(a, n * sizeof(size_t));
		d->len = mem_alloc(a, n * sizeof(uint32_t));
		if (!d->pos || !d->len)
			return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
		d->base = p;
		size_t at = 0;
		for (size_t i = 0; i < n; i++) {
			uint32_t l = 12;
			if (t == TPQ_T_BYTE_ARRAY) {
				if (len - at < 4)
					return fail_at(r->e, TPQ_ECORRUPT, off,
						       "dictionary entry %zu: page ends in its length", i);
				l = tpq_le32(p + at);
				at += 4;
			}
			if (l > len - at)
				return fail_at(r->e, TPQ_ECORRUPT, off,
					       "dictionary entry %zu of %u bytes runs past the page", i, l);
			d->pos[i] = at;
			d->len[i] = l;
			at += l;
		}
	} else {
		if (plain_bytes(t, n) > len)
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "dictionary page of %zu bytes cannot hold %zu entries", len, n);
		d->n = n;
		d->ints = mem_alloc(a, n * sizeof(int64_t));
		if (!d->ints)
			return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
		for (size_t i = 0; i < n; i++)
			d->ints[i] = plain_fixed(t, p, i);
	}
	d->n = n;
	return TPQ_OK;
}

static void dict_release(const struct tpq_allocator *a, struct dict *d, size_t cap)
{
	mem_free(a, d->ints, cap * sizeof(int64_t));
	mem_free(a, d->pos, cap * sizeof(size_t));
	mem_free(a, d->len, cap * sizeof(uint32_t));
	memset(d, 0, sizeof(*d));
}

/* Appends one byte array to the output (space reserved by the caller). */
static void put_bytes(struct tpq_pr_column *c, const uint8_t *p, size_t n)
{
	size_t at = c->offsets[c->n_values];
	if (n)
		memcpy(c->bytes + at, p, n);
	c->offsets[++c->n_values] = at + n;
}

static enum tpq_status values_plain(struct col_reader *r, const uint8_t *p, size_t len, size_t n,
				    uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	enum tpq_type t = c->type;
	if (t == TPQ_T_FIXED_LEN_BYTE_ARRAY)
		return fail_at(r->e, TPQ_EUNSUPPORTED, off, "FIXED_LEN_BYTE_ARRAY is not supported");
	if (t == TPQ_T_BYTE_ARRAY) {
		if (n > len / 4)
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "page of %zu bytes cannot hold %zu PLAIN byte arrays", len, n);
		enum tpq_status st = reserve_values(r, n, off);
		if (!st)
			st = reserve_bytes(r, len - 4 * n, off);
		if (st)
			return st;
		size_t at = 0;
		for (size_t i = 0; i < n; i++) {
			if (len - at < 4)
				return fail_at(r->e, TPQ_ECORRUPT, off,
					       "page ends in the length of value %zu", i);
			uint32_t l = tpq_le32(p + at);
			at += 4;
			/* The values after this one need at least their lengths, so
			 * the bytes copied stay within the len - 4n reserved. */
			if (l > len - at || len - at - l < 4 * (n - 1 - i))
				return fail_at(r->e, TPQ_ECORRUPT, off,
					       "value %zu of %u bytes runs past the page", i, l);
			put_bytes(c, p + at, l);
			at += l;
		}
		return TPQ_OK;
	}
	if (plain_bytes(t, n) > len)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "page of %zu bytes cannot hold %zu PLAIN %s values", len, n,
			       tpq_pr_type_name((int)t));
	enum tpq_status st = reserve_values(r, n, off);
	if (st)
		return st;
	if (t == TPQ_T_INT96) {
		if ((st = reserve_bytes(r, 12 * (uint64_t)n, off)))
			return st;
		for (size_t i = 0; i < n; i++)
			put_bytes(c, p + 12 * i, 12);
		return TPQ_OK;
	}
	for (size_t i = 0; i < n; i++)
		c->ints[c->n_values++] = plain_fixed(t, p, i);
	return TPQ_OK;
}

static enum tpq_status values_dict(struct col_reader *r, const uint8_t *p, size_t len, size_t n,
				   uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	const struct dict *d = &r->dict;
	if (!r->have_dict)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "dictionary-encoded page but the chunk has no dictionary page");
	if (len < 1)
		return fail_at(r->e, TPQ_ECORRUPT, off, "dictionary-encoded page has no bit width");
	int bw = p[0];
	if (bw > 32)
		return fail_at(r->e, TPQ_ECORRUPT, off, "dictionary index bit width %d exceeds 32", bw);
	if (rle_capacity(p + 1, len - 1, bw, n) < n)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "dictionary indices hold fewer than the page's %zu values", n);
	uint32_t *u = scratch_u32(r, n, off);
	if (!u)
		return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
	enum tpq_status st = rle_n(r, p + 1, len - 1, bw, u, n);
	if (st)
		return fail_at(r->e, st, off, "malformed dictionary indices");
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (u[i] >= d->n)
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "dictionary index %u is out of range (dictionary has %zu entries)",
				       u[i], d->n);
		if (d->len)
			total += d->len[u[i]];
	}
	st = reserve_values(r, n, off);
	if (st)
		return st;
	if (d->len) {
		if ((st = reserve_bytes(r, total, off)))
			return st;
		for (size_t i = 0; i < n; i++)
			put_bytes(c, d->base + d->pos[u[i]], d->len[u[i]]);
	} else {
		for (size_t i = 0; i < n; i++)
			c->ints[c->n_values++] = d->ints[u[i]];
	}
	return TPQ_OK;
}

/* BOOLEAN values in the RLE encoding: 4-byte length, hybrid data of width 1. */
static enum tpq_status values_rle_bool(struct col_reader *r, const uint8_t *p, size_t len,
				       size_t n, uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	if (c->type != TPQ_T_BOOLEAN)
		return fail_at(r->e, TPQ_ECORRUPT, off, "RLE values in a %s column",
			       tpq_pr_type_name((int)c->type));
	if (len < 4 || tpq_le32(p) > len - 4)
		return fail_at(r->e, TPQ_ECORRUPT, off, "bad length of RLE boolean data");
	size_t l = tpq_le32(p);
	if (rle_capacity(p + 4, l, 1, n) < n)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "RLE booleans hold fewer than the page's %zu values", n);
	uint32_t *u = scratch_u32(r, n, off);
	if (!u)
		return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
	enum tpq_status st = rle_n(r, p + 4, l, 1, u, n);
	if (st)
		return fail_at(r->e, st, off, "malformed RLE booleans");
	st = reserve_values(r, n, off);
	if (st)
		return st;
	for (size_t i = 0; i < n; i++)
		c->ints[c->n_values++] = u[i] & 1;
	return TPQ_OK;
}

/* ---- DELTA encodings ----
 *
 * DELTA_BINARY_PACKED: <block size> <miniblocks per block> <total count>
 * <first value (zigzag)>, then blocks of <min delta (zigzag)> <one bit-width
 * byte per miniblock> <miniblocks, each (block size / miniblocks) values
 * bit-packed LSB first>. value[i] = value[i - 1] + min delta + packed delta,
 * all in wrapping unsigned arithmetic (INT32 keeps the low 32 bits).
 * Miniblocks past the last value have a width byte but no body. */

#define DBP_MAX_BLOCK (1u << 16)

static uint64_t unzigzag(uint64_t v) { return (v >> 1) ^ (0 - (v & 1)); }

/* Bits [bit, bit + w) of p, LSB first; w <= 64. */
static uint64_t get_bits(const uint8_t *p, uint64_t bit, int w)
{
	uint64_t v = 0;
	int got = 0;
	while (got < w) {
		uint64_t byte = bit >> 3;
		int sh = (int)(bit & 7);
		int take = 8 - sh < w - got ? 8 - sh : w - got;
		v |= (uint64_t)((p[byte] >> sh) & ((1u << take) - 1)) << got;
		got += take;
		bit += (uint64_t)take;
	}
	return v;
}

/* Decodes the first n values of a DELTA_BINARY_PACKED stream into out;
 * *used gets the bytes it spans. 0, or -1 if malformed. */
static int dbp_decode(const uint8_t *p, size_t len, int64_t *out, size_t n, bool is32,
		      size_t *used)
{
	const uint8_t *q = p, *end = p + len;
	uint64_t block, mbs, total, first;
	if (get_uleb(&q, end, &block) || get_uleb(&q, end, &mbs) || get_uleb(&q, end, &total) ||
	    get_uleb(&q, end, &first))
		return -1;
	if (block == 0 || block % 128 != 0 || block > DBP_MAX_BLOCK || mbs == 0 ||
	    block % mbs != 0 || (block / mbs) % 32 != 0 || total < n)
		return -1;
	uint64_t per = block / mbs;
	uint64_t prev = unzigzag(first);
	size_t got = 0;
	if (n > 0)
		out[got++] = is32 ? (int32_t)(uint32_t)prev : (int64_t)prev;
	while (got < n) {
		uint64_t zmin;
		if (get_uleb(&q, end, &zmin) || (uint64_t)(end - q) < mbs)
			return -1;
		uint64_t min = unzigzag(zmin);
		const uint8_t *widths = q;
		q += mbs;
		for (uint64_t m = 0; m < mbs && got < n; m++) {
			int w = widths[m];
			if (w > 64)
				return -1;
			uint64_t want = n - got < per ? n - got : per;
			uint64_t full = per * (uint64_t)w / 8;
			if ((want * (uint64_t)w + 7) / 8 > (uint64_t)(end - q))
				return -1;
			for (uint64_t k = 0; k < want; k++) {
				uint64_t d = w ? get_bits(q, k * (uint64_t)w, w) : 0;
				prev += min + d;
				out[got++] = is32 ? (int32_t)(uint32_t)prev : (int64_t)prev;
			}
			/* A writer may stop the data right after the last value. */
			q += full < (uint64_t)(end - q) ? full : (uint64_t)(end - q);
		}
	}
	*used = (size_t)(q - p);
	return 0;
}

static int64_t *scratch_lens(struct col_reader *r, size_t n, uint64_t off)
{
	if (n > SIZE_MAX / 8 - 1)
		return NULL;
	size_t cap = r->lens_cap;
	int64_t *q = scratch(r, r->lens, &cap, (n ? n : 1) * 8, off);
	if (!q)
		return NULL;
	r->lens = q;
	r->lens_cap = cap;
	return q;
}

/* n lengths (DBP) in lens; each must be 0..INT32_MAX. */
static enum tpq_status delta_lengths(struct col_reader *r, const uint8_t *p, size_t len, size_t n,
				     int64_t *lens, size_t *used, const char *what, uint64_t off)
{
	if (dbp_decode(p, len, lens, n, false, used))
		return fail_at(r->e, TPQ_ECORRUPT, off, "malformed %s", what);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] < 0 || lens[i] > INT32_MAX)
			return fail_at(r->e, TPQ_ECORRUPT, off, "%s: bad length %lld", what,
				       (long long)lens[i]);
	}
	return TPQ_OK;
}

static enum tpq_status values_delta(struct col_reader *r, enum tpq_encoding enc, const uint8_t *p,
				    size_t len, size_t n, uint64_t off)
{
	struct tpq_pr_column *c = r->out;
	enum tpq_status st;
	size_t used = 0;
	if (enc == TPQ_ENC_DELTA_BINARY_PACKED) {
		if (c->type != TPQ_T_INT32 && c->type != TPQ_T_INT64)
			return fail_at(r->e, TPQ_ECORRUPT, off, "DELTA_BINARY_PACKED in a %s column",
				       tpq_pr_type_name((int)c->type));
		if ((st = reserve_values(r, n, off)))
			return st;
		if (dbp_decode(p, len, c->ints + c->n_values, n, c->type == TPQ_T_INT32, &used))
			return fail_at(r->e, TPQ_ECORRUPT, off, "malformed DELTA_BINARY_PACKED values");
		c->n_values += n;
		return TPQ_OK;
	}
	if (c->type != TPQ_T_BYTE_ARRAY)
		return fail_at(r->e, TPQ_ECORRUPT, off, "%s in a %s column",
			       tpq_pr_encoding_name((int)enc), tpq_pr_type_name((int)c->type));
	/* DELTA_BYTE_ARRAY: prefix lengths (DBP), then the suffixes as
	 * DELTA_LENGTH_BYTE_ARRAY. DELTA_LENGTH_BYTE_ARRAY: lengths (DBP), then
	 * the bytes of all values back to back. */
	bool prefixed = enc == TPQ_ENC_DELTA_BYTE_ARRAY;
	if (n > SIZE_MAX / 16)
		return fail_at(r->e, TPQ_ELIMIT, off, "too many values");
	int64_t *lens = scratch_lens(r, prefixed ? 2 * n : n, off);
	if (!lens)
		return fail_at(r->e, TPQ_ENOMEM, off, "out of memory");
	int64_t *pre = prefixed ? lens + n : NULL;
	size_t at = 0;
	if (prefixed) {
		if ((st = delta_lengths(r, p, len, n, pre, &used, "DELTA_BYTE_ARRAY prefix lengths",
					off)))
			return st;
		at = used;
	}
	if ((st = delta_lengths(r, p + at, len - at, n, lens, &used, "byte array lengths", off)))
		return st;
	at += used;
	uint64_t suffix_bytes = 0, total = 0, prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		suffix_bytes += (uint64_t)lens[i];
		if (prefixed) {
			/* The first value of a page has no previous value to share. */
			if ((uint64_t)pre[i] > (i ? prev_len : 0))
				return fail_at(r->e, TPQ_ECORRUPT, off,
					       "DELTA_BYTE_ARRAY prefix %lld is longer than the previous value",
					       (long long)pre[i]);
			prev_len = (uint64_t)pre[i] + (uint64_t)lens[i];
			total += prev_len;
		}
	}
	if (suffix_bytes > len - at)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "byte arrays of %llu bytes run past the page",
			       (unsigned long long)suffix_bytes);
	if (!prefixed)
		total = suffix_bytes;
	if ((st = reserve_values(r, n, off)) || (st = reserve_bytes(r, total, off)))
		return st;
	const uint8_t *src = p + at;
	for (size_t i = 0; i < n; i++) {
		size_t base = c->offsets[c->n_values];
		size_t k = 0;
		if (prefixed && pre[i] > 0) {
			size_t prev = c->offsets[c->n_values - 1];
			k = (size_t)pre[i];
			memmove(c->bytes + base, c->bytes + prev, k);
		}
		if (lens[i]) /* bytes may still be NULL when every value so far is empty */
			memcpy(c->bytes + base + k, src, (size_t)lens[i]);
		src += lens[i];
		c->offsets[++c->n_values] = base + k + (size_t)lens[i];
	}
	return TPQ_OK;
}

static enum tpq_status decode_values(struct col_reader *r, enum tpq_encoding enc, const uint8_t *p,
				     size_t len, size_t n, uint64_t off)
{
	if (n == 0)
		return TPQ_OK;
	switch (enc) {
	case TPQ_ENC_PLAIN:
		return values_plain(r, p, len, n, off);
	case TPQ_ENC_PLAIN_DICTIONARY:
	case TPQ_ENC_RLE_DICTIONARY:
		return values_dict(r, p, len, n, off);
	case TPQ_ENC_RLE:
		return values_rle_bool(r, p, len, n, off);
	case TPQ_ENC_DELTA_BINARY_PACKED:
	case TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
	case TPQ_ENC_DELTA_BYTE_ARRAY:
		return values_delta(r, enc, p, len, n, off);
	default:
		return fail_at(r->e, TPQ_EUNSUPPORTED, off, "value encoding %s (%d) is not supported",
			       tpq_pr_encoding_name((int)enc), (int)enc);
	}
}

/* Whether p[0..len) can hold n values of encoding enc at all: a cheap upper
 * bound checked before levels are allocated for a column without nulls. */
static bool values_may_fit(enum tpq_type t, enum tpq_encoding enc, const uint8_t *p, size_t len,
			   size_t n)
{
	if (n == 0)
		return true;
	switch (enc) {
	case TPQ_ENC_PLAIN:
		if (t == TPQ_T_BYTE_ARRAY)
			return n <= len / 4;
		return t == TPQ_T_FIXED_LEN_BYTE_ARRAY || plain_bytes(t, n) <= len;
	case TPQ_ENC_PLAIN_DICTIONARY:
	case TPQ_ENC_RLE_DICTIONARY:
		return len >= 1 && p[0] <= 32 && rle_capacity(p + 1, len - 1, p[0], n) >= n;
	case TPQ_ENC_RLE:
		return len >= 4 && tpq_le32(p) <= len - 4 && rle_capacity(p + 4, tpq_le32(p), 1, n) >= n;
	default:
		return true;
	}
}

static enum tpq_status read_dictionary_page(struct col_reader *r, const struct tpq_page_header *h,
					    struct tpq_pr_page *pg, const uint8_t *data)
{
	uint64_t off = pg->offset;
	if (!h->has_dictionary_page_header)
		return fail_at(r->e, TPQ_ECORRUPT, off, "dictionary page without its header");
	const struct tpq_dictionary_page_header *dh = &h->dictionary_page_header;
	if (r->have_dict || r->out->n_pages > 1)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "dictionary page is not the first page of the chunk");
	if (dh->num_values < 0)
		return fail_at(r->e, TPQ_ECORRUPT, off, "negative dictionary size");
	if (dh->encoding != TPQ_ENC_PLAIN && dh->encoding != TPQ_ENC_PLAIN_DICTIONARY)
		return fail_at(r->e, TPQ_EUNSUPPORTED, off, "dictionary page encoding %s",
			       tpq_pr_encoding_name((int)dh->encoding));
	pg->encoding = dh->encoding;
	pg->num_values = dh->num_values;
	r->have_dict = true;
	r->out->n_dict = (size_t)dh->num_values;
	if (r->flags & TPQ_PR_PAGES_ONLY)
		return TPQ_OK;
	const uint8_t *q;
	enum tpq_status st = page_bytes(r, true, data, (size_t)h->compressed_page_size,
				     (size_t)h->uncompressed_page_size, &r->dpage, &r->dpage_cap, &q,
				     off);
	if (st)
		return st;
	return decode_dictionary(r, q, (size_t)h->uncompressed_page_size, (size_t)dh->num_values,
				 off);
}

static enum tpq_status read_data_page(struct col_reader *r, const struct tpq_page_header *h,
				      struct tpq_pr_page *pg, const uint8_t *data)
{
	const uint64_t off = pg->offset;
	const struct tpq_pr_chunk *ch = r->ch;
	struct tpq_pr_column *c = r->out;
	bool v2 = h->type == TPQ_PAGE_DATA_V2;
	size_t comp = (size_t)h->compressed_page_size, uncomp = (size_t)h->uncompressed_page_size;
	int32_t nv;
	if (v2) {
		if (!h->has_data_page_header_v2)
			return fail_at(r->e, TPQ_ECORRUPT, off, "data page v2 without its header");
		const struct tpq_data_page_header_v2 *d = &h->data_page_header_v2;
		nv = d->num_values;
		pg->encoding = d->encoding;
		pg->def_encoding = pg->rep_encoding = TPQ_ENC_RLE;
		pg->num_nulls = d->num_nulls;
		pg->num_rows = d->num_rows;
		pg->has_statistics = d->has_statistics;
		if (d->num_nulls < 0 || d->num_nulls > nv || d->num_rows < 0 ||
		    d->definition_levels_byte_length < 0 || d->repetition_levels_byte_length < 0 ||
		    (uint64_t)d->definition_levels_byte_length +
				    (uint64_t)d->repetition_levels_byte_length > (comp < uncomp ? comp : uncomp))
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "data page v2 header has inconsistent counts or level lengths");
	} else {
		if (!h->has_data_page_header)
			return fail_at(r->e, TPQ_ECORRUPT, off, "data page without its header");
		const struct tpq_data_page_header *d = &h->data_page_header;
		nv = d->num_values;
		pg->encoding = d->encoding;
		pg->def_encoding = d->definition_level_encoding;
		pg->rep_encoding = d->repetition_level_encoding;
		pg->num_nulls = -1;
		pg->num_rows = -1;
		pg->has_statistics = d->has_statistics;
	}
	if (nv < 0)
		return fail_at(r->e, TPQ_ECORRUPT, off, "negative num_values in a data page");
	pg->num_values = nv;
	uint64_t want = (uint64_t)ch->md->num_values;
	if ((uint64_t)nv > want - c->n_levels)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "pages hold more than the chunk's %llu values",
			       (unsigned long long)want);
	const size_t n = (size_t)nv;
	if (r->flags & TPQ_PR_PAGES_ONLY) {
		c->n_levels += n;
		return TPQ_OK;
	}

	/* Find the sections: rep levels, def levels, values. */
	const uint8_t *rp = NULL, *dp = NULL, *vp;
	size_t rl = 0, dl = 0, vl;
	enum tpq_status st;
	if (v2) {
		const struct tpq_data_page_header_v2 *d = &h->data_page_header_v2;
		rl = (size_t)d->repetition_levels_byte_length;
		dl = (size_t)d->definition_levels_byte_length;
		rp = data;
		dp = data + rl;
		st = page_bytes(r, d->is_compressed, data + rl + dl, comp - rl - dl, uncomp - rl - dl,
			     &r->page, &r->page_cap, &vp, off);
		if (st)
			return st;
		vl = uncomp - rl - dl;
	} else {
		const uint8_t *q;
		st = page_bytes(r, true, data, comp, uncomp, &r->page, &r->page_cap, &q, off);
		if (st)
			return st;
		const uint8_t *end = q + uncomp;
		if (ch->max_rep > 0 &&
		    (st = v1_levels(r, &q, end, pg->rep_encoding, &rp, &rl, "repetition", off)))
			return st;
		if (ch->max_def > 0 &&
		    (st = v1_levels(r, &q, end, pg->def_encoding, &dp, &dl, "definition", off)))
			return st;
		vp = q;
		vl = (size_t)(end - q);
	}
	/* Show that the data can produce n entries before allocating for them. */
	if (ch->max_rep > 0 && rle_capacity(rp, rl, tpq_bit_width((uint32_t)ch->max_rep), n) < n)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "repetition levels hold fewer than the page's %zu values", n);
	if (ch->max_def > 0 && rle_capacity(dp, dl, tpq_bit_width((uint32_t)ch->max_def), n) < n)
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "definition levels hold fewer than the page's %zu values", n);
	if (ch->max_def == 0 && !values_may_fit(c->type, pg->encoding, vp, vl, n))
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "page of %zu bytes cannot hold %zu %s values", vl, n,
			       tpq_pr_encoding_name((int)pg->encoding));
	if (n == 0) {
		if (v2 && (pg->num_nulls != 0 || pg->num_rows != 0))
			return fail_at(r->e, TPQ_ECORRUPT, off,
				       "data page v2 without values says %d nulls and %d rows",
				       pg->num_nulls, pg->num_rows);
		pg->num_nulls = pg->num_rows = 0;
		return TPQ_OK;
	}
	if ((st = reserve_levels(r, c->n_levels + n, off)))
		return st;
	int16_t *def = c->def + c->n_levels, *rep = c->rep + c->n_levels;
	if (ch->max_rep > 0) {
		if ((st = decode_levels(r, rp, rl, ch->max_rep, rep, n, "repetition", off)))
			return st;
	} else {
		memset(rep, 0, n * sizeof(int16_t));
	}
	if (ch->max_def > 0) {
		if ((st = decode_levels(r, dp, dl, ch->max_def, def, n, "definition", off)))
			return st;
	} else {
		for (size_t i = 0; i < n; i++)
			def[i] = 0;
	}
	size_t nn = 0, rows = 0;
	for (size_t i = 0; i < n; i++) {
		nn += def[i] == ch->max_def;
		rows += rep[i] == 0;
	}
	if (v2 && (pg->num_nulls != (int32_t)(n - nn) || pg->num_rows != (int32_t)rows))
		return fail_at(r->e, TPQ_ECORRUPT, off,
			       "data page v2 says %d nulls and %d rows, its levels %zu and %zu",
			       pg->num_nulls, pg->num_rows, n - nn, rows);
	pg->num_nulls = (int32_t)(n - nn);
	pg->num_rows = (int32_t)rows;
	size_t before = c->n_values;
	if ((st = decode_values(r, pg->encoding, vp, vl, nn, off)))
		return st;
	if (c->n_values - before != nn)
		return fail_at(r->e, TPQ_ECORRUPT, off, "page decoded %zu values, expected %zu",
			       c->n_values - before, nn);
	c->n_levels += n;
	return TPQ_OK;
}

static enum tpq_status read_pages(struct col_reader *r)
{
	const struct tpq_pr_chunk *ch = r->ch;
	struct tpq_pr_column *c = r->out;
	const uint8_t *file = r->pr->p;
	uint64_t pos = ch->start, end = ch->start + ch->len;
	enum tpq_status st = TPQ_OK;
	while (pos < end) {
		struct tpq_page_header h;
		memset(&h, 0, sizeof(h));
		size_t used = 0;
		st = tpq_meta_get_page_header(file + pos, (size_t)(end - pos), &used, &h, r->e);
		if (st) {
			rebase(r->e, pos, "page header");
			return st;
		}
		uint64_t data_off = pos + used;
		uint64_t next = data_off + (uint64_t)(uint32_t)h.compressed_page_size;
		if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0) {
			st = fail_at(r->e, TPQ_ECORRUPT, pos, "page header has a negative size");
			goto release;
		}
		if (used > end - pos || (uint64_t)h.compressed_page_size > end - data_off) {
			st = fail_at(r->e, TPQ_ECORRUPT, pos,
				     "page of %d bytes runs past the column chunk's end at byte %llu",
				     h.compressed_page_size, (unsigned long long)end);
			goto release;
		}
		if ((uint64_t)h.uncompressed_page_size > r->pr->opt.max_page_bytes) {
			st = fail_at(r->e, TPQ_ELIMIT, pos,
				     "page of %d uncompressed bytes exceeds max_page_bytes (%zu)",
				     h.uncompressed_page_size, r->pr->opt.max_page_bytes);
			goto release;
		}
		const uint8_t *data = file + data_off;
		if (h.has_crc && r->pr->opt.verify_crc) {
			uint32_t crc = (uint32_t)crc32(0L, data, (uInt)h.compressed_page_size);
			if (crc != (uint32_t)h.crc) {
				st = fail_at(r->e, TPQ_ECORRUPT, pos,
					     "page CRC mismatch: header says 0x%08x, data has 0x%08x",
					     (uint32_t)h.crc, crc);
				goto release;
			}
		}
		size_t cap = c->cap_pages;
		struct tpq_pr_page *pages = grow_out(r, c->pages, &cap, c->n_pages + 1,
						     sizeof(*pages), pos);
		if (!pages) {
			st = r->e->status;
			goto release;
		}
		c->pages = pages;
		c->cap_pages = cap;
		struct tpq_pr_page *pg = &pages[c->n_pages++];
		memset(pg, 0, sizeof(*pg));
		pg->type = h.type;
		pg->offset = pos;
		pg->header_len = (uint32_t)used;
		pg->compressed_size = h.compressed_page_size;
		pg->uncompressed_size = h.uncompressed_page_size;
		pg->has_crc = h.has_crc;
		switch (h.type) {
		case TPQ_PAGE_DICTIONARY:
			st = read_dictionary_page(r, &h, pg, data);
			break;
		case TPQ_PAGE_DATA:
		case TPQ_PAGE_DATA_V2:
			st = read_data_page(r, &h, pg, data);
			break;
		case TPQ_PAGE_INDEX:
			break;
		default:
			st = fail_at(r->e, TPQ_ECORRUPT, pos, "unknown page type %d", (int)h.type);
			break;
		}
release:
		tpq_page_header_release(&h);
		if (st)
			return st;
		pos = next; /* h was zeroed by its release */
	}
	if (c->n_levels != (uint64_t)ch->md->num_values)
		return fail_at(r->e, TPQ_ECORRUPT, ch->start,
			       "the chunk's pages hold %zu values but its metadata says %lld",
			       c->n_levels, (long long)ch->md->num_values);
	if (r->flags & TPQ_PR_PAGES_ONLY)
		return TPQ_OK;
	if (c->n_levels > 0 && c->rep[0] != 0)
		return fail_at(r->e, TPQ_ECORRUPT, ch->start,
			       "the chunk does not start a row (first repetition level %d)", c->rep[0]);
	uint64_t rows = 0;
	for (size_t i = 0; i < c->n_pages; i++) {
		if (c->pages[i].type == TPQ_PAGE_DATA || c->pages[i].type == TPQ_PAGE_DATA_V2)
			rows += (uint64_t)c->pages[i].num_rows;
	}
	if (rows != (uint64_t)ch->num_rows)
		return fail_at(r->e, TPQ_ECORRUPT, ch->start,
			       "the chunk holds %llu rows but its row group has %lld",
			       (unsigned long long)rows, (long long)ch->num_rows);
	return TPQ_OK;
}

enum tpq_status tpq_pr_read_column(struct tpq_pr *pr, size_t rg, size_t col, unsigned flags,
				   struct tpq_pr_column *out, struct tpq_error *err)
{
	struct tpq_error e;
	tpq_error_clear(&e);
	memset(out, 0, sizeof(*out));
	out->alloc = pr->opt.alloc;
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	if (!ch)
		return tpq_error_set(err, TPQ_EINVAL, "no column chunk %zu/%zu", rg, col);
	out->type = ch->md->type;
	out->max_def = ch->max_def;
	out->max_rep = ch->max_rep;
	struct col_reader r;
	memset(&r, 0, sizeof(r));
	r.pr = pr;
	r.ch = ch;
	r.out = out;
	r.e = &e;
	r.a = pr->opt.alloc;
	r.flags = flags;
	enum tpq_status st = read_pages(&r);
	if (!st && !(flags & TPQ_PR_PAGES_ONLY) && out->offsets == NULL &&
	    (out->type == TPQ_T_BYTE_ARRAY || out->type == TPQ_T_INT96)) {
		/* Keep the promise of n_values + 1 offsets even for no values. */
		st = reserve_values(&r, 0, ch->start);
		if (!st)
			out->offsets[0] = 0;
	}
	dict_release(r.a, &r.dict, r.dict.n);
	mem_free(r.a, r.page, r.page_cap);
	mem_free(r.a, r.dpage, r.dpage_cap);
	mem_free(r.a, r.u32, r.u32_cap * 4);
	mem_free(r.a, r.tmp, r.tmp_cap);
	mem_free(r.a, r.lens, r.lens_cap);
	if (st) {
		char ctx[600], path[256];
		chunk_context(pr, rg, col, ctx, sizeof(ctx), path, sizeof(path));
		return give_error(err, &e, st, ctx, path);
	}
	return TPQ_OK;
}

void tpq_pr_column_release(struct tpq_pr_column *c)
{
	if (!c)
		return;
	const struct tpq_allocator *a = c->alloc;
	mem_free(a, c->def, c->cap_levels * 2 * sizeof(int16_t));
	mem_free(a, c->ints, c->cap_values * sizeof(int64_t));
	mem_free(a, c->offsets, c->cap_values * sizeof(size_t));
	mem_free(a, c->bytes, c->cap_bytes);
	mem_free(a, c->pages, c->cap_pages * sizeof(*c->pages));
	memset(c, 0, sizeof(*c));
}

/* ---- rows ---- */

enum tpq_status tpq_pr_column_rows(const struct tpq_pr_column *c, struct tpq_pr_rows *out,
				   struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	out->alloc = c->alloc;
	if (c->n_levels > 0 && (!c->def || !c->rep))
		return tpq_error_set(err, TPQ_EINVAL, "column was read without levels (pages only)");
	size_t n_rows = 0;
	for (size_t i = 0; i < c->n_levels; i++) {
		if (c->rep[i] < 0 || c->rep[i] > c->max_rep || c->def[i] < 0 ||
		    c->def[i] > c->max_def) {
			tpq_error_set(err, TPQ_ECORRUPT, "level out of range at entry %zu", i);
			return TPQ_ECORRUPT;
		}
		n_rows += c->rep[i] == 0;
	}
	if (c->n_levels > 0 && c->rep[0] != 0)
		return tpq_error_set(err, TPQ_ECORRUPT, "column does not start with a new row");
	size_t bytes = (n_rows + 1) * sizeof(size_t);
	out->level_start = mem_alloc(c->alloc, bytes);
	out->value_start = mem_alloc(c->alloc, bytes);
	if (!out->level_start || !out->value_start) {
		tpq_pr_rows_release(out);
		return tpq_error_set(err, TPQ_ENOMEM, "out of memory");
	}
	size_t r = 0, v = 0;
	for (size_t i = 0; i < c->n_levels; i++) {
		if (c->rep[i] == 0) {
			out->level_start[r] = i;
			out->value_start[r] = v;
			r++;
		}
		v += c->def[i] == c->max_def;
	}
	out->level_start[r] = c->n_levels;
	out->value_start[r] = v;
	out->n_rows = n_rows;
	return TPQ_OK;
}

void tpq_pr_rows_release(struct tpq_pr_rows *r)
{
	if (!r)
		return;
	size_t bytes = (r->n_rows + 1) * sizeof(size_t);
	mem_free(r->alloc, r->level_start, bytes);
	mem_free(r->alloc, r->value_start, bytes);
	memset(r, 0, sizeof(*r));
}

/* ---- page index ---- */

static enum tpq_status offset_index(struct tpq_pr *pr, const struct tpq_pr_chunk *ch,
				    struct tpq_offset_index *oi, struct tpq_error *e)
{
	const struct tpq_column_chunk *cc = ch->cc;
	uint64_t off = (uint64_t)cc->offset_index_offset;
	size_t used = 0;
	enum tpq_status st = tpq_meta_get_offset_index(pr->p + off, (size_t)cc->offset_index_length,
						       &used, oi, e);
	if (st) {
		rebase(e, off, "offset index");
		return st;
	}
	if (oi->n_pages == 0 && ch->md->num_values > 0)
		st = fail_at(e, TPQ_ECORRUPT, off, "offset index lists no pages");
	uint64_t next = ch->start, end = ch->start + ch->len;
	for (size_t i = 0; !st && i < oi->n_pages; i++) {
		const struct tpq_page_location *l = &oi->page_locations[i];
		if (l->offset < 0 || l->compressed_page_size <= 0 ||
		    !in_range((uint64_t)l->offset, (uint64_t)l->compressed_page_size, next, end))
			st = fail_at(e, TPQ_ECORRUPT, off,
				     "offset index page %zu at %lld (+%d) is outside the chunk or out of order",
				     i, (long long)l->offset, l->compressed_page_size);
		else if (l->first_row_index < 0 || (i == 0 && l->first_row_index != 0) ||
			 (i > 0 && l->first_row_index < oi->page_locations[i - 1].first_row_index) ||
			 (l->first_row_index > 0 && l->first_row_index >= ch->num_rows))
			st = fail_at(e, TPQ_ECORRUPT, off,
				     "offset index page %zu has a bad first_row_index %lld", i,
				     (long long)l->first_row_index);
		else
			next = (uint64_t)l->offset + (uint64_t)l->compressed_page_size;
	}
	if (st)
		tpq_offset_index_release(oi);
	return st;
}

enum tpq_status tpq_pr_read_offset_index(struct tpq_pr *pr, size_t rg, size_t col,
					 struct tpq_offset_index *out, struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	if (!ch)
		return tpq_error_set(err, TPQ_EINVAL, "no column chunk %zu/%zu", rg, col);
	if (!ch->cc->has_offset_index)
		return TPQ_ENOTFOUND;
	struct tpq_error e;
	tpq_error_clear(&e);
	enum tpq_status st = offset_index(pr, ch, out, &e);
	if (st) {
		char ctx[600], path[256];
		chunk_context(pr, rg, col, ctx, sizeof(ctx), path, sizeof(path));
		return give_error(err, &e, st, ctx, path);
	}
	return TPQ_OK;
}

enum tpq_status tpq_pr_read_column_index(struct tpq_pr *pr, size_t rg, size_t col,
					 struct tpq_column_index *out, struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	if (!ch)
		return tpq_error_set(err, TPQ_EINVAL, "no column chunk %zu/%zu", rg, col);
	const struct tpq_column_chunk *cc = ch->cc;
	if (!cc->has_column_index)
		return TPQ_ENOTFOUND;
	struct tpq_error e;
	tpq_error_clear(&e);
	uint64_t off = (uint64_t)cc->column_index_offset;
	size_t used = 0;
	enum tpq_status st = tpq_meta_get_column_index(pr->p + off, (size_t)cc->column_index_length,
						       &used, out, &e);
	if (st) {
		rebase(&e, off, "column index");
	} else if (out->n_pages == 0 && ch->md->num_values > 0) {
		st = fail_at(&e, TPQ_ECORRUPT, off, "column index lists no pages");
	} else if (cc->has_offset_index) {
		struct tpq_offset_index oi;
		memset(&oi, 0, sizeof(oi));
		st = offset_index(pr, ch, &oi, &e);
		if (!st && oi.n_pages != out->n_pages)
			st = fail_at(&e, TPQ_ECORRUPT, off,
				     "column index has %zu pages, offset index %zu", out->n_pages,
				     oi.n_pages);
		if (!st)
			tpq_offset_index_release(&oi);
	}
	if (st) {
		if (out->n_pages || out->null_pages)
			tpq_column_index_release(out);
		memset(out, 0, sizeof(*out));
		char ctx[600], path[256];
		chunk_context(pr, rg, col, ctx, sizeof(ctx), path, sizeof(path));
		return give_error(err, &e, st, ctx, path);
	}
	return TPQ_OK;
}

/* ---- Bloom filters ---- */

enum tpq_status tpq_pr_read_bloom(struct tpq_pr *pr, size_t rg, size_t col,
				  struct tpq_pr_bloom *out, struct tpq_error *err)
{
	memset(out, 0, sizeof(*out));
	const struct tpq_pr_chunk *ch = tpq_pr_chunk(pr, rg, col);
	if (!ch)
		return tpq_error_set(err, TPQ_EINVAL, "no column chunk %zu/%zu", rg, col);
	const struct tpq_column_meta_data *md = ch->md;
	if (!md->has_bloom_filter_offset)
		return TPQ_ENOTFOUND;
	struct tpq_error e;
	tpq_error_clear(&e);
	uint64_t off = (uint64_t)md->bloom_filter_offset;
	uint64_t end = md->has_bloom_filter_length ? off + (uint64_t)md->bloom_filter_length
						   : pr->footer_off;
	struct tpq_bloom_filter_header h;
	memset(&h, 0, sizeof(h));
	size_t used = 0;
	enum tpq_status st = tpq_meta_get_bloom_filter_header(pr->p + off, (size_t)(end - off),
							      &used, &h, &e);
	if (st) {
		rebase(&e, off, "Bloom filter header");
	} else if (h.num_bytes < (int32_t)BLOOM_MIN_BYTES || h.num_bytes > (int32_t)BLOOM_MAX_BYTES ||
		   (h.num_bytes & (h.num_bytes - 1)) != 0) {
		st = fail_at(&e, TPQ_ECORRUPT, off,
			     "Bloom filter size %d is not a power of two in 32 .. 128 MiB", h.num_bytes);
	} else if (used > end - off || (uint64_t)h.num_bytes > end - off - used) {
		st = fail_at(&e, TPQ_ECORRUPT, off,
			     "Bloom filter bitset of %d bytes runs past its end at byte %llu",
			     h.num_bytes, (unsigned long long)end);
	}
	if (st) {
		char ctx[600], path[256];
		chunk_context(pr, rg, col, ctx, sizeof(ctx), path, sizeof(path));
		return give_error(err, &e, st, ctx, path);
	}
	out->offset = off;
	out->header_len = (uint32_t)used;
	/* A read-only view: the reader never writes through it (see the header). */
	out->filter.bits = (uint8_t *)(uintptr_t)(pr->p + off + used);
	out->filter.num_bytes = (uint32_t)h.num_bytes;
	return TPQ_OK;
}

bool tpq_pr_bloom_might_contain(struct tpq_pr *pr, size_t rg, size_t col, const void *p,
				size_t n)
{
	struct tpq_pr_bloom b;
	if (tpq_pr_read_bloom(pr, rg, col, &b, NULL) != TPQ_OK)
		return true;
	return tpq_bloom_check(&b.filter, tpq_xxh64(p, n, 0));
}
