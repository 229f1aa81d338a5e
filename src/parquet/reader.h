/* The Parquet reader: opens a whole file held in memory, validates its
 * footer, and decodes column chunks, page indexes and Bloom filters. It reads
 * what trailpq and mainstream writers (DuckDB, Arrow) produce: data pages v1
 * and v2, every codec of codec/codec.h, the PLAIN, dictionary, RLE (booleans)
 * and DELTA_* encodings; not FIXED_LEN_BYTE_ARRAY or BYTE_STREAM_SPLIT.
 *
 * Trust: the input is hostile. Every offset and size is checked against the
 * file (and against the column chunk it belongs to) before use, every
 * allocation is bounded by the file size or by a ceiling in the options, and
 * every failure is a status with a message and the file byte offset where it
 * was found (err->offset), never a crash or an assert. Errors about malformed
 * input are TPQ_ECORRUPT; TPQ_EUNSUPPORTED is valid input this reader does not
 * decode (an encoding, codec or type it lacks); TPQ_ELIMIT a ceiling reached.
 *
 * Ownership: the file bytes are borrowed (tpq_pr_open) or mapped by the
 * reader (tpq_pr_open_path). Everything returned as `const` is borrowed from
 * the reader and valid until tpq_pr_free. Decoded columns are owned by the
 * caller and freed with tpq_pr_column_release.
 *
 * Threads: a struct tpq_pr keeps a codec context, so calls on one reader must
 * not run concurrently. Several readers may share the same bytes. */
#ifndef TPQ_PARQUET_READER_H
#define TPQ_PARQUET_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parquet/bloom.h"
#include "parquet/meta.h"
#include "parquet/schema.h"
#include "trailpq/trailpq.h"

struct tpq_pr_options {
	const struct tpq_allocator *alloc; /* NULL: libc. Borrowed, must outlive the reader. */
	size_t max_page_bytes;    /* ceiling of one page's uncompressed size, default 256 MiB */
	size_t max_column_bytes;  /* ceiling of one decoded column chunk (levels, values,
				     offsets, bytes) in memory, default 1 GiB */
	bool verify_crc;          /* check page CRCs where a page has one (default true) */
};

void tpq_pr_options_init(struct tpq_pr_options *o);

struct tpq_pr;

/* Opens the Parquet file p[0..len). The bytes are borrowed and must stay
 * valid and unchanged until tpq_pr_free. `opt` may be NULL (defaults).
 * Validates: the size (>= 12), the leading and trailing "PAR1", the footer
 * length, the FileMetaData, the schema, that every row group has one chunk per
 * leaf column of the leaf's type and path, that every chunk's pages, Bloom
 * filter and page index lie inside the file before the footer, and that the
 * value and row counts agree (sum of row groups = file rows; a column without
 * repetition has one value per row, a repeated one at least one).
 * On success *out is the reader; on error *out is NULL. */
enum tpq_status tpq_pr_open(struct tpq_pr **out, const void *p, size_t len,
			    const struct tpq_pr_options *opt, struct tpq_error *err);

/* Same for the file at `path`, which the reader maps read-only (the file must
 * not be truncated while the reader lives). TPQ_EIO (err->sys_errno set) when
 * it cannot be opened or mapped. */
enum tpq_status tpq_pr_open_path(struct tpq_pr **out, const char *path,
				 const struct tpq_pr_options *opt, struct tpq_error *err);

/* Frees the reader (and unmaps a file opened by path). NULL is a no-op. */
void tpq_pr_free(struct tpq_pr *pr);

/* The file's bytes and size. */
const uint8_t *tpq_pr_data(const struct tpq_pr *pr);
uint64_t tpq_pr_file_size(const struct tpq_pr *pr);
/* The footer: FileMetaData at [offset, offset + len); len excludes the
 * trailing length word and magic. */
uint64_t tpq_pr_footer_offset(const struct tpq_pr *pr);
uint32_t tpq_pr_footer_len(const struct tpq_pr *pr);

/* The decoded FileMetaData (schema elements, row groups, chunks, key-value
 * metadata, created_by) and the schema tree built from it. */
const struct tpq_file_meta_data *tpq_pr_meta(const struct tpq_pr *pr);
const struct tpq_schema *tpq_pr_schema(const struct tpq_pr *pr);

size_t tpq_pr_num_row_groups(const struct tpq_pr *pr);
size_t tpq_pr_num_columns(const struct tpq_pr *pr);   /* leaf columns */
int64_t tpq_pr_num_rows(const struct tpq_pr *pr);

/* The value of key-value metadata `key` (the first if repeated), or NULL when
 * absent or without value. */
const char *tpq_pr_kv(const struct tpq_pr *pr, const char *key);

/* What the reader derived about one column chunk at open. */
struct tpq_pr_chunk {
	const struct tpq_column_chunk *cc;      /* borrowed from the footer */
	const struct tpq_column_meta_data *md;  /* &cc->meta_data (always present) */
	int node;                /* schema node of the leaf */
	int16_t max_def, max_rep;
	int64_t num_rows;        /* rows of the row group */
	uint64_t start, len;     /* the pages' byte range: the dictionary page (if any) first */
	bool has_dictionary;     /* dictionary_page_offset is set (and not 0) */
};

/* The chunk of leaf column `col` in row group `rg`, or NULL if out of range. */
const struct tpq_pr_chunk *tpq_pr_chunk(const struct tpq_pr *pr, size_t rg, size_t col);

/* One page of a column chunk as read by tpq_pr_read_column. */
struct tpq_pr_page {
	enum tpq_page_type type;
	enum tpq_encoding encoding;      /* of the values (dictionary page: of its entries) */
	enum tpq_encoding def_encoding;  /* data pages: level encodings (v2: always RLE) */
	enum tpq_encoding rep_encoding;
	uint64_t offset;                 /* of the page header in the file */
	uint32_t header_len;
	int32_t compressed_size;         /* bytes after the header */
	int32_t uncompressed_size;
	int32_t num_values;              /* data pages: level entries; dictionary: entries */
	int32_t num_nulls;               /* data pages: entries without a value */
	int32_t num_rows;                /* data pages: entries starting a row (rep level 0) */
	bool has_crc;                    /* the header has a CRC (verified if the options say so) */
	bool has_statistics;
};

/* A decoded column chunk. Level arrays always have n_levels entries (zeros
 * when the column's maximum level is 0). Values are the non-null entries
 * only, those whose def == max_def, in order:
 *   BOOLEAN (0/1), INT32, INT64     ints[n_values]
 *   FLOAT, DOUBLE                   ints[n_values] holding the IEEE bit pattern
 *                                   (FLOAT zero-extended from 32 bits)
 *   BYTE_ARRAY, INT96 (12 bytes)    value i is bytes[offsets[i] .. offsets[i + 1])
 * Unused arrays are NULL. */
struct tpq_pr_column {
	enum tpq_type type;
	int16_t max_def, max_rep;
	size_t n_levels;                 /* the chunk's num_values */
	int16_t *def, *rep;              /* owned, n_levels each */
	size_t n_values;                 /* non-null entries */
	int64_t *ints;                   /* owned, n_values */
	size_t *offsets;                 /* owned, n_values + 1 */
	uint8_t *bytes;                  /* owned, offsets[n_values] bytes */
	size_t n_dict;                   /* entries of the dictionary page (0: none) */
	struct tpq_pr_page *pages;       /* owned, in file order */
	size_t n_pages;
	/* private */
	const struct tpq_allocator *alloc;
	size_t cap_levels, cap_values, cap_bytes, cap_pages;
};

/* Flags of tpq_pr_read_column (enum of bits). */
enum tpq_pr_read_flags {
	/* Walk and check the page headers (bounds, counts, CRCs) and fill only
	 * `pages`: no decompression, no level or value arrays. */
	TPQ_PR_PAGES_ONLY = 1u << 0,
};

/* Reads the chunk of column `col` in row group `rg` into *out (which the
 * caller owns afterwards; release it even on error). Walks every page,
 * checking each header against the chunk's bounds, verifying CRCs,
 * decompressing, and decoding levels and values (PLAIN; PLAIN_DICTIONARY and
 * RLE_DICTIONARY with every index checked against the dictionary; RLE for
 * booleans; DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY).
 * Checks that the pages hold exactly the chunk's num_values entries and that
 * the number of rows equals the row group's. With TPQ_PR_PAGES_ONLY, v1 data
 * pages report num_nulls and num_rows as -1 (only their levels tell). */
enum tpq_status tpq_pr_read_column(struct tpq_pr *pr, size_t rg, size_t col, unsigned flags,
				   struct tpq_pr_column *out, struct tpq_error *err);
/* Frees the arrays of a column (zeroed struct or after an error: fine). */
void tpq_pr_column_release(struct tpq_pr_column *c);

/* Row boundaries of a decoded column: n_rows + 1 entries each, row r spans
 * level entries [level_start[r], level_start[r + 1]) and values
 * [value_start[r], value_start[r + 1]); the last entries are n_levels and
 * n_values. A row starts at each rep level 0. */
struct tpq_pr_rows {
	size_t n_rows;
	size_t *level_start, *value_start;  /* owned */
	const struct tpq_allocator *alloc;  /* private */
};
/* TPQ_ECORRUPT if the column does not start with a rep level 0 (a chunk
 * always starts a row) or a level exceeds its maximum. */
enum tpq_status tpq_pr_column_rows(const struct tpq_pr_column *c, struct tpq_pr_rows *out,
				   struct tpq_error *err);
void tpq_pr_rows_release(struct tpq_pr_rows *r);

/* The page index of a chunk, decoded into *out (release with
 * tpq_column_index_release / tpq_offset_index_release). TPQ_ENOTFOUND (err
 * untouched) when the chunk has none. Checks: the index lies inside the file,
 * the offset index's pages lie inside the chunk in increasing order with
 * increasing first_row_index starting at 0 and below the row group's rows,
 * and the column index's arrays have one entry per page (also against the
 * offset index's count when there is one). */
enum tpq_status tpq_pr_read_column_index(struct tpq_pr *pr, size_t rg, size_t col,
					 struct tpq_column_index *out, struct tpq_error *err);
enum tpq_status tpq_pr_read_offset_index(struct tpq_pr *pr, size_t rg, size_t col,
					 struct tpq_offset_index *out, struct tpq_error *err);

/* A chunk's split-block Bloom filter, read in place: filter.bits points into
 * the file bytes (read-only: use it only with tpq_bloom_check, never release
 * or insert into it). */
struct tpq_pr_bloom {
	uint64_t offset;        /* of the BloomFilterHeader */
	uint32_t header_len;
	struct tpq_bloom filter;
};
/* TPQ_ENOTFOUND (err untouched) when the chunk has none. Checks the header
 * (block algorithm, XXH64, uncompressed), that num_bytes is a power of two in
 * 32 .. 128 MiB, and that header and bitset lie in the file (and within
 * bloom_filter_length when the writer gave it). */
enum tpq_status tpq_pr_read_bloom(struct tpq_pr *pr, size_t rg, size_t col,
				  struct tpq_pr_bloom *out, struct tpq_error *err);

/* Whether the chunk may contain the value whose PLAIN encoding without
 * length prefix is p[0..n) (BYTE_ARRAY: the bytes; INT32/INT64: 4/8
 * little-endian bytes). false only when the chunk's Bloom filter rules the
 * value out; true when it may be there, and also when the chunk has no
 * filter or its filter is unreadable (a filter that cannot be read excludes
 * nothing). */
bool tpq_pr_bloom_might_contain(struct tpq_pr *pr, size_t rg, size_t col, const void *p,
				size_t n);

/* Names of parquet.thrift enum values, for printing ("RLE_DICTIONARY",
 * "DATA_PAGE_V2", "BYTE_ARRAY", "ZSTD", ...). Unknown values give "UNKNOWN". */
const char *tpq_pr_encoding_name(int encoding);
const char *tpq_pr_page_type_name(int page_type);
const char *tpq_pr_type_name(int type);
const char *tpq_pr_codec_name(int codec);

#endif
