/* Round-trip fuzzer for the Thrift compact protocol and the Parquet footer
 * structures (src/parquet/thrift.c, src/parquet/meta.c).
 *
 * The input is decoded as each of FileMetaData, PageHeader, ColumnIndex,
 * OffsetIndex and BloomFilterHeader. Whenever a decode succeeds the result is
 * encoded again and decoded again; the target aborts if the encoder fails, the
 * second decode fails, does not consume exactly the encoded bytes, differs
 * from the first in any field, or if encoding the second gives other bytes
 * (the encoding of a decoded struct is a fixed point). Decoding must never
 * crash, leak (ASan) or take more than linear time, whatever the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/meta.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EQ(f)                                                                     \
	do {                                                                      \
		if (a->f != b->f)                                                 \
			return false;                                             \
	} while (0)

static bool bytes_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool stats_eq(const struct tpq_statistics *a, const struct tpq_statistics *b)
{
	EQ(has_null_count);
	EQ(has_distinct_count);
	EQ(has_min);
	EQ(has_max);
	EQ(has_is_min_exact);
	EQ(has_is_max_exact);
	if (a->has_null_count)
		EQ(null_count);
	if (a->has_distinct_count)
		EQ(distinct_count);
	if (a->has_min && !bytes_eq(a->min_value, a->min_len, b->min_value, b->min_len))
		return false;
	if (a->has_max && !bytes_eq(a->max_value, a->max_len, b->max_value, b->max_len))
		return false;
	if (a->has_is_min_exact)
		EQ(is_min_exact);
	if (a->has_is_max_exact)
		EQ(is_max_exact);
	return true;
}

static bool logical_eq(const struct tpq_logical_type *a, const struct tpq_logical_type *b)
{
	EQ(kind);
	if (a->kind == TPQ_LT_TIMESTAMP) {
		EQ(ts_utc);
		EQ(ts_unit);
	}
	if (a->kind == TPQ_LT_INTEGER) {
		EQ(int_bits);
		EQ(int_signed);
	}
	return true;
}

static bool schema_eq(const struct tpq_schema_element *a, const struct tpq_schema_element *b)
{
	if (!str_eq(a->name, b->name))
		return false;
	EQ(has_type);
	EQ(has_repetition);
	EQ(has_field_id);
	if (a->has_type)
		EQ(type);
	if (a->has_repetition)
		EQ(repetition);
	if (a->has_field_id)
		EQ(field_id);
	EQ(num_children);
	EQ(converted);
	return logical_eq(&a->logical, &b->logical);
}

static bool cmd_eq(const struct tpq_column_meta_data *a, const struct tpq_column_meta_data *b)
{
	EQ(type);
	EQ(n_encodings);
	for (size_t i = 0; i < a->n_encodings; i++)
		EQ(encodings[i]);
	EQ(n_path);
	for (size_t i = 0; i < a->n_path; i++) {
		if (!str_eq(a->path_in_schema[i], b->path_in_schema[i]))
			return false;
	}
	EQ(codec);
	EQ(num_values);
	EQ(total_uncompressed_size);
	EQ(total_compressed_size);
	EQ(data_page_offset);
	EQ(has_dictionary_page_offset);
	if (a->has_dictionary_page_offset)
		EQ(dictionary_page_offset);
	EQ(has_statistics);
	if (a->has_statistics && !stats_eq(&a->statistics, &b->statistics))
		return false;
	EQ(n_encoding_stats);
	for (size_t i = 0; i < a->n_encoding_stats; i++) {
		EQ(encoding_stats[i].page_type);
		EQ(encoding_stats[i].encoding);
		EQ(encoding_stats[i].count);
	}
	EQ(has_bloom_filter_offset);
	EQ(has_bloom_filter_length);
	if (a->has_bloom_filter_offset)
		EQ(bloom_filter_offset);
	if (a->has_bloom_filter_length)
		EQ(bloom_filter_length);
	return true;
}

static bool chunk_eq(const struct tpq_column_chunk *a, const struct tpq_column_chunk *b)
{
	EQ(file_offset);
	EQ(has_meta_data);
	if (a->has_meta_data && !cmd_eq(&a->meta_data, &b->meta_data))
		return false;
	EQ(has_offset_index);
	if (a->has_offset_index) {
		EQ(offset_index_offset);
		EQ(offset_index_length);
	}
	EQ(has_column_index);
	if (a->has_column_index) {
		EQ(column_index_offset);
		EQ(column_index_length);
	}
	return true;
}

static bool row_group_eq(const struct tpq_row_group *a, const struct tpq_row_group *b)
{
	EQ(n_columns);
	for (size_t i = 0; i < a->n_columns; i++) {
		if (!chunk_eq(&a->columns[i], &b->columns[i]))
			return false;
	}
	EQ(total_byte_size);
	EQ(num_rows);
	EQ(has_file_offset);
	EQ(has_total_compressed_size);
	EQ(has_ordinal);
	if (a->has_file_offset)
		EQ(file_offset);
	if (a->has_total_compressed_size)
		EQ(total_compressed_size);
	if (a->has_ordinal)
		EQ(ordinal);
	return true;
}

static bool fmd_eq(const struct tpq_file_meta_data *a, const struct tpq_file_meta_data *b)
{
	EQ(version);
	EQ(num_rows);
	EQ(n_schema);
	for (size_t i = 0; i < a->n_schema; i++) {
		if (!schema_eq(&a->schema[i], &b->schema[i]))
			return false;
	}
	EQ(n_row_groups);
	for (size_t i = 0; i < a->n_row_groups; i++) {
		if (!row_group_eq(&a->row_groups[i], &b->row_groups[i]))
			return false;
	}
	EQ(n_kv);
	for (size_t i = 0; i < a->n_kv; i++) {
		if (!str_eq(a->kv[i].key, b->kv[i].key) || !str_eq(a->kv[i].value, b->kv[i].value))
			return false;
	}
	if (!str_eq(a->created_by, b->created_by))
		return false;
	EQ(n_column_orders);
	return true;
}

static bool ph_eq(const struct tpq_page_header *a, const struct tpq_page_header *b)
{
	EQ(type);
	EQ(uncompressed_page_size);
	EQ(compressed_page_size);
	EQ(has_crc);
	if (a->has_crc)
		EQ(crc);
	EQ(has_data_page_header);
	EQ(has_dictionary_page_header);
	EQ(has_data_page_header_v2);
	if (a->has_data_page_header) {
		EQ(data_page_header.num_values);
		EQ(data_page_header.encoding);
		EQ(data_page_header.definition_level_encoding);
		EQ(data_page_header.repetition_level_encoding);
		EQ(data_page_header.has_statistics);
		if (a->data_page_header.has_statistics &&
		    !stats_eq(&a->data_page_header.statistics, &b->data_page_header.statistics))
			return false;
	}
	if (a->has_dictionary_page_header) {
		EQ(dictionary_page_header.num_values);
		EQ(dictionary_page_header.encoding);
		EQ(dictionary_page_header.has_is_sorted);
		if (a->dictionary_page_header.has_is_sorted)
			EQ(dictionary_page_header.is_sorted);
	}
	if (a->has_data_page_header_v2) {
		EQ(data_page_header_v2.num_values);
		EQ(data_page_header_v2.num_nulls);
		EQ(data_page_header_v2.num_rows);
		EQ(data_page_header_v2.encoding);
		EQ(data_page_header_v2.definition_levels_byte_length);
		EQ(data_page_header_v2.repetition_levels_byte_length);
		EQ(data_page_header_v2.is_compressed);
		EQ(data_page_header_v2.has_statistics);
		if (a->data_page_header_v2.has_statistics &&
		    !stats_eq(&a->data_page_header_v2.statistics, &b->data_page_header_v2.statistics))
			return false;
	}
	return true;
}

static bool ci_eq(const struct tpq_column_index *a, const struct tpq_column_index *b)
{
	EQ(n_pages);
	EQ(boundary_order);
	EQ(has_null_counts);
	for (size_t i = 0; i < a->n_pages; i++) {
		EQ(null_pages[i]);
		if (!bytes_eq(a->min_values[i], a->min_lens[i], b->min_values[i], b->min_lens[i]) ||
		    !bytes_eq(a->max_values[i], a->max_lens[i], b->max_values[i], b->max_lens[i]))
			return false;
		if (a->has_null_counts)
			EQ(null_counts[i]);
	}
	return true;
}

static bool oi_eq(const struct tpq_offset_index *a, const struct tpq_offset_index *b)
{
	EQ(n_pages);
	for (size_t i = 0; i < a->n_pages; i++) {
		EQ(page_locations[i].offset);
		EQ(page_locations[i].compressed_page_size);
		EQ(page_locations[i].first_row_index);
	}
	return true;
}

/* One round trip for one struct type. T is the struct, GET/PUT/EQF/REL the
 * functions; a block rather than a function because the five APIs differ
 * only in types. */
#define ROUND_TRIP(T, GET, PUT, EQF, REL)                                         \
	do {                                                                      \
		T first, second;                                                  \
		struct tpq_error err;                                             \
		size_t used = 0, used2 = 0;                                       \
		tpq_error_clear(&err);                                            \
		if (GET(data, size, &used, &first, &err) != TPQ_OK)               \
			break;                                                    \
		if (used > size || err.status != TPQ_OK)                          \
			abort();                                                  \
		struct tpq_buf b1, b2;                                            \
		tpq_buf_init(&b1);                                                \
		tpq_buf_init(&b2);                                                \
		PUT(&b1, &first);                                                 \
		if (tpq_buf_status(&b1) != TPQ_OK)                                \
			abort();                                                  \
		if (GET(b1.p, b1.len, &used2, &second, NULL) != TPQ_OK)           \
			abort();                                                  \
		if (used2 != b1.len || !EQF(&first, &second))                     \
			abort();                                                  \
		PUT(&b2, &second);                                                \
		if (tpq_buf_status(&b2) != TPQ_OK || b2.len != b1.len ||          \
		    memcmp(b1.p, b2.p, b1.len) != 0)                              \
			abort();                                                  \
		REL(&first);                                                      \
		REL(&second);                                                     \
		tpq_buf_release(&b1);                                             \
		tpq_buf_release(&b2);                                             \
	} while (0)

static bool bf_eq(const struct tpq_bloom_filter_header *a, const struct tpq_bloom_filter_header *b)
{
	return a->num_bytes == b->num_bytes;
}

static void bf_release(struct tpq_bloom_filter_header *h)
{
	(void)h; /* owns nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ROUND_TRIP(struct tpq_file_meta_data, tpq_meta_get_file_meta_data,
		   tpq_meta_put_file_meta_data, fmd_eq, tpq_file_meta_data_release);
	ROUND_TRIP(struct tpq_page_header, tpq_meta_get_page_header, tpq_meta_put_page_header,
		   ph_eq, tpq_page_header_release);
	ROUND_TRIP(struct tpq_column_index, tpq_meta_get_column_index, tpq_meta_put_column_index,
		   ci_eq, tpq_column_index_release);
	ROUND_TRIP(struct tpq_offset_index, tpq_meta_get_offset_index, tpq_meta_put_offset_index,
		   oi_eq, tpq_offset_index_release);
	ROUND_TRIP(struct tpq_bloom_filter_header, tpq_meta_get_bloom_filter_header,
		   tpq_meta_put_bloom_filter_header, bf_eq, bf_release);
	return 0;
}
