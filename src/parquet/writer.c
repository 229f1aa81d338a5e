/* The Parquet writer.
 *
 * Each leaf column keeps the page being filled (levels as bytes, values as
 * either dictionary indices or PLAIN bytes) and the finished, compressed pages
 * of the open row group's column chunk. Pages are cut only in end_row, so
 * every page starts at a row boundary: the offset index's first_row_index is
 * exact and readers may skip pages without reassembling rows across them.
 *
 * Dictionary: a column starts dictionary-encoded. Its entries are records
 * in one arena (see struct dict), found through an open-addressing table of
 * tagged slots. When the dictionary's PLAIN size passes dict_max_bytes
 * (checked at row boundaries), or when the first page shows the values are
 * nearly all distinct, the page is cut and the rest of the chunk is PLAIN:
 * the pages already written keep their indices into the dictionary page,
 * which is written first at chunk end. Dictionary-encoded pages are held
 * uncompressed until the dictionary is final (finish_dict), so that a large
 * BYTE_ARRAY dictionary can be sorted bytewise and its pages renumbered.
 *
 * Statistics: min/max per page and per chunk in the type's order (signed
 * integers, unsigned bytewise strings, false < true); string bounds are
 * truncated to stats_max_len on a UTF-8 boundary, the max rounded up by
 * incrementing its last ASCII byte so it stays an upper bound. A value is
 * compared only when it differs from the previous one of its column (and,
 * dictionary-encoded, only the first time a page sees it), which makes the
 * common runs of equal strings cheap.
 *
 * Speed, for CloudTrail's 71 columns with most fields absent in any record:
 * what a put costs is mostly cache misses, so the put path touches a
 * column's first cache lines, one dictionary slot and one record; Bloom
 * hashes are appended to a list, not a hash set; the buffers survive
 * tpq_pw_reset, so a worker grows them (and faults them in) once.
 *
 * Row group close: dictionary page then data pages of column 0, then of
 * column 1, ..., then the row group's Bloom filters. Column and offset indexes
 * wait in memory (a few bytes per page) until finish writes them before the
 * footer. Nothing here depends on time, threads or what the writer wrote
 * before a reset, so output is reproducible. */
#include "parquet/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec/codec.h"
#include "parquet/bloom.h"
#include "parquet/rle.h"
#include "util/error.h"

#ifndef TPQ_BUILD
#define TPQ_BUILD "unknown"
#endif

/* A data page ends after at most this many rows (besides page_bytes), so
 * that page-index readers can skip within a large chunk. A multiple of
 * 2048, DuckDB's vector size: a vector that spans two pages of a dictionary
 * column loses DuckDB's dictionary vector, and with 20,000 the scan of the
 * dictionary columns of a 47,000-row row group took up to 1.4 times as much
 * CPU as with 20,480 or with one page (bench/README.md, queries). Checked
 * every 16 rows, which it is also a multiple of. */
#define DEFAULT_PAGE_ROWS 20480
/* ... except in a column still dictionary-encoding with at most this many
 * distinct values (eventname, eventsource, errorcode, awsregion): its chunk
 * is small anyway, so a page-index reader loses nothing, and DuckDB scans one
 * page faster than several. 1000 MB bucket, compacted: count(DISTINCT
 * eventname), count(DISTINCT eventsource) x1.14 -> x1.02 DuckDB's lake, the
 * errorcode LIKE filter x1.16 -> x1.12, the lake -0.7%. */
#define SMALL_DICT_ENTRIES 1024

/* Levels and dictionary indices use RLE runs only from this many equal
 * values on (rle.h): ZSTD compresses long bit-packed stretches better than
 * short runs between them. Lake bytes (1000 MB bucket, compacted) with
 * levels/indices at 128/64 against the byte-saving choice/8: -0.6%; 256/128
 * gained 0.04% more. */
#define LEVEL_MIN_RUN 128
#define INDEX_MIN_RUN 64

const char *tpq_created_by(void)
{
	return "trailpq version " TPQ_VERSION_STRING " (build " TPQ_BUILD ")";
}

void tpq_pw_options_init(struct tpq_pw_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = TPQ_CODEC_ZSTD;
	o->page_bytes = 1u << 20;
	o->row_group_bytes = 128u << 20;
	o->dict_max_bytes = 1u << 20;
	o->dictionary = true;
	o->page_index = true;
	o->statistics = true;
	o->stats_max_len = 64;
	o->bloom_fpp = 0.01;
	o->bloom_max_bytes = 1u << 20;
}

/* A min or max value kept for statistics: bytes for BYTE_ARRAY, else the
 * 8-byte little-endian image of an int64 (booleans as 0/1). */
struct bound {
	struct tpq_buf b;
	int64_t i;
	uint64_t pfx;            /* BYTE_ARRAY: prefix_be of b */
};

struct page_meta {
	int64_t offset;          /* within the chunk's page buffer, then the file */
	int32_t size;            /* header + compressed data */
	int64_t first_row;
	int64_t nulls;
	bool all_null;
	uint8_t *min, *max;      /* owned, index bounds (maybe truncated) */
	size_t min_len, max_len;
	int32_t n_levels;        /* entries of the page (its header's num_values) */
	/* a held dictionary-encoded page (see struct col's held): its body at
	 * held_off, levels then a bit-width byte then the RLE indices */
	uint32_t n_idx;
	bool raw;                /* the indices are still c->idx (the chunk's last page) */
	size_t held_off, held_lv, held_len;
};

struct chunk_index {
	struct page_meta *pages;
	size_t n_pages;
	enum tpq_boundary_order order;
	/* where the indexes and Bloom filter were written */
	int64_t ci_offset, oi_offset;
	int32_t ci_len, oi_len;
};

/* The dictionary keeps its entries in one arena, in index order, each a
 * record aligned to 8 bytes:
 *
 *   u32 len | u32 index | u32 mark | u32 hash_lo | len bytes (the PLAIN image:
 *   string bytes, or 4/8 little-endian int bytes) | padding
 *
 * mark is the last page (col->page_seq) the entry was seen in; hash_lo the
 * low half of its hash. A slot holds the hash's high half as a tag and the
 * record's offset / 8 + 1: a probe whose tag matches reads one record and
 * nothing else (one cache miss fewer than an entry array beside the bytes),
 * and growing the table rehashes nothing. */
#define DREC_HDR 16

struct dict {
	uint64_t *slots;         /* 0 = empty, else hash's high half << 32 | (offset / 8 + 1) */
	size_t n_slots;          /* power of two */
	struct tpq_buf bytes;    /* the records */
	size_t n;                /* entries */
	size_t plain_size;       /* the dictionary page's PLAIN size */
};

static inline uint32_t drec_get(const struct dict *d, size_t off, size_t field)
{
	uint32_t v;
	memcpy(&v, d->bytes.p + off + 4 * field, 4);
	return v;
}

static inline void drec_set(struct dict *d, size_t off, size_t field, uint32_t v)
{
	memcpy(d->bytes.p + off + 4 * field, &v, 4);
}

enum { DREC_LEN, DREC_INDEX, DREC_MARK, DREC_HASH };

/* A BYTE_ARRAY dictionary entry being sorted (sort_dict): `word` is the
 * value's 8 bytes from the sort's current depth as a big-endian number, so
 * that most comparisons read no record. */
struct dkey {
	uint64_t word;
	const uint8_t *p;
	uint32_t len, index;
};

/* A chunk's Bloom hashes (XXH64 of each value new to the chunk's dictionary,
 * or of each value of a PLAIN page that differs from the previous one). They
 * are appended, a sequential write, where a hash set costs a cache miss per
 * new value; when the list fills it is sorted and deduplicated (growing only
 * if that frees less than half), and at chunk end the distinct count sizes
 * the filter, exactly as a set's would. */
struct bloom_list {
	uint64_t *h;
	size_t n, cap;
};

/* A leaf column. The fields every put touches come first, so that a row's
 * puts (one or more per column, 71 columns for CloudTrail) find each
 * column's hot state in two cache lines rather than spread over several. */
struct col {
	/* the page being filled: levels, dictionary indices */
	uint8_t *defs, *reps;
	size_t n_levels, cap_levels;
	int64_t row_starts;      /* entries with repetition level 0: rows begun */
	size_t n_values;         /* non-null values in the page */
	uint32_t *idx;
	size_t n_idx, cap_idx;
	int16_t max_def, max_rep;
	enum tpq_type type;
	uint32_t page_seq;       /* number of the page being filled, from 1 */
	bool dict_on;            /* still dictionary-encoding */
	bool want_bloom, want_stats;
	/* The page's previous value, so that a repeat (common in CloudTrail
	 * columns) costs one comparison: BYTE_ARRAY compares with its bytes where
	 * they already are (its dictionary record at last_off, or its place in
	 * plain at last_off), other types with last_i. */
	bool have_last;
	uint32_t last_e;
	size_t last_off, last_len;
	int64_t last_i;
	struct dict dict;
	struct tpq_buf plain;    /* PLAIN values (BOOLEAN: one byte per value, packed at cut) */
	/* colder: the first sight of a value in a page, page cuts, the chunk */
	bool page_has_bounds;
	struct bound page_min, page_max;
	struct bloom_list bloom;
	const struct tpq_schema_node *node;
	bool want_dict;
	bool delta;              /* DELTA_BINARY_PACKED data pages (INT32/INT64) */
	bool delta_len;          /* DELTA_LENGTH_BYTE_ARRAY data pages (BYTE_ARRAY) */
	bool dict_fallback;
	int64_t page_first_row;
	struct tpq_buf pages;    /* finished data pages: header + compressed body */
	/* Dictionary-encoded data pages wait here uncompressed (levels, then
	 * indices RLE-encoded at the width of their cut) until the dictionary is
	 * final: at fallback or chunk end finish_dict sorts the dictionary,
	 * renumbers the held indices and compresses the pages into `pages`. */
	struct tpq_buf held;
	size_t n_held;           /* pm[0 .. n_held) are held */
	struct tpq_buf dict_page; /* the finished dictionary page: header + compressed body */
	int64_t dict_usize;      /* its header + uncompressed size */
	struct page_meta *pm;
	size_t n_pm, cap_pm;
	int64_t num_values;
	int64_t uncompressed;    /* data pages incl. headers */
	int32_t n_dict_data_pages, n_plain_data_pages, n_delta_data_pages, n_dlba_data_pages;
	int64_t chunk_nulls;
	bool chunk_has_bounds;
	struct bound chunk_min, chunk_max;
};

struct rg_meta {
	struct tpq_row_group rg;
	struct chunk_index *ci;  /* per column */
};

struct tpq_pw {
	const struct tpq_schema *schema;
	struct tpq_pw_options opt;
	char *created_by;
	struct tpq_key_value *kv;
	size_t n_kv;
	struct tpq_sink *sink;
	struct tpq_codec_ctx *codec;
	bool own_codec;          /* codec was made here (not opt.codec_ctx) */
	struct col *cols;
	size_t n_cols;
	int64_t rows, rg_rows;
	int64_t rg_first_row;
	size_t started;          /* columns that began the current row */
	uint64_t *sort_tmp;      /* radix sort space for Bloom hash lists */
	size_t sort_cap;
	struct dkey *dkeys;      /* finish_dict: the entries being sorted */
	size_t cap_dkeys;
	uint32_t *remap;         /* finish_dict: old index -> sorted index */
	size_t cap_remap;
	uint32_t *vals;          /* finish_dict: one held page's indices */
	size_t cap_vals;
	int16_t *node_def_lim;   /* per schema node: the lowest max_def, max_rep of its leaves */
	int16_t *node_rep_lim;
	struct rg_meta *rgs;
	size_t n_rgs, cap_rgs;
	struct tpq_buf scratch, comp, hdr;
	struct tpq_buf lens;     /* a DELTA_LENGTH_BYTE_ARRAY page's lengths, le32 */
	enum tpq_status err;
	struct tpq_error error;
	bool finished;
};

/* Errors are rare: keeping them out of line keeps the put paths small. */
__attribute__((noinline, cold)) static void fail(struct tpq_pw *w, enum tpq_status st,
						 const char *msg)
{
	if (!w->err) {
		w->err = st;
		tpq_error_set(&w->error, st, "%s", msg);
	}
}

/* ---- small growth helpers ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	void *n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* ---- hashing for the dictionary and Bloom sets ---- */

/* Host-order loads; the hash only has to be the same within one process. */
static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The 128-bit product of a and b, its halves xored: one multiply mixes 128
 * input bits. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
	__extension__ typedef unsigned __int128 u128;
	u128 r = (u128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
	uint64_t lo = (mid << 32) | (uint32_t)ll;
	uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return lo ^ hi;
#endif
}

#define HK0 0x9e3779b97f4a7c15ULL
#define HK1 0xc2b2ae3d27d4eb4fULL
#define HK2 0x165667b19e3779f9ULL
#define HK3 0xd6e8feb86659fd93ULL

/* The dictionary's hash (XXH64 stays for the Bloom filters, which the spec
 * fixes). Up to 16 bytes: two overlapping loads and one multiply. Longer
 * values (JSON text columns run to kilobytes): 32 bytes per step in two
 * independent multiply chains, then the last 32 bytes (overlapping), so the
 * cost is about a cycle per 5 bytes instead of one serial chain per word. */
static inline uint64_t dict_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t x, y;
	if (n <= 16) {
		if (n >= 8) {
			x = rd64(b);
			y = rd64(b + n - 8);
		} else if (n >= 4) {
			x = rd32(b);
			y = rd32(b + n - 4);
		} else {
			x = n ? (uint64_t)b[0] | (uint64_t)b[n / 2] << 8 | (uint64_t)b[n - 1] << 16 : 0;
			y = 0;
		}
		return fold_mul(x ^ HK0, y ^ HK1 ^ ((uint64_t)n << 56)) * HK2;
	}
	const uint8_t *end = b + n;
	uint64_t s0 = HK0 ^ n, s1 = HK1;
	if (n > 32) {
		const uint8_t *stop = end - 32;
		do {
			s0 = fold_mul(rd64(b) ^ s0, rd64(b + 8) ^ HK2);
			s1 = fold_mul(rd64(b + 16) ^ s1, rd64(b + 24) ^ HK3);
			b += 32;
		} while (b < stop);
		b = stop; /* the last 32 bytes, overlapping what was hashed */
		s0 = fold_mul(rd64(b) ^ s0, rd64(b + 8) ^ HK2);
		s1 = fold_mul(rd64(b + 16) ^ s1, rd64(b + 24) ^ HK3);
	} else {
		s0 = fold_mul(rd64(b) ^ s0, rd64(b + 8) ^ HK2);
		s1 = fold_mul(rd64(end - 16) ^ s1, rd64(end - 8) ^ HK3);
	}
	return fold_mul(s0 ^ HK1, s1 ^ HK0) * HK2;
}

/* a[0..n) == b[0..n) without a call for the short values most columns hold. */
static inline bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	if (n >= 8) {
		if (rd64(a) != rd64(b) || rd64(a + n - 8) != rd64(b + n - 8))
			return false;
		return n <= 16 || memcmp(a + 8, b + 8, n - 16) == 0;
	}
	if (n >= 4)
		return rd32(a) == rd32(b) && rd32(a + n - 4) == rd32(b + n - 4);
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Sorts h[0..n) (LSD radix, 8 bits a pass, through tmp of n entries; the
 * hashes are uniform, so every pass is a plain scatter) and drops repeats.
 * Returns the distinct count. */
static size_t sort_unique(uint64_t *h, size_t n, uint64_t *tmp)
{
	uint64_t *a = h, *b = tmp;
	for (int shift = 0; shift < 64; shift += 8) {
		size_t cnt[256] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[(a[i] >> shift) & 0xff]++;
		size_t sum = 0;
		for (int k = 0; k < 256; k++) {
			size_t t = cnt[k];
			cnt[k] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			b[cnt[(a[i] >> shift) & 0xff]++] = a[i];
		uint64_t *t = a;
		a = b;
		b = t;
	}
	/* eight passes: the sorted keys are back in h */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (m == 0 || h[m - 1] != h[i])
			h[m++] = h[i];
	return m;
}

__attribute__((noinline)) static int bloom_make_room(struct tpq_pw *w, struct bloom_list *s)
{
	if (s->n > 0) {
		if (w->sort_cap < s->n) {
			uint64_t *t = realloc(w->sort_tmp, s->n * sizeof(uint64_t));
			if (!t)
				return -1;
			w->sort_tmp = t;
			w->sort_cap = s->n;
		}
		s->n = sort_unique(s->h, s->n, w->sort_tmp);
		if (s->n * 2 <= s->cap)
			return 0;
	}
	size_t c = s->cap ? s->cap * 2 : 1024;
	uint64_t *nh = realloc(s->h, c * sizeof(uint64_t));
	if (!nh)
		return -1;
	s->h = nh;
	s->cap = c;
	return 0;
}

static inline int bloom_add(struct tpq_pw *w, struct bloom_list *s, uint64_t h)
{
	if (s->n == s->cap && bloom_make_room(w, s))
		return -1;
	s->h[s->n++] = h;
	return 0;
}

__attribute__((noinline)) static int dict_grow_slots(struct dict *d)
{
	size_t ns = d->n_slots ? d->n_slots * 2 : 64;
	uint64_t *nsl = calloc(ns, sizeof(uint64_t));
	if (!nsl)
		return -1;
	for (size_t i = 0; i < d->n_slots; i++) {
		uint64_t v = d->slots[i];
		if (!v)
			continue;
		size_t off = ((size_t)(uint32_t)v - 1) * 8;
		size_t j = drec_get(d, off, DREC_HASH) & (ns - 1);
		while (nsl[j])
			j = (j + 1) & (ns - 1);
		nsl[j] = v;
	}
	free(d->slots);
	d->slots = nsl;
	d->n_slots = ns;
	return 0;
}

/* Returns the offset of the record of value (p, n) with hash h, adding it if
 * new (*fresh says so); -1 on OOM or past the limits (2^32 - 2 entries,
 * 32 GiB of records). The slot's tag is checked before the record is read,
 * the length before the bytes. */
static inline int64_t dict_lookup(struct dict *d, const void *p, size_t n, uint64_t h, bool *fresh)
{
	if ((d->n + 1) * 2 > d->n_slots && dict_grow_slots(d))
		return -1;
	uint64_t tag = h & 0xffffffff00000000ULL;
	size_t mask = d->n_slots - 1, j = h & mask;
	for (;;) {
		uint64_t s = d->slots[j];
		if (!s)
			break;
		if ((s & 0xffffffff00000000ULL) == tag) {
			size_t off = ((size_t)(uint32_t)s - 1) * 8;
			if (drec_get(d, off, DREC_LEN) == n &&
			    bytes_equal(d->bytes.p + off + DREC_HDR, p, n)) {
				*fresh = false;
				return (int64_t)off;
			}
		}
		j = (j + 1) & mask;
	}
	size_t off = d->bytes.len, rec = (DREC_HDR + n + 7) & ~(size_t)7;
	if (d->n >= UINT32_MAX - 1 || off / 8 + 1 >= UINT32_MAX || rec > ((size_t)1 << 34) ||
	    tpq_buf_reserve(&d->bytes, rec))
		return -1;
	uint32_t hdr[4] = {(uint32_t)n, (uint32_t)d->n, 0, (uint32_t)h};
	uint8_t *r = d->bytes.p + off;
	memcpy(r, hdr, DREC_HDR);
	if (n)
		memcpy(r + DREC_HDR, p, n);
	memset(r + DREC_HDR + n, 0, rec - DREC_HDR - n);
	d->bytes.len += rec;
	d->slots[j] = tag | ((uint64_t)(off / 8) + 1);
	d->n++;
	*fresh = true;
	return (int64_t)off;
}

static void dict_reset(struct dict *d)
{
	if (d->slots)
		memset(d->slots, 0, d->n_slots * sizeof(uint64_t));
	tpq_buf_reset(&d->bytes);
	d->n = 0;
	d->plain_size = 0;
}

/* ---- statistics ---- */

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* The first 8 bytes as a big-endian number, zero-padded: when two values'
 * prefixes differ they order the values as cmp_bytes does, so most bound
 * checks need no memcmp. */
static inline uint64_t prefix_be(const uint8_t *p, size_t n)
{
	if (n >= 8)
		return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
		       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
		       (uint64_t)p[6] << 8 | (uint64_t)p[7];
	uint64_t v = 0;
	for (size_t k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (56 - 8 * k);
	return v;
}

static void bound_set(struct bound *b, const void *p, size_t n, int64_t i)
{
	tpq_buf_reset(&b->b);
	tpq_buf_put(&b->b, p, n);
	b->i = i;
	b->pfx = prefix_be(p, n);
}

/* Folds a value into (min, max). For BYTE_ARRAY p/n are the bytes; for the
 * other types `i` is the value. */
static void bounds_update(enum tpq_type t, bool *has, struct bound *mn, struct bound *mx,
			  const void *p, size_t n, int64_t i)
{
	if (!*has) {
		bound_set(mn, p, n, i);
		bound_set(mx, p, n, i);
		*has = true;
		return;
	}
	if (t == TPQ_T_BYTE_ARRAY) {
		uint64_t v = prefix_be(p, n);
		bool lt = v != mn->pfx ? v < mn->pfx : cmp_bytes(p, n, mn->b.p, mn->b.len) < 0;
		if (lt)
			bound_set(mn, p, n, i);
		else if (v != mx->pfx ? v > mx->pfx : cmp_bytes(p, n, mx->b.p, mx->b.len) > 0)
			bound_set(mx, p, n, i);
	} else {
		if (i < mn->i)
			mn->i = i;
		if (i > mx->i)
			mx->i = i;
	}
}

/* The statistics image of a bound: PLAIN encoding without length prefix. */
static size_t bound_image(enum tpq_type t, const struct bound *b, uint8_t tmp[8], const uint8_t **out)
{
	switch (t) {
	case TPQ_T_BYTE_ARRAY:
		*out = b->b.p ? b->b.p : tmp;
		return b->b.len;
	case TPQ_T_BOOLEAN:
		tmp[0] = (uint8_t)(b->i != 0);
		*out = tmp;
		return 1;
	case TPQ_T_INT32:
		for (int k = 0; k < 4; k++)
			tmp[k] = (uint8_t)((uint64_t)b->i >> (8 * k));
		*out = tmp;
		return 4;
	default:
		for (int k = 0; k < 8; k++)
			tmp[k] = (uint8_t)((uint64_t)b->i >> (8 * k));
		*out = tmp;
		return 8;
	}
}

/* Length of the longest prefix of p[0..n) that is at most max bytes and ends
 * on a UTF-8 character boundary. */
static size_t utf8_cut(const uint8_t *p, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && (p[k] & 0xC0) == 0x80)
		k--;
	return k;
}

/* Makes an owned copy of a min (truncated down) or max (truncated and
 * rounded up). Returns false when no valid bound can be made (then *out is
 * NULL). *exact says whether the bound is the real value. */
static bool make_bound(enum tpq_type t, const struct bound *b, bool is_max, size_t max_len,
		       uint8_t **out, size_t *len, bool *exact)
{
	uint8_t tmp[8];
	const uint8_t *img;
	size_t n = bound_image(t, b, tmp, &img);
	*out = NULL;
	*exact = true;
	if (t == TPQ_T_BYTE_ARRAY && n > max_len) {
		size_t k = utf8_cut(img, n, max_len);
		*exact = false;
		if (is_max) {
			/* Round up: the last ASCII byte below 0x7f is incremented and the
			 * rest dropped; the result is still UTF-8 and sorts above every
			 * string with the original prefix. */
			while (k > 0 && img[k - 1] >= 0x7f)
				k--;
			if (k == 0)
				return false;
			*out = malloc(k);
			if (!*out)
				return false;
			memcpy(*out, img, k);
			(*out)[k - 1]++;
			*len = k;
			return true;
		}
		n = k;
	}
	*out = malloc(n ? n : 1);
	if (!*out)
		return false;
	if (n)
		memcpy(*out, img, n);
	*len = n;
	return true;
}

/* ---- creation ---- */

static void col_release(struct col *c)
{
	free(c->defs);
	free(c->reps);
	free(c->idx);
	tpq_buf_release(&c->plain);
	tpq_buf_release(&c->page_min.b);
	tpq_buf_release(&c->page_max.b);
	tpq_buf_release(&c->chunk_min.b);
	tpq_buf_release(&c->chunk_max.b);
	free(c->dict.slots);
	tpq_buf_release(&c->dict.bytes);
	tpq_buf_release(&c->pages);
	tpq_buf_release(&c->held);
	tpq_buf_release(&c->dict_page);
	for (size_t i = 0; i < c->n_pm; i++) {
		free(c->pm[i].min);
		free(c->pm[i].max);
	}
	free(c->pm);
	free(c->bloom.h);
}

struct tpq_pw *tpq_pw_new(const struct tpq_schema *schema, const struct tpq_pw_options *opt,
			  struct tpq_sink *sink, struct tpq_error *err)
{
	if (!schema || !schema->finished || !sink) {
		tpq_error_set(err, TPQ_EINVAL, "writer needs a finished schema and a sink");
		return NULL;
	}
	struct tpq_pw *w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	tpq_error_clear(&w->error);
	w->schema = schema;
	if (opt)
		w->opt = *opt;
	else
		tpq_pw_options_init(&w->opt);
	if (!tpq_codec_supported(w->opt.codec)) {
		tpq_error_set(err, TPQ_EUNSUPPORTED, "codec %d is not supported by this build",
			      (int)w->opt.codec);
		free(w);
		return NULL;
	}
	if (w->opt.page_bytes < 1024)
		w->opt.page_bytes = 1024;
	if (w->opt.stats_max_len < 8)
		w->opt.stats_max_len = 8;
	if (!(w->opt.bloom_fpp > 0 && w->opt.bloom_fpp < 1))
		w->opt.bloom_fpp = 0.01;
	if (w->opt.bloom_max_bytes < 32)
		w->opt.bloom_max_bytes = 32;
	w->sink = sink;
	w->created_by = strdup(w->opt.created_by ? w->opt.created_by : tpq_created_by());
	w->own_codec = !w->opt.codec_ctx;
	w->codec = w->own_codec ? tpq_codec_ctx_new() : w->opt.codec_ctx;
	w->n_cols = schema->n_leaves;
	w->cols = calloc(w->n_cols, sizeof(struct col));
	if (!w->created_by || !w->codec || !w->cols)
		goto oom_free;
	if (w->opt.n_kv) {
		w->kv = calloc(w->opt.n_kv, sizeof(*w->kv));
		if (!w->kv)
			goto oom_free;
		w->n_kv = w->opt.n_kv;
		for (size_t i = 0; i < w->n_kv; i++) {
			w->kv[i].key = strdup(w->opt.kv[i].key ? w->opt.kv[i].key : "");
			w->kv[i].value = w->opt.kv[i].value ? strdup(w->opt.kv[i].value) : NULL;
			if (!w->kv[i].key || (w->opt.kv[i].value && !w->kv[i].value))
				goto oom_free;
		}
	}
	w->opt.kv = NULL;
	w->opt.created_by = NULL;
	w->node_def_lim = malloc(schema->n_nodes * sizeof(int16_t));
	w->node_rep_lim = malloc(schema->n_nodes * sizeof(int16_t));
	if (!w->node_def_lim || !w->node_rep_lim)
		goto oom_free;
	for (size_t i = 0; i < schema->n_nodes; i++) {
		const struct tpq_schema_node *n = &schema->nodes[i];
		int16_t d = INT16_MAX, r = INT16_MAX;
		for (int l = n->first_leaf; l < n->first_leaf + n->n_leaves; l++) {
			const struct tpq_schema_node *leaf = &schema->nodes[schema->leaves[l]];
			d = leaf->max_def < d ? leaf->max_def : d;
			r = leaf->max_rep < r ? leaf->max_rep : r;
		}
		w->node_def_lim[i] = d;
		w->node_rep_lim[i] = r;
	}
	for (size_t i = 0; i < w->n_cols; i++) {
		struct col *c = &w->cols[i];
		c->node = &schema->nodes[schema->leaves[i]];
		c->max_def = c->node->max_def;
		c->max_rep = c->node->max_rep;
		c->type = c->node->type;
		if (c->max_def > 255 || c->max_rep > 255 ||
		    (c->type != TPQ_T_BOOLEAN && c->type != TPQ_T_INT32 && c->type != TPQ_T_INT64 &&
		     c->type != TPQ_T_BYTE_ARRAY)) {
			tpq_error_set(err, TPQ_EUNSUPPORTED, "column '%s' has an unsupported type or nesting",
				      c->node->name);
			tpq_pw_free(w);
			return NULL;
		}
		c->delta = (c->node->flags & TPQ_COL_DELTA) &&
			   (c->type == TPQ_T_INT32 || c->type == TPQ_T_INT64);
		c->delta_len = (c->node->flags & TPQ_COL_DELTA) && c->type == TPQ_T_BYTE_ARRAY;
		c->want_dict = w->opt.dictionary && c->type != TPQ_T_BOOLEAN && !c->delta &&
			       !c->delta_len &&
			       !(c->node->flags & TPQ_COL_NO_DICT);
		c->want_bloom = (c->node->flags & TPQ_COL_BLOOM) && c->type != TPQ_T_BOOLEAN;
		c->want_stats = w->opt.statistics && !(c->node->flags & TPQ_COL_NO_STATS);
		c->dict_on = c->want_dict;
		c->page_seq = 1;
	}
	/* PAR1 */
	enum tpq_status st = tpq_sink_write(sink, "PAR1", 4, err);
	if (st) {
		tpq_pw_free(w);
		return NULL;
	}
	return w;
oom_free:
	tpq_pw_free(w);
oom:
	tpq_error_set(err, TPQ_ENOMEM, "out of memory creating the Parquet writer");
	return NULL;
}

/* ---- value puts ---- */

__attribute__((noinline)) static bool levels_grow(struct tpq_pw *w, struct col *c)
{
	size_t cap = c->cap_levels ? c->cap_levels * 2 : 1024;
	uint8_t *d = realloc(c->defs, cap);
	if (!d)
		goto oom;
	c->defs = d;
	if (c->max_rep) {
		uint8_t *r = realloc(c->reps, cap);
		if (!r)
			goto oom;
		c->reps = r;
	}
	c->cap_levels = cap;
	return true;
oom:
	fail(w, TPQ_ENOMEM, "out of memory buffering levels");
	return false;
}

/* Appends one (def, rep) entry to c's page, counting row starts (a second
 * start for the same row before end_row is an error). Levels are checked by
 * the caller. Repetition levels are kept only for repeated columns. */
static inline bool push_level(struct tpq_pw *w, struct col *c, int def, int rep)
{
	if (c->n_levels == c->cap_levels && !levels_grow(w, c))
		return false;
	if (rep == 0) {
		if (c->row_starts != w->rows) {
			fail(w, TPQ_EINVAL, "a column was given more than one row before end_row");
			return false;
		}
		c->row_starts++;
		w->started++;
	}
	c->defs[c->n_levels] = (uint8_t)def;
	if (c->max_rep)
		c->reps[c->n_levels] = (uint8_t)rep;
	c->n_levels++;
	return true;
}

/* Why a put was refused (the put paths test everything with two compares and
 * come here only to name the error). */
__attribute__((noinline, cold)) static void bad_put(struct tpq_pw *w, int col, int def, int rep,
						    int want_type)
{
	if (w->err)
		return;
	if (col < 0 || (size_t)col >= w->n_cols) {
		fail(w, TPQ_EINVAL, "column index out of range");
		return;
	}
	const struct col *c = &w->cols[col];
	if (want_type >= 0 && (int)c->type != want_type)
		fail(w, TPQ_EINVAL, want_type == TPQ_T_BYTE_ARRAY
					    ? "put_bytes on a column that is not BYTE_ARRAY"
					    : "value put has the wrong type for its column");
	else if (want_type < 0 && def == c->max_def)
		fail(w, TPQ_EINVAL, "a null needs a definition level below the column's maximum");
	else
		fail(w, TPQ_EINVAL, "definition or repetition level out of range");
}

void tpq_pw_put_null(struct tpq_pw *w, int col, int def, int rep)
{
	if (w->err || (unsigned)col >= w->n_cols) {
		bad_put(w, col, def, rep, -1);
		return;
	}
	struct col *c = &w->cols[col];
	if ((unsigned)def >= (unsigned)c->max_def || (unsigned)rep > (unsigned)c->max_rep) {
		bad_put(w, col, def, rep, -1);
		return;
	}
	push_level(w, c, def, rep);
}

void tpq_pw_put_null_node(struct tpq_pw *w, int node, int def, int rep)
{
	if (w->err)
		return;
	if (node < 0 || (size_t)node >= w->schema->n_nodes) {
		fail(w, TPQ_EINVAL, "schema node out of range");
		return;
	}
	/* tpq_pw_put_null for each leaf, with the level checks done once against
	 * the lowest maxima under the node */
	const struct tpq_schema_node *n = &w->schema->nodes[node];
	if ((unsigned)def >= (unsigned)w->node_def_lim[node] ||
	    (unsigned)rep > (unsigned)w->node_rep_lim[node]) {
		fail(w, TPQ_EINVAL, "definition or repetition level out of range");
		return;
	}
	struct col *c = &w->cols[n->first_leaf], *end = c + n->n_leaves;
	for (; c < end; c++)
		if (!push_level(w, c, def, rep))
			return;
}

void tpq_pw_put_null_cols(struct tpq_pw *w, int first_col, int n_cols, int def, int rep)
{
	if (w->err)
		return;
	if (first_col < 0 || n_cols < 0 || (size_t)first_col + (size_t)n_cols > w->n_cols) {
		fail(w, TPQ_EINVAL, "column range out of range");
		return;
	}
	struct col *c = &w->cols[first_col], *end = c + n_cols;
	for (; c < end; c++) {
		if ((unsigned)def >= (unsigned)c->max_def || (unsigned)rep > (unsigned)c->max_rep) {
			fail(w, TPQ_EINVAL, "definition or repetition level out of range");
			return;
		}
		if (!push_level(w, c, def, rep))
			return;
	}
}

static inline bool idx_room(struct tpq_pw *w, struct col *c)
{
	if (c->n_idx < c->cap_idx)
		return true;
	if (grow((void **)&c->idx, &c->cap_idx, c->n_idx + 1, sizeof(uint32_t)) == 0)
		return true;
	fail(w, TPQ_ENOMEM, "out of memory");
	return false;
}

/* A present value of a dictionary-encoded page: its index, and, the first
 * time the page sees the entry, the page bounds (and the Bloom set, the first
 * time the chunk sees it). A repeat of the previous value is one comparison. */
static void put_dict(struct tpq_pw *w, struct col *c, const void *p, size_t n, int64_t iv)
{
	struct dict *d = &c->dict;
	if (!idx_room(w, c))
		return;
	if (c->have_last) {
		bool same = c->type == TPQ_T_BYTE_ARRAY
				    ? drec_get(d, c->last_off, DREC_LEN) == n &&
					      bytes_equal(d->bytes.p + c->last_off + DREC_HDR, p, n)
				    : c->last_i == iv;
		if (same) {
			c->idx[c->n_idx++] = c->last_e;
			return;
		}
	}
	bool fresh;
	int64_t off = dict_lookup(d, p, n, dict_hash(p, n), &fresh);
	if (off < 0) {
		fail(w, TPQ_ENOMEM, "out of memory growing a dictionary");
		return;
	}
	uint32_t e = drec_get(d, (size_t)off, DREC_INDEX);
	c->idx[c->n_idx++] = e;
	c->have_last = true;
	c->last_e = e;
	c->last_off = (size_t)off;
	c->last_i = iv;
	if (fresh)
		d->plain_size += n + (c->type == TPQ_T_BYTE_ARRAY ? 4 : 0);
	if (drec_get(d, (size_t)off, DREC_MARK) == c->page_seq)
		return;
	drec_set(d, (size_t)off, DREC_MARK, c->page_seq);
	if (c->want_stats)
		bounds_update(c->type, &c->page_has_bounds, &c->page_min, &c->page_max, p, n, iv);
	if (fresh && c->want_bloom && bloom_add(w, &c->bloom, tpq_xxh64(p, n, 0)))
		fail(w, TPQ_ENOMEM, "out of memory");
}

/* A present value of a PLAIN (or DELTA) page. A repeat of the previous value
 * skips bounds and the Bloom set. */
static void put_plain(struct tpq_pw *w, struct col *c, const void *p, size_t n, int64_t iv)
{
	struct tpq_buf *b = &c->plain;
	bool same;
	switch (c->type) {
	case TPQ_T_BYTE_ARRAY:
		same = c->have_last && c->last_len == n && bytes_equal(b->p + c->last_off, p, n);
		tpq_buf_put_le32(b, (uint32_t)n);
		c->last_off = b->len;
		c->last_len = n;
		tpq_buf_put(b, p, n);
		break;
	case TPQ_T_BOOLEAN:
		same = c->have_last && c->last_i == iv;
		tpq_buf_put_u8(b, (uint8_t)(iv != 0));
		break;
	default:
		same = c->have_last && c->last_i == iv;
		tpq_buf_put(b, p, n);
		break;
	}
	if (b->err) {
		fail(w, b->err, "out of memory buffering values");
		return;
	}
	if (same)
		return;
	c->have_last = true;
	c->last_i = iv;
	if (c->want_bloom && bloom_add(w, &c->bloom, tpq_xxh64(p, n, 0))) {
		fail(w, TPQ_ENOMEM, "out of memory");
		return;
	}
	if (c->want_stats)
		bounds_update(c->type, &c->page_has_bounds, &c->page_min, &c->page_max, p, n, iv);
}

/* Records a present value: into the dictionary (if on) or the PLAIN buffer,
 * and into statistics and the Bloom set. */
static inline void put_value(struct tpq_pw *w, struct col *c, const void *p, size_t n, int64_t iv)
{
	c->n_values++;
	if (c->dict_on)
		put_dict(w, c, p, n, iv);
	else
		put_plain(w, c, p, n, iv);
}

/* The column of a present value of type t, with its level pushed; NULL if
 * the put is refused. */
static inline struct col *value_col(struct tpq_pw *w, int col, int rep, enum tpq_type t)
{
	if (w->err || (unsigned)col >= w->n_cols) {
		bad_put(w, col, 0, rep, (int)t);
		return NULL;
	}
	struct col *c = &w->cols[col];
	if (c->type != t || (unsigned)rep > (unsigned)c->max_rep) {
		bad_put(w, col, c->max_def, rep, (int)t);
		return NULL;
	}
	return push_level(w, c, c->max_def, rep) ? c : NULL;
}

void tpq_pw_put_bytes(struct tpq_pw *w, int col, int rep, const void *p, size_t n)
{
	if (n > UINT32_MAX - 8) {
		fail(w, TPQ_ELIMIT, "value too large for a Parquet BYTE_ARRAY");
		return;
	}
	struct col *c = value_col(w, col, rep, TPQ_T_BYTE_ARRAY);
	if (c)
		put_value(w, c, n ? p : "", n, 0);
}

static inline void put_int(struct tpq_pw *w, int col, int rep, int64_t v, enum tpq_type want)
{
	struct col *c = value_col(w, col, rep, want);
	if (!c)
		return;
	uint8_t le[8];
	size_t n = want == TPQ_T_INT32 ? 4 : want == TPQ_T_INT64 ? 8 : 1;
	for (size_t k = 0; k < 8; k++)
		le[k] = (uint8_t)((uint64_t)v >> (8 * k));
	put_value(w, c, le, n, v);
}

void tpq_pw_put_i32(struct tpq_pw *w, int col, int rep, int32_t v)
{
	put_int(w, col, rep, v, TPQ_T_INT32);
}

void tpq_pw_put_i64(struct tpq_pw *w, int col, int rep, int64_t v)
{
	put_int(w, col, rep, v, TPQ_T_INT64);
}

void tpq_pw_put_bool(struct tpq_pw *w, int col, int rep, bool v)
{
	put_int(w, col, rep, v ? 1 : 0, TPQ_T_BOOLEAN);
}

/* ---- pages ---- */

static size_t page_estimate(const struct col *c)
{
	size_t lv = (c->max_def ? c->n_levels / 4 : 0) + (c->max_rep ? c->n_levels / 4 : 0);
	return lv + c->plain.len + c->n_idx * 2;
}

static size_t col_buffered(const struct col *c)
{
	return (size_t)c->uncompressed + c->held.len + page_estimate(c) + c->dict.plain_size;
}

/* Adds a page (header + compressed body from w->comp) to the chunk. */
static void emit_page(struct tpq_pw *w, struct col *c, struct tpq_page_header *ph,
		      struct tpq_buf *dst)
{
	if (w->opt.page_crc) {
		ph->has_crc = true;
		ph->crc = (int32_t)crc32(crc32(0L, Z_NULL, 0), w->comp.p, (uInt)w->comp.len);
	}
	tpq_buf_reset(&w->hdr);
	tpq_meta_put_page_header(&w->hdr, ph);
	tpq_buf_put(dst, w->hdr.p, w->hdr.len);
	tpq_buf_put(dst, w->comp.p, w->comp.len);
	if (w->hdr.err || dst->err)
		fail(w, TPQ_ENOMEM, "out of memory buffering pages");
}

/* Compresses p[0..n) into w->comp. */
static enum tpq_status compress_bytes(struct tpq_pw *w, const void *p, size_t n)
{
	if (n > INT32_MAX)
		return TPQ_ELIMIT;
	tpq_buf_reset(&w->comp);
	struct tpq_error e;
	tpq_error_clear(&e);
	enum tpq_status st = tpq_codec_compress(w->codec, w->opt.codec, w->opt.level, p, n,
						&w->comp, &e);
	if (st == TPQ_OK && w->comp.err)
		st = w->comp.err;
	if (st == TPQ_OK && w->comp.len > INT32_MAX)
		st = TPQ_ELIMIT;
	return st;
}

/* ---- DELTA_BINARY_PACKED (Encodings.md) ----
 *
 *   header: <block size 128> <4 miniblocks> <value count> <first value, zigzag>
 *   block:  <min delta, zigzag> <4 bit widths, a byte each> <miniblocks>
 *   miniblock: 32 values of (delta - min delta), bit-packed LSB first, the
 *   last needed one padded with zeros; unneeded ones have width 0, no body.
 * Deltas use the physical type's wrapping arithmetic (32-bit for INT32), so a
 * reader decoding in that width gets the same values back. */

#define DELTA_BLOCK 128
#define DELTA_MINIBLOCKS 4
#define DELTA_MINI (DELTA_BLOCK / DELTA_MINIBLOCKS)

static inline uint64_t zigzag64(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

struct bitw {
	struct tpq_buf *out;
	uint64_t acc;
	int n;
};

static void bitw_put(struct bitw *b, uint64_t v, int w)
{
	while (w > 0) {
		int take = w < 64 - b->n ? w : 64 - b->n;
		uint64_t part = take == 64 ? v : v & ((UINT64_C(1) << take) - 1);
		b->acc |= part << b->n;
		b->n += take;
		v = take == 64 ? 0 : v >> take;
		w -= take;
		if (b->n == 64) {
			tpq_buf_put_le64(b->out, b->acc);
			b->acc = 0;
			b->n = 0;
		}
	}
}

static void bitw_flush(struct bitw *b)
{
	for (int k = 0; k < b->n; k += 8)
		tpq_buf_put_u8(b->out, (uint8_t)(b->acc >> k));
	b->acc = 0;
	b->n = 0;
}

static int64_t delta_value(const uint8_t *plain, size_t i, bool is32)
{
	return is32 ? (int64_t)(int32_t)tpq_le32(plain + i * 4) : (int64_t)tpq_le64(plain + i * 8);
}

static void delta_encode(struct tpq_buf *out, const uint8_t *plain, size_t n, bool is32)
{
	tpq_buf_put_uleb(out, DELTA_BLOCK);
	tpq_buf_put_uleb(out, DELTA_MINIBLOCKS);
	tpq_buf_put_uleb(out, n);
	int64_t prev = n ? delta_value(plain, 0, is32) : 0;
	tpq_buf_put_uleb(out, zigzag64(prev));
	int64_t d[DELTA_BLOCK];
	uint64_t u[DELTA_BLOCK];
	for (size_t i = 1; i < n;) {
		/* a block of up to 128 deltas starting at value i */
		size_t k = 0;
		for (; k < DELTA_BLOCK && i + k < n; k++) {
			int64_t x = delta_value(plain, i + k, is32);
			d[k] = is32 ? (int64_t)(int32_t)((uint32_t)x - (uint32_t)prev)
				    : (int64_t)((uint64_t)x - (uint64_t)prev);
			prev = x;
		}
		int64_t min = d[0];
		for (size_t j = 1; j < k; j++)
			if (d[j] < min)
				min = d[j];
		tpq_buf_put_uleb(out, zigzag64(min));
		for (size_t j = 0; j < DELTA_BLOCK; j++)
			u[j] = j >= k ? 0
			       : is32 ? (uint64_t)(uint32_t)((uint32_t)d[j] - (uint32_t)min)
				      : (uint64_t)d[j] - (uint64_t)min;
		int bw[DELTA_MINIBLOCKS];
		size_t used = (k + DELTA_MINI - 1) / DELTA_MINI;
		for (size_t m = 0; m < DELTA_MINIBLOCKS; m++) {
			uint64_t mx = 0;
			for (size_t j = 0; m < used && j < DELTA_MINI; j++)
				mx |= u[m * DELTA_MINI + j];
			bw[m] = mx ? 64 - __builtin_clzll(mx) : 0;
			tpq_buf_put_u8(out, (uint8_t)bw[m]);
		}
		struct bitw b = {out, 0, 0};
		for (size_t m = 0; m < used; m++) {
			for (size_t j = 0; j < DELTA_MINI; j++)
				bitw_put(&b, u[m * DELTA_MINI + j], bw[m]);
			bitw_flush(&b);
		}
		i += k;
	}
}

/* DELTA_LENGTH_BYTE_ARRAY (Encodings.md): the n lengths DELTA_BINARY_PACKED,
 * then the values' bytes back to back, from a PLAIN image (4-byte length,
 * bytes, ...). For fixed-length ids (CloudTrail's eventid, requestid) the
 * lengths take a few bytes a page and ZSTD sees only the ids' characters:
 * their pages were 6.3% smaller than PLAIN's. */
static void delta_length_encode(struct tpq_pw *w, struct tpq_buf *out, const uint8_t *plain,
				size_t len, size_t n)
{
	struct tpq_buf *l = &w->lens;
	tpq_buf_reset(l);
	for (size_t at = 0; at + 4 <= len;) {
		uint32_t k = tpq_le32(plain + at);
		tpq_buf_put_le32(l, k);
		at += 4 + (size_t)k;
	}
	if (l->err) {
		out->err = l->err;
		return;
	}
	delta_encode(out, l->p, n, true);
	if (out->err || tpq_buf_reserve(out, len))
		return;
	for (size_t at = 0; at + 4 <= len;) {
		uint32_t k = tpq_le32(plain + at);
		memcpy(out->p + out->len, plain + at + 4, k);
		out->len += k;
		at += 4 + (size_t)k;
	}
}

static void put_levels(struct tpq_buf *b, const uint8_t *lv, size_t n, int max)
{
	size_t at = b->len;
	tpq_buf_put_le32(b, 0);
	tpq_rle_encode_u8_runs(b, lv, n, tpq_bit_width((uint32_t)max), LEVEL_MIN_RUN);
	if (!b->err) {
		uint32_t len = (uint32_t)(b->len - at - 4);
		for (int k = 0; k < 4; k++)
			b->p[at + (size_t)k] = (uint8_t)(len >> (8 * k));
	}
}

/* Adds the data page whose compressed body is in w->comp (uncompressed
 * `usize` bytes, `enc` its values' encoding) to the chunk, its header made
 * from *pm, which gets the page's place in `pages` and size. */
static void put_data_page(struct tpq_pw *w, struct col *c, struct page_meta *pm,
			  enum tpq_encoding enc, size_t usize)
{
	struct tpq_page_header ph;
	memset(&ph, 0, sizeof(ph));
	ph.type = TPQ_PAGE_DATA;
	ph.uncompressed_page_size = (int32_t)usize;
	ph.compressed_page_size = (int32_t)w->comp.len;
	ph.has_data_page_header = true;
	ph.data_page_header.num_values = pm->n_levels;
	ph.data_page_header.encoding = enc;
	ph.data_page_header.definition_level_encoding = TPQ_ENC_RLE;
	ph.data_page_header.repetition_level_encoding = TPQ_ENC_RLE;
	if (c->want_stats || w->opt.page_index) {
		struct tpq_statistics *ps = &ph.data_page_header.statistics;
		ph.data_page_header.has_statistics = w->opt.statistics;
		ps->has_null_count = true;
		ps->null_count = pm->nulls;
		if (pm->min) {
			ps->has_min = true;
			ps->min_value = pm->min;
			ps->min_len = pm->min_len;
		}
		if (pm->max) {
			ps->has_max = true;
			ps->max_value = pm->max;
			ps->max_len = pm->max_len;
		}
	}
	size_t before = c->pages.len;
	pm->offset = (int64_t)before;
	emit_page(w, c, &ph, &c->pages);
	pm->size = (int32_t)(c->pages.len - before);
	c->uncompressed += (int64_t)(c->pages.len - before - w->comp.len + usize);
}

/* ---- dictionary sort: a multikey quicksort (Bentley and Sedgewick) whose
 * "character" is 8 bytes ----
 *
 * Keys in a[0..n) agree on their first d bytes and are all longer than d.
 * At depth d a key is the pair (word, rest): word its bytes [d, d+8) as a
 * big-endian number, zero-padded, and rest = min(len - d, 9). Pairs order
 * the values as bytewise comparison does: the zero padding ties "ab" with
 * "ab\0", and rest then puts the shorter (a prefix of the other) first. Keys
 * whose pairs are equal with rest 9 agree on d+8 bytes and are sorted
 * again at depth d + 8; other equal pairs are equal values, which a
 * dictionary has not. Records are zero-padded to 8 bytes past their value
 * (struct dict), so the word is one load whenever d < len.
 *
 * Three-way partitions around a median of three; the two smaller parts are
 * sorted by recursion and the largest by the loop, so recursion is at most
 * log2(n) deep whatever the values. */

static inline uint64_t load_be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	       (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	       (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

static inline uint32_t dkey_rest(const struct dkey *k, size_t d)
{
	return k->len - d < 9 ? (uint32_t)(k->len - d) : 9;
}

/* <0, 0, >0 as (word, rest) of x is below, equal to or above y's at depth d. */
static inline int dkey_cmp(const struct dkey *x, const struct dkey *y, size_t d)
{
	if (x->word != y->word)
		return x->word < y->word ? -1 : 1;
	uint32_t rx = dkey_rest(x, d), ry = dkey_rest(y, d);
	return (rx > ry) - (rx < ry);
}

static void dkey_words(struct dkey *a, size_t n, size_t d)
{
	for (size_t i = 0; i < n; i++)
		a[i].word = load_be64(a[i].p + d);
}

static inline void dkey_swap(struct dkey *a, size_t i, size_t j)
{
	struct dkey t = a[i];
	a[i] = a[j];
	a[j] = t;
}

static void dkey_sort(struct dkey *a, size_t n, size_t d)
{
	while (n > 1) {
		if (n < 12) { /* insertion sort, comparing whole values from d on */
			for (size_t i = 1; i < n; i++) {
				for (size_t j = i; j > 0; j--) {
					const struct dkey *x = &a[j - 1], *y = &a[j];
					int c = dkey_cmp(x, y, d);
					if (c == 0 && dkey_rest(x, d) == 9)
						c = cmp_bytes(x->p + d + 8, x->len - d - 8, y->p + d + 8,
							      y->len - d - 8);
					if (c <= 0)
						break;
					dkey_swap(a, j - 1, j);
				}
			}
			return;
		}
		size_t m = n / 2;
		if (dkey_cmp(&a[0], &a[m], d) > 0)
			dkey_swap(a, 0, m);
		if (dkey_cmp(&a[m], &a[n - 1], d) > 0) {
			dkey_swap(a, m, n - 1);
			if (dkey_cmp(&a[0], &a[m], d) > 0)
				dkey_swap(a, 0, m);
		}
		struct dkey pivot = a[m];
		/* [0, lt) below, [lt, i) equal, [i, gt) unseen, [gt, n) above */
		size_t lt = 0, i = 0, gt = n;
		while (i < gt) {
			int c = dkey_cmp(&a[i], &pivot, d);
			if (c < 0)
				dkey_swap(a, lt++, i++);
			else if (c > 0)
				dkey_swap(a, i, --gt);
			else
				i++;
		}
		size_t n_lo = lt, n_eq = gt - lt, n_hi = n - gt;
		bool eq_deeper = n_eq > 1 && dkey_rest(&pivot, d) == 9;
		struct dkey *lo = a, *eq = a + lt, *hi = a + gt;
		if (!eq_deeper)
			n_eq = 0; /* done: one value */
		if (n_eq >= n_lo && n_eq >= n_hi) {
			dkey_sort(lo, n_lo, d);
			dkey_sort(hi, n_hi, d);
			d += 8;
			dkey_words(eq, n_eq, d);
			a = eq;
			n = n_eq;
		} else {
			if (n_eq) {
				dkey_words(eq, n_eq, d + 8);
				dkey_sort(eq, n_eq, d + 8);
			}
			if (n_lo >= n_hi) {
				dkey_sort(hi, n_hi, d);
				a = lo;
				n = n_lo;
			} else {
				dkey_sort(lo, n_lo, d);
				a = hi;
				n = n_hi;
			}
		}
	}
}

/* Sorts c's BYTE_ARRAY dictionary bytewise into w->dkeys and fills w->remap
 * (old index -> place in that order). Returns false when the order is the
 * insertion order already (nothing to renumber) or on error. */
static bool sort_dict(struct tpq_pw *w, struct col *c)
{
	const struct dict *d = &c->dict;
	size_t n = d->n;
	if (grow((void **)&w->dkeys, &w->cap_dkeys, n, sizeof(struct dkey)) ||
	    grow((void **)&w->remap, &w->cap_remap, n, sizeof(uint32_t))) {
		fail(w, TPQ_ENOMEM, "out of memory sorting a dictionary");
		return false;
	}
	/* depth 0: every key is longer than 0 bytes but for the empty string,
	 * which is first and stays out of the sort */
	size_t k = 0, first = 0;
	for (size_t off = 0; off < d->bytes.len && k < n; k++) {
		uint32_t len = drec_get(d, off, DREC_LEN);
		const uint8_t *p = d->bytes.p + off + DREC_HDR;
		struct dkey key = {len ? load_be64(p) : 0, p, len, drec_get(d, off, DREC_INDEX)};
		if (len == 0) {
			w->dkeys[k] = w->dkeys[0];
			w->dkeys[0] = key;
			first = 1;
		} else {
			w->dkeys[k] = key;
		}
		off += (DREC_HDR + len + 7) & ~(size_t)7;
	}
	dkey_sort(w->dkeys + first, n - first, 0);
	bool moved = false;
	for (size_t i = 0; i < n; i++) {
		w->remap[w->dkeys[i].index] = (uint32_t)i;
		moved |= w->dkeys[i].index != i;
	}
	return moved;
}

/* Makes c's dictionary page (PLAIN entries, in w->dkeys order when sorted)
 * into c->dict_page. */
static void make_dict_page(struct tpq_pw *w, struct col *c, bool sorted)
{
	struct tpq_buf *s = &w->scratch;
	tpq_buf_reset(s);
	const struct dict *d = &c->dict;
	if (sorted) {
		for (size_t i = 0; i < d->n; i++) {
			tpq_buf_put_le32(s, w->dkeys[i].len);
			tpq_buf_put(s, w->dkeys[i].p, w->dkeys[i].len);
		}
	} else {
		for (size_t off = 0; off < d->bytes.len;) {
			uint32_t len = drec_get(d, off, DREC_LEN);
			if (c->type == TPQ_T_BYTE_ARRAY)
				tpq_buf_put_le32(s, len);
			tpq_buf_put(s, d->bytes.p + off + DREC_HDR, len);
			off += (DREC_HDR + len + 7) & ~(size_t)7;
		}
	}
	size_t uncompressed = s->len;
	enum tpq_status st = s->err ? s->err : compress_bytes(w, s->p, s->len);
	if (st) {
		fail(w, st, "compressing a dictionary page failed");
		return;
	}
	struct tpq_page_header ph;
	memset(&ph, 0, sizeof(ph));
	ph.type = TPQ_PAGE_DICTIONARY;
	ph.uncompressed_page_size = (int32_t)uncompressed;
	ph.compressed_page_size = (int32_t)w->comp.len;
	ph.has_dictionary_page_header = true;
	ph.dictionary_page_header.num_values = (int32_t)d->n;
	ph.dictionary_page_header.encoding = TPQ_ENC_PLAIN;
	tpq_buf_reset(&c->dict_page);
	emit_page(w, c, &ph, &c->dict_page);
	c->dict_usize = (int64_t)(c->dict_page.len - w->comp.len + uncompressed);
}

/* The dictionary is final (fallback to PLAIN, or the chunk ends): writes its
 * page, sorted bytewise for BYTE_ARRAY (similar values side by side
 * compress better: 14-18% fewer dictionary bytes on CloudTrail), and
 * compresses the held pages into the chunk, their indices renumbered to the
 * sorted order at the final bit width. Other types keep insertion order.
 * Runs right after the cut of the chunk's last dictionary-encoded page,
 * whose indices are still in c->idx (pm->raw): most chunks have one page,
 * which is then encoded once, as before the sort. */
static void finish_dict(struct tpq_pw *w, struct col *c)
{
	if (w->err || c->n_held == 0)
		return;
	int bw = tpq_bit_width(c->dict.n ? (uint32_t)(c->dict.n - 1) : 0);
	uint64_t n_idx = 0;
	for (size_t k = 0; k < c->n_held; k++)
		n_idx += c->pm[k].n_idx;
	/* Sorting also renumbers the indices, and their pages compress worse
	 * when frequent values lose the small first-seen numbers: a column with
	 * few distinct values (resources.arn, tlsdetails' host header) lost up
	 * to 19% there for little dictionary gain. So only a dictionary of at
	 * least half the indices' packed bytes is sorted (1000 MB lake,
	 * compacted: 1.6% smaller with this rule, 1.1% sorting every one). */
	bool sorted = c->type == TPQ_T_BYTE_ARRAY && c->dict.n > 1 &&
		      (double)c->dict.plain_size * 2 >= (double)n_idx * bw / 8 && sort_dict(w, c);
	make_dict_page(w, c, sorted);
	struct tpq_buf *s = &w->scratch;
	for (size_t k = 0; k < c->n_held && !w->err; k++) {
		struct page_meta *pm = &c->pm[k];
		const uint8_t *body = c->held.p + pm->held_off;
		const uint8_t *data = body;
		size_t n = pm->held_len;
		if (pm->raw || sorted) {
			uint32_t *v = c->idx;
			if (!pm->raw) {
				size_t used;
				const uint8_t *idx = body + pm->held_lv;
				if (grow((void **)&w->vals, &w->cap_vals, pm->n_idx, sizeof(uint32_t))) {
					fail(w, TPQ_ENOMEM, "out of memory renumbering a page");
					return;
				}
				v = w->vals;
				if (tpq_rle_decode(idx + 1, pm->held_len - pm->held_lv - 1, idx[0], v,
						   pm->n_idx, &used)) {
					fail(w, TPQ_ECORRUPT, "a held page's indices do not decode");
					return;
				}
			}
			if (sorted)
				for (size_t i = 0; i < pm->n_idx; i++)
					v[i] = w->remap[v[i]];
			tpq_buf_reset(s);
			tpq_buf_put(s, body, pm->held_lv);
			tpq_buf_put_u8(s, (uint8_t)bw);
			tpq_rle_encode_runs(s, v, pm->n_idx, bw, INDEX_MIN_RUN);
			if (s->err) {
				fail(w, s->err, "out of memory encoding a data page");
				return;
			}
			data = s->p;
			n = s->len;
		}
		enum tpq_status st = compress_bytes(w, data, n);
		if (st) {
			fail(w, st, "compressing a data page failed");
			return;
		}
		put_data_page(w, c, pm, TPQ_ENC_RLE_DICTIONARY, n);
	}
	tpq_buf_reset(&c->held);
	c->n_held = 0;
}

/* Cuts the page being filled (if it has any levels) into the chunk: a
 * dictionary-encoded page into `held`, any other compressed into `pages`.
 * `last`: the caller calls finish_dict right after (the chunk or its
 * dictionary ends), so a dictionary page's indices may stay in c->idx. */
static void cut_page(struct tpq_pw *w, struct col *c, bool last)
{
	if (w->err || c->n_levels == 0)
		return;
	bool dict_page = c->dict_on;
	/* The first page tells whether a dictionary pays: nearly all distinct
	 * values means PLAIN from here on. */
	bool give_up = dict_page && c->n_pm == 0 && c->n_values >= 64 &&
		       c->dict.n * 10 >= c->n_values * 9;
	bool raw = dict_page && (last || give_up);
	struct tpq_buf *s = dict_page ? &c->held : &w->scratch;
	if (!dict_page)
		tpq_buf_reset(s);
	size_t body = s->len;
	if (c->max_rep)
		put_levels(s, c->reps, c->n_levels, c->max_rep);
	if (c->max_def)
		put_levels(s, c->defs, c->n_levels, c->max_def);
	size_t lv = s->len - body;
	if (raw) {
		/* indices stay in c->idx for finish_dict */
	} else if (dict_page) {
		uint32_t max_idx = c->dict.n ? (uint32_t)(c->dict.n - 1) : 0;
		int bw = tpq_bit_width(max_idx);
		tpq_buf_put_u8(s, (uint8_t)bw);
		tpq_rle_encode_runs(s, c->idx, c->n_idx, bw, INDEX_MIN_RUN);
	} else if (c->delta) {
		delta_encode(s, c->plain.p, c->n_values, c->type == TPQ_T_INT32);
	} else if (c->delta_len) {
		delta_length_encode(w, s, c->plain.p, c->plain.len, c->n_values);
	} else if (c->type == TPQ_T_BOOLEAN) {
		uint8_t acc = 0;
		size_t k;
		for (k = 0; k < c->plain.len; k++) {
			acc |= (uint8_t)(c->plain.p[k] << (k & 7));
			if ((k & 7) == 7) {
				tpq_buf_put_u8(s, acc);
				acc = 0;
			}
		}
		if (k & 7)
			tpq_buf_put_u8(s, acc);
	} else {
		tpq_buf_put(s, c->plain.p, c->plain.len);
	}
	if (s->err) {
		fail(w, s->err, "out of memory encoding a data page");
		return;
	}
	/* page statistics */
	struct page_meta pmeta;
	memset(&pmeta, 0, sizeof(pmeta));
	int64_t page_nulls = (int64_t)(c->n_levels - c->n_values); /* every other entry is a null */
	pmeta.nulls = page_nulls;
	pmeta.all_null = c->n_values == 0;
	pmeta.first_row = c->page_first_row;
	pmeta.n_levels = (int32_t)c->n_levels;
	if ((c->want_stats || w->opt.page_index) && c->page_has_bounds) {
		/* Each bound on its own: a max that cannot be rounded up leaves
		 * the min, which is still true. */
		bool ex;
		make_bound(c->type, &c->page_min, false, w->opt.stats_max_len, &pmeta.min,
			   &pmeta.min_len, &ex);
		make_bound(c->type, &c->page_max, true, w->opt.stats_max_len, &pmeta.max,
			   &pmeta.max_len, &ex);
	}
	if (c->n_pm == c->cap_pm &&
	    grow((void **)&c->pm, &c->cap_pm, c->n_pm + 1, sizeof(struct page_meta))) {
		free(pmeta.min);
		free(pmeta.max);
		fail(w, TPQ_ENOMEM, "out of memory");
		return;
	}
	struct page_meta *pm = &c->pm[c->n_pm++];
	*pm = pmeta;
	if (dict_page) {
		pm->n_idx = (uint32_t)c->n_idx;
		pm->raw = raw;
		pm->held_off = body;
		pm->held_lv = lv;
		pm->held_len = s->len - body;
		c->n_held++;
		c->n_dict_data_pages++;
	} else {
		enum tpq_status st = compress_bytes(w, s->p, s->len);
		if (st) {
			fail(w, st, "compressing a data page failed");
			return;
		}
		put_data_page(w, c, pm,
			      c->delta       ? TPQ_ENC_DELTA_BINARY_PACKED
			      : c->delta_len ? TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY
					     : TPQ_ENC_PLAIN,
			      s->len);
		if (c->delta)
			c->n_delta_data_pages++;
		else if (c->delta_len)
			c->n_dlba_data_pages++;
		else
			c->n_plain_data_pages++;
	}
	c->num_values += (int64_t)c->n_levels;
	c->chunk_nulls += page_nulls;
	if (c->page_has_bounds) {
		bounds_update(c->type, &c->chunk_has_bounds, &c->chunk_min, &c->chunk_max,
			      c->page_min.b.p, c->page_min.b.len, c->page_min.i);
		bounds_update(c->type, &c->chunk_has_bounds, &c->chunk_min, &c->chunk_max,
			      c->page_max.b.p, c->page_max.b.len, c->page_max.i);
	}
	if (give_up) {
		c->dict_on = false, c->dict_fallback = true;
		finish_dict(w, c);
	}
	c->n_levels = c->n_values = c->n_idx = 0;
	tpq_buf_reset(&c->plain);
	c->page_has_bounds = false;
	c->have_last = false;
	c->page_first_row = w->rg_rows;
	c->page_seq++;
}

/* ---- row groups ---- */

static enum tpq_boundary_order boundary_order(const struct col *c)
{
	bool asc = true, desc = true;
	const struct page_meta *prev = NULL;
	for (size_t i = 0; i < c->n_pm; i++) {
		const struct page_meta *p = &c->pm[i];
		if (p->all_null || !p->min || !p->max)
			continue;
		if (prev) {
			int cmin, cmax;
			if (c->type == TPQ_T_BYTE_ARRAY) {
				cmin = cmp_bytes(prev->min, prev->min_len, p->min, p->min_len);
				cmax = cmp_bytes(prev->max, prev->max_len, p->max, p->max_len);
			} else {
				int64_t a = 0, b = 0, x = 0, y = 0;
				for (size_t k = 0; k < prev->min_len && k < 8; k++)
					a |= (int64_t)((uint64_t)prev->min[k] << (8 * k));
				for (size_t k = 0; k < p->min_len && k < 8; k++)
					b |= (int64_t)((uint64_t)p->min[k] << (8 * k));
				for (size_t k = 0; k < prev->max_len && k < 8; k++)
					x |= (int64_t)((uint64_t)prev->max[k] << (8 * k));
				for (size_t k = 0; k < p->max_len && k < 8; k++)
					y |= (int64_t)((uint64_t)p->max[k] << (8 * k));
				if (c->type == TPQ_T_INT32) {
					a = (int32_t)a, b = (int32_t)b, x = (int32_t)x, y = (int32_t)y;
				}
				cmin = a < b ? -1 : a > b;
				cmax = x < y ? -1 : x > y;
			}
			if (cmin > 0 || cmax > 0)
				asc = false;
			if (cmin < 0 || cmax < 0)
				desc = false;
		}
		prev = p;
	}
	if (asc)
		return TPQ_BO_ASCENDING;
	if (desc)
		return TPQ_BO_DESCENDING;
	return TPQ_BO_UNORDERED;
}

static void fill_chunk_stats(struct tpq_pw *w, struct col *c, struct tpq_statistics *st)
{
	memset(st, 0, sizeof(*st));
	st->has_null_count = true;
	st->null_count = c->chunk_nulls;
	if (!c->dict_fallback && c->want_dict && c->n_dict_data_pages > 0 && c->n_plain_data_pages == 0) {
		st->has_distinct_count = true;
		st->distinct_count = (int64_t)c->dict.n;
	}
	if (c->want_stats && c->chunk_has_bounds) {
		bool ex_min, ex_max;
		uint8_t *mn = NULL, *mx = NULL;
		size_t mnl = 0, mxl = 0;
		if (make_bound(c->type, &c->chunk_min, false, w->opt.stats_max_len, &mn, &mnl, &ex_min)) {
			st->has_min = true;
			st->min_value = mn;
			st->min_len = mnl;
			if (c->type == TPQ_T_BYTE_ARRAY) {
				st->has_is_min_exact = true;
				st->is_min_exact = ex_min;
			}
		}
		if (make_bound(c->type, &c->chunk_max, true, w->opt.stats_max_len, &mx, &mxl, &ex_max)) {
			st->has_max = true;
			st->max_value = mx;
			st->max_len = mxl;
			if (c->type == TPQ_T_BYTE_ARRAY) {
				st->has_is_max_exact = true;
				st->is_max_exact = ex_max;
			}
		}
	}
}

static enum tpq_status sink_put(struct tpq_pw *w, const void *p, size_t n)
{
	if (w->err)
		return w->err;
	enum tpq_status st = tpq_sink_write(w->sink, p, n, &w->error);
	if (st)
		w->err = st;
	return st;
}

static enum tpq_status write_bloom(struct tpq_pw *w, struct col *c, struct tpq_column_meta_data *md)
{
	/* An all-null chunk still gets a (minimal, empty) filter: it lets
	 * engines skip the chunk for any equality predicate. */
	struct bloom_list *bl = &c->bloom;
	if (bl->n > 0) {
		if (w->sort_cap < bl->n) {
			uint64_t *t = realloc(w->sort_tmp, bl->n * sizeof(uint64_t));
			if (!t) {
				fail(w, TPQ_ENOMEM, "out of memory for a Bloom filter");
				return w->err;
			}
			w->sort_tmp = t;
			w->sort_cap = bl->n;
		}
		bl->n = sort_unique(bl->h, bl->n, w->sort_tmp);
	}
	uint64_t ndv = bl->n;
	struct tpq_bloom bf;
	uint32_t nbytes = tpq_bloom_optimal_bytes(ndv, w->opt.bloom_fpp, w->opt.bloom_max_bytes);
	if (tpq_bloom_init(&bf, nbytes)) {
		fail(w, TPQ_ENOMEM, "out of memory for a Bloom filter");
		return w->err;
	}
	for (size_t i = 0; i < bl->n; i++)
		tpq_bloom_insert(&bf, bl->h[i]);
	struct tpq_bloom_filter_header bh = {.num_bytes = (int32_t)bf.num_bytes};
	tpq_buf_reset(&w->hdr);
	tpq_meta_put_bloom_filter_header(&w->hdr, &bh);
	md->has_bloom_filter_offset = md->has_bloom_filter_length = true;
	md->bloom_filter_offset = (int64_t)w->sink->written;
	md->bloom_filter_length = (int32_t)(w->hdr.len + bf.num_bytes);
	if (w->hdr.err)
		fail(w, TPQ_ENOMEM, "out of memory");
	sink_put(w, w->hdr.p, w->hdr.len);
	sink_put(w, bf.bits, bf.num_bytes);
	tpq_bloom_release(&bf);
	return w->err;
}

static void col_chunk_reset(struct col *c)
{
	tpq_buf_reset(&c->pages);
	for (size_t i = 0; i < c->n_pm; i++) {
		free(c->pm[i].min);
		free(c->pm[i].max);
	}
	c->n_pm = 0;
	c->num_values = 0;
	c->uncompressed = 0;
	c->n_dict_data_pages = c->n_plain_data_pages = c->n_delta_data_pages = 0;
	c->n_dlba_data_pages = 0;
	c->chunk_nulls = 0;
	c->chunk_has_bounds = false;
	c->dict_on = c->want_dict;
	c->dict_fallback = false;
	c->page_first_row = 0;
	c->have_last = false;
	dict_reset(&c->dict);
	c->bloom.n = 0;
	tpq_buf_reset(&c->held);
	c->n_held = 0;
	tpq_buf_reset(&c->dict_page);
	c->dict_usize = 0;
}

static enum tpq_status flush_row_group(struct tpq_pw *w)
{
	if (w->err)
		return w->err;
	if (w->rg_rows == 0)
		return TPQ_OK;
	for (size_t i = 0; i < w->n_cols; i++) {
		cut_page(w, &w->cols[i], true);
		finish_dict(w, &w->cols[i]);
	}
	if (w->err)
		return w->err;
	if (w->n_rgs == w->cap_rgs &&
	    grow((void **)&w->rgs, &w->cap_rgs, w->n_rgs + 1, sizeof(struct rg_meta))) {
		fail(w, TPQ_ENOMEM, "out of memory");
		return w->err;
	}
	struct rg_meta *rm = &w->rgs[w->n_rgs];
	memset(rm, 0, sizeof(*rm));
	rm->rg.columns = calloc(w->n_cols, sizeof(struct tpq_column_chunk));
	rm->ci = calloc(w->n_cols, sizeof(struct chunk_index));
	if (!rm->rg.columns || !rm->ci) {
		free(rm->rg.columns);
		free(rm->ci);
		fail(w, TPQ_ENOMEM, "out of memory");
		return w->err;
	}
	w->n_rgs++;
	rm->rg.n_columns = w->n_cols;
	rm->rg.num_rows = w->rg_rows;
	rm->rg.has_file_offset = rm->rg.has_total_compressed_size = rm->rg.has_ordinal = true;
	rm->rg.file_offset = (int64_t)w->sink->written;
	rm->rg.ordinal = (int16_t)(w->n_rgs - 1);
	for (size_t i = 0; i < w->n_cols && !w->err; i++) {
		struct col *c = &w->cols[i];
		struct tpq_column_chunk *cc = &rm->rg.columns[i];
		struct tpq_column_meta_data *md = &cc->meta_data;
		cc->has_meta_data = true;
		int64_t start = (int64_t)w->sink->written;
		cc->file_offset = start;
		int64_t dsize = 0, dusize = 0;
		bool has_dict = c->n_dict_data_pages > 0;
		if (has_dict) {
			md->has_dictionary_page_offset = true;
			md->dictionary_page_offset = start;
			if (sink_put(w, c->dict_page.p, c->dict_page.len))
				break;
			dsize = (int64_t)c->dict_page.len;
			dusize = c->dict_usize;
		}
		int64_t data_start = (int64_t)w->sink->written;
		sink_put(w, c->pages.p, c->pages.len);
		md->type = c->type;
		md->codec = (int32_t)w->opt.codec;
		md->num_values = c->num_values;
		md->total_uncompressed_size = c->uncompressed + dusize;
		md->total_compressed_size = (int64_t)c->pages.len + dsize;
		md->data_page_offset = data_start;
		/* encodings, truthfully */
		enum tpq_encoding *enc = calloc(5, sizeof(*enc));
		struct tpq_page_encoding_stats *es = calloc(5, sizeof(*es));
		char **path = calloc(32, sizeof(char *));
		if (!enc || !es || !path) {
			free(enc);
			free(es);
			free(path);
			fail(w, TPQ_ENOMEM, "out of memory");
			break;
		}
		md->encodings = enc;
		md->encoding_stats = es;
		if (has_dict || c->n_plain_data_pages)
			enc[md->n_encodings++] = TPQ_ENC_PLAIN;
		if (c->max_def || c->max_rep || has_dict)
			enc[md->n_encodings++] = TPQ_ENC_RLE;
		if (has_dict)
			enc[md->n_encodings++] = TPQ_ENC_RLE_DICTIONARY;
		if (c->n_delta_data_pages)
			enc[md->n_encodings++] = TPQ_ENC_DELTA_BINARY_PACKED;
		if (c->n_dlba_data_pages)
			enc[md->n_encodings++] = TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY;
		if (c->n_delta_data_pages)
			es[md->n_encoding_stats++] = (struct tpq_page_encoding_stats){
				TPQ_PAGE_DATA, TPQ_ENC_DELTA_BINARY_PACKED, c->n_delta_data_pages};
		if (has_dict)
			es[md->n_encoding_stats++] = (struct tpq_page_encoding_stats){
				TPQ_PAGE_DICTIONARY, TPQ_ENC_PLAIN, 1};
		if (c->n_dict_data_pages)
			es[md->n_encoding_stats++] = (struct tpq_page_encoding_stats){
				TPQ_PAGE_DATA, TPQ_ENC_RLE_DICTIONARY, c->n_dict_data_pages};
		if (c->n_plain_data_pages)
			es[md->n_encoding_stats++] = (struct tpq_page_encoding_stats){
				TPQ_PAGE_DATA, TPQ_ENC_PLAIN, c->n_plain_data_pages};
		if (c->n_dlba_data_pages)
			es[md->n_encoding_stats++] = (struct tpq_page_encoding_stats){
				TPQ_PAGE_DATA, TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY, c->n_dlba_data_pages};
		/* path_in_schema: names from the leaf up to (not including) the root */
		int chain[32], depth = 0;
		for (int n = w->schema->leaves[i]; n > 0 && depth < 32; n = w->schema->nodes[n].parent)
			chain[depth++] = n;
		for (int k = 0; k < depth; k++)
			path[k] = w->schema->nodes[chain[depth - 1 - k]].name;
		md->path_in_schema = path;
		md->n_path = (size_t)depth;
		md->has_statistics = w->opt.statistics;
		if (md->has_statistics)
			fill_chunk_stats(w, c, &md->statistics);
		rm->rg.total_byte_size += md->total_uncompressed_size;
		rm->rg.total_compressed_size += md->total_compressed_size;
		/* page index entries: make page offsets absolute */
		struct chunk_index *ci = &rm->ci[i];
		ci->pages = c->pm;
		ci->n_pages = c->n_pm;
		for (size_t p = 0; p < ci->n_pages; p++)
			ci->pages[p].offset += data_start;
		ci->order = boundary_order(c);
		c->pm = NULL;
		c->n_pm = c->cap_pm = 0;
	}
	for (size_t i = 0; i < w->n_cols && !w->err; i++) {
		struct col *c = &w->cols[i];
		if (c->want_bloom)
			write_bloom(w, c, &rm->rg.columns[i].meta_data);
	}
	for (size_t i = 0; i < w->n_cols; i++)
		col_chunk_reset(&w->cols[i]);
	w->rg_first_row += w->rg_rows;
	w->rg_rows = 0;
	return w->err;
}

enum tpq_status tpq_pw_end_row(struct tpq_pw *w)
{
	if (w->err)
		return w->err;
	w->rows++;
	w->rg_rows++;
	if (w->started != w->n_cols) {
		for (size_t i = 0; i < w->n_cols; i++) {
			struct col *c = &w->cols[i];
			if (c->row_starts != w->rows) {
				char msg[300];
				snprintf(msg, sizeof(msg), "column '%s' was given %lld rows, expected %lld",
					 c->node->name, (long long)c->row_starts, (long long)w->rows);
				fail(w, TPQ_EINVAL, msg);
				return w->err;
			}
		}
	}
	w->started = 0;
	bool row_limit = (w->opt.row_group_rows > 0 && w->rg_rows >= w->opt.row_group_rows) ||
			 w->rg_rows >= INT32_MAX / 2;
	/* Page and row-group sizes are looked at every 16 rows (pages may
	 * overshoot their target by as many rows): a loop over every column per
	 * row cost more than all the value puts of a typical row. */
	if (!row_limit && (w->rg_rows & 15) != 0)
		return TPQ_OK;
	size_t total = 0;
	for (size_t i = 0; i < w->n_cols; i++) {
		struct col *c = &w->cols[i];
		bool dict_full = c->dict_on && c->dict.plain_size > w->opt.dict_max_bytes;
		if (page_estimate(c) >= w->opt.page_bytes || c->n_levels >= (size_t)1 << 30 ||
		    (c->n_levels && w->rg_rows - c->page_first_row >= DEFAULT_PAGE_ROWS &&
		     !(c->dict_on && c->dict.n <= SMALL_DICT_ENTRIES)) ||
		    dict_full) {
			cut_page(w, c, dict_full);
			if (dict_full) {
				c->dict_on = false, c->dict_fallback = true;
				finish_dict(w, c);
			}
		}
		total += col_buffered(c);
	}
	if (w->err)
		return w->err;
	if (total >= w->opt.row_group_bytes || row_limit)
		return flush_row_group(w);
	return TPQ_OK;
}

int64_t tpq_pw_rows(const struct tpq_pw *w)
{
	return w->rows;
}

size_t tpq_pw_buffered_bytes(const struct tpq_pw *w)
{
	size_t total = 0;
	for (size_t i = 0; i < w->n_cols; i++)
		total += col_buffered(&w->cols[i]);
	return total;
}

/* ---- finish ---- */

static void write_page_indexes(struct tpq_pw *w)
{
	if (!w->opt.page_index)
		return;
	struct tpq_buf *b = &w->hdr;
	for (size_t r = 0; r < w->n_rgs && !w->err; r++) {
		for (size_t i = 0; i < w->n_cols && !w->err; i++) {
			struct chunk_index *ci = &w->rgs[r].ci[i];
			if (!w->cols[i].want_stats || ci->n_pages == 0)
				continue;
			struct tpq_column_index x;
			memset(&x, 0, sizeof(x));
			x.n_pages = ci->n_pages;
			x.null_pages = calloc(ci->n_pages, sizeof(bool));
			x.min_values = calloc(ci->n_pages, sizeof(uint8_t *));
			x.max_values = calloc(ci->n_pages, sizeof(uint8_t *));
			x.min_lens = calloc(ci->n_pages, sizeof(size_t));
			x.max_lens = calloc(ci->n_pages, sizeof(size_t));
			x.null_counts = calloc(ci->n_pages, sizeof(int64_t));
			bool ok = x.null_pages && x.min_values && x.max_values && x.min_lens && x.max_lens &&
				  x.null_counts;
			for (size_t p = 0; ok && p < ci->n_pages; p++) {
				const struct page_meta *pm = &ci->pages[p];
				/* A page without bounds (all null, or a max that cannot be
				 * rounded up) is a null page only if it really is all null;
				 * otherwise the column index cannot be written truthfully. */
				if (!pm->all_null && (!pm->min || !pm->max))
					ok = false;
				x.null_pages[p] = pm->all_null;
				static uint8_t empty[1];
				x.min_values[p] = pm->all_null ? empty : pm->min;
				x.max_values[p] = pm->all_null ? empty : pm->max;
				x.min_lens[p] = pm->all_null ? 0 : pm->min_len;
				x.max_lens[p] = pm->all_null ? 0 : pm->max_len;
				x.null_counts[p] = pm->nulls;
			}
			x.boundary_order = ci->order;
			x.has_null_counts = true;
			if (ok) {
				tpq_buf_reset(b);
				tpq_meta_put_column_index(b, &x);
				ci->ci_offset = (int64_t)w->sink->written;
				ci->ci_len = (int32_t)b->len;
				if (b->err)
					fail(w, TPQ_ENOMEM, "out of memory");
				sink_put(w, b->p, b->len);
			}
			free(x.null_pages);
			free(x.min_values);
			free(x.max_values);
			free(x.min_lens);
			free(x.max_lens);
			free(x.null_counts);
			if (!ok && !x.null_pages)
				fail(w, TPQ_ENOMEM, "out of memory");
		}
	}
	for (size_t r = 0; r < w->n_rgs && !w->err; r++) {
		for (size_t i = 0; i < w->n_cols && !w->err; i++) {
			struct chunk_index *ci = &w->rgs[r].ci[i];
			if (ci->n_pages == 0)
				continue;
			struct tpq_offset_index oi;
			oi.n_pages = ci->n_pages;
			oi.page_locations = calloc(ci->n_pages, sizeof(struct tpq_page_location));
			if (!oi.page_locations) {
				fail(w, TPQ_ENOMEM, "out of memory");
				break;
			}
			for (size_t p = 0; p < ci->n_pages; p++) {
				oi.page_locations[p].offset = ci->pages[p].offset;
				oi.page_locations[p].compressed_page_size = ci->pages[p].size;
				oi.page_locations[p].first_row_index = ci->pages[p].first_row;
			}
			tpq_buf_reset(b);
			tpq_meta_put_offset_index(b, &oi);
			free(oi.page_locations);
			ci->oi_offset = (int64_t)w->sink->written;
			ci->oi_len = (int32_t)b->len;
			if (b->err)
				fail(w, TPQ_ENOMEM, "out of memory");
			sink_put(w, b->p, b->len);
		}
	}
	for (size_t r = 0; r < w->n_rgs; r++) {
		for (size_t i = 0; i < w->n_cols; i++) {
			struct chunk_index *ci = &w->rgs[r].ci[i];
			struct tpq_column_chunk *cc = &w->rgs[r].rg.columns[i];
			if (ci->ci_len) {
				cc->has_column_index = true;
				cc->column_index_offset = ci->ci_offset;
				cc->column_index_length = ci->ci_len;
			}
			if (ci->oi_len) {
				cc->has_offset_index = true;
				cc->offset_index_offset = ci->oi_offset;
				cc->offset_index_length = ci->oi_len;
			}
		}
	}
}

enum tpq_status tpq_pw_finish(struct tpq_pw *w, uint64_t *bytes, struct tpq_error *err)
{
	if (w->finished)
		return tpq_error_set(err, TPQ_EINVAL, "writer already finished");
	w->finished = true;
	/* every column must have been given the same rows */
	flush_row_group(w);
	write_page_indexes(w);
	struct tpq_file_meta_data fm;
	memset(&fm, 0, sizeof(fm));
	struct tpq_schema_element *el = NULL;
	struct tpq_row_group *rgs = NULL;
	if (!w->err) {
		el = calloc(w->schema->n_nodes, sizeof(*el));
		rgs = calloc(w->n_rgs ? w->n_rgs : 1, sizeof(*rgs));
		if (!el || !rgs)
			fail(w, TPQ_ENOMEM, "out of memory");
	}
	if (!w->err) {
		tpq_schema_to_elements(w->schema, el);
		for (size_t r = 0; r < w->n_rgs; r++)
			rgs[r] = w->rgs[r].rg;
		fm.version = 1;
		fm.schema = el;
		fm.n_schema = w->schema->n_nodes;
		fm.num_rows = w->rows;
		fm.row_groups = rgs;
		fm.n_row_groups = w->n_rgs;
		fm.kv = w->kv;
		fm.n_kv = w->n_kv;
		fm.created_by = w->created_by;
		fm.n_column_orders = w->n_cols;
		struct tpq_buf *b = &w->hdr;
		tpq_buf_reset(b);
		tpq_meta_put_file_meta_data(b, &fm);
		if (b->err || b->len > UINT32_MAX) {
			fail(w, TPQ_ENOMEM, "out of memory writing the footer");
		} else {
			uint32_t len = (uint32_t)b->len;
			tpq_buf_put_le32(b, len);
			tpq_buf_put(b, "PAR1", 4);
			if (b->err)
				fail(w, TPQ_ENOMEM, "out of memory writing the footer");
			sink_put(w, b->p, b->len);
		}
	}
	free(el);
	free(rgs);
	if (!w->err) {
		enum tpq_status st = w->sink->close(w->sink, &w->error);
		if (st)
			w->err = st;
	}
	if (w->err) {
		if (err && !err->status)
			*err = w->error;
		return w->err;
	}
	if (bytes)
		*bytes = w->sink->written;
	return TPQ_OK;
}

/* Frees what the finished row groups' metadata owns. */
static void rgs_release(struct tpq_pw *w)
{
	for (size_t r = 0; r < w->n_rgs; r++) {
		struct rg_meta *rm = &w->rgs[r];
		for (size_t i = 0; i < rm->rg.n_columns; i++) {
			struct tpq_column_meta_data *md = &rm->rg.columns[i].meta_data;
			free(md->encodings);
			free(md->encoding_stats);
			free(md->path_in_schema);
			free(md->statistics.min_value);
			free(md->statistics.max_value);
			struct chunk_index *ci = &rm->ci[i];
			for (size_t p = 0; p < ci->n_pages; p++) {
				free(ci->pages[p].min);
				free(ci->pages[p].max);
			}
			free(ci->pages);
		}
		free(rm->rg.columns);
		free(rm->ci);
	}
	w->n_rgs = 0;
}

enum tpq_status tpq_pw_reset(struct tpq_pw *w, struct tpq_sink *sink, struct tpq_error *err)
{
	if (!sink)
		return tpq_error_set(err, TPQ_EINVAL, "writer reset needs a sink");
	rgs_release(w);
	for (size_t i = 0; i < w->n_cols; i++) {
		struct col *c = &w->cols[i];
		c->n_levels = c->n_values = c->n_idx = 0;
		tpq_buf_reset(&c->plain);
		c->page_has_bounds = false;
		c->row_starts = 0;
		c->page_seq++;
		col_chunk_reset(c);
	}
	w->rows = w->rg_rows = w->rg_first_row = 0;
	w->started = 0;
	w->err = TPQ_OK;
	tpq_error_clear(&w->error);
	w->finished = false;
	w->sink = sink;
	enum tpq_status st = tpq_sink_write(sink, "PAR1", 4, &w->error);
	if (st) {
		w->err = st;
		if (err && !err->status)
			*err = w->error;
	}
	return st;
}

void tpq_pw_free(struct tpq_pw *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_cols && w->cols; i++)
		col_release(&w->cols[i]);
	free(w->cols);
	rgs_release(w);
	free(w->rgs);
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].value);
	}
	free(w->kv);
	free(w->created_by);
	free(w->node_def_lim);
	free(w->node_rep_lim);
	free(w->sort_tmp);
	free(w->dkeys);
	free(w->remap);
	free(w->vals);
	if (w->own_codec)
		tpq_codec_ctx_free(w->codec);
	tpq_buf_release(&w->scratch);
	tpq_buf_release(&w->comp);
	tpq_buf_release(&w->hdr);
	tpq_buf_release(&w->lens);
	free(w);
}
