/* The parts of parquet.thrift (apache/parquet-format) that trailpq writes and
 * reads, as plain C structs, with Thrift compact-protocol encode/decode.
 *
 * Encoding writes into a struct tpq_buf (sticky error). Decoding reads from
 * (p, len) and checks every byte against the end; unknown fields are skipped
 * as the Thrift spec requires. Decoded variable-size members (strings, arrays)
 * are allocated with malloc and freed by the matching _release function.
 * Optional fields have an `has_...` flag (or NULL pointer / count 0). */
#ifndef TPQ_PARQUET_META_H
#define TPQ_PARQUET_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trailpq/trailpq.h"
#include "util/buf.h"

/* parquet.thrift enum Type */
enum tpq_type {
	TPQ_T_BOOLEAN = 0, TPQ_T_INT32 = 1, TPQ_T_INT64 = 2, TPQ_T_INT96 = 3,
	TPQ_T_FLOAT = 4, TPQ_T_DOUBLE = 5, TPQ_T_BYTE_ARRAY = 6, TPQ_T_FIXED_LEN_BYTE_ARRAY = 7,
};
/* enum ConvertedType (only those we use) */
enum tpq_converted {
	TPQ_CT_NONE = -1, TPQ_CT_UTF8 = 0, TPQ_CT_MAP = 1, TPQ_CT_MAP_KEY_VALUE = 2, TPQ_CT_LIST = 3,
	TPQ_CT_TIMESTAMP_MILLIS = 9, TPQ_CT_INT_32 = 17, TPQ_CT_INT_64 = 18,
};
/* enum FieldRepetitionType */
enum tpq_repetition { TPQ_REQUIRED = 0, TPQ_OPTIONAL = 1, TPQ_REPEATED = 2 };
/* enum Encoding */
enum tpq_encoding {
	TPQ_ENC_PLAIN = 0, TPQ_ENC_PLAIN_DICTIONARY = 2, TPQ_ENC_RLE = 3, TPQ_ENC_BIT_PACKED = 4,
	TPQ_ENC_DELTA_BINARY_PACKED = 5, TPQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	TPQ_ENC_DELTA_BYTE_ARRAY = 7, TPQ_ENC_RLE_DICTIONARY = 8, TPQ_ENC_BYTE_STREAM_SPLIT = 9,
};
/* enum PageType */
enum tpq_page_type {
	TPQ_PAGE_DATA = 0, TPQ_PAGE_INDEX = 1, TPQ_PAGE_DICTIONARY = 2, TPQ_PAGE_DATA_V2 = 3,
};
/* enum BoundaryOrder */
enum tpq_boundary_order { TPQ_BO_UNORDERED = 0, TPQ_BO_ASCENDING = 1, TPQ_BO_DESCENDING = 2 };

/* union LogicalType: which member is set (field id of the union). */
enum tpq_logical_kind {
	TPQ_LT_NONE = 0, TPQ_LT_STRING = 1, TPQ_LT_MAP = 2, TPQ_LT_LIST = 3,
	TPQ_LT_TIMESTAMP = 8, TPQ_LT_INTEGER = 10, TPQ_LT_JSON = 12,
};
enum tpq_time_unit { TPQ_UNIT_MILLIS = 1, TPQ_UNIT_MICROS = 2, TPQ_UNIT_NANOS = 3 };

struct tpq_logical_type {
	enum tpq_logical_kind kind;
	bool ts_utc;                 /* TIMESTAMP: isAdjustedToUTC */
	enum tpq_time_unit ts_unit;  /* TIMESTAMP: unit */
	int8_t int_bits;             /* INTEGER: bitWidth */
	bool int_signed;             /* INTEGER: isSigned */
};

/* struct Statistics. min_value/max_value are the new-style (correctly ordered)
 * fields 5 and 6; the deprecated min/max (fields 1, 2) are never written. */
struct tpq_statistics {
	bool has_null_count, has_distinct_count, has_min, has_max;
	int64_t null_count, distinct_count;
	uint8_t *min_value, *max_value;  /* owned */
	size_t min_len, max_len;
	bool has_is_min_exact, has_is_max_exact;
	bool is_min_exact, is_max_exact;
};

struct tpq_schema_element {
	char *name;                     /* owned */
	bool has_type;
	enum tpq_type type;
	bool has_repetition;
	enum tpq_repetition repetition;
	int32_t num_children;           /* 0 for leaves (field absent) */
	enum tpq_converted converted;   /* TPQ_CT_NONE: absent */
	struct tpq_logical_type logical;
	bool has_field_id;
	int32_t field_id;
};

struct tpq_key_value {
	char *key, *value;              /* owned; value may be NULL */
};

struct tpq_page_encoding_stats {
	enum tpq_page_type page_type;
	enum tpq_encoding encoding;
	int32_t count;
};

struct tpq_column_meta_data {
	enum tpq_type type;
	enum tpq_encoding *encodings; size_t n_encodings;      /* owned */
	char **path_in_schema; size_t n_path;                  /* owned */
	int32_t codec;                                         /* enum tpq_codec */
	int64_t num_values;
	int64_t total_uncompressed_size;
	int64_t total_compressed_size;
	int64_t data_page_offset;
	bool has_dictionary_page_offset;
	int64_t dictionary_page_offset;
	bool has_statistics;
	struct tpq_statistics statistics;
	struct tpq_page_encoding_stats *encoding_stats; size_t n_encoding_stats; /* owned */
	bool has_bloom_filter_offset, has_bloom_filter_length;
	int64_t bloom_filter_offset;
	int32_t bloom_filter_length;
};

struct tpq_column_chunk {
	int64_t file_offset;            /* field 2, required; write 0 (deprecated use) */
	bool has_meta_data;
	struct tpq_column_meta_data meta_data;
	bool has_offset_index;
	int64_t offset_index_offset;
	int32_t offset_index_length;
	bool has_column_index;
	int64_t column_index_offset;
	int32_t column_index_length;
};

struct tpq_row_group {
	struct tpq_column_chunk *columns; size_t n_columns;    /* owned */
	int64_t total_byte_size;        /* uncompressed */
	int64_t num_rows;
	bool has_file_offset, has_total_compressed_size, has_ordinal;
	int64_t file_offset;
	int64_t total_compressed_size;
	int16_t ordinal;
};

/* struct ColumnOrder: TypeDefinedOrder for every column when present. */
struct tpq_file_meta_data {
	int32_t version;
	struct tpq_schema_element *schema; size_t n_schema;    /* owned */
	int64_t num_rows;
	struct tpq_row_group *row_groups; size_t n_row_groups;  /* owned */
	struct tpq_key_value *kv; size_t n_kv;                  /* owned */
	char *created_by;                                        /* owned, may be NULL */
	size_t n_column_orders;         /* count of TypeDefinedOrder entries (0: absent) */
};

struct tpq_data_page_header {
	int32_t num_values;
	enum tpq_encoding encoding;
	enum tpq_encoding definition_level_encoding;
	enum tpq_encoding repetition_level_encoding;
	bool has_statistics;
	struct tpq_statistics statistics;
};

struct tpq_dictionary_page_header {
	int32_t num_values;
	enum tpq_encoding encoding;
	bool has_is_sorted;
	bool is_sorted;
};

struct tpq_data_page_header_v2 {
	int32_t num_values, num_nulls, num_rows;
	enum tpq_encoding encoding;
	int32_t definition_levels_byte_length, repetition_levels_byte_length;
	bool is_compressed;             /* default true */
	bool has_statistics;
	struct tpq_statistics statistics;
};

struct tpq_page_header {
	enum tpq_page_type type;
	int32_t uncompressed_page_size;
	int32_t compressed_page_size;
	bool has_crc;
	int32_t crc;
	bool has_data_page_header, has_dictionary_page_header, has_data_page_header_v2;
	struct tpq_data_page_header data_page_header;
	struct tpq_dictionary_page_header dictionary_page_header;
	struct tpq_data_page_header_v2 data_page_header_v2;
};

struct tpq_page_location {
	int64_t offset;
	int32_t compressed_page_size;
	int64_t first_row_index;
};

struct tpq_offset_index {
	struct tpq_page_location *page_locations; size_t n_pages; /* owned */
};

struct tpq_column_index {
	size_t n_pages;
	bool *null_pages;                                       /* owned, n_pages */
	uint8_t **min_values; size_t *min_lens;                 /* owned, n_pages each */
	uint8_t **max_values; size_t *max_lens;                 /* owned, n_pages each */
	enum tpq_boundary_order boundary_order;
	bool has_null_counts;
	int64_t *null_counts;                                   /* owned, n_pages, or NULL */
};

/* struct BloomFilterHeader with algorithm=BLOCK, hash=XXHASH, compression=UNCOMPRESSED. */
struct tpq_bloom_filter_header {
	int32_t num_bytes;
};

/* Encoders: append the compact-protocol struct to `out`. */
void tpq_meta_put_file_meta_data(struct tpq_buf *out, const struct tpq_file_meta_data *m);
void tpq_meta_put_page_header(struct tpq_buf *out, const struct tpq_page_header *h);
void tpq_meta_put_column_index(struct tpq_buf *out, const struct tpq_column_index *ci);
void tpq_meta_put_offset_index(struct tpq_buf *out, const struct tpq_offset_index *oi);
void tpq_meta_put_bloom_filter_header(struct tpq_buf *out, const struct tpq_bloom_filter_header *h);

/* Decoders: parse one struct from p[0..len), set *used to the bytes consumed.
 * On error return TPQ_ECORRUPT (or TPQ_ENOMEM / TPQ_ELIMIT), fill err with the
 * byte offset, and leave *m released (nothing to free). Nesting depth and list
 * sizes are bounded so hostile input cannot exhaust stack or memory. */
enum tpq_status tpq_meta_get_file_meta_data(const uint8_t *p, size_t len, size_t *used,
					    struct tpq_file_meta_data *m, struct tpq_error *err);
enum tpq_status tpq_meta_get_page_header(const uint8_t *p, size_t len, size_t *used,
					 struct tpq_page_header *h, struct tpq_error *err);
enum tpq_status tpq_meta_get_column_index(const uint8_t *p, size_t len, size_t *used,
					  struct tpq_column_index *ci, struct tpq_error *err);
enum tpq_status tpq_meta_get_offset_index(const uint8_t *p, size_t len, size_t *used,
					  struct tpq_offset_index *oi, struct tpq_error *err);
enum tpq_status tpq_meta_get_bloom_filter_header(const uint8_t *p, size_t len, size_t *used,
						 struct tpq_bloom_filter_header *h, struct tpq_error *err);

void tpq_file_meta_data_release(struct tpq_file_meta_data *m);
void tpq_page_header_release(struct tpq_page_header *h);
void tpq_column_index_release(struct tpq_column_index *ci);
void tpq_offset_index_release(struct tpq_offset_index *oi);
void tpq_statistics_release(struct tpq_statistics *s);

#endif
